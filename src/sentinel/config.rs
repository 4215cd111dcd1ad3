//! `sentinel.conf`: the directives a Sentinel reads at start (its own and
//! the few server ones it honours), errors that name the line as Redis
//! does, and the rewrite of the same file whenever the Sentinel's state
//! changes (Redis's `sentinelFlushConfig`).

use std::path::{Path, PathBuf};

use crate::server::conf_file::{split_words, ConfFileError};

/// Redis's default `down-after-milliseconds`.
pub const DEFAULT_DOWN_AFTER_MS: u64 = 30_000;
/// Redis's default `failover-timeout`.
pub const DEFAULT_FAILOVER_TIMEOUT_MS: u64 = 180_000;
/// Sentinel's default port.
pub const DEFAULT_SENTINEL_PORT: u16 = 26379;

/// Why a sentinel.conf could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SentinelConfigError {
    /// A line Redis would refuse, or a file it cannot open: the same
    /// reports as redis-server's (`ConfFileError`), since Sentinel reads
    /// its file with the same code in Redis.
    #[error(transparent)]
    File(#[from] ConfFileError),
    /// Sentinel needs a file it can rewrite.
    #[error("Sentinel needs config file on disk to save state. Exiting...")]
    NoFile,
    /// The rewrite could not be written.
    #[error("Sentinel: can't rewrite its config file '{path}': {reason}")]
    Rewrite {
        /// The file.
        path: String,
        /// The OS error.
        reason: String,
    },
}

/// An OS error as `strerror` words it (no "(os error N)" suffix).
pub(crate) fn io_error_text(error: &std::io::Error) -> String {
    let text = error.to_string();
    match text.find(" (os error") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// One `sentinel monitor` entry with its per-master settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterConfig {
    /// The name clients ask for.
    pub name: String,
    /// The master's host.
    pub host: String,
    /// The master's port.
    pub port: u16,
    /// Sentinels that must agree it is down (ODOWN).
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
    /// `config-epoch`.
    pub config_epoch: u64,
    /// `leader-epoch`.
    pub leader_epoch: u64,
    /// `known-replica` host and port.
    pub known_replicas: Vec<(String, u16)>,
    /// `known-sentinel` host, port and run id.
    pub known_sentinels: Vec<(String, u16, String)>,
}

impl MasterConfig {
    /// A master with Redis's defaults.
    pub fn new(name: &str, host: &str, port: u16, quorum: u32) -> Self {
        MasterConfig {
            name: name.to_string(),
            host: host.to_string(),
            port,
            quorum,
            down_after_ms: DEFAULT_DOWN_AFTER_MS,
            failover_timeout_ms: DEFAULT_FAILOVER_TIMEOUT_MS,
            parallel_syncs: 1,
            auth_pass: None,
            auth_user: None,
            config_epoch: 0,
            leader_epoch: 0,
            known_replicas: Vec::new(),
            known_sentinels: Vec::new(),
        }
    }
}

/// Everything a Sentinel is started with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentinelConfig {
    /// `port` (26379).
    pub port: u16,
    /// `bind` addresses (empty: every interface).
    pub bind: Vec<String>,
    /// `dir`.
    pub dir: String,
    /// `logfile` (empty: standard output).
    pub logfile: String,
    /// `protected-mode`.
    pub protected_mode: bool,
    /// `sentinel myid` (generated at start when absent).
    pub myid: Option<String>,
    /// `sentinel current-epoch`.
    pub current_epoch: u64,
    /// `sentinel announce-ip`.
    pub announce_ip: Option<String>,
    /// `sentinel announce-port` (0: the listening port).
    pub announce_port: u16,
    /// `sentinel resolve-hostnames`.
    pub resolve_hostnames: bool,
    /// `sentinel announce-hostnames`.
    pub announce_hostnames: bool,
    /// `sentinel sentinel-user`: the user to AUTH as with other Sentinels.
    pub sentinel_user: Option<String>,
    /// `sentinel sentinel-pass`: the password for other Sentinels.
    pub sentinel_pass: Option<String>,
    /// Monitored masters, in file order.
    pub masters: Vec<MasterConfig>,
    /// The file to rewrite on every state change (None: never written,
    /// as in the simulation).
    pub file: Option<PathBuf>,
    /// A known bug planted to prove the checker catches it: vote again in
    /// an epoch already voted in (never set outside tests of the checker).
    pub planted_votes_twice: bool,
}

impl Default for SentinelConfig {
    fn default() -> Self {
        SentinelConfig {
            port: DEFAULT_SENTINEL_PORT,
            bind: Vec::new(),
            dir: ".".into(),
            logfile: String::new(),
            protected_mode: false,
            myid: None,
            current_epoch: 0,
            announce_ip: None,
            announce_port: 0,
            resolve_hostnames: false,
            announce_hostnames: false,
            sentinel_user: None,
            sentinel_pass: None,
            masters: Vec::new(),
            file: None,
            planted_votes_twice: false,
        }
    }
}

fn yes_no(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    }
}

fn positive_ms(value: &str) -> Result<u64, String> {
    match value.parse::<i64>() {
        Ok(ms) if ms > 0 => Ok(ms as u64),
        _ => Err("negative or zero time parameter.".into()),
    }
}

impl SentinelConfig {
    /// Reads `path`, then applies `options` (`--name value` pairs, as on
    /// redis-sentinel's command line); remembers `path` for rewrites.
    pub fn load(path: Option<&Path>, options: &[String]) -> Result<Self, SentinelConfigError> {
        let mut config = SentinelConfig::default();
        let mut text = String::new();
        if let Some(path) = path {
            text = std::fs::read_to_string(path).map_err(|e| ConfFileError::Open {
                path: path.display().to_string(),
                reason: io_error_text(&e),
            })?;
            config.file = Some(std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()));
        }
        let extra = crate::server::conf_file::options_to_lines(options);
        if !extra.is_empty() {
            text.push('\n');
            text.push_str(&extra);
        }
        config.apply(&text)?;
        Ok(config)
    }

    /// Applies the lines of a sentinel.conf text.
    pub fn apply(&mut self, text: &str) -> Result<(), SentinelConfigError> {
        for (index, line) in text.lines().enumerate() {
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let bad = |reason: &str| ConfFileError::BadLine {
                line: index + 1,
                text: trimmed.to_string(),
                reason: reason.to_string(),
            };
            let words = split_words(trimmed)
                .ok_or_else(|| bad("Unbalanced quotes in configuration line"))?;
            self.apply_words(&words).map_err(|reason| bad(&reason))?;
        }
        Ok(())
    }

    fn master_mut(&mut self, name: &str) -> Result<&mut MasterConfig, String> {
        self.masters
            .iter_mut()
            .find(|m| m.name == name)
            .ok_or_else(|| "No such master with specified name.".to_string())
    }

    fn apply_words(&mut self, words: &[String]) -> Result<(), String> {
        let directive = words[0].to_ascii_lowercase();
        let args = &words[1..];
        let bad_directive = || "Bad directive or wrong number of arguments".to_string();
        match (directive.as_str(), args.len()) {
            ("sentinel", n) if n >= 1 => self.apply_sentinel(args),
            ("port", 1) => {
                self.port = args[0].parse().map_err(|_| "Invalid port".to_string())?;
                Ok(())
            }
            ("bind", n) if n >= 1 => {
                self.bind = args.to_vec();
                Ok(())
            }
            ("dir", 1) => {
                self.dir = args[0].clone();
                Ok(())
            }
            ("logfile", 1) => {
                self.logfile = args[0].clone();
                Ok(())
            }
            ("daemonize", 1) => match yes_no(&args[0]) {
                Some(false) => Ok(()),
                Some(true) => Err("daemonize yes is not supported by replsim".into()),
                None => Err("argument must be 'yes' or 'no'".into()),
            },
            ("protected-mode", 1) => {
                self.protected_mode =
                    yes_no(&args[0]).ok_or_else(|| "argument must be 'yes' or 'no'".to_string())?;
                Ok(())
            }
            // Server directives a rewritten sentinel.conf carries (and
            // any other parameter redis-server knows), which a Sentinel has
            // no use for.
            (
                "user"
                | "include"
                | "rename-command"
                | "loadmodule"
                | "latency-tracking-info-percentiles",
                _,
            ) => Ok(()),
            (name, n) if n >= 1 && crate::server::config_table::spec(name).is_some() => Ok(()),
            _ => Err(bad_directive()),
        }
    }

    fn apply_sentinel(&mut self, args: &[String]) -> Result<(), String> {
        let sub = args[0].to_ascii_lowercase();
        let argc = args.len();
        match (sub.as_str(), argc) {
            ("monitor", 5) => {
                let quorum: i64 = args[4].parse().unwrap_or(0);
                if quorum <= 0 {
                    return Err("Quorum must be 1 or greater.".into());
                }
                let port: u16 = args[3]
                    .parse()
                    .map_err(|_| "Invalid port number".to_string())?;
                if self.masters.iter().any(|m| m.name == args[1]) {
                    return Err("Duplicate master name.".into());
                }
                self.masters
                    .push(MasterConfig::new(&args[1], &args[2], port, quorum as u32));
                Ok(())
            }
            ("down-after-milliseconds", 3) => {
                let ms = positive_ms(&args[2]);
                let master = self.master_mut(&args[1])?;
                master.down_after_ms = ms?;
                Ok(())
            }
            ("failover-timeout", 3) => {
                let ms = positive_ms(&args[2]);
                let master = self.master_mut(&args[1])?;
                master.failover_timeout_ms = ms?;
                Ok(())
            }
            ("parallel-syncs", 3) => {
                let master = self.master_mut(&args[1])?;
                master.parallel_syncs = args[2].parse::<i64>().unwrap_or(0).max(0) as u32;
                Ok(())
            }
            ("auth-pass", 3) => {
                self.master_mut(&args[1])?.auth_pass = Some(args[2].clone());
                Ok(())
            }
            ("auth-user", 3) => {
                self.master_mut(&args[1])?.auth_user = Some(args[2].clone());
                Ok(())
            }
            ("current-epoch", 2) => {
                let epoch = args[1].parse::<u64>().unwrap_or(0);
                if epoch > self.current_epoch {
                    self.current_epoch = epoch;
                }
                Ok(())
            }
            ("myid", 2) => {
                if args[1].len() != 40 {
                    return Err("Malformed Sentinel id in myid option.".into());
                }
                self.myid = Some(args[1].clone());
                Ok(())
            }
            ("config-epoch", 3) => {
                let epoch = args[2].parse::<u64>().unwrap_or(0);
                let master = self.master_mut(&args[1])?;
                master.config_epoch = epoch;
                if epoch > self.current_epoch {
                    self.current_epoch = epoch;
                }
                Ok(())
            }
            ("leader-epoch", 3) => {
                let epoch = args[2].parse::<u64>().unwrap_or(0);
                self.master_mut(&args[1])?.leader_epoch = epoch;
                Ok(())
            }
            ("known-slave" | "known-replica", 4) => {
                let port: u16 = args[3]
                    .parse()
                    .map_err(|_| "Wrong hostname or port for replica.".to_string())?;
                let master = self.master_mut(&args[1])?;
                master.known_replicas.push((args[2].clone(), port));
                Ok(())
            }
            ("known-sentinel", 4 | 5) => {
                if argc == 4 {
                    // The old form without a run id is accepted and ignored.
                    return Ok(());
                }
                let port: u16 = args[3]
                    .parse()
                    .map_err(|_| "Wrong hostname or port for sentinel.".to_string())?;
                let master = self.master_mut(&args[1])?;
                master
                    .known_sentinels
                    .push((args[2].clone(), port, args[4].clone()));
                Ok(())
            }
            ("announce-ip", 2) => {
                self.announce_ip = (!args[1].is_empty()).then(|| args[1].clone());
                Ok(())
            }
            ("announce-port", 2) => {
                self.announce_port = args[1].parse().unwrap_or(0);
                Ok(())
            }
            ("resolve-hostnames", 2) => {
                self.resolve_hostnames = yes_no(&args[1]).ok_or_else(|| {
                    "Please specify yes or no for the resolve-hostnames option.".to_string()
                })?;
                Ok(())
            }
            ("announce-hostnames", 2) => {
                self.announce_hostnames = yes_no(&args[1]).ok_or_else(|| {
                    "Please specify yes or no for the announce-hostnames option.".to_string()
                })?;
                Ok(())
            }
            ("deny-scripts-reconfig", 2) => Ok(()),
            ("sentinel-user", 2) => {
                self.sentinel_user = (!args[1].is_empty()).then(|| args[1].clone());
                Ok(())
            }
            ("sentinel-pass", 2) => {
                self.sentinel_pass = (!args[1].is_empty()).then(|| args[1].clone());
                Ok(())
            }
            _ => Err("Unrecognized sentinel configuration statement.".into()),
        }
    }
}

/// One line a rewrite produces: the option it belongs to (`port`,
/// `sentinel monitor`, ...), the line, and whether it must be written
/// even when the old file has no line for that option (a value that
/// differs from the default, or state that must survive a restart).
#[derive(Debug, Clone)]
pub struct RewriteLine {
    /// The option: the directive, or `sentinel <subcommand>`.
    pub option: String,
    /// The whole line.
    pub line: String,
    /// Written even without an old line to replace.
    pub force: bool,
}

impl RewriteLine {
    /// A line of `option`.
    pub fn new(option: &str, line: String, force: bool) -> Self {
        RewriteLine {
            option: option.to_string(),
            line,
            force,
        }
    }
}

/// Whether Redis's rewrite knows `directive` (a config parameter, or one
/// of the directives only a file holds); unknown ones are kept as
/// `# ??? ` comments.
fn known_directive(directive: &str) -> bool {
    crate::server::config_table::spec(directive).is_some()
        || [
            "include",
            "rename-command",
            "user",
            "loadmodule",
            "sentinel",
            "bind",
            "port",
            "dir",
            "latency-tracking-info-percentiles",
        ]
        .iter()
        .any(|d| d.eq_ignore_ascii_case(directive))
}

/// The Sentinel options a rewrite owns.
const SENTINEL_OPTIONS: [&str; 23] = [
    "myid",
    "deny-scripts-reconfig",
    "resolve-hostnames",
    "announce-hostnames",
    "monitor",
    "down-after-milliseconds",
    "failover-timeout",
    "parallel-syncs",
    "notification-script",
    "client-reconfig-script",
    "auth-pass",
    "auth-user",
    "master-reboot-down-after-period",
    "config-epoch",
    "leader-epoch",
    "known-replica",
    "known-sentinel",
    "rename-command",
    "current-epoch",
    "announce-ip",
    "announce-port",
    "sentinel-user",
    "sentinel-pass",
];

/// The text marking where a rewrite appends the lines the old file had no
/// place for.
pub const REWRITE_SIGNATURE: &str = "# Generated by CONFIG REWRITE";

/// Redis's CONFIG REWRITE (`rewriteConfig`) applied to `old`: every line
/// is trimmed; each new line takes the place of the next old line of its
/// option (a directive, or `sentinel <subcommand>` so that Sentinel lines
/// keep their places); a forced line with no old place is appended, after
/// the signature when the file has none yet; old lines of a rewritten
/// option left over become empty; runs of empty lines become one; lines
/// of unknown directives become `# ??? ` comments.
pub fn rewrite_text(old: &str, new_lines: &[RewriteLine]) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut slots: std::collections::BTreeMap<String, std::collections::VecDeque<usize>> =
        Default::default();
    let mut needs_signature = true;
    if !old.is_empty() {
        for raw in old.split('\n') {
            let line = raw.trim_matches(|c| matches!(c, '\r' | '\n' | '\t' | ' '));
            if line.is_empty() || line.starts_with('#') {
                if line == REWRITE_SIGNATURE {
                    needs_signature = false;
                }
                lines.push(line.to_string());
                continue;
            }
            let words = split_words(line).unwrap_or_default();
            let Some(directive) = words.first().filter(|d| known_directive(d)) else {
                lines.push(format!("# ??? {line}"));
                continue;
            };
            let directive =
                crate::server::config_table::canonical(&directive.to_ascii_lowercase()).to_string();
            let option = if directive == "sentinel" && words.len() > 1 {
                format!("sentinel {}", words[1])
            } else {
                directive
            };
            slots.entry(option).or_default().push_back(lines.len());
            lines.push(line.to_string());
        }
    }
    // Every Sentinel option counts as rewritten, so that the lines of a
    // forgotten replica or Sentinel go away (`rewriteConfigMarkAsProcessed`).
    let mut processed: std::collections::BTreeSet<String> = SENTINEL_OPTIONS
        .iter()
        .map(|o| format!("sentinel {o}"))
        .collect();
    for new in new_lines {
        processed.insert(new.option.clone());
        match slots.get_mut(&new.option).and_then(|s| s.pop_front()) {
            Some(index) => lines[index] = new.line.clone(),
            None if new.force => {
                if needs_signature {
                    lines.push(REWRITE_SIGNATURE.to_string());
                    needs_signature = false;
                }
                lines.push(new.line.clone());
            }
            None => {}
        }
    }
    for option in &processed {
        if let Some(rest) = slots.get(option) {
            for index in rest {
                lines[*index].clear();
            }
        }
    }
    let mut out = String::new();
    let mut was_empty = false;
    for line in lines {
        if line.is_empty() {
            if was_empty {
                continue;
            }
            was_empty = true;
        } else {
            was_empty = false;
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_monitor_line_with_a_zero_quorum_names_its_line() {
        let mut config = SentinelConfig::default();
        let error = config
            .apply("port 1\nsentinel monitor m 127.0.0.1 6379 0\n")
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 2\n>>> 'sentinel monitor m 127.0.0.1 6379 0'\nQuorum must be 1 or greater."
        );
    }

    #[test]
    fn per_master_settings_need_a_monitored_master() {
        let mut config = SentinelConfig::default();
        let error = config
            .apply("sentinel down-after-milliseconds nope 100")
            .unwrap_err();
        assert!(error
            .to_string()
            .ends_with("No such master with specified name."));
    }

    #[test]
    fn a_rewrite_keeps_lines_in_place_and_appends_the_rest_after_the_signature() {
        let old = "port 26999\n# mine\nsentinel monitor m 127.0.0.1 6379 2\nsentinel known-replica m 1.2.3.4 5\n";
        let new = [
            RewriteLine::new("port", "port 26999".into(), true),
            RewriteLine::new("sentinel myid", "sentinel myid abc".into(), true),
            RewriteLine::new(
                "sentinel monitor",
                "sentinel monitor m 127.0.0.1 6380 2".into(),
                true,
            ),
            RewriteLine::new(
                "sentinel current-epoch",
                "sentinel current-epoch 3".into(),
                true,
            ),
        ];
        assert_eq!(
            rewrite_text(old, &new),
            "port 26999\n# mine\nsentinel monitor m 127.0.0.1 6380 2\n\n# Generated by CONFIG REWRITE\nsentinel myid abc\nsentinel current-epoch 3\n"
        );
        // Rewriting its own output again changes nothing but what changed.
        let again = rewrite_text(&rewrite_text(old, &new), &new);
        assert_eq!(again, rewrite_text(old, &new) + "\n");
    }

    #[test]
    fn settings_apply_to_their_master() {
        let mut config = SentinelConfig::default();
        config
            .apply("latency-tracking-info-percentiles 50 99 99.9\nuser default on nopass ~* &* +@all\nsentinel monitor m 10.0.0.1 6379 2\nsentinel down-after-milliseconds m 500\nsentinel failover-timeout m 2000\nsentinel parallel-syncs m 3\nsentinel known-replica m 10.0.0.2 6379\nsentinel current-epoch 4")
            .unwrap();
        let m = &config.masters[0];
        assert_eq!(
            (m.down_after_ms, m.failover_timeout_ms, m.parallel_syncs),
            (500, 2000, 3)
        );
        assert_eq!(m.known_replicas, vec![("10.0.0.2".to_string(), 6379)]);
        assert_eq!(config.current_epoch, 4);
    }
}
