//! The data: 16 databases of keys holding strings, lists, hashes, sets and
//! sorted sets, each key with an optional absolute expiry in unix ms and
//! the encoding Redis 7.0 would hold its value in ([`Encoding`]: converted
//! one way by writes, under the [`EncodingLimits`] of the node's config).
//!
//! The keyspace never reads a clock: callers pass `now_ms`, and the expiry
//! policy (lazy deletion on a master, logical expiry on a replica) lives in
//! the command layer, which knows the node's role. Every collection iterates
//! in a deterministic order (insertion order, or sorted), so that KEYS, SCAN
//! and HGETALL output is the same in every run of a seed.

use std::collections::{BTreeSet, VecDeque};
use std::fmt;

use indexmap::{IndexMap, IndexSet};
use smallvec::SmallVec;

/// A byte string stored in the keyspace: up to 16 bytes inline, longer ones
/// on the heap. Keys and small values then cost no allocation of their own.
pub type Blob = SmallVec<[u8; 16]>;

/// The hasher of every keyspace table: foldhash with a fixed seed, so that
/// table layouts (and any order derived from them) are the same in every
/// run, unlike `RandomState`. (FxHash, tried first, clusters keys that
/// differ only in their last bytes, like `key:000000012345`.)
pub type FixedHash = foldhash::fast::FixedState;

/// Number of databases (Redis's default `databases 16`).
pub const DB_COUNT: usize = 16;

/// Copies a byte slice into a [`Blob`].
#[inline]
pub fn blob(bytes: &[u8]) -> Blob {
    SmallVec::from_slice(bytes)
}

/// A sorted-set score with a total order (NaN never gets in: parsers reject it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score(pub f64);

impl Eq for Score {}

impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Score {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // -0.0 and 0.0 compare equal, as C's `<` does in Redis's skiplist.
        self.0
            .partial_cmp(&other.0)
            .unwrap_or(std::cmp::Ordering::Equal)
    }
}

/// A sorted set: members ordered by (score, member bytes), as Redis orders them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ZSet {
    scores: IndexMap<Blob, f64, FixedHash>,
    order: BTreeSet<(Score, Blob)>,
}

impl ZSet {
    /// Number of members.
    pub fn len(&self) -> usize {
        self.scores.len()
    }

    /// True when the set has no member.
    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }

    /// The score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.scores.get(member).copied()
    }

    /// Sets `member`'s score; returns the previous one.
    pub fn insert(&mut self, member: &[u8], score: f64) -> Option<f64> {
        let old = self.scores.get(member).copied();
        if let Some(old_score) = old {
            self.order.remove(&(Score(old_score), blob(member)));
        }
        self.scores.insert(blob(member), score);
        self.order.insert((Score(score), blob(member)));
        old
    }

    /// Removes `member`; true when it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self.scores.swap_remove(member) {
            Some(score) => {
                self.order.remove(&(Score(score), blob(member)));
                true
            }
            None => false,
        }
    }

    /// Turns the scores of `-0` among `members` (all members when None)
    /// into `0`, as a listpack stores them: Redis writes a listpack's
    /// integral scores as integers, and `-0` becomes the integer 0.
    pub fn zero_negative_zeros(&mut self, members: Option<&[&[u8]]>) {
        let negative_zero = |s: f64| s == 0.0 && s.is_sign_negative();
        let found: Vec<Blob> = match members {
            Some(members) => members
                .iter()
                .filter(|m| self.score(m).is_some_and(negative_zero))
                .map(|m| blob(m))
                .collect(),
            None => self
                .scores
                .iter()
                .filter(|(_, s)| negative_zero(**s))
                .map(|(m, _)| m.clone())
                .collect(),
        };
        for member in found {
            self.insert(&member, 0.0);
        }
    }

    /// The member and score at position `index` of the member table (an
    /// order of its own, neither rank nor insertion: for cursors).
    pub fn get_index(&self, index: usize) -> Option<(&[u8], f64)> {
        self.scores
            .get_index(index)
            .map(|(member, score)| (member.as_slice(), *score))
    }

    /// Members whose score is at least `min`, in rank order (a score
    /// range scanned from its start, as the GEO searches scan a cell).
    pub fn iter_from_score(&self, min: f64) -> impl Iterator<Item = (&[u8], f64)> + '_ {
        self.order
            .range((Score(min), Blob::new())..)
            .map(|(s, m)| (m.as_slice(), s.0))
    }

    /// Members with scores in rank order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&[u8], f64)> + '_ {
        self.order.iter().map(|(s, m)| (m.as_slice(), s.0))
    }
}

/// The value a key holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string (Redis stores integers as strings too).
    Str(Blob),
    /// A list.
    List(Box<VecDeque<Blob>>),
    /// A hash, in field insertion order.
    Hash(Box<IndexMap<Blob, Blob, FixedHash>>),
    /// A set, in insertion order.
    Set(Box<IndexSet<Blob, FixedHash>>),
    /// A sorted set.
    ZSet(Box<ZSet>),
    /// A stream.
    Stream(Box<crate::stream::Stream>),
}

impl Value {
    /// The name TYPE replies with.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::Stream(_) => "stream",
        }
    }

    /// Redis's `OBJ_*` type code (mixed into DEBUG DIGEST).
    pub fn type_code(&self) -> u32 {
        match self {
            Value::Str(_) => 0,
            Value::List(_) => 1,
            Value::Set(_) => 2,
            Value::ZSet(_) => 3,
            Value::Hash(_) => 4,
            Value::Stream(_) => 6,
        }
    }

    /// A new empty list.
    pub fn new_list() -> Self {
        Value::List(Box::default())
    }

    /// A new empty hash.
    pub fn new_hash() -> Self {
        Value::Hash(Box::default())
    }

    /// A new empty set.
    pub fn new_set() -> Self {
        Value::Set(Box::default())
    }

    /// A new empty sorted set.
    pub fn new_zset() -> Self {
        Value::ZSet(Box::default())
    }

    /// True for a collection with no elements (such keys are deleted). A
    /// stream is never one: Redis keeps empty streams.
    pub fn is_empty_collection(&self) -> bool {
        match self {
            Value::Str(_) => false,
            Value::List(l) => l.is_empty(),
            Value::Hash(h) => h.is_empty(),
            Value::Set(s) => s.is_empty(),
            Value::ZSet(z) => z.is_empty(),
            Value::Stream(_) => false,
        }
    }
}

/// How Redis 7.0 stores a value, as OBJECT ENCODING names it.
///
/// Redis converts a value to its large encoding when a write makes it pass
/// a threshold (`set-max-intset-entries`, `hash-max-listpack-entries`, ...)
/// and never back: only a value built afresh (a store command's result, an
/// RDB load, RESTORE) gets the encoding its contents call for. replsim keeps
/// the encoding next to the value for that reason: the value as it is now
/// does not tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// A string holding a canonical 64-bit integer.
    Int,
    /// A string of up to 44 bytes allocated with its object header.
    Embstr,
    /// Any other string (and every string APPEND, SETRANGE, SETBIT or the
    /// HyperLogLog commands wrote).
    Raw,
    /// A list (Redis 7.0 has no other list encoding).
    Quicklist,
    /// A set of few integers.
    Intset,
    /// A small hash or sorted set.
    Listpack,
    /// A set or hash past its small encoding.
    Hashtable,
    /// A sorted set past its listpack.
    Skiplist,
    /// A stream.
    Stream,
}

impl Encoding {
    /// The name OBJECT ENCODING replies with.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Int => "int",
            Encoding::Embstr => "embstr",
            Encoding::Raw => "raw",
            Encoding::Quicklist => "quicklist",
            Encoding::Intset => "intset",
            Encoding::Listpack => "listpack",
            Encoding::Hashtable => "hashtable",
            Encoding::Skiplist => "skiplist",
            Encoding::Stream => "stream",
        }
    }

    /// The encoding Redis gives a string value made from `bytes` by
    /// `tryObjectEncoding` (SET and its kin, RDB loads).
    pub fn of_string(bytes: &[u8]) -> Encoding {
        if bytes.len() <= 20 && crate::resp::parse_i64(bytes).is_some() {
            Encoding::Int
        } else {
            Encoding::of_string_not_int(bytes.len())
        }
    }

    /// The encoding of a string Redis creates with `createStringObject`,
    /// which never tries the integer form (INCRBYFLOAT's result).
    pub fn of_string_not_int(len: usize) -> Encoding {
        if len <= EMBSTR_MAX_LEN {
            Encoding::Embstr
        } else {
            Encoding::Raw
        }
    }
}

/// Strings up to this length are `embstr` in Redis (one allocation with
/// the object header: `OBJ_ENCODING_EMBSTR_SIZE_LIMIT`).
const EMBSTR_MAX_LEN: usize = 44;

/// The thresholds of Redis's small encodings, from the configuration
/// parameters of the same names. A write compares against the values in
/// force when it runs; changing them converts no existing value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodingLimits {
    /// `set-max-intset-entries`.
    pub set_max_intset_entries: u64,
    /// `hash-max-listpack-entries`.
    pub hash_max_listpack_entries: u64,
    /// `hash-max-listpack-value`.
    pub hash_max_listpack_value: u64,
    /// `zset-max-listpack-entries`.
    pub zset_max_listpack_entries: u64,
    /// `zset-max-listpack-value`.
    pub zset_max_listpack_value: u64,
}

impl Default for EncodingLimits {
    /// Redis 7.0's defaults.
    fn default() -> Self {
        EncodingLimits {
            set_max_intset_entries: 512,
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
        }
    }
}

impl EncodingLimits {
    /// Redis caps the intset at 2^30 entries whatever the parameter says.
    fn intset_max(&self) -> u64 {
        self.set_max_intset_entries.min(1 << 30)
    }

    /// The encoding Redis gives `value` built afresh from its contents: a
    /// store command's result (SINTERSTORE, ZUNIONSTORE, ...), a set SPOP
    /// rebuilt, a value SET or loaded from an RDB's plain types.
    pub fn fresh(&self, value: &Value) -> Encoding {
        match value {
            Value::Str(s) => Encoding::of_string(s),
            Value::List(_) => Encoding::Quicklist,
            Value::Stream(_) => Encoding::Stream,
            Value::Set(set) => {
                if set.len() as u64 <= self.intset_max()
                    && set.iter().all(|m| crate::resp::parse_i64(m).is_some())
                {
                    Encoding::Intset
                } else {
                    Encoding::Hashtable
                }
            }
            Value::Hash(hash) => {
                let max = self.hash_max_listpack_value;
                if hash.len() as u64 <= self.hash_max_listpack_entries
                    && hash
                        .iter()
                        .all(|(f, v)| f.len() as u64 <= max && v.len() as u64 <= max)
                {
                    Encoding::Listpack
                } else {
                    Encoding::Hashtable
                }
            }
            Value::ZSet(zset) => {
                let max = self.zset_max_listpack_value;
                if zset.len() as u64 <= self.zset_max_listpack_entries
                    && zset.iter().all(|(m, _)| m.len() as u64 <= max)
                {
                    Encoding::Listpack
                } else {
                    Encoding::Skiplist
                }
            }
        }
    }

    /// The encoding Redis gives `value` loaded from an RDB (or RESTOREd)
    /// whose type was `written_as`'s: a compact type (intset, listpack)
    /// stays compact unless it has more entries than allowed, whatever its
    /// elements' lengths (`rdbLoadObject`); a plain type is encoded afresh.
    pub fn on_load(&self, value: &Value, written_as: Encoding) -> Encoding {
        match (value, written_as) {
            (Value::Hash(hash), Encoding::Listpack) => {
                if hash.len() as u64 > self.hash_max_listpack_entries {
                    Encoding::Hashtable
                } else {
                    Encoding::Listpack
                }
            }
            (Value::ZSet(zset), Encoding::Listpack) => {
                if zset.len() as u64 > self.zset_max_listpack_entries {
                    Encoding::Skiplist
                } else {
                    Encoding::Listpack
                }
            }
            _ => self.fresh(value),
        }
    }

    /// The encoding after a write put `written` into `value`, encoded
    /// `current` before: Redis's conversions at write time, one way only.
    /// `written` holds, for a set, the members it added; for a hash, every
    /// field and value it set; for a sorted set, the members it inserted
    /// (a new score for an existing member converts nothing).
    fn after_write<'a>(
        &self,
        value: &Value,
        current: Encoding,
        written: impl IntoIterator<Item = &'a [u8]>,
    ) -> Encoding {
        let mut written = written.into_iter().peekable();
        if written.peek().is_none() {
            return current;
        }
        match (value, current) {
            (Value::Set(set), Encoding::Intset) => {
                if set.len() as u64 > self.intset_max()
                    || written.any(|m| crate::resp::parse_i64(m).is_none())
                {
                    Encoding::Hashtable
                } else {
                    current
                }
            }
            (Value::Hash(hash), Encoding::Listpack) => {
                let max = self.hash_max_listpack_value;
                if hash.len() as u64 > self.hash_max_listpack_entries
                    || written.any(|e| e.len() as u64 > max)
                {
                    Encoding::Hashtable
                } else {
                    current
                }
            }
            (Value::ZSet(zset), Encoding::Listpack) => {
                let max = self.zset_max_listpack_value;
                if zset.len() as u64 > self.zset_max_listpack_entries
                    || written.any(|m| m.len() as u64 > max)
                {
                    Encoding::Skiplist
                } else {
                    current
                }
            }
            _ => current,
        }
    }
}

/// A sorted set going into a listpack holds no `-0` score (see
/// [`ZSet::zero_negative_zeros`]).
fn zero_listpack_scores(value: &mut Value, encoding: Encoding) {
    if let (Value::ZSet(zset), Encoding::Listpack) = (value, encoding) {
        zset.zero_negative_zeros(None);
    }
}

/// Sentinel for "no expiry" in [`Entry`].
const NO_EXPIRY: u64 = u64::MAX;

/// A key's value, its encoding and its expiry.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The value.
    pub value: Value,
    expire_at_ms: u64,
    encoding: Encoding,
    /// Redis's `lru` field: when the key was last accessed, or its LFU
    /// counter and decrement time (see [`crate::server::eviction`]).
    access: u32,
}

/// Entries are equal when their values and expiries are: the encoding is
/// how one node stores the data, and two nodes holding the same data may
/// legitimately store it differently (a replica loaded by a full sync
/// encodes afresh what its master converted).
impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value && self.expire_at_ms == other.expire_at_ms
    }
}

impl Entry {
    /// An entry holding `value`, expiring at `expire_at_ms` (unix ms) if
    /// given, encoded as Redis encodes a fresh value under the default
    /// limits.
    pub fn new(value: Value, expire_at_ms: Option<u64>) -> Self {
        let encoding = EncodingLimits::default().fresh(&value);
        Entry {
            value,
            expire_at_ms: expire_at_ms.unwrap_or(NO_EXPIRY),
            encoding,
            access: 0,
        }
    }

    /// The access stamp of the key (Redis's `lru` field).
    #[inline]
    pub fn access(&self) -> u32 {
        self.access
    }

    /// How the value is stored (OBJECT ENCODING).
    #[inline]
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// Absolute expiry in unix ms, if the key has one.
    #[inline]
    pub fn expire_at_ms(&self) -> Option<u64> {
        (self.expire_at_ms != NO_EXPIRY).then_some(self.expire_at_ms)
    }

    /// True when the key's expiry is at or before `now_ms`.
    #[inline]
    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.expire_at_ms != NO_EXPIRY && self.expire_at_ms <= now_ms
    }
}

/// Fingerprint tracking of one db (see [`entry_fingerprint`]): the XOR of
/// its keys' fingerprints, kept current by every mutation. Values changed in
/// place through [`Db::value_mut`] are noted with their old fingerprint and
/// settled when the fingerprint is next read or the key changes again.
#[derive(Debug, Clone, Default)]
struct Tracking {
    index: usize,
    current: u64,
    dirty: Vec<(Blob, u64)>,
}

/// One database.
#[derive(Debug, Clone, Default)]
pub struct Db {
    entries: IndexMap<Blob, Entry, FixedHash>,
    /// Keys with an expiry, ordered by expiry time (for the active expire cycle).
    expiry_index: BTreeSet<(u64, Blob)>,
    tracking: Option<Tracking>,
    /// Keys added since recording started, when it is on (the `new`
    /// keyspace event: Redis's `dbAdd`).
    added: Option<Vec<Blob>>,
    /// Keys created since recording started, when it is on (keys that may
    /// wake clients blocked on them: Redis's `signalKeyAsReady` in
    /// `dbAdd`).
    created: Option<Vec<Blob>>,
    /// Keys given an expiry since recording started, when it is on (a
    /// writable replica's own volatile keys: Redis's
    /// `rememberSlaveKeyWithExpire`).
    expiring: Option<Vec<Blob>>,
    /// The thresholds new and written values are encoded with.
    limits: EncodingLimits,
    /// How new values are stamped for the eviction policies.
    access_clock: AccessClock,
}

/// The access stamp new values get, and whether an overwritten value keeps
/// its old one: set before each command from the clock and the
/// `maxmemory-policy` (see [`crate::server::eviction`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccessClock {
    /// The stamp of a value created now.
    pub fresh: u32,
    /// An overwritten value keeps its stamp (the LFU policies).
    pub keep_on_overwrite: bool,
}

impl PartialEq for Db {
    fn eq(&self, other: &Self) -> bool {
        self.entries.len() == other.entries.len()
            && self
                .entries
                .iter()
                .all(|(k, e)| other.entries.get(k) == Some(e))
    }
}

impl Db {
    fn fingerprint_of(&self, index: usize, key: &[u8]) -> u64 {
        self.entries
            .get(key)
            .map_or(0, |entry| entry_fingerprint(index, key, entry))
    }

    /// Folds a pending in-place change of `key` into the fingerprint.
    fn settle(&mut self, key: &[u8]) {
        let Some(tracking) = &self.tracking else {
            return;
        };
        let Some(at) = tracking.dirty.iter().position(|(k, _)| k.as_slice() == key) else {
            return;
        };
        let index = tracking.index;
        let now = self.fingerprint_of(index, key);
        if let Some(tracking) = &mut self.tracking {
            let (_, old) = tracking.dirty.swap_remove(at);
            tracking.current ^= old ^ now;
        }
    }

    /// Runs a structural change of `key`, keeping the fingerprint current.
    fn tracked<T>(&mut self, key: &[u8], change: impl FnOnce(&mut Db) -> T) -> T {
        let Some(index) = self.tracking.as_ref().map(|t| t.index) else {
            return change(self);
        };
        self.settle(key);
        let before = self.fingerprint_of(index, key);
        let result = change(self);
        let after = self.fingerprint_of(index, key);
        if let Some(tracking) = &mut self.tracking {
            tracking.current ^= before ^ after;
        }
        result
    }

    /// Starts or stops recording the keys added to this db (see
    /// [`take_added`](Self::take_added)).
    pub fn record_added(&mut self, on: bool) {
        self.added = on.then(Vec::new);
    }

    /// The keys added since recording started or since the last call, in
    /// the order they were added.
    pub fn take_added(&mut self) -> Vec<Blob> {
        self.added.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Starts or stops recording the keys given an expiry (see
    /// [`take_expiring`](Self::take_expiring)).
    pub fn record_expiring(&mut self, on: bool) {
        self.expiring = on.then(Vec::new);
    }

    /// The keys given an expiry since recording started or since the last
    /// call.
    pub fn take_expiring(&mut self) -> Vec<Blob> {
        self.expiring
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Starts or stops recording the keys created in this db for blocked
    /// clients (see [`take_created`](Self::take_created)).
    pub fn record_created(&mut self, on: bool) {
        self.created = on.then(Vec::new);
    }

    /// The keys created since recording started or since the last call,
    /// in the order they were created.
    pub fn take_created(&mut self) -> Vec<Blob> {
        self.created
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Starts fingerprint tracking of this db, numbered `index`.
    pub fn start_tracking(&mut self, index: usize) {
        let current = self
            .entries
            .iter()
            .fold(0, |acc, (k, e)| acc ^ entry_fingerprint(index, k, e));
        self.tracking = Some(Tracking {
            index,
            current,
            dirty: Vec::new(),
        });
    }

    /// The tracked fingerprint, if tracking is on.
    pub fn tracked_fingerprint(&mut self) -> Option<u64> {
        while let Some(key) = self.tracking.as_ref()?.dirty.last().map(|(k, _)| k.clone()) {
            self.settle(&key);
        }
        self.tracking.as_ref().map(|t| t.current)
    }

    /// Number of keys, logically expired ones included (as DBSIZE counts).
    #[inline]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the db holds no key.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The bytes of the key table's slots that hold no key (deleted keys'
    /// slots, kept for new ones): memory a deletion freed for reuse, as
    /// Redis's allocator gets back a deleted key's entry.
    pub fn spare_slot_bytes(&self) -> usize {
        const SLOT: usize = std::mem::size_of::<usize>()
            + std::mem::size_of::<Blob>()
            + std::mem::size_of::<Entry>();
        (self.entries.capacity() - self.entries.len()) * SLOT
    }

    /// Number of keys with an expiry.
    pub fn volatile_len(&self) -> usize {
        self.expiry_index.len()
    }

    /// The key at position `index` among those with an expiry, earliest
    /// expiry first (walks the index: for eviction's sampling only).
    pub fn volatile_key_at(&self, index: usize) -> Option<&[u8]> {
        self.expiry_index
            .iter()
            .nth(index)
            .map(|(_, key)| key.as_slice())
    }

    /// The entry of `key`, expired or not.
    #[inline]
    pub fn get(&self, key: &[u8]) -> Option<&Entry> {
        self.entries.get(key)
    }

    /// The position and entry of `key` (see [`Db::get_index`]).
    #[inline]
    pub fn get_full(&self, key: &[u8]) -> Option<(usize, &Entry)> {
        self.entries
            .get_full(key)
            .map(|(index, _, entry)| (index, entry))
    }

    /// The value of `key` for modification in place (expiry unchanged).
    #[inline]
    pub fn value_mut(&mut self, key: &[u8]) -> Option<&mut Value> {
        self.value_mut_touched(key, |access| access)
    }

    /// The value of `key` for modification in place, its access stamp
    /// replaced by what `touch` makes of it (a lookup for writing).
    #[inline]
    pub fn value_mut_touched(
        &mut self,
        key: &[u8],
        touch: impl FnOnce(u32) -> u32,
    ) -> Option<&mut Value> {
        if let Some(tracking) = &self.tracking {
            let index = tracking.index;
            if !tracking.dirty.iter().any(|(k, _)| k.as_slice() == key)
                && self.entries.contains_key(key)
            {
                let old = self.fingerprint_of(index, key);
                if let Some(tracking) = &mut self.tracking {
                    tracking.dirty.push((blob(key), old));
                }
            }
        }
        let entry = self.entries.get_mut(key)?;
        entry.access = touch(entry.access);
        Some(&mut entry.value)
    }

    /// Stores `value` under `key` with no expiry, replacing any old value.
    pub fn insert(&mut self, key: &[u8], value: Value) {
        self.insert_with_expiry(key, value, None);
    }

    /// Stores `value` under `key` with the given expiry. The value is
    /// encoded afresh from its contents, as Redis encodes a new object.
    pub fn insert_with_expiry(&mut self, key: &[u8], value: Value, expire_at_ms: Option<u64>) {
        let encoding = self.limits.fresh(&value);
        self.insert_encoded(key, value, expire_at_ms, encoding);
    }

    /// Stores `value` under `key` with the given expiry and `encoding`
    /// (a value moved or copied keeps its encoding, as Redis keeps the
    /// object or duplicates it encoding and all).
    pub fn insert_encoded(
        &mut self,
        key: &[u8],
        value: Value,
        expire_at_ms: Option<u64>,
        encoding: Encoding,
    ) {
        self.tracked(key, |db| {
            db.insert_untracked(key, value, expire_at_ms, encoding)
        });
    }

    fn insert_untracked(
        &mut self,
        key: &[u8],
        mut value: Value,
        expire_at_ms: Option<u64>,
        encoding: Encoding,
    ) {
        zero_listpack_scores(&mut value, encoding);
        let expire = expire_at_ms.unwrap_or(NO_EXPIRY);
        match self.entries.get_mut(key) {
            Some(entry) => {
                // An overwritten stream wakes its XREADGROUP clients
                // (Redis's `dbOverwrite` signals it).
                if matches!(entry.value, Value::Stream(_)) {
                    if let Some(created) = &mut self.created {
                        created.push(blob(key));
                    }
                }
                if entry.expire_at_ms != NO_EXPIRY {
                    self.expiry_index.remove(&(entry.expire_at_ms, blob(key)));
                }
                entry.value = value;
                entry.expire_at_ms = expire;
                entry.encoding = encoding;
                // A new object is stamped afresh; an LFU counter survives
                // the overwrite (Redis's `dbSetValue`).
                if !self.access_clock.keep_on_overwrite {
                    entry.access = self.access_clock.fresh;
                }
            }
            None => {
                if let Some(added) = &mut self.added {
                    added.push(blob(key));
                }
                if let Some(created) = &mut self.created {
                    created.push(blob(key));
                }
                self.entries.insert(
                    blob(key),
                    Entry {
                        value,
                        expire_at_ms: expire,
                        encoding,
                        access: self.access_clock.fresh,
                    },
                );
            }
        }
        if expire != NO_EXPIRY {
            self.expiry_index.insert((expire, blob(key)));
            if let Some(expiring) = &mut self.expiring {
                expiring.push(blob(key));
            }
        }
    }

    /// Replaces the value of `key`, keeping its expiry (or none if new);
    /// the value is encoded afresh.
    pub fn insert_keep_ttl(&mut self, key: &[u8], value: Value) {
        let encoding = self.limits.fresh(&value);
        let clock = self.access_clock;
        self.tracked(key, |db| match db.entries.get_mut(key) {
            Some(entry) => {
                entry.value = value;
                zero_listpack_scores(&mut entry.value, encoding);
                entry.encoding = encoding;
                if !clock.keep_on_overwrite {
                    entry.access = clock.fresh;
                }
            }
            None => db.insert_untracked(key, value, None, encoding),
        });
    }

    /// Sets the encoding of `key`'s value, for writes whose result Redis
    /// encodes otherwise than afresh (APPEND and SETRANGE leave `raw`,
    /// INCRBYFLOAT never `int`, ...).
    pub fn set_encoding(&mut self, key: &[u8], encoding: Encoding) {
        if let Some(entry) = self.entries.get_mut(key) {
            entry.encoding = encoding;
        }
    }

    /// Re-encodes `key`'s value afresh from its contents (a value Redis
    /// rebuilt as a new object, as SPOP does with what it leaves).
    pub fn encode_afresh(&mut self, key: &[u8]) {
        let limits = self.limits;
        if let Some(entry) = self.entries.get_mut(key) {
            entry.encoding = limits.fresh(&entry.value);
        }
    }

    /// Applies Redis's write-time conversion to `key`'s value after a write
    /// put `written` into it: for a set, the members added; for a hash,
    /// every field and value set; for a sorted set, the members inserted.
    /// A compact encoding turns large when the value now has more entries
    /// than allowed or an element written is not fit for it; a large one
    /// stays.
    pub fn note_written<'a>(&mut self, key: &[u8], written: impl IntoIterator<Item = &'a [u8]>) {
        let limits = self.limits;
        if let Some(entry) = self.entries.get_mut(key) {
            entry.encoding = limits.after_write(&entry.value, entry.encoding, written);
        }
    }

    /// Sets the access stamp of `key`'s entry.
    pub fn set_access(&mut self, key: &[u8], access: u32) {
        if let Some(entry) = self.entries.get_mut(key) {
            entry.access = access;
        }
    }

    /// Sets the access stamp of the entry at position `index` (see
    /// [`Db::get_index`]): a lookup touched it.
    #[inline]
    pub fn set_access_at(&mut self, index: usize, access: u32) {
        if let Some((_, entry)) = self.entries.get_index_mut(index) {
            entry.access = access;
        }
    }

    /// The thresholds values are encoded with.
    pub fn encoding_limits(&self) -> EncodingLimits {
        self.limits
    }

    /// Sets or clears the expiry of an existing key; false when absent.
    pub fn set_expiry(&mut self, key: &[u8], expire_at_ms: Option<u64>) -> bool {
        self.tracked(key, |db| db.set_expiry_untracked(key, expire_at_ms))
    }

    fn set_expiry_untracked(&mut self, key: &[u8], expire_at_ms: Option<u64>) -> bool {
        let Some(entry) = self.entries.get_mut(key) else {
            return false;
        };
        if entry.expire_at_ms != NO_EXPIRY {
            self.expiry_index.remove(&(entry.expire_at_ms, blob(key)));
        }
        entry.expire_at_ms = expire_at_ms.unwrap_or(NO_EXPIRY);
        if let Some(at) = expire_at_ms {
            self.expiry_index.insert((at, blob(key)));
            if let Some(expiring) = &mut self.expiring {
                expiring.push(blob(key));
            }
        }
        true
    }

    /// Removes `key`, returning its entry.
    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        self.tracked(key, |db| db.remove_untracked(key))
    }

    fn remove_untracked(&mut self, key: &[u8]) -> Option<Entry> {
        let entry = self.entries.swap_remove(key)?;
        // A deleted stream wakes its XREADGROUP clients (`dbGenericDelete`).
        if matches!(entry.value, Value::Stream(_)) {
            if let Some(created) = &mut self.created {
                created.push(blob(key));
            }
        }
        if entry.expire_at_ms != NO_EXPIRY {
            self.expiry_index.remove(&(entry.expire_at_ms, blob(key)));
        }
        Some(entry)
    }

    /// Removes every key.
    pub fn clear(&mut self) {
        self.entries = IndexMap::default();
        self.expiry_index.clear();
        if let Some(tracking) = &mut self.tracking {
            tracking.current = 0;
            tracking.dirty.clear();
        }
    }

    /// All keys with their entries, in the db's deterministic order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &Entry)> + '_ {
        self.entries.iter().map(|(k, e)| (k.as_slice(), e))
    }

    /// The key and entry at position `index` of the db's order.
    pub fn get_index(&self, index: usize) -> Option<(&[u8], &Entry)> {
        self.entries
            .get_index(index)
            .map(|(k, e)| (k.as_slice(), e))
    }

    /// The expiry times of the keys that have one.
    pub fn expiry_times(&self) -> impl Iterator<Item = u64> + '_ {
        self.expiry_index.iter().map(|(at, _)| *at)
    }

    /// Up to `limit` keys whose expiry is at or before `now_ms`, earliest first.
    pub fn expired_keys(&self, now_ms: u64, limit: usize) -> Vec<Blob> {
        self.expiry_index
            .iter()
            .take_while(|(at, _)| *at <= now_ms)
            .take(limit)
            .map(|(_, k)| k.clone())
            .collect()
    }
}

/// All databases of a node.
#[derive(Debug, Clone, PartialEq)]
pub struct Keyspace {
    dbs: Vec<Db>,
    /// The FUNCTION libraries (data of the node as its keys are: saved
    /// in the RDB and replaced by a full sync; FLUSHALL leaves them).
    pub functions: crate::scripting::library::FunctionLibraries,
}

impl Default for Keyspace {
    fn default() -> Self {
        Keyspace::new()
    }
}

impl Keyspace {
    /// [`DB_COUNT`] empty databases.
    pub fn new() -> Self {
        Keyspace {
            dbs: (0..DB_COUNT).map(|_| Db::default()).collect(),
            functions: Default::default(),
        }
    }

    /// Database `index` (< [`DB_COUNT`]).
    #[inline]
    pub fn db(&self, index: usize) -> &Db {
        &self.dbs[index]
    }

    /// Database `index` for modification.
    #[inline]
    pub fn db_mut(&mut self, index: usize) -> &mut Db {
        &mut self.dbs[index]
    }

    /// All databases with their index.
    pub fn dbs(&self) -> impl Iterator<Item = (usize, &Db)> + '_ {
        self.dbs.iter().enumerate()
    }

    /// Total number of keys over all databases.
    pub fn key_count(&self) -> usize {
        self.dbs.iter().map(Db::len).sum()
    }

    /// Empties every database.
    pub fn clear(&mut self) {
        for db in &mut self.dbs {
            db.clear();
        }
    }

    /// Sets the thresholds later writes encode values with (CONFIG SET):
    /// existing values keep their encodings, as in Redis.
    pub fn set_encoding_limits(&mut self, limits: EncodingLimits) {
        for db in &mut self.dbs {
            db.limits = limits;
        }
    }

    /// Sets how values written from now on are stamped.
    pub fn set_access_clock(&mut self, clock: AccessClock) {
        if self.dbs.first().is_some_and(|db| db.access_clock == clock) {
            return;
        }
        for db in &mut self.dbs {
            db.access_clock = clock;
        }
    }

    /// Encodes every value of a keyspace just loaded from an RDB as Redis
    /// does on load under `limits` (see [`EncodingLimits::on_load`]); the
    /// loader left in each entry the encoding of the RDB type it was
    /// written as. Later writes use `limits`.
    pub fn settle_loaded_encodings(&mut self, limits: EncodingLimits) {
        for db in &mut self.dbs {
            db.limits = limits;
            for entry in db.entries.values_mut() {
                entry.encoding = limits.on_load(&entry.value, entry.encoding);
                zero_listpack_scores(&mut entry.value, entry.encoding);
            }
        }
    }

    /// Exchanges the contents of dbs `a` and `b` (SWAPDB).
    pub fn swap_dbs(&mut self, a: usize, b: usize) {
        self.dbs.swap(a, b);
        // A fingerprint names its db: recompute both under their new index.
        for index in [a, b] {
            if self.dbs[index].tracking.is_some() {
                self.dbs[index].start_tracking(index);
            }
        }
    }

    /// Starts fingerprint tracking of every db (simulation checker).
    pub fn start_tracking(&mut self) {
        for (index, db) in self.dbs.iter_mut().enumerate() {
            db.start_tracking(index);
        }
    }

    /// The XOR of every key's [`entry_fingerprint`], if tracking is on.
    pub fn tracked_fingerprint(&mut self) -> Option<u64> {
        self.dbs
            .iter_mut()
            .map(Db::tracked_fingerprint)
            .try_fold(0, |acc, fp| fp.map(|fp| acc ^ fp))
    }
}

/// A 64-bit fingerprint of one key: its db, name, value and expiry.
/// Element order does not count for sets, hashes and sorted sets (two nodes
/// may hold the same set in different internal orders), and does for lists.
/// XORed over all keys it gives a keyspace fingerprint that can be updated
/// key by key (the simulation's consistency checker uses it).
pub fn entry_fingerprint(db: usize, key: &[u8], entry: &Entry) -> u64 {
    use std::hash::{Hash, Hasher};
    // SipHash with fixed keys: the same value in every run and process.
    let hash = |parts: &dyn Fn(&mut std::collections::hash_map::DefaultHasher)| {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        parts(&mut hasher);
        hasher.finish()
    };
    let value = match &entry.value {
        Value::Str(s) => hash(&|h| (0u8, s.as_slice()).hash(h)),
        Value::List(items) => hash(&|h| {
            1u8.hash(h);
            for item in items.iter() {
                item.as_slice().hash(h);
            }
        }),
        Value::Set(members) => members
            .iter()
            .fold(2, |acc, m| acc ^ hash(&|h| (2u8, m.as_slice()).hash(h))),
        Value::ZSet(zset) => zset.iter().fold(3, |acc, (m, s)| {
            acc ^ hash(&|h| (3u8, m, s.to_bits()).hash(h))
        }),
        Value::Hash(fields) => fields.iter().fold(4, |acc, (f, v)| {
            acc ^ hash(&|h| (4u8, f.as_slice(), v.as_slice()).hash(h))
        }),
        Value::Stream(stream) => stream_fingerprint(stream),
    };
    hash(&|h| (db, key, value, entry.expire_at_ms).hash(h))
}

/// A stream's part of [`entry_fingerprint`]: what replication must carry
/// (see `Stream`'s `PartialEq`): entries, metadata, groups with their
/// last-delivered ID, PELs (owner and delivery count) and consumers'
/// pending IDs.
fn stream_fingerprint(stream: &crate::stream::Stream) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    6u8.hash(&mut h);
    (
        stream.length,
        stream.last_id,
        stream.first_id,
        stream.max_deleted_entry_id,
        stream.entries_added,
    )
        .hash(&mut h);
    for entry in stream.iter() {
        entry.id.hash(&mut h);
        for (f, v) in &entry.pairs {
            (f.as_slice(), v.as_slice()).hash(&mut h);
        }
    }
    for (name, group) in &stream.groups {
        (name.as_slice(), group.last_id).hash(&mut h);
        for (id, p) in &group.pel {
            (id, p.consumer.as_slice(), p.delivery_count).hash(&mut h);
        }
        for (consumer, c) in &group.consumers {
            consumer.as_slice().hash(&mut h);
            c.pending.len().hash(&mut h);
        }
    }
    h.finish()
}

/// Formats a double as Redis 7.0 replies with it and mixes it into digests:
/// `%.17g`, with `inf` / `-inf`.
pub fn format_score(value: f64) -> String {
    if value.is_infinite() {
        return if value > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    format_g17(value)
}

/// C's `printf("%.17g", value)` for finite values.
fn format_g17(value: f64) -> String {
    if value == 0.0 {
        return if value.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    const PRECISION: i32 = 17;
    let sci = format!("{:.*e}", (PRECISION - 1) as usize, value);
    let (mantissa, exponent) = sci.split_once('e').expect("exponent form");
    let exponent: i32 = exponent.parse().expect("exponent digits");
    if !(-4..PRECISION).contains(&exponent) {
        let mantissa = strip_fraction_zeros(mantissa);
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.abs())
    } else {
        let decimals = (PRECISION - 1 - exponent).max(0) as usize;
        strip_fraction_zeros(&format!("{value:.decimals$}")).to_string()
    }
}

fn strip_fraction_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

impl fmt::Display for Score {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_score(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_print_like_printf_g17() {
        let cases = [
            (1.1, "1.1000000000000001"),
            (2.0, "2"),
            (2.5, "2.5"),
            (-0.0, "-0"),
            (1e20, "1e+20"),
            (1.5e-5, "1.5e-05"),
            (1.1e-5, "1.1e-05"),
            (0.1, "0.10000000000000001"),
            (1.0 / 3.0, "0.33333333333333331"),
            (1e-7, "9.9999999999999995e-08"),
            (12345678901234567.0, "12345678901234568"),
            (1e16, "10000000000000000"),
            (1e17, "1e+17"),
            (0.0001, "0.0001"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for (value, text) in cases {
            assert_eq!(format_score(value), text, "{value}");
        }
    }

    #[test]
    fn dbs_holding_the_same_data_in_other_encodings_are_equal_and_other_data_is_not() {
        let mut master = Db::default();
        let mut replica = Db::default();
        for db in [&mut master, &mut replica] {
            db.insert(b"s", set_of(&["1", "2"]));
        }
        // The master converted the set once; the replica, loaded by a full
        // sync, holds it in the small encoding: the same data.
        master.set_encoding(b"s", Encoding::Hashtable);
        assert_eq!(replica.entries[b"s".as_slice()].encoding, Encoding::Intset);
        assert!(master == replica);
        // Different data is still told apart.
        replica.insert(b"s", set_of(&["1", "3"]));
        assert!(master != replica);
    }

    #[test]
    fn expiry_index_follows_every_change() {
        let mut db = Db::default();
        db.insert_with_expiry(b"a", Value::Str(blob(b"1")), Some(100));
        db.insert_with_expiry(b"b", Value::Str(blob(b"2")), Some(50));
        db.insert(b"c", Value::Str(blob(b"3")));
        assert_eq!(db.expired_keys(100, 10), vec![blob(b"b"), blob(b"a")]);
        db.insert(b"a", Value::Str(blob(b"x")));
        assert_eq!(db.expired_keys(100, 10), vec![blob(b"b")]);
        db.set_expiry(b"b", None);
        db.set_expiry(b"c", Some(10));
        assert_eq!(db.expired_keys(1000, 10), vec![blob(b"c")]);
        db.remove(b"c");
        assert_eq!(db.volatile_len(), 0);
    }

    fn set_of(members: &[&str]) -> Value {
        Value::Set(Box::new(
            members.iter().map(|m| blob(m.as_bytes())).collect(),
        ))
    }

    #[test]
    fn fresh_values_take_the_encoding_their_contents_call_for() {
        let limits = EncodingLimits::default();
        assert_eq!(limits.fresh(&Value::Str(blob(b"-12"))), Encoding::Int);
        assert_eq!(limits.fresh(&Value::Str(blob(b"012"))), Encoding::Embstr);
        assert_eq!(
            limits.fresh(&Value::Str(blob(&[b'a'; 44]))),
            Encoding::Embstr
        );
        assert_eq!(limits.fresh(&Value::Str(blob(&[b'a'; 45]))), Encoding::Raw);
        assert_eq!(limits.fresh(&set_of(&["1", "2"])), Encoding::Intset);
        assert_eq!(limits.fresh(&set_of(&["1", "a"])), Encoding::Hashtable);
        let few = EncodingLimits {
            set_max_intset_entries: 1,
            ..limits
        };
        assert_eq!(few.fresh(&set_of(&["1", "2"])), Encoding::Hashtable);
        assert_eq!(limits.fresh(&Value::new_list()), Encoding::Quicklist);
    }

    #[test]
    fn a_write_converts_one_way_and_a_limit_change_converts_nothing() {
        let mut db = Db::default();
        db.insert(b"s", set_of(&["1", "2"]));
        assert_eq!(db.get(b"s").unwrap().encoding(), Encoding::Intset);
        if let Some(Value::Set(set)) = db.value_mut(b"s") {
            set.insert(blob(b"a"));
        }
        db.note_written(b"s", [&b"a"[..]]);
        assert_eq!(db.get(b"s").unwrap().encoding(), Encoding::Hashtable);
        if let Some(Value::Set(set)) = db.value_mut(b"s") {
            set.swap_remove(&b"a"[..]);
        }
        db.note_written(b"s", [&b"3"[..]]);
        assert_eq!(db.get(b"s").unwrap().encoding(), Encoding::Hashtable);
        // The same contents inserted afresh are an intset again.
        db.insert(b"t", set_of(&["1", "2"]));
        assert_eq!(db.get(b"t").unwrap().encoding(), Encoding::Intset);
        // Entries with the same data are equal whatever their encodings.
        assert_eq!(db.get(b"s"), db.get(b"t"));

        let mut keyspace = Keyspace::new();
        keyspace.db_mut(0).insert(b"s", set_of(&["1", "2", "3"]));
        keyspace.set_encoding_limits(EncodingLimits {
            set_max_intset_entries: 2,
            ..EncodingLimits::default()
        });
        let db = keyspace.db_mut(0);
        assert_eq!(db.get(b"s").unwrap().encoding(), Encoding::Intset);
        db.note_written(b"s", std::iter::empty());
        assert_eq!(db.get(b"s").unwrap().encoding(), Encoding::Intset);
        if let Some(Value::Set(set)) = db.value_mut(b"s") {
            set.insert(blob(b"4"));
        }
        db.note_written(b"s", [&b"4"[..]]);
        assert_eq!(db.get(b"s").unwrap().encoding(), Encoding::Hashtable);
    }

    #[test]
    fn loads_keep_a_listpack_that_has_few_enough_entries() {
        let limits = EncodingLimits::default();
        let mut hash = IndexMap::with_hasher(FixedHash::default());
        hash.insert(blob(b"f"), blob(&[b'v'; 100]));
        let hash = Value::Hash(Box::new(hash));
        assert_eq!(
            limits.on_load(&hash, Encoding::Listpack),
            Encoding::Listpack
        );
        assert_eq!(
            limits.on_load(&hash, Encoding::Hashtable),
            Encoding::Hashtable
        );
        let small = set_of(&["1"]);
        assert_eq!(
            limits.on_load(&small, Encoding::Hashtable),
            Encoding::Intset
        );
    }

    #[test]
    fn zset_orders_by_score_then_member() {
        let mut z = ZSet::default();
        z.insert(b"b", 1.0);
        z.insert(b"a", 1.0);
        z.insert(b"c", 0.5);
        z.insert(b"c", 2.0);
        let order: Vec<_> = z.iter().map(|(m, s)| (m.to_vec(), s)).collect();
        assert_eq!(
            order,
            vec![
                (b"a".to_vec(), 1.0),
                (b"b".to_vec(), 1.0),
                (b"c".to_vec(), 2.0)
            ]
        );
        assert!(z.remove(b"a"));
        assert!(!z.remove(b"a"));
        assert_eq!(z.len(), 2);
    }
}
