//! Disks that fail as real ones do: a full or failing disk makes saves
//! fail with Redis's replies, log lines and INFO fields, and (with save
//! points configured and `stop-writes-on-bgsave-error yes`) the node
//! refuses writes with `-MISCONF` until a save succeeds; save points run
//! in simulated time; a failed save never harms the RDB already on disk.

mod common;
use common::assert_passes;

use replsim::scenario::Scenario;
use replsim::sim::{run_seed, RunReport, Verdict};

const MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots";

fn run(text: &str) -> RunReport {
    run_seed(&Scenario::parse("t.json", text).unwrap(), 0)
}

/// A master with `config`, a full disk, a BGSAVE, then a write.
fn full_disk(config: &str, write_expect: &str) -> String {
    format!(
        r#"{{"name": "t", "nodes": {{"m": {{ "persist": true, "config": {{ {config} }} }}}}, "steps": [
            {{ "command": {{ "on": "m", "args": ["SET", "a", "1"] }}, "expect": {{ "reply": "OK" }} }},
            {{ "disk": {{ "node": "m", "fault": "full" }} }},
            {{ "command": {{ "on": "m", "args": ["SAVE"] }}, "expect": {{ "error": "ERR" }} }},
            {{ "command": {{ "on": "m", "args": ["BGSAVE"] }}, "expect": {{ "reply": "Background saving started" }} }},
            {{ "check": {{ "on": "m", "info": {{ "rdb_last_bgsave_status": "err" }}, "log": ["Write error saving DB on disk(rdbSaveRio): No space left on device", "Background saving error"] }} }},
            {{ "command": {{ "on": "m", "args": ["SET", "b", "2"] }}, "expect": {write_expect} }}
        ]}}"#
    )
}

#[test]
fn a_failed_background_save_stops_writes_with_misconf() {
    let report = run(&full_disk(
        r#""save": "3600 1""#,
        &format!(r#"{{ "error": "{MISCONF}" }}"#),
    ));
    assert_passes(&report);
}

#[test]
fn without_stop_writes_on_bgsave_error_or_save_points_writes_go_on() {
    for config in [
        r#""save": "3600 1", "stop-writes-on-bgsave-error": "no""#,
        r#""save": """#,
    ] {
        let report = run(&full_disk(config, r#"{ "reply": "OK" }"#));
        assert_passes(&report);
    }
}

#[test]
fn writes_resume_once_a_save_succeeds_again_and_ping_is_refused_meanwhile() {
    let report = run(&format!(
        r#"{{"name": "t", "nodes": {{"m": {{ "config": {{ "save": "3600 1" }} }}}}, "steps": [
            {{ "disk": {{ "node": "m", "fault": "failing" }} }},
            {{ "command": {{ "on": "m", "args": ["BGSAVE"] }}, "expect": {{ "reply": "Background saving started" }} }},
            {{ "check": {{ "on": "m", "log": "Write error saving DB on disk(rdbSaveRio): Input/output error" }} }},
            {{ "command": {{ "on": "m", "args": ["PING"] }}, "expect": {{ "error": "{MISCONF}" }} }},
            {{ "command": {{ "on": "m", "args": ["GET", "a"] }}, "expect": {{ "nil": true }} }},
            {{ "disk": {{ "node": "m", "fault": "none" }} }},
            {{ "command": {{ "on": "m", "args": ["BGSAVE"] }}, "expect": {{ "reply": "Background saving started" }} }},
            {{ "check": {{ "on": "m", "info": {{ "rdb_last_bgsave_status": "ok" }} }} }},
            {{ "command": {{ "on": "m", "args": ["SET", "a", "1"] }}, "expect": {{ "reply": "OK" }} }}
        ]}}"#
    ));
    assert_passes(&report);
}

#[test]
fn a_save_point_saves_in_simulated_time_once_its_changes_and_seconds_are_reached() {
    let scenario = |writes: usize| {
        let sets: Vec<String> = (0..writes)
            .map(|i| format!(r#"{{ "command": {{ "on": "m", "args": ["SET", "k{i}", "v"] }} }}"#))
            .collect();
        format!(
            r#"{{"name": "t", "nodes": {{"m": {{ "config": {{ "save": "2 3" }} }}}}, "steps": [
                {},
                {{ "sleep": "3500ms" }},
                {{ "check": {{ "on": "m", "info": {{ "rdb_changes_since_last_save": "0" }}, "log": ["3 changes in 2 seconds. Saving...", "Background saving terminated with success"] }} }}
            ]}}"#,
            sets.join(", ")
        )
    };
    assert_passes(&run(&scenario(3)));
    // Two changes do not reach the point: nothing is saved.
    let report = run(&scenario(2));
    let Verdict::Expectation(failed) = &report.verdict else {
        panic!("{:?}", report.verdict)
    };
    assert!(
        failed[0].contains("rdb_changes_since_last_save"),
        "{failed:?}"
    );
}

#[test]
fn a_failed_save_leaves_the_old_rdb_for_the_restart() {
    // The first save holds a=1; b=2 is never saved (the disk is full), so
    // the node comes back from the old file after a crash.
    let report = run(
        r#"{"name": "t", "nodes": {"m": { "persist": true, "config": { "save": "" } }}, "steps": [
            { "command": { "on": "m", "args": ["SET", "a", "1"] } },
            { "command": { "on": "m", "args": ["SAVE"] }, "expect": { "reply": "OK" } },
            { "command": { "on": "m", "args": ["SET", "b", "2"] } },
            { "disk": { "node": "m", "fault": "full" } },
            { "command": { "on": "m", "args": ["SAVE"] }, "expect": { "error": "ERR" } },
            { "crash": "m", "lose_unsynced": true },
            { "disk": { "node": "m", "fault": "none" } },
            { "restart": "m" },
            { "sleep": "1s" },
            { "command": { "on": "m", "args": ["GET", "a"] }, "expect": { "bulk": "1" } },
            { "command": { "on": "m", "args": ["EXISTS", "b"] }, "expect": { "integer": 0 } }
        ]}"#,
    );
    assert_passes(&report);
}

/// The shipped torn-write scenario, with `plant` (a planted bug name).
fn torn_write(plant: &str) -> RunReport {
    let scenario = common::shipped("torn-rdb-write");
    let planted = replsim::server::probe::PlantedBugs::default()
        .with(plant)
        .expect("known bug");
    replsim::sim::run_seed_with(&scenario, 0, replsim::sim::RunOptions { planted })
}

#[test]
fn a_save_torn_by_a_power_loss_leaves_the_last_good_rdb_to_restart_from() {
    let report = torn_write("none");
    assert_passes(&report);
    assert!(report
        .log
        .iter()
        .any(|l| l.contains("m M * Done loading RDB, keys loaded: 1, keys expired: 0.")));
}

#[test]
fn a_save_that_overwrites_the_rdb_in_place_is_caught_when_a_power_loss_tears_it() {
    let report = torn_write("rdb-saved-in-place");
    assert_ne!(report.verdict, Verdict::Pass, "{:#?}", report.trace);
    assert!(
        report
            .log
            .iter()
            .any(|l| l.contains("m M # Short read or OOM loading DB.")),
        "{:#?}",
        report.log
    );
}
