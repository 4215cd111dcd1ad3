//! Shrinking: a failing scenario document made as small as it goes while it
//! still fails the same way (same verdict kind, same rule).
//!
//! Delta debugging over the steps first (drop faults and workload phases),
//! then nodes (drop a replica and everything naming it), then sizes (fewer
//! clients, dbs, families, keys, a shorter and slower workload), then
//! configuration (back to defaults), then times (earlier, shorter). Each
//! candidate is an ordinary scenario document: one the parser rejects
//! counts as "does not fail". Candidates are tried in a fixed order and
//! runs are deterministic, so the same failure shrinks to the same file;
//! the budget bounds the number of runs.

use serde_json::{json, Value};

use super::failure_rule;
use crate::scenario::Scenario;
use crate::sim::{run_seed_with, RunOptions, Verdict};

/// The result of shrinking.
#[derive(Debug, Clone)]
pub struct Shrunk {
    /// The smallest document found that fails the same way.
    pub document: Value,
    /// Its verdict.
    pub verdict: Verdict,
    /// How many runs shrinking took.
    pub runs: u32,
    /// Whether the budget ran out before no smaller candidate failed.
    pub exhausted: bool,
}

/// Sizes of a document, as reported: steps, nodes, and workload operations
/// (rate x duration, or `ops`, summed over workloads).
pub fn size_of(document: &Value) -> (usize, usize, u64) {
    let steps = document["steps"].as_array().map_or(0, Vec::len);
    let nodes = document["nodes"].as_object().map_or(0, |n| n.len());
    let ops = document["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.get("workload"))
        .map(|w| {
            if let Some(ops) = w["ops"].as_u64() {
                return ops;
            }
            // A client sends its first operation whatever the duration.
            let rate = w["rate"].as_f64().unwrap_or(1000.0);
            let ms = w["for"].as_str().and_then(parse_ms).unwrap_or(0);
            let clients = w["clients"].as_u64().unwrap_or(1);
            ((rate * ms as f64 / 1000.0).ceil() as u64).max(clients)
        })
        .sum();
    (steps, nodes, ops)
}

fn parse_ms(text: &str) -> Option<u64> {
    text.strip_suffix("ms").and_then(|n| n.parse().ok())
}

struct Shrinker<'a> {
    seed: u64,
    options: RunOptions,
    target: (&'static str, String),
    budget: u32,
    runs: u32,
    best: Value,
    best_verdict: Verdict,
    name: &'a str,
}

impl Shrinker<'_> {
    /// Whether `candidate` still fails the same way; keeps it if so.
    fn try_candidate(&mut self, candidate: Value) -> bool {
        if self.runs >= self.budget || candidate == self.best {
            return false;
        }
        let text = serde_json::to_string_pretty(&candidate).expect("JSON");
        let Ok(scenario) = Scenario::parse(self.name, &text) else {
            return false;
        };
        self.runs += 1;
        let report = run_seed_with(&scenario, self.seed, self.options);
        let same = report.verdict.name() == self.target.0
            && failure_rule(&report.verdict) == self.target.1;
        if same {
            self.best = candidate;
            self.best_verdict = report.verdict;
        }
        same
    }

    fn steps(&self) -> Vec<Value> {
        self.best["steps"].as_array().cloned().unwrap_or_default()
    }

    fn with_steps(&self, steps: Vec<Value>) -> Value {
        let mut candidate = self.best.clone();
        candidate["steps"] = Value::Array(steps);
        candidate
    }

    /// ddmin over the steps: remove chunks, finer and finer.
    fn shrink_steps(&mut self) {
        let mut chunks = 2usize;
        loop {
            let steps = self.steps();
            if steps.len() <= 1 || self.runs >= self.budget {
                return;
            }
            let size = steps.len().div_ceil(chunks);
            let mut removed_any = false;
            let mut start = 0;
            while start < self.steps().len() {
                let steps = self.steps();
                let end = (start + size).min(steps.len());
                let kept: Vec<Value> = steps[..start]
                    .iter()
                    .chain(&steps[end..])
                    .cloned()
                    .collect();
                if !kept.is_empty() && self.try_candidate(self.with_steps(kept)) {
                    removed_any = true;
                } else {
                    start = end;
                }
            }
            if removed_any {
                chunks = chunks.saturating_sub(1).max(2);
            } else if size == 1 {
                return;
            } else {
                chunks = (chunks * 2).min(self.steps().len());
            }
        }
    }

    /// Drops replicas one at a time, with every step that names them; a
    /// replica of a dropped node moves to the dropped node's master.
    fn shrink_nodes(&mut self) {
        let names: Vec<String> = self.best["nodes"]
            .as_object()
            .map(|n| n.keys().cloned().collect())
            .unwrap_or_default();
        for name in names.iter().rev() {
            let Some(master) = self.best["nodes"][name].get("replicaof").cloned() else {
                continue;
            };
            let mut candidate = self.best.clone();
            let nodes = candidate["nodes"].as_object_mut().expect("nodes");
            nodes.remove(name);
            for node in nodes.values_mut() {
                if node.get("replicaof").and_then(Value::as_str) == Some(name.as_str()) {
                    node["replicaof"] = master.clone();
                }
            }
            let quoted = format!("\"{name}\"");
            let steps: Vec<Value> = self
                .steps()
                .into_iter()
                .filter(|s| !s.to_string().contains(&quoted))
                .collect();
            candidate["steps"] = Value::Array(steps);
            self.try_candidate(candidate);
        }
    }

    /// Makes each workload smaller: one client, one db, fewer families,
    /// keys and value bytes, a shorter and slower run.
    fn shrink_workloads(&mut self) {
        let count = self.steps().len();
        for index in 0..count {
            if self.steps()[index].get("workload").is_none() {
                continue;
            }
            let edit = |shrinker: &mut Self, field: &str, value: Value| {
                let mut candidate = shrinker.best.clone();
                candidate["steps"][index]["workload"][field] = value;
                shrinker.try_candidate(candidate)
            };
            edit(self, "clients", json!(1));
            edit(self, "dbs", json!(1));
            edit(self, "value_size", json!("1..16"));
            edit(self, "readers", json!(0));
            let mix: Vec<Value> = self.steps()[index]["workload"]["mix"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for family in mix {
                let current: Vec<Value> = self.steps()[index]["workload"]["mix"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                if current.len() <= 1 {
                    break;
                }
                let fewer: Vec<Value> = current.into_iter().filter(|f| *f != family).collect();
                edit(self, "mix", Value::Array(fewer));
            }
            for field in ["for", "keys", "rate"] {
                for _ in 0..8 {
                    let current = &self.steps()[index]["workload"][field];
                    let halved = match current {
                        Value::String(text) => parse_ms(text)
                            .filter(|ms| *ms > 200)
                            .map(|ms| json!(format!("{}ms", ms / 2))),
                        Value::Number(n) => n
                            .as_u64()
                            .filter(|n| *n > 1)
                            .map(|n| json!(n / 2))
                            .or_else(|| n.as_f64().filter(|n| *n > 2.0).map(|n| json!(n / 2.0))),
                        _ => None,
                    };
                    let Some(value) = halved else { break };
                    if !edit(self, field, value) {
                        break;
                    }
                }
            }
        }
    }

    /// Drops each node's config parameters and `persist: false`, and the
    /// starting network's fields.
    fn shrink_config(&mut self) {
        let fields: Vec<String> = self.best["network"]
            .as_object()
            .map(|n| n.keys().cloned().collect())
            .unwrap_or_default();
        for field in fields {
            let mut candidate = self.best.clone();
            let document = candidate.as_object_mut().expect("document");
            if let Some(network) = document.get_mut("network").and_then(Value::as_object_mut) {
                network.remove(&field);
                if network.is_empty() {
                    document.remove("network");
                }
            }
            self.try_candidate(candidate);
        }
        let names: Vec<String> = self.best["nodes"]
            .as_object()
            .map(|n| n.keys().cloned().collect())
            .unwrap_or_default();
        for name in &names {
            let keys: Vec<String> = self.best["nodes"][name]["config"]
                .as_object()
                .map(|c| c.keys().cloned().collect())
                .unwrap_or_default();
            for key in keys {
                let mut candidate = self.best.clone();
                let node = candidate["nodes"][name].as_object_mut().expect("node");
                if let Some(config) = node.get_mut("config").and_then(Value::as_object_mut) {
                    config.remove(&key);
                    if config.is_empty() {
                        node.remove("config");
                    }
                }
                self.try_candidate(candidate);
            }
            if self.best["nodes"][name].get("persist").is_some() {
                let mut candidate = self.best.clone();
                candidate["nodes"][name]
                    .as_object_mut()
                    .expect("node")
                    .remove("persist");
                self.try_candidate(candidate);
            }
        }
    }

    /// Moves `at` times earlier and makes `for`/`after` durations shorter.
    fn shrink_times(&mut self) {
        let count = self.steps().len();
        for index in 0..count {
            for field in ["at", "after", "for"] {
                for _ in 0..6 {
                    let Some(ms) = self.steps()[index][field].as_str().and_then(parse_ms) else {
                        break;
                    };
                    if ms < 20 {
                        break;
                    }
                    let mut candidate = self.best.clone();
                    candidate["steps"][index][field] = json!(format!("{}ms", ms / 2));
                    if !self.try_candidate(candidate) {
                        break;
                    }
                }
            }
        }
    }
}

/// Shrinks `document`, which fails with `verdict` for `seed`, within
/// `budget` runs. `name` is the file name parse errors would carry.
pub fn shrink(
    document: &Value,
    seed: u64,
    verdict: &Verdict,
    options: RunOptions,
    budget: u32,
    name: &str,
) -> Shrunk {
    // The minimal file sits next to the full one, in a directory `run`
    // may load whole: it needs a name of its own.
    let mut start = document.clone();
    if let Some(name) = document["name"].as_str() {
        start["name"] = json!(format!("{name}-min"));
    }
    let mut shrinker = Shrinker {
        seed,
        options,
        target: (verdict.name(), failure_rule(verdict)),
        budget,
        runs: 0,
        best: start,
        best_verdict: verdict.clone(),
        name,
    };
    // Passes repeat while they make progress: a dropped node can make
    // steps droppable, a shorter workload can make a fault unnecessary.
    for _ in 0..3 {
        let before = shrinker.best.clone();
        shrinker.shrink_steps();
        shrinker.shrink_nodes();
        shrinker.shrink_workloads();
        shrinker.shrink_config();
        shrinker.shrink_times();
        if shrinker.best == before || shrinker.runs >= shrinker.budget {
            break;
        }
    }
    Shrunk {
        exhausted: shrinker.runs >= shrinker.budget,
        document: shrinker.best,
        verdict: shrinker.best_verdict,
        runs: shrinker.runs,
    }
}
