//! Sorted-set commands: ZADD ZREM ZSCORE ZMSCORE ZRANGE (and the older
//! ZREVRANGE, ZRANGEBYSCORE, ZREVRANGEBYSCORE, ZRANGEBYLEX, ZREVRANGEBYLEX)
//! ZCARD ZCOUNT ZLEXCOUNT ZRANK ZREVRANK ZINCRBY ZPOPMIN ZPOPMAX
//! ZREMRANGEBYRANK ZREMRANGEBYSCORE ZREMRANGEBYLEX.

use crate::server::pubsub::notify;
use std::ops::Bound;

use super::flags::*;
use super::lists::{normalise_range, remove_if_empty};
use super::{float_arg, int_arg, parse_float, spec, CmdError, CmdResult, CommandSpec, Ctx, KEY1};
use crate::keyspace::{Encoding, Value, ZSet};
use crate::resp::{Argv, OwnedArgv};

pub(super) static COMMANDS: &[CommandSpec] = &[
    spec("zadd", -4, WRITE | DENYOOM | FAST, KEY1, zadd),
    spec("zrem", -3, WRITE | FAST, KEY1, zrem),
    spec("zscore", 3, READONLY | FAST, KEY1, zscore),
    spec("zrange", -4, READONLY, KEY1, zrange),
    spec("zrangestore", -5, WRITE | DENYOOM, (1, 2, 1), zrangestore),
    spec("zrandmember", -2, READONLY, KEY1, zrandmember),
    spec("zcard", 2, READONLY | FAST, KEY1, zcard),
    spec("zincrby", 4, WRITE | DENYOOM | FAST, KEY1, zincrby),
    spec("zrevrange", -4, READONLY, KEY1, zrevrange),
    spec("zrangebyscore", -4, READONLY, KEY1, zrangebyscore),
    spec("zrevrangebyscore", -4, READONLY, KEY1, zrevrangebyscore),
    spec("zrangebylex", -4, READONLY, KEY1, zrangebylex),
    spec("zrevrangebylex", -4, READONLY, KEY1, zrevrangebylex),
    spec("zcount", 4, READONLY | FAST, KEY1, zcount),
    spec("zlexcount", 4, READONLY | FAST, KEY1, zlexcount),
    spec("zrank", 3, READONLY | FAST, KEY1, zrank),
    spec("zrevrank", 3, READONLY | FAST, KEY1, zrevrank),
    spec("zmscore", -3, READONLY | FAST, KEY1, zmscore),
    spec("zpopmin", -2, WRITE | FAST, KEY1, zpopmin),
    spec("zpopmax", -2, WRITE | FAST, KEY1, zpopmax),
    spec("zremrangebyrank", 4, WRITE, KEY1, zremrangebyrank),
    spec("zremrangebyscore", 4, WRITE, KEY1, zremrangebyscore),
    spec("zremrangebylex", 4, WRITE, KEY1, zremrangebylex),
];

fn read_zset<'c>(ctx: &'c mut Ctx<'_>, key: &[u8]) -> Result<Option<&'c ZSet>, CmdError> {
    match ctx.lookup(key).map(|e| &e.value) {
        None => Ok(None),
        Some(Value::ZSet(zset)) => Ok(Some(zset)),
        Some(_) => Err(CmdError::WrongType),
    }
}

fn zset_mut<'c>(ctx: &'c mut Ctx<'_>, key: &[u8]) -> Option<&'c mut ZSet> {
    match ctx.db().value_mut(key) {
        Some(Value::ZSet(zset)) => Some(zset),
        _ => None,
    }
}

/// A listpack stores a score of `-0` as the integer 0 (`zzlInsertAt`):
/// after ZADD wrote `members`, those still in a listpack lose their sign.
fn zero_listpack_scores(ctx: &mut Ctx<'_>, key: &[u8], members: &[&[u8]]) {
    let found = match ctx.db().get(key) {
        Some(entry) if entry.encoding() == Encoding::Listpack => match &entry.value {
            Value::ZSet(zset) => members.iter().any(|m| {
                zset.score(m)
                    .is_some_and(|s| s == 0.0 && s.is_sign_negative())
            }),
            _ => false,
        },
        _ => false,
    };
    if found {
        if let Some(zset) = zset_mut(ctx, key) {
            zset.zero_negative_zeros(Some(members));
        }
    }
}

/// Conditions of ZADD.
#[derive(Default, Clone, Copy)]
pub(super) struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    incr: bool,
}

/// What one `zsetAdd` did.
enum AddOutcome {
    Added(f64),
    Updated(f64),
    Unchanged(f64),
    Skipped,
}

/// Redis's `zsetAdd`: applies one score/member under the flags. `None` when
/// INCR produced NaN.
fn add_one(zset: &mut ZSet, member: &[u8], score: f64, flags: AddFlags) -> Option<AddOutcome> {
    match zset.score(member) {
        Some(current) => {
            if flags.nx {
                return Some(AddOutcome::Skipped);
            }
            let mut score = score;
            if flags.incr {
                score += current;
                if score.is_nan() {
                    return None;
                }
            }
            if (flags.lt && score >= current) || (flags.gt && score <= current) {
                return Some(AddOutcome::Skipped);
            }
            if score != current {
                zset.insert(member, score);
                Some(AddOutcome::Updated(score))
            } else {
                Some(AddOutcome::Unchanged(score))
            }
        }
        None => {
            if flags.xx {
                return Some(AddOutcome::Skipped);
            }
            zset.insert(member, score);
            Some(AddOutcome::Added(score))
        }
    }
}

/// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]:
/// adds or updates members. Replies with the number added (added + changed
/// with CH); with INCR, the new score or nil when a condition skipped it.
/// All scores are checked before anything changes.
///
/// # Propagation
/// Verbatim, when a member was added or its score changed.
fn zadd(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    zadd_generic(ctx, argv, AddFlags::default(), 2)
}

pub(super) fn zadd_generic(
    ctx: &mut Ctx<'_>,
    argv: Argv<'_>,
    mut flags: AddFlags,
    first: usize,
) -> CmdResult {
    let mut ch = false;
    let mut score_index = first;
    while score_index < argv.len() {
        match argv.get(score_index).to_ascii_uppercase().as_slice() {
            b"NX" => flags.nx = true,
            b"XX" => flags.xx = true,
            b"CH" => ch = true,
            b"INCR" => flags.incr = true,
            b"GT" => flags.gt = true,
            b"LT" => flags.lt = true,
            _ => break,
        }
        score_index += 1;
    }
    let elements = argv.len() - score_index;
    if elements % 2 != 0 || elements == 0 {
        return Err(CmdError::Syntax);
    }
    if flags.nx && flags.xx {
        return Err(CmdError::err(
            "XX and NX options at the same time are not compatible",
        ));
    }
    if (flags.nx && (flags.gt || flags.lt)) || (flags.gt && flags.lt) {
        return Err(CmdError::err(
            "GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if flags.incr && elements > 2 {
        return Err(CmdError::err(
            "INCR option supports a single increment-element pair",
        ));
    }
    let mut pairs = Vec::with_capacity(elements / 2);
    for i in (score_index..argv.len()).step_by(2) {
        pairs.push((float_arg(argv.get(i))?, argv.get(i + 1)));
    }
    let key = argv.get(1);
    match ctx.lookup(key).map(|e| &e.value) {
        Some(Value::ZSet(_)) => {}
        Some(_) => return Err(CmdError::WrongType),
        None if flags.xx => {
            reply_zadd(ctx, flags.incr, ch, 0, 0, None);
            return Ok(());
        }
        None => ctx.db().insert(key, Value::new_zset()),
    }
    let members: Vec<&[u8]> = pairs.iter().map(|(_, m)| *m).collect();
    let zset = zset_mut(ctx, key).expect("zset exists");
    let (mut added, mut updated) = (0, 0);
    let mut last_score = None;
    // Members inserted, for the conversion `zsetAdd` makes on an insert.
    let mut inserted: Vec<&[u8]> = Vec::new();
    for (score, member) in pairs {
        match add_one(zset, member, score, flags) {
            None => {
                ctx.db().note_written(key, inserted);
                zero_listpack_scores(ctx, key, &members);
                if added + updated > 0 {
                    ctx.notify(notify::ZSET, if flags.incr { "zincr" } else { "zadd" }, key);
                }
                remove_if_empty(ctx, key);
                ctx.changed(added + updated);
                return Err(CmdError::err("resulting score is not a number (NaN)"));
            }
            Some(AddOutcome::Added(s)) => {
                added += 1;
                last_score = Some(s);
                inserted.push(member);
            }
            Some(AddOutcome::Updated(s)) => {
                updated += 1;
                last_score = Some(s);
            }
            Some(AddOutcome::Unchanged(s)) => last_score = Some(s),
            Some(AddOutcome::Skipped) => {}
        }
    }
    ctx.db().note_written(key, inserted);
    zero_listpack_scores(ctx, key, &members);
    if added + updated > 0 {
        ctx.notify(notify::ZSET, if flags.incr { "zincr" } else { "zadd" }, key);
    }
    remove_if_empty(ctx, key);
    ctx.changed(added + updated);
    reply_zadd(ctx, flags.incr, ch, added, updated, last_score);
    Ok(())
}

fn reply_zadd(
    ctx: &mut Ctx<'_>,
    incr: bool,
    ch: bool,
    added: u64,
    updated: u64,
    score: Option<f64>,
) {
    if incr {
        match score {
            Some(s) => ctx.out.double(s),
            None => ctx.out.null(),
        }
    } else {
        ctx.out
            .integer(if ch { added + updated } else { added } as i64);
    }
}

/// ZINCRBY key increment member: adds to the member's score (creating it);
/// replies with the new score.
///
/// # Propagation
/// Verbatim.
fn zincrby(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let flags = AddFlags {
        incr: true,
        ..AddFlags::default()
    };
    zadd_generic(ctx, argv, flags, 2)
}

/// ZREM key member [member ...]: removes members (the key when empty);
/// replies with the number removed.
///
/// # Propagation
/// Verbatim, when a member was removed.
fn zrem(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let key = argv.get(1);
    if read_zset(ctx, key)?.is_none() {
        ctx.out.integer(0);
        return Ok(());
    }
    let zset = zset_mut(ctx, key).expect("zset exists");
    let mut removed = 0;
    for member in argv.iter().skip(2) {
        removed += zset.remove(member) as u64;
    }
    if removed > 0 {
        ctx.notify(notify::ZSET, "zrem", key);
    }
    remove_if_empty(ctx, key);
    ctx.changed(removed);
    ctx.out.integer(removed as i64);
    Ok(())
}

/// ZSCORE key member: the score (as `%.17g`), or nil.
///
/// # Propagation
/// None.
fn zscore(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    match read_zset(ctx, argv.get(1))?.and_then(|z| z.score(argv.get(2))) {
        Some(score) => ctx.out.double(score),
        None => ctx.out.null(),
    }
    Ok(())
}

/// ZCARD key: the number of members.
///
/// # Propagation
/// None.
fn zcard(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let len = read_zset(ctx, argv.get(1))?.map_or(0, |z| z.len());
    ctx.out.integer(len as i64);
    Ok(())
}

/// How ZRANGE interprets its range.
#[derive(PartialEq, Clone, Copy)]
enum RangeKind {
    Rank,
    Score,
    Lex,
}

/// A score bound: value and whether it is exclusive (`(1.5`).
fn parse_score_bound(arg: &[u8]) -> Option<(f64, bool)> {
    match arg.strip_prefix(b"(") {
        Some(rest) => parse_float(rest).map(|v| (v, true)),
        None => parse_float(arg).map(|v| (v, false)),
    }
}

/// A lex bound: `-`, `+`, `[member` or `(member`.
fn parse_lex_bound(arg: &[u8]) -> Option<Bound<&[u8]>> {
    match arg.first() {
        Some(b'-') if arg.len() == 1 => Some(Bound::Unbounded),
        Some(b'+') if arg.len() == 1 => Some(Bound::Unbounded),
        Some(b'[') => Some(Bound::Included(&arg[1..])),
        Some(b'(') => Some(Bound::Excluded(&arg[1..])),
        _ => None,
    }
}

fn above_min(value: &[u8], min: &Bound<&[u8]>, min_is_minus: bool) -> bool {
    match min {
        Bound::Unbounded => min_is_minus,
        Bound::Included(m) => value >= *m,
        Bound::Excluded(m) => value > *m,
    }
}

fn below_max(value: &[u8], max: &Bound<&[u8]>, max_is_plus: bool) -> bool {
    match max {
        Bound::Unbounded => max_is_plus,
        Bound::Included(m) => value <= *m,
        Bound::Excluded(m) => value < *m,
    }
}

/// ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count]
/// [WITHSCORES]: members by rank (default), by score (`(` exclusive,
/// `-inf`/`+inf`), or lexicographically (`[`/`(`/`-`/`+`); REV reverses, and
/// for BYSCORE/BYLEX takes the range as max then min.
///
/// # Propagation
/// None.
fn zrange(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let request = parse_range_request(argv, 1, false)?;
    let Some(zset) = read_zset(ctx, argv.get(1))? else {
        ctx.out.array(0);
        return Ok(());
    };
    let withscores = request.withscores;
    let selected = select_range(zset, request.reverse, request.range, request.limit);
    ctx.out.scored_list(selected.len(), withscores);
    for (member, score) in &selected {
        ctx.out.scored_member(member, withscores.then_some(*score));
    }
    Ok(())
}

/// ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]:
/// stores ZRANGE's selection of `src` (scores kept) in `dst`, replacing
/// it (deleting it when the selection is empty); replies with its size.
///
/// # Propagation
/// Verbatim (the selection is the same on a replica).
fn zrangestore(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let request = parse_range_request(argv, 2, true)?;
    let destination = argv.get(1);
    let selected = match read_zset(ctx, argv.get(2))? {
        Some(zset) => select_range(zset, request.reverse, request.range, request.limit),
        None => Vec::new(),
    };
    // Redis looks the destination up for writing first (expiring it).
    ctx.lookup(destination);
    let len = selected.len();
    if len > 0 {
        let mut stored = ZSet::default();
        for (member, score) in &selected {
            stored.insert(member, *score);
        }
        ctx.db()
            .insert_with_expiry(destination, Value::ZSet(Box::new(stored)), None);
        ctx.changed(1);
        ctx.notify(notify::ZSET, "zrangestore", destination);
    } else if ctx.db().remove(destination).is_some() {
        ctx.changed(1);
        ctx.notify(notify::GENERIC, "del", destination);
    }
    // Only the destination was modified (WATCH): the source was read.
    if ctx.dirty > 0 {
        ctx.keys_untouched();
        let db = ctx.client.db;
        let exists = len > 0;
        ctx.state.watches.touch(db, destination, exists);
    }
    ctx.out.integer(len as i64);
    Ok(())
}

/// ZRANDMEMBER key [count [WITHSCORES]]: one random member (nil when the
/// key is missing), or `count` distinct ones (all of them at most), or,
/// for a negative count, that many drawn with replacement; with their
/// scores (`[member, score]` pairs in RESP3).
///
/// # Propagation
/// None.
fn zrandmember(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    use rand::Rng;
    let (count, withscores) = super::random_picks::count_argument(argv, Some(b"withscores"))?;
    let members: Vec<(Vec<u8>, f64)> = read_zset(ctx, argv.get(1))?
        .map(|z| z.iter().map(|(m, s)| (m.to_vec(), s)).collect())
        .unwrap_or_default();
    let rng = &mut ctx.state.rng;
    let Some(count) = count else {
        if members.is_empty() {
            ctx.out.null();
        } else {
            ctx.out.bulk(&members[rng.gen_range(0..members.len())].0);
        }
        return Ok(());
    };
    ctx.out
        .scored_list(super::random_picks::picks(members.len(), count), withscores);
    for index in super::random_picks::pick_indices(rng, members.len(), count) {
        let (member, score) = &members[index];
        ctx.out.scored_member(member, withscores.then_some(*score));
    }
    Ok(())
}

/// What a ZRANGE or ZRANGESTORE asks for.
struct RangeRequest<'a> {
    range: Range<'a>,
    reverse: bool,
    limit: Option<(i64, i64)>,
    withscores: bool,
}

/// Parses `key start stop [options]` from `argv[key_at]` on, as Redis's
/// `zrangeGenericCommand` does; a store takes no WITHSCORES.
fn parse_range_request(
    argv: Argv<'_>,
    key_at: usize,
    store: bool,
) -> Result<RangeRequest<'_>, CmdError> {
    let mut withscores = false;
    let mut reverse = false;
    let mut kind: Option<RangeKind> = None;
    let mut limit: Option<(i64, i64)> = None;
    let mut i = key_at + 3;
    while i < argv.len() {
        let option = argv.get(i).to_ascii_uppercase();
        let left = argv.len() - i - 1;
        match option.as_slice() {
            b"WITHSCORES" if !store => withscores = true,
            b"LIMIT" if left >= 2 => {
                limit = Some((int_arg(argv.get(i + 1))?, int_arg(argv.get(i + 2))?));
                i += 2;
            }
            b"REV" if !reverse => reverse = true,
            b"BYLEX" if kind.is_none() => kind = Some(RangeKind::Lex),
            b"BYSCORE" if kind.is_none() => kind = Some(RangeKind::Score),
            _ => return Err(CmdError::Syntax),
        }
        i += 1;
    }
    let kind = kind.unwrap_or(RangeKind::Rank);
    if limit.is_some() && kind == RangeKind::Rank {
        return Err(CmdError::err(
            "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && kind == RangeKind::Lex {
        return Err(CmdError::err(
            "syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    let (mut min_arg, mut max_arg) = (argv.get(key_at + 1), argv.get(key_at + 2));
    if reverse && kind != RangeKind::Rank {
        std::mem::swap(&mut min_arg, &mut max_arg);
    }
    let range = match kind {
        RangeKind::Rank => Range::Rank(int_arg(min_arg)?, int_arg(max_arg)?),
        RangeKind::Score => match (parse_score_bound(min_arg), parse_score_bound(max_arg)) {
            (Some(min), Some(max)) => Range::Score(min, max),
            _ => return Err(CmdError::err("min or max is not a float")),
        },
        RangeKind::Lex => match (parse_lex_bound(min_arg), parse_lex_bound(max_arg)) {
            (Some(min), Some(max)) => Range::Lex(min, min_arg == b"-", max, max_arg == b"+"),
            _ => return Err(CmdError::err("min or max not valid string range item")),
        },
    };
    Ok(RangeRequest {
        range,
        reverse,
        limit,
        withscores,
    })
}

/// The range of a ZRANGE.
enum Range<'a> {
    Rank(i64, i64),
    Score((f64, bool), (f64, bool)),
    Lex(Bound<&'a [u8]>, bool, Bound<&'a [u8]>, bool),
}

fn select_range(
    zset: &ZSet,
    reverse: bool,
    range: Range<'_>,
    limit: Option<(i64, i64)>,
) -> Vec<(Vec<u8>, f64)> {
    let ordered: Box<dyn Iterator<Item = (&[u8], f64)>> = if reverse {
        Box::new(zset.iter().rev())
    } else {
        Box::new(zset.iter())
    };
    match range {
        Range::Rank(start, end) => match normalise_range(start, end, zset.len()) {
            None => Vec::new(),
            Some((from, to)) => ordered
                .skip(from)
                .take(to - from + 1)
                .map(|(m, s)| (m.to_vec(), s))
                .collect(),
        },
        Range::Score((min, min_excl), (max, max_excl)) => {
            let in_range = |s: f64| {
                (if min_excl { s > min } else { s >= min })
                    && (if max_excl { s < max } else { s <= max })
            };
            apply_limit(ordered.filter(|(_, s)| in_range(*s)), limit)
        }
        Range::Lex(min, min_is_minus, max, max_is_plus) => apply_limit(
            ordered.filter(|(m, _)| {
                above_min(m, &min, min_is_minus) && below_max(m, &max, max_is_plus)
            }),
            limit,
        ),
    }
}

/// LIMIT offset count: a negative offset selects nothing, a negative count
/// means all the rest.
fn apply_limit<'a>(
    items: impl Iterator<Item = (&'a [u8], f64)>,
    limit: Option<(i64, i64)>,
) -> Vec<(Vec<u8>, f64)> {
    let (offset, count) = limit.unwrap_or((0, -1));
    if offset < 0 {
        return Vec::new();
    }
    let count = if count < 0 {
        usize::MAX
    } else {
        count as usize
    };
    items
        .skip(offset as usize)
        .take(count)
        .map(|(m, s)| (m.to_vec(), s))
        .collect()
}

/// The options every older range command parses (ZRANGE then refuses the
/// combinations it does not support, with its own errors, as Redis's shared
/// parser does).
const LEGACY_OPTIONS: &[&[u8]] = &[b"WITHSCORES", b"LIMIT"];

/// Runs ZRANGE with `argv` rewritten to its modern form: the key, the two
/// range arguments, then `extra` words, then the options the older command
/// allows (`allowed`, upper case), anything else being a syntax error.
fn legacy_range(
    ctx: &mut Ctx<'_>,
    argv: Argv<'_>,
    extra: &[&[u8]],
    allowed: &[&[u8]],
) -> CmdResult {
    let mut args: Vec<Vec<u8>> = vec![b"zrange".to_vec()];
    args.extend((1..4).map(|i| argv.get(i).to_vec()));
    args.extend(extra.iter().map(|w| w.to_vec()));
    let mut i = 4;
    while i < argv.len() {
        let option = argv.get(i).to_ascii_uppercase();
        if !allowed.contains(&option.as_slice()) {
            return Err(CmdError::Syntax);
        }
        if option == b"LIMIT" {
            if i + 2 >= argv.len() {
                return Err(CmdError::Syntax);
            }
            args.extend([option, argv.get(i + 1).to_vec(), argv.get(i + 2).to_vec()]);
            i += 3;
        } else {
            args.push(option);
            i += 1;
        }
    }
    let owned = OwnedArgv::from_args(&args);
    zrange(ctx, owned.argv())
}

/// ZREVRANGE key start stop [WITHSCORES]: ZRANGE by rank, highest first.
///
/// # Propagation
/// None.
fn zrevrange(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    legacy_range(ctx, argv, &[b"REV"], LEGACY_OPTIONS)
}

/// ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count].
///
/// # Propagation
/// None.
fn zrangebyscore(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    legacy_range(ctx, argv, &[b"BYSCORE"], LEGACY_OPTIONS)
}

/// ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count].
///
/// # Propagation
/// None.
fn zrevrangebyscore(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    legacy_range(ctx, argv, &[b"BYSCORE", b"REV"], LEGACY_OPTIONS)
}

/// ZRANGEBYLEX key min max [LIMIT offset count].
///
/// # Propagation
/// None.
fn zrangebylex(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    legacy_range(ctx, argv, &[b"BYLEX"], LEGACY_OPTIONS)
}

/// ZREVRANGEBYLEX key max min [LIMIT offset count].
///
/// # Propagation
/// None.
fn zrevrangebylex(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    legacy_range(ctx, argv, &[b"BYLEX", b"REV"], LEGACY_OPTIONS)
}

fn score_range<'a>(min: &'a [u8], max: &'a [u8]) -> Result<Range<'a>, CmdError> {
    match (parse_score_bound(min), parse_score_bound(max)) {
        (Some(min), Some(max)) => Ok(Range::Score(min, max)),
        _ => Err(CmdError::err("min or max is not a float")),
    }
}

fn lex_range<'a>(min: &'a [u8], max: &'a [u8]) -> Result<Range<'a>, CmdError> {
    match (parse_lex_bound(min), parse_lex_bound(max)) {
        (Some(lo), Some(hi)) => Ok(Range::Lex(lo, min == b"-", hi, max == b"+")),
        _ => Err(CmdError::err("min or max not valid string range item")),
    }
}

/// ZCOUNT key min max: members with a score in the range.
///
/// # Propagation
/// None.
fn zcount(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let range = score_range(argv.get(2), argv.get(3))?;
    let count =
        read_zset(ctx, argv.get(1))?.map_or(0, |z| select_range(z, false, range, None).len());
    ctx.out.integer(count as i64);
    Ok(())
}

/// ZLEXCOUNT key min max: members in the lexicographic range.
///
/// # Propagation
/// None.
fn zlexcount(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let range = lex_range(argv.get(2), argv.get(3))?;
    let count =
        read_zset(ctx, argv.get(1))?.map_or(0, |z| select_range(z, false, range, None).len());
    ctx.out.integer(count as i64);
    Ok(())
}

fn rank_generic(ctx: &mut Ctx<'_>, argv: Argv<'_>, reverse: bool) -> CmdResult {
    let member = argv.get(2);
    let rank = read_zset(ctx, argv.get(1))?.and_then(|zset| {
        let position = zset.iter().position(|(m, _)| m == member)?;
        Some(if reverse {
            zset.len() - 1 - position
        } else {
            position
        })
    });
    match rank {
        Some(rank) => ctx.out.integer(rank as i64),
        None => ctx.out.null(),
    }
    Ok(())
}

/// ZRANK key member: the member's rank, lowest score first (nil if absent).
///
/// # Propagation
/// None.
fn zrank(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    rank_generic(ctx, argv, false)
}

/// ZREVRANK key member: the member's rank, highest score first.
///
/// # Propagation
/// None.
fn zrevrank(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    rank_generic(ctx, argv, true)
}

/// ZMSCORE key member [member ...]: each member's score, nil if absent.
///
/// # Propagation
/// None.
fn zmscore(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let scores: Vec<Option<f64>> = match read_zset(ctx, argv.get(1))? {
        Some(zset) => argv.iter().skip(2).map(|m| zset.score(m)).collect(),
        None => vec![None; argv.len() - 2],
    };
    ctx.out.array(scores.len());
    for score in scores {
        match score {
            Some(score) => ctx.out.double(score),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

fn pop_generic(ctx: &mut Ctx<'_>, argv: Argv<'_>, max: bool) -> CmdResult {
    if argv.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = if argv.len() == 3 {
        let n = int_arg(argv.get(2)).map_err(|_| CmdError::NotPositive)?;
        if n < 0 {
            return Err(CmdError::NotPositive);
        }
        n as usize
    } else {
        1
    };
    let key = argv.get(1);
    let popped: Vec<(Vec<u8>, f64)> = match read_zset(ctx, key)? {
        None => Vec::new(),
        Some(zset) => {
            let ordered: Box<dyn Iterator<Item = (&[u8], f64)>> = if max {
                Box::new(zset.iter().rev())
            } else {
                Box::new(zset.iter())
            };
            ordered.take(count).map(|(m, s)| (m.to_vec(), s)).collect()
        }
    };
    if !popped.is_empty() {
        let zset = zset_mut(ctx, key).expect("read above");
        for (member, _) in &popped {
            zset.remove(member);
        }
        ctx.notify(notify::ZSET, if max { "zpopmax" } else { "zpopmin" }, key);
        remove_if_empty(ctx, key);
        ctx.changed(popped.len() as u64);
    }
    // RESP3 nests each pair only when a count was given, as Redis does.
    let nested = ctx.out.is_resp3() && argv.len() == 3;
    ctx.out.array(if nested {
        popped.len()
    } else {
        2 * popped.len()
    });
    for (member, score) in &popped {
        if nested {
            ctx.out.array(2);
        }
        ctx.out.bulk(member);
        ctx.out.double(*score);
    }
    Ok(())
}

/// ZPOPMIN key [count]: removes and returns the `count` (default 1) members
/// with the lowest scores, with their scores.
///
/// # Propagation
/// Verbatim, when a member was popped (the lowest members are the same on
/// a replica).
fn zpopmin(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    pop_generic(ctx, argv, false)
}

/// ZPOPMAX key [count]: ZPOPMIN from the highest scores.
///
/// # Propagation
/// Verbatim, when a member was popped.
fn zpopmax(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    pop_generic(ctx, argv, true)
}

fn remove_range(ctx: &mut Ctx<'_>, key: &[u8], range: Range<'_>) -> CmdResult {
    let event = match range {
        Range::Rank(..) => "zremrangebyrank",
        Range::Score(..) => "zremrangebyscore",
        Range::Lex(..) => "zremrangebylex",
    };
    let doomed = match read_zset(ctx, key)? {
        Some(zset) => select_range(zset, false, range, None),
        None => Vec::new(),
    };
    if !doomed.is_empty() {
        let zset = zset_mut(ctx, key).expect("read above");
        for (member, _) in &doomed {
            zset.remove(member);
        }
        ctx.notify(notify::ZSET, event, key);
        remove_if_empty(ctx, key);
        ctx.changed(doomed.len() as u64);
    }
    ctx.out.integer(doomed.len() as i64);
    Ok(())
}

/// ZREMRANGEBYRANK key start stop: removes the members in the rank range
/// (negative ranks count from the end); replies with the number removed.
///
/// # Propagation
/// Verbatim, when a member was removed.
fn zremrangebyrank(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let range = Range::Rank(int_arg(argv.get(2))?, int_arg(argv.get(3))?);
    remove_range(ctx, argv.get(1), range)
}

/// ZREMRANGEBYSCORE key min max: removes the members in the score range.
///
/// # Propagation
/// Verbatim, when a member was removed.
fn zremrangebyscore(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let range = score_range(argv.get(2), argv.get(3))?;
    remove_range(ctx, argv.get(1), range)
}

/// ZREMRANGEBYLEX key min max: removes the members in the lexicographic
/// range.
///
/// # Propagation
/// Verbatim, when a member was removed.
fn zremrangebylex(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let range = lex_range(argv.get(2), argv.get(3))?;
    remove_range(ctx, argv.get(1), range)
}
