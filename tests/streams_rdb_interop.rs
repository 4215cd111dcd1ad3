//! Streams in RDB files and DUMP payloads, both ways with a real
//! redis-server 7.0.15: the same commands build the same streams on both
//! servers, and their DUMP payloads (RDB type 19: the nodes' listpacks,
//! metadata, groups, PELs, consumers) are equal byte for byte; each server
//! RESTOREs the other's payload into the same stream; redis-server's SAVE
//! decodes in replsim to its DEBUG DIGEST, and redis-server loads
//! replsim's RDB with the same digest and the same streams. (The payloads
//! are compared after decoding: both servers LZF-compress large listpacks,
//! and replsim's compressor may pick other matches than Redis's.) Skipped (with
//! a note) when redis-server is not installed, except in CI.

mod common;

use std::process::{Command, Stdio};

use common::{start_redis, start_replsim, wait_for_ping, Client};
use replsim::digest::{dataset_digest, to_hex};
use replsim::keyspace::Value;
use replsim::rdb::{decode, dump_payload, encode, restore_payload, RdbInfo};
use replsim::resp::Frame;
use replsim::server::Config;

/// Commands building streams of several nodes, with deletions, trims,
/// groups, pending entries and consumers, all without the clock (explicit
/// IDs and delivery times).
fn script() -> Vec<Vec<String>> {
    let mut lines = Vec::new();
    let mut add = |line: String| lines.push(line.split(' ').map(String::from).collect());
    for i in 1..=260 {
        if i % 3 == 0 {
            add(format!("XADD big {i}-{i} f {i} g value-{i}"));
        } else {
            add(format!("XADD big {i}-0 f {i}"));
        }
    }
    add("XDEL big 5-0 7-0 150-0 101-0".into());
    add("XTRIM big MAXLEN ~ 200".into());
    add("XTRIM big MINID 120".into());
    add("XADD big 1000-0 long-field-name-that-is-over-sixty-four-bytes-long-for-the-listpack-xx 12345678901".into());
    add("XGROUP CREATE big g1 0".into());
    add("XGROUP CREATE big g2 $ ENTRIESREAD 3".into());
    add("XGROUP CREATE empty g $ MKSTREAM".into());
    add("XGROUP CREATECONSUMER empty g idle".into());
    add("XADD small 1-1 a -5 b 99999 c 3.5".into());
    add("XSETID small 7-7 ENTRIESADDED 9 MAXDELETEDID 2-2".into());
    for (i, id) in ["125-0", "126-0", "129-129", "200-0", "1000-0"]
        .iter()
        .enumerate()
    {
        add(format!(
            "XCLAIM big g1 consumer{} 0 {id} FORCE JUSTID TIME {} RETRYCOUNT {}",
            i % 2,
            1_000 + i,
            i + 1
        ));
    }
    add("XGROUP SETID big g1 200-0 ENTRIESREAD 42".into());
    lines
}

fn run_script(port: u16) {
    let mut client = Client::connect(port);
    for args in script() {
        let reply = client.raw(&args);
        assert!(
            !reply.starts_with(b"-"),
            "{args:?}: {}",
            String::from_utf8_lossy(&reply)
        );
    }
}

fn bulk(frame: Frame) -> Vec<u8> {
    match frame {
        Frame::Bulk(Some(bytes)) => bytes.to_vec(),
        other => panic!("not a bulk: {other:?}"),
    }
}

const KEYS: [&str; 3] = ["big", "empty", "small"];

#[test]
fn dump_payloads_of_streams_equal_redis_and_restore_both_ways() {
    let Some(redis) = start_redis("streams-dump", &[]) else {
        return;
    };
    let ours = start_replsim(Config::default());
    run_script(redis.port);
    run_script(ours);
    let (mut theirs, mut mine) = (Client::connect(redis.port), Client::connect(ours));
    for key in KEYS {
        let a = bulk(theirs.cmd(&["DUMP", key]));
        let b = bulk(mine.cmd(&["DUMP", key]));
        // Redis's payload read by replsim and written again is ours: the
        // same nodes, listpacks, metadata, groups and consumers (whose
        // seen times each server took from its own clock).
        let rewritten = |payload: &[u8]| {
            let (mut value, encoding) = restore_payload(payload).expect("the DUMP loads");
            if let Value::Stream(stream) = &mut value {
                for group in stream.groups.values_mut() {
                    for consumer in group.consumers.values_mut() {
                        consumer.seen_time = 0;
                    }
                }
            }
            dump_payload(&value, encoding)
        };
        let (from_redis, ours) = (rewritten(&a), rewritten(&b));
        let first_difference = from_redis.iter().zip(&ours).position(|(x, y)| x != y);
        assert!(
            from_redis == ours,
            "DUMP {key} differs from byte {first_difference:?}"
        );
        // Each restores the other's payload into the same stream.
        let copy = format!("{key}-copy");
        assert_eq!(
            mine.raw(&[b"RESTORE".as_slice(), copy.as_bytes(), b"0", &a]),
            b"+OK\r\n"
        );
        assert_eq!(
            theirs.raw(&[b"RESTORE".as_slice(), copy.as_bytes(), b"0", &b]),
            b"+OK\r\n"
        );
        // A copy shows what the stream it came from shows (seen times
        // included: they travel in the payload).
        let full = |name: &str| {
            [
                "XINFO".to_string(),
                "STREAM".into(),
                name.into(),
                "FULL".into(),
            ]
        };
        assert_eq!(
            theirs.raw(&full(&copy)),
            mine.raw(&full(key)),
            "XINFO STREAM {copy} FULL"
        );
        assert_eq!(
            mine.raw(&full(&copy)),
            theirs.raw(&full(key)),
            "XINFO STREAM {copy} FULL"
        );
    }
    assert_eq!(
        theirs.raw(&["DEBUG", "DIGEST"]),
        mine.raw(&["DEBUG", "DIGEST"])
    );
    for key in KEYS {
        assert_eq!(
            theirs.raw(&["DEBUG", "DIGEST-VALUE", key]),
            mine.raw(&["DEBUG", "DIGEST-VALUE", key])
        );
    }
}

#[test]
fn rdb_files_with_streams_load_both_ways() {
    let Some(redis) = start_redis("streams-rdb", &["--dbfilename", "dump.rdb"]) else {
        return;
    };
    run_script(redis.port);
    let mut theirs = Client::connect(redis.port);
    assert_eq!(theirs.raw(&["SAVE"]), b"+OK\r\n");
    let digest = theirs.raw(&["DEBUG", "DIGEST"]);
    let saved = std::fs::read(redis.dir.join("dump.rdb")).unwrap();
    let loaded = decode(&saved).expect("replsim loads redis-server's streams");
    assert_eq!(
        format!("+{}\r\n", to_hex(&dataset_digest(&loaded.keyspace))).into_bytes(),
        digest
    );
    let Some(Value::Stream(big)) = loaded.keyspace.db(0).get(b"big").map(|e| &e.value) else {
        panic!("big is not a stream");
    };
    assert_eq!(big.groups.len(), 2);
    assert_eq!(big.groups[&b"g1"[..]].pel.len(), 4);
    assert_eq!(big.groups[&b"g1"[..]].entries_read, 42);

    // Ours, written as a whole file, loads in a second redis-server.
    let bytes = encode(&loaded.keyspace, &RdbInfo::default());
    let dir = std::env::temp_dir().join(format!("replsim-streams-rdb-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ours.rdb"), &bytes).unwrap();
    let port = common::free_port();
    let mut child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ])
        .args([
            "--enable-debug-command",
            "yes",
            "--dbfilename",
            "ours.rdb",
            "--dir",
        ])
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn redis-server");
    wait_for_ping(port);
    let mut second = Client::connect(port);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        assert_eq!(second.raw(&["DEBUG", "DIGEST"]), digest);
        for key in KEYS {
            let full = ["XINFO", "STREAM", key, "FULL"];
            assert_eq!(
                second.raw(&full),
                theirs.raw(&full),
                "XINFO STREAM {key} FULL"
            );
            let reread = bulk(second.cmd(&["DUMP", key]));
            let redump = |payload: &[u8]| {
                let (value, encoding) = restore_payload(payload).unwrap();
                dump_payload(&value, encoding)
            };
            assert_eq!(redump(&reread), redump(&bulk(theirs.cmd(&["DUMP", key]))));
        }
    }));
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}
