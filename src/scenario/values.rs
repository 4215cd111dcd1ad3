//! The small languages inside scenario strings — durations (`"250ms"`,
//! `"1s..3s"`), integer ranges (`"1..32"`), counts (`">= 1"`) — and the
//! "did you mean" suggestion for misspelt names.

use std::time::Duration;

use super::model::{CmpOp, CountCheck};

/// Why a string is not a duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DurationError {
    /// A plain number: the unit is missing.
    NoUnit,
    /// A number followed by something that is not `ms`, `s` or `m`.
    BadUnit,
    /// Not a number followed by a unit at all.
    Malformed,
    /// More than u64 nanoseconds (about 584 years).
    TooLarge,
}

/// Parses one duration: digits, optionally `.digits`, then `ms`, `s` or `m`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    // `digits` or `digits.digits`: a dot needs digits on both sides.
    let (int, frac) = match number.split_once('.') {
        Some((int, "")) => (int, "."),
        Some((int, frac)) => (int, frac),
        None => (number, ""),
    };
    let well_formed = !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit());
    if !well_formed {
        return Err(DurationError::Malformed);
    }
    let unit_ns: u128 = match unit {
        "" => return Err(DurationError::NoUnit),
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        _ if unit.chars().all(|c| c.is_ascii_alphabetic()) => return Err(DurationError::BadUnit),
        _ => return Err(DurationError::Malformed),
    };
    if int.len() > 24 {
        return Err(DurationError::TooLarge);
    }
    let int_value: u128 = int.parse().map_err(|_| DurationError::TooLarge)?;
    // Digits past the 18th are below a nanosecond for every unit.
    let frac = &frac[..frac.len().min(18)];
    let frac_ns = if frac.is_empty() {
        0
    } else {
        let digits: u128 = frac.parse().map_err(|_| DurationError::Malformed)?;
        digits * unit_ns / 10u128.pow(frac.len() as u32)
    };
    let total = int_value
        .checked_mul(unit_ns)
        .and_then(|ns| ns.checked_add(frac_ns))
        .ok_or(DurationError::TooLarge)?;
    let total = u64::try_from(total).map_err(|_| DurationError::TooLarge)?;
    Ok(Duration::from_nanos(total))
}

/// Splits `"A..B"` into its two ends (spaces around `..` allowed); `None`
/// for a single value.
pub(crate) fn split_range(text: &str) -> Option<(&str, &str)> {
    text.split_once("..")
        .map(|(a, b)| (a.trim_end(), b.trim_start()))
}

/// Splits a leading comparison operator (`>=`, `<=`, `==`, `>`, `<`) off
/// `text` (spaces around it allowed); `None` when it starts with none.
pub(crate) fn split_operator(text: &str) -> Option<(CmpOp, &str)> {
    let text = text.trim();
    let ops = [
        (">=", CmpOp::Ge),
        ("<=", CmpOp::Le),
        ("==", CmpOp::Eq),
        (">", CmpOp::Gt),
        ("<", CmpOp::Lt),
    ];
    ops.iter()
        .find_map(|(sym, op)| text.strip_prefix(sym).map(|rest| (*op, rest.trim_start())))
}

/// Parses a count requirement written as a string: `">= 1"`, `"== 0"`,
/// `"<3"`. Returns `None` when malformed.
pub(crate) fn parse_count(text: &str) -> Option<CountCheck> {
    let (op, rest) = split_operator(text)?;
    if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value = rest.parse().ok()?;
    Some(CountCheck { op, value })
}

/// Parses a non-negative decimal integer (no sign, no spaces).
pub(crate) fn parse_u64(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The candidate closest to `word` (case-insensitively), if it is close
/// enough to be a likely misspelling and no other candidate is as close.
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let word_lc = word.to_lowercase();
    let limit = (word.chars().count() / 3).clamp(1, 3);
    let mut best: Option<(usize, &'a str)> = None;
    let mut tie = false;
    for candidate in candidates {
        let d = edit_distance(&word_lc, &candidate.to_lowercase());
        if d > limit {
            continue;
        }
        match best {
            Some((bd, _)) if d > bd => {}
            Some((bd, _)) if d == bd => tie = true,
            _ => {
                best = Some((d, candidate));
                tie = false;
            }
        }
    }
    match best {
        Some((_, candidate)) if !tie => Some(candidate),
        _ => None,
    }
}

/// Optimal string alignment distance: insertions, deletions, substitutions
/// and transpositions of neighbours each cost 1.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        d[i * width] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = v;
        }
    }
    d[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_need_a_known_unit() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("0.25ms"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("10"), Err(DurationError::NoUnit));
        assert_eq!(parse_duration("1.5"), Err(DurationError::NoUnit));
        assert_eq!(parse_duration("10h"), Err(DurationError::BadUnit));
        assert_eq!(parse_duration("10sec"), Err(DurationError::BadUnit));
        for bad in [
            "", "s", ".5s", "1.s", "1..2s", "-1s", " 1s", "1 s", "1e3ms", "1.2.3s",
        ] {
            assert_eq!(
                parse_duration(bad),
                Err(DurationError::Malformed),
                "{bad:?}"
            );
        }
        assert_eq!(
            parse_duration("99999999999999999999m"),
            Err(DurationError::TooLarge)
        );
        assert_eq!(
            parse_duration("9999999999999999999999999999999s"),
            Err(DurationError::TooLarge)
        );
    }

    #[test]
    fn ranges_split_on_two_dots() {
        assert_eq!(split_range("1s..3s"), Some(("1s", "3s")));
        assert_eq!(split_range("1.5s .. 3s"), Some(("1.5s", "3s")));
        assert_eq!(split_range("5ms"), None);
    }

    #[test]
    fn counts_take_an_operator_and_a_number() {
        let c = |op, value| Some(CountCheck { op, value });
        assert_eq!(parse_count(">= 1"), c(CmpOp::Ge, 1));
        assert_eq!(parse_count(">0"), c(CmpOp::Gt, 0));
        assert_eq!(parse_count("<= 3"), c(CmpOp::Le, 3));
        assert_eq!(parse_count("< 2"), c(CmpOp::Lt, 2));
        assert_eq!(parse_count("== 1"), c(CmpOp::Eq, 1));
        for bad in [">=x", "1", "= 1", ">= -1", ">=", "=> 1", ">= 1 2"] {
            assert_eq!(parse_count(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn suggestions_only_for_one_close_candidate() {
        let keys = ["timeout", "expect", "at", "after"];
        assert_eq!(closest("tiemout", keys), Some("timeout"));
        assert_eq!(closest("Timeout", keys), Some("timeout"));
        assert_eq!(closest("zzz", keys), None);
        assert_eq!(closest("r9", ["m", "r1", "r2"]), None);
        assert_eq!(closest("r11", ["m", "r1", "r2"]), Some("r1"));
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
