//! Draws a whole run from one seed, as an ordinary scenario document.
//!
//! Each part of a run has its own RNG stream derived from the seed
//! (topology, configuration, workload, faults), so that changing how one
//! part is drawn does not move the others. Swarm testing: every seed
//! switches each fault kind and each operation family on or off, so runs
//! leave whole families out and reach states a uniform mix never does.
//! Faults then arrive at seeded, concrete times; the document says exactly
//! what happens, so a failing run saved to a file replays as it ran.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Map, Value};

use super::profile::{FaultKind, Profile};
use crate::scenario::CLIENTS_HOST;
use crate::sim::derive_seed;

/// The RNG of one purpose under `seed`.
fn stream(seed: u64, purpose: &str) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(derive_seed(seed, &format!("explore {purpose}")))
}

/// The node names of a run with `replicas` replicas: `m`, `r1`, `r2`, ...
fn names(replicas: usize) -> Vec<String> {
    std::iter::once("m".to_string())
        .chain((1..=replicas).map(|i| format!("r{i}")))
        .collect()
}

/// What the generator knows of a node while it lays out the faults.
#[derive(Debug, Clone)]
struct NodeState {
    name: String,
    /// Its master from the scenario's `nodes` (where a restart takes it).
    configured: Option<String>,
    /// Its master now.
    master: Option<String>,
}

/// The layout of nodes while faults are drawn: keeps every drawn step one
/// the scenario format accepts (no cycle, no crash whose restart would
/// make one). Steps run one after the other and a pause, a partition or a
/// crash ends within its own steps, so every node is up between faults.
struct Cluster {
    nodes: Vec<NodeState>,
}

impl Cluster {
    fn node(&self, name: &str) -> &NodeState {
        self.nodes
            .iter()
            .find(|n| n.name == name)
            .expect("known node")
    }

    fn node_mut(&mut self, name: &str) -> &mut NodeState {
        self.nodes
            .iter_mut()
            .find(|n| n.name == name)
            .expect("known node")
    }

    /// Whether `ancestor` is `node` or above it in its chain.
    fn leads_to(&self, node: &str, ancestor: &str) -> bool {
        let mut current = Some(node.to_string());
        for _ in 0..=self.nodes.len() {
            match current {
                Some(name) if name == ancestor => return true,
                Some(name) => current = self.node(&name).master.clone(),
                None => return false,
            }
        }
        false
    }

    fn all(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.name.clone()).collect()
    }

    /// Nodes that may crash: restarting puts them back under the master
    /// they have (a restart returns to the configured one, which after a
    /// promotion could make a cycle).
    fn crashable(&self) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|n| n.configured == n.master)
            .map(|n| n.name.clone())
            .collect()
    }
}

fn ms(value: u64) -> String {
    format!("{value}ms")
}

fn pick<'a>(rng: &mut ChaCha8Rng, items: &'a [String]) -> Option<&'a String> {
    items.choose(rng)
}

/// A whole scenario document drawn from `seed` within `profile`.
pub fn generate(seed: u64, profile: &Profile) -> Value {
    let mut topo = stream(seed, "topology");
    let mut conf = stream(seed, "config");
    let mut load = stream(seed, "workload");
    let mut faults = stream(seed, "faults");
    let mut net = stream(seed, "network");

    // Topology: one master, replicas under it or under earlier replicas,
    // chains up to the profile's depth.
    let replicas = topo.gen_range(profile.replicas.min..=profile.replicas.max) as usize;
    let names = names(replicas);
    let mut depth = vec![0usize];
    let mut masters: Vec<Option<String>> = vec![None];
    for i in 1..names.len() {
        let candidates: Vec<usize> = (0..i)
            .filter(|&j| depth[j] < profile.max_depth as usize)
            .collect();
        let parent = *candidates.choose(&mut topo).unwrap_or(&0);
        depth.push(depth[parent] + 1);
        masters.push(Some(names[parent].clone()));
    }
    let mut nodes = Map::new();
    for (i, name) in names.iter().enumerate() {
        let mut node = Map::new();
        if let Some(master) = &masters[i] {
            node.insert("replicaof".into(), json!(master));
        }
        if topo.gen_bool(0.3) {
            node.insert("persist".into(), json!(false));
        }
        let config = draw_config(&mut conf, i == 0);
        if !config.is_empty() {
            node.insert("config".into(), Value::Object(config));
        }
        nodes.insert(name.clone(), Value::Object(node));
    }

    // Workload: a random non-empty subset of the families, at a rate from
    // a trickle to bursts that outrun small backlogs.
    let families: Vec<&str> = profile.mix.iter().map(|k| k.name()).collect();
    let mut mix: Vec<&str> = families
        .iter()
        .copied()
        .filter(|_| load.gen_bool(0.5))
        .collect();
    if mix.is_empty() {
        mix.push(families.choose(&mut load).copied().unwrap_or("strings"));
    }
    let duration_ms = load.gen_range(profile.duration_ms.min..=profile.duration_ms.max);
    let rate = *[50u64, 200, 500, 1500].choose(&mut load).unwrap_or(&200);
    let keys = *[10u64, 50, 200, 1000].choose(&mut load).unwrap_or(&50);
    let value_max = *[16u64, 64, 512, 4096].choose(&mut load).unwrap_or(&64);
    let mut workload = Map::new();
    workload.insert("on".into(), json!("m"));
    workload.insert("for".into(), json!(ms(duration_ms)));
    workload.insert("rate".into(), json!(rate));
    workload.insert("keys".into(), json!(keys));
    workload.insert("value_size".into(), json!(format!("1..{value_max}")));
    workload.insert("mix".into(), json!(mix));
    workload.insert("dbs".into(), json!(load.gen_range(1..=4)));
    workload.insert("clients".into(), json!(load.gen_range(1..=3)));
    // The load starts at a fixed time, not when the links happen to be up
    // (anywhere from milliseconds to several seconds in), so that the
    // faults below, drawn at times from the same start, land during it.
    let mut steps = vec![
        json!({ "await": "linked", "timeout": "60s" }),
        json!({ "workload": workload.clone(), "background": true, "at": ms(LOAD_START_MS) }),
    ];

    // Faults: one seed in ten runs without any (a baseline the checker
    // must pass), the others switch each kind on or off, then draw events
    // at seeded times during the workload.
    let enabled: Vec<FaultKind> = if faults.gen_bool(0.1) {
        Vec::new()
    } else {
        profile
            .faults
            .iter()
            .copied()
            .filter(|_| faults.gen_bool(0.6))
            .collect()
    };
    let mut cluster = Cluster {
        nodes: names
            .iter()
            .zip(&masters)
            .map(|(name, master)| NodeState {
                name: name.clone(),
                configured: master.clone(),
                master: master.clone(),
            })
            .collect(),
    };
    if !enabled.is_empty() {
        let events = faults.gen_range(profile.events.min..=profile.events.max);
        let mut times: Vec<u64> = (0..events)
            .map(|_| faults.gen_range(200..duration_ms.max(201)))
            .collect();
        times.sort_unstable();
        let mut last_at = 0;
        for time in times {
            let at = (time + LOAD_START_MS).max(last_at + 1);
            last_at = at;
            let kind = *enabled.choose(&mut faults).expect("non-empty");
            if let Some(mut drawn) = draw_fault(&mut faults, kind, &mut cluster) {
                if let Some(first) = drawn.first_mut().and_then(Value::as_object_mut) {
                    first.insert("at".into(), json!(ms(at)));
                }
                let promoted = promoted_node(&drawn);
                steps.append(&mut drawn);
                // Clients follow a failover: the rest of the load goes to
                // the promoted node, so the new history takes writes while
                // former siblings reconnect to it.
                if let Some(node) = promoted {
                    let left_ms = (LOAD_START_MS + duration_ms).saturating_sub(at).max(500);
                    let mut follow = workload.clone();
                    follow.insert("on".into(), json!(node));
                    follow.insert("for".into(), json!(ms(left_ms)));
                    steps.push(json!({ "workload": follow, "background": true }));
                }
            }
        }
    }
    let sentinels = draw_sentinels(seed, profile, &names, &mut steps, duration_ms);
    steps.push(json!({ "await": "converged", "timeout": "120s" }));
    let mut document = json!({
        "name": format!("explore-{seed}"),
        "about": format!(
            "Drawn by replsim explore from seed {seed}: {} replicas, mix {}, faults {}.",
            replicas,
            mix.join(","),
            if enabled.is_empty() { "none".to_string() } else {
                enabled.iter().map(|k| k.name()).collect::<Vec<_>>().join(",")
            }
        ),
        "seeds": 1,
        "liveness": "120s",
        "nodes": nodes,
        "steps": steps,
    });
    if let Some(network) = draw_network(&mut net) {
        document["network"] = network;
    }
    if let Some(sentinels) = sentinels {
        document["sentinels"] = sentinels;
    }
    document
}

/// The Sentinel group of a profile that asks for one, from its own stream
/// (so every other draw of the seed stays as it was): 1 to 7 Sentinels
/// watching m with a drawn quorum, clients that follow the master through
/// them (or stay on m, as a client without Sentinel support does), and
/// faults of their own: the master isolated from every other host (with
/// its clients, without them, or with clients that reach both sides), a
/// Sentinel crashed and restarted. Manual
/// promotions and re-pointing are taken out: they would fight the
/// Sentinels.
fn draw_sentinels(
    seed: u64,
    profile: &Profile,
    nodes: &[String],
    steps: &mut Vec<Value>,
    duration_ms: u64,
) -> Option<Value> {
    let mut rng = stream(seed, "sentinels");
    let count = rng.gen_range(profile.sentinels.min..=profile.sentinels.max) as usize;
    if count == 0 {
        return None;
    }
    steps.retain(|step| {
        !matches!(
            fault_kind_of(step),
            Some(FaultKind::Promote | FaultKind::Repoint)
        )
    });
    // The follow-up workload on a promoted node went with its promotion.
    steps.retain(|step| {
        step.get("workload")
            .and_then(|w| w.get("on"))
            .is_none_or(|on| on == "m")
    });
    let quorum = rng.gen_range(1..=count);
    let down_after = *[1000u64, 2000, 5000].choose(&mut rng).unwrap_or(&1000);
    let failover_timeout = *[3000u64, 10000, 30000].choose(&mut rng).unwrap_or(&10000);
    let names: Vec<String> = (1..=count).map(|i| format!("s{i}")).collect();
    let mut group = Map::new();
    for name in &names {
        group.insert(
            name.clone(),
            json!({ "monitor": "m", "quorum": quorum, "config": {
                "down-after-milliseconds": down_after,
                "failover-timeout": failover_timeout,
            } }),
        );
    }
    if rng.gen_bool(0.5) {
        for step in steps.iter_mut() {
            if let Some(workload) = step.get_mut("workload") {
                workload["follow"] = json!(true);
            }
        }
    }
    if rng.gen_bool(0.7) {
        // m cut off from every other host, its clients on its side (the
        // Jepsen partition), on the majority's, or reaching both.
        let at = LOAD_START_MS + rng.gen_range(200..duration_ms.max(201));
        let for_ms = rng.gen_range(2_000..10_000);
        let mut minority = vec!["m"];
        let mut majority: Vec<&str> = nodes
            .iter()
            .filter(|n| *n != "m")
            .chain(&names)
            .map(String::as_str)
            .collect();
        match rng.gen_range(0..3) {
            0 => minority.push(CLIENTS_HOST),
            1 => majority.push(CLIENTS_HOST),
            _ => {}
        }
        steps.push(json!({
            "partition": { "between": [minority, majority] },
            "at": ms(at),
            "for": ms(for_ms),
        }));
    }
    if rng.gen_bool(0.3) {
        let at = LOAD_START_MS + rng.gen_range(200..duration_ms.max(201));
        let down_ms = rng.gen_range(500..5_000);
        let victim = names.choose(&mut rng).expect("non-empty").clone();
        steps.push(json!({ "crash": victim.clone(), "at": ms(at) }));
        steps.push(json!({ "restart": victim, "after": ms(down_ms) }));
    }
    Some(Value::Object(group))
}

/// The network a run starts with: half the runs keep the defaults (1 MB
/// windows, 1 Gbit/s interfaces); the others draw small windows, which
/// back a slow reader up into its writer sooner, and slow interfaces,
/// which make full syncs and fan-out take time.
fn draw_network(rng: &mut ChaCha8Rng) -> Option<Value> {
    if rng.gen_bool(0.5) {
        return None;
    }
    let window = ["16kb", "64kb", "256kb", "1mb"].choose(rng).copied();
    let bandwidth = ["1mb/s", "10mb/s", "125m/s", "unlimited"]
        .choose(rng)
        .copied();
    Some(json!({ "window": window, "bandwidth": bandwidth }))
}

/// Meaningful values of the replication parameters, drawn per node.
fn draw_config(rng: &mut ChaCha8Rng, master: bool) -> Map<String, Value> {
    let mut config = Map::new();
    if rng.gen_bool(0.6) {
        let size = ["16kb", "64kb", "256kb", "1mb"].choose(rng).copied();
        config.insert("repl-backlog-size".into(), json!(size));
    }
    if rng.gen_bool(0.5) {
        config.insert(
            "repl-timeout".into(),
            json!(*[3, 5, 10, 60].choose(rng).unwrap_or(&60)),
        );
    }
    if rng.gen_bool(0.3) {
        config.insert(
            "repl-diskless-sync".into(),
            json!(if rng.gen_bool(0.5) { "yes" } else { "no" }),
        );
    }
    if rng.gen_bool(0.5) {
        config.insert(
            "repl-diskless-sync-delay".into(),
            json!(*[0, 1, 5].choose(rng).unwrap_or(&0)),
        );
    }
    if rng.gen_bool(0.2) {
        config.insert("replica-serve-stale-data".into(), json!("no"));
    }
    if master && rng.gen_bool(0.15) {
        config.insert("min-replicas-to-write".into(), json!(1));
    }
    if rng.gen_bool(0.15) {
        config.insert(
            "repl-backlog-ttl".into(),
            json!(*[2, 10, 3600].choose(rng).unwrap_or(&3600)),
        );
    }
    config
}

/// The node a drawn fault promotes (`REPLICAOF NO ONE`), if it does.
fn promoted_node(steps: &[Value]) -> Option<String> {
    steps.iter().find_map(|step| {
        let replicaof = step.get("replicaof")?;
        if replicaof.get("master")?.is_null() {
            replicaof.get("node")?.as_str().map(str::to_string)
        } else {
            None
        }
    })
}

/// When the drawn load starts (simulated ms since the run began): room for
/// the links to come up first, diskless sync delay included.
const LOAD_START_MS: u64 = 6_000;

/// The steps of one fault of `kind` (the caller gives the first its `at`),
/// or `None` when nothing fits (no replica to promote or re-point).
fn draw_fault(rng: &mut ChaCha8Rng, kind: FaultKind, cluster: &mut Cluster) -> Option<Vec<Value>> {
    let names = cluster.all();
    let up = names.clone();
    let pair = |rng: &mut ChaCha8Rng| -> Option<(String, String)> {
        let mut shuffled = names.clone();
        shuffled.shuffle(rng);
        Some((shuffled.first()?.clone(), shuffled.get(1)?.clone()))
    };
    let steps = match kind {
        FaultKind::Cut => {
            let (a, b) = pair(rng)?;
            vec![json!({ "cut": [a, b] })]
        }
        FaultKind::Partition | FaultKind::PartitionOneway => {
            let (a, b) = pair(rng)?;
            // Isolate one node from all others, or split two apart.
            let other: Vec<String> = if rng.gen_bool(0.5) {
                names.iter().filter(|n| **n != a).cloned().collect()
            } else {
                vec![b]
            };
            let for_ms = rng.gen_range(500..8_000);
            let mut partition = json!({ "between": [[a], other] });
            if kind == FaultKind::PartitionOneway {
                partition["oneway"] = json!(true);
            }
            vec![json!({ "partition": partition, "for": ms(for_ms) })]
        }
        FaultKind::Pause => {
            let node = pick(rng, &up)?.clone();
            let for_ms = rng.gen_range(300..6_000);
            vec![json!({ "pause": node, "for": ms(for_ms) })]
        }
        FaultKind::Crash | FaultKind::CrashLosingUnsynced | FaultKind::CrashWithoutFin => {
            let crashable = cluster.crashable();
            let node = pick(rng, &crashable)?.clone();
            let mut crash = json!({ "crash": node });
            if kind == FaultKind::CrashLosingUnsynced {
                crash["lose_unsynced"] = json!(true);
            }
            // A host that lost power stays down long enough, now and then,
            // for its peers' timeouts to find it out.
            let back_ms = if kind == FaultKind::CrashWithoutFin {
                crash["fin"] = json!(false);
                rng.gen_range(1_000..20_000)
            } else {
                // Back after a while, from whatever its disk kept.
                rng.gen_range(300..4_000)
            };
            vec![crash, json!({ "after": ms(back_ms), "restart": node })]
        }
        FaultKind::Network => {
            let low = rng.gen_range(1..20);
            let high = low + rng.gen_range(0..80);
            let loss = *[0.0, 0.0, 0.01, 0.05].choose(rng).unwrap_or(&0.0);
            vec![json!({ "network": { "latency": format!("{low}ms..{high}ms"), "loss": loss } })]
        }
        FaultKind::Throttle => {
            let (from, to) = pair(rng)?;
            let bandwidth = *["64kb/s", "256kb/s", "1mb/s", "10mb/s"]
                .choose(rng)
                .unwrap_or(&"1mb/s");
            let for_ms = rng.gen_range(1_000..10_000);
            // One throttle in three holds everything the node sends.
            let throttle = if rng.gen_range(0..3) == 0 {
                json!({ "from": from, "bandwidth": bandwidth })
            } else {
                json!({ "from": from, "to": to, "bandwidth": bandwidth })
            };
            vec![json!({ "throttle": throttle, "for": ms(for_ms) })]
        }
        FaultKind::Disk => {
            let node = pick(rng, &up)?.clone();
            let fault = ["full", "failing", "torn"][rng.gen_range(0..3)];
            let for_ms = rng.gen_range(500..8_000);
            vec![
                json!({ "disk": { "node": node, "fault": fault } }),
                json!({ "after": ms(for_ms), "disk": { "node": node, "fault": "none" } }),
            ]
        }
        FaultKind::Clock => {
            let node = pick(rng, &up)?.clone();
            // A jump forward or back, or a drift; sometimes both.
            let mut clock = json!({ "node": node });
            let shape = rng.gen_range(0..3);
            if shape != 1 {
                let ms = rng.gen_range(100..10_000);
                let sign = if rng.gen_bool(0.5) { "+" } else { "-" };
                clock["jump"] = json!(format!("{sign}{ms}ms"));
            }
            if shape != 0 {
                let parts_per_million = rng.gen_range(100..20_000) as f64;
                let sign = if rng.gen_bool(0.5) { 1.0 } else { -1.0 };
                clock["drift"] = json!(sign * parts_per_million / 1e6);
            }
            vec![json!({ "clock": clock })]
        }
        FaultKind::Stall => {
            let (node, from) = pair(rng)?;
            let for_ms = rng.gen_range(300..5_000);
            vec![json!({ "stall": { "node": node, "from": from }, "for": ms(for_ms) })]
        }
        FaultKind::Repoint => {
            let replicas: Vec<String> = up
                .iter()
                .filter(|n| cluster.node(n).master.is_some())
                .cloned()
                .collect();
            let node = pick(rng, &replicas)?.clone();
            let targets: Vec<String> = up
                .iter()
                .filter(|t| **t != node && !cluster.leads_to(t, &node))
                .cloned()
                .collect();
            let target = pick(rng, &targets)?.clone();
            if cluster.node(&node).master.as_deref() == Some(target.as_str()) {
                return None;
            }
            cluster.node_mut(&node).master = Some(target.clone());
            vec![json!({ "replicaof": { "node": node, "master": target } })]
        }
        FaultKind::Promote => {
            // Any replica, a lagging one too; every other running node then
            // follows it, as a failover by hand does.
            let replicas: Vec<String> = up
                .iter()
                .filter(|n| cluster.node(n).master.is_some())
                .cloned()
                .collect();
            let chosen = pick(rng, &replicas)?.clone();
            let old_master = cluster.node(&chosen).master.clone()?;
            let mut steps = Vec::new();
            let mut promote = json!({ "replicaof": { "node": chosen, "master": null } });
            // Half the time the chosen replica is cut off from its master
            // first, so that it lags behind siblings still taking writes:
            // those then ask it to continue on its replid2 from beyond the
            // point where its history forked, which it must refuse.
            if rng.gen_bool(0.5) {
                let lag_ms = rng.gen_range(300..2_000);
                let partition = json!({ "between": [[chosen], [old_master]] });
                steps.push(json!({ "partition": partition, "for": ms(lag_ms + 2_000) }));
                promote["after"] = json!(ms(lag_ms));
            }
            cluster.node_mut(&chosen).master = None;
            steps.push(promote);
            for other in &names {
                if *other == chosen {
                    continue;
                }
                cluster.node_mut(other).master = Some(chosen.clone());
                steps.push(json!({ "replicaof": { "node": other, "master": chosen } }));
            }
            steps
        }
        FaultKind::Save => {
            let node = pick(rng, &up)?.clone();
            let command = if rng.gen_bool(0.5) { "SAVE" } else { "BGSAVE" };
            vec![json!({ "command": { "on": node, "args": [command] } })]
        }
        FaultKind::BacklogResize => {
            let node = pick(rng, &up)?.clone();
            let size = ["16kb", "32kb", "128kb", "1mb"]
                .choose(rng)
                .copied()
                .unwrap_or("1mb");
            vec![
                json!({ "command": { "on": node, "args": ["CONFIG", "SET", "repl-backlog-size", size] } }),
            ]
        }
    };
    Some(steps)
}

/// The fault kind a generated step shows, for counting what a sweep drew.
pub fn fault_kind_of(step: &Value) -> Option<FaultKind> {
    let object = step.as_object()?;
    if object.contains_key("cut") {
        return Some(FaultKind::Cut);
    }
    if let Some(partition) = object.get("partition") {
        return Some(if partition.get("oneway").is_some() {
            FaultKind::PartitionOneway
        } else {
            FaultKind::Partition
        });
    }
    if object.contains_key("pause") {
        return Some(FaultKind::Pause);
    }
    if object.contains_key("crash") {
        return Some(if object.contains_key("fin") {
            FaultKind::CrashWithoutFin
        } else if object.contains_key("lose_unsynced") {
            FaultKind::CrashLosingUnsynced
        } else {
            FaultKind::Crash
        });
    }
    if object.contains_key("network") {
        return Some(FaultKind::Network);
    }
    if object.contains_key("throttle") {
        return Some(FaultKind::Throttle);
    }
    if object.contains_key("stall") {
        return Some(FaultKind::Stall);
    }
    if object.contains_key("clock") {
        return Some(FaultKind::Clock);
    }
    if object.contains_key("disk") {
        return Some(FaultKind::Disk);
    }
    if let Some(replicaof) = object.get("replicaof") {
        return Some(if replicaof["master"].is_null() {
            FaultKind::Promote
        } else {
            FaultKind::Repoint
        });
    }
    let args = object.get("command")?.get("args")?.as_array()?;
    match args.first()?.as_str()? {
        "SAVE" | "BGSAVE" => Some(FaultKind::Save),
        "CONFIG" => Some(FaultKind::BacklogResize),
        _ => None,
    }
}
