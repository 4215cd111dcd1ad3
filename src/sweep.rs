//! Sweeps: which seeds of which scenarios to run (regression seeds first,
//! then the scenario's default count, or an explicit seed or range), how
//! to split them across shards, and running them on worker threads.
//!
//! Each run happens on its own OS thread with its own madsim runtime, so a
//! sweep over `jobs` workers gives the same per-seed results as one worker,
//! and the same seed list in any order gives the same reports.

use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};

use crate::scenario::Scenario;
use crate::sim::{run_seed_with, RunOptions, RunReport, Verdict};

/// Which seeds to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeedChoice {
    /// Regression seeds, then `0..scenario.seeds`.
    Default,
    /// Regression seeds, then `0..n` (REPLSIM_SEEDS=n).
    Count(u64),
    /// Exactly this seed.
    One(u64),
    /// Exactly these seeds.
    Range(Range<u64>),
}

/// One unit of work.
#[derive(Debug, Clone)]
pub struct Job {
    /// Index of the scenario in the sweep's list.
    pub scenario: usize,
    /// The seed.
    pub seed: u64,
    /// Whether the seed comes from the scenario's regression list.
    pub regression: bool,
}

/// `K/N`: this process runs the K-th of N shards (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, 1..=count.
    pub index: u64,
    /// Number of shards.
    pub count: u64,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (k, n) = text
            .split_once('/')
            .ok_or_else(|| format!("expected K/N (like 2/8), got '{text}'"))?;
        let (index, count): (u64, u64) = match (k.parse(), n.parse()) {
            (Ok(k), Ok(n)) => (k, n),
            _ => {
                return Err(format!(
                    "expected K/N with numbers (like 2/8), got '{text}'"
                ))
            }
        };
        if count == 0 || index == 0 || index > count {
            return Err(format!("shard {index}/{count}: K must be in 1..=N"));
        }
        Ok(Shard { index, count })
    }
}

/// What `--shard` says: a fixed shard, or `auto` (read from the
/// environment a job engine sets, see [`ShardChoice::resolve`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardChoice {
    /// `K/N`.
    Fixed(Shard),
    /// `auto`.
    Auto,
}

impl std::str::FromStr for ShardChoice {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == "auto" {
            return Ok(ShardChoice::Auto);
        }
        text.parse()
            .map(ShardChoice::Fixed)
            .map_err(|e| format!("{e} (or auto)"))
    }
}

/// Why `--shard auto` found no shard.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    /// No variable the engines set is present.
    #[error(
        "--shard auto: no shard in the environment (set REPLSIM_SHARD=K/N, \
         or JOB_COMPLETION_INDEX with REPLSIM_SHARD_COUNT in a Kubernetes Indexed Job, \
         or REPLSIM_SHARD_INDEX with REPLSIM_SHARD_COUNT, or CI_NODE_INDEX with CI_NODE_TOTAL)"
    )]
    Missing,
    /// An index without its count.
    #[error("--shard auto: {index} is set but {count} is not")]
    NoCount {
        /// The index variable found.
        index: &'static str,
        /// The count variable missing.
        count: &'static str,
    },
    /// A value that is not a number, or an index outside the count.
    #[error("--shard auto: {variable}={value} {problem}")]
    Invalid {
        /// The variable.
        variable: &'static str,
        /// Its value.
        value: String,
        /// What is wrong with it.
        problem: String,
    },
}

/// The environment variables `--shard auto` reads, in order: the name of
/// the index, the name of the count, and whether the index counts from 0.
/// The first index present wins.
pub const AUTO_SHARD_SOURCES: [(&str, &str, bool); 3] = [
    // Kubernetes Indexed Jobs set the index; the manifest passes the
    // completion count (Kubernetes does not).
    ("JOB_COMPLETION_INDEX", "REPLSIM_SHARD_COUNT", true),
    // A CI matrix (GitHub Actions, or anything else) sets both.
    ("REPLSIM_SHARD_INDEX", "REPLSIM_SHARD_COUNT", true),
    // GitLab CI's `parallel:` jobs.
    ("CI_NODE_INDEX", "CI_NODE_TOTAL", false),
];

impl ShardChoice {
    /// The shard to run: a fixed one as given; `auto` from `REPLSIM_SHARD`
    /// (`K/N`, 1-based) or else from the first index of
    /// [`AUTO_SHARD_SOURCES`] that `env` holds, with its count.
    pub fn resolve(self, env: impl Fn(&str) -> Option<String>) -> Result<Shard, ShardError> {
        if let ShardChoice::Fixed(shard) = self {
            return Ok(shard);
        }
        if let Some(value) = env("REPLSIM_SHARD") {
            return value.parse().map_err(|problem| ShardError::Invalid {
                variable: "REPLSIM_SHARD",
                value,
                problem,
            });
        }
        for (index_name, count_name, from_zero) in AUTO_SHARD_SOURCES {
            let Some(index) = env(index_name) else {
                continue;
            };
            let count = env(count_name).ok_or(ShardError::NoCount {
                index: index_name,
                count: count_name,
            })?;
            let number = |variable: &'static str, value: &str| {
                value
                    .trim()
                    .parse::<u64>()
                    .map_err(|_| ShardError::Invalid {
                        variable,
                        value: value.to_string(),
                        problem: "is not a number".into(),
                    })
            };
            let (index_value, count_value) =
                (number(index_name, &index)?, number(count_name, &count)?);
            if count_value == 0 {
                return Err(ShardError::Invalid {
                    variable: count_name,
                    value: count,
                    problem: "must be at least 1".into(),
                });
            }
            let one_based = if from_zero {
                index_value + 1
            } else {
                index_value
            };
            if one_based == 0 || one_based > count_value {
                return Err(ShardError::Invalid {
                    variable: index_name,
                    value: index,
                    problem: format!(
                        "is outside the {count_value} shards ({})",
                        if from_zero {
                            "counting from 0"
                        } else {
                            "counting from 1"
                        }
                    ),
                });
            }
            return Ok(Shard {
                index: one_based,
                count: count_value,
            });
        }
        Err(ShardError::Missing)
    }
}

/// Parses `A..B` (B exclusive) as a seed range.
pub fn parse_seed_range(text: &str) -> Result<Range<u64>, String> {
    let (a, b) = text
        .split_once("..")
        .ok_or_else(|| format!("expected a range like 0..100, got '{text}'"))?;
    let (a, b): (u64, u64) = match (a.parse(), b.parse()) {
        (Ok(a), Ok(b)) => (a, b),
        _ => {
            return Err(format!(
                "expected a range of numbers like 0..100, got '{text}'"
            ))
        }
    };
    if b <= a {
        return Err(format!("empty seed range '{text}'"));
    }
    Ok(a..b)
}

/// The jobs of a sweep: per scenario, its regression seeds first (unless a
/// seed or range is pinned), then its seeds; a shard keeps every N-th job of
/// each scenario's list, so shards partition the work and merge by
/// concatenation.
pub fn plan(scenarios: &[Scenario], seeds: &SeedChoice, shard: Option<Shard>) -> Vec<Job> {
    let mut jobs = Vec::new();
    for (index, scenario) in scenarios.iter().enumerate() {
        let mut list: Vec<(u64, bool)> = Vec::new();
        let with_regressions = matches!(seeds, SeedChoice::Default | SeedChoice::Count(_));
        if with_regressions {
            list.extend(scenario.regressions.iter().map(|&s| (s, true)));
        }
        let fresh: Box<dyn Iterator<Item = u64>> = match seeds {
            SeedChoice::Default => Box::new(0..scenario.seeds),
            SeedChoice::Count(n) => Box::new(0..*n),
            SeedChoice::One(seed) => Box::new(std::iter::once(*seed)),
            SeedChoice::Range(range) => Box::new(range.clone()),
        };
        for seed in fresh {
            if !list.iter().any(|(s, _)| *s == seed) {
                list.push((seed, false));
            }
        }
        for (position, (seed, regression)) in list.into_iter().enumerate() {
            let mine = shard.is_none_or(|s| position as u64 % s.count == s.index - 1);
            if mine {
                jobs.push(Job {
                    scenario: index,
                    seed,
                    regression,
                });
            }
        }
    }
    jobs
}

/// Runs `jobs` on `workers` threads, calling `report` for each run in job
/// order (a result that finishes early waits for the ones before it, so
/// the output of a sweep is the same every time), and returns all reports
/// in job order.
pub fn execute(
    scenarios: &[Scenario],
    jobs: &[Job],
    workers: usize,
    report: impl FnMut(&RunReport),
) -> Vec<RunReport> {
    execute_with(scenarios, jobs, workers, RunOptions::default(), report)
}

/// [`execute`] with run options (bugs planted in every run).
pub fn execute_with(
    scenarios: &[Scenario],
    jobs: &[Job],
    workers: usize,
    options: RunOptions,
    mut report: impl FnMut(&RunReport),
) -> Vec<RunReport> {
    let scenarios: Arc<Vec<Scenario>> = Arc::new(scenarios.to_vec());
    let jobs: Arc<Vec<Job>> = Arc::new(jobs.to_vec());
    let next = Arc::new(AtomicUsize::new(0));
    let (sender, receiver) = mpsc::channel::<(usize, RunReport)>();
    let mut threads = Vec::new();
    for _ in 0..workers.max(1).min(jobs.len().max(1)) {
        let (scenarios, jobs, next, sender) = (
            scenarios.clone(),
            jobs.clone(),
            next.clone(),
            sender.clone(),
        );
        threads.push(std::thread::spawn(move || loop {
            let index = next.fetch_add(1, Ordering::SeqCst);
            let Some(job) = jobs.get(index) else { break };
            let result = run_seed_with(&scenarios[job.scenario], job.seed, options);
            if sender.send((index, result)).is_err() {
                break;
            }
        }));
    }
    drop(sender);
    let mut results: Vec<Option<RunReport>> = vec![None; jobs.len()];
    let mut next_to_report = 0;
    for (index, result) in receiver {
        results[index] = Some(result);
        while let Some(Some(ready)) = results.get(next_to_report) {
            report(ready);
            next_to_report += 1;
        }
    }
    for thread in threads {
        let _ = thread.join();
    }
    results.into_iter().flatten().collect()
}

/// The command that replays one seed, runnable from any directory: the
/// installed binary's own name with the file's absolute path; from a build
/// in this repository, `cargo run` in the profile the README's commands
/// share (with `--manifest-path` and an absolute
/// file path unless run from the repository's root on a file inside it).
pub fn replay_command(report: &RunReport) -> String {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let exe = std::env::current_exe().ok();
    let cwd = std::env::current_dir().ok();
    replay_command_for(report, repo, exe.as_deref(), cwd.as_deref())
}

/// [`replay_command`] for a given repository, executable and working
/// directory.
pub fn replay_command_for(
    report: &RunReport,
    repo: &Path,
    exe: Option<&Path>,
    cwd: Option<&Path>,
) -> String {
    let file = Path::new(&report.file);
    let absolute = match cwd {
        Some(cwd) if file.is_relative() => cwd.join(file),
        _ => file.to_path_buf(),
    };
    // A build of this repository sits in a cargo target directory (marked
    // by its CACHEDIR.TAG, wherever CARGO_TARGET_DIR put it) while the
    // repository is still there; anything else was installed.
    let built_here = repo.join("Cargo.toml").is_file()
        && exe.is_some_and(|exe| {
            exe.starts_with(repo.join("target"))
                || exe
                    .ancestors()
                    .skip(1)
                    .take(4)
                    .any(|dir| dir.join("CACHEDIR.TAG").is_file())
        });
    if !built_here {
        let name = exe
            .and_then(|e| e.file_name())
            .map_or("replsim".into(), |n| n.to_string_lossy().into_owned());
        return format!(
            "{name} replay {} --seed {}",
            absolute.display(),
            report.seed
        );
    }
    let in_repo_root = cwd == Some(repo) && file.is_relative() && !report.file.contains("..");
    if in_repo_root {
        format!("cargo run -- replay {} --seed {}", report.file, report.seed)
    } else {
        format!(
            "cargo run --manifest-path {} -- replay {} --seed {}",
            repo.join("Cargo.toml").display(),
            absolute.display(),
            report.seed
        )
    }
}

/// What makes two failures the same: the scenario, the verdict kind and
/// its lines with numbers (offsets, times, ids' digits) left out.
pub fn failure_signature(report: &RunReport) -> String {
    failure_signature_of(
        &report.scenario,
        report.verdict.name(),
        &report.verdict.details(),
    )
}

/// [`failure_signature`] of a failure given by its scenario, verdict name
/// and lines (as `--json` prints them).
pub fn failure_signature_of(scenario: &str, verdict: &str, details: &[String]) -> String {
    let mut signature = format!("{scenario} {verdict}");
    for line in details {
        signature.push('\n');
        // Words of hex digits with a decimal digit among them are numbers
        // or ids: they differ between seeds of one failure.
        let mut word = String::new();
        for c in line.chars().chain(std::iter::once(' ')) {
            if c.is_ascii_alphanumeric() {
                word.push(c);
                continue;
            }
            // (times such as `8.151s` end in a unit)
            let bare = word
                .strip_suffix("ms")
                .or_else(|| word.strip_suffix('s'))
                .unwrap_or(&word);
            let numeric = bare.chars().all(|w| w.is_ascii_hexdigit())
                && bare.chars().any(|w| w.is_ascii_digit());
            signature.push_str(if numeric { "#" } else { &word });
            word.clear();
            signature.push(c);
        }
    }
    signature
}

/// Failed runs grouped by [`failure_signature`], in the order each was
/// first seen; each group's runs in seed order of appearance.
pub fn distinct_failures(reports: &[RunReport]) -> Vec<Vec<&RunReport>> {
    let mut groups: Vec<(String, Vec<&RunReport>)> = Vec::new();
    for report in reports.iter().filter(|r| r.verdict != Verdict::Pass) {
        let signature = failure_signature(report);
        match groups.iter_mut().find(|(s, _)| *s == signature) {
            Some((_, group)) => group.push(report),
            None => groups.push((signature, vec![report])),
        }
    }
    groups.into_iter().map(|(_, group)| group).collect()
}

/// One-paragraph description of a failed run, ending with its replay command.
pub fn describe_failure(report: &RunReport) -> String {
    let mut text = format!(
        "FAIL {} seed {} ({}):",
        report.scenario,
        report.seed,
        report.verdict.name()
    );
    for line in report.verdict.details() {
        text.push_str("\n    ");
        text.push_str(&line);
    }
    text.push_str("\n  replay: ");
    text.push_str(&replay_command(report));
    text
}

/// The process exit code of one verdict: 0 pass, 1 safety, 2 liveness,
/// 3 crash, 4 expectation.
pub fn verdict_exit_code(verdict: &Verdict) -> i32 {
    match verdict {
        Verdict::Pass => 0,
        Verdict::Safety(_) => 1,
        Verdict::Liveness(_) => 2,
        Verdict::Crash(_) => 3,
        Verdict::Expectation(_) => 4,
    }
}

/// The process exit code for a set of verdicts: the most severe one's
/// (a crash, then a safety violation, then a liveness failure, then a
/// failed expectation of the scenario; 0 when all passed).
pub fn exit_code(reports: &[RunReport]) -> i32 {
    let severity = |verdict: &Verdict| match verdict {
        Verdict::Pass => 0,
        Verdict::Expectation(_) => 1,
        Verdict::Liveness(_) => 2,
        Verdict::Safety(_) => 3,
        Verdict::Crash(_) => 4,
    };
    reports
        .iter()
        .map(|r| &r.verdict)
        .max_by_key(|v| severity(v))
        .map_or(0, verdict_exit_code)
}

/// Adds `seeds` to the `"regressions"` list of a scenario file's text,
/// creating the list after `"seeds"` (or `"name"`) when there is none, and
/// leaving the rest of the file as written.
pub fn add_regressions(text: &str, seeds: &[u64]) -> Result<String, String> {
    let numbers = seeds
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if let Some(key) = text.find("\"regressions\"") {
        let open = text[key..]
            .find('[')
            .map(|i| key + i)
            .ok_or("malformed regressions list")?;
        let close = text[open..]
            .find(']')
            .map(|i| open + i)
            .ok_or("malformed regressions list")?;
        let existing = text[open + 1..close].trim();
        let joined = if existing.is_empty() {
            numbers
        } else {
            format!("{existing}, {numbers}")
        };
        return Ok(format!("{}[{joined}]{}", &text[..open], &text[close + 1..]));
    }
    for anchor in ["\"seeds\"", "\"name\""] {
        if let Some(key) = text.find(anchor) {
            let line_end = text[key..].find('\n').map_or(text.len(), |i| key + i);
            let indent: String = text[..key]
                .rsplit('\n')
                .next()
                .unwrap_or("")
                .chars()
                .take_while(|c| c.is_whitespace())
                .collect();
            let line = &text[key..line_end];
            let separator = if line.trim_end().ends_with(',') {
                ""
            } else {
                ","
            };
            return Ok(format!(
                "{}{separator}\n{indent}\"regressions\": [{numbers}],{}",
                &text[..line_end],
                &text[line_end..]
            ));
        }
    }
    Err("no \"name\" field to put the regressions after".into())
}

/// Interleaves a run's trace and node log by simulated time (each line
/// starts with `S.mmms`), trace first on ties: the replay view.
pub fn interleave(trace: &[String], log: &[String]) -> Vec<String> {
    fn millis(line: &str) -> u64 {
        let stamp = line.split_once("s ").map_or("", |(t, _)| t);
        let (secs, ms) = stamp.split_once('.').unwrap_or((stamp, "0"));
        secs.parse::<u64>().unwrap_or(0) * 1000 + ms.parse::<u64>().unwrap_or(0)
    }
    let mut merged = Vec::with_capacity(trace.len() + log.len());
    let (mut t, mut l) = (0, 0);
    while t < trace.len() || l < log.len() {
        let take_trace =
            l >= log.len() || (t < trace.len() && millis(&trace[t]) <= millis(&log[l]));
        if take_trace {
            // Harness events read as `12.345s == steps[3] crash r1`.
            let (stamp, event) = trace[t].split_once(' ').unwrap_or((&trace[t], ""));
            merged.push(format!("{stamp} == {event}"));
            t += 1;
        } else {
            merged.push(log[l].clone());
            l += 1;
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(seed: u64, line: &str) -> RunReport {
        RunReport {
            scenario: "s".into(),
            file: "scenarios/s.json".into(),
            seed,
            verdict: Verdict::Safety(vec![line.into()]),
            simulated: std::time::Duration::ZERO,
            wall: std::time::Duration::ZERO,
            trace_hash: String::new(),
            trace: Vec::new(),
            log: Vec::new(),
            lag: Vec::new(),
            traffic: Default::default(),
            messages: 0,
            skewed_reads: Default::default(),
            losses: Default::default(),
            timeline: None,
        }
    }

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn auto_shard_reads_kubernetes_ci_matrix_and_gitlab_variables() {
        let shard = |index, count| Ok(Shard { index, count });
        let auto = |pairs: &[(&str, &str)]| ShardChoice::Auto.resolve(env_of(pairs));
        assert_eq!(auto(&[("REPLSIM_SHARD", "3/8")]), shard(3, 8));
        assert_eq!(
            auto(&[("JOB_COMPLETION_INDEX", "0"), ("REPLSIM_SHARD_COUNT", "4")]),
            shard(1, 4)
        );
        assert_eq!(
            auto(&[("REPLSIM_SHARD_INDEX", "3"), ("REPLSIM_SHARD_COUNT", "4")]),
            shard(4, 4)
        );
        assert_eq!(
            auto(&[("CI_NODE_INDEX", "2"), ("CI_NODE_TOTAL", "5")]),
            shard(2, 5)
        );
        // REPLSIM_SHARD wins over an engine's variables.
        assert_eq!(
            auto(&[
                ("REPLSIM_SHARD", "2/2"),
                ("JOB_COMPLETION_INDEX", "0"),
                ("REPLSIM_SHARD_COUNT", "2")
            ]),
            shard(2, 2)
        );
        let fixed = Shard { index: 1, count: 2 };
        assert_eq!(
            ShardChoice::Fixed(fixed).resolve(env_of(&[("REPLSIM_SHARD", "2/2")])),
            Ok(fixed)
        );
    }

    #[test]
    fn auto_shard_refuses_missing_partial_and_out_of_range_values() {
        let auto = |pairs: &[(&str, &str)]| ShardChoice::Auto.resolve(env_of(pairs));
        assert_eq!(auto(&[]), Err(ShardError::Missing));
        assert_eq!(
            auto(&[("JOB_COMPLETION_INDEX", "1")]),
            Err(ShardError::NoCount {
                index: "JOB_COMPLETION_INDEX",
                count: "REPLSIM_SHARD_COUNT"
            })
        );
        for pairs in [
            &[("JOB_COMPLETION_INDEX", "4"), ("REPLSIM_SHARD_COUNT", "4")][..],
            &[("JOB_COMPLETION_INDEX", "x"), ("REPLSIM_SHARD_COUNT", "4")],
            &[("JOB_COMPLETION_INDEX", "0"), ("REPLSIM_SHARD_COUNT", "0")],
            &[("CI_NODE_INDEX", "0"), ("CI_NODE_TOTAL", "3")],
            &[("REPLSIM_SHARD", "5/4")],
        ] {
            assert!(
                matches!(auto(pairs), Err(ShardError::Invalid { .. })),
                "{pairs:?}"
            );
        }
        assert_eq!("auto".parse::<ShardChoice>(), Ok(ShardChoice::Auto));
        assert!("0/3".parse::<ShardChoice>().is_err());
    }

    #[test]
    fn failures_differing_only_in_numbers_ids_and_times_are_one() {
        let a = failed(
            1,
            "r1 stands at offset 213 of history bd8c592b holding different data (at 8.151s)",
        );
        let b = failed(
            2,
            "r1 stands at offset 97 of history 0c994eae holding different data (at 12.003s)",
        );
        let c = failed(
            3,
            "r2 stands at offset 97 of history 0c994eae holding different data (at 12.003s)",
        );
        assert_eq!(failure_signature(&a), failure_signature(&b));
        assert_ne!(failure_signature(&a), failure_signature(&c));
        let reports = vec![a, b, c];
        let groups = distinct_failures(&reports);
        assert_eq!(groups.len(), 2);
        assert_eq!(
            groups[0].iter().map(|r| r.seed).collect::<Vec<_>>(),
            vec![1, 2]
        );
    }

    #[test]
    fn the_replay_command_names_an_installed_binary_or_cargo_with_the_manifest() {
        let report = failed(7, "x");
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let in_repo = replay_command_for(
            &report,
            repo,
            Some(&repo.join("target/debug/replsim")),
            Some(repo),
        );
        assert_eq!(in_repo, "cargo run -- replay scenarios/s.json --seed 7");
        let manifest = repo.join("Cargo.toml");
        let elsewhere = replay_command_for(
            &report,
            repo,
            Some(&repo.join("target/debug/replsim")),
            Some(Path::new("/home/me")),
        );
        assert_eq!(
            elsewhere,
            format!(
                "cargo run --manifest-path {} -- replay /home/me/scenarios/s.json --seed 7",
                manifest.display()
            )
        );
        // A target directory elsewhere (CARGO_TARGET_DIR) is still a build.
        let target = std::env::temp_dir().join(format!("replsim-target-{}", std::process::id()));
        std::fs::create_dir_all(target.join("debug")).unwrap();
        std::fs::write(
            target.join("CACHEDIR.TAG"),
            "Signature: 8a477f597d28d172789f06886806bc55",
        )
        .unwrap();
        let moved = replay_command_for(
            &report,
            repo,
            Some(&target.join("debug/replsim")),
            Some(Path::new("/home/me")),
        );
        assert!(moved.starts_with("cargo run --manifest-path"), "{moved}");
        std::fs::remove_dir_all(&target).unwrap();
        let installed = replay_command_for(
            &report,
            repo,
            Some(Path::new("/usr/local/bin/replsim")),
            Some(Path::new("/home/me")),
        );
        assert_eq!(
            installed,
            "replsim replay /home/me/scenarios/s.json --seed 7"
        );
    }

    #[test]
    fn failing_seeds_are_added_to_the_regressions_list() {
        let with_list = "{\n  \"name\": \"x\",\n  \"regressions\": [3],\n  \"nodes\": {}\n}";
        assert_eq!(
            add_regressions(with_list, &[7, 9]).unwrap(),
            "{\n  \"name\": \"x\",\n  \"regressions\": [3, 7, 9],\n  \"nodes\": {}\n}"
        );
        let without = "{\n  \"name\": \"x\",\n  \"seeds\": 8,\n  \"nodes\": {}\n}";
        assert_eq!(
            add_regressions(without, &[5]).unwrap(),
            "{\n  \"name\": \"x\",\n  \"seeds\": 8,\n  \"regressions\": [5],\n  \"nodes\": {}\n}"
        );
    }

    #[test]
    fn shards_parse_and_reject_nonsense() {
        assert_eq!("2/8".parse::<Shard>(), Ok(Shard { index: 2, count: 8 }));
        for bad in ["0/8", "9/8", "x/2", "3", "1/0"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        assert_eq!(parse_seed_range("5..9"), Ok(5..9));
        assert!(parse_seed_range("9..5").is_err());
    }
}
