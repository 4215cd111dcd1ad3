//! A writable replica expires the keys its own clients gave a TTL, and
//! only those, as a real Redis 7.0 replica does: a real redis-server and
//! replsim each replicate from a real Redis master that never expires keys
//! itself (DEBUG SET-ACTIVE-EXPIRE 0), and their key counts and
//! `expired_keys` must be equal. Skipped (with a note) when redis-server
//! is not installed, except in CI.

mod common;

use common::{info_field, start_redis, wait_in_sync, wait_until, Client, ReplsimProcess};
use replsim::resp::Frame;

/// What a replica at `replica` shows after its own short-lived key and a
/// short-lived key of its master's have both passed their TTL.
fn own_and_masters_keys_after_expiry(master: u16, replica: u16) -> (Frame, String, Frame) {
    let mut to_replica = Client::connect(replica);
    to_replica.cmd(&["CONFIG", "SET", "replica-read-only", "no"]);
    let mut to_master = Client::connect(master);
    to_master.cmd(&["SET", "masters", "v", "PX", "200"]);
    wait_in_sync(master, replica);
    to_replica.cmd(&["SET", "own", "v", "PX", "200"]);
    to_replica.cmd(&["SET", "own-forever", "v"]);
    wait_until(10, "the replica's own key expired", || {
        info_field(replica, "expired_keys").as_deref() == Some("1")
    });
    // Long enough for a replica that wrongly expired its master's key too.
    std::thread::sleep(std::time::Duration::from_millis(500));
    (
        to_replica.cmd(&["DBSIZE"]),
        info_field(replica, "expired_keys").unwrap_or_default(),
        // Logically expired: hidden from clients, but still there.
        to_replica.cmd(&["GET", "masters"]),
    )
}

#[test]
fn a_writable_replica_expires_its_own_keys_and_never_its_masters() {
    let master_args = ["--enable-debug-command", "yes"];
    let Some(redis_master) = start_redis("replica-expiry-master", &master_args) else {
        return;
    };
    Client::connect(redis_master.port).cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    let port = redis_master.port.to_string();
    let Some(redis_replica) = start_redis(
        "replica-expiry-replica",
        &["--replicaof", "127.0.0.1", &port],
    ) else {
        return;
    };
    let expected = own_and_masters_keys_after_expiry(redis_master.port, redis_replica.port);

    let Some(second_master) = start_redis("replica-expiry-master-2", &master_args) else {
        return;
    };
    Client::connect(second_master.port).cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    let port = second_master.port.to_string();
    let ours = ReplsimProcess::start("replica-expiry", &["--replicaof", "127.0.0.1", &port]);
    let found = own_and_masters_keys_after_expiry(second_master.port, ours.port);
    assert_eq!(found, expected);
    assert_eq!(
        expected.0,
        Frame::Integer(2),
        "the master's key and own-forever remain"
    );
}
