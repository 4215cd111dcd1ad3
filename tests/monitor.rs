//! MONITOR on real TCP, against a real redis-server 7.0 when one is
//! installed: the same commands give the same monitor lines (time and
//! client address masked), in the same order: scripts' commands after
//! their EVAL as `lua`, a transaction's commands between MULTI and EXEC,
//! passwords redacted, administrative commands left out.

mod common;

use std::time::Duration;

use common::{start_redis, start_replsim, Client};
use replsim::resp::Frame;
use replsim::server::Config;

/// What the commands below show on a monitor, with the time and the
/// client's address replaced by `T` and `X` (`lua` stays).
fn monitor_lines(port: u16) -> Vec<String> {
    let mut monitor = Client::connect(port);
    assert_eq!(monitor.raw(&["MONITOR"]), b"+OK\r\n");
    let mut client = Client::connect(port);
    let commands: &[&[&str]] = &[
        &["SET", "foo", "bar\n\u{1}"],
        &["GET", "foo"],
        &["SELECT", "1"],
        &[
            "EVAL",
            "redis.call('set',KEYS[1],ARGV[1])",
            "1",
            "foo",
            "bar",
        ],
        &["MULTI"],
        &["SET", "foo", "bar"],
        &["EXEC"],
        &["MULTI"],
        &["NOSUCHCOMMAND"],
        &["EXEC"],
        &["AUTH", "not-real"],
        &["AUTH", "not-real", "not-a-password"],
        &["HELLO", "2", "AUTH", "not-real", "not-a-password"],
        // Administrative: never shown.
        &["CONFIG", "GET", "port"],
        &["CLIENT", "LIST"],
        &["DEBUG", "SLEEP", "0"],
        &["PING"],
    ];
    for command in commands {
        client.raw(command);
    }
    let mut lines = Vec::new();
    while lines.len() < 14 {
        let Some(raw) = monitor.read_raw() else {
            panic!("the monitor closed after {lines:?}");
        };
        let text = String::from_utf8_lossy(&raw).trim_end().to_string();
        lines.push(mask(&text));
    }
    // Nothing else came: the administrative commands were left out.
    client.raw(&["ECHO", "last"]);
    let last = monitor.read_raw().expect("a line");
    assert!(
        String::from_utf8_lossy(&last).ends_with("\"ECHO\" \"last\"\r\n"),
        "{}",
        String::from_utf8_lossy(&last)
    );
    lines
}

/// `+1700000000.123456 [1 127.0.0.1:5000] "x"` as `+T [1 X] "x"`.
fn mask(line: &str) -> String {
    let (time, rest) = line.split_once(" [").expect("a monitor line");
    assert!(time.starts_with('+') && time[1..].contains('.'), "{line}");
    let (origin, args) = rest.split_once("] ").expect("an origin");
    let (db, who) = origin.split_once(' ').expect("db and client");
    let who = if who == "lua" { "lua" } else { "X" };
    format!("+T [{db} {who}] {args}")
}

/// The CLIENT LIST flags of every client, and a monitor's reply to PING.
fn monitor_flags_and_ping(port: u16) -> (Vec<String>, Vec<u8>) {
    let mut monitor = Client::connect(port);
    monitor.raw(&["MONITOR"]);
    // A second MONITOR gets no reply at all.
    monitor.send_raw(b"*1\r\n$7\r\nMONITOR\r\n");
    let mut other = Client::connect(port);
    let Frame::Bulk(Some(list)) = other.cmd(&["CLIENT", "LIST"]) else {
        panic!("CLIENT LIST");
    };
    let flags = String::from_utf8_lossy(&list)
        .lines()
        .filter_map(|l| l.split(" flags=").nth(1))
        .filter_map(|rest| rest.split(' ').next())
        .map(str::to_string)
        .collect();
    let pong = monitor.raw(&["PING"]);
    std::thread::sleep(Duration::from_millis(50));
    (flags, pong)
}

#[test]
fn monitor_lines_match_redis() {
    let expected = [
        r#"+T [0 X] "SET" "foo" "bar\n\x01""#,
        r#"+T [0 X] "GET" "foo""#,
        r#"+T [1 X] "SELECT" "1""#,
        r#"+T [1 X] "EVAL" "redis.call('set',KEYS[1],ARGV[1])" "1" "foo" "bar""#,
        r#"+T [1 lua] "set" "foo" "bar""#,
        r#"+T [1 X] "MULTI""#,
        r#"+T [1 X] "SET" "foo" "bar""#,
        r#"+T [1 X] "EXEC""#,
        r#"+T [1 X] "MULTI""#,
        r#"+T [1 X] "EXEC""#,
        r#"+T [1 X] "AUTH" "(redacted)""#,
        r#"+T [1 X] "AUTH" "(redacted)" "(redacted)""#,
        r#"+T [1 X] "HELLO" "2" "AUTH" "(redacted)" "(redacted)""#,
        r#"+T [1 X] "PING""#,
    ];
    if let Some(redis) = start_redis("monitor", &[]) {
        assert_eq!(monitor_lines(redis.port), expected);
    }
    let port = start_replsim(Config::default());
    assert_eq!(monitor_lines(port), expected);
}

#[test]
fn a_monitor_is_flagged_o_ignores_a_second_monitor_and_still_answers() {
    let expected = (
        vec!["O".to_string(), "N".to_string()],
        // Its own PING's reply (the second MONITOR had none).
        b"+PONG\r\n".to_vec(),
    );
    if let Some(redis) = start_redis("monitor-flags", &[]) {
        assert_eq!(monitor_flags_and_ping(redis.port), expected);
    }
    let port = start_replsim(Config::default());
    assert_eq!(monitor_flags_and_ping(port), expected);
}
