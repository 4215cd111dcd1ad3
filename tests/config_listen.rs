//! CONFIG SET of `port` and `bind` on real TCP, against a real
//! redis-server 7.0 when one is installed: the node listens on the new
//! port and no longer on the old one; a port in use is refused with
//! Redis's error and leaves every parameter of the command as it was;
//! setting the address it already has changes nothing. After SHUTDOWN the
//! node no longer listens by the time its client's connection closes.

mod common;

use std::net::TcpStream;

use common::{free_port, start_redis, start_replsim, Client};
use replsim::server::Config;

/// What the node answers while its port moves; the replies name no port.
fn moves(port: u16) -> Vec<String> {
    let mut replies = Vec::new();
    let mut client = Client::connect(port);
    let mut note = |reply: Vec<u8>| replies.push(String::from_utf8_lossy(&reply).into_owned());
    note(client.raw(&["CONFIG", "SET", "bind", "127.0.0.1"]));
    note(client.raw(&["CONFIG", "SET", "port", &port.to_string()]));
    // A port in use: refused, and the other parameter is left alone too.
    let busy = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let busy_port = busy.local_addr().unwrap().port().to_string();
    note(client.raw(&[
        "CONFIG",
        "SET",
        "client-query-buffer-limit",
        "10mb",
        "port",
        &busy_port,
    ]));
    note(client.raw(&["CONFIG", "GET", "client-query-buffer-limit"]));
    let current = client.cmd(&["CONFIG", "GET", "port"]);
    assert_eq!(
        current,
        replsim::resp::Frame::Array(Some(vec![
            replsim::resp::Frame::Bulk(Some(b"port".to_vec())),
            replsim::resp::Frame::Bulk(Some(port.to_string().into_bytes())),
        ]))
    );
    note(client.raw(&["CONFIG", "SET", "port", "65536"]));
    // A free port: the node moves there.
    let next = free_port();
    note(client.raw(&["CONFIG", "SET", "port", &next.to_string()]));
    common::wait_until(5, "the old port to refuse connections", || {
        TcpStream::connect(("127.0.0.1", port)).is_err()
    });
    let mut moved = Client::connect(next);
    note(moved.raw(&["PING"]));
    // The connection made before the move is still served.
    note(client.raw(&["PING"]));
    moved.send(&["SHUTDOWN", "NOSAVE"]);
    assert_eq!(moved.read_raw(), None);
    // Its connection closed only once the node stopped listening: a client
    // reconnecting at once is refused, as after Redis's exit.
    assert!(
        TcpStream::connect(("127.0.0.1", next)).is_err(),
        "still listening after SHUTDOWN closed the connection"
    );
    replies
}

#[test]
fn config_set_port_moves_the_listener_and_a_port_in_use_changes_nothing() {
    let expected = vec![
        "+OK\r\n",
        "+OK\r\n",
        "-ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port. Check server logs.\r\n",
        "*2\r\n$25\r\nclient-query-buffer-limit\r\n$10\r\n1073741824\r\n",
        "-ERR CONFIG SET failed (possibly related to argument 'port') - argument must be between 0 and 65535 inclusive\r\n",
        "+OK\r\n",
        "+PONG\r\n",
        "+PONG\r\n",
    ];
    if let Some(redis) = start_redis("config-listen", &[]) {
        assert_eq!(moves(redis.port), expected);
    }
    let port = start_replsim(Config::default());
    assert_eq!(moves(port), expected);
}
