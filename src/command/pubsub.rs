//! Pub/sub commands: SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE PUBLISH,
//! their shard forms SSUBSCRIBE SUNSUBSCRIBE SPUBLISH, and PUBSUB
//! (CHANNELS NUMSUB NUMPAT SHARDCHANNELS SHARDNUMSUB HELP).
//!
//! Subscriptions and delivery live in [`crate::server::pubsub`]. A RESP2
//! client subscribed to anything may only send the commands
//! [`allowed_while_subscribed`] names (checked before a command runs).
//! Without cluster mode, shard channels are a namespace of their own on
//! the one node.

use super::flags::*;
use super::{container, spec, sub, CmdError, CmdResult, CommandSpec, Ctx, NO_KEYS};
use crate::resp::Argv;
use crate::server::pubsub::{self, Publisher, SubscriptionKind};

pub(super) static COMMANDS: &[CommandSpec] = &[
    spec(
        "subscribe",
        -2,
        PUBSUB | NOSCRIPT | LOADING | STALE,
        NO_KEYS,
        subscribe,
    ),
    spec(
        "unsubscribe",
        -1,
        PUBSUB | NOSCRIPT | LOADING | STALE,
        NO_KEYS,
        unsubscribe,
    ),
    spec(
        "psubscribe",
        -2,
        PUBSUB | NOSCRIPT | LOADING | STALE,
        NO_KEYS,
        psubscribe,
    ),
    spec(
        "punsubscribe",
        -1,
        PUBSUB | NOSCRIPT | LOADING | STALE,
        NO_KEYS,
        punsubscribe,
    ),
    spec(
        "ssubscribe",
        -2,
        PUBSUB | NOSCRIPT | LOADING | STALE,
        (1, -1, 1),
        ssubscribe,
    ),
    spec(
        "sunsubscribe",
        -1,
        PUBSUB | NOSCRIPT | LOADING | STALE,
        (1, -1, 1),
        sunsubscribe,
    ),
    spec(
        "publish",
        3,
        PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE,
        NO_KEYS,
        publish,
    ),
    spec(
        "spublish",
        3,
        PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE,
        (1, 1, 1),
        spublish,
    ),
    container("pubsub", -2, 0, PUBSUB_SUBCOMMANDS),
];

static PUBSUB_SUBCOMMANDS: &[CommandSpec] = &[
    sub(
        "pubsub",
        "channels",
        -2,
        PUBSUB | LOADING | STALE,
        pubsub_channels,
    ),
    sub(
        "pubsub",
        "numsub",
        -2,
        PUBSUB | LOADING | STALE,
        pubsub_numsub,
    ),
    sub(
        "pubsub",
        "numpat",
        2,
        PUBSUB | LOADING | STALE,
        pubsub_numpat,
    ),
    sub(
        "pubsub",
        "shardchannels",
        -2,
        PUBSUB | LOADING | STALE,
        pubsub_shardchannels,
    ),
    sub(
        "pubsub",
        "shardnumsub",
        -2,
        PUBSUB | LOADING | STALE,
        pubsub_shardnumsub,
    ),
    sub("pubsub", "help", 2, LOADING | STALE, pubsub_help),
];

/// Whether a RESP2 client in pub/sub mode may send `name` (a top-level
/// command name, lower case): the (un)subscribe family, PING, QUIT and
/// RESET, as Redis 7.0's `processCommand` allows.
pub(super) fn allowed_while_subscribed(name: &str) -> bool {
    matches!(
        name,
        "ping"
            | "subscribe"
            | "ssubscribe"
            | "unsubscribe"
            | "sunsubscribe"
            | "psubscribe"
            | "punsubscribe"
            | "quit"
            | "reset"
    )
}

/// Redis's refusal of other commands from a RESP2 client in pub/sub mode.
pub(super) fn refused_while_subscribed(full_name: &str) -> String {
    format!(
        "ERR Can't execute '{full_name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
    )
}

fn subscribe_each(ctx: &mut Ctx<'_>, argv: Argv<'_>, kind: SubscriptionKind) {
    for name in argv.iter().skip(1) {
        pubsub::subscribe(&mut ctx.state.pubsub, ctx.client, ctx.out, kind, name);
    }
}

fn unsubscribe_each(ctx: &mut Ctx<'_>, argv: Argv<'_>, kind: SubscriptionKind) {
    if argv.len() == 1 {
        pubsub::unsubscribe_all(&mut ctx.state.pubsub, ctx.client, Some(ctx.out), kind);
        return;
    }
    for name in argv.iter().skip(1) {
        pubsub::unsubscribe(&mut ctx.state.pubsub, ctx.client, Some(ctx.out), kind, name);
    }
}

/// SUBSCRIBE channel [channel ...]: listens to the channels; one
/// `subscribe` confirmation per channel with the client's count of
/// channels and patterns. The client is then in pub/sub mode.
///
/// # Propagation
/// None.
fn subscribe(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    subscribe_each(ctx, argv, SubscriptionKind::Channel);
    Ok(())
}

/// UNSUBSCRIBE [channel ...]: stops listening to the channels (all of
/// them, in subscription order, without arguments); one `unsubscribe`
/// confirmation each, or one with a nil channel when there were none.
///
/// # Propagation
/// None.
fn unsubscribe(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    unsubscribe_each(ctx, argv, SubscriptionKind::Channel);
    Ok(())
}

/// PSUBSCRIBE pattern [pattern ...]: listens to every channel matching
/// the glob patterns (`pmessage` pushes).
///
/// # Propagation
/// None.
fn psubscribe(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    subscribe_each(ctx, argv, SubscriptionKind::Pattern);
    Ok(())
}

/// PUNSUBSCRIBE [pattern ...]: the pattern counterpart of UNSUBSCRIBE.
///
/// # Propagation
/// None.
fn punsubscribe(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    unsubscribe_each(ctx, argv, SubscriptionKind::Pattern);
    Ok(())
}

/// SSUBSCRIBE shardchannel [shardchannel ...]: listens to shard channels
/// (`smessage` pushes); confirmations count shard channels only. Refused
/// inside a transaction, as Redis refuses it to a client that may not
/// block.
///
/// # Propagation
/// None.
fn ssubscribe(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    if ctx.in_exec {
        return Err(CmdError::err(
            "SSUBSCRIBE isn't allowed for a DENY BLOCKING client",
        ));
    }
    subscribe_each(ctx, argv, SubscriptionKind::Shard);
    Ok(())
}

/// SUNSUBSCRIBE [shardchannel ...]: the shard counterpart of UNSUBSCRIBE.
///
/// # Propagation
/// None.
fn sunsubscribe(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    unsubscribe_each(ctx, argv, SubscriptionKind::Shard);
    Ok(())
}

/// PUBLISH channel message: delivers the message to the channel's
/// subscribers and to the subscribers of matching patterns; replies with
/// how many received it.
///
/// # Propagation
/// Always, verbatim, to replicas (Redis 7.0 without cluster forces it),
/// so that a replica's subscribers receive what the master's do; it does
/// not count as a change to the dataset.
fn publish(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    publish_to(ctx, argv, false)
}

/// SPUBLISH shardchannel message: PUBLISH for shard channels (no
/// patterns).
///
/// # Propagation
/// Always, verbatim, as PUBLISH.
fn spublish(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    publish_to(ctx, argv, true)
}

/// PUBLISH and SPUBLISH: deliver, propagate, reply with the receivers.
fn publish_to(ctx: &mut Ctx<'_>, argv: Argv<'_>, shard: bool) -> CmdResult {
    let from_master = ctx.client.is_master;
    let planted = ctx.state.planted;
    let mut deliveries = 1;
    let mut delivered_shard = shard;
    if from_master {
        ctx.state.replicated_publishes += 1;
        let third = ctx.state.replicated_publishes % 3 == 0;
        let skip_after_resync = ctx.state.publishes_to_skip > 0;
        if (planted.replica_drops_a_publish && third) || skip_after_resync {
            ctx.state.publishes_to_skip = ctx.state.publishes_to_skip.saturating_sub(1);
            ctx.out.integer(0);
            return Ok(());
        }
        if planted.replica_repeats_a_publish && third {
            deliveries = 2;
        }
        if planted.replica_applies_spublish_as_publish {
            delivered_shard = false;
        }
    }
    ctx.state
        .note_publish(argv.get(1), argv.get(2), shard, from_master);
    let mut receivers = 0;
    for _ in 0..deliveries {
        receivers = ctx.state.publish(
            argv.get(1),
            argv.get(2),
            delivered_shard,
            Some(Publisher {
                client: &mut *ctx.client,
                out: &mut *ctx.out,
            }),
        );
    }
    ctx.force_propagation();
    ctx.out.integer(receivers as i64);
    Ok(())
}

/// Redis's error for a PUBSUB subcommand given the wrong arguments.
fn pubsub_syntax_error(argv: Argv<'_>) -> CmdError {
    CmdError::err(format!(
        "unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
        String::from_utf8_lossy(&argv.get(1)[..argv.get(1).len().min(128)])
    ))
}

fn channel_list(ctx: &mut Ctx<'_>, argv: Argv<'_>, shard: bool) -> CmdResult {
    if argv.len() > 3 {
        return Err(pubsub_syntax_error(argv));
    }
    let pattern = (argv.len() == 3).then(|| argv.get(2));
    let channels = ctx.state.pubsub.active_channels(shard, pattern);
    ctx.out.array(channels.len());
    for channel in channels {
        ctx.out.bulk(channel);
    }
    Ok(())
}

fn subscriber_counts(ctx: &mut Ctx<'_>, argv: Argv<'_>, shard: bool) -> CmdResult {
    ctx.out.array((argv.len() - 2) * 2);
    for channel in argv.iter().skip(2) {
        let count = ctx.state.pubsub.subscriber_count(shard, channel);
        ctx.out.bulk(channel);
        ctx.out.integer(count as i64);
    }
    Ok(())
}

/// PUBSUB CHANNELS [pattern]: the channels with subscribers (matching the
/// pattern), in byte order here (Redis's order is its hash table's).
fn pubsub_channels(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    channel_list(ctx, argv, false)
}

/// PUBSUB NUMSUB [channel ...]: each channel and its subscriber count
/// (pattern subscribers not counted).
fn pubsub_numsub(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    subscriber_counts(ctx, argv, false)
}

/// PUBSUB NUMPAT: how many patterns have subscribers.
fn pubsub_numpat(ctx: &mut Ctx<'_>, _argv: Argv<'_>) -> CmdResult {
    ctx.out.integer(ctx.state.pubsub.pattern_count() as i64);
    Ok(())
}

/// PUBSUB SHARDCHANNELS [pattern]: CHANNELS for shard channels.
fn pubsub_shardchannels(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    channel_list(ctx, argv, true)
}

/// PUBSUB SHARDNUMSUB [shardchannel ...]: NUMSUB for shard channels.
fn pubsub_shardnumsub(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    subscriber_counts(ctx, argv, true)
}

/// PUBSUB HELP: the subcommands, in Redis's words.
fn pubsub_help(ctx: &mut Ctx<'_>, _argv: Argv<'_>) -> CmdResult {
    super::server_cmds::reply_help(
        ctx,
        "PUBSUB",
        &[
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
            "SHARDCHANNELS [<pattern>]",
            "    Return the currently active shard level channels matching a <pattern> (default: '*').",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Return the number of subscribers for the specified shard level channel(s)",
        ],
    );
    Ok(())
}
