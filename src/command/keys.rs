//! Key-space commands: DEL UNLINK EXISTS TYPE KEYS SCAN RANDOMKEY RENAME
//! RENAMENX COPY MOVE EXPIRE PEXPIRE EXPIREAT PEXPIREAT TTL PTTL EXPIRETIME
//! PEXPIRETIME PERSIST.

use super::flags::*;
use super::glob::glob_match;
use crate::server::pubsub::notify;
use rand::Rng;

use super::{int_arg, spec, CmdError, CmdResult, CommandSpec, Ctx, KEY1};
use crate::keyspace::{Blob, DB_COUNT};
use crate::resp::Argv;

pub(super) static COMMANDS: &[CommandSpec] = &[
    spec("del", -2, WRITE, (1, -1, 1), del),
    spec("unlink", -2, WRITE | FAST, (1, -1, 1), del),
    spec("exists", -2, READONLY | FAST, (1, -1, 1), exists),
    spec("touch", -2, READONLY | FAST, (1, -1, 1), touch),
    spec("type", 2, READONLY | FAST, KEY1, type_),
    spec("keys", 2, READONLY, (0, 0, 0), keys),
    spec("scan", -2, READONLY, (0, 0, 0), scan),
    spec("rename", 3, WRITE, (1, 2, 1), rename),
    spec("expire", -3, WRITE | FAST, KEY1, expire),
    spec("pexpire", -3, WRITE | FAST, KEY1, pexpire),
    spec("expireat", -3, WRITE | FAST, KEY1, expireat),
    spec("pexpireat", -3, WRITE | FAST, KEY1, pexpireat),
    spec("ttl", 2, READONLY | FAST, KEY1, ttl),
    spec("pttl", 2, READONLY | FAST, KEY1, pttl),
    spec("persist", 2, WRITE | FAST, KEY1, persist),
    spec("expiretime", 2, READONLY | FAST, KEY1, expiretime),
    spec("pexpiretime", 2, READONLY | FAST, KEY1, pexpiretime),
    spec("randomkey", 1, READONLY, (0, 0, 0), randomkey),
    spec("renamenx", 3, WRITE | FAST, (1, 2, 1), renamenx),
    spec("copy", -3, WRITE | DENYOOM, (1, 2, 1), copy),
    spec("move", 3, WRITE | FAST, KEY1, move_),
];

/// DEL key [key ...] (and UNLINK, identical here: there is no background
/// freeing): removes the keys; replies with how many existed.
///
/// # Propagation
/// Verbatim when at least one key was removed. Keys found expired on a
/// master are first propagated as their own `DEL`.
fn del(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let mut removed = 0;
    for key in argv.iter().skip(1) {
        if !ctx.expire_if_needed(key) && ctx.db().remove(key).is_some() {
            ctx.notify(notify::GENERIC, "del", key);
            removed += 1;
        }
    }
    ctx.changed(removed);
    ctx.out.integer(removed as i64);
    Ok(())
}

/// EXISTS key [key ...]: how many of the keys exist (repeats count again).
///
/// # Propagation
/// None.
fn exists(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    count_existing(ctx, argv, false)
}

/// TOUCH key [key ...]: how many of the keys exist, each one's access
/// time (or LFU counter) updated as a read would.
///
/// # Propagation
/// None.
fn touch(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    count_existing(ctx, argv, true)
}

/// Replies how many of the keys after the command name exist; `touch`
/// updates their access stamps.
fn count_existing(ctx: &mut Ctx<'_>, argv: Argv<'_>, touch: bool) -> CmdResult {
    let mut count = 0;
    for key in argv.iter().skip(1) {
        let found = if touch {
            ctx.lookup(key).is_some()
        } else {
            ctx.lookup_untouched(key).is_some()
        };
        count += i64::from(found);
    }
    ctx.out.integer(count);
    Ok(())
}

/// TYPE key: `string`, `list`, `hash`, `set`, `zset`, or `none`.
///
/// # Propagation
/// None.
fn type_(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let name = ctx
        .lookup_untouched(argv.get(1))
        .map_or("none", |e| e.value.type_name());
    ctx.out.simple(name);
    Ok(())
}

/// KEYS pattern: every key matching the glob, expired ones skipped (not
/// deleted), in the db's deterministic order.
///
/// # Propagation
/// None.
fn keys(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let pattern = argv.get(1);
    let all = pattern == b"*";
    let now = ctx.now_ms;
    let db = ctx.client.db;
    let matches: Vec<&[u8]> = ctx
        .state
        .keyspace
        .db(db)
        .iter()
        .filter(|(k, e)| !e.is_expired(now) && (all || glob_match(pattern, k, false)))
        .map(|(k, _)| k)
        .collect();
    ctx.out.array(matches.len());
    for key in matches {
        ctx.out.bulk(key);
    }
    Ok(())
}

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]: iterates the db.
///
/// The cursor walks the db's entry positions downwards (0 starts at the
/// end), which keeps Redis's guarantee: every key present during the whole
/// iteration is returned at least once, because deletions only move an
/// already-visited key into an unvisited slot, and new keys land in the
/// visited region. Expired keys are filtered (a master deletes them).
///
/// # Propagation
/// None, except `DEL` for expired keys a master deletes.
fn scan(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let cursor = parse_cursor(argv.get(1))?;
    let mut pattern: Option<&[u8]> = None;
    let mut count: i64 = 10;
    let mut type_filter: Option<Vec<u8>> = None;
    let mut i = 2;
    while i < argv.len() {
        let option = argv.get(i).to_ascii_uppercase();
        if i + 1 >= argv.len() {
            return Err(CmdError::Syntax);
        }
        let value = argv.get(i + 1);
        match option.as_slice() {
            b"MATCH" => pattern = Some(value),
            b"COUNT" => {
                count = int_arg(value)?;
                if count < 1 {
                    return Err(CmdError::Syntax);
                }
            }
            b"TYPE" => type_filter = Some(value.to_ascii_lowercase()),
            _ => return Err(CmdError::Syntax),
        }
        i += 2;
    }
    let db = ctx.client.db;
    let len = ctx.state.keyspace.db(db).len();
    let mut position = if cursor == 0 {
        len
    } else {
        (cursor as usize).min(len)
    };
    let mut found: Vec<Blob> = Vec::new();
    let mut budget = count as usize;
    while position > 0 && budget > 0 {
        position -= 1;
        budget -= 1;
        let (key, entry) = ctx
            .state
            .keyspace
            .db(db)
            .get_index(position)
            .expect("position < len");
        let type_ok = type_filter
            .as_deref()
            .is_none_or(|t| t == entry.value.type_name().as_bytes());
        if type_ok && pattern.is_none_or(|p| glob_match(p, key, false)) {
            found.push(Blob::from_slice(key));
        }
    }
    // Expiry deletions only after the walk, so that no unvisited key moves.
    found.retain(|key| !ctx.expire_if_needed(key));
    ctx.out.array(2);
    ctx.out.bulk(position.to_string().as_bytes());
    ctx.out.array(found.len());
    for key in &found {
        ctx.out.bulk(key);
    }
    Ok(())
}

/// Redis's `parseScanCursorOrReply`: `strtoul` with no leading space and no
/// trailing bytes; as `strtoul` does, a minus sign negates in unsigned
/// arithmetic (`-1` is the largest cursor).
pub(super) fn parse_cursor(arg: &[u8]) -> Result<u64, CmdError> {
    let invalid = || CmdError::err("invalid cursor");
    let text = std::str::from_utf8(arg).map_err(|_| invalid())?;
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let value: u64 = digits.parse().map_err(|_| invalid())?;
    Ok(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

/// RENAME key newkey: moves the value and its TTL, replacing newkey. An
/// error if key does not exist; renaming a key to itself is a no-op.
///
/// # Propagation
/// Verbatim.
fn rename(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    rename_generic(ctx, argv, false)
}

/// RENAMENX key newkey: RENAME only when newkey does not exist; 1 if
/// renamed, 0 otherwise (also when both names are the same key).
///
/// # Propagation
/// Verbatim, when renamed.
fn renamenx(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    rename_generic(ctx, argv, true)
}

fn rename_generic(ctx: &mut Ctx<'_>, argv: Argv<'_>, nx: bool) -> CmdResult {
    let (from, to) = (argv.get(1), argv.get(2));
    if ctx.lookup(from).is_none() {
        return Err(CmdError::NoSuchKey);
    }
    if from == to {
        if nx {
            ctx.out.integer(0);
        } else {
            ctx.out.ok();
        }
        return Ok(());
    }
    let target_exists = !ctx.expire_if_needed(to) && ctx.db().get(to).is_some();
    if nx && target_exists {
        ctx.out.integer(0);
        return Ok(());
    }
    let entry = ctx.db().remove(from).expect("looked up");
    let expiry = entry.expire_at_ms();
    // Redis deletes the target and adds the key anew (a `new` event).
    ctx.db().remove(to);
    // The same object moves: its encoding goes with it.
    let encoding = entry.encoding();
    ctx.db().insert_encoded(to, entry.value, expiry, encoding);
    ctx.changed(1);
    ctx.notify(notify::GENERIC, "rename_from", from);
    ctx.notify(notify::GENERIC, "rename_to", to);
    if nx {
        ctx.out.integer(1);
    } else {
        ctx.out.ok();
    }
    Ok(())
}

/// Whether `key` exists in db `db` (another than the client's), after
/// the expiry policy ran on it there.
fn exists_in_db(ctx: &mut Ctx<'_>, db: usize, key: &[u8]) -> bool {
    // The expiry policy works on the client's db; point it at `db` for
    // this one lookup.
    let own = std::mem::replace(&mut ctx.client.db, db);
    let exists = ctx.lookup(key).is_some();
    ctx.client.db = own;
    exists
}

/// A db index argument of COPY and MOVE, with Redis's errors.
fn db_index_arg(arg: &[u8]) -> Result<usize, CmdError> {
    let index = int_arg(arg)?;
    usize::try_from(index)
        .ok()
        .filter(|i| *i < DB_COUNT)
        .ok_or_else(|| CmdError::err("DB index is out of range"))
}

/// COPY source destination [DB destination-db] [REPLACE]: copies a key's
/// value and TTL; 1 if copied, 0 when source is missing or destination
/// exists without REPLACE.
///
/// # Propagation
/// Verbatim, when copied.
fn copy(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let (source, destination) = (argv.get(1), argv.get(2));
    let own_db = ctx.client.db;
    let mut target_db = own_db;
    let mut replace = false;
    let mut i = 3;
    while i < argv.len() {
        let option = argv.get(i).to_ascii_lowercase();
        if option == b"replace" {
            replace = true;
            i += 1;
        } else if option == b"db" && i + 1 < argv.len() {
            target_db = db_index_arg(argv.get(i + 1))?;
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if source == destination && target_db == own_db {
        return Err(CmdError::err("source and destination objects are the same"));
    }
    let Some(entry) = ctx.lookup(source).cloned() else {
        ctx.out.integer(0);
        return Ok(());
    };
    if exists_in_db(ctx, target_db, destination) {
        if !replace {
            ctx.out.integer(0);
            return Ok(());
        }
        ctx.state.keyspace.db_mut(target_db).remove(destination);
    }
    let expiry = entry.expire_at_ms();
    // Redis duplicates the value in its own encoding.
    let encoding = entry.encoding();
    ctx.state
        .keyspace
        .db_mut(target_db)
        .insert_encoded(destination, entry.value, expiry, encoding);
    ctx.changed(1);
    ctx.notify_in(target_db, notify::GENERIC, "copy_to", destination);
    ctx.out.integer(1);
    Ok(())
}

/// MOVE key db: moves a key (with its TTL) to another db; 1 if moved, 0
/// when it is missing here or exists there.
///
/// # Propagation
/// Verbatim, when moved.
fn move_(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let key = argv.get(1);
    let target_db = db_index_arg(argv.get(2))?;
    if target_db == ctx.client.db {
        return Err(CmdError::err("source and destination objects are the same"));
    }
    if ctx.lookup(key).is_none() || exists_in_db(ctx, target_db, key) {
        ctx.out.integer(0);
        return Ok(());
    }
    let entry = ctx.db().remove(key).expect("looked up");
    let expiry = entry.expire_at_ms();
    let encoding = entry.encoding();
    ctx.state
        .keyspace
        .db_mut(target_db)
        .insert_encoded(key, entry.value, expiry, encoding);
    ctx.changed(1);
    let source_db = ctx.client.db;
    ctx.notify_in(source_db, notify::GENERIC, "move_from", key);
    ctx.notify_in(target_db, notify::GENERIC, "move_to", key);
    ctx.out.integer(1);
    Ok(())
}

/// RANDOMKEY: a key of the selected db drawn from the node's seeded RNG
/// (nil when the db is empty). Keys found expired are expired on the way
/// (on a master), as in Redis; on a replica where every key is volatile the
/// draw stops after 100 expired keys and returns the last one, as Redis's
/// guard does, instead of looping forever.
///
/// # Propagation
/// None (a key it expires is propagated as `DEL`).
fn randomkey(ctx: &mut Ctx<'_>, _argv: Argv<'_>) -> CmdResult {
    let mut tries = 0;
    loop {
        let len = ctx.db().len();
        if len == 0 {
            ctx.out.null();
            return Ok(());
        }
        let index = ctx.state.rng.gen_range(0..len);
        let now = ctx.now_ms;
        let (key, expired, all_volatile) = {
            let db = ctx.db();
            let all_volatile = db.volatile_len() == db.len();
            let (key, entry) = db.get_index(index).expect("index < len");
            (key.to_vec(), entry.is_expired(now), all_volatile)
        };
        if expired {
            tries += 1;
            if all_volatile && ctx.state.is_replica() && tries > 100 {
                ctx.out.bulk(&key);
                return Ok(());
            }
            if ctx.expire_if_needed(&key) {
                continue;
            }
        }
        ctx.out.bulk(&key);
        return Ok(());
    }
}

/// Which EXPIRE variant runs: the unit and whether the time is absolute.
#[derive(Clone, Copy)]
struct ExpireKind {
    unit_ms: i64,
    absolute: bool,
    is_pexpireat: bool,
}

/// EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT key time [NX|XX|GT|LT]: sets a TTL;
/// 1 when set, 0 when the key is missing or a condition failed. A time
/// already past deletes the key (on a master; a replica keeps it with the
/// past expiry and hides it).
///
/// # Propagation
/// `PEXPIREAT key <abs ms>` (PEXPIREAT itself verbatim); `DEL key` when the
/// time was already past.
fn expire_generic(ctx: &mut Ctx<'_>, argv: Argv<'_>, kind: ExpireKind, name: &str) -> CmdResult {
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for option in argv.iter().skip(3) {
        match option.to_ascii_uppercase().as_slice() {
            b"NX" => nx = true,
            b"XX" => xx = true,
            b"GT" => gt = true,
            b"LT" => lt = true,
            _ => {
                return Err(CmdError::err(format!(
                    "Unsupported option {}",
                    String::from_utf8_lossy(option)
                )))
            }
        }
    }
    if nx && (xx || gt || lt) {
        return Err(CmdError::err(
            "NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if gt && lt {
        return Err(CmdError::err(
            "GT and LT options at the same time are not compatible",
        ));
    }
    let invalid = || CmdError::err(format!("invalid expire time in '{name}' command"));
    let when = int_arg(argv.get(2))?;
    let mut when = when.checked_mul(kind.unit_ms).ok_or_else(invalid)?;
    if !kind.absolute {
        when = when.checked_add(ctx.now_ms as i64).ok_or_else(invalid)?;
    }
    let key = argv.get(1);
    let Some(entry) = ctx.lookup(key) else {
        ctx.out.integer(0);
        return Ok(());
    };
    let current = entry.expire_at_ms().map(|at| at as i64);
    let refused = (nx && current.is_some())
        || (xx && current.is_none())
        || (gt && current.is_none_or(|c| when <= c))
        || (lt && current.is_some_and(|c| when >= c));
    if refused {
        ctx.out.integer(0);
        return Ok(());
    }
    if when <= ctx.now_ms as i64 && !ctx.state.is_replica() {
        ctx.db().remove(key);
        ctx.rewrite(&[b"DEL", key]);
        ctx.notify(notify::GENERIC, "del", key);
    } else {
        ctx.db().set_expiry(key, Some(when.max(0) as u64));
        if !kind.is_pexpireat {
            ctx.rewrite(&[b"PEXPIREAT", key, when.to_string().as_bytes()]);
        }
        ctx.notify(notify::GENERIC, "expire", key);
    }
    ctx.changed(1);
    ctx.out.integer(1);
    Ok(())
}

/// EXPIRE key seconds [NX|XX|GT|LT]; see [`expire_generic`].
fn expire(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let kind = ExpireKind {
        unit_ms: 1000,
        absolute: false,
        is_pexpireat: false,
    };
    expire_generic(ctx, argv, kind, "expire")
}

/// PEXPIRE key milliseconds [NX|XX|GT|LT]; see [`expire_generic`].
fn pexpire(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let kind = ExpireKind {
        unit_ms: 1,
        absolute: false,
        is_pexpireat: false,
    };
    expire_generic(ctx, argv, kind, "pexpire")
}

/// EXPIREAT key unix-seconds [NX|XX|GT|LT]; see [`expire_generic`].
fn expireat(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let kind = ExpireKind {
        unit_ms: 1000,
        absolute: true,
        is_pexpireat: false,
    };
    expire_generic(ctx, argv, kind, "expireat")
}

/// PEXPIREAT key unix-ms [NX|XX|GT|LT]; see [`expire_generic`].
fn pexpireat(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let kind = ExpireKind {
        unit_ms: 1,
        absolute: true,
        is_pexpireat: true,
    };
    expire_generic(ctx, argv, kind, "pexpireat")
}

fn ttl_generic(ctx: &mut Ctx<'_>, key: &[u8], in_ms: bool) -> CmdResult {
    let now = ctx.now_ms;
    let reply = match ctx.lookup_untouched(key) {
        None => -2,
        Some(entry) => match entry.expire_at_ms() {
            None => -1,
            Some(at) => {
                let left = at.saturating_sub(now) as i64;
                if in_ms {
                    left
                } else {
                    (left + 500) / 1000
                }
            }
        },
    };
    ctx.out.integer(reply);
    Ok(())
}

/// TTL key: seconds left (rounded), -1 without expiry, -2 when missing.
///
/// # Propagation
/// None.
fn ttl(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    ttl_generic(ctx, argv.get(1), false)
}

/// PTTL key: milliseconds left, -1 without expiry, -2 when missing.
///
/// # Propagation
/// None.
fn pttl(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    ttl_generic(ctx, argv.get(1), true)
}

fn expiretime_generic(ctx: &mut Ctx<'_>, key: &[u8], in_ms: bool) -> CmdResult {
    let reply = match ctx.lookup_untouched(key) {
        None => -2,
        Some(entry) => match entry.expire_at_ms() {
            None => -1,
            Some(at) if in_ms => at as i64,
            // Redis rounds to the nearest second, as TTL does.
            Some(at) => ((at + 500) / 1000) as i64,
        },
    };
    ctx.out.integer(reply);
    Ok(())
}

/// EXPIRETIME key: the absolute Unix time (seconds) at which the key
/// expires, -1 without expiry, -2 when missing.
///
/// # Propagation
/// None.
fn expiretime(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    expiretime_generic(ctx, argv.get(1), false)
}

/// PEXPIRETIME key: EXPIRETIME in milliseconds.
///
/// # Propagation
/// None.
fn pexpiretime(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    expiretime_generic(ctx, argv.get(1), true)
}

/// PERSIST key: removes the TTL; 1 if there was one.
///
/// # Propagation
/// Verbatim, when a TTL was removed.
fn persist(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let key = argv.get(1);
    let had_ttl = ctx.lookup(key).is_some_and(|e| e.expire_at_ms().is_some());
    if had_ttl {
        ctx.db().set_expiry(key, None);
        ctx.changed(1);
        ctx.notify(notify::GENERIC, "persist", key);
    }
    ctx.out.integer(had_ttl as i64);
    Ok(())
}
