//! A panic while a command runs is a bug that may leave the command
//! half-applied and unpropagated. The node then stops, as Redis does after
//! a failed assertion, instead of serving that state to clients and
//! replicas: it logs the header of Redis's bug report ("Guru Meditation"),
//! `replsim serve` exits with code 3, and an embedded server closes every
//! connection and stops accepting.

mod common;

use std::net::TcpStream;

use common::{info_field, start_replsim, wait_in_sync, wait_until, Client, ReplsimProcess};
use replsim::server::Config;

#[test]
fn a_panicking_command_logs_redis_bug_report_header_and_makes_serve_exit_with_the_crash_code() {
    // Redis 7.0.15 on DEBUG PANIC logs, then aborts:
    //   === REDIS BUG REPORT START: Cut & paste starting from here ===
    //   # ------------------------------------------------
    //   # !!! Software Failure. Press left mouse button to continue
    //   # Guru Meditation: DEBUG PANIC called at Unix time 1796218355 #debug.c:510
    //   ...
    //   === REDIS BUG REPORT END. Make sure to include from START to END. ===
    let mut master = ReplsimProcess::start("panic-exit", &[]);
    let mut client = Client::connect(master.port);
    assert_eq!(client.raw(&["SET", "k", "v"]), b"+OK\r\n");
    client.send_raw(b"DEBUG PANIC\r\n");
    assert_eq!(client.read_raw(), None);
    let status = master.wait_exit(10).expect("the server exits");
    assert_eq!(status.code(), Some(3));
    let log = master.log();
    let mut lines = log.lines();
    for expected in [
        "# === REPLSIM BUG REPORT START: Cut & paste starting from here ===",
        "# ------------------------------------------------",
        "# !!! Software Failure. Press left mouse button to continue",
        "# Guru Meditation: DEBUG PANIC called at Unix time ",
        "# The command 'DEBUG' with 1 arguments panicked",
        "# === REPLSIM BUG REPORT END. Make sure to include from START to END. ===",
        "replsim: crashed (a bug in replsim), exiting",
    ] {
        assert!(
            lines.any(|line| line.contains(expected)),
            "no {expected:?} in order in\n{log}"
        );
    }
    let guru = log.lines().find(|l| l.contains("Guru Meditation")).unwrap();
    // The panic's location, as Redis names its C source line.
    assert!(guru.contains(" #src/command/server_cmds.rs:"), "{guru}");
}

#[test]
fn a_panicking_command_closes_every_connection_and_stops_accepting() {
    let master = start_replsim(Config::default());
    let replica = start_replsim(Config {
        replicaof: Some(("127.0.0.1".into(), master)),
        ..Config::default()
    });
    wait_in_sync(master, replica);
    let mut bystander = Client::connect(master);
    assert_eq!(bystander.raw(&["PING"]), b"+PONG\r\n");
    let mut client = Client::connect(master);
    client.send_raw(b"DEBUG PANIC\r\n");
    assert_eq!(client.read_raw(), None);
    assert!(bystander.is_closed());
    wait_until(10, "the replica to lose its master", || {
        info_field(replica, "master_link_status").as_deref() == Some("down")
    });
    wait_until(10, "the master to stop accepting", || {
        TcpStream::connect(("127.0.0.1", master)).is_err()
    });
}
