//! CLUSTER on a node without cluster support, which every replsim node is
//! (as a redis-server with `cluster-enabled no`): every subcommand Redis
//! 7.0 has, with its arity and flags (so COMMAND INFO, scripts and MULTI
//! treat it as Redis does), answering Redis's error.
//!
//! # Propagation
//! None.

use super::flags::*;
use super::{container, sub, CmdError, CmdResult, CommandSpec, Ctx};
use crate::resp::Argv;

pub(super) static COMMANDS: &[CommandSpec] = &[container("cluster", -2, 0, SUBCOMMANDS)];

/// Redis 7.0's CLUSTER subcommands, in name order.
static SUBCOMMANDS: &[CommandSpec] = &[
    sub(
        "cluster",
        "addslots",
        -3,
        ADMIN | STALE | NO_ASYNC_LOADING,
        disabled,
    ),
    sub(
        "cluster",
        "addslotsrange",
        -4,
        ADMIN | STALE | NO_ASYNC_LOADING,
        disabled,
    ),
    sub(
        "cluster",
        "bumpepoch",
        2,
        ADMIN | STALE | NO_ASYNC_LOADING,
        disabled,
    ),
    sub(
        "cluster",
        "count-failure-reports",
        3,
        ADMIN | STALE,
        disabled,
    ),
    sub("cluster", "countkeysinslot", 3, STALE, disabled),
    sub(
        "cluster",
        "delslots",
        -3,
        ADMIN | STALE | NO_ASYNC_LOADING,
        disabled,
    ),
    sub(
        "cluster",
        "delslotsrange",
        -4,
        ADMIN | STALE | NO_ASYNC_LOADING,
        disabled,
    ),
    sub(
        "cluster",
        "failover",
        -2,
        ADMIN | STALE | NO_ASYNC_LOADING,
        disabled,
    ),
    sub(
        "cluster",
        "flushslots",
        2,
        ADMIN | STALE | NO_ASYNC_LOADING,
        disabled,
    ),
    sub(
        "cluster",
        "forget",
        3,
        ADMIN | STALE | NO_ASYNC_LOADING,
        disabled,
    ),
    sub("cluster", "getkeysinslot", 4, STALE, disabled),
    sub("cluster", "help", 2, LOADING | STALE, disabled),
    sub("cluster", "info", 2, STALE, disabled),
    sub("cluster", "keyslot", 3, STALE, disabled),
    sub("cluster", "links", 2, STALE, disabled),
    sub(
        "cluster",
        "meet",
        -4,
        ADMIN | STALE | NO_ASYNC_LOADING,
        disabled,
    ),
    sub("cluster", "myid", 2, STALE, disabled),
    sub("cluster", "nodes", 2, STALE, disabled),
    sub("cluster", "replicas", 3, ADMIN | STALE, disabled),
    sub(
        "cluster",
        "replicate",
        3,
        ADMIN | STALE | NO_ASYNC_LOADING,
        disabled,
    ),
    sub("cluster", "reset", -2, ADMIN | STALE | NOSCRIPT, disabled),
    sub(
        "cluster",
        "saveconfig",
        2,
        ADMIN | STALE | NO_ASYNC_LOADING,
        disabled,
    ),
    sub(
        "cluster",
        "set-config-epoch",
        3,
        ADMIN | STALE | NO_ASYNC_LOADING,
        disabled,
    ),
    sub(
        "cluster",
        "setslot",
        -4,
        ADMIN | STALE | NO_ASYNC_LOADING,
        disabled,
    ),
    sub("cluster", "shards", 2, STALE, disabled),
    sub("cluster", "slaves", 3, ADMIN | STALE, disabled),
    sub("cluster", "slots", 2, STALE, disabled),
];

/// Every CLUSTER subcommand (HELP included, as in Redis): cluster support
/// is disabled.
fn disabled(_ctx: &mut Ctx<'_>, _argv: Argv<'_>) -> CmdResult {
    Err(CmdError::err("This instance has cluster support disabled"))
}
