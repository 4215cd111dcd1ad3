//! Blocking pops: BLPOP BRPOP BRPOPLPUSH BLMOVE BLMPOP BZPOPMIN BZPOPMAX
//! BZMPOP, CLIENT UNBLOCK, and the serving of blocked clients (XREAD and
//! XREADGROUP with BLOCK block here too, see `stream_groups`).
//!
//! A blocking command that finds something to pop behaves as its
//! non-blocking form and is propagated as Redis 7.0 rewrites it (BLPOP as
//! `LPOP key`, BLMOVE as `LMOVE`, BRPOPLPUSH as `RPOPLPUSH`, BLMPOP as
//! `LPOP key n`, BZPOPMIN as `ZPOPMIN key`, BZMPOP as `ZPOPMIN key n`).
//! Otherwise the client blocks ([`crate::server::blocking`]), unless it
//! runs inside a transaction, where it replies as on a timeout at once.
//! After every command, [`handle_ready_keys`] serves the clients waiting
//! for the keys it created, first blocked first, by running their command
//! again restricted to the ready key (Redis's `handleClientsBlockedOnKeys`,
//! so keys made ready by a MULTI/EXEC, a SWAPDB or a command from the
//! master are served once that command completes). Timeouts run on the
//! runtime's monotonic clock. A timeout of 0 blocks forever.

use std::time::Duration;

use super::flags::*;
use super::pops::{self, Candidate};
use super::{
    call, int_arg, parse_float, resolve, spec, CmdError, CmdResult, CommandSpec, Ctx, Flow,
};
use crate::keyspace::{blob, Blob, Value};
use crate::resp::{Argv, Reply};
use crate::server::blocking::BlockedClient;
use crate::server::ServerState;

pub(super) static COMMANDS: &[CommandSpec] = &[
    spec("blpop", -3, BLOCKING | WRITE | NOSCRIPT, (1, -2, 1), blpop),
    spec("brpop", -3, BLOCKING | WRITE | NOSCRIPT, (1, -2, 1), brpop),
    spec(
        "brpoplpush",
        4,
        BLOCKING | WRITE | DENYOOM | NOSCRIPT,
        (1, 2, 1),
        brpoplpush,
    ),
    spec(
        "blmove",
        6,
        BLOCKING | WRITE | DENYOOM | NOSCRIPT,
        (1, 2, 1),
        blmove,
    ),
    spec("blmpop", -5, BLOCKING | WRITE, (0, 0, 0), blmpop),
    spec(
        "bzpopmin",
        -3,
        BLOCKING | WRITE | NOSCRIPT | FAST,
        (1, -2, 1),
        bzpopmin,
    ),
    spec(
        "bzpopmax",
        -3,
        BLOCKING | WRITE | NOSCRIPT | FAST,
        (1, -2, 1),
        bzpopmax,
    ),
    spec("bzmpop", -5, BLOCKING | WRITE, (0, 0, 0), bzmpop),
];

/// Redis's error for what a CLIENT UNBLOCKed client gets with ERROR.
const UNBLOCKED_BY_CLIENT: &str = "UNBLOCKED client unblocked via CLIENT UNBLOCK";

/// What a client blocked by XREADGROUP gets when its stream is deleted.
const STREAM_KEY_GONE: &str = "UNBLOCKED the stream key no longer exists";

/// What a client blocked on a node that becomes a replica gets, before its
/// connection is closed.
const UNBLOCKED_BY_ROLE_CHANGE: &str =
    "UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)";

/// Parses a blocking timeout in seconds (a float): the monotonic deadline,
/// or `None` for 0 (forever), with Redis's errors. Redis reads a `long
/// double` and converts its milliseconds to a 64-bit integer: infinity and
/// values too large for that become the most negative integer on x86, so
/// they are "negative" (a value `strtold` cannot hold is not a float).
fn parse_timeout(ctx: &Ctx<'_>, arg: &[u8]) -> Result<Option<Duration>, CmdError> {
    let not_a_float = || CmdError::err("timeout is not a float or out of range");
    let seconds = match parse_float(arg) {
        Some(seconds) if seconds.is_finite() => seconds,
        Some(_) if crate::longdouble::is_infinity(arg) => f64::INFINITY,
        // Beyond f64 but within a long double (1e400).
        _ if crate::longdouble::LongDouble::parse(arg).is_some() => f64::INFINITY,
        _ => return Err(not_a_float()),
    };
    let ms_exact = seconds * 1000.0;
    // NaN cannot get here (refused above); infinity and overflow can.
    if ms_exact >= i64::MAX as f64 || ms_exact < i64::MIN as f64 {
        return Err(CmdError::err("timeout is negative"));
    }
    let ms = ms_exact as i64;
    if ms < 0 {
        return Err(CmdError::err("timeout is negative"));
    }
    if ms == 0 {
        return Ok(None);
    }
    if ms > i64::MAX - ctx.now_ms as i64 {
        return Err(CmdError::err("timeout is out of range"));
    }
    Ok(Some(ctx.state.mono_now + Duration::from_millis(ms as u64)))
}

/// How a blocking command replies when it gives up without data.
#[derive(Clone, Copy)]
enum Nil {
    /// `*-1` (the pops).
    Array,
    /// `$-1` (BLMOVE and BRPOPLPUSH inside a transaction).
    Bulk,
}

/// The keys to look at: the command's, or only the ready key while a
/// blocked client is being served.
fn candidates(ctx: &Ctx<'_>, keys: Vec<&[u8]>) -> Vec<Blob> {
    match &ctx.serving_key {
        Some(key) => vec![key.clone()],
        None => keys.into_iter().map(blob).collect(),
    }
}

/// Looks a candidate up: a key of another type is WRONGTYPE, except while
/// serving, where it just does not serve this client (Redis skips clients
/// blocked for another type).
fn candidate(ctx: &mut Ctx<'_>, key: &[u8], zset: bool) -> Result<Option<usize>, CmdError> {
    let found = if zset {
        pops::zset_candidate(ctx, key)
    } else {
        pops::list_candidate(ctx, key)
    };
    match found {
        Ok(Candidate::Holds(len)) => Ok(Some(len)),
        Ok(Candidate::Empty) => Ok(None),
        Err(_) if ctx.serving_key.is_some() => Ok(None),
        Err(error) => Err(error),
    }
}

/// Nothing to pop: block on `keys` until `deadline`, or, inside a
/// transaction or a script (BLMPOP and BZMPOP may run there), reply as on
/// a timeout. While serving, the client stays
/// blocked as it was.
fn block(
    ctx: &mut Ctx<'_>,
    argv: Argv<'_>,
    keys: Vec<&[u8]>,
    deadline: Option<Duration>,
    nil: Nil,
) {
    if ctx.in_exec || ctx.in_script {
        match nil {
            Nil::Array => ctx.out.null_array(),
            Nil::Bulk => ctx.out.null(),
        }
        return;
    }
    ctx.flow = Flow::Block;
    if ctx.serving_key.is_some() {
        return;
    }
    let blocked = BlockedClient {
        db: ctx.client.db,
        keys: keys.into_iter().map(blob).collect(),
        argv: argv.to_owned_argv(),
        deadline,
        stream_ids: Vec::new(),
    };
    ctx.state.blocking.block(ctx.client.id, blocked);
    ctx.client.blocked = true;
}

/// BLPOP/BRPOP/BZPOPMIN/BZPOPMAX: the keys, then the timeout.
fn keys_then_timeout(argv: Argv<'_>) -> (Vec<&[u8]>, &[u8]) {
    let keys = (1..argv.len() - 1).map(|i| argv.get(i)).collect();
    (keys, argv.get(argv.len() - 1))
}

fn blocking_list_pop(ctx: &mut Ctx<'_>, argv: Argv<'_>, front: bool) -> CmdResult {
    let (keys, timeout) = keys_then_timeout(argv);
    let deadline = parse_timeout(ctx, timeout)?;
    for key in candidates(ctx, keys.clone()) {
        if candidate(ctx, &key, false)?.is_some() {
            let popped = pops::pop_list(ctx, &key, front, 1);
            ctx.out.array(2);
            ctx.out.bulk(&key);
            ctx.out.bulk(&popped[0]);
            let name: &[u8] = if front { b"LPOP" } else { b"RPOP" };
            ctx.rewrite(&[name, &key[..]]);
            return Ok(());
        }
    }
    block(ctx, argv, keys, deadline, Nil::Array);
    Ok(())
}

/// BLPOP key [key ...] timeout: LPOP from the first non-empty list,
/// replying `[key, element]`; otherwise blocks until one of the keys gets
/// elements (`*-1` on timeout).
///
/// # Propagation
/// `LPOP key`.
fn blpop(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    blocking_list_pop(ctx, argv, true)
}

/// BRPOP key [key ...] timeout: BLPOP from the tails.
///
/// # Propagation
/// `RPOP key`.
fn brpop(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    blocking_list_pop(ctx, argv, false)
}

fn blocking_move(
    ctx: &mut Ctx<'_>,
    argv: Argv<'_>,
    ends: (bool, bool),
    timeout: &[u8],
    legacy: bool,
) -> CmdResult {
    let deadline = parse_timeout(ctx, timeout)?;
    let (source, destination) = (argv.get(1), argv.get(2));
    if candidate(ctx, source, false)?.is_none() {
        block(ctx, argv, vec![source], deadline, Nil::Bulk);
        return Ok(());
    }
    let element = pops::move_element(ctx, source, destination, ends.0, ends.1)?;
    ctx.out.bulk(&element);
    if legacy {
        ctx.rewrite(&[&b"RPOPLPUSH"[..], source, destination]);
    } else if ctx.serving_key.is_some() {
        // Served later, Redis writes the ends itself, in lower case.
        let end = |front: bool| -> &'static [u8] {
            if front {
                b"left"
            } else {
                b"right"
            }
        };
        ctx.rewrite(&[&b"LMOVE"[..], source, destination, end(ends.0), end(ends.1)]);
    } else {
        // Served at once, the client's own words are kept.
        ctx.rewrite(&[&b"LMOVE"[..], source, destination, argv.get(3), argv.get(4)]);
    }
    Ok(())
}

/// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout: LMOVE, or
/// blocks until `source` gets elements (`*-1` on timeout, `$-1` inside a
/// transaction).
///
/// # Propagation
/// `LMOVE source destination from to`.
fn blmove(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let from_front = pops::list_end(argv.get(3))?;
    let to_front = pops::list_end(argv.get(4))?;
    blocking_move(ctx, argv, (from_front, to_front), argv.get(5), false)
}

/// BRPOPLPUSH source destination timeout: BLMOVE source destination RIGHT
/// LEFT.
///
/// # Propagation
/// `RPOPLPUSH source destination`.
fn brpoplpush(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    blocking_move(ctx, argv, (false, true), argv.get(3), true)
}

/// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]: LMPOP,
/// or blocks until a list gets elements.
///
/// # Propagation
/// `LPOP|RPOP key n`, n the number popped.
fn blmpop(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let parsed = pops::parse_multi_pop(argv, 2, false)?;
    let deadline = parse_timeout(ctx, argv.get(1))?;
    for key in candidates(ctx, parsed.keys.clone()) {
        if candidate(ctx, &key, false)?.is_some() {
            pops::serve_lmpop(ctx, &key, parsed.end, parsed.count);
            return Ok(());
        }
    }
    block(ctx, argv, parsed.keys, deadline, Nil::Array);
    Ok(())
}

fn blocking_zset_pop(ctx: &mut Ctx<'_>, argv: Argv<'_>, max: bool) -> CmdResult {
    let (keys, timeout) = keys_then_timeout(argv);
    let deadline = parse_timeout(ctx, timeout)?;
    for key in candidates(ctx, keys.clone()) {
        if candidate(ctx, &key, true)?.is_some() {
            let popped = pops::pop_zset(ctx, &key, max, 1);
            let (member, score) = &popped[0];
            ctx.out.array(3);
            ctx.out.bulk(&key);
            ctx.out.bulk(member);
            ctx.out.double(*score);
            let name: &[u8] = if max { b"ZPOPMAX" } else { b"ZPOPMIN" };
            ctx.rewrite(&[name, &key[..]]);
            return Ok(());
        }
    }
    block(ctx, argv, keys, deadline, Nil::Array);
    Ok(())
}

/// BZPOPMIN key [key ...] timeout: pops the lowest member of the first
/// non-empty sorted set, replying `[key, member, score]`; otherwise
/// blocks.
///
/// # Propagation
/// `ZPOPMIN key`.
fn bzpopmin(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    blocking_zset_pop(ctx, argv, false)
}

/// BZPOPMAX key [key ...] timeout: BZPOPMIN from the highest scores.
///
/// # Propagation
/// `ZPOPMAX key`.
fn bzpopmax(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    blocking_zset_pop(ctx, argv, true)
}

/// BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]: ZMPOP, or
/// blocks until a sorted set gets members.
///
/// # Propagation
/// `ZPOPMIN|ZPOPMAX key n`, n the number popped.
fn bzmpop(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let parsed = pops::parse_multi_pop(argv, 2, true)?;
    let deadline = parse_timeout(ctx, argv.get(1))?;
    for key in candidates(ctx, parsed.keys.clone()) {
        if candidate(ctx, &key, true)?.is_some() {
            pops::serve_zmpop(ctx, &key, parsed.end, parsed.count);
            return Ok(());
        }
    }
    block(ctx, argv, parsed.keys, deadline, Nil::Array);
    Ok(())
}

/// Serves the clients blocked on the keys the last command created, key
/// by key in the order they became ready, each key's clients first
/// blocked first, while the key still holds elements. Serving may create
/// keys (BLMOVE's destination), which are served in turn.
pub(crate) fn handle_ready_keys(state: &mut ServerState, now_ms: u64) {
    loop {
        let ready = state.blocking.take_ready();
        if ready.is_empty() {
            return;
        }
        for (db, key) in ready {
            for id in state.blocking.waiting_for(db, &key) {
                let holds = state
                    .keyspace
                    .db(db)
                    .get(&key)
                    .is_some_and(|entry| !entry.value.is_empty_collection());
                if !holds {
                    break;
                }
                serve(state, id, &key, now_ms);
            }
            // XREADGROUP needs its stream (and group): once the key is
            // gone or holds another type, its clients are told at once.
            let value = state.keyspace.db(db).get(&key).map(|e| &e.value);
            if !super::stream_groups::is_stream(value) {
                for id in super::stream_groups::readgroup_clients_of(state, db, &key) {
                    unblock_with_error(state, id, STREAM_KEY_GONE);
                }
            }
        }
    }
}

/// Runs blocked client `id`'s command again on the ready `key`, as the
/// client: when it pops, the client is unblocked, its reply queued for
/// its connection and the pop propagated; otherwise it stays blocked.
fn serve(state: &mut ServerState, id: u64, key: &[u8], now_ms: u64) {
    let Some(blocked) = state.blocking.get(id).cloned() else {
        return;
    };
    let Some(mut client) = state.clients.remove(&id) else {
        return;
    };
    let argv = blocked.argv.argv();
    let Ok(spec) = resolve(argv) else {
        state.clients.insert(id, client);
        return;
    };
    // The reply goes out in the client's protocol (XREAD's is a map in
    // RESP3).
    let mut out = Reply::with_protocol(client.is_resp3());
    let mut ctx = Ctx::new(state, &mut client, &mut out, now_ms);
    ctx.serving_key = Some(blob(key));
    call(&mut ctx, spec, argv);
    let still_blocked = matches!(ctx.flow, Flow::Block);
    if still_blocked {
        state.discard_pending_propagation();
        state.clients.insert(id, client);
        return;
    }
    state.blocking.unblock(id);
    client.blocked = false;
    client.pushes.raw(out.as_bytes());
    client.push_notify.notify_one();
    state.propagate_pending();
    client.write_offset = state.repl.offset;
    state.clients.insert(id, client);
}

/// Ends client `id`'s wait with the reply of a timeout (`*-1`), counted as
/// a call of its command, as Redis counts a blocked command once it
/// returns.
pub fn time_out(state: &mut ServerState, id: u64) {
    let Some(blocked) = state.blocking.unblock(id) else {
        return;
    };
    count_call(state, &blocked);
    if let Some(client) = state.clients.get_mut(&id) {
        client.blocked = false;
        client.pushes.null_array();
        client.push_notify.notify_one();
    }
}

fn count_call(state: &mut ServerState, blocked: &BlockedClient) {
    if let Ok(spec) = resolve(blocked.argv.argv()) {
        state.stats.command(&spec.full_name()).calls += 1;
    }
}

/// Ends client `id`'s wait with an error reply.
fn unblock_with_error(state: &mut ServerState, id: u64, message: &str) {
    let Some(blocked) = state.blocking.unblock(id) else {
        return;
    };
    count_call(state, &blocked);
    state.stats.count_error(message);
    // An error reply makes the call a failed one, as Redis counts it.
    if let Ok(spec) = resolve(blocked.argv.argv()) {
        state.stats.command(&spec.full_name()).failed_calls += 1;
    }
    if let Some(client) = state.clients.get_mut(&id) {
        client.blocked = false;
        client.pushes.error(message);
        client.push_notify.notify_one();
    }
}

/// Unblocks every blocked client of a master that becomes a replica with
/// Redis's `-UNBLOCKED ... (master -> replica?)` error, then closes their
/// connections, as Redis's `disconnectAllBlockedClients`.
pub(crate) fn unblock_all_for_role_change(state: &mut ServerState) {
    for id in state.blocking.blocked_ids() {
        unblock_with_error(state, id, UNBLOCKED_BY_ROLE_CHANGE);
        if let Some(client) = state.clients.get_mut(&id) {
            client.close_after_reply = true;
        }
    }
}

/// SWAPDB: the keys clients wait for in the two dbs are ready when they
/// now exist (Redis's `scanDatabaseForReadyKeys`).
pub(crate) fn signal_swapped_dbs(state: &mut ServerState, a: usize, b: usize) {
    for db in [a, b] {
        for key in state.blocking.keys_in(db) {
            let exists = state.keyspace.db(db).get(&key).is_some_and(|entry| {
                matches!(
                    entry.value,
                    Value::List(_) | Value::ZSet(_) | Value::Stream(_)
                )
            });
            if exists {
                state.blocking.signal_ready(db, &key);
            }
        }
    }
}

/// Before FLUSHDB/FLUSHALL (`db`: one db, or all) and SWAPDB: the streams
/// clients wait for that are about to go (and, for SWAPDB, not be replaced
/// by a stream) are ready, so that XREADGROUP clients learn their stream
/// is gone (Redis's `scanDatabaseForDeletedStreams`).
pub(crate) fn signal_streams_going(state: &mut ServerState, dbs: &[(usize, Option<usize>)]) {
    let is_stream = |state: &ServerState, db: usize, key: &[u8]| {
        matches!(
            state.keyspace.db(db).get(key).map(|e| &e.value),
            Some(Value::Stream(_))
        )
    };
    for &(emptied, replaced_with) in dbs {
        for key in state.blocking.keys_in(emptied) {
            let replaced = replaced_with.is_some_and(|other| is_stream(state, other, &key));
            if is_stream(state, emptied, &key) && !replaced {
                state.blocking.signal_ready(emptied, &key);
            }
        }
    }
}

/// CLIENT UNBLOCK id [TIMEOUT|ERROR]: ends the wait of a client blocked on
/// keys, as if it timed out (default) or with `-UNBLOCKED client unblocked
/// via CLIENT UNBLOCK`; 1 if it was blocked, 0 otherwise.
pub(super) fn client_unblock(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    if argv.len() > 4 {
        return Err(super::connection::client_arity_error(argv));
    }
    let error = match argv.len() {
        4 if argv.get(3).eq_ignore_ascii_case(b"TIMEOUT") => false,
        4 if argv.get(3).eq_ignore_ascii_case(b"ERROR") => true,
        4 => {
            return Err(CmdError::err(
                "CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            ))
        }
        _ => false,
    };
    let id = int_arg(argv.get(2))?;
    let blocked = id > 0 && ctx.state.blocking.is_blocked(id as u64);
    if blocked {
        if error {
            unblock_with_error(ctx.state, id as u64, UNBLOCKED_BY_CLIENT);
        } else {
            time_out(ctx.state, id as u64);
        }
    }
    ctx.out.integer(blocked as i64);
    Ok(())
}
