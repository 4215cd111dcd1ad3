//! Simulation helpers shared by the madsim tests: a node running replsim
//! on a simulated host, and a RESP client inside the simulation.

use std::net::IpAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use replsim::log::{SharedSimLog, SimLog};
use replsim::resp::{encode_command, Frame, FrameError};
use replsim::runtime::{MemStorage, SimRuntime};
use replsim::server::{Config, Server};

/// Starts a node named `name` at `ip`, port 6379, with runtime seed
/// `seed`, replicating from `replicaof` when given; `slot` receives its
/// server once it runs.
pub fn spawn_node(
    handle: &madsim::runtime::Handle,
    name: &str,
    ip: &str,
    seed: u64,
    replicaof: Option<&str>,
    log: SharedSimLog,
    slot: Arc<std::sync::Mutex<Option<Server<SimRuntime>>>>,
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
            let slot = slot.clone();
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
                    seed,
                    Arc::new(MemStorage::default()),
                    logger,
                    Arc::default(),
                );
                let server = Server::new(runtime, config);
                *slot.lock().unwrap() = Some(server.clone());
                server.run().await.unwrap();
            }
        })
        .build();
}

/// A RESP connection inside the simulation.
pub struct SimClient {
    stream: madsim::net::TcpStream,
    buffer: Vec<u8>,
}

impl SimClient {
    pub async fn connect(ip: &str) -> SimClient {
        SimClient {
            stream: madsim::net::TcpStream::connect((ip, 6379)).await.unwrap(),
            buffer: Vec::new(),
        }
    }

    pub async fn send(&mut self, args: &[&str]) {
        let mut request = Vec::new();
        encode_command(&mut request, args);
        self.stream.write_all(&request).await.unwrap();
        self.stream.flush().await.unwrap();
    }

    /// The next frame, as raw bytes.
    pub async fn frame(&mut self) -> Vec<u8> {
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

    pub async fn command(&mut self, args: &[&str]) -> Vec<u8> {
        self.send(args).await;
        self.frame().await
    }
}
