//! Sentinels in scenario files: the runner follows the failovers they
//! make, clients that follow the master keep writing through them, the
//! run ends on the master they agree on, and the loss account tells what
//! Redis's design lost under Jepsen's partition with and without
//! min-replicas-to-write.

#![cfg(madsim)]

mod common;

use common::{shipped, shipped_text};
use replsim::scenario::Scenario;
use replsim::sim::losses::LossCause;
use replsim::sim::{run_seed, RunReport, Verdict};

fn describe(report: &RunReport) -> String {
    format!(
        "seed {} {}: {} / {}",
        report.seed,
        report.verdict.name(),
        report.verdict.details().join("; "),
        report.losses.summary()
    )
}

fn logged(report: &RunReport, text: &str) -> bool {
    report.log.iter().any(|line| line.contains(text))
}

#[test]
fn sentinels_fail_over_a_dead_master_and_convert_it_when_it_returns() {
    let scenario = shipped("sentinel-failover");
    for seed in 0..2 {
        let report = run_seed(&scenario, seed);
        assert_eq!(report.verdict, Verdict::Pass, "{}", describe(&report));
        for event in [
            "+odown",
            "+elected-leader",
            "+promoted-slave",
            "+switch-master",
            "+convert-to-slave",
        ] {
            assert!(logged(&report, event), "seed {seed}: no {event}");
        }
        // The clients followed the master: writes went on after m died.
        assert!(report.losses.acknowledged > 300, "{}", describe(&report));
    }
}

#[test]
fn a_sentinel_alone_sees_the_master_down_but_never_fails_it_over() {
    let report = run_seed(&shipped("sentinel-partitioned-away"), 0);
    assert_eq!(report.verdict, Verdict::Pass, "{}", describe(&report));
    assert!(report
        .log
        .iter()
        .any(|l| l.contains(" s1 ") && l.contains("+sdown master")));
    assert!(!logged(&report, "+odown"), "{}", report.log.join("\n"));
    assert!(!logged(&report, "+switch-master"));
}

#[test]
fn a_partitioned_master_under_sentinel_loses_its_split_brain_writes() {
    let report = run_seed(&shipped("sentinel-partitioned-master-keeps-its-clients"), 0);
    assert_eq!(report.verdict, Verdict::Pass, "{}", describe(&report));
    assert!(
        report.losses.count(LossCause::SplitBrain) > 0,
        "{}",
        describe(&report)
    );
    assert!(logged(&report, "+convert-to-slave"));
}

#[test]
fn min_replicas_to_write_ends_the_split_brain_under_sentinel() {
    let refuses = shipped("sentinel-partitioned-master-refuses-writes");
    let report = run_seed(&refuses, 0);
    assert_eq!(report.verdict, Verdict::Pass, "{}", describe(&report));
    assert_eq!(
        report.losses.count(LossCause::SplitBrain),
        0,
        "{}",
        describe(&report)
    );
    // Its bound, on the run without the setting, breaks.
    let keeps = Scenario {
        losses: refuses.losses,
        ..shipped("sentinel-partitioned-master-keeps-its-clients")
    };
    let report = run_seed(&keeps, 0);
    let Verdict::Expectation(failed) = &report.verdict else {
        panic!("{}", describe(&report));
    };
    assert!(failed[0].starts_with("losses.split_brain: "), "{failed:?}");
}

#[test]
fn a_run_whose_sentinels_name_different_masters_does_not_converge() {
    // s2 watches r1 under the same master name: the two never agree.
    let text = r#"{ "name": "disagree", "liveness": "5s",
      "nodes": { "m": {}, "r1": { "replicaof": "m" } },
      "sentinels": {
        "s1": { "monitor": "m", "quorum": 1 },
        "s2": { "monitor": "r1", "quorum": 1 } },
      "steps": [ { "await": "linked", "timeout": "30s" } ] }"#;
    let scenario = Scenario::parse("disagree.json", text).unwrap_or_else(|e| panic!("{e}"));
    let report = run_seed(&scenario, 0);
    let Verdict::Liveness(stuck) = &report.verdict else {
        panic!("{}", describe(&report));
    };
    assert!(
        stuck
            .iter()
            .any(|l| l.contains("the Sentinels do not agree on the master")),
        "{stuck:?}"
    );
    // The same nodes watched by Sentinels that agree converge.
    let agreeing = text.replace(r#""monitor": "r1""#, r#""monitor": "m""#);
    let scenario = Scenario::parse("agree.json", &agreeing).unwrap_or_else(|e| panic!("{e}"));
    let report = run_seed(&scenario, 0);
    assert_eq!(report.verdict, Verdict::Pass, "{}", describe(&report));
}

#[test]
fn a_sentinel_that_votes_twice_in_an_epoch_is_caught() {
    use replsim::server::probe::PlantedBugs;
    use replsim::sim::{run_seed_with, RunOptions};
    let planted = PlantedBugs {
        sentinel_votes_twice: true,
        ..PlantedBugs::default()
    };
    // Five Sentinels that see the master die at the same moment compete
    // for votes in one epoch: one that votes again is caught.
    let text = r#"{ "name": "contested",
      "nodes": { "m": {}, "r1": { "replicaof": "m" }, "r2": { "replicaof": "m" } },
      "sentinels": {
        "s1": { "monitor": "m", "quorum": 2, "config": { "down-after-milliseconds": 1000 } },
        "s2": { "monitor": "m", "quorum": 2, "config": { "down-after-milliseconds": 1000 } },
        "s3": { "monitor": "m", "quorum": 2, "config": { "down-after-milliseconds": 1000 } },
        "s4": { "monitor": "m", "quorum": 2, "config": { "down-after-milliseconds": 1000 } },
        "s5": { "monitor": "m", "quorum": 2, "config": { "down-after-milliseconds": 1000 } } },
      "steps": [
        { "await": "linked", "timeout": "30s" },
        { "sleep": "3s" },
        { "crash": "m", "fin": false },
        { "sleep": "10s" } ] }"#;
    let scenario = Scenario::parse("contested.json", text).unwrap_or_else(|e| panic!("{e}"));
    let mut caught = None;
    for seed in 0..16 {
        // The same runs without the bug hold every rule.
        let clean = run_seed(&scenario, seed);
        assert_eq!(clean.verdict, Verdict::Pass, "{}", describe(&clean));
        let report = run_seed_with(&scenario, seed, RunOptions { planted });
        if report
            .verdict
            .details()
            .iter()
            .any(|l| l.contains("voted twice in epoch"))
        {
            caught = Some(seed);
            break;
        }
    }
    assert!(caught.is_some(), "no seed caught a Sentinel voting twice");
}

#[test]
fn sentinel_promotes_the_replica_with_the_highest_offset() {
    let report = run_seed(&shipped("sentinel-promotes-the-best-replica"), 0);
    assert_eq!(report.verdict, Verdict::Pass, "{}", describe(&report));
    assert!(
        logged(&report, "+selected-slave slave 10.0.0.3:6379"),
        "r2 (10.0.0.3) not selected"
    );
    assert_eq!(
        report.losses.count(LossCause::LaggingReplicaPromoted),
        0,
        "{}",
        describe(&report)
    );
}

#[test]
fn parallel_syncs_one_reconfigures_the_replicas_one_at_a_time() {
    let report = run_seed(&shipped("sentinel-parallel-syncs"), 0);
    assert_eq!(report.verdict, Verdict::Pass, "{}", describe(&report));
    // The leader's reconfiguration events, in order: each replica is done
    // before the next is sent its SLAVEOF.
    let leader = report
        .log
        .iter()
        .find(|l| l.contains("+elected-leader"))
        .and_then(|l| l.split_whitespace().nth(1))
        .expect("a leader")
        .to_string();
    let steps: Vec<&str> = report
        .log
        .iter()
        .filter(|l| l.split_whitespace().nth(1) == Some(leader.as_str()))
        .filter_map(|l| {
            ["+slave-reconf-sent", "+slave-reconf-done"]
                .into_iter()
                .find(|e| l.contains(e))
        })
        .collect();
    assert_eq!(
        steps,
        [
            "+slave-reconf-sent",
            "+slave-reconf-done",
            "+slave-reconf-sent",
            "+slave-reconf-done",
            "+slave-reconf-sent",
            "+slave-reconf-done"
        ],
        "{}",
        report.log.join("\n")
    );
    assert!(report.losses.lost.is_empty(), "{}", describe(&report));
}

#[test]
fn a_persistence_less_master_restarted_faster_than_down_after_wipes_its_writes() {
    let report = run_seed(&shipped("sentinel-misses-a-fast-empty-restart"), 0);
    assert_eq!(report.verdict, Verdict::Pass, "{}", describe(&report));
    assert!(!logged(&report, "+odown"));
    assert!(
        report.losses.count(LossCause::Wiped) > 0,
        "{}",
        describe(&report)
    );
}

/// How many times a following workload moved on a `+switch-master` and
/// after asking the Sentinels, from its "workload done" line.
fn moves(report: &RunReport) -> (u64, u64) {
    let line = report
        .trace
        .iter()
        .find(|l| l.contains("workload done"))
        .expect("a workload ended");
    let count = |after: &str| -> u64 {
        line.split(after)
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no count after '{after}' in: {line}"))
    };
    (
        count("moved on +switch-master "),
        count("lost connection or READONLY "),
    )
}

#[test]
fn following_clients_cut_off_from_the_master_move_to_the_new_one_without_a_split_brain() {
    let scenario = shipped("sentinel-clients-follow-the-new-master");
    for seed in 0..2 {
        let report = run_seed(&scenario, seed);
        assert_eq!(report.verdict, Verdict::Pass, "{}", describe(&report));
        let (switches, rediscoveries) = moves(&report);
        assert_eq!(switches + rediscoveries, 1, "{}", report.trace.join("\n"));
        assert!(
            report.losses.split_brains.is_empty(),
            "{}",
            describe(&report)
        );
    }
}

#[test]
fn switch_master_moves_clients_off_a_master_they_still_reach() {
    let scenario = shipped("sentinel-clients-hear-the-switch");
    for seed in 0..2 {
        let report = run_seed(&scenario, seed);
        assert_eq!(report.verdict, Verdict::Pass, "{}", describe(&report));
        // m answered them all along: only the announcement moved them.
        assert_eq!(moves(&report), (1, 0), "{}", report.trace.join("\n"));
    }
    // The twin: clients that do not follow stay on m for the whole
    // partition, and the split brain breaks the scenario's bound.
    let text = shipped_text("sentinel-clients-hear-the-switch");
    let deaf = text.replace(r#""follow": true"#, r#""follow": false"#);
    assert_ne!(deaf, text);
    let deaf = Scenario::parse("deaf.json", &deaf).unwrap_or_else(|e| panic!("{e}"));
    let report = run_seed(&deaf, 0);
    assert!(
        matches!(&report.verdict, Verdict::Expectation(details)
            if details.iter().any(|d| d.contains("losses.split_brain"))),
        "{}",
        describe(&report)
    );
}

#[test]
fn clients_on_the_masters_side_of_the_partition_keep_writing_to_it() {
    // Jepsen's partition: the clients on m's side cannot hear the
    // Sentinels, and m's writes are lost in a split brain.
    let text = shipped_text("sentinel-clients-follow-the-new-master");
    let jepsen = text
        .replace(
            r#"[["m"], ["r1", "r2", "s1", "s2", "s3", "clients"]]"#,
            r#"[["m", "clients"], ["r1", "r2", "s1", "s2", "s3"]]"#,
        )
        // Healed after the workload, so that no later write replaces
        // what m acknowledged in the partition.
        .replace(r#""for": "6s""#, r#""for": "12s""#)
        .replace(r#""split_brain": "== 0s""#, r#""split_brain": ">= 1s""#);
    assert_ne!(jepsen, text);
    let scenario = Scenario::parse("jepsen.json", &jepsen).unwrap_or_else(|e| panic!("{e}"));
    let report = run_seed(&scenario, 0);
    assert_eq!(report.verdict, Verdict::Pass, "{}", describe(&report));
    assert!(
        report.losses.count(LossCause::SplitBrain) > 0,
        "{}",
        describe(&report)
    );
}

/// The simulated time a trace or log line starts with, in seconds.
fn time_of(line: &str) -> f64 {
    line.split('s')
        .next()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no time in: {line}"))
}

#[test]
fn a_leader_restarted_between_promotion_and_switch_comes_back_naming_the_promoted_replica() {
    let scenario = shipped("sentinel-leader-restarts-mid-failover");
    for seed in 0..2 {
        let report = run_seed(&scenario, seed);
        assert_eq!(report.verdict, Verdict::Pass, "{}", describe(&report));
        // The crashes fell in the window: the leader had promoted r1 and
        // had not switched yet.
        let promoted = report
            .log
            .iter()
            .find(|l| l.contains("+promoted-slave"))
            .expect("a promotion");
        let leader = promoted
            .split_whitespace()
            .nth(1)
            .expect("a Sentinel's line")
            .to_string();
        let crash = report
            .trace
            .iter()
            .find(|l| l.ends_with(&format!("crash {leader}")))
            .expect("the leader's crash");
        assert!(time_of(promoted) < time_of(crash), "{promoted} / {crash}");
        let switched_before_crash = report.log.iter().any(|l| {
            l.split_whitespace().nth(1) == Some(leader.as_str())
                && l.contains("+switch-master")
                && time_of(l) < time_of(crash)
        });
        assert!(!switched_before_crash, "{}", report.log.join("\n"));
    }
}
