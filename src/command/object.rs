//! OBJECT ENCODING, REFCOUNT, IDLETIME, FREQ and HELP, and MEMORY USAGE:
//! what Redis 7.0 tells about how a value is stored.
//!
//! Encodings follow Redis 7.0's names and size thresholds, read from the
//! same parameters (`hash-max-listpack-entries`, `zset-max-listpack-value`,
//! `set-max-intset-entries`, ...). replsim computes the encoding from the
//! value as it is now; Redis converts a value to its large encoding once
//! and never back, so a value that grew past a threshold and shrank again
//! reports the small encoding here (see the README).

use super::flags::*;
use super::{container, sub, CmdError, CmdResult, CommandSpec, Ctx};
use crate::keyspace::Value;
use crate::resp::{parse_i64, Argv};
use crate::server::Config;

pub(super) static COMMANDS: &[CommandSpec] = &[
    container("object", -2, 0, OBJECT_SUBCOMMANDS),
    container("memory", -2, 0, MEMORY_SUBCOMMANDS),
];

static MEMORY_SUBCOMMANDS: &[CommandSpec] = &[
    with_key(sub("memory", "usage", -3, READONLY, memory_usage)),
    sub("memory", "help", 2, LOADING | STALE, memory_help),
];

static OBJECT_SUBCOMMANDS: &[CommandSpec] = &[
    with_key(sub("object", "encoding", 3, READONLY, object_encoding)),
    with_key(sub("object", "refcount", 3, READONLY, object_refcount)),
    with_key(sub("object", "idletime", 3, READONLY, object_idletime)),
    with_key(sub("object", "freq", 3, READONLY, object_freq)),
    sub("object", "help", 2, LOADING | STALE, object_help),
];

/// The subcommand's key is its second argument.
const fn with_key(spec: CommandSpec) -> CommandSpec {
    CommandSpec {
        first_key: 2,
        last_key: 2,
        key_step: 1,
        ..spec
    }
}

/// Strings up to this length are `embstr` in Redis (one allocation with
/// the object header).
const EMBSTR_MAX_LEN: usize = 44;

/// The name Redis 7.0 gives the encoding of `value` under `config`.
pub fn encoding(value: &Value, config: &Config) -> &'static str {
    let within = |len: usize, name: &str| len as i64 <= config.number(name);
    match value {
        Value::Str(s) => {
            if s.len() <= 20 && parse_i64(s).is_some() {
                "int"
            } else if s.len() <= EMBSTR_MAX_LEN {
                "embstr"
            } else {
                "raw"
            }
        }
        // Redis 7.0 keeps every list as a quicklist (of listpack nodes).
        Value::List(_) => "quicklist",
        Value::Stream(_) => "stream",
        Value::Set(set) => {
            if within(set.len(), "set-max-intset-entries")
                && set.iter().all(|m| parse_i64(m).is_some())
            {
                "intset"
            } else {
                "hashtable"
            }
        }
        Value::Hash(hash) => {
            let max_value = config.number("hash-max-listpack-value");
            if within(hash.len(), "hash-max-listpack-entries")
                && hash
                    .iter()
                    .all(|(f, v)| f.len() as i64 <= max_value && v.len() as i64 <= max_value)
            {
                "listpack"
            } else {
                "hashtable"
            }
        }
        Value::ZSet(zset) => {
            let max_value = config.number("zset-max-listpack-value");
            if within(zset.len(), "zset-max-listpack-entries")
                && zset.iter().all(|(m, _)| m.len() as i64 <= max_value)
            {
                "listpack"
            } else {
                "skiplist"
            }
        }
    }
}

/// OBJECT ENCODING key: how the value is stored (nil for a missing key).
///
/// # Propagation
/// None.
fn object_encoding(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let found = ctx.lookup(argv.get(2)).is_some();
    let db = ctx.client.db;
    let name = found
        .then(|| ctx.state.keyspace.db(db).get(argv.get(2)))
        .flatten()
        .map(|entry| encoding(&entry.value, &ctx.state.config));
    match name {
        Some(name) => ctx.out.bulk(name.as_bytes()),
        None => ctx.out.null(),
    }
    Ok(())
}

/// OBJECT REFCOUNT key: Redis's reference count. Values are never shared in
/// replsim, except that Redis shares the integers 0 to 9999 (reported as
/// `INT_MAX`), which replsim reports the same way.
///
/// # Propagation
/// None.
fn object_refcount(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let count = ctx.lookup(argv.get(2)).map(|entry| match &entry.value {
        Value::Str(s) if parse_i64(s).is_some_and(|n| (0..10_000).contains(&n)) => {
            i64::from(i32::MAX)
        }
        _ => 1,
    });
    match count {
        Some(count) => ctx.out.integer(count),
        None => ctx.out.null(),
    }
    Ok(())
}

/// OBJECT IDLETIME key: seconds since the key was last accessed. replsim
/// does not track access times and replies 0 for an existing key.
///
/// # Propagation
/// None.
fn object_idletime(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    if ctx.lookup(argv.get(2)).is_none() {
        ctx.out.null();
        return Ok(());
    }
    if ctx
        .state
        .config
        .others
        .get("maxmemory-policy")
        .is_some_and(|p| p.contains("lfu"))
    {
        return Err(CmdError::err(
            "An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
        ));
    }
    ctx.out.integer(0);
    Ok(())
}

/// OBJECT FREQ key: Redis's LFU counter, only with an LFU policy; replsim
/// has no eviction and refuses it as Redis does without one.
///
/// # Propagation
/// None.
fn object_freq(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    if ctx.lookup(argv.get(2)).is_none() {
        ctx.out.null();
        return Ok(());
    }
    Err(CmdError::err(
        "An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
    ))
}

/// OBJECT HELP: the subcommands.
///
/// # Propagation
/// None.
fn object_help(ctx: &mut Ctx<'_>, _argv: Argv<'_>) -> CmdResult {
    super::server_cmds::reply_help(
        ctx,
        "OBJECT",
        &[
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
        ],
    );
    Ok(())
}

/// MEMORY USAGE key [SAMPLES count]: an estimate of the bytes the key and
/// its value take (nil for a missing key). replsim counts the bytes of the
/// key and of every element plus a fixed overhead per element and per key
/// (about what Redis's object headers and dict entries cost); it is not
/// Redis's allocator figure.
///
/// # Propagation
/// None.
fn memory_usage(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    if argv.len() != 3
        && !(argv.len() == 5
            && argv.get(3).eq_ignore_ascii_case(b"samples")
            && super::int_arg(argv.get(4)).is_ok())
    {
        if argv.len() == 5 && argv.get(3).eq_ignore_ascii_case(b"samples") {
            return Err(CmdError::NotInteger);
        }
        return Err(CmdError::Syntax);
    }
    let key = argv.get(2);
    let Some(entry) = ctx.lookup(key) else {
        ctx.out.null();
        return Ok(());
    };
    const KEY_OVERHEAD: usize = 56;
    const ELEMENT_OVERHEAD: usize = 16;
    let value_bytes = match &entry.value {
        Value::Str(s) => s.len(),
        Value::List(list) => list.iter().map(|e| e.len() + ELEMENT_OVERHEAD).sum(),
        Value::Set(set) => set.iter().map(|e| e.len() + ELEMENT_OVERHEAD).sum(),
        Value::Hash(hash) => hash
            .iter()
            .map(|(f, v)| f.len() + v.len() + 2 * ELEMENT_OVERHEAD)
            .sum(),
        Value::ZSet(zset) => zset
            .iter()
            .map(|(m, _)| m.len() + 8 + 2 * ELEMENT_OVERHEAD)
            .sum(),
        Value::Stream(stream) => stream
            .iter()
            .map(|e| {
                ELEMENT_OVERHEAD
                    + e.pairs
                        .iter()
                        .map(|(f, v)| f.len() + v.len() + 2)
                        .sum::<usize>()
            })
            .sum(),
    };
    ctx.out
        .integer((KEY_OVERHEAD + key.len() + value_bytes) as i64);
    Ok(())
}

/// MEMORY HELP: the subcommands replsim has.
///
/// # Propagation
/// None.
fn memory_help(ctx: &mut Ctx<'_>, _argv: Argv<'_>) -> CmdResult {
    super::server_cmds::reply_help(
        ctx,
        "MEMORY",
        &[
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
        ],
    );
    Ok(())
}
