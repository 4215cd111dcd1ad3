//! x87 80-bit extended precision (`long double`), exactly as Redis uses it
//! for INCRBYFLOAT: correctly rounded decimal parsing (`strtold`), addition
//! with round-half-even to a 64-bit mantissa, and `%.17Lf` printing with
//! trailing zeros removed.
//!
//! A double cannot reproduce Redis's digits (0.1 + 0.2 is `0.3` in Redis,
//! `0.30000000000000004` in f64), and Rust has no `long double`, so the
//! arithmetic is done exactly on big integers and rounded the way the FPU
//! rounds. Subnormal results are treated as underflow.

use num_bigint::{BigInt, BigUint, Sign};
use num_integer::Integer;
use num_traits::{One, Signed, Zero};

/// Redis refuses float strings longer than this (`MAX_LONG_DOUBLE_CHARS`).
const MAX_CHARS: usize = 5 * 1024;
/// Mantissa bits of the x87 extended format (explicit integer bit).
const MANTISSA_BITS: u64 = 64;
/// Largest binary exponent of a normal value, for `mantissa * 2^exp` with a
/// 64-bit mantissa: 16383 - 63.
const MAX_EXP: i64 = 16383 - 63;
/// Smallest binary exponent of a normal value: -16382 - 63.
const MIN_EXP: i64 = -16382 - 63;

/// A finite extended-precision value: `(-1)^negative * mantissa * 2^exponent`
/// with the mantissa normalised to 64 bits (or zero).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LongDouble {
    negative: bool,
    mantissa: u64,
    exponent: i64,
}

/// Rounds `value * 2^exp` to a 64-bit mantissa, half to even.
fn normalise(negative: bool, value: BigUint, exp: i64) -> Option<LongDouble> {
    if value.is_zero() {
        return Some(LongDouble {
            negative,
            mantissa: 0,
            exponent: 0,
        });
    }
    let bits = value.bits();
    let (mut mantissa, mut exponent) = if bits <= MANTISSA_BITS {
        let shift = MANTISSA_BITS - bits;
        ((value << shift), exp - shift as i64)
    } else {
        let shift = bits - MANTISSA_BITS;
        let kept = &value >> shift;
        let remainder = &value - (&kept << shift);
        let half = BigUint::one() << (shift - 1);
        let round_up = remainder > half || (remainder == half && kept.is_odd());
        (kept + u32::from(round_up), exp + shift as i64)
    };
    if mantissa.bits() > MANTISSA_BITS {
        mantissa >>= 1u32;
        exponent += 1;
    }
    if !(MIN_EXP..=MAX_EXP).contains(&exponent) {
        return None;
    }
    Some(LongDouble {
        negative,
        mantissa: u64::try_from(mantissa).expect("64-bit mantissa"),
        exponent,
    })
}

/// True for the spellings of infinity `strtold` accepts (`inf`, `-Infinity`, ...).
pub fn is_infinity(text: &[u8]) -> bool {
    let unsigned = text
        .strip_prefix(b"-")
        .or_else(|| text.strip_prefix(b"+"))
        .unwrap_or(text);
    unsigned.eq_ignore_ascii_case(b"inf") || unsigned.eq_ignore_ascii_case(b"infinity")
}

impl LongDouble {
    /// Positive zero.
    pub const ZERO: LongDouble = LongDouble {
        negative: false,
        mantissa: 0,
        exponent: 0,
    };

    /// Parses like `strtold` with Redis's checks: no leading space, nothing
    /// after the number, no NaN, no infinity, no overflow or underflow to
    /// zero. Hexadecimal floats are not accepted.
    pub fn parse(text: &[u8]) -> Option<LongDouble> {
        if text.is_empty() || text.len() > MAX_CHARS {
            return None;
        }
        let (negative, rest) = match text[0] {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let mut digits = BigUint::zero();
        let mut digit_count = 0usize;
        let mut decimal_exponent: i64 = 0;
        let mut i = 0;
        let mut seen_digit = false;
        while i < rest.len() && rest[i].is_ascii_digit() {
            digits = digits * 10u32 + (rest[i] - b'0') as u32;
            digit_count += 1;
            seen_digit = true;
            i += 1;
        }
        if i < rest.len() && rest[i] == b'.' {
            i += 1;
            while i < rest.len() && rest[i].is_ascii_digit() {
                digits = digits * 10u32 + (rest[i] - b'0') as u32;
                digit_count += 1;
                decimal_exponent -= 1;
                seen_digit = true;
                i += 1;
            }
        }
        if !seen_digit {
            // "inf", "nan", hex floats and garbage are all refused.
            return None;
        }
        if i < rest.len() && (rest[i] == b'e' || rest[i] == b'E') {
            let exponent_text = std::str::from_utf8(&rest[i + 1..]).ok()?;
            let exponent_digits = exponent_text.trim_start_matches(['+', '-']);
            if exponent_digits.is_empty() || !exponent_digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            // Clamp absurd exponents; the range check below rejects them.
            let magnitude: i64 = exponent_digits.parse().unwrap_or(i64::MAX / 4).min(1 << 40);
            decimal_exponent += if exponent_text.starts_with('-') {
                -magnitude
            } else {
                magnitude
            };
            i = rest.len();
        }
        if i != rest.len() {
            return None;
        }
        if digits.is_zero() {
            return Some(LongDouble {
                negative,
                ..LongDouble::ZERO
            });
        }
        // The value is about 10^(significant digits + exponent); outside
        // the extended range it is an overflow or an underflow: refused.
        let magnitude = digits.to_string().len() as i64 + decimal_exponent;
        if !(-4951..=4933).contains(&magnitude) || digit_count == 0 {
            return None;
        }
        if decimal_exponent >= 0 {
            let value = digits * BigUint::from(10u32).pow(decimal_exponent as u32);
            normalise(negative, value, 0)
        } else {
            let divisor = BigUint::from(10u32).pow((-decimal_exponent) as u32);
            // Scale so that the quotient has at least 66 bits, then round
            // with the remainder folded into a sticky bit.
            let shift =
                (MANTISSA_BITS as i64 + 2 + divisor.bits() as i64 - digits.bits() as i64).max(0);
            let (quotient, remainder) = (digits << shift as u64).div_rem(&divisor);
            let sticky = u32::from(!remainder.is_zero());
            normalise(negative, (quotient << 1u32) + sticky, -shift - 1)
        }
    }

    /// The exact sum rounded to extended precision; `None` on overflow or
    /// underflow (Redis's "would produce NaN or Infinity").
    pub fn add(&self, other: &LongDouble) -> Option<LongDouble> {
        if self.mantissa == 0 && other.mantissa == 0 {
            return Some(LongDouble {
                negative: self.negative && other.negative,
                ..LongDouble::ZERO
            });
        }
        let base = self.exponent.min(other.exponent);
        let signed = |v: &LongDouble| {
            let magnitude = BigInt::from(v.mantissa) << (v.exponent - base) as u64;
            if v.negative {
                -magnitude
            } else {
                magnitude
            }
        };
        let sum = signed(self) + signed(other);
        match sum.sign() {
            Sign::NoSign => Some(LongDouble::ZERO),
            sign => normalise(
                sign == Sign::Minus,
                sum.abs().to_biguint().expect("non-negative"),
                base,
            ),
        }
    }

    /// `printf("%.17Lf")` with trailing zeros (and a trailing dot) removed,
    /// and `-0` printed as `0`: Redis's `ld2string(LD_STR_HUMAN)`.
    pub fn to_human_string(&self) -> String {
        let scale = BigUint::from(10u32).pow(17);
        let scaled = if self.exponent >= 0 {
            (BigUint::from(self.mantissa) << self.exponent as u64) * scale
        } else {
            let numerator = BigUint::from(self.mantissa) * scale;
            let shift = (-self.exponent) as u64;
            let kept = &numerator >> shift;
            let remainder = &numerator - (&kept << shift);
            let half = BigUint::one() << (shift - 1);
            let round_up = remainder > half || (remainder == half && kept.is_odd());
            kept + u32::from(round_up)
        };
        let digits = format!("{scaled:0>18}");
        let (whole, fraction) = digits.split_at(digits.len() - 17);
        let fraction = fraction.trim_end_matches('0');
        let mut text = String::new();
        if self.negative {
            text.push('-');
        }
        text.push_str(whole);
        if !fraction.is_empty() {
            text.push('.');
            text.push_str(fraction);
        }
        if text == "-0" {
            text = "0".into();
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::LongDouble;

    fn sum(a: &str, b: &str) -> Option<String> {
        let a = LongDouble::parse(a.as_bytes())?;
        let b = LongDouble::parse(b.as_bytes())?;
        Some(a.add(&b)?.to_human_string())
    }

    /// Expected values printed by redis-server 7.0.15 on x86_64.
    #[test]
    fn incrbyfloat_sums_match_redis_long_double() {
        assert_eq!(sum("10.5", "0.1").as_deref(), Some("10.6"));
        assert_eq!(sum("0.1", "0.2").as_deref(), Some("0.3"));
        assert_eq!(sum("5.0e3", "2.0e2").as_deref(), Some("5200"));
        assert_eq!(sum("3", "-3").as_deref(), Some("0"));
        assert_eq!(sum("-1", "0.5").as_deref(), Some("-0.5"));
        assert_eq!(sum("1", "1e-20").as_deref(), Some("1"));
    }

    #[test]
    fn refuses_what_strtold_with_redis_checks_refuses() {
        for bad in [
            "", " 1", "1 ", "abc", "nan", "inf", "1e", "1e+", "1.2.3", "0x10", "1e99999",
        ] {
            assert!(LongDouble::parse(bad.as_bytes()).is_none(), "{bad}");
        }
        for good in ["1", "-1.5", "+2", ".5", "5.", "1e10", "1E-3", "0"] {
            assert!(LongDouble::parse(good.as_bytes()).is_some(), "{good}");
        }
    }
}
