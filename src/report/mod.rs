//! Sweep reports: the JSON lines `run --json` and `explore --json` print,
//! from one machine or from many shards, merged into one summary (seeds
//! per scenario, verdicts, distinct failures with their replay commands,
//! throughput, lag figures where the lines carry them), as text or as an
//! HTML page with a chart per scenario.
//!
//! Merging is order-free: runs are keyed by scenario and seed, so shards
//! concatenated in any order, or a line given twice, summarise the same as
//! one unsharded sweep. The same seed with two different trace hashes is a
//! conflict (two builds, or a nondeterministic run) and is reported.
//!
//! # Layout
//!
//! - this file: the lines and their parsing, with typed errors.
//! - [`summary`]: merging lines into a [`Summary`](summary::Summary) and
//!   its text.
//! - [`page`]: the HTML page.

pub mod page;
pub mod summary;

use std::collections::BTreeMap;

use serde::Deserialize;

/// The verdict names a `--json` line may carry.
pub const VERDICTS: [&str; 5] = ["pass", "safety", "liveness", "expectation", "crash"];

/// One run as a `--json` line states it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RunLine {
    /// Scenario name (`explore-SEED` for a drawn scenario).
    pub scenario: String,
    /// Scenario file.
    pub file: String,
    /// The seed.
    pub seed: u64,
    /// One of [`VERDICTS`].
    pub verdict: String,
    /// The failure's lines (empty on a pass).
    #[serde(default)]
    pub failure: Vec<String>,
    /// Simulated time the run covered.
    pub simulated_ms: u64,
    /// Wall time it took.
    pub wall_ms: f64,
    /// The run's fingerprint.
    pub trace_hash: String,
    /// Bugs `explore --plant` planted (needed to replay it).
    #[serde(default)]
    pub plant: Vec<String>,
    /// Every number under a key that names lag, by its dotted path
    /// (`lag.r1.p99_ms`); empty when the line carries none.
    #[serde(skip)]
    pub lag: BTreeMap<String, f64>,
}

/// Why lines could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file could not be read.
    #[error("{file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A line is not JSON.
    #[error("{file}:{line}: not a JSON line of `run --json` or `explore --json`: {source}")]
    Json {
        /// The file.
        file: String,
        /// 1-based line number.
        line: usize,
        /// The parser's error.
        source: serde_json::Error,
    },
    /// A JSON line without the fields of a run.
    #[error("{file}:{line}: not a run of `run --json` or `explore --json`: {source}")]
    Shape {
        /// The file.
        file: String,
        /// 1-based line number.
        line: usize,
        /// What is missing or mistyped.
        source: serde_json::Error,
    },
    /// A verdict replsim never prints.
    #[error("{file}:{line}: unknown verdict '{verdict}' (known: pass, safety, liveness, expectation, crash)")]
    Verdict {
        /// The file.
        file: String,
        /// 1-based line number.
        line: usize,
        /// The verdict found.
        verdict: String,
    },
}

/// Collects every number under a key naming lag (`lag`, `lag_ms`,
/// `replica_lag`, ...) into `out`, by dotted path.
fn collect_lag(
    value: &serde_json::Value,
    path: &str,
    under_lag: bool,
    out: &mut BTreeMap<String, f64>,
) {
    match value {
        serde_json::Value::Number(n) if under_lag => {
            if let Some(n) = n.as_f64() {
                out.insert(path.to_string(), n);
            }
        }
        serde_json::Value::Object(map) => {
            for (key, inner) in map {
                let inner_path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                let lag = under_lag || key.to_ascii_lowercase().contains("lag");
                collect_lag(inner, &inner_path, lag, out);
            }
        }
        serde_json::Value::Array(items) if under_lag => {
            for (i, inner) in items.iter().enumerate() {
                collect_lag(inner, &format!("{path}.{i}"), true, out);
            }
        }
        _ => {}
    }
}

/// Parses the lines of `text` (from `file`, for errors); blank lines are
/// skipped.
pub fn parse_lines(file: &str, text: &str) -> Result<Vec<RunLine>, ReportError> {
    let mut runs = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value =
            serde_json::from_str(raw).map_err(|source| ReportError::Json {
                file: file.to_string(),
                line,
                source,
            })?;
        let mut run: RunLine =
            serde_json::from_value(value.clone()).map_err(|source| ReportError::Shape {
                file: file.to_string(),
                line,
                source,
            })?;
        if !VERDICTS.contains(&run.verdict.as_str()) {
            return Err(ReportError::Verdict {
                file: file.to_string(),
                line,
                verdict: run.verdict,
            });
        }
        collect_lag(&value, "", false, &mut run.lag);
        runs.push(run);
    }
    Ok(runs)
}

/// Reads and parses every file in `files` (`-` is standard input).
pub fn read_files(files: &[std::path::PathBuf]) -> Result<Vec<RunLine>, ReportError> {
    let mut runs = Vec::new();
    for path in files {
        let name = path.display().to_string();
        let text = if name == "-" {
            std::io::read_to_string(std::io::stdin())
        } else {
            std::fs::read_to_string(path)
        }
        .map_err(|source| ReportError::Read {
            file: name.clone(),
            source,
        })?;
        runs.extend(parse_lines(&name, &text)?);
    }
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"scenario":"auth","file":"scenarios/auth.json","seed":3,"verdict":"pass","failure":[],"simulated_ms":13164,"wall_ms":3.2,"trace_hash":"ab"}"#;

    #[test]
    fn a_run_line_parses_with_its_lag_figures() {
        let with_lag = LINE.replace(
            r#""trace_hash":"ab""#,
            r#""trace_hash":"ab","lag":{"r1":{"p50_ms":2,"p99_ms":7.5}},"max_lag_ms":9"#,
        );
        let runs = parse_lines("f", &format!("{LINE}\n\n{with_lag}\n")).unwrap();
        assert_eq!(runs.len(), 2);
        assert!(runs[0].lag.is_empty());
        assert_eq!(runs[1].seed, 3);
        let lag: Vec<(&str, f64)> = runs[1].lag.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(
            lag,
            [
                ("lag.r1.p50_ms", 2.0),
                ("lag.r1.p99_ms", 7.5),
                ("max_lag_ms", 9.0)
            ]
        );
    }

    #[test]
    fn bad_lines_are_errors_naming_file_and_line() {
        let text = format!("{LINE}\nFAIL auth seed 3");
        let error = parse_lines("shard-1.jsonl", &text).unwrap_err();
        assert!(matches!(error, ReportError::Json { line: 2, .. }));
        assert!(error.to_string().starts_with("shard-1.jsonl:2: "));
        let error = parse_lines("f", r#"{"scenario":"auth"}"#).unwrap_err();
        assert!(
            matches!(error, ReportError::Shape { line: 1, .. }),
            "{error}"
        );
        let error = parse_lines("f", &LINE.replace("\"pass\"", "\"maybe\"")).unwrap_err();
        assert!(matches!(error, ReportError::Verdict { .. }), "{error}");
    }
}
