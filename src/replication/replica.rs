//! The replica side of a link: connect to the master, handshake (PING, AUTH,
//! REPLCONF listening-port / ip-address / capa, PSYNC), load the RDB of a
//! full resync or continue from the cached offset, then apply the command
//! stream as the master client, forward the applied bytes to our own
//! replicas unchanged, ACK every second and on GETACK, and time out when the
//! master goes silent. A failed handshake retries a second later; a failed
//! RDB transfer, or a connect, handshake or transfer that the replication
//! cron timed out (`repl-timeout` without a byte from the master),
//! reconnects at once, as Redis's `cancelReplicationHandshake` does.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{Backlog, LinkState, NULL_REPLID};
use crate::command::{execute, Ctx};
use crate::log::Level;
use crate::rdb::{self, RdbError, RdbStream};
use crate::resp::{encode_command, parse_command, ArgvBuf, ParseLimits, Parsed, Reply};
use crate::runtime::Runtime;
use crate::runtime::{Storage, StorageError};
use crate::server::KillSwitch;
use crate::server::{Client, ClientKind, Server, ServerState};

/// Why an attempt ended.
enum Ended {
    /// The handshake failed: retry in a second.
    Retry,
    /// The RDB transfer failed, or the cron timed the attempt out: reconnect
    /// now ("Reconnecting to MASTER ... after failure").
    Cancelled,
    /// An established link broke: cache the master and reconnect now.
    LinkLost,
    /// The master's stream broke the protocol: drop the link without
    /// caching the master (the next sync is a full one), reconnect now.
    Desync,
    /// REPLICAOF changed: this task must stop.
    Stale,
}

/// How the next attempt is announced in the log.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Announce {
    /// "Connecting to MASTER h:p" (the cron's connect).
    Connect,
    /// "Reconnecting to MASTER h:p" (the link was lost).
    AfterLoss,
    /// "Reconnecting to MASTER h:p after failure" (the attempt was
    /// cancelled).
    AfterFailure,
}

/// Runs the link for REPLICAOF generation `generation` until the node is
/// re-pointed or promoted.
pub async fn run_link<R: Runtime>(server: Server<R>, generation: u64) {
    let rt = server.runtime().clone();
    let mut announce = Announce::Connect;
    loop {
        let target = {
            let mut state = server.state_at(rt.monotonic());
            let current = state.repl.generation == generation;
            let now = state.mono_now;
            match state.repl.master.as_mut() {
                Some(link) if current => {
                    link.state = LinkState::Connecting;
                    // The cron measures the attempt's silence from here.
                    link.last_io = now;
                    link.attempt = Arc::new(KillSwitch::default());
                    Some((link.host.clone(), link.port, link.attempt.clone()))
                }
                _ => None,
            }
        };
        let Some((host, port, cancel)) = target else {
            return;
        };
        {
            let state = server.state();
            let line = match announce {
                Announce::Connect => format!("Connecting to MASTER {host}:{port}"),
                Announce::AfterLoss => format!("Reconnecting to MASTER {host}:{port}"),
                Announce::AfterFailure => {
                    format!("Reconnecting to MASTER {host}:{port} after failure")
                }
            };
            state.log(Level::Notice, &line);
            state.log(Level::Notice, "MASTER <-> REPLICA sync started");
        }
        let ended = attempt(&server, generation, &host, port, &cancel).await;
        match ended {
            Ended::Stale => return,
            Ended::LinkLost | Ended::Desync => announce = Announce::AfterLoss,
            Ended::Cancelled => {
                if !is_current(&server, generation) {
                    return;
                }
                mark_down(&server, generation);
                announce = Announce::AfterFailure;
            }
            Ended::Retry => {
                announce = Announce::Connect;
                mark_down(&server, generation);
                rt.sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

fn mark_down<R: Runtime>(server: &Server<R>, generation: u64) {
    let mut state = server.state();
    if state.repl.generation != generation {
        return;
    }
    if let Some(link) = state.repl.master.as_mut() {
        // A connect or handshake that fails leaves the time the link went
        // down as it was: Redis sets it only when an established link is
        // lost, and reports -1 while the link has never been up.
        link.state = LinkState::Connect;
        link.transfer = None;
    }
}

fn is_current<R: Runtime>(server: &Server<R>, generation: u64) -> bool {
    let state = server.state();
    state.repl.generation == generation && state.repl.master.is_some()
}

/// Notes that bytes came from the master during the handshake or the
/// transfer (Redis's `repl_transfer_lastio`, which the cron's timeouts
/// measure).
fn note_io<R: Runtime>(server: &Server<R>) {
    let mut state = server.state_at(server.runtime().monotonic());
    let now = state.mono_now;
    if let Some(link) = state.repl.master.as_mut() {
        link.last_io = now;
    }
}

/// Longest handshake reply kept, in bytes. Redis reads each handshake
/// reply (`receiveSynchronousResponse`) into a 256-byte buffer with
/// `connSyncReadLine`, so a reply keeps at most 255 bytes and whatever
/// follows on an over-long line is read as the next reply. Capping the
/// line is what stops a master from making us buffer an endless line.
const HANDSHAKE_LINE_MAX: usize = 255;

/// Longest RDB bulk count line (`$<len>` or `$EOF:<mark>`) kept, in bytes:
/// Redis's `readSyncBulkPayload` reads it with a 1024-byte limit.
const BULK_COUNT_LINE_MAX: usize = 1023;

/// Reads one line of at most `max_len` bytes the way Redis's
/// `syncReadLine` does: it ends at `\n` (a `\r` before it is dropped), or
/// after `max_len` bytes without one, leaving the rest of an over-long
/// line unread. Bare `\n` keepalives, which a master sends while it
/// prepares a full sync, are skipped (they count as I/O: a master
/// delaying a diskless sync keeps the replica's timeout away with them).
/// Waits as long as it takes: the replication cron times a silent master
/// out. The buffer never grows much beyond `max_len` plus one read.
async fn read_line<R: Runtime>(
    server: &Server<R>,
    stream: &mut R::Stream,
    buffer: &mut BytesMut,
    max_len: usize,
) -> Option<String> {
    loop {
        while buffer.first() == Some(&b'\n') {
            buffer.advance(1);
        }
        let window = buffer.len().min(max_len);
        if let Some(end) = buffer[..window].iter().position(|&b| b == b'\n') {
            let text_end = if end > 0 && buffer[end - 1] == b'\r' {
                end - 1
            } else {
                end
            };
            let line = String::from_utf8_lossy(&buffer[..text_end]).into_owned();
            buffer.advance(end + 1);
            return Some(line);
        }
        if buffer.len() >= max_len {
            let line = String::from_utf8_lossy(&buffer[..max_len]).into_owned();
            buffer.advance(max_len);
            return Some(line);
        }
        buffer.reserve(4096);
        match stream.read_buf(buffer).await {
            Ok(0) | Err(_) => return None,
            Ok(_) => note_io(server),
        }
    }
}

async fn attempt<R: Runtime>(
    server: &Server<R>,
    generation: u64,
    host: &str,
    port: u16,
    cancel: &KillSwitch,
) -> Ended {
    let rt = server.runtime().clone();
    // The replication cron cancels a connect, handshake or transfer that
    // stays silent for `repl-timeout` (and logs why).
    let connected = tokio::select! {
        biased;
        _ = cancel.killed() => return Ended::Cancelled,
        result = rt.connect(host, port) => result,
    };
    let mut stream = match connected {
        Ok(stream) => stream,
        Err(error) => {
            server.state().log(
                Level::Warning,
                &format!(
                    "Error condition on socket for SYNC: {}",
                    io_error_text(&error)
                ),
            );
            return Ended::Retry;
        }
    };
    if !is_current(server, generation) {
        return Ended::Stale;
    }
    server.state().log(
        Level::Notice,
        "Non blocking connect for SYNC fired the event.",
    );
    note_io(server);
    let mut buffer = BytesMut::new();
    let outcome = tokio::select! {
        biased;
        _ = cancel.killed() => return Ended::Cancelled,
        outcome = handshake(server, generation, &mut stream, &mut buffer) => outcome,
    };
    let Some(outcome) = outcome else {
        return Ended::Retry;
    };
    match outcome {
        Synced::Stale => Ended::Stale,
        Synced::Failed => Ended::Retry,
        Synced::TransferFailed => Ended::Cancelled,
        Synced::Streaming { legacy, db } => {
            stream_from_master(server, generation, &mut stream, buffer, legacy, db).await
        }
    }
}

fn io_error_text(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::ConnectionRefused => "Connection refused".into(),
        std::io::ErrorKind::TimedOut => "Connection timed out".into(),
        _ => error.to_string(),
    }
}

/// How the handshake ended.
enum Synced {
    /// Streaming, with the master client starting in db `db`.
    Streaming {
        legacy: bool,
        db: usize,
    },
    /// The handshake failed: retry from the cron.
    Failed,
    /// The RDB transfer failed: reconnect at once.
    TransferFailed,
    Stale,
}

async fn handshake<R: Runtime>(
    server: &Server<R>,
    generation: u64,
    stream: &mut R::Stream,
    buffer: &mut BytesMut,
) -> Option<Synced> {
    {
        let mut state = server.state();
        if let Some(link) = state.repl.master.as_mut() {
            link.state = LinkState::Handshake;
        }
    }
    let mut request = Vec::new();
    encode_command(&mut request, &["PING"]);
    stream.write_all(&request).await.ok()?;
    stream.flush().await.ok()?;
    let pong = read_line(server, stream, buffer, HANDSHAKE_LINE_MAX).await?;
    let auth_errors = ["-NOAUTH", "-NOPERM", "-ERR operation not permitted"];
    // Like Redis, only `+` (PONG) or an authentication error lets the
    // handshake go on: anything else, such as the first 255 bytes of an
    // endless line, is an error reply and the link is dropped.
    if !pong.starts_with('+') && !auth_errors.iter().any(|p| pong.starts_with(p)) {
        server.state().log(
            Level::Warning,
            &format!("Error reply to PING from master: '{pong}'"),
        );
        return Some(Synced::Failed);
    }
    server.state().log(
        Level::Notice,
        "Master replied to PING, replication can continue...",
    );
    let (auth, listening_port, announce_ip, cached) = {
        let state = server.state();
        let auth = state.config.masterauth.clone().map(|password| {
            let mut args = vec![b"AUTH".to_vec()];
            if let Some(user) = &state.config.masteruser {
                args.push(user.clone());
            }
            args.push(password);
            args
        });
        (
            auth,
            state.listen_addr.map_or(state.config.port, |a| a.port()),
            state.config.replica_announce_ip.clone(),
            state.repl.cached_master.clone(),
        )
    };
    let mut request = Vec::new();
    if let Some(args) = &auth {
        encode_command(&mut request, args);
    }
    encode_command(
        &mut request,
        &["REPLCONF", "listening-port", &listening_port.to_string()],
    );
    if let Some(ip) = &announce_ip {
        encode_command(&mut request, &["REPLCONF", "ip-address", ip]);
    }
    encode_command(&mut request, &["REPLCONF", "capa", "eof", "capa", "psync2"]);
    stream.write_all(&request).await.ok()?;
    stream.flush().await.ok()?;
    if auth.is_some() {
        let reply = read_line(server, stream, buffer, HANDSHAKE_LINE_MAX).await?;
        if reply.starts_with('-') {
            server.state().log(
                Level::Warning,
                &format!("Unable to AUTH to MASTER: {reply}"),
            );
            return Some(Synced::Failed);
        }
    }
    let reply = read_line(server, stream, buffer, HANDSHAKE_LINE_MAX).await?;
    if reply.starts_with('-') {
        server.state().log(
            Level::Notice,
            &format!("(Non critical) Master does not understand REPLCONF listening-port: {reply}"),
        );
    }
    if announce_ip.is_some() {
        let reply = read_line(server, stream, buffer, HANDSHAKE_LINE_MAX).await?;
        if reply.starts_with('-') {
            server.state().log(
                Level::Notice,
                &format!("(Non critical) Master does not understand REPLCONF ip-address: {reply}"),
            );
        }
    }
    let reply = read_line(server, stream, buffer, HANDSHAKE_LINE_MAX).await?;
    if reply.starts_with('-') {
        server.state().log(
            Level::Notice,
            &format!("(Non critical) Master does not understand REPLCONF capa: {reply}"),
        );
    }
    let mut request = Vec::new();
    let (replid, offset) = match cached.as_ref().map(|c| (&c.replid, c.offset)) {
        Some((replid, offset)) => {
            server.state().log(
                Level::Notice,
                &format!(
                    "Trying a partial resynchronization (request {replid}:{}).",
                    offset + 1
                ),
            );
            (replid.clone(), (offset + 1).to_string())
        }
        None => {
            server.state().log(
                Level::Notice,
                "Partial resynchronization not possible (no cached master)",
            );
            ("?".to_string(), "-1".to_string())
        }
    };
    // A master handing over its role in a coordinated failover asks its
    // target to take over.
    let failing_over = super::failover::sends_failover_psync(&server.state());
    if failing_over {
        encode_command(&mut request, &["PSYNC", &replid, &offset, "FAILOVER"]);
    } else {
        encode_command(&mut request, &["PSYNC", &replid, &offset]);
    }
    let sent = async {
        stream.write_all(&request).await?;
        stream.flush().await
    };
    if sent.await.is_err() {
        if failing_over {
            super::failover::abort(&mut server.state(), "Write error to failover target");
        }
        return None;
    }
    // A master preparing a diskless sync may stay silent but for the
    // newlines it sends every second; an empty line (a `\r\n` left over
    // from a reply cut at the line cap, say) is such a keepalive too, as
    // in Redis.
    let reply = loop {
        let reply = read_line(server, stream, buffer, HANDSHAKE_LINE_MAX).await?;
        if !reply.is_empty() {
            break reply;
        }
    };
    if !is_current(server, generation) {
        return Some(Synced::Stale);
    }
    // The failover is done once the target accepts the PSYNC, and given up
    // on any other answer.
    if failing_over {
        let mut state = server.state();
        if reply.starts_with("+FULLRESYNC") || reply.starts_with("+CONTINUE") {
            super::failover::finished(&mut state);
        } else {
            super::failover::abort(&mut state, "Failover target rejected psync request");
            return Some(Synced::Stale);
        }
    }
    if let Some(rest) = reply.strip_prefix("+FULLRESYNC") {
        let mut words = rest.split_whitespace();
        let (Some(replid), Some(offset)) = (
            words.next(),
            words.next().and_then(|o| o.parse::<u64>().ok()),
        ) else {
            server.state().log(
                Level::Warning,
                "Master replied with wrong +FULLRESYNC syntax.",
            );
            return Some(Synced::Failed);
        };
        if replid.len() != 40 {
            server.state().log(
                Level::Warning,
                "Master replied with wrong +FULLRESYNC syntax.",
            );
            return Some(Synced::Failed);
        }
        {
            let mut state = server.state();
            state.log(
                Level::Notice,
                &format!("Full resync from master: {replid}:{offset}"),
            );
            if state.repl.cached_master.take().is_some() {
                state.log(Level::Notice, "Discarding previously cached master state.");
            }
        }
        return Some(load_rdb(server, stream, buffer, Some((replid.to_string(), offset))).await);
    }
    if let Some(rest) = reply.strip_prefix("+CONTINUE") {
        let super::CachedMaster {
            replid: cached_id,
            offset: cached_offset,
            db: cached_db,
        } = cached?;
        let mut state = server.state();
        state.log(
            Level::Notice,
            "Successful partial resynchronization with master.",
        );
        state.repl.cached_master = None;
        if state.planted.replica_drops_publishes_after_partial_resync {
            state.publishes_to_skip = 5;
        }
        let new_id = rest.trim();
        state.repl.replid = cached_id.clone();
        state.repl.offset = cached_offset;
        if !new_id.is_empty() && new_id != cached_id && !state.planted.ignore_continue_new_id {
            state.repl.replid2 = cached_id;
            state.repl.second_repl_offset = cached_offset as i64 + 1;
            state.repl.replid = new_id.to_string();
            state.log(
                Level::Warning,
                &format!("Master replication ID changed to {new_id}"),
            );
            // Our replicas must learn the new id too.
            disconnect_replicas(&mut state);
        }
        state.note_offset();
        let backlog_size = state.config.repl_backlog_size as usize;
        if state.repl.backlog.is_none() {
            state.repl.backlog = Some(Backlog::new(backlog_size, cached_offset + 1));
        }
        state.log(
            Level::Notice,
            "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.",
        );
        return Some(Synced::Streaming {
            legacy: false,
            db: cached_db,
        });
    }
    if reply.starts_with("-NOMASTERLINK") || reply.starts_with("-LOADING") {
        let mut state = server.state();
        state.log(
            Level::Notice,
            &format!("Master is currently unable to PSYNC but should be in the future: {reply}"),
        );
        if let Some(link) = state.repl.master.as_mut() {
            link.last_error = Some(reply);
        }
        return Some(Synced::Failed);
    }
    if reply.starts_with('-') {
        server.state().log(
            Level::Warning,
            &format!("Unexpected reply to PSYNC from master: {reply}"),
        );
        server.state().log(Level::Notice, "Retrying with SYNC...");
        stream.write_all(b"SYNC\r\n").await.ok()?;
        stream.flush().await.ok()?;
        return Some(load_rdb(server, stream, buffer, None).await);
    }
    server.state().log(
        Level::Warning,
        &format!("Unexpected reply to PSYNC from master: {reply}"),
    );
    Some(Synced::Failed)
}

/// Closes the connections of our own replicas so that they resync.
fn disconnect_replicas(state: &mut ServerState) {
    for link in state.repl.replicas.values() {
        link.kill.kill();
    }
}

/// How the master frames the RDB payload.
enum Framing {
    /// `$<len>`: exactly this many bytes.
    Length(u64),
    /// `$EOF:<mark>`: the payload ends with the mark (diskless sync).
    EofMark(Vec<u8>),
}

/// Where the RDB payload goes as it arrives.
enum PayloadSink {
    /// A temp file in `dir`, loaded when complete.
    TempFile {
        storage: Arc<dyn Storage>,
        name: String,
    },
    /// The decoder, fed piece by piece (boxed: it holds the dataset being
    /// built, much larger than the other variant).
    Parser(Box<RdbStream>),
}

/// A complete payload in `dir`: its storage and name.
type TempFile = (Arc<dyn Storage>, String);

/// Why a received payload could not be stored or loaded.
enum PayloadFailure {
    /// Writing the temp file failed.
    Write(StorageError),
    /// The temp file could not be read back.
    Reopen(String),
    /// The payload is not a loadable RDB.
    Decode { error: RdbError, from_disk: bool },
}

impl PayloadSink {
    /// Takes the next piece of the payload.
    fn write(&mut self, piece: &[u8]) -> Result<(), PayloadFailure> {
        match self {
            PayloadSink::TempFile { storage, name } => {
                storage.append(name, piece).map_err(PayloadFailure::Write)
            }
            PayloadSink::Parser(parser) => {
                parser.feed(piece).map_err(|error| PayloadFailure::Decode {
                    error,
                    from_disk: false,
                })
            }
        }
    }

    /// Removes what a failed transfer left.
    fn discard(&self) {
        if let PayloadSink::TempFile { storage, name } = self {
            let _ = storage.remove(name);
        }
    }

    /// Loads the complete payload; for a temp file, also hands back the
    /// file (to become the dump file). A failure removes the temp file.
    fn finish(self) -> Result<(rdb::Loaded, Option<TempFile>), PayloadFailure> {
        match self {
            PayloadSink::Parser(parser) => {
                parser
                    .finish()
                    .map(|loaded| (loaded, None))
                    .map_err(|error| PayloadFailure::Decode {
                        error,
                        from_disk: false,
                    })
            }
            PayloadSink::TempFile { storage, name } => {
                let loaded = match storage.open(&name) {
                    Ok(Some(file)) => {
                        rdb::decode_reader(file.reader, Some(file.len)).map_err(|error| match error
                        {
                            rdb::ReadRdbError::Io(error) => {
                                PayloadFailure::Reopen(error.to_string())
                            }
                            rdb::ReadRdbError::Rdb(error) => PayloadFailure::Decode {
                                error,
                                from_disk: true,
                            },
                        })
                    }
                    Ok(None) => Err(PayloadFailure::Reopen("the file is gone".to_string())),
                    Err(error) => Err(PayloadFailure::Reopen(error.to_string())),
                };
                match loaded {
                    Ok(loaded) => Ok((loaded, Some((storage, name)))),
                    Err(failure) => {
                        let _ = storage.remove(&name);
                        Err(failure)
                    }
                }
            }
        }
    }
}

/// Logs a failed full sync payload as Redis's `readSyncBulkPayload` does.
fn log_payload_failure<R: Runtime>(server: &Server<R>, failure: &PayloadFailure) {
    let state = server.state();
    match failure {
        PayloadFailure::Write(error) => state.log(
            Level::Warning,
            &format!("Write error or short write writing to the DB dump file needed for MASTER <-> REPLICA synchronization: {error}"),
        ),
        PayloadFailure::Reopen(error) => {
            state.log(
                Level::Warning,
                &format!("Reading the received RDB back failed: {error}"),
            );
            state.log(
                Level::Warning,
                "Failed trying to load the MASTER synchronization DB from disk, check server logs.",
            );
        }
        PayloadFailure::Decode { error, from_disk } => {
            state.log(
                Level::Warning,
                &format!(
                    "Short read or OOM loading DB. Unrecoverable error, aborting now: {error}"
                ),
            );
            let source = if *from_disk { "disk" } else { "socket" };
            state.log(
                Level::Warning,
                &format!(
                    "Failed trying to load the MASTER synchronization DB from {source}, check server logs."
                ),
            );
        }
    }
}

/// Reads the RDB payload (either framing) and loads it. `fullresync` is the
/// id and offset from `+FULLRESYNC`, `None` after a legacy SYNC.
async fn load_rdb<R: Runtime>(
    server: &Server<R>,
    stream: &mut R::Stream,
    buffer: &mut BytesMut,
    fullresync: Option<(String, u64)>,
) -> Synced {
    let rt = server.runtime().clone();
    {
        let mut state = server.state();
        if let Some(link) = state.repl.master.as_mut() {
            link.state = LinkState::Transfer;
        }
    }
    let Some(header) = read_line(server, stream, buffer, BULK_COUNT_LINE_MAX).await else {
        server.state().log(
            Level::Warning,
            "I/O error reading bulk count from MASTER: connection lost",
        );
        return Synced::TransferFailed;
    };
    // With `repl-diskless-load disabled` (the default) the payload goes to
    // a temp file as it arrives, as Redis's `readSyncBulkPayload` does, and
    // loads from there; the other modes parse it as it arrives, as Redis
    // parses from the socket. Either way a master cannot make us hold the
    // payload in memory: only the record being parsed is buffered, and the
    // old dataset stays until the new one loaded whole.
    let to_disk = server.state().config.repl_diskless_load == "disabled";
    let target = if to_disk { "disk" } else { "parser" };
    let framing = if let Some(mark) = header.strip_prefix("$EOF:") {
        server.state().log(
            Level::Notice,
            &format!(
                "MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to {target}"
            ),
        );
        Framing::EofMark(mark.as_bytes().to_vec())
    } else if let Some(len) = header.strip_prefix('$').and_then(|l| l.parse::<u64>().ok()) {
        server.state().log(
            Level::Notice,
            &format!("MASTER <-> REPLICA sync: receiving {len} bytes from master to {target}"),
        );
        Framing::Length(len)
    } else {
        server.state().log(
            Level::Warning,
            &format!("Bad protocol from MASTER, the first byte is not '$' (we received '{header}'), are you sure the host and port are right?"),
        );
        return Synced::TransferFailed;
    };
    let mut sink = if to_disk {
        let storage = server.state().storage.clone();
        let name = format!("temp-{}.{}.rdb", rt.unix_time_ms() / 1000, storage.pid());
        // A leftover of an earlier attempt in the same second must not
        // prefix this transfer.
        let _ = storage.remove(&name);
        PayloadSink::TempFile { storage, name }
    } else {
        let known_len = match framing {
            Framing::Length(len) => Some(len),
            Framing::EofMark(_) => None,
        };
        PayloadSink::Parser(Box::new(RdbStream::new(known_len)))
    };
    let mut received: u64 = 0;
    loop {
        // How much of the buffer is payload, keeping back what may be the
        // start of the EOF mark, and whether the payload ends in it.
        let (take, done) = match &framing {
            Framing::Length(len) => {
                let take = (buffer.len() as u64).min(len - received) as usize;
                (take, received + take as u64 == *len)
            }
            Framing::EofMark(mark) => match memchr::memmem::find(buffer, mark) {
                Some(at) => (at, true),
                None => (
                    buffer.len().saturating_sub(mark.len().saturating_sub(1)),
                    false,
                ),
            },
        };
        if take > 0 || (done && received == 0) {
            if let Err(failure) = sink.write(&buffer[..take]) {
                log_payload_failure(server, &failure);
                sink.discard();
                return Synced::TransferFailed;
            }
            buffer.advance(take);
            received += take as u64;
        }
        if done {
            if let Framing::EofMark(mark) = &framing {
                buffer.advance(mark.len());
            }
            break;
        }
        {
            let mut state = server.state_at(rt.monotonic());
            let now = state.mono_now;
            let total = match framing {
                Framing::Length(len) => len as i64,
                Framing::EofMark(_) => -1,
            };
            let read = received + buffer.len() as u64;
            if let Some(link) = state.repl.master.as_mut() {
                link.transfer = Some((total, read));
                link.last_io = now;
            }
        }
        buffer.reserve(64 * 1024);
        // No timer here: the replication cron times a stalled transfer out.
        match stream.read_buf(buffer).await {
            Ok(0) | Err(_) => {
                server.state().log(
                    Level::Warning,
                    "I/O error trying to sync with MASTER: connection lost",
                );
                // Like Redis's replicationAbortSyncTransfer: the partial
                // temp file goes, the old dump file stays.
                sink.discard();
                return Synced::TransferFailed;
            }
            Ok(_) => {}
        }
    }
    let (loaded, temp_file) = match sink.finish() {
        Ok(done) => done,
        Err(failure) => {
            log_payload_failure(server, &failure);
            return Synced::TransferFailed;
        }
    };
    let mut state = server.state_at(rt.monotonic());
    // With repl-diskless-load disabled (Redis's default) the received RDB
    // becomes the replica's own dump file, which a restart loads.
    // The other modes leave the dump file alone, as Redis does after a
    // load from the socket.
    if let Some((storage, name)) = temp_file {
        let dbfilename = state.config.dbfilename.clone();
        if let Err(error) = storage.rename_durable(&name, &dbfilename) {
            state.log(
                Level::Warning,
                &format!("Failed trying to save the received RDB: {error}"),
            );
        }
    }
    // Our replicas will have to resync from the new history.
    if !state.planted.chain_keeps_subreplicas_on_full_sync {
        disconnect_replicas(&mut state);
    }
    state.log(Level::Notice, "MASTER <-> REPLICA sync: Flushing old data");
    state.log(
        Level::Notice,
        "MASTER <-> REPLICA sync: Loading DB in memory",
    );
    if loaded.checksum_disabled {
        state.log(
            Level::Warning,
            "RDB file was saved with checksum disabled: no check performed.",
        );
    }
    state.log(
        Level::Notice,
        &format!("Loading RDB produced by version {}", loaded.info.redis_ver),
    );
    let age = (rt.unix_time_ms() / 1000).saturating_sub(loaded.info.ctime_unix_s);
    state.log(Level::Notice, &format!("RDB age {age} seconds"));
    state.log(
        Level::Notice,
        &format!(
            "RDB memory usage when created {:.2} Mb",
            loaded.info.used_mem as f64 / (1024.0 * 1024.0)
        ),
    );
    let keys = loaded.keyspace.key_count();
    let loaded_stream_db = loaded
        .info
        .repl_stream_db
        .unwrap_or(0)
        .min(crate::keyspace::DB_COUNT as u32 - 1) as usize;
    state.keyspace = loaded.keyspace;
    let limits = state.config.encoding_limits();
    state.keyspace.settle_loaded_encodings(limits);
    state.log(
        Level::Notice,
        &format!("Done loading RDB, keys loaded: {keys}, keys expired: 0."),
    );
    let legacy = fullresync.is_none();
    let (replid, offset) = match fullresync {
        Some(ids) => ids,
        // A legacy master gives no id: keep a fresh one and offset 0.
        None => (state.new_replid(), 0),
    };
    state.repl.replid = replid;
    state.repl.offset = offset;
    state.repl.counts_from_minus_one = legacy;
    state.repl.replid2 = NULL_REPLID.to_string();
    state.repl.second_repl_offset = -1;
    state.repl.stream_db = None;
    let backlog_size = state.config.repl_backlog_size as usize;
    state.repl.backlog = Some(Backlog::new(backlog_size, offset + 1));
    state.stats.dirty = 0;
    state.keyspace_replaced();
    state.log(
        Level::Notice,
        "MASTER <-> REPLICA sync: Finished with success",
    );
    // The stream continues in the db the RDB says it was in.
    let db = loaded_stream_db;
    Synced::Streaming { legacy, db }
}

/// Applies the master's stream until the link breaks.
async fn stream_from_master<R: Runtime>(
    server: &Server<R>,
    generation: u64,
    stream: &mut R::Stream,
    mut buffer: BytesMut,
    legacy: bool,
    start_db: usize,
) -> Ended {
    let rt = server.runtime().clone();
    let (client_id, kill, timeout) = {
        let mut state = server.state_at(rt.monotonic());
        let id = state.next_client_id();
        let now = state.mono_now;
        let (host, port) = state
            .repl
            .master
            .as_ref()
            .map(|l| (l.host.clone(), l.port))
            .unwrap_or_default();
        let laddr = state.listen_addr.map(|a| a.to_string()).unwrap_or_default();
        let mut client = Client::new(id, format!("{host}:{port}"), laddr, now, true);
        client.is_master = true;
        client.kind = ClientKind::Master;
        client.db = start_db;
        let kill = client.kill_switch();
        state.clients.insert(id, client);
        if let Some(link) = state.repl.master.as_mut() {
            link.state = LinkState::Connected;
            link.client_id = Some(id);
            link.last_io = now;
            link.down_since = None;
            link.up_since = Some(now);
            link.transfer = None;
            link.last_error = None;
        }
        (id, kill, Duration::from_secs(state.config.repl_timeout))
    };
    // The first ACK goes out at once (a diskless master waits for it); the
    // one timer is re-armed each second and also paces the timeout check.
    let mut ack_now = true;
    let tick = rt.sleep(Duration::from_secs(1));
    tokio::pin!(tick);
    let mut argv = ArgvBuf::default();
    // Stands in for a pause's wake-up while none holds the stream.
    let never_lifted = tokio::sync::Notify::new();
    let ended = loop {
        let now = rt.monotonic();
        let mut replies = Vec::new();
        let held;
        {
            let mut state = server.state_at(now);
            if state.repl.generation != generation {
                break Ended::Stale;
            }
            match apply_stream(
                &mut state,
                client_id,
                &mut buffer,
                &mut argv,
                &mut replies,
                rt.unix_time_ms(),
            ) {
                Ok(postponed) => held = postponed,
                Err(StreamCorrupt) => break Ended::Desync,
            }
            let silent_for =
                now.saturating_sub(state.repl.master.as_ref().map_or(now, |l| l.last_io));
            if silent_for > timeout && !state.planted.replica_ignores_repl_timeout {
                state.log(
                    Level::Warning,
                    "MASTER timeout: no data nor PING received...",
                );
                break Ended::LinkLost;
            }
            if !legacy && ack_now {
                let offset = if state.planted.ack_unapplied_bytes {
                    state.repl.offset + buffer.len() as u64
                } else {
                    state.repl.offset
                };
                encode_command(&mut replies, &["REPLCONF", "ACK", &offset.to_string()]);
                state.note_ack(offset);
                ack_now = false;
            }
        }
        if !replies.is_empty()
            && (stream.write_all(&replies).await.is_err() || stream.flush().await.is_err())
        {
            break Ended::LinkLost;
        }
        buffer.reserve(16 * 1024);
        // While a pause holds the stream, the link still reads (and acks
        // what it applied); it looks again when the pause ends or lifts.
        // The wake-up is armed before the epoch is checked, so a lift in
        // between is not missed.
        let notify: &tokio::sync::Notify = match &held {
            Some(held) => &held.lifted,
            None => &never_lifted,
        };
        let lifted = notify.notified();
        tokio::pin!(lifted);
        if let Some(held) = &held {
            lifted.as_mut().enable();
            if server.state().client_pauses.epoch() != held.epoch {
                continue;
            }
        }
        let pause_left = held
            .as_ref()
            .and_then(|held| held.until)
            .map(|until| until.saturating_sub(rt.monotonic()) + Duration::from_millis(1));
        tokio::select! {
            biased;
            _ = kill.killed() => break Ended::LinkLost,
            _ = &mut lifted, if held.is_some() => {}
            _ = rt.sleep(pause_left.unwrap_or_default()), if pause_left.is_some() => {}
            read = stream.read_buf(&mut buffer) => match read {
                Ok(0) | Err(_) => break Ended::LinkLost,
                Ok(_) => {
                    let mut state = server.state_at(rt.monotonic());
                    let now = state.mono_now;
                    if let Some(link) = state.repl.master.as_mut() {
                        link.last_io = now;
                    }
                    // The planted bug acknowledges what it read, at once.
                    ack_now |= state.planted.ack_unapplied_bytes;
                }
            },
            _ = &mut tick => {
                ack_now = true;
                tick.set(rt.sleep(Duration::from_secs(1)));
            }
        }
    };
    let mut state = server.state_at(rt.monotonic());
    let db = state.clients.remove(&client_id).map_or(0, |c| c.db);
    if let Ended::LinkLost | Ended::Desync = ended {
        if state.repl.generation == generation && state.repl.master.is_some() {
            state.log(Level::Warning, "Connection with master lost.");
            if let Ended::LinkLost = ended {
                state.log(Level::Notice, "Caching the disconnected master state.");
                state.repl.cache_myself(db);
            } else {
                state.repl.cached_master = None;
            }
            let now = state.mono_now;
            if let Some(link) = state.repl.master.as_mut() {
                link.state = LinkState::Connect;
                link.client_id = None;
                link.down_since = Some(now);
                link.up_since = None;
            }
        } else {
            return Ended::Stale;
        }
    }
    ended
}

/// The master's stream broke the protocol: Redis drops the link and does
/// not cache the master, so the next sync is a full one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StreamCorrupt;

/// Executes every whole command in `buffer` as the master client. The
/// processed offset moves after each frame (for a MULTI block, at its
/// EXEC), and exactly the applied bytes, empty frames included, are fed to
/// our own backlog and replicas. Replies are dropped except the forced
/// ones (`REPLCONF ACK` answers to GETACK, also from inside MULTI).
///
/// A frame that breaks the protocol, or an inline command (Redis refuses
/// those from a master: "Master using the inline protocol. Desync?"), is
/// an error: nothing after it is applied.
///
/// A client pause holds the master's writes as it holds any client's
/// (Redis postpones the master client too): applying stops at the first
/// held command, which stays in `buffer` (read, not applied: INFO
/// `slave_read_repl_offset`), and the pause is returned for the link to
/// wait on.
pub(crate) fn apply_stream(
    state: &mut ServerState,
    client_id: u64,
    buffer: &mut BytesMut,
    argv: &mut ArgvBuf,
    replies: &mut Vec<u8>,
    now_ms: u64,
) -> Result<Option<crate::server::pause::Postponed>, StreamCorrupt> {
    let Some(mut client) = state.clients.remove(&client_id) else {
        return Ok(None);
    };
    let mut postponed = None;
    let mut parsed = 0;
    let mut applied = 0;
    let mut out = Reply::new();
    let mut result = Ok(());
    loop {
        let pending = &buffer[parsed..];
        let consumed = match parse_command(pending, argv, ParseLimits::default()) {
            Ok(Parsed::Command { .. }) if argv.is_inline() => {
                state.log(
                    Level::Warning,
                    "WARNING: Receiving inline protocol from master, master stream corruption? Closing the master connection and discarding the cached master.",
                );
                result = Err(StreamCorrupt);
                break;
            }
            Ok(Parsed::Command { consumed }) => {
                let now = state.mono_now;
                let held = crate::command::resolve(argv.argv(pending))
                    .ok()
                    .and_then(|spec| {
                        let queued: Vec<u32> = if spec.name == "exec" {
                            client.queued_commands().map(|q| q.flags).collect()
                        } else {
                            Vec::new()
                        };
                        state.client_pauses.postpones(now, spec.flags, queued)
                    });
                if held.is_some() {
                    postponed = held;
                    break;
                }
                out.clear();
                let mut ctx = Ctx::new(state, &mut client, &mut out, now_ms);
                execute(&mut ctx, argv.argv(pending));
                replies.append(&mut client.forced_replies);
                consumed
            }
            Ok(Parsed::Empty { consumed }) => consumed,
            Ok(Parsed::Incomplete { .. }) => break,
            Err(_) => {
                result = Err(StreamCorrupt);
                break;
            }
        };
        parsed += consumed;
        if !client.in_multi() {
            let bytes = &buffer[applied..parsed];
            state.repl.feed_bytes(bytes);
            if state.repl.backlog.is_none() {
                state.repl.offset += bytes.len() as u64;
            }
            state.note_offset();
            state.note_publishes();
            applied = parsed;
        }
    }
    // Bytes of an unfinished MULTI block stay until its EXEC arrives: drop
    // the queued copy and parse them again then.
    if client.in_multi() {
        client.take_multi();
    }
    if applied != parsed {
        // The buffer no longer starts at the frame the parser stopped in.
        argv.reset();
    }
    buffer.advance(applied);
    state.repl.unapplied_stream = buffer.len() as u64;
    state.clients.insert(client_id, client);
    result.map(|()| postponed)
}
