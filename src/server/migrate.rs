//! MIGRATE's side of the network: the connections to targets, cached per
//! `host:port` for 10 seconds of idleness (at most 64, as Redis caches
//! them; INFO's `migrate_cached_sockets`), and one exchange with a target:
//! AUTH, SELECT when the cached connection is in another db, the RESTOREs,
//! then their replies, each step within the command's timeout. A failure
//! before any reply that is not a timeout is retried once on a fresh
//! connection, as Redis retries a cached connection the target closed.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::Server;
use crate::command::migrate::{MigrateJob, MigrateOutcome};
use crate::resp::{OwnedArgv, Reply};
use crate::runtime::Runtime;

/// Idle time after which a cached connection is closed.
const IDLE_TTL: Duration = Duration::from_secs(10);

/// Connections kept at most.
const MAX_CACHED: usize = 64;

/// A connection to a target, kept for the next MIGRATE to it.
pub struct CachedSocket<S> {
    stream: S,
    /// The db its last MIGRATE selected (`None`: unknown, SELECT again).
    db: Option<i64>,
    last_use: Duration,
}

/// The cached connections by `host:port`.
pub type SocketCache<S> = BTreeMap<String, CachedSocket<S>>;

/// Why an exchange stopped early.
struct Broken {
    acknowledged: Vec<bool>,
    what: &'static str,
    timed_out: bool,
}

impl<R: Runtime> Server<R> {
    /// Carries out `job` with the target and says what came of it.
    pub(crate) async fn migrate(&self, job: &MigrateJob) -> MigrateOutcome {
        let name = format!("{}:{}", job.host, job.port);
        let mut may_retry = true;
        loop {
            let cached = self.sockets().remove(&name);
            let connected = match cached {
                Some(socket) => Ok(socket),
                None => self.connect_target(job).await.map(|stream| CachedSocket {
                    stream,
                    db: None,
                    last_use: self.rt.monotonic(),
                }),
            };
            let exchanged = match connected {
                Ok(mut socket) => self
                    .exchange(&mut socket, job)
                    .await
                    .map(|replies| (socket, replies)),
                Err(broken) => Err(broken),
            };
            match exchanged {
                Ok((mut socket, replies)) => {
                    socket.db = replies.iter().all(Option::is_none).then_some(job.db);
                    socket.last_use = self.rt.monotonic();
                    self.keep_socket(name, socket);
                    return MigrateOutcome::Replied(replies);
                }
                Err(broken) => {
                    // The connection was dropped (closed).
                    self.count_sockets();
                    if broken.what == "connecting" {
                        return MigrateOutcome::Failed {
                            acknowledged: Vec::new(),
                            what: "connecting",
                        };
                    }
                    let nothing_done = !broken.acknowledged.iter().any(|&ok| ok);
                    if may_retry && nothing_done && !broken.timed_out {
                        may_retry = false;
                        continue;
                    }
                    return MigrateOutcome::Failed {
                        acknowledged: broken.acknowledged,
                        what: broken.what,
                    };
                }
            }
        }
    }

    /// Closes the cached connections idle for 10 seconds (the cron).
    pub(crate) fn close_idle_migrate_sockets(&self) {
        let now = self.rt.monotonic();
        self.sockets()
            .retain(|_, socket| now.saturating_sub(socket.last_use) <= IDLE_TTL);
        self.count_sockets();
    }

    fn sockets(&self) -> std::sync::MutexGuard<'_, SocketCache<R::Stream>> {
        self.migrate_sockets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn count_sockets(&self) {
        let count = self.sockets().len();
        self.state().migrate_cached_sockets = count;
    }

    fn keep_socket(&self, name: String, socket: CachedSocket<R::Stream>) {
        {
            let mut sockets = self.sockets();
            if sockets.len() >= MAX_CACHED {
                // The least recently used one makes room.
                let oldest = sockets
                    .iter()
                    .min_by_key(|(_, s)| s.last_use)
                    .map(|(name, _)| name.clone());
                if let Some(oldest) = oldest {
                    sockets.remove(&oldest);
                }
            }
            sockets.insert(name, socket);
        }
        self.count_sockets();
    }

    /// Connects to the target. As Redis's non-blocking connect, a refused
    /// connection shows only when the first write fails; a target that
    /// cannot be reached in time, or named wrong, fails the connecting.
    async fn connect_target(&self, job: &MigrateJob) -> Result<R::Stream, Broken> {
        let failed = |what| Broken {
            acknowledged: Vec::new(),
            what,
            timed_out: false,
        };
        tokio::select! {
            biased;
            connected = self.rt.connect(&job.host, job.port) => connected.map_err(|error| {
                if error.kind() == std::io::ErrorKind::ConnectionRefused {
                    failed("writing to")
                } else {
                    failed("connecting")
                }
            }),
            _ = self.rt.sleep(job.timeout) => Err(failed("connecting")),
        }
    }

    /// Sends AUTH, SELECT and the RESTOREs, then reads their replies.
    async fn exchange(
        &self,
        socket: &mut CachedSocket<R::Stream>,
        job: &MigrateJob,
    ) -> Result<Vec<Option<String>>, Broken> {
        let select = socket.db != Some(job.db);
        let mut request = Reply::new();
        if let Some(auth) = &job.auth {
            let mut args: Vec<&[u8]> = vec![b"AUTH"];
            args.extend(auth.iter().map(Vec::as_slice));
            write_command(&mut request, &OwnedArgv::from_args(&args));
        }
        if select {
            let db = job.db.to_string();
            write_command(
                &mut request,
                &OwnedArgv::from_args(&[b"SELECT", db.as_bytes()]),
            );
        }
        for restore in &job.restores {
            write_command(&mut request, restore);
        }
        let broken = |acknowledged: Vec<bool>, what, timed_out| Broken {
            acknowledged,
            what,
            timed_out,
        };
        let write = async {
            socket.stream.write_all(request.as_bytes()).await?;
            socket.stream.flush().await
        };
        tokio::select! {
            biased;
            written = write => written.map_err(|_| broken(Vec::new(), "writing to", false))?,
            _ = self.rt.sleep(job.timeout) => return Err(broken(Vec::new(), "writing to", true)),
        }
        let mut lines = LineReader::default();
        let mut before_keys: Option<String> = None;
        for _ in 0..usize::from(job.auth.is_some()) + usize::from(select) {
            let line = lines
                .next(&self.rt, &mut socket.stream, job.timeout)
                .await
                .map_err(|timed_out| broken(Vec::new(), "reading to", timed_out))?;
            // The first AUTH or SELECT error stands for every key.
            if before_keys.is_none() {
                before_keys = line.strip_prefix('-').map(str::to_string);
            }
        }
        let mut replies = Vec::with_capacity(job.restores.len());
        for _ in &job.restores {
            let line = match lines.next(&self.rt, &mut socket.stream, job.timeout).await {
                Ok(line) => line,
                Err(timed_out) => {
                    let acknowledged = replies.iter().map(Option::is_none).collect();
                    return Err(broken(acknowledged, "reading to", timed_out));
                }
            };
            let error = before_keys
                .clone()
                .or_else(|| line.strip_prefix('-').map(str::to_string));
            replies.push(error);
        }
        Ok(replies)
    }
}

/// A command in RESP, as a client sends it.
fn write_command(out: &mut Reply, argv: &OwnedArgv) {
    let argv = argv.argv();
    out.array(argv.len());
    for arg in argv.iter() {
        out.bulk(arg);
    }
}

/// Reads `\r\n`-ended reply lines from a target.
#[derive(Default)]
struct LineReader {
    buf: BytesMut,
}

impl LineReader {
    /// The next line, without its `\r\n`; `Err(true)` on a timeout,
    /// `Err(false)` when the connection failed or closed.
    async fn next<R: Runtime>(
        &mut self,
        rt: &R,
        stream: &mut R::Stream,
        timeout: Duration,
    ) -> Result<String, bool> {
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = self.buf.split_to(end + 2);
                return Ok(String::from_utf8_lossy(&line[..end]).into_owned());
            }
            let mut chunk = [0u8; 1024];
            let read = tokio::select! {
                biased;
                read = stream.read(&mut chunk) => read,
                _ = rt.sleep(timeout) => return Err(true),
            };
            match read {
                Ok(0) | Err(_) => return Err(false),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }
}
