//! Real Redis tools against `replsim serve`'s core on loopback: redis-cli
//! starts interactively with no error, and redis-benchmark completes its
//! standard tests. Skipped with a note when the tools are missing, except in
//! CI.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{start_replsim, tool_available};
use replsim::server::Config;

#[test]
fn redis_benchmark_completes_against_replsim() {
    if !tool_available("redis_benchmark", "redis-benchmark") {
        return;
    }
    let port = start_replsim(Config::default());
    let output = Command::new("redis-benchmark")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args([
            "-t",
            "set,get,incr,lpush,hset",
            "-n",
            "20000",
            "-q",
            "--csv",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for test in ["SET", "GET", "INCR", "LPUSH", "HSET"] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&format!("\"{test}")))
            .unwrap_or_else(|| panic!("no {test} result in:\n{stdout}"));
        let rate: f64 = line
            .split(',')
            .nth(1)
            .unwrap()
            .trim_matches('"')
            .parse()
            .unwrap();
        assert!(rate > 0.0, "{line}");
    }
}

#[test]
fn redis_cli_runs_commands_against_replsim() {
    if !tool_available("redis_cli", "redis-cli") {
        return;
    }
    let port = start_replsim(Config::default());
    let run = |args: &[&str]| {
        let output = Command::new("redis-cli")
            .args(["-p", &port.to_string()])
            .args(args)
            .output()
            .unwrap();
        assert!(output.status.success());
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    assert_eq!(run(&["PING"]), "PONG\n");
    assert_eq!(run(&["SET", "k", "v"]), "OK\n");
    assert_eq!(run(&["GET", "k"]), "v\n");
    assert_eq!(run(&["RPUSH", "l", "a", "b"]), "2\n");
    assert_eq!(run(&["LRANGE", "l", "0", "-1"]), "a\nb\n");
    assert!(run(&["INFO", "server"]).contains("redis_version:7.0.15"));
}

/// Interactive redis-cli needs a terminal: tmux provides one.
#[test]
fn redis_cli_starts_interactively_without_errors() {
    if !tool_available("redis_cli_interactive", "redis-cli")
        || !tool_available("redis_cli_interactive", "tmux")
    {
        return;
    }
    let port = start_replsim(Config::default());
    let session = format!("replsim-cli-{port}");
    let tmux = |args: &[&str]| Command::new("tmux").args(args).output().unwrap();
    let started = tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "120",
        "-y",
        "40",
        &format!("redis-cli -p {port}"),
    ]);
    assert!(
        started.status.success(),
        "{}",
        String::from_utf8_lossy(&started.stderr)
    );
    let capture = || {
        String::from_utf8_lossy(&tmux(&["capture-pane", "-t", &session, "-p"]).stdout).into_owned()
    };
    let prompt = format!("127.0.0.1:{port}>");
    // Type each command once the prompt for it is on screen.
    let mut screen = String::new();
    for (typed, command) in ["ping", "set greeting hello", "get greeting", "dbsize"]
        .iter()
        .enumerate()
    {
        let deadline = Instant::now() + Duration::from_secs(10);
        while screen.matches(&prompt).count() <= typed && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            screen = capture();
        }
        tmux(&["send-keys", "-t", &session, command, "Enter"]);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while !screen.contains("(integer) 1") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        screen = capture();
    }
    tmux(&["kill-session", "-t", &session]);
    assert!(screen.contains(&format!("{prompt} ping\nPONG")), "{screen}");
    assert!(screen.contains("\"hello\""), "{screen}");
    assert!(screen.contains("(integer) 1"), "{screen}");
    assert!(
        !screen.contains("ERR") && !screen.contains("Error"),
        "{screen}"
    );
}
