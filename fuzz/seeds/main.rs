//! Writes RDB seeds for the `rdb_loader` target: small keyspaces of every
//! value type the encoder writes (with expiry times, several databases and
//! the replication aux fields), encoded with `rdb::encode`.
//!
//! Usage: `seeds DIR` (fuzz/run.sh's README shows the full command).

use replsim::keyspace::{blob, Keyspace, Value};
use replsim::rdb::{encode, RdbInfo};

fn sample(variant: usize) -> Keyspace {
    let mut keyspace = Keyspace::new();
    let n = variant * 3 + 1;
    for i in 0..n {
        let db = keyspace.db_mut(i % (variant + 1));
        let key = format!("key:{i}");
        let expire = (i % 2 == 0).then_some(1_700_000_000_000 + i as u64);
        let value = match i % 5 {
            0 => Value::Str(blob(format!("value-{i}").as_bytes())),
            1 => {
                let mut list = Value::new_list();
                if let Value::List(l) = &mut list {
                    for j in 0..=i {
                        l.push_back(blob(format!("{j}").as_bytes()));
                    }
                }
                list
            }
            2 => {
                let mut set = Value::new_set();
                if let Value::Set(s) = &mut set {
                    for j in 0..=i {
                        s.insert(blob(format!("m{j}").as_bytes()));
                    }
                }
                set
            }
            3 => {
                let mut hash = Value::new_hash();
                if let Value::Hash(h) = &mut hash {
                    for j in 0..=i {
                        h.insert(blob(format!("f{j}").as_bytes()), blob(b"v"));
                    }
                }
                hash
            }
            _ => {
                let mut zset = Value::new_zset();
                if let Value::ZSet(z) = &mut zset {
                    for j in 0..=i {
                        z.insert(format!("z{j}").as_bytes(), j as f64 * 1.5 - 2.0);
                    }
                }
                zset
            }
        };
        db.insert_with_expiry(key.as_bytes(), value, expire);
    }
    keyspace
}

fn main() {
    let dir = std::env::args().nth(1).expect("usage: seeds DIR");
    std::fs::create_dir_all(&dir).expect("create the seed directory");
    for variant in 0..6 {
        let info = RdbInfo {
            repl_stream_db: Some(variant as u32 % 3),
            repl_id: (variant % 2 == 1).then(|| "a".repeat(40)),
            repl_offset: (variant % 2 == 1).then_some(12345),
            ..RdbInfo::default()
        };
        let bytes = encode(&sample(variant), &info);
        let path = format!("{dir}/encoded-{variant}.rdb");
        std::fs::write(&path, bytes).expect("write a seed");
    }
}
