//! MONITOR: the line every monitoring client is sent for each command the
//! server runs (Redis's `replicationFeedMonitors`), with the arguments
//! Redis redacts (passwords) replaced; and Redis's `sdscatrepr` quoting,
//! which those lines, the log and CONFIG REWRITE share.

use crate::resp::Argv;

/// Who ran a command, as a monitor line names it.
#[derive(Debug, Clone, Copy)]
pub enum Origin<'a> {
    /// A script or function (`[0 lua]`).
    Script,
    /// A client at this address (`[0 127.0.0.1:50312]`).
    Client(&'a str),
}

/// The line monitors get for `argv`, run in `db` at `now_ms` (unix time):
/// `+1700000000.123000 [0 127.0.0.1:50312] "set" "k" "v"\r\n`. Time comes
/// in milliseconds here, so its last three digits are zeros.
pub fn line(now_ms: u64, db: usize, origin: Origin<'_>, argv: Argv<'_>) -> String {
    let mut out = format!("+{}.{:06} ", now_ms / 1000, (now_ms % 1000) * 1000);
    match origin {
        Origin::Script => out.push_str(&format!("[{db} lua] ")),
        Origin::Client(addr) => out.push_str(&format!("[{db} {addr}] ")),
    }
    let redacted = redacted(argv);
    for index in 0..argv.len() {
        if index > 0 {
            out.push(' ');
        }
        if redacted.contains(&index) {
            out.push_str("\"(redacted)\"");
        } else {
            out.push_str(&repr(argv.get(index)));
        }
    }
    out.push_str("\r\n");
    out
}

/// The arguments Redis replaces by `(redacted)` before monitors see them:
/// AUTH's password (and user), HELLO's `AUTH user password`, MIGRATE's
/// `AUTH password` and `AUTH2 user password`.
fn redacted(argv: Argv<'_>) -> Vec<usize> {
    let name = argv.get(0);
    if name.eq_ignore_ascii_case(b"auth") {
        // A form with too many arguments is refused before the redaction.
        return match argv.len() {
            2 => vec![1],
            3 => vec![1, 2],
            _ => Vec::new(),
        };
    }
    if name.eq_ignore_ascii_case(b"hello") {
        // A bad protocol version is refused before any option is read.
        let version = std::str::from_utf8(argv.get(1))
            .ok()
            .and_then(|v| v.parse::<i64>().ok());
        if argv.len() >= 2 && !matches!(version, Some(2 | 3)) {
            return Vec::new();
        }
        let mut found = Vec::new();
        let mut index = 2;
        while index < argv.len() {
            let more = argv.len() - 1 - index;
            if argv.get(index).eq_ignore_ascii_case(b"auth") && more >= 2 {
                found.extend([index + 1, index + 2]);
                index += 3;
            } else if argv.get(index).eq_ignore_ascii_case(b"setname") && more >= 1 {
                index += 2;
            } else {
                // Redis stops at a bad option (and replies an error).
                break;
            }
        }
        return found;
    }
    if name.eq_ignore_ascii_case(b"migrate") {
        let mut found = Vec::new();
        let mut index = 6;
        while index < argv.len() {
            let more = argv.len() - 1 - index;
            let option = argv.get(index);
            if option.eq_ignore_ascii_case(b"auth") && more >= 1 {
                found.push(index + 1);
                index += 1;
            } else if option.eq_ignore_ascii_case(b"auth2") && more >= 2 {
                found.extend([index + 1, index + 2]);
                index += 2;
            } else if !option.eq_ignore_ascii_case(b"copy")
                && !option.eq_ignore_ascii_case(b"replace")
            {
                // KEYS ends the options; anything else is a syntax error.
                break;
            }
            index += 1;
        }
        return found;
    }
    Vec::new()
}

/// Bytes quoted the way Redis logs them (`sdscatrepr`).
pub(crate) fn repr(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            _ if b.is_ascii_graphic() || b == b' ' => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}
