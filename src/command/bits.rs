//! Bit commands: SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD BITFIELD_RO.
//!
//! They read a string as an array of bits, bit 0 being the most significant
//! bit of the first byte; past the end of the string (or for a missing key)
//! every bit is 0. The writing commands grow the string with zero bytes as
//! far as the highest bit they write and leave it `raw`, as Redis unshares
//! the string into a raw one before it changes it (even when, in the end,
//! nothing changes). Integer-encoded strings are read as their decimal text,
//! which is what replsim stores for them anyway.
//!
//! The arithmetic of BITFIELD (two's complement fields of 1 to 64 bits,
//! unsigned ones of 1 to 63, and the WRAP/SAT/FAIL overflow rules) follows
//! Redis 7.0 case for case, the corner cases of its overflow checks
//! included: SET of a value far outside a signed field saturates to the
//! maximum whichever side it is on, as Redis's does.

use super::flags::*;
use super::{int_arg, spec, CmdError, CmdResult, CommandSpec, Ctx, KEY1};
use crate::keyspace::{Blob, Encoding, Value};
use crate::resp::{parse_i64, Argv};
use crate::server::pubsub::notify;

pub(super) static COMMANDS: &[CommandSpec] = &[
    spec("setbit", 4, WRITE | DENYOOM, KEY1, setbit),
    spec("getbit", 3, READONLY | FAST, KEY1, getbit),
    spec("bitcount", -2, READONLY, KEY1, bitcount),
    spec("bitpos", -3, READONLY, KEY1, bitpos),
    spec("bitop", -4, WRITE | DENYOOM, (2, -1, 1), bitop),
    spec("bitfield", -2, WRITE | DENYOOM, KEY1, bitfield),
    spec("bitfield_ro", -2, READONLY | FAST, KEY1, bitfield_ro),
];

/// Redis's reply to a bad bit offset (SETBIT, GETBIT, BITFIELD).
const BAD_OFFSET: &str = "bit offset is not an integer or out of range";

/// Redis's reply to a bad BITFIELD type.
const BAD_FIELD_TYPE: &str =
    "Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";

/// Parses a bit offset as Redis's `getBitOffsetFromArgument` does. With
/// `positional_width` (BITFIELD), `#N` means N fields of that width, the
/// product wrapping as Redis's 64-bit multiplication does. A negative
/// offset is refused, and so is one whose byte lies at or past
/// `proto-max-bulk-len` unless `unlimited` (commands from our master,
/// which Redis obeys whatever their size).
fn bit_offset(
    arg: &[u8],
    positional_width: Option<u32>,
    max_bulk_len: u64,
    unlimited: bool,
) -> Result<u64, CmdError> {
    let (digits, width) = match (arg.first(), positional_width) {
        (Some(b'#'), Some(width)) => (&arg[1..], Some(width)),
        _ => (arg, None),
    };
    let bad = || CmdError::err(BAD_OFFSET);
    let mut offset = parse_i64(digits).ok_or_else(bad)?;
    if let Some(width) = width {
        offset = offset.wrapping_mul(i64::from(width));
    }
    if offset < 0 || (!unlimited && (offset as u64 >> 3) >= max_bulk_len) {
        return Err(bad());
    }
    Ok(offset as u64)
}

impl Ctx<'_> {
    /// A bit offset argument under this client's limits (see
    /// [`bit_offset`]).
    fn bit_offset_arg(&self, arg: &[u8], positional_width: Option<u32>) -> Result<u64, CmdError> {
        bit_offset(
            arg,
            positional_width,
            self.state.config.proto_max_bulk_len,
            self.client.is_master,
        )
    }

    /// Redis's `lookupStringForBitCommand`: the string at `key` made long
    /// enough to hold bit `max_bit` (created as zeros when missing, grown
    /// with zero bytes when short) and left `raw`. True when it was
    /// created or grew: every write then counts as a change, even of a bit
    /// to the value it had.
    fn string_for_bit_write(&mut self, key: &[u8], max_bit: u64) -> Result<bool, CmdError> {
        let len = usize::try_from(max_bit >> 3)
            .ok()
            .and_then(|byte| byte.checked_add(1))
            .ok_or_else(|| CmdError::err(BAD_OFFSET))?;
        let grew = match self.read_string(key)? {
            None => {
                let mut zeros = Blob::new();
                zeros.resize(len, 0);
                self.db().insert(key, Value::Str(zeros));
                true
            }
            Some(s) if s.len() < len => {
                if let Some(Value::Str(s)) = self.db().value_mut(key) {
                    s.resize(len, 0);
                }
                true
            }
            Some(_) => false,
        };
        self.db().set_encoding(key, Encoding::Raw);
        Ok(grew)
    }

    /// The string at `key` for in-place changes (it exists: see
    /// [`Ctx::string_for_bit_write`]).
    fn bits_mut(&mut self, key: &[u8]) -> &mut Blob {
        match self.db().value_mut(key) {
            Some(Value::Str(s)) => s,
            _ => unreachable!("string_for_bit_write made it a string"),
        }
    }
}

/// SETBIT key offset 0|1: sets or clears one bit, growing the string with
/// zero bytes (or creating it) as far as that bit; replies with the bit's
/// old value. The offset must lie within `proto-max-bulk-len` bytes.
///
/// # Propagation
/// Verbatim, when the string was created, grew or the bit changed; a
/// SETBIT that leaves the string as it was is neither propagated nor
/// counted as a change (no `setbit` event, WATCH not touched), though it
/// leaves the string `raw`.
fn setbit(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let key = argv.get(1);
    let offset = ctx.bit_offset_arg(argv.get(2), None)?;
    let bad_bit = || CmdError::err("bit is not an integer or out of range");
    let on = match parse_i64(argv.get(3)).ok_or_else(bad_bit)? {
        0 => false,
        1 => true,
        _ => return Err(bad_bit()),
    };
    let grew = ctx.string_for_bit_write(key, offset)?;
    let bits = ctx.bits_mut(key);
    let byte = (offset >> 3) as usize;
    let mask = 0x80u8 >> (offset & 7);
    let old = bits[byte] & mask != 0;
    if grew || old != on {
        if on {
            bits[byte] |= mask;
        } else {
            bits[byte] &= !mask;
        }
        ctx.changed(1);
        ctx.notify(notify::STRING, "setbit", key);
    }
    ctx.out.integer(i64::from(old));
    Ok(())
}

/// GETBIT key offset: one bit; 0 past the end of the string or for a
/// missing key.
///
/// # Propagation
/// None (read-only).
fn getbit(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let offset = ctx.bit_offset_arg(argv.get(2), None)?;
    let bit = ctx
        .read_string(argv.get(1))?
        .is_some_and(|s| bit_at(s, offset));
    ctx.out.integer(i64::from(bit));
    Ok(())
}

/// The bit at `offset` (0 past the end).
fn bit_at(bytes: &[u8], offset: u64) -> bool {
    usize::try_from(offset >> 3)
        .ok()
        .and_then(|byte| bytes.get(byte))
        .is_some_and(|b| b & (0x80 >> (offset & 7)) != 0)
}

/// Whether BITCOUNT's and BITPOS's range counts bytes or bits.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum RangeUnit {
    Byte,
    Bit,
}

/// Parses the optional `BYTE|BIT` argument (any case).
fn range_unit(arg: &[u8]) -> Result<RangeUnit, CmdError> {
    if arg.eq_ignore_ascii_case(b"bit") {
        Ok(RangeUnit::Bit)
    } else if arg.eq_ignore_ascii_case(b"byte") {
        Ok(RangeUnit::Byte)
    } else {
        Err(CmdError::Syntax)
    }
}

/// Turns a `start end` range in `unit`s (negative ones counting from the
/// end) over a string of `len_bytes` bytes into the inclusive range of
/// bits it covers, clamped to the string; `None` when it is empty.
fn bit_range(start: i64, end: i64, unit: RangeUnit, len_bytes: usize) -> Option<(u64, u64)> {
    let total = match unit {
        RangeUnit::Byte => len_bytes as i64,
        RangeUnit::Bit => (len_bytes as i64) << 3,
    };
    let from_end = |index: i64| if index < 0 { total + index } else { index };
    let start = from_end(start).max(0);
    let end = from_end(end).max(0).min(total - 1);
    if start > end {
        return None;
    }
    let (start, end) = (start as u64, end as u64);
    Some(match unit {
        RangeUnit::Byte => (start << 3, (end << 3) | 7),
        RangeUnit::Bit => (start, end),
    })
}

/// The number of set bits from bit `first` to bit `last` (inclusive,
/// both within `bytes`).
fn count_ones(bytes: &[u8], first: u64, last: u64) -> u64 {
    let (first_byte, last_byte) = ((first >> 3) as usize, (last >> 3) as usize);
    let head_mask = 0xffu8 >> (first & 7);
    let tail_mask = 0xffu8 << (7 - (last & 7));
    if first_byte == last_byte {
        return u64::from((bytes[first_byte] & head_mask & tail_mask).count_ones());
    }
    let head = u64::from((bytes[first_byte] & head_mask).count_ones());
    let tail = u64::from((bytes[last_byte] & tail_mask).count_ones());
    let middle = &bytes[first_byte + 1..last_byte];
    let mut words = middle.chunks_exact(8);
    let mut count: u64 = words
        .by_ref()
        .map(|w| u64::from(u64::from_ne_bytes(w.try_into().expect("8 bytes")).count_ones()))
        .sum();
    count += words
        .remainder()
        .iter()
        .map(|b| u64::from(b.count_ones()))
        .sum::<u64>();
    head + count + tail
}

/// The first bit equal to `bit` from bit `first` to bit `last` (inclusive,
/// both within `bytes`).
fn find_bit(bytes: &[u8], bit: bool, first: u64, last: u64) -> Option<u64> {
    // Bytes where no bit matches: all zeros when looking for a one, all
    // ones when looking for a zero.
    let skip = if bit { 0x00u8 } else { 0xff };
    let (first_byte, last_byte) = ((first >> 3) as usize, (last >> 3) as usize);
    let word_skip = u64::from_ne_bytes([skip; 8]);
    let mut byte = first_byte;
    while byte <= last_byte {
        // Whole words that cannot match (the last byte never among them),
        // then one byte.
        while byte + 8 <= last_byte
            && u64::from_ne_bytes(bytes[byte..byte + 8].try_into().expect("8 bytes")) == word_skip
        {
            byte += 8;
        }
        let value = bytes[byte];
        if value != skip {
            let low = if byte == first_byte { first & 7 } else { 0 };
            let high = if byte == last_byte { last & 7 } else { 7 };
            for index in low..=high {
                if (value & (0x80 >> index) != 0) == bit {
                    return Some(((byte as u64) << 3) + index);
                }
            }
        }
        byte += 1;
    }
    None
}

/// BITCOUNT key [start end [BYTE|BIT]]: the number of set bits in the
/// string, or in a range of it (bytes by default, bits with BIT; negative
/// indexes count from the end). A missing key counts 0 before its
/// arguments are looked at, as in Redis; so does a range whose negative
/// start lies after its negative end, before the unit is read.
///
/// # Propagation
/// None (read-only).
fn bitcount(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let Some(bytes) = ctx.read_string(argv.get(1))? else {
        ctx.out.integer(0);
        return Ok(());
    };
    let range = match argv.len() {
        2 => bit_range(0, -1, RangeUnit::Byte, bytes.len()),
        4 | 5 => {
            let (start, end) = (int_arg(argv.get(2))?, int_arg(argv.get(3))?);
            if start < 0 && end < 0 && start > end {
                None
            } else {
                let unit = if argv.len() == 5 {
                    range_unit(argv.get(4))?
                } else {
                    RangeUnit::Byte
                };
                bit_range(start, end, unit, bytes.len())
            }
        }
        _ => return Err(CmdError::Syntax),
    };
    let count = range.map_or(0, |(first, last)| count_ones(bytes, first, last));
    ctx.out.integer(count as i64);
    Ok(())
}

/// BITPOS key 0|1 [start [end [BYTE|BIT]]]: the position of the first bit
/// set to 1 (or 0) in the string or in a range of it, counted from the
/// start of the string; -1 when there is none. Looking for a 0 without an
/// explicit end reads the string as followed by zeros: when the range has
/// none, the reply is the first bit past the string. A missing key is all
/// zeros (0 for a 0, -1 for a 1, whatever the range); an empty range is -1.
///
/// # Propagation
/// None (read-only).
fn bitpos(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let bit = match int_arg(argv.get(2))? {
        0 => false,
        1 => true,
        _ => return Err(CmdError::err("The bit argument must be 1 or 0.")),
    };
    let Some(bytes) = ctx.read_string(argv.get(1))? else {
        ctx.out.integer(if bit { -1 } else { 0 });
        return Ok(());
    };
    let (range, end_given) = match argv.len() {
        3 => (bit_range(0, -1, RangeUnit::Byte, bytes.len()), false),
        4..=6 => {
            let start = int_arg(argv.get(3))?;
            let unit = if argv.len() == 6 {
                range_unit(argv.get(5))?
            } else {
                RangeUnit::Byte
            };
            let end = if argv.len() >= 5 {
                int_arg(argv.get(4))?
            } else {
                // The last unit of the string (clamped in bit_range).
                i64::MAX
            };
            (bit_range(start, end, unit, bytes.len()), argv.len() >= 5)
        }
        _ => return Err(CmdError::Syntax),
    };
    let position = match range {
        None => -1,
        Some((first, last)) => match find_bit(bytes, bit, first, last) {
            Some(found) => found as i64,
            None if bit || end_given => -1,
            // Not found up to the end of the string: the zero padding
            // that follows it.
            None => ((last >> 3) + 1) as i64 * 8,
        },
    };
    ctx.out.integer(position);
    Ok(())
}

/// BITOP's operations.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum BitOperation {
    And,
    Or,
    Xor,
    Not,
}

/// Combines `sources` (missing keys as empty strings) byte by byte, each
/// padded with zero bytes to the longest; empty when every source is.
/// One pass per source over whole slices, which the compiler turns into
/// word-wide operations.
fn combine(operation: BitOperation, sources: &[&[u8]]) -> Vec<u8> {
    let longest = sources.iter().map(|s| s.len()).max().unwrap_or(0);
    let Some((first, rest)) = sources.split_first() else {
        return Vec::new();
    };
    let mut result = vec![0u8; longest];
    result[..first.len()].copy_from_slice(first);
    match operation {
        BitOperation::Not => result.iter_mut().for_each(|b| *b = !*b),
        BitOperation::And => {
            for source in rest {
                for (r, b) in result.iter_mut().zip(source.iter()) {
                    *r &= b;
                }
                // AND with the zero padding.
                result[source.len()..].fill(0);
            }
        }
        BitOperation::Or => {
            for source in rest {
                for (r, b) in result.iter_mut().zip(source.iter()) {
                    *r |= b;
                }
            }
        }
        BitOperation::Xor => {
            for source in rest {
                for (r, b) in result.iter_mut().zip(source.iter()) {
                    *r ^= b;
                }
            }
        }
    }
    result
}

/// BITOP AND|OR|XOR|NOT destkey key [key ...]: combines the source strings
/// (missing keys are empty, shorter strings padded with zero bytes; NOT
/// takes exactly one) and stores the result in destkey as a new `raw`
/// string without TTL; replies with its length. An empty result deletes
/// destkey instead. A non-string source is WRONGTYPE, reported for the
/// first in argument order.
///
/// # Propagation
/// Verbatim, when destkey was written or deleted. Only destkey counts as
/// modified for WATCH.
fn bitop(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let name = argv.get(1);
    let operation = [
        (&b"and"[..], BitOperation::And),
        (b"or", BitOperation::Or),
        (b"xor", BitOperation::Xor),
        (b"not", BitOperation::Not),
    ]
    .into_iter()
    .find(|(text, _)| name.eq_ignore_ascii_case(text))
    .map(|(_, operation)| operation)
    .ok_or(CmdError::Syntax)?;
    if operation == BitOperation::Not && argv.len() != 4 {
        return Err(CmdError::err(
            "BITOP NOT must be called with a single source key.",
        ));
    }
    let dest = argv.get(2);
    // First every lookup (expiring keys, checking types in order), then the
    // operation over what was found.
    let mut present = Vec::with_capacity(argv.len() - 3);
    for key in argv.iter().skip(3) {
        present.push(ctx.read_string(key)?.is_some());
    }
    let db = ctx.state.keyspace.db(ctx.client.db);
    let sources: Vec<&[u8]> = argv
        .iter()
        .skip(3)
        .zip(&present)
        .map(
            |(key, &found)| match db.get(key).map(|entry| &entry.value) {
                Some(Value::Str(s)) if found => s.as_slice(),
                _ => &[][..],
            },
        )
        .collect();
    let result = combine(operation, &sources);
    let len = result.len();
    // The keys for WATCH: destkey alone, not the sources.
    ctx.keys_untouched();
    let db_index = ctx.client.db;
    if len > 0 {
        ctx.db().insert(dest, Value::Str(Blob::from_vec(result)));
        // A new object from the computed buffer: never int or embstr.
        ctx.db().set_encoding(dest, Encoding::Raw);
        ctx.state.watches.touch(db_index, dest, true);
        ctx.changed(1);
        ctx.notify(notify::STRING, "set", dest);
    } else if ctx.db().remove(dest).is_some() {
        ctx.state.watches.touch(db_index, dest, false);
        ctx.changed(1);
        ctx.notify(notify::GENERIC, "del", dest);
    }
    ctx.out.integer(len as i64);
    Ok(())
}

/// A BITFIELD integer type: `i1`..`i64` or `u1`..`u63`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct FieldType {
    signed: bool,
    bits: u32,
}

/// Parses a BITFIELD type. Like Redis's, the width is read up to the first
/// NUL byte.
fn field_type(arg: &[u8]) -> Result<FieldType, CmdError> {
    let bad = || CmdError::err(BAD_FIELD_TYPE);
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(bad()),
    };
    let width = &arg[1..];
    let width = &width[..width.iter().position(|&b| b == 0).unwrap_or(width.len())];
    let bits = parse_i64(width).ok_or_else(bad)?;
    let most = if signed { 64 } else { 63 };
    if !(1..=most).contains(&bits) {
        return Err(bad());
    }
    Ok(FieldType {
        signed,
        bits: bits as u32,
    })
}

/// What BITFIELD does when SET or INCRBY do not fit the field.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum OverflowPolicy {
    /// Wrap around (modulo for unsigned, two's complement for signed).
    Wrap,
    /// Saturate at the field's minimum or maximum.
    Sat,
    /// Write nothing and reply nil.
    Fail,
}

/// One BITFIELD operation.
#[derive(Clone, Copy, Debug)]
struct FieldOp {
    kind: FieldOpKind,
    field: FieldType,
    offset: u64,
    overflow: OverflowPolicy,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum FieldOpKind {
    Get,
    Set(i64),
    IncrBy(i64),
}

/// The outcome of an overflow check: whether the result fits, and, when
/// it does not, the value WRAP or SAT stores (none under FAIL).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fit<T> {
    Fits,
    Overflows(Option<T>),
}

/// Redis's unsigned overflow check of `value + increment` in a field of
/// `bits` bits (`value` may come from SET, already outside the field).
fn unsigned_fit(value: u64, increment: i64, bits: u32, policy: OverflowPolicy) -> Fit<u64> {
    let max = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let max_increment = max.wrapping_sub(value) as i64;
    let min_increment = value.wrapping_neg() as i64;
    let limit = |saturated: u64| match policy {
        OverflowPolicy::Wrap => {
            let sum = value.wrapping_add(increment as u64);
            Some(if bits == 64 { sum } else { sum & max })
        }
        OverflowPolicy::Sat => Some(saturated),
        OverflowPolicy::Fail => None,
    };
    if value > max || (increment > 0 && increment > max_increment) {
        Fit::Overflows(limit(max))
    } else if increment < 0 && increment < min_increment {
        Fit::Overflows(limit(0))
    } else {
        Fit::Fits
    }
}

/// Redis's signed overflow check of `value + increment` in a field of
/// `bits` bits, its wrapping corner cases included.
fn signed_fit(value: i64, increment: i64, bits: u32, policy: OverflowPolicy) -> Fit<i64> {
    let max = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let max_increment = (max as u64).wrapping_sub(value as u64) as i64;
    let min_increment = min.wrapping_sub(value);
    let limit = |saturated: i64| match policy {
        OverflowPolicy::Wrap => {
            let mut sum = (value as u64).wrapping_add(increment as u64);
            if bits < 64 {
                let high = u64::MAX << bits;
                if sum & (1u64 << (bits - 1)) != 0 {
                    sum |= high;
                } else {
                    sum &= !high;
                }
            }
            Some(sum as i64)
        }
        OverflowPolicy::Sat => Some(saturated),
        OverflowPolicy::Fail => None,
    };
    let wide = bits != 64;
    if value > max
        || (wide && increment > max_increment)
        || (value >= 0 && increment > 0 && increment > max_increment)
    {
        Fit::Overflows(limit(max))
    } else if value < min
        || (wide && increment < min_increment)
        || (value < 0 && increment < 0 && increment < min_increment)
    {
        Fit::Overflows(limit(min))
    } else {
        Fit::Fits
    }
}

/// The `bits` bits from bit `offset` on, as an unsigned number (bits past
/// the end of `bytes` read as 0).
fn read_field(bytes: &[u8], offset: u64, bits: u32) -> u64 {
    (0..u64::from(bits)).fold(0u64, |value, i| {
        (value << 1) | u64::from(bit_at(bytes, offset + i))
    })
}

/// Stores the low `bits` bits of `value` from bit `offset` on (within
/// `bytes`).
fn write_field(bytes: &mut [u8], offset: u64, bits: u32, value: u64) {
    for i in 0..u64::from(bits) {
        let on = value >> (u64::from(bits) - 1 - i) & 1 != 0;
        let position = offset + i;
        let byte = (position >> 3) as usize;
        let mask = 0x80u8 >> (position & 7);
        if on {
            bytes[byte] |= mask;
        } else {
            bytes[byte] &= !mask;
        }
    }
}

/// A field read as its type: sign-extended when signed.
fn field_value(raw: u64, field: FieldType) -> i64 {
    if field.signed && field.bits < 64 && raw & (1u64 << (field.bits - 1)) != 0 {
        (raw | (u64::MAX << field.bits)) as i64
    } else {
        raw as i64
    }
}

/// Parses BITFIELD's operations in Redis's order: each operation's
/// subcommand, type, offset and value, stopping at the first error.
fn parse_field_ops(ctx: &Ctx<'_>, argv: Argv<'_>) -> Result<Vec<FieldOp>, CmdError> {
    let mut ops = Vec::new();
    let mut overflow = OverflowPolicy::Wrap;
    let mut i = 2;
    while i < argv.len() {
        let remaining = argv.len() - i - 1;
        let name = argv.get(i);
        let is = |word: &[u8]| name.eq_ignore_ascii_case(word);
        let get = is(b"get") && remaining >= 2;
        if !get && !((is(b"set") || is(b"incrby")) && remaining >= 3) {
            if is(b"overflow") && remaining >= 1 {
                let policy = argv.get(i + 1);
                overflow = if policy.eq_ignore_ascii_case(b"wrap") {
                    OverflowPolicy::Wrap
                } else if policy.eq_ignore_ascii_case(b"sat") {
                    OverflowPolicy::Sat
                } else if policy.eq_ignore_ascii_case(b"fail") {
                    OverflowPolicy::Fail
                } else {
                    return Err(CmdError::err("Invalid OVERFLOW type specified"));
                };
                i += 2;
                continue;
            }
            return Err(CmdError::Syntax);
        }
        let field = field_type(argv.get(i + 1))?;
        let offset = ctx.bit_offset_arg(argv.get(i + 2), Some(field.bits))?;
        let kind = if get {
            FieldOpKind::Get
        } else {
            let value = int_arg(argv.get(i + 3))?;
            if is(b"set") {
                FieldOpKind::Set(value)
            } else {
                FieldOpKind::IncrBy(value)
            }
        };
        ops.push(FieldOp {
            kind,
            field,
            offset,
            overflow,
        });
        i += if get { 3 } else { 4 };
    }
    Ok(ops)
}

/// Runs one SET or INCRBY on `bytes` (long enough for it): the value to
/// reply with (nil when FAIL refused it) and whether the field changed.
fn apply_field_write(bytes: &mut [u8], op: &FieldOp) -> (Option<i64>, bool) {
    let FieldOp {
        kind,
        field,
        offset,
        overflow,
    } = *op;
    let old_raw = read_field(bytes, offset, field.bits);
    let (reply, new_raw) = if field.signed {
        let old = field_value(old_raw, field);
        let (new, fit, reply_new) = match kind {
            FieldOpKind::IncrBy(increment) => (
                old.wrapping_add(increment),
                signed_fit(old, increment, field.bits, overflow),
                true,
            ),
            FieldOpKind::Set(value) => (value, signed_fit(value, 0, field.bits, overflow), false),
            FieldOpKind::Get => unreachable!("GET writes nothing"),
        };
        let new = match fit {
            Fit::Fits => new,
            Fit::Overflows(Some(limit)) => limit,
            Fit::Overflows(None) => return (None, false),
        };
        (if reply_new { new } else { old }, new as u64)
    } else {
        let (new, fit, reply_new) = match kind {
            FieldOpKind::IncrBy(increment) => (
                old_raw.wrapping_add(increment as u64),
                unsigned_fit(old_raw, increment, field.bits, overflow),
                true,
            ),
            FieldOpKind::Set(value) => (
                value as u64,
                unsigned_fit(value as u64, 0, field.bits, overflow),
                false,
            ),
            FieldOpKind::Get => unreachable!("GET writes nothing"),
        };
        let new = match fit {
            Fit::Fits => new,
            Fit::Overflows(Some(limit)) => limit,
            Fit::Overflows(None) => return (None, false),
        };
        ((if reply_new { new } else { old_raw }) as i64, new)
    };
    write_field(bytes, offset, field.bits, new_raw);
    let mask = if field.bits == 64 {
        u64::MAX
    } else {
        (1u64 << field.bits) - 1
    };
    (Some(reply), old_raw != new_raw & mask)
}

/// Shared body of BITFIELD and BITFIELD_RO.
fn bitfield_generic(ctx: &mut Ctx<'_>, argv: Argv<'_>, read_only: bool) -> CmdResult {
    let key = argv.get(1);
    let ops = parse_field_ops(ctx, argv)?;
    let highest_write = ops
        .iter()
        .filter(|op| op.kind != FieldOpKind::Get)
        .map(|op| op.offset.saturating_add(u64::from(op.field.bits) - 1))
        .max();
    let mut replies: Vec<Option<i64>> = Vec::with_capacity(ops.len());
    let Some(highest_write) = highest_write else {
        let bytes = ctx.read_string(key)?.map(|s| s.as_slice()).unwrap_or(&[]);
        for op in &ops {
            let raw = read_field(bytes, op.offset, op.field.bits);
            replies.push(Some(field_value(raw, op.field)));
        }
        write_field_replies(ctx, &replies);
        return Ok(());
    };
    if read_only {
        return Err(CmdError::err(
            "BITFIELD_RO only supports the GET subcommand",
        ));
    }
    let grew = ctx.string_for_bit_write(key, highest_write)?;
    let bytes = ctx.bits_mut(key);
    let mut changes = 0;
    for op in &ops {
        if op.kind == FieldOpKind::Get {
            let raw = read_field(bytes, op.offset, op.field.bits);
            replies.push(Some(field_value(raw, op.field)));
            continue;
        }
        let (reply, changed) = apply_field_write(bytes, op);
        if reply.is_some() && (grew || changed) {
            changes += 1;
        }
        replies.push(reply);
    }
    write_field_replies(ctx, &replies);
    if changes > 0 {
        ctx.changed(changes);
        ctx.notify(notify::STRING, "setbit", key);
    }
    Ok(())
}

fn write_field_replies(ctx: &mut Ctx<'_>, replies: &[Option<i64>]) {
    ctx.out.array(replies.len());
    for reply in replies {
        match reply {
            Some(value) => ctx.out.integer(*value),
            None => ctx.out.null(),
        }
    }
}

/// BITFIELD key [GET type offset] [SET type offset value] [INCRBY type
/// offset increment] [OVERFLOW WRAP|SAT|FAIL] ...: reads and writes
/// integers of `i1`..`i64` or `u1`..`u63` at any bit offset (`#N`: the Nth
/// field of that width), in order; replies with an array of the values GET
/// read, SET replaced and INCRBY produced (nil where OVERFLOW FAIL refused
/// the write). OVERFLOW applies to the operations after it. Every argument
/// is checked before anything runs. With a write, the string is first
/// created or grown to the highest bit written (it stays so even when FAIL
/// refuses every write, as in Redis).
///
/// # Propagation
/// Verbatim, only when it wrote (an operation changed a field, or the
/// string was created or grew and an operation was carried out); each
/// such operation counts as a change. The `setbit` event once.
fn bitfield(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    bitfield_generic(ctx, argv, false)
}

/// BITFIELD_RO key [GET type offset ...]: BITFIELD with GET only (refused
/// with another operation, once every argument parsed).
///
/// # Propagation
/// None (read-only).
fn bitfield_ro(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    bitfield_generic(ctx, argv, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_LIMIT: u64 = u64::MAX;

    #[test]
    fn offsets_are_refused_when_negative_or_past_the_bulk_limit() {
        assert_eq!(bit_offset(b"7", None, NO_LIMIT, false), Ok(7));
        assert!(bit_offset(b"-1", None, NO_LIMIT, false).is_err());
        assert!(bit_offset(b"x", None, NO_LIMIT, false).is_err());
        assert!(bit_offset(b"#3", None, NO_LIMIT, false).is_err());
        // 8 bytes allowed: bits 0..=63.
        assert_eq!(bit_offset(b"63", None, 8, false), Ok(63));
        assert!(bit_offset(b"64", None, 8, false).is_err());
        assert_eq!(bit_offset(b"64", None, 8, true), Ok(64));
    }

    #[test]
    fn positional_offsets_multiply_by_the_width_and_wrap_like_redis() {
        assert_eq!(bit_offset(b"#3", Some(8), NO_LIMIT, false), Ok(24));
        assert_eq!(bit_offset(b"#0", Some(64), NO_LIMIT, false), Ok(0));
        assert!(bit_offset(b"#-1", Some(8), NO_LIMIT, false).is_err());
        // 2^61 + 1 fields of 8 bits wrap to 8 bits.
        assert_eq!(
            bit_offset(b"#2305843009213693953", Some(8), NO_LIMIT, false),
            Ok(8)
        );
    }

    #[test]
    fn field_types_accept_i1_to_i64_and_u1_to_u63() {
        for (text, signed, bits) in [("i1", true, 1), ("i64", true, 64), ("u63", false, 63)] {
            assert_eq!(
                field_type(text.as_bytes()),
                Ok(FieldType { signed, bits }),
                "{text}"
            );
        }
        for bad in [
            &b"u64"[..],
            b"i65",
            b"i0",
            b"u",
            b"I8",
            b"8",
            b"",
            b"i+8",
            b"i08",
        ] {
            assert!(field_type(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            field_type(b"i8\0junk"),
            Ok(FieldType {
                signed: true,
                bits: 8
            })
        );
    }

    #[test]
    fn ranges_clamp_and_convert_to_bits() {
        assert_eq!(bit_range(0, -1, RangeUnit::Byte, 3), Some((0, 23)));
        assert_eq!(bit_range(1, 1, RangeUnit::Byte, 3), Some((8, 15)));
        assert_eq!(bit_range(-100, 100, RangeUnit::Bit, 2), Some((0, 15)));
        assert_eq!(bit_range(5, 2, RangeUnit::Bit, 2), None);
        assert_eq!(bit_range(0, -1, RangeUnit::Byte, 0), None);
        assert_eq!(bit_range(3, i64::MAX, RangeUnit::Byte, 3), None);
    }

    #[test]
    fn counting_and_finding_respect_partial_bytes() {
        let bytes = [0b1111_0000u8, 0xff, 0b0000_1111];
        assert_eq!(count_ones(&bytes, 0, 23), 16);
        assert_eq!(count_ones(&bytes, 2, 5), 2);
        assert_eq!(count_ones(&bytes, 3, 20), 1 + 8 + 1);
        let long = [0xffu8; 40];
        assert_eq!(count_ones(&long, 1, 318), 318);
        let mut sparse = [0u8; 40];
        sparse[37] = 0b0010_0000;
        assert_eq!(find_bit(&sparse, true, 3, 319), Some(37 * 8 + 2));
        assert_eq!(find_bit(&sparse, true, 3, 297), None);
        assert_eq!(find_bit(&long, false, 0, 319), None);
        assert_eq!(find_bit(&bytes, true, 4, 23), Some(8));
        assert_eq!(find_bit(&bytes, false, 8, 15), None);
        assert_eq!(find_bit(&bytes, false, 8, 16), Some(16));
        assert_eq!(find_bit(&bytes, true, 16, 19), None);
        assert_eq!(find_bit(&bytes, true, 16, 20), Some(20));
        assert_eq!(find_bit(&bytes, true, 0, 0), Some(0));
    }

    #[test]
    fn bitop_pads_shorter_sources_with_zeros() {
        let (a, b) = (&[0b1100u8, 0xff][..], &[0b1010u8][..]);
        assert_eq!(combine(BitOperation::And, &[a, b]), vec![0b1000, 0]);
        assert_eq!(combine(BitOperation::Or, &[a, b]), vec![0b1110, 0xff]);
        assert_eq!(combine(BitOperation::Xor, &[a, b]), vec![0b0110, 0xff]);
        assert_eq!(combine(BitOperation::Not, &[b]), vec![0b1111_0101]);
        assert_eq!(combine(BitOperation::And, &[b, a]), vec![0b1000, 0]);
        assert_eq!(combine(BitOperation::Or, &[b, a]), vec![0b1110, 0xff]);
        assert_eq!(combine(BitOperation::Xor, &[b, a, a]), vec![0b1010, 0]);
        assert_eq!(combine(BitOperation::And, &[&[], &[]]), Vec::<u8>::new());
    }

    #[test]
    fn fields_read_and_write_across_byte_boundaries() {
        let mut bytes = [0u8; 3];
        write_field(&mut bytes, 5, 8, 0xab);
        assert_eq!(read_field(&bytes, 5, 8), 0xab);
        assert_eq!(bytes, [0b0000_0101, 0b0101_1000, 0]);
        assert_eq!(read_field(&bytes, 20, 8), 0, "past the end reads zeros");
        let signed = FieldType {
            signed: true,
            bits: 4,
        };
        assert_eq!(field_value(0b1000, signed), -8);
        assert_eq!(field_value(0b0111, signed), 7);
    }

    #[test]
    fn unsigned_overflow_wraps_saturates_or_fails() {
        use OverflowPolicy::*;
        assert_eq!(unsigned_fit(250, 10, 8, Wrap), Fit::Overflows(Some(4)));
        assert_eq!(unsigned_fit(250, 10, 8, Sat), Fit::Overflows(Some(255)));
        assert_eq!(unsigned_fit(250, 10, 8, Fail), Fit::Overflows(None));
        assert_eq!(unsigned_fit(5, -10, 8, Sat), Fit::Overflows(Some(0)));
        assert_eq!(unsigned_fit(5, -10, 8, Wrap), Fit::Overflows(Some(251)));
        assert_eq!(unsigned_fit(5, 10, 8, Wrap), Fit::Fits);
        // SET of a negative number into an unsigned field: too big.
        assert_eq!(
            unsigned_fit(-1i64 as u64, 0, 8, Sat),
            Fit::Overflows(Some(255))
        );
    }

    #[test]
    fn signed_overflow_wraps_saturates_or_fails() {
        use OverflowPolicy::*;
        assert_eq!(signed_fit(120, 10, 8, Wrap), Fit::Overflows(Some(-126)));
        assert_eq!(signed_fit(120, 10, 8, Sat), Fit::Overflows(Some(127)));
        assert_eq!(signed_fit(-120, -10, 8, Sat), Fit::Overflows(Some(-128)));
        assert_eq!(signed_fit(-120, -10, 8, Wrap), Fit::Overflows(Some(126)));
        assert_eq!(
            signed_fit(i64::MAX, 1, 64, Wrap),
            Fit::Overflows(Some(i64::MIN))
        );
        assert_eq!(
            signed_fit(i64::MIN, -1, 64, Sat),
            Fit::Overflows(Some(i64::MIN))
        );
        assert_eq!(signed_fit(-5, 3, 64, Fail), Fit::Fits);
        // Redis's check sees i64::MIN as too big for an 8-bit field.
        assert_eq!(signed_fit(i64::MIN, 0, 8, Sat), Fit::Overflows(Some(127)));
    }
}
