//! The stream type: entries by ID in listpack-shaped nodes, the stream's
//! metadata (last ID, entries added, first ID, largest deleted ID) and its
//! consumer groups (last-delivered ID, entries read, the pending entries
//! list with delivery time and count, consumers with their seen time and
//! their own pending IDs).
//!
//! Entries are kept grouped in nodes exactly as Redis 7.0 groups them in
//! its radix tree of listpacks (`t_stream.c`): a node starts when the tail
//! node holds `stream-node-max-entries` entries (deleted ones included) or
//! its listpack would pass `stream-node-max-bytes`; deletion only flags an
//! entry until its node has no live entry left. Approximate trimming
//! (`MAXLEN ~`) removes whole nodes only, so modelling the nodes is what
//! makes its replies, and the RDB written from them, Redis's own. This
//! module knows nothing of commands or replies; `crate::command::streams`
//! does.

use std::collections::{BTreeMap, BTreeSet};

use crate::keyspace::Blob;

/// A stream entry ID: milliseconds and sequence, ordered as Redis orders
/// them (as one 128-bit big-endian number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct StreamId {
    /// Milliseconds part.
    pub ms: u64,
    /// Sequence part.
    pub seq: u64,
}

impl StreamId {
    /// The smallest ID, `0-0`.
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    /// The largest ID.
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    /// An ID from its parts.
    pub const fn new(ms: u64, seq: u64) -> Self {
        StreamId { ms, seq }
    }

    /// The next ID (`streamIncrID`), or `None` past the largest.
    pub fn next(self) -> Option<StreamId> {
        if self.seq == u64::MAX {
            if self.ms == u64::MAX {
                return None;
            }
            Some(StreamId::new(self.ms + 1, 0))
        } else {
            Some(StreamId::new(self.ms, self.seq + 1))
        }
    }

    /// The previous ID (`streamDecrID`), or `None` before the smallest.
    pub fn prev(self) -> Option<StreamId> {
        if self.seq == 0 {
            if self.ms == 0 {
                return None;
            }
            Some(StreamId::new(self.ms - 1, u64::MAX))
        } else {
            Some(StreamId::new(self.ms, self.seq - 1))
        }
    }

    /// True for `0-0`.
    pub fn is_zero(self) -> bool {
        self == StreamId::MIN
    }

    /// The 16 big-endian bytes Redis uses as radix-tree key and in RDB PELs.
    pub fn to_be_bytes(self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&self.ms.to_be_bytes());
        out[8..].copy_from_slice(&self.seq.to_be_bytes());
        out
    }

    /// The ID of 16 big-endian bytes.
    pub fn from_be_bytes(bytes: &[u8; 16]) -> Self {
        let mut ms = [0u8; 8];
        let mut seq = [0u8; 8];
        ms.copy_from_slice(&bytes[..8]);
        seq.copy_from_slice(&bytes[8..]);
        StreamId::new(u64::from_be_bytes(ms), u64::from_be_bytes(seq))
    }
}

impl std::fmt::Display for StreamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// An entry as readers see it: its ID and field/value pairs in order.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamEntry {
    /// The ID.
    pub id: StreamId,
    /// Field/value pairs, in the order they were added.
    pub pairs: Vec<(Blob, Blob)>,
}

/// An entry inside a node, as its listpack holds it.
#[derive(Debug, Clone, PartialEq)]
struct NodeEntry {
    id: StreamId,
    pairs: Vec<(Blob, Blob)>,
    /// The fields are the node's master fields (`SAMEFIELDS`).
    same_fields: bool,
    /// Flagged deleted (a tombstone inside the listpack).
    deleted: bool,
}

/// One radix-tree node: a listpack with a master entry and entries.
#[derive(Debug, Clone, PartialEq)]
struct Node {
    master_id: StreamId,
    master_fields: Vec<Blob>,
    entries: Vec<NodeEntry>,
    live: u64,
    deleted: u64,
}

/// `stream-node-max-bytes` and `stream-node-max-entries`.
#[derive(Debug, Clone, Copy)]
pub struct NodeLimits {
    /// Largest listpack in bytes (0: Redis's hard limit of 1 GB).
    pub max_bytes: u64,
    /// Most entries per node (0: no limit).
    pub max_entries: u64,
}

impl Default for NodeLimits {
    fn default() -> Self {
        NodeLimits {
            max_bytes: 4096,
            max_entries: 100,
        }
    }
}

/// Redis's hard limit of a stream listpack (`STREAM_LISTPACK_MAX_SIZE`).
pub const LISTPACK_MAX_SIZE: u64 = 1 << 30;

/// A pending entry of a group (`streamNACK`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The consumer owning it.
    pub consumer: Blob,
    /// Last delivery, unix ms.
    pub delivery_time: i64,
    /// Number of deliveries.
    pub delivery_count: u64,
}

/// A consumer of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumer {
    /// Last time it read or claimed (unix ms). Each node sets it from its
    /// own clock, so it is not part of what replication must converge.
    pub seen_time: i64,
    /// The IDs pending for it.
    pub pending: BTreeSet<StreamId>,
}

/// `entries_read` of a group whose counter is unknown (`SCG_INVALID_ENTRIES_READ`).
pub const ENTRIES_READ_INVALID: i64 = -1;

/// A consumer group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Last delivered ID.
    pub last_id: StreamId,
    /// Logical read counter, or [`ENTRIES_READ_INVALID`].
    pub entries_read: i64,
    /// Pending entries of the whole group, by ID.
    pub pel: BTreeMap<StreamId, Pending>,
    /// Consumers by name (byte order, as the radix tree orders them).
    pub consumers: BTreeMap<Blob, Consumer>,
}

impl Group {
    /// A group at `last_id` with `entries_read`.
    pub fn new(last_id: StreamId, entries_read: i64) -> Self {
        Group {
            last_id,
            entries_read,
            pel: BTreeMap::new(),
            consumers: BTreeMap::new(),
        }
    }

    /// Creates consumer `name` seen at `now_ms`; false if it existed.
    pub fn create_consumer(&mut self, name: &[u8], now_ms: i64) -> bool {
        if self.consumers.contains_key(name) {
            return false;
        }
        self.consumers.insert(
            Blob::from_slice(name),
            Consumer {
                seen_time: now_ms,
                pending: BTreeSet::new(),
            },
        );
        true
    }

    /// Removes consumer `name` and its pending entries; the number it had
    /// pending, or `None` if there was no such consumer.
    pub fn delete_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let consumer = self.consumers.remove(name)?;
        for id in &consumer.pending {
            self.pel.remove(id);
        }
        Some(consumer.pending.len())
    }

    /// Removes `id` from the group's and its owner's PEL; true if pending.
    pub fn acknowledge(&mut self, id: StreamId) -> bool {
        match self.pel.remove(&id) {
            Some(pending) => {
                if let Some(owner) = self.consumers.get_mut(&pending.consumer) {
                    owner.pending.remove(&id);
                }
                true
            }
            None => false,
        }
    }

    /// Makes `consumer` (which must exist) the owner of pending `id`,
    /// creating the pending entry if needed, with the given delivery.
    pub fn assign(&mut self, id: StreamId, consumer: &[u8], time: i64, count: u64) {
        if let Some(old) = self.pel.get(&id) {
            if old.consumer.as_slice() != consumer {
                let old_owner = old.consumer.clone();
                if let Some(owner) = self.consumers.get_mut(&old_owner) {
                    owner.pending.remove(&id);
                }
            }
        }
        self.pel.insert(
            id,
            Pending {
                consumer: Blob::from_slice(consumer),
                delivery_time: time,
                delivery_count: count,
            },
        );
        if let Some(owner) = self.consumers.get_mut(consumer) {
            owner.pending.insert(id);
        }
    }
}

/// A stream.
#[derive(Debug, Clone)]
pub struct Stream {
    nodes: BTreeMap<StreamId, Node>,
    /// Live entries.
    pub length: u64,
    /// Last ID ever generated or set.
    pub last_id: StreamId,
    /// First live entry's ID (`0-0` when empty).
    pub first_id: StreamId,
    /// Largest ID ever deleted by XDEL (or set by XSETID).
    pub max_deleted_entry_id: StreamId,
    /// Entries ever added.
    pub entries_added: u64,
    /// Consumer groups by name.
    pub groups: BTreeMap<Blob, Group>,
}

impl Default for Stream {
    fn default() -> Self {
        Stream::new()
    }
}

/// Two streams are equal when they hold the same entries, metadata and
/// groups as replication must carry them. Left out: the node layout,
/// consumers' seen times (a replica sets them by its own clock), groups'
/// `entries_read` (Redis 7.0 does not propagate the read counter of
/// entries delivered with acknowledgement) and pending entries' delivery
/// times (a replica whose clock is behind its master's clamps the time an
/// XCLAIM carries to its own now, as Redis does); see the README.
impl PartialEq for Stream {
    fn eq(&self, other: &Self) -> bool {
        self.length == other.length
            && self.last_id == other.last_id
            && self.first_id == other.first_id
            && self.max_deleted_entry_id == other.max_deleted_entry_id
            && self.entries_added == other.entries_added
            && self.groups.len() == other.groups.len()
            && self
                .groups
                .iter()
                .zip(&other.groups)
                .all(|((a, ga), (b, gb))| {
                    a == b
                        && ga.last_id == gb.last_id
                        && ga.pel.len() == gb.pel.len()
                        && ga.pel.iter().zip(&gb.pel).all(|((ia, pa), (ib, pb))| {
                            ia == ib
                                && pa.consumer == pb.consumer
                                && pa.delivery_count == pb.delivery_count
                        })
                        && ga.consumers.len() == gb.consumers.len()
                        && ga
                            .consumers
                            .iter()
                            .zip(&gb.consumers)
                            .all(|((na, ca), (nb, cb))| na == nb && ca.pending == cb.pending)
                })
            && self.iter().eq(other.iter())
    }
}

/// Why an append failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendError {
    /// The ID is not above the last one (`EDOM`).
    IdTooSmall,
    /// The fields and values are too large for a listpack (`ERANGE`).
    TooLarge,
}

/// How to trim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrimStrategy {
    /// Keep at most this many entries.
    MaxLen(u64),
    /// Drop entries below this ID.
    MinId(StreamId),
}

/// The byte size of a listpack element holding `value` (encoding plus
/// back length), as `listpack.c` encodes it.
fn int_element_size(value: i64) -> u64 {
    let encoded = if (0..=127).contains(&value) {
        1
    } else if (-4096..=4095).contains(&value) {
        2
    } else if i16::try_from(value).is_ok() {
        3
    } else if (-(1 << 23)..(1 << 23)).contains(&value) {
        4
    } else if i32::try_from(value).is_ok() {
        5
    } else {
        9
    };
    encoded + backlen_size(encoded)
}

fn string_element_size(bytes: &[u8]) -> u64 {
    if let Some(value) = listpack_int(bytes) {
        return int_element_size(value);
    }
    let len = bytes.len() as u64;
    let encoded = if len < 64 {
        1 + len
    } else if len < 4096 {
        2 + len
    } else {
        5 + len
    };
    encoded + backlen_size(encoded)
}

fn backlen_size(len: u64) -> u64 {
    match len {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// The integer a listpack stores a string as (`lpStringToInt64`: the
/// canonical decimal form of a 64-bit integer, at most 20 bytes).
pub fn listpack_int(bytes: &[u8]) -> Option<i64> {
    if bytes.is_empty() || bytes.len() > 20 {
        return None;
    }
    let value = crate::resp::parse_i64(bytes)?;
    // Canonical only: no sign on zero, no leading zeros, no '+'.
    let mut buf = itoa::Buffer::new();
    (buf.format(value).as_bytes() == bytes).then_some(value)
}

/// An entry as a node's listpack holds it, read from an RDB: its ID,
/// field/value pairs, whether it has the master fields (`SAMEFIELDS`)
/// and whether it is flagged deleted.
pub type LoadedEntry = (StreamId, Vec<(Blob, Blob)>, bool, bool);

/// One element of a stream node's listpack, for the RDB writer.
#[derive(Debug, Clone, Copy)]
pub enum NodeElement<'a> {
    /// An integer (`lpAppendInteger`).
    Int(i64),
    /// A string (`lpAppend`: stored as an integer when it is one).
    Bytes(&'a [u8]),
}

impl Node {
    fn new(first: StreamId, fields: Vec<Blob>) -> Self {
        Node {
            master_id: first,
            master_fields: fields,
            entries: Vec::new(),
            live: 0,
            deleted: 0,
        }
    }

    /// Every element of the listpack, in order.
    fn elements(&self) -> Vec<NodeElement<'_>> {
        let mut out = vec![
            NodeElement::Int(self.live as i64),
            NodeElement::Int(self.deleted as i64),
            NodeElement::Int(self.master_fields.len() as i64),
        ];
        out.extend(self.master_fields.iter().map(|f| NodeElement::Bytes(f)));
        out.push(NodeElement::Int(0));
        for entry in &self.entries {
            let flags = i64::from(entry.deleted) | (i64::from(entry.same_fields) << 1);
            out.push(NodeElement::Int(flags));
            out.push(NodeElement::Int(
                entry.id.ms.wrapping_sub(self.master_id.ms) as i64,
            ));
            out.push(NodeElement::Int(
                entry.id.seq.wrapping_sub(self.master_id.seq) as i64,
            ));
            let numfields = entry.pairs.len() as i64;
            if entry.same_fields {
                out.extend(entry.pairs.iter().map(|(_, v)| NodeElement::Bytes(v)));
                out.push(NodeElement::Int(numfields + 3));
            } else {
                out.push(NodeElement::Int(numfields));
                for (f, v) in &entry.pairs {
                    out.push(NodeElement::Bytes(f));
                    out.push(NodeElement::Bytes(v));
                }
                out.push(NodeElement::Int(numfields * 2 + 4));
            }
        }
        out
    }

    /// The listpack's total bytes (`lpBytes`).
    fn listpack_bytes(&self) -> u64 {
        7 + self
            .elements()
            .iter()
            .map(|e| match e {
                NodeElement::Int(v) => int_element_size(*v),
                NodeElement::Bytes(b) => string_element_size(b),
            })
            .sum::<u64>()
    }

    fn last_id(&self) -> StreamId {
        self.entries.last().map_or(self.master_id, |e| e.id)
    }
}

impl Stream {
    /// An empty stream.
    pub fn new() -> Self {
        Stream {
            nodes: BTreeMap::new(),
            length: 0,
            last_id: StreamId::MIN,
            first_id: StreamId::MIN,
            max_deleted_entry_id: StreamId::MIN,
            entries_added: 0,
            groups: BTreeMap::new(),
        }
    }

    /// The ID XADD `*` generates at `now_ms` (`streamNextID`), or `None`
    /// when the last possible ID was used.
    pub fn next_auto_id(&self, now_ms: u64) -> Option<StreamId> {
        if self.last_id.ms >= now_ms {
            self.last_id.next()
        } else {
            Some(StreamId::new(now_ms, 0))
        }
    }

    /// Appends an entry with `id` (already chosen), grouping it into nodes
    /// as Redis does.
    pub fn append(
        &mut self,
        id: StreamId,
        pairs: Vec<(Blob, Blob)>,
        limits: NodeLimits,
    ) -> Result<(), AppendError> {
        if id <= self.last_id {
            return Err(AppendError::IdTooSmall);
        }
        let total: u64 = pairs.iter().map(|(f, v)| (f.len() + v.len()) as u64).sum();
        if total > LISTPACK_MAX_SIZE {
            return Err(AppendError::TooLarge);
        }
        let max_bytes = if limits.max_bytes == 0 || limits.max_bytes > LISTPACK_MAX_SIZE {
            LISTPACK_MAX_SIZE
        } else {
            limits.max_bytes
        };
        let needs_new = match self.nodes.values().next_back() {
            None => true,
            Some(tail) => {
                tail.listpack_bytes() + total >= max_bytes
                    || (limits.max_entries != 0 && tail.live + tail.deleted >= limits.max_entries)
            }
        };
        if needs_new {
            let fields = pairs.iter().map(|(f, _)| f.clone()).collect();
            self.nodes.insert(id, Node::new(id, fields));
        }
        let tail = self
            .nodes
            .values_mut()
            .next_back()
            .expect("a tail node exists");
        let same_fields = tail.master_fields.len() == pairs.len()
            && tail
                .master_fields
                .iter()
                .zip(&pairs)
                .all(|(m, (f, _))| m == f);
        tail.entries.push(NodeEntry {
            id,
            pairs,
            same_fields,
            deleted: false,
        });
        tail.live += 1;
        self.length += 1;
        self.entries_added += 1;
        self.last_id = id;
        if self.length == 1 {
            self.first_id = id;
        }
        Ok(())
    }

    /// Live entries from `start` to `end` inclusive, forwards.
    pub fn range(&self, start: StreamId, end: StreamId) -> impl Iterator<Item = StreamEntry> + '_ {
        self.live_entries_from(start)
            .take_while(move |e| e.id <= end)
            .map(|e| StreamEntry {
                id: e.id,
                pairs: e.pairs.clone(),
            })
    }

    /// Live entries from `end` down to `start` inclusive, backwards.
    pub fn range_rev(
        &self,
        start: StreamId,
        end: StreamId,
    ) -> impl Iterator<Item = StreamEntry> + '_ {
        self.nodes
            .range(..=end)
            .rev()
            .flat_map(|(_, node)| node.entries.iter().rev())
            .filter(move |e| !e.deleted && e.id <= end)
            .take_while(move |e| e.id >= start)
            .map(|e| StreamEntry {
                id: e.id,
                pairs: e.pairs.clone(),
            })
    }

    fn live_entries_from(&self, start: StreamId) -> impl Iterator<Item = &NodeEntry> + '_ {
        // The node holding `start` begins at or before it.
        let from = self
            .nodes
            .range(..=start)
            .next_back()
            .map_or(StreamId::MIN, |(k, _)| *k);
        self.nodes
            .range(from..)
            .flat_map(|(_, node)| node.entries.iter())
            .filter(move |e| !e.deleted && e.id >= start)
    }

    /// Every live entry, in order.
    pub fn iter(&self) -> impl Iterator<Item = StreamEntry> + '_ {
        self.range(StreamId::MIN, StreamId::MAX)
    }

    /// The live entry with `id`.
    pub fn get(&self, id: StreamId) -> Option<StreamEntry> {
        self.range(id, id).next()
    }

    /// True when a live entry has `id`.
    pub fn contains(&self, id: StreamId) -> bool {
        self.live_entries_from(id)
            .next()
            .is_some_and(|e| e.id == id)
    }

    /// The last live entry's ID (`streamLastValidID`), `0-0` if none.
    pub fn last_valid_id(&self) -> StreamId {
        self.range_rev(StreamId::MIN, StreamId::MAX)
            .next()
            .map_or(StreamId::MIN, |e| e.id)
    }

    fn first_valid_id(&self) -> StreamId {
        self.live_entries_from(StreamId::MIN)
            .next()
            .map_or(StreamId::MIN, |e| e.id)
    }

    /// Flags entry `id` deleted (XDEL's `streamDeleteItem`); true if it was
    /// live. The caller updates `max_deleted_entry_id` and `first_id`.
    pub fn delete(&mut self, id: StreamId) -> bool {
        let Some((&key, node)) = self.nodes.range_mut(..=id).next_back() else {
            return false;
        };
        let Some(entry) = node.entries.iter_mut().find(|e| e.id == id && !e.deleted) else {
            return false;
        };
        entry.deleted = true;
        if node.live == 1 {
            self.nodes.remove(&key);
        } else {
            node.live -= 1;
            node.deleted += 1;
        }
        self.length -= 1;
        true
    }

    /// Recomputes `first_id` after deletions.
    pub fn refresh_first_id(&mut self) {
        self.first_id = if self.length == 0 {
            StreamId::MIN
        } else {
            self.first_valid_id()
        };
    }

    /// Trims by `strategy` (`streamTrim`); `approx` removes whole nodes
    /// only, `limit` (0: none) caps the entries removed. Returns how many
    /// were removed.
    pub fn trim(&mut self, strategy: TrimStrategy, approx: bool, limit: u64) -> u64 {
        let mut deleted = 0u64;
        while let Some((&key, node)) = self.nodes.iter_mut().next() {
            if let TrimStrategy::MaxLen(max) = strategy {
                if self.length <= max {
                    break;
                }
            }
            let entries = node.live;
            if limit != 0 && deleted + entries > limit {
                break;
            }
            let remove_node = match strategy {
                TrimStrategy::MaxLen(max) => self.length - entries >= max,
                TrimStrategy::MinId(min) => node.last_id() < min,
            };
            if remove_node {
                self.nodes.remove(&key);
                self.length -= entries;
                deleted += entries;
                continue;
            }
            if approx {
                break;
            }
            let mut from_node = 0;
            for entry in node.entries.iter_mut() {
                let stop = match strategy {
                    TrimStrategy::MaxLen(max) => self.length <= max,
                    TrimStrategy::MinId(min) => entry.id >= min,
                };
                if stop {
                    break;
                }
                if !entry.deleted {
                    entry.deleted = true;
                    from_node += 1;
                    self.length -= 1;
                }
            }
            node.live -= from_node;
            node.deleted += from_node;
            deleted += from_node;
            break;
        }
        if self.length == 0 {
            self.first_id = StreamId::MIN;
        } else if deleted > 0 {
            self.first_id = self.first_valid_id();
        }
        deleted
    }

    /// The ID of the first entry of the head node, deleted or not
    /// (`streamGetEdgeID(s,1,0)`), which approximate trimming by MINID
    /// propagates; the largest ID when there is none, as in Redis.
    pub fn first_id_with_tombstones(&self) -> StreamId {
        match self.nodes.values().next() {
            None => StreamId::MAX,
            Some(node) => node.entries.first().map_or(node.master_id, |e| e.id),
        }
    }

    /// The master ID of the last node.
    pub fn last_node_id(&self) -> Option<StreamId> {
        self.nodes.keys().next_back().copied()
    }

    /// Number of radix-tree keys (nodes).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Number of radix-tree nodes of a compressed radix tree over the node
    /// keys (XINFO STREAM `radix-tree-nodes`).
    pub fn radix_tree_nodes(&self) -> usize {
        let keys: Vec<[u8; 16]> = self.nodes.keys().map(|k| k.to_be_bytes()).collect();
        let refs: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
        rax_nodes(&refs)
    }

    /// The nodes as (master ID, listpack elements), for the RDB writer.
    pub fn node_elements(&self) -> impl Iterator<Item = (StreamId, Vec<NodeElement<'_>>)> + '_ {
        self.nodes.iter().map(|(k, n)| (*k, n.elements()))
    }

    /// Restores a node read from an RDB: its master ID, master fields and
    /// entries `(id, pairs, same_fields, deleted)`, as the listpack held
    /// them. The caller sets the metadata afterwards.
    pub fn push_loaded_node(
        &mut self,
        master_id: StreamId,
        master_fields: Vec<Blob>,
        entries: Vec<LoadedEntry>,
    ) {
        let mut node = Node::new(master_id, master_fields);
        for (id, pairs, same_fields, deleted) in entries {
            if deleted {
                node.deleted += 1;
            } else {
                node.live += 1;
            }
            node.entries.push(NodeEntry {
                id,
                pairs,
                same_fields,
                deleted,
            });
        }
        self.nodes.insert(master_id, node);
    }

    /// Live entries counted over the nodes (a loaded stream's check).
    pub fn counted_length(&self) -> u64 {
        self.nodes.values().map(|n| n.live).sum()
    }

    /// Whether the nodes' IDs increase and every node holds a live entry.
    pub fn nodes_well_formed(&self) -> bool {
        let mut last: Option<StreamId> = None;
        for (key, node) in &self.nodes {
            if node.live == 0 || node.entries.is_empty() || node.master_id != *key {
                return false;
            }
            for entry in &node.entries {
                if last.is_some_and(|l| entry.id <= l) || entry.id < node.master_id {
                    return false;
                }
                last = Some(entry.id);
            }
        }
        true
    }

    /// `streamEstimateDistanceFromFirstEverEntry`: the read counter of
    /// `id`, or [`ENTRIES_READ_INVALID`] when it cannot be known.
    pub fn estimate_distance(&self, id: StreamId) -> i64 {
        if self.entries_added == 0 {
            return 0;
        }
        if self.length == 0 && id <= self.last_id {
            return self.entries_added as i64;
        }
        if id == self.last_id {
            return self.entries_added as i64;
        }
        if id > self.last_id {
            return ENTRIES_READ_INVALID;
        }
        if self.max_deleted_entry_id.is_zero() || self.max_deleted_entry_id < self.first_id {
            if id < self.first_id {
                return (self.entries_added - self.length) as i64;
            }
            if id == self.first_id {
                return (self.entries_added - self.length + 1) as i64;
            }
        }
        ENTRIES_READ_INVALID
    }

    /// `streamRangeHasTombstones` from `start` to the end.
    pub fn range_has_tombstones(&self, start: StreamId) -> bool {
        if self.length == 0 || self.max_deleted_entry_id.is_zero() {
            return false;
        }
        if self.first_id > self.max_deleted_entry_id {
            return false;
        }
        start <= self.max_deleted_entry_id
    }

    /// A group's lag (`streamReplyWithCGLag`), `None` when unknown.
    pub fn group_lag(&self, group: &Group) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if group.entries_read != ENTRIES_READ_INVALID && !self.range_has_tombstones(group.last_id) {
            return Some(self.entries_added as i64 - group.entries_read);
        }
        let read = self.estimate_distance(group.last_id);
        (read != ENTRIES_READ_INVALID).then(|| self.entries_added as i64 - read)
    }

    /// Moves a group's last-delivered ID to `id` after delivering it,
    /// keeping its read counter as Redis does.
    pub fn advance_group(&mut self, group: &[u8], id: StreamId) {
        let tombstones = self.range_has_tombstones(id);
        let estimate = self.estimate_distance(id);
        let entries_added = self.entries_added;
        if let Some(g) = self.groups.get_mut(group) {
            if id > g.last_id {
                if g.entries_read != ENTRIES_READ_INVALID && !tombstones {
                    g.entries_read += 1;
                } else if entries_added != 0 {
                    g.entries_read = estimate;
                }
                g.last_id = id;
            }
        }
    }
}

/// Nodes of a compressed radix tree (Redis's rax) holding `keys`, all of
/// the same length and sorted: a node per run of shared bytes (compressed
/// node), per branching point, and per key end.
fn rax_nodes(keys: &[&[u8]]) -> usize {
    fn count(keys: &[&[u8]]) -> usize {
        if keys.is_empty() || keys[0].is_empty() {
            return 1;
        }
        let first = keys[0][0];
        if keys.iter().all(|k| k[0] == first) {
            // Longest common prefix: one compressed node, then its child.
            let mut common = 1;
            while common < keys[0].len() && keys.iter().all(|k| k[common] == keys[0][common]) {
                common += 1;
            }
            let rest: Vec<&[u8]> = keys.iter().map(|k| &k[common..]).collect();
            return 1 + count(&rest);
        }
        let mut total = 1;
        let mut start = 0;
        while start < keys.len() {
            let byte = keys[start][0];
            let mut end = start;
            while end < keys.len() && keys[end][0] == byte {
                end += 1;
            }
            let rest: Vec<&[u8]> = keys[start..end].iter().map(|k| &k[1..]).collect();
            total += count(&rest);
            start = end;
        }
        total
    }
    count(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::blob;

    fn pairs(n: usize) -> Vec<(Blob, Blob)> {
        (0..n)
            .map(|i| (blob(format!("f{i}").as_bytes()), blob(b"v")))
            .collect()
    }

    #[test]
    fn nodes_split_at_the_entry_limit_and_approximate_trim_removes_whole_nodes() {
        let mut s = Stream::new();
        for i in 1..=250 {
            s.append(StreamId::new(i, 0), pairs(1), NodeLimits::default())
                .unwrap();
        }
        assert_eq!(s.node_count(), 3);
        assert_eq!(s.trim(TrimStrategy::MaxLen(120), true, 0), 100);
        assert_eq!(s.length, 150);
        assert_eq!(s.first_id, StreamId::new(101, 0));
        assert_eq!(s.trim(TrimStrategy::MaxLen(120), false, 0), 30);
        assert_eq!(s.first_id, StreamId::new(131, 0));
    }

    #[test]
    fn deleting_the_last_live_entry_of_a_node_removes_the_node() {
        let mut s = Stream::new();
        for i in 1..=3 {
            s.append(StreamId::new(i, 0), pairs(2), NodeLimits::default())
                .unwrap();
        }
        assert!(s.delete(StreamId::new(2, 0)));
        assert!(!s.delete(StreamId::new(2, 0)));
        assert!(s.delete(StreamId::new(1, 0)));
        assert!(s.delete(StreamId::new(3, 0)));
        assert_eq!(s.node_count(), 0);
        assert_eq!(s.length, 0);
    }

    #[test]
    fn listpack_sizes_follow_the_encodings() {
        assert_eq!(int_element_size(5), 2);
        assert_eq!(int_element_size(-1), 3);
        assert_eq!(string_element_size(b"abc"), 5);
        assert_eq!(string_element_size(b"123"), 2);
        assert_eq!(string_element_size(b"0123"), 6);
        assert_eq!(rax_nodes(&[&[1, 2, 3]]), 2);
    }
}
