//! String commands: GET GETEX SET SETEX PSETEX SETNX GETSET GETDEL MGET MSET
//! MSETNX APPEND STRLEN SETRANGE GETRANGE SUBSTR LCS INCR DECR INCRBY DECRBY
//! INCRBYFLOAT. The bit commands on strings are in `bits`.

use super::flags::*;
use super::{int_arg, spec, CmdError, CmdResult, CommandSpec, Ctx, KEY1};
use crate::keyspace::{blob, Blob, Encoding, Value};
use crate::resp::{parse_i64, Argv};
use crate::server::pubsub::notify;

pub(super) static COMMANDS: &[CommandSpec] = &[
    spec("get", 2, READONLY | FAST, KEY1, get),
    spec("set", -3, WRITE | DENYOOM, KEY1, set),
    spec("setex", 4, WRITE | DENYOOM, KEY1, setex),
    spec("psetex", 4, WRITE | DENYOOM, KEY1, psetex),
    spec("setnx", 3, WRITE | DENYOOM | FAST, KEY1, setnx),
    spec("getset", 3, WRITE | DENYOOM | FAST, KEY1, getset),
    spec("getdel", 2, WRITE | FAST, KEY1, getdel),
    spec("getex", -2, WRITE | FAST, KEY1, getex),
    spec("mget", -2, READONLY | FAST, (1, -1, 1), mget),
    spec("mset", -3, WRITE | DENYOOM, (1, -1, 2), mset),
    spec("append", 3, WRITE | DENYOOM | FAST, KEY1, append),
    spec("strlen", 2, READONLY | FAST, KEY1, strlen),
    spec("incr", 2, WRITE | DENYOOM | FAST, KEY1, incr),
    spec("decr", 2, WRITE | DENYOOM | FAST, KEY1, decr),
    spec("incrby", 3, WRITE | DENYOOM | FAST, KEY1, incrby),
    spec("decrby", 3, WRITE | DENYOOM | FAST, KEY1, decrby),
    spec("incrbyfloat", 3, WRITE | DENYOOM | FAST, KEY1, incrbyfloat),
    spec("msetnx", -3, WRITE | DENYOOM, (1, -1, 2), msetnx),
    spec("setrange", 4, WRITE | DENYOOM, KEY1, setrange),
    spec("getrange", 4, READONLY, KEY1, getrange),
    spec("substr", 4, READONLY, KEY1, getrange),
    spec("lcs", -3, READONLY, (1, 2, 1), lcs),
];

impl Ctx<'_> {
    /// The string at `key`; `WRONGTYPE` for another type.
    pub fn read_string(&mut self, key: &[u8]) -> Result<Option<&Blob>, CmdError> {
        match self.lookup(key) {
            None => Ok(None),
            Some(entry) => match &entry.value {
                Value::Str(s) => Ok(Some(s)),
                _ => Err(CmdError::WrongType),
            },
        }
    }
}

/// GET key: the string value, or nil.
///
/// # Propagation
/// None (read-only). A master that finds the key expired deletes it and
/// propagates `DEL key`.
fn get(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let value = ctx.read_string(argv.get(1))?.cloned();
    ctx.out.bulk_opt(value.as_deref());
    Ok(())
}

/// Options of SET.
#[derive(Default)]
struct SetOptions<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    keep_ttl: bool,
    /// The expiry option's name (upper case) and argument.
    expire: Option<(&'static str, &'a [u8])>,
}

/// Parses SET's options the way Redis does: a unit may repeat (the last
/// wins) but never mix with another unit or KEEPTTL; the expiry value is
/// checked only once every option parsed.
fn parse_set_options<'a>(argv: Argv<'a>) -> Result<SetOptions<'a>, CmdError> {
    let mut opts = SetOptions::default();
    let mut i = 3;
    while i < argv.len() {
        let arg = argv.get(i).to_ascii_uppercase();
        let next = (i + 1 < argv.len()).then(|| argv.get(i + 1));
        let unit = opts.expire.map(|(u, _)| u);
        match (arg.as_slice(), next) {
            (b"NX", _) if !opts.xx => opts.nx = true,
            (b"XX", _) if !opts.nx => opts.xx = true,
            (b"GET", _) => opts.get = true,
            (b"KEEPTTL", _) if unit.is_none() => opts.keep_ttl = true,
            (name @ (b"EX" | b"PX" | b"EXAT" | b"PXAT"), Some(value)) if !opts.keep_ttl => {
                let name = match name {
                    b"EX" => "EX",
                    b"PX" => "PX",
                    b"EXAT" => "EXAT",
                    _ => "PXAT",
                };
                if unit.is_some_and(|u| u != name) {
                    return Err(CmdError::Syntax);
                }
                opts.expire = Some((name, value));
                i += 1;
            }
            _ => return Err(CmdError::Syntax),
        }
        i += 1;
    }
    Ok(opts)
}

/// Turns a relative or absolute expiry argument into absolute ms, with
/// Redis's "invalid expire time" checks.
fn expire_at(
    ctx: &Ctx<'_>,
    arg: &[u8],
    unit_ms: i64,
    absolute: bool,
    command: &str,
) -> Result<u64, CmdError> {
    let n = int_arg(arg)?;
    let invalid = || CmdError::err(format!("invalid expire time in '{command}' command"));
    if n <= 0 {
        return Err(invalid());
    }
    let ms = n.checked_mul(unit_ms).ok_or_else(invalid)?;
    let at = if absolute {
        ms
    } else {
        ms.checked_add(ctx.now_ms as i64).ok_or_else(invalid)?
    };
    Ok(at as u64)
}

/// SET key value [NX|XX] [GET] [EX s|PX ms|EXAT ts|PXAT ms-ts|KEEPTTL]:
/// stores the value, dropping any old TTL unless KEEPTTL. NX/XX make it
/// conditional (nil when not done); GET replies with the old value (WRONGTYPE
/// if it is not a string).
///
/// # Propagation
/// With any expiry option: `SET key value PXAT <abs ms>` (NX/XX/GET
/// dropped), so that replicas expire at the same instant. Otherwise
/// verbatim without GET. Nothing when NX/XX prevented the write.
fn set(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let opts = parse_set_options(argv)?;
    let expire_at_ms = match opts.expire {
        None => None,
        Some((unit, value)) => {
            let (unit_ms, absolute) = match unit {
                "EX" => (1000, false),
                "PX" => (1, false),
                "EXAT" => (1000, true),
                _ => (1, true),
            };
            Some(expire_at(ctx, value, unit_ms, absolute, "set")?)
        }
    };
    let key = argv.get(1);
    let old = if opts.get {
        Some(ctx.read_string(key)?.cloned())
    } else {
        None
    };
    // Always looked up, as Redis's setKey does: an expired key is deleted
    // (and the DEL propagated) before it is overwritten.
    let exists = ctx.lookup(key).is_some();
    if (opts.nx && exists) || (opts.xx && !exists) {
        match old {
            Some(old) => ctx.out.bulk_opt(old.as_deref()),
            None => ctx.out.null(),
        }
        return Ok(());
    }
    let value = Value::Str(blob(argv.get(2)));
    if opts.keep_ttl {
        ctx.db().insert_keep_ttl(key, value);
    } else {
        ctx.db().insert_with_expiry(key, value, expire_at_ms);
    }
    ctx.changed(1);
    ctx.notify(notify::STRING, "set", key);
    if expire_at_ms.is_some() {
        ctx.notify(notify::GENERIC, "expire", key);
    }
    if let Some(at) = expire_at_ms {
        ctx.rewrite(&[b"SET", key, argv.get(2), b"PXAT", at.to_string().as_bytes()]);
    } else if opts.get {
        let without_get: Vec<&[u8]> = argv
            .iter()
            .enumerate()
            .filter(|(i, arg)| *i < 3 || !arg.eq_ignore_ascii_case(b"GET"))
            .map(|(_, arg)| arg)
            .collect();
        ctx.rewrite(&without_get);
    }
    match old {
        Some(old) => ctx.out.bulk_opt(old.as_deref()),
        None => ctx.out.ok(),
    }
    Ok(())
}

fn set_with_expiry(ctx: &mut Ctx<'_>, argv: Argv<'_>, unit_ms: i64, command: &str) -> CmdResult {
    let at = expire_at(ctx, argv.get(2), unit_ms, false, command)?;
    let key = argv.get(1);
    ctx.db()
        .insert_with_expiry(key, Value::Str(blob(argv.get(3))), Some(at));
    ctx.changed(1);
    ctx.notify(notify::STRING, "set", key);
    ctx.notify(notify::GENERIC, "expire", key);
    ctx.rewrite(&[b"SET", key, argv.get(3), b"PXAT", at.to_string().as_bytes()]);
    ctx.out.ok();
    Ok(())
}

/// SETEX key seconds value: SET with a TTL in seconds.
///
/// # Propagation
/// `SET key value PXAT <abs ms>`.
fn setex(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    set_with_expiry(ctx, argv, 1000, "setex")
}

/// PSETEX key milliseconds value: SET with a TTL in ms.
///
/// # Propagation
/// `SET key value PXAT <abs ms>`.
fn psetex(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    set_with_expiry(ctx, argv, 1, "psetex")
}

/// SETNX key value: sets only when the key does not exist; 1 if set, else 0.
///
/// # Propagation
/// Verbatim, only when it set the key.
fn setnx(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let key = argv.get(1);
    if ctx.lookup(key).is_some() {
        ctx.out.integer(0);
        return Ok(());
    }
    ctx.db().insert(key, Value::Str(blob(argv.get(2))));
    ctx.changed(1);
    ctx.notify(notify::STRING, "set", key);
    ctx.out.integer(1);
    Ok(())
}

/// GETSET key value: sets the value (dropping the TTL) and replies with the
/// old one (nil if none; WRONGTYPE if not a string).
///
/// # Propagation
/// `SET key value`.
fn getset(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let key = argv.get(1);
    let old = ctx.read_string(key)?.cloned();
    ctx.db().insert(key, Value::Str(blob(argv.get(2))));
    ctx.changed(1);
    ctx.notify(notify::STRING, "set", key);
    ctx.rewrite(&[b"SET", key, argv.get(2)]);
    ctx.out.bulk_opt(old.as_deref());
    Ok(())
}

/// GETDEL key: replies with the string value and deletes the key.
///
/// # Propagation
/// `DEL key`, when a key was deleted.
fn getdel(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let key = argv.get(1);
    let Some(value) = ctx.read_string(key)?.cloned() else {
        ctx.out.null();
        return Ok(());
    };
    ctx.db().remove(key);
    ctx.changed(1);
    ctx.notify(notify::GENERIC, "del", key);
    ctx.rewrite(&[b"DEL", key]);
    ctx.out.bulk(&value);
    Ok(())
}

/// GETEX key [EX s|PX ms|EXAT ts|PXAT ms-ts|PERSIST]: GET that also sets
/// or removes the key's TTL. An absolute time already past deletes the key
/// (after replying with its value).
///
/// # Propagation
/// Never verbatim: `PEXPIREAT key <abs ms>` for an expiry option, `DEL key`
/// when the time was already past, `PERSIST key` when PERSIST removed a
/// TTL; nothing for a plain GETEX.
fn getex(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let mut expire: Option<(&[u8], i64, bool)> = None;
    let mut persist = false;
    let mut i = 2;
    while i < argv.len() {
        let option = argv.get(i).to_ascii_uppercase();
        let next = (i + 1 < argv.len()).then(|| argv.get(i + 1));
        match (option.as_slice(), next) {
            (b"PERSIST", _) if expire.is_none() => persist = true,
            (unit @ (b"EX" | b"PX" | b"EXAT" | b"PXAT"), Some(value)) if !persist => {
                let (unit_ms, absolute) = match unit {
                    b"EX" => (1000, false),
                    b"PX" => (1, false),
                    b"EXAT" => (1000, true),
                    _ => (1, true),
                };
                if expire.is_some_and(|(_, u, a)| (u, a) != (unit_ms, absolute)) {
                    return Err(CmdError::Syntax);
                }
                expire = Some((value, unit_ms, absolute));
                i += 1;
            }
            _ => return Err(CmdError::Syntax),
        }
        i += 1;
    }
    let key = argv.get(1);
    let Some(value) = ctx.read_string(key)?.cloned() else {
        ctx.out.null();
        return Ok(());
    };
    let at = match expire {
        Some((arg, unit_ms, absolute)) => {
            Some((expire_at(ctx, arg, unit_ms, absolute, "getex")?, absolute))
        }
        None => None,
    };
    ctx.out.bulk(&value);
    match at {
        Some((at, true)) if at <= ctx.now_ms && !ctx.client.is_master => {
            ctx.db().remove(key);
            ctx.changed(1);
            ctx.notify(notify::GENERIC, "del", key);
            ctx.rewrite(&[b"DEL", key]);
        }
        Some((at, _)) => {
            ctx.db().set_expiry(key, Some(at));
            ctx.changed(1);
            ctx.notify(notify::GENERIC, "expire", key);
            ctx.rewrite(&[b"PEXPIREAT", key, at.to_string().as_bytes()]);
        }
        None if persist => {
            let had_ttl = ctx
                .db()
                .get(key)
                .is_some_and(|e| e.expire_at_ms().is_some());
            if had_ttl {
                ctx.db().set_expiry(key, None);
                ctx.changed(1);
                ctx.notify(notify::GENERIC, "persist", key);
                ctx.rewrite(&[b"PERSIST", key]);
            }
        }
        None => {}
    }
    Ok(())
}

/// MGET key [key ...]: the values, nil for a missing key or a non-string.
///
/// # Propagation
/// None.
fn mget(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    ctx.out.array(argv.len() - 1);
    for key in argv.iter().skip(1) {
        let value = match ctx.lookup(key) {
            Some(entry) => match &entry.value {
                Value::Str(s) => Some(s.clone()),
                _ => None,
            },
            None => None,
        };
        ctx.out.bulk_opt(value.as_deref());
    }
    Ok(())
}

/// MSET key value [key value ...]: sets every pair (TTLs dropped).
///
/// # Propagation
/// Verbatim.
fn mset(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    if argv.len() % 2 == 0 {
        return Err(CmdError::err(
            "wrong number of arguments for 'mset' command",
        ));
    }
    for pair in (1..argv.len()).step_by(2) {
        ctx.db()
            .insert(argv.get(pair), Value::Str(blob(argv.get(pair + 1))));
        ctx.notify(notify::STRING, "set", argv.get(pair));
    }
    ctx.changed((argv.len() / 2) as u64);
    ctx.out.ok();
    Ok(())
}

/// MSETNX key value [key value ...]: sets every pair (dropping TTLs) only
/// when none of the keys exists; 1 if set, 0 otherwise.
///
/// # Propagation
/// Verbatim, when set.
fn msetnx(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    if argv.len() % 2 == 0 {
        return Err(CmdError::err(
            "wrong number of arguments for 'msetnx' command",
        ));
    }
    for pair in (1..argv.len()).step_by(2) {
        if ctx.lookup(argv.get(pair)).is_some() {
            ctx.out.integer(0);
            return Ok(());
        }
    }
    for pair in (1..argv.len()).step_by(2) {
        ctx.db()
            .insert(argv.get(pair), Value::Str(blob(argv.get(pair + 1))));
        ctx.notify(notify::STRING, "set", argv.get(pair));
    }
    ctx.changed((argv.len() / 2) as u64);
    ctx.out.integer(1);
    Ok(())
}

/// SETRANGE key offset value: overwrites the string from offset on,
/// zero-padding it (creating the key) as needed; replies with the new
/// length. An empty value changes nothing (and creates no key).
///
/// # Propagation
/// Verbatim, when the string changed.
fn setrange(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let key = argv.get(1);
    let offset = int_arg(argv.get(2))?;
    if offset < 0 {
        return Err(CmdError::err("offset is out of range"));
    }
    let offset = offset as usize;
    let value = argv.get(3);
    let current_len = ctx.read_string(key)?.map(|s| s.len());
    if value.is_empty() {
        ctx.out.integer(current_len.unwrap_or(0) as i64);
        return Ok(());
    }
    if !ctx.client.is_master {
        check_string_size(offset.saturating_add(value.len()))?;
    }
    if current_len.is_none() {
        ctx.db().insert(key, Value::Str(Blob::new()));
    }
    let Some(Value::Str(s)) = ctx.db().value_mut(key) else {
        unreachable!("a string by now");
    };
    let end = offset + value.len();
    if s.len() < end {
        s.resize(end, 0);
    }
    s[offset..end].copy_from_slice(value);
    let len = s.len();
    // A new string is made raw, an old one unshared into a raw one.
    ctx.db().set_encoding(key, Encoding::Raw);
    ctx.changed(1);
    ctx.notify(notify::STRING, "setrange", key);
    ctx.out.integer(len as i64);
    Ok(())
}

/// GETRANGE key start end (and its old name SUBSTR): the substring between
/// two inclusive offsets, negative ones counting from the end.
///
/// # Propagation
/// None.
fn getrange(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let (mut start, mut end) = (int_arg(argv.get(2))?, int_arg(argv.get(3))?);
    let value = ctx.read_string(argv.get(1))?.cloned().unwrap_or_default();
    let len = value.len() as i64;
    if start < 0 && end < 0 && start > end {
        ctx.out.bulk(b"");
        return Ok(());
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        ctx.out.bulk(b"");
    } else {
        ctx.out.bulk(&value[start as usize..=end as usize]);
    }
    Ok(())
}

/// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]: the longest
/// common subsequence of two strings (missing keys are empty strings): the
/// subsequence itself, its length (LEN), or the matching ranges walked from
/// the ends as Redis walks them (IDX, with each range's length under
/// WITHMATCHLEN, ranges shorter than MINMATCHLEN left out).
///
/// # Propagation
/// None.
fn lcs(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let not_strings = || CmdError::err("The specified keys must contain string values");
    let a = ctx
        .read_string(argv.get(1))
        .map_err(|_| not_strings())?
        .cloned()
        .unwrap_or_default();
    let b = ctx
        .read_string(argv.get(2))
        .map_err(|_| not_strings())?
        .cloned()
        .unwrap_or_default();
    let (mut getlen, mut getidx, mut withmatchlen) = (false, false, false);
    let mut minmatchlen: i64 = 0;
    let mut i = 3;
    while i < argv.len() {
        let option = argv.get(i).to_ascii_uppercase();
        match option.as_slice() {
            b"IDX" => getidx = true,
            b"LEN" => getlen = true,
            b"WITHMATCHLEN" => withmatchlen = true,
            b"MINMATCHLEN" if i + 1 < argv.len() => {
                minmatchlen = int_arg(argv.get(i + 1))?.max(0);
                i += 1;
            }
            _ => return Err(CmdError::Syntax),
        }
        i += 1;
    }
    if getlen && getidx {
        return Err(CmdError::err(
            "If you want both the length and indexes, please just use IDX.",
        ));
    }
    let (alen, blen) = (a.len(), b.len());
    let cells = (alen as u64 + 1) * (blen as u64 + 1);
    if cells.saturating_mul(4) > ctx.state.config.proto_max_bulk_len {
        return Err(CmdError::err(
            "Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        ));
    }
    // table[i * (blen + 1) + j]: LCS length of a[..i] and b[..j].
    let width = blen + 1;
    let mut table = vec![0u32; cells as usize];
    for i in 1..=alen {
        for j in 1..=blen {
            table[i * width + j] = if a[i - 1] == b[j - 1] {
                table[(i - 1) * width + j - 1] + 1
            } else {
                table[(i - 1) * width + j].max(table[i * width + j - 1])
            };
        }
    }
    let total = table[alen * width + blen];
    if getlen {
        ctx.out.integer(i64::from(total));
        return Ok(());
    }
    // Walk back from the ends; `range` is the current contiguous match
    // (a start, a end, b start, b end), emitted when it cannot grow.
    let mut result = vec![0u8; total as usize];
    let mut ranges: Vec<(usize, usize, usize, usize)> = Vec::new();
    let mut range: Option<(usize, usize, usize, usize)> = None;
    let (mut i, mut j, mut left) = (alen, blen, total as usize);
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            result[left - 1] = a[i - 1];
            match &mut range {
                None => range = Some((i - 1, i - 1, j - 1, j - 1)),
                Some((a_start, _, b_start, _)) if *a_start == i && *b_start == j => {
                    *a_start -= 1;
                    *b_start -= 1;
                }
                // Not contiguous: the current range ends here (and this
                // match starts none, as in Redis).
                Some(_) => emit = true,
            }
            if range.is_some_and(|(a_start, _, b_start, _)| a_start == 0 || b_start == 0) {
                emit = true;
            }
            left -= 1;
            i -= 1;
            j -= 1;
        } else {
            if table[(i - 1) * width + j] > table[i * width + j - 1] {
                i -= 1;
            } else {
                j -= 1;
            }
            emit = range.is_some();
        }
        if emit {
            if let Some(r) = range.take() {
                let len = r.1 - r.0 + 1;
                if minmatchlen == 0 || len as i64 >= minmatchlen {
                    ranges.push(r);
                }
            }
        }
    }
    if !getidx {
        ctx.out.bulk(&result);
        return Ok(());
    }
    ctx.out.map(2);
    ctx.out.bulk(b"matches");
    ctx.out.array(ranges.len());
    for (a_start, a_end, b_start, b_end) in ranges {
        ctx.out.array(2 + usize::from(withmatchlen));
        ctx.out.array(2);
        ctx.out.integer(a_start as i64);
        ctx.out.integer(a_end as i64);
        ctx.out.array(2);
        ctx.out.integer(b_start as i64);
        ctx.out.integer(b_end as i64);
        if withmatchlen {
            ctx.out.integer((a_end - a_start + 1) as i64);
        }
    }
    ctx.out.bulk(b"len");
    ctx.out.integer(i64::from(total));
    Ok(())
}

/// APPEND key value: appends to the string (creating it); replies with the
/// new length.
///
/// # Propagation
/// Verbatim.
fn append(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let key = argv.get(1);
    let suffix = argv.get(2);
    check_string_size(ctx.read_string(key)?.map_or(0, |s| s.len()) + suffix.len())?;
    let len = match ctx.lookup_mut(key) {
        Some(Value::Str(s)) => {
            s.extend_from_slice(suffix);
            let len = s.len();
            // Redis unshares the string into a raw one before appending.
            ctx.db().set_encoding(key, Encoding::Raw);
            len
        }
        _ => {
            ctx.db().insert(key, Value::Str(blob(suffix)));
            suffix.len()
        }
    };
    ctx.changed(1);
    ctx.notify(notify::STRING, "append", key);
    ctx.out.integer(len as i64);
    Ok(())
}

fn check_string_size(len: usize) -> CmdResult {
    if len as u64 > crate::resp::DEFAULT_MAX_BULK_BYTES {
        return Err(CmdError::err(
            "string exceeds maximum allowed size (proto-max-bulk-len)",
        ));
    }
    Ok(())
}

/// STRLEN key: length of the string, 0 if missing.
///
/// # Propagation
/// None.
fn strlen(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let len = ctx.read_string(argv.get(1))?.map_or(0, |s| s.len());
    ctx.out.integer(len as i64);
    Ok(())
}

/// Shared body of INCR/DECR/INCRBY/DECRBY: the stored value must be a
/// 64-bit integer in Redis's strict form; overflow is an error. The TTL is
/// kept.
fn incr_by(ctx: &mut Ctx<'_>, key: &[u8], delta: i64) -> CmdResult {
    let current = match ctx.read_string(key)? {
        Some(s) => parse_i64(s).ok_or(CmdError::NotInteger)?,
        None => 0,
    };
    let next = current.checked_add(delta).ok_or(CmdError::Overflow)?;
    let text = itoa::Buffer::new().format(next).as_bytes().to_vec();
    ctx.db().insert_keep_ttl(key, Value::Str(blob(&text)));
    ctx.changed(1);
    ctx.notify(notify::STRING, "incrby", key);
    ctx.out.integer(next);
    Ok(())
}

/// INCR key: adds 1 (missing key counts as 0); replies with the new value.
///
/// # Propagation
/// Verbatim.
fn incr(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    incr_by(ctx, argv.get(1), 1)
}

/// DECR key: subtracts 1.
///
/// # Propagation
/// Verbatim.
fn decr(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    incr_by(ctx, argv.get(1), -1)
}

/// INCRBY key increment.
///
/// # Propagation
/// Verbatim.
fn incrby(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let delta = int_arg(argv.get(2))?;
    incr_by(ctx, argv.get(1), delta)
}

/// DECRBY key decrement (`i64::MIN` is refused: it cannot be negated).
///
/// # Propagation
/// Verbatim.
fn decrby(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let delta = int_arg(argv.get(2))?;
    if delta == i64::MIN {
        return Err(CmdError::err("decrement would overflow"));
    }
    incr_by(ctx, argv.get(1), -delta)
}

/// INCRBYFLOAT key increment: adds in 80-bit extended precision (Redis's
/// `long double`) and stores the result printed as `%.17Lf` without trailing
/// zeros; the TTL is kept. NaN or infinity is refused.
///
/// # Propagation
/// `SET key <result> KEEPTTL`, so that replicas store exactly the master's
/// digits.
fn incrbyfloat(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let key = argv.get(1);
    let current = match ctx.read_string(key)? {
        Some(s) => crate::longdouble::LongDouble::parse(s).ok_or(CmdError::NotFloat)?,
        None => crate::longdouble::LongDouble::ZERO,
    };
    let overflow = || CmdError::err("increment would produce NaN or Infinity");
    let increment = match crate::longdouble::LongDouble::parse(argv.get(2)) {
        Some(increment) => increment,
        // strtold accepts infinity; the sum then cannot be stored.
        None if crate::longdouble::is_infinity(argv.get(2)) => return Err(overflow()),
        None => return Err(CmdError::NotFloat),
    };
    let sum = current.add(&increment).ok_or_else(overflow)?;
    let text = sum.to_human_string();
    ctx.db()
        .insert_keep_ttl(key, Value::Str(blob(text.as_bytes())));
    // `createStringObjectFromLongDouble`: embstr or raw, never int.
    ctx.db()
        .set_encoding(key, Encoding::of_string_not_int(text.len()));
    ctx.changed(1);
    ctx.notify(notify::STRING, "incrbyfloat", key);
    ctx.rewrite(&[b"SET", key, text.as_bytes(), b"KEEPTTL"]);
    ctx.out.bulk(text.as_bytes());
    Ok(())
}
