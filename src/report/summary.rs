//! Merging run lines into one [`Summary`] and printing it: runs keyed by
//! scenario and seed (duplicates dropped, conflicting duplicates noted),
//! grouped by scenario (every `explore-SEED` scenario of `explore` is one
//! group, `explore`), with their verdicts, throughput, lag figures and
//! distinct failures.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{RunLine, VERDICTS};
use crate::sweep::failure_signature_of;

/// The group a run counts in: its scenario, or `explore` for the
/// scenarios `explore` draws (named `explore-SEED`).
pub fn group_of(run: &RunLine) -> String {
    if run.scenario == format!("explore-{}", run.seed) {
        "explore".to_string()
    } else {
        run.scenario.clone()
    }
}

/// The command that replays `run` (with the bugs it was run with).
pub fn replay_command(run: &RunLine) -> String {
    let mut command = format!("replsim replay {} --seed {}", run.file, run.seed);
    for bug in &run.plant {
        command.push_str(&format!(" --plant {bug}"));
    }
    command
}

/// One lag figure over a group's runs.
#[derive(Debug, Clone, PartialEq)]
pub struct LagFigure {
    /// Runs that carried it.
    pub runs: usize,
    /// Its mean over them.
    pub mean: f64,
    /// Its maximum.
    pub max: f64,
}

/// One group's runs.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupSummary {
    /// The group (a scenario, or `explore`).
    pub name: String,
    /// Runs, in seed order.
    pub runs: Vec<RunLine>,
    /// Runs per verdict, in [`VERDICTS`] order (zeros included).
    pub verdicts: Vec<(&'static str, usize)>,
    /// Simulated time of all runs.
    pub simulated_ms: u64,
    /// Wall time of all runs (summed over workers and machines).
    pub wall_ms: f64,
    /// Lag figures by path.
    pub lag: BTreeMap<String, LagFigure>,
}

impl GroupSummary {
    /// Runs that did not pass.
    pub fn failed(&self) -> usize {
        self.runs.iter().filter(|r| r.verdict != "pass").count()
    }
}

/// Failed runs that failed the same way.
#[derive(Debug, Clone, PartialEq)]
pub struct FailureGroup {
    /// The group the runs belong to.
    pub group: String,
    /// Their verdict.
    pub verdict: String,
    /// The first run's failure lines.
    pub lines: Vec<String>,
    /// The failing seeds, in order.
    pub seeds: Vec<u64>,
    /// How to replay the first one.
    pub replay: String,
}

/// The same scenario and seed with two different trace hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// Scenario.
    pub scenario: String,
    /// Seed.
    pub seed: u64,
    /// The first hash seen.
    pub first: String,
    /// The other.
    pub second: String,
}

/// A merged sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Lines read.
    pub lines: usize,
    /// Lines that repeated a run already read (same scenario, seed and
    /// trace hash).
    pub duplicates: usize,
    /// Groups, by name.
    pub groups: Vec<GroupSummary>,
    /// Distinct failures, by group, verdict and first seed.
    pub failures: Vec<FailureGroup>,
    /// Runs seen with two trace hashes.
    pub conflicts: Vec<Conflict>,
}

impl Summary {
    /// Merges `lines` (in any order).
    pub fn merge(lines: Vec<RunLine>) -> Summary {
        let total = lines.len();
        let mut runs: BTreeMap<(String, u64), RunLine> = BTreeMap::new();
        let mut duplicates = 0;
        let mut conflicts = Vec::new();
        for line in lines {
            let key = (line.scenario.clone(), line.seed);
            match runs.get(&key) {
                Some(seen) if seen.trace_hash == line.trace_hash => duplicates += 1,
                Some(seen) => {
                    let (first, second) = if seen.trace_hash <= line.trace_hash {
                        (seen.trace_hash.clone(), line.trace_hash.clone())
                    } else {
                        (line.trace_hash.clone(), seen.trace_hash.clone())
                    };
                    conflicts.push(Conflict {
                        scenario: line.scenario.clone(),
                        seed: line.seed,
                        first,
                        second,
                    });
                    // Keep one of them whatever the order: the failing
                    // one, or the smaller hash.
                    if (line.verdict != "pass", &seen.trace_hash)
                        > (seen.verdict != "pass", &line.trace_hash)
                    {
                        runs.insert(key, line);
                    }
                }
                None => {
                    runs.insert(key, line);
                }
            }
        }
        conflicts
            .sort_by(|a, b| (&a.scenario, a.seed, &a.first).cmp(&(&b.scenario, b.seed, &b.first)));
        conflicts.dedup();
        let mut grouped: BTreeMap<String, Vec<RunLine>> = BTreeMap::new();
        for run in runs.into_values() {
            grouped.entry(group_of(&run)).or_default().push(run);
        }
        let mut groups = Vec::new();
        let mut failures: Vec<(String, FailureGroup)> = Vec::new();
        for (name, mut runs) in grouped {
            runs.sort_by(|a, b| (a.seed, &a.scenario).cmp(&(b.seed, &b.scenario)));
            let verdicts = VERDICTS
                .iter()
                .map(|v| (*v, runs.iter().filter(|r| r.verdict == *v).count()))
                .collect();
            let mut lag: BTreeMap<String, (usize, f64, f64)> = BTreeMap::new();
            for run in &runs {
                for (path, value) in &run.lag {
                    let entry = lag.entry(path.clone()).or_insert((0, 0.0, f64::MIN));
                    entry.0 += 1;
                    entry.1 += value;
                    entry.2 = entry.2.max(*value);
                }
            }
            for run in runs.iter().filter(|r| r.verdict != "pass") {
                let signature = failure_signature_of(&name, &run.verdict, &run.failure);
                match failures.iter_mut().find(|(s, _)| *s == signature) {
                    Some((_, group)) => group.seeds.push(run.seed),
                    None => failures.push((
                        signature,
                        FailureGroup {
                            group: name.clone(),
                            verdict: run.verdict.clone(),
                            lines: run.failure.clone(),
                            seeds: vec![run.seed],
                            replay: replay_command(run),
                        },
                    )),
                }
            }
            groups.push(GroupSummary {
                simulated_ms: runs.iter().map(|r| r.simulated_ms).sum(),
                wall_ms: runs.iter().map(|r| r.wall_ms).sum(),
                lag: lag
                    .into_iter()
                    .map(|(path, (runs, sum, max))| {
                        (
                            path,
                            LagFigure {
                                runs,
                                mean: sum / runs as f64,
                                max,
                            },
                        )
                    })
                    .collect(),
                name,
                verdicts,
                runs,
            });
        }
        Summary {
            lines: total,
            duplicates,
            groups,
            failures: failures.into_iter().map(|(_, f)| f).collect(),
            conflicts,
        }
    }

    /// Runs after merging.
    pub fn runs(&self) -> usize {
        self.groups.iter().map(|g| g.runs.len()).sum()
    }

    /// The exit code `run` would give these verdicts (the most severe:
    /// crash 3, safety 1, liveness 2, expectation 4; 0 when all passed); a
    /// conflict counts as a safety failure (a run that is not
    /// deterministic).
    pub fn exit_code(&self) -> i32 {
        let count = |verdict: &str| {
            self.groups
                .iter()
                .flat_map(|g| &g.verdicts)
                .filter(|(v, _)| *v == verdict)
                .map(|(_, n)| n)
                .sum::<usize>()
        };
        if count("crash") > 0 {
            3
        } else if count("safety") > 0 || !self.conflicts.is_empty() {
            1
        } else if count("liveness") > 0 {
            2
        } else if count("expectation") > 0 {
            4
        } else {
            0
        }
    }

    /// The summary as text.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} runs of {} scenarios from {} lines ({} duplicate lines)",
            self.runs(),
            self.groups.len(),
            self.lines,
            self.duplicates
        );
        let _ = writeln!(
            out,
            "{:<32} {:>8} {:>7} {:>7} {:>7} {:>8} {:>6} {:>6} {:>10} {:>10} {:>9}",
            "scenario",
            "seeds",
            "pass",
            "fail",
            "safety",
            "liveness",
            "expect",
            "crash",
            "sim s/seed",
            "ms/seed",
            "sim/wall"
        );
        for group in &self.groups {
            let n = group.runs.len().max(1) as f64;
            let count = |v: &str| {
                group
                    .verdicts
                    .iter()
                    .find(|(k, _)| *k == v)
                    .map_or(0, |(_, c)| *c)
            };
            let _ = writeln!(
                out,
                "{:<32} {:>8} {:>7} {:>7} {:>7} {:>8} {:>6} {:>6} {:>10.1} {:>10.1} {:>8.0}x",
                group.name,
                group.runs.len(),
                count("pass"),
                group.failed(),
                count("safety"),
                count("liveness"),
                count("expectation"),
                count("crash"),
                group.simulated_ms as f64 / 1000.0 / n,
                group.wall_ms / n,
                group.simulated_ms as f64 / group.wall_ms.max(1e-9)
            );
        }
        let wall: f64 = self.groups.iter().map(|g| g.wall_ms).sum();
        let simulated: u64 = self.groups.iter().map(|g| g.simulated_ms).sum();
        let failed: usize = self.groups.iter().map(GroupSummary::failed).sum();
        let _ = writeln!(
            out,
            "{} runs, {} failed; {:.1} run-seconds of wall time ({:.1} seeds per run-second), {:.0} simulated seconds",
            self.runs(),
            failed,
            wall / 1000.0,
            self.runs() as f64 / (wall / 1000.0).max(1e-9),
            simulated as f64 / 1000.0
        );
        let with_lag: Vec<&GroupSummary> =
            self.groups.iter().filter(|g| !g.lag.is_empty()).collect();
        if !with_lag.is_empty() {
            let _ = writeln!(out, "lag (mean and max over the runs that report it):");
            for group in with_lag {
                for (path, figure) in &group.lag {
                    let _ = writeln!(
                        out,
                        "  {} {path}: mean {:.1}, max {:.1} ({} runs)",
                        group.name, figure.mean, figure.max, figure.runs
                    );
                }
            }
        }
        if !self.failures.is_empty() {
            let _ = writeln!(out, "{} distinct failures:", self.failures.len());
            for failure in &self.failures {
                let seeds: Vec<String> = failure.seeds.iter().map(u64::to_string).collect();
                let _ = writeln!(
                    out,
                    "  {} ({}) on {} seeds: {}",
                    failure.group,
                    failure.verdict,
                    failure.seeds.len(),
                    seeds.join(", ")
                );
                for line in &failure.lines {
                    let _ = writeln!(out, "      {line}");
                }
                let _ = writeln!(out, "    replay: {}", failure.replay);
            }
        }
        for conflict in &self.conflicts {
            let _ = writeln!(
                out,
                "CONFLICT {} seed {}: two runs with trace hashes {} and {} (different builds, or a nondeterministic run)",
                conflict.scenario, conflict.seed, conflict.first, conflict.second
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(scenario: &str, seed: u64, verdict: &str, failure: &str, hash: &str) -> RunLine {
        RunLine {
            scenario: scenario.into(),
            file: format!("scenarios/{scenario}.json"),
            seed,
            verdict: verdict.into(),
            failure: if failure.is_empty() {
                Vec::new()
            } else {
                vec![failure.into()]
            },
            simulated_ms: 1000,
            wall_ms: 2.0,
            trace_hash: hash.into(),
            plant: Vec::new(),
            lag: BTreeMap::new(),
        }
    }

    #[test]
    fn merging_is_order_free_and_drops_duplicate_lines() {
        let lines = vec![
            line("b", 1, "safety", "r1 lost offset 10 (at 1.5s)", "h1"),
            line("a", 0, "pass", "", "h2"),
            line("b", 0, "pass", "", "h3"),
            line("b", 2, "safety", "r1 lost offset 99 (at 7.1s)", "h4"),
        ];
        let mut reversed = lines.clone();
        reversed.reverse();
        reversed.push(lines[1].clone());
        let one = Summary::merge(lines);
        let other = Summary::merge(reversed);
        assert_eq!(other.duplicates, 1);
        assert_eq!(one.groups, other.groups);
        assert_eq!(one.failures, other.failures);
        assert_eq!(one.groups.len(), 2);
        // Two failures differing only in numbers are one.
        assert_eq!(one.failures.len(), 1);
        assert_eq!(one.failures[0].seeds, [1, 2]);
        assert_eq!(
            one.failures[0].replay,
            "replsim replay scenarios/b.json --seed 1"
        );
        assert_eq!(one.exit_code(), 1);
    }

    #[test]
    fn the_same_seed_with_two_hashes_is_a_conflict() {
        let summary = Summary::merge(vec![
            line("a", 0, "pass", "", "x"),
            line("a", 0, "pass", "", "y"),
        ]);
        assert_eq!(summary.conflicts.len(), 1);
        assert_eq!(summary.runs(), 1);
        assert_eq!(summary.exit_code(), 1);
        assert!(summary.text().contains("CONFLICT a seed 0"));
    }

    #[test]
    fn explore_runs_form_one_group_and_replay_with_their_planted_bugs() {
        let mut drawn = line("explore-7", 7, "safety", "bad", "h");
        drawn.file = "explore-failures/explore-7.json".into();
        drawn.plant = vec!["rdb-drops-a-key".into()];
        let summary = Summary::merge(vec![drawn, line("explore-8", 8, "pass", "", "g")]);
        assert_eq!(summary.groups.len(), 1);
        assert_eq!(summary.groups[0].name, "explore");
        assert_eq!(
            summary.failures[0].replay,
            "replsim replay explore-failures/explore-7.json --seed 7 --plant rdb-drops-a-key"
        );
    }
}
