//! Eviction for `maxmemory` in the simulation: a master that evicts keeps
//! its replicas converged (its DELs reach them) and the checker counts no
//! evicted key as a lost write; a replica told not to ignore maxmemory
//! evicts on its own and the checker reports the divergence.

#![cfg(madsim)]

mod common;

use common::{assert_passes, shipped, shipped_text};
use replsim::scenario::Scenario;
use replsim::sim::run_seed;

#[test]
fn a_master_evicting_keys_keeps_its_replicas_converged_and_loses_no_write() {
    let scenario = shipped("eviction-on-the-master");
    for seed in 0..4 {
        let report = run_seed(&scenario, seed);
        // The scenario's own checks require evictions on m and none on
        // the replicas.
        assert_passes(&report);
    }
}

#[test]
fn a_replica_that_does_not_ignore_maxmemory_diverges_and_the_checker_says_so() {
    let text = shipped_text("eviction-on-the-master");
    // r2 evicts by itself, below its master's limit.
    let text = text.replace(
        r#""r2": { "replicaof": "m", "config": { "maxmemory": "900000", "maxmemory-policy": "allkeys-lru" } }"#,
        r#""r2": { "replicaof": "m", "config": { "maxmemory": "890000", "maxmemory-policy": "allkeys-random", "replica-ignore-maxmemory": "no" } }"#,
    );
    assert!(
        text.contains("replica-ignore-maxmemory"),
        "the twin edit applied"
    );
    let scenario = Scenario::parse("twin.json", &text).unwrap_or_else(|e| panic!("{e}"));
    let report = run_seed(&scenario, 0);
    assert_eq!(report.verdict.name(), "safety", "{:?}", report.verdict);
    assert!(
        report
            .verdict
            .details()
            .iter()
            .any(|line| line.starts_with("r2 ") && line.contains("holding different data")),
        "{:?}",
        report.verdict.details()
    );
}
