//! Transactions refused, differentially: a command Redis never queues
//! (SAVE, SHUTDOWN, SYNC, PSYNC) fails its transaction, and so does a
//! change of the server's state between MULTI and EXEC (here
//! `min-replicas-to-write`, set by another client), EXEC being judged by
//! what it would run, as Redis judges it; a store command touches only its
//! destination for WATCH. Skipped (with a note) when
//! redis-server is not installed, except in CI.

mod common;

use common::script::compare;

#[test]
fn an_exec_refused_for_its_writes_discards_the_transaction_as_redis_does() {
    compare(
        "exec-refused",
        r#"
        0> SET xx 1
        # a write queued, then not enough replicas: EXECABORT, nothing ran
        0> MULTI
        0> INCR xx
        1> CONFIG SET min-replicas-to-write 2
        0> EXEC
        0> GET xx
        # the transaction is over: MULTI may start again
        0> MULTI
        0> GET xx
        0> EXEC
        # reads alone are not refused
        0> MULTI
        0> GET xx
        0> PING
        0> EXEC
        0> INCR xx
        1> CONFIG SET min-replicas-to-write 0
        0> INCR xx
        "#,
    );
}

#[test]
fn commands_refused_inside_multi_fail_the_transaction_as_redis_does() {
    compare(
        "no-multi",
        r#"
        0> SET foo 1
        # SAVE, SHUTDOWN, SYNC and PSYNC are refused inside MULTI (and the
        # node does not stop), which fails the transaction
        0> MULTI
        0> SET foo 2
        0> SAVE
        0> SHUTDOWN
        0> SHUTDOWN NOSAVE
        0> SYNC
        0> PSYNC ? -1
        0> EXEC
        0> GET foo
        0> COMMAND INFO shutdown
        "#,
    );
}

#[test]
fn store_commands_touch_only_their_destination_for_watch_as_redis_does() {
    compare(
        "watch-store-destination",
        r#"
        0> ZADD src 1 a 2 b
        # The source of ZRANGESTORE is only read: a watcher of it commits
        0> WATCH src
        1> ZRANGESTORE dst src 0 -1
        0> MULTI
        0> PING
        0> EXEC
        # The destination is modified: a watcher of it fails
        0> WATCH dst
        1> ZRANGESTORE dst src 0 0
        0> MULTI
        0> PING
        0> EXEC
        # An empty selection deletes the destination: a change too
        0> WATCH dst
        1> ZRANGESTORE dst src 5 6
        0> MULTI
        0> PING
        0> EXEC
        # Nothing to delete: no change
        0> WATCH dst
        1> ZRANGESTORE dst src 5 6
        0> MULTI
        0> PING
        0> EXEC
        "#,
    );
}
