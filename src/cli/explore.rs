//! `replsim explore`: runs drawn from seeds, each failure shrunk to a
//! minimal scenario file.

use crate::*;

/// Shrinks the failing run `report` of `document` to `NAME.min.json` next
/// to its file, and says how small it got and how to replay it
/// (`plant_flags` appended).
pub(crate) fn shrink_and_write(
    document: &serde_json::Value,
    report: &RunReport,
    options: replsim::sim::RunOptions,
    budget: u32,
    plant_flags: &str,
) -> Result<String> {
    use replsim::explore;
    let path = PathBuf::from(&report.file);
    let min = explore::min_path(&path);
    let shrinking = Instant::now();
    let shrunk = explore::shrink::shrink(
        document,
        report.seed,
        &report.verdict,
        options,
        budget,
        &min.to_string_lossy(),
    );
    std::fs::write(&min, explore::document_text(&shrunk.document))
        .with_context(|| format!("writing {}", min.display()))?;
    let (steps, nodes, ops) = explore::shrink::size_of(&shrunk.document);
    let (full_steps, full_nodes, full_ops) = explore::shrink::size_of(document);
    let shrunk_report = RunReport {
        file: min.to_string_lossy().into_owned(),
        ..report.clone()
    };
    let summary = format!(
        "shrunk to {steps} steps, {nodes} nodes, {ops} ops (from {full_steps}, {full_nodes}, {full_ops}) in {} runs, {:.1}s{}: {}\n  replay: {}{plant_flags}",
        shrunk.runs,
        shrinking.elapsed().as_secs_f64(),
        if shrunk.exhausted { " (budget reached)" } else { "" },
        min.display(),
        sweep::replay_command(&shrunk_report)
    );
    Ok(summary)
}

/// The bugs `--plant` names, or `None` (reported) for an unknown name.
pub(crate) fn planted_bugs(names: &[String]) -> Option<replsim::server::probe::PlantedBugs> {
    let mut planted = replsim::server::probe::PlantedBugs::default();
    for name in names {
        planted = match planted.with(name) {
            Some(planted) => planted,
            None => {
                eprintln!(
                    "replsim: unknown bug '{name}' for --plant (known: {})",
                    replsim::server::probe::PlantedBugs::NAMES.join(", ")
                );
                return None;
            }
        };
    }
    Some(planted)
}

pub(crate) fn explore(args: ExploreArgs) -> Result<i32> {
    use replsim::explore::{self, Profile};
    let profile = match &args.profile {
        None => Profile::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            match Profile::parse(&text) {
                Ok(profile) => profile,
                Err(error) => {
                    eprintln!("{}: {error}", path.display());
                    return Ok(EXIT_USAGE);
                }
            }
        }
    };
    let Some(planted) = planted_bugs(&args.plant) else {
        return Ok(EXIT_USAGE);
    };
    let shard = match resolve_shard(args.shard) {
        Ok(shard) => shard,
        Err(code) => return Ok(code),
    };
    let options = replsim::sim::RunOptions { planted };
    // A planted failure replays only with the same bugs planted.
    let plant_flags: String = args.plant.iter().map(|p| format!(" --plant {p}")).collect();
    let seeds: Vec<u64> = args
        .seeds
        .clone()
        .enumerate()
        .filter(|(position, _)| shard.is_none_or(|s| *position as u64 % s.count == s.index - 1))
        .map(|(_, seed)| seed)
        .collect();
    let mut documents = Vec::with_capacity(seeds.len());
    let mut scenarios = Vec::with_capacity(seeds.len());
    for &seed in &seeds {
        let file = args.out.join(format!("explore-{seed}.json"));
        let (document, scenario) = explore::scenario_of(seed, &profile, &file.to_string_lossy());
        documents.push(document);
        scenarios.push(scenario);
    }
    if args.dry_run {
        for document in &documents {
            print!("{}", explore::document_text(document));
        }
        return Ok(0);
    }
    let jobs: Vec<sweep::Job> = seeds
        .iter()
        .enumerate()
        .map(|(scenario, &seed)| sweep::Job {
            scenario,
            seed,
            regression: false,
        })
        .collect();
    let workers = workers(args.jobs);
    let mut progress = Progress::new(jobs.len(), args.json);
    let started = Instant::now();
    let json = args.json;
    let reports = sweep::execute_with(&scenarios, &jobs, workers, options, |report| {
        progress.tick(report.verdict != Verdict::Pass);
        if json {
            println!("{}", json_line(report, &args.plant));
        }
    });
    let wall = started.elapsed();
    let failing: Vec<usize> = (0..reports.len())
        .filter(|&i| reports[i].verdict != Verdict::Pass)
        .collect();
    if !failing.is_empty() {
        std::fs::create_dir_all(&args.out)
            .with_context(|| format!("creating {}", args.out.display()))?;
    }
    for &index in &failing {
        let report = &reports[index];
        let path = PathBuf::from(&report.file);
        std::fs::write(&path, explore::document_text(&documents[index]))
            .with_context(|| format!("writing {}", path.display()))?;
        if progress.terminal {
            eprintln!();
        }
        if !json {
            println!("{}{plant_flags}", sweep::describe_failure(report));
        }
        if args.shrink_budget == 0 {
            continue;
        }
        let summary = shrink_and_write(
            &documents[index],
            report,
            options,
            args.shrink_budget,
            &plant_flags,
        )?;
        if json {
            eprintln!("{summary}");
        } else {
            println!("  {summary}");
        }
    }
    if let Some(dir) = &args.html_dir {
        write_failure_pages(&scenarios, &reports, options, &args.plant, dir, |line| {
            if json {
                eprintln!("{line}")
            } else {
                println!("{line}")
            }
        })?;
    }
    if !json {
        let ratios: Vec<f64> = reports
            .iter()
            .map(|r| r.simulated.as_secs_f64() / r.wall.as_secs_f64().max(1e-9))
            .collect();
        let mean = ratios.iter().sum::<f64>() / ratios.len().max(1) as f64;
        let worst = ratios.iter().copied().fold(f64::INFINITY, f64::min);
        let mut kinds: std::collections::BTreeMap<&str, usize> = Default::default();
        for &index in &failing {
            *kinds.entry(reports[index].verdict.name()).or_default() += 1;
        }
        let by_kind: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
        println!(
            "{} seeds, {} failed{}, in {:.2}s on {} workers ({:.1} seeds/s); simulated/wall mean {:.0}x, worst {:.0}x",
            reports.len(),
            failing.len(),
            if by_kind.is_empty() { String::new() } else { format!(" ({})", by_kind.join(", ")) },
            wall.as_secs_f64(),
            workers,
            reports.len() as f64 / wall.as_secs_f64().max(1e-9),
            mean,
            if worst.is_finite() { worst } else { 0.0 },
        );
    }
    Ok(sweep::exit_code(&reports))
}
