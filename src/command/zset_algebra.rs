//! Sorted-set algebra: ZUNION ZINTER ZDIFF, their STORE forms, and
//! ZINTERCARD. Inputs may be sorted sets or plain sets (whose members score
//! 1); results are ordered by (score, member) as every sorted set is.

use super::flags::*;
use super::sets::numkeys_and_limit;
use super::{int_arg, parse_float, spec, CmdError, CmdResult, CommandSpec, Ctx};
use crate::keyspace::{blob, Blob, Value, ZSet};
use crate::resp::Argv;

pub(super) static COMMANDS: &[CommandSpec] = &[
    spec("zunionstore", -4, WRITE | DENYOOM, (1, 1, 1), zunionstore),
    spec("zinterstore", -4, WRITE | DENYOOM, (1, 1, 1), zinterstore),
    spec("zdiffstore", -4, WRITE | DENYOOM, (1, 1, 1), zdiffstore),
    spec("zunion", -3, READONLY, (0, 0, 0), zunion),
    spec("zinter", -3, READONLY, (0, 0, 0), zinter),
    spec("zdiff", -3, READONLY, (0, 0, 0), zdiff),
    spec("zintercard", -3, READONLY, (0, 0, 0), zintercard),
];

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

/// Redis's `zunionInterAggregate`: a NaN sum (inf + -inf) is 0.
fn aggregate(into: &mut f64, value: f64, how: Aggregate) {
    match how {
        Aggregate::Sum => {
            *into += value;
            if into.is_nan() {
                *into = 0.0;
            }
        }
        Aggregate::Min => *into = into.min(value),
        Aggregate::Max => *into = into.max(value),
    }
}

/// One input: members with scores (a plain set's members score 1).
type Input = Vec<(Blob, f64)>;

fn read_input(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<Option<Input>, CmdError> {
    Ok(match ctx.lookup(key).map(|e| &e.value) {
        None => None,
        Some(Value::ZSet(zset)) => Some(zset.iter().map(|(m, s)| (blob(m), s)).collect()),
        Some(Value::Set(set)) => Some(set.iter().map(|m| (m.clone(), 1.0)).collect()),
        Some(_) => return Err(CmdError::WrongType),
    })
}

/// The parsed command: keys, weights, aggregate, WITHSCORES.
struct Parsed<'a> {
    keys: Vec<&'a [u8]>,
    weights: Vec<f64>,
    aggregate: Aggregate,
    withscores: bool,
}

/// Parses `numkeys key ... [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX]
/// [WITHSCORES]` from `argv[at]` on, with Redis's errors and checks.
fn parse<'a>(
    argv: Argv<'a>,
    at: usize,
    op: Op,
    store: bool,
    name: &str,
) -> Result<Parsed<'a>, CmdError> {
    let numkeys = int_arg(argv.get(at))?;
    if numkeys < 1 {
        return Err(CmdError::err(format!(
            "at least 1 input key is needed for '{name}' command"
        )));
    }
    let numkeys = numkeys as usize;
    if numkeys > argv.len() - at - 1 {
        return Err(CmdError::Syntax);
    }
    let keys: Vec<&[u8]> = (at + 1..=at + numkeys).map(|i| argv.get(i)).collect();
    let mut parsed = Parsed {
        keys,
        weights: vec![1.0; numkeys],
        aggregate: Aggregate::Sum,
        withscores: false,
    };
    let mut i = at + 1 + numkeys;
    while i < argv.len() {
        let option = argv.get(i).to_ascii_lowercase();
        let remaining = argv.len() - i - 1;
        if op != Op::Diff && option == b"weights" && remaining >= numkeys {
            for w in 0..numkeys {
                parsed.weights[w] = parse_float(argv.get(i + 1 + w))
                    .ok_or_else(|| CmdError::err("weight value is not a float"))?;
            }
            i += numkeys + 1;
        } else if op != Op::Diff && option == b"aggregate" && remaining >= 1 {
            parsed.aggregate = match argv.get(i + 1).to_ascii_lowercase().as_slice() {
                b"sum" => Aggregate::Sum,
                b"min" => Aggregate::Min,
                b"max" => Aggregate::Max,
                _ => return Err(CmdError::Syntax),
            };
            i += 2;
        } else if !store && option == b"withscores" {
            parsed.withscores = true;
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(parsed)
}

/// Computes the result as a sorted set.
fn compute(ctx: &mut Ctx<'_>, op: Op, parsed: &Parsed<'_>) -> Result<ZSet, CmdError> {
    let mut inputs = Vec::with_capacity(parsed.keys.len());
    for key in &parsed.keys {
        inputs.push(read_input(ctx, key)?);
    }
    let weighted = |score: f64, weight: f64| {
        let value = score * weight;
        if value.is_nan() {
            0.0
        } else {
            value
        }
    };
    // Redis combines the inputs from the smallest to the largest (stable
    // for equal sizes), which fixes the order of the float additions.
    let mut by_size: Vec<usize> = (0..inputs.len()).collect();
    by_size.sort_by_key(|&i| inputs[i].as_ref().map_or(0, Vec::len));
    let mut result = ZSet::default();
    match op {
        Op::Union => {
            let mut acc: indexmap::IndexMap<Blob, f64, crate::keyspace::FixedHash> =
                Default::default();
            for &i in &by_size {
                let weight = &parsed.weights[i];
                for (member, score) in inputs[i].iter().flatten() {
                    let value = weighted(*score, *weight);
                    match acc.get_mut(member) {
                        Some(into) => aggregate(into, value, parsed.aggregate),
                        None => {
                            acc.insert(member.clone(), value);
                        }
                    }
                }
            }
            for (member, score) in acc {
                result.insert(&member, score);
            }
        }
        Op::Inter => {
            if inputs.iter().any(Option::is_none) {
                return Ok(result);
            }
            let lookups: Vec<(std::collections::HashMap<&[u8], f64>, f64)> = by_size[1..]
                .iter()
                .map(|&i| {
                    let input = inputs[i].as_ref().expect("checked");
                    let scores = input.iter().map(|(m, s)| (m.as_slice(), *s)).collect();
                    (scores, parsed.weights[i])
                })
                .collect();
            let smallest = by_size[0];
            let first = inputs[smallest].as_ref().expect("checked");
            'members: for (member, score) in first {
                let mut total = weighted(*score, parsed.weights[smallest]);
                for (other, weight) in &lookups {
                    match other.get(member.as_slice()) {
                        Some(s) => aggregate(&mut total, weighted(*s, *weight), parsed.aggregate),
                        None => continue 'members,
                    }
                }
                result.insert(member, total);
            }
        }
        Op::Diff => {
            let Some(first) = &inputs[0] else {
                return Ok(result);
            };
            let others: Vec<std::collections::HashSet<&[u8]>> = inputs[1..]
                .iter()
                .flatten()
                .map(|input| input.iter().map(|(m, _)| m.as_slice()).collect())
                .collect();
            for (member, score) in first {
                if !others.iter().any(|o| o.contains(member.as_slice())) {
                    result.insert(member, *score);
                }
            }
        }
    }
    Ok(result)
}

fn store(ctx: &mut Ctx<'_>, argv: Argv<'_>, op: Op, name: &str) -> CmdResult {
    let destination = argv.get(1);
    let parsed = parse(argv, 2, op, true, name)?;
    // Redis looks the destination up for writing first (expiring it).
    ctx.lookup(destination);
    let result = compute(ctx, op, &parsed)?;
    let len = result.len();
    if len > 0 {
        ctx.db()
            .insert_with_expiry(destination, Value::ZSet(Box::new(result)), None);
        ctx.changed(1);
        ctx.notify(crate::server::pubsub::notify::ZSET, name, destination);
    } else if ctx.db().remove(destination).is_some() {
        ctx.changed(1);
        ctx.notify(crate::server::pubsub::notify::GENERIC, "del", destination);
    }
    ctx.out.integer(len as i64);
    Ok(())
}

fn reply(ctx: &mut Ctx<'_>, argv: Argv<'_>, op: Op, name: &str) -> CmdResult {
    let parsed = parse(argv, 1, op, false, name)?;
    let result = compute(ctx, op, &parsed)?;
    ctx.out.scored_list(result.len(), parsed.withscores);
    for (member, score) in result.iter() {
        ctx.out
            .scored_member(member, parsed.withscores.then_some(score));
    }
    Ok(())
}

/// ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS weight ...]
/// [AGGREGATE SUM|MIN|MAX]: stores the union (scores times their weight,
/// combined by the aggregate) at destination, replacing it and its TTL; an
/// empty result deletes destination. Replies with the result's size.
///
/// # Propagation
/// Verbatim, when destination was written or deleted.
fn zunionstore(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    store(ctx, argv, Op::Union, "zunionstore")
}

/// ZINTERSTORE destination numkeys key [key ...] [WEIGHTS weight ...]
/// [AGGREGATE SUM|MIN|MAX]: the intersection, stored as ZUNIONSTORE stores.
///
/// # Propagation
/// Verbatim, when destination was written or deleted.
fn zinterstore(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    store(ctx, argv, Op::Inter, "zinterstore")
}

/// ZDIFFSTORE destination numkeys key [key ...]: the members of the first
/// input in none of the others (with their first scores), stored as
/// ZUNIONSTORE stores.
///
/// # Propagation
/// Verbatim, when destination was written or deleted.
fn zdiffstore(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    store(ctx, argv, Op::Diff, "zdiffstore")
}

/// ZUNION numkeys key [key ...] [WEIGHTS ...] [AGGREGATE ...] [WITHSCORES]:
/// the union, in score order.
///
/// # Propagation
/// None.
fn zunion(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    reply(ctx, argv, Op::Union, "zunion")
}

/// ZINTER numkeys key [key ...] [WEIGHTS ...] [AGGREGATE ...] [WITHSCORES]:
/// the intersection, in score order.
///
/// # Propagation
/// None.
fn zinter(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    reply(ctx, argv, Op::Inter, "zinter")
}

/// ZDIFF numkeys key [key ...] [WITHSCORES]: the difference, in score
/// order.
///
/// # Propagation
/// None.
fn zdiff(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    reply(ctx, argv, Op::Diff, "zdiff")
}

/// ZINTERCARD numkeys key [key ...] [LIMIT limit]: the intersection's size,
/// counting stopped at `limit` when it is not 0.
///
/// # Propagation
/// None.
fn zintercard(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let (keys, limit) = numkeys_and_limit(argv, true)?;
    let parsed = Parsed {
        weights: vec![1.0; keys.len()],
        keys,
        aggregate: Aggregate::Sum,
        withscores: false,
    };
    let count = compute(ctx, Op::Inter, &parsed)?.len();
    let count = if limit > 0 { count.min(limit) } else { count };
    ctx.out.integer(count as i64);
    Ok(())
}
