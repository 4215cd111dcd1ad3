//! Sharded sweeps: `--shard auto` takes its shard from the environment a
//! Kubernetes Indexed Job or a CI matrix sets, N shards run every seed
//! exactly once, and `replsim report` merges their JSON lines into the
//! same summary as one unsharded sweep.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use replsim::report::summary::Summary;
use replsim::report::{parse_lines, RunLine};

const SCENARIOS: [&str; 2] = [
    "scenarios/auth.json",
    "scenarios/link-cut-partial-resync.json",
];

fn replsim(args: &[&str], env: &[(&str, String)]) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_replsim"));
    command.current_dir(env!("CARGO_MANIFEST_DIR")).args(args);
    // Only the variables this test sets may pick the shard.
    for name in [
        "REPLSIM_SHARD",
        "JOB_COMPLETION_INDEX",
        "REPLSIM_SHARD_INDEX",
        "REPLSIM_SHARD_COUNT",
        "CI_NODE_INDEX",
        "CI_NODE_TOTAL",
    ] {
        command.env_remove(name);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("run replsim");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn lines(text: &str) -> Vec<RunLine> {
    parse_lines("output", text).unwrap_or_else(|e| panic!("{e}"))
}

/// The runs of `lines` by scenario and seed, with what must not differ
/// between two runs of one seed.
fn runs(lines: &[RunLine]) -> BTreeSet<(String, u64, String, String)> {
    lines
        .iter()
        .map(|l| {
            (
                l.scenario.clone(),
                l.seed,
                l.verdict.clone(),
                l.trace_hash.clone(),
            )
        })
        .collect()
}

/// A summary with wall times (which differ between any two runs) zeroed.
fn without_wall_time(mut summary: Summary) -> Summary {
    for group in &mut summary.groups {
        group.wall_ms = 0.0;
        for run in &mut group.runs {
            run.wall_ms = 0.0;
        }
    }
    summary
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn kubernetes_shards_cover_every_seed_once_and_merge_to_the_unsharded_sweep() {
    let dir = temp_dir("sharded-run");
    let mut args = vec!["run"];
    args.extend(SCENARIOS);
    args.extend(["--seeds", "0..10", "--json", "--jobs", "2"]);
    let (code, whole, stderr) = replsim(&args, &[]);
    assert_eq!(code, 0, "{stderr}");
    let whole_lines = lines(&whole);
    assert_eq!(whole_lines.len(), 20);

    let shards = 3;
    let mut shard_files = Vec::new();
    let mut seen: Vec<(String, u64)> = Vec::new();
    let mut shard_lines = Vec::new();
    let mut sharded_args = args.clone();
    sharded_args.extend(["--shard", "auto"]);
    for index in 0..shards {
        let env = [
            ("JOB_COMPLETION_INDEX", index.to_string()),
            ("REPLSIM_SHARD_COUNT", shards.to_string()),
        ];
        let (code, out, stderr) = replsim(&sharded_args, &env);
        assert_eq!(code, 0, "{stderr}");
        let mine = lines(&out);
        assert!(!mine.is_empty(), "shard {index} ran nothing");
        seen.extend(mine.iter().map(|l| (l.scenario.clone(), l.seed)));
        shard_lines.extend(mine);
        let file = dir.join(format!("shard-{index}.jsonl"));
        std::fs::write(&file, out).unwrap();
        shard_files.push(file);
    }
    // Every seed of every scenario exactly once.
    let unique: BTreeSet<(String, u64)> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "a seed ran on two shards");
    assert_eq!(runs(&shard_lines), runs(&whole_lines));

    // Merged, the shards are the unsharded sweep.
    let merged = without_wall_time(Summary::merge(shard_lines));
    let single = without_wall_time(Summary::merge(whole_lines));
    assert_eq!(merged, single);

    // And `replsim report` reads the shard files.
    let whole_file = dir.join("whole.jsonl");
    std::fs::write(&whole_file, &whole).unwrap();
    let html = dir.join("report.html");
    let mut report_args = vec!["report".to_string()];
    report_args.extend(shard_files.iter().map(|f| f.display().to_string()));
    report_args.extend(["--html".to_string(), html.display().to_string()]);
    let report_args: Vec<&str> = report_args.iter().map(String::as_str).collect();
    let (code, text, stderr) = replsim(&report_args, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(text.starts_with("20 runs of 2 scenarios from 20 lines (0 duplicate lines)"));
    let (_, whole_text, _) = replsim(&["report", &whole_file.display().to_string()], &[]);
    let counts = |text: &str| -> Vec<String> {
        // Each row up to its timing columns.
        text.lines()
            .map(|l| l.split_whitespace().take(8).collect::<Vec<_>>().join(" "))
            .take(4)
            .collect()
    };
    assert_eq!(counts(&text), counts(&whole_text));
    let page = std::fs::read_to_string(&html).unwrap();
    for scenario in ["auth", "link-cut-partial-resync"] {
        assert!(
            page.contains(&format!("data-chart=\"{scenario}\"")),
            "{scenario}"
        );
    }
}

#[test]
fn ci_matrix_shards_of_explore_cover_every_seed_once() {
    let dir = temp_dir("sharded-explore");
    let out = dir.join("failures");
    let out = out.display().to_string();
    let base = [
        "explore",
        "--seeds",
        "0..6",
        "--json",
        "--jobs",
        "2",
        "--shrink-budget",
        "0",
        "--out",
    ];
    let mut args: Vec<&str> = base.to_vec();
    args.push(&out);
    let (_, whole, stderr) = replsim(&args, &[]);
    let whole_lines = lines(&whole);
    assert_eq!(whole_lines.len(), 6, "{stderr}");
    args.extend(["--shard", "auto"]);
    let mut shard_lines = Vec::new();
    for index in 0..2 {
        let env = [
            ("REPLSIM_SHARD_INDEX", index.to_string()),
            ("REPLSIM_SHARD_COUNT", "2".to_string()),
        ];
        let (_, text, stderr) = replsim(&args, &env);
        let mine = lines(&text);
        assert_eq!(mine.len(), 3, "{stderr}");
        shard_lines.extend(mine);
    }
    let seeds: Vec<u64> = shard_lines.iter().map(|l| l.seed).collect();
    let unique: BTreeSet<u64> = seeds.iter().copied().collect();
    assert_eq!(unique.len(), seeds.len());
    assert_eq!(runs(&shard_lines), runs(&whole_lines));
    let merged = without_wall_time(Summary::merge(shard_lines));
    assert_eq!(merged.groups.len(), 1);
    assert_eq!(merged.groups[0].name, "explore");
    assert_eq!(merged, without_wall_time(Summary::merge(whole_lines)));
}

#[test]
fn shard_auto_without_a_shard_in_the_environment_is_a_usage_error() {
    let (code, _, stderr) = replsim(&["run", "scenarios/auth.json", "--shard", "auto"], &[]);
    assert_eq!(code, 64);
    assert!(stderr.contains("no shard in the environment"), "{stderr}");
    let env = [("JOB_COMPLETION_INDEX", "0".to_string())];
    let (code, _, stderr) = replsim(&["run", "scenarios/auth.json", "--shard", "auto"], &env);
    assert_eq!(code, 64);
    assert!(stderr.contains("REPLSIM_SHARD_COUNT is not"), "{stderr}");
}

#[test]
fn report_refuses_a_line_that_is_not_a_run() {
    let dir = temp_dir("report-bad-line");
    let file = dir.join("mixed.jsonl");
    std::fs::write(&file, "\nFAIL auth seed 3 (safety):\n").unwrap();
    let (code, _, stderr) = replsim(&["report", &file.display().to_string()], &[]);
    assert_eq!(code, 64);
    assert!(
        stderr.contains("mixed.jsonl:2: not a JSON line"),
        "{stderr}"
    );
}
