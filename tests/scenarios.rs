//! Every scenario in `scenarios/` over its seeds, one test case per
//! scenario: regression seeds first, then the file's default count
//! (`REPLSIM_SEEDS=N` overrides the count, `REPLSIM_SEED=S` pins one seed).
//! `cargo test --test scenarios -- busy-random` runs just that scenario.
//!
//! A failing case names its scenario, each failing seed, what broke, and
//! the command that replays it. Each scenario's first seed also runs a
//! second time in the same case and both traces must hash equal; keeping
//! that check inside the scenario's case reuses the sweep's run of the
//! seed, so it costs one extra run per scenario instead of two.
//!
//! The harness is libtest-mimic (`harness = false`). Test cases run on its
//! `--test-threads` threads, but the simulations of all cases share one
//! pool of that many slots (all cores by default): one scenario run alone
//! still spreads its seeds over every core, and many cases at once never
//! oversubscribe them.

#[cfg(madsim)]
fn main() {
    sim::main();
}

/// Without `--cfg madsim` (which `.cargo/config.toml` always passes) the
/// simulator does not exist, so there is nothing to run; say so rather
/// than reporting success silently.
#[cfg(not(madsim))]
fn main() {
    eprintln!("scenarios run only in a madsim build (`--cfg madsim`, set by .cargo/config.toml)");
    libtest_mimic::run(&libtest_mimic::Arguments::from_args(), Vec::new()).exit();
}

#[cfg(madsim)]
mod sim {
    use std::path::Path;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Condvar, Mutex};

    use libtest_mimic::{Arguments, Failed, Trial};
    use replsim::scenario::{load_dir, Scenario};
    use replsim::sim::{run_seed, RunReport, Verdict};
    use replsim::sweep::{self, SeedChoice};

    /// How many scenarios ship; fewer found means the directory was not
    /// read the way the tests expect.
    const SHIPPED_AT_LEAST: usize = 17;

    pub fn main() {
        let args = Arguments::from_args();
        let scenarios = shipped();
        let slots = Arc::new(Slots::new(args.test_threads.unwrap_or_else(cores)));
        let choice = seed_choice();
        let mut trials = vec![
            Trial::test("every_shipped_scenario_is_found", {
                let count = scenarios.len();
                move || {
                    if count >= SHIPPED_AT_LEAST {
                        Ok(())
                    } else {
                        Err(format!(
                            "expected at least {SHIPPED_AT_LEAST} shipped scenarios, found {count}"
                        )
                        .into())
                    }
                }
            }),
            Trial::test("a_seed_gives_the_same_log_line_for_line", {
                let scenario = scenarios
                    .iter()
                    .find(|s| s.name == "link-cut-partial-resync")
                    .cloned();
                let slots = slots.clone();
                move || same_log_line_for_line(scenario, &slots)
            }),
        ];
        trials.extend(scenarios.into_iter().map(|scenario| {
            let (slots, choice) = (slots.clone(), choice.clone());
            Trial::test(scenario.name.clone(), move || {
                passes_and_replays(&scenario, &choice, &slots)
            })
        }));
        libtest_mimic::run(&args, trials).exit();
    }

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

    fn cores() -> usize {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }

    /// A counting semaphore: how many simulations may run at once across
    /// all test cases.
    struct Slots {
        free: Mutex<usize>,
        freed: Condvar,
    }

    impl Slots {
        fn new(count: usize) -> Self {
            Slots {
                free: Mutex::new(count.max(1)),
                freed: Condvar::new(),
            }
        }

        /// Runs `work` once a slot is free, then frees it (also when `work`
        /// panics, so one crashing case cannot starve the others).
        fn run<T>(&self, work: impl FnOnce() -> T) -> T {
            let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
            while *free == 0 {
                free = self.freed.wait(free).unwrap_or_else(|e| e.into_inner());
            }
            *free -= 1;
            drop(free);
            struct Release<'a>(&'a Slots);
            impl Drop for Release<'_> {
                fn drop(&mut self) {
                    *self.0.free.lock().unwrap_or_else(|e| e.into_inner()) += 1;
                    self.0.freed.notify_one();
                }
            }
            let _release = Release(self);
            work()
        }
    }

    /// Runs `seeds` of `scenario`, each in a free slot, and returns the
    /// reports in the order of `seeds`.
    fn run_seeds(scenario: &Scenario, seeds: &[u64], slots: &Arc<Slots>) -> Vec<RunReport> {
        let next = AtomicUsize::new(0);
        let results: Mutex<Vec<Option<RunReport>>> = Mutex::new(vec![None; seeds.len()]);
        // As many workers as slots: the slots, not the workers, bound how
        // many simulations run at once, and a scenario alone can fill them.
        std::thread::scope(|scope| {
            for _ in 0..cores().min(seeds.len()) {
                scope.spawn(|| loop {
                    let index = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&seed) = seeds.get(index) else { break };
                    let report = slots.run(|| run_seed(scenario, seed));
                    results.lock().unwrap_or_else(|e| e.into_inner())[index] = Some(report);
                });
            }
        });
        results
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .into_iter()
            .map(|report| report.expect("every seed ran"))
            .collect()
    }

    /// The test case of one scenario: every planned seed passes, and the
    /// first seed's second run gives the same trace as its first.
    fn passes_and_replays(
        scenario: &Scenario,
        choice: &SeedChoice,
        slots: &Arc<Slots>,
    ) -> Result<(), Failed> {
        let planned: Vec<u64> = sweep::plan(std::slice::from_ref(scenario), choice, None)
            .into_iter()
            .map(|job| job.seed)
            .collect();
        let Some(&first) = planned.first() else {
            return Err(format!("{}: no seeds planned", scenario.name).into());
        };
        // The repeat goes right after the first seed so both runs of it
        // finish early and a nondeterminism shows without waiting for the
        // whole sweep's order.
        let mut seeds = vec![first, first];
        seeds.extend(&planned[1..]);
        let mut reports = run_seeds(scenario, &seeds, slots);
        let repeat = reports.remove(1);

        let mut problems: Vec<String> = reports
            .iter()
            .filter(|r| r.verdict != Verdict::Pass)
            .map(sweep::describe_failure)
            .collect();
        let original = &reports[0];
        if original.trace_hash != repeat.trace_hash {
            problems.push(format!(
                "FAIL {} seed {} (nondeterministic):\n    two runs gave different traces ({} vs {})\n  replay: {}",
                original.scenario,
                original.seed,
                original.trace_hash,
                repeat.trace_hash,
                sweep::replay_command(original)
            ));
        }
        if original.trace.is_empty() || original.log.is_empty() {
            problems.push(format!(
                "{} seed {}: the run left an empty trace or log",
                original.scenario, original.seed
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            let failed = reports
                .iter()
                .filter(|r| r.verdict != Verdict::Pass)
                .count();
            Err(format!(
                "{}: {failed} of {} seeds failed\n{}",
                scenario.name,
                reports.len(),
                problems.join("\n")
            )
            .into())
        }
    }

    /// Two runs of one seed give the same log and trace line for line, and
    /// another seed gives a different run.
    fn same_log_line_for_line(scenario: Option<Scenario>, slots: &Slots) -> Result<(), Failed> {
        let scenario =
            scenario.ok_or("link-cut-partial-resync is not among the shipped scenarios")?;
        let run = |seed| slots.run(|| run_seed(&scenario, seed));
        let (a, b) = (run(3), run(3));
        if a.log != b.log || a.trace != b.trace {
            let at = a
                .log
                .iter()
                .zip(&b.log)
                .position(|(x, y)| x != y)
                .unwrap_or(a.log.len().min(b.log.len()));
            return Err(format!(
                "seed 3 gave two different runs; logs first differ at line {at}\n  replay: {}",
                sweep::replay_command(&a)
            )
            .into());
        }
        let other = run(4);
        if a.trace_hash == other.trace_hash {
            return Err("seeds 3 and 4 gave the same run: the seed does not reach the run".into());
        }
        Ok(())
    }
}
