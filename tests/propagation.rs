//! What the master feeds to its replication stream for each write: the
//! rewrites Redis 7.0.15 performs (observed on a real server attached to as
//! a replica), SELECT insertion, MULTI/EXEC wrapping, and expiry DELs.

mod common;

use std::time::Duration;

use replsim::command::{execute, Ctx};
use replsim::resp::{OwnedArgv, Reply};
use replsim::server::{Client, Config, ServerState};

const NOW_MS: u64 = 1_700_000_000_000;

struct Node {
    state: ServerState,
    client: Client,
    read_offset: u64,
}

impl Node {
    fn new() -> Node {
        let mut state = ServerState::new(Config::default(), 1, NOW_MS, Duration::ZERO);
        // A backlog makes the master record its stream, as when a replica attaches.
        state
            .repl
            .ensure_backlog(1 << 20, || "f".repeat(40), |_| {});
        let client = Client::new(
            1,
            "127.0.0.1:1".into(),
            "127.0.0.1:6379".into(),
            Duration::ZERO,
            true,
        );
        Node {
            state,
            client,
            read_offset: 1,
        }
    }

    fn run_at(&mut self, now_ms: u64, line: &str) -> String {
        let args: Vec<&str> = line.split(' ').collect();
        let owned = OwnedArgv::from_args(&args);
        let mut out = Reply::new();
        let mut ctx = Ctx::new(&mut self.state, &mut self.client, &mut out, now_ms);
        execute(&mut ctx, owned.argv());
        String::from_utf8_lossy(out.as_bytes()).into_owned()
    }

    /// Runs a command whose arguments may be binary; returns the raw reply.
    fn run_args(&mut self, args: &[&[u8]]) -> Vec<u8> {
        let owned = OwnedArgv::from_args(args);
        let mut out = Reply::new();
        let mut ctx = Ctx::new(&mut self.state, &mut self.client, &mut out, NOW_MS);
        execute(&mut ctx, owned.argv());
        out.as_bytes().to_vec()
    }

    fn run(&mut self, line: &str) -> String {
        self.run_at(NOW_MS, line)
    }

    /// The stream fed since the last call, one command per entry.
    fn stream(&mut self) -> Vec<String> {
        common::stream::commands_since(&self.state, &mut self.read_offset)
    }
}

#[test]
fn expiring_writes_propagate_absolute_times() {
    let mut node = Node::new();
    node.run("SET a 1 EX 100");
    node.run("SETEX b 100 v");
    node.run("PSETEX c 5000 v");
    node.run("EXPIRE a 200");
    node.run("PEXPIRE a 300");
    node.run("EXPIREAT a 1800000000");
    node.run("SET p v NX PX 5000");
    node.run("SET q v PXAT 99999999999999 NX");
    node.run("PEXPIREAT q 99999999999998");
    let at = |ms: u64| (NOW_MS + ms).to_string();
    assert_eq!(
        node.stream(),
        vec![
            "SELECT 0".to_string(),
            format!("SET a 1 PXAT {}", at(100_000)),
            format!("SET b v PXAT {}", at(100_000)),
            format!("SET c v PXAT {}", at(5_000)),
            format!("PEXPIREAT a {}", at(200_000)),
            format!("PEXPIREAT a {}", at(300)),
            "PEXPIREAT a 1800000000000".to_string(),
            format!("SET p v PXAT {}", at(5_000)),
            "SET q v PXAT 99999999999999".to_string(),
            "PEXPIREAT q 99999999999998".to_string(),
        ]
    );
}

#[test]
fn value_returning_writes_are_rewritten_to_plain_writes() {
    let mut node = Node::new();
    node.run("set a 1");
    node.run("getset a 2");
    node.run("getdel a");
    node.run("incrbyfloat f 1.5");
    node.run("set r v get");
    node.run("set k v");
    node.run("expire k -1");
    node.run("expire nokey 10");
    assert_eq!(
        node.stream(),
        vec![
            "SELECT 0",
            "set a 1",
            "SET a 2",
            "DEL a",
            "SET f 1.5 KEEPTTL",
            "set r v",
            "set k v",
            "DEL k"
        ]
    );
}

#[test]
fn spop_propagates_the_members_it_removed() {
    let mut node = Node::new();
    node.run("sadd s x y z");
    node.stream();
    let popped = node.run("spop s");
    let member = popped.lines().nth(1).unwrap().to_string();
    assert_eq!(node.stream(), vec![format!("SREM s {member}")]);
    node.run("spop s 5");
    assert_eq!(node.stream(), vec!["DEL s"]);
    node.run("sadd t 1 2 3 4");
    node.stream();
    let reply = node.run("spop t 2");
    // The reply is *2, $1, m1, $1, m2: members are every other line from 2.
    let members: Vec<&str> = reply.lines().skip(2).step_by(2).collect();
    assert_eq!(members.len(), 2, "{reply}");
    let stream = node.stream();
    assert_eq!(stream.first().map(String::as_str), Some("MULTI"));
    assert_eq!(stream.last().map(String::as_str), Some("EXEC"));
    assert_eq!(stream.len(), 4);
    for member in &members {
        assert!(stream.contains(&format!("SREM t {member}")), "{stream:?}");
    }
}

#[test]
fn lazy_expiry_deletes_propagate_before_the_command_and_unwrapped() {
    let mut node = Node::new();
    node.run("set e v px 10");
    node.stream();
    node.run_at(NOW_MS + 100, "incr e");
    assert_eq!(node.stream(), vec!["DEL e", "incr e"]);
    node.run("set e2 v px 10");
    node.stream();
    node.run_at(NOW_MS + 100, "del e2 zz");
    assert_eq!(node.stream(), vec!["DEL e2"]);
}

#[test]
fn transactions_wrap_two_or_more_writes_in_multi_exec() {
    let mut node = Node::new();
    for line in ["MULTI", "SET a 1", "INCR a", "EXEC"] {
        node.run(line);
    }
    assert_eq!(
        node.stream(),
        vec!["SELECT 0", "MULTI", "SET a 1", "INCR a", "EXEC"]
    );
    for line in ["MULTI", "SET b 1", "GET b", "EXEC"] {
        node.run(line);
    }
    assert_eq!(node.stream(), vec!["SET b 1"]);
    for line in ["MULTI", "GET b", "EXEC"] {
        node.run(line);
    }
    assert!(node.stream().is_empty());
}

#[test]
fn select_precedes_the_first_command_in_another_db() {
    let mut node = Node::new();
    node.run("SET a 1");
    node.run("SELECT 1");
    node.run("SET b 1");
    node.run("SET c 1");
    node.run("SELECT 0");
    node.run("FLUSHDB");
    node.run("FLUSHALL");
    assert_eq!(
        node.stream(),
        vec![
            "SELECT 0", "SET a 1", "SELECT 1", "SET b 1", "SET c 1", "SELECT 0", "FLUSHDB",
            "FLUSHALL"
        ]
    );
}

#[test]
fn reads_and_failed_writes_propagate_nothing() {
    let mut node = Node::new();
    node.run("SET a 1");
    node.stream();
    for line in [
        "GET a",
        "SET a 2 NX",
        "SET b 2 XX",
        "DEL nope",
        "LPOP nope",
        "SREM nope x",
        "INCR a a",
        "HDEL nope f",
    ] {
        node.run(line);
    }
    assert!(node.stream().is_empty());
}

#[test]
fn active_expiry_on_a_master_deletes_and_propagates() {
    let mut node = Node::new();
    node.run("SET a 1 PX 50");
    node.run("SET b 1 PX 10");
    node.run("SET c 1");
    node.stream();
    node.state.active_expire_cycle(NOW_MS + 100, 100);
    assert_eq!(node.stream(), vec!["DEL b", "DEL a"]);
    assert_eq!(node.state.keyspace.key_count(), 1);
}

#[test]
fn getex_and_hincrbyfloat_propagate_as_the_writes_they_made() {
    let mut node = Node::new();
    node.run("SET g v");
    node.run("GETEX g");
    node.run("GETEX g EX 100");
    node.run("GETEX g PERSIST");
    node.run("GETEX g PERSIST");
    node.run("HINCRBYFLOAT h f 1.5");
    node.run("GETEX g PXAT 1");
    assert_eq!(
        node.stream(),
        vec![
            "SELECT 0".to_string(),
            "SET g v".to_string(),
            format!("PEXPIREAT g {}", NOW_MS + 100_000),
            "PERSIST g".to_string(),
            "HSET h f 1.5".to_string(),
            "DEL g".to_string(),
        ]
    );
}

#[test]
fn set_zset_and_key_writes_propagate_verbatim_only_when_they_changed_something() {
    let mut node = Node::new();
    node.run("SADD s1 a b");
    node.run("SMOVE s1 s2 a");
    node.run("SMOVE s1 s2 zz");
    node.run("SINTERSTORE d s1 nosuch");
    node.run("SINTERSTORE d s1 s1");
    node.run("SETRANGE e 0 ab");
    node.run("ZADD z 1 a 2 b");
    node.run("ZPOPMIN z");
    node.run("ZPOPMIN nosuch");
    node.run("ZUNIONSTORE zd 1 z");
    node.run("MSETNX m1 a");
    node.run("MSETNX m1 b");
    node.run("HSETNX h f x");
    node.run("HSETNX h f y");
    node.run("RENAMENX s1 s2");
    node.run("COPY s1 s3");
    node.run("MOVE e 2");
    node.run("SWAPDB 0 1");
    assert_eq!(
        node.stream(),
        vec![
            "SELECT 0",
            "SADD s1 a b",
            "SMOVE s1 s2 a",
            "SINTERSTORE d s1 s1",
            "SETRANGE e 0 ab",
            "ZADD z 1 a 2 b",
            "ZPOPMIN z",
            "ZUNIONSTORE zd 1 z",
            "MSETNX m1 a",
            "HSETNX h f x",
            "COPY s1 s3",
            "MOVE e 2",
            "SWAPDB 0 1",
        ]
    );
}

#[test]
fn restore_propagates_a_relative_ttl_as_an_absolute_one_and_an_expired_replace_as_del() {
    let mut node = Node::new();
    node.run("SET a v");
    let reply = node.run_args(&[b"DUMP", b"a"]);
    let Ok((replsim::resp::Frame::Bulk(Some(payload)), _)) = replsim::resp::Frame::parse(&reply)
    else {
        panic!("DUMP replied {reply:?}");
    };
    node.stream();
    node.run_args(&[b"RESTORE", b"b", b"5000", &payload]);
    node.run_args(&[b"RESTORE", b"c", b"0", &payload]);
    node.run_args(&[b"RESTORE", b"a", b"1", &payload, b"ABSTTL", b"REPLACE"]);
    node.run_args(&[b"RESTORE", b"d", b"1", &payload, b"ABSTTL"]);
    let text = String::from_utf8_lossy(&payload);
    assert_eq!(
        node.stream(),
        vec![
            format!("RESTORE b {} {text} ABSTTL", NOW_MS + 5000),
            format!("RESTORE c 0 {text}"),
            "DEL a".to_string(),
        ]
    );
}

#[test]
fn sort_store_propagates_verbatim_only_when_it_changed_the_destination() {
    let mut node = Node::new();
    node.run("RPUSH l 2 1");
    node.run("SET e_1 v PX 10");
    node.run("SADD s b a");
    node.stream();
    node.run("SORT l STORE d");
    node.run("SORT nosuch STORE d");
    node.run("SORT nosuch STORE d");
    node.run("SORT l");
    node.run("SORT_RO l");
    assert_eq!(
        node.run_at(NOW_MS + 100, "SORT l GET e_*"),
        "*2\r\n$-1\r\n$-1\r\n"
    );
    node.run("SORT s BY nosort STORE d2");
    node.run("SORT s BY nosort DESC STORE d2");
    node.run("SORT l LIMIT 5 5 STORE l");
    assert_eq!(
        node.stream(),
        vec![
            "SORT l STORE d",
            "SORT nosuch STORE d",
            "DEL e_1",
            "SORT s BY nosort STORE d2",
            "SORT s BY nosort DESC STORE d2",
            "SORT l LIMIT 5 5 STORE l",
        ]
    );
}

#[test]
fn bit_writes_propagate_verbatim_only_when_they_changed_the_string() {
    let mut node = Node::new();
    for line in [
        // Created, unchanged, changed, grown.
        "SETBIT k 7 1",
        "SETBIT k 7 1",
        "SETBIT k 7 0",
        "SETBIT k 100 0",
        "SETBIT k x 1",
        // Reads.
        "GETBIT k 7",
        "BITCOUNT k",
        "BITPOS k 1",
        "BITFIELD_RO k GET u8 0",
        "BITFIELD k GET u8 0",
        // A write that changes nothing, one that does, one FAIL refuses.
        "BITFIELD k SET u8 0 0",
        "BITFIELD k SET u8 0 5 GET u8 0",
        "BITFIELD k OVERFLOW FAIL INCRBY u8 0 300",
        // Redis creates the padded string but propagates nothing.
        "BITFIELD f OVERFLOW FAIL SET u8 0 300",
        // A result stored, a destination deleted, nothing to delete.
        "BITOP NOT d k",
        "BITOP AND d nokey",
        "BITOP AND d nokey",
    ] {
        node.run(line);
    }
    assert_eq!(
        node.stream(),
        vec![
            "SELECT 0",
            "SETBIT k 7 1",
            "SETBIT k 7 0",
            "SETBIT k 100 0",
            "BITFIELD k SET u8 0 5 GET u8 0",
            "BITOP NOT d k",
            "BITOP AND d nokey",
        ]
    );
    assert_eq!(node.run("EXISTS f"), ":1\r\n");
}
