//! The account of lost acknowledged writes: each cause Redis's design
//! allows is reported under its name (and does not fail the run), a loss
//! nothing explains is a safety violation, and a scenario's `losses` bounds
//! pass where the losses stay within them and fail where they do not.

#![cfg(madsim)]

mod common;

use std::collections::BTreeSet;

use common::{shipped, shipped_text};
use replsim::scenario::{LossBounds, Scenario};
use replsim::sim::losses::LossCause;
use replsim::sim::{run_seed, RunReport, Verdict};

fn causes(report: &RunReport) -> BTreeSet<LossCause> {
    report.losses.lost.iter().map(|w| w.cause).collect()
}

fn describe(report: &RunReport) -> String {
    format!(
        "seed {} {}: {} / {}",
        report.seed,
        report.verdict.name(),
        report.verdict.details().join("; "),
        report.losses.summary()
    )
}

/// Runs `name` on `seeds` and checks every run passes, loses something,
/// and blames only `allowed` causes, all of `required` seen somewhere.
fn reports_causes(name: &str, seeds: u64, required: &[LossCause], allowed: &[LossCause]) {
    let scenario = shipped(name);
    let mut seen = BTreeSet::new();
    for seed in 0..seeds {
        let report = run_seed(&scenario, seed);
        assert_eq!(report.verdict, Verdict::Pass, "{}", describe(&report));
        assert!(!report.losses.lost.is_empty(), "{}", describe(&report));
        let found = causes(&report);
        assert!(
            found.iter().all(|c| allowed.contains(c)),
            "{}",
            describe(&report)
        );
        seen.extend(found);
    }
    for cause in required {
        assert!(seen.contains(cause), "{name}: never saw {cause}");
    }
}

#[test]
fn a_partitioned_master_loses_writes_in_flight_and_in_the_split_brain() {
    let both = [LossCause::InFlight, LossCause::SplitBrain];
    reports_causes("partitioned-master-keeps-its-clients", 2, &both, &both);
}

#[test]
fn a_persistence_less_master_restarting_empty_wipes_its_writes() {
    let wiped = [LossCause::Wiped];
    reports_causes("persistence-less-master-restarts-empty", 2, &wiped, &wiped);
}

#[test]
fn promoting_a_lagging_replica_loses_what_the_other_replica_had() {
    let lagging = [LossCause::LaggingReplicaPromoted];
    reports_causes("failover-to-a-lagging-replica", 2, &lagging, &lagging);
}

#[test]
fn a_coordinated_failover_and_a_clean_run_lose_nothing() {
    for name in ["coordinated-failover", "fanout-5", "promote-and-repoint"] {
        let report = run_seed(&shipped(name), 0);
        assert_eq!(report.verdict, Verdict::Pass, "{}", describe(&report));
        assert!(report.losses.acknowledged > 0, "{name}: no writes judged");
        assert!(
            report.losses.lost.is_empty(),
            "{name}: {}",
            describe(&report)
        );
    }
}

/// `scenario` with other `losses` bounds.
fn bounded(mut scenario: Scenario, text: &str) -> Scenario {
    let parsed = Scenario::parse(
        "bounds.json",
        &format!(r#"{{"name": "b", "nodes": {{"m": {{}}}}, "steps": [], "losses": {text}}}"#),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    scenario.losses = parsed.losses;
    scenario
}

#[test]
fn a_bound_on_lost_writes_fails_only_when_the_losses_break_it() {
    let partitioned = shipped("partitioned-master-keeps-its-clients");
    let none_lost = bounded(partitioned.clone(), r#"{"acknowledged": "== 0"}"#);
    let report = run_seed(&none_lost, 0);
    let Verdict::Expectation(failed) = &report.verdict else {
        panic!("{}", describe(&report));
    };
    assert!(
        failed[0].starts_with("losses.acknowledged: ") && failed[0].ends_with("expected == 0"),
        "{failed:?}"
    );
    // The same run within a bound it keeps.
    let lost = report.losses.lost.len();
    let kept = bounded(partitioned, &format!(r#"{{"acknowledged": "<= {lost}"}}"#));
    assert_eq!(run_seed(&kept, 0).verdict, Verdict::Pass);
    // No failover, nothing lost: "== 0" holds.
    let clean = bounded(
        shipped("fanout-5"),
        r#"{"acknowledged": "== 0", "waited": "== 0"}"#,
    );
    assert_eq!(run_seed(&clean, 0).verdict, Verdict::Pass);
}

#[test]
fn min_replicas_to_write_bounds_the_split_brain_and_its_absence_breaks_the_bound() {
    let refuses = shipped("partitioned-master-refuses-writes");
    assert_eq!(
        refuses.losses,
        LossBounds {
            split_brain: refuses.losses.split_brain,
            ..LossBounds::default()
        }
    );
    for seed in 0..2 {
        let report = run_seed(&refuses, seed);
        assert_eq!(report.verdict, Verdict::Pass, "{}", describe(&report));
    }
    // The same bound on the run without min-replicas-to-write.
    let keeps = shipped("partitioned-master-keeps-its-clients");
    let keeps = Scenario {
        losses: refuses.losses,
        ..keeps
    };
    let report = run_seed(&keeps, 0);
    let Verdict::Expectation(failed) = &report.verdict else {
        panic!("{}", describe(&report));
    };
    assert!(failed[0].starts_with("losses.split_brain: "), "{failed:?}");
}

#[test]
fn a_master_restarted_from_an_older_rdb_loses_its_later_writes_in_a_crash() {
    let scenario = Scenario::parse(
        "crash.json",
        r#"{ "name": "crash", "nodes": { "m": {} },
  "steps": [
    { "workload": { "on": "m", "ops": 100, "rate": 200, "keys": 20, "mix": ["strings"] } },
    { "command": { "on": "m", "args": ["SAVE"] }, "expect": { "reply": "OK" } },
    { "workload": { "on": "m", "ops": 100, "rate": 200, "keys": 20, "mix": ["strings"] } },
    { "crash": "m" },
    { "restart": "m" } ] }"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    for seed in 0..2 {
        let report = run_seed(&scenario, seed);
        assert_eq!(report.verdict, Verdict::Pass, "{}", describe(&report));
        assert!(!report.losses.lost.is_empty(), "{}", describe(&report));
        assert_eq!(
            causes(&report),
            BTreeSet::from([LossCause::Crash]),
            "{}",
            describe(&report)
        );
    }
}

#[test]
fn a_forced_failover_loses_only_what_its_lagging_target_had_not_received() {
    for seed in 0..2 {
        let report = run_seed(&shipped("forced-failover"), seed);
        assert_eq!(report.verdict, Verdict::Pass, "{}", describe(&report));
        assert!(!report.losses.lost.is_empty(), "{}", describe(&report));
        assert_eq!(causes(&report), BTreeSet::from([LossCause::InFlight]));
        // The first FAILOVER, whose target kept up, lost nothing: every
        // lost write was acknowledged by r1, the master of the second.
        assert!(
            report.losses.lost.iter().all(|w| w.node == "r1"),
            "{}",
            describe(&report)
        );
    }
}

/// `failover-to-a-lagging-replica` with r2, the replica that kept up,
/// crashed and restarted right after m, before r1 is promoted.
fn lagging_failover_whose_confirming_replica_crashes() -> Scenario {
    let mut json: serde_json::Value =
        serde_json::from_str(&shipped_text("failover-to-a-lagging-replica")).expect("json");
    let steps = json["steps"].as_array_mut().expect("steps");
    let crash_m = steps
        .iter()
        .position(|s| s["crash"] == "m")
        .expect("m crashes");
    steps.insert(crash_m + 1, serde_json::json!({"crash": "r2"}));
    steps.insert(crash_m + 2, serde_json::json!({"restart": "r2"}));
    Scenario::parse("crashed-confirmer.json", &json.to_string()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_lost_write_a_wait_confirmed_breaks_the_waited_bound_only_while_its_replica_stayed_up() {
    // r2 held the WAIT-confirmed writes and stayed up, r1 (lagging) was
    // promoted: they are lost although a surviving replica had them.
    let survived = bounded(
        shipped("failover-to-a-lagging-replica"),
        r#"{"waited": "== 0"}"#,
    );
    let report = run_seed(&survived, 0);
    let Verdict::Expectation(failed) = &report.verdict else {
        panic!("{}", describe(&report));
    };
    assert!(failed[0].starts_with("losses.waited: "), "{failed:?}");
    let confirmed: Vec<_> = report
        .losses
        .lost
        .iter()
        .filter(|w| !w.confirmed_on_survivors.is_empty())
        .collect();
    assert!(!confirmed.is_empty(), "{}", describe(&report));
    assert!(
        confirmed.iter().all(|w| w.confirmed_on_survivors == ["r2"]),
        "{}",
        describe(&report)
    );
    // The twin: r2 crashed after confirming them, so no replica that held
    // them survived, and the same bound holds, while WAIT-confirmed writes
    // are still lost.
    let crashed = lagging_failover_whose_confirming_replica_crashes();
    let report = run_seed(&bounded(crashed, r#"{"waited": "== 0"}"#), 0);
    assert_eq!(report.verdict, Verdict::Pass, "{}", describe(&report));
    assert!(report.losses.lost_waited() > 0, "{}", describe(&report));
    assert_eq!(report.losses.lost_confirmed_on_survivors(), 0);
}
