//! The checker: convergence of every replica to the master at the top of its
//! chain (keys, types, values, absolute expiry times, offsets), a short
//! readable diff when they differ, and the liveness report of stuck
//! replicas. (Acknowledged writes are accounted for in `losses`.)

use std::fmt::Write;
use std::time::Duration;

use crate::keyspace::{Entry, Value};
use crate::server::ServerState;

/// How many differing keys a diff shows at most.
const DIFF_KEYS_SHOWN: usize = 3;

/// A short printable form of a value.
fn describe(entry: Option<&Entry>) -> String {
    let Some(entry) = entry else {
        return "missing".into();
    };
    let short = |bytes: &[u8]| {
        let text = String::from_utf8_lossy(bytes);
        if text.len() > 24 {
            format!(
                "{:?}...",
                &text[..text.char_indices().nth(24).map_or(text.len(), |(i, _)| i)]
            )
        } else {
            format!("{text:?}")
        }
    };
    let body = match &entry.value {
        Value::Str(s) => format!("string {}", short(s)),
        Value::List(l) => format!(
            "list of {} [{}]",
            l.len(),
            l.iter()
                .take(3)
                .map(|e| short(e))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Hash(h) => format!("hash of {}", h.len()),
        Value::Set(s) => format!("set of {}", s.len()),
        Value::ZSet(z) => format!("zset of {}", z.len()),
        Value::Stream(s) => format!(
            "stream of {} (last id {}, {} added, {} groups{})",
            s.length,
            s.last_id,
            s.entries_added,
            s.groups.len(),
            s.groups
                .iter()
                .map(|(name, g)| format!(
                    "; group {} at {} with {} pending and {} consumers",
                    short(name),
                    g.last_id,
                    g.pel.len(),
                    g.consumers.len()
                ))
                .collect::<String>()
        ),
    };
    match entry.expire_at_ms() {
        Some(at) => format!("{body} expiring at {at}"),
        None => body,
    }
}

/// The first differences between a master's and a replica's data, or
/// `None` when they hold the same keys, values and expiry times.
pub fn keyspace_diff(master: &ServerState, replica: &ServerState) -> Option<String> {
    let mut differences = Vec::new();
    let mut total = 0;
    for (db, master_db) in master.keyspace.dbs() {
        let replica_db = replica.keyspace.db(db);
        if master_db == replica_db {
            continue;
        }
        let mut keys: Vec<&[u8]> = master_db.iter().map(|(k, _)| k).collect();
        keys.extend(
            replica_db
                .iter()
                .map(|(k, _)| k)
                .filter(|k| master_db.get(k).is_none()),
        );
        keys.sort();
        for key in keys {
            let (a, b) = (master_db.get(key), replica_db.get(key));
            if a != b {
                total += 1;
                if differences.len() < DIFF_KEYS_SHOWN {
                    differences.push(format!(
                        "db {db} key {:?}: master {} vs replica {}",
                        String::from_utf8_lossy(key),
                        describe(a),
                        describe(b)
                    ));
                }
            }
        }
    }
    if total == 0 {
        return None;
    }
    let mut text = differences.join("; ");
    if total > DIFF_KEYS_SHOWN {
        let _ = write!(text, "; and {} more keys", total - DIFF_KEYS_SHOWN);
    }
    Some(text)
}

/// Why a replica is not (yet) converged, in one line.
pub fn replica_status(
    name: &str,
    replica: &ServerState,
    master: &ServerState,
    now: Duration,
) -> String {
    let mut status = format!("{name}: ");
    match &replica.repl.master {
        None => status.push_str("not a replica"),
        Some(link) => {
            use crate::replication::LinkState;
            if link.state == LinkState::Connected {
                status.push_str("link up");
            } else {
                let since = link.down_since.map_or("the start".to_string(), |s| {
                    format!("{:.3}s", s.as_secs_f64())
                });
                let _ = write!(status, "link {} since {since}", link.state.role_name());
                if link.state == LinkState::Transfer {
                    status.push_str(", sync in progress");
                }
                if let Some(error) = &link.last_error {
                    let _ = write!(status, ", last error {error}");
                }
            }
        }
    }
    let _ = write!(
        status,
        ", offset {} vs master {} (at {:.3}s)",
        replica.repl.offset,
        master.repl.offset,
        now.as_secs_f64()
    );
    if let Some(diff) = keyspace_diff(master, replica) {
        let _ = write!(status, ", data differs: {diff}");
    }
    status
}
