//! What a Sentinel knows: its id and epoch, the masters it monitors, and
//! for each the replicas and other Sentinels it discovered, with the
//! flags and timestamps Redis keeps per instance (`sentinelRedisInstance`).
//! Every collection is ordered, so that iteration (and so the order of
//! events and commands) is the same for a seed.

use std::collections::BTreeMap;

use super::links::LinkState;

/// What an instance is to this Sentinel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A monitored master.
    Master,
    /// A replica of a monitored master.
    Replica,
    /// Another Sentinel monitoring the same master.
    Sentinel,
}

impl Kind {
    /// Redis's word for the kind in events and replies.
    pub fn word(self) -> &'static str {
        match self {
            Kind::Master => "master",
            Kind::Replica => "slave",
            Kind::Sentinel => "sentinel",
        }
    }
}

/// The role an instance reports in its INFO.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Nothing reported yet.
    Unknown,
    /// `role:master`.
    Master,
    /// `role:slave`.
    Replica,
}

/// Where a failover of a master stands (`SENTINEL_FAILOVER_STATE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FailoverState {
    /// No failover.
    None,
    /// Waiting to be elected leader for the epoch.
    WaitStart,
    /// Choosing the replica to promote.
    SelectReplica,
    /// Sending REPLICAOF NO ONE to it.
    SendReplicaofNoOne,
    /// Waiting for its INFO to say `role:master`.
    WaitPromotion,
    /// Re-pointing the other replicas.
    ReconfReplicas,
    /// Done: switch the monitored address to the promoted replica.
    UpdateConfig,
}

impl FailoverState {
    /// Redis's name (`SENTINEL MASTER`'s `failover-state`).
    pub fn name(self) -> &'static str {
        match self {
            FailoverState::None => "none",
            FailoverState::WaitStart => "wait_start",
            FailoverState::SelectReplica => "select_slave",
            FailoverState::SendReplicaofNoOne => "send_slaveof_noone",
            FailoverState::WaitPromotion => "wait_promotion",
            FailoverState::ReconfReplicas => "reconf_slaves",
            FailoverState::UpdateConfig => "update_config",
        }
    }
}

/// Instance flags (`SRI_*`), as a small set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flags {
    /// Subjectively down.
    pub s_down: bool,
    /// Objectively down (masters only).
    pub o_down: bool,
    /// A Sentinel that says the master is down.
    pub master_down: bool,
    /// A failover of this master is running.
    pub failover_in_progress: bool,
    /// The replica chosen for promotion.
    pub promoted: bool,
    /// REPLICAOF sent to this replica during a failover.
    pub reconf_sent: bool,
    /// It replicates from the promoted one, link not yet up.
    pub reconf_inprog: bool,
    /// It is linked to the promoted one.
    pub reconf_done: bool,
    /// SENTINEL FAILOVER: no election needed.
    pub force_failover: bool,
}

/// One monitored master, replica or Sentinel.
#[derive(Debug)]
pub struct Instance {
    /// What it is.
    pub kind: Kind,
    /// Its name: the master's name, `ip:port` for a replica, the run id
    /// for a Sentinel.
    pub name: String,
    /// Its address.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// Its run id, once known.
    pub runid: Option<String>,
    /// Flags.
    pub flags: Flags,
    /// The command and pub/sub connections.
    pub link: LinkState,
    /// When the SDOWN started (ms).
    pub s_down_since: u64,
    /// When the ODOWN started (ms).
    pub o_down_since: u64,
    /// Last INFO received (ms, 0: never).
    pub info_refresh: u64,
    /// Last INFO text.
    pub info: String,
    /// Role in the last INFO.
    pub role_reported: Role,
    /// When the reported role last changed.
    pub role_reported_time: u64,
    /// When its replication settings last changed.
    pub replica_conf_change_time: u64,
    /// Its master according to its INFO.
    pub replica_master_host: Option<String>,
    /// Its master's port according to its INFO.
    pub replica_master_port: u16,
    /// `master_link_status:up`.
    pub replica_link_up: bool,
    /// `slave_priority`.
    pub replica_priority: i64,
    /// `slave_repl_offset`.
    pub replica_repl_offset: u64,
    /// `master_link_down_since_seconds`, in ms.
    pub master_link_down_ms: u64,
    /// Last hello published to it successfully (ms).
    pub last_pub_time: u64,
    /// Last hello heard from this Sentinel (ms).
    pub last_hello_time: u64,
    /// Last IS-MASTER-DOWN-BY-ADDR reply from this Sentinel (ms).
    pub last_master_down_reply_time: u64,
    /// The leader this Sentinel voted for, as it told us.
    pub leader: Option<String>,
    /// The epoch of that vote.
    pub leader_epoch: u64,
    /// When REPLICAOF was sent during a failover.
    pub reconf_sent_time: u64,
}

impl Instance {
    /// A new instance first seen at `now`.
    pub fn new(kind: Kind, name: String, host: &str, port: u16, now: u64) -> Self {
        Instance {
            kind,
            name,
            host: host.to_string(),
            port,
            runid: None,
            flags: Flags::default(),
            link: LinkState::new(now),
            s_down_since: 0,
            o_down_since: 0,
            info_refresh: 0,
            info: String::new(),
            role_reported: if kind == Kind::Master {
                Role::Master
            } else {
                Role::Replica
            },
            role_reported_time: now,
            replica_conf_change_time: now,
            replica_master_host: None,
            replica_master_port: 0,
            replica_link_up: false,
            replica_priority: 100,
            replica_repl_offset: 0,
            master_link_down_ms: 0,
            last_pub_time: now,
            last_hello_time: now,
            last_master_down_reply_time: now,
            leader: None,
            leader_epoch: 0,
            reconf_sent_time: 0,
        }
    }

    /// `ip:port`, the name of a replica.
    pub fn addr_name(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// Redis's flags string (`master,s_down,...`).
    pub fn flags_text(&self) -> String {
        let f = &self.flags;
        let mut words = Vec::new();
        if f.s_down {
            words.push("s_down");
        }
        if f.o_down {
            words.push("o_down");
        }
        words.push(self.kind.word());
        if self.link.disconnected {
            words.push("disconnected");
        }
        if f.master_down {
            words.push("master_down");
        }
        if f.failover_in_progress {
            words.push("failover_in_progress");
        }
        if f.promoted {
            words.push("promoted");
        }
        if f.reconf_sent {
            words.push("reconf_sent");
        }
        if f.reconf_inprog {
            words.push("reconf_inprog");
        }
        if f.reconf_done {
            words.push("reconf_done");
        }
        if f.force_failover {
            words.push("force_failover");
        }
        words.join(",")
    }
}

/// A monitored master with its settings, its replicas and Sentinels.
#[derive(Debug)]
pub struct Master {
    /// The master itself.
    pub instance: Instance,
    /// ODOWN quorum.
    pub quorum: u32,
    /// `down-after-milliseconds`.
    pub down_after_ms: u64,
    /// `failover-timeout`.
    pub failover_timeout_ms: u64,
    /// `parallel-syncs`.
    pub parallel_syncs: u32,
    /// `auth-pass`.
    pub auth_pass: Option<String>,
    /// `auth-user`.
    pub auth_user: Option<String>,
    /// The epoch of the configuration (who is master) this Sentinel holds.
    pub config_epoch: u64,
    /// Where the failover stands.
    pub failover_state: FailoverState,
    /// The epoch of the running failover.
    pub failover_epoch: u64,
    /// When the failover (or the vote for another) started, desync
    /// delay included.
    pub failover_start_time: u64,
    /// When the failover state last changed.
    pub failover_state_change_time: u64,
    /// `failover_start_time` whose delay was already logged.
    pub failover_delay_logged: u64,
    /// The replica being promoted (its name).
    pub promoted: Option<String>,
    /// This Sentinel's vote for the master: the leader.
    pub leader: Option<String>,
    /// The epoch of that vote.
    pub leader_epoch: u64,
    /// Replicas by `ip:port`.
    pub replicas: BTreeMap<String, Instance>,
    /// Other Sentinels by run id.
    pub sentinels: BTreeMap<String, Instance>,
}

impl Master {
    /// The replica being promoted.
    pub fn promoted_replica(&self) -> Option<&Instance> {
        self.promoted
            .as_ref()
            .and_then(|name| self.replicas.get(name))
    }

    /// Replica or Sentinel `name` of kind `kind`, or the master itself.
    pub fn instance_mut(&mut self, kind: Kind, name: &str) -> Option<&mut Instance> {
        match kind {
            Kind::Master => Some(&mut self.instance),
            Kind::Replica => self.replicas.get_mut(name),
            Kind::Sentinel => self.sentinels.get_mut(name),
        }
    }
}

/// Sentinel's periods and timeouts in milliseconds, Redis's defaults
/// unless SENTINEL DEBUG changed them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// INFO period (10 s).
    pub info: u64,
    /// PING period (1 s).
    pub ping: u64,
    /// IS-MASTER-DOWN-BY-ADDR period (1 s).
    pub ask: u64,
    /// Hello period (2 s).
    pub publish: u64,
    /// `down-after-milliseconds` of masters added by SENTINEL MONITOR.
    pub default_down_after: u64,
    /// `failover-timeout` of masters added by SENTINEL MONITOR.
    pub default_failover_timeout: u64,
    /// A timer gap beyond this enters TILT (2 s).
    pub tilt_trigger: u64,
    /// How long TILT lasts (30 s).
    pub tilt_period: u64,
    /// How long a re-pointed replica may take (10 s).
    pub replica_reconf_timeout: u64,
    /// A link younger than this is not closed for silence (15 s).
    pub min_link_reconnect: u64,
    /// The longest wait to be elected (10 s).
    pub election_timeout: u64,
    /// Scripts' longest run (60 s; scripts are not run).
    pub script_max_runtime: u64,
    /// Scripts' retry delay (30 s; scripts are not run).
    pub script_retry_delay: u64,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            info: 10_000,
            ping: 1000,
            ask: 1000,
            publish: 2000,
            default_down_after: 30_000,
            default_failover_timeout: 180_000,
            tilt_trigger: 2000,
            tilt_period: 30_000,
            replica_reconf_timeout: 10_000,
            min_link_reconnect: 15_000,
            election_timeout: 10_000,
            script_max_runtime: 60_000,
            script_retry_delay: 30_000,
        }
    }
}

impl Timing {
    /// SENTINEL DEBUG's names, in its order, with their fields.
    pub fn fields(&mut self) -> [(&'static str, &mut u64); 13] {
        [
            ("INFO-PERIOD", &mut self.info),
            ("PING-PERIOD", &mut self.ping),
            ("ASK-PERIOD", &mut self.ask),
            ("PUBLISH-PERIOD", &mut self.publish),
            ("DEFAULT-DOWN-AFTER", &mut self.default_down_after),
            (
                "DEFAULT-FAILOVER-TIMEOUT",
                &mut self.default_failover_timeout,
            ),
            ("TILT-TRIGGER", &mut self.tilt_trigger),
            ("TILT-PERIOD", &mut self.tilt_period),
            ("SLAVE-RECONF-TIMEOUT", &mut self.replica_reconf_timeout),
            ("MIN-LINK-RECONNECT-PERIOD", &mut self.min_link_reconnect),
            ("ELECTION-TIMEOUT", &mut self.election_timeout),
            ("SCRIPT-MAX-RUNTIME", &mut self.script_max_runtime),
            ("SCRIPT-RETRY-DELAY", &mut self.script_retry_delay),
        ]
    }
}
