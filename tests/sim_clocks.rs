//! Per-node clocks: a node's wall clock can jump and drift while its
//! timers keep monotonic time, and expiry follows Redis's rules under
//! skew (a replica judges logical expiry by its own clock). The checker
//! judges every read by the serving node's clock and reports the reads a
//! skew decided instead of failing them.

mod common;
use common::{assert_passes, shipped};

use replsim::scenario::Scenario;
use replsim::sim::{run_seed, Verdict};

fn parse(text: &str) -> Scenario {
    Scenario::parse("t.json", text).unwrap()
}

#[test]
fn skewed_replicas_hide_keys_early_and_serve_them_late_without_a_false_alarm() {
    let scenario = shipped("clock-skew-expiry");
    for seed in 0..3 {
        let report = run_seed(&scenario, seed);
        assert_passes(&report);
        let skewed = &report.skewed_reads;
        assert!(skewed.hidden_early > 0, "{skewed:?}");
        assert!(skewed.served_late > 0, "{skewed:?}");
        assert!(skewed.examples.iter().any(|e| e.starts_with("r1 hid ")));
        assert!(skewed.examples.iter().any(|e| e.starts_with("r2 served ")));
    }
}

#[test]
fn without_skew_the_same_reads_follow_the_masters_clock() {
    // The shipped scenario without its two clock steps: r1 still serves
    // the key and r2 hides it, so both expectations fail.
    let text = std::fs::read_to_string(format!(
        "{}/scenarios/clock-skew-expiry.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let mut document: serde_json::Value = serde_json::from_str(&text).unwrap();
    let steps = document["steps"].as_array_mut().unwrap();
    steps.retain(|step| step.get("clock").is_none());
    let report = run_seed(&parse(&document.to_string()), 0);
    let Verdict::Expectation(failed) = &report.verdict else {
        panic!("{:?}", report.verdict)
    };
    assert!(failed.iter().any(|f| f.contains("r1")), "{failed:?}");
    assert!(failed.iter().any(|f| f.contains("r2")), "{failed:?}");
    assert_eq!(report.skewed_reads.count(), 0);
}

#[test]
fn a_drifting_clock_gains_its_rate_and_a_jump_adds_to_it() {
    let report = run_seed(
        &parse(
            r#"{"name": "t", "nodes": {"m": {}}, "steps": [
                { "clock": { "node": "m", "drift": 0.5 } },
                { "sleep": "4s" },
                { "clock": { "node": "m", "jump": "-1s", "drift": 0 } },
                { "sleep": "4s" },
                { "clock": { "node": "m", "jump": "+250ms" } }
            ]}"#,
        ),
        0,
    );
    assert_passes(&report);
    let offs: Vec<&String> = report
        .trace
        .iter()
        .filter(|line| line.contains(" clock m "))
        .collect();
    assert!(offs[0].ends_with("(now +0 ms off)"), "{offs:?}");
    assert!(offs[1].ends_with("(now +1000 ms off)"), "{offs:?}");
    assert!(offs[2].ends_with("(now +1250 ms off)"), "{offs:?}");
}

#[test]
fn a_clock_jump_fires_no_timer_the_replication_link_stays_up() {
    // Timers run on monotonic time: jumping r1's wall clock 10 minutes
    // ahead (or m's back) must not look like a silent master.
    let report = run_seed(
        &parse(
            r#"{"name": "t", "nodes": {"m": {}, "r1": {"replicaof": "m"}}, "steps": [
                { "await": "linked", "timeout": "30s" },
                { "clock": { "node": "r1", "jump": "+10m" } },
                { "clock": { "node": "m", "jump": "-10m" } },
                { "sleep": "3s" },
                { "check": { "on": "r1", "info": { "master_link_status": "up" }, "full_syncs": 1, "partial_syncs": 0 } }
            ]}"#,
        ),
        0,
    );
    assert_passes(&report);
    assert!(
        !report.log.iter().any(|l| l.contains("timeout")),
        "{}",
        report.log.join("\n")
    );
}
