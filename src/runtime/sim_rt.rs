//! The simulated world: madsim tasks, clock and network, and an in-memory
//! disk owned by the harness so that it survives node restarts.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use super::{Listener, Runtime, Storage};

/// The runtime of one simulated node. Create it inside the node's `init`.
#[derive(Clone)]
pub struct SimRuntime {
    seed: u64,
    storage: Arc<dyn Storage>,
    logger: Arc<dyn crate::log::LogSink>,
}

impl SimRuntime {
    /// A node runtime with its own random seed, its disk and its log.
    pub fn new(seed: u64, storage: Arc<dyn Storage>, logger: Arc<dyn crate::log::LogSink>) -> Self {
        SimRuntime {
            seed,
            storage,
            logger,
        }
    }

    /// Simulated milliseconds since the start of the run (log stamps).
    pub fn elapsed_ms() -> u64 {
        madsim::time::TimeHandle::current().elapsed().as_millis() as u64
    }
}

/// A madsim listening socket.
pub struct SimListener(madsim::net::TcpListener);

impl Listener for SimListener {
    type Stream = madsim::net::TcpStream;

    async fn accept(&self) -> io::Result<(Self::Stream, SocketAddr)> {
        self.0.accept().await
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

impl Runtime for SimRuntime {
    type Stream = madsim::net::TcpStream;
    type Listener = SimListener;

    fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        madsim::task::spawn(task);
    }

    fn unix_time_ms(&self) -> u64 {
        madsim::time::TimeHandle::current()
            .now_time()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }

    fn monotonic(&self) -> Duration {
        madsim::time::TimeHandle::current().elapsed()
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        madsim::time::sleep(duration)
    }

    async fn bind(&self, addr: SocketAddr) -> io::Result<SimListener> {
        Ok(SimListener(madsim::net::TcpListener::bind(addr).await?))
    }

    async fn connect(&self, host: &str, port: u16) -> io::Result<madsim::net::TcpStream> {
        madsim::net::TcpStream::connect((host, port)).await
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
