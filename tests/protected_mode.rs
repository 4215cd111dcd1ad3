//! Protected mode on real TCP (`replsim serve`), against a real
//! redis-server 7.0 when one is installed: with `protected-mode yes` (the
//! default) and no password, a client that connects from an address other
//! than 127.0.0.1 or ::1 gets Redis's long `-DENIED` error and is closed;
//! loopback clients are served, and `CONFIG SET protected-mode no` or a
//! password lets the outside in.
//!
//! The outside client connects to the machine's own non-loopback address
//! (found through the default route), so its peer address is that one;
//! without such an address the test is skipped with a note.

mod common;

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::time::Duration;

use common::{start_redis, Client, ReplsimProcess};

/// This machine's address on its default route (no packet is sent: a UDP
/// "connect" only picks the source address).
fn outside_ip() -> Option<IpAddr> {
    let socket = UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

/// Connects from `ip` to `ip:port`. A refused client is told why at once,
/// so what comes unasked is returned; otherwise PING is sent and its reply
/// returned. (Writing to a connection Redis closes unread would reset it
/// and lose the message, hence waiting first.)
fn exchange_from(ip: IpAddr, port: u16) -> Vec<u8> {
    let mut stream = TcpStream::connect(SocketAddr::new(ip, port)).expect("connect");
    let unasked = read_until_quiet(&mut stream, Duration::from_millis(300));
    if !unasked.is_empty() {
        return unasked;
    }
    stream.write_all(b"PING\r\n").expect("send PING");
    read_until_quiet(&mut stream, Duration::from_secs(1))
}

/// Everything read until the peer closes or is quiet for `quiet`.
fn read_until_quiet(stream: &mut TcpStream, quiet: Duration) -> Vec<u8> {
    stream.set_read_timeout(Some(quiet)).unwrap();
    let mut reply = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => reply.extend_from_slice(&chunk[..n]),
        }
    }
    reply
}

/// Returns what an outside client gets before and after `CONFIG SET
/// protected-mode no` (sent from loopback), and the server's
/// `rejected_connections`.
fn outside_then_unprotected(ip: IpAddr, port: u16) -> (Vec<u8>, Vec<u8>, String) {
    let denied = exchange_from(ip, port);
    let local = Client::connect(port).raw(&["PING"]);
    assert_eq!(local, b"+PONG\r\n", "loopback clients are served");
    let rejected = common::info_field(port, "rejected_connections").unwrap_or_default();
    assert_eq!(
        Client::connect(port).raw(&["CONFIG", "SET", "protected-mode", "no"]),
        b"+OK\r\n"
    );
    (denied, exchange_from(ip, port), rejected)
}

const DENIED_START: &[u8] = b"-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user.";

#[test]
fn protected_mode_denies_clients_from_outside_loopback_with_redis_error() {
    let Some(ip) = outside_ip() else {
        eprintln!("protected mode: skipped, this machine has no non-loopback address");
        return;
    };
    let redis_result = start_redis("protected", &["--bind", "0.0.0.0"])
        .map(|redis| outside_then_unprotected(ip, redis.port));
    let replsim = ReplsimProcess::start("protected", &["--bind", "0.0.0.0"]);
    let (denied, after, rejected) = outside_then_unprotected(ip, replsim.port);
    assert!(
        denied.starts_with(DENIED_START),
        "{}",
        String::from_utf8_lossy(&denied)
    );
    assert!(denied.ends_with(b"accepting connections from the outside.\r\n"));
    assert_eq!(after, b"+PONG\r\n");
    assert_eq!(rejected, "1");
    if let Some(theirs) = redis_result {
        assert_eq!(
            String::from_utf8_lossy(&theirs.0),
            String::from_utf8_lossy(&denied),
            "the DENIED text is Redis's, byte for byte"
        );
        assert_eq!((theirs.1, theirs.2), (after, rejected));
    }
}

#[test]
fn a_password_lets_outside_clients_in_despite_protected_mode() {
    let Some(ip) = outside_ip() else {
        eprintln!("protected mode: skipped, this machine has no non-loopback address");
        return;
    };
    let replsim = ReplsimProcess::start(
        "protected-password",
        &["--bind", "0.0.0.0", "--config", "requirepass=secret"],
    );
    assert_eq!(
        exchange_from(ip, replsim.port),
        b"-NOAUTH Authentication required.\r\n"
    );
}
