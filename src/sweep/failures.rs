//! What a sweep says about its failures: the command that replays a seed,
//! failures grouped by a signature that ignores numbers, ids and times,
//! one failure's description, the exit code, and the replay view that
//! interleaves a run's trace with its nodes' log.

use std::path::Path;

use crate::sim::{RunReport, Verdict};

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
}
