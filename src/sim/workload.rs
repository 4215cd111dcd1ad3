//! Seeded client traffic: a workload draws its operations (type mix, keys,
//! value sizes, expirations, dbs, MULTI/EXEC) from its own RNG, sends them
//! at a rate to one node, and records which writes the node acknowledged.
//!
//! Every key family belongs to one type (`str:3`, `list:3`, ...), so a
//! workload never provokes WRONGTYPE by itself. String SETs carry a unique
//! value per write, so the checker can tell which acknowledged write a
//! final value comes from.

use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::cluster::RoleWatch;
use crate::resp::{encode_command, Frame, FrameError};
use crate::scenario::{IntRange, WorkloadKind, WorkloadSpec};

/// A write to a workload string key, and whether the server acknowledged it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StringWrite {
    /// Db of the key.
    pub db: u8,
    /// The key.
    pub key: String,
    /// The unique value a SET wrote, or `None` for a DEL or EXPIRE (after
    /// which the key may be gone).
    pub value: Option<String>,
    /// The server acknowledged it. EXPIREs never count as acknowledged: the
    /// value they apply to may still be there at the end.
    pub acked: bool,
    /// Simulated time it was sent.
    pub sent_at: Duration,
    /// Simulated time its reply arrived, if it did.
    pub replied_at: Option<Duration>,
    /// The node the client sent it to (the one that acknowledged it).
    pub node: String,
    /// How many replicas a WAIT right after it (in the same operation)
    /// said had it; `None` without a WAIT.
    pub waited: Option<i64>,
}

/// What a workload did.
#[derive(Debug, Default, Clone)]
pub struct WorkloadOutcome {
    /// Operations sent.
    pub sent: u64,
    /// Operations answered without an error.
    pub acked: u64,
    /// Operations answered with an error.
    pub errors: u64,
    /// Operations that got no answer (connection lost).
    pub unanswered: u64,
    /// Times a following client moved to the master a `+switch-master`
    /// announced.
    pub switches_followed: u64,
    /// Times a following client moved to another node after asking the
    /// Sentinels (a lost connection or a READONLY reply).
    pub rediscoveries: u64,
    /// Every plain string write, in order.
    pub string_writes: Vec<StringWrite>,
    /// Writes a replica accepted although it should be read-only.
    pub readonly_violations: Vec<String>,
    /// Every PUBLISH and SPUBLISH of the `pubsub` family sent, in order.
    pub publications: Vec<super::pubsub::Publication>,
}

fn draw(rng: &mut ChaCha8Rng, range: IntRange) -> u64 {
    if range.max <= range.min {
        range.min
    } else {
        rng.gen_range(range.min..=range.max)
    }
}

fn value(rng: &mut ChaCha8Rng, size: IntRange, tag: u64) -> String {
    let len = draw(rng, size) as usize;
    let mut text = format!("{tag}-");
    while text.len() < len {
        text.push(rng.gen_range(b'a'..=b'z') as char);
    }
    text
}

/// The kind of operation, the db and the key number of the next operation
/// (the draws every operation starts with, writes and reads alike).
fn draw_target(rng: &mut ChaCha8Rng, spec: &WorkloadSpec, keys: u64) -> (WorkloadKind, u8, u64) {
    let kinds = if spec.mix.is_empty() {
        &[WorkloadKind::Strings][..]
    } else {
        &spec.mix[..]
    };
    let kind = kinds[rng.gen_range(0..kinds.len())];
    let db = rng.gen_range(0..spec.dbs.max(1));
    let n = rng.gen_range(0..keys.max(1));
    (kind, db, n)
}

/// How long a blocking pop of the `blocking` family waits (seconds).
/// The `scripts` family's writing script: two writes, so its effects
/// reach replicas wrapped in MULTI/EXEC.
const SCRIPT_TWO_WRITES: &str = "redis.call('INCR', KEYS[1]) redis.call('RPUSH', KEYS[2], ARGV[1]) redis.call('LTRIM', KEYS[2], -20, -1) return redis.call('GET', KEYS[1])";

/// The `scripts` family's read-only script.
const SCRIPT_READ: &str = "return redis.call('GET', KEYS[1])";

/// The `scripts` family's function library: `wl_bump` adds its argument's
/// length to a counter (FCALL before the library is loaded fails, as in
/// Redis).
const LIBRARY: &str = "#!lua name=wl\nredis.register_function('wl_bump', function(keys, args) return redis.call('INCRBY', keys[1], #args[1]) end)";

const BLOCKING_TIMEOUT: &str = "0.2";

/// The consumer group of the `streams` family.
const STREAM_GROUP: &str = "grp";

/// Stands for the IDs an XACK or XCLAIM of the `streams` family names:
/// the client fills in IDs it was delivered on that key (see
/// [`StreamDeliveries`]), or a well-formed ID nobody has.
const DELIVERED_IDS: &str = "<delivered>";

/// One generated operation: one command, or a MULTI block.
fn generate(
    rng: &mut ChaCha8Rng,
    spec: &WorkloadSpec,
    keys: u64,
    op: u64,
) -> (u8, Vec<Vec<String>>) {
    let (kind, db, n) = draw_target(rng, spec, keys);
    let s = |v: &str| v.to_string();
    let commands = match kind {
        WorkloadKind::Strings => {
            let key = format!("str:{n}");
            match rng.gen_range(0..10) {
                // Now and then a client waits for a replica to have it.
                0 => vec![
                    vec![s("SET"), key, value(rng, spec.value_size, op)],
                    vec![s("WAIT"), s("1"), s("100")],
                ],
                1..=5 => vec![vec![s("SET"), key, value(rng, spec.value_size, op)]],
                6 | 7 => vec![vec![s("INCR"), format!("ctr:{n}")]],
                8 => vec![vec![
                    s("APPEND"),
                    format!("app:{n}"),
                    value(rng, spec.value_size, op),
                ]],
                _ => vec![vec![s("DEL"), key]],
            }
        }
        WorkloadKind::Lists => {
            let key = format!("list:{n}");
            match rng.gen_range(0..10) {
                0..=3 => vec![vec![s("RPUSH"), key, value(rng, spec.value_size, op)]],
                4..=5 => vec![vec![s("LPUSH"), key, value(rng, spec.value_size, op)]],
                6 | 7 => vec![vec![s("LPOP"), key]],
                8 => vec![vec![s("LTRIM"), key, s("0"), s("20")]],
                _ => vec![vec![
                    s("LSET"),
                    key,
                    s("0"),
                    value(rng, spec.value_size, op),
                ]],
            }
        }
        WorkloadKind::Hashes => {
            let key = format!("hash:{n}");
            let field = format!("f{}", rng.gen_range(0..8));
            match rng.gen_range(0..10) {
                0..=5 => vec![vec![s("HSET"), key, field, value(rng, spec.value_size, op)]],
                6 | 7 => vec![vec![s("HINCRBY"), format!("hctr:{n}"), field, s("3")]],
                _ => vec![vec![s("HDEL"), key, field]],
            }
        }
        WorkloadKind::Sets => {
            let key = format!("set:{n}");
            let member = format!("m{}", rng.gen_range(0..20));
            match rng.gen_range(0..10) {
                0..=5 => vec![vec![s("SADD"), key, member]],
                6..=8 => vec![vec![s("SREM"), key, member]],
                _ => vec![vec![s("SPOP"), key]],
            }
        }
        WorkloadKind::Zsets => {
            let key = format!("zset:{n}");
            let member = format!("m{}", rng.gen_range(0..20));
            match rng.gen_range(0..10) {
                0..=5 => vec![vec![
                    s("ZADD"),
                    key,
                    rng.gen_range(-100..100).to_string(),
                    member,
                ]],
                6..=8 => vec![vec![s("ZINCRBY"), key, s("1.5"), member]],
                _ => vec![vec![s("ZREM"), key, member]],
            }
        }
        WorkloadKind::Expires => {
            let key = format!("exp:{n}");
            match rng.gen_range(0..10) {
                0..=4 => vec![vec![
                    s("SET"),
                    key,
                    value(rng, spec.value_size, op),
                    s("PX"),
                    rng.gen_range(50..3000).to_string(),
                ]],
                5..=7 => vec![vec![
                    s("EXPIRE"),
                    format!("str:{n}"),
                    rng.gen_range(1..5).to_string(),
                ]],
                _ => vec![vec![s("PERSIST"), key]],
            }
        }
        WorkloadKind::Multi => {
            let key = format!("tx:{n}");
            vec![
                vec![s("MULTI")],
                vec![s("INCR"), key.clone()],
                vec![s("RPUSH"), format!("txlist:{n}"), op.to_string()],
                vec![s("EXEC")],
            ]
        }
        WorkloadKind::Blocking => {
            // Queues come in pairs (q:n and the next) so that BLMOVE and
            // BLMPOP move work between queues the other consumers watch.
            let (queue, next) = (format!("q:{n}"), format!("q:{}", (n + 1) % keys.max(1)));
            let wait = s(BLOCKING_TIMEOUT);
            match rng.gen_range(0..10) {
                0..=3 => vec![vec![s("RPUSH"), queue, value(rng, spec.value_size, op)]],
                4 => vec![vec![
                    s("ZADD"),
                    format!("zq:{n}"),
                    op.to_string(),
                    value(rng, spec.value_size, op),
                ]],
                5 | 6 => vec![vec![s("BLPOP"), queue, wait]],
                7 => vec![vec![s("BLMOVE"), queue, next, s("LEFT"), s("RIGHT"), wait]],
                8 => vec![vec![s("BZPOPMIN"), format!("zq:{n}"), wait]],
                _ => vec![vec![
                    s("BLMPOP"),
                    wait,
                    s("2"),
                    queue,
                    next,
                    s("LEFT"),
                    s("COUNT"),
                    s("2"),
                ]],
            }
        }
        WorkloadKind::Scripts => {
            let (counter, list) = (format!("sc:{n}"), format!("sclist:{n}"));
            match rng.gen_range(0..10) {
                // Two writes: replicated as MULTI, INCR, RPUSH, EXEC.
                0..=5 => vec![vec![
                    s("EVAL"),
                    s(SCRIPT_TWO_WRITES),
                    s("2"),
                    counter,
                    list,
                    value(rng, spec.value_size, op),
                ]],
                6 => vec![vec![s("EVAL_RO"), s(SCRIPT_READ), s("1"), counter]],
                // The library replaced (propagated as sent), then called.
                7 => vec![
                    vec![s("FUNCTION"), s("LOAD"), s("REPLACE"), s(LIBRARY)],
                    vec![s("FCALL"), s("wl_bump"), s("1"), counter, op.to_string()],
                ],
                _ => vec![vec![
                    s("FCALL"),
                    s("wl_bump"),
                    s("1"),
                    counter,
                    op.to_string(),
                ]],
            }
        }
        WorkloadKind::Streams => {
            let key = format!("stream:{n}");
            let group = s(STREAM_GROUP);
            let consumer = format!("c{}", rng.gen_range(0..3));
            match rng.gen_range(0..12) {
                0..=2 => vec![vec![
                    s("XADD"),
                    key,
                    s("MAXLEN"),
                    s("~"),
                    s("40"),
                    s("*"),
                    s("f"),
                    value(rng, spec.value_size, op),
                ]],
                3 => vec![vec![
                    s("XADD"),
                    key,
                    s("*"),
                    s("f"),
                    value(rng, spec.value_size, op),
                    s("g"),
                    op.to_string(),
                ]],
                4 => vec![vec![
                    s("XGROUP"),
                    s("CREATE"),
                    key,
                    group,
                    s("0"),
                    s("MKSTREAM"),
                ]],
                5 => vec![vec![
                    s("XREADGROUP"),
                    s("GROUP"),
                    group,
                    consumer,
                    s("COUNT"),
                    s("3"),
                    s("STREAMS"),
                    key,
                    s(">"),
                ]],
                6 => vec![vec![
                    s("XREADGROUP"),
                    s("GROUP"),
                    group,
                    consumer,
                    s("COUNT"),
                    s("2"),
                    s("BLOCK"),
                    s("200"),
                    s("STREAMS"),
                    key,
                    s(">"),
                ]],
                7 | 8 => vec![vec![s("XACK"), key, group, s(DELIVERED_IDS)]],
                9 => vec![vec![
                    s("XAUTOCLAIM"),
                    key,
                    group,
                    consumer,
                    s("100"),
                    s("0"),
                    s("COUNT"),
                    s("2"),
                ]],
                10 => vec![vec![
                    s("XCLAIM"),
                    key,
                    group,
                    consumer,
                    s("50"),
                    s(DELIVERED_IDS),
                ]],
                _ => match rng.gen_range(0..2) {
                    0 => vec![vec![s("XTRIM"), key, s("MAXLEN"), s("="), s("25")]],
                    _ => vec![vec![s("XDEL"), key, s(DELIVERED_IDS)]],
                },
            }
        }
        WorkloadKind::Pubsub => {
            // The client puts its name and the message's number in front
            // of the value (see `pubsub::payload`).
            let publish = if rng.gen_range(0..4) == 0 {
                "SPUBLISH"
            } else {
                "PUBLISH"
            };
            vec![vec![
                s(publish),
                super::pubsub::channel(n),
                value(rng, spec.value_size, op),
            ]]
        }
        WorkloadKind::Flushes => match rng.gen_range(0..40) {
            0 | 1 => vec![vec![s("FLUSHDB")]],
            2 => vec![vec![s("FLUSHALL")]],
            _ => vec![vec![
                s("SET"),
                format!("fl:{n}"),
                value(rng, spec.value_size, op),
            ]],
        },
    };
    (db, commands)
}

/// The stream IDs XREADGROUP delivered to a client, by db and key, which
/// its XACK, XCLAIM and XDEL of the `streams` family name (oldest first).
#[derive(Default)]
struct StreamDeliveries {
    by_key: std::collections::BTreeMap<(u8, String), std::collections::VecDeque<String>>,
}

impl StreamDeliveries {
    /// How many IDs stay remembered per key.
    const KEPT: usize = 64;

    /// Notes the IDs of an XREADGROUP reply to `command`.
    fn note(&mut self, db: u8, command: &[String], reply: &Frame) {
        if command.first().map(String::as_str) != Some("XREADGROUP") {
            return;
        }
        let Frame::Array(Some(streams)) = reply else {
            return;
        };
        for stream in streams {
            let Frame::Array(Some(parts)) = stream else {
                continue;
            };
            let (Some(Frame::Bulk(Some(key))), Some(Frame::Array(Some(entries)))) =
                (parts.first(), parts.get(1))
            else {
                continue;
            };
            let ids = self
                .by_key
                .entry((db, String::from_utf8_lossy(key).into_owned()))
                .or_default();
            for entry in entries {
                if let Frame::Array(Some(fields)) = entry {
                    if let Some(Frame::Bulk(Some(id))) = fields.first() {
                        ids.push_back(String::from_utf8_lossy(id).into_owned());
                        if ids.len() > Self::KEPT {
                            ids.pop_front();
                        }
                    }
                }
            }
        }
    }

    /// Replaces the [`DELIVERED_IDS`] placeholder of `command` by up to
    /// two IDs delivered on its key (taken off the list), or by `0-1`.
    fn fill(&mut self, db: u8, command: &mut Vec<String>) {
        let Some(at) = command.iter().position(|a| a == DELIVERED_IDS) else {
            return;
        };
        let ids = self.by_key.entry((db, command[1].clone())).or_default();
        let mut taken: Vec<String> = (0..2).filter_map(|_| ids.pop_front()).collect();
        if taken.is_empty() {
            taken.push("0-1".to_string());
        }
        command.splice(at..=at, taken);
    }
}

/// A client connection that reconnects after errors.
struct Connection {
    host: String,
    stream: Option<madsim::net::TcpStream>,
    db: u8,
    buffer: Vec<u8>,
}

impl Connection {
    async fn ensure(&mut self) -> bool {
        if self.stream.is_none() {
            match madsim::net::TcpStream::connect((self.host.as_str(), super::cluster::PORT)).await
            {
                Ok(stream) => {
                    self.stream = Some(stream);
                    self.db = 0;
                    self.buffer.clear();
                }
                Err(_) => return false,
            }
        }
        true
    }

    /// [`ensure`](Self::ensure), retrying a refused connect as TCP
    /// retransmits a lost SYN: madsim refuses a connect whose one packet
    /// the network's `loss` drops, where a real client would only wait.
    /// Gives up after about 6 s (a crashed or partitioned node).
    async fn ensure_retrying(&mut self) -> bool {
        let mut backoff = Duration::from_millis(200);
        for _ in 0..CONNECT_ATTEMPTS {
            if self.ensure().await {
                return true;
            }
            madsim::time::sleep(backoff).await;
            backoff *= 2;
        }
        false
    }

    /// Sends commands (pipelined) and reads one reply each; `None` when the
    /// connection broke (it is dropped and will be reopened) or `timeout`
    /// passed. Workloads wait without a timeout: a paused or partitioned
    /// node answers once it is healed, which the harness always does at the
    /// end (and a timer per operation would flood the timer heap).
    async fn call(
        &mut self,
        commands: &[Vec<String>],
        timeout: Option<Duration>,
    ) -> Option<Vec<Frame>> {
        let stream = self.stream.as_mut()?;
        let mut request = Vec::new();
        for command in commands {
            encode_command(&mut request, command);
        }
        if stream.write_all(&request).await.is_err() || stream.flush().await.is_err() {
            self.stream = None;
            return None;
        }
        let mut replies = Vec::with_capacity(commands.len());
        while replies.len() < commands.len() {
            replies.push(self.next_frame(timeout).await?);
        }
        Some(replies)
    }

    /// Reads the next frame the server sends (a reply or a pushed
    /// message); `None` when the connection broke (it is dropped) or no
    /// byte came for `timeout`.
    async fn next_frame(&mut self, timeout: Option<Duration>) -> Option<Frame> {
        loop {
            match Frame::parse(&self.buffer) {
                Ok((frame, used)) => {
                    self.buffer.drain(..used);
                    return Some(frame);
                }
                Err(FrameError::Incomplete) => {}
                Err(FrameError::Invalid(_)) => {
                    self.stream = None;
                    return None;
                }
            }
            let stream = self.stream.as_mut()?;
            let mut chunk = [0u8; 4096];
            let read = match timeout {
                None => stream.read(&mut chunk).await,
                Some(limit) => tokio::select! {
                    biased;
                    read = stream.read(&mut chunk) => read,
                    _ = madsim::time::sleep(limit) => Err(std::io::ErrorKind::TimedOut.into()),
                },
            };
            match read {
                Ok(0) | Err(_) => {
                    self.stream = None;
                    return None;
                }
                Ok(n) => self.buffer.extend_from_slice(&chunk[..n]),
            }
        }
    }
}

/// How a following client finds the master: the scenario's Sentinels, the
/// master name they monitor, and every node's address (Sentinels answer
/// with IPs).
#[derive(Debug, Clone)]
pub struct Follow {
    /// Sentinel hosts, asked in this order.
    pub sentinels: Vec<String>,
    /// The master name.
    pub master_name: String,
    /// (IP, node name) of every node.
    pub nodes: Vec<(String, String)>,
}

/// How long a following client waits for a reply before it drops the
/// connection and asks the Sentinels again.
const FOLLOW_REPLY_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a following client waits for a Sentinel (connect and reply).
const SENTINEL_TIMEOUT: Duration = Duration::from_secs(1);

/// How long a `+switch-master` listener waits before it subscribes again
/// after losing its Sentinel (Jedis's `subscribeRetryWaitTimeMillis`).
const RESUBSCRIBE_DELAY: Duration = Duration::from_secs(5);

/// Where a following client's listeners put the master a Sentinel just
/// announced, for the client to move to before its next command.
type Switched = std::sync::Arc<std::sync::Mutex<Option<String>>>;

impl Follow {
    /// A connection to `sentinel`, or `None` when it does not accept one
    /// within [`SENTINEL_TIMEOUT`].
    async fn connect(sentinel: &str) -> Option<Connection> {
        let connect = madsim::net::TcpStream::connect((sentinel, super::sentinels::SENTINEL_PORT));
        let Ok(Ok(stream)) = madsim::time::timeout(SENTINEL_TIMEOUT, connect).await else {
            return None;
        };
        Some(Connection {
            host: sentinel.to_string(),
            stream: Some(stream),
            db: 0,
            buffer: Vec::new(),
        })
    }

    /// The node at `ip`, if it is one of the scenario's.
    fn node_at(&self, ip: &str) -> Option<String> {
        self.nodes
            .iter()
            .find(|(addr, _)| addr == ip)
            .map(|(_, name)| name.clone())
    }

    /// Listens for `+switch-master` on every Sentinel, one task each, as
    /// Jedis's pool does: an announcement of this master's new address is
    /// put in the returned slot. The tasks end when the guard is dropped.
    fn listen_for_switches(&self) -> (Switched, ListenerGuard) {
        let switched = Switched::default();
        let tasks = self
            .sentinels
            .iter()
            .map(|sentinel| {
                let follow = self.clone();
                let sentinel = sentinel.clone();
                let slot = switched.clone();
                madsim::task::spawn(async move { follow.listen(&sentinel, &slot).await })
            })
            .collect();
        (switched, ListenerGuard(tasks))
    }

    /// One Sentinel's listener: subscribes to `+switch-master`, and
    /// subscribes again [`RESUBSCRIBE_DELAY`] after losing the Sentinel.
    async fn listen(&self, sentinel: &str, switched: &Switched) {
        loop {
            if let Some(mut connection) = Self::connect(sentinel).await {
                let subscribe = vec!["SUBSCRIBE".to_string(), "+switch-master".to_string()];
                if connection
                    .call(&[subscribe], Some(SENTINEL_TIMEOUT))
                    .await
                    .is_some()
                {
                    while let Some(frame) = connection.next_frame(None).await {
                        if let Some(node) = self.switch_announced(&frame) {
                            *switched.lock().unwrap_or_else(|e| e.into_inner()) = Some(node);
                        }
                    }
                }
            }
            madsim::time::sleep(RESUBSCRIBE_DELAY).await;
        }
    }

    /// The new master a `+switch-master` message names, when it is about
    /// this client's master: `<name> <old ip> <old port> <new ip> <new port>`.
    fn switch_announced(&self, frame: &Frame) -> Option<String> {
        let Frame::Array(Some(parts)) = frame else {
            return None;
        };
        let [Frame::Bulk(Some(kind)), _, Frame::Bulk(Some(payload))] = parts.as_slice() else {
            return None;
        };
        if kind.as_slice() != b"message" {
            return None;
        }
        let payload = String::from_utf8_lossy(payload);
        let fields: Vec<&str> = payload.split(' ').collect();
        match fields.as_slice() {
            [name, _, _, new_ip, _] if *name == self.master_name => self.node_at(new_ip),
            _ => None,
        }
    }

    /// The node the first Sentinel that answers names as the master.
    async fn discover(&self) -> Option<String> {
        for sentinel in &self.sentinels {
            let Some(mut connection) = Self::connect(sentinel).await else {
                continue;
            };
            let ask = vec![
                "SENTINEL".to_string(),
                "GET-MASTER-ADDR-BY-NAME".to_string(),
                self.master_name.clone(),
            ];
            let Some(mut replies) = connection.call(&[ask], Some(SENTINEL_TIMEOUT)).await else {
                continue;
            };
            if let Some(Frame::Array(Some(items))) = replies.pop() {
                if let Some(Frame::Bulk(Some(ip))) = items.first() {
                    if let Some(node) = self.node_at(&String::from_utf8_lossy(ip)) {
                        return Some(node);
                    }
                }
            }
        }
        None
    }
}

/// Ends a following client's `+switch-master` listeners with the client.
struct ListenerGuard(Vec<madsim::task::JoinHandle<()>>);

impl Drop for ListenerGuard {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// Connect attempts of a scenario's command or replicaof step.
const CONNECT_ATTEMPTS: u32 = 5;

/// How long a scenario's `command` step waits for its reply.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// Whether a read-only replica must refuse `command`, one of the commands
/// a workload sends: every data command, and WAIT (which any replica
/// refuses), but not SELECT or the MULTI/EXEC around a transaction (the
/// commands inside it are refused one by one, and EXEC then aborts). Not
/// the command table's write flag, which WAIT does not carry: see
/// `commands::is_keyspace_write`. A script that writes is refused by the
/// write inside it; a read-only one (EVAL_RO) is served, and so are
/// PUBLISH and SPUBLISH (they write nothing; a replica's own stay local).
fn readonly_replica_refuses(command: &str) -> bool {
    !matches!(
        command,
        "MULTI" | "EXEC" | "SELECT" | "EVAL_RO" | "PUBLISH" | "SPUBLISH"
    )
}

/// A scenario's client session with one node: its `command` steps on that
/// node share one connection, as one redis-cli session would (so WAIT
/// counts the acknowledgements of the session's own last write). Each step
/// runs in its own `db`; a broken connection is reopened by the next step.
pub struct Session {
    connection: Connection,
}

impl Session {
    /// A session with `host`, connected by its first command.
    pub fn new(host: &str) -> Session {
        Session {
            connection: Connection {
                host: host.to_string(),
                stream: None,
                db: 0,
                buffer: Vec::new(),
            },
        }
    }

    /// Sends `args` in `db`; the reply, or `None` when none came within
    /// the command timeout (the connection is then dropped).
    pub async fn command(mut self, db: u8, args: Vec<String>) -> (Session, Option<Frame>) {
        if !self.connection.ensure_retrying().await {
            return (self, None);
        }
        let select = db != self.connection.db;
        let mut commands = Vec::with_capacity(2);
        if select {
            commands.push(vec!["SELECT".to_string(), db.to_string()]);
        }
        commands.push(args);
        let replies = self.connection.call(&commands, Some(COMMAND_TIMEOUT)).await;
        let Some(mut replies) = replies else {
            return (self, None);
        };
        if select && replies.first() == Some(&Frame::Simple("OK".into())) {
            self.connection.db = db;
        }
        let reply = replies.pop();
        (self, reply)
    }
}

/// Sends one command on a fresh connection (scenario `replicaof` steps).
/// `None` when no reply came.
pub async fn one_command(host: &str, db: u8, args: &[String]) -> Option<Frame> {
    let mut connection = Connection {
        host: host.to_string(),
        stream: None,
        db: 0,
        buffer: Vec::new(),
    };
    if !connection.ensure_retrying().await {
        return None;
    }
    let mut commands = Vec::new();
    if db != 0 {
        commands.push(vec!["SELECT".to_string(), db.to_string()]);
    }
    commands.push(args.to_vec());
    connection
        .call(&commands, Some(COMMAND_TIMEOUT))
        .await
        .and_then(|mut replies| replies.pop())
}

/// Runs one client of a workload against `host` until `ops` operations were
/// sent or `until` (simulated elapsed time) passed.
#[allow(clippy::too_many_arguments)]
pub async fn run_client(
    host: String,
    spec: WorkloadSpec,
    publisher: String,
    seed: u64,
    ops: Option<u64>,
    until: Option<Duration>,
    role: RoleWatch,
    follow: Option<Follow>,
) -> WorkloadOutcome {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let keys = draw(&mut rng, spec.keys);
    let interval = Duration::from_secs_f64(1.0 / spec.rate.max(0.001));
    let mut outcome = WorkloadOutcome::default();
    let mut connection = Connection {
        host,
        stream: None,
        db: 0,
        buffer: Vec::new(),
    };
    let elapsed = || madsim::time::TimeHandle::current().elapsed();
    let mut op = 0u64;
    let mut deliveries = StreamDeliveries::default();
    let switches = follow.as_ref().map(Follow::listen_for_switches);
    let mut published = 0u64;
    loop {
        if ops.is_some_and(|n| op >= n) || until.is_some_and(|t| elapsed() >= t) {
            break;
        }
        let tag = seed.wrapping_mul(1_000_003).wrapping_add(op) % 1_000_000_007;
        let (db, mut commands) = generate(&mut rng, &spec, keys, tag);
        for command in &mut commands {
            deliveries.fill(db, command);
        }
        // A publication is numbered when it is sent.
        let publication = commands
            .iter()
            .position(|c| matches!(c[0].as_str(), "PUBLISH" | "SPUBLISH"));
        op += 1;
        madsim::time::sleep(interval).await;
        // A Sentinel announced a new master: move there, as Jedis's pool
        // does on `+switch-master`.
        let announced = switches
            .as_ref()
            .and_then(|(slot, _)| slot.lock().unwrap_or_else(|e| e.into_inner()).take());
        if let Some(node) = announced {
            if node != connection.host {
                connection.host = node;
                connection.stream = None;
                outcome.switches_followed += 1;
            }
        } else if connection.stream.is_none() {
            if let Some(found) = match &follow {
                Some(follow) => follow.discover().await,
                None => None,
            } {
                if found != connection.host {
                    connection.host = found;
                    outcome.rediscoveries += 1;
                }
            }
        }
        let connected = match &follow {
            // A client library gives up a connect after its timeout.
            Some(_) => madsim::time::timeout(FOLLOW_REPLY_TIMEOUT, connection.ensure())
                .await
                .unwrap_or(false),
            None => connection.ensure().await,
        };
        if !connected {
            outcome.unanswered += 1;
            continue;
        }
        if let Some(at) = publication {
            let command = &mut commands[at];
            command[2] = super::pubsub::payload(&publisher, published, &command[2]);
            published += 1;
        }
        let select = db != connection.db;
        if select {
            commands.insert(0, vec!["SELECT".to_string(), db.to_string()]);
        }
        outcome.sent += 1;
        let sent_at = elapsed();
        let role_when_sent = role.sample();
        // A following client has a socket timeout, as client libraries
        // do: a master that died silently is given up on and rediscovered.
        let timeout = follow.as_ref().map(|_| FOLLOW_REPLY_TIMEOUT);
        let Some(replies) = connection.call(&commands, timeout).await else {
            outcome.unanswered += 1;
            record_string_writes(&mut outcome, &connection.host, db, &commands, None, sent_at);
            record_publications(
                &mut outcome,
                &publisher,
                &connection.host,
                &commands,
                None,
                sent_at,
            );
            continue;
        };
        if select && replies.first() == Some(&Frame::Simple("OK".into())) {
            connection.db = db;
        }
        for (command, reply) in commands.iter().zip(&replies) {
            deliveries.note(db, command, reply);
        }
        let last = replies.last().cloned();
        match &last {
            Some(Frame::Error(_)) => outcome.errors += 1,
            _ => outcome.acked += 1,
        }
        // A write accepted is wrong only if the node was a read-only
        // replica the whole time the command was in flight: a promotion
        // (or a restart, or a CONFIG SET) in between makes it a master
        // that may have executed it.
        // (The role watched is `on`'s: a following client judges only
        // while it talks to `on`.)
        let readonly_throughout = connection.host == spec.on
            && role_when_sent.is_some_and(|r| r.readonly_replica)
            && role.sample() == role_when_sent;
        if readonly_throughout {
            for (command, reply) in commands.iter().zip(&replies) {
                if readonly_replica_refuses(&command[0]) && !matches!(reply, Frame::Error(_)) {
                    outcome.readonly_violations.push(format!(
                        "{} accepted on a read-only replica: {}",
                        command.join(" "),
                        super::expect::show_frame(reply)
                    ));
                }
            }
        }
        record_string_writes(
            &mut outcome,
            &connection.host,
            db,
            &commands,
            Some(&replies),
            sent_at,
        );
        record_publications(
            &mut outcome,
            &publisher,
            &connection.host,
            &commands,
            Some(&replies),
            sent_at,
        );
        // A client library drops a connection to a demoted master and
        // asks the Sentinels again.
        let demoted = replies
            .iter()
            .any(|r| matches!(r, Frame::Error(e) if e.starts_with("READONLY")));
        if follow.is_some() && demoted {
            connection.stream = None;
        }
    }
    outcome
}

fn record_string_writes(
    outcome: &mut WorkloadOutcome,
    node: &str,
    db: u8,
    commands: &[Vec<String>],
    replies: Option<&Vec<Frame>>,
    sent_at: Duration,
) {
    let replied_at = replies.map(|_| madsim::time::TimeHandle::current().elapsed());
    for (i, command) in commands.iter().enumerate() {
        if command.len() < 2 || !command[1].starts_with("str:") {
            continue;
        }
        let reply = replies.and_then(|r| r.get(i));
        // A WAIT sent right after it in the same operation.
        let waited = match (commands.get(i + 1), replies.and_then(|r| r.get(i + 1))) {
            (Some(next), Some(Frame::Integer(n))) if next[0] == "WAIT" => Some(*n),
            _ => None,
        };
        let (value, acked) = match command[0].as_str() {
            "SET" if command.len() == 3 => (
                Some(command[2].clone()),
                reply == Some(&Frame::Simple("OK".into())),
            ),
            "DEL" => (None, matches!(reply, Some(Frame::Integer(_)))),
            "EXPIRE" => (None, false),
            _ => continue,
        };
        outcome.string_writes.push(StringWrite {
            db,
            key: command[1].clone(),
            value,
            acked,
            sent_at,
            replied_at,
            node: node.to_string(),
            waited,
        });
    }
}

/// Notes the PUBLISH or SPUBLISH among `commands` (sent by `publisher`
/// to `node`) and its reply.
fn record_publications(
    outcome: &mut WorkloadOutcome,
    publisher: &str,
    node: &str,
    commands: &[Vec<String>],
    replies: Option<&Vec<Frame>>,
    sent_at: Duration,
) {
    for (i, command) in commands.iter().enumerate() {
        let shard = match command[0].as_str() {
            "PUBLISH" => false,
            "SPUBLISH" => true,
            _ => continue,
        };
        let Some((_, seq)) = super::pubsub::parse_payload(&command[2]) else {
            continue;
        };
        let receivers = match replies.and_then(|r| r.get(i)) {
            Some(Frame::Integer(n)) => Some(*n),
            _ => None,
        };
        outcome.publications.push(super::pubsub::Publication {
            publisher: publisher.to_string(),
            seq,
            channel: command[1].clone(),
            shard,
            payload: command[2].clone(),
            node: node.to_string(),
            sent_at,
            replied_at: replies.map(|_| madsim::time::TimeHandle::current().elapsed()),
            receivers,
        });
    }
}

/// One read a reader sends for a workload of `spec`: a key the writers
/// touch, read the way a client of a replica reads it. Replies are judged
/// by the checker on the replica's side, against its history.
fn generate_read(rng: &mut ChaCha8Rng, spec: &WorkloadSpec, keys: u64) -> (u8, Vec<String>) {
    let (kind, db, n) = draw_target(rng, spec, keys);
    let s = |v: &str| v.to_string();
    let read = match kind {
        WorkloadKind::Strings => match rng.gen_range(0..4) {
            0 | 1 => vec![s("GET"), format!("str:{n}")],
            2 => vec![s("GET"), format!("ctr:{n}")],
            _ => vec![s("STRLEN"), format!("app:{n}")],
        },
        WorkloadKind::Expires => match rng.gen_range(0..3) {
            0 | 1 => vec![s("GET"), format!("exp:{n}")],
            _ => vec![s("EXISTS"), format!("exp:{n}")],
        },
        WorkloadKind::Lists => vec![s("TYPE"), format!("list:{n}")],
        WorkloadKind::Hashes => vec![s("EXISTS"), format!("hash:{n}")],
        WorkloadKind::Sets => vec![s("TYPE"), format!("set:{n}")],
        WorkloadKind::Zsets => vec![s("EXISTS"), format!("zset:{n}")],
        WorkloadKind::Multi => vec![s("GET"), format!("tx:{n}")],
        WorkloadKind::Flushes => vec![s("GET"), format!("fl:{n}")],
        WorkloadKind::Blocking => vec![s("LLEN"), format!("q:{n}")],
        WorkloadKind::Streams => match rng.gen_range(0..2) {
            0 => vec![s("XLEN"), format!("stream:{n}")],
            _ => vec![s("TYPE"), format!("stream:{n}")],
        },
        WorkloadKind::Scripts => vec![s("GET"), format!("sc:{n}")],
        WorkloadKind::Pubsub => vec![s("PUBSUB"), s("NUMSUB"), super::pubsub::channel(n)],
    };
    (db, read)
}

/// A reader client of a replica: reads keys of the workload at `rate`
/// per second until its task is aborted (when the workload's writers are
/// done). Returns nothing: the replica reports each read it serves to the
/// checker, which judges the reply where the replica stood.
pub async fn run_reader(host: String, spec: WorkloadSpec, seed: u64, rate: f64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let keys = draw(&mut rng, spec.keys);
    let interval = Duration::from_secs_f64(1.0 / rate.max(0.001));
    let mut connection = Connection {
        host,
        stream: None,
        db: 0,
        buffer: Vec::new(),
    };
    loop {
        let (db, read) = generate_read(&mut rng, &spec, keys);
        madsim::time::sleep(interval).await;
        if !connection.ensure().await {
            continue;
        }
        let mut commands = Vec::with_capacity(2);
        let select = db != connection.db;
        if select {
            commands.push(vec!["SELECT".to_string(), db.to_string()]);
        }
        commands.push(read);
        if let Some(replies) = connection.call(&commands, None).await {
            if select && replies.first() == Some(&Frame::Simple("OK".into())) {
                connection.db = db;
            }
        }
    }
}
