//! Clients blocked on a writable replica are served by the writes its
//! master streams, once each streamed command (a whole MULTI/EXEC) is
//! applied: a real redis-server master feeds a real replica and a replsim
//! replica, and the blocked clients of both get the same replies. Skipped
//! with a note when redis-server is not installed, except in CI.

mod common;

use std::io::Write;
use std::time::Duration;

use common::{start_redis, wait_in_sync, Client, ReplsimProcess};
use replsim::resp::encode_command;

/// Blocks two clients on `replica`, streams a transaction from `master`,
/// and returns their replies and what the replica holds then.
fn served_on_replica(master: u16, replica: u16) -> Vec<Vec<u8>> {
    let mut admin = Client::connect(replica);
    admin.raw(&["CONFIG", "SET", "replica-read-only", "no"]);
    admin.raw(&["REPLICAOF", "127.0.0.1", &master.to_string()]);
    wait_in_sync(master, replica);
    let mut first = Client::connect(replica);
    let mut second = Client::connect(replica);
    for (client, command) in [
        (&mut first, &["BLPOP", "q1", "q2", "0"][..]),
        (&mut second, &["BRPOP", "q2", "0"][..]),
    ] {
        let mut request = Vec::new();
        encode_command(&mut request, command);
        client.stream_mut().write_all(&request).unwrap();
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut writer = Client::connect(master);
    writer.raw(&["MULTI"]);
    writer.raw(&["RPUSH", "q2", "a", "b"]);
    writer.raw(&["RPUSH", "q1", "c"]);
    writer.raw(&["EXEC"]);
    let replies = vec![
        first.read_raw().expect("first served"),
        second.read_raw().expect("second served"),
    ];
    wait_in_sync(master, replica);
    let mut seen = replies;
    seen.push(admin.raw(&["LRANGE", "q1", "0", "-1"]));
    seen.push(admin.raw(&["EXISTS", "q2"]));
    seen.push(admin.raw(&["INFO", "nothing"]));
    seen
}

#[test]
fn a_transaction_from_the_master_serves_blocked_clients_once_applied() {
    let Some(master) = start_redis("blocking-interop-master", &[]) else {
        return;
    };
    let Some(real) = start_redis("blocking-interop-replica", &[]) else {
        return;
    };
    let theirs = served_on_replica(master.port, real.port);
    Client::connect(master.port).raw(&["FLUSHALL"]);
    let ours = ReplsimProcess::start("blocking-interop-replica", &[]);
    let mine = served_on_replica(master.port, ours.port);
    assert_eq!(
        theirs[0], b"*2\r\n$2\r\nq2\r\n$1\r\na\r\n",
        "redis served q2 first"
    );
    let show = |replies: &[Vec<u8>]| -> Vec<String> {
        replies
            .iter()
            .map(|r| String::from_utf8_lossy(r).into_owned())
            .collect()
    };
    assert_eq!(show(&mine), show(&theirs));
}
