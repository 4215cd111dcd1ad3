//! The safety rules replsim always checks, whatever the scenario says:
//! the canonical history's violations and offsets that run ahead of a
//! master (between steps and while waiting), and, once a run converged,
//! that no acknowledged write was lost. A broken rule is a safety verdict.

use std::collections::BTreeSet;

use super::losses;
use super::runner::Runner;
use super::workload::StringWrite;
use crate::keyspace::Value;
use crate::runtime::SimRuntime;
use crate::scenario::Action;
use crate::server::Server;

/// A replica, its direct master, and both running servers.
type RunningLink<'a> = (&'a str, String, Server<SimRuntime>, Server<SimRuntime>);

impl Runner {
    /// Every running replica and the running node its link points at,
    /// with both servers. The link the server holds, not the topology: a
    /// Sentinel may have re-pointed it since the runner last looked
    /// (`+fix-slave-config` during a wait), and the rule is about the
    /// stream the replica reads.
    fn running_links(&self) -> Vec<RunningLink<'_>> {
        self.nodes
            .iter()
            .filter_map(|node| {
                let replica = node.server()?;
                let host = replica.state().repl.master.as_ref()?.host.clone();
                let master = self.node_at(&host)?;
                let upstream = self.node(&master).server()?;
                Some((node.name.as_str(), master, replica, upstream))
            })
            .collect()
    }

    /// Safety rules checked between steps and while waiting: a replica
    /// streaming from its master never has a higher offset than it, and
    /// every offset a replica acknowledged was acknowledged with exactly the
    /// data its master held at that offset.
    pub(super) fn monitor_safety(&self) {
        self.sample_timeline();
        self.monitor_sentinels();
        let found = self
            .ledger
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take_violations();
        for violation in found {
            self.violation(violation);
        }
        for (name, master, replica, upstream) in self.running_links() {
            let (replica, upstream) = (replica.state(), upstream.state());
            if runs_ahead_of_its_master(&replica, &upstream) {
                let message = format!(
                    "{name}'s offset {} passed its master {master}'s offset {}",
                    replica.repl.offset, upstream.repl.offset
                );
                self.violation(message);
            }
        }
    }

    /// Accounts for every acknowledged workload string write against the
    /// top master's final data and the history (all workloads of the run
    /// together, since they share key names): losses a fork explains go
    /// to the run's loss report, the others are violations.
    pub(super) fn check_acknowledged_writes(&mut self) {
        let writes: Vec<StringWrite> = self
            .outcomes
            .iter()
            .flat_map(|o| o.string_writes.iter().cloned())
            .collect();
        let masters: BTreeSet<String> = self
            .scenario
            .steps
            .iter()
            .filter_map(|s| match &s.action {
                Action::Workload(w) => Some(self.top_master(&w.on)),
                _ => None,
            })
            .collect();
        // With Sentinels, the history ends on the master they agree on.
        let masters = match self.sentinels_master() {
            Some(master) if !self.sentinels.is_empty() => BTreeSet::from([master]),
            _ => masters,
        };
        // Workloads on different top masters write different histories.
        if masters.len() != 1 {
            if self.scenario.losses.any() {
                self.expectation(format!(
                    "losses: cannot be judged, the workloads' nodes end under {} top masters",
                    masters.len()
                ));
            }
            return;
        }
        let top = masters.into_iter().next().expect("one master");
        let Some(server) = self.node(&top).server() else {
            return;
        };
        let mut state = server.state();
        // A master that just restarted may not have reported where it
        // stands yet (it does at its first command): make it, so the
        // history knows the place the writes are judged against.
        state.note_offset();
        let value_of = |db: u8, key: &str| match state
            .keyspace
            .db(db as usize)
            .get(key.as_bytes())
            .map(|e| &e.value)
        {
            Some(Value::Str(s)) => Some(s.to_vec()),
            _ => None,
        };
        let place = losses::FinalPlace {
            replid: &state.repl.replid,
            offset: state.repl.offset,
            node: &top,
            failovers: &self.failovers_done,
        };
        let account = {
            let ledger = self.ledger.lock().unwrap_or_else(|p| p.into_inner());
            losses::account(&writes, value_of, &place, &ledger, self.untracked_writes)
        };
        drop(state);
        self.note_lost_writes(&account.report);
        let report = &account.report;
        if !report.lost.is_empty() {
            self.event(report.summary());
            for brain in &report.split_brains {
                self.event(format!(
                    "split brain: {} acknowledged {} writes from {} to {} that {}'s history discarded",
                    brain.lost_on,
                    brain.writes,
                    super::runner::stamp(brain.from),
                    super::runner::stamp(brain.to),
                    brain.won
                ));
            }
            for write in report.lost.iter().take(LOST_WRITES_TRACED) {
                self.event(format!("lost write: {}", write.describe()));
            }
            if report.lost.len() > LOST_WRITES_TRACED {
                self.event(format!(
                    "lost write: ... and {} more",
                    report.lost.len() - LOST_WRITES_TRACED
                ));
            }
        }
        // Through `violation`, as every other broken rule: the trace (and so
        // `replay`) shows each lost write where the run found it.
        for violation in account.violations {
            self.violation(violation);
        }
        self.losses = account.report;
        self.judge_loss_bounds();
    }

    /// The scenario's `losses` bounds against the run's loss report.
    fn judge_loss_bounds(&mut self) {
        let bounds = self.scenario.losses;
        let report = &self.losses;
        let mut broken = Vec::new();
        if let Some(check) = bounds.acknowledged {
            let lost = report.lost.len() as u64;
            if !check.holds(lost) {
                broken.push(format!(
                    "losses.acknowledged: {lost} of {} acknowledged writes lost, expected {check}",
                    report.acknowledged
                ));
            }
        }
        if let Some(check) = bounds.waited {
            let lost = report.lost_confirmed_on_survivors();
            if !check.holds(lost) {
                broken.push(format!(
                    "losses.waited: {lost} of {} writes a WAIT confirmed were lost although a replica that held them stayed up, expected {check}",
                    report.waited
                ));
            }
        }
        if let Some(check) = bounds.split_brain {
            let longest = report.longest_split_brain();
            if !check.holds(longest) {
                broken.push(format!(
                    "losses.split_brain: an old master acknowledged lost writes for {:.3}s, expected {check}",
                    longest.as_secs_f64()
                ));
            }
        }
        for text in broken {
            self.expectation(text);
        }
    }
}

/// How many lost writes a run's trace lists one by one (the report lists
/// them all).
const LOST_WRITES_TRACED: usize = 20;

/// Whether `replica`, streaming from `upstream` on the same history,
/// stands at a higher offset than it: bytes its master never sent.
///
/// A link that came up before the master last started is to a previous run
/// of it: a master restarted from an older RDB stands behind its replica
/// until the replica learns the link is gone and resyncs, as in Redis.
fn runs_ahead_of_its_master(
    replica: &crate::server::ServerState,
    upstream: &crate::server::ServerState,
) -> bool {
    let linked_to_this_run = replica
        .repl
        .master
        .as_ref()
        .and_then(|link| link.up_since)
        .is_some_and(|up| up >= upstream.started);
    replica.master_link_up()
        && linked_to_this_run
        && replica.repl.replid == upstream.repl.replid
        && replica.repl.offset > upstream.repl.offset
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::scenario::Scenario;
    use crate::sim::workload::WorkloadOutcome;
    use crate::sim::RunOptions;

    /// A replica at `offset`, linked since `up_since`, and its master at
    /// `master_offset`, started at `started`, on one history.
    fn pair(
        offset: u64,
        up_since: Duration,
        master_offset: u64,
        started: Duration,
    ) -> (crate::server::ServerState, crate::server::ServerState) {
        use crate::server::{Config, ServerState};
        let mut replica = ServerState::new(Config::default(), 1, 0, Duration::ZERO);
        let mut upstream = ServerState::new(Config::default(), 2, 0, started);
        upstream.repl.replid = replica.repl.replid.clone();
        upstream.repl.offset = master_offset;
        replica.repl.offset = offset;
        replica.repl.master = Some(crate::replication::MasterLink {
            host: "m".into(),
            port: 6379,
            state: crate::replication::LinkState::Connected,
            generation: 1,
            last_io: up_since,
            attempt: Default::default(),
            down_since: None,
            up_since: Some(up_since),
            client_id: Some(1),
            transfer: None,
            last_error: None,
        });
        (replica, upstream)
    }

    #[test]
    fn a_replica_ahead_of_the_master_it_streams_from_is_a_violation() {
        let (replica, upstream) = pair(100, Duration::from_secs(5), 90, Duration::from_secs(1));
        assert!(runs_ahead_of_its_master(&replica, &upstream));
        let (replica, upstream) = pair(90, Duration::from_secs(5), 90, Duration::from_secs(1));
        assert!(!runs_ahead_of_its_master(&replica, &upstream));
    }

    #[test]
    fn a_replica_ahead_of_a_restarted_master_it_has_not_relinked_to_is_not() {
        // The master restarted (from an older RDB) at 10 s; the replica's
        // link dates from its previous run.
        let (replica, upstream) = pair(100, Duration::from_secs(5), 0, Duration::from_secs(10));
        assert!(!runs_ahead_of_its_master(&replica, &upstream));
    }

    #[test]
    fn a_lost_write_is_traced_as_a_violation_like_every_other() {
        // m holds nothing, while a workload on it got an OK for a SET.
        let scenario = Scenario::parse(
            "t.json",
            r#"{"name": "t", "nodes": {"m": {}},
                "steps": [{"workload": {"on": "m", "ops": 1}}]}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let runtime = madsim::runtime::Runtime::with_seed_and_config(1, madsim::Config::default());
        let (trace, violations) = runtime.block_on(async move {
            let mut runner = Runner::new(scenario, 1, RunOptions::default());
            runner.spawn_nodes();
            madsim::time::sleep(Duration::from_millis(100)).await;
            runner.outcomes.push(WorkloadOutcome {
                string_writes: vec![StringWrite {
                    db: 0,
                    key: "str:1".into(),
                    value: Some("7-abc".into()),
                    acked: true,
                    sent_at: Duration::from_millis(10),
                    replied_at: Some(Duration::from_millis(12)),
                    node: "m".into(),
                    waited: None,
                }],
                ..WorkloadOutcome::default()
            });
            runner.check_acknowledged_writes();
            let trace = runner.trace.lock().expect("trace").clone();
            let violations = runner.violations.lock().expect("violations").clone();
            (trace, violations)
        });
        let write = "SET str:1 \"7-abc\" acknowledged by m at 0.012s (offset 0): \
                     m's history still has it, yet db 0 GET str:1 -> (nil)";
        let lost = format!("acknowledged write lost: {write}");
        assert_eq!(violations, vec![lost.clone()]);
        assert_eq!(
            trace,
            vec![
                "0.100s lost 1 of 1 acknowledged writes (100.0%; 0 confirmed by WAIT): \
                 1 unexplained (a violation)"
                    .to_string(),
                format!("0.100s lost write: {write}"),
                format!("0.100s VIOLATION {lost}")
            ]
        );
    }
}
