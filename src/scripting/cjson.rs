//! The `cjson` library Redis ships (lua-cjson 2.1): `cjson.encode`,
//! `cjson.decode` and `cjson.null`, with lua-cjson's rules: numbers written
//! with 14 significant digits, `/` escaped, an empty table as `{}`, tables
//! whose keys are all positive integers as arrays (refused when
//! excessively sparse), JSON `null` decoded to `cjson.null`.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;

use mlua::{LightUserData, Lua, MultiValue, Table, Value};

use super::vm::Raise;

/// Deepest nesting encode and decode accept by default (lua-cjson's 1000).
const MAX_DEPTH: usize = 1000;

/// The settings a script changes with `cjson.encode_max_depth` and the
/// like; they last as long as the Lua state, as in Redis.
#[derive(Debug)]
struct Settings {
    encode_max_depth: AtomicUsize,
    decode_max_depth: AtomicUsize,
    /// 0 refuse, 1 allow (written as `nan`, `inf`), 2 written as `null`.
    encode_invalid_numbers: AtomicU8,
    decode_invalid_numbers: AtomicU8,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            encode_max_depth: AtomicUsize::new(MAX_DEPTH),
            decode_max_depth: AtomicUsize::new(MAX_DEPTH),
            encode_invalid_numbers: AtomicU8::new(0),
            decode_invalid_numbers: AtomicU8::new(1),
        }
    }
}

/// `cjson.encode_max_depth([n])` and `decode_max_depth`: sets the value
/// when given, returns it.
fn depth_setting(slot: &AtomicUsize, args: &MultiValue, name: &str) -> mlua::Result<f64> {
    match args.front() {
        None | Some(Value::Nil) => {}
        Some(value) => {
            let n = match value {
                Value::Integer(n) => *n as f64,
                Value::Number(n) => *n,
                _ => -1.0,
            };
            if !(1.0..=2_147_483_647.0).contains(&n) {
                return Err(raise(format!(
                    "bad argument #1 to '{name}' (expected integer between 1 and 2147483647)"
                )));
            }
            slot.store(n as usize, Ordering::Relaxed);
        }
    }
    Ok(slot.load(Ordering::Relaxed) as f64)
}

/// `cjson.encode_invalid_numbers([setting])`: true, false or "null".
fn invalid_numbers_setting(
    lua: &Lua,
    slot: &AtomicU8,
    args: &MultiValue,
    name: &str,
) -> mlua::Result<Value> {
    match args.front() {
        None | Some(Value::Nil) => {}
        Some(Value::Boolean(b)) => slot.store(u8::from(*b), Ordering::Relaxed),
        Some(Value::String(s)) if s.as_bytes().as_ref() == b"null" => {
            slot.store(2, Ordering::Relaxed)
        }
        Some(Value::String(s)) if s.as_bytes().as_ref() == b"on" => {
            slot.store(1, Ordering::Relaxed)
        }
        Some(Value::String(s)) if s.as_bytes().as_ref() == b"off" => {
            slot.store(0, Ordering::Relaxed)
        }
        Some(_) => {
            return Err(raise(format!(
                "bad argument #1 to '{name}' (invalid option)"
            )))
        }
    }
    Ok(match slot.load(Ordering::Relaxed) {
        0 => Value::Boolean(false),
        1 => Value::Boolean(true),
        _ => Value::String(lua.create_string("null")?),
    })
}

fn raise(message: impl Into<String>) -> mlua::Error {
    mlua::Error::external(Raise::Message(message.into()))
}

/// C's `printf("%.<precision>g", n)` for finite `n`.
pub fn format_g(n: f64, precision: usize) -> String {
    if n.is_nan() {
        return if n.is_sign_negative() { "-nan" } else { "nan" }.into();
    }
    if n.is_infinite() {
        return if n > 0.0 { "inf" } else { "-inf" }.into();
    }
    if n == 0.0 {
        return if n.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let precision = precision.max(1);
    let scientific = format!("{:.*e}", precision - 1, n);
    let (mantissa, exponent) = scientific.split_once('e').expect("{:e} has an exponent");
    let exponent: i32 = exponent.parse().expect("{:e} exponent is a number");
    if exponent < -4 || exponent >= precision as i32 {
        let mantissa = trim_fraction(mantissa);
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.abs())
    } else {
        let decimals = (precision as i32 - 1 - exponent).max(0) as usize;
        trim_fraction(&format!("{n:.decimals$}")).to_string()
    }
}

fn trim_fraction(text: &str) -> &str {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        text
    }
}

/// Builds the `cjson` table.
pub fn open(lua: &Lua) -> mlua::Result<Table> {
    let cjson = lua.create_table()?;
    let settings = Arc::new(Settings::default());
    let encode_settings = settings.clone();
    cjson.raw_set(
        "encode",
        lua.create_function(move |lua, args: MultiValue| {
            if args.len() != 1 {
                return Err(raise("bad argument #1 to 'encode' (expected 1 argument)"));
            }
            let mut out = Vec::new();
            let limits = EncodeLimits {
                max_depth: encode_settings.encode_max_depth.load(Ordering::Relaxed),
                invalid_numbers: encode_settings
                    .encode_invalid_numbers
                    .load(Ordering::Relaxed),
            };
            encode(&args[0], &mut out, 0, &limits)?;
            lua.create_string(&out)
        })?,
    )?;
    let decode_settings = settings.clone();
    cjson.raw_set(
        "decode",
        lua.create_function(move |lua, args: MultiValue| {
            if args.len() != 1 {
                return Err(raise("bad argument #1 to 'decode' (expected 1 argument)"));
            }
            let text = match &args[0] {
                Value::String(s) => s.as_bytes().to_vec(),
                Value::Integer(n) => n.to_string().into_bytes(),
                Value::Number(n) => format_g(*n, 14).into_bytes(),
                other => {
                    return Err(raise(format!(
                        "bad argument #1 to 'decode' (string expected, got {})",
                        super::vm::lua_type_name(other)
                    )))
                }
            };
            let mut parser = Parser {
                text: &text,
                at: 0,
                max_depth: decode_settings.decode_max_depth.load(Ordering::Relaxed),
            };
            let value = parser.value(lua, 0)?;
            parser.skip_space();
            if parser.at < text.len() {
                return Err(parser.unexpected("the end"));
            }
            Ok(value)
        })?,
    )?;
    cjson.raw_set(
        "null",
        Value::LightUserData(LightUserData(std::ptr::null_mut())),
    )?;
    let s = settings.clone();
    cjson.raw_set(
        "encode_max_depth",
        lua.create_function(move |_, args: MultiValue| {
            depth_setting(&s.encode_max_depth, &args, "encode_max_depth")
        })?,
    )?;
    let s = settings.clone();
    cjson.raw_set(
        "decode_max_depth",
        lua.create_function(move |_, args: MultiValue| {
            depth_setting(&s.decode_max_depth, &args, "decode_max_depth")
        })?,
    )?;
    let s = settings.clone();
    cjson.raw_set(
        "encode_invalid_numbers",
        lua.create_function(move |lua, args: MultiValue| {
            invalid_numbers_setting(
                lua,
                &s.encode_invalid_numbers,
                &args,
                "encode_invalid_numbers",
            )
        })?,
    )?;
    let s = settings;
    cjson.raw_set(
        "decode_invalid_numbers",
        lua.create_function(move |lua, args: MultiValue| {
            invalid_numbers_setting(
                lua,
                &s.decode_invalid_numbers,
                &args,
                "decode_invalid_numbers",
            )
        })?,
    )?;
    // Settings replsim's encoder has no use for (it keeps no buffer and
    // writes 14 digits): accepted, and they return what they were given.
    for name in [
        "encode_keep_buffer",
        "encode_number_precision",
        "encode_sparse_array",
    ] {
        cjson.raw_set(name, lua.create_function(|_, args: MultiValue| Ok(args))?)?;
    }
    Ok(cjson)
}

/// What `cjson.encode` obeys.
struct EncodeLimits {
    max_depth: usize,
    invalid_numbers: u8,
}

fn encode(
    value: &Value,
    out: &mut Vec<u8>,
    depth: usize,
    limits: &EncodeLimits,
) -> mlua::Result<()> {
    match value {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::LightUserData(ud) if ud.0.is_null() => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Integer(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::Number(n) => {
            if !n.is_finite() {
                match limits.invalid_numbers {
                    0 => return Err(raise("Cannot serialise number: must not be NaN or Inf")),
                    1 => {
                        let text = if n.is_nan() {
                            "nan".to_string()
                        } else {
                            format_g(*n, 14)
                        };
                        out.extend_from_slice(text.as_bytes());
                    }
                    _ => out.extend_from_slice(b"null"),
                }
                return Ok(());
            }
            out.extend_from_slice(format_g(*n, 14).as_bytes());
        }
        Value::String(s) => encode_string(&s.as_bytes(), out),
        Value::Table(table) => {
            if depth + 1 > limits.max_depth {
                return Err(raise(format!(
                    "Cannot serialise, excessive nesting ({})",
                    depth + 1
                )));
            }
            encode_table(table, out, depth + 1, limits)?;
        }
        other => {
            return Err(raise(format!(
                "Cannot serialise {}: type not supported",
                super::vm::lua_type_name(other)
            )))
        }
    }
    Ok(())
}

fn encode_string(bytes: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &b in bytes {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            0..=0x1f | 0x7f => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

/// lua-cjson's array test: every key a positive integer; the array length
/// is the largest; refused when sparse beyond ratio 2 past index 10.
fn array_length(table: &Table) -> mlua::Result<Option<usize>> {
    let mut max = 0usize;
    let mut items = 0usize;
    for pair in table.pairs::<Value, Value>() {
        let (key, _) = pair?;
        let index = match key {
            Value::Integer(n) if n >= 1 => n as f64,
            Value::Number(n) if n >= 1.0 && n.floor() == n => n,
            _ => return Ok(None),
        };
        max = max.max(index as usize);
        items += 1;
    }
    if max > items * 2 && max > 10 {
        return Err(raise("Cannot serialise table: excessively sparse array"));
    }
    Ok(Some(max))
}

fn encode_table(
    table: &Table,
    out: &mut Vec<u8>,
    depth: usize,
    limits: &EncodeLimits,
) -> mlua::Result<()> {
    match array_length(table)? {
        Some(len) if len > 0 => {
            out.push(b'[');
            for index in 1..=len {
                if index > 1 {
                    out.push(b',');
                }
                encode(&table.raw_get::<Value>(index)?, out, depth, limits)?;
            }
            out.push(b']');
        }
        _ => {
            out.push(b'{');
            let mut first = true;
            table.for_each::<Value, Value>(|key, value| {
                if !first {
                    out.push(b',');
                }
                first = false;
                match &key {
                    Value::String(s) => encode_string(&s.as_bytes(), out),
                    Value::Integer(n) => encode_string(n.to_string().as_bytes(), out),
                    Value::Number(n) => encode_string(format_g(*n, 14).as_bytes(), out),
                    _ => {
                        return Err(raise(
                            "Cannot serialise table: table key must be a number or string",
                        ))
                    }
                }
                out.push(b':');
                encode(&value, out, depth, limits)
            })?;
            out.push(b'}');
        }
    }
    Ok(())
}

struct Parser<'a> {
    text: &'a [u8],
    at: usize,
    max_depth: usize,
}

impl Parser<'_> {
    fn skip_space(&mut self) {
        while self.at < self.text.len()
            && matches!(self.text[self.at], b' ' | b'\t' | b'\n' | b'\r')
        {
            self.at += 1;
        }
    }

    fn token_name(&self) -> &'static str {
        match self.text.get(self.at) {
            None => "T_END",
            Some(b'{') => "T_OBJ_BEGIN",
            Some(b'}') => "T_OBJ_END",
            Some(b'[') => "T_ARR_BEGIN",
            Some(b']') => "T_ARR_END",
            Some(b',') => "T_COMMA",
            Some(b':') => "T_COLON",
            Some(b'"') => "T_STRING",
            Some(b'-' | b'0'..=b'9') => "T_NUMBER",
            Some(b't' | b'f') => "T_BOOLEAN",
            Some(b'n') => "T_NULL",
            Some(_) => "invalid token",
        }
    }

    fn unexpected(&self, expected: &str) -> mlua::Error {
        raise(format!(
            "Expected {expected} but found {} at character {}",
            self.token_name(),
            self.at + 1
        ))
    }

    fn value(&mut self, lua: &Lua, depth: usize) -> mlua::Result<Value> {
        self.skip_space();
        if depth >= self.max_depth {
            return Err(raise(format!(
                "Found too many nested data structures ({}) at character {}",
                depth + 1,
                self.at + 1
            )));
        }
        match self.text.get(self.at) {
            Some(b'{') => self.object(lua, depth + 1),
            Some(b'[') => self.array(lua, depth + 1),
            Some(b'"') => Ok(Value::String(lua.create_string(self.string()?)?)),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) if self.text[self.at..].starts_with(b"true") => {
                self.at += 4;
                Ok(Value::Boolean(true))
            }
            Some(_) if self.text[self.at..].starts_with(b"false") => {
                self.at += 5;
                Ok(Value::Boolean(false))
            }
            Some(_) if self.text[self.at..].starts_with(b"null") => {
                self.at += 4;
                Ok(Value::LightUserData(LightUserData(std::ptr::null_mut())))
            }
            _ => Err(self.unexpected("value")),
        }
    }

    fn number(&mut self) -> mlua::Result<Value> {
        let start = self.at;
        while self.at < self.text.len()
            && matches!(
                self.text[self.at],
                b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'
            )
        {
            self.at += 1;
        }
        let text = std::str::from_utf8(&self.text[start..self.at]).unwrap_or("");
        match text.parse::<f64>() {
            Ok(n) => Ok(Value::Number(n)),
            Err(_) => {
                self.at = start;
                Err(self.unexpected("value"))
            }
        }
    }

    fn string(&mut self) -> mlua::Result<Vec<u8>> {
        let start = self.at;
        self.at += 1;
        let mut out = Vec::new();
        loop {
            let Some(&b) = self.text.get(self.at) else {
                self.at = start;
                return Err(raise(format!(
                    "Expected value but found invalid token at character {}",
                    start + 1
                )));
            };
            self.at += 1;
            match b {
                b'"' => return Ok(out),
                b'\\' => {
                    let Some(&escape) = self.text.get(self.at) else {
                        continue;
                    };
                    self.at += 1;
                    match escape {
                        b'"' | b'\\' | b'/' => out.push(escape),
                        b'b' => out.push(0x08),
                        b'f' => out.push(0x0c),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let code = self.hex4().ok_or_else(|| self.invalid_escape(start))?;
                            let code = if (0xD800..0xDC00).contains(&code)
                                && self.text.get(self.at..self.at + 2) == Some(b"\\u")
                            {
                                self.at += 2;
                                let low = self.hex4().ok_or_else(|| self.invalid_escape(start))?;
                                0x10000
                                    + ((code - 0xD800) << 10)
                                    + (low.wrapping_sub(0xDC00) & 0x3ff)
                            } else {
                                code
                            };
                            let ch =
                                char::from_u32(code).ok_or_else(|| self.invalid_escape(start))?;
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => return Err(self.invalid_escape(start)),
                    }
                }
                _ => out.push(b),
            }
        }
    }

    fn invalid_escape(&self, start: usize) -> mlua::Error {
        raise(format!(
            "Expected value but found invalid unicode escape code at character {}",
            start + 1
        ))
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.text.get(self.at..self.at + 4)?;
        let code = u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()?;
        self.at += 4;
        Some(code)
    }

    fn array(&mut self, lua: &Lua, depth: usize) -> mlua::Result<Value> {
        self.at += 1;
        let table = lua.create_table()?;
        self.skip_space();
        if self.text.get(self.at) == Some(&b']') {
            self.at += 1;
            return Ok(Value::Table(table));
        }
        let mut index = 1;
        loop {
            let value = self.value(lua, depth)?;
            table.raw_set(index, value)?;
            index += 1;
            self.skip_space();
            match self.text.get(self.at) {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    return Ok(Value::Table(table));
                }
                _ => return Err(self.unexpected("comma or array end")),
            }
        }
    }

    fn object(&mut self, lua: &Lua, depth: usize) -> mlua::Result<Value> {
        self.at += 1;
        let table = lua.create_table()?;
        self.skip_space();
        if self.text.get(self.at) == Some(&b'}') {
            self.at += 1;
            return Ok(Value::Table(table));
        }
        loop {
            self.skip_space();
            if self.text.get(self.at) != Some(&b'"') {
                return Err(self.unexpected("object key string"));
            }
            let key = self.string()?;
            self.skip_space();
            if self.text.get(self.at) != Some(&b':') {
                return Err(self.unexpected("colon"));
            }
            self.at += 1;
            let value = self.value(lua, depth)?;
            table.raw_set(lua.create_string(&key)?, value)?;
            self.skip_space();
            match self.text.get(self.at) {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(Value::Table(table));
                }
                _ => return Err(self.unexpected("comma or object end")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(code: &str) -> String {
        let lua = Lua::new();
        lua.globals().set("cjson", open(&lua).unwrap()).unwrap();
        lua.load(code).eval::<String>().unwrap()
    }

    #[test]
    fn g_format_matches_printf() {
        assert_eq!(format_g(0.1, 14), "0.1");
        assert_eq!(format_g(1e20, 14), "1e+20");
        assert_eq!(format_g(123456789012345.0, 14), "1.2345678901234e+14");
        assert_eq!(format_g(3.0, 14), "3");
        assert_eq!(format_g(0.0001, 14), "0.0001");
        assert_eq!(format_g(0.00001, 14), "1e-05");
        assert_eq!(format_g(-2.5, 17), "-2.5");
    }

    #[test]
    fn encode_follows_lua_cjson() {
        assert_eq!(
            eval("return cjson.encode({1, 2, 'a/b'})"),
            "[1,2,\"a\\/b\"]"
        );
        assert_eq!(eval("return cjson.encode({})"), "{}");
        assert_eq!(eval("return cjson.encode({a=cjson.null})"), "{\"a\":null}");
        assert_eq!(eval("return cjson.encode({[1]=1, [3]=3})"), "[1,null,3]");
        assert_eq!(eval("return cjson.encode(0.5)"), "0.5");
    }

    #[test]
    fn decode_round_trips_and_reports_errors() {
        assert_eq!(
            eval("local t = cjson.decode('{\"a\":[1,2,{\"b\":null}],\"c\":\"\\\\u00e9\"}') return tostring(t.a[2]) .. tostring(t.a[3].b == cjson.null) .. t.c"),
            "2true\u{e9}"
        );
        let lua = Lua::new();
        lua.globals().set("cjson", open(&lua).unwrap()).unwrap();
        let error = lua
            .load("return cjson.decode('{')")
            .eval::<Value>()
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("Expected object key string but found T_END at character 2"),
            "{error}"
        );
    }
}
