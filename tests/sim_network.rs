//! The simulated network behaves like TCP on a real link: a reader that
//! stops reading backs up into its writer (bounded windows), and a link
//! carries no more than its bandwidth. Each behaviour is shown against a
//! twin run without the fault.

mod common;
use common::{assert_passes, shipped};

use replsim::scenario::Scenario;
use replsim::sim::{run_seed, RunReport};

fn scenario(master_config: &str, steps: &[&str]) -> Scenario {
    let text = format!(
        r#"{{"name": "t", "liveness": "30s", "network": {{"window": "64kb"}}, "nodes": {{"m": {{"config": {{{master_config}}}}}, "r1": {{"replicaof": "m"}}}}, "steps": [{}]}}"#,
        steps.join(", ")
    );
    Scenario::parse("t.json", &text).unwrap()
}

fn passes(scenario: &Scenario, seeds: std::ops::Range<u64>) -> Vec<RunReport> {
    seeds
        .map(|seed| {
            let report = run_seed(scenario, seed);
            assert_passes(&report);
            report
        })
        .collect()
}

/// r1's output buffer limit at m.
const LIMIT: &str = r#""client-output-buffer-limit": "replica 256kb 128kb 1""#;

/// 2 MB of writes from 8 clients, on 64 KB windows. While r1 reads
/// nothing from m, m's writes to r1 block once the window is full, the stream piles up in r1's output
/// buffer, and m drops r1 at its 256kb limit, as Redis does with a stuck
/// replica.
const WRITES: &str = r#"{ "workload": { "on": "m", "ops": 2000, "clients": 8, "keys": 100, "value_size": 1024, "mix": ["strings"] } }"#;

#[test]
fn a_stalled_replica_backs_up_into_its_master_until_the_output_limit_drops_it() {
    // The workload runs in the background while the stall holds.
    let stalled = scenario(
        LIMIT,
        &[
            r#"{ "await": "converged", "timeout": "30s" }"#,
            &format!("{}, \"background\": true }}", &WRITES[..WRITES.len() - 2]),
            r#"{ "stall": { "node": "r1", "from": "m" }, "for": "3s" }"#,
            r#"{ "await": "converged", "timeout": "60s" }"#,
            r#"{ "check": { "on": "m", "log": "for overcoming of output buffer limits" } }"#,
        ],
    );
    for report in passes(&stalled, 0..3) {
        assert!(
            report
                .trace
                .iter()
                .any(|l| l.contains("stall: r1 stops reading m")),
            "{:#?}",
            report.trace
        );
    }
}

#[test]
fn a_replica_that_keeps_reading_stays_within_the_output_limit() {
    passes(
        &scenario(
            LIMIT,
            &[
                r#"{ "await": "converged", "timeout": "30s" }"#,
                WRITES,
                r#"{ "await": "converged", "timeout": "60s" }"#,
                r#"{ "check": { "on": "r1", "full_syncs": 1, "partial_syncs": 0 } }"#,
            ],
        ),
        0..3,
    );
}

/// r1 joins a master holding about 1 MB; m's link to r1 carries 128 KB/s,
/// so the full sync still runs 4 s after it started.
const THROTTLED_SYNC: &str = r#"{ "workload": { "on": "m", "ops": 250, "keys": 250, "value_size": 4096, "mix": ["strings"] } }"#;

#[test]
fn a_throttled_link_makes_the_full_sync_take_as_long_as_the_bytes_need() {
    let text = format!(
        r#"{{"name": "t", "liveness": "60s", "nodes": {{"m": {{"config": {{"repl-diskless-sync-delay": 0}}}}, "r1": {{}}}}, "steps": [
        {THROTTLED_SYNC},
        {{ "throttle": {{ "from": "m", "to": "r1", "bandwidth": "128kb/s" }} }},
        {{ "replicaof": {{ "node": "r1", "master": "m" }} }},
        {{ "sleep": "4s" }},
        {{ "check": {{ "on": "r1", "info": {{ "master_link_status": "down" }} }} }},
        {{ "await": "converged", "timeout": "60s" }}]}}"#
    );
    passes(&Scenario::parse("t.json", &text).unwrap(), 0..3);
}

#[test]
fn an_unthrottled_link_finishes_the_same_full_sync_at_once() {
    let text = format!(
        r#"{{"name": "t", "liveness": "60s", "nodes": {{"m": {{"config": {{"repl-diskless-sync-delay": 0}}}}, "r1": {{}}}}, "steps": [
        {THROTTLED_SYNC},
        {{ "replicaof": {{ "node": "r1", "master": "m" }} }},
        {{ "sleep": "4s" }},
        {{ "check": {{ "on": "r1", "info": {{ "master_link_status": "up" }} }} }},
        {{ "await": "converged", "timeout": "60s" }}]}}"#
    );
    passes(&Scenario::parse("t.json", &text).unwrap(), 0..3);
}

/// The p99 lag in ms of `node` in `report`.
fn p99_ms(report: &RunReport, node: &str) -> u64 {
    report
        .lag
        .iter()
        .find(|l| l.node == node)
        .unwrap_or_else(|| panic!("no lag for {node}: {:?}", report.lag))
        .ms
        .p99
}

#[test]
fn a_chain_relieves_the_master_at_the_cost_of_lag_at_the_far_end() {
    let fanout = &passes(&shipped("lag-fanout-6"), 0..1)[0];
    let chain = &passes(&shipped("lag-chain-6"), 0..1)[0];
    // The master sends the stream six times in the fan-out, once in the
    // chain (where each replica but the last forwards it once).
    let sent = |report: &RunReport, node: &str| report.traffic[node].to_servers;
    assert!(
        sent(fanout, "m") > 4 * sent(chain, "m"),
        "fan-out {} chain {}",
        sent(fanout, "m"),
        sent(chain, "m")
    );
    assert!(sent(chain, "r1") > sent(chain, "m") / 2);
    assert!(sent(fanout, "r1") < sent(fanout, "m") / 100);
    // Each hop adds lag: the far end of the chain trails its head, and
    // every replica of the fan-out.
    assert!(p99_ms(chain, "r6") > p99_ms(chain, "r1"));
    for replica in ["r1", "r2", "r3", "r4", "r5", "r6"] {
        assert!(p99_ms(chain, "r6") > p99_ms(fanout, replica), "{replica}");
    }
}
