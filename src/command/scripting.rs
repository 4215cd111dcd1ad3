//! Scripting commands: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT (LOAD,
//! EXISTS, FLUSH, KILL, DEBUG, HELP), FCALL, FCALL_RO and FUNCTION (LOAD,
//! LIST, DELETE, FLUSH, DUMP, RESTORE, STATS, KILL, HELP), and the rules
//! for the commands a script calls (Redis 7.0's `scriptCall`).
//!
//! # Propagation
//! Scripts are replicated by their effects, as in Redis 7.0: EVAL and
//! FCALL are never propagated; the writes a script makes are, as the
//! commands it called (in its db, after a SELECT it ran), wrapped in
//! `MULTI`/`EXEC` when there are two or more, and left out after
//! `redis.set_repl(redis.REPL_NONE)` (or `REPL_AOF`: there is no AOF).
//! FUNCTION LOAD, DELETE, FLUSH and RESTORE are propagated as they were
//! sent. SCRIPT LOAD and SCRIPT FLUSH are not (replicas never need the
//! cache).
//!
//! A script runs while the node's state is locked, as Redis's single
//! thread runs it. Past `busy-reply-threshold` it serves other clients
//! from its hook, as Redis does: `-BUSY`, SCRIPT KILL, FUNCTION KILL and
//! the rest of what Redis lets through (see `server::busy`). Where that
//! cannot happen (a simulation, whose clock stands still while a command
//! computes), a script that loops is stopped by an instruction budget
//! instead (see [`instruction_budget`]).

use super::flags::*;
use super::{
    call, container, int_arg, resolve, spec, sub, CmdError, CmdResult, CommandSpec, Ctx, NO_KEYS,
};
use crate::resp::{Argv, OwnedArgv, Reply};
use crate::scripting::{
    self, flags as sflags, CallOutcome, RunCall, RunState, ScriptHost, Scripting,
};
use crate::server::busy::RunningScript;

pub(super) static COMMANDS: &[CommandSpec] = &[
    spec(
        "eval",
        -3,
        NO_MANDATORY_KEYS | NOSCRIPT | MAY_REPLICATE | STALE | SKIP_MONITOR | MOVABLE_KEYS,
        NO_KEYS,
        eval,
    ),
    spec(
        "evalsha",
        -3,
        NO_MANDATORY_KEYS | NOSCRIPT | MAY_REPLICATE | STALE | SKIP_MONITOR | MOVABLE_KEYS,
        NO_KEYS,
        evalsha,
    ),
    spec(
        "eval_ro",
        -3,
        NO_MANDATORY_KEYS | NOSCRIPT | READONLY | STALE | SKIP_MONITOR | MOVABLE_KEYS,
        NO_KEYS,
        eval_ro,
    ),
    spec(
        "evalsha_ro",
        -3,
        NO_MANDATORY_KEYS | NOSCRIPT | READONLY | STALE | SKIP_MONITOR | MOVABLE_KEYS,
        NO_KEYS,
        evalsha_ro,
    ),
    spec(
        "fcall",
        -3,
        NO_MANDATORY_KEYS | NOSCRIPT | MAY_REPLICATE | STALE | SKIP_MONITOR | MOVABLE_KEYS,
        NO_KEYS,
        fcall,
    ),
    spec(
        "fcall_ro",
        -3,
        NO_MANDATORY_KEYS | NOSCRIPT | READONLY | STALE | SKIP_MONITOR | MOVABLE_KEYS,
        NO_KEYS,
        fcall_ro,
    ),
    container("script", -2, 0, SCRIPT_SUBCOMMANDS),
    container("function", -2, 0, FUNCTION_SUBCOMMANDS),
];

static SCRIPT_SUBCOMMANDS: &[CommandSpec] = &[
    sub("script", "load", 3, NOSCRIPT | STALE, script_load),
    sub("script", "exists", -3, NOSCRIPT, script_exists),
    sub("script", "flush", -2, NOSCRIPT, script_flush),
    sub("script", "kill", 2, NOSCRIPT | ALLOW_BUSY, script_kill),
    sub("script", "debug", 3, NOSCRIPT, script_debug),
    sub("script", "help", 2, LOADING | STALE, script_help),
];

static FUNCTION_SUBCOMMANDS: &[CommandSpec] = &[
    sub(
        "function",
        "load",
        -3,
        NOSCRIPT | WRITE | DENYOOM,
        function_load,
    ),
    sub("function", "list", -2, NOSCRIPT, function_list),
    sub("function", "delete", 3, NOSCRIPT | WRITE, function_delete),
    sub("function", "flush", -2, NOSCRIPT | WRITE, function_flush),
    sub("function", "dump", 2, NOSCRIPT, function_dump),
    sub(
        "function",
        "restore",
        -3,
        NOSCRIPT | WRITE | DENYOOM,
        function_restore,
    ),
    sub(
        "function",
        "stats",
        2,
        NOSCRIPT | ALLOW_BUSY,
        function_stats,
    ),
    sub("function", "kill", 2, NOSCRIPT | ALLOW_BUSY, function_kill),
    sub("function", "help", 2, LOADING | STALE, function_help),
];

/// Lua instructions a script may run per millisecond of
/// `busy-reply-threshold` before it is stopped.
const INSTRUCTIONS_PER_THRESHOLD_MS: u64 = 1_000_000;

/// The instructions a script may run before it is stopped where it cannot
/// be busy (see the module doc), from `busy-reply-threshold`
/// (`lua-time-limit`, milliseconds). Redis lets a script run past the
/// threshold and then answers other clients `-BUSY` until SCRIPT KILL or
/// the script's end; in a simulation time does not pass while a script
/// runs, so a script that has not ended after `busy-reply-threshold` x
/// 1,000,000 instructions (several times the threshold's time at Lua's
/// speed, with room for scripts Redis would finish late) fails with an
/// error instead, in every run at the same instruction. A threshold of 0
/// (Redis: never busy) takes the default's 5000.
pub fn instruction_budget(ctx: &Ctx<'_>) -> u64 {
    let ms: u64 = ctx
        .state
        .config
        .others
        .get("busy-reply-threshold")
        .and_then(|v| v.parse().ok())
        .filter(|&ms| ms > 0)
        .unwrap_or(5000);
    ms.saturating_mul(INSTRUCTIONS_PER_THRESHOLD_MS)
}

/// The flags the command table gives a script command, changed by the
/// script's own flags as Redis's `evalGetCommandFlags` and
/// `fcallGetCommandFlags` do: a script that declared flags is a write
/// (and denied on OOM) unless `no-writes`, and runs on a stale replica
/// only with `allow-stale`.
pub(super) fn command_flags(ctx: &mut Ctx<'_>, spec: &CommandSpec, argv: Argv<'_>) -> u32 {
    let script_flags = match spec.name {
        "eval" | "eval_ro" => {
            let sha = scripting::sha1_hex(argv.get(1));
            match ctx.state.scripting.script(&sha) {
                Some(script) => script.flags,
                None => match scripting::eval_shebang_flags(argv.get(1)) {
                    Ok((flags, _)) => flags,
                    Err(_) => return spec.flags,
                },
            }
        }
        "evalsha" | "evalsha_ro" => {
            if argv.get(1).len() != 40 {
                return spec.flags;
            }
            let sha = String::from_utf8_lossy(argv.get(1)).to_ascii_lowercase();
            match ctx.state.scripting.script(&sha) {
                Some(script) => script.flags,
                None => return spec.flags,
            }
        }
        "fcall" | "fcall_ro" => {
            let name = String::from_utf8_lossy(argv.get(1)).into_owned();
            let found = with_scripting(ctx, |scripting, ctx| {
                sync_functions(scripting, ctx);
                scripting.functions.function(&name).map(|f| f.flags)
            });
            match found {
                Some(flags) => flags,
                None => return spec.flags,
            }
        }
        _ => return spec.flags,
    };
    if script_flags & sflags::EVAL_COMPAT_MODE != 0 {
        return spec.flags;
    }
    let mut flags = spec.flags & !(STALE | DENYOOM | WRITE | MAY_REPLICATE);
    if script_flags & (sflags::ALLOW_OOM | sflags::NO_WRITES) == 0 {
        flags |= DENYOOM;
    }
    if script_flags & sflags::NO_WRITES == 0 {
        flags |= WRITE;
    }
    if script_flags & sflags::ALLOW_STALE != 0 {
        flags |= STALE;
    }
    flags
}

/// Runs `f` with the node's scripting taken out of its state, so that the
/// state can serve the script's commands meanwhile; puts it back after.
fn with_scripting<T>(ctx: &mut Ctx<'_>, f: impl FnOnce(&mut Scripting, &mut Ctx<'_>) -> T) -> T {
    let mut scripting = std::mem::take(&mut ctx.state.scripting);
    let result = f(&mut scripting, ctx);
    ctx.state.scripting = scripting;
    result
}

/// Brings the functions engine in line with the libraries the node holds.
fn sync_functions(scripting: &mut Scripting, ctx: &mut Ctx<'_>) {
    if scripting
        .functions
        .holds(ctx.state.keyspace.functions.generation())
    {
        return;
    }
    let libraries = ctx.state.keyspace.functions.clone();
    let mut host = Host::new(ctx, scripting);
    let errors = scripting.functions.sync(&libraries, &mut host);
    for error in errors {
        ctx.state.log(
            crate::log::Level::Warning,
            &format!("Failed creating function, {error}"),
        );
    }
}

/// The server side of a running script.
struct Host<'c, 'a> {
    ctx: &'c mut Ctx<'a>,
    /// DEBUG SET-DISABLE-DENY-SCRIPTS: noscript commands are allowed.
    deny_script_disabled: bool,
}

impl<'c, 'a> Host<'c, 'a> {
    fn new(ctx: &'c mut Ctx<'a>, scripting: &Scripting) -> Self {
        Host {
            ctx,
            deny_script_disabled: scripting.disable_deny_script,
        }
    }
}

/// Redis's `writeCommandsGetDiskErrorMessage` for a failed RDB save.
const MISCONF_SCRIPT_CALL: &str = "-MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

impl Host<'_, '_> {
    fn running_stale(&self) -> bool {
        let state = &*self.ctx.state;
        state.is_replica() && !state.master_link_up() && !state.config.replica_serve_stale_data
    }

    fn good_replicas_missing(&self) -> bool {
        let state = &*self.ctx.state;
        let config = &state.config;
        if state.is_replica()
            || config.min_replicas_to_write == 0
            || config.min_replicas_max_lag == 0
        {
            return false;
        }
        let lag = std::time::Duration::from_secs(config.min_replicas_max_lag);
        (state.repl.good_replicas(state.mono_now, lag) as u64) < config.min_replicas_to_write
    }

    /// The checks of Redis's `scriptCall` before a command runs; the
    /// error text when refused.
    fn check(
        &self,
        spec: &CommandSpec,
        run: &RunState,
        deny_disabled: bool,
    ) -> Result<(), &'static str> {
        if spec.flags & NOSCRIPT != 0 && !deny_disabled {
            return Err("This Redis command is not allowed from script");
        }
        if self.running_stale() && spec.flags & STALE == 0 {
            return Err("Can not execute the command on a stale replica");
        }
        if run.read_only && spec.flags & (WRITE | MAY_REPLICATE) != 0 {
            return Err("Write commands are not allowed from read-only scripts.");
        }
        if !spec.is_write() || run.write_dirty {
            return Ok(());
        }
        let state = &*self.ctx.state;
        if state.is_readonly_replica() && !self.ctx.client.is_master {
            return Err("-READONLY You can't write against a read only replica.");
        }
        if state.writes_denied_by_disk_error() {
            return Err(MISCONF_SCRIPT_CALL);
        }
        if self.good_replicas_missing() {
            return Err("-NOREPLICAS Not enough good replicas to write.");
        }
        // Over `maxmemory` when the script started: its first write may
        // not take memory (later ones must run, or it would stop half done).
        if !run.allow_oom
            && spec.flags & DENYOOM != 0
            && state.maxmemory.limit > 0
            && state.pre_command_oom
            && !self.ctx.client.is_master
        {
            return Err("-OOM command not allowed when used memory > 'maxmemory'.");
        }
        Ok(())
    }
}

impl ScriptHost for Host<'_, '_> {
    fn call(&mut self, argv: &[Vec<u8>], run: &mut RunState) -> CallOutcome {
        let owned = OwnedArgv::from_args(argv);
        let argv = owned.argv();
        let spec = match resolve(argv) {
            Ok(spec) => spec,
            Err(message) => {
                let known = super::lookup(argv.get(0)).filter(|found| {
                    found.subcommands.is_empty()
                        || (argv.len() >= 2 && super::lookup_sub(found, argv.get(1)).is_some())
                });
                let text = if message.starts_with("ERR wrong number of arguments") {
                    "Wrong number of args calling Redis command from script"
                } else {
                    "Unknown Redis command called from script"
                };
                if let Some(found) = known {
                    let name = if found.subcommands.is_empty() {
                        found.full_name()
                    } else {
                        super::lookup_sub(found, argv.get(1))
                            .map_or_else(|| found.full_name(), CommandSpec::full_name)
                    };
                    self.ctx.state.stats.command(&name).rejected_calls += 1;
                }
                self.ctx.state.stats.count_error(&format!("ERR {text}"));
                return CallOutcome::Rejected(text.into());
            }
        };
        if let Err(text) = self.check(spec, run, self.deny_script_disabled) {
            self.ctx
                .state
                .stats
                .command(&spec.full_name())
                .rejected_calls += 1;
            self.ctx
                .state
                .stats
                .count_error(&scripting::convert::error_table_text(text));
            return CallOutcome::Rejected(text.into());
        }
        if spec.is_write() {
            run.write_dirty = true;
        }
        let caller_db = self.ctx.client.db;
        self.ctx.client.db = run.db;
        let pending_before = self.ctx.state.pending_propagation_len();
        let mut reply = Reply::with_protocol(run.resp3);
        {
            let now_ms = self.ctx.now_ms;
            let mut inner = Ctx::new(self.ctx.state, self.ctx.client, &mut reply, now_ms);
            // The script's client may not block: blocking commands answer
            // as they would on a timeout, as inside MULTI.
            inner.in_exec = true;
            inner.in_script = true;
            call(&mut inner, spec, argv);
        }
        run.db = self.ctx.client.db;
        self.ctx.client.db = caller_db;
        if run.repl_flags & 2 == 0 {
            self.ctx.state.truncate_pending_propagation(pending_before);
        }
        CallOutcome::Reply(reply.take())
    }

    fn log(&mut self, level: u8, message: &str) {
        let configured = match self.ctx.state.config.loglevel.as_str() {
            "debug" => 0,
            "verbose" => 1,
            "notice" => 2,
            _ => 3,
        };
        if level < configured {
            return;
        }
        let level = match level {
            0 | 1 => crate::log::Level::Verbose,
            2 => crate::log::Level::Notice,
            _ => crate::log::Level::Warning,
        };
        self.ctx.state.log(level, message);
    }

    fn command_exists(&self, argv: &[Vec<u8>]) -> bool {
        let owned = OwnedArgv::from_args(argv);
        resolve(owned.argv()).is_ok()
    }

    fn interrupt(&mut self, run: &RunState) -> bool {
        crate::server::busy::interrupt(self.ctx.state, run.write_dirty)
    }
}

/// Redis's `scriptPrepareForRun`: the checks a script passes before it
/// runs, by its flags, and its run state.
fn prepare_run(
    ctx: &mut Ctx<'_>,
    script_flags: u32,
    read_only_command: bool,
    eval_mode: bool,
) -> Result<RunState, CmdError> {
    let host = Host {
        ctx,
        deny_script_disabled: false,
    };
    let running_stale = host.running_stale();
    let obey = host.ctx.client.is_master;
    let compat = script_flags & sflags::EVAL_COMPAT_MODE != 0;
    if !compat {
        if running_stale && script_flags & sflags::ALLOW_STALE == 0 {
            return Err(CmdError::Other("MASTERDOWN Link with MASTER is down, replica-serve-stale-data is set to 'no' and 'allow-stale' flag is not set on the script.".into()));
        }
        if script_flags & sflags::NO_WRITES == 0 {
            let state = &*host.ctx.state;
            if state.is_readonly_replica() && !obey {
                return Err(CmdError::Other(
                    "READONLY Can not run script with write flag on readonly replica".into(),
                ));
            }
            if state.writes_denied_by_disk_error() && !obey {
                return Err(CmdError::Other("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Writable scripts are blocked. Use 'no-writes' flag for read only scripts.".into()));
            }
            if read_only_command {
                return Err(CmdError::err(
                    "Can not execute a script with write flag using *_ro command.",
                ));
            }
            if host.good_replicas_missing() {
                return Err(CmdError::Other(
                    "NOREPLICAS Not enough good replicas to write.".into(),
                ));
            }
        }
        let state = &*host.ctx.state;
        if state.pre_command_oom
            && state.maxmemory.limit > 0
            && script_flags & (sflags::ALLOW_OOM | sflags::NO_WRITES) == 0
        {
            return Err(CmdError::Other(
                "OOM allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'".into(),
            ));
        }
    } else if running_stale {
        return Err(CmdError::Other(
            "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
                .into(),
        ));
    }
    Ok(RunState {
        resp3: false,
        repl_flags: 3,
        read_only: read_only_command || (!compat && script_flags & sflags::NO_WRITES != 0),
        allow_oom: !compat && script_flags & sflags::ALLOW_OOM != 0,
        write_dirty: false,
        eval_mode,
        db: host.ctx.client.db,
    })
}

/// The number of keys of EVAL and FCALL, with Redis's checks.
fn numkeys(argv: Argv<'_>, bad: CmdError) -> Result<usize, CmdError> {
    let n = int_arg(argv.get(2)).map_err(|_| bad)?;
    if n > argv.len() as i64 - 3 {
        return Err(CmdError::err(
            "Number of keys can't be greater than number of args",
        ));
    }
    if n < 0 {
        return Err(CmdError::err("Number of keys can't be negative"));
    }
    Ok(n as usize)
}

/// Runs a compiled script or function and writes its reply; counts the
/// errors it replied that no command counted, and a failed call when its
/// reply is or holds an error (as Redis counts it).
#[allow(clippy::too_many_arguments)]
fn run_script(
    ctx: &mut Ctx<'_>,
    deny_script_disabled: bool,
    vm: &scripting::ScriptVm,
    function: &mlua::Function,
    name: &str,
    argv: Argv<'_>,
    keys: usize,
    state: RunState,
    function_counts: (usize, usize),
) {
    let key_args: Vec<&[u8]> = argv.iter().skip(3).take(keys).collect();
    let other_args: Vec<&[u8]> = argv.iter().skip(3 + keys).collect();
    // Where a script can be busy, it runs until it ends or is killed, as in
    // Redis; elsewhere an instruction budget stops a loop.
    let (budget, watched) = if ctx.state.serves_while_busy {
        (0, crate::server::busy::busy_reply_threshold(ctx.state) > 0)
    } else {
        (instruction_budget(ctx), false)
    };
    let eval_mode = state.eval_mode;
    // Only a watched run can be seen running (by the clients its hook
    // answers); an unwatched one spares the copy of its command.
    if watched {
        ctx.state.running_script = Some(RunningScript {
            name: name.to_string(),
            command: argv.iter().map(<[u8]>::to_vec).collect(),
            started: (ctx.state.clock)(),
            started_unix_ms: ctx.now_ms,
            eval_mode,
            write_dirty: false,
            timed_out: false,
            killed: false,
            function_counts,
        });
    }
    let mut reply = Reply::with_protocol(ctx.out.is_resp3());
    let result = vm.run(
        function,
        RunCall {
            name,
            keys: &key_args,
            args: &other_args,
            eval_mode,
            state,
            budget,
            watched,
        },
        &mut Host {
            ctx,
            deny_script_disabled,
        },
        &mut reply,
    );
    ctx.state.running_script = None;
    ctx.out.raw(reply.as_bytes());
    for error in &result.uncounted_errors {
        ctx.state.stats.count_error(error);
    }
    // As Redis's `afterErrorReply`: the call failed when its reply is an
    // error (counted already by the command that raised it, or not) or
    // holds errors counted only now; an error a pcall caught inside the
    // script is its command's failure, not the script's.
    let reply_is_error = reply.as_bytes().first() == Some(&b'-');
    if reply_is_error || !result.uncounted_errors.is_empty() {
        let command = String::from_utf8_lossy(argv.get(0)).to_ascii_lowercase();
        ctx.state.stats.command(&command).failed_calls += 1;
    }
}

fn eval(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    eval_generic(ctx, argv, false, false)
}

fn eval_ro(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    eval_generic(ctx, argv, false, true)
}

fn evalsha(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    eval_generic(ctx, argv, true, false)
}

fn evalsha_ro(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    eval_generic(ctx, argv, true, true)
}

const NOSCRIPT_ERROR: &str = "NOSCRIPT No matching script. Please use EVAL.";

/// EVAL script numkeys [key ...] [arg ...] (and EVALSHA sha1, and their
/// _RO forms, which refuse writes): runs the script, compiling and caching
/// it first when new, with KEYS and ARGV set.
///
/// # Propagation
/// Never itself: the script's writes are (see the module doc).
fn eval_generic(ctx: &mut Ctx<'_>, argv: Argv<'_>, evalsha: bool, ro: bool) -> CmdResult {
    // Before the script runs, so that its commands come after it.
    ctx.feed_monitors(argv);
    if evalsha && argv.get(1).len() != 40 {
        return Err(CmdError::Other(NOSCRIPT_ERROR.into()));
    }
    let keys = numkeys(argv, CmdError::NotInteger)?;
    with_scripting(ctx, |scripting, ctx| {
        let sha = if evalsha {
            String::from_utf8_lossy(argv.get(1)).to_ascii_lowercase()
        } else {
            let sha = scripting::sha1_hex(argv.get(1));
            if scripting.script(&sha).is_none() {
                scripting
                    .create_script(argv.get(1))
                    .map_err(CmdError::Other)?;
            }
            sha
        };
        let Some(script) = scripting.script(&sha) else {
            return Err(CmdError::Other(NOSCRIPT_ERROR.into()));
        };
        let (script_flags, function) = (script.flags, script.function.clone());
        let state = prepare_run(ctx, script_flags, ro, true)?;
        let deny_disabled = scripting.disable_deny_script;
        let counts = function_counts(scripting);
        let vm = scripting.eval_vm().map_err(CmdError::err)?;
        run_script(
            ctx,
            deny_disabled,
            vm,
            &function,
            &sha,
            argv,
            keys,
            state,
            counts,
        );
        Ok(())
    })
}

fn fcall(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    fcall_generic(ctx, argv, false)
}

fn fcall_ro(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    fcall_generic(ctx, argv, true)
}

/// FCALL function numkeys [key ...] [arg ...] (FCALL_RO refuses writes):
/// calls a function a library registered, with the keys and args as its
/// two arguments.
///
/// # Propagation
/// Never itself: the function's writes are (see the module doc).
fn fcall_generic(ctx: &mut Ctx<'_>, argv: Argv<'_>, ro: bool) -> CmdResult {
    ctx.feed_monitors(argv);
    with_scripting(ctx, |scripting, ctx| {
        sync_functions(scripting, ctx);
        let name = String::from_utf8_lossy(argv.get(1)).into_owned();
        let Some(info) = scripting.functions.function(&name) else {
            return Err(CmdError::err("Function not found"));
        };
        let (flags, callback) = (info.flags, info.callback.clone());
        let keys = numkeys(argv, CmdError::err("Bad number of keys provided"))?;
        let state = prepare_run(ctx, flags, ro, false)?;
        let deny_disabled = scripting.disable_deny_script;
        let counts = function_counts(scripting);
        let vm = scripting.functions.state().map_err(CmdError::Other)?;
        run_script(
            ctx,
            deny_disabled,
            vm,
            &callback,
            &name,
            argv,
            keys,
            state,
            counts,
        );
        Ok(())
    })
}

/// SCRIPT LOAD script: compiles and caches the script, replying its sha1.
///
/// # Propagation
/// None.
fn script_load(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let sha = ctx
        .state
        .scripting
        .create_script(argv.get(2))
        .map_err(CmdError::Other)?;
    ctx.out.bulk(sha.as_bytes());
    Ok(())
}

/// SCRIPT EXISTS sha1 [sha1 ...]: 1 or 0 for each.
///
/// # Propagation
/// None.
fn script_exists(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    ctx.out.array(argv.len() - 2);
    for sha in argv.iter().skip(2) {
        let sha = String::from_utf8_lossy(sha).to_ascii_lowercase();
        let found = ctx.state.scripting.script(&sha).is_some();
        ctx.out.integer(i64::from(found));
    }
    Ok(())
}

/// SCRIPT FLUSH [ASYNC|SYNC]: forgets every cached script (both modes act
/// at once here).
///
/// # Propagation
/// None.
fn script_flush(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let mode_ok = argv.len() == 2
        || (argv.len() == 3
            && (argv.get(2).eq_ignore_ascii_case(b"sync")
                || argv.get(2).eq_ignore_ascii_case(b"async")));
    if !mode_ok {
        return Err(CmdError::err("SCRIPT FLUSH only support SYNC|ASYNC option"));
    }
    ctx.state.scripting.flush_scripts();
    ctx.out.ok();
    Ok(())
}

const NOTBUSY: &str = "NOTBUSY No scripts in execution right now.";

/// SCRIPT KILL: stops the running EVAL script (see
/// [`kill_running_script`]).
///
/// # Propagation
/// None.
fn script_kill(ctx: &mut Ctx<'_>, _argv: Argv<'_>) -> CmdResult {
    kill_running_script(ctx, true)
}

/// Redis's `scriptKill`: SCRIPT KILL (`eval`) or FUNCTION KILL stops the
/// running script at its next hook, unless it wrote, or is the other kind.
fn kill_running_script(ctx: &mut Ctx<'_>, eval: bool) -> CmdResult {
    let Some(running) = ctx.state.running_script.as_mut() else {
        return Err(CmdError::Other(NOTBUSY.into()));
    };
    if running.write_dirty {
        return Err(CmdError::Other(
            "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.".into(),
        ));
    }
    if eval != running.eval_mode {
        return Err(CmdError::Other(running.busy_error().into()));
    }
    running.killed = true;
    ctx.out.ok();
    Ok(())
}

/// The libraries and functions the node's engine holds.
fn function_counts(scripting: &Scripting) -> (usize, usize) {
    (
        scripting.functions.libraries().len(),
        scripting.functions.function_count(),
    )
}

/// SCRIPT DEBUG YES|SYNC|NO: the Lua debugger is not implemented; NO (the
/// state every client is in) is accepted.
fn script_debug(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let mode = argv.get(2);
    if mode.eq_ignore_ascii_case(b"no") {
        ctx.out.ok();
        return Ok(());
    }
    if mode.eq_ignore_ascii_case(b"yes") || mode.eq_ignore_ascii_case(b"sync") {
        return Err(CmdError::err(
            "SCRIPT DEBUG (the Lua debugger) is not supported by replsim",
        ));
    }
    Err(CmdError::err("Use SCRIPT DEBUG YES/SYNC/NO"))
}

fn script_help(ctx: &mut Ctx<'_>, _argv: Argv<'_>) -> CmdResult {
    super::server_cmds::reply_help(
        ctx,
        "SCRIPT",
        &[
            "DEBUG (YES|SYNC|NO)",
            "    Set the debug mode for subsequent scripts executed.",
            "EXISTS <sha1> [<sha1> ...]",
            "    Return information about the existence of the scripts in the script cache.",
            "FLUSH [ASYNC|SYNC]",
            "    Flush the Lua scripts cache. Very dangerous on replicas.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the scripts cache.",
            "    * SYNC: Synchronously flush the scripts cache.",
            "KILL",
            "    Kill the currently executing Lua script.",
            "LOAD <script>",
            "    Load a script into the scripts cache without executing it.",
        ],
    );
    Ok(())
}

/// Commits `code` as the node's libraries, with the engine already holding
/// exactly them.
fn commit_libraries(
    scripting: &mut Scripting,
    ctx: &mut Ctx<'_>,
    code: std::collections::BTreeMap<String, Vec<u8>>,
) {
    let generation = ctx.state.keyspace.functions.replace_all(code);
    scripting.functions.set_generation(generation);
    ctx.changed(1);
}

/// FUNCTION LOAD [REPLACE] code: compiles the library its first line names
/// (`#!lua name=mylib`) and runs it to register its functions; replies the
/// library's name.
///
/// # Propagation
/// Verbatim.
fn function_load(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let mut replace = false;
    let mut position = 2;
    while position < argv.len() - 1 {
        let arg = argv.get(position);
        position += 1;
        if arg.eq_ignore_ascii_case(b"replace") {
            replace = true;
            continue;
        }
        return Err(CmdError::err(format!(
            "Unknown option given: {}",
            String::from_utf8_lossy(arg)
        )));
    }
    if position >= argv.len() {
        return Err(CmdError::err("Function code is missing"));
    }
    let code = argv.get(position);
    with_scripting(ctx, |scripting, ctx| {
        sync_functions(scripting, ctx);
        let meta = scripting::library::parse_metadata(code).map_err(CmdError::err)?;
        if !scripting::library::valid_name(meta.name.as_bytes()) {
            return Err(CmdError::err("Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"));
        }
        if !meta.engine.eq_ignore_ascii_case("lua") {
            return Err(CmdError::err(format!("Engine '{}' not found", meta.engine)));
        }
        let exists = scripting.functions.libraries().contains_key(&meta.name);
        if exists && !replace {
            return Err(CmdError::err(format!(
                "Library '{}' already exists",
                meta.name
            )));
        }
        let old = scripting.functions.unlink(&meta.name);
        let deny_script_disabled = scripting.disable_deny_script;
        let compiled = match scripting.functions.compile(
            code,
            &mut Host {
                ctx,
                deny_script_disabled,
            },
        ) {
            Ok((_, compiled)) => compiled,
            Err(error) => {
                if let Some(old) = old {
                    scripting.functions.link(meta.name.clone(), old);
                }
                return Err(CmdError::Other(error));
            }
        };
        if let Some(clash) = compiled
            .functions
            .keys()
            .find(|f| scripting.functions.has_function(f))
        {
            let error = CmdError::err(format!("Function {clash} already exists"));
            if let Some(old) = old {
                scripting.functions.link(meta.name.clone(), old);
            }
            return Err(error);
        }
        scripting.functions.link(meta.name.clone(), compiled);
        let mut libraries = ctx.state.keyspace.functions.to_map();
        libraries.insert(meta.name.clone(), code.to_vec());
        commit_libraries(scripting, ctx, libraries);
        ctx.out.bulk(meta.name.as_bytes());
        Ok(())
    })
}

/// FUNCTION DELETE library: removes the library and its functions.
///
/// # Propagation
/// Verbatim.
fn function_delete(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let name = String::from_utf8_lossy(argv.get(2)).into_owned();
    with_scripting(ctx, |scripting, ctx| {
        sync_functions(scripting, ctx);
        if scripting.functions.unlink(&name).is_none() {
            return Err(CmdError::err("Library not found"));
        }
        let mut libraries = ctx.state.keyspace.functions.to_map();
        libraries.remove(&name);
        commit_libraries(scripting, ctx, libraries);
        ctx.out.ok();
        Ok(())
    })
}

fn subcommand_syntax_error(argv: Argv<'_>) -> CmdError {
    CmdError::err(format!(
        "unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
        String::from_utf8_lossy(&argv.get(1)[..argv.get(1).len().min(128)]),
        String::from_utf8_lossy(argv.get(0)).to_ascii_uppercase()
    ))
}

/// FUNCTION FLUSH [ASYNC|SYNC]: removes every library.
///
/// # Propagation
/// Verbatim.
fn function_flush(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    if argv.len() > 3 {
        return Err(subcommand_syntax_error(argv));
    }
    let mode_ok = argv.len() == 2
        || argv.get(2).eq_ignore_ascii_case(b"sync")
        || argv.get(2).eq_ignore_ascii_case(b"async");
    if !mode_ok {
        return Err(CmdError::err(
            "FUNCTION FLUSH only supports SYNC|ASYNC option",
        ));
    }
    with_scripting(ctx, |scripting, ctx| {
        scripting.functions.clear();
        commit_libraries(scripting, ctx, Default::default());
    });
    ctx.out.ok();
    Ok(())
}

/// FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE]: each library (in name
/// order) with its engine, functions (name, description, flags) and, with
/// WITHCODE, its code.
///
/// # Propagation
/// None.
fn function_list(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let mut with_code = false;
    let mut pattern: Option<&[u8]> = None;
    let mut i = 2;
    while i < argv.len() {
        let arg = argv.get(i);
        if !with_code && arg.eq_ignore_ascii_case(b"withcode") {
            with_code = true;
        } else if pattern.is_none() && arg.eq_ignore_ascii_case(b"libraryname") {
            if i >= argv.len() - 1 {
                return Err(CmdError::err("library name argument was not given"));
            }
            i += 1;
            pattern = Some(argv.get(i));
        } else {
            return Err(CmdError::err(format!(
                "Unknown argument {}",
                String::from_utf8_lossy(arg)
            )));
        }
        i += 1;
    }
    with_scripting(ctx, |scripting, ctx| {
        sync_functions(scripting, ctx);
        let libraries: Vec<_> = scripting
            .functions
            .libraries()
            .iter()
            .filter(|(name, _)| {
                pattern.is_none_or(|p| super::glob::glob_match(p, name.as_bytes(), true))
            })
            .collect();
        ctx.out.array(libraries.len());
        for (name, library) in libraries {
            ctx.out.map(if with_code { 4 } else { 3 });
            ctx.out.bulk(b"library_name");
            ctx.out.bulk(name.as_bytes());
            ctx.out.bulk(b"engine");
            ctx.out.bulk(b"LUA");
            ctx.out.bulk(b"functions");
            ctx.out.array(library.functions.len());
            for (function, info) in &library.functions {
                ctx.out.map(3);
                ctx.out.bulk(b"name");
                ctx.out.bulk(function.as_bytes());
                ctx.out.bulk(b"description");
                ctx.out
                    .bulk_opt(info.description.as_deref().map(str::as_bytes));
                ctx.out.bulk(b"flags");
                let names: Vec<&str> = sflags::NAMES
                    .iter()
                    .filter(|(flag, _)| info.flags & flag != 0)
                    .map(|(_, n)| *n)
                    .collect();
                ctx.out.set(names.len());
                for flag in names {
                    ctx.out.simple(flag);
                }
            }
            if with_code {
                ctx.out.bulk(b"library_code");
                ctx.out
                    .bulk(ctx.state.keyspace.functions.get(name).unwrap_or_default());
            }
        }
    });
    Ok(())
}

/// FUNCTION DUMP: the libraries as a payload FUNCTION RESTORE takes.
///
/// # Propagation
/// None.
fn function_dump(ctx: &mut Ctx<'_>, _argv: Argv<'_>) -> CmdResult {
    let payload = crate::rdb::function_dump_payload(&ctx.state.keyspace.functions);
    ctx.out.bulk(&payload);
    Ok(())
}

/// FUNCTION RESTORE payload [FLUSH|APPEND|REPLACE]: loads the libraries of
/// a FUNCTION DUMP payload; APPEND (the default) refuses a library that
/// exists, REPLACE replaces it, FLUSH drops every library first. All or
/// nothing.
///
/// # Propagation
/// Verbatim.
fn function_restore(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    if argv.len() > 4 {
        return Err(subcommand_syntax_error(argv));
    }
    #[derive(PartialEq)]
    enum Policy {
        Append,
        Replace,
        Flush,
    }
    let policy = if argv.len() == 4 {
        let p = argv.get(3);
        if p.eq_ignore_ascii_case(b"append") {
            Policy::Append
        } else if p.eq_ignore_ascii_case(b"replace") {
            Policy::Replace
        } else if p.eq_ignore_ascii_case(b"flush") {
            Policy::Flush
        } else {
            return Err(CmdError::err(
                "Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
            ));
        }
    } else {
        Policy::Append
    };
    let codes = crate::rdb::function_restore_payload(argv.get(2)).map_err(CmdError::err)?;
    with_scripting(ctx, |scripting, ctx| {
        sync_functions(scripting, ctx);
        // The restored libraries first, on their own (a name twice in the
        // payload is refused as on load).
        let mut restored = std::collections::BTreeMap::new();
        for code in &codes {
            let meta = scripting::library::parse_metadata(code).map_err(CmdError::err)?;
            if restored.insert(meta.name.clone(), code.clone()).is_some() {
                return Err(CmdError::err(format!(
                    "Library '{}' already exists",
                    meta.name
                )));
            }
        }
        let mut combined = if policy == Policy::Flush {
            std::collections::BTreeMap::new()
        } else {
            ctx.state.keyspace.functions.to_map()
        };
        for (name, code) in restored {
            if combined.contains_key(&name) && policy == Policy::Append {
                return Err(CmdError::err(format!("Library {name} already exists")));
            }
            combined.insert(name, code);
        }
        // Compile the whole result in a fresh engine: it replaces the
        // current one only when every library loads.
        let mut engine = scripting::functions::FunctionEngine::new(scripting.rand());
        for (_, code) in combined.iter() {
            let (name, compiled) = engine
                .compile(
                    code,
                    &mut Host {
                        ctx,
                        deny_script_disabled: false,
                    },
                )
                .map_err(CmdError::Other)?;
            if let Some(clash) = compiled.functions.keys().find(|f| engine.has_function(f)) {
                return Err(CmdError::err(format!("Function {clash} already exists")));
            }
            engine.link(name, compiled);
        }
        scripting.functions = engine;
        commit_libraries(scripting, ctx, combined);
        ctx.out.ok();
        Ok(())
    })
}

/// FUNCTION STATS: the running script (never one, see the module doc) and
/// the engines' library and function counts.
///
/// # Propagation
/// None.
fn function_stats(ctx: &mut Ctx<'_>, _argv: Argv<'_>) -> CmdResult {
    let running = ctx.state.running_script.clone();
    if running.as_ref().is_some_and(|script| script.eval_mode) {
        return Err(CmdError::Other(crate::server::busy::BUSY_EVAL.into()));
    }
    // While a function runs, the engine is in use: the counts are those
    // it started with (no library can change meanwhile).
    let (libraries, functions) = match &running {
        Some(script) => script.function_counts,
        None => with_scripting(ctx, |scripting, ctx| {
            sync_functions(scripting, ctx);
            function_counts(scripting)
        }),
    };
    ctx.out.map(2);
    ctx.out.bulk(b"running_script");
    match &running {
        None => ctx.out.null(),
        Some(script) => {
            ctx.out.map(3);
            ctx.out.bulk(b"name");
            ctx.out.bulk(script.name.as_bytes());
            ctx.out.bulk(b"command");
            ctx.out.array(script.command.len());
            for arg in &script.command {
                ctx.out.bulk(arg);
            }
            ctx.out.bulk(b"duration_ms");
            let duration = (ctx.state.clock)().saturating_sub(script.started);
            ctx.out.integer(duration.as_millis() as i64);
        }
    }
    ctx.out.bulk(b"engines");
    ctx.out.map(1);
    ctx.out.bulk(b"LUA");
    ctx.out.map(2);
    ctx.out.bulk(b"libraries_count");
    ctx.out.integer(libraries as i64);
    ctx.out.bulk(b"functions_count");
    ctx.out.integer(functions as i64);
    Ok(())
}

/// FUNCTION KILL: stops the running function (see
/// [`kill_running_script`]).
///
/// # Propagation
/// None.
fn function_kill(ctx: &mut Ctx<'_>, _argv: Argv<'_>) -> CmdResult {
    kill_running_script(ctx, false)
}

fn function_help(ctx: &mut Ctx<'_>, _argv: Argv<'_>) -> CmdResult {
    super::server_cmds::reply_help(
        ctx,
        "FUNCTION",
        &[
            "LOAD [REPLACE] <FUNCTION CODE>",
            "    Create a new library with the given library name and code.",
            "DELETE <LIBRARY NAME>",
            "    Delete the given library.",
            "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
            "    Return general information on all the libraries:",
            "    * Library name",
            "    * The engine used to run the Library",
            "    * Library description",
            "    * Functions list",
            "    * Library code (if WITHCODE is given)",
            "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
            "STATS",
            "    Return information about the current function running:",
            "    * Function name",
            "    * Command used to run the function",
            "    * Duration in MS that the function is running",
            "    If no function is running, return nil",
            "    In addition, returns a list of available engines.",
            "KILL",
            "    Kill the current running function.",
            "FLUSH [ASYNC|SYNC]",
            "    Delete all the libraries.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the libraries.",
            "    * SYNC: Synchronously flush the libraries.",
            "DUMP",
            "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
            "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
            "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
            "    control how to handle existing libraries (default APPEND):",
            "    * FLUSH: delete all existing libraries.",
            "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
            "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
            "      libraries with the new libraries (notice that even on this option there is a chance of failure",
            "      in case of functions name collision with another library).",
        ],
    );
    Ok(())
}
