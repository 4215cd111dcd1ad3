//! Hash commands: HSET HGET HDEL HGETALL HLEN HEXISTS HINCRBY.

use indexmap::IndexMap;

use super::flags::*;
use super::lists::remove_if_empty;
use super::{int_arg, spec, CmdError, CmdResult, CommandSpec, Ctx, KEY1};
use crate::keyspace::{blob, Blob, FixedHash, Value};
use crate::resp::{parse_i64, Argv};

pub(super) static COMMANDS: &[CommandSpec] = &[
    spec("hset", -4, WRITE | DENYOOM | FAST, KEY1, hset),
    spec("hget", 3, READONLY | FAST, KEY1, hget),
    spec("hdel", -3, WRITE | FAST, KEY1, hdel),
    spec("hgetall", 2, READONLY, KEY1, hgetall),
    spec("hlen", 2, READONLY | FAST, KEY1, hlen),
    spec("hexists", 3, READONLY | FAST, KEY1, hexists),
    spec("hincrby", 4, WRITE | DENYOOM | FAST, KEY1, hincrby),
];

type Hash = IndexMap<Blob, Blob, FixedHash>;

/// Redis keeps hashes of up to 128 fields as listpacks, which delete in
/// place; below that size deletions keep the field order too.
const SMALL_HASH_FIELDS: usize = 128;

fn read_hash<'c>(ctx: &'c mut Ctx<'_>, key: &[u8]) -> Result<Option<&'c Hash>, CmdError> {
    match ctx.lookup(key).map(|e| &e.value) {
        None => Ok(None),
        Some(Value::Hash(hash)) => Ok(Some(hash)),
        Some(_) => Err(CmdError::WrongType),
    }
}

fn hash_mut<'c>(
    ctx: &'c mut Ctx<'_>,
    key: &[u8],
    create: bool,
) -> Result<Option<&'c mut Hash>, CmdError> {
    let exists = match ctx.lookup(key).map(|e| &e.value) {
        None => false,
        Some(Value::Hash(_)) => true,
        Some(_) => return Err(CmdError::WrongType),
    };
    if !exists {
        if !create {
            return Ok(None);
        }
        ctx.db().insert(key, Value::new_hash());
    }
    match ctx.db().value_mut(key) {
        Some(Value::Hash(hash)) => Ok(Some(hash)),
        _ => unreachable!("checked to be a hash"),
    }
}

/// HSET key field value [field value ...]: sets fields, creating the hash;
/// replies with the number of new fields.
///
/// # Propagation
/// Verbatim.
fn hset(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    if argv.len() % 2 != 0 {
        return Err(CmdError::err(
            "wrong number of arguments for 'hset' command",
        ));
    }
    let hash = hash_mut(ctx, argv.get(1), true)?.expect("created");
    let mut added = 0;
    for pair in (2..argv.len()).step_by(2) {
        if hash
            .insert(blob(argv.get(pair)), blob(argv.get(pair + 1)))
            .is_none()
        {
            added += 1;
        }
    }
    ctx.changed(((argv.len() - 2) / 2) as u64);
    ctx.out.integer(added);
    Ok(())
}

/// HGET key field: the field's value, or nil.
///
/// # Propagation
/// None.
fn hget(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let value = read_hash(ctx, argv.get(1))?.and_then(|h| h.get(argv.get(2)).cloned());
    ctx.out.bulk_opt(value.as_deref());
    Ok(())
}

/// HDEL key field [field ...]: removes fields (the key when none is left);
/// replies with how many existed.
///
/// # Propagation
/// Verbatim, when a field was removed.
fn hdel(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let key = argv.get(1);
    let Some(hash) = hash_mut(ctx, key, false)? else {
        ctx.out.integer(0);
        return Ok(());
    };
    let mut removed = 0;
    for field in argv.iter().skip(2) {
        let gone = if hash.len() <= SMALL_HASH_FIELDS {
            hash.shift_remove(field)
        } else {
            hash.swap_remove(field)
        };
        removed += gone.is_some() as i64;
    }
    remove_if_empty(ctx, key);
    ctx.changed(removed as u64);
    ctx.out.integer(removed);
    Ok(())
}

/// HGETALL key: field, value, field, value, ... in the hash's order.
///
/// # Propagation
/// None.
fn hgetall(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let pairs: Vec<(Blob, Blob)> = read_hash(ctx, argv.get(1))?
        .map(|h| h.iter().map(|(f, v)| (f.clone(), v.clone())).collect())
        .unwrap_or_default();
    ctx.out.array(pairs.len() * 2);
    for (field, value) in &pairs {
        ctx.out.bulk(field);
        ctx.out.bulk(value);
    }
    Ok(())
}

/// HLEN key: number of fields.
///
/// # Propagation
/// None.
fn hlen(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let len = read_hash(ctx, argv.get(1))?.map_or(0, |h| h.len());
    ctx.out.integer(len as i64);
    Ok(())
}

/// HEXISTS key field: 1 if the field exists.
///
/// # Propagation
/// None.
fn hexists(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let exists = read_hash(ctx, argv.get(1))?.is_some_and(|h| h.contains_key(argv.get(2)));
    ctx.out.integer(exists as i64);
    Ok(())
}

/// HINCRBY key field increment: adds to an integer field (missing counts as
/// 0); replies with the new value.
///
/// # Propagation
/// Verbatim.
fn hincrby(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let delta = int_arg(argv.get(3))?;
    let field = argv.get(2);
    let hash = hash_mut(ctx, argv.get(1), true)?.expect("created");
    let current = match hash.get(field) {
        Some(v) => parse_i64(v).ok_or_else(|| CmdError::err("hash value is not an integer"))?,
        None => 0,
    };
    let next = current.checked_add(delta).ok_or(CmdError::Overflow)?;
    hash.insert(
        blob(field),
        blob(itoa::Buffer::new().format(next).as_bytes()),
    );
    ctx.changed(1);
    ctx.out.integer(next);
    Ok(())
}
