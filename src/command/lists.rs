//! List commands: LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LRANGE LLEN LINDEX LSET LREM LTRIM
//! LINSERT LPOS.

use crate::server::pubsub::notify;
use std::collections::VecDeque;

use super::flags::*;
use super::{int_arg, spec, CmdError, CmdResult, CommandSpec, Ctx, KEY1};
use crate::keyspace::{blob, Blob, Value};
use crate::resp::Argv;

pub(super) static COMMANDS: &[CommandSpec] = &[
    spec("lpush", -3, WRITE | DENYOOM | FAST, KEY1, lpush),
    spec("rpush", -3, WRITE | DENYOOM | FAST, KEY1, rpush),
    spec("lpop", -2, WRITE | FAST, KEY1, lpop),
    spec("rpop", -2, WRITE | FAST, KEY1, rpop),
    spec("lrange", 4, READONLY, KEY1, lrange),
    spec("llen", 2, READONLY | FAST, KEY1, llen),
    spec("lindex", 3, READONLY, KEY1, lindex),
    spec("lpushx", -3, WRITE | DENYOOM | FAST, KEY1, lpushx),
    spec("rpushx", -3, WRITE | DENYOOM | FAST, KEY1, rpushx),
    spec("lset", 4, WRITE | DENYOOM, KEY1, lset),
    spec("lrem", 4, WRITE, KEY1, lrem),
    spec("ltrim", 4, WRITE, KEY1, ltrim),
    spec("linsert", 5, WRITE | DENYOOM, KEY1, linsert),
    spec("lpos", -3, READONLY, KEY1, lpos),
];

fn read_list<'c>(ctx: &'c mut Ctx<'_>, key: &[u8]) -> Result<Option<&'c VecDeque<Blob>>, CmdError> {
    match ctx.lookup(key).map(|e| &e.value) {
        None => Ok(None),
        Some(Value::List(list)) => Ok(Some(list)),
        Some(_) => Err(CmdError::WrongType),
    }
}

fn list_mut<'c>(
    ctx: &'c mut Ctx<'_>,
    key: &[u8],
) -> Result<Option<&'c mut VecDeque<Blob>>, CmdError> {
    match ctx.lookup_mut(key) {
        None => Ok(None),
        Some(Value::List(list)) => Ok(Some(list)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// Deletes `key` if its collection became empty (Redis never keeps empty
/// collections), with the `del` keyspace event; callers publish their own
/// event first, as Redis does.
pub(super) fn remove_if_empty(ctx: &mut Ctx<'_>, key: &[u8]) {
    if ctx
        .db()
        .get(key)
        .is_some_and(|e| e.value.is_empty_collection())
    {
        ctx.db().remove(key);
        ctx.notify(notify::GENERIC, "del", key);
    }
}

/// Redis's rank normalisation: negative indexes count from the end; returns
/// the inclusive range, or `None` when it is empty.
pub(super) fn normalise_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 {
        (len + start).max(0)
    } else {
        start
    };
    let end = if end < 0 { len + end } else { end };
    if start > end || start >= len {
        return None;
    }
    Some((start as usize, end.min(len - 1) as usize))
}

fn push(ctx: &mut Ctx<'_>, argv: Argv<'_>, front: bool) -> CmdResult {
    push_generic(ctx, argv, front, false)
}

/// LPUSH/RPUSH, and LPUSHX/RPUSHX (`only_existing`: a missing key stays
/// missing, replying 0).
fn push_generic(ctx: &mut Ctx<'_>, argv: Argv<'_>, front: bool, only_existing: bool) -> CmdResult {
    let key = argv.get(1);
    if list_mut(ctx, key)?.is_none() {
        if only_existing {
            ctx.out.integer(0);
            return Ok(());
        }
        ctx.db().insert_keep_ttl(key, Value::new_list());
    }
    let list = list_mut(ctx, key)?.expect("just created");
    for element in argv.iter().skip(2) {
        if front {
            list.push_front(blob(element));
        } else {
            list.push_back(blob(element));
        }
    }
    let len = list.len();
    ctx.changed((argv.len() - 2) as u64);
    ctx.notify(notify::LIST, if front { "lpush" } else { "rpush" }, key);
    ctx.out.integer(len as i64);
    Ok(())
}

/// LPUSH key element [element ...]: inserts at the head (each in turn, so
/// the last one ends first), creating the list; replies with the length.
///
/// # Propagation
/// Verbatim.
fn lpush(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    push(ctx, argv, true)
}

/// LPUSHX key element [element ...]: LPUSH only when the list exists (0,
/// and nothing created, otherwise).
///
/// # Propagation
/// Verbatim, when pushed.
fn lpushx(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    push_generic(ctx, argv, true, true)
}

/// RPUSHX key element [element ...]: RPUSH only when the list exists.
///
/// # Propagation
/// Verbatim, when pushed.
fn rpushx(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    push_generic(ctx, argv, false, true)
}

/// RPUSH key element [element ...]: appends at the tail.
///
/// # Propagation
/// Verbatim.
fn rpush(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    push(ctx, argv, false)
}

fn pop(ctx: &mut Ctx<'_>, argv: Argv<'_>, front: bool) -> CmdResult {
    if argv.len() > 3 {
        return Err(CmdError::err(format!(
            "wrong number of arguments for '{}' command",
            if front { "lpop" } else { "rpop" }
        )));
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
    let Some(list) = list_mut(ctx, key)? else {
        match count {
            Some(_) => ctx.out.null_array(),
            None => ctx.out.null(),
        }
        return Ok(());
    };
    let take = count.unwrap_or(1).min(list.len());
    let mut popped = Vec::with_capacity(take);
    for _ in 0..take {
        let element = if front {
            list.pop_front()
        } else {
            list.pop_back()
        };
        popped.extend(element);
    }
    if !popped.is_empty() {
        ctx.notify(notify::LIST, if front { "lpop" } else { "rpop" }, key);
    }
    remove_if_empty(ctx, key);
    if !popped.is_empty() {
        ctx.changed(popped.len() as u64);
    }
    match count {
        None => ctx.out.bulk_opt(popped.first().map(|e| e.as_slice())),
        Some(_) => {
            ctx.out.array(popped.len());
            for element in &popped {
                ctx.out.bulk(element);
            }
        }
    }
    Ok(())
}

/// LPOP key [count]: removes and returns the first element (or up to
/// `count` as an array; nil / null array when the key is missing).
///
/// # Propagation
/// Verbatim.
fn lpop(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    pop(ctx, argv, true)
}

/// RPOP key [count]: like LPOP from the tail.
///
/// # Propagation
/// Verbatim.
fn rpop(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    pop(ctx, argv, false)
}

/// LRANGE key start stop: elements in the inclusive rank range.
///
/// # Propagation
/// None.
fn lrange(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let start = int_arg(argv.get(2))?;
    let end = int_arg(argv.get(3))?;
    let Some(list) = read_list(ctx, argv.get(1))? else {
        ctx.out.array(0);
        return Ok(());
    };
    let Some((from, to)) = normalise_range(start, end, list.len()) else {
        ctx.out.array(0);
        return Ok(());
    };
    let items: Vec<Blob> = list.range(from..=to).cloned().collect();
    ctx.out.array(items.len());
    for item in &items {
        ctx.out.bulk(item);
    }
    Ok(())
}

/// LLEN key: the length, 0 when missing.
///
/// # Propagation
/// None.
fn llen(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let len = read_list(ctx, argv.get(1))?.map_or(0, |l| l.len());
    ctx.out.integer(len as i64);
    Ok(())
}

fn resolve_index(index: i64, len: usize) -> Option<usize> {
    let index = if index < 0 { len as i64 + index } else { index };
    (index >= 0 && index < len as i64).then_some(index as usize)
}

/// LINDEX key index: the element at the index (negative from the end), or nil.
///
/// # Propagation
/// None.
fn lindex(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let index = int_arg(argv.get(2))?;
    let element = read_list(ctx, argv.get(1))?
        .and_then(|list| resolve_index(index, list.len()).map(|i| list[i].clone()));
    ctx.out.bulk_opt(element.as_deref());
    Ok(())
}

/// LSET key index element: replaces an element; errors for a missing key or
/// an index out of range.
///
/// # Propagation
/// Verbatim.
fn lset(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let index = int_arg(argv.get(2))?;
    let list = list_mut(ctx, argv.get(1))?.ok_or(CmdError::NoSuchKey)?;
    let at = resolve_index(index, list.len()).ok_or(CmdError::IndexOutOfRange)?;
    list[at] = blob(argv.get(3));
    ctx.changed(1);
    ctx.notify(notify::LIST, "lset", argv.get(1));
    ctx.out.ok();
    Ok(())
}

/// LREM key count element: removes up to |count| occurrences (from the head
/// when count > 0, from the tail when < 0, all when 0); replies with the
/// number removed.
///
/// # Propagation
/// Verbatim, when something was removed.
fn lrem(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let count = int_arg(argv.get(2))?;
    let key = argv.get(1);
    let target = argv.get(3);
    let Some(list) = list_mut(ctx, key)? else {
        ctx.out.integer(0);
        return Ok(());
    };
    let limit = if count == 0 {
        usize::MAX
    } else {
        count.unsigned_abs() as usize
    };
    let mut removed = 0;
    if count >= 0 {
        let mut i = 0;
        while i < list.len() && removed < limit {
            if list[i].as_slice() == target {
                list.remove(i);
                removed += 1;
            } else {
                i += 1;
            }
        }
    } else {
        let mut i = list.len();
        while i > 0 && removed < limit {
            i -= 1;
            if list[i].as_slice() == target {
                list.remove(i);
                removed += 1;
            }
        }
    }
    if removed > 0 {
        ctx.notify(notify::LIST, "lrem", key);
    }
    remove_if_empty(ctx, key);
    ctx.changed(removed as u64);
    ctx.out.integer(removed as i64);
    Ok(())
}

/// LTRIM key start stop: keeps only the inclusive range (deleting the key
/// when it is empty).
///
/// # Propagation
/// Verbatim, when elements were removed.
fn ltrim(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let start = int_arg(argv.get(2))?;
    let end = int_arg(argv.get(3))?;
    let key = argv.get(1);
    let Some(list) = list_mut(ctx, key)? else {
        ctx.out.ok();
        return Ok(());
    };
    let before = list.len();
    match normalise_range(start, end, before) {
        None => list.clear(),
        Some((from, to)) => {
            list.truncate(to + 1);
            list.drain(..from);
        }
    }
    let removed = before - list.len();
    ctx.notify(notify::LIST, "ltrim", key);
    remove_if_empty(ctx, key);
    ctx.changed(removed as u64);
    ctx.out.ok();
    Ok(())
}

/// LINSERT key BEFORE|AFTER pivot element: inserts next to the first
/// occurrence of pivot; replies with the new length, -1 when pivot is not
/// there, 0 when the key is missing.
///
/// # Propagation
/// Verbatim, when inserted.
fn linsert(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let after = match argv.get(2).to_ascii_lowercase().as_slice() {
        b"before" => false,
        b"after" => true,
        _ => return Err(CmdError::Syntax),
    };
    let (pivot, element) = (argv.get(3), argv.get(4));
    let Some(list) = list_mut(ctx, argv.get(1))? else {
        ctx.out.integer(0);
        return Ok(());
    };
    let Some(at) = list.iter().position(|e| e.as_slice() == pivot) else {
        ctx.out.integer(-1);
        return Ok(());
    };
    list.insert(at + after as usize, blob(element));
    let len = list.len();
    ctx.changed(1);
    ctx.notify(notify::LIST, "linsert", argv.get(1));
    ctx.out.integer(len as i64);
    Ok(())
}

/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]: the
/// index of matches of element. RANK n starts from the n-th match (negative:
/// searching from the tail); COUNT returns up to that many indexes (0: all)
/// as an array; MAXLEN compares at most that many elements (0: all).
///
/// # Propagation
/// None.
fn lpos(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let mut rank: i64 = 1;
    let mut count: Option<i64> = None;
    let mut maxlen: i64 = 0;
    let mut i = 3;
    while i < argv.len() {
        let option = argv.get(i).to_ascii_lowercase();
        if i + 1 >= argv.len() {
            return Err(CmdError::Syntax);
        }
        let value = argv.get(i + 1);
        match option.as_slice() {
            b"rank" => {
                rank = int_arg(value)?;
                if rank == i64::MIN {
                    return Err(CmdError::err("value is out of range"));
                }
                if rank == 0 {
                    return Err(CmdError::err(
                        "RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
                    ));
                }
            }
            b"count" => {
                let n = int_arg(value).unwrap_or(-1);
                if n < 0 {
                    return Err(CmdError::err("COUNT can't be negative"));
                }
                count = Some(n);
            }
            b"maxlen" => {
                maxlen = int_arg(value).unwrap_or(-1);
                if maxlen < 0 {
                    return Err(CmdError::err("MAXLEN can't be negative"));
                }
            }
            _ => return Err(CmdError::Syntax),
        }
        i += 2;
    }
    let element = argv.get(2);
    let Some(list) = read_list(ctx, argv.get(1))? else {
        match count {
            Some(_) => ctx.out.array(0),
            None => ctx.out.null(),
        }
        return Ok(());
    };
    let len = list.len();
    let limit = if maxlen == 0 {
        len
    } else {
        (maxlen as usize).min(len)
    };
    let wanted = match count {
        Some(0) => usize::MAX,
        Some(n) => n as usize,
        None => 1,
    };
    let indexes: Box<dyn Iterator<Item = usize>> = if rank > 0 {
        Box::new(0..limit)
    } else {
        Box::new((len - limit..len).rev())
    };
    let found: Vec<usize> = indexes
        .filter(|&at| list[at].as_slice() == element)
        .skip(rank.unsigned_abs() as usize - 1)
        .take(wanted)
        .collect();
    match count {
        Some(_) => {
            ctx.out.array(found.len());
            for at in found {
                ctx.out.integer(at as i64);
            }
        }
        None => match found.first() {
            Some(&at) => ctx.out.integer(at as i64),
            None => ctx.out.null(),
        },
    }
    Ok(())
}
