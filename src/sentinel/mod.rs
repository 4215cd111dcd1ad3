//! Redis Sentinel 7.0 on the runtime seam: it monitors masters and their
//! replicas, agrees with other Sentinels that a master is down, elects a
//! leader per epoch and fails over, exactly as `redis-sentinel` does, and
//! it runs the same in madsim's simulation and on real TCP.
//!
//! - [`config`]: sentinel.conf, its errors and its rewrite.
//! - [`state`]: monitored masters, replicas and Sentinels with their flags.
//! - `links`: the command and pub/sub connections to every instance.
//! - `failover`: the timer: SDOWN/ODOWN, votes, the failover state machine.
//! - `replies`: what INFO, PING, vote replies and hellos tell it.
//! - `commands`: the RESP server clients (and other Sentinels) talk to.
//! - `subcommands`: SENTINEL's subcommands.
//!
//! Use: [`Sentinel::new`] with a runtime and a [`config::SentinelConfig`],
//! then [`Sentinel::bind`] and [`Sentinel::serve`] (or [`Sentinel::run`]).
//! [`Sentinel::view`] returns what it believes and what it did (masters'
//! addresses, its epoch, the votes it cast and every event it published,
//! with times), for checks of Sentinel's safety rules.

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::log::{Level, LogSink};
use crate::runtime::Runtime;

mod commands;
pub mod config;
mod failover;
mod links;
mod replies;
pub mod state;
mod subcommands;

use config::SentinelConfig;
use links::{InstanceRef, ReplyKind};
use state::{FailoverState, Instance, Kind, Master};

/// The name of the rewritten configuration in the runtime's storage, for a
/// Sentinel started without a file.
pub const STORED_CONFIG: &str = "sentinel.conf";

/// The pub/sub channel Sentinels announce themselves on.
pub const HELLO_CHANNEL: &str = "__sentinel__:hello";

/// Why a Sentinel stopped.
#[derive(Debug, thiserror::Error)]
pub enum SentinelError {
    /// The listening socket failed.
    #[error("sentinel listener failed: {0}")]
    Listen(#[from] io::Error),
}

/// An event the Sentinel published (and logged), in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentinelEvent {
    /// Runtime time in ms (simulated time in the simulation).
    pub time_ms: u64,
    /// The channel, which is the event's type (`+sdown`, `+switch-master`).
    pub kind: String,
    /// The message as published.
    pub message: String,
}

/// A vote this Sentinel cast for a leader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderVote {
    /// Runtime time in ms.
    pub time_ms: u64,
    /// The master the failover is for.
    pub master: String,
    /// The epoch of the vote.
    pub epoch: u64,
    /// The run id voted for.
    pub leader: String,
}

/// What this Sentinel believes about one master.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterView {
    /// The monitored name.
    pub name: String,
    /// The address it believes is the master.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// The epoch of that configuration.
    pub config_epoch: u64,
    /// Redis's flags text (`master,s_down,o_down,...`).
    pub flags: String,
    /// Where a failover stands (`none`, `wait_start`, ...).
    pub failover_state: String,
    /// Known replicas (host, port).
    pub replicas: Vec<(String, u16)>,
    /// Known other Sentinels (run ids).
    pub sentinels: Vec<String>,
}

/// A snapshot of a Sentinel's knowledge and history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentinelView {
    /// Its run id.
    pub myid: String,
    /// Its current epoch.
    pub current_epoch: u64,
    /// Each monitored master.
    pub masters: Vec<MasterView>,
    /// Every vote it cast, in order.
    pub votes: Vec<LeaderVote>,
    /// Every event it published, in order.
    pub events: Vec<SentinelEvent>,
}

/// Pub/sub subscribers of the Sentinel's own server.
#[derive(Default)]
pub(crate) struct Subscribers {
    next_id: u64,
    clients: BTreeMap<u64, Subscriber>,
}

struct Subscriber {
    channels: std::collections::BTreeSet<Vec<u8>>,
    patterns: std::collections::BTreeSet<Vec<u8>>,
    tx: tokio::sync::mpsc::UnboundedSender<Vec<u8>>,
    resp3: bool,
}

/// The mutable state of a Sentinel, behind one lock (never held across an
/// await).
pub(crate) struct SentinelState {
    pub(crate) myid: String,
    pub(crate) current_epoch: u64,
    /// Monitored masters in the order they were added (as Redis lists them
    /// for a small dict; the order is stable for a seed).
    pub(crate) masters: indexmap::IndexMap<String, Master>,
    pub(crate) config: SentinelConfig,
    pub(crate) events: Vec<SentinelEvent>,
    pub(crate) votes: Vec<LeaderVote>,
    pub(crate) rng: ChaCha8Rng,
    pub(crate) next_generation: u64,
    pub(crate) tilt: bool,
    pub(crate) tilt_start_time: u64,
    pub(crate) previous_time: u64,
    pub(crate) simfailure_after_election: bool,
    pub(crate) simfailure_after_promotion: bool,
    /// The runtime's clock for event times.
    pub(crate) elapsed_ms: u64,
    pub(crate) logger: Arc<dyn LogSink>,
    pub(crate) subscribers: Arc<Mutex<Subscribers>>,
    /// Periods and timeouts (SENTINEL DEBUG).
    pub(crate) timing: state::Timing,
    /// Where the configuration goes without a file.
    pub(crate) storage: Arc<dyn crate::runtime::Storage>,
    /// Set by SIMULATE-FAILURE's crash: the Sentinel stops.
    pub(crate) crashed: bool,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl SentinelState {
    /// Logs a line as Redis's Sentinel does (role `X`).
    pub(crate) fn log(&self, level: Level, message: &str) {
        self.logger.log('X', level, message);
    }

    /// `%@` of Redis's events: what the instance is, and its master.
    pub(crate) fn describe(&self, master: &str, kind: Kind, name: &str) -> String {
        let Some(m) = self.masters.get(master) else {
            return String::new();
        };
        let i = &m.instance;
        match kind {
            Kind::Master => format!("master {} {} {}", m.instance.name, i.host, i.port),
            Kind::Replica | Kind::Sentinel => {
                let other = if kind == Kind::Replica {
                    m.replicas.get(name)
                } else {
                    m.sentinels.get(name)
                };
                match other {
                    Some(o) => format!(
                        "{} {} {} {} @ {} {} {}",
                        kind.word(),
                        o.name,
                        o.host,
                        o.port,
                        m.instance.name,
                        i.host,
                        i.port
                    ),
                    None => String::new(),
                }
            }
        }
    }

    /// Publishes and logs an event (Redis's `sentinelEvent`); verbose
    /// events are published but not logged at the default level.
    pub(crate) fn event(&mut self, level: Level, kind: &str, message: String) {
        if level != Level::Verbose {
            self.log(level, &format!("{kind} {message}"));
        }
        publish(&self.subscribers, kind.as_bytes(), message.as_bytes());
        self.events.push(SentinelEvent {
            time_ms: self.elapsed_ms,
            kind: kind.to_string(),
            message,
        });
    }

    /// An event about an instance (`%@` then `rest`).
    pub(crate) fn event_at(&mut self, level: Level, kind: &str, at: &InstanceRef, rest: &str) {
        let mut message = self.describe(&at.master, at.kind, &at.name);
        message.push_str(rest);
        self.event(level, kind, message);
    }

    /// A fresh generation number for a new connection.
    pub(crate) fn generation(&mut self) -> u64 {
        self.next_generation += 1;
        self.next_generation
    }

    /// Rewrites sentinel.conf with the current state (Redis's
    /// `sentinelFlushConfig`), when the Sentinel has a file.
    pub(crate) fn flush_config(&mut self) {
        let written = match self.config.file.clone() {
            Some(path) => {
                let old = std::fs::read_to_string(&path).unwrap_or_default();
                let text = config::rewrite_text(&old, &self.rewrite_lines());
                let tmp = path.with_extension("tmp-replsim");
                std::fs::write(&tmp, text)
                    .and_then(|_| std::fs::rename(&tmp, &path))
                    .map_err(|error| config::io_error_text(&error))
            }
            // Without a file (the simulation), the runtime's storage keeps
            // it, so that a restarted Sentinel gets its id, epochs and
            // known instances back as a real one does.
            None => {
                let old = self
                    .storage
                    .read(STORED_CONFIG)
                    .ok()
                    .flatten()
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                let text = config::rewrite_text(&old, &self.rewrite_lines());
                self.storage
                    .write_atomic(STORED_CONFIG, text.as_bytes())
                    .map_err(|error| error.to_string())
            }
        };
        match written {
            Ok(()) => self.log(Level::Notice, "Sentinel new configuration saved on disk"),
            Err(reason) => self.log(
                Level::Warning,
                &format!("WARNING: Sentinel was not able to save the new configuration on disk!!!: {reason}"),
            ),
        }
    }

    /// The lines a rewrite of sentinel.conf writes, in Redis's order: the
    /// server options, then the Sentinel's (`rewriteConfigSentinelOption`).
    fn rewrite_lines(&self) -> Vec<config::RewriteLine> {
        use config::RewriteLine as L;
        let c = &self.config;
        let mut out = vec![
            L::new(
                "port",
                format!("port {}", c.port),
                c.port != config::DEFAULT_SENTINEL_PORT,
            ),
            L::new("daemonize", "daemonize no".into(), false),
            L::new("dir", format!("dir \"{}\"", c.dir), true),
            L::new(
                "logfile",
                format!("logfile \"{}\"", c.logfile),
                !c.logfile.is_empty(),
            ),
            L::new(
                "latency-tracking-info-percentiles",
                "latency-tracking-info-percentiles 50 99 99.9".into(),
                true,
            ),
            L::new(
                "protected-mode",
                format!(
                    "protected-mode {}",
                    if c.protected_mode { "yes" } else { "no" }
                ),
                true,
            ),
            L::new("user", "user default on nopass ~* &* +@all".into(), true),
            L::new(
                "sentinel myid",
                format!("sentinel myid {}", self.myid),
                true,
            ),
            L::new(
                "sentinel resolve-hostnames",
                format!(
                    "sentinel resolve-hostnames {}",
                    if c.resolve_hostnames { "yes" } else { "no" }
                ),
                c.resolve_hostnames,
            ),
            L::new(
                "sentinel announce-hostnames",
                format!(
                    "sentinel announce-hostnames {}",
                    if c.announce_hostnames { "yes" } else { "no" }
                ),
                c.announce_hostnames,
            ),
        ];
        for m in self.masters.values() {
            let name = &m.instance.name;
            // Once the promotion is seen, the file names the promoted
            // replica, as the hellos do: a Sentinel restarted between
            // +promoted-slave and +switch-master must come back with the
            // address its config epoch stands for, or the others' hellos
            // (same epoch) never move it.
            let (master_host, master_port) = self
                .current_master_addr(name)
                .unwrap_or_else(|| (m.instance.host.clone(), m.instance.port));
            out.push(L::new(
                "sentinel monitor",
                format!(
                    "sentinel monitor {name} {master_host} {master_port} {}",
                    m.quorum
                ),
                true,
            ));
            if m.down_after_ms != config::DEFAULT_DOWN_AFTER_MS {
                out.push(L::new(
                    "sentinel down-after-milliseconds",
                    format!(
                        "sentinel down-after-milliseconds {name} {}",
                        m.down_after_ms
                    ),
                    true,
                ));
            }
            if m.failover_timeout_ms != config::DEFAULT_FAILOVER_TIMEOUT_MS {
                out.push(L::new(
                    "sentinel failover-timeout",
                    format!("sentinel failover-timeout {name} {}", m.failover_timeout_ms),
                    true,
                ));
            }
            if m.parallel_syncs != 1 {
                out.push(L::new(
                    "sentinel parallel-syncs",
                    format!("sentinel parallel-syncs {name} {}", m.parallel_syncs),
                    true,
                ));
            }
            if let Some(pass) = &m.auth_pass {
                out.push(L::new(
                    "sentinel auth-pass",
                    format!("sentinel auth-pass {name} {pass}"),
                    true,
                ));
            }
            if let Some(user) = &m.auth_user {
                out.push(L::new(
                    "sentinel auth-user",
                    format!("sentinel auth-user {name} {user}"),
                    true,
                ));
            }
            out.push(L::new(
                "sentinel config-epoch",
                format!("sentinel config-epoch {name} {}", m.config_epoch),
                true,
            ));
            out.push(L::new(
                "sentinel leader-epoch",
                format!("sentinel leader-epoch {name} {}", m.leader_epoch),
                true,
            ));
            for r in m.replicas.values() {
                // The promoted replica is written as the old master, which
                // becomes a replica once the switch is done.
                let (host, port) = if r.host == master_host && r.port == master_port {
                    (&m.instance.host, m.instance.port)
                } else {
                    (&r.host, r.port)
                };
                out.push(L::new(
                    "sentinel known-replica",
                    format!("sentinel known-replica {name} {host} {port}"),
                    true,
                ));
            }
            for s in m.sentinels.values() {
                if let Some(runid) = &s.runid {
                    out.push(L::new(
                        "sentinel known-sentinel",
                        format!(
                            "sentinel known-sentinel {name} {} {} {runid}",
                            s.host, s.port
                        ),
                        true,
                    ));
                }
            }
        }
        out.push(L::new(
            "sentinel current-epoch",
            format!("sentinel current-epoch {}", self.current_epoch),
            true,
        ));
        if let Some(ip) = &c.announce_ip {
            out.push(L::new(
                "sentinel announce-ip",
                format!("sentinel announce-ip {ip}"),
                true,
            ));
        }
        if c.announce_port != 0 {
            out.push(L::new(
                "sentinel announce-port",
                format!("sentinel announce-port {}", c.announce_port),
                true,
            ));
        }
        if let Some(user) = &c.sentinel_user {
            out.push(L::new(
                "sentinel sentinel-user",
                format!("sentinel sentinel-user {user}"),
                true,
            ));
        }
        if let Some(pass) = &c.sentinel_pass {
            out.push(L::new(
                "sentinel sentinel-pass",
                format!("sentinel sentinel-pass {pass}"),
                true,
            ));
        }
        out
    }

    /// The instance an `InstanceRef` names.
    pub(crate) fn instance_mut(&mut self, at: &InstanceRef) -> Option<&mut Instance> {
        self.masters
            .get_mut(&at.master)?
            .instance_mut(at.kind, &at.name)
    }
}

/// Sends `message` on `channel` to every subscriber (channel or pattern).
pub(crate) fn publish(subscribers: &Mutex<Subscribers>, channel: &[u8], message: &[u8]) -> usize {
    let subscribers = lock(subscribers);
    let mut receivers = 0;
    for sub in subscribers.clients.values() {
        if sub.channels.contains(channel) {
            let mut reply = crate::resp::Reply::with_protocol(sub.resp3);
            reply.push(3);
            reply.bulk(b"message");
            reply.bulk(channel);
            reply.bulk(message);
            let _ = sub.tx.send(reply.take());
            receivers += 1;
        }
        for pattern in &sub.patterns {
            if crate::command::glob::glob_match(pattern, channel, false) {
                let mut reply = crate::resp::Reply::with_protocol(sub.resp3);
                reply.push(4);
                reply.bulk(b"pmessage");
                reply.bulk(pattern);
                reply.bulk(channel);
                reply.bulk(message);
                let _ = sub.tx.send(reply.take());
                receivers += 1;
            }
        }
    }
    receivers
}

/// The shared core of a Sentinel: its runtime and its state.
pub(crate) struct Core<R: Runtime> {
    pub(crate) runtime: R,
    pub(crate) state: Mutex<SentinelState>,
    pub(crate) subscribers: Arc<Mutex<Subscribers>>,
    pub(crate) stop: tokio::sync::Notify,
}

impl<R: Runtime> Core<R> {
    pub(crate) fn lock(&self) -> MutexGuard<'_, SentinelState> {
        let mut state = lock(&self.state);
        state.elapsed_ms = self.runtime.monotonic().as_millis() as u64;
        state
    }

    pub(crate) fn now(&self) -> u64 {
        self.runtime.unix_time_ms()
    }

    /// A connection of `at` ended (or never started).
    pub(crate) fn link_closed(&self, at: &InstanceRef, pubsub: bool, generation: u64) {
        let mut state = self.lock();
        let Some(instance) = state.instance_mut(at) else {
            return;
        };
        let link = &mut instance.link;
        if pubsub {
            if link
                .pubsub
                .as_ref()
                .is_some_and(|l| l.generation == generation)
            {
                link.close_pubsub();
            }
        } else if link
            .cmd
            .as_ref()
            .is_some_and(|l| l.generation == generation)
        {
            link.close_cmd();
        }
    }

    /// The command connection of `at` is up and leaves from `local`.
    pub(crate) fn link_local_addr(
        &self,
        at: &InstanceRef,
        generation: u64,
        local: Option<SocketAddr>,
    ) {
        let mut state = self.lock();
        if let Some(instance) = state.instance_mut(at) {
            if instance
                .link
                .cmd
                .as_ref()
                .is_some_and(|l| l.generation == generation)
            {
                instance.link.local_addr = local;
            }
        }
    }

    /// A reply on a command link.
    pub(crate) fn on_reply(
        &self,
        at: &InstanceRef,
        generation: u64,
        kind: ReplyKind,
        frame: crate::resp::Frame,
    ) {
        let now = self.now();
        let mut state = self.lock();
        let Some(instance) = state.instance_mut(at) else {
            return;
        };
        if instance
            .link
            .cmd
            .as_ref()
            .is_none_or(|l| l.generation != generation)
        {
            return;
        }
        instance.link.pending_commands = instance.link.pending_commands.saturating_sub(1);
        state.handle_reply(at, kind, frame, now);
    }

    /// A frame on a pub/sub link: a hello from another Sentinel, perhaps.
    pub(crate) fn on_pubsub_frame(
        &self,
        at: &InstanceRef,
        generation: u64,
        frame: crate::resp::Frame,
    ) {
        use crate::resp::Frame;
        let now = self.now();
        let mut state = self.lock();
        let myid = state.myid.clone();
        let Some(instance) = state.instance_mut(at) else {
            return;
        };
        if instance
            .link
            .pubsub
            .as_ref()
            .is_none_or(|l| l.generation != generation)
        {
            return;
        }
        instance.link.pc_last_activity = now;
        let Frame::Array(Some(items)) = frame else {
            return;
        };
        let [Frame::Bulk(Some(kind)), Frame::Bulk(Some(_)), Frame::Bulk(Some(payload))] =
            &items[..]
        else {
            return;
        };
        if kind != b"message" {
            return;
        }
        let payload = String::from_utf8_lossy(payload).into_owned();
        if payload.contains(&myid) {
            return;
        }
        state.process_hello(&payload, now);
    }
}

/// A Redis Sentinel on runtime `R`.
pub struct Sentinel<R: Runtime> {
    core: Arc<Core<R>>,
}

impl<R: Runtime> Clone for Sentinel<R> {
    fn clone(&self) -> Self {
        Sentinel {
            core: self.core.clone(),
        }
    }
}

impl<R: Runtime> Sentinel<R> {
    /// A Sentinel with `config` on `runtime`: its id is the configured
    /// `myid` or drawn from the runtime's seed; known replicas and
    /// Sentinels from the file are loaded; nothing runs until
    /// [`Sentinel::serve`].
    ///
    /// Without a config file, a configuration saved earlier in the
    /// runtime's storage (by this Sentinel before a restart) takes the
    /// place of `config`'s Sentinel state; `config` still gives the port
    /// and bind address.
    pub fn new(runtime: R, config: SentinelConfig) -> Self {
        let config = match (&config.file, runtime.storage().read(STORED_CONFIG)) {
            (None, Ok(Some(bytes))) => {
                let mut stored = SentinelConfig {
                    port: config.port,
                    bind: config.bind.clone(),
                    planted_votes_twice: config.planted_votes_twice,
                    ..SentinelConfig::default()
                };
                match stored.apply(&String::from_utf8_lossy(&bytes)) {
                    Ok(()) => {
                        stored.dir = config.dir.clone();
                        stored
                    }
                    Err(error) => {
                        runtime
                            .logger()
                            .log('X', Level::Warning, &error.to_string());
                        config
                    }
                }
            }
            _ => config,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(runtime.rng_seed());
        let myid = config
            .myid
            .clone()
            .unwrap_or_else(|| crate::server::random_hex40(&mut rng));
        let now = runtime.unix_time_ms();
        let mut masters = indexmap::IndexMap::new();
        for m in &config.masters {
            let mut master = Master {
                instance: Instance::new(Kind::Master, m.name.clone(), &m.host, m.port, now),
                quorum: m.quorum,
                down_after_ms: m.down_after_ms,
                failover_timeout_ms: m.failover_timeout_ms,
                parallel_syncs: m.parallel_syncs,
                auth_pass: m.auth_pass.clone(),
                auth_user: m.auth_user.clone(),
                config_epoch: m.config_epoch,
                failover_state: FailoverState::None,
                failover_epoch: 0,
                failover_start_time: 0,
                failover_state_change_time: 0,
                failover_delay_logged: 0,
                promoted: None,
                leader: None,
                leader_epoch: m.leader_epoch,
                replicas: BTreeMap::new(),
                sentinels: BTreeMap::new(),
            };
            for (host, port) in &m.known_replicas {
                let name = format!("{host}:{port}");
                master.replicas.insert(
                    name.clone(),
                    Instance::new(Kind::Replica, name, host, *port, now),
                );
            }
            for (host, port, runid) in &m.known_sentinels {
                if runid == &myid {
                    continue;
                }
                let mut s = Instance::new(Kind::Sentinel, runid.clone(), host, *port, now);
                s.runid = Some(runid.clone());
                master.sentinels.insert(runid.clone(), s);
            }
            masters.insert(m.name.clone(), master);
        }
        let subscribers: Arc<Mutex<Subscribers>> = Arc::default();
        let state = SentinelState {
            myid,
            current_epoch: config.current_epoch,
            masters,
            config,
            events: Vec::new(),
            votes: Vec::new(),
            rng,
            next_generation: 0,
            tilt: false,
            tilt_start_time: 0,
            previous_time: now,
            simfailure_after_election: false,
            simfailure_after_promotion: false,
            elapsed_ms: 0,
            logger: runtime.logger(),
            subscribers: subscribers.clone(),
            storage: runtime.storage(),
            timing: state::Timing::default(),
            crashed: false,
        };
        Sentinel {
            core: Arc::new(Core {
                runtime,
                state: Mutex::new(state),
                subscribers,
                stop: tokio::sync::Notify::new(),
            }),
        }
    }

    /// Binds the configured port on the first `bind` address (every
    /// interface without one).
    pub async fn bind(&self) -> io::Result<R::Listener> {
        let (bind, port) = {
            let state = self.core.lock();
            (
                state
                    .config
                    .bind
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "0.0.0.0".into()),
                state.config.port,
            )
        };
        let host = if bind == "*" {
            "0.0.0.0".to_string()
        } else {
            bind
        };
        let addr: SocketAddr = format!("{host}:{port}").parse().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("bad bind address {host}"),
            )
        })?;
        self.core.runtime.bind(addr).await
    }

    /// Starts the Sentinel's timer and serves clients on `listener` until
    /// SHUTDOWN (or a simulated crash).
    pub async fn serve(&self, listener: R::Listener) -> Result<(), SentinelError> {
        self.core.start();
        commands::accept_loop(self.core.clone(), listener).await
    }

    /// [`Sentinel::bind`] then [`Sentinel::serve`].
    pub async fn run(&self) -> Result<(), SentinelError> {
        let listener = self.bind().await?;
        self.serve(listener).await
    }

    /// What it believes now, and what it did.
    pub fn view(&self) -> SentinelView {
        let state = self.core.lock();
        SentinelView {
            myid: state.myid.clone(),
            current_epoch: state.current_epoch,
            masters: state
                .masters
                .values()
                .map(|m| MasterView {
                    name: m.instance.name.clone(),
                    host: m.instance.host.clone(),
                    port: m.instance.port,
                    config_epoch: m.config_epoch,
                    flags: m.instance.flags_text(),
                    failover_state: m.failover_state.name().to_string(),
                    replicas: m
                        .replicas
                        .values()
                        .map(|r| (r.host.clone(), r.port))
                        .collect(),
                    sentinels: m.sentinels.keys().cloned().collect(),
                })
                .collect(),
            votes: state.votes.clone(),
            events: state.events.clone(),
        }
    }

    /// Whether SENTINEL SIMULATE-FAILURE made it crash.
    pub fn crashed(&self) -> bool {
        self.core.lock().crashed
    }
}
