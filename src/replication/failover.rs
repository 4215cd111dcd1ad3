//! Redis 7.0's coordinated failover (`FAILOVER [TO host port [FORCE]]
//! [ABORT] [TIMEOUT ms]`, `replication.c`): the master pauses writes, waits
//! until a replica (the one named, or the first to catch up) acknowledged
//! its whole stream, then turns into that replica's replica and sends it
//! `PSYNC replid offset FAILOVER`; the replica, seeing its own master's
//! history, promotes itself and lets the old master continue partially.
//! Nothing acknowledged is lost: the writes are paused from the start.
//!
//! This file owns the master's side (the state machine, its timeout and
//! abort) and the replica's answer to `PSYNC ... FAILOVER`; the link task
//! adds the `FAILOVER` word to its PSYNC while a failover is in progress.

use std::time::Duration;

use crate::command::replication_cmds::{promote, set_master};
use crate::log::Level;
use crate::server::ServerState;

/// Where a failover stands (INFO `master_failover_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailoverPhase {
    /// Writes are paused; waiting for the target to acknowledge the whole
    /// stream (`waiting-for-sync`).
    WaitForSync,
    /// This node turned into the target's replica and sends it `PSYNC ...
    /// FAILOVER` (`failover-in-progress`).
    InProgress,
}

/// A coordinated failover of this master.
#[derive(Debug, Clone)]
pub struct Failover {
    /// The replica to fail over to: named by TO, or the first one found
    /// caught up.
    pub target: Option<(String, u16)>,
    /// When to give up waiting (monotonic), with TIMEOUT.
    pub deadline: Option<Duration>,
    /// FORCE: at the deadline, fail over to the target anyway.
    pub force: bool,
    /// Where it stands.
    pub phase: FailoverPhase,
}

/// INFO's `master_failover_state`.
pub fn state_name(state: &ServerState) -> &'static str {
    match state.repl.failover.as_ref().map(|f| f.phase) {
        None => "no-failover",
        Some(FailoverPhase::WaitForSync) => "waiting-for-sync",
        Some(FailoverPhase::InProgress) => "failover-in-progress",
    }
}

/// Whether a failover is going on (REPLICAOF and SYNC are refused).
pub fn in_progress(state: &ServerState) -> bool {
    state.repl.failover.is_some()
}

/// Whether this node's link must send `PSYNC ... FAILOVER`.
pub fn sends_failover_psync(state: &ServerState) -> bool {
    state
        .repl
        .failover
        .as_ref()
        .is_some_and(|f| f.phase == FailoverPhase::InProgress)
}

/// What FAILOVER asked for, once parsed.
#[derive(Debug, Clone, Default)]
pub struct FailoverRequest {
    /// TO host port.
    pub target: Option<(String, u16)>,
    /// TIMEOUT, in ms (0: none).
    pub timeout_ms: u64,
    /// FORCE.
    pub force: bool,
}

/// Starts a failover: checks it can, pauses writes, and logs the request.
/// The error is the reply's text, as Redis words it.
pub fn start(state: &mut ServerState, request: FailoverRequest) -> Result<(), String> {
    if in_progress(state) {
        return Err("ERR FAILOVER already in progress.".into());
    }
    if state.is_replica() {
        return Err("ERR FAILOVER is not valid when server is a replica.".into());
    }
    if state.repl.replicas.is_empty() {
        return Err("ERR FAILOVER requires connected replicas.".into());
    }
    if request.force && (request.timeout_ms == 0 || request.target.is_none()) {
        return Err(
            "ERR FAILOVER with force option requires both a timeout and target HOST and IP.".into(),
        );
    }
    match &request.target {
        Some((host, port)) => {
            let Some(online) = find_replica(state, host, *port).map(|(_, online)| online) else {
                return Err("ERR FAILOVER target HOST and PORT is not a replica.".into());
            };
            if !online {
                return Err("ERR FAILOVER target replica is not online.".into());
            }
            state.log(
                Level::Notice,
                &format!("FAILOVER requested to {host}:{port}."),
            );
        }
        None => state.log(Level::Notice, "FAILOVER requested to any replica."),
    }
    let now = state.mono_now;
    state.repl.failover = Some(Failover {
        target: request.target,
        deadline: (request.timeout_ms > 0).then(|| now + Duration::from_millis(request.timeout_ms)),
        force: request.force,
        phase: FailoverPhase::WaitForSync,
    });
    state.client_pauses.pause_for_failover();
    if state.planted.failover_before_sync {
        // The planted bug: the switch happens now, whatever the target
        // has acknowledged (the link task starts with the next command's
        // controls).
        fail_over_now(state);
    }
    Ok(())
}

/// The planted bug's switch: to the target named, or the first replica.
fn fail_over_now(state: &mut ServerState) {
    let target = state
        .repl
        .failover
        .as_ref()
        .and_then(|f| f.target.clone())
        .or_else(|| {
            state
                .repl
                .replicas
                .values()
                .next()
                .map(|link| (link.ip.clone(), link.listening_port))
        });
    if let Some((host, port)) = target {
        if let Some(failover) = state.repl.failover.as_mut() {
            failover.target = Some((host.clone(), port));
        }
        fail_over_to(state, &host, port);
    }
}

/// The replica at `host:port` (its announced or connection address and
/// its listening port, as Redis's `findReplica` matches them): its
/// acknowledged offset and whether it is online.
fn find_replica(state: &ServerState, host: &str, port: u16) -> Option<(u64, bool)> {
    state
        .repl
        .replicas
        .values()
        .find(|link| link.ip.eq_ignore_ascii_case(host) && link.listening_port == port)
        .map(|link| (link.ack_offset, link.state == super::ReplicaState::Online))
}

/// Redis's `updateFailoverStatus`, run by the cron and on every ACK:
/// times out (or, with FORCE, goes ahead), or turns this node into the
/// replica of a target that caught up. True when the node started its
/// link to the target (the caller starts the link task).
pub fn update_status(state: &mut ServerState) -> bool {
    let Some(failover) = state.repl.failover.clone() else {
        return false;
    };
    if failover.phase != FailoverPhase::WaitForSync {
        return false;
    }
    if failover
        .deadline
        .is_some_and(|deadline| deadline <= state.mono_now)
    {
        if failover.force {
            let (host, port) = failover.target.clone().expect("FORCE needs a target");
            state.log(
                Level::Notice,
                &format!("FAILOVER to {host}:{port} time out exceeded, failing over."),
            );
            fail_over_to(state, &host, port);
            return true;
        }
        abort(state, "Replica never caught up before timeout");
        return false;
    }
    let offset = state.repl.offset;
    let caught_up = match &failover.target {
        Some((host, port)) => find_replica(state, host, *port)
            .is_some_and(|(acked, _)| acked == offset)
            .then(|| (host.clone(), *port)),
        None => state
            .repl
            .replicas
            .values()
            .find(|link| link.ack_offset == offset)
            .map(|link| (link.ip.clone(), link.listening_port)),
    };
    let Some((host, port)) = caught_up else {
        return false;
    };
    if let Some(failover) = state.repl.failover.as_mut() {
        failover.target = Some((host.clone(), port));
    }
    state.log(
        Level::Notice,
        &format!("Failover target {host}:{port} is synced, failing over."),
    );
    fail_over_to(state, &host, port);
    true
}

fn fail_over_to(state: &mut ServerState, host: &str, port: u16) {
    if let Some(failover) = state.repl.failover.as_mut() {
        failover.phase = FailoverPhase::InProgress;
    }
    set_master(state, host, port, false);
}

/// The target answered the failover PSYNC with `+CONTINUE` or
/// `+FULLRESYNC`: the failover is done, and writes resume (as this node's
/// clients now find a replica).
pub fn finished(state: &mut ServerState) {
    clear(state);
}

/// Ends a failover that cannot go on, as Redis's `abortFailover`: logged,
/// and a node that already turned into a replica becomes a master again.
pub fn abort(state: &mut ServerState, reason: &str) {
    let Some(failover) = state.repl.failover.clone() else {
        return;
    };
    match &failover.target {
        Some((host, port)) => state.log(
            Level::Notice,
            &format!("FAILOVER to {host}:{port} aborted: {reason}"),
        ),
        None => state.log(
            Level::Notice,
            &format!("FAILOVER to any replica aborted: {reason}"),
        ),
    }
    if failover.phase == FailoverPhase::InProgress {
        promote(state);
    }
    clear(state);
}

fn clear(state: &mut ServerState) {
    state.repl.failover = None;
    state.client_pauses.unpause_failover();
}

/// The replica's side of `PSYNC replid offset FAILOVER` from `requester`
/// (its CLIENT LIST line): a replica whose master's history is `replid`
/// becomes a master, so that the requester continues from it.
pub fn accept_failover_psync(
    state: &mut ServerState,
    replid: &[u8],
    requester: &str,
) -> Result<(), String> {
    state.log(
        Level::Warning,
        &format!(
            "Failover request received for replid {}.",
            String::from_utf8_lossy(replid)
        ),
    );
    if !state.is_replica() {
        return Err("ERR PSYNC FAILOVER can't be sent to a master.".into());
    }
    if !replid.eq_ignore_ascii_case(state.repl.replid.as_bytes()) {
        return Err("ERR PSYNC FAILOVER replid must match my replid.".into());
    }
    promote(state);
    state.log(
        Level::Notice,
        &format!("MASTER MODE enabled (failover request from '{requester}')"),
    );
    Ok(())
}
