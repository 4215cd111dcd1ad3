//! One client connection: read, parse every complete command in the buffer,
//! execute them under one lock, write all replies with one flush.
//!
//! A partial frame waits for more bytes; a malformed one gets Redis's
//! protocol error and the connection closes after the replies before it. A
//! peer that vanishes mid-frame just ends the task: nothing it sent in part
//! was executed. Neither was a command whose argument in flight outgrew
//! `client-query-buffer-limit`: the client is closed, as in Redis.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::{KillSwitch, Server};
use crate::command::{execute, Ctx, Flow};
use crate::log::Level;
use crate::replication::master::{serve_replica, SyncRequest};
use crate::resp::{parse_command, ArgvBuf, ParseLimits, Parsed, Reply};
use crate::runtime::Runtime;

/// Read buffer growth step.
const READ_CHUNK: usize = 16 * 1024;

/// Reply buffer kept between batches (Redis's per-client static reply
/// buffer is 16 KB). Redis frees the blocks of a larger reply as it writes
/// them; shrinking to this after each write does the same, so a client
/// that once received a large reply does not keep its size.
const REPLY_KEEP: usize = 16 * 1024;

/// A query buffer larger than this (Redis's `PROTO_RESIZE_THRESHOLD`) is
/// trimmed once less than half of it is in use: a large argument leaves
/// its room behind once executed. Redis gets the same from handing a big
/// argument's buffer over to the command and from its clients cron
/// (`clientsCronResizeQueryBuffer`); trimming at once, rather than on a
/// timer, keeps the connection free of clocks.
const QUERY_KEEP: usize = 32 * 1024;

/// What processing a buffer decided.
enum Next {
    /// Read more bytes (nothing complete is left).
    Read,
    /// Close once the replies are written.
    Close,
    /// Sleep, then go on with the buffered commands.
    Sleep(Duration),
    /// Hand the connection over to the replication layer.
    Replicate(SyncRequest),
    /// A blocking pop blocked the client: wait until it is served, times
    /// out or is unblocked.
    Block,
    /// A client pause holds the next command back: wait until the pause
    /// ends or is lifted, then try it again.
    Paused(super::pause::Postponed),
    /// MIGRATE: talk to the target, then finish the command.
    Migrate(Box<crate::command::migrate::MigrateJob>),
    /// WAIT: block until enough replicas acknowledged.
    Wait {
        replicas: usize,
        offset: u64,
        timeout: Option<Duration>,
    },
}

/// Redis's reply to a connection past `maxclients`, sent before closing it.
pub(super) const MAX_CLIENTS_REACHED: &[u8] = b"-ERR max number of clients reached\r\n";

/// Redis 7.0's reply to a connection from outside loopback while protected
/// mode is on and the default user has no password (its wording, typos
/// included), sent before closing it.
pub(super) const PROTECTED_MODE_DENIED: &[u8] = b"-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/// Tells a refused connection why (`reason`, a RESP error), then closes
/// it. Best effort, as in Redis: a peer that does not read just loses the
/// message.
pub(super) async fn reject_client<S: AsyncWrite + Unpin>(mut stream: S, reason: &'static [u8]) {
    if stream.write_all(reason).await.is_ok() {
        let _ = stream.flush().await;
    }
    let _ = stream.shutdown().await;
}

/// Serves one admitted client (`client`: its id and kill switch) until it
/// disconnects, is killed, or becomes a replica link.
pub(super) async fn serve_client<R: Runtime>(
    server: Server<R>,
    mut stream: R::Stream,
    client: (u64, Arc<KillSwitch>),
) {
    let rt = server.runtime().clone();
    let (id, kill) = client;
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    let mut argv = ArgvBuf::default();
    let mut out = Reply::new();
    // Nothing can complete the frame at the front before the buffer holds
    // this many bytes; skip parsing until then.
    let mut needed = 1;
    let push_notify = server
        .state()
        .clients
        .get(&id)
        .map(|client| client.push_notify.clone());
    let Some(push_notify) = push_notify else {
        return;
    };
    loop {
        let mut next = if buf.len() >= needed {
            process(&server, id, &mut buf, &mut argv, &mut out, &mut needed)
        } else {
            take_pushes(&server, id, &mut out);
            Next::Read
        };
        // Redis's query buffer holds what is not parsed into arguments yet
        // (finished arguments move to argv): its limit caps one argument
        // or line in flight, not a whole multibulk.
        let query_len = buf.len() - argv.unparsed_from();
        let query_limit = server.state().config.client_query_buffer_limit;
        if matches!(next, Next::Read) && query_len as u64 > query_limit {
            close_for_query_limit(&server, id, &buf[argv.unparsed_from()..]);
            break;
        }
        server.run_controls();
        if server.shutdown.is_killed() {
            // The node stops (SHUTDOWN, from this client or from one a
            // busy script answered): as Redis exits, nothing more is
            // written, and the connection closes only once the node no
            // longer listens, so that a client reconnecting at once is
            // refused rather than accepted and dropped.
            tokio::select! {
                biased;
                _ = server.stopped_listening.killed() => {}
                _ = rt.sleep(Duration::from_secs(1)) => {}
            }
            break;
        }
        if let Next::Wait {
            replicas,
            offset,
            timeout,
        } = next
        {
            server.state().set_waiting_for_acks(id, true);
            let waiting = WaitingConnection {
                id,
                kill: &kill,
                stream: &mut stream,
                buf: &mut buf,
            };
            let acked = wait_for_acks(&server, waiting, replicas, offset, timeout).await;
            server.state().set_waiting_for_acks(id, false);
            // The client went away (or was closed for its query buffer).
            let Some(acked) = acked else {
                break;
            };
            server.state().note_wait(offset, acked as i64);
            out.integer(acked as i64);
            next = Next::Sleep(Duration::ZERO);
        }
        if let Next::Migrate(job) = next {
            let outcome = tokio::select! {
                biased;
                _ = kill.killed() => break,
                outcome = server.migrate(&job) => outcome,
            };
            let now_ms = rt.unix_time_ms();
            let mut state = server.state_at(rt.monotonic());
            let Some(mut client) = state.clients.remove(&id) else {
                break;
            };
            let mut ctx = Ctx::new(&mut state, &mut client, &mut out, now_ms);
            crate::command::migrate::finish(&mut ctx, &job, &outcome);
            state.clients.insert(id, client);
            drop(state);
            next = Next::Sleep(Duration::ZERO);
        }
        if let Next::Sleep(duration) = next {
            // The reply of the sleeping command goes out after the sleep.
            rt.sleep(duration).await;
        }
        if !out.is_empty() {
            // A client over its soft output limit is closed if the write
            // still has not gone through when the limit's seconds are up:
            // Redis would go on reading its pipeline and find it over the
            // limit for too long.
            let soft_deadline = soft_limit_deadline(&server, id);
            let write = async {
                stream.write_all(out.as_bytes()).await?;
                stream.flush().await
            };
            // A client closed for its output limits (by a message
            // delivered while this write waits) stops writing at once.
            let result = match soft_deadline {
                None => tokio::select! {
                    biased;
                    _ = kill.killed() => break,
                    result = write => Some(result),
                },
                Some(after) => tokio::select! {
                    biased;
                    _ = kill.killed() => break,
                    result = write => Some(result),
                    _ = rt.sleep(after) => None,
                },
            };
            let Some(result) = result else {
                close_for_output_limit(&server.state(), id);
                break;
            };
            server.state().stats.net_output_bytes += out.len() as u64;
            out.clear();
            if out.capacity() > REPLY_KEEP {
                out.shrink_to(REPLY_KEEP);
            }
            if result.is_err() {
                break;
            }
        }
        match next {
            Next::Close => break,
            Next::Sleep(_) => continue,
            Next::Replicate(request) => {
                let leftover = std::mem::take(&mut buf);
                serve_replica(server.clone(), stream, id, request, leftover).await;
                server.state().remove_client(id);
                return;
            }
            Next::Block => {
                let waiting = BlockedConnection {
                    id,
                    kill: &kill,
                    push_notify: &push_notify,
                };
                if !wait_while_blocked(&server, waiting, &mut stream, &mut buf).await {
                    break;
                }
                let close = server
                    .state()
                    .clients
                    .get(&id)
                    .is_some_and(|client| client.close_after_reply);
                if close {
                    // The reply (the role change's error) goes out, then the
                    // connection closes, as Redis's CLIENT_CLOSE_AFTER_REPLY.
                    take_pushes(&server, id, &mut out);
                    if stream.write_all(out.as_bytes()).await.is_ok() {
                        let _ = stream.flush().await;
                    }
                    break;
                }
                // The reply waits in the client's pushes; it goes out ahead
                // of whatever follows.
                continue;
            }
            Next::Paused(postponed) => {
                let lifted = postponed.lifted.notified();
                tokio::pin!(lifted);
                lifted.as_mut().enable();
                if server.state().client_pauses.epoch() != postponed.epoch {
                    continue;
                }
                let pause_left = postponed
                    .until
                    .map(|until| until.saturating_sub(rt.monotonic()) + Duration::from_millis(1));
                tokio::select! {
                    biased;
                    _ = kill.killed() => break,
                    _ = &mut lifted => {}
                    // Messages published to it meanwhile still go out.
                    _ = push_notify.notified() => {}
                    // (A disabled branch's future is still built: any length.)
                    _ = rt.sleep(pause_left.unwrap_or_default()), if pause_left.is_some() => {}
                }
                continue;
            }
            Next::Wait { .. } | Next::Migrate(_) | Next::Read => {}
        }
        if kill.is_killed() {
            break;
        }
        // Room for what the frame in flight announced, but never more than
        // the query buffer limit lets it hold: a header announcing a huge
        // bulk allocates nothing before its bytes arrive.
        let room = (query_limit as usize)
            .saturating_sub(query_len)
            .saturating_add(1);
        let want = needed.saturating_sub(buf.len()).min(room).max(READ_CHUNK);
        buf.reserve(want);
        // Checked after `reserve`: an emptied BytesMut takes its whole
        // allocation back there.
        let in_use = buf.len() + want;
        if buf.capacity() > QUERY_KEEP && buf.capacity() / 2 > in_use {
            let mut trimmed = BytesMut::with_capacity(in_use);
            trimmed.extend_from_slice(&buf);
            buf = trimmed;
        }
        // What the client holds while it waits, for CLIENT LIST; with
        // nothing buffered, a busy script may answer it meanwhile.
        note_buffers(&server, id, &buf, &out);
        let read = tokio::select! {
            biased;
            _ = kill.killed() => break,
            // Messages published to this client: write them.
            _ = push_notify.notified() => None,
            read = stream.read_buf(&mut buf) => Some(read),
        };
        let carried = {
            let mut state = server.state();
            if let Some(Ok(n)) = read {
                state.stats.net_input_bytes += n as u64;
            }
            state.clients.get_mut(&id).map(|client| {
                client.awaiting_input = false;
                std::mem::take(&mut client.carried_input)
            })
        };
        if let Some(carried) = carried.filter(|carried| !carried.is_empty()) {
            // A busy script read these before what was just read, and left
            // them for lack of a whole command.
            let mut joined = BytesMut::with_capacity(carried.len() + buf.len());
            joined.extend_from_slice(&carried);
            joined.extend_from_slice(&buf);
            buf = joined;
            argv.reset();
            needed = 1;
        }
        match read {
            // Messages published to this client: write them.
            None => continue,
            Some(Ok(0) | Err(_)) => break,
            Some(Ok(_)) => {}
        }
    }
    server.state().remove_client(id);
}

/// Moves the pub/sub messages waiting for client `id` to `out`, behind
/// what `out` holds (they were published after those replies were made).
fn take_pushes<R: Runtime>(server: &Server<R>, id: u64, out: &mut Reply) {
    let mut state = server.state();
    if let Some(client) = state.clients.get_mut(&id) {
        if !client.pushes.is_empty() {
            // Taken whole: a burst's room goes back once it is written.
            out.raw(&client.pushes.take());
            client.reply_pending = out.len();
        }
    }
}

/// The `client-output-buffer-limit` class of `client`: `pubsub` while it
/// is subscribed to anything, `normal` otherwise (Redis's `getClientType`).
pub(super) fn output_limits(config: &super::Config, client: &super::Client) -> (u64, u64, u64) {
    if client.subscriptions.active() {
        config.pubsub_output_limit
    } else {
        config.normal_output_limit
    }
}

/// How long a client whose pending replies are over the soft output limit
/// may still take to accept them; `None` when no soft limit runs.
fn soft_limit_deadline<R: Runtime>(server: &Server<R>, id: u64) -> Option<Duration> {
    let state = server.state();
    let client = state.clients.get(&id)?;
    let (_, soft, soft_seconds) = output_limits(&state.config, client);
    let since = client.soft_limit_since?;
    if soft == 0 {
        return None;
    }
    // Redis closes once more than the limit's seconds have passed. Seconds
    // too many to add up never run out.
    let deadline = since
        .checked_add(Duration::from_secs(soft_seconds))?
        .checked_add(Duration::from_millis(1))?;
    Some(deadline.saturating_sub(server.runtime().monotonic()))
}

/// Records the connection's buffer sizes in its client (CLIENT LIST
/// `qbuf-free`, `rbs`, `omem`) once its replies are written and its
/// buffers trimmed, right before it waits for input; with nothing
/// buffered, it is ready for a busy script to answer (see `busy`).
fn note_buffers<R: Runtime>(server: &Server<R>, id: u64, buf: &BytesMut, out: &Reply) {
    if let Some(client) = server.state().clients.get_mut(&id) {
        record_buffers(client, buf, out);
        client.awaiting_input = buf.is_empty() && out.is_empty();
    }
}

/// Copies the buffer sizes CLIENT LIST shows into `client`.
fn record_buffers(client: &mut super::Client, buf: &BytesMut, out: &Reply) {
    client.query_buffer_free = buf.capacity() - buf.len();
    client.reply_buffer_size = out.capacity();
    client.reply_pending = out.len();
}

/// Logs, as Redis does, that a normal client is closed for passing its
/// output buffer limits (its pending replies are dropped unsent).
fn close_for_output_limit(state: &super::ServerState, id: u64) {
    let Some(client) = state.clients.get(&id) else {
        return;
    };
    let info = crate::command::client_line(client, state.mono_now, None);
    state.log(
        Level::Warning,
        &format!(
            "Client {} scheduled to be closed ASAP for overcoming of output buffer limits.",
            info.trim_end()
        ),
    );
}

/// Closes a client whose query buffer passed `client-query-buffer-limit`,
/// with Redis's log line; nothing of the unfinished command was executed.
fn close_for_query_limit<R: Runtime>(server: &Server<R>, id: u64, query: &[u8]) {
    let state = server.state();
    let info = state.clients.get(&id).map_or_else(String::new, |client| {
        let line = crate::command::client_line(client, state.mono_now, None);
        line.trim_end().to_string()
    });
    let initial = &query[..query.len().min(64)];
    state.log(
        Level::Warning,
        &format!(
            "Closing client that reached max query buffer length: {info} (qbuf initial bytes: {})",
            super::monitor::repr(initial)
        ),
    );
}

/// A connection whose client is blocked on keys.
struct BlockedConnection<'a> {
    id: u64,
    kill: &'a KillSwitch,
    push_notify: &'a tokio::sync::Notify,
}

/// Waits while a client is blocked on keys: until it is served or
/// unblocked (its connection is woken), or its deadline passes on the
/// runtime's monotonic clock (it then gets the timeout reply). Meanwhile
/// what the client sends is read into `buf` (and runs once it is
/// unblocked), as Redis goes on filling a blocked client's query buffer,
/// so that a client that disconnects stops waiting at once and is never
/// served an element nobody would receive. False when the client was
/// killed or disconnected.
async fn wait_while_blocked<R: Runtime>(
    server: &Server<R>,
    blocked: BlockedConnection<'_>,
    stream: &mut R::Stream,
    buf: &mut BytesMut,
) -> bool {
    let BlockedConnection {
        id,
        kill,
        push_notify,
    } = blocked;
    let rt = server.runtime().clone();
    loop {
        let now = rt.monotonic();
        let deadline = {
            let mut state = server.state_at(now);
            let Some(blocked) = state.blocking.get(id) else {
                return true;
            };
            match blocked.deadline {
                Some(deadline) if now >= deadline => {
                    crate::command::time_out_blocked(&mut state, id);
                    return true;
                }
                deadline => deadline,
            }
        };
        let wait = async {
            match deadline {
                Some(deadline) => rt.sleep(deadline - now).await,
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            biased;
            _ = kill.killed() => return false,
            _ = push_notify.notified() => {}
            _ = wait => {}
            read = stream.read_buf(buf) => if !took_in_while_blocked(server, id, buf, read) {
                return false;
            },
        }
    }
}

/// Takes in what a blocked client sent (`read`, now at the end of `buf`),
/// as Redis fills a blocked client's query buffer; false when the client
/// is gone: it disconnected, or passed its query buffer limit and was
/// closed.
fn took_in_while_blocked<R: Runtime>(
    server: &Server<R>,
    id: u64,
    buf: &mut BytesMut,
    read: std::io::Result<usize>,
) -> bool {
    let Ok(n @ 1..) = read else {
        return false;
    };
    let limit = {
        let mut state = server.state();
        state.stats.net_input_bytes += n as u64;
        state.config.client_query_buffer_limit
    };
    if buf.len() as u64 > limit {
        close_for_query_limit(server, id, buf);
        return false;
    }
    true
}

/// A connection whose client waits in WAIT.
struct WaitingConnection<'a, S> {
    id: u64,
    kill: &'a KillSwitch,
    stream: &'a mut S,
    buf: &'a mut BytesMut,
}

/// Blocks a WAIT until `replicas` replicas acknowledged `offset`, the
/// timeout passes, or the client is killed; returns how many did. As for a
/// client blocked on keys, what the client sends meanwhile is read into its
/// buffer (and runs after the reply), so a client that disconnects ends
/// its WAIT at once (`None`), as in Redis, instead of holding a blocked
/// client until the timeout (forever with 0).
async fn wait_for_acks<R: Runtime>(
    server: &Server<R>,
    waiting: WaitingConnection<'_, R::Stream>,
    replicas: usize,
    offset: u64,
    timeout: Option<Duration>,
) -> Option<usize> {
    let WaitingConnection {
        id,
        kill,
        stream,
        buf,
    } = waiting;
    let rt = server.runtime().clone();
    let notify = server.state().ack_notify.clone();
    let deadline = timeout.map(|t| rt.monotonic() + t);
    loop {
        let notified = notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let acked = server.state().repl.replicas_acked(offset);
        let now = rt.monotonic();
        if acked >= replicas || deadline.is_some_and(|d| now >= d) || kill.is_killed() {
            return Some(acked);
        }
        let step = deadline.map_or(Duration::from_secs(1), |d| {
            (d - now).min(Duration::from_secs(1))
        });
        tokio::select! {
            biased;
            _ = &mut notified => {}
            _ = rt.sleep(step) => {}
            read = stream.read_buf(buf) => if !took_in_while_blocked(server, id, buf, read) {
                return None;
            },
        }
    }
}

/// Executes every complete command at the front of `buf`.
fn process<R: Runtime>(
    server: &Server<R>,
    id: u64,
    buf: &mut BytesMut,
    argv: &mut ArgvBuf,
    out: &mut Reply,
    needed: &mut usize,
) -> Next {
    let rt = server.runtime();
    let mut state = server.state();
    // One reading of the clocks serves the whole batch: the commands of one
    // read run back to back, within microseconds.
    let now = rt.monotonic();
    let now_ms = rt.unix_time_ms();
    if let Some(until) = state.paused_until {
        if until > now {
            return Next::Sleep(until - now);
        }
        state.paused_until = None;
    }
    let Some(mut client) = state.clients.remove(&id) else {
        return Next::Close;
    };
    // A client held by a pause tries its command again.
    state.client_pauses.release(id);
    // Messages published to it before this batch go out first.
    out.raw(client.pushes.as_bytes());
    client.pushes.clear();
    let mut consumed_total = 0;
    let mut next = Next::Read;
    loop {
        let limits = ParseLimits {
            max_bulk_bytes: state.config.proto_max_bulk_len,
            unauthenticated: state.auth_required(&client),
        };
        let pending = &buf[consumed_total..];
        match parse_command(pending, argv, limits) {
            Ok(Parsed::Incomplete { min_len }) => {
                *needed = min_len;
                break;
            }
            Ok(Parsed::Empty { consumed }) => consumed_total += consumed,
            Ok(Parsed::Command { consumed }) => {
                let args = argv.argv(pending);
                client.last_interaction = now;
                // CLIENT LIST's `qbuf` while it runs: the query buffer from
                // this command on, as Redis shows it.
                client.query_buffer_len = pending.len();
                state.mono_now = now;
                let reply_start = out.len();
                let mut ctx = Ctx::new(&mut state, &mut client, out, now_ms);
                let executed = {
                    let _guard = super::CommandGuard::enter();
                    catch_unwind(AssertUnwindSafe(|| execute(&mut ctx, args)))
                };
                if let Err(panic) = executed {
                    // A bug: the command may be half-applied and was not
                    // propagated. The node crashes, as Redis does on a failed
                    // assertion, so that no client or replica is ever served
                    // that state; the panic goes on to the runtime (a crash
                    // verdict in a simulation, the end of `replsim serve`).
                    let name = String::from_utf8_lossy(args.get(0));
                    let command = format!("'{name}' with {} arguments", args.len() - 1);
                    server.crash(
                        &mut state,
                        &command,
                        super::panic_text(&*panic).unwrap_or("a panic with a non-text payload"),
                    );
                    resume_unwind(panic);
                }
                let flow = std::mem::take(&mut ctx.flow);
                if let Flow::Postponed(postponed) = flow {
                    // Not consumed: it runs once the pause lets it.
                    state.client_pauses.hold(id);
                    next = Next::Paused(postponed);
                    break;
                }
                consumed_total += consumed;
                // CLIENT REPLY OFF / SKIP: the reply is dropped, the
                // pushes the command made for this client are not.
                client.end_reply(out, reply_start);
                out.raw(&client.pushes.take());
                // Normal clients only: a replica's replies are its stream,
                // measured in the replication layer, and a master gets none.
                if client.kind == super::ClientKind::Normal && !client.is_master {
                    let limit = output_limits(&state.config, &client);
                    let pending = out.len() as u64;
                    if super::output_limit_reached(
                        limit,
                        pending,
                        &mut client.soft_limit_since,
                        now,
                    ) {
                        // The logged line shows the client as it is now:
                        // the rest of the batch unparsed, the replies held.
                        client.query_buffer_len = buf.len() - consumed_total;
                        record_buffers(&mut client, buf, out);
                        state.clients.insert(id, client);
                        close_for_output_limit(&state, id);
                        // Redis writes nothing more to a client it closes
                        // ASAP: the replies of this batch are dropped.
                        out.clear();
                        return Next::Close;
                    }
                }
                // What the last incomplete frame needed no longer applies:
                // a flow that ends the batch early (WAIT, DEBUG SLEEP)
                // leaves the rest of the buffer to be parsed afresh, and a
                // stale larger need would stall it until more bytes came.
                *needed = 1;
                match flow {
                    // Handled above, before the command counted as consumed.
                    Flow::Continue | Flow::Postponed(_) => {}
                    Flow::CloseAfterReply => {
                        next = Next::Close;
                        break;
                    }
                    Flow::Replicate(request) => {
                        next = Next::Replicate(request);
                        break;
                    }
                    Flow::Block => {
                        next = Next::Block;
                        break;
                    }
                    Flow::Wait {
                        replicas,
                        offset,
                        timeout,
                    } => {
                        next = Next::Wait {
                            replicas,
                            offset,
                            timeout,
                        };
                        break;
                    }
                    Flow::Migrate(job) => {
                        next = Next::Migrate(job);
                        break;
                    }
                    Flow::Sleep(duration) => {
                        // DEBUG SLEEP stops the whole server, as Redis's
                        // blocked main thread does.
                        state.paused_until = Some(rt.monotonic() + duration);
                        next = Next::Sleep(duration);
                        break;
                    }
                }
            }
            Err(error) => {
                out.error(&format!("ERR {error}"));
                next = Next::Close;
                break;
            }
        }
        if consumed_total == buf.len() {
            *needed = 1;
            break;
        }
    }
    // `needed` was measured from the first unconsumed byte, which is where
    // the buffer starts once advanced.
    buf.advance(consumed_total);
    client.query_buffer_len = buf.len() - argv.unparsed_from();
    record_buffers(&mut client, buf, out);
    state.clients.insert(id, client);
    next
}
