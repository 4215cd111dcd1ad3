//! Blocking pops inside madsim: a BLMOVE blocked on the master is served
//! by another client's push, the replica converges because the master
//! propagated the LMOVE it served, a BLPOP times out on simulated time,
//! and the run is identical for a seed.

#![cfg(madsim)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::sim::{spawn_node, SimClient};
use replsim::digest::{dataset_digest, to_hex};
use replsim::log::SharedSimLog;
use replsim::runtime::SimRuntime;
use replsim::server::Server;

type Slot = Arc<Mutex<Option<Server<SimRuntime>>>>;

fn digest_of(slot: &Slot) -> (String, u64) {
    let server = slot.lock().unwrap().clone().expect("node started");
    let state = server.state();
    (to_hex(&dataset_digest(&state.keyspace)), state.repl.offset)
}

/// What one run observed.
#[derive(Debug, PartialEq)]
struct Outcome {
    /// BLMOVE's reply and the simulated ms it waited.
    blmove: (Vec<u8>, u128),
    /// BLPOP's timeout reply and the simulated ms it waited.
    blpop: (Vec<u8>, u128),
    /// The two clients blocked on one key, in the order they were served.
    fifo: Vec<Vec<u8>>,
    /// Master and replica: dataset digest and offset.
    nodes: Vec<(String, u64)>,
    /// The destination list as the replica holds it.
    replica_dst: Vec<u8>,
}

fn run(seed: u64) -> Outcome {
    std::thread::spawn(move || {
        let runtime =
            madsim::runtime::Runtime::with_seed_and_config(seed, madsim::Config::default());
        runtime.block_on(async move {
            let handle = madsim::runtime::Handle::current();
            let log: SharedSimLog = Arc::default();
            let (m, r1): (Slot, Slot) = (Arc::default(), Arc::default());
            spawn_node(&handle, "m", "10.0.0.1", 1, None, log.clone(), m.clone());
            spawn_node(
                &handle,
                "r1",
                "10.0.0.2",
                1,
                Some("10.0.0.1"),
                log.clone(),
                r1.clone(),
            );
            let clients = handle
                .create_node()
                .name("clients")
                .ip("10.0.0.9".parse().unwrap())
                .build();
            madsim::time::sleep(Duration::from_secs(3)).await;
            let mover = clients.spawn(async {
                let mut client = SimClient::connect("10.0.0.1").await;
                let start = madsim::time::Instant::now();
                let reply = client
                    .command(&["BLMOVE", "jobs", "taken", "LEFT", "RIGHT", "0"])
                    .await;
                (reply, start.elapsed().as_millis())
            });
            let waiter = clients.spawn(async {
                let mut client = SimClient::connect("10.0.0.1").await;
                let start = madsim::time::Instant::now();
                let reply = client.command(&["BLPOP", "never", "2.5"]).await;
                (reply, start.elapsed().as_millis())
            });
            let first = clients.spawn(async {
                let mut client = SimClient::connect("10.0.0.1").await;
                client.command(&["BRPOP", "queue", "0"]).await
            });
            let second = clients.spawn(async {
                madsim::time::sleep(Duration::from_millis(300)).await;
                let mut client = SimClient::connect("10.0.0.1").await;
                client.command(&["BRPOP", "queue", "0"]).await
            });
            let pusher = clients.spawn(async {
                madsim::time::sleep(Duration::from_secs(1)).await;
                let mut client = SimClient::connect("10.0.0.1").await;
                client.command(&["RPUSH", "jobs", "job-1", "job-2"]).await;
                client.command(&["RPUSH", "queue", "x", "y"]).await;
            });
            pusher.await.unwrap();
            let blmove = mover.await.unwrap();
            let fifo = vec![first.await.unwrap(), second.await.unwrap()];
            let blpop = waiter.await.unwrap();
            madsim::time::sleep(Duration::from_secs(2)).await;
            let replica_dst = clients
                .spawn(async {
                    let mut replica = SimClient::connect("10.0.0.2").await;
                    replica.command(&["LRANGE", "taken", "0", "-1"]).await
                })
                .await
                .unwrap();
            Outcome {
                blmove,
                blpop,
                fifo,
                nodes: vec![digest_of(&m), digest_of(&r1)],
                replica_dst,
            }
        })
    })
    .join()
    .unwrap()
}

#[test]
fn a_blocked_blmove_served_on_the_master_converges_on_the_replica() {
    let outcome = run(3);
    assert_eq!(outcome.blmove.0, b"$5\r\njob-1\r\n");
    assert!(
        (1000..1100).contains(&outcome.blmove.1),
        "served when the push came, after about 1 s: {} ms",
        outcome.blmove.1
    );
    assert_eq!(outcome.replica_dst, b"*1\r\n$5\r\njob-1\r\n");
    assert_eq!(
        outcome.nodes[0], outcome.nodes[1],
        "replica equals master (digest, offset)"
    );
    assert_eq!(
        outcome.fifo,
        vec![
            b"*2\r\n$5\r\nqueue\r\n$1\r\ny\r\n".to_vec(),
            b"*2\r\n$5\r\nqueue\r\n$1\r\nx\r\n".to_vec(),
        ],
        "first blocked, first served"
    );
    assert_eq!(outcome.blpop.0, b"*-1\r\n");
    assert!(
        (2500..2600).contains(&outcome.blpop.1),
        "timed out after 2.5 simulated seconds: {} ms",
        outcome.blpop.1
    );
}

#[test]
fn a_simulated_blocking_run_is_identical_for_a_seed() {
    assert_eq!(run(8), run(8));
}
