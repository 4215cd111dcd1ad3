//! Client limits on real TCP, each checked against a real redis-server 7.0
//! when one is installed: `client-query-buffer-limit` closes a client whose
//! argument in flight outgrows it (nothing of that command is applied or
//! propagated), and `maxclients` refuses connections past the limit.

mod common;

use std::time::Duration;

use common::{info_field, start_redis, start_replsim, wait_in_sync, Client};
use replsim::resp::encode_command;
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
