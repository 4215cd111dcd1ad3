//! The scenario reference cannot drift from the parser: docs/scenarios.md
//! documents exactly the fields the parser accepts, the checked-in JSON
//! Schema is what `replsim schema` prints, every shipped scenario passes
//! the schema, and the schema rejects the mistakes the parser rejects.

use std::collections::BTreeSet;
use std::path::Path;

use replsim::scenario::{json_schema, json_schema_text, load_dir, vocabulary, Scenario};

fn repo(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// For each `<!-- object: KIND -->` section of the reference, the field
/// names of its table rows (`| \`field\` | ...`).
fn documented_fields(text: &str) -> Vec<(String, BTreeSet<String>)> {
    let mut sections: Vec<(String, BTreeSet<String>)> = Vec::new();
    for line in text.lines() {
        if let Some(kind) = line
            .strip_prefix("<!-- object: ")
            .and_then(|rest| rest.strip_suffix(" -->"))
        {
            sections.push((kind.to_string(), BTreeSet::new()));
        } else if line.starts_with("## ") {
            // A section without an object marker ends the previous one.
            sections.push((String::new(), BTreeSet::new()));
        } else if let Some(rest) = line.strip_prefix("| `") {
            if let (Some((field, _)), Some((_, fields))) =
                (rest.split_once('`'), sections.last_mut())
            {
                fields.insert(field.to_string());
            }
        }
    }
    sections.retain(|(kind, _)| !kind.is_empty());
    sections
}

#[test]
fn reference_documents_exactly_the_fields_the_parser_accepts() {
    let text = std::fs::read_to_string(repo("docs/scenarios.md")).unwrap();
    let documented = documented_fields(&text);
    let parser: Vec<(String, BTreeSet<String>)> = vocabulary()
        .into_iter()
        .map(|(kind, fields)| {
            (
                kind.to_string(),
                fields.into_iter().map(str::to_string).collect(),
            )
        })
        .collect();
    let kinds = |v: &[(String, BTreeSet<String>)]| -> Vec<String> {
        v.iter().map(|(k, _)| k.clone()).collect()
    };
    assert_eq!(kinds(&documented), kinds(&parser), "object sections");
    for ((kind, docs), (_, fields)) in documented.iter().zip(&parser) {
        let undocumented: Vec<&String> = fields.difference(docs).collect();
        let unknown: Vec<&String> = docs.difference(fields).collect();
        assert!(
            undocumented.is_empty() && unknown.is_empty(),
            "{kind}: in the parser but not in docs/scenarios.md: {undocumented:?}; \
             in the docs but not in the parser: {unknown:?}"
        );
    }
}

#[test]
fn readme_links_the_reference() {
    let readme = std::fs::read_to_string(repo("README.md")).unwrap();
    assert!(readme.contains("(docs/scenarios.md)"));
}

#[test]
fn checked_in_schema_is_what_replsim_schema_prints() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_replsim"))
        .arg("schema")
        .output()
        .unwrap();
    assert!(output.status.success());
    let printed = String::from_utf8(output.stdout).unwrap();
    assert_eq!(printed, json_schema_text());
    let checked_in = std::fs::read_to_string(repo("docs/scenario.schema.json")).unwrap();
    assert!(
        checked_in == printed,
        "docs/scenario.schema.json is stale: run `cargo run -- schema > docs/scenario.schema.json`"
    );
}

/// The schema, compiled by an independent validator.
struct Validator {
    schemas: boon::Schemas,
    index: boon::SchemaIndex,
}

impl Validator {
    fn new() -> Validator {
        let mut schemas = boon::Schemas::new();
        let mut compiler = boon::Compiler::new();
        let url = "file:///replsim/scenario.schema.json";
        compiler.add_resource(url, json_schema()).unwrap();
        let index = compiler.compile(url, &mut schemas).unwrap();
        Validator { schemas, index }
    }

    fn accepts(&self, text: &str) -> Result<(), String> {
        let value: serde_json::Value = serde_json::from_str(text).unwrap();
        self.schemas
            .validate(&value, self.index)
            .map_err(|e| format!("{e:#}"))
    }
}

#[test]
fn shipped_scenarios_pass_the_schema() {
    let validator = Validator::new();
    let dir = repo("scenarios");
    let scenarios = load_dir(&dir).unwrap();
    assert!(!scenarios.is_empty());
    for scenario in scenarios {
        let text = std::fs::read_to_string(&scenario.file).unwrap();
        if let Err(e) = validator.accepts(&text) {
            panic!("{}: {e}", scenario.file);
        }
    }
}

const GOOD: &str = r#"{
  "$schema": "../docs/scenario.schema.json",
  "name": "every-form",
  "liveness": "30s",
  "network": { "latency": "1ms..10ms", "loss": 0.01 },
  "nodes": { "m": { "config": { "repl-backlog-size": "64kb", "replica-read-only": true, "hz": 10 } }, "r1": { "replicaof": "m", "persist": false } },
  "steps": [
    { "await": "linked", "timeout": "30s" },
    { "workload": { "on": "m", "ops": "10..20", "for": "1s", "rate": 100, "keys": 5, "value_size": "1..8", "mix": ["strings", "expires"], "dbs": 2, "clients": 2 }, "background": true },
    { "command": { "on": "m", "args": ["MGET", "a", "b"], "db": 1 }, "expect": { "array": ["1", 2, null, { "error": "ERR" }] } },
    { "await": { "command": { "on": "r1", "args": ["GET", "x"] }, "expect": { "nil": true } }, "timeout": "5s" },
    { "await": { "on": "r1", "info": "master_repl_offset", "equals": ">= 0" }, "timeout": "5s" },
    { "at": "2s", "partition": { "between": [["m"], ["r1"]], "oneway": true }, "for": "1s" },
    { "after": "1s..2s", "cut": ["m", "r1"] },
    { "heal": true },
    { "network": { "latency": "5ms" } },
    { "pause": "r1", "for": "1s" },
    { "crash": "r1", "lose_unsynced": true },
    { "restart": "r1" },
    { "replicaof": { "node": "r1", "master": null } },
    { "replicaof": { "node": "r1", "master": "m" } },
    { "sleep": "1s" },
    { "check": { "on": "r1", "converged": true, "full_syncs": ">= 1", "partial_syncs": 0, "info": { "role": "slave" }, "log": ["MASTER"] } }
  ]
}"#;

#[test]
fn a_file_using_every_form_passes_both() {
    Scenario::parse("good.json", GOOD).unwrap();
    Validator::new().accepts(GOOD).unwrap();
}

#[test]
fn schema_and_parser_reject_the_same_mistakes() {
    let validator = Validator::new();
    let bad = [
        // Unknown fields, at each level.
        (
            "unknown top-level field",
            r#""seed": 3"#,
            r#"{"sleep": "1s"}"#,
        ),
        (
            "unknown step field",
            "",
            r#"{"sleep": "1s", "tiemout": "1s"}"#,
        ),
        (
            "unknown workload field",
            "",
            r#"{"workload": {"on": "m", "ops": 1, "opps": 2}}"#,
        ),
        // Misplaced fields.
        (
            "background inside a workload",
            "",
            r#"{"workload": {"on": "m", "ops": 1, "background": true}}"#,
        ),
        (
            "expect inside a command",
            "",
            r#"{"command": {"on": "m", "args": ["PING"], "expect": {"reply": "PONG"}}}"#,
        ),
        (
            "timeout inside an await",
            "",
            r#"{"await": {"on": "m", "info": "role", "equals": "master", "timeout": "1s"}, "timeout": "1s"}"#,
        ),
        (
            "ops at step level",
            "",
            r#"{"workload": {"on": "m", "for": "1s"}, "ops": 3}"#,
        ),
        // Wrong types.
        ("number as a duration", "", r#"{"sleep": 5}"#),
        ("string as seeds", r#""seeds": "3""#, r#"{"sleep": "1s"}"#),
        (
            "number as an argument",
            "",
            r#"{"command": {"on": "m", "args": ["INCRBY", "k", 5]}}"#,
        ),
        ("string as heal", "", r#"{"heal": "yes"}"#),
        // Bad enum values and malformed strings.
        (
            "unknown workload kind",
            "",
            r#"{"workload": {"on": "m", "ops": 1, "mix": ["string"]}}"#,
        ),
        (
            "unknown await word",
            "",
            r#"{"await": "synced", "timeout": "1s"}"#,
        ),
        ("duration without a unit", "", r#"{"sleep": "10"}"#),
        (
            "bad count",
            "",
            r#"{"check": {"on": "m", "full_syncs": "=> 1"}}"#,
        ),
        // Structure.
        ("two actions", "", r#"{"crash": "r1", "restart": "r1"}"#),
        ("no action", "", r#"{"at": "1s"}"#),
        (
            "two expect fields",
            "",
            r#"{"command": {"on": "m", "args": ["GET", "k"]}, "expect": {"nil": true, "bulk": "v"}}"#,
        ),
        (
            "workload without ops or for",
            "",
            r#"{"workload": {"on": "m"}}"#,
        ),
        ("loss of 1", "", r#"{"network": {"loss": 1}}"#),
    ];
    for (what, top, step) in bad {
        let top = if top.is_empty() {
            String::new()
        } else {
            format!("{top}, ")
        };
        let text = format!(
            r#"{{{top}"name": "t", "nodes": {{"m": {{}}, "r1": {{"replicaof": "m"}}}}, "steps": [{step}]}}"#
        );
        assert!(
            Scenario::parse("t.json", &text).is_err(),
            "{what}: the parser accepts {text}"
        );
        assert!(
            validator.accepts(&text).is_err(),
            "{what}: the schema accepts {text}"
        );
    }
}
