//! Helpers shared by the integration tests: a blocking RESP client, a real
//! redis-server process, and a replsim server on a background thread.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use replsim::resp::{encode_command, Frame, FrameError};
use replsim::runtime::{DirStorage, TokioRuntime};
use replsim::server::{Config, Server};

pub mod script;
pub mod sentinel;
#[cfg(madsim)]
pub mod sim;
pub mod stream;

/// A blocking RESP client that returns raw reply bytes.
pub struct Client {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Client {
    pub fn connect(port: u16) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        stream.set_nodelay(true).unwrap();
        Client {
            stream,
            buffer: Vec::new(),
        }
    }

    /// The socket, for writes that may fail (a server closing mid-request).
    pub fn stream_mut(&mut self) -> &mut TcpStream {
        &mut self.stream
    }

    /// Sends raw bytes.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Reads one reply frame; returns its raw bytes, or `None` on EOF.
    pub fn read_raw(&mut self) -> Option<Vec<u8>> {
        loop {
            match Frame::parse(&self.buffer) {
                Ok((_, used)) => {
                    let raw = self.buffer[..used].to_vec();
                    self.buffer.drain(..used);
                    return Some(raw);
                }
                Err(FrameError::Incomplete) => {}
                Err(e) => panic!("bad reply {e}: {:?}", String::from_utf8_lossy(&self.buffer)),
            }
            let mut chunk = [0u8; 65536];
            match self.stream.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buffer.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Sends a command without waiting for its reply.
    pub fn send<A: AsRef<[u8]>>(&mut self, args: &[A]) {
        let mut request = Vec::new();
        encode_command(&mut request, args);
        self.send_raw(&request);
    }

    /// Sends a command and returns the raw reply.
    pub fn raw<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Vec<u8> {
        self.send(args);
        self.read_raw().expect("connection closed before the reply")
    }

    /// Sends a command and returns the parsed reply.
    pub fn cmd<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Frame {
        Frame::parse(&self.raw(args)).unwrap().0
    }

    /// True once the server closed the connection.
    pub fn is_closed(&mut self) -> bool {
        self.stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut byte = [0u8; 1];
        matches!(self.stream.read(&mut byte), Ok(0) | Err(_))
    }
}

/// A free loopback port (bind to 0, read it, release it), never one this
/// test binary handed out before: its tests run in parallel, and the OS
/// may give a released port again before the server meant for it binds it,
/// so that two tests would share one server.
pub fn free_port() -> u16 {
    static HANDED_OUT: std::sync::Mutex<std::collections::BTreeSet<u16>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if HANDED_OUT.lock().unwrap().insert(port) {
            return port;
        }
    }
}

/// A fresh, empty directory for one test server. Emptied first: a directory
/// named after a port can outlive its test, and a `dump.rdb` left there by an
/// earlier test binary that drew the same port would be loaded at start.
pub fn fresh_dir(name: &str) -> std::path::PathBuf {
    static SWEEP: std::sync::Once = std::sync::Once::new();
    SWEEP.call_once(remove_dirs_of_ended_test_processes);
    let dir = std::env::temp_dir().join(format!("{FRESH_DIR_PREFIX}{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What the name of every [`fresh_dir`] starts with.
const FRESH_DIR_PREFIX: &str = "replsim-t-";

/// Removes the [`fresh_dir`]s of processes that have ended (and those of
/// the older `replsim-test-<port>` form): a server started in a thread runs
/// until its test binary exits, so no test can remove its own directory.
/// The number a name ends with is the pid of the binary that made it; one
/// still running keeps its directories.
fn remove_dirs_of_ended_test_processes() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name
            .strip_prefix(FRESH_DIR_PREFIX)
            .or_else(|| name.strip_prefix("replsim-test-"))
        else {
            continue;
        };
        let Some(pid) = rest.rsplit('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        let alive = std::path::Path::new(&format!("/proc/{pid}")).exists();
        if !alive && entry.path().is_dir() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Waits until a server answers PING on `port`. Every attempt is allowed
/// to fail: before the server listens, a connection to a free port in the
/// ephemeral range can even connect to itself (and then reads its own
/// PING back).
pub fn wait_for_ping(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let mut reply = [0u8; 64];
            let answered = stream
                .write_all(b"*1\r\n$4\r\nPING\r\n")
                .and_then(|()| stream.read(&mut reply));
            if let Ok(n) = answered {
                if reply[..n].starts_with(b"+PONG\r\n") || reply[..n].starts_with(b"-NOAUTH") {
                    return;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("no server answered on port {port}");
}

/// A real redis-server 7.0 process, killed on drop.
pub struct RedisServer {
    pub port: u16,
    child: Child,
    pub dir: std::path::PathBuf,
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Starts redis-server with `extra` arguments, or returns `None` (after
/// printing that the test is skipped) when it is not installed. In CI
/// (`CI=true`) a missing redis-server fails the test instead.
pub fn start_redis(test: &str, extra: &[&str]) -> Option<RedisServer> {
    let found = Command::new("redis-server")
        .arg("--version")
        .output()
        .is_ok();
    if !found {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{test}: redis-server is not installed, and CI requires it");
        }
        eprintln!("{test}: skipped, redis-server is not installed (apt-get install redis-server)");
        return None;
    }
    let port = free_port();
    let dir = fresh_dir(&format!("test-redis-{test}-{port}"));
    let child = Command::new("redis-server")
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
        .args(["--enable-debug-command", "yes", "--dir"])
        .arg(&dir)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn redis-server");
    let server = RedisServer { port, child, dir };
    wait_for_ping(port);
    Some(server)
}

/// Starts a replsim server on real TCP in a background thread.
pub fn start_replsim(mut config: Config) -> u16 {
    let port = free_port();
    config.port = port;
    config.bind = "127.0.0.1".into();
    if config.enable_debug_command == "no" {
        config.enable_debug_command = "yes".into();
    }
    let dir = fresh_dir(&format!("test-{port}"));
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let server = Server::new(TokioRuntime::new(Arc::new(DirStorage::new(dir))), config);
            let listener = server.bind().await.expect("bind");
            server.serve(listener).await.unwrap();
        });
    });
    wait_for_ping(port);
    port
}

/// Is redis-cli / redis-benchmark installed? Same skip rules as redis-server.
pub fn tool_available(test: &str, tool: &str) -> bool {
    if Command::new(tool).arg("--version").output().is_ok() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{test}: {tool} is not installed, and CI requires it");
    }
    // redis-cli and redis-benchmark come with redis-tools; the others are
    // packages of their own name.
    let package = match tool {
        "redis-cli" | "redis-benchmark" => "redis-tools",
        other => other,
    };
    eprintln!("{test}: skipped, {tool} is not installed (apt-get install {package})");
    false
}

/// A `replsim serve` process with its own directory and log file, killed on
/// drop; it can be restarted on the same port and directory.
pub struct ReplsimProcess {
    pub port: u16,
    pub dir: std::path::PathBuf,
    args: Vec<String>,
    child: Option<Child>,
}

impl ReplsimProcess {
    pub fn start(name: &str, args: &[&str]) -> ReplsimProcess {
        let port = free_port();
        let dir = fresh_dir(&format!("proc-{name}-{port}"));
        let mut process = ReplsimProcess {
            port,
            dir,
            args: args.iter().map(|s| s.to_string()).collect(),
            child: None,
        };
        process.restart();
        process
    }

    pub fn log_path(&self) -> std::path::PathBuf {
        self.dir.join("replsim.log")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Starts the process again (after `stop`), on the same port and dir.
    pub fn restart(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_replsim"))
            .args(["serve", "--port", &self.port.to_string(), "--dir"])
            .arg(&self.dir)
            .args(["--config", "enable-debug-command=yes"])
            .args(&self.args)
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn replsim serve");
        self.child = Some(child);
        wait_for_ping(self.port);
    }

    /// Waits up to `secs` for the process to exit on its own; its status.
    pub fn wait_exit(&mut self, secs: u64) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        let child = self.child.as_mut()?;
        while Instant::now() < deadline {
            if let Some(status) = child.try_wait().ok().flatten() {
                self.child = None;
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Sends the process a signal (`TERM`, `INT`) with `kill`.
    pub fn signal(&self, name: &str) {
        let pid = self.child.as_ref().expect("running").id();
        let status = Command::new("kill")
            .args([&format!("-{name}"), &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} {pid}");
    }

    /// Kills the process (like a crash: nothing is saved).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for ReplsimProcess {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// How INFO counts `command`'s failures: its commandstats line from
/// `rejected_calls=` on (the timings before it vary) and
/// `total_error_replies`.
pub fn command_failures(client: &mut Client, command: &str) -> String {
    let mut info =
        |section: &str| String::from_utf8_lossy(&client.raw(&["INFO", section])).into_owned();
    let prefix = format!("cmdstat_{command}:");
    let commandstats = info("commandstats");
    let counts = commandstats
        .lines()
        .find(|line| line.starts_with(&prefix))
        .and_then(|line| line.split_once(",rejected_calls="))
        .map_or(String::new(), |(_, rest)| rest.to_string());
    let stats = info("stats");
    let total = stats
        .lines()
        .find(|line| line.starts_with("total_error_replies:"))
        .unwrap_or_default()
        .to_string();
    format!("rejected_calls={counts} {total}")
}

/// Reads one field of INFO replication (or any section) from a server.
pub fn info_field(port: u16, field: &str) -> Option<String> {
    let mut client = Client::connect(port);
    let reply = client.cmd(&["INFO"]);
    let Frame::Bulk(Some(text)) = reply else {
        return None;
    };
    String::from_utf8_lossy(&text).lines().find_map(|l| {
        l.strip_prefix(&format!("{field}:"))
            .map(|v| v.trim().to_string())
    })
}

/// Waits until `check` holds, polling; panics with `what` after `secs`.
pub fn wait_until(secs: u64, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out after {secs}s waiting for {what}");
}

/// `DEBUG DIGEST` of a server.
pub fn digest(port: u16) -> String {
    match Client::connect(port).cmd(&["DEBUG", "DIGEST"]) {
        Frame::Simple(s) => s,
        other => panic!("DEBUG DIGEST replied {other:?}"),
    }
}

/// Waits until the replica's link is up and its offset equals the master's.
pub fn wait_in_sync(master: u16, replica: u16) {
    wait_until(
        30,
        &format!("replica {replica} in sync with {master}"),
        || {
            info_field(replica, "master_link_status").as_deref() == Some("up")
                && info_field(master, "master_repl_offset")
                    == info_field(replica, "master_repl_offset")
        },
    );
}

/// The headless browser the page tests drive (Debian's `chromium`), or
/// `None` (after printing that the test is skipped) when it is not
/// installed. In CI (`CI=true`) a missing browser fails the test instead.
pub fn chromium(test: &str) -> Option<&'static str> {
    for name in ["chromium", "chromium-browser"] {
        if Command::new(name)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
        {
            return Some(name);
        }
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{test}: chromium is not installed, and CI requires it");
    }
    eprintln!("{test}: skipped, chromium is not installed (apt-get install chromium)");
    None
}

/// Fails with the verdict and the nodes' logs unless `report` passed.
pub fn assert_passes(report: &replsim::sim::RunReport) {
    assert_eq!(
        report.verdict,
        replsim::sim::Verdict::Pass,
        "seed {}: {:?}\n{}",
        report.seed,
        report.verdict.details(),
        report.log.join("\n")
    );
}

/// The shipped scenario `scenarios/NAME.json`.
pub fn shipped(name: &str) -> replsim::scenario::Scenario {
    let path = format!("{}/scenarios/{name}.json", env!("CARGO_MANIFEST_DIR"));
    replsim::scenario::Scenario::parse(&path, &shipped_text(name)).unwrap()
}

/// The text of a shipped scenario file, for tests that derive a twin.
pub fn shipped_text(name: &str) -> String {
    let path = format!("{}/scenarios/{name}.json", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}
