//! The scenario file format seen from its users: a valid file becomes the
//! expected model, and every kind of mistake is an error naming the file,
//! the JSON path and the line:column, saying what was expected.

use std::path::{Path, PathBuf};
use std::time::Duration;

use replsim::scenario::{
    collect, load_dir, Action, AwaitCondition, CmpOp, CountCheck, DurationRange, ErrorKind, Expect,
    InfoExpect, IntRange, Scenario, ScenarioError, WorkloadKind,
};

const FULL: &str = r#"{
  "name": "chain-middle-restart",
  "about": "m -> r1 -> r2; r1 crashes under write load and comes back from its RDB",
  "seeds": 32,
  "regressions": [17, 4051],
  "liveness": "60s",
  "network": { "latency": "1ms..10ms", "loss": 0.0 },
  "nodes": {
    "m":  { "config": { "repl-backlog-size": "64kb", "repl-diskless-sync-delay": 1 } },
    "r1": { "replicaof": "m", "persist": true },
    "r2": { "replicaof": "r1" }
  },
  "steps": [
    { "await": "linked", "timeout": "30s" },
    { "workload": { "on": "m", "ops": 5000, "keys": 200, "mix": ["strings", "lists", "hashes", "sets", "zsets", "expires"], "for": "3s" }, "background": true },
    { "at": "0.5s..1.5s", "crash": "r1" },
    { "after": "1s..4s", "restart": "r1" },
    { "command": { "on": "r2", "args": ["SET", "x", "1"] }, "expect": { "error": "READONLY" } },
    { "await": "converged", "timeout": "60s" },
    { "check": { "on": "r1", "partial_syncs": ">= 1", "full_syncs": 1 } }
  ]
}"#;

/// A scenario with nodes m <- r1 <- r2 and these steps, one per line from
/// line 5 (so `steps[i]` is on line `5 + i`, its action at column 7 when
/// written as `    { "action": ...`).
fn with_steps(steps: &[&str]) -> String {
    format!(
        "{{\n  \"name\": \"t\",\n  \"nodes\": {{ \"m\": {{}}, \"r1\": {{ \"replicaof\": \"m\" }}, \"r2\": {{ \"replicaof\": \"r1\" }} }},\n  \"steps\": [\n{}\n  ]\n}}",
        steps
            .iter()
            .map(|s| format!("    {s}"))
            .collect::<Vec<_>>()
            .join(",\n")
    )
}

fn error(text: &str) -> ScenarioError {
    match Scenario::parse("t.json", text) {
        Ok(s) => panic!("expected an error, parsed {s:#?}"),
        Err(e) => e,
    }
}

fn message(text: &str) -> String {
    error(text).to_string()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn full_example_parses_to_the_model() {
    let s = Scenario::parse("chain.json", FULL).unwrap();
    assert_eq!(s.file, "chain.json");
    assert_eq!(s.name, "chain-middle-restart");
    assert_eq!(s.seeds, 32);
    assert_eq!(s.regressions, vec![17, 4051]);
    assert_eq!(s.liveness, Duration::from_secs(60));
    assert_eq!(
        s.network.latency,
        DurationRange {
            min: ms(1),
            max: ms(10)
        }
    );
    assert_eq!(s.network.loss, 0.0);
    let names: Vec<&str> = s.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["m", "r1", "r2"]);
    assert_eq!(
        s.nodes[0].config,
        vec![
            ("repl-backlog-size".to_string(), "64kb".to_string()),
            ("repl-diskless-sync-delay".to_string(), "1".to_string()),
        ]
    );
    assert_eq!(s.nodes[2].replicaof.as_deref(), Some("r1"));
    assert!(s.nodes[1].persist && s.nodes[2].persist);
    assert_eq!(s.steps.len(), 7);
    assert_eq!(
        (s.steps[2].path.as_str(), s.steps[2].line, s.steps[2].column),
        ("steps[2]", 16, 5)
    );
    assert_eq!(
        s.steps[0].action,
        Action::Await {
            condition: AwaitCondition::Linked,
            timeout: Duration::from_secs(30)
        }
    );
    let Action::Workload(w) = &s.steps[1].action else {
        panic!("not a workload")
    };
    assert!(s.steps[1].background);
    assert_eq!(
        (w.on.as_str(), w.ops, w.keys),
        ("m", Some(IntRange::fixed(5000)), IntRange::fixed(200))
    );
    assert_eq!(
        w.duration,
        Some(DurationRange::fixed(Duration::from_secs(3)))
    );
    assert_eq!(
        (w.rate, w.value_size, w.dbs, w.clients),
        (1000.0, IntRange { min: 1, max: 32 }, 1, 1)
    );
    assert_eq!(w.mix.len(), 6);
    assert_eq!(w.mix[5], WorkloadKind::Expires);
    assert_eq!(
        s.steps[2].at,
        Some(DurationRange {
            min: ms(500),
            max: ms(1500)
        })
    );
    assert_eq!(
        s.steps[2].action,
        Action::Crash {
            node: "r1".into(),
            lose_unsynced: false,
            fin: true,
        }
    );
    assert_eq!(
        s.steps[3].after,
        Some(DurationRange {
            min: ms(1000),
            max: ms(4000)
        })
    );
    assert_eq!(
        s.steps[4].action,
        Action::Command {
            on: "r2".into(),
            args: vec!["SET".into(), "x".into(), "1".into()],
            db: 0,
            expect: Some(Expect::ErrorPrefix("READONLY".into())),
        }
    );
    let Action::Check(c) = &s.steps[6].action else {
        panic!("not a check")
    };
    assert_eq!(c.on.as_deref(), Some("r1"));
    assert_eq!(
        c.partial_syncs,
        Some(CountCheck {
            op: CmpOp::Ge,
            value: 1
        })
    );
    assert_eq!(
        c.full_syncs,
        Some(CountCheck {
            op: CmpOp::Eq,
            value: 1
        })
    );
}

#[test]
fn omitted_fields_take_their_defaults() {
    let s = Scenario::parse(
        "t.json",
        r#"{"name": "x", "nodes": {"m": {}}, "steps": []}"#,
    )
    .unwrap();
    assert_eq!(
        (s.seeds, s.about.as_str(), s.liveness),
        (16, "", Duration::from_secs(60))
    );
    assert_eq!(
        s.network.latency,
        DurationRange {
            min: ms(1),
            max: ms(5)
        }
    );
    assert!(s.nodes[0].persist && s.steps.is_empty());
}

#[test]
fn every_action_parses() {
    let s = Scenario::parse(
        "t.json",
        &with_steps(&[
            r#"{ "sleep": "1s" }"#,
            r#"{ "cut": ["m", "r1"] }"#,
            r#"{ "partition": { "between": [["m"], ["r1", "r2"]], "oneway": true }, "for": "2s" }"#,
            r#"{ "heal": true }"#,
            r#"{ "network": { "loss": 0.1 } }"#,
            r#"{ "pause": "r2" }"#,
            r#"{ "resume": "r2" }"#,
            r#"{ "replicaof": { "node": "r2", "master": null } }"#,
            r#"{ "replicaof": { "node": "m", "master": "r2" } }"#,
            r#"{ "await": { "on": "m", "info": "master_link_status", "equals": "up" }, "timeout": "5s" }"#,
            r#"{ "check": { "on": "m", "info": { "connected_slaves": 0 }, "log": "MASTER <-> REPLICA sync" } }"#,
            r#"{ "crash": "r1", "lose_unsynced": true }"#,
            r#"{ "command": { "on": "m", "args": ["GET", "k"], "db": 3 }, "expect": { "nil": true } }"#,
        ]),
    )
    .unwrap();
    let actions: Vec<&str> = s.steps.iter().map(|st| st.action.name()).collect();
    assert_eq!(
        actions,
        [
            "sleep",
            "cut",
            "partition",
            "heal",
            "network",
            "pause",
            "resume",
            "replicaof",
            "replicaof",
            "await",
            "check",
            "crash",
            "command"
        ]
    );
    assert_eq!(
        s.steps[2].action,
        Action::Partition {
            one: vec!["m".into()],
            other: vec!["r1".into(), "r2".into()],
            oneway: true,
            black_hole: true,
            duration: Some(DurationRange::fixed(ms(2000))),
        }
    );
    let Action::Check(c) = &s.steps[10].action else {
        panic!("not a check")
    };
    assert_eq!(
        c.info,
        vec![(
            "connected_slaves".to_string(),
            InfoExpect::Compare {
                op: CmpOp::Eq,
                value: 0.0
            }
        )]
    );
}

#[test]
fn unknown_top_level_field_lists_the_known_fields() {
    let text =
        "{\n  \"name\": \"t\",\n  \"seed\": 3,\n  \"nodes\": {\"m\": {}},\n  \"steps\": []\n}";
    let e = error(text);
    assert_eq!(e.kind, ErrorKind::UnknownField);
    assert_eq!(
        e.to_string(),
        "t.json:3:3: seed: unknown field `seed` at the top level; expected one of: name, about, \
         seeds, regressions, liveness, network, nodes, steps, losses, sentinels, $schema\n  hint: did you mean `seeds`?"
    );
}

#[test]
fn unknown_field_in_a_node_points_at_the_key() {
    let text = "{\"name\": \"t\", \"steps\": [],\n \"nodes\": {\"m\": {\"replica_of\": \"x\"}}}";
    assert_eq!(
        message(text),
        "t.json:2:18: nodes.m.replica_of: unknown field `replica_of` in a node; expected one of: \
         replicaof, config, persist, conf\n  hint: did you mean `replicaof`?"
    );
}

#[test]
fn unknown_field_in_a_step_suggests_the_closest() {
    let e = error(&with_steps(&[r#"{ "await": "linked", "tiemout": "3s" }"#]));
    assert_eq!(e.kind, ErrorKind::UnknownField);
    assert_eq!(
        e.to_string(),
        "t.json:5:26: steps[0].tiemout: unknown field `tiemout` in a step; expected one of: sleep, \
         await, workload, command, cut, partition, heal, network, throttle, stall, clock, disk, \
         crash, restart, pause, resume, replicaof, check, at, after, background, timeout, expect, \
         for, lose_unsynced, fin\n  \
         hint: did you mean `timeout`?"
    );
}

#[test]
fn two_action_keys_in_one_step_points_at_the_second() {
    assert_eq!(
        message(&with_steps(&[r#"{ "crash": "r1", "restart": "r1" }"#])),
        "t.json:5:22: steps[0].restart: a step has exactly one action, but this one has `crash` \
         and `restart`\n  hint: split it into one step per action"
    );
}

#[test]
fn step_without_an_action_lists_the_actions() {
    assert_eq!(
        message(&with_steps(&[r#"{ "sleep": "1s" }"#, r#"{ "at": "2s" }"#])),
        "t.json:6:5: steps[1]: a step needs one action, one of: sleep, await, workload, command, \
         cut, partition, heal, network, throttle, stall, clock, disk, crash, restart, pause, \
         resume, replicaof, check"
    );
}

#[test]
fn unknown_node_in_replicaof_lists_nodes() {
    let text = "{\"name\": \"t\", \"steps\": [], \"nodes\": {\n  \"m\": {},\n  \"r1\": {\"replicaof\": \"master\"}\n}}";
    let e = error(text);
    assert_eq!(e.kind, ErrorKind::UnknownNode);
    assert_eq!(
        e.to_string(),
        "t.json:3:23: nodes.r1.replicaof: unknown node 'master' (nodes: m, r1)"
    );
}

#[test]
fn unknown_node_in_crash_names_the_step_and_lists_nodes() {
    let e = error(&with_steps(&[
        r#"{ "sleep": "1s" }"#,
        r#"{ "crash": "r9" }"#,
    ]));
    assert_eq!(e.kind, ErrorKind::UnknownNode);
    assert_eq!(
        e.to_string(),
        "t.json:6:16: steps[1].crash: unknown node 'r9' (nodes: m, r1, r2)"
    );
}

#[test]
fn unknown_node_in_command_on_suggests_a_close_name() {
    assert_eq!(
        message(&with_steps(&[
            r#"{ "command": { "on": "r11", "args": ["PING"] } }"#
        ])),
        "t.json:5:26: steps[0].command.on: unknown node 'r11' (nodes: m, r1, r2)\n  \
         hint: did you mean 'r1'?"
    );
}

#[test]
fn unknown_node_in_partition_points_at_the_member() {
    assert_eq!(
        message(&with_steps(&[
            r#"{ "partition": { "between": [["m"], ["r1", "r3"]] } }"#
        ])),
        "t.json:5:48: steps[0].partition.between[1][1]: unknown node 'r3' (nodes: m, r1, r2)"
    );
}

#[test]
fn replicaof_cycle_in_nodes_is_explained() {
    let text = "{\"name\": \"t\", \"steps\": [], \"nodes\": {\n  \"a\": {\"replicaof\": \"c\"},\n  \"b\": {\"replicaof\": \"a\"},\n  \"c\": {\"replicaof\": \"b\"}\n}}";
    let e = error(text);
    assert_eq!(e.kind, ErrorKind::Impossible);
    assert_eq!(
        e.to_string(),
        "t.json:2:22: nodes.a.replicaof: replication cycle: a is a replica of c, which is a \
         replica of b, which is a replica of a\n  hint: every chain of replicas must end at a \
         master (a node without replicaof)"
    );
}

#[test]
fn replicaof_step_that_makes_a_cycle_points_at_master() {
    assert_eq!(
        message(&with_steps(&[
            r#"{ "replicaof": { "node": "m", "master": "r2" } }"#
        ])),
        "t.json:5:45: steps[0].replicaof.master: this makes a replication cycle: m is a replica \
         of r2, which is a replica of r1, which is a replica of m\n  hint: every chain of \
         replicas must end at a master (a node without replicaof)"
    );
}

#[test]
fn a_restart_that_brings_back_a_cycle_through_the_configured_master_is_impossible() {
    // r1 is promoted and m re-pointed to it; restarted, r1 replicates its
    // configured master m again: m -> r1 -> m.
    assert_eq!(
        message(&with_steps(&[
            r#"{ "replicaof": { "node": "r1", "master": null } }"#,
            r#"{ "replicaof": { "node": "m", "master": "r1" } }"#,
            r#"{ "crash": "r1" }"#,
            r#"{ "restart": "r1" }"#,
        ])),
        "t.json:8:18: steps[3].restart: restarted, node 'r1' replicates its configured master 'm' again, \
         which makes a replication cycle: r1 is a replica of m, which is a replica of r1\n  \
         hint: point the other nodes elsewhere with `replicaof` before this restart"
    );
}

#[test]
fn after_a_restart_a_node_replicates_its_configured_master_again() {
    let text = with_steps(&[
        r#"{ "replicaof": { "node": "r2", "master": "m" } }"#,
        r#"{ "crash": "r2" }"#,
        r#"{ "restart": "r2" }"#,
        r#"{ "replicaof": { "node": "r1", "master": "r2" } }"#,
    ]);
    // Restarted, r2 replicates r1 again, so r1 -> r2 would be a cycle.
    assert!(message(&text).contains("this makes a replication cycle: r1 is a replica of r2"));
}

#[test]
fn replicaof_itself_is_impossible() {
    let text = "{\"name\": \"t\", \"steps\": [], \"nodes\": {\"m\": {\"replicaof\": \"m\"}}}";
    let e = error(text);
    assert_eq!(e.kind, ErrorKind::Impossible);
    assert_eq!(
        e.to_string(),
        "t.json:1:57: nodes.m.replicaof: node 'm' cannot be a replica of itself"
    );
}

#[test]
fn duration_without_unit_suggests_units() {
    let text = "{\"name\": \"t\", \"nodes\": {\"m\": {}}, \"steps\": [],\n  \"network\": {\"latency\": \"10\"}}";
    let e = error(text);
    assert_eq!(e.kind, ErrorKind::Duration);
    assert_eq!(
        e.to_string(),
        "t.json:2:26: network.latency: expected a duration with a unit, like \"5ms\" or \
         \"1s..3s\", got \"10\"\n  hint: write \"10ms\", \"10s\" or \"10m\""
    );
}

#[test]
fn bare_number_is_not_a_duration() {
    assert_eq!(
        message(&with_steps(&[r#"{ "sleep": 5 }"#])),
        "t.json:5:16: steps[0].sleep: expected a duration with a unit, like \"5ms\" or \
         \"1s..3s\", got 5\n  hint: write \"5ms\", \"5s\" or \"5m\""
    );
}

#[test]
fn range_ending_before_it_starts_is_rejected() {
    let e = error(&with_steps(&[r#"{ "at": "3s..1s", "crash": "r1" }"#]));
    assert_eq!(e.kind, ErrorKind::Duration);
    assert_eq!(
        e.to_string(),
        "t.json:5:13: steps[0].at: bad range \"3s..1s\": it starts after it ends (3s > 1s)"
    );
}

#[test]
fn loss_must_be_below_one() {
    let text =
        "{\"name\": \"t\", \"nodes\": {\"m\": {}}, \"steps\": [],\n  \"network\": {\"loss\": 1.5}}";
    let e = error(text);
    assert_eq!(e.kind, ErrorKind::Value);
    assert_eq!(
        e.to_string(),
        "t.json:2:23: network.loss: expected a loss probability in [0, 1), like 0.01, got 1.5"
    );
}

#[test]
fn bandwidth_and_window_parse_with_redis_units() {
    let text = r#"{"name": "t", "nodes": {"m": {}}, "steps": [
  { "network": { "bandwidth": "unlimited", "window": "1mb" } }],
  "network": {"bandwidth": "512kb/s", "window": "64kb"}}"#;
    let s = Scenario::parse("t.json", text).unwrap();
    assert_eq!(s.network.bandwidth, Some(512 * 1024));
    assert_eq!(s.network.window, 64 * 1024);
    assert_eq!(
        s.steps[0].action,
        replsim::scenario::Action::Network {
            latency: None,
            loss: None,
            bandwidth: Some(None),
            window: Some(1 << 20),
        }
    );
    let defaults = Scenario::parse(
        "t.json",
        r#"{"name": "t", "nodes": {"m": {}}, "steps": []}"#,
    )
    .unwrap()
    .network;
    assert_eq!(
        (defaults.bandwidth, defaults.window),
        (Some(125_000_000), 1 << 20)
    );
}

#[test]
fn bandwidth_needs_a_rate_and_window_a_size() {
    let text =
        "{\"name\": \"t\", \"nodes\": {\"m\": {}}, \"steps\": [],\n  \"network\": {\"bandwidth\": \"10mb\"}}";
    let e = error(text);
    assert_eq!(e.kind, ErrorKind::Value);
    assert_eq!(
        e.to_string(),
        "t.json:2:28: network.bandwidth: expected a bandwidth like \"10mb/s\" (bytes per second, at least 1kb/s) or \"unlimited\", got \"10mb\""
    );
    let text =
        "{\"name\": \"t\", \"nodes\": {\"m\": {}}, \"steps\": [],\n  \"network\": {\"window\": \"12\"}}";
    let e = error(text);
    assert_eq!(
        e.to_string(),
        "t.json:2:25: network.window: expected a window size like \"64kb\" (at least 1kb), got \"12\""
    );
}

#[test]
fn throttle_and_stall_name_two_different_nodes() {
    let s = Scenario::parse(
        "t.json",
        &with_steps(&[
            r#"{ "throttle": { "from": "m", "to": "r1", "bandwidth": "1mb/s" }, "for": "2s" }"#,
            r#"{ "stall": { "node": "r1", "from": "m" } }"#,
        ]),
    )
    .unwrap();
    assert_eq!(
        s.steps[0].action,
        replsim::scenario::Action::Throttle {
            from: "m".into(),
            to: Some("r1".into()),
            bandwidth: Some(1 << 20),
            duration: Some(DurationRange {
                min: Duration::from_secs(2),
                max: Duration::from_secs(2)
            }),
        }
    );
    assert_eq!(
        s.steps[1].action,
        replsim::scenario::Action::Stall {
            node: "r1".into(),
            from: "m".into(),
            duration: None,
        }
    );
    assert_eq!(
        message(&with_steps(&[
            r#"{ "stall": { "node": "r1", "from": "r1" } }"#
        ])),
        "t.json:5:40: steps[0].stall.from: `node` and `from` are both 'r1'; they must be two \
         different nodes"
    );
    assert_eq!(
        message(&with_steps(&[
            r#"{ "throttle": { "from": "m", "to": "r1" } }"#
        ])),
        "t.json:5:19: steps[0].throttle.bandwidth: missing: a throttle object like {\"from\": \
         \"m\", \"to\": \"r1\", \"bandwidth\": \"1mb/s\"}"
    );
    // Without `to`, the node's interface.
    let s = Scenario::parse(
        "t.json",
        &with_steps(&[r#"{ "throttle": { "from": "m", "bandwidth": "unlimited" } }"#]),
    )
    .unwrap();
    assert_eq!(
        s.steps[0].action,
        replsim::scenario::Action::Throttle {
            from: "m".into(),
            to: None,
            bandwidth: None,
            duration: None,
        }
    );
    assert_eq!(
        message(&with_steps(&[
            r#"{ "throttle": { "from": "x", "bandwidth": "1mb/s" } }"#
        ])),
        "t.json:5:29: steps[0].throttle.from: unknown node 'x' (nodes: m, r1, r2)\n  hint: did you \
         mean 'm'?"
    );
}

#[test]
fn unknown_config_parameter_names_the_closest() {
    let text = "{\"name\": \"t\", \"steps\": [], \"nodes\": {\n  \"m\": {\"config\": {\"repl-backlog-sise\": 100}}\n}}";
    let e = error(text);
    assert_eq!(e.kind, ErrorKind::UnknownField);
    assert_eq!(e.path, "nodes.m.config.repl-backlog-sise");
    assert_eq!((e.line, e.column), (2, 20));
    assert_eq!(
        e.message,
        "unknown config parameter `repl-backlog-sise`; did you mean `repl-backlog-size`?"
    );
    assert!(e
        .hint
        .unwrap()
        .starts_with("the parameters replsim honours: hz, requirepass, "));
}

#[test]
fn config_booleans_become_yes_and_no() {
    let text = r#"{"name": "t", "steps": [], "nodes": {"m": {"config": {"repl-diskless-sync": false, "replica-read-only": true, "hz": 10, "save": ""}}}}"#;
    let s = Scenario::parse("t.json", text).unwrap();
    let values: Vec<&str> = s.nodes[0].config.iter().map(|(_, v)| v.as_str()).collect();
    assert_eq!(values, ["no", "yes", "10", ""]);
}

#[test]
fn await_without_timeout_is_rejected() {
    assert_eq!(
        message(&with_steps(&[r#"{ "await": "converged" }"#])),
        "t.json:5:5: steps[0].timeout: missing: an `await` step needs a timeout, like \
         \"timeout\": \"30s\""
    );
}

#[test]
fn timeout_on_a_non_await_step_is_rejected() {
    let e = error(&with_steps(&[r#"{ "crash": "r1", "timeout": "5s" }"#]));
    assert_eq!(e.kind, ErrorKind::UnknownField);
    assert_eq!(
        e.to_string(),
        "t.json:5:22: steps[0].timeout: `timeout` only goes with `await` steps, not `crash`"
    );
}

#[test]
fn background_on_a_step_other_than_workload_or_command_is_rejected() {
    assert_eq!(
        message(&with_steps(&[r#"{ "sleep": "1s", "background": true }"#])),
        "t.json:5:22: steps[0].background: `background` only goes with `workload` and `command` steps, not \
         `sleep`"
    );
}

#[test]
fn expect_with_two_keys_is_rejected() {
    assert_eq!(
        message(&with_steps(&[
            r#"{ "command": { "on": "m", "args": ["GET", "k"] }, "expect": { "nil": true, "bulk": "v" } }"#
        ])),
        "t.json:5:80: steps[0].expect.bulk: `expect` has exactly one of reply, bulk, nil, \
         integer, error, array; this one has `nil` and `bulk`"
    );
}

#[test]
fn restart_of_a_running_node_explains_its_history() {
    let e = error(&with_steps(&[
        r#"{ "crash": "r1" }"#,
        r#"{ "restart": "r1" }"#,
        r#"{ "restart": "r1" }"#,
    ]));
    assert_eq!(e.kind, ErrorKind::Impossible);
    assert_eq!(
        e.to_string(),
        "t.json:7:18: steps[2].restart: node 'r1' is not crashed at this point, so it cannot \
         restart (it is up: crashed at steps[0], restarted at steps[1])"
    );
}

#[test]
fn crash_of_a_crashed_node_is_impossible() {
    assert_eq!(
        message(&with_steps(&[
            r#"{ "crash": "r2" }"#,
            r#"{ "crash": "r2" }"#
        ])),
        "t.json:6:16: steps[1].crash: node 'r2' is already crashed (it is crashed: crashed at \
         steps[0])\n  hint: add a `restart` step before crashing it again"
    );
}

#[test]
fn resume_of_a_node_that_is_not_paused_is_impossible() {
    assert_eq!(
        message(&with_steps(&[r#"{ "resume": "m" }"#])),
        "t.json:5:17: steps[0].resume: node 'm' is not paused at this point, so it cannot resume \
         (it is up: no earlier step crashed or paused it)"
    );
}

#[test]
fn command_on_a_crashed_node_is_impossible() {
    let e = error(&with_steps(&[
        r#"{ "crash": "m" }"#,
        r#"{ "command": { "on": "m", "args": ["PING"] } }"#,
    ]));
    assert_eq!(e.kind, ErrorKind::Impossible);
    assert_eq!(
        e.to_string(),
        "t.json:6:26: steps[1].command.on: node 'm' is crashed at this point, so it cannot run a \
         command (it is crashed: crashed at steps[0])\n  hint: add a `restart` step before this one"
    );
}

#[test]
fn check_of_syncs_needs_on() {
    let e = error(&with_steps(&[r#"{ "check": { "full_syncs": 1 } }"#]));
    assert_eq!(e.kind, ErrorKind::Impossible);
    assert_eq!(
        e.to_string(),
        "t.json:5:16: steps[0].check: `full_syncs` in a check need `on`: the node whose counters, \
         INFO or log are checked\n  hint: add \"on\": \"<node>\" to the check"
    );
}

#[test]
fn bad_count_string_shows_the_forms() {
    assert_eq!(
        message(&with_steps(&[
            r#"{ "check": { "on": "r1", "partial_syncs": ">=x" } }"#
        ])),
        "t.json:5:47: steps[0].check.partial_syncs: expected a count like 1 or \">= 1\" \
         (operators: ==, >=, >, <=, <), got \">=x\""
    );
}

#[test]
fn empty_command_args_are_rejected() {
    assert_eq!(
        message(&with_steps(&[
            r#"{ "command": { "on": "m", "args": [] } }"#
        ])),
        "t.json:5:39: steps[0].command.args: expected a non-empty array of strings, like \
         [\"SET\", \"k\", \"v\"], got an empty array"
    );
}

#[test]
fn json_syntax_error_uses_serde_json_position() {
    let e = error("{\n  \"name\": \"t\",\n  \"nodes\": {\"m\": {}}\n  \"steps\": []\n}");
    assert_eq!(e.kind, ErrorKind::Syntax);
    assert_eq!(
        e.to_string(),
        "t.json:4:3: invalid JSON: expected `,` or `}`"
    );
}

#[test]
fn number_where_a_string_is_expected_is_a_type_error() {
    let e = error(&with_steps(&[r#"{ "crash": 1 }"#]));
    assert_eq!(e.kind, ErrorKind::Type);
    assert_eq!(
        e.to_string(),
        "t.json:5:16: steps[0].crash: expected a node name, got 1"
    );
}

#[test]
fn duplicate_keys_are_rejected() {
    assert_eq!(
        message("{\"name\": \"a\", \"name\": \"b\", \"nodes\": {\"m\": {}}, \"steps\": []}"),
        "t.json:1:15: name: duplicate key `name` (first at line 1, column 2)"
    );
}

#[test]
fn keys_that_are_not_identifiers_are_quoted_in_paths() {
    assert_eq!(
        message("{\"name\": \"t\", \"steps\": [], \"nodes\": {\"my node\": {}}}"),
        "t.json:1:38: nodes.\"my node\": bad node name \"my node\": a node name starts with a \
         lowercase letter, followed by lowercase letters, digits, '_' or '-'"
    );
}

/// A fresh directory under the system temp dir for one test.
fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("replsim-scenario-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, file: &str, name: &str) -> PathBuf {
    let path = dir.join(file);
    let text =
        format!("{{\n  \"name\": \"{name}\",\n  \"nodes\": {{\"m\": {{}}}},\n  \"steps\": []\n}}");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn duplicate_scenario_names_across_files_point_at_the_second_name() {
    let dir = temp_dir("dup");
    let a = write(&dir, "a.json", "same");
    let b = write(&dir, "b.json", "same");
    let e = collect(&[a.clone(), b.clone()]).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}:2:11: name: scenario name 'same' is already used by {}\n  hint: scenario names \
             must be unique within a run",
            b.display(),
            a.display()
        )
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn load_dir_reads_json_files_sorted_by_name() {
    let dir = temp_dir("dir");
    write(&dir, "b.json", "second");
    write(&dir, "a.json", "first");
    std::fs::write(dir.join("notes.txt"), "not a scenario").unwrap();
    let names: Vec<String> = load_dir(&dir)
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["first", "second"]);
    // A directory and a file inside it: the file is loaded once.
    let both = collect(&[dir.clone(), dir.join("a.json")]).unwrap();
    assert_eq!(both.len(), 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn missing_file_is_an_io_error() {
    let e = Scenario::load(Path::new("/nonexistent/replsim/x.json")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Io);
    assert!(e
        .to_string()
        .starts_with("/nonexistent/replsim/x.json: cannot read the file: "));
}

#[test]
fn truncated_or_mangled_files_are_errors_not_panics() {
    for end in 0..FULL.len() {
        if FULL.is_char_boundary(end) {
            assert!(Scenario::parse("t.json", &FULL[..end]).is_err());
        }
    }
    // Replace each value-ish character in turn by other JSON.
    for (i, _) in FULL
        .char_indices()
        .filter(|(_, c)| c.is_ascii_alphanumeric())
        .step_by(7)
    {
        for replacement in [
            "0",
            "\"\"",
            "[]",
            "{}",
            "null",
            "-1",
            "1e400",
            "\"\\ud800\"",
        ] {
            let text = format!("{}{}{}", &FULL[..i], replacement, &FULL[i + 1..]);
            let _ = Scenario::parse("t.json", &text);
        }
    }
}

#[test]
fn missing_name_points_at_the_document() {
    assert_eq!(
        message("{\"nodes\": {\"m\": {}}, \"steps\": []}"),
        "t.json:1:1: name: missing: a scenario needs a name, like \"name\": \"chain-restart\""
    );
}

#[test]
fn at_and_after_together_are_rejected() {
    assert_eq!(
        message(&with_steps(&[
            r#"{ "at": "1s", "after": "1s", "crash": "r1" }"#
        ])),
        "t.json:5:19: steps[0].after: a step has either `at` or `after`, not both\n  \
         hint: `at` counts from the start of the run, `after` from the previous step"
    );
}

#[test]
fn step_level_for_on_a_workload_points_inside() {
    assert_eq!(
        message(&with_steps(&[
            r#"{ "workload": { "on": "m", "ops": 10 }, "for": "1s" }"#
        ])),
        "t.json:5:45: steps[0].for: `for` only goes with `partition`, `pause`, `throttle` and \
         `stall` steps, not `workload`\n  hint: a workload's `for` goes inside the workload object"
    );
}

#[test]
fn resume_after_a_timed_pause_is_impossible() {
    assert_eq!(
        message(&with_steps(&[
            r#"{ "pause": "r1", "for": "1s" }"#,
            r#"{ "resume": "r1" }"#
        ])),
        "t.json:6:17: steps[1].resume: node 'r1' resumes by itself: the pause at steps[0] has \
         `for`\n  hint: remove `for` from that pause to resume the node with a step"
    );
}

#[test]
fn workload_needs_ops_or_for_and_a_clean_mix() {
    assert_eq!(
        message(&with_steps(&[r#"{ "workload": { "on": "m" } }"#])),
        "t.json:5:19: steps[0].workload: a workload needs `ops`, `for` or both: how many \
         operations, or for how long"
    );
    assert_eq!(
        message(&with_steps(&[
            r#"{ "workload": { "on": "m", "ops": 1, "mix": ["sets", "sets"] } }"#
        ])),
        "t.json:5:58: steps[0].workload.mix[1]: \"sets\" is listed twice (also at \
         steps[0].workload.mix[0])"
    );
}

#[test]
fn shipped_scenarios_are_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    if dir.is_dir() {
        if let Err(e) = load_dir(&dir) {
            panic!("{e}");
        }
    }
}

#[test]
fn undecodable_string_is_a_syntax_error() {
    let e =
        error("{\"name\": \"x\", \"about\": \"\\ud800\", \"nodes\": {\"m\": {}}, \"steps\": []}");
    assert_eq!(e.kind, ErrorKind::Syntax);
    assert_eq!((e.line, e.column), (1, 24));
    assert!(e.message.starts_with("invalid JSON: bad string: "), "{e}");
}

/// The error for node r1's config `{"<param>": <value>}`, written on line 3
/// with the value at column 43 + the parameter's length.
fn config_value_error(param: &str, value: &str) -> ScenarioError {
    let text = format!(
        "{{\"name\": \"t\", \"steps\": [], \"nodes\": {{\n  \"m\": {{}},\n  \"r1\": {{\"replicaof\": \"m\", \"config\": {{\"{param}\": {value}}}}}\n}}}}"
    );
    let e = error(&text);
    assert_eq!(e.kind, ErrorKind::Value);
    assert_eq!(e.path, format!("nodes.r1.config.{param}"));
    let column = 43 + param.chars().count();
    assert_eq!((e.line, e.column), (3, column), "{e}");
    e
}

#[test]
fn fractional_repl_timeout_is_refused_with_redis_message() {
    let e = config_value_error("repl-timeout", "1.5");
    assert_eq!(
        e.to_string(),
        "t.json:3:55: nodes.r1.config.repl-timeout: Redis refuses repl-timeout \"1.5\": \
         argument couldn't be parsed into an integer"
    );
}

#[test]
fn non_numeric_hz_is_refused_with_redis_message() {
    assert_eq!(
        config_value_error("hz", "\"abc\"").message,
        "Redis refuses hz \"abc\": argument couldn't be parsed into an integer"
    );
}

#[test]
fn zero_maxclients_is_refused_with_redis_bounds() {
    assert_eq!(
        config_value_error("maxclients", "0").message,
        "Redis refuses maxclients \"0\": argument must be between 1 and 4294967295 inclusive"
    );
}

#[test]
fn unknown_memory_unit_in_backlog_size_is_refused() {
    assert_eq!(
        config_value_error("repl-backlog-size", "\"1xb\"").message,
        "Redis refuses repl-backlog-size \"1xb\": argument must be a memory value"
    );
}

#[test]
fn save_with_an_odd_number_of_words_is_refused() {
    assert_eq!(
        config_value_error("save", "\"1\"").message,
        "Redis refuses save \"1\": Invalid save parameters"
    );
}

#[test]
fn negative_min_replicas_max_lag_is_refused_with_redis_bounds() {
    assert_eq!(
        config_value_error("min-replicas-max-lag", "-1").message,
        "Redis refuses min-replicas-max-lag \"-1\": argument must be between 0 and 2147483647 \
         inclusive"
    );
}

#[test]
fn workload_ops_beyond_a_day_point_at_ops() {
    let e = error(&with_steps(&[
        r#"{ "workload": { "on": "m", "ops": 18446744073709551615 } }"#,
    ]));
    assert_eq!(e.kind, ErrorKind::Value);
    assert_eq!(
        e.to_string(),
        "t.json:5:39: steps[0].workload.ops: 18446744073709551615 ops at 1000/s take longer \
         than the 24h a run may last"
    );
}

#[test]
fn steps_adding_up_past_a_day_point_at_the_step_that_crosses() {
    let e = error(&with_steps(&[
        r#"{ "sleep": "3601s" }"#,
        r#"{ "sleep": "1430m" }"#,
    ]));
    assert_eq!(e.path, "steps[1].sleep");
    assert_eq!((e.line, e.column), (6, 16));
    assert!(
        e.message.starts_with("\"1430m\" brings the run to "),
        "{}",
        e.message
    );
    assert!(e.message.ends_with("longer than the 24h a run may last"));
}

#[test]
fn an_hour_of_sleep_is_accepted_and_bounds_the_run() {
    let s = Scenario::parse("t.json", &with_steps(&[r#"{ "sleep": "3601s" }"#])).unwrap();
    let bound = s.simulated_time_bound();
    assert!(bound >= Duration::from_secs(3601 + 60), "{bound:?}");
    assert!(bound <= replsim::scenario::MAX_SIMULATED_TIME);
}

#[test]
fn liveness_beyond_a_day_is_rejected() {
    let text = r#"{"name": "t", "liveness": "1440m", "nodes": {"m": {}}, "steps": []}"#;
    assert_eq!(
        message(text),
        "t.json:1:27: liveness: \"1440m\" and the run's 1m wrap-up are longer than the 24h a \
         run may last"
    );
}

#[test]
fn a_late_at_points_at_at() {
    let e = error(&with_steps(&[r#"{ "at": "1441m", "crash": "r1" }"#]));
    assert_eq!(
        e.to_string(),
        "t.json:5:13: steps[0].at: \"1441m\" is longer than the 24h a run may last"
    );
}

fn only_step(step: &str) -> Action {
    Scenario::parse("t.json", &with_steps(&[step]))
        .unwrap()
        .steps
        .remove(0)
        .action
}

#[test]
fn info_values_with_operators_compare_numerically() {
    let Action::Check(c) = only_step(
        r#"{ "check": { "on": "m", "info": { "connected_slaves": ">= 2", "master_repl_offset": "< 5", "role": "master", "rdb_changes_since_last_save": 3 } } }"#,
    ) else {
        panic!("not a check")
    };
    let cmp = |op, value| InfoExpect::Compare { op, value };
    let values: Vec<&InfoExpect> = c.info.iter().map(|(_, v)| v).collect();
    assert_eq!(
        values,
        [
            &cmp(CmpOp::Ge, 2.0),
            &cmp(CmpOp::Lt, 5.0),
            &InfoExpect::Equals("master".into()),
            &cmp(CmpOp::Eq, 3.0)
        ]
    );
    let Action::Await { condition, .. } = only_step(
        r#"{ "await": { "on": "r1", "info": "master_repl_offset", "equals": "== 3" }, "timeout": "5s" }"#,
    ) else {
        panic!("not an await")
    };
    assert_eq!(condition.to_string(), "r1 master_repl_offset == 3");
}

#[test]
fn operator_without_a_number_is_rejected() {
    let e = error(&with_steps(&[
        r#"{ "check": { "on": "m", "info": { "connected_slaves": ">= two" } } }"#,
    ]));
    assert_eq!(e.path, "steps[0].check.info.connected_slaves");
    assert_eq!(
        e.message,
        "expected a number after `>=`, like \">= 10\", got \">= two\""
    );
}

#[test]
fn expect_array_takes_strings_integers_nulls_and_objects() {
    let Action::Command { expect, .. } = only_step(
        r#"{ "command": { "on": "m", "args": ["MGET", "a", "b"] }, "expect": { "array": ["1", 2, null, { "error": "ERR" }, { "array": [] }] } }"#,
    ) else {
        panic!("not a command")
    };
    let expect = expect.unwrap();
    assert_eq!(
        expect,
        Expect::Array(vec![
            Expect::Bulk("1".into()),
            Expect::Integer(2),
            Expect::Nil,
            Expect::ErrorPrefix("ERR".into()),
            Expect::Array(vec![]),
        ])
    );
    assert_eq!(
        expect.to_string(),
        "1) \"1\" 2) (integer) 2 3) (nil) 4) (error) ERR... 5) (empty array)"
    );
    assert_eq!(
        message(&with_steps(&[
            r#"{ "command": { "on": "m", "args": ["MGET", "a"] }, "expect": { "array": [true] } }"#
        ])),
        "t.json:5:78: steps[0].expect.array[0]: expected a string (bulk), an integer, null \
         (nil) or an expect object like {\"reply\": \"OK\"}, got true"
    );
}

#[test]
fn await_on_a_command_reply_parses_and_displays() {
    let Action::Await { condition, timeout } = only_step(
        r#"{ "await": { "command": { "on": "r2", "args": ["GET", "x"] }, "expect": { "bulk": "1" } }, "timeout": "10s" }"#,
    ) else {
        panic!("not an await")
    };
    assert_eq!(timeout, Duration::from_secs(10));
    assert_eq!(
        condition,
        AwaitCondition::Reply {
            on: "r2".into(),
            args: vec!["GET".into(), "x".into()],
            db: 0,
            expect: Expect::Bulk("1".into()),
        }
    );
    assert_eq!(condition.to_string(), "GET x on r2 returns \"1\"");
    assert_eq!(AwaitCondition::Linked.to_string(), "linked");
    assert_eq!(
        message(&with_steps(&[
            r#"{ "await": { "command": { "on": "r2", "args": ["GET", "x"] } }, "timeout": "1s" }"#
        ])),
        "t.json:5:16: steps[0].await.expect: missing: an `await` on a command needs the reply \
         it waits for, like \"expect\": {\"bulk\": \"1\"}"
    );
}

/// The message for a step written as `step`, which must be an unknown
/// field error.
fn misplaced(step: &str) -> String {
    let e = error(&with_steps(&[step]));
    assert_eq!(e.kind, ErrorKind::UnknownField, "{e}");
    format!("{}: {}", e.path, e.message)
}

#[test]
fn background_inside_a_workload_belongs_to_the_step() {
    assert_eq!(
        misplaced(r#"{ "workload": { "on": "m", "ops": 1, "background": true } }"#),
        "steps[0].workload.background: unknown field `background` in a workload: `background` \
         belongs to the step, next to `workload`"
    );
}

#[test]
fn expect_inside_a_command_belongs_to_the_step() {
    assert_eq!(
        misplaced(
            r#"{ "command": { "on": "m", "args": ["PING"], "expect": { "reply": "PONG" } } }"#
        ),
        "steps[0].command.expect: unknown field `expect` in a command: `expect` belongs to the \
         step, next to `command`"
    );
}

#[test]
fn expect_inside_an_awaited_command_belongs_to_the_await_object() {
    assert_eq!(
        misplaced(
            r#"{ "await": { "command": { "on": "m", "args": ["PING"], "expect": { "reply": "PONG" } } }, "timeout": "1s" }"#
        ),
        "steps[0].await.command.expect: unknown field `expect` in a command: `expect` belongs \
         to the `await` object, next to `command`"
    );
}

#[test]
fn timeout_inside_an_await_object_belongs_to_the_step() {
    assert_eq!(
        misplaced(
            r#"{ "await": { "on": "m", "info": "role", "equals": "master", "timeout": "5s" } }"#
        ),
        "steps[0].await.timeout: unknown field `timeout` in an `await`: `timeout` belongs to \
         the step, next to `await`"
    );
}

#[test]
fn for_inside_a_partition_belongs_to_the_step() {
    assert_eq!(
        misplaced(r#"{ "partition": { "between": [["m"], ["r1"]], "for": "1s" } }"#),
        "steps[0].partition.for: unknown field `for` in a partition: `for` belongs to the step, \
         next to `partition`"
    );
}

#[test]
fn at_and_after_inside_an_action_belong_to_the_step() {
    assert_eq!(
        misplaced(r#"{ "check": { "converged": true, "at": "1s" } }"#),
        "steps[0].check.at: unknown field `at` in a check: `at` belongs to the step, next to \
         `check`"
    );
    assert_eq!(
        misplaced(r#"{ "workload": { "on": "m", "ops": 1, "after": "1s" } }"#),
        "steps[0].workload.after: unknown field `after` in a workload: `after` belongs to the \
         step, next to `workload`"
    );
}

#[test]
fn action_fields_at_step_level_belong_inside_the_action() {
    assert_eq!(
        misplaced(r#"{ "workload": { "on": "m" }, "ops": 10 }"#),
        "steps[0].ops: unknown field `ops` in a step: `ops` belongs inside `workload`"
    );
    assert_eq!(
        misplaced(r#"{ "command": { "on": "m", "args": ["GET", "k"] }, "bulk": "v" }"#),
        "steps[0].bulk: unknown field `bulk` in a step: `bulk` belongs inside `expect`"
    );
}

#[test]
fn network_field_at_top_level_belongs_inside_network() {
    let e = error(r#"{"name": "t", "latency": "1ms", "nodes": {"m": {}}, "steps": []}"#);
    assert_eq!(
        e.message,
        "unknown field `latency` at the top level: `latency` belongs inside `network`"
    );
}

#[test]
fn schema_reference_is_allowed_at_the_top_level() {
    let s = Scenario::parse(
        "t.json",
        r#"{"$schema": "../docs/scenario.schema.json", "name": "t", "nodes": {"m": {}}, "steps": []}"#,
    )
    .unwrap();
    assert_eq!(s.name, "t");
}

#[test]
fn a_clock_step_takes_a_signed_jump_and_a_drift_rate() {
    let s = Scenario::parse(
        "t.json",
        &with_steps(&[
            r#"{ "clock": { "node": "r1", "jump": "-1.5s" } }"#,
            r#"{ "clock": { "node": "m", "jump": "+20ms", "drift": -0.001 } }"#,
        ]),
    )
    .unwrap();
    assert_eq!(
        s.steps[0].action,
        replsim::scenario::Action::Clock {
            node: "r1".into(),
            jump_ms: Some(-1500),
            drift: None,
        }
    );
    assert_eq!(
        s.steps[1].action,
        replsim::scenario::Action::Clock {
            node: "m".into(),
            jump_ms: Some(20),
            drift: Some(-0.001),
        }
    );
    let bad_drift = message(&with_steps(&[
        r#"{ "clock": { "node": "r1", "drift": 2 } }"#,
    ]));
    assert!(
        bad_drift.starts_with("t.json:5:41: steps[0].clock.drift:"),
        "{bad_drift}"
    );
    assert!(bad_drift.contains("a drift rate in (-1, 1]"), "{bad_drift}");
    assert_eq!(
        message(&with_steps(&[r#"{ "clock": { "node": "r1" } }"#])),
        "t.json:5:16: steps[0].clock: a `clock` step needs `jump`, `drift` or both"
    );
    let bad_jump = message(&with_steps(&[
        r#"{ "clock": { "node": "r1", "jump": "-3" } }"#,
    ]));
    assert!(bad_jump.contains("steps[0].clock.jump"), "{bad_jump}");
    assert!(bad_jump.contains("hint: write \"3ms\""), "{bad_jump}");
}

/// A scenario naming `conf` for its node `m`, written with `files` (name,
/// text) into a fresh directory.
fn with_conf(conf: &str, files: &[(&str, &str)]) -> Result<Scenario, ScenarioError> {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "replsim-conf-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let path = dir.join("t.json");
    std::fs::write(
        &path,
        format!(r#"{{"name": "t", "nodes": {{"m": {{"conf": "{conf}"}}}}, "steps": []}}"#),
    )
    .unwrap();
    let result = Scenario::load(&path);
    std::fs::remove_dir_all(&dir).unwrap();
    result
}

#[test]
fn a_node_conf_is_read_relative_to_the_scenario_with_its_includes() {
    // No such file: a clear error naming the path.
    let error = with_conf("node.conf", &[]).unwrap_err();
    assert!(error.to_string().contains("nodes.m.conf"), "{error}");
    assert!(
        error.to_string().contains("cannot read redis.conf"),
        "{error}"
    );
    let scenario = with_conf(
        "node.conf",
        &[
            ("base.conf", "hz 20\nrepl-backlog-size 2mb\n"),
            ("node.conf", "include base.conf\nport 6380\nhz 30\n"),
        ],
    )
    .unwrap();
    let conf = scenario.nodes[0].conf.as_ref().expect("conf read");
    assert_eq!(conf.path, "node.conf");
    assert!(conf.text.contains("include base.conf"));
}

#[test]
fn a_bad_line_in_a_node_conf_is_an_error_with_the_conf_line_and_directive() {
    let error = with_conf("node.conf", &[("node.conf", "hz 20\nbogus-directive 1\n")]).unwrap_err();
    let text = error.to_string();
    assert!(text.contains("t.json:1:"), "{text}");
    assert!(text.contains("nodes.m.conf"), "{text}");
    assert!(text.contains("at line 2"), "{text}");
    assert!(text.contains(">>> 'bogus-directive 1'"), "{text}");
    assert!(
        text.contains("Bad directive or wrong number of arguments"),
        "{text}"
    );
}

const SENTINEL_NODES: &str = r#""nodes": {"m": {}, "r1": {"replicaof": "m"}}"#;

#[test]
fn a_sentinel_needs_a_host_of_its_own_and_a_node_to_monitor() {
    let clash = format!(
        r#"{{"name": "t", {SENTINEL_NODES}, "sentinels": {{"r1": {{"monitor": "m"}}}}, "steps": []}}"#
    );
    assert_eq!(
        message(&clash),
        "t.json:1:75: sentinels.r1: 'r1' is already a node: a Sentinel needs a host of its own"
    );
    let unknown = format!(
        r#"{{"name": "t", {SENTINEL_NODES}, "sentinels": {{"s1": {{"monitor": "m9"}}}}, "steps": []}}"#
    );
    assert!(
        message(&unknown).contains("sentinels.s1.monitor: unknown node 'm9' (nodes: m, r1)"),
        "{}",
        message(&unknown)
    );
    let missing = format!(
        r#"{{"name": "t", {SENTINEL_NODES}, "sentinels": {{"s1": {{"quorum": 2}}}}, "steps": []}}"#
    );
    assert!(
        message(&missing).contains("monitor"),
        "{}",
        message(&missing)
    );
}

#[test]
fn a_sentinel_config_value_is_judged_by_the_sentinels_own_parser() {
    let text = format!(
        r#"{{"name": "t", {SENTINEL_NODES}, "sentinels": {{"s1": {{"monitor": "m", "config": {{"down-after-milliseconds": "soon"}}}}}}, "steps": []}}"#
    );
    let e = error(&text);
    assert_eq!(e.kind, ErrorKind::Value);
    assert!(
        e.to_string()
            .contains("sentinels.s1.config.down-after-milliseconds: Sentinel refuses down-after-milliseconds \"soon\""),
        "{e}"
    );
    let unknown = format!(
        r#"{{"name": "t", {SENTINEL_NODES}, "sentinels": {{"s1": {{"monitor": "m", "config": {{"down-after": 5}}}}}}, "steps": []}}"#
    );
    assert_eq!(error(&unknown).kind, ErrorKind::UnknownField);
}

#[test]
fn faults_reach_sentinels_but_workloads_do_not() {
    let crash = format!(
        r#"{{"name": "t", {SENTINEL_NODES}, "sentinels": {{"s1": {{"monitor": "m"}}}}, "steps": [{{"crash": "s1"}}, {{"partition": {{"between": [["s1"], ["m"]]}}}}]}}"#
    );
    Scenario::parse("t.json", &crash).unwrap_or_else(|e| panic!("{e}"));
    let workload = format!(
        r#"{{"name": "t", {SENTINEL_NODES}, "sentinels": {{"s1": {{"monitor": "m"}}}}, "steps": [{{"workload": {{"on": "s1", "ops": 1}}}}]}}"#
    );
    assert!(
        message(&workload).contains("unknown node 's1'"),
        "{}",
        message(&workload)
    );
}

#[test]
fn following_the_master_needs_sentinels() {
    let text = r#"{"name": "t", "nodes": {"m": {}}, "steps": [{"workload": {"on": "m", "ops": 1, "follow": true}}]}"#;
    let e = error(text);
    assert_eq!(e.kind, ErrorKind::Impossible);
    assert!(
        e.to_string()
            .contains("steps[0].workload.follow: `follow` asks the scenario's Sentinels"),
        "{e}"
    );
}

#[test]
fn clients_names_the_clients_host_and_no_node_or_sentinel_may_take_it() {
    assert_eq!(
        message(r#"{"name": "t", "nodes": {"m": {}, "clients": {}}, "steps": []}"#),
        "t.json:1:34: nodes.clients: 'clients' is reserved: it names the workload clients' host in `cut` and `partition` steps"
    );
    let sentinel = format!(
        r#"{{"name": "t", {SENTINEL_NODES}, "sentinels": {{"clients": {{"monitor": "m"}}}}, "steps": []}}"#
    );
    assert!(
        message(&sentinel).contains("sentinels.clients: 'clients' is reserved"),
        "{}",
        message(&sentinel)
    );
    // In a partition and a cut it is a host like the nodes.
    let parsed = Scenario::parse(
        "t.json",
        r#"{"name": "t", "nodes": {"m": {}, "r1": {"replicaof": "m"}}, "steps": [
            {"partition": {"between": [["m", "clients"], ["r1"]]}, "for": "1s"},
            {"cut": ["clients", "r1"]}]}"#,
    );
    assert!(parsed.is_ok(), "{parsed:?}");
    // It is not a node: it cannot crash, and a partition names it once.
    assert!(
        message(r#"{"name": "t", "nodes": {"m": {}}, "steps": [{"crash": "clients"}]}"#)
            .contains("unknown node 'clients'")
    );
    assert!(message(
        r#"{"name": "t", "nodes": {"m": {}}, "steps": [{"partition": {"between": [["clients"], ["m", "clients"]]}}]}"#
    )
    .contains("node 'clients' is already in the partition"));
}
