//! What replies and hellos tell a Sentinel (Redis's reply callbacks and
//! `sentinelRefreshInstanceInfo` / `sentinelProcessHelloMessage`): PONGs
//! keep an instance up, INFO gives roles, replicas, offsets and
//! priorities and drives the failover's progress (promotion seen,
//! replicas re-pointed, a returning old master converted), votes come
//! back from IS-MASTER-DOWN-BY-ADDR, and hellos introduce other Sentinels
//! and carry newer configurations.

use crate::log::Level;
use crate::resp::Frame;

use super::failover::{force_hello_update, master_looks_sane, master_ref, no_down_for};
use super::links::{InstanceRef, ReplyKind};
use super::state::{FailoverState, Instance, Kind, Role};
use super::SentinelState;

impl SentinelState {
    /// Handles one reply on a command link.
    pub(crate) fn handle_reply(
        &mut self,
        at: &InstanceRef,
        kind: ReplyKind,
        frame: Frame,
        now: u64,
    ) {
        match kind {
            ReplyKind::Discard => {}
            ReplyKind::Ping => {
                let Some(instance) = self.instance_mut(at) else {
                    return;
                };
                if let Frame::Simple(text) | Frame::Error(text) = &frame {
                    if text.starts_with("PONG")
                        || text.starts_with("LOADING")
                        || text.starts_with("MASTERDOWN")
                    {
                        instance.link.last_avail_time = now;
                        instance.link.act_ping_time = 0;
                    }
                }
                instance.link.last_pong_time = now;
            }
            ReplyKind::Publish => {
                if !matches!(frame, Frame::Error(_)) {
                    if let Some(instance) = self.instance_mut(at) {
                        instance.last_pub_time = now;
                    }
                }
            }
            ReplyKind::Info => {
                if let Frame::Bulk(Some(text)) = frame {
                    let text = String::from_utf8_lossy(&text).into_owned();
                    self.refresh_info(at, &text, now);
                }
            }
            ReplyKind::IsMasterDown => {
                let Frame::Array(Some(items)) = frame else {
                    return;
                };
                let [Frame::Integer(down), Frame::Bulk(Some(leader)), Frame::Integer(epoch)] =
                    &items[..]
                else {
                    return;
                };
                let leader = String::from_utf8_lossy(leader).into_owned();
                let Some(instance) = self.instance_mut(at) else {
                    return;
                };
                instance.last_master_down_reply_time = now;
                instance.flags.master_down = *down == 1;
                if leader != "*" {
                    let changed = instance.leader_epoch as i64 != *epoch;
                    let who = instance.name.clone();
                    instance.leader = Some(leader.clone());
                    instance.leader_epoch = (*epoch).max(0) as u64;
                    if changed {
                        self.log(Level::Warning, &format!("{who} voted for {leader} {epoch}"));
                    }
                }
            }
        }
    }

    /// Reads an INFO reply (`sentinelRefreshInstanceInfo`).
    fn refresh_info(&mut self, at: &InstanceRef, info: &str, now: u64) {
        let mut discovered: Vec<(String, u16)> = Vec::new();
        let mut reboot = false;
        let Some(instance) = self.instance_mut(at) else {
            return;
        };
        instance.info = info.to_string();
        instance.master_link_down_ms = 0;
        let mut role = Role::Unknown;
        for line in info.split("\r\n") {
            if let Some(id) = line.strip_prefix("run_id:") {
                if id.len() >= 40 {
                    let id = id[..40].to_string();
                    match &instance.runid {
                        None => instance.runid = Some(id),
                        Some(old) if *old != id => {
                            reboot = true;
                            instance.runid = Some(id);
                        }
                        Some(_) => {}
                    }
                }
            }
            if at.kind == Kind::Master
                && line.starts_with("slave")
                && line.as_bytes().get(5).is_some_and(u8::is_ascii_digit)
            {
                if let Some((host, port)) = parse_replica_line(line) {
                    discovered.push((host, port));
                }
            }
            if let Some(secs) = line.strip_prefix("master_link_down_since_seconds:") {
                instance.master_link_down_ms = secs.trim().parse::<u64>().unwrap_or(0) * 1000;
            }
            if line.starts_with("role:master") {
                role = Role::Master;
            } else if line.starts_with("role:slave") {
                role = Role::Replica;
            }
            if role == Role::Replica {
                if let Some(host) = line.strip_prefix("master_host:") {
                    if instance
                        .replica_master_host
                        .as_deref()
                        .is_none_or(|h| !h.eq_ignore_ascii_case(host))
                    {
                        instance.replica_master_host = Some(host.to_string());
                        instance.replica_conf_change_time = now;
                    }
                }
                if let Some(port) = line.strip_prefix("master_port:") {
                    let port: u16 = port.trim().parse().unwrap_or(0);
                    if instance.replica_master_port != port {
                        instance.replica_master_port = port;
                        instance.replica_conf_change_time = now;
                    }
                }
                if let Some(status) = line.strip_prefix("master_link_status:") {
                    instance.replica_link_up = status.eq_ignore_ascii_case("up");
                }
                if let Some(priority) = line.strip_prefix("slave_priority:") {
                    instance.replica_priority = priority.trim().parse().unwrap_or(0);
                }
                if let Some(offset) = line.strip_prefix("slave_repl_offset:") {
                    instance.replica_repl_offset = offset.trim().parse().unwrap_or(0);
                }
            }
        }
        instance.info_refresh = now;
        let role_changed = role != instance.role_reported;
        if role_changed {
            instance.role_reported_time = now;
            instance.role_reported = role;
            if role == Role::Replica {
                instance.replica_conf_change_time = now;
            }
        }
        if reboot {
            self.event_at(Level::Notice, "+reboot", at, "");
        }
        for (host, port) in discovered {
            let master = self.masters.get_mut(&at.master).expect("present");
            let name = format!("{host}:{port}");
            if !master.replicas.contains_key(&name) {
                master.replicas.insert(
                    name.clone(),
                    Instance::new(Kind::Replica, name.clone(), &host, port, now),
                );
                let replica_at = InstanceRef {
                    master: at.master.clone(),
                    kind: Kind::Replica,
                    name,
                };
                self.event_at(Level::Notice, "+slave", &replica_at, "");
                self.flush_config();
            }
        }
        if role_changed {
            let matches = matches!(
                (at.kind, role),
                (Kind::Master, Role::Master) | (Kind::Replica, Role::Replica)
            );
            let word = if role == Role::Master {
                "master"
            } else {
                "slave"
            };
            self.event_at(
                Level::Verbose,
                if matches {
                    "+role-change"
                } else {
                    "-role-change"
                },
                at,
                &format!(" new reported role is {word}"),
            );
        }
        if self.tilt || at.kind != Kind::Replica {
            return;
        }
        self.replica_role_checks(at, role, now);
    }

    /// What a replica's INFO means for the failover: its promotion, a
    /// returning old master to convert, a replica pointed elsewhere, the
    /// progress of re-pointed replicas.
    fn replica_role_checks(&mut self, at: &InstanceRef, role: Role, now: u64) {
        let t = self.timing;
        let master = &self.masters[&at.master];
        let instance = &master.replicas[&at.name];
        if role == Role::Master {
            if instance.flags.promoted
                && master.instance.flags.failover_in_progress
                && master.failover_state == FailoverState::WaitPromotion
            {
                let master = self.masters.get_mut(&at.master).expect("present");
                master.config_epoch = master.failover_epoch;
                master.failover_state = FailoverState::ReconfReplicas;
                master.failover_state_change_time = now;
                self.flush_config();
                self.event_at(Level::Warning, "+promoted-slave", at, "");
                if self.simfailure_after_promotion {
                    self.simulated_crash();
                    return;
                }
                self.event_at(
                    Level::Warning,
                    "+failover-state-reconf-slaves",
                    &master_ref(&at.master),
                    "",
                );
                force_hello_update(self.masters.get_mut(&at.master).expect("present"), t);
            } else {
                let wait = t.publish * 4;
                if !instance.flags.promoted
                    && master_looks_sane(master, now, t)
                    && no_down_for(instance, wait, now)
                    && now.saturating_sub(instance.role_reported_time) > wait
                {
                    let target = (master.instance.host.clone(), master.instance.port);
                    if self.send_replicaof(at, Some(target)) {
                        self.event_at(Level::Notice, "+convert-to-slave", at, "");
                    }
                }
            }
        }
        let master = &self.masters[&at.master];
        let instance = &master.replicas[&at.name];
        if role == Role::Replica
            && (instance.replica_master_port != master.instance.port
                || !instance
                    .replica_master_host
                    .as_deref()
                    .is_some_and(|h| h.eq_ignore_ascii_case(&master.instance.host)))
        {
            let wait = master.failover_timeout_ms;
            if master_looks_sane(master, now, t)
                && no_down_for(instance, wait, now)
                && now.saturating_sub(instance.replica_conf_change_time) > wait
            {
                let target = (master.instance.host.clone(), master.instance.port);
                if self.send_replicaof(at, Some(target)) {
                    self.event_at(Level::Notice, "+fix-slave-config", at, "");
                }
            }
        }
        let master = &self.masters[&at.master];
        let instance = &master.replicas[&at.name];
        if role == Role::Replica && (instance.flags.reconf_sent || instance.flags.reconf_inprog) {
            let promoted = master.promoted_replica().map(|p| (p.host.clone(), p.port));
            let points_there = promoted.is_some_and(|(h, p)| {
                instance
                    .replica_master_host
                    .as_deref()
                    .is_some_and(|mh| mh.eq_ignore_ascii_case(&h))
                    && instance.replica_master_port == p
            });
            let link_up = instance.replica_link_up;
            if instance.flags.reconf_sent && points_there {
                let r = self.instance_mut(at).expect("present");
                r.flags.reconf_sent = false;
                r.flags.reconf_inprog = true;
                self.event_at(Level::Notice, "+slave-reconf-inprog", at, "");
            }
            let r = self.instance_mut(at).expect("present");
            if r.flags.reconf_inprog && link_up {
                r.flags.reconf_inprog = false;
                r.flags.reconf_done = true;
                self.event_at(Level::Notice, "+slave-reconf-done", at, "");
            }
        }
    }

    /// A hello from another Sentinel (`sentinelProcessHelloMessage`).
    pub(crate) fn process_hello(&mut self, hello: &str, now: u64) {
        let tokens: Vec<&str> = hello.split(',').collect();
        if tokens.len() != 8 {
            return;
        }
        let name = tokens[4];
        if !self.masters.contains_key(name) {
            return;
        }
        let (ip, runid) = (tokens[0], tokens[2]);
        let port: u16 = tokens[1].parse().unwrap_or(0);
        let current_epoch: u64 = tokens[3].parse().unwrap_or(0);
        let master_host = tokens[5];
        let master_port: u16 = tokens[6].parse().unwrap_or(0);
        let master_config_epoch: u64 = tokens[7].parse().unwrap_or(0);
        let master = self.masters.get_mut(name).expect("present");
        let known = master
            .sentinels
            .values()
            .any(|s| s.host == ip && s.port == port && s.runid.as_deref() == Some(runid));
        let mut si_exists = known;
        if !known {
            let removed = master.sentinels.remove(runid).is_some();
            let at_master = master_ref(name);
            if removed {
                self.event_at(
                    Level::Notice,
                    "+sentinel-address-switch",
                    &at_master,
                    &format!(" ip {ip} port {port} for {runid}"),
                );
            } else {
                let master = &self.masters[name];
                let other = master
                    .sentinels
                    .values()
                    .find(|s| s.host == ip && s.port == port)
                    .map(|s| s.name.clone());
                if let Some(other) = other {
                    let other_at = InstanceRef {
                        master: name.to_string(),
                        kind: Kind::Sentinel,
                        name: other.clone(),
                    };
                    self.event_at(Level::Notice, "+sentinel-invalid-addr", &other_at, "");
                    for m in self.masters.values_mut() {
                        m.sentinels.remove(&other);
                    }
                }
            }
            let master = self.masters.get_mut(name).expect("present");
            let mut sentinel = Instance::new(Kind::Sentinel, runid.to_string(), ip, port, now);
            sentinel.runid = Some(runid.to_string());
            master.sentinels.insert(runid.to_string(), sentinel);
            si_exists = true;
            if !removed {
                let at = InstanceRef {
                    master: name.to_string(),
                    kind: Kind::Sentinel,
                    name: runid.to_string(),
                };
                self.event_at(Level::Notice, "+sentinel", &at, "");
            }
            self.flush_config();
        }
        if current_epoch > self.current_epoch {
            self.current_epoch = current_epoch;
            self.flush_config();
            self.event(Level::Warning, "+new-epoch", current_epoch.to_string());
        }
        let master = self.masters.get_mut(name).expect("present");
        if si_exists && master.config_epoch < master_config_epoch {
            master.config_epoch = master_config_epoch;
            if master_port != master.instance.port
                || !master.instance.host.eq_ignore_ascii_case(master_host)
            {
                let (old_host, old_port) = (master.instance.host.clone(), master.instance.port);
                let at = InstanceRef {
                    master: name.to_string(),
                    kind: Kind::Sentinel,
                    name: runid.to_string(),
                };
                self.event_at(Level::Warning, "+config-update-from", &at, "");
                self.event(
                    Level::Warning,
                    "+switch-master",
                    format!("{name} {old_host} {old_port} {master_host} {master_port}"),
                );
                self.reset_master_and_change_address(name, master_host, master_port, now);
            }
        }
        if let Some(s) = self
            .masters
            .get_mut(name)
            .and_then(|m| m.sentinels.get_mut(runid))
        {
            s.last_hello_time = now;
        }
    }
}

/// `slaveN:ip=...,port=...` (or the old `slaveN:ip,port,state`).
fn parse_replica_line(line: &str) -> Option<(String, u16)> {
    let (_, rest) = line.split_once(':')?;
    if rest.contains("ip=") {
        let mut host = None;
        let mut port = None;
        for field in rest.split(',') {
            if let Some(v) = field.strip_prefix("ip=") {
                host = Some(v.to_string());
            } else if let Some(v) = field.strip_prefix("port=") {
                port = v.parse().ok();
            }
        }
        Some((host?, port?))
    } else {
        let mut parts = rest.split(',');
        let host = parts.next()?.to_string();
        let port = parts.next()?.parse().ok()?;
        Some((host, port))
    }
}
