//! The real world: tokio tasks and sockets, the system clock, files in a
//! directory.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

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

/// A connection of `replsim serve`: TCP, or the Unix socket `unixsocket`
/// names.
#[derive(Debug)]
pub enum TokioStream {
    /// A TCP connection.
    Tcp(tokio::net::TcpStream),
    /// A Unix socket connection.
    Unix(tokio::net::UnixStream),
}

impl AsyncRead for TokioStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            TokioStream::Tcp(stream) => Pin::new(stream).poll_read(cx, buf),
            TokioStream::Unix(stream) => Pin::new(stream).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for TokioStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            TokioStream::Tcp(stream) => Pin::new(stream).poll_write(cx, buf),
            TokioStream::Unix(stream) => Pin::new(stream).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            TokioStream::Tcp(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
            TokioStream::Unix(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            TokioStream::Tcp(stream) => stream.is_write_vectored(),
            TokioStream::Unix(stream) => stream.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            TokioStream::Tcp(stream) => Pin::new(stream).poll_flush(cx),
            TokioStream::Unix(stream) => Pin::new(stream).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            TokioStream::Tcp(stream) => Pin::new(stream).poll_shutdown(cx),
            TokioStream::Unix(stream) => Pin::new(stream).poll_shutdown(cx),
        }
    }
}

impl TokioStream {
    fn raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        match self {
            TokioStream::Tcp(stream) => stream.as_raw_fd(),
            TokioStream::Unix(stream) => stream.as_raw_fd(),
        }
    }
}

/// A tokio listening socket: TCP, or a Unix socket whose file is removed
/// when it closes.
pub enum TokioListener {
    /// Listening on TCP.
    Tcp(tokio::net::TcpListener),
    /// Listening on the Unix socket at the path.
    Unix(tokio::net::UnixListener, std::path::PathBuf),
}

impl Drop for TokioListener {
    fn drop(&mut self) {
        if let TokioListener::Unix(_, path) = self {
            // As Redis at shutdown; a file already gone is no matter.
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The peer address a Unix socket connection is given: it has none (the
/// server names such clients by their socket's path).
const UNIX_PEER: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 0);

impl Listener for TokioListener {
    type Stream = TokioStream;

    async fn accept(&self) -> io::Result<(Self::Stream, SocketAddr)> {
        match self {
            TokioListener::Tcp(listener) => {
                let (stream, peer) = listener.accept().await?;
                stream.set_nodelay(true)?;
                Ok((TokioStream::Tcp(stream), peer))
            }
            TokioListener::Unix(listener, _) => {
                let (stream, _) = listener.accept().await?;
                Ok((TokioStream::Unix(stream), UNIX_PEER))
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        match self {
            TokioListener::Tcp(listener) => listener.local_addr(),
            TokioListener::Unix(..) => Ok(UNIX_PEER),
        }
    }

    fn raw_socket(&self) -> Option<super::RawSocket> {
        use std::os::fd::AsRawFd;
        let fd = match self {
            TokioListener::Tcp(listener) => listener.as_raw_fd(),
            TokioListener::Unix(listener, _) => listener.as_raw_fd(),
        };
        Some(super::RawSocket::new(fd))
    }

    fn from_std(socket: std::net::TcpListener) -> io::Result<Self> {
        tokio::net::TcpListener::from_std(socket).map(TokioListener::Tcp)
    }

    fn adopt(&self, stream: std::net::TcpStream) -> io::Result<Self::Stream> {
        tokio::net::TcpStream::from_std(stream).map(TokioStream::Tcp)
    }

    fn unix_path(&self) -> Option<&std::path::Path> {
        match self {
            TokioListener::Tcp(_) => None,
            TokioListener::Unix(_, path) => Some(path),
        }
    }
}

impl Runtime for TokioRuntime {
    type Stream = TokioStream;
    type Listener = TokioListener;

    fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        tokio::spawn(task);
    }

    fn local_addr_of(stream: &Self::Stream) -> Option<SocketAddr> {
        match stream {
            TokioStream::Tcp(stream) => stream.local_addr().ok(),
            TokioStream::Unix(_) => None,
        }
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
        Ok(TokioListener::Tcp(socket.listen(511)?))
    }

    async fn bind_unix(&self, path: &str, perm: u32) -> io::Result<TokioListener> {
        // As Redis: a file left at the path (a socket of an earlier run)
        // is removed first.
        let _ = std::fs::remove_file(path);
        let listener = tokio::net::UnixListener::bind(path)?;
        if perm != 0 {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(perm))?;
        }
        Ok(TokioListener::Unix(listener, path.into()))
    }

    async fn connect(&self, host: &str, port: u16) -> io::Result<TokioStream> {
        let stream = tokio::net::TcpStream::connect((host, port)).await?;
        stream.set_nodelay(true)?;
        Ok(TokioStream::Tcp(stream))
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

    fn process_usage(&self) -> Option<super::ProcessUsage> {
        Some(super::process_usage())
    }

    fn allocated_bytes(&self) -> Option<u64> {
        Some(super::allocated_bytes())
    }

    fn serves_while_busy(&self) -> bool {
        tokio::runtime::Handle::try_current().is_ok_and(|handle| {
            handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::CurrentThread
        })
    }

    fn raw_socket(stream: &Self::Stream) -> Option<super::RawSocket> {
        Some(super::RawSocket::new(stream.raw_fd()))
    }
}
