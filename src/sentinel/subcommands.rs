//! The SENTINEL command and its subcommands (MASTERS, MASTER, REPLICAS,
//! SENTINELS, GET-MASTER-ADDR-BY-NAME, IS-MASTER-DOWN-BY-ADDR, FAILOVER,
//! RESET, CKQUORUM, FLUSHCONFIG, MONITOR, REMOVE, SET, CONFIG, INFO-CACHE,
//! MYID, SIMULATE-FAILURE, DEBUG, PENDING-SCRIPTS, HELP), with Redis's
//! arities, replies and errors.

use std::sync::Arc;

use crate::log::Level;
use crate::resp::{Argv, Reply};
use crate::runtime::Runtime;

use super::commands::{arity_error, eq, text};
use super::links::InstanceRef;
use super::state::{FailoverState, Instance, Kind, Master, Role};
use super::{Core, SentinelState};

/// Writes one instance as SENTINEL MASTER / REPLICAS / SENTINELS do.
fn reply_instance(reply: &mut Reply, master: &Master, instance: &Instance, now: u64) {
    let mut fields: Vec<(&str, String)> = Vec::new();
    let ago = |t: u64| now.saturating_sub(t).to_string();
    fields.push(("name", instance.name.clone()));
    fields.push(("ip", instance.host.clone()));
    fields.push(("port", instance.port.to_string()));
    fields.push(("runid", instance.runid.clone().unwrap_or_default()));
    fields.push(("flags", instance.flags_text()));
    fields.push((
        "link-pending-commands",
        instance.link.pending_commands.to_string(),
    ));
    fields.push(("link-refcount", "1".into()));
    if instance.kind == Kind::Master && instance.flags.failover_in_progress {
        fields.push(("failover-state", master.failover_state.name().into()));
    }
    fields.push((
        "last-ping-sent",
        if instance.link.act_ping_time != 0 {
            ago(instance.link.act_ping_time)
        } else {
            "0".into()
        },
    ));
    fields.push(("last-ok-ping-reply", ago(instance.link.last_avail_time)));
    fields.push(("last-ping-reply", ago(instance.link.last_pong_time)));
    if instance.flags.s_down {
        fields.push(("s-down-time", ago(instance.s_down_since)));
    }
    if instance.flags.o_down {
        fields.push(("o-down-time", ago(instance.o_down_since)));
    }
    fields.push(("down-after-milliseconds", master.down_after_ms.to_string()));
    if instance.kind != Kind::Sentinel {
        fields.push((
            "info-refresh",
            if instance.info_refresh != 0 {
                ago(instance.info_refresh)
            } else {
                "0".into()
            },
        ));
        fields.push((
            "role-reported",
            if instance.role_reported == Role::Replica {
                "slave"
            } else {
                "master"
            }
            .into(),
        ));
        fields.push(("role-reported-time", ago(instance.role_reported_time)));
    }
    if instance.kind == Kind::Master {
        fields.push(("config-epoch", master.config_epoch.to_string()));
        fields.push(("num-slaves", master.replicas.len().to_string()));
        fields.push(("num-other-sentinels", master.sentinels.len().to_string()));
        fields.push(("quorum", master.quorum.to_string()));
        fields.push(("failover-timeout", master.failover_timeout_ms.to_string()));
        fields.push(("parallel-syncs", master.parallel_syncs.to_string()));
    }
    if instance.kind == Kind::Replica {
        fields.push((
            "master-link-down-time",
            instance.master_link_down_ms.to_string(),
        ));
        fields.push((
            "master-link-status",
            if instance.replica_link_up {
                "ok"
            } else {
                "err"
            }
            .into(),
        ));
        fields.push((
            "master-host",
            instance
                .replica_master_host
                .clone()
                .unwrap_or_else(|| "?".into()),
        ));
        fields.push(("master-port", instance.replica_master_port.to_string()));
        fields.push(("slave-priority", instance.replica_priority.to_string()));
        fields.push((
            "slave-repl-offset",
            instance.replica_repl_offset.to_string(),
        ));
        fields.push(("replica-announced", "1".into()));
    }
    if instance.kind == Kind::Sentinel {
        fields.push(("last-hello-message", ago(instance.last_hello_time)));
        fields.push((
            "voted-leader",
            instance.leader.clone().unwrap_or_else(|| "?".into()),
        ));
        fields.push(("voted-leader-epoch", instance.leader_epoch.to_string()));
    }
    reply.map(fields.len());
    for (key, value) in fields {
        reply.bulk(key.as_bytes());
        reply.bulk(value.as_bytes());
    }
}

fn master_or_error<'a>(
    state: &'a SentinelState,
    name: &[u8],
    reply: &mut Reply,
) -> Option<&'a Master> {
    let found = state.masters.get(&text(name));
    if found.is_none() {
        reply.error("ERR No such master with that name");
    }
    found
}

pub(super) fn sentinel_command<R: Runtime>(core: &Arc<Core<R>>, argv: Argv<'_>, reply: &mut Reply) {
    let sub = argv.get(1).to_ascii_lowercase();
    let argc = argv.len();
    let now = core.now();
    let numargs = |reply: &mut Reply| {
        arity_error(reply, &format!("sentinel|{}", text(&sub)));
    };
    if let Some(arity) = subcommand_arity(&sub) {
        let fits = if arity > 0 {
            argc == arity as usize
        } else {
            argc >= (-arity) as usize
        };
        if !fits {
            return numargs(reply);
        }
    } else {
        reply.error(&format!(
            "ERR unknown subcommand '{}'. Try SENTINEL HELP.",
            text(argv.get(1))
        ));
        return;
    }
    let mut state = core.lock();
    match sub.as_slice() {
        b"masters" => {
            if argc != 2 {
                return numargs(reply);
            }
            reply.array(state.masters.len());
            for m in state.masters.values() {
                reply_instance(reply, m, &m.instance, now);
            }
        }
        b"master" => {
            if argc != 3 {
                return numargs(reply);
            }
            if let Some(m) = master_or_error(&state, argv.get(2), reply) {
                reply_instance(reply, m, &m.instance, now);
            }
        }
        b"replicas" | b"slaves" | b"sentinels" => {
            if argc != 3 {
                return numargs(reply);
            }
            if let Some(m) = master_or_error(&state, argv.get(2), reply) {
                let list = if sub == b"sentinels" {
                    &m.sentinels
                } else {
                    &m.replicas
                };
                reply.array(list.len());
                for instance in list.values() {
                    reply_instance(reply, m, instance, now);
                }
            }
        }
        b"myid" if argc == 2 => reply.bulk(state.myid.as_bytes()),
        b"is-master-down-by-addr" => {
            if argc != 6 {
                return numargs(reply);
            }
            let Some(port) = crate::resp::parse_i64(argv.get(3)) else {
                reply.error("ERR value is not an integer or out of range");
                return;
            };
            let Some(req_epoch) = crate::resp::parse_i64(argv.get(4)) else {
                reply.error("ERR value is not an integer or out of range");
                return;
            };
            let host = text(argv.get(2));
            let found = state
                .masters
                .iter()
                .find(|(_, m)| m.instance.host == host && i64::from(m.instance.port) == port)
                .map(|(name, m)| (name.clone(), m.instance.flags.s_down));
            let is_down = !state.tilt && found.as_ref().is_some_and(|(_, s_down)| *s_down);
            let mut leader = None;
            let mut leader_epoch = 0;
            let runid = text(argv.get(5));
            if let Some((name, _)) = &found {
                if runid != "*" {
                    let (vote, epoch) =
                        state.vote_leader(name, req_epoch.max(0) as u64, &runid, now);
                    leader = vote;
                    leader_epoch = epoch;
                }
            }
            reply.array(3);
            reply.integer(i64::from(is_down));
            reply.bulk(leader.as_deref().unwrap_or("*").as_bytes());
            reply.integer(leader_epoch as i64);
        }
        b"reset" => {
            if argc != 3 {
                return numargs(reply);
            }
            let pattern = argv.get(2).to_vec();
            let names: Vec<String> = state
                .masters
                .keys()
                .filter(|n| crate::command::glob::glob_match(&pattern, n.as_bytes(), false))
                .cloned()
                .collect();
            for name in &names {
                let m = state.masters.get_mut(name).expect("present");
                m.sentinels.clear();
                super::failover::reset_master(m, now);
                let at = master_at(name);
                state.event_at(Level::Warning, "+reset-master", &at, "");
            }
            if !names.is_empty() {
                state.flush_config();
            }
            reply.integer(names.len() as i64);
        }
        b"get-master-addr-by-name" => {
            if argc != 3 {
                return numargs(reply);
            }
            match state.current_master_addr(&text(argv.get(2))) {
                None => reply.null_array(),
                Some((host, port)) => {
                    reply.array(2);
                    reply.bulk(host.as_bytes());
                    reply.bulk(port.to_string().as_bytes());
                }
            }
        }
        b"failover" => {
            if argc != 3 {
                return numargs(reply);
            }
            let name = text(argv.get(2));
            let Some(m) = master_or_error(&state, argv.get(2), reply) else {
                return;
            };
            if m.instance.flags.failover_in_progress {
                reply.error("INPROG Failover already in progress");
                return;
            }
            if state.select_replica(&name, now).is_none() {
                reply.error("NOGOODSLAVE No suitable replica to promote");
                return;
            }
            state.log(
                Level::Warning,
                &format!("Executing user requested FAILOVER of '{name}'"),
            );
            state.start_failover(&name, now);
            state
                .masters
                .get_mut(&name)
                .expect("present")
                .instance
                .flags
                .force_failover = true;
            reply.ok();
        }
        b"pending-scripts" => {
            if argc != 2 {
                return numargs(reply);
            }
            reply.array(0);
        }
        b"monitor" => {
            if argc != 6 {
                return numargs(reply);
            }
            let Some(quorum) = crate::resp::parse_i64(argv.get(5)) else {
                reply.error("ERR Invalid quorum");
                return;
            };
            let port = match crate::resp::parse_i64(argv.get(4)) {
                Some(p) => p,
                None => {
                    reply.error("ERR Invalid port");
                    return;
                }
            };
            if quorum <= 0 {
                reply.error("ERR Quorum must be 1 or greater.");
                return;
            }
            let host = text(argv.get(3));
            if host.parse::<std::net::IpAddr>().is_err() && !state.config.resolve_hostnames {
                reply.error("ERR Invalid IP address or hostname specified");
                return;
            }
            let name = text(argv.get(2));
            if state.masters.contains_key(&name) {
                reply.error("ERR Duplicate master name.");
                return;
            }
            if !(1..=65535).contains(&port) {
                reply.error("ERR Invalid port number");
                return;
            }
            let mut config =
                super::config::MasterConfig::new(&name, &host, port as u16, quorum as u32);
            config.down_after_ms = state.timing.default_down_after;
            config.failover_timeout_ms = state.timing.default_failover_timeout;
            state.add_master(&config, now);
            state.flush_config();
            reply.ok();
            let at = master_at(&name);
            state.event_at(
                Level::Warning,
                "+monitor",
                &at,
                &format!(" quorum {quorum}"),
            );
        }
        b"flushconfig" => {
            if argc != 2 {
                return numargs(reply);
            }
            state.flush_config();
            reply.ok();
        }
        b"remove" => {
            if argc != 3 {
                return numargs(reply);
            }
            let name = text(argv.get(2));
            if master_or_error(&state, argv.get(2), reply).is_none() {
                return;
            }
            let at = master_at(&name);
            state.event_at(Level::Warning, "-monitor", &at, "");
            state.masters.shift_remove(&name);
            state.flush_config();
            reply.ok();
        }
        b"ckquorum" => {
            if argc != 3 {
                return numargs(reply);
            }
            let Some(m) = master_or_error(&state, argv.get(2), reply) else {
                return;
            };
            let voters = m.sentinels.len() + 1;
            let usable = 1 + m
                .sentinels
                .values()
                .filter(|s| !(s.flags.s_down || s.flags.o_down))
                .count();
            let no_quorum = usable < m.quorum as usize;
            let no_auth = usable < voters / 2 + 1;
            if !no_quorum && !no_auth {
                reply.raw(
                    format!("+OK {usable} usable Sentinels. Quorum and failover authorization can be reached\r\n")
                        .as_bytes(),
                );
            } else {
                let mut e = format!("NOQUORUM {usable} usable Sentinels. ");
                if no_quorum {
                    e.push_str("Not enough available Sentinels to reach the specified quorum for this master");
                }
                if no_auth {
                    if no_quorum {
                        e.push_str(". ");
                    }
                    e.push_str("Not enough available Sentinels to reach the majority and authorize a failover");
                }
                reply.error(&e);
            }
        }
        b"set" => set_command(&mut state, argv, reply, now),
        b"config" => {
            if argc < 3 {
                return numargs(reply);
            }
            if eq(argv.get(2), "get") && argc == 4 {
                config_get(&state, argv.get(3), reply);
            } else if eq(argv.get(2), "set") && argc == 5 {
                config_set(&mut state, argv.get(3), argv.get(4), reply);
            } else {
                reply.error(
                    "ERR Only SENTINEL CONFIG GET <option> / SET <option> <value> are supported.",
                );
            }
        }
        b"info-cache" => {
            let names: Vec<String> = if argc > 2 {
                let mut wanted: Vec<String> = argv
                    .iter()
                    .skip(2)
                    .map(text)
                    .filter(|n| state.masters.contains_key(n))
                    .collect();
                wanted.dedup();
                wanted
            } else {
                state.masters.keys().cloned().collect()
            };
            reply.array(names.len() * 2);
            for name in names {
                let m = &state.masters[&name];
                reply.bulk(name.as_bytes());
                reply.array(m.replicas.len() + 1);
                for i in std::iter::once(&m.instance).chain(m.replicas.values()) {
                    reply.array(2);
                    reply.integer(if m.instance.info_refresh != 0 {
                        now.saturating_sub(i.info_refresh) as i64
                    } else {
                        0
                    });
                    if i.info.is_empty() {
                        reply.null();
                    } else {
                        reply.bulk(i.info.as_bytes());
                    }
                }
            }
        }
        b"simulate-failure" => {
            state.simfailure_after_election = false;
            state.simfailure_after_promotion = false;
            for arg in argv.iter().skip(2) {
                if eq(arg, "crash-after-election") {
                    state.simfailure_after_election = true;
                    state.log(Level::Warning, "Failure simulation: this Sentinel will crash after being successfully elected as failover leader");
                } else if eq(arg, "crash-after-promotion") {
                    state.simfailure_after_promotion = true;
                    state.log(Level::Warning, "Failure simulation: this Sentinel will crash after promoting the selected replica to master");
                } else if eq(arg, "help") {
                    reply.array(2);
                    reply.bulk(b"crash-after-election");
                    reply.bulk(b"crash-after-promotion");
                    return;
                } else {
                    reply.error("ERR Unknown failure simulation specified");
                    return;
                }
            }
            reply.ok();
        }
        b"debug" => {
            if argc == 2 {
                let mut timing = state.timing;
                let fields = timing.fields();
                reply.map(fields.len());
                for (key, value) in fields {
                    reply.bulk(key.as_bytes());
                    reply.bulk(value.to_string().as_bytes());
                }
                return;
            }
            // Each pair is applied in turn; a bad one stops there, the
            // earlier ones staying applied, as in Redis.
            let mut j = 2;
            while j < argc {
                let option = text(argv.get(j));
                let more = argc - 1 - j;
                let mut timing = state.timing;
                let found = timing
                    .fields()
                    .into_iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(&option))
                    .map(|(_, field)| field);
                let (Some(field), true) = (found, more > 0) else {
                    reply.error(&format!(
                        "ERR Unknown option or number of arguments for SENTINEL DEBUG '{option}'"
                    ));
                    return;
                };
                let value = argv.get(j + 1);
                match crate::resp::parse_i64(value) {
                    Some(ms) if ms > 0 => *field = ms as u64,
                    _ => {
                        reply.error(&format!(
                            "ERR Invalid argument '{}' for SENTINEL DEBUG '{option}'",
                            text(value)
                        ));
                        return;
                    }
                }
                state.timing = timing;
                j += 2;
            }
            reply.ok();
        }
        b"help" if argc == 2 => {
            let lines = HELP;
            reply.array(lines.len() + 3);
            reply.simple("SENTINEL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
            for line in lines {
                reply.simple(line);
            }
            reply.simple("HELP");
            reply.simple("    Prints this help.");
        }
        _ => reply.error(&format!(
            "ERR unknown subcommand '{}'. Try SENTINEL HELP.",
            text(argv.get(1))
        )),
    }
}

/// Redis's arity of each SENTINEL subcommand (its command table: N exactly,
/// -N at least N arguments, the subcommand's own name included).
fn subcommand_arity(sub: &[u8]) -> Option<i32> {
    Some(match sub {
        b"ckquorum"
        | b"failover"
        | b"get-master-addr-by-name"
        | b"master"
        | b"remove"
        | b"replicas"
        | b"reset"
        | b"sentinels"
        | b"slaves" => 3,
        b"flushconfig" | b"help" | b"masters" | b"myid" | b"pending-scripts" => 2,
        b"config" | b"info-cache" | b"simulate-failure" => -3,
        b"debug" => -2,
        b"is-master-down-by-addr" | b"monitor" => 6,
        b"set" => -5,
        _ => return None,
    })
}

const HELP: [&str; 46] = [
    "CKQUORUM <master-name>",
    "    Check if the current Sentinel configuration is able to reach the quorum",
    "    needed to failover a master and the majority needed to authorize the",
    "    failover.",
    "CONFIG SET <param> <value>",
    "    Set a global Sentinel configuration parameter.",
    "CONFIG GET <param>",
    "    Get global Sentinel configuration parameter.",
    "DEBUG [<param> <value> ...]",
    "    Show a list of configurable time parameters and their values (milliseconds).",
    "    Or update current configurable parameters values (one or more).",
    "GET-MASTER-ADDR-BY-NAME <master-name>",
    "    Return the ip and port number of the master with that name.",
    "FAILOVER <master-name>",
    "    Manually failover a master node without asking for agreement from other",
    "    Sentinels",
    "FLUSHCONFIG",
    "    Force Sentinel to rewrite its configuration on disk, including the current",
    "    Sentinel state.",
    "INFO-CACHE <master-name>",
    "    Return last cached INFO output from masters and all its replicas.",
    "IS-MASTER-DOWN-BY-ADDR <ip> <port> <current-epoch> <runid>",
    "    Check if the master specified by ip:port is down from current Sentinel's",
    "    point of view.",
    "MASTER <master-name>",
    "    Show the state and info of the specified master.",
    "MASTERS",
    "    Show a list of monitored masters and their state.",
    "MONITOR <name> <ip> <port> <quorum>",
    "    Start monitoring a new master with the specified name, ip, port and quorum.",
    "MYID",
    "    Return the ID of the Sentinel instance.",
    "PENDING-SCRIPTS",
    "    Get pending scripts information.",
    "REMOVE <master-name>",
    "    Remove master from Sentinel's monitor list.",
    "REPLICAS <master-name>",
    "    Show a list of replicas for this master and their state.",
    "RESET <pattern>",
    "    Reset masters for specific master name matching this pattern.",
    "SENTINELS <master-name>",
    "    Show a list of Sentinel instances for this master and their state.",
    "SET <master-name> <option> <value> [<option> <value> ...]",
    "    Set configuration parameters for certain masters.",
    "SIMULATE-FAILURE [CRASH-AFTER-ELECTION] [CRASH-AFTER-PROMOTION] [HELP]",
    "    Simulate a Sentinel crash.",
];

fn master_at(name: &str) -> InstanceRef {
    InstanceRef {
        master: name.to_string(),
        kind: Kind::Master,
        name: String::new(),
    }
}

/// SENTINEL SET <master> <option> <value> ...: every pair is checked and
/// applied in order, each one announced with `+set`, as Redis does.
fn set_command(state: &mut SentinelState, argv: Argv<'_>, reply: &mut Reply, _now: u64) {
    if argv.len() < 3 {
        return arity_error(reply, "sentinel|set");
    }
    let name = text(argv.get(2));
    if master_or_error(state, argv.get(2), reply).is_none() {
        return;
    }
    let mut changes = 0;
    let mut j = 3;
    while j < argv.len() {
        let option = text(argv.get(j)).to_ascii_lowercase();
        let more = argv.len() - 1 - j;
        if more == 0 {
            reply.error(&format!(
                "ERR Unknown option or number of arguments for SENTINEL SET '{}'",
                text(argv.get(j))
            ));
            break;
        }
        let value = text(argv.get(j + 1));
        let number = value.parse::<i64>().ok();
        let m = state.masters.get_mut(&name).expect("present");
        let ok = match option.as_str() {
            "down-after-milliseconds" => number
                .filter(|n| *n > 0)
                .map(|n| m.down_after_ms = n as u64),
            "failover-timeout" => number
                .filter(|n| *n > 0)
                .map(|n| m.failover_timeout_ms = n as u64),
            "parallel-syncs" => number
                .filter(|n| *n > 0)
                .map(|n| m.parallel_syncs = n as u32),
            "quorum" => number.filter(|n| *n > 0).map(|n| m.quorum = n as u32),
            "auth-pass" => {
                m.auth_pass = (!value.is_empty()).then(|| value.clone());
                Some(())
            }
            "auth-user" => {
                m.auth_user = (!value.is_empty()).then(|| value.clone());
                Some(())
            }
            _ => {
                reply.error(&format!(
                    "ERR Unknown option or number of arguments for SENTINEL SET '{}'",
                    text(argv.get(j))
                ));
                if changes > 0 {
                    state.flush_config();
                }
                return;
            }
        };
        if ok.is_none() {
            reply.error(&format!(
                "ERR Invalid argument '{value}' for SENTINEL SET '{option}'"
            ));
            if changes > 0 {
                state.flush_config();
            }
            return;
        }
        changes += 1;
        let at = master_at(&name);
        state.event_at(Level::Warning, "+set", &at, &format!(" {option} {value}"));
        j += 2;
    }
    if j >= argv.len() {
        if changes > 0 {
            state.flush_config();
        }
        reply.ok();
    }
}

fn config_get(state: &SentinelState, pattern: &[u8], reply: &mut Reply) {
    let c = &state.config;
    let params: [(&str, String); 6] = [
        (
            "resolve-hostnames",
            if c.resolve_hostnames { "yes" } else { "no" }.into(),
        ),
        (
            "announce-hostnames",
            if c.announce_hostnames { "yes" } else { "no" }.into(),
        ),
        ("announce-ip", c.announce_ip.clone().unwrap_or_default()),
        ("announce-port", c.announce_port.to_string()),
        ("sentinel-user", c.sentinel_user.clone().unwrap_or_default()),
        ("sentinel-pass", c.sentinel_pass.clone().unwrap_or_default()),
    ];
    let matching: Vec<&(&str, String)> = params
        .iter()
        .filter(|(k, _)| crate::command::glob::glob_match(pattern, k.as_bytes(), true))
        .collect();
    reply.map(matching.len());
    for (key, value) in matching {
        reply.bulk(key.as_bytes());
        reply.bulk(value.as_bytes());
    }
}

fn config_set(state: &mut SentinelState, option: &[u8], value: &[u8], reply: &mut Reply) {
    let option_text = text(option);
    let value_text = text(value);
    let yes_no = match value_text.to_ascii_lowercase().as_str() {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    };
    let optional = (!value_text.is_empty()).then(|| value_text.clone());
    let c = &mut state.config;
    let applied = match option_text.to_ascii_lowercase().as_str() {
        "resolve-hostnames" => yes_no.map(|v| c.resolve_hostnames = v),
        "announce-hostnames" => yes_no.map(|v| c.announce_hostnames = v),
        "announce-ip" => {
            c.announce_ip = optional;
            Some(())
        }
        "announce-port" => value_text.parse::<u16>().ok().map(|p| c.announce_port = p),
        "sentinel-user" => {
            c.sentinel_user = optional;
            Some(())
        }
        "sentinel-pass" => {
            c.sentinel_pass = optional;
            Some(())
        }
        _ => {
            reply.error(&format!(
                "ERR Invalid argument '{option_text}' to SENTINEL CONFIG SET"
            ));
            return;
        }
    };
    if applied.is_none() {
        reply.error(&format!(
            "ERR Invalid value '{value_text}' to SENTINEL CONFIG SET '{option_text}'"
        ));
        return;
    }
    state.flush_config();
    reply.ok();
}

impl SentinelState {
    /// Adds a monitored master (SENTINEL MONITOR).
    fn add_master(&mut self, config: &super::config::MasterConfig, now: u64) {
        let master = Master {
            instance: Instance::new(
                Kind::Master,
                config.name.clone(),
                &config.host,
                config.port,
                now,
            ),
            quorum: config.quorum,
            down_after_ms: config.down_after_ms,
            failover_timeout_ms: config.failover_timeout_ms,
            parallel_syncs: config.parallel_syncs,
            auth_pass: None,
            auth_user: None,
            config_epoch: 0,
            failover_state: FailoverState::None,
            failover_epoch: 0,
            failover_start_time: 0,
            failover_state_change_time: 0,
            failover_delay_logged: 0,
            promoted: None,
            leader: None,
            leader_epoch: 0,
            replicas: Default::default(),
            sentinels: Default::default(),
        };
        self.masters.insert(config.name.clone(), master);
    }
}
