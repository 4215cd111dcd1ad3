//! The scenario's own assertions: the `check` step (convergence, sync
//! counts, INFO fields and log lines at one point of the run) and the
//! `await` step (polling a condition until it holds or its timeout
//! passes). A failure is an expectation, never a safety violation.

use std::fmt::Write;
use std::time::Duration;

use super::expect;
use super::runner::{now, stamp, Runner};
use super::workload;
use crate::scenario::{AwaitCondition, CheckSpec};

impl Runner {
    /// An `await` step: polls `condition` every 50 ms of simulated time
    /// (checking safety meanwhile) until it holds or `timeout` passes.
    pub(super) async fn await_condition(
        &mut self,
        path: &str,
        condition: &AwaitCondition,
        timeout: Duration,
    ) {
        self.event(format!(
            "{path} await {condition} within {}",
            stamp(timeout)
        ));
        let deadline = now() + timeout;
        let mut last_reply = None;
        loop {
            // A failover that ends meanwhile changes what converged means.
            self.follow_failovers();
            self.follow_sentinels();
            let satisfied = match condition {
                AwaitCondition::Linked => self.all_linked(),
                AwaitCondition::Converged => self.is_converged(),
                AwaitCondition::Info { on, field, expect } => {
                    expect::info_holds(expect, self.info_field(on, field).as_deref())
                }
                AwaitCondition::Reply {
                    on,
                    args,
                    db,
                    expect,
                } => {
                    let (host, args, db) = (on.clone(), args.clone(), *db);
                    let reply = self
                        .operator
                        .spawn(async move { workload::one_command(&host, db, &args).await })
                        .await
                        .ok()
                        .flatten();
                    let matched = expect::reply_matches(expect, reply.as_ref());
                    last_reply = Some(reply);
                    matched
                }
            };
            if satisfied {
                self.event(format!("{path} await satisfied"));
                break;
            }
            if now() >= deadline {
                let mut message = format!(
                    "{path}: await {condition} not satisfied within {}",
                    stamp(timeout)
                );
                if let Some(reply) = &last_reply {
                    let _ = write!(
                        message,
                        " (last reply: {})",
                        expect::show_reply(reply.as_ref())
                    );
                }
                if let Err(stuck) = self.converged() {
                    let _ = write!(message, " ({})", stuck.join("; "));
                }
                self.expectation(message);
                break;
            }
            self.sleep_watching(Duration::from_millis(50)).await;
        }
    }

    /// A `check` step.
    pub(super) fn check(&mut self, path: &str, spec: &CheckSpec) {
        if spec.converged {
            match self.converged() {
                Ok(()) => self.event(format!("{path} check converged: ok")),
                Err(stuck) => {
                    self.expectation(format!("{path}: not converged: {}", stuck.join("; ")))
                }
            }
        }
        let Some(on) = &spec.on else { return };
        let counter = |field: &str| {
            self.info_field(on, field)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        // A replica's full/partial syncs are counted by the syncs it
        // received, read from its log; a master's by what it served.
        let lines: Vec<String> = self
            .log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|l| &l.node == on)
            .map(|l| l.message.clone())
            .collect();
        let received_full = lines
            .iter()
            .filter(|l| l.starts_with("Full resync from master:"))
            .count() as u64;
        let received_partial = lines
            .iter()
            .filter(|l| l.as_str() == "Successful partial resynchronization with master.")
            .count() as u64;
        let is_replica_config = self
            .scenario
            .nodes
            .iter()
            .any(|n| &n.name == on && n.replicaof.is_some())
            || self.topology.get(on).cloned().flatten().is_some();
        let syncs = [
            ("full_syncs", &spec.full_syncs, received_full, "sync_full"),
            (
                "partial_syncs",
                &spec.partial_syncs,
                received_partial,
                "sync_partial_ok",
            ),
        ];
        let mut failed = Vec::new();
        for (what, expected, received, served_field) in syncs {
            let Some(expected) = expected else { continue };
            let actual = if is_replica_config {
                received
            } else {
                counter(served_field)
            };
            if expected.holds(actual) {
                self.event(format!("{path} check {on} {what} {actual}: ok"));
            } else {
                failed.push(format!("{path}: {on} {what} {actual}, expected {expected}"));
            }
        }
        for (field, expected) in &spec.info {
            let actual = self.info_field(on, field);
            if expect::info_holds(expected, actual.as_deref()) {
                self.event(format!("{path} check {on} {field} {expected}: ok"));
            } else {
                let failure = expect::info_failure(on, field, expected, actual.as_deref());
                failed.push(format!("{path}: {failure}"));
            }
        }
        for wanted in &spec.log {
            if lines.iter().any(|l| l.contains(wanted.as_str())) {
                self.event(format!("{path} check {on} log {wanted:?}: ok"));
            } else {
                failed.push(format!(
                    "{path}: no line containing {wanted:?} in {on}'s log"
                ));
            }
        }
        for failure in failed {
            self.expectation(failure);
        }
    }

    /// `field`'s value in `node`'s INFO (every section), as INFO would
    /// print it now; `None` when the node is down or has no such field.
    fn info_field(&self, node: &str, field: &str) -> Option<String> {
        let sections = vec!["everything".to_string()];
        self.node(node).with_state(|state| {
            let text = crate::server::render_info(
                state,
                &sections,
                state.started_unix_ms + now().as_millis() as u64,
                state.clients.len(),
            );
            text.lines().find_map(|l| {
                l.strip_prefix(&format!("{field}:"))
                    .map(|v| v.trim().to_string())
            })
        })?
    }
}
