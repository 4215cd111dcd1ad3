//! The RDB snapshot format, as Redis 7.0 writes it (version 10): [`encode`]
//! turns a [`Keyspace`] into the bytes a replica loads after `+FULLRESYNC`,
//! and [`decode`] loads what a real master (or `SAVE`) produces.
//!
//! The encoder writes only the simple, encoding-independent value types
//! (string, list, set, hash, zset2), which every Redis since 4.0 loads, and
//! streams as Redis 7.0 writes them (`RDB_TYPE_STREAM_LISTPACKS_2`: the
//! nodes' listpacks byte for byte, then the metadata, the groups with their
//! PELs and the consumers); the
//! decoder also understands every compact container a 7.0 master sends
//! (listpacks, quicklists, intsets) and the older ziplist and zipmap forms.
//!
//! Decoding is defensive: every length is checked against the bytes that are
//! left, preallocation is capped by the input size, and any malformed input
//! gives an [`RdbError`] (never a panic, never a partial keyspace).
//!
//! Choices where Redis is looser or does something else:
//! - a collection that decodes empty is skipped (Redis 7.0 skips most such
//!   keys as "empty keys" and rejects a few): an empty collection cannot
//!   exist in a keyspace;
//! - duplicate keys in a db and duplicate members or fields inside a value are
//!   errors, also inside compact containers (Redis checks the latter only with
//!   `sanitize-dump-payload yes`);
//! - ziplists and listpacks are always fully validated (entry sizes, back
//!   lengths, counts, tail offset);
//! - bytes after the checksum are an error (the caller hands over exactly one
//!   payload);
//! - a negative expire time (possible in the format) loads as 0, i.e. as long
//!   expired.

use std::borrow::Cow;
use std::collections::VecDeque;

use crc::{Crc, CRC_64_REDIS};
use indexmap::{IndexMap, IndexSet};

use crate::keyspace::{
    blob, format_score, Blob, Encoding, FixedHash, Keyspace, Value, ZSet, DB_COUNT,
};
use crate::stream::{Group, NodeElement, Stream, StreamId};

/// The version [`encode`] writes and the newest [`decode`] accepts.
const RDB_VERSION: u32 = 10;

static CRC64: Crc<u64> = Crc::<u64>::new(&CRC_64_REDIS);

// Opcodes (`RDB_OPCODE_*`).
const OP_FUNCTION2: u8 = 0xF5;
const OP_FUNCTION_PRE_GA: u8 = 0xF6;
const OP_MODULE_AUX: u8 = 0xF7;
const OP_IDLE: u8 = 0xF8;
const OP_FREQ: u8 = 0xF9;
const OP_AUX: u8 = 0xFA;
const OP_RESIZEDB: u8 = 0xFB;
const OP_EXPIRETIME_MS: u8 = 0xFC;
const OP_EXPIRETIME: u8 = 0xFD;
const OP_SELECTDB: u8 = 0xFE;
const OP_EOF: u8 = 0xFF;

// Value types (`RDB_TYPE_*`).
const TYPE_STRING: u8 = 0;
const TYPE_LIST: u8 = 1;
const TYPE_SET: u8 = 2;
const TYPE_ZSET: u8 = 3;
const TYPE_HASH: u8 = 4;
const TYPE_ZSET_2: u8 = 5;
const TYPE_MODULE_PRE_GA: u8 = 6;
const TYPE_MODULE_2: u8 = 7;
const TYPE_HASH_ZIPMAP: u8 = 9;
const TYPE_LIST_ZIPLIST: u8 = 10;
const TYPE_SET_INTSET: u8 = 11;
const TYPE_ZSET_ZIPLIST: u8 = 12;
const TYPE_HASH_ZIPLIST: u8 = 13;
const TYPE_LIST_QUICKLIST: u8 = 14;
const TYPE_STREAM_LISTPACKS: u8 = 15;
const TYPE_HASH_LISTPACK: u8 = 16;
const TYPE_ZSET_LISTPACK: u8 = 17;
const TYPE_LIST_QUICKLIST_2: u8 = 18;
const TYPE_STREAM_LISTPACKS_2: u8 = 19;

// Quicklist v2 node containers.
const QUICKLIST_NODE_PLAIN: u64 = 1;
const QUICKLIST_NODE_PACKED: u64 = 2;

/// Caps any preallocation driven by a length read from the input.
const MAX_PREALLOC: usize = 1 << 16;

/// Aux fields replsim writes and reads.
///
/// On decode, a field absent from the file is left empty, 0 or `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdbInfo {
    /// `redis-ver`: the version of the server that wrote the file
    /// ([`Default`] is replsim's compatibility version, "7.0.15").
    pub redis_ver: String,
    /// `ctime`: creation time, unix seconds.
    pub ctime_unix_s: u64,
    /// `used-mem`: memory use of the writer when it saved, bytes.
    pub used_mem: u64,
    /// `repl-stream-db`: the db the replication stream had selected; `None`
    /// when not written / not present (a negative value also reads as `None`).
    pub repl_stream_db: Option<u32>,
    /// `repl-id`: the replication id (40 hex characters). On decode, a value
    /// of another length or alphabet is ignored, as Redis ignores it.
    pub repl_id: Option<String>,
    /// `repl-offset`: the replication offset the snapshot corresponds to.
    pub repl_offset: Option<i64>,
}

impl Default for RdbInfo {
    fn default() -> Self {
        RdbInfo {
            redis_ver: crate::REDIS_COMPAT_VERSION.to_string(),
            ctime_unix_s: 0,
            used_mem: 0,
            repl_stream_db: None,
            repl_id: None,
            repl_offset: None,
        }
    }
}

/// A decoded RDB.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Every key of the file, already-expired ones included.
    pub keyspace: Keyspace,
    /// The aux fields replsim understands.
    pub info: RdbInfo,
    /// The stored CRC was 0, which means the writer had `rdbchecksum no`:
    /// the content was accepted unverified (Redis logs a warning).
    pub checksum_disabled: bool,
    /// The file's RDB format version (1..=10).
    pub version: u32,
}

/// Why an RDB could not be decoded.
///
/// Offsets are byte positions in the RDB. For an error inside a compact
/// container (listpack, ziplist, intset, zipmap) they point at the RDB string
/// that holds the container, since its bytes may be LZF-compressed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RdbError {
    /// The input does not start with `REDIS` and four ASCII digits.
    #[error("not an RDB file: no REDIS<4 digits> magic at the start")]
    BadMagic,
    /// The format version is 0 or newer than this decoder (Redis 7.0) knows.
    #[error("can't handle RDB format version {0}")]
    UnsupportedVersion(u32),
    /// The input ended early: more bytes were needed at `offset`.
    #[error("RDB truncated: input ends where more bytes were needed at offset {offset}")]
    Truncated {
        /// Where the read that ran past the end began.
        offset: usize,
    },
    /// The stored CRC64 does not match the content.
    #[error("wrong RDB checksum: content has {expected:016x}, file stores {found:016x}")]
    BadChecksum {
        /// The CRC64 computed over the content.
        expected: u64,
        /// The CRC64 stored in the file.
        found: u64,
    },
    /// A value type byte that no Redis version defines (or 7.0 cannot load).
    #[error("unknown RDB value type {type_byte} at offset {offset}")]
    UnknownType {
        /// The type byte.
        type_byte: u8,
        /// Where it is.
        offset: usize,
    },
    /// A value type Redis defines but replsim has no data type for.
    #[error("unsupported RDB value type {type_byte} ({name}) at offset {offset}")]
    UnsupportedType {
        /// The type byte.
        type_byte: u8,
        /// What it holds ("stream", "module value").
        name: &'static str,
        /// Where it is.
        offset: usize,
    },
    /// A function library record whose code has no valid first line, or
    /// names a library already read.
    #[error("bad function library at offset {offset}: {reason}")]
    BadFunctionLibrary {
        /// Where the record starts.
        offset: usize,
        /// What is wrong, in Redis's words.
        reason: String,
    },
    /// An opcode for data replsim cannot hold (module aux data).
    #[error("unsupported RDB opcode 0x{opcode:02x} ({name}) at offset {offset}")]
    UnsupportedOpcode {
        /// The opcode byte.
        opcode: u8,
        /// What it carries.
        name: &'static str,
        /// Where it is.
        offset: usize,
    },
    /// A length that cannot be right (too large for what holds it, or
    /// inconsistent with another length).
    #[error("bad length {len} for {what} at offset {offset}")]
    BadLength {
        /// What the length is of.
        what: &'static str,
        /// The length read.
        len: u64,
        /// Where it is.
        offset: usize,
    },
    /// Bytes that do not follow the format.
    #[error("bad RDB encoding at offset {offset}: {what}")]
    BadEncoding {
        /// What is wrong.
        what: &'static str,
        /// Where it is.
        offset: usize,
    },
    /// `SELECTDB` names a database beyond the 16 that exist.
    #[error("RDB selects database {0}, but only 0..16 exist")]
    InvalidDb(u64),
    /// The same key appears twice in one database.
    #[error("duplicate key '{key}' in db {db} at offset {offset}")]
    DuplicateKey {
        /// The database.
        db: usize,
        /// The key, escaped and shortened for display.
        key: String,
        /// Where its record starts.
        offset: usize,
    },
    /// A numeric aux field that is not a valid integer for its meaning.
    #[error("aux field '{key}' at offset {offset} does not hold a valid integer")]
    BadAux {
        /// The aux field name.
        key: &'static str,
        /// Where the aux record starts.
        offset: usize,
    },
    /// Bytes follow the end of the RDB.
    #[error("{count} unexpected bytes after the end of the RDB at offset {offset}")]
    TrailingBytes {
        /// Where they start.
        offset: usize,
        /// How many.
        count: usize,
    },
}

/// Redis's CRC64 (Jones polynomial, reflected, as `crc64.c`): the RDB
/// checksum over everything from `REDIS` through the EOF opcode.
pub fn crc64(bytes: &[u8]) -> u64 {
    CRC64.checksum(bytes)
}

// ---------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------

/// Serializes `keyspace` as an RDB version 10 file with the aux fields of
/// `info`, in the order and encodings Redis 7.0 uses.
///
/// Every key is written, expired or not (like a replica's BGSAVE). Empty
/// collections, which a keyspace should never hold, are left out since no
/// Redis loads them.
pub fn encode(keyspace: &Keyspace, info: &RdbInfo) -> Vec<u8> {
    let mut enc = Encoder::default();
    enc.out.extend_from_slice(b"REDIS");
    enc.out
        .extend_from_slice(format!("{RDB_VERSION:04}").as_bytes());

    enc.aux(b"redis-ver", info.redis_ver.as_bytes());
    enc.aux(b"redis-bits", b"64");
    enc.aux(b"ctime", info.ctime_unix_s.to_string().as_bytes());
    enc.aux(b"used-mem", info.used_mem.to_string().as_bytes());
    if let Some(db) = info.repl_stream_db {
        enc.aux(b"repl-stream-db", db.to_string().as_bytes());
    }
    if let Some(id) = &info.repl_id {
        enc.aux(b"repl-id", id.as_bytes());
    }
    if let Some(offset) = info.repl_offset {
        enc.aux(b"repl-offset", offset.to_string().as_bytes());
    }
    enc.aux(b"aof-base", b"0");
    for (_, code) in keyspace.functions.iter() {
        enc.out.push(OP_FUNCTION2);
        enc.string(code);
    }

    for (index, db) in keyspace.dbs() {
        let live = || db.iter().filter(|(_, e)| !e.value.is_empty_collection());
        let size = live().count();
        if size == 0 {
            continue;
        }
        let expires = live().filter(|(_, e)| e.expire_at_ms().is_some()).count();
        enc.out.push(OP_SELECTDB);
        enc.length(index as u64);
        enc.out.push(OP_RESIZEDB);
        enc.length(size as u64);
        enc.length(expires as u64);
        for (key, entry) in live() {
            if let Some(at) = entry.expire_at_ms() {
                enc.out.push(OP_EXPIRETIME_MS);
                enc.out.extend_from_slice(&at.to_le_bytes());
            }
            enc.key_value(key, &entry.value, entry.encoding());
        }
    }

    enc.out.push(OP_EOF);
    let checksum = crc64(&enc.out);
    enc.out.extend_from_slice(&checksum.to_le_bytes());
    enc.out
}

#[derive(Default)]
struct Encoder {
    out: Vec<u8>,
    /// LZF match finder table, reused across strings (stale entries are
    /// harmless: every candidate match is verified).
    lzf_table: Vec<u32>,
    lzf_out: Vec<u8>,
}

impl Encoder {
    fn aux(&mut self, key: &[u8], value: &[u8]) {
        self.out.push(OP_AUX);
        self.string(key);
        self.string(value);
    }

    /// `rdbSaveLen`.
    fn length(&mut self, len: u64) {
        if len < 1 << 6 {
            self.out.push(len as u8);
        } else if len < 1 << 14 {
            self.out.push(0x40 | (len >> 8) as u8);
            self.out.push(len as u8);
        } else if let Ok(len) = u32::try_from(len) {
            self.out.push(0x80);
            self.out.extend_from_slice(&len.to_be_bytes());
        } else {
            self.out.push(0x81);
            self.out.extend_from_slice(&len.to_be_bytes());
        }
    }

    /// `rdbSaveRawString`: integer encoding for canonical small integers,
    /// LZF when it saves at least 4 bytes, else length-prefixed bytes.
    fn string(&mut self, s: &[u8]) {
        if let Some(value) = canonical_int(s) {
            if let Ok(v) = i8::try_from(value) {
                self.out.push(0xC0);
                self.out.extend_from_slice(&v.to_le_bytes());
                return;
            }
            if let Ok(v) = i16::try_from(value) {
                self.out.push(0xC1);
                self.out.extend_from_slice(&v.to_le_bytes());
                return;
            }
            if let Ok(v) = i32::try_from(value) {
                self.out.push(0xC2);
                self.out.extend_from_slice(&v.to_le_bytes());
                return;
            }
        }
        // Redis does not try below 21 bytes: nothing that short compresses.
        if s.len() > 20 && lzf_compress(s, s.len() - 4, &mut self.lzf_table, &mut self.lzf_out) {
            self.out.push(0xC3);
            self.length(self.lzf_out.len() as u64);
            self.length(s.len() as u64);
            self.out.extend_from_slice(&self.lzf_out);
            return;
        }
        self.length(s.len() as u64);
        self.out.extend_from_slice(s);
    }

    fn key_value(&mut self, key: &[u8], value: &Value, encoding: Encoding) {
        let layout = Layout::of(value, encoding);
        self.out.push(layout.type_byte(value));
        self.string(key);
        self.value(value, layout);
    }

    /// A value's body, after its type byte (`rdbSaveObject`).
    fn value(&mut self, value: &Value, layout: Layout) {
        match (value, layout) {
            (Value::Set(members), Layout::Intset(mut ints)) => {
                ints.clear();
                ints.extend(members.iter().filter_map(|m| crate::resp::parse_i64(m)));
                self.string(&encode_intset(&mut ints));
                return;
            }
            (Value::Hash(fields), Layout::Listpack) => {
                let elements: Vec<NodeElement<'_>> = fields
                    .iter()
                    .flat_map(|(f, v)| [NodeElement::Bytes(f), NodeElement::Bytes(v)])
                    .collect();
                self.string(&encode_listpack(&elements));
                return;
            }
            (Value::ZSet(zset), Layout::Listpack) => {
                // Lowest score first, member then score, as `zzlInsert`
                // keeps them; scores as `d2string` prints them.
                let scores: Vec<String> = zset.iter().map(|(_, s)| format_score(s)).collect();
                let elements: Vec<NodeElement<'_>> = zset
                    .iter()
                    .zip(&scores)
                    .flat_map(|((m, _), s)| {
                        [NodeElement::Bytes(m), NodeElement::Bytes(s.as_bytes())]
                    })
                    .collect();
                self.string(&encode_listpack(&elements));
                return;
            }
            _ => {}
        }
        match value {
            Value::Str(s) => self.string(s),
            Value::List(items) => {
                self.length(items.len() as u64);
                for item in items.iter() {
                    self.string(item);
                }
            }
            Value::Set(members) => {
                self.length(members.len() as u64);
                for member in members.iter() {
                    self.string(member);
                }
            }
            Value::Hash(fields) => {
                self.length(fields.len() as u64);
                for (field, value) in fields.iter() {
                    self.string(field);
                    self.string(value);
                }
            }
            Value::ZSet(zset) => {
                self.length(zset.len() as u64);
                // Highest score first, as Redis writes it (cheaper to load).
                for (member, score) in zset.iter().rev() {
                    self.string(member);
                    self.out.extend_from_slice(&score.to_le_bytes());
                }
            }
            Value::Stream(stream) => self.stream(stream),
        }
    }

    /// A stream (`rdbSaveObject` for `OBJ_STREAM`, type 19).
    fn stream(&mut self, stream: &Stream) {
        self.length(stream.node_count() as u64);
        for (master_id, elements) in stream.node_elements() {
            self.string(&master_id.to_be_bytes());
            let listpack = encode_listpack(&elements);
            self.string(&listpack);
        }
        self.length(stream.length);
        for id in [stream.last_id, stream.first_id, stream.max_deleted_entry_id] {
            self.length(id.ms);
            self.length(id.seq);
        }
        self.length(stream.entries_added);
        self.length(stream.groups.len() as u64);
        for (name, group) in &stream.groups {
            self.string(name);
            self.length(group.last_id.ms);
            self.length(group.last_id.seq);
            // Redis writes the signed counter through its unsigned length
            // encoding: -1 (unknown) becomes 2^64 - 1.
            self.length(group.entries_read as u64);
            self.length(group.pel.len() as u64);
            for (id, pending) in &group.pel {
                self.out.extend_from_slice(&id.to_be_bytes());
                self.out
                    .extend_from_slice(&pending.delivery_time.to_le_bytes());
                self.length(pending.delivery_count);
            }
            self.length(group.consumers.len() as u64);
            for (consumer_name, consumer) in &group.consumers {
                self.string(consumer_name);
                self.out
                    .extend_from_slice(&consumer.seen_time.to_le_bytes());
                self.length(consumer.pending.len() as u64);
                for id in &consumer.pending {
                    self.out.extend_from_slice(&id.to_be_bytes());
                }
            }
        }
    }
}

/// A listpack holding `elements` (`listpack.c`), as Redis builds a stream
/// node: strings that are canonical integers are stored as integers.
fn encode_listpack(elements: &[NodeElement<'_>]) -> Vec<u8> {
    let mut out = vec![0u8; 6];
    for element in elements {
        let start = out.len();
        match *element {
            NodeElement::Int(value) => encode_lp_int(&mut out, value),
            NodeElement::Bytes(bytes) => match crate::stream::listpack_int(bytes) {
                Some(value) => encode_lp_int(&mut out, value),
                None => {
                    let len = bytes.len();
                    if len < 64 {
                        out.push(0x80 | len as u8);
                    } else if len < 4096 {
                        out.push(0xE0 | (len >> 8) as u8);
                        out.push(len as u8);
                    } else {
                        out.push(0xF0);
                        out.extend_from_slice(&(len as u32).to_le_bytes());
                    }
                    out.extend_from_slice(bytes);
                }
            },
        }
        let (backlen, size) = encode_backlen((out.len() - start) as u64);
        out.extend_from_slice(&backlen[..size]);
    }
    out.push(0xFF);
    let total = out.len() as u32;
    out[0..4].copy_from_slice(&total.to_le_bytes());
    let count = u16::try_from(elements.len()).unwrap_or(u16::MAX);
    out[4..6].copy_from_slice(&count.to_le_bytes());
    out
}

/// `lpEncodeIntegerGetType` and the bytes it picks.
fn encode_lp_int(out: &mut Vec<u8>, value: i64) {
    if (0..=127).contains(&value) {
        out.push(value as u8);
    } else if (-4096..=4095).contains(&value) {
        let v = if value < 0 { (1 << 13) + value } else { value } as u16;
        out.push(0xC0 | (v >> 8) as u8);
        out.push(v as u8);
    } else if let Ok(v) = i16::try_from(value) {
        out.push(0xF1);
        out.extend_from_slice(&v.to_le_bytes());
    } else if (-(1 << 23)..(1 << 23)).contains(&value) {
        out.push(0xF2);
        out.extend_from_slice(&(value as i32).to_le_bytes()[..3]);
    } else if let Ok(v) = i32::try_from(value) {
        out.push(0xF3);
        out.extend_from_slice(&v.to_le_bytes());
    } else {
        out.push(0xF4);
        out.extend_from_slice(&value.to_le_bytes());
    }
}

/// How a value is laid out in the RDB: as Redis's `rdbSaveObjectType`
/// picks from the encoding, a set in an intset, a small hash or sorted set
/// in a listpack, anything else in its plain type (a list as plain
/// elements, which every Redis version loads into a quicklist).
enum Layout {
    /// An intset, with a buffer for its sorted integers.
    Intset(Vec<i64>),
    /// A listpack.
    Listpack,
    /// The plain type.
    Plain,
}

impl Layout {
    fn of(value: &Value, encoding: Encoding) -> Layout {
        match (value, encoding) {
            // Every member is an integer in an intset; a set whose
            // encoding says otherwise (it cannot happen) stays plain.
            (Value::Set(members), Encoding::Intset)
                if members.iter().all(|m| crate::resp::parse_i64(m).is_some()) =>
            {
                Layout::Intset(Vec::with_capacity(members.len()))
            }
            (Value::Hash(_) | Value::ZSet(_), Encoding::Listpack) => Layout::Listpack,
            _ => Layout::Plain,
        }
    }

    fn type_byte(&self, value: &Value) -> u8 {
        match (value, self) {
            (Value::Set(_), Layout::Intset(_)) => TYPE_SET_INTSET,
            (Value::Hash(_), Layout::Listpack) => TYPE_HASH_LISTPACK,
            (Value::ZSet(_), Layout::Listpack) => TYPE_ZSET_LISTPACK,
            (Value::Str(_), _) => TYPE_STRING,
            (Value::List(_), _) => TYPE_LIST,
            (Value::Set(_), _) => TYPE_SET,
            (Value::Hash(_), _) => TYPE_HASH,
            (Value::ZSet(_), _) => TYPE_ZSET_2,
            (Value::Stream(_), _) => TYPE_STREAM_LISTPACKS_2,
        }
    }
}

/// The encoding a value loaded from RDB type `type_byte` was written
/// from, as [`crate::keyspace::EncodingLimits::on_load`] takes it: compact types give
/// their compact encoding, plain ones the large one.
fn written_as(type_byte: u8) -> Encoding {
    match type_byte {
        TYPE_STRING => Encoding::Raw,
        TYPE_SET_INTSET => Encoding::Intset,
        TYPE_SET | TYPE_HASH | TYPE_HASH_ZIPMAP => Encoding::Hashtable,
        TYPE_ZSET | TYPE_ZSET_2 => Encoding::Skiplist,
        TYPE_HASH_ZIPLIST | TYPE_HASH_LISTPACK | TYPE_ZSET_ZIPLIST | TYPE_ZSET_LISTPACK => {
            Encoding::Listpack
        }
        TYPE_STREAM_LISTPACKS | TYPE_STREAM_LISTPACKS_2 => Encoding::Stream,
        _ => Encoding::Quicklist,
    }
}

/// An intset (`intset.c`) of `ints`: the narrowest width that holds them
/// all, the count, then the integers sorted, little-endian.
fn encode_intset(ints: &mut [i64]) -> Vec<u8> {
    ints.sort_unstable();
    let width: usize = if ints.iter().all(|&v| i16::try_from(v).is_ok()) {
        2
    } else if ints.iter().all(|&v| i32::try_from(v).is_ok()) {
        4
    } else {
        8
    };
    let mut out = Vec::with_capacity(8 + width * ints.len());
    out.extend_from_slice(&(width as u32).to_le_bytes());
    out.extend_from_slice(&(ints.len() as u32).to_le_bytes());
    for &v in ints.iter() {
        out.extend_from_slice(&v.to_le_bytes()[..width]);
    }
    out
}

/// DUMP's serialization of `value` stored as `encoding`
/// (`createDumpPayload`): its RDB type and body, the RDB version (2 bytes,
/// little-endian), and the CRC64 of all that (8 bytes, little-endian).
pub fn dump_payload(value: &Value, encoding: Encoding) -> Vec<u8> {
    let mut enc = Encoder::default();
    let layout = Layout::of(value, encoding);
    enc.out.push(layout.type_byte(value));
    enc.value(value, layout);
    enc.out
        .extend_from_slice(&(RDB_VERSION as u16).to_le_bytes());
    let crc = crc64(&enc.out);
    enc.out.extend_from_slice(&crc.to_le_bytes());
    enc.out
}

/// FUNCTION DUMP's payload (`functionDumpCommand`): one
/// `RDB_OPCODE_FUNCTION2` record per library, then the RDB version and the
/// CRC64 as in a DUMP payload.
pub fn function_dump_payload(libraries: &crate::scripting::library::FunctionLibraries) -> Vec<u8> {
    let mut enc = Encoder::default();
    for (_, code) in libraries.iter() {
        enc.out.push(OP_FUNCTION2);
        enc.string(code);
    }
    enc.out
        .extend_from_slice(&(RDB_VERSION as u16).to_le_bytes());
    let crc = crc64(&enc.out);
    enc.out.extend_from_slice(&crc.to_le_bytes());
    enc.out
}

/// The library codes a FUNCTION RESTORE payload holds, or the error text
/// Redis replies with (without `ERR `).
pub fn function_restore_payload(payload: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    const WRONG: &str = "DUMP payload version or checksum are wrong";
    if payload.len() < 10 {
        return Err(WRONG.into());
    }
    let (body, footer) = payload.split_at(payload.len() - 10);
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    if u32::from(version) > RDB_VERSION {
        return Err(WRONG.into());
    }
    let crc = crc64(&payload[..payload.len() - 8]);
    if footer[2..] != crc.to_le_bytes() {
        return Err(WRONG.into());
    }
    let mut reader = Reader::new(body, 0, true, body.len());
    let mut codes = Vec::new();
    while reader.pos < body.len() {
        let op = reader
            .u8()
            .map_err(|_| "can not read data type".to_string())?;
        if op != OP_FUNCTION2 && op != OP_FUNCTION_PRE_GA {
            return Err("given type is not a function".into());
        }
        if op == OP_FUNCTION_PRE_GA {
            return Err("failed loading the given functions payload".into());
        }
        let code = reader
            .string()
            .map_err(|_| "Failed loading library payload".to_string())?;
        codes.push(code.into_owned());
    }
    Ok(codes)
}

/// Why RESTORE refused a payload, in Redis's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// The footer's RDB version is newer than ours, or the CRC64 differs.
    #[error("DUMP payload version or checksum are wrong")]
    VersionOrChecksum,
    /// The body is not one value of a known type.
    #[error("Bad data format")]
    BadFormat,
}

/// The value a DUMP payload holds (`verifyDumpPayload`, then
/// `rdbLoadObjectType` and `rdbLoadObject`): any RDB encoding Redis 7.0
/// writes is read, listpacks, quicklists and intsets included. Also the
/// encoding of the RDB type it was written as, for
/// [`crate::keyspace::EncodingLimits::on_load`].
pub fn restore_payload(payload: &[u8]) -> Result<(Value, Encoding), PayloadError> {
    if payload.len() < 10 {
        return Err(PayloadError::VersionOrChecksum);
    }
    let (body, footer) = payload.split_at(payload.len() - 10);
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    if u32::from(version) > RDB_VERSION {
        return Err(PayloadError::VersionOrChecksum);
    }
    let crc = crc64(&payload[..payload.len() - 8]);
    if footer[2..] != crc.to_le_bytes() {
        return Err(PayloadError::VersionOrChecksum);
    }
    let mut reader = Reader::new(body, 0, true, body.len());
    let type_byte = reader.u8().map_err(|_| PayloadError::BadFormat)?;
    check_type(type_byte, 0).map_err(|_| PayloadError::BadFormat)?;
    match read_value(&mut reader, type_byte) {
        Ok(Some(value)) => Ok((value, written_as(type_byte))),
        Ok(None) | Err(_) => Err(PayloadError::BadFormat),
    }
}

/// The value of `s` when it is exactly the canonical decimal form of an
/// integer (`rdbTryIntegerEncoding`: "007", "+1" and "-0" are not).
fn canonical_int(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 11 {
        return None;
    }
    let value: i64 = std::str::from_utf8(s).ok()?.parse().ok()?;
    let mut buf = itoa::Buffer::new();
    (buf.format(value).as_bytes() == s).then_some(value)
}

// ---------------------------------------------------------------------------
// LZF (liblzf's format, own implementation)
// ---------------------------------------------------------------------------

const LZF_HASH_LOG: u32 = 14;
const LZF_MAX_LITERAL: usize = 32;
const LZF_MAX_OFFSET: usize = 1 << 13;
const LZF_MAX_MATCH: usize = (1 << 8) + (1 << 3);
/// The most bytes one compressed byte can expand to: a 3-byte back
/// reference copies at most 264 bytes. Bounds what a claimed uncompressed
/// size may be before anything is allocated.
const LZF_MAX_RATIO: u64 = 88;

/// Compresses `input` into `out`; false when the result would exceed
/// `max_out` bytes (then `out` holds garbage).
fn lzf_compress(input: &[u8], max_out: usize, table: &mut Vec<u32>, out: &mut Vec<u8>) -> bool {
    out.clear();
    if input.len() >= u32::MAX as usize {
        return false;
    }
    table.resize(1 << LZF_HASH_LOG, u32::MAX);
    let mut literal_start = 0;
    let mut i = 0;
    while i + 2 < input.len() {
        let hash = lzf_hash(&input[i..i + 3]);
        let candidate = table[hash] as usize;
        table[hash] = i as u32;
        let usable = candidate < i
            && i - candidate <= LZF_MAX_OFFSET
            && input[candidate..candidate + 3] == input[i..i + 3];
        if !usable {
            i += 1;
            continue;
        }
        let max_len = LZF_MAX_MATCH.min(input.len() - i);
        let mut len = 3;
        while len < max_len && input[candidate + len] == input[i + len] {
            len += 1;
        }
        lzf_literals(out, &input[literal_start..i]);
        let offset = i - candidate - 1;
        let short_len = len - 2;
        if short_len < 7 {
            out.push(((short_len << 5) | (offset >> 8)) as u8);
        } else {
            out.push(((7 << 5) | (offset >> 8)) as u8);
            out.push((short_len - 7) as u8);
        }
        out.push(offset as u8);
        i += len;
        literal_start = i;
        if out.len() > max_out {
            return false;
        }
    }
    lzf_literals(out, &input[literal_start..]);
    out.len() <= max_out
}

fn lzf_hash(three: &[u8]) -> usize {
    let v = (u32::from(three[0]) << 16) | (u32::from(three[1]) << 8) | u32::from(three[2]);
    (v.wrapping_mul(2_654_435_761) >> (32 - LZF_HASH_LOG)) as usize
}

fn lzf_literals(out: &mut Vec<u8>, literals: &[u8]) {
    for run in literals.chunks(LZF_MAX_LITERAL) {
        out.push((run.len() - 1) as u8);
        out.extend_from_slice(run);
    }
}

/// Decompresses an LZF block that must expand to exactly `expected_len`
/// bytes; `None` when it is malformed.
fn lzf_decompress(input: &[u8], expected_len: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(expected_len);
    let mut i = 0;
    while i < input.len() {
        let ctrl = usize::from(input[i]);
        i += 1;
        if ctrl < 32 {
            let run = input.get(i..i + ctrl + 1)?;
            if out.len() + run.len() > expected_len {
                return None;
            }
            out.extend_from_slice(run);
            i += run.len();
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += usize::from(*input.get(i)?);
                i += 1;
            }
            len += 2;
            let distance = ((ctrl & 0x1F) << 8) + usize::from(*input.get(i)?) + 1;
            i += 1;
            if distance > out.len() || out.len() + len > expected_len {
                return None;
            }
            // Byte by byte: the source may overlap what is being written.
            let start = out.len() - distance;
            for k in 0..len {
                let byte = out[start + k];
                out.push(byte);
            }
        }
    }
    (out.len() == expected_len).then_some(out)
}

// ---------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------

/// Loads an RDB (versions 1..=10). Returns every key, including ones whose
/// expiry has passed; the caller decides whether to drop them.
///
/// Never panics; on any error nothing is returned, so the caller keeps its
/// old dataset.
pub fn decode(bytes: &[u8]) -> Result<Loaded, RdbError> {
    let mut stream = RdbStream::new(Some(bytes.len() as u64));
    stream.decode_from(bytes, true)?;
    stream.finish()
}

/// Why an RDB could not be read from a file.
#[derive(Debug, thiserror::Error)]
pub enum ReadRdbError {
    /// Reading the file failed.
    #[error("reading the RDB: {0}")]
    Io(#[from] std::io::Error),
    /// The bytes are not a loadable RDB.
    #[error(transparent)]
    Rdb(#[from] RdbError),
}

/// Decodes an RDB from `reader` (of `len` bytes when known) through an
/// [`RdbStream`]: only the record being read is held, never the file.
pub fn decode_reader(
    mut reader: impl std::io::Read,
    len: Option<u64>,
) -> Result<Loaded, ReadRdbError> {
    let mut stream = RdbStream::new(len);
    let mut piece = vec![0u8; READ_PIECE];
    loop {
        match reader.read(&mut piece) {
            Ok(0) => break,
            Ok(n) => stream.feed(&piece[..n])?,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(stream.finish()?)
}

/// How much [`decode_reader`] reads at a time.
const READ_PIECE: usize = 256 * 1024;

/// Where an [`RdbStream`] is in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Before `REDIS` and the version digits.
    Magic,
    /// Reading records up to the EOF opcode.
    Records,
    /// After the EOF opcode, before the 8-byte checksum.
    Checksum,
    /// The whole RDB has been read.
    Done,
}

/// What the record decoder carries from one record to the next.
struct Records {
    keyspace: Keyspace,
    info: RdbInfo,
    db: usize,
    /// The expire time read for the next key.
    expire_at_ms: Option<u64>,
}

/// An RDB decoded as it arrives, piece by piece ([`feed`](Self::feed)),
/// so that a replica loads a full sync from the socket or from its temp
/// file without ever holding the whole payload: only the record being
/// read is buffered (Redis's `rdbLoadRio` reads from a stream the same
/// way).
///
/// The result is exactly [`decode`]'s on the concatenated pieces, however
/// they are split. A record cut by a piece boundary is read again when
/// more bytes have come; a record larger than a piece is retried only
/// once the buffer has doubled, so that its bytes are parsed a bounded
/// number of times.
pub struct RdbStream {
    /// Bytes received but not yet consumed: the start of a record cut by a
    /// piece boundary.
    pending: Vec<u8>,
    /// The RDB offset of `pending[0]`.
    base: usize,
    /// `pending` is decoded again once it holds this many bytes.
    retry_at: usize,
    /// The RDB's length when known in advance (a file, a `$<len>`
    /// transfer): a length pointing past it is an error at once, not a
    /// wait for bytes that will never come.
    known_len: Option<usize>,
    phase: Phase,
    version: u32,
    records: Records,
    crc: crc::Digest<'static, u64>,
    /// The RDB offset up to which `crc` has seen the content.
    crc_upto: usize,
    checksum_disabled: bool,
}

impl RdbStream {
    /// A decoder for an RDB of `known_len` bytes (`None` when the length
    /// is only known at the end, as with `$EOF:` framing).
    pub fn new(known_len: Option<u64>) -> Self {
        RdbStream {
            pending: Vec::new(),
            base: 0,
            retry_at: 0,
            known_len: known_len.map(|len| usize::try_from(len).unwrap_or(usize::MAX)),
            phase: Phase::Magic,
            version: 0,
            records: Records {
                keyspace: Keyspace::new(),
                info: RdbInfo {
                    redis_ver: String::new(),
                    ..RdbInfo::default()
                },
                db: 0,
                expire_at_ms: None,
            },
            crc: CRC64.digest(),
            crc_upto: 0,
            checksum_disabled: false,
        }
    }

    /// How many bytes have been fed so far.
    pub fn received(&self) -> usize {
        self.base + self.pending.len()
    }

    /// Decodes what `bytes` completes; the rest waits for the next piece.
    /// An error is final: the RDB is bad, whatever follows.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(), RdbError> {
        if self.pending.is_empty() {
            // The common case: decode straight from the piece and keep only
            // the cut record at its end.
            let used = self.decode_from(bytes, false)?;
            self.pending.extend_from_slice(&bytes[used..]);
        } else {
            self.pending.extend_from_slice(bytes);
            if self.pending.len() < self.retry_at {
                return Ok(());
            }
            let pending = std::mem::take(&mut self.pending);
            let decoded = self.decode_from(&pending, false);
            self.pending = pending;
            let used = decoded?;
            self.pending.drain(..used);
        }
        self.retry_at = self.pending.len().saturating_mul(2);
        Ok(())
    }

    /// Ends the input: decodes what is pending and returns the RDB, or the
    /// error that makes it unloadable (a truncated RDB included).
    pub fn finish(mut self) -> Result<Loaded, RdbError> {
        let pending = std::mem::take(&mut self.pending);
        self.decode_from(&pending, true)?;
        if self.phase != Phase::Done {
            return Err(RdbError::Truncated {
                offset: self.received(),
            });
        }
        Ok(Loaded {
            keyspace: self.records.keyspace,
            info: self.records.info,
            checksum_disabled: self.checksum_disabled,
            version: self.version,
        })
    }

    /// Decodes from `data`, which starts at RDB offset `self.base`, as far
    /// as it goes; returns how many bytes were consumed and moves `base`
    /// past them. With `at_end`, nothing more will come: running short is
    /// an error.
    fn decode_from(&mut self, data: &[u8], at_end: bool) -> Result<usize, RdbError> {
        let base = self.base;
        let end = base + data.len();
        let limit = self.known_len.unwrap_or(usize::MAX);
        let mut pos = base;
        loop {
            match self.phase {
                Phase::Magic => match read_magic(&data[pos - base..]) {
                    Ok(version) => {
                        self.version = version;
                        pos += 9;
                        self.phase = Phase::Records;
                    }
                    Err(RdbError::Truncated { .. }) if !at_end && limit > end => break,
                    Err(RdbError::Truncated { .. }) => {
                        return Err(RdbError::Truncated {
                            offset: end.min(limit),
                        })
                    }
                    Err(error) => return Err(error),
                },
                Phase::Records => {
                    let mut r = Reader::new(&data[pos - base..], pos, at_end, limit);
                    match read_record(&mut r, &mut self.records) {
                        Ok(last) => {
                            pos = r.pos;
                            if last {
                                self.crc_through(data, base, pos);
                                self.phase = if self.version >= 5 {
                                    Phase::Checksum
                                } else {
                                    Phase::Done
                                };
                            }
                        }
                        Err(_) if r.starved => break,
                        Err(error) => return Err(error),
                    }
                }
                Phase::Checksum => {
                    let mut r = Reader::new(&data[pos - base..], pos, at_end, limit);
                    let stored = match r.array() {
                        Ok(bytes) => u64::from_le_bytes(bytes),
                        Err(_) if r.starved => break,
                        Err(error) => return Err(error),
                    };
                    pos = r.pos;
                    let computed = std::mem::replace(&mut self.crc, CRC64.digest()).finalize();
                    if stored == 0 {
                        self.checksum_disabled = true;
                    } else if computed != stored {
                        return Err(RdbError::BadChecksum {
                            expected: computed,
                            found: stored,
                        });
                    }
                    self.phase = Phase::Done;
                }
                Phase::Done => {
                    if pos < end {
                        return Err(RdbError::TrailingBytes {
                            offset: pos,
                            count: end - pos,
                        });
                    }
                    break;
                }
            }
        }
        if self.phase == Phase::Records {
            self.crc_through(data, base, pos);
        }
        self.base = pos;
        Ok(pos - base)
    }

    /// Feeds the checksum the content from where it stopped up to RDB
    /// offset `upto` (which `data`, starting at `base`, holds).
    fn crc_through(&mut self, data: &[u8], base: usize, upto: usize) {
        if upto > self.crc_upto {
            self.crc.update(&data[self.crc_upto - base..upto - base]);
            self.crc_upto = upto;
        }
    }
}

/// Reads one record; `true` when it was the EOF opcode.
fn read_record(r: &mut Reader<'_>, records: &mut Records) -> Result<bool, RdbError> {
    let record = r.pos;
    let op = r.u8()?;
    match op {
        OP_EOF => return Ok(true),
        OP_SELECTDB => {
            let index = r.length()?;
            records.db = usize::try_from(index)
                .ok()
                .filter(|&i| i < DB_COUNT)
                .ok_or(RdbError::InvalidDb(index))?;
        }
        OP_RESIZEDB => {
            // Only a sizing hint.
            r.length()?;
            r.length()?;
        }
        OP_EXPIRETIME_MS => {
            let ms = i64::from_le_bytes(r.array()?);
            records.expire_at_ms = Some(ms.max(0) as u64);
        }
        OP_EXPIRETIME => {
            let seconds = i64::from(i32::from_le_bytes(r.array()?));
            records.expire_at_ms = Some((seconds * 1000).max(0) as u64);
        }
        OP_IDLE => {
            r.length()?;
        }
        OP_FREQ => {
            r.u8()?;
        }
        OP_AUX => read_aux(r, record, &mut records.info)?,
        OP_MODULE_AUX => {
            return Err(RdbError::UnsupportedOpcode {
                opcode: op,
                name: "module aux data",
                offset: record,
            })
        }
        OP_FUNCTION2 => {
            let code = r.string()?;
            let meta = crate::scripting::library::parse_metadata(&code).map_err(|reason| {
                RdbError::BadFunctionLibrary {
                    offset: record,
                    reason,
                }
            })?;
            if !records
                .keyspace
                .functions
                .insert_loaded(meta.name.clone(), code.into_owned())
            {
                return Err(RdbError::BadFunctionLibrary {
                    offset: record,
                    reason: format!("Library '{}' already exists", meta.name),
                });
            }
        }
        OP_FUNCTION_PRE_GA => {
            return Err(RdbError::UnsupportedOpcode {
                opcode: op,
                name: "function library of a 7.0 release candidate",
                offset: record,
            })
        }
        type_byte => {
            check_type(type_byte, record)?;
            let key = r.string()?;
            let value = read_value(r, type_byte)?;
            // An expire time applies to the next key only.
            let expiry = records.expire_at_ms.take();
            let Some(value) = value else {
                return Ok(false);
            };
            let db = records.db;
            if records.keyspace.db(db).get(&key).is_some() {
                return Err(RdbError::DuplicateKey {
                    db,
                    key: display_key(&key),
                    offset: record,
                });
            }
            // The encoding is settled by the server that adopts the
            // keyspace, under its limits (`settle_loaded_encodings`).
            records
                .keyspace
                .db_mut(db)
                .insert_encoded(&key, value, expiry, written_as(type_byte));
        }
    }
    Ok(false)
}

fn read_magic(bytes: &[u8]) -> Result<u32, RdbError> {
    let prefix_len = bytes.len().min(5);
    if bytes[..prefix_len] != b"REDIS"[..prefix_len] {
        return Err(RdbError::BadMagic);
    }
    let Some(digits) = bytes.get(5..9) else {
        return Err(RdbError::Truncated {
            offset: bytes.len(),
        });
    };
    let mut version = 0u32;
    for &d in digits {
        if !d.is_ascii_digit() {
            return Err(RdbError::BadMagic);
        }
        version = version * 10 + u32::from(d - b'0');
    }
    if !(1..=RDB_VERSION).contains(&version) {
        return Err(RdbError::UnsupportedVersion(version));
    }
    Ok(version)
}

fn read_aux(r: &mut Reader<'_>, record: usize, info: &mut RdbInfo) -> Result<(), RdbError> {
    let key = r.string()?;
    let value = r.string()?;
    match &key[..] {
        b"redis-ver" => info.redis_ver = String::from_utf8_lossy(&value).into_owned(),
        b"ctime" => info.ctime_unix_s = aux_int(&value, "ctime", record)?,
        b"used-mem" => info.used_mem = aux_int(&value, "used-mem", record)?,
        b"repl-stream-db" => {
            let db: i64 = aux_int(&value, "repl-stream-db", record)?;
            // Negative is Redis's "no db" (-1).
            info.repl_stream_db = match u32::try_from(db) {
                Ok(db) => Some(db),
                Err(_) if db < 0 => None,
                Err(_) => {
                    return Err(RdbError::BadAux {
                        key: "repl-stream-db",
                        offset: record,
                    })
                }
            };
        }
        b"repl-id" => {
            // Redis takes the id only when it has the right length.
            info.repl_id = (value.len() == 40 && value.iter().all(u8::is_ascii_hexdigit))
                .then(|| String::from_utf8_lossy(&value).into_owned());
        }
        b"repl-offset" => info.repl_offset = Some(aux_int(&value, "repl-offset", record)?),
        // redis-bits, aof-base, aof-preamble, lua, unknown fields: skipped.
        _ => {}
    }
    Ok(())
}

/// A decimal aux value. Redis parses these with `strtol` and ignores
/// garbage; replsim relies on them (replication offset), so garbage is an
/// error.
fn aux_int<T: std::str::FromStr>(
    value: &[u8],
    key: &'static str,
    offset: usize,
) -> Result<T, RdbError> {
    std::str::from_utf8(value)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(RdbError::BadAux { key, offset })
}

fn check_type(type_byte: u8, offset: usize) -> Result<(), RdbError> {
    match type_byte {
        TYPE_STRING..=TYPE_ZSET_2
        | TYPE_HASH_ZIPMAP..=TYPE_LIST_QUICKLIST
        | TYPE_HASH_LISTPACK..=TYPE_LIST_QUICKLIST_2
        | TYPE_STREAM_LISTPACKS
        | TYPE_STREAM_LISTPACKS_2 => Ok(()),
        TYPE_MODULE_PRE_GA | TYPE_MODULE_2 => Err(RdbError::UnsupportedType {
            type_byte,
            name: "module value",
            offset,
        }),
        _ => Err(RdbError::UnknownType { type_byte, offset }),
    }
}

fn display_key(key: &[u8]) -> String {
    let escaped = key.escape_ascii().to_string();
    if escaped.len() > 64 {
        format!("{}...", &escaped[..64])
    } else {
        escaped
    }
}

/// Reads a value of a type accepted by [`check_type`]; `None` when the
/// collection is empty (such keys are skipped).
fn read_value(r: &mut Reader<'_>, type_byte: u8) -> Result<Option<Value>, RdbError> {
    let value = match type_byte {
        TYPE_STRING => Value::Str(blob(&r.string()?)),
        TYPE_LIST => {
            let len = r.length()?;
            let mut list = VecDeque::with_capacity(r.prealloc(len));
            for _ in 0..len {
                list.push_back(blob(&r.string()?));
            }
            Value::List(Box::new(list))
        }
        TYPE_SET => {
            let len = r.length()?;
            let mut set = IndexSet::with_capacity_and_hasher(r.prealloc(len), FixedHash::default());
            for _ in 0..len {
                let at = r.pos;
                if !set.insert(blob(&r.string()?)) {
                    return Err(bad("duplicate set member", at));
                }
            }
            Value::Set(Box::new(set))
        }
        TYPE_HASH => {
            let len = r.length()?;
            let mut hash =
                IndexMap::with_capacity_and_hasher(r.prealloc(len), FixedHash::default());
            for _ in 0..len {
                let at = r.pos;
                let field = blob(&r.string()?);
                let value = blob(&r.string()?);
                if hash.insert(field, value).is_some() {
                    return Err(bad("duplicate hash field", at));
                }
            }
            Value::Hash(Box::new(hash))
        }
        TYPE_ZSET | TYPE_ZSET_2 => {
            let len = r.length()?;
            let mut zset = ZSet::default();
            for _ in 0..len {
                let at = r.pos;
                let member = r.string()?;
                let score = if type_byte == TYPE_ZSET_2 {
                    f64::from_le_bytes(r.array()?)
                } else {
                    r.string_double()?
                };
                if score.is_nan() {
                    return Err(bad("zset score is NaN", at));
                }
                if zset.insert(&member, score).is_some() {
                    return Err(bad("duplicate zset member", at));
                }
            }
            Value::ZSet(Box::new(zset))
        }
        TYPE_HASH_ZIPMAP => {
            let (at, bytes) = r.container()?;
            Value::Hash(Box::new(hash_from_pairs(&parse_zipmap(&bytes, at)?, at)?))
        }
        TYPE_LIST_ZIPLIST => {
            let (at, bytes) = r.container()?;
            Value::List(Box::new(list_from(&parse_ziplist(&bytes, at)?)))
        }
        TYPE_SET_INTSET => {
            let (at, bytes) = r.container()?;
            let ints = parse_intset(&bytes, at)?;
            let mut set = IndexSet::with_capacity_and_hasher(ints.len(), FixedHash::default());
            let mut buf = itoa::Buffer::new();
            for v in ints {
                if !set.insert(blob(buf.format(v).as_bytes())) {
                    return Err(bad("duplicate intset member", at));
                }
            }
            Value::Set(Box::new(set))
        }
        TYPE_ZSET_ZIPLIST => {
            let (at, bytes) = r.container()?;
            Value::ZSet(Box::new(zset_from_pairs(&parse_ziplist(&bytes, at)?, at)?))
        }
        TYPE_HASH_ZIPLIST => {
            let (at, bytes) = r.container()?;
            Value::Hash(Box::new(hash_from_pairs(&parse_ziplist(&bytes, at)?, at)?))
        }
        TYPE_ZSET_LISTPACK => {
            let (at, bytes) = r.container()?;
            Value::ZSet(Box::new(zset_from_pairs(&parse_listpack(&bytes, at)?, at)?))
        }
        TYPE_HASH_LISTPACK => {
            let (at, bytes) = r.container()?;
            Value::Hash(Box::new(hash_from_pairs(&parse_listpack(&bytes, at)?, at)?))
        }
        TYPE_LIST_QUICKLIST | TYPE_LIST_QUICKLIST_2 => {
            let nodes = r.length()?;
            let mut list = VecDeque::new();
            for _ in 0..nodes {
                let mut container = QUICKLIST_NODE_PACKED;
                if type_byte == TYPE_LIST_QUICKLIST_2 {
                    let at = r.pos;
                    container = r.length()?;
                    if container != QUICKLIST_NODE_PLAIN && container != QUICKLIST_NODE_PACKED {
                        return Err(bad(
                            "quicklist node container is neither plain nor packed",
                            at,
                        ));
                    }
                }
                let (at, bytes) = r.container()?;
                if bytes.is_empty() {
                    return Err(bad("empty quicklist node", at));
                }
                if container == QUICKLIST_NODE_PLAIN {
                    list.push_back(blob(&bytes));
                } else if type_byte == TYPE_LIST_QUICKLIST_2 {
                    list.extend(parse_listpack(&bytes, at)?.into_iter().map(Elem::to_blob));
                } else {
                    list.extend(parse_ziplist(&bytes, at)?.into_iter().map(Elem::to_blob));
                }
            }
            Value::List(Box::new(list))
        }
        TYPE_STREAM_LISTPACKS | TYPE_STREAM_LISTPACKS_2 => {
            Value::Stream(Box::new(read_stream(r, type_byte)?))
        }
        _ => return Err(bad("value type not handled", r.pos)),
    };
    Ok((!value.is_empty_collection()).then_some(value))
}

/// A stream of type 15 or 19 (`rdbLoadObject` for streams), checked for
/// consistency: node keys are their first IDs, IDs increase, the length is
/// the live entries counted, PELs name existing consumers and each pending
/// entry belongs to one consumer.
fn read_stream(r: &mut Reader<'_>, type_byte: u8) -> Result<Stream, RdbError> {
    let mut stream = Stream::new();
    let nodes = r.length()?;
    for _ in 0..nodes {
        let at = r.pos;
        let key = r.string()?;
        let key: [u8; 16] = key
            .as_ref()
            .try_into()
            .map_err(|_| bad("stream node key is not the size of a stream ID", at))?;
        let master_id = StreamId::from_be_bytes(&key);
        let (at, listpack) = r.container()?;
        let elems = parse_listpack(&listpack, at)?;
        let (fields, entries) = stream_node_entries(&elems, master_id, at)?;
        if entries.iter().all(|e| e.3) {
            return Err(bad("stream node without a live entry", at));
        }
        if stream.node_count() > 0 && stream.last_node_id().is_some_and(|l| master_id <= l) {
            return Err(bad("stream nodes out of order", at));
        }
        stream.push_loaded_node(master_id, fields, entries);
    }
    let at = r.pos;
    stream.length = r.length()?;
    stream.last_id = StreamId::new(r.length()?, r.length()?);
    if type_byte == TYPE_STREAM_LISTPACKS_2 {
        stream.first_id = StreamId::new(r.length()?, r.length()?);
        stream.max_deleted_entry_id = StreamId::new(r.length()?, r.length()?);
        stream.entries_added = r.length()?;
    } else {
        stream.entries_added = stream.length;
        stream.refresh_first_id();
    }
    if stream.length != stream.counted_length() || !stream.nodes_well_formed() {
        return Err(bad("stream length or IDs inconsistent with its nodes", at));
    }
    if stream.length > 0 && stream.last_valid_id() > stream.last_id {
        return Err(bad("stream entry above the stream's last ID", at));
    }
    let groups = r.length()?;
    for _ in 0..groups {
        let at = r.pos;
        let name = blob(&r.string()?);
        let last_id = StreamId::new(r.length()?, r.length()?);
        let entries_read = if type_byte == TYPE_STREAM_LISTPACKS_2 {
            r.length()? as i64
        } else {
            stream.estimate_distance(last_id)
        };
        if stream.groups.contains_key(&name) {
            return Err(bad("duplicate consumer group", at));
        }
        let mut group = Group::new(last_id, entries_read);
        let pel = r.length()?;
        let mut unowned = std::collections::BTreeMap::new();
        for _ in 0..pel {
            let at = r.pos;
            let id = StreamId::from_be_bytes(&r.array()?);
            let time = i64::from_le_bytes(r.array()?);
            let count = r.length()?;
            if unowned.insert(id, (time, count)).is_some() {
                return Err(bad("duplicate global PEL entry", at));
            }
        }
        let consumers = r.length()?;
        for _ in 0..consumers {
            let at = r.pos;
            let consumer = blob(&r.string()?);
            let seen = i64::from_le_bytes(r.array()?);
            if !group.create_consumer(&consumer, seen) {
                return Err(bad("duplicate stream consumer", at));
            }
            let owned = r.length()?;
            for _ in 0..owned {
                let at = r.pos;
                let id = StreamId::from_be_bytes(&r.array()?);
                let Some((time, count)) = unowned.remove(&id) else {
                    return Err(bad("consumer PEL entry not in the group PEL", at));
                };
                group.assign(id, &consumer, time, count);
            }
        }
        if !unowned.is_empty() {
            return Err(bad("group PEL entry without a consumer", at));
        }
        stream.groups.insert(name, group);
    }
    Ok(stream)
}

/// A loaded node's entries.
type LoadedEntries = Vec<crate::stream::LoadedEntry>;

/// The master fields and entries of one stream node's listpack
/// (`streamValidateListpackIntegrity`, deep).
fn stream_node_entries(
    elems: &[Elem<'_>],
    master_id: StreamId,
    at: usize,
) -> Result<(Vec<Blob>, LoadedEntries), RdbError> {
    let err = |what| bad(what, at);
    let int = |e: Option<&Elem<'_>>| match e {
        Some(Elem::Int(v)) => Ok(*v),
        Some(Elem::Bytes(b)) => {
            crate::stream::listpack_int(b).ok_or(err("stream listpack integer expected"))
        }
        None => Err(err("stream listpack ends early")),
    };
    let mut it = elems.iter();
    let live = int(it.next())?;
    let deleted = int(it.next())?;
    let nfields = int(it.next())?;
    if live < 0 || deleted < 0 || nfields < 0 || nfields as usize > elems.len() {
        return Err(err("stream master entry counts are invalid"));
    }
    let mut fields = Vec::with_capacity(nfields as usize);
    for _ in 0..nfields {
        fields.push(
            it.next()
                .ok_or(err("stream listpack ends early"))?
                .to_blob(),
        );
    }
    if int(it.next())? != 0 {
        return Err(err("stream master entry terminator is not zero"));
    }
    let mut entries = Vec::new();
    let (mut seen_live, mut seen_deleted) = (0, 0);
    while let Some(first) = it.next() {
        let flags = int(Some(first))?;
        if !(0..=3).contains(&flags) {
            return Err(err("stream entry flags are invalid"));
        }
        let ms = master_id.ms.wrapping_add(int(it.next())? as u64);
        let seq = master_id.seq.wrapping_add(int(it.next())? as u64);
        let same_fields = flags & 2 != 0;
        let mut pairs = Vec::new();
        let expected_count = if same_fields {
            for field in &fields {
                let value = it.next().ok_or(err("stream listpack ends early"))?;
                pairs.push((field.clone(), value.to_blob()));
            }
            fields.len() as i64 + 3
        } else {
            let n = int(it.next())?;
            if n < 0 || n as usize > elems.len() {
                return Err(err("stream entry field count is invalid"));
            }
            for _ in 0..n {
                let field = it.next().ok_or(err("stream listpack ends early"))?;
                let value = it.next().ok_or(err("stream listpack ends early"))?;
                pairs.push((field.to_blob(), value.to_blob()));
            }
            n * 2 + 4
        };
        if int(it.next())? != expected_count {
            return Err(err("stream entry lp-count does not match"));
        }
        let is_deleted = flags & 1 != 0;
        if is_deleted {
            seen_deleted += 1;
        } else {
            seen_live += 1;
        }
        entries.push((StreamId::new(ms, seq), pairs, same_fields, is_deleted));
    }
    if seen_live != live || seen_deleted != deleted {
        return Err(err("stream master entry counts do not match the entries"));
    }
    if entries.first().map(|e| e.0) != Some(master_id) {
        return Err(err("stream node key is not its first entry's ID"));
    }
    Ok((fields, entries))
}

fn bad(what: &'static str, offset: usize) -> RdbError {
    RdbError::BadEncoding { what, offset }
}

/// A cursor over a window of the RDB: `data` holds the bytes from RDB
/// offset `start` on, and positions are RDB offsets (errors name them).
struct Reader<'a> {
    data: &'a [u8],
    start: usize,
    pos: usize,
    /// No byte will follow `data`: running short is an error.
    at_end: bool,
    /// The RDB's length when known: a read past it is an error at once.
    limit: usize,
    /// Set when a read ran past `data` while more may come: the record is
    /// then read again once more has.
    starved: bool,
}

impl<'a> Reader<'a> {
    /// A reader over `data`, which holds the RDB from offset `start`.
    fn new(data: &'a [u8], start: usize, at_end: bool, limit: usize) -> Self {
        Reader {
            data,
            start,
            pos: start,
            at_end,
            limit,
            starved: false,
        }
    }

    /// Bytes left in the window.
    fn remaining(&self) -> usize {
        self.data.len() - (self.pos - self.start)
    }

    /// The error for a read of `len` bytes that the window cannot serve.
    fn short(&mut self, len: u64) -> RdbError {
        let within_limit = (self.pos as u64).saturating_add(len) <= self.limit as u64;
        if !self.at_end && within_limit {
            self.starved = true;
        }
        RdbError::Truncated { offset: self.pos }
    }

    fn u8(&mut self) -> Result<u8, RdbError> {
        match self.data.get(self.pos - self.start) {
            Some(&byte) => {
                self.pos += 1;
                Ok(byte)
            }
            None => Err(self.short(1)),
        }
    }

    fn bytes(&mut self, len: u64) -> Result<&'a [u8], RdbError> {
        match usize::try_from(len) {
            Ok(len) if len <= self.remaining() => {
                let at = self.pos - self.start;
                self.pos += len;
                Ok(&self.data[at..at + len])
            }
            _ => Err(self.short(len)),
        }
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], RdbError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.bytes(N as u64)?);
        Ok(out)
    }

    /// How many elements to preallocate for `len` announced ones: every
    /// element takes at least one input byte, and the cap bounds the rest.
    fn prealloc(&self, len: u64) -> usize {
        usize::try_from(len)
            .unwrap_or(usize::MAX)
            .min(self.remaining())
            .min(MAX_PREALLOC)
    }

    /// `rdbLoadLen`; the special string encodings are an error here.
    fn length(&mut self) -> Result<u64, RdbError> {
        let at = self.pos;
        let first = self.u8()?;
        match first >> 6 {
            0 => Ok(u64::from(first & 0x3F)),
            1 => Ok((u64::from(first & 0x3F) << 8) | u64::from(self.u8()?)),
            2 => match first {
                0x80 => Ok(u64::from(u32::from_be_bytes(self.array()?))),
                0x81 => Ok(u64::from_be_bytes(self.array()?)),
                _ => Err(bad("unknown length encoding", at)),
            },
            _ => Err(bad("string encoding where a length was expected", at)),
        }
    }

    /// An RDB string (`rdbGenericLoadStringObject`): raw, integer-encoded or
    /// LZF-compressed.
    fn string(&mut self) -> Result<Cow<'a, [u8]>, RdbError> {
        let at = self.pos;
        let first = self.u8()?;
        if first >> 6 != 3 {
            self.pos = at;
            let len = self.length()?;
            return Ok(Cow::Borrowed(self.bytes(len)?));
        }
        let int = match first & 0x3F {
            0 => i64::from(i8::from_le_bytes(self.array()?)),
            1 => i64::from(i16::from_le_bytes(self.array()?)),
            2 => i64::from(i32::from_le_bytes(self.array()?)),
            3 => {
                let compressed_len = self.length()?;
                let len = self.length()?;
                let compressed = self.bytes(compressed_len)?;
                if len > compressed_len.saturating_mul(LZF_MAX_RATIO) {
                    return Err(RdbError::BadLength {
                        what: "LZF uncompressed size (beyond what the compressed size can hold)",
                        len,
                        offset: at,
                    });
                }
                let len = usize::try_from(len).map_err(|_| bad("LZF size", at))?;
                return lzf_decompress(compressed, len)
                    .map(Cow::Owned)
                    .ok_or(bad("invalid LZF compressed string", at));
            }
            _ => return Err(bad("unknown string encoding", at)),
        };
        Ok(Cow::Owned(
            itoa::Buffer::new().format(int).as_bytes().to_vec(),
        ))
    }

    /// A string holding a compact container, with the offset of the string.
    fn container(&mut self) -> Result<(usize, Cow<'a, [u8]>), RdbError> {
        let at = self.pos;
        Ok((at, self.string()?))
    }

    /// `rdbLoadDoubleValue`: the score format of the old zset type.
    fn string_double(&mut self) -> Result<f64, RdbError> {
        let at = self.pos;
        match self.u8()? {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            len => {
                let text = self.bytes(u64::from(len))?;
                parse_score(text).ok_or(bad("zset score is not a number", at))
            }
        }
    }
}

/// A scalar from a compact container.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Elem<'a> {
    Bytes(&'a [u8]),
    Int(i64),
}

impl Elem<'_> {
    fn to_blob(self) -> Blob {
        match self {
            Elem::Bytes(b) => blob(b),
            Elem::Int(v) => blob(itoa::Buffer::new().format(v).as_bytes()),
        }
    }

    fn score(self) -> Option<f64> {
        match self {
            Elem::Bytes(b) => parse_score(b),
            Elem::Int(v) => Some(v as f64),
        }
    }
}

/// A score as text (`strtod` in Redis; Redis writes `%.17g`, integers,
/// `inf` and `-inf`).
fn parse_score(text: &[u8]) -> Option<f64> {
    std::str::from_utf8(text).ok()?.parse().ok()
}

fn list_from(elems: &[Elem<'_>]) -> VecDeque<Blob> {
    elems.iter().map(|e| e.to_blob()).collect()
}

fn hash_from_pairs(
    elems: &[Elem<'_>],
    at: usize,
) -> Result<IndexMap<Blob, Blob, FixedHash>, RdbError> {
    if elems.len() % 2 != 0 {
        return Err(bad("hash container holds an odd number of entries", at));
    }
    let mut hash = IndexMap::with_capacity_and_hasher(elems.len() / 2, FixedHash::default());
    for pair in elems.chunks_exact(2) {
        if hash.insert(pair[0].to_blob(), pair[1].to_blob()).is_some() {
            return Err(bad("duplicate hash field in container", at));
        }
    }
    Ok(hash)
}

fn zset_from_pairs(elems: &[Elem<'_>], at: usize) -> Result<ZSet, RdbError> {
    if elems.len() % 2 != 0 {
        return Err(bad("zset container holds an odd number of entries", at));
    }
    let mut zset = ZSet::default();
    for pair in elems.chunks_exact(2) {
        let score = pair[1]
            .score()
            .filter(|s| !s.is_nan())
            .ok_or(bad("zset container score is not a number", at))?;
        if zset.insert(&pair[0].to_blob(), score).is_some() {
            return Err(bad("duplicate zset member in container", at));
        }
    }
    Ok(zset)
}

/// `buf[start..start + len]`, or `None` past the end (overflow-safe).
fn slice(buf: &[u8], start: usize, len: usize) -> Option<&[u8]> {
    buf.get(start..start.checked_add(len)?)
}

fn le_uint(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rev()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
}

/// Sign-extends the low `bits` bits of `value`.
fn sign_extend(value: u64, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((value << shift) as i64) >> shift
}

/// The entries of a listpack (`listpack.c`), fully validated.
fn parse_listpack(lp: &[u8], at: usize) -> Result<Vec<Elem<'_>>, RdbError> {
    let err = |what| bad(what, at);
    if lp.len() < 7 {
        return Err(err("listpack shorter than its header"));
    }
    if le_uint(&lp[0..4]) != lp.len() as u64 {
        return Err(err("listpack total size does not match its string length"));
    }
    let announced = le_uint(&lp[4..6]);
    let mut elems = Vec::with_capacity((announced as usize).min(lp.len()));
    let mut p = 6;
    loop {
        let b = *lp.get(p).ok_or(err("listpack has no end marker"))?;
        if b == 0xFF {
            if p + 1 != lp.len() {
                return Err(err("bytes after the listpack end marker"));
            }
            break;
        }
        let overrun = || err("listpack entry runs past the listpack");
        let (elem, size) = match b {
            0x00..=0x7F => (Elem::Int(i64::from(b)), 1),
            0x80..=0xBF => {
                let len = usize::from(b & 0x3F);
                (
                    Elem::Bytes(slice(lp, p + 1, len).ok_or_else(overrun)?),
                    1 + len,
                )
            }
            0xC0..=0xDF => {
                let low = *lp.get(p + 1).ok_or_else(overrun)?;
                let v = (u64::from(b & 0x1F) << 8) | u64::from(low);
                (Elem::Int(sign_extend(v, 13)), 2)
            }
            0xE0..=0xEF => {
                let low = *lp.get(p + 1).ok_or_else(overrun)?;
                let len = (usize::from(b & 0x0F) << 8) | usize::from(low);
                (
                    Elem::Bytes(slice(lp, p + 2, len).ok_or_else(overrun)?),
                    2 + len,
                )
            }
            0xF0 => {
                let len = le_uint(slice(lp, p + 1, 4).ok_or_else(overrun)?) as usize;
                let data = slice(lp, p + 5, len).ok_or_else(overrun)?;
                (Elem::Bytes(data), 5 + len)
            }
            0xF1..=0xF4 => {
                let width = match b {
                    0xF1 => 2,
                    0xF2 => 3,
                    0xF3 => 4,
                    _ => 8,
                };
                let raw = le_uint(slice(lp, p + 1, width).ok_or_else(overrun)?);
                (Elem::Int(sign_extend(raw, 8 * width as u32)), 1 + width)
            }
            _ => return Err(err("invalid listpack entry encoding")),
        };
        let (backlen, backlen_size) = encode_backlen(size as u64);
        let stored = slice(lp, p + size, backlen_size).ok_or_else(overrun)?;
        if stored != &backlen[..backlen_size] {
            return Err(err("listpack entry back length does not match its size"));
        }
        elems.push(elem);
        p += size + backlen_size;
    }
    if announced != u64::from(u16::MAX) && announced != elems.len() as u64 {
        return Err(err("listpack element count does not match its entries"));
    }
    Ok(elems)
}

/// `lpEncodeBacklen`: an entry's size, stored after it so the listpack can
/// be walked backwards (bytes and how many are used).
fn encode_backlen(len: u64) -> ([u8; 5], usize) {
    let size = if len <= 127 {
        1
    } else if len < 16383 {
        2
    } else if len < 2_097_151 {
        3
    } else if len < 268_435_455 {
        4
    } else {
        5
    };
    let mut out = [0u8; 5];
    // Big-endian groups of 7 bits; every byte but the first carries the
    // continuation bit (the reader starts from the last one).
    out[0] = (len >> (7 * (size - 1))) as u8;
    for (i, byte) in out[1..size].iter_mut().enumerate() {
        let shift = 7 * (size - 2 - i);
        *byte = ((len >> shift) & 0x7F) as u8 | 0x80;
    }
    (out, size)
}

/// The entries of a ziplist (`ziplist.c`), fully validated.
fn parse_ziplist(zl: &[u8], at: usize) -> Result<Vec<Elem<'_>>, RdbError> {
    let err = |what| bad(what, at);
    if zl.len() < 11 {
        return Err(err("ziplist shorter than its header"));
    }
    if le_uint(&zl[0..4]) != zl.len() as u64 {
        return Err(err("ziplist total size does not match its string length"));
    }
    let tail = le_uint(&zl[4..8]);
    let announced = le_uint(&zl[8..10]);
    let mut elems = Vec::with_capacity((announced as usize).min(zl.len()));
    let mut p = 10;
    let mut prev_size = 0u64;
    let mut last_entry = 10u64;
    loop {
        let b = *zl.get(p).ok_or(err("ziplist has no end marker"))?;
        if b == 0xFF {
            if p + 1 != zl.len() {
                return Err(err("bytes after the ziplist end marker"));
            }
            break;
        }
        let overrun = || err("ziplist entry runs past the ziplist");
        let start = p;
        let prevlen = if b < 0xFE {
            p += 1;
            u64::from(b)
        } else {
            let v = le_uint(slice(zl, p + 1, 4).ok_or_else(overrun)?);
            p += 5;
            v
        };
        if prevlen != prev_size {
            return Err(err(
                "ziplist entry prevlen does not match the previous entry",
            ));
        }
        let enc = *zl.get(p).ok_or_else(overrun)?;
        let (elem, size) = match enc >> 6 {
            0 => {
                let len = usize::from(enc & 0x3F);
                (
                    Elem::Bytes(slice(zl, p + 1, len).ok_or_else(overrun)?),
                    1 + len,
                )
            }
            1 => {
                let low = *zl.get(p + 1).ok_or_else(overrun)?;
                let len = (usize::from(enc & 0x3F) << 8) | usize::from(low);
                (
                    Elem::Bytes(slice(zl, p + 2, len).ok_or_else(overrun)?),
                    2 + len,
                )
            }
            2 => {
                if enc != 0x80 {
                    return Err(err("invalid ziplist string encoding"));
                }
                let raw = slice(zl, p + 1, 4).ok_or_else(overrun)?;
                let len = raw
                    .iter()
                    .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
                (
                    Elem::Bytes(slice(zl, p + 5, len).ok_or_else(overrun)?),
                    5 + len,
                )
            }
            _ => {
                let width = match enc {
                    0xC0 => 2,
                    0xD0 => 4,
                    0xE0 => 8,
                    0xF0 => 3,
                    0xFE => 1,
                    0xF1..=0xFD => 0,
                    _ => return Err(err("invalid ziplist integer encoding")),
                };
                if width == 0 {
                    (Elem::Int(i64::from(enc & 0x0F) - 1), 1)
                } else {
                    let raw = le_uint(slice(zl, p + 1, width).ok_or_else(overrun)?);
                    (Elem::Int(sign_extend(raw, 8 * width as u32)), 1 + width)
                }
            }
        };
        p += size;
        elems.push(elem);
        prev_size = (p - start) as u64;
        last_entry = start as u64;
    }
    if tail != last_entry {
        return Err(err("ziplist tail offset does not point at the last entry"));
    }
    if announced != u64::from(u16::MAX) && announced != elems.len() as u64 {
        return Err(err("ziplist entry count does not match its entries"));
    }
    Ok(elems)
}

/// The members of an intset (`intset.c`): sorted little-endian integers of
/// 2, 4 or 8 bytes.
fn parse_intset(is: &[u8], at: usize) -> Result<Vec<i64>, RdbError> {
    if is.len() < 8 {
        return Err(bad("intset shorter than its header", at));
    }
    let width = le_uint(&is[0..4]);
    let count = le_uint(&is[4..8]);
    if !matches!(width, 2 | 4 | 8) {
        return Err(bad("invalid intset encoding", at));
    }
    if count * width != (is.len() - 8) as u64 {
        return Err(RdbError::BadLength {
            what: "intset (count does not match its size)",
            len: count,
            offset: at,
        });
    }
    Ok(is[8..]
        .chunks_exact(width as usize)
        .map(|c| sign_extend(le_uint(c), 8 * width as u32))
        .collect())
}

/// The field/value pairs of a zipmap (`zipmap.c`, the pre-2.6 small hash),
/// flattened.
fn parse_zipmap(zm: &[u8], at: usize) -> Result<Vec<Elem<'_>>, RdbError> {
    let err = |what| bad(what, at);
    let overrun = || err("zipmap entry runs past the zipmap");
    let announced = *zm.first().ok_or(err("empty zipmap"))?;
    let mut elems = Vec::new();
    let mut p = 1;
    // A length: one byte below 254, or 254 and a 4-byte little-endian length.
    let read_len = |p: &mut usize| -> Result<usize, RdbError> {
        let b = *zm.get(*p).ok_or_else(overrun)?;
        match b {
            0..=253 => {
                *p += 1;
                Ok(usize::from(b))
            }
            254 => {
                let len = le_uint(slice(zm, *p + 1, 4).ok_or_else(overrun)?) as usize;
                *p += 5;
                Ok(len)
            }
            _ => Err(err("zipmap length byte 255 inside an entry")),
        }
    };
    loop {
        match zm.get(p) {
            None => return Err(err("zipmap has no end marker")),
            Some(0xFF) => {
                if p + 1 != zm.len() {
                    return Err(err("bytes after the zipmap end marker"));
                }
                break;
            }
            Some(_) => {}
        }
        let key_len = read_len(&mut p)?;
        let key = slice(zm, p, key_len).ok_or_else(overrun)?;
        p += key_len;
        let value_len = read_len(&mut p)?;
        let free = usize::from(*zm.get(p).ok_or_else(overrun)?);
        p += 1;
        let value = slice(zm, p, value_len).ok_or_else(overrun)?;
        p += value_len;
        slice(zm, p, free).ok_or_else(overrun)?;
        p += free;
        elems.push(Elem::Bytes(key));
        elems.push(Elem::Bytes(value));
    }
    if announced < 254 && usize::from(announced) != elems.len() / 2 {
        return Err(err("zipmap entry count does not match its entries"));
    }
    Ok(elems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::EncodingLimits;

    fn encode_string(s: &[u8]) -> Vec<u8> {
        let mut enc = Encoder::default();
        enc.string(s);
        enc.out
    }

    fn decode_string(bytes: &[u8]) -> Result<Vec<u8>, RdbError> {
        let mut r = Reader::new(bytes, 0, true, usize::MAX);
        let s = r.string()?.into_owned();
        assert_eq!(r.pos, bytes.len(), "string did not use all its bytes");
        Ok(s)
    }

    #[test]
    fn crc64_matches_the_redis_check_value() {
        assert_eq!(crc64(b"123456789"), 0xe9c6_d914_c4b8_d9ca);
    }

    #[test]
    fn lengths_use_the_smallest_form_and_read_back() {
        let cases: [(u64, &[u8]); 7] = [
            (0, &[0x00]),
            (63, &[0x3F]),
            (64, &[0x40, 0x40]),
            (16383, &[0x7F, 0xFF]),
            (16384, &[0x80, 0x00, 0x00, 0x40, 0x00]),
            (u64::from(u32::MAX), &[0x80, 0xFF, 0xFF, 0xFF, 0xFF]),
            (1 << 32, &[0x81, 0, 0, 0, 1, 0, 0, 0, 0]),
        ];
        for (len, bytes) in cases {
            let mut enc = Encoder::default();
            enc.length(len);
            assert_eq!(enc.out, bytes, "{len}");
            let mut r = Reader::new(bytes, 0, true, usize::MAX);
            assert_eq!(r.length(), Ok(len));
        }
    }

    #[test]
    fn unknown_length_forms_are_errors() {
        for first in [0x82u8, 0xBF, 0xC0, 0xC3] {
            let bytes = [first, 0, 0, 0, 0, 0, 0, 0, 0];
            let mut r = Reader::new(&bytes, 0, true, usize::MAX);
            assert!(matches!(
                r.length(),
                Err(RdbError::BadEncoding { offset: 0, .. })
            ));
        }
    }

    #[test]
    fn canonical_small_integers_are_int_encoded_like_redis() {
        let cases: [(&[u8], &[u8]); 10] = [
            (b"0", &[0xC0, 0]),
            (b"-1", &[0xC0, 0xFF]),
            (b"127", &[0xC0, 0x7F]),
            (b"-128", &[0xC0, 0x80]),
            (b"128", &[0xC1, 0x80, 0x00]),
            (b"-32768", &[0xC1, 0x00, 0x80]),
            (b"32768", &[0xC2, 0x00, 0x80, 0x00, 0x00]),
            (b"2147483647", &[0xC2, 0xFF, 0xFF, 0xFF, 0x7F]),
            (b"-2147483648", &[0xC2, 0x00, 0x00, 0x00, 0x80]),
            (b"1234", &[0xC1, 0xD2, 0x04]),
        ];
        for (s, bytes) in cases {
            assert_eq!(
                encode_string(s),
                bytes,
                "{:?}",
                s.escape_ascii().to_string()
            );
            assert_eq!(decode_string(bytes).unwrap(), s);
        }
        // Not canonical or out of i32 range: raw.
        for s in [
            &b"007"[..],
            b"-0",
            b"+1",
            b" 1",
            b"1 ",
            b"2147483648",
            b"",
            b"1.0",
        ] {
            let mut raw = vec![s.len() as u8];
            raw.extend_from_slice(s);
            assert_eq!(encode_string(s), raw, "{:?}", s.escape_ascii().to_string());
        }
    }

    #[test]
    fn long_repetitive_strings_are_lzf_compressed_and_read_back() {
        let s = [b"abcabcabc".repeat(30), b"xyz".to_vec(), vec![b'q'; 500]].concat();
        let bytes = encode_string(&s);
        assert_eq!(bytes[0], 0xC3);
        assert!(bytes.len() < s.len() / 4);
        assert_eq!(decode_string(&bytes).unwrap(), s);
    }

    #[test]
    fn strings_lzf_cannot_shrink_by_4_bytes_stay_raw() {
        let s: Vec<u8> = (0..=255u8).collect();
        assert_eq!(&encode_string(&s)[..2], &[0x41, 0x00]);
        let short = vec![b'a'; 20];
        assert_eq!(encode_string(&short)[0], 20);
    }

    #[test]
    fn lzf_round_trips_many_shapes() {
        let mut table = Vec::new();
        let mut out = Vec::new();
        let mut seed = 0x9E37_79B9u32;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        for case in 0..300 {
            let len = (next() % 20_000) as usize;
            let alphabet = 1 + next() % if case % 2 == 0 { 4 } else { 256 };
            let input: Vec<u8> = (0..len).map(|_| (next() % alphabet) as u8).collect();
            // Incompressible input grows by one byte per 32-byte literal run.
            let bound = input.len() + input.len() / 32 + 1;
            assert!(lzf_compress(&input, bound, &mut table, &mut out));
            assert_eq!(
                lzf_decompress(&out, input.len()).as_deref(),
                Some(&input[..])
            );
        }
    }

    #[test]
    fn malformed_lzf_is_rejected() {
        // Back reference before the start of the output.
        assert_eq!(lzf_decompress(&[0x20, 0x00], 3), None);
        // Literal run longer than the input.
        assert_eq!(lzf_decompress(&[0x05, b'a'], 6), None);
        // Output longer or shorter than announced.
        assert_eq!(lzf_decompress(&[0x01, b'a', b'b'], 1), None);
        assert_eq!(lzf_decompress(&[0x01, b'a', b'b'], 3), None);
        // Back reference missing its offset byte.
        assert_eq!(lzf_decompress(&[0x00, b'a', 0x20], 4), None);
        assert_eq!(
            lzf_decompress(&[0x00, b'a', 0x20, 0x00], 4),
            Some(b"aaaa".to_vec())
        );
    }

    #[test]
    fn impossible_lzf_sizes_are_rejected_before_allocating() {
        // 2 compressed bytes claiming 2^40 bytes of output.
        let bytes = [0xC3, 0x02, 0x81, 0, 0, 1, 0, 0, 0, 0, 0, 0x00, b'a'];
        let mut r = Reader::new(&bytes, 0, true, usize::MAX);
        assert!(matches!(r.string(), Err(RdbError::BadLength { .. })));
    }

    #[test]
    fn backlen_matches_listpack_c() {
        assert_eq!(encode_backlen(5), ([5, 0, 0, 0, 0], 1));
        assert_eq!(encode_backlen(127), ([127, 0, 0, 0, 0], 1));
        assert_eq!(encode_backlen(128), ([1, 0x80, 0, 0, 0], 2));
        assert_eq!(encode_backlen(16382), ([127, 0xFE, 0, 0, 0], 2));
        assert_eq!(encode_backlen(16383), ([0, 0xFF, 0xFF, 0, 0], 3));
        assert_eq!(encode_backlen(1 << 30), ([4, 0x80, 0x80, 0x80, 0x80], 5));
    }

    /// A listpack from raw entry encodings (backlens and header added).
    fn listpack(entries: &[&[u8]]) -> Vec<u8> {
        let mut body = Vec::new();
        for entry in entries {
            body.extend_from_slice(entry);
            let (backlen, n) = encode_backlen(entry.len() as u64);
            body.extend_from_slice(&backlen[..n]);
        }
        let total = 6 + body.len() + 1;
        let mut lp = (total as u32).to_le_bytes().to_vec();
        lp.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        lp.extend_from_slice(&body);
        lp.push(0xFF);
        lp
    }

    #[test]
    fn listpack_entries_of_every_encoding_decode() {
        let long = vec![b'L'; 100];
        let mut str12 = vec![0xE0, 100];
        str12.extend_from_slice(&long);
        let huge = vec![b'H'; 5000];
        let mut str32 = vec![0xF0];
        str32.extend_from_slice(&5000u32.to_le_bytes());
        str32.extend_from_slice(&huge);
        let lp = listpack(&[
            &[0x05],
            &[0x7F],
            &[0x83, b'a', b'b', b'c'],
            &[0xC0 | 0x10, 0x00],               // 13-bit -4096
            &[0xC0 | 0x0F, 0xFF],               // 13-bit 4095
            &[0xF1, 0x00, 0x80],                // int16 -32768
            &[0xF2, 0xFF, 0xFF, 0x7F],          // int24 8388607
            &[0xF2, 0x00, 0x00, 0x80],          // int24 -8388608
            &[0xF3, 0xFE, 0xFF, 0xFF, 0xFF],    // int32 -2
            &[0xF4, 0, 0, 0, 0, 0, 0, 0, 0x80], // int64 min
            &str12,
            &str32,
        ]);
        let elems = parse_listpack(&lp, 0).unwrap();
        assert_eq!(
            elems,
            vec![
                Elem::Int(5),
                Elem::Int(127),
                Elem::Bytes(b"abc"),
                Elem::Int(-4096),
                Elem::Int(4095),
                Elem::Int(-32768),
                Elem::Int(8_388_607),
                Elem::Int(-8_388_608),
                Elem::Int(-2),
                Elem::Int(i64::MIN),
                Elem::Bytes(&long),
                Elem::Bytes(&huge),
            ]
        );
    }

    #[test]
    fn corrupt_listpacks_are_errors() {
        let good = listpack(&[&[0x83, b'a', b'b', b'c'], &[0x01]]);
        assert!(parse_listpack(&good, 0).is_ok());
        let mut wrong_total = good.clone();
        wrong_total[0] += 1;
        let mut wrong_count = good.clone();
        wrong_count[4] = 3;
        let mut wrong_backlen = good.clone();
        wrong_backlen[10] = 9;
        let mut bad_encoding = good.clone();
        bad_encoding[6] = 0xF5;
        let mut overrun = good.clone();
        overrun[6] = 0xBF;
        let mut no_end = good.clone();
        *no_end.last_mut().unwrap() = 0x01;
        for lp in [
            wrong_total,
            wrong_count,
            wrong_backlen,
            bad_encoding,
            overrun,
            no_end,
        ] {
            assert!(
                matches!(
                    parse_listpack(&lp, 7),
                    Err(RdbError::BadEncoding { offset: 7, .. })
                ),
                "{lp:?}"
            );
        }
        let mut unknown_count = good;
        unknown_count[4] = 0xFF;
        unknown_count[5] = 0xFF;
        assert_eq!(parse_listpack(&unknown_count, 0).unwrap().len(), 2);
    }

    /// A ziplist from raw entry encodings (prevlens and header added).
    fn ziplist(entries: &[&[u8]]) -> Vec<u8> {
        let mut body = Vec::new();
        let mut prev = 0usize;
        let mut tail = 10;
        for entry in entries {
            tail = 10 + body.len();
            let start = body.len();
            if prev < 254 {
                body.push(prev as u8);
            } else {
                body.push(0xFE);
                body.extend_from_slice(&(prev as u32).to_le_bytes());
            }
            body.extend_from_slice(entry);
            prev = body.len() - start;
        }
        let mut zl = ((10 + body.len() + 1) as u32).to_le_bytes().to_vec();
        zl.extend_from_slice(&(tail as u32).to_le_bytes());
        zl.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        zl.extend_from_slice(&body);
        zl.push(0xFF);
        zl
    }

    #[test]
    fn ziplist_entries_of_every_encoding_decode() {
        let long = vec![b'z'; 300];
        let mut str14 = vec![0x40 | 0x01, 0x2C];
        str14.extend_from_slice(&long);
        let mut str32 = vec![0x80, 0, 0, 0x01, 0x2C];
        str32.extend_from_slice(&long);
        let zl = ziplist(&[
            &[0x02, b'h', b'i'],
            &str14,
            &str32,                          // prevlen 302 needs the 5-byte form
            &[0xC0, 0x18, 0xFC],             // int16 -1000
            &[0xD0, 0x00, 0x00, 0x00, 0x80], // int32 min
            &[0xE0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F], // int64 max
            &[0xF0, 0xFF, 0xFF, 0xFF],       // int24 -1
            &[0xFE, 0x80],                   // int8 -128
            &[0xF1],                         // immediate 0
            &[0xFD],                         // immediate 12
        ]);
        assert_eq!(
            parse_ziplist(&zl, 0).unwrap(),
            vec![
                Elem::Bytes(b"hi"),
                Elem::Bytes(&long),
                Elem::Bytes(&long),
                Elem::Int(-1000),
                Elem::Int(i64::from(i32::MIN)),
                Elem::Int(i64::MAX),
                Elem::Int(-1),
                Elem::Int(-128),
                Elem::Int(0),
                Elem::Int(12),
            ]
        );
    }

    #[test]
    fn corrupt_ziplists_are_errors() {
        let good = ziplist(&[&[0x01, b'a'], &[0xF2]]);
        assert_eq!(
            parse_ziplist(&good, 0).unwrap(),
            vec![Elem::Bytes(b"a"), Elem::Int(1)]
        );
        let mut wrong_tail = good.clone();
        wrong_tail[4] = 10;
        let mut wrong_prevlen = good.clone();
        wrong_prevlen[13] = 2;
        let mut wrong_count = good.clone();
        wrong_count[8] = 1;
        let mut bad_int = good.clone();
        bad_int[14] = 0xC1;
        let mut bad_str = good.clone();
        bad_str[11] = 0x81;
        let mut overrun = good.clone();
        overrun[11] = 0x3F;
        for zl in [
            wrong_tail,
            wrong_prevlen,
            wrong_count,
            bad_int,
            bad_str,
            overrun,
        ] {
            assert!(parse_ziplist(&zl, 0).is_err(), "{zl:?}");
        }
        let empty = ziplist(&[]);
        assert_eq!(parse_ziplist(&empty, 0).unwrap(), vec![]);
    }

    #[test]
    fn intsets_of_each_width_decode() {
        let mut is = vec![2, 0, 0, 0, 2, 0, 0, 0];
        is.extend_from_slice(&(-5i16).to_le_bytes());
        is.extend_from_slice(&300i16.to_le_bytes());
        assert_eq!(parse_intset(&is, 0).unwrap(), vec![-5, 300]);
        let mut is = vec![4, 0, 0, 0, 1, 0, 0, 0];
        is.extend_from_slice(&(-70000i32).to_le_bytes());
        assert_eq!(parse_intset(&is, 0).unwrap(), vec![-70000]);
        let mut is = vec![8, 0, 0, 0, 1, 0, 0, 0];
        is.extend_from_slice(&i64::MIN.to_le_bytes());
        assert_eq!(parse_intset(&is, 0).unwrap(), vec![i64::MIN]);
        assert!(parse_intset(&[3, 0, 0, 0, 0, 0, 0, 0], 0).is_err());
        assert!(parse_intset(&[2, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 1, 0], 0).is_err());
    }

    #[test]
    fn intsets_are_written_sorted_in_the_narrowest_width() {
        for (ints, width) in [
            (vec![300, -5], 2u32),
            (vec![1, -70000], 4),
            (vec![5_000_000_000, 2], 8),
        ] {
            let mut sorted = ints.clone();
            let bytes = encode_intset(&mut sorted);
            assert_eq!(bytes[..4], width.to_le_bytes());
            let mut expected = ints;
            expected.sort_unstable();
            assert_eq!(parse_intset(&bytes, 0).unwrap(), expected);
        }
    }

    /// A key of every compact encoding goes into its compact RDB type and
    /// reads back as the same value, encoded as Redis loads that type.
    #[test]
    fn compact_encodings_are_written_as_compact_types() {
        let limits = EncodingLimits::default();
        let mut set = IndexSet::with_hasher(FixedHash::default());
        for m in ["3", "-70000", "12"] {
            set.insert(blob(m.as_bytes()));
        }
        let mut hash = IndexMap::with_hasher(FixedHash::default());
        hash.insert(blob(b"f"), blob(b"v"));
        hash.insert(blob(b"n"), blob(b"-12"));
        let mut zset = ZSet::default();
        zset.insert(b"a", 1.5);
        zset.insert(b"b", -3.0);
        zset.insert(b"c", f64::INFINITY);
        let cases = [
            (Value::Set(Box::new(set)), Encoding::Intset, TYPE_SET_INTSET),
            (
                Value::Hash(Box::new(hash)),
                Encoding::Listpack,
                TYPE_HASH_LISTPACK,
            ),
            (
                Value::ZSet(Box::new(zset)),
                Encoding::Listpack,
                TYPE_ZSET_LISTPACK,
            ),
        ];
        for (value, encoding, type_byte) in cases {
            let payload = dump_payload(&value, encoding);
            assert_eq!(payload[0], type_byte, "{value:?}");
            let (read, written) = restore_payload(&payload).unwrap();
            assert_eq!(read, value);
            assert_eq!(limits.on_load(&read, written), encoding, "{value:?}");
            // The large encodings go into the plain types.
            let large = if encoding == Encoding::Intset {
                Encoding::Hashtable
            } else if matches!(value, Value::ZSet(_)) {
                Encoding::Skiplist
            } else {
                Encoding::Hashtable
            };
            let plain = dump_payload(&value, large);
            let (read, written) = restore_payload(&plain).unwrap();
            assert_eq!(read, value);
            assert_eq!(written, large);
        }
    }

    #[test]
    fn zipmaps_decode_with_free_bytes_and_big_lengths() {
        let big = vec![b'v'; 300];
        let mut zm = vec![2u8, 3, b'f', b'o', b'o', 3, 2, b'b', b'a', b'r', 0, 0];
        zm.push(1);
        zm.push(b'k');
        zm.push(254);
        zm.extend_from_slice(&300u32.to_le_bytes());
        zm.push(0);
        zm.extend_from_slice(&big);
        zm.push(0xFF);
        assert_eq!(
            parse_zipmap(&zm, 0).unwrap(),
            vec![
                Elem::Bytes(b"foo"),
                Elem::Bytes(b"bar"),
                Elem::Bytes(b"k"),
                Elem::Bytes(&big),
            ]
        );
        // Count mismatch, free bytes past the end, 255 as a length.
        assert!(parse_zipmap(&[1, 0xFF], 0).is_err());
        assert!(parse_zipmap(&[1, 1, b'a', 1, 9, b'b', 0xFF], 0).is_err());
        assert!(parse_zipmap(&[1, 1, b'a', 0xFF, 0, 0xFF], 0).is_err());
    }

    #[test]
    fn old_zset_scores_read_special_values() {
        let bytes = [3, b'1', b'.', b'5', 254, 255, 253, 3, b'a', b'b', b'c'];
        let mut r = Reader::new(&bytes, 0, true, usize::MAX);
        assert_eq!(r.string_double(), Ok(1.5));
        assert_eq!(r.string_double(), Ok(f64::INFINITY));
        assert_eq!(r.string_double(), Ok(f64::NEG_INFINITY));
        assert!(r.string_double().unwrap().is_nan());
        assert!(r.string_double().is_err());
    }

    #[test]
    fn encode_skips_empty_collections() {
        let mut ks = Keyspace::new();
        ks.db_mut(2).insert(b"empty", Value::new_list());
        let info = RdbInfo::default();
        let bytes = encode(&ks, &info);
        assert_eq!(bytes, encode(&Keyspace::new(), &info));
        assert_eq!(decode(&bytes).unwrap().keyspace, Keyspace::new());
    }

    #[test]
    fn a_piecewise_load_buffers_only_the_record_being_read() {
        let mut ks = Keyspace::new();
        for i in 0..20_000u32 {
            let value: Vec<u8> = (0..100u32).map(|j| (i * 31 + j * 7) as u8).collect();
            ks.db_mut(0)
                .insert(format!("key:{i}").as_bytes(), Value::Str(blob(&value)));
        }
        let mut set = IndexSet::with_hasher(FixedHash::default());
        for i in 0..50_000u32 {
            set.insert(blob(format!("member:{i}").as_bytes()));
        }
        ks.db_mut(1).insert(b"big set", Value::Set(Box::new(set)));
        let bytes = encode(&ks, &RdbInfo::default());
        // The set is the largest record: about 50,000 members of 13 bytes.
        let largest_record = 50_000 * 14 + 32;
        let piece = 4096;
        let mut stream = RdbStream::new(None);
        let mut most_pending = 0;
        for chunk in bytes.chunks(piece) {
            stream.feed(chunk).unwrap();
            most_pending = most_pending.max(stream.pending.len());
        }
        assert!(
            most_pending <= largest_record + piece,
            "held {most_pending} bytes of a {} byte RDB",
            bytes.len()
        );
        let loaded = stream.finish().unwrap();
        assert_eq!(loaded.keyspace, ks);
    }
}
