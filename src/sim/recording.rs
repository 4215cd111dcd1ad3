//! What the runner tells the run's timeline ([`crate::timeline`]) beyond
//! what the nodes' probes report: every node's state at each safety check,
//! the workloads' string writes and which of them were lost, the replicas
//! that did not converge, and where the checker found each violation.

use std::collections::{BTreeMap, BTreeSet};

use super::check;
use super::runner::{now, Runner};
use super::workload::StringWrite;
use super::Verdict;
use crate::server::probe::NodeView;
use crate::timeline::record::Recorder;
use crate::timeline::{ClientWrite, Timeline};

impl Runner {
    /// Records this run's timeline (call before [`Runner::run`]).
    pub(super) fn record_timeline(&mut self) {
        let nodes: Vec<String> = self.scenario.nodes.iter().map(|n| n.name.clone()).collect();
        self.timeline = Recorder::new(&nodes);
    }

    /// Observes every running node's role, link and offset (the safety
    /// checks call this every 100 ms of simulated time while they wait).
    pub(super) fn sample_timeline(&self) {
        if !self.timeline.is_enabled() {
            return;
        }
        for node in &self.nodes {
            node.with_state(|state| {
                let view = NodeView {
                    master: state.repl.master.as_ref().map(|m| m.host.as_str()),
                    link: state.repl.master.as_ref().map(|m| m.state),
                    replid: &state.repl.replid,
                    offset: state.repl.offset,
                };
                self.timeline.observe(&node.name, view);
            });
        }
    }

    /// Notes which keys' acknowledged writes were lost (each key judged on
    /// its own by the rule [`check::lost_writes`] applies to all).
    pub(super) fn note_lost_writes(
        &self,
        writes: &[StringWrite],
        value_of: &impl Fn(u8, &str) -> Option<Vec<u8>>,
    ) {
        if !self.timeline.is_enabled() {
            return;
        }
        let mut by_key: BTreeMap<(u8, &str), Vec<StringWrite>> = BTreeMap::new();
        for write in writes {
            by_key
                .entry((write.db, write.key.as_str()))
                .or_default()
                .push(write.clone());
        }
        let lost: BTreeSet<(u8, String)> = by_key
            .into_iter()
            .filter(|(_, history)| !check::lost_writes(history, value_of).is_empty())
            .map(|((db, key), _)| (db, key.to_string()))
            .collect();
        self.timeline.set_lost_keys(lost);
    }

    /// Notes the replicas that did not converge.
    pub(super) fn note_stuck_replicas(&self) {
        if !self.timeline.is_enabled() {
            return;
        }
        for (name, _top, servers) in self.replicas_with_tops() {
            let converged = servers.is_some_and(|(replica, top)| {
                self.in_step(name, &replica, &top) && Self::same_data(&replica, &top)
            });
            if !converged {
                self.timeline.stuck(name);
            }
        }
    }

    /// The recorded timeline, completed with the workloads' writes, the
    /// checker's located violations, the verdict and the log.
    pub(super) fn finish_timeline(
        &self,
        verdict: &Verdict,
        trace: &[String],
        log: &[String],
    ) -> Option<Timeline> {
        if !self.timeline.is_enabled() {
            return None;
        }
        let lost = self.timeline.lost_keys();
        let writes: Vec<&StringWrite> = self
            .outcomes
            .iter()
            .flat_map(|o| o.string_writes.iter())
            .collect();
        // A lost key's last acknowledged write is the one lost.
        let mut last_acked: BTreeMap<(u8, &str), usize> = BTreeMap::new();
        for (index, write) in writes.iter().enumerate() {
            if write.acked {
                last_acked.insert((write.db, write.key.as_str()), index);
            }
        }
        for (index, write) in writes.iter().enumerate() {
            let label = match &write.value {
                Some(value) => format!("SET {}:{} {value}", write.db, write.key),
                None => format!("DEL {}:{}", write.db, write.key),
            };
            let is_lost = lost.contains(&(write.db, write.key.clone()))
                && last_acked.get(&(write.db, write.key.as_str())) == Some(&index);
            self.timeline.write(ClientWrite {
                sent_ms: write.sent_at.as_millis() as u64,
                replied_ms: write.replied_at.map(|t| t.as_millis() as u64),
                label,
                acked: write.acked,
                lost: is_lost,
            });
        }
        let located = self
            .ledger
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .located_violations()
            .to_vec();
        for violation in located {
            self.timeline.locate_flag(
                violation.at,
                &violation.node,
                violation.read,
                &violation.text,
            );
        }
        let mut timeline = self.timeline.finish(now().as_millis() as u64)?;
        timeline.scenario = self.scenario.name.clone();
        timeline.file = self.scenario.file.clone();
        timeline.seed = self.seed;
        timeline.verdict = verdict.name().to_string();
        timeline.details = verdict.details();
        timeline.log = crate::sweep::interleave(trace, log);
        Some(timeline)
    }
}
