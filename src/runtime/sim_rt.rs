//! The simulated world: madsim tasks, clock and network, an in-memory disk
//! owned by the harness (it survives node restarts), and a transport
//! wrapper that lets the harness cut the connections between two nodes.
//!
//! madsim cannot close one established connection from outside, so every
//! stream a node opens or accepts is registered under the pair of node names
//! it joins; [`SimNet::cut`] marks both ends broken, and their next read or
//! write fails, exactly as a reset TCP connection would.

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, UNIX_EPOCH};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::{Listener, Runtime, Storage};

/// The broken flag of one connection end, with the tasks waiting on it.
#[derive(Debug, Default)]
pub struct CutSignal {
    cut: AtomicBool,
    wakers: Mutex<Vec<Waker>>,
}

impl CutSignal {
    fn is_cut(&self) -> bool {
        self.cut.load(Ordering::SeqCst)
    }

    fn register(&self, waker: &Waker) {
        let mut wakers = self.wakers.lock().unwrap_or_else(|p| p.into_inner());
        if !wakers.iter().any(|w| w.will_wake(waker)) {
            wakers.push(waker.clone());
        }
    }

    fn trigger(&self) {
        self.cut.store(true, Ordering::SeqCst);
        let wakers = std::mem::take(&mut *self.wakers.lock().unwrap_or_else(|p| p.into_inner()));
        for waker in wakers {
            waker.wake();
        }
    }
}

/// Live connection ends by the (ordered) pair of node names they join.
type ConnectionsByPair = BTreeMap<(String, String), Vec<Weak<CutSignal>>>;

/// The harness's view of the simulated network: which IP is which node, and
/// every live connection by the pair of nodes it joins.
#[derive(Debug, Default)]
pub struct SimNet {
    names: Mutex<BTreeMap<IpAddr, String>>,
    connections: Mutex<ConnectionsByPair>,
}

fn pair(a: &str, b: &str) -> (String, String) {
    if a <= b {
        (a.to_string(), b.to_string())
    } else {
        (b.to_string(), a.to_string())
    }
}

impl SimNet {
    /// Names the node at `ip`.
    pub fn add_node(&self, ip: IpAddr, name: &str) {
        self.names
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(ip, name.to_string());
    }

    fn name_of(&self, ip: IpAddr) -> String {
        self.names
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&ip)
            .cloned()
            .unwrap_or_else(|| ip.to_string())
    }

    fn register(&self, local: &str, peer: &str) -> Arc<CutSignal> {
        let signal = Arc::new(CutSignal::default());
        let mut connections = self.connections.lock().unwrap_or_else(|p| p.into_inner());
        let list = connections.entry(pair(local, peer)).or_default();
        list.retain(|w| w.strong_count() > 0);
        list.push(Arc::downgrade(&signal));
        signal
    }

    /// Breaks every live connection between `a` and `b`; both ends see it.
    /// Returns how many connection ends were cut.
    pub fn cut(&self, a: &str, b: &str) -> usize {
        let mut connections = self.connections.lock().unwrap_or_else(|p| p.into_inner());
        let Some(list) = connections.remove(&pair(a, b)) else {
            return 0;
        };
        let live: Vec<Arc<CutSignal>> = list.iter().filter_map(Weak::upgrade).collect();
        for signal in &live {
            signal.trigger();
        }
        live.len()
    }
}

/// A simulated TCP stream that the harness can cut.
pub struct SimStream {
    inner: madsim::net::TcpStream,
    signal: Arc<CutSignal>,
}

fn reset() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionReset,
        "connection cut by the simulation",
    )
}

impl AsyncRead for SimStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.signal.is_cut() {
            return Poll::Ready(Err(reset()));
        }
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Pending => {
                self.signal.register(cx.waker());
                if self.signal.is_cut() {
                    Poll::Ready(Err(reset()))
                } else {
                    Poll::Pending
                }
            }
            ready => ready,
        }
    }
}

impl AsyncWrite for SimStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.signal.is_cut() {
            return Poll::Ready(Err(reset()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.signal.is_cut() {
            return Poll::Ready(Err(reset()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// What a simulated node is: its name, randomness, disk, log and network.
#[derive(Clone)]
pub struct SimRuntime {
    name: String,
    seed: u64,
    storage: Arc<dyn Storage>,
    logger: Arc<dyn crate::log::LogSink>,
    net: Arc<SimNet>,
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
        }
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
        let signal = self.net.register(&self.name, &self.net.name_of(peer.ip()));
        Ok((SimStream { inner, signal }, peer))
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
        Ok(SimListener {
            inner: madsim::net::TcpListener::bind(addr).await?,
            name: self.name.clone(),
            net: self.net.clone(),
        })
    }

    async fn connect(&self, host: &str, port: u16) -> io::Result<SimStream> {
        let inner = madsim::net::TcpStream::connect((host, port)).await?;
        let peer = inner.peer_addr()?;
        let signal = self.net.register(&self.name, &self.net.name_of(peer.ip()));
        Ok(SimStream { inner, signal })
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
