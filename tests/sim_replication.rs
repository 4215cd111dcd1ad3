//! Replication inside madsim: a master, a replica and a chained sub-replica
//! on simulated nodes converge to the same dataset, and the run (data and
//! log) is identical for a seed.

#![cfg(madsim)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use replsim::digest::{dataset_digest, to_hex};
use replsim::log::SharedSimLog;
use replsim::resp::encode_command;
use replsim::runtime::SimRuntime;
use replsim::server::Server;

type Slot = Arc<Mutex<Option<Server<SimRuntime>>>>;

fn spawn_node(
    handle: &madsim::runtime::Handle,
    name: &str,
    ip: &str,
    seed: u64,
    replicaof: Option<&str>,
    log: SharedSimLog,
) -> Slot {
    let slot: Slot = Arc::new(Mutex::new(None));
    common::sim::spawn_node(handle, name, ip, seed, replicaof, log, slot.clone());
    slot
}

fn digest_of(slot: &Slot) -> (String, u64) {
    let server = slot.lock().unwrap().clone().expect("node started");
    let state = server.state();
    (to_hex(&dataset_digest(&state.keyspace)), state.repl.offset)
}

/// Runs the scenario for `seed`; returns each node's digest and offset, and
/// the whole log.
fn run(seed: u64) -> (Vec<(String, u64)>, Vec<String>) {
    std::thread::spawn(move || {
        let runtime =
            madsim::runtime::Runtime::with_seed_and_config(seed, madsim::Config::default());
        runtime.block_on(async move {
            let handle = madsim::runtime::Handle::current();
            let log: SharedSimLog = Arc::default();
            let m = spawn_node(&handle, "m", "10.0.0.1", 1, None, log.clone());
            let r1 = spawn_node(&handle, "r1", "10.0.0.2", 2, Some("10.0.0.1"), log.clone());
            let r2 = spawn_node(&handle, "r2", "10.0.0.3", 3, Some("10.0.0.2"), log.clone());
            let client = handle
                .create_node()
                .name("client")
                .ip("10.0.0.9".parse().unwrap())
                .build();
            client
                .spawn(async move {
                    madsim::time::sleep(Duration::from_millis(50)).await;
                    let mut stream = madsim::net::TcpStream::connect(("10.0.0.1", 6379))
                        .await
                        .unwrap();
                    for i in 0..200 {
                        let mut request = Vec::new();
                        let key = format!("key:{}", i % 37);
                        encode_command(&mut request, &["INCR", &key]);
                        encode_command(&mut request, &["RPUSH", "list", &i.to_string()]);
                        encode_command(
                            &mut request,
                            &["SET", &format!("ttl:{i}"), "v", "EX", "1000"],
                        );
                        stream.write_all(&request).await.unwrap();
                        stream.flush().await.unwrap();
                        let mut reply = [0u8; 256];
                        let _ = stream.read(&mut reply).await.unwrap();
                        madsim::time::sleep(Duration::from_millis(20)).await;
                    }
                })
                .await
                .unwrap();
            // Let the chain drain.
            madsim::time::sleep(Duration::from_secs(5)).await;
            let lines = log.lock().unwrap().iter().map(|l| l.to_string()).collect();
            (vec![digest_of(&m), digest_of(&r1), digest_of(&r2)], lines)
        })
    })
    .join()
    .unwrap()
}

#[test]
fn master_replica_and_chained_replica_converge_in_simulation() {
    let (nodes, log) = run(7);
    if std::env::var("SHOW_LOG").is_ok() {
        eprintln!("{}", log.join("\n"));
    }
    assert_ne!(nodes[0].0, "0".repeat(40), "the master holds data");
    assert_eq!(
        nodes[0],
        nodes[1],
        "r1 equals m (digest, offset)\n{}",
        log.join("\n")
    );
    assert_eq!(
        nodes[0],
        nodes[2],
        "r2 equals m (digest, offset)\n{}",
        log.join("\n")
    );
    let text = log.join("\n");
    assert!(text.contains("r1 S * Full resync from master: "), "{text}");
    assert!(text.contains("r2 S * Full resync from master: "), "{text}");
    assert!(
        text.contains("m M * Synchronization with replica 10.0.0.2:6379 succeeded"),
        "{text}"
    );
}

#[test]
fn a_simulated_replication_run_is_identical_for_a_seed() {
    assert_eq!(run(11), run(11));
}
