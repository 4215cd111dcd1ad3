//! The server core answers the same RESP exchange over madsim's simulated
//! TCP and over real TCP on loopback, byte for byte, and a simulated run is
//! identical for the same seed.

#![cfg(madsim)]

mod common;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use replsim::resp::{encode_command, Frame, FrameError};
use replsim::runtime::{MemStorage, SimRuntime};
use replsim::server::{Config, Server};

/// The exchange: pipelined commands of every family, an inline command and
/// an error, read back as raw reply bytes.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S) -> Vec<u8> {
    let commands: &[&[&str]] = &[
        &["PING"],
        &["SET", "greeting", "hello"],
        &["GET", "greeting"],
        &["RPUSH", "list", "a", "b", "c"],
        &["LRANGE", "list", "0", "-1"],
        &["HSET", "hash", "f", "v"],
        &["SADD", "set", "1", "2", "3"],
        &["SMEMBERS", "set"],
        &["ZADD", "zset", "1.5", "m"],
        &["ZRANGE", "zset", "0", "-1", "WITHSCORES"],
        &["INCRBYFLOAT", "float", "0.1"],
        &["MULTI"],
        &["INCR", "counter"],
        &["INCR", "counter"],
        &["EXEC"],
        &["GET", "nope", "extra"],
        &["DEBUG", "DIGEST"],
    ];
    let mut request = Vec::new();
    for command in commands {
        encode_command(&mut request, command);
    }
    request.extend_from_slice(b"ECHO inline\r\n");
    stream.write_all(&request).await.unwrap();
    stream.flush().await.unwrap();
    let expected_replies = commands.len() + 1;
    let mut buffer = Vec::new();
    let mut replies = 0;
    let mut parsed = 0;
    while replies < expected_replies {
        match Frame::parse(&buffer[parsed..]) {
            Ok((_, used)) => {
                parsed += used;
                replies += 1;
                continue;
            }
            Err(FrameError::Incomplete) => {}
            Err(e) => panic!("bad reply: {e}"),
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "server closed the connection early");
        buffer.extend_from_slice(&chunk[..n]);
    }
    buffer
}

fn config() -> Config {
    Config {
        bind: "0.0.0.0".into(),
        port: 6379,
        enable_debug_command: "yes".into(),
        ..Config::default()
    }
}

/// Runs the exchange against a simulated node and returns the replies.
fn simulated_exchange(seed: u64) -> Vec<u8> {
    std::thread::spawn(move || {
        let runtime =
            madsim::runtime::Runtime::with_seed_and_config(seed, madsim::Config::default());
        runtime.block_on(async {
            let handle = madsim::runtime::Handle::current();
            let server_ip: IpAddr = "10.0.0.1".parse().unwrap();
            handle
                .create_node()
                .name("m")
                .ip(server_ip)
                .init(|| async {
                    let runtime = SimRuntime::new(
                        "m",
                        7,
                        Arc::new(MemStorage::default()),
                        Arc::new(replsim::log::NullLog),
                        Arc::default(),
                    );
                    Server::new(runtime, config()).run().await.unwrap();
                })
                .build();
            let client = handle
                .create_node()
                .name("client")
                .ip("10.0.0.2".parse().unwrap())
                .build();
            client
                .spawn(async move {
                    // Give the server's init a moment to bind.
                    madsim::time::sleep(std::time::Duration::from_millis(10)).await;
                    let stream = madsim::net::TcpStream::connect(SocketAddr::new(server_ip, 6379))
                        .await
                        .unwrap();
                    exchange(stream).await
                })
                .await
                .unwrap()
        })
    })
    .join()
    .unwrap()
}

#[test]
fn client_talks_resp_to_the_server_over_simulated_tcp_and_real_tcp_alike() {
    let simulated = simulated_exchange(1);
    let port = common::start_replsim(config());
    let real = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async move {
            let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .unwrap();
            exchange(stream).await
        });
    let text = String::from_utf8_lossy(&simulated);
    assert!(
        text.starts_with("+PONG\r\n+OK\r\n$5\r\nhello\r\n:3\r\n"),
        "{text}"
    );
    assert!(
        text.contains("-ERR wrong number of arguments for 'get' command\r\n"),
        "{text}"
    );
    assert!(text.ends_with("$6\r\ninline\r\n"), "{text}");
    assert_eq!(text, String::from_utf8_lossy(&real));
}

#[test]
fn simulated_exchange_is_identical_for_a_seed() {
    assert_eq!(simulated_exchange(42), simulated_exchange(42));
}
