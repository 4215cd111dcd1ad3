//! CLIENT PAUSE and UNPAUSE, differentially: the same script of several
//! clients runs against a real redis-server 7.0 and against replsim, and
//! what each client reads, and when, must be equal. Skipped (with a note)
//! when redis-server is not installed, except in CI.

mod common;

use common::script::compare;

#[test]
fn client_pause_holds_back_writes_or_everything_as_redis_does() {
    compare(
        "client-pause",
        r#"
        # arguments
        0> CLIENT PAUSE
        0> CLIENT PAUSE abc
        0> CLIENT PAUSE -1
        0> CLIENT PAUSE 1.5
        0> CLIENT PAUSE 100 FOO
        0> CLIENT PAUSE 100 WRITE extra
        0> CLIENT UNPAUSE extra
        0> CLIENT UNPAUSE
        0> CLIENT PAUSE 0
        0> PING
        # WRITE: reads go on, writes and PUBLISH wait for the unpause
        0> SET k v
        0> CLIENT PAUSE 100000 WRITE
        1> GET k
        1- SET k v2
        !sleep 100
        2> GET k
        2> PING
        3- PUBLISH ch x
        !sleep 100
        2> GET k
        0> CLIENT UNPAUSE
        1<
        3<
        2> GET k
        # a transaction: queued writes are held as they come, EXEC of reads is not
        0> CLIENT PAUSE 100000 WRITE
        1> MULTI
        1> GET k
        1> EXEC
        1> MULTI
        1- INCR counter
        !sleep 100
        2> GET counter
        0> CLIENT UNPAUSE
        1<
        1> EXEC
        # the dataset stays still: an expired key reads as missing, stays in
        # the keyspace, and goes once the pause ends
        0> SET e v PX 50
        0> CLIENT PAUSE 100000 WRITE
        !sleep 150
        1> GET e
        1> EXISTS e
        1> DBSIZE
        0> CLIENT UNPAUSE
        1> DBSIZE
        1> GET e
        1> DBSIZE
        # ALL with a timeout: every command waits for its end
        0> CLIENT PAUSE 300 ALL
        1- GET k
        2- SET k v3
        !sleep 100
        0- PING
        !sleep 400
        1<
        2<
        0<
        0> GET k
        # one pause of the more restrictive kind, to the later end
        0> CLIENT PAUSE 400 WRITE
        0> CLIENT PAUSE 100 ALL
        1- GET k
        !sleep 200
        2> PING
        !sleep 300
        1<
        "#,
    );
}
