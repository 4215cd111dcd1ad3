//! `replsim replay`: one seed with its interleaved log, lag and traffic,
//! and the timeline pages of failing runs.

use crate::*;

pub(crate) fn replay(args: ReplayArgs) -> Result<i32> {
    let scenarios = match load(std::slice::from_ref(&args.file)) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let scenario = &scenarios[0];
    println!(
        "replsim {} replay: scenario {} ({}) seed {}",
        env!("CARGO_PKG_VERSION"),
        scenario.name,
        scenario.file,
        args.seed
    );
    let Some(planted) = planted_bugs(&args.plant) else {
        return Ok(EXIT_USAGE);
    };
    let options = replsim::sim::RunOptions { planted };
    let report = if args.html.is_some() {
        replsim::sim::run_seed_with_timeline(scenario, args.seed, options)
    } else {
        replsim::sim::run_seed_with(scenario, args.seed, options)
    };
    for line in sweep::interleave(&report.trace, &report.log) {
        println!("{line}");
    }
    if let Some(path) = &args.log {
        std::fs::write(path, report.log.join("\n") + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &args.trace {
        std::fs::write(path, report.trace.join("\n") + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &args.html {
        replsim::timeline::files::write_page(&report, &args.plant, path)?;
    }
    println!("verdict: {}", report.verdict.name());
    for line in report.verdict.details() {
        println!("    {line}");
    }
    if !report.lag.is_empty() {
        let rows: Vec<(String, &lag::ReplicaLag)> =
            report.lag.iter().map(|l| (String::new(), l)).collect();
        println!("lag behind the top master, sampled every 100 ms:");
        for line in lag::table(None, &rows) {
            println!("{line}");
        }
    }
    let sent: Vec<String> = report
        .traffic
        .iter()
        .map(|(node, sent)| {
            format!(
                "{node} {} to servers, {} to clients",
                sent.to_servers, sent.to_clients
            )
        })
        .collect();
    println!("bytes sent: {}", sent.join("; "));
    if report.skewed_reads.count() > 0 {
        println!(
            "reads a replica's clock skew decided (allowed: Redis judges expiry by the serving node's clock): {} hidden early, {} served late",
            report.skewed_reads.hidden_early, report.skewed_reads.served_late
        );
        for example in &report.skewed_reads.examples {
            println!("    {example}");
        }
    }
    println!("trace hash: {}", report.trace_hash);
    Ok(sweep::exit_code(std::slice::from_ref(&report)))
}

/// Writes the page of every failing run into `dir`, saying where each
/// went (and which crashed, leaving none).
pub(crate) fn write_failure_pages(
    scenarios: &[Scenario],
    reports: &[RunReport],
    options: replsim::sim::RunOptions,
    plant: &[String],
    dir: &std::path::Path,
    say: impl Fn(&str),
) -> Result<()> {
    use replsim::timeline::files::{self, Written};
    for written in files::write_failure_pages(scenarios, reports, options, plant, dir)? {
        match written {
            Written::Page(path) => say(&format!("timeline: {}", path.display())),
            Written::Crashed(run) => say(&format!("no timeline for {run}: it crashed")),
        }
    }
    Ok(())
}
