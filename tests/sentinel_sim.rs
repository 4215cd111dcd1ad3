//! Sentinel inside madsim: three Sentinels watch a master and two
//! replicas (replsim servers on simulated hosts). When the master's host
//! dies they agree it is down, elect exactly one leader for the epoch,
//! promote a replica, re-point the other, and convert the old master into
//! a replica when it returns; all three then name the same master. A
//! Sentinel cut off alone sees SDOWN but never ODOWN, and nothing fails
//! over. The same seed gives the same events at the same times.

#![cfg(madsim)]

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use replsim::log::{SharedSimLog, SimLog};
use replsim::resp::{encode_command, Frame, FrameError};
use replsim::runtime::{MemDisk, MemStorage, SimNet, SimRuntime};
use replsim::sentinel::config::SentinelConfig;
use replsim::sentinel::{Sentinel, SentinelView};
use replsim::server::{Config, Server};

type SentinelSlot = Arc<Mutex<Option<Sentinel<SimRuntime>>>>;

const MASTER_IP: &str = "10.0.0.1";
const REPLICA_IPS: [&str; 2] = ["10.0.0.2", "10.0.0.3"];
const SENTINEL_IPS: [&str; 3] = ["10.0.0.11", "10.0.0.12", "10.0.0.13"];

fn add_host(net: &SimNet, name: &str, ip: &str) -> IpAddr {
    let ip: IpAddr = ip.parse().unwrap();
    net.add_node(ip, name);
    madsim::net::NetSim::current().add_dns_record(name, ip);
    ip
}

#[allow(clippy::too_many_arguments)]
fn spawn_server(
    handle: &madsim::runtime::Handle,
    net: &Arc<SimNet>,
    log: &SharedSimLog,
    name: &str,
    ip: &str,
    replicaof: Option<&str>,
    seed: u64,
    extra: &[(&str, &str)],
) -> madsim::runtime::NodeHandle {
    let extra: Vec<(String, String)> = extra
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let ip_addr = add_host(net, name, ip);
    let (name, net, log) = (name.to_string(), net.clone(), log.clone());
    let replicaof = replicaof.map(|m| (m.to_string(), 6379));
    let lives = Arc::new(std::sync::atomic::AtomicU64::new(0));
    handle
        .create_node()
        .name(&name)
        .ip(ip_addr)
        .init(move || {
            let life = lives.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let logger = Arc::new(SimLog::new(
                name.clone(),
                log.clone(),
                SimRuntime::elapsed_ms,
            ));
            let runtime = SimRuntime::new(
                &name,
                seed * 1000 + life,
                Arc::new(MemStorage::default()),
                logger,
                net.clone(),
            );
            let mut config = Config {
                bind: "0.0.0.0".into(),
                port: 6379,
                replicaof: replicaof.clone(),
                repl_diskless_sync_delay: 0,
                ..Config::default()
            };
            for (name, value) in &extra {
                config.set_startup(name, value).unwrap();
            }
            async move {
                Server::new(runtime, config).run().await.unwrap();
            }
        })
        .build()
}

fn spawn_sentinel(
    handle: &madsim::runtime::Handle,
    net: &Arc<SimNet>,
    log: &SharedSimLog,
    name: &str,
    ip: &str,
    seed: u64,
) -> (SentinelSlot, madsim::runtime::NodeHandle) {
    let ip_addr = add_host(net, name, ip);
    let slot: SentinelSlot = Arc::default();
    let (name, net, log, task_slot) = (name.to_string(), net.clone(), log.clone(), slot.clone());
    // The Sentinel's disk outlives its process, as a host's would.
    let disk: Arc<Mutex<MemDisk>> = Arc::default();
    let node = handle
        .create_node()
        .name(&name)
        .ip(ip_addr)
        .init(move || {
            let logger = Arc::new(SimLog::new(
                name.clone(),
                log.clone(),
                SimRuntime::elapsed_ms,
            ));
            let runtime = SimRuntime::new(
                &name,
                seed,
                Arc::new(MemStorage::new(disk.clone())),
                logger,
                net.clone(),
            );
            let mut config = SentinelConfig {
                port: 26379,
                ..SentinelConfig::default()
            };
            config
                .apply(&format!(
                    "sentinel monitor mymaster {MASTER_IP} 6379 2\n\
                     sentinel down-after-milliseconds mymaster 1000\n\
                     sentinel failover-timeout mymaster 5000\n"
                ))
                .unwrap();
            let sentinel = Sentinel::new(runtime, config);
            *task_slot.lock().unwrap() = Some(sentinel.clone());
            async move {
                sentinel.run().await.unwrap();
            }
        })
        .build();
    (slot, node)
}

/// One command to `ip:port` on a fresh connection; the reply frame.
async fn ask(ip: &str, port: u16, args: &[&str]) -> Option<Frame> {
    let connect = madsim::net::TcpStream::connect((ip, port));
    let mut stream = madsim::time::timeout(Duration::from_millis(500), connect)
        .await
        .ok()?
        .ok()?;
    let mut request = Vec::new();
    encode_command(&mut request, args);
    stream.write_all(&request).await.ok()?;
    stream.flush().await.ok()?;
    let mut buffer = Vec::new();
    let read = async {
        loop {
            match Frame::parse(&buffer) {
                Ok((frame, _)) => return Some(frame),
                Err(FrameError::Incomplete) => {}
                Err(_) => return None,
            }
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buffer.extend_from_slice(&chunk[..n]);
        }
    };
    madsim::time::timeout(Duration::from_millis(500), read)
        .await
        .ok()?
}

async fn master_addr(sentinel_ip: &str) -> Option<String> {
    match ask(
        sentinel_ip,
        26379,
        &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster"],
    )
    .await?
    {
        Frame::Array(Some(items)) => match &items[..] {
            [Frame::Bulk(Some(host)), Frame::Bulk(Some(port))] => Some(format!(
                "{}:{}",
                String::from_utf8_lossy(host),
                String::from_utf8_lossy(port)
            )),
            _ => None,
        },
        _ => None,
    }
}

async fn info_field(ip: &str, field: &str) -> Option<String> {
    let Frame::Bulk(Some(text)) = ask(ip, 6379, &["INFO", "replication"]).await? else {
        return None;
    };
    let text = String::from_utf8_lossy(&text).into_owned();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .map(|v| v.trim().to_string())
}

fn views(slots: &[SentinelSlot]) -> Vec<SentinelView> {
    slots
        .iter()
        .map(|s| s.lock().unwrap().as_ref().expect("sentinel started").view())
        .collect()
}

/// What a failover run leaves: each Sentinel's view, the sim time the
/// failover took (master death to all three naming the new master), and
/// the whole log.
struct FailoverRun {
    views: Vec<SentinelView>,
    failover_ms: u64,
    promoted: String,
    log: Vec<String>,
}

/// How the master is lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// Its host loses power; it restarts empty later.
    Crash,
    /// A partition cuts it from every other host; it heals later and the
    /// old master, still a master with its data, rejoins.
    Partition,
}

/// Black-holes (or, `cut` false, restores) every link between m and the
/// `others` hosts, both ways.
fn cut_master_off(
    net: &SimNet,
    master: madsim::task::NodeId,
    others: &[(madsim::task::NodeId, String)],
    cut: bool,
) {
    let sim = madsim::net::NetSim::current();
    for (id, name) in others {
        if cut {
            sim.clog_link(master, *id);
            sim.clog_link(*id, master);
            net.silence_link("m", name);
            net.silence_link(name, "m");
        } else {
            sim.unclog_link(master, *id);
            sim.unclog_link(*id, master);
            net.unsilence_link("m", name);
            net.unsilence_link(name, "m");
        }
    }
}

fn failover_run(seed: u64, fault: Fault) -> FailoverRun {
    failover_run_with(seed, fault, &[])
}

/// [`failover_run`] with `r2_config` applied to the second replica.
fn failover_run_with(
    seed: u64,
    fault: Fault,
    r2_config: &'static [(&'static str, &'static str)],
) -> FailoverRun {
    std::thread::spawn(move || {
        let runtime =
            madsim::runtime::Runtime::with_seed_and_config(seed, madsim::Config::default());
        runtime.block_on(async move {
            let handle = madsim::runtime::Handle::current();
            let net: Arc<SimNet> = Arc::default();
            let log: SharedSimLog = Arc::default();
            let master = spawn_server(&handle, &net, &log, "m", MASTER_IP, None, 1, &[]);
            let mut others = Vec::new();
            for (i, ip) in REPLICA_IPS.iter().enumerate() {
                let name = format!("r{}", i + 1);
                let extra = if i == 1 { r2_config } else { &[] };
                let node = spawn_server(
                    &handle,
                    &net,
                    &log,
                    &name,
                    ip,
                    Some(MASTER_IP),
                    2 + i as u64,
                    extra,
                );
                others.push((node.id(), name));
            }
            let slots: Vec<SentinelSlot> = SENTINEL_IPS
                .iter()
                .enumerate()
                .map(|(i, ip)| {
                    let name = format!("s{}", i + 1);
                    let (slot, node) =
                        spawn_sentinel(&handle, &net, &log, &name, ip, 10 + i as u64);
                    others.push((node.id(), name));
                    slot
                })
                .collect();
            let client = handle
                .create_node()
                .name("client")
                .ip("10.0.0.9".parse().unwrap())
                .build();
            let (net2, slots2) = (net.clone(), slots.clone());
            let master_id = master.id();
            client
                .spawn(async move {
                    // Discovery: hellos every 2 s, INFO every 10 s.
                    madsim::time::sleep(Duration::from_secs(12)).await;
                    for view in views(&slots2) {
                        let m = &view.masters[0];
                        assert_eq!(m.replicas.len(), 2, "{view:#?}");
                        assert_eq!(m.sentinels.len(), 2, "{view:#?}");
                        assert_eq!(format!("{}:{}", m.host, m.port), "10.0.0.1:6379");
                    }
                    let start = madsim::time::Instant::now();
                    match fault {
                        Fault::Crash => {
                            net2.power_off("m");
                            madsim::runtime::Handle::current().kill(master_id);
                        }
                        Fault::Partition => cut_master_off(&net2, master_id, &others, true),
                    }
                    let mut agreed = None;
                    for _ in 0..600 {
                        madsim::time::sleep(Duration::from_millis(100)).await;
                        let mut seen = Vec::new();
                        for ip in SENTINEL_IPS {
                            seen.push(master_addr(ip).await);
                        }
                        let first = seen[0].clone();
                        if first.as_deref().is_some_and(|a| a != "10.0.0.1:6379")
                            && seen.iter().all(|s| *s == first)
                        {
                            agreed = first;
                            break;
                        }
                    }
                    let promoted = agreed.expect("the Sentinels agree on a new master within 60 s");
                    let failover_ms = start.elapsed().as_millis() as u64;
                    let promoted_ip = promoted.split(':').next().unwrap().to_string();
                    assert!(REPLICA_IPS.contains(&promoted_ip.as_str()), "{promoted}");
                    // The promoted replica is a master; the other follows it.
                    let other_ip = REPLICA_IPS.iter().find(|ip| **ip != promoted_ip).unwrap();
                    let mut followed = false;
                    for _ in 0..300 {
                        if info_field(&promoted_ip, "role").await.as_deref() == Some("master")
                            && info_field(other_ip, "master_host").await.as_deref()
                                == Some(promoted_ip.as_str())
                            && info_field(other_ip, "master_link_status").await.as_deref()
                                == Some("up")
                        {
                            followed = true;
                            break;
                        }
                        madsim::time::sleep(Duration::from_millis(100)).await;
                    }
                    assert!(followed, "the other replica follows {promoted_ip}");
                    // The old master comes back (empty, as a master) and is
                    // turned into a replica of the new one.
                    match fault {
                        Fault::Crash => {
                            net2.power_on("m");
                            madsim::runtime::Handle::current().restart(master_id);
                        }
                        Fault::Partition => cut_master_off(&net2, master_id, &others, false),
                    }
                    let mut converted = false;
                    for _ in 0..400 {
                        madsim::time::sleep(Duration::from_millis(100)).await;
                        if info_field(MASTER_IP, "master_host").await.as_deref()
                            == Some(promoted_ip.as_str())
                            && info_field(MASTER_IP, "master_link_status").await.as_deref()
                                == Some("up")
                        {
                            converted = true;
                            break;
                        }
                    }
                    assert!(converted, "the old master replicates from {promoted_ip}");
                    madsim::time::sleep(Duration::from_secs(3)).await;
                    (failover_ms, promoted)
                })
                .await
                .map(|(failover_ms, promoted)| FailoverRun {
                    views: views(&slots),
                    failover_ms,
                    promoted,
                    log: log.lock().unwrap().iter().map(|l| l.to_string()).collect(),
                })
                .unwrap()
        })
    })
    .join()
    .unwrap()
}

fn events_of(view: &SentinelView, kind: &str) -> Vec<String> {
    view.events
        .iter()
        .filter(|e| e.kind == kind)
        .map(|e| e.message.clone())
        .collect()
}

#[test]
fn three_sentinels_fail_over_a_dead_master_and_agree_on_the_promoted_replica() {
    let run = failover_run(7, Fault::Crash);
    check_failover(&run);
}

/// The checks every failover run must pass.
fn check_failover(run: &FailoverRun) {
    eprintln!(
        "failover took {} ms of simulated time, promoted {}",
        run.failover_ms, run.promoted
    );
    if std::env::var("SENTINEL_SIM_LOG").is_ok() {
        eprintln!("{}", run.log.join("\n"));
    }
    let (promoted_ip, promoted_port) = run.promoted.split_once(':').unwrap();
    // Exactly one Sentinel was elected, for one epoch.
    let elected: Vec<(usize, String)> = run
        .views
        .iter()
        .enumerate()
        .flat_map(|(i, v)| {
            events_of(v, "+elected-leader")
                .into_iter()
                .map(move |e| (i, e))
        })
        .collect();
    assert_eq!(elected.len(), 1, "{elected:?}\n{}", run.log.join("\n"));
    let leader = &run.views[elected[0].0];
    let epoch = leader.current_epoch;
    // It had the votes of a majority for that epoch, and nobody voted
    // twice in an epoch.
    let votes_for_leader = run
        .views
        .iter()
        .filter(|v| {
            v.votes
                .iter()
                .any(|vote| vote.epoch == epoch && vote.leader == leader.myid)
        })
        .count();
    assert!(
        votes_for_leader >= 2,
        "{:#?}",
        run.views.iter().map(|v| &v.votes).collect::<Vec<_>>()
    );
    for view in &run.views {
        let mut epochs: Vec<u64> = view.votes.iter().map(|v| v.epoch).collect();
        let before = epochs.len();
        epochs.dedup();
        assert_eq!(before, epochs.len(), "one vote per epoch: {:?}", view.votes);
    }
    // The leader walked through Redis's failover states, in order.
    let kinds: Vec<&str> = leader.events.iter().map(|e| e.kind.as_str()).collect();
    let order = [
        "+sdown",
        "+odown",
        "+new-epoch",
        "+try-failover",
        "+vote-for-leader",
        "+elected-leader",
        "+failover-state-select-slave",
        "+selected-slave",
        "+failover-state-send-slaveof-noone",
        "+failover-state-wait-promotion",
        "+promoted-slave",
        "+failover-state-reconf-slaves",
        "+slave-reconf-sent",
        "+slave-reconf-inprog",
        "+slave-reconf-done",
        "+failover-end",
        "+switch-master",
    ];
    let mut at = 0;
    for kind in order {
        let found = kinds[at..].iter().position(|k| *k == kind);
        assert!(
            found.is_some(),
            "{kind} after {:?} in {kinds:?}",
            kinds.get(at)
        );
        at += found.unwrap() + 1;
    }
    assert_eq!(
        events_of(leader, "+switch-master"),
        vec![format!(
            "mymaster 10.0.0.1 6379 {promoted_ip} {promoted_port}"
        )]
    );
    assert!(
        events_of(leader, "+selected-slave")[0]
            .starts_with(&format!("slave {promoted_ip}:{promoted_port} {promoted_ip} {promoted_port} @ mymaster 10.0.0.1 6379")),
        "{:?}",
        events_of(leader, "+selected-slave")
    );
    // The others learned the new configuration from the leader's hellos.
    for view in &run.views {
        assert_eq!(view.current_epoch, epoch);
        let m = &view.masters[0];
        assert_eq!(
            (m.host.as_str(), m.port.to_string()),
            (promoted_ip, promoted_port.to_string())
        );
        assert_eq!(m.config_epoch, epoch);
        if view.myid != leader.myid {
            assert_eq!(
                events_of(view, "+config-update-from").len(),
                1,
                "{:?}",
                view.events
            );
        }
        // The old master is now one of its replicas.
        assert!(
            m.replicas.contains(&("10.0.0.1".to_string(), 6379)),
            "{m:?}"
        );
    }
    let converted = run
        .views
        .iter()
        .map(|v| events_of(v, "+convert-to-slave").len())
        .sum::<usize>();
    assert!(converted >= 1, "{}", run.log.join("\n"));
    // Sentinel logs read like Redis's.
    assert!(
        run.log
            .iter()
            .any(|l| l.contains("# +switch-master mymaster 10.0.0.1 6379")),
        "{}",
        run.log.join("\n")
    );
}

#[test]
fn the_same_seed_gives_the_same_sentinel_events_at_the_same_times() {
    let first = failover_run(11, Fault::Crash);
    let second = failover_run(11, Fault::Crash);
    let timeline = |run: &FailoverRun| -> Vec<String> {
        run.views
            .iter()
            .flat_map(|v| {
                v.events
                    .iter()
                    .map(move |e| format!("{} {} {} {}", v.myid, e.time_ms, e.kind, e.message))
            })
            .collect()
    };
    assert_eq!(timeline(&first), timeline(&second));
    assert_eq!(first.log, second.log);
    assert_eq!(first.failover_ms, second.failover_ms);
}

#[test]
fn a_sentinel_cut_off_alone_sees_sdown_but_no_odown_and_nothing_fails_over() {
    std::thread::spawn(|| {
        let runtime = madsim::runtime::Runtime::with_seed_and_config(3, madsim::Config::default());
        runtime.block_on(async move {
            let handle = madsim::runtime::Handle::current();
            let net: Arc<SimNet> = Arc::default();
            let log: SharedSimLog = Arc::default();
            let mut others =
                vec![spawn_server(&handle, &net, &log, "m", MASTER_IP, None, 1, &[]).id()];
            for (i, ip) in REPLICA_IPS.iter().enumerate() {
                others.push(
                    spawn_server(
                        &handle,
                        &net,
                        &log,
                        &format!("r{}", i + 1),
                        ip,
                        Some(MASTER_IP),
                        2 + i as u64,
                        &[],
                    )
                    .id(),
                );
            }
            let (slots, nodes): (Vec<SentinelSlot>, Vec<madsim::runtime::NodeHandle>) =
                SENTINEL_IPS
                    .iter()
                    .enumerate()
                    .map(|(i, ip)| {
                        spawn_sentinel(
                            &handle,
                            &net,
                            &log,
                            &format!("s{}", i + 1),
                            ip,
                            10 + i as u64,
                        )
                    })
                    .unzip();
            others.extend(nodes[1..].iter().map(|n| n.id()));
            madsim::time::sleep(Duration::from_secs(12)).await;
            // s1 is partitioned from every other host, both ways.
            let sim = madsim::net::NetSim::current();
            for (other, name) in others.iter().zip(["m", "r1", "r2", "s2", "s3"]) {
                sim.clog_link(nodes[0].id(), *other);
                sim.clog_link(*other, nodes[0].id());
                net.silence_link("s1", name);
                net.silence_link(name, "s1");
            }
            madsim::time::sleep(Duration::from_secs(20)).await;
            let all = views(&slots);
            let alone = &all[0];
            assert_eq!(
                events_of(alone, "+sdown")
                    .iter()
                    .filter(|e| e.starts_with("master"))
                    .count(),
                1,
                "{:?}",
                alone.events
            );
            assert!(events_of(alone, "+odown").is_empty(), "{:?}", alone.events);
            assert!(events_of(alone, "+elected-leader").is_empty());
            for view in &all {
                assert!(
                    events_of(view, "+switch-master").is_empty(),
                    "{:?}",
                    view.events
                );
                assert_eq!(view.masters[0].host, MASTER_IP);
            }
            for view in &all[1..] {
                assert!(
                    events_of(view, "+sdown")
                        .iter()
                        .all(|e| !e.starts_with("master")),
                    "{:?}",
                    view.events
                );
            }
        });
    })
    .join()
    .unwrap();
}

#[test]
fn a_partitioned_master_is_replaced_and_rejoins_as_a_replica_when_the_partition_heals() {
    let run = failover_run(5, Fault::Partition);
    eprintln!(
        "partition: failover took {} ms of simulated time, promoted {}",
        run.failover_ms, run.promoted
    );
    check_failover(&run);
}

#[test]
fn failovers_hold_their_rules_over_many_seeds() {
    for seed in 100..116 {
        for fault in [Fault::Crash, Fault::Partition] {
            let run = failover_run(seed, fault);
            check_failover(&run);
        }
    }
}

#[test]
fn a_replica_with_priority_zero_is_never_promoted() {
    for seed in [7, 100, 101] {
        let run = failover_run_with(seed, Fault::Crash, &[("replica-priority", "0")]);
        assert_eq!(run.promoted, "10.0.0.2:6379");
        check_failover(&run);
    }
}

#[test]
fn the_replica_with_the_lower_priority_is_promoted_first() {
    let run = failover_run_with(3, Fault::Crash, &[("replica-priority", "10")]);
    assert_eq!(run.promoted, "10.0.0.3:6379");
    let run = failover_run_with(3, Fault::Crash, &[("replica-priority", "200")]);
    assert_eq!(run.promoted, "10.0.0.2:6379");
}

#[test]
fn a_restarted_sentinel_keeps_its_id_epoch_and_the_new_master() {
    std::thread::spawn(|| {
        let runtime = madsim::runtime::Runtime::with_seed_and_config(9, madsim::Config::default());
        runtime.block_on(async move {
            let handle = madsim::runtime::Handle::current();
            let net: Arc<SimNet> = Arc::default();
            let log: SharedSimLog = Arc::default();
            let master = spawn_server(&handle, &net, &log, "m", MASTER_IP, None, 1, &[]);
            for (i, ip) in REPLICA_IPS.iter().enumerate() {
                spawn_server(
                    &handle,
                    &net,
                    &log,
                    &format!("r{}", i + 1),
                    ip,
                    Some(MASTER_IP),
                    2 + i as u64,
                    &[],
                );
            }
            let (slots, nodes): (Vec<SentinelSlot>, Vec<madsim::runtime::NodeHandle>) =
                SENTINEL_IPS
                    .iter()
                    .enumerate()
                    .map(|(i, ip)| {
                        spawn_sentinel(
                            &handle,
                            &net,
                            &log,
                            &format!("s{}", i + 1),
                            ip,
                            10 + i as u64,
                        )
                    })
                    .unzip();
            madsim::time::sleep(Duration::from_secs(12)).await;
            net.power_off("m");
            handle.kill(master.id());
            madsim::time::sleep(Duration::from_secs(20)).await;
            let before = views(&slots)[0].clone();
            assert_eq!(before.current_epoch, 1, "{:?}", before.events);
            assert_ne!(before.masters[0].host, MASTER_IP);
            handle.kill(nodes[0].id());
            *slots[0].lock().unwrap() = None;
            handle.restart(nodes[0].id());
            madsim::time::sleep(Duration::from_secs(5)).await;
            let after = views(&slots)[0].clone();
            assert_eq!(after.myid, before.myid);
            assert_eq!(after.current_epoch, 1);
            let (was, is) = (&before.masters[0], &after.masters[0]);
            assert_eq!(
                (&is.host, is.port, is.config_epoch),
                (&was.host, was.port, 1)
            );
            assert_eq!(is.sentinels, was.sentinels);
            assert!(
                is.replicas.contains(&(MASTER_IP.to_string(), 6379)),
                "{is:?}"
            );
            assert_eq!(
                after.events[0].message,
                format!("master mymaster {} 6379 quorum 2", was.host)
            );
        });
    })
    .join()
    .unwrap();
}

#[test]
fn sentinel_failover_switches_a_healthy_master_without_asking_the_others() {
    std::thread::spawn(|| {
        let runtime = madsim::runtime::Runtime::with_seed_and_config(4, madsim::Config::default());
        runtime.block_on(async move {
            let handle = madsim::runtime::Handle::current();
            let net: Arc<SimNet> = Arc::default();
            let log: SharedSimLog = Arc::default();
            spawn_server(&handle, &net, &log, "m", MASTER_IP, None, 1, &[]);
            for (i, ip) in REPLICA_IPS.iter().enumerate() {
                spawn_server(
                    &handle,
                    &net,
                    &log,
                    &format!("r{}", i + 1),
                    ip,
                    Some(MASTER_IP),
                    2 + i as u64,
                    &[],
                );
            }
            let slots: Vec<SentinelSlot> = SENTINEL_IPS
                .iter()
                .enumerate()
                .map(|(i, ip)| {
                    spawn_sentinel(
                        &handle,
                        &net,
                        &log,
                        &format!("s{}", i + 1),
                        ip,
                        10 + i as u64,
                    )
                    .0
                })
                .collect();
            let client = handle
                .create_node()
                .name("client")
                .ip("10.0.0.9".parse().unwrap())
                .build();
            client
                .spawn(async move {
                    madsim::time::sleep(Duration::from_secs(12)).await;
                    let reply = ask(
                        SENTINEL_IPS[1],
                        26379,
                        &["SENTINEL", "FAILOVER", "mymaster"],
                    )
                    .await;
                    assert_eq!(reply, Some(Frame::Simple("OK".into())));
                    let again = ask(
                        SENTINEL_IPS[1],
                        26379,
                        &["SENTINEL", "FAILOVER", "mymaster"],
                    )
                    .await;
                    assert_eq!(
                        again,
                        Some(Frame::Error("INPROG Failover already in progress".into()))
                    );
                    // All three end up naming a replica, and the old master,
                    // alive all along, is turned into its replica.
                    let mut converted = false;
                    for _ in 0..400 {
                        madsim::time::sleep(Duration::from_millis(100)).await;
                        let mut seen = Vec::new();
                        for ip in SENTINEL_IPS {
                            seen.push(master_addr(ip).await);
                        }
                        let agreed = seen.iter().all(|s| *s == seen[0])
                            && seen[0].as_deref().is_some_and(|a| a != "10.0.0.1:6379");
                        let promoted = seen[0].clone().unwrap_or_default();
                        let promoted_ip =
                            promoted.split(':').next().unwrap_or_default().to_string();
                        if agreed
                            && info_field(MASTER_IP, "master_host").await.as_deref()
                                == Some(promoted_ip.as_str())
                            && info_field(MASTER_IP, "master_link_status").await.as_deref()
                                == Some("up")
                        {
                            converted = true;
                            break;
                        }
                    }
                    assert!(converted, "the old master follows the promoted replica");
                })
                .await
                .unwrap();
            let all = views(&slots);
            let forced = &all[1];
            // Only the forced Sentinel voted, for itself, as Redis's
            // WAIT_START always counts its own vote; nobody was asked.
            assert_eq!(forced.votes.len(), 1, "{:?}", forced.votes);
            assert_eq!(
                (forced.votes[0].epoch, &forced.votes[0].leader),
                (1, &forced.myid)
            );
            for (i, view) in all.iter().enumerate() {
                if i != 1 {
                    assert!(view.votes.is_empty(), "{:?}", view.votes);
                }
            }
            let kinds: Vec<&str> = forced.events.iter().map(|e| e.kind.as_str()).collect();
            for kind in [
                "+new-epoch",
                "+try-failover",
                "+failover-state-select-slave",
                "+promoted-slave",
                "+failover-end",
                "+switch-master",
            ] {
                assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
            }
            for view in &all {
                assert_eq!(view.current_epoch, 1);
                assert!(events_of(view, "+odown").is_empty(), "{:?}", view.events);
            }
        });
    })
    .join()
    .unwrap();
}
