//! The span recorder: a small JSON reader that keeps, for every value and
//! every object key, its 1-based line and column (in characters), and keeps
//! object members in file order (duplicates included, so that the validator
//! can reject them).
//!
//! It runs after serde_json has accepted the text, so its own errors are
//! only a safety net; strings and numbers are decoded by serde_json itself,
//! so escapes and number forms mean exactly what they mean to serde_json.

use std::fmt::Write as _;

/// Where a value or key starts: 1-based line and column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pos {
    pub line: usize,
    pub column: usize,
}

impl Pos {
    pub fn pair(self) -> (usize, usize) {
        (self.line, self.column)
    }
}

/// A JSON value with the position of its first character.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Value {
    pub pos: Pos,
    pub kind: Kind,
}

/// The JSON value itself.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Kind {
    Null,
    Bool(bool),
    /// The number as serde_json reads it, and its text as written.
    Number(serde_json::Number, String),
    Str(String),
    Array(Vec<Value>),
    Object(Vec<Member>),
}

/// An object member: its key, where the key's `"` is, and its value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Member {
    pub key: String,
    pub key_pos: Pos,
    pub value: Value,
}

/// Deeper than serde_json's own limit (128), which has accepted the text
/// first; this only keeps the recursion bounded if it ever did not.
const MAX_DEPTH: usize = 256;

/// Reads `text` (one JSON value, surrounded by whitespace only).
pub(crate) fn parse(text: &str) -> Result<Value, (Pos, String)> {
    let mut reader = Reader {
        text,
        bytes: text.as_bytes(),
        i: 0,
        line: 1,
        column: 1,
    };
    reader.skip_ws();
    let value = reader.value(0)?;
    reader.skip_ws();
    if reader.i < reader.bytes.len() {
        return Err((reader.pos(), "trailing characters".to_string()));
    }
    Ok(value)
}

struct Reader<'t> {
    text: &'t str,
    bytes: &'t [u8],
    i: usize,
    line: usize,
    column: usize,
}

impl Reader<'_> {
    fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            column: self.column,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.i).copied()
    }

    /// Consumes one byte, keeping line and column (columns count characters:
    /// UTF-8 continuation bytes do not move it).
    fn bump(&mut self) {
        if let Some(b) = self.peek() {
            self.i += 1;
            if b == b'\n' {
                self.line += 1;
                self.column = 1;
            } else if b & 0xC0 != 0x80 {
                self.column += 1;
            }
        }
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.bump();
        }
    }

    fn fail<T>(&self, what: &str) -> Result<T, (Pos, String)> {
        let mut msg = String::from(what);
        match self.peek() {
            None => msg.push_str(" at the end of the file"),
            Some(b) => {
                let _ = write!(msg, " at {:?}", b as char);
            }
        }
        Err((self.pos(), msg))
    }

    fn value(&mut self, depth: usize) -> Result<Value, (Pos, String)> {
        if depth > MAX_DEPTH {
            return self.fail("nested too deeply");
        }
        let pos = self.pos();
        let kind = match self.peek() {
            Some(b'{') => self.object(depth)?,
            Some(b'[') => self.array(depth)?,
            Some(b'"') => Kind::Str(self.string()?),
            Some(b't') => self.literal("true", Kind::Bool(true))?,
            Some(b'f') => self.literal("false", Kind::Bool(false))?,
            Some(b'n') => self.literal("null", Kind::Null)?,
            Some(b'-' | b'0'..=b'9') => self.number()?,
            _ => return self.fail("expected a value"),
        };
        Ok(Value { pos, kind })
    }

    fn literal(&mut self, word: &str, kind: Kind) -> Result<Kind, (Pos, String)> {
        if !self.bytes[self.i..].starts_with(word.as_bytes()) {
            return self.fail("expected a value");
        }
        for _ in 0..word.len() {
            self.bump();
        }
        Ok(kind)
    }

    fn number(&mut self) -> Result<Kind, (Pos, String)> {
        let pos = self.pos();
        let start = self.i;
        while let Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') = self.peek() {
            self.bump();
        }
        let raw = &self.text[start..self.i];
        match serde_json::from_str::<serde_json::Number>(raw) {
            Ok(n) => Ok(Kind::Number(n, raw.to_string())),
            Err(e) => Err((pos, format!("bad number {raw}: {}", without_position(&e)))),
        }
    }

    fn string(&mut self) -> Result<String, (Pos, String)> {
        let pos = self.pos();
        let start = self.i;
        self.bump(); // the opening quote
        loop {
            match self.peek() {
                None => return self.fail("unterminated string"),
                Some(b'\\') => {
                    self.bump();
                    self.bump();
                }
                Some(b'"') => {
                    self.bump();
                    break;
                }
                Some(_) => self.bump(),
            }
        }
        let raw = &self.text[start..self.i];
        serde_json::from_str::<String>(raw)
            .map_err(|e| (pos, format!("bad string: {}", without_position(&e))))
    }

    fn array(&mut self, depth: usize) -> Result<Kind, (Pos, String)> {
        self.bump(); // [
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.bump();
            return Ok(Kind::Array(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.bump(),
                Some(b']') => {
                    self.bump();
                    return Ok(Kind::Array(items));
                }
                _ => return self.fail("expected `,` or `]`"),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Kind, (Pos, String)> {
        self.bump(); // {
        let mut members = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.bump();
            return Ok(Kind::Object(members));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return self.fail("expected a key");
            }
            let key_pos = self.pos();
            let key = self.string()?;
            self.skip_ws();
            if self.peek() != Some(b':') {
                return self.fail("expected `:`");
            }
            self.bump();
            self.skip_ws();
            let value = self.value(depth + 1)?;
            members.push(Member {
                key,
                key_pos,
                value,
            });
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.bump(),
                Some(b'}') => {
                    self.bump();
                    return Ok(Kind::Object(members));
                }
                _ => return self.fail("expected `,` or `}`"),
            }
        }
    }
}

/// serde_json's message without its " at line L column C" suffix.
pub(crate) fn without_position(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    match full.strip_suffix(&suffix) {
        Some(message) => message.to_string(),
        None => full,
    }
}

/// The JSON path of `key` inside the value at `parent`: `a.b`, or
/// `a."my key"` when the key is not identifier-like.
pub(crate) fn key_path(parent: &str, key: &str) -> String {
    let plain = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let key = if plain {
        key.to_string()
    } else {
        serde_json::to_string(key).unwrap_or_else(|_| format!("{key:?}"))
    };
    if parent.is_empty() {
        key
    } else {
        format!("{parent}.{key}")
    }
}

/// The JSON path of item `i` of the array at `parent`: `a[3]`.
pub(crate) fn index_path(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}

/// Converts serde_json's error position (1-based line, column counted in
/// bytes) to a 1-based character column in `text`.
pub(crate) fn char_column(text: &str, line: usize, byte_column: usize) -> usize {
    let Some(line_text) = text.split('\n').nth(line.saturating_sub(1)) else {
        return byte_column.max(1);
    };
    let chars = line_text
        .char_indices()
        .take_while(|(i, _)| *i < byte_column)
        .count();
    chars.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: usize, column: usize) -> Pos {
        Pos { line, column }
    }

    #[test]
    fn records_positions_of_values_and_keys() {
        let text = "{\n  \"a\": [1, \"x\"],\n  \"é\": {\"b\": null}\n}";
        let v = parse(text).unwrap();
        assert_eq!(v.pos, at(1, 1));
        let Kind::Object(members) = &v.kind else {
            panic!("not an object")
        };
        assert_eq!(members[0].key_pos, at(2, 3));
        assert_eq!(members[0].value.pos, at(2, 8));
        let Kind::Array(items) = &members[0].value.kind else {
            panic!("not an array")
        };
        assert_eq!(items[1].pos, at(2, 12));
        assert_eq!(items[1].kind, Kind::Str("x".into()));
        assert_eq!(members[1].key, "é");
        let Kind::Object(inner) = &members[1].value.kind else {
            panic!("not an object")
        };
        // Columns count characters: "é" is one column.
        assert_eq!(inner[0].key_pos, at(3, 9));
        assert_eq!(inner[0].value.pos, at(3, 14));
    }

    #[test]
    fn keeps_duplicate_keys_and_decodes_escapes() {
        let v = parse(r#"{"a": "\u00e9\n", "a": -1.5e3}"#).unwrap();
        let Kind::Object(members) = &v.kind else {
            panic!("not an object")
        };
        assert_eq!(members.len(), 2);
        assert_eq!(members[0].value.kind, Kind::Str("é\n".into()));
        let Kind::Number(n, raw) = &members[1].value.kind else {
            panic!("not a number")
        };
        assert_eq!((n.as_f64(), raw.as_str()), (Some(-1500.0), "-1.5e3"));
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        for text in ["", "{", "[1,", "{\"a\" 1}", "\"abc", "tru", "{} x", "[1 2]"] {
            assert!(parse(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn paths_quote_keys_that_are_not_identifiers() {
        assert_eq!(key_path("", "nodes"), "nodes");
        assert_eq!(key_path("nodes", "r1"), "nodes.r1");
        assert_eq!(key_path("nodes", "my node"), "nodes.\"my node\"");
        assert_eq!(key_path("c", "repl-backlog-size"), "c.repl-backlog-size");
        assert_eq!(key_path("n", "1x"), "n.\"1x\"");
        assert_eq!(index_path("steps", 3), "steps[3]");
    }

    #[test]
    fn serde_json_byte_columns_become_character_columns() {
        assert_eq!(char_column("{\"é\": x}", 1, 8), 7);
        assert_eq!(char_column("ab\ncd", 2, 0), 1);
        assert_eq!(char_column("ab", 5, 3), 3);
    }
}
