//! The `replsim` command line as a user runs it: exit codes for each kind
//! of outcome, `replay` identical across processes and across debug and
//! release builds, `--json` lines, `--shard`, `--save-failures`, `validate`.

#![cfg(madsim)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn replsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_replsim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("run replsim")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn data(name: &str) -> String {
    format!("tests/data/cli/{name}")
}

#[test]
fn exit_code_is_zero_when_every_seed_passes() {
    let output = replsim(&["run", &data("passes.json")]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(stdout(&output).contains("2 seeds, 0 failed"));
}

#[test]
fn an_impossible_expectation_exits_four_with_the_replay_command() {
    let output = replsim(&[
        "run",
        &data("impossible-expectation.json"),
        "--seeds",
        "0..2",
    ]);
    assert_eq!(output.status.code(), Some(4), "{}", stdout(&output));
    let text = stdout(&output);
    assert!(
        text.contains("FAIL impossible-expectation seed 0 (expectation)"),
        "{text}"
    );
    assert!(
        text.contains(
            "replay: cargo run -- replay tests/data/cli/impossible-expectation.json --seed 0"
        ),
        "{text}"
    );
}

#[test]
fn a_scenario_that_never_converges_exits_two_naming_the_stuck_replica() {
    let output = replsim(&["run", &data("never-converges.json"), "--seed", "0"]);
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
    let text = stdout(&output);
    assert!(text.contains("(liveness)"), "{text}");
    assert!(text.contains("r1: link"), "{text}");
}

#[test]
fn a_panic_in_the_server_core_exits_three() {
    let output = replsim(&["run", &data("crashes.json")]);
    assert_eq!(output.status.code(), Some(3), "{}", stdout(&output));
    assert!(stdout(&output).contains("panic: DEBUG PANIC called"));
}

#[test]
fn bad_files_and_bad_usage_exit_sixty_four() {
    let output = replsim(&["run", &data("bad-file.json")]);
    assert_eq!(output.status.code(), Some(64));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr).trim(),
        "tests/data/cli/bad-file.json:4:25: steps[0].crash: unknown node 'r9' (nodes: m)"
    );
    assert_eq!(
        replsim(&["validate", &data("bad-file.json")]).status.code(),
        Some(64)
    );
    assert_eq!(
        replsim(&["run", "scenarios", "--no-such-flag"])
            .status
            .code(),
        Some(64)
    );
    assert_eq!(
        replsim(&["run", "scenarios", "--shard", "9/4"])
            .status
            .code(),
        Some(64)
    );
    assert_eq!(
        replsim(&["run", "no-such-dir/x.json"]).status.code(),
        Some(64)
    );
    assert_eq!(replsim(&["validate", "scenarios"]).status.code(), Some(0));
}

#[test]
fn replay_is_identical_in_separate_processes() {
    let args = [
        "replay",
        "scenarios/link-cut-partial-resync.json",
        "--seed",
        "5",
    ];
    let (first, second) = (replsim(&args), replsim(&args));
    assert_eq!(first.status.code(), Some(0));
    let text = stdout(&first);
    assert!(text.starts_with(&format!(
        "replsim {} replay: scenario link-cut-partial-resync (scenarios/link-cut-partial-resync.json) seed 5\n",
        env!("CARGO_PKG_VERSION")
    )));
    assert!(text.contains(" == steps[2] cut m <-> r1"), "{text}");
    assert!(
        text.contains(" r1 S * Successful partial resynchronization with master."),
        "{text}"
    );
    assert!(text.contains("verdict: pass"), "{text}");
    assert_eq!(text, stdout(&second));
}

/// The release binary, when it was built (`cargo build --release`, which
/// the benchmarks need). The README's commands and CI share the dev
/// profile and never build it, so without it the comparison is skipped
/// rather than doubling the build.
fn release_binary() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/replsim");
    if path.exists() {
        return Some(path);
    }
    eprintln!("skipped: no target/release/replsim (cargo build --release)");
    None
}

#[test]
fn replay_is_identical_in_debug_and_release_builds() {
    let Some(release) = release_binary() else {
        return;
    };
    let args = ["replay", "scenarios/busy-random.json", "--seed", "2"];
    let debug = replsim(&args);
    let optimised = Command::new(release)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    // The banner names the version only, so whole outputs compare.
    assert_eq!(stdout(&debug), stdout(&optimised));
}

#[test]
fn json_lines_carry_each_replicas_lag_and_what_each_node_sent() {
    let text = stdout(&replsim(&[
        "run",
        "scenarios/link-cut-partial-resync.json",
        "--seeds",
        "0..1",
        "--json",
    ]));
    let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    let lag = &line["lag"]["r1"];
    assert!(lag["samples"].as_u64().unwrap() > 0, "{line}");
    for measure in ["bytes", "ms"] {
        let spread = &lag[measure];
        assert!(spread["p50"].as_u64().unwrap() <= spread["p99"].as_u64().unwrap());
        assert!(spread["p99"].as_u64().unwrap() <= spread["max"].as_u64().unwrap());
        assert!(
            spread["max"].as_u64().unwrap() > 0,
            "writes under load lag: {line}"
        );
    }
    assert!(
        line["lag"].get("m").is_none(),
        "a master has no lag: {line}"
    );
    assert!(
        line["sent"]["m"]["to_servers"].as_u64().unwrap() > 0,
        "{line}"
    );
    assert!(
        line["sent"]["m"]["to_clients"].as_u64().unwrap() > 0,
        "{line}"
    );
}

#[test]
fn json_lines_carry_one_result_per_seed_and_shards_partition_the_seeds() {
    let all = stdout(&replsim(&[
        "run",
        &data("passes.json"),
        "--seeds",
        "0..6",
        "--json",
    ]));
    let lines: Vec<serde_json::Value> = all
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 6);
    for line in &lines {
        assert_eq!(line["scenario"], "passes");
        assert_eq!(line["verdict"], "pass");
        assert_eq!(line["trace_hash"].as_str().unwrap().len(), 40);
        assert!(line["simulated_ms"].as_u64().unwrap() > 0);
    }
    let mut sharded: Vec<(u64, String)> = Vec::new();
    for shard in ["1/3", "2/3", "3/3"] {
        let text = stdout(&replsim(&[
            "run",
            &data("passes.json"),
            "--seeds",
            "0..6",
            "--json",
            "--shard",
            shard,
        ]));
        for line in text.lines() {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            sharded.push((
                value["seed"].as_u64().unwrap(),
                value["trace_hash"].as_str().unwrap().to_string(),
            ));
        }
    }
    sharded.sort();
    let mut whole: Vec<(u64, String)> = lines
        .iter()
        .map(|v| {
            (
                v["seed"].as_u64().unwrap(),
                v["trace_hash"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    whole.sort();
    assert_eq!(
        sharded, whole,
        "shards together run every seed once, with the same results"
    );
}

#[test]
fn save_failures_records_failing_seeds_as_regressions() {
    let dir = std::env::temp_dir().join(format!("replsim-save-failures-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("impossible.json");
    std::fs::copy(data("impossible-expectation.json"), &file).unwrap();
    let file_arg = file.to_str().unwrap();
    let output = replsim(&["run", file_arg, "--seeds", "3..5", "--save-failures"]);
    assert_eq!(output.status.code(), Some(4));
    let saved = replsim::scenario::Scenario::load(&file).unwrap();
    // Both seeds fail the same way: one of them is kept.
    assert_eq!(saved.regressions, vec![3]);
    // Regression seeds run first from now on.
    let rerun = stdout(&replsim(&["run", file_arg, "--json"]));
    let seeds: Vec<u64> = rerun
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["seed"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(seeds, vec![3, 0, 1]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_replica_acknowledging_data_its_master_never_had_is_a_safety_violation() {
    let output = replsim(&[
        "run",
        &data("writable-replica-diverges.json"),
        "--seed",
        "0",
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let text = stdout(&output);
    assert!(
        text.contains("r1 ") && text.contains("holding different data than that history held"),
        "{text}"
    );
}

#[test]
fn a_failure_repeated_over_seeds_prints_once_with_its_seeds() {
    let output = replsim(&[
        "run",
        &data("impossible-expectation.json"),
        "--seeds",
        "0..4",
    ]);
    let text = stdout(&output);
    assert_eq!(
        text.matches("FAIL impossible-expectation").count(),
        1,
        "{text}"
    );
    assert!(
        text.contains(
            "the same failure of impossible-expectation (expectation) on 4 seeds: 0, 1, 2, 3"
        ),
        "{text}"
    );
    assert!(text.contains("1 distinct failures"), "{text}");
}

#[test]
fn the_printed_replay_command_works_from_any_directory() {
    let elsewhere = std::env::temp_dir().join(format!("replsim-replay-cmd-{}", std::process::id()));
    std::fs::create_dir_all(&elsewhere).unwrap();
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(data("impossible-expectation.json"));
    // Built here and run from elsewhere: cargo with the manifest's path.
    let output = Command::new(env!("CARGO_BIN_EXE_replsim"))
        .args(["run", file.to_str().unwrap(), "--seed", "1"])
        .current_dir(&elsewhere)
        .output()
        .unwrap();
    let text = stdout(&output);
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    assert!(
        text.contains(&format!(
            "replay: cargo run --manifest-path {} -- replay {} --seed 1",
            manifest.display(),
            file.display()
        )),
        "{text}"
    );
    // Installed elsewhere: the binary's own name and the absolute path;
    // running exactly that line replays the failure.
    let installed = elsewhere.join("replsim");
    std::fs::copy(env!("CARGO_BIN_EXE_replsim"), &installed).unwrap();
    let output = Command::new(&installed)
        .args(["run", &data("impossible-expectation.json"), "--seed", "1"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let text = stdout(&output);
    let line = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("replay: "))
        .unwrap_or_else(|| panic!("no replay line in {text}"));
    assert_eq!(
        line,
        format!("replsim replay {} --seed 1", file.display()),
        "{text}"
    );
    let mut words = line.split_whitespace();
    words.next();
    let replayed = Command::new(&installed)
        .args(words)
        .current_dir(&elsewhere)
        .output()
        .unwrap();
    assert_eq!(replayed.status.code(), Some(4), "{}", stdout(&replayed));
    assert!(stdout(&replayed).contains("verdict expectation"));
    std::fs::remove_dir_all(&elsewhere).unwrap();
}

#[test]
fn bench_saves_a_baseline_and_compares_a_later_run_with_it() {
    let dir = std::env::temp_dir().join(format!("replsim-bench-baseline-{}", std::process::id()));
    let scenarios = dir.join("scenarios");
    std::fs::create_dir_all(&scenarios).unwrap();
    std::fs::copy(data("passes.json"), scenarios.join("passes.json")).unwrap();
    let file = dir.join("baseline.json");
    let (scenarios, file_arg) = (scenarios.to_str().unwrap(), file.to_str().unwrap());
    let saved = replsim(&[
        "bench",
        "--scenarios",
        scenarios,
        "--seeds",
        "2",
        "--save-baseline",
        file_arg,
    ]);
    assert_eq!(
        saved.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&saved.stderr)
    );
    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert!(
        stored["scenarios"]["passes"]["sim_per_wall"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    let compared = stdout(&replsim(&[
        "bench",
        "--scenarios",
        scenarios,
        "--seeds",
        "2",
        "--baseline",
        file_arg,
    ]));
    assert!(compared.contains("against the baseline:"), "{compared}");
    let row = compared
        .lines()
        .skip_while(|l| !l.starts_with("against the baseline"))
        .find(|l| l.starts_with("passes "))
        .unwrap_or_else(|| panic!("{compared}"));
    assert!(row.ends_with('x'), "{row}");
    // A file that is not a baseline is refused before anything runs.
    std::fs::write(&file, "{}").unwrap();
    let refused = replsim(&["bench", "--scenarios", scenarios, "--baseline", file_arg]);
    assert_ne!(refused.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not a bench baseline"));
    std::fs::remove_dir_all(&dir).ok();
}
