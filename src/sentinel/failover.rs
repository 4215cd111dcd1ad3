//! The Sentinel's timer and its decisions, as Redis's `sentinelTimer`:
//! for every instance, keep the links up and send PING / INFO / hello on
//! their periods; judge SDOWN, and for masters ODOWN; ask the other
//! Sentinels, vote once per epoch, elect a leader, and run the failover
//! state machine (select a replica, promote it, re-point the others,
//! switch the monitored address). What replies and hellos tell it is in
//! `replies`.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;

use crate::log::Level;
use crate::runtime::Runtime;

use super::links::{self, InstanceRef, ReplyKind};
use super::state::{FailoverState, Instance, Kind, Role, Timing};
use super::{Core, LeaderVote, SentinelState, HELLO_CHANNEL};

/// `SENTINEL_MAX_DESYNC`: the random delay before a failover starts.
const MAX_DESYNC_MS: u64 = 1000;
/// `SENTINEL_MAX_PENDING_COMMANDS`.
const MAX_PENDING_COMMANDS: u32 = 100;

fn args(words: &[&str]) -> Vec<Vec<u8>> {
    words.iter().map(|w| w.as_bytes().to_vec()).collect()
}

/// `ctime`'s text of a unix time in seconds (`Sat Dec  5 04:36:41 2026`).
pub(crate) fn ctime(unix_s: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    let stamp = crate::log::redis_timestamp(unix_s * 1000);
    // "05 Dec 2026 04:36:41.000"
    let mut parts = stamp.split(' ');
    let day: u32 = parts.next().and_then(|d| d.parse().ok()).unwrap_or(1);
    let month = parts.next().unwrap_or("Jan");
    let year = parts.next().unwrap_or("1970");
    let time = parts.next().unwrap_or("00:00:00.000");
    let weekday = DAYS[((unix_s / 86_400) % 7) as usize];
    format!("{weekday} {month} {day:>2} {} {year}", &time[..8])
}

impl<R: Runtime> Core<R> {
    /// Startup (config saved, id logged, `+monitor` per master), then the
    /// timer task.
    pub(crate) fn start(self: &Arc<Self>) {
        {
            let mut state = self.lock();
            state.flush_config();
            let id = state.myid.clone();
            state.log(Level::Warning, &format!("Sentinel ID is {id}"));
            let names: Vec<String> = state.masters.keys().cloned().collect();
            for name in names {
                let quorum = state.masters[&name].quorum;
                let at = InstanceRef {
                    master: name,
                    kind: Kind::Master,
                    name: String::new(),
                };
                state.event_at(
                    Level::Warning,
                    "+monitor",
                    &at,
                    &format!(" quorum {quorum}"),
                );
            }
        }
        let core = self.clone();
        self.runtime.spawn(async move {
            loop {
                // Redis's Sentinel runs its timer at a random 10..19 Hz so
                // that Sentinels do not act in lockstep.
                let period = {
                    let mut state = core.lock();
                    if state.crashed {
                        core.stop.notify_waiters();
                        return;
                    }
                    let hz: u64 = 10 + state.rng.gen_range(0..10);
                    Duration::from_millis(1000 / hz)
                };
                tokio::select! {
                    biased;
                    _ = core.stop.notified() => return,
                    _ = core.runtime.sleep(period) => {}
                }
                core.tick();
            }
        });
    }

    /// One run of the timer over every instance.
    pub(crate) fn tick(self: &Arc<Self>) {
        let now = self.now();
        let mut state = self.lock();
        if state.crashed {
            self.stop.notify_waiters();
            return;
        }
        state.check_tilt(now);
        let names: Vec<String> = state.masters.keys().cloned().collect();
        let mut switch = Vec::new();
        for name in names {
            let master_ref = InstanceRef {
                master: name.clone(),
                kind: Kind::Master,
                name: String::new(),
            };
            self.handle_instance(&mut state, &master_ref, now);
            let Some(master) = state.masters.get(&name) else {
                continue;
            };
            let replicas: Vec<String> = master.replicas.keys().cloned().collect();
            let sentinels: Vec<String> = master.sentinels.keys().cloned().collect();
            for replica in replicas {
                let at = InstanceRef {
                    master: name.clone(),
                    kind: Kind::Replica,
                    name: replica,
                };
                self.handle_instance(&mut state, &at, now);
            }
            for sentinel in sentinels {
                let at = InstanceRef {
                    master: name.clone(),
                    kind: Kind::Sentinel,
                    name: sentinel,
                };
                self.handle_instance(&mut state, &at, now);
            }
            if state
                .masters
                .get(&name)
                .is_some_and(|m| m.failover_state == FailoverState::UpdateConfig)
            {
                switch.push(name);
            }
        }
        for name in switch {
            state.switch_to_promoted(&name, now);
        }
        if state.crashed {
            // SIMULATE-FAILURE fired: the Sentinel stops serving.
            self.stop.notify_waiters();
        }
    }

    fn handle_instance(self: &Arc<Self>, state: &mut SentinelState, at: &InstanceRef, now: u64) {
        let t = state.timing;
        if state.instance_mut(at).is_none() {
            return;
        }
        self.reconnect(state, at, now);
        state.send_periodic(at, now);
        if state.tilt {
            if now.saturating_sub(state.tilt_start_time) < t.tilt_period {
                return;
            }
            state.tilt = false;
            state.event(Level::Warning, "-tilt", "#tilt mode exited".into());
        }
        state.check_sdown(at, now);
        if at.kind == Kind::Master {
            state.check_odown(&at.master, now);
            if state.start_failover_if_needed(&at.master, now) {
                state.ask_others(&at.master, true, now);
            }
            state.failover_state_machine(&at.master, now);
            state.ask_others(&at.master, false, now);
        }
    }

    /// Opens the missing links of an instance (`sentinelReconnectInstance`),
    /// at most once per ping period.
    fn reconnect(self: &Arc<Self>, state: &mut SentinelState, at: &InstanceRef, now: u64) {
        let t = state.timing;
        let myid8: String = state.myid.chars().take(8).collect();
        let auth = state
            .masters
            .get(&at.master)
            .and_then(|m| m.auth_pass.clone().map(|p| (m.auth_user.clone(), p)));
        let sentinel_auth = state
            .config
            .sentinel_pass
            .clone()
            .map(|p| (state.config.sentinel_user.clone(), p));
        let gen_cmd = state.generation();
        let gen_pubsub = state.generation();
        let Some(instance) = state.instance_mut(at) else {
            return;
        };
        if !instance.link.disconnected || instance.port == 0 {
            return;
        }
        if now.saturating_sub(instance.link.cc_conn_time.max(instance.link.pc_conn_time)) < t.ping
            && instance.link.cc_conn_time != 0
        {
            return;
        }
        let auth_args = |auth: &Option<(Option<String>, String)>| -> Option<Vec<Vec<u8>>> {
            match auth {
                Some((Some(user), pass)) => Some(args(&["AUTH", user, pass])),
                Some((None, pass)) => Some(args(&["AUTH", pass])),
                None => None,
            }
        };
        // Other Sentinels get `sentinel-user`/`sentinel-pass`, not the
        // master's password.
        let auth = if at.kind == Kind::Sentinel {
            sentinel_auth
        } else {
            auth
        };
        if instance.link.cmd.is_none() {
            let handle = links::open(
                self,
                at.clone(),
                instance.host.clone(),
                instance.port,
                false,
                gen_cmd,
            );
            instance.link.cc_conn_time = now;
            instance.link.pending_commands = 0;
            if let Some(auth) = auth_args(&auth) {
                handle.send(auth, ReplyKind::Discard);
                instance.link.pending_commands += 1;
            }
            handle.send(
                args(&["CLIENT", "SETNAME", &format!("sentinel-{myid8}-cmd")]),
                ReplyKind::Discard,
            );
            instance.link.pending_commands += 1;
            instance.link.cmd = Some(handle);
            send_ping(instance, now);
        }
        if at.kind != Kind::Sentinel && instance.link.pubsub.is_none() {
            let handle = links::open(
                self,
                at.clone(),
                instance.host.clone(),
                instance.port,
                true,
                gen_pubsub,
            );
            instance.link.pc_conn_time = now;
            instance.link.pc_last_activity = now;
            if let Some(auth) = auth_args(&auth) {
                handle.send(auth, ReplyKind::Discard);
            }
            handle.send(
                args(&["CLIENT", "SETNAME", &format!("sentinel-{myid8}-pubsub")]),
                ReplyKind::Discard,
            );
            handle.send(args(&["SUBSCRIBE", HELLO_CHANNEL]), ReplyKind::Discard);
            instance.link.pubsub = Some(handle);
        }
        if instance.link.cmd.is_some()
            && (at.kind == Kind::Sentinel || instance.link.pubsub.is_some())
        {
            instance.link.disconnected = false;
        }
    }
}

/// Sends a PING on the command link (`sentinelSendPing`).
fn send_ping(instance: &mut Instance, now: u64) -> bool {
    let Some(cmd) = &instance.link.cmd else {
        return false;
    };
    if !cmd.send(args(&["PING"]), ReplyKind::Ping) {
        return false;
    }
    instance.link.pending_commands += 1;
    instance.link.last_ping_time = now;
    if instance.link.act_ping_time == 0 {
        instance.link.act_ping_time = now;
    }
    true
}

impl SentinelState {
    /// TILT: the clock jumped (or the process stalled) more than 2 s
    /// between two timer runs; decisions wait 30 s.
    fn check_tilt(&mut self, now: u64) {
        let t = self.timing;
        let delta = now as i64 - self.previous_time as i64;
        if !(0..=t.tilt_trigger as i64).contains(&delta) {
            self.tilt = true;
            self.tilt_start_time = now;
            self.event(Level::Warning, "+tilt", "#tilt mode entered".into());
        }
        self.previous_time = now;
    }

    /// PING, INFO and hello on their periods (`sentinelSendPeriodicCommands`).
    fn send_periodic(&mut self, at: &InstanceRef, now: u64) {
        let t = self.timing;
        let Some(master) = self.masters.get(&at.master) else {
            return;
        };
        let master_busy =
            master.instance.flags.o_down || master.instance.flags.failover_in_progress;
        let down_after = master.down_after_ms;
        let hello = self.hello_payload(&at.master);
        let announce_ip = self.config.announce_ip.clone();
        let Some(instance) = self.instance_mut(at) else {
            return;
        };
        if instance.link.disconnected || instance.link.cmd.is_none() {
            return;
        }
        if instance.link.pending_commands >= MAX_PENDING_COMMANDS {
            return;
        }
        let info_period =
            if at.kind == Kind::Replica && (master_busy || instance.master_link_down_ms != 0) {
                1000
            } else {
                t.info
            };
        let ping_period = down_after.min(t.ping);
        if at.kind != Kind::Sentinel
            && (instance.info_refresh == 0
                || now.saturating_sub(instance.info_refresh) > info_period)
        {
            if let Some(cmd) = &instance.link.cmd {
                if cmd.send(args(&["INFO"]), ReplyKind::Info) {
                    instance.link.pending_commands += 1;
                }
            }
        }
        if now.saturating_sub(instance.link.last_pong_time) > ping_period
            && now.saturating_sub(instance.link.last_ping_time) > ping_period / 2
        {
            send_ping(instance, now);
        }
        if now.saturating_sub(instance.last_pub_time) > t.publish {
            let ip = announce_ip.or_else(|| instance.link.local_addr.map(|a| a.ip().to_string()));
            if let (Some(ip), Some(hello), Some(cmd)) = (ip, hello, &instance.link.cmd) {
                let payload = format!("{ip},{hello}");
                if cmd.send(
                    args(&["PUBLISH", HELLO_CHANNEL, &payload]),
                    ReplyKind::Publish,
                ) {
                    instance.link.pending_commands += 1;
                }
            }
        }
    }

    /// The hello after the Sentinel's IP: `port,runid,epoch,master,ip,port,config_epoch`.
    fn hello_payload(&self, master: &str) -> Option<String> {
        let m = self.masters.get(master)?;
        let (host, port) = self.current_master_addr(master)?;
        let port_announced = if self.config.announce_port != 0 {
            self.config.announce_port
        } else {
            self.config.port
        };
        Some(format!(
            "{port_announced},{},{},{},{host},{port},{}",
            self.myid, self.current_epoch, m.instance.name, m.config_epoch
        ))
    }

    /// The master's address, or the promoted replica's once the
    /// promotion is seen (`sentinelGetCurrentMasterAddress`).
    pub(crate) fn current_master_addr(&self, master: &str) -> Option<(String, u16)> {
        let m = self.masters.get(master)?;
        if m.instance.flags.failover_in_progress
            && m.failover_state >= FailoverState::ReconfReplicas
        {
            if let Some(p) = m.promoted_replica() {
                return Some((p.host.clone(), p.port));
            }
        }
        Some((m.instance.host.clone(), m.instance.port))
    }

    /// SDOWN (`sentinelCheckSubjectivelyDown`), and links that look dead
    /// are closed to be reopened.
    fn check_sdown(&mut self, at: &InstanceRef, now: u64) {
        let t = self.timing;
        let Some(master) = self.masters.get(&at.master) else {
            return;
        };
        let down_after = master.down_after_ms;
        let Some(instance) = self.instance_mut(at) else {
            return;
        };
        let link = &mut instance.link;
        let elapsed = if link.act_ping_time != 0 {
            now.saturating_sub(link.act_ping_time)
        } else if link.disconnected {
            now.saturating_sub(link.last_avail_time)
        } else {
            0
        };
        if link.cmd.is_some()
            && now.saturating_sub(link.cc_conn_time) > t.min_link_reconnect
            && link.act_ping_time != 0
            && now.saturating_sub(link.act_ping_time) > down_after / 2
            && now.saturating_sub(link.last_pong_time) > down_after / 2
        {
            link.close_cmd();
        }
        if link.pubsub.is_some()
            && now.saturating_sub(link.pc_conn_time) > t.min_link_reconnect
            && now.saturating_sub(link.pc_last_activity) > t.publish * 3
        {
            link.close_pubsub();
        }
        let claims_replica = at.kind == Kind::Master
            && instance.role_reported == Role::Replica
            && now.saturating_sub(instance.role_reported_time) > down_after + t.info * 2;
        if elapsed > down_after || claims_replica {
            if !instance.flags.s_down {
                instance.s_down_since = now;
                instance.flags.s_down = true;
                self.event_at(Level::Warning, "+sdown", at, "");
            }
        } else if instance.flags.s_down {
            instance.flags.s_down = false;
            self.event_at(Level::Warning, "-sdown", at, "");
        }
    }

    /// ODOWN: enough Sentinels (this one included) say the master is down.
    fn check_odown(&mut self, name: &str, now: u64) {
        let Some(master) = self.masters.get_mut(name) else {
            return;
        };
        let mut quorum = 0;
        let mut odown = false;
        if master.instance.flags.s_down {
            quorum = 1 + master
                .sentinels
                .values()
                .filter(|s| s.flags.master_down)
                .count() as u32;
            odown = quorum >= master.quorum;
        }
        let at = InstanceRef {
            master: name.to_string(),
            kind: Kind::Master,
            name: String::new(),
        };
        if odown {
            if !master.instance.flags.o_down {
                let needed = master.quorum;
                master.instance.flags.o_down = true;
                master.instance.o_down_since = now;
                self.event_at(
                    Level::Warning,
                    "+odown",
                    &at,
                    &format!(" #quorum {quorum}/{needed}"),
                );
            }
        } else if master.instance.flags.o_down {
            master.instance.flags.o_down = false;
            self.event_at(Level::Warning, "-odown", &at, "");
        }
    }

    /// Asks the other Sentinels whether the master is down, with our run
    /// id (a vote request) once a failover runs.
    fn ask_others(&mut self, name: &str, forced: bool, now: u64) {
        let t = self.timing;
        let myid = self.myid.clone();
        let epoch = self.current_epoch;
        let Some(master) = self.masters.get_mut(name) else {
            return;
        };
        let s_down = master.instance.flags.s_down;
        let requester = if master.failover_state > FailoverState::None {
            myid
        } else {
            "*".to_string()
        };
        let (host, port) = (
            master.instance.host.clone(),
            master.instance.port.to_string(),
        );
        for sentinel in master.sentinels.values_mut() {
            let elapsed = now.saturating_sub(sentinel.last_master_down_reply_time);
            if elapsed > t.ask * 5 {
                sentinel.flags.master_down = false;
                sentinel.leader = None;
            }
            if !s_down || sentinel.link.disconnected {
                continue;
            }
            if !forced && elapsed < t.ask {
                continue;
            }
            if let Some(cmd) = &sentinel.link.cmd {
                let request = args(&[
                    "SENTINEL",
                    "is-master-down-by-addr",
                    &host,
                    &port,
                    &epoch.to_string(),
                    &requester,
                ]);
                if cmd.send(request, ReplyKind::IsMasterDown) {
                    sentinel.link.pending_commands += 1;
                }
            }
        }
    }

    /// Votes for `runid` as leader of `epoch` unless a vote for that epoch
    /// (or a later one) was already cast; returns the vote and its epoch.
    pub(crate) fn vote_leader(
        &mut self,
        name: &str,
        req_epoch: u64,
        runid: &str,
        now: u64,
    ) -> (Option<String>, u64) {
        if req_epoch > self.current_epoch {
            self.current_epoch = req_epoch;
            self.flush_config();
            self.event(Level::Warning, "+new-epoch", req_epoch.to_string());
        }
        let current = self.current_epoch;
        let myid = self.myid.clone();
        let elapsed = self.elapsed_ms;
        let desync = self.rng.gen_range(0..MAX_DESYNC_MS);
        let Some(master) = self.masters.get_mut(name) else {
            return (None, 0);
        };
        let votes_again = self.config.planted_votes_twice
            && master.leader_epoch == req_epoch
            && master.leader.as_deref() != Some(runid);
        if (master.leader_epoch < req_epoch || votes_again) && current <= req_epoch {
            master.leader = Some(runid.to_string());
            master.leader_epoch = current;
            if !runid.eq_ignore_ascii_case(&myid) {
                master.failover_start_time = now + desync;
            }
            self.votes.push(LeaderVote {
                time_ms: elapsed,
                master: name.to_string(),
                epoch: current,
                leader: runid.to_string(),
            });
            self.flush_config();
            self.event(
                Level::Warning,
                "+vote-for-leader",
                format!("{runid} {current}"),
            );
        }
        let master = &self.masters[name];
        (master.leader.clone(), master.leader_epoch)
    }

    /// The leader of `epoch`, if it has a majority of the known Sentinels
    /// and at least the quorum (`sentinelGetLeader`).
    fn get_leader(&mut self, name: &str, epoch: u64, now: u64) -> Option<String> {
        let master = self.masters.get(name)?;
        let voters = master.sentinels.len() as u64 + 1;
        let mut counters: std::collections::BTreeMap<String, u64> = Default::default();
        for s in master.sentinels.values() {
            if let Some(leader) = &s.leader {
                if s.leader_epoch == self.current_epoch {
                    *counters.entry(leader.clone()).or_default() += 1;
                }
            }
        }
        let quorum = master.quorum as u64;
        let mut winner: Option<String> = None;
        let mut max_votes = 0;
        for (runid, votes) in &counters {
            if *votes > max_votes {
                max_votes = *votes;
                winner = Some(runid.clone());
            }
        }
        let candidate = winner.clone().unwrap_or_else(|| self.myid.clone());
        let (myvote, leader_epoch) = self.vote_leader(name, epoch, &candidate, now);
        if let Some(myvote) = myvote {
            if leader_epoch == epoch {
                let votes = counters.entry(myvote.clone()).or_default();
                *votes += 1;
                if *votes > max_votes {
                    max_votes = *votes;
                    winner = Some(myvote);
                }
            }
        }
        let voters_quorum = voters / 2 + 1;
        if winner.is_some() && (max_votes < voters_quorum || max_votes < quorum) {
            winner = None;
        }
        winner
    }

    fn start_failover_if_needed(&mut self, name: &str, now: u64) -> bool {
        let Some(master) = self.masters.get_mut(name) else {
            return false;
        };
        if !master.instance.flags.o_down || master.instance.flags.failover_in_progress {
            return false;
        }
        if now.saturating_sub(master.failover_start_time) < master.failover_timeout_ms * 2 {
            if master.failover_delay_logged != master.failover_start_time {
                master.failover_delay_logged = master.failover_start_time;
                let when =
                    ctime((master.failover_start_time + master.failover_timeout_ms * 2) / 1000);
                self.log(
                    Level::Warning,
                    &format!("Next failover delay: I will not start a failover before {when}"),
                );
            }
            return false;
        }
        self.start_failover(name, now);
        true
    }

    /// A failover starts: a new epoch, then the election.
    pub(crate) fn start_failover(&mut self, name: &str, now: u64) {
        self.current_epoch += 1;
        let epoch = self.current_epoch;
        let desync = self.rng.gen_range(0..MAX_DESYNC_MS);
        let Some(master) = self.masters.get_mut(name) else {
            return;
        };
        master.failover_state = FailoverState::WaitStart;
        master.instance.flags.failover_in_progress = true;
        master.failover_epoch = epoch;
        self.event(Level::Warning, "+new-epoch", epoch.to_string());
        let at = master_ref(name);
        self.event_at(Level::Warning, "+try-failover", &at, "");
        let master = self.masters.get_mut(name).expect("present");
        master.failover_start_time = now + desync;
        master.failover_state_change_time = now;
    }

    fn abort_failover(&mut self, name: &str, now: u64) {
        let Some(master) = self.masters.get_mut(name) else {
            return;
        };
        master.instance.flags.failover_in_progress = false;
        master.instance.flags.force_failover = false;
        master.failover_state = FailoverState::None;
        master.failover_state_change_time = now;
        if let Some(promoted) = master.promoted.take() {
            if let Some(replica) = master.replicas.get_mut(&promoted) {
                replica.flags.promoted = false;
            }
        }
    }

    fn failover_state_machine(&mut self, name: &str, now: u64) {
        let Some(master) = self.masters.get(name) else {
            return;
        };
        if !master.instance.flags.failover_in_progress {
            return;
        }
        match master.failover_state {
            FailoverState::WaitStart => self.failover_wait_start(name, now),
            FailoverState::SelectReplica => self.failover_select_replica(name, now),
            FailoverState::SendReplicaofNoOne => self.failover_send_replicaof_no_one(name, now),
            FailoverState::WaitPromotion => {
                let m = &self.masters[name];
                if now.saturating_sub(m.failover_state_change_time) > m.failover_timeout_ms {
                    self.event_at(
                        Level::Warning,
                        "-failover-abort-slave-timeout",
                        &master_ref(name),
                        "",
                    );
                    self.abort_failover(name, now);
                }
            }
            FailoverState::ReconfReplicas => self.failover_reconf_next_replica(name, now),
            FailoverState::None | FailoverState::UpdateConfig => {}
        }
    }

    fn failover_wait_start(&mut self, name: &str, now: u64) {
        let t = self.timing;
        let epoch = self.masters[name].failover_epoch;
        let leader = self.get_leader(name, epoch, now);
        let is_leader = leader
            .as_deref()
            .is_some_and(|l| l.eq_ignore_ascii_case(&self.myid));
        let master = &self.masters[name];
        let at = master_ref(name);
        if !is_leader && !master.instance.flags.force_failover {
            let election_timeout = t.election_timeout.min(master.failover_timeout_ms);
            if now.saturating_sub(master.failover_start_time) > election_timeout
                && now > master.failover_start_time
            {
                self.event_at(Level::Warning, "-failover-abort-not-elected", &at, "");
                self.abort_failover(name, now);
            }
            return;
        }
        self.event_at(Level::Warning, "+elected-leader", &at, "");
        if self.simfailure_after_election {
            self.simulated_crash();
            return;
        }
        let master = self.masters.get_mut(name).expect("present");
        master.failover_state = FailoverState::SelectReplica;
        master.failover_state_change_time = now;
        self.event_at(Level::Warning, "+failover-state-select-slave", &at, "");
    }

    /// `SENTINEL SIMULATE-FAILURE`'s crash: Redis exits with status 99.
    pub(super) fn simulated_crash(&mut self) {
        self.log(
            Level::Warning,
            "Sentinel CRASH because of SENTINEL simulate-failure",
        );
        self.crashed = true;
        for master in self.masters.values_mut() {
            master.instance.link.close_cmd();
            master.instance.link.close_pubsub();
            for other in master
                .replicas
                .values_mut()
                .chain(master.sentinels.values_mut())
            {
                other.link.close_cmd();
                other.link.close_pubsub();
            }
        }
    }

    /// The best replica to promote (`sentinelSelectSlave`).
    pub(crate) fn select_replica(&self, name: &str, now: u64) -> Option<String> {
        let t = self.timing;
        let master = self.masters.get(name)?;
        let mut max_master_down_ms = 0;
        if master.instance.flags.s_down {
            max_master_down_ms += now.saturating_sub(master.instance.s_down_since);
        }
        max_master_down_ms += master.down_after_ms * 10;
        let info_validity_ms = if master.instance.flags.s_down {
            t.ping * 5
        } else {
            t.info * 3
        };
        let mut candidates: Vec<&Instance> = master
            .replicas
            .values()
            .filter(|r| {
                !(r.flags.s_down || r.flags.o_down || r.link.disconnected)
                    && now.saturating_sub(r.link.last_avail_time) <= t.ping * 5
                    && r.replica_priority != 0
                    && now.saturating_sub(r.info_refresh) <= info_validity_ms
                    && r.master_link_down_ms <= max_master_down_ms
            })
            .collect();
        candidates.sort_by(|a, b| {
            a.replica_priority
                .cmp(&b.replica_priority)
                .then(b.replica_repl_offset.cmp(&a.replica_repl_offset))
                .then_with(|| match (&a.runid, &b.runid) {
                    (None, None) => std::cmp::Ordering::Equal,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (Some(x), Some(y)) => x.to_ascii_lowercase().cmp(&y.to_ascii_lowercase()),
                })
        });
        candidates.first().map(|r| r.name.clone())
    }

    fn failover_select_replica(&mut self, name: &str, now: u64) {
        let at = master_ref(name);
        let Some(chosen) = self.select_replica(name, now) else {
            self.event_at(Level::Warning, "-failover-abort-no-good-slave", &at, "");
            self.abort_failover(name, now);
            return;
        };
        let replica_at = InstanceRef {
            master: name.to_string(),
            kind: Kind::Replica,
            name: chosen.clone(),
        };
        self.event_at(Level::Warning, "+selected-slave", &replica_at, "");
        let master = self.masters.get_mut(name).expect("present");
        if let Some(r) = master.replicas.get_mut(&chosen) {
            r.flags.promoted = true;
        }
        master.promoted = Some(chosen);
        master.failover_state = FailoverState::SendReplicaofNoOne;
        master.failover_state_change_time = now;
        self.event_at(
            Level::Notice,
            "+failover-state-send-slaveof-noone",
            &replica_at,
            "",
        );
    }

    fn failover_send_replicaof_no_one(&mut self, name: &str, now: u64) {
        let master = &self.masters[name];
        let Some(promoted) = master.promoted.clone() else {
            return;
        };
        let replica_at = InstanceRef {
            master: name.to_string(),
            kind: Kind::Replica,
            name: promoted.clone(),
        };
        let disconnected = master
            .replicas
            .get(&promoted)
            .is_none_or(|r| r.link.disconnected);
        if disconnected {
            if now.saturating_sub(master.failover_state_change_time) > master.failover_timeout_ms {
                self.event_at(
                    Level::Warning,
                    "-failover-abort-slave-timeout",
                    &master_ref(name),
                    "",
                );
                self.abort_failover(name, now);
            }
            return;
        }
        if !self.send_replicaof(&replica_at, None) {
            return;
        }
        self.event_at(
            Level::Notice,
            "+failover-state-wait-promotion",
            &replica_at,
            "",
        );
        let master = self.masters.get_mut(name).expect("present");
        master.failover_state = FailoverState::WaitPromotion;
        master.failover_state_change_time = now;
    }

    /// REPLICAOF as Redis's Sentinel sends it: one transaction with the
    /// config rewrite and the disconnection of normal and pub/sub clients.
    pub(crate) fn send_replicaof(
        &mut self,
        at: &InstanceRef,
        target: Option<(String, u16)>,
    ) -> bool {
        let Some(instance) = self.instance_mut(at) else {
            return false;
        };
        let Some(cmd) = &instance.link.cmd else {
            return false;
        };
        let (host, port) = match &target {
            Some((host, port)) => (host.clone(), port.to_string()),
            None => ("NO".to_string(), "ONE".to_string()),
        };
        let commands = [
            args(&["MULTI"]),
            args(&["SLAVEOF", &host, &port]),
            args(&["CONFIG", "REWRITE"]),
            args(&["CLIENT", "KILL", "TYPE", "normal"]),
            args(&["CLIENT", "KILL", "TYPE", "pubsub"]),
            args(&["EXEC"]),
        ];
        for command in commands {
            if !cmd.send(command, ReplyKind::Discard) {
                return false;
            }
            instance.link.pending_commands += 1;
        }
        true
    }

    fn failover_reconf_next_replica(&mut self, name: &str, now: u64) {
        let t = self.timing;
        let master = &self.masters[name];
        let parallel = master.parallel_syncs.max(1) as usize;
        let Some(promoted) = master.promoted_replica() else {
            return;
        };
        let target = (promoted.host.clone(), promoted.port);
        let mut in_progress = master
            .replicas
            .values()
            .filter(|r| r.flags.reconf_sent || r.flags.reconf_inprog)
            .count();
        let names: Vec<String> = master.replicas.keys().cloned().collect();
        for replica in names {
            if in_progress >= parallel {
                break;
            }
            let at = InstanceRef {
                master: name.to_string(),
                kind: Kind::Replica,
                name: replica.clone(),
            };
            let r = &self.masters[name].replicas[&replica];
            if r.flags.promoted || r.flags.reconf_done {
                continue;
            }
            if r.flags.reconf_sent
                && now.saturating_sub(r.reconf_sent_time) > t.replica_reconf_timeout
            {
                self.event_at(Level::Notice, "-slave-reconf-sent-timeout", &at, "");
                let r = self.instance_mut(&at).expect("present");
                r.flags.reconf_sent = false;
                r.flags.reconf_done = true;
                continue;
            }
            if r.flags.reconf_sent || r.flags.reconf_inprog || r.link.disconnected {
                continue;
            }
            if self.send_replicaof(&at, Some(target.clone())) {
                let r = self.instance_mut(&at).expect("present");
                r.flags.reconf_sent = true;
                r.reconf_sent_time = now;
                self.event_at(Level::Notice, "+slave-reconf-sent", &at, "");
                in_progress += 1;
            }
        }
        self.failover_detect_end(name, now);
    }

    fn failover_detect_end(&mut self, name: &str, now: u64) {
        let master = &self.masters[name];
        let Some(promoted) = master.promoted_replica() else {
            return;
        };
        if promoted.flags.s_down {
            return;
        }
        let target = (promoted.host.clone(), promoted.port);
        let elapsed = now.saturating_sub(master.failover_state_change_time);
        let mut not_reconfigured = master
            .replicas
            .values()
            .filter(|r| !(r.flags.promoted || r.flags.reconf_done || r.flags.s_down))
            .count();
        let mut timeout = false;
        let at = master_ref(name);
        if elapsed > master.failover_timeout_ms {
            not_reconfigured = 0;
            timeout = true;
            self.event_at(Level::Warning, "+failover-end-for-timeout", &at, "");
        }
        if not_reconfigured == 0 {
            self.event_at(Level::Warning, "+failover-end", &at, "");
            let master = self.masters.get_mut(name).expect("present");
            master.failover_state = FailoverState::UpdateConfig;
            master.failover_state_change_time = now;
        }
        if timeout {
            let names: Vec<String> = self.masters[name].replicas.keys().cloned().collect();
            for replica in names {
                let at = InstanceRef {
                    master: name.to_string(),
                    kind: Kind::Replica,
                    name: replica.clone(),
                };
                let r = &self.masters[name].replicas[&replica];
                if r.flags.promoted
                    || r.flags.reconf_done
                    || r.flags.reconf_sent
                    || r.link.disconnected
                {
                    continue;
                }
                if self.send_replicaof(&at, Some(target.clone())) {
                    self.event_at(Level::Notice, "+slave-reconf-sent-be", &at, "");
                    self.instance_mut(&at).expect("present").flags.reconf_sent = true;
                }
            }
        }
    }

    /// The failover is over: monitor the promoted replica under the
    /// master's name.
    fn switch_to_promoted(&mut self, name: &str, now: u64) {
        let master = &self.masters[name];
        let (old_host, old_port) = (master.instance.host.clone(), master.instance.port);
        let (new_host, new_port) = master
            .promoted_replica()
            .map(|p| (p.host.clone(), p.port))
            .unwrap_or((old_host.clone(), old_port));
        self.event(
            Level::Warning,
            "+switch-master",
            format!("{name} {old_host} {old_port} {new_host} {new_port}"),
        );
        self.reset_master_and_change_address(name, &new_host, new_port, now);
    }

    /// Monitors `host:port` as master `name`: its old replicas and the old
    /// master become its replicas (`sentinelResetMasterAndChangeAddress`).
    pub(crate) fn reset_master_and_change_address(
        &mut self,
        name: &str,
        host: &str,
        port: u16,
        now: u64,
    ) {
        let Some(master) = self.masters.get_mut(name) else {
            return;
        };
        let mut replicas: Vec<(String, u16)> = master
            .replicas
            .values()
            .filter(|r| !(r.host == host && r.port == port))
            .map(|r| (r.host.clone(), r.port))
            .collect();
        if !(master.instance.host == host && master.instance.port == port) {
            replicas.push((master.instance.host.clone(), master.instance.port));
        }
        reset_master(master, now);
        master.instance.host = host.to_string();
        master.instance.port = port;
        for (h, p) in replicas {
            let replica_name = format!("{h}:{p}");
            master.replicas.insert(
                replica_name.clone(),
                Instance::new(Kind::Replica, replica_name, &h, p, now),
            );
        }
        master.instance.o_down_since = 0;
        master.instance.s_down_since = 0;
        self.flush_config();
    }
}

pub(super) fn master_ref(name: &str) -> InstanceRef {
    InstanceRef {
        master: name.to_string(),
        kind: Kind::Master,
        name: String::new(),
    }
}

/// Resets a master's runtime state (`sentinelResetMaster` keeping the
/// Sentinels): replicas forgotten, links closed, failover cleared.
pub(crate) fn reset_master(master: &mut super::state::Master, now: u64) {
    master.replicas.clear();
    let i = &mut master.instance;
    i.link.close_cmd();
    i.link.close_pubsub();
    i.flags = Default::default();
    master.leader = None;
    master.failover_state = FailoverState::None;
    master.failover_state_change_time = 0;
    master.failover_start_time = 0;
    master.promoted = None;
    i.runid = None;
    i.replica_master_host = None;
    i.link.act_ping_time = now;
    i.link.last_ping_time = 0;
    i.link.last_avail_time = now;
    i.link.last_pong_time = now;
    i.role_reported_time = now;
    i.role_reported = Role::Master;
}

pub(super) fn master_looks_sane(master: &super::state::Master, now: u64, t: Timing) -> bool {
    let i = &master.instance;
    i.role_reported == Role::Master
        && !i.flags.s_down
        && !i.flags.o_down
        && now.saturating_sub(i.info_refresh) < t.info * 2
}

/// Not SDOWN for `ms` (`sentinelRedisInstanceNoDownFor`).
pub(super) fn no_down_for(instance: &Instance, ms: u64, now: u64) -> bool {
    let most_recent = instance.s_down_since.max(instance.o_down_since);
    most_recent == 0 || now.saturating_sub(most_recent) > ms
}

/// Hellos go out on the next timer run (`sentinelForceHelloUpdateForMaster`).
pub(super) fn force_hello_update(master: &mut super::state::Master, t: Timing) {
    let back = t.publish + 1;
    let shift = |i: &mut Instance| {
        if i.last_pub_time >= back {
            i.last_pub_time -= back;
        }
    };
    shift(&mut master.instance);
    master.sentinels.values_mut().for_each(shift);
    master.replicas.values_mut().for_each(shift);
}
