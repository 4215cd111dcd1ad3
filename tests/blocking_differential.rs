//! Blocking pops and the pops they are propagated as, differentially: the
//! same script of several clients runs against a real redis-server 7.0 and
//! against replsim, and every reply must be equal byte for byte (served
//! replies, timeouts, errors, the order two blocked clients are served
//! in). Skipped (with a note) when redis-server is not installed, except
//! in CI.

mod common;

use common::script::compare;

#[test]
fn non_blocking_multi_pops_and_moves_match_real_redis() {
    compare(
        "pops",
        r#"
        0> RPUSH l a b c d e
        0> LMPOP 1 l LEFT
        0> LMPOP 2 nosuch l RIGHT COUNT 2
        0> LMPOP 2 nosuch l LEFT COUNT 10
        0> LMPOP 1 l LEFT
        0> LMPOP 0 l LEFT
        0> LMPOP -1 l LEFT
        0> LMPOP x l LEFT
        0> LMPOP 1 l UP
        0> LMPOP 1 l LEFT COUNT 0
        0> LMPOP 1 l LEFT COUNT -2
        0> LMPOP 1 l LEFT COUNT 1 COUNT 2
        0> LMPOP 1 l LEFT EXTRA
        0> LMPOP 5 l LEFT
        0> LMPOP 1 l
        0> SET s x
        0> LMPOP 2 nosuch s LEFT
        0> ZADD z 1 a 2 b 3 c
        0> ZMPOP 1 z MIN
        0> ZMPOP 2 nosuch z MAX COUNT 5
        0> ZMPOP 1 z MIN
        0> ZMPOP 1 z FOO
        0> ZMPOP 1 s MIN
        0> ZMPOP 0 z MIN
        0> ZMPOP 1 z MIN COUNT 0
        0> RPUSH src 1 2 3
        0> LMOVE src dst LEFT RIGHT
        0> LMOVE src dst RIGHT LEFT
        0> LRANGE dst 0 -1
        0> LMOVE src src LEFT RIGHT
        0> LRANGE src 0 -1
        0> LMOVE src dst UP LEFT
        0> LMOVE nosuch dst LEFT LEFT
        0> LMOVE src s LEFT LEFT
        0> LMOVE s dst LEFT LEFT
        0> RPOPLPUSH src dst
        0> RPOPLPUSH src dst
        0> EXISTS src
        0> LRANGE dst 0 -1
        0> RPOPLPUSH nosuch dst
        0> LPUSHX nosuch a
        0> RPUSHX nosuch a
        0> EXISTS nosuch
        0> LPUSHX dst x y
        0> RPUSHX dst z
        0> LRANGE dst 0 -1
        0> LPUSHX s a
        0> LPUSHX dst
        "#,
    );
}

#[test]
fn blocking_pops_match_real_redis() {
    compare("blocking", BLOCKING_SCRIPT);
}

/// The same script from RESP3 clients: timeouts answer `_`, and scores
/// come as doubles.
#[test]
fn blocking_pops_match_real_redis_in_resp3() {
    // HELLO's own reply carries the connection id: it is skipped.
    let hello: String = (0..5)
        .map(|client| format!("{client}- CLIENT REPLY SKIP\n{client}- HELLO 3\n"))
        .collect();
    compare("blocking-resp3", &(hello + BLOCKING_SCRIPT));
}

/// Blocking pops served at once, refused, timed out, inside transactions
/// and by other clients' writes, in Redis's order.
const BLOCKING_SCRIPT: &str = r#"
        # served at once when there is data
        0> RPUSH l1 a b c
        0> BLPOP nosuch l1 0
        0> BRPOP l1 nosuch 1
        0> ZADD z 1 a 2 b 3 c
        0> BZPOPMIN nosuch z 0
        0> BZPOPMAX z 0
        0> BLMPOP 0 2 nosuch l1 RIGHT COUNT 5
        0> ZADD z 5 e 6 f
        0> BZMPOP 0 1 z MAX COUNT 2
        0> RPUSH src x y
        0> BLMOVE src dst RIGHT LEFT 0
        0> BRPOPLPUSH src dst 0
        0> LRANGE dst 0 -1
        # errors
        0> BLPOP l1 -1
        0> BLPOP l1 abc
        0> BLPOP l1 1e400
        0> BLPOP l1 inf
        0> BLPOP l1 1e5000
        0> BLPOP l1 nan
        0> BLPOP l1 " 1"
        0> BLPOP l1
        0> SET str v
        0> BLPOP str 0
        0> BZPOPMIN str 0
        0> BLMOVE src dst UP LEFT 0
        0> BLMOVE src dst LEFT LEFT x
        0> BLMPOP 0 0 l LEFT
        0> BLMPOP -1 1 l LEFT
        0> BLMPOP 0 1 l UP
        0> BZMPOP 0 1 z FOO
        0> BZMPOP x 1 z MIN
        0> BRPOPLPUSH src dst -1
        # timeouts
        0> BLPOP nothing 0.1
        0> BRPOP nothing other 0.1
        0> BLMOVE nothing dst LEFT LEFT 0.1
        0> BRPOPLPUSH nothing dst 0.1
        0> BLMPOP 0.1 1 nothing LEFT
        0> BZPOPMIN nothing 0.1
        0> BZMPOP 0.1 2 nothing other MAX
        # inside a transaction: as the non-blocking form
        0> MULTI
        0> BLPOP nothing 0
        0> BLMOVE nothing dst LEFT LEFT 0
        0> BRPOPLPUSH nothing dst 0
        0> BZPOPMAX nothing 0
        0> BLMPOP 0 1 nothing LEFT
        0> BZMPOP 0 1 nothing MIN
        0> RPUSH inmulti v
        0> BLPOP inmulti 0
        0> EXEC
        # two blocked clients are served first come, first served
        1- BLPOP q 0
        !sleep 100
        2- BLPOP other q 0
        !sleep 100
        3- BRPOP q 0
        !sleep 100
        0> RPUSH q a b
        1<
        2<
        0> INFO nothing
        0> RPUSH q c
        3<
        0> EXISTS q
        # a key made ready inside a transaction is served after EXEC
        1- BLPOP t1 t2 0
        !sleep 100
        0> MULTI
        0> RPUSH t2 from-t2
        0> RPUSH t1 from-t1
        0> LLEN t2
        0> EXEC
        1<
        0> LRANGE t1 0 -1
        0> DEL t1
        # a key emptied in the same transaction serves nobody
        1- BLPOP t3 0
        !sleep 100
        0> MULTI
        0> RPUSH t3 gone
        0> DEL t3
        0> EXEC
        0> RPUSH t3 later
        1<
        # BLMOVE served by a push; its destination serves another client
        1- BLMOVE bsrc bdst LEFT RIGHT 0
        !sleep 100
        2- BLPOP bdst 0
        !sleep 100
        0> RPUSH bsrc moved
        1<
        2<
        0> EXISTS bsrc bdst
        # a key of another type does not serve a list client
        1- BLPOP typed 0.5
        !sleep 100
        0> ZADD typed 1 m
        0> DEL typed
        1<
        # SORT ... STORE creates its destination: a list client is
        # served, a sorted-set client waiting on it is not
        1- BLPOP sorted 0
        !sleep 100
        2- BZPOPMIN zsorted 0.5
        !sleep 100
        0> RPUSH sortsrc 3 1 2
        0> SORT sortsrc STORE sorted
        1<
        0> LRANGE sorted 0 -1
        0> SORT sortsrc DESC STORE zsorted
        2<
        0> DEL zsorted
        # sorted sets
        1- BZPOPMIN zq 0
        !sleep 100
        2- BZMPOP 0 1 zq MAX COUNT 3
        !sleep 100
        0> ZADD zq 1 a 2 b 3 c 4 d
        1<
        2<
        0> ZRANGE zq 0 -1 WITHSCORES
        # BLMPOP served with a count
        1- BLMPOP 0 2 m1 m2 RIGHT COUNT 2
        !sleep 100
        0> RPUSH m2 1 2 3
        1<
        # SWAPDB makes keys of the other db ready
        1- BLPOP swapped 0
        !sleep 100
        0> SELECT 9
        0> RPUSH swapped from-db-9
        0> SWAPDB 0 9
        1<
        0> SWAPDB 0 9
        0> SELECT 0
        # a blocked client that disconnects is never served
        1- BLPOP gone 0
        2- BLPOP gone 0
        !sleep 100
        1.
        !sleep 100
        0> RPUSH gone a b
        2<
        0> LRANGE gone 0 -1
        # a blocked client's pipelined commands run once it is served
        1- BLPOP piped 0
        1- ECHO after
        !sleep 100
        0> RPUSH piped x
        1<
        1<
        # CLIENT UNBLOCK
        1- BLPOP ub 0
        !sleep 100
        0> INFO nothing
        0> CLIENT UNBLOCK {id:1}
        1<
        0> CLIENT UNBLOCK {id:1}
        1- BZPOPMIN ub 0
        !sleep 100
        0> CLIENT UNBLOCK {id:1} ERROR
        1<
        1- BLMOVE ub dst LEFT LEFT 0
        !sleep 100
        0> CLIENT UNBLOCK {id:1} TIMEOUT
        1<
        1> PING
        0> CLIENT UNBLOCK {id:0}
        0> CLIENT UNBLOCK 999999
        0> CLIENT UNBLOCK 999999 FOO
        0> CLIENT UNBLOCK abc
        0> CLIENT UNBLOCK 1 TIMEOUT extra
        0> INFO errorstats
        # a master that becomes a replica unblocks its blocked clients with
        # an error and closes them
        1- BLPOP role 0
        2- BRPOP role 0
        !sleep 100
        0> REPLICAOF 127.0.0.1 1
        1<
        1<
        2<
        2<
        0> REPLICAOF NO ONE
        "#;

/// The `rejected_calls`/`failed_calls` of BLPOP after CLIENT UNBLOCK ...
/// ERROR, and the error total.
fn unblocked_failure(port: u16) -> String {
    let mut admin = common::Client::connect(port);
    let mut blocked = common::Client::connect(port);
    admin.raw(&["CONFIG", "RESETSTAT"]);
    let id = String::from_utf8_lossy(&blocked.raw(&["CLIENT", "ID"]))
        .trim_start_matches(':')
        .trim()
        .to_string();
    blocked.send(&["BLPOP", "none", "0"]);
    common::wait_until(10, "BLPOP blocks", || {
        String::from_utf8_lossy(&admin.raw(&["INFO", "clients"])).contains("blocked_clients:1")
    });
    admin.raw(&["CLIENT", "UNBLOCK", &id, "ERROR"]);
    let reply = blocked.read_raw().expect("the unblocked reply");
    let failures = common::command_failures(&mut admin, "blpop");
    format!("{} {failures}", String::from_utf8_lossy(&reply).trim())
}

#[test]
fn a_pop_unblocked_with_an_error_counts_as_a_failed_call_as_in_redis() {
    let port = common::start_replsim(replsim::server::Config::default());
    let ours = unblocked_failure(port);
    assert!(ours.contains("failed_calls=1"), "{ours}");
    if let Some(redis) = common::start_redis("unblocked-failure", &[]) {
        assert_eq!(ours, unblocked_failure(redis.port));
    }
}
