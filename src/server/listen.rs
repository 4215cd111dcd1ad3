//! Where a node listens: the address `bind` and `port` name, and CONFIG
//! SET of either at run time, which opens the new listening socket before
//! the old one is closed, as Redis's `changeListenPort` and `applyBind`
//! do, so that a port in use leaves everything as it was.
//!
//! The new socket is opened at once (CONFIG SET answers whether it
//! could), and handed to the accept loop, which serves from it from then
//! on. Only a runtime whose listener has a
//! [`RawSocket`](crate::runtime::RawSocket) (real TCP) can
//! do this; in a simulation `bind` and `port` stay as they are.

use std::io;
use std::net::{IpAddr, SocketAddr};

use super::ServerState;

/// What the accept loop listens on next.
#[derive(Debug)]
pub enum NextListener {
    /// This socket (bound, non-blocking).
    Socket(std::net::TcpListener),
    /// Nothing: `port 0` stops listening on TCP, as in Redis.
    None,
}

/// The address a node listens on for `bind`: its first address (Redis
/// listens on every one; a leading `-` marks an optional one there), `*`
/// meaning every IPv4 interface.
pub fn bind_address(bind: &str) -> io::Result<IpAddr> {
    let first = bind.split_whitespace().next().unwrap_or("127.0.0.1");
    let first = first.strip_prefix('-').unwrap_or(first);
    let first = if first == "*" { "0.0.0.0" } else { first };
    first.parse().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("bad bind address '{bind}'"),
        )
    })
}

/// Why a new `bind` or `port` could not be applied: Redis's texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RebindError {
    /// The runtime cannot open a listener from here (a simulation).
    Unsupported,
    /// The new port could not be listened on.
    Port,
    /// The new addresses could not be bound.
    Bind,
}

impl RebindError {
    /// The reason CONFIG SET gives.
    pub fn reason(self) -> &'static str {
        match self {
            RebindError::Unsupported => "can't set immutable config",
            RebindError::Port => "Unable to listen on this port. Check server logs.",
            RebindError::Bind => "Failed to bind to specified addresses.",
        }
    }
}

/// Opens the listening socket for `bind` and `port` (when either differs
/// from what the node listens on) and hands it to the accept loop.
pub fn rebind(state: &mut ServerState, bind: &str, port: u16) -> Result<(), RebindError> {
    let port_changed = port != state.config.port;
    if !port_changed && bind == state.config.bind {
        return Ok(());
    }
    let failed = if port_changed {
        RebindError::Port
    } else {
        RebindError::Bind
    };
    if state.listener_socket.is_none() {
        return Err(RebindError::Unsupported);
    }
    let next = if port == 0 {
        NextListener::None
    } else {
        let ip = bind_address(bind).map_err(|_| failed)?;
        let opened = std::net::TcpListener::bind(SocketAddr::new(ip, port))
            .and_then(|socket| socket.set_nonblocking(true).map(|()| socket));
        match opened {
            Ok(socket) => NextListener::Socket(socket),
            Err(error) => {
                // Redis's `anetTcpServer` text: the call, then strerror.
                let text = error.to_string();
                let reason = format!(
                    "bind: {}",
                    text.split(" (os error").next().unwrap_or_default()
                );
                state.log(
                    crate::log::Level::Warning,
                    &format!("Warning: Could not create server TCP listening socket {ip}:{port}: {reason}"),
                );
                return Err(failed);
            }
        }
    };
    state.next_listener = Some(next);
    state.accept_notify.notify_one();
    Ok(())
}
