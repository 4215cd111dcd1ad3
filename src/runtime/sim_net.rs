//! The simulated network's transport, on top of madsim's TCP: what a
//! kernel's sockets and a real link do and madsim's streams do not.
//!
//! - **Windows.** Every direction of a connection has a bounded in-flight
//!   budget (the send and receive socket buffers together): once `window`
//!   bytes are written and not yet read, the writer blocks until the reader
//!   reads. A stopped or slow reader backs up into its writer, as on TCP.
//! - **Bandwidth.** Every node's network interface sends at most its
//!   bandwidth, shared by all its connections (a master feeding six
//!   replicas splits it six ways), and a directed link between two nodes
//!   can be throttled below that: a writer is paced so that the bytes it
//!   hands over never run ahead of its interface or its link by more than
//!   one pacing slice.
//! - **Stalls.** A node can stop reading what one peer sends (a stuck
//!   reader); its windows then fill and the peer's writes block.
//! - **Cuts.** madsim cannot close one established connection from
//!   outside, so every stream is registered under the pair of node names it
//!   joins; [`SimNet::cut`] marks both ends broken, and their next read or
//!   write fails, exactly as a reset TCP connection would.
//! - **Silence.** madsim delivers a close at once, even across a
//!   partition or from a killed node. Real networks do not: a close sent
//!   into a black-holed link arrives when the link comes back (the FIN is
//!   retransmitted), and a host that lost power sends none at all; its
//!   peers find out through their own timeouts, or by a reset once the
//!   host is back and answers their next segment. Links can be silenced
//!   ([`SimNet::silence_link`]) and nodes powered off
//!   ([`SimNet::power_off`]); an end that goes away then leaves its peer
//!   reading nothing and writing into the void (its window fills, so the
//!   writer blocks as on a real socket), until contact is possible again.
//!   Connecting across silence retransmits the SYN as Linux does (after 1,
//!   2, 4, ... 32 s) and times out after 127 s.
//!
//! Everything runs on madsim's clock and in a fixed order, so it is as
//! deterministic as the rest of the simulation.

use std::collections::{BTreeMap, BTreeSet};
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

/// The last SYN retransmission's wait: Linux sends the SYN at 0 s and again
/// after 1, 3, 7, 15, 31 and 63 s (`tcp_syn_retries` 6), then gives up at
/// 127 s.
const SYN_GIVE_UP_AFTER_LAST: Duration = Duration::from_secs(64);

/// The smallest pacing step, so that a very slow link still moves whole
/// segments.
const MIN_PACED_WRITE: usize = 1460;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One end of a connection as the harness sees it: its broken flag, what
/// contact with a vanished peer brought, and the tasks waiting on either.
#[derive(Debug)]
struct End {
    /// The node this end belongs to.
    local: String,
    /// The node at the other end.
    peer: String,
    /// What this end writes (the peer reads).
    sending: Arc<Mutex<Window>>,
    /// What this end reads (the peer writes).
    receiving: Arc<Mutex<Window>>,
    cut: AtomicBool,
    /// The peer vanished and its host is reachable again: the next
    /// segment this end sends is answered by a reset.
    reset_on_write: AtomicBool,
    /// The peer's delayed FIN arrived: reads see the end of the stream.
    fin_arrived: AtomicBool,
    wakers: Mutex<Vec<Waker>>,
}

impl End {
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

    /// The peer's host can be reached again: if the peer's end vanished
    /// meanwhile, what TCP would do now happens. Bytes this end sent since
    /// meet a closed socket and get a reset; otherwise a FIN still being
    /// retransmitted arrives (a host that lost power has none to send),
    /// and this end's next write gets a reset.
    fn contact(&self) {
        let lost = {
            let sending = lock(&self.sending);
            if !sending.reader_vanished {
                return;
            }
            if sending.unread > 0 {
                None
            } else {
                Some(lock(&self.receiving).writer_vanished)
            }
        };
        match lost {
            None => self.trigger(),
            Some(close) => {
                if close == Some(LostClose::FinPending) {
                    self.fin_arrived.store(true, Ordering::SeqCst);
                }
                self.reset_on_write.store(true, Ordering::SeqCst);
                wake_all(&mut lock(&self.wakers));
            }
        }
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

/// What became of a close that never reached the other end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LostClose {
    /// The closing host lives and retransmits its FIN: it arrives once the
    /// link is open again.
    FinPending,
    /// The host lost power: nothing will ever arrive.
    Forgotten,
}

/// One direction of one connection: what the writer sent and the reader
/// has not read yet.
#[derive(Debug, Default)]
struct Window {
    unread: usize,
    reader_gone: bool,
    /// The reader's end went away without its peer being told: writes go
    /// nowhere (they stay unread, so the window fills).
    reader_vanished: bool,
    /// The writer's end went away and its close has not reached the
    /// reader.
    writer_vanished: Option<LostClose>,
    writer: Option<Waker>,
    /// The ends that joined this window (two once the connection is made;
    /// dead ones stay counted).
    ends: Vec<Weak<End>>,
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

/// The window of the direction from `writer` to `reader`: the one the
/// other end of this connection made, or a new one.
fn window(writer: SocketAddr, reader: SocketAddr) -> Arc<Mutex<Window>> {
    WINDOWS.with(|windows| {
        let mut windows = windows.borrow_mut();
        if let Some(window) = windows.get(&(writer, reader)).and_then(Weak::upgrade) {
            let joined = lock(&window).ends.clone();
            if joined.len() < 2 {
                return window;
            }
            // Both ends joined long ago: an older connection on the same
            // ports, kept alive by an end that never heard its peer went
            // away. A new connection on the same address pair resets it,
            // as TCP's challenge ACK and RST do.
            for end in joined.iter().filter_map(Weak::upgrade) {
                end.trigger();
            }
        }
        windows.retain(|_, w| w.strong_count() > 0);
        let window = Arc::new(Mutex::new(Window::default()));
        windows.insert((writer, reader), Arc::downgrade(&window));
        window
    })
}

/// What paces a sender: a rate, and when the bytes booked so far will
/// have gone out.
#[derive(Debug, Default)]
struct Pacer {
    /// Its own bandwidth (`Some(None)`: unlimited); `None` takes the
    /// default (the network's for an interface, none for a link).
    bandwidth: Option<Option<u64>>,
    /// When the bytes handed over so far have gone out.
    free_at: Duration,
}

impl Pacer {
    /// Books `bytes` at `rate` from `now` on.
    fn book(&mut self, now: Duration, bytes: usize, rate: u64) {
        let busy = Duration::from_nanos((bytes as u128 * 1_000_000_000 / rate as u128) as u64);
        self.free_at = self.free_at.max(now) + busy;
    }
}

/// How many bytes a sender at `rate` may hand over at once.
fn pacing_slice(rate: Option<u64>) -> usize {
    rate.map_or(usize::MAX, |rate| {
        ((rate as u128 * PACING_SLICE.as_nanos() / 1_000_000_000) as usize).max(MIN_PACED_WRITE)
    })
}

/// One direction of the link between two nodes, shared by every
/// connection between them.
#[derive(Debug, Default)]
struct Link {
    /// A throttle's bandwidth, if one holds the link.
    pacer: Pacer,
    /// The receiving node has stopped reading this link.
    stalled: bool,
    /// Readers waiting for the stall to end.
    stalled_readers: Vec<Waker>,
    /// Bytes handed to the link so far.
    sent: u64,
    /// Writes that handed them over (each one a message of the simulated
    /// network, as madsim delivers it).
    writes: u64,
}

/// Live connection ends by the (ordered) pair of node names they join.
type ConnectionsByPair = BTreeMap<(String, String), Vec<Weak<End>>>;

/// The harness's view of the simulated network: which IP is which node,
/// every live connection by the pair of nodes it joins, the links between
/// nodes, and the network-wide window and bandwidth.
#[derive(Debug)]
pub struct SimNet {
    names: Mutex<BTreeMap<IpAddr, String>>,
    connections: Mutex<ConnectionsByPair>,
    /// Each direction between two nodes, by (sender, receiver).
    links: Mutex<LinksByEnds>,
    /// Each node's network interface (what it sends).
    interfaces: Mutex<BTreeMap<String, Arc<Mutex<Pacer>>>>,
    window: AtomicUsize,
    /// Bytes per second; 0 is unlimited.
    bandwidth: AtomicU64,
    /// Directed links that black-hole what is sent, with how many faults
    /// hold each.
    silenced: Mutex<BTreeMap<(String, String), usize>>,
    /// Nodes whose host is powered off.
    powered_off: Mutex<BTreeSet<String>>,
}

impl Default for SimNet {
    fn default() -> Self {
        SimNet {
            names: Mutex::default(),
            connections: Mutex::default(),
            links: Mutex::default(),
            interfaces: Mutex::default(),
            window: AtomicUsize::new(super::DEFAULT_SIM_WINDOW as usize),
            bandwidth: AtomicU64::new(super::DEFAULT_SIM_BANDWIDTH),
            silenced: Mutex::default(),
            powered_off: Mutex::default(),
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

    /// The bandwidth of every node's interface without its own, in bytes
    /// per second (`None`: unlimited), from now on.
    pub fn set_bandwidth(&self, bytes_per_second: Option<u64>) {
        self.bandwidth
            .store(bytes_per_second.unwrap_or(0), Ordering::SeqCst);
    }

    /// Gives the link from `from` to `to` its own bandwidth (`Some(None)`:
    /// unlimited), or takes it away (`None`: only the interfaces limit it).
    pub fn set_link_bandwidth(&self, from: &str, to: &str, bandwidth: Option<Option<u64>>) {
        lock(&self.link(from, to)).pacer.bandwidth = bandwidth;
    }

    /// Gives the interface of `node` its own bandwidth (`Some(None)`:
    /// unlimited), or back the network's (`None`).
    pub fn set_node_bandwidth(&self, node: &str, bandwidth: Option<Option<u64>>) {
        lock(&self.interface(node)).bandwidth = bandwidth;
    }

    fn interface(&self, node: &str) -> Arc<Mutex<Pacer>> {
        lock(&self.interfaces)
            .entry(node.to_string())
            .or_default()
            .clone()
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

    /// Bytes sent so far on every directed link, by (sender, receiver).
    pub fn bytes_sent(&self) -> Vec<((String, String), u64)> {
        lock(&self.links)
            .iter()
            .map(|(ends, link)| (ends.clone(), lock(link).sent))
            .collect()
    }

    /// Writes handed to the network so far, over every link: the messages
    /// madsim delivered (`bench --scenarios` sets them against a bare
    /// madsim echo's rate).
    pub fn writes(&self) -> u64 {
        lock(&self.links)
            .values()
            .map(|link| lock(link).writes)
            .sum()
    }

    fn link(&self, from: &str, to: &str) -> Arc<Mutex<Link>> {
        lock(&self.links)
            .entry((from.to_string(), to.to_string()))
            .or_default()
            .clone()
    }

    fn register(
        &self,
        local: &str,
        peer: &str,
        sending: &Arc<Mutex<Window>>,
        receiving: &Arc<Mutex<Window>>,
    ) -> Arc<End> {
        let end = Arc::new(End {
            local: local.to_string(),
            peer: peer.to_string(),
            sending: sending.clone(),
            receiving: receiving.clone(),
            cut: AtomicBool::new(false),
            reset_on_write: AtomicBool::new(false),
            fin_arrived: AtomicBool::new(false),
            wakers: Mutex::default(),
        });
        let mut connections = lock(&self.connections);
        let list = connections.entry(pair(local, peer)).or_default();
        list.retain(|w| w.strong_count() > 0);
        list.push(Arc::downgrade(&end));
        end
    }

    /// Breaks every live connection between `a` and `b`; both ends see it.
    /// Returns how many connection ends were cut.
    pub fn cut(&self, a: &str, b: &str) -> usize {
        let Some(list) = lock(&self.connections).remove(&pair(a, b)) else {
            return 0;
        };
        let live: Vec<Arc<End>> = list.iter().filter_map(Weak::upgrade).collect();
        for end in &live {
            end.trigger();
        }
        live.len()
    }

    /// From now on the link from `from` to `to` black-holes what is sent
    /// on it: data waits (madsim's clog retransmits it), and a close or a
    /// connection attempt does not get through. Calls nest: the link
    /// speaks again after as many [`SimNet::unsilence_link`]s.
    pub fn silence_link(&self, from: &str, to: &str) {
        *lock(&self.silenced)
            .entry((from.to_string(), to.to_string()))
            .or_default() += 1;
    }

    /// Ends one [`SimNet::silence_link`] of the link from `from` to `to`.
    pub fn unsilence_link(&self, from: &str, to: &str) {
        let link = (from.to_string(), to.to_string());
        {
            let mut silenced = lock(&self.silenced);
            match silenced.get_mut(&link) {
                Some(count) if *count > 1 => {
                    *count -= 1;
                    return;
                }
                Some(_) => {
                    silenced.remove(&link);
                }
                None => return,
            }
        }
        self.make_contact(from, to);
    }

    /// Ends every silence at once.
    pub fn unsilence_all(&self) {
        let links = std::mem::take(&mut *lock(&self.silenced));
        for (from, to) in links.keys() {
            self.make_contact(from, to);
        }
    }

    /// The host of `node` loses power: the ends of its connections vanish
    /// without a FIN, and connecting to it gets no answer.
    pub fn power_off(&self, node: &str) {
        lock(&self.powered_off).insert(node.to_string());
    }

    /// The host of `node` is back: a peer still holding a connection to
    /// it gets a reset on its next segment.
    pub fn power_on(&self, node: &str) {
        if !lock(&self.powered_off).remove(node) {
            return;
        }
        let peers: Vec<String> = lock(&self.connections)
            .keys()
            .filter_map(|(a, b)| {
                if a == node {
                    Some(b.clone())
                } else if b == node {
                    Some(a.clone())
                } else {
                    None
                }
            })
            .collect();
        for peer in peers {
            self.make_contact(node, &peer);
        }
    }

    /// Whether segments get from `a` to `b` and back.
    fn reachable(&self, a: &str, b: &str) -> bool {
        let powered_off = lock(&self.powered_off);
        if powered_off.contains(a) || powered_off.contains(b) {
            return false;
        }
        let silenced = lock(&self.silenced);
        !silenced.contains_key(&(a.to_string(), b.to_string()))
            && !silenced.contains_key(&(b.to_string(), a.to_string()))
    }

    /// How a close by `local` toward `peer` fares now: `None` when it
    /// arrives.
    fn lost_close(&self, local: &str, peer: &str) -> Option<LostClose> {
        if lock(&self.powered_off).contains(local) {
            Some(LostClose::Forgotten)
        } else if lock(&self.silenced).contains_key(&(local.to_string(), peer.to_string())) {
            Some(LostClose::FinPending)
        } else {
            None
        }
    }

    /// `a` and `b` may reach each other again: every live end between them
    /// whose peer vanished learns what TCP would tell it.
    fn make_contact(&self, a: &str, b: &str) {
        if !self.reachable(a, b) {
            return;
        }
        let ends: Vec<Arc<End>> = lock(&self.connections)
            .get(&pair(a, b))
            .map(|list| list.iter().filter_map(Weak::upgrade).collect())
            .unwrap_or_default();
        for end in ends {
            end.contact();
        }
    }

    /// Waits, as a connecting socket retransmits its SYN, until `peer` can
    /// be reached from `local`; fails as Linux does after 127 s.
    pub(super) async fn wait_until_reachable(&self, local: &str, peer: &str) -> io::Result<()> {
        let mut backoff = Duration::from_secs(1);
        while !self.reachable(local, peer) {
            madsim::time::sleep(backoff).await;
            if backoff == SYN_GIVE_UP_AFTER_LAST {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "connection timed out",
                ));
            }
            backoff *= 2;
        }
        Ok(())
    }

    /// The node a connection target names: a node's name, or its address.
    pub(super) fn node_named(&self, host: &str) -> String {
        match host.parse::<IpAddr>() {
            Ok(ip) => self.name_of(ip),
            Err(_) => host.to_string(),
        }
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
        let (sending, receiving) = (window(me, peer_addr), window(peer_addr, me));
        let end = self.register(local, &peer, &sending, &receiving);
        lock(&sending).ends.push(Arc::downgrade(&end));
        lock(&receiving).ends.push(Arc::downgrade(&end));
        Ok(SimStream {
            end,
            sending,
            receiving,
            outgoing: self.link(local, &peer),
            interface: self.interface(local),
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
    end: Arc<End>,
    sending: Arc<Mutex<Window>>,
    receiving: Arc<Mutex<Window>>,
    outgoing: Arc<Mutex<Link>>,
    incoming: Arc<Mutex<Link>>,
    /// The sending node's interface.
    interface: Arc<Mutex<Pacer>>,
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
    /// The local address of the connection.
    pub fn local_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.inner.local_addr()
    }

    /// Waits until the node's interface and the outgoing link (if
    /// throttled) may take more, then says how many of `wanted` bytes they
    /// take now (and books their time on both).
    fn pace(&mut self, cx: &mut Context<'_>, wanted: usize) -> Poll<usize> {
        let network = match self.net.bandwidth.load(Ordering::SeqCst) {
            0 => None,
            rate => Some(rate),
        };
        let link_rate = lock(&self.outgoing).pacer.bandwidth.flatten();
        let interface_rate = lock(&self.interface).bandwidth.unwrap_or(network);
        if link_rate.is_none() && interface_rate.is_none() {
            return Poll::Ready(wanted);
        }
        let now = madsim::time::TimeHandle::current().elapsed();
        let free_at = lock(&self.outgoing)
            .pacer
            .free_at
            .max(lock(&self.interface).free_at);
        if free_at > now {
            let sleep = self
                .pacing
                .get_or_insert_with(|| Box::pin(madsim::time::sleep(free_at - now)));
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
        }
        self.pacing = None;
        let take = wanted
            .min(pacing_slice(link_rate))
            .min(pacing_slice(interface_rate));
        if let Some(rate) = link_rate {
            lock(&self.outgoing).pacer.book(now, take, rate);
        }
        if let Some(rate) = interface_rate {
            lock(&self.interface).book(now, take, rate);
        }
        Poll::Ready(take)
    }
}

impl SimStream {
    /// A write that must wait (full window, busy link): what was written
    /// so far goes out first, or the reader could never make room.
    fn wait_for_the_network<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        if std::mem::take(&mut self.unflushed) && !lock(&self.sending).reader_vanished {
            if let Poll::Ready(Err(error)) = Pin::new(&mut self.inner).poll_flush(cx) {
                return Poll::Ready(Err(error));
            }
        }
        self.end.register(cx.waker());
        Poll::Pending
    }
}

impl Drop for SimStream {
    fn drop(&mut self) {
        match self.net.lost_close(&self.end.local, &self.end.peer) {
            None => {
                let mut window = lock(&self.receiving);
                window.reader_gone = true;
                if let Some(waker) = window.writer.take() {
                    waker.wake();
                }
            }
            // The peer is not told: it keeps reading nothing and writing
            // into the void until contact (see `End::contact`).
            Some(close) => {
                lock(&self.receiving).reader_vanished = true;
                lock(&self.sending).writer_vanished = Some(close);
            }
        }
    }
}

impl AsyncRead for SimStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.end.is_cut() {
            return Poll::Ready(Err(reset()));
        }
        {
            let mut link = lock(&self.incoming);
            if link.stalled {
                register(&mut link.stalled_readers, cx.waker());
                drop(link);
                self.end.register(cx.waker());
                return Poll::Pending;
            }
        }
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Pending => {
                self.end.register(cx.waker());
                if self.end.is_cut() {
                    Poll::Ready(Err(reset()))
                } else {
                    Poll::Pending
                }
            }
            Poll::Ready(Ok(())) if buf.filled().len() == before && buf.remaining() > 0 => {
                // The end of the stream: held back while the peer's close
                // has not arrived.
                if lock(&self.receiving).writer_vanished.is_some()
                    && !self.end.fin_arrived.load(Ordering::SeqCst)
                {
                    self.end.register(cx.waker());
                    return if self.end.is_cut() {
                        Poll::Ready(Err(reset()))
                    } else {
                        Poll::Pending
                    };
                }
                Poll::Ready(Ok(()))
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
        if self.end.is_cut() {
            return Poll::Ready(Err(reset()));
        }
        if self.end.reset_on_write.load(Ordering::SeqCst) && !buf.is_empty() {
            self.end.trigger();
            return Poll::Ready(Err(reset()));
        }
        let room = {
            let mut window = lock(&self.sending);
            if window.reader_gone {
                return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
            }
            // Only a peer that is a simulated end itself (a node) reads
            // through the window and gives its room back; a connection from
            // the harness's own clients is not windowed, or the replies it
            // read would fill the window for ever.
            let room = if window.ends.len() < 2 {
                usize::MAX
            } else {
                self.net
                    .window
                    .load(Ordering::SeqCst)
                    .saturating_sub(window.unread)
            };
            if room == 0 {
                window.writer = Some(cx.waker().clone());
                drop(window);
                return self.wait_for_the_network(cx);
            }
            if window.reader_vanished {
                // Nobody reads it and no error comes back: the bytes fill
                // the window, as unacknowledged data fills a socket.
                let taken = room.min(buf.len());
                window.unread += taken;
                return Poll::Ready(Ok(taken));
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
                {
                    let mut outgoing = lock(&this.outgoing);
                    outgoing.sent += n as u64;
                    outgoing.writes += 1;
                }
                this.unflushed |= n > 0;
                Poll::Ready(Ok(n))
            }
            other => other,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.end.is_cut() {
            return Poll::Ready(Err(reset()));
        }
        self.unflushed = false;
        if lock(&self.sending).reader_vanished {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
