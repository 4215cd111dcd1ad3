//! The master side of a link: a connection that sent PSYNC or SYNC becomes a
//! replica. This task answers `+CONTINUE` with the backlog or `+FULLRESYNC`
//! with an RDB (disk-style `$<len>` or diskless `$EOF:<mark>` framing),
//! then streams the replica's output buffer, reads its `REPLCONF ACK`s, and
//! drops it on `repl-timeout`, when its output buffer passes Redis's
//! replica limits, or when a command it sent generated a reply.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::Notify;

use super::diskless::{self, SharedRdb};
use super::{PsyncDecision, ReplicaLink, ReplicaState};
use crate::command::{execute, Ctx, Flow};
use crate::log::Level;
use crate::rdb::{self, RdbInfo};
use crate::resp::{parse_command, parse_i64, Argv, ArgvBuf, ParseLimits, Parsed, Reply};
use crate::runtime::Runtime;
use crate::server::{ClientKind, Server, ServerState};

/// What the replica asked for.
#[derive(Debug, Clone)]
pub struct SyncRequest {
    /// `PSYNC <replid> <offset>`, or `None` for the legacy inline `SYNC`.
    pub psync: Option<(String, i64)>,
    /// The replica said `REPLCONF capa eof`.
    pub capa_eof: bool,
    /// The replica said `REPLCONF capa psync2`.
    pub capa_psync2: bool,
    /// Its `REPLCONF listening-port` (0 when not sent).
    pub listening_port: u16,
    /// Its `REPLCONF ip-address`, or its peer address.
    pub ip: String,
}

impl SyncRequest {
    /// The replica as Redis names it in logs (`replicationGetSlaveName`).
    pub fn name(&self) -> String {
        super::replica_name(&self.ip, self.listening_port)
    }
}

/// How the transfer goes, decided under the lock.
enum Plan {
    Continue { reply: Vec<u8> },
    Full { diskless: bool },
}

fn register(
    state: &mut ServerState,
    client_id: u64,
    request: &SyncRequest,
    streaming: bool,
) -> Arc<Notify> {
    let wakeup = Arc::new(Notify::new());
    let kill = state
        .clients
        .get(&client_id)
        .map(|c| c.kill_switch())
        .unwrap_or_default();
    if let Some(client) = state.clients.get_mut(&client_id) {
        client.kind = ClientKind::Replica;
    }
    let now = state.mono_now;
    state.repl.replicas.insert(
        client_id,
        ReplicaLink {
            client_id,
            ip: request.ip.clone(),
            listening_port: request.listening_port,
            state: if streaming {
                ReplicaState::Online
            } else {
                ReplicaState::WaitBgsave
            },
            ack_offset: 0,
            ack_time: now,
            attached_at: now,
            streaming,
            output: BytesMut::new(),
            soft_limit_since: None,
            wakeup: wakeup.clone(),
            kill,
            awaits_socket_rdb: false,
            socket_rdb: None,
            stream_on_ack: false,
        },
    );
    state.repl.no_replicas_since = None;
    wakeup
}

/// Creates the backlog when the first replica attaches (logged after the
/// PSYNC decision, as Redis does).
fn create_backlog(state: &mut ServerState) {
    if state.repl.backlog.is_some() {
        return;
    }
    let backlog_size = state.config.repl_backlog_size as usize;
    let new_id = state.new_replid();
    let logger = state.logger.clone();
    let role = if state.is_replica() { 'S' } else { 'M' };
    state.repl.ensure_backlog(
        backlog_size,
        || new_id,
        |line| logger.log(role, Level::Notice, line),
    );
    // A master's new history starts here, with the data it has now.
    state.note_offset();
}

fn plan(
    state: &mut ServerState,
    client_id: u64,
    request: &SyncRequest,
) -> (Plan, Option<Arc<Notify>>) {
    // The PSYNC/SYNC command refused what it had to and logged the
    // request already.
    let name = request.name();
    let decision = match &request.psync {
        Some((replid, offset)) => {
            state
                .repl
                .decide_psync_planted(&name, replid, *offset, &state.planted)
        }
        None => PsyncDecision::Full {
            reason: None,
            warning: None,
        },
    };
    match decision {
        PsyncDecision::Continue { from } => {
            let backlog_bytes = state
                .repl
                .backlog
                .as_ref()
                .and_then(|b| {
                    let skew = state.planted.backlog_read_off_by_one_after_wrap && b.has_wrapped();
                    b.since(from + u64::from(skew))
                })
                .unwrap_or_default();
            let mut reply = if request.capa_psync2 {
                format!("+CONTINUE {}\r\n", state.repl.replid).into_bytes()
            } else {
                b"+CONTINUE\r\n".to_vec()
            };
            state.log(
                Level::Notice,
                &format!(
                    "Partial resynchronization request from {name} accepted. Sending {} bytes of backlog starting from offset {from}.",
                    backlog_bytes.len()
                ),
            );
            reply.extend_from_slice(&backlog_bytes);
            state.repl.sync_stats.partial_ok += 1;
            let wakeup = register(state, client_id, request, true);
            (Plan::Continue { reply }, Some(wakeup))
        }
        PsyncDecision::Full { reason, warning } => {
            if let Some(warning) = warning {
                // Redis logs the refusal first, then this warning.
                if let Some(reason) = &reason {
                    state.log(Level::Notice, reason);
                }
                state.log(Level::Warning, &warning);
                if request.psync.as_ref().is_some_and(|(id, _)| id != "?") {
                    state.repl.sync_stats.partial_err += 1;
                }
            } else if let Some(reason) = reason {
                state.log(Level::Notice, &reason);
                if request.psync.as_ref().is_some_and(|(id, _)| id != "?") {
                    state.repl.sync_stats.partial_err += 1;
                }
            }
            state.repl.sync_stats.full += 1;
            create_backlog(state);
            let diskless = state.config.repl_diskless_sync && request.capa_eof;
            let wakeup = register(state, client_id, request, false);
            if diskless {
                if let Some(link) = state.repl.replicas.get_mut(&client_id) {
                    link.awaits_socket_rdb = true;
                }
                if let Some(line) = diskless::arrival_line(state) {
                    state.log(Level::Notice, line);
                }
            }
            (Plan::Full { diskless }, Some(wakeup))
        }
    }
}

/// Takes the snapshot for a full sync: the RDB bytes and the offset they
/// stand for. The replicas it is for collect the stream from here on.
pub(super) fn take_snapshot(state: &mut ServerState, now_unix_ms: u64) -> (Vec<u8>, u64) {
    // The db the stream is in at the snapshot offset; a master then forces a
    // SELECT before its next command, a replica forwards its master's
    // stream as it is.
    let stream_db = state.stream_db_now();
    if !state.is_replica() {
        state.repl.stream_db = None;
    }
    let info = RdbInfo {
        redis_ver: crate::REDIS_COMPAT_VERSION.to_string(),
        ctime_unix_s: now_unix_ms / 1000,
        used_mem: 0,
        repl_stream_db: Some(stream_db as u32),
        repl_id: Some(state.repl.replid.clone()),
        repl_offset: Some(state.repl.offset as i64),
    };
    let payload = if state.planted.rdb_drops_a_key {
        planted_rdb_without_a_key(&state.keyspace, &info)
    } else {
        rdb::encode(&state.keyspace, &info)
    };
    (payload, state.repl.offset)
}

/// The planted bug [`rdb_drops_a_key`]: the RDB leaves out the first key
/// of the first non-empty db.
///
/// [`rdb_drops_a_key`]: crate::server::probe::PlantedBugs::rdb_drops_a_key
pub(crate) fn planted_rdb_without_a_key(
    keyspace: &crate::keyspace::Keyspace,
    info: &RdbInfo,
) -> Vec<u8> {
    let mut copy = keyspace.clone();
    let first = copy
        .dbs()
        .find_map(|(db, data)| data.iter().next().map(|(key, _)| (db, key.to_vec())));
    if let Some((db, key)) = first {
        copy.db_mut(db).remove(&key);
    }
    rdb::encode(&copy, info)
}

async fn send<S: AsyncWrite + Unpin>(stream: &mut S, bytes: &[u8]) -> bool {
    stream.write_all(bytes).await.is_ok() && stream.flush().await.is_ok()
}

/// What a replica is sent ahead of its output buffer: the `+CONTINUE` line
/// and the backlog, or the `+FULLRESYNC` line and the RDB. It is written
/// by the same loop that streams, so that the output-buffer limits, the
/// replica's reads and CLIENT KILL are served while a replica that does
/// not read holds the transfer up (Redis sends the RDB from its event loop
/// and keeps feeding, and checking, the replica's buffer meanwhile).
struct Preamble {
    /// Written in order; the RDB payload of a diskless sync is shared by
    /// every replica of the transfer, not copied for each.
    parts: Vec<Bytes>,
    /// Bytes of `parts` written so far.
    sent: usize,
    done: TransferDone,
}

impl Preamble {
    fn new(parts: Vec<Bytes>, done: TransferDone) -> Self {
        Preamble {
            parts,
            sent: 0,
            done,
        }
    }

    fn len(&self) -> usize {
        self.parts.iter().map(Bytes::len).sum()
    }

    fn is_written(&self) -> bool {
        self.sent == self.len()
    }

    /// What is left of the part being written.
    fn unwritten(&self) -> &[u8] {
        let mut skip = self.sent;
        for part in &self.parts {
            if skip < part.len() {
                return &part[skip..];
            }
            skip -= part.len();
        }
        &[]
    }
}

/// What finishing the preamble means.
#[derive(Debug, Clone, Copy)]
enum TransferDone {
    /// `+CONTINUE` and the backlog: the replica was online already.
    Continue,
    /// A disk-style RDB (`$<len>`): the replica goes online.
    Disk,
    /// A diskless RDB (`$EOF:`): the stream waits for the first ACK.
    Socket,
}

/// Serves a replica until its link ends. `leftover` holds bytes the replica
/// sent after its PSYNC.
pub async fn serve_replica<R: Runtime>(
    server: Server<R>,
    mut stream: R::Stream,
    client_id: u64,
    request: SyncRequest,
    mut leftover: BytesMut,
) {
    let rt = server.runtime().clone();
    let name = request.name();
    let (plan, wakeup) = {
        let mut state = server.state_at(rt.monotonic());
        plan(&mut state, client_id, &request)
    };
    let (preamble, wakeup) = match (plan, wakeup) {
        (Plan::Continue { reply }, Some(wakeup)) => (
            Preamble::new(vec![Bytes::from(reply)], TransferDone::Continue),
            wakeup,
        ),
        (Plan::Full { diskless }, Some(wakeup)) => {
            let preamble = if diskless {
                socket_sync(&server, &mut stream, client_id, &request, &wakeup).await
            } else {
                disk_sync(&server, client_id, &request)
            };
            match preamble {
                Some(preamble) => (preamble, wakeup),
                None => {
                    drop_replica(&server, client_id, &name);
                    return;
                }
            }
        }
        (_, None) => return,
    };
    let close = stream_to_replica(
        &server,
        &mut stream,
        client_id,
        &request,
        &mut leftover,
        wakeup,
        preamble,
    )
    .await;
    drop_replica(&server, client_id, &name);
    // A limit found passed by the cron closes the replica at once, and Redis
    // logs why after the link's own line (`freeClient` first).
    if let Some(line) = close {
        server.state().log(Level::Warning, &line);
    }
}

/// A disk-style full sync: the snapshot at once, sent as `$<len>`. Redis
/// writes it to disk first; replsim's snapshot takes no time, so a replica
/// never waits for another's BGSAVE to end.
fn disk_sync<R: Runtime>(
    server: &Server<R>,
    client_id: u64,
    request: &SyncRequest,
) -> Option<Preamble> {
    let rt = server.runtime().clone();
    let mut state = server.state_at(rt.monotonic());
    state.log(Level::Notice, "Starting BGSAVE for SYNC with target: disk");
    let (payload, offset) = take_snapshot(&mut state, rt.unix_time_ms());
    let link = state.repl.replicas.get_mut(&client_id)?;
    link.streaming = true;
    link.state = ReplicaState::SendBulk;
    let mut header = Vec::with_capacity(128);
    if request.psync.is_some() {
        header.extend_from_slice(
            format!("+FULLRESYNC {} {offset}\r\n", state.repl.replid).as_bytes(),
        );
    }
    header.extend_from_slice(format!("${}\r\n", payload.len()).as_bytes());
    Some(Preamble::new(
        vec![Bytes::from(header), Bytes::from(payload)],
        TransferDone::Disk,
    ))
}

/// A diskless full sync: waits, sending newlines as Redis's replication
/// cron does, until a shared snapshot is handed to this replica (see
/// [`diskless`]), then returns `+FULLRESYNC` (for PSYNC) and the RDB in
/// `$EOF:` framing. `None` when the replica left meanwhile.
async fn socket_sync<R: Runtime>(
    server: &Server<R>,
    stream: &mut R::Stream,
    client_id: u64,
    request: &SyncRequest,
    wakeup: &Notify,
) -> Option<Preamble> {
    let rt = server.runtime().clone();
    let kill = server.state().clients.get(&client_id)?.kill_switch();
    let mut next_newline = rt.monotonic() + Duration::from_secs(1);
    let rdb: Arc<SharedRdb> = loop {
        let wake_at = {
            let mut state = server.state_at(rt.monotonic());
            let now = state.mono_now;
            // While the server is paused (DEBUG SLEEP, Redis's blocked main
            // thread) its cron neither sends newlines nor starts transfers.
            let paused_until = state.paused_until.filter(|until| *until > now);
            if paused_until.is_none() {
                diskless::start_pending(&mut state, rt.unix_time_ms());
            }
            let link = state.repl.replicas.get(&client_id)?;
            if let Some(rdb) = &link.socket_rdb {
                break rdb.clone();
            }
            // The first waiting replica's task starts the transfer when
            // its delay is over; the others are woken by it.
            let deadline =
                link.attached_at + Duration::from_secs(state.config.repl_diskless_sync_delay);
            let wake_at = paused_until.unwrap_or(next_newline.min(deadline.max(now)));
            wake_at.max(now)
        };
        tokio::select! {
            biased;
            _ = kill.killed() => return None,
            _ = wakeup.notified() => {}
            _ = rt.sleep(wake_at.saturating_sub(rt.monotonic())) => {}
        }
        let now = rt.monotonic();
        if now >= next_newline {
            next_newline = now + Duration::from_secs(1);
            let paused = server.state().paused_until.is_some_and(|until| until > now);
            // Newlines keep the replica's read timeout from firing while
            // it waits; nothing accumulates for it before the snapshot.
            if !paused && !send(stream, b"\n").await {
                return None;
            }
        }
    };
    let mut header = Vec::with_capacity(128);
    if request.psync.is_some() {
        header
            .extend_from_slice(format!("+FULLRESYNC {} {}\r\n", rdb.replid, rdb.offset).as_bytes());
    }
    header.extend_from_slice(format!("$EOF:{}\r\n", rdb.mark).as_bytes());
    Some(Preamble::new(
        vec![
            Bytes::from(header),
            rdb.payload.clone(),
            Bytes::copy_from_slice(rdb.mark.as_bytes()),
        ],
        TransferDone::Socket,
    ))
}

/// The whole preamble reached the socket: log the transfer as Redis does
/// and move the replica on.
fn transfer_done(state: &mut ServerState, client_id: u64, name: &str, done: TransferDone) {
    match done {
        TransferDone::Continue => {}
        TransferDone::Socket => diskless::member_finished(state, client_id, true),
        TransferDone::Disk => {
            state.log(
                Level::Notice,
                &format!("Synchronization with replica {name} succeeded"),
            );
            let now = state.mono_now;
            if let Some(link) = state.repl.replicas.get_mut(&client_id) {
                link.state = ReplicaState::Online;
                link.ack_time = now;
            }
        }
    }
}

/// Applies what the replica sent: `REPLCONF ACK <offset>` moves its
/// offset; any other command runs as the replica client, as Redis runs it.
/// Returns false when the replica must go: a protocol error, or a command
/// that generated a reply.
fn read_acks(state: &mut ServerState, client_id: u64, buffer: &mut BytesMut, now_ms: u64) -> bool {
    let mut argv = ArgvBuf::default();
    loop {
        match parse_command(buffer, &mut argv, ParseLimits::default()) {
            Ok(Parsed::Command { consumed }) => {
                let args = argv.argv(buffer);
                let is_ack = args.len() >= 3
                    && args.get(0).eq_ignore_ascii_case(b"REPLCONF")
                    && args.get(1).eq_ignore_ascii_case(b"ACK");
                if !is_ack {
                    let keep = run_replica_command(state, client_id, args, now_ms);
                    buffer.advance(consumed);
                    if !keep {
                        return false;
                    }
                    continue;
                }
                let ack = parse_i64(args.get(2));
                buffer.advance(consumed);
                let now = state.mono_now;
                if let (Some(link), Some(offset)) = (state.repl.replicas.get_mut(&client_id), ack) {
                    link.ack_offset = link.ack_offset.max(offset.max(0) as u64);
                    link.ack_time = now;
                    // After a diskless transfer the stream starts at the
                    // first ACK.
                    link.stream_on_ack &= link.state != ReplicaState::Online;
                }
                if ack.is_some() {
                    state.ack_notify.notify_waiters();
                }
            }
            Ok(Parsed::Empty { consumed }) => buffer.advance(consumed),
            Ok(Parsed::Incomplete { .. }) => return true,
            Err(_) => return false,
        }
    }
}

/// Runs a command a replica sent on its link. Replication links carry no
/// replies: like Redis 7.0 (`_addReplyToBufferOrList`), a command that
/// generated one has it dropped, is logged with the replica's CLIENT LIST
/// line (an error reply also with Redis's "== CRITICAL ==" line), and the
/// replica is disconnected. Returns false then.
fn run_replica_command(
    state: &mut ServerState,
    client_id: u64,
    args: Argv<'_>,
    now_ms: u64,
) -> bool {
    let Some(mut client) = state.clients.remove(&client_id) else {
        return false;
    };
    let mut out = Reply::new();
    let flow = {
        let mut ctx = Ctx::new(state, &mut client, &mut out, now_ms);
        execute(&mut ctx, args);
        std::mem::take(&mut ctx.flow)
    };
    if let Flow::Sleep(duration) = flow {
        // DEBUG SLEEP stops the whole server, whoever sends it.
        state.paused_until = Some(state.mono_now + duration);
    }
    let reply = out.as_bytes();
    let keep = reply.is_empty();
    if !keep {
        let command = client
            .last_command
            .map_or_else(|| "<unknown>".to_string(), |spec| spec.full_name());
        let info = crate::command::client_line(&client, state.mono_now, None);
        state.log(
            Level::Warning,
            &format!(
                "Replica generated a reply to command '{command}', disconnecting it: {}",
                info.trim_end()
            ),
        );
        if let Some(error) = reply.strip_prefix(b"-") {
            let error = String::from_utf8_lossy(error);
            let error = error.strip_suffix("\r\n").unwrap_or(&error);
            // Redis quotes its default `ERR` errors without the code.
            let error = error.strip_prefix("ERR ").unwrap_or(error);
            state.log(
                Level::Warning,
                &format!("== CRITICAL == This master is sending an error to its replica: '{error}' after processing the command '{command}'"),
            );
        }
    }
    state.clients.insert(client_id, client);
    keep
}

/// What the streaming loop does next.
enum Step {
    Write(Vec<u8>),
    Wait,
    Drop(Close),
}

/// Why the streaming loop drops the replica.
enum Close {
    /// The connection is gone, or the replica left the table.
    Quiet,
    /// Logged before the link's "lost" line: a timeout, or a limit found
    /// passed as stream bytes were added (Redis's `freeClientAsync`).
    LogFirst(String),
    /// Logged after it: a limit found passed by the once-a-second check
    /// (Redis's clients cron frees the client, then logs).
    LogAfter(String),
}

/// Most stream bytes handed to the socket in one write.
const WRITE_CHUNK: usize = 64 * 1024;

/// Checks the replica's timeout and output limits, then says what to write
/// (nothing unless `may_stream`: a write is in progress, or the preamble is
/// not all written yet). `from_cron` tells a once-a-second check from one
/// made as the buffer grew, which Redis logs differently.
fn next_step(
    state: &mut ServerState,
    client_id: u64,
    legacy: bool,
    name: &str,
    may_stream: bool,
    from_cron: bool,
) -> Step {
    let now = state.mono_now;
    let timeout = Duration::from_secs(state.config.repl_timeout);
    let (hard, soft, soft_seconds) = state.config.replica_output_limit;
    let Some(link) = state.repl.replicas.get_mut(&client_id) else {
        return Step::Drop(Close::Quiet);
    };
    // Only streaming replicas are timed out on their ACKs, and legacy SYNC
    // replicas never ACK, so they cannot time out (as in Redis).
    if link.state == ReplicaState::Online
        && !legacy
        && now.saturating_sub(link.ack_time) > timeout
        && !state.planted.master_ignores_repl_timeout
    {
        return Step::Drop(Close::LogFirst(format!(
            "Disconnecting timedout replica (streaming sync): {name}"
        )));
    }
    // The output buffer collects the stream from the snapshot on, RDB
    // transfer included: a replica that stalls during its full sync is
    // measured against the limits like a streaming one.
    let pending = link.output.len() as u64;
    let limit = (hard, soft, soft_seconds);
    if crate::server::output_limit_reached(limit, pending, &mut link.soft_limit_since, now) {
        let info = state.clients.get(&client_id).map_or_else(
            || format!("id={client_id} addr={name}"),
            |client| {
                crate::command::client_line(client, now, None)
                    .trim_end()
                    .to_string()
            },
        );
        return Step::Drop(if from_cron {
            Close::LogAfter(format!(
                "Client {info} closed for overcoming of output buffer limits."
            ))
        } else {
            Close::LogFirst(format!(
                "Client {info} scheduled to be closed ASAP for overcoming of output buffer limits."
            ))
        });
    }
    // Diskless transfers hold the stream until the replica's first ACK.
    if !may_stream
        || link.state != ReplicaState::Online
        || link.stream_on_ack
        || link.output.is_empty()
    {
        return Step::Wait;
    }
    // A copy: the bytes stay in `output`, counted against the limits, until
    // the socket takes them.
    let chunk = link.output.len().min(WRITE_CHUNK);
    Step::Write(link.output[..chunk].to_vec())
}

/// Writes the preamble, then streams the replica's output buffer, until
/// the link ends. Returns a line to log after the link's own "lost" line.
async fn stream_to_replica<R: Runtime>(
    server: &Server<R>,
    stream: &mut R::Stream,
    client_id: u64,
    request: &SyncRequest,
    buffer: &mut BytesMut,
    wakeup: Arc<Notify>,
    mut preamble: Preamble,
) -> Option<String> {
    let rt = server.runtime().clone();
    let name = request.name();
    let legacy = request.psync.is_none();
    let kill = match server.state().clients.get(&client_id) {
        Some(client) => client.kill_switch(),
        None => return None,
    };
    // One timer re-armed when it fires (a fresh timer per wakeup would pile
    // up thousands of pending timers in a busy stream).
    let tick = rt.sleep(Duration::from_secs(1));
    tokio::pin!(tick);
    // The write waits in the same select as the rest: a replica that stops
    // reading fills the socket and blocks the write, and the loop must still
    // read ACKs, time the replica out and enforce the output limits while
    // its output buffer grows (as Redis's event loop does), during the RDB
    // transfer as much as afterwards.
    let (mut reader, mut writer) = tokio::io::split(stream);
    let mut writing: Vec<u8> = Vec::new();
    let mut from_cron = false;
    loop {
        let (step, link_started) = {
            let mut state = server.state_at(rt.monotonic());
            if !read_acks(&mut state, client_id, buffer, rt.unix_time_ms()) {
                return None;
            }
            // An ACK may be the one a coordinated failover waits for.
            let link_started = super::failover::update_status(&mut state);
            let may_stream = writing.is_empty() && preamble.is_written();
            let step = next_step(&mut state, client_id, legacy, &name, may_stream, from_cron);
            (step, link_started)
        };
        if link_started {
            server.run_controls();
        }
        from_cron = false;
        match step {
            Step::Drop(Close::Quiet) => return None,
            Step::Drop(Close::LogFirst(line)) => {
                server.state().log(Level::Warning, &line);
                return None;
            }
            Step::Drop(Close::LogAfter(line)) => return Some(line),
            Step::Write(bytes) => writing = bytes,
            Step::Wait => {}
        }
        // The preamble is written straight from its buffer, all that is
        // left at once (one flush for the whole RDB when the socket takes
        // it); output bytes only once it is done.
        let preamble_left = !preamble.is_written();
        let to_write: &[u8] = if preamble_left {
            preamble.unwritten()
        } else {
            &writing
        };
        buffer.reserve(4096);
        tokio::select! {
            biased;
            _ = kill.killed() => return None,
            read = reader.read_buf(buffer) => match read {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            },
            written = writer.write(to_write), if !to_write.is_empty() => match written {
                Ok(0) | Err(_) => return None,
                Ok(n) => {
                    if writer.flush().await.is_err() {
                        return None;
                    }
                    let mut state = server.state_at(rt.monotonic());
                    if preamble_left {
                        preamble.sent += n;
                        if preamble.is_written() {
                            transfer_done(&mut state, client_id, &name, preamble.done);
                        }
                    } else {
                        writing.drain(..n);
                        if let Some(link) = state.repl.replicas.get_mut(&client_id) {
                            link.output.advance(n);
                        }
                    }
                }
            },
            _ = wakeup.notified() => {}
            // Re-check timeouts and limits once a second.
            _ = &mut tick => {
                from_cron = true;
                tick.set(rt.sleep(Duration::from_secs(1)));
            }
        }
    }
}

fn drop_replica<R: Runtime>(server: &Server<R>, client_id: u64, name: &str) {
    let mut state = server.state();
    if state.repl.replicas.remove(&client_id).is_some() {
        state.log(
            Level::Warning,
            &format!("Connection with replica {name} lost."),
        );
    }
    diskless::member_finished(&mut state, client_id, false);
    if state.repl.replicas.is_empty() {
        state.repl.no_replicas_since = Some(state.mono_now);
    }
    state.ack_notify.notify_waiters();
}
