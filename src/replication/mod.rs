//! Replication state shared by both sides of a link: replication ids and
//! offsets, the backlog, the replicas attached to this node (with their
//! output buffers), the link to this node's own master, and the PSYNC
//! decision, following Redis 7.0 (`replication.c`).
//!
//! The byte-moving tasks live in [`master`] (serving one replica) and
//! [`replica`] (this node's link to its master); everything here is plain
//! state changed under the server lock, so its rules unit-test without IO.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::sync::Notify;

use crate::resp::{encode_command, OwnedArgv};
use crate::server::probe::PlantedBugs;
use crate::server::KillSwitch;

pub mod diskless;
pub mod failover;
pub mod master;
pub mod replica;

/// The id a node without history reports as `master_replid2`.
pub const NULL_REPLID: &str = "0000000000000000000000000000000000000000";

/// The replication backlog: the last `capacity` bytes of the stream.
#[derive(Debug)]
pub struct Backlog {
    bytes: VecDeque<u8>,
    capacity: usize,
    /// Offset of the first byte held (`repl_backlog_first_byte_offset`).
    first_offset: u64,
    /// Whether bytes were ever dropped to stay within the capacity.
    wrapped: bool,
}

impl Backlog {
    /// An empty backlog whose next byte will have offset `next_offset`.
    pub fn new(capacity: usize, next_offset: u64) -> Self {
        Backlog {
            bytes: VecDeque::new(),
            capacity: capacity.max(16 * 1024),
            first_offset: next_offset,
            wrapped: false,
        }
    }

    /// Appends stream bytes, dropping the oldest beyond the capacity.
    pub fn push(&mut self, data: &[u8]) {
        self.bytes.extend(data);
        let excess = self.bytes.len().saturating_sub(self.capacity);
        if excess > 0 {
            self.bytes.drain(..excess);
            self.first_offset += excess as u64;
            self.wrapped = true;
        }
    }

    /// Bytes held (`repl_backlog_histlen`).
    pub fn histlen(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// Offset of the first byte held.
    pub fn first_offset(&self) -> u64 {
        self.first_offset
    }

    /// Whether the backlog ever dropped its oldest bytes.
    pub fn has_wrapped(&self) -> bool {
        self.wrapped
    }

    /// Configured size.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Changes the size (CONFIG SET repl-backlog-size), keeping the newest bytes.
    pub fn resize(&mut self, capacity: usize) {
        self.capacity = capacity.max(16 * 1024);
        self.push(&[]);
    }

    /// The bytes from stream offset `from` to the end, if `from` is within
    /// `[first_offset, first_offset + histlen]`.
    pub fn since(&self, from: u64) -> Option<Vec<u8>> {
        if from < self.first_offset || from > self.first_offset + self.histlen() {
            return None;
        }
        let skip = (from - self.first_offset) as usize;
        Some(self.bytes.iter().skip(skip).copied().collect())
    }
}

/// Where a replica attached to this node stands (INFO `state=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaState {
    /// Waiting for the RDB to be produced.
    WaitBgsave,
    /// Receiving the RDB.
    SendBulk,
    /// Streaming.
    Online,
}

impl ReplicaState {
    /// The name INFO prints.
    pub fn name(self) -> &'static str {
        match self {
            ReplicaState::WaitBgsave => "wait_bgsave",
            ReplicaState::SendBulk => "send_bulk",
            ReplicaState::Online => "online",
        }
    }
}

/// A replica attached to this node.
#[derive(Debug)]
pub struct ReplicaLink {
    /// The replica's client id.
    pub client_id: u64,
    /// Its address as INFO shows it.
    pub ip: String,
    /// Its `REPLCONF listening-port`.
    pub listening_port: u16,
    /// Where it stands.
    pub state: ReplicaState,
    /// Its last acknowledged offset.
    pub ack_offset: u64,
    /// When it last acknowledged (monotonic).
    pub ack_time: Duration,
    /// When it attached (monotonic).
    pub attached_at: Duration,
    /// Whether stream bytes are appended to `output` (from the snapshot on).
    pub streaming: bool,
    /// Stream bytes not yet written to it (Redis's reply list: what the
    /// output-buffer limits measure).
    pub output: BytesMut,
    /// Since when (monotonic) `output` has been over the soft limit.
    pub soft_limit_since: Option<Duration>,
    /// Woken when `output` grows.
    pub wakeup: Arc<Notify>,
    /// Closes its connection.
    pub kill: Arc<KillSwitch>,
    /// It waits for the next diskless snapshot (Redis's
    /// `WAIT_BGSAVE_START` with a socket target in view).
    pub awaits_socket_rdb: bool,
    /// The diskless snapshot it was given, once the transfer started.
    pub socket_rdb: Option<Arc<diskless::SharedRdb>>,
    /// Online after a diskless transfer, but its stream starts only at its
    /// first `REPLCONF ACK` (Redis's `repl_start_cmd_stream_on_ack`).
    pub stream_on_ack: bool,
}

impl ReplicaLink {
    /// `ip:port` as Redis names a replica in logs.
    pub fn name(&self) -> String {
        replica_name(&self.ip, self.listening_port)
    }
}

/// A replica as Redis's `replicationGetSlaveName` names it in logs:
/// `ip:port`, or `ip:<unknown-replica-port>` when it never sent
/// `REPLCONF listening-port` (a raw client issuing PSYNC, `redis-cli
/// --replica` before 7.0).
pub fn replica_name(ip: &str, listening_port: u16) -> String {
    if listening_port == 0 {
        format!("{ip}:<unknown-replica-port>")
    } else {
        format!("{ip}:{listening_port}")
    }
}

/// State of this node's link to its master (ROLE names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// About to connect.
    Connect,
    /// Connecting.
    Connecting,
    /// Handshake in progress.
    Handshake,
    /// Receiving the RDB.
    Transfer,
    /// Streaming.
    Connected,
}

impl LinkState {
    /// The word ROLE uses.
    pub fn role_name(self) -> &'static str {
        match self {
            LinkState::Connect => "connect",
            LinkState::Connecting => "connecting",
            LinkState::Handshake => "handshake",
            LinkState::Transfer => "sync",
            LinkState::Connected => "connected",
        }
    }
}

/// This node's link to its master, while it is a replica.
#[derive(Debug, Clone)]
pub struct MasterLink {
    /// Master host.
    pub host: String,
    /// Master port.
    pub port: u16,
    /// Link state.
    pub state: LinkState,
    /// Bumped at every REPLICAOF so that an older link task stops.
    pub generation: u64,
    /// Last time data came from the master (monotonic): during the
    /// connect, handshake and transfer Redis's `repl_transfer_lastio`, then
    /// its master client's last interaction.
    pub last_io: Duration,
    /// Cancels the current connect, handshake or transfer (the replication
    /// cron's timeouts); a fresh one per attempt.
    pub attempt: Arc<KillSwitch>,
    /// Since when the link is down (monotonic), if it is.
    pub down_since: Option<Duration>,
    /// Since when the link is streaming (monotonic), if it is.
    pub up_since: Option<Duration>,
    /// The client id of the master connection while linked.
    pub client_id: Option<u64>,
    /// Bytes of the RDB being transferred: total (-1 when unknown) and read.
    pub transfer: Option<(i64, u64)>,
    /// The last error the master replied with (for liveness reports).
    pub last_error: Option<String>,
}

/// What a replica remembers of its master to continue partially: the
/// history's id, the offset processed, and the db the stream was in (the
/// stream after that offset need not start with a SELECT).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedMaster {
    /// Replication id of the history.
    pub replid: String,
    /// Last offset processed.
    pub offset: u64,
    /// The master client's selected db at that offset.
    pub db: usize,
}

/// Counters of INFO stats about syncs served.
#[derive(Debug, Default, Clone, Copy)]
pub struct SyncStats {
    /// Full resyncs served.
    pub full: u64,
    /// Partial resyncs accepted.
    pub partial_ok: u64,
    /// Partial resyncs refused.
    pub partial_err: u64,
}

/// What a master answers to PSYNC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PsyncDecision {
    /// `+CONTINUE`: send the backlog from this offset.
    Continue {
        /// First offset to send.
        from: u64,
    },
    /// `+FULLRESYNC`, logging why the partial one was refused (if asked).
    Full {
        /// Redis's notice, if a partial resync had been requested.
        reason: Option<String>,
        /// Redis's warning about an offset past the end of the history.
        warning: Option<String>,
    },
}

/// Replication state of a node.
#[derive(Debug)]
pub struct ReplState {
    /// Current replication id.
    pub replid: String,
    /// Previous id, valid up to `second_repl_offset`.
    pub replid2: String,
    /// Last offset (+1) valid for `replid2`, -1 when none.
    pub second_repl_offset: i64,
    /// `master_repl_offset`: bytes ever fed to the stream.
    pub offset: u64,
    /// The db the outgoing stream is in; `None` forces a SELECT.
    pub stream_db: Option<usize>,
    /// The backlog, once created.
    pub backlog: Option<Backlog>,
    /// Attached replicas by client id.
    pub replicas: BTreeMap<u64, ReplicaLink>,
    /// Link to our master, when we are a replica.
    pub master: Option<MasterLink>,
    /// The history to PSYNC with when reconnecting.
    pub cached_master: Option<CachedMaster>,
    /// Syncs served.
    pub sync_stats: SyncStats,
    /// When the last replica left (monotonic), for `repl-backlog-ttl`.
    pub no_replicas_since: Option<Duration>,
    /// Bumped at every REPLICAOF, so link tasks can tell they are stale.
    pub generation: u64,
    /// Whether [`inner_boundaries`](Self::inner_boundaries) are recorded
    /// (the simulation checker's probe is attached).
    pub record_boundaries: bool,
    /// Offsets just fed that end a SELECT inside a command's bytes: a
    /// replica may stop there, holding the data of the previous boundary.
    pub inner_boundaries: Vec<u64>,
    /// The diskless transfer in progress (Redis's RDB child with a socket
    /// target), if any.
    pub socket_transfer: Option<diskless::SocketTransfer>,
    /// This history began with a legacy `SYNC`, which Redis counts from
    /// offset -1 rather than 0: offsets shown and acknowledged are one
    /// lower than [`offset`](Self::offset).
    pub counts_from_minus_one: bool,
    /// A coordinated failover of this master (FAILOVER), while it runs.
    pub failover: Option<failover::Failover>,
    /// Bytes of the master's stream read but not applied yet (held by a
    /// client pause, or an unfinished command): INFO
    /// `slave_read_repl_offset` counts them.
    pub unapplied_stream: u64,
}

impl ReplState {
    /// A fresh master's state with a new id.
    pub fn new(replid: String) -> Self {
        ReplState {
            replid,
            replid2: NULL_REPLID.to_string(),
            second_repl_offset: -1,
            offset: 0,
            stream_db: None,
            backlog: None,
            replicas: BTreeMap::new(),
            master: None,
            cached_master: None,
            sync_stats: SyncStats::default(),
            no_replicas_since: None,
            generation: 0,
            record_boundaries: false,
            inner_boundaries: Vec::new(),
            socket_transfer: None,
            counts_from_minus_one: false,
            failover: None,
            unapplied_stream: 0,
        }
    }

    /// An offset of this history as Redis shows and acknowledges it.
    pub fn shown(&self, offset: u64) -> i64 {
        offset as i64 - i64::from(self.counts_from_minus_one)
    }

    /// True when writes must be recorded (a backlog exists).
    pub fn feeding(&self) -> bool {
        self.backlog.is_some()
    }

    /// Appends one command executed in `db` as a master writes it: with a
    /// SELECT first when the stream is in another db.
    pub fn feed_command(&mut self, db: usize, argv: &OwnedArgv) {
        if !self.feeding() {
            return;
        }
        let mut bytes = Vec::new();
        if self.stream_db != Some(db) {
            encode_command(
                &mut bytes,
                &[b"SELECT".as_slice(), db.to_string().as_bytes()],
            );
            self.stream_db = Some(db);
            if self.record_boundaries {
                self.feed_bytes(&bytes);
                self.inner_boundaries.push(self.offset);
                bytes.clear();
            }
        }
        let args: Vec<&[u8]> = argv.argv().iter().collect();
        encode_command(&mut bytes, &args);
        self.feed_bytes(&bytes);
    }

    /// Appends raw stream bytes: to the backlog, to every streaming
    /// replica's output, and to the offset. A replica forwards its master's
    /// bytes through here unchanged.
    pub fn feed_bytes(&mut self, bytes: &[u8]) {
        let Some(backlog) = &mut self.backlog else {
            return;
        };
        backlog.push(bytes);
        self.offset += bytes.len() as u64;
        for replica in self.replicas.values_mut() {
            if replica.streaming {
                replica.output.extend_from_slice(bytes);
                replica.wakeup.notify_one();
            }
        }
    }

    /// Creates the backlog if there is none. A master with no history takes
    /// a new replication id at that moment, as Redis does when its first
    /// replica attaches.
    pub fn ensure_backlog(
        &mut self,
        size: usize,
        new_id: impl FnOnce() -> String,
        log: impl FnOnce(&str),
    ) {
        if self.backlog.is_some() {
            return;
        }
        if self.master.is_none() {
            self.replid = new_id();
            self.replid2 = NULL_REPLID.to_string();
            self.second_repl_offset = -1;
            log(&format!(
                "Replication backlog created, my new replication IDs are '{}' and '{}'",
                self.replid, self.replid2
            ));
        }
        self.backlog = Some(Backlog::new(size, self.offset + 1));
    }

    /// `shiftReplicationId`: the current id becomes the secondary one, valid
    /// up to the current offset, and `new_id` becomes current.
    pub fn shift_replid(&mut self, new_id: String) -> String {
        self.replid2 = std::mem::replace(&mut self.replid, new_id);
        self.second_repl_offset = self.offset as i64 + 1;
        format!(
            "Setting secondary replication ID to {}, valid up to offset: {}. New replication ID is {}",
            self.replid2, self.second_repl_offset, self.replid
        )
    }

    /// Redis's `masterTryPartialResynchronization` decision for a replica
    /// named `replica` asking for (`replid`, `offset`).
    pub fn decide_psync(&self, replica: &str, replid: &str, offset: i64) -> PsyncDecision {
        self.decide_psync_planted(replica, replid, offset, &PlantedBugs::default())
    }

    /// [`ReplState::decide_psync`] with the planted bugs that bend it (tests
    /// of the checker only).
    pub fn decide_psync_planted(
        &self,
        replica: &str,
        replid: &str,
        offset: i64,
        planted: &PlantedBugs,
    ) -> PsyncDecision {
        if replid == "?" {
            return PsyncDecision::Full {
                reason: Some(format!("Full resync requested by replica {replica}")),
                warning: None,
            };
        }
        let same_history = replid.eq_ignore_ascii_case(&self.replid)
            || (replid.eq_ignore_ascii_case(&self.replid2)
                && (offset <= self.second_repl_offset || planted.psync_replid2_past_fork));
        if !same_history {
            let reason = if !replid.eq_ignore_ascii_case(&self.replid)
                && !replid.eq_ignore_ascii_case(&self.replid2)
            {
                format!(
                    "Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '{}', my replication IDs are '{}' and '{}')",
                    replid, self.replid, self.replid2
                )
            } else {
                format!(
                    "Partial resynchronization not accepted: Requested offset for second ID was {}, but I can reply up to {}",
                    offset, self.second_repl_offset
                )
            };
            return PsyncDecision::Full {
                reason: Some(reason),
                warning: None,
            };
        }
        let in_backlog = self.backlog.as_ref().is_some_and(|b| {
            let end = (b.first_offset() + b.histlen()) as i64;
            let end = end + i64::from(planted.psync_past_backlog_end);
            offset >= b.first_offset() as i64 && offset <= end
        });
        if !in_backlog {
            let beyond = offset > self.offset as i64;
            return PsyncDecision::Full {
                reason: Some(format!(
                    "Unable to partial resync with replica {replica} for lack of backlog (Replica request was: {offset})."
                )),
                warning: beyond.then(|| format!(
                    "Warning: replica {replica} tried to PSYNC with an offset that is greater than the master replication offset."
                )),
            };
        }
        PsyncDecision::Continue {
            from: offset as u64,
        }
    }

    /// This node's own history as a cached master (when it turns into a
    /// replica, or restarts as one), with the db its stream is in.
    pub fn cache_myself(&mut self, db: usize) {
        self.cached_master = Some(CachedMaster {
            replid: self.replid.clone(),
            offset: self.offset,
            db,
        });
    }

    /// Replicas online with an ACK no older than `max_lag` (the
    /// `min-replicas-to-write` count).
    pub fn good_replicas(&self, now: Duration, max_lag: Duration) -> usize {
        self.replicas
            .values()
            .filter(|r| {
                r.state == ReplicaState::Online && now.saturating_sub(r.ack_time) <= max_lag
            })
            .count()
    }

    /// Replicas whose ACKed offset reached `offset` (WAIT).
    pub fn replicas_acked(&self, offset: u64) -> usize {
        self.replicas
            .values()
            .filter(|r| r.state == ReplicaState::Online && r.ack_offset >= offset)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state_with_backlog(size: usize, bytes: usize) -> ReplState {
        let mut state = ReplState::new("a".repeat(40));
        state.ensure_backlog(size, || "b".repeat(40), |_| {});
        state.feed_bytes(&vec![b'x'; bytes]);
        state
    }

    #[test]
    fn first_backlog_gives_a_master_a_new_id() {
        let state = state_with_backlog(16 * 1024, 0);
        assert_eq!(state.replid, "b".repeat(40));
        assert_eq!(state.backlog.as_ref().unwrap().first_offset(), 1);
    }

    #[test]
    fn partial_resync_needs_the_same_history_and_the_bytes() {
        let state = state_with_backlog(16 * 1024, 100);
        let id = "b".repeat(40);
        assert_eq!(
            state.decide_psync("r", &id, 1),
            PsyncDecision::Continue { from: 1 }
        );
        // An offset exactly at the end of the backlog is valid: 0 bytes to send.
        assert_eq!(
            state.decide_psync("r", &id, 101),
            PsyncDecision::Continue { from: 101 }
        );
        assert!(
            matches!(state.decide_psync("r", &id, 102), PsyncDecision::Full { reason: Some(r), warning: Some(w) } if r.contains("lack of backlog") && w.contains("greater than the master replication offset"))
        );
        assert!(
            matches!(state.decide_psync("r", &"c".repeat(40), 1), PsyncDecision::Full { reason: Some(r), warning: None } if r.contains("Replication ID mismatch"))
        );
        assert!(
            matches!(state.decide_psync("r", "?", -1), PsyncDecision::Full { reason: Some(r), .. } if r.contains("Full resync requested"))
        );
    }

    #[test]
    fn the_planted_backlog_off_by_one_accepts_one_byte_past_the_end() {
        // The switch explore's measurements use: it must bend exactly the
        // boundary the test above pins.
        let state = state_with_backlog(16 * 1024, 100);
        let planted = PlantedBugs {
            psync_past_backlog_end: true,
            ..PlantedBugs::default()
        };
        assert_eq!(
            state.decide_psync_planted("r", &"b".repeat(40), 102, &planted),
            PsyncDecision::Continue { from: 102 }
        );
    }

    #[test]
    fn backlog_overflow_forces_full_resync() {
        let state = state_with_backlog(16 * 1024, 20_000);
        let backlog = state.backlog.as_ref().unwrap();
        assert_eq!(backlog.histlen(), 16 * 1024);
        assert_eq!(backlog.first_offset(), 20_001 - 16 * 1024);
        let id = state.replid.clone();
        // Behind the backlog: a full resync, without the warning about an
        // offset ahead of the master.
        assert!(matches!(
            state.decide_psync("r", &id, 100),
            PsyncDecision::Full { warning: None, .. }
        ));
        assert_eq!(
            state.decide_psync("r", &id, backlog.first_offset() as i64),
            PsyncDecision::Continue {
                from: backlog.first_offset()
            }
        );
    }

    #[test]
    fn shifted_id_serves_partial_resync_up_to_the_switch_offset() {
        let mut state = state_with_backlog(16 * 1024, 50);
        let old = state.replid.clone();
        state.shift_replid("c".repeat(40));
        assert_eq!(state.second_repl_offset, 51);
        assert_eq!(
            state.decide_psync("r", &old, 51),
            PsyncDecision::Continue { from: 51 }
        );
        state.feed_bytes(b"more");
        assert!(matches!(
            state.decide_psync("r", &old, 55),
            PsyncDecision::Full { reason: Some(r), .. } if r.contains("Requested offset for second ID was 55, but I can reply up to 51")
        ));
    }
}
