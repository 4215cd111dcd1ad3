//! Cursor iteration inside one value: SSCAN, HSCAN and ZSCAN.
//!
//! As in Redis, a value in a compact encoding (intset, listpack) comes
//! whole in one reply with cursor 0, in the order its other commands list
//! it; a large one is walked with a cursor, as SCAN walks the keyspace:
//! the cursor is a position in the value's table counted down from its
//! end. An element removed moves the table's last element into its slot,
//! never an unvisited one into the visited region, so every element
//! present for the whole iteration is returned (some maybe twice), which
//! is SCAN's guarantee.

use super::flags::*;
use super::glob::glob_match;
use super::{int_arg, spec, CmdError, CmdResult, CommandSpec, Ctx, KEY1};
use crate::keyspace::{format_score, Blob, Encoding, Value};
use crate::resp::Argv;

pub(super) static COMMANDS: &[CommandSpec] = &[
    spec("sscan", -3, READONLY, KEY1, sscan),
    spec("hscan", -3, READONLY, KEY1, hscan),
    spec("zscan", -3, READONLY, KEY1, zscan),
];

/// SSCAN key cursor [MATCH pattern] [COUNT count]: members of a set.
///
/// # Propagation
/// None.
fn sscan(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    scan_value(ctx, argv, "set")
}

/// HSCAN key cursor [MATCH pattern] [COUNT count]: fields of a hash, each
/// followed by its value.
///
/// # Propagation
/// None.
fn hscan(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    scan_value(ctx, argv, "hash")
}

/// ZSCAN key cursor [MATCH pattern] [COUNT count]: members of a sorted set,
/// each followed by its score.
///
/// # Propagation
/// None.
fn zscan(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    scan_value(ctx, argv, "zset")
}

/// The options after the cursor: MATCH and COUNT (TYPE is SCAN's alone).
struct ScanOptions<'a> {
    pattern: Option<&'a [u8]>,
    count: usize,
}

fn scan_options(argv: Argv<'_>) -> Result<ScanOptions<'_>, CmdError> {
    let mut options = ScanOptions {
        pattern: None,
        count: 10,
    };
    let mut i = 3;
    while i < argv.len() {
        if i + 1 >= argv.len() {
            return Err(CmdError::Syntax);
        }
        let value = argv.get(i + 1);
        match argv.get(i).to_ascii_lowercase().as_slice() {
            b"count" => {
                let count = int_arg(value)?;
                if count < 1 {
                    return Err(CmdError::Syntax);
                }
                options.count = count as usize;
            }
            // "*" matches everything: no filter.
            b"match" => options.pattern = (value != b"*").then_some(value),
            _ => return Err(CmdError::Syntax),
        }
        i += 2;
    }
    Ok(options)
}

fn scan_value(ctx: &mut Ctx<'_>, argv: Argv<'_>, type_name: &str) -> CmdResult {
    let cursor = super::keys::parse_cursor(argv.get(2))?;
    let Some(entry) = ctx.lookup(argv.get(1)) else {
        // Redis checks the options only for an existing key.
        reply(ctx, 0, &[]);
        return Ok(());
    };
    if entry.value.type_name() != type_name {
        return Err(CmdError::WrongType);
    }
    let compact = matches!(entry.encoding(), Encoding::Intset | Encoding::Listpack);
    let options = scan_options(argv)?;
    let entry = ctx
        .lookup_untouched(argv.get(1))
        .expect("found just before");
    let (next, elements) = if compact {
        (0, whole(&entry.value))
    } else {
        walk(&entry.value, cursor, options.count)
    };
    // Elements come as (name, companion): the pattern tests names only.
    let kept: Vec<Blob> = elements
        .chunks(if type_name == "set" { 1 } else { 2 })
        .filter(|element| {
            options
                .pattern
                .is_none_or(|p| glob_match(p, &element[0], false))
        })
        .flatten()
        .cloned()
        .collect();
    reply(ctx, next, &kept);
    Ok(())
}

/// Every element of a compact value, in the order its other commands list
/// it (an intset in numeric order, a listpack as stored).
fn whole(value: &Value) -> Vec<Blob> {
    match value {
        Value::Set(set) => super::sets::reply_order(set),
        Value::Hash(hash) => hash
            .iter()
            .flat_map(|(field, value)| [field.clone(), value.clone()])
            .collect(),
        Value::ZSet(zset) => zset
            .iter()
            .flat_map(|(member, score)| {
                [
                    Blob::from_slice(member),
                    Blob::from(format_score(score).as_bytes()),
                ]
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Up to `count` elements of a large value from position `cursor` down
/// (0 starts at the end), and the cursor to continue from (0 when done).
fn walk(value: &Value, cursor: u64, count: usize) -> (u64, Vec<Blob>) {
    let len = match value {
        Value::Set(set) => set.len(),
        Value::Hash(hash) => hash.len(),
        Value::ZSet(zset) => zset.len(),
        _ => 0,
    };
    let mut position = if cursor == 0 {
        len
    } else {
        (cursor as usize).min(len)
    };
    let mut elements = Vec::new();
    let mut budget = count;
    while position > 0 && budget > 0 {
        position -= 1;
        budget -= 1;
        match value {
            Value::Set(set) => elements.extend(set.get_index(position).cloned()),
            Value::Hash(hash) => {
                if let Some((field, value)) = hash.get_index(position) {
                    elements.push(field.clone());
                    elements.push(value.clone());
                }
            }
            Value::ZSet(zset) => {
                if let Some((member, score)) = zset.get_index(position) {
                    elements.push(Blob::from_slice(member));
                    elements.push(Blob::from(format_score(score).as_bytes()));
                }
            }
            _ => {}
        }
    }
    (position as u64, elements)
}

fn reply(ctx: &mut Ctx<'_>, cursor: u64, elements: &[Blob]) {
    ctx.out.array(2);
    ctx.out.bulk(cursor.to_string().as_bytes());
    ctx.out.array(elements.len());
    for element in elements {
        ctx.out.bulk(element);
    }
}
