//! The parameters the server honours, with CONFIG GET / CONFIG SET: one table
//! of parameters, each with how to print and how to parse it, in Redis's
//! spelling and with Redis's error texts.

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
    /// `maxclients`: connections accepted at most.
    pub maxclients: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: "127.0.0.1".into(),
            port: 6379,
            requirepass: None,
            proto_max_bulk_len: crate::resp::DEFAULT_MAX_BULK_BYTES,
            hz: 10,
            dir: ".".into(),
            dbfilename: "dump.rdb".into(),
            save: "3600 1 300 100 60 10000".into(),
            enable_debug_command: "no".into(),
            maxclients: 10000,
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
        name: "bind",
        get: |c| c.bind.clone(),
        set: None,
    },
    Param {
        name: "port",
        get: |c| c.port.to_string(),
        set: None,
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
            let n = parse_memory(v)?;
            if n < 1024 * 1024 {
                return Err(
                    "argument must be between 1048576 and 9223372036854775807 inclusive".into(),
                );
            }
            c.proto_max_bulk_len = n;
            Ok(())
        }),
    },
    Param {
        name: "hz",
        get: |c| c.hz.to_string(),
        set: Some(|c, v| {
            let n: i64 = parse_int(v)?;
            // Redis clamps hz into 1..=500.
            c.hz = n.clamp(1, 500) as u32;
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
        name: "appendonly",
        get: |_| "no".into(),
        set: Some(|_, v| match v {
            "no" => Ok(()),
            _ => Err("argument(s) must be one of the following: no (replsim has no AOF)".into()),
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
        name: "maxclients",
        get: |c| c.maxclients.to_string(),
        set: Some(|c, v| {
            let n: i64 = parse_int(v)?;
            if n < 1 {
                return Err("argument must be between 1 and 4294967295 inclusive".into());
            }
            c.maxclients = n as u64;
            Ok(())
        }),
    },
];

fn find(name: &str) -> Option<&'static Param> {
    PARAMS.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

impl Config {
    /// Parameter/value pairs whose names match any of `patterns` (globs),
    /// each parameter once, in table order.
    pub fn get_matching(&self, patterns: &[&[u8]]) -> Vec<(&'static str, String)> {
        PARAMS
            .iter()
            .filter(|p| {
                patterns
                    .iter()
                    .any(|pat| glob_match(pat, p.name.as_bytes(), true))
            })
            .map(|p| (p.name, (p.get)(self)))
            .collect()
    }

    /// Sets one parameter at run time.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        let param = find(name).ok_or_else(|| ConfigError::Unknown(name.to_string()))?;
        let setter = param
            .set
            .ok_or_else(|| ConfigError::Immutable(param.name.to_string()))?;
        setter(self, value).map_err(|reason| ConfigError::Invalid {
            name: param.name.to_string(),
            reason,
        })
    }

    /// Sets a parameter at start-up (immutable ones too), from the command
    /// line or a scenario file.
    pub fn set_startup(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        match name.to_ascii_lowercase().as_str() {
            "bind" => self.bind = value.to_string(),
            "port" => {
                self.port = value.parse().map_err(|_| ConfigError::Invalid {
                    name: "port".into(),
                    reason: "argument couldn't be parsed into an integer".into(),
                })?
            }
            "dir" => self.dir = value.to_string(),
            "enable-debug-command" => match value {
                "yes" | "no" | "local" => self.enable_debug_command = value.to_string(),
                _ => {
                    return Err(ConfigError::Invalid {
                        name: name.into(),
                        reason: "argument(s) must be one of the following: no, yes, local".into(),
                    })
                }
            },
            _ => self.set(name, value)?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn memory_units_parse_like_redis() {
        assert_eq!(parse_memory("64kb"), Ok(65536));
        assert_eq!(parse_memory("1mb"), Ok(1 << 20));
        assert_eq!(parse_memory("2k"), Ok(2000));
        assert_eq!(parse_memory("77"), Ok(77));
        assert!(parse_memory("1xb").is_err());
    }
}
