//! The `cmsgpack` library Redis ships (lua-cmsgpack 0.4): MessagePack
//! `pack(...)`, `unpack(s)`, `unpack_one(s[, offset])` and
//! `unpack_limit(s, limit[, offset])`, with its rules: integral numbers
//! as the smallest integer type, other numbers as a float when a float
//! holds them exactly and a double otherwise, tables whose keys are
//! exactly 1..n as arrays and others as maps, nesting deeper than 16 (a
//! circular table) as nil.

use mlua::{Lua, MultiValue, Table, Value};

use super::vm::Raise;

/// lua-cmsgpack's `LUACMSGPACK_MAX_NESTING`.
const MAX_NESTING: usize = 16;

fn raise(message: impl Into<String>) -> mlua::Error {
    mlua::Error::external(Raise::Message(message.into()))
}

fn encode_int(n: i64, out: &mut Vec<u8>) {
    if n >= 0 {
        if n <= 127 {
            out.push(n as u8);
        } else if n <= 0xff {
            out.extend_from_slice(&[0xcc, n as u8]);
        } else if n <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        } else if n <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    } else if n >= -32 {
        out.push(n as i8 as u8);
    } else if n >= -128 {
        out.extend_from_slice(&[0xd0, n as i8 as u8]);
    } else if n >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= -2_147_483_648 {
        out.push(0xd2);
        out.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_number(n: f64, out: &mut Vec<u8>) {
    if !n.is_infinite() && (n as i64) as f64 == n {
        encode_int(n as i64, out);
    } else if (n as f32) as f64 == n || n.is_nan() && (n as f32).is_nan() {
        out.push(0xca);
        out.extend_from_slice(&(n as f32).to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_header(len: usize, fix: u8, fix_max: usize, codes: [u8; 2], out: &mut Vec<u8>) {
    if len <= fix_max {
        out.push(fix | len as u8);
    } else if len <= 0xffff {
        out.push(codes[0]);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(codes[1]);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

fn encode_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    let len = bytes.len();
    if len < 32 {
        out.push(0xa0 | len as u8);
    } else if len <= 0xff {
        out.extend_from_slice(&[0xd9, len as u8]);
    } else if len <= 0xffff {
        out.push(0xda);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0xdb);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
    out.extend_from_slice(bytes);
}

/// lua-cmsgpack's array test: every key a positive integer, no holes.
fn is_array(table: &Table) -> mlua::Result<bool> {
    let (mut count, mut max) = (0usize, 0f64);
    for pair in table.pairs::<Value, Value>() {
        let (key, _) = pair?;
        let n = match key {
            Value::Integer(n) => n as f64,
            Value::Number(n) => n,
            _ => return Ok(false),
        };
        if n <= 0.0 || (n as i32) as f64 != n {
            return Ok(false);
        }
        max = max.max(n);
        count += 1;
    }
    Ok(max as usize == count)
}

fn encode(value: &Value, out: &mut Vec<u8>, level: usize) -> mlua::Result<()> {
    match value {
        Value::String(s) => encode_bytes(&s.as_bytes(), out),
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Integer(n) => encode_int(*n, out),
        Value::Number(n) => encode_number(*n, out),
        Value::Table(table) if level < MAX_NESTING => {
            if is_array(table)? {
                let len = table.raw_len();
                encode_header(len, 0x90, 15, [0xdc, 0xdd], out);
                for index in 1..=len {
                    encode(&table.raw_get::<Value>(index)?, out, level + 1)?;
                }
            } else {
                // Counted first, then encoded pair by pair: holding every
                // value at once would exhaust mlua's reference stack.
                encode_header(
                    super::convert::count_pairs(table),
                    0x80,
                    15,
                    [0xde, 0xdf],
                    out,
                );
                table.for_each::<Value, Value>(|key, value| {
                    encode(&key, out, level + 1)?;
                    encode(&value, out, level + 1)
                })?;
            }
        }
        _ => out.push(0xc0),
    }
    Ok(())
}

/// Why decoding stopped.
enum DecodeError {
    Missing,
    BadFormat,
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        let end = self.at.checked_add(n).ok_or(DecodeError::Missing)?;
        let slice = self.bytes.get(self.at..end).ok_or(DecodeError::Missing)?;
        self.at = end;
        Ok(slice)
    }

    fn uint(&mut self, n: usize) -> Result<u64, DecodeError> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    fn decode(&mut self, lua: &Lua) -> Result<Value, DecodeError> {
        let tag = self.take(1)?[0];
        let number = |n: f64| Ok(Value::Number(n));
        match tag {
            0x00..=0x7f => number(f64::from(tag)),
            0xe0..=0xff => number(f64::from(tag as i8)),
            0x80..=0x8f => self.map(lua, usize::from(tag & 0x0f)),
            0x90..=0x9f => self.array(lua, usize::from(tag & 0x0f)),
            0xa0..=0xbf => self.string(lua, usize::from(tag & 0x1f)),
            0xc0 => Ok(Value::Nil),
            0xc2 => Ok(Value::Boolean(false)),
            0xc3 => Ok(Value::Boolean(true)),
            0xc4 | 0xd9 => {
                let len = self.uint(1)? as usize;
                self.string(lua, len)
            }
            0xc5 | 0xda => {
                let len = self.uint(2)? as usize;
                self.string(lua, len)
            }
            0xc6 | 0xdb => {
                let len = self.uint(4)? as usize;
                self.string(lua, len)
            }
            0xca => {
                let bits = self.uint(4)? as u32;
                number(f64::from(f32::from_bits(bits)))
            }
            0xcb => number(f64::from_bits(self.uint(8)?)),
            0xcc => number(self.uint(1)? as f64),
            0xcd => number(self.uint(2)? as f64),
            0xce => number(self.uint(4)? as f64),
            0xcf => number(self.uint(8)? as f64),
            0xd0 => number(f64::from(self.uint(1)? as u8 as i8)),
            0xd1 => number(f64::from(self.uint(2)? as u16 as i16)),
            0xd2 => number(f64::from(self.uint(4)? as u32 as i32)),
            0xd3 => number(self.uint(8)? as i64 as f64),
            0xdc => {
                let len = self.uint(2)? as usize;
                self.array(lua, len)
            }
            0xdd => {
                let len = self.uint(4)? as usize;
                self.array(lua, len)
            }
            0xde => {
                let len = self.uint(2)? as usize;
                self.map(lua, len)
            }
            0xdf => {
                let len = self.uint(4)? as usize;
                self.map(lua, len)
            }
            _ => Err(DecodeError::BadFormat),
        }
    }

    fn string(&mut self, lua: &Lua, len: usize) -> Result<Value, DecodeError> {
        let bytes = self.take(len)?;
        lua.create_string(bytes)
            .map(Value::String)
            .map_err(|_| DecodeError::BadFormat)
    }

    fn array(&mut self, lua: &Lua, len: usize) -> Result<Value, DecodeError> {
        let table = lua.create_table().map_err(|_| DecodeError::BadFormat)?;
        for index in 1..=len {
            let value = self.decode(lua)?;
            table
                .raw_set(index, value)
                .map_err(|_| DecodeError::BadFormat)?;
        }
        Ok(Value::Table(table))
    }

    fn map(&mut self, lua: &Lua, len: usize) -> Result<Value, DecodeError> {
        let table = lua.create_table().map_err(|_| DecodeError::BadFormat)?;
        for _ in 0..len {
            let key = self.decode(lua)?;
            let value = self.decode(lua)?;
            if !key.is_nil() {
                table
                    .raw_set(key, value)
                    .map_err(|_| DecodeError::BadFormat)?;
            }
        }
        Ok(Value::Table(table))
    }
}

fn integer_arg(args: &MultiValue, index: usize, default: Option<i64>) -> mlua::Result<i64> {
    match args.get(index) {
        None | Some(Value::Nil) => default.ok_or_else(|| {
            raise(format!(
                "bad argument #{} to 'unpack_limit' (number expected, got no value)",
                index + 1
            ))
        }),
        Some(Value::Integer(n)) => Ok(*n),
        Some(Value::Number(n)) => Ok(*n as i64),
        Some(other) => Err(raise(format!(
            "bad argument #{} (number expected, got {})",
            index + 1,
            super::vm::lua_type_name(other)
        ))),
    }
}

/// `mp_unpack_full`: decodes up to `limit` values from `offset` (both 0:
/// everything, without the offset result).
fn unpack(lua: &Lua, args: &MultiValue, limit: i64, offset: i64) -> mlua::Result<MultiValue> {
    let bytes = match args.front() {
        Some(Value::String(s)) => s.as_bytes().to_vec(),
        Some(Value::Integer(n)) => n.to_string().into_bytes(),
        Some(Value::Number(n)) => super::vm::lua_number_text(*n).into_bytes(),
        other => {
            return Err(raise(format!(
                "bad argument #1 to 'unpack' (string expected, got {})",
                super::vm::lua_type_name(other.unwrap_or(&Value::Nil))
            )))
        }
    };
    let decode_all = limit == 0 && offset == 0;
    if offset < 0 || limit < 0 {
        return Err(raise(format!(
            "Invalid request to unpack with offset of {offset} and limit of {}.",
            bytes.len()
        )));
    }
    if offset as usize > bytes.len() {
        return Err(raise(format!(
            "Start offset {offset} greater than input length {}.",
            bytes.len()
        )));
    }
    let limit = if decode_all { i64::MAX } else { limit };
    let mut cursor = Cursor {
        bytes: &bytes,
        at: offset as usize,
    };
    let mut values = Vec::new();
    while cursor.at < bytes.len() && (values.len() as i64) < limit {
        match cursor.decode(lua) {
            Ok(value) => values.push(value),
            Err(DecodeError::Missing) => return Err(raise("Missing bytes in input.")),
            Err(DecodeError::BadFormat) => return Err(raise("Bad data format in input.")),
        }
    }
    if !decode_all {
        let next = if cursor.at == bytes.len() {
            -1.0
        } else {
            cursor.at as f64
        };
        values.insert(0, Value::Number(next));
    }
    Ok(MultiValue::from_iter(values))
}

/// Builds the `cmsgpack` table.
pub fn open(lua: &Lua) -> mlua::Result<Table> {
    let cmsgpack = lua.create_table()?;
    cmsgpack.raw_set(
        "pack",
        lua.create_function(|lua, args: MultiValue| {
            if args.is_empty() {
                return Err(raise(
                    "bad argument #0 to 'pack' (MessagePack pack needs input.)",
                ));
            }
            let mut out = Vec::new();
            for value in args.iter() {
                encode(value, &mut out, 0)?;
            }
            lua.create_string(&out)
        })?,
    )?;
    cmsgpack.raw_set(
        "unpack",
        lua.create_function(|lua, args: MultiValue| unpack(lua, &args, 0, 0))?,
    )?;
    cmsgpack.raw_set(
        "unpack_one",
        lua.create_function(|lua, args: MultiValue| {
            let offset = integer_arg(&args, 1, Some(0))?;
            unpack(lua, &args, 1, offset)
        })?,
    )?;
    cmsgpack.raw_set(
        "unpack_limit",
        lua.create_function(|lua, args: MultiValue| {
            let limit = integer_arg(&args, 1, None)?;
            let offset = integer_arg(&args, 2, Some(0))?;
            unpack(lua, &args, limit, offset)
        })?,
    )?;
    cmsgpack.raw_set("_NAME", "cmsgpack")?;
    cmsgpack.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    cmsgpack.raw_set("_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo")?;
    cmsgpack.raw_set("_DESCRIPTION", "MessagePack C implementation for Lua")?;
    Ok(cmsgpack)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(lua: &Lua, code: &str) -> String {
        let packed: mlua::String = lua.load(code).eval().unwrap();
        packed
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    #[test]
    fn pack_uses_the_smallest_encodings() {
        let lua = Lua::new();
        lua.globals().set("cmsgpack", open(&lua).unwrap()).unwrap();
        assert_eq!(
            hex(&lua, "return cmsgpack.pack(1, -1, 200, -200, 70000)"),
            "01ffccc8d1ff38ce00011170"
        );
        assert_eq!(
            hex(&lua, "return cmsgpack.pack(1.5, 0.1)"),
            "ca3fc00000cb3fb999999999999a"
        );
        assert_eq!(
            hex(&lua, "return cmsgpack.pack({1, 2}, {a = true}, 'ab', nil)"),
            "92010281a161c3a26162c0"
        );
        assert_eq!(
            hex(&lua, "return cmsgpack.pack(-9007199254740992)"),
            "d3ffe0000000000000"
        );
    }

    #[test]
    fn unpack_reads_back_what_pack_wrote() {
        let lua = Lua::new();
        lua.globals().set("cmsgpack", open(&lua).unwrap()).unwrap();
        let text: String = lua
            .load("local a, b, c = cmsgpack.unpack(cmsgpack.pack({1, {x = 'y'}}, 3.25, 'z')) return a[2].x .. b .. c")
            .eval()
            .unwrap();
        assert_eq!(text, "y3.25z");
        let next: f64 = lua
            .load("local offset = cmsgpack.unpack_one(cmsgpack.pack(1, 2)) return offset")
            .eval()
            .unwrap();
        assert_eq!(next, 1.0);
        let error = lua
            .load("return cmsgpack.unpack('\\205')")
            .eval::<Value>()
            .unwrap_err();
        assert!(
            error.to_string().contains("Missing bytes in input."),
            "{error}"
        );
    }
}
