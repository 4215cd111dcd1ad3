//! Stream reads inside madsim: XREAD BLOCK times out on simulated time
//! (to the millisecond it was given), an XREADGROUP blocked on the master
//! is served by another client's XADD and the replica converges on the
//! group because the master propagated the XCLAIM of what it delivered,
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

fn state_of(slot: &Slot) -> (String, u64, bool) {
    let server = slot.lock().unwrap().clone().expect("node started");
    let state = server.state();
    (
        to_hex(&dataset_digest(&state.keyspace)),
        state.repl.offset,
        state.keyspace.db(0).get(b"s").map(|e| &e.value).is_some(),
    )
}

#[derive(Debug, PartialEq)]
struct Outcome {
    /// XREAD BLOCK 1500 on a stream nobody writes: reply, simulated ms.
    timeout: (Vec<u8>, u128),
    /// XREAD BLOCK 0 with `$`: reply, simulated ms (served by the XADD).
    reader: (Vec<u8>, u128),
    /// XREADGROUP BLOCK 0 with `>`: reply.
    group_reader: Vec<u8>,
    /// XPENDING on the replica once it caught up.
    replica_pending: Vec<u8>,
    /// Master and replica: digest, offset, whether the stream exists.
    nodes: Vec<(String, u64, bool)>,
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
                log,
                r1.clone(),
            );
            let clients = handle
                .create_node()
                .name("clients")
                .ip("10.0.0.9".parse().unwrap())
                .build();
            madsim::time::sleep(Duration::from_secs(3)).await;
            clients
                .spawn(async {
                    let mut client = SimClient::connect("10.0.0.1").await;
                    client
                        .command(&["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"])
                        .await;
                })
                .await
                .unwrap();
            let waiter = clients.spawn(async {
                let mut client = SimClient::connect("10.0.0.1").await;
                let start = madsim::time::Instant::now();
                let reply = client
                    .command(&["XREAD", "BLOCK", "1500", "STREAMS", "quiet", "$"])
                    .await;
                (reply, start.elapsed().as_millis())
            });
            let reader = clients.spawn(async {
                let mut client = SimClient::connect("10.0.0.1").await;
                let start = madsim::time::Instant::now();
                let reply = client
                    .command(&["XREAD", "BLOCK", "0", "STREAMS", "s", "$"])
                    .await;
                (reply, start.elapsed().as_millis())
            });
            let group_reader = clients.spawn(async {
                let mut client = SimClient::connect("10.0.0.1").await;
                client
                    .command(&[
                        "XREADGROUP",
                        "GROUP",
                        "g",
                        "c",
                        "BLOCK",
                        "0",
                        "STREAMS",
                        "s",
                        ">",
                    ])
                    .await
            });
            clients
                .spawn(async {
                    madsim::time::sleep(Duration::from_secs(1)).await;
                    let mut client = SimClient::connect("10.0.0.1").await;
                    client.command(&["XADD", "s", "5-1", "k", "v"]).await;
                })
                .await
                .unwrap();
            let reader = reader.await.unwrap();
            let group_reader = group_reader.await.unwrap();
            let timeout = waiter.await.unwrap();
            madsim::time::sleep(Duration::from_secs(2)).await;
            let replica_pending = clients
                .spawn(async {
                    let mut replica = SimClient::connect("10.0.0.2").await;
                    replica.command(&["XPENDING", "s", "g"]).await
                })
                .await
                .unwrap();
            Outcome {
                timeout,
                reader,
                group_reader,
                replica_pending,
                nodes: vec![state_of(&m), state_of(&r1)],
            }
        })
    })
    .join()
    .unwrap()
}

#[test]
fn blocking_xread_times_out_in_simulated_time_and_group_reads_converge() {
    let outcome = run(5);
    assert_eq!(outcome.timeout.0, b"*-1\r\n");
    assert!(
        (1500..1600).contains(&outcome.timeout.1),
        "timed out after 1.5 simulated seconds: {} ms",
        outcome.timeout.1
    );
    let served = b"*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n5-1\r\n*2\r\n$1\r\nk\r\n$1\r\nv\r\n";
    assert_eq!(outcome.reader.0, served);
    assert!(
        (1000..1100).contains(&outcome.reader.1),
        "served when the XADD came, after about 1 s: {} ms",
        outcome.reader.1
    );
    assert_eq!(outcome.group_reader, served);
    assert_eq!(
        outcome.replica_pending,
        b"*4\r\n:1\r\n$3\r\n5-1\r\n$3\r\n5-1\r\n*1\r\n*2\r\n$1\r\nc\r\n$1\r\n1\r\n"
    );
    assert_eq!(outcome.nodes[0], outcome.nodes[1], "replica equals master");
    assert!(outcome.nodes[0].2);
}

#[test]
fn a_simulated_stream_run_is_identical_for_a_seed() {
    assert_eq!(run(9), run(9));
}
