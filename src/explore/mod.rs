//! Explore: seeded swarm runs that find what nobody scripted.
//!
//! For each seed the generator ([`generate`]) draws a whole run (topology,
//! configuration, a swarm-tested workload, faults at seeded times) as an
//! ordinary scenario document, within the bounds of a [`Profile`]. The
//! document is parsed like any hand-written file and played by the same
//! runner and checker, so a failing run saved to a file replays with the
//! same trace hash. Failures shrink ([`shrink`]) to a minimal scenario that
//! fails the same way.

pub mod generate;
pub mod profile;
pub mod shrink;

use serde_json::Value;

pub use profile::{FaultKind, Profile, ProfileError};

use crate::scenario::Scenario;
use crate::sim::Verdict;

/// A document as its file holds it: pretty JSON ending in a newline.
pub fn document_text(document: &Value) -> String {
    let mut text = serde_json::to_string_pretty(document).expect("a JSON document");
    text.push('\n');
    text
}

/// The run drawn from `seed`: its document and the scenario parsed from
/// the document's text under the file name `file`.
pub fn scenario_of(seed: u64, profile: &Profile, file: &str) -> (Value, Scenario) {
    let document = generate::generate(seed, profile);
    let scenario = Scenario::parse(file, &document_text(&document)).unwrap_or_else(|error| {
        panic!("the generator drew a scenario the parser refuses: {error}")
    });
    (document, scenario)
}

/// Which rule a failure broke, so that shrinking keeps failures of the same
/// kind: the first known rule phrase in its lines, else the whole first
/// line's kind of failure.
pub fn failure_rule(verdict: &Verdict) -> String {
    const RULES: &[&str] = &[
        "holding different data",
        "never stood at",
        "which no master generated",
        "applied only up to",
        "replicas held that data",
        "started history",
        "without anything in its replication stream",
        "answered",
        "passed its master",
        "accepted on a read-only replica",
        "read-only replica",
        "acknowledged write lost",
        "nondeterminism",
        "did not converge",
        "not converged",
        "not satisfied",
        "panic",
    ];
    let lines = verdict.details();
    RULES
        .iter()
        .find(|rule| lines.iter().any(|l| l.contains(*rule)))
        .map_or_else(|| verdict.name().to_string(), |rule| rule.to_string())
}

/// `dir/explore-SEED.json`'s minimal twin: `dir/explore-SEED.min.json`.
pub fn min_path(path: &std::path::Path) -> std::path::PathBuf {
    let stem = path
        .file_stem()
        .map_or("scenario".into(), |s| s.to_string_lossy().into_owned());
    path.with_file_name(format!("{stem}.min.json"))
}
