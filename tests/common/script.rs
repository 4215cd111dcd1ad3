//! A multi-client differential script runner: the same script of several
//! clients' commands runs against a real redis-server and against replsim,
//! and every reply and every pushed message must be equal byte for byte.
//!
//! Script lines: `N> command` (client N sends it and reads one reply;
//! `~N>` compares array elements sorted), `N- command` (sends it, reads
//! nothing), `N.` (disconnects and connects anew), `N<` (reads one
//! frame), `N<*` (reads everything up to a
//! sentinel message: client N must be subscribed to `sentinel`), `!sleep
//! MS`, `#` comments. An argument `{id:N}` is client N's CLIENT ID on the
//! server at hand.

use super::{start_redis, start_replsim, Client};
use replsim::resp::{split_inline_args, Frame};
use replsim::server::Config;

/// Clients each script uses; the last one only publishes the sentinel.
const CLIENTS: usize = 6;
const SENTINEL_PUBLISHER: usize = CLIENTS - 1;

/// One step of a script.
#[derive(Debug)]
enum Step {
    /// `N> command`: client N sends it and reads one reply (`~N>`: its
    /// array elements compared as a sorted list).
    Command {
        client: usize,
        args: Vec<Vec<u8>>,
        sorted: bool,
    },
    /// `N- command`: client N sends it and reads nothing (CLIENT REPLY
    /// OFF and SKIP silence replies).
    Send { client: usize, args: Vec<Vec<u8>> },
    /// `N<`: client N reads one more frame (a second confirmation, a
    /// message).
    Read(usize),
    /// `N<*`: the sentinel client publishes on `sentinel`; client N
    /// (subscribed to it) reads every frame up to that message, so that
    /// all it was sent so far is compared, and nothing is left over.
    Drain(usize),
    /// `!sleep MS`.
    Sleep(u64),
    /// `N.`: client N disconnects, and a fresh connection takes its place.
    Reconnect(usize),
}

fn parse_script(script: &str) -> Vec<(usize, Step)> {
    let mut steps = Vec::new();
    for (number, line) in script.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(ms) = line.strip_prefix("!sleep ") {
            steps.push((number + 1, Step::Sleep(ms.parse().unwrap())));
            continue;
        }
        let (sorted, line) = match line.strip_prefix('~') {
            Some(rest) => (true, rest),
            None => (false, line),
        };
        let split = line.find(['>', '<', '-', '.']).expect("client number");
        let client: usize = line[..split].parse().expect("client number");
        let rest = &line[split..];
        let step = if rest == "." {
            Step::Reconnect(client)
        } else if rest == "<" {
            Step::Read(client)
        } else if rest == "<*" {
            Step::Drain(client)
        } else {
            let mut bytes = Vec::new();
            let mut ranges = Vec::new();
            assert!(split_inline_args(
                rest[1..].trim().as_bytes(),
                &mut bytes,
                &mut ranges
            ));
            let args = ranges.iter().map(|&(s, e)| bytes[s..e].to_vec()).collect();
            if rest.starts_with('-') {
                Step::Send { client, args }
            } else {
                Step::Command {
                    client,
                    args,
                    sorted,
                }
            }
        };
        steps.push((number + 1, step));
    }
    steps
}

/// The elements of an array or set reply (the pairs of a map), each
/// re-encoded, in byte order (a reply whose order Redis leaves to its hash
/// table); other replies as they are.
pub fn sorted_elements(raw: &[u8]) -> Vec<u8> {
    let encode = |frame: &Frame| {
        let mut out = Vec::new();
        frame.encode(&mut out);
        out
    };
    let (kind, mut encoded): (&[u8], Vec<Vec<u8>>) = match Frame::parse(raw).unwrap().0 {
        Frame::Array(Some(items)) => (b"*", items.iter().map(encode).collect()),
        Frame::Set(items) => (b"~", items.iter().map(encode).collect()),
        Frame::Map(pairs) => (
            b"%",
            pairs
                .iter()
                .map(|(key, value)| [encode(key), encode(value)].concat())
                .collect(),
        ),
        _ => return raw.to_vec(),
    };
    encoded.sort();
    [kind.to_vec(), encoded.concat()].concat()
}

/// Runs `script` against the server on `port`; returns, per step, what
/// was read (in order).
fn run(port: u16, steps: &[(usize, Step)]) -> Vec<(usize, Vec<u8>)> {
    let mut clients: Vec<Client> = (0..CLIENTS).map(|_| Client::connect(port)).collect();
    let mut ids: Vec<Vec<u8>> = clients
        .iter_mut()
        .map(|client| {
            let reply = client.raw(&["CLIENT", "ID"]);
            reply[1..reply.len() - 2].to_vec()
        })
        .collect();
    let with_ids = |ids: &[Vec<u8>], args: &[Vec<u8>]| -> Vec<Vec<u8>> {
        args.iter()
            .map(|arg| {
                let text = String::from_utf8_lossy(arg);
                match text
                    .strip_prefix("{id:")
                    .and_then(|rest| rest.strip_suffix('}'))
                {
                    Some(n) => ids[n.parse::<usize>().expect("client number")].clone(),
                    None => arg.clone(),
                }
            })
            .collect()
    };
    let mut seen = Vec::new();
    for (line, step) in steps {
        match step {
            Step::Command {
                client,
                args,
                sorted,
            } => {
                let reply = clients[*client].raw(&with_ids(&ids, args));
                seen.push((
                    *line,
                    if *sorted {
                        sorted_elements(&reply)
                    } else {
                        reply
                    },
                ));
            }
            Step::Send { client, args } => {
                let mut request = Vec::new();
                replsim::resp::encode_command(&mut request, &with_ids(&ids, args));
                clients[*client].send_raw(&request);
            }
            Step::Read(client) => {
                let frame = clients[*client].read_raw().unwrap_or_default();
                seen.push((*line, frame));
            }
            Step::Drain(client) => {
                clients[SENTINEL_PUBLISHER].raw(&["PUBLISH", "sentinel", "end"]);
                let mut all = Vec::new();
                loop {
                    let frame = clients[*client].read_raw().expect("sentinel arrives");
                    if frame.ends_with(b"$8\r\nsentinel\r\n$3\r\nend\r\n") {
                        break;
                    }
                    all.extend_from_slice(&frame);
                }
                seen.push((*line, all));
            }
            Step::Sleep(ms) => std::thread::sleep(std::time::Duration::from_millis(*ms)),
            Step::Reconnect(client) => {
                clients[*client] = Client::connect(port);
                let reply = clients[*client].raw(&["CLIENT", "ID"]);
                ids[*client] = reply[1..reply.len() - 2].to_vec();
            }
        }
    }
    seen
}

/// Runs `script` on both servers and fails on the first differences.
pub fn compare(test: &str, script: &str) {
    let Some(redis) = start_redis(test, &[]) else {
        return;
    };
    let ours = start_replsim(Config::default());
    let steps = parse_script(script);
    let theirs = run(redis.port, &steps);
    let mine = run(ours, &steps);
    let lines: Vec<&str> = script.lines().collect();
    let mut failures = Vec::new();
    for ((line, a), (_, b)) in theirs.iter().zip(&mine) {
        if a != b {
            failures.push(format!(
                "line {line}: {}\n   redis:   {:?}\n   replsim: {:?}",
                lines[line - 1].trim(),
                String::from_utf8_lossy(a),
                String::from_utf8_lossy(b)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} steps differ:\n{}",
        failures.len(),
        theirs.len(),
        failures.join("\n")
    );
}
