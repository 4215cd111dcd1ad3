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
//!
//! # Layout
//!
//! - [`cluster`]: the simulated nodes and their disks.
//! - `runner`: the state of one run and the step loop, which hands each
//!   step to the module that owns its kind.
//! - `faults`: cuts, partitions, network changes, crashes, restarts and
//!   pauses, and when each pair of nodes last lost its connections.
//! - `traffic`: workload clients and the readers they start on replicas.
//! - `commands`: `command` and `replicaof` steps and the topology they
//!   change.
//! - `assertions`: `check` and `await` steps.
//! - `convergence`: whether every replica's link is up and its data equal
//!   to its top master's, and the liveness wait at the end.
//! - `safety`: the rules checked all along (offsets, the canonical history,
//!   acknowledged writes).
//! - [`pubsub`]: the `pubsub` family's publishers' payloads and its
//!   subscriber clients; [`delivery`]: the rules judging what the
//!   subscribers received.
//! - `finish`: the end of a run: heal, wait, judge, hash.
//! - [`lag`]: each replica's lag behind its top master, and what each node
//!   sent, measured from what the nodes report.
//! - `recording`: what the runner tells the run's timeline
//!   ([`crate::timeline`]) beyond what the nodes' probes report.
//! - [`check`], [`expect`], [`history`], [`workload`]: what those build on.

pub mod check;
pub mod cluster;
pub mod delivery;
pub mod expect;
pub mod history;
pub mod lag;
pub mod losses;
pub mod pubsub;
pub mod workload;

mod assertions;
mod commands;
mod convergence;
mod faults;
mod finish;
mod recording;
mod runner;
mod safety;
mod sentinels;
mod traffic;

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use crate::scenario::Scenario;
use crate::server::probe::PlantedBugs;
use runner::Runner;

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
    /// Each replica's lag behind its top master (replicas never sampled
    /// are left out).
    pub lag: Vec<lag::ReplicaLag>,
    /// What each server node sent, by node.
    pub traffic: BTreeMap<String, lag::Traffic>,
    /// Writes the servers handed to the simulated network (their
    /// messages; the harness's clients' own writes are not counted).
    pub messages: u64,
    /// Correct reads whose answer a replica's clock skew decided.
    pub skewed_reads: history::SkewedReads,
    /// The acknowledged writes the run lost, and why.
    pub losses: losses::LossReport,
    /// The run's timeline, when it was recorded
    /// ([`run_seed_with_timeline`]).
    pub timeline: Option<crate::timeline::Timeline>,
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
    run_seed_recording(scenario, seed, options, false)
}

/// [`run_seed_with`], recording the run's timeline into the report's
/// `timeline` (the run itself is the same: recording only listens).
pub fn run_seed_with_timeline(scenario: &Scenario, seed: u64, options: RunOptions) -> RunReport {
    run_seed_recording(scenario, seed, options, true)
}

fn run_seed_recording(
    scenario: &Scenario,
    seed: u64,
    options: RunOptions,
    timeline: bool,
) -> RunReport {
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
                runtime.block_on(async move {
                    let mut runner = Runner::new(owned, seed, options);
                    if timeline {
                        runner.record_timeline();
                    }
                    runner.run().await
                })
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
        lag: Vec::new(),
        traffic: BTreeMap::new(),
        messages: 0,
        skewed_reads: Default::default(),
        losses: Default::default(),
        timeline: None,
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
    crate::server::panic_text(&**panic).map_or_else(
        || "panic with a non-text payload".to_string(),
        |text| format!("panic: {text}"),
    )
}
