//! MIGRATE against a real redis-server 7.0: the same commands run with a
//! real Redis and with replsim as the source, each with its own real Redis
//! target, and every reply (the source's and the target's) must be equal:
//! moving and copying keys with their TTLs, REPLACE, KEYS, AUTH and AUTH2,
//! a target's errors, IOERR for a target that is not there or too slow,
//! +NOKEY and the argument errors. A migration reaches the source's
//! replicas as a DEL of the moved keys. Skipped (with a note) when
//! redis-server is not installed, except in CI.

mod common;

use common::{start_redis, start_replsim, wait_in_sync, Client, RedisServer};
use replsim::resp::Frame;
use replsim::server::Config;

/// Runs the steps with `source` migrating to `target` (and `locked`, a
/// target with a password); `T` and `L` in an argument stand for their
/// ports. Returns every reply, each tagged with its step.
fn run(source: u16, target: &RedisServer, locked: &RedisServer) -> Vec<String> {
    let mut from = Client::connect(source);
    let mut to = Client::connect(target.port);
    let (t, l) = (target.port.to_string(), locked.port.to_string());
    let steps: &[(&str, &str)] = &[
        ("s", "SET k v"),
        ("s", "PEXPIRE k 100000"),
        ("s", "MIGRATE 127.0.0.1 T k 0 5000"),
        ("s", "EXISTS k"),
        ("t", "GET k"),
        ("s", "MIGRATE 127.0.0.1 T k 0 5000"),
        // The target has it: BUSYKEY, and the key stays here.
        ("s", "SET k v2"),
        ("s", "MIGRATE 127.0.0.1 T k 0 5000"),
        ("s", "GET k"),
        ("s", "MIGRATE 127.0.0.1 T k 0 5000 COPY REPLACE"),
        ("s", "GET k"),
        ("t", "GET k"),
        ("t", "TTL k"),
        // Several keys into another db, a missing one skipped.
        ("s", "RPUSH list a b c"),
        ("s", "HSET hash f v"),
        (
            "s",
            "MIGRATE 127.0.0.1 T \"\" 3 5000 KEYS list nothing hash",
        ),
        ("s", "EXISTS list hash"),
        ("t", "SELECT 3"),
        ("t", "LRANGE list 0 -1"),
        ("t", "HGETALL hash"),
        ("s", "MIGRATE 127.0.0.1 T \"\" 3 5000 KEYS nothing"),
        // One of two refused: the other moves, the error is the reply.
        ("s", "SET list x"),
        ("s", "SET fresh y"),
        ("s", "MIGRATE 127.0.0.1 T \"\" 3 5000 KEYS list fresh"),
        ("s", "EXISTS list fresh"),
        // Passwords.
        ("s", "SET secret 1"),
        ("s", "MIGRATE 127.0.0.1 L secret 0 5000"),
        ("s", "MIGRATE 127.0.0.1 L secret 0 5000 AUTH wrong"),
        ("s", "MIGRATE 127.0.0.1 L secret 0 5000 AUTH2 default pw"),
        ("s", "EXISTS secret"),
        // Errors.
        ("s", "MIGRATE 127.0.0.1 T k 0 5000 KEYS a"),
        ("s", "MIGRATE 127.0.0.1 T k x 5000"),
        ("s", "MIGRATE 127.0.0.1 T k 0 y"),
        ("s", "MIGRATE 127.0.0.1 T k 0 5000 BOGUS"),
        ("s", "MIGRATE 127.0.0.1 T k 0 5000 AUTH"),
        ("s", "MIGRATE 127.0.0.1 T nothing 0 5000"),
        ("s", "MIGRATE 127.0.0.1 1 k 0 500"),
        // A target too slow for the timeout.
        ("t", "SELECT 0"),
        ("t", "DEL k"),
        ("s", "MIGRATE 127.0.0.1 T k 0 300"),
    ];
    let mut replies = Vec::new();
    for (who, step) in steps {
        let line = step
            .replace(" T ", &format!(" {t} "))
            .replace(" L ", &format!(" {l} "));
        let mut bytes = Vec::new();
        let mut ranges = Vec::new();
        assert!(replsim::resp::split_inline_args(
            line.as_bytes(),
            &mut bytes,
            &mut ranges
        ));
        let args: Vec<&[u8]> = ranges.iter().map(|&(s, e)| &bytes[s..e]).collect();
        if step.ends_with(" 300") {
            // The target sleeps through the timeout.
            to.send(&["DEBUG", "SLEEP", "1"]);
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let client = if *who == "s" { &mut from } else { &mut to };
        let reply = client.cmd(&args);
        replies.push(format!("{step} -> {reply:?}"));
    }
    replies
}

#[test]
fn migrate_moves_keys_as_redis_does() {
    let targets = |name: &str| {
        let target = start_redis(name, &["--enable-debug-command", "yes"])?;
        let locked = start_redis(&format!("{name}-locked"), &["--requirepass", "pw"])?;
        Some((target, locked))
    };
    let Some((redis_target, redis_locked)) = targets("migrate-redis") else {
        return;
    };
    let Some(redis) = start_redis("migrate-source", &[]) else {
        return;
    };
    let Some((our_target, our_locked)) = targets("migrate-replsim") else {
        return;
    };
    let ours = start_replsim(Config::default());
    let expected = run(redis.port, &redis_target, &redis_locked);
    let found = run(ours, &our_target, &our_locked);
    let differences: Vec<String> = expected
        .iter()
        .zip(&found)
        .filter(|(a, b)| a != b)
        .map(|(a, b)| format!("redis:   {a}\nreplsim: {b}"))
        .collect();
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

#[test]
fn a_migration_reaches_replicas_as_a_del_of_the_moved_keys() {
    let Some(target) = start_redis("migrate-propagation-target", &[]) else {
        return;
    };
    let master = start_replsim(Config::default());
    let Some(replica) = start_redis(
        "migrate-propagation-replica",
        &["--replicaof", "127.0.0.1", &master.to_string()],
    ) else {
        return;
    };
    wait_in_sync(master, replica.port);
    let mut client = Client::connect(master);
    client.cmd(&["MSET", "a", "1", "b", "2", "c", "3"]);
    let port = target.port.to_string();
    let reply = client.cmd(&[
        "MIGRATE",
        "127.0.0.1",
        &port,
        "",
        "0",
        "5000",
        "KEYS",
        "a",
        "b",
    ]);
    assert_eq!(reply, Frame::Simple("OK".into()));
    wait_in_sync(master, replica.port);
    let mut replica_client = Client::connect(replica.port);
    assert_eq!(
        replica_client.cmd(&["EXISTS", "a", "b", "c"]),
        Frame::Integer(1)
    );
    assert_eq!(
        Client::connect(target.port).cmd(&["EXISTS", "a", "b"]),
        Frame::Integer(2)
    );
}
