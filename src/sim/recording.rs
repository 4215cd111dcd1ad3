//! What the runner tells the run's timeline ([`crate::timeline`]) beyond
//! what the nodes' probes report: every node's state at each safety check,
//! the workloads' string writes and which of them were lost, the replicas
//! that did not converge, and where the checker found each violation.

use std::collections::BTreeSet;

use super::losses::LossReport;
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

    /// Notes which keys' acknowledged writes were lost.
    pub(super) fn note_lost_writes(&self, report: &LossReport) {
        if !self.timeline.is_enabled() {
            return;
        }
        let lost: BTreeSet<(u8, String)> =
            report.lost.iter().map(|w| (w.db, w.key.clone())).collect();
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
        let writes: Vec<&StringWrite> = self
            .outcomes
            .iter()
            .flat_map(|o| o.string_writes.iter())
            .collect();
        let lost: BTreeSet<(u8, &str, Option<&str>, std::time::Duration)> = self
            .losses
            .lost
            .iter()
            .map(|w| (w.db, w.key.as_str(), w.value.as_deref(), w.acked_at))
            .collect();
        for write in &writes {
            let label = match &write.value {
                Some(value) => format!("SET {}:{} {value}", write.db, write.key),
                None => format!("DEL {}:{}", write.db, write.key),
            };
            let is_lost = write.replied_at.is_some_and(|at| {
                lost.contains(&(write.db, write.key.as_str(), write.value.as_deref(), at))
            });
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::scenario::Scenario;
    use crate::sim::workload::WorkloadOutcome;
    use crate::sim::RunOptions;

    fn write(value: &str, sent_ms: u64) -> StringWrite {
        StringWrite {
            db: 0,
            key: "str:1".into(),
            value: Some(value.into()),
            acked: true,
            sent_at: Duration::from_millis(sent_ms),
            replied_at: Some(Duration::from_millis(sent_ms + 2)),
            node: "m".into(),
            waited: None,
        }
    }

    #[test]
    fn every_lost_acknowledged_write_is_marked_lost_on_the_timeline() {
        // m holds nothing, while a workload on it got an OK for two SETs
        // of one key and one of another that m still holds.
        let scenario = Scenario::parse(
            "t.json",
            r#"{"name": "t", "nodes": {"m": {}},
                "steps": [{"workload": {"on": "m", "ops": 1}}]}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let runtime = madsim::runtime::Runtime::with_seed_and_config(1, madsim::Config::default());
        let timeline = runtime.block_on(async move {
            let mut runner = Runner::new(scenario, 1, RunOptions::default());
            runner.record_timeline();
            runner.spawn_nodes();
            madsim::time::sleep(Duration::from_millis(100)).await;
            let kept = StringWrite {
                key: "str:2".into(),
                ..write("kept", 30)
            };
            if let Some(server) = runner.node("m").server() {
                server.state().keyspace.db_mut(0).insert(
                    b"str:2",
                    crate::keyspace::Value::Str(b"kept".to_vec().into()),
                );
            }
            runner.outcomes.push(WorkloadOutcome {
                string_writes: vec![write("1-a", 10), write("2-b", 20), kept],
                ..WorkloadOutcome::default()
            });
            runner.check_acknowledged_writes();
            let verdict = Verdict::Safety(vec![]);
            runner.finish_timeline(&verdict, &[], &[])
        });
        let timeline = timeline.expect("recorded");
        let lost: Vec<(&str, bool)> = timeline
            .writes
            .iter()
            .map(|w| (w.label.as_str(), w.lost))
            .collect();
        assert_eq!(
            lost,
            [
                ("SET 0:str:1 1-a", true),
                ("SET 0:str:1 2-b", true),
                ("SET 0:str:2 kept", false)
            ]
        );
        assert_eq!(timeline.flags.len(), 2);
        assert!(timeline.flags[1]
            .text
            .starts_with("acknowledged write lost: SET str:1 \"2-b\""));
    }
}
