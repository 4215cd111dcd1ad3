//! `replsim bench`: throughput and memory of `replsim serve` against a real
//! redis-server on the same machine, measured in one run.
//!
//! Both servers are started on loopback ports, `redis-benchmark -t set,get`
//! runs against each with and without pipelining, and `DEBUG POPULATE`
//! fills each with the same small string keys to compare resident memory.
//! Both processes are stopped at the end, also on error.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// Options of `replsim bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Requests per redis-benchmark run.
    #[arg(long, default_value_t = 1_000_000)]
    pub requests: u64,
    /// Concurrent benchmark connections.
    #[arg(long, default_value_t = 50)]
    pub clients: u32,
    /// Keys created for the memory comparison.
    #[arg(long, default_value_t = 1_000_000)]
    pub keys: u64,
    /// redis-server binary.
    #[arg(long, default_value = "redis-server")]
    pub redis_server: String,
    /// redis-benchmark binary.
    #[arg(long, default_value = "redis-benchmark")]
    pub redis_benchmark: String,
    /// First of the loopback ports used (four in a row).
    #[arg(long, default_value_t = 6480)]
    pub port: u16,
    /// Measure a full sync of `--keys` mixed keys (master to replica)
    /// instead of command throughput and memory.
    #[arg(long)]
    pub full_sync: bool,
    /// Measure simulation speed instead: run every scenario in this
    /// directory over `--seeds` seeds and report wall time per seed,
    /// simulated time per wall second and seeds per second, then the whole
    /// sweep with one worker and with two.
    #[arg(long, value_name = "DIR")]
    pub scenarios: Option<std::path::PathBuf>,
    /// Seeds per scenario for `--scenarios` (seeds 0..N).
    #[arg(long, default_value_t = 20)]
    pub seeds: u64,
    /// With `--scenarios`: compare each scenario's simulated/wall ratio
    /// with the one stored in FILE (written by `--save-baseline` on the
    /// same machine) and print now/then.
    #[arg(long, value_name = "FILE", requires = "scenarios")]
    pub baseline: Option<PathBuf>,
    /// With `--scenarios`: store this run's figures in FILE as a baseline.
    #[arg(long, value_name = "FILE", requires = "scenarios")]
    pub save_baseline: Option<PathBuf>,
}

/// One scenario's speed, as a baseline stores it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ScenarioSpeed {
    /// Wall milliseconds per seed.
    pub ms_per_seed: f64,
    /// Simulated seconds per wall second.
    pub sim_per_wall: f64,
    /// Messages the servers sent per wall second (0 in baselines from
    /// before it was measured).
    #[serde(default)]
    pub messages_per_s: f64,
}

/// The figures of one `bench --scenarios` run, kept to compare a later
/// run with (`--save-baseline`, `--baseline`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Baseline {
    /// Seeds per scenario.
    pub seeds: u64,
    /// Each scenario's speed, by name.
    pub scenarios: std::collections::BTreeMap<String, ScenarioSpeed>,
    /// The whole sweep's seeds per second with one worker.
    pub sweep_seeds_per_s: f64,
    /// The machine's ceiling: messages per wall second of a bare madsim
    /// echo between two simulated nodes (0 in older baselines).
    #[serde(default)]
    pub echo_messages_per_s: f64,
}

impl Baseline {
    /// Lines comparing `now` with this baseline: per scenario the
    /// simulated/wall ratio then and now and now/then (scenarios in only
    /// one of the two are named as such), then the sweep.
    pub fn compare(&self, now: &Baseline) -> Vec<String> {
        let mut lines = vec![format!(
            "{:<30} {:>12} {:>12} {:>9}",
            "scenario", "then sim/wall", "now sim/wall", "now/then"
        )];
        for (name, speed) in &now.scenarios {
            match self.scenarios.get(name) {
                Some(then) => lines.push(format!(
                    "{name:<30} {:>11.0}x {:>11.0}x {:>8.2}x",
                    then.sim_per_wall,
                    speed.sim_per_wall,
                    speed.sim_per_wall / then.sim_per_wall.max(1e-9)
                )),
                None => lines.push(format!("{name:<30} not in the baseline")),
            }
        }
        for name in self.scenarios.keys() {
            if !now.scenarios.contains_key(name) {
                lines.push(format!("{name:<30} only in the baseline"));
            }
        }
        lines.push(format!(
            "whole sweep, one worker: {:.1} seeds/s then, {:.1} now ({:.2}x){}",
            self.sweep_seeds_per_s,
            now.sweep_seeds_per_s,
            now.sweep_seeds_per_s / self.sweep_seeds_per_s.max(1e-9),
            if self.seeds == now.seeds {
                String::new()
            } else {
                format!(
                    " (seeds per scenario differ: {} then, {} now)",
                    self.seeds, now.seeds
                )
            }
        ));
        lines
    }
}

/// A server process that is killed when dropped.
struct ServerProcess {
    name: &'static str,
    port: u16,
    child: Child,
    _dir: TempDir,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A scratch directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Result<Self> {
        let path = std::env::temp_dir().join(format!("replsim-bench-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Sends one inline command and reads one reply line (enough for PING,
/// FLUSHALL and DEBUG POPULATE, whose replies are single lines).
fn command_line(port: u16, command: &str) -> Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(600)))?;
    stream.write_all(format!("{command}\r\n").as_bytes())?;
    let mut reply = Vec::new();
    let mut byte = [0u8; 1];
    while !reply.ends_with(b"\r\n") {
        if stream.read(&mut byte)? == 0 {
            bail!("connection closed by port {port}");
        }
        reply.push(byte[0]);
    }
    Ok(String::from_utf8_lossy(&reply).trim_end().to_string())
}

fn wait_ready(port: u16) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if command_line(port, "PING").is_ok_and(|r| r == "+PONG") {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("server on port {port} did not answer PING within 10 s")
}

fn start_redis(args: &BenchArgs, port: u16) -> Result<ServerProcess> {
    let dir = TempDir::new(&format!("redis-{port}"))?;
    let child = Command::new(&args.redis_server)
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .args([
            "--enable-debug-command",
            "yes",
            "--repl-diskless-sync-delay",
            "0",
            "--dir",
        ])
        .arg(&dir.0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", args.redis_server))?;
    let process = ServerProcess {
        name: "redis",
        port,
        child,
        _dir: dir,
    };
    wait_ready(port)?;
    Ok(process)
}

fn start_replsim(port: u16) -> Result<ServerProcess> {
    let dir = TempDir::new(&format!("replsim-{port}"))?;
    let exe = std::env::current_exe().context("locating the replsim binary")?;
    let child = Command::new(exe)
        .args([
            "serve",
            "--port",
            &port.to_string(),
            "--config",
            "enable-debug-command=yes",
            "--config",
            "repl-diskless-sync-delay=0",
            "--dir",
        ])
        .arg(&dir.0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting replsim serve")?;
    let process = ServerProcess {
        name: "replsim",
        port,
        child,
        _dir: dir,
    };
    wait_ready(port)?;
    Ok(process)
}

/// Requests per second of SET and GET from one redis-benchmark run.
fn run_benchmark(args: &BenchArgs, port: u16, pipeline: u32) -> Result<(f64, f64)> {
    let output = Command::new(&args.redis_benchmark)
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-t",
            "set,get",
            "--csv",
        ])
        .args([
            "-n",
            &args.requests.to_string(),
            "-c",
            &args.clients.to_string(),
        ])
        .args(["-P", &pipeline.to_string()])
        .output()
        .with_context(|| format!("running {}", args.redis_benchmark))?;
    if !output.status.success() {
        bail!(
            "redis-benchmark failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let rate = |test: &str| -> Result<f64> {
        text.lines()
            .find_map(|line| {
                let fields: Vec<&str> = line.split(',').map(|f| f.trim_matches('"')).collect();
                (fields.first() == Some(&test)).then(|| fields.get(1)?.parse().ok())?
            })
            .with_context(|| format!("no {test} line in redis-benchmark output:\n{text}"))
    };
    Ok((rate("SET")?, rate("GET")?))
}

fn resident_kb(process: &ServerProcess) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", process.child.id()))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .context("VmRSS not found")
}

/// Resident memory in KB after filling the server with `keys` small strings.
fn memory_after_populate(process: &ServerProcess, keys: u64) -> Result<u64> {
    command_line(process.port, "FLUSHALL")?;
    let reply = command_line(process.port, &format!("DEBUG POPULATE {keys}"))?;
    if reply != "+OK" {
        bail!("{}: DEBUG POPULATE replied {reply}", process.name);
    }
    resident_kb(process)
}

/// Fills a server with `keys` keys of mixed types (70% strings, 10% lists,
/// 10% hashes, 5% sets, 5% zsets, a tenth with TTLs), pipelined.
fn load_mixed(port: u16, keys: u64) -> Result<()> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let batch = 2000;
    let mut sent = 0u64;
    while sent < keys {
        let mut request = Vec::new();
        let end = (sent + batch).min(keys);
        let mut expected = 0;
        for n in sent..end {
            let key = format!("key:{n:012}");
            let value = n.to_string();
            let command: Vec<&str> = match n % 20 {
                0..=13 => vec!["SET", &key, &value],
                14 | 15 => vec!["RPUSH", &key, "a", "b", &value],
                16 | 17 => vec!["HSET", &key, "f1", "v1", "f2", &value],
                18 => vec!["SADD", &key, "x", "y", &value],
                _ => vec!["ZADD", &key, "1", "a", "2.5", "b"],
            };
            crate::resp::encode_command(&mut request, &command);
            expected += 1;
            if n % 10 == 0 {
                crate::resp::encode_command(&mut request, &["PEXPIRE", &key, "100000000"]);
                expected += 1;
            }
        }
        stream.write_all(&request)?;
        // Every reply here is a single line: count line ends.
        let mut seen = 0;
        let mut buffer = [0u8; 65536];
        while seen < expected {
            let n = stream.read(&mut buffer)?;
            if n == 0 {
                bail!("server closed the connection while loading");
            }
            seen += buffer[..n].iter().filter(|&&b| b == b'\n').count();
        }
        sent = end;
    }
    Ok(())
}

fn info_field(port: u16, field: &str) -> Result<Option<String>> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.write_all(b"INFO\r\n")?;
    let mut text = Vec::new();
    let mut buffer = [0u8; 16384];
    loop {
        let n = stream.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        text.extend_from_slice(&buffer[..n]);
        if let Ok((_, used)) = crate::resp::Frame::parse(&text) {
            text.truncate(used);
            break;
        }
    }
    Ok(String::from_utf8_lossy(&text).lines().find_map(|l| {
        l.strip_prefix(&format!("{field}:"))
            .map(|v| v.trim().to_string())
    }))
}

/// Seconds from REPLICAOF until the replica is linked at the master's offset.
fn time_full_sync(master: &ServerProcess, replica: &ServerProcess) -> Result<f64> {
    let started = Instant::now();
    let reply = command_line(
        replica.port,
        &format!("REPLICAOF 127.0.0.1 {}", master.port),
    )?;
    if !reply.starts_with("+OK") {
        bail!("REPLICAOF replied {reply}");
    }
    let deadline = started + Duration::from_secs(600);
    loop {
        if info_field(replica.port, "master_link_status")?.as_deref() == Some("up")
            && info_field(replica.port, "master_repl_offset")?
                == info_field(master.port, "master_repl_offset")?
        {
            return Ok(started.elapsed().as_secs_f64());
        }
        if Instant::now() > deadline {
            bail!(
                "{} replica did not finish its full sync in 600 s",
                replica.name
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn run_full_sync(args: &BenchArgs) -> Result<()> {
    let redis_master = start_redis(args, args.port)?;
    let redis_replica = start_redis(args, args.port + 1)?;
    let ours_master = start_replsim(args.port + 2)?;
    let ours_replica = start_replsim(args.port + 3)?;
    for master in [&redis_master, &ours_master] {
        load_mixed(master.port, args.keys)?;
    }
    let redis_seconds = time_full_sync(&redis_master, &redis_replica)?;
    let ours_seconds = time_full_sync(&ours_master, &ours_replica)?;
    println!(
        "full sync of {} mixed keys (diskless, delay 0), master to replica on loopback",
        args.keys
    );
    println!("redis-server -> redis-server: {redis_seconds:.2} s");
    println!("replsim -> replsim:           {ours_seconds:.2} s");
    println!(
        "ratio {:.2}x (goal: at most 1.5x)",
        ours_seconds / redis_seconds
    );
    Ok(())
}

/// Round trips of the bare echo that measures the machine's ceiling.
#[cfg(madsim)]
const ECHO_ROUND_TRIPS: u64 = 100_000;

/// What a bare madsim echo moves.
#[cfg(madsim)]
struct EchoRate {
    per_wall_s: f64,
    per_simulated_s: f64,
}

/// The machine's ceiling for simulated traffic: one client node sends a
/// 32-byte request to a server node, which echoes it, `round_trips` times,
/// over madsim's own TCP (no replsim code in the path). Messages (two per
/// round trip) per wall second and per simulated second.
#[cfg(madsim)]
fn echo_ceiling(round_trips: u64) -> EchoRate {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let runtime = madsim::runtime::Runtime::with_seed_and_config(1, madsim::Config::default());
    let started = Instant::now();
    let simulated = runtime.block_on(async move {
        let handle = madsim::runtime::Handle::current();
        let server = handle
            .create_node()
            .ip("10.0.0.1".parse().expect("valid ip"))
            .build();
        let client = handle
            .create_node()
            .ip("10.0.0.2".parse().expect("valid ip"))
            .build();
        server.spawn(async move {
            let listener = madsim::net::TcpListener::bind("10.0.0.1:7000")
                .await
                .expect("bind");
            let (mut stream, _) = listener.accept().await.expect("accept");
            let mut buf = [0u8; 32];
            // madsim's streams send on flush.
            while stream.read_exact(&mut buf).await.is_ok() {
                if stream.write_all(&buf).await.is_err() || stream.flush().await.is_err() {
                    break;
                }
            }
        });
        let start = madsim::time::Instant::now();
        client
            .spawn(async move {
                // The listener may not be up at the very first instant.
                let mut stream = loop {
                    match madsim::net::TcpStream::connect("10.0.0.1:7000").await {
                        Ok(stream) => break stream,
                        Err(_) => madsim::time::sleep(Duration::from_millis(1)).await,
                    }
                };
                let mut buf = [7u8; 32];
                for _ in 0..round_trips {
                    stream.write_all(&buf).await.expect("write");
                    stream.flush().await.expect("flush");
                    stream.read_exact(&mut buf).await.expect("read");
                }
            })
            .await
            .expect("echo client");
        start.elapsed()
    });
    let wall = started.elapsed().as_secs_f64();
    let messages = (2 * round_trips) as f64;
    EchoRate {
        per_wall_s: messages / wall.max(1e-9),
        per_simulated_s: messages / simulated.as_secs_f64().max(1e-9),
    }
}

/// Simulation speed over the scenarios of `dir`.
#[cfg(madsim)]
fn run_scenarios(args: &BenchArgs, dir: &std::path::Path) -> Result<()> {
    let seeds = args.seeds;
    // Read the baseline first: a bad file fails before the long run.
    let baseline: Option<Baseline> = match &args.baseline {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            Some(
                serde_json::from_str(&text)
                    .with_context(|| format!("{}: not a bench baseline", path.display()))?,
            )
        }
        None => None,
    };
    let echo = echo_ceiling(ECHO_ROUND_TRIPS);
    println!(
        "machine ceiling: a bare madsim echo between two simulated nodes moves {:.0} messages per wall second ({ECHO_ROUND_TRIPS} round trips, {:.0} messages per simulated second)",
        echo.per_wall_s, echo.per_simulated_s
    );
    let mut measured = Baseline {
        seeds,
        scenarios: std::collections::BTreeMap::new(),
        sweep_seeds_per_s: 0.0,
        echo_messages_per_s: echo.per_wall_s,
    };
    use crate::sweep::{execute, plan, SeedChoice};
    let scenarios = crate::scenario::load_dir(dir).map_err(|e| anyhow::anyhow!("{e}"))?;
    let choice = SeedChoice::Range(0..seeds);
    println!("simulation speed, seeds 0..{seeds}, one worker per scenario");
    println!(
        "{:<30} {:>10} {:>12} {:>10} {:>8} {:>10} {:>9}",
        "scenario", "ms/seed", "sim s/seed", "sim/wall", "seeds/s", "msgs/s", "ceiling/"
    );
    let mut slowest: f64 = f64::INFINITY;
    for scenario in &scenarios {
        let jobs: Vec<_> = plan(std::slice::from_ref(scenario), &choice, None)
            .into_iter()
            .map(|mut job| {
                job.scenario = 0;
                job
            })
            .collect();
        let started = Instant::now();
        let reports = execute(std::slice::from_ref(scenario), &jobs, 1, |_| {});
        let wall = started.elapsed().as_secs_f64();
        let simulated: f64 = reports.iter().map(|r| r.simulated.as_secs_f64()).sum();
        let failed = reports
            .iter()
            .filter(|r| r.verdict != crate::sim::Verdict::Pass)
            .count();
        let ratio = simulated / wall.max(1e-9);
        slowest = slowest.min(ratio);
        let messages_per_s =
            reports.iter().map(|r| r.messages).sum::<u64>() as f64 / wall.max(1e-9);
        measured.scenarios.insert(
            scenario.name.clone(),
            ScenarioSpeed {
                ms_per_seed: wall * 1000.0 / reports.len().max(1) as f64,
                sim_per_wall: ratio,
                messages_per_s,
            },
        );
        println!(
            "{:<30} {:>10.1} {:>12.1} {:>9.0}x {:>8.1} {:>10.0} {:>8.1}x{}",
            scenario.name,
            wall * 1000.0 / reports.len() as f64,
            simulated / reports.len() as f64,
            ratio,
            reports.len() as f64 / wall,
            messages_per_s,
            echo.per_wall_s / messages_per_s.max(1e-9),
            if failed > 0 {
                format!("  ({failed} failed)")
            } else {
                String::new()
            }
        );
    }
    let jobs = plan(&scenarios, &choice, None);
    let mut timings = Vec::new();
    for workers in [1usize, 2] {
        let started = Instant::now();
        execute(&scenarios, &jobs, workers, |_| {});
        let wall = started.elapsed().as_secs_f64();
        println!(
            "all {} seeds with {workers} worker(s): {wall:.2} s, {:.1} seeds/s",
            jobs.len(),
            jobs.len() as f64 / wall
        );
        timings.push(wall);
    }
    println!(
        "--jobs 2 speedup over --jobs 1: {:.2}x; slowest scenario {:.0}x faster than simulated time",
        timings[0] / timings[1],
        slowest
    );
    measured.sweep_seeds_per_s = jobs.len() as f64 / timings[0].max(1e-9);
    if let Some(baseline) = &baseline {
        println!("against the baseline:");
        for line in baseline.compare(&measured) {
            println!("{line}");
        }
    }
    if let Some(path) = &args.save_baseline {
        let text = serde_json::to_string_pretty(&measured)?;
        std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
        println!("baseline saved to {}", path.display());
    }
    Ok(())
}

/// Runs the comparison and prints the report.
pub fn run(args: BenchArgs) -> Result<()> {
    #[cfg(madsim)]
    if let Some(dir) = &args.scenarios {
        return run_scenarios(&args, dir);
    }
    if args.full_sync {
        return run_full_sync(&args);
    }
    let redis = start_redis(&args, args.port)?;
    let replsim = start_replsim(args.port + 1)?;
    println!(
        "redis-benchmark -t set,get -n {} -c {} against redis-server and replsim (ops/s)",
        args.requests, args.clients
    );
    println!(
        "{:<12} {:>14} {:>14} {:>8}",
        "test", "redis", "replsim", "ratio"
    );
    let mut ratios = Vec::new();
    for pipeline in [1u32, 16] {
        let (redis_set, redis_get) = run_benchmark(&args, redis.port, pipeline)?;
        let (ours_set, ours_get) = run_benchmark(&args, replsim.port, pipeline)?;
        for (test, theirs, ours) in [("SET", redis_set, ours_set), ("GET", redis_get, ours_get)] {
            let ratio = ours / theirs;
            println!(
                "{:<12} {:>14.0} {:>14.0} {:>7.2}x",
                format!("{test} -P {pipeline}"),
                theirs,
                ours,
                ratio
            );
            ratios.push((pipeline, ratio));
        }
    }
    let redis_kb = memory_after_populate(&redis, args.keys)?;
    let ours_kb = memory_after_populate(&replsim, args.keys)?;
    println!(
        "resident memory with {} keys (DEBUG POPULATE): redis {} MB, replsim {} MB, ratio {:.2}x",
        args.keys,
        redis_kb / 1024,
        ours_kb / 1024,
        ours_kb as f64 / redis_kb as f64
    );
    let worst = |p: u32| {
        ratios
            .iter()
            .filter(|(pipeline, _)| *pipeline == p)
            .map(|(_, r)| *r)
            .fold(f64::INFINITY, f64::min)
    };
    println!(
        "goals: pipelined >= 1.0x ({:.2}x), unpipelined >= 0.8x ({:.2}x), memory <= 1.5x ({:.2}x)",
        worst(16),
        worst(1),
        ours_kb as f64 / redis_kb as f64
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn speeds(entries: &[(&str, f64)], sweep: f64) -> Baseline {
        Baseline {
            seeds: 20,
            scenarios: entries
                .iter()
                .map(|&(name, ratio)| {
                    (
                        name.to_string(),
                        ScenarioSpeed {
                            ms_per_seed: 1.0,
                            sim_per_wall: ratio,
                            messages_per_s: 1000.0 * ratio,
                        },
                    )
                })
                .collect(),
            sweep_seeds_per_s: sweep,
            echo_messages_per_s: 1e6,
        }
    }

    #[test]
    fn a_comparison_gives_now_over_then_per_scenario_and_names_the_unmatched() {
        let then = speeds(&[("a", 1000.0), ("gone", 10.0)], 40.0);
        let now = speeds(&[("a", 750.0), ("new", 5.0)], 30.0);
        let lines = then.compare(&now);
        assert!(
            lines[1].starts_with("a ") && lines[1].ends_with("0.75x"),
            "{lines:?}"
        );
        assert!(lines
            .iter()
            .any(|l| l.starts_with("new") && l.ends_with("not in the baseline")));
        assert!(lines
            .iter()
            .any(|l| l.starts_with("gone") && l.ends_with("only in the baseline")));
        assert!(lines.last().unwrap().contains("(0.75x)"), "{lines:?}");
    }

    #[test]
    fn a_baseline_from_before_the_ceiling_still_loads() {
        let old = r#"{"seeds": 3, "scenarios": {"a": {"ms_per_seed": 2.0, "sim_per_wall": 900.0}}, "sweep_seeds_per_s": 10.0}"#;
        let baseline: Baseline = serde_json::from_str(old).unwrap();
        assert_eq!(baseline.echo_messages_per_s, 0.0);
        assert_eq!(baseline.scenarios["a"].messages_per_s, 0.0);
    }

    #[test]
    fn a_baseline_survives_its_json_form() {
        let baseline = speeds(&[("a", 1234.5)], 44.6);
        let text = serde_json::to_string_pretty(&baseline).unwrap();
        assert_eq!(serde_json::from_str::<Baseline>(&text).unwrap(), baseline);
    }
}
