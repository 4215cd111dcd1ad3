//! The `bit` library Redis ships (LuaBitOp 1.0): 32-bit bitwise operations
//! on Lua numbers. Arguments are brought to 32 bits the way LuaBitOp does
//! (rounded to the nearest integer, then taken modulo 2^32), and results
//! are signed 32-bit numbers.

use mlua::{Lua, MultiValue, Table, Value};

/// LuaBitOp's normalisation: adding 2^52 + 2^51 leaves the value, rounded
/// to an integer, in the low 32 bits of the double.
fn tobit(n: f64) -> i32 {
    (n + 6_755_399_441_055_744.0).to_bits() as u32 as i32
}

fn number_arg(args: &MultiValue, index: usize, function: &str) -> mlua::Result<f64> {
    let value = args.get(index).cloned().unwrap_or(Value::Nil);
    let number = match &value {
        Value::Integer(n) => Some(*n as f64),
        Value::Number(n) => Some(*n),
        Value::String(s) => s.to_str().ok().and_then(|s| s.trim().parse::<f64>().ok()),
        _ => None,
    };
    number.ok_or_else(|| {
        mlua::Error::external(super::vm::Raise::Message(format!(
            "bad argument #{} to '{function}' (number expected, got {})",
            index + 1,
            super::vm::lua_type_name(&value)
        )))
    })
}

fn int_arg(args: &MultiValue, index: usize, function: &str) -> mlua::Result<i32> {
    number_arg(args, index, function).map(tobit)
}

/// A one-argument operation.
type Unary = fn(i32) -> i32;
/// An operation folded over its arguments.
type Fold = fn(i32, i32) -> i32;
/// A shift or rotation by a count.
type Shift = fn(i32, u32) -> i32;

/// Builds the `bit` table.
pub fn open(lua: &Lua) -> mlua::Result<Table> {
    let bit = lua.create_table()?;
    let unary: [(&'static str, Unary); 3] = [
        ("tobit", |x| x),
        ("bnot", |x| !x),
        ("bswap", |x| x.swap_bytes()),
    ];
    for (name, op) in unary {
        bit.raw_set(
            name,
            lua.create_function(move |_, args: MultiValue| {
                Ok(f64::from(op(int_arg(&args, 0, name)?)))
            })?,
        )?;
    }
    let folds: [(&'static str, Fold); 3] = [
        ("band", |a, b| a & b),
        ("bor", |a, b| a | b),
        ("bxor", |a, b| a ^ b),
    ];
    for (name, op) in folds {
        bit.raw_set(
            name,
            lua.create_function(move |_, args: MultiValue| {
                let mut acc = int_arg(&args, 0, name)?;
                for index in 1..args.len() {
                    acc = op(acc, int_arg(&args, index, name)?);
                }
                Ok(f64::from(acc))
            })?,
        )?;
    }
    let shifts: [(&'static str, Shift); 5] = [
        ("lshift", |x, n| ((x as u32) << n) as i32),
        ("rshift", |x, n| ((x as u32) >> n) as i32),
        ("arshift", |x, n| x >> n),
        ("rol", |x, n| (x as u32).rotate_left(n) as i32),
        ("ror", |x, n| (x as u32).rotate_right(n) as i32),
    ];
    for (name, op) in shifts {
        bit.raw_set(
            name,
            lua.create_function(move |_, args: MultiValue| {
                let x = int_arg(&args, 0, name)?;
                let n = (int_arg(&args, 1, name)? & 31) as u32;
                Ok(f64::from(op(x, n)))
            })?,
        )?;
    }
    bit.raw_set(
        "tohex",
        lua.create_function(|lua, args: MultiValue| {
            let x = int_arg(&args, 0, "tohex")? as u32;
            let mut digits = match args.get(1) {
                None | Some(Value::Nil) => 8,
                Some(_) => int_arg(&args, 1, "tohex")?,
            };
            let upper = digits < 0;
            if upper {
                digits = digits.wrapping_neg();
            }
            let digits = digits.clamp(0, 8) as usize;
            let text = if upper {
                format!("{x:08X}")
            } else {
                format!("{x:08x}")
            };
            lua.create_string(&text[8 - digits..])
        })?,
    )?;
    Ok(bit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(code: &str) -> String {
        let lua = Lua::new();
        lua.globals().set("bit", open(&lua).unwrap()).unwrap();
        lua.load(code).eval::<String>().unwrap()
    }

    #[test]
    fn operations_match_luabitop() {
        assert_eq!(eval("return tostring(bit.tobit(0xffffffff))"), "-1");
        assert_eq!(eval("return tostring(bit.tobit(2^32 + 5))"), "5");
        assert_eq!(eval("return tostring(bit.band(0x12345678, 0xff))"), "120");
        assert_eq!(eval("return tostring(bit.bor(1, 2, 4))"), "7");
        assert_eq!(eval("return tostring(bit.bxor(5, 3))"), "6");
        assert_eq!(eval("return tostring(bit.bnot(0))"), "-1");
        assert_eq!(eval("return tostring(bit.lshift(1, 31))"), "-2147483648");
        assert_eq!(eval("return tostring(bit.rshift(-1, 28))"), "15");
        assert_eq!(eval("return tostring(bit.arshift(-256, 4))"), "-16");
        assert_eq!(
            eval("return tostring(bit.rol(0x12345678, 12))"),
            "1164411171"
        );
        assert_eq!(eval("return bit.tohex(-1)"), "ffffffff");
        assert_eq!(eval("return bit.tohex(255, -4)"), "00FF");
        assert_eq!(eval("return bit.tohex(0x12345678, 2)"), "78");
        assert_eq!(eval("return tostring(bit.bswap(0x12345678))"), "2018915346");
    }
}
