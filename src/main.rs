//! The `replsim` command line.
//!
//! - `run`: scenarios over seeds on all cores, with progress and a summary.
//! - `replay`: one seed, with its interleaved log, identical every time.
//! - `validate`: check scenario files without running them.
//! - `serve`: the server core on real TCP.
//! - `bench`: comparisons against a real redis-server, and simulation speed.
//!
//! Exit codes: 0 all passed; 1 a safety (correctness) violation; 2 a
//! liveness failure (no convergence); 3 a crash (panic) in replsim; 64 bad
//! usage or a bad scenario file.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use replsim::runtime::{DirStorage, TokioRuntime};
use replsim::scenario::{self, Scenario};
use replsim::server::{Config, Server};
use replsim::sim::{run_seed, RunReport, Verdict};
use replsim::sweep::{self, SeedChoice, Shard};

/// Exit code for bad usage or a bad scenario file (`EX_USAGE`).
const EXIT_USAGE: i32 = 64;
/// Exit code of a crash: a panic, which is always a bug in replsim.
const EXIT_CRASH: i32 = 3;

#[derive(Parser)]
#[command(
    name = "replsim",
    version,
    about = "Deterministic simulation testbed for Redis-style master/replica replication",
    after_help = "Exit codes: 0 all passed, 1 safety violation, 2 liveness failure, 3 crash (panic), 64 bad usage or scenario file."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run scenarios over seeds and report the verdicts.
    Run(RunArgs),
    /// Replay one seed of a scenario, printing the interleaved log of all
    /// nodes, the faults and the checks, then the verdict.
    Replay(ReplayArgs),
    /// Check scenario files without running them.
    Validate(ValidateArgs),
    /// Serve RESP on real TCP, like redis-server.
    Serve(ServeArgs),
    /// Compare `replsim serve` with a real redis-server (throughput, memory,
    /// full sync), or measure simulation speed with `--scenarios`.
    Bench(replsim::bench::BenchArgs),
}

#[derive(clap::Args)]
struct RunArgs {
    /// Scenario files, or directories of `*.json` files.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Run only this seed.
    #[arg(long, conflicts_with = "seeds")]
    seed: Option<u64>,
    /// Run these seeds, as A..B (B excluded), instead of each scenario's
    /// regression seeds and default count.
    #[arg(long, value_parser = sweep::parse_seed_range)]
    seeds: Option<std::ops::Range<u64>>,
    /// Worker threads (default: the number of cores).
    #[arg(long)]
    jobs: Option<usize>,
    /// Run only shard K of N (like 3/8): every scenario's seed list is split
    /// the same way on every machine, so shards' JSON lines concatenate.
    #[arg(long)]
    shard: Option<Shard>,
    /// Run every seed twice and fail if the two traces differ.
    #[arg(long)]
    check_determinism: bool,
    /// Print one JSON object per seed (scenario, seed, verdict, failure,
    /// simulated and wall time, trace hash) instead of text.
    #[arg(long)]
    json: bool,
    /// Append every failing seed to its scenario's `regressions` list, so
    /// that `cargo test` replays it first from now on.
    #[arg(long)]
    save_failures: bool,
}

#[derive(clap::Args)]
struct ReplayArgs {
    /// The scenario file.
    file: PathBuf,
    /// The seed to replay.
    #[arg(long)]
    seed: u64,
    /// Also write the nodes' log to this file.
    #[arg(long)]
    log: Option<PathBuf>,
    /// Also write the harness trace to this file.
    #[arg(long)]
    trace: Option<PathBuf>,
}

#[derive(clap::Args)]
struct ValidateArgs {
    /// Scenario files or directories.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// TCP port to listen on.
    #[arg(long, default_value_t = 6379)]
    port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    bind: String,
    /// Directory for the RDB file.
    #[arg(long, default_value = ".")]
    dir: PathBuf,
    /// Password clients must AUTH with.
    #[arg(long)]
    requirepass: Option<String>,
    /// Replicate from this master at start, as "HOST PORT".
    #[arg(long, value_name = "HOST PORT")]
    replicaof: Option<String>,
    /// Any other parameter, as `name=value` (e.g. `--config hz=50`); repeatable.
    #[arg(long = "config", value_name = "NAME=VALUE")]
    config: Vec<String>,
    /// Worker threads (1 behaves like Redis's single thread).
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

fn serve(args: ServeArgs) -> Result<i32> {
    // A panic is a bug that may have left a command half-applied and
    // unpropagated: like Redis after a failed assertion, the server exits
    // rather than go on serving that state to clients and replicas.
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        report(info);
        eprintln!("replsim: crashed (a bug in replsim), exiting");
        std::process::exit(EXIT_CRASH);
    }));
    let mut config = Config {
        port: args.port,
        bind: args.bind.clone(),
        dir: args.dir.display().to_string(),
        ..Config::default()
    };
    if let Some(password) = &args.requirepass {
        config.requirepass = Some(password.as_bytes().to_vec());
    }
    if let Some(master) = &args.replicaof {
        config
            .set_startup("replicaof", master)
            .with_context(|| format!("--replicaof '{master}'"))?;
    }
    for pair in &args.config {
        let (name, value) = pair
            .split_once('=')
            .with_context(|| format!("--config expects NAME=VALUE, got '{pair}'"))?;
        config
            .set_startup(name, value)
            .with_context(|| format!("--config {pair}"))?;
    }
    let runtime = if args.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads)
            .enable_all()
            .build()?
    };
    let storage = Arc::new(DirStorage::new(&args.dir));
    runtime.block_on(async move {
        let server = Server::new(TokioRuntime::new(storage), config);
        let listener = server
            .bind()
            .await
            .with_context(|| format!("cannot listen on {}:{}", args.bind, args.port))?;
        eprintln!(
            "replsim {} ready to accept connections on {}:{}",
            env!("CARGO_PKG_VERSION"),
            args.bind,
            args.port
        );
        server.serve(listener).await?;
        Ok(0)
    })
}

/// Loads scenarios; a bad file prints its error and exits with 64.
fn load(paths: &[PathBuf]) -> Result<Vec<Scenario>, i32> {
    scenario::collect(paths).map_err(|error| {
        eprintln!("{error}");
        EXIT_USAGE
    })
}

fn json_line(report: &RunReport) -> String {
    serde_json::json!({
        "scenario": report.scenario,
        "file": report.file,
        "seed": report.seed,
        "verdict": report.verdict.name(),
        "failure": report.verdict.details(),
        "simulated_ms": report.simulated.as_millis() as u64,
        "wall_ms": report.wall.as_secs_f64() * 1000.0,
        "trace_hash": report.trace_hash,
    })
    .to_string()
}

/// A progress line on a terminal: seeds done, failures, ETA.
struct Progress {
    total: usize,
    done: usize,
    failed: usize,
    started: Instant,
    last_drawn: Option<Instant>,
    terminal: bool,
}

impl Progress {
    fn tick(&mut self, failed: bool) {
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

fn run(args: RunArgs) -> Result<i32> {
    let scenarios = match load(&args.paths) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let seeds = match (args.seed, &args.seeds) {
        (Some(seed), _) => SeedChoice::One(seed),
        (None, Some(range)) => SeedChoice::Range(range.clone()),
        (None, None) => SeedChoice::Default,
    };
    let jobs = sweep::plan(&scenarios, &seeds, args.shard);
    let workers = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let mut progress = Progress {
        total: jobs.len(),
        done: 0,
        failed: 0,
        started: Instant::now(),
        last_drawn: None,
        terminal: !args.json && std::io::stderr().is_terminal(),
    };
    let started = Instant::now();
    let json = args.json;
    let reports = sweep::execute(&scenarios, &jobs, workers, |report| {
        progress.tick(report.verdict != Verdict::Pass);
        if json {
            println!("{}", json_line(report));
        } else if report.verdict != Verdict::Pass {
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
    if args.save_failures {
        save_failures(&scenarios, &reports)?;
    }
    Ok(sweep::exit_code(&all))
}

fn print_summary(scenarios: &[Scenario], reports: &[RunReport], wall: Duration, workers: usize) {
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
    println!(
        "{} seeds, {} failed, in {:.2}s on {} workers ({:.1} seeds/s)",
        reports.len(),
        failed,
        wall.as_secs_f64(),
        workers,
        reports.len() as f64 / wall.as_secs_f64().max(1e-9)
    );
}

/// Adds failing seeds to each scenario file's `regressions` list.
fn save_failures(scenarios: &[Scenario], reports: &[RunReport]) -> Result<()> {
    for scenario in scenarios {
        let failing: Vec<u64> = reports
            .iter()
            .filter(|r| r.scenario == scenario.name && r.verdict != Verdict::Pass)
            .map(|r| r.seed)
            .filter(|seed| !scenario.regressions.contains(seed))
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
        println!("{}: added regression seeds {failing:?}", scenario.file);
    }
    Ok(())
}

fn replay(args: ReplayArgs) -> Result<i32> {
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
    let report = run_seed(scenario, args.seed);
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
    println!("verdict: {}", report.verdict.name());
    for line in report.verdict.details() {
        println!("    {line}");
    }
    println!("trace hash: {}", report.trace_hash);
    Ok(sweep::exit_code(std::slice::from_ref(&report)))
}

fn validate(args: ValidateArgs) -> Result<i32> {
    match load(&args.paths) {
        Ok(scenarios) => {
            for scenario in &scenarios {
                println!(
                    "{}: ok ({}, {} nodes, {} steps)",
                    scenario.file,
                    scenario.name,
                    scenario.nodes.len(),
                    scenario.steps.len()
                );
            }
            Ok(0)
        }
        Err(code) => Ok(code),
    }
}

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let code = match error.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => EXIT_USAGE,
            };
            let _ = error.print();
            std::process::exit(code);
        }
    };
    let result = match cli.command {
        Command::Run(args) => run(args),
        Command::Replay(args) => replay(args),
        Command::Validate(args) => validate(args),
        Command::Serve(args) => serve(args),
        Command::Bench(args) => replsim::bench::run(args).map(|()| 0),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(error) => {
            eprintln!("replsim: {error:#}");
            std::process::exit(EXIT_USAGE);
        }
    }
}
