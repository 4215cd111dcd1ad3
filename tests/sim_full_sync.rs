//! Full syncs as Redis 7.0 schedules them: diskless syncs asked for within
//! `repl-diskless-sync-delay` share one snapshot (one BGSAVE, one offset),
//! `repl-diskless-sync-max-replicas` starts it early, and a replica that
//! arrives while a diskless transfer runs waits for the next one.

mod common;
use common::assert_passes;

use replsim::scenario::Scenario;
use replsim::sim::{run_seed, RunReport};

/// Master `m` (with `config`) and replicas `r1`..`r3` attached by
/// REPLICAOF at the given seconds; the run ends once all have converged.
fn attach_at(config: &str, seconds: [&str; 3]) -> RunReport {
    let text = format!(
        r#"{{"name": "t", "nodes": {{"m": {{ "config": {{ {config} }} }}, "r1": {{}}, "r2": {{}}, "r3": {{}}}}, "steps": [
            {{ "command": {{ "on": "m", "args": ["SET", "a", "1"] }} }},
            {{ "at": "{}", "replicaof": {{ "node": "r1", "master": "m" }} }},
            {{ "at": "{}", "replicaof": {{ "node": "r2", "master": "m" }} }},
            {{ "at": "{}", "replicaof": {{ "node": "r3", "master": "m" }} }},
            {{ "await": "converged", "timeout": "60s" }}
        ]}}"#,
        seconds[0], seconds[1], seconds[2]
    );
    let report = run_seed(&Scenario::parse("t.json", &text).unwrap(), 0);
    assert_passes(&report);
    report
}

/// The master's log lines that contain `text`.
fn master_lines<'a>(report: &'a RunReport, text: &str) -> Vec<&'a str> {
    report
        .log
        .iter()
        .map(String::as_str)
        .filter(|line| line.contains(" m M ") && line.contains(text))
        .collect()
}

/// The offsets each replica's `+FULLRESYNC` announced, as its log shows.
fn full_resync_offsets(report: &RunReport) -> Vec<String> {
    report
        .log
        .iter()
        .filter_map(|line| line.split_once("Full resync from master: "))
        .map(|(_, id_and_offset)| id_and_offset.to_string())
        .collect()
}

#[test]
fn replicas_arriving_within_the_delay_share_one_diskless_snapshot() {
    let report = attach_at(r#""repl-diskless-sync-delay": "5""#, ["0s", "1s", "2s"]);
    let starts = master_lines(
        &report,
        "Starting BGSAVE for SYNC with target: replicas sockets",
    );
    assert_eq!(starts.len(), 1, "{:#?}", report.log);
    assert_eq!(
        master_lines(&report, "Delay next BGSAVE for diskless SYNC").len(),
        3
    );
    assert_eq!(
        master_lines(&report, "done reading from pipe, 3 replicas still up.").len(),
        1
    );
    let offsets = full_resync_offsets(&report);
    assert_eq!(offsets.len(), 3, "{offsets:?}");
    assert!(offsets.iter().all(|o| *o == offsets[0]), "{offsets:?}");
    // The transfer starts when the first replica has waited 5 s.
    assert!(starts[0].starts_with("5."), "{}", starts[0]);
}

#[test]
fn a_replica_arriving_during_a_diskless_transfer_waits_for_the_next_one() {
    // 2 MB of data through a 1 MB/s interface: the transfer to r1 and r2,
    // started at 5 s, still runs when r3 asks at 6 s (it ends after 6 s).
    let text = r#"{"name": "t", "nodes": {"m": { "config": { "repl-diskless-sync-delay": "5", "enable-debug-command": "yes" } }, "r1": {}, "r2": {}, "r3": {}}, "steps": [
        { "command": { "on": "m", "args": ["DEBUG", "POPULATE", "20000", "key", "100"] }, "expect": { "reply": "OK" } },
        { "throttle": { "from": "m", "bandwidth": "1mb/s" } },
        { "replicaof": { "node": "r1", "master": "m" } },
        { "at": "1s", "replicaof": { "node": "r2", "master": "m" } },
        { "at": "6s", "replicaof": { "node": "r3", "master": "m" } },
        { "await": "converged", "timeout": "60s" }
    ]}"#;
    let report = run_seed(&Scenario::parse("t.json", text).unwrap(), 0);
    assert_passes(&report);
    let waits = master_lines(
        &report,
        "Current BGSAVE has socket target. Waiting for next BGSAVE for SYNC",
    );
    assert_eq!(waits.len(), 1, "{:#?}", report.log);
    let starts = master_lines(
        &report,
        "Starting BGSAVE for SYNC with target: replicas sockets",
    );
    assert_eq!(starts.len(), 2, "{:#?}", report.log);
    assert_eq!(
        master_lines(&report, "done reading from pipe, 2 replicas still up.").len(),
        1
    );
    assert_eq!(
        master_lines(&report, "done reading from pipe, 1 replicas still up.").len(),
        1
    );
    // r3's delay counts from its own arrival, as Redis's does: the next
    // transfer starts 5 s after it asked, not when the first one ended.
    let first_done = master_lines(&report, "Background RDB transfer terminated with success")[0];
    assert!(first_done.as_bytes()[0] == b'6', "{first_done}");
    assert!(starts[1].starts_with("11."), "{}", starts[1]);
}

#[test]
fn replicas_arriving_after_a_transfer_ended_get_a_snapshot_of_their_own() {
    let report = attach_at(r#""repl-diskless-sync-delay": "1""#, ["0s", "5s", "10s"]);
    assert_eq!(
        master_lines(
            &report,
            "Starting BGSAVE for SYNC with target: replicas sockets"
        )
        .len(),
        3
    );
    assert!(master_lines(&report, "Current BGSAVE has socket target").is_empty());
}

#[test]
fn max_replicas_starts_the_diskless_transfer_before_the_delay() {
    let report = attach_at(
        r#""repl-diskless-sync-delay": "30", "repl-diskless-sync-max-replicas": "3""#,
        ["0s", "1s", "2s"],
    );
    let starts = master_lines(
        &report,
        "Starting BGSAVE for SYNC with target: replicas sockets",
    );
    assert_eq!(starts.len(), 1, "{:#?}", report.log);
    // Started once the third replica waited, long before 30 s.
    assert!(starts[0].starts_with("2."), "{}", starts[0]);
    // Its twin: with the limit at 4, the three wait out the delay.
    let report = attach_at(
        r#""repl-diskless-sync-delay": "30", "repl-diskless-sync-max-replicas": "4""#,
        ["0s", "1s", "2s"],
    );
    let starts = master_lines(
        &report,
        "Starting BGSAVE for SYNC with target: replicas sockets",
    );
    assert_eq!(starts.len(), 1);
    assert!(starts[0].starts_with("30."), "{}", starts[0]);
}

#[test]
fn disk_based_syncs_start_at_once_for_each_replica() {
    let report = attach_at(r#""repl-diskless-sync": "no""#, ["0s", "1s", "2s"]);
    assert_eq!(
        master_lines(&report, "Starting BGSAVE for SYNC with target: disk").len(),
        3
    );
    assert!(master_lines(&report, "Delay next BGSAVE").is_empty());
}
