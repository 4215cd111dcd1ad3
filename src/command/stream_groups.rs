//! Stream reads and consumer groups: XREAD XREADGROUP (blocking with
//! BLOCK), XGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM (`t_stream.c`), and
//! the serving of clients blocked on streams (`serveClientsBlockedOnStreamKey`).
//!
//! Propagation follows Redis 7.0, which never propagates a read: every
//! entry XREADGROUP delivers is propagated as `XCLAIM key group consumer 0
//! id TIME ms RETRYCOUNT n FORCE JUSTID LASTID last-delivered`; with NOACK
//! the group's position goes as `XGROUP SETID key group id ENTRIESREAD n`
//! (and a consumer it created as `XGROUP CREATECONSUMER`); XCLAIM and
//! XAUTOCLAIM are propagated as one such XCLAIM per entry they claimed or
//! dropped from the PEL. A blocked XREADGROUP served later propagates the
//! same way, once served.

use std::time::Duration;

use super::flags::*;
use super::streams::{
    parse_end, parse_id_full, parse_start, parse_strict_id, read_stream, reply_entry, reply_id,
    stream_mut, subcommand_syntax_error,
};
use super::{container, int_arg, spec, sub, CmdError, CmdResult, CommandSpec, Ctx, Flow, KEY1};
use crate::keyspace::{blob, Value};
use crate::resp::{Argv, Reply};
use crate::server::blocking::BlockedClient;
use crate::server::pubsub::notify;
use crate::stream::{Group, StreamEntry, StreamId, ENTRIES_READ_INVALID};

pub(super) static COMMANDS: &[CommandSpec] = &[
    spec(
        "xread",
        -4,
        BLOCKING | READONLY | MOVABLE_KEYS,
        (0, 0, 0),
        xread,
    ),
    spec(
        "xreadgroup",
        -7,
        BLOCKING | WRITE | MOVABLE_KEYS,
        (0, 0, 0),
        xreadgroup,
    ),
    spec("xack", -4, WRITE | FAST, KEY1, xack),
    spec("xpending", -3, READONLY, KEY1, xpending),
    spec("xclaim", -6, WRITE | FAST, KEY1, xclaim),
    spec("xautoclaim", -6, WRITE | FAST, KEY1, xautoclaim),
    container("xgroup", -2, 0, XGROUP_SUBCOMMANDS),
];

static XGROUP_SUBCOMMANDS: &[CommandSpec] = &[
    sub("xgroup", "create", -5, WRITE | DENYOOM, xgroup),
    sub("xgroup", "setid", -5, WRITE, xgroup),
    sub("xgroup", "destroy", 4, WRITE, xgroup),
    sub("xgroup", "createconsumer", 5, WRITE | DENYOOM, xgroup),
    sub("xgroup", "delconsumer", 5, WRITE, xgroup),
    sub("xgroup", "help", 2, LOADING | STALE, xgroup_help),
];

/// How many entries a blocked XREAD without COUNT gets once served
/// (`XREAD_BLOCKED_DEFAULT_COUNT`).
const BLOCKED_DEFAULT_COUNT: usize = 1000;

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn id_text(id: StreamId) -> Vec<u8> {
    id.to_string().into_bytes()
}

/// `streamPropagateXCLAIM`: the XCLAIM that recreates pending entry `id`
/// (named as `id_arg`) of `group` on a replica.
fn propagate_xclaim(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    group_name: &[u8],
    group: &Group,
    id_arg: &[u8],
    id: StreamId,
) {
    let Some(pending) = group.pel.get(&id) else {
        return;
    };
    let args: Vec<Vec<u8>> = vec![
        b"XCLAIM".to_vec(),
        key.to_vec(),
        group_name.to_vec(),
        pending.consumer.to_vec(),
        b"0".to_vec(),
        id_arg.to_vec(),
        b"TIME".to_vec(),
        pending.delivery_time.to_string().into_bytes(),
        b"RETRYCOUNT".to_vec(),
        pending.delivery_count.to_string().into_bytes(),
        b"FORCE".to_vec(),
        b"JUSTID".to_vec(),
        b"LASTID".to_vec(),
        id_text(group.last_id),
    ];
    ctx.also_propagate(&args);
}

/// `streamPropagateGroupID`: `XGROUP SETID key group id ENTRIESREAD n`.
fn propagate_group_id(ctx: &mut Ctx<'_>, key: &[u8], group_name: &[u8], group: &Group) {
    ctx.also_propagate(&[
        b"XGROUP".to_vec(),
        b"SETID".to_vec(),
        key.to_vec(),
        group_name.to_vec(),
        id_text(group.last_id),
        b"ENTRIESREAD".to_vec(),
        group.entries_read.to_string().into_bytes(),
    ]);
}

fn no_such_group(key: &[u8], group: &[u8]) -> CmdError {
    CmdError::Other(format!(
        "NOGROUP No such key '{}' or consumer group '{}'",
        lossy(key),
        lossy(group)
    ))
}

/// The group `name` of the stream at `key` for writing.
fn group_mut<'c>(ctx: &'c mut Ctx<'_>, key: &[u8], name: &[u8]) -> Option<&'c mut Group> {
    match ctx.db().value_mut(key) {
        Some(Value::Stream(stream)) => stream.groups.get_mut(name),
        _ => None,
    }
}

/// XREAD and XREADGROUP options.
struct ReadArgs<'a> {
    block_ms: Option<i64>,
    count: usize,
    keys: Vec<&'a [u8]>,
    id_args: Vec<&'a [u8]>,
    group: Option<(&'a [u8], &'a [u8])>,
    noack: bool,
}

/// XREAD's and XREADGROUP's arguments; BLOCK is refused in a script
/// (`from_script`), as Redis refuses it there.
fn parse_read_args<'a>(
    argv: Argv<'a>,
    xreadgroup: bool,
    from_script: bool,
) -> Result<ReadArgs<'a>, CmdError> {
    let mut args = ReadArgs {
        block_ms: None,
        count: 0,
        keys: Vec::new(),
        id_args: Vec::new(),
        group: None,
        noack: false,
    };
    let mut streams_at = 0;
    let mut i = 1;
    while i < argv.len() {
        let more = argv.len() - i - 1;
        let opt = argv.get(i);
        if opt.eq_ignore_ascii_case(b"BLOCK") && more > 0 {
            if from_script {
                return Err(CmdError::err(format!(
                    "{} command is not allowed with BLOCK option from scripts",
                    String::from_utf8_lossy(argv.get(0))
                )));
            }
            i += 1;
            let ms = crate::resp::parse_i64(argv.get(i))
                .ok_or_else(|| CmdError::err("timeout is not an integer or out of range"))?;
            if ms < 0 {
                return Err(CmdError::err("timeout is negative"));
            }
            args.block_ms = Some(ms);
        } else if opt.eq_ignore_ascii_case(b"COUNT") && more > 0 {
            i += 1;
            args.count = int_arg(argv.get(i))?.max(0) as usize;
        } else if opt.eq_ignore_ascii_case(b"STREAMS") && more > 0 {
            streams_at = i + 1;
            let n = argv.len() - streams_at;
            if n % 2 != 0 {
                return Err(CmdError::err(
                    "Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.",
                ));
            }
            break;
        } else if opt.eq_ignore_ascii_case(b"GROUP") && more >= 2 {
            if !xreadgroup {
                return Err(CmdError::err(
                    "The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            args.group = Some((argv.get(i + 1), argv.get(i + 2)));
            i += 2;
        } else if opt.eq_ignore_ascii_case(b"NOACK") {
            if !xreadgroup {
                return Err(CmdError::err(
                    "The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            args.noack = true;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if streams_at == 0 {
        return Err(CmdError::Syntax);
    }
    if xreadgroup && args.group.is_none() {
        return Err(CmdError::err("Missing GROUP option for XREADGROUP"));
    }
    let n = (argv.len() - streams_at) / 2;
    args.keys = (streams_at..streams_at + n).map(|i| argv.get(i)).collect();
    args.id_args = (streams_at + n..argv.len()).map(|i| argv.get(i)).collect();
    Ok(args)
}

/// XREAD [COUNT n] [BLOCK ms] STREAMS key [key ...] id [id ...]: entries
/// after each ID (`$`: after the last one now); with BLOCK, waits for the
/// first key to get one (a map in RESP3).
///
/// # Propagation
/// None.
fn xread(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    read_generic(ctx, argv, false)
}

/// XREADGROUP GROUP group consumer [COUNT n] [BLOCK ms] [NOACK] STREAMS
/// key [key ...] id [id ...]: `>` delivers entries never delivered to
/// the group (adding them to the consumer's PEL unless NOACK); another ID
/// replays the consumer's own pending entries after it.
///
/// # Propagation
/// One `XCLAIM ... FORCE JUSTID LASTID` per entry delivered; with NOACK,
/// `XGROUP SETID ... ENTRIESREAD n` (and `XGROUP CREATECONSUMER` for a
/// new consumer). Never the command itself.
fn xreadgroup(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    read_generic(ctx, argv, true)
}

fn read_generic(ctx: &mut Ctx<'_>, argv: Argv<'_>, xreadgroup: bool) -> CmdResult {
    ctx.no_propagation();
    let args = parse_read_args(argv, xreadgroup, ctx.in_script)?;
    if let Some(key) = ctx.serving_key.clone() {
        return serve_blocked(ctx, &args, &key);
    }
    let mut ids = Vec::with_capacity(args.keys.len());
    for (key, id_arg) in args.keys.iter().zip(&args.id_args) {
        let stream = read_stream(ctx, key)?;
        if let Some((group, _)) = args.group {
            if stream.is_none_or(|s| !s.groups.contains_key(group)) {
                return Err(CmdError::Other(format!(
                    "NOGROUP No such key '{}' or consumer group '{}' in XREADGROUP with GROUP option",
                    lossy(key),
                    lossy(group)
                )));
            }
        }
        let id = if *id_arg == b"$" {
            if xreadgroup {
                return Err(CmdError::err(
                    "The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.",
                ));
            }
            stream.map_or(StreamId::MIN, |s| s.last_id)
        } else if *id_arg == b">" {
            if !xreadgroup {
                return Err(CmdError::err(
                    "The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.",
                ));
            }
            StreamId::MAX
        } else {
            parse_strict_id(id_arg)?
        };
        ids.push(id);
    }
    let resp3 = ctx.out.is_resp3();
    let mut body = Reply::with_protocol(resp3);
    let mut served = 0;
    for (i, key) in args.keys.iter().enumerate() {
        let Some(stream) = read_stream(ctx, key)? else {
            continue;
        };
        let mut gt = ids[i];
        let mut history = false;
        let serve = match args.group {
            Some((group, _)) => {
                if gt != StreamId::MAX {
                    history = true;
                    true
                } else if stream.length > 0 {
                    let last = stream.groups[group].last_id;
                    if stream.last_valid_id() > last {
                        gt = last;
                        true
                    } else {
                        false
                    }
                } else {
                    false
                }
            }
            None => stream.length > 0 && stream.last_valid_id() > gt,
        };
        if !serve {
            continue;
        }
        served += 1;
        if !resp3 {
            body.array(2);
        }
        body.bulk(key);
        let start = gt.next().unwrap_or(StreamId::MAX);
        deliver(ctx, &mut body, key, start, args.count, &args, history);
    }
    if served > 0 {
        if resp3 {
            ctx.out.map(served);
        } else {
            ctx.out.array(served);
        }
        ctx.out.raw(body.as_bytes());
        return Ok(());
    }
    match args.block_ms {
        Some(ms) if !ctx.in_exec => {
            let deadline = if ms == 0 {
                None
            } else {
                if ms > i64::MAX - ctx.now_ms as i64 {
                    return Err(CmdError::err("timeout is out of range"));
                }
                Some(ctx.state.mono_now + Duration::from_millis(ms as u64))
            };
            let blocked = BlockedClient {
                db: ctx.client.db,
                keys: args.keys.iter().map(|k| blob(k)).collect(),
                argv: argv.to_owned_argv(),
                deadline,
                stream_ids: ids,
            };
            ctx.state.blocking.block(ctx.client.id, blocked);
            ctx.client.blocked = true;
            ctx.flow = Flow::Block;
        }
        _ => ctx.out.null_array(),
    }
    Ok(())
}

/// Writes the entries of `key` from `start` to `out` (`streamReplyWithRange`
/// with a group, or `streamReplyWithRangeFromConsumerPEL` for history),
/// updating the group and propagating what changed.
fn deliver(
    ctx: &mut Ctx<'_>,
    out: &mut Reply,
    key: &[u8],
    start: StreamId,
    count: usize,
    args: &ReadArgs<'_>,
    history: bool,
) {
    let now = ctx.now_ms as i64;
    let limit = if count == 0 { usize::MAX } else { count };
    let Some((group_name, consumer)) = args.group else {
        let entries: Vec<StreamEntry> = match read_stream(ctx, key) {
            Ok(Some(stream)) => stream.range(start, StreamId::MAX).take(limit).collect(),
            _ => Vec::new(),
        };
        out.array(entries.len());
        for entry in &entries {
            reply_entry(out, entry);
        }
        return;
    };
    let db = ctx.client.db;
    // The consumer: seen now, or created (a change of its own).
    let created = match group_mut(ctx, key, group_name) {
        Some(group) => match group.consumers.get_mut(consumer) {
            Some(c) => {
                c.seen_time = now;
                false
            }
            None => group.create_consumer(consumer, now),
        },
        None => false,
    };
    if created {
        ctx.changed(1);
        ctx.notify(notify::STREAM, "xgroup-createconsumer", key);
        if args.noack {
            ctx.also_propagate(&[&b"XGROUP"[..], b"CREATECONSUMER", key, group_name, consumer]);
        }
    }
    ctx.changed(1);
    let Some(Value::Stream(stream)) = ctx.state.keyspace.db_mut(db).value_mut(key) else {
        out.array(0);
        return;
    };
    if history {
        let pending: Vec<StreamId> = stream.groups[group_name].consumers[consumer]
            .pending
            .range(start..)
            .take(limit)
            .copied()
            .collect();
        out.array(pending.len());
        for id in pending {
            match stream.get(id) {
                Some(entry) => {
                    reply_entry(out, &entry);
                    if let Some(p) = stream
                        .groups
                        .get_mut(group_name)
                        .and_then(|g| g.pel.get_mut(&id))
                    {
                        p.delivery_time = now;
                        p.delivery_count += 1;
                    }
                }
                None => {
                    out.array(2);
                    reply_id(out, id);
                    out.null_array();
                }
            }
        }
        return;
    }
    let entries: Vec<StreamEntry> = stream.range(start, StreamId::MAX).take(limit).collect();
    out.array(entries.len());
    let mut moved = false;
    let mut claims = Vec::new();
    for entry in &entries {
        if entry.id > stream.groups[group_name].last_id {
            stream.advance_group(group_name, entry.id);
            moved = true;
        }
        reply_entry(out, entry);
        if !args.noack {
            let group = stream.groups.get_mut(group_name).expect("group exists");
            group.assign(entry.id, consumer, now, 1);
            claims.push((entry.id, group.clone_for_claim(entry.id)));
        }
    }
    let group_after = stream.groups[group_name].clone_for_claim(StreamId::MIN);
    for (id, group) in claims {
        propagate_xclaim(ctx, key, group_name, &group, &id_text(id), id);
    }
    if args.noack && moved {
        propagate_group_id(ctx, key, group_name, &group_after);
    }
}

impl Group {
    /// The part of the group an XCLAIM propagation needs: its last ID,
    /// its read counter and pending entry `id`.
    fn clone_for_claim(&self, id: StreamId) -> Group {
        let mut group = Group::new(self.last_id, self.entries_read);
        if let Some(pending) = self.pel.get(&id) {
            group.pel.insert(id, pending.clone());
        }
        group
    }
}

/// Serves a client blocked by XREAD/XREADGROUP on the ready `key`
/// (`serveClientsBlockedOnStreamKey`): it gets the entries after the ID
/// it waits for (the group's last-delivered ID for `>`), or stays blocked.
fn serve_blocked(ctx: &mut Ctx<'_>, args: &ReadArgs<'_>, key: &[u8]) -> CmdResult {
    let block = |ctx: &mut Ctx<'_>| {
        ctx.flow = Flow::Block;
        Ok(())
    };
    let Some(blocked) = ctx.state.blocking.get(ctx.client.id).cloned() else {
        return block(ctx);
    };
    let Some(at) = blocked.keys.iter().position(|k| k.as_slice() == key) else {
        return block(ctx);
    };
    let stream = match read_stream(ctx, key) {
        Ok(Some(stream)) => stream,
        _ => return block(ctx),
    };
    let mut gt = blocked.stream_ids.get(at).copied().unwrap_or(StreamId::MAX);
    if let Some((group, _)) = args.group {
        match stream.groups.get(group) {
            Some(g) => gt = g.last_id,
            None => {
                return Err(CmdError::Other(
                    "NOGROUP the consumer group this client was blocked on no longer exists".into(),
                ))
            }
        }
    }
    if stream.last_id <= gt {
        return block(ctx);
    }
    let resp3 = ctx.out.is_resp3();
    let mut body = Reply::with_protocol(resp3);
    if resp3 {
        body.map(1);
    } else {
        body.array(1);
        body.array(2);
    }
    body.bulk(key);
    let count = if args.count == 0 {
        BLOCKED_DEFAULT_COUNT
    } else {
        args.count
    };
    let start = gt.next().unwrap_or(StreamId::MAX);
    deliver(ctx, &mut body, key, start, count, args, false);
    ctx.out.raw(body.as_bytes());
    Ok(())
}

/// XGROUP CREATE key group id|$ [MKSTREAM] [ENTRIESREAD n] | SETID key
/// group id|$ [ENTRIESREAD n] | DESTROY key group | CREATECONSUMER key
/// group consumer | DELCONSUMER key group consumer.
///
/// # Propagation
/// Verbatim when it changed something.
fn xgroup(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let opt = argv.get(1);
    let create = opt.eq_ignore_ascii_case(b"CREATE");
    let setid = opt.eq_ignore_ascii_case(b"SETID");
    let mut mkstream = false;
    let mut entries_read = ENTRIES_READ_INVALID;
    let mut i = 5;
    while i < argv.len() {
        if create && argv.get(i).eq_ignore_ascii_case(b"MKSTREAM") {
            mkstream = true;
            i += 1;
        } else if (create || setid)
            && argv.get(i).eq_ignore_ascii_case(b"ENTRIESREAD")
            && i + 1 < argv.len()
        {
            entries_read = int_arg(argv.get(i + 1))?;
            if entries_read < 0 && entries_read != ENTRIES_READ_INVALID {
                return Err(CmdError::err(
                    "value for ENTRIESREAD must be positive or -1",
                ));
            }
            i += 2;
        } else {
            return Err(subcommand_syntax_error(argv));
        }
    }
    let key = argv.get(2);
    let group_name = argv.get(3);
    let (exists, has_group, last_id) = match read_stream(ctx, key)? {
        Some(s) => (true, s.groups.contains_key(group_name), s.last_id),
        None => (false, false, StreamId::MIN),
    };
    if !mkstream {
        if !exists {
            return Err(CmdError::err(
                "The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.",
            ));
        }
        let needs_group = setid
            || opt.eq_ignore_ascii_case(b"CREATECONSUMER")
            || opt.eq_ignore_ascii_case(b"DELCONSUMER");
        if !has_group && needs_group {
            return Err(CmdError::Other(format!(
                "NOGROUP No such consumer group '{}' for key name '{}'",
                lossy(group_name),
                lossy(key)
            )));
        }
    }
    let now = ctx.now_ms as i64;
    if create && argv.len() <= 8 {
        let id = if argv.get(4) == b"$" {
            last_id
        } else {
            parse_strict_id(argv.get(4))?
        };
        if !exists {
            ctx.db().insert(key, Value::Stream(Box::default()));
            let db = ctx.client.db;
            ctx.state.watches.touch(db, key, true);
        }
        let stream = stream_mut(ctx, key)?.expect("the stream exists");
        if stream.groups.contains_key(group_name) {
            return Err(CmdError::Other(
                "BUSYGROUP Consumer Group name already exists".into(),
            ));
        }
        stream
            .groups
            .insert(blob(group_name), Group::new(id, entries_read));
        ctx.out.ok();
        ctx.changed(1);
        ctx.notify(notify::STREAM, "xgroup-create", key);
    } else if setid && (argv.len() == 5 || argv.len() == 7) {
        let id = if argv.get(4) == b"$" {
            last_id
        } else {
            parse_id_full(argv.get(4), 0, false, false)?.id
        };
        let group = group_mut(ctx, key, group_name).expect("the group exists");
        group.last_id = id;
        group.entries_read = entries_read;
        ctx.out.ok();
        ctx.changed(1);
        ctx.notify(notify::STREAM, "xgroup-setid", key);
    } else if opt.eq_ignore_ascii_case(b"DESTROY") && argv.len() == 4 {
        let stream = stream_mut(ctx, key)?.expect("the stream exists");
        if stream.groups.remove(group_name).is_some() {
            ctx.out.integer(1);
            ctx.changed(1);
            ctx.notify(notify::STREAM, "xgroup-destroy", key);
            let db = ctx.client.db;
            ctx.state.blocking.signal_ready(db, key);
        } else {
            ctx.out.integer(0);
        }
    } else if opt.eq_ignore_ascii_case(b"CREATECONSUMER") && argv.len() == 5 {
        let group = group_mut(ctx, key, group_name).expect("the group exists");
        let created = group.create_consumer(argv.get(4), now);
        if created {
            ctx.changed(1);
            ctx.notify(notify::STREAM, "xgroup-createconsumer", key);
        }
        ctx.out.integer(i64::from(created));
    } else if opt.eq_ignore_ascii_case(b"DELCONSUMER") && argv.len() == 5 {
        let group = group_mut(ctx, key, group_name).expect("the group exists");
        let pending = group.delete_consumer(argv.get(4));
        if pending.is_some() {
            ctx.changed(1);
            ctx.notify(notify::STREAM, "xgroup-delconsumer", key);
        }
        ctx.out.integer(pending.unwrap_or(0) as i64);
    } else {
        return Err(subcommand_syntax_error(argv));
    }
    Ok(())
}

/// XGROUP HELP.
///
/// # Propagation
/// None.
fn xgroup_help(ctx: &mut Ctx<'_>, _argv: Argv<'_>) -> CmdResult {
    super::server_cmds::reply_help(
        ctx,
        "XGROUP",
        &[
            "CREATE <key> <groupname> <id|$> [option]",
            "    Create a new consumer group. Options are:",
            "    * MKSTREAM",
            "      Create the empty stream if it does not exist.",
            "    * ENTRIESREAD entries_read",
            "      Set the group's entries_read counter (internal use).",
            "CREATECONSUMER <key> <groupname> <consumer>",
            "    Create a new consumer in the specified group.",
            "DELCONSUMER <key> <groupname> <consumer>",
            "    Remove the specified consumer.",
            "DESTROY <key> <groupname>",
            "    Remove the specified group.",
            "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
            "    Set the current group ID and entries_read counter.",
        ],
    );
    Ok(())
}

/// XACK key group id [id ...]: removes pending entries; replies with how
/// many were pending (0 without such key or group).
///
/// # Propagation
/// Verbatim when something was acknowledged.
fn xack(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let (key, group_name) = (argv.get(1), argv.get(2));
    let found = read_stream(ctx, key)?.is_some_and(|s| s.groups.contains_key(group_name));
    if !found {
        ctx.out.integer(0);
        return Ok(());
    }
    let ids = (3..argv.len())
        .map(|i| parse_strict_id(argv.get(i)))
        .collect::<Result<Vec<_>, _>>()?;
    let group = group_mut(ctx, key, group_name).expect("the group exists");
    let acknowledged = ids.into_iter().filter(|id| group.acknowledge(*id)).count();
    ctx.keys_untouched();
    ctx.changed(acknowledged as u64);
    ctx.out.integer(acknowledged as i64);
    Ok(())
}

/// XPENDING key group [[IDLE ms] start end count [consumer]]: the PEL's
/// summary, or its entries (ID, consumer, idle ms, deliveries).
///
/// # Propagation
/// None (read-only).
fn xpending(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let argc = argv.len();
    if argc != 3 && !(6..=9).contains(&argc) {
        return Err(CmdError::Syntax);
    }
    let mut range = None;
    if argc >= 6 {
        let mut start_at = 3;
        let mut min_idle = 0;
        if argv.get(3).eq_ignore_ascii_case(b"IDLE") {
            min_idle = int_arg(argv.get(4))?;
            if argc < 8 {
                return Err(CmdError::Syntax);
            }
            start_at += 2;
        }
        let count = int_arg(argv.get(start_at + 2))?.max(0) as usize;
        let start = parse_start(argv.get(start_at))?;
        let end = parse_end(argv.get(start_at + 1))?;
        let consumer = (start_at + 3 < argc).then(|| argv.get(start_at + 3));
        range = Some((min_idle, start, end, count, consumer));
    }
    let (key, group_name) = (argv.get(1), argv.get(2));
    let now = ctx.now_ms as i64;
    let mut out = Reply::with_protocol(ctx.out.is_resp3());
    let stream = read_stream(ctx, key)?;
    let Some(group) = stream.and_then(|s| s.groups.get(group_name)) else {
        return Err(no_such_group(key, group_name));
    };
    match range {
        None => {
            out.array(4);
            out.integer(group.pel.len() as i64);
            match (group.pel.keys().next(), group.pel.keys().next_back()) {
                (Some(first), Some(last)) => {
                    reply_id(&mut out, *first);
                    reply_id(&mut out, *last);
                    let owners: Vec<_> = group
                        .consumers
                        .iter()
                        .filter(|(_, c)| !c.pending.is_empty())
                        .collect();
                    out.array(owners.len());
                    for (name, consumer) in owners {
                        out.array(2);
                        out.bulk(name);
                        out.bulk(consumer.pending.len().to_string().as_bytes());
                    }
                }
                _ => {
                    out.null();
                    out.null();
                    out.null_array();
                }
            }
        }
        Some((min_idle, start, end, count, consumer)) => {
            let ids: Vec<StreamId> = match consumer {
                Some(name) => match group.consumers.get(name) {
                    Some(c) => c.pending.iter().copied().collect(),
                    None => Vec::new(),
                },
                None => group.pel.keys().copied().collect(),
            };
            let mut shown = Vec::new();
            if start <= end {
                for id in ids.into_iter().filter(|id| *id >= start && *id <= end) {
                    if shown.len() == count {
                        break;
                    }
                    let pending = &group.pel[&id];
                    if min_idle != 0 && now - pending.delivery_time < min_idle {
                        continue;
                    }
                    shown.push((id, pending));
                }
            }
            out.array(shown.len());
            for (id, pending) in shown {
                out.array(4);
                reply_id(&mut out, id);
                out.bulk(&pending.consumer);
                out.integer((now - pending.delivery_time).max(0));
                out.integer(pending.delivery_count as i64);
            }
        }
    }
    ctx.out.raw(out.as_bytes());
    Ok(())
}

/// XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME
/// ms] [RETRYCOUNT n] [FORCE] [JUSTID] [LASTID id]: takes pending entries
/// idle for long enough over for `consumer`.
///
/// # Propagation
/// One `XCLAIM ... FORCE JUSTID LASTID` per entry claimed or dropped (an
/// entry no longer in the stream leaves the PEL); `XGROUP SETID` when only
/// LASTID moved the group.
fn xclaim(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let (key, group_name, consumer) = (argv.get(1), argv.get(2), argv.get(3));
    let found = read_stream(ctx, key)?.is_some_and(|s| s.groups.contains_key(group_name));
    if !found {
        return Err(no_such_group(key, group_name));
    }
    let min_idle = crate::resp::parse_i64(argv.get(4))
        .ok_or_else(|| CmdError::err("Invalid min-idle-time argument for XCLAIM"))?
        .max(0);
    let mut ids = Vec::new();
    let mut j = 5;
    while j < argv.len() {
        match parse_strict_id(argv.get(j)) {
            Ok(id) => ids.push((id, argv.get(j))),
            Err(_) => break,
        }
        j += 1;
    }
    let now = ctx.now_ms as i64;
    let (mut force, mut justid) = (false, false);
    let mut delivery_time: i64 = -1;
    let mut retry_count: i64 = -1;
    let mut last_id = StreamId::MIN;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        let opt = argv.get(j);
        let number = |arg: &[u8], what: &str| {
            crate::resp::parse_i64(arg)
                .ok_or_else(|| CmdError::err(format!("Invalid {what} option argument for XCLAIM")))
        };
        if opt.eq_ignore_ascii_case(b"FORCE") {
            force = true;
        } else if opt.eq_ignore_ascii_case(b"JUSTID") {
            justid = true;
        } else if opt.eq_ignore_ascii_case(b"IDLE") && more > 0 {
            j += 1;
            delivery_time = now - number(argv.get(j), "IDLE")?;
        } else if opt.eq_ignore_ascii_case(b"TIME") && more > 0 {
            j += 1;
            delivery_time = number(argv.get(j), "TIME")?;
        } else if opt.eq_ignore_ascii_case(b"RETRYCOUNT") && more > 0 {
            j += 1;
            retry_count = number(argv.get(j), "RETRYCOUNT")?;
        } else if opt.eq_ignore_ascii_case(b"LASTID") && more > 0 {
            j += 1;
            last_id = parse_strict_id(argv.get(j))?;
        } else {
            return Err(CmdError::err(format!(
                "Unrecognized XCLAIM option '{}'",
                lossy(opt)
            )));
        }
        j += 1;
    }
    if delivery_time < 0 || delivery_time > now {
        delivery_time = now;
    }
    let db = ctx.client.db;
    let Some(Value::Stream(stream)) = ctx.state.keyspace.db_mut(db).value_mut(key) else {
        return Err(no_such_group(key, group_name));
    };
    let mut propagate_last_id = false;
    {
        let group = stream.groups.get_mut(group_name).expect("the group exists");
        if last_id > group.last_id {
            group.last_id = last_id;
            propagate_last_id = true;
        }
    }
    let mut out = Reply::with_protocol(ctx.out.is_resp3());
    let mut replies = 0;
    let mut propagations: Vec<(Group, Vec<u8>, StreamId)> = Vec::new();
    let mut changes = 0;
    let mut consumer_created = false;
    for (id, id_arg) in ids {
        let exists = stream.contains(id);
        let entry = if justid || !exists {
            None
        } else {
            stream.get(id)
        };
        let group = stream.groups.get_mut(group_name).expect("the group exists");
        if !exists {
            if group.pel.contains_key(&id) {
                propagations.push((group.clone_for_claim(id), id_arg.to_vec(), id));
                propagate_last_id = false;
                changes += 1;
                group.acknowledge(id);
            }
            continue;
        }
        let pending = group.pel.get(&id).cloned();
        let pending = match pending {
            Some(p) => Some(p),
            None if force => None,
            None => continue,
        };
        if let Some(p) = &pending {
            if min_idle != 0 && now - p.delivery_time < min_idle {
                continue;
            }
        }
        if !group.consumers.contains_key(consumer) {
            consumer_created |= group.create_consumer(consumer, now);
        } else if let Some(c) = group.consumers.get_mut(consumer) {
            c.seen_time = now;
        }
        // A pending entry FORCE creates starts delivered once (`streamCreateNACK`).
        let old_count = pending.as_ref().map_or(1, |p| p.delivery_count);
        let count = if retry_count >= 0 {
            retry_count as u64
        } else if !justid {
            old_count + 1
        } else {
            old_count
        };
        group.assign(id, consumer, delivery_time, count);
        if justid {
            reply_id(&mut out, id);
        } else if let Some(entry) = &entry {
            reply_entry(&mut out, entry);
        }
        replies += 1;
        propagations.push((group.clone_for_claim(id), id_arg.to_vec(), id));
        propagate_last_id = false;
        changes += 1;
    }
    let group_after = stream.groups[group_name].clone_for_claim(StreamId::MIN);
    if consumer_created {
        ctx.changed(1);
        ctx.notify(notify::STREAM, "xgroup-createconsumer", key);
    }
    for (group, id_arg, id) in propagations {
        propagate_xclaim(ctx, key, group_name, &group, &id_arg, id);
    }
    if propagate_last_id {
        propagate_group_id(ctx, key, group_name, &group_after);
        changes += 1;
    }
    ctx.changed(changes);
    ctx.no_propagation();
    ctx.keys_untouched();
    ctx.out.array(replies);
    ctx.out.raw(out.as_bytes());
    Ok(())
}

/// XAUTOCLAIM key group consumer min-idle-time start [COUNT n] [JUSTID]:
/// claims up to n pending entries idle long enough, scanning from start;
/// replies `[next-start, claimed, deleted-ids]`.
///
/// # Propagation
/// One `XCLAIM ... FORCE JUSTID LASTID` per entry claimed or dropped.
fn xautoclaim(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let (key, group_name, consumer) = (argv.get(1), argv.get(2), argv.get(3));
    let min_idle = crate::resp::parse_i64(argv.get(4))
        .ok_or_else(|| CmdError::err("Invalid min-idle-time argument for XAUTOCLAIM"))?
        .max(0);
    let start = parse_start(argv.get(5))?;
    let mut count: i64 = 100;
    let mut justid = false;
    let mut j = 6;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        let opt = argv.get(j);
        if opt.eq_ignore_ascii_case(b"COUNT") && more > 0 {
            const MAX_COUNT: i64 = i64::MAX / 16;
            count = match crate::resp::parse_i64(argv.get(j + 1)) {
                Some(n) if (1..=MAX_COUNT).contains(&n) => n,
                _ => return Err(CmdError::err("COUNT must be > 0")),
            };
            j += 1;
        } else if opt.eq_ignore_ascii_case(b"JUSTID") {
            justid = true;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let found = read_stream(ctx, key)?.is_some_and(|s| s.groups.contains_key(group_name));
    if !found {
        return Err(no_such_group(key, group_name));
    }
    let now = ctx.now_ms as i64;
    let db = ctx.client.db;
    let Some(Value::Stream(stream)) = ctx.state.keyspace.db_mut(db).value_mut(key) else {
        return Err(no_such_group(key, group_name));
    };
    let mut attempts = count.saturating_mul(10);
    let mut claimed = Reply::with_protocol(ctx.out.is_resp3());
    let mut claimed_count = 0;
    let mut deleted = Vec::new();
    let mut propagations: Vec<(Group, StreamId)> = Vec::new();
    let mut consumer_created = false;
    let mut cursor = start;
    let mut next: Option<StreamId> = None;
    loop {
        let candidate = stream.groups[group_name]
            .pel
            .range(cursor..)
            .next()
            .map(|(id, p)| (*id, p.clone()));
        if attempts == 0 || count == 0 {
            next = candidate.map(|(id, _)| id);
            break;
        }
        attempts -= 1;
        let Some((id, pending)) = candidate else {
            break;
        };
        cursor = id.next().unwrap_or(StreamId::MAX);
        let at_end = id == StreamId::MAX;
        if !stream.contains(id) {
            let group = stream.groups.get_mut(group_name).expect("the group exists");
            propagations.push((group.clone_for_claim(id), id));
            group.acknowledge(id);
            deleted.push(id);
            count -= 1;
            if at_end {
                break;
            }
            continue;
        }
        if min_idle != 0 && now - pending.delivery_time < min_idle {
            if at_end {
                break;
            }
            continue;
        }
        let entry = if justid { None } else { stream.get(id) };
        let group = stream.groups.get_mut(group_name).expect("the group exists");
        if !group.consumers.contains_key(consumer) {
            consumer_created |= group.create_consumer(consumer, now);
        } else if let Some(c) = group.consumers.get_mut(consumer) {
            c.seen_time = now;
        }
        let deliveries = pending.delivery_count + u64::from(!justid);
        group.assign(id, consumer, now, deliveries);
        match &entry {
            Some(entry) => reply_entry(&mut claimed, entry),
            None => reply_id(&mut claimed, id),
        }
        claimed_count += 1;
        count -= 1;
        propagations.push((group.clone_for_claim(id), id));
        if at_end {
            break;
        }
    }
    let changes = propagations.len() as u64;
    if consumer_created {
        ctx.changed(1);
        ctx.notify(notify::STREAM, "xgroup-createconsumer", key);
    }
    for (group, id) in propagations {
        propagate_xclaim(ctx, key, group_name, &group, &id_text(id), id);
    }
    ctx.changed(changes);
    ctx.no_propagation();
    ctx.keys_untouched();
    ctx.out.array(3);
    reply_id(ctx.out, next.unwrap_or(StreamId::MIN));
    ctx.out.array(claimed_count);
    ctx.out.raw(claimed.as_bytes());
    ctx.out.array(deleted.len());
    for id in deleted {
        reply_id(ctx.out, id);
    }
    Ok(())
}

/// The clients blocked by XREADGROUP on `key` of `db` whose stream is
/// gone or replaced by another type get `-UNBLOCKED the stream key no
/// longer exists` (`unblockDeletedStreamReadgroupClients`).
pub(crate) fn readgroup_clients_of(
    state: &crate::server::ServerState,
    db: usize,
    key: &[u8],
) -> Vec<u64> {
    state
        .blocking
        .waiting_for(db, key)
        .into_iter()
        .filter(|id| {
            state
                .blocking
                .get(*id)
                .is_some_and(|b| b.argv.argv().get(0).eq_ignore_ascii_case(b"xreadgroup"))
        })
        .collect()
}

/// Whether `value` is a stream (blocked stream readers wait on those).
pub(crate) fn is_stream(value: Option<&Value>) -> bool {
    matches!(value, Some(Value::Stream(_)))
}
