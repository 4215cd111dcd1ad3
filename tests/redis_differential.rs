//! Differential test: the same commands go to a real redis-server 7.0 and to
//! replsim, and the replies must be equal byte for byte, with equal
//! `DEBUG DIGEST` after every group. Skipped (with a note) when redis-server
//! is not installed, except in CI.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use common::{start_redis, start_replsim, Client};
use replsim::resp::split_inline_args;
use replsim::server::Config;

/// How a reply is compared.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Compare {
    /// Byte for byte.
    Exact,
    /// Array elements as a sorted list.
    Sorted,
    /// Only the reply type.
    Shape,
}

fn normalised(raw: &[u8], mode: Compare) -> Vec<u8> {
    match mode {
        Compare::Exact => raw.to_vec(),
        Compare::Shape => raw[..1].to_vec(),
        Compare::Sorted => common::script::sorted_elements(raw),
    }
}

fn parse_line(line: &str) -> (Compare, Vec<Vec<u8>>) {
    let (mode, rest) = match line.as_bytes().first() {
        Some(b'~') => (Compare::Sorted, &line[1..]),
        Some(b'?') => (Compare::Shape, &line[1..]),
        _ => (Compare::Exact, line),
    };
    let mut bytes = Vec::new();
    let mut ranges = Vec::new();
    assert!(
        split_inline_args(rest.as_bytes(), &mut bytes, &mut ranges),
        "bad line {line}"
    );
    let args = ranges.iter().map(|&(s, e)| bytes[s..e].to_vec()).collect();
    (mode, args)
}

#[test]
fn replies_match_real_redis_byte_for_byte() {
    run_differential_script("differential", 2);
}

/// The same script after `HELLO 3`: every reply in RESP3's shapes (maps,
/// sets, doubles, nulls) as Redis 7.0 sends them.
#[test]
fn resp3_replies_match_real_redis_byte_for_byte() {
    run_differential_script("differential-resp3", 3);
}

/// Runs tests/data/differential.txt on a fresh redis-server and a fresh
/// replsim, both switched to `protocol` first, and fails on the first
/// group whose replies or digest differ.
fn run_differential_script(name: &str, protocol: u8) {
    let Some(redis) = start_redis(name, &[]) else {
        return;
    };
    let ours = start_replsim(Config::default());
    let mut theirs = Client::connect(redis.port);
    let mut mine = Client::connect(ours);
    if protocol != 2 {
        let version = protocol.to_string();
        for client in [&mut theirs, &mut mine] {
            let hello = client.cmd(&["HELLO", version.as_str()]);
            assert!(
                matches!(hello, replsim::resp::Frame::Map(_)),
                "HELLO {version} answered {hello:?}"
            );
        }
    }
    let script = include_str!("data/differential.txt");
    let mut failures = Vec::new();
    let mut commands = 0;
    let mut groups = 0;
    let mut group = String::from("(start)");
    let check_digest =
        |group: &str, theirs: &mut Client, mine: &mut Client, failures: &mut Vec<String>| {
            let (a, b) = (
                theirs.raw(&["DEBUG", "DIGEST"]),
                mine.raw(&["DEBUG", "DIGEST"]),
            );
            if a != b {
                failures.push(format!(
                    "group {group}: DEBUG DIGEST differs: redis {} replsim {}",
                    String::from_utf8_lossy(&a).trim(),
                    String::from_utf8_lossy(&b).trim()
                ));
            }
        };
    for (number, line) in script.lines().enumerate() {
        if let Some(name) = line.strip_prefix("# ") {
            if commands > 0 {
                check_digest(&group, &mut theirs, &mut mine, &mut failures);
                groups += 1;
            }
            group = name.to_string();
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if let Some(ms) = line.strip_prefix("!sleep ") {
            std::thread::sleep(Duration::from_millis(ms.parse().unwrap()));
            continue;
        }
        // The script's own HELLO lines keep the protocol under test.
        let line = &line.replace("HELLO 2", &format!("HELLO {protocol}"));
        let (mode, args) = parse_line(line);
        let (a, b) = (theirs.raw(&args), mine.raw(&args));
        commands += 1;
        if normalised(&a, mode) != normalised(&b, mode) {
            failures.push(format!(
                "line {}: {line}\n   redis:   {:?}\n   replsim: {:?}",
                number + 1,
                String::from_utf8_lossy(&a),
                String::from_utf8_lossy(&b)
            ));
        }
    }
    check_digest(&group, &mut theirs, &mut mine, &mut failures);
    groups += 1;
    if protocol == 3 {
        // A push is a frame of its own, ahead of the command's reply.
        let (a, b) = (
            theirs.raw(&["DEBUG", "PROTOCOL", "PUSH"]),
            mine.raw(&["DEBUG", "PROTOCOL", "PUSH"]),
        );
        assert_eq!(a, b, "the push of DEBUG PROTOCOL PUSH differs");
        let (a, b) = (theirs.read_raw(), mine.read_raw());
        assert_eq!(a, b, "the reply after the push differs");
    }
    assert!(
        commands >= 300,
        "the script should cover a few hundred commands, has {commands}"
    );
    assert!(
        failures.is_empty(),
        "{} of {commands} commands in {groups} groups differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("{commands} commands in {groups} groups: replies and digests equal");
}

/// Sends raw bytes on a fresh connection, half-closes it, and returns
/// everything the server writes until it closes.
fn raw_exchange(port: u16, request: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request).unwrap();
    stream.shutdown(Shutdown::Write).unwrap();
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply);
    reply
}

#[test]
fn protocol_errors_match_real_redis() {
    let Some(redis) = start_redis("protocol", &[]) else {
        return;
    };
    let ours = start_replsim(Config::default());
    let mut huge_inline = vec![b'a'; 70 * 1024];
    huge_inline.extend_from_slice(b"\r\n");
    let mut huge_count = b"*".to_vec();
    huge_count.extend(vec![b'1'; 70 * 1024]);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("multibulk", b"*1\r\n$4\r\nPING\r\n".to_vec()),
        ("inline", b"PING\r\n".to_vec()),
        ("inline without CR", b"ECHO hi\n".to_vec()),
        ("empty lines", b"\r\n\r\n\nPING\r\n".to_vec()),
        (
            "pipeline",
            b"PING\r\nECHO a\r\n*2\r\n$4\r\nECHO\r\n$1\r\nb\r\n*0\r\n*-1\r\nPING\r\n".to_vec(),
        ),
        (
            "quotes",
            b"ECHO \"a\\x41\\tb\"\r\nECHO 'it\\'s'\r\n".to_vec(),
        ),
        ("bad count", b"PING\r\n*x\r\nPING\r\n".to_vec()),
        ("negative bulk", b"*1\r\n$-3\r\n".to_vec()),
        ("bulk too big", b"*1\r\n$600000000\r\n".to_vec()),
        ("count too big", b"*3000000000\r\n".to_vec()),
        ("expected dollar", b"*1\r\n+GET\r\n".to_vec()),
        ("unbalanced quotes", b"ECHO \"abc\r\n".to_vec()),
        ("quote then text", b"ECHO \"a\"b\r\n".to_vec()),
        ("huge inline", huge_inline),
        ("huge multibulk count line", huge_count),
        (
            "partial frame then close",
            b"*2\r\n$4\r\nECHO\r\n$10\r\nabc".to_vec(),
        ),
    ];
    let mut failures = Vec::new();
    for (name, request) in &cases {
        let (a, b) = (
            raw_exchange(redis.port, request),
            raw_exchange(ours, request),
        );
        if a != b {
            failures.push(format!(
                "{name}:\n   redis:   {:?}\n   replsim: {:?}",
                String::from_utf8_lossy(&a),
                String::from_utf8_lossy(&b)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The server still serves everyone after all of that.
    assert_eq!(Client::connect(ours).raw(&["PING"]), b"+PONG\r\n");
}

#[test]
fn auth_errors_match_real_redis() {
    let Some(redis) = start_redis("auth", &["--requirepass", "secret"]) else {
        return;
    };
    let ours = start_replsim(Config {
        requirepass: Some(b"secret".to_vec()),
        ..Config::default()
    });
    let script: &[&[&str]] = &[
        &["GET", "k"],
        &["PING"],
        &["FOO"],
        &["HELLO", "2"],
        &["AUTH", "wrong"],
        &["AUTH", "default", "wrong"],
        &["AUTH", "nobody", "secret"],
        &["HELLO", "2", "AUTH", "default", "wrong"],
        &["AUTH", "secret"],
        &["SET", "k", "v"],
        &["GET", "k"],
    ];
    let (mut theirs, mut mine) = (Client::connect(redis.port), Client::connect(ours));
    for args in script {
        assert_eq!(
            String::from_utf8_lossy(&theirs.raw(args)),
            String::from_utf8_lossy(&mine.raw(args)),
            "{args:?}"
        );
    }
    // QUIT needs no authentication; it replies and closes.
    let (mut theirs, mut mine) = (Client::connect(redis.port), Client::connect(ours));
    assert_eq!(theirs.raw(&["QUIT"]), mine.raw(&["QUIT"]));
    assert!(mine.is_closed());
    // An unauthenticated client may not send big frames.
    let big = raw_exchange(ours, b"*20\r\n");
    assert_eq!(big, raw_exchange(redis.port, b"*20\r\n"));
}
