//! redis.conf files and redis-server's command line, read as Redis 7.0 reads
//! them: one directive a line, `#` comments, words split as `sdssplitargs`
//! splits them (double quotes with `\xHH` escapes, single quotes),
//! `include` of other files at the point it appears, later lines winning,
//! and `--name value` arguments appended after the file as further lines.
//! A bad line stops the start with Redis's report (`*** FATAL CONFIG FILE
//! ERROR ***`, the line number, the line, the reason).

use std::path::Path;

use super::config::Config;
use super::config_table;

/// Why a configuration could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfFileError {
    /// A line is wrong: Redis's report, printed as it prints it.
    #[error(
        "\n*** FATAL CONFIG FILE ERROR (Redis {version}) ***\nReading the configuration file, at line {line}\n>>> '{text}'\n{reason}",
        version = crate::REDIS_COMPAT_VERSION
    )]
    BadLine {
        /// 1-based line number in the file being read (for command-line
        /// arguments, counted after the file's lines, as Redis counts).
        line: usize,
        /// The line as written (trimmed).
        text: String,
        /// Redis's reason.
        reason: String,
    },
    /// A file (the main one or an `include`) cannot be read.
    #[error("Fatal error, can't open config file '{path}': {reason}")]
    Open {
        /// The path as given.
        path: String,
        /// The system's reason.
        reason: String,
    },
}

/// Turns redis-server style arguments (`--port 6380 --save "" --replicaof
/// host 6379`) into config lines as Redis 7.0 does: a `--name` starts a
/// line, and the words after it are appended quoted. A `--name` alone
/// takes the next word as its value even when that word starts with `--`
/// (`--port --loglevel verbose` sets `port` to two words), except that a
/// `--save` followed by an option or by nothing gets an empty value.
/// `--name value` in one argument is a name with its value.
pub fn options_to_lines(args: &[String]) -> String {
    let mut text = String::new();
    // Whether the last option has its value (a new `--name` may start).
    let mut option_done = true;
    for (index, arg) in args.iter().enumerate() {
        let Some(name) = arg.strip_prefix("--").filter(|_| option_done) else {
            text.push_str(&quote(arg));
            text.push(' ');
            option_done = true;
            continue;
        };
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(name);
        text.push(' ');
        let alone = split_words(arg).is_some_and(|words| words.len() == 1);
        option_done = !alone;
        if alone && arg.eq_ignore_ascii_case("--save") {
            match args.get(index + 1) {
                Some(next) if next.starts_with("--") => {
                    text.push_str("\"\"");
                    option_done = true;
                }
                None => text.push_str("\"\""),
                Some(_) => {}
            }
        }
    }
    text
}

/// Quotes a word as `sdscatrepr` does, so that `split_words` gives it back.
pub(super) fn quote(word: &str) -> String {
    super::monitor::repr(word.as_bytes())
}

/// Splits one line into words like `sdssplitargs`; None on unbalanced
/// quotes.
pub(crate) fn split_words(line: &str) -> Option<Vec<String>> {
    let mut bytes = Vec::new();
    let mut ranges = Vec::new();
    if !crate::resp::split_inline_args(line.as_bytes(), &mut bytes, &mut ranges) {
        return None;
    }
    Some(
        ranges
            .into_iter()
            .map(|(start, end)| String::from_utf8_lossy(&bytes[start..end]).into_owned())
            .collect(),
    )
}

/// Reads the file at `path` (if any) followed by the redis-server style
/// `options` into `config`, in order, later lines overriding earlier ones.
pub fn load(
    config: &mut Config,
    path: Option<&Path>,
    options: &[String],
) -> Result<(), ConfFileError> {
    let mut text = match path {
        Some(path) => read(path)?,
        None => String::new(),
    };
    text.push('\n');
    text.push_str(&options_to_lines(options));
    apply(config, &text, 0)
}

fn read(path: &Path) -> Result<String, ConfFileError> {
    std::fs::read(path)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .map_err(|e| ConfFileError::Open {
            path: path.display().to_string(),
            reason: e
                .to_string()
                .split(" (os error")
                .next()
                .unwrap_or_default()
                .to_string(),
        })
}

/// Directives Redis 7.0 still accepts and ignores: name, and the range of
/// words (the name included) it accepts them with.
const DEPRECATED: &[(&str, usize, usize)] = &[
    ("list-max-ziplist-entries", 2, 2),
    ("list-max-ziplist-value", 2, 2),
    ("lua-replicate-commands", 2, 2),
];

/// How deep `include` may nest before a file is taken to include itself.
const MAX_INCLUDE_DEPTH: usize = 16;

/// Applies the lines of `text` to `config`.
pub fn apply(config: &mut Config, text: &str, depth: usize) -> Result<(), ConfFileError> {
    apply_in(config, text, depth, None, &mut Loading::default())
}

/// What one load of a config file remembers across its lines and includes.
#[derive(Default)]
struct Loading {
    /// A `save` line was read: the first one replaces the default save
    /// points, later ones add theirs, as Redis reads them.
    saw_save: bool,
}

/// [`apply`] for a file that lives in `dir`: its relative `include` paths
/// are resolved against `dir` rather than the process's directory (a
/// simulated node has no directory of its own).
pub fn apply_from(config: &mut Config, text: &str, dir: &Path) -> Result<(), ConfFileError> {
    apply_in(config, text, 0, Some(dir), &mut Loading::default())
}

fn apply_in(
    config: &mut Config,
    text: &str,
    depth: usize,
    dir: Option<&Path>,
    loading: &mut Loading,
) -> Result<(), ConfFileError> {
    for (index, raw) in text.split('\n').enumerate() {
        let line = raw.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fail = |reason: &str| ConfFileError::BadLine {
            line: index + 1,
            text: line.to_string(),
            reason: reason.to_string(),
        };
        let words =
            split_words(line).ok_or_else(|| fail("Unbalanced quotes in configuration line"))?;
        let Some((name, args)) = words.split_first() else {
            continue;
        };
        let name = name.to_ascii_lowercase();
        if name == "include" && args.len() == 1 {
            if depth >= MAX_INCLUDE_DEPTH {
                return Err(fail(
                    "include nested too deeply (does a file include itself?)",
                ));
            }
            let target = match dir {
                Some(dir) => dir.join(&args[0]),
                None => Path::new(&args[0]).to_path_buf(),
            };
            let included = read(&target)?;
            let next_dir = dir.map(|_| target.parent().unwrap_or(Path::new("")).to_path_buf());
            apply_in(config, &included, depth + 1, next_dir.as_deref(), loading)?;
            continue;
        }
        let canonical = config_table::canonical(&name);
        let known = DEPRECATED.iter().any(|(n, _, _)| *n == name)
            || config_table::spec(&name).is_some()
            || config_table::SPECIAL
                .iter()
                .any(|(n, _, _)| *n == canonical)
            || config_table::MULTI_ARG.contains(&canonical)
            || config
                .get_matching(&[canonical.as_bytes()])
                .iter()
                .any(|(n, _)| *n == canonical);
        if !known {
            return Err(fail("Bad directive or wrong number of arguments"));
        }
        let multi_arg = config_table::MULTI_ARG.contains(&canonical);
        if DEPRECATED
            .iter()
            .any(|(n, min, max)| *n == name && (*min..=*max).contains(&words.len()))
        {
            // Accepted and ignored, as Redis 7.0 does.
            continue;
        }
        // Multi-word parameters take any number of words (`save` alone
        // clears the save points).
        if !multi_arg && args.len() != 1 {
            return Err(fail("wrong number of arguments"));
        }
        let mut value = args.join(" ");
        if canonical == "save" {
            let earlier = if loading.saw_save {
                config
                    .get_matching(&[b"save"])
                    .into_iter()
                    .next()
                    .map(|(_, v)| v)
            } else {
                None
            };
            loading.saw_save = true;
            if let Some(earlier) = earlier.filter(|e| !e.is_empty() && !value.is_empty()) {
                value = format!("{earlier} {value}");
            }
        }
        config
            .set_startup(canonical, &value)
            .map_err(|e| fail(&startup_reason(e)))?;
    }
    Ok(())
}

/// The reason part of a [`super::config::ConfigError`], as Redis words it in
/// a config file report (without CONFIG SET's prefix).
fn startup_reason(error: super::config::ConfigError) -> String {
    use super::config::ConfigError;
    match error {
        ConfigError::Invalid { reason, .. } => reason,
        ConfigError::Unknown(_) => "Bad directive or wrong number of arguments".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str, options: &[&str]) -> Result<Config, ConfFileError> {
        let mut config = Config::default();
        let options: Vec<String> = options.iter().map(|s| s.to_string()).collect();
        let mut all = text.to_string();
        all.push('\n');
        all.push_str(&options_to_lines(&options));
        apply(&mut config, &all, 0)?;
        Ok(config)
    }

    #[test]
    fn shutdown_flags_take_several_words_as_redis_writes_them() {
        let config = load_text("shutdown-on-sigterm nosave now\n", &[]).unwrap();
        assert_eq!(
            config.get_matching(&[b"shutdown-on-sigterm"])[0].1,
            "nosave now"
        );
        assert!(load_text("shutdown-on-sigterm save nosave\n", &[]).is_err());
    }

    #[test]
    fn save_lines_add_up_after_the_first_replaces_the_defaults() {
        let config = load_text("save 3600 1\nsave 300 100\n", &[]).unwrap();
        assert_eq!(config.save, "3600 1 300 100");
        let config = load_text("save 3600 1\nsave \"\"\nsave 60 5\n", &[]).unwrap();
        assert_eq!(config.save, "60 5");
        let config = load_text("hz 20\n", &[]).unwrap();
        assert_eq!(config.save, Config::default().save);
    }

    #[test]
    fn later_lines_and_command_line_options_win() {
        let config = load_text("port 6380\nhz 20\nport 6381\n", &["--hz", "30"]).unwrap();
        assert_eq!(config.port, 6381);
        assert_eq!(config.hz, 30);
    }

    #[test]
    fn quotes_escapes_and_old_slave_names_are_understood() {
        let config = load_text(
            "requirepass \"a b\\x41\"\nmasterauth 'it\\'s'\nslave-serve-stale-data no\nslaveof 10.0.0.1 6379\nsave \"\"\n",
            &[],
        )
        .unwrap();
        assert_eq!(config.requirepass.as_deref(), Some(&b"a bA"[..]));
        assert_eq!(config.masterauth.as_deref(), Some(&b"it's"[..]));
        assert!(!config.replica_serve_stale_data);
        assert_eq!(config.replicaof, Some(("10.0.0.1".into(), 6379)));
        assert_eq!(config.save, "");
    }

    #[test]
    fn inert_parameters_are_checked_and_kept() {
        let config = load_text(
            "zset-max-ziplist-entries 64\nloglevel verbose\nappendfsync always\nmaxmemory 1mb\n",
            &[],
        )
        .unwrap();
        assert_eq!(config.number("zset-max-listpack-entries"), 64);
        assert_eq!(config.others["maxmemory"], "1048576");
        assert_eq!(config.loglevel, "verbose");
    }

    #[test]
    fn bad_lines_are_reported_as_redis_reports_them() {
        let cases = [
            (
                "# c\n\nfoo bar\n",
                &[][..],
                3,
                "foo bar",
                "Bad directive or wrong number of arguments",
            ),
            (
                "port abc\n",
                &[],
                1,
                "port abc",
                "argument couldn't be parsed into an integer",
            ),
            ("hz 1 2\n", &[], 1, "hz 1 2", "wrong number of arguments"),
            (
                "loglevel foo\n",
                &[],
                1,
                "loglevel foo",
                "argument(s) must be one of the following: debug, verbose, notice, warning",
            ),
            (
                "port \"unbal\n",
                &[],
                1,
                "port \"unbal",
                "Unbalanced quotes in configuration line",
            ),
            (
                "port 7781\n",
                &["--foo", "bar"],
                3,
                "foo \"bar\"",
                "Bad directive or wrong number of arguments",
            ),
            (
                "port 7781\n",
                &["--port", "1", "2"],
                3,
                "port \"1\" \"2\"",
                "wrong number of arguments",
            ),
            // A name alone takes the next words as its value, options or not.
            (
                "port 7781\n",
                &["--port", "--loglevel", "verbose"],
                3,
                "port \"--loglevel\" \"verbose\"",
                "wrong number of arguments",
            ),
            (
                "port 7781\n",
                &["--port", "--bla", "--loglevel", "verbose"],
                3,
                "port \"--bla\"",
                "argument couldn't be parsed into an integer",
            ),
            (
                "port 7781\n",
                &["--logfile", "--my--log--file", "--loglevel", "--bla"],
                4,
                "loglevel \"--bla\"",
                "argument(s) must be one of the following: debug, verbose, notice, warning",
            ),
            (
                "port 7781\n",
                &["--port"],
                3,
                "port",
                "wrong number of arguments",
            ),
        ];
        for (text, options, line, shown, reason) in cases {
            let err = load_text(text, options).unwrap_err();
            assert_eq!(
                err,
                ConfFileError::BadLine {
                    line,
                    text: shown.into(),
                    reason: reason.into()
                },
                "{text:?}"
            );
        }
        let printed = load_text("foo bar\n", &[]).unwrap_err().to_string();
        assert_eq!(
            printed,
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 1\n>>> 'foo bar'\nBad directive or wrong number of arguments"
        );
    }

    #[test]
    fn words_before_any_option_and_names_with_their_values_read_as_redis_reads_them() {
        let config = load_text(
            "port 7781\n",
            &[
                "loglevel",
                "verbose",
                "--maxmemory '700mb'",
                "--proc-title-template",
                "--my--title",
            ],
        )
        .unwrap();
        assert_eq!(config.loglevel, "verbose");
        assert_eq!(config.others["maxmemory"], "734003200");
        assert_eq!(config.others["proc-title-template"], "--my--title");
    }

    #[test]
    fn save_alone_before_an_option_or_at_the_end_is_an_empty_save() {
        for options in [
            &["--save", "--port", "7000"][..],
            &["--port", "7000", "--save"],
        ] {
            let options: Vec<String> = options.iter().map(|s| s.to_string()).collect();
            let lines = options_to_lines(&options);
            assert!(lines.contains("save \"\""), "{lines:?}");
            assert!(lines.contains("port \"7000\""), "{lines:?}");
        }
    }

    #[test]
    fn include_reads_another_file_in_place() {
        let dir = std::env::temp_dir().join(format!("replsim-conf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let base = dir.join("base.conf");
        std::fs::write(&base, "port 6379\ndbfilename dump.rdb\nhz 15\n").unwrap();
        let main = dir.join("6380.conf");
        std::fs::write(
            &main,
            format!(
                "include {}\nport 6380\ndbfilename dump6380.rdb\n",
                base.display()
            ),
        )
        .unwrap();
        let mut config = Config::default();
        load(&mut config, Some(&main), &[]).unwrap();
        assert_eq!(
            (config.port, config.dbfilename.as_str(), config.hz),
            (6380, "dump6380.rdb", 15)
        );
        let missing = dir.join("missing.conf");
        let err = load(&mut Config::default(), Some(&missing), &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "Fatal error, can't open config file '{}': No such file or directory",
                missing.display()
            )
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
