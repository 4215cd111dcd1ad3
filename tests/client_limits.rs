//! Client limits on real TCP, each checked against a real redis-server 7.0
//! when one is installed: `client-query-buffer-limit` closes a client whose
//! argument in flight outgrows it (nothing of that command is applied or
//! propagated), `maxclients` refuses connections past the limit,
//! `client-output-buffer-limit normal` closes a client whose unread replies
//! pass it, and idle clients give back the buffers of a large request or
//! reply.

mod common;

use std::time::Duration;

use common::{info_field, start_redis, start_replsim, wait_in_sync, Client, ReplsimProcess};
use replsim::resp::{encode_command, Frame};
use replsim::server::Config;

const MB: usize = 1024 * 1024;

/// RPUSH L of `count` elements of `size` bytes each.
fn rpush(count: usize, size: usize) -> Vec<u8> {
    let mut args = vec![b"RPUSH".to_vec(), b"L".to_vec()];
    args.extend((0..count).map(|i| vec![b'a' + (i % 26) as u8; size]));
    let mut request = Vec::new();
    encode_command(&mut request, &args);
    request
}

/// Sends a 2 MB argument (after two small ones) to a server whose query
/// buffer limit is 1 MB; returns its reply (`None`: it closed the
/// connection without one) and the list's length afterwards.
fn send_oversized_argument(port: u16) -> (Option<Vec<u8>>, Vec<u8>) {
    let mut args = vec![
        b"RPUSH".to_vec(),
        b"L".to_vec(),
        b"x".to_vec(),
        b"y".to_vec(),
    ];
    args.push(vec![b'z'; 2 * MB]);
    let mut request = Vec::new();
    encode_command(&mut request, &args);
    let mut client = Client::connect(port);
    // The server may close while the tail is still being written.
    let _ = std::io::Write::write_all(client.stream_mut(), &request);
    let reply = client.read_raw();
    (reply, Client::connect(port).raw(&["LLEN", "L"]))
}

#[test]
fn an_argument_past_the_query_buffer_limit_closes_the_client_and_applies_nothing() {
    if let Some(redis) = start_redis("query-limit", &["--client-query-buffer-limit", "1mb"]) {
        assert_eq!(
            send_oversized_argument(redis.port),
            (None, b":0\r\n".to_vec())
        );
    }
    let master = start_replsim(Config {
        client_query_buffer_limit: MB as u64,
        ..Config::default()
    });
    let replica = start_replsim(Config {
        replicaof: Some(("127.0.0.1".into(), master)),
        ..Config::default()
    });
    wait_in_sync(master, replica);
    let offset_before = info_field(master, "master_repl_offset");
    assert_eq!(send_oversized_argument(master), (None, b":0\r\n".to_vec()));
    assert_eq!(info_field(master, "master_repl_offset"), offset_before);
    // The connection still works for everyone else, and the replica holds
    // exactly what the master holds.
    let mut client = Client::connect(master);
    assert_eq!(client.raw(&["SET", "after", "1"]), b"+OK\r\n");
    wait_in_sync(master, replica);
    assert_eq!(Client::connect(replica).raw(&["LLEN", "L"]), b":0\r\n");
    assert_eq!(common::digest(master), common::digest(replica));
}

#[test]
fn a_multibulk_larger_than_the_query_buffer_limit_in_small_arguments_is_served() {
    // Redis limits the unparsed query buffer, not a command's total size:
    // five 300 KB elements (1.5 MB) pass a 1 MB limit.
    let request = rpush(5, 300 * 1024);
    let check = |port: u16| {
        let mut client = Client::connect(port);
        client.send_raw(&request);
        assert_eq!(client.read_raw().as_deref(), Some(&b":5\r\n"[..]));
    };
    if let Some(redis) = start_redis("query-limit-total", &["--client-query-buffer-limit", "1mb"]) {
        check(redis.port);
    }
    check(start_replsim(Config {
        client_query_buffer_limit: MB as u64,
        ..Config::default()
    }));
}

/// Connects five clients to a server with `maxclients 3`; returns each
/// one's reply to PING (`None`: closed without one) and the server's
/// `rejected_connections`.
fn connect_past_maxclients(port: u16) -> (Vec<Option<Vec<u8>>>, Option<String>) {
    assert_eq!(
        Client::connect(port).raw(&["CONFIG", "SET", "maxclients", "3"]),
        b"+OK\r\n"
    );
    // Let the configuring connection go before counting.
    std::thread::sleep(Duration::from_millis(200));
    let mut clients: Vec<Client> = (0..5).map(|_| Client::connect(port)).collect();
    let replies = clients
        .iter_mut()
        .map(|client| {
            client.send_raw(b"PING\r\n");
            client.read_raw()
        })
        .collect();
    drop(clients);
    std::thread::sleep(Duration::from_millis(200));
    (replies, info_field(port, "rejected_connections"))
}

#[test]
fn connections_past_maxclients_are_refused_with_redis_error() {
    let pong = Some(b"+PONG\r\n".to_vec());
    let refused = Some(b"-ERR max number of clients reached\r\n".to_vec());
    let expected = (
        vec![pong.clone(), pong.clone(), pong, refused.clone(), refused],
        Some("2".to_string()),
    );
    if let Some(redis) = start_redis("maxclients", &[]) {
        assert_eq!(connect_past_maxclients(redis.port), expected);
    }
    let port = start_replsim(Config::default());
    assert_eq!(connect_past_maxclients(port), expected);
}

/// Size of the value the pipelining client asks for again and again.
const VALUE_BYTES: usize = 100 * 1024;

/// SETs a 100 KB value, then pipelines 1000 GETs of it without reading
/// and waits `wait`; returns how many replies it then reads before the
/// server closes the connection (`None`: the server kept it open), and
/// whether another client is still served.
fn pipeline_gets_without_reading(port: u16, wait: Duration) -> (Option<usize>, bool) {
    let mut client = Client::connect(port);
    let value = vec![b'v'; VALUE_BYTES];
    assert_eq!(client.raw(&[&b"SET"[..], b"big", &value]), b"+OK\r\n");
    let mut request = Vec::new();
    for _ in 0..1000 {
        encode_command(&mut request, &["GET", "big"]);
    }
    client.send_raw(&request);
    std::thread::sleep(wait);
    client
        .stream_mut()
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let mut replies = 0;
    let closed = loop {
        match client.read_raw() {
            Some(_) => replies += 1,
            // EOF or a reset: the server closed it.
            None => break replies < 1000,
        }
        if replies == 1000 {
            break false;
        }
    };
    let served = Client::connect(port).raw(&["PING"]) == b"+PONG\r\n";
    (closed.then_some(replies), served)
}

#[test]
fn a_client_whose_unread_replies_pass_the_normal_hard_limit_is_closed() {
    let limit = "normal 1mb 512kb 0";
    if let Some(redis) = start_redis("output-hard", &["--client-output-buffer-limit", limit]) {
        let (closed_after, served) = pipeline_gets_without_reading(redis.port, Duration::ZERO);
        assert!(closed_after.is_some() && served, "redis: {closed_after:?}");
    }
    let replsim = ReplsimProcess::start(
        "output-hard",
        &["--config", &format!("client-output-buffer-limit={limit}")],
    );
    let (closed_after, served) = pipeline_gets_without_reading(replsim.port, Duration::ZERO);
    assert!(
        closed_after.is_some() && served,
        "replsim: {closed_after:?}"
    );
    let log = replsim.log();
    let line = log
        .lines()
        .find(|l| l.contains("for overcoming of output buffer limits"))
        .expect("the close is logged");
    assert!(
        line.contains(" # Client id=")
            && line.contains(" cmd=get ")
            && line
                .ends_with("scheduled to be closed ASAP for overcoming of output buffer limits."),
        "{line}"
    );
}

#[test]
fn a_client_over_the_normal_soft_limit_for_longer_than_its_seconds_is_closed() {
    let limit = "normal 0 512kb 1";
    if let Some(redis) = start_redis("output-soft", &["--client-output-buffer-limit", limit]) {
        let outcome = pipeline_gets_without_reading(redis.port, Duration::from_millis(2500));
        assert!(outcome.0.is_some() && outcome.1, "redis: {outcome:?}");
    }
    let port = start_replsim(Config {
        normal_output_limit: (0, 512 * 1024, 1),
        ..Config::default()
    });
    let outcome = pipeline_gets_without_reading(port, Duration::from_millis(2500));
    assert!(outcome.0.is_some() && outcome.1, "replsim: {outcome:?}");
}

#[test]
fn without_a_normal_limit_a_slow_reader_gets_every_reply() {
    // Redis's default for normal clients is 0 0 0: no limit.
    assert_eq!(Config::default().normal_output_limit, (0, 0, 0));
    let port = start_replsim(Config::default());
    assert_eq!(
        pipeline_gets_without_reading(port, Duration::from_millis(200)),
        (None, true)
    );
    // A soft limit with the most seconds Redis accepts never runs out.
    let port = start_replsim(Config {
        normal_output_limit: (0, 512 * 1024, i64::MAX as u64),
        ..Config::default()
    });
    assert_eq!(
        pipeline_gets_without_reading(port, Duration::from_millis(200)),
        (None, true)
    );
}

/// CLIENT LIST fields of the client named `name`.
fn client_fields(port: u16, name: &str) -> std::collections::BTreeMap<String, u64> {
    let list = Client::connect(port).cmd(&["CLIENT", "LIST"]);
    let replsim::resp::Frame::Bulk(Some(list)) = list else {
        panic!("CLIENT LIST: {list:?}");
    };
    let list = String::from_utf8(list).unwrap();
    let line = list
        .lines()
        .find(|l| l.contains(&format!(" name={name} ")))
        .unwrap_or_else(|| panic!("no client {name} in {list}"));
    line.split(' ')
        .filter_map(|field| field.split_once('='))
        .filter_map(|(k, v)| Some((k.to_string(), v.parse().ok()?)))
        .collect()
}

/// Bytes a client's buffers hold beyond its pending input (`qbuf-free`,
/// `rbs`, `omem`, as CLIENT LIST reports them).
fn buffer_bytes(port: u16, name: &str) -> u64 {
    let fields = client_fields(port, name);
    fields["qbuf-free"] + fields["rbs"] + fields["omem"]
}

/// One client SETs an 11 MB value, 20 others GET it and read it; returns
/// the largest buffer footprint of the 21 clients once they idled for
/// `idle`.
fn idle_clients_after_large_replies(port: u16, idle: Duration) -> u64 {
    let value = vec![b'x'; 11 * MB];
    let mut writer = Client::connect(port);
    writer.raw(&["CLIENT", "SETNAME", "writer"]);
    assert_eq!(writer.raw(&[&b"SET"[..], b"big", &value]), b"+OK\r\n");
    let readers: Vec<Client> = (0..20)
        .map(|i| {
            let mut reader = Client::connect(port);
            reader.raw(&["CLIENT", "SETNAME", &format!("reader{i}")]);
            assert_eq!(reader.raw(&["GET", "big"]).len(), 11 * MB + 13);
            reader
        })
        .collect();
    std::thread::sleep(idle);
    let largest = (0..20)
        .map(|i| buffer_bytes(port, &format!("reader{i}")))
        .chain([buffer_bytes(port, "writer")])
        .max()
        .unwrap();
    drop((writer, readers));
    largest
}

#[test]
fn idle_clients_give_back_the_buffers_of_a_large_request_or_reply() {
    // Redis trims in its clients cron, within a few seconds.
    if let Some(redis) = start_redis("idle-buffers", &[]) {
        let largest = idle_clients_after_large_replies(redis.port, Duration::from_millis(3500));
        assert!(largest <= 64 * 1024, "redis: {largest}");
    }
    // replsim trims as soon as the request ran and the reply was written.
    let port = start_replsim(Config::default());
    let largest = idle_clients_after_large_replies(port, Duration::from_millis(100));
    assert!(largest <= 64 * 1024, "replsim: {largest}");
}

/// A client blocks in `WAIT 1 0` (no replica will ever acknowledge), sends
/// a PING while it waits, then disconnects. Returns what another client
/// sees while it waits (`blocked_clients`, the waiting client's CLIENT LIST
/// flags and command) and `blocked_clients` and the number of clients once
/// it is gone.
fn wait_forever_then_disconnect(port: u16) -> ((String, String, String), (String, usize)) {
    let mut waiting = Client::connect(port);
    waiting.send_raw(b"WAIT 1 0\r\nPING\r\n");
    std::thread::sleep(Duration::from_millis(300));
    let mut observer = Client::connect(port);
    let waiting_line = || -> String {
        let Frame::Bulk(Some(list)) = Client::connect(port).cmd(&["CLIENT", "LIST"]) else {
            panic!("CLIENT LIST");
        };
        String::from_utf8_lossy(&list)
            .lines()
            .find(|l| l.contains("cmd=wait"))
            .unwrap_or_default()
            .to_string()
    };
    let field = |line: &str, name: &str| -> String {
        line.split(' ')
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .unwrap_or_default()
            .to_string()
    };
    let line = waiting_line();
    let during = (
        info_field(port, "blocked_clients").unwrap_or_default(),
        field(&line, "flags"),
        field(&line, "cmd"),
    );
    drop(waiting);
    std::thread::sleep(Duration::from_millis(300));
    let Frame::Bulk(Some(list)) = observer.cmd(&["CLIENT", "LIST"]) else {
        panic!("CLIENT LIST");
    };
    let after = (
        info_field(port, "blocked_clients").unwrap_or_default(),
        String::from_utf8_lossy(&list).lines().count(),
    );
    (during, after)
}

#[test]
fn a_client_waiting_in_wait_is_blocked_and_goes_as_soon_as_it_disconnects() {
    let expected = (
        ("1".to_string(), "b".to_string(), "wait".to_string()),
        // Only the observer is left.
        ("0".to_string(), 1),
    );
    if let Some(redis) = start_redis("wait-disconnect", &[]) {
        assert_eq!(wait_forever_then_disconnect(redis.port), expected);
    }
    let port = start_replsim(Config::default());
    assert_eq!(wait_forever_then_disconnect(port), expected);
}
