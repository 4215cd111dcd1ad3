//! Conversions between Lua values and Redis replies, with Redis 7.0's rules
//! (`redisProtocolToLuaType` and `luaReplyToRedisReply`).
//!
//! A command's reply reaches a script as Lua values: integers as numbers,
//! bulk strings as strings, the null bulk string and null array as
//! `false`, status replies as `{ok=...}`, errors as `{err=...}`, arrays as
//! tables; and in RESP3 (after `redis.setresp(3)`) maps as `{map={...}}`,
//! sets as `{set={member=true}}`, null as `nil`, doubles as
//! `{double=number}`, booleans as booleans, big numbers as
//! `{big_number="..."}` and verbatim strings as
//! `{verbatim_string={format=..., string=...}}`.
//!
//! A script's result goes back the other way: strings as bulk strings,
//! numbers truncated to integers, `true` as `1` and `false` as a null in
//! RESP2 (booleans in RESP3), tables with `err`, `ok`, `double`,
//! `big_number`, `verbatim_string`, `map` or `set` fields as those replies,
//! other tables as arrays up to their first `nil`, anything else as a null.

use mlua::{Lua, Table, Value};

use crate::resp::{Frame, Reply};

/// How deep a script's result may nest before the conversion gives up on
/// that element (Redis stops where its Lua stack cannot grow, with the same
/// error in place of the element).
const MAX_REPLY_DEPTH: usize = 1000;

/// Turns an error text into the `err` field Redis puts in a Lua error
/// table (its `luaPushErrorBuff`): `-CODE message` keeps its code, a text
/// without a leading `-` gets `ERR`; line breaks at the ends are trimmed.
pub fn error_table_text(text: &str) -> String {
    let (code, message) = match text.strip_prefix('-') {
        Some(rest) => match rest.split_once(' ') {
            Some((code, message)) => (code, message),
            None => ("ERR", rest),
        },
        None => ("ERR", text),
    };
    let message = message.trim_matches(|c| c == '\r' || c == '\n');
    format!("{code} {message}")
}

/// A Lua error table `{err=text}`, with `ignore_error_stats_update` when
/// the error was counted already (it came from a command).
pub fn error_table(lua: &Lua, text: &str, counted: bool) -> mlua::Result<Table> {
    let table = lua.create_table()?;
    table.raw_set("err", text)?;
    if counted {
        table.raw_set("ignore_error_stats_update", true)?;
    }
    Ok(table)
}

/// Converts a reply `frame` of a command into the Lua value a script sees.
pub fn frame_to_lua(lua: &Lua, frame: &Frame) -> mlua::Result<Value> {
    Ok(match frame {
        Frame::Integer(n) => Value::Number(*n as f64),
        Frame::Bulk(Some(bytes)) => Value::String(lua.create_string(bytes)?),
        Frame::Bulk(None) | Frame::Array(None) => Value::Boolean(false),
        Frame::Simple(text) => {
            let table = lua.create_table()?;
            table.raw_set("ok", text.as_str())?;
            Value::Table(table)
        }
        Frame::Error(text) => {
            let text = error_table_text(&format!("-{text}"));
            Value::Table(error_table(lua, &text, true)?)
        }
        Frame::Array(Some(items)) | Frame::Push(items) => {
            let table = lua.create_table_with_capacity(items.len(), 0)?;
            for (index, item) in items.iter().enumerate() {
                table.raw_set(index + 1, frame_to_lua(lua, item)?)?;
            }
            Value::Table(table)
        }
        Frame::Null => Value::Nil,
        Frame::Map(pairs) => {
            let map = lua.create_table()?;
            for (key, value) in pairs {
                let key = frame_to_lua(lua, key)?;
                let value = frame_to_lua(lua, value)?;
                if !key.is_nil() {
                    map.raw_set(key, value)?;
                }
            }
            single_field(lua, "map", Value::Table(map))?
        }
        Frame::Set(items) => {
            let set = lua.create_table()?;
            for item in items {
                let item = frame_to_lua(lua, item)?;
                if !item.is_nil() {
                    set.raw_set(item, true)?;
                }
            }
            single_field(lua, "set", Value::Table(set))?
        }
        Frame::Double(text) => {
            let value = match text.as_str() {
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                other => other.parse().unwrap_or(f64::NAN),
            };
            single_field(lua, "double", Value::Number(value))?
        }
        Frame::Boolean(value) => Value::Boolean(*value),
        Frame::BigNumber(digits) => {
            single_field(lua, "big_number", Value::String(lua.create_string(digits)?))?
        }
        Frame::Verbatim(format, text) => {
            let inner = lua.create_table()?;
            inner.raw_set("string", lua.create_string(text)?)?;
            inner.raw_set("format", format.as_str())?;
            single_field(lua, "verbatim_string", Value::Table(inner))?
        }
    })
}

fn single_field(lua: &Lua, name: &str, value: Value) -> mlua::Result<Value> {
    let table = lua.create_table()?;
    table.raw_set(name, value)?;
    Ok(Value::Table(table))
}

/// What converting a script's result found.
#[derive(Debug, Default)]
pub struct ReplyOutcome {
    /// Error replies written whose stats were not counted yet (an error
    /// table without `ignore_error_stats_update`), with their texts.
    pub uncounted_errors: Vec<String>,
}

/// Writes `value`, a script's result, to `out`. `script_resp3` is the
/// protocol the script chose (it decides how booleans go back).
pub fn lua_to_reply(value: &Value, script_resp3: bool, out: &mut Reply) -> ReplyOutcome {
    let mut outcome = ReplyOutcome::default();
    write_value(value, script_resp3, out, &mut outcome, 0);
    outcome
}

fn string_field(table: &Table, name: &str) -> Option<mlua::String> {
    match table.raw_get::<Value>(name) {
        Ok(Value::String(s)) => Some(s),
        _ => None,
    }
}

/// `sdsmapchars(s, "\r\n", "  ")`.
fn spaces_for_newlines(bytes: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b })
        .collect()
}

fn write_value(
    value: &Value,
    script_resp3: bool,
    out: &mut Reply,
    outcome: &mut ReplyOutcome,
    depth: usize,
) {
    if depth > MAX_REPLY_DEPTH {
        out.error("ERR reached lua stack limit");
        outcome
            .uncounted_errors
            .push("ERR reached lua stack limit".into());
        return;
    }
    match value {
        Value::String(s) => out.bulk(&s.as_bytes()),
        Value::Boolean(b) => {
            if script_resp3 {
                out.boolean(*b);
            } else if *b {
                out.integer(1);
            } else {
                out.null();
            }
        }
        Value::Integer(n) => out.integer(*n),
        Value::Number(n) => out.integer(truncate(*n)),
        Value::Table(table) => write_table(table, script_resp3, out, outcome, depth),
        _ => out.null(),
    }
}

/// C's `(long long)` of a Lua number; out-of-range values saturate here,
/// where C leaves them undefined.
fn truncate(n: f64) -> i64 {
    n as i64
}

fn write_table(
    table: &Table,
    script_resp3: bool,
    out: &mut Reply,
    outcome: &mut ReplyOutcome,
    depth: usize,
) {
    if let Some(err) = string_field(table, "err") {
        let text = String::from_utf8_lossy(&err.as_bytes()).into_owned();
        let counted = matches!(
            table.raw_get::<Value>("ignore_error_stats_update"),
            Ok(Value::Boolean(true))
        );
        out.error(&text);
        if !counted {
            outcome.uncounted_errors.push(text);
        }
        return;
    }
    if let Some(ok) = string_field(table, "ok") {
        let text = spaces_for_newlines(&ok.as_bytes());
        out.simple(&String::from_utf8_lossy(&text));
        return;
    }
    if let Ok(Value::Number(d)) = table.raw_get::<Value>("double") {
        out.double(d);
        return;
    }
    if let Ok(Value::Integer(d)) = table.raw_get::<Value>("double") {
        out.double(d as f64);
        return;
    }
    if let Some(big) = string_field(table, "big_number") {
        out.big_number(&spaces_for_newlines(&big.as_bytes()));
        return;
    }
    if let Ok(Value::Table(verbatim)) = table.raw_get::<Value>("verbatim_string") {
        if let (Some(format), Some(text)) = (
            string_field(&verbatim, "format"),
            string_field(&verbatim, "string"),
        ) {
            let format = String::from_utf8_lossy(&format.as_bytes()).into_owned();
            out.verbatim(&format, &text.as_bytes());
            return;
        }
    }
    // Values are counted first and converted one at a time: every Value
    // held from Rust takes a slot of mlua's reference stack, which a
    // reply of many elements would exhaust.
    if let Ok(Value::Table(map)) = table.raw_get::<Value>("map") {
        out.map(count_pairs(&map));
        let _ = map.for_each::<Value, Value>(|key, value| {
            write_value(&key, script_resp3, out, outcome, depth + 1);
            write_value(&value, script_resp3, out, outcome, depth + 1);
            Ok(())
        });
        return;
    }
    if let Ok(Value::Table(set)) = table.raw_get::<Value>("set") {
        out.set(count_pairs(&set));
        let _ = set.for_each::<Value, Value>(|member, _| {
            write_value(&member, script_resp3, out, outcome, depth + 1);
            Ok(())
        });
        return;
    }
    let mut len = 0;
    while matches!(table.raw_get::<Value>(len + 1), Ok(ref v) if !v.is_nil()) {
        len += 1;
    }
    out.array(len);
    for index in 1..=len {
        let item = table.raw_get::<Value>(index).unwrap_or(Value::Nil);
        write_value(&item, script_resp3, out, outcome, depth + 1);
    }
}

/// The number of key/value pairs of `table`.
pub fn count_pairs(table: &Table) -> usize {
    let mut count = 0;
    let _ = table.for_each::<Value, Value>(|_, _| {
        count += 1;
        Ok(())
    });
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_texts_keep_their_code_or_get_err() {
        assert_eq!(error_table_text("-WRONGTYPE bad"), "WRONGTYPE bad");
        assert_eq!(error_table_text("-NOSPACE"), "ERR NOSPACE");
        assert_eq!(error_table_text("plain words"), "ERR plain words");
        assert_eq!(error_table_text("-READONLY x y\r\n"), "READONLY x y");
    }

    fn reply_of(lua: &Lua, code: &str) -> Vec<u8> {
        let value: Value = lua.load(code).eval().unwrap();
        let mut out = Reply::new();
        lua_to_reply(&value, false, &mut out);
        out.take()
    }

    #[test]
    fn lua_values_become_redis_replies() {
        let lua = Lua::new();
        assert_eq!(reply_of(&lua, "return 3.99"), b":3\r\n");
        assert_eq!(reply_of(&lua, "return -3.99"), b":-3\r\n");
        assert_eq!(reply_of(&lua, "return true"), b":1\r\n");
        assert_eq!(reply_of(&lua, "return false"), b"$-1\r\n");
        assert_eq!(reply_of(&lua, "return nil"), b"$-1\r\n");
        assert_eq!(reply_of(&lua, "return {ok='fine\\r\\nx'}"), b"+fine  x\r\n");
        assert_eq!(reply_of(&lua, "return {err='MY err'}"), b"-MY err\r\n");
        assert_eq!(
            reply_of(&lua, "return {1, 'a', {2}, nil, 4}"),
            b"*3\r\n:1\r\n$1\r\na\r\n*1\r\n:2\r\n"
        );
        assert_eq!(reply_of(&lua, "return {double=1.5}"), b"$3\r\n1.5\r\n");
    }

    #[test]
    fn self_referencing_tables_stop_at_the_depth_limit() {
        let lua = Lua::new();
        let reply = reply_of(&lua, "local t = {} t[1] = t return t");
        assert!(reply.ends_with(b"-ERR reached lua stack limit\r\n"));
    }

    #[test]
    fn replies_become_lua_values() {
        let lua = Lua::new();
        let frame = Frame::Array(Some(vec![
            Frame::Integer(7),
            Frame::Bulk(None),
            Frame::Simple("OK".into()),
            Frame::Error("WRONGTYPE no".into()),
        ]));
        let value = frame_to_lua(&lua, &frame).unwrap();
        let table = value.as_table().unwrap();
        assert_eq!(table.raw_get::<f64>(1).unwrap(), 7.0);
        assert!(!table.raw_get::<bool>(2).unwrap());
        let ok: Table = table.raw_get(3).unwrap();
        assert_eq!(ok.raw_get::<String>("ok").unwrap(), "OK");
        let err: Table = table.raw_get(4).unwrap();
        assert_eq!(err.raw_get::<String>("err").unwrap(), "WRONGTYPE no");
    }
}
