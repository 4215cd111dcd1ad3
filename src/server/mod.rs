//! The server core: the node's shared state (keyspace, config, clients,
//! stats, replication feed), the accept loop, the cron (active expiry), and
//! the per-connection loop in [`conn`].
//!
//! All state sits behind one mutex that is never held across an await: a
//! connection takes it once per batch of pipelined commands, as Redis's
//! single thread handles one read at a time. Everything runs through the
//! [`Runtime`] seam, so the same server runs on real TCP and in madsim.

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tokio::sync::Notify;

use crate::keyspace::Keyspace;
use crate::log::{Level, LogSink};
use crate::replication::{LinkState, ReplState};
use crate::resp::OwnedArgv;
use crate::runtime::{Listener, Runtime};

pub mod blocking;
pub mod busy;
pub mod conf_file;
pub mod conf_rewrite;
pub mod config;
pub mod config_table;
mod conn;
pub mod eviction;
mod info;
pub mod listen;
mod migrate;
pub mod monitor;
pub mod pause;
pub mod probe;
pub mod pubsub;
pub mod replica_expiry;
pub mod watch;

pub use config::{Config, ConfigError};
pub use info::render_info;

/// Counters reported by INFO stats.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    /// Connections accepted since start.
    pub connections_received: u64,
    /// Connections refused because `maxclients` clients were connected.
    pub rejected_connections: u64,
    /// Commands executed since start.
    pub commands_processed: u64,
    /// Keys deleted because they expired.
    pub expired_keys: u64,
    /// Keys evicted for `maxmemory`.
    pub evicted_keys: u64,
    /// Bytes read from clients.
    pub net_input_bytes: u64,
    /// Bytes written to clients.
    pub net_output_bytes: u64,
    /// Changes since the last save.
    pub dirty: u64,
    /// Error replies sent (INFO stats `total_error_replies`).
    pub total_error_replies: u64,
    /// Error replies by their first word (INFO errorstats).
    pub error_counts: BTreeMap<String, u64>,
    /// Per command (`get`, `config|get`): calls, rejected calls, failed
    /// calls (INFO commandstats).
    pub command_counts: BTreeMap<String, CommandCounts>,
    /// Per command, its latencies in nanoseconds (INFO latencystats), while
    /// `latency-tracking` is on.
    pub latencies: BTreeMap<String, Box<hdrhistogram::Histogram<u64>>>,
}

/// One command's line of INFO commandstats.
#[derive(Debug, Default, Clone, Copy)]
pub struct CommandCounts {
    /// Times it ran.
    pub calls: u64,
    /// Times it was refused before running (arity, auth, replica state,
    /// an error while queued in MULTI).
    pub rejected_calls: u64,
    /// Times it ran and replied with an error.
    pub failed_calls: u64,
    /// Microseconds it ran, in all (on the runtime's clock: simulated time
    /// in a simulation, where only DEBUG SLEEP takes any).
    pub usec: u64,
}

impl Stats {
    /// Counts an error reply whose text is `message` (`ERR ...`,
    /// `WRONGTYPE ...`), by its first word as Redis's errorstats do.
    pub fn count_error(&mut self, message: &str) {
        self.total_error_replies += 1;
        let prefix = message.split(' ').next().unwrap_or("ERR").to_string();
        *self.error_counts.entry(prefix).or_default() += 1;
    }

    /// The counters of command `name`.
    pub fn command(&mut self, name: &str) -> &mut CommandCounts {
        // Looked up first: the name is copied only the first time.
        if !self.command_counts.contains_key(name) {
            self.command_counts
                .insert(name.to_string(), CommandCounts::default());
        }
        self.command_counts.get_mut(name).expect("inserted above")
    }

    /// Records one run of command `name` that took `took`, as Redis's
    /// `updateCommandLatencyHistogram` does: in nanoseconds, clamped to
    /// 1 ns .. 1 s, two significant figures.
    pub fn record_latency(&mut self, name: &str, took: Duration) {
        const MIN_NS: u64 = 1;
        const MAX_NS: u64 = 1_000_000_000;
        if !self.latencies.contains_key(name) {
            let histogram = hdrhistogram::Histogram::new_with_bounds(MIN_NS, MAX_NS, 2)
                .expect("valid histogram bounds");
            self.latencies.insert(name.to_string(), Box::new(histogram));
        }
        let histogram = self.latencies.get_mut(name).expect("inserted above");
        let ns = u64::try_from(took.as_nanos()).unwrap_or(MAX_NS);
        // Within the bounds, so recording cannot fail.
        let _ = histogram.record(ns.clamp(MIN_NS, MAX_NS));
    }
}

/// Whether a client holding `pending` reply bytes has passed its class's
/// `client-output-buffer-limit` `(hard, soft, soft_seconds)` at `now` (0
/// disables a limit), as Redis's `checkClientOutputBufferLimits`: at or
/// over the hard limit, or over the soft limit for longer than its
/// seconds. `soft_since` is when the client went over the soft limit; it
/// is set the first time and cleared once the client is back under.
pub(crate) fn output_limit_reached(
    (hard, soft, soft_seconds): (u64, u64, u64),
    pending: u64,
    soft_since: &mut Option<Duration>,
    now: Duration,
) -> bool {
    let over_soft = soft > 0 && pending >= soft;
    if !over_soft {
        *soft_since = None;
    }
    let soft_expired = over_soft
        && soft_since
            .get_or_insert(now)
            .checked_add(Duration::from_secs(soft_seconds))
            // Redis drops once the time over the limit exceeds the
            // limit's seconds (`elapsed > soft_limit_seconds`).
            .is_some_and(|deadline| now > deadline);
    (hard > 0 && pending >= hard) || soft_expired
}

/// What kind of peer a connection is (CLIENT LIST `flags`, CLIENT KILL TYPE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    /// An ordinary client.
    Normal,
    /// This node's link to its master.
    Master,
    /// A replica attached to this node.
    Replica,
}

/// Lets another task close a connection (CLIENT KILL).
#[derive(Debug, Default)]
pub struct KillSwitch {
    killed: AtomicBool,
    notify: Notify,
}

impl KillSwitch {
    /// Asks the connection to close.
    pub fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
        self.notify.notify_one();
    }

    /// True once killed.
    pub fn is_killed(&self) -> bool {
        self.killed.load(Ordering::SeqCst)
    }

    /// Completes when killed.
    pub async fn killed(&self) {
        while !self.is_killed() {
            self.notify.notified().await;
        }
    }
}

/// The MULTI state of a client.
#[derive(Debug, Default)]
struct MultiState {
    queue: Vec<OwnedArgv>,
    failed: bool,
}

/// One connected client.
#[derive(Debug)]
pub struct Client {
    /// Unique id (CLIENT ID).
    pub id: u64,
    /// Selected db.
    pub db: usize,
    /// CLIENT SETNAME.
    pub name: Option<Vec<u8>>,
    /// AUTH done, or no password required at connect time.
    pub authenticated: bool,
    /// Commands from this client come from our master (never see expiry,
    /// never refused as writes).
    pub is_master: bool,
    /// Normal, master or replica.
    pub kind: ClientKind,
    /// Peer address `ip:port`.
    pub addr: String,
    /// Local address `ip:port`.
    pub laddr: String,
    /// When it connected (monotonic).
    pub created: Duration,
    /// Its last command (monotonic).
    pub last_interaction: Duration,
    /// Its last command, for CLIENT LIST `cmd=`.
    pub last_command: Option<&'static crate::command::CommandSpec>,
    /// Bytes waiting in its query buffer.
    pub query_buffer_len: usize,
    /// Bytes allocated in its query buffer beyond `query_buffer_len`
    /// (CLIENT LIST `qbuf-free`).
    pub query_buffer_free: usize,
    /// Bytes allocated for its replies (CLIENT LIST `rbs`).
    pub reply_buffer_size: usize,
    /// Reply bytes not yet written to it (CLIENT LIST `omem`).
    pub reply_pending: usize,
    /// Since when (monotonic) its pending replies have been over the soft
    /// output buffer limit (Redis's `obuf_soft_limit_reached_time`).
    pub soft_limit_since: Option<Duration>,
    /// `REPLCONF listening-port` of a replica.
    pub listening_port: u16,
    /// `REPLCONF ip-address` of a replica.
    pub replica_ip: Option<String>,
    /// `REPLCONF capa eof`.
    pub capa_eof: bool,
    /// `REPLCONF capa psync2`.
    pub capa_psync2: bool,
    /// The replication offset after this client's last command (WAIT).
    pub write_offset: u64,
    /// Replies a master client gets although its replies are dropped: the
    /// `REPLCONF ACK` a `GETACK` asks for, also when it ran queued in a
    /// MULTI block (Redis's `CLIENT_MASTER_FORCE_REPLY`).
    pub forced_replies: Vec<u8>,
    /// Its channels, patterns and shard channels.
    pub subscriptions: pubsub::Subscriptions,
    /// Pub/sub messages waiting for its connection to write them (see
    /// [`pubsub`]).
    pub pushes: crate::resp::Reply,
    /// Wakes its connection when a message is added to `pushes`.
    pub push_notify: Arc<Notify>,
    /// CLIENT REPLY OFF: its replies are dropped (pushes still go out).
    pub reply_off: bool,
    /// CLIENT REPLY SKIP took effect: the reply of the running command is
    /// dropped.
    pub reply_skip: bool,
    /// CLIENT REPLY SKIP was just sent: the next command's reply is dropped.
    pub reply_skip_next: bool,
    /// Blocked on keys (CLIENT LIST flag `b`).
    pub blocked: bool,
    /// In MONITOR mode (CLIENT LIST flag `O`): sent every command the
    /// server runs.
    pub monitor: bool,
    /// Its connection closes once its pending replies are written (a
    /// blocked client of a master that became a replica).
    pub close_after_reply: bool,
    /// Its socket, when the runtime has one to reach from outside the
    /// connection's task (see [`busy`]).
    pub raw_socket: Option<crate::runtime::RawSocket>,
    /// Its connection waits for input with nothing buffered (parked at its
    /// read, every reply written): a busy script may answer it.
    pub awaiting_input: bool,
    /// Bytes a busy script read from it that do not make a whole command
    /// yet: they go in front of what its connection reads next.
    pub carried_input: Vec<u8>,
    /// Connected through the Unix socket (CLIENT LIST flag `U`).
    pub unix_socket: bool,
    /// CLIENT NO-EVICT ON (CLIENT LIST flag `e`). replsim never evicts
    /// clients, so this only shows.
    pub no_evict: bool,
    multi: Option<MultiState>,
    kill: Arc<KillSwitch>,
}

impl Client {
    /// Whether the client speaks RESP3 (after `HELLO 3`).
    pub fn is_resp3(&self) -> bool {
        self.pushes.is_resp3()
    }

    /// Switches the protocol of the client's pushed messages (the
    /// connection switches its reply buffer itself).
    pub fn set_resp3(&mut self, resp3: bool) {
        self.pushes.set_resp3(resp3);
    }

    /// A fresh client.
    pub fn new(id: u64, addr: String, laddr: String, now: Duration, authenticated: bool) -> Self {
        Client {
            id,
            db: 0,
            name: None,
            authenticated,
            is_master: false,
            kind: ClientKind::Normal,
            addr,
            laddr,
            created: now,
            last_interaction: now,
            last_command: None,
            query_buffer_len: 0,
            query_buffer_free: 0,
            reply_buffer_size: 0,
            reply_pending: 0,
            soft_limit_since: None,
            listening_port: 0,
            replica_ip: None,
            capa_eof: false,
            capa_psync2: false,
            forced_replies: Vec::new(),
            subscriptions: pubsub::Subscriptions::default(),
            pushes: crate::resp::Reply::new(),
            push_notify: Arc::new(Notify::new()),
            reply_off: false,
            reply_skip: false,
            reply_skip_next: false,
            close_after_reply: false,
            blocked: false,
            monitor: false,
            write_offset: 0,
            raw_socket: None,
            awaiting_input: false,
            carried_input: Vec::new(),
            unix_socket: false,
            no_evict: false,
            multi: None,
            kill: Arc::new(KillSwitch::default()),
        }
    }

    /// The switch that closes this client's connection.
    pub fn kill_switch(&self) -> Arc<KillSwitch> {
        self.kill.clone()
    }

    /// Whether the replies of the running command are dropped (CLIENT
    /// REPLY OFF or SKIP); pub/sub pushes still go out.
    pub fn replies_suppressed(&self) -> bool {
        self.reply_off || self.reply_skip
    }

    /// Ends a command whose reply starts at `reply_start` in `out`: CLIENT
    /// REPLY OFF or SKIP drops it, and a SKIP sent by this command applies
    /// to the next one.
    pub fn end_reply(&mut self, out: &mut crate::resp::Reply, reply_start: usize) {
        if self.replies_suppressed() {
            out.truncate(reply_start);
        }
        self.reply_skip = std::mem::take(&mut self.reply_skip_next);
    }

    /// Inside MULTI.
    pub fn in_multi(&self) -> bool {
        self.multi.is_some()
    }

    /// Enters MULTI.
    pub fn start_multi(&mut self) {
        self.multi = Some(MultiState::default());
    }

    /// Leaves MULTI, returning the queue and whether it was poisoned by an
    /// error while queueing.
    pub fn take_multi(&mut self) -> Option<(Vec<OwnedArgv>, bool)> {
        self.multi.take().map(|m| (m.queue, m.failed))
    }

    /// Queues a command inside MULTI.
    pub fn queue(&mut self, argv: OwnedArgv) {
        if let Some(multi) = &mut self.multi {
            multi.queue.push(argv);
        }
    }

    /// Marks the open transaction as failed (EXECABORT at EXEC).
    pub fn transaction_failed(&mut self) {
        if let Some(multi) = &mut self.multi {
            multi.failed = true;
        }
    }

    /// The commands queued in MULTI, as far as they are known commands.
    pub fn queued_commands(
        &self,
    ) -> impl Iterator<Item = &'static crate::command::CommandSpec> + '_ {
        self.multi
            .iter()
            .flat_map(|multi| multi.queue.iter())
            .filter_map(|argv| crate::command::resolve(argv.argv()).ok())
    }

    /// Commands queued so far (-1 outside MULTI), as CLIENT LIST prints.
    pub fn multi_len(&self) -> i64 {
        self.multi.as_ref().map_or(-1, |m| m.queue.len() as i64)
    }

    /// Bytes of queued commands.
    pub fn multi_mem(&self) -> usize {
        self.multi
            .as_ref()
            .map_or(0, |m| m.queue.iter().map(OwnedArgv::byte_len).sum())
    }
}

/// The simulation checker's view of a node (off in real mode): where its
/// reports go, and the fingerprint of its last reported boundary.
#[derive(Clone)]
pub struct ProbeState {
    /// Receives the reports.
    pub probe: Arc<dyn probe::HistoryProbe>,
    /// Dataset fingerprint at the last boundary reported: the data at a
    /// boundary inside a command's stream bytes (after its SELECT), and the
    /// base of an expired key's deletion propagated ahead of a transaction.
    pub last_fingerprint: u64,
}

/// Work that command handlers ask the server's supervisor to start, since
/// they run under the lock and cannot spawn or wait themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// Start the link to the master for this REPLICAOF generation.
    StartLink(u64),
    /// Stop the server (SHUTDOWN).
    Shutdown,
}

/// Everything a node holds, behind the server's one lock.
pub struct ServerState {
    /// The data.
    pub keyspace: Keyspace,
    /// Configuration.
    pub config: Config,
    /// Counters.
    pub stats: Stats,
    /// Connected clients by id (the ones not executing right now).
    pub clients: BTreeMap<u64, Client>,
    /// The node's random source, seeded through the runtime seam.
    pub rng: ChaCha8Rng,
    /// False after `DEBUG SET-ACTIVE-EXPIRE 0`: the cron leaves expired
    /// keys for lookups to find.
    pub active_expire_enabled: bool,
    /// WATCHed keys and the transactions they made fail.
    pub watches: watch::Watches,
    /// Who is subscribed to which channels and patterns.
    pub pubsub: pubsub::PubSub,
    /// Clients blocked on keys.
    pub blocking: blocking::Blocking,
    /// Replication ids, offsets, backlog, replicas and master link.
    pub repl: ReplState,
    /// The node's log.
    pub logger: Arc<dyn LogSink>,
    /// Work for the server's supervisor task (link tasks, shutdown).
    pub control: Vec<Control>,
    /// Woken whenever a replica acknowledges an offset (WAIT).
    pub ack_notify: Arc<Notify>,
    /// Durable storage for the RDB.
    pub storage: Arc<dyn crate::runtime::Storage>,
    /// The simulation checker's probe, when attached.
    pub probe: Option<ProbeState>,
    /// Known bugs planted to prove the checker catches them (all off
    /// unless a checker test turns one on).
    pub planted: probe::PlantedBugs,
    /// Until when (monotonic) the whole server is paused by DEBUG SLEEP.
    pub paused_until: Option<Duration>,
    /// CLIENT PAUSE's and a coordinated failover's pauses of clients.
    pub client_pauses: pause::ClientPauses,
    /// Clients blocked in WAIT (counted in INFO `blocked_clients`, flag
    /// `b` in CLIENT LIST, as Redis's BLOCKED_WAIT).
    pub waiting_for_acks: std::collections::BTreeSet<u64>,
    /// MONITOR clients, in the order they asked.
    pub monitors: Vec<u64>,
    /// The runtime's monotonic clock, read fresh (command durations).
    pub clock: Arc<dyn Fn() -> Duration + Send + Sync>,
    /// What the process has used, where the process is this node's alone
    /// (see [`Runtime::process_usage`]).
    pub process_usage: Arc<dyn Fn() -> Option<crate::runtime::ProcessUsage> + Send + Sync>,
    /// The bytes the process has allocated, where the process is this
    /// node's alone (see [`Runtime::allocated_bytes`]).
    pub allocated_bytes: Arc<dyn Fn() -> Option<u64> + Send + Sync>,
    /// The `maxmemory` settings in force.
    pub maxmemory: eviction::Maxmemory,
    /// The keys sampled for eviction so far.
    pub eviction_pool: eviction::EvictionPool,
    /// Whether the node was over `maxmemory` (and could not evict enough)
    /// when the running command started: scripts read it (Redis's
    /// `pre_command_oom_state`).
    pub pre_command_oom: bool,
    /// `maxmemory` changed: the cron evicts what it must.
    pub eviction_pending: bool,
    /// MIGRATE's connections kept open (INFO `migrate_cached_sockets`).
    pub migrate_cached_sockets: usize,
    /// The keys a writable replica's own clients gave an expiry, which it
    /// expires itself.
    pub replica_volatile_keys: replica_expiry::ReplicaVolatileKeys,
    /// Unix ms at start.
    pub started_unix_ms: u64,
    /// Monotonic time at start.
    pub started: Duration,
    /// Unix seconds of the last successful save.
    pub last_save_unix: u64,
    /// Whether the last background save succeeded (Redis's
    /// `lastbgsave_status`).
    pub last_bgsave_ok: bool,
    /// Unix seconds of the last background save attempt.
    pub last_bgsave_try_unix: u64,
    /// The address the server listens on, once bound.
    pub listen_addr: Option<SocketAddr>,
    /// Monotonic time as of the current lock holder's start.
    pub mono_now: Duration,
    /// EVAL scripts and the functions engine.
    pub scripting: crate::scripting::Scripting,
    /// The script or function running now, if any (SCRIPT KILL, FUNCTION
    /// STATS, `-BUSY`).
    pub running_script: Option<busy::RunningScript>,
    /// Whether a script can run past `busy-reply-threshold` and answer
    /// other clients meanwhile (see [`Runtime::serves_while_busy`]);
    /// where it cannot, a looping script is stopped by an instruction
    /// budget instead.
    pub serves_while_busy: bool,
    /// Whether peers can come from loopback (see
    /// [`Runtime::has_loopback`]).
    pub has_loopback: bool,
    /// The path of the Unix socket the node listens on (`unixsocket`),
    /// once bound: its clients are named after it.
    pub unix_socket_path: Option<String>,
    /// The listening socket, when the runtime has one a busy script can
    /// accept from.
    pub listener_socket: Option<crate::runtime::RawSocket>,
    /// Connections a busy script accepted, with their client id and kill
    /// switch: the accept loop serves them once it ends.
    pub accepted_while_busy: Vec<(std::net::TcpStream, (u64, Arc<KillSwitch>))>,
    /// A listening socket CONFIG SET of `bind` or `port` opened, for the
    /// accept loop to serve from (see [`listen`]).
    pub next_listener: Option<listen::NextListener>,
    /// Wakes the accept loop when `accepted_while_busy` or
    /// `next_listener` has something.
    pub accept_notify: Arc<Notify>,
    next_client_id: u64,
    pending_propagation: Vec<(usize, OwnedArgv)>,
    /// PUBLISH and SPUBLISH commands run since the last report to the
    /// probe (only while one is attached): reported once the command's
    /// stream bytes are fed or applied, at the offset they end at.
    pending_publishes: Vec<PendingPublish>,
    /// PUBLISH and SPUBLISH commands applied from the master's stream
    /// (counts the planted publish bugs' "every third").
    pub replicated_publishes: u64,
    /// PUBLISH and SPUBLISH commands of the master's stream still to skip
    /// (a planted bug, after a partial resync).
    pub publishes_to_skip: u64,
    run_id: String,
}

/// A PUBLISH or SPUBLISH waiting to be reported to the probe.
#[derive(Debug, Clone)]
struct PendingPublish {
    channel: Vec<u8>,
    message: Vec<u8>,
    shard: bool,
    from_master: bool,
}

/// How long after a failed background save a save point may try again
/// (Redis's `CONFIG_BGSAVE_RETRY_DELAY`).
const BGSAVE_RETRY_DELAY_S: u64 = 5;

impl ServerState {
    /// Fresh state for `config`, with randomness from `seed`.
    pub fn new(config: Config, seed: u64, now_unix_ms: u64, now: Duration) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let run_id = random_hex40(&mut rng);
        let replid = random_hex40(&mut rng);
        let mut keyspace = Keyspace::new();
        keyspace.set_encoding_limits(config.encoding_limits());
        let maxmemory = eviction::Maxmemory::from_config(&config);
        ServerState {
            keyspace,
            config,
            stats: Stats::default(),
            clients: BTreeMap::new(),
            rng,
            active_expire_enabled: true,
            watches: watch::Watches::default(),
            pubsub: pubsub::PubSub::default(),
            blocking: blocking::Blocking::default(),
            repl: ReplState::new(replid),
            logger: Arc::new(crate::log::NullLog),
            control: Vec::new(),
            ack_notify: Arc::new(Notify::new()),
            storage: Arc::new(crate::runtime::MemStorage::default()),
            probe: None,
            planted: probe::PlantedBugs::default(),
            pending_publishes: Vec::new(),
            replicated_publishes: 0,
            publishes_to_skip: 0,
            paused_until: None,
            client_pauses: pause::ClientPauses::default(),
            waiting_for_acks: std::collections::BTreeSet::new(),
            monitors: Vec::new(),
            // Until a runtime sets its own: no time passes.
            clock: Arc::new(move || now),
            process_usage: Arc::new(|| None),
            allocated_bytes: Arc::new(|| None),
            maxmemory,
            eviction_pool: eviction::EvictionPool::default(),
            pre_command_oom: false,
            eviction_pending: false,
            migrate_cached_sockets: 0,
            replica_volatile_keys: replica_expiry::ReplicaVolatileKeys::default(),
            started_unix_ms: now_unix_ms,
            started: now,
            last_save_unix: now_unix_ms / 1000,
            last_bgsave_ok: true,
            last_bgsave_try_unix: 0,
            listen_addr: None,
            mono_now: now,
            scripting: crate::scripting::Scripting::new(),
            running_script: None,
            serves_while_busy: false,
            has_loopback: false,
            unix_socket_path: None,
            listener_socket: None,
            accepted_while_busy: Vec::new(),
            next_listener: None,
            accept_notify: Arc::new(Notify::new()),
            next_client_id: 1,
            pending_propagation: Vec::new(),
            run_id,
        }
    }

    /// Appends `line` to the pending output of every MONITOR client but
    /// `caller` (who gets it in its own reply) and wakes their connections.
    pub fn feed_monitors(&mut self, caller: u64, line: &str) {
        for id in &self.monitors {
            if *id == caller {
                continue;
            }
            if let Some(client) = self.clients.get_mut(id) {
                if client.kill.is_killed() {
                    continue;
                }
                client.pushes.raw(line.as_bytes());
                client.push_notify.notify_one();
            }
        }
    }

    /// Marks client `id` as blocked in WAIT, or no longer.
    pub fn set_waiting_for_acks(&mut self, id: u64, waiting: bool) {
        if waiting {
            self.waiting_for_acks.insert(id);
        } else {
            self.waiting_for_acks.remove(&id);
        }
        if let Some(client) = self.clients.get_mut(&id) {
            client.blocked = waiting;
        }
    }

    /// Forgets a client whose connection ended: its WATCHes and its
    /// subscriptions go with it.
    pub fn remove_client(&mut self, id: u64) {
        self.waiting_for_acks.remove(&id);
        self.monitors.retain(|&monitor| monitor != id);
        self.watches.unwatch_all(id);
        self.blocking.unblock(id);
        self.client_pauses.release(id);
        if let Some(mut client) = self.clients.remove(&id) {
            pubsub::forget_client(&mut self.pubsub, &mut client);
        }
    }

    /// True when this node replicates from a master.
    pub fn is_replica(&self) -> bool {
        self.repl.master.is_some()
    }

    /// Whether the node is a replica that refuses client writes
    /// (`replica-read-only yes`).
    pub fn is_readonly_replica(&self) -> bool {
        self.is_replica() && self.config.replica_read_only
    }

    /// Writes a line to the node's log, with its role.
    pub fn log(&self, level: Level, message: &str) {
        let role = if self.is_replica() { 'S' } else { 'M' };
        self.logger.log(role, level, message);
        if let Some(probe) = &self.probe {
            let view = probe::NodeView {
                master: self.repl.master.as_ref().map(|m| m.host.as_str()),
                link: self.repl.master.as_ref().map(|m| m.state),
                replid: &self.repl.replid,
                offset: self.repl.offset,
            };
            probe.probe.logged(view, message);
        }
    }

    /// Attaches the simulation checker's probe and starts fingerprint
    /// tracking. The first report comes once the node has loaded its data.
    pub fn attach_probe(&mut self, probe: Arc<dyn probe::HistoryProbe>) {
        self.keyspace.start_tracking();
        self.repl.record_boundaries = true;
        self.probe = Some(ProbeState {
            probe,
            last_fingerprint: 0,
        });
    }

    /// Resumes tracking after the keyspace was replaced (an RDB loaded) and
    /// reports the loaded data at the current offset.
    pub fn keyspace_replaced(&mut self) {
        // The keys a replica remembered are gone with its old dataset.
        self.replica_volatile_keys.clear();
        if self.probe.is_some() {
            self.keyspace.start_tracking();
            self.note_offset();
            if let (Some(state), Some(fingerprint)) =
                (&self.probe, self.keyspace.tracked_fingerprint())
            {
                state.probe.loaded(self.position(fingerprint));
            }
        }
    }

    /// Notes a PUBLISH or SPUBLISH this node ran (from a client, or from
    /// its master's stream when `from_master`), for the probe's next
    /// [`note_publishes`](Self::note_publishes).
    pub fn note_publish(&mut self, channel: &[u8], message: &[u8], shard: bool, from_master: bool) {
        if self.probe.is_some() {
            self.pending_publishes.push(PendingPublish {
                channel: channel.to_vec(),
                message: message.to_vec(),
                shard,
                from_master,
            });
        }
    }

    /// Reports the PUBLISH and SPUBLISH commands run since the last call
    /// at the node's current position: called once a command's stream
    /// bytes were fed (a master) or applied (a replica).
    pub fn note_publishes(&mut self) {
        if self.pending_publishes.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.pending_publishes);
        let (Some(state), Some(fingerprint)) = (&self.probe, self.keyspace.tracked_fingerprint())
        else {
            return;
        };
        for publish in &pending {
            state.probe.published(probe::PublishObservation {
                at: self.position(fingerprint),
                channel: &publish.channel,
                message: &publish.message,
                shard: publish.shard,
                from_master: publish.from_master,
            });
        }
    }

    /// Where this node stands, with `fingerprint` as its data.
    fn position(&self, fingerprint: u64) -> probe::Position<'_> {
        probe::Position {
            replica: self.is_replica(),
            replid: &self.repl.replid,
            replid2: &self.repl.replid2,
            second_repl_offset: self.repl.second_repl_offset,
            offset: self.repl.offset,
            feeding: self.repl.feeding(),
            fingerprint,
        }
    }

    /// Reports the current offset as a boundary of this node's history:
    /// called wherever the stream reaches a command boundary and wherever
    /// the node starts a new history. Boundaries inside the bytes just fed
    /// (after a SELECT) are reported first, with the data of the previous
    /// boundary.
    pub fn note_offset(&mut self) {
        let current = match self.keyspace.tracked_fingerprint() {
            Some(fingerprint) if self.probe.is_some() => fingerprint,
            _ => return,
        };
        self.note_offset_with(current);
    }

    /// [`note_offset`](Self::note_offset) with the data's fingerprint given.
    fn note_offset_with(&mut self, current: u64) {
        let Some(state) = &self.probe else { return };
        let (probe, previous) = (state.probe.clone(), state.last_fingerprint);
        let inner = std::mem::take(&mut self.repl.inner_boundaries);
        if !inner.is_empty() {
            let end = self.repl.offset;
            for offset in inner {
                self.repl.offset = offset;
                probe.position(self.position(previous));
            }
            self.repl.offset = end;
        }
        probe.position(self.position(current));
        if let Some(state) = &mut self.probe {
            state.last_fingerprint = current;
        }
    }

    /// Reports that this node, a replica, acknowledged `offset` with its
    /// current data.
    pub fn note_ack(&mut self, offset: u64) {
        let current = match self.keyspace.tracked_fingerprint() {
            Some(fingerprint) if self.probe.is_some() => fingerprint,
            _ => return,
        };
        if let Some(state) = &self.probe {
            state.probe.acknowledged(self.position(current), offset);
        }
    }

    /// Reports a read this node, a replica, served: `argv` in `db` got
    /// `reply`.
    pub fn note_read(&mut self, db: usize, argv: &[&[u8]], reply: &[u8], now_ms: u64) {
        let current = match self.keyspace.tracked_fingerprint() {
            Some(fingerprint) if self.probe.is_some() => fingerprint,
            _ => return,
        };
        let Some(state) = &self.probe else { return };
        let entry = argv.get(1).and_then(|key| self.keyspace.db(db).get(key));
        state.probe.read(probe::ReadObservation {
            at: self.position(current),
            db,
            argv,
            reply,
            entry,
            now_ms,
            link_up: self.master_link_up(),
            serve_stale_data: self.config.replica_serve_stale_data,
        });
    }

    /// Reports that WAIT returned `count` for writes up to `offset`.
    pub fn note_wait(&self, offset: u64, count: i64) {
        if let Some(state) = &self.probe {
            state.probe.wait_returned(&self.repl.replid, offset, count);
        }
    }

    /// True when this replica's link to its master is streaming.
    pub fn master_link_up(&self) -> bool {
        self.repl
            .master
            .as_ref()
            .is_some_and(|m| m.state == crate::replication::LinkState::Connected)
    }

    /// How many commands are queued for propagation.
    pub fn pending_propagation_len(&self) -> usize {
        self.pending_propagation.len()
    }

    /// Drops the commands queued for propagation after the first `len`
    /// (a script's writes under `redis.set_repl(redis.REPL_NONE)`).
    pub fn truncate_pending_propagation(&mut self, len: usize) {
        self.pending_propagation.truncate(len);
    }

    /// Drops what the last command queued for propagation.
    pub fn discard_pending_propagation(&mut self) {
        self.pending_propagation.clear();
    }

    /// The db the replication stream is in at the current offset: for a
    /// replica, its master client's db (the stream it forwards comes from
    /// there); for a master, the db of the stream it generates.
    pub fn stream_db_now(&self) -> usize {
        let master_client_db = self
            .repl
            .master
            .as_ref()
            .and_then(|link| link.client_id)
            .and_then(|id| self.clients.get(&id))
            .map(|client| client.db);
        match (master_client_db, &self.repl.cached_master) {
            (Some(db), _) => db,
            (None, Some(cached)) if self.is_replica() => cached.db,
            _ => self.repl.stream_db.unwrap_or(0),
        }
    }

    /// Writes the RDB to `dbfilename` through the storage seam.
    pub fn save_rdb(&mut self, now_ms: u64) -> Result<(), crate::runtime::StorageError> {
        let info = crate::rdb::RdbInfo {
            redis_ver: crate::REDIS_COMPAT_VERSION.to_string(),
            ctime_unix_s: now_ms / 1000,
            used_mem: 0,
            repl_stream_db: Some(self.stream_db_now() as u32),
            repl_id: Some(self.repl.replid.clone()),
            repl_offset: Some(self.repl.offset as i64),
        };
        let bytes = if self.planted.rdb_drops_a_key {
            crate::replication::master::planted_rdb_without_a_key(&self.keyspace, &info)
        } else {
            crate::rdb::encode(&self.keyspace, &info)
        };
        let name = &self.config.dbfilename;
        let written = if self.planted.rdb_saved_in_place {
            self.storage
                .remove(name)
                .and_then(|()| self.storage.append(name, &bytes))
                .and_then(|()| self.storage.rename_durable(name, name))
        } else {
            self.storage.write_atomic(name, &bytes)
        };
        if let Err(error) = written {
            self.log(
                Level::Warning,
                &format!(
                    "Write error saving DB on disk(rdbSaveRio): {}",
                    crate::runtime::os_error_text(&error)
                ),
            );
            return Err(error);
        }
        self.stats.dirty = 0;
        self.last_save_unix = now_ms / 1000;
        self.last_bgsave_ok = true;
        self.log(Level::Notice, "DB saved on disk");
        Ok(())
    }

    /// A background save (BGSAVE, a save point): replsim snapshots at once,
    /// so it starts and ends here, with Redis's log lines and status.
    pub fn background_save(&mut self, now_ms: u64) -> bool {
        self.last_bgsave_try_unix = now_ms / 1000;
        self.log(Level::Notice, "Background saving started by pid 1");
        let saved = self.save_rdb(now_ms).is_ok();
        if saved {
            self.log(Level::Notice, "Background saving terminated with success");
        } else {
            self.last_bgsave_ok = false;
            self.log(Level::Warning, "Background saving error");
        }
        saved
    }

    /// The save points of `save` as (seconds, changes) pairs.
    pub fn save_points(&self) -> Vec<(u64, u64)> {
        let numbers: Vec<u64> = self
            .config
            .save
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        numbers.chunks_exact(2).map(|p| (p[0], p[1])).collect()
    }

    /// Redis's save-point check in `serverCron`: a background save once a
    /// point's changes and seconds are reached (after a failed one, not
    /// before 5 s have passed).
    pub fn save_points_cron(&mut self, now_ms: u64) {
        let now = now_ms / 1000;
        let retry_allowed = self.last_bgsave_ok
            || now.saturating_sub(self.last_bgsave_try_unix) > BGSAVE_RETRY_DELAY_S;
        let due = self.save_points().into_iter().find(|&(seconds, changes)| {
            self.stats.dirty >= changes
                && now.saturating_sub(self.last_save_unix) > seconds
                && retry_allowed
        });
        if let Some((seconds, changes)) = due {
            self.log(
                Level::Notice,
                &format!("{changes} changes in {seconds} seconds. Saving..."),
            );
            self.background_save(now_ms);
        }
    }

    /// Whether writes are refused because the last background save failed
    /// (`stop-writes-on-bgsave-error` with save points configured).
    pub fn writes_denied_by_disk_error(&self) -> bool {
        self.config.stop_writes_on_bgsave_error
            && !self.config.save.is_empty()
            && !self.last_bgsave_ok
    }

    /// A new random 40-hex id from the node's RNG.
    pub fn new_replid(&mut self) -> String {
        random_hex40(&mut self.rng)
    }

    /// The 40-hex run id (INFO server).
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Registers a connection accepted on the Unix socket as a client (see
    /// [`ServerState::admit`]): it is named `<path>:0` at both ends, as in
    /// Redis, and counts as local for protected mode.
    pub fn admit_unix(
        &mut self,
        now: Duration,
        raw_socket: Option<crate::runtime::RawSocket>,
    ) -> Result<(u64, Arc<KillSwitch>), &'static [u8]> {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        let (id, kill) = self.admit(any, any, now, raw_socket)?;
        let name = format!("{}:0", self.unix_socket_path.as_deref().unwrap_or_default());
        if let Some(client) = self.clients.get_mut(&id) {
            client.addr = name.clone();
            client.laddr = name;
            client.unix_socket = true;
        }
        Ok((id, kill))
    }

    /// Registers a new connection from `peer` to `local` as a client, or
    /// refuses it (with the error to send) when `maxclients` clients
    /// (replicas and the master link included, as in Redis) are connected
    /// already, or when protected mode is on, no password is set and the
    /// peer is not 127.0.0.1 or ::1 (on real TCP only: see
    /// [`Runtime::has_loopback`]). Returns its id and kill switch.
    pub fn admit(
        &mut self,
        peer: SocketAddr,
        local: SocketAddr,
        now: Duration,
        raw_socket: Option<crate::runtime::RawSocket>,
    ) -> Result<(u64, Arc<KillSwitch>), &'static [u8]> {
        if self.clients.len() as u64 >= self.config.maxclients {
            self.stats.rejected_connections += 1;
            return Err(conn::MAX_CLIENTS_REACHED);
        }
        let id = self.next_client_id();
        // Redis creates the client (spending an id) before this check, and
        // compares the peer's text with exactly these two addresses:
        // 127.0.0.2 is refused too.
        let loopback = match peer.ip() {
            std::net::IpAddr::V4(ip) => ip == std::net::Ipv4Addr::LOCALHOST,
            std::net::IpAddr::V6(ip) => ip == std::net::Ipv6Addr::LOCALHOST,
        };
        if self.config.protected_mode
            && self.config.requirepass.is_none()
            && !loopback
            && self.has_loopback
        {
            self.stats.rejected_connections += 1;
            return Err(conn::PROTECTED_MODE_DENIED);
        }
        let authenticated = self.config.requirepass.is_none();
        let mut client = Client::new(id, peer.to_string(), local.to_string(), now, authenticated);
        client.raw_socket = raw_socket;
        let kill = client.kill_switch();
        self.clients.insert(id, client);
        self.stats.connections_received += 1;
        Ok((id, kill))
    }

    /// True when `client` must authenticate before running commands.
    pub fn auth_required(&self, client: &Client) -> bool {
        self.config.requirepass.is_some() && !client.authenticated && !client.is_master
    }

    /// A new client id.
    pub fn next_client_id(&mut self) -> u64 {
        let id = self.next_client_id;
        self.next_client_id += 1;
        id
    }

    /// Queues a command for the replication stream; sent when the current
    /// command (or EXEC) completes.
    pub fn also_propagate(&mut self, db: usize, argv: OwnedArgv) {
        self.pending_propagation.push((db, argv));
    }

    /// Feeds the commands queued by the last command to the stream, wrapped
    /// in MULTI/EXEC when there are several (Redis's
    /// `propagatePendingCommands`).
    pub fn propagate_pending(&mut self) {
        if self.pending_propagation.is_empty() {
            return;
        }
        // A writable replica's own writes stay local, as in Redis.
        if self.is_replica() {
            self.pending_propagation.clear();
            return;
        }
        let pending = std::mem::take(&mut self.pending_propagation);
        let wrap = pending.len() > 1 && !self.planted.multi_without_wrapper;
        if wrap {
            self.repl
                .feed_command(pending[0].0, &OwnedArgv::from_args(&[b"MULTI"]));
        }
        for (db, argv) in &pending {
            self.repl.feed_command(*db, argv);
        }
        if wrap {
            let db = self.repl.stream_db.unwrap_or(pending[0].0);
            self.repl
                .feed_command(db, &OwnedArgv::from_args(&[b"EXEC"]));
        }
        self.pending_propagation = pending;
        self.pending_propagation.clear();
        self.note_offset();
    }

    /// Deletes a key found expired on a master and propagates `DEL` at once,
    /// ahead of whatever the running command propagates and never inside
    /// its MULTI/EXEC (Redis's `propagateDeletion` uses `propagateNow`).
    /// Publishes the `expired` keyspace event; `current` is the client
    /// whose command found the key (none for the active expire cycle).
    pub fn delete_expired(
        &mut self,
        db: usize,
        key: &[u8],
        current: Option<pubsub::Publisher<'_>>,
    ) {
        if self.remove_and_propagate(db, key, b"DEL").is_some() {
            self.notify_keyspace_event(pubsub::notify::EXPIRED, "expired", key, db, current);
            self.watches.touch(db, key, false);
            self.stats.expired_keys += 1;
            self.stats.dirty += 1;
        }
    }

    /// Removes `key` and feeds `command key` (DEL or UNLINK) to the
    /// stream at once; returns the removed entry.
    pub fn remove_and_propagate(
        &mut self,
        db: usize,
        key: &[u8],
        command: &[u8],
    ) -> Option<crate::keyspace::Entry> {
        if let Some(entry) = self.keyspace.db_mut(db).remove(key) {
            self.repl
                .feed_command(db, &OwnedArgv::from_args(&[command, key]));
            // Clients blocked by XREADGROUP on a deleted stream are told
            // it is gone (Redis's `dbGenericDelete` signals it).
            if matches!(entry.value, crate::keyspace::Value::Stream(_)) {
                self.blocking.signal_ready(db, key);
            }
            // The DEL goes out ahead of the running command's own writes (a
            // transaction may have applied some already): the history point
            // it ends is the previous boundary's data without this key.
            if let Some(state) = &self.probe {
                let removed = crate::keyspace::entry_fingerprint(db, key, &entry);
                self.note_offset_with(state.last_fingerprint ^ removed);
            }
            return Some(entry);
        }
        None
    }

    /// One run of the active expire cycle: deletes up to `budget` expired
    /// keys per db, earliest expiry first, and propagates their `DEL`s.
    /// Replicas never expire keys themselves.
    pub fn active_expire_cycle(&mut self, now_ms: u64, budget: usize) {
        // A paused dataset stays still, as in Redis.
        if self.is_replica() || self.client_pauses.is_paused(self.mono_now) {
            return;
        }
        for db in 0..crate::keyspace::DB_COUNT {
            if self.keyspace.db(db).volatile_len() == 0 {
                continue;
            }
            for key in self.keyspace.db(db).expired_keys(now_ms, budget) {
                self.delete_expired(db, &key, None);
            }
        }
        if !self.blocking.is_empty() {
            crate::command::handle_ready_keys(self, now_ms);
        }
    }
}

/// Lower-case 40-hex id from `rng` (run ids, replication ids).
pub fn random_hex40(rng: &mut impl rand::RngCore) -> String {
    let mut bytes = [0u8; 20];
    rng.fill_bytes(&mut bytes);
    crate::digest::to_hex(&bytes)
}

/// A node: shared state plus the runtime it runs on. Cheap to clone.
pub struct Server<R: Runtime> {
    rt: R,
    state: Arc<Mutex<ServerState>>,
    shutdown: Arc<KillSwitch>,
    /// Set once the accept loop closed the listening socket after
    /// SHUTDOWN.
    stopped_listening: Arc<KillSwitch>,
    /// Set when a command panicked and the node stopped.
    crashed: Arc<AtomicBool>,
    /// Set once the RDB on disk was loaded (or found absent).
    loaded: Arc<AtomicBool>,
    /// MIGRATE's cached connections to its targets.
    migrate_sockets: Arc<Mutex<migrate::SocketCache<R::Stream>>>,
}

impl<R: Runtime> Clone for Server<R> {
    fn clone(&self) -> Self {
        Server {
            rt: self.rt.clone(),
            state: self.state.clone(),
            shutdown: self.shutdown.clone(),
            stopped_listening: self.stopped_listening.clone(),
            crashed: self.crashed.clone(),
            loaded: self.loaded.clone(),
            migrate_sockets: self.migrate_sockets.clone(),
        }
    }
}

thread_local! {
    /// Whether this thread is running a command under the crash guard.
    static EXECUTING_COMMAND: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// `file:line` of the last panic on this thread, as a panic hook saw it.
    static PANIC_LOCATION: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// True while this thread runs a command whose panic the server handles:
/// it logs a bug report and stops the node. A panic hook (`replsim serve`
/// installs one) leaves such a panic to it.
pub fn executing_command() -> bool {
    EXECUTING_COMMAND.with(|flag| flag.get())
}

/// Records where a panic happened (from a panic hook), for the bug report
/// the server logs when the panic reaches it.
pub fn note_panic_location(location: Option<String>) {
    PANIC_LOCATION.with(|slot| *slot.borrow_mut() = location);
}

/// Marks the current thread as running a command until dropped.
pub(crate) struct CommandGuard(());

impl CommandGuard {
    /// Enters a command.
    pub(crate) fn enter() -> Self {
        EXECUTING_COMMAND.with(|flag| flag.set(true));
        CommandGuard(())
    }
}

impl Drop for CommandGuard {
    fn drop(&mut self) {
        EXECUTING_COMMAND.with(|flag| flag.set(false));
    }
}

/// The text of a panic payload, when it has one (`panic!` with a message
/// gives a `String` or a `&str`).
pub(crate) fn panic_text(panic: &(dyn std::any::Any + Send)) -> Option<&str> {
    panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
}

/// The next connection on `listener`; none ever without one.
async fn accept_from<L: Listener>(listener: Option<&L>) -> io::Result<(L::Stream, SocketAddr)> {
    match listener {
        Some(listener) => listener.accept().await,
        None => std::future::pending().await,
    }
}

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Listening failed.
    #[error("cannot listen: {0}")]
    Listen(#[from] io::Error),
    /// The RDB on disk could not be read.
    #[error("cannot read the RDB: {0}")]
    Storage(#[from] crate::runtime::StorageError),
    /// Reading the RDB on disk failed midway.
    #[error("cannot read the RDB: {0}")]
    ReadRdb(io::Error),
    /// The RDB on disk is corrupt.
    #[error("Fatal error loading the DB: {0}. Exiting.")]
    Rdb(#[from] crate::rdb::RdbError),
}

impl<R: Runtime> Server<R> {
    /// A node with `config`, not yet listening.
    pub fn new(rt: R, config: Config) -> Self {
        let mut state = ServerState::new(config, rt.rng_seed(), rt.unix_time_ms(), rt.monotonic());
        state.logger = rt.logger();
        state.storage = rt.storage();
        let clock = rt.clone();
        state.clock = Arc::new(move || clock.monotonic());
        let usage = rt.clone();
        state.process_usage = Arc::new(move || usage.process_usage());
        let allocated = rt.clone();
        state.allocated_bytes = Arc::new(move || allocated.allocated_bytes());
        state.serves_while_busy = rt.serves_while_busy();
        state.has_loopback = rt.has_loopback();
        Server {
            rt,
            state: Arc::new(Mutex::new(state)),
            shutdown: Arc::new(KillSwitch::default()),
            stopped_listening: Arc::new(KillSwitch::default()),
            crashed: Arc::default(),
            loaded: Arc::default(),
            migrate_sockets: Arc::default(),
        }
    }

    /// The node's state, locked. Never hold it across an await.
    pub fn state(&self) -> MutexGuard<'_, ServerState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The node's state, locked, with its clock set to `now` (monotonic).
    pub fn state_at(&self, now: Duration) -> MutexGuard<'_, ServerState> {
        let mut state = self.state();
        state.mono_now = state.mono_now.max(now);
        state
    }

    /// The runtime.
    pub fn runtime(&self) -> &R {
        &self.rt
    }

    /// Binds the configured address and serves until SHUTDOWN.
    pub async fn run(self) -> Result<(), StartError> {
        let listener = self.bind().await?;
        self.serve(listener).await
    }

    /// Binds the configured address.
    pub async fn bind(&self) -> io::Result<R::Listener> {
        let (bind, port) = {
            let state = self.state();
            (state.config.bind.clone(), state.config.port)
        };
        let ip = listen::bind_address(&bind)?;
        let listener = self.rt.bind(SocketAddr::new(ip, port)).await?;
        self.state().listen_addr = Some(listener.local_addr()?);
        Ok(listener)
    }

    /// Binds the Unix socket `unixsocket` names (with `unixsocketperm`,
    /// octal), when it names one.
    pub async fn bind_unix(&self) -> io::Result<Option<R::Listener>> {
        let (path, perm) = {
            let state = self.state();
            let path = state
                .config
                .others
                .get("unixsocket")
                .cloned()
                .unwrap_or_default();
            let perm = state
                .config
                .others
                .get("unixsocketperm")
                .and_then(|perm| u32::from_str_radix(perm, 8).ok())
                .unwrap_or(0);
            (path, perm)
        };
        if path.is_empty() {
            return Ok(None);
        }
        let listener = self.rt.bind_unix(&path, perm).await?;
        self.state().unix_socket_path = Some(path);
        Ok(Some(listener))
    }

    /// Loads the RDB, starts the link to a configured master, accepts
    /// connections on `listener` and runs the cron, until SHUTDOWN.
    pub async fn serve(self, listener: R::Listener) -> Result<(), StartError> {
        self.serve_on(listener, None).await
    }

    /// [`Server::serve`], accepting on the Unix socket `unix` too.
    pub async fn serve_on(
        self,
        listener: R::Listener,
        unix: Option<R::Listener>,
    ) -> Result<(), StartError> {
        self.load_from_disk()?;
        let replicaof = self.state().config.replicaof.clone();
        if let Some((host, port)) = replicaof {
            let mut state = self.state();
            crate::command::replication_cmds::set_master(&mut state, &host, port, true);
        }
        // Where the node's history starts: its loaded data, as a master or
        // as the replica it was configured to be.
        self.state().note_offset();
        self.run_controls();
        self.rt.spawn(self.clone().cron());
        let mut local = listener.local_addr()?;
        let mut listener = Some(listener);
        let accept_notify = {
            let mut state = self.state();
            state.listener_socket = listener.as_ref().and_then(Listener::raw_socket);
            state.accept_notify.clone()
        };
        loop {
            let accepted = tokio::select! {
                biased;
                _ = self.shutdown.killed() => {
                    drop(listener.take());
                    drop(unix);
                    self.stopped_listening.kill();
                    return Ok(());
                }
                _ = accept_notify.notified() => {
                    if let Some(serving) = &listener {
                        self.adopt_accepted_while_busy(serving);
                    }
                    let next = self.state().next_listener.take();
                    if let Some(next) = next {
                        listener = self.take_over(next, &mut local);
                    }
                    continue;
                }
                accepted = accept_from(listener.as_ref()) => (accepted, false),
                accepted = accept_from(unix.as_ref()) => (accepted, true),
            };
            let (accepted, on_unix_socket) = accepted;
            let (stream, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(_) => {
                    // Out of file descriptors and the like: back off, go on.
                    self.rt.sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            // The client is registered here, before the next accept, so
            // that a burst of connections is counted against maxclients
            // one by one.
            let raw_socket = R::raw_socket(&stream);
            let admitted = if on_unix_socket {
                let now = self.rt.monotonic();
                self.state().admit_unix(now, raw_socket)
            } else {
                self.admit(peer, local, raw_socket)
            };
            let client = match admitted {
                Ok(client) => client,
                Err(reason) => {
                    self.rt.spawn(conn::reject_client(stream, reason));
                    continue;
                }
            };
            let server = self.clone();
            self.rt.spawn(async move {
                conn::serve_client(server, stream, client).await;
            });
        }
    }

    /// Registers a new connection as a client, or refuses it (with the
    /// error to send) when `maxclients` clients (replicas and the master
    /// link included, as in Redis) are connected already, or when protected
    /// mode is on, no password is set and the peer is not 127.0.0.1 or
    /// ::1 (on real TCP only: see [`Runtime::has_loopback`]). Returns its
    /// id and kill switch.
    fn admit(
        &self,
        peer: SocketAddr,
        local: SocketAddr,
        raw_socket: Option<crate::runtime::RawSocket>,
    ) -> Result<(u64, Arc<KillSwitch>), &'static [u8]> {
        let now = self.rt.monotonic();
        self.state().admit(peer, local, now, raw_socket)
    }

    /// Serves from the listening socket CONFIG SET opened (none: no TCP,
    /// `port 0`); the old one closes as it is dropped.
    fn take_over(&self, next: listen::NextListener, local: &mut SocketAddr) -> Option<R::Listener> {
        let listen::NextListener::Socket(socket) = next else {
            self.state().listener_socket = None;
            return None;
        };
        match socket
            .local_addr()
            .and_then(|addr| Ok((addr, R::Listener::from_std(socket)?)))
        {
            Ok((addr, listener)) => {
                *local = addr;
                let mut state = self.state();
                state.listen_addr = Some(addr);
                state.listener_socket = listener.raw_socket();
                Some(listener)
            }
            Err(error) => {
                self.state().log(
                    Level::Warning,
                    &format!("Failed listening on the new address: {error}"),
                );
                None
            }
        }
    }

    /// Serves the connections a busy script accepted, now that it ended.
    fn adopt_accepted_while_busy(&self, listener: &R::Listener) {
        let accepted = std::mem::take(&mut self.state().accepted_while_busy);
        for (stream, client) in accepted {
            match listener.adopt(stream) {
                Ok(stream) => {
                    let server = self.clone();
                    self.rt.spawn(async move {
                        conn::serve_client(server, stream, client).await;
                    });
                }
                Err(_) => self.state().remove_client(client.0),
            }
        }
    }

    /// Stops the node after a command panicked with `command` half-run:
    /// its dataset may hold part of a command that was never propagated,
    /// so it stops accepting, closes every connection (clients, replicas)
    /// and logs why with the header of Redis's bug report after a panic
    /// (`serverPanic`): the "Guru Meditation" line carries the panic's
    /// message and, when a panic hook recorded it, its source location.
    pub(crate) fn crash(&self, state: &mut ServerState, command: &str, panic: &str) {
        let location = PANIC_LOCATION
            .with(|slot| slot.borrow_mut().take())
            .map_or_else(String::new, |at| format!(" #{at}"));
        for line in [
            "=== REPLSIM BUG REPORT START: Cut & paste starting from here ===".to_string(),
            "------------------------------------------------".to_string(),
            "!!! Software Failure. Press left mouse button to continue".to_string(),
            format!("Guru Meditation: {panic}{location}"),
            format!("The command {command} panicked; the dataset may hold part of it: stopping the node."),
            "=== REPLSIM BUG REPORT END. Make sure to include from START to END. ===".to_string(),
        ] {
            state.log(Level::Warning, &line);
        }
        for client in state.clients.values() {
            client.kill.kill();
        }
        self.crashed.store(true, Ordering::SeqCst);
        self.shutdown.kill();
    }

    /// True once a command panicked and the node stopped ([`crash`]):
    /// `replsim serve` then exits with its crash code.
    ///
    /// [`crash`]: Self::crash
    pub fn crashed(&self) -> bool {
        self.crashed.load(Ordering::SeqCst)
    }

    /// Redis's reaction to SIGTERM or SIGINT: the SHUTDOWN sequence with
    /// the configured save points ("User requested shutdown...", the final
    /// RDB when `save` is set, "... ready to exit, bye bye..."), then the
    /// node stops. When the final save fails the node logs so and goes on
    /// serving, as Redis does; false then.
    pub fn shutdown_on_signal(&self) -> bool {
        let now_ms = self.rt.unix_time_ms();
        let mut state = self.state_at(self.rt.monotonic());
        let save = !state.config.save.is_empty();
        if crate::command::replication_cmds::prepare_for_shutdown(&mut state, save, now_ms).is_err()
        {
            return false;
        }
        drop(state);
        self.shutdown.kill();
        true
    }

    /// Completes once SHUTDOWN ran.
    pub async fn stopped(&self) {
        self.shutdown.killed().await
    }

    /// Whether the server went through its start-up load of `dbfilename`
    /// (a restarted node has not, until its task first runs).
    pub fn has_loaded(&self) -> bool {
        self.loaded.load(Ordering::SeqCst)
    }

    /// Loads `dbfilename` if it exists, once ([`serve`](Self::serve) calls
    /// it; `replsim serve` calls it first, so that it reports ready only
    /// with its data loaded, as Redis does). A master keeps the file's
    /// history as its secondary id (its replicas can continue partially); a
    /// replica resumes the file's id and offset as its cached master. A
    /// file that cannot be read or loaded is logged as Redis logs it.
    pub fn load_from_disk(&self) -> Result<(), StartError> {
        if self.loaded.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let mut state = self.state_at(self.rt.monotonic());
        let (len, file) = match state.storage.open(&state.config.dbfilename.clone()) {
            Ok(Some(file)) => (file.len, file.reader),
            Ok(None) => return Ok(()),
            Err(error) => {
                state.log(
                    Level::Warning,
                    &format!("Fatal error loading the DB: {error}. Exiting."),
                );
                return Err(error.into());
            }
        };
        let loaded = match crate::rdb::decode_reader(file, Some(len)) {
            Ok(loaded) => loaded,
            Err(crate::rdb::ReadRdbError::Io(error)) => {
                state.log(
                    Level::Warning,
                    &format!("Fatal error loading the DB: {error}. Exiting."),
                );
                return Err(StartError::ReadRdb(error));
            }
            Err(crate::rdb::ReadRdbError::Rdb(error)) => {
                log_load_failure(&state, &error);
                return Err(error.into());
            }
        };
        state.log(
            Level::Notice,
            &format!("Loading RDB produced by version {}", loaded.info.redis_ver),
        );
        let now_ms = self.rt.unix_time_ms();
        let replica = state.config.replicaof.is_some();
        // A master drops the keys that expired while it was down (a
        // replica keeps them: its master expires them).
        let expired: Vec<(usize, Vec<crate::keyspace::Blob>)> = if replica {
            Vec::new()
        } else {
            (0..crate::keyspace::DB_COUNT)
                .map(|db| (db, loaded.keyspace.db(db).expired_keys(now_ms, usize::MAX)))
                .filter(|(_, keys)| !keys.is_empty())
                .collect()
        };
        let expired_count: usize = expired.iter().map(|(_, keys)| keys.len()).sum();
        state.log(
            Level::Notice,
            &format!(
                "Done loading RDB, keys loaded: {}, keys expired: {expired_count}.",
                loaded.keyspace.key_count() - expired_count
            ),
        );
        state.keyspace = loaded.keyspace;
        let limits = state.config.encoding_limits();
        state.keyspace.settle_loaded_encodings(limits);
        state.log(Level::Notice, "DB loaded from disk: 0.000 seconds");
        if let (Some(replid), Some(offset)) = (loaded.info.repl_id, loaded.info.repl_offset) {
            let offset = offset.max(0) as u64;
            if replica {
                state.repl.replid = replid.clone();
                state.repl.offset = offset;
                state.repl.cached_master = Some(crate::replication::CachedMaster {
                    replid,
                    offset,
                    db: loaded.info.repl_stream_db.unwrap_or(0) as usize,
                });
            } else {
                state.repl.replid2 = replid;
                state.repl.second_repl_offset = offset as i64 + 1;
                state.repl.offset = offset;
                let size = state.config.repl_backlog_size as usize;
                state.repl.backlog = Some(crate::replication::Backlog::new(size, offset + 1));
                state.repl.no_replicas_since = Some(state.mono_now);
            }
        }
        // The history continues from the saved data, expired keys and all;
        // their deletions then go into the backlog right after the saved
        // offset, as Redis 7.0 feeds them while loading (RDBFLAGS_FEED_REPL),
        // so that replicas continuing through replid2 delete them too.
        state.keyspace_replaced();
        for (db, keys) in expired {
            for key in keys {
                state.remove_and_propagate(db, &key, b"DEL");
            }
        }
        Ok(())
    }

    /// Starts what command handlers asked for (link tasks, shutdown).
    pub(crate) fn run_controls(&self) {
        let controls = std::mem::take(&mut self.state().control);
        for control in controls {
            match control {
                Control::StartLink(generation) => {
                    let server = self.clone();
                    self.rt
                        .spawn(crate::replication::replica::run_link(server, generation));
                }
                Control::Shutdown => self.shutdown.kill(),
            }
        }
    }

    /// Periodic work, `hz` times a second: active expiry; once a second the
    /// replication cron (PING to replicas, backlog TTL). The replication
    /// cron runs first as the node starts, as Redis's runs in its first
    /// `serverCron` a millisecond after start, before any replica can have
    /// attached: its loop count, which paces the PINGs to replicas, counts
    /// from the node's start, so that the first PING comes
    /// `repl-ping-replica-period` seconds after it, not a second after.
    async fn cron(self) {
        let mut last_replication_cron = self.rt.monotonic();
        replication_cron(&mut self.state_at(last_replication_cron), 0);
        let mut replication_loops: u64 = 1;
        loop {
            let hz = self.state().config.hz.max(1);
            self.rt.sleep(Duration::from_millis(1000 / hz as u64)).await;
            if self.shutdown.is_killed() {
                return;
            }
            let now_ms = self.rt.unix_time_ms();
            let now = self.rt.monotonic();
            let mut state = self.state_at(now);
            if state.paused_until.is_some_and(|until| until > now) {
                continue;
            }
            if std::mem::take(&mut state.eviction_pending) {
                eviction::perform_evictions(&mut state, now_ms);
            }
            if state.active_expire_enabled {
                state.expire_replica_volatile_keys(now_ms);
                state.active_expire_cycle(now_ms, 200);
                state.save_points_cron(now_ms);
            }
            if now.saturating_sub(last_replication_cron) >= Duration::from_secs(1) {
                last_replication_cron = now;
                replication_cron(&mut state, replication_loops);
                replication_loops += 1;
            }
            let link_started = crate::replication::failover::update_status(&mut state);
            let migrate_sockets = state.migrate_cached_sockets;
            drop(state);
            if migrate_sockets > 0 {
                self.close_idle_migrate_sockets();
            }
            if link_started {
                self.run_controls();
            }
        }
    }
}

/// Redis's `replicationCron`, once a second: a replica gives up a connect,
/// handshake or RDB transfer that stayed silent for `repl-timeout`; a
/// master PINGs its replicas every `repl-ping-replica-period` seconds (into
/// the stream, so offsets move), and frees its backlog after
/// `repl-backlog-ttl` seconds without replicas (taking a new id, as the
/// history is gone).
fn replication_cron(state: &mut ServerState, loops: u64) {
    cancel_silent_sync(state);
    let period = state.config.repl_ping_replica_period.max(1);
    if !state.is_replica() && !state.repl.replicas.is_empty() && loops % period == 0 {
        state.repl.feed_bytes(b"*1\r\n$4\r\nping\r\n");
        state.note_offset();
    }
    let ttl = state.config.repl_backlog_ttl;
    let idle = state
        .repl
        .no_replicas_since
        .map(|since| state.mono_now.saturating_sub(since));
    if !state.is_replica()
        && state.repl.replicas.is_empty()
        && state.repl.backlog.is_some()
        && ttl > 0
        && idle.is_some_and(|idle| idle > Duration::from_secs(ttl))
    {
        state.repl.replid = state.new_replid();
        state.repl.replid2 = crate::replication::NULL_REPLID.to_string();
        state.repl.second_repl_offset = -1;
        state.repl.backlog = None;
        state.log(
            Level::Notice,
            &format!("Replication backlog freed after {ttl} seconds without connected replicas."),
        );
        state.note_offset();
    }
}

/// Times out this replica's attempt to sync when the master sent nothing
/// for `repl-timeout` seconds: while connecting or in the handshake
/// ("Timeout connecting to the MASTER..."), or during the RDB transfer.
/// The link task then reconnects at once, as after Redis's
/// `cancelReplicationHandshake(1)`.
fn cancel_silent_sync(state: &mut ServerState) {
    let timeout = Duration::from_secs(state.config.repl_timeout);
    let now = state.mono_now;
    let Some(link) = state.repl.master.as_mut() else {
        return;
    };
    if now.saturating_sub(link.last_io) <= timeout {
        return;
    }
    let line = match link.state {
        LinkState::Connecting | LinkState::Handshake => "Timeout connecting to the MASTER...",
        LinkState::Transfer => "Timeout receiving bulk data from MASTER... If the problem persists try to set the 'repl-timeout' parameter in redis.conf to a larger value.",
        LinkState::Connect | LinkState::Connected => return,
    };
    link.attempt.kill();
    // Until the link task reconnects: the next cron must not fire again.
    link.state = LinkState::Connect;
    state.log(Level::Warning, line);
}

/// What Redis logs when its RDB fails to load at start-up (`rdbLoad` and
/// `loadDataFromDisk`), before it exits with status 1.
fn log_load_failure(state: &ServerState, error: &crate::rdb::RdbError) {
    use crate::rdb::RdbError;
    let lines = match error {
        RdbError::Truncated { offset } => vec![
            "Short read or OOM loading DB. Unrecoverable error, aborting now.".to_string(),
            format!(
                "Internal error in RDB reading offset {offset} -> Unexpected EOF reading RDB file"
            ),
        ],
        RdbError::BadChecksum { expected, found } => vec![
            format!(
                "Wrong RDB checksum expected: ({expected:x}) but got ({found:x}). Aborting now."
            ),
            "Internal error in RDB reading offset 0 -> RDB CRC error".to_string(),
        ],
        RdbError::BadMagic => vec![
            "Wrong signature trying to load DB from file".to_string(),
            "Fatal error loading the DB: Invalid argument. Exiting.".to_string(),
        ],
        RdbError::UnsupportedVersion(version) => vec![
            format!("Can't handle RDB format version {version}"),
            "Fatal error loading the DB: Invalid argument. Exiting.".to_string(),
        ],
        other => vec![format!("Internal error in RDB reading -> {other}")],
    };
    for line in lines {
        state.log(Level::Warning, &line);
    }
}
