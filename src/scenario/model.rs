//! The scenario model: what a scenario file means once it has been parsed and
//! validated. Every value here is already checked (nodes exist, ranges are
//! ordered, steps can happen in file order), so the runner can use it without
//! checking again.

use std::fmt;
use std::time::Duration;

/// One scenario file: a topology, network conditions and steps to run, run
/// once per seed.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// The file's display name, as given to [`Scenario::parse`] or the path
    /// given to [`Scenario::load`].
    pub file: String,
    /// `name`: unique among the scenarios of a run; `[a-z0-9-]+`.
    pub name: String,
    /// `about`: free text for the reader ("" when absent).
    pub about: String,
    /// `seeds`: how many seeds a run tries (default 16).
    pub seeds: u64,
    /// `regressions`: seeds that once failed, always run in addition.
    pub regressions: Vec<u64>,
    /// `liveness`: once the steps are done, every replica must converge
    /// within this bound (default 60s).
    pub liveness: Duration,
    /// `network`: latency and loss at the start of the run.
    pub network: NetworkSpec,
    /// `nodes`, in file order.
    pub nodes: Vec<NodeSpec>,
    /// `steps`, in file order (which is the order they run in).
    pub steps: Vec<Step>,
    /// `losses`: bounds on the acknowledged writes the run may lose.
    pub losses: LossBounds,
    /// `sentinels`, in file order: Redis Sentinels watching the nodes.
    pub sentinels: Vec<SentinelSpec>,
}

/// One Sentinel of the scenario: a host of its own (faults apply to it as
/// to any node) running replsim's Sentinel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentinelSpec {
    /// Its name, unique among nodes and Sentinels.
    pub name: String,
    /// The node it monitors (`sentinel monitor`), by the address it has at
    /// start.
    pub monitor: String,
    /// The master name it monitors it under (default `mymaster`).
    pub master_name: String,
    /// Sentinels that must agree the master is down (`quorum`).
    pub quorum: u32,
    /// Per-master directives (`down-after-milliseconds`, ...), in file
    /// order, values as text.
    pub config: Vec<(String, String)>,
}

/// Bounds on what a run may lose of its acknowledged writes (Redis's
/// design allows some losses; a scenario says how many it tolerates).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LossBounds {
    /// `acknowledged`: acknowledged writes lost, whatever the cause.
    pub acknowledged: Option<CountCheck>,
    /// `waited`: lost writes that a WAIT had confirmed, held by a replica
    /// that never went down afterwards.
    pub waited: Option<CountCheck>,
    /// `split_brain`: how long a master that was not the run's final one
    /// kept acknowledging writes that were then lost.
    pub split_brain: Option<DurationCheck>,
}

impl LossBounds {
    /// Whether the scenario bounds anything.
    pub fn any(&self) -> bool {
        self.acknowledged.is_some() || self.waited.is_some() || self.split_brain.is_some()
    }
}

/// A requirement on a duration: `"<= 2s"`, `"== 0s"`, ...
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DurationCheck {
    /// How the actual duration compares to `value`.
    pub op: CmpOp,
    /// The duration compared with.
    pub value: Duration,
}

impl DurationCheck {
    /// Whether `actual` satisfies the requirement.
    pub fn holds(&self, actual: Duration) -> bool {
        self.op.holds(actual, self.value)
    }
}

impl fmt::Display for DurationCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.op, DisplayDuration(self.value))
    }
}

/// Network conditions between every pair of nodes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NetworkSpec {
    /// One-way delivery latency, drawn per message (default 1ms..5ms).
    pub latency: DurationRange,
    /// Probability of losing a packet, in `[0, 1)` (default 0).
    pub loss: f64,
    /// Bytes per second each link (each direction between two nodes)
    /// carries; `None` is unlimited (default 1 Gbit/s).
    pub bandwidth: Option<u64>,
    /// Bytes in flight per direction of a connection before its writer
    /// blocks (default 1 MB).
    pub window: u64,
}

impl Default for NetworkSpec {
    fn default() -> Self {
        NetworkSpec {
            latency: DurationRange {
                min: Duration::from_millis(1),
                max: Duration::from_millis(5),
            },
            loss: 0.0,
            bandwidth: Some(crate::runtime::DEFAULT_SIM_BANDWIDTH),
            window: crate::runtime::DEFAULT_SIM_WINDOW,
        }
    }
}

/// One node of the topology.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSpec {
    /// The node's name, `[a-z][a-z0-9_-]*`.
    pub name: String,
    /// The node it replicates from at start, if any (exists, and the
    /// replicaof graph has no cycle).
    pub replicaof: Option<String>,
    /// Redis config parameters in file order, values as Redis text (booleans
    /// as `yes`/`no`, numbers as decimal text).
    pub config: Vec<(String, String)>,
    /// Whether the node's disk keeps its RDB across crash and restart
    /// (default true).
    pub persist: bool,
    /// The redis.conf the node starts from (`conf`), read when the
    /// scenario was loaded; `config` is applied after it.
    pub conf: Option<NodeConf>,
}

/// A node's redis.conf, as read when its scenario was loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeConf {
    /// The path as the scenario gives it (relative to the scenario file).
    pub path: String,
    /// The file's text.
    pub text: String,
    /// The directory relative `include` paths are resolved against (the
    /// conf file's own).
    pub dir: std::path::PathBuf,
}

/// A duration drawn uniformly from `min..=max` per seed; a fixed value has
/// `min == max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DurationRange {
    /// Shortest duration.
    pub min: Duration,
    /// Longest duration (`>= min`).
    pub max: Duration,
}

impl DurationRange {
    /// A range holding exactly `d`.
    pub fn fixed(d: Duration) -> Self {
        DurationRange { min: d, max: d }
    }

    /// Whether the range holds a single value.
    pub fn is_fixed(&self) -> bool {
        self.min == self.max
    }
}

impl fmt::Display for DurationRange {
    /// `5ms` for a fixed value, `1s..3s` for a range, in the file's units.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_fixed() {
            write!(f, "{}", DisplayDuration(self.min))
        } else {
            write!(
                f,
                "{}..{}",
                DisplayDuration(self.min),
                DisplayDuration(self.max)
            )
        }
    }
}

/// Shows a [`Duration`] the way scenario files write it: `2m`, `1500ms`,
/// `30s`, `0.25ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DisplayDuration(pub Duration);

impl fmt::Display for DisplayDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MS: u128 = 1_000_000;
        let ns = self.0.as_nanos();
        if ns == 0 {
            return f.write_str("0s");
        }
        if ns % (60 * 1000 * MS) == 0 {
            return write!(f, "{}m", ns / (60 * 1000 * MS));
        }
        if ns % (1000 * MS) == 0 {
            return write!(f, "{}s", ns / (1000 * MS));
        }
        if ns % MS == 0 {
            return write!(f, "{}ms", ns / MS);
        }
        let frac = format!("{:06}", ns % MS);
        write!(f, "{}.{}ms", ns / MS, frac.trim_end_matches('0'))
    }
}

/// An integer drawn uniformly from `min..=max`; a fixed value has
/// `min == max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IntRange {
    /// Smallest value.
    pub min: u64,
    /// Largest value (`>= min`).
    pub max: u64,
}

impl IntRange {
    /// A range holding exactly `n`.
    pub fn fixed(n: u64) -> Self {
        IntRange { min: n, max: n }
    }

    /// Whether the range holds a single value.
    pub fn is_fixed(&self) -> bool {
        self.min == self.max
    }
}

impl fmt::Display for IntRange {
    /// `5` for a fixed value, `1..32` for a range.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_fixed() {
            write!(f, "{}", self.min)
        } else {
            write!(f, "{}..{}", self.min, self.max)
        }
    }
}

/// One step of a scenario, with where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// JSON path of the step, like `steps[3]`, for messages.
    pub path: String,
    /// 1-based line of the step's `{`.
    pub line: usize,
    /// 1-based column of the step's `{`.
    pub column: usize,
    /// `at`: wait until this long after the run started.
    pub at: Option<DurationRange>,
    /// `after`: wait this long after the previous step completed.
    pub after: Option<DurationRange>,
    /// `background`: a workload that does not block the next step.
    pub background: bool,
    /// What the step does.
    pub action: Action,
}

/// What a step does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// `sleep`: wait.
    Sleep(DurationRange),
    /// `await`: wait until a condition holds; failing after `timeout`.
    Await {
        /// What to wait for.
        condition: AwaitCondition,
        /// Fail the seed if the condition does not hold by then.
        timeout: Duration,
    },
    /// `workload`: traffic from clients of one node.
    Workload(WorkloadSpec),
    /// `command`: one command on one node, optionally checking its reply.
    Command {
        /// The node whose client sends it.
        on: String,
        /// The command and its arguments.
        args: Vec<String>,
        /// The database selected first (0..=15).
        db: u8,
        /// The reply required, if any.
        expect: Option<Expect>,
    },
    /// `cut`: close every connection between two nodes (both directions).
    Cut {
        /// One node.
        a: String,
        /// The other node (never `a`).
        b: String,
    },
    /// `partition`: drop traffic between two groups of nodes.
    Partition {
        /// One group (non-empty).
        one: Vec<String>,
        /// The other group (non-empty, disjoint from `one`).
        other: Vec<String>,
        /// Drop only the traffic from `one` to `other`.
        oneway: bool,
        /// Black-hole the links (the default): a close or a connection
        /// attempt across them gets no answer until they heal. `false`
        /// lets a close through at once, as madsim alone does.
        black_hole: bool,
        /// `for`: heal its own links by itself after this long (a link an
        /// earlier partition also clogged stays clogged).
        duration: Option<DurationRange>,
    },
    /// `throttle`: give the link from one node to another, or a node's
    /// network interface, its own bandwidth.
    Throttle {
        /// The sending node.
        from: String,
        /// The receiving node (never `from`); `None` throttles everything
        /// `from` sends (its interface).
        to: Option<String>,
        /// Bytes per second (`None`: unlimited).
        bandwidth: Option<u64>,
        /// `for`: back to the network's bandwidth after this long (else at
        /// the end of the steps).
        duration: Option<DurationRange>,
    },
    /// `stall`: a node stops reading what another sends it, so its socket
    /// buffers fill and the sender's writes block.
    Stall {
        /// The node that stops reading.
        node: String,
        /// The node whose connections it stops reading (never `node`).
        from: String,
        /// `for`: reads again after this long (else at the end of the
        /// steps).
        duration: Option<DurationRange>,
    },
    /// `clock`: move a node's wall clock, or make it drift.
    Clock {
        /// The node.
        node: String,
        /// Moves its clock by this many ms at once (back when negative).
        jump_ms: Option<i64>,
        /// From now on it gains this many ms per true ms (loses when
        /// negative; 0 stops the drift).
        drift: Option<f64>,
    },
    /// `disk`: make a node's disk fail every write, or work again.
    Disk {
        /// The node.
        node: String,
        /// What goes wrong (`None`: the disk works again).
        fault: Option<crate::runtime::DiskFault>,
    },
    /// `heal`: remove every partition.
    Heal,
    /// `network`: change latency, loss, bandwidth or window from now on.
    Network {
        /// New latency, if given.
        latency: Option<DurationRange>,
        /// New loss probability in `[0, 1)`, if given.
        loss: Option<f64>,
        /// New bandwidth of every link (`Some(None)`: unlimited), if given.
        bandwidth: Option<Option<u64>>,
        /// New window of every connection, if given.
        window: Option<u64>,
    },
    /// `crash`: stop the node abruptly; its memory is lost.
    Crash {
        /// The node (running or paused; not already crashed).
        node: String,
        /// Also drop what it wrote to disk but had not synced.
        lose_unsynced: bool,
        /// Its peers get a FIN (the process died, its host closes the
        /// sockets; the default). `false`: the host lost power, and its
        /// peers learn nothing until their own timeouts, or a reset once
        /// the node is back.
        fin: bool,
    },
    /// `restart`: start a crashed node again, from its disk.
    Restart {
        /// The node (crashed at this point).
        node: String,
    },
    /// `pause`: freeze the node (it keeps its connections but does nothing).
    Pause {
        /// The node (running at this point).
        node: String,
        /// `for`: resume by itself after this long.
        duration: Option<DurationRange>,
    },
    /// `resume`: unfreeze a paused node.
    Resume {
        /// The node (paused, without `for`, at this point).
        node: String,
    },
    /// `replicaof`: `REPLICAOF master` or `REPLICAOF NO ONE` on a node.
    ReplicaOf {
        /// The node that changes master (not crashed).
        node: String,
        /// Its new master, or `None` for NO ONE; never makes a cycle.
        master: Option<String>,
    },
    /// `check`: assertions at this point of the run.
    Check(CheckSpec),
}

impl Action {
    /// The action's key in the file (`"crash"`, `"await"`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Action::Sleep(_) => "sleep",
            Action::Await { .. } => "await",
            Action::Workload(_) => "workload",
            Action::Command { .. } => "command",
            Action::Cut { .. } => "cut",
            Action::Partition { .. } => "partition",
            Action::Throttle { .. } => "throttle",
            Action::Stall { .. } => "stall",
            Action::Clock { .. } => "clock",
            Action::Disk { .. } => "disk",
            Action::Heal => "heal",
            Action::Network { .. } => "network",
            Action::Crash { .. } => "crash",
            Action::Restart { .. } => "restart",
            Action::Pause { .. } => "pause",
            Action::Resume { .. } => "resume",
            Action::ReplicaOf { .. } => "replicaof",
            Action::Check(_) => "check",
        }
    }
}

/// What an `await` step waits for.
#[derive(Debug, Clone, PartialEq)]
pub enum AwaitCondition {
    /// `"linked"`: every replica's link to its master is up.
    Linked,
    /// `"converged"`: every replica holds the same data as the master at the
    /// top of its chain.
    Converged,
    /// An INFO field of one node has a value.
    Info {
        /// The node asked.
        on: String,
        /// The INFO field, like `master_link_status`.
        field: String,
        /// The value waited for: exact text, or a numeric comparison.
        expect: InfoExpect,
    },
    /// `{"command": {...}, "expect": {...}}`: a command, sent again every
    /// 50 ms of simulated time, returns the expected reply.
    Reply {
        /// The node whose client sends the command.
        on: String,
        /// The command and its arguments.
        args: Vec<String>,
        /// The database selected first (0..=15).
        db: u8,
        /// The reply waited for.
        expect: Expect,
    },
}

impl fmt::Display for AwaitCondition {
    /// `linked`, `converged`, `r1 master_link_status == up`,
    /// `GET x on r2 returns "1"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AwaitCondition::Linked => f.write_str("linked"),
            AwaitCondition::Converged => f.write_str("converged"),
            AwaitCondition::Info { on, field, expect } => write!(f, "{on} {field} {expect}"),
            AwaitCondition::Reply {
                on,
                args,
                db,
                expect,
            } => {
                write!(f, "{} on {on}", args.join(" "))?;
                if *db != 0 {
                    write!(f, " (db {db})")?;
                }
                write!(f, " returns {expect}")
            }
        }
    }
}

/// What an INFO field must hold, in `check.info` and in an `await` on INFO.
#[derive(Debug, Clone, PartialEq)]
pub enum InfoExpect {
    /// A string without an operator: exactly this text, like `"up"`.
    Equals(String),
    /// A bare JSON number (`==`) or a string starting with an operator
    /// (`">= 10"`, `"< 0.5"`): the field, read as a number, compares so.
    /// A field that is not a number never satisfies it.
    Compare {
        /// How the field compares to `value`.
        op: CmpOp,
        /// The number compared with.
        value: f64,
    },
}

impl InfoExpect {
    /// Whether `actual` (the field's text; `None` when INFO lacks it)
    /// satisfies the requirement.
    pub fn holds(&self, actual: Option<&str>) -> bool {
        match (self, actual) {
            (_, None) => false,
            (InfoExpect::Equals(text), Some(actual)) => actual == text,
            (InfoExpect::Compare { op, value }, Some(actual)) => actual
                .trim()
                .parse::<f64>()
                .is_ok_and(|n| !n.is_nan() && op.holds(n, *value)),
        }
    }
}

impl fmt::Display for InfoExpect {
    /// `== up` for text, `>= 10` for a comparison.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InfoExpect::Equals(text) => write!(f, "== {text}"),
            InfoExpect::Compare { op, value } => write!(f, "{op} {value}"),
        }
    }
}

/// A workload: clients of one node sending a mix of writes (and reads).
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadSpec {
    /// The node the clients talk to.
    pub on: String,
    /// `ops`: how many operations in total, if bounded by count.
    pub ops: Option<IntRange>,
    /// `for`: how long, if bounded by time. At least one of `ops` and
    /// `duration` is set.
    pub duration: Option<DurationRange>,
    /// Operations per second (> 0, default 1000).
    pub rate: f64,
    /// How many distinct keys (default 100; `min >= 1`).
    pub keys: IntRange,
    /// Value sizes in bytes (default 1..32).
    pub value_size: IntRange,
    /// Kinds of operations, no duplicates, non-empty (default strings).
    pub mix: Vec<WorkloadKind>,
    /// How many databases, starting at db 0 (1..=16, default 1).
    pub dbs: u8,
    /// How many concurrent clients (>= 1, default 1).
    pub clients: u32,
    /// `readers`: reads per second by a reader client on each replica
    /// serving this workload's data (every node whose chain leads to the
    /// workload's top master); `None` for the default, half the write rate
    /// and at most [`WorkloadSpec::DEFAULT_READ_RATE_MAX`]; 0 turns readers
    /// off.
    pub readers: Option<f64>,
    /// `follow`: the clients find the master through the scenario's
    /// Sentinels, as client libraries do, starting from `on`: on a lost
    /// connection or a READONLY reply they ask the Sentinels again.
    pub follow: bool,
}

impl WorkloadSpec {
    /// The highest default read rate per replica.
    pub const DEFAULT_READ_RATE_MAX: f64 = 250.0;

    /// Reads per second on each replica.
    pub fn read_rate(&self) -> f64 {
        self.readers
            .unwrap_or((self.rate / 2.0).min(Self::DEFAULT_READ_RATE_MAX))
    }
}

/// A kind of operation in a workload's `mix`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkloadKind {
    /// `strings`: SET (now and then followed by WAIT), APPEND, INCR, DEL.
    Strings,
    /// `lists`: LPUSH, RPOP, LTRIM, ...
    Lists,
    /// `hashes`: HSET, HDEL, HINCRBY, ...
    Hashes,
    /// `sets`: SADD, SREM, SPOP, ...
    Sets,
    /// `zsets`: ZADD, ZREM, ZINCRBY, ...
    Zsets,
    /// `expires`: EXPIRE, PEXPIREAT, PERSIST, SET with EX, ...
    Expires,
    /// `multi`: MULTI/EXEC transactions.
    Multi,
    /// `flushes`: FLUSHDB and FLUSHALL.
    Flushes,
    /// `blocking`: producers push onto queues (lists and sorted sets) that
    /// consumers pop with BLPOP, BLMOVE, BLMPOP and BZPOPMIN, waiting up to
    /// 200 ms.
    Blocking,
    /// `streams`: producers XADD with approximate trimming; consumers of
    /// a group read with XREADGROUP (blocking up to 200 ms now and then),
    /// acknowledge what they got with XACK, take over idle entries with
    /// XAUTOCLAIM and XCLAIM; now and then an exact XTRIM or an XDEL.
    Streams,
    /// `scripts`: EVAL scripts that write several keys (replicated as
    /// their effects, in MULTI/EXEC), read-only EVAL_RO, and a function
    /// library (FUNCTION LOAD REPLACE, then FCALL of a writing function).
    Scripts,
    /// `pubsub`: publishers PUBLISH and SPUBLISH numbered messages on a
    /// few channels; subscribers on the workload's node and on every
    /// replica serving its data SUBSCRIBE, PSUBSCRIBE and SSUBSCRIBE to
    /// them and record what they receive (judged at the end of the run).
    Pubsub,
}

impl WorkloadKind {
    /// Every kind, in the order the format documents them.
    pub const ALL: [WorkloadKind; 12] = [
        WorkloadKind::Strings,
        WorkloadKind::Lists,
        WorkloadKind::Hashes,
        WorkloadKind::Sets,
        WorkloadKind::Zsets,
        WorkloadKind::Expires,
        WorkloadKind::Multi,
        WorkloadKind::Flushes,
        WorkloadKind::Blocking,
        WorkloadKind::Streams,
        WorkloadKind::Scripts,
        WorkloadKind::Pubsub,
    ];

    /// The kind's name in the file (`"strings"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            WorkloadKind::Strings => "strings",
            WorkloadKind::Lists => "lists",
            WorkloadKind::Hashes => "hashes",
            WorkloadKind::Sets => "sets",
            WorkloadKind::Zsets => "zsets",
            WorkloadKind::Expires => "expires",
            WorkloadKind::Multi => "multi",
            WorkloadKind::Flushes => "flushes",
            WorkloadKind::Blocking => "blocking",
            WorkloadKind::Streams => "streams",
            WorkloadKind::Scripts => "scripts",
            WorkloadKind::Pubsub => "pubsub",
        }
    }

    /// The kind named `name` in a file, if any.
    pub fn from_name(name: &str) -> Option<WorkloadKind> {
        WorkloadKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl fmt::Display for WorkloadKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The reply a `command` step requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// `{"reply": "OK"}`: this simple string.
    Simple(String),
    /// `{"bulk": "text"}`: this bulk string.
    Bulk(String),
    /// `{"nil": true}`: a nil bulk (or nil array).
    Nil,
    /// `{"integer": 5}`: this integer.
    Integer(i64),
    /// `{"error": "READONLY"}`: an error whose text starts with this.
    ErrorPrefix(String),
    /// `{"array": [...]}`: an array of exactly these items, in order; an
    /// item is a string (a bulk string), an integer, null (a nil bulk) or
    /// an expect object.
    Array(Vec<Expect>),
}

impl fmt::Display for Expect {
    /// The reply as redis-cli shows it: `OK`, `"text"`, `(nil)`,
    /// `(integer) 5`, `(error) READONLY...`, `1) "a" 2) (integer) 5`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expect::Simple(text) => f.write_str(text),
            Expect::Bulk(text) => write!(f, "{text:?}"),
            Expect::Nil => f.write_str("(nil)"),
            Expect::Integer(n) => write!(f, "(integer) {n}"),
            Expect::ErrorPrefix(prefix) => write!(f, "(error) {prefix}..."),
            Expect::Array(items) if items.is_empty() => f.write_str("(empty array)"),
            Expect::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{}) {item}", i + 1)?;
                }
                Ok(())
            }
        }
    }
}

/// The assertions of a `check` step.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckSpec {
    /// The node checked; set whenever a node-specific check is present.
    pub on: Option<String>,
    /// Every replica (or `on`'s chain) holds the same data as its master.
    pub converged: bool,
    /// Full resynchronisations the node went through.
    pub full_syncs: Option<CountCheck>,
    /// Partial resynchronisations (PSYNC continue) the node went through.
    pub partial_syncs: Option<CountCheck>,
    /// INFO fields and what they must hold, in file order.
    pub info: Vec<(String, InfoExpect)>,
    /// Lines that must appear in the node's replication log.
    pub log: Vec<String>,
}

/// A requirement on a count: `>= 1`, `== 0`, ...
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CountCheck {
    /// How `actual` compares to `value`.
    pub op: CmpOp,
    /// The number compared with.
    pub value: u64,
}

impl CountCheck {
    /// Whether `actual` satisfies the requirement.
    pub fn holds(&self, actual: u64) -> bool {
        self.op.holds(actual, self.value)
    }
}

impl fmt::Display for CountCheck {
    /// `>= 1`, `== 0`, ...
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.op, self.value)
    }
}

/// A comparison operator of a [`CountCheck`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    /// `==` (also a bare JSON integer).
    Eq,
    /// `>=`
    Ge,
    /// `>`
    Gt,
    /// `<=`
    Le,
    /// `<`
    Lt,
}

impl CmpOp {
    /// Whether `left op right` holds.
    pub fn holds<T: PartialOrd>(self, left: T, right: T) -> bool {
        match self {
            CmpOp::Eq => left == right,
            CmpOp::Ge => left >= right,
            CmpOp::Gt => left > right,
            CmpOp::Le => left <= right,
            CmpOp::Lt => left < right,
        }
    }

    /// The operator as written: `==`, `>=`, `>`, `<=`, `<`.
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ge => ">=",
            CmpOp::Gt => ">",
            CmpOp::Le => "<=",
            CmpOp::Lt => "<",
        }
    }
}

impl fmt::Display for CmpOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_display_in_the_largest_exact_unit() {
        let show = |ns: u64| DisplayDuration(Duration::from_nanos(ns)).to_string();
        assert_eq!(show(0), "0s");
        assert_eq!(show(120_000_000_000), "2m");
        assert_eq!(show(90_000_000_000), "90s");
        assert_eq!(show(1_500_000_000), "1500ms");
        assert_eq!(show(250_000), "0.25ms");
        let r = DurationRange {
            min: Duration::from_millis(1),
            max: Duration::from_secs(3),
        };
        assert_eq!(r.to_string(), "1ms..3s");
        assert_eq!(
            DurationRange::fixed(Duration::from_secs(5)).to_string(),
            "5s"
        );
    }

    #[test]
    fn count_checks_compare_and_display() {
        let c = CountCheck {
            op: CmpOp::Ge,
            value: 1,
        };
        assert!(c.holds(1) && c.holds(7) && !c.holds(0));
        assert_eq!(c.to_string(), ">= 1");
        let lt = CountCheck {
            op: CmpOp::Lt,
            value: 2,
        };
        assert!(lt.holds(1) && !lt.holds(2));
        assert_eq!(IntRange { min: 1, max: 32 }.to_string(), "1..32");
    }

    #[test]
    fn workload_kinds_round_trip_their_names() {
        for k in WorkloadKind::ALL {
            assert_eq!(WorkloadKind::from_name(k.name()), Some(k));
        }
        assert_eq!(WorkloadKind::from_name("string"), None);
    }
}
