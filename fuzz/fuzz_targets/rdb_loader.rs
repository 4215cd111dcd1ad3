//! Fuzz target: the RDB loader (`rdb::decode`) on arbitrary bytes.
//!
//! Decoding must never panic. When it succeeds, encoding the loaded
//! keyspace and aux fields with `rdb::encode` and decoding that again must
//! give an equal keyspace (same keys, values and expiry times, same
//! `DEBUG DIGEST`) and the same aux fields.

#![no_main]

#[cfg(not(madsim))]
compile_error!("build the fuzz targets with RUSTFLAGS='--cfg madsim' (see fuzz/README.md)");

use libfuzzer_sys::fuzz_target;
use replsim::digest::dataset_digest;
use replsim::rdb;

fuzz_target!(|data: &[u8]| {
    let Ok(loaded) = rdb::decode(data) else {
        return;
    };
    let encoded = rdb::encode(&loaded.keyspace, &loaded.info);
    let again = match rdb::decode(&encoded) {
        Ok(again) => again,
        Err(error) => panic!("re-encoded RDB does not load: {error}"),
    };
    assert_eq!(
        again.keyspace, loaded.keyspace,
        "keyspace changed in a round trip"
    );
    assert_eq!(
        dataset_digest(&again.keyspace),
        dataset_digest(&loaded.keyspace)
    );
    assert_eq!(
        again.info, loaded.info,
        "aux fields changed in a round trip"
    );
});
