//! The runner: the state of one run inside the simulation, its
//! construction, and the step loop. The loop times each step from its own
//! seed, checks safety around it, and hands it to the module that owns its
//! kind; the trace, violation and expectation recorders every module
//! reports through live here too.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use madsim::runtime::Handle;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::cluster::{self, SimNode};
use super::commands::is_keyspace_write;
use super::traffic::RunningWorkload;
use super::workload::{self, WorkloadOutcome};
use super::{derive_seed, history, RunOptions, RunReport};
use crate::log::SharedSimLog;
use crate::runtime::{SimClocks, SimNet};
use crate::scenario::{Action, DurationRange, Scenario, Step, WorkloadKind};

/// A duration drawn from `range` (its minimum when the range is fixed,
/// without consuming a draw, so fixed ranges leave the rng untouched).
pub(super) fn draw_duration(rng: &mut ChaCha8Rng, range: DurationRange) -> Duration {
    if range.max <= range.min {
        return range.min;
    }
    let (min, max) = (range.min.as_micros() as u64, range.max.as_micros() as u64);
    Duration::from_micros(rng.gen_range(min..=max))
}

/// Simulated time since the run started.
pub(super) fn now() -> Duration {
    madsim::time::TimeHandle::current().elapsed()
}

/// `at` as the trace writes times: seconds with milliseconds.
pub(super) fn stamp(at: Duration) -> String {
    format!("{}.{:03}s", at.as_secs(), at.subsec_millis())
}

/// Plays one run inside the simulation.
pub(super) struct Runner {
    pub(super) scenario: Scenario,
    pub(super) seed: u64,
    pub(super) handle: Handle,
    pub(super) net: Arc<SimNet>,
    pub(super) log: SharedSimLog,
    pub(super) nodes: Vec<SimNode>,
    /// The madsim node every workload and reader client runs on: the
    /// host a scenario names `clients` in a `partition` or a `cut`.
    pub(super) client: madsim::runtime::NodeHandle,
    /// The madsim node the scenario's own `command`, `await` and `check`
    /// steps and manual promotions are sent from: the operator's, apart
    /// from the clients' so that cutting the clients off a node leaves
    /// the scenario able to reach it.
    pub(super) operator: madsim::runtime::NodeHandle,
    pub(super) trace: Arc<Mutex<Vec<String>>>,
    pub(super) violations: Arc<Mutex<Vec<String>>>,
    /// Failed assertions of the scenario itself.
    pub(super) expectations: Vec<String>,
    /// The canonical history the nodes report to.
    pub(super) ledger: history::SharedLedger,
    /// Every node's clock skew.
    pub(super) clocks: Arc<SimClocks>,
    pub(super) options: RunOptions,
    /// The client sessions of `command` steps, by node.
    pub(super) sessions: BTreeMap<String, workload::Session>,
    /// When connections between two nodes (names in order) last broke by
    /// a fault of the harness (a cut, a crash or restart of either).
    pub(super) broken_at: BTreeMap<(String, String), Duration>,
    /// The current `replicaof` of every node.
    pub(super) topology: BTreeMap<String, Option<String>>,
    /// Every link (from, to) a partition clogged and that has not healed,
    /// once per partition holding it, with whether that partition
    /// black-holes it: a link two partitions clogged stays clogged until
    /// both ended.
    pub(super) clogged: Vec<((String, String), bool)>,
    /// Every link (from, to) or interface (from, `None`) a `throttle`
    /// holds, once per throttle.
    pub(super) throttled: Vec<(String, Option<String>)>,
    /// Every (reader, writer) a `stall` holds, once per stall.
    pub(super) stalled: Vec<(String, String)>,
    /// Workloads started in the background and not yet joined.
    pub(super) background: Vec<RunningWorkload>,
    /// `command` steps still waiting for their replies (`background`).
    pub(super) background_commands: Vec<super::commands::BackgroundCommand>,
    /// What each joined workload did.
    pub(super) outcomes: Vec<WorkloadOutcome>,
    /// Whether the scenario itself writes keys the workloads write (its
    /// own commands, flushes): an acknowledged write the final history
    /// holds may then be gone without a bug.
    pub(super) untracked_writes: bool,
    /// Masters that accepted a FAILOVER not yet seen to end: the topology
    /// follows each once it does.
    pub(super) pending_failovers: Vec<super::losses::CoordinatedFailover>,
    /// Coordinated failovers that handed the master role over.
    pub(super) failovers_done: Vec<super::losses::CoordinatedFailover>,
    /// Where the run's timeline is recorded (disabled unless asked for).
    pub(super) timeline: crate::timeline::record::Recorder,
    /// What the run lost of its acknowledged writes (judged at the end).
    pub(super) losses: super::losses::LossReport,
    /// The scenario's Sentinels, in file order.
    pub(super) sentinels: Vec<super::sentinels::SimSentinel>,
    /// What Sentinel's safety rules remember between checks.
    pub(super) sentinel_memory: Mutex<super::sentinels::SentinelMemory>,
    /// The `pubsub` family's subscriber clients, running until the end.
    pub(super) subscribers: Vec<madsim::task::JoinHandle<()>>,
    /// What they received, connection by connection.
    pub(super) subscriber_log: super::pubsub::SubscriberLog,
}

/// The workload clients' host.
const CLIENTS_IP: &str = "10.0.0.250";
/// What a scenario calls the clients' host (a name no node may take).
pub(crate) const CLIENTS: &str = crate::scenario::CLIENTS_HOST;
/// The host of the scenario's own commands.
const OPERATOR_IP: &str = "10.0.0.251";

impl Runner {
    pub(super) fn new(scenario: Scenario, seed: u64, options: RunOptions) -> Runner {
        let handle = Handle::current();
        let client = handle
            .create_node()
            .name("client")
            .ip(CLIENTS_IP.parse().expect("valid ip"))
            .build();
        let operator = handle
            .create_node()
            .name("operator")
            .ip(OPERATOR_IP.parse().expect("valid ip"))
            .build();
        // Writes the checker does not track may replace what a workload
        // wrote (forks are the accounting's, see `losses`).
        let untracked_writes = scenario.steps.iter().any(|s| match &s.action {
            Action::Workload(w) => w.mix.contains(&WorkloadKind::Flushes),
            // A write of the scenario's own may replace or remove what a
            // workload wrote (FLUSHALL, DEL, SET of the same key).
            Action::Command { args, .. } => is_keyspace_write(args),
            _ => false,
        });
        let net = Arc::new(SimNet::default());
        net.add_node(CLIENTS_IP.parse().expect("valid ip"), CLIENTS);
        net.set_window(scenario.network.window as usize);
        net.set_bandwidth(scenario.network.bandwidth);
        let clocks = Arc::new(SimClocks::default());
        let mut ledger = history::Ledger::default();
        ledger.set_clocks(clocks.clone());
        Runner {
            clocks,
            topology: scenario
                .nodes
                .iter()
                .map(|n| (n.name.clone(), n.replicaof.clone()))
                .collect(),
            scenario,
            seed,
            handle,
            net,
            log: Arc::default(),
            nodes: Vec::new(),
            client,
            operator,
            trace: Arc::default(),
            violations: Arc::default(),
            expectations: Vec::new(),
            ledger: Arc::new(Mutex::new(ledger)),
            options,
            broken_at: BTreeMap::new(),
            sessions: BTreeMap::new(),
            clogged: Vec::new(),
            throttled: Vec::new(),
            stalled: Vec::new(),
            background: Vec::new(),
            background_commands: Vec::new(),
            outcomes: Vec::new(),
            untracked_writes,
            pending_failovers: Vec::new(),
            failovers_done: Vec::new(),
            timeline: Default::default(),
            losses: Default::default(),
            sentinels: Vec::new(),
            sentinel_memory: Default::default(),
            subscribers: Vec::new(),
            subscriber_log: Arc::default(),
        }
    }

    /// Appends `text` to the trace, stamped with the simulated time.
    pub(super) fn event(&self, text: impl AsRef<str>) {
        let line = format!("{} {}", stamp(now()), text.as_ref());
        self.trace
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(line);
    }

    /// A broken safety rule (a safety verdict).
    pub(super) fn violation(&self, text: String) {
        self.event(format!("VIOLATION {text}"));
        self.timeline
            .flag(crate::timeline::FlagKind::Violation, &text);
        self.violations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(text);
    }

    /// A failed assertion of the scenario (an expectation verdict).
    pub(super) fn expectation(&mut self, text: String) {
        self.event(format!("EXPECTATION FAILED {text}"));
        self.timeline
            .flag(crate::timeline::FlagKind::Expectation, &text);
        self.expectations.push(text);
    }

    pub(super) fn node(&self, name: &str) -> &SimNode {
        self.nodes
            .iter()
            .find(|n| n.name == name)
            .expect("validated node name")
    }

    pub(super) fn node_mut(&mut self, name: &str) -> &mut SimNode {
        self.nodes
            .iter_mut()
            .find(|n| n.name == name)
            .expect("validated node name")
    }

    /// The master at the top of `name`'s chain (itself for a master).
    pub(super) fn top_master(&self, name: &str) -> String {
        let mut current = name.to_string();
        for _ in 0..=self.nodes.len() {
            match self.topology.get(&current).cloned().flatten() {
                Some(master) => current = master,
                None => return current,
            }
        }
        current
    }

    /// Starts the nodes, plays every step, and judges the run.
    pub(super) async fn run(mut self) -> RunReport {
        self.spawn_nodes();
        self.spawn_sentinels();
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
            // Each step draws from its own seed, so a step that draws more
            // does not move what the later steps draw.
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
            self.follow_failovers();
            self.follow_sentinels();
            self.monitor_safety();
            self.step(index, step, &mut rng).await;
            self.follow_failovers();
            self.follow_sentinels();
            self.monitor_safety();
            previous_end = now();
        }
        self.finish().await
    }

    /// Creates one madsim node per scenario node, in the scenario's order
    /// (which fixes their IPs).
    pub(super) fn spawn_nodes(&mut self) {
        for (index, spec) in self.scenario.nodes.iter().enumerate() {
            // `validate` checks every config value: a refusal here is a bug.
            let config = cluster::node_config(spec).unwrap_or_else(|error| panic!("{error}"));
            let probe = cluster::Probe {
                ledger: self.ledger.clone(),
                planted: self.options.planted,
                timeline: self.timeline.clone(),
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
                &self.clocks,
            );
            self.nodes.push(node);
        }
    }

    /// Plays one step: the action's own module does the work.
    async fn step(&mut self, index: usize, step: &Step, rng: &mut ChaCha8Rng) {
        let path = &step.path;
        match &step.action {
            Action::Sleep(range) => self.sleep_step(path, *range, rng).await,
            Action::Await { condition, timeout } => {
                self.await_condition(path, condition, *timeout).await
            }
            Action::Workload(spec) => self.workload(index, path, spec, step.background, rng).await,
            Action::Command {
                on,
                args,
                db,
                expect,
            } if step.background => self.start_background_command(path, on, args, *db, expect),
            Action::Command {
                on,
                args,
                db,
                expect,
            } => self.command(path, on, args, *db, expect.as_ref()).await,
            Action::Cut { a, b } => self.cut(path, a, b),
            Action::Partition {
                one,
                other,
                oneway,
                black_hole,
                duration,
            } => {
                let shape = super::faults::PartitionShape {
                    oneway: *oneway,
                    black_hole: *black_hole,
                };
                self.partition(path, one, other, shape, *duration, rng)
                    .await
            }
            Action::Throttle {
                from,
                to,
                bandwidth,
                duration,
            } => {
                self.throttle(path, from, to.as_deref(), *bandwidth, *duration, rng)
                    .await
            }
            Action::Stall {
                node,
                from,
                duration,
            } => self.stall(path, node, from, *duration, rng).await,
            Action::Heal => self.heal(path),
            Action::Disk { node, fault } => self.disk(path, node, *fault),
            Action::Clock {
                node,
                jump_ms,
                drift,
            } => self.clock(path, node, *jump_ms, *drift),
            Action::Network {
                latency,
                loss,
                bandwidth,
                window,
            } => self.change_network(path, *latency, *loss, *bandwidth, *window),
            Action::Crash {
                node,
                lose_unsynced,
                fin,
            } => self.crash(path, node, *lose_unsynced, *fin),
            Action::Restart { node } => self.restart(path, node),
            Action::Pause { node, duration } => self.pause(path, node, *duration, rng).await,
            Action::Resume { node } => self.resume(path, node),
            Action::ReplicaOf { node, master } => {
                self.replicaof(path, node, master.as_deref()).await
            }
            Action::Check(spec) => self.check(path, spec),
        }
    }

    /// A `sleep` step.
    async fn sleep_step(&self, path: &str, range: DurationRange, rng: &mut ChaCha8Rng) {
        let duration = draw_duration(rng, range);
        self.event(format!("{path} sleep {}", stamp(duration)));
        self.sleep_watching(duration).await;
    }

    /// Sleeps, checking safety every 100 ms of simulated time.
    pub(super) async fn sleep_watching(&self, duration: Duration) {
        let end = now() + duration;
        while now() < end {
            let step = (end - now()).min(Duration::from_millis(100));
            madsim::time::sleep(step).await;
            self.monitor_safety();
        }
    }
}
