//! A script past `busy-reply-threshold` on real TCP, against a real
//! redis-server 7.0 when one is installed: other clients (connected before
//! or while it runs) get `-BUSY`, the commands Redis lets through run
//! (MULTI, FUNCTION STATS, SCRIPT KILL, FUNCTION KILL), a command refused
//! inside MULTI fails the transaction, SCRIPT KILL and FUNCTION KILL stop
//! only their own kind and never a script that wrote, and SHUTDOWN NOSAVE
//! stops the node anyway.

mod common;

use common::{start_redis, start_replsim, Client};
use replsim::server::Config;

/// Asks with PING until the node answers `-BUSY`.
fn wait_until_busy(client: &mut Client) {
    common::wait_until(10, "the script to be busy", || {
        client.raw(&["PING"]).starts_with(b"-BUSY")
    });
}

/// A reply as text, with FUNCTION STATS's `duration_ms` value masked.
fn text(reply: Option<Vec<u8>>) -> String {
    let reply = String::from_utf8_lossy(&reply.expect("a reply")).into_owned();
    match reply.split_once("duration_ms\r\n:") {
        Some((head, tail)) => {
            let rest = tail.split_once("\r\n").map_or("", |(_, rest)| rest);
            format!("{head}duration_ms\r\n:D\r\n{rest}")
        }
        None => reply,
    }
}

/// What the clients get around three busy scripts; the node is shut down
/// at the end.
fn busy_transcript(port: u16) -> Vec<String> {
    let mut admin = Client::connect(port);
    let mut other = Client::connect(port);
    let mut runner = Client::connect(port);
    let mut transcript = Vec::new();
    let mut note = |reply: Option<Vec<u8>>| transcript.push(text(reply));
    admin.raw(&["CONFIG", "SET", "busy-reply-threshold", "50"]);
    admin.raw(&["SET", "x", "1"]);

    // An EVAL script that never ends.
    runner.send(&["EVAL", "local i = 0 while true do i = i + 1 end", "0"]);
    wait_until_busy(&mut admin);
    note(Some(other.raw(&["PING"])));
    // Accepted while the script runs.
    let mut late = Client::connect(port);
    note(Some(late.raw(&["GET", "x"])));
    note(Some(other.raw(&["FUNCTION", "KILL"])));
    note(Some(other.raw(&["FUNCTION", "STATS"])));
    note(Some(other.raw(&["SHUTDOWN"])));
    note(Some(other.raw(&["MULTI"])));
    note(Some(other.raw(&["INCR", "x"])));
    note(Some(admin.raw(&["SCRIPT", "KILL"])));
    note(runner.read_raw());
    note(Some(other.raw(&["EXEC"])));
    note(Some(late.raw(&["GET", "x"])));

    // A function that never ends.
    admin.raw(&[
        "FUNCTION",
        "LOAD",
        "#!lua name=busy\nredis.register_function('spin', function() while true do end end)",
    ]);
    runner.send(&["FCALL", "spin", "0"]);
    wait_until_busy(&mut admin);
    note(Some(other.raw(&["PING"])));
    note(Some(other.raw(&["SCRIPT", "KILL"])));
    note(Some(other.raw(&["FUNCTION", "STATS"])));
    note(Some(other.raw(&["FUNCTION", "KILL"])));
    note(runner.read_raw());
    note(Some(other.raw(&["FUNCTION", "STATS"])));

    // A script that wrote cannot be killed; SHUTDOWN NOSAVE stops it.
    runner.send(&["EVAL", "redis.call('incr', 'x') while true do end", "0"]);
    wait_until_busy(&mut admin);
    note(Some(admin.raw(&["SCRIPT", "KILL"])));
    other.send(&["SHUTDOWN", "NOSAVE"]);
    note(Some(
        format!("shutdown reply: {:?}", other.read_raw()).into_bytes(),
    ));
    note(Some(
        format!("script reply: {:?}", runner.read_raw()).into_bytes(),
    ));
    common::wait_until(10, "the node to stop listening", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
    });
    transcript
}

#[test]
fn a_busy_script_answers_others_and_is_killed_as_in_redis() {
    let busy_eval =
        "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n";
    let busy_function =
        "-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.\r\n";
    let expected = vec![
        busy_eval.to_string(),
        busy_eval.to_string(),
        busy_eval.to_string(),
        busy_eval.to_string(),
        busy_eval.to_string(),
        "+OK\r\n".to_string(),
        busy_eval.to_string(),
        "+OK\r\n".to_string(),
        "-ERR Script killed by user with SCRIPT KILL... script: 3fcf51a9b854b8f66cb8685600b0d7df968f4398, on @user_script:1.\r\n".to_string(),
        "-EXECABORT Transaction discarded because of previous errors.\r\n".to_string(),
        "$1\r\n1\r\n".to_string(),
        busy_function.to_string(),
        busy_function.to_string(),
        "*4\r\n$14\r\nrunning_script\r\n*6\r\n$4\r\nname\r\n$4\r\nspin\r\n$7\r\ncommand\r\n*3\r\n$5\r\nFCALL\r\n$4\r\nspin\r\n$1\r\n0\r\n$11\r\nduration_ms\r\n:D\r\n$7\r\nengines\r\n*2\r\n$3\r\nLUA\r\n*4\r\n$15\r\nlibraries_count\r\n:1\r\n$15\r\nfunctions_count\r\n:1\r\n".to_string(),
        "+OK\r\n".to_string(),
        "-ERR Script killed by user with SCRIPT KILL... script: spin, on @user_function:2.\r\n".to_string(),
        "*4\r\n$14\r\nrunning_script\r\n$-1\r\n$7\r\nengines\r\n*2\r\n$3\r\nLUA\r\n*4\r\n$15\r\nlibraries_count\r\n:1\r\n$15\r\nfunctions_count\r\n:1\r\n".to_string(),
        "-UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.\r\n".to_string(),
        "shutdown reply: None".to_string(),
        "script reply: None".to_string(),
    ];
    if let Some(redis) = start_redis("scripting-busy", &[]) {
        assert_eq!(busy_transcript(redis.port), expected);
    }
    let port = start_replsim(Config::default());
    assert_eq!(busy_transcript(port), expected);
}

/// A client blocked on a key the busy script pushed to is served once the
/// script ends, with what it pushed last, not while it runs (when another
/// client's command is answered).
fn blocked_pop_after_a_busy_script(port: u16) -> (Vec<u8>, Vec<u8>) {
    let mut admin = Client::connect(port);
    let mut blocked = Client::connect(port);
    let mut namer = Client::connect(port);
    let mut runner = Client::connect(port);
    admin.raw(&["CONFIG", "SET", "busy-reply-threshold", "10"]);
    admin.raw(&["DEBUG", "SET-DISABLE-DENY-SCRIPTS", "1"]);
    blocked.send(&["BLPOP", "x", "0"]);
    common::wait_until(10, "BLPOP to block", || {
        String::from_utf8_lossy(&admin.raw(&["INFO", "clients"])).contains("blocked_clients:1")
    });
    runner.send(&[
        "EVAL",
        "redis.call('lpush', KEYS[1], 'y') \
         while not string.find(redis.call('client', 'list'), 'abortscript') do end \
         redis.call('lpush', KEYS[1], 'z') return 'done'",
        "1",
        "x",
    ]);
    wait_until_busy(&mut admin);
    let hello = namer.raw(&["HELLO", "2", "SETNAME", "abortscript"]);
    assert!(
        hello.starts_with(b"*"),
        "{}",
        String::from_utf8_lossy(&hello)
    );
    let popped = blocked.read_raw().expect("the pop");
    let done = runner.read_raw().expect("the script's reply");
    admin.raw(&["DEBUG", "SET-DISABLE-DENY-SCRIPTS", "0"]);
    (popped, done)
}

#[test]
fn a_client_blocked_on_a_busy_scripts_key_is_served_after_it_ends() {
    let expected = (
        b"*2\r\n$1\r\nx\r\n$1\r\nz\r\n".to_vec(),
        b"$4\r\ndone\r\n".to_vec(),
    );
    if let Some(redis) = start_redis("scripting-busy-blocked", &[]) {
        assert_eq!(blocked_pop_after_a_busy_script(redis.port), expected);
    }
    let port = start_replsim(Config::default());
    assert_eq!(blocked_pop_after_a_busy_script(port), expected);
}

/// Attaches to `port` as a replica (`PSYNC ? -1`, an RDB of `$len`
/// framing) and returns the connection, positioned at the stream.
fn attach_replica(port: u16) -> Client {
    let mut replica = Client::connect(port);
    replica.send(&["PSYNC", "?", "-1"]);
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    use std::io::Read;
    // `+FULLRESYNC <id> <offset>\r\n`, then `$<len>\r\n` and the RDB.
    for _ in 0..2 {
        line.clear();
        while !line.ends_with(b"\r\n") {
            replica.stream_mut().read_exact(&mut byte).expect("a line");
            line.push(byte[0]);
        }
    }
    let len: usize = String::from_utf8_lossy(&line[1..line.len() - 2])
        .parse()
        .expect("an RDB length");
    let mut rdb = vec![0u8; len];
    replica.stream_mut().read_exact(&mut rdb).expect("the RDB");
    replica
}

/// The next command of a replication stream, as words (PINGs skipped).
fn next_streamed(replica: &mut Client) -> String {
    loop {
        let raw = replica.read_raw().expect("a streamed command");
        let replsim::resp::Frame::Array(Some(words)) =
            replsim::resp::Frame::parse(&raw).expect("a command").0
        else {
            panic!("not a command: {raw:?}");
        };
        let words: Vec<String> = words
            .iter()
            .map(|word| match word {
                replsim::resp::Frame::Bulk(Some(bytes)) => {
                    String::from_utf8_lossy(bytes).into_owned()
                }
                other => format!("{other:?}"),
            })
            .collect();
        let command = words.join(" ");
        if !command.eq_ignore_ascii_case("PING") {
            return command;
        }
    }
}

#[test]
fn a_busy_scripts_writes_reach_replicas_as_one_transaction_when_it_ends() {
    let port = start_replsim(Config::default());
    let mut admin = Client::connect(port);
    let mut other = Client::connect(port);
    let mut runner = Client::connect(port);
    admin.raw(&["CONFIG", "SET", "busy-reply-threshold", "10"]);
    let mut replica = attach_replica(port);
    runner.send(&[
        "EVAL",
        "redis.call('incr', 'a') \
         local i = 0 while i < 100000000 do i = i + 1 end \
         redis.call('incr', 'b') return 'done'",
        "0",
    ]);
    wait_until_busy(&mut admin);
    // Commands answered while the script runs: none may send its writes
    // ahead of its end.
    assert_eq!(other.raw(&["MULTI"]), b"+OK\r\n");
    assert_eq!(other.raw(&["DISCARD"]), b"+OK\r\n");
    assert_eq!(runner.read_raw(), Some(b"$4\r\ndone\r\n".to_vec()));
    let streamed: Vec<String> = (0..5).map(|_| next_streamed(&mut replica)).collect();
    assert_eq!(streamed, ["SELECT 0", "MULTI", "incr a", "incr b", "EXEC"]);
}
