//! `DEBUG DIGEST` and `DEBUG DIGEST-VALUE` with Redis 7.0's algorithm
//! (`debug.c`), so that a replsim node and a real redis-server holding the same
//! data print the same 40 hex characters.
//!
//! Per key: SHA1-mix the key, the big-endian type code, then the value
//! (strings and list elements mixed in order; set members, hash field/value
//! pairs and zset member/score pairs XORed so their order does not matter),
//! then XOR `!!expire!!` when the key has an expiry. Per non-empty db: mix the
//! big-endian db index into the result, then XOR every key digest into it.

use sha1::{Digest as _, Sha1};

use crate::keyspace::{format_score, Db, Entry, Keyspace, Value};

/// A 20-byte digest.
pub type Digest20 = [u8; 20];

fn sha1(bytes: &[u8]) -> Digest20 {
    Sha1::digest(bytes).into()
}

/// `xorDigest`: digest ^= SHA1(bytes).
fn xor_digest(digest: &mut Digest20, bytes: &[u8]) {
    for (d, h) in digest.iter_mut().zip(sha1(bytes)) {
        *d ^= h;
    }
}

/// `mixDigest`: digest = SHA1(digest ^ SHA1(bytes)).
fn mix_digest(digest: &mut Digest20, bytes: &[u8]) {
    xor_digest(digest, bytes);
    *digest = sha1(digest);
}

/// The digest of one value (`xorObjectDigest`), without its key.
pub fn value_digest(entry: &Entry) -> Digest20 {
    let mut digest = [0u8; 20];
    mix_value(&mut digest, entry);
    digest
}

fn mix_value(digest: &mut Digest20, entry: &Entry) {
    mix_digest(digest, &entry.value.type_code().to_be_bytes());
    match &entry.value {
        Value::Str(s) => mix_digest(digest, s),
        Value::List(items) => {
            for item in items.iter() {
                mix_digest(digest, item);
            }
        }
        Value::Set(members) => {
            for member in members.iter() {
                xor_digest(digest, member);
            }
        }
        Value::ZSet(zset) => {
            for (member, score) in zset.iter() {
                let mut element = [0u8; 20];
                mix_digest(&mut element, member);
                mix_digest(&mut element, format_score(score).as_bytes());
                xor_digest(digest, &element);
            }
        }
        Value::Hash(fields) => {
            for (field, value) in fields.iter() {
                let mut element = [0u8; 20];
                mix_digest(&mut element, field);
                mix_digest(&mut element, value);
                xor_digest(digest, &element);
            }
        }
        Value::Stream(stream) => {
            // Entries only, in order: `ms.seq` (with a dot), then each field
            // and value. Groups are not part of Redis's digest.
            for item in stream.iter() {
                mix_digest(digest, format!("{}.{}", item.id.ms, item.id.seq).as_bytes());
                for (field, value) in &item.pairs {
                    mix_digest(digest, field);
                    mix_digest(digest, value);
                }
            }
        }
    }
    if entry.expire_at_ms().is_some() {
        xor_digest(digest, b"!!expire!!");
    }
}

fn mix_db(final_digest: &mut Digest20, index: usize, db: &Db) {
    mix_digest(final_digest, &(index as u32).to_be_bytes());
    for (key, entry) in db.iter() {
        let mut digest = [0u8; 20];
        mix_digest(&mut digest, key);
        mix_value(&mut digest, entry);
        xor_digest(final_digest, &digest);
    }
}

/// The digest of the whole dataset (`computeDatasetDigest`); all zeros when
/// every db is empty.
pub fn dataset_digest(keyspace: &Keyspace) -> Digest20 {
    let mut digest = [0u8; 20];
    for (index, db) in keyspace.dbs() {
        if !db.is_empty() {
            mix_db(&mut digest, index, db);
        }
    }
    digest
}

/// Lower-case hex, as DEBUG DIGEST prints it.
pub fn to_hex(digest: &Digest20) -> String {
    let mut out = String::with_capacity(40);
    for byte in digest {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::blob;

    #[test]
    fn empty_dataset_digest_is_all_zeros() {
        assert_eq!(to_hex(&dataset_digest(&Keyspace::new())), "0".repeat(40));
    }

    /// Reference values printed by a real redis-server 7.0.15 for
    /// `SET k v` and then `ZADD z 1.1 a 2 b`.
    #[test]
    fn digest_matches_redis_for_a_string_and_a_zset() {
        let mut keyspace = Keyspace::new();
        keyspace.db_mut(0).insert(b"k", Value::Str(blob(b"v")));
        assert_eq!(
            to_hex(&dataset_digest(&keyspace)),
            "264ccf65edec66bccfa7cc659414ccca432057d2"
        );
        let mut zset = Value::new_zset();
        if let Value::ZSet(z) = &mut zset {
            z.insert(b"a", 1.1);
            z.insert(b"b", 2.0);
        }
        keyspace.db_mut(0).insert(b"z", zset);
        assert_eq!(
            to_hex(&dataset_digest(&keyspace)),
            "d8bf603b19bb857692e76e5f919e1298cb3c05f2"
        );
        assert_eq!(
            to_hex(&value_digest(keyspace.db(0).get(b"z").unwrap())),
            "04185ce3beb654ee4e54115d82328f07d38a5f2a"
        );
    }
}
