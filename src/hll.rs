//! HyperLogLog values as Redis 7.0 stores them, byte for byte: a string
//! holding a 16-byte header (`HYLL`, the encoding, three unused bytes, the
//! cached cardinality) and 16384 six-bit registers, either dense (12288
//! bytes, registers packed little-endian) or sparse (run-length opcodes
//! ZERO, XZERO and VAL). Elements are hashed with MurmurHash64A, and the
//! cardinality is Ertl's estimator, as Redis computes it.
//!
//! The sparse representation is edited the way Redis edits it (split the
//! run holding the register, then merge equal neighbouring values), not
//! re-encoded from scratch: the same commands give the same bytes, which
//! replicas, GET and DEBUG DIGEST all see.

/// Registers (2^14).
pub const REGISTERS: usize = 1 << 14;
const P: u32 = 14;
const Q: u32 = 64 - P;
const BITS: usize = 6;
const REGISTER_MAX: u8 = (1 << BITS) - 1;
/// Header bytes.
pub const HEADER_SIZE: usize = 16;
/// Bytes of a dense HyperLogLog (header included).
pub const DENSE_SIZE: usize = HEADER_SIZE + (REGISTERS * BITS).div_ceil(8);
const DENSE: u8 = 0;
const SPARSE: u8 = 1;
const SPARSE_VAL_MAX_VALUE: u8 = 32;
const SPARSE_VAL_MAX_LEN: usize = 4;
const SPARSE_ZERO_MAX_LEN: usize = 64;
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

/// The value is not a HyperLogLog Redis would accept, or its registers do
/// not add up (Redis's `-INVALIDOBJ Corrupted HLL object detected`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HllError {
    /// Not a HyperLogLog string (Redis's `-WRONGTYPE Key is not a valid
    /// HyperLogLog string value.`).
    #[error("WRONGTYPE Key is not a valid HyperLogLog string value.")]
    NotHll,
    /// Its sparse opcodes do not cover exactly the registers.
    #[error("INVALIDOBJ Corrupted HLL object detected")]
    Corrupt,
}

/// A fresh, empty HyperLogLog: sparse, one XZERO opcode, cardinality 0
/// cached.
pub fn new_hll() -> Vec<u8> {
    let mut bytes = header(SPARSE);
    push_xzero(&mut bytes, REGISTERS);
    bytes
}

fn header(encoding: u8) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(HEADER_SIZE + 8);
    bytes.extend_from_slice(b"HYLL");
    bytes.extend_from_slice(&[encoding, 0, 0, 0]);
    bytes.extend_from_slice(&[0; 8]);
    bytes
}

/// Checks `bytes` is a HyperLogLog as Redis's `isHLLObjectOrReply` does.
pub fn check(bytes: &[u8]) -> Result<(), HllError> {
    if bytes.len() < HEADER_SIZE || &bytes[..4] != b"HYLL" || bytes[4] > SPARSE {
        return Err(HllError::NotHll);
    }
    if bytes[4] == DENSE && bytes.len() != DENSE_SIZE {
        return Err(HllError::NotHll);
    }
    Ok(())
}

/// Whether the HyperLogLog is sparse.
pub fn is_sparse(bytes: &[u8]) -> bool {
    bytes[4] == SPARSE
}

/// Marks the cached cardinality stale.
pub fn invalidate_cache(bytes: &mut [u8]) {
    bytes[15] |= 1 << 7;
}

/// The cached cardinality, when valid.
pub fn cached_cardinality(bytes: &[u8]) -> Option<u64> {
    (bytes[15] & (1 << 7) == 0).then(|| u64::from_le_bytes(bytes[8..16].try_into().expect("8")))
}

/// Stores a fresh cardinality in the cache.
pub fn store_cardinality(bytes: &mut [u8], cardinality: u64) {
    bytes[8..16].copy_from_slice(&cardinality.to_le_bytes());
}

/// MurmurHash64A, as Redis hashes HyperLogLog elements (little-endian).
pub fn murmur_hash64a(key: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (key.len() as u64).wrapping_mul(M);
    let mut chunks = key.chunks_exact(8);
    for chunk in &mut chunks {
        let mut k = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        for (i, &byte) in tail.iter().enumerate() {
            h ^= u64::from(byte) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element goes to and the length of its `0..01` run.
pub fn pattern_len(element: &[u8]) -> (usize, u8) {
    let hash = murmur_hash64a(element, 0xadc8_3b19);
    let index = (hash & (REGISTERS as u64 - 1)) as usize;
    // The run ends at bit Q at the latest, so the count stays <= Q + 1.
    let rest = (hash >> P) | (1 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

/// Register `index` of dense `registers`.
fn dense_get(registers: &[u8], index: usize) -> u8 {
    let bit = index * BITS;
    let (byte, shift) = (bit / 8, bit % 8);
    let low = u16::from(registers[byte]);
    let high = u16::from(registers.get(byte + 1).copied().unwrap_or(0));
    (((low | (high << 8)) >> shift) as u8) & REGISTER_MAX
}

fn dense_put(registers: &mut [u8], index: usize, value: u8) {
    let bit = index * BITS;
    let (byte, shift) = (bit / 8, bit % 8);
    registers[byte] &= !(REGISTER_MAX << shift);
    registers[byte] |= value << shift;
    if shift + BITS > 8 {
        let spill = 8 - shift;
        registers[byte + 1] &= !(REGISTER_MAX >> spill);
        registers[byte + 1] |= value >> spill;
    }
}

/// One sparse opcode: a run of zero registers, or of one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Zero(usize),
    XZero(usize),
    Val(u8, usize),
}

impl Op {
    fn span(self) -> usize {
        match self {
            Op::Zero(n) | Op::XZero(n) | Op::Val(_, n) => n,
        }
    }
}

fn push_xzero(bytes: &mut Vec<u8>, len: usize) {
    let l = len - 1;
    bytes.push(((l >> 8) as u8) | 0x40);
    bytes.push((l & 0xff) as u8);
}

fn encode_op(op: Op, bytes: &mut Vec<u8>) {
    match op {
        Op::Zero(len) => bytes.push((len - 1) as u8),
        Op::XZero(len) => push_xzero(bytes, len),
        Op::Val(value, len) => bytes.push(0x80 | ((value - 1) << 2) | (len - 1) as u8),
    }
}

/// The opcodes of a sparse body (after the header).
fn decode_ops(body: &[u8]) -> Vec<Op> {
    let mut ops = Vec::new();
    let mut p = 0;
    while p < body.len() {
        let b = body[p];
        if b & 0xc0 == 0 {
            ops.push(Op::Zero(usize::from(b & 0x3f) + 1));
            p += 1;
        } else if b & 0x80 == 0 {
            let low = body.get(p + 1).copied().unwrap_or(0);
            ops.push(Op::XZero(
                ((usize::from(b & 0x3f) << 8) | usize::from(low)) + 1,
            ));
            p += 2;
        } else {
            ops.push(Op::Val(((b >> 2) & 0x1f) + 1, usize::from(b & 0x3) + 1));
            p += 1;
        }
    }
    ops
}

fn zero_run(len: usize) -> Op {
    if len > SPARSE_ZERO_MAX_LEN {
        Op::XZero(len)
    } else {
        Op::Zero(len)
    }
}

fn encoded_len(op: Op) -> usize {
    if matches!(op, Op::XZero(_)) {
        2
    } else {
        1
    }
}

/// The dense form of a sparse HyperLogLog (Redis's `hllSparseToDense`).
fn sparse_to_dense(bytes: &[u8]) -> Result<Vec<u8>, HllError> {
    let mut dense = header(DENSE);
    dense[8..16].copy_from_slice(&bytes[8..16]);
    dense.resize(DENSE_SIZE, 0);
    let mut index = 0;
    for op in decode_ops(&bytes[HEADER_SIZE..]) {
        match op {
            Op::Zero(n) | Op::XZero(n) => index += n,
            Op::Val(value, n) => {
                if index + n > REGISTERS {
                    return Err(HllError::Corrupt);
                }
                for i in index..index + n {
                    dense_put(&mut dense[HEADER_SIZE..], i, value);
                }
                index += n;
            }
        }
    }
    if index != REGISTERS {
        return Err(HllError::Corrupt);
    }
    Ok(dense)
}

/// Converts a sparse HyperLogLog to dense in place; whether it changed.
pub fn to_dense(bytes: &mut Vec<u8>) -> Result<bool, HllError> {
    if !is_sparse(bytes) {
        return Ok(false);
    }
    *bytes = sparse_to_dense(bytes)?;
    Ok(true)
}

/// Raises register `index` to `count` if lower; whether it changed. A
/// sparse value that outgrows `sparse_max_bytes`, or a count over 32,
/// turns dense, as in Redis.
pub fn set_register(
    bytes: &mut Vec<u8>,
    index: usize,
    count: u8,
    sparse_max_bytes: usize,
) -> Result<bool, HllError> {
    if !is_sparse(bytes) {
        let registers = &mut bytes[HEADER_SIZE..];
        if count > dense_get(registers, index) {
            dense_put(registers, index, count);
            return Ok(true);
        }
        return Ok(false);
    }
    if count > SPARSE_VAL_MAX_VALUE {
        return promote(bytes, index, count);
    }
    let mut ops = decode_ops(&bytes[HEADER_SIZE..]);
    // The opcode covering `index`, and the first register it covers.
    let mut first = 0;
    let mut at = None;
    for (i, op) in ops.iter().enumerate() {
        if index < first + op.span() {
            at = Some(i);
            break;
        }
        first += op.span();
    }
    let Some(at) = at else {
        return Err(HllError::Corrupt);
    };
    let op = ops[at];
    let last = first + op.span() - 1;
    let replacement: Vec<Op> = match op {
        Op::Val(old, _) if old >= count => return Ok(false),
        Op::Val(_, 1) | Op::Zero(1) => vec![Op::Val(count, 1)],
        Op::Zero(_) | Op::XZero(_) => {
            let mut seq = Vec::with_capacity(3);
            if index != first {
                seq.push(zero_run(index - first));
            }
            seq.push(Op::Val(count, 1));
            if index != last {
                seq.push(zero_run(last - index));
            }
            seq
        }
        Op::Val(current, _) => {
            let mut seq = Vec::with_capacity(3);
            if index != first {
                seq.push(Op::Val(current, index - first));
            }
            seq.push(Op::Val(count, 1));
            if index != last {
                seq.push(Op::Val(current, last - index));
            }
            seq
        }
    };
    let grows = replacement.iter().map(|op| encoded_len(*op)).sum::<usize>() as isize
        - encoded_len(op) as isize;
    if grows > 0 && bytes.len() as isize + grows > sparse_max_bytes as isize {
        return promote(bytes, index, count);
    }
    ops.splice(at..=at, replacement);
    // Redis merges equal neighbouring values from the opcode before the
    // changed one, looking at up to five opcodes.
    let mut p = at.saturating_sub(1);
    let mut scan = 5;
    while p < ops.len() && scan > 0 {
        scan -= 1;
        if let (Op::Val(v1, l1), Some(Op::Val(v2, l2))) = (ops[p], ops.get(p + 1).copied()) {
            if v1 == v2 && l1 + l2 <= SPARSE_VAL_MAX_LEN {
                ops[p + 1] = Op::Val(v1, l1 + l2);
                ops.remove(p);
                continue;
            }
        }
        p += 1;
    }
    bytes.truncate(HEADER_SIZE);
    for op in ops {
        encode_op(op, bytes);
    }
    invalidate_cache(bytes);
    Ok(true)
}

fn promote(bytes: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, HllError> {
    *bytes = sparse_to_dense(bytes)?;
    dense_put(&mut bytes[HEADER_SIZE..], index, count);
    Ok(true)
}

/// Adds an element; whether a register changed.
pub fn add(bytes: &mut Vec<u8>, element: &[u8], sparse_max_bytes: usize) -> Result<bool, HllError> {
    let (index, count) = pattern_len(element);
    set_register(bytes, index, count, sparse_max_bytes)
}

/// Every register's value (dense or sparse).
pub fn registers(bytes: &[u8]) -> Result<Vec<u8>, HllError> {
    if !is_sparse(bytes) {
        return Ok((0..REGISTERS)
            .map(|i| dense_get(&bytes[HEADER_SIZE..], i))
            .collect());
    }
    let mut registers = Vec::with_capacity(REGISTERS);
    for op in decode_ops(&bytes[HEADER_SIZE..]) {
        match op {
            Op::Zero(n) | Op::XZero(n) => registers.resize(registers.len() + n, 0),
            Op::Val(value, n) => {
                if registers.len() + n > REGISTERS {
                    return Err(HllError::Corrupt);
                }
                registers.resize(registers.len() + n, value);
            }
        }
    }
    if registers.len() != REGISTERS {
        return Err(HllError::Corrupt);
    }
    Ok(registers)
}

/// Raises `max` to the registers of `bytes` (Redis's `hllMerge`).
pub fn merge_into(max: &mut [u8], bytes: &[u8]) -> Result<(), HllError> {
    for (slot, value) in max.iter_mut().zip(registers(bytes)?) {
        *slot = (*slot).max(value);
    }
    Ok(())
}

/// The estimated cardinality of these registers (Ertl's estimator, as
/// Redis's `hllCount`).
pub fn count_registers(registers: &[u8]) -> u64 {
    let mut histogram = [0u32; 64];
    for &value in registers {
        histogram[usize::from(value)] += 1;
    }
    let m = REGISTERS as f64;
    let mut z = m * tau((m - f64::from(histogram[Q as usize + 1])) / m);
    for j in (1..=Q as usize).rev() {
        z += f64::from(histogram[j]);
        z *= 0.5;
    }
    z += m * sigma(f64::from(histogram[0]) / m);
    (ALPHA_INF * m * m / z).round() as u64
}

/// The cardinality of a HyperLogLog value.
pub fn count(bytes: &[u8]) -> Result<u64, HllError> {
    Ok(count_registers(&registers(bytes)?))
}

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let previous = z;
        z += x * y;
        y += y;
        if previous == z {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let previous = z;
        y *= 0.5;
        z -= (1.0 - x).powi(2) * y;
        if previous == z {
            return z / 3.0;
        }
    }
}

/// PFDEBUG DECODE's text of a sparse body: `z:len`, `Z:len`, `v:val,len`.
pub fn decode_text(bytes: &[u8]) -> String {
    decode_ops(&bytes[HEADER_SIZE..])
        .into_iter()
        .map(|op| match op {
            Op::Zero(n) => format!("z:{n}"),
            Op::XZero(n) => format!("Z:{n}"),
            Op::Val(v, n) => format!("v:{v},{n}"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Writes `registers` into a HyperLogLog (dense or sparse), register by
/// register, as PFMERGE does.
pub fn set_all(
    bytes: &mut Vec<u8>,
    registers: &[u8],
    sparse_max_bytes: usize,
) -> Result<(), HllError> {
    for (index, &value) in registers.iter().enumerate() {
        if value != 0 {
            set_register(bytes, index, value, sparse_max_bytes)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_hll_is_one_xzero_opcode_with_a_valid_zero_cache() {
        let hll = new_hll();
        assert_eq!(hll.len(), HEADER_SIZE + 2);
        assert_eq!(&hll[HEADER_SIZE..], &[0x7f, 0xff]);
        assert_eq!(cached_cardinality(&hll), Some(0));
        assert_eq!(count(&hll), Ok(0));
    }

    #[test]
    fn dense_registers_round_trip_at_every_bit_offset() {
        let mut registers = vec![0u8; DENSE_SIZE - HEADER_SIZE];
        for index in 0..REGISTERS {
            dense_put(&mut registers, index, (index % 64) as u8);
        }
        for index in 0..REGISTERS {
            assert_eq!(dense_get(&registers, index), (index % 64) as u8);
        }
    }

    #[test]
    fn sparse_and_dense_agree_on_registers_and_count() {
        let mut sparse = new_hll();
        let mut dense = new_hll();
        to_dense(&mut dense).unwrap();
        for i in 0..2000u32 {
            let element = format!("element:{i}");
            add(&mut sparse, element.as_bytes(), 1_000_000).unwrap();
            add(&mut dense, element.as_bytes(), 1_000_000).unwrap();
        }
        assert!(is_sparse(&sparse));
        assert_eq!(registers(&sparse).unwrap(), registers(&dense).unwrap());
        let estimate = count(&sparse).unwrap();
        assert!((1900..2100).contains(&estimate), "{estimate}");
    }

    #[test]
    fn equal_values_merge_in_place_as_redis_merges_them() {
        // Registers 5, 4, 3, 2, 1, 0 set to 3 in that order: the last two
        // merge with each other, not with the run of four after them.
        let mut hll = new_hll();
        for index in (0..6).rev() {
            set_register(&mut hll, index, 3, 3000).unwrap();
        }
        assert_eq!(decode_text(&hll), "v:3,2 v:3,4 Z:16378");
    }
}
