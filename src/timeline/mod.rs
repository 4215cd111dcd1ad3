//! The timeline of one run: what happened to every node, link and client
//! operation over simulated time, recorded as structured events while the
//! run plays, and drawn as one self-contained HTML page.
//!
//! Recording never changes a run: the recorder only listens (to the nodes'
//! probes when they log, report a position, acknowledge or serve a read,
//! and to the harness when it injects a fault or checks safety), starts no
//! task and draws no randomness, so a seed plays the same with or without
//! it, and its page is the same byte for byte every time.
//!
//! # Layout
//!
//! - [`record`]: the [`Recorder`](record::Recorder) the harness and the
//!   nodes' probes report to, and the probe wrapper that feeds it.
//! - [`page`]: the HTML page (inline CSS, script and SVG; no network).
//! - [`files`]: pages written to files, one per failing run of a sweep.

pub mod files;
pub mod page;
pub mod record;

use serde::Serialize;

/// Everything a run's page shows. Times are simulated milliseconds since
/// the start of the run; nodes are indices into [`Timeline::nodes`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timeline {
    /// Scenario name.
    pub scenario: String,
    /// Scenario file.
    pub file: String,
    /// The seed.
    pub seed: u64,
    /// The command that replays the run (set by whoever writes the page;
    /// `replsim replay FILE --seed SEED` when empty).
    pub replay: String,
    /// `pass`, `safety`, `liveness`, `expectation` or `crash`.
    pub verdict: String,
    /// The verdict's lines.
    pub details: Vec<String>,
    /// When the run ended.
    pub end_ms: u64,
    /// The nodes, in scenario order.
    pub nodes: Vec<String>,
    /// Each node's role and link, whenever they changed.
    pub states: Vec<NodeState>,
    /// Each node's replication offset over time (at most one point per
    /// node per [`record::OFFSET_STEP_MS`]).
    pub offsets: Vec<OffsetPoint>,
    /// Faults, as bands over the nodes they strike.
    pub faults: Vec<FaultBand>,
    /// Instants on a node's lane: crashes, restarts, pauses, syncs,
    /// promotions, re-pointing.
    pub events: Vec<NodeEvent>,
    /// Workload string writes (SET and DEL) with their replies.
    pub writes: Vec<ClientWrite>,
    /// Reads replicas served to workload readers.
    pub reads: Vec<ClientRead>,
    /// Broken rules and failed expectations where they were found.
    pub flags: Vec<Flag>,
    /// Replicas that did not converge (a liveness verdict).
    pub stuck: Vec<usize>,
    /// The interleaved trace and node log, as `replay` prints it.
    pub log: Vec<String>,
}

/// A node's role and link from `at_ms` on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeState {
    /// When it was first seen so.
    #[serde(rename = "t")]
    pub at_ms: u64,
    /// The node.
    #[serde(rename = "n")]
    pub node: usize,
    /// `master`, `replica` or `down` (crashed).
    #[serde(rename = "r")]
    pub role: &'static str,
    /// Link to its master as ROLE names it (`connect`, `connecting`,
    /// `handshake`, `sync`, `connected`); `None` for a master.
    #[serde(rename = "l")]
    pub link: Option<&'static str>,
    /// The master it replicates from.
    #[serde(rename = "m")]
    pub master: Option<String>,
    /// The first 8 characters of its replication id.
    #[serde(rename = "id")]
    pub replid: String,
}

/// One point of a node's offset plot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OffsetPoint {
    /// When.
    #[serde(rename = "t")]
    pub at_ms: u64,
    /// The node.
    #[serde(rename = "n")]
    pub node: usize,
    /// `master_repl_offset`.
    #[serde(rename = "o")]
    pub offset: u64,
}

/// What kind of fault a band shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FaultKind {
    /// Connections between two nodes closed (an instant).
    Cut,
    /// Links clogged.
    Partition,
    /// A link's bandwidth limited.
    Throttle,
    /// A node stopped reading a peer.
    Stall,
    /// Latency, loss, bandwidth or window changed for the whole network.
    Network,
    /// A node's wall clock jumped or began to drift (an instant).
    Clock,
}

/// A fault over time, across the lanes of the nodes it strikes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FaultBand {
    /// Its kind.
    pub kind: FaultKind,
    /// What the trace says of it.
    pub label: String,
    /// The nodes it strikes (every node for a network change).
    pub nodes: Vec<usize>,
    /// When it began.
    #[serde(rename = "t")]
    pub start_ms: u64,
    /// When it ended (the end of the run when it never did).
    #[serde(rename = "u")]
    pub end_ms: u64,
    /// Whether it is still in force (its end is not known yet).
    #[serde(skip)]
    pub open: bool,
}

/// What happened to a node at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeEventKind {
    /// The harness killed it.
    Crash,
    /// The harness restarted it from its disk.
    Restart,
    /// The harness froze it.
    Pause,
    /// The harness unfroze it.
    Resume,
    /// It began receiving a full sync (RDB transfer).
    FullSync,
    /// Its link came up streaming after receiving an RDB.
    SyncDone,
    /// Its link came up streaming by a partial resync.
    PartialSync,
    /// It stopped replicating and became a master.
    Promotion,
    /// It was pointed at another master.
    Repoint,
}

/// An instant on a node's lane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeEvent {
    /// When.
    #[serde(rename = "t")]
    pub at_ms: u64,
    /// The node.
    #[serde(rename = "n")]
    pub node: usize,
    /// What.
    #[serde(rename = "k")]
    pub kind: NodeEventKind,
    /// A description.
    #[serde(rename = "d")]
    pub label: String,
}

/// A workload write to a string key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClientWrite {
    /// When it was sent.
    #[serde(rename = "t")]
    pub sent_ms: u64,
    /// When its reply came, if it did.
    #[serde(rename = "u")]
    pub replied_ms: Option<u64>,
    /// `SET db:key value` or `DEL db:key`.
    #[serde(rename = "d")]
    pub label: String,
    /// Whether it was acknowledged.
    #[serde(rename = "a")]
    pub acked: bool,
    /// Whether the run ended without it (or a later write) on its key:
    /// an acknowledged write lost.
    #[serde(rename = "x")]
    pub lost: bool,
}

/// A read a replica served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClientRead {
    /// When.
    #[serde(rename = "t")]
    pub at_ms: u64,
    /// The replica.
    #[serde(rename = "n")]
    pub node: usize,
    /// The command.
    #[serde(rename = "d")]
    pub label: String,
    /// Whether the checker judged the reply wrong.
    #[serde(rename = "x")]
    pub wrong: bool,
}

/// What a flag marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FlagKind {
    /// A rule replsim always checks broke (a safety verdict).
    Violation,
    /// Something the scenario asserted did not hold.
    Expectation,
}

/// A broken rule, or a failed expectation of the scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flag {
    /// When it was found.
    #[serde(rename = "t")]
    pub at_ms: u64,
    /// Which.
    #[serde(rename = "k")]
    pub kind: FlagKind,
    /// The node it concerns, when one does.
    #[serde(rename = "n")]
    pub node: Option<usize>,
    /// The violation.
    #[serde(rename = "d")]
    pub text: String,
}
