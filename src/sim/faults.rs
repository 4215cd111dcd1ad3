//! Fault injection: the `cut`, `partition`, `throttle`, `stall`, `heal`,
//! `network`, `crash`, `restart`, `pause` and `resume` steps, ending every
//! fault before the liveness phase, and the bookkeeping of when
//! connections between two nodes last broke (convergence requires links
//! made after that).

use std::time::Duration;

use rand_chacha::ChaCha8Rng;

use super::cluster::{self, NodeStatus};
use super::runner::{draw_duration, now, stamp, Runner};
use crate::scenario::DurationRange;
use crate::timeline::{FaultKind, NodeEventKind};

/// How a `partition` step cuts its links.
#[derive(Debug, Clone, Copy)]
pub(super) struct PartitionShape {
    /// Only from the first group to the second.
    pub oneway: bool,
    /// Closes and connection attempts get no answer until it heals.
    pub black_hole: bool,
}

impl Runner {
    /// A `cut` step: closes every connection between `a` and `b`.
    pub(super) fn cut(&mut self, path: &str, a: &str, b: &str) {
        let cut = self.net.cut(a, b);
        self.note_broken(a, b);
        self.event(format!("{path} cut {a} <-> {b}: {cut} connection ends"));
        self.timeline
            .fault_started(FaultKind::Cut, format!("cut {a} <-> {b}"), &[a, b]);
    }

    /// A `partition` step: clogs every link from `one` to `other` (and
    /// back unless `oneway`), black-holing them unless told otherwise,
    /// and heals its own links after `duration` when one is given (links
    /// another partition still holds stay clogged).
    pub(super) async fn partition(
        &mut self,
        path: &str,
        one: &[String],
        other: &[String],
        shape: PartitionShape,
        duration: Option<DurationRange>,
        rng: &mut ChaCha8Rng,
    ) {
        let net = madsim::net::NetSim::current();
        let mut links = Vec::new();
        for a in one {
            for b in other {
                links.push((a.clone(), b.clone()));
                if !shape.oneway {
                    links.push((b.clone(), a.clone()));
                }
            }
        }
        for (a, b) in &links {
            net.clog_link(self.host_id(a), self.host_id(b));
            if shape.black_hole {
                self.net.silence_link(a, b);
            }
            self.clogged
                .push(((a.clone(), b.clone()), shape.black_hole));
        }
        let label = format!(
            "partition {} {} {}{}",
            one.join(","),
            if shape.oneway { "->" } else { "<->" },
            other.join(","),
            if shape.black_hole {
                ""
            } else {
                " (closes get through)"
            }
        );
        self.event(format!("{path} {label}"));
        let struck: Vec<&str> = one.iter().chain(other).map(String::as_str).collect();
        let band = self
            .timeline
            .fault_started(FaultKind::Partition, label, &struck);
        if let Some(range) = duration {
            let duration = draw_duration(rng, range);
            self.sleep_watching(duration).await;
            self.unclog(&links, shape.black_hole);
            self.timeline.fault_ended(band);
            self.event(format!("{path} partition healed after {}", stamp(duration)));
        }
    }

    /// Ends one partition: each of its `links` is released once, and
    /// unclogged only when no other partition still holds it (madsim keeps
    /// a clogged link as a set member, not a count, so the count is ours;
    /// the network counts silences itself).
    fn unclog(&mut self, links: &[(String, String)], black_hole: bool) {
        let net = madsim::net::NetSim::current();
        for link in links {
            let entry = (link.clone(), black_hole);
            if let Some(held) = self.clogged.iter().position(|l| *l == entry) {
                self.clogged.remove(held);
            }
            if !self.clogged.iter().any(|(l, _)| l == link) {
                net.unclog_link(self.host_id(&link.0), self.host_id(&link.1));
            }
            if black_hole {
                self.net.unsilence_link(&link.0, &link.1);
            }
        }
    }

    /// A `throttle` step: the link from `from` to `to` (or, without
    /// `to`, `from`'s interface) carries `bandwidth` (`None`: unlimited),
    /// back to its default after `duration` when one is given, else at the
    /// end of the steps.
    pub(super) async fn throttle(
        &mut self,
        path: &str,
        from: &str,
        to: Option<&str>,
        bandwidth: Option<u64>,
        duration: Option<DurationRange>,
        rng: &mut ChaCha8Rng,
    ) {
        let held = (from.to_string(), to.map(str::to_string));
        self.set_throttle(&held, Some(bandwidth));
        self.throttled.push(held.clone());
        let rate = bandwidth.map_or("unlimited".to_string(), |b| format!("{b} B/s"));
        let what = match to {
            Some(to) => format!("{from} -> {to}"),
            None => format!("{from}'s interface"),
        };
        self.event(format!("{path} throttle {what} to {rate}"));
        let struck: Vec<&str> = std::iter::once(from).chain(to).collect();
        let band = self.timeline.fault_started(
            FaultKind::Throttle,
            format!("throttle {what} to {rate}"),
            &struck,
        );
        if let Some(range) = duration {
            let duration = draw_duration(rng, range);
            self.sleep_watching(duration).await;
            self.end_throttle(&held);
            self.timeline.fault_ended(band);
            self.event(format!("{path} throttle ended after {}", stamp(duration)));
        }
    }

    /// Sets (or with `None` takes away) the bandwidth a throttle of
    /// `held` (a link, or an interface without a receiver) gives.
    fn set_throttle(&self, held: &(String, Option<String>), bandwidth: Option<Option<u64>>) {
        match &held.1 {
            Some(to) => self.net.set_link_bandwidth(&held.0, to, bandwidth),
            None => self.net.set_node_bandwidth(&held.0, bandwidth),
        }
    }

    /// Ends one throttle of `held`; its default comes back once no other
    /// throttle holds it.
    fn end_throttle(&mut self, held: &(String, Option<String>)) {
        if let Some(index) = self.throttled.iter().position(|l| l == held) {
            self.throttled.remove(index);
        }
        if !self.throttled.contains(held) {
            self.set_throttle(held, None);
        }
    }

    /// A `stall` step: `node` stops reading what `from` sends it, until
    /// `duration` passes when one is given, else until the end of the
    /// steps.
    pub(super) async fn stall(
        &mut self,
        path: &str,
        node: &str,
        from: &str,
        duration: Option<DurationRange>,
        rng: &mut ChaCha8Rng,
    ) {
        self.net.set_stalled(node, from, true);
        let link = (node.to_string(), from.to_string());
        self.stalled.push(link.clone());
        self.event(format!("{path} stall: {node} stops reading {from}"));
        let band = self.timeline.fault_started(
            FaultKind::Stall,
            format!("stall: {node} stops reading {from}"),
            &[node, from],
        );
        if let Some(range) = duration {
            let duration = draw_duration(rng, range);
            self.sleep_watching(duration).await;
            self.end_stall(&link);
            self.timeline.fault_ended(band);
            self.event(format!("{path} stall ended after {}", stamp(duration)));
        }
    }

    /// Ends one stall of (`reader`, `writer`); reading resumes once no
    /// other stall holds it.
    fn end_stall(&mut self, link: &(String, String)) {
        if let Some(held) = self.stalled.iter().position(|l| l == link) {
            self.stalled.remove(held);
        }
        if !self.stalled.contains(link) {
            self.net.set_stalled(&link.0, &link.1, false);
        }
    }

    /// A `disk` step: `node`'s disk fails every write as `fault` says, or
    /// works again.
    pub(super) fn disk(
        &mut self,
        path: &str,
        node: &str,
        fault: Option<crate::runtime::DiskFault>,
    ) {
        self.node(node)
            .disk
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .set_fault(fault);
        let what = match fault {
            Some(crate::runtime::DiskFault::Full) => "is full",
            Some(crate::runtime::DiskFault::Failing) => "fails every write",
            Some(crate::runtime::DiskFault::Torn) => "tears its next write",
            None => "works again",
        };
        self.event(format!("{path} disk of {node} {what}"));
    }

    /// A `clock` step: moves `node`'s wall clock and/or sets its drift.
    pub(super) fn clock(
        &mut self,
        path: &str,
        node: &str,
        jump_ms: Option<i64>,
        drift: Option<f64>,
    ) {
        let mut label = format!("clock {node}");
        if let Some(delta) = jump_ms {
            self.clocks.jump(node, delta);
            label.push_str(&format!(" jumps {delta:+} ms"));
        }
        if let Some(rate) = drift {
            self.clocks.set_drift(node, rate);
            label.push_str(&format!(" drifts {rate:+} ms/ms"));
        }
        label.push_str(&format!(" (now {:+} ms off)", self.clocks.skew_ms(node)));
        self.event(format!("{path} {label}"));
        self.timeline
            .fault_started(FaultKind::Clock, label, &[node]);
    }

    /// A `heal` step: removes every partition.
    pub(super) fn heal(&mut self, path: &str) {
        self.unclog_all();
        self.event(format!("{path} heal"));
        self.timeline.faults_ended(Some(FaultKind::Partition));
    }

    /// Unclogs every link a partition clogged.
    fn unclog_all(&mut self) {
        let net = madsim::net::NetSim::current();
        for ((a, b), _) in std::mem::take(&mut self.clogged) {
            net.unclog_link(self.host_id(&a), self.host_id(&b));
        }
        self.net.unsilence_all();
    }

    /// A `network` step: new latency and/or loss from now on.
    pub(super) fn change_network(
        &self,
        path: &str,
        latency: Option<DurationRange>,
        loss: Option<f64>,
        bandwidth: Option<Option<u64>>,
        window: Option<u64>,
    ) {
        let net = madsim::net::NetSim::current();
        net.update_config(|config| {
            if let Some(latency) = latency {
                // madsim needs a non-empty range; a fixed latency is
                // widened by a microsecond.
                config.send_latency =
                    latency.min..latency.max.max(latency.min + Duration::from_micros(1));
            }
            if let Some(loss) = loss {
                config.packet_loss_rate = loss;
            }
        });
        if let Some(bandwidth) = bandwidth {
            self.net.set_bandwidth(bandwidth);
        }
        if let Some(window) = window {
            self.net.set_window(window as usize);
        }
        let latency = latency.map_or("unchanged".to_string(), |l| l.to_string());
        let loss = loss.map_or("unchanged".to_string(), |l| l.to_string());
        let mut line = format!("{path} network latency {latency} loss {loss}");
        if let Some(bandwidth) = bandwidth {
            match bandwidth {
                Some(rate) => line.push_str(&format!(" bandwidth {rate} B/s")),
                None => line.push_str(" bandwidth unlimited"),
            }
        }
        if let Some(window) = window {
            line.push_str(&format!(" window {window} B"));
        }
        let label = line.trim_start_matches(path).trim_start().to_string();
        self.timeline.fault_started(FaultKind::Network, label, &[]);
        self.event(line);
    }

    /// A `crash` step. The node's `command` session dies with it. Without
    /// `fin` its host loses power: its peers are not told.
    pub(super) fn crash(&mut self, path: &str, node: &str, lose_unsynced: bool, fin: bool) {
        if !fin {
            self.net.power_off(node);
        }
        let handle = self.handle.clone();
        if self.is_sentinel(node) {
            handle.kill(self.host_id(node));
            self.sentinel_mut(node).status = NodeStatus::Crashed;
            let how = if fin { "" } else { " (powered off, no FIN)" };
            self.event(format!("{path} crash {node}{how}"));
            return;
        }
        cluster::crash(&handle, self.node_mut(node), lose_unsynced);
        self.ledger
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .node_down(node);
        self.note_node_broken(node);
        self.sessions.remove(node);
        let how = if fin { "" } else { " (powered off, no FIN)" };
        self.event(format!("{path} crash {node}{how}"));
        let what = match (lose_unsynced, fin) {
            (false, true) => "crash",
            (true, true) => "crash (unsynced writes lost)",
            (false, false) => "crash (powered off, no FIN)",
            (true, false) => "crash (powered off, no FIN, unsynced writes lost)",
        };
        self.timeline
            .node_event(node, NodeEventKind::Crash, what.to_string());
    }

    /// A `restart` step.
    pub(super) fn restart(&mut self, path: &str, node: &str) {
        self.restart_node(node);
        self.event(format!("{path} restart {node}"));
    }

    /// Restarts a crashed node from its disk, the one way both a `restart`
    /// step and the end of the steps do it: the node comes back with the
    /// master its config names (a REPLICAOF it accepted since was not
    /// saved), so the topology convergence is judged against follows it.
    fn restart_node(&mut self, node: &str) {
        let handle = self.handle.clone();
        if self.is_sentinel(node) {
            handle.restart(self.host_id(node));
            self.sentinel_mut(node).status = NodeStatus::Up;
            self.net.power_on(node);
            return;
        }
        cluster::restart(&handle, self.node_mut(node));
        self.net.power_on(node);
        self.timeline
            .node_event(node, NodeEventKind::Restart, "restart".to_string());
        let configured = self
            .scenario
            .nodes
            .iter()
            .find(|n| n.name == node)
            .and_then(|n| n.replicaof.clone());
        self.topology.insert(node.to_string(), configured);
    }

    /// A `pause` step, resuming the node by itself after `duration` when
    /// one is given.
    pub(super) async fn pause(
        &mut self,
        path: &str,
        node: &str,
        duration: Option<DurationRange>,
        rng: &mut ChaCha8Rng,
    ) {
        self.handle.pause(self.host_id(node));
        self.set_status(node, NodeStatus::Paused);
        self.event(format!("{path} pause {node}"));
        self.timeline
            .node_event(node, NodeEventKind::Pause, "pause".to_string());
        if let Some(range) = duration {
            let duration = draw_duration(rng, range);
            self.sleep_watching(duration).await;
            self.resume_node(node);
            self.event(format!("{path} resume {node} after {}", stamp(duration)));
        }
    }

    /// A `resume` step.
    pub(super) fn resume(&mut self, path: &str, node: &str) {
        self.resume_node(node);
        self.event(format!("{path} resume {node}"));
    }

    /// Unfreezes a paused node (a `resume` step, a timed pause ending, or
    /// the end of the steps).
    fn resume_node(&mut self, node: &str) {
        self.handle.resume(self.host_id(node));
        self.set_status(node, NodeStatus::Up);
        self.timeline
            .node_event(node, NodeEventKind::Resume, "resume".to_string());
    }

    /// Ends every fault before the liveness phase: partitions heal, paused
    /// nodes resume, crashed nodes restart exactly as a `restart` step
    /// restarts them (silently: the trace notes only that the steps are
    /// done). Nodes are taken in scenario order, which fixes the order of
    /// madsim's resumes and restarts.
    pub(super) fn end_all_faults(&mut self) {
        self.timeline.faults_ended(None);
        self.unclog_all();
        for held in std::mem::take(&mut self.throttled) {
            self.set_throttle(&held, None);
        }
        for (reader, writer) in std::mem::take(&mut self.stalled) {
            self.net.set_stalled(&reader, &writer, false);
        }
        for node in &self.nodes {
            node.disk
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .set_fault(None);
        }
        let stopped: Vec<(String, NodeStatus)> = self
            .nodes
            .iter()
            .map(|node| (node.name.clone(), node.status))
            .chain(self.sentinels.iter().map(|s| (s.name.clone(), s.status)))
            .collect();
        for (name, status) in stopped {
            match status {
                NodeStatus::Paused => self.resume_node(&name),
                NodeStatus::Crashed => self.restart_node(&name),
                NodeStatus::Up => {}
            }
        }
    }

    /// madsim's id of a node's or a Sentinel's host.
    fn host_id(&self, name: &str) -> madsim::task::NodeId {
        if name == super::runner::CLIENTS {
            return self.client.id();
        }
        match self.sentinels.iter().find(|s| s.name == name) {
            Some(sentinel) => sentinel.handle.id(),
            None => self.node(name).handle.id(),
        }
    }

    fn set_status(&mut self, name: &str, status: NodeStatus) {
        if self.is_sentinel(name) {
            self.sentinel_mut(name).status = status;
        } else {
            self.node_mut(name).status = status;
        }
    }

    /// Notes that connections between `a` and `b` broke now.
    fn note_broken(&mut self, a: &str, b: &str) {
        let key = if a <= b {
            (a.to_string(), b.to_string())
        } else {
            (b.to_string(), a.to_string())
        };
        self.broken_at.insert(key, now());
    }

    /// Notes that every connection of `node` broke now.
    fn note_node_broken(&mut self, node: &str) {
        let others: Vec<String> = self
            .scenario
            .nodes
            .iter()
            .map(|n| n.name.clone())
            .filter(|n| n != node)
            .collect();
        for other in others {
            self.note_broken(node, &other);
        }
    }

    /// When connections between `a` and `b` last broke, if ever.
    pub(super) fn broken_since(&self, a: &str, b: &str) -> Option<Duration> {
        let key = if a <= b { (a, b) } else { (b, a) };
        self.broken_at
            .get(&(key.0.to_string(), key.1.to_string()))
            .copied()
    }
}
