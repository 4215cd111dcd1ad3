//! The pub/sub rules: what the `pubsub` family's subscribers received,
//! judged after the run against what its publishers sent and what the
//! nodes reported running ([`super::history::PublishRun`]).
//!
//! Redis's pub/sub delivers at most once: a subscriber misses what is
//! published while it is not connected, while its node is not linked to
//! its master, and whatever a full resync skips (an RDB holds no
//! messages). So the rules claim only what Redis guarantees:
//!
//! - **phantom**: every message a subscriber received was published, by
//!   PUBLISH for a `message` or `pmessage` and SPUBLISH for an `smessage`,
//!   on the channel it arrived on, through a subscription of that
//!   connection that matches the channel, and before it arrived;
//! - **order**: on one connection and through one subscription, no
//!   message arrives twice (a publisher sends each once), and none after
//!   a later message of its publisher if its own reply came back (a
//!   publisher sends one at a time: an answered message ran before the
//!   next was sent; one whose reply never came, because the publisher
//!   gave up on a paused or unreachable node, may still run later);
//! - **completeness**, on a connection between the time its last
//!   subscription confirmation arrived and the send time of the last PING
//!   whose PONG came back (the pushes before a reply are written before
//!   it):
//!   - every PUBLISH or SPUBLISH the node itself ran in that window
//!     reached the connection through every subscription it matches;
//!   - and, where the node applied its stream one command at a time over
//!     the window's part after its last dataset load (no full sync, no
//!     restart: the node stood at (id1, o1) when that part began and at
//!     (id2, o2) before the fence, with id2's history containing (id1, o1)),
//!     every PUBLISH or SPUBLISH a master put in the stream of id2's
//!     history at an end offset in (o1, o2] reached it too. A partial
//!     resync keeps this window whole: the backlog resends the bytes, and
//!     the replica runs the PUBLISH when it applies them.
//!
//! Each rule reports once per node, with the count of offending messages
//! and the first one.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::history::PublishRun;
use super::pubsub::{parse_payload, Publication, SubscriberConnection, Subscription};

/// What the rules need of the run's replication history.
pub trait ReplicationFacts {
    /// Where `node` stood at `at` (its last report at or before then):
    /// (history id, offset); `None` while it was down.
    fn position_at(&self, node: &str, at: Duration) -> Option<(String, u64)>;
    /// Where `node` stood just before `at`.
    fn position_before(&self, node: &str, at: Duration) -> Option<(String, u64)>;
    /// Whether history `replid` contains the point (`of`, `offset`).
    fn contains(&self, replid: &str, of: &str, offset: u64) -> bool;
    /// When `node` loaded a whole dataset or went down, in time order.
    fn discontinuities(&self, node: &str) -> Vec<Duration>;
}

impl ReplicationFacts for super::history::Ledger {
    fn position_at(&self, node: &str, at: Duration) -> Option<(String, u64)> {
        let (id, offset, _) = self.timelines().position_at(node, at)?;
        Some((id.to_string(), offset))
    }

    fn position_before(&self, node: &str, at: Duration) -> Option<(String, u64)> {
        let (id, offset, _) = self.timelines().position_before(node, at)?;
        Some((id.to_string(), offset))
    }

    fn contains(&self, replid: &str, of: &str, offset: u64) -> bool {
        self.history_contains(replid, of, offset)
    }

    fn discontinuities(&self, node: &str) -> Vec<Duration> {
        super::history::Ledger::discontinuities(self, node).to_vec()
    }
}

/// What the rules found, with the figures of the run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Broken rules, one line per rule and node.
    pub violations: Vec<String>,
    /// Messages the publishers sent.
    pub published: u64,
    /// Of those, the ones the node acknowledged (an integer reply).
    pub acknowledged: u64,
    /// Messages the subscribers received, over every connection.
    pub received: u64,
    /// Subscriber connections.
    pub connections: usize,
    /// Deliveries completeness required (and found).
    pub claimed: u64,
}

impl DeliveryReport {
    /// The run's figures in one line, for the trace.
    pub fn summary(&self) -> String {
        format!(
            "pubsub: {} messages published ({} acknowledged), {} received on {} subscriber connections, {} deliveries required by completeness",
            self.published, self.acknowledged, self.received, self.connections, self.claimed
        )
    }
}

/// Offences of one rule on one node: how many, and the first.
#[derive(Default)]
struct Offences {
    count: u64,
    first: Option<String>,
}

/// Collects offences, reported once per (rule, node).
#[derive(Default)]
struct Findings {
    by_rule: BTreeMap<(&'static str, String), Offences>,
}

impl Findings {
    fn add(&mut self, rule: &'static str, node: &str, text: impl FnOnce() -> String) {
        let offences = self.by_rule.entry((rule, node.to_string())).or_default();
        offences.count += 1;
        if offences.first.is_none() {
            offences.first = Some(text());
        }
    }

    fn lines(self) -> Vec<String> {
        self.by_rule
            .into_iter()
            .map(|((rule, node), offences)| {
                let first = offences.first.unwrap_or_default();
                match offences.count {
                    1 => format!("pubsub {rule} on {node}: {first}"),
                    n => format!("pubsub {rule} on {node}: {n} cases, the first: {first}"),
                }
            })
            .collect()
    }
}

fn stamp(at: Duration) -> String {
    format!("{}.{:03}s", at.as_secs(), at.subsec_millis())
}

fn short(id: &str) -> &str {
    &id[..id.len().min(8)]
}

fn command(shard: bool) -> &'static str {
    if shard {
        "SPUBLISH"
    } else {
        "PUBLISH"
    }
}

/// Judges every subscriber connection against the publications, the
/// nodes' PUBLISH runs and the replication history.
pub fn judge(
    publications: &[Publication],
    connections: &[SubscriberConnection],
    runs: &[PublishRun],
    history: &dyn ReplicationFacts,
) -> DeliveryReport {
    let mut report = DeliveryReport {
        published: publications.len() as u64,
        acknowledged: publications
            .iter()
            .filter(|p| p.receivers.is_some())
            .count() as u64,
        connections: connections.len(),
        ..DeliveryReport::default()
    };
    let sent: BTreeMap<(&str, u64), &Publication> = publications
        .iter()
        .map(|p| ((p.publisher.as_str(), p.seq), p))
        .collect();
    let mut findings = Findings::default();
    for connection in connections {
        report.received += connection.messages.len() as u64;
        judge_phantoms(connection, &sent, &mut findings);
        judge_order(connection, &sent, &mut findings);
        report.claimed += judge_completeness(connection, runs, history, &mut findings);
    }
    report.violations = findings.lines();
    report
}

/// No message that was never published, or not like this.
fn judge_phantoms(
    connection: &SubscriberConnection,
    sent: &BTreeMap<(&str, u64), &Publication>,
    findings: &mut Findings,
) {
    for message in &connection.messages {
        let how = || {
            format!(
                "{} received {:?} on {} through its {} at {}",
                connection.name(),
                message.payload,
                message.channel,
                message.via,
                stamp(message.at)
            )
        };
        let publication = parse_payload(&message.payload).and_then(|key| sent.get(&key));
        let shard = matches!(message.via, Subscription::Shard(_));
        let problem = match publication {
            None => Some("no publisher sent that message".to_string()),
            Some(p) if p.channel != message.channel || p.shard != shard => Some(format!(
                "it was published by {} on {}",
                command(p.shard),
                p.channel
            )),
            Some(p) if p.sent_at > message.at => {
                Some(format!("it was only sent at {}", stamp(p.sent_at)))
            }
            Some(_) if !connection.subscriptions.contains(&message.via) => {
                Some("the connection holds no such subscription".to_string())
            }
            Some(_) if !message.via.matches(&message.channel, shard) => {
                Some("that subscription does not match the channel".to_string())
            }
            Some(_) => None,
        };
        if let Some(problem) = problem {
            findings.add("phantom", &connection.node, || {
                format!("{}, but {problem}", how())
            });
        }
    }
}

/// Per subscription, no message twice, and no answered message after a
/// later one of its publisher.
fn judge_order(
    connection: &SubscriberConnection,
    sent: &BTreeMap<(&str, u64), &Publication>,
    findings: &mut Findings,
) {
    // Per (subscription, publisher): every number received, and the
    // highest.
    let mut seen: BTreeMap<(&Subscription, &str), (BTreeSet<u64>, u64)> = BTreeMap::new();
    for message in &connection.messages {
        let Some((publisher, seq)) = parse_payload(&message.payload) else {
            continue;
        };
        let (numbers, highest) = seen
            .entry((&message.via, publisher))
            .or_insert_with(|| (BTreeSet::new(), seq));
        let answered = sent
            .get(&(publisher, seq))
            .is_some_and(|p| p.replied_at.is_some());
        let problem = if !numbers.insert(seq) {
            Some("a second time".to_string())
        } else if seq < *highest && answered {
            Some(format!(
                "after its message {highest}, although its reply had come back before that one was sent"
            ))
        } else {
            None
        };
        *highest = (*highest).max(seq);
        if let Some(what) = problem {
            findings.add("order", &connection.node, || {
                format!(
                    "{} received {publisher}'s message {seq} through its {} {what} (at {})",
                    connection.name(),
                    message.via,
                    stamp(message.at)
                )
            });
        }
    }
}

/// Every delivery the window guarantees; returns how many were required.
fn judge_completeness(
    connection: &SubscriberConnection,
    runs: &[PublishRun],
    history: &dyn ReplicationFacts,
    findings: &mut Findings,
) -> u64 {
    let (Some(from), Some(to)) = (connection.confirmed_at, connection.fenced_at) else {
        return 0;
    };
    if to <= from {
        return 0;
    }
    let node = connection.node.as_str();
    // Every delivery required, with why.
    let mut required: BTreeMap<(&Subscription, &str), String> = BTreeMap::new();
    let subscriptions = &connection.subscriptions;
    // What the node itself ran while the subscriptions were in force.
    for run in runs {
        if run.node == node && run.at > from && run.at < to {
            require(&mut required, subscriptions, run, || {
                format!(
                    "{node} ran its {} at {}, while the subscription was in force ({} to {})",
                    command(run.shard),
                    stamp(run.at),
                    stamp(from),
                    stamp(to)
                )
            });
        }
    }
    // What the stream the node applied command by command carried.
    let start = history
        .discontinuities(node)
        .into_iter()
        .filter(|&at| at >= from && at < to)
        .fold(from, Duration::max);
    let stream = history
        .position_at(node, start)
        .zip(history.position_before(node, to));
    if let Some(((first_id, first), (last_id, last))) = stream {
        if last >= first && history.contains(&last_id, &first_id, first) {
            for run in runs {
                let generated = !run.from_master && !run.replica && run.feeding;
                if generated
                    && run.offset > first
                    && run.offset <= last
                    && history.contains(&last_id, &run.replid, run.offset)
                {
                    require(&mut required, subscriptions, run, || {
                        format!(
                            "{} put it in the stream at offset {} of history {}, and {node} applied that stream one command at a time from offset {first} to {last} ({} to {})",
                            run.node,
                            run.offset,
                            short(&run.replid),
                            stamp(start),
                            stamp(to)
                        )
                    });
                }
            }
        }
    }
    let got: BTreeSet<(&Subscription, &str)> = connection
        .messages
        .iter()
        .map(|m| (&m.via, m.payload.as_str()))
        .collect();
    for ((subscription, payload), why) in &required {
        if !got.contains(&(*subscription, *payload)) {
            findings.add("completeness", node, || {
                format!(
                    "{} never received {payload:?} through its {subscription}: {why}",
                    connection.name()
                )
            });
        }
    }
    required.len() as u64
}

/// Requires `run`'s message through every subscription it matches, for
/// the reason `why` gives (the first reason found stays).
fn require<'a>(
    required: &mut BTreeMap<(&'a Subscription, &'a str), String>,
    subscriptions: &'a [Subscription],
    run: &'a PublishRun,
    why: impl Fn() -> String,
) {
    for subscription in subscriptions {
        if subscription.matches(&run.channel, run.shard) {
            required
                .entry((subscription, run.message.as_str()))
                .or_insert_with(&why);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::pubsub::Received;

    const H: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    /// A replica `r` that stood at offset `o` from time `o` ms, and loaded
    /// a dataset at each of `loads`.
    struct Facts {
        loads: Vec<Duration>,
    }

    impl ReplicationFacts for Facts {
        fn position_at(&self, _node: &str, at: Duration) -> Option<(String, u64)> {
            Some((H.to_string(), at.as_millis() as u64))
        }
        fn position_before(&self, _node: &str, at: Duration) -> Option<(String, u64)> {
            Some((H.to_string(), at.as_millis() as u64 - 1))
        }
        fn contains(&self, replid: &str, of: &str, _offset: u64) -> bool {
            replid == of
        }
        fn discontinuities(&self, _node: &str) -> Vec<Duration> {
            self.loads.clone()
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn publication(seq: u64, channel: &str, shard: bool) -> Publication {
        Publication {
            publisher: "p".into(),
            seq,
            channel: channel.into(),
            shard,
            payload: format!("p/{seq}/x"),
            node: "m".into(),
            sent_at: ms(seq * 10),
            replied_at: Some(ms(seq * 10 + 1)),
            receivers: Some(1),
        }
    }

    /// The master's run of publication `seq`, ending at offset `seq * 10`.
    fn master_run(seq: u64, channel: &str) -> PublishRun {
        PublishRun {
            node: "m".into(),
            at: ms(seq * 10),
            replid: H.into(),
            offset: seq * 10,
            replica: false,
            feeding: true,
            channel: channel.into(),
            message: format!("p/{seq}/x"),
            shard: false,
            from_master: false,
        }
    }

    fn received(seq: u64, channel: &str, at: u64) -> Received {
        Received {
            via: Subscription::Channel(channel.into()),
            channel: channel.into(),
            payload: format!("p/{seq}/x"),
            at: ms(at),
        }
    }

    fn connection(messages: Vec<Received>) -> SubscriberConnection {
        SubscriberConnection {
            subscriber: "sub on r".into(),
            node: "r".into(),
            number: 1,
            subscriptions: vec![Subscription::Channel("chan:0".into())],
            confirmed_at: Some(ms(5)),
            fenced_at: Some(ms(100)),
            ended_at: None,
            messages,
        }
    }

    fn setup() -> (Vec<Publication>, Vec<PublishRun>) {
        let publications = (1..=5).map(|s| publication(s, "chan:0", false)).collect();
        let runs = (1..=5).map(|s| master_run(s, "chan:0")).collect();
        (publications, runs)
    }

    fn all_received() -> Vec<Received> {
        (1..=5).map(|s| received(s, "chan:0", s * 10 + 2)).collect()
    }

    #[test]
    fn every_message_in_order_passes_every_rule() {
        let (publications, runs) = setup();
        let facts = Facts { loads: Vec::new() };
        let report = judge(&publications, &[connection(all_received())], &runs, &facts);
        assert_eq!(report.violations, Vec::<String>::new());
        assert_eq!(report.claimed, 5);
        assert_eq!(report.received, 5);
    }

    #[test]
    fn a_message_nobody_published_is_a_phantom() {
        let (publications, runs) = setup();
        let mut messages = all_received();
        messages.push(received(9, "chan:0", 95));
        let facts = Facts { loads: Vec::new() };
        let report = judge(&publications, &[connection(messages)], &runs, &facts);
        assert_eq!(report.violations.len(), 1, "{:?}", report.violations);
        assert!(report.violations[0].contains("pubsub phantom on r"));
        assert!(report.violations[0].contains("no publisher sent"));
    }

    #[test]
    fn a_message_published_by_spublish_arriving_as_a_message_is_a_phantom() {
        let (mut publications, runs) = setup();
        publications[2].shard = true;
        let facts = Facts { loads: Vec::new() };
        let report = judge(&publications, &[connection(all_received())], &runs, &facts);
        assert!(report.violations[0].contains("published by SPUBLISH on chan:0"));
    }

    #[test]
    fn a_message_twice_or_out_of_order_breaks_order() {
        let (publications, runs) = setup();
        let facts = Facts { loads: Vec::new() };
        let mut twice = all_received();
        twice.insert(2, received(2, "chan:0", 23));
        let report = judge(&publications, &[connection(twice)], &runs, &facts);
        assert_eq!(report.violations.len(), 1, "{:?}", report.violations);
        assert!(report.violations[0].contains("message 2 through its channel chan:0 a second time"));
        let mut swapped = all_received();
        swapped.swap(1, 2);
        let report = judge(&publications, &[connection(swapped.clone())], &runs, &facts);
        assert!(report.violations[0]
            .contains("message 2 through its channel chan:0 after its message 3"));
        // Message 2 never got its reply: it may have run after message 3.
        let mut unanswered = publications.clone();
        unanswered[1].replied_at = None;
        unanswered[1].receivers = None;
        let report = judge(&unanswered, &[connection(swapped.clone())], &runs, &facts);
        assert_eq!(report.violations, Vec::<String>::new());
        // But it still arrives only once.
        swapped.push(received(2, "chan:0", 60));
        let report = judge(&unanswered, &[connection(swapped)], &runs, &facts);
        assert!(report.violations[0].contains("message 2 through its channel chan:0 a second time"));
    }

    #[test]
    fn a_message_missing_from_a_continuous_stream_breaks_completeness() {
        let (publications, runs) = setup();
        let facts = Facts { loads: Vec::new() };
        let mut messages = all_received();
        messages.remove(2);
        let report = judge(&publications, &[connection(messages)], &runs, &facts);
        assert_eq!(report.violations.len(), 1, "{:?}", report.violations);
        assert!(report.violations[0].contains("pubsub completeness on r"));
        assert!(report.violations[0].contains("\"p/3/x\""));
        assert!(report.violations[0].contains("at offset 30"));
    }

    #[test]
    fn a_full_sync_excuses_what_came_before_it_and_nothing_after() {
        let (publications, runs) = setup();
        // A load at 35 ms skipped message 3 (offset 30).
        let facts = Facts {
            loads: vec![ms(35)],
        };
        let mut messages = all_received();
        messages.remove(2);
        let report = judge(
            &publications,
            &[connection(messages.clone())],
            &runs,
            &facts,
        );
        assert_eq!(report.violations, Vec::<String>::new());
        assert_eq!(report.claimed, 2);
        messages.remove(2);
        let report = judge(&publications, &[connection(messages)], &runs, &facts);
        assert!(report.violations[0].contains("\"p/4/x\""));
    }

    #[test]
    fn nothing_is_claimed_outside_the_fenced_window() {
        let (publications, runs) = setup();
        let facts = Facts { loads: Vec::new() };
        let mut late = connection(vec![received(5, "chan:0", 52)]);
        late.confirmed_at = Some(ms(45));
        late.fenced_at = Some(ms(50));
        let report = judge(&publications, &[late], &runs, &facts);
        assert_eq!(report.violations, Vec::<String>::new());
        assert_eq!(report.claimed, 0);
        let mut unfenced = connection(Vec::new());
        unfenced.fenced_at = None;
        let report = judge(&publications, &[unfenced], &runs, &facts);
        assert_eq!(report.violations, Vec::<String>::new());
    }

    #[test]
    fn a_message_the_node_ran_but_never_delivered_breaks_completeness() {
        let (publications, _) = setup();
        let facts = Facts { loads: Vec::new() };
        // The node ran message 4 itself (a publisher on it), at 40 ms.
        let mut run = master_run(4, "chan:0");
        run.node = "r".into();
        run.replica = true;
        run.feeding = false;
        let mut messages = all_received();
        messages.remove(3);
        let report = judge(&publications, &[connection(messages)], &[run], &facts);
        assert!(report.violations[0].contains("r ran its PUBLISH at 0.040s"));
    }
}
