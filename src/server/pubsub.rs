//! Pub/sub delivery: who listens to which channel, pattern and shard
//! channel, the messages a PUBLISH, SPUBLISH or keyspace notification
//! sends them, and the bounded output buffer each subscriber's messages
//! wait in until its connection writes them.
//!
//! Delivery never waits for a subscriber: a message is appended to the
//! subscriber's pending pushes (under the server lock, like every command)
//! and its connection task is woken to write them. A subscriber that does
//! not read lets its pushes pile up until they pass the `pubsub` class of
//! `client-output-buffer-limit`; it is then closed as Redis closes it, its
//! pending messages dropped. Order is deterministic: channel subscribers
//! in subscription order, then pattern subscribers by pattern in the order
//! the patterns were first subscribed (Redis walks its pattern hash table
//! there) and each pattern's subscribers in subscription order.

use std::collections::BTreeMap;

use indexmap::{IndexMap, IndexSet};

use super::{Client, ClientKind, ServerState};
use crate::command::glob::glob_match;
use crate::keyspace::{blob, Blob, FixedHash};
use crate::log::Level;
use crate::resp::Reply;

/// The three kinds of subscription a client holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionKind {
    /// SUBSCRIBE: an exact channel of the global namespace.
    Channel,
    /// PSUBSCRIBE: a glob pattern over the global namespace.
    Pattern,
    /// SSUBSCRIBE: a shard channel (its own namespace, no patterns).
    Shard,
}

impl SubscriptionKind {
    /// The first word of the confirmation of a subscription.
    fn subscribed_word(self) -> &'static [u8] {
        match self {
            SubscriptionKind::Channel => b"subscribe",
            SubscriptionKind::Pattern => b"psubscribe",
            SubscriptionKind::Shard => b"ssubscribe",
        }
    }

    /// The first word of the confirmation of an unsubscription.
    fn unsubscribed_word(self) -> &'static [u8] {
        match self {
            SubscriptionKind::Channel => b"unsubscribe",
            SubscriptionKind::Pattern => b"punsubscribe",
            SubscriptionKind::Shard => b"sunsubscribe",
        }
    }
}

/// What one client is subscribed to, each in subscription order.
#[derive(Debug, Default)]
pub struct Subscriptions {
    channels: IndexSet<Blob, FixedHash>,
    patterns: IndexSet<Blob, FixedHash>,
    shard_channels: IndexSet<Blob, FixedHash>,
}

impl Subscriptions {
    fn set(&self, kind: SubscriptionKind) -> &IndexSet<Blob, FixedHash> {
        match kind {
            SubscriptionKind::Channel => &self.channels,
            SubscriptionKind::Pattern => &self.patterns,
            SubscriptionKind::Shard => &self.shard_channels,
        }
    }

    fn set_mut(&mut self, kind: SubscriptionKind) -> &mut IndexSet<Blob, FixedHash> {
        match kind {
            SubscriptionKind::Channel => &mut self.channels,
            SubscriptionKind::Pattern => &mut self.patterns,
            SubscriptionKind::Shard => &mut self.shard_channels,
        }
    }

    /// Channels (CLIENT LIST `sub=`).
    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }

    /// Patterns (CLIENT LIST `psub=`).
    pub fn pattern_count(&self) -> usize {
        self.patterns.len()
    }

    /// Shard channels (CLIENT LIST `ssub=`).
    pub fn shard_count(&self) -> usize {
        self.shard_channels.len()
    }

    /// The count a (un)subscription confirmation reports: channels plus
    /// patterns, or shard channels for the shard kind (Redis's
    /// `clientSubscriptionsCount` and `clientShardSubscriptionsCount`).
    fn confirmation_count(&self, kind: SubscriptionKind) -> usize {
        match kind {
            SubscriptionKind::Shard => self.shard_channels.len(),
            _ => self.channels.len() + self.patterns.len(),
        }
    }

    /// True while subscribed to anything: the client is then in pub/sub
    /// mode (Redis's `CLIENT_PUBSUB`), with its restricted command set
    /// and the `pubsub` output buffer limits.
    pub fn active(&self) -> bool {
        !(self.channels.is_empty() && self.patterns.is_empty() && self.shard_channels.is_empty())
    }
}

/// The server's side of the subscriptions: the subscribers of each
/// channel, pattern and shard channel, in subscription order.
#[derive(Debug, Default)]
pub struct PubSub {
    channels: BTreeMap<Blob, IndexSet<u64, FixedHash>>,
    patterns: IndexMap<Blob, IndexSet<u64, FixedHash>, FixedHash>,
    shard_channels: BTreeMap<Blob, IndexSet<u64, FixedHash>>,
}

impl PubSub {
    /// Channels with at least one subscriber (INFO `pubsub_channels`).
    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }

    /// Patterns with at least one subscriber (INFO `pubsub_patterns`,
    /// PUBSUB NUMPAT).
    pub fn pattern_count(&self) -> usize {
        self.patterns.len()
    }

    /// Shard channels with at least one subscriber (INFO
    /// `pubsubshard_channels`).
    pub fn shard_channel_count(&self) -> usize {
        self.shard_channels.len()
    }

    /// The active channels (or shard channels) matching `pattern` (all
    /// without one), in byte order.
    pub fn active_channels(&self, shard: bool, pattern: Option<&[u8]>) -> Vec<&[u8]> {
        let map = if shard {
            &self.shard_channels
        } else {
            &self.channels
        };
        map.keys()
            .map(|channel| &channel[..])
            .filter(|channel| pattern.is_none_or(|p| glob_match(p, channel, false)))
            .collect()
    }

    /// Subscribers of `channel` (or of a shard channel), patterns not
    /// counted (PUBSUB NUMSUB, SHARDNUMSUB).
    pub fn subscriber_count(&self, shard: bool, channel: &[u8]) -> usize {
        let map = if shard {
            &self.shard_channels
        } else {
            &self.channels
        };
        map.get(channel).map_or(0, IndexSet::len)
    }

    fn add(&mut self, kind: SubscriptionKind, name: &[u8], id: u64) {
        let subscribers = match kind {
            SubscriptionKind::Channel => self.channels.entry(blob(name)).or_default(),
            SubscriptionKind::Shard => self.shard_channels.entry(blob(name)).or_default(),
            SubscriptionKind::Pattern => self.patterns.entry(blob(name)).or_default(),
        };
        subscribers.insert(id);
    }

    fn remove(&mut self, kind: SubscriptionKind, name: &[u8], id: u64) {
        let emptied = |subscribers: &mut IndexSet<u64, FixedHash>| {
            subscribers.shift_remove(&id);
            subscribers.is_empty()
        };
        match kind {
            SubscriptionKind::Channel => {
                if self.channels.get_mut(name).is_some_and(emptied) {
                    self.channels.remove(name);
                }
            }
            SubscriptionKind::Shard => {
                if self.shard_channels.get_mut(name).is_some_and(emptied) {
                    self.shard_channels.remove(name);
                }
            }
            SubscriptionKind::Pattern => {
                if self.patterns.get_mut(name).is_some_and(emptied) {
                    // Keeps the other patterns in their order.
                    self.patterns.shift_remove(name);
                }
            }
        }
    }

    /// Who receives a message on `channel`, in delivery order: each
    /// channel subscriber, then each (pattern, subscriber) whose pattern
    /// matches. Shard channels have no patterns.
    fn receivers(&self, shard: bool, channel: &[u8]) -> (Vec<u64>, Vec<(Blob, u64)>) {
        let direct = if shard {
            self.shard_channels.get(channel)
        } else {
            self.channels.get(channel)
        };
        let direct = direct.map_or_else(Vec::new, |ids| ids.iter().copied().collect());
        if shard {
            return (direct, Vec::new());
        }
        let mut by_pattern = Vec::new();
        for (pattern, ids) in &self.patterns {
            if glob_match(pattern, channel, false) {
                by_pattern.extend(ids.iter().map(|&id| (pattern.clone(), id)));
            }
        }
        (direct, by_pattern)
    }
}

/// Starts a push of `len` elements: `>` in RESP3, a plain array in RESP2.
fn push_header(out: &mut Reply, len: usize) {
    out.push(len);
}

/// Appends a `message` push (`message`/`smessage`, channel, payload).
fn encode_message(out: &mut Reply, shard: bool, channel: &[u8], message: &[u8]) {
    push_header(out, 3);
    out.bulk(if shard { b"smessage" } else { b"message" });
    out.bulk(channel);
    out.bulk(message);
}

/// Appends a `pmessage` push (pattern, channel, payload).
fn encode_pattern_message(out: &mut Reply, pattern: &[u8], channel: &[u8], message: &[u8]) {
    push_header(out, 4);
    out.bulk(b"pmessage");
    out.bulk(pattern);
    out.bulk(channel);
    out.bulk(message);
}

/// Subscribes `client` to `name` and writes the confirmation to `out`
/// (also when it was subscribed already, as Redis does).
pub fn subscribe(
    pubsub: &mut PubSub,
    client: &mut Client,
    out: &mut Reply,
    kind: SubscriptionKind,
    name: &[u8],
) {
    if client.subscriptions.set_mut(kind).insert(blob(name)) {
        pubsub.add(kind, name, client.id);
    }
    let mut confirmation = Reply::with_protocol(client.is_resp3());
    let out = push_target(client, out, &mut confirmation);
    push_header(out, 3);
    out.bulk(kind.subscribed_word());
    out.bulk(name);
    out.integer(client.subscriptions.confirmation_count(kind) as i64);
    client.pushes.raw(confirmation.as_bytes());
}

/// Where a push to the running client goes: in line with its replies, or,
/// while those are dropped (CLIENT REPLY OFF), to `held`, which the caller
/// appends to its pending pushes.
fn push_target<'a>(client: &Client, out: &'a mut Reply, held: &'a mut Reply) -> &'a mut Reply {
    if client.replies_suppressed() {
        held
    } else {
        out
    }
}

/// Unsubscribes `client` from `name`, confirming in `out` when given.
pub fn unsubscribe(
    pubsub: &mut PubSub,
    client: &mut Client,
    out: Option<&mut Reply>,
    kind: SubscriptionKind,
    name: &[u8],
) {
    if client.subscriptions.set_mut(kind).shift_remove(name) {
        pubsub.remove(kind, name, client.id);
    }
    if let Some(out) = out {
        confirm_unsubscribed(out, client, kind, Some(name));
    }
}

fn confirm_unsubscribed(
    out: &mut Reply,
    client: &mut Client,
    kind: SubscriptionKind,
    name: Option<&[u8]>,
) {
    let mut confirmation = Reply::with_protocol(client.is_resp3());
    let out = push_target(client, out, &mut confirmation);
    push_header(out, 3);
    out.bulk(kind.unsubscribed_word());
    out.bulk_opt(name);
    out.integer(client.subscriptions.confirmation_count(kind) as i64);
    client.pushes.raw(confirmation.as_bytes());
}

/// Unsubscribes `client` from every subscription of `kind`, in the order
/// it subscribed, confirming each in `out` when given, or confirming with
/// a nil name when there was none (UNSUBSCRIBE without arguments).
pub fn unsubscribe_all(
    pubsub: &mut PubSub,
    client: &mut Client,
    mut out: Option<&mut Reply>,
    kind: SubscriptionKind,
) {
    let names: Vec<Blob> = client.subscriptions.set(kind).iter().cloned().collect();
    if names.is_empty() {
        if let Some(out) = out {
            confirm_unsubscribed(out, client, kind, None);
        }
        return;
    }
    for name in names {
        unsubscribe(pubsub, client, out.as_deref_mut(), kind, &name);
    }
}

/// Drops every subscription of a client that is going away.
pub fn forget_client(pubsub: &mut PubSub, client: &mut Client) {
    for kind in [
        SubscriptionKind::Channel,
        SubscriptionKind::Pattern,
        SubscriptionKind::Shard,
    ] {
        unsubscribe_all(pubsub, client, None, kind);
    }
}

/// The client running the command that publishes, and its reply buffer:
/// it is not in [`ServerState::clients`] while it runs, and what it
/// publishes to itself goes in line with its replies, where Redis adds it
/// (inside an EXEC's reply, before the PUBLISH's own count).
pub struct Publisher<'a> {
    /// The running client.
    pub client: &'a mut Client,
    /// Its replies so far.
    pub out: &'a mut Reply,
}

impl ServerState {
    /// Sends `message` to the subscribers of `channel` (a shard channel
    /// when `shard`) and returns how many received it (Redis counts a
    /// client once per matching subscription). `current` is the client
    /// running the command, if any.
    pub fn publish(
        &mut self,
        channel: &[u8],
        message: &[u8],
        shard: bool,
        mut current: Option<Publisher<'_>>,
    ) -> usize {
        let (direct, by_pattern) = self.pubsub.receivers(shard, channel);
        let receivers = direct.len() + by_pattern.len();
        for id in direct {
            self.deliver(id, current.as_mut(), |out| {
                encode_message(out, shard, channel, message)
            });
        }
        for (pattern, id) in by_pattern {
            self.deliver(id, current.as_mut(), |out| {
                encode_pattern_message(out, &pattern, channel, message)
            });
        }
        receivers
    }

    /// Appends one push to client `id`'s pending pushes, wakes its
    /// connection, and closes it once its output passes its limits.
    fn deliver(
        &mut self,
        id: u64,
        current: Option<&mut Publisher<'_>>,
        encode: impl FnOnce(&mut Reply),
    ) {
        let now = self.mono_now;
        if let Some(publisher) = current {
            if publisher.client.id == id {
                if publisher.client.replies_suppressed() {
                    encode(&mut publisher.client.pushes);
                } else {
                    encode(publisher.out);
                }
                return;
            }
        }
        let Some(client) = self.clients.get_mut(&id) else {
            return;
        };
        if client.kill.is_killed() {
            // Closing: Redis adds nothing to a client it closes ASAP.
            return;
        }
        encode(&mut client.pushes);
        client.push_notify.notify_one();
        let limits = if client.subscriptions.active() {
            self.config.pubsub_output_limit
        } else {
            self.config.normal_output_limit
        };
        let pending = (client.pushes.len() + client.reply_pending) as u64;
        if client.kind == ClientKind::Normal
            && super::output_limit_reached(limits, pending, &mut client.soft_limit_since, now)
        {
            client.pushes.clear();
            client.kill.kill();
            let line = crate::command::client_line(client, now, None);
            self.log(
                Level::Warning,
                &format!(
                    "Client {} scheduled to be closed ASAP for overcoming of output buffer limits.",
                    line.trim_end()
                ),
            );
        }
    }

    /// Publishes a keyspace event when `notify-keyspace-events` asks for
    /// its class: `__keyspace@<db>__:<key>` carries the event name,
    /// `__keyevent@<db>__:<event>` the key (Redis's `notifyKeyspaceEvent`).
    pub fn notify_keyspace_event(
        &mut self,
        class: u32,
        event: &str,
        key: &[u8],
        db: usize,
        mut current: Option<Publisher<'_>>,
    ) {
        let flags = self.config.notify_keyspace_events;
        if flags & class == 0 {
            return;
        }
        if flags & notify::KEYSPACE != 0 {
            let mut channel = format!("__keyspace@{db}__:").into_bytes();
            channel.extend_from_slice(key);
            let again = current.as_mut().map(|p| Publisher {
                client: &mut *p.client,
                out: &mut *p.out,
            });
            self.publish(&channel, event.as_bytes(), false, again);
        }
        if flags & notify::KEYEVENT != 0 {
            let channel = format!("__keyevent@{db}__:{event}");
            self.publish(channel.as_bytes(), key, false, current);
        }
    }
}

/// Keyspace event classes, as bits of `notify-keyspace-events` (Redis's
/// `NOTIFY_*` values).
pub mod notify {
    /// `K`: publish on `__keyspace@<db>__:<key>`.
    pub const KEYSPACE: u32 = 1 << 0;
    /// `E`: publish on `__keyevent@<db>__:<event>`.
    pub const KEYEVENT: u32 = 1 << 1;
    /// `g`: generic commands (DEL, EXPIRE, RENAME, ...).
    pub const GENERIC: u32 = 1 << 2;
    /// `$`: string commands.
    pub const STRING: u32 = 1 << 3;
    /// `l`: list commands.
    pub const LIST: u32 = 1 << 4;
    /// `s`: set commands.
    pub const SET: u32 = 1 << 5;
    /// `h`: hash commands.
    pub const HASH: u32 = 1 << 6;
    /// `z`: sorted set commands.
    pub const ZSET: u32 = 1 << 7;
    /// `x`: a key deleted because it expired.
    pub const EXPIRED: u32 = 1 << 8;
    /// `e`: a key evicted for maxmemory.
    pub const EVICTED: u32 = 1 << 9;
    /// `t`: stream commands.
    pub const STREAM: u32 = 1 << 10;
    /// `m`: a key missed by a lookup (not part of `A`).
    pub const KEY_MISS: u32 = 1 << 11;
    /// `d`: module events.
    pub const MODULE: u32 = 1 << 13;
    /// `n`: a new key (not part of `A`).
    pub const NEW: u32 = 1 << 14;
    /// `A`: alias for `g$lshzxetd`.
    pub const ALL: u32 =
        GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

    /// Parses a `notify-keyspace-events` value, or `None` on a character
    /// Redis does not know.
    pub fn parse(classes: &[u8]) -> Option<u32> {
        let mut flags = 0;
        for &c in classes {
            flags |= match c {
                b'A' => ALL,
                b'g' => GENERIC,
                b'$' => STRING,
                b'l' => LIST,
                b's' => SET,
                b'h' => HASH,
                b'z' => ZSET,
                b'x' => EXPIRED,
                b'e' => EVICTED,
                b'K' => KEYSPACE,
                b'E' => KEYEVENT,
                b't' => STREAM,
                b'm' => KEY_MISS,
                b'd' => MODULE,
                b'n' => NEW,
                _ => return None,
            };
        }
        Some(flags)
    }

    /// The canonical text of `flags`, as CONFIG GET shows it: `A` when
    /// every class of `A` is set, the classes otherwise, then `K`, `E`
    /// and `m`.
    pub fn render(flags: u32) -> String {
        let mut out = String::new();
        if flags & ALL == ALL {
            out.push('A');
        } else {
            for (bit, c) in [
                (GENERIC, 'g'),
                (STRING, '$'),
                (LIST, 'l'),
                (SET, 's'),
                (HASH, 'h'),
                (ZSET, 'z'),
                (EXPIRED, 'x'),
                (EVICTED, 'e'),
                (STREAM, 't'),
                (MODULE, 'd'),
                (NEW, 'n'),
            ] {
                if flags & bit != 0 {
                    out.push(c);
                }
            }
        }
        for (bit, c) in [(KEYSPACE, 'K'), (KEYEVENT, 'E'), (KEY_MISS, 'm')] {
            if flags & bit != 0 {
                out.push(c);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::notify;

    #[test]
    fn notify_flags_render_as_redis_shows_them() {
        let cases: [(&[u8], &str); 6] = [
            (b"", ""),
            (b"KEA", "AKE"),
            (b"Ex", "xE"),
            (b"g$lshzxetdK", "AK"),
            (b"nKm", "nKm"),
            (b"AnE", "AE"),
        ];
        for (input, shown) in cases {
            assert_eq!(notify::render(notify::parse(input).unwrap()), shown);
        }
    }

    #[test]
    fn unknown_notify_class_is_refused() {
        assert_eq!(notify::parse(b"KEQ"), None);
        assert_eq!(notify::parse(b" "), None);
    }
}
