//! Pub/sub inside madsim, through replication: subscribers on a replica
//! and on a chained sub-replica receive what is PUBLISHed on the master
//! (PUBLISH travels in the replication stream), in order, and keyspace
//! events of replicated writes on the replica; the run is identical for a
//! seed.

#![cfg(madsim)]

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use replsim::log::{SharedSimLog, SimLog};
use replsim::resp::{encode_command, Frame, FrameError};
use replsim::runtime::{MemStorage, SimRuntime};
use replsim::server::{Config, Server};

fn spawn_node(
    handle: &madsim::runtime::Handle,
    name: &str,
    ip: &str,
    replicaof: Option<&str>,
    log: SharedSimLog,
) {
    let name_owned = name.to_string();
    let replicaof = replicaof.map(|m| (m.to_string(), 6379));
    handle
        .create_node()
        .name(name)
        .ip(ip.parse::<IpAddr>().unwrap())
        .init(move || {
            let logger = Arc::new(SimLog::new(
                name_owned.clone(),
                log.clone(),
                SimRuntime::elapsed_ms,
            ));
            let config = Config {
                bind: "0.0.0.0".into(),
                port: 6379,
                replicaof: replicaof.clone(),
                repl_diskless_sync_delay: 1,
                ..Config::default()
            };
            let node_name = name_owned.clone();
            async move {
                let runtime = SimRuntime::new(
                    &node_name,
                    1,
                    Arc::new(MemStorage::default()),
                    logger,
                    Arc::default(),
                );
                Server::new(runtime, config).run().await.unwrap();
            }
        })
        .build();
}

/// A RESP connection inside the simulation.
struct SimClient {
    stream: madsim::net::TcpStream,
    buffer: Vec<u8>,
}

impl SimClient {
    async fn connect(ip: &str) -> SimClient {
        SimClient {
            stream: madsim::net::TcpStream::connect((ip, 6379)).await.unwrap(),
            buffer: Vec::new(),
        }
    }

    async fn send(&mut self, args: &[&str]) {
        let mut request = Vec::new();
        encode_command(&mut request, args);
        self.stream.write_all(&request).await.unwrap();
        self.stream.flush().await.unwrap();
    }

    /// The next frame, as raw bytes.
    async fn frame(&mut self) -> Vec<u8> {
        loop {
            match Frame::parse(&self.buffer) {
                Ok((_, used)) => return self.buffer.drain(..used).collect(),
                Err(FrameError::Incomplete) => {}
                Err(error) => panic!("bad frame: {error}"),
            }
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "server closed the connection");
            self.buffer.extend_from_slice(&chunk[..n]);
        }
    }

    async fn command(&mut self, args: &[&str]) -> Vec<u8> {
        self.send(args).await;
        self.frame().await
    }
}

fn message(channel: &str, payload: &str) -> Vec<u8> {
    format!(
        "*3\r\n$7\r\nmessage\r\n${}\r\n{channel}\r\n${}\r\n{payload}\r\n",
        channel.len(),
        payload.len()
    )
    .into_bytes()
}

fn pattern_message(pattern: &str, channel: &str, payload: &str) -> Vec<u8> {
    format!(
        "*4\r\n$8\r\npmessage\r\n${}\r\n{pattern}\r\n${}\r\n{channel}\r\n${}\r\n{payload}\r\n",
        pattern.len(),
        channel.len(),
        payload.len()
    )
    .into_bytes()
}

const MESSAGES: usize = 50;

/// Subscribes on `ip`, then collects every frame the master's traffic
/// brings it: the messages in order, each channel message before the
/// pattern one, then the keyspace events of the replicated writes.
async fn subscriber(ip: &'static str) -> Frames {
    let mut admin = SimClient::connect(ip).await;
    assert_eq!(
        admin
            .command(&["CONFIG", "SET", "notify-keyspace-events", "KA"])
            .await,
        b"+OK\r\n"
    );
    let mut client = SimClient::connect(ip).await;
    client.send(&["SUBSCRIBE", "news"]).await;
    client.frame().await;
    client.send(&["PSUBSCRIBE", "n*", "__keyspace@0__:*"]).await;
    client.frame().await;
    client.frame().await;
    let mut received = Vec::new();
    // Two frames per message, then SET's and DEL's events.
    for _ in 0..MESSAGES * 2 + 2 {
        received.push(client.frame().await);
    }
    received
}

/// Frames as raw bytes, in the order read.
type Frames = Vec<Vec<u8>>;

/// Runs the scenario for `seed`: what the subscribers on r1 and r2
/// received, and the replies the master's publisher got.
fn run(seed: u64) -> (Frames, Frames, Frames) {
    std::thread::spawn(move || {
        let runtime =
            madsim::runtime::Runtime::with_seed_and_config(seed, madsim::Config::default());
        runtime.block_on(async move {
            let handle = madsim::runtime::Handle::current();
            let log: SharedSimLog = Arc::default();
            spawn_node(&handle, "m", "10.0.0.1", None, log.clone());
            spawn_node(&handle, "r1", "10.0.0.2", Some("10.0.0.1"), log.clone());
            spawn_node(&handle, "r2", "10.0.0.3", Some("10.0.0.2"), log.clone());
            let clients = handle
                .create_node()
                .name("clients")
                .ip("10.0.0.9".parse().unwrap())
                .build();
            // Let the replicas sync before anyone subscribes.
            madsim::time::sleep(Duration::from_secs(3)).await;
            let on_r1 = clients.spawn(subscriber("10.0.0.2"));
            let on_r2 = clients.spawn(subscriber("10.0.0.3"));
            let publisher = clients.spawn(async {
                madsim::time::sleep(Duration::from_millis(200)).await;
                let mut master = SimClient::connect("10.0.0.1").await;
                let mut replies = Vec::new();
                for i in 0..MESSAGES {
                    let payload = format!("update {i}");
                    replies.push(master.command(&["PUBLISH", "news", &payload]).await);
                }
                replies.push(master.command(&["SET", "k", "v"]).await);
                replies.push(master.command(&["DEL", "k"]).await);
                replies
            });
            let published = publisher.await.unwrap();
            let timeout = Duration::from_secs(30);
            let r1 = madsim::time::timeout(timeout, on_r1)
                .await
                .expect("r1's subscriber got everything")
                .unwrap();
            let r2 = madsim::time::timeout(timeout, on_r2)
                .await
                .expect("r2's subscriber got everything")
                .unwrap();
            (r1, r2, published)
        })
    })
    .join()
    .unwrap()
}

#[test]
fn subscribers_on_replicas_receive_what_the_master_publishes() {
    let (r1, r2, published) = run(5);
    let mut expected = Vec::new();
    for i in 0..MESSAGES {
        let payload = format!("update {i}");
        expected.push(message("news", &payload));
        expected.push(pattern_message("n*", "news", &payload));
    }
    expected.push(pattern_message(
        "__keyspace@0__:*",
        "__keyspace@0__:k",
        "set",
    ));
    expected.push(pattern_message(
        "__keyspace@0__:*",
        "__keyspace@0__:k",
        "del",
    ));
    assert_eq!(r1, expected, "subscriber on r1");
    assert_eq!(r2, expected, "subscriber on r2 (a replica of r1)");
    // The master has no subscribers: each PUBLISH reached nobody there.
    assert!(published[..MESSAGES].iter().all(|reply| reply == b":0\r\n"));
}

#[test]
fn a_simulated_pubsub_run_is_identical_for_a_seed() {
    assert_eq!(run(9), run(9));
}
