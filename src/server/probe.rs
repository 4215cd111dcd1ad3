//! What the simulation checker sees of a node, and the bugs it can plant.
//!
//! A node with a [`HistoryProbe`] reports every point of its replication
//! history: each command boundary of the stream it generates (a master) or
//! applies (a replica), each history it starts (a new replication id), each
//! offset it acknowledges, each read a replica serves, each WAIT that
//! returns, each PUBLISH or SPUBLISH it runs and each dataset it loads.
//! The probe is off in real mode; reporting costs one incremental
//! fingerprint read per boundary.
//!
//! [`PlantedBugs`] are switches that put known classes of historical Redis
//! replication bugs back into the core, so that tests can prove the checker
//! catches each of them. They are all off unless a test turns one on.

use crate::keyspace::Entry;

/// Where a node stands in its replication history, with a fingerprint of
/// its whole dataset there.
#[derive(Debug, Clone, Copy)]
pub struct Position<'a> {
    /// The node replicates from a master (so its history is its master's).
    pub replica: bool,
    /// Its current replication id.
    pub replid: &'a str,
    /// Its previous id (40 `0`s when none).
    pub replid2: &'a str,
    /// Last offset + 1 valid for `replid2` (-1 when none).
    pub second_repl_offset: i64,
    /// `master_repl_offset`.
    pub offset: u64,
    /// Whether the offset moves with writes (a backlog exists). A master
    /// without one keeps its offset while its data changes.
    pub feeding: bool,
    /// The dataset's fingerprint (keys, values, expiry times, dbs).
    pub fingerprint: u64,
}

/// A read a replica served to a normal client.
#[derive(Debug, Clone, Copy)]
pub struct ReadObservation<'a> {
    /// Where the replica stood, after the command ran.
    pub at: Position<'a>,
    /// The db the client had selected.
    pub db: usize,
    /// The command and its arguments.
    pub argv: &'a [&'a [u8]],
    /// The reply bytes exactly as sent.
    pub reply: &'a [u8],
    /// The raw entry of the first key argument, as stored (expired or not).
    pub entry: Option<&'a Entry>,
    /// The node's wall clock (unix ms) when the command ran.
    pub now_ms: u64,
    /// Whether the replica's link to its master was up.
    pub link_up: bool,
    /// `replica-serve-stale-data`.
    pub serve_stale_data: bool,
}

/// A PUBLISH or SPUBLISH a node ran: sent by a client, or applied from
/// its master's stream.
#[derive(Debug, Clone, Copy)]
pub struct PublishObservation<'a> {
    /// Where the node stood once the command (and its propagation) was
    /// done: for a command of the stream, the offset right after it.
    pub at: Position<'a>,
    /// The channel (or shard channel).
    pub channel: &'a [u8],
    /// The message.
    pub message: &'a [u8],
    /// SPUBLISH (a shard channel) rather than PUBLISH.
    pub shard: bool,
    /// It came from the node's master (the replication stream), not from
    /// one of its clients.
    pub from_master: bool,
}

/// A node's replication state at the moment it logged a line: what the
/// simulation's timeline draws as the node's role and link over time.
#[derive(Debug, Clone, Copy)]
pub struct NodeView<'a> {
    /// The master it replicates from (`None` for a master).
    pub master: Option<&'a str>,
    /// The state of its link to that master.
    pub link: Option<crate::replication::LinkState>,
    /// Its current replication id.
    pub replid: &'a str,
    /// `master_repl_offset`.
    pub offset: u64,
}

/// Receives a node's history points (the simulation's checker).
pub trait HistoryProbe: Send + Sync {
    /// The node logged `message`, standing at `view` (nothing by default:
    /// only the timeline listens).
    fn logged(&self, view: NodeView<'_>, message: &str) {
        let _ = (view, message);
    }
    /// The node reached a command boundary, or started a history.
    fn position(&self, at: Position<'_>);
    /// The node, a replica, acknowledged `acked` to its master while at `at`.
    fn acknowledged(&self, at: Position<'_>, acked: u64);
    /// The node, a replica, served a read.
    fn read(&self, read: ReadObservation<'_>);
    /// WAIT returned `count` for writes up to `offset` of history `replid`.
    fn wait_returned(&self, replid: &str, offset: u64, count: i64);
    /// The node ran a PUBLISH or SPUBLISH (nothing by default).
    fn published(&self, publish: PublishObservation<'_>) {
        let _ = publish;
    }
    /// The node replaced its whole dataset by loading one (a full sync's
    /// RDB, or its own at start-up), standing at `at` afterwards: the
    /// stream bytes before `at` were never applied one command at a time
    /// (nothing by default).
    fn loaded(&self, at: Position<'_>) {
        let _ = at;
    }
    /// The node evicted `key` of db `db` for `maxmemory` (nothing by
    /// default).
    fn evicted(&self, db: usize, key: &[u8]) {
        let _ = (db, key);
    }
}

/// Known bug classes that tests plant in the core to prove the checker
/// catches them. Every switch is off by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlantedBugs {
    /// A replica deletes a logically expired key when a client reads it
    /// (redis #187/#1768 territory: replicas must never expire by
    /// themselves).
    pub replica_deletes_expired_on_read: bool,
    /// A replica acknowledges the bytes it received, applied or not, after
    /// every read (Redis's `read_reploff` where `reploff` belongs).
    pub ack_unapplied_bytes: bool,
    /// A master propagates a transaction's commands without MULTI/EXEC.
    pub multi_without_wrapper: bool,
    /// A replica that gets `+CONTINUE <new id>` keeps its old id.
    pub ignore_continue_new_id: bool,
    /// Every RDB the node writes (a full-sync snapshot, SAVE) leaves out
    /// one key.
    pub rdb_drops_a_key: bool,
    /// A master applies FLUSHALL without propagating it.
    pub flushall_not_propagated: bool,
    /// WAIT counts every online replica, acknowledged or not.
    pub wait_ignores_acks: bool,
    /// A master accepts a partial resync from one byte past the end of its
    /// backlog (an off-by-one in the backlog range check).
    pub psync_past_backlog_end: bool,
    /// A master accepts a partial resync on its previous id (`replid2`) for
    /// any offset, even beyond the point where its history forked.
    pub psync_replid2_past_fork: bool,
    /// A chained replica keeps its own replicas connected after it full
    /// syncs from its master, so they keep the history it threw away.
    pub chain_keeps_subreplicas_on_full_sync: bool,
    /// Once the backlog has wrapped (dropped its oldest bytes), a partial
    /// resync is served starting one byte too late.
    pub backlog_read_off_by_one_after_wrap: bool,
    /// A read-only replica executes writes from normal clients.
    pub replica_accepts_client_writes: bool,
    /// A master never drops a replica that stopped acknowledging
    /// (`repl-timeout` ignored on the master's side).
    pub master_ignores_repl_timeout: bool,
    /// A replica never gives up on a master that went silent
    /// (`repl-timeout` ignored on the replica's side).
    pub replica_ignores_repl_timeout: bool,
    /// An RDB save overwrites the old file in place instead of writing a
    /// temp file and renaming it: a write cut off halfway destroys the
    /// last good snapshot.
    pub rdb_saved_in_place: bool,
    /// A coordinated failover hands the master role over at once, without
    /// waiting for the target to acknowledge the whole stream.
    pub failover_before_sync: bool,
    /// A Sentinel votes again in an epoch it already voted in, for
    /// whichever Sentinel asks (Sentinel's one-vote-per-epoch rule gone).
    pub sentinel_votes_twice: bool,
    /// A replica skips every third PUBLISH or SPUBLISH of its master's
    /// stream (its offset moves on, its subscribers get nothing).
    pub replica_drops_a_publish: bool,
    /// A replica delivers every third PUBLISH or SPUBLISH of its master's
    /// stream to its subscribers twice.
    pub replica_repeats_a_publish: bool,
    /// After each partial resync, a replica skips the next five PUBLISH or
    /// SPUBLISH commands of its master's stream (the ones the backlog
    /// resends first).
    pub replica_drops_publishes_after_partial_resync: bool,
    /// A replica applies an SPUBLISH of its master's stream as a PUBLISH:
    /// the message reaches the subscribers of the global channel of that
    /// name instead of the shard channel's.
    pub replica_applies_spublish_as_publish: bool,
}

impl PlantedBugs {
    /// The bugs by name, as `--plant` takes them.
    pub const NAMES: [&'static str; 22] = [
        "replica-deletes-expired-on-read",
        "ack-unapplied-bytes",
        "multi-without-wrapper",
        "ignore-continue-new-id",
        "rdb-drops-a-key",
        "flushall-not-propagated",
        "wait-ignores-acks",
        "psync-past-backlog-end",
        "psync-replid2-past-fork",
        "chain-keeps-subreplicas-on-full-sync",
        "backlog-read-off-by-one-after-wrap",
        "replica-accepts-client-writes",
        "master-ignores-repl-timeout",
        "replica-ignores-repl-timeout",
        "rdb-saved-in-place",
        "failover-before-sync",
        "sentinel-votes-twice",
        "replica-drops-a-publish",
        "replica-repeats-a-publish",
        "replica-drops-publishes-after-partial-resync",
        "replica-applies-spublish-as-publish",
        "none",
    ];

    /// Whether any bug is planted.
    pub fn any(&self) -> bool {
        *self != PlantedBugs::default()
    }

    /// These bugs plus the one named `name` (`None` for an unknown name;
    /// `none` adds nothing).
    pub fn with(mut self, name: &str) -> Option<PlantedBugs> {
        let switch = match name {
            "replica-deletes-expired-on-read" => &mut self.replica_deletes_expired_on_read,
            "ack-unapplied-bytes" => &mut self.ack_unapplied_bytes,
            "multi-without-wrapper" => &mut self.multi_without_wrapper,
            "ignore-continue-new-id" => &mut self.ignore_continue_new_id,
            "rdb-drops-a-key" => &mut self.rdb_drops_a_key,
            "flushall-not-propagated" => &mut self.flushall_not_propagated,
            "wait-ignores-acks" => &mut self.wait_ignores_acks,
            "psync-past-backlog-end" => &mut self.psync_past_backlog_end,
            "psync-replid2-past-fork" => &mut self.psync_replid2_past_fork,
            "chain-keeps-subreplicas-on-full-sync" => {
                &mut self.chain_keeps_subreplicas_on_full_sync
            }
            "backlog-read-off-by-one-after-wrap" => &mut self.backlog_read_off_by_one_after_wrap,
            "replica-accepts-client-writes" => &mut self.replica_accepts_client_writes,
            "master-ignores-repl-timeout" => &mut self.master_ignores_repl_timeout,
            "replica-ignores-repl-timeout" => &mut self.replica_ignores_repl_timeout,
            "rdb-saved-in-place" => &mut self.rdb_saved_in_place,
            "failover-before-sync" => &mut self.failover_before_sync,
            "sentinel-votes-twice" => &mut self.sentinel_votes_twice,
            "replica-drops-a-publish" => &mut self.replica_drops_a_publish,
            "replica-repeats-a-publish" => &mut self.replica_repeats_a_publish,
            "replica-drops-publishes-after-partial-resync" => {
                &mut self.replica_drops_publishes_after_partial_resync
            }
            "replica-applies-spublish-as-publish" => &mut self.replica_applies_spublish_as_publish,
            "none" => return Some(self),
            _ => return None,
        };
        *switch = true;
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_planted_bug_has_a_name_that_switches_it_on() {
        let mut all = PlantedBugs::default();
        for name in PlantedBugs::NAMES {
            let one = PlantedBugs::default().with(name).expect("known name");
            assert_eq!(one.any(), name != "none", "{name}");
            all = all.with(name).expect("known name");
        }
        assert!(PlantedBugs::default().with("typo").is_none());
        assert_eq!(
            all,
            PlantedBugs {
                replica_deletes_expired_on_read: true,
                ack_unapplied_bytes: true,
                multi_without_wrapper: true,
                ignore_continue_new_id: true,
                rdb_drops_a_key: true,
                flushall_not_propagated: true,
                wait_ignores_acks: true,
                psync_past_backlog_end: true,
                psync_replid2_past_fork: true,
                chain_keeps_subreplicas_on_full_sync: true,
                backlog_read_off_by_one_after_wrap: true,
                replica_accepts_client_writes: true,
                master_ignores_repl_timeout: true,
                replica_ignores_repl_timeout: true,
                rdb_saved_in_place: true,
                failover_before_sync: true,
                sentinel_votes_twice: true,
                replica_drops_a_publish: true,
                replica_repeats_a_publish: true,
                replica_drops_publishes_after_partial_resync: true,
                replica_applies_spublish_as_publish: true,
            }
        );
    }
}
