//! Explore: what the generator draws over a sweep, that a generated failing
//! run saved to a file replays as it ran, that shrinking a planted failure
//! ends at a known minimal scenario, and a fixed sweep of generated runs
//! that must pass.

#![cfg(madsim)]

use std::collections::BTreeSet;

use replsim::explore::{self, generate, FaultKind, Profile};
use replsim::scenario::Scenario;
use replsim::server::probe::PlantedBugs;
use replsim::sim::{run_seed_with, RunOptions, Verdict};
use replsim::sweep;

/// Seeds of the fixed sweep `cargo test` runs.
const SWEEP_SEEDS: std::ops::Range<u64> = 0..24;

#[test]
fn every_fault_kind_and_family_is_drawn_over_a_sweep() {
    let profile = Profile::default();
    let mut kinds = BTreeSet::new();
    let mut families = BTreeSet::new();
    let mut replica_counts = BTreeSet::new();
    let mut chained = false;
    let mut without_faults = 0;
    for seed in 0..300 {
        let (document, _scenario) = explore::scenario_of(seed, &profile, "drawn.json");
        let steps = document["steps"].as_array().expect("steps");
        let drawn: Vec<FaultKind> = steps.iter().filter_map(generate::fault_kind_of).collect();
        if drawn.is_empty() {
            without_faults += 1;
        }
        kinds.extend(drawn);
        for step in steps {
            if let Some(mix) = step["workload"]["mix"].as_array() {
                families.extend(mix.iter().filter_map(|f| f.as_str().map(String::from)));
            }
        }
        let nodes = document["nodes"].as_object().expect("nodes");
        replica_counts.insert(nodes.len() - 1);
        chained |= nodes
            .values()
            .any(|n| n["replicaof"].as_str().is_some_and(|m| m != "m"));
    }
    let missing: Vec<&str> = FaultKind::ALL
        .iter()
        .filter(|k| !kinds.contains(k))
        .map(|k| k.name())
        .collect();
    assert!(missing.is_empty(), "fault kinds never drawn: {missing:?}");
    // Every family of the default profile: all but streams, scripts and
    // pubsub, which a profile names (so that seeds drawn before them draw
    // the same runs).
    let expected: BTreeSet<String> = profile.mix.iter().map(|k| k.name().to_string()).collect();
    assert_eq!(
        expected.len(),
        replsim::scenario::WorkloadKind::ALL.len() - 3
    );
    assert!(
        !expected.contains("streams")
            && !expected.contains("scripts")
            && !expected.contains("pubsub")
    );
    assert_eq!(
        families.iter().cloned().collect::<BTreeSet<String>>(),
        expected,
        "families drawn: {families:?}"
    );
    assert_eq!(replica_counts, (1..=6).collect::<BTreeSet<_>>());
    assert!(chained, "no chain drawn");
    assert!(
        without_faults > 0,
        "swarm testing leaves faults out of some runs"
    );
}

#[test]
fn faults_strike_while_the_load_runs_and_clients_follow_a_promotion() {
    let profile = Profile::default();
    let mut promotions = 0;
    let mut lagging = 0;
    for seed in 0..300 {
        let (document, _scenario) = explore::scenario_of(seed, &profile, "drawn.json");
        let steps = document["steps"].as_array().expect("steps");
        let ms = |v: &serde_json::Value| {
            v.as_str()
                .and_then(|t| t.strip_suffix("ms"))
                .and_then(|n| n.parse::<u64>().ok())
        };
        let load = steps
            .iter()
            .find(|s| s.get("workload").is_some())
            .expect("a workload");
        let load_at = ms(&load["at"]).expect("the load starts at a fixed time");
        for step in steps.iter().filter(|s| s.get("at").is_some()) {
            assert!(
                ms(&step["at"]).expect("at in ms") >= load_at,
                "seed {seed}: {step}"
            );
        }
        for (i, step) in steps.iter().enumerate() {
            let promoted = &step["replicaof"];
            if promoted.get("master").is_some_and(|m| m.is_null()) {
                promotions += 1;
                lagging += usize::from(step.get("after").is_some());
                let node = &promoted["node"];
                assert!(
                    steps[i + 1..].iter().any(|s| s["workload"]["on"] == *node),
                    "seed {seed}: no load follows the promotion of {node}"
                );
            }
        }
    }
    assert!(promotions > 20, "{promotions} promotions");
    assert!(
        lagging > 0 && lagging < promotions,
        "{lagging} of {promotions} promotions lag"
    );
}

#[test]
fn a_profile_narrows_what_is_drawn() {
    let profile = Profile::parse(
        r#"{ "replicas": "1..2", "max_depth": 1, "faults": ["cut"], "mix": ["multi"] }"#,
    )
    .unwrap();
    for seed in 0..50 {
        let (document, _) = explore::scenario_of(seed, &profile, "drawn.json");
        let nodes = document["nodes"].as_object().unwrap();
        assert!((2..=3).contains(&nodes.len()));
        assert!(nodes
            .values()
            .all(|n| n.get("replicaof").is_none_or(|m| m == "m")));
        for step in document["steps"].as_array().unwrap() {
            if let Some(kind) = generate::fault_kind_of(step) {
                assert_eq!(kind, FaultKind::Cut);
            }
            if let Some(mix) = step["workload"]["mix"].as_array() {
                assert_eq!(mix, &vec![serde_json::json!("multi")]);
            }
        }
    }
}

fn split_transactions() -> (Profile, RunOptions) {
    let profile = Profile::parse(r#"{ "mix": ["multi"], "replicas": "1..2" }"#).unwrap();
    let planted = PlantedBugs {
        multi_without_wrapper: true,
        ..PlantedBugs::default()
    };
    (profile, RunOptions { planted })
}

#[test]
fn a_generated_failing_run_saved_to_a_file_replays_with_the_same_trace_hash() {
    let (profile, options) = split_transactions();
    let dir = std::env::temp_dir().join(format!("replsim-explore-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("explore-4.json");
    let (document, scenario) = explore::scenario_of(4, &profile, &file.to_string_lossy());
    let report = run_seed_with(&scenario, 4, options);
    assert_eq!(report.verdict.name(), "safety", "{:?}", report.verdict);
    std::fs::write(&file, explore::document_text(&document)).unwrap();
    let loaded = Scenario::load(&file).unwrap();
    let replayed = run_seed_with(&loaded, 4, options);
    assert_eq!(replayed.trace_hash, report.trace_hash);
    assert_eq!(replayed.verdict, report.verdict);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn shrinking_a_planted_failure_ends_at_a_known_minimal_scenario() {
    let (profile, options) = split_transactions();
    let (document, scenario) = explore::scenario_of(4, &profile, "explore-4.json");
    let report = run_seed_with(&scenario, 4, options);
    let shrunk = explore::shrink::shrink(&document, 4, &report.verdict, options, 300, "min.json");
    // The minimal run: the master, one replica, one workload of MULTI
    // blocks from one client in one db.
    let nodes: Vec<&String> = shrunk.document["nodes"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(
        nodes.len(),
        2,
        "{}",
        explore::document_text(&shrunk.document)
    );
    let steps = shrunk.document["steps"].as_array().unwrap();
    assert_eq!(
        steps.len(),
        1,
        "{}",
        explore::document_text(&shrunk.document)
    );
    let workload = &steps[0]["workload"];
    assert_eq!(workload["mix"], serde_json::json!(["multi"]));
    assert_eq!(workload["clients"], serde_json::json!(1));
    assert_eq!(workload["dbs"], serde_json::json!(1));
    assert_eq!(shrunk.verdict.name(), "safety");
    assert_eq!(explore::failure_rule(&shrunk.verdict), "never stood at");
    assert!(!shrunk.exhausted);
    // Deterministic: the same failure shrinks to the same file.
    let again = explore::shrink::shrink(&document, 4, &report.verdict, options, 300, "min.json");
    assert_eq!(again.document, shrunk.document);
    assert_eq!(again.runs, shrunk.runs);
}

#[test]
fn the_explore_sweep_passes() {
    let profile = Profile::default();
    let scenarios: Vec<Scenario> = SWEEP_SEEDS
        .map(|seed| explore::scenario_of(seed, &profile, &format!("explore-{seed}.json")).1)
        .collect();
    let jobs: Vec<sweep::Job> = SWEEP_SEEDS
        .enumerate()
        .map(|(scenario, seed)| sweep::Job {
            scenario,
            seed,
            regression: false,
        })
        .collect();
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let reports = sweep::execute(&scenarios, &jobs, workers, |_| {});
    let failures: Vec<String> = reports
        .iter()
        .filter(|r| r.verdict != Verdict::Pass)
        .map(|r| {
            format!(
                "{}\n  (write it with: replsim explore --seeds {}..{} --out DIR)",
                sweep::describe_failure(r),
                r.seed,
                r.seed + 1
            )
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
