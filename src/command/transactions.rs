//! Transactions: MULTI EXEC DISCARD WATCH UNWATCH.
//!
//! Inside MULTI every command but EXEC, DISCARD, MULTI and QUIT is checked
//! (existence, arity, auth) and queued; a failed check poisons the
//! transaction, so EXEC then replies `-EXECABORT` and runs nothing.

use super::flags::*;
use super::{call, resolve, spec, CmdError, CmdResult, CommandSpec, Ctx, NO_KEYS};
use crate::resp::Argv;

pub(super) static COMMANDS: &[CommandSpec] = &[
    spec(
        "multi",
        1,
        NOSCRIPT | LOADING | STALE | FAST | NO_QUEUE | ALLOW_BUSY,
        NO_KEYS,
        multi,
    ),
    spec(
        "exec",
        1,
        SKIP_SLOWLOG | NOSCRIPT | LOADING | STALE | NO_QUEUE,
        NO_KEYS,
        exec,
    ),
    spec(
        "discard",
        1,
        NOSCRIPT | LOADING | STALE | FAST | NO_QUEUE | ALLOW_BUSY,
        NO_KEYS,
        discard,
    ),
    spec(
        "watch",
        -2,
        NOSCRIPT | LOADING | STALE | FAST | NO_QUEUE | ALLOW_BUSY,
        (1, -1, 1),
        watch,
    ),
    spec(
        "unwatch",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        NO_KEYS,
        unwatch,
    ),
];

/// WATCH key [key ...]: the client's next EXEC fails (replies nil and runs
/// nothing) if any of these keys is modified before it, or expires (see
/// [`crate::server::watch`]). Not allowed inside MULTI.
///
/// # Propagation
/// None.
fn watch(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    if ctx.client.in_multi() {
        return Err(CmdError::err("WATCH inside MULTI is not allowed"));
    }
    let db = ctx.client.db;
    for key in argv.iter().skip(1) {
        let expired = ctx
            .state
            .keyspace
            .db(db)
            .get(key)
            .is_some_and(|e| e.is_expired(ctx.now_ms));
        ctx.state.watches.watch(ctx.client.id, db, key, expired);
    }
    ctx.out.ok();
    Ok(())
}

/// UNWATCH: forgets every watched key.
///
/// # Propagation
/// None.
fn unwatch(ctx: &mut Ctx<'_>, _argv: Argv<'_>) -> CmdResult {
    ctx.state.watches.unwatch_all(ctx.client.id);
    ctx.out.ok();
    Ok(())
}

/// MULTI: starts queueing.
///
/// # Propagation
/// None by itself; EXEC propagates the transaction's writes.
fn multi(ctx: &mut Ctx<'_>, _argv: Argv<'_>) -> CmdResult {
    if ctx.client.in_multi() {
        return Err(CmdError::err("MULTI calls can not be nested"));
    }
    ctx.client.start_multi();
    ctx.out.ok();
    Ok(())
}

/// EXEC: runs the queued commands in order, replying with an array of their
/// replies; a nil array, running nothing, when a WATCHed key changed.
///
/// # Propagation
/// The writes the commands propagate, wrapped in `MULTI` ... `EXEC` when
/// there are two or more (a single write goes bare), as Redis 7.0 does.
fn exec(ctx: &mut Ctx<'_>, _argv: Argv<'_>) -> CmdResult {
    let Some((queue, failed)) = ctx.client.take_multi() else {
        return Err(CmdError::err("EXEC without MULTI"));
    };
    let now = ctx.now_ms;
    let keyspace = &ctx.state.keyspace;
    // A replica's master link never fails on WATCH (Redis ignores
    // expiry for it too).
    let watch_failed = !ctx.client.is_master
        && ctx.state.watches.failed(ctx.client.id, |db, key| {
            keyspace.db(db).get(key).is_some_and(|e| e.is_expired(now))
        });
    ctx.state.watches.unwatch_all(ctx.client.id);
    if failed {
        return Err(CmdError::Other(
            "EXECABORT Transaction discarded because of previous errors.".into(),
        ));
    }
    if watch_failed {
        ctx.out.null_array();
        return Ok(());
    }
    ctx.out.array(queue.len());
    ctx.in_exec = true;
    for queued in &queue {
        let argv = queued.argv();
        match resolve(argv) {
            Ok(spec) => call(ctx, spec, argv),
            Err(message) => ctx.out.error(&message),
        }
    }
    ctx.in_exec = false;
    ctx.dirty = 0;
    ctx.no_propagation();
    Ok(())
}

/// DISCARD: drops the queue.
///
/// # Propagation
/// None.
fn discard(ctx: &mut Ctx<'_>, _argv: Argv<'_>) -> CmdResult {
    if ctx.client.take_multi().is_none() {
        return Err(CmdError::err("DISCARD without MULTI"));
    }
    ctx.state.watches.unwatch_all(ctx.client.id);
    ctx.out.ok();
    Ok(())
}
