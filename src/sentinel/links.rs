//! The two connections a Sentinel keeps to each instance, as Redis's
//! `instanceLink`: a command link (PING, INFO, PUBLISH of hellos,
//! IS-MASTER-DOWN-BY-ADDR, the failover's MULTI/EXEC) and, to masters
//! and replicas, a pub/sub link subscribed to `__sentinel__:hello`.
//!
//! Each link is one task on the runtime. The timer decides what to send
//! and queues it on the link's channel; the task writes it (one flush per
//! burst, so a MULTI ... EXEC leaves together), reads the replies in order
//! and hands each one, with what it answers, back to the Sentinel.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::resp::{encode_command, Frame, FrameError};
use crate::runtime::Runtime;

use super::state::Kind;
use super::Core;

/// How long a connection attempt may take before it counts as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(1000);

/// What a reply on the command link answers, so it is handled as Redis's
/// callback for that command would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyKind {
    /// Ignored (AUTH, CLIENT SETNAME, the failover's transaction).
    Discard,
    /// PING.
    Ping,
    /// INFO.
    Info,
    /// PUBLISH of a hello.
    Publish,
    /// SENTINEL IS-MASTER-DOWN-BY-ADDR.
    IsMasterDown,
}

/// A command queued on a link.
#[derive(Debug)]
pub struct Outgoing {
    /// The command's arguments.
    pub args: Vec<Vec<u8>>,
    /// What its reply answers.
    pub reply: ReplyKind,
}

/// Which instance a link task works for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceRef {
    /// The monitored master's name.
    pub master: String,
    /// What the instance is.
    pub kind: Kind,
    /// Its name within the master (ignored for the master itself).
    pub name: String,
}

/// A running link task: its queue and its generation (replies from an
/// older connection are ignored).
#[derive(Debug)]
pub struct LinkHandle {
    tx: mpsc::UnboundedSender<Outgoing>,
    /// Which connection this is.
    pub generation: u64,
}

impl LinkHandle {
    /// Queues a command; false when the task is gone.
    pub fn send(&self, args: Vec<Vec<u8>>, reply: ReplyKind) -> bool {
        self.tx.send(Outgoing { args, reply }).is_ok()
    }
}

/// Redis's per-link bookkeeping.
#[derive(Debug)]
pub struct LinkState {
    /// The command link (connecting or connected).
    pub cmd: Option<LinkHandle>,
    /// The pub/sub link.
    pub pubsub: Option<LinkHandle>,
    /// Not all needed links exist.
    pub disconnected: bool,
    /// When the command link was opened.
    pub cc_conn_time: u64,
    /// When the pub/sub link was opened.
    pub pc_conn_time: u64,
    /// Last frame on the pub/sub link.
    pub pc_last_activity: u64,
    /// When the oldest unanswered PING was sent (0: none pending).
    pub act_ping_time: u64,
    /// When the last PING was sent.
    pub last_ping_time: u64,
    /// Last reply to PING, valid or not.
    pub last_pong_time: u64,
    /// Last valid reply to PING.
    pub last_avail_time: u64,
    /// Commands sent and not answered.
    pub pending_commands: u32,
    /// The address our command connection leaves from.
    pub local_addr: Option<SocketAddr>,
}

impl LinkState {
    /// A link created at `now` (a PING counts as pending from then, so an
    /// instance that never answers goes down after down-after).
    pub fn new(now: u64) -> Self {
        LinkState {
            cmd: None,
            pubsub: None,
            disconnected: true,
            cc_conn_time: 0,
            pc_conn_time: 0,
            pc_last_activity: 0,
            act_ping_time: now,
            last_ping_time: 0,
            last_pong_time: now,
            last_avail_time: now,
            pending_commands: 0,
            local_addr: None,
        }
    }

    /// Closes the command link.
    pub fn close_cmd(&mut self) {
        self.cmd = None;
        self.pending_commands = 0;
        self.disconnected = true;
    }

    /// Closes the pub/sub link.
    pub fn close_pubsub(&mut self) {
        self.pubsub = None;
        self.disconnected = true;
    }
}

/// Starts a link task to `host:port` for `instance`.
pub(super) fn open<R: Runtime>(
    core: &Arc<Core<R>>,
    instance: InstanceRef,
    host: String,
    port: u16,
    pubsub: bool,
    generation: u64,
) -> LinkHandle {
    let (tx, rx) = mpsc::unbounded_channel();
    let task_core = core.clone();
    core.runtime.spawn(async move {
        run_link(task_core, instance, host, port, pubsub, generation, rx).await;
    });
    LinkHandle { tx, generation }
}

async fn run_link<R: Runtime>(
    core: Arc<Core<R>>,
    instance: InstanceRef,
    host: String,
    port: u16,
    pubsub: bool,
    generation: u64,
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
) {
    let connected = tokio::select! {
        biased;
        stream = core.runtime.connect(&host, port) => stream.ok(),
        _ = core.runtime.sleep(CONNECT_TIMEOUT) => None,
    };
    let Some(stream) = connected else {
        core.link_closed(&instance, pubsub, generation);
        return;
    };
    if !pubsub {
        core.link_local_addr(&instance, generation, R::local_addr_of(&stream));
    }
    let (mut reader, mut writer) = tokio::io::split(stream);
    let mut expected: VecDeque<ReplyKind> = VecDeque::new();
    let mut buffer: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        tokio::select! {
            biased;
            next = rx.recv() => {
                let Some(first) = next else { return };
                let mut bytes = Vec::new();
                let mut queued = Some(first);
                while let Some(out) = queued {
                    encode_command(&mut bytes, &out.args);
                    expected.push_back(out.reply);
                    queued = rx.try_recv().ok();
                }
                let written = async {
                    writer.write_all(&bytes).await?;
                    writer.flush().await
                };
                if written.await.is_err() {
                    core.link_closed(&instance, pubsub, generation);
                    return;
                }
            }
            read = reader.read(&mut chunk) => {
                let n = match read {
                    Ok(0) | Err(_) => {
                        core.link_closed(&instance, pubsub, generation);
                        return;
                    }
                    Ok(n) => n,
                };
                buffer.extend_from_slice(&chunk[..n]);
                loop {
                    match Frame::parse(&buffer) {
                        Ok((frame, used)) => {
                            buffer.drain(..used);
                            if pubsub {
                                core.on_pubsub_frame(&instance, generation, frame);
                            } else {
                                let kind = expected.pop_front().unwrap_or(ReplyKind::Discard);
                                core.on_reply(&instance, generation, kind, frame);
                            }
                        }
                        Err(FrameError::Incomplete) => break,
                        Err(FrameError::Invalid(_)) => {
                            core.link_closed(&instance, pubsub, generation);
                            return;
                        }
                    }
                }
            }
        }
    }
}
