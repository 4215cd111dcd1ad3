//! Replication and persistence commands: REPLICAOF / SLAVEOF, FAILOVER,
//! PSYNC, SYNC, REPLCONF, WAIT, ROLE, SAVE, BGSAVE, SHUTDOWN.
//!
//! PSYNC/SYNC and WAIT change what the connection does next ([`Flow`]); the
//! byte moving happens in `replication::master` and the connection loop.

use std::time::Duration;

use super::flags::*;
use super::{int_arg, spec, CmdError, CmdResult, CommandSpec, Ctx, Flow, NO_KEYS};
use crate::log::Level;
use crate::replication::failover::{self, FailoverRequest};
use crate::replication::master::SyncRequest;
use crate::replication::{LinkState, MasterLink};
use crate::resp::{encode_command, Argv};
use crate::server::{Control, ServerState};

pub(super) static COMMANDS: &[CommandSpec] = &[
    spec(
        "replicaof",
        3,
        NO_ASYNC_LOADING | ADMIN | NOSCRIPT | STALE,
        NO_KEYS,
        replicaof,
    ),
    spec(
        "slaveof",
        3,
        NO_ASYNC_LOADING | ADMIN | NOSCRIPT | STALE,
        NO_KEYS,
        replicaof,
    ),
    spec("failover", -1, ADMIN | NOSCRIPT | STALE, NO_KEYS, failover),
    spec(
        "psync",
        -3,
        NO_ASYNC_LOADING | ADMIN | NOSCRIPT | NO_QUEUE | NO_MULTI,
        NO_KEYS,
        psync,
    ),
    spec(
        "sync",
        1,
        NO_ASYNC_LOADING | ADMIN | NOSCRIPT | NO_QUEUE | NO_MULTI,
        NO_KEYS,
        sync,
    ),
    spec(
        "replconf",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | ALLOW_BUSY,
        NO_KEYS,
        replconf,
    ),
    spec("wait", 3, NOSCRIPT, NO_KEYS, wait),
    spec("role", 1, NOSCRIPT | LOADING | STALE | FAST, NO_KEYS, role),
    spec(
        "save",
        1,
        NO_ASYNC_LOADING | ADMIN | NOSCRIPT | NO_MULTI,
        NO_KEYS,
        save,
    ),
    spec("lastsave", 1, LOADING | STALE | FAST, NO_KEYS, lastsave),
    spec(
        "bgsave",
        -1,
        NO_ASYNC_LOADING | ADMIN | NOSCRIPT,
        NO_KEYS,
        bgsave,
    ),
    spec(
        "shutdown",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | NO_QUEUE | NO_MULTI | ALLOW_BUSY,
        NO_KEYS,
        shutdown,
    ),
];

/// The CLIENT LIST line of the caller, for REPLICAOF's log line.
pub(crate) fn requester(ctx: &Ctx<'_>) -> String {
    format!(
        "id={} addr={} laddr={} name={}",
        ctx.client.id,
        ctx.client.addr,
        ctx.client.laddr,
        ctx.client
            .name
            .as_deref()
            .map(String::from_utf8_lossy)
            .unwrap_or_default()
    )
}

/// Turns this node into a master (`REPLICAOF NO ONE`): the current id
/// becomes the secondary one (so former siblings can continue partially),
/// a new id is drawn, and our replicas are disconnected to learn it.
pub fn promote(state: &mut ServerState) {
    let Some(old) = state.repl.master.take() else {
        return;
    };
    // A connect, handshake or RDB transfer in progress is abandoned, as
    // Redis's `cancelReplicationHandshake` does: its RDB must never be
    // loaded into what is now a master.
    old.attempt.kill();
    // Redis frees the master client (caching it), then discards the
    // cached master, with a line for each.
    if old.state == LinkState::Connected {
        state.log(Level::Warning, "Connection with master lost.");
        state.log(Level::Notice, "Caching the disconnected master state.");
    }
    if old.state == LinkState::Connected || state.repl.cached_master.is_some() {
        state.log(Level::Notice, "Discarding previously cached master state.");
    }
    state.repl.generation += 1;
    let new_id = state.new_replid();
    let line = state.repl.shift_replid(new_id);
    state.log(Level::Warning, &line);
    state.note_offset();
    for link in state.repl.replicas.values() {
        link.kill.kill();
    }
    // The stream we generate from now on starts with a SELECT.
    state.repl.stream_db = None;
    state.repl.cached_master = None;
    if let Some(id) = state.clients.values().find(|c| c.is_master).map(|c| c.id) {
        if let Some(client) = state.clients.get(&id) {
            client.kill_switch().kill();
        }
    }
}

/// Points this node at a master (`REPLICAOF host port`, `replicaof` in the
/// config): caches our own history for a partial resync, disconnects our
/// replicas (they will follow the new history), and asks for a link task.
pub fn set_master(state: &mut ServerState, host: &str, port: u16, from_config: bool) {
    // Clients blocked on a master cannot wait on a replica.
    super::blocking::unblock_all_for_role_change(state);
    // Redis keeps one "link down since" for the server: a link that was up
    // goes down now, one that was down stays down since when it went, and
    // one never up reports -1.
    let now = state.mono_now;
    let down_since = state.repl.master.as_ref().and_then(|old| {
        if old.state == LinkState::Connected {
            Some(now)
        } else {
            old.down_since
        }
    });
    match state.repl.master.take() {
        // At start-up the cached master comes from the RDB only, and Redis
        // logs nothing here.
        None if from_config => {}
        None => {
            state.log(
                Level::Notice,
                "Before turning into a replica, using my own master parameters to synthesize a cached master: I may be able to synchronize with the new master with just a partial transfer.",
            );
            let db = state.stream_db_now();
            state.repl.cache_myself(db);
        }
        Some(old) => {
            old.attempt.kill();
            if old.state == LinkState::Connected {
                state.log(Level::Notice, "Caching the disconnected master state.");
                let db = old
                    .client_id
                    .and_then(|id| state.clients.get(&id))
                    .map_or(0, |c| c.db);
                state.repl.cache_myself(db);
            }
            if let Some(id) = old.client_id {
                if let Some(client) = state.clients.get(&id) {
                    client.kill_switch().kill();
                }
            }
        }
    }
    for link in state.repl.replicas.values() {
        link.kill.kill();
    }
    state.repl.generation += 1;
    state.repl.master = Some(MasterLink {
        host: host.to_string(),
        port,
        state: LinkState::Connect,
        generation: state.repl.generation,
        last_io: now,
        attempt: Default::default(),
        down_since,
        up_since: None,
        client_id: None,
        transfer: None,
        last_error: None,
    });
    let generation = state.repl.generation;
    state.control.push(Control::StartLink(generation));
}

/// REPLICAOF host port | REPLICAOF NO ONE (and its old name SLAVEOF):
/// starts replicating from a master, or stops and becomes a master.
///
/// # Propagation
/// None.
fn replicaof(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    if failover::in_progress(ctx.state) {
        return Err(CmdError::err("REPLICAOF not allowed while failing over."));
    }
    let (host, port) = (argv.get(1), argv.get(2));
    if host.eq_ignore_ascii_case(b"no") && port.eq_ignore_ascii_case(b"one") {
        if ctx.state.is_replica() {
            promote(ctx.state);
            let who = requester(ctx);
            ctx.state.log(
                Level::Notice,
                &format!("MASTER MODE enabled (user request from '{who}')"),
            );
        }
        ctx.out.ok();
        return Ok(());
    }
    let port = int_arg(port)?;
    let port = u16::try_from(port).map_err(|_| CmdError::err("Invalid master port"))?;
    let host = String::from_utf8_lossy(host).into_owned();
    let same = ctx
        .state
        .repl
        .master
        .as_ref()
        .is_some_and(|m| m.host.eq_ignore_ascii_case(&host) && m.port == port);
    if same {
        ctx.state.log(
            Level::Notice,
            "REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.",
        );
        ctx.out.simple("OK Already connected to specified master");
        return Ok(());
    }
    set_master(ctx.state, &host, port, false);
    let who = requester(ctx);
    ctx.state.log(
        Level::Notice,
        &format!("REPLICAOF {host}:{port} enabled (user request from '{who}')"),
    );
    ctx.out.ok();
    Ok(())
}

/// FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT ms]: a coordinated
/// switch to a replica without losing writes. Writes pause; once the
/// target (or, without TO, the first replica) acknowledged the whole
/// stream this node becomes its replica and asks it, with `PSYNC ...
/// FAILOVER`, to take over. TIMEOUT gives up (FORCE: fails over anyway);
/// ABORT stops it.
///
/// # Propagation
/// None.
fn failover(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    if argv.len() == 2 && argv.get(1).eq_ignore_ascii_case(b"abort") {
        if !failover::in_progress(ctx.state) {
            return Err(CmdError::err("No failover in progress."));
        }
        failover::abort(ctx.state, "Failover manually aborted");
        ctx.out.ok();
        return Ok(());
    }
    let mut request = FailoverRequest::default();
    let mut j = 1;
    while j < argv.len() {
        let word = argv.get(j);
        if word.eq_ignore_ascii_case(b"timeout") && j + 1 < argv.len() && request.timeout_ms == 0 {
            let timeout = int_arg(argv.get(j + 1))?;
            if timeout <= 0 {
                return Err(CmdError::err("FAILOVER timeout must be greater than 0"));
            }
            request.timeout_ms = timeout as u64;
            j += 2;
        } else if word.eq_ignore_ascii_case(b"to") && j + 2 < argv.len() && request.target.is_none()
        {
            let port = int_arg(argv.get(j + 2))?;
            let host = String::from_utf8_lossy(argv.get(j + 1)).into_owned();
            // A port no replica can listen on names no replica.
            request.target = Some((host, u16::try_from(port).unwrap_or(0)));
            j += 3;
        } else if word.eq_ignore_ascii_case(b"force") && !request.force {
            request.force = true;
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    failover::start(ctx.state, request).map_err(CmdError::Other)?;
    ctx.out.ok();
    Ok(())
}

fn sync_request(ctx: &Ctx<'_>, psync: Option<(String, i64)>) -> SyncRequest {
    let ip = ctx.client.replica_ip.clone().unwrap_or_else(|| {
        ctx.client
            .addr
            .rsplit_once(':')
            .map_or(ctx.client.addr.clone(), |(ip, _)| ip.to_string())
    });
    SyncRequest {
        psync,
        capa_eof: ctx.client.capa_eof,
        capa_psync2: ctx.client.capa_psync2,
        listening_port: ctx.client.listening_port,
        ip,
    }
}

fn refuse_sync(ctx: &Ctx<'_>) -> CmdResult {
    // Replicas do not sync with a node in the middle of a failover.
    if failover::in_progress(ctx.state) {
        return Err(CmdError::Other(
            "NOMASTERLINK Can't SYNC while failing over".into(),
        ));
    }
    if ctx.client.is_master {
        return Err(CmdError::err("Replica can't be a replica"));
    }
    if ctx.client.in_multi() {
        return Err(CmdError::err("Command not allowed inside a transaction"));
    }
    // A chained replica serves its replicas only while it streams from its
    // own master; Redis refuses before it logs anything.
    if ctx.state.is_replica() && !ctx.state.master_link_up() {
        return Err(CmdError::Other(
            "NOMASTERLINK Can't SYNC while not connected with my master".into(),
        ));
    }
    // Replies to commands that came in the same read are not written yet:
    // the RDB and the stream must start on an empty reply buffer, so Redis
    // refuses (a client pipelining REPLCONF and PSYNC gets this).
    if !ctx.out.is_empty() {
        return Err(CmdError::err(
            "SYNC and PSYNC are invalid with pending output",
        ));
    }
    Ok(())
}

/// Logs the request as Redis's `syncCommand` does once it passed the
/// refusals above; the replica's name for the log lines that follow.
fn log_sync_request(ctx: &mut Ctx<'_>) -> String {
    let name = sync_request(ctx, None).name();
    ctx.state.log(
        Level::Notice,
        &format!("Replica {name} asks for synchronization"),
    );
    name
}

/// PSYNC replid offset: a replica asks to continue from `offset` of the
/// history `replid` (`?` for none). The connection becomes a replica link:
/// `+CONTINUE` with the backlog, or `+FULLRESYNC` with an RDB.
///
/// # Propagation
/// None.
fn psync(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    // A replica asking again on its link is ignored, without a reply.
    if ctx.client.kind == crate::server::ClientKind::Replica {
        return Ok(());
    }
    // `PSYNC replid offset FAILOVER`: our master hands its role over.
    if argv.len() > 3 && argv.get(3).eq_ignore_ascii_case(b"failover") {
        let who = crate::command::client_line(ctx.client, ctx.state.mono_now, None);
        failover::accept_failover_psync(ctx.state, argv.get(1), who.trim_end())
            .map_err(CmdError::Other)?;
    }
    refuse_sync(ctx)?;
    let name = log_sync_request(ctx);
    let replid = String::from_utf8_lossy(argv.get(1)).into_owned();
    let Ok(offset) = int_arg(argv.get(2)) else {
        ctx.state.log(
            Level::Warning,
            &format!("Replica {name} asks for synchronization but with a wrong offset"),
        );
        return Err(CmdError::NotInteger);
    };
    ctx.flow = Flow::Replicate(sync_request(ctx, Some((replid, offset))));
    Ok(())
}

/// SYNC: the legacy full synchronisation (no `+FULLRESYNC` line, no ACKs).
///
/// # Propagation
/// None.
fn sync(ctx: &mut Ctx<'_>, _argv: Argv<'_>) -> CmdResult {
    if ctx.client.kind == crate::server::ClientKind::Replica {
        return Ok(());
    }
    refuse_sync(ctx)?;
    log_sync_request(ctx);
    ctx.flow = Flow::Replicate(sync_request(ctx, None));
    Ok(())
}

/// REPLCONF option value ...: a replica's handshake options
/// (`listening-port`, `ip-address`, `capa`), its `ACK <offset>` (no reply),
/// and the master's `GETACK *` (answered with `REPLCONF ACK <offset>`).
///
/// # Propagation
/// None.
fn replconf(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    if argv.len() % 2 == 0 {
        return Err(CmdError::Syntax);
    }
    for i in (1..argv.len()).step_by(2) {
        let (option, value) = (argv.get(i).to_ascii_lowercase(), argv.get(i + 1));
        match option.as_slice() {
            b"listening-port" => {
                let port = int_arg(value)?;
                ctx.client.listening_port =
                    u16::try_from(port).map_err(|_| CmdError::NotInteger)?;
            }
            b"ip-address" => {
                ctx.client.replica_ip = Some(String::from_utf8_lossy(value).into_owned());
            }
            b"capa" => {
                if value.eq_ignore_ascii_case(b"eof") {
                    ctx.client.capa_eof = true;
                } else if value.eq_ignore_ascii_case(b"psync2") {
                    ctx.client.capa_psync2 = true;
                }
            }
            // Handled by the replica link task (master side); from anyone
            // else, ignored without a reply, as Redis does.
            b"ack" => return Ok(()),
            b"getack" => {
                if ctx.client.is_master {
                    let offset = ctx.state.repl.offset;
                    let shown = ctx.state.repl.shown(offset);
                    encode_command(
                        &mut ctx.client.forced_replies,
                        &["REPLCONF", "ACK", &shown.to_string()],
                    );
                    ctx.state.note_ack(offset);
                }
                return Ok(());
            }
            b"rdb-only" | b"rdb-filter-only" => {}
            _ => {
                return Err(CmdError::err(format!(
                    "Unrecognized REPLCONF option: {}",
                    String::from_utf8_lossy(argv.get(i))
                )))
            }
        }
    }
    ctx.out.ok();
    Ok(())
}

/// WAIT numreplicas timeout: blocks until `numreplicas` replicas have
/// acknowledged this client's last write, or `timeout` ms pass (0: no
/// limit); replies with the number that did. An error on a replica.
///
/// # Propagation
/// None; the master asks its replicas for an ACK (`REPLCONF GETACK *` in
/// the stream) when it has to wait.
fn wait(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    if ctx.state.is_replica() {
        return Err(CmdError::err(
            "WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.",
        ));
    }
    let wanted = int_arg(argv.get(1))?;
    let timeout = int_arg(argv.get(2))
        .map_err(|_| CmdError::err("timeout is not an integer or out of range"))?;
    if timeout < 0 {
        return Err(CmdError::err("timeout is negative"));
    }
    let offset = ctx.client.write_offset;
    let acked = if ctx.state.planted.wait_ignores_acks {
        ctx.state.repl.replicas.len() as i64
    } else {
        ctx.state.repl.replicas_acked(offset) as i64
    };
    if acked >= wanted || ctx.client.in_multi() {
        ctx.state.note_wait(offset, acked);
        ctx.out.integer(acked);
        return Ok(());
    }
    ctx.state
        .repl
        .feed_bytes(b"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n");
    ctx.state.note_offset();
    ctx.flow = Flow::Wait {
        replicas: wanted.max(0) as usize,
        offset,
        timeout: (timeout > 0).then(|| Duration::from_millis(timeout as u64)),
    };
    Ok(())
}

/// ROLE: `master`, offset, and `[ip, port, offset]` per online replica; or
/// `slave`, host, port, link state, offset (-1 with no master client).
///
/// # Propagation
/// None.
fn role(ctx: &mut Ctx<'_>, _argv: Argv<'_>) -> CmdResult {
    let repl = &ctx.state.repl;
    match &repl.master {
        None => {
            let online: Vec<_> = repl
                .replicas
                .values()
                .filter(|r| r.state == crate::replication::ReplicaState::Online)
                .map(|r| (r.ip.clone(), r.listening_port, r.ack_offset))
                .collect();
            let offset = repl.shown(repl.offset);
            ctx.out.array(3);
            ctx.out.bulk(b"master");
            ctx.out.integer(offset);
            ctx.out.array(online.len());
            for (ip, port, ack) in online {
                ctx.out.array(3);
                ctx.out.bulk(ip.as_bytes());
                ctx.out.bulk(port.to_string().as_bytes());
                ctx.out.bulk(ack.to_string().as_bytes());
            }
        }
        Some(link) => {
            let (host, port, state) = (link.host.clone(), link.port, link.state.role_name());
            let offset = if link.client_id.is_some() {
                repl.shown(repl.offset)
            } else {
                -1
            };
            ctx.out.array(5);
            ctx.out.bulk(b"slave");
            ctx.out.bulk(host.as_bytes());
            ctx.out.integer(port as i64);
            ctx.out.bulk(state.as_bytes());
            ctx.out.integer(offset);
        }
    }
    Ok(())
}

/// SAVE: writes the RDB (temporary file, then rename) through the storage seam.
///
/// # Propagation
/// None.
fn save(ctx: &mut Ctx<'_>, _argv: Argv<'_>) -> CmdResult {
    // Redis answers a failed SAVE with a bare `-ERR` (the log says why).
    ctx.state
        .save_rdb(ctx.now_ms)
        .map_err(|_| CmdError::Other("ERR".into()))?;
    ctx.out.ok();
    Ok(())
}

/// LASTSAVE: the Unix time of the last successful save (the start time
/// before any).
///
/// # Propagation
/// None.
fn lastsave(ctx: &mut Ctx<'_>, _argv: Argv<'_>) -> CmdResult {
    ctx.out.integer(ctx.state.last_save_unix as i64);
    Ok(())
}

/// BGSAVE [SCHEDULE]: like SAVE (replsim snapshots in memory at once, so
/// there is no child process), replying as Redis does.
///
/// # Propagation
/// None.
fn bgsave(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    if argv.len() > 2 || (argv.len() == 2 && !argv.get(1).eq_ignore_ascii_case(b"SCHEDULE")) {
        return Err(CmdError::Syntax);
    }
    // The save succeeds or fails after the reply, as a child's would.
    ctx.out.simple("Background saving started");
    ctx.state.background_save(ctx.now_ms);
    Ok(())
}

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]: saves when asked, or when
/// save points are configured and NOSAVE was not given, then stops the
/// server. No reply on success (the connection closes).
///
/// # Propagation
/// None.
fn shutdown(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let mut save = !ctx.state.config.save.is_empty();
    let mut nosave = false;
    for option in argv.iter().skip(1) {
        match option.to_ascii_uppercase().as_slice() {
            b"NOSAVE" => {
                save = false;
                nosave = true;
            }
            b"SAVE" => save = true,
            b"NOW" | b"FORCE" => {}
            _ => return Err(CmdError::Syntax),
        }
    }
    // A busy script can only be stopped by SHUTDOWN NOSAVE (which kills
    // it): saving would write its half-done work.
    if let Some(busy) = ctx.state.busy_script() {
        if !nosave {
            return Err(CmdError::Other(busy.busy_error().into()));
        }
    }
    if let Err(error) = prepare_for_shutdown(ctx.state, save, ctx.now_ms) {
        return Err(CmdError::err(format!(
            "Errors trying to SHUTDOWN. Check logs. ({error})"
        )));
    }
    ctx.state.control.push(Control::Shutdown);
    ctx.flow = Flow::CloseAfterReply;
    Ok(())
}

/// Redis's `prepareForShutdown` and `finishShutdown`, shared by SHUTDOWN and
/// SIGTERM/SIGINT: logs the request, saves the final RDB when `save`, and
/// says goodbye. On a failed save nothing stops: the error is logged and
/// returned.
pub fn prepare_for_shutdown(
    state: &mut ServerState,
    save: bool,
    now_ms: u64,
) -> Result<(), crate::runtime::StorageError> {
    state.log(Level::Warning, "User requested shutdown...");
    if save {
        state.log(
            Level::Notice,
            "Saving the final RDB snapshot before exiting.",
        );
        if let Err(error) = state.save_rdb(now_ms) {
            state.log(Level::Warning, "Error trying to save the DB, can't exit.");
            state.log(
                Level::Warning,
                "Errors trying to shut down the server. Check the logs for more information.",
            );
            return Err(error);
        }
    }
    if state.unix_socket_path.is_some() {
        // The listener removes the file as it closes.
        state.log(Level::Notice, "Removing the unix socket file.");
    }
    state.log(Level::Warning, "Redis is now ready to exit, bye bye...");
    Ok(())
}
