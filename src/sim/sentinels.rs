//! The scenario's Sentinels: each runs replsim's Sentinel on a simulated
//! host of its own (faults apply to it as to any node), the runner follows
//! the roles they hand out, and Sentinel's own safety rules are judged
//! from what each one did:
//!
//! - a Sentinel votes at most once per epoch, and at most one leader per
//!   epoch gets the votes it needs;
//! - a Sentinel's current epoch and a master's config epoch never go back
//!   (a Sentinel that crashes in the middle of a failover may come back
//!   with the new epoch and the old address, as Redis's own sentinel.conf
//!   then says: that is no violation);
//! - the replica a failover selects is a node of the run, and not the
//!   master being failed over;
//! - once the run converged, every running Sentinel names the same master,
//!   and that node is a master.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use madsim::runtime::{Handle, NodeHandle};

use super::cluster::NodeStatus;
use super::runner::Runner;
use crate::log::{SharedSimLog, SimLog};
use crate::runtime::{MemDisk, MemStorage, SimNet, SimRuntime};
use crate::scenario::SentinelSpec;
use crate::sentinel::config::SentinelConfig;
use crate::sentinel::{Sentinel, SentinelView};

/// The port every simulated Sentinel listens on.
pub const SENTINEL_PORT: u16 = 26379;

/// One Sentinel host of the run.
pub struct SimSentinel {
    /// Its scenario name (also its DNS name).
    pub name: String,
    /// madsim's handle.
    pub handle: NodeHandle,
    /// Running, crashed or paused.
    pub status: NodeStatus,
    /// The master name it monitors.
    pub master_name: String,
    /// Its quorum.
    pub quorum: u32,
    sentinel: Arc<Mutex<Option<Sentinel<SimRuntime>>>>,
}

impl SimSentinel {
    /// What it believes and did, if it runs.
    pub fn view(&self) -> Option<SentinelView> {
        if self.status == NodeStatus::Crashed {
            return None;
        }
        let sentinel = self.sentinel.lock().unwrap_or_else(|p| p.into_inner());
        sentinel.as_ref().map(Sentinel::view)
    }
}

/// Starts the Sentinel `spec` on a host of its own at `ip`, monitoring
/// `master_ip`. A restart reads back the configuration it rewrote on its
/// disk, as a real Sentinel reads sentinel.conf.
#[allow(clippy::too_many_arguments)]
pub fn spawn_sentinel(
    handle: &Handle,
    net: &Arc<SimNet>,
    log: &SharedSimLog,
    run_seed: u64,
    ip: IpAddr,
    spec: &SentinelSpec,
    master_ip: IpAddr,
    planted: crate::server::probe::PlantedBugs,
) -> SimSentinel {
    net.add_node(ip, &spec.name);
    madsim::net::NetSim::current().add_dns_record(&spec.name, ip);
    let slot: Arc<Mutex<Option<Sentinel<SimRuntime>>>> = Arc::default();
    let mut text = format!(
        "sentinel monitor {} {master_ip} {} {}\n",
        spec.master_name,
        super::cluster::PORT,
        spec.quorum
    );
    for (key, value) in &spec.config {
        text.push_str(&format!("sentinel {key} {} {value}\n", spec.master_name));
    }
    let lives = Arc::new(std::sync::atomic::AtomicU64::new(0));
    // Its disk outlives a crash: the Sentinel reads back the configuration
    // it rewrote (id, epochs, the master it knows), as from sentinel.conf.
    let disk = Arc::new(Mutex::new(MemDisk::default()));
    let init = {
        let (name, net, log, slot) = (spec.name.clone(), net.clone(), log.clone(), slot.clone());
        move || {
            let life = lives.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let seed = super::derive_seed(run_seed, &format!("sentinel {name} life {life}"));
            let logger = Arc::new(SimLog::new(
                name.clone(),
                log.clone(),
                SimRuntime::elapsed_ms,
            ));
            let runtime = SimRuntime::new(
                &name,
                seed,
                Arc::new(MemStorage::new(disk.clone())),
                logger,
                net.clone(),
            );
            let mut config = SentinelConfig {
                port: SENTINEL_PORT,
                planted_votes_twice: planted.sentinel_votes_twice,
                ..SentinelConfig::default()
            };
            // Validation ran this text through the same parser.
            config
                .apply(&text)
                .unwrap_or_else(|e| panic!("validated Sentinel config refused: {e}"));
            let sentinel = Sentinel::new(runtime, config);
            *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(sentinel.clone());
            async move {
                if let Err(error) = sentinel.run().await {
                    panic!("Sentinel stopped: {error}");
                }
            }
        }
    };
    let node = handle
        .create_node()
        .name(&spec.name)
        .ip(ip)
        .init(init)
        .build();
    SimSentinel {
        name: spec.name.clone(),
        handle: node,
        status: NodeStatus::Up,
        master_name: spec.master_name.clone(),
        quorum: spec.quorum,
        sentinel: slot,
    }
}

/// What the checker remembers of the Sentinels between samples.
#[derive(Debug, Default)]
pub struct SentinelMemory {
    /// Each Sentinel's highest current epoch seen.
    current_epochs: BTreeMap<String, u64>,
    /// Each (Sentinel, master name)'s highest config epoch seen.
    config_epochs: BTreeMap<(String, String), u64>,
    /// Rules already reported, once each.
    reported: BTreeSet<String>,
}

impl Runner {
    /// Whether `name` is one of the scenario's Sentinels.
    pub(super) fn is_sentinel(&self, name: &str) -> bool {
        self.sentinels.iter().any(|s| s.name == name)
    }

    pub(super) fn sentinel_mut(&mut self, name: &str) -> &mut SimSentinel {
        self.sentinels
            .iter_mut()
            .find(|s| s.name == name)
            .expect("validated Sentinel name")
    }

    /// Starts every Sentinel of the scenario (after the nodes).
    pub(super) fn spawn_sentinels(&mut self) {
        for (index, spec) in self.scenario.sentinels.clone().iter().enumerate() {
            let master_ip = self.node(&spec.monitor).ip;
            let ip: IpAddr = format!("10.0.1.{}", index + 1).parse().expect("valid ip");
            let sentinel = spawn_sentinel(
                &self.handle,
                &self.net,
                &self.log,
                self.seed,
                ip,
                spec,
                master_ip,
                self.options.planted,
            );
            self.sentinels.push(sentinel);
        }
    }

    /// The node at `host`, given by name or by IP (a replica's link, a
    /// Sentinel's view of a master).
    pub(super) fn node_at(&self, host: &str) -> Option<String> {
        self.nodes
            .iter()
            .find(|n| n.name == host || n.ip.to_string() == host)
            .map(|n| n.name.clone())
    }

    /// The master every running Sentinel names, when they all agree (and
    /// at least one runs): the node the run's history should end on.
    pub(super) fn sentinels_master(&self) -> Option<String> {
        let mut named = BTreeSet::new();
        for sentinel in &self.sentinels {
            let Some(view) = sentinel.view() else {
                continue;
            };
            let master = view
                .masters
                .iter()
                .find(|m| m.name == sentinel.master_name)?;
            named.insert(self.node_at(&master.host)?);
        }
        match named.len() {
            1 => named.into_iter().next(),
            _ => None,
        }
    }

    /// Brings the topology in line with the roles the servers actually
    /// hold (Sentinels re-point them on their own): every node's master
    /// is the one its replication link names.
    pub(super) fn follow_sentinels(&mut self) {
        // Until a Sentinel re-points something, the scenario's topology
        // stands (a replica starting up has no link yet).
        if !self.sentinels_acted() {
            return;
        }
        let mut changes = Vec::new();
        for node in &self.nodes {
            let Some(server) = node.server().filter(|s| s.has_loaded()) else {
                continue;
            };
            let master = server
                .state()
                .repl
                .master
                .as_ref()
                .map(|link| link.host.clone());
            let master = match master {
                Some(host) => match self.node_at(&host) {
                    Some(name) => Some(name),
                    None => continue,
                },
                None => None,
            };
            if self.topology.get(&node.name) != Some(&master) {
                changes.push((node.name.clone(), master));
            }
        }
        for (node, master) in changes {
            self.topology.insert(node, master);
        }
    }

    /// Whether some Sentinel has re-pointed a node (promoted, reconfigured
    /// or converted one).
    fn sentinels_acted(&self) -> bool {
        const ACTS: [&str; 4] = [
            "+failover-state-send-slaveof-noone",
            "+slave-reconf-sent",
            "+convert-to-slave",
            "+switch-master",
        ];
        self.sentinels.iter().any(|s| {
            s.view()
                .is_some_and(|v| v.events.iter().any(|e| ACTS.contains(&e.kind.as_str())))
        })
    }

    /// Whether every running Sentinel names the same master, and that
    /// node is up and a master (the liveness half of Sentinel's rules).
    pub(super) fn sentinels_agree(&self) -> Result<(), String> {
        if self.sentinels.is_empty() {
            return Ok(());
        }
        let Some(master) = self.sentinels_master() else {
            let named: Vec<String> = self
                .sentinels
                .iter()
                .filter_map(|s| {
                    let view = s.view()?;
                    let m = view.masters.iter().find(|m| m.name == s.master_name)?;
                    Some(format!("{} names {}:{}", s.name, m.host, m.port))
                })
                .collect();
            return Err(format!(
                "the Sentinels do not agree on the master ({})",
                named.join(", ")
            ));
        };
        let is_master = self
            .node(&master)
            .server()
            .is_some_and(|s| s.state().repl.master.is_none());
        if !is_master {
            return Err(format!(
                "the Sentinels name {master} the master, but it is not one"
            ));
        }
        // Every running node ends under that master (a returning old
        // master is converted into its replica).
        let outside: Vec<&str> = self
            .nodes
            .iter()
            .filter(|n| n.server().is_some() && self.top_master(&n.name) != master)
            .map(|n| n.name.as_str())
            .collect();
        if outside.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "the Sentinels name {master} the master, but {} not under it",
                outside.join(", ")
            ))
        }
    }

    /// Sentinel's safety rules over what every Sentinel did so far
    /// (called with the other safety checks).
    pub(super) fn monitor_sentinels(&self) {
        if self.sentinels.is_empty() {
            return;
        }
        // One snapshot of each running Sentinel serves every rule.
        let views: Vec<(&str, SentinelView)> = self
            .sentinels
            .iter()
            .filter_map(|s| Some((s.name.as_str(), s.view()?)))
            .collect();
        let mut found = Vec::new();
        {
            let mut memory = self
                .sentinel_memory
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let mut votes: BTreeMap<(String, u64), BTreeMap<String, BTreeSet<String>>> =
                BTreeMap::new();
            let quorum: u32 = self.sentinels.iter().map(|s| s.quorum).max().unwrap_or(1);
            for (name, view) in &views {
                let name = &name.to_string();
                let seen = memory.current_epochs.entry(name.clone()).or_default();
                if view.current_epoch < *seen {
                    found.push(format!(
                        "Sentinel {name}'s current epoch went back from {seen} to {}",
                        view.current_epoch
                    ));
                }
                *seen = (*seen).max(view.current_epoch);
                let mut voted: BTreeMap<(String, u64), &str> = BTreeMap::new();
                for vote in &view.votes {
                    let key = (vote.master.clone(), vote.epoch);
                    if let Some(previous) = voted.insert(key.clone(), &vote.leader) {
                        if previous != vote.leader {
                            found.push(format!(
                                "Sentinel {name} voted twice in epoch {} for {}: {previous} and {}",
                                vote.epoch, vote.master, vote.leader
                            ));
                        }
                    }
                    votes
                        .entry(key)
                        .or_default()
                        .entry(vote.leader.clone())
                        .or_default()
                        .insert(name.clone());
                }
                for master in &view.masters {
                    let key = (name.clone(), master.name.clone());
                    let seen = memory.config_epochs.entry(key).or_default();
                    if master.config_epoch < *seen {
                        found.push(format!(
                            "Sentinel {name}'s config epoch of {} went back from {seen} to {}",
                            master.name, master.config_epoch
                        ));
                    }
                    *seen = (*seen).max(master.config_epoch);
                }
            }
            // A leader needs a majority of the Sentinels and the quorum.
            let needed = (self.sentinels.len() as u32 / 2 + 1).max(quorum) as usize;
            for ((master, epoch), by_leader) in &votes {
                let leaders: Vec<&String> = by_leader
                    .iter()
                    .filter(|(_, voters)| voters.len() >= needed)
                    .map(|(leader, _)| leader)
                    .collect();
                if leaders.len() > 1 {
                    found.push(format!(
                        "two leaders elected in epoch {epoch} for {master}: {}",
                        leaders
                            .iter()
                            .map(|l| l.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            }
            found.retain(|text| memory.reported.insert(text.clone()));
        }
        for text in found {
            self.violation(text);
        }
        self.check_promotions(&views);
    }

    /// Every `+selected-slave` names a node of the run other than the
    /// master being failed over.
    fn check_promotions(&self, views: &[(&str, SentinelView)]) {
        let mut found = Vec::new();
        for (sentinel, view) in views {
            for event in view.events.iter().filter(|e| e.kind == "+selected-slave") {
                // "slave <ip>:<port> <ip> <port> @ <master> <ip> <port>"
                let words: Vec<&str> = event.message.split_whitespace().collect();
                let (Some(address), Some(master)) = (words.get(2), words.get(6)) else {
                    continue;
                };
                let at = super::runner::stamp(std::time::Duration::from_millis(event.time_ms));
                match self.node_at(address) {
                    None => found.push(format!(
                        "Sentinel {sentinel} selected {address} for promotion at {at}, which is no node of the run"
                    )),
                    Some(node) if address == master => found.push(format!(
                        "Sentinel {sentinel} selected {node}, the master it was failing over, for promotion at {at}"
                    )),
                    Some(_) => {}
                }
            }
        }
        let mut memory = self
            .sentinel_memory
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        found.retain(|text| memory.reported.insert(text.clone()));
        drop(memory);
        for text in found {
            self.violation(text);
        }
    }
}
