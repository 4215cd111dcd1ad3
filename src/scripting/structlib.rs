//! The `struct` library Redis ships (Roberto Ierusalimschy's struct 0.2):
//! `struct.pack(fmt, ...)`, `struct.unpack(fmt, s[, pos])` and
//! `struct.size(fmt)` over binary strings, with its format options
//! (`<` `>` `=` `!n` endianness and alignment, `x` padding, `b B h H l L T
//! iN IN` integers, `f d` floats, `cN` fixed strings, `s` zero-terminated
//! strings) and error texts, on a 64-bit little-endian host as Redis runs.

use mlua::{Lua, MultiValue, Table, Value};

use super::vm::{lua_type_name, Raise};

const MAX_INT_SIZE: usize = 32;
/// The native maximum alignment (`!` without a number).
const MAX_ALIGN: usize = 8;

fn raise(message: impl Into<String>) -> mlua::Error {
    mlua::Error::external(Raise::Message(message.into()))
}

fn arg_error(position: usize, function: &str, message: &str) -> mlua::Error {
    raise(format!(
        "bad argument #{position} to '{function}' ({message})"
    ))
}

#[derive(Clone, Copy)]
struct Header {
    little: bool,
    align: usize,
}

struct Format<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Format<'_> {
    fn next(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    fn number(&mut self, default: usize) -> mlua::Result<usize> {
        if !self.bytes.get(self.at).is_some_and(u8::is_ascii_digit) {
            return Ok(default);
        }
        let mut n: usize = 0;
        while let Some(d) = self.bytes.get(self.at).filter(|d| d.is_ascii_digit()) {
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(usize::from(d - b'0')))
                .filter(|&n| n <= i32::MAX as usize)
                .ok_or_else(|| raise("integral size overflow"))?;
            self.at += 1;
        }
        Ok(n)
    }

    /// `optsize`.
    fn size(&mut self, option: u8) -> mlua::Result<usize> {
        Ok(match option {
            b'B' | b'b' | b'x' => 1,
            b'H' | b'h' => 2,
            b'L' | b'l' | b'T' | b'd' => 8,
            b'f' => 4,
            b'c' => self.number(1)?,
            b'i' | b'I' => {
                let size = self.number(4)?;
                if size > MAX_INT_SIZE {
                    return Err(raise(format!(
                        "integral size {size} is larger than limit of {MAX_INT_SIZE}"
                    )));
                }
                size
            }
            _ => 0,
        })
    }

    /// `controloptions`.
    fn control(&mut self, option: u8, header: &mut Header, function: &str) -> mlua::Result<()> {
        match option {
            b' ' => {}
            b'>' => header.little = false,
            b'<' | b'=' => header.little = true,
            b'!' => {
                let align = self.number(MAX_ALIGN)?;
                if !align.is_power_of_two() {
                    return Err(raise(format!("alignment {align} is not a power of 2")));
                }
                header.align = align;
            }
            other => {
                return Err(arg_error(
                    1,
                    function,
                    &format!("invalid format option '{}'", other as char),
                ))
            }
        }
        Ok(())
    }
}

/// `gettoalign`: padding before an item of `size` at `len`.
fn padding(len: usize, header: &Header, option: u8, size: usize) -> usize {
    if size == 0 || option == b'c' {
        return 0;
    }
    let size = size.min(header.align);
    (size - (len & (size - 1))) & (size - 1)
}

fn format_arg(args: &MultiValue, function: &str) -> mlua::Result<Vec<u8>> {
    match args.front() {
        Some(Value::String(s)) => Ok(s.as_bytes().to_vec()),
        Some(Value::Integer(n)) => Ok(n.to_string().into_bytes()),
        Some(Value::Number(n)) => Ok(super::vm::lua_number_text(*n).into_bytes()),
        other => Err(arg_error(
            1,
            function,
            &format!(
                "string expected, got {}",
                lua_type_name(other.unwrap_or(&Value::Nil))
            ),
        )),
    }
}

fn number_arg(args: &MultiValue, index: usize) -> mlua::Result<f64> {
    match args.get(index) {
        Some(Value::Integer(n)) => Ok(*n as f64),
        Some(Value::Number(n)) => Ok(*n),
        Some(Value::String(s)) => s
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| arg_error(index + 1, "pack", "number expected, got string")),
        other => Err(arg_error(
            index + 1,
            "pack",
            &format!(
                "number expected, got {}",
                lua_type_name(other.unwrap_or(&Value::Nil))
            ),
        )),
    }
}

fn pack(args: &MultiValue) -> mlua::Result<Vec<u8>> {
    let fmt = format_arg(args, "pack")?;
    let mut format = Format { bytes: &fmt, at: 0 };
    let mut header = Header {
        little: true,
        align: 1,
    };
    let mut out = Vec::new();
    let mut arg = 1;
    while let Some(option) = format.next() {
        let mut size = format.size(option)?;
        let pad = padding(out.len(), &header, option, size);
        out.extend(std::iter::repeat_n(0u8, pad));
        match option {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let n = number_arg(args, arg)?;
                arg += 1;
                let value = if n < 0.0 { n as i64 as u64 } else { n as u64 };
                let mut bytes: Vec<u8> = (0..size)
                    .map(|i| if i < 8 { (value >> (8 * i)) as u8 } else { 0 })
                    .collect();
                if !header.little {
                    bytes.reverse();
                }
                out.extend_from_slice(&bytes);
            }
            b'x' => out.push(0),
            b'f' => {
                let f = number_arg(args, arg)? as f32;
                arg += 1;
                out.extend_from_slice(&if header.little {
                    f.to_le_bytes()
                } else {
                    f.to_be_bytes()
                });
            }
            b'd' => {
                let d = number_arg(args, arg)?;
                arg += 1;
                out.extend_from_slice(&if header.little {
                    d.to_le_bytes()
                } else {
                    d.to_be_bytes()
                });
            }
            b'c' | b's' => {
                let s = match args.get(arg) {
                    Some(Value::String(s)) => s.as_bytes().to_vec(),
                    Some(Value::Integer(n)) => n.to_string().into_bytes(),
                    Some(Value::Number(n)) => super::vm::lua_number_text(*n).into_bytes(),
                    other => {
                        return Err(arg_error(
                            arg + 1,
                            "pack",
                            &format!(
                                "string expected, got {}",
                                lua_type_name(other.unwrap_or(&Value::Nil))
                            ),
                        ))
                    }
                };
                arg += 1;
                if size == 0 {
                    size = s.len();
                }
                if s.len() < size {
                    return Err(arg_error(arg + 1, "pack", "string too short"));
                }
                out.extend_from_slice(&s[..size]);
                if option == b's' {
                    out.push(0);
                }
            }
            _ => format.control(option, &mut header, "pack")?,
        }
    }
    Ok(out)
}

fn unpack(lua: &Lua, args: &MultiValue) -> mlua::Result<MultiValue> {
    let fmt = format_arg(args, "unpack")?;
    let data = match args.get(1) {
        Some(Value::String(s)) => s.as_bytes().to_vec(),
        other => {
            return Err(arg_error(
                2,
                "unpack",
                &format!(
                    "string expected, got {}",
                    lua_type_name(other.unwrap_or(&Value::Nil))
                ),
            ))
        }
    };
    let start = match args.get(2) {
        None | Some(Value::Nil) => 1.0,
        Some(Value::Integer(n)) => *n as f64,
        Some(Value::Number(n)) => *n,
        Some(other) => {
            return Err(arg_error(
                3,
                "unpack",
                &format!("number expected, got {}", lua_type_name(other)),
            ))
        }
    };
    if start < 1.0 {
        return Err(arg_error(3, "unpack", "offset must be 1 or greater"));
    }
    let mut pos = start as usize - 1;
    let mut format = Format { bytes: &fmt, at: 0 };
    let mut header = Header {
        little: true,
        align: 1,
    };
    let mut results: Vec<Value> = Vec::new();
    let too_short = || arg_error(2, "unpack", "data string too short");
    while let Some(option) = format.next() {
        let mut size = format.size(option)?;
        pos += padding(pos, &header, option, size);
        if size > data.len() || pos > data.len() - size {
            return Err(too_short());
        }
        match option {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let mut bytes = data[pos..pos + size].to_vec();
                if header.little {
                    bytes.reverse();
                }
                let mut value: u64 = 0;
                for b in &bytes {
                    value = (value << 8) | u64::from(*b);
                }
                let number = if option.is_ascii_lowercase() {
                    let bits = (size * 8).min(64);
                    let mask = u64::MAX << (bits - 1);
                    if value & mask != 0 && bits < 64 {
                        (value | mask) as i64 as f64
                    } else {
                        value as i64 as f64
                    }
                } else {
                    value as f64
                };
                results.push(Value::Number(number));
            }
            b'x' => {}
            b'f' => {
                let raw: [u8; 4] = data[pos..pos + 4].try_into().expect("4 bytes");
                let f = if header.little {
                    f32::from_le_bytes(raw)
                } else {
                    f32::from_be_bytes(raw)
                };
                results.push(Value::Number(f64::from(f)));
            }
            b'd' => {
                let raw: [u8; 8] = data[pos..pos + 8].try_into().expect("8 bytes");
                let d = if header.little {
                    f64::from_le_bytes(raw)
                } else {
                    f64::from_be_bytes(raw)
                };
                results.push(Value::Number(d));
            }
            b'c' => {
                if size == 0 {
                    let previous = match results.pop() {
                        Some(Value::Number(n)) => n,
                        Some(Value::Integer(n)) => n as f64,
                        _ => return Err(raise("format 'c0' needs a previous size")),
                    };
                    size = previous as usize;
                    if size > data.len() || pos > data.len() - size {
                        return Err(too_short());
                    }
                }
                results.push(Value::String(lua.create_string(&data[pos..pos + size])?));
            }
            b's' => {
                let Some(end) = data[pos..].iter().position(|&b| b == 0) else {
                    return Err(raise("unfinished string in data"));
                };
                size = end + 1;
                results.push(Value::String(lua.create_string(&data[pos..pos + end])?));
            }
            _ => format.control(option, &mut header, "unpack")?,
        }
        pos += size;
    }
    results.push(Value::Number((pos + 1) as f64));
    Ok(MultiValue::from_iter(results))
}

fn size(args: &MultiValue) -> mlua::Result<f64> {
    let fmt = format_arg(args, "size")?;
    let mut format = Format { bytes: &fmt, at: 0 };
    let mut header = Header {
        little: true,
        align: 1,
    };
    let mut pos = 0;
    while let Some(option) = format.next() {
        let size = format.size(option)?;
        pos += padding(pos, &header, option, size);
        if option == b's' {
            return Err(arg_error(1, "size", "option 's' has no fixed size"));
        }
        if option == b'c' && size == 0 {
            return Err(arg_error(1, "size", "option 'c0' has no fixed size"));
        }
        if !option.is_ascii_alphanumeric() {
            format.control(option, &mut header, "size")?;
        }
        pos += size;
    }
    Ok(pos as f64)
}

/// Builds the `struct` table.
pub fn open(lua: &Lua) -> mlua::Result<Table> {
    let table = lua.create_table()?;
    table.raw_set(
        "pack",
        lua.create_function(|lua, args: MultiValue| lua.create_string(pack(&args)?))?,
    )?;
    table.raw_set(
        "unpack",
        lua.create_function(|lua, args: MultiValue| unpack(lua, &args))?,
    )?;
    table.raw_set(
        "size",
        lua.create_function(|_, args: MultiValue| size(&args))?,
    )?;
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(code: &str) -> String {
        let lua = Lua::new();
        lua.globals().set("struct", open(&lua).unwrap()).unwrap();
        lua.load(code).eval::<String>().unwrap()
    }

    #[test]
    fn pack_and_unpack_round_trip() {
        assert_eq!(
            eval("local a, b, c, n = struct.unpack('>hIc3', struct.pack('>hIc3', -2, 70000, 'abc')) return a .. ' ' .. b .. ' ' .. c .. ' ' .. n"),
            "-2 70000 abc 10"
        );
        assert_eq!(eval("return struct.pack('<i2', 258)"), "\u{2}\u{1}");
        assert_eq!(
            eval("local s, n = struct.unpack('s', 'hi\\0rest') return s .. n"),
            "hi4"
        );
        assert_eq!(eval("return tostring(struct.size('!4 b i d'))"), "16");
        assert_eq!(
            eval("local a = struct.unpack('<d', struct.pack('<d', 1.5)) return tostring(a)"),
            "1.5"
        );
    }
}
