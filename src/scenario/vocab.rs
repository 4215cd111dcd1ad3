//! The format's vocabulary: every kind of object a scenario file has and
//! the field names each allows. The parser rejects unknown fields with
//! these lists, the JSON Schema is generated from them, and a test checks
//! that docs/scenarios.md documents exactly them, so the three cannot
//! drift apart.

use super::convert::CONFIG_PARAMETERS;

/// The top-level fields of a scenario file (`$schema` lets editors find
/// the JSON Schema; the runner ignores it).
pub(crate) const TOP: &[&str] = &[
    "name",
    "about",
    "seeds",
    "regressions",
    "liveness",
    "network",
    "nodes",
    "steps",
    "losses",
    "sentinels",
    "$schema",
];
/// A Sentinel's fields.
pub(crate) const SENTINEL: &[&str] = &["monitor", "name", "quorum", "config"];
/// The per-master directives a Sentinel's `config` may set.
pub(crate) const SENTINEL_CONFIG: &[&str] = &[
    "down-after-milliseconds",
    "failover-timeout",
    "parallel-syncs",
    "auth-pass",
    "auth-user",
];
/// `losses`: bounds on the acknowledged writes a run may lose.
pub(crate) const LOSSES: &[&str] = &["acknowledged", "waited", "split_brain"];
/// A node's fields.
pub(crate) const NODE: &[&str] = &["replicaof", "config", "persist", "conf"];
/// `network`, at the top level and as a step.
pub(crate) const NETWORK: &[&str] = &["latency", "loss", "bandwidth", "window"];
/// A step's actions: each step has exactly one.
pub(crate) const ACTIONS: &[&str] = &[
    "sleep",
    "await",
    "workload",
    "command",
    "cut",
    "partition",
    "heal",
    "network",
    "throttle",
    "stall",
    "clock",
    "disk",
    "crash",
    "restart",
    "pause",
    "resume",
    "replicaof",
    "check",
];
/// A step's fields besides its action.
pub(crate) const MODIFIERS: &[&str] = &[
    "at",
    "after",
    "background",
    "timeout",
    "expect",
    "for",
    "lose_unsynced",
    "fin",
];
/// The object form of `await`: on INFO (`on`, `info`, `equals`) or on a
/// command's reply (`command`, `expect`).
pub(crate) const AWAIT: &[&str] = &["on", "info", "equals", "command", "expect"];
/// A `workload`'s fields.
pub(crate) const WORKLOAD: &[&str] = &[
    "on",
    "ops",
    "for",
    "rate",
    "keys",
    "value_size",
    "mix",
    "dbs",
    "clients",
    "readers",
    "follow",
];
/// A `command`'s fields (in a step and in an `await`).
pub(crate) const COMMAND: &[&str] = &["on", "args", "db"];
/// An `expect` object's fields: it has exactly one.
pub(crate) const EXPECT: &[&str] = &["reply", "bulk", "nil", "integer", "error", "array"];
/// A `partition`'s fields.
pub(crate) const PARTITION: &[&str] = &["between", "oneway", "black_hole"];
/// A `throttle`'s fields.
pub(crate) const THROTTLE: &[&str] = &["from", "to", "bandwidth"];
/// A `stall`'s fields.
pub(crate) const STALL: &[&str] = &["node", "from"];
/// A `clock`'s fields.
pub(crate) const CLOCK: &[&str] = &["node", "jump", "drift"];
/// A `disk`'s fields.
pub(crate) const DISK: &[&str] = &["node", "fault"];
/// A `replicaof` step's fields.
pub(crate) const REPLICAOF: &[&str] = &["node", "master"];
/// A `check`'s fields.
pub(crate) const CHECK: &[&str] = &[
    "on",
    "converged",
    "full_syncs",
    "partial_syncs",
    "info",
    "log",
];

/// A kind of object in a scenario file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectKind {
    /// The whole file.
    Scenario,
    /// A node, under `nodes`.
    Node,
    /// A node's `config`.
    Config,
    /// `network`: at the top level, and the `network` step's object.
    Network,
    /// A step, in `steps`.
    Step,
    /// The object form of an `await`.
    Await,
    /// A `workload`.
    Workload,
    /// A `command`, in a step or in an `await`.
    Command,
    /// An `expect`, in a step, in an `await` or in an `array`.
    Expect,
    /// A `partition`.
    Partition,
    /// A `throttle`.
    Throttle,
    /// A `stall`.
    Stall,
    /// A `clock`.
    Clock,
    /// A `disk`.
    Disk,
    /// A `replicaof` step's object.
    Replicaof,
    /// A `check`.
    Check,
    /// The top-level `losses`.
    Losses,
    /// A Sentinel, under `sentinels`.
    Sentinel,
    /// A Sentinel's `config`.
    SentinelConfig,
}

impl ObjectKind {
    /// Every kind, in the order the reference documents them.
    pub const ALL: [ObjectKind; 19] = [
        ObjectKind::Scenario,
        ObjectKind::Node,
        ObjectKind::Config,
        ObjectKind::Network,
        ObjectKind::Step,
        ObjectKind::Await,
        ObjectKind::Workload,
        ObjectKind::Command,
        ObjectKind::Expect,
        ObjectKind::Partition,
        ObjectKind::Throttle,
        ObjectKind::Stall,
        ObjectKind::Clock,
        ObjectKind::Disk,
        ObjectKind::Replicaof,
        ObjectKind::Check,
        ObjectKind::Losses,
        ObjectKind::Sentinel,
        ObjectKind::SentinelConfig,
    ];

    /// The kind's name: `scenario`, `node`, `step`, `workload`, ...
    pub fn name(self) -> &'static str {
        match self {
            ObjectKind::Scenario => "scenario",
            ObjectKind::Node => "node",
            ObjectKind::Config => "config",
            ObjectKind::Network => "network",
            ObjectKind::Step => "step",
            ObjectKind::Await => "await",
            ObjectKind::Workload => "workload",
            ObjectKind::Command => "command",
            ObjectKind::Expect => "expect",
            ObjectKind::Partition => "partition",
            ObjectKind::Throttle => "throttle",
            ObjectKind::Stall => "stall",
            ObjectKind::Clock => "clock",
            ObjectKind::Disk => "disk",
            ObjectKind::Replicaof => "replicaof",
            ObjectKind::Check => "check",
            ObjectKind::Losses => "losses",
            ObjectKind::Sentinel => "sentinel",
            ObjectKind::SentinelConfig => "sentinel config",
        }
    }

    /// The field names an object of this kind allows, in the order the
    /// reference documents them.
    pub fn fields(self) -> Vec<&'static str> {
        match self {
            ObjectKind::Scenario => TOP.to_vec(),
            ObjectKind::Node => NODE.to_vec(),
            ObjectKind::Config => CONFIG_PARAMETERS.to_vec(),
            ObjectKind::Network => NETWORK.to_vec(),
            ObjectKind::Step => ACTIONS.iter().chain(MODIFIERS).copied().collect(),
            ObjectKind::Await => AWAIT.to_vec(),
            ObjectKind::Workload => WORKLOAD.to_vec(),
            ObjectKind::Command => COMMAND.to_vec(),
            ObjectKind::Expect => EXPECT.to_vec(),
            ObjectKind::Partition => PARTITION.to_vec(),
            ObjectKind::Throttle => THROTTLE.to_vec(),
            ObjectKind::Stall => STALL.to_vec(),
            ObjectKind::Clock => CLOCK.to_vec(),
            ObjectKind::Disk => DISK.to_vec(),
            ObjectKind::Replicaof => REPLICAOF.to_vec(),
            ObjectKind::Check => CHECK.to_vec(),
            ObjectKind::Losses => LOSSES.to_vec(),
            ObjectKind::Sentinel => SENTINEL.to_vec(),
            ObjectKind::SentinelConfig => SENTINEL_CONFIG.to_vec(),
        }
    }

    /// How messages name an object of this kind: "the step", "the
    /// `await` object".
    pub(crate) fn the(self) -> String {
        match self {
            ObjectKind::Scenario => "the top level".to_string(),
            ObjectKind::Step => "the step".to_string(),
            ObjectKind::Node => "the node".to_string(),
            other => format!("the `{}` object", other.name()),
        }
    }
}

/// Every object kind of the format with the field names it allows: the
/// lists the parser rejects unknown fields with.
pub fn vocabulary() -> Vec<(&'static str, Vec<&'static str>)> {
    ObjectKind::ALL
        .iter()
        .map(|kind| (kind.name(), kind.fields()))
        .collect()
}

/// Which actions a step-level modifier goes with (`None`: any action).
pub(crate) fn modifier_actions(modifier: &str) -> Option<&'static [&'static str]> {
    match modifier {
        "timeout" => Some(&["await"]),
        "expect" => Some(&["command"]),
        "for" => Some(&["partition", "pause", "throttle", "stall"]),
        "lose_unsynced" | "fin" => Some(&["crash"]),
        "background" => Some(&["workload", "command"]),
        _ => None,
    }
}

/// Where an object being read sits, for telling a misplaced field where it
/// belongs: the object's kind, the object around it (and the key this one
/// is under there), and the objects inside it (with their keys).
#[derive(Clone, Debug)]
pub(crate) struct Place {
    /// This object's kind.
    pub kind: ObjectKind,
    /// The enclosing object's kind and the key this object is under.
    pub parent: Option<(ObjectKind, &'static str)>,
    /// The objects inside this one: their key and kind.
    pub children: Vec<(String, ObjectKind)>,
}

impl Place {
    /// An object of `kind` with no known neighbours.
    pub fn of(kind: ObjectKind) -> Place {
        Place {
            kind,
            parent: None,
            children: Vec::new(),
        }
    }

    /// The same, inside an object of `parent` kind under `key`.
    pub fn under(mut self, parent: ObjectKind, key: &'static str) -> Place {
        self.parent = Some((parent, key));
        self
    }

    /// The same, with an object of `kind` under `key` inside it.
    pub fn with_child(mut self, key: &str, kind: ObjectKind) -> Place {
        self.children.push((key.to_string(), kind));
        self
    }

    /// Where an unknown `field` of this object belongs instead, if it is a
    /// field of the enclosing object (that it could have there) or of an
    /// object inside this one.
    pub fn elsewhere(&self, field: &str) -> Option<String> {
        if let Some((parent, key)) = self.parent {
            // A step modifier belongs next to this action only if it goes
            // with that action.
            let fits = match (parent, modifier_actions(field)) {
                (ObjectKind::Step, Some(actions)) => actions.contains(&key),
                _ => true,
            };
            if fits && parent.fields().contains(&field) {
                return Some(format!(
                    "`{field}` belongs to {}, next to `{key}`",
                    parent.the()
                ));
            }
        }
        self.children
            .iter()
            .find(|(_, kind)| kind.fields().contains(&field))
            .map(|(key, _)| format!("`{field}` belongs inside `{key}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_distinct_fields() {
        for (kind, fields) in vocabulary() {
            let mut sorted = fields.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), fields.len(), "{kind} repeats a field");
        }
    }

    #[test]
    fn misplaced_fields_are_placed_one_level_up_or_down() {
        let workload = Place::of(ObjectKind::Workload).under(ObjectKind::Step, "workload");
        assert_eq!(
            workload.elsewhere("background").as_deref(),
            Some("`background` belongs to the step, next to `workload`")
        );
        // `timeout` is a step field, but not one a workload step takes.
        assert_eq!(workload.elsewhere("timeout"), None);
        let step = Place::of(ObjectKind::Step)
            .with_child("workload", ObjectKind::Workload)
            .with_child("expect", ObjectKind::Expect);
        assert_eq!(
            step.elsewhere("ops").as_deref(),
            Some("`ops` belongs inside `workload`")
        );
        assert_eq!(
            step.elsewhere("bulk").as_deref(),
            Some("`bulk` belongs inside `expect`")
        );
        assert_eq!(step.elsewhere("zzz"), None);
    }
}
