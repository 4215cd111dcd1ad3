//! The end of a run: every fault ends, background workloads are joined,
//! the liveness phase waits for convergence, and the run is judged (safety
//! before liveness before the scenario's own expectations) and hashed into
//! its report.

use std::collections::BTreeMap;
use std::time::Duration;

use sha1::{Digest, Sha1};

use super::lag::Traffic;
use super::runner::{now, stamp, Runner};
use super::{RunReport, Verdict};

impl Runner {
    /// Heals every fault, waits for convergence within the liveness bound,
    /// and judges the run.
    pub(super) async fn finish(mut self) -> RunReport {
        self.end_all_faults();
        self.join_background_workloads().await;
        self.join_background_commands().await;
        self.event("steps done: faults healed, waiting for convergence");
        let liveness = self.await_convergence().await;
        self.judge_subscribers().await;
        // Lost writes are only judged on a converged run.
        if liveness.is_ok() {
            self.check_acknowledged_writes();
        }
        if liveness.is_err() {
            self.note_stuck_replicas();
        }
        let verdict = self.verdict(liveness);
        self.event(format!("verdict {}", verdict.name()));
        self.report(verdict)
    }

    /// Judges what the `pubsub` family's subscribers received (nothing to
    /// do without them): lets every subscriber fence what was published up
    /// to now, stops them, and reports the figures and every broken rule.
    async fn judge_subscribers(&mut self) {
        if self.subscribers.is_empty() {
            return;
        }
        // Two fences: every subscriber that can still reach its node
        // sends a PING after the last message published.
        madsim::time::sleep(2 * super::pubsub::FENCE_EVERY + Duration::from_millis(50)).await;
        for subscriber in std::mem::take(&mut self.subscribers) {
            subscriber.abort();
        }
        let publications: Vec<super::pubsub::Publication> = self
            .outcomes
            .iter()
            .flat_map(|o| o.publications.iter().cloned())
            .collect();
        let connections = std::mem::take(
            &mut *self
                .subscriber_log
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        );
        let report = {
            let ledger = self.ledger.lock().unwrap_or_else(|p| p.into_inner());
            super::delivery::judge(&publications, &connections, ledger.publishes(), &*ledger)
        };
        self.event(report.summary());
        for violation in report.violations {
            self.violation(violation);
        }
    }

    /// The verdict: any safety violation wins, then a liveness failure,
    /// then the scenario's failed expectations.
    fn verdict(&mut self, liveness: Result<(), Vec<String>>) -> Verdict {
        let violations =
            std::mem::take(&mut *self.violations.lock().unwrap_or_else(|p| p.into_inner()));
        if !violations.is_empty() {
            Verdict::Safety(violations)
        } else if let Err(stuck) = liveness {
            Verdict::Liveness(
                stuck
                    .into_iter()
                    .map(|s| {
                        format!(
                            "replica did not converge within {}: {s}",
                            stamp(self.scenario.liveness)
                        )
                    })
                    .collect(),
            )
        } else if !self.expectations.is_empty() {
            Verdict::Expectation(std::mem::take(&mut self.expectations))
        } else {
            Verdict::Pass
        }
    }

    /// The run's report: its trace and the nodes' logs, and the SHA1 of
    /// both that fingerprints the run.
    fn report(self, verdict: Verdict) -> RunReport {
        let trace = std::mem::take(&mut *self.trace.lock().unwrap_or_else(|p| p.into_inner()));
        let log: Vec<String> = self
            .log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|l| l.to_string())
            .collect();
        let mut hasher = Sha1::new();
        for line in trace.iter().chain(&log) {
            hasher.update(line.as_bytes());
            hasher.update(b"\n");
        }
        let (lag, skewed_reads) = {
            let ledger = self.ledger.lock().unwrap_or_else(|p| p.into_inner());
            (ledger.timelines().lag(now()), ledger.skewed_reads().clone())
        };
        let servers: Vec<&str> = self.nodes.iter().map(|n| n.name.as_str()).collect();
        let mut traffic: BTreeMap<String, Traffic> = servers
            .iter()
            .map(|name| (name.to_string(), Traffic::default()))
            .collect();
        for ((from, to), bytes) in self.net.bytes_sent() {
            if let Some(sent) = traffic.get_mut(&from) {
                if servers.contains(&to.as_str()) {
                    sent.to_servers += bytes;
                } else {
                    sent.to_clients += bytes;
                }
            }
        }
        let timeline = self.finish_timeline(&verdict, &trace, &log);
        RunReport {
            losses: self.losses.clone(),
            lag,
            traffic,
            messages: self.net.writes(),
            skewed_reads,
            scenario: self.scenario.name.clone(),
            file: self.scenario.file.clone(),
            seed: self.seed,
            verdict,
            simulated: now(),
            // The caller measures wall time outside the simulation.
            wall: Duration::ZERO,
            trace_hash: crate::digest::to_hex(&hasher.finalize().into()),
            timeline,
            trace,
            log,
        }
    }
}
