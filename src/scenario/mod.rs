//! Scenario files: the strict JSON format that scripts a simulation's
//! topology, traffic and faults, its parser and validator, and loading
//! files and directories of them.
//!
//! A scenario is read in three passes, each failing with a
//! [`ScenarioError`] that names the file, the JSON path, the line:column and
//! what was expected (bad input is never a panic):
//!
//! 1. serde_json checks the syntax (its line:column for syntax errors);
//! 2. a span recorder reads the text again into a tree that keeps, for
//!    every value and every key, its position and member order;
//! 3. a hand-written conversion reads that tree into the [`model`], rejecting
//!    unknown keys, wrong types, malformed durations and ranges, unknown
//!    nodes, and — walking the steps in file order while tracking each
//!    node's state and the replication topology — steps that cannot happen.
//!
//! # The format
//!
//! ```json
//! {
//!   "name": "chain-middle-restart",
//!   "about": "m -> r1 -> r2; r1 crashes under write load and comes back",
//!   "seeds": 32,
//!   "regressions": [17, 4051],
//!   "liveness": "60s",
//!   "network": { "latency": "1ms..10ms", "loss": 0.0 },
//!   "nodes": {
//!     "m":  { "config": { "repl-backlog-size": "64kb" } },
//!     "r1": { "replicaof": "m", "persist": true },
//!     "r2": { "replicaof": "r1" }
//!   },
//!   "steps": [
//!     { "await": "linked", "timeout": "30s" },
//!     { "workload": { "on": "m", "ops": 5000, "for": "3s" }, "background": true },
//!     { "at": "0.5s..1.5s", "crash": "r1" },
//!     { "after": "1s..4s", "restart": "r1" },
//!     { "command": { "on": "r2", "args": ["SET", "x", "1"] }, "expect": { "error": "READONLY" } },
//!     { "await": "converged", "timeout": "60s" },
//!     { "check": { "on": "r1", "partial_syncs": ">= 1", "full_syncs": 1 } }
//!   ]
//! }
//! ```
//!
//! The full reference is docs/scenarios.md; its field lists and the JSON
//! Schema ([`json_schema`]) come from the same [`vocabulary`] the parser
//! uses.
//!
//! - Top level: `name` (required, `[a-z0-9-]+`), `about`, `$schema`
//!   (ignored), `seeds` (default
//!   16), `regressions`, `liveness` (default `"60s"`), `network` (`latency`
//!   default `"1ms..5ms"`, `loss` in `[0, 1)` default 0), `nodes` (required,
//!   at least one, names `[a-z][a-z0-9_-]*`, kept in file order), `steps`
//!   (required, may be empty).
//! - Node: `replicaof` (an existing other node; no cycles), `config` (Redis
//!   parameters from [`CONFIG_PARAMETERS`]; strings, numbers, or booleans
//!   as `yes`/`no`), `persist` (default true).
//! - Durations always have a unit: `"250ms"`, `"1.5s"`, `"2m"`; a range is
//!   `"A..B"` with `A <= B`. Integer ranges are a JSON integer or `"A..B"`.
//! - A step has exactly one action — `sleep`, `await`, `workload`,
//!   `command`, `cut`, `partition`, `heal`, `network`, `throttle`, `stall`,
//!   `crash`, `restart`, `pause`, `resume`, `replicaof`, `check` — and
//!   optionally `at` or `after`; `background` (workload), `timeout` (await,
//!   required there), `expect` (command), `for` (partition, pause,
//!   throttle, stall), `lose_unsynced` and `fin` (crash).
//! - Steps run in file order. A `pause` or `partition` with `for` ends by
//!   itself: the validator treats such a node as running afterwards, and
//!   rejects an explicit `resume` of it.
//!
//! # Layout
//!
//! - [`model`]: the validated scenario the runner consumes.
//! - `error`: [`ScenarioError`] and [`ErrorKind`].
//! - `json`: the span recorder (positions of every value and key).
//! - `values`: durations, integer ranges, counts, "did you mean".
//! - `convert`: the tree-to-model conversion: reading helpers, top level,
//!   nodes.
//! - `steps`: steps and their actions, with the static walk.
//! - `timeline`: node states and topology along the steps.

mod bound;
mod convert;
mod error;
mod json;
pub mod model;
mod schema;
mod steps;
mod timeline;
mod values;
mod vocab;

use std::path::{Path, PathBuf};

pub use bound::{MAX_SIMULATED_TIME, RUN_SLACK, STEP_SLACK};
pub use convert::{CLIENTS_HOST, CONFIG_PARAMETERS};
pub use error::{ErrorKind, ScenarioError};
pub use model::{
    Action, AwaitCondition, CheckSpec, CmpOp, CountCheck, DisplayDuration, DurationCheck,
    DurationRange, Expect, InfoExpect, IntRange, LossBounds, NetworkSpec, NodeConf, NodeSpec,
    Scenario, SentinelSpec, Step, WorkloadKind, WorkloadSpec,
};
pub use schema::{json_schema, json_schema_text};
pub use vocab::{vocabulary, ObjectKind};

use json::Pos;

impl Scenario {
    /// Parses and validates the scenario in `text`; `file` is the name
    /// errors show.
    pub fn parse(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
        parse_with_name_pos(file, text).map(|(scenario, _)| scenario)
    }

    /// Reads the file at `path` and parses it; errors show `path` as given.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        load_with_name_pos(path).map(|(scenario, _)| scenario)
    }
}

/// Parses `text`, also returning where the `name` value is (for errors about
/// names across files).
fn parse_with_name_pos(file: &str, text: &str) -> Result<(Scenario, Pos), ScenarioError> {
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
        return Err(syntax_error(file, text, &e));
    }
    let root = json::parse(text).map_err(|(pos, message)| {
        ScenarioError::new(
            file,
            "",
            pos.pair(),
            ErrorKind::Syntax,
            format!("invalid JSON: {message}"),
        )
    })?;
    convert::Cx::new(file).scenario(&root)
}

fn syntax_error(file: &str, text: &str, e: &serde_json::Error) -> ScenarioError {
    let message = json::without_position(e);
    let position = if e.line() == 0 {
        (0, 0)
    } else {
        (e.line(), json::char_column(text, e.line(), e.column()))
    };
    ScenarioError::new(
        file,
        "",
        position,
        ErrorKind::Syntax,
        format!("invalid JSON: {message}"),
    )
}

fn io_error(path: &Path, doing: &str, e: &std::io::Error) -> ScenarioError {
    ScenarioError::new(
        &path.display().to_string(),
        "",
        (0, 0),
        ErrorKind::Io,
        format!("cannot {doing}: {e}"),
    )
}

fn load_with_name_pos(path: &Path) -> Result<(Scenario, Pos), ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|e| io_error(path, "read the file", &e))?;
    parse_with_name_pos(&path.display().to_string(), &text)
}

/// The `*.json` files directly in `dir`, sorted by file name.
fn json_files(dir: &Path) -> Result<Vec<PathBuf>, ScenarioError> {
    let entries = std::fs::read_dir(dir).map_err(|e| io_error(dir, "read the directory", &e))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| io_error(dir, "read the directory", &e))?;
        let path = entry.path();
        if path.extension().is_some_and(|ext| ext == "json") && path.is_file() {
            files.push(path);
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}

/// Loads every `*.json` file directly in `dir`, sorted by file name; two
/// scenarios with the same name are an error.
pub fn load_dir(dir: &Path) -> Result<Vec<Scenario>, ScenarioError> {
    load_all(json_files(dir)?)
}

/// Loads scenarios from files and directories (each directory as by
/// [`load_dir`]), in the order given; the same file reached twice is loaded
/// once, and two scenarios with the same name are an error.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<Scenario>, ScenarioError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            files.extend(json_files(path)?);
        } else {
            files.push(path.clone());
        }
    }
    load_all(files)
}

fn load_all(files: Vec<PathBuf>) -> Result<Vec<Scenario>, ScenarioError> {
    let mut seen_files: Vec<PathBuf> = Vec::new();
    let mut scenarios: Vec<Scenario> = Vec::new();
    for file in files {
        // Missing files fail in `load` below with their own message.
        let canonical = std::fs::canonicalize(&file).unwrap_or_else(|_| file.clone());
        if seen_files.contains(&canonical) {
            continue;
        }
        seen_files.push(canonical);
        let (scenario, name_pos) = load_with_name_pos(&file)?;
        if let Some(first) = scenarios.iter().find(|s| s.name == scenario.name) {
            return Err(ScenarioError::new(
                &scenario.file,
                "name",
                name_pos.pair(),
                ErrorKind::Value,
                format!(
                    "scenario name '{}' is already used by {}",
                    scenario.name, first.file
                ),
            )
            .with_hint("scenario names must be unique within a run"));
        }
        scenarios.push(scenario);
    }
    Ok(scenarios)
}
