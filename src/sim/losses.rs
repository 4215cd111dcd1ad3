//! The account of acknowledged writes a run lost, and why.
//!
//! Redis replicates asynchronously, so a failover can lose writes it
//! acknowledged: Redis's design allows that, and a testbed has to show
//! which, how many and why rather than call each one a bug. Every string
//! write a workload made is judged once the run converged:
//!
//! - it is *lost* when the key's final value comes from a write that had
//!   completed before it was sent (or the key is gone with no DEL, EXPIRE
//!   or unanswered write to explain it);
//! - a lost write is then placed in the run's history (the [`Ledger`]):
//!   where its node stood when it replied, and whether the final master's
//!   history still contains that point. If it does, nothing Redis allows
//!   explains the loss and it is a safety violation (unless the scenario
//!   itself wrote or flushed keys). If not, the fork that cut it says why:
//!   [`LossCause`].
//!
//! Split brains come out of the same walk: an old master acknowledging
//! writes after another node took over its history, until it rejoined.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use super::history::Ledger;
use super::workload::StringWrite;

/// Why an acknowledged write was lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LossCause {
    /// It had not reached the replica promoted in its master's place, and
    /// no other replica had it either: asynchronous replication's window.
    InFlight,
    /// A replica that did not have it was promoted while another replica
    /// did.
    LaggingReplicaPromoted,
    /// Accepted by a master while another node also acted as master of its
    /// history (the minority side of a partition), and discarded when the
    /// two histories met.
    SplitBrain,
    /// A master with no persistence restarted empty, and its replicas
    /// synchronised the empty dataset.
    Wiped,
    /// A master crashed and came back from an RDB saved before the write.
    Crash,
    /// The final history has it, yet a write the run does not track (a
    /// scenario command, a flush) replaced it.
    Replaced,
    /// Nothing Redis allows explains it: a safety violation.
    Unexplained,
}

impl LossCause {
    /// Every cause, in report order.
    pub const ALL: [LossCause; 7] = [
        LossCause::InFlight,
        LossCause::LaggingReplicaPromoted,
        LossCause::SplitBrain,
        LossCause::Wiped,
        LossCause::Crash,
        LossCause::Replaced,
        LossCause::Unexplained,
    ];

    /// A short name for tables and JSON.
    pub fn name(self) -> &'static str {
        match self {
            LossCause::InFlight => "in_flight",
            LossCause::LaggingReplicaPromoted => "lagging_replica_promoted",
            LossCause::SplitBrain => "split_brain",
            LossCause::Wiped => "wiped",
            LossCause::Crash => "crash",
            LossCause::Replaced => "replaced",
            LossCause::Unexplained => "unexplained",
        }
    }
}

impl fmt::Display for LossCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LossCause::InFlight => "in flight to the promoted replica",
            LossCause::LaggingReplicaPromoted => "a lagging replica was promoted",
            LossCause::SplitBrain => "split brain",
            LossCause::Wiped => "wiped by an empty restart",
            LossCause::Crash => "lost in a crash",
            LossCause::Replaced => "replaced by an untracked write",
            LossCause::Unexplained => "unexplained (a violation)",
        })
    }
}

/// One acknowledged write the run lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LostWrite {
    /// Db of the key.
    pub db: u8,
    /// The key.
    pub key: String,
    /// The value a SET wrote (`None` for a DEL).
    pub value: Option<String>,
    /// The node that acknowledged it.
    pub node: String,
    /// When its reply arrived.
    pub acked_at: Duration,
    /// The node's replication id and offset when it replied.
    pub at: (String, u64),
    /// Replicas a WAIT right after it said had it.
    pub waited: Option<i64>,
    /// The replicas that held it when that WAIT returned and never went
    /// down afterwards (name order): a loss of a write confirmed on a
    /// replica that then survived.
    pub confirmed_on_survivors: Vec<String>,
    /// Why it was lost.
    pub cause: LossCause,
    /// The fork that lost it, in words.
    pub why: String,
}

impl LostWrite {
    /// The write as redis-cli would send it, then why it was lost.
    pub fn describe(&self) -> String {
        let command = match &self.value {
            Some(value) => format!("SET {} {value:?}", self.key),
            None => format!("DEL {}", self.key),
        };
        let db = if self.db == 0 {
            String::new()
        } else {
            format!(" (db {})", self.db)
        };
        let waited = match self.waited {
            Some(n) if self.confirmed_on_survivors.is_empty() => {
                format!(", WAIT said {n} replicas had it")
            }
            Some(n) => format!(
                ", WAIT said {n} replicas had it; {} held it then and stayed up",
                self.confirmed_on_survivors.join(", ")
            ),
            None => String::new(),
        };
        format!(
            "{command}{db} acknowledged by {} at {} (offset {}{waited}): {}",
            self.node,
            super::runner::stamp(self.acked_at),
            self.at.1,
            self.why
        )
    }
}

/// A time when two nodes acted as master of one history and the run lost
/// writes for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitBrain {
    /// The node whose acknowledged writes were lost.
    pub lost_on: String,
    /// The node whose history won.
    pub won: String,
    /// When the second master appeared.
    pub from: Duration,
    /// The last lost write's acknowledgement.
    pub to: Duration,
    /// Acknowledged writes lost in it.
    pub writes: u64,
}

impl SplitBrain {
    /// How long the losing master kept acknowledging writes.
    pub fn duration(&self) -> Duration {
        self.to.saturating_sub(self.from)
    }
}

/// What a run's failovers (and crashes) lost of what was acknowledged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LossReport {
    /// Acknowledged string writes judged.
    pub acknowledged: u64,
    /// Of those, writes a WAIT confirmed on at least one replica.
    pub waited: u64,
    /// Every acknowledged write lost, in the order they were made.
    pub lost: Vec<LostWrite>,
    /// The split brains that lost writes.
    pub split_brains: Vec<SplitBrain>,
}

impl LossReport {
    /// Lost writes that a WAIT had confirmed on at least one replica.
    pub fn lost_waited(&self) -> u64 {
        self.lost
            .iter()
            .filter(|w| w.waited.is_some_and(|n| n > 0))
            .count() as u64
    }

    /// Lost writes that a WAIT had confirmed, held when it returned by a
    /// replica that never went down afterwards.
    pub fn lost_confirmed_on_survivors(&self) -> u64 {
        self.lost
            .iter()
            .filter(|w| !w.confirmed_on_survivors.is_empty())
            .count() as u64
    }

    /// Lost writes of one cause.
    pub fn count(&self, cause: LossCause) -> u64 {
        self.lost.iter().filter(|w| w.cause == cause).count() as u64
    }

    /// The longest split brain (zero when none lost anything).
    pub fn longest_split_brain(&self) -> Duration {
        self.split_brains
            .iter()
            .map(SplitBrain::duration)
            .max()
            .unwrap_or_default()
    }

    /// One line: totals, the share of acknowledged writes, and the causes.
    pub fn summary(&self) -> String {
        let percent = self.lost.len() as f64 * 100.0 / self.acknowledged.max(1) as f64;
        let causes: Vec<String> = LossCause::ALL
            .iter()
            .filter_map(|&cause| {
                let n = self.count(cause);
                (n > 0).then(|| format!("{n} {cause}"))
            })
            .collect();
        let waited = match self.lost_waited() {
            0 => "0 confirmed by WAIT".to_string(),
            n => format!(
                "{n} confirmed by WAIT, {} of them on a replica that stayed up",
                self.lost_confirmed_on_survivors()
            ),
        };
        format!(
            "lost {} of {} acknowledged writes ({percent:.1}%; {waited}): {}",
            self.lost.len(),
            self.acknowledged,
            causes.join(", ")
        )
    }
}

/// The histories a point's data descends from, newest first: each history
/// with the last offset of it the data holds.
fn ancestry(ledger: &Ledger, replid: &str, offset: u64) -> Vec<(String, u64)> {
    let mut chain = vec![(replid.to_string(), offset)];
    let mut id = replid.to_string();
    let mut up_to = offset;
    // Every history appears at most once: the walk ends.
    while let Some((parent, last)) = ledger.history(&id).and_then(|h| h.continues) {
        if chain.iter().any(|(known, _)| known == parent) {
            break;
        }
        up_to = up_to.min(last);
        chain.push((parent.to_string(), up_to));
        id = parent.to_string();
    }
    chain
}

/// Whether `chain` holds the point (`replid`, `offset`).
fn holds(chain: &[(String, u64)], replid: &str, offset: u64) -> bool {
    chain
        .iter()
        .any(|(id, up_to)| id == replid && offset <= *up_to)
}

/// A coordinated failover (Redis 7.0's FAILOVER) that handed a master's
/// role to its target. Without FORCE it waits, writes paused, until the
/// target has every write: losing one across it breaks Redis's promise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoordinatedFailover {
    /// The master that was asked to fail over.
    pub old: String,
    /// The replica that took over (empty until it did).
    pub target: String,
    /// When the FAILOVER was accepted.
    pub from: Duration,
    /// FORCE: after its timeout it promotes the target even if behind.
    pub force: bool,
}

/// The run's final place: the top master's history and offset.
pub struct FinalPlace<'a> {
    /// The top master's replication id.
    pub replid: &'a str,
    /// Its offset.
    pub offset: u64,
    /// Its name.
    pub node: &'a str,
    /// The coordinated failovers that handed a master role over.
    pub failovers: &'a [CoordinatedFailover],
}

/// What [`account`] found: the report, and the losses nothing Redis
/// allows explains, as violations.
pub struct Account {
    /// The report (unexplained losses included).
    pub report: LossReport,
    /// One violation per unexplained loss.
    pub violations: Vec<String>,
}

/// Judges every workload string write against the final keyspace
/// (`final_value`) and the history. `untracked_writes`: the scenario
/// itself writes or flushes keys, so a write the final history contains
/// may be gone for that reason.
pub fn account(
    writes: &[StringWrite],
    final_value: impl Fn(u8, &str) -> Option<Vec<u8>>,
    place: &FinalPlace<'_>,
    ledger: &Ledger,
    untracked_writes: bool,
) -> Account {
    let final_chain = ancestry(ledger, place.replid, place.offset);
    let mut report = LossReport::default();
    let mut by_key: BTreeMap<(u8, &str), Vec<usize>> = BTreeMap::new();
    for (index, write) in writes.iter().enumerate() {
        by_key
            .entry((write.db, write.key.as_str()))
            .or_default()
            .push(index);
        if write.acked {
            report.acknowledged += 1;
            if write.waited.is_some_and(|n| n > 0) {
                report.waited += 1;
            }
        }
    }
    let mut lost: Vec<(usize, LostWrite, Option<ForkKey>)> = Vec::new();
    for ((db, key), indexes) in by_key {
        let actual = final_value(db, key);
        for &index in &indexes {
            let write = &writes[index];
            if !write.acked || explained_by_a_later_write(writes, &indexes, write, &actual) {
                continue;
            }
            if explained_by_an_eviction(ledger, write, &actual) {
                continue;
            }
            let acked_at = write.replied_at.unwrap_or(write.sent_at);
            let Some((replid, offset, judged)) =
                judge_where_it_ran(ledger, &final_chain, place, write, acked_at)
            else {
                let why = format!("{} never reported a position", write.node);
                let lost_write = lost_write(write, acked_at, "?", 0, LossCause::Unexplained, why);
                lost.push((index, lost_write, None));
                continue;
            };
            let (cause, why, fork) = match judged {
                Judged::Kept if untracked_writes => (
                    LossCause::Replaced,
                    format!(
                        "{}'s history still has it: a write of the scenario replaced it",
                        place.node
                    ),
                    None,
                ),
                Judged::Kept => (
                    LossCause::Unexplained,
                    format!(
                        "{}'s history still has it, yet db {db} GET {key} -> {}",
                        place.node,
                        actual.as_deref().map_or("(nil)".to_string(), |v| format!(
                            "{:?}",
                            String::from_utf8_lossy(v)
                        ))
                    ),
                    None,
                ),
                Judged::Unknown(why) => (LossCause::Unexplained, why, None),
                Judged::Lost { cause, why, fork } => (cause, why, fork),
            };
            let mut lost_write = lost_write(write, acked_at, replid, offset, cause, why);
            lost_write.confirmed_on_survivors =
                confirmed_on_survivors(ledger, write, replid, offset);
            lost.push((index, lost_write, fork));
        }
    }
    lost.sort_by_key(|(index, _, _)| *index);
    let mut brains: BTreeMap<ForkKey, SplitBrain> = BTreeMap::new();
    for (_, write, fork) in &lost {
        if let (LossCause::SplitBrain, Some(fork)) = (write.cause, fork) {
            let brain = brains.entry(fork.clone()).or_insert_with(|| SplitBrain {
                lost_on: fork.lost_on.clone(),
                won: fork.won.clone(),
                from: fork.from,
                to: write.acked_at,
                writes: 0,
            });
            brain.to = brain.to.max(write.acked_at);
            brain.writes += 1;
        }
    }
    report.lost = lost.into_iter().map(|(_, write, _)| write).collect();
    report.split_brains = brains.into_values().collect();
    let violations = report
        .lost
        .iter()
        .filter(|w| w.cause == LossCause::Unexplained)
        .map(|w| format!("acknowledged write lost: {}", w.describe()))
        .collect();
    Account { report, violations }
}

fn lost_write(
    write: &StringWrite,
    acked_at: Duration,
    replid: &str,
    offset: u64,
    cause: LossCause,
    why: String,
) -> LostWrite {
    LostWrite {
        db: write.db,
        key: write.key.clone(),
        value: write.value.clone(),
        node: write.node.clone(),
        acked_at,
        at: (replid.to_string(), offset),
        waited: write.waited,
        confirmed_on_survivors: Vec::new(),
        cause,
        why,
    }
}

/// The replicas that held `write` (at `offset` of history `replid`) when
/// the WAIT after it returned a count, and never went down afterwards.
/// What a replica held comes from the positions it reported at every
/// command boundary, so one that had the data then is never missed.
fn confirmed_on_survivors(
    ledger: &Ledger,
    write: &StringWrite,
    replid: &str,
    offset: u64,
) -> Vec<String> {
    let (Some(waited), Some(returned_at)) = (write.waited, write.replied_at) else {
        return Vec::new();
    };
    if waited <= 0 {
        return Vec::new();
    }
    let timelines = ledger.timelines();
    timelines
        .nodes()
        .filter(|node| *node != write.node)
        .filter(|node| {
            timelines
                .position_at(node, returned_at)
                .is_some_and(|(id, at, replica)| replica && id == replid && at >= offset)
        })
        .filter(|node| !timelines.down_after(node, returned_at))
        .map(str::to_string)
        .collect()
}

/// Whether the key's final value (`actual`) may come from `write` itself
/// or from a write of the key (`indexes`) not over before `write` was sent:
/// then `write` was not lost. Unanswered writes may have happened; a DEL
/// or EXPIRE not over before it explains the key being gone.
fn explained_by_a_later_write(
    writes: &[StringWrite],
    indexes: &[usize],
    write: &StringWrite,
    actual: &Option<Vec<u8>>,
) -> bool {
    indexes.iter().any(|&other| {
        let other = &writes[other];
        let candidate =
            std::ptr::eq(other, write) || other.replied_at.is_none_or(|done| done > write.sent_at);
        candidate
            && match (&other.value, actual) {
                (Some(v), Some(actual)) => v.as_bytes() == actual.as_slice(),
                (None, None) => true,
                _ => false,
            }
    })
}

/// Whether `write`'s key is gone because a node evicted it for
/// `maxmemory` after the write was sent.
fn explained_by_an_eviction(
    ledger: &Ledger,
    write: &StringWrite,
    actual: &Option<Vec<u8>>,
) -> bool {
    actual.is_none() && ledger.evicted_since(write.db, &write.key, write.sent_at)
}

/// Identifies one split brain: who lost, who won, since when.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct ForkKey {
    from: Duration,
    lost_on: String,
    won: String,
}

/// A point the final history holds: kept, unless its master had no
/// backlog then (every write stood at that one offset) and the history
/// went on from it through a restart, whose RDB may predate the write.
fn kept_or_restored(
    ledger: &Ledger,
    final_chain: &[(String, u64)],
    replid: &str,
    offset: u64,
) -> Judged {
    let open = ledger
        .history(replid)
        .is_some_and(|v| v.open_at == Some(offset));
    let index = final_chain.iter().position(|(id, _)| id == replid);
    let next = index
        .and_then(|i| i.checked_sub(1))
        .and_then(|i| ledger.history(&final_chain[i].0));
    match next {
        Some(child) if open && child.after_restart => Judged::Lost {
            cause: LossCause::Crash,
            why: format!(
                "{} crashed and restarted at {} from an RDB saved before the write (it had no replicas, so no offset tells them apart)",
                child.origin,
                super::runner::stamp(child.created_at)
            ),
            fork: None,
        },
        _ => Judged::Kept,
    }
}

/// Where a lost write stands in the history.
enum Judged {
    /// The final history holds its point.
    Kept,
    /// A fork cut it.
    Lost {
        cause: LossCause,
        why: String,
        fork: Option<ForkKey>,
    },
    /// No fork the ledger knows explains it.
    Unknown(String),
}

/// Judges `write` where its node stood when it ran. That is its place at
/// the reply unless the node's history changed while the write was in
/// flight: a SET pipelined with a WAIT replies only after the WAIT, and a
/// REPLICAOF in between moves the node to another history, where the SET
/// never was. Then every place the node stood at between the send and the
/// reply is a candidate, and the first that explains a loss (a fork cut
/// it) names it; otherwise the place at the reply decides. `None` when
/// the node never reported a position.
fn judge_where_it_ran<'a>(
    ledger: &'a Ledger,
    final_chain: &[(String, u64)],
    place: &FinalPlace<'_>,
    write: &StringWrite,
    acked_at: Duration,
) -> Option<(&'a str, u64, Judged)> {
    let timelines = ledger.timelines();
    let (replid, offset, _) = timelines.last_position(&write.node, acked_at)?;
    let at_reply = judge(ledger, final_chain, place, write, replid, offset);
    if matches!(at_reply, Judged::Lost { .. }) {
        return Some((replid, offset, at_reply));
    }
    // The other places can only explain the loss: one the ledger cannot
    // place is no more a violation than the place at the reply says.
    let candidates = timelines.positions_between(&write.node, write.sent_at, acked_at);
    for (other_id, other_offset) in candidates {
        if other_id == replid {
            continue;
        }
        let judged = judge(ledger, final_chain, place, write, other_id, other_offset);
        if matches!(judged, Judged::Lost { .. }) {
            return Some((other_id, other_offset, judged));
        }
    }
    Some((replid, offset, at_reply))
}

fn judge(
    ledger: &Ledger,
    final_chain: &[(String, u64)],
    place: &FinalPlace<'_>,
    write: &StringWrite,
    replid: &str,
    offset: u64,
) -> Judged {
    if holds(final_chain, replid, offset) {
        return kept_or_restored(ledger, final_chain, replid, offset);
    }
    let own_chain = ancestry(ledger, replid, offset);
    // The newest history both descend from.
    let common = own_chain.iter().enumerate().find_map(|(i, (id, at))| {
        final_chain
            .iter()
            .position(|(other, _)| other == id)
            .map(|j| (i, j, *at))
    });
    let Some((own_index, final_index, own_at)) = common else {
        // Nothing in common: the final history started from scratch.
        let root = &final_chain[final_chain.len() - 1].0;
        return match ledger.history(root) {
            Some(view) if view.empty_restart && view.created_at >= write.sent_at => Judged::Lost {
                cause: LossCause::Wiped,
                why: format!(
                    "{} restarted at {} with nothing persisted, and the history went on from the empty dataset",
                    view.origin,
                    super::runner::stamp(view.created_at)
                ),
                fork: None,
            },
            Some(view) if view.after_restart && view.created_at >= write.sent_at => Judged::Lost {
                cause: LossCause::Crash,
                why: format!(
                    "{} restarted at {} from data older than the write",
                    view.origin,
                    super::runner::stamp(view.created_at)
                ),
                fork: None,
            },
            // Two unrelated histories (a node that restarted as a master
            // while another was one, or a master re-pointed to a node that
            // never replicated from it): the write's was discarded.
            _ => {
                let own_root = ledger.history(&own_chain[own_chain.len() - 1].0);
                let final_root = ledger.history(root);
                let lost_on = own_root.map_or(write.node.as_str(), |v| v.origin);
                let won = place.node;
                let (from, why) = match own_root {
                    Some(own) if own.after_restart => (
                        own.created_at,
                        format!(
                            "{lost_on} restarted at {} as the master of a new history while {won}'s went on; {won}'s replaced it",
                            super::runner::stamp(own.created_at)
                        ),
                    ),
                    _ => {
                        let from = own_root
                            .iter()
                            .chain(&final_root)
                            .map(|v| v.created_at)
                            .max()
                            .unwrap_or_default();
                        let why = format!(
                            "{lost_on} was the master of a history unrelated to {won}'s; {won}'s replaced it"
                        );
                        (from, why)
                    }
                };
                Judged::Lost {
                    cause: LossCause::SplitBrain,
                    why,
                    fork: Some(ForkKey {
                        from,
                        lost_on: write.node.clone(),
                        won: won.to_string(),
                    }),
                }
            }
        };
    };
    let (common_id, final_at) = &final_chain[final_index];
    // The branch each took off the common history (none: it stayed on it).
    let own_branch = own_index
        .checked_sub(1)
        .and_then(|i| ledger.history(&own_chain[i].0));
    let final_branch = final_index
        .checked_sub(1)
        .and_then(|i| ledger.history(&final_chain[i].0));
    let common_view = ledger.history(common_id);
    let stamp = super::runner::stamp;
    if own_at <= *final_at {
        // Its own branch left the common history first, and the final one
        // went on past that point: the write's master was one of two.
        let Some(own_branch) = own_branch else {
            return Judged::Unknown("the history the final master continues holds it".into());
        };
        let won = common_view.map_or(place.node, |v| v.origin).to_string();
        return Judged::Lost {
            cause: LossCause::SplitBrain,
            why: format!(
                "{} took over {}'s history at {} while {won} kept writing it; the histories met and {}'s was discarded",
                own_branch.origin,
                won,
                stamp(own_branch.created_at),
                own_branch.origin
            ),
            fork: Some(ForkKey {
                from: own_branch.created_at,
                lost_on: write.node.clone(),
                won,
            }),
        };
    }
    // The final history left the common one before the write's point.
    let Some(branch) = final_branch else {
        return Judged::Unknown(format!(
            "{} stands at offset {final_at} of its own history, behind the write",
            place.node
        ));
    };
    if branch.after_restart {
        return Judged::Lost {
            cause: LossCause::Crash,
            why: format!(
                "{} crashed and restarted at {} from an RDB that ended at offset {final_at}",
                branch.origin,
                stamp(branch.created_at)
            ),
            fork: None,
        };
    }
    let coordinated = place.failovers.iter().find(|f| {
        !f.force && f.target == branch.origin && f.from <= branch.created_at && f.old == write.node
    });
    if let Some(failover) = coordinated {
        return Judged::Unknown(format!(
            "lost across the FAILOVER of {} to {} begun at {}, which must hand over every acknowledged write ({} was promoted at {} standing at offset {final_at})",
            failover.old,
            failover.target,
            stamp(failover.from),
            branch.origin,
            stamp(branch.created_at)
        ));
    }
    // Sent after the promotion: its master was one of two. (Sent before
    // and answered after, it may have run before: counted in flight.)
    if write.sent_at >= branch.created_at {
        return Judged::Lost {
            cause: LossCause::SplitBrain,
            why: format!(
                "{} was promoted at {}, before the write was sent to {}; discarded when {} rejoined",
                branch.origin,
                stamp(branch.created_at),
                write.node,
                write.node
            ),
            fork: Some(ForkKey {
                from: branch.created_at,
                lost_on: write.node.clone(),
                won: branch.origin.to_string(),
            }),
        };
    }
    // Acknowledged before the promotion: did another replica have it?
    let had_it: Vec<&str> = ledger
        .timelines()
        .nodes()
        .filter(|&node| node != branch.origin)
        .filter(|&node| {
            ledger
                .timelines()
                .position_at(node, branch.created_at)
                .is_some_and(|(id, at, replica)| {
                    replica && holds(&ancestry(ledger, id, at), common_id, own_at)
                })
        })
        .collect();
    if had_it.is_empty() {
        Judged::Lost {
            cause: LossCause::InFlight,
            why: format!(
                "{} was promoted at {} standing at offset {final_at}, before the write reached it, and no replica had it",
                branch.origin,
                stamp(branch.created_at)
            ),
            fork: None,
        }
    } else {
        Judged::Lost {
            cause: LossCause::LaggingReplicaPromoted,
            why: format!(
                "{} was promoted at {} standing at offset {final_at}, while {} had it",
                branch.origin,
                stamp(branch.created_at),
                had_it.join(", ")
            ),
            fork: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(value: Option<&str>, acked: bool, sent: u64, replied: Option<u64>) -> StringWrite {
        StringWrite {
            db: 0,
            key: "k".into(),
            value: value.map(str::to_string),
            acked,
            sent_at: Duration::from_millis(sent),
            replied_at: replied.map(Duration::from_millis),
            node: "m".into(),
            waited: None,
        }
    }

    /// Which of `writes` are lost if the key ends holding `actual`.
    fn lost(writes: &[StringWrite], actual: Option<&str>) -> Vec<usize> {
        let indexes: Vec<usize> = (0..writes.len()).collect();
        let actual = actual.map(|v| v.as_bytes().to_vec());
        indexes
            .iter()
            .copied()
            .filter(|&i| {
                writes[i].acked
                    && !explained_by_a_later_write(writes, &indexes, &writes[i], &actual)
            })
            .collect()
    }

    #[test]
    fn an_eviction_after_a_write_explains_its_key_gone_but_not_one_before() {
        let mut ledger = Ledger::default();
        ledger.evicted(0, b"k", Duration::from_millis(5));
        let before = write(Some("a"), true, 2, Some(3));
        assert!(explained_by_an_eviction(&ledger, &before, &None));
        // Written after the eviction: its loss is not explained.
        let after = write(Some("b"), true, 7, Some(8));
        assert!(!explained_by_an_eviction(&ledger, &after, &None));
        // A key holding another value was not evicted last.
        assert!(!explained_by_an_eviction(
            &ledger,
            &before,
            &Some(b"x".to_vec())
        ));
        // Nor is another key's loss.
        let other = StringWrite {
            key: "other".into(),
            ..write(Some("a"), true, 2, Some(3))
        };
        assert!(!explained_by_an_eviction(&ledger, &other, &None));
    }

    #[test]
    fn a_later_acknowledged_write_must_win() {
        let writes = vec![
            write(Some("a"), true, 0, Some(1)),
            write(Some("b"), true, 2, Some(3)),
        ];
        assert!(lost(&writes, Some("b")).is_empty());
        // "a" was over before "b" was sent: "b" is lost.
        assert_eq!(lost(&writes, Some("a")), [1]);
        assert_eq!(lost(&writes, None), [0, 1]);
    }

    #[test]
    fn overlapping_or_unanswered_writes_may_win() {
        // b was sent before a's reply: either may be last.
        let overlapping = vec![
            write(Some("a"), true, 0, Some(5)),
            write(Some("b"), true, 2, Some(6)),
        ];
        assert!(lost(&overlapping, Some("a")).is_empty());
        // An unanswered write may or may not have happened.
        let unanswered = vec![
            write(Some("a"), true, 0, Some(1)),
            write(Some("b"), false, 2, None),
        ];
        assert!(lost(&unanswered, Some("b")).is_empty());
        assert!(lost(&unanswered, Some("a")).is_empty());
        // An EXPIRE allows the key to be gone.
        let expired = vec![
            write(Some("a"), true, 0, Some(1)),
            write(None, false, 2, Some(3)),
        ];
        assert!(lost(&expired, None).is_empty());
    }

    #[test]
    fn a_delete_is_lost_when_an_older_value_comes_back() {
        let writes = vec![
            write(Some("a"), true, 0, Some(1)),
            write(None, true, 2, Some(3)),
        ];
        assert!(lost(&writes, None).is_empty());
        assert_eq!(lost(&writes, Some("a")), [1]);
    }
}
