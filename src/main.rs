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

mod cli;
use cli::*;

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
    /// Serve RESP on real TCP, like redis-server (`--sentinel`: run a
    /// Sentinel, like `redis-server --sentinel`).
    Serve(ServeArgs),
    /// Run a Redis Sentinel on real TCP, like redis-sentinel: a
    /// sentinel.conf (rewritten with its state) and `--name value...`.
    Sentinel(SentinelArgs),
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
    /// repeatable. An unknown name is refused with the list of names.
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
    } else if invoked_as == "redis-sentinel" {
        argv.insert(1, "sentinel".into());
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
        Command::Serve(args) if args.args.iter().any(|a| a == "--sentinel") => {
            sentinel(SentinelArgs { args: args.args })
        }
        Command::Serve(args) => serve(args),
        Command::Sentinel(args) => sentinel(args),
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
