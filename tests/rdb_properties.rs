//! Property tests for the RDB loader, driven by a seeded RNG so that a
//! failure reproduces: random keyspaces survive an encode/decode round
//! trip, and random mutations of valid RDBs (the repository's captures and
//! encoder output, with the checksum fixed up or disabled so the mutation
//! reaches the parser) never panic, and whatever still loads round-trips.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use replsim::digest::dataset_digest;
use replsim::keyspace::{blob, Keyspace, Value, ZSet, DB_COUNT};
use replsim::rdb::{crc64, decode, encode, RdbInfo};

fn random_bytes(rng: &mut ChaCha8Rng) -> Vec<u8> {
    let len = match rng.gen_range(0..10) {
        0 => 0,
        1..=7 => rng.gen_range(1..12),
        8 => rng.gen_range(12..80),
        _ => rng.gen_range(80..400),
    };
    if rng.gen_bool(0.3) {
        // Integer-looking strings take the encoder's and decoder's int paths.
        return rng.gen_range(-70_000i64..70_000).to_string().into_bytes();
    }
    (0..len).map(|_| rng.gen()).collect()
}

fn random_value(rng: &mut ChaCha8Rng) -> Value {
    let n = rng.gen_range(1..12);
    match rng.gen_range(0..5) {
        0 => Value::Str(blob(&random_bytes(rng))),
        1 => Value::List(Box::new((0..n).map(|_| blob(&random_bytes(rng))).collect())),
        2 => Value::Set(Box::new((0..n).map(|_| blob(&random_bytes(rng))).collect())),
        3 => Value::Hash(Box::new(
            (0..n)
                .map(|_| (blob(&random_bytes(rng)), blob(&random_bytes(rng))))
                .collect(),
        )),
        _ => {
            let mut zset = ZSet::default();
            for _ in 0..n {
                let score = match rng.gen_range(0..4) {
                    0 => f64::INFINITY,
                    1 => f64::from(rng.gen_range(-100i32..100)),
                    _ => rng.gen_range(-1e6..1e6),
                };
                zset.insert(&random_bytes(rng), score);
            }
            Value::ZSet(Box::new(zset))
        }
    }
}

fn random_keyspace(rng: &mut ChaCha8Rng) -> Keyspace {
    let mut keyspace = Keyspace::new();
    for _ in 0..rng.gen_range(0..20) {
        let db = if rng.gen_bool(0.7) {
            0
        } else {
            rng.gen_range(0..DB_COUNT)
        };
        let expire = rng
            .gen_bool(0.3)
            .then(|| rng.gen_range(0..4_102_444_800_000u64));
        let key = random_bytes(rng);
        keyspace
            .db_mut(db)
            .insert_with_expiry(&key, random_value(rng), expire);
    }
    keyspace
}

fn random_info(rng: &mut ChaCha8Rng) -> RdbInfo {
    RdbInfo {
        ctime_unix_s: rng.gen_range(0..2_000_000_000),
        used_mem: rng.gen_range(0..1 << 40),
        repl_stream_db: rng.gen_bool(0.5).then(|| rng.gen_range(0..16)),
        repl_id: rng
            .gen_bool(0.5)
            .then(|| "0123456789abcdef".repeat(3)[..40].to_string()),
        repl_offset: rng.gen_bool(0.5).then(|| rng.gen_range(0..i64::MAX)),
        ..RdbInfo::default()
    }
}

fn captures() -> Vec<Vec<u8>> {
    let dir = format!("{}/tests/data/rdb", env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "rdb"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|path| std::fs::read(path).unwrap())
        .collect()
}

/// Decodes `bytes`; when they load, encoding and decoding again must give
/// the same keyspace, digest and aux fields.
fn check_round_trip(bytes: &[u8], context: &str) {
    let Ok(loaded) = decode(bytes) else {
        return;
    };
    let again = decode(&encode(&loaded.keyspace, &loaded.info))
        .unwrap_or_else(|e| panic!("{context}: re-encoded RDB does not load: {e}"));
    assert!(
        again.keyspace == loaded.keyspace,
        "{context}: keyspace changed"
    );
    assert_eq!(
        dataset_digest(&again.keyspace),
        dataset_digest(&loaded.keyspace),
        "{context}"
    );
    assert_eq!(again.info, loaded.info, "{context}: aux fields changed");
}

/// One random mutation: overwrite, insert, delete, truncate or splice in an
/// interesting byte (length encodings, opcodes, type bytes).
fn mutate(rng: &mut ChaCha8Rng, bytes: &mut Vec<u8>) {
    const INTERESTING: &[u8] = &[
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11,
        0x12, 0x3f, 0x40, 0x7f, 0x80, 0x81, 0xc0, 0xc1, 0xc2, 0xc3, 0xf5, 0xf8, 0xf9, 0xfa, 0xfb,
        0xfc, 0xfd, 0xfe, 0xff,
    ];
    // Keep the magic: past it is where the decoder's work is.
    let body = 9.min(bytes.len());
    if bytes.len() <= body {
        bytes.push(rng.gen());
        return;
    }
    let at = rng.gen_range(body..bytes.len());
    match rng.gen_range(0..6) {
        0 => bytes[at] = rng.gen(),
        1 => bytes[at] = INTERESTING[rng.gen_range(0..INTERESTING.len())],
        2 => bytes[at] ^= 1 << rng.gen_range(0..8),
        3 => bytes.insert(at, INTERESTING[rng.gen_range(0..INTERESTING.len())]),
        4 => {
            bytes.remove(at);
        }
        _ => bytes.truncate(at),
    }
}

/// Makes the trailing CRC64 match the (mutated) content, or zeroes it
/// (`rdbchecksum no`), so that the mutation is judged by the parser.
fn fix_checksum(rng: &mut ChaCha8Rng, bytes: &mut [u8]) {
    if bytes.len() < 17 {
        return;
    }
    let content = bytes.len() - 8;
    let crc = if rng.gen_bool(0.5) {
        crc64(&bytes[..content])
    } else {
        0
    };
    bytes[content..].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn random_keyspaces_survive_a_round_trip() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x4db);
    for case in 0..300 {
        let keyspace = random_keyspace(&mut rng);
        let info = random_info(&mut rng);
        let loaded = decode(&encode(&keyspace, &info))
            .unwrap_or_else(|e| panic!("case {case}: encoded RDB does not load: {e}"));
        assert!(loaded.keyspace == keyspace, "case {case}: keyspace changed");
        assert_eq!(loaded.info, info, "case {case}");
    }
}

#[test]
fn mutated_rdbs_never_panic_and_what_loads_round_trips() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x6d75_7461);
    let mut originals = captures();
    for _ in 0..20 {
        let keyspace = random_keyspace(&mut rng);
        originals.push(encode(&keyspace, &random_info(&mut rng)));
    }
    for case in 0..6000 {
        let mut bytes = originals[case % originals.len()].clone();
        for _ in 0..rng.gen_range(1..4) {
            mutate(&mut rng, &mut bytes);
        }
        if rng.gen_bool(0.8) {
            fix_checksum(&mut rng, &mut bytes);
        }
        check_round_trip(&bytes, &format!("case {case}"));
    }
}

#[test]
fn every_prefix_of_a_valid_rdb_is_an_error_not_a_panic() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let bytes = encode(&random_keyspace(&mut rng), &random_info(&mut rng));
    for cut in 0..bytes.len() {
        assert!(
            decode(&bytes[..cut]).is_err(),
            "prefix of {cut} bytes loaded"
        );
    }
}
