//! Hash commands: HSET HMSET HSETNX HGET HMGET HDEL HGETALL HKEYS HVALS HLEN
//! HSTRLEN HEXISTS HINCRBY HINCRBYFLOAT HRANDFIELD.

use crate::server::pubsub::notify;
use indexmap::IndexMap;
use rand::Rng;

use super::flags::*;
use super::lists::remove_if_empty;
use super::{int_arg, spec, CmdError, CmdResult, CommandSpec, Ctx, KEY1};
use crate::keyspace::{blob, Blob, Encoding, FixedHash, Value};
use crate::resp::{parse_i64, Argv};

pub(super) static COMMANDS: &[CommandSpec] = &[
    spec("hset", -4, WRITE | DENYOOM | FAST, KEY1, hset),
    spec("hget", 3, READONLY | FAST, KEY1, hget),
    spec("hdel", -3, WRITE | FAST, KEY1, hdel),
    spec("hgetall", 2, READONLY, KEY1, hgetall),
    spec("hlen", 2, READONLY | FAST, KEY1, hlen),
    spec("hexists", 3, READONLY | FAST, KEY1, hexists),
    spec("hincrby", 4, WRITE | DENYOOM | FAST, KEY1, hincrby),
    spec("hmset", -4, WRITE | DENYOOM | FAST, KEY1, hmset),
    spec("hsetnx", 4, WRITE | DENYOOM | FAST, KEY1, hsetnx),
    spec("hmget", -3, READONLY | FAST, KEY1, hmget),
    spec("hkeys", 2, READONLY, KEY1, hkeys),
    spec("hvals", 2, READONLY, KEY1, hvals),
    spec("hstrlen", 3, READONLY | FAST, KEY1, hstrlen),
    spec(
        "hincrbyfloat",
        4,
        WRITE | DENYOOM | FAST,
        KEY1,
        hincrbyfloat,
    ),
    spec("hrandfield", -2, READONLY, KEY1, hrandfield),
];

type Hash = IndexMap<Blob, Blob, FixedHash>;

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
    ctx.db().note_written(argv.get(1), argv.iter().skip(2));
    ctx.changed(((argv.len() - 2) / 2) as u64);
    ctx.notify(notify::HASH, "hset", argv.get(1));
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
    // A listpack deletes in place, keeping the other fields' order; a
    // hashtable's order is its own anyway.
    let listpack = ctx.lookup(key).map(|e| e.encoding()) == Some(Encoding::Listpack);
    let Some(hash) = hash_mut(ctx, key, false)? else {
        ctx.out.integer(0);
        return Ok(());
    };
    let mut removed = 0;
    for field in argv.iter().skip(2) {
        let gone = if listpack {
            hash.shift_remove(field)
        } else {
            hash.swap_remove(field)
        };
        removed += gone.is_some() as i64;
    }
    if removed > 0 {
        ctx.notify(notify::HASH, "hdel", key);
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
    ctx.out.map(pairs.len());
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
    let text = itoa::Buffer::new().format(next).as_bytes().to_vec();
    hash.insert(blob(field), blob(&text));
    ctx.db().note_written(argv.get(1), [field, &text[..]]);
    ctx.changed(1);
    ctx.notify(notify::HASH, "hincrby", argv.get(1));
    ctx.out.integer(next);
    Ok(())
}

/// HMSET key field value [field value ...]: HSET replying OK.
///
/// # Propagation
/// Verbatim.
fn hmset(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    if argv.len() % 2 != 0 {
        return Err(CmdError::err(
            "wrong number of arguments for 'hmset' command",
        ));
    }
    let hash = hash_mut(ctx, argv.get(1), true)?.expect("created");
    for pair in (2..argv.len()).step_by(2) {
        hash.insert(blob(argv.get(pair)), blob(argv.get(pair + 1)));
    }
    ctx.db().note_written(argv.get(1), argv.iter().skip(2));
    ctx.changed(((argv.len() - 2) / 2) as u64);
    ctx.notify(notify::HASH, "hset", argv.get(1));
    ctx.out.ok();
    Ok(())
}

/// HSETNX key field value: sets the field only if it does not exist; 1 if
/// set.
///
/// # Propagation
/// Verbatim, when set.
fn hsetnx(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let exists = read_hash(ctx, argv.get(1))?.is_some_and(|h| h.contains_key(argv.get(2)));
    if exists {
        ctx.out.integer(0);
        return Ok(());
    }
    let hash = hash_mut(ctx, argv.get(1), true)?.expect("created");
    hash.insert(blob(argv.get(2)), blob(argv.get(3)));
    ctx.db()
        .note_written(argv.get(1), [argv.get(2), argv.get(3)]);
    ctx.changed(1);
    ctx.notify(notify::HASH, "hset", argv.get(1));
    ctx.out.integer(1);
    Ok(())
}

/// HMGET key field [field ...]: each field's value, nil if absent.
///
/// # Propagation
/// None.
fn hmget(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let values: Vec<Option<Blob>> = match read_hash(ctx, argv.get(1))? {
        Some(hash) => argv.iter().skip(2).map(|f| hash.get(f).cloned()).collect(),
        None => vec![None; argv.len() - 2],
    };
    ctx.out.array(values.len());
    for value in &values {
        ctx.out.bulk_opt(value.as_deref());
    }
    Ok(())
}

fn reply_column(ctx: &mut Ctx<'_>, key: &[u8], values: bool) -> CmdResult {
    let items: Vec<Blob> = read_hash(ctx, key)?
        .map(|h| {
            h.iter()
                .map(|(f, v)| if values { v.clone() } else { f.clone() })
                .collect()
        })
        .unwrap_or_default();
    ctx.out.array(items.len());
    for item in &items {
        ctx.out.bulk(item);
    }
    Ok(())
}

/// HKEYS key: the fields, in HGETALL's order.
///
/// # Propagation
/// None.
fn hkeys(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    reply_column(ctx, argv.get(1), false)
}

/// HVALS key: the values, in HGETALL's order.
///
/// # Propagation
/// None.
fn hvals(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    reply_column(ctx, argv.get(1), true)
}

/// HSTRLEN key field: the length of the field's value, 0 if absent.
///
/// # Propagation
/// None.
fn hstrlen(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let len = read_hash(ctx, argv.get(1))?
        .and_then(|h| h.get(argv.get(2)).map(|v| v.len()))
        .unwrap_or(0);
    ctx.out.integer(len as i64);
    Ok(())
}

/// HINCRBYFLOAT key field increment: adds a float (in long double
/// precision, as INCRBYFLOAT) to the field, creating it; replies with the
/// new value.
///
/// # Propagation
/// `HSET key field <new value>`, so replicas store the same digits.
fn hincrbyfloat(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    use crate::longdouble::{is_infinity, LongDouble};
    let (key, field) = (argv.get(1), argv.get(2));
    let increment = match LongDouble::parse(argv.get(3)) {
        Some(increment) => increment,
        None if is_infinity(argv.get(3)) => return Err(CmdError::err("value is NaN or Infinity")),
        None => return Err(CmdError::NotFloat),
    };
    let hash = hash_mut(ctx, key, true)?.expect("created");
    let current = match hash.get(field) {
        Some(value) => {
            LongDouble::parse(value).ok_or_else(|| CmdError::err("hash value is not a float"))?
        }
        None => LongDouble::ZERO,
    };
    let sum = current
        .add(&increment)
        .ok_or_else(|| CmdError::err("increment would produce NaN or Infinity"))?;
    let text = sum.to_human_string();
    hash.insert(blob(field), blob(text.as_bytes()));
    ctx.db().note_written(key, [field, text.as_bytes()]);
    ctx.changed(1);
    ctx.notify(notify::HASH, "hincrbyfloat", key);
    ctx.rewrite(&[b"HSET", key, field, text.as_bytes()]);
    ctx.out.bulk(text.as_bytes());
    Ok(())
}

/// HRANDFIELD key [count [WITHVALUES]]: random fields drawn from the
/// node's seeded RNG: one field (nil when the key is missing), or with a
/// count distinct fields (positive, at most the whole hash) or `-count`
/// fields that may repeat (negative); WITHVALUES adds each value.
///
/// # Propagation
/// None.
fn hrandfield(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let (count, withvalues) = super::random_picks::count_argument(argv, Some(b"withvalues"))?;
    let pairs: Vec<(Blob, Blob)> = read_hash(ctx, argv.get(1))?
        .map(|h| h.iter().map(|(f, v)| (f.clone(), v.clone())).collect())
        .unwrap_or_default();
    let rng = &mut ctx.state.rng;
    let Some(count) = count else {
        if pairs.is_empty() {
            ctx.out.null();
        } else {
            ctx.out.bulk(&pairs[rng.gen_range(0..pairs.len())].0);
        }
        return Ok(());
    };
    // RESP2 flattens field, value pairs; RESP3 nests each pair.
    let nested = withvalues && ctx.out.is_resp3();
    let picked = super::random_picks::picks(pairs.len(), count);
    ctx.out.array(if withvalues && !nested {
        2 * picked
    } else {
        picked
    });
    for index in super::random_picks::pick_indices(rng, pairs.len(), count) {
        let (field, value) = &pairs[index];
        if nested {
            ctx.out.array(2);
        }
        ctx.out.bulk(field);
        if withvalues {
            ctx.out.bulk(value);
        }
    }
    Ok(())
}
