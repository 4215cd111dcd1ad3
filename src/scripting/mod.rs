//! Lua scripting as Redis 7.0 has it: EVAL scripts (cached by the SHA1 of
//! their body) and FUNCTION libraries, each kind in its own Lua 5.1 state.
//!
//! Redis embeds Lua 5.1; so does replsim, through the `mlua` crate, which
//! vendors that exact interpreter and keeps the C API behind safe Rust.
//! [`vm`] builds a state with Redis's libraries, `redis.*` API and sandbox
//! and runs code in it; [`convert`] holds the reply conversions;
//! [`functions`] compiles libraries; [`library`] is the library code a node
//! holds as data (saved in the RDB). The commands themselves (EVAL, SCRIPT,
//! FCALL, FUNCTION) and the rules for the commands a script calls are in
//! `command::scripting`, which implements [`ScriptHost`].

use std::collections::BTreeMap;

mod bit;
mod cjson;
mod cmsgpack;
pub mod convert;
pub mod functions;
pub mod library;
mod structlib;
pub mod vm;

pub use vm::{Rand48, RunCall, RunResult, ScriptVm};

/// Script flags (`#!lua flags=...` and `redis.register_function`'s
/// `flags`), as Redis 7.0 names them.
pub mod flags {
    /// `no-writes`: the script may not write.
    pub const NO_WRITES: u32 = 1 << 0;
    /// `allow-oom`: may run when memory is over `maxmemory`.
    pub const ALLOW_OOM: u32 = 1 << 1;
    /// `allow-stale`: may run on a stale replica.
    pub const ALLOW_STALE: u32 = 1 << 2;
    /// `no-cluster`: refused in cluster mode.
    pub const NO_CLUSTER: u32 = 1 << 3;
    /// `allow-cross-slot-keys`.
    pub const ALLOW_CROSS_SLOT: u32 = 1 << 4;
    /// An EVAL script without a shebang: the pre-7.0 rules apply.
    pub const EVAL_COMPAT_MODE: u32 = 1 << 5;

    /// The flags and their names, in Redis's order.
    pub const NAMES: [(u32, &str); 5] = [
        (NO_WRITES, "no-writes"),
        (ALLOW_OOM, "allow-oom"),
        (ALLOW_STALE, "allow-stale"),
        (NO_CLUSTER, "no-cluster"),
        (ALLOW_CROSS_SLOT, "allow-cross-slot-keys"),
    ];

    /// The flag named `name` (case-insensitively for functions, exactly
    /// for shebangs, as Redis compares them).
    pub fn parse_one(name: &str, ignore_case: bool) -> Option<u32> {
        NAMES
            .iter()
            .find(|(_, n)| {
                if ignore_case {
                    n.eq_ignore_ascii_case(name)
                } else {
                    *n == name
                }
            })
            .map(|(flag, _)| *flag)
    }
}

/// Lower-case hex SHA1 of `bytes` (script ids, `redis.sha1hex`).
pub fn sha1_hex(bytes: &[u8]) -> String {
    use sha1::{Digest, Sha1};
    crate::digest::to_hex(&Sha1::digest(bytes).into())
}

/// The state of one script run that its API calls change and read.
#[derive(Debug, Clone)]
pub struct RunState {
    /// The script's protocol for the replies of its calls (`redis.setresp`).
    pub resp3: bool,
    /// `redis.set_repl` flags: bit 0 AOF, bit 1 replicas.
    pub repl_flags: u8,
    /// Write commands are refused (EVAL_RO, FCALL_RO, `no-writes`).
    pub read_only: bool,
    /// `allow-oom`.
    pub allow_oom: bool,
    /// A write command ran.
    pub write_dirty: bool,
    /// EVAL (not FCALL).
    pub eval_mode: bool,
    /// The db the script's commands run in (SELECT inside the script).
    pub db: usize,
}

/// What a command run for a script gave.
#[derive(Debug)]
pub enum CallOutcome {
    /// The reply, encoded in the script's protocol.
    Reply(Vec<u8>),
    /// Refused before it ran: the error text (a leading `-` carries its
    /// own code, otherwise `ERR` is added).
    Rejected(String),
}

/// The server side of a running script: it executes the commands the
/// script calls and writes its log lines.
pub trait ScriptHost {
    /// Runs `argv` for `redis.call`/`redis.pcall`.
    fn call(&mut self, argv: &[Vec<u8>], run: &mut RunState) -> CallOutcome;
    /// `redis.log` at Redis level `level` (0 debug .. 3 warning).
    fn log(&mut self, level: u8, message: &str);
    /// Whether `argv` names a command (`redis.acl_check_cmd`).
    fn command_exists(&self, argv: &[Vec<u8>]) -> bool;
    /// Called every 100,000 instructions of a watched run, between the
    /// script's own calls (Redis's `scriptInterrupt`): the host may serve
    /// other clients meanwhile. Returns whether the run must stop.
    fn interrupt(&mut self, _run: &RunState) -> bool {
        false
    }
}

/// A cached EVAL script.
#[derive(Debug)]
pub struct EvalScript {
    /// The body as sent.
    pub body: Vec<u8>,
    /// Its shebang flags ([`flags`]).
    pub flags: u32,
    /// The compiled chunk.
    pub function: mlua::Function,
}

/// Reads the `#!lua flags=...` line of an EVAL script, with Redis's error
/// texts. Returns the flags and the length of the shebang (the code after
/// it keeps its newline, so line numbers do not move).
pub fn eval_shebang_flags(body: &[u8]) -> Result<(u32, usize), String> {
    if !body.starts_with(b"#!") {
        return Ok((flags::EVAL_COMPAT_MODE, 0));
    }
    let Some(end) = body.iter().position(|&b| b == b'\n') else {
        return Err("Invalid script shebang".into());
    };
    let parts = library::split_shebang(&body[..end]).unwrap_or_default();
    let Some(engine) = parts.first() else {
        return Err("Invalid engine in script shebang".into());
    };
    if engine.as_slice() != b"#!lua" {
        return Err(format!(
            "Unexpected engine in script shebang: {}",
            String::from_utf8_lossy(engine)
        ));
    }
    let mut script_flags = 0;
    for part in &parts[1..] {
        let Some(list) = part.strip_prefix(b"flags=") else {
            return Err(format!(
                "Unknown lua shebang option: {}",
                String::from_utf8_lossy(part)
            ));
        };
        // `flags=` declares no flags; an empty name between commas is an
        // unknown one (Redis splits with `sdssplitlen`).
        if list.is_empty() {
            continue;
        }
        for name in list.split(|&b| b == b',') {
            let name = String::from_utf8_lossy(name);
            match flags::parse_one(&name, false) {
                Some(flag) => script_flags |= flag,
                None => return Err(format!("Unexpected flag in script shebang: {name}")),
            }
        }
    }
    Ok((script_flags, end))
}

/// A node's scripting: the EVAL state with its script cache, the functions
/// engine, and the random generator they share.
pub struct Scripting {
    eval: Option<ScriptVm>,
    scripts: BTreeMap<String, EvalScript>,
    /// The compiled FUNCTION libraries.
    pub functions: functions::FunctionEngine,
    rand: Rand48,
    /// `DEBUG SET-DISABLE-DENY-SCRIPTS`: scripts may call commands flagged
    /// noscript.
    pub disable_deny_script: bool,
}

impl Default for Scripting {
    fn default() -> Self {
        Scripting::new()
    }
}

impl std::fmt::Debug for Scripting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scripting")
            .field("scripts", &self.scripts.len())
            .finish()
    }
}

impl Scripting {
    /// No scripts, no libraries; the Lua states are made when first used.
    pub fn new() -> Self {
        let rand = Rand48::new();
        Scripting {
            eval: None,
            scripts: BTreeMap::new(),
            functions: functions::FunctionEngine::new(rand.clone()),
            rand,
            disable_deny_script: false,
        }
    }

    /// The EVAL state, made on first use.
    pub fn eval_vm(&mut self) -> Result<&ScriptVm, String> {
        if self.eval.is_none() {
            let vm = ScriptVm::new(self.rand.clone(), false)
                .map_err(|e| format!("cannot create the Lua state: {e}"))?;
            self.eval = Some(vm);
        }
        Ok(self.eval.as_ref().expect("made above"))
    }

    /// The cached script `sha` (lower-case).
    pub fn script(&self, sha: &str) -> Option<&EvalScript> {
        self.scripts.get(sha)
    }

    /// Compiles and caches `body` (Redis's `luaCreateFunction`); returns its
    /// sha, or the error reply text.
    pub fn create_script(&mut self, body: &[u8]) -> Result<String, String> {
        let sha = sha1_hex(body);
        if self.scripts.contains_key(&sha) {
            return Ok(sha);
        }
        let (script_flags, shebang_len) =
            eval_shebang_flags(body).map_err(|e| format!("ERR {e}"))?;
        let vm = self.eval_vm().map_err(|e| format!("ERR {e}"))?;
        let function = vm
            .compile("@user_script", &body[shebang_len..])
            .map_err(|e| format!("ERR Error compiling script (new function): {e}"))?;
        self.scripts.insert(
            sha.clone(),
            EvalScript {
                body: body.to_vec(),
                flags: script_flags,
                function,
            },
        );
        Ok(sha)
    }

    /// SCRIPT FLUSH: forgets every script and starts a fresh Lua state.
    pub fn flush_scripts(&mut self) {
        self.scripts.clear();
        self.eval = None;
    }

    /// The random generator scripts and functions share.
    pub fn rand(&self) -> Rand48 {
        self.rand.clone()
    }

    /// Number of cached scripts (INFO `number_of_cached_scripts`).
    pub fn script_count(&self) -> usize {
        self.scripts.len()
    }

    /// Bytes the cached script bodies take (INFO `used_memory_scripts_eval`).
    pub fn scripts_memory(&self) -> usize {
        self.scripts
            .iter()
            .map(|(sha, s)| sha.len() + s.body.len())
            .sum()
    }

    /// Bytes the EVAL Lua state uses (INFO `used_memory_lua`).
    pub fn eval_memory(&self) -> usize {
        self.eval.as_ref().map_or(0, ScriptVm::used_memory)
    }
}
