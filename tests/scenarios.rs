//! Every scenario in `scenarios/` over its seeds: regression seeds first,
//! then the file's default count (`REPLSIM_SEEDS=N` overrides the count,
//! `REPLSIM_SEED=S` pins one seed), in parallel across cores. A failure
//! names the scenario, the seed, what broke, and the command that replays
//! it. Each scenario's first seed also runs twice: both traces must hash
//! equal.

#![cfg(madsim)]

use std::path::Path;

use replsim::scenario::{load_dir, Scenario};
use replsim::sim::run_seed;
use replsim::sweep::{self, SeedChoice};

fn shipped() -> Vec<Scenario> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    load_dir(&dir).unwrap_or_else(|error| panic!("{error}"))
}

fn seed_choice() -> SeedChoice {
    if let Ok(seed) = std::env::var("REPLSIM_SEED") {
        return SeedChoice::One(seed.parse().expect("REPLSIM_SEED must be a number"));
    }
    if let Ok(count) = std::env::var("REPLSIM_SEEDS") {
        return SeedChoice::Count(count.parse().expect("REPLSIM_SEEDS must be a number"));
    }
    SeedChoice::Default
}

fn workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[test]
fn every_shipped_scenario_passes_over_its_seeds() {
    let scenarios = shipped();
    assert!(
        scenarios.len() >= 17,
        "expected the shipped scenarios, found {}",
        scenarios.len()
    );
    let jobs = sweep::plan(&scenarios, &seed_choice(), None);
    let reports = sweep::execute(&scenarios, &jobs, workers(), |_| {});
    let failures: Vec<String> = reports
        .iter()
        .filter(|r| r.verdict != replsim::sim::Verdict::Pass)
        .map(sweep::describe_failure)
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} seeds failed:\n{}",
        failures.len(),
        reports.len(),
        failures.join("\n")
    );
    eprintln!(
        "{} seeds of {} scenarios passed",
        reports.len(),
        scenarios.len()
    );
}

#[test]
fn every_shipped_scenario_replays_identically() {
    let scenarios = shipped();
    let jobs: Vec<sweep::Job> = sweep::plan(&scenarios, &seed_choice(), None)
        .into_iter()
        .fold(Vec::new(), |mut firsts, job| {
            if !firsts
                .iter()
                .any(|j: &sweep::Job| j.scenario == job.scenario)
            {
                firsts.push(job);
            }
            firsts
        });
    let twice: Vec<sweep::Job> = jobs.iter().flat_map(|j| [j.clone(), j.clone()]).collect();
    let reports = sweep::execute(&scenarios, &twice, workers(), |_| {});
    for pair in reports.chunks(2) {
        assert_eq!(
            pair[0].trace_hash,
            pair[1].trace_hash,
            "{} seed {} is not deterministic: two runs gave different traces\n  replay: {}",
            pair[0].scenario,
            pair[0].seed,
            sweep::replay_command(&pair[0])
        );
        assert!(!pair[0].trace.is_empty() && !pair[0].log.is_empty());
    }
}

#[test]
fn a_seed_gives_the_same_log_line_for_line() {
    let scenarios = shipped();
    let scenario = scenarios
        .iter()
        .find(|s| s.name == "link-cut-partial-resync")
        .expect("shipped");
    let (a, b) = (run_seed(scenario, 3), run_seed(scenario, 3));
    assert_eq!(a.log, b.log);
    assert_eq!(a.trace, b.trace);
    let other = run_seed(scenario, 4);
    assert_ne!(
        a.trace_hash, other.trace_hash,
        "different seeds should give different runs"
    );
}
