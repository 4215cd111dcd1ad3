//! Commands: the table (name, arity, flags, handler, subcommands), the
//! checks Redis 7.0 runs before a command (lookup, arity, auth, MULTI
//! queueing), execution, and propagation of writes to the replication stream.
//!
//! Each family lives in its own file, and every handler's doc comment states
//! its Redis semantics and how it is propagated to replicas. By default a
//! command that changed the dataset is propagated verbatim; a handler may
//! rewrite what is propagated ([`Ctx::rewrite`]), add commands
//! ([`Ctx::also_propagate`]) or suppress propagation ([`Ctx::no_propagation`]).

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use crate::keyspace::{Db, Entry, Value};
use crate::resp::{Argv, OwnedArgv, Reply};
use crate::server::{Client, ServerState};

mod bits;
mod blocking;
mod cluster;
mod collection_scan;
mod connection;
mod dump;
mod events;
mod geo;
mod hashes;
mod hyperloglog;
mod key_positions;
mod keys;
mod lists;
pub mod migrate;
pub mod object;
mod pops;
mod pubsub;
mod random_picks;
pub mod replication_cmds;
mod scripting;
mod server_cmds;
mod sets;
mod sort;
mod stream_groups;
mod streams;
mod strings;
mod transactions;
mod zset_algebra;
mod zsets;

pub mod glob;

pub(crate) use blocking::handle_ready_keys;
pub use blocking::time_out as time_out_blocked;
pub(crate) use connection::client_line;

/// A command failed with one of Redis's standard errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CmdError {
    /// The key holds another type.
    #[error("WRONGTYPE Operation against a key holding the wrong kind of value")]
    WrongType,
    /// An argument or stored value is not a 64-bit integer.
    #[error("ERR value is not an integer or out of range")]
    NotInteger,
    /// An argument or stored value is not a float.
    #[error("ERR value is not a valid float")]
    NotFloat,
    /// Arguments in a form the command does not take.
    #[error("ERR syntax error")]
    Syntax,
    /// The key does not exist (RENAME, LSET).
    #[error("ERR no such key")]
    NoSuchKey,
    /// An index past the end (LSET).
    #[error("ERR index out of range")]
    IndexOutOfRange,
    /// INCR and friends would overflow.
    #[error("ERR increment or decrement would overflow")]
    Overflow,
    /// A count that must be positive was not.
    #[error("ERR value is out of range, must be positive")]
    NotPositive,
    /// Any other error; the text carries its own prefix (`ERR ...`).
    #[error("{0}")]
    Other(String),
}

impl CmdError {
    /// An `ERR`-prefixed error.
    pub fn err(message: impl AsRef<str>) -> Self {
        CmdError::Other(format!("ERR {}", message.as_ref()))
    }
}

/// What a command handler returns; the error becomes the reply.
pub type CmdResult = Result<(), CmdError>;

/// A command implementation.
pub type Handler = fn(&mut Ctx<'_>, Argv<'_>) -> CmdResult;

/// Command flags (a subset of Redis's, the ones that change behaviour here).
pub mod flags {
    /// Modifies the dataset: propagated, refused on read-only replicas.
    pub const WRITE: u32 = 1 << 0;
    /// Only reads data.
    pub const READONLY: u32 = 1 << 1;
    /// Allowed before authentication.
    pub const NO_AUTH: u32 = 1 << 2;
    /// Allowed on a replica whose link is down with serve-stale-data off.
    pub const STALE: u32 = 1 << 3;
    /// Administrative.
    pub const ADMIN: u32 = 1 << 4;
    /// O(1) or O(log n).
    pub const FAST: u32 = 1 << 5;
    /// May grow memory.
    pub const DENYOOM: u32 = 1 << 6;
    /// Allowed while loading.
    pub const LOADING: u32 = 1 << 7;
    /// Not allowed from scripts.
    pub const NOSCRIPT: u32 = 1 << 8;
    /// Not queued inside MULTI (executed at once).
    pub const NO_QUEUE: u32 = 1 << 9;
    /// Not a write, but may be propagated to replicas (PUBLISH).
    pub const MAY_REPLICATE: u32 = 1 << 10;
    /// Keys beyond the table's range are found in the arguments (SORT's
    /// STORE destination): the table's range names only keys read, and
    /// the handler tells WATCH about the keys it modifies.
    pub const MOVABLE_KEYS: u32 = 1 << 11;
    /// Not fed to MONITOR after it runs: the scripting commands feed it
    /// before, so that their scripts' commands come after them.
    pub const SKIP_MONITOR: u32 = 1 << 12;
    /// Runs while a script is busy (past `busy-reply-threshold`); every
    /// other command gets `-BUSY` then.
    pub const ALLOW_BUSY: u32 = 1 << 13;
    /// Refused inside MULTI (SAVE, SHUTDOWN, SYNC, PSYNC): it fails the
    /// transaction.
    pub const NO_MULTI: u32 = 1 << 14;
    /// May block the client (shown by COMMAND INFO as `blocking`).
    pub const BLOCKING: u32 = 1 << 15;
    /// A pub/sub command (shown as `pubsub`).
    pub const PUBSUB: u32 = 1 << 16;
    /// Not logged in the slow log (shown as `skip_slowlog`).
    pub const SKIP_SLOWLOG: u32 = 1 << 17;
    /// May name no key although it takes keys (EVAL, FCALL): COMMAND
    /// GETKEYS replies with none rather than an error.
    pub const NO_MANDATORY_KEYS: u32 = 1 << 18;
    /// Refused while loading a dataset in the background (shown as
    /// `no_async_loading`; replsim never loads in the background).
    pub const NO_ASYNC_LOADING: u32 = 1 << 19;
}

/// One entry of the command table.
#[derive(Debug)]
pub struct CommandSpec {
    /// Lower-case name (`get`, or `setname` for a subcommand).
    pub name: &'static str,
    /// Redis arity: N exact arguments, or -N for at least N (name included).
    pub arity: i32,
    /// [`flags`] bits.
    pub flags: u32,
    /// Position of the first key argument (0: none).
    pub first_key: i32,
    /// Position of the last key (-1: last argument).
    pub last_key: i32,
    /// Step between keys.
    pub key_step: i32,
    /// The implementation (unused for containers with subcommands).
    pub handler: Handler,
    /// Subcommands (CONFIG GET, CLIENT LIST, ...).
    pub subcommands: &'static [CommandSpec],
    /// The container's name for subcommands (`client`), empty otherwise.
    pub parent: &'static str,
}

impl CommandSpec {
    /// True when the command writes.
    #[inline]
    pub fn is_write(&self) -> bool {
        self.flags & flags::WRITE != 0
    }

    /// The name Redis uses in errors: `get`, or `client|setname`.
    pub fn full_name(&self) -> String {
        if self.parent.is_empty() {
            self.name.to_string()
        } else {
            format!("{}|{}", self.parent, self.name)
        }
    }

    fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i32;
        (self.arity > 0 && argc == self.arity) || (self.arity < 0 && argc >= -self.arity)
    }
}

/// Builds a [`CommandSpec`] with keys at `first..=last` step `step`.
pub(crate) const fn spec(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: (i32, i32, i32),
    handler: Handler,
) -> CommandSpec {
    CommandSpec {
        name,
        arity,
        flags,
        first_key: keys.0,
        last_key: keys.1,
        key_step: keys.2,
        handler,
        subcommands: &[],
        parent: "",
    }
}

/// Builds a subcommand [`CommandSpec`] of `parent`.
pub(crate) const fn sub(
    parent: &'static str,
    name: &'static str,
    arity: i32,
    flags: u32,
    handler: Handler,
) -> CommandSpec {
    CommandSpec {
        name,
        arity,
        flags,
        first_key: 0,
        last_key: 0,
        key_step: 0,
        handler,
        subcommands: &[],
        parent,
    }
}

/// Builds a container command with subcommands.
pub(crate) const fn container(
    name: &'static str,
    arity: i32,
    flags: u32,
    subcommands: &'static [CommandSpec],
) -> CommandSpec {
    CommandSpec {
        name,
        arity,
        flags,
        first_key: 0,
        last_key: 0,
        key_step: 0,
        handler: unknown_subcommand,
        subcommands,
        parent: "",
    }
}

fn unknown_subcommand(_: &mut Ctx<'_>, _: Argv<'_>) -> CmdResult {
    Err(CmdError::err("unknown subcommand"))
}

/// No keys.
pub(crate) const NO_KEYS: (i32, i32, i32) = (0, 0, 0);
/// One key at position 1.
pub(crate) const KEY1: (i32, i32, i32) = (1, 1, 1);

/// Every command family's table, in one list.
pub fn all_commands() -> impl Iterator<Item = &'static CommandSpec> {
    [
        connection::COMMANDS,
        server_cmds::COMMANDS,
        keys::COMMANDS,
        collection_scan::COMMANDS,
        dump::COMMANDS,
        migrate::COMMANDS,
        strings::COMMANDS,
        bits::COMMANDS,
        lists::COMMANDS,
        hashes::COMMANDS,
        sets::COMMANDS,
        zsets::COMMANDS,
        zset_algebra::COMMANDS,
        geo::COMMANDS,
        sort::COMMANDS,
        object::COMMANDS,
        transactions::COMMANDS,
        replication_cmds::COMMANDS,
        pubsub::COMMANDS,
        pops::COMMANDS,
        blocking::COMMANDS,
        hyperloglog::COMMANDS,
        streams::COMMANDS,
        stream_groups::COMMANDS,
        scripting::COMMANDS,
        cluster::COMMANDS,
    ]
    .into_iter()
    .flatten()
}

fn table() -> &'static HashMap<&'static [u8], &'static CommandSpec, crate::keyspace::FixedHash> {
    static TABLE: OnceLock<
        HashMap<&'static [u8], &'static CommandSpec, crate::keyspace::FixedHash>,
    > = OnceLock::new();
    TABLE.get_or_init(|| {
        all_commands()
            .map(|spec| (spec.name.as_bytes(), spec))
            .collect()
    })
}

/// Looks a command name up, case-insensitively.
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    let mut lower = [0u8; 32];
    if name.len() > lower.len() {
        return None;
    }
    for (dst, src) in lower.iter_mut().zip(name) {
        *dst = src.to_ascii_lowercase();
    }
    table().get(&lower[..name.len()]).copied()
}

/// A command or a subcommand by its full name (`get`, `config|get`), as
/// COMMAND INFO and COMMAND GETKEYS name them.
pub fn lookup_full_name(name: &[u8]) -> Option<&'static CommandSpec> {
    match name.iter().position(|&b| b == b'|') {
        None => lookup(name),
        Some(bar) => lookup_sub(lookup(&name[..bar])?, &name[bar + 1..]),
    }
}

fn lookup_sub(container: &'static CommandSpec, name: &[u8]) -> Option<&'static CommandSpec> {
    container
        .subcommands
        .iter()
        .find(|s| s.name.as_bytes().eq_ignore_ascii_case(name))
}

/// What the connection must do after a command.
#[derive(Debug, Clone, Default)]
pub enum Flow {
    /// Go on with the next command.
    #[default]
    Continue,
    /// Send what is buffered, then close (QUIT, killing oneself).
    CloseAfterReply,
    /// Pause this client for a while before going on (DEBUG SLEEP).
    Sleep(Duration),
    /// MIGRATE: talk to the target, then apply what it acknowledged
    /// ([`migrate::finish`]) and reply.
    Migrate(Box<migrate::MigrateJob>),
    /// The connection becomes a replica link (PSYNC, SYNC).
    Replicate(crate::replication::master::SyncRequest),
    /// The client blocked on keys (BLPOP and the other blocking pops): wait
    /// until it is served, times out or is unblocked
    /// ([`crate::server::blocking`]).
    Block,
    /// Block until `replicas` replicas acknowledged `offset` (WAIT).
    Wait {
        /// Replicas wanted.
        replicas: usize,
        /// The client's last write offset.
        offset: u64,
        /// Give up after this long (`None`: never).
        timeout: Option<Duration>,
    },
    /// A client pause holds the command back: it was not run, and runs
    /// again once the pause lets it (Redis's `BLOCKED_POSTPONE`).
    Postponed(crate::server::pause::Postponed),
}

/// Everything a command handler may touch.
pub struct Ctx<'a> {
    /// The node's shared state.
    pub state: &'a mut ServerState,
    /// The calling client.
    pub client: &'a mut Client,
    /// The reply buffer.
    pub out: &'a mut Reply,
    /// The command's notion of now (unix ms), fixed for its whole execution.
    pub now_ms: u64,
    /// What the connection does next.
    pub flow: Flow,
    /// Number of changes to the dataset made by the command.
    pub dirty: u64,
    /// The command runs queued in a transaction, from EXEC.
    pub in_exec: bool,
    /// The command was called by a script (`redis.call`).
    pub in_script: bool,
    /// Set while a blocked client is served: the key that became ready,
    /// the only one its command may pop from.
    pub serving_key: Option<crate::keyspace::Blob>,
    rewrite: Option<OwnedArgv>,
    suppress: bool,
    forced: bool,
    recording_new_keys: bool,
    keys_untouched: bool,
}

impl Ctx<'_> {
    /// Sends `argv`, as this client ran it, to every MONITOR client: the
    /// line goes to a monitoring caller's own reply, after what it has
    /// replied so far.
    pub(crate) fn feed_monitors(&mut self, argv: Argv<'_>) {
        if self.state.monitors.is_empty() {
            return;
        }
        let origin = if self.in_script {
            crate::server::monitor::Origin::Script
        } else {
            crate::server::monitor::Origin::Client(&self.client.addr)
        };
        let line = crate::server::monitor::line(self.now_ms, self.client.db, origin, argv);
        if self.client.monitor {
            self.out.raw(line.as_bytes());
        }
        let caller = self.client.id;
        self.state.feed_monitors(caller, &line);
    }
}

impl<'a> Ctx<'a> {
    /// A context for one command.
    pub fn new(
        state: &'a mut ServerState,
        client: &'a mut Client,
        out: &'a mut Reply,
        now_ms: u64,
    ) -> Self {
        Ctx {
            state,
            client,
            out,
            now_ms,
            flow: Flow::Continue,
            dirty: 0,
            in_exec: false,
            in_script: false,
            serving_key: None,
            rewrite: None,
            suppress: false,
            forced: false,
            recording_new_keys: false,
            keys_untouched: false,
        }
    }

    /// The client's selected db.
    #[inline]
    pub fn db(&mut self) -> &mut Db {
        self.state.keyspace.db_mut(self.client.db)
    }

    /// Propagate `args` instead of the command as the client sent it.
    pub fn rewrite<A: AsRef<[u8]>>(&mut self, args: &[A]) {
        self.rewrite = Some(OwnedArgv::from_args(args));
    }

    /// Propagate `args` (in the client's db) before the command itself.
    pub fn also_propagate<A: AsRef<[u8]>>(&mut self, args: &[A]) {
        let db = self.client.db;
        self.state.also_propagate(db, OwnedArgv::from_args(args));
    }

    /// Propagate the command to replicas although it changed nothing
    /// (Redis's `forceCommandPropagation` with `PROPAGATE_REPL`: PUBLISH).
    pub fn force_propagation(&mut self) {
        self.forced = true;
    }

    /// Do not propagate the command itself (what it did was propagated by
    /// [`Ctx::also_propagate`], or it must not reach replicas).
    pub fn no_propagation(&mut self) {
        self.suppress = true;
    }

    /// The command's changes do not count as modifying its keys for WATCH
    /// (Redis's XACK, XCLAIM, XAUTOCLAIM and XSETID signal no modified key),
    /// or the command touches the ones it modified itself (BITOP: its
    /// destination, not its sources).
    pub fn keys_untouched(&mut self) {
        self.keys_untouched = true;
    }

    /// Applies the expiry policy to `key` and tells whether it is to be
    /// treated as missing. A master deletes an expired key and propagates
    /// `DEL`; a replica only hides it from its clients; commands from the
    /// master always see the key.
    pub fn expire_if_needed(&mut self, key: &[u8]) -> bool {
        let db = self.client.db;
        match self.state.keyspace.db(db).get(key) {
            Some(entry) if entry.is_expired(self.now_ms) => self.handle_expired(key),
            _ => false,
        }
    }

    /// The expiry policy for a key found expired; true when it is to be
    /// treated as missing.
    fn handle_expired(&mut self, key: &[u8]) -> bool {
        let db = self.client.db;
        if self.client.is_master {
            return false;
        }
        // While clients are paused the dataset stays still: the key reads
        // as missing but is neither deleted nor is a DEL propagated.
        let now = self.state.mono_now;
        if self.state.client_pauses.is_paused(now) {
            return true;
        }
        if self.state.is_replica() {
            if self.state.planted.replica_deletes_expired_on_read {
                self.state.keyspace.db_mut(db).remove(key);
            }
            return true;
        }
        self.state.delete_expired(
            db,
            key,
            Some(crate::server::pubsub::Publisher {
                client: &mut *self.client,
                out: &mut *self.out,
            }),
        );
        true
    }

    /// The entry of `key` in the selected db, after expiry, its access
    /// stamp updated (Redis's `lookupKeyRead`). One hashed lookup: the
    /// entry is then reached again by its position.
    pub fn lookup(&mut self, key: &[u8]) -> Option<&Entry> {
        self.lookup_touching(key, true)
    }

    /// The entry of `key` in the selected db, after expiry, leaving its
    /// access stamp alone (Redis's `LOOKUP_NOTOUCH`: TYPE, TTL, EXISTS,
    /// OBJECT).
    pub fn lookup_untouched(&mut self, key: &[u8]) -> Option<&Entry> {
        self.lookup_touching(key, false)
    }

    fn lookup_touching(&mut self, key: &[u8], touch: bool) -> Option<&Entry> {
        let db_index = self.client.db;
        let (index, expired) = self
            .state
            .keyspace
            .db(db_index)
            .get_full(key)
            .map(|(index, entry)| (index, entry.is_expired(self.now_ms)))?;
        if expired && self.handle_expired(key) {
            return None;
        }
        if expired {
            // Kept (a replica hides nothing from its master): look it up
            // again, as the position may not have survived.
            return self.state.keyspace.db(db_index).get(key);
        }
        if touch {
            let state = &mut *self.state;
            let db = state.keyspace.db_mut(db_index);
            if let Some(old) = db.get_index(index).map(|(_, entry)| entry.access()) {
                let stamp = state.maxmemory.touched(old, self.now_ms, &mut state.rng);
                db.set_access_at(index, stamp);
            }
        }
        let db = self.state.keyspace.db(db_index);
        db.get_index(index).map(|(_, entry)| entry)
    }

    /// The value of `key`, after expiry, for modification, its access
    /// stamp updated (Redis's `lookupKeyWrite`).
    pub fn lookup_mut(&mut self, key: &[u8]) -> Option<&mut Value> {
        if self.expire_if_needed(key) {
            return None;
        }
        let now_ms = self.now_ms;
        let state = &mut *self.state;
        let (maxmemory, rng) = (state.maxmemory, &mut state.rng);
        state
            .keyspace
            .db_mut(self.client.db)
            .value_mut_touched(key, |old| maxmemory.touched(old, now_ms, rng))
    }

    /// Records `count` changes to the dataset.
    #[inline]
    pub fn changed(&mut self, count: u64) {
        self.dirty += count;
    }
}

/// Parses an integer argument (`string2ll` rules).
pub fn int_arg(arg: &[u8]) -> Result<i64, CmdError> {
    crate::resp::parse_i64(arg).ok_or(CmdError::NotInteger)
}

/// Parses a float argument the way `strtod` with Redis's checks does: no
/// leading space, no trailing bytes, no NaN.
pub fn float_arg(arg: &[u8]) -> Result<f64, CmdError> {
    parse_float(arg).ok_or(CmdError::NotFloat)
}

/// `strtod`-style float parsing shared by commands and sorted-set ranges.
pub fn parse_float(arg: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(arg).ok()?;
    if text.is_empty() || text.starts_with(|c: char| c.is_ascii_whitespace()) {
        return None;
    }
    let lower = text.to_ascii_lowercase();
    let unsigned = lower.trim_start_matches(['+', '-']);
    let value = match unsigned {
        "inf" | "infinity" => {
            if lower.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            }
        }
        _ if unsigned.starts_with(|c: char| c.is_ascii_digit() || c == '.') => {
            lower.parse().ok()?
        }
        _ => return None,
    };
    (!value.is_nan()).then_some(value)
}

/// Checks and runs one command from `client`, writing its reply, and feeds
/// what it changed to the replication stream. This is Redis's
/// `processCommand` followed by `call`.
pub fn execute(ctx: &mut Ctx<'_>, argv: Argv<'_>) {
    if ctx.state.probe.is_none() {
        return process_and_call(ctx, argv);
    }
    let reply_start = ctx.out.len();
    process_and_call(ctx, argv);
    report_replica_read(ctx, argv, reply_start);
}

/// Tells the simulation checker about a read a replica served to a client
/// (replies queued inside MULTI are not reads yet).
fn report_replica_read(ctx: &mut Ctx<'_>, argv: Argv<'_>, reply_start: usize) {
    let is_read = lookup(argv.get(0)).is_some_and(|spec| spec.flags & flags::READONLY != 0);
    if !is_read || ctx.client.is_master || ctx.client.in_multi() || !ctx.state.is_replica() {
        return;
    }
    let args: Vec<&[u8]> = argv.iter().collect();
    let reply = &ctx.out.as_bytes()[reply_start..];
    ctx.state.note_read(ctx.client.db, &args, reply, ctx.now_ms);
}

fn process_and_call(ctx: &mut Ctx<'_>, argv: Argv<'_>) {
    let spec = match resolve(argv) {
        Ok(spec) => spec,
        Err(message) => {
            // Redis's `lastcmd` is what the lookup found: nothing for an
            // unknown command (CLIENT LIST shows `cmd=NULL`).
            match lookup(argv.get(0)) {
                None => ctx.client.last_command = None,
                Some(found) => {
                    let name = if found.subcommands.is_empty() || argv.len() < 2 {
                        found.full_name()
                    } else {
                        lookup_sub(found, argv.get(1))
                            .map_or_else(|| found.full_name(), CommandSpec::full_name)
                    };
                    ctx.state.stats.command(&name).rejected_calls += 1;
                }
            }
            ctx.client.transaction_failed();
            ctx.state.stats.count_error(&message);
            ctx.out.error(&message);
            return;
        }
    };
    // Values this command creates carry its time (Redis's LRU clock).
    let access_clock = ctx.state.maxmemory.access_clock(ctx.now_ms);
    ctx.state.keyspace.set_access_clock(access_clock);
    if ctx.state.auth_required(ctx.client) && spec.flags & flags::NO_AUTH == 0 {
        ctx.client.transaction_failed();
        reject(ctx, spec, "NOAUTH Authentication required.");
        return;
    }
    if ctx.client.in_multi() && spec.flags & flags::NO_MULTI != 0 {
        refuse(ctx, spec, "ERR Command not allowed inside a transaction");
        return;
    }
    let command_flags =
        if spec.flags & flags::NOSCRIPT != 0 && spec.flags & flags::MOVABLE_KEYS != 0 {
            scripting::command_flags(ctx, spec, argv)
        } else {
            spec.flags
        };
    if ctx.state.maxmemory.limit > 0 && ctx.state.busy_script().is_none() {
        let out_of_memory = !crate::server::eviction::perform_evictions(ctx.state, ctx.now_ms);
        // Inside MULTI every command but the ones that end it is refused:
        // queueing takes memory too.
        let uses_memory = command_flags & flags::DENYOOM != 0
            || (spec.name == "exec"
                && ctx
                    .client
                    .queued_commands()
                    .any(|q| q.flags & flags::DENYOOM != 0))
            || (ctx.client.in_multi()
                && !matches!(spec.name, "exec" | "discard" | "quit" | "reset"));
        if out_of_memory && uses_memory {
            refuse(ctx, spec, crate::server::eviction::OOM_ERROR);
            return;
        }
        ctx.state.pre_command_oom = out_of_memory;
    }
    if let Err(message) = replication_checks(ctx, spec, command_flags) {
        refuse(ctx, spec, &message);
        return;
    }
    // While a script is busy, other clients get `-BUSY` for all but the
    // few commands Redis lets through (see `server::busy`).
    if let Some(busy) = ctx.state.busy_script() {
        if spec.flags & flags::ALLOW_BUSY == 0 {
            let message = busy.busy_error();
            refuse(ctx, spec, message);
            return;
        }
    }
    // A pause holds normal clients' commands by what they would do (a
    // script's declared flags, EXEC's queued commands); replicas and the
    // master link never wait here.
    if ctx.client.kind == crate::server::ClientKind::Normal && !ctx.client.is_master {
        let now = ctx.state.mono_now;
        let queued: Vec<u32> = if spec.name == "exec" {
            ctx.client.queued_commands().map(|q| q.flags).collect()
        } else {
            Vec::new()
        };
        if let Some(postponed) = ctx
            .state
            .client_pauses
            .postpones(now, command_flags, queued)
        {
            ctx.flow = Flow::Postponed(postponed);
            return;
        }
    }
    if ctx.client.in_multi() && spec.flags & flags::NO_QUEUE == 0 {
        ctx.client.queue(argv.to_owned_argv());
        ctx.out.raw(b"+QUEUED\r\n");
        return;
    }
    ctx.client.last_command = Some(spec);
    call(ctx, spec, argv);
    if ctx.client.is_master {
        // Our master's commands reach our replicas as the exact bytes we
        // applied, fed by the link task; never as regenerated commands.
        ctx.state.discard_pending_propagation();
    } else {
        ctx.state.propagate_pending();
        // (A command of the master's stream is reported once its bytes
        // are applied, by the link.)
        ctx.state.note_publishes();
    }
    ctx.client.write_offset = ctx.state.repl.offset;
    // Not while a script is busy: the keys it made ready are served once
    // it ends, after its last write, as Redis serves them.
    if !ctx.state.blocking.is_empty() && ctx.state.busy_script().is_none() {
        blocking::handle_ready_keys(ctx.state, ctx.now_ms);
    }
}

/// Refuses a command by a check made before it runs (Redis's
/// `rejectCommand`): it is the client's last command, its transaction
/// fails, and a refused EXEC ends its transaction (`execCommandAbort`).
fn refuse(ctx: &mut Ctx<'_>, spec: &'static CommandSpec, message: &str) {
    // Redis sets `lastcmd` before its checks: a refused command is the
    // client's last one too (the replica-reply log names it).
    ctx.client.last_command = Some(spec);
    ctx.client.transaction_failed();
    if spec.name == "exec" && ctx.client.in_multi() {
        ctx.client.take_multi();
        ctx.state.watches.unwatch_all(ctx.client.id);
        let aborted = format!("EXECABORT Transaction discarded because of: {message}");
        reject(ctx, spec, &aborted);
        return;
    }
    reject(ctx, spec, message);
}

/// Replies with the error of a command refused before it ran, counted as
/// Redis counts it (a rejected call and an error reply).
fn reject(ctx: &mut Ctx<'_>, spec: &CommandSpec, message: &str) {
    ctx.state.stats.command(&spec.full_name()).rejected_calls += 1;
    ctx.state.stats.count_error(message);
    ctx.out.error(message);
}

/// Redis's refusal of writes while its last background save failed.
const MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

/// The checks Redis makes for replication before running a command, in its
/// order: a failed background save (`-MISCONF`), not enough good replicas, a read-only replica, a replica whose
/// link is down while it must not serve stale data, and a replica's link
/// touching the keyspace.
fn replication_checks(
    ctx: &Ctx<'_>,
    spec: &CommandSpec,
    command_flags: u32,
) -> Result<(), std::borrow::Cow<'static, str>> {
    if ctx.client.is_master {
        return Ok(());
    }
    let is_write = command_flags & flags::WRITE != 0;
    let state = &*ctx.state;
    let config = &state.config;
    // EXEC is judged by what it would run, as Redis judges it by its
    // transaction's flags: a write if any queued command writes, denied
    // on a stale replica if any queued command is.
    let exec = spec.name == "exec";
    let writes = is_write || (exec && ctx.client.queued_commands().any(|q| q.is_write()));
    let denied_when_stale = command_flags & flags::STALE == 0
        || (exec
            && ctx
                .client
                .queued_commands()
                .any(|q| q.flags & flags::STALE == 0));
    // Redis refuses PING too. A replica applying its master's stream is
    // exempt here (it was returned above); see the README.
    if state.writes_denied_by_disk_error() && (writes || spec.name == "ping") {
        return Err(MISCONF.into());
    }
    if writes && !state.is_replica() && config.min_replicas_to_write > 0 {
        let max_lag = Duration::from_secs(config.min_replicas_max_lag);
        if (state.repl.good_replicas(state.mono_now, max_lag) as u64) < config.min_replicas_to_write
        {
            return Err("NOREPLICAS Not enough good replicas to write.".into());
        }
    }
    if writes && state.is_readonly_replica() && !state.planted.replica_accepts_client_writes {
        return Err("READONLY You can't write against a read only replica.".into());
    }
    // A RESP2 client in pub/sub mode can only read pushes in between.
    let top_level = if spec.parent.is_empty() {
        spec.name
    } else {
        spec.parent
    };
    if ctx.client.subscriptions.active()
        && !ctx.client.is_resp3()
        && !pubsub::allowed_while_subscribed(top_level)
    {
        return Err(pubsub::refused_while_subscribed(&spec.full_name()).into());
    }
    if state.is_replica()
        && !config.replica_serve_stale_data
        && !state.master_link_up()
        && denied_when_stale
    {
        return Err(
            "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
                .into(),
        );
    }
    // A replica's link may carry REPLCONF and the like, never reads or
    // writes (Redis guards the client-pause exemption of replicas so).
    if ctx.client.kind == crate::server::ClientKind::Replica
        && command_flags & (flags::WRITE | flags::READONLY | flags::MAY_REPLICATE) != 0
    {
        return Err("ERR Replica can't interact with the keyspace".into());
    }
    Ok(())
}

/// Finds the spec for `argv`, or Redis's error text for an unknown command,
/// an unknown subcommand or a wrong arity.
pub fn resolve(argv: Argv<'_>) -> Result<&'static CommandSpec, String> {
    let name = argv.get(0);
    let Some(mut spec) = lookup(name) else {
        return Err(unknown_command_message(argv));
    };
    if !spec.subcommands.is_empty() && argv.len() >= 2 {
        match lookup_sub(spec, argv.get(1)) {
            Some(subspec) => spec = subspec,
            None => {
                return Err(format!(
                    "ERR unknown subcommand '{}'. Try {} HELP.",
                    truncated_lossy(argv.get(1), 128),
                    spec.name.to_ascii_uppercase()
                ))
            }
        }
    }
    if !spec.arity_ok(argv.len()) {
        return Err(format!(
            "ERR wrong number of arguments for '{}' command",
            spec.full_name()
        ));
    }
    Ok(spec)
}

fn truncated_lossy(bytes: &[u8], max: usize) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(max)]).into_owned()
}

/// `unknown command 'x', with args beginning with: 'a' 'b' `, with Redis's
/// 128-character limits.
pub(crate) fn unknown_command_message(argv: Argv<'_>) -> String {
    let mut args = String::new();
    for arg in argv.iter().skip(1) {
        if args.len() >= 128 {
            break;
        }
        let room = 128 - args.len();
        args.push('\'');
        args.push_str(&truncated_lossy(arg, room));
        args.push_str("' ");
    }
    format!(
        "ERR unknown command '{}', with args beginning with: {}",
        truncated_lossy(argv.get(0), 128),
        args
    )
}

/// Tells WATCH that the keys `spec` names in `argv` were modified (as
/// Redis's commands signal each key they modify).
fn touch_command_keys(ctx: &mut Ctx<'_>, spec: &CommandSpec, argv: Argv<'_>) {
    if spec.first_key <= 0 || spec.flags & flags::MOVABLE_KEYS != 0 {
        return;
    }
    let argc = argv.len() as i32;
    let last = if spec.last_key < 0 {
        argc + spec.last_key
    } else {
        spec.last_key.min(argc - 1)
    };
    let step = spec.key_step.max(1) as usize;
    let db = ctx.client.db;
    for index in (spec.first_key..=last).step_by(step) {
        let key = argv.get(index as usize);
        let exists = ctx.state.keyspace.db(db).get(key).is_some();
        ctx.state.watches.touch(db, key, exists);
    }
}

/// Runs a resolved command (also used by EXEC) and queues its propagation.
pub(crate) fn call(ctx: &mut Ctx<'_>, spec: &'static CommandSpec, argv: Argv<'_>) {
    ctx.dirty = 0;
    ctx.rewrite = None;
    ctx.suppress = false;
    ctx.forced = false;
    ctx.keys_untouched = false;
    let reply_start = ctx.out.len();
    let recording = ctx.start_recording_keys(spec);
    let started = (ctx.state.clock)();
    let result = (spec.handler)(ctx, argv);
    let mut took = (ctx.state.clock)().saturating_sub(started);
    // DEBUG SLEEP holds Redis inside the command; here the connection
    // sleeps after it, but the time is the command's all the same.
    if let Flow::Sleep(sleep) = ctx.flow {
        took += sleep;
    }
    ctx.finish_recording_keys(recording);
    let failed = if let Err(error) = result {
        ctx.out.truncate(reply_start);
        let message = error.to_string();
        ctx.out.error(&message);
        ctx.state.stats.count_error(&message);
        true
    } else {
        false
    };
    // A command that blocked counts once it returns (served, timed out or
    // unblocked), as Redis counts it; serving it again is not a new
    // command.
    let blocked = matches!(ctx.flow, Flow::Block) && !failed;
    // Top-level names are borrowed: no copy per call.
    let name: std::borrow::Cow<'static, str> = if spec.parent.is_empty() {
        spec.name.into()
    } else {
        spec.full_name().into()
    };
    let counts = ctx.state.stats.command(name.as_ref());
    counts.calls += u64::from(!blocked);
    counts.failed_calls += u64::from(failed);
    if !blocked {
        counts.usec += u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        if ctx.state.config.latency_tracking() {
            ctx.state.stats.record_latency(&name, took);
        }
    }
    ctx.state.stats.commands_processed += u64::from(ctx.serving_key.is_none());
    // Administrative commands are too dangerous to show (Redis's rule); a
    // blocked command was shown when it first ran.
    if spec.flags & (flags::ADMIN | flags::SKIP_MONITOR) == 0 && ctx.serving_key.is_none() {
        ctx.feed_monitors(argv);
    }
    if ctx.dirty > 0 && spec.is_write() && !ctx.keys_untouched && !ctx.state.watches.is_empty() {
        touch_command_keys(ctx, spec, argv);
    }
    // Redis's `server.dirty`: every change the command made (what
    // `rdb_changes_since_last_save` counts and save points compare with).
    ctx.state.stats.dirty += ctx.dirty;
    let planted_skip = ctx.state.planted.flushall_not_propagated && spec.name == "flushall";
    if ctx.forced && ctx.dirty == 0 && !ctx.suppress && !planted_skip {
        // A forced propagation (PUBLISH) changes no data: it reaches the
        // stream but is no change to save.
        if ctx.state.repl.feeding() && !ctx.client.is_master {
            let db = ctx.client.db;
            let propagated = ctx.rewrite.take().unwrap_or_else(|| argv.to_owned_argv());
            ctx.state.also_propagate(db, propagated);
        }
    } else if ctx.dirty > 0 && !ctx.suppress && !planted_skip {
        // Only a node that records its stream keeps a copy of the command.
        if ctx.state.repl.feeding() && !ctx.client.is_master {
            let db = ctx.client.db;
            let propagated = ctx.rewrite.take().unwrap_or_else(|| argv.to_owned_argv());
            ctx.state.also_propagate(db, propagated);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_name_is_unique_and_lowercase() {
        let mut seen = std::collections::BTreeSet::new();
        for spec in all_commands() {
            assert_eq!(spec.name, spec.name.to_ascii_lowercase());
            assert!(seen.insert(spec.name), "duplicate {}", spec.name);
        }
    }

    #[test]
    fn floats_parse_like_strtod_with_redis_checks() {
        assert_eq!(parse_float(b"1.5"), Some(1.5));
        assert_eq!(parse_float(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_float(b"+inf"), Some(f64::INFINITY));
        assert_eq!(parse_float(b"1e3"), Some(1000.0));
        assert_eq!(parse_float(b".5"), Some(0.5));
        for bad in [&b"nan"[..], b" 1", b"1 ", b"abc", b"", b"1.5x"] {
            assert_eq!(parse_float(bad), None, "{bad:?}");
        }
    }
}
