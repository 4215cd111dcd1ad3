//! The `replsim` command line.
//!
//! - `run`: scenarios over seeds on all cores, with progress and a summary.
//! - `replay`: one seed, with its interleaved log, identical every time.
//! - `validate`: check scenario files without running them.
//! - `report`: merge the JSON lines of sweeps and shards into one summary.
//! - `serve`: the server core on real TCP.
//! - `bench`: comparisons against a real redis-server, and simulation speed.
//!
//! Exit codes: 0 all passed; 1 a safety (correctness) violation; 2 a
//! liveness failure (no convergence); 3 a crash (panic) in replsim; 4 an
//! expectation of the scenario itself failed; 64 bad usage or a bad
//! scenario file. Over many seeds the most severe wins (crash, safety,
//! liveness, expectation). `serve` exits like redis-server: 0 after
//! SHUTDOWN, SIGTERM or SIGINT, 1 when its RDB cannot be loaded; and 3
//! after a panic.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use replsim::log::Level;
use replsim::runtime::{DirStorage, TokioRuntime};
use replsim::scenario::{self, Scenario};
use replsim::server::{Config, Server};
use replsim::sim::{lag, RunReport, Verdict};
use replsim::sweep::{self, SeedChoice, Shard, ShardChoice};

/// Exit code for bad usage or a bad scenario file (`EX_USAGE`).
const EXIT_USAGE: i32 = 64;
/// Exit code of a crash: a panic, which is always a bug in replsim.
const EXIT_CRASH: i32 = 3;
/// Exit code of `serve` when the RDB on disk cannot be loaded (Redis's).
const EXIT_LOAD_FAILED: i32 = 1;

#[derive(Parser)]
#[command(
    name = "replsim",
    version,
    about = "Deterministic simulation testbed for Redis-style master/replica replication",
    after_help = "Exit codes: 0 all passed, 1 safety violation, 2 liveness failure, 3 crash (panic), 4 a scenario's own expectation failed, 64 bad usage or scenario file."
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
    /// Draw whole runs from seeds (topology, workload, faults), run them,
    /// and shrink every failure to a minimal scenario file.
    Explore(ExploreArgs),
    /// Merge the `--json` lines of `run` and `explore` (one machine or
    /// many shards) into one summary.
    Report(ReportArgs),
    /// Print the JSON Schema of scenario files (docs/scenario.schema.json).
    Schema,
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
    /// `auto` takes K and N from the environment: REPLSIM_SHARD=K/N, or
    /// JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) or
    /// REPLSIM_SHARD_INDEX (a CI matrix), both from 0, with
    /// REPLSIM_SHARD_COUNT, or GitLab's CI_NODE_INDEX and CI_NODE_TOTAL.
    #[arg(long)]
    shard: Option<ShardChoice>,
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
    /// Shrink each distinct failure to a minimal scenario, written next to
    /// its file as NAME.min.json.
    #[arg(long)]
    shrink: bool,
    /// Runs shrinking may take per failure.
    #[arg(long, default_value_t = 300)]
    shrink_budget: u32,
    /// Write the timeline page of every failing seed into this directory
    /// (as SCENARIO-seed-SEED.html).
    #[arg(long)]
    html_dir: Option<PathBuf>,
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
    /// Also write the run's timeline to this file as one self-contained
    /// HTML page.
    #[arg(long)]
    html: Option<PathBuf>,
    /// Plant a known bug in every node, as `explore --plant` did for the
    /// run being replayed; repeatable.
    #[arg(long)]
    plant: Vec<String>,
}

#[derive(clap::Args)]
struct ExploreArgs {
    /// The seeds, as A..B (B excluded).
    #[arg(long, value_parser = sweep::parse_seed_range, default_value = "0..100")]
    seeds: std::ops::Range<u64>,
    /// A profile file narrowing what the generator draws.
    #[arg(long)]
    profile: Option<PathBuf>,
    /// Worker threads (default: the number of cores).
    #[arg(long)]
    jobs: Option<usize>,
    /// Run only shard K of N (like 3/8), or `auto` (from the environment,
    /// as `run --shard auto`).
    #[arg(long)]
    shard: Option<ShardChoice>,
    /// Print one JSON object per seed instead of text.
    #[arg(long)]
    json: bool,
    /// Where failing runs and their shrunk twins are written.
    #[arg(long, default_value = "explore-failures")]
    out: PathBuf,
    /// Runs shrinking may take per failure (0: do not shrink).
    #[arg(long, default_value_t = 300)]
    shrink_budget: u32,
    /// Plant a known bug in every node (to measure what explore catches);
    /// repeatable. Names: replica-deletes-expired-on-read,
    /// ack-unapplied-bytes, multi-without-wrapper, ignore-continue-new-id,
    /// rdb-drops-a-key, flushall-not-propagated, wait-ignores-acks.
    #[arg(long)]
    plant: Vec<String>,
    /// Print each drawn scenario instead of running it.
    #[arg(long)]
    dry_run: bool,
    /// Write the timeline page of every failing seed into this directory
    /// (as explore-SEED-seed-SEED.html).
    #[arg(long)]
    html_dir: Option<PathBuf>,
}

#[derive(clap::Args)]
struct ReportArgs {
    /// Files of JSON lines (`-` for standard input).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Also write the summary as an HTML page with a chart per scenario.
    #[arg(long)]
    html: Option<PathBuf>,
}

#[derive(clap::Args)]
struct ValidateArgs {
    /// Scenario files or directories.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// As redis-server takes them: an optional redis.conf path, then
    /// `--name value...` for any parameter (`--port 6380 --save ""
    /// --replicaof 127.0.0.1 6379`), applied after the file. Also
    /// `--config NAME=VALUE` (repeatable) and `--threads N` (worker threads;
    /// 1, the default, behaves like Redis's single thread).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "[CONF] [--NAME VALUE...]"
    )]
    args: Vec<String>,
}

/// `serve`'s arguments sorted out: the config file, redis-server style
/// options, and replsim's own `--threads`.
struct ServeOptions {
    conf: Option<PathBuf>,
    options: Vec<String>,
    threads: usize,
}

fn serve_options(args: &[String]) -> Result<ServeOptions> {
    let mut parsed = ServeOptions {
        conf: None,
        options: Vec::new(),
        threads: 1,
    };
    let mut rest = args;
    if let Some(first) = rest.first() {
        if !first.starts_with("--") {
            parsed.conf = Some(PathBuf::from(first));
            rest = &rest[1..];
        }
    }
    let mut i = 0;
    while i < rest.len() {
        match rest[i].as_str() {
            "--threads" => {
                let value = rest.get(i + 1).context("--threads expects a number")?;
                parsed.threads = value
                    .parse()
                    .with_context(|| format!("--threads expects a number, got '{value}'"))?;
                i += 2;
            }
            "--config" => {
                let pair = rest.get(i + 1).context("--config expects NAME=VALUE")?;
                let (name, value) = pair
                    .split_once('=')
                    .with_context(|| format!("--config expects NAME=VALUE, got '{pair}'"))?;
                parsed.options.push(format!("--{name}"));
                parsed.options.push(value.to_string());
                i += 2;
            }
            word if word.starts_with("--") || !parsed.options.is_empty() => {
                parsed.options.push(word.to_string());
                i += 1;
            }
            word => anyhow::bail!("unexpected argument '{word}' (options are --name value)"),
        }
    }
    Ok(parsed)
}

fn serve(args: ServeArgs) -> Result<i32> {
    // A panic is a bug that may have left a command half-applied and
    // unpropagated: like Redis after a failed assertion, the server exits
    // rather than go on serving that state to clients and replicas. A
    // panic in a command is the server's to report: it logs the header of
    // Redis's bug report (with the location recorded here) and stops, and
    // serve exits below. Anywhere else the process exits at once.
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if replsim::server::executing_command() {
            replsim::server::note_panic_location(
                info.location()
                    .map(|at| format!("{}:{}", at.file(), at.line())),
            );
            return;
        }
        report(info);
        eprintln!("replsim: crashed (a bug in replsim), exiting");
        std::process::exit(EXIT_CRASH);
    }));
    let parsed = serve_options(&args.args)?;
    let mut config = Config::default();
    if let Err(error) =
        replsim::server::conf_file::load(&mut config, parsed.conf.as_deref(), &parsed.options)
    {
        // Redis's report, on stderr, and its exit status.
        eprintln!("{error}");
        return Ok(1);
    }
    let log = Arc::new(
        replsim::log::ProcessLog::open(&config.loglevel, &config.logfile)
            .with_context(|| format!("can't open the log file '{}'", config.logfile))?,
    );
    log.write(
        'C',
        Level::Warning,
        "oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo",
    );
    log.write(
        'C',
        Level::Warning,
        &format!(
            "Redis version={}, bits=64, commit=00000000, modified=0, pid={}, just started",
            replsim::REDIS_COMPAT_VERSION,
            std::process::id()
        ),
    );
    log.write('C', Level::Warning, "Configuration loaded");
    if config.others.get("always-show-logo").map(String::as_str) == Some("yes") {
        // In place of Redis's ASCII-art logo, one line with what the logo
        // tells (version, mode, port, pid), which harnesses wait for.
        log.write_raw(&format!(
            "replsim {} (Redis {}) 64 bit, Running in standalone mode, Port: {}, PID: {}\n\n",
            env!("CARGO_PKG_VERSION"),
            replsim::REDIS_COMPAT_VERSION,
            config.port,
            std::process::id()
        ));
    } else {
        log.write(
            'M',
            Level::Notice,
            &format!("Running mode=standalone, port={}.", config.port),
        );
    }
    let dir = PathBuf::from(&config.dir);
    let (bind, port) = (config.bind.clone(), config.port);
    let runtime = if parsed.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(parsed.threads)
            .enable_all()
            .build()?
    };
    let storage = Arc::new(DirStorage::new(&dir));
    runtime.block_on(async move {
        let server = Server::new(TokioRuntime::new(storage).with_logger(log.clone()), config);
        let listener = match server.bind().await {
            Ok(listener) => listener,
            Err(error) => {
                log.write(
                    'M',
                    Level::Warning,
                    &format!("Failed listening on port {port} (TCP), aborting."),
                );
                return Err(error).with_context(|| format!("cannot listen on {bind}:{port}"));
            }
        };
        log.write('M', Level::Warning, "Server initialized");
        // Like Redis, the data is loaded before the server says it is
        // ready; a file that cannot be loaded ends it (the server logged
        // why).
        if server.load_from_disk().is_err() {
            return Ok(EXIT_LOAD_FAILED);
        }
        log.write('M', Level::Notice, "Ready to accept connections");
        tokio::spawn(shutdown_on_signals(server.clone()));
        server.clone().serve(listener).await?;
        if server.crashed() {
            eprintln!("replsim: crashed (a bug in replsim), exiting");
            return Ok(EXIT_CRASH);
        }
        Ok(0)
    })
}

/// SIGTERM and SIGINT shut `serve` down as they shut Redis down: the
/// signal is logged the way Redis's handler logs it, then the SHUTDOWN
/// sequence runs with the configured save points. A failed final save
/// leaves the server running, as in Redis.
async fn shutdown_on_signals(server: Server<TokioRuntime>) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        eprintln!("replsim: cannot handle SIGTERM and SIGINT");
        return;
    };
    loop {
        let name = tokio::select! {
            biased;
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        let unix_s = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        eprintln!(
            "{}:signal-handler ({unix_s}) Received {name} scheduling shutdown...",
            std::process::id()
        );
        if server.shutdown_on_signal() {
            return;
        }
    }
}

/// The shard `--shard` names (`auto`: from the environment); a shard the
/// environment does not give prints why and exits with 64.
fn resolve_shard(choice: Option<ShardChoice>) -> Result<Option<Shard>, i32> {
    choice
        .map(|c| c.resolve(|name| std::env::var(name).ok()))
        .transpose()
        .map_err(|error| {
            eprintln!("replsim: {error}");
            EXIT_USAGE
        })
}

/// Loads scenarios; a bad file prints its error and exits with 64.
fn load(paths: &[PathBuf]) -> Result<Vec<Scenario>, i32> {
    scenario::collect(paths).map_err(|error| {
        eprintln!("{error}");
        EXIT_USAGE
    })
}

/// The `--json` line of one run; `plant` (the bugs `explore --plant`
/// planted, needed to replay it) only when there are some.
fn json_line(report: &RunReport, plant: &[String]) -> String {
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
    });
    if !plant.is_empty() {
        line["plant"] = serde_json::json!(plant);
    }
    line.to_string()
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
    let shard = match resolve_shard(args.shard) {
        Ok(shard) => shard,
        Err(code) => return Ok(code),
    };
    let jobs = sweep::plan(&scenarios, &seeds, shard);
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
    println!(
        "{} seeds, {} failed, in {:.2}s on {} workers ({:.1} seeds/s)",
        reports.len(),
        failed,
        wall.as_secs_f64(),
        workers,
        reports.len() as f64 / wall.as_secs_f64().max(1e-9)
    );
}

/// Each scenario's replicas' lag over all its seeds, when any was sampled.
fn print_lag_summary(scenarios: &[Scenario], reports: &[RunReport]) {
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
fn save_failures(scenarios: &[Scenario], reports: &[RunReport]) -> Result<()> {
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
fn write_failure_pages(
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

/// Shrinks the failing run `report` of `document` to `NAME.min.json` next
/// to its file, and says how small it got and how to replay it
/// (`plant_flags` appended).
fn shrink_and_write(
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
fn planted_bugs(names: &[String]) -> Option<replsim::server::probe::PlantedBugs> {
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

fn explore(args: ExploreArgs) -> Result<i32> {
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

/// `report`: merges the files' lines and prints the summary; exits as
/// `run` would for the merged verdicts.
fn report(args: ReportArgs) -> Result<i32> {
    use replsim::report::{self, summary::Summary};
    let lines = match report::read_files(&args.files) {
        Ok(lines) => lines,
        Err(error) => {
            eprintln!("replsim: {error}");
            return Ok(EXIT_USAGE);
        }
    };
    let summary = Summary::merge(lines);
    print!("{}", summary.text());
    if let Some(path) = &args.html {
        std::fs::write(path, report::page::render(&summary))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(summary.exit_code())
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
    // Started under the name `redis-server` (a link, as Redis's own test
    // suite starts `src/redis-server CONF`), replsim is `replsim serve`.
    let mut argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let invoked_as = argv
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if invoked_as == "redis-server" {
        argv.insert(1, "serve".into());
    }
    let cli = match Cli::try_parse_from(argv) {
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
        Command::Explore(args) => explore(args),
        Command::Report(args) => report(args),
        Command::Schema => {
            print!("{}", replsim::scenario::json_schema_text());
            Ok(0)
        }
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
