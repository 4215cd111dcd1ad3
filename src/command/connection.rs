//! Connection commands: PING ECHO SELECT AUTH HELLO QUIT RESET and CLIENT
//! (ID, SETNAME, GETNAME, LIST, INFO, KILL, REPLY, HELP).

use super::flags::*;
use super::{container, int_arg, spec, sub, CmdError, CmdResult, CommandSpec, Ctx, Flow, NO_KEYS};
use std::time::Duration;

use crate::keyspace::DB_COUNT;
use crate::resp::Argv;
use crate::server::{Client, ClientKind};

pub(super) static COMMANDS: &[CommandSpec] = &[
    spec("ping", -1, FAST, NO_KEYS, ping),
    spec(
        "monitor",
        1,
        ADMIN | NOSCRIPT | LOADING | STALE,
        NO_KEYS,
        monitor,
    ),
    spec("echo", 2, LOADING | STALE | FAST, NO_KEYS, echo),
    spec("select", 2, LOADING | STALE | FAST, NO_KEYS, select),
    spec(
        "auth",
        -2,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
        NO_KEYS,
        auth,
    ),
    spec(
        "hello",
        -1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
        NO_KEYS,
        hello,
    ),
    spec(
        "quit",
        -1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | NO_QUEUE | ALLOW_BUSY,
        NO_KEYS,
        quit,
    ),
    spec(
        "reset",
        1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | NO_QUEUE | ALLOW_BUSY,
        NO_KEYS,
        reset,
    ),
    container("client", -2, 0, CLIENT_SUBCOMMANDS),
];

static CLIENT_SUBCOMMANDS: &[CommandSpec] = &[
    sub("client", "id", 2, NOSCRIPT | LOADING | STALE, client_id),
    sub(
        "client",
        "setname",
        3,
        NOSCRIPT | LOADING | STALE,
        client_setname,
    ),
    sub(
        "client",
        "getname",
        2,
        NOSCRIPT | LOADING | STALE,
        client_getname,
    ),
    sub(
        "client",
        "list",
        -2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        client_list,
    ),
    sub("client", "info", 2, NOSCRIPT | LOADING | STALE, client_info),
    sub(
        "client",
        "kill",
        -3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        client_kill,
    ),
    sub("client", "help", 2, LOADING | STALE, client_help),
    sub(
        "client",
        "pause",
        -3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        client_pause,
    ),
    sub(
        "client",
        "unpause",
        2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        client_unpause,
    ),
    sub(
        "client",
        "reply",
        3,
        NOSCRIPT | LOADING | STALE,
        client_reply,
    ),
    sub(
        "client",
        "unblock",
        -3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        super::blocking::client_unblock,
    ),
    sub(
        "client",
        "no-evict",
        3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        client_no_evict,
    ),
];

/// CLIENT NO-EVICT ON|OFF: marks the connection as one client eviction
/// spares (CLIENT LIST flag `e`). replsim evicts no client
/// (`maxmemory-clients` is inert), so the mark only shows.
///
/// # Propagation
/// None.
fn client_no_evict(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let on = match argv.get(2).to_ascii_lowercase().as_slice() {
        b"on" => true,
        b"off" => false,
        _ => return Err(CmdError::Syntax),
    };
    ctx.client.no_evict = on;
    ctx.out.ok();
    Ok(())
}

/// MONITOR: from now on the client is sent every command the server runs
/// (see [`crate::server::monitor`]), administrative ones excepted. A
/// replica or a client already monitoring gets no reply at all, as in
/// Redis; inside a transaction it is refused.
///
/// # Propagation
/// None.
fn monitor(ctx: &mut Ctx<'_>, _argv: Argv<'_>) -> CmdResult {
    if ctx.in_exec {
        return Err(CmdError::err(
            "MONITOR isn't allowed for DENY BLOCKING client",
        ));
    }
    if ctx.client.monitor || ctx.client.kind != crate::server::ClientKind::Normal {
        return Ok(());
    }
    ctx.client.monitor = true;
    ctx.state.monitors.push(ctx.client.id);
    ctx.out.ok();
    Ok(())
}

/// PING [message]: `+PONG`, or the message as a bulk string; a RESP2
/// client in pub/sub mode gets the array `pong`, message (empty without
/// one), as it reads pushes.
///
/// # Propagation
/// None (masters send their own PINGs into the stream).
fn ping(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    if argv.len() <= 2 && ctx.client.subscriptions.active() && !ctx.client.is_resp3() {
        ctx.out.array(2);
        ctx.out.bulk(b"pong");
        ctx.out
            .bulk(if argv.len() == 2 { argv.get(1) } else { b"" });
        return Ok(());
    }
    match argv.len() {
        1 => ctx.out.raw(b"+PONG\r\n"),
        2 => ctx.out.bulk(argv.get(1)),
        _ => {
            return Err(CmdError::err(
                "wrong number of arguments for 'ping' command",
            ))
        }
    }
    Ok(())
}

/// ECHO message: the message.
///
/// # Propagation
/// None.
fn echo(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    ctx.out.bulk(argv.get(1));
    Ok(())
}

/// SELECT index: switches the client to db `index` (0..16).
///
/// # Propagation
/// None: the stream carries its own SELECTs before keyed commands.
fn select(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let index = int_arg(argv.get(1))?;
    if index < i32::MIN as i64 || index > i32::MAX as i64 {
        return Err(CmdError::NotInteger);
    }
    if index < 0 || index >= DB_COUNT as i64 {
        return Err(CmdError::err("DB index is out of range"));
    }
    ctx.client.db = index as usize;
    ctx.out.ok();
    Ok(())
}

/// Checks a username/password pair against the default user (the only user
/// replsim has): the password must equal `requirepass`, or anything goes
/// when there is none.
fn credentials_ok(ctx: &Ctx<'_>, user: &[u8], password: &[u8]) -> bool {
    user == b"default"
        && ctx
            .state
            .config
            .requirepass
            .as_deref()
            .is_none_or(|p| p == password)
}

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

/// AUTH [username] password: authenticates the connection as the default user.
///
/// # Propagation
/// None.
fn auth(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    if argv.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let (user, password) = if argv.len() == 2 {
        if ctx.state.config.requirepass.is_none() {
            return Err(CmdError::err(
                "AUTH <password> called without any password configured for the default user. \
                 Are you sure your configuration is correct?",
            ));
        }
        (&b"default"[..], argv.get(1))
    } else {
        (argv.get(1), argv.get(2))
    };
    if !credentials_ok(ctx, user, password) {
        return Err(CmdError::Other(WRONGPASS.into()));
    }
    ctx.client.authenticated = true;
    ctx.out.ok();
    Ok(())
}

/// HELLO [protover [AUTH username password] [SETNAME name]]: switches
/// protocol (2 or 3; others get `-NOPROTO`), authenticates, names the
/// client, and replies with the server's properties, as a map in the new
/// protocol.
///
/// # Propagation
/// None.
fn hello(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let mut next = 1;
    let mut version = None;
    if argv.len() >= 2 {
        let asked = int_arg(argv.get(1))
            .map_err(|_| CmdError::err("Protocol version is not an integer or out of range"))?;
        next = 2;
        if !(2..=3).contains(&asked) {
            return Err(CmdError::Other(
                "NOPROTO unsupported protocol version".into(),
            ));
        }
        version = Some(asked == 3);
    }
    let mut credentials = None;
    let mut name = None;
    while next < argv.len() {
        let more = argv.len() - 1 - next;
        let option = argv.get(next);
        if option.eq_ignore_ascii_case(b"AUTH") && more >= 2 {
            credentials = Some((argv.get(next + 1), argv.get(next + 2)));
            next += 3;
        } else if option.eq_ignore_ascii_case(b"SETNAME") && more >= 1 {
            name = Some(argv.get(next + 1));
            next += 2;
        } else {
            return Err(CmdError::err(format!(
                "Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(option)
            )));
        }
    }
    if let Some((user, password)) = credentials {
        if !credentials_ok(ctx, user, password) {
            return Err(CmdError::Other(WRONGPASS.into()));
        }
        ctx.client.authenticated = true;
    }
    if ctx.state.auth_required(ctx.client) {
        return Err(CmdError::Other(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the \
             HELLO AUTH <user> <pass> option can be used to authenticate the client and \
             select the RESP protocol version at the same time"
                .into(),
        ));
    }
    if let Some(name) = name {
        set_client_name(ctx.client, name)?;
    }
    if let Some(resp3) = version {
        ctx.client.set_resp3(resp3);
        ctx.out.set_resp3(resp3);
    }
    let role = if ctx.state.is_replica() {
        "replica"
    } else {
        "master"
    };
    ctx.out.map(7);
    ctx.out.bulk(b"server");
    ctx.out.bulk(b"redis");
    ctx.out.bulk(b"version");
    ctx.out.bulk(crate::REDIS_COMPAT_VERSION.as_bytes());
    ctx.out.bulk(b"proto");
    ctx.out.integer(if ctx.client.is_resp3() { 3 } else { 2 });
    ctx.out.bulk(b"id");
    ctx.out.integer(ctx.client.id as i64);
    ctx.out.bulk(b"mode");
    ctx.out.bulk(b"standalone");
    ctx.out.bulk(b"role");
    ctx.out.bulk(role.as_bytes());
    ctx.out.bulk(b"modules");
    ctx.out.array(0);
    Ok(())
}

/// QUIT: `+OK`, then the connection closes.
///
/// # Propagation
/// None.
fn quit(ctx: &mut Ctx<'_>, _argv: Argv<'_>) -> CmdResult {
    ctx.out.ok();
    ctx.flow = Flow::CloseAfterReply;
    Ok(())
}

/// CLIENT REPLY ON|OFF|SKIP: `ON` replies `+OK` and sends replies again;
/// `OFF` drops every reply from now on (itself included); `SKIP` drops
/// its own reply and the next command's. Pub/sub messages and
/// (un)subscribe confirmations are sent whatever the mode, as in Redis.
fn client_reply(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let client = &mut *ctx.client;
    match argv.get(2).to_ascii_lowercase().as_slice() {
        b"on" => {
            client.reply_off = false;
            client.reply_skip = false;
            client.reply_skip_next = false;
            ctx.out.ok();
        }
        b"off" => client.reply_off = true,
        b"skip" => {
            if !client.reply_off {
                client.reply_skip_next = true;
            }
        }
        _ => return Err(CmdError::Syntax),
    }
    Ok(())
}

/// RESET: returns the connection to its state at connect: db 0, RESP2,
/// authenticated only when no password is set, no transaction or WATCH,
/// no subscription, no name, replies on; replies `+RESET`. Refused on a
/// replica's or master's link.
///
/// # Propagation
/// None.
fn reset(ctx: &mut Ctx<'_>, _argv: Argv<'_>) -> CmdResult {
    if ctx.client.kind != ClientKind::Normal {
        return Err(CmdError::err("can only reset normal client connections"));
    }
    let client = &mut *ctx.client;
    client.db = 0;
    client.authenticated = ctx.state.config.requirepass.is_none();
    client.take_multi();
    ctx.state.watches.unwatch_all(client.id);
    crate::server::pubsub::forget_client(&mut ctx.state.pubsub, client);
    client.name = None;
    client.reply_off = false;
    client.reply_skip_next = false;
    client.set_resp3(false);
    ctx.out.set_resp3(false);
    ctx.out.simple("RESET");
    Ok(())
}

/// CLIENT PAUSE timeout [WRITE|ALL]: holds back normal clients' commands
/// (ALL, the default) or those that may write or replicate (WRITE) for
/// `timeout` milliseconds; the dataset stays still meanwhile (no expiry).
/// Another pause merges with it (the more restrictive kind, the later end).
///
/// # Propagation
/// None.
fn client_pause(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    use crate::server::pause::PauseKind;
    if argv.len() > 4 {
        return Err(client_arity_error(argv));
    }
    let kind = match argv.len() {
        4 if argv.get(3).eq_ignore_ascii_case(b"write") => PauseKind::Write,
        4 if argv.get(3).eq_ignore_ascii_case(b"all") => PauseKind::All,
        4 => return Err(CmdError::err("CLIENT PAUSE mode must be WRITE or ALL")),
        _ => PauseKind::All,
    };
    let timeout = int_arg(argv.get(2))
        .map_err(|_| CmdError::err("timeout is not an integer or out of range"))?;
    if timeout < 0 {
        return Err(CmdError::err("timeout is negative"));
    }
    // A zero timeout ends at once (Redis's end time 0 is in the past).
    let end = if timeout == 0 {
        Duration::ZERO
    } else {
        ctx.state.mono_now + Duration::from_millis(timeout as u64)
    };
    ctx.state.client_pauses.pause_by_command(kind, end);
    ctx.out.ok();
    Ok(())
}

/// Redis's reply to a CLIENT subcommand given more arguments than it takes.
pub(super) fn client_arity_error(argv: Argv<'_>) -> CmdError {
    CmdError::err(format!(
        "unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.",
        String::from_utf8_lossy(argv.get(1))
    ))
}

/// CLIENT UNPAUSE: lifts CLIENT PAUSE (not a failover's pause).
///
/// # Propagation
/// None.
fn client_unpause(ctx: &mut Ctx<'_>, _argv: Argv<'_>) -> CmdResult {
    ctx.state.client_pauses.unpause_by_command();
    ctx.out.ok();
    Ok(())
}

/// CLIENT ID: the connection's id.
fn client_id(ctx: &mut Ctx<'_>, _argv: Argv<'_>) -> CmdResult {
    ctx.out.integer(ctx.client.id as i64);
    Ok(())
}

fn set_client_name(client: &mut Client, name: &[u8]) -> CmdResult {
    if name.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        return Err(CmdError::err(
            "Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    client.name = (!name.is_empty()).then(|| name.to_vec());
    Ok(())
}

/// CLIENT SETNAME name: names the connection (empty clears it).
fn client_setname(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    set_client_name(ctx.client, argv.get(2))?;
    ctx.out.ok();
    Ok(())
}

/// CLIENT GETNAME: the name, or nil.
fn client_getname(ctx: &mut Ctx<'_>, _argv: Argv<'_>) -> CmdResult {
    let name = ctx.client.name.clone();
    ctx.out.bulk_opt(name.as_deref());
    Ok(())
}

/// One CLIENT LIST line, with Redis 7.0's fields in its order. Fields that
/// describe Redis's memory internals report replsim's own buffers where it
/// has them and 0 otherwise: `qbuf-free` is the query buffer's spare
/// allocation, `rbs` the reply buffer's allocation, `omem` the replies not
/// written yet, `tot-mem` their sum with `qbuf`.
pub(crate) fn client_line(
    client: &Client,
    now: std::time::Duration,
    current_command: Option<&str>,
) -> String {
    // Redis's letters in its order: S (replica), M (master), P (pub/sub),
    // x (MULTI); N when none applies.
    let mut flags = String::new();
    match client.kind {
        ClientKind::Replica => flags.push('S'),
        ClientKind::Master => flags.push('M'),
        ClientKind::Normal => {}
    }
    if client.subscriptions.active() {
        flags.push('P');
    }
    if client.in_multi() {
        flags.push('x');
    }
    if client.blocked {
        flags.push('b');
    }
    if client.monitor {
        flags.push('O');
    }
    if client.unix_socket {
        flags.push('U');
    }
    if client.no_evict {
        flags.push('e');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let command = match (current_command, client.last_command) {
        (Some(name), _) => name.to_string(),
        (None, Some(spec)) => spec.full_name(),
        (None, None) => "NULL".to_string(),
    };
    format!(
        "id={} addr={} laddr={} fd=0 name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} \
         multi={} qbuf={} qbuf-free={} argv-mem=0 multi-mem={} rbs={} rbp=0 obl=0 oll=0 omem={} \
         tot-mem={} events=r cmd={} user=default redir=-1 resp={}\n",
        client.id,
        client.addr,
        client.laddr,
        client
            .name
            .as_deref()
            .map(String::from_utf8_lossy)
            .unwrap_or_default(),
        now.saturating_sub(client.created).as_secs(),
        now.saturating_sub(client.last_interaction).as_secs(),
        flags,
        client.db,
        client.subscriptions.channel_count(),
        client.subscriptions.pattern_count(),
        client.subscriptions.shard_count(),
        client.multi_len(),
        client.query_buffer_len,
        client.query_buffer_free,
        client.multi_mem(),
        client.reply_buffer_size,
        client.reply_pending,
        client.query_buffer_len + client.query_buffer_free + client.reply_buffer_size,
        command,
        if client.is_resp3() { 3 } else { 2 },
    )
}

/// The type CLIENT LIST and CLIENT KILL filter on: the client's kind, or
/// `None` for a normal client subscribed to anything (Redis's `pubsub`
/// type, `getClientType`).
fn client_type(client: &Client) -> Option<ClientKind> {
    match client.kind {
        ClientKind::Normal if client.subscriptions.active() => None,
        kind => Some(kind),
    }
}

fn kind_from_name(name: &[u8]) -> Result<Option<ClientKind>, CmdError> {
    match name.to_ascii_lowercase().as_slice() {
        b"normal" => Ok(Some(ClientKind::Normal)),
        b"master" => Ok(Some(ClientKind::Master)),
        b"replica" | b"slave" => Ok(Some(ClientKind::Replica)),
        // `None`: a normal client in pub/sub mode (see `client_type`).
        b"pubsub" => Ok(None),
        _ => Err(CmdError::err(format!(
            "Unknown client type '{}'",
            String::from_utf8_lossy(name)
        ))),
    }
}

/// CLIENT LIST [TYPE normal|master|replica|pubsub] [ID id ...]: one line per
/// connection, in id order.
fn client_list(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let mut kind_filter: Option<Option<ClientKind>> = None;
    let mut ids: Option<Vec<u64>> = None;
    if argv.len() == 4 && argv.get(2).eq_ignore_ascii_case(b"TYPE") {
        kind_filter = Some(kind_from_name(argv.get(3))?);
    } else if argv.len() > 3 && argv.get(2).eq_ignore_ascii_case(b"ID") {
        let mut list = Vec::new();
        for arg in argv.iter().skip(3) {
            match int_arg(arg) {
                Ok(id) if id > 0 => list.push(id as u64),
                _ => return Err(CmdError::err("Invalid client ID")),
            }
        }
        ids = Some(list);
    } else if argv.len() != 2 {
        return Err(CmdError::Syntax);
    }
    let now = ctx.client.last_interaction;
    let me = ctx.client.id;
    let mut lines = String::new();
    let others = ctx.state.clients.values();
    let mut all: Vec<&Client> = others.collect();
    all.push(ctx.client);
    all.sort_by_key(|c| c.id);
    for client in all {
        if kind_filter.is_some_and(|k| k != client_type(client)) {
            continue;
        }
        if ids.as_ref().is_some_and(|ids| !ids.contains(&client.id)) {
            continue;
        }
        let current = (client.id == me).then_some("client|list");
        lines.push_str(&client_line(client, now, current));
    }
    ctx.out.verbatim("txt", lines.as_bytes());
    Ok(())
}

/// CLIENT INFO: this connection's CLIENT LIST line.
fn client_info(ctx: &mut Ctx<'_>, _argv: Argv<'_>) -> CmdResult {
    let line = client_line(ctx.client, ctx.client.last_interaction, Some("client|info"));
    ctx.out.verbatim("txt", line.as_bytes());
    Ok(())
}

/// Filters of the new CLIENT KILL form.
#[derive(Default)]
struct KillFilter {
    id: Option<u64>,
    kind: Option<Option<ClientKind>>,
    addr: Option<Vec<u8>>,
    laddr: Option<Vec<u8>>,
    skip_me: bool,
}

impl KillFilter {
    fn matches(&self, client: &Client, me: u64) -> bool {
        self.id.is_none_or(|id| id == client.id)
            && self.kind.is_none_or(|k| k == client_type(client))
            && self
                .addr
                .as_deref()
                .is_none_or(|a| a == client.addr.as_bytes())
            && self
                .laddr
                .as_deref()
                .is_none_or(|a| a == client.laddr.as_bytes())
            && !(self.skip_me && client.id == me)
    }
}

/// CLIENT KILL addr | CLIENT KILL [ID id] [TYPE type] [ADDR addr]
/// [LADDR addr] [SKIPME yes|no]: closes matching connections. The old form
/// replies `+OK` or "No such client"; the new form the number killed.
/// `TYPE master` closes this node's link to its master, and the replication
/// layer reconnects as Redis does. Killing oneself closes after the reply.
fn client_kill(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let old_form = argv.len() == 3;
    let mut filter = KillFilter {
        skip_me: !old_form,
        ..KillFilter::default()
    };
    if old_form {
        filter.addr = Some(argv.get(2).to_vec());
    } else {
        if argv.len() % 2 != 0 {
            return Err(CmdError::Syntax);
        }
        for i in (2..argv.len()).step_by(2) {
            let value = argv.get(i + 1);
            match argv.get(i).to_ascii_uppercase().as_slice() {
                b"ID" => match int_arg(value) {
                    Ok(id) if id > 0 => filter.id = Some(id as u64),
                    _ => return Err(CmdError::err("client-id should be greater than 0")),
                },
                b"TYPE" => filter.kind = Some(kind_from_name(value)?),
                b"ADDR" => filter.addr = Some(value.to_vec()),
                b"LADDR" => filter.laddr = Some(value.to_vec()),
                b"SKIPME" => match value.to_ascii_lowercase().as_slice() {
                    b"yes" => filter.skip_me = true,
                    b"no" => filter.skip_me = false,
                    _ => return Err(CmdError::Syntax),
                },
                b"USER" if value == b"default" => {}
                b"USER" => {
                    return Err(CmdError::err(format!(
                        "No such user '{}'",
                        String::from_utf8_lossy(value)
                    )))
                }
                _ => return Err(CmdError::Syntax),
            }
        }
    }
    let me = ctx.client.id;
    let mut killed = 0;
    for client in ctx.state.clients.values() {
        if filter.matches(client, me) {
            client.kill_switch().kill();
            killed += 1;
        }
    }
    if filter.matches(ctx.client, me) {
        ctx.flow = Flow::CloseAfterReply;
        killed += 1;
    }
    if old_form {
        if killed == 0 {
            return Err(CmdError::err("No such client"));
        }
        ctx.out.ok();
    } else {
        ctx.out.integer(killed);
    }
    Ok(())
}

/// CLIENT HELP: the subcommands.
fn client_help(ctx: &mut Ctx<'_>, _argv: Argv<'_>) -> CmdResult {
    super::server_cmds::reply_help(
        ctx,
        "CLIENT",
        &[
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are: ID, TYPE (normal|master|replica|pubsub), ADDR, LADDR, USER, SKIPME (yes|no).",
            "LIST [TYPE (normal|master|replica|pubsub)] [ID <id> [<id> ...]]",
            "    Return information about client connections.",
            "UNPAUSE",
            "    Stop the current client pause, resuming traffic.",
            "PAUSE <timeout> [WRITE|ALL]",
            "    Suspend all, or just write, clients for <timeout> milliseconds.",
            "REPLY (ON|OFF|SKIP)",
            "    Control the replies sent to the current connection.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "UNBLOCK <clientid> [TIMEOUT|ERROR]",
            "    Unblock the specified blocked client.",
            "NO-EVICT (ON|OFF)",
            "    Protect current client connection from eviction.",
        ],
    );
    Ok(())
}
