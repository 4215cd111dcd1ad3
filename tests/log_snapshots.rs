//! The replication log of every shipped scenario for a fixed seed,
//! snapshotted with insta into the top-level `snapshots/` directory. A
//! change in replication behaviour shows up as a readable diff there
//! (`cargo insta review`, or `INSTA_UPDATE=always cargo test` to accept);
//! changes that do not alter replication leave every snapshot as it is.

#![cfg(madsim)]

use std::path::Path;

use replsim::scenario::load_dir;
use replsim::sim::{run_seed, Verdict};
use replsim::sweep;

/// The seed whose logs are kept.
const SNAPSHOT_SEED: u64 = 0;

#[test]
fn replication_logs_match_their_snapshots() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let scenarios = load_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
    let jobs: Vec<sweep::Job> = (0..scenarios.len())
        .map(|scenario| sweep::Job {
            scenario,
            seed: SNAPSHOT_SEED,
            regression: false,
        })
        .collect();
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let reports = sweep::execute(&scenarios, &jobs, workers, |_| {});
    for report in &reports {
        assert_eq!(
            report.verdict,
            Verdict::Pass,
            "{}",
            sweep::describe_failure(report)
        );
        let body = format!(
            "scenario {} ({}), seed {}\n{}\n",
            report.scenario,
            report.file.rsplit('/').next().unwrap_or(&report.file),
            report.seed,
            report.log.join("\n")
        );
        insta::with_settings!({
            snapshot_path => "../snapshots",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(report.scenario.clone(), body);
        });
    }
}

#[test]
fn snapshot_of_a_run_does_not_depend_on_the_number_of_workers() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let scenarios = load_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
    let scenario = scenarios
        .iter()
        .find(|s| s.name == "fanout-5")
        .expect("shipped");
    let alone = run_seed(scenario, SNAPSHOT_SEED);
    let index = scenarios.iter().position(|s| s.name == "fanout-5").unwrap();
    let busy: Vec<sweep::Job> = (0..4)
        .map(|_| sweep::Job {
            scenario: index,
            seed: SNAPSHOT_SEED,
            regression: false,
        })
        .collect();
    for report in sweep::execute(&scenarios, &busy, 2, |_| {}) {
        assert_eq!(report.log, alone.log);
    }
}
