//! Sentinel on real TCP: three `replsim sentinel` processes fail over real
//! redis-servers when the master is killed, and a real `redis-sentinel`
//! fails over replsim servers (which checks replsim's server side under a
//! real Sentinel: INFO, ROLE, PUBLISH/SUBSCRIBE of hellos, the failover's
//! MULTI/REPLICAOF/CONFIG REWRITE/CLIENT KILL/EXEC). Both skip when the
//! binaries are missing, and fail in CI.

mod common;

use std::time::Instant;

use common::sentinel::{within, Flavor, SentinelProcess};
use common::{info_field, start_redis, tool_available, ReplsimProcess};

/// 3 s: on a loaded 2-core machine a Sentinel (real or replsim) has been
/// seen to take over a second to reconnect to a just-promoted master and
/// get its PONG; with 1 s it then fails the new master over a second time.
fn monitor(master_port: u16, quorum: u32) -> String {
    monitor_with(master_port, quorum, 3000)
}

/// [`monitor`] with its own down-after-milliseconds.
fn monitor_with(master_port: u16, quorum: u32, down_after_ms: u64) -> String {
    format!(
        "sentinel monitor mymaster 127.0.0.1 {master_port} {quorum}\n\
         sentinel down-after-milliseconds mymaster {down_after_ms}\n\
         sentinel failover-timeout mymaster 5000\n"
    )
}

/// Waits until both replicas are linked and every Sentinel sees them and
/// the other Sentinels.
fn wait_discovered(sentinels: &[SentinelProcess], replicas: [u16; 2]) {
    let linked = within(30, || {
        replicas
            .iter()
            .all(|r| info_field(*r, "master_link_status").as_deref() == Some("up"))
    });
    assert!(linked.is_some(), "replicas never linked");
    let others = (sentinels.len() - 1).to_string();
    let found = within(30, || {
        sentinels.iter().all(|s| {
            s.master_field("mymaster", "num-slaves").as_deref() == Some("2")
                && s.master_field("mymaster", "num-other-sentinels").as_deref()
                    == Some(others.as_str())
        })
    });
    assert!(
        found.is_some(),
        "discovery: {}",
        sentinels
            .iter()
            .map(|s| s.log())
            .collect::<Vec<_>>()
            .join("\n----\n")
    );
}

/// After the master died: all Sentinels name the same new master, which
/// is one of `replicas`, and the other replica follows it. Returns the
/// promoted port and how long it took from `killed`.
fn wait_failover(
    sentinels: &[SentinelProcess],
    old: u16,
    replicas: [u16; 2],
    killed: Instant,
) -> (u16, f64) {
    let mut agreed = None;
    let done = within(60, || {
        let seen: Vec<Option<String>> = sentinels
            .iter()
            .map(|s| s.master_addr("mymaster"))
            .collect();
        let first = seen[0].clone();
        if first
            .as_deref()
            .is_some_and(|a| a != format!("127.0.0.1:{old}"))
            && seen.iter().all(|s| *s == first)
        {
            agreed = first;
            return true;
        }
        false
    });
    assert!(
        done.is_some(),
        "no agreement: {}",
        sentinels
            .iter()
            .map(|s| s.log())
            .collect::<Vec<_>>()
            .join("\n----\n")
    );
    let elapsed = killed.elapsed().as_secs_f64();
    let promoted: u16 = agreed.unwrap().rsplit(':').next().unwrap().parse().unwrap();
    assert!(
        replicas.contains(&promoted),
        "{promoted} is not one of {replicas:?}"
    );
    let other = if replicas[0] == promoted {
        replicas[1]
    } else {
        replicas[0]
    };
    let followed = within(30, || {
        info_field(promoted, "role").as_deref() == Some("master")
            && info_field(other, "master_port").as_deref() == Some(promoted.to_string().as_str())
            && info_field(other, "master_link_status").as_deref() == Some("up")
    });
    assert!(followed.is_some(), "{other} does not follow {promoted}");
    (promoted, elapsed)
}

#[test]
fn three_replsim_sentinels_fail_over_real_redis_servers() {
    let test = "three_replsim_sentinels_fail_over_real_redis_servers";
    if !tool_available(test, "redis-server") {
        return;
    }
    let Some(master) = start_redis(test, &["--repl-diskless-sync-delay", "0"]) else {
        return;
    };
    let master_port = master.port.to_string();
    let replica = [
        "--replicaof",
        "127.0.0.1",
        &master_port,
        "--repl-diskless-sync-delay",
        "0",
    ];
    let r1 = start_redis(test, &replica).unwrap();
    let r2 = start_redis(test, &replica).unwrap();
    let sentinels: Vec<SentinelProcess> = (0..3)
        .map(|i| {
            SentinelProcess::start(Flavor::Replsim, &format!("r{i}"), &monitor(master.port, 2))
        })
        .collect();
    wait_discovered(&sentinels, [r1.port, r2.port]);
    let old = master.port;
    let killed = Instant::now();
    drop(master);
    let (promoted, secs) = wait_failover(&sentinels, old, [r1.port, r2.port], killed);
    eprintln!("{test}: promoted {promoted} after {secs:.2} s");
    let switch = format!("+switch-master mymaster 127.0.0.1 {old} 127.0.0.1 {promoted}");
    let switched = within(20, || sentinels.iter().all(|s| s.log().contains(&switch)));
    let logs: Vec<String> = sentinels.iter().map(|s| s.log()).collect();
    assert!(switched.is_some(), "{}", logs.join("\n----\n"));
    let elected = logs
        .iter()
        .filter(|l| l.contains("# +elected-leader master mymaster"))
        .count();
    assert_eq!(elected, 1, "{}", logs.join("\n----\n"));
    // Each rewrote its sentinel.conf with the new master and epoch.
    for s in &sentinels {
        let conf = s.conf();
        assert!(
            conf.contains(&format!("sentinel monitor mymaster 127.0.0.1 {promoted} 2")),
            "{conf}"
        );
        assert!(conf.contains("sentinel current-epoch 1"), "{conf}");
        assert!(
            conf.contains(&format!("sentinel known-replica mymaster 127.0.0.1 {old}")),
            "{conf}"
        );
    }
}

#[test]
fn a_real_redis_sentinel_fails_over_replsim_servers() {
    let test = "a_real_redis_sentinel_fails_over_replsim_servers";
    if !tool_available(test, "redis-sentinel") {
        return;
    }
    let mut master = ReplsimProcess::start("sentinel-m", &["--repl-diskless-sync-delay", "0"]);
    let master_port = master.port.to_string();
    let replica = [
        "--replicaof",
        "127.0.0.1",
        &master_port,
        "--repl-diskless-sync-delay",
        "0",
    ];
    let r1 = ReplsimProcess::start("sentinel-r1", &replica);
    let r2 = ReplsimProcess::start("sentinel-r2", &replica);
    let sentinels = vec![SentinelProcess::start(
        Flavor::Redis,
        "real",
        &monitor(master.port, 1),
    )];
    wait_discovered(&sentinels, [r1.port, r2.port]);
    let old = master.port;
    let killed = Instant::now();
    master.stop();
    let (promoted, secs) = wait_failover(&sentinels, old, [r1.port, r2.port], killed);
    eprintln!("{test}: promoted {promoted} after {secs:.2} s");
    let ended = within(20, || {
        sentinels[0].log().contains("+switch-master mymaster")
    });
    let log = sentinels[0].log();
    assert!(ended.is_some(), "{log}");
    for event in [
        "+promoted-slave",
        "+slave-reconf-done",
        "+failover-end master mymaster",
        "+switch-master mymaster",
    ] {
        assert!(log.contains(event), "{event} missing:\n{log}");
    }
    // The old master comes back as a master and is converted.
    master.restart();
    let converted = within(40, || {
        info_field(old, "master_port").as_deref() == Some(promoted.to_string().as_str())
            && info_field(old, "master_link_status").as_deref() == Some("up")
    });
    assert!(converted.is_some(), "{}", sentinels[0].log());
}

#[test]
fn two_real_sentinels_and_a_replsim_sentinel_elect_one_leader_and_agree() {
    let test = "two_real_sentinels_and_a_replsim_sentinel_elect_one_leader_and_agree";
    if !tool_available(test, "redis-sentinel") {
        return;
    }
    let Some(master) = start_redis(test, &["--repl-diskless-sync-delay", "0"]) else {
        return;
    };
    let master_port = master.port.to_string();
    let replica = [
        "--replicaof",
        "127.0.0.1",
        &master_port,
        "--repl-diskless-sync-delay",
        "0",
    ];
    let r1 = start_redis(test, &replica).unwrap();
    let r2 = start_redis(test, &replica).unwrap();
    let sentinels = vec![
        SentinelProcess::start(Flavor::Redis, "mixed-real-1", &monitor(master.port, 2)),
        SentinelProcess::start(Flavor::Redis, "mixed-real-2", &monitor(master.port, 2)),
        SentinelProcess::start(Flavor::Replsim, "mixed-ours", &monitor(master.port, 2)),
    ];
    wait_discovered(&sentinels, [r1.port, r2.port]);
    let old = master.port;
    let killed = Instant::now();
    drop(master);
    let (promoted, secs) = wait_failover(&sentinels, old, [r1.port, r2.port], killed);
    let switch = format!("+switch-master mymaster 127.0.0.1 {old} 127.0.0.1 {promoted}");
    let switched = within(20, || sentinels.iter().all(|s| s.log().contains(&switch)));
    let logs: Vec<String> = sentinels.iter().map(|s| s.log()).collect();
    assert!(switched.is_some(), "{}", logs.join("\n----\n"));
    let leaders: Vec<usize> = (0..3)
        .filter(|i| logs[*i].contains("# +elected-leader master mymaster"))
        .collect();
    assert_eq!(leaders.len(), 1, "{}", logs.join("\n----\n"));
    let leader = if sentinels[leaders[0]].flavor == Flavor::Replsim {
        "replsim"
    } else {
        "redis"
    };
    eprintln!("{test}: {leader} Sentinel led; promoted {promoted} after {secs:.2} s");
    // Every Sentinel holds the configuration of the failover's epoch.
    for s in &sentinels {
        assert_eq!(
            s.master_field("mymaster", "config-epoch").as_deref(),
            Some("1"),
            "{}",
            s.log()
        );
    }
}

fn replsim() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_replsim"))
}

#[test]
fn a_sentinel_without_a_config_file_refuses_to_start_as_redis_does() {
    let out = replsim().arg("sentinel").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.ends_with("# Sentinel needs config file on disk to save state. Exiting...\n"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 1, "{text}");
}

#[test]
fn a_bad_sentinel_conf_line_is_reported_with_its_line_number() {
    let dir = common::fresh_dir("sentinel-bad-conf");
    let conf = dir.join("sentinel.conf");
    std::fs::write(&conf, "port 26999\nsentinel monitor m 127.0.0.1 6379 0\n").unwrap();
    let out = replsim().arg("sentinel").arg(&conf).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 2\n>>> 'sentinel monitor m 127.0.0.1 6379 0'\nQuorum must be 1 or greater.\n"
    );
    // Nothing was rewritten.
    assert_eq!(
        std::fs::read_to_string(&conf).unwrap(),
        "port 26999\nsentinel monitor m 127.0.0.1 6379 0\n"
    );
}

/// `replsim serve CONF --sentinel` and the binary started as
/// `redis-sentinel` are Sentinels too.
#[test]
fn serve_with_sentinel_and_the_redis_sentinel_name_start_a_sentinel() {
    let dir = common::fresh_dir("sentinel-names");
    let link = dir.join("redis-sentinel");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_replsim"), &link).unwrap();
    for (i, how) in ["serve", "link"].iter().enumerate() {
        let port = common::free_port();
        let conf = dir.join(format!("s{i}.conf"));
        std::fs::write(
            &conf,
            format!("port {port}\nbind 127.0.0.1\nsentinel monitor m 127.0.0.1 1 1\n"),
        )
        .unwrap();
        let mut child = if *how == "serve" {
            replsim()
                .arg("serve")
                .arg(&conf)
                .arg("--sentinel")
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        } else {
            std::process::Command::new(&link)
                .arg(&conf)
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        };
        common::wait_for_ping(port);
        let role = common::Client::connect(port).raw(&["ROLE"]);
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(role, b"*2\r\n$8\r\nsentinel\r\n*1\r\n$1\r\nm\r\n", "{how}");
        assert!(
            std::fs::read_to_string(&conf)
                .unwrap()
                .contains("sentinel myid "),
            "{how}"
        );
    }
}

/// Sentinel reads `slave_priority` from a replica's INFO to choose whom to
/// promote; replsim reports its `replica-priority` as redis-server does.
#[test]
fn a_replica_reports_its_replica_priority_in_info_as_redis_does() {
    let test = "a_replica_reports_its_replica_priority_in_info_as_redis_does";
    let Some(master) = start_redis(test, &[]) else {
        return;
    };
    let master_port = master.port.to_string();
    let real = start_redis(
        test,
        &[
            "--replicaof",
            "127.0.0.1",
            &master_port,
            "--replica-priority",
            "7",
        ],
    )
    .unwrap();
    let ours = ReplsimProcess::start(
        "priority",
        &[
            "--replicaof",
            "127.0.0.1",
            &master_port,
            "--replica-priority",
            "7",
        ],
    );
    assert_eq!(
        info_field(real.port, "slave_priority").as_deref(),
        Some("7")
    );
    assert_eq!(
        info_field(ours.port, "slave_priority").as_deref(),
        Some("7")
    );
    for port in [real.port, ours.port] {
        common::Client::connect(port).cmd(&["CONFIG", "SET", "replica-priority", "0"]);
        assert_eq!(info_field(port, "slave_priority").as_deref(), Some("0"));
    }
}
