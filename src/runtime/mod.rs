//! The runtime seam: everything the server core needs from the outside world
//! (spawning tasks, time, TCP listen/connect, randomness, durable storage),
//! behind one trait with two implementations.
//!
//! - [`TokioRuntime`]: real TCP, the real clock and the real file system,
//!   for `replsim serve`.
//! - `SimRuntime` (only under `cfg(madsim)`): madsim's simulated tasks,
//!   clock and network, and a harness-owned in-memory disk.
//!
//! The core never names tokio's runtime, timers or sockets directly, so the
//! same code runs unchanged in both worlds.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};

mod raw_socket;
mod storage;
mod tokio_rt;
mod usage;

#[cfg(madsim)]
mod sim_clock;
#[cfg(madsim)]
mod sim_net;
#[cfg(madsim)]
mod sim_rt;

pub use raw_socket::RawSocket;
#[cfg(madsim)]
pub use sim_clock::SimClocks;
#[cfg(madsim)]
pub use sim_net::{SimNet, SimStream};
#[cfg(madsim)]
pub use sim_rt::{SimListener, SimRuntime};
pub use storage::{
    os_error_text, DirStorage, DiskFault, MemDisk, MemStorage, OpenedFile, Storage, StorageError,
};
pub use tokio_rt::{TokioListener, TokioRuntime, TokioStream};
pub use usage::{allocated_bytes, process_usage};

/// Bytes in flight per direction of a simulated connection by default:
/// Linux's default send (16 KB) and receive (128 KB) buffers grow by
/// autotuning toward several MB; 1 MB stands between.
pub const DEFAULT_SIM_WINDOW: u64 = 1 << 20;

/// Bandwidth of every simulated link by default, in bytes per second:
/// 1 Gbit/s.
pub const DEFAULT_SIM_BANDWIDTH: u64 = 125_000_000;

/// What the process has used so far (INFO's cpu and memory sections).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcessUsage {
    /// CPU time in user mode.
    pub cpu_user: Duration,
    /// CPU time in the kernel.
    pub cpu_sys: Duration,
    /// Bytes the allocator has handed out and not taken back.
    pub heap_bytes: u64,
    /// Resident set size.
    pub rss_bytes: u64,
}

/// A listening socket of some runtime.
pub trait Listener: Send + Sync + 'static {
    /// The connection type it accepts.
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// Waits for the next connection and returns it with the peer's address.
    fn accept(&self) -> impl Future<Output = io::Result<(Self::Stream, SocketAddr)>> + Send;

    /// The bound address.
    fn local_addr(&self) -> io::Result<SocketAddr>;

    /// The listening socket, for accepting connections from outside the
    /// accept loop while a script keeps the node busy (see [`RawSocket`]).
    fn raw_socket(&self) -> Option<RawSocket> {
        None
    }

    /// The path of the Unix socket it listens on, if it is one.
    fn unix_path(&self) -> Option<&std::path::Path> {
        None
    }

    /// A listener serving from `socket` (bound and non-blocking), for a
    /// CONFIG SET of `bind` or `port`.
    fn from_std(socket: std::net::TcpListener) -> io::Result<Self>
    where
        Self: Sized,
    {
        drop(socket);
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }

    /// Makes a connection accepted through [`Listener::raw_socket`] one of
    /// this listener's streams.
    fn adopt(&self, stream: std::net::TcpStream) -> io::Result<Self::Stream> {
        drop(stream);
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
}

/// What the server core needs from its world.
pub trait Runtime: Clone + Send + Sync + 'static {
    /// A TCP connection.
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    /// A listening socket producing [`Runtime::Stream`]s.
    type Listener: Listener<Stream = Self::Stream>;

    /// Runs `task` concurrently.
    fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static;

    /// Wall-clock time in unix milliseconds (simulated in madsim).
    fn unix_time_ms(&self) -> u64;

    /// Monotonic time since an arbitrary origin fixed for the process.
    fn monotonic(&self) -> Duration;

    /// Completes after `duration`.
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send;

    /// Binds a listening socket.
    fn bind(&self, addr: SocketAddr) -> impl Future<Output = io::Result<Self::Listener>> + Send;

    /// Binds a listening Unix socket at `path` (`unixsocket`), with
    /// permissions `perm` (`unixsocketperm`, 0: the default). Only real
    /// runtimes have one.
    fn bind_unix(
        &self,
        _path: &str,
        _perm: u32,
    ) -> impl Future<Output = io::Result<Self::Listener>> + Send {
        async { Err(io::Error::from(io::ErrorKind::Unsupported)) }
    }

    /// Opens a connection to `host:port` (a name or an address).
    fn connect(
        &self,
        host: &str,
        port: u16,
    ) -> impl Future<Output = io::Result<Self::Stream>> + Send;

    /// A seed for the server's own random choices (replication ids, SPOP):
    /// derived from the run seed in simulation, from the OS for real.
    fn rng_seed(&self) -> u64;

    /// Durable storage for RDB files.
    fn storage(&self) -> Arc<dyn Storage>;

    /// Where the node's log lines go.
    fn logger(&self) -> Arc<dyn crate::log::LogSink>;

    /// Whether peers can come from a loopback interface, which protected
    /// mode lets in. Only real TCP says yes: a simulated node has no
    /// loopback (every node, and every client, has its own address), so
    /// protected mode would refuse everyone there and is not applied.
    fn has_loopback(&self) -> bool {
        false
    }

    /// The local address of a connection (Sentinel announces the address
    /// its hello messages leave from, as Redis reads it with
    /// `getsockname`). `None` when the runtime cannot tell.
    fn local_addr_of(_stream: &Self::Stream) -> Option<SocketAddr> {
        None
    }

    /// What the process has used so far; `None` where the process is not
    /// the node's alone (a simulation runs every node in one process).
    fn process_usage(&self) -> Option<ProcessUsage> {
        None
    }

    /// The bytes the process has allocated and not freed (what `maxmemory`
    /// counts); `None` where the process is not the node's alone.
    fn allocated_bytes(&self) -> Option<u64> {
        None
    }

    /// Whether a script past `busy-reply-threshold` can answer other
    /// clients through their [`RawSocket`]s. That takes real time (a
    /// simulation's clock only moves while every task waits, so there a
    /// command takes no time at all and no script is ever busy) and one
    /// thread (where every other task is parked while the script runs, so
    /// that none reads a socket at the same time).
    fn serves_while_busy(&self) -> bool {
        false
    }

    /// The socket of a connection, for reading and writing it from outside
    /// its task while a script keeps the node busy (see [`RawSocket`]).
    /// `None` when the runtime has no such thing.
    fn raw_socket(_stream: &Self::Stream) -> Option<RawSocket> {
        None
    }
}
