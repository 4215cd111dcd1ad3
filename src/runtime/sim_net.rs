//! The simulated network's transport, on top of madsim's TCP: what a
//! kernel's sockets and a real link do and madsim's streams do not.
//!
//! - **Windows.** Every direction of a connection has a bounded in-flight
//!   budget (the send and receive socket buffers together): once `window`
//!   bytes are written and not yet read, the writer blocks until the reader
//!   reads. A stopped or slow reader backs up into its writer, as on TCP.
//! - **Bandwidth.** Every directed link between two nodes carries at most
//!   its bandwidth: a writer is paced so that the bytes it hands over never
//!   run ahead of the link by more than one pacing slice.
//! - **Stalls.** A node can stop reading what one peer sends (a stuck
//!   reader); its windows then fill and the peer's writes block.
//! - **Cuts.** madsim cannot close one established connection from
//!   outside, so every stream is registered under the pair of node names it
//!   joins; [`SimNet::cut`] marks both ends broken, and their next read or
//!   write fails, exactly as a reset TCP connection would.
//!
//! Everything runs on madsim's clock and in a fixed order, so it is as
//! deterministic as the rest of the simulation.

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A paced writer may hand over this much link time at once.
const PACING_SLICE: Duration = Duration::from_millis(10);

/// The smallest pacing step, so that a very slow link still moves whole
/// segments.
const MIN_PACED_WRITE: usize = 1460;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

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
        register(&mut lock(&self.wakers), waker);
    }

    fn trigger(&self) {
        self.cut.store(true, Ordering::SeqCst);
        wake_all(&mut lock(&self.wakers));
    }
}

fn register(wakers: &mut Vec<Waker>, waker: &Waker) {
    if !wakers.iter().any(|w| w.will_wake(waker)) {
        wakers.push(waker.clone());
    }
}

fn wake_all(wakers: &mut Vec<Waker>) {
    for waker in std::mem::take(wakers) {
        waker.wake();
    }
}

/// One direction of one connection: what the writer sent and the reader
/// has not read yet.
#[derive(Debug, Default)]
struct Window {
    unread: usize,
    reader_gone: bool,
    writer: Option<Waker>,
}

/// Windows by (writer address, reader address).
type WindowsByEnds = BTreeMap<(SocketAddr, SocketAddr), Weak<Mutex<Window>>>;

/// Links by (sender, receiver).
type LinksByEnds = BTreeMap<(String, String), Arc<Mutex<Link>>>;

thread_local! {
    /// Each direction of each live connection, by (writer address, reader
    /// address): both ends hold it, the map only while one does. A
    /// simulation runs on one thread, and the ends of a connection must
    /// meet even when their nodes were given different [`SimNet`]s.
    static WINDOWS: std::cell::RefCell<WindowsByEnds> = std::cell::RefCell::default();
}

/// The window of the direction from `writer` to `reader`.
fn window(writer: SocketAddr, reader: SocketAddr) -> Arc<Mutex<Window>> {
    WINDOWS.with(|windows| {
        let mut windows = windows.borrow_mut();
        if let Some(window) = windows.get(&(writer, reader)).and_then(Weak::upgrade) {
            return window;
        }
        windows.retain(|_, w| w.strong_count() > 0);
        let window = Arc::new(Mutex::new(Window::default()));
        windows.insert((writer, reader), Arc::downgrade(&window));
        window
    })
}

/// One direction of the link between two nodes, shared by every
/// connection between them.
#[derive(Debug, Default)]
struct Link {
    /// Overrides the network's bandwidth (`Some(None)`: unlimited).
    bandwidth: Option<Option<u64>>,
    /// When the bytes handed over so far have crossed the link.
    free_at: Duration,
    /// The receiving node has stopped reading this link.
    stalled: bool,
    /// Readers waiting for the stall to end.
    stalled_readers: Vec<Waker>,
}

/// Live connection ends by the (ordered) pair of node names they join.
type ConnectionsByPair = BTreeMap<(String, String), Vec<Weak<CutSignal>>>;

/// The harness's view of the simulated network: which IP is which node,
/// every live connection by the pair of nodes it joins, the links between
/// nodes, and the network-wide window and bandwidth.
#[derive(Debug)]
pub struct SimNet {
    names: Mutex<BTreeMap<IpAddr, String>>,
    connections: Mutex<ConnectionsByPair>,
    /// Each direction between two nodes, by (sender, receiver).
    links: Mutex<LinksByEnds>,
    window: AtomicUsize,
    /// Bytes per second; 0 is unlimited.
    bandwidth: AtomicU64,
}

impl Default for SimNet {
    fn default() -> Self {
        SimNet {
            names: Mutex::default(),
            connections: Mutex::default(),
            links: Mutex::default(),
            window: AtomicUsize::new(super::DEFAULT_SIM_WINDOW as usize),
            bandwidth: AtomicU64::new(super::DEFAULT_SIM_BANDWIDTH),
        }
    }
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
        lock(&self.names).insert(ip, name.to_string());
    }

    pub(super) fn name_of(&self, ip: IpAddr) -> String {
        lock(&self.names)
            .get(&ip)
            .cloned()
            .unwrap_or_else(|| ip.to_string())
    }

    /// Bytes in flight per direction of every connection, from now on.
    pub fn set_window(&self, bytes: usize) {
        self.window.store(bytes.max(1), Ordering::SeqCst);
    }

    /// The bandwidth of every link without its own, in bytes per second
    /// (`None`: unlimited), from now on.
    pub fn set_bandwidth(&self, bytes_per_second: Option<u64>) {
        self.bandwidth
            .store(bytes_per_second.unwrap_or(0), Ordering::SeqCst);
    }

    /// Gives the link from `from` to `to` its own bandwidth (`Some(None)`:
    /// unlimited), or back the network's (`None`).
    pub fn set_link_bandwidth(&self, from: &str, to: &str, bandwidth: Option<Option<u64>>) {
        lock(&self.link(from, to)).bandwidth = bandwidth;
    }

    /// Makes `reader` stop (or resume) reading what `writer` sends it.
    pub fn set_stalled(&self, reader: &str, writer: &str, stalled: bool) {
        let link = self.link(writer, reader);
        let mut link = lock(&link);
        link.stalled = stalled;
        if !stalled {
            wake_all(&mut link.stalled_readers);
        }
    }

    fn link(&self, from: &str, to: &str) -> Arc<Mutex<Link>> {
        lock(&self.links)
            .entry((from.to_string(), to.to_string()))
            .or_default()
            .clone()
    }

    fn register(&self, local: &str, peer: &str) -> Arc<CutSignal> {
        let signal = Arc::new(CutSignal::default());
        let mut connections = lock(&self.connections);
        let list = connections.entry(pair(local, peer)).or_default();
        list.retain(|w| w.strong_count() > 0);
        list.push(Arc::downgrade(&signal));
        signal
    }

    /// Breaks every live connection between `a` and `b`; both ends see it.
    /// Returns how many connection ends were cut.
    pub fn cut(&self, a: &str, b: &str) -> usize {
        let Some(list) = lock(&self.connections).remove(&pair(a, b)) else {
            return 0;
        };
        let live: Vec<Arc<CutSignal>> = list.iter().filter_map(Weak::upgrade).collect();
        for signal in &live {
            signal.trigger();
        }
        live.len()
    }

    /// Wraps a madsim stream of node `local` to the node at its peer
    /// address.
    pub(super) fn stream(
        self: &Arc<Self>,
        local: &str,
        inner: madsim::net::TcpStream,
    ) -> io::Result<SimStream> {
        let (me, peer_addr) = (inner.local_addr()?, inner.peer_addr()?);
        let peer = self.name_of(peer_addr.ip());
        Ok(SimStream {
            signal: self.register(local, &peer),
            sending: window(me, peer_addr),
            receiving: window(peer_addr, me),
            outgoing: self.link(local, &peer),
            incoming: self.link(&peer, local),
            net: self.clone(),
            pacing: None,
            unflushed: false,
            inner,
        })
    }
}

/// A simulated TCP stream: windowed, paced, stallable, and cut by the
/// harness.
pub struct SimStream {
    inner: madsim::net::TcpStream,
    signal: Arc<CutSignal>,
    sending: Arc<Mutex<Window>>,
    receiving: Arc<Mutex<Window>>,
    outgoing: Arc<Mutex<Link>>,
    incoming: Arc<Mutex<Link>>,
    net: Arc<SimNet>,
    /// The wait for the link to be free, while a paced write waits.
    pacing: Option<Pin<Box<madsim::time::Sleep>>>,
    /// Bytes were written since the last flush (madsim sends on flush).
    unflushed: bool,
}

fn reset() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionReset,
        "connection cut by the simulation",
    )
}

impl SimStream {
    /// Waits until the outgoing link may take more, then says how many of
    /// `wanted` bytes it takes now (and books their link time).
    fn pace(&mut self, cx: &mut Context<'_>, wanted: usize) -> Poll<usize> {
        let bandwidth = match lock(&self.outgoing).bandwidth {
            Some(own) => own,
            None => match self.net.bandwidth.load(Ordering::SeqCst) {
                0 => None,
                network => Some(network),
            },
        };
        let Some(bandwidth) = bandwidth else {
            return Poll::Ready(wanted);
        };
        let now = madsim::time::TimeHandle::current().elapsed();
        let free_at = lock(&self.outgoing).free_at;
        if free_at > now {
            let sleep = self
                .pacing
                .get_or_insert_with(|| Box::pin(madsim::time::sleep(free_at - now)));
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
        }
        self.pacing = None;
        let slice = (bandwidth as u128 * PACING_SLICE.as_nanos() / 1_000_000_000) as usize;
        let take = wanted.min(slice.max(MIN_PACED_WRITE));
        let mut link = lock(&self.outgoing);
        let busy = Duration::from_nanos((take as u128 * 1_000_000_000 / bandwidth as u128) as u64);
        link.free_at = link.free_at.max(now) + busy;
        Poll::Ready(take)
    }
}

impl SimStream {
    /// A write that must wait (full window, busy link): what was written
    /// so far goes out first, or the reader could never make room.
    fn wait_for_the_network<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        if std::mem::take(&mut self.unflushed) {
            if let Poll::Ready(Err(error)) = Pin::new(&mut self.inner).poll_flush(cx) {
                return Poll::Ready(Err(error));
            }
        }
        self.signal.register(cx.waker());
        Poll::Pending
    }
}

impl Drop for SimStream {
    fn drop(&mut self) {
        let mut window = lock(&self.receiving);
        window.reader_gone = true;
        if let Some(waker) = window.writer.take() {
            waker.wake();
        }
    }
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
        {
            let mut link = lock(&self.incoming);
            if link.stalled {
                register(&mut link.stalled_readers, cx.waker());
                drop(link);
                self.signal.register(cx.waker());
                return Poll::Pending;
            }
        }
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Pending => {
                self.signal.register(cx.waker());
                if self.signal.is_cut() {
                    Poll::Ready(Err(reset()))
                } else {
                    Poll::Pending
                }
            }
            Poll::Ready(result) => {
                let read = buf.filled().len() - before;
                if read > 0 {
                    let mut window = lock(&self.receiving);
                    window.unread = window.unread.saturating_sub(read);
                    if let Some(waker) = window.writer.take() {
                        waker.wake();
                    }
                }
                Poll::Ready(result)
            }
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
        let room = {
            let mut window = lock(&self.sending);
            if window.reader_gone {
                return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
            }
            let room = self
                .net
                .window
                .load(Ordering::SeqCst)
                .saturating_sub(window.unread);
            if room == 0 {
                window.writer = Some(cx.waker().clone());
                drop(window);
                return self.wait_for_the_network(cx);
            }
            room
        };
        let take = match self.pace(cx, room.min(buf.len())) {
            Poll::Ready(take) => take,
            Poll::Pending => return self.wait_for_the_network(cx),
        };
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_write(cx, &buf[..take]) {
            Poll::Ready(Ok(n)) => {
                lock(&this.sending).unread += n;
                this.unflushed |= n > 0;
                Poll::Ready(Ok(n))
            }
            other => other,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.signal.is_cut() {
            return Poll::Ready(Err(reset()));
        }
        self.unflushed = false;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
