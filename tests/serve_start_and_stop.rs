//! `replsim serve` starts and stops as redis-server 7.0 does:
//!
//! - it loads its RDB before it says it is ready, and a file it cannot load
//!   ends it with status 1 and Redis's log lines, never a ready line;
//! - SIGTERM (and SIGINT) run the SHUTDOWN sequence: the final RDB is saved
//!   when save points are configured, with Redis's log lines, and the
//!   process exits with status 0.
//!
//! Each test runs the same input against a real redis-server when one is
//! installed, and checks that both behave alike.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{tool_available, Client, ReplsimProcess};

/// A fresh directory under the system temp dir.
fn scratch_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("replsim-start-stop-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A real RDB written by Redis 7.0.15 (every encoding), cut in half.
fn truncated_rdb() -> Vec<u8> {
    let path = format!(
        "{}/tests/data/rdb/redis70_encodings.rdb",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut bytes = std::fs::read(path).unwrap();
    bytes.truncate(bytes.len() / 2);
    bytes
}

/// Runs `program` with `args` until it exits (it must, within 20 s).
fn run_to_exit(program: &str, args: &[&str], dir: &Path) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {program}: {e}"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("{program} did not exit");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn all_output(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn a_truncated_rdb_ends_serve_with_status_1_before_it_is_ready_as_redis_does() {
    // Redis 7.0.15 on a truncated dump.rdb:
    //   # Short read or OOM loading DB. Unrecoverable error, aborting now.
    //   # Internal error in RDB reading offset 0, function at rdb.c:3241 ->
    //     Unexpected EOF reading RDB file
    // and exit status 1, never "Ready to accept connections".
    let port = common::free_port().to_string();
    let dir = scratch_dir("truncated");
    std::fs::write(dir.join("dump.rdb"), truncated_rdb()).unwrap();
    let replsim = run_to_exit(
        env!("CARGO_BIN_EXE_replsim"),
        &["serve", "--port", &port],
        &dir,
    );
    let text = all_output(&replsim);
    assert_eq!(replsim.status.code(), Some(1), "{text}");
    assert!(!text.contains("ready to accept connections"), "{text}");
    assert!(
        text.contains("# Short read or OOM loading DB. Unrecoverable error, aborting now."),
        "{text}"
    );
    assert!(
        text.contains("# Internal error in RDB reading offset")
            && text.contains("-> Unexpected EOF reading RDB file"),
        "{text}"
    );
    // The file is left as it was.
    assert_eq!(
        std::fs::read(dir.join("dump.rdb")).unwrap(),
        truncated_rdb()
    );

    if tool_available("truncated-rdb", "redis-server") {
        let redis = run_to_exit(
            "redis-server",
            &["--port", &port, "--bind", "127.0.0.1"],
            &dir,
        );
        let text = all_output(&redis);
        assert_eq!(redis.status.code(), Some(1), "{text}");
        assert!(!text.contains("Ready to accept connections"), "{text}");
        assert!(
            text.contains("# Short read or OOM loading DB. Unrecoverable error, aborting now."),
            "{text}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The log lines of a shutdown, in order, from the signal on.
const SHUTDOWN_WITH_SAVE: [&str; 5] = [
    ":signal-handler (",
    "# User requested shutdown...",
    "* Saving the final RDB snapshot before exiting.",
    "* DB saved on disk",
    "# Redis is now ready to exit, bye bye...",
];

/// Asserts that `log` holds `lines` in this order (each a substring of one
/// line), and that the signal line names SIGTERM.
fn assert_lines_in_order(log: &str, lines: &[&str]) {
    let mut rest = log.lines();
    for expected in lines {
        assert!(
            rest.any(|line| line.contains(expected)),
            "no {expected:?} in order in\n{log}"
        );
    }
    assert!(
        log.contains("Received SIGTERM scheduling shutdown..."),
        "{log}"
    );
}

#[test]
fn sigterm_saves_the_final_rdb_with_redis_shutdown_lines_when_save_points_are_set() {
    // Redis 7.0.15 with its default save points, after SET, on SIGTERM:
    //   12661:signal-handler (1796218406) Received SIGTERM scheduling shutdown...
    //   12661:M ... # User requested shutdown...
    //   12661:M ... * Saving the final RDB snapshot before exiting.
    //   12661:M ... * DB saved on disk
    //   12661:M ... # Redis is now ready to exit, bye bye...
    // exit status 0, and dump.rdb holds the key.
    let mut replsim = ReplsimProcess::start("sigterm-save", &[]);
    assert_eq!(
        Client::connect(replsim.port).raw(&["SET", "k", "v"]),
        b"+OK\r\n"
    );
    replsim.signal("TERM");
    let status = replsim.wait_exit(10).expect("serve exits on SIGTERM");
    assert_eq!(status.code(), Some(0));
    let log = replsim.log();
    assert_lines_in_order(&log, &SHUTDOWN_WITH_SAVE);
    assert!(replsim.dir.join("dump.rdb").exists());
    // Started again, it has its data back.
    replsim.restart();
    assert_eq!(
        Client::connect(replsim.port).raw(&["GET", "k"]),
        b"$1\r\nv\r\n"
    );

    if tool_available("sigterm-save", "redis-server") {
        let dir = scratch_dir("sigterm-save-redis");
        let port = common::free_port();
        let redis = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--dir"])
            .arg(&dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        common::wait_until(10, "redis-server to answer", || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        assert_eq!(Client::connect(port).raw(&["SET", "k", "v"]), b"+OK\r\n");
        let status = Command::new("kill")
            .args(["-TERM", &redis.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let output = redis.wait_with_output_checked();
        assert_eq!(output.0, Some(0));
        assert_lines_in_order(&output.1, &SHUTDOWN_WITH_SAVE);
        assert!(dir.join("dump.rdb").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn sigterm_without_save_points_exits_without_saving() {
    // Redis 7.0.15 with `save ""`: the signal line, "User requested
    // shutdown...", "Redis is now ready to exit, bye bye...", no RDB.
    let mut replsim = ReplsimProcess::start("sigterm-nosave", &["--config", "save="]);
    assert_eq!(
        Client::connect(replsim.port).raw(&["SET", "k", "v"]),
        b"+OK\r\n"
    );
    replsim.signal("TERM");
    let status = replsim.wait_exit(10).expect("serve exits on SIGTERM");
    assert_eq!(status.code(), Some(0));
    let log = replsim.log();
    assert_lines_in_order(
        &log,
        &[
            ":signal-handler (",
            "# User requested shutdown...",
            "# Redis is now ready to exit, bye bye...",
        ],
    );
    assert!(!log.contains("Saving the final RDB snapshot"), "{log}");
    assert!(!replsim.dir.join("dump.rdb").exists());
}

/// A child's exit code and stdout once it exited.
trait WaitChecked {
    fn wait_with_output_checked(self) -> (Option<i32>, String);
}

impl WaitChecked for std::process::Child {
    fn wait_with_output_checked(self) -> (Option<i32>, String) {
        let output = self.wait_with_output().expect("wait");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    }
}
