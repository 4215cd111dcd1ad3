//! Set commands: SADD SREM SMEMBERS SISMEMBER SCARD SPOP.

use indexmap::IndexSet;
use rand::Rng;

use super::flags::*;
use super::lists::remove_if_empty;
use super::{int_arg, spec, CmdError, CmdResult, CommandSpec, Ctx, KEY1};
use crate::keyspace::{blob, Blob, FixedHash, Value};
use crate::resp::{parse_i64, Argv};

pub(super) static COMMANDS: &[CommandSpec] = &[
    spec("sadd", -3, WRITE | DENYOOM | FAST, KEY1, sadd),
    spec("srem", -3, WRITE | FAST, KEY1, srem),
    spec("smembers", 2, READONLY, KEY1, smembers),
    spec("sismember", 3, READONLY | FAST, KEY1, sismember),
    spec("scard", 2, READONLY | FAST, KEY1, scard),
    spec("spop", -2, WRITE | FAST, KEY1, spop),
];

type Set = IndexSet<Blob, FixedHash>;

/// Redis's `set-max-intset-entries`: sets of at most this many integers are
/// intsets, which list their members in numeric order.
const INTSET_MAX_ENTRIES: usize = 512;

fn read_set<'c>(ctx: &'c mut Ctx<'_>, key: &[u8]) -> Result<Option<&'c Set>, CmdError> {
    match ctx.lookup(key).map(|e| &e.value) {
        None => Ok(None),
        Some(Value::Set(set)) => Ok(Some(set)),
        Some(_) => Err(CmdError::WrongType),
    }
}

fn set_mut<'c>(
    ctx: &'c mut Ctx<'_>,
    key: &[u8],
    create: bool,
) -> Result<Option<&'c mut Set>, CmdError> {
    let exists = match ctx.lookup(key).map(|e| &e.value) {
        None => false,
        Some(Value::Set(_)) => true,
        Some(_) => return Err(CmdError::WrongType),
    };
    if !exists {
        if !create {
            return Ok(None);
        }
        ctx.db().insert(key, Value::new_set());
    }
    match ctx.db().value_mut(key) {
        Some(Value::Set(set)) => Ok(Some(set)),
        _ => unreachable!("checked to be a set"),
    }
}

/// SADD key member [member ...]: adds members, creating the set; replies
/// with the number added.
///
/// # Propagation
/// Verbatim, when a member was added.
fn sadd(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let set = set_mut(ctx, argv.get(1), true)?.expect("created");
    let mut added = 0;
    for member in argv.iter().skip(2) {
        added += set.insert(blob(member)) as u64;
    }
    ctx.changed(added);
    ctx.out.integer(added as i64);
    Ok(())
}

/// SREM key member [member ...]: removes members (the key when empty);
/// replies with the number removed.
///
/// # Propagation
/// Verbatim, when a member was removed.
fn srem(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let key = argv.get(1);
    let Some(set) = set_mut(ctx, key, false)? else {
        ctx.out.integer(0);
        return Ok(());
    };
    let mut removed = 0;
    for member in argv.iter().skip(2) {
        removed += set.swap_remove(member) as u64;
    }
    remove_if_empty(ctx, key);
    ctx.changed(removed);
    ctx.out.integer(removed as i64);
    Ok(())
}

/// The members in reply order: numeric order for a set Redis would hold as
/// an intset, the set's own order otherwise.
fn reply_order(set: &Set) -> Vec<Blob> {
    let mut members: Vec<Blob> = set.iter().cloned().collect();
    if members.len() <= INTSET_MAX_ENTRIES {
        let numbers: Option<Vec<i64>> = members.iter().map(|m| parse_i64(m)).collect();
        if let Some(mut numbers) = numbers {
            numbers.sort_unstable();
            members = numbers
                .iter()
                .map(|n| blob(itoa::Buffer::new().format(*n).as_bytes()))
                .collect();
        }
    }
    members
}

/// SMEMBERS key: every member.
///
/// # Propagation
/// None.
fn smembers(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let members = read_set(ctx, argv.get(1))?
        .map(reply_order)
        .unwrap_or_default();
    ctx.out.array(members.len());
    for member in &members {
        ctx.out.bulk(member);
    }
    Ok(())
}

/// SISMEMBER key member: 1 if the member is in the set.
///
/// # Propagation
/// None.
fn sismember(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let found = read_set(ctx, argv.get(1))?.is_some_and(|s| s.contains(argv.get(2)));
    ctx.out.integer(found as i64);
    Ok(())
}

/// SCARD key: the number of members.
///
/// # Propagation
/// None.
fn scard(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let len = read_set(ctx, argv.get(1))?.map_or(0, |s| s.len());
    ctx.out.integer(len as i64);
    Ok(())
}

/// SPOP key [count]: removes and returns random members, drawn from the
/// node's seeded RNG (so a simulated run pops the same members every time).
///
/// # Propagation
/// Never verbatim (replicas must remove the same members): `SREM key
/// member` per popped member (wrapped in MULTI/EXEC when more than one);
/// `DEL key` when count takes the whole set.
fn spop(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    if argv.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = if argv.len() == 3 {
        let n = int_arg(argv.get(2)).map_err(|_| CmdError::NotPositive)?;
        if n < 0 {
            return Err(CmdError::NotPositive);
        }
        Some(n as usize)
    } else {
        None
    };
    let key = argv.get(1);
    let Some(set) = set_mut(ctx, key, false)? else {
        match count {
            Some(_) => ctx.out.array(0),
            None => ctx.out.null(),
        }
        return Ok(());
    };
    let len = set.len();
    let take = count.unwrap_or(1).min(len);
    let mut members = std::mem::take(set);
    let mut popped = Vec::with_capacity(take);
    for _ in 0..take {
        let index = ctx.state.rng.gen_range(0..members.len());
        popped.push(members.swap_remove_index(index).expect("index < len"));
    }
    if let Some(Value::Set(set)) = ctx.db().value_mut(key) {
        **set = members;
    }
    remove_if_empty(ctx, key);
    if popped.is_empty() {
        ctx.out.array(0);
        return Ok(());
    }
    ctx.changed(popped.len() as u64);
    match count {
        None => {
            ctx.rewrite(&[b"SREM", key, &popped[0]]);
            ctx.out.bulk(&popped[0]);
            return Ok(());
        }
        Some(_) if take == len => ctx.rewrite(&[b"DEL", key]),
        Some(_) => {
            ctx.no_propagation();
            for member in &popped {
                ctx.also_propagate(&[b"SREM", key, member]);
            }
        }
    }
    ctx.out.array(popped.len());
    for member in &popped {
        ctx.out.bulk(member);
    }
    Ok(())
}
