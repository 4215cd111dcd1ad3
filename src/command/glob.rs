//! Redis's glob matching (`stringmatchlen`): `*`, `?`, `[...]` with `^` and
//! ranges, and `\` escapes. Used by KEYS, SCAN MATCH and CONFIG GET.

/// True when `string` matches `pattern`; `nocase` folds ASCII case.
pub fn glob_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    let mut skip_longer = false;
    match_from(pattern, string, nocase, &mut skip_longer, 0)
}

fn fold(c: u8, nocase: bool) -> u8 {
    if nocase {
        c.to_ascii_lowercase()
    } else {
        c
    }
}

/// `skip_longer` is Redis's `skipLongerMatches`: once a `*` tail failed
/// against every suffix, longer attempts of outer stars cannot succeed, which
/// keeps pathological patterns linear instead of exponential.
fn match_from(
    pattern: &[u8],
    string: &[u8],
    nocase: bool,
    skip_longer: &mut bool,
    depth: usize,
) -> bool {
    // Redis caps the recursion too (a pattern nested this deep never matches).
    if depth > 1000 {
        return false;
    }
    let (mut p, mut s) = (0, 0);
    while p < pattern.len() && s < string.len() {
        match pattern[p] {
            b'*' => {
                while p + 1 < pattern.len() && pattern[p + 1] == b'*' {
                    p += 1;
                }
                if p + 1 == pattern.len() {
                    return true;
                }
                for start in s..string.len() {
                    if match_from(
                        &pattern[p + 1..],
                        &string[start..],
                        nocase,
                        skip_longer,
                        depth + 1,
                    ) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                }
                *skip_longer = true;
                return false;
            }
            b'?' => s += 1,
            b'[' => {
                p += 1;
                let negate = p < pattern.len() && pattern[p] == b'^';
                if negate {
                    p += 1;
                }
                let c = fold(string[s], nocase);
                let mut matched = false;
                loop {
                    if p >= pattern.len() {
                        // Unterminated class: Redis treats the end as `]`.
                        p -= 1;
                        break;
                    }
                    if pattern[p] == b'\\' && p + 1 < pattern.len() {
                        p += 1;
                        if fold(pattern[p], nocase) == c {
                            matched = true;
                        }
                    } else if pattern[p] == b']' {
                        break;
                    } else if p + 2 < pattern.len() && pattern[p + 1] == b'-' {
                        let (mut lo, mut hi) =
                            (fold(pattern[p], nocase), fold(pattern[p + 2], nocase));
                        if lo > hi {
                            std::mem::swap(&mut lo, &mut hi);
                        }
                        p += 2;
                        if c >= lo && c <= hi {
                            matched = true;
                        }
                    } else if fold(pattern[p], nocase) == c {
                        matched = true;
                    }
                    p += 1;
                }
                if matched == negate {
                    return false;
                }
                s += 1;
            }
            b'\\' if p + 1 < pattern.len() => {
                p += 1;
                if fold(pattern[p], nocase) != fold(string[s], nocase) {
                    return false;
                }
                s += 1;
            }
            literal => {
                if fold(literal, nocase) != fold(string[s], nocase) {
                    return false;
                }
                s += 1;
            }
        }
        p += 1;
    }
    if s == string.len() {
        while p < pattern.len() && pattern[p] == b'*' {
            p += 1;
        }
    }
    p == pattern.len() && s == string.len()
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs_match_like_redis() {
        let cases: &[(&str, &str, bool)] = &[
            ("*", "", true),
            ("*", "anything", true),
            ("h?llo", "hello", true),
            ("h?llo", "hllo", false),
            ("h*llo", "heeeello", true),
            ("h[ae]llo", "hallo", true),
            ("h[ae]llo", "hillo", false),
            ("h[^e]llo", "hallo", true),
            ("h[^e]llo", "hello", false),
            ("h[a-b]llo", "hbllo", true),
            ("h[b-a]llo", "hallo", true),
            ("h\\*llo", "h*llo", true),
            ("h\\*llo", "hello", false),
            ("key:*:x", "key:1:2:x", true),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "aXbY", false),
            ("[abc", "a", true),
        ];
        for (pattern, string, expected) in cases {
            assert_eq!(
                glob_match(pattern.as_bytes(), string.as_bytes(), false),
                *expected,
                "{pattern} vs {string}"
            );
        }
        assert!(glob_match(b"HZ", b"hz", true));
    }

    #[test]
    fn pathological_patterns_stay_fast() {
        let pattern = "a*".repeat(30) + "b";
        let string = "a".repeat(60);
        assert!(!glob_match(pattern.as_bytes(), string.as_bytes(), false));
    }
}
