//! The simulated cluster: one madsim node per server (its own IP and DNS
//! name) running the unchanged server core, plus a client node for
//! workloads and commands. Crash, restart, pause and resume act on madsim
//! nodes; each node's disk lives here so that it survives restarts.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use madsim::runtime::{Handle, NodeHandle};

use super::derive_seed;
use crate::log::{SharedSimLog, SimLog};
use crate::runtime::{MemDisk, MemStorage, SimClocks, SimNet, SimRuntime};
use crate::scenario::NodeSpec;
use crate::server::{Config, Server, ServerState};

/// The port every simulated server listens on.
pub const PORT: u16 = 6379;

/// Whether a node runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeStatus {
    /// Running.
    Up,
    /// Killed; its disk remains.
    Crashed,
    /// Frozen (no task of it runs).
    Paused,
}

/// One simulated server.
pub struct SimNode {
    /// Scenario name of the node (also its DNS name).
    pub name: String,
    /// Its IP.
    pub ip: IpAddr,
    /// madsim's handle.
    pub handle: NodeHandle,
    /// Its disk.
    pub disk: Arc<Mutex<MemDisk>>,
    /// Whether the disk keeps its data over a crash.
    pub persist: bool,
    /// Running, crashed or paused.
    pub status: NodeStatus,
    server: Arc<Mutex<Option<Server<SimRuntime>>>>,
}

impl SimNode {
    /// The running server, if the node is up (or paused).
    pub fn server(&self) -> Option<Server<SimRuntime>> {
        if self.status == NodeStatus::Crashed {
            return None;
        }
        self.server
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// A handle that samples the node's role from a client task, across
    /// restarts (the server slot is shared with the node).
    pub fn role_watch(&self) -> RoleWatch {
        RoleWatch {
            server: Arc::clone(&self.server),
        }
    }

    /// Runs `f` on the node's state, if the server is there.
    pub fn with_state<T>(&self, f: impl FnOnce(&ServerState) -> T) -> Option<T> {
        self.server().map(|server| f(&server.state()))
    }
}

/// Samples a node's role at moments a client chooses (see
/// [`SimNode::role_watch`]).
#[derive(Clone)]
pub struct RoleWatch {
    server: Arc<Mutex<Option<Server<SimRuntime>>>>,
}

/// A node's role at one moment. Two equal samples mean the role held
/// steady between them: the same server instance (start time), no REPLICAOF
/// in between (every REPLICAOF bumps the generation), the same
/// `replica-read-only`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleSample {
    /// Whether the node was a replica refusing writes.
    pub readonly_replica: bool,
    started: Duration,
    generation: u64,
}

impl RoleWatch {
    /// The role now; `None` while the node is down.
    pub fn sample(&self) -> Option<RoleSample> {
        let server = self
            .server
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()?;
        let state = server.state();
        Some(RoleSample {
            readonly_replica: state.is_readonly_replica(),
            started: state.started,
            generation: state.repl.generation,
        })
    }
}

/// Builds the configuration of a node from its spec.
pub fn node_config(spec: &NodeSpec) -> Result<Config, String> {
    let mut config = Config::default();
    if let Some(conf) = &spec.conf {
        crate::server::conf_file::apply_from(&mut config, &conf.text, &conf.dir)
            .map_err(|e| format!("node {}: {}: {e}", spec.name, conf.path))?;
    }
    // The simulated network and disk decide where a node listens, whom it
    // replicates from and where it logs, whatever its redis.conf says.
    config.bind = "0.0.0.0".into();
    config.port = PORT;
    config.logfile = String::new();
    for (name, value) in &spec.config {
        config
            .set_startup(name, value)
            .map_err(|e| format!("node {}: config {name}: {e}", spec.name))?;
    }
    config.replicaof = spec.replicaof.as_ref().map(|m| (m.clone(), PORT));
    Ok(config)
}

/// What every node of a run reports to, and the bugs planted in it.
#[derive(Clone)]
pub struct Probe {
    /// The run's canonical history.
    pub ledger: super::history::SharedLedger,
    /// Bugs planted in the core (tests of the checker).
    pub planted: crate::server::probe::PlantedBugs,
    /// The run's timeline (recording when enabled).
    pub timeline: crate::timeline::record::Recorder,
}

/// Creates and starts node number `index` (IPs are 10.0.0.(index + 1)).
#[allow(clippy::too_many_arguments)]
pub fn spawn_node(
    handle: &Handle,
    net: &Arc<SimNet>,
    log: &SharedSimLog,
    run_seed: u64,
    index: usize,
    spec: &NodeSpec,
    config: Config,
    probe: Probe,
    clocks: &Arc<SimClocks>,
) -> SimNode {
    let ip: IpAddr = format!("10.0.0.{}", index + 1).parse().expect("valid ip");
    net.add_node(ip, &spec.name);
    madsim::net::NetSim::current().add_dns_record(&spec.name, ip);
    let disk = Arc::new(Mutex::new(MemDisk::default()));
    let server_slot: Arc<Mutex<Option<Server<SimRuntime>>>> = Arc::default();
    let incarnation = Arc::new(AtomicU64::new(0));
    let init = {
        let (name, net, log, disk, slot, clocks) = (
            spec.name.clone(),
            net.clone(),
            log.clone(),
            disk.clone(),
            server_slot.clone(),
            clocks.clone(),
        );
        move || {
            let life = incarnation.fetch_add(1, Ordering::SeqCst);
            let seed = derive_seed(run_seed, &format!("node {name} life {life}"));
            let logger = Arc::new(SimLog::new(
                name.clone(),
                log.clone(),
                SimRuntime::elapsed_ms,
            ));
            let storage = Arc::new(MemStorage::new(disk.clone()));
            let runtime = SimRuntime::new(&name, seed, storage, logger, net.clone())
                .with_clocks(clocks.clone());
            let server = Server::new(runtime, config.clone());
            {
                let mut state = server.state();
                let checker: Arc<dyn crate::server::probe::HistoryProbe> =
                    Arc::new(super::history::NodeProbe {
                        node: name.clone(),
                        ledger: probe.ledger.clone(),
                    });
                state.attach_probe(if probe.timeline.is_enabled() {
                    Arc::new(crate::timeline::record::ObservingProbe {
                        inner: checker,
                        node: name.clone(),
                        recorder: probe.timeline.clone(),
                    })
                } else {
                    checker
                });
                state.planted = probe.planted;
            }
            *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(server.clone());
            async move {
                if let Err(error) = server.clone().run().await {
                    server
                        .state()
                        .log(crate::log::Level::Warning, &error.to_string());
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
    SimNode {
        name: spec.name.clone(),
        ip,
        handle: node,
        disk,
        persist: spec.persist,
        status: NodeStatus::Up,
        server: server_slot,
    }
}

/// Crashes a node: its tasks and sockets vanish. Without persistence its
/// disk is erased; with `lose_unsynced`, writes it never synced are lost.
pub fn crash(handle: &Handle, node: &mut SimNode, lose_unsynced: bool) {
    handle.kill(node.handle.id());
    *node.server.lock().unwrap_or_else(|p| p.into_inner()) = None;
    let mut disk = node.disk.lock().unwrap_or_else(|p| p.into_inner());
    if !node.persist {
        disk.wipe();
    } else if lose_unsynced {
        disk.lose_unsynced();
    }
    node.status = NodeStatus::Crashed;
}

/// Restarts a crashed node from its disk.
pub fn restart(handle: &Handle, node: &mut SimNode) {
    handle.restart(node.handle.id());
    node.status = NodeStatus::Up;
}
