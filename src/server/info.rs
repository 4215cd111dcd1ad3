//! INFO: every section of Redis 7.0 (server, clients, memory,
//! persistence, stats, replication, cpu, modules, commandstats,
//! errorstats, latencystats, cluster, keyspace), with Redis's field
//! names, order and `\r\n` line ends. The memory and cpu sections hold
//! the fields replsim can know (see [`memory`] and [`cpu`]).

use std::fmt::Write;

use super::ServerState;
use crate::replication::LinkState;

/// Every section, in Redis's order (`all`).
const ALL_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "commandstats",
    "errorstats",
    "latencystats",
    "cluster",
    "keyspace",
];

/// The sections Redis leaves out of `default` (INFO without arguments).
const NOT_DEFAULT: &[&str] = &["commandstats", "latencystats"];

/// Renders INFO for the requested section names (lower-case; empty means
/// `default`). Unknown sections print nothing, as in Redis.
pub fn render_info(
    state: &ServerState,
    sections: &[String],
    now_ms: u64,
    connected_clients: usize,
) -> String {
    // As Redis: `all` (and `everything`) adds every section, `default`
    // (or no argument) the default ones, any other name itself; each is
    // printed once, in Redis's order.
    let all = sections.iter().any(|s| s == "all" || s == "everything");
    let default = sections.is_empty() || sections.iter().any(|s| s == "default");
    let wanted: Vec<&str> = ALL_SECTIONS
        .iter()
        .copied()
        .filter(|name| {
            all || (default && !NOT_DEFAULT.contains(name)) || sections.iter().any(|s| s == name)
        })
        .collect();
    let mut out = String::new();
    for (i, section) in wanted.iter().enumerate() {
        if i > 0 {
            out.push_str("\r\n");
        }
        match *section {
            "server" => server(&mut out, state, now_ms),
            "clients" => clients(&mut out, state, connected_clients),
            "persistence" => persistence(&mut out, state),
            "stats" => stats(&mut out, state),
            "replication" => replication(&mut out, state),
            "keyspace" => keyspace(&mut out, state, now_ms),
            "memory" => memory(&mut out, state),
            "cpu" => cpu(&mut out, state),
            "modules" => out.push_str("# Modules\r\n"),
            "cluster" => out.push_str("# Cluster\r\ncluster_enabled:0\r\n"),
            "commandstats" => commandstats(&mut out, state),
            "errorstats" => errorstats(&mut out, state),
            "latencystats" => latencystats(&mut out, state),
            _ => {}
        }
    }
    out
}

macro_rules! field {
    ($out:expr, $name:literal, $value:expr) => {
        let _ = write!($out, concat!($name, ":{}\r\n"), $value);
    };
}

fn server(out: &mut String, state: &ServerState, now_ms: u64) {
    let uptime = now_ms.saturating_sub(state.started_unix_ms) / 1000;
    out.push_str("# Server\r\n");
    field!(out, "redis_version", crate::REDIS_COMPAT_VERSION);
    field!(out, "redis_git_sha1", "00000000");
    field!(out, "redis_git_dirty", 0);
    field!(out, "redis_build_id", "0");
    field!(out, "redis_mode", "standalone");
    field!(out, "os", std::env::consts::OS);
    field!(out, "arch_bits", 64);
    field!(out, "multiplexing_api", "replsim");
    field!(out, "process_id", std::process::id());
    field!(out, "run_id", state.run_id());
    field!(out, "tcp_port", state.config.port);
    field!(out, "server_time_usec", now_ms * 1000);
    field!(out, "uptime_in_seconds", uptime);
    field!(out, "uptime_in_days", uptime / 86400);
    field!(out, "hz", state.config.hz);
    field!(out, "configured_hz", state.config.hz);
    field!(out, "executable", "replsim");
    let config_file = state
        .config
        .config_file
        .as_ref()
        .map(|p| p.display().to_string());
    field!(out, "config_file", config_file.unwrap_or_default());
    field!(out, "replsim_version", env!("CARGO_PKG_VERSION"));
}

fn clients(out: &mut String, state: &ServerState, connected: usize) {
    out.push_str("# Clients\r\n");
    field!(out, "connected_clients", connected);
    field!(out, "cluster_connections", 0);
    field!(out, "maxclients", state.config.maxclients);
    field!(
        out,
        "blocked_clients",
        state.blocking.count() + state.client_pauses.held_count() + state.waiting_for_acks.len()
    );
}

fn persistence(out: &mut String, state: &ServerState) {
    out.push_str("# Persistence\r\n");
    field!(out, "loading", 0);
    field!(out, "async_loading", 0);
    field!(out, "rdb_changes_since_last_save", state.stats.dirty);
    field!(
        out,
        "rdb_bgsave_in_progress",
        u8::from(state.repl.socket_transfer.is_some())
    );
    field!(out, "rdb_last_save_time", state.last_save_unix);
    field!(
        out,
        "rdb_last_bgsave_status",
        if state.last_bgsave_ok { "ok" } else { "err" }
    );
    field!(out, "aof_enabled", 0);
}

fn stats(out: &mut String, state: &ServerState) {
    let s = &state.stats;
    out.push_str("# Stats\r\n");
    field!(out, "total_connections_received", s.connections_received);
    field!(out, "total_commands_processed", s.commands_processed);
    field!(out, "total_net_input_bytes", s.net_input_bytes);
    field!(out, "total_net_output_bytes", s.net_output_bytes);
    field!(out, "rejected_connections", s.rejected_connections);
    field!(out, "sync_full", state.repl.sync_stats.full);
    field!(out, "sync_partial_ok", state.repl.sync_stats.partial_ok);
    field!(out, "sync_partial_err", state.repl.sync_stats.partial_err);
    field!(out, "expired_keys", s.expired_keys);
    field!(out, "evicted_keys", s.evicted_keys);
    field!(out, "pubsub_channels", state.pubsub.channel_count());
    field!(out, "pubsub_patterns", state.pubsub.pattern_count());
    field!(
        out,
        "pubsubshard_channels",
        state.pubsub.shard_channel_count()
    );
    field!(out, "migrate_cached_sockets", state.migrate_cached_sockets);
    field!(out, "total_error_replies", s.total_error_replies);
}

/// `cmdstat_<name>:calls=..,usec=..,usec_per_call=..,rejected_calls=..,
/// failed_calls=..` per command that was called or refused. replsim does
/// not time commands: `usec` is 0.
fn commandstats(out: &mut String, state: &ServerState) {
    out.push_str("# Commandstats\r\n");
    for (name, c) in &state.stats.command_counts {
        let _ = write!(
            out,
            "cmdstat_{name}:calls={},usec={},usec_per_call={:.2},rejected_calls={},failed_calls={}\r\n",
            c.calls,
            c.usec,
            if c.calls == 0 { 0.0 } else { c.usec as f64 / c.calls as f64 },
            c.rejected_calls,
            c.failed_calls
        );
    }
}

/// `latency_percentiles_usec_<command>:p50=..,p99=..` per command run
/// while `latency-tracking` was on: each configured percentile of its
/// latencies, in microseconds with three decimals, as Redis prints them.
fn latencystats(out: &mut String, state: &ServerState) {
    out.push_str("# Latencystats\r\n");
    let percentiles = state.config.latency_percentiles();
    for (name, histogram) in &state.stats.latencies {
        let values: Vec<String> = percentiles
            .iter()
            .map(|p| {
                let ns = histogram.value_at_percentile(*p);
                format!("p{p}={:.3}", ns as f64 / 1000.0)
            })
            .collect();
        let _ = write!(
            out,
            "latency_percentiles_usec_{name}:{}\r\n",
            values.join(",")
        );
    }
}

/// `errorstat_<PREFIX>:count=..` per error prefix replied.
fn errorstats(out: &mut String, state: &ServerState) {
    out.push_str("# Errorstats\r\n");
    for (prefix, count) in &state.stats.error_counts {
        let _ = write!(out, "errorstat_{prefix}:count={count}\r\n");
    }
}

fn replication(out: &mut String, state: &ServerState) {
    let repl = &state.repl;
    let now = state.mono_now;
    out.push_str("# Replication\r\n");
    if let Some(link) = &repl.master {
        let up = link.state == LinkState::Connected;
        field!(out, "role", "slave");
        field!(out, "master_host", link.host);
        field!(out, "master_port", link.port);
        field!(out, "master_link_status", if up { "up" } else { "down" });
        let last_io = if up {
            now.saturating_sub(link.last_io).as_secs() as i64
        } else {
            -1
        };
        field!(out, "master_last_io_seconds_ago", last_io);
        field!(
            out,
            "master_sync_in_progress",
            i32::from(link.state == LinkState::Transfer)
        );
        field!(
            out,
            "slave_read_repl_offset",
            repl.shown(repl.offset + repl.unapplied_stream)
        );
        field!(out, "slave_repl_offset", repl.shown(repl.offset));
        if let (LinkState::Transfer, Some((total, read))) = (link.state, link.transfer) {
            let left = if total < 0 { -1 } else { total - read as i64 };
            let percent = if total <= 0 {
                -0.0
            } else {
                read as f64 * 100.0 / total as f64
            };
            field!(out, "master_sync_total_bytes", total);
            field!(out, "master_sync_read_bytes", read);
            field!(out, "master_sync_left_bytes", left);
            field!(out, "master_sync_perc", format!("{percent:.2}"));
            field!(
                out,
                "master_sync_last_io_seconds_ago",
                now.saturating_sub(link.last_io).as_secs()
            );
        }
        if !up {
            let down = link
                .down_since
                .map_or(-1, |since| now.saturating_sub(since).as_secs() as i64);
            field!(out, "master_link_down_since_seconds", down);
        }
        let priority: i64 = state
            .config
            .others
            .get("replica-priority")
            .and_then(|v| v.parse().ok())
            .unwrap_or(100);
        field!(out, "slave_priority", priority);
        field!(
            out,
            "slave_read_only",
            i32::from(state.config.replica_read_only)
        );
        field!(out, "replica_announced", 1);
    } else {
        field!(out, "role", "master");
    }
    field!(out, "connected_slaves", repl.replicas.len());
    for (index, replica) in repl.replicas.values().enumerate() {
        let _ = write!(
            out,
            "slave{index}:ip={},port={},state={},offset={},lag={}\r\n",
            replica.ip,
            replica.listening_port,
            replica.state.name(),
            replica.ack_offset,
            now.saturating_sub(replica.ack_time).as_secs()
        );
    }
    field!(
        out,
        "master_failover_state",
        crate::replication::failover::state_name(state)
    );
    field!(out, "master_replid", repl.replid);
    field!(out, "master_replid2", repl.replid2);
    field!(out, "master_repl_offset", repl.shown(repl.offset));
    field!(out, "second_repl_offset", repl.second_repl_offset);
    field!(
        out,
        "repl_backlog_active",
        i32::from(repl.backlog.is_some())
    );
    field!(out, "repl_backlog_size", state.config.repl_backlog_size);
    let (first, histlen) = repl
        .backlog
        .as_ref()
        .map_or((0, 0), |b| (b.first_offset(), b.histlen()));
    field!(out, "repl_backlog_first_byte_offset", repl.shown(first));
    field!(out, "repl_backlog_histlen", histlen);
}

/// Redis's `bytesToHuman`.
fn human(bytes: u64) -> String {
    let b = bytes as f64;
    const K: f64 = 1024.0;
    if b < K {
        format!("{bytes}B")
    } else if b < K * K {
        format!("{:.2}K", b / K)
    } else if b < K * K * K {
        format!("{:.2}M", b / (K * K))
    } else if b < K * K * K * K {
        format!("{:.2}G", b / (K * K * K))
    } else if b < K * K * K * K * K {
        format!("{:.2}T", b / (K * K * K * K))
    } else {
        format!("{:.2}P", b / (K * K * K * K * K))
    }
}

/// The memory section, with the fields replsim can know: `used_memory` is
/// what `maxmemory` counts (see [`super::eviction::used_memory`]: the bytes
/// allocated on real TCP, an estimate in a simulation, where the resident
/// set is that estimate too). The Lua and script fields are exact.
fn memory(out: &mut String, state: &ServerState) {
    let dataset = super::eviction::dataset_estimate(state);
    let used = super::eviction::used_memory(state);
    let rss = (state.process_usage)().map_or(used, |usage| usage.rss_bytes);
    let scripting = &state.scripting;
    let lua = scripting.eval_memory() as u64;
    let functions_vm = scripting.functions.memory() as u64;
    let maxmemory = state.maxmemory.limit;
    out.push_str("# Memory\r\n");
    field!(out, "used_memory", used);
    field!(out, "used_memory_human", human(used));
    field!(out, "used_memory_rss", rss);
    field!(out, "used_memory_rss_human", human(rss));
    field!(out, "used_memory_dataset", dataset);
    field!(out, "used_memory_lua", lua);
    field!(out, "used_memory_vm_eval", lua);
    field!(out, "used_memory_lua_human", human(lua));
    field!(out, "used_memory_scripts_eval", scripting.scripts_memory());
    field!(out, "number_of_cached_scripts", scripting.script_count());
    field!(
        out,
        "number_of_functions",
        scripting.functions.function_count()
    );
    field!(
        out,
        "number_of_libraries",
        scripting.functions.libraries().len()
    );
    field!(out, "used_memory_vm_functions", functions_vm);
    field!(out, "used_memory_vm_total", lua + functions_vm);
    field!(out, "used_memory_vm_total_human", human(lua + functions_vm));
    field!(out, "maxmemory", maxmemory);
    field!(out, "maxmemory_human", human(maxmemory));
    field!(
        out,
        "maxmemory_policy",
        state
            .config
            .others
            .get("maxmemory-policy")
            .map_or("noeviction", String::as_str)
    );
    field!(out, "mem_allocator", "libc");
}

/// The cpu section: the process's CPU time on real TCP, zeros in a
/// simulation (its process runs every node). replsim forks no child and
/// serves from its main thread.
fn cpu(out: &mut String, state: &ServerState) {
    let usage = (state.process_usage)().unwrap_or_default();
    let seconds = |d: std::time::Duration| format!("{:.6}", d.as_secs_f64());
    out.push_str("# CPU\r\n");
    field!(out, "used_cpu_sys", seconds(usage.cpu_sys));
    field!(out, "used_cpu_user", seconds(usage.cpu_user));
    field!(out, "used_cpu_sys_children", "0.000000");
    field!(out, "used_cpu_user_children", "0.000000");
    field!(out, "used_cpu_sys_main_thread", seconds(usage.cpu_sys));
    field!(out, "used_cpu_user_main_thread", seconds(usage.cpu_user));
}

fn keyspace(out: &mut String, state: &ServerState, now_ms: u64) {
    out.push_str("# Keyspace\r\n");
    for (index, db) in state.keyspace.dbs() {
        if db.is_empty() {
            continue;
        }
        let (ttl_sum, ttl_count) = db.expiry_times().fold((0u64, 0u64), |(sum, n), at| {
            (sum + at.saturating_sub(now_ms), n + 1)
        });
        let avg_ttl = ttl_sum.checked_div(ttl_count).unwrap_or(0);
        let _ = write!(
            out,
            "db{index}:keys={},expires={},avg_ttl={avg_ttl}\r\n",
            db.len(),
            db.volatile_len()
        );
    }
}
