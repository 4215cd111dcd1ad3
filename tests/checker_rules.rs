//! Every checker rule in both directions: a correct run where the rule must
//! hold (no false alarm), and a twin built to break it, where it must fire.
//! The twins plant known classes of Redis replication bugs in the core
//! (`PlantedBugs`), one at a time.

#![cfg(madsim)]

use std::path::Path;

use replsim::scenario::{load_dir, Scenario};
use replsim::server::probe::PlantedBugs;
use replsim::sim::{run_seed, run_seed_with, RunOptions, RunReport, Verdict};

fn scenario(text: &str) -> Scenario {
    Scenario::parse("inline.json", text).unwrap_or_else(|e| panic!("{e}"))
}

fn shipped(name: &str) -> Scenario {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    load_dir(&dir)
        .expect("shipped scenarios load")
        .into_iter()
        .find(|s| s.name == name)
        .expect("shipped scenario")
}

fn describe(report: &RunReport) -> String {
    format!(
        "seed {} {}: {}",
        report.seed,
        report.verdict.name(),
        report.verdict.details().join("; ")
    )
}

/// Every seed passes.
fn passes(scenario: &Scenario, seeds: std::ops::Range<u64>) {
    for seed in seeds {
        let report = run_seed(scenario, seed);
        assert_eq!(report.verdict, Verdict::Pass, "{}", describe(&report));
    }
}

/// Some seed fails with `kind` and a line containing `rule`; returns it.
fn fails(
    scenario: &Scenario,
    seeds: std::ops::Range<u64>,
    planted: PlantedBugs,
    kind: &str,
    rule: &str,
) -> RunReport {
    let mut seen = Vec::new();
    for seed in seeds {
        let report = run_seed_with(scenario, seed, RunOptions { planted });
        if report.verdict.name() == kind
            && report.verdict.details().iter().any(|l| l.contains(rule))
        {
            return report;
        }
        seen.push(describe(&report));
    }
    panic!("no seed failed {kind} with {rule:?}:\n{}", seen.join("\n"));
}

const LATE_REPLICA: &str = r#"{ "name": "late-replica", "seeds": 4,
  "nodes": { "m": { "config": { "repl-diskless-sync-delay": 0 } }, "r1": {} },
  "steps": [
    { "command": { "on": "m", "args": ["SET", "a", "1"] }, "expect": { "reply": "OK" } },
    { "replicaof": { "node": "r1", "master": "m" } },
    { "await": "converged", "timeout": "30s" },
    { "command": { "on": "r1", "args": ["GET", "a"] }, "expect": { "bulk": "1" } } ] }"#;

#[test]
fn a_replica_attached_after_writes_passes_in_every_sync_mode() {
    passes(&scenario(LATE_REPLICA), 0..4);
    let disk = LATE_REPLICA.replace(
        r#""repl-diskless-sync-delay": 0"#,
        r#""repl-diskless-sync": "no""#,
    );
    passes(&scenario(&disk), 0..4);
    let delayed = LATE_REPLICA.replace(r#""repl-diskless-sync-delay": 0"#, "");
    passes(&scenario(&delayed), 0..2);
}

#[test]
fn a_full_sync_snapshot_missing_a_key_is_a_safety_violation() {
    let planted = PlantedBugs {
        rdb_drops_a_key: true,
        ..PlantedBugs::default()
    };
    fails(
        &scenario(LATE_REPLICA),
        0..4,
        planted,
        "safety",
        "holding different data",
    );
    let disk = LATE_REPLICA.replace(
        r#""repl-diskless-sync-delay": 0"#,
        r#""repl-diskless-sync": "no""#,
    );
    fails(
        &scenario(&disk),
        0..4,
        planted,
        "safety",
        "holding different data",
    );
}

/// Replicas attach to an empty master, so the full syncs carry nothing a
/// planted RDB bug could drop; the master then saves and restarts.
const MASTER_RESTART: &str = r#"{ "name": "master-restart-from-rdb", "seeds": 4,
  "nodes": { "m": { "persist": true }, "r1": { "replicaof": "m" } },
  "steps": [
    { "await": "linked", "timeout": "30s" },
    { "workload": { "on": "m", "ops": 200, "rate": 500, "keys": 30, "mix": ["strings", "hashes"] } },
    { "await": "converged", "timeout": "30s" },
    { "command": { "on": "m", "args": ["SAVE"] }, "expect": { "reply": "OK" } },
    { "crash": "m" },
    { "after": "1s", "restart": "m" },
    { "await": "converged", "timeout": "30s" } ] }"#;

#[test]
fn a_master_restarted_from_its_rdb_starts_a_history_its_replicas_continue() {
    passes(&scenario(MASTER_RESTART), 0..3);
}

#[test]
fn a_master_restarted_from_an_rdb_missing_a_key_is_a_safety_violation() {
    let planted = PlantedBugs {
        rdb_drops_a_key: true,
        ..PlantedBugs::default()
    };
    fails(
        &scenario(MASTER_RESTART),
        0..3,
        planted,
        "safety",
        "started history",
    );
}

const REPLICA_RESTART: &str = r#"{ "name": "replica-restart-from-rdb", "seeds": 4,
  "nodes": { "m": {}, "r1": { "replicaof": "m", "persist": true } },
  "steps": [
    { "await": "linked", "timeout": "30s" },
    { "workload": { "on": "m", "ops": 200, "rate": 500, "keys": 30 } },
    { "await": "converged", "timeout": "30s" },
    { "command": { "on": "r1", "args": ["SAVE"] }, "expect": { "reply": "OK" } },
    { "crash": "r1" },
    { "after": "1s", "restart": "r1" },
    { "await": "converged", "timeout": "30s" } ] }"#;

#[test]
fn a_replica_restarted_from_its_rdb_continues_its_history() {
    passes(&scenario(REPLICA_RESTART), 0..3);
}

#[test]
fn a_replica_restarted_from_an_rdb_missing_a_key_is_a_safety_violation() {
    let planted = PlantedBugs {
        rdb_drops_a_key: true,
        ..PlantedBugs::default()
    };
    fails(
        &scenario(REPLICA_RESTART),
        0..3,
        planted,
        "safety",
        "holding different data",
    );
}

const FLUSHALL: &str = r#"{ "name": "flushall-mid-stream", "seeds": 4,
  "nodes": { "m": {}, "r1": { "replicaof": "m" } },
  "steps": [
    { "await": "linked", "timeout": "30s" },
    { "workload": { "on": "m", "ops": 100, "rate": 500, "keys": 30 } },
    { "command": { "on": "m", "args": ["FLUSHALL"] }, "expect": { "reply": "OK" } },
    { "workload": { "on": "m", "ops": 100, "rate": 500, "keys": 30 } },
    { "await": "converged", "timeout": "30s" } ] }"#;

#[test]
fn flushall_in_the_stream_keeps_replicas_on_the_masters_history() {
    passes(&scenario(FLUSHALL), 0..3);
}

#[test]
fn a_flushall_left_out_of_the_stream_is_a_safety_violation() {
    let planted = PlantedBugs {
        flushall_not_propagated: true,
        ..PlantedBugs::default()
    };
    fails(
        &scenario(FLUSHALL),
        0..3,
        planted,
        "safety",
        "holding different data",
    );
}

const SWITCH_MASTER: &str = r#"{ "name": "switch-to-another-master", "seeds": 4,
  "nodes": { "m1": {}, "m2": {}, "r": { "replicaof": "m1" } },
  "steps": [
    { "await": "linked", "timeout": "30s" },
    { "workload": { "on": "m1", "ops": 100, "rate": 500, "keys": 30 } },
    { "workload": { "on": "m2", "ops": 100, "rate": 500, "keys": 30, "mix": ["hashes"] } },
    { "await": "converged", "timeout": "30s" },
    { "replicaof": { "node": "r", "master": "m2" } },
    { "await": "converged", "timeout": "30s" },
    { "check": { "on": "r", "full_syncs": 2 } } ] }"#;

#[test]
fn a_replica_switched_to_another_master_takes_that_masters_history() {
    passes(&scenario(SWITCH_MASTER), 0..3);
}

#[test]
fn a_switch_to_another_master_with_a_wrong_snapshot_is_a_safety_violation() {
    let planted = PlantedBugs {
        rdb_drops_a_key: true,
        ..PlantedBugs::default()
    };
    fails(
        &scenario(SWITCH_MASTER),
        0..3,
        planted,
        "safety",
        "holding different data",
    );
}

const PROMOTION: &str = r#"{ "name": "promotion", "seeds": 4, "liveness": "5s",
  "nodes": { "m": {}, "r1": { "replicaof": "m" }, "r2": { "replicaof": "m" } },
  "steps": [
    { "await": "linked", "timeout": "30s" },
    { "workload": { "on": "m", "ops": 200, "rate": 500, "keys": 30, "mix": ["strings", "sets"] } },
    { "await": "converged", "timeout": "30s" },
    { "replicaof": { "node": "r1", "master": null } },
    { "replicaof": { "node": "r2", "master": "r1" } },
    { "await": "converged", "timeout": "10s" },
    { "workload": { "on": "r1", "ops": 100, "rate": 500, "keys": 30 } },
    { "await": "converged", "timeout": "30s" } ] }"#;

#[test]
fn a_promoted_replica_starts_a_history_its_siblings_continue_through_replid2() {
    passes(&scenario(PROMOTION), 0..3);
}

#[test]
fn a_replica_that_keeps_its_old_id_after_continue_is_caught() {
    let planted = PlantedBugs {
        ignore_continue_new_id: true,
        ..PlantedBugs::default()
    };
    fails(
        &scenario(PROMOTION),
        0..3,
        planted,
        "safety",
        "never stood at",
    );
}

#[test]
fn a_replica_on_another_replication_id_than_its_master_has_not_converged() {
    // No writes after the promotion: the data and offsets agree, only the
    // replication id tells the replica did not follow its master's history.
    let quiet = scenario(
        &PROMOTION
            .replace(
                r#"{ "workload": { "on": "r1", "ops": 100, "rate": 500, "keys": 30 } },"#,
                "",
            )
            .replace(r#""timeout": "10s""#, r#""timeout": "3s""#)
            // No PING into r1's stream before the run ends, so that only
            // the id differs.
            .replace(
                r#""r1": { "replicaof": "m" }"#,
                r#""r1": { "replicaof": "m", "config": { "repl-ping-replica-period": 3600 } }"#,
            ),
    );
    passes(&quiet, 0..2);
    let planted = PlantedBugs {
        ignore_continue_new_id: true,
        ..PlantedBugs::default()
    };
    let report = fails(&quiet, 0..2, planted, "liveness", "replication id");
    assert!(
        report
            .trace
            .iter()
            .any(|l| l.contains("EXPECTATION FAILED")),
        "the await converged must time out too"
    );
}

const CUT: &str = r#"{ "name": "cut-then-converged", "seeds": 4,
  "nodes": { "m": {}, "r1": { "replicaof": "m" } },
  "steps": [
    { "await": "linked", "timeout": "30s" },
    { "workload": { "on": "m", "ops": 50, "rate": 500, "keys": 10 } },
    { "await": "converged", "timeout": "30s" },
    { "cut": ["m", "r1"] },
    STEP ] }"#;

#[test]
fn converged_right_after_a_cut_waits_until_both_ends_noticed_it() {
    // Checked at once, the cut is not noticed yet: not converged.
    let at_once = scenario(&CUT.replace("STEP", r#"{ "check": { "converged": true } }"#));
    fails(
        &at_once,
        0..2,
        PlantedBugs::default(),
        "expectation",
        "not converged",
    );
    // Awaited, it is satisfied only on a link made after the cut.
    let awaited = scenario(&CUT.replace(
        "STEP",
        r#"{ "await": "converged", "timeout": "30s" },
           { "check": { "on": "r1", "partial_syncs": 1 } }"#,
    ));
    passes(&awaited, 0..4);
}

#[test]
fn an_ack_for_bytes_not_yet_applied_is_a_safety_violation() {
    let busy = scenario(
        r#"{ "name": "big-values", "seeds": 4,
          "network": { "latency": "1ms..20ms" },
          "nodes": { "m": {}, "r1": { "replicaof": "m" } },
          "steps": [
            { "await": "linked", "timeout": "30s" },
            { "workload": { "on": "m", "for": "4s", "rate": 800, "keys": 50, "value_size": "20000..60000", "clients": 2 } },
            { "await": "converged", "timeout": "30s" } ] }"#,
    );
    passes(&busy, 0..2);
    let planted = PlantedBugs {
        ack_unapplied_bytes: true,
        ..PlantedBugs::default()
    };
    fails(&busy, 0..6, planted, "safety", "applied only up to");
}

const WAIT: &str = r#"{ "name": "wait-counts", "seeds": 4,
  "nodes": { "m": {}, "r1": { "replicaof": "m" } },
  "steps": [
    { "await": "linked", "timeout": "30s" },
    { "command": { "on": "m", "args": ["SET", "k", "v"] }, "expect": { "reply": "OK" } },
    { "command": { "on": "m", "args": ["WAIT", "1", "2000"] }, "expect": { "integer": 1 } },
    { "pause": "r1" },
    { "command": { "on": "m", "args": ["SET", "k", "w"] }, "expect": { "reply": "OK" } },
    { "command": { "on": "m", "args": ["WAIT", "1", "500"] }, "expect": { "integer": 0 } },
    { "resume": "r1" },
    { "await": "converged", "timeout": "30s" } ] }"#;

#[test]
fn wait_returning_more_replicas_than_hold_the_write_is_a_safety_violation() {
    passes(&scenario(WAIT), 0..3);
    let planted = PlantedBugs {
        wait_ignores_acks: true,
        ..PlantedBugs::default()
    };
    fails(
        &scenario(WAIT),
        0..3,
        planted,
        "safety",
        "replicas held that data",
    );
}

#[test]
fn a_transaction_split_in_the_stream_is_a_safety_violation() {
    let transactions = scenario(
        r#"{ "name": "transactions", "seeds": 4,
          "nodes": { "m": {}, "r1": { "replicaof": "m" }, "r2": { "replicaof": "r1" } },
          "steps": [
            { "await": "linked", "timeout": "30s" },
            { "workload": { "on": "m", "ops": 300, "rate": 500, "keys": 20, "dbs": 3, "mix": ["multi", "strings"] } },
            { "await": "converged", "timeout": "30s" } ] }"#,
    );
    passes(&transactions, 0..3);
    let planted = PlantedBugs {
        multi_without_wrapper: true,
        ..PlantedBugs::default()
    };
    fails(&transactions, 0..3, planted, "safety", "never stood at");
}

#[test]
fn a_replica_deleting_an_expired_key_on_read_is_caught_by_a_shipped_scenario() {
    let planted = PlantedBugs {
        replica_deletes_expired_on_read: true,
        ..PlantedBugs::default()
    };
    let report = fails(
        &shipped("expiry-consistency"),
        0..20,
        planted,
        "safety",
        "served a read",
    );
    eprintln!("caught at {}", describe(&report));
}

/// r2 is cut off while m and r1 take more writes, then r2 (the lagging
/// one) is promoted and takes writes of its own, past their offsets,
/// before r1 and m are re-pointed to it. They ask to continue on r2's
/// replid2 from beyond the point where r2's history forked: a master must
/// refuse that and full sync them (whatever the timing: r2's own offset is
/// already past theirs).
const LAGGING_PROMOTION: &str = r#"{ "name": "lagging-promotion", "seeds": 3,
  "nodes": { "m": {}, "r1": { "replicaof": "m" }, "r2": { "replicaof": "m" } },
  "steps": [
    { "await": "converged", "timeout": "30s" },
    { "workload": { "on": "m", "ops": 100, "rate": 500, "keys": 30 } },
    { "await": "converged", "timeout": "30s" },
    { "partition": { "between": [["m"], ["r2"]] } },
    { "workload": { "on": "m", "ops": 50, "rate": 500, "keys": 30 } },
    { "sleep": "1s" },
    { "replicaof": { "node": "r2", "master": null } },
    { "workload": { "on": "r2", "ops": 100, "rate": 500, "keys": 30 } },
    { "replicaof": { "node": "r1", "master": "r2" } },
    { "replicaof": { "node": "m", "master": "r2" } },
    { "heal": true },
    { "await": "converged", "timeout": "30s" } ] }"#;

#[test]
fn a_lagging_promoted_replica_full_syncs_the_siblings_that_were_ahead() {
    passes(&scenario(LAGGING_PROMOTION), 0..3);
}

#[test]
fn a_partial_resync_on_replid2_beyond_the_fork_is_caught() {
    let planted = PlantedBugs {
        psync_replid2_past_fork: true,
        ..PlantedBugs::default()
    };
    fails(
        &scenario(LAGGING_PROMOTION),
        0..3,
        planted,
        "safety",
        "never stood at",
    );
}

/// m restarts with an empty dataset and a new history; r1 full syncs from
/// it, and r2 below r1 must follow r1 into the new history.
const CHAIN_UNDER_A_FULL_SYNC: &str = r#"{ "name": "chain-under-a-full-sync", "seeds": 3,
  "nodes": { "m": {}, "r1": { "replicaof": "m" }, "r2": { "replicaof": "r1" } },
  "steps": [
    { "await": "converged", "timeout": "30s" },
    { "workload": { "on": "m", "ops": 100, "rate": 500, "keys": 30 } },
    { "await": "converged", "timeout": "30s" },
    { "crash": "m" },
    { "restart": "m" },
    { "await": "converged", "timeout": "30s" } ] }"#;

#[test]
fn a_chained_replica_follows_its_master_into_a_full_sync() {
    passes(&scenario(CHAIN_UNDER_A_FULL_SYNC), 0..3);
}

#[test]
fn a_chained_replica_that_keeps_its_replicas_after_a_full_sync_is_caught() {
    let planted = PlantedBugs {
        chain_keeps_subreplicas_on_full_sync: true,
        ..PlantedBugs::default()
    };
    fails(
        &scenario(CHAIN_UNDER_A_FULL_SYNC),
        0..3,
        planted,
        "safety",
        "never stood at",
    );
}

/// The backlog (16kb) wraps many times over before r1's link is cut; r1
/// then continues from the wrapped backlog.
const PARTIAL_RESYNC_FROM_A_WRAPPED_BACKLOG: &str = r#"{ "name": "wrapped-backlog", "seeds": 3,
  "nodes": { "m": { "config": { "repl-backlog-size": "16kb" } }, "r1": { "replicaof": "m" } },
  "steps": [
    { "await": "converged", "timeout": "30s" },
    { "workload": { "on": "m", "ops": 400, "rate": 1000, "keys": 50, "value_size": 200 } },
    { "await": "converged", "timeout": "30s" },
    { "cut": ["m", "r1"] },
    { "workload": { "on": "m", "ops": 20, "rate": 1000, "keys": 50 } },
    { "await": "converged", "timeout": "30s" },
    { "check": { "on": "r1", "full_syncs": 1, "partial_syncs": 1 } } ] }"#;

#[test]
fn a_partial_resync_from_a_wrapped_backlog_continues_exactly() {
    passes(&scenario(PARTIAL_RESYNC_FROM_A_WRAPPED_BACKLOG), 0..3);
}

/// The stream that starts one byte off breaks the protocol at its first
/// frame; the replica drops the link and full syncs again, as Redis does
/// ("Master using the inline protocol. Desync?"), so the bug shows as the
/// second full sync the scenario does not expect.
#[test]
fn a_backlog_read_one_byte_off_after_it_wrapped_is_caught() {
    let planted = PlantedBugs {
        backlog_read_off_by_one_after_wrap: true,
        ..PlantedBugs::default()
    };
    let report = fails(
        &scenario(PARTIAL_RESYNC_FROM_A_WRAPPED_BACKLOG),
        0..3,
        planted,
        "expectation",
        "r1 full_syncs 2, expected == 1",
    );
    assert!(
        report
            .log
            .iter()
            .any(|line| line.contains("Receiving inline protocol from master")),
        "{}",
        describe(&report)
    );
}

/// A workload runs on r1 while r1 is promoted: writes before the promotion
/// are refused (a read-only replica), writes after it are accepted (a
/// master). Neither is a violation.
const PROMOTED_UNDER_LOAD: &str = r#"{ "name": "promote-under-load", "seeds": 3, "liveness": "20s",
  "nodes": { "m": {}, "r1": { "replicaof": "m" } },
  "steps": [
    { "await": "linked", "timeout": "30s" },
    { "workload": { "on": "r1", "for": "2s", "rate": 50, "keys": 10, "mix": ["strings"] }, "background": true },
    { "sleep": "0.5s" },
    { "replicaof": { "node": "r1", "master": null } },
    { "sleep": "2s" } ] }"#;

#[test]
fn writes_accepted_after_a_replica_was_promoted_under_load_are_no_violation() {
    passes(&scenario(PROMOTED_UNDER_LOAD), 0..3);
}

#[test]
fn a_read_only_replica_accepting_client_writes_is_a_safety_violation() {
    let planted = PlantedBugs {
        replica_accepts_client_writes: true,
        ..PlantedBugs::default()
    };
    fails(
        &scenario(PROMOTED_UNDER_LOAD),
        0..3,
        planted,
        "safety",
        "accepted on a read-only replica",
    );
}

/// Writes to many keys (few overwritten) while the master hands its role
/// to r1 with FAILOVER; the link to r1 is too slow for the stream, so r1
/// lags when the failover starts. The run ends once both converged on r1.
const FAILOVER_UNDER_WRITES: &str = r#"{ "name": "failover-under-writes", "seeds": 8,
  "nodes": { "m": {}, "r1": { "replicaof": "m", "config": { "replica-announce-ip": "r1" } } },
  "steps": [
    { "await": "linked", "timeout": "30s" },
    { "throttle": { "from": "m", "to": "r1", "bandwidth": "8kb/s" } },
    { "workload": { "on": "m", "for": "2s", "rate": 400, "keys": 5000, "clients": 2, "mix": ["strings"] }, "background": true },
    { "after": "800ms", "command": { "on": "m", "args": ["FAILOVER", "TO", "r1", "6379"] }, "expect": { "reply": "OK" } },
    { "await": "converged", "timeout": "30s" } ] }"#;

#[test]
fn a_coordinated_failover_loses_no_acknowledged_write() {
    passes(&scenario(FAILOVER_UNDER_WRITES), 0..4);
    passes(&shipped("coordinated-failover"), 0..2);
}

#[test]
fn a_failover_that_does_not_wait_for_its_target_is_caught() {
    let planted = PlantedBugs {
        failover_before_sync: true,
        ..PlantedBugs::default()
    };
    fails(
        &scenario(FAILOVER_UNDER_WRITES),
        0..8,
        planted,
        "safety",
        "acknowledged write lost",
    );
}

/// Subscribers on a master, on two replicas and on one chained behind the
/// first, while the master's link to that replica is cut (a partial
/// resync) and the other replica crashes and full-syncs: every message
/// arrives where Redis guarantees it, once and in order, and none that
/// was not published.
#[test]
fn subscribers_get_what_redis_pubsub_guarantees_across_a_cut_and_a_full_sync() {
    passes(&shipped("pubsub-across-replicas"), 0..3);
}

/// The pub/sub lines of a failure.
fn pubsub_rules(report: &RunReport) -> Vec<String> {
    report
        .verdict
        .details()
        .into_iter()
        .filter(|l| l.starts_with("pubsub "))
        .collect()
}

#[test]
fn a_replica_skipping_a_publish_of_its_stream_breaks_pubsub_completeness() {
    let planted = PlantedBugs {
        replica_drops_a_publish: true,
        ..PlantedBugs::default()
    };
    let scenario = shipped("pubsub-across-replicas");
    let report = fails(&scenario, 0..2, planted, "safety", "pubsub completeness");
    let lines = pubsub_rules(&report);
    // The replica never ran it: the stream half of the rule catches it.
    assert!(
        lines.iter().all(|l| l.starts_with("pubsub completeness")
            && l.contains("put it in the stream at offset")),
        "{lines:#?}"
    );
}

/// The window of completeness spans a partial resync: what the backlog
/// resends must reach the subscribers of the replica that was cut off.
#[test]
fn a_replica_skipping_what_the_backlog_resends_breaks_pubsub_completeness() {
    let planted = PlantedBugs {
        replica_drops_publishes_after_partial_resync: true,
        ..PlantedBugs::default()
    };
    let scenario = shipped("pubsub-across-replicas");
    let report = fails(&scenario, 0..2, planted, "safety", "pubsub completeness");
    let lines = pubsub_rules(&report);
    // Only r1 resyncs partially (r3 behind it keeps its link).
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with("pubsub completeness on r1:")),
        "{lines:#?}"
    );
}

#[test]
fn a_replica_delivering_a_publish_twice_breaks_pubsub_order() {
    let planted = PlantedBugs {
        replica_repeats_a_publish: true,
        ..PlantedBugs::default()
    };
    let scenario = shipped("pubsub-across-replicas");
    let report = fails(&scenario, 0..2, planted, "safety", "pubsub order");
    let lines = pubsub_rules(&report);
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with("pubsub order") && l.contains("a second time")),
        "{lines:#?}"
    );
}

#[test]
fn a_replica_applying_spublish_as_publish_delivers_pubsub_phantoms() {
    let planted = PlantedBugs {
        replica_applies_spublish_as_publish: true,
        ..PlantedBugs::default()
    };
    let scenario = shipped("pubsub-across-replicas");
    let report = fails(&scenario, 0..2, planted, "safety", "pubsub phantom");
    let lines = pubsub_rules(&report);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("pubsub phantom") && l.contains("published by SPUBLISH")),
        "{lines:#?}"
    );
    // Its shard subscribers miss what the replica ran: the node half of
    // completeness.
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("pubsub completeness") && l.contains("ran its SPUBLISH")),
        "{lines:#?}"
    );
}
