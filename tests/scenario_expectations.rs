//! The scenario's own expectations as a run judges them: an `await` on a
//! command's reply, `expect` on array replies, numeric INFO comparisons,
//! and failures that show values the way redis-cli does; and how the
//! runner ends faults around them (a timed partition, a node still
//! crashed when the steps end).

use replsim::scenario::Scenario;
use replsim::sim::{run_seed, Verdict};

fn scenario(steps: &[&str]) -> Scenario {
    let text = format!(
        r#"{{"name": "t", "liveness": "20s", "nodes": {{"m": {{}}, "r1": {{"replicaof": "m"}}}}, "steps": [{}]}}"#,
        steps.join(", ")
    );
    Scenario::parse("t.json", &text).unwrap()
}

#[test]
fn await_reply_array_expect_and_numeric_info_pass_on_a_healthy_pair() {
    let s = scenario(&[
        r#"{ "await": "linked", "timeout": "30s" }"#,
        r#"{ "command": { "on": "m", "args": ["RPUSH", "l", "a", "b"] }, "expect": { "integer": 2 } }"#,
        r#"{ "await": { "command": { "on": "r1", "args": ["LRANGE", "l", "0", "-1"] }, "expect": { "array": ["a", "b"] } }, "timeout": "10s" }"#,
        r#"{ "await": { "on": "r1", "info": "master_repl_offset", "equals": ">= 1" }, "timeout": "10s" }"#,
        r#"{ "check": { "on": "m", "info": { "connected_slaves": ">= 1", "role": "master" } } }"#,
    ]);
    let report = run_seed(&s, 1);
    assert_eq!(report.verdict, Verdict::Pass, "{:#?}", report.trace);
    assert!(
        report
            .trace
            .iter()
            .any(|l| l.ends_with("steps[1] command on m: RPUSH l a b -> (integer) 2")),
        "{:#?}",
        report.trace
    );
    assert!(
        report
            .trace
            .iter()
            .any(|l| l
                .contains("steps[2] await LRANGE l 0 -1 on r1 returns 1) \"a\" 2) \"b\" within"))
    );
}

#[test]
fn failed_expectations_read_like_redis_cli() {
    let s = scenario(&[
        r#"{ "await": "linked", "timeout": "30s" }"#,
        r#"{ "command": { "on": "m", "args": ["SET", "x", "1"] }, "expect": { "integer": 1 } }"#,
        r#"{ "await": { "command": { "on": "r1", "args": ["GET", "x"] }, "expect": { "bulk": "2" } }, "timeout": "1s" }"#,
        r#"{ "check": { "on": "r1", "info": { "master_link_status": ">= 1", "connected_slaves": "> 5" } } }"#,
    ]);
    let report = run_seed(&s, 1);
    let details = report.verdict.details();
    assert_eq!(
        details[0],
        "steps[1]: SET x 1 on m: expected (integer) 1, got OK"
    );
    assert_eq!(
        details[1],
        "steps[2]: await GET x on r1 returns \"2\" not satisfied within 1.000s (last reply: \"1\")"
    );
    assert_eq!(
        details[2],
        "steps[3]: r1 INFO master_link_status is \"up\", which is not a number, so it cannot \
         be compared: expected >= 1"
    );
    assert_eq!(
        details[3],
        "steps[3]: r1 INFO connected_slaves is 0, expected > 5"
    );
    assert_eq!(details.len(), 4, "{details:#?}");
}

#[test]
fn runs_longer_than_an_hour_of_simulated_time_finish() {
    // madsim's time limit follows the scenario's bound; a fixed one-hour
    // limit used to stop this run as a crash.
    let text = r#"{"name": "t", "nodes": {"m": {}}, "steps": [{ "sleep": "3601s" }, { "check": { "on": "m", "info": { "role": "master" } } }]}"#;
    let s = Scenario::parse("t.json", text).unwrap();
    let report = run_seed(&s, 1);
    assert_eq!(report.verdict, Verdict::Pass);
    assert!(report.simulated >= std::time::Duration::from_secs(3601));
}

#[test]
fn a_repointed_replica_still_crashed_when_the_steps_end_comes_back_to_its_configured_master() {
    // r2 is re-pointed to r1, then crashes and is still down when the steps
    // end. The runner restarts it as a `restart` step would: with the
    // master its node config names (m), which is the master convergence is
    // then judged against.
    let text = r#"{"name": "t", "liveness": "20s",
      "nodes": {"m": {}, "r1": {"replicaof": "m"}, "r2": {"replicaof": "m"}},
      "steps": [
        { "await": "linked", "timeout": "30s" },
        { "command": { "on": "m", "args": ["SET", "x", "1"] }, "expect": { "reply": "OK" } },
        { "replicaof": { "node": "r2", "master": "r1" } },
        { "await": "converged", "timeout": "30s" },
        { "crash": "r2" } ] }"#;
    let s = Scenario::parse("t.json", text).unwrap();
    passes_on_every_seed(&s, 0..3);
}
/// m, r1 and r2, linked, then the `partitions` steps, a write on m, and
/// what r1 and r2 answer to a GET of it 3 s later (a partitioned replica
/// has not got it); a `heal` then ends every partition, and all converge.
fn partitions_then_write(partitions: &[&str], r1_gets: &str, r2_gets: &str) -> Scenario {
    let mut steps = vec![r#"{ "await": "linked", "timeout": "30s" }"#.to_string()];
    steps.extend(partitions.iter().map(|s| s.to_string()));
    steps.push(
        r#"{ "command": { "on": "m", "args": ["SET", "x", "1"] }, "expect": { "reply": "OK" } }"#
            .into(),
    );
    steps.push(r#"{ "sleep": "3s" }"#.into());
    for (node, expect) in [("r1", r1_gets), ("r2", r2_gets)] {
        steps.push(format!(
            r#"{{ "command": {{ "on": "{node}", "args": ["GET", "x"] }}, "expect": {expect} }}"#
        ));
    }
    steps.push(r#"{ "heal": true }"#.into());
    steps.push(r#"{ "await": "converged", "timeout": "30s" }"#.into());
    let text = format!(
        r#"{{"name": "t", "liveness": "20s",
          "nodes": {{"m": {{}}, "r1": {{"replicaof": "m"}}, "r2": {{"replicaof": "m"}}}},
          "steps": [{}]}}"#,
        steps.join(", ")
    );
    Scenario::parse("t.json", &text).unwrap()
}

#[test]
fn a_timed_partition_heals_only_its_own_links() {
    // m <-> r1 stays partitioned when the timed m <-> r2 partition ends:
    // r1 misses the write, r2 gets it, and `heal` then ends the rest.
    let s = partitions_then_write(
        &[
            r#"{ "partition": { "between": [["m"], ["r1"]] } }"#,
            r#"{ "partition": { "between": [["m"], ["r2"]] }, "for": "1s" }"#,
        ],
        r#"{ "nil": true }"#,
        r#"{ "bulk": "1" }"#,
    );
    passes_on_every_seed(&s, 0..2);
}

#[test]
fn a_link_clogged_by_two_partitions_stays_clogged_until_both_ended() {
    // The untimed m <-> r1 partition still holds after a timed one over
    // the same link ends.
    let s = partitions_then_write(
        &[
            r#"{ "partition": { "between": [["m"], ["r1"]] } }"#,
            r#"{ "partition": { "between": [["r1"], ["m", "r2"]] }, "for": "1s" }"#,
        ],
        r#"{ "nil": true }"#,
        r#"{ "bulk": "1" }"#,
    );
    passes_on_every_seed(&s, 0..2);
}

/// Runs `seeds` of `scenario` and fails with the trace of the first seed
/// that does not pass.
fn passes_on_every_seed(scenario: &Scenario, seeds: std::ops::Range<u64>) {
    for seed in seeds {
        let report = run_seed(scenario, seed);
        assert_eq!(
            report.verdict,
            Verdict::Pass,
            "seed {seed}: {:#?}",
            report.trace
        );
    }
}

/// A background BLPOP on `m`, served by a later push, expecting `expect`.
fn background_pop(expect: &str) -> Scenario {
    scenario(&[
        r#"{ "await": "linked", "timeout": "30s" }"#,
        &format!(
            r#"{{ "command": {{ "on": "m", "args": ["BLPOP", "q", "0"] }}, "background": true, "expect": {expect} }}"#
        ),
        r#"{ "after": "2s", "command": { "on": "m", "args": ["RPUSH", "q", "job"] }, "expect": { "integer": 1 } }"#,
        r#"{ "await": "converged", "timeout": "10s" }"#,
    ])
}

#[test]
fn a_background_command_waits_while_the_steps_go_on_and_its_reply_is_judged_at_the_end() {
    let report = run_seed(&background_pop(r#"{ "array": ["q", "job"] }"#), 1);
    assert_eq!(report.verdict, Verdict::Pass, "{:#?}", report.trace);
    let served = report
        .trace
        .iter()
        .find(|l| l.contains("BLPOP q 0 -> ") && l.contains("replied at"))
        .unwrap_or_else(|| panic!("{:#?}", report.trace));
    // Served by the push 2 s after the link came up (5 s in), not at once.
    assert!(served.contains("replied at 7."), "{served}");
    // Its twin: the same run with another expectation fails on it.
    let report = run_seed(&background_pop(r#"{ "nil": true }"#), 1);
    let Verdict::Expectation(failed) = &report.verdict else {
        panic!("{:?}", report.verdict);
    };
    assert!(failed.iter().any(|l| l.contains("BLPOP q 0")), "{failed:?}");
}
