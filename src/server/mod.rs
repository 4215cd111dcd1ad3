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
use crate::resp::{encode_command, OwnedArgv};
use crate::runtime::{Listener, Runtime};

pub mod config;
mod conn;
mod info;

pub use config::{Config, ConfigError};
pub use info::render_info;

/// Counters reported by INFO stats.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    /// Connections accepted since start.
    pub connections_received: u64,
    /// Commands executed since start.
    pub commands_processed: u64,
    /// Keys deleted because they expired.
    pub expired_keys: u64,
    /// Bytes read from clients.
    pub net_input_bytes: u64,
    /// Bytes written to clients.
    pub net_output_bytes: u64,
    /// Changes since the last save.
    pub dirty: u64,
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
    multi: Option<MultiState>,
    kill: Arc<KillSwitch>,
}

impl Client {
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
            multi: None,
            kill: Arc::new(KillSwitch::default()),
        }
    }

    /// The switch that closes this client's connection.
    pub fn kill_switch(&self) -> Arc<KillSwitch> {
        self.kill.clone()
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

/// The replication stream as the master builds it: commands with SELECT
/// inserted whenever the db changes. Fed only while enabled (a node with a
/// backlog or replicas); the replication layer drains `pending`.
#[derive(Debug, Default)]
pub struct ReplicationFeed {
    /// Whether propagated commands are recorded.
    pub enabled: bool,
    /// The db the stream is in, `None` right after a full sync.
    pub stream_db: Option<usize>,
    /// Encoded stream bytes not yet taken.
    pub pending: Vec<u8>,
    /// Bytes fed since start (`master_repl_offset`).
    pub offset: u64,
}

impl ReplicationFeed {
    /// Appends one command executed in `db`.
    pub fn feed(&mut self, db: usize, argv: &OwnedArgv) {
        if !self.enabled {
            return;
        }
        let start = self.pending.len();
        if self.stream_db != Some(db) {
            encode_command(
                &mut self.pending,
                &[b"SELECT".as_slice(), db.to_string().as_bytes()],
            );
            self.stream_db = Some(db);
        }
        let args: Vec<&[u8]> = argv.argv().iter().collect();
        encode_command(&mut self.pending, &args);
        self.offset += (self.pending.len() - start) as u64;
    }
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
    /// The outgoing replication stream.
    pub repl_feed: ReplicationFeed,
    /// Until when (monotonic) the whole server is paused by DEBUG SLEEP.
    pub paused_until: Option<Duration>,
    /// Unix ms at start.
    pub started_unix_ms: u64,
    /// Monotonic time at start.
    pub started: Duration,
    /// Unix seconds of the last successful save.
    pub last_save_unix: u64,
    /// The address the server listens on, once bound.
    pub listen_addr: Option<SocketAddr>,
    next_client_id: u64,
    replica: bool,
    pending_propagation: Vec<(usize, OwnedArgv)>,
    run_id: String,
}

impl ServerState {
    /// Fresh state for `config`, with randomness from `seed`.
    pub fn new(config: Config, seed: u64, now_unix_ms: u64, now: Duration) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let run_id = random_hex40(&mut rng);
        ServerState {
            keyspace: Keyspace::new(),
            config,
            stats: Stats::default(),
            clients: BTreeMap::new(),
            rng,
            repl_feed: ReplicationFeed::default(),
            paused_until: None,
            started_unix_ms: now_unix_ms,
            started: now,
            last_save_unix: now_unix_ms / 1000,
            listen_addr: None,
            next_client_id: 1,
            replica: false,
            pending_propagation: Vec::new(),
            run_id,
        }
    }

    /// True when this node replicates from a master.
    pub fn is_replica(&self) -> bool {
        self.replica
    }

    /// The 40-hex run id (INFO server).
    pub fn run_id(&self) -> &str {
        &self.run_id
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
        self.stats.dirty += 1;
        self.pending_propagation.push((db, argv));
    }

    /// Feeds the commands queued by the last command to the stream, wrapped
    /// in MULTI/EXEC when there are several (Redis's
    /// `propagatePendingCommands`).
    pub fn propagate_pending(&mut self) {
        if self.pending_propagation.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.pending_propagation);
        let wrap = pending.len() > 1;
        if wrap {
            self.repl_feed
                .feed(pending[0].0, &OwnedArgv::from_args(&[b"MULTI"]));
        }
        for (db, argv) in &pending {
            self.repl_feed.feed(*db, argv);
        }
        if wrap {
            let db = self.repl_feed.stream_db.unwrap_or(pending[0].0);
            self.repl_feed.feed(db, &OwnedArgv::from_args(&[b"EXEC"]));
        }
        self.pending_propagation = pending;
        self.pending_propagation.clear();
    }

    /// Deletes a key found expired on a master and propagates `DEL` at once,
    /// ahead of whatever the running command propagates and never inside
    /// its MULTI/EXEC (Redis's `propagateDeletion` uses `propagateNow`).
    pub fn delete_expired(&mut self, db: usize, key: &[u8]) {
        if self.keyspace.db_mut(db).remove(key).is_some() {
            self.stats.expired_keys += 1;
            self.stats.dirty += 1;
            self.repl_feed
                .feed(db, &OwnedArgv::from_args(&[b"DEL", key]));
        }
    }

    /// One run of the active expire cycle: deletes up to `budget` expired
    /// keys per db, earliest expiry first, and propagates their `DEL`s.
    /// Replicas never expire keys themselves.
    pub fn active_expire_cycle(&mut self, now_ms: u64, budget: usize) {
        if self.replica {
            return;
        }
        for db in 0..crate::keyspace::DB_COUNT {
            if self.keyspace.db(db).volatile_len() == 0 {
                continue;
            }
            for key in self.keyspace.db(db).expired_keys(now_ms, budget) {
                self.delete_expired(db, &key);
            }
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
}

impl<R: Runtime> Clone for Server<R> {
    fn clone(&self) -> Self {
        Server {
            rt: self.rt.clone(),
            state: self.state.clone(),
        }
    }
}

impl<R: Runtime> Server<R> {
    /// A node with `config`, not yet listening.
    pub fn new(rt: R, config: Config) -> Self {
        let state = ServerState::new(config, rt.rng_seed(), rt.unix_time_ms(), rt.monotonic());
        Server {
            rt,
            state: Arc::new(Mutex::new(state)),
        }
    }

    /// The node's state, locked. Never hold it across an await.
    pub fn state(&self) -> MutexGuard<'_, ServerState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The runtime.
    pub fn runtime(&self) -> &R {
        &self.rt
    }

    /// Binds the configured address and serves until the task is dropped.
    pub async fn run(self) -> io::Result<()> {
        let listener = self.bind().await?;
        self.serve(listener).await
    }

    /// Binds the configured address.
    pub async fn bind(&self) -> io::Result<R::Listener> {
        let (bind, port) = {
            let state = self.state();
            (state.config.bind.clone(), state.config.port)
        };
        let ip = bind.parse().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("bad bind address '{bind}'"),
            )
        })?;
        let listener = self.rt.bind(SocketAddr::new(ip, port)).await?;
        self.state().listen_addr = Some(listener.local_addr()?);
        Ok(listener)
    }

    /// Accepts connections on `listener` and runs the cron.
    pub async fn serve(self, listener: R::Listener) -> io::Result<()> {
        self.rt.spawn(self.clone().cron());
        let local = listener.local_addr()?;
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(_) => {
                    // Out of file descriptors and the like: back off, go on.
                    self.rt.sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            let server = self.clone();
            self.rt.spawn(async move {
                conn::serve_client(server, stream, peer, local).await;
            });
        }
    }

    /// Periodic work, `hz` times a second: active expiry.
    async fn cron(self) {
        loop {
            let hz = self.state().config.hz.max(1);
            self.rt.sleep(Duration::from_millis(1000 / hz as u64)).await;
            let now_ms = self.rt.unix_time_ms();
            let mut state = self.state();
            if state
                .paused_until
                .is_some_and(|until| until > self.rt.monotonic())
            {
                continue;
            }
            state.active_expire_cycle(now_ms, 200);
        }
    }
}
