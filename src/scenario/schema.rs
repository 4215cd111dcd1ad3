//! The JSON Schema (draft 2020-12) of scenario files, generated from the
//! parser's [`vocabulary`](super::vocab): every object lists exactly the
//! fields the parser accepts (`additionalProperties: false`), so an
//! unknown or misplaced field, a wrong type or a bad enum value fails both.
//! The schema cannot say everything the validator checks (node names that
//! exist, steps that can happen, time bounds); `replsim validate` remains
//! the authority.

use serde_json::{json, Map, Value};

use super::model::WorkloadKind;
use super::vocab::{ObjectKind, ACTIONS};

const NUMBER: &str = r"[0-9]+(\.[0-9]+)?(ms|s|m)";

fn definitions() -> Value {
    let mixes: Vec<&str> = WorkloadKind::ALL.iter().map(|k| k.name()).collect();
    json!({
        "duration": {
            "description": "A duration with a unit: \"250ms\", \"1.5s\", \"2m\".",
            "type": "string",
            "pattern": format!("^{NUMBER}$"),
        },
        "durationRange": {
            "description": "A duration, or a range \"A..B\" drawn per seed.",
            "type": "string",
            "pattern": format!("^{NUMBER}( *\\.\\. *{NUMBER})?$"),
        },
        "intRange": {
            "description": "An integer, or a range \"A..B\" drawn per seed.",
            "oneOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "pattern": "^[0-9]+ *\\.\\. *[0-9]+$"}
            ]
        },
        "count": {
            "description": "A count: an integer (==) or \">= 1\"-like.",
            "oneOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "pattern": "^ *(==|>=|>|<=|<) *[0-9]+ *$"}
            ]
        },
        "infoExpect": {
            "description": "A number (numeric ==), \">= 10\"-like (numeric), or exact text.",
            "type": ["number", "string"]
        },
        "node": {"type": "string", "pattern": "^[a-z][a-z0-9_-]*$"},
        "mix": {"enum": mixes},
    })
}

fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/$defs/{name}") })
}

/// The schema of one field of an object of `kind`, or `None` for a field
/// this generator does not know (a test keeps that from happening).
fn field(kind: ObjectKind, name: &str) -> Option<Value> {
    use ObjectKind as K;
    let node = || reference("node");
    Some(match (kind, name) {
        (K::Scenario, "$schema") => json!({"type": "string"}),
        (K::Scenario, "name") => json!({"type": "string", "pattern": "^[a-z0-9-]+$"}),
        (K::Scenario, "about") => json!({"type": "string"}),
        (K::Scenario, "seeds") => json!({"type": "integer", "minimum": 1}),
        (K::Scenario, "regressions") => {
            json!({"type": "array", "items": {"type": "integer", "minimum": 0}, "uniqueItems": true})
        }
        (K::Scenario, "liveness") => reference("duration"),
        (K::Scenario, "network") => reference("network"),
        (K::Scenario, "losses") => reference("losses"),
        (K::Scenario, "sentinels") => json!({
            "type": "object",
            "propertyNames": {"pattern": "^[a-z][a-z0-9_-]*$"},
            "additionalProperties": reference("sentinel"),
        }),
        (K::Sentinel, "monitor") => node(),
        (K::Sentinel, "name") => json!({"type": "string", "pattern": "^[A-Za-z0-9._-]+$"}),
        (K::Sentinel, "quorum") => json!({"type": "integer", "minimum": 1}),
        (K::Sentinel, "config") => reference("sentinel_config"),
        (K::SentinelConfig, "auth-pass" | "auth-user") => json!({"type": "string"}),
        (K::SentinelConfig, _) => json!({"type": ["integer", "string"]}),
        (K::Losses, "acknowledged" | "waited") => reference("count"),
        (K::Losses, "split_brain") => json!({
            "type": "string",
            "pattern": "^(==|>=|<=|>|<) *[0-9]+(\\.[0-9]+)?(ms|s|m)$"
        }),
        (K::Scenario, "nodes") => json!({
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"pattern": "^[a-z][a-z0-9_-]*$"},
            "additionalProperties": reference("node_object"),
        }),
        (K::Scenario, "steps") => json!({"type": "array", "items": reference("step")}),
        (K::Node, "replicaof") => node(),
        (K::Node, "config") => reference("config"),
        (K::Node, "persist") => json!({"type": "boolean"}),
        (K::Node, "conf") => json!({"type": "string", "minLength": 1}),
        (K::Config, _) => json!({"type": ["string", "number", "boolean"]}),
        (K::Network, "latency") => reference("durationRange"),
        (K::Network, "loss") => json!({"type": "number", "minimum": 0, "exclusiveMaximum": 1}),
        (K::Network, "bandwidth") => json!({
            "type": "string",
            "pattern": "^(unlimited|[0-9]+([kKmMgG][bB]?|[bB])?/s)$"
        }),
        (K::Network, "window") => {
            json!({"type": "string", "pattern": "^[0-9]+([kKmMgG][bB]?|[bB])?$"})
        }
        (K::Step, "sleep" | "at" | "after" | "for") => reference("durationRange"),
        (K::Step, "timeout") => reference("duration"),
        (K::Step, "background" | "lose_unsynced" | "fin") => json!({"type": "boolean"}),
        (K::Step, "await") => json!({
            "oneOf": [{"enum": ["linked", "converged"]}, reference("await")]
        }),
        (K::Step, "workload") => reference("workload"),
        (K::Step, "command") => reference("command"),
        (K::Step, "expect") => reference("expect"),
        (K::Step, "cut") => json!({"type": "array", "items": node(), "minItems": 2, "maxItems": 2}),
        (K::Step, "partition") => reference("partition"),
        (K::Step, "throttle") => reference("throttle"),
        (K::Step, "stall") => reference("stall"),
        (K::Step, "clock") => reference("clock"),
        (K::Step, "disk") => reference("disk"),
        (K::Step, "heal") => json!({"const": true}),
        (K::Step, "network") => reference("network"),
        (K::Step, "crash" | "restart" | "pause" | "resume") => node(),
        (K::Step, "replicaof") => reference("replicaof"),
        (K::Step, "check") => reference("check"),
        (K::Await, "on") => node(),
        (K::Await, "info") => json!({"type": "string"}),
        (K::Await, "equals") => reference("infoExpect"),
        (K::Await, "command") => reference("command"),
        (K::Await, "expect") => reference("expect"),
        (K::Workload, "on") => node(),
        (K::Workload, "ops" | "keys" | "value_size") => reference("intRange"),
        (K::Workload, "for") => reference("durationRange"),
        (K::Workload, "rate") => json!({"type": "number", "exclusiveMinimum": 0}),
        (K::Workload, "mix") => json!({
            "type": "array", "items": reference("mix"), "minItems": 1, "uniqueItems": true
        }),
        (K::Workload, "dbs") => json!({"type": "integer", "minimum": 1, "maximum": 16}),
        (K::Workload, "clients") => json!({"type": "integer", "minimum": 1}),
        (K::Workload, "readers") => json!({"type": "number", "minimum": 0}),
        (K::Workload, "follow") => json!({"type": "boolean"}),
        (K::Command, "on") => node(),
        (K::Command, "args") => {
            json!({"type": "array", "items": {"type": "string"}, "minItems": 1})
        }
        (K::Command, "db") => json!({"type": "integer", "minimum": 0, "maximum": 15}),
        (K::Expect, "reply" | "bulk" | "error") => json!({"type": "string"}),
        (K::Expect, "nil") => json!({"const": true}),
        (K::Expect, "integer") => json!({"type": "integer"}),
        (K::Expect, "array") => json!({
            "type": "array",
            "items": {"oneOf": [
                {"type": ["string", "integer", "null"]},
                reference("expect")
            ]}
        }),
        (K::Partition, "between") => json!({
            "type": "array", "minItems": 2, "maxItems": 2,
            "items": {"type": "array", "items": node(), "minItems": 1}
        }),
        (K::Partition, "oneway" | "black_hole") => json!({"type": "boolean"}),
        (K::Throttle, "from" | "to") => node(),
        (K::Throttle, "bandwidth") => field(K::Network, "bandwidth")?,
        (K::Stall, "node" | "from") => node(),
        (K::Clock, "node") => node(),
        (K::Disk, "node") => node(),
        (K::Disk, "fault") => json!({"enum": ["full", "failing", "torn", "none"]}),
        (K::Clock, "jump") => json!({"type": "string", "pattern": "^[+-]?[0-9.]+(ms|s|m)$"}),
        (K::Clock, "drift") => json!({"type": "number", "exclusiveMinimum": -1, "maximum": 1}),
        (K::Replicaof, "node") => node(),
        (K::Replicaof, "master") => json!({"oneOf": [node(), {"type": "null"}]}),
        (K::Check, "on") => node(),
        (K::Check, "converged") => json!({"type": "boolean"}),
        (K::Check, "full_syncs" | "partial_syncs") => reference("count"),
        (K::Check, "info") => json!({
            "type": "object", "minProperties": 1, "additionalProperties": reference("infoExpect")
        }),
        (K::Check, "log") => json!({
            "oneOf": [
                {"type": "string"},
                {"type": "array", "items": {"type": "string"}, "minItems": 1}
            ]
        }),
        _ => return None,
    })
}

/// An object schema with exactly `kind`'s fields.
fn object(kind: ObjectKind, required: &[&str]) -> Value {
    let mut properties = Map::new();
    for name in kind.fields() {
        properties.insert(name.to_string(), field(kind, name).unwrap_or(json!({})));
    }
    let mut schema = json!({
        "type": "object",
        "properties": properties,
        "additionalProperties": false,
    });
    if !required.is_empty() {
        schema["required"] = json!(required);
    }
    schema
}

/// The JSON Schema of scenario files, as `replsim schema` prints it.
pub fn json_schema() -> Value {
    use ObjectKind as K;
    let mut defs = definitions();
    let mut step = object(K::Step, &[]);
    // Exactly one action per step.
    step["oneOf"] = ACTIONS
        .iter()
        .map(|a| json!({"required": [a]}))
        .collect::<Vec<_>>()
        .into();
    let mut expect = object(K::Expect, &[]);
    expect["minProperties"] = json!(1);
    expect["maxProperties"] = json!(1);
    let mut await_object = object(K::Await, &[]);
    await_object["oneOf"] = json!([
        {"required": ["on", "info", "equals"]},
        {"required": ["command", "expect"]}
    ]);
    let mut workload = object(K::Workload, &["on"]);
    workload["anyOf"] = json!([{"required": ["ops"]}, {"required": ["for"]}]);
    let objects = [
        ("node_object", object(K::Node, &[])),
        ("config", object(K::Config, &[])),
        ("network", object(K::Network, &[])),
        ("step", step),
        ("await", await_object),
        ("workload", workload),
        ("command", object(K::Command, &["on", "args"])),
        ("expect", expect),
        ("partition", object(K::Partition, &["between"])),
        ("throttle", object(K::Throttle, &["from", "bandwidth"])),
        ("stall", object(K::Stall, &["node", "from"])),
        ("clock", object(K::Clock, &["node"])),
        ("disk", object(K::Disk, &["node", "fault"])),
        ("replicaof", object(K::Replicaof, &["node", "master"])),
        ("check", object(K::Check, &[])),
        ("losses", object(K::Losses, &[])),
        ("sentinel", object(K::Sentinel, &["monitor"])),
        ("sentinel_config", object(K::SentinelConfig, &[])),
    ];
    for (name, schema) in objects {
        defs[name] = schema;
    }
    let mut top = object(K::Scenario, &["name", "nodes", "steps"]);
    let top_map = top.as_object_mut().expect("an object");
    let mut schema = Map::new();
    schema.insert(
        "$schema".into(),
        json!("https://json-schema.org/draft/2020-12/schema"),
    );
    schema.insert("title".into(), json!("replsim scenario"));
    schema.insert(
        "description".into(),
        json!("A replsim scenario file; see docs/scenarios.md. `replsim validate` checks more than this schema can (nodes that exist, steps that can happen)."),
    );
    schema.append(top_map);
    schema.insert("$defs".into(), defs);
    Value::Object(schema)
}

/// [`json_schema`] as pretty-printed text with a final newline.
pub fn json_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&json_schema()).expect("a JSON value prints");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_of_the_vocabulary_has_a_schema() {
        for kind in ObjectKind::ALL {
            let missing: Vec<&str> = kind
                .fields()
                .into_iter()
                .filter(|f| field(kind, f).is_none())
                .collect();
            assert_eq!(missing, Vec::<&str>::new(), "{kind:?}");
        }
    }

    #[test]
    fn every_object_lists_exactly_the_vocabulary() {
        let schema = json_schema();
        let keys = |v: &Value| -> Vec<String> {
            v["properties"]
                .as_object()
                .expect("properties")
                .keys()
                .cloned()
                .collect()
        };
        let mut top: Vec<String> = keys(&schema);
        let mut fields: Vec<String> = ObjectKind::Scenario
            .fields()
            .iter()
            .map(|f| f.to_string())
            .collect();
        top.sort();
        fields.sort();
        assert_eq!(top, fields);
        assert_eq!(schema["additionalProperties"], json!(false));
        let mut step = keys(&schema["$defs"]["step"]);
        step.sort();
        let mut step_fields: Vec<String> = ObjectKind::Step
            .fields()
            .iter()
            .map(|f| f.to_string())
            .collect();
        step_fields.sort();
        assert_eq!(step, step_fields);
    }
}
