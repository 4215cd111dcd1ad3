//! The simulation harness: plays one scenario for one seed on a fresh
//! madsim runtime and judges it.
//!
//! A run builds the cluster ([`cluster`]), executes the steps in order
//! (faults, workloads, commands, waits, checks), watches safety rules the
//! whole time, then heals every fault and requires convergence within the
//! scenario's liveness bound ([`check`]). Everything random comes from the
//! run seed, derived per purpose (each step, each workload client, each
//! node), so adding an operation to one workload does not move the fault
//! times. The trace (every event with its simulated time) and the nodes'
//! logs hash to the run's fingerprint: the same seed gives the same hash.

pub mod check;
pub mod cluster;
pub mod expect;
pub mod history;
pub mod workload;

use std::collections::BTreeMap;
use std::fmt::Write;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use madsim::runtime::Handle;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha1::{Digest, Sha1};

use crate::log::SharedSimLog;
use crate::resp::Frame;
use crate::runtime::{SimNet, SimRuntime};
use crate::scenario::{
    Action, AwaitCondition, CheckSpec, DurationRange, Scenario, Step, WorkloadKind,
};
use crate::server::probe::PlantedBugs;
use crate::server::Server;
use cluster::{NodeStatus, SimNode};
use workload::WorkloadOutcome;

/// Simulated time a run may take beyond its scenario's bound
/// ([`Scenario::simulated_time_bound`]) before madsim stops it.
const SIMULATED_TIME_MARGIN: Duration = Duration::from_secs(600);

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every rule held and every replica converged.
    Pass,
    /// A rule replsim always checks broke: a bug in the replication under
    /// test (or in replsim's core).
    Safety(Vec<String>),
    /// Something the scenario itself asserted did not hold: a `check`, an
    /// `expect`, an `await` that timed out.
    Expectation(Vec<String>),
    /// Replicas did not converge within the liveness bound.
    Liveness(Vec<String>),
    /// Something panicked: a bug in replsim.
    Crash(String),
}

impl Verdict {
    /// `pass`, `safety`, `expectation`, `liveness` or `crash`.
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Safety(_) => "safety",
            Verdict::Expectation(_) => "expectation",
            Verdict::Liveness(_) => "liveness",
            Verdict::Crash(_) => "crash",
        }
    }

    /// The failure described in lines (empty on a pass).
    pub fn details(&self) -> Vec<String> {
        match self {
            Verdict::Pass => Vec::new(),
            Verdict::Safety(lines) | Verdict::Expectation(lines) | Verdict::Liveness(lines) => {
                lines.clone()
            }
            Verdict::Crash(message) => vec![message.clone()],
        }
    }
}

/// The result of one seed.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// Scenario name.
    pub scenario: String,
    /// Scenario file.
    pub file: String,
    /// The seed.
    pub seed: u64,
    /// The verdict.
    pub verdict: Verdict,
    /// Simulated time the run covered.
    pub simulated: Duration,
    /// Wall time it took (measured outside the simulation; never part of
    /// the trace).
    pub wall: Duration,
    /// SHA1 of the trace and the logs.
    pub trace_hash: String,
    /// Every event with its simulated time.
    pub trace: Vec<String>,
    /// The nodes' replication logs, interleaved in time order.
    pub log: Vec<String>,
}

/// A stable 64-bit seed for `purpose` under `seed` (FNV-1a, then splitmix).
pub fn derive_seed(seed: u64, purpose: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for byte in purpose.bytes().chain(seed.to_le_bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut z = hash.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn draw_duration(rng: &mut ChaCha8Rng, range: DurationRange) -> Duration {
    if range.max <= range.min {
        return range.min;
    }
    let (min, max) = (range.min.as_micros() as u64, range.max.as_micros() as u64);
    Duration::from_micros(rng.gen_range(min..=max))
}

fn now() -> Duration {
    madsim::time::TimeHandle::current().elapsed()
}

fn stamp(at: Duration) -> String {
    format!("{}.{:03}s", at.as_secs(), at.subsec_millis())
}

/// How a run is played beyond its scenario and seed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Known bugs planted in every node's core, to prove the checker
    /// catches them (all off normally).
    pub planted: PlantedBugs,
}

/// Plays `scenario` for `seed` on a fresh OS thread and madsim runtime.
pub fn run_seed(scenario: &Scenario, seed: u64) -> RunReport {
    run_seed_with(scenario, seed, RunOptions::default())
}

/// [`run_seed`] with options.
pub fn run_seed_with(scenario: &Scenario, seed: u64, options: RunOptions) -> RunReport {
    let started = Instant::now();
    let owned = scenario.clone();
    let outcome = std::thread::Builder::new()
        .name(format!("{}-{seed}", scenario.name))
        .spawn(move || {
            std::panic::catch_unwind(AssertUnwindSafe(move || {
                let mut config = madsim::Config::default();
                config.net.send_latency = owned.network.latency.min
                    ..owned
                        .network
                        .latency
                        .max
                        .max(owned.network.latency.min + Duration::from_micros(1));
                config.net.packet_loss_rate = owned.network.loss;
                let mut runtime = madsim::runtime::Runtime::with_seed_and_config(seed, config);
                runtime.set_time_limit(
                    owned
                        .simulated_time_bound()
                        .saturating_add(SIMULATED_TIME_MARGIN),
                );
                runtime.block_on(async move { Runner::new(owned, seed, options).run().await })
            }))
        })
        .expect("spawn run thread")
        .join();
    let wall = started.elapsed();
    let base = RunReport {
        scenario: scenario.name.clone(),
        file: scenario.file.clone(),
        seed,
        verdict: Verdict::Pass,
        simulated: Duration::ZERO,
        wall,
        trace_hash: String::new(),
        trace: Vec::new(),
        log: Vec::new(),
    };
    match outcome {
        Ok(Ok(report)) => RunReport { wall, ..report },
        Ok(Err(panic)) | Err(panic) => RunReport {
            verdict: Verdict::Crash(panic_message(&panic)),
            ..base
        },
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(text) = panic.downcast_ref::<String>() {
        format!("panic: {text}")
    } else if let Some(text) = panic.downcast_ref::<&str>() {
        format!("panic: {text}")
    } else {
        "panic with a non-text payload".into()
    }
}

/// A replica's name, its top master's name, and both servers when running.
type ReplicaAndTop<'a> = (
    &'a str,
    String,
    Option<(Server<SimRuntime>, Server<SimRuntime>)>,
);

/// A replica, its direct master, and both running servers.
type RunningLink<'a> = (&'a str, &'a str, Server<SimRuntime>, Server<SimRuntime>);

/// A background workload: its clients' join handles.
struct Background {
    step: String,
    clients: Vec<madsim::task::JoinHandle<WorkloadOutcome>>,
    /// Reader clients on replicas, stopped once the writers are done.
    readers: Vec<madsim::task::JoinHandle<()>>,
}

/// Plays one run inside the simulation.
struct Runner {
    scenario: Scenario,
    seed: u64,
    handle: Handle,
    net: Arc<SimNet>,
    log: SharedSimLog,
    nodes: Vec<SimNode>,
    client: madsim::runtime::NodeHandle,
    trace: Arc<Mutex<Vec<String>>>,
    violations: Arc<Mutex<Vec<String>>>,
    /// Failed assertions of the scenario itself.
    expectations: Vec<String>,
    /// The canonical history the nodes report to.
    ledger: history::SharedLedger,
    options: RunOptions,
    /// The client sessions of `command` steps, by node.
    sessions: BTreeMap<String, workload::Session>,
    /// When connections between two nodes (names in order) last broke by
    /// a fault of the harness (a cut, a crash or restart of either).
    broken_at: BTreeMap<(String, String), Duration>,
    /// The current `replicaof` of every node.
    topology: BTreeMap<String, Option<String>>,
    clogged: Vec<(String, String)>,
    background: Vec<Background>,
    outcomes: Vec<WorkloadOutcome>,
    /// Whether anything makes the acknowledged-writes rule inapplicable
    /// (promotions, re-pointing, flushes, lost disks).
    history_may_fork: bool,
}

impl Runner {
    fn new(scenario: Scenario, seed: u64, options: RunOptions) -> Runner {
        let handle = Handle::current();
        let client = handle
            .create_node()
            .name("client")
            .ip("10.0.0.250".parse().expect("valid ip"))
            .build();
        // Writes may legitimately vanish when the history forks: a promotion
        // or re-pointing, a flush, a lost disk, or a master that crashes
        // with whatever it had not saved.
        let is_master = |name: &str| {
            scenario
                .nodes
                .iter()
                .any(|n| n.name == name && n.replicaof.is_none())
        };
        let history_may_fork = scenario.steps.iter().any(|s| match &s.action {
            Action::ReplicaOf { .. } => true,
            Action::Crash {
                node,
                lose_unsynced,
            } => *lose_unsynced || is_master(node),
            Action::Workload(w) => w.mix.contains(&WorkloadKind::Flushes),
            // A write of the scenario's own may replace or remove what a
            // workload wrote (FLUSHALL, DEL, SET of the same key).
            Action::Command { args, .. } => is_write_command(args),
            _ => false,
        }) || scenario.nodes.iter().any(|n| !n.persist);
        Runner {
            topology: scenario
                .nodes
                .iter()
                .map(|n| (n.name.clone(), n.replicaof.clone()))
                .collect(),
            scenario,
            seed,
            handle,
            net: Arc::default(),
            log: Arc::default(),
            nodes: Vec::new(),
            client,
            trace: Arc::default(),
            violations: Arc::default(),
            expectations: Vec::new(),
            ledger: Arc::default(),
            options,
            broken_at: BTreeMap::new(),
            sessions: BTreeMap::new(),
            clogged: Vec::new(),
            background: Vec::new(),
            outcomes: Vec::new(),
            history_may_fork,
        }
    }

    fn event(&self, text: impl AsRef<str>) {
        let line = format!("{} {}", stamp(now()), text.as_ref());
        self.trace
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(line);
    }

    fn violation(&self, text: String) {
        self.event(format!("VIOLATION {text}"));
        self.violations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(text);
    }

    /// A failed assertion of the scenario (an expectation verdict).
    fn expectation(&mut self, text: String) {
        self.event(format!("EXPECTATION FAILED {text}"));
        self.expectations.push(text);
    }

    /// Notes that connections between `a` and `b` broke now.
    fn note_broken(&mut self, a: &str, b: &str) {
        let key = if a <= b {
            (a.to_string(), b.to_string())
        } else {
            (b.to_string(), a.to_string())
        };
        self.broken_at.insert(key, now());
    }

    /// Notes that every connection of `node` broke now.
    fn note_node_broken(&mut self, node: &str) {
        let others: Vec<String> = self
            .scenario
            .nodes
            .iter()
            .map(|n| n.name.clone())
            .filter(|n| n != node)
            .collect();
        for other in others {
            self.note_broken(node, &other);
        }
    }

    /// When connections between `a` and `b` last broke, if ever.
    fn broken_since(&self, a: &str, b: &str) -> Option<Duration> {
        let key = if a <= b { (a, b) } else { (b, a) };
        self.broken_at
            .get(&(key.0.to_string(), key.1.to_string()))
            .copied()
    }

    fn node(&self, name: &str) -> &SimNode {
        self.nodes
            .iter()
            .find(|n| n.name == name)
            .expect("validated node name")
    }

    fn node_mut(&mut self, name: &str) -> &mut SimNode {
        self.nodes
            .iter_mut()
            .find(|n| n.name == name)
            .expect("validated node name")
    }

    /// The master at the top of `name`'s chain (itself for a master).
    fn top_master(&self, name: &str) -> String {
        let mut current = name.to_string();
        for _ in 0..=self.nodes.len() {
            match self.topology.get(&current).cloned().flatten() {
                Some(master) => current = master,
                None => return current,
            }
        }
        current
    }

    async fn run(mut self) -> RunReport {
        for (index, spec) in self.scenario.nodes.iter().enumerate() {
            // `validate` checks every config value: a refusal here is a bug.
            let config = cluster::node_config(spec).unwrap_or_else(|error| panic!("{error}"));
            let probe = cluster::Probe {
                ledger: self.ledger.clone(),
                planted: self.options.planted,
            };
            let node = cluster::spawn_node(
                &self.handle,
                &self.net,
                &self.log,
                self.seed,
                index,
                spec,
                config,
                probe,
            );
            self.nodes.push(node);
        }
        self.event(format!(
            "start: scenario {} seed {} nodes {}",
            self.scenario.name,
            self.seed,
            self.scenario
                .nodes
                .iter()
                .map(|n| n.name.as_str())
                .collect::<Vec<_>>()
                .join(",")
        ));
        let steps = self.scenario.steps.clone();
        let mut previous_end = Duration::ZERO;
        for (index, step) in steps.iter().enumerate() {
            let mut rng =
                ChaCha8Rng::seed_from_u64(derive_seed(self.seed, &format!("step {index}")));
            if let Some(at) = step.at {
                let at = draw_duration(&mut rng, at);
                if at > now() {
                    madsim::time::sleep(at - now()).await;
                }
            } else if let Some(after) = step.after {
                let after = draw_duration(&mut rng, after);
                let target = previous_end + after;
                if target > now() {
                    madsim::time::sleep(target - now()).await;
                }
            }
            self.monitor_safety();
            self.step(index, step, &mut rng).await;
            self.monitor_safety();
            previous_end = now();
        }
        self.finish().await
    }

    async fn step(&mut self, index: usize, step: &Step, rng: &mut ChaCha8Rng) {
        let path = &step.path;
        match &step.action {
            Action::Sleep(range) => {
                let duration = draw_duration(rng, *range);
                self.event(format!("{path} sleep {}", stamp(duration)));
                self.sleep_watching(duration).await;
            }
            Action::Await { condition, timeout } => {
                self.event(format!(
                    "{path} await {condition} within {}",
                    stamp(*timeout)
                ));
                let deadline = now() + *timeout;
                let mut last_reply = None;
                loop {
                    let satisfied = match condition {
                        AwaitCondition::Linked => self.all_linked(),
                        AwaitCondition::Converged => self.is_converged(),
                        AwaitCondition::Info { on, field, expect } => {
                            expect::info_holds(expect, self.info_field(on, field).as_deref())
                        }
                        AwaitCondition::Reply {
                            on,
                            args,
                            db,
                            expect,
                        } => {
                            let (host, args, db) = (on.clone(), args.clone(), *db);
                            let reply = self
                                .client
                                .spawn(async move { workload::one_command(&host, db, &args).await })
                                .await
                                .ok()
                                .flatten();
                            let matched = expect::reply_matches(expect, reply.as_ref());
                            last_reply = Some(reply);
                            matched
                        }
                    };
                    if satisfied {
                        self.event(format!("{path} await satisfied"));
                        break;
                    }
                    if now() >= deadline {
                        let mut message = format!(
                            "{path}: await {condition} not satisfied within {}",
                            stamp(*timeout)
                        );
                        if let Some(reply) = &last_reply {
                            let _ = write!(
                                message,
                                " (last reply: {})",
                                expect::show_reply(reply.as_ref())
                            );
                        }
                        if let Err(stuck) = self.converged() {
                            let _ = write!(message, " ({})", stuck.join("; "));
                        }
                        self.expectation(message);
                        break;
                    }
                    self.sleep_watching(Duration::from_millis(50)).await;
                }
            }
            Action::Workload(spec) => {
                let ops = spec.ops.map(|r| {
                    if r.max <= r.min {
                        r.min
                    } else {
                        rng.gen_range(r.min..=r.max)
                    }
                });
                let until = spec.duration.map(|d| now() + draw_duration(rng, d));
                let host = spec.on.clone();
                let readonly = self.is_readonly_replica(&host);
                let clients = spec.clients.max(1);
                let mut handles = Vec::new();
                for client in 0..clients {
                    let share = ops.map(|n| {
                        n / u64::from(clients)
                            + u64::from(u64::from(client) < n % u64::from(clients))
                    });
                    let seed = derive_seed(self.seed, &format!("step {index} client {client}"));
                    let task = workload::run_client(
                        host.clone(),
                        spec.clone(),
                        seed,
                        share,
                        until,
                        readonly,
                    );
                    handles.push(self.client.spawn(task));
                }
                let ops_text = ops.map_or("no op limit".to_string(), |n| format!("{n} ops"));
                let until_text = until.map_or("no time limit".to_string(), |t| {
                    format!("until {}", stamp(t))
                });
                self.event(format!(
                    "{path} workload on {host}: {clients} clients, {ops_text}, {until_text}"
                ));
                let readers = self.spawn_readers(index, spec);
                let background = Background {
                    step: path.clone(),
                    clients: handles,
                    readers,
                };
                if step.background {
                    self.background.push(background);
                } else {
                    self.join_workload(background).await;
                }
            }
            Action::Command {
                on,
                args,
                db,
                expect,
            } => {
                let session = self
                    .sessions
                    .remove(on)
                    .unwrap_or_else(|| workload::Session::new(on));
                let (args_owned, db) = (args.clone(), *db);
                let reply = match self
                    .client
                    .spawn(async move { session.command(db, args_owned).await })
                    .await
                {
                    Ok((session, reply)) => {
                        self.sessions.insert(on.clone(), session);
                        reply
                    }
                    Err(_) => None,
                };
                self.event(format!(
                    "{path} command on {on}: {} -> {}",
                    args.join(" "),
                    expect::show_reply(reply.as_ref())
                ));
                if let Some(expect) = expect {
                    if let Some(problem) = expect::expectation_failure(expect, reply.as_ref()) {
                        self.expectation(format!("{path}: {} on {on}: {problem}", args.join(" ")));
                    }
                }
                if self.is_readonly_replica(on)
                    && is_write_command(args)
                    && !matches!(reply, Some(Frame::Error(_)) | None)
                {
                    self.violation(format!(
                        "{path}: read-only replica {on} accepted {}",
                        args.join(" ")
                    ));
                }
                self.track_replicaof_command(on, args, reply.as_ref());
            }
            Action::Cut { a, b } => {
                let cut = self.net.cut(a, b);
                self.note_broken(a, b);
                self.event(format!("{path} cut {a} <-> {b}: {cut} connection ends"));
            }
            Action::Partition {
                one,
                other,
                oneway,
                duration,
            } => {
                let net = madsim::net::NetSim::current();
                for a in one {
                    for b in other {
                        net.clog_link(self.node(a).handle.id(), self.node(b).handle.id());
                        self.clogged.push((a.clone(), b.clone()));
                        if !oneway {
                            net.clog_link(self.node(b).handle.id(), self.node(a).handle.id());
                            self.clogged.push((b.clone(), a.clone()));
                        }
                    }
                }
                self.event(format!(
                    "{path} partition {} {} {}",
                    one.join(","),
                    if *oneway { "->" } else { "<->" },
                    other.join(",")
                ));
                if let Some(range) = duration {
                    let duration = draw_duration(rng, *range);
                    self.sleep_watching(duration).await;
                    self.heal();
                    self.event(format!("{path} partition healed after {}", stamp(duration)));
                }
            }
            Action::Heal => {
                self.heal();
                self.event(format!("{path} heal"));
            }
            Action::Network { latency, loss } => {
                let net = madsim::net::NetSim::current();
                net.update_config(|config| {
                    if let Some(latency) = latency {
                        config.send_latency =
                            latency.min..latency.max.max(latency.min + Duration::from_micros(1));
                    }
                    if let Some(loss) = loss {
                        config.packet_loss_rate = *loss;
                    }
                });
                let latency = latency.map_or("unchanged".to_string(), |l| l.to_string());
                let loss = loss.map_or("unchanged".to_string(), |l| l.to_string());
                self.event(format!("{path} network latency {latency} loss {loss}"));
            }
            Action::Crash {
                node,
                lose_unsynced,
            } => {
                let handle = self.handle.clone();
                cluster::crash(&handle, self.node_mut(node), *lose_unsynced);
                self.note_node_broken(node);
                self.sessions.remove(node);
                self.event(format!("{path} crash {node}"));
            }
            Action::Restart { node } => {
                let handle = self.handle.clone();
                cluster::restart(&handle, self.node_mut(node));
                // A restarted node comes back with its configured master.
                let configured = self
                    .scenario
                    .nodes
                    .iter()
                    .find(|n| &n.name == node)
                    .and_then(|n| n.replicaof.clone());
                self.topology.insert(node.clone(), configured);
                self.event(format!("{path} restart {node}"));
            }
            Action::Pause { node, duration } => {
                self.handle.pause(self.node(node).handle.id());
                self.node_mut(node).status = NodeStatus::Paused;
                self.event(format!("{path} pause {node}"));
                if let Some(range) = duration {
                    let duration = draw_duration(rng, *range);
                    self.sleep_watching(duration).await;
                    self.handle.resume(self.node(node).handle.id());
                    self.node_mut(node).status = NodeStatus::Up;
                    self.event(format!("{path} resume {node} after {}", stamp(duration)));
                }
            }
            Action::Resume { node } => {
                self.handle.resume(self.node(node).handle.id());
                self.node_mut(node).status = NodeStatus::Up;
                self.event(format!("{path} resume {node}"));
            }
            Action::ReplicaOf { node, master } => {
                let args: Vec<String> = match master {
                    Some(m) => vec!["REPLICAOF".into(), m.clone(), cluster::PORT.to_string()],
                    None => vec!["REPLICAOF".into(), "NO".into(), "ONE".into()],
                };
                let host = node.clone();
                let sent = args.clone();
                let reply = self
                    .client
                    .spawn(async move { workload::one_command(&host, 0, &sent).await })
                    .await
                    .ok()
                    .flatten();
                self.event(format!(
                    "{path} {} on {node} -> {}",
                    args.join(" "),
                    expect::show_reply(reply.as_ref())
                ));
                match reply {
                    Some(Frame::Simple(_)) => {
                        self.topology.insert(node.clone(), master.clone());
                    }
                    other => self.expectation(format!(
                        "{path}: {} on {node} replied {}",
                        args.join(" "),
                        expect::show_reply(other.as_ref())
                    )),
                }
            }
            Action::Check(spec) => self.check(path, spec),
        }
    }

    /// Applies REPLICAOF sent as a plain command to the topology.
    fn track_replicaof_command(&mut self, on: &str, args: &[String], reply: Option<&Frame>) {
        let is_replicaof = args.first().is_some_and(|a| {
            a.eq_ignore_ascii_case("REPLICAOF") || a.eq_ignore_ascii_case("SLAVEOF")
        });
        if !is_replicaof || !matches!(reply, Some(Frame::Simple(_))) || args.len() != 3 {
            return;
        }
        if args[1].eq_ignore_ascii_case("NO") && args[2].eq_ignore_ascii_case("ONE") {
            self.topology.insert(on.to_string(), None);
        } else if self.nodes.iter().any(|n| n.name == args[1]) {
            self.topology.insert(on.to_string(), Some(args[1].clone()));
        }
        self.history_may_fork = true;
    }

    fn heal(&mut self) {
        let net = madsim::net::NetSim::current();
        for (a, b) in std::mem::take(&mut self.clogged) {
            net.unclog_link(self.node(&a).handle.id(), self.node(&b).handle.id());
        }
    }

    fn is_readonly_replica(&self, name: &str) -> bool {
        self.node(name)
            .with_state(|s| s.is_replica() && s.config.replica_read_only)
            .unwrap_or(false)
    }

    fn info_field(&self, node: &str, field: &str) -> Option<String> {
        let sections = vec!["everything".to_string()];
        self.node(node).with_state(|state| {
            let text = crate::server::render_info(
                state,
                &sections,
                state.started_unix_ms + now().as_millis() as u64,
                state.clients.len(),
            );
            text.lines().find_map(|l| {
                l.strip_prefix(&format!("{field}:"))
                    .map(|v| v.trim().to_string())
            })
        })?
    }

    fn all_linked(&self) -> bool {
        self.topology.iter().all(|(name, master)| match master {
            None => true,
            Some(_) => self
                .node(name)
                .with_state(|s| s.master_link_up())
                .unwrap_or(false),
        })
    }

    /// Every replica with the master at the top of its chain, and both
    /// servers when both are running.
    fn replicas_with_tops(&self) -> Vec<ReplicaAndTop<'_>> {
        self.topology
            .iter()
            .filter(|(_, master)| master.is_some())
            .map(|(name, _)| {
                let top = self.top_master(name);
                let servers = self.node(name).server().zip(self.node(&top).server());
                (name.as_str(), top, servers)
            })
            .collect()
    }

    /// Why `replica`'s link to its direct master is not up as both ends
    /// see it, or `None` when it is: the replica streams, the master has it
    /// online, and the link was made after the last fault that broke
    /// connections between the two (so the fault has been noticed).
    fn link_problem(&self, replica: &str) -> Option<String> {
        let master = self.topology.get(replica).cloned().flatten()?;
        let node = self.node(replica);
        let (Some(replica_server), Some(master_server)) =
            (node.server(), self.node(&master).server())
        else {
            return Some(format!("{replica} or its master {master} is down"));
        };
        let broken = self.broken_since(replica, &master);
        let up_since = {
            let state = replica_server.state();
            if !state.master_link_up() {
                return Some(format!("{replica}: link to {master} not up"));
            }
            state.repl.master.as_ref().and_then(|l| l.up_since)
        };
        if let (Some(broken), Some(up)) = (broken, up_since) {
            if up <= broken {
                return Some(format!(
                    "{replica}: link to {master} predates the fault at {} and was not seen to break",
                    stamp(broken)
                ));
            }
        }
        let ip = node.ip.to_string();
        let state = master_server.state();
        let online = state.repl.replicas.values().any(|link| {
            link.ip == ip
                && link.state == crate::replication::ReplicaState::Online
                && broken.is_none_or(|b| link.attached_at > b)
        });
        (!online).then(|| format!("{master} does not have {replica} online as a replica"))
    }

    /// Whether every replica equals its top master: its link up as both
    /// ends see it (after every fault that broke it was noticed), the same
    /// replication id and offset, and the same data. The cheap conditions
    /// are checked for all replicas before any data is compared, so polling
    /// stays cheap while one replica still lags.
    fn is_converged(&self) -> bool {
        let mut pairs = Vec::new();
        for (name, _, servers) in self.replicas_with_tops() {
            let Some((replica, upstream)) = servers else {
                return false;
            };
            {
                let (r, u) = (replica.state(), upstream.state());
                if !r.master_link_up()
                    || r.repl.offset != u.repl.offset
                    || r.repl.replid != u.repl.replid
                {
                    return false;
                }
            }
            if self.link_problem(name).is_some() {
                return false;
            }
            pairs.push((replica, upstream));
        }
        pairs
            .iter()
            .all(|(replica, upstream)| upstream.state().keyspace == replica.state().keyspace)
    }

    /// Ok when every replica equals its top master; else one line per
    /// replica that does not, with its state and the first differences.
    fn converged(&self) -> Result<(), Vec<String>> {
        if self.is_converged() {
            return Ok(());
        }
        let mut stuck = Vec::new();
        for (name, top, servers) in self.replicas_with_tops() {
            let Some((replica_server, top_server)) = servers else {
                stuck.push(format!("{name}: node or its top master {top} is down"));
                continue;
            };
            let link = self.link_problem(name);
            let replica = replica_server.state();
            let master_state = top_server.state();
            let equal = replica.master_link_up()
                && replica.repl.offset == master_state.repl.offset
                && replica.repl.replid == master_state.repl.replid
                && master_state.keyspace == replica.keyspace;
            if !equal || link.is_some() {
                let mut line = check::replica_status(name, &replica, &master_state, now());
                if replica.repl.replid != master_state.repl.replid {
                    line.push_str(&format!(
                        ", replication id {} vs its top master {top}'s {}",
                        &replica.repl.replid[..8.min(replica.repl.replid.len())],
                        &master_state.repl.replid[..8.min(master_state.repl.replid.len())]
                    ));
                }
                if let Some(problem) = link {
                    line.push_str(&format!(", {problem}"));
                }
                stuck.push(line);
            }
        }
        if stuck.is_empty() {
            Ok(())
        } else {
            Err(stuck)
        }
    }

    /// Every replica and its direct master, with both servers, when both run.
    fn running_links(&self) -> Vec<RunningLink<'_>> {
        self.topology
            .iter()
            .filter_map(|(name, master)| {
                let master = master.as_deref()?;
                let replica = self.node(name).server()?;
                let upstream = self.node(master).server()?;
                Some((name.as_str(), master, replica, upstream))
            })
            .collect()
    }

    /// Safety rules checked between steps and while waiting: a replica
    /// streaming from its master never has a higher offset than it, and
    /// every offset a replica acknowledged was acknowledged with exactly the
    /// data its master held at that offset.
    fn monitor_safety(&self) {
        let found = self
            .ledger
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take_violations();
        for violation in found {
            self.violation(violation);
        }
        for (name, master, replica, upstream) in self.running_links() {
            let (replica, upstream) = (replica.state(), upstream.state());
            if replica.master_link_up()
                && replica.repl.replid == upstream.repl.replid
                && replica.repl.offset > upstream.repl.offset
            {
                let message = format!(
                    "{name}'s offset {} passed its master {master}'s offset {}",
                    replica.repl.offset, upstream.repl.offset
                );
                self.violation(message);
            }
        }
    }

    /// Sleeps, checking safety every 100 ms of simulated time.
    async fn sleep_watching(&self, duration: Duration) {
        let end = now() + duration;
        while now() < end {
            let step = (end - now()).min(Duration::from_millis(100));
            madsim::time::sleep(step).await;
            self.monitor_safety();
        }
    }

    /// Starts a reader client on every replica serving the data of the
    /// workload's top master (none when the workload's read rate is 0).
    fn spawn_readers(
        &self,
        index: usize,
        spec: &crate::scenario::WorkloadSpec,
    ) -> Vec<madsim::task::JoinHandle<()>> {
        let rate = spec.read_rate();
        if rate <= 0.0 {
            return Vec::new();
        }
        let top = self.top_master(&spec.on);
        let replicas: Vec<String> = self
            .topology
            .iter()
            .filter(|(name, master)| {
                master.is_some() && **name != spec.on && self.top_master(name) == top
            })
            .map(|(name, _)| name.clone())
            .collect();
        replicas
            .into_iter()
            .map(|replica| {
                let seed = derive_seed(self.seed, &format!("step {index} reader {replica}"));
                let task = workload::run_reader(replica, spec.clone(), seed, rate);
                self.client.spawn(task)
            })
            .collect()
    }

    async fn join_workload(&mut self, background: Background) {
        let mut total = WorkloadOutcome::default();
        for client in background.clients {
            if let Ok(outcome) = client.await {
                total.sent += outcome.sent;
                total.acked += outcome.acked;
                total.errors += outcome.errors;
                total.unanswered += outcome.unanswered;
                total.string_writes.extend(outcome.string_writes);
                total
                    .readonly_violations
                    .extend(outcome.readonly_violations);
            }
        }
        for reader in &background.readers {
            reader.abort();
        }
        self.event(format!(
            "{} workload done: sent {} acked {} errors {} unanswered {}",
            background.step, total.sent, total.acked, total.errors, total.unanswered
        ));
        for violation in std::mem::take(&mut total.readonly_violations) {
            self.violation(format!("{}: {violation}", background.step));
        }
        self.outcomes.push(total);
    }

    fn check(&mut self, path: &str, spec: &CheckSpec) {
        if spec.converged {
            match self.converged() {
                Ok(()) => self.event(format!("{path} check converged: ok")),
                Err(stuck) => {
                    self.expectation(format!("{path}: not converged: {}", stuck.join("; ")))
                }
            }
        }
        let Some(on) = &spec.on else { return };
        let counter = |field: &str| {
            self.info_field(on, field)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        // A replica's full/partial syncs are counted by the syncs it
        // received, read from its log; a master's by what it served.
        let lines: Vec<String> = self
            .log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|l| &l.node == on)
            .map(|l| l.message.clone())
            .collect();
        let received_full = lines
            .iter()
            .filter(|l| l.starts_with("Full resync from master:"))
            .count() as u64;
        let received_partial = lines
            .iter()
            .filter(|l| l.as_str() == "Successful partial resynchronization with master.")
            .count() as u64;
        let is_replica_config = self
            .scenario
            .nodes
            .iter()
            .any(|n| &n.name == on && n.replicaof.is_some())
            || self.topology.get(on).cloned().flatten().is_some();
        let syncs = [
            ("full_syncs", &spec.full_syncs, received_full, "sync_full"),
            (
                "partial_syncs",
                &spec.partial_syncs,
                received_partial,
                "sync_partial_ok",
            ),
        ];
        let mut failed = Vec::new();
        for (what, expected, received, served_field) in syncs {
            let Some(expected) = expected else { continue };
            let actual = if is_replica_config {
                received
            } else {
                counter(served_field)
            };
            if expected.holds(actual) {
                self.event(format!("{path} check {on} {what} {actual}: ok"));
            } else {
                failed.push(format!("{path}: {on} {what} {actual}, expected {expected}"));
            }
        }
        for (field, expected) in &spec.info {
            let actual = self.info_field(on, field);
            if expect::info_holds(expected, actual.as_deref()) {
                self.event(format!("{path} check {on} {field} {expected}: ok"));
            } else {
                let failure = expect::info_failure(on, field, expected, actual.as_deref());
                failed.push(format!("{path}: {failure}"));
            }
        }
        for wanted in &spec.log {
            if lines.iter().any(|l| l.contains(wanted.as_str())) {
                self.event(format!("{path} check {on} log {wanted:?}: ok"));
            } else {
                failed.push(format!(
                    "{path}: no line containing {wanted:?} in {on}'s log"
                ));
            }
        }
        for failure in failed {
            self.expectation(failure);
        }
    }

    /// Heals every fault, waits for convergence within the liveness bound,
    /// and judges the run.
    async fn finish(mut self) -> RunReport {
        self.heal();
        let handle = self.handle.clone();
        for node in &mut self.nodes {
            match node.status {
                NodeStatus::Paused => {
                    handle.resume(node.handle.id());
                    node.status = NodeStatus::Up;
                }
                NodeStatus::Crashed => cluster::restart(&handle, node),
                NodeStatus::Up => {}
            }
        }
        let background = std::mem::take(&mut self.background);
        for workload in background {
            self.join_workload(workload).await;
        }
        self.event("steps done: faults healed, waiting for convergence");
        let deadline = now() + self.scenario.liveness;
        let liveness = loop {
            self.monitor_safety();
            if self.is_converged() {
                break Ok(());
            }
            if now() >= deadline {
                break self.converged();
            }
            madsim::time::sleep(Duration::from_millis(100)).await;
        };
        if liveness.is_ok() && !self.history_may_fork {
            self.check_acknowledged_writes();
        }
        let violations =
            std::mem::take(&mut *self.violations.lock().unwrap_or_else(|p| p.into_inner()));
        let verdict = if !violations.is_empty() {
            Verdict::Safety(violations)
        } else if let Err(stuck) = liveness {
            Verdict::Liveness(
                stuck
                    .into_iter()
                    .map(|s| {
                        format!(
                            "replica did not converge within {}: {s}",
                            stamp(self.scenario.liveness)
                        )
                    })
                    .collect(),
            )
        } else if !self.expectations.is_empty() {
            Verdict::Expectation(std::mem::take(&mut self.expectations))
        } else {
            Verdict::Pass
        };
        self.event(format!("verdict {}", verdict.name()));
        let trace = std::mem::take(&mut *self.trace.lock().unwrap_or_else(|p| p.into_inner()));
        let log: Vec<String> = self
            .log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|l| l.to_string())
            .collect();
        let mut hasher = Sha1::new();
        for line in trace.iter().chain(&log) {
            hasher.update(line.as_bytes());
            hasher.update(b"\n");
        }
        RunReport {
            scenario: self.scenario.name.clone(),
            file: self.scenario.file.clone(),
            seed: self.seed,
            verdict,
            simulated: now(),
            wall: Duration::ZERO,
            trace_hash: crate::digest::to_hex(&hasher.finalize().into()),
            trace,
            log,
        }
    }

    /// Every workload string key still holds its last acknowledged value
    /// or a later one, on its top master (all workloads of the run together,
    /// since they share key names).
    fn check_acknowledged_writes(&self) {
        let writes: Vec<workload::StringWrite> = self
            .outcomes
            .iter()
            .flat_map(|o| o.string_writes.iter().cloned())
            .collect();
        let masters: std::collections::BTreeSet<String> = self
            .scenario
            .steps
            .iter()
            .filter_map(|s| match &s.action {
                Action::Workload(w) => Some(self.top_master(&w.on)),
                _ => None,
            })
            .collect();
        // Workloads on different top masters write different histories.
        if masters.len() != 1 {
            return;
        }
        let top = masters.into_iter().next().expect("one master");
        let Some(server) = self.node(&top).server() else {
            return;
        };
        let state = server.state();
        let value_of = |db: u8, key: &str| match state
            .keyspace
            .db(db as usize)
            .get(key.as_bytes())
            .map(|e| &e.value)
        {
            Some(crate::keyspace::Value::Str(s)) => Some(s.to_vec()),
            _ => None,
        };
        let violations = check::lost_writes(&writes, value_of);
        self.violations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(violations);
    }
}

fn is_write_command(args: &[String]) -> bool {
    args.first()
        .and_then(|name| crate::command::lookup(name.as_bytes()))
        .is_some_and(|spec| spec.is_write())
}
