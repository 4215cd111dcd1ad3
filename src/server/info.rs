//! INFO: the server, clients, persistence, stats, replication and keyspace
//! sections, with Redis 7.0's field names, order and `\r\n` line ends.

use std::fmt::Write;

use super::ServerState;

/// The sections INFO prints without arguments (`default`) and with `all`.
const DEFAULT_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "persistence",
    "stats",
    "replication",
    "keyspace",
];

/// Renders INFO for the requested section names (lower-case; empty means
/// `default`). Unknown sections print nothing, as in Redis.
pub fn render_info(
    state: &ServerState,
    sections: &[String],
    now_ms: u64,
    connected_clients: usize,
) -> String {
    let wanted: Vec<&str> = if sections.is_empty()
        || sections
            .iter()
            .any(|s| s == "default" || s == "all" || s == "everything")
    {
        DEFAULT_SECTIONS.to_vec()
    } else {
        DEFAULT_SECTIONS
            .iter()
            .copied()
            .filter(|name| sections.iter().any(|s| s == name))
            .collect()
    };
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
    field!(out, "config_file", "");
    field!(out, "replsim_version", env!("CARGO_PKG_VERSION"));
}

fn clients(out: &mut String, state: &ServerState, connected: usize) {
    out.push_str("# Clients\r\n");
    field!(out, "connected_clients", connected);
    field!(out, "cluster_connections", 0);
    field!(out, "maxclients", state.config.maxclients);
    field!(out, "blocked_clients", 0);
}

fn persistence(out: &mut String, state: &ServerState) {
    out.push_str("# Persistence\r\n");
    field!(out, "loading", 0);
    field!(out, "async_loading", 0);
    field!(out, "rdb_changes_since_last_save", state.stats.dirty);
    field!(out, "rdb_bgsave_in_progress", 0);
    field!(out, "rdb_last_save_time", state.last_save_unix);
    field!(out, "rdb_last_bgsave_status", "ok");
    field!(out, "aof_enabled", 0);
}

fn stats(out: &mut String, state: &ServerState) {
    let s = &state.stats;
    out.push_str("# Stats\r\n");
    field!(out, "total_connections_received", s.connections_received);
    field!(out, "total_commands_processed", s.commands_processed);
    field!(out, "total_net_input_bytes", s.net_input_bytes);
    field!(out, "total_net_output_bytes", s.net_output_bytes);
    field!(out, "expired_keys", s.expired_keys);
}

fn replication(out: &mut String, state: &ServerState) {
    out.push_str("# Replication\r\n");
    field!(
        out,
        "role",
        if state.is_replica() {
            "slave"
        } else {
            "master"
        }
    );
    field!(out, "connected_slaves", 0);
    field!(out, "master_failover_state", "no-failover");
    field!(out, "master_repl_offset", state.repl_feed.offset);
    field!(out, "second_repl_offset", -1);
    field!(out, "repl_backlog_active", 0);
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
