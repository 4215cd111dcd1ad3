//! Pub/sub inside madsim, through replication: subscribers on a replica
//! and on a chained sub-replica receive what is PUBLISHed on the master
//! (PUBLISH travels in the replication stream), in order, and keyspace
//! events of replicated writes on the replica; the run is identical for a
//! seed.

#![cfg(madsim)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::sim::{spawn_node, SimClient};
use replsim::log::SharedSimLog;

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
            spawn_node(
                &handle,
                "m",
                "10.0.0.1",
                1,
                None,
                log.clone(),
                Default::default(),
            );
            spawn_node(
                &handle,
                "r1",
                "10.0.0.2",
                1,
                Some("10.0.0.1"),
                log.clone(),
                Default::default(),
            );
            spawn_node(
                &handle,
                "r2",
                "10.0.0.3",
                1,
                Some("10.0.0.2"),
                log.clone(),
                Default::default(),
            );
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
