//! A script that runs past `busy-reply-threshold`: what Redis 7.0 does
//! while it is "busy" (`scriptInterrupt` and `processEventsWhileBlocked`).
//!
//! A script runs with the node's state locked, from start to end, as on
//! Redis's one thread. Every 100,000 Lua instructions its hook calls
//! [`interrupt`]. Once the script has run for the threshold, the node logs
//! "Slow script detected" and from then on, at every hook, reads what the
//! other clients sent, and answers it: `-BUSY` for most commands, while the
//! few Redis lets through (`allow_busy`: SCRIPT KILL, FUNCTION KILL and
//! STATS, SHUTDOWN NOSAVE, MULTI, DISCARD, WATCH, UNWATCH, AUTH, HELLO,
//! QUIT, RESET, REPLCONF) run. Nothing else moves meanwhile, as in Redis:
//! no cron, no expiry, no blocked client served or timed out, and a
//! replica's link leaves its master's stream unread.
//!
//! Only clients whose connection is parked at its read with nothing
//! buffered are answered (Redis does not read the script's own client, a
//! blocked one or the master link either); their sockets are read and
//! written directly ([`RawSocket`](crate::runtime::RawSocket)), since
//! their tasks cannot run until the script ends. This needs real time and
//! a single-threaded runtime ([`ServerState::serves_while_busy`]); in a
//! simulation no script is ever busy.

use std::time::Duration;

use std::os::fd::AsRawFd;

use super::{Client, ClientKind, Control, ServerState};
use crate::command::{execute, Ctx, Flow};
use crate::log::Level;
use crate::resp::{parse_command, ArgvBuf, ParseLimits, Parsed, Reply};
use crate::runtime::RawSocket;

/// Redis's reply to a command refused while an EVAL script is busy.
pub const BUSY_EVAL: &str =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
/// Redis's reply to a command refused while a function is busy.
pub const BUSY_FUNCTION: &str =
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";

/// Bytes read from a client's socket at a time.
const READ_CHUNK: usize = 16 * 1024;

/// The script or function running now.
#[derive(Debug, Clone)]
pub struct RunningScript {
    /// Its name: the sha of an EVAL script, the function's name.
    pub name: String,
    /// The command that runs it, as its client sent it.
    pub command: Vec<Vec<u8>>,
    /// When it started (monotonic).
    pub started: Duration,
    /// Unix ms when it started (the time of its commands).
    pub started_unix_ms: u64,
    /// EVAL (not FCALL).
    pub eval_mode: bool,
    /// It ran a write command (SCRIPT KILL cannot stop it then).
    pub write_dirty: bool,
    /// It ran past `busy-reply-threshold`: other clients get `-BUSY`.
    pub timed_out: bool,
    /// SCRIPT KILL, FUNCTION KILL or SHUTDOWN NOSAVE asked it to stop.
    pub killed: bool,
    /// Libraries and functions the node held when it started (FUNCTION
    /// STATS while it runs: the engine is in use).
    pub function_counts: (usize, usize),
}

impl RunningScript {
    /// The `-BUSY` error other clients get.
    pub fn busy_error(&self) -> &'static str {
        if self.eval_mode {
            BUSY_EVAL
        } else {
            BUSY_FUNCTION
        }
    }
}

impl ServerState {
    /// The running script, once it is past `busy-reply-threshold`.
    pub fn busy_script(&self) -> Option<&RunningScript> {
        self.running_script
            .as_ref()
            .filter(|script| script.timed_out)
    }
}

/// `busy-reply-threshold` (`lua-time-limit`) in milliseconds; 0 means
/// never busy.
pub fn busy_reply_threshold(state: &ServerState) -> u64 {
    state
        .config
        .others
        .get("busy-reply-threshold")
        .and_then(|value| value.parse().ok())
        .unwrap_or(5000)
}

/// The running script's hook, every 100,000 instructions (Redis's
/// `scriptInterrupt`): records whether it wrote, turns it busy once it is
/// past the threshold, then serves the other clients. Returns whether the
/// script must stop.
pub fn interrupt(state: &mut ServerState, write_dirty: bool) -> bool {
    let now = (state.clock)();
    let threshold = Duration::from_millis(busy_reply_threshold(state));
    let Some(running) = state.running_script.as_mut() else {
        return false;
    };
    running.write_dirty = write_dirty;
    let elapsed = now.saturating_sub(running.started);
    let now_ms = running.started_unix_ms + elapsed.as_millis() as u64;
    if !running.timed_out {
        if threshold.is_zero() || elapsed < threshold {
            return false;
        }
        running.timed_out = true;
        let kill = if running.eval_mode {
            "SCRIPT KILL"
        } else {
            "FUNCTION KILL"
        };
        let line = format!(
            "Slow script detected: still in execution after {} milliseconds. You can try killing the script using the {kill} command. Script name is: {}.",
            elapsed.as_millis(),
            running.name
        );
        state.log(Level::Warning, &line);
    }
    let mono_before = state.mono_now;
    state.mono_now = now;
    // The script's writes so far are propagated when it ends, as one
    // block: the commands run meanwhile must not send them early.
    let script_writes = std::mem::take(&mut state.pending_propagation);
    accept_connections(state, now);
    serve_clients(state, now_ms);
    let during = std::mem::replace(&mut state.pending_propagation, script_writes);
    state.pending_propagation.extend(during);
    state.mono_now = mono_before;
    let shutting_down = shutting_down(state);
    let Some(running) = state.running_script.as_mut() else {
        return false;
    };
    // SHUTDOWN NOSAVE stops the script too: the node exits once it ends.
    running.killed |= shutting_down;
    let killed = running.killed;
    if killed {
        // The hook is not called again for this run: it raises at every
        // instruction from now on.
        state.log(
            Level::Warning,
            "Lua script killed by user with SCRIPT KILL.",
        );
    }
    killed
}

/// Whether a command run meanwhile asked the node to stop.
fn shutting_down(state: &ServerState) -> bool {
    state
        .control
        .iter()
        .any(|control| matches!(control, Control::Shutdown))
}

/// Accepts the connections waiting on the listening socket, as Redis's
/// event loop does while a script is busy: they are clients at once
/// (answered like the others), and get their connection tasks once the
/// script ends.
fn accept_connections(state: &mut ServerState, now: Duration) {
    let (Some(listener), Some(local)) = (state.listener_socket, state.listen_addr) else {
        return;
    };
    loop {
        let (stream, peer) = match listener.try_accept() {
            Ok(accepted) => accepted,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            // None waiting (or out of descriptors: the accept loop backs
            // off once the script ends).
            Err(_) => return,
        };
        let socket = RawSocket::new(stream.as_raw_fd());
        match state.admit(peer, local, now, Some(socket)) {
            Ok(client) => {
                if let Some(admitted) = state.clients.get_mut(&client.0) {
                    admitted.awaiting_input = true;
                }
                state.accepted_while_busy.push((stream, client));
                state.accept_notify.notify_one();
            }
            Err(reason) => {
                // Best effort, as the accept loop's refusal; dropping the
                // stream closes it.
                let _ = socket.try_write(reason);
            }
        }
    }
}

/// Reads and answers every client parked at its read (Redis's
/// `processEventsWhileBlocked`), in id order.
fn serve_clients(state: &mut ServerState, now_ms: u64) {
    let waiting: Vec<u64> = state
        .clients
        .values()
        .filter(|client| {
            client.awaiting_input
                && client.raw_socket.is_some()
                && client.kind == ClientKind::Normal
                && !client.is_master
                && !client.blocked
        })
        .map(|client| client.id)
        .collect();
    for id in waiting {
        if let Some(mut client) = state.clients.remove(&id) {
            serve_client(state, &mut client, now_ms);
            state.clients.insert(id, client);
        }
    }
}

/// Reads what `client` sent and runs its whole commands; what does not
/// make a whole command yet waits in its `carried_input` for its
/// connection.
fn serve_client(state: &mut ServerState, client: &mut Client, now_ms: u64) {
    let Some(socket) = client.raw_socket else {
        return;
    };
    let mut input = std::mem::take(&mut client.carried_input);
    let mut chunk = vec![0u8; READ_CHUNK];
    let limit = state.config.client_query_buffer_limit;
    loop {
        match socket.try_read(&mut chunk) {
            // The peer closed: its connection finds out at its next read.
            Ok(0) => break,
            Ok(n) => {
                input.extend_from_slice(&chunk[..n]);
                state.stats.net_input_bytes += n as u64;
                if n < chunk.len() || input.len() as u64 > limit {
                    break;
                }
            }
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            // Nothing more now (or an error its connection will meet).
            Err(_) => break,
        }
    }
    let mut out = Reply::with_protocol(client.is_resp3());
    let mut argv = ArgvBuf::default();
    let mut consumed_total = 0;
    let mut close = false;
    while consumed_total < input.len() {
        let limits = ParseLimits {
            max_bulk_bytes: state.config.proto_max_bulk_len,
            unauthenticated: state.auth_required(client),
        };
        let pending = &input[consumed_total..];
        match parse_command(pending, &mut argv, limits) {
            Ok(Parsed::Incomplete { .. }) => break,
            Ok(Parsed::Empty { consumed }) => consumed_total += consumed,
            Ok(Parsed::Command { consumed }) => {
                let args = argv.argv(pending);
                client.last_interaction = state.mono_now;
                let reply_start = out.len();
                let mut ctx = Ctx::new(state, client, &mut out, now_ms);
                execute(&mut ctx, args);
                let flow = std::mem::take(&mut ctx.flow);
                if let Flow::Postponed(_) = flow {
                    // Held by a client pause: it runs once its connection
                    // takes the rest of the input.
                    break;
                }
                consumed_total += consumed;
                client.end_reply(&mut out, reply_start);
                if !matches!(flow, Flow::Continue) {
                    // QUIT and SHUTDOWN close the connection; the commands
                    // allowed while busy have no other flow.
                    close = true;
                    break;
                }
            }
            Err(error) => {
                out.error(&format!("ERR {error}"));
                close = true;
                break;
            }
        }
    }
    client.carried_input = input.split_off(consumed_total);
    if close {
        client.carried_input.clear();
    }
    send(state, client, socket, out.as_bytes());
    // After SHUTDOWN the connection stays open until the node is gone, so
    // that its client never finds the node still listening (Redis exits
    // from inside the script).
    if close && !shutting_down(state) {
        client.kill.kill();
    }
}

/// Writes `replies` to the client's socket, behind the messages still
/// waiting for its connection; what the socket does not take now waits in
/// its pushes, which its connection writes before anything else.
fn send(state: &mut ServerState, client: &mut Client, socket: RawSocket, replies: &[u8]) {
    let mut pending = client.pushes.take();
    pending.extend_from_slice(replies);
    let mut written = 0;
    while written < pending.len() {
        match socket.try_write(&pending[written..]) {
            Ok(0) => break,
            Ok(n) => written += n,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    state.stats.net_output_bytes += written as u64;
    if written < pending.len() {
        client.pushes.raw(&pending[written..]);
        client.push_notify.notify_one();
    }
}
