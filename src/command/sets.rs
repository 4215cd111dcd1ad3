//! Set commands: SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD SPOP
//! SRANDMEMBER SMOVE, and the set algebra SINTER SUNION SDIFF (and their
//! STORE forms) and SINTERCARD.

use crate::server::pubsub::notify;
use indexmap::IndexSet;
use rand::Rng;

use super::flags::*;
use super::lists::remove_if_empty;
use super::{int_arg, spec, CmdError, CmdResult, CommandSpec, Ctx, KEY1};
use crate::keyspace::{blob, Blob, Encoding, FixedHash, Value};
use crate::resp::{parse_i64, Argv};

pub(super) static COMMANDS: &[CommandSpec] = &[
    spec("sadd", -3, WRITE | DENYOOM | FAST, KEY1, sadd),
    spec("srem", -3, WRITE | FAST, KEY1, srem),
    spec("smembers", 2, READONLY, KEY1, smembers),
    spec("sismember", 3, READONLY | FAST, KEY1, sismember),
    spec("scard", 2, READONLY | FAST, KEY1, scard),
    spec("spop", -2, WRITE | FAST, KEY1, spop),
    spec("smismember", -3, READONLY | FAST, KEY1, smismember),
    spec("srandmember", -2, READONLY, KEY1, srandmember),
    spec("smove", 4, WRITE | FAST, (1, 2, 1), smove),
    spec("sinter", -2, READONLY, (1, -1, 1), sinter),
    spec("sinterstore", -3, WRITE | DENYOOM, (1, -1, 1), sinterstore),
    spec("sunion", -2, READONLY, (1, -1, 1), sunion),
    spec("sunionstore", -3, WRITE | DENYOOM, (1, -1, 1), sunionstore),
    spec("sdiff", -2, READONLY, (1, -1, 1), sdiff),
    spec("sdiffstore", -3, WRITE | DENYOOM, (1, -1, 1), sdiffstore),
    spec("sintercard", -3, READONLY, (0, 0, 0), sintercard),
];

pub(super) type Set = IndexSet<Blob, FixedHash>;

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
    if added > 0 {
        // A member already there is an integer of an intset (or the set
        // is no intset), so the arguments stand for the members added.
        ctx.db().note_written(argv.get(1), argv.iter().skip(2));
    }
    ctx.changed(added);
    if added > 0 {
        ctx.notify(notify::SET, "sadd", argv.get(1));
    }
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
    if removed > 0 {
        ctx.notify(notify::SET, "srem", key);
    }
    remove_if_empty(ctx, key);
    ctx.changed(removed);
    ctx.out.integer(removed as i64);
    Ok(())
}

/// The members in reply order: numeric order for a set Redis would hold as
/// an intset, the set's own order otherwise.
pub(super) fn reply_order(set: &Set) -> Vec<Blob> {
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
    ctx.out.set(members.len());
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
            Some(_) => ctx.out.set(0),
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
    // Redis pops most of a set (what remains at most a fifth of what
    // goes) by building a new set of the remaining members, encoded
    // afresh: a hashtable left with few integers becomes an intset.
    let remaining = len - take;
    if count.is_some() && remaining > 0 && remaining * SPOP_MOVE_STRATEGY_MUL <= take {
        ctx.db().encode_afresh(key);
    }
    if !popped.is_empty() {
        ctx.notify(notify::SET, "spop", key);
    }
    remove_if_empty(ctx, key);
    if popped.is_empty() {
        ctx.out.set(0);
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
    ctx.out.set(popped.len());
    for member in &popped {
        ctx.out.bulk(member);
    }
    Ok(())
}

/// Redis's `SPOP_MOVE_STRATEGY_MUL`: SPOP with a count rebuilds the set
/// when fewer than this many times the popped members would remain.
const SPOP_MOVE_STRATEGY_MUL: usize = 5;

/// SMISMEMBER key member [member ...]: 1 or 0 per member (all 0 when the
/// key is missing).
///
/// # Propagation
/// None.
fn smismember(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let found: Vec<bool> = match read_set(ctx, argv.get(1))? {
        Some(set) => argv.iter().skip(2).map(|m| set.contains(m)).collect(),
        None => vec![false; argv.len() - 2],
    };
    ctx.out.array(found.len());
    for present in found {
        ctx.out.integer(present as i64);
    }
    Ok(())
}

/// SRANDMEMBER key [count]: random members, drawn from the node's seeded
/// RNG, without removing them. Without count one member (nil when the key
/// is missing); a positive count gives distinct members (at most the whole
/// set), a negative one `-count` members that may repeat.
///
/// # Propagation
/// None.
fn srandmember(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let (count, _) = super::random_picks::count_argument(argv, None)?;
    let members: Vec<Blob> = match read_set(ctx, argv.get(1))? {
        Some(set) => set.iter().cloned().collect(),
        None => Vec::new(),
    };
    let rng = &mut ctx.state.rng;
    let Some(count) = count else {
        if members.is_empty() {
            ctx.out.null();
        } else {
            ctx.out.bulk(&members[rng.gen_range(0..members.len())]);
        }
        return Ok(());
    };
    ctx.out
        .array(super::random_picks::picks(members.len(), count));
    for index in super::random_picks::pick_indices(rng, members.len(), count) {
        ctx.out.bulk(&members[index]);
    }
    Ok(())
}

/// SMOVE source destination member: moves a member from one set to
/// another (creating the destination, deleting an emptied source); 1 if
/// it moved, 0 if it was not in the source. Both keys must be sets (or
/// missing) first. With source = destination nothing changes and the reply
/// says whether the member is there.
///
/// # Propagation
/// Verbatim, when the member moved.
fn smove(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let (source, destination, member) = (argv.get(1), argv.get(2), argv.get(3));
    let in_source = read_set(ctx, source)?.map(|set| set.contains(member));
    read_set(ctx, destination)?;
    let Some(in_source) = in_source else {
        ctx.out.integer(0);
        return Ok(());
    };
    if source == destination {
        ctx.out.integer(in_source as i64);
        return Ok(());
    }
    if !in_source {
        ctx.out.integer(0);
        return Ok(());
    }
    set_mut(ctx, source, false)?
        .expect("checked to exist")
        .shift_remove(member);
    ctx.notify(notify::SET, "srem", source);
    remove_if_empty(ctx, source);
    let added = set_mut(ctx, destination, true)?
        .expect("created")
        .insert(blob(member));
    if added {
        ctx.db().note_written(destination, [member]);
    }
    ctx.changed(1);
    if added {
        ctx.notify(notify::SET, "sadd", destination);
    }
    ctx.out.integer(1);
    Ok(())
}

/// Which set algebra a command computes.
#[derive(Clone, Copy, PartialEq)]
enum Algebra {
    Inter,
    Union,
    Diff,
}

/// The sets named by `keys` (None for a missing key), after checking
/// that every existing key holds a set, as Redis checks before computing.
fn input_sets(ctx: &mut Ctx<'_>, keys: &[&[u8]]) -> Result<Vec<Option<Set>>, CmdError> {
    let mut sets = Vec::with_capacity(keys.len());
    for key in keys {
        sets.push(read_set(ctx, key)?.cloned());
    }
    Ok(sets)
}

/// The result of `op` over `sets`, in a deterministic order: for an
/// intersection the order of the smallest set, for a union first
/// appearances, for a difference the first set's order.
fn compute(op: Algebra, sets: &[Option<Set>]) -> Set {
    let empty = Set::default();
    let all: Vec<&Set> = sets.iter().map(|s| s.as_ref().unwrap_or(&empty)).collect();
    match op {
        Algebra::Inter => {
            let Some(smallest) = all.iter().min_by_key(|s| s.len()) else {
                return Set::default();
            };
            smallest
                .iter()
                .filter(|m| all.iter().all(|s| s.contains(*m)))
                .cloned()
                .collect()
        }
        Algebra::Union => all.iter().flat_map(|s| s.iter().cloned()).collect(),
        Algebra::Diff => all[0]
            .iter()
            .filter(|m| !all[1..].iter().any(|s| s.contains(*m)))
            .cloned()
            .collect(),
    }
}

fn algebra_reply(ctx: &mut Ctx<'_>, argv: Argv<'_>, op: Algebra) -> CmdResult {
    let keys: Vec<&[u8]> = argv.iter().skip(1).collect();
    let sets = input_sets(ctx, &keys)?;
    let result = reply_order(&compute(op, &sets));
    ctx.out.set(result.len());
    for member in &result {
        ctx.out.bulk(member);
    }
    Ok(())
}

/// True when SDIFFSTORE builds its result the way Redis's second
/// difference algorithm does: a copy of the first set, then the others'
/// members removed (chosen when the first set is large against the
/// others). The copy's encoding then decides the result's, as Redis
/// never converts back.
fn diff_copies_first_set(keys: &[&[u8]], sets: &[Option<Set>]) -> bool {
    let Some(first) = &sets[0] else {
        return false;
    };
    if keys[1..].contains(&keys[0]) {
        return false;
    }
    let existing: Vec<usize> = sets.iter().flatten().map(|s| s.len()).collect();
    let copy_work = existing.len() * first.len() / 2;
    let remove_work: usize = existing.iter().sum();
    copy_work > remove_work
}

fn algebra_store(ctx: &mut Ctx<'_>, argv: Argv<'_>, op: Algebra) -> CmdResult {
    let destination = argv.get(1);
    let keys: Vec<&[u8]> = argv.iter().skip(2).collect();
    let sets = input_sets(ctx, &keys)?;
    let result = compute(op, &sets);
    let len = result.len();
    if len > 0 {
        let built_from_first = op == Algebra::Diff && diff_copies_first_set(&keys, &sets);
        let db = ctx.db();
        db.insert_with_expiry(destination, Value::Set(Box::new(result)), None);
        if built_from_first {
            // The result went through a copy of the first set, so it
            // converted if that copy did.
            let first = Value::Set(Box::new(sets[0].clone().unwrap_or_default()));
            if db.encoding_limits().fresh(&first) == Encoding::Hashtable {
                db.set_encoding(destination, Encoding::Hashtable);
            }
        }
        ctx.changed(1);
        let event = match op {
            Algebra::Inter => "sinterstore",
            Algebra::Union => "sunionstore",
            Algebra::Diff => "sdiffstore",
        };
        ctx.notify(notify::SET, event, destination);
    } else if ctx.lookup(destination).is_some() {
        ctx.db().remove(destination);
        ctx.changed(1);
        ctx.notify(notify::GENERIC, "del", destination);
    }
    ctx.out.integer(len as i64);
    Ok(())
}

/// SINTER key [key ...]: the members present in every set (a missing key
/// is an empty set, so the result is empty).
///
/// # Propagation
/// None.
fn sinter(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    algebra_reply(ctx, argv, Algebra::Inter)
}

/// SUNION key [key ...]: the members present in any set.
///
/// # Propagation
/// None.
fn sunion(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    algebra_reply(ctx, argv, Algebra::Union)
}

/// SDIFF key [key ...]: the members of the first set in none of the others.
///
/// # Propagation
/// None.
fn sdiff(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    algebra_reply(ctx, argv, Algebra::Diff)
}

/// SINTERSTORE destination key [key ...]: stores SINTER's result at
/// destination (replacing it, and its TTL); an empty result deletes
/// destination. Replies with the result's size.
///
/// # Propagation
/// Verbatim, when destination was written or deleted (the result only
/// depends on the dataset, so replicas compute the same).
fn sinterstore(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    algebra_store(ctx, argv, Algebra::Inter)
}

/// SUNIONSTORE destination key [key ...]: SUNION stored as SINTERSTORE
/// stores.
///
/// # Propagation
/// Verbatim, when destination was written or deleted.
fn sunionstore(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    algebra_store(ctx, argv, Algebra::Union)
}

/// SDIFFSTORE destination key [key ...]: SDIFF stored as SINTERSTORE
/// stores.
///
/// # Propagation
/// Verbatim, when destination was written or deleted.
fn sdiffstore(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    algebra_store(ctx, argv, Algebra::Diff)
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit]: the size of the
/// intersection, counting stopped at `limit` when it is not 0.
///
/// # Propagation
/// None.
fn sintercard(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let (keys, limit) = numkeys_and_limit(argv, false)?;
    let sets = input_sets(ctx, &keys)?;
    let count = compute(Algebra::Inter, &sets).len();
    let count = if limit > 0 { count.min(limit) } else { count };
    ctx.out.integer(count as i64);
    Ok(())
}

/// Parses `numkeys key [key ...] [LIMIT limit]` (SINTERCARD, ZINTERCARD)
/// with Redis's errors.
///
/// `zset_errors`: ZINTERCARD's wording for a bad numkeys (it shares
/// ZINTER's parser in Redis) instead of SINTERCARD's.
pub(super) fn numkeys_and_limit(
    argv: Argv<'_>,
    zset_errors: bool,
) -> Result<(Vec<&[u8]>, usize), CmdError> {
    let numkeys = match int_arg(argv.get(1)) {
        Ok(n) if n > 0 => n as usize,
        Err(e) if zset_errors => return Err(e),
        _ if zset_errors => {
            return Err(CmdError::err(format!(
                "at least 1 input key is needed for '{}' command",
                String::from_utf8_lossy(argv.get(0)).to_ascii_lowercase()
            )))
        }
        _ => return Err(CmdError::err("numkeys should be greater than 0")),
    };
    if numkeys > argv.len() - 2 {
        if zset_errors {
            return Err(CmdError::Syntax);
        }
        return Err(CmdError::err(
            "Number of keys can't be greater than number of args",
        ));
    }
    let keys: Vec<&[u8]> = (2..2 + numkeys).map(|i| argv.get(i)).collect();
    let mut limit = 0;
    let mut i = 2 + numkeys;
    while i < argv.len() {
        if argv.get(i).eq_ignore_ascii_case(b"limit") && i + 1 < argv.len() {
            // Redis words a limit that does not parse as a negative one.
            let n = int_arg(argv.get(i + 1)).unwrap_or(-1);
            if n < 0 {
                return Err(CmdError::err("LIMIT can't be negative"));
            }
            limit = n as usize;
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok((keys, limit))
}
