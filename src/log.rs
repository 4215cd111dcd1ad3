//! Redis-style server log lines (replication events above all).
//!
//! Real mode prints Redis's own format, `pid:R dd Mon yyyy hh:mm:ss.mmm L
//! message` (UTC). In simulation each line carries the simulated time and
//! the node's name instead (`1.204s r1 S * message`) and goes to a sink the
//! harness owns, so that the log of a seed is stable and can be snapshotted.

use std::sync::{Arc, Mutex};

/// Log levels, with Redis's marker characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// `-`: verbose.
    Verbose,
    /// `*`: notice.
    Notice,
    /// `#`: warning.
    Warning,
}

impl Level {
    /// Redis's marker for the level.
    pub fn marker(self) -> char {
        match self {
            Level::Verbose => '-',
            Level::Notice => '*',
            Level::Warning => '#',
        }
    }
}

/// Where log lines go.
pub trait LogSink: Send + Sync {
    /// Records one line. `role` is `M` (master) or `S` (replica).
    fn log(&self, role: char, level: Level, message: &str);
}

/// Redis's format on stderr, for `replsim serve`.
#[derive(Debug, Default)]
pub struct StderrLog {
    /// Lines below this level are dropped (Redis's `loglevel notice`).
    pub verbose: bool,
}

impl LogSink for StderrLog {
    fn log(&self, role: char, level: Level, message: &str) {
        if level == Level::Verbose && !self.verbose {
            return;
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        eprintln!(
            "{}:{} {} {} {}",
            std::process::id(),
            role,
            redis_timestamp(now.as_millis() as u64),
            level.marker(),
            message
        );
    }
}

/// Redis's format on standard output or appended to a file (`logfile`),
/// from the `loglevel` on: what `replsim serve` logs, as redis-server does.
#[derive(Debug)]
pub struct ProcessLog {
    lowest: Level,
    file: Option<Mutex<std::fs::File>>,
}

impl ProcessLog {
    /// Logs lines at `loglevel` (`debug`, `verbose`, `notice`, `warning`)
    /// and above to `logfile` (empty: standard output).
    pub fn open(loglevel: &str, logfile: &str) -> std::io::Result<Self> {
        let lowest = match loglevel {
            "debug" | "verbose" => Level::Verbose,
            "warning" => Level::Warning,
            _ => Level::Notice,
        };
        let file = if logfile.is_empty() {
            None
        } else {
            Some(Mutex::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(logfile)?,
            ))
        };
        Ok(ProcessLog { lowest, file })
    }

    /// Writes one line with role `role` (`C` before the server exists).
    pub fn write(&self, role: char, level: Level, message: &str) {
        let rank = |l: Level| match l {
            Level::Verbose => 0,
            Level::Notice => 1,
            Level::Warning => 2,
        };
        if rank(level) < rank(self.lowest) {
            return;
        }
        self.write_raw(&format!(
            "{}:{} {} {} {}\n",
            std::process::id(),
            role,
            redis_timestamp(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_millis() as u64
            ),
            level.marker(),
            message
        ));
    }

    /// Writes `text` as it is (the start banner).
    pub fn write_raw(&self, text: &str) {
        use std::io::Write;
        match &self.file {
            Some(file) => {
                let mut file = file.lock().unwrap_or_else(|p| p.into_inner());
                let _ = file.write_all(text.as_bytes());
            }
            None => {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(text.as_bytes());
                let _ = out.flush();
            }
        }
    }
}

impl LogSink for ProcessLog {
    fn log(&self, role: char, level: Level, message: &str) {
        self.write(role, level, message);
    }
}

/// `21 Nov 2026 05:26:03.892` for a unix time in ms (UTC).
pub fn redis_timestamp(unix_ms: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = (unix_ms / 86_400_000) as i64;
    let ms_of_day = unix_ms % 86_400_000;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{:02} {} {} {:02}:{:02}:{:02}.{:03}",
        day,
        MONTHS[(month - 1) as usize],
        year,
        ms_of_day / 3_600_000,
        ms_of_day / 60_000 % 60,
        ms_of_day / 1000 % 60,
        ms_of_day % 1000
    )
}

/// One line of a simulated node's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimLogLine {
    /// Simulated time since the start of the run.
    pub elapsed_ms: u64,
    /// Node name.
    pub node: String,
    /// `M` or `S`.
    pub role: char,
    /// Level.
    pub level: Level,
    /// Redis's message.
    pub message: String,
}

impl std::fmt::Display for SimLogLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}.{:03}s {} {} {} {}",
            self.elapsed_ms / 1000,
            self.elapsed_ms % 1000,
            self.node,
            self.role,
            self.level.marker(),
            self.message
        )
    }
}

/// The shared log of a simulated cluster: every node appends in simulated
/// time order (madsim runs one task at a time).
pub type SharedSimLog = Arc<Mutex<Vec<SimLogLine>>>;

/// A node's view of the shared simulated log.
#[derive(Clone)]
pub struct SimLog {
    node: String,
    lines: SharedSimLog,
    clock: fn() -> u64,
}

impl SimLog {
    /// Lines of node `node` go to `lines`, stamped by `clock` (elapsed ms).
    pub fn new(node: impl Into<String>, lines: SharedSimLog, clock: fn() -> u64) -> Self {
        SimLog {
            node: node.into(),
            lines,
            clock,
        }
    }
}

impl LogSink for SimLog {
    fn log(&self, role: char, level: Level, message: &str) {
        let line = SimLogLine {
            elapsed_ms: (self.clock)(),
            node: self.node.clone(),
            role,
            level,
            message: message.to_string(),
        };
        self.lines
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(line);
    }
}

/// Discards everything (unit tests).
#[derive(Debug, Default)]
pub struct NullLog;

impl LogSink for NullLog {
    fn log(&self, _role: char, _level: Level, _message: &str) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_use_redis_layout() {
        // 2026-11-21 05:26:03.892 UTC
        assert_eq!(
            redis_timestamp(1_795_238_763_892),
            "21 Nov 2026 05:26:03.892"
        );
        assert_eq!(redis_timestamp(0), "01 Jan 1970 00:00:00.000");
        assert_eq!(redis_timestamp(951_782_400_000), "29 Feb 2000 00:00:00.000");
    }
}
