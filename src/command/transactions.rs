//! Transactions: MULTI EXEC DISCARD.
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
        NOSCRIPT | LOADING | STALE | FAST | NO_QUEUE,
        NO_KEYS,
        multi,
    ),
    spec(
        "exec",
        1,
        NOSCRIPT | LOADING | STALE | NO_QUEUE,
        NO_KEYS,
        exec,
    ),
    spec(
        "discard",
        1,
        NOSCRIPT | LOADING | STALE | FAST | NO_QUEUE,
        NO_KEYS,
        discard,
    ),
];

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
/// replies.
///
/// # Propagation
/// The writes the commands propagate, wrapped in `MULTI` ... `EXEC` when
/// there are two or more (a single write goes bare), as Redis 7.0 does.
fn exec(ctx: &mut Ctx<'_>, _argv: Argv<'_>) -> CmdResult {
    let Some((queue, failed)) = ctx.client.take_multi() else {
        return Err(CmdError::err("EXEC without MULTI"));
    };
    if failed {
        return Err(CmdError::Other(
            "EXECABORT Transaction discarded because of previous errors.".into(),
        ));
    }
    ctx.out.array(queue.len());
    for queued in &queue {
        let argv = queued.argv();
        match resolve(argv) {
            Ok(spec) => call(ctx, spec, argv),
            Err(message) => ctx.out.error(&message),
        }
    }
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
    ctx.out.ok();
    Ok(())
}
