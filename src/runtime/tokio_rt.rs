//! The real world: tokio tasks and sockets, the system clock, files in a
//! directory.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::{Listener, Runtime, Storage};

/// The runtime of `replsim serve`. Must be used inside a tokio runtime.
#[derive(Clone)]
pub struct TokioRuntime {
    origin: Instant,
    storage: Arc<dyn Storage>,
    logger: Arc<dyn crate::log::LogSink>,
}

impl TokioRuntime {
    /// A runtime whose storage is `storage`.
    pub fn new(storage: Arc<dyn Storage>) -> Self {
        TokioRuntime {
            origin: Instant::now(),
            storage,
            logger: Arc::new(crate::log::StderrLog::default()),
        }
    }

    /// The same runtime logging to `logger` instead of stderr.
    pub fn with_logger(mut self, logger: Arc<dyn crate::log::LogSink>) -> Self {
        self.logger = logger;
        self
    }
}

/// A tokio listening socket.
pub struct TokioListener(tokio::net::TcpListener);

impl Listener for TokioListener {
    type Stream = tokio::net::TcpStream;

    async fn accept(&self) -> io::Result<(Self::Stream, SocketAddr)> {
        let (stream, peer) = self.0.accept().await?;
        stream.set_nodelay(true)?;
        Ok((stream, peer))
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }

    fn raw_socket(&self) -> Option<super::RawSocket> {
        use std::os::fd::AsRawFd;
        Some(super::RawSocket::new(self.0.as_raw_fd()))
    }

    fn from_std(socket: std::net::TcpListener) -> io::Result<Self> {
        tokio::net::TcpListener::from_std(socket).map(TokioListener)
    }

    fn adopt(&self, stream: std::net::TcpStream) -> io::Result<Self::Stream> {
        tokio::net::TcpStream::from_std(stream)
    }
}

impl Runtime for TokioRuntime {
    type Stream = tokio::net::TcpStream;
    type Listener = TokioListener;

    fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        tokio::spawn(task);
    }

    fn local_addr_of(stream: &Self::Stream) -> Option<SocketAddr> {
        stream.local_addr().ok()
    }

    fn unix_time_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }

    fn monotonic(&self) -> Duration {
        self.origin.elapsed()
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(duration)
    }

    async fn bind(&self, addr: SocketAddr) -> io::Result<TokioListener> {
        // Like Redis, allow an immediate restart on the same port.
        let socket = if addr.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        Ok(TokioListener(socket.listen(511)?))
    }

    async fn connect(&self, host: &str, port: u16) -> io::Result<tokio::net::TcpStream> {
        let stream = tokio::net::TcpStream::connect((host, port)).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    fn rng_seed(&self) -> u64 {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        nanos ^ ((std::process::id() as u64) << 32)
    }

    fn storage(&self) -> Arc<dyn Storage> {
        self.storage.clone()
    }

    fn logger(&self) -> Arc<dyn crate::log::LogSink> {
        self.logger.clone()
    }

    fn has_loopback(&self) -> bool {
        true
    }

    fn serves_while_busy(&self) -> bool {
        tokio::runtime::Handle::try_current().is_ok_and(|handle| {
            handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::CurrentThread
        })
    }

    fn raw_socket(stream: &Self::Stream) -> Option<super::RawSocket> {
        use std::os::fd::AsRawFd;
        Some(super::RawSocket::new(stream.as_raw_fd()))
    }
}
