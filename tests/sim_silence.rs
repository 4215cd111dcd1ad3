//! Silence as on real networks: a partition black-holes what crosses it
//! (a close included), and a host that loses power sends no FIN, so each
//! side learns of a dead peer only through its own timeouts. Each planted
//! `repl-timeout` bug is caught in the silent world and passes unseen in
//! its twin where the close gets through, which is what the silent model
//! adds.

mod common;
use common::assert_passes;

use replsim::scenario::Scenario;
use replsim::server::probe::PlantedBugs;
use replsim::sim::{run_seed_with, RunOptions, RunReport, Verdict};

fn run(text: &str, seed: u64, plant: &str) -> RunReport {
    let scenario = Scenario::parse("t.json", text).unwrap();
    let planted = PlantedBugs::default().with(plant).expect("known bug");
    run_seed_with(&scenario, seed, RunOptions { planted })
}

fn shipped_text(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/scenarios/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn assert_fails_with(report: &RunReport, seed: u64, needle: &str) {
    assert_ne!(report.verdict, Verdict::Pass, "seed {seed} passed");
    let details = report.verdict.details().join("\n");
    assert!(
        details.contains(needle),
        "seed {seed}: {details}\n{}",
        report.log.join("\n")
    );
}

/// m, r1 and r2 under writes; r1 crashes (with `fin` as given); m must
/// count one replica within 10 s.
fn replica_crash(fin: bool) -> String {
    format!(
        r#"{{"name": "t", "liveness": "60s", "nodes": {{
            "m": {{ "config": {{ "repl-timeout": "5" }} }},
            "r1": {{ "replicaof": "m" }}, "r2": {{ "replicaof": "m" }} }},
        "steps": [
            {{ "await": "linked", "timeout": "30s" }},
            {{ "workload": {{ "on": "m", "for": "8s", "rate": 100, "keys": 20 }}, "background": true }},
            {{ "sleep": "1s" }},
            {{ "crash": "r1", "fin": {fin} }},
            {{ "await": {{ "on": "m", "info": "connected_slaves", "equals": "1" }}, "timeout": "10s" }}
        ]}}"#
    )
}

#[test]
fn a_master_finds_a_powered_off_replica_only_through_repl_timeout() {
    let text = shipped_text("replica-powered-off");
    for seed in 0..2 {
        assert_passes(&run(&text, seed, "none"));
        assert_fails_with(
            &run(&text, seed, "master-ignores-repl-timeout"),
            seed,
            "connected_slaves",
        );
    }
    for seed in 0..2 {
        let report = run(&replica_crash(false), seed, "master-ignores-repl-timeout");
        assert_fails_with(&report, seed, "connected_slaves");
    }
}

#[test]
fn a_master_sees_a_replica_crash_with_a_fin_at_once_without_repl_timeout() {
    for seed in 0..2 {
        let report = run(&replica_crash(true), seed, "master-ignores-repl-timeout");
        assert_passes(&report);
    }
}

/// m and r1 under writes; a partition between them (black-holing as
/// given) holds until r1 reports its link down, then heals.
fn partition(black_hole: bool) -> String {
    format!(
        r#"{{"name": "t", "liveness": "60s", "nodes": {{
            "m": {{ "config": {{ "repl-timeout": "5" }} }},
            "r1": {{ "replicaof": "m", "config": {{ "repl-timeout": "5" }} }} }},
        "steps": [
            {{ "await": "linked", "timeout": "30s" }},
            {{ "workload": {{ "on": "m", "for": "10s", "rate": 100, "keys": 20 }}, "background": true }},
            {{ "sleep": "1s" }},
            {{ "partition": {{ "between": [["m"], ["r1"]], "black_hole": {black_hole} }} }},
            {{ "await": {{ "on": "r1", "info": "master_link_status", "equals": "down" }}, "timeout": "15s" }},
            {{ "heal": true }},
            {{ "await": "converged", "timeout": "60s" }}
        ]}}"#
    )
}

#[test]
fn a_replica_behind_a_black_hole_finds_out_only_through_repl_timeout() {
    let text = shipped_text("master-black-holed");
    for seed in 0..2 {
        assert_passes(&run(&text, seed, "none"));
        assert_fails_with(
            &run(&text, seed, "replica-ignores-repl-timeout"),
            seed,
            "master_link_status",
        );
        let report = run(&partition(true), seed, "replica-ignores-repl-timeout");
        assert_fails_with(&report, seed, "master_link_status");
    }
}

#[test]
fn a_close_that_crosses_the_partition_tells_the_replica_without_its_timeout() {
    for seed in 0..2 {
        // The master times out and closes; its FIN gets across.
        let report = run(&partition(false), seed, "replica-ignores-repl-timeout");
        assert_passes(&report);
        assert!(
            report
                .log
                .iter()
                .any(|l| l.contains("Disconnecting timedout replica")),
            "{}",
            report.log.join("\n")
        );
    }
}

/// r1 is told to replicate from m after m went down (with `fin` as given),
/// with a `repl-timeout` long enough to let the connect itself give up.
fn connect_to_crashed_master(fin: bool, wait: &str) -> String {
    format!(
        r#"{{"name": "t", "liveness": "60s", "nodes": {{
            "m": {{}}, "r1": {{ "config": {{ "repl-timeout": "300" }} }} }},
        "steps": [
            {{ "crash": "m", "fin": {fin} }},
            {{ "replicaof": {{ "node": "r1", "master": "m" }} }},
            {{ "sleep": "{wait}" }},
            {{ "check": {{ "on": "r1", "log": "Error condition on socket for SYNC: Connection timed out" }} }}
        ]}}"#
    )
}

#[test]
fn connecting_to_a_powered_off_host_times_out_after_the_syn_retries() {
    for seed in 0..2 {
        assert_passes(&run(
            &connect_to_crashed_master(false, "128s"),
            seed,
            "none",
        ));
        // Linux gives up at 127 s, not before.
        let early = run(&connect_to_crashed_master(false, "126s"), seed, "none");
        assert_fails_with(&early, seed, "Connection timed out");
    }
}

#[test]
fn connecting_to_a_host_whose_server_crashed_is_refused_at_once() {
    for seed in 0..2 {
        let report = run(&connect_to_crashed_master(true, "2s"), seed, "none");
        assert_fails_with(&report, seed, "Connection timed out");
        assert!(
            report
                .log
                .iter()
                .any(|l| l.contains("Error condition on socket for SYNC: Connection refused")),
            "{}",
            report.log.join("\n")
        );
    }
}

#[test]
fn a_replica_learns_of_its_masters_power_loss_from_the_reset_after_it_is_back() {
    let text = r#"{"name": "t", "liveness": "60s", "nodes": {
            "m": {}, "r1": { "replicaof": "m" } },
        "steps": [
            { "await": "linked", "timeout": "30s" },
            { "crash": "m", "fin": false },
            { "sleep": "5s" },
            { "check": { "on": "r1", "info": { "master_link_status": "up" } } },
            { "restart": "m" },
            { "await": { "on": "r1", "info": "master_link_status", "equals": "down" }, "timeout": "2s" },
            { "check": { "on": "r1", "log": "Connection with master lost." } },
            { "await": "converged", "timeout": "60s" }
        ]}"#;
    for seed in 0..2 {
        let report = run(text, seed, "none");
        assert_passes(&report);
        assert!(
            !report.log.iter().any(|l| l.contains("MASTER timeout")),
            "{}",
            report.log.join("\n")
        );
    }
}
