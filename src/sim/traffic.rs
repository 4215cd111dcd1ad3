//! Workload traffic: the `workload` step's writer clients on one node,
//! the reader clients it starts on the replicas serving that node's data,
//! the subscriber clients of its `pubsub` family (on that node and on
//! those replicas, until the end of the run), and joining them (at once,
//! or at the end of the run for a background workload) into the run's
//! outcomes.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::derive_seed;
use super::runner::{draw_duration, now, stamp, Runner};
use super::workload::{self, WorkloadOutcome};
use crate::scenario::{WorkloadKind, WorkloadSpec};

/// A started workload: its clients' join handles.
pub(super) struct RunningWorkload {
    /// The path of the step that started it.
    step: String,
    clients: Vec<madsim::task::JoinHandle<WorkloadOutcome>>,
    /// Reader clients on replicas, stopped once the writers are done.
    readers: Vec<madsim::task::JoinHandle<()>>,
    /// Whether its clients follow the master through the Sentinels.
    follow: bool,
}

impl Runner {
    /// A `workload` step: starts its clients and readers, then waits for
    /// them unless the step runs in the `background`.
    pub(super) async fn workload(
        &mut self,
        index: usize,
        path: &str,
        spec: &WorkloadSpec,
        background: bool,
        rng: &mut ChaCha8Rng,
    ) {
        let ops = spec.ops.map(|r| {
            if r.max <= r.min {
                r.min
            } else {
                rng.gen_range(r.min..=r.max)
            }
        });
        let until = spec.duration.map(|d| now() + draw_duration(rng, d));
        let host = spec.on.clone();
        let role = self.node(&host).role_watch();
        let follow = spec.follow.then(|| workload::Follow {
            sentinels: self.sentinels.iter().map(|s| s.name.clone()).collect(),
            master_name: self
                .sentinels
                .first()
                .map_or_else(|| "mymaster".to_string(), |s| s.master_name.clone()),
            nodes: self
                .nodes
                .iter()
                .map(|n| (n.ip.to_string(), n.name.clone()))
                .collect(),
        });
        let clients = spec.clients.max(1);
        let mut handles = Vec::new();
        for client in 0..clients {
            // The first `ops % clients` clients send one operation more.
            let share = ops.map(|n| {
                n / u64::from(clients) + u64::from(u64::from(client) < n % u64::from(clients))
            });
            let seed = derive_seed(self.seed, &format!("step {index} client {client}"));
            let task = workload::run_client(
                host.clone(),
                spec.clone(),
                format!("s{index}c{client}"),
                seed,
                share,
                until,
                role.clone(),
                follow.clone(),
            );
            handles.push(self.client.spawn(task));
        }
        let ops_text = ops.map_or("no op limit".to_string(), |n| format!("{n} ops"));
        let until_text = until.map_or("no time limit".to_string(), |t| {
            format!("until {}", stamp(t))
        });
        self.event(format!(
            "{path} workload on {host}: {clients} clients, {ops_text}, {until_text}"
        ));
        let readers = self.spawn_readers(index, spec);
        if spec.mix.contains(&WorkloadKind::Pubsub) {
            self.spawn_subscribers(index, spec);
        }
        let started = RunningWorkload {
            step: path.to_string(),
            clients: handles,
            readers,
            follow: spec.follow,
        };
        if background {
            self.background.push(started);
        } else {
            self.join_workload(started).await;
        }
    }

    /// Starts a reader client on every replica serving the data of the
    /// workload's top master (none when the workload's read rate is 0).
    fn spawn_readers(
        &self,
        index: usize,
        spec: &WorkloadSpec,
    ) -> Vec<madsim::task::JoinHandle<()>> {
        let rate = spec.read_rate();
        if rate <= 0.0 {
            return Vec::new();
        }
        let top = self.top_master(&spec.on);
        let replicas: Vec<String> = self
            .topology
            .iter()
            .filter(|(name, master)| {
                master.is_some() && **name != spec.on && self.top_master(name) == top
            })
            .map(|(name, _)| name.clone())
            .collect();
        replicas
            .into_iter()
            .map(|replica| {
                let seed = derive_seed(self.seed, &format!("step {index} reader {replica}"));
                let task = workload::run_reader(replica, spec.clone(), seed, rate);
                self.client.spawn(task)
            })
            .collect()
    }

    /// Starts a subscriber client of the `pubsub` family on the
    /// workload's node and on every other node serving the data of its top
    /// master (the top master included); they run until the end of the
    /// run.
    fn spawn_subscribers(&mut self, index: usize, spec: &WorkloadSpec) {
        let top = self.top_master(&spec.on);
        let nodes: Vec<String> = self
            .topology
            .keys()
            .filter(|name| **name == spec.on || self.top_master(name) == top)
            .cloned()
            .collect();
        for node in nodes {
            let name = format!("steps[{index}] subscriber on {node}");
            let seed = derive_seed(self.seed, &format!("step {index} subscriber {node}"));
            let task = super::pubsub::run_subscriber(name, node, seed, self.subscriber_log.clone());
            self.subscribers.push(self.client.spawn(task));
        }
    }

    /// Joins every workload still running in the background, in the order
    /// they started.
    pub(super) async fn join_background_workloads(&mut self) {
        let background = std::mem::take(&mut self.background);
        for workload in background {
            self.join_workload(workload).await;
        }
    }

    /// Waits for a workload's writers, stops its readers, and records what
    /// it did (read-only violations its clients saw are safety violations).
    async fn join_workload(&mut self, workload: RunningWorkload) {
        let mut total = WorkloadOutcome::default();
        for (index, client) in workload.clients.into_iter().enumerate() {
            // A writer that panics takes the whole simulation down with it
            // (madsim resumes the panic), which is a crash verdict. A join
            // can then only fail if the writer was cancelled, which the
            // runner never does; were it to happen, its acknowledged writes
            // and read-only violations would be lost to the checker, so the
            // run crashes rather than be judged without them.
            let outcome = client.await.unwrap_or_else(|error| {
                panic!(
                    "{} workload client {index} ended without its outcome: {error}",
                    workload.step
                )
            });
            total.sent += outcome.sent;
            total.acked += outcome.acked;
            total.errors += outcome.errors;
            total.unanswered += outcome.unanswered;
            total.switches_followed += outcome.switches_followed;
            total.rediscoveries += outcome.rediscoveries;
            total.string_writes.extend(outcome.string_writes);
            total
                .readonly_violations
                .extend(outcome.readonly_violations);
            total.publications.extend(outcome.publications);
        }
        for reader in &workload.readers {
            reader.abort();
        }
        let moves = if workload.follow {
            format!(
                "; moved on +switch-master {} times, to a master a Sentinel named after a lost connection or READONLY {} times",
                total.switches_followed, total.rediscoveries
            )
        } else {
            String::new()
        };
        self.event(format!(
            "{} workload done: sent {} acked {} errors {} unanswered {}{moves}",
            workload.step, total.sent, total.acked, total.errors, total.unanswered
        ));
        for violation in std::mem::take(&mut total.readonly_violations) {
            self.violation(format!("{}: {violation}", workload.step));
        }
        self.outcomes.push(total);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::scenario::Scenario;
    use crate::sim::RunOptions;

    #[test]
    #[should_panic(expected = "steps[0] workload client 0 ended without its outcome")]
    fn a_workload_client_that_ends_without_its_outcome_crashes_the_run() {
        let scenario = Scenario::parse(
            "t.json",
            r#"{"name": "t", "nodes": {"m": {}}, "steps": []}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let runtime = madsim::runtime::Runtime::with_seed_and_config(1, madsim::Config::default());
        runtime.block_on(async move {
            let mut runner = Runner::new(scenario, 1, RunOptions::default());
            let client = runner.client.spawn(async {
                madsim::time::sleep(Duration::from_secs(1)).await;
                WorkloadOutcome::default()
            });
            client.abort();
            let workload = RunningWorkload {
                step: "steps[0]".into(),
                clients: vec![client],
                readers: Vec::new(),
                follow: false,
            };
            runner.join_workload(workload).await;
        });
    }
}
