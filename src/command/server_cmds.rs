//! Server commands: CONFIG (GET, SET, RESETSTAT, REWRITE, HELP), INFO,
//! DBSIZE, FLUSHDB, FLUSHALL, COMMAND (COUNT, INFO, DOCS, LIST, GETKEYS,
//! HELP), DEBUG (DIGEST, DIGEST-VALUE, SLEEP, POPULATE) and TIME.

use std::time::Duration;

use super::flags::*;
use super::{
    all_commands, container, int_arg, parse_float, spec, sub, CmdError, CmdResult, CommandSpec,
    Ctx, Flow, NO_KEYS,
};
use crate::digest::{dataset_digest, to_hex, value_digest};
use crate::keyspace::{blob, Value};
use crate::log::Level;
use crate::resp::{parse_i64, Argv};
use crate::server::{render_info, Stats};

pub(super) static COMMANDS: &[CommandSpec] = &[
    container("config", -2, 0, CONFIG_SUBCOMMANDS),
    spec("info", -1, LOADING | STALE, NO_KEYS, info),
    spec("dbsize", 1, READONLY | FAST, NO_KEYS, dbsize),
    spec("flushdb", -1, WRITE, NO_KEYS, flushdb),
    spec("flushall", -1, WRITE, NO_KEYS, flushall),
    spec("swapdb", 3, WRITE | FAST, NO_KEYS, swapdb),
    CommandSpec {
        subcommands: COMMAND_SUBCOMMANDS,
        ..spec("command", -1, LOADING | STALE, NO_KEYS, command)
    },
    spec(
        "debug",
        -2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        NO_KEYS,
        debug,
    ),
    spec("time", 1, LOADING | STALE | FAST, NO_KEYS, time),
];

static CONFIG_SUBCOMMANDS: &[CommandSpec] = &[
    sub(
        "config",
        "get",
        -3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        config_get,
    ),
    sub(
        "config",
        "set",
        -4,
        ADMIN | NOSCRIPT | LOADING | STALE,
        config_set,
    ),
    sub(
        "config",
        "resetstat",
        2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        config_resetstat,
    ),
    sub(
        "config",
        "rewrite",
        2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        config_rewrite,
    ),
    sub("config", "help", 2, LOADING | STALE, config_help),
];

static COMMAND_SUBCOMMANDS: &[CommandSpec] = &[
    sub("command", "count", 2, LOADING | STALE, command_count),
    sub("command", "info", -2, LOADING | STALE, command_info),
    sub("command", "docs", -2, LOADING | STALE, command_docs),
    sub("command", "list", -2, LOADING | STALE, command_list),
    sub("command", "getkeys", -3, LOADING | STALE, command_getkeys),
    sub("command", "help", 2, LOADING | STALE, command_help),
];

/// Replies with a HELP text the way Redis's `addReplyHelp` does.
pub(super) fn reply_help(ctx: &mut Ctx<'_>, command: &str, lines: &[&str]) {
    ctx.out.array(lines.len() + 3);
    ctx.out.simple(&format!(
        "{command} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    ));
    for line in lines {
        ctx.out.simple(line);
    }
    ctx.out.simple("HELP");
    ctx.out.simple("    Prints this help.");
}

/// CONFIG GET pattern [pattern ...]: name/value pairs of matching parameters.
fn config_get(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let patterns: Vec<&[u8]> = argv.iter().skip(2).collect();
    let pairs = ctx.state.config.get_matching(&patterns);
    ctx.out.map(pairs.len());
    for (name, value) in pairs {
        ctx.out.bulk(name.as_bytes());
        ctx.out.bulk(value.as_bytes());
    }
    Ok(())
}

/// CONFIG SET parameter value [parameter value ...]: all or nothing.
///
/// # Propagation
/// None (configuration is per node).
fn config_set(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    if argv.len() % 2 != 0 {
        return Err(CmdError::err(
            "wrong number of arguments for 'config|set' command",
        ));
    }
    let names: Vec<String> = (2..argv.len())
        .step_by(2)
        .map(|i| String::from_utf8_lossy(argv.get(i)).to_ascii_lowercase())
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    ctx.state
        .config
        .check_settable(&names, is_local(&ctx.client.addr))
        .map_err(|e| CmdError::err(e.to_string()))?;
    let mut updated = ctx.state.config.clone();
    for (i, name) in (2..argv.len()).step_by(2).zip(&names) {
        let value = String::from_utf8_lossy(argv.get(i + 1)).into_owned();
        updated
            .set(name, &value)
            .map_err(|e| CmdError::err(e.to_string()))?;
    }
    // Applied last, as nothing can fail after it: a port in use leaves
    // every parameter as it was.
    if let Err(error) = crate::server::listen::rebind(ctx.state, &updated.bind, updated.port) {
        let name = if updated.port != ctx.state.config.port {
            "port"
        } else {
            "bind"
        };
        return Err(CmdError::err(
            crate::server::ConfigError::Invalid {
                name: name.into(),
                reason: error.reason().into(),
            }
            .to_string(),
        ));
    }
    ctx.state.config = updated;
    // Later writes use the new thresholds; existing values keep their
    // encodings, as in Redis.
    ctx.state
        .keyspace
        .set_encoding_limits(ctx.state.config.encoding_limits());
    ctx.out.ok();
    Ok(())
}

/// CONFIG RESETSTAT: zeroes the INFO stats counters.
fn config_resetstat(ctx: &mut Ctx<'_>, _argv: Argv<'_>) -> CmdResult {
    let dirty = ctx.state.stats.dirty;
    ctx.state.stats = Stats {
        dirty,
        ..Stats::default()
    };
    ctx.out.ok();
    Ok(())
}

/// CONFIG REWRITE: rewrites the config file the server started from with
/// the values it runs with now (see [`crate::server::conf_rewrite`]);
/// refused without one, as in Redis.
///
/// # Propagation
/// None.
fn config_rewrite(ctx: &mut Ctx<'_>, _argv: Argv<'_>) -> CmdResult {
    let Some(path) = ctx.state.config.config_file.clone() else {
        return Err(CmdError::err("The server is running without a config file"));
    };
    match crate::server::conf_rewrite::rewrite_file(&ctx.state.config, &path, false) {
        Ok(()) => {
            ctx.state
                .log(Level::Warning, "CONFIG REWRITE executed with success.");
            ctx.out.ok();
            Ok(())
        }
        Err(error) => {
            let reason = error.to_string();
            let reason = reason.split(" (os error").next().unwrap_or_default();
            ctx.state
                .log(Level::Warning, &format!("CONFIG REWRITE failed: {reason}"));
            Err(CmdError::err(format!("Rewriting config file: {reason}")))
        }
    }
}

fn config_help(ctx: &mut Ctx<'_>, _argv: Argv<'_>) -> CmdResult {
    reply_help(
        ctx,
        "CONFIG",
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
        ],
    );
    Ok(())
}

/// INFO [section ...]: the node's report, as a bulk string (a verbatim
/// string in RESP3).
fn info(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let sections: Vec<String> = argv
        .iter()
        .skip(1)
        .map(|s| String::from_utf8_lossy(s).to_ascii_lowercase())
        .collect();
    // The calling client is out of the registry while it runs.
    let connected = ctx.state.clients.len() + 1;
    let text = render_info(ctx.state, &sections, ctx.now_ms, connected);
    ctx.out.verbatim("txt", text.as_bytes());
    Ok(())
}

/// DBSIZE: keys in the selected db (logically expired ones included).
fn dbsize(ctx: &mut Ctx<'_>, _argv: Argv<'_>) -> CmdResult {
    let len = ctx.db().len();
    ctx.out.integer(len as i64);
    Ok(())
}

fn flush_mode(argv: Argv<'_>) -> CmdResult {
    match argv.len() {
        1 => Ok(()),
        2 if argv.get(1).eq_ignore_ascii_case(b"ASYNC")
            || argv.get(1).eq_ignore_ascii_case(b"SYNC") =>
        {
            Ok(())
        }
        _ => Err(CmdError::Syntax),
    }
}

/// FLUSHDB [ASYNC|SYNC]: empties the selected db (ASYNC frees at once too).
///
/// # Propagation
/// Always verbatim, even when the db was already empty (as Redis forces).
fn flushdb(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    flush_mode(argv)?;
    let removed = ctx.db().len() as u64;
    let db = ctx.client.db;
    ctx.state
        .watches
        .touch_flushed(&ctx.state.keyspace, Some(db));
    super::blocking::signal_streams_going(ctx.state, &[(db, None)]);
    ctx.db().clear();
    ctx.changed(removed.max(1));
    ctx.out.ok();
    Ok(())
}

/// FLUSHALL [ASYNC|SYNC]: empties every db.
///
/// # Propagation
/// Always verbatim.
fn flushall(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    flush_mode(argv)?;
    let removed = ctx.state.keyspace.key_count() as u64;
    ctx.state.watches.touch_flushed(&ctx.state.keyspace, None);
    let all: Vec<(usize, Option<usize>)> = (0..crate::keyspace::DB_COUNT)
        .map(|db| (db, None))
        .collect();
    super::blocking::signal_streams_going(ctx.state, &all);
    ctx.state.keyspace.clear();
    ctx.changed(removed.max(1));
    ctx.out.ok();
    Ok(())
}

/// SWAPDB index1 index2: exchanges two dbs' contents; clients that
/// selected either now see the other's data. WATCHed keys of both are
/// touched by Redis's rules.
///
/// # Propagation
/// Always verbatim.
fn swapdb(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let index = |arg: &[u8], which: &str| {
        parse_i64(arg)
            .filter(|n| i32::try_from(*n).is_ok())
            .ok_or_else(|| CmdError::err(format!("invalid {which} DB index")))
    };
    let a = index(argv.get(1), "first")?;
    let b = index(argv.get(2), "second")?;
    let in_range = |n: i64| {
        usize::try_from(n)
            .ok()
            .filter(|n| *n < crate::keyspace::DB_COUNT)
    };
    let (Some(a), Some(b)) = (in_range(a), in_range(b)) else {
        return Err(CmdError::err("DB index is out of range"));
    };
    let now = ctx.now_ms;
    ctx.state
        .watches
        .touch_swapped(&ctx.state.keyspace, a, b, now);
    super::blocking::signal_streams_going(ctx.state, &[(a, Some(b)), (b, Some(a))]);
    ctx.state.keyspace.swap_dbs(a, b);
    super::blocking::signal_swapped_dbs(ctx.state, a, b);
    ctx.changed(1);
    ctx.out.ok();
    Ok(())
}

/// DEBUG RELOAD [NOSAVE]: saves the RDB (unless NOSAVE), empties the
/// dataset and loads it back from the RDB bytes, as Redis reloads from its
/// file; a master drops the keys that expired meanwhile.
fn debug_reload(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let mut save = true;
    for option in argv.iter().skip(2) {
        match option.to_ascii_lowercase().as_slice() {
            b"nosave" => save = false,
            _ => {
                return Err(CmdError::err(
                    "DEBUG RELOAD only supports the NOSAVE option in replsim",
                ))
            }
        }
    }
    let bytes = if save {
        ctx.state
            .save_rdb(ctx.now_ms)
            .map_err(|e| CmdError::err(format!("Error trying to save the DB: {e}")))?;
        crate::rdb::encode(&ctx.state.keyspace, &crate::rdb::RdbInfo::default())
    } else {
        let name = ctx.state.config.dbfilename.clone();
        let file = ctx
            .state
            .storage
            .open(&name)
            .map_err(|e| CmdError::err(format!("Error trying to load the RDB dump: {e}")))?
            .ok_or_else(|| {
                CmdError::err("Error trying to load the RDB dump, check server logs.")
            })?;
        let mut bytes = Vec::new();
        let mut reader = file.reader;
        std::io::Read::read_to_end(&mut reader, &mut bytes)
            .map_err(|e| CmdError::err(format!("Error trying to load the RDB dump: {e}")))?;
        bytes
    };
    let loaded = crate::rdb::decode(&bytes).map_err(|e| {
        CmdError::err(format!(
            "Error trying to load the RDB dump, check server logs. {e}"
        ))
    })?;
    let mut keyspace = loaded.keyspace;
    keyspace.settle_loaded_encodings(ctx.state.config.encoding_limits());
    if !ctx.state.is_replica() {
        for db in 0..crate::keyspace::DB_COUNT {
            for key in keyspace.db(db).expired_keys(ctx.now_ms, usize::MAX) {
                keyspace.db_mut(db).remove(&key);
            }
        }
    }
    ctx.state.watches.touch_flushed(&ctx.state.keyspace, None);
    let tracking = ctx.state.keyspace.tracked_fingerprint().is_some();
    ctx.state.keyspace = keyspace;
    if tracking {
        ctx.state.keyspace.start_tracking();
    }
    ctx.state
        .log(crate::log::Level::Notice, "DB reloaded by DEBUG RELOAD");
    ctx.out.ok();
    Ok(())
}

fn flag_names(flags: u32) -> Vec<&'static str> {
    [
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (NOSCRIPT, "noscript"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (NO_MULTI, "no_multi"),
        (MOVABLE_KEYS, "movablekeys"),
        (ALLOW_BUSY, "allow_busy"),
    ]
    .into_iter()
    .filter(|(bit, _)| flags & bit != 0)
    .map(|(_, name)| name)
    .collect()
}

fn acl_categories(spec: &CommandSpec) -> Vec<&'static str> {
    // In the order of Redis's ACL category table.
    let mut categories = Vec::new();
    if spec.flags & READONLY != 0 {
        categories.push("@read");
    }
    if spec.flags & WRITE != 0 {
        categories.push("@write");
    }
    if spec.flags & ADMIN != 0 {
        categories.push("@admin");
    }
    if spec.flags & FAST != 0 {
        categories.push("@fast");
    } else {
        categories.push("@slow");
    }
    if spec.flags & ADMIN != 0 {
        categories.push("@dangerous");
    }
    categories
}

/// One COMMAND INFO entry: name, arity, flags, first/last key, step, ACL
/// categories, tips, key specs (none given), subcommands.
fn reply_command_entry(ctx: &mut Ctx<'_>, spec: &CommandSpec) {
    ctx.out.array(10);
    ctx.out.bulk(spec.full_name().as_bytes());
    ctx.out.integer(spec.arity as i64);
    let flags = flag_names(spec.flags);
    ctx.out.set(flags.len());
    for flag in flags {
        ctx.out.simple(flag);
    }
    ctx.out.integer(spec.first_key as i64);
    ctx.out.integer(spec.last_key as i64);
    ctx.out.integer(spec.key_step as i64);
    let categories = acl_categories(spec);
    ctx.out.set(categories.len());
    for category in categories {
        ctx.out.simple(category);
    }
    // Tips and key specs (not modelled), then the subcommands: Redis sends
    // an empty set when there are none, an array otherwise.
    ctx.out.set(0);
    ctx.out.set(0);
    if spec.subcommands.is_empty() {
        ctx.out.set(0);
    } else {
        ctx.out.array(spec.subcommands.len());
    }
    for subcommand in spec.subcommands {
        reply_command_entry(ctx, subcommand);
    }
}

/// DEBUG PROTOCOL type: Redis's sample reply of each type, for clients to
/// test their RESP3 (and RESP2 fallback) parsing.
fn debug_protocol(out: &mut crate::resp::Reply, name: &[u8]) -> CmdResult {
    match name.to_ascii_lowercase().as_slice() {
        b"string" => out.bulk(b"Hello World"),
        b"integer" => out.integer(12345),
        // Redis's sample value, not an approximation of pi.
        #[allow(clippy::approx_constant)]
        b"double" => out.double(3.141),
        b"bignum" => out.big_number(b"1234567999999999999999999999999999999"),
        b"null" => out.null(),
        b"array" | b"set" => {
            if name.eq_ignore_ascii_case(b"set") {
                out.set(3);
            } else {
                out.array(3);
            }
            for j in 0..3 {
                out.integer(j);
            }
        }
        b"map" => {
            out.map(3);
            for j in 0..3 {
                out.integer(j);
                out.boolean(j == 1);
            }
        }
        b"attrib" => {
            // An attribute is not a reply of its own: a real reply follows.
            if out.is_resp3() {
                out.raw(b"|1\r\n");
                out.bulk(b"key-popularity");
                out.array(2);
                out.bulk(b"key:123");
                out.integer(90);
            }
            out.bulk(b"Some real reply following the attribute");
        }
        b"push" => {
            if !out.is_resp3() {
                return Err(CmdError::err("RESP2 is not supported by this command"));
            }
            out.push(2);
            out.bulk(b"server-cpu-usage");
            out.integer(42);
            out.bulk(b"Some real reply following the push reply");
        }
        b"true" => out.boolean(true),
        b"false" => out.boolean(false),
        b"verbatim" => out.verbatim("txt", b"This is a verbatim\nstring"),
        _ => {
            return Err(CmdError::err(
                "Wrong protocol type name. Please use one of the following: \
                 string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false",
            ))
        }
    }
    Ok(())
}

/// COMMAND: the whole command table.
fn command(ctx: &mut Ctx<'_>, _argv: Argv<'_>) -> CmdResult {
    let specs: Vec<&CommandSpec> = all_commands().collect();
    ctx.out.array(specs.len());
    for spec in specs {
        reply_command_entry(ctx, spec);
    }
    Ok(())
}

/// COMMAND COUNT: the number of commands.
fn command_count(ctx: &mut Ctx<'_>, _argv: Argv<'_>) -> CmdResult {
    ctx.out.integer(all_commands().count() as i64);
    Ok(())
}

/// COMMAND INFO [name ...]: entries for the named commands (nil if unknown).
fn command_info(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    if argv.len() == 2 {
        return command(ctx, argv);
    }
    ctx.out.array(argv.len() - 2);
    for name in argv.iter().skip(2) {
        match super::lookup_full_name(name) {
            Some(spec) => reply_command_entry(ctx, spec),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

/// COMMAND DOCS [name ...]: replsim ships no command documentation, so the
/// reply is an empty map (an empty array in RESP2), which clients such as
/// redis-cli accept.
fn command_docs(ctx: &mut Ctx<'_>, _argv: Argv<'_>) -> CmdResult {
    ctx.out.map(0);
    Ok(())
}

/// COMMAND LIST: every command name (filters are not supported).
fn command_list(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    if argv.len() > 2 {
        return Err(CmdError::Syntax);
    }
    let names: Vec<&str> = all_commands().map(|s| s.name).collect();
    ctx.out.array(names.len());
    for name in names {
        ctx.out.bulk(name.as_bytes());
    }
    Ok(())
}

/// COMMAND GETKEYS command arg ...: the key arguments of a command.
fn command_getkeys(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let inner = crate::resp::OwnedArgv::from_args(&argv.iter().skip(2).collect::<Vec<_>>());
    let inner = inner.argv();
    let spec = match super::lookup(inner.get(0)) {
        Some(spec) if spec.arity_ok(inner.len()) => spec,
        Some(_) => {
            return Err(CmdError::err(
                "Invalid number of arguments specified for command",
            ))
        }
        None => return Err(CmdError::err("Invalid command specified")),
    };
    if let Some(keys) = super::scripting::numkeys_positions(spec, inner) {
        let keys = keys.ok_or_else(|| CmdError::err("Invalid arguments specified for command"))?;
        if keys.is_empty() {
            return Err(CmdError::err("The command has no key arguments"));
        }
        ctx.out.array(keys.len());
        for index in keys {
            ctx.out.bulk(inner.get(index));
        }
        return Ok(());
    }
    if spec.first_key == 0 {
        return Err(CmdError::err("The command has no key arguments"));
    }
    let last = if spec.last_key < 0 {
        inner.len() as i32 + spec.last_key
    } else {
        spec.last_key
    };
    let movable_positions = match spec.name {
        "sort" => Some(super::sort::sort_key_positions(inner)),
        "georadius" => Some(super::geo::georadius_key_positions(inner, false)),
        "georadiusbymember" => Some(super::geo::georadius_key_positions(inner, true)),
        _ => None,
    };
    let keys: Vec<&[u8]> = if let Some(positions) = movable_positions {
        positions.into_iter().map(|i| inner.get(i)).collect()
    } else {
        (spec.first_key..=last)
            .step_by(spec.key_step.max(1) as usize)
            .map(|i| inner.get(i as usize))
            .collect()
    };
    ctx.out.array(keys.len());
    for key in keys {
        ctx.out.bulk(key);
    }
    Ok(())
}

fn command_help(ctx: &mut Ctx<'_>, _argv: Argv<'_>) -> CmdResult {
    reply_help(
        ctx,
        "COMMAND",
        &[
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
        ],
    );
    Ok(())
}

const DEBUG_NOT_ALLOWED: &str = "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", \
you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.";

fn debug_allowed(ctx: &Ctx<'_>) -> bool {
    match ctx.state.config.enable_debug_command.as_str() {
        "yes" => true,
        "local" => is_local(&ctx.client.addr),
        _ => ctx.client.is_master,
    }
}

/// Whether a peer address (`ip:port`) is Redis's "local connection" for
/// the `local` setting of `enable-*` options: Redis compares the peer's
/// text with exactly 127.0.0.1 and ::1, so 127.0.0.2 is not local.
fn is_local(addr: &str) -> bool {
    addr.rsplit_once(':')
        .is_some_and(|(ip, _)| ip == "127.0.0.1" || ip == "[::1]")
}

/// DEBUG OBJECT key: Redis's line about a value. The address is a stand-in
/// derived from the key; `serializedlength` is the length of replsim's own
/// RDB encoding of the value (the same as Redis's for uncompressed
/// strings); idle time is not tracked (0), and a list is described as the
/// single quicklist node it would fit in.
fn debug_object(ctx: &mut Ctx<'_>, key: &[u8]) -> CmdResult {
    // Redis reads the key's dict entry directly: a key that expired but
    // was not deleted yet is still described.
    let db = ctx.client.db;
    let Some(entry) = ctx.state.keyspace.db(db).get(key).cloned() else {
        return Err(CmdError::NoSuchKey);
    };
    let encoding = entry.encoding().name();
    let shared_integer = encoding == "int"
        && parse_i64(match &entry.value {
            Value::Str(s) => s,
            _ => &[][..],
        })
        .is_some_and(|n| (0..10_000).contains(&n));
    let refcount: i64 = if shared_integer { i32::MAX as i64 } else { 1 };
    let serialized = crate::rdb::dump_payload(&entry.value, entry.encoding()).len() - 11;
    let address = 0x7f00_0000_0000u64 | (crate::rdb::crc64(key) & 0xff_ffff_fff0);
    let lru = (ctx.now_ms / 1000) & ((1 << 24) - 1);
    let mut line = format!(
        "Value at:{address:#x} refcount:{refcount} encoding:{encoding} serializedlength:{serialized} lru:{lru} lru_seconds_idle:0"
    );
    if let Value::List(items) = &entry.value {
        let listpack_max = ctx.state.config.number("list-max-listpack-size");
        let bytes: usize = 7 + items.iter().map(|i| i.len() + 2).sum::<usize>();
        line.push_str(&format!(
            " ql_nodes:1 ql_avg_node:{:.2} ql_listpack_max:{listpack_max} ql_compressed:0 ql_uncompressed_size:{bytes}",
            items.len() as f64
        ));
    }
    ctx.out.simple(&line);
    Ok(())
}

/// DEBUG DIGEST | DIGEST-VALUE key ... | SLEEP seconds | POPULATE count
/// [prefix] [size]: Redis's debugging helpers, refused unless
/// `enable-debug-command` allows them.
///
/// - DIGEST: the dataset digest (Redis 7.0's algorithm; 40 zeros when empty).
/// - DIGEST-VALUE: one digest per key, of its value alone (zeros if missing).
/// - SLEEP: pauses the whole server, as Redis's blocked main thread does.
/// - PANIC: crashes the server on purpose, as Redis does.
/// - RELOAD [NOSAVE]: saves and reloads the dataset through the RDB.
/// - QUICKLIST-PACKED-THRESHOLD size: accepted, inert (no list nodes).
/// - SET-ACTIVE-EXPIRE 0|1: stops or restarts the cron's expiry of keys
///   nobody reads.
/// - POPULATE: creates `prefix:N` keys holding `value:N` (zero-padded or cut
///   to `size`), skipping existing keys; not propagated.
/// - PROTOCOL type: a sample reply of each RESP type, as Redis's.
fn debug(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    if !debug_allowed(ctx) {
        return Err(CmdError::Other(DEBUG_NOT_ALLOWED.into()));
    }
    let subcommand = argv.get(1).to_ascii_lowercase();
    match (subcommand.as_slice(), argv.len()) {
        (b"protocol", 3) => debug_protocol(ctx.out, argv.get(2))?,
        (b"digest", 2) => {
            let digest = to_hex(&dataset_digest(&ctx.state.keyspace));
            ctx.out.simple(&digest);
        }
        (b"digest-value", _) => {
            let db = ctx.client.db;
            ctx.out.array(argv.len() - 2);
            for key in argv.iter().skip(2) {
                let digest = ctx
                    .state
                    .keyspace
                    .db(db)
                    .get(key)
                    .map(value_digest)
                    .unwrap_or([0; 20]);
                ctx.out.simple(&to_hex(&digest));
            }
        }
        (b"sleep", 3) => {
            let seconds = parse_float(argv.get(2)).unwrap_or(0.0).max(0.0);
            let duration = Duration::from_secs_f64(seconds.min(1e9));
            ctx.flow = Flow::Sleep(duration);
            ctx.out.ok();
        }
        (b"object", 3) => debug_object(ctx, argv.get(2))?,
        (b"config-rewrite-force-all", 2) => {
            let Some(path) = ctx.state.config.config_file.clone() else {
                return Err(CmdError::err(
                    "CONFIG-REWRITE-FORCE-ALL failed: No such file or directory",
                ));
            };
            if let Err(error) =
                crate::server::conf_rewrite::rewrite_file(&ctx.state.config, &path, true)
            {
                let reason = error.to_string();
                let reason = reason.split(" (os error").next().unwrap_or_default();
                return Err(CmdError::err(format!(
                    "CONFIG-REWRITE-FORCE-ALL failed: {reason}"
                )));
            }
            ctx.out.ok();
        }
        (b"populate", 3..=5) => debug_populate(ctx, argv)?,
        (b"reload", _) => debug_reload(ctx, argv)?,
        (b"quicklist-packed-threshold", 3) => {
            // replsim's lists are not made of nodes: the threshold (checked
            // as Redis checks it) changes nothing.
            let bytes = crate::server::config::parse_memory(&String::from_utf8_lossy(argv.get(2)))
                .ok()
                .filter(|n| *n <= u64::from(u32::MAX));
            if bytes.is_none() {
                return Err(CmdError::err(
                    "argument must be a memory value bigger than 1 and smaller than 4gb",
                ));
            }
            ctx.out.ok();
        }
        (b"set-disable-deny-scripts", 3) => {
            ctx.state.scripting.disable_deny_script = int_arg(argv.get(2))? != 0;
            ctx.out.ok();
        }
        (b"set-active-expire", 3) => {
            ctx.state.active_expire_enabled = int_arg(argv.get(2))? != 0;
            ctx.out.ok();
        }
        // Redis crashes on purpose here; so does replsim (a crash verdict in
        // simulation), which is how the crash path is tested.
        (b"panic", 2) => panic!("DEBUG PANIC called at Unix time {}", ctx.now_ms / 1000),
        (b"help", 2) => reply_help(
            ctx,
            "DEBUG",
            &[
                "DIGEST",
                "    Output a hex signature representing the current DB content.",
                "DIGEST-VALUE <key> [<key> ...]",
                "    Output a hex signature of the values of all the specified keys.",
                "OBJECT <key>",
                "    Show low level info about `key` and associated value.",
                "PANIC",
                "    Crash the server simulating a panic.",
                "POPULATE <count> [<prefix>] [<size>]",
                "    Create <count> string keys named key:<num>.",
                "SET-ACTIVE-EXPIRE <0|1>",
                "    Setting it to 0 disables expiring keys in background when they are not",
                "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
                "    default.",
                "SLEEP <seconds>",
                "    Stop the server for <seconds>. Decimals allowed.",
            ],
        ),
        _ => {
            return Err(CmdError::err(format!(
                "unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
                String::from_utf8_lossy(argv.get(1))
            )))
        }
    }
    Ok(())
}

fn debug_populate(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let count = parse_i64(argv.get(2))
        .filter(|n| *n >= 0)
        .ok_or(CmdError::NotPositive)?;
    let prefix = if argv.len() >= 4 { argv.get(3) } else { b"key" };
    let size = if argv.len() == 5 {
        Some(
            parse_i64(argv.get(4))
                .filter(|n| *n >= 0)
                .ok_or(CmdError::NotPositive)? as usize,
        )
    } else {
        None
    };
    let mut key = Vec::with_capacity(prefix.len() + 21);
    for n in 0..count {
        key.clear();
        key.extend_from_slice(prefix);
        key.push(b':');
        key.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
        if ctx.db().get(&key).is_some() {
            continue;
        }
        let mut value = format!("value:{n}").into_bytes();
        if let Some(size) = size {
            value.resize(size, 0);
        }
        ctx.db().insert(&key, Value::Str(blob(&value)));
    }
    ctx.out.ok();
    Ok(())
}

/// TIME: unix seconds and microseconds, as two bulk strings.
fn time(ctx: &mut Ctx<'_>, _argv: Argv<'_>) -> CmdResult {
    let (seconds, micros) = (ctx.now_ms / 1000, (ctx.now_ms % 1000) * 1000);
    ctx.out.array(2);
    ctx.out.bulk(seconds.to_string().as_bytes());
    ctx.out.bulk(micros.to_string().as_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::is_local;

    /// redis-server 7.0.15 with `enable-debug-command local` and
    /// `enable-protected-configs local` refuses DEBUG and CONFIG SET
    /// dbfilename from 127.0.0.2: only these two texts are local.
    #[test]
    fn only_127_0_0_1_and_ipv6_loopback_are_local_connections() {
        assert!(is_local("127.0.0.1:50000"));
        assert!(is_local("[::1]:50000"));
        assert!(!is_local("127.0.0.2:50000"));
        assert!(!is_local("10.0.0.1:50000"));
        assert!(!is_local("[::ffff:127.0.0.1]:50000"));
        assert!(!is_local("garbage"));
    }
}
