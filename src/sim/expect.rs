//! The scenario's own expectations, judged against what a run observed:
//! replies against `expect`, INFO fields against `check.info` and `await`
//! on INFO, and the text that shows replies to people the way redis-cli
//! does (`"bar"`, `(nil)`, `(integer) 5`, `(error) ERR ...`).

use crate::resp::Frame;
use crate::scenario::{Expect, InfoExpect};

/// A reply as redis-cli prints it: `OK`, `"bar"`, `(nil)`, `(integer) 5`,
/// `(error) READONLY ...`, `(empty array)`, `1) "a" 2) (integer) 1`;
/// `(no reply)` when none came.
pub fn show_reply(reply: Option<&Frame>) -> String {
    match reply {
        None => "(no reply)".to_string(),
        Some(frame) => show_frame(frame),
    }
}

/// One reply as redis-cli shows it: `"bar"`, `(nil)`, `(integer) 5`,
/// `(error) ERR ...`, `OK`, arrays as `1) "a" 2) "b"`.
pub fn show_frame(frame: &Frame) -> String {
    match frame {
        Frame::Simple(text) => text.clone(),
        Frame::Error(text) => format!("(error) {text}"),
        Frame::Integer(n) => format!("(integer) {n}"),
        Frame::Bulk(None) | Frame::Array(None) | Frame::Null => "(nil)".to_string(),
        Frame::Bulk(Some(bytes)) => quote(bytes),
        Frame::Double(text) => format!("(double) {text}"),
        Frame::BigNumber(text) => format!("(big number) {text}"),
        Frame::Boolean(value) => format!("({value})"),
        Frame::Verbatim(_, text) => quote(text),
        Frame::Array(Some(items)) | Frame::Set(items) | Frame::Push(items) => show_items(items),
        Frame::Map(pairs) if pairs.is_empty() => "(empty hash)".to_string(),
        Frame::Map(pairs) => pairs
            .iter()
            .enumerate()
            .map(|(i, (key, value))| {
                format!("{}# {} => {}", i + 1, show_frame(key), show_frame(value))
            })
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// Aggregate elements as redis-cli numbers them: `1) "a" 2) "b"`.
fn show_items(items: &[Frame]) -> String {
    if items.is_empty() {
        return "(empty array)".to_string();
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| format!("{}) {}", i + 1, show_frame(item)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Bytes in double quotes with redis-cli's escapes: `\"`, `\\`, `\n`,
/// `\r`, `\t`, and `\xNN` for other bytes that are not printable ASCII.
fn quote(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for &b in bytes {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

/// Whether `reply` is what `expect` asks for.
pub fn reply_matches(expect: &Expect, reply: Option<&Frame>) -> bool {
    match (expect, reply) {
        (Expect::Simple(text), Some(Frame::Simple(s))) => s == text,
        (Expect::Bulk(text), Some(Frame::Bulk(Some(b)))) => b.as_slice() == text.as_bytes(),
        (Expect::Nil, Some(Frame::Bulk(None) | Frame::Array(None))) => true,
        (Expect::Integer(n), Some(Frame::Integer(m))) => n == m,
        (Expect::ErrorPrefix(prefix), Some(Frame::Error(e))) => e.starts_with(prefix.as_str()),
        (Expect::Array(wanted), Some(Frame::Array(Some(items)))) => {
            wanted.len() == items.len()
                && wanted
                    .iter()
                    .zip(items)
                    .all(|(w, item)| reply_matches(w, Some(item)))
        }
        _ => false,
    }
}

/// Why `reply` does not meet `expect`, or `None` when it does:
/// `expected "1", got (nil)`.
pub fn expectation_failure(expect: &Expect, reply: Option<&Frame>) -> Option<String> {
    (!reply_matches(expect, reply)).then(|| format!("expected {expect}, got {}", show_reply(reply)))
}

/// Whether an INFO field's value (`None`: the node or the field is
/// missing) satisfies `expect`: exact text, or a numeric comparison that a
/// non-numeric value never satisfies.
pub fn info_holds(expect: &InfoExpect, actual: Option<&str>) -> bool {
    expect.holds(actual)
}

/// Why INFO field `field` of `on` does not satisfy `expect`:
/// `r1 INFO connected_slaves is 1, expected >= 2`, or, for a comparison
/// with a value that is not a number, says so.
pub fn info_failure(on: &str, field: &str, expect: &InfoExpect, actual: Option<&str>) -> String {
    match (expect, actual) {
        (_, None) => format!("{on} INFO has no field {field}, expected {expect}"),
        (InfoExpect::Compare { .. }, Some(text)) if text.trim().parse::<f64>().is_err() => {
            format!(
                "{on} INFO {field} is {text:?}, which is not a number, so it cannot be \
                 compared: expected {expect}"
            )
        }
        (_, Some(text)) => format!("{on} INFO {field} is {text}, expected {expect}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::CmpOp;

    fn bulk(text: &str) -> Frame {
        Frame::Bulk(Some(text.as_bytes().to_vec()))
    }

    #[test]
    fn replies_show_as_redis_cli_prints_them() {
        assert_eq!(show_reply(Some(&bulk("bar"))), "\"bar\"");
        assert_eq!(show_reply(Some(&Frame::Bulk(None))), "(nil)");
        assert_eq!(show_reply(Some(&Frame::Integer(5))), "(integer) 5");
        assert_eq!(show_reply(Some(&Frame::Simple("OK".into()))), "OK");
        assert_eq!(
            show_reply(Some(&Frame::Error("ERR wrong".into()))),
            "(error) ERR wrong"
        );
        assert_eq!(
            show_reply(Some(&Frame::Array(Some(vec![bulk("a"), bulk("b")])))),
            "1) \"a\" 2) \"b\""
        );
        assert_eq!(
            show_reply(Some(&Frame::Array(Some(vec![])))),
            "(empty array)"
        );
        assert_eq!(show_reply(Some(&bulk("a\"\n\u{1}"))), "\"a\\\"\\n\\x01\"");
        assert_eq!(show_reply(None), "(no reply)");
    }

    #[test]
    fn arrays_match_item_by_item_and_length() {
        let expect = Expect::Array(vec![
            Expect::Bulk("a".into()),
            Expect::Integer(1),
            Expect::Nil,
            Expect::Array(vec![Expect::ErrorPrefix("ERR".into())]),
        ]);
        let reply = Frame::Array(Some(vec![
            bulk("a"),
            Frame::Integer(1),
            Frame::Bulk(None),
            Frame::Array(Some(vec![Frame::Error("ERR no".into())])),
        ]));
        assert!(reply_matches(&expect, Some(&reply)));
        let shorter = Frame::Array(Some(vec![bulk("a"), Frame::Integer(1)]));
        assert_eq!(
            expectation_failure(&expect, Some(&shorter)).unwrap(),
            "expected 1) \"a\" 2) (integer) 1 3) (nil) 4) 1) (error) ERR..., \
             got 1) \"a\" 2) (integer) 1"
        );
        let other = Frame::Array(Some(vec![
            bulk("b"),
            Frame::Integer(1),
            Frame::Bulk(None),
            Frame::Array(Some(vec![Frame::Error("ERR no".into())])),
        ]));
        assert!(!reply_matches(&expect, Some(&other)));
    }

    #[test]
    fn failures_show_values_not_rust_debug_text() {
        let failure = expectation_failure(&Expect::Bulk("1".into()), Some(&Frame::Bulk(None)));
        assert_eq!(failure.unwrap(), "expected \"1\", got (nil)");
        assert_eq!(
            expectation_failure(&Expect::Integer(2), None).unwrap(),
            "expected (integer) 2, got (no reply)"
        );
        assert_eq!(
            expectation_failure(&Expect::Nil, Some(&Frame::Bulk(None))),
            None
        );
    }

    #[test]
    fn info_comparisons_are_numeric() {
        let ge10 = InfoExpect::Compare {
            op: CmpOp::Ge,
            value: 10.0,
        };
        // "9" < "10" as numbers, though "9" > "10" as strings.
        assert!(!info_holds(&ge10, Some("9")));
        assert!(info_holds(&ge10, Some("10")));
        assert!(info_holds(&ge10, Some("10.5")));
        let eq3 = InfoExpect::Compare {
            op: CmpOp::Eq,
            value: 3.0,
        };
        assert!(info_holds(&eq3, Some("3")) && info_holds(&eq3, Some("3.0")));
        assert!(!info_holds(&ge10, Some("up")) && !info_holds(&ge10, None));
        assert_eq!(
            info_failure("r1", "master_link_status", &ge10, Some("up")),
            "r1 INFO master_link_status is \"up\", which is not a number, so it cannot be \
             compared: expected >= 10"
        );
        let up = InfoExpect::Equals("up".into());
        assert!(info_holds(&up, Some("up")) && !info_holds(&up, Some("down")));
        assert_eq!(
            info_failure("r1", "master_link_status", &up, Some("down")),
            "r1 INFO master_link_status is down, expected == up"
        );
    }
}
