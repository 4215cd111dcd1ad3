//! The simulated world: madsim tasks, clock (with the node's skew from
//! [`SimClocks`]) and network (through [`SimNet`]'s transport), and an
//! in-memory disk owned by the harness (it survives node restarts).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use super::sim_clock::SimClocks;
use super::sim_net::{SimNet, SimStream};
use super::{Listener, Runtime, Storage};

/// What a simulated node is: its name, randomness, disk, log and network.
#[derive(Clone)]
pub struct SimRuntime {
    name: String,
    seed: u64,
    storage: Arc<dyn Storage>,
    logger: Arc<dyn crate::log::LogSink>,
    net: Arc<SimNet>,
    clocks: Arc<SimClocks>,
}

impl SimRuntime {
    /// The runtime of node `name`. Create it inside the node's `init`.
    pub fn new(
        name: &str,
        seed: u64,
        storage: Arc<dyn Storage>,
        logger: Arc<dyn crate::log::LogSink>,
        net: Arc<SimNet>,
    ) -> Self {
        SimRuntime {
            name: name.to_string(),
            seed,
            storage,
            logger,
            net,
            clocks: Arc::default(),
        }
    }

    /// This runtime with its wall clock skewed as `clocks` says for its
    /// node.
    pub fn with_clocks(mut self, clocks: Arc<SimClocks>) -> Self {
        self.clocks = clocks;
        self
    }

    /// Simulated milliseconds since the start of the run (log stamps).
    pub fn elapsed_ms() -> u64 {
        madsim::time::TimeHandle::current().elapsed().as_millis() as u64
    }
}

/// A madsim listening socket whose connections can be cut.
pub struct SimListener {
    inner: madsim::net::TcpListener,
    name: String,
    net: Arc<SimNet>,
}

impl Listener for SimListener {
    type Stream = SimStream;

    async fn accept(&self) -> io::Result<(SimStream, SocketAddr)> {
        let (inner, peer) = self.inner.accept().await?;
        Ok((self.net.stream(&self.name, inner)?, peer))
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

impl Runtime for SimRuntime {
    type Stream = SimStream;
    type Listener = SimListener;

    fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        madsim::task::spawn(task);
    }

    fn local_addr_of(stream: &SimStream) -> Option<SocketAddr> {
        stream.local_addr().ok()
    }

    fn unix_time_ms(&self) -> u64 {
        let true_ms = madsim::time::TimeHandle::current()
            .now_time()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        self.clocks.node_time_ms(&self.name, true_ms)
    }

    fn monotonic(&self) -> Duration {
        madsim::time::TimeHandle::current().elapsed()
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        madsim::time::sleep(duration)
    }

    async fn bind(&self, addr: SocketAddr) -> io::Result<SimListener> {
        Ok(SimListener {
            inner: madsim::net::TcpListener::bind(addr).await?,
            name: self.name.clone(),
            net: self.net.clone(),
        })
    }

    async fn connect(&self, host: &str, port: u16) -> io::Result<SimStream> {
        let peer = self.net.node_named(host);
        self.net.wait_until_reachable(&self.name, &peer).await?;
        let inner = madsim::net::TcpStream::connect((host, port)).await?;
        self.net.stream(&self.name, inner)
    }

    fn rng_seed(&self) -> u64 {
        self.seed
    }

    fn storage(&self) -> Arc<dyn Storage> {
        self.storage.clone()
    }

    fn logger(&self) -> Arc<dyn crate::log::LogSink> {
        self.logger.clone()
    }
}
