//! Diskless full syncs share one snapshot, as Redis's RDB child with a
//! socket target does: replicas that ask for a full sync wait (Redis's
//! `WAIT_BGSAVE_START`) until the first of them has waited
//! `repl-diskless-sync-delay` seconds, or until
//! `repl-diskless-sync-max-replicas` of them wait; then one snapshot is
//! taken for all of them, at one offset, with one EOF mark. A replica that
//! arrives while that transfer runs waits for the next one, which starts
//! when the last member of the current one has been sent everything or has
//! gone (Redis starts pending forks as soon as a child exits).
//!
//! The state lives in [`ReplState`](super::ReplState) and changes under the
//! server lock; the tasks that serve each replica drive it
//! ([`super::master`]).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::ReplicaState;
use crate::log::Level;
use crate::server::ServerState;

/// One diskless snapshot, shared by every replica it was taken for.
#[derive(Debug)]
pub struct SharedRdb {
    /// The replication id announced in `+FULLRESYNC`.
    pub replid: String,
    /// The offset the snapshot stands for.
    pub offset: u64,
    /// The RDB payload.
    pub payload: Bytes,
    /// The `$EOF:` mark that frames it.
    pub mark: String,
}

/// A diskless transfer in progress.
#[derive(Debug, Default)]
pub struct SocketTransfer {
    /// Members still being sent the snapshot.
    pub sending: BTreeSet<u64>,
    /// Members sent the whole snapshot.
    pub sent: BTreeSet<u64>,
}

/// What a replica asking for a diskless full sync logs on arrival, as
/// Redis's `syncCommand` does; `None` when the transfer may start at once.
pub fn arrival_line(state: &ServerState) -> Option<&'static str> {
    if state.repl.socket_transfer.is_some() {
        Some("Current BGSAVE has socket target. Waiting for next BGSAVE for SYNC")
    } else if state.config.repl_diskless_sync_delay > 0 {
        Some("Delay next BGSAVE for diskless SYNC")
    } else {
        None
    }
}

/// Redis's `replicationStartPendingFork` for diskless syncs: when no
/// transfer runs and the waiting replicas have waited long enough (or are
/// enough), takes one snapshot for all of them, hands it to each and wakes
/// their tasks. Returns whether a transfer started.
pub fn start_pending(state: &mut ServerState, now_unix_ms: u64) -> bool {
    if state.repl.socket_transfer.is_some() {
        return false;
    }
    let now = state.mono_now;
    let waiting: Vec<(u64, Duration)> = state
        .repl
        .replicas
        .values()
        .filter(|link| link.awaits_socket_rdb)
        .map(|link| (link.client_id, now.saturating_sub(link.attached_at)))
        .collect();
    if waiting.is_empty() {
        return false;
    }
    let longest_wait = waiting.iter().map(|(_, waited)| *waited).max();
    let delay = Duration::from_secs(state.config.repl_diskless_sync_delay);
    let max_replicas = state.config.repl_diskless_sync_max_replicas as usize;
    let enough = max_replicas > 0 && waiting.len() >= max_replicas;
    if !enough && longest_wait.is_some_and(|waited| waited < delay) {
        return false;
    }
    state.log(
        Level::Notice,
        "Starting BGSAVE for SYNC with target: replicas sockets",
    );
    state.log(Level::Notice, "Background RDB transfer started by pid 1");
    let (payload, offset) = super::master::take_snapshot(state, now_unix_ms);
    let rdb = Arc::new(SharedRdb {
        replid: state.repl.replid.clone(),
        offset,
        payload: Bytes::from(payload),
        mark: state.new_replid(),
    });
    let mut transfer = SocketTransfer::default();
    for (client_id, _) in waiting {
        if let Some(link) = state.repl.replicas.get_mut(&client_id) {
            link.awaits_socket_rdb = false;
            link.socket_rdb = Some(rdb.clone());
            link.streaming = true;
            link.wakeup.notify_one();
            transfer.sending.insert(client_id);
        }
    }
    state.repl.socket_transfer = Some(transfer);
    true
}

/// A member of the running transfer was sent the whole snapshot (`sent`)
/// or went away. When it was the last one, the transfer ends as Redis's
/// ends: the members still there go online, to be streamed to from their
/// first ACK, and the replicas waiting for the next transfer are woken.
pub fn member_finished(state: &mut ServerState, client_id: u64, sent: bool) {
    let Some(transfer) = state.repl.socket_transfer.as_mut() else {
        return;
    };
    if !transfer.sending.remove(&client_id) {
        if !sent {
            transfer.sent.remove(&client_id);
        }
        return;
    }
    if sent {
        transfer.sent.insert(client_id);
    }
    if !transfer.sending.is_empty() {
        return;
    }
    let Some(transfer) = state.repl.socket_transfer.take() else {
        return;
    };
    if transfer.sent.is_empty() {
        state.log(
            Level::Warning,
            "Diskless rdb transfer, last replica dropped, killing fork child.",
        );
        state.log(
            Level::Warning,
            "Background transfer terminated by signal 10",
        );
    } else {
        state.log(
            Level::Warning,
            &format!(
                "Diskless rdb transfer, done reading from pipe, {} replicas still up.",
                transfer.sent.len()
            ),
        );
        state.log(
            Level::Notice,
            "Background RDB transfer terminated with success",
        );
    }
    let now = state.mono_now;
    // Redis goes through its replicas in the order they asked to sync.
    let mut members: Vec<(Duration, u64)> = transfer
        .sent
        .iter()
        .filter_map(|id| state.repl.replicas.get(id).map(|l| (l.attached_at, *id)))
        .collect();
    members.sort_unstable();
    let mut online = Vec::new();
    for (_, client_id) in members {
        if let Some(link) = state.repl.replicas.get_mut(&client_id) {
            link.state = ReplicaState::Online;
            link.ack_time = now;
            link.stream_on_ack = true;
            link.socket_rdb = None;
            online.push(link.name());
        }
    }
    for name in online {
        state.log(
            Level::Notice,
            &format!("Streamed RDB transfer with replica {name} succeeded (socket). Waiting for REPLCONF ACK from slave to enable streaming"),
        );
        state.log(
            Level::Notice,
            &format!("Synchronization with replica {name} succeeded"),
        );
    }
    for link in state.repl.replicas.values() {
        if link.awaits_socket_rdb {
            link.wakeup.notify_one();
        }
    }
}
