//! SORT and SORT_RO: the elements of a list, set or sorted set sorted
//! numerically or as strings, by themselves or by the values of other keys
//! (`BY` patterns, hash fields with `->`), with `LIMIT`, `GET` patterns and,
//! for SORT, `STORE` into a list, all as Redis 7.0 does it.
//!
//! Ties follow Redis: a numeric sort breaks equal scores by the elements'
//! binary order, so its result is deterministic; an ALPHA sort by a pattern
//! keeps tied elements in the order they were read (see the README for where
//! Redis's partial quicksort may order such ties differently).

use std::cmp::Ordering;
use std::collections::VecDeque;

use super::flags::*;
use super::sets::reply_order;
use super::{spec, CmdError, CmdResult, CommandSpec, Ctx, KEY1};
use crate::keyspace::{blob, Blob, Value};
use crate::resp::Argv;
use crate::server::pubsub::notify;

pub(super) static COMMANDS: &[CommandSpec] = &[
    spec("sort", -2, WRITE | DENYOOM | MOVABLE_KEYS, KEY1, sort),
    spec("sort_ro", -2, READONLY | MOVABLE_KEYS, KEY1, sort_ro),
];

/// SORT key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern
/// ...]] [ASC|DESC] [ALPHA] [STORE destination]: the sorted elements (or
/// what the GET patterns find for each, nil where nothing is found), or,
/// with STORE, their number, the result being stored as a list.
///
/// # Events
/// With STORE: `sortstore` on the destination, or `del` when an empty
/// result deleted it.
///
/// # Propagation
/// SORT ... STORE is propagated verbatim when it changed the destination
/// (a set sorted `BY` a constant is sorted ALPHA then, so that the stored
/// order does not depend on the set's layout); a SORT that stores nothing
/// changes nothing and is not propagated.
fn sort(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    sort_generic(ctx, argv, false)
}

/// SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern ...]
/// [ASC|DESC] [ALPHA]: SORT without STORE, allowed on read-only replicas.
///
/// # Propagation
/// None.
fn sort_ro(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    sort_generic(ctx, argv, true)
}

/// The positions of SORT's keys in `argv` (COMMAND GETKEYS): the source,
/// and the destination of the last STORE, found as Redis finds it,
/// skipping the arguments of LIMIT, GET and BY.
pub(super) fn sort_key_positions(argv: Argv<'_>) -> Vec<usize> {
    let mut positions = vec![1];
    let mut store = None;
    let mut i = 2;
    while i < argv.len() {
        let option = argv.get(i).to_ascii_lowercase();
        match option.as_slice() {
            b"limit" => i += 2,
            b"get" | b"by" => i += 1,
            b"store" if i + 1 < argv.len() => store = Some(i + 1),
            _ => {}
        }
        i += 1;
    }
    positions.extend(store);
    positions
}

/// The options of one SORT call, in the form Redis's parser leaves them.
struct SortOptions {
    desc: bool,
    alpha: bool,
    limit_start: i64,
    limit_count: i64,
    /// The last BY pattern given.
    by: Option<Blob>,
    /// Some BY pattern had no `*`: nothing is sorted (Redis keeps this
    /// set even when a later BY has a `*`).
    dont_sort: bool,
    gets: Vec<Blob>,
    store: Option<Blob>,
}

/// The bytes C string functions see of an argument: up to its first NUL.
fn c_string(bytes: &[u8]) -> &[u8] {
    &bytes[..bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len())]
}

fn parse_options(argv: Argv<'_>, readonly: bool) -> Result<SortOptions, CmdError> {
    let mut options = SortOptions {
        desc: false,
        alpha: false,
        limit_start: 0,
        limit_count: -1,
        by: None,
        dont_sort: false,
        gets: Vec::new(),
        store: None,
    };
    let mut i = 2;
    while i < argv.len() {
        let left = argv.len() - i - 1;
        let option = argv.get(i).to_ascii_lowercase();
        match option.as_slice() {
            b"asc" => options.desc = false,
            b"desc" => options.desc = true,
            b"alpha" => options.alpha = true,
            b"limit" if left >= 2 => {
                options.limit_start = super::int_arg(argv.get(i + 1))?;
                options.limit_count = super::int_arg(argv.get(i + 2))?;
                i += 2;
            }
            b"store" if !readonly && left >= 1 => {
                options.store = Some(blob(argv.get(i + 1)));
                i += 1;
            }
            b"by" if left >= 1 => {
                let pattern = argv.get(i + 1);
                if !c_string(pattern).contains(&b'*') {
                    options.dont_sort = true;
                }
                options.by = Some(blob(pattern));
                i += 1;
            }
            b"get" if left >= 1 => {
                options.gets.push(blob(argv.get(i + 1)));
                i += 1;
            }
            _ => return Err(CmdError::Syntax),
        }
        i += 1;
    }
    Ok(options)
}

/// What a BY or GET pattern names for an element.
enum Pattern<'p> {
    /// `#`: the element itself.
    Element,
    /// No `*`: nothing (a fixed key is never looked up).
    Constant,
    /// `prefix*suffix`, optionally `->field` of the hash found there.
    Key {
        prefix: &'p [u8],
        suffix: &'p [u8],
        field: Option<&'p [u8]>,
    },
}

impl<'p> Pattern<'p> {
    /// Splits a pattern as Redis does, with C string searches: the `*` and
    /// the `->` are looked for before any NUL byte.
    fn parse(pattern: &'p [u8]) -> Self {
        if pattern.first() == Some(&b'#') && pattern.get(1).is_none_or(|&b| b == 0) {
            return Pattern::Element;
        }
        let searched = c_string(pattern);
        let Some(star) = searched.iter().position(|&b| b == b'*') else {
            return Pattern::Constant;
        };
        let arrow = searched[star + 1..]
            .windows(2)
            .position(|w| w == b"->")
            .map(|at| star + 1 + at)
            .filter(|&at| at + 2 < searched.len());
        match arrow {
            Some(at) => Pattern::Key {
                prefix: &pattern[..star],
                suffix: &pattern[star + 1..at],
                field: Some(&pattern[at + 2..]),
            },
            None => Pattern::Key {
                prefix: &pattern[..star],
                suffix: &pattern[star + 1..],
                field: None,
            },
        }
    }
}

/// The value `pattern` names for `element`: the string at the key it
/// makes, or the field of the hash there; `None` when missing or of
/// another type.
fn lookup_by_pattern(ctx: &mut Ctx<'_>, pattern: &[u8], element: &[u8]) -> Option<Blob> {
    let (prefix, suffix, field) = match Pattern::parse(pattern) {
        Pattern::Element => return Some(blob(element)),
        Pattern::Constant => return None,
        Pattern::Key {
            prefix,
            suffix,
            field,
        } => (prefix, suffix, field),
    };
    let mut key = Vec::with_capacity(prefix.len() + element.len() + suffix.len());
    key.extend_from_slice(prefix);
    key.extend_from_slice(element);
    key.extend_from_slice(suffix);
    match (&ctx.lookup(&key)?.value, field) {
        (Value::Hash(hash), Some(field)) => hash.get(field).cloned(),
        (Value::Str(value), None) => Some(value.clone()),
        _ => None,
    }
}

/// C's `isspace` in the C locale.
fn is_c_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// An element's score as SORT reads it: `strtod` over the whole value (a
/// C string, so up to its first NUL), which must leave nothing behind and
/// give a number that neither is NaN nor over- or underflowed. Leading
/// spaces, hexadecimal numbers and `inf` are accepted; an empty value is 0.
fn sort_score(value: &[u8]) -> Option<f64> {
    let text = c_string(value);
    if text.is_empty() {
        // No conversion: strtod's end is the start, which is the NUL.
        return Some(0.0);
    }
    let body = &text[text.iter().position(|&b| !is_c_space(b))?..];
    let (negative, unsigned) = match body.first() {
        Some(b'-') => (true, &body[1..]),
        Some(b'+') => (false, &body[1..]),
        _ => (false, body),
    };
    let magnitude = parse_unsigned_strtod(unsigned)?;
    Some(if negative { -magnitude } else { magnitude })
}

/// The magnitude strtod reads from `text` when it consumes all of it;
/// `None` when it stops early, reads NaN or sets `ERANGE`.
fn parse_unsigned_strtod(text: &[u8]) -> Option<f64> {
    let lower = text.to_ascii_lowercase();
    if lower.starts_with(b"inf") {
        return (lower == b"inf" || lower == b"infinity").then_some(f64::INFINITY);
    }
    let is_hex_digit = |b: Option<&u8>| b.is_some_and(u8::is_ascii_hexdigit);
    let hex = lower.starts_with(b"0x")
        && (is_hex_digit(lower.get(2))
            || (lower.get(2) == Some(&b'.') && is_hex_digit(lower.get(3))));
    let (value, exact, mantissa) = if hex {
        let digits = &lower[2..];
        let (value, exact) = parse_hex_float(digits)?;
        (value, exact, digits.split(|&b| b == b'p').next())
    } else {
        let digits = lower.iter().filter(|b| b.is_ascii_digit()).count();
        if digits == 0 || decimal_float_length(&lower) != lower.len() {
            return None;
        }
        let value = std::str::from_utf8(&lower).ok()?.parse::<f64>().ok()?;
        // A decimal subnormal is never exact in binary.
        (value, false, lower.split(|&b| b == b'e').next())
    };
    let mantissa_nonzero = mantissa
        .unwrap_or_default()
        .iter()
        .any(|&b| b.is_ascii_hexdigit() && b != b'0');
    // glibc sets ERANGE on overflow and on an inexact result too small to
    // be a normal number.
    let overflowed = value.is_infinite();
    let underflowed = mantissa_nonzero && value < f64::MIN_POSITIVE && !exact;
    (!overflowed && !underflowed).then_some(value)
}

/// How many bytes of `text` form a decimal float: digits, an optional
/// fraction, an optional exponent (taken only when it has digits).
fn decimal_float_length(text: &[u8]) -> usize {
    let digits_from = |at: usize| text[at..].iter().take_while(|b| b.is_ascii_digit()).count();
    let mut at = digits_from(0);
    if text.get(at) == Some(&b'.') {
        at += 1 + digits_from(at + 1);
    }
    if text.get(at) == Some(&b'e') {
        let sign = usize::from(matches!(text.get(at + 1), Some(b'+' | b'-')));
        let exponent_digits = digits_from(at + 1 + sign);
        if exponent_digits > 0 {
            at += 1 + sign + exponent_digits;
        }
    }
    at
}

/// A hexadecimal float after its `0x` (lower-cased): hex digits, an
/// optional fraction, an optional binary exponent `p[+-]digits`; `None`
/// unless it is all of `text`. Also tells whether the value is exact.
fn parse_hex_float(text: &[u8]) -> Option<(f64, bool)> {
    // Up to 30 significant digits are kept exactly (120 bits); later
    // nonzero digits only round, through a sticky low bit.
    let mut mantissa: u128 = 0;
    let mut kept = 0;
    let mut sticky = false;
    let mut exponent: i64 = 0;
    let mut at = 0;
    let mut in_fraction = false;
    while let Some(&b) = text.get(at) {
        if b == b'.' && !in_fraction {
            in_fraction = true;
        } else if let Some(digit) = (b as char).to_digit(16) {
            if kept < 30 {
                if mantissa != 0 || digit != 0 {
                    kept += 1;
                }
                mantissa = mantissa * 16 + u128::from(digit);
                if in_fraction {
                    exponent -= 4;
                }
            } else {
                sticky |= digit != 0;
                if !in_fraction {
                    exponent += 4;
                }
            }
        } else {
            break;
        }
        at += 1;
    }
    if text.get(at) == Some(&b'p') {
        let sign_len = usize::from(matches!(text.get(at + 1), Some(b'+' | b'-')));
        let digits = &text[at + 1 + sign_len..];
        let count = digits.iter().take_while(|b| b.is_ascii_digit()).count();
        if count > 0 {
            let magnitude = digits[..count].iter().fold(0i64, |acc, &d| {
                acc.saturating_mul(10).saturating_add(i64::from(d - b'0'))
            });
            exponent = exponent.saturating_add(if text[at + 1] == b'-' {
                -magnitude
            } else {
                magnitude
            });
            at += 1 + sign_len + count;
        }
    }
    if at != text.len() {
        return None;
    }
    let exact = !sticky && mantissa != 0 && {
        let (low_zeros, bits) = (mantissa.trailing_zeros(), 128 - mantissa.leading_zeros());
        bits - low_zeros <= 53 && exponent.saturating_add(i64::from(low_zeros)) >= -1074
    };
    let mantissa = (mantissa << 1) | u128::from(sticky);
    let scale = exponent.saturating_sub(1).clamp(-4000, 4000) as i32;
    // Two steps keep the power of two representable.
    let half = scale / 2;
    Some((
        mantissa as f64 * 2f64.powi(half) * 2f64.powi(scale - half),
        exact,
    ))
}

/// One element being sorted, with what it sorts by.
struct SortItem {
    element: Blob,
    score: f64,
    /// The value found by the BY pattern in an ALPHA sort.
    compare_by: Option<Blob>,
}

impl SortItem {
    /// An element before its weight is looked up.
    fn unscored(element: Blob) -> Self {
        SortItem {
            element,
            score: 0.0,
            compare_by: None,
        }
    }
}

/// strcoll in the C locale: byte order over the C strings.
fn collate(a: &[u8], b: &[u8]) -> Ordering {
    c_string(a).cmp(c_string(b))
}

/// The source's type, which decides how a `dont_sort` read goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SourceKind {
    List,
    Set,
    ZSet,
}

fn sort_generic(ctx: &mut Ctx<'_>, argv: Argv<'_>, readonly: bool) -> CmdResult {
    let mut options = parse_options(argv, readonly)?;
    // A missing key sorts as an empty list.
    let (kind, elements): (SourceKind, Vec<Blob>) = match ctx.lookup(argv.get(1)).map(|e| &e.value)
    {
        None => (SourceKind::List, Vec::new()),
        Some(Value::List(list)) => (SourceKind::List, list.iter().cloned().collect()),
        Some(Value::Set(set)) => (SourceKind::Set, reply_order(set)),
        Some(Value::ZSet(zset)) => (
            SourceKind::ZSet,
            zset.iter().map(|(member, _)| blob(member)).collect(),
        ),
        Some(_) => return Err(CmdError::WrongType),
    };
    // A set read unsorted would store (or replicate) its layout, or give a
    // script an order of the node's own: Redis sorts it ALPHA instead.
    if options.dont_sort && kind == SourceKind::Set && (options.store.is_some() || ctx.in_script) {
        options.dont_sort = false;
        options.alpha = true;
        options.by = None;
    }
    let sorted_by = if options.dont_sort {
        None
    } else {
        options.by.clone()
    };

    let length = elements.len() as i64;
    let mut start = options.limit_start.max(0).min(length);
    let limit_count = options.limit_count.max(-1).min(length);
    let mut end = if limit_count < 0 {
        length - 1
    } else {
        start + limit_count - 1
    };
    if start >= length {
        start = length - 1;
        end = length - 2;
    }
    if end >= length {
        end = length - 1;
    }

    let mut items: Vec<SortItem> = if options.dont_sort && kind != SourceKind::Set {
        // Lists and sorted sets keep their own order (reversed by DESC),
        // and only the LIMIT range is read.
        let range = if end >= start {
            (end - start + 1) as usize
        } else {
            0
        };
        let skip = start.max(0) as usize;
        let picked: Vec<Blob> = if options.desc {
            elements.into_iter().rev().skip(skip).take(range).collect()
        } else {
            elements.into_iter().skip(skip).take(range).collect()
        };
        end -= start;
        start = 0;
        picked.into_iter().map(SortItem::unscored).collect()
    } else {
        elements.into_iter().map(SortItem::unscored).collect()
    };

    let mut conversion_failed = false;
    if !options.dont_sort {
        for item in &mut items {
            let by_value = match &sorted_by {
                Some(pattern) => match lookup_by_pattern(ctx, pattern, &item.element) {
                    Some(value) => value,
                    None => continue,
                },
                None => item.element.clone(),
            };
            if options.alpha {
                if sorted_by.is_some() {
                    item.compare_by = Some(by_value);
                }
            } else {
                match sort_score(&by_value) {
                    Some(score) => item.score = score,
                    None => conversion_failed = true,
                }
            }
        }
        let (alpha, storing, desc) = (options.alpha, options.store.is_some(), options.desc);
        let by_pattern = sorted_by.is_some();
        items.sort_by(|a, b| {
            let order = if !alpha {
                a.score
                    .partial_cmp(&b.score)
                    .unwrap_or(Ordering::Equal)
                    .then_with(|| a.element.as_slice().cmp(b.element.as_slice()))
            } else if by_pattern {
                match (&a.compare_by, &b.compare_by) {
                    (None, None) => Ordering::Equal,
                    (None, Some(_)) => Ordering::Less,
                    (Some(_), None) => Ordering::Greater,
                    (Some(x), Some(y)) if storing => x.as_slice().cmp(y.as_slice()),
                    (Some(x), Some(y)) => collate(x, y),
                }
            } else if storing {
                a.element.as_slice().cmp(b.element.as_slice())
            } else {
                collate(&a.element, &b.element)
            };
            if desc {
                order.reverse()
            } else {
                order
            }
        });
    }

    if conversion_failed {
        return Err(CmdError::err(
            "One or more scores can't be converted into double",
        ));
    }
    let selected: &[SortItem] = if end >= start {
        &items[start as usize..=end as usize]
    } else {
        &[]
    };
    let per_element = options.gets.len().max(1);
    let output_len = per_element * selected.len();
    let Some(destination) = options.store else {
        ctx.out.array(output_len);
        for item in selected {
            if options.gets.is_empty() {
                ctx.out.bulk(&item.element);
            }
            for pattern in &options.gets {
                let found = lookup_by_pattern(ctx, pattern, &item.element);
                ctx.out.bulk_opt(found.as_deref());
            }
        }
        return Ok(());
    };

    let mut stored: VecDeque<Blob> = VecDeque::with_capacity(output_len);
    for item in selected {
        if options.gets.is_empty() {
            stored.push_back(item.element.clone());
        }
        for pattern in &options.gets {
            let found = lookup_by_pattern(ctx, pattern, &item.element);
            stored.push_back(found.unwrap_or_default());
        }
    }
    if output_len > 0 {
        // Redis's setKey looks the destination up for writing first, so an
        // expired one is deleted (and its DEL propagated) before.
        ctx.expire_if_needed(&destination);
        ctx.db().insert(&destination, Value::List(Box::new(stored)));
        super::pops::touch(ctx, &destination);
        ctx.notify(notify::LIST, "sortstore", &destination);
        ctx.changed(output_len as u64);
    } else if ctx.db().remove(&destination).is_some() {
        super::pops::touch(ctx, &destination);
        ctx.notify(notify::GENERIC, "del", &destination);
        ctx.changed(1);
    }
    ctx.out.integer(output_len as i64);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_are_read_as_strtod_reads_them() {
        assert_eq!(sort_score(b"1.5"), Some(1.5));
        assert_eq!(sort_score(b""), Some(0.0));
        assert_eq!(sort_score(b"  -3"), Some(-3.0));
        assert_eq!(sort_score(b"0x10"), Some(16.0));
        assert_eq!(sort_score(b"0x1.8p1"), Some(3.0));
        assert_eq!(sort_score(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(sort_score(b"Infinity"), Some(f64::INFINITY));
        assert_eq!(sort_score(b"1e3"), Some(1000.0));
        assert_eq!(sort_score(b"7\0junk"), Some(7.0));
        assert_eq!(sort_score(b"0"), Some(0.0));
        assert_eq!(sort_score(b"0e500"), Some(0.0));
        assert_eq!(sort_score(b"0x1p-1074"), Some(f64::from_bits(1)));
        for bad in [
            &b"nan"[..],
            b"abc",
            b" ",
            b"1 ",
            b"0x",
            b"1e",
            b"1e999",
            b"1e-999",
            b"1e-310",
            b"0x3p-1075",
            b"infx",
            b"+",
            b".",
        ] {
            assert_eq!(sort_score(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn patterns_split_at_the_first_star_and_a_later_arrow() {
        assert!(matches!(Pattern::parse(b"#"), Pattern::Element));
        assert!(matches!(Pattern::parse(b"fixed"), Pattern::Constant));
        assert!(matches!(
            Pattern::parse(b"w_*->f"),
            Pattern::Key {
                prefix: b"w_",
                suffix: b"",
                field: Some(b"f")
            }
        ));
        // An arrow with no field after it is part of the key name.
        assert!(matches!(
            Pattern::parse(b"w_*->"),
            Pattern::Key {
                prefix: b"w_",
                suffix: b"->",
                field: None
            }
        ));
        assert!(matches!(
            Pattern::parse(b"a->b*c"),
            Pattern::Key {
                prefix: b"a->b",
                suffix: b"c",
                field: None
            }
        ));
    }
}
