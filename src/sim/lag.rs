//! Replication lag you can see. Every node's replication position is
//! recorded as the node reports it (at its command boundaries, through the
//! history probe: no task of its own, so measuring never changes a run),
//! and after the run each replica's lag behind the master that generated
//! its history is sampled every [`SAMPLE_EVERY`] of simulated time:
//!
//! - in bytes: that master's offset minus the replica's;
//! - in time: how long ago the master wrote the oldest byte the replica
//!   does not have yet (zero when it has everything).
//!
//! A replica in a chain is measured against the top master, since that is
//! what its readers are behind. Samples are taken only while the replica
//! and that master are up and the master still writes the same history
//! (before the first sync, while either is down, and after a failover until
//! the replica follows the new history, there is no lag to speak of).

use std::collections::BTreeMap;
use std::time::Duration;

/// How often lag is sampled, in simulated time.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(100);

/// One recorded position of a node, or its going down.
#[derive(Debug, Clone, Copy)]
struct Mark {
    at: Duration,
    /// (history id, offset, is a replica); `None` while the node is down.
    state: Option<(usize, u64, bool)>,
}

/// Every node's replication position over the run.
#[derive(Debug, Default)]
pub struct Timelines {
    /// Replication ids, interned.
    ids: Vec<String>,
    /// The node that generated each history (the first to report it as a
    /// master).
    origins: BTreeMap<usize, String>,
    by_node: BTreeMap<String, Vec<Mark>>,
}

/// Lag percentiles of one measure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Spread {
    /// Median.
    pub p50: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Maximum.
    pub max: u64,
}

impl Spread {
    /// Nearest-rank percentiles of `values` (zeros when empty).
    pub fn of(mut values: Vec<u64>) -> Spread {
        if values.is_empty() {
            return Spread::default();
        }
        values.sort_unstable();
        let rank = |p: usize| values[(values.len() * p).div_ceil(100).max(1) - 1];
        Spread {
            p50: rank(50),
            p99: rank(99),
            max: values[values.len() - 1],
        }
    }
}

/// One replica's lag over a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaLag {
    /// The replica.
    pub node: String,
    /// How many samples were taken.
    pub samples: usize,
    /// Bytes behind.
    pub bytes: Spread,
    /// Simulated milliseconds behind.
    pub ms: Spread,
    /// Each sample's (bytes, ms), in time order, for merging runs.
    pub raw: Vec<(u64, u64)>,
}

/// What one node sent over the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Bytes to other servers (replication streams, handshakes).
    pub to_servers: u64,
    /// Bytes to clients.
    pub to_clients: u64,
}

impl Timelines {
    fn intern(&mut self, id: &str) -> usize {
        match self.ids.iter().position(|known| known == id) {
            Some(index) => index,
            None => {
                self.ids.push(id.to_string());
                self.ids.len() - 1
            }
        }
    }

    /// Notes that `node` stands at (`replid`, `offset`) at `at`.
    pub fn record(&mut self, node: &str, at: Duration, replid: &str, offset: u64, replica: bool) {
        let id = self.intern(replid);
        if !replica {
            self.origins.entry(id).or_insert_with(|| node.to_string());
        }
        // Called at every command boundary of every node: allocate the
        // name only the first time.
        if !self.by_node.contains_key(node) {
            self.by_node.insert(node.to_string(), Vec::new());
        }
        let marks = self.by_node.get_mut(node).expect("inserted above");
        let state = Some((id, offset, replica));
        if marks.last().is_some_and(|last| last.state == state) {
            return;
        }
        marks.push(Mark { at, state });
    }

    /// Every place `node` stood at from just before `from` until `to`:
    /// its last position at or before `from`, then each it reported up to
    /// `to` (history, offset), in order.
    pub fn positions_between(&self, node: &str, from: Duration, to: Duration) -> Vec<(&str, u64)> {
        let Some(marks) = self.by_node.get(node) else {
            return Vec::new();
        };
        let start = marks.partition_point(|mark| mark.at <= from);
        let end = marks.partition_point(|mark| mark.at <= to);
        let before = marks[..start].iter().rev().find_map(|m| m.state);
        before
            .into_iter()
            .chain(marks[start..end].iter().filter_map(|m| m.state))
            .map(|(id, offset, _)| (self.ids[id].as_str(), offset))
            .collect()
    }

    /// Whether `node` went down (crashed, or was restarted) after `at`.
    pub fn down_after(&self, node: &str, at: Duration) -> bool {
        self.by_node
            .get(node)
            .is_some_and(|marks| marks.iter().any(|m| m.at > at && m.state.is_none()))
    }

    /// Notes that `node` went down at `at`.
    pub fn node_down(&mut self, node: &str, at: Duration) {
        self.by_node
            .entry(node.to_string())
            .or_default()
            .push(Mark { at, state: None });
    }

    /// Where `node` stood at `at` (its last report then): (history id,
    /// offset, is a replica); `None` while it was down or before it first
    /// reported.
    pub fn position_at(&self, node: &str, at: Duration) -> Option<(&str, u64, bool)> {
        let (id, offset, replica) = state_at(self.by_node.get(node)?, at)?;
        Some((self.ids[id].as_str(), offset, replica))
    }

    /// Where `node` stood just before `at` (its last report strictly
    /// before then), as [`position_at`](Self::position_at) says.
    pub fn position_before(&self, node: &str, at: Duration) -> Option<(&str, u64, bool)> {
        let marks = self.by_node.get(node)?;
        let index = marks.partition_point(|mark| mark.at < at);
        let (id, offset, replica) = marks[..index].last()?.state?;
        Some((self.ids[id].as_str(), offset, replica))
    }

    /// The last place `node` reported at or before `at`, even if it went
    /// down since (a node may crash between a write and its reply's
    /// arrival).
    pub fn last_position(&self, node: &str, at: Duration) -> Option<(&str, u64, bool)> {
        let marks = self.by_node.get(node)?;
        let index = marks.partition_point(|mark| mark.at <= at);
        let (id, offset, replica) = marks[..index].iter().rev().find_map(|m| m.state)?;
        Some((self.ids[id].as_str(), offset, replica))
    }

    /// Every node that reported, in name order.
    pub fn nodes(&self) -> impl Iterator<Item = &str> {
        self.by_node.keys().map(String::as_str)
    }

    /// Each replica's lag, sampled from the first sample time up to `end`
    /// (replicas in name order; those never sampled are left out).
    pub fn lag(&self, end: Duration) -> Vec<ReplicaLag> {
        let heads = self.heads();
        let mut lags = Vec::new();
        for (node, marks) in &self.by_node {
            let mut raw = Vec::new();
            let mut at = SAMPLE_EVERY;
            while at <= end {
                if let Some(sample) = self.sample(marks, at, &heads) {
                    raw.push(sample);
                }
                at += SAMPLE_EVERY;
            }
            if raw.is_empty() {
                continue;
            }
            lags.push(ReplicaLag {
                node: node.clone(),
                samples: raw.len(),
                bytes: Spread::of(raw.iter().map(|s| s.0).collect()),
                ms: Spread::of(raw.iter().map(|s| s.1).collect()),
                raw,
            });
        }
        lags
    }

    /// For each history, when its origin first stood at each new highest
    /// offset: (time, highest offset so far), both rising.
    fn heads(&self) -> BTreeMap<usize, Vec<(Duration, u64)>> {
        let mut heads: BTreeMap<usize, Vec<(Duration, u64)>> = BTreeMap::new();
        for (&id, origin) in &self.origins {
            let rising = heads.entry(id).or_default();
            for mark in self.by_node.get(origin).into_iter().flatten() {
                if let Some((i, offset, false)) = mark.state {
                    if i == id && rising.last().is_none_or(|&(_, top)| offset > top) {
                        rising.push((mark.at, offset));
                    }
                }
            }
        }
        heads
    }

    /// One replica's lag at `at`, if it has one then.
    fn sample(
        &self,
        marks: &[Mark],
        at: Duration,
        heads: &BTreeMap<usize, Vec<(Duration, u64)>>,
    ) -> Option<(u64, u64)> {
        let (id, offset, replica) = state_at(marks, at)?;
        if !replica {
            return None;
        }
        let origin = self.by_node.get(self.origins.get(&id)?)?;
        let (origin_id, head, origin_is_replica) = state_at(origin, at)?;
        if origin_id != id || origin_is_replica {
            return None;
        }
        if head <= offset {
            return Some((0, 0));
        }
        // When the master first stood past `offset` in this history: the
        // oldest write the replica lacks was made then.
        let rising = heads.get(&id)?;
        let since = rising
            .get(rising.partition_point(|&(_, top)| top <= offset))
            .map_or(at, |&(when, _)| when.min(at));
        Some((head - offset, (at - since).as_millis() as u64))
    }
}

/// A node's state at `at`: its last mark at or before then.
fn state_at(marks: &[Mark], at: Duration) -> Option<(usize, u64, bool)> {
    let index = marks.partition_point(|mark| mark.at <= at);
    marks[..index].last()?.state
}

/// Merges the lag of the same replica over several runs (one entry per
/// replica name, in name order).
pub fn merge<'a>(runs: impl IntoIterator<Item = &'a [ReplicaLag]>) -> Vec<ReplicaLag> {
    let mut by_node: BTreeMap<&str, Vec<(u64, u64)>> = BTreeMap::new();
    for run in runs {
        for lag in run {
            by_node
                .entry(&lag.node)
                .or_default()
                .extend_from_slice(&lag.raw);
        }
    }
    by_node
        .into_iter()
        .map(|(node, raw)| ReplicaLag {
            node: node.to_string(),
            samples: raw.len(),
            bytes: Spread::of(raw.iter().map(|s| s.0).collect()),
            ms: Spread::of(raw.iter().map(|s| s.1).collect()),
            raw,
        })
        .collect()
}

/// A table of lags, one line per replica: a header, then each row's
/// first column (when `first` names it) and the replica's figures.
pub fn table(first: Option<&str>, rows: &[(String, &ReplicaLag)]) -> Vec<String> {
    let line = |lead: &str, cells: [String; 4]| {
        let figures = format!(
            "{:<8} {:>8} {:>24} {:>20}",
            cells[0], cells[1], cells[2], cells[3]
        );
        match first {
            Some(_) => format!("{lead:<32} {figures}"),
            None => figures,
        }
    };
    let mut lines = vec![line(
        first.unwrap_or_default(),
        [
            "replica".into(),
            "samples".into(),
            "lag bytes p50/p99/max".into(),
            "lag ms p50/p99/max".into(),
        ],
    )];
    for (lead, lag) in rows {
        lines.push(line(
            lead,
            [
                lag.node.clone(),
                lag.samples.to_string(),
                format!("{}/{}/{}", lag.bytes.p50, lag.bytes.p99, lag.bytes.max),
                format!("{}/{}/{}", lag.ms.p50, lag.ms.p99, lag.ms.max),
            ],
        ));
    }
    lines
}

impl ReplicaLag {
    /// The lag as JSON: samples and the two spreads.
    pub fn to_json(&self) -> serde_json::Value {
        let spread = |s: &Spread| serde_json::json!({"p50": s.p50, "p99": s.p99, "max": s.max});
        serde_json::json!({
            "samples": self.samples,
            "bytes": spread(&self.bytes),
            "ms": spread(&self.ms),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let spread = Spread::of((1..=100).collect());
        assert_eq!(
            spread,
            Spread {
                p50: 50,
                p99: 99,
                max: 100
            }
        );
        assert_eq!(
            Spread::of(vec![7]),
            Spread {
                p50: 7,
                p99: 7,
                max: 7
            }
        );
        assert_eq!(Spread::of(Vec::new()), Spread::default());
    }

    #[test]
    fn a_replica_behind_its_master_lags_by_the_bytes_and_the_age_of_the_oldest_missing_write() {
        let mut timelines = Timelines::default();
        timelines.record("m", ms(0), "A", 0, false);
        timelines.record("r1", ms(50), "A", 0, true);
        timelines.record("m", ms(150), "A", 100, false);
        timelines.record("m", ms(250), "A", 300, false);
        timelines.record("r1", ms(350), "A", 300, true);
        let lag = timelines.lag(ms(400));
        assert_eq!(lag.len(), 1);
        // At 100 ms in sync; at 200 ms 100 bytes written 50 ms ago; at
        // 300 ms 300 bytes, the oldest written 150 ms ago; at 400 ms in
        // sync.
        assert_eq!(lag[0].raw, vec![(0, 0), (100, 50), (300, 150), (0, 0)]);
        assert_eq!(lag[0].bytes.max, 300);
        assert_eq!(lag[0].ms.max, 150);
    }

    #[test]
    fn no_lag_is_sampled_while_a_node_is_down_or_on_another_history() {
        let mut timelines = Timelines::default();
        timelines.record("m", ms(0), "A", 10, false);
        timelines.record("r1", ms(0), "A", 10, true);
        timelines.node_down("r1", ms(150));
        timelines.record("r1", ms(350), "B", 0, true);
        let lag = timelines.lag(ms(500));
        // Sampled at 100 ms only: down at 200 and 300, on an unknown
        // history after.
        assert_eq!(lag[0].raw, vec![(0, 0)]);
        // A master is never sampled as a replica.
        assert!(lag.iter().all(|l| l.node != "m"));
    }
}
