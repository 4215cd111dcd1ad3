//! The `pubsub` workload family's clients: the payload a publisher's
//! PUBLISH or SPUBLISH carries (who sent it and its number), what each
//! publisher sent, and the subscriber clients a workload starts on its
//! node and on every replica serving its data, which record every message
//! they receive with the simulated time. [`super::delivery`] judges the
//! records once the run is over.
//!
//! A subscriber sends a PING every [`FENCE_EVERY`] on its connection: a
//! server writes a client's pushes and replies in order, so the PONG
//! proves that every message the node delivered to it before it ran the
//! PING has arrived. The send time of the last PING answered bounds what
//! completeness may claim of that connection.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::command::glob::glob_match;
use crate::resp::{encode_command, Frame, FrameError};

/// Channels the family publishes on: `chan:0` to `chan:3`, in both the
/// global namespace (PUBLISH) and the shard one (SPUBLISH).
pub const CHANNELS: u64 = 4;

/// The patterns a subscriber draws one of.
const PATTERNS: [&str; 3] = ["chan:*", "chan:[02]", "chan:[13]"];

/// How often a subscriber fences what it has received with a PING.
pub const FENCE_EVERY: Duration = Duration::from_millis(250);

/// How long a subscriber waits before it connects again.
const RECONNECT_AFTER: Duration = Duration::from_millis(100);

/// The channel of key number `n`.
pub fn channel(n: u64) -> String {
    format!("chan:{}", n % CHANNELS)
}

/// The payload of `publisher`'s message number `seq`: `publisher/seq/`
/// then `filler` (the workload's value, for its size).
pub fn payload(publisher: &str, seq: u64, filler: &str) -> String {
    format!("{publisher}/{seq}/{filler}")
}

/// The publisher and number a payload names, if it is one of
/// [`payload`]'s.
pub fn parse_payload(payload: &str) -> Option<(&str, u64)> {
    let mut parts = payload.splitn(3, '/');
    let publisher = parts.next()?;
    let seq = parts.next()?.parse().ok()?;
    parts.next()?;
    Some((publisher, seq))
}

/// A PUBLISH or SPUBLISH a publisher sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    /// The publisher (a workload client).
    pub publisher: String,
    /// Its number: a publisher numbers its messages 0, 1, 2, ... in the
    /// order it sends them, one at a time.
    pub seq: u64,
    /// The channel.
    pub channel: String,
    /// SPUBLISH rather than PUBLISH.
    pub shard: bool,
    /// The whole payload.
    pub payload: String,
    /// The node it was sent to.
    pub node: String,
    /// When it was sent.
    pub sent_at: Duration,
    /// When its reply arrived, if one did.
    pub replied_at: Option<Duration>,
    /// How many receivers the reply counted (`None` without an integer
    /// reply).
    pub receivers: Option<i64>,
}

/// One subscription of a subscriber connection.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Subscription {
    /// SUBSCRIBE to a channel (`message` pushes).
    Channel(String),
    /// PSUBSCRIBE to a pattern (`pmessage` pushes).
    Pattern(String),
    /// SSUBSCRIBE to a shard channel (`smessage` pushes).
    Shard(String),
}

impl Subscription {
    /// Whether a message published on `channel` (by SPUBLISH when
    /// `shard`) is delivered through this subscription.
    pub fn matches(&self, channel: &str, shard: bool) -> bool {
        match self {
            Subscription::Channel(name) => !shard && name == channel,
            Subscription::Pattern(pattern) => {
                !shard && glob_match(pattern.as_bytes(), channel.as_bytes(), false)
            }
            Subscription::Shard(name) => shard && name == channel,
        }
    }
}

impl std::fmt::Display for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Subscription::Channel(name) => write!(f, "channel {name}"),
            Subscription::Pattern(pattern) => write!(f, "pattern {pattern}"),
            Subscription::Shard(name) => write!(f, "shard channel {name}"),
        }
    }
}

/// A message a subscriber received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The subscription it came through (the pattern of a `pmessage`).
    pub via: Subscription,
    /// The channel it was published on.
    pub channel: String,
    /// Its payload.
    pub payload: String,
    /// When it arrived.
    pub at: Duration,
}

/// One connection of a subscriber client and what arrived on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriberConnection {
    /// The subscriber (`steps[2] subscriber on r1`).
    pub subscriber: String,
    /// The node it is connected to.
    pub node: String,
    /// Which connection of the subscriber this is (1 for its first).
    pub number: u32,
    /// What it subscribed to.
    pub subscriptions: Vec<Subscription>,
    /// When the last confirmation of its subscriptions arrived (every
    /// subscription was in force on the node by then).
    pub confirmed_at: Option<Duration>,
    /// When it sent the last PING whose PONG came back: everything the
    /// node delivered to it before then has arrived.
    pub fenced_at: Option<Duration>,
    /// When it broke, if it did.
    pub ended_at: Option<Duration>,
    /// Every message, in arrival order.
    pub messages: Vec<Received>,
}

impl SubscriberConnection {
    /// `steps[2] subscriber on r1, connection 1`.
    pub fn name(&self) -> String {
        format!("{}, connection {}", self.subscriber, self.number)
    }
}

/// Every subscriber connection of a run, in the order they connected.
pub type SubscriberLog = Arc<Mutex<Vec<SubscriberConnection>>>;

fn elapsed() -> Duration {
    madsim::time::TimeHandle::current().elapsed()
}

/// The subscriptions a subscriber draws: a non-empty subset of the
/// channels, one pattern, a non-empty subset of the shard channels.
fn draw_subscriptions(rng: &mut ChaCha8Rng) -> Vec<Subscription> {
    let subset = |rng: &mut ChaCha8Rng| -> Vec<String> {
        let mut names: Vec<String> = (0..CHANNELS)
            .filter(|_| rng.gen_bool(0.5))
            .map(channel)
            .collect();
        if names.is_empty() {
            names.push(channel(rng.gen_range(0..CHANNELS)));
        }
        names
    };
    let mut subscriptions: Vec<Subscription> =
        subset(rng).into_iter().map(Subscription::Channel).collect();
    let pattern = PATTERNS[rng.gen_range(0..PATTERNS.len())];
    subscriptions.push(Subscription::Pattern(pattern.to_string()));
    subscriptions.extend(subset(rng).into_iter().map(Subscription::Shard));
    subscriptions
}

/// A subscriber client of `host`: subscribes (drawing its subscriptions
/// from `seed`), records every message into `log`, fences them every
/// [`FENCE_EVERY`], and connects again (subscribing again) whenever its
/// connection breaks, until its task is aborted at the end of the run.
pub async fn run_subscriber(name: String, host: String, seed: u64, log: SubscriberLog) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let subscriptions = draw_subscriptions(&mut rng);
    let mut number = 0;
    loop {
        let connect = madsim::net::TcpStream::connect((host.as_str(), super::cluster::PORT));
        let Ok(mut stream) = connect.await else {
            madsim::time::sleep(RECONNECT_AFTER).await;
            continue;
        };
        number += 1;
        let index = {
            let mut log = log.lock().unwrap_or_else(|p| p.into_inner());
            log.push(SubscriberConnection {
                subscriber: name.clone(),
                node: host.clone(),
                number,
                subscriptions: subscriptions.clone(),
                confirmed_at: None,
                fenced_at: None,
                ended_at: None,
                messages: Vec::new(),
            });
            log.len() - 1
        };
        let record = Record {
            log: log.clone(),
            index,
        };
        subscribed_session(&mut stream, &subscriptions, &record).await;
        record.update(|c| c.ended_at = Some(elapsed()));
        madsim::time::sleep(RECONNECT_AFTER).await;
    }
}

/// Where one connection's records go.
struct Record {
    log: SubscriberLog,
    index: usize,
}

impl Record {
    fn update(&self, change: impl FnOnce(&mut SubscriberConnection)) {
        let mut log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        change(&mut log[self.index]);
    }
}

/// One connection's life: subscribe, then read and fence until it breaks.
async fn subscribed_session(
    stream: &mut madsim::net::TcpStream,
    subscriptions: &[Subscription],
    record: &Record,
) {
    let mut request = Vec::new();
    let mut by_kind: [(&str, Vec<String>); 3] = [
        ("SUBSCRIBE", Vec::new()),
        ("PSUBSCRIBE", Vec::new()),
        ("SSUBSCRIBE", Vec::new()),
    ];
    for subscription in subscriptions {
        let (slot, name) = match subscription {
            Subscription::Channel(name) => (0, name),
            Subscription::Pattern(pattern) => (1, pattern),
            Subscription::Shard(name) => (2, name),
        };
        by_kind[slot].1.push(name.clone());
    }
    for (command, names) in &by_kind {
        if !names.is_empty() {
            let mut args = vec![command.to_string()];
            args.extend(names.iter().cloned());
            encode_command(&mut request, &args);
        }
    }
    if stream.write_all(&request).await.is_err() || stream.flush().await.is_err() {
        return;
    }
    let mut confirmations = 0;
    let mut pings: VecDeque<Duration> = VecDeque::new();
    let mut next_ping = elapsed() + FENCE_EVERY;
    let mut buffer: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        loop {
            match Frame::parse(&buffer) {
                Ok((frame, used)) => {
                    buffer.drain(..used);
                    let push = Push::of(&frame);
                    let now = elapsed();
                    match push {
                        Some(Push::Message(received)) => {
                            record.update(|c| {
                                c.messages.push(Received {
                                    at: now,
                                    ..received
                                })
                            });
                        }
                        Some(Push::Confirmation) => {
                            confirmations += 1;
                            if confirmations == subscriptions.len() {
                                record.update(|c| c.confirmed_at = Some(now));
                            }
                        }
                        Some(Push::Pong) => {
                            let fence = pings.pop_front();
                            record.update(|c| c.fenced_at = fence.or(c.fenced_at));
                        }
                        // An error or something unexpected: start over on a
                        // new connection.
                        None => return,
                    }
                }
                Err(FrameError::Incomplete) => break,
                Err(FrameError::Invalid(_)) => return,
            }
        }
        let wait = next_ping.saturating_sub(elapsed());
        let ping = tokio::select! {
            biased;
            read = stream.read(&mut chunk) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    buffer.extend_from_slice(&chunk[..n]);
                    false
                }
            },
            _ = madsim::time::sleep(wait) => true,
        };
        if ping {
            let mut request = Vec::new();
            encode_command(&mut request, &["PING".to_string()]);
            pings.push_back(elapsed());
            next_ping = elapsed() + FENCE_EVERY;
            if stream.write_all(&request).await.is_err() || stream.flush().await.is_err() {
                return;
            }
        }
    }
}

/// What a subscriber makes of a frame.
enum Push {
    Message(Received),
    Confirmation,
    Pong,
}

impl Push {
    fn of(frame: &Frame) -> Option<Push> {
        let Frame::Array(Some(items)) = frame else {
            return None;
        };
        let text: Vec<String> = items
            .iter()
            .map(|item| match item {
                Frame::Bulk(Some(bytes)) => Some(String::from_utf8_lossy(bytes).into_owned()),
                Frame::Integer(n) => Some(n.to_string()),
                _ => None,
            })
            .collect::<Option<_>>()?;
        let received = |via: Subscription, channel: &str, payload: &str| {
            Some(Push::Message(Received {
                via,
                channel: channel.to_string(),
                payload: payload.to_string(),
                at: Duration::ZERO,
            }))
        };
        match text.iter().map(String::as_str).collect::<Vec<_>>()[..] {
            ["message", channel, payload] => {
                received(Subscription::Channel(channel.into()), channel, payload)
            }
            ["smessage", channel, payload] => {
                received(Subscription::Shard(channel.into()), channel, payload)
            }
            ["pmessage", pattern, channel, payload] => {
                received(Subscription::Pattern(pattern.into()), channel, payload)
            }
            ["subscribe" | "psubscribe" | "ssubscribe", _, _] => Some(Push::Confirmation),
            ["pong", _] => Some(Push::Pong),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_names_its_publisher_and_number() {
        let text = payload("s2c1", 17, "99-abc/def");
        assert_eq!(text, "s2c1/17/99-abc/def");
        assert_eq!(parse_payload(&text), Some(("s2c1", 17)));
        assert_eq!(parse_payload("s2c1/x/1"), None);
        assert_eq!(parse_payload("plain"), None);
    }

    #[test]
    fn a_subscription_matches_only_its_own_namespace() {
        let pattern = Subscription::Pattern("chan:[02]".into());
        assert!(pattern.matches("chan:2", false));
        assert!(!pattern.matches("chan:1", false));
        assert!(!pattern.matches("chan:2", true));
        assert!(Subscription::Shard("chan:1".into()).matches("chan:1", true));
        assert!(!Subscription::Shard("chan:1".into()).matches("chan:1", false));
        assert!(!Subscription::Channel("chan:1".into()).matches("chan:1", true));
    }

    #[test]
    fn pushes_are_told_apart() {
        let bulk = |s: &str| Frame::Bulk(Some(s.as_bytes().to_vec()));
        let message = Frame::Array(Some(vec![
            bulk("pmessage"),
            bulk("chan:*"),
            bulk("chan:1"),
            bulk("a/1/x"),
        ]));
        match Push::of(&message) {
            Some(Push::Message(received)) => {
                assert_eq!(received.via, Subscription::Pattern("chan:*".into()));
                assert_eq!(received.channel, "chan:1");
            }
            _ => panic!("not a message"),
        }
        let confirmation = Frame::Array(Some(vec![
            bulk("ssubscribe"),
            bulk("chan:1"),
            Frame::Integer(1),
        ]));
        assert!(matches!(Push::of(&confirmation), Some(Push::Confirmation)));
        let pong = Frame::Array(Some(vec![bulk("pong"), bulk("")]));
        assert!(matches!(Push::of(&pong), Some(Push::Pong)));
        assert!(Push::of(&Frame::Error("ERR x".into())).is_none());
    }
}
