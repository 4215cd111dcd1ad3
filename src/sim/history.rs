//! The canonical replication history of a run, and the safety rules judged
//! against it as nodes report.
//!
//! Every history point is keyed by (replication id, offset), as Redis keys
//! its own: an id names one history and an offset a place in it. A master
//! (a node that is not a replica) writes the points of the histories it
//! generates; every report of a replica, and of a master standing in a
//! history it did not generate, is judged against them. A history starts
//! wherever Redis starts one: a master's first point, the backlog created
//! when the first replica attaches (with a new id), a promotion (the new id
//! continues the old one up to the promotion offset, as `replid2` says), a
//! restart from an RDB (likewise), a freed backlog. A master without a
//! backlog does not move its offset when it writes, so its point at that
//! offset stays open (rewritten by every write) until it takes a new id.
//!
//! Rules judged here, each reported once per node:
//! - a replica at (id, offset) holds exactly the data its history held
//!   there, and never stands at an offset its history never reached (inside
//!   a MULTI/EXEC block, for instance);
//! - a history continued from another starts with the data the other held;
//! - a replica acknowledges only offsets it applied;
//! - a read a replica serves is served from that data, by Redis's rules
//!   (logical expiry by the master's clock, `-MASTERDOWN` when stale data
//!   must not be served);
//! - after WAIT returns n, at least n other nodes hold the data at that
//!   offset.
//!
//! It also keeps what the pub/sub rules ([`super::delivery`]) judge after
//! the run: every PUBLISH and SPUBLISH each node ran, where it stood then,
//! and when each node loaded a whole dataset or went down (the places its
//! stream was not applied one command at a time).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use crate::keyspace::{Entry, Value};
use crate::replication::NULL_REPLID;
use crate::runtime::SimClocks;
use crate::server::probe::{HistoryProbe, Position, PublishObservation, ReadObservation};

/// One history: the points of one replication id.
#[derive(Debug)]
struct Lineage {
    /// The node that generated it.
    origin: String,
    /// Its first offset.
    start: u64,
    /// The history it continues and the last offset valid there.
    parent: Option<(String, u64)>,
    /// Offset -> dataset fingerprint.
    points: BTreeMap<u64, u64>,
    /// The point still rewritten by every write (no backlog yet).
    open_at: Option<u64>,
    /// When it started (simulated time).
    created_at: std::time::Duration,
    /// Where its data came from when Redis names no parent: the node's own
    /// previous place, on the same run of the node (a master that creates
    /// its first backlog takes a new id, yet keeps its data).
    carries: Option<(String, u64)>,
    /// Started by a node back from a restart, with no data at all (no RDB
    /// loaded).
    empty_restart: bool,
}

/// What the accounting of lost writes needs to know of one history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryView<'a> {
    /// The node that generated it.
    pub origin: &'a str,
    /// When it started.
    pub created_at: std::time::Duration,
    /// The history its data continues and the last offset valid there:
    /// Redis's own parent (`replid2`) or, when Redis names none, the
    /// node's previous place on the same run.
    pub continues: Option<(&'a str, u64)>,
    /// Whether Redis names the parent (a promotion or a restart from an
    /// RDB), rather than the data merely carrying over.
    pub named_parent: bool,
    /// Started empty by a node back from a restart.
    pub empty_restart: bool,
    /// Started by a node back from a restart.
    pub after_restart: bool,
    /// The offset every write rewrote while its master had no backlog
    /// (the offset does not tell those writes apart).
    pub open_at: Option<u64>,
}

/// What the history says about one point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lookup {
    /// The data there, and whether the point is still open.
    Known { fingerprint: u64, open: bool },
    /// The history is known but never stood at that offset.
    NeverReached,
    /// No node generated this id.
    UnknownId,
}

/// The run's canonical history and the violations found against it.
#[derive(Debug, Default)]
pub struct Ledger {
    lineages: BTreeMap<String, Lineage>,
    /// Each node's last position judged equal to the history.
    verified: BTreeMap<String, (String, u64)>,
    violations: Vec<String>,
    /// (node, rule) pairs already reported.
    reported: BTreeSet<(String, &'static str)>,
    /// Reports judged, for tests that must see the rules exercised.
    judged: u64,
    /// Every node's position over time, for lag.
    timelines: super::lag::Timelines,
    /// Every node's clock skew, when the run skews any.
    clocks: Option<Arc<SimClocks>>,
    /// Correct reads that a clock skew decided.
    skewed_reads: SkewedReads,
    /// Every violation reported, with where and when it was found.
    located: Vec<LocatedViolation>,
    /// Whether the report being judged is a read a replica served.
    judging_read: bool,
    /// Nodes that went down and have not reported since.
    restarting: BTreeSet<String>,
    /// Histories started by a node just back from a restart.
    started_after_restart: BTreeSet<String>,
    /// Every PUBLISH and SPUBLISH a node ran, in the order they ran.
    publishes: Vec<PublishRun>,
    /// When each node loaded a whole dataset or went down, in time order.
    discontinuities: BTreeMap<String, Vec<std::time::Duration>>,
    /// When each (db, key) was last evicted for `maxmemory`, by any node.
    evictions: BTreeMap<(u8, Vec<u8>), std::time::Duration>,
}

/// A PUBLISH or SPUBLISH a node ran, as its probe reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishRun {
    /// The node.
    pub node: String,
    /// When (simulated time).
    pub at: std::time::Duration,
    /// The history the node stood in afterwards.
    pub replid: String,
    /// Its offset afterwards: for a PUBLISH of the stream, where its bytes
    /// end.
    pub offset: u64,
    /// Whether the node was a replica (a replica's own clients' PUBLISH
    /// stays local).
    pub replica: bool,
    /// Whether the node fed a replication stream (a master's PUBLISH then
    /// went into it).
    pub feeding: bool,
    /// The channel.
    pub channel: String,
    /// The message.
    pub message: String,
    /// SPUBLISH rather than PUBLISH.
    pub shard: bool,
    /// Applied from the node's master's stream rather than sent by a
    /// client.
    pub from_master: bool,
}

/// How many examples of each kind of skewed read a report keeps.
const SKEWED_READ_EXAMPLES: u64 = 3;

/// Reads whose answer the serving replica's clock decided against its
/// master's (allowed: Redis judges expiry by the serving node's clock).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SkewedReads {
    /// Keys a replica ahead of its master hid before the master's clock
    /// reached their expiry.
    pub hidden_early: u64,
    /// Keys a replica behind its master served after the master's clock
    /// passed their expiry.
    pub served_late: u64,
    /// The first few of each kind, described.
    pub examples: Vec<String>,
}

impl SkewedReads {
    /// How many reads a skew decided.
    pub fn count(&self) -> u64 {
        self.hidden_early + self.served_late
    }
}

/// A violation with the node, rule and simulated time it was found at
/// (for the run's timeline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocatedViolation {
    /// When it was found.
    pub at: std::time::Duration,
    /// The node whose report broke the rule.
    pub node: String,
    /// The rule's name.
    pub rule: &'static str,
    /// The violation as [`Ledger::take_violations`] returns it.
    pub text: String,
    /// Whether a read the node served broke the rule (a wrong read).
    pub read: bool,
}

/// A ledger shared by the probes of every node.
pub type SharedLedger = Arc<Mutex<Ledger>>;

/// Simulated time now (zero outside a simulation, as in unit tests).
fn now() -> std::time::Duration {
    madsim::time::TimeHandle::try_current().map_or(Default::default(), |t| t.elapsed())
}

/// [`now`] as a log stamp.
fn stamp() -> String {
    let at = now();
    format!("{}.{:03}s", at.as_secs(), at.subsec_millis())
}

fn short(id: &str) -> &str {
    &id[..id.len().min(8)]
}

impl Ledger {
    /// The violations found since the last call.
    pub fn take_violations(&mut self) -> Vec<String> {
        std::mem::take(&mut self.violations)
    }

    /// How many reports were judged against the history.
    pub fn judged(&self) -> u64 {
        self.judged
    }

    /// Every node's position over time.
    pub fn timelines(&self) -> &super::lag::Timelines {
        &self.timelines
    }

    /// Notes that `node` went down (its positions stop counting).
    pub fn node_down(&mut self, node: &str) {
        self.timelines.node_down(node, now());
        self.restarting.insert(node.to_string());
        self.discontinuities
            .entry(node.to_string())
            .or_default()
            .push(now());
    }

    /// A node ran a PUBLISH or SPUBLISH.
    pub fn published(&mut self, node: &str, publish: &PublishObservation<'_>) {
        self.publishes.push(PublishRun {
            node: node.to_string(),
            at: now(),
            replid: publish.at.replid.to_string(),
            offset: publish.at.offset,
            replica: publish.at.replica,
            feeding: publish.at.feeding,
            channel: String::from_utf8_lossy(publish.channel).into_owned(),
            message: String::from_utf8_lossy(publish.message).into_owned(),
            shard: publish.shard,
            from_master: publish.from_master,
        });
    }

    /// A node evicted a key for `maxmemory`: a deletion no client asked
    /// for, which explains the key's absence from then on.
    pub fn evicted(&mut self, db: usize, key: &[u8], at: std::time::Duration) {
        self.evictions.insert((db as u8, key.to_vec()), at);
    }

    /// Whether a node evicted `key` of db `db` at or after `since`.
    pub fn evicted_since(&self, db: u8, key: &str, since: std::time::Duration) -> bool {
        self.evictions
            .get(&(db, key.as_bytes().to_vec()))
            .is_some_and(|&at| at >= since)
    }

    /// A node replaced its dataset by loading one.
    pub fn loaded(&mut self, node: &str) {
        self.discontinuities
            .entry(node.to_string())
            .or_default()
            .push(now());
    }

    /// Every PUBLISH and SPUBLISH the nodes ran, in the order they ran.
    pub fn publishes(&self) -> &[PublishRun] {
        &self.publishes
    }

    /// When `node` loaded a whole dataset or went down, in time order.
    pub fn discontinuities(&self, node: &str) -> &[std::time::Duration] {
        self.discontinuities.get(node).map_or(&[], Vec::as_slice)
    }

    /// Whether history `replid` contains the point (`of`, `offset`): the
    /// same id, or an ancestor valid up to at least `offset`.
    pub fn history_contains(&self, replid: &str, of: &str, offset: u64) -> bool {
        self.contains(replid, of, offset)
    }

    /// History `replid`, as the accounting of lost writes sees it.
    pub fn history(&self, replid: &str) -> Option<HistoryView<'_>> {
        let lineage = self.lineages.get(replid)?;
        let continues = lineage.parent.as_ref().or(lineage.carries.as_ref());
        Some(HistoryView {
            origin: &lineage.origin,
            created_at: lineage.created_at,
            continues: continues.map(|(id, last)| (id.as_str(), *last)),
            named_parent: lineage.parent.is_some(),
            empty_restart: lineage.empty_restart,
            after_restart: self.started_after_restart.contains(replid),
            open_at: lineage.open_at,
        })
    }

    /// Every violation reported so far, located.
    pub fn located_violations(&self) -> &[LocatedViolation] {
        &self.located
    }

    fn violate(&mut self, node: &str, rule: &'static str, text: String) {
        if self.reported.insert((node.to_string(), rule)) {
            let text = format!("{text} (at {})", stamp());
            self.located.push(LocatedViolation {
                at: madsim::time::TimeHandle::try_current()
                    .map_or(Default::default(), |t| t.elapsed()),
                node: node.to_string(),
                rule,
                text: text.clone(),
                read: self.judging_read,
            });
            self.violations.push(text);
        }
    }

    fn lookup(&self, replid: &str, offset: u64) -> Lookup {
        let mut id = replid;
        for _ in 0..=self.lineages.len() {
            let Some(lineage) = self.lineages.get(id) else {
                return if id == replid {
                    Lookup::UnknownId
                } else {
                    Lookup::NeverReached
                };
            };
            if offset >= lineage.start {
                return match lineage.points.get(&offset) {
                    Some(&fingerprint) => Lookup::Known {
                        fingerprint,
                        open: lineage.open_at == Some(offset),
                    },
                    None => Lookup::NeverReached,
                };
            }
            match &lineage.parent {
                Some((parent, last)) if offset <= *last => id = parent,
                _ => return Lookup::NeverReached,
            }
        }
        Lookup::NeverReached
    }

    /// Whether history `replid` contains the point (`of`, `offset`): the
    /// same id, or an ancestor valid up to at least `offset`.
    fn contains(&self, replid: &str, of: &str, offset: u64) -> bool {
        let mut id = replid;
        let mut last = u64::MAX;
        for _ in 0..=self.lineages.len() {
            if id == of {
                return offset <= last;
            }
            match self.lineages.get(id).and_then(|l| l.parent.as_ref()) {
                Some((parent, up_to)) => {
                    last = last.min(*up_to);
                    id = parent;
                }
                None => return false,
            }
        }
        false
    }

    /// A node reports where it stands.
    pub fn position(&mut self, node: &str, at: &Position<'_>) {
        self.judged += 1;
        self.timelines
            .record(node, now(), at.replid, at.offset, at.replica);
        let back_from_restart = self.restarting.remove(node);
        let own = self.lineages.get(at.replid).map(|l| l.origin == node);
        match own {
            None if !at.replica || at.offset == 0 || self.lineages.is_empty() => {
                if back_from_restart {
                    self.started_after_restart.insert(at.replid.to_string());
                }
                self.start_lineage(node, at)
            }
            Some(true) => self.extend_own(node, at),
            _ => {
                self.judge(node, at, "stands");
            }
        }
    }

    fn start_lineage(&mut self, node: &str, at: &Position<'_>) {
        let parent = (at.replid2 != NULL_REPLID && at.second_repl_offset > 0)
            .then(|| (at.replid2.to_string(), at.second_repl_offset as u64 - 1));
        if let Some((parent_id, last)) = &parent {
            if *last == at.offset {
                if let Lookup::Known {
                    fingerprint,
                    open: false,
                } = self.lookup(parent_id, *last)
                {
                    if fingerprint != at.fingerprint {
                        self.violate(
                            node,
                            "history start",
                            format!(
                                "{node} started history {} at offset {} from {}, holding different data than {} held at that offset",
                                short(at.replid),
                                at.offset,
                                short(parent_id),
                                short(parent_id)
                            ),
                        );
                    }
                }
            }
        }
        let after_restart = self.started_after_restart.contains(at.replid);
        // A restart loses whatever was not loaded back: nothing carries.
        let carries = match &parent {
            Some(_) => None,
            None if after_restart => None,
            None => self.verified.get(node).cloned(),
        };
        self.lineages.insert(
            at.replid.to_string(),
            Lineage {
                origin: node.to_string(),
                start: at.offset,
                parent,
                points: BTreeMap::from([(at.offset, at.fingerprint)]),
                open_at: (!at.feeding).then_some(at.offset),
                created_at: now(),
                carries,
                // The fingerprint XORs every key's: 0 is no data at all.
                empty_restart: after_restart && at.fingerprint == 0,
            },
        );
        self.verified
            .insert(node.to_string(), (at.replid.to_string(), at.offset));
    }

    fn extend_own(&mut self, node: &str, at: &Position<'_>) {
        let lineage = self.lineages.get_mut(at.replid).expect("known lineage");
        let open = lineage.open_at == Some(at.offset);
        match lineage.points.get(&at.offset) {
            Some(&old) if old != at.fingerprint && !open => {
                let text = format!(
                    "{node}'s data changed at offset {} of its history {} without anything in its replication stream",
                    at.offset,
                    short(at.replid)
                );
                self.violate(node, "unpropagated change", text);
            }
            _ => {
                lineage.points.insert(at.offset, at.fingerprint);
                lineage.open_at = if at.feeding { None } else { Some(at.offset) };
            }
        }
        self.verified
            .insert(node.to_string(), (at.replid.to_string(), at.offset));
    }

    /// Judges a node standing at a point of a history it did not
    /// generate. True when the point holds.
    fn judge(&mut self, node: &str, at: &Position<'_>, what: &str) -> bool {
        match self.lookup(at.replid, at.offset) {
            Lookup::Known { fingerprint, .. } if fingerprint == at.fingerprint => {
                self.verified
                    .insert(node.to_string(), (at.replid.to_string(), at.offset));
                true
            }
            Lookup::Known { .. } => {
                let text = format!(
                    "{node} {what} at offset {} of history {} holding different data than that history held at that offset",
                    at.offset,
                    short(at.replid)
                );
                self.violate(node, "different data", text);
                false
            }
            Lookup::NeverReached => {
                let text = format!(
                    "{node} {what} at offset {} of history {}, an offset that history never stood at (a partial command or transaction, or bytes never sent)",
                    at.offset,
                    short(at.replid)
                );
                self.violate(node, "unknown offset", text);
                false
            }
            Lookup::UnknownId => {
                let text = format!(
                    "{node} {what} at offset {} of history {}, which no master generated",
                    at.offset,
                    short(at.replid)
                );
                self.violate(node, "unknown history", text);
                false
            }
        }
    }

    /// A replica acknowledges `acked` while at `at`.
    pub fn acknowledged(&mut self, node: &str, at: &Position<'_>, acked: u64) {
        self.judged += 1;
        if acked > at.offset {
            let text = format!(
                "{node} acknowledged offset {acked} of history {} but had applied only up to {}",
                short(at.replid),
                at.offset
            );
            self.violate(node, "ack beyond applied", text);
            return;
        }
        let point = Position {
            offset: acked,
            ..*at
        };
        if self
            .lineages
            .get(at.replid)
            .is_some_and(|l| l.origin == node)
        {
            return;
        }
        self.judge(node, &point, "acknowledged");
    }

    /// A replica served a read.
    pub fn read(&mut self, node: &str, read: &ReadObservation<'_>) {
        self.judging_read = true;
        self.judge_read(node, read);
        self.judging_read = false;
    }

    fn judge_read(&mut self, node: &str, read: &ReadObservation<'_>) {
        self.judged += 1;
        let own = self
            .lineages
            .get(read.at.replid)
            .is_some_and(|l| l.origin == node);
        if !own && !self.judge(node, &read.at, "served a read") {
            return;
        }
        if let Some(problem) = judge_reply(read) {
            let command = read
                .argv
                .iter()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect::<Vec<_>>()
                .join(" ");
            let text = format!(
                "{node} answered {command} with {} at offset {} of history {}: {problem}",
                show_reply(read.reply),
                read.at.offset,
                short(read.at.replid)
            );
            self.violate(node, "wrong read", text);
        } else if !own {
            self.note_skewed_read(node, read);
        }
    }

    /// A correct read whose answer the reader's clock decided: by the
    /// clock of the master that wrote the history, the key's expiry had
    /// (or had not yet) come. Redis judges expiry by the serving node's
    /// clock, so this is allowed; it is counted and described, never
    /// failed.
    fn note_skewed_read(&mut self, node: &str, read: &ReadObservation<'_>) {
        let (Some(clocks), Some(entry)) = (&self.clocks, read.entry) else {
            return;
        };
        let Some(expires_at) = entry.expire_at_ms() else {
            return;
        };
        let Some(origin) = self.lineages.get(read.at.replid).map(|l| l.origin.clone()) else {
            return;
        };
        let ahead = clocks.skew_ms(node) - clocks.skew_ms(&origin);
        let origin_now = (read.now_ms as i64 - ahead).max(0) as u64;
        let by_reader = entry.is_expired(read.now_ms);
        if by_reader == entry.is_expired(origin_now) {
            return;
        }
        let key = read
            .argv
            .get(1)
            .map_or_else(String::new, |k| String::from_utf8_lossy(k).into_owned());
        let text = if by_reader {
            format!(
                "{node} hid {key} {} ms before {origin}'s clock reached its expiry (its clock is {ahead} ms ahead of {origin}'s)",
                expires_at.saturating_sub(origin_now)
            )
        } else {
            format!(
                "{node} served {key} {} ms past its expiry by {origin}'s clock (its clock is {} ms behind {origin}'s)",
                origin_now.saturating_sub(expires_at),
                -ahead
            )
        };
        let seen = if by_reader {
            &mut self.skewed_reads.hidden_early
        } else {
            &mut self.skewed_reads.served_late
        };
        *seen += 1;
        if *seen <= SKEWED_READ_EXAMPLES {
            self.skewed_reads
                .examples
                .push(format!("{text} (at {})", stamp()));
        }
    }

    /// The reads a clock skew decided so far.
    pub fn skewed_reads(&self) -> &SkewedReads {
        &self.skewed_reads
    }

    /// Judges expiry as each node's skewed clock saw it, from now on.
    pub fn set_clocks(&mut self, clocks: Arc<SimClocks>) {
        self.clocks = Some(clocks);
    }

    /// WAIT on `node` returned `count` for writes up to (`replid`,
    /// `offset`).
    pub fn wait_returned(&mut self, node: &str, replid: &str, offset: u64, count: i64) {
        // A client that ran nothing since its connection (or since a
        // restart or promotion began this history) waits for offset 0, and
        // Redis then counts every online replica, whatever it holds: such
        // a WAIT promises nothing.
        if offset == 0 {
            return;
        }
        self.judged += 1;
        let holding = self
            .verified
            .iter()
            .filter(|(other, (id, at))| {
                other.as_str() != node && *at >= offset && self.contains(id, replid, offset)
            })
            .count() as i64;
        if holding < count {
            let text = format!(
                "WAIT on {node} returned {count} for offset {offset} of history {}, but only {holding} replicas held that data",
                short(replid)
            );
            self.violate(node, "wait", text);
        }
    }
}

/// A RESP reply as redis-cli shows it, for messages.
pub fn show_reply(reply: &[u8]) -> String {
    match crate::resp::Frame::parse(reply) {
        Ok((frame, _)) => crate::sim::expect::show_frame(&frame),
        Err(_) => format!("{:?}", String::from_utf8_lossy(reply)),
    }
}

/// Why a replica's reply to a read is not what Redis serves from the entry
/// it held, or `None` when it is. Only commands whose reply follows from
/// one key's entry are judged; others pass.
fn judge_reply(read: &ReadObservation<'_>) -> Option<String> {
    let name = read.argv.first()?.to_ascii_uppercase();
    let stale_refused = !read.link_up && !read.serve_stale_data;
    if stale_refused {
        return (!read.reply.starts_with(b"-MASTERDOWN")).then(|| {
            "the link is down and replica-serve-stale-data is no: -MASTERDOWN expected".to_string()
        });
    }
    // Logical expiry by Redis's rule: a key whose time has come by the
    // serving node's clock is missing to readers, whatever the replica
    // still stores.
    let live = read.entry.filter(|entry| !entry.is_expired(read.now_ms));
    let expected: Vec<u8> = match (name.as_slice(), read.argv.len()) {
        (b"GET", 2) => match live.map(|e| &e.value) {
            None => b"$-1\r\n".to_vec(),
            Some(Value::Str(s)) => bulk(s),
            Some(_) => return None,
        },
        (b"EXISTS", 2) => format!(":{}\r\n", u8::from(live.is_some())).into_bytes(),
        (b"STRLEN", 2) => match live.map(|e| &e.value) {
            None => b":0\r\n".to_vec(),
            Some(Value::Str(s)) => format!(":{}\r\n", s.len()).into_bytes(),
            Some(_) => return None,
        },
        (b"TYPE", 2) => format!("+{}\r\n", live.map_or("none", type_name)).into_bytes(),
        (b"XLEN", 2) => match live.map(|e| &e.value) {
            None => b":0\r\n".to_vec(),
            Some(Value::Stream(s)) => format!(":{}\r\n", s.length).into_bytes(),
            Some(_) => return None,
        },
        _ => return None,
    };
    (read.reply != expected.as_slice()).then(|| {
        let held = match read.entry {
            None => "no such key".to_string(),
            Some(entry) if live.is_none() => format!(
                "the key was logically expired (at {} ms, read at {} ms)",
                entry.expire_at_ms().unwrap_or(0),
                read.now_ms
            ),
            Some(_) => "the key it held".to_string(),
        };
        format!("expected {} from {held}", show_reply(&expected))
    })
}

fn bulk(bytes: &[u8]) -> Vec<u8> {
    let mut out = format!("${}\r\n", bytes.len()).into_bytes();
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
    out
}

fn type_name(entry: &Entry) -> &'static str {
    match entry.value {
        Value::Str(_) => "string",
        Value::List(_) => "list",
        Value::Hash(_) => "hash",
        Value::Set(_) => "set",
        Value::ZSet(_) => "zset",
        Value::Stream(_) => "stream",
    }
}

/// One node's probe: its reports go to the shared ledger under its name.
pub struct NodeProbe {
    /// The node's name.
    pub node: String,
    /// The run's ledger.
    pub ledger: SharedLedger,
}

impl NodeProbe {
    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl HistoryProbe for NodeProbe {
    fn position(&self, at: Position<'_>) {
        self.ledger().position(&self.node, &at);
    }

    fn acknowledged(&self, at: Position<'_>, acked: u64) {
        self.ledger().acknowledged(&self.node, &at, acked);
    }

    fn read(&self, read: ReadObservation<'_>) {
        self.ledger().read(&self.node, &read);
    }

    fn wait_returned(&self, replid: &str, offset: u64, count: i64) {
        self.ledger()
            .wait_returned(&self.node, replid, offset, count);
    }

    fn published(&self, publish: PublishObservation<'_>) {
        self.ledger().published(&self.node, &publish);
    }

    fn loaded(&self, _at: Position<'_>) {
        self.ledger().loaded(&self.node);
    }

    fn evicted(&self, db: usize, key: &[u8]) {
        self.ledger().evicted(db, key, now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::Entry;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const C: &str = "cccccccccccccccccccccccccccccccccccccccc";

    fn at(replica: bool, replid: &str, offset: u64, fingerprint: u64) -> Position<'_> {
        Position {
            replica,
            replid,
            replid2: NULL_REPLID,
            second_repl_offset: -1,
            offset,
            feeding: true,
            fingerprint,
        }
    }

    fn violations(ledger: &mut Ledger) -> Vec<String> {
        ledger.take_violations()
    }

    #[test]
    fn a_replica_at_a_point_of_its_masters_history_holds_when_the_data_matches() {
        let mut ledger = Ledger::default();
        ledger.position("m", &at(false, A, 0, 1));
        ledger.position("m", &at(false, A, 40, 2));
        ledger.position("r1", &at(true, A, 40, 2));
        assert!(violations(&mut ledger).is_empty());
        ledger.position("r1", &at(true, A, 0, 9));
        let found = violations(&mut ledger);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("holding different data"), "{found:?}");
    }

    #[test]
    fn an_offset_the_history_never_stood_at_is_a_violation_not_skipped() {
        let mut ledger = Ledger::default();
        ledger.position("m", &at(false, A, 0, 1));
        ledger.position("m", &at(false, A, 100, 2));
        ledger.position("r1", &at(true, A, 60, 1));
        let found = violations(&mut ledger);
        assert!(found[0].contains("never stood at"), "{found:?}");
    }

    #[test]
    fn a_master_without_backlog_rewrites_its_open_point_but_not_a_sealed_one() {
        let mut ledger = Ledger::default();
        let open = |fingerprint| Position {
            feeding: false,
            ..at(false, A, 0, fingerprint)
        };
        ledger.position("m", &open(1));
        ledger.position("m", &open(2));
        ledger.position("m", &open(3));
        assert!(violations(&mut ledger).is_empty());
        // Once the offset moves with writes, a point is final.
        ledger.position("m", &at(false, A, 0, 3));
        ledger.position("m", &at(false, A, 0, 4));
        let found = violations(&mut ledger);
        assert!(found[0].contains("without anything in its replication stream"));
    }

    #[test]
    fn a_promoted_history_continues_its_parent_up_to_the_promotion_offset() {
        let mut ledger = Ledger::default();
        ledger.position("m", &at(false, A, 0, 1));
        ledger.position("m", &at(false, A, 50, 2));
        ledger.position("m", &at(false, A, 90, 3));
        // r1 was at 50 when promoted: C continues A up to 50.
        let promoted = Position {
            replid2: A,
            second_repl_offset: 51,
            ..at(false, C, 50, 2)
        };
        ledger.position("r1", &promoted);
        ledger.position("r1", &at(false, C, 70, 5));
        // A sibling that took C at offset 0 of A stands on A's points below 50.
        ledger.position("r2", &at(true, C, 0, 1));
        ledger.position("r2", &at(true, C, 70, 5));
        assert!(violations(&mut ledger).is_empty());
        // A's point 90 is past the fork: not part of C.
        ledger.position("r2", &at(true, C, 90, 3));
        assert!(violations(&mut ledger)[0].contains("never stood at"));
        // Starting C from data A never held at 50 is caught.
        let mut ledger2 = Ledger::default();
        ledger2.position("m", &at(false, A, 50, 2));
        ledger2.position(
            "r1",
            &Position {
                fingerprint: 7,
                ..promoted
            },
        );
        assert!(violations(&mut ledger2)[0].contains("started history"));
    }

    #[test]
    fn an_ack_beyond_what_was_applied_is_a_violation() {
        let mut ledger = Ledger::default();
        ledger.position("m", &at(false, A, 0, 1));
        ledger.position("m", &at(false, A, 30, 2));
        ledger.acknowledged("r1", &at(true, A, 30, 2), 30);
        assert!(violations(&mut ledger).is_empty());
        ledger.acknowledged("r1", &at(true, A, 30, 2), 45);
        assert!(violations(&mut ledger)[0].contains("applied only up to 30"));
    }

    #[test]
    fn wait_must_not_count_more_replicas_than_hold_the_data() {
        let mut ledger = Ledger::default();
        ledger.position("m", &at(false, A, 0, 1));
        ledger.position("m", &at(false, A, 30, 2));
        ledger.position("r1", &at(true, A, 30, 2));
        ledger.position("r2", &at(true, A, 0, 1));
        ledger.wait_returned("m", A, 30, 1);
        assert!(violations(&mut ledger).is_empty());
        ledger.wait_returned("m", A, 30, 2);
        assert!(violations(&mut ledger)[0].contains("only 1 replicas held"));
    }

    #[test]
    fn wait_for_offset_zero_promises_nothing_and_is_not_judged() {
        let mut ledger = Ledger::default();
        // r1 holds nothing of A yet (it is still loading, say).
        ledger.position("m", &at(false, A, 0, 1));
        ledger.wait_returned("m", A, 0, 1);
        assert!(violations(&mut ledger).is_empty());
        // Its twin: one byte later, the same replica does not count.
        ledger.position("m", &at(false, A, 1, 2));
        ledger.wait_returned("m", A, 1, 1);
        assert!(violations(&mut ledger)[0].contains("only 0 replicas held"));
    }

    fn read<'a>(
        argv: &'a [&'a [u8]],
        reply: &'a [u8],
        entry: Option<&'a Entry>,
        link_up: bool,
        serve_stale_data: bool,
    ) -> ReadObservation<'a> {
        ReadObservation {
            at: at(true, A, 30, 2),
            db: 0,
            argv,
            reply,
            entry,
            now_ms: 1_000,
            link_up,
            serve_stale_data,
        }
    }

    #[test]
    fn a_replica_read_is_judged_by_the_masters_expiry_rule() {
        let mut ledger = Ledger::default();
        ledger.position("m", &at(false, A, 30, 2));
        let live = Entry::new(Value::Str(b"v".as_slice().into()), Some(5_000));
        let expired = Entry::new(Value::Str(b"v".as_slice().into()), Some(999));
        let get: &[&[u8]] = &[b"GET", b"k"];
        ledger.read("r1", &read(get, b"$1\r\nv\r\n", Some(&live), true, true));
        ledger.read("r1", &read(get, b"$-1\r\n", Some(&expired), true, true));
        ledger.read("r1", &read(get, b"$-1\r\n", None, true, true));
        assert!(violations(&mut ledger).is_empty());
        ledger.read("r1", &read(get, b"$1\r\nv\r\n", Some(&expired), true, true));
        let found = violations(&mut ledger);
        assert!(found[0].contains("logically expired"), "{found:?}");
    }

    #[test]
    fn a_replica_ahead_in_time_may_hide_a_key_early_and_that_is_reported_not_failed() {
        let clocks = Arc::new(SimClocks::default());
        clocks.jump("r1", 3_000);
        let mut ledger = Ledger::default();
        ledger.set_clocks(clocks);
        ledger.position("m", &at(false, A, 30, 2));
        // True time 1,000 ms; r1's clock reads 4,000; the key expires at
        // 3,000 by the master's clock, which reads 1,000.
        let entry = Entry::new(Value::Str(b"v".as_slice().into()), Some(3_000));
        let get: &[&[u8]] = &[b"GET", b"k"];
        let mut hidden = read(get, b"$-1\r\n", Some(&entry), true, true);
        hidden.now_ms = 4_000;
        ledger.read("r1", &hidden);
        assert!(violations(&mut ledger).is_empty());
        assert_eq!(ledger.skewed_reads().hidden_early, 1);
        assert!(ledger.skewed_reads().examples[0].contains("2000 ms before m's clock"));
        // Serving it when its own clock says expired is wrong, skew or not.
        let mut served = read(get, b"$1\r\nv\r\n", Some(&entry), true, true);
        served.now_ms = 4_000;
        ledger.read("r1", &served);
        assert!(violations(&mut ledger)[0].contains("logically expired"));
    }

    #[test]
    fn a_replica_behind_in_time_may_serve_a_key_late_and_that_is_reported_not_failed() {
        let clocks = Arc::new(SimClocks::default());
        clocks.jump("r2", -3_000);
        let mut ledger = Ledger::default();
        ledger.set_clocks(clocks);
        ledger.position("m", &at(false, A, 30, 2));
        let entry = Entry::new(Value::Str(b"v".as_slice().into()), Some(3_000));
        let get: &[&[u8]] = &[b"GET", b"k"];
        // r2's clock reads 1,000 where the master's reads 4,000.
        let mut served = read(get, b"$1\r\nv\r\n", Some(&entry), true, true);
        served.now_ms = 1_000;
        ledger.read("r2", &served);
        assert!(violations(&mut ledger).is_empty());
        assert_eq!(ledger.skewed_reads().served_late, 1);
        // Hiding it while its own clock says it lives is wrong.
        let mut hidden = read(get, b"$-1\r\n", Some(&entry), true, true);
        hidden.now_ms = 1_000;
        ledger.read("r2", &hidden);
        let found = violations(&mut ledger);
        assert!(found[0].contains("expected \"v\""), "{found:?}");
    }

    #[test]
    fn a_stale_read_must_be_refused_when_stale_data_must_not_be_served() {
        let mut ledger = Ledger::default();
        ledger.position("m", &at(false, A, 30, 2));
        let get: &[&[u8]] = &[b"GET", b"k"];
        let refused = b"-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.\r\n";
        ledger.read("r1", &read(get, refused, None, false, false));
        ledger.read("r1", &read(get, b"$-1\r\n", None, false, true));
        assert!(violations(&mut ledger).is_empty());
        ledger.read("r1", &read(get, b"$-1\r\n", None, false, false));
        assert!(violations(&mut ledger)[0].contains("-MASTERDOWN expected"));
    }
}
