//! SENTINEL commands, differentially: a real `redis-sentinel` and a
//! `replsim sentinel` configured alike (the same real master with one
//! replica, and a master nobody answers for) get the same commands, and
//! their replies must be equal once what differs by nature is masked: the
//! Sentinels' own ports and run ids, and elapsed-time fields. Skipped when
//! the binaries are missing, except in CI.

mod common;

use common::sentinel::{within, Flavor, SentinelProcess};
use common::{free_port, start_redis, tool_available, Client};
use replsim::resp::Frame;

/// Fields whose values are milliseconds since something (and the
/// replica offset, which moves with the master's pings).
const TIME_FIELDS: [&str; 10] = [
    "slave-repl-offset",
    "last-ping-sent",
    "last-ok-ping-reply",
    "last-ping-reply",
    "s-down-time",
    "o-down-time",
    "info-refresh",
    "role-reported-time",
    "last-hello-message",
    "link-pending-commands",
];

/// `frame` with the Sentinels' ports and ids, and time fields, masked.
fn mask(frame: Frame, own: &[(String, &str)]) -> Frame {
    match frame {
        Frame::Bulk(Some(bytes)) => {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            for (value, name) in own {
                if text == *value {
                    return Frame::Bulk(Some(name.as_bytes().to_vec()));
                }
            }
            Frame::Bulk(Some(bytes))
        }
        Frame::Array(Some(items)) => {
            let mut out = Vec::with_capacity(items.len());
            let mut masked_next = false;
            for item in items {
                if masked_next {
                    out.push(Frame::Bulk(Some(b"<ms>".to_vec())));
                    masked_next = false;
                    continue;
                }
                if let Frame::Bulk(Some(key)) = &item {
                    masked_next = TIME_FIELDS.iter().any(|f| f.as_bytes() == key.as_slice());
                }
                out.push(mask(item, own));
            }
            Frame::Array(Some(out))
        }
        other => other,
    }
}

/// Redis lists masters in its dict's order, which its hash seed makes
/// random per process: ROLE's list and INFO's `masterN:` lines are
/// compared as sorted sets.
fn unordered_masters(command: &[&str], frame: Frame) -> Frame {
    match (command.first().copied(), frame) {
        (Some("ROLE"), Frame::Array(Some(mut items))) => {
            if let Some(Frame::Array(Some(names))) = items.get_mut(1) {
                names.sort_by_key(|n| format!("{n:?}"));
            }
            Frame::Array(Some(items))
        }
        (Some("INFO"), Frame::Bulk(Some(text))) => {
            let text = String::from_utf8_lossy(&text).into_owned();
            let mut lines: Vec<String> = text
                .split("\r\n")
                .map(
                    |l| match l.strip_prefix("master").and_then(|r| r.split_once(':')) {
                        Some((index, rest)) if index.chars().all(|c| c.is_ascii_digit()) => {
                            format!("masterN:{rest}")
                        }
                        _ => l.to_string(),
                    },
                )
                .collect();
            lines.sort();
            Frame::Bulk(Some(lines.join("\r\n").into_bytes()))
        }
        (_, frame) => frame,
    }
}

/// A frame as readable text (bulk strings shown as text).
fn show(frame: &Frame) -> String {
    match frame {
        Frame::Bulk(Some(bytes)) => format!("{:?}", String::from_utf8_lossy(bytes)),
        Frame::Array(Some(items)) => format!(
            "[{}]",
            items.iter().map(show).collect::<Vec<_>>().join(", ")
        ),
        other => format!("{other:?}"),
    }
}

fn myid(s: &SentinelProcess) -> String {
    match s.cmd(&["SENTINEL", "MYID"]) {
        Frame::Bulk(Some(id)) => String::from_utf8_lossy(&id).into_owned(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn sentinel_commands_reply_as_a_real_redis_sentinel_does() {
    let test = "sentinel_commands_reply_as_a_real_redis_sentinel_does";
    if !tool_available(test, "redis-sentinel") {
        return;
    }
    let Some(master) = start_redis(test, &["--repl-diskless-sync-delay", "0"]) else {
        return;
    };
    let master_port = master.port.to_string();
    // Kept alive for the whole test: the master's one replica.
    let _replica = start_redis(test, &["--replicaof", "127.0.0.1", &master_port]).unwrap();
    let ghost = free_port();
    let conf = format!(
        "sentinel monitor mymaster 127.0.0.1 {master_port} 2\n\
         sentinel down-after-milliseconds mymaster 1000\n\
         sentinel monitor ghost 127.0.0.1 {ghost} 2\n\
         sentinel down-after-milliseconds ghost 1000\n"
    );
    let real = SentinelProcess::start(Flavor::Redis, "diff-real", &conf);
    let ours = SentinelProcess::start(Flavor::Replsim, "diff-ours", &conf);
    let settled = within(30, || {
        [&real, &ours].iter().all(|s| {
            s.master_field("mymaster", "num-slaves").as_deref() == Some("1")
                && s.master_field("mymaster", "num-other-sentinels").as_deref() == Some("1")
                && s.master_field("ghost", "flags").as_deref() == Some("s_down,master,disconnected")
                && match s.cmd(&["SENTINEL", "SENTINELS", "mymaster"]) {
                    Frame::Array(Some(list)) => list.iter().all(|other| {
                        matches!(other, Frame::Array(Some(f)) if f.contains(&Frame::Bulk(Some(b"sentinel".to_vec()))))
                    }),
                    _ => false,
                }
        })
    });
    assert!(settled.is_some(), "{}\n----\n{}", real.log(), ours.log());
    // The replica's INFO must have been read (role, offsets) by both.
    let info_read = within(15, || {
        [&real, &ours]
            .iter()
            .all(|s| match s.cmd(&["SENTINEL", "REPLICAS", "mymaster"]) {
                Frame::Array(Some(list)) => {
                    list.iter().all(|replica| match replica {
                        Frame::Array(Some(fields)) => fields.chunks(2).any(|pair| {
                            pair[0] == Frame::Bulk(Some(b"master-link-status".to_vec()))
                                && pair[1] == Frame::Bulk(Some(b"ok".to_vec()))
                        }),
                        _ => false,
                    }) && !list.is_empty()
                }
                _ => false,
            })
    });
    assert!(info_read.is_some());
    let ghost_port = ghost.to_string();
    let commands: Vec<Vec<&str>> = vec![
        vec!["PING"],
        vec!["PING", "hi"],
        vec!["ROLE"],
        vec!["GET", "x"],
        vec!["PUBLISH", "foo", "bar"],
        vec!["SENTINEL"],
        vec!["SENTINEL", "FOO"],
        vec!["SENTINEL", "MASTER"],
        vec!["SENTINEL", "MASTER", "nope"],
        vec!["SENTINEL", "MASTER", "ghost"],
        vec!["SENTINEL", "MASTER", "mymaster"],
        vec!["SENTINEL", "REPLICAS", "mymaster"],
        vec!["SENTINEL", "MASTERS", "x"],
        vec!["SENTINEL", "REPLICAS", "nope"],
        vec!["SENTINEL", "SLAVES", "ghost"],
        vec!["SENTINEL", "SENTINELS", "ghost"],
        vec!["SENTINEL", "SENTINELS", "mymaster"],
        vec!["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster"],
        vec!["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "nope"],
        vec!["SENTINEL", "GET-MASTER-ADDR-BY-NAME"],
        vec![
            "SENTINEL",
            "IS-MASTER-DOWN-BY-ADDR",
            "127.0.0.1",
            &ghost_port,
            "0",
            "*",
        ],
        vec![
            "SENTINEL",
            "IS-MASTER-DOWN-BY-ADDR",
            "127.0.0.1",
            &master_port,
            "0",
            "*",
        ],
        vec![
            "SENTINEL",
            "IS-MASTER-DOWN-BY-ADDR",
            "10.9.9.9",
            "1",
            "0",
            "*",
        ],
        vec![
            "SENTINEL",
            "IS-MASTER-DOWN-BY-ADDR",
            "127.0.0.1",
            "x",
            "0",
            "*",
        ],
        vec![
            "SENTINEL",
            "IS-MASTER-DOWN-BY-ADDR",
            "127.0.0.1",
            "1",
            "x",
            "*",
        ],
        vec!["SENTINEL", "IS-MASTER-DOWN-BY-ADDR", "127.0.0.1"],
        vec!["SENTINEL", "CKQUORUM", "ghost"],
        vec!["SENTINEL", "CKQUORUM", "mymaster"],
        vec!["SENTINEL", "CKQUORUM", "nope"],
        vec!["SENTINEL", "CONFIG", "GET", "*"],
        vec!["SENTINEL", "CONFIG", "GET", "announce-*"],
        vec!["SENTINEL", "CONFIG", "GET", "nothing"],
        vec!["SENTINEL", "CONFIG", "FOO", "x"],
        vec!["SENTINEL", "CONFIG"],
        vec!["SENTINEL", "SET", "nope", "quorum", "2"],
        vec!["SENTINEL", "SET", "ghost", "foo", "1"],
        vec!["SENTINEL", "SET", "ghost", "quorum"],
        vec!["SENTINEL", "SET", "ghost", "quorum", "x"],
        vec!["SENTINEL", "SET", "ghost", "down-after-milliseconds", "0"],
        vec!["SENTINEL", "SIMULATE-FAILURE", "bogus"],
        vec!["SENTINEL", "SIMULATE-FAILURE", "help"],
        vec!["SENTINEL", "SIMULATE-FAILURE"],
        vec!["SENTINEL", "DEBUG"],
        vec!["SENTINEL", "HELP"],
        vec!["SENTINEL", "MONITOR", "x", "127.0.0.1", "abc", "2"],
        vec!["SENTINEL", "MONITOR", "x", "127.0.0.1", "1", "0"],
        vec!["SENTINEL", "MONITOR", "x", "127.0.0.1", "1", "q"],
        vec!["SENTINEL", "MONITOR", "x", "no.such.host", "1", "1"],
        vec!["SENTINEL", "MONITOR", "mymaster", "127.0.0.1", "1", "1"],
        vec!["SENTINEL", "MONITOR", "x"],
        vec!["SENTINEL", "REMOVE", "nope"],
        vec!["SENTINEL", "RESET", "nope*"],
        vec!["SENTINEL", "PENDING-SCRIPTS"],
        vec!["SENTINEL", "INFO-CACHE", "nope"],
        vec!["SENTINEL", "FAILOVER", "nope"],
        vec!["SENTINEL", "FAILOVER", "ghost"],
        vec!["SENTINEL", "FLUSHCONFIG"],
        vec!["INFO", "sentinel"],
        vec!["SUBSCRIBE", "+sdown", "+odown"],
        vec!["HELLO", "4"],
        vec!["CLIENT", "SETNAME", "differential"],
        vec!["CLIENT", "GETNAME"],
        vec!["SENTINEL", "DEBUG", "info-period"],
        vec!["SENTINEL", "DEBUG", "foo", "1"],
        vec![
            "SENTINEL",
            "DEBUG",
            "tilt-period",
            "40000",
            "ping-period",
            "x",
        ],
        vec!["SENTINEL", "DEBUG", "election-timeout", "0"],
        vec![
            "SENTINEL",
            "DEBUG",
            "script-retry-delay",
            "20000",
            "ELECTION-TIMEOUT",
            "9000",
        ],
        vec!["SENTINEL", "DEBUG"],
        vec!["SENTINEL", "CONFIG", "SET", "Foo", "1"],
        vec!["SENTINEL", "CONFIG", "SET", "announce-port", "x"],
        vec!["SENTINEL", "CONFIG", "SET", "announce-port", "70000"],
        vec!["SENTINEL", "CONFIG", "SET", "RESOLVE-hostnames", "maybe"],
        vec!["SENTINEL", "CONFIG", "SET", "announce-hostnames", "no"],
        vec!["SENTINEL", "CONFIG", "GET", "announce-hostnames"],
    ];
    let (real_id, our_id) = (myid(&real), myid(&ours));
    let own = |s: &SentinelProcess| -> Vec<(String, &'static str)> {
        vec![
            (s.port.to_string(), "<sentinel-port>"),
            (real.port.to_string(), "<sentinel-port>"),
            (ours.port.to_string(), "<sentinel-port>"),
            (real_id.clone(), "<sentinel-id>"),
            (our_id.clone(), "<sentinel-id>"),
        ]
    };
    let mut differences = Vec::new();
    for command in &commands {
        let theirs = unordered_masters(
            command,
            mask(Client::connect(real.port).cmd(command), &own(&real)),
        );
        let mine = unordered_masters(
            command,
            mask(Client::connect(ours.port).cmd(command), &own(&ours)),
        );
        if theirs != mine {
            differences.push(format!(
                "{command:?}\n   redis:   {}\n   replsim: {}",
                show(&theirs),
                show(&mine)
            ));
        }
    }
    assert!(
        differences.is_empty(),
        "{} of {} commands differ:\n{}",
        differences.len(),
        commands.len(),
        differences.join("\n")
    );
}

/// A sentinel.conf with the Sentinels' own ports, ids and directories
/// masked.
/// Redis appends the server options it rewrites in its config dict's
/// order, random per process: the run of them after the signature is
/// sorted.
fn masked_conf(s: &SentinelProcess, names: &[(String, &str)]) -> String {
    let mut text = s.conf();
    for (value, name) in names {
        text = text.replace(value.as_str(), name);
    }
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    if let Some(signature) = lines
        .iter()
        .position(|l| l == "# Generated by CONFIG REWRITE")
    {
        let start = signature + 1;
        let end = lines[start..]
            .iter()
            .position(|l| l.is_empty() || l.starts_with("sentinel "))
            .map_or(lines.len(), |n| start + n);
        lines[start..end].sort();
    }
    lines.join("\n") + "\n"
}

#[test]
fn sentinel_conf_is_rewritten_as_a_real_redis_sentinel_rewrites_it() {
    let test = "sentinel_conf_is_rewritten_as_a_real_redis_sentinel_rewrites_it";
    if !tool_available(test, "redis-sentinel") {
        return;
    }
    let Some(master) = start_redis(test, &["--repl-diskless-sync-delay", "0"]) else {
        return;
    };
    let master_port = master.port.to_string();
    let _replica = start_redis(test, &["--replicaof", "127.0.0.1", &master_port]).unwrap();
    // Comments, a default-valued server option and an old-style line stay
    // where they are; state goes after the signature.
    let conf = format!(
        "# my sentinel\ndaemonize no\nsentinel monitor mymaster 127.0.0.1 {master_port} 2\n\
         sentinel down-after-milliseconds mymaster 1000\nsentinel parallel-syncs mymaster 1\n\
         sentinel failover-timeout mymaster 180000\n"
    );
    let real = SentinelProcess::start(Flavor::Redis, "conf-real", &conf);
    let ours = SentinelProcess::start(Flavor::Replsim, "conf-ours", &conf);
    let settled = within(30, || {
        [&real, &ours].iter().all(|s| {
            let conf = s.conf();
            conf.contains("sentinel known-replica") && conf.contains("sentinel known-sentinel")
        })
    });
    assert!(settled.is_some(), "{}\n----\n{}", real.conf(), ours.conf());
    let (real_id, our_id) = (myid(&real), myid(&ours));
    let names = |s: &SentinelProcess| -> Vec<(String, &'static str)> {
        vec![
            (s.dir.display().to_string(), "<dir>"),
            (real_id.clone(), "<id>"),
            (our_id.clone(), "<id>"),
            (real.port.to_string(), "<port>"),
            (ours.port.to_string(), "<port>"),
        ]
    };
    assert_eq!(
        masked_conf(&ours, &names(&ours)),
        masked_conf(&real, &names(&real))
    );
    // A change by command is written the same way.
    for s in [&real, &ours] {
        assert_eq!(
            s.cmd(&[
                "SENTINEL",
                "SET",
                "mymaster",
                "failover-timeout",
                "5000",
                "quorum",
                "1"
            ]),
            Frame::Simple("OK".into())
        );
        assert_eq!(
            s.cmd(&["SENTINEL", "FLUSHCONFIG"]),
            Frame::Simple("OK".into())
        );
    }
    let theirs = masked_conf(&real, &names(&real));
    assert_eq!(masked_conf(&ours, &names(&ours)), theirs);
    assert!(
        theirs.contains("sentinel failover-timeout mymaster 5000"),
        "{theirs}"
    );
}
