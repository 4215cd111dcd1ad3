//! The scenario's own expectations as a run judges them: an `await` on a
//! command's reply, `expect` on array replies, numeric INFO comparisons,
//! and failures that show values the way redis-cli does; and how the
//! runner ends faults around them (a node still crashed when the steps
//! end).

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
    for seed in 0..3 {
        let report = run_seed(&s, seed);
        assert_eq!(
            report.verdict,
            Verdict::Pass,
            "seed {seed}: {:#?}",
            report.trace
        );
    }
}
