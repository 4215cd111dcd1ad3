//! `maxmemory` on real TCP: the commands refused when over it match a real
//! redis-server 7.0 reply for reply (MULTI, EXEC, scripts and their
//! flags); every eviction policy keeps the memory within the limit, the
//! volatile ones evicting only keys with an expiry; a master's evictions
//! reach a real Redis replica as DELs, which then holds the same data;
//! access stamps follow Redis (TYPE, TTL and EXISTS leave them, TOUCH
//! renews them; the LFU counter starts at 5 and the first read raises it;
//! RESTORE's IDLETIME and FREQ set them).

mod common;

use common::script::compare;
use common::{digest, info_field, start_redis, wait_in_sync, wait_until, Client, ReplsimProcess};
use replsim::resp::Frame;

#[test]
fn commands_refused_over_maxmemory_match_redis() {
    compare(
        "maxmemory-refusals",
        r##"
        0> SET x 123
        0> CONFIG SET maxmemory 1
        # A write that may take memory is refused; a read and a delete run
        0> SET y 1
        0> GET x
        0> DEL nothing
        # Inside MULTI everything but EXEC, DISCARD, QUIT and RESET is refused
        0> MULTI
        0> GET x
        0> DISCARD
        # EXEC fails whole when it holds a command that may take memory
        1> CONFIG SET maxmemory 0
        0> MULTI
        0> SET z 1
        0> GET x
        1> CONFIG SET maxmemory 1
        0> EXEC
        0> MULTI
        0> GET x
        0> PING
        0> EXEC
        # Scripts without a shebang: the first write is refused, reads run
        0> EVAL "redis.call('set','x',1) return 1" 1 x
        0> EVAL "return redis.call('get','x')" 1 x
        0> EVAL "return redis.pcall('set','x',1)['err']" 1 x
        # With a shebang the script's flags decide before it runs
        0> EVAL "#!lua flags=\nreturn 1" 0
        0> EVAL "#!lua flags=allow-oom\nredis.call('set','x',1) return 1" 1 x
        0> EVAL "#!lua flags=no-writes\nreturn redis.call('get','x')" 0
        0> EVAL_RO "#!lua flags=no-writes\nreturn redis.call('get','x')" 1 x
        0> GET x
        0> CONFIG SET maxmemory 0
        0> SET y 2
        0> INFO errorstats
        "##,
    );
}

#[test]
fn access_stamps_follow_redis_under_an_lfu_policy() {
    compare(
        "maxmemory-lfu",
        r#"
        0> OBJECT FREQ nothing
        0> SET foo bar
        0> OBJECT FREQ foo
        0> CONFIG SET maxmemory-policy allkeys-lfu
        0> SET foo bar
        0> OBJECT FREQ foo
        0> OBJECT IDLETIME foo
        # Reads without a touch leave the counter
        0> TYPE foo
        0> TTL foo
        0> EXISTS foo
        0> OBJECT FREQ foo
        # The first read of a fresh key always raises it
        0> GET foo
        0> OBJECT FREQ foo
        # An overwrite keeps the counter
        0> SET foo baz
        0> OBJECT FREQ foo
        0> TOUCH foo nothing
        "#,
    );
}

#[test]
fn type_ttl_and_exists_leave_the_idle_time_and_touch_renews_it() {
    let server = ReplsimProcess::start("idle-time", &[]);
    let mut client = Client::connect(server.port);
    client.cmd(&["SET", "foo", "bar"]);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    for command in ["TYPE", "TTL", "EXISTS", "PTTL"] {
        client.cmd(&[command, "foo"]);
    }
    let idle = |client: &mut Client| match client.cmd(&["OBJECT", "IDLETIME", "foo"]) {
        Frame::Integer(n) => n,
        other => panic!("OBJECT IDLETIME replied {other:?}"),
    };
    assert!(idle(&mut client) >= 2, "{}", idle(&mut client));
    assert_eq!(client.cmd(&["TOUCH", "foo"]), Frame::Integer(1));
    // The clock has one-second steps: one may pass in between.
    assert!(idle(&mut client) <= 1, "{}", idle(&mut client));
}

#[test]
fn restore_sets_the_idle_time_or_the_lfu_counter_the_policy_tracks() {
    let server = ReplsimProcess::start("restore-stamps", &[]);
    let mut client = Client::connect(server.port);
    client.cmd(&["SET", "foo", "bar"]);
    let Frame::Bulk(Some(payload)) = client.cmd(&["DUMP", "foo"]) else {
        panic!("DUMP replied no payload");
    };
    let restore = |client: &mut Client, option: &str, value: &str| {
        client.cmd(&[b"DEL".as_slice(), b"foo"]);
        let reply = client.cmd(&[
            b"RESTORE".as_slice(),
            b"foo",
            b"0",
            &payload,
            option.as_bytes(),
            value.as_bytes(),
        ]);
        assert_eq!(reply, Frame::Simple("OK".into()));
    };
    restore(&mut client, "IDLETIME", "1000");
    let Frame::Integer(idle) = client.cmd(&["OBJECT", "IDLETIME", "foo"]) else {
        panic!("OBJECT IDLETIME");
    };
    assert!((1000..=1001).contains(&idle), "{idle}");
    client.cmd(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"]);
    restore(&mut client, "FREQ", "100");
    assert_eq!(client.cmd(&["OBJECT", "FREQ", "foo"]), Frame::Integer(100));
    assert_eq!(
        client.cmd(&["GET", "foo"]),
        Frame::Bulk(Some(b"bar".to_vec()))
    );
}

/// Fills a server until close to a limit 100 kB above its memory at
/// start, then writes as many keys again: the policy must keep it within
/// the limit (Redis's own test of `maxmemory`, one policy at a time).
fn fill_past_the_limit(client: &mut Client, port: u16, policy: &str, volatile: bool) -> u64 {
    let used = |port| -> u64 { info_field(port, "used_memory").unwrap().parse().unwrap() };
    client.cmd(&["FLUSHALL"]);
    let limit = used(port) + 100 * 1024;
    client.cmd(&["CONFIG", "SET", "maxmemory", &limit.to_string()]);
    client.cmd(&["CONFIG", "SET", "maxmemory-policy", policy]);
    let mut write = |n: u64| {
        let key = format!("key:{n}");
        let reply = if volatile {
            client.cmd(&["SETEX", &key, "10000", "x"])
        } else {
            client.cmd(&["SET", &key, "x"])
        };
        assert_eq!(reply, Frame::Simple("OK".into()), "{policy}: {key}");
    };
    let mut written = 0;
    while used(port) + 4096 <= limit {
        write(written);
        written += 1;
    }
    assert!(written > 10, "{policy}: only {written} keys fit");
    for n in written..2 * written {
        write(n);
    }
    let now = used(port);
    assert!(now < limit + 4096, "{policy}: {now} used, limit {limit}");
    written
}

#[test]
fn every_policy_keeps_memory_within_the_limit() {
    let server = ReplsimProcess::start("policies", &[]);
    let mut client = Client::connect(server.port);
    for policy in [
        "allkeys-random",
        "allkeys-lru",
        "allkeys-lfu",
        "volatile-lru",
        "volatile-lfu",
        "volatile-random",
        "volatile-ttl",
    ] {
        let before: u64 = info_field(server.port, "evicted_keys")
            .unwrap()
            .parse()
            .unwrap();
        fill_past_the_limit(&mut client, server.port, policy, true);
        let after: u64 = info_field(server.port, "evicted_keys")
            .unwrap()
            .parse()
            .unwrap();
        assert!(after > before, "{policy} evicted nothing");
        client.cmd(&["CONFIG", "SET", "maxmemory", "0"]);
    }
}

#[test]
fn volatile_policies_never_evict_keys_without_an_expiry() {
    let server = ReplsimProcess::start("volatile-only", &[]);
    let mut client = Client::connect(server.port);
    for policy in ["volatile-lru", "volatile-random", "volatile-ttl"] {
        client.cmd(&["FLUSHALL"]);
        let used: u64 = info_field(server.port, "used_memory")
            .unwrap()
            .parse()
            .unwrap();
        client.cmd(&[
            "CONFIG",
            "SET",
            "maxmemory",
            &(used + 50 * 1024).to_string(),
        ]);
        client.cmd(&["CONFIG", "SET", "maxmemory-policy", policy]);
        // Keys without an expiry until the policy has nothing to evict.
        let mut refused = None;
        for n in 0..100_000 {
            match client.cmd(&["SET", &format!("key:{n}"), "x"]) {
                Frame::Simple(ok) if ok == "OK" => {}
                Frame::Error(e) => {
                    refused = Some((n, e));
                    break;
                }
                other => panic!("{policy}: SET replied {other:?}"),
            }
        }
        let (written, error) = refused.expect("the limit is reached");
        assert!(error.starts_with("OOM "), "{policy}: {error}");
        assert_eq!(
            client.cmd(&["DBSIZE"]),
            Frame::Integer(written),
            "{policy} evicted a key without an expiry"
        );
        client.cmd(&["CONFIG", "SET", "maxmemory", "0"]);
    }
}

#[test]
fn a_masters_evictions_reach_a_real_redis_replica_as_dels() {
    let master = ReplsimProcess::start("evicting-master", &[]);
    let Some(replica) = start_redis(
        "evicting-master",
        &["--replicaof", "127.0.0.1", &master.port.to_string()],
    ) else {
        return;
    };
    wait_in_sync(master.port, replica.port);
    let mut client = Client::connect(master.port);
    client.cmd(&["SET", "first", "kept until evicted"]);
    let used: u64 = info_field(master.port, "used_memory")
        .unwrap()
        .parse()
        .unwrap();
    client.cmd(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"]);
    client.cmd(&[
        "CONFIG",
        "SET",
        "maxmemory",
        &(used + 200 * 1024).to_string(),
    ]);
    let value = "v".repeat(100);
    for n in 0..20_000 {
        client.cmd(&["SET", &format!("key:{n}"), &value]);
        if n % 1000 == 999 && info_field(master.port, "evicted_keys").as_deref() != Some("0") {
            break;
        }
    }
    let evicted: u64 = info_field(master.port, "evicted_keys")
        .unwrap()
        .parse()
        .unwrap();
    assert!(evicted > 0, "the master evicted nothing");
    wait_in_sync(master.port, replica.port);
    wait_until(10, "the replica's data equal to its master's", || {
        digest(master.port) == digest(replica.port)
    });
    let size = |port| Client::connect(port).cmd(&["DBSIZE"]);
    assert_eq!(size(master.port), size(replica.port));
    assert_eq!(
        info_field(replica.port, "evicted_keys").as_deref(),
        Some("0")
    );
}
