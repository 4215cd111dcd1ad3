//! Recording a run's timeline as it plays: the [`Recorder`] the harness
//! reports faults, node events, violations and client writes to, and the
//! [`ObservingProbe`] that passes every node's history reports on to the
//! checker while noting its role, link, offset and reads.
//!
//! A node's role and link are observed whenever it logs a line (every link
//! transition Redis logs), acknowledges an offset (its link streams), and
//! whenever the harness checks safety (every 100 ms of simulated time while
//! it waits); its offset at every command boundary it reports.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{
    ClientRead, ClientWrite, FaultBand, FaultKind, Flag, FlagKind, NodeEvent, NodeEventKind,
    NodeState, OffsetPoint, Timeline,
};
use crate::replication::LinkState;
use crate::server::probe::{HistoryProbe, NodeView, Position, PublishObservation, ReadObservation};

/// The offset plot keeps at most one point per node per this many
/// milliseconds (the latest): enough to see lag, small enough that a busy
/// run's page stays small.
pub const OFFSET_STEP_MS: u64 = 10;

/// Longest command text kept for a read.
const READ_LABEL_MAX: usize = 80;

/// Simulated milliseconds since the run started (0 outside a simulation).
fn now_ms() -> u64 {
    madsim::time::TimeHandle::try_current().map_or(0, |t| t.elapsed().as_millis() as u64)
}

/// What the recorder remembers of a node between reports.
#[derive(Debug, Default, Clone)]
struct NodeMemory {
    /// Its last recorded state.
    state: Option<NodeState>,
    /// Whether its link received an RDB since it last connected.
    saw_transfer: bool,
    /// Index of its last offset point.
    last_offset: Option<usize>,
}

#[derive(Debug, Default)]
struct Book {
    timeline: Timeline,
    memory: Vec<NodeMemory>,
    /// Which flags were already placed on a node.
    placed: Vec<bool>,
    /// Keys (db, key) whose acknowledged writes were lost.
    lost_keys: BTreeSet<(u8, String)>,
}

/// Where a run's timeline is recorded; cheap to clone. A disabled
/// recorder (the default) ignores every report.
#[derive(Clone, Default)]
pub struct Recorder {
    book: Option<Arc<Mutex<Book>>>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("enabled", &self.book.is_some())
            .finish()
    }
}

/// The name ROLE gives a link state.
fn link_name(link: LinkState) -> &'static str {
    link.role_name()
}

impl Recorder {
    /// A recorder for a run of `nodes` (in scenario order).
    pub fn new(nodes: &[String]) -> Recorder {
        let book = Book {
            timeline: Timeline {
                nodes: nodes.to_vec(),
                ..Timeline::default()
            },
            memory: vec![NodeMemory::default(); nodes.len()],
            placed: Vec::new(),
            lost_keys: BTreeSet::new(),
        };
        Recorder {
            book: Some(Arc::new(Mutex::new(book))),
        }
    }

    /// Whether reports are recorded.
    pub fn is_enabled(&self) -> bool {
        self.book.is_some()
    }

    fn with<T: Default>(&self, f: impl FnOnce(&mut Book) -> T) -> T {
        match &self.book {
            Some(book) => f(&mut book.lock().unwrap_or_else(|p| p.into_inner())),
            None => T::default(),
        }
    }

    /// The index of node `name`.
    fn index(book: &Book, name: &str) -> Option<usize> {
        book.timeline.nodes.iter().position(|n| n == name)
    }

    /// Node `node` stands at `view` now.
    pub fn observe(&self, node: &str, view: NodeView<'_>) {
        self.with(|book| {
            let Some(n) = Self::index(book, node) else {
                return;
            };
            let state = NodeState {
                at_ms: now_ms(),
                node: n,
                role: if view.master.is_some() {
                    "replica"
                } else {
                    "master"
                },
                link: view.link.map(link_name),
                master: view.master.map(str::to_string),
                replid: view.replid.chars().take(8).collect(),
            };
            book.note_state(state);
            book.note_offset(n, view.offset);
        });
    }

    /// Node `node` reported a command boundary at `offset`.
    pub fn offset(&self, node: &str, offset: u64) {
        self.with(|book| {
            if let Some(n) = Self::index(book, node) {
                book.note_offset(n, offset);
            }
        });
    }

    /// Node `node`, a replica, acknowledged an offset: its link streams.
    pub fn acknowledged(&self, node: &str, replid: &str) {
        self.with(|book| {
            let Some(n) = Self::index(book, node) else {
                return;
            };
            let Some(last) = book.memory[n].state.clone() else {
                return;
            };
            if last.role != "replica" {
                return;
            }
            book.note_state(NodeState {
                at_ms: now_ms(),
                link: Some(link_name(LinkState::Connected)),
                replid: replid.chars().take(8).collect(),
                ..last
            });
        });
    }

    /// Node `node` served the read `argv`.
    pub fn read(&self, node: &str, argv: &[&[u8]]) {
        self.with(|book| {
            let Some(n) = Self::index(book, node) else {
                return;
            };
            let mut label = String::new();
            for (i, arg) in argv.iter().enumerate() {
                if i > 0 {
                    label.push(' ');
                }
                label.push_str(&String::from_utf8_lossy(arg));
                if label.len() > READ_LABEL_MAX {
                    let mut cut = READ_LABEL_MAX;
                    while !label.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    label.truncate(cut);
                    label.push('…');
                    break;
                }
            }
            book.timeline.reads.push(ClientRead {
                at_ms: now_ms(),
                node: n,
                label,
                wrong: false,
            });
        });
    }

    /// Something happened to `node` now (a crash marks it down until
    /// it is observed again).
    pub fn node_event(&self, node: &str, kind: NodeEventKind, label: String) {
        self.with(|book| {
            let Some(n) = Self::index(book, node) else {
                return;
            };
            let at_ms = now_ms();
            book.timeline.events.push(NodeEvent {
                at_ms,
                node: n,
                kind,
                label,
            });
            if kind == NodeEventKind::Crash {
                book.note_state(NodeState {
                    at_ms,
                    node: n,
                    role: "down",
                    link: None,
                    master: None,
                    replid: String::new(),
                });
            }
        });
    }

    /// A fault began now, striking `nodes`; its handle ends it.
    pub fn fault_started(&self, kind: FaultKind, label: String, nodes: &[&str]) -> Option<usize> {
        self.with(|book| {
            let at_ms = now_ms();
            let mut indices: Vec<usize> = nodes
                .iter()
                .filter_map(|name| Self::index(book, name))
                .collect();
            indices.sort_unstable();
            indices.dedup();
            if kind == FaultKind::Network {
                // A network change lasts until the next one.
                for band in book.timeline.faults.iter_mut() {
                    if band.open && band.kind == FaultKind::Network {
                        band.open = false;
                        band.end_ms = at_ms;
                    }
                }
                indices = (0..book.timeline.nodes.len()).collect();
            }
            book.timeline.faults.push(FaultBand {
                kind,
                label,
                nodes: indices,
                start_ms: at_ms,
                end_ms: at_ms,
                open: !matches!(kind, FaultKind::Cut | FaultKind::Clock),
            });
            Some(book.timeline.faults.len() - 1)
        })
    }

    /// The fault `handle` (from [`fault_started`](Self::fault_started))
    /// ended now.
    pub fn fault_ended(&self, handle: Option<usize>) {
        self.with(|book| {
            if let Some(band) = handle.and_then(|h| book.timeline.faults.get_mut(h)) {
                if band.open {
                    band.open = false;
                    band.end_ms = now_ms();
                }
            }
        });
    }

    /// Every fault of `kind` still in force ended now (every kind but
    /// network changes when `None`: the end of the steps heals them all).
    pub fn faults_ended(&self, kind: Option<FaultKind>) {
        self.with(|book| {
            let at_ms = now_ms();
            for band in book.timeline.faults.iter_mut() {
                let matches = match kind {
                    Some(kind) => band.kind == kind,
                    None => band.kind != FaultKind::Network,
                };
                if band.open && matches {
                    band.open = false;
                    band.end_ms = at_ms;
                }
            }
        });
    }

    /// A broken rule was found now, or an expectation failed.
    pub fn flag(&self, kind: FlagKind, text: &str) {
        self.with(|book| {
            book.timeline.flags.push(Flag {
                at_ms: now_ms(),
                kind,
                node: None,
                text: text.to_string(),
            });
        });
    }

    /// The checker found the violation `text` on `node` at `at`, judging
    /// a read it served when `read`: the flag with that text moves there,
    /// and a wrong read marks the node's last read until then.
    pub fn locate_flag(&self, at: Duration, node: &str, read: bool, text: &str) {
        self.with(|book| {
            let Some(n) = Self::index(book, node) else {
                return;
            };
            let at_ms = at.as_millis() as u64;
            if book.placed.len() < book.timeline.flags.len() {
                book.placed.resize(book.timeline.flags.len(), false);
            }
            let found = (0..book.timeline.flags.len())
                .find(|&i| !book.placed[i] && book.timeline.flags[i].text == text);
            if let Some(i) = found {
                book.placed[i] = true;
                book.timeline.flags[i].at_ms = at_ms;
                book.timeline.flags[i].node = Some(n);
            }
            if read {
                if let Some(read) = book
                    .timeline
                    .reads
                    .iter_mut()
                    .rev()
                    .find(|r| r.node == n && r.at_ms <= at_ms)
                {
                    read.wrong = true;
                }
            }
        });
    }

    /// A workload's string write.
    pub fn write(&self, write: ClientWrite) {
        self.with(|book| book.timeline.writes.push(write));
    }

    /// The keys (db, key) whose acknowledged writes were lost.
    pub fn set_lost_keys(&self, keys: BTreeSet<(u8, String)>) {
        self.with(|book| book.lost_keys = keys);
    }

    /// The keys [`set_lost_keys`](Self::set_lost_keys) noted.
    pub fn lost_keys(&self) -> BTreeSet<(u8, String)> {
        self.with(|book| book.lost_keys.clone())
    }

    /// Replica `node` did not converge.
    pub fn stuck(&self, node: &str) {
        self.with(|book| {
            if let Some(n) = Self::index(book, node) {
                book.timeline.stuck.push(n);
            }
        });
    }

    /// The recorded timeline, closed at `end_ms`: faults still in force
    /// last until then.
    pub fn finish(&self, end_ms: u64) -> Option<Timeline> {
        let book = self.book.as_ref()?;
        let book = book.lock().unwrap_or_else(|p| p.into_inner());
        let mut timeline = book.timeline.clone();
        timeline.end_ms = end_ms;
        for band in timeline.faults.iter_mut().filter(|b| b.open) {
            band.end_ms = end_ms;
        }
        Some(timeline)
    }
}

impl Book {
    /// Records `state` when it differs from the node's last one, with the
    /// instants its change implies (syncs, promotions, re-pointing).
    fn note_state(&mut self, state: NodeState) {
        let n = state.node;
        let memory = &mut self.memory[n];
        let previous = memory.state.clone();
        let same = previous.as_ref().is_some_and(|p| {
            p.role == state.role
                && p.link == state.link
                && p.master == state.master
                && p.replid == state.replid
        });
        if same {
            return;
        }
        let mut instants = Vec::new();
        if let Some(previous) = &previous {
            match (previous.role, state.role) {
                ("replica", "master") => instants.push((
                    NodeEventKind::Promotion,
                    "promoted to master (REPLICAOF NO ONE)".to_string(),
                )),
                ("replica", "replica") | ("master", "replica")
                    if previous.master != state.master =>
                {
                    instants.push((
                        NodeEventKind::Repoint,
                        format!(
                            "now replicates from {}",
                            state.master.as_deref().unwrap_or("?")
                        ),
                    ))
                }
                _ => {}
            }
            let master = state.master.as_deref().unwrap_or("?");
            if state.link != previous.link {
                match state.link {
                    Some("sync") => {
                        memory.saw_transfer = true;
                        instants.push((
                            NodeEventKind::FullSync,
                            format!("full sync from {master}: receiving the RDB"),
                        ));
                    }
                    Some("connected") => {
                        let (kind, text) = if memory.saw_transfer {
                            (NodeEventKind::SyncDone, "full sync done, streaming")
                        } else {
                            (NodeEventKind::PartialSync, "partial resync, streaming")
                        };
                        memory.saw_transfer = false;
                        instants.push((kind, format!("{text} from {master}")));
                    }
                    Some(_) | None => {}
                }
            }
        }
        if matches!(state.link, Some("connect") | Some("connecting")) {
            memory.saw_transfer = false;
        }
        memory.state = Some(state.clone());
        for (kind, label) in instants {
            self.timeline.events.push(NodeEvent {
                at_ms: state.at_ms,
                node: n,
                kind,
                label,
            });
        }
        self.timeline.states.push(state);
    }

    /// Records node `n`'s offset now (replacing its last point when that
    /// is less than [`OFFSET_STEP_MS`] old).
    fn note_offset(&mut self, n: usize, offset: u64) {
        let at_ms = now_ms();
        let memory = &mut self.memory[n];
        if let Some(last) = memory.last_offset {
            let point = &mut self.timeline.offsets[last];
            if point.offset == offset {
                return;
            }
            if at_ms < point.at_ms + OFFSET_STEP_MS {
                point.offset = offset;
                return;
            }
        }
        memory.last_offset = Some(self.timeline.offsets.len());
        self.timeline.offsets.push(OffsetPoint {
            at_ms,
            node: n,
            offset,
        });
    }
}

/// A node's probe that records into the timeline as it passes every
/// report on to the checker's probe.
pub struct ObservingProbe {
    /// The checker's probe.
    pub inner: Arc<dyn HistoryProbe>,
    /// The node's name.
    pub node: String,
    /// Where the timeline is recorded.
    pub recorder: Recorder,
}

impl HistoryProbe for ObservingProbe {
    fn logged(&self, view: NodeView<'_>, message: &str) {
        self.inner.logged(view, message);
        self.recorder.observe(&self.node, view);
    }

    fn position(&self, at: Position<'_>) {
        self.inner.position(at);
        self.recorder.offset(&self.node, at.offset);
    }

    fn acknowledged(&self, at: Position<'_>, acked: u64) {
        self.inner.acknowledged(at, acked);
        self.recorder.acknowledged(&self.node, at.replid);
    }

    fn read(&self, read: ReadObservation<'_>) {
        self.recorder.read(&self.node, read.argv);
        self.inner.read(read);
    }

    fn wait_returned(&self, replid: &str, offset: u64, count: i64) {
        self.inner.wait_returned(replid, offset, count);
    }

    fn published(&self, publish: PublishObservation<'_>) {
        self.inner.published(publish);
    }

    fn loaded(&self, at: Position<'_>) {
        self.inner.loaded(at);
    }

    fn evicted(&self, db: usize, key: &[u8]) {
        self.inner.evicted(db, key);
    }
}
