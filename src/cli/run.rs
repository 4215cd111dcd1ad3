//! `replsim run`: scenarios over seeds on all cores, with a progress line,
//! JSON lines, the summary and lag tables, and saved failures.

use crate::*;

/// The `--json` line of one run; `plant` (the bugs `explore --plant`
/// planted, needed to replay it) only when there are some.
pub(crate) fn json_line(report: &RunReport, plant: &[String]) -> String {
    let mut line = serde_json::json!({
        "scenario": report.scenario,
        "file": report.file,
        "seed": report.seed,
        "verdict": report.verdict.name(),
        "failure": report.verdict.details(),
        "simulated_ms": report.simulated.as_millis() as u64,
        "wall_ms": report.wall.as_secs_f64() * 1000.0,
        "trace_hash": report.trace_hash,
        "lag": report
            .lag
            .iter()
            .map(|lag| (lag.node.clone(), lag.to_json()))
            .collect::<serde_json::Map<_, _>>(),
        "sent": report
            .traffic
            .iter()
            .map(|(node, sent)| {
                (
                    node.clone(),
                    serde_json::json!({"to_servers": sent.to_servers, "to_clients": sent.to_clients}),
                )
            })
            .collect::<serde_json::Map<_, _>>(),
        "skewed_reads": {
            "hidden_early": report.skewed_reads.hidden_early,
            "served_late": report.skewed_reads.served_late,
        },
        "losses": losses_json(&report.losses),
    });
    if !plant.is_empty() {
        line["plant"] = serde_json::json!(plant);
    }
    line.to_string()
}

/// The `losses` object of a `--json` line: totals, counts by cause, the
/// longest split brain, and every lost write.
fn losses_json(losses: &replsim::sim::losses::LossReport) -> serde_json::Value {
    use replsim::sim::losses::LossCause;
    serde_json::json!({
        "acknowledged": losses.acknowledged,
        "waited": losses.waited,
        "lost": losses.lost.len(),
        "lost_waited": losses.lost_waited(),
        "lost_confirmed_on_survivors": losses.lost_confirmed_on_survivors(),
        "by_cause": LossCause::ALL
            .iter()
            .map(|&cause| (cause.name().to_string(), serde_json::json!(losses.count(cause))))
            .collect::<serde_json::Map<_, _>>(),
        "split_brain_ms": losses.longest_split_brain().as_millis() as u64,
        "writes": losses
            .lost
            .iter()
            .map(|w| serde_json::json!({
                "db": w.db,
                "key": w.key,
                "value": w.value,
                "node": w.node,
                "acked_ms": w.acked_at.as_millis() as u64,
                "replid": w.at.0,
                "offset": w.at.1,
                "waited": w.waited,
                "confirmed_on_survivors": w.confirmed_on_survivors,
                "cause": w.cause.name(),
                "why": w.why,
            }))
            .collect::<Vec<_>>(),
    })
}

/// A progress line on a terminal: seeds done, failures, ETA.
pub(crate) struct Progress {
    pub(crate) total: usize,
    pub(crate) done: usize,
    pub(crate) failed: usize,
    pub(crate) started: Instant,
    pub(crate) last_drawn: Option<Instant>,
    pub(crate) terminal: bool,
}

/// `--jobs`, or one worker per core.
pub(crate) fn workers(jobs: Option<usize>) -> usize {
    jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

impl Progress {
    /// A progress line over `total` runs, drawn only on a terminal and
    /// never with `--json`.
    pub(crate) fn new(total: usize, json: bool) -> Self {
        Progress {
            total,
            done: 0,
            failed: 0,
            started: Instant::now(),
            last_drawn: None,
            terminal: !json && std::io::stderr().is_terminal(),
        }
    }

    pub(crate) fn tick(&mut self, failed: bool) {
        self.done += 1;
        self.failed += usize::from(failed);
        if !self.terminal {
            return;
        }
        // Redraw at most 10 times a second so that printing never slows runs.
        if self
            .last_drawn
            .is_some_and(|t| t.elapsed() < Duration::from_millis(100))
            && self.done < self.total
        {
            return;
        }
        self.last_drawn = Some(Instant::now());
        let elapsed = self.started.elapsed().as_secs_f64();
        let eta = if self.done == 0 {
            0.0
        } else {
            elapsed / self.done as f64 * (self.total - self.done) as f64
        };
        let width = 30;
        let filled = width * self.done / self.total.max(1);
        eprint!(
            "\r[{}{}] {}/{} seeds, {} failed, ETA {:.0}s ",
            "#".repeat(filled),
            "-".repeat(width - filled),
            self.done,
            self.total,
            self.failed,
            eta
        );
        let _ = std::io::stderr().flush();
        if self.done == self.total {
            eprintln!();
        }
    }
}

pub(crate) fn run(args: RunArgs) -> Result<i32> {
    let scenarios = match load(&args.paths) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let seeds = match (args.seed, &args.seeds) {
        (Some(seed), _) => SeedChoice::One(seed),
        (None, Some(range)) => SeedChoice::Range(range.clone()),
        (None, None) => SeedChoice::Default,
    };
    let shard = match resolve_shard(args.shard) {
        Ok(shard) => shard,
        Err(code) => return Ok(code),
    };
    let jobs = sweep::plan(&scenarios, &seeds, shard);
    let workers = workers(args.jobs);
    let mut progress = Progress::new(jobs.len(), args.json);
    let started = Instant::now();
    let json = args.json;
    // A failure seen before on another seed is listed with it at the end.
    let mut shown = std::collections::BTreeSet::new();
    let reports = sweep::execute(&scenarios, &jobs, workers, |report| {
        progress.tick(report.verdict != Verdict::Pass);
        if json {
            println!("{}", json_line(report, &[]));
        } else if report.verdict != Verdict::Pass && shown.insert(sweep::failure_signature(report))
        {
            if progress.terminal {
                eprintln!();
            }
            println!("{}", sweep::describe_failure(report));
        }
    });
    let mut all = reports.clone();
    if args.check_determinism {
        let again = sweep::execute(&scenarios, &jobs, workers, |_| {});
        for (first, second) in reports.iter().zip(&again) {
            if first.trace_hash != second.trace_hash || first.verdict != second.verdict {
                let mut broken = first.clone();
                broken.verdict = Verdict::Safety(vec![format!(
                    "nondeterminism: two runs of the seed differ (trace hashes {} and {})",
                    first.trace_hash, second.trace_hash
                )]);
                println!("{}", sweep::describe_failure(&broken));
                all.push(broken);
            }
        }
    }
    if !json {
        print_summary(&scenarios, &reports, started.elapsed(), workers);
    }
    if let Some(dir) = &args.html_dir {
        write_failure_pages(
            &scenarios,
            &reports,
            replsim::sim::RunOptions::default(),
            &[],
            dir,
            |line| {
                if json {
                    eprintln!("{line}")
                } else {
                    println!("{line}")
                }
            },
        )?;
    }
    if args.save_failures {
        save_failures(&scenarios, &reports)?;
    }
    if args.shrink {
        for group in sweep::distinct_failures(&reports) {
            let report = group[0];
            let path = PathBuf::from(&report.file);
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            let document: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("reading {} as JSON", path.display()))?;
            let summary = shrink_and_write(
                &document,
                report,
                replsim::sim::RunOptions::default(),
                args.shrink_budget,
                "",
            )?;
            println!("{} seed {}: {summary}", report.scenario, report.seed);
        }
    }
    Ok(sweep::exit_code(&all))
}

pub(crate) fn print_summary(
    scenarios: &[Scenario],
    reports: &[RunReport],
    wall: Duration,
    workers: usize,
) {
    println!(
        "{:<32} {:>6} {:>6} {:>6} {:>10} {:>12}",
        "scenario", "seeds", "passed", "failed", "ms/seed", "sim/wall"
    );
    for scenario in scenarios {
        let mine: Vec<&RunReport> = reports
            .iter()
            .filter(|r| r.scenario == scenario.name)
            .collect();
        if mine.is_empty() {
            continue;
        }
        let passed = mine.iter().filter(|r| r.verdict == Verdict::Pass).count();
        let wall: f64 = mine.iter().map(|r| r.wall.as_secs_f64()).sum();
        let simulated: f64 = mine.iter().map(|r| r.simulated.as_secs_f64()).sum();
        println!(
            "{:<32} {:>6} {:>6} {:>6} {:>10.1} {:>11.0}x",
            scenario.name,
            mine.len(),
            passed,
            mine.len() - passed,
            wall * 1000.0 / mine.len() as f64,
            simulated / wall.max(1e-9)
        );
    }
    let failed = reports
        .iter()
        .filter(|r| r.verdict != Verdict::Pass)
        .count();
    let distinct = sweep::distinct_failures(reports);
    for group in distinct.iter().filter(|g| g.len() > 1) {
        let seeds: Vec<String> = group.iter().map(|r| r.seed.to_string()).collect();
        println!(
            "the same failure of {} ({}) on {} seeds: {}",
            group[0].scenario,
            group[0].verdict.name(),
            group.len(),
            seeds.join(", ")
        );
    }
    if failed > 0 {
        println!("{} distinct failures", distinct.len());
    }
    print_lag_summary(scenarios, reports);
    print_loss_summary(scenarios, reports);
    println!(
        "{} seeds, {} failed, in {:.2}s on {} workers ({:.1} seeds/s)",
        reports.len(),
        failed,
        wall.as_secs_f64(),
        workers,
        reports.len() as f64 / wall.as_secs_f64().max(1e-9)
    );
}

/// Each scenario's lost acknowledged writes over all its seeds, by cause,
/// when any was lost.
pub(crate) fn print_loss_summary(scenarios: &[Scenario], reports: &[RunReport]) {
    use replsim::sim::losses::LossCause;
    let mut header_printed = false;
    for scenario in scenarios {
        let mine: Vec<&RunReport> = reports
            .iter()
            .filter(|r| r.scenario == scenario.name)
            .collect();
        let lost: u64 = mine.iter().map(|r| r.losses.lost.len() as u64).sum();
        if lost == 0 {
            continue;
        }
        if !header_printed {
            println!(
                "{:<40} {:>8} {:>7} {:>6}  causes; longest split brain",
                "scenario (acknowledged writes lost)", "acked", "lost", "%"
            );
            header_printed = true;
        }
        let acked: u64 = mine.iter().map(|r| r.losses.acknowledged).sum();
        let causes: Vec<String> = LossCause::ALL
            .iter()
            .filter_map(|&cause| {
                let n: u64 = mine.iter().map(|r| r.losses.count(cause)).sum();
                (n > 0).then(|| format!("{} {n}", cause.name()))
            })
            .collect();
        let longest = mine
            .iter()
            .map(|r| r.losses.longest_split_brain())
            .max()
            .unwrap_or_default();
        println!(
            "{:<40} {:>8} {:>7} {:>5.1}%  {}; {:.3}s",
            scenario.name,
            acked,
            lost,
            lost as f64 * 100.0 / acked.max(1) as f64,
            causes.join(", "),
            longest.as_secs_f64()
        );
    }
}

/// Each scenario's replicas' lag over all its seeds, when any was sampled.
pub(crate) fn print_lag_summary(scenarios: &[Scenario], reports: &[RunReport]) {
    let mut rows = Vec::new();
    for scenario in scenarios {
        let merged = lag::merge(
            reports
                .iter()
                .filter(|r| r.scenario == scenario.name)
                .map(|r| r.lag.as_slice()),
        );
        rows.extend(merged.into_iter().map(|l| (scenario.name.clone(), l)));
    }
    if rows.is_empty() {
        return;
    }
    let rows: Vec<(String, &lag::ReplicaLag)> = rows.iter().map(|(s, l)| (s.clone(), l)).collect();
    for line in lag::table(Some("scenario (lag behind the top master)"), &rows) {
        println!("{line}");
    }
}

/// Adds failing seeds to each scenario file's `regressions` list: one
/// seed per distinct failure (the first that showed it).
pub(crate) fn save_failures(scenarios: &[Scenario], reports: &[RunReport]) -> Result<()> {
    let distinct = sweep::distinct_failures(reports);
    for scenario in scenarios {
        let failing: Vec<u64> = distinct
            .iter()
            .filter(|group| {
                group
                    .iter()
                    .all(|r| !scenario.regressions.contains(&r.seed))
            })
            .map(|group| group[0])
            .filter(|r| r.scenario == scenario.name)
            .map(|r| r.seed)
            .collect();
        if failing.is_empty() {
            continue;
        }
        let text = std::fs::read_to_string(&scenario.file)
            .with_context(|| format!("reading {}", scenario.file))?;
        let updated = sweep::add_regressions(&text, &failing)
            .map_err(|e| anyhow::anyhow!("updating the regressions of {}: {e}", scenario.file))?;
        std::fs::write(&scenario.file, updated)
            .with_context(|| format!("writing {}", scenario.file))?;
        let seeds: Vec<String> = failing.iter().map(u64::to_string).collect();
        println!(
            "{}: added regression seeds {}",
            scenario.file,
            seeds.join(", ")
        );
    }
    Ok(())
}
