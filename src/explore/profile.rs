//! What explore may draw: a profile file narrows or widens the generator in
//! the vocabulary of scenario files (ranges like `"1..6"`, durations like
//! `"5s..20s"`, workload families and fault kinds by name).
//!
//! ```json
//! { "replicas": "1..3", "max_depth": 1, "duration": "5s..10s",
//!   "events": "1..4", "mix": ["strings", "multi"], "faults": ["cut", "crash"] }
//! ```
//!
//! Every field is optional; a missing one keeps the default (1 to 6
//! replicas, chains up to 3 deep, a 5 s to 20 s workload, 2 to 10 fault
//! events, every family and every fault kind, no Sentinels). `"sentinels":
//! "1..5"` adds a Sentinel group watching the master (quorum drawn), clients
//! that follow the master through it or stay on the old one, and faults
//! that isolate the master or take a Sentinel down.

use std::time::Duration;

use serde::Deserialize;

use crate::scenario::{IntRange, WorkloadKind};

/// A kind of fault the generator can draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FaultKind {
    /// `cut`: close the connections between two nodes.
    Cut,
    /// `partition` both ways, for a while.
    Partition,
    /// `partition` one way, for a while.
    PartitionOneway,
    /// `pause` a node for a while.
    Pause,
    /// `crash` a node, then `restart` it.
    Crash,
    /// `crash` losing what was not synced to disk, then `restart`.
    CrashLosingUnsynced,
    /// `crash` of a host that loses power (no FIN reaches its peers), then
    /// `restart`.
    CrashWithoutFin,
    /// `network`: new latency and loss.
    Network,
    /// `replicaof` a replica to another node (never a cycle).
    Repoint,
    /// `replicaof` NO ONE on a replica, the others re-pointed to it.
    Promote,
    /// SAVE or BGSAVE on a node.
    Save,
    /// CONFIG SET repl-backlog-size on a node.
    BacklogResize,
    /// `throttle` the link between two nodes, for a while.
    Throttle,
    /// `stall` a node's reading from another, for a while.
    Stall,
    /// `clock`: a node's wall clock jumps or drifts.
    Clock,
    /// `disk`: a node's disk is full or fails every write, for a while.
    Disk,
}

impl FaultKind {
    /// Every kind.
    pub const ALL: [FaultKind; 16] = [
        FaultKind::Cut,
        FaultKind::Partition,
        FaultKind::PartitionOneway,
        FaultKind::Pause,
        FaultKind::Crash,
        FaultKind::CrashLosingUnsynced,
        FaultKind::CrashWithoutFin,
        FaultKind::Network,
        FaultKind::Repoint,
        FaultKind::Promote,
        FaultKind::Save,
        FaultKind::BacklogResize,
        FaultKind::Throttle,
        FaultKind::Stall,
        FaultKind::Clock,
        FaultKind::Disk,
    ];

    /// The kind's name in a profile.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Cut => "cut",
            FaultKind::Partition => "partition",
            FaultKind::PartitionOneway => "partition-oneway",
            FaultKind::Pause => "pause",
            FaultKind::Crash => "crash",
            FaultKind::CrashLosingUnsynced => "crash-losing-unsynced",
            FaultKind::CrashWithoutFin => "crash-without-fin",
            FaultKind::Network => "network",
            FaultKind::Repoint => "repoint",
            FaultKind::Promote => "promote",
            FaultKind::Save => "save",
            FaultKind::BacklogResize => "backlog-resize",
            FaultKind::Throttle => "throttle",
            FaultKind::Stall => "stall",
            FaultKind::Clock => "clock",
            FaultKind::Disk => "disk",
        }
    }

    /// The kind named `name`.
    pub fn from_name(name: &str) -> Option<FaultKind> {
        FaultKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// The generator's bounds.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// How many replicas (at least 1).
    pub replicas: IntRange,
    /// How deep chains go (1: every replica under the master).
    pub max_depth: u64,
    /// How long the workload runs, in ms.
    pub duration_ms: IntRange,
    /// How many fault events.
    pub events: IntRange,
    /// Workload families the generator picks its subset from.
    pub mix: Vec<WorkloadKind>,
    /// Fault kinds the generator switches on or off per seed.
    pub faults: Vec<FaultKind>,
    /// How many Sentinels watch the master (none by default, so that every
    /// seed drawn before Sentinels existed still draws the same run).
    pub sentinels: IntRange,
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            replicas: IntRange { min: 1, max: 6 },
            max_depth: 3,
            duration_ms: IntRange {
                min: 5_000,
                max: 20_000,
            },
            events: IntRange { min: 2, max: 10 },
            // Streams, scripts and pub/sub came after the other families:
            // a profile names them (`"mix": [..., "streams"]`), so that
            // every seed drawn before they existed still draws the same run.
            mix: WorkloadKind::ALL
                .into_iter()
                .filter(|k| {
                    !matches!(
                        k,
                        WorkloadKind::Streams | WorkloadKind::Scripts | WorkloadKind::Pubsub
                    )
                })
                .collect(),
            faults: FaultKind::ALL.to_vec(),
            sentinels: IntRange { min: 0, max: 0 },
        }
    }
}

/// A profile that cannot be used, with what was expected.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// Not JSON, or a field of the wrong shape or unknown.
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    /// A field with a value out of its domain.
    #[error("`{field}`: {message}")]
    Value {
        /// The field.
        field: &'static str,
        /// What was expected.
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    replicas: Option<String>,
    max_depth: Option<u64>,
    duration: Option<String>,
    events: Option<String>,
    mix: Option<Vec<String>>,
    faults: Option<Vec<String>>,
    sentinels: Option<String>,
}

fn int_range(text: &str) -> Option<IntRange> {
    let (min, max) = match text.split_once("..") {
        Some((a, b)) => (a.trim().parse().ok()?, b.trim().parse().ok()?),
        None => {
            let n = text.trim().parse().ok()?;
            (n, n)
        }
    };
    (min <= max).then_some(IntRange { min, max })
}

fn duration_ms(text: &str) -> Option<u64> {
    let text = text.trim();
    let (number, unit) = text.split_at(text.find(|c: char| c.is_ascii_alphabetic())?);
    let value: f64 = number.parse().ok()?;
    let scale = match unit {
        "ms" => 1.0,
        "s" => 1_000.0,
        "m" => 60_000.0,
        _ => return None,
    };
    let ms = value * scale;
    (ms.is_finite() && ms >= 0.0).then(|| Duration::from_secs_f64(ms / 1000.0).as_millis() as u64)
}

impl Profile {
    /// Parses a profile file's text.
    pub fn parse(text: &str) -> Result<Profile, ProfileError> {
        let file: ProfileFile = serde_json::from_str(text)?;
        let mut profile = Profile::default();
        if let Some(text) = file.replicas {
            profile.replicas = int_range(&text)
                .filter(|r| r.min >= 1 && r.max <= 16)
                .ok_or(ProfileError::Value {
                    field: "replicas",
                    message: format!("expected a range like \"1..6\" within 1..16, got {text:?}"),
                })?;
        }
        if let Some(depth) = file.max_depth {
            if depth == 0 {
                return Err(ProfileError::Value {
                    field: "max_depth",
                    message: "expected a depth of at least 1".into(),
                });
            }
            profile.max_depth = depth;
        }
        if let Some(text) = file.duration {
            let parsed = match text.split_once("..") {
                Some((a, b)) => duration_ms(a).zip(duration_ms(b)),
                None => duration_ms(&text).map(|d| (d, d)),
            };
            profile.duration_ms = parsed
                .filter(|(a, b)| a <= b && *a >= 1_000 && *b <= 600_000)
                .map(|(min, max)| IntRange { min, max })
                .ok_or(ProfileError::Value {
                    field: "duration",
                    message: format!(
                        "expected a duration range like \"5s..20s\" within 1s..10m, got {text:?}"
                    ),
                })?;
        }
        if let Some(text) = file.events {
            profile.events =
                int_range(&text)
                    .filter(|r| r.max <= 1000)
                    .ok_or(ProfileError::Value {
                        field: "events",
                        message: format!(
                            "expected a range like \"2..10\" within 0..1000, got {text:?}"
                        ),
                    })?;
        }
        if let Some(names) = file.mix {
            profile.mix = names
                .iter()
                .map(|n| {
                    WorkloadKind::from_name(n).ok_or_else(|| ProfileError::Value {
                        field: "mix",
                        message: format!(
                            "unknown workload family {n:?} (known: {})",
                            WorkloadKind::ALL.map(|k| k.name()).join(", ")
                        ),
                    })
                })
                .collect::<Result<_, _>>()?;
            if profile.mix.is_empty() {
                return Err(ProfileError::Value {
                    field: "mix",
                    message: "expected at least one workload family".into(),
                });
            }
        }
        if let Some(text) = file.sentinels {
            profile.sentinels =
                int_range(&text)
                    .filter(|r| r.max <= 7)
                    .ok_or(ProfileError::Value {
                        field: "sentinels",
                        message: format!(
                            "expected a range like \"1..5\" within 0..7, got {text:?}"
                        ),
                    })?;
        }
        if let Some(names) = file.faults {
            profile.faults = names
                .iter()
                .map(|n| {
                    FaultKind::from_name(n).ok_or_else(|| ProfileError::Value {
                        field: "faults",
                        message: format!(
                            "unknown fault kind {n:?} (known: {})",
                            FaultKind::ALL.map(|k| k.name()).join(", ")
                        ),
                    })
                })
                .collect::<Result<_, _>>()?;
        }
        Ok(profile)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_narrows_the_defaults_and_rejects_unknown_names() {
        let profile = Profile::parse(
            r#"{ "replicas": "1..2", "max_depth": 1, "duration": "2s..3s", "faults": ["cut", "promote"], "mix": ["multi"] }"#,
        )
        .unwrap();
        assert_eq!(profile.replicas, IntRange { min: 1, max: 2 });
        assert_eq!(
            profile.duration_ms,
            IntRange {
                min: 2_000,
                max: 3_000
            }
        );
        assert_eq!(profile.faults, vec![FaultKind::Cut, FaultKind::Promote]);
        assert_eq!(profile.mix, vec![WorkloadKind::Multi]);
        assert!(Profile::parse(r#"{ "faults": ["meteor"] }"#)
            .unwrap_err()
            .to_string()
            .contains("unknown fault kind \"meteor\""));
        assert!(Profile::parse(r#"{ "replica": "1..2" }"#).is_err());
        assert!(Profile::parse(r#"{ "replicas": "0..2" }"#).is_err());
    }
}
