//! Non-blocking reads and writes on a connection's socket from outside its
//! task: what a script past `busy-reply-threshold` needs to answer other
//! clients while it keeps the node (and, on a single-threaded runtime, the
//! thread) to itself, as Redis's `processEventsWhileBlocked` does.
//!
//! Only real sockets have one: a simulated connection is reached through
//! the simulator's scheduler, which does not run while a command computes
//! (and simulated time does not pass then either, so no script is ever
//! busy in a simulation).

use std::io::{self, Read, Write};
use std::mem::ManuallyDrop;
use std::os::fd::{FromRawFd, RawFd};

/// The descriptor of a non-blocking TCP socket owned by a task: a
/// connection's, or the server's listening socket.
///
/// It is only used while its owner is parked (a connection at its read,
/// see `Client::awaiting_input`; the listener in its accept loop), so
/// the socket is open: its owner closes it only after it has left that
/// state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawSocket(RawFd);

impl RawSocket {
    /// Wraps `fd`, a socket in non-blocking mode (tokio's sockets are).
    pub fn new(fd: RawFd) -> Self {
        RawSocket(fd)
    }

    /// A std view of the socket that never closes it.
    fn borrowed(self) -> ManuallyDrop<std::net::TcpStream> {
        // SAFETY: the descriptor is an open socket for as long as the
        // owning task is parked at its read (the only time it is used, see
        // the type's doc), and `ManuallyDrop` keeps this view from closing
        // it.
        ManuallyDrop::new(unsafe { std::net::TcpStream::from_raw_fd(self.0) })
    }

    /// Reads what the socket holds now, without waiting:
    /// `ErrorKind::WouldBlock` when it holds nothing, `Ok(0)` at its end.
    pub fn try_read(self, buf: &mut [u8]) -> io::Result<usize> {
        let mut stream = self.borrowed();
        stream.read(buf)
    }

    /// Writes as much of `bytes` as the socket takes now, without waiting.
    pub fn try_write(self, bytes: &[u8]) -> io::Result<usize> {
        let mut stream = self.borrowed();
        stream.write(bytes)
    }

    /// Accepts a connection waiting on this listening socket, without
    /// waiting (`ErrorKind::WouldBlock` when none waits). The connection
    /// is non-blocking, with Nagle's algorithm off, as the runtime's own.
    pub fn try_accept(self) -> io::Result<(std::net::TcpStream, std::net::SocketAddr)> {
        // SAFETY: as in `borrowed`: the listener outlives every use (the
        // server's accept loop owns it and is parked while this runs).
        let listener = ManuallyDrop::new(unsafe { std::net::TcpListener::from_raw_fd(self.0) });
        let (stream, peer) = listener.accept()?;
        stream.set_nonblocking(true)?;
        stream.set_nodelay(true)?;
        Ok((stream, peer))
    }
}
