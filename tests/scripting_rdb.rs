//! Function libraries in the RDB, as Redis 7.0 stores them (one
//! RDB_OPCODE_FUNCTION2 record of the library's code each): they survive a
//! save and load, travel with a full sync between replsim nodes, and a
//! real redis-server replica loads them from a replsim master (and the
//! reverse). The interop tests are skipped (with a note) when redis-server
//! is not installed, except in CI.

mod common;

use common::{digest, start_redis, start_replsim, wait_in_sync, wait_until, Client};
use replsim::keyspace::Keyspace;
use replsim::rdb::{decode, encode, RdbInfo};
use replsim::resp::Frame;
use replsim::server::Config;

const LIBRARY: &str = "#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return redis.call('set', keys[1], args[1]) end)";
/// A second library, so that each listing holds one function (the order
/// of a library's functions is Redis's hash table's).
const RO_LIBRARY: &str = "#!lua name=rolib\nredis.register_function{function_name='ro', callback=function(keys) return redis.call('get', keys[1]) end, flags={'no-writes'}}";

fn info() -> RdbInfo {
    RdbInfo {
        redis_ver: "7.0.15".into(),
        ctime_unix_s: 0,
        used_mem: 0,
        repl_stream_db: None,
        repl_id: None,
        repl_offset: None,
    }
}

#[test]
fn libraries_survive_an_rdb_round_trip() {
    let mut keyspace = Keyspace::new();
    assert!(keyspace
        .functions
        .insert_loaded("mylib".into(), LIBRARY.as_bytes().to_vec()));
    let bytes = encode(&keyspace, &info());
    // The record sits after the aux fields: opcode 0xF5 then the code.
    assert!(bytes.windows(1).any(|w| w == [0xF5]));
    let loaded = decode(&bytes).unwrap();
    assert_eq!(
        loaded.keyspace.functions.get("mylib"),
        Some(LIBRARY.as_bytes())
    );
    assert_eq!(loaded.keyspace, keyspace);
}

#[test]
fn an_rdb_naming_a_library_twice_is_refused() {
    let mut keyspace = Keyspace::new();
    keyspace
        .functions
        .insert_loaded("a".into(), LIBRARY.as_bytes().to_vec());
    // A second record whose code names the same library.
    keyspace
        .functions
        .insert_loaded("b".into(), LIBRARY.as_bytes().to_vec());
    let bytes = encode(&keyspace, &info());
    let error = decode(&bytes).unwrap_err().to_string();
    assert!(error.contains("Library 'mylib' already exists"), "{error}");
}

/// FUNCTION LIST of each library, one listing per library (Redis lists
/// libraries in its hash table's order).
fn function_names(port: u16) -> Vec<Vec<u8>> {
    ["mylib", "rolib", "second"]
        .iter()
        .map(|lib| Client::connect(port).raw(&["FUNCTION", "LIST", "LIBRARYNAME", lib, "WITHCODE"]))
        .collect()
}

fn load_libraries(c: &mut Client) {
    assert_eq!(
        c.cmd(&["FUNCTION", "LOAD", LIBRARY]),
        Frame::Bulk(Some(b"mylib".to_vec()))
    );
    assert_eq!(
        c.cmd(&["FUNCTION", "LOAD", RO_LIBRARY]),
        Frame::Bulk(Some(b"rolib".to_vec()))
    );
}

#[test]
fn a_replsim_replica_gets_the_libraries_of_a_replsim_master() {
    let master = start_replsim(Config::default());
    let mut c = Client::connect(master);
    load_libraries(&mut c);
    c.cmd(&["FCALL", "myfunc", "1", "k", "v"]);
    let replica = start_replsim(Config::default());
    Client::connect(replica).cmd(&["REPLICAOF", "127.0.0.1", &master.to_string()]);
    wait_in_sync(master, replica);
    assert_eq!(function_names(master), function_names(replica));
    assert_eq!(digest(master), digest(replica));
    // A read-only function runs on the replica; a writing one is refused.
    let mut r = Client::connect(replica);
    assert_eq!(
        r.cmd(&["FCALL", "ro", "1", "k"]),
        Frame::Bulk(Some(b"v".to_vec()))
    );
    assert_eq!(
        r.cmd(&["FCALL", "myfunc", "1", "k", "w"]),
        Frame::Error("READONLY You can't write against a read only replica.".into())
    );
    // Later changes stream to it.
    c.cmd(&["FUNCTION", "DELETE", "mylib"]);
    c.cmd(&["SET", "after", "1"]);
    wait_in_sync(master, replica);
    assert_eq!(
        Client::connect(replica).raw(&["FUNCTION", "LIST", "LIBRARYNAME", "mylib"]),
        b"*0\r\n".to_vec()
    );
}

#[test]
fn a_real_redis_replica_loads_the_libraries_of_a_replsim_master() {
    let Some(replica) = start_redis("scripting-rdb-real-replica", &[]) else {
        return;
    };
    let master = start_replsim(Config::default());
    let mut c = Client::connect(master);
    load_libraries(&mut c);
    c.cmd(&["FCALL", "myfunc", "1", "k", "v"]);
    Client::connect(replica.port).cmd(&["REPLICAOF", "127.0.0.1", &master.to_string()]);
    wait_in_sync(master, replica.port);
    assert_eq!(function_names(master), function_names(replica.port));
    assert_eq!(digest(master), digest(replica.port));
    // Effects replication: a script's writes reach the real replica.
    c.cmd(&[
        "EVAL",
        "redis.call('set','a','1'); redis.call('incr','a')",
        "0",
    ]);
    c.cmd(&["FCALL", "myfunc", "1", "k2", "v2"]);
    wait_in_sync(master, replica.port);
    assert_eq!(digest(master), digest(replica.port));
    assert_eq!(
        Client::connect(replica.port).cmd(&["FCALL", "ro", "1", "a"]),
        Frame::Bulk(Some(b"2".to_vec()))
    );
}

#[test]
fn a_replsim_replica_loads_the_libraries_of_a_real_redis_master() {
    let Some(master) = start_redis(
        "scripting-rdb-real-master",
        &["--repl-diskless-sync-delay", "0"],
    ) else {
        return;
    };
    let mut c = Client::connect(master.port);
    load_libraries(&mut c);
    c.cmd(&["FCALL", "myfunc", "1", "k", "v"]);
    let replica = start_replsim(Config::default());
    Client::connect(replica).cmd(&["REPLICAOF", "127.0.0.1", &master.port.to_string()]);
    wait_in_sync(master.port, replica);
    assert_eq!(function_names(master.port), function_names(replica));
    assert_eq!(digest(master.port), digest(replica));
    c.cmd(&[
        "EVAL",
        "redis.call('set','a','1'); redis.call('incr','a')",
        "0",
    ]);
    c.cmd(&["FUNCTION", "LOAD", "#!lua name=second\nredis.register_function{function_name='two', callback=function() return 2 end, flags={'no-writes'}}"]);
    wait_in_sync(master.port, replica);
    assert_eq!(digest(master.port), digest(replica));
    wait_until(10, "the second library on the replica", || {
        Client::connect(replica).cmd(&["FCALL", "two", "0"]) == Frame::Integer(2)
    });
}

#[test]
fn script_rules_on_a_read_only_replica_match_real_redis() {
    let Some(master) = start_redis(
        "scripting-replica-rules-master",
        &["--repl-diskless-sync-delay", "0"],
    ) else {
        return;
    };
    let Some(real_replica) = start_redis("scripting-replica-rules-replica", &[]) else {
        return;
    };
    let replica = start_replsim(Config::default());
    for port in [real_replica.port, replica] {
        Client::connect(port).cmd(&["REPLICAOF", "127.0.0.1", &master.port.to_string()]);
        wait_in_sync(master.port, port);
    }
    let cases: [&[&str]; 9] = [
        &["EVAL", "return redis.call('set','x','1')", "0"],
        &["EVAL", "return redis.pcall('set','x','1')", "0"],
        &["EVAL", "#!lua\nreturn redis.call('set','x','1')", "0"],
        &[
            "EVAL",
            "#!lua flags=no-writes\nreturn redis.call('get','x')",
            "0",
        ],
        &[
            "EVAL",
            "#!lua flags=no-writes\nreturn redis.call('set','x','1')",
            "0",
        ],
        &["EVAL_RO", "return redis.call('get','x')", "0"],
        &["FCALL", "nosuch", "0"],
        &[
            "FUNCTION",
            "LOAD",
            "#!lua name=x\nredis.register_function('f', function() return 1 end)",
        ],
        &["SCRIPT", "LOAD", "return 1"],
    ];
    for case in cases {
        assert_eq!(
            String::from_utf8_lossy(&Client::connect(real_replica.port).raw(case)),
            String::from_utf8_lossy(&Client::connect(replica).raw(case)),
            "{case:?}"
        );
    }
}
