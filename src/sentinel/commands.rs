//! The Sentinel's own RESP server: what clients, `redis-cli` and other
//! Sentinels send it. PING, INFO (the Sentinel's sections), ROLE,
//! SENTINEL (its subcommands are in `subcommands`), PUBLISH of hellos,
//! SUBSCRIBE / PSUBSCRIBE to the event channels, HELLO, CLIENT basics,
//! AUTH and SHUTDOWN. Replies and errors are Redis 7.0's, byte for byte
//! where they are deterministic.

use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::log::Level;
use crate::resp::{parse_command, Argv, ArgvBuf, ParseLimits, Parsed, Reply};
use crate::runtime::{Listener, Runtime};

use super::{lock, Core, SentinelError, Subscriber};

/// Accepts clients until the Sentinel stops.
pub(super) async fn accept_loop<R: Runtime>(
    core: Arc<Core<R>>,
    listener: R::Listener,
) -> Result<(), SentinelError> {
    let mut next_client_id: u64 = 0;
    loop {
        let accepted = tokio::select! {
            biased;
            _ = core.stop.notified() => return Ok(()),
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _peer)) = accepted else {
            continue;
        };
        next_client_id += 1;
        let id = next_client_id;
        let client_core = core.clone();
        core.runtime.spawn(async move {
            serve_client(client_core, stream, id).await;
        });
    }
}

/// One client connection's state.
struct Client {
    id: u64,
    resp3: bool,
    name: Option<Vec<u8>>,
    /// Its pub/sub registration, once it subscribed.
    subscriber_id: Option<u64>,
    channels: usize,
    close: bool,
}

async fn serve_client<R: Runtime>(core: Arc<Core<R>>, stream: R::Stream, id: u64) {
    let (mut reader, mut writer) = tokio::io::split(stream);
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let mut client = Client {
        id,
        resp3: false,
        name: None,
        subscriber_id: None,
        channels: 0,
        close: false,
    };
    let mut buffer: Vec<u8> = Vec::new();
    let mut argv = ArgvBuf::default();
    let mut chunk = vec![0u8; 16 * 1024];
    let limits = ParseLimits {
        max_bulk_bytes: crate::resp::DEFAULT_MAX_BULK_BYTES,
        unauthenticated: false,
    };
    loop {
        tokio::select! {
            biased;
            message = rx.recv() => {
                let Some(bytes) = message else { break };
                if writer.write_all(&bytes).await.is_err() || writer.flush().await.is_err() {
                    break;
                }
            }
            read = reader.read(&mut chunk) => {
                let n = match read {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                buffer.extend_from_slice(&chunk[..n]);
                let mut reply = Reply::with_protocol(client.resp3);
                let mut used = 0;
                loop {
                    match parse_command(&buffer[used..], &mut argv, limits) {
                        Ok(Parsed::Command { consumed }) => {
                            let view = &buffer[used..used + consumed];
                            let args = argv.argv(view);
                            reply.set_resp3(client.resp3);
                            execute(&core, &mut client, args, &mut reply, &tx);
                            used += consumed;
                            if client.close {
                                break;
                            }
                        }
                        Ok(Parsed::Empty { consumed }) => used += consumed,
                        Ok(Parsed::Incomplete { .. }) => break,
                        Err(error) => {
                            reply.error(&format!("ERR {error}"));
                            client.close = true;
                            break;
                        }
                    }
                }
                buffer.drain(..used);
                if !reply.is_empty()
                    && (writer.write_all(reply.as_bytes()).await.is_err() || writer.flush().await.is_err())
                {
                    break;
                }
                if client.close {
                    break;
                }
            }
        }
    }
    if let Some(sub) = client.subscriber_id {
        lock(&core.subscribers).clients.remove(&sub);
    }
}

pub(super) fn eq(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

pub(super) fn text(arg: &[u8]) -> String {
    String::from_utf8_lossy(arg).into_owned()
}

pub(super) fn arity_error(reply: &mut Reply, name: &str) {
    reply.error(&format!(
        "ERR wrong number of arguments for '{name}' command"
    ));
}

fn execute<R: Runtime>(
    core: &Arc<Core<R>>,
    client: &mut Client,
    argv: Argv<'_>,
    reply: &mut Reply,
    tx: &mpsc::UnboundedSender<Vec<u8>>,
) {
    let name = argv.get(0).to_ascii_lowercase();
    let argc = argv.len();
    let subscribed = client.channels > 0;
    if subscribed
        && !client.resp3
        && !matches!(
            name.as_slice(),
            b"subscribe"
                | b"psubscribe"
                | b"unsubscribe"
                | b"punsubscribe"
                | b"ping"
                | b"reset"
                | b"quit"
        )
    {
        reply.error(&format!(
            "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
            text(&name)
        ));
        return;
    }
    match name.as_slice() {
        b"ping" => match argc {
            1 if subscribed && !client.resp3 => {
                reply.array(2);
                reply.bulk(b"pong");
                reply.bulk(b"");
            }
            1 => reply.simple("PONG"),
            2 => reply.bulk(argv.get(1)),
            _ => arity_error(reply, "ping"),
        },
        b"quit" => {
            reply.ok();
            client.close = true;
        }
        b"info" => info_command(core, argv, reply),
        b"role" => {
            if argc != 1 {
                return arity_error(reply, "role");
            }
            let state = core.lock();
            reply.array(2);
            reply.bulk(b"sentinel");
            reply.array(state.masters.len());
            for name in state.masters.keys() {
                reply.bulk(name.as_bytes());
            }
        }
        b"sentinel" => {
            if argc < 2 {
                return arity_error(reply, "sentinel");
            }
            super::subcommands::sentinel_command(core, argv, reply);
        }
        b"publish" => {
            if argc != 3 {
                return arity_error(reply, "publish");
            }
            if argv.get(1) != super::HELLO_CHANNEL.as_bytes() {
                reply.error("ERR Only HELLO messages are accepted by Sentinel instances.");
                return;
            }
            let now = core.now();
            let hello = text(argv.get(2));
            core.lock().process_hello(&hello, now);
            reply.integer(1);
        }
        b"subscribe" | b"psubscribe" | b"unsubscribe" | b"punsubscribe" => {
            let pattern = name.starts_with(b"p");
            let subscribe =
                !name.contains(&b'u') || name.starts_with(b"sub") || name.starts_with(b"psub");
            if subscribe && argc < 2 {
                return arity_error(reply, &text(&name));
            }
            pubsub_command(core, client, argv, reply, tx, pattern, subscribe);
        }
        b"hello" => hello_command(client, argv, reply),
        b"client" => client_command(client, argv, reply),
        b"auth" => {
            if !(2..=3).contains(&argc) {
                return arity_error(reply, "auth");
            }
            reply.error("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
        }
        b"command" => {
            // redis-cli asks for COMMAND DOCS at start for its hints; an
            // empty answer makes it work without them.
            reply.array(0);
        }
        b"shutdown" => {
            core.lock()
                .log(Level::Warning, "User requested shutdown...");
            core.stop.notify_waiters();
            client.close = true;
        }
        _ => reply.error(&crate::command::unknown_command_message(argv)),
    }
}

fn hello_command(client: &mut Client, argv: Argv<'_>, reply: &mut Reply) {
    let mut proto = if client.resp3 { 3 } else { 2 };
    if argv.len() >= 2 {
        match crate::resp::parse_i64(argv.get(1)) {
            Some(v @ 2..=3) => proto = v,
            Some(_) => {
                reply.error("NOPROTO unsupported protocol version");
                return;
            }
            None => {
                reply.error("ERR Protocol version is not an integer or out of range");
                return;
            }
        }
    }
    let mut i = 2;
    while i < argv.len() {
        if eq(argv.get(i), "setname") && i + 1 < argv.len() {
            client.name = Some(argv.get(i + 1).to_vec());
            i += 2;
        } else if eq(argv.get(i), "auth") && i + 2 < argv.len() {
            i += 3;
        } else {
            reply.error(&format!(
                "ERR Syntax error in HELLO option '{}'",
                text(argv.get(i))
            ));
            return;
        }
    }
    client.resp3 = proto == 3;
    reply.set_resp3(client.resp3);
    reply.map(6);
    reply.bulk(b"server");
    reply.bulk(b"redis");
    reply.bulk(b"version");
    reply.bulk(crate::REDIS_COMPAT_VERSION.as_bytes());
    reply.bulk(b"proto");
    reply.integer(proto);
    reply.bulk(b"id");
    reply.integer(client.id as i64);
    reply.bulk(b"mode");
    reply.bulk(b"sentinel");
    reply.bulk(b"modules");
    reply.array(0);
}

fn client_command(client: &mut Client, argv: Argv<'_>, reply: &mut Reply) {
    if argv.len() < 2 {
        return arity_error(reply, "client");
    }
    let sub = argv.get(1);
    if eq(sub, "setname") && argv.len() == 3 {
        let name = argv.get(2);
        if name.iter().any(|&b| b <= b' ' || b > b'~') {
            reply.error("ERR Client names cannot contain spaces, newlines or special characters.");
            return;
        }
        client.name = (!name.is_empty()).then(|| name.to_vec());
        reply.ok();
    } else if eq(sub, "getname") && argv.len() == 2 {
        reply.bulk_opt(client.name.as_deref());
    } else if eq(sub, "id") && argv.len() == 2 {
        reply.integer(client.id as i64);
    } else if eq(sub, "setinfo") && argv.len() == 4 {
        reply.ok();
    } else {
        reply.error(&format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.",
            text(sub)
        ));
    }
}

fn pubsub_command<R: Runtime>(
    core: &Arc<Core<R>>,
    client: &mut Client,
    argv: Argv<'_>,
    reply: &mut Reply,
    tx: &mpsc::UnboundedSender<Vec<u8>>,
    pattern: bool,
    subscribe: bool,
) {
    let mut subscribers = lock(&core.subscribers);
    let sub_id = *client.subscriber_id.get_or_insert_with(|| {
        subscribers.next_id += 1;
        subscribers.next_id
    });
    let entry = subscribers
        .clients
        .entry(sub_id)
        .or_insert_with(|| Subscriber {
            channels: Default::default(),
            patterns: Default::default(),
            tx: tx.clone(),
            resp3: client.resp3,
        });
    entry.resp3 = client.resp3;
    let kind: &[u8] = match (pattern, subscribe) {
        (false, true) => b"subscribe",
        (true, true) => b"psubscribe",
        (false, false) => b"unsubscribe",
        (true, false) => b"punsubscribe",
    };
    let mut targets: Vec<Vec<u8>> = argv.iter().skip(1).map(<[u8]>::to_vec).collect();
    if !subscribe && targets.is_empty() {
        targets = if pattern {
            entry.patterns.iter().cloned().collect()
        } else {
            entry.channels.iter().cloned().collect()
        };
        if targets.is_empty() {
            reply.push(3);
            reply.bulk(kind);
            reply.null();
            reply.integer((entry.channels.len() + entry.patterns.len()) as i64);
        }
    }
    for target in targets {
        let set = if pattern {
            &mut entry.patterns
        } else {
            &mut entry.channels
        };
        if subscribe {
            set.insert(target.clone());
        } else {
            set.remove(&target);
        }
        reply.push(3);
        reply.bulk(kind);
        reply.bulk(&target);
        reply.integer((entry.channels.len() + entry.patterns.len()) as i64);
    }
    client.channels = entry.channels.len() + entry.patterns.len();
}

fn info_command<R: Runtime>(core: &Arc<Core<R>>, argv: Argv<'_>, reply: &mut Reply) {
    let all_sections = ["server", "clients", "cpu", "stats", "sentinel"];
    let mut wanted: Vec<String> = argv
        .iter()
        .skip(1)
        .map(|a| text(a).to_ascii_lowercase())
        .collect();
    if wanted.is_empty()
        || wanted
            .iter()
            .any(|w| w == "all" || w == "everything" || w == "default")
    {
        wanted = all_sections.iter().map(|s| s.to_string()).collect();
    }
    let state = core.lock();
    let now = core.now();
    let mut out = String::new();
    let mut section = |name: &str, body: String| {
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        out.push_str(&format!("# {name}\r\n"));
        out.push_str(&body);
    };
    if wanted.iter().any(|w| w == "server") {
        let port = state.config.port;
        section(
            "Server",
            format!(
                "redis_version:{}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_mode:sentinel\r\nos:replsim\r\narch_bits:64\r\nprocess_id:{}\r\nrun_id:{}\r\ntcp_port:{port}\r\n",
                crate::REDIS_COMPAT_VERSION,
                std::process::id(),
                state.myid
            ),
        );
    }
    if wanted.iter().any(|w| w == "clients") {
        let subscribers = lock(&core.subscribers).clients.len();
        section("Clients", format!("pubsub_clients:{subscribers}\r\n"));
    }
    if wanted.iter().any(|w| w == "cpu") {
        section("CPU", String::new());
    }
    if wanted.iter().any(|w| w == "stats") {
        section("Stats", String::new());
    }
    if wanted.iter().any(|w| w == "sentinel") {
        let mut body = format!(
            "sentinel_masters:{}\r\nsentinel_tilt:{}\r\nsentinel_tilt_since_seconds:{}\r\nsentinel_running_scripts:0\r\nsentinel_scripts_queue_length:0\r\nsentinel_simulate_failure_flags:{}\r\n",
            state.masters.len(),
            u8::from(state.tilt),
            if state.tilt { (now.saturating_sub(state.tilt_start_time) / 1000) as i64 } else { -1 },
            u8::from(state.simfailure_after_election) | (u8::from(state.simfailure_after_promotion) << 1),
        );
        for (index, master) in state.masters.values().enumerate() {
            let i = &master.instance;
            let status = if i.flags.o_down {
                "odown"
            } else if i.flags.s_down {
                "sdown"
            } else {
                "ok"
            };
            body.push_str(&format!(
                "master{index}:name={},status={status},address={}:{},slaves={},sentinels={}\r\n",
                i.name,
                i.host,
                i.port,
                master.replicas.len(),
                master.sentinels.len() + 1
            ));
        }
        section("Sentinel", body);
    }
    drop(state);
    reply.bulk(out.as_bytes());
}
