//! Pops that move or take from several keys: LMOVE RPOPLPUSH LMPOP ZMPOP,
//! and the pop steps the blocking commands share with them (see
//! [`super::blocking`]).
//!
//! Each step publishes Redis's keyspace events (the pop, then `del` when
//! the collection emptied) and leaves propagation to its caller, which
//! rewrites the command into the non-blocking, single-key form Redis
//! replicates.

use std::collections::VecDeque;

use super::flags::*;
use super::lists::remove_if_empty;
use super::{int_arg, spec, CmdError, CmdResult, CommandSpec, Ctx, NO_KEYS};
use crate::keyspace::{blob, Blob, Value};
use crate::resp::Argv;
use crate::server::pubsub::notify;

pub(super) static COMMANDS: &[CommandSpec] = &[
    spec("lmove", 5, WRITE | DENYOOM, (1, 2, 1), lmove),
    spec("rpoplpush", 3, WRITE | DENYOOM, (1, 2, 1), rpoplpush),
    spec("lmpop", -4, WRITE, NO_KEYS, lmpop),
    spec("zmpop", -4, WRITE, NO_KEYS, zmpop),
];

/// What a key holds for a pop: nothing (missing or empty), or how many
/// elements.
pub(super) enum Candidate {
    /// Missing, or an empty collection.
    Empty,
    /// Holds this many elements of the wanted type.
    Holds(usize),
}

/// Looks `key` up for a list pop; WRONGTYPE when it holds another type.
pub(super) fn list_candidate(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<Candidate, CmdError> {
    match ctx.lookup(key).map(|e| &e.value) {
        None => Ok(Candidate::Empty),
        Some(Value::List(list)) if list.is_empty() => Ok(Candidate::Empty),
        Some(Value::List(list)) => Ok(Candidate::Holds(list.len())),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// Looks `key` up for a sorted-set pop; WRONGTYPE when it holds another
/// type.
pub(super) fn zset_candidate(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<Candidate, CmdError> {
    match ctx.lookup(key).map(|e| &e.value) {
        None => Ok(Candidate::Empty),
        Some(Value::ZSet(zset)) if zset.is_empty() => Ok(Candidate::Empty),
        Some(Value::ZSet(zset)) => Ok(Candidate::Holds(zset.len())),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// Tells WATCH that `key` changed (for commands whose keys the table
/// cannot locate: the `numkeys` forms).
pub(super) fn touch(ctx: &mut Ctx<'_>, key: &[u8]) {
    let db = ctx.client.db;
    let exists = ctx.state.keyspace.db(db).get(key).is_some();
    ctx.state.watches.touch(db, key, exists);
}

fn list_of<'c>(ctx: &'c mut Ctx<'_>, key: &[u8]) -> &'c mut VecDeque<Blob> {
    match ctx.db().value_mut(key) {
        Some(Value::List(list)) => list,
        _ => unreachable!("checked to be a list"),
    }
}

/// Pops up to `count` elements from the list `key` (checked non-empty),
/// from the head when `front`; publishes `lpop`/`rpop` (and `del`).
pub(super) fn pop_list(ctx: &mut Ctx<'_>, key: &[u8], front: bool, count: usize) -> Vec<Blob> {
    let list = list_of(ctx, key);
    let take = count.min(list.len());
    let popped: Vec<Blob> = if front {
        list.drain(..take).collect()
    } else {
        let start = list.len() - take;
        list.drain(start..).rev().collect()
    };
    ctx.changed(popped.len() as u64);
    ctx.notify(notify::LIST, if front { "lpop" } else { "rpop" }, key);
    remove_if_empty(ctx, key);
    popped
}

/// Moves one element from the list `source` (checked non-empty) to the
/// list `destination`, created if missing; WRONGTYPE, before anything
/// moves, when `destination` holds another type. Publishes the push on
/// the destination, then the pop on the source (and its `del`), in
/// Redis's order. Returns the element.
pub(super) fn move_element(
    ctx: &mut Ctx<'_>,
    source: &[u8],
    destination: &[u8],
    from_front: bool,
    to_front: bool,
) -> Result<Blob, CmdError> {
    if let Some(entry) = ctx.lookup(destination) {
        if !matches!(entry.value, Value::List(_)) {
            return Err(CmdError::WrongType);
        }
    }
    let list = list_of(ctx, source);
    let element = if from_front {
        list.pop_front()
    } else {
        list.pop_back()
    }
    .expect("checked non-empty");
    if ctx.db().get(destination).is_none() {
        ctx.db().insert(destination, Value::new_list());
    }
    let target = list_of(ctx, destination);
    if to_front {
        target.push_front(element.clone());
    } else {
        target.push_back(element.clone());
    }
    ctx.changed(1);
    ctx.notify(
        notify::LIST,
        if to_front { "lpush" } else { "rpush" },
        destination,
    );
    ctx.notify(
        notify::LIST,
        if from_front { "lpop" } else { "rpop" },
        source,
    );
    remove_if_empty(ctx, source);
    Ok(element)
}

/// Pops up to `count` members from the sorted set `key` (checked
/// non-empty), lowest scores first unless `max`; publishes
/// `zpopmin`/`zpopmax` (and `del`).
pub(super) fn pop_zset(ctx: &mut Ctx<'_>, key: &[u8], max: bool, count: usize) -> Vec<(Blob, f64)> {
    let Some(Value::ZSet(zset)) = ctx.db().value_mut(key) else {
        unreachable!("checked to be a sorted set");
    };
    let chosen: Vec<(Blob, f64)> = if max {
        zset.iter()
            .rev()
            .take(count)
            .map(|(m, s)| (blob(m), s))
            .collect()
    } else {
        zset.iter().take(count).map(|(m, s)| (blob(m), s)).collect()
    };
    for (member, _) in &chosen {
        zset.remove(member);
    }
    ctx.changed(chosen.len() as u64);
    ctx.notify(notify::ZSET, if max { "zpopmax" } else { "zpopmin" }, key);
    remove_if_empty(ctx, key);
    chosen
}

/// `LEFT`/`RIGHT`: true for the head.
pub(super) fn list_end(arg: &[u8]) -> Result<bool, CmdError> {
    if arg.eq_ignore_ascii_case(b"LEFT") {
        Ok(true)
    } else if arg.eq_ignore_ascii_case(b"RIGHT") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

/// `MIN`/`MAX`: true for the highest scores.
fn zset_end(arg: &[u8]) -> Result<bool, CmdError> {
    if arg.eq_ignore_ascii_case(b"MIN") {
        Ok(false)
    } else if arg.eq_ignore_ascii_case(b"MAX") {
        Ok(true)
    } else {
        Err(CmdError::Syntax)
    }
}

/// The arguments of LMPOP/ZMPOP and their blocking forms, from the
/// `numkeys` argument at `numkeys_at` on.
pub(super) struct MultiPop<'a> {
    /// The keys, in order.
    pub keys: Vec<&'a [u8]>,
    /// LEFT (lists) or MAX (sorted sets).
    pub end: bool,
    /// COUNT, 1 by default.
    pub count: usize,
}

/// Parses `numkeys key [key ...] end [COUNT count]` with Redis's checks in
/// its order. `zset` picks MIN/MAX over LEFT/RIGHT.
pub(super) fn parse_multi_pop(
    argv: Argv<'_>,
    numkeys_at: usize,
    zset: bool,
) -> Result<MultiPop<'_>, CmdError> {
    let numkeys = int_arg(argv.get(numkeys_at))
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| CmdError::err("numkeys should be greater than 0"))?;
    let end_at = (numkeys_at as u64)
        .saturating_add(numkeys as u64)
        .saturating_add(1);
    if end_at >= argv.len() as u64 {
        return Err(CmdError::Syntax);
    }
    let end_at = end_at as usize;
    let end = if zset {
        zset_end(argv.get(end_at))?
    } else {
        list_end(argv.get(end_at))?
    };
    let mut count = None;
    let mut i = end_at + 1;
    while i < argv.len() {
        if count.is_none() && argv.get(i).eq_ignore_ascii_case(b"COUNT") && i + 1 < argv.len() {
            let n = int_arg(argv.get(i + 1))
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| CmdError::err("count should be greater than 0"))?;
            count = Some(n as usize);
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(MultiPop {
        keys: (numkeys_at + 1..end_at).map(|i| argv.get(i)).collect(),
        end,
        count: count.unwrap_or(1),
    })
}

/// Pops up to `count` from the list `key` for LMPOP/BLMPOP: replies
/// `[key, [elements]]` and propagates `LPOP|RPOP key n` (n: what was
/// popped).
pub(super) fn serve_lmpop(ctx: &mut Ctx<'_>, key: &[u8], front: bool, count: usize) {
    let popped = pop_list(ctx, key, front, count);
    touch(ctx, key);
    ctx.out.array(2);
    ctx.out.bulk(key);
    ctx.out.array(popped.len());
    for element in &popped {
        ctx.out.bulk(element);
    }
    let name: &[u8] = if front { b"LPOP" } else { b"RPOP" };
    ctx.rewrite(&[name, key, popped.len().to_string().as_bytes()]);
}

/// Pops up to `count` from the sorted set `key` for ZMPOP/BZMPOP: replies
/// `[key, [[member, score] ...]]` and propagates `ZPOPMIN|ZPOPMAX key n`.
pub(super) fn serve_zmpop(ctx: &mut Ctx<'_>, key: &[u8], max: bool, count: usize) {
    let popped = pop_zset(ctx, key, max, count);
    touch(ctx, key);
    ctx.out.array(2);
    ctx.out.bulk(key);
    ctx.out.array(popped.len());
    for (member, score) in &popped {
        ctx.out.array(2);
        ctx.out.bulk(member);
        ctx.out.double(*score);
    }
    let name: &[u8] = if max { b"ZPOPMAX" } else { b"ZPOPMIN" };
    ctx.rewrite(&[name, key, popped.len().to_string().as_bytes()]);
}

/// LMOVE source destination LEFT|RIGHT LEFT|RIGHT: pops an element from
/// one end of `source` and pushes it at one end of `destination` (which
/// may be the same list); replies with it, nil when `source` is missing.
///
/// # Propagation
/// Verbatim, when an element moved.
fn lmove(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let from_front = list_end(argv.get(3))?;
    let to_front = list_end(argv.get(4))?;
    lmove_generic(ctx, argv.get(1), argv.get(2), from_front, to_front)
}

/// RPOPLPUSH source destination: LMOVE source destination RIGHT LEFT.
///
/// # Propagation
/// Verbatim, when an element moved.
fn rpoplpush(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    lmove_generic(ctx, argv.get(1), argv.get(2), false, true)
}

/// The body of LMOVE, RPOPLPUSH, and of BLMOVE and BRPOPLPUSH when the
/// source holds elements.
pub(super) fn lmove_generic(
    ctx: &mut Ctx<'_>,
    source: &[u8],
    destination: &[u8],
    from_front: bool,
    to_front: bool,
) -> CmdResult {
    match list_candidate(ctx, source)? {
        Candidate::Empty => ctx.out.null(),
        Candidate::Holds(_) => {
            let element = move_element(ctx, source, destination, from_front, to_front)?;
            ctx.out.bulk(&element);
        }
    }
    Ok(())
}

/// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]: pops up to
/// `count` elements from the first non-empty list, replying with its name
/// and the elements; a nil array when every list is empty.
///
/// # Propagation
/// `LPOP|RPOP key n`, n the number popped.
fn lmpop(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let parsed = parse_multi_pop(argv, 1, false)?;
    for key in &parsed.keys {
        if let Candidate::Holds(_) = list_candidate(ctx, key)? {
            serve_lmpop(ctx, key, parsed.end, parsed.count);
            return Ok(());
        }
    }
    ctx.out.null_array();
    Ok(())
}

/// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]: pops up to `count`
/// members from the first non-empty sorted set, replying with its name
/// and `[member, score]` pairs; a nil array when every set is empty.
///
/// # Propagation
/// `ZPOPMIN|ZPOPMAX key n`, n the number popped.
fn zmpop(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let parsed = parse_multi_pop(argv, 1, true)?;
    for key in &parsed.keys {
        if let Candidate::Holds(_) = zset_candidate(ctx, key)? {
            serve_zmpop(ctx, key, parsed.end, parsed.count);
            return Ok(());
        }
    }
    ctx.out.null_array();
    Ok(())
}
