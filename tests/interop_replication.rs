//! Replication interop with real redis-server 7.0 processes on loopback:
//! real master to replsim replica, replsim master to real replica, a mixed
//! chain with CLIENT KILL TYPE master, restarts from RDB with partial
//! resyncs, and masterauth. Skipped with a note when redis-server is not
//! installed, except in CI.

mod common;

use common::{digest, info_field, start_redis, wait_in_sync, wait_until, Client, ReplsimProcess};

/// Writes a dataset with all five types, small and large collections (so
/// both listpack and plain encodings travel), strings over 20 bytes (LZF),
/// integers, TTLs, and three dbs.
fn load_dataset(port: u16) {
    let mut c = Client::connect(port);
    for db in ["0", "1", "5"] {
        c.cmd(&["SELECT", db]);
        c.cmd(&["SET", "plain", "value"]);
        c.cmd(&["SET", "number", "12345"]);
        c.cmd(&["SET", "long", &"compressible text ".repeat(20)]);
        c.cmd(&["SET", "ttl", "soon", "EX", "5000"]);
        c.cmd(&["RPUSH", "small-list", "a", "b", "1", "2"]);
        c.cmd(&["HSET", "small-hash", "f1", "v1", "f2", "2"]);
        c.cmd(&["SADD", "int-set", "1", "2", "300000"]);
        c.cmd(&["SADD", "str-set", "x", "y", "z"]);
        c.cmd(&["ZADD", "small-zset", "1", "a", "2.5", "b", "-3", "c"]);
        for i in 0..300 {
            let n = i.to_string();
            let member = format!("member-{i}-{}", "x".repeat(i % 70));
            c.cmd(&["RPUSH", "big-list", &member]);
            c.cmd(&["HSET", "big-hash", &member, &n]);
            c.cmd(&["SADD", "big-set", &member]);
            c.cmd(&["ZADD", "big-zset", &n, &member]);
        }
        c.cmd(&["PEXPIRE", "big-hash", "9000000"]);
    }
    c.cmd(&["SELECT", "0"]);
}

/// Streams writes of every kind, including EXPIRE, MULTI/EXEC and FLUSHDB.
fn stream_writes(port: u16) {
    let mut c = Client::connect(port);
    c.cmd(&["SET", "streamed", "1"]);
    c.cmd(&["INCR", "number"]);
    c.cmd(&["EXPIRE", "plain", "1000"]);
    c.cmd(&["SET", "px", "v", "PX", "800000"]);
    c.cmd(&["MULTI"]);
    c.cmd(&["LPUSH", "small-list", "m1"]);
    c.cmd(&["HINCRBY", "small-hash", "f2", "5"]);
    c.cmd(&["ZINCRBY", "small-zset", "1.5", "a"]);
    c.cmd(&["EXEC"]);
    c.cmd(&["SELECT", "1"]);
    c.cmd(&["FLUSHDB"]);
    c.cmd(&["SET", "after-flush", "x"]);
    c.cmd(&["SELECT", "5"]);
    c.cmd(&["SPOP", "str-set"]);
    c.cmd(&["DEL", "big-list"]);
}

fn replicaof(port: u16, master: u16) {
    Client::connect(port).cmd(&["REPLICAOF", "127.0.0.1", &master.to_string()]);
}

#[test]
fn real_master_feeds_a_replsim_replica() {
    let Some(master) = start_redis("interop-real-master", &["--repl-diskless-sync-delay", "0"])
    else {
        return;
    };
    let replica = ReplsimProcess::start("replica-of-real", &[]);
    load_dataset(master.port);
    replicaof(replica.port, master.port);
    wait_in_sync(master.port, replica.port);
    assert_eq!(
        digest(master.port),
        digest(replica.port),
        "after the full sync"
    );
    stream_writes(master.port);
    wait_in_sync(master.port, replica.port);
    assert_eq!(digest(master.port), digest(replica.port), "after streaming");
    assert!(
        replica.log().contains("Full resync from master: "),
        "{}",
        replica.log()
    );
    // A read-only replica refuses client writes.
    let reply = Client::connect(replica.port).raw(&["SET", "x", "1"]);
    assert_eq!(
        reply,
        b"-READONLY You can't write against a read only replica.\r\n"
    );
}

#[test]
fn replsim_master_feeds_a_real_replica() {
    for diskless in ["yes", "no"] {
        let master = ReplsimProcess::start(
            "master-of-real",
            &[
                "--config",
                &format!("repl-diskless-sync={diskless}"),
                "--config",
                "repl-diskless-sync-delay=0",
            ],
        );
        load_dataset(master.port);
        let logfile =
            std::env::temp_dir().join(format!("replsim-real-replica-{}.log", master.port));
        let _ = std::fs::remove_file(&logfile);
        let Some(replica) = start_redis(
            "interop-real-replica",
            &[
                "--replicaof",
                "127.0.0.1",
                &master.port.to_string(),
                "--logfile",
                logfile.to_str().unwrap(),
            ],
        ) else {
            return;
        };
        wait_in_sync(master.port, replica.port);
        assert_eq!(
            digest(master.port),
            digest(replica.port),
            "diskless={diskless}: after the full sync"
        );
        stream_writes(master.port);
        wait_in_sync(master.port, replica.port);
        assert_eq!(
            digest(master.port),
            digest(replica.port),
            "diskless={diskless}: after streaming"
        );
        let log = std::fs::read_to_string(&logfile).unwrap();
        assert!(
            log.contains("MASTER <-> REPLICA sync: Finished with success"),
            "{log}"
        );
        for warning in ["checksum", "Wrong RDB", "Short read", "Can't handle"] {
            assert!(
                !log.contains(warning),
                "real replica warned about the RDB ({warning}):\n{log}"
            );
        }
    }
}

#[test]
fn chain_through_replsim_resyncs_partially_after_client_kill() {
    let Some(top) = start_redis("interop-chain-top", &["--repl-diskless-sync-delay", "0"]) else {
        return;
    };
    let middle = ReplsimProcess::start("chain-middle", &["--config", "repl-diskless-sync-delay=0"]);
    let Some(leaf) = start_redis(
        "interop-chain-leaf",
        &["--replicaof", "127.0.0.1", &middle.port.to_string()],
    ) else {
        return;
    };
    load_dataset(top.port);
    replicaof(middle.port, top.port);
    wait_in_sync(top.port, middle.port);
    wait_in_sync(middle.port, leaf.port);
    stream_writes(top.port);
    wait_in_sync(top.port, middle.port);
    wait_in_sync(middle.port, leaf.port);
    assert_eq!(digest(top.port), digest(middle.port));
    assert_eq!(digest(top.port), digest(leaf.port));

    let top_partial = info_field(top.port, "sync_partial_ok").unwrap();
    let (top_full, middle_full) = (
        info_field(top.port, "sync_full"),
        info_field(middle.port, "sync_full"),
    );
    let killed = Client::connect(middle.port).cmd(&["CLIENT", "KILL", "TYPE", "master"]);
    assert_eq!(killed, replsim::resp::Frame::Integer(1));
    Client::connect(top.port).cmd(&["SET", "after-kill", "1"]);
    wait_until(30, "the middle node to resync partially", || {
        info_field(top.port, "sync_partial_ok") != Some(top_partial.clone())
    });
    wait_in_sync(top.port, middle.port);
    wait_in_sync(middle.port, leaf.port);
    assert_eq!(digest(top.port), digest(leaf.port));
    assert!(
        middle
            .log()
            .contains("Successful partial resynchronization with master."),
        "{}",
        middle.log()
    );
    // Neither link needed a full sync because of the kill: the leaf kept
    // streaming from the middle node, which continued its own history.
    assert_eq!(info_field(top.port, "sync_full"), top_full);
    assert_eq!(info_field(middle.port, "sync_full"), middle_full);
}

#[test]
fn restarted_nodes_resync_partially_from_their_rdb() {
    let Some(master) = start_redis(
        "interop-restart-master",
        &["--repl-diskless-sync-delay", "0"],
    ) else {
        return;
    };
    // A replsim replica saves its RDB, restarts, and continues partially.
    let mut replica = ReplsimProcess::start(
        "restart-replica",
        &["--replicaof", &format!("127.0.0.1 {}", master.port)],
    );
    load_dataset(master.port);
    wait_in_sync(master.port, replica.port);
    Client::connect(replica.port).cmd(&["SAVE"]);
    replica.stop();
    stream_writes(master.port);
    replica.restart();
    wait_in_sync(master.port, replica.port);
    assert_eq!(digest(master.port), digest(replica.port));
    assert_eq!(info_field(master.port, "sync_full").as_deref(), Some("1"));
    assert_eq!(
        info_field(master.port, "sync_partial_ok").as_deref(),
        Some("1")
    );

    // A replsim master restarted from its RDB serves a real replica
    // partially through its secondary id.
    let mut top = ReplsimProcess::start(
        "restart-master",
        &["--config", "repl-diskless-sync-delay=0"],
    );
    let Some(leaf) = start_redis(
        "interop-restart-leaf",
        &["--replicaof", "127.0.0.1", &top.port.to_string()],
    ) else {
        return;
    };
    load_dataset(top.port);
    wait_in_sync(top.port, leaf.port);
    // SHUTDOWN saves, then closes the connection without a reply.
    let mut shutdown = Client::connect(top.port);
    shutdown.send_raw(b"SHUTDOWN SAVE\r\n");
    assert!(shutdown.is_closed());
    top.stop();
    top.restart();
    wait_in_sync(top.port, leaf.port);
    assert_eq!(
        info_field(top.port, "sync_partial_ok").as_deref(),
        Some("1")
    );
    assert_eq!(info_field(top.port, "sync_full").as_deref(), Some("0"));
    Client::connect(top.port).cmd(&["SET", "after-restart", "1"]);
    wait_in_sync(top.port, leaf.port);
    assert_eq!(digest(top.port), digest(leaf.port));
}

#[test]
fn wrong_masterauth_never_syncs_and_the_right_one_does() {
    let Some(master) = start_redis(
        "interop-auth",
        &["--requirepass", "secret", "--repl-diskless-sync-delay", "0"],
    ) else {
        return;
    };
    let mut admin = Client::connect(master.port);
    admin.cmd(&["AUTH", "secret"]);
    admin.cmd(&["SET", "k", "v"]);
    let replica = ReplsimProcess::start(
        "auth-replica",
        &[
            "--config",
            "masterauth=wrong",
            "--replicaof",
            &format!("127.0.0.1 {}", master.port),
        ],
    );
    wait_until(20, "the AUTH failure in the log", || {
        replica.log().contains("Unable to AUTH to MASTER")
    });
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_eq!(
        info_field(replica.port, "master_link_status").as_deref(),
        Some("down")
    );
    assert!(
        !replica.log().contains("Full resync from master"),
        "{}",
        replica.log()
    );
    let mut c = Client::connect(replica.port);
    c.cmd(&["CONFIG", "SET", "masterauth", "secret"]);
    wait_until(20, "the link to come up", || {
        info_field(replica.port, "master_link_status").as_deref() == Some("up")
    });
    assert_eq!(
        c.cmd(&["GET", "k"]),
        replsim::resp::Frame::Bulk(Some(b"v".to_vec()))
    );
}

/// Connects to `port` as a replica right after the server started and
/// PSYNCs with the server's own replid and offset -1: the offset of its
/// `+FULLRESYNC` line.
fn fullresync_offset_right_after_start(port: u16) -> u64 {
    use std::io::Read;
    let mut info = Client::connect(port);
    let replid = match info.cmd(&["INFO", "replication"]) {
        replsim::resp::Frame::Bulk(Some(text)) => String::from_utf8_lossy(&text)
            .lines()
            .find_map(|l| l.strip_prefix("master_replid:").map(str::to_string))
            .expect("master_replid"),
        other => panic!("INFO replied {other:?}"),
    };
    let mut replica = Client::connect(port);
    assert_eq!(
        replica.raw(&["REPLCONF", "listening-port", "6380"]),
        b"+OK\r\n"
    );
    assert_eq!(
        replica.raw(&["REPLCONF", "capa", "eof", "capa", "psync2"]),
        b"+OK\r\n"
    );
    replica.send_raw(&replsim_command(&["PSYNC", &replid, "-1"]));
    // Newline keepalives come first, during the diskless delay.
    let mut bytes = Vec::new();
    let stream = replica.stream_mut();
    loop {
        let text = String::from_utf8_lossy(&bytes);
        if let Some(at) = text.find("+FULLRESYNC ") {
            if let Some(end) = text[at..].find("\r\n") {
                let line = &text[at..at + end];
                return line.rsplit(' ').next().unwrap().parse().expect("an offset");
            }
        }
        let mut byte = [0u8; 1];
        assert_eq!(stream.read(&mut byte).expect("read"), 1, "closed");
        bytes.push(byte[0]);
    }
}

fn replsim_command(args: &[&str]) -> Vec<u8> {
    let mut bytes = Vec::new();
    replsim::resp::encode_command(&mut bytes, args);
    bytes
}

#[test]
fn a_replica_syncing_right_after_start_gets_offset_0_as_from_real_redis() {
    // Redis counts PINGs to replicas by replication cron loops from its
    // start: the first comes repl-ping-replica-period (10 s) after it, so a
    // full sync that starts a few seconds in has nothing before it.
    let Some(redis) = start_redis("early-fullresync", &["--repl-diskless-sync-delay", "2"]) else {
        return;
    };
    let replsim = ReplsimProcess::start(
        "early-fullresync",
        &["--config", "repl-diskless-sync-delay=2"],
    );
    assert_eq!(fullresync_offset_right_after_start(redis.port), 0);
    assert_eq!(fullresync_offset_right_after_start(replsim.port), 0);
}

/// `master_link_down_since_seconds` of a replica pointed at a port nobody
/// listens on, after failed connects: the link was never up.
fn down_since_of_a_link_never_up(port: u16) -> Option<String> {
    let mut client = Client::connect(port);
    let dead = common::free_port().to_string();
    client.cmd(&["REPLICAOF", "127.0.0.1", &dead]);
    // Two connect attempts (one a second) fail meanwhile.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    info_field(port, "master_link_down_since_seconds")
}

#[test]
fn a_link_that_never_came_up_reports_down_since_minus_one_as_redis() {
    if let Some(redis) = start_redis("never-linked", &[]) {
        assert_eq!(
            down_since_of_a_link_never_up(redis.port).as_deref(),
            Some("-1")
        );
    }
    let port = common::start_replsim(replsim::server::Config::default());
    assert_eq!(down_since_of_a_link_never_up(port).as_deref(), Some("-1"));
}

/// Writes values whose encodings a full sync may change: values the
/// master converted and then shrank, values kept compact under thresholds
/// a replica with default limits would not allow, and raw strings.
fn write_converted_values(port: u16) {
    let mut c = Client::connect(port);
    let long = "x".repeat(100);
    c.cmd(&["CONFIG", "SET", "hash-max-listpack-value", "1000"]);
    c.cmd(&["CONFIG", "SET", "zset-max-listpack-value", "1000"]);
    c.cmd(&["HSET", "listpack-hash-long-value", "f", &long]);
    c.cmd(&["ZADD", "listpack-zset-long-member", "1", &long]);
    c.cmd(&["CONFIG", "SET", "set-max-intset-entries", "2"]);
    c.cmd(&["SADD", "hashtable-set-of-3-ints", "1", "2", "3"]);
    c.cmd(&["CONFIG", "SET", "set-max-intset-entries", "512"]);
    c.cmd(&["SADD", "shrunk-set", "1", "2", "3", "a"]);
    c.cmd(&["SREM", "shrunk-set", "a"]);
    c.cmd(&["HSET", "shrunk-hash", "f", &long]);
    c.cmd(&["HSET", "shrunk-hash", "f", "v"]);
    c.cmd(&["ZADD", "small-zset", "1", "a", "2", "b"]);
    c.cmd(&["HSET", "small-hash", "a", "1"]);
    c.cmd(&["SADD", "int-set", "1", "2", "-70000", "5000000000"]);
    c.cmd(&["SET", "appended", "123"]);
    c.cmd(&["APPEND", "appended", "4"]);
    c.cmd(&["RPUSH", "list", "a", "1"]);
}

fn encodings(port: u16) -> Vec<(String, String)> {
    let mut c = Client::connect(port);
    let replsim::resp::Frame::Array(Some(keys)) = c.cmd(&["KEYS", "*"]) else {
        panic!("KEYS failed");
    };
    let mut names: Vec<String> = keys
        .iter()
        .map(|k| match k {
            replsim::resp::Frame::Bulk(Some(b)) => String::from_utf8_lossy(b).into_owned(),
            other => panic!("key {other:?}"),
        })
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|key| {
            let encoding = match c.cmd(&["OBJECT", "ENCODING", &key]) {
                replsim::resp::Frame::Bulk(Some(b)) => String::from_utf8_lossy(&b).into_owned(),
                other => panic!("OBJECT ENCODING {key}: {other:?}"),
            };
            (key, encoding)
        })
        .collect()
}

/// A full sync carries each value in the RDB type its encoding calls for,
/// and the replica encodes it as Redis loads that type: a real replica of
/// replsim, a real replica of redis-server and a replsim replica of
/// redis-server end with the same encodings.
#[test]
fn full_syncs_leave_the_encodings_redis_gives_on_load() {
    let Some(real_master) = start_redis("encoding-real-master", &[]) else {
        return;
    };
    let replsim_master = ReplsimProcess::start("encoding-replsim-master", &[]);
    write_converted_values(real_master.port);
    write_converted_values(replsim_master.port);
    assert_eq!(
        encodings(real_master.port),
        encodings(replsim_master.port),
        "the masters"
    );
    let real_port = real_master.port.to_string();
    let replsim_port = replsim_master.port.to_string();
    let Some(real_of_real) = start_redis(
        "encoding-real-of-real",
        &["--replicaof", "127.0.0.1", &real_port],
    ) else {
        return;
    };
    let Some(real_of_replsim) = start_redis(
        "encoding-real-of-replsim",
        &["--replicaof", "127.0.0.1", &replsim_port],
    ) else {
        return;
    };
    let replsim_of_real = ReplsimProcess::start("encoding-replsim-of-real", &[]);
    replicaof(replsim_of_real.port, real_master.port);
    wait_in_sync(real_master.port, real_of_real.port);
    wait_in_sync(replsim_master.port, real_of_replsim.port);
    wait_in_sync(real_master.port, replsim_of_real.port);
    let expected = encodings(real_of_real.port);
    // The full sync re-encoded what the masters converted.
    assert!(
        expected.contains(&("shrunk-set".into(), "intset".into())),
        "{expected:?}"
    );
    assert!(
        expected.contains(&("listpack-hash-long-value".into(), "listpack".into())),
        "{expected:?}"
    );
    assert_eq!(
        encodings(real_of_replsim.port),
        expected,
        "real replica of replsim"
    );
    assert_eq!(
        encodings(replsim_of_real.port),
        expected,
        "replsim replica of redis"
    );
}
