//! RESP2 on the wire: the incremental request parser (multibulk and inline
//! commands, with Redis's limits and protocol error texts) and the reply
//! encoder.
//!
//! The parser never copies a multibulk argument: it records byte ranges into
//! the caller's read buffer. A frame that has not fully arrived is
//! [`Parsed::Incomplete`], never an error; only bytes that can never become a
//! valid frame produce a [`ProtocolError`], whose text is exactly what Redis
//! 7.0 sends after `-ERR Protocol error: `.

use std::borrow::Cow;
use std::fmt;

/// Longest inline command, or multibulk / bulk header line, Redis accepts
/// before it gives up looking for the line end (`PROTO_INLINE_MAX_SIZE`).
pub const INLINE_MAX_BYTES: usize = 64 * 1024;

/// Redis's default `proto-max-bulk-len`: 512 MB.
pub const DEFAULT_MAX_BULK_BYTES: u64 = 512 * 1024 * 1024;

/// Largest multibulk count Redis accepts (`INT_MAX`).
const MAX_MULTIBULK_COUNT: i64 = i32::MAX as i64;

/// A request that can never be valid; the connection replies and closes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Protocol error: {0}")]
pub struct ProtocolError(pub Cow<'static, str>);

impl ProtocolError {
    fn new(text: &'static str) -> Self {
        ProtocolError(Cow::Borrowed(text))
    }
}

/// The outcome of one parse attempt at the front of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parsed {
    /// A whole command of `consumed` bytes; its arguments are in the [`ArgvBuf`].
    Command {
        /// Bytes of the buffer this command used.
        consumed: usize,
    },
    /// A frame that carries no command (an empty inline line, `*0`, `*-1`).
    Empty {
        /// Bytes of the buffer to drop.
        consumed: usize,
    },
    /// More bytes are needed; nothing can be decided before the buffer holds
    /// at least `min_len` bytes.
    Incomplete {
        /// Lower bound on the buffer length that can complete this frame.
        min_len: usize,
    },
}

/// Limits that shape parsing, from the server's config and the client's state.
#[derive(Debug, Clone, Copy)]
pub struct ParseLimits {
    /// `proto-max-bulk-len`.
    pub max_bulk_bytes: u64,
    /// The client has not authenticated while a password is required: Redis
    /// then caps multibulk counts at 10 and bulk lengths at 16 KB.
    pub unauthenticated: bool,
}

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits {
            max_bulk_bytes: DEFAULT_MAX_BULK_BYTES,
            unauthenticated: false,
        }
    }
}

/// Where the arguments of the last parsed command live: byte ranges into the
/// read buffer (multibulk) or into an own scratch buffer (inline commands,
/// whose quoting had to be undone).
///
/// It also remembers how far an unfinished frame was parsed, so that each
/// byte of a request is examined once however it is split across reads
/// (Redis keeps the same state in its client: `multibulklen`, `bulklen`).
/// After [`Parsed::Incomplete`] the next call must pass a buffer that starts
/// with the same bytes (more appended); a caller that moves the front of its
/// buffer otherwise calls [`ArgvBuf::reset`].
#[derive(Debug, Default, Clone)]
pub struct ArgvBuf {
    ranges: Vec<(usize, usize)>,
    scratch: Vec<u8>,
    inline: bool,
    progress: Progress,
    examined: u64,
}

/// How far the frame at the front of the buffer was parsed by earlier calls.
#[derive(Debug, Default, Clone, Copy)]
struct Progress {
    /// Inside a multibulk: the arguments still to parse. Zero when no
    /// multibulk header was parsed yet.
    remaining: usize,
    /// Where the next unparsed element (bulk header) starts.
    pos: usize,
    /// The header of the element at `pos` was parsed: its data spans
    /// `start..end`, waiting for the bytes to arrive.
    bulk: Option<(usize, usize)>,
    /// Bytes before this position hold no line end of the line being
    /// looked for (the multibulk or bulk header, or the inline line).
    scanned: usize,
}

impl ArgvBuf {
    /// Whether the last command parsed came in the inline form (a plain
    /// line) rather than as a multibulk.
    pub fn is_inline(&self) -> bool {
        self.inline
    }

    /// The arguments of the last command parsed from `buf`.
    pub fn argv<'a>(&'a self, buf: &'a [u8]) -> Argv<'a> {
        Argv {
            base: if self.inline { &self.scratch } else { buf },
            ranges: &self.ranges,
        }
    }

    /// Forgets an unfinished frame: the next call parses from the start of
    /// the buffer it gets.
    pub fn reset(&mut self) {
        self.progress = Progress::default();
    }

    /// Where the bytes not yet turned into arguments start in the buffer:
    /// past the arguments of an unfinished multibulk that already arrived
    /// whole, else 0. What lies beyond is Redis's query buffer (Redis moves
    /// finished arguments out of it), which `client-query-buffer-limit`
    /// caps.
    pub fn unparsed_from(&self) -> usize {
        self.progress.pos
    }

    /// Bytes the parser looked at since this buffer was created: header
    /// and line bytes scanned for their end (bulk data is never scanned).
    /// Each byte of a stream counts once however it was split into reads;
    /// tests and benchmarks use it to prove parsing linear.
    pub fn bytes_examined(&self) -> u64 {
        self.examined
    }

    /// Finds the `\r` ending a header line starting at `from`, as Redis does
    /// (`strchr(querybuf, '\r')`; the byte after it is skipped unchecked),
    /// resuming where an earlier call stopped looking.
    fn header_line(&mut self, buf: &[u8], from: usize) -> Option<usize> {
        let start = from.max(self.progress.scanned);
        let found = memchr(b'\r', &buf[start..]).map(|i| start + i);
        self.note_scan(buf, start, found);
        found
    }

    /// The same for an inline line, which ends at `\n`.
    fn inline_line(&mut self, buf: &[u8]) -> Option<usize> {
        let start = self.progress.scanned;
        let found = memchr(b'\n', &buf[start..]).map(|i| start + i);
        self.note_scan(buf, start, found);
        found
    }

    /// Records a scan from `start`: without a line end, nothing up to the
    /// buffer's end needs looking at again; with one, the next look starts
    /// at it (its line may still wait for the byte after it).
    fn note_scan(&mut self, buf: &[u8], start: usize, found: Option<usize>) {
        let examined = found.map_or(buf.len(), |end| end + 1) - start;
        self.examined += examined as u64;
        self.progress.scanned = found.unwrap_or(buf.len());
    }
}

/// A borrowed command: its arguments, each a byte string.
#[derive(Clone, Copy)]
pub struct Argv<'a> {
    base: &'a [u8],
    ranges: &'a [(usize, usize)],
}

impl<'a> Argv<'a> {
    /// Number of arguments, command name included.
    #[inline]
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    /// True when there are no arguments at all.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Argument `i` (0 is the command name). Panics when out of range: the
    /// command table checks arity before any handler indexes.
    #[inline]
    pub fn get(&self, i: usize) -> &'a [u8] {
        let (start, end) = self.ranges[i];
        &self.base[start..end]
    }

    /// All arguments in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let base = self.base;
        self.ranges.iter().map(move |&(s, e)| &base[s..e])
    }

    /// Copies the arguments into an owned command (for MULTI queues).
    pub fn to_owned_argv(&self) -> OwnedArgv {
        let mut owned = OwnedArgv::default();
        for arg in self.iter() {
            owned.push(arg);
        }
        owned
    }
}

impl fmt::Debug for Argv<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|a| String::from_utf8_lossy(a).into_owned()))
            .finish()
    }
}

/// An owned command: one contiguous byte buffer and the argument ranges.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct OwnedArgv {
    bytes: Vec<u8>,
    ranges: Vec<(usize, usize)>,
}

impl OwnedArgv {
    /// Builds an owned command from its arguments.
    pub fn from_args<A: AsRef<[u8]>>(args: &[A]) -> Self {
        let mut owned = OwnedArgv::default();
        for arg in args {
            owned.push(arg.as_ref());
        }
        owned
    }

    /// Appends one argument.
    pub fn push(&mut self, arg: &[u8]) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(arg);
        self.ranges.push((start, self.bytes.len()));
    }

    /// Borrows the command.
    pub fn argv(&self) -> Argv<'_> {
        Argv {
            base: &self.bytes,
            ranges: &self.ranges,
        }
    }

    /// Bytes held by the arguments (for `multi-mem`-style accounting).
    pub fn byte_len(&self) -> usize {
        self.bytes.len()
    }
}

/// Parses Redis's strict integers (`string2ll`): optional `-`, no `+`, no
/// leading zeros, no spaces, at most 20 characters, no overflow.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || digits[0] == b'0' {
        return None;
    }
    let mut value: u64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add((b - b'0') as u64)?;
    }
    if negative {
        if value > i64::MAX as u64 + 1 {
            None
        } else {
            Some((value as i64).wrapping_neg())
        }
    } else if value > i64::MAX as u64 {
        None
    } else {
        Some(value as i64)
    }
}

/// Parses one command from the front of `buf` into `argv`.
///
/// A buffer starting with `*` is a multibulk request; anything else is an
/// inline command (a line of space-separated, optionally quoted words). An
/// unfinished frame is resumed where the last call on `argv` stopped (see
/// [`ArgvBuf`]); any other outcome starts the next call afresh.
pub fn parse_command(
    buf: &[u8],
    argv: &mut ArgvBuf,
    limits: ParseLimits,
) -> Result<Parsed, ProtocolError> {
    let parsed = match buf.first() {
        None => return Ok(Parsed::Incomplete { min_len: 1 }),
        Some(b'*') => parse_multibulk(buf, argv, limits),
        Some(_) => parse_inline(buf, argv),
    };
    if !matches!(parsed, Ok(Parsed::Incomplete { .. })) {
        argv.reset();
    }
    parsed
}

#[inline]
fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|&b| b == needle)
}

fn parse_multibulk(
    buf: &[u8],
    argv: &mut ArgvBuf,
    limits: ParseLimits,
) -> Result<Parsed, ProtocolError> {
    if argv.progress.remaining == 0 {
        let Some(cr) = argv.header_line(buf, 1) else {
            if buf.len() > INLINE_MAX_BYTES {
                return Err(ProtocolError::new("too big mbulk count string"));
            }
            return Ok(Parsed::Incomplete {
                min_len: buf.len() + 1,
            });
        };
        if cr + 2 > buf.len() {
            return Ok(Parsed::Incomplete { min_len: cr + 2 });
        }
        let count = match parse_i64(&buf[1..cr]) {
            Some(n) if n <= MAX_MULTIBULK_COUNT => n,
            _ => return Err(ProtocolError::new("invalid multibulk length")),
        };
        if limits.unauthenticated && count > 10 {
            return Err(ProtocolError::new("unauthenticated multibulk length"));
        }
        if count <= 0 {
            return Ok(Parsed::Empty { consumed: cr + 2 });
        }
        argv.inline = false;
        argv.ranges.clear();
        // `count` is at most `i32::MAX`, so it fits.
        argv.progress.remaining = count as usize;
        argv.progress.pos = cr + 2;
    }
    while argv.progress.remaining > 0 {
        let pos = argv.progress.pos;
        let (start, end) = match argv.progress.bulk {
            Some(span) => span,
            None => {
                let span = parse_bulk_header(buf, argv, pos, limits)?;
                let Some(span) = span else {
                    // The element's first byte alone can fail the frame
                    // (anything but `$`), so it is all that may be asked for.
                    let min_len = if pos >= buf.len() {
                        pos + 1
                    } else {
                        argv.progress.scanned.max(buf.len()) + 1
                    };
                    return Ok(Parsed::Incomplete { min_len });
                };
                span
            }
        };
        // The data and its CRLF; Redis skips the CRLF unchecked.
        let Some(next) = end.checked_add(2).filter(|&next| next <= buf.len()) else {
            argv.progress.bulk = Some((start, end));
            return Ok(Parsed::Incomplete {
                min_len: end.saturating_add(2),
            });
        };
        argv.ranges.push((start, end));
        argv.progress.bulk = None;
        argv.progress.pos = next;
        argv.progress.scanned = next;
        argv.progress.remaining -= 1;
    }
    Ok(Parsed::Command {
        consumed: argv.progress.pos,
    })
}

/// Parses the `$<len>` header at `pos`: the span of the bulk data, or `None`
/// when the header has not fully arrived.
fn parse_bulk_header(
    buf: &[u8],
    argv: &mut ArgvBuf,
    pos: usize,
    limits: ParseLimits,
) -> Result<Option<(usize, usize)>, ProtocolError> {
    if pos >= buf.len() {
        return Ok(None);
    }
    if buf[pos] != b'$' {
        // Redis prints the offending byte with `%c`.
        return Err(ProtocolError(Cow::Owned(format!(
            "expected '$', got '{}'",
            buf[pos] as char
        ))));
    }
    let Some(cr) = argv.header_line(buf, pos + 1) else {
        if buf.len() - pos > INLINE_MAX_BYTES {
            return Err(ProtocolError::new("too big bulk count string"));
        }
        return Ok(None);
    };
    if cr - pos > INLINE_MAX_BYTES {
        return Err(ProtocolError::new("too big bulk count string"));
    }
    if cr + 2 > buf.len() {
        return Ok(None);
    }
    // A length that does not fit this machine's address space could never
    // be buffered: it is as invalid as one past `proto-max-bulk-len`.
    let len = match parse_i64(&buf[pos + 1..cr]) {
        Some(n) if n >= 0 && (n as u64) <= limits.max_bulk_bytes => usize::try_from(n).ok(),
        _ => None,
    };
    let start = cr + 2;
    let Some((len, end)) = len.and_then(|len| Some((len, start.checked_add(len)?))) else {
        return Err(ProtocolError::new("invalid bulk length"));
    };
    if limits.unauthenticated && len > 16384 {
        return Err(ProtocolError::new("unauthenticated bulk length"));
    }
    Ok(Some((start, end)))
}

fn parse_inline(buf: &[u8], argv: &mut ArgvBuf) -> Result<Parsed, ProtocolError> {
    let Some(nl) = argv.inline_line(buf) else {
        if buf.len() > INLINE_MAX_BYTES {
            return Err(ProtocolError::new("too big inline request"));
        }
        return Ok(Parsed::Incomplete {
            min_len: buf.len() + 1,
        });
    };
    let mut line = &buf[..nl];
    if line.last() == Some(&b'\r') {
        line = &line[..line.len() - 1];
    }
    argv.inline = true;
    argv.ranges.clear();
    argv.scratch.clear();
    if !split_inline_args(line, &mut argv.scratch, &mut argv.ranges) {
        return Err(ProtocolError::new("unbalanced quotes in request"));
    }
    if argv.ranges.is_empty() {
        Ok(Parsed::Empty { consumed: nl + 1 })
    } else {
        Ok(Parsed::Command { consumed: nl + 1 })
    }
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\n' | b'\r' | b'\t' | 0x0b | 0x0c)
}

/// Splits an inline line the way `sdssplitargs` does: double quotes with
/// `\n \r \t \b \a \\ \"` and `\xHH` escapes, single quotes with `\'`, and a
/// closing quote must be followed by a space or the end. Returns false on
/// unbalanced quotes.
pub fn split_inline_args(line: &[u8], out: &mut Vec<u8>, ranges: &mut Vec<(usize, usize)>) -> bool {
    let mut p = 0;
    loop {
        while p < line.len() && is_space(line[p]) {
            p += 1;
        }
        if p >= line.len() {
            return true;
        }
        let start = out.len();
        let mut in_double = false;
        let mut in_single = false;
        loop {
            if in_double {
                if p >= line.len() {
                    return false;
                }
                let c = line[p];
                if c == b'\\'
                    && p + 3 < line.len()
                    && line[p + 1] == b'x'
                    && hex_value(line[p + 2]).is_some()
                    && hex_value(line[p + 3]).is_some()
                {
                    out.push(
                        hex_value(line[p + 2]).unwrap() * 16 + hex_value(line[p + 3]).unwrap(),
                    );
                    p += 3;
                } else if c == b'\\' && p + 1 < line.len() {
                    p += 1;
                    out.push(match line[p] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    if p + 1 < line.len() && !is_space(line[p + 1]) {
                        return false;
                    }
                    p += 1;
                    break;
                } else {
                    out.push(c);
                }
            } else if in_single {
                if p >= line.len() {
                    return false;
                }
                let c = line[p];
                if c == b'\\' && p + 1 < line.len() && line[p + 1] == b'\'' {
                    p += 1;
                    out.push(b'\'');
                } else if c == b'\'' {
                    if p + 1 < line.len() && !is_space(line[p + 1]) {
                        return false;
                    }
                    p += 1;
                    break;
                } else {
                    out.push(c);
                }
            } else {
                if p >= line.len() {
                    break;
                }
                match line[p] {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => {
                        p += 1;
                        break;
                    }
                    b'"' => in_double = true,
                    b'\'' => in_single = true,
                    c => out.push(c),
                }
            }
            p += 1;
        }
        ranges.push((start, out.len()));
    }
}

/// The reply buffer of one connection, with its encoders. It speaks the
/// connection's protocol (RESP2 until `HELLO 3`): the typed encoders
/// (`map`, `set`, `double`, `boolean`, `verbatim`, `push`, `null`) write
/// RESP3's types in RESP3 and Redis's RESP2 equivalents otherwise, so a
/// command handler writes its reply once for both protocols.
#[derive(Debug, Default)]
pub struct Reply {
    buf: Vec<u8>,
    resp3: bool,
}

impl Reply {
    /// An empty RESP2 reply buffer.
    pub fn new() -> Self {
        Reply {
            buf: Vec::new(),
            resp3: false,
        }
    }

    /// An empty reply buffer speaking RESP3 when `resp3`.
    pub fn with_protocol(resp3: bool) -> Self {
        Reply {
            buf: Vec::new(),
            resp3,
        }
    }

    /// Switches the protocol of the replies encoded from now on.
    pub fn set_resp3(&mut self, resp3: bool) {
        self.resp3 = resp3;
    }

    /// Whether replies are encoded in RESP3.
    #[inline]
    pub fn is_resp3(&self) -> bool {
        self.resp3
    }

    /// The encoded bytes so far.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Number of encoded bytes.
    #[inline]
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True when nothing is encoded.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Forgets the encoded bytes, keeping the allocation.
    #[inline]
    pub fn clear(&mut self) {
        self.buf.clear();
    }

    /// Bytes allocated for replies (what the connection keeps between
    /// commands).
    #[inline]
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Gives back the allocation above `capacity` bytes (at least what is
    /// encoded stays).
    pub fn shrink_to(&mut self, capacity: usize) {
        self.buf.shrink_to(capacity);
    }

    /// Drops everything after the first `len` bytes.
    pub fn truncate(&mut self, len: usize) {
        self.buf.truncate(len);
    }

    /// Takes the encoded bytes out.
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    /// Appends already-encoded RESP.
    #[inline]
    pub fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// `+OK`.
    #[inline]
    pub fn ok(&mut self) {
        self.raw(b"+OK\r\n");
    }

    /// A simple string: `+<s>`.
    pub fn simple(&mut self, s: &str) {
        self.buf.push(b'+');
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    /// An error line: `-<message>`; the message carries its own prefix
    /// (`ERR`, `WRONGTYPE`, ...). Newlines are replaced by spaces as Redis
    /// does, so the reply stays one line.
    pub fn error(&mut self, message: &str) {
        self.buf.push(b'-');
        self.buf.extend(
            message
                .bytes()
                .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
        );
        self.buf.extend_from_slice(b"\r\n");
    }

    /// An integer: `:<n>`.
    #[inline]
    pub fn integer(&mut self, n: i64) {
        self.buf.push(b':');
        self.buf
            .extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    /// A bulk string: `$<len>\r\n<bytes>\r\n`.
    #[inline]
    pub fn bulk(&mut self, bytes: &[u8]) {
        self.header(b'$', bytes.len() as i64);
        self.buf.extend_from_slice(bytes);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// A bulk string holding the decimal form of `n`.
    pub fn bulk_i64(&mut self, n: i64) {
        let mut digits = itoa::Buffer::new();
        self.bulk(digits.format(n).as_bytes());
    }

    /// A bulk string holding a double the way Redis 7.0 prints scores
    /// (`%.17g`, `inf`, `-inf`).
    pub fn bulk_f64(&mut self, value: f64) {
        self.bulk(crate::keyspace::format_score(value).as_bytes());
    }

    /// A null: `_` in RESP3, the null bulk string `$-1` in RESP2.
    #[inline]
    pub fn null(&mut self) {
        if self.resp3 {
            self.raw(b"_\r\n");
        } else {
            self.raw(b"$-1\r\n");
        }
    }

    /// A null where RESP2 has the null array: `_` in RESP3, `*-1` in RESP2.
    pub fn null_array(&mut self) {
        if self.resp3 {
            self.raw(b"_\r\n");
        } else {
            self.raw(b"*-1\r\n");
        }
    }

    /// A map header of `pairs` key/value pairs: `%<pairs>` in RESP3, a flat
    /// array of `2 * pairs` elements in RESP2. Keys and values follow.
    pub fn map(&mut self, pairs: usize) {
        if self.resp3 {
            self.header(b'%', pairs as i64);
        } else {
            self.header(b'*', 2 * pairs as i64);
        }
    }

    /// A set header: `~<len>` in RESP3, an array in RESP2.
    pub fn set(&mut self, len: usize) {
        self.header(if self.resp3 { b'~' } else { b'*' }, len as i64);
    }

    /// A push header (pub/sub messages, invalidations): `><len>` in RESP3,
    /// an array in RESP2.
    pub fn push(&mut self, len: usize) {
        self.header(if self.resp3 { b'>' } else { b'*' }, len as i64);
    }

    /// A double: `,<value>` in RESP3 (`inf`, `-inf`, `nan` spelled as
    /// Redis spells them), a bulk string in Redis's `%.17g` form in RESP2.
    pub fn double(&mut self, value: f64) {
        if self.resp3 {
            self.buf.push(b',');
            self.buf
                .extend_from_slice(crate::keyspace::format_score(value).as_bytes());
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk_f64(value);
        }
    }

    /// A double whose text is already formatted (INCRBYFLOAT-style
    /// `%.17Lg` values): `,<text>` in RESP3, a bulk string in RESP2.
    pub fn double_text(&mut self, text: &[u8]) {
        if self.resp3 {
            self.buf.push(b',');
            self.buf.extend_from_slice(text);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text);
        }
    }

    /// A boolean: `#t`/`#f` in RESP3, `:1`/`:0` in RESP2.
    pub fn boolean(&mut self, value: bool) {
        if self.resp3 {
            self.raw(if value { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.integer(value as i64);
        }
    }

    /// A verbatim string of format `format` (three letters, `txt` or
    /// `mkd`): `=<len>\r\n<format>:<text>` in RESP3, a bulk string in
    /// RESP2.
    pub fn verbatim(&mut self, format: &str, text: &[u8]) {
        if self.resp3 {
            self.header(b'=', (text.len() + format.len() + 1) as i64);
            self.buf.extend_from_slice(format.as_bytes());
            self.buf.push(b':');
            self.buf.extend_from_slice(text);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text);
        }
    }

    /// The header of a member list that may carry scores (ZRANGE ...
    /// WITHSCORES and kin): RESP2 flattens member, score pairs into one
    /// array; RESP3 nests each pair (see [`Reply::scored_member`]).
    pub fn scored_list(&mut self, members: usize, withscores: bool) {
        self.array(if withscores && !self.resp3 {
            2 * members
        } else {
            members
        });
    }

    /// One member of a [`Reply::scored_list`]: the member alone, or with
    /// its score: `member, "score"` in RESP2, `[member, score]` (a double)
    /// in RESP3.
    pub fn scored_member(&mut self, member: &[u8], score: Option<f64>) {
        match score {
            None => self.bulk(member),
            Some(score) => {
                if self.resp3 {
                    self.array(2);
                }
                self.bulk(member);
                self.double(score);
            }
        }
    }

    /// A big number: `(<digits>` in RESP3, a bulk string in RESP2.
    pub fn big_number(&mut self, digits: &[u8]) {
        if self.resp3 {
            self.buf.push(b'(');
            self.buf.extend_from_slice(digits);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(digits);
        }
    }

    /// An array header: `*<len>`; the elements follow.
    #[inline]
    pub fn array(&mut self, len: usize) {
        self.header(b'*', len as i64);
    }

    /// A bulk string or null.
    pub fn bulk_opt(&mut self, bytes: Option<&[u8]>) {
        match bytes {
            Some(b) => self.bulk(b),
            None => self.null(),
        }
    }

    #[inline]
    fn header(&mut self, kind: u8, n: i64) {
        self.buf.push(kind);
        self.buf
            .extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }
}

/// Encodes a command as a RESP multibulk (what clients and masters send).
pub fn encode_command<A: AsRef<[u8]>>(out: &mut Vec<u8>, args: &[A]) {
    let mut digits = itoa::Buffer::new();
    out.push(b'*');
    out.extend_from_slice(digits.format(args.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    for arg in args {
        let arg = arg.as_ref();
        out.push(b'$');
        out.extend_from_slice(digits.format(arg.len()).as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

/// A reply frame as a client reads it (used by the harness, the benchmark
/// loader and tests; the server itself only encodes replies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// `+text`
    Simple(String),
    /// `-text`
    Error(String),
    /// `:n`
    Integer(i64),
    /// `$len` bytes, or `$-1` as `None`.
    Bulk(Option<Vec<u8>>),
    /// `*len` elements, or `*-1` as `None`.
    Array(Option<Vec<Frame>>),
    /// RESP3 `_`.
    Null,
    /// RESP3 `%len`: key/value pairs in the order sent.
    Map(Vec<(Frame, Frame)>),
    /// RESP3 `~len`.
    Set(Vec<Frame>),
    /// RESP3 `>len`.
    Push(Vec<Frame>),
    /// RESP3 `,text`, kept as sent (`inf`, `1.5`, ...).
    Double(String),
    /// RESP3 `#t` / `#f`.
    Boolean(bool),
    /// RESP3 `=len\r\nfmt:text`: the format and the text.
    Verbatim(String, Vec<u8>),
    /// RESP3 `(digits`.
    BigNumber(String),
}

/// Why a reply frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Not enough bytes yet.
    #[error("incomplete frame")]
    Incomplete,
    /// Bytes that are not RESP2.
    #[error("invalid reply frame: {0}")]
    Invalid(&'static str),
}

impl Frame {
    /// Decodes one reply frame from the front of `buf`, returning it and the
    /// number of bytes it used.
    pub fn parse(buf: &[u8]) -> Result<(Frame, usize), FrameError> {
        let (kind, line, next) = frame_line(buf, 0)?;
        match kind {
            b'+' => Ok((Frame::Simple(lossy(line)), next)),
            b'-' => Ok((Frame::Error(lossy(line)), next)),
            b':' => parse_i64(line)
                .map(|n| (Frame::Integer(n), next))
                .ok_or(FrameError::Invalid("bad integer")),
            b'$' => {
                let len = parse_i64(line).ok_or(FrameError::Invalid("bad bulk length"))?;
                if len < 0 {
                    return Ok((Frame::Bulk(None), next));
                }
                let end = next + len as usize;
                if buf.len() < end + 2 {
                    return Err(FrameError::Incomplete);
                }
                Ok((Frame::Bulk(Some(buf[next..end].to_vec())), end + 2))
            }
            b'*' => {
                let len = parse_i64(line).ok_or(FrameError::Invalid("bad array length"))?;
                if len < 0 {
                    return Ok((Frame::Array(None), next));
                }
                let mut pos = next;
                let mut items = Vec::with_capacity(len.min(1024) as usize);
                for _ in 0..len {
                    let (item, used) = Frame::parse(&buf[pos..])?;
                    items.push(item);
                    pos += used;
                }
                Ok((Frame::Array(Some(items)), pos))
            }
            b'%' => {
                let len = parse_i64(line).ok_or(FrameError::Invalid("bad map length"))?;
                let mut pos = next;
                let mut pairs = Vec::with_capacity(len.clamp(0, 1024) as usize);
                for _ in 0..len {
                    let (key, used) = Frame::parse(&buf[pos..])?;
                    pos += used;
                    let (value, used) = Frame::parse(&buf[pos..])?;
                    pos += used;
                    pairs.push((key, value));
                }
                Ok((Frame::Map(pairs), pos))
            }
            b'~' | b'>' => {
                let len = parse_i64(line).ok_or(FrameError::Invalid("bad aggregate length"))?;
                let mut pos = next;
                let mut items = Vec::with_capacity(len.clamp(0, 1024) as usize);
                for _ in 0..len {
                    let (item, used) = Frame::parse(&buf[pos..])?;
                    items.push(item);
                    pos += used;
                }
                let frame = if kind == b'~' {
                    Frame::Set(items)
                } else {
                    Frame::Push(items)
                };
                Ok((frame, pos))
            }
            b'|' => {
                // An attribute annotates the reply that follows it; it is
                // read and dropped, and that reply is returned.
                let len = parse_i64(line).ok_or(FrameError::Invalid("bad attribute length"))?;
                let mut pos = next;
                for _ in 0..len.max(0) * 2 {
                    pos += Frame::parse(&buf[pos..])?.1;
                }
                let (frame, used) = Frame::parse(&buf[pos..])?;
                Ok((frame, pos + used))
            }
            b'_' => Ok((Frame::Null, next)),
            b',' => Ok((Frame::Double(lossy(line)), next)),
            b'(' => Ok((Frame::BigNumber(lossy(line)), next)),
            b'#' => match line {
                b"t" => Ok((Frame::Boolean(true), next)),
                b"f" => Ok((Frame::Boolean(false), next)),
                _ => Err(FrameError::Invalid("bad boolean")),
            },
            b'=' => {
                let len = parse_i64(line).ok_or(FrameError::Invalid("bad verbatim length"))?;
                if len < 4 {
                    return Err(FrameError::Invalid("bad verbatim length"));
                }
                let end = next + len as usize;
                if buf.len() < end + 2 {
                    return Err(FrameError::Incomplete);
                }
                let body = &buf[next..end];
                Ok((
                    Frame::Verbatim(lossy(&body[..3]), body[4..].to_vec()),
                    end + 2,
                ))
            }
            _ => Err(FrameError::Invalid("unknown frame type")),
        }
    }

    /// Encodes the frame back to RESP (RESP3 frames as RESP3).
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut digits = itoa::Buffer::new();
        let aggregate = |out: &mut Vec<u8>, kind: u8, len: usize| {
            out.push(kind);
            out.extend_from_slice(itoa::Buffer::new().format(len).as_bytes());
            out.extend_from_slice(b"\r\n");
        };
        match self {
            Frame::Null => out.extend_from_slice(b"_"),
            Frame::Double(text) => {
                out.push(b',');
                out.extend_from_slice(text.as_bytes());
            }
            Frame::BigNumber(text) => {
                out.push(b'(');
                out.extend_from_slice(text.as_bytes());
            }
            Frame::Boolean(value) => out.extend_from_slice(if *value { b"#t" } else { b"#f" }),
            Frame::Verbatim(format, text) => {
                aggregate(out, b'=', format.len() + 1 + text.len());
                out.extend_from_slice(format.as_bytes());
                out.push(b':');
                out.extend_from_slice(text);
            }
            Frame::Map(pairs) => {
                aggregate(out, b'%', pairs.len());
                for (key, value) in pairs {
                    key.encode(out);
                    value.encode(out);
                }
                return;
            }
            Frame::Set(items) | Frame::Push(items) => {
                let kind = if matches!(self, Frame::Set(_)) {
                    b'~'
                } else {
                    b'>'
                };
                aggregate(out, kind, items.len());
                for item in items {
                    item.encode(out);
                }
                return;
            }
            Frame::Simple(s) => {
                out.push(b'+');
                out.extend_from_slice(s.as_bytes());
            }
            Frame::Error(s) => {
                out.push(b'-');
                out.extend_from_slice(s.as_bytes());
            }
            Frame::Integer(n) => {
                out.push(b':');
                out.extend_from_slice(digits.format(*n).as_bytes());
            }
            Frame::Bulk(None) => out.extend_from_slice(b"$-1"),
            Frame::Bulk(Some(b)) => {
                out.push(b'$');
                out.extend_from_slice(digits.format(b.len()).as_bytes());
                out.extend_from_slice(b"\r\n");
                out.extend_from_slice(b);
            }
            Frame::Array(None) => out.extend_from_slice(b"*-1"),
            Frame::Array(Some(items)) => {
                out.push(b'*');
                out.extend_from_slice(digits.format(items.len()).as_bytes());
                out.extend_from_slice(b"\r\n");
                for item in items {
                    item.encode(out);
                }
                return;
            }
        }
        out.extend_from_slice(b"\r\n");
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn frame_line(buf: &[u8], from: usize) -> Result<(u8, &[u8], usize), FrameError> {
    let kind = *buf.get(from).ok_or(FrameError::Incomplete)?;
    let cr = memchr(b'\r', &buf[from..]).ok_or(FrameError::Incomplete)? + from;
    if cr + 1 >= buf.len() {
        return Err(FrameError::Incomplete);
    }
    if buf[cr + 1] != b'\n' {
        return Err(FrameError::Invalid("line not ended by CRLF"));
    }
    Ok((kind, &buf[from + 1..cr], cr + 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args_of(buf: &[u8]) -> Result<(Vec<Vec<u8>>, usize), String> {
        let mut argv = ArgvBuf::default();
        match parse_command(buf, &mut argv, ParseLimits::default()) {
            Ok(Parsed::Command { consumed }) => Ok((
                argv.argv(buf).iter().map(|a| a.to_vec()).collect(),
                consumed,
            )),
            Ok(other) => Err(format!("{other:?}")),
            Err(e) => Err(e.to_string()),
        }
    }

    #[test]
    fn multibulk_command_parses_to_ranges() {
        let (args, used) = args_of(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nrest").unwrap();
        assert_eq!(args, vec![b"GET".to_vec(), b"k".to_vec()]);
        assert_eq!(used, 20);
    }

    #[test]
    fn inline_command_splits_quotes_and_escapes() {
        let (args, _) = args_of(b"SET \"a b\\x41\\n\" 'it\\'s'\r\n").unwrap();
        assert_eq!(
            args,
            vec![b"SET".to_vec(), b"a bA\n".to_vec(), b"it's".to_vec()]
        );
    }

    #[test]
    fn every_prefix_of_a_frame_is_incomplete_not_an_error() {
        let frame = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n";
        for cut in 0..frame.len() {
            let mut argv = ArgvBuf::default();
            let parsed = parse_command(&frame[..cut], &mut argv, ParseLimits::default());
            assert!(
                matches!(parsed, Ok(Parsed::Incomplete { min_len }) if min_len > cut),
                "cut at {cut}: {parsed:?}"
            );
        }
    }

    #[test]
    fn a_frame_grown_byte_by_byte_resumes_where_parsing_stopped() {
        let frame = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n";
        let mut argv = ArgvBuf::default();
        for cut in 1..frame.len() {
            let parsed = parse_command(&frame[..cut], &mut argv, ParseLimits::default());
            assert!(
                matches!(parsed, Ok(Parsed::Incomplete { min_len }) if min_len > cut),
                "cut at {cut}: {parsed:?}"
            );
        }
        assert_eq!(
            parse_command(frame, &mut argv, ParseLimits::default()),
            Ok(Parsed::Command {
                consumed: frame.len()
            })
        );
        let args: Vec<&[u8]> = argv.argv(frame).iter().collect();
        assert_eq!(args, [&b"SET"[..], b"k", b"hello"]);
        // Header bytes only, each once, plus one second look at a `\r`
        // that arrived before its `\n`: the bulk data is never scanned.
        let header_bytes = frame.len() - b"SETkhello".len() - 3 * 2;
        assert!(
            argv.bytes_examined() <= (header_bytes + 4) as u64,
            "{} bytes examined",
            argv.bytes_examined()
        );
    }

    #[test]
    fn bulk_lengths_past_4_gib_keep_exact_offsets() {
        // 2^32 + 1000 bytes: with 32-bit ranges this wrapped to 1000.
        let len: usize = (1 << 32) + 1000;
        let head = format!("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${len}\r\n");
        let limits = ParseLimits {
            max_bulk_bytes: 5 << 30,
            unauthenticated: false,
        };
        let mut argv = ArgvBuf::default();
        let parsed = parse_command(head.as_bytes(), &mut argv, limits);
        let start = head.len();
        assert_eq!(
            parsed,
            Ok(Parsed::Incomplete {
                min_len: start + len + 2
            })
        );
        assert_eq!(argv.progress.bulk, Some((start, start + len)));
        assert_eq!(argv.ranges, [(8, 11), (17, 18)]);
        assert_eq!(argv.unparsed_from(), 20);
    }

    /// Found by the `resp_parser` fuzz target: after a whole bulk, the
    /// parser asked for 4 more bytes (the shortest `$0\r\n`), so a
    /// connection did not look at a wrong first byte until 3 more had
    /// arrived; Redis replies with the protocol error at once.
    #[test]
    fn a_bad_element_start_is_an_error_as_soon_as_its_first_byte_arrives() {
        for head in [&b"*2\r\n$3\r\nGET\r\n"[..], b"*2\r\0"] {
            let mut argv = ArgvBuf::default();
            assert_eq!(
                parse_command(head, &mut argv, ParseLimits::default()),
                Ok(Parsed::Incomplete {
                    min_len: head.len() + 1
                })
            );
            let mut bad = head.to_vec();
            bad.push(b'X');
            assert_eq!(
                parse_command(&bad, &mut argv, ParseLimits::default()),
                Err(ProtocolError::new("expected '$', got 'X'"))
            );
        }
    }

    #[test]
    fn malformed_frames_get_redis_protocol_errors() {
        let cases: &[(&[u8], &str)] = &[
            (b"*x\r\n", "Protocol error: invalid multibulk length"),
            (b"*1\r\n+GET\r\n", "Protocol error: expected '$', got '+'"),
            (b"*1\r\n$-3\r\n", "Protocol error: invalid bulk length"),
            (
                b"*1\r\n$600000000\r\n",
                "Protocol error: invalid bulk length",
            ),
            (
                b"\"unbalanced\r\n",
                "Protocol error: unbalanced quotes in request",
            ),
            (
                b"*3000000000\r\n",
                "Protocol error: invalid multibulk length",
            ),
        ];
        for (input, message) in cases {
            assert_eq!(args_of(input).unwrap_err(), *message, "{input:?}");
        }
        let huge_inline = vec![b'a'; INLINE_MAX_BYTES + 1];
        assert_eq!(
            args_of(&huge_inline).unwrap_err(),
            "Protocol error: too big inline request"
        );
    }

    #[test]
    fn empty_frames_carry_no_command() {
        let mut argv = ArgvBuf::default();
        for (input, used) in [
            (&b"\r\n"[..], 2),
            (b"*0\r\n", 4),
            (b"*-1\r\n", 5),
            (b"   \n", 4),
        ] {
            assert_eq!(
                parse_command(input, &mut argv, ParseLimits::default()),
                Ok(Parsed::Empty { consumed: used })
            );
        }
    }

    #[test]
    fn unauthenticated_clients_get_small_limits() {
        let limits = ParseLimits {
            unauthenticated: true,
            ..ParseLimits::default()
        };
        let mut argv = ArgvBuf::default();
        assert_eq!(
            parse_command(b"*11\r\n", &mut argv, limits).unwrap_err().0,
            "unauthenticated multibulk length"
        );
        assert_eq!(
            parse_command(b"*1\r\n$16385\r\n", &mut argv, limits)
                .unwrap_err()
                .0,
            "unauthenticated bulk length"
        );
    }

    #[test]
    fn strict_integers_match_string2ll() {
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        for bad in [
            &b"9223372036854775808"[..],
            b"+1",
            b"01",
            b"-0",
            b" 1",
            b"",
            b"-",
            b"1a",
        ] {
            assert_eq!(parse_i64(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn reply_frames_round_trip() {
        let frame = Frame::Array(Some(vec![
            Frame::Simple("OK".into()),
            Frame::Error("ERR x".into()),
            Frame::Integer(-5),
            Frame::Bulk(Some(b"a\r\nb".to_vec())),
            Frame::Bulk(None),
            Frame::Array(None),
        ]));
        let mut bytes = Vec::new();
        frame.encode(&mut bytes);
        assert_eq!(Frame::parse(&bytes), Ok((frame, bytes.len())));
        for cut in 0..bytes.len() {
            assert_eq!(Frame::parse(&bytes[..cut]), Err(FrameError::Incomplete));
        }
    }
}
