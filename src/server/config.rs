//! The parameters the server honours, with CONFIG GET / CONFIG SET: one table
//! of parameters, each with how to print and how to parse it, in Redis's
//! spelling and with Redis's error texts.

use std::collections::BTreeMap;

use super::config_table::{self, Kind};
use crate::command::glob::glob_match;

/// Node configuration (the subset of redis.conf replsim honours).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `bind`: listening address.
    pub bind: String,
    /// `port`: listening port.
    pub port: u16,
    /// `requirepass`: the default user's password, if any.
    pub requirepass: Option<Vec<u8>>,
    /// `protected-mode`: without a password, accept clients only from
    /// 127.0.0.1 and ::1.
    pub protected_mode: bool,
    /// `proto-max-bulk-len`: largest bulk argument accepted.
    pub proto_max_bulk_len: u64,
    /// `hz`: cron frequency (active expiry).
    pub hz: u32,
    /// `dir`: where the RDB lives.
    pub dir: String,
    /// `dbfilename`: the RDB's file name.
    pub dbfilename: String,
    /// `save`: snapshot points, as Redis prints them.
    pub save: String,
    /// `enable-debug-command`: `no`, `yes` or `local`.
    pub enable_debug_command: String,
    /// `enable-protected-configs`: `no`, `yes` or `local`; whether CONFIG
    /// SET may change the protected parameters (`dir`, `dbfilename`).
    pub enable_protected_configs: String,
    /// `maxclients`: connections accepted at most.
    pub maxclients: u64,
    /// `client-query-buffer-limit`: bytes a client's query buffer (what it
    /// sent that is not parsed into arguments yet) may hold before the
    /// client is closed.
    pub client_query_buffer_limit: u64,
    /// `replicaof`: the master to replicate from at start.
    pub replicaof: Option<(String, u16)>,
    /// `masterauth`: password sent to the master.
    pub masterauth: Option<Vec<u8>>,
    /// `masteruser`: user sent with masterauth.
    pub masteruser: Option<Vec<u8>>,
    /// `replica-announce-ip`: sent as `REPLCONF ip-address`.
    pub replica_announce_ip: Option<String>,
    /// `repl-backlog-size` in bytes.
    pub repl_backlog_size: u64,
    /// `repl-backlog-ttl` in seconds (0: never free).
    pub repl_backlog_ttl: u64,
    /// `repl-timeout` in seconds.
    pub repl_timeout: u64,
    /// `repl-ping-replica-period` in seconds.
    pub repl_ping_replica_period: u64,
    /// `repl-diskless-sync`.
    pub repl_diskless_sync: bool,
    /// `repl-diskless-sync-delay` in seconds.
    pub repl_diskless_sync_delay: u64,
    /// `repl-diskless-sync-max-replicas`: a diskless sync starts as soon
    /// as this many replicas wait for it (0: only the delay counts).
    pub repl_diskless_sync_max_replicas: u64,
    /// `repl-diskless-load`: `disabled` (stream a full sync's RDB to a temp
    /// file, then load it), `on-empty-db` or `swapdb` (load from memory).
    pub repl_diskless_load: String,
    /// `replica-read-only`.
    pub replica_read_only: bool,
    /// `replica-serve-stale-data`.
    pub replica_serve_stale_data: bool,
    /// `stop-writes-on-bgsave-error`: refuse writes (`-MISCONF`) while the
    /// last background save failed and save points are configured.
    pub stop_writes_on_bgsave_error: bool,
    /// `min-replicas-to-write`.
    pub min_replicas_to_write: u64,
    /// `min-replicas-max-lag` in seconds.
    pub min_replicas_max_lag: u64,
    /// `client-output-buffer-limit` for replicas: hard bytes, soft bytes,
    /// soft seconds.
    pub replica_output_limit: (u64, u64, u64),
    /// `client-output-buffer-limit` for normal clients (0 0 0: none).
    pub normal_output_limit: (u64, u64, u64),
    /// `notify-keyspace-events`, as `pubsub::notify` bits.
    pub notify_keyspace_events: u32,
    /// `client-output-buffer-limit` for clients subscribed to anything.
    pub pubsub_output_limit: (u64, u64, u64),
    /// `loglevel`: `debug`, `verbose`, `notice` or `warning`.
    pub loglevel: String,
    /// `logfile`: where `serve` logs (empty: standard output).
    pub logfile: String,
    /// The absolute path of the config file the server started from, which
    /// CONFIG REWRITE rewrites (none in a simulation, or without a file).
    pub config_file: Option<std::path::PathBuf>,
    /// Every other Redis 7.0 parameter, by name, as CONFIG GET prints it:
    /// checked with Redis's rules and shown, but inert here (except the
    /// encoding thresholds: see [`Config::encoding_limits`]).
    pub others: BTreeMap<&'static str, String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: "127.0.0.1".into(),
            port: 6379,
            requirepass: None,
            protected_mode: true,
            proto_max_bulk_len: crate::resp::DEFAULT_MAX_BULK_BYTES,
            hz: 10,
            dir: ".".into(),
            dbfilename: "dump.rdb".into(),
            save: "3600 1 300 100 60 10000".into(),
            enable_debug_command: "no".into(),
            enable_protected_configs: "no".into(),
            maxclients: 10000,
            client_query_buffer_limit: 1024 * 1024 * 1024,
            replicaof: None,
            masterauth: None,
            masteruser: None,
            replica_announce_ip: None,
            repl_backlog_size: 1024 * 1024,
            repl_backlog_ttl: 3600,
            repl_timeout: 60,
            repl_ping_replica_period: 10,
            repl_diskless_sync: true,
            repl_diskless_sync_delay: 5,
            repl_diskless_sync_max_replicas: 0,
            repl_diskless_load: "disabled".into(),
            replica_read_only: true,
            replica_serve_stale_data: true,
            stop_writes_on_bgsave_error: true,
            min_replicas_to_write: 0,
            min_replicas_max_lag: 10,
            replica_output_limit: (256 * 1024 * 1024, 64 * 1024 * 1024, 60),
            normal_output_limit: (0, 0, 0),
            pubsub_output_limit: (32 * 1024 * 1024, 8 * 1024 * 1024, 60),
            notify_keyspace_events: 0,
            loglevel: "notice".into(),
            logfile: String::new(),
            config_file: None,
            others: config_table::SPECS
                .iter()
                .map(|s| (s.name, s.default))
                .chain(config_table::SPECIAL.iter().map(|(n, _, d)| (*n, *d)))
                .filter(|(name, _)| !PARAMS.iter().any(|p| p.name == *name))
                .map(|(name, value)| (name, value.to_string()))
                .collect(),
        }
    }
}

/// Why a CONFIG SET (or a config file line) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// No such parameter.
    #[error("Unknown option or number of arguments for CONFIG SET - '{0}'")]
    Unknown(String),
    /// The parameter cannot change at run time.
    #[error("CONFIG SET failed (possibly related to argument '{0}') - can't set immutable config")]
    Immutable(String),
    /// The parameter is protected and `enable-protected-configs` does not
    /// allow this connection to change it.
    #[error("CONFIG SET failed (possibly related to argument '{0}') - can't set protected config")]
    Protected(String),
    /// The parameter was given twice in one CONFIG SET.
    #[error("CONFIG SET failed (possibly related to argument '{0}') - duplicate parameter")]
    Duplicate(String),
    /// The value does not parse.
    #[error("CONFIG SET failed (possibly related to argument '{name}') - {reason}")]
    Invalid {
        /// The parameter.
        name: String,
        /// Redis's reason text.
        reason: String,
    },
}

type Getter = fn(&Config) -> String;
type Setter = fn(&mut Config, &str) -> Result<(), String>;

struct Param {
    name: &'static str,
    get: Getter,
    set: Option<Setter>,
}

/// Parameters Redis 7.0 marks `PROTECTED_CONFIG`: they choose which files
/// the server writes, so CONFIG SET may change them only where
/// `enable-protected-configs` allows.
const PROTECTED: &[&str] = &["dir", "dbfilename"];

fn parse_int<T: std::str::FromStr>(value: &str) -> Result<T, String> {
    crate::resp::parse_i64(value.as_bytes())
        .and_then(|n| n.to_string().parse().ok())
        .ok_or_else(|| "argument couldn't be parsed into an integer".to_string())
}

/// Parses Redis memory units: `64mb`, `1gb`, `16k`, plain bytes.
pub fn parse_memory(value: &str) -> Result<u64, String> {
    let lower = value.to_ascii_lowercase();
    let split = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(split);
    let multiplier: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return Err("argument must be a memory value".into()),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .ok_or_else(|| "argument must be a memory value".into())
}

const PARAMS: &[Param] = &[
    Param {
        name: "replicaof",
        get: |c| {
            c.replicaof
                .as_ref()
                .map(|(h, p)| format!("{h} {p}"))
                .unwrap_or_default()
        },
        set: None,
    },
    Param {
        name: "masterauth",
        get: |c| print_optional(&c.masterauth),
        set: Some(|c, v| {
            c.masterauth = optional_bytes(v);
            Ok(())
        }),
    },
    Param {
        name: "masteruser",
        get: |c| print_optional(&c.masteruser),
        set: Some(|c, v| {
            c.masteruser = optional_bytes(v);
            Ok(())
        }),
    },
    Param {
        name: "replica-announce-ip",
        get: |c| c.replica_announce_ip.clone().unwrap_or_default(),
        set: Some(|c, v| {
            c.replica_announce_ip = (!v.is_empty()).then(|| v.to_string());
            Ok(())
        }),
    },
    Param {
        name: "repl-backlog-size",
        get: |c| c.repl_backlog_size.to_string(),
        set: Some(|c, v| {
            c.repl_backlog_size = memory_between(v, 1, i64::MAX as u64)?;
            Ok(())
        }),
    },
    Param {
        name: "repl-backlog-ttl",
        get: |c| c.repl_backlog_ttl.to_string(),
        set: Some(|c, v| {
            c.repl_backlog_ttl = seconds(v)?;
            Ok(())
        }),
    },
    Param {
        name: "repl-timeout",
        get: |c| c.repl_timeout.to_string(),
        set: Some(|c, v| {
            c.repl_timeout = int_between(v, 1, INT_MAX)?;
            Ok(())
        }),
    },
    Param {
        name: "repl-ping-replica-period",
        get: |c| c.repl_ping_replica_period.to_string(),
        set: Some(|c, v| {
            c.repl_ping_replica_period = int_between(v, 1, INT_MAX)?;
            Ok(())
        }),
    },
    Param {
        name: "repl-diskless-sync",
        get: |c| print_yes_no(c.repl_diskless_sync),
        set: Some(|c, v| {
            c.repl_diskless_sync = yes_no(v)?;
            Ok(())
        }),
    },
    Param {
        name: "repl-diskless-sync-delay",
        get: |c| c.repl_diskless_sync_delay.to_string(),
        set: Some(|c, v| {
            c.repl_diskless_sync_delay = int_between(v, 0, INT_MAX)?;
            Ok(())
        }),
    },
    Param {
        name: "repl-diskless-sync-max-replicas",
        get: |c| c.repl_diskless_sync_max_replicas.to_string(),
        set: Some(|c, v| {
            c.repl_diskless_sync_max_replicas = int_between(v, 0, INT_MAX)?;
            Ok(())
        }),
    },
    Param {
        name: "repl-diskless-load",
        get: |c| c.repl_diskless_load.clone(),
        set: Some(|c, v| {
            let v = v.to_ascii_lowercase();
            if !["disabled", "on-empty-db", "swapdb"].contains(&v.as_str()) {
                return Err(
                    "argument(s) must be one of the following: disabled, on-empty-db, swapdb"
                        .into(),
                );
            }
            c.repl_diskless_load = v;
            Ok(())
        }),
    },
    Param {
        name: "replica-read-only",
        get: |c| print_yes_no(c.replica_read_only),
        set: Some(|c, v| {
            c.replica_read_only = yes_no(v)?;
            Ok(())
        }),
    },
    Param {
        name: "replica-serve-stale-data",
        get: |c| print_yes_no(c.replica_serve_stale_data),
        set: Some(|c, v| {
            c.replica_serve_stale_data = yes_no(v)?;
            Ok(())
        }),
    },
    Param {
        name: "stop-writes-on-bgsave-error",
        get: |c| print_yes_no(c.stop_writes_on_bgsave_error),
        set: Some(|c, v| {
            c.stop_writes_on_bgsave_error = yes_no(v)?;
            Ok(())
        }),
    },
    Param {
        name: "min-replicas-to-write",
        get: |c| c.min_replicas_to_write.to_string(),
        set: Some(|c, v| {
            c.min_replicas_to_write = int_between(v, 0, INT_MAX)?;
            Ok(())
        }),
    },
    Param {
        name: "min-replicas-max-lag",
        get: |c| c.min_replicas_max_lag.to_string(),
        set: Some(|c, v| {
            c.min_replicas_max_lag = int_between(v, 0, INT_MAX)?;
            Ok(())
        }),
    },
    Param {
        name: "client-output-buffer-limit",
        get: |c| {
            let class = |(hard, soft, secs): (u64, u64, u64)| format!("{hard} {soft} {secs}");
            format!(
                "normal {} slave {} pubsub {}",
                class(c.normal_output_limit),
                class(c.replica_output_limit),
                class(c.pubsub_output_limit)
            )
        },
        set: Some(output_limits),
    },
    Param {
        name: "notify-keyspace-events",
        get: |c| super::pubsub::notify::render(c.notify_keyspace_events),
        set: Some(|c, v| {
            c.notify_keyspace_events = super::pubsub::notify::parse(v.as_bytes())
                .ok_or("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")?;
            Ok(())
        }),
    },
    // CONFIG SET of `bind` and `port` opens the new listening socket
    // (see `server::listen`).
    Param {
        name: "bind",
        get: |c| c.bind.clone(),
        set: Some(|c, v| {
            if v.split_whitespace().count() > 16 {
                return Err("Too many bind addresses specified.".into());
            }
            c.bind = v.split_whitespace().collect::<Vec<_>>().join(" ");
            Ok(())
        }),
    },
    Param {
        name: "port",
        get: |c| c.port.to_string(),
        set: Some(|c, v| {
            let port: i64 = parse_int(v)?;
            c.port = u16::try_from(port)
                .map_err(|_| "argument must be between 0 and 65535 inclusive".to_string())?;
            Ok(())
        }),
    },
    Param {
        name: "protected-mode",
        get: |c| print_yes_no(c.protected_mode),
        set: Some(|c, v| {
            c.protected_mode = yes_no(v)?;
            Ok(())
        }),
    },
    Param {
        name: "requirepass",
        get: |c| {
            c.requirepass
                .as_deref()
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .unwrap_or_default()
        },
        set: Some(|c, v| {
            c.requirepass = (!v.is_empty()).then(|| v.as_bytes().to_vec());
            Ok(())
        }),
    },
    Param {
        name: "proto-max-bulk-len",
        get: |c| c.proto_max_bulk_len.to_string(),
        set: Some(|c, v| {
            c.proto_max_bulk_len = memory_between(v, 1024 * 1024, i64::MAX as u64)?;
            Ok(())
        }),
    },
    Param {
        name: "client-query-buffer-limit",
        get: |c| c.client_query_buffer_limit.to_string(),
        set: Some(|c, v| {
            let n = parse_memory(v)?;
            if n < 1024 * 1024 {
                return Err(
                    "argument must be between 1048576 and 9223372036854775807 inclusive".into(),
                );
            }
            c.client_query_buffer_limit = n;
            Ok(())
        }),
    },
    Param {
        name: "hz",
        get: |c| c.hz.to_string(),
        set: Some(|c, v| {
            // Redis accepts 0..=INT_MAX, then clamps the frequency it runs
            // at into 1..=500 (CONFIG GET shows the clamped value).
            c.hz = int_between(v, 0, INT_MAX)?.clamp(1, 500) as u32;
            Ok(())
        }),
    },
    Param {
        name: "dir",
        get: |c| c.dir.clone(),
        set: None,
    },
    Param {
        name: "dbfilename",
        get: |c| c.dbfilename.clone(),
        set: Some(|c, v| {
            if v.contains('/') {
                return Err("dbfilename can't be a path, just a filename".into());
            }
            c.dbfilename = v.to_string();
            Ok(())
        }),
    },
    Param {
        name: "save",
        get: |c| c.save.clone(),
        set: Some(|c, v| {
            let words: Vec<&str> = v.split_whitespace().collect();
            if words.len() % 2 != 0 || words.iter().any(|w| w.parse::<u64>().is_err()) {
                return Err("Invalid save parameters".into());
            }
            c.save = words.join(" ");
            Ok(())
        }),
    },
    Param {
        name: "databases",
        get: |_| crate::keyspace::DB_COUNT.to_string(),
        set: None,
    },
    Param {
        name: "enable-debug-command",
        get: |c| c.enable_debug_command.clone(),
        set: None,
    },
    Param {
        name: "enable-protected-configs",
        get: |c| c.enable_protected_configs.clone(),
        set: None,
    },
    Param {
        name: "loglevel",
        get: |c| c.loglevel.clone(),
        set: Some(|c, v| {
            c.loglevel = check_kind("loglevel", v)?;
            Ok(())
        }),
    },
    Param {
        name: "logfile",
        get: |c| c.logfile.clone(),
        set: None,
    },
    Param {
        name: "maxclients",
        get: |c| c.maxclients.to_string(),
        set: Some(|c, v| {
            c.maxclients = int_between(v, 1, u64::from(u32::MAX))?;
            Ok(())
        }),
    },
];

fn yes_no(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err("argument must be 'yes' or 'no'".into()),
    }
}

fn print_yes_no(value: bool) -> String {
    if value { "yes" } else { "no" }.to_string()
}

fn optional_bytes(value: &str) -> Option<Vec<u8>> {
    (!value.is_empty()).then(|| value.as_bytes().to_vec())
}

fn print_optional(value: &Option<Vec<u8>>) -> String {
    value
        .as_deref()
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .unwrap_or_default()
}

/// Redis's `INT_MAX`: the upper bound of its `int` parameters.
const INT_MAX: u64 = i32::MAX as u64;

/// An integer parameter within Redis's bounds for it, with Redis's texts:
/// a value that is not an integer (`1.5`, `abc`, beyond 64 bits) "couldn't
/// be parsed", one out of bounds names the bounds.
fn int_between(value: &str, min: u64, max: u64) -> Result<u64, String> {
    let n: i64 = parse_int(value)?;
    u64::try_from(n)
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| format!("argument must be between {min} and {max} inclusive"))
}

/// A memory parameter (`64mb`, `1gb`, bytes) within Redis's bounds for it.
fn memory_between(value: &str, min: u64, max: u64) -> Result<u64, String> {
    let n = parse_memory(value)?;
    if (min..=max).contains(&n) {
        Ok(n)
    } else {
        Err(format!(
            "argument must be between {min} and {max} inclusive"
        ))
    }
}

fn seconds(value: &str) -> Result<u64, String> {
    let n: i64 = parse_int(value)?;
    u64::try_from(n)
        .map_err(|_| "argument must be between 0 and 9223372036854775807 inclusive".into())
}

/// Parses `<class> <hard> <soft> <seconds>` groups, classes `normal`,
/// `replica` (`slave`) and `pubsub`; classes not named keep their limits.
/// Nothing changes unless every group parses, as in Redis.
fn output_limits(config: &mut Config, value: &str) -> Result<(), String> {
    let words: Vec<&str> = value.split_whitespace().collect();
    if words.is_empty() || words.len() % 4 != 0 {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    let mut updated = config.clone();
    for class in words.chunks(4) {
        let slot = match class[0].to_ascii_lowercase().as_str() {
            "normal" => &mut updated.normal_output_limit,
            "replica" | "slave" => &mut updated.replica_output_limit,
            "pubsub" => &mut updated.pubsub_output_limit,
            _ => {
                return Err("Invalid client class specified in buffer limit configuration.".into())
            }
        };
        let numbers = (|| {
            Some((
                parse_memory(class[1]).ok()?,
                parse_memory(class[2]).ok()?,
                seconds(class[3]).ok()?,
            ))
        })();
        *slot = numbers
            .ok_or("Error in hard, soft or soft_seconds setting in buffer limit configuration.")?;
    }
    *config = updated;
    Ok(())
}

fn find(name: &str) -> Option<&'static Param> {
    let name = config_table::canonical(name);
    PARAMS.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

/// Checks `value` for the Redis parameter `name` by Redis's rules for its
/// kind, and returns it as CONFIG GET prints it.
/// `latency-tracking-info-percentiles`: numbers from 0 to 100, as Redis
/// takes them.
fn latency_percentiles(value: &str) -> Result<Vec<f64>, String> {
    value
        .split_whitespace()
        .map(|word| match word.parse::<f64>() {
            Ok(p) if (0.0..=100.0).contains(&p) => Ok(p),
            _ => Err("Invalid latency-tracking-info-percentiles parameters".to_string()),
        })
        .collect()
}

fn check_kind(name: &str, value: &str) -> Result<String, String> {
    if name == "latency-tracking-info-percentiles" {
        return latency_percentiles(value).map(|percentiles| {
            percentiles
                .iter()
                .map(f64::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        });
    }
    let Some(spec) = config_table::spec(name) else {
        // The special parameters replsim does not model keep any text.
        return Ok(value.to_string());
    };
    let within = |n: i128, min: i128, max: i128| {
        if (min..=max).contains(&n) {
            Ok(n.to_string())
        } else {
            Err(format!(
                "argument must be between {min} and {max} inclusive"
            ))
        }
    };
    match spec.kind {
        Kind::Bool => yes_no(value).map(print_yes_no),
        Kind::Int { min, max } => within(i128::from(parse_int::<i64>(value)?), min, max),
        Kind::Octal { min, max } => {
            let n = i64::from_str_radix(value, 8)
                .map_err(|_| "argument couldn't be parsed as an octal number".to_string())?;
            if (min..=max).contains(&i128::from(n)) {
                Ok(format!("{n:o}"))
            } else {
                Err(format!(
                    "argument must be between {min:o} and {max:o} inclusive"
                ))
            }
        }
        Kind::Memory { min, max } => within(i128::from(parse_memory(value)?), min, max),
        Kind::Percent { min, max } => match value.strip_suffix('%') {
            Some(percent) => {
                let n: i64 = parse_int(percent)?;
                if n < 0 {
                    return Err("argument must be a memory or percent value".into());
                }
                if -i128::from(n) < min {
                    return Err("percentage argument must be less or equal to 100".into());
                }
                within(-i128::from(n), min, max).map(|_| value.to_string())
            }
            None => within(i128::from(parse_memory(value)?), min, max),
        },
        Kind::Enum(words) => words
            .iter()
            .find(|w| w.eq_ignore_ascii_case(value))
            .map(|w| w.to_string())
            .ok_or_else(|| {
                format!(
                    "argument(s) must be one of the following: {}",
                    words.join(", ")
                )
            }),
        Kind::Flags(flags) => check_flags(name, flags, value),
        Kind::Str => Ok(value.to_string()),
    }
}

/// A flags value (`shutdown-on-sigterm "nosave now"`): every word one of
/// `flags`, combined, and shown as Redis's `configEnumGetName` shows it
/// (the exact name when one matches, else the set flags in table order).
fn check_flags(name: &str, flags: &[(&str, u32)], value: &str) -> Result<String, String> {
    let refused = || {
        let names: Vec<&str> = flags.iter().map(|(n, _)| *n).collect();
        format!(
            "argument(s) must be one of the following: {}",
            names.join(", ")
        )
    };
    // No word at all is refused too (`--shutdown-on-sigint` alone).
    if value.split_whitespace().next().is_none() {
        return Err(refused());
    }
    let mut bits = 0;
    for word in value.split_whitespace() {
        let Some((_, bit)) = flags.iter().find(|(n, _)| n.eq_ignore_ascii_case(word)) else {
            return Err(refused());
        };
        bits |= bit;
    }
    if name.starts_with("shutdown-on-sig") && bits & 1 != 0 && bits & 2 != 0 {
        return Err("shutdown options SAVE and NOSAVE can't be used simultaneously".into());
    }
    if let Some((exact, _)) = flags.iter().find(|(_, bit)| *bit == bits) {
        return Ok(exact.to_string());
    }
    let names: Vec<&str> = flags
        .iter()
        .filter(|(_, bit)| *bit != 0 && bits & bit == *bit)
        .map(|(n, _)| *n)
        .collect();
    Ok(names.join(" "))
}

/// The alias Redis also lists for `name` in CONFIG GET (`slave-read-only`
/// for `replica-read-only`).
fn alias_of(name: &str) -> Option<&'static str> {
    if name == "replicaof" {
        return Some("slaveof");
    }
    config_table::spec(name).and_then(|s| s.alias)
}

fn hidden(name: &str) -> bool {
    config_table::spec(name).is_some_and(|s| s.hidden)
}

impl Config {
    /// Parameter/value pairs whose names match any of `patterns` (globs),
    /// each parameter once, in table order.
    /// Parameters replsim does not model and debug parameters match only
    /// by their exact name, as in Redis. Aliases (`slave-read-only`) are
    /// listed as Redis lists them.
    pub fn get_matching(&self, patterns: &[&[u8]]) -> Vec<(&'static str, String)> {
        let all = PARAMS
            .iter()
            .map(|p| (p.name, (p.get)(self)))
            .chain(self.others.iter().map(|(n, v)| (*n, v.clone())));
        let mut found = Vec::new();
        for (name, value) in all {
            for shown in std::iter::once(name).chain(alias_of(name)) {
                let matches = patterns.iter().any(|pat| {
                    if hidden(shown) {
                        pat.eq_ignore_ascii_case(shown.as_bytes())
                    } else {
                        glob_match(pat, shown.as_bytes(), true)
                    }
                });
                if matches {
                    found.push((shown, value.clone()));
                }
            }
        }
        found
    }

    /// The value of a numeric parameter replsim does not model (an
    /// encoding threshold such as `zset-max-listpack-entries`), or 0.
    pub fn number(&self, name: &str) -> i64 {
        self.others
            .get(config_table::canonical(name))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// The thresholds of the small encodings (`set-max-intset-entries`,
    /// `hash-max-listpack-entries`, ...).
    pub fn encoding_limits(&self) -> crate::keyspace::EncodingLimits {
        let limit = |name: &str| self.number(name).max(0) as u64;
        crate::keyspace::EncodingLimits {
            set_max_intset_entries: limit("set-max-intset-entries"),
            hash_max_listpack_entries: limit("hash-max-listpack-entries"),
            hash_max_listpack_value: limit("hash-max-listpack-value"),
            zset_max_listpack_entries: limit("zset-max-listpack-entries"),
            zset_max_listpack_value: limit("zset-max-listpack-value"),
        }
    }

    /// Checks, before any value is applied, that CONFIG SET may change the
    /// parameters `names` (in order): each must exist, be mutable, be
    /// allowed if protected (`local_client`: the connection comes from
    /// loopback) and appear once. The first failure is Redis's error, which
    /// is why these come before any value error.
    pub fn check_settable(&self, names: &[&str], local_client: bool) -> Result<(), ConfigError> {
        let allow_protected = match self.enable_protected_configs.as_str() {
            "yes" => true,
            "local" => local_client,
            _ => false,
        };
        for (i, name) in names.iter().enumerate() {
            let (canonical, settable, protected) = match find(name) {
                Some(param) => (
                    param.name,
                    param.set.is_some(),
                    PROTECTED.contains(&param.name),
                ),
                None => match config_table::spec(name) {
                    Some(spec) => (spec.name, spec.mutable, spec.protected),
                    None => match self
                        .others
                        .get_key_value(name.to_ascii_lowercase().as_str())
                    {
                        Some((n, _)) => (*n, true, false),
                        None => return Err(ConfigError::Unknown(name.to_string())),
                    },
                },
            };
            // Protection first: `dir` is protected in Redis and, in
            // replsim, also immutable (see the README).
            if !allow_protected && protected {
                return Err(ConfigError::Protected(canonical.to_string()));
            }
            if !settable {
                return Err(ConfigError::Immutable(canonical.to_string()));
            }
            if names[..i]
                .iter()
                .any(|n| config_table::canonical(n).eq_ignore_ascii_case(canonical))
            {
                return Err(ConfigError::Duplicate(canonical.to_string()));
            }
        }
        Ok(())
    }

    /// Whether per-command latencies are kept (`latency-tracking`).
    pub fn latency_tracking(&self) -> bool {
        self.others
            .get("latency-tracking")
            .is_none_or(|v| v == "yes")
    }

    /// The percentiles INFO latencystats reports
    /// (`latency-tracking-info-percentiles`).
    pub fn latency_percentiles(&self) -> Vec<f64> {
        self.others
            .get("latency-tracking-info-percentiles")
            .and_then(|v| latency_percentiles(v).ok())
            .unwrap_or_default()
    }

    /// Sets one parameter at run time.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        let Some(param) = find(name) else {
            return self.set_other(name, value, false);
        };
        let setter = param
            .set
            .ok_or_else(|| ConfigError::Immutable(param.name.to_string()))?;
        setter(self, value).map_err(|reason| ConfigError::Invalid {
            name: param.name.to_string(),
            reason,
        })
    }

    /// Sets a parameter replsim does not model (checked as Redis checks it;
    /// `startup`: immutable ones too).
    fn set_other(&mut self, name: &str, value: &str, startup: bool) -> Result<(), ConfigError> {
        let lower = config_table::canonical(name).to_ascii_lowercase();
        let Some((canonical, _)) = self.others.get_key_value(lower.as_str()) else {
            return Err(ConfigError::Unknown(name.to_string()));
        };
        let canonical = *canonical;
        if !startup && config_table::spec(canonical).is_some_and(|s| !s.mutable) {
            return Err(ConfigError::Immutable(canonical.to_string()));
        }
        let checked = check_kind(canonical, value).map_err(|reason| ConfigError::Invalid {
            name: canonical.to_string(),
            reason,
        })?;
        self.others.insert(canonical, checked);
        Ok(())
    }

    /// Sets a parameter at start-up (immutable ones too), from the command
    /// line, a config file or a scenario file.
    pub fn set_startup(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        let name = config_table::canonical(name);
        match name.to_ascii_lowercase().as_str() {
            "logfile" => self.logfile = value.to_string(),
            "databases" => {
                let n = int_between(value, 1, INT_MAX).map_err(|reason| ConfigError::Invalid {
                    name: "databases".into(),
                    reason,
                })?;
                if n != crate::keyspace::DB_COUNT as u64 {
                    return Err(ConfigError::Invalid {
                        name: "databases".into(),
                        reason: format!("replsim has {} databases", crate::keyspace::DB_COUNT),
                    });
                }
            }
            "bind" => self.bind = value.to_string(),
            "port" => {
                self.port = value.parse().map_err(|_| ConfigError::Invalid {
                    name: "port".into(),
                    reason: "argument couldn't be parsed into an integer".into(),
                })?
            }
            "dir" => self.dir = value.to_string(),
            "replicaof" | "slaveof" => {
                // Redis's checks, in its order and words.
                let invalid = |reason: &str| ConfigError::Invalid {
                    name: "replicaof".into(),
                    reason: reason.into(),
                };
                let words: Vec<&str> = value.split_whitespace().collect();
                let [host, port] = words[..] else {
                    return Err(invalid("wrong number of arguments"));
                };
                if host.eq_ignore_ascii_case("no") && port.eq_ignore_ascii_case("one") {
                    self.replicaof = None;
                    return Ok(());
                }
                let port: u16 = port.parse().map_err(|_| invalid("Invalid master port"))?;
                self.replicaof = Some((host.to_string(), port));
            }
            "enable-debug-command" | "enable-protected-configs" => match value {
                "yes" | "no" | "local" if name.eq_ignore_ascii_case("enable-debug-command") => {
                    self.enable_debug_command = value.to_string()
                }
                "yes" | "no" | "local" => self.enable_protected_configs = value.to_string(),
                _ => {
                    return Err(ConfigError::Invalid {
                        name: name.into(),
                        reason: "argument(s) must be one of the following: no, yes, local".into(),
                    })
                }
            },
            _ if find(name).is_none() => self.set_other(name, value, true)?,
            _ => self.set(name, value)?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn startup_only_parameters_report_redis_errors() {
        let mut config = Config::default();
        let reason = |result: Result<(), ConfigError>| match result {
            Err(ConfigError::Invalid { reason, .. }) => reason,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            reason(config.set_startup("replicaof", "127.0.0.1 abc")),
            "Invalid master port"
        );
        assert_eq!(
            reason(config.set_startup("replicaof", "127.0.0.1")),
            "wrong number of arguments"
        );
        config.set_startup("replicaof", "10.0.0.1 6380").unwrap();
        assert_eq!(config.replicaof, Some(("10.0.0.1".into(), 6380)));
        config.set_startup("slaveof", "no one").unwrap();
        assert_eq!(config.replicaof, None);
        assert_eq!(
            reason(config.set_startup("shutdown-on-sigint", "")),
            "argument(s) must be one of the following: default, save, nosave, now, force"
        );
    }

    #[test]
    fn config_set_reports_redis_errors() {
        let mut config = Config::default();
        assert_eq!(
            config.set("foo", "bar").unwrap_err().to_string(),
            "Unknown option or number of arguments for CONFIG SET - 'foo'"
        );
        assert_eq!(
            config.set("hz", "abc").unwrap_err().to_string(),
            "CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer"
        );
        config.set("HZ", "50").unwrap();
        assert_eq!(
            config.get_matching(&[b"h?"]),
            vec![("hz", "50".to_string())]
        );
    }

    /// The texts redis-server 7.0.15 prints for these values, at start-up
    /// and for CONFIG SET alike.
    #[test]
    fn bounds_and_errors_match_redis_7_0() {
        let reason = |name: &str, value: &str| match Config::default().set_startup(name, value) {
            Err(ConfigError::Invalid { reason, .. }) => reason,
            other => panic!("{name} {value}: {other:?}"),
        };
        let unparsable = "argument couldn't be parsed into an integer";
        assert_eq!(reason("repl-timeout", "1.5"), unparsable);
        assert_eq!(reason("hz", "abc"), unparsable);
        assert_eq!(reason("repl-timeout", "99999999999999999999"), unparsable);
        assert_eq!(
            reason("repl-timeout", "0"),
            "argument must be between 1 and 2147483647 inclusive"
        );
        assert_eq!(
            reason("repl-ping-replica-period", "0"),
            "argument must be between 1 and 2147483647 inclusive"
        );
        assert_eq!(
            reason("maxclients", "0"),
            "argument must be between 1 and 4294967295 inclusive"
        );
        assert_eq!(
            reason("maxclients", "4294967296"),
            "argument must be between 1 and 4294967295 inclusive"
        );
        assert_eq!(
            reason("min-replicas-max-lag", "-1"),
            "argument must be between 0 and 2147483647 inclusive"
        );
        assert_eq!(
            reason("min-replicas-to-write", "-1"),
            "argument must be between 0 and 2147483647 inclusive"
        );
        assert_eq!(
            reason("hz", "2147483648"),
            "argument must be between 0 and 2147483647 inclusive"
        );
        assert_eq!(
            reason("repl-backlog-size", "0"),
            "argument must be between 1 and 9223372036854775807 inclusive"
        );
        assert_eq!(
            reason("repl-backlog-size", "1xb"),
            "argument must be a memory value"
        );
        assert_eq!(reason("save", "1"), "Invalid save parameters");
        assert_eq!(
            reason("proto-max-bulk-len", "10"),
            "argument must be between 1048576 and 9223372036854775807 inclusive"
        );
        // Accepted like Redis: hz 0 runs at 1, the top of a range is allowed.
        let mut config = Config::default();
        config.set_startup("hz", "0").unwrap();
        assert_eq!(config.hz, 1);
        config.set_startup("repl-timeout", "2147483647").unwrap();
        config.set_startup("repl-backlog-size", "1").unwrap();
    }

    /// redis-server 7.0.15 with `enable-protected-configs no` (its
    /// default): protection is checked for every pair before any value.
    #[test]
    fn protected_configs_are_refused_unless_enabled() {
        let config = Config::default();
        let refused =
            |names: &[&str], local| config.check_settable(names, local).unwrap_err().to_string();
        assert_eq!(
            refused(&["dir"], true),
            "CONFIG SET failed (possibly related to argument 'dir') - can't set protected config"
        );
        assert_eq!(
            refused(&["hz", "dbfilename"], true),
            "CONFIG SET failed (possibly related to argument 'dbfilename') - can't set protected config"
        );
        assert_eq!(
            refused(&["dbfilename", "dbfilename"], true),
            "CONFIG SET failed (possibly related to argument 'dbfilename') - can't set protected config"
        );
        assert_eq!(
            refused(&["hz", "HZ"], true),
            "CONFIG SET failed (possibly related to argument 'hz') - duplicate parameter"
        );
        let mut local = Config::default();
        local
            .set_startup("enable-protected-configs", "local")
            .unwrap();
        assert!(local.check_settable(&["dbfilename"], true).is_ok());
        assert!(local.check_settable(&["dbfilename"], false).is_err());
        // `dir` stays immutable: replsim's storage is opened on its
        // directory once (see the README).
        assert_eq!(
            local.check_settable(&["dir"], true).unwrap_err(),
            ConfigError::Immutable("dir".into())
        );
        assert!(Config::default()
            .set_startup("enable-protected-configs", "maybe")
            .is_err());
    }

    /// Texts and results of redis-server 7.0.15 for these values.
    #[test]
    fn output_buffer_limits_parse_per_class_like_redis() {
        let mut config = Config::default();
        config
            .set("client-output-buffer-limit", "NORMAL 1mb 512kb 3")
            .unwrap();
        assert_eq!(config.normal_output_limit, (1 << 20, 512 << 10, 3));
        assert_eq!(
            config.get_matching(&[b"client-output-buffer-limit"])[0].1,
            "normal 1048576 524288 3 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
        );
        let reason = |value: &str| match Config::default().set("client-output-buffer-limit", value)
        {
            Err(ConfigError::Invalid { reason, .. }) => reason,
            other => panic!("{value}: {other:?}"),
        };
        let bad_numbers =
            "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
        assert_eq!(reason("normal 1mb x 0"), bad_numbers);
        assert_eq!(reason("normal 1mb 1 -1"), bad_numbers);
        assert_eq!(
            reason("foo 1 1 1"),
            "Invalid client class specified in buffer limit configuration."
        );
        assert_eq!(
            reason("normal 1 1"),
            "Wrong number of arguments in buffer limit configuration."
        );
        // All or nothing: a bad second class leaves the first unchanged.
        let mut config = Config::default();
        assert!(config
            .set("client-output-buffer-limit", "normal 1 1 1 foo 1 1 1")
            .is_err());
        assert_eq!(config.normal_output_limit, (0, 0, 0));
    }

    #[test]
    fn memory_units_parse_like_redis() {
        assert_eq!(parse_memory("64kb"), Ok(65536));
        assert_eq!(parse_memory("1mb"), Ok(1 << 20));
        assert_eq!(parse_memory("2k"), Ok(2000));
        assert_eq!(parse_memory("77"), Ok(77));
        assert!(parse_memory("1xb").is_err());
    }
}
