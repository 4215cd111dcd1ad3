//! OBJECT ENCODING, REFCOUNT, IDLETIME, FREQ and HELP, and MEMORY USAGE:
//! what Redis 7.0 tells about how a value is stored.
//!
//! OBJECT ENCODING replies with the encoding kept next to each value
//! ([`crate::keyspace::Encoding`]), which the writing commands maintain as
//! Redis 7.0 does, from the same parameters (`set-max-intset-entries`,
//! `hash-max-listpack-entries`, `zset-max-listpack-value`, ...): a value
//! converts to its large encoding when a write takes it past a threshold
//! and never back, APPEND, SETRANGE and SETBIT leave a `raw` string, store
//! commands and RDB loads encode their result afresh, and CONFIG SET
//! re-encodes nothing.

use super::flags::*;
use super::{container, sub, CmdError, CmdResult, CommandSpec, Ctx};
use crate::keyspace::{Encoding, Value};
use crate::resp::{parse_i64, Argv};

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

/// OBJECT ENCODING key: how the value is stored (nil for a missing key).
///
/// # Propagation
/// None.
fn object_encoding(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let found = ctx.lookup_untouched(argv.get(2)).is_some();
    let db = ctx.client.db;
    let name = found
        .then(|| ctx.state.keyspace.db(db).get(argv.get(2)))
        .flatten()
        .map(|entry| entry.encoding().name());
    match name {
        Some(name) => ctx.out.bulk(name.as_bytes()),
        None => ctx.out.null(),
    }
    Ok(())
}

/// OBJECT REFCOUNT key: Redis's reference count. Values are never shared in
/// replsim, except that Redis shares the `int`-encoded integers 0 to 9999
/// (reported as `INT_MAX`), which replsim reports the same way (an integer
/// kept `raw` by APPEND or `embstr` by INCRBYFLOAT is not shared). Under a
/// `maxmemory` with an LRU or LFU policy Redis shares none, as each key
/// needs its own access stamp; replsim judges that by the settings when
/// asked, where Redis judges it when the value was created.
///
/// # Propagation
/// None.
fn object_refcount(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let settings = ctx.state.maxmemory;
    let unshared = settings.limit > 0 && settings.policy.tracks_access();
    let count = ctx
        .lookup_untouched(argv.get(2))
        .map(|entry| match &entry.value {
            Value::Str(s)
                if !unshared
                    && entry.encoding() == Encoding::Int
                    && parse_i64(s).is_some_and(|n| (0..10_000).contains(&n)) =>
            {
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

/// OBJECT IDLETIME key: seconds since the key was last read or written
/// (refused under an LFU policy, whose keys carry a counter instead).
///
/// # Propagation
/// None.
fn object_idletime(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let Some(access) = ctx.lookup_untouched(argv.get(2)).map(|e| e.access()) else {
        ctx.out.null();
        return Ok(());
    };
    if ctx.state.maxmemory.policy.is_lfu() {
        return Err(CmdError::err(
            "An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
        ));
    }
    let idle = crate::server::eviction::idle_ms(access, ctx.now_ms) / 1000;
    ctx.out.integer(idle as i64);
    Ok(())
}

/// OBJECT FREQ key: the key's LFU counter, decayed to now; only under an
/// LFU policy.
///
/// # Propagation
/// None.
fn object_freq(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let Some(access) = ctx.lookup_untouched(argv.get(2)).map(|e| e.access()) else {
        ctx.out.null();
        return Ok(());
    };
    let maxmemory = ctx.state.maxmemory;
    if !maxmemory.policy.is_lfu() {
        return Err(CmdError::err(
            "An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
        ));
    }
    ctx.out
        .integer(i64::from(maxmemory.lfu_counter(access, ctx.now_ms)));
    Ok(())
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
    let Some(entry) = ctx.lookup_untouched(key) else {
        ctx.out.null();
        return Ok(());
    };
    let bytes = estimated_bytes(key, &entry.value);
    ctx.out.integer(bytes as i64);
    Ok(())
}

/// The bytes a key and its value take, estimated (MEMORY USAGE, INFO's
/// `used_memory_dataset`): the data's own bytes plus a fixed overhead per
/// key and per element, not an allocator's count.
pub fn estimated_bytes(key: &[u8], value: &Value) -> usize {
    const KEY_OVERHEAD: usize = 56;
    const ELEMENT_OVERHEAD: usize = 16;
    let value_bytes = match &value {
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
    KEY_OVERHEAD + key.len() + value_bytes
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
