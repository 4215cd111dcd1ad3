//! The `replsim` command line: `serve` runs the server core on real TCP;
//! `bench` compares it with a real redis-server.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use replsim::runtime::{DirStorage, TokioRuntime};
use replsim::server::{Config, Server};

#[derive(Parser)]
#[command(
    name = "replsim",
    version,
    about = "Deterministic simulation testbed for Redis-style replication"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve RESP on real TCP, like redis-server.
    Serve(ServeArgs),
    /// Run redis-benchmark against `replsim serve` and a real redis-server
    /// on this machine, and print the throughput and memory ratios.
    Bench(replsim::bench::BenchArgs),
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

fn serve(args: ServeArgs) -> Result<()> {
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
        Ok(())
    })
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(args),
        Command::Bench(args) => replsim::bench::run(args),
    }
}
