//! Sweeps: which seeds of which scenarios to run (regression seeds first,
//! then the scenario's default count, or an explicit seed or range) and
//! running them on worker threads. Splitting the work across shards is
//! in [`shard`], reporting failures (replay commands, signatures, exit
//! codes) in [`failures`], and recording failing seeds in a scenario file
//! in [`regressions`].
//!
//! Each run happens on its own OS thread with its own madsim runtime, so a
//! sweep over `jobs` workers gives the same per-seed results as one worker,
//! and the same seed list in any order gives the same reports.

mod failures;
mod regressions;
mod shard;

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};

use crate::scenario::Scenario;
use crate::sim::{run_seed_with, RunOptions, RunReport};

pub use failures::{
    describe_failure, distinct_failures, exit_code, failure_signature, failure_signature_of,
    interleave, replay_command, replay_command_for, verdict_exit_code,
};
pub use regressions::add_regressions;
pub use shard::{Shard, ShardChoice, ShardError, AUTO_SHARD_SOURCES};

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

#[cfg(test)]
mod tests {
    use super::*;

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
