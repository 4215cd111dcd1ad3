//! One Lua 5.1 state set up as Redis 7.0 sets up its own: the libraries
//! Redis ships (base, table, string, math, and in Rust `bit`, `cjson`,
//! `cmsgpack` and `struct`),
//! the `redis` API, deterministic `math.random`, the sandbox (read-only
//! globals, no file or OS access, see `sandbox.lua`), and running a
//! compiled script or function against a [`ScriptHost`] that executes the
//! commands it calls.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use mlua::{
    ChunkMode, Function, HookTriggers, Lua, LuaOptions, MultiValue, StdLib, Table, Value, VmState,
};

use super::convert;
use super::{CallOutcome, RunState, ScriptHost};
use crate::resp::Reply;

/// The chunk that builds the sandbox.
const SANDBOX: &str = include_str!("sandbox.lua");

/// How often (in Lua instructions) a running script is checked against its
/// instruction budget.
const HOOK_PERIOD: u32 = 100_000;

/// An error a Redis API function raises, as Redis raises it: an error
/// table, or a message the error handler turns into `ERR <message>`.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Raise {
    /// `{err=text}`; `counted` when the error's stats were counted already
    /// (a command's error reply).
    #[error("{text}")]
    Table {
        /// The `err` field.
        text: String,
        /// Sets `ignore_error_stats_update`.
        counted: bool,
    },
    /// A plain message (raised with `luaL_error` in Redis).
    #[error("{0}")]
    Message(String),
}

/// Raises `text` as Redis's `luaPushError` + `luaError` do: an error table
/// whose `err` is the text with `ERR ` added (unless it starts with `-`).
fn raise_table(text: impl AsRef<str>) -> mlua::Error {
    mlua::Error::external(Raise::Table {
        text: convert::error_table_text(text.as_ref()),
        counted: false,
    })
}

fn raise_message(text: impl Into<String>) -> mlua::Error {
    mlua::Error::external(Raise::Message(text.into()))
}

/// The [`Raise`] inside an mlua error, however deeply wrapped.
fn find_raise(error: &mlua::Error) -> Option<&Raise> {
    match error {
        mlua::Error::ExternalError(inner) => inner.downcast_ref::<Raise>(),
        mlua::Error::CallbackError { cause, .. } => find_raise(cause),
        mlua::Error::WithContext { cause, .. } => find_raise(cause),
        _ => None,
    }
}

/// Redis's `redisLrand48`: the 48-bit linear congruential generator of
/// `drand48`, shared by every script and function of the node, seeded as
/// Redis seeds it at start (and by `math.randomseed`).
#[derive(Debug, Clone, Default)]
pub struct Rand48(Arc<AtomicU64>);

/// drand48's initial state `0x1234ABCD330E`.
const RAND48_INITIAL: u64 = 0x1234_ABCD_330E;
/// Redis's `REDIS_LRAND48_MAX` (`INT32_MAX`).
const LRAND48_MAX: i64 = i32::MAX as i64;

impl Rand48 {
    /// The generator in its start state.
    pub fn new() -> Self {
        Rand48(Arc::new(AtomicU64::new(RAND48_INITIAL)))
    }

    /// `redisLrand48`: the next value in `0..2^31`.
    pub fn next(&self) -> i64 {
        let x = self.0.load(Ordering::Relaxed);
        let next = (x.wrapping_mul(0x5_DEEC_E66D).wrapping_add(0xB)) & ((1 << 48) - 1);
        self.0.store(next, Ordering::Relaxed);
        (next >> 17) as i64
    }

    /// `redisSrand48(seed)`.
    pub fn seed(&self, seed: i32) {
        let seed = seed as u32 as u64;
        self.0.store((seed << 16) | 0x330E, Ordering::Relaxed);
    }
}

/// A number argument as `luaL_checkint` reads it (numbers, and strings
/// that convert), or its error message.
fn check_int(value: &Value, position: usize, function: &str) -> Result<i64, String> {
    let number = match value {
        Value::Integer(n) => Some(*n as f64),
        Value::Number(n) => Some(*n),
        Value::String(s) => s.to_str().ok().and_then(|s| s.trim().parse::<f64>().ok()),
        _ => None,
    };
    match number {
        Some(n) => Ok(n as i32 as i64),
        None => Err(format!(
            "bad argument #{position} to '{function}' (number expected, got {})",
            lua_type_name(value)
        )),
    }
}

/// The name `type()` gives a value.
pub fn lua_type_name(value: &Value) -> &'static str {
    match value {
        Value::Nil => "no value",
        Value::Boolean(_) => "boolean",
        Value::Integer(_) | Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Table(_) => "table",
        Value::Function(_) => "function",
        Value::Thread(_) => "thread",
        Value::LightUserData(_) | Value::UserData(_) => "userdata",
        _ => "userdata",
    }
}

/// A Lua state with Redis's libraries, API and sandbox.
pub struct ScriptVm {
    lua: Lua,
    invoke: Function,
    set_eval_arrays: Function,
    set_loading: Function,
    load_library: Function,
    /// Set once a running script passed its instruction budget: from then
    /// on every instruction raises, so that `pcall` cannot hold it.
    over_budget: Arc<AtomicBool>,
}

/// Which of the scoped API functions a dispatcher reaches.
const RUN_TABLE: &str = "replsim.run";

impl ScriptVm {
    /// A fresh state. `functions_mode` builds the state FUNCTION LOAD
    /// libraries live in (their globals while loading are only the
    /// registration API).
    pub fn new(rand: Rand48, functions_mode: bool) -> mlua::Result<Self> {
        // SAFETY: the debug library is needed by the error handler to
        // locate errors in the user's code. The sandbox chunk keeps
        // `debug.getinfo` in a local and removes `debug` from the globals
        // before any user code runs, as Redis does.
        let lua = unsafe {
            Lua::unsafe_new_with(
                StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::DEBUG,
                LuaOptions::new(),
            )
        };
        let globals = lua.globals();
        globals.raw_set("bit", super::bit::open(&lua)?)?;
        globals.raw_set("cjson", super::cjson::open(&lua)?)?;
        globals.raw_set("cmsgpack", super::cmsgpack::open(&lua)?)?;
        globals.raw_set("struct", super::structlib::open(&lua)?)?;
        let debug: Table = globals.raw_get("debug")?;
        let api = Self::api(&lua, rand)?;
        let sandbox = lua
            .load(SANDBOX)
            .set_name("=replsim")
            .set_mode(ChunkMode::Text)
            .into_function()?;
        let (invoke, set_eval_arrays, set_loading, load_library): (
            Function,
            Function,
            Function,
            Function,
        ) = sandbox.call((globals, api, debug, functions_mode))?;
        Ok(ScriptVm {
            lua,
            invoke,
            set_eval_arrays,
            set_loading,
            load_library,
            over_budget: Arc::default(),
        })
    }

    /// The table of Rust implementations the sandbox builds the API from.
    fn api(lua: &Lua, rand: Rand48) -> mlua::Result<Table> {
        let api = lua.create_table()?;
        for name in [
            "call",
            "pcall",
            "setresp",
            "set_repl",
            "log",
            "acl_check_cmd",
            "register_function",
        ] {
            let display = if name == "register_function" {
                "redis.register_function can only be called on FUNCTION LOAD command".to_string()
            } else {
                let shown = if name == "call" || name == "pcall" {
                    "call/pcall"
                } else {
                    name
                };
                format!("redis.{shown} can only be called inside a script invocation")
            };
            let dispatcher = lua.create_function(move |lua, args: MultiValue| {
                match lua.named_registry_value::<Value>(RUN_TABLE)? {
                    Value::Table(run) => match run.raw_get::<Value>(name)? {
                        Value::Function(f) => f.call::<MultiValue>(args),
                        _ => Err(raise_table(display.clone())),
                    },
                    _ => Err(raise_table(display.clone())),
                }
            })?;
            api.raw_set(name, dispatcher)?;
        }
        api.raw_set(
            "sha1hex",
            lua.create_function(|lua, args: MultiValue| {
                if args.len() != 1 {
                    return Err(raise_table("wrong number of arguments"));
                }
                let bytes = match &args[0] {
                    Value::String(s) => s.as_bytes().to_vec(),
                    Value::Integer(n) => n.to_string().into_bytes(),
                    Value::Number(n) => lua_number_text(*n).into_bytes(),
                    _ => Vec::new(),
                };
                lua.create_string(super::sha1_hex(&bytes))
            })?,
        )?;
        let random = rand.clone();
        api.raw_set(
            "random",
            lua.create_function(move |_, args: MultiValue| {
                let r = (random.next() % LRAND48_MAX) as f64 / LRAND48_MAX as f64;
                match args.len() {
                    0 => Ok(r),
                    1 => {
                        let u = check_int(&args[0], 1, "random").map_err(raise_message)?;
                        if u < 1 {
                            return Err(raise_message(
                                "bad argument #1 to 'random' (interval is empty)",
                            ));
                        }
                        Ok((r * u as f64).floor() + 1.0)
                    }
                    2 => {
                        let l = check_int(&args[0], 1, "random").map_err(raise_message)?;
                        let u = check_int(&args[1], 2, "random").map_err(raise_message)?;
                        if l > u {
                            return Err(raise_message(
                                "bad argument #2 to 'random' (interval is empty)",
                            ));
                        }
                        Ok((r * (u - l + 1) as f64).floor() + l as f64)
                    }
                    _ => Err(raise_message("wrong number of arguments")),
                }
            })?,
        )?;
        api.raw_set(
            "randomseed",
            lua.create_function(move |_, args: MultiValue| {
                let value = args.front().cloned().unwrap_or(Value::Nil);
                let seed = check_int(&value, 1, "randomseed").map_err(raise_message)?;
                rand.seed(seed as i32);
                Ok(())
            })?,
        )?;
        api.raw_set(
            "unwrap_error",
            lua.create_function(|lua, value: Value| {
                let Value::Error(error) = &value else {
                    return Ok((value, false));
                };
                match find_raise(error) {
                    Some(Raise::Table { text, counted }) => Ok((
                        Value::Table(convert::error_table(lua, text, *counted)?),
                        false,
                    )),
                    Some(Raise::Message(text)) => {
                        Ok((Value::String(lua.create_string(text)?), true))
                    }
                    None => Ok((
                        Value::String(lua.create_string(lua_error_message(error))?),
                        false,
                    )),
                }
            })?,
        )?;
        api.raw_set("version", crate::REDIS_COMPAT_VERSION)?;
        api.raw_set("version_num", redis_version_num())?;
        Ok(api)
    }

    /// The Lua state.
    pub fn lua(&self) -> &Lua {
        &self.lua
    }

    /// Compiles `code` as chunk `name` (`@user_script`), in text mode (a
    /// precompiled chunk is refused); the error is Lua's message.
    pub fn compile(&self, name: &str, code: &[u8]) -> Result<Function, String> {
        self.lua
            .load(code)
            .set_name(name)
            .set_mode(ChunkMode::Text)
            .into_function()
            .map_err(|error| match error {
                mlua::Error::SyntaxError { message, .. } => message,
                other => other.to_string(),
            })
    }

    /// Runs library code while its globals are the registration API,
    /// collecting what it registers; the error is Redis's message.
    pub fn load_library(
        &self,
        chunk: &Function,
        budget: u64,
        host: &mut dyn ScriptHost,
    ) -> Result<Vec<Registered>, String> {
        let registered_cell: RefCell<Vec<Registered>> = RefCell::new(Vec::new());
        let host_cell = RefCell::new(host);
        let (registered, host) = (&registered_cell, &host_cell);
        let result = self.lua.scope(|scope| {
            let run = self.lua.create_table()?;
            run.raw_set(
                "register_function",
                scope.create_function(move |lua, args: MultiValue| {
                    let function = read_registration(lua, args)?;
                    let mut registered = registered.borrow_mut();
                    if !super::library::valid_name(function.name.as_bytes()) {
                        return Err(raise_table("Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"));
                    }
                    if registered
                        .iter()
                        .any(|f| f.name.eq_ignore_ascii_case(&function.name))
                    {
                        return Err(raise_table("Function already exists in the library"));
                    }
                    registered.push(function);
                    Ok(())
                })?,
            )?;
            run.raw_set(
                "log",
                scope.create_function(move |_, args: MultiValue| {
                    redis_log(&mut **host.borrow_mut(), args)
                })?,
            )?;
            self.lua.set_named_registry_value(RUN_TABLE, run)?;
            self.set_loading.call::<()>(true)?;
            self.arm_hook(budget, false, "FUNCTION LOAD timeout");
            let outcome = self.load_library.call::<(bool, Value)>(chunk.clone());
            self.lua.remove_hook();
            self.set_loading.call::<()>(false)?;
            self.lua.set_named_registry_value(RUN_TABLE, Value::Nil)?;
            outcome
        });
        match result {
            Ok((true, _)) => Ok(registered_cell.into_inner()),
            // Redis's luaExtractErrorInformation: a string error gets
            // `ERR `, a table gives its `err` field.
            Ok((false, Value::Table(error))) => Err(match error.raw_get::<Value>("err") {
                Ok(Value::String(s)) => s.to_string_lossy().to_string(),
                _ => String::new(),
            }),
            Ok((false, Value::String(message))) => {
                Err(format!("ERR {}", message.to_string_lossy()))
            }
            Ok((false, other)) => Err(format!("ERR {}", lua_type_name(&other))),
            Err(error) => Err(format!("ERR {}", lua_error_message(&error))),
        }
    }

    /// Arms the hook of a run, which fires every [`HOOK_PERIOD`]
    /// instructions: once `budget` instructions have run (0: none), the
    /// run fails with `message`; with `watched`, the run's `interrupt`
    /// function is called (see [`ScriptHost::interrupt`]) and the run
    /// fails with [`KILLED`] when it says so.
    fn arm_hook(&self, budget: u64, watched: bool, message: &'static str) {
        self.over_budget.store(false, Ordering::Relaxed);
        if budget == 0 && !watched {
            return;
        }
        let spent = Arc::new(AtomicU64::new(0));
        let over = self.over_budget.clone();
        self.lua.set_hook(
            HookTriggers::new().every_nth_instruction(HOOK_PERIOD),
            move |lua, _| {
                let total = spent.fetch_add(u64::from(HOOK_PERIOD), Ordering::Relaxed)
                    + u64::from(HOOK_PERIOD);
                let stop = if budget != 0 && total >= budget {
                    message
                } else if watched && interrupted(lua)? {
                    KILLED
                } else {
                    return Ok(VmState::Continue);
                };
                over.store(true, Ordering::Relaxed);
                // From now on every instruction of the user's code raises,
                // so that a pcall cannot catch the error and go on; the
                // sandbox's own code (its error handler) runs on.
                lua.set_hook(
                    HookTriggers::new().every_nth_instruction(1),
                    move |_, debug| {
                        if debug.source().source.as_deref() == Some("=replsim") {
                            Ok(VmState::Continue)
                        } else {
                            Err(raise_table(stop))
                        }
                    },
                );
                Err(raise_table(stop))
            },
        );
    }

    /// Runs `function` for one EVAL or FCALL: keys and args go to KEYS and
    /// ARGV (EVAL) or as its two arguments (FCALL); the result or error is
    /// written to `out` in the caller's protocol.
    pub fn run(
        &self,
        function: &Function,
        call: RunCall<'_>,
        host: &mut dyn ScriptHost,
        out: &mut Reply,
    ) -> RunResult {
        let state_cell = RefCell::new(call.state);
        let host_cell = RefCell::new(host);
        let (state, host) = (&state_cell, &host_cell);
        let lua = &self.lua;
        let outcome = lua.scope(|scope| {
            let run = lua.create_table()?;
            for raise in [true, false] {
                let name = if raise { "call" } else { "pcall" };
                run.raw_set(
                    name,
                    scope.create_function(move |lua, args: MultiValue| {
                        redis_call(
                            lua,
                            &mut **host.borrow_mut(),
                            &mut state.borrow_mut(),
                            args,
                            raise,
                        )
                    })?,
                )?;
            }
            run.raw_set(
                "setresp",
                scope.create_function(move |_, args: MultiValue| {
                    if args.len() != 1 {
                        return Err(raise_table("redis.setresp() requires one argument."));
                    }
                    let resp = number_of(&args[0]).map_or(0, |n| n as i64);
                    if resp != 2 && resp != 3 {
                        return Err(raise_table("RESP version must be 2 or 3."));
                    }
                    state.borrow_mut().resp3 = resp == 3;
                    Ok(())
                })?,
            )?;
            run.raw_set(
                "set_repl",
                scope.create_function(move |_, args: MultiValue| {
                    if args.len() != 1 {
                        return Err(raise_table("redis.set_repl() requires two arguments."));
                    }
                    let flags = number_of(&args[0]).map_or(0, |n| n as i64);
                    if flags & !3 != 0 {
                        return Err(raise_table(
                            "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
                        ));
                    }
                    state.borrow_mut().repl_flags = flags as u8;
                    Ok(())
                })?,
            )?;
            run.raw_set(
                "log",
                scope.create_function(move |_, args: MultiValue| {
                    redis_log(&mut **host.borrow_mut(), args)
                })?,
            )?;
            run.raw_set(
                "interrupt",
                scope.create_function(move |_, ()| {
                    // Only between the script's own calls: the host is
                    // free then.
                    match (host.try_borrow_mut(), state.try_borrow()) {
                        (Ok(mut host), Ok(state)) => Ok(host.interrupt(&state)),
                        _ => Ok(false),
                    }
                })?,
            )?;
            run.raw_set(
                "acl_check_cmd",
                scope.create_function(move |_, args: MultiValue| {
                    let argv = lua_args_to_argv(&args).map_err(raise_table)?;
                    if host.borrow().command_exists(&argv) {
                        Ok(true)
                    } else {
                        Err(raise_table("Invalid command passed to redis.acl_check_cmd()"))
                    }
                })?,
            )?;
            lua.set_named_registry_value(RUN_TABLE, run)?;
            let keys = lua.create_sequence_from(
                call.keys.iter().map(|k| lua.create_string(k)).collect::<Result<Vec<_>, _>>()?,
            )?;
            let args = lua.create_sequence_from(
                call.args.iter().map(|a| lua.create_string(a)).collect::<Result<Vec<_>, _>>()?,
            )?;
            let (first, second) = if call.eval_mode {
                self.set_eval_arrays.call::<()>((keys, args))?;
                (Value::Nil, Value::Nil)
            } else {
                (Value::Table(keys), Value::Table(args))
            };
            self.arm_hook(call.budget, call.watched, BUDGET_EXCEEDED);
            let result = self
                .invoke
                .call::<MultiValue>((function.clone(), first, second));
            lua.remove_hook();
            lua.set_named_registry_value(RUN_TABLE, Value::Nil)?;
            result
        });
        let script_resp3 = state_cell.borrow().resp3;
        let mut result = RunResult {
            write_dirty: state_cell.borrow().write_dirty,
            uncounted_errors: Vec::new(),
        };
        let values = match outcome {
            Ok(values) => values,
            Err(error) => {
                let text = format!("ERR Error running script {}, {:.100}", call.name, error);
                out.error(&text);
                result.uncounted_errors.push(text);
                return result;
            }
        };
        let mut values = values.into_iter();
        let ok = matches!(values.next(), Some(Value::Boolean(true)));
        let value = values.next().unwrap_or(Value::Nil);
        if ok {
            let converted = convert::lua_to_reply(&value, script_resp3, out);
            result.uncounted_errors = converted.uncounted_errors;
            return result;
        }
        // The handler turned the error into {err=..., source=..., line=...}.
        let Value::Table(error) = value else {
            let text = format!("ERR Error running script {}, execution failure", call.name);
            out.error(&text);
            result.uncounted_errors.push(text);
            return result;
        };
        let field = |name: &str| match error.raw_get::<Value>(name) {
            Ok(Value::String(s)) => Some(s.to_string_lossy().to_string()),
            Ok(Value::Integer(n)) => Some(n.to_string()),
            Ok(Value::Number(n)) => Some(lua_number_text(n)),
            _ => None,
        };
        let message = field("err").unwrap_or_default();
        let mut text = message;
        if let (Some(source), Some(line)) = (field("source"), field("line")) {
            text.push_str(&format!(" script: {}, on {source}:{line}.", call.name));
        }
        out.error(&text);
        let counted = matches!(
            error.raw_get::<Value>("ignore_error_stats_update"),
            Ok(Value::Boolean(true))
        );
        if !counted {
            result.uncounted_errors.push(text);
        }
        result
    }

    /// Bytes of memory the Lua state uses.
    pub fn used_memory(&self) -> usize {
        self.lua.used_memory()
    }
}

/// Whether the running script must stop, as its `interrupt` function
/// says.
fn interrupted(lua: &Lua) -> mlua::Result<bool> {
    let Value::Table(run) = lua.named_registry_value::<Value>(RUN_TABLE)? else {
        return Ok(false);
    };
    match run.raw_get::<Value>("interrupt")? {
        Value::Function(interrupt) => interrupt.call::<bool>(()),
        _ => Ok(false),
    }
}

/// The error a killed script gets (SCRIPT KILL, FUNCTION KILL, SHUTDOWN
/// NOSAVE), as Redis words it.
const KILLED: &str = "Script killed by user with SCRIPT KILL...";

/// The error a script gets once it used up its instruction budget.
const BUDGET_EXCEEDED: &str =
    "Script exceeded its instruction budget (busy-reply-threshold), killed";

/// What one run of a script needs besides the code.
pub struct RunCall<'a> {
    /// The script's name in errors (its sha, or the function's name).
    pub name: &'a str,
    /// KEYS.
    pub keys: &'a [&'a [u8]],
    /// ARGV.
    pub args: &'a [&'a [u8]],
    /// EVAL (KEYS and ARGV as globals) or FCALL (as arguments).
    pub eval_mode: bool,
    /// The run's flags and protocol.
    pub state: RunState,
    /// Instructions the run may take (0: unbounded).
    pub budget: u64,
    /// The host is asked every [`HOOK_PERIOD`] instructions whether the run
    /// must stop (and serves other clients meanwhile, once the run is
    /// busy): see [`ScriptHost::interrupt`].
    pub watched: bool,
}

/// What a run did besides its reply.
#[derive(Debug, Default)]
pub struct RunResult {
    /// A write command ran.
    pub write_dirty: bool,
    /// Error replies written whose stats were not counted yet.
    pub uncounted_errors: Vec<String>,
}

/// One function a library registered.
#[derive(Debug, Clone)]
pub struct Registered {
    /// Its name.
    pub name: String,
    /// Its description, if given.
    pub description: Option<String>,
    /// [`super::flags`] bits.
    pub flags: u32,
    /// The callback.
    pub callback: Function,
}

fn number_of(value: &Value) -> Option<f64> {
    match value {
        Value::Integer(n) => Some(*n as f64),
        Value::Number(n) => Some(*n),
        Value::String(s) => s.to_str().ok().and_then(|s| s.trim().parse().ok()),
        _ => None,
    }
}

/// Lua's own `%.14g` text of a number (what `tostring` prints).
pub fn lua_number_text(n: f64) -> String {
    super::cjson::format_g(n, 14)
}

/// `redis.register_function(name, callback)` or
/// `redis.register_function{function_name=..., callback=..., flags=...,
/// description=...}`, with Redis's errors.
fn read_registration(_lua: &Lua, args: MultiValue) -> mlua::Result<Registered> {
    if args.is_empty() || args.len() > 2 {
        return Err(raise_table(
            "wrong number of arguments to redis.register_function",
        ));
    }
    if args.len() == 2 {
        let name = match &args[0] {
            Value::String(s) => s.to_string_lossy().to_string(),
            Value::Integer(n) => n.to_string(),
            Value::Number(n) => lua_number_text(*n),
            _ => {
                return Err(raise_table(
                    "first argument to redis.register_function must be a string",
                ))
            }
        };
        let Value::Function(callback) = &args[1] else {
            return Err(raise_table(
                "second argument to redis.register_function must be a function",
            ));
        };
        return Ok(Registered {
            name,
            description: None,
            flags: 0,
            callback: callback.clone(),
        });
    }
    let Value::Table(named) = &args[0] else {
        return Err(raise_table("calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments)."));
    };
    let (mut name, mut description, mut callback, mut flags) = (None, None, None, 0u32);
    for pair in named.pairs::<Value, Value>() {
        let (key, value) = pair?;
        let key = match &key {
            Value::String(s) => s.to_string_lossy().to_string(),
            Value::Integer(n) => n.to_string(),
            Value::Number(n) => lua_number_text(*n),
            _ => {
                return Err(raise_table(
                    "named argument key given to redis.register_function is not a string",
                ))
            }
        };
        match key.to_ascii_lowercase().as_str() {
            "function_name" => {
                name = Some(string_arg(&value).ok_or_else(|| {
                    raise_table(
                        "function_name argument given to redis.register_function must be a string",
                    )
                })?)
            }
            "description" => {
                description = Some(string_arg(&value).ok_or_else(|| {
                    raise_table(
                        "description argument given to redis.register_function must be a string",
                    )
                })?)
            }
            "callback" => match value {
                Value::Function(f) => callback = Some(f),
                _ => {
                    return Err(raise_table(
                        "callback argument given to redis.register_function must be a function",
                    ))
                }
            },
            "flags" => {
                let Value::Table(list) = value else {
                    return Err(raise_table("flags argument to redis.register_function must be a table representing function flags"));
                };
                for index in 1.. {
                    match list.raw_get::<Value>(index)? {
                        Value::Nil => break,
                        item => {
                            let text = string_arg(&item)
                                .ok_or_else(|| raise_table("unknown flag given"))?;
                            let flag = super::flags::parse_one(&text, true)
                                .ok_or_else(|| raise_table("unknown flag given"))?;
                            flags |= flag;
                        }
                    }
                }
            }
            _ => {
                return Err(raise_table(
                    "unknown argument given to redis.register_function",
                ))
            }
        }
    }
    let Some(name) = name else {
        return Err(raise_table(
            "redis.register_function must get a function name argument",
        ));
    };
    let Some(callback) = callback else {
        return Err(raise_table(
            "redis.register_function must get a callback argument",
        ));
    };
    Ok(Registered {
        name,
        description,
        flags,
        callback,
    })
}

fn string_arg(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.to_string_lossy().to_string()),
        Value::Integer(n) => Some(n.to_string()),
        Value::Number(n) => Some(lua_number_text(*n)),
        _ => None,
    }
}

/// `redis.log(level, ...)`.
fn redis_log(host: &mut dyn ScriptHost, args: MultiValue) -> mlua::Result<()> {
    if args.len() < 2 {
        return Err(raise_table("redis.log() requires two arguments or more."));
    }
    let Some(level) = (match &args[0] {
        Value::Integer(n) => Some(*n as f64),
        Value::Number(n) => Some(*n),
        Value::String(s) => s.to_str().ok().and_then(|s| s.trim().parse().ok()),
        _ => None,
    }) else {
        return Err(raise_table("First argument must be a number (log level)."));
    };
    let level = level as i64;
    if !(0..=3).contains(&level) {
        return Err(raise_table("Invalid debug level."));
    }
    let mut message = Vec::new();
    let mut first = true;
    for value in args.iter().skip(1) {
        let text = match value {
            Value::String(s) => s.as_bytes().to_vec(),
            Value::Integer(n) => n.to_string().into_bytes(),
            Value::Number(n) => lua_number_text(*n).into_bytes(),
            _ => continue,
        };
        if !first {
            message.push(b' ');
        }
        first = false;
        message.extend_from_slice(&text);
    }
    host.log(level as u8, &String::from_utf8_lossy(&message));
    Ok(())
}

/// The arguments of `redis.call` as a command line: strings as they are,
/// numbers in `%.17g`, anything else refused.
fn lua_args_to_argv(args: &MultiValue) -> Result<Vec<Vec<u8>>, &'static str> {
    if args.is_empty() {
        return Err("Please specify at least one argument for this redis lib call");
    }
    args.iter()
        .map(|value| match value {
            Value::String(s) => Ok(s.as_bytes().to_vec()),
            Value::Integer(n) => Ok(n.to_string().into_bytes()),
            Value::Number(n) => Ok(crate::keyspace::format_score(*n).into_bytes()),
            _ => Err("Lua redis lib command arguments must be strings or integers"),
        })
        .collect()
}

/// `redis.call` (raise) and `redis.pcall`: runs the command through the
/// host and converts its reply.
fn redis_call(
    lua: &Lua,
    host: &mut dyn ScriptHost,
    state: &mut RunState,
    args: MultiValue,
    raise: bool,
) -> mlua::Result<Value> {
    let argv = match lua_args_to_argv(&args) {
        Ok(argv) => argv,
        Err(text) if raise => return Err(raise_table(text)),
        Err(text) => {
            return Ok(Value::Table(convert::error_table(
                lua,
                &format!("ERR {text}"),
                false,
            )?))
        }
    };
    match host.call(&argv, state) {
        CallOutcome::Rejected(text) => {
            let text = convert::error_table_text(&text);
            if raise {
                Err(mlua::Error::external(Raise::Table {
                    text,
                    counted: true,
                }))
            } else {
                Ok(Value::Table(convert::error_table(lua, &text, true)?))
            }
        }
        CallOutcome::Reply(bytes) => {
            let frame = match crate::resp::Frame::parse(&bytes) {
                Ok((frame, _)) => frame,
                Err(_) => crate::resp::Frame::Null,
            };
            if let (true, crate::resp::Frame::Error(text)) = (raise, &frame) {
                return Err(mlua::Error::external(Raise::Table {
                    text: convert::error_table_text(&format!("-{text}")),
                    counted: true,
                }));
            }
            convert::frame_to_lua(lua, &frame)
        }
    }
}

/// The text of a Lua error for the user, without mlua's wrapping.
fn lua_error_message(error: &mlua::Error) -> String {
    match error {
        mlua::Error::RuntimeError(message) => message.clone(),
        mlua::Error::CallbackError { cause, .. } => lua_error_message(cause),
        other => other.to_string(),
    }
}

/// `REDIS_VERSION_NUM` of the version replsim reproduces (`0x0007000f`).
fn redis_version_num() -> i64 {
    let mut parts = crate::REDIS_COMPAT_VERSION
        .split('.')
        .map(|p| p.parse::<i64>().unwrap_or(0));
    let (major, minor, patch) = (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    );
    (major << 16) | (minor << 8) | patch
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rand48_follows_drand48_from_its_start_state() {
        // The first values of lrand48() after start, which are also the
        // first values Redis's scripts draw.
        let rand = Rand48::new();
        let r = (rand.next() % LRAND48_MAX) as f64 / LRAND48_MAX as f64;
        assert_eq!((r * 1000.0).floor() + 1.0, 397.0);
        let r = (rand.next() % LRAND48_MAX) as f64 / LRAND48_MAX as f64;
        assert_eq!((r * 1000.0).floor() + 1.0, 841.0);
    }

    #[test]
    fn version_number_is_major_minor_patch_bytes() {
        assert_eq!(redis_version_num(), 0x0007_000f);
    }
}
