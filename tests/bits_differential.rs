//! The bit commands (SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD
//! BITFIELD_RO) differentially: the same commands go to a real
//! redis-server 7.0 and to replsim, and every reply must be equal byte for
//! byte, `DEBUG DIGEST` included at the end of each group; their keyspace
//! events, their effect on WATCH, their RESP3 replies and their COMMAND
//! INFO too. Skipped (with a note) when redis-server is not installed,
//! except in CI.

mod common;

use common::script::compare;
use common::{start_redis, start_replsim, Client};
use replsim::resp::Frame;
use replsim::server::Config;

#[test]
fn setbit_and_getbit_match_real_redis() {
    compare(
        "bits-setbit",
        r#"
        # SETBIT creates, grows with zeros and replies with the old bit
        0> SETBIT k 7 1
        0> GET k
        0> SETBIT k 7 1
        0> SETBIT k 7 0
        0> SETBIT k 0 1
        0> SETBIT k 100 1
        0> STRLEN k
        0> GET k
        0> GETBIT k 0
        0> GETBIT k 1
        0> GETBIT k 100
        0> GETBIT k 101
        0> GETBIT k 4294967296
        0> GETBIT nokey 3
        0> OBJECT ENCODING k
        0> DEBUG DIGEST
        # integer and embstr strings are read as their text and left raw
        0> SET n 12
        0> GETBIT n 2
        0> GETBIT n 3
        0> GETBIT n 15
        0> SETBIT n 2 1
        0> OBJECT ENCODING n
        0> SET e hello
        0> SETBIT e 1 1
        0> OBJECT ENCODING e
        0> GET e
        # a SETBIT that changes nothing still leaves raw (and keeps the TTL)
        0> SET same 7 EX 1000
        0> SETBIT same 2 1
        0> OBJECT ENCODING same
        0> TTL same
        0> DEBUG DIGEST
        # bad offsets and bits
        0> SETBIT k -1 1
        0> SETBIT k 4294967296 1
        0> SETBIT k 1.5 1
        0> SETBIT k abc 1
        0> SETBIT k 0 2
        0> SETBIT k 0 -1
        0> SETBIT k 0 01
        0> SETBIT k 0 +1
        0> SETBIT k 0 x
        0> SETBIT k 4294967296 x
        0> GETBIT k -1
        0> GETBIT k 4294967296
        0> GETBIT k x
        0> SETBIT k 0
        0> GETBIT k
        # the offset is checked before the type, the bit before the type too
        0> LPUSH list a
        0> SETBIT list 0 1
        0> SETBIT list -1 1
        0> SETBIT list 0 5
        0> GETBIT list 0
        0> GETBIT list -1
        # proto-max-bulk-len bounds offsets
        0> CONFIG SET proto-max-bulk-len 1mb
        0> SETBIT big 8388608 1
        0> GETBIT big 8388608
        0> SETBIT big 8388607 1
        0> STRLEN big
        0> CONFIG SET proto-max-bulk-len 512mb
        0> DEBUG DIGEST
        "#,
    );
}

#[test]
fn bitcount_matches_real_redis() {
    compare(
        "bits-bitcount",
        r#"
        # whole strings and byte ranges
        0> SET s foobar
        0> BITCOUNT s
        0> BITCOUNT s 0 0
        0> BITCOUNT s 1 1
        0> BITCOUNT s 1 -2
        0> BITCOUNT s -2 -1
        0> BITCOUNT s -100 100
        0> BITCOUNT s 4 2
        0> BITCOUNT s -1 -2
        0> BITCOUNT s 100 200
        0> BITCOUNT s 0 -1 BYTE
        0> BITCOUNT s 0 -1 byte
        # bit ranges, within one byte and across bytes
        0> BITCOUNT s 5 30 BIT
        0> BITCOUNT s 5 30 bit
        0> BITCOUNT s 1 1 BIT
        0> BITCOUNT s 2 5 BIT
        0> BITCOUNT s -10 -1 BIT
        0> BITCOUNT s -1 -1 BIT
        0> BITCOUNT s 0 47 BIT
        0> BITCOUNT s 0 1000 BIT
        0> BITCOUNT s 40 30 BIT
        0> SET long "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x0f"
        0> BITCOUNT long
        0> BITCOUNT long 3 317 BIT
        0> BITCOUNT long 1 -1
        # integers count their text, empty strings and missing keys 0
        0> SET n 12345
        0> BITCOUNT n
        0> BITCOUNT n 1 2
        0> SET empty ""
        0> BITCOUNT empty
        0> BITCOUNT empty 0 -1
        0> BITCOUNT empty 0 -1 BIT
        0> BITCOUNT nokey
        0> BITCOUNT nokey 0
        0> BITCOUNT nokey a b
        0> BITCOUNT nokey 0 1 2 3
        # errors, in Redis's order
        0> BITCOUNT s 0
        0> BITCOUNT s 0 1 2 3
        0> BITCOUNT s a 1
        0> BITCOUNT s 0 b
        0> BITCOUNT s 0 1 WORD
        0> BITCOUNT s -1 -2 WORD
        0> BITCOUNT s a b WORD
        0> BITCOUNT s 0 9223372036854775808
        0> LPUSH list a
        0> BITCOUNT list
        0> BITCOUNT list a b
        0> BITCOUNT
        0> DEBUG DIGEST
        "#,
    );
}

#[test]
fn bitpos_matches_real_redis() {
    compare(
        "bits-bitpos",
        r#"
        # looking for ones
        0> SET s "\x00\x00\x0f\xf0\x00"
        0> BITPOS s 1
        0> BITPOS s 1 2
        0> BITPOS s 1 3
        0> BITPOS s 1 4
        0> BITPOS s 1 -1
        0> BITPOS s 1 0 1
        0> BITPOS s 1 3 -1
        0> BITPOS s 1 10 30 BIT
        0> BITPOS s 1 21 30 BIT
        0> BITPOS s 1 20 20 BIT
        0> BITPOS s 1 28 BIT
        0> BITPOS s 1 28 -1 BIT
        0> BITPOS s 1 29 30 bit
        0> BITPOS s 1 0 -1 BYTE
        # looking for zeros: past the end unless an end is given
        0> SET ones "\xff\xff\xff"
        0> BITPOS ones 0
        0> BITPOS ones 0 1
        0> BITPOS ones 0 1 -1
        0> BITPOS ones 0 1 2
        0> BITPOS ones 0 3 BIT
        0> BITPOS ones 0 3 -1 BIT
        0> BITPOS ones 0 -1 BIT
        0> BITPOS ones 0 -1 -1 BIT
        0> BITPOS s 0
        0> BITPOS s 0 2
        0> BITPOS s 0 2 3
        0> BITPOS s 0 20 27 BIT
        0> BITPOS s 0 20 28 BIT
        0> BITPOS s 0 18 BIT
        0> SET mixed "\xff\xf0\x00"
        0> BITPOS mixed 0 3 13 BIT
        0> BITPOS mixed 0 3 11 BIT
        0> BITPOS mixed 0 9 10 BIT
        0> BITPOS mixed 0 12 BIT
        # ranges that are empty or out of the string
        0> BITPOS s 1 10
        0> BITPOS s 0 10
        0> BITPOS s 1 3 2
        0> BITPOS s 0 -1 -2
        0> BITPOS s 1 100 200 BIT
        0> BITPOS ones 0 100
        # integers, empty strings, missing keys
        0> SET n 7
        0> BITPOS n 0
        0> BITPOS n 1
        0> SET empty ""
        0> BITPOS empty 0
        0> BITPOS empty 1
        0> BITPOS empty 0 0
        0> BITPOS nokey 0
        0> BITPOS nokey 1
        0> BITPOS nokey 1 a b c d e
        # errors, in Redis's order
        0> BITPOS s 2
        0> BITPOS s -1
        0> BITPOS s x
        0> BITPOS nokey 2
        0> BITPOS s 1 x
        0> BITPOS s 1 0 x
        0> BITPOS s 1 0 x WORD
        0> BITPOS s 1 0 1 WORD
        0> BITPOS s 1 0 1 BIT extra
        0> LPUSH list a
        0> BITPOS list 1
        0> BITPOS list 2
        0> BITPOS s
        0> DEBUG DIGEST
        "#,
    );
}

#[test]
fn bitop_matches_real_redis() {
    compare(
        "bits-bitop",
        r#"
        # the four operations over strings of different lengths
        0> SET a "\x0f\xf0\xaa"
        0> SET b "\xff\x0f"
        0> SET c "\x01"
        0> BITOP AND dand a b c
        0> GET dand
        0> BITOP OR dor a b c
        0> GET dor
        0> BITOP XOR dxor a b c
        0> GET dxor
        0> BITOP NOT dnot a
        0> GET dnot
        0> BITOP and lower a b
        0> BITOP Or mixed a b
        0> GET mixed
        0> OBJECT ENCODING dand
        0> OBJECT ENCODING dnot
        0> DEBUG DIGEST
        # long strings (Redis's word-at-a-time path) and a source as destination
        0> SET la "0123456789abcdef0123456789abcdef0123456789abcdef"
        0> SET lb "fedcba9876543210fedcba9876543210fedcba98765432100"
        0> BITOP XOR lx la lb
        0> GET lx
        0> BITOP AND la la lb
        0> GET la
        0> BITOP OR lb lb lb nokey
        0> GET lb
        0> BITOP NOT la la
        0> GET la
        # integers are their text; results are raw strings without TTL
        0> SET n 12345
        0> SET dest 1 EX 1000
        0> BITOP OR dest n
        0> GET dest
        0> TTL dest
        0> OBJECT ENCODING dest
        0> DEBUG DIGEST
        # missing and empty sources: an empty result deletes the destination
        0> SET gone x
        0> BITOP AND gone nokey1 nokey2
        0> EXISTS gone
        0> BITOP AND gone nokey1 nokey2
        0> SET empty ""
        0> SET gone2 x
        0> BITOP OR gone2 empty nokey1
        0> EXISTS gone2
        0> BITOP NOT x nokey
        0> BITOP AND part a nokey
        0> GET part
        0> DEBUG DIGEST
        # errors
        0> BITOP NAND d a b
        0> BITOP NOT d a b
        0> BITOP NAND d a
        0> BITOP AND d
        0> LPUSH list x
        0> BITOP AND d a list
        0> BITOP AND d list nokey
        0> BITOP NOT d list
        0> BITOP AND list a
        0> TYPE list
        0> GET list
        0> DEBUG DIGEST
        "#,
    );
}

#[test]
fn bitfield_matches_real_redis() {
    compare(
        "bits-bitfield",
        r#"
        # GET, SET and INCRBY of signed and unsigned fields
        0> BITFIELD bf SET u8 0 255 GET u8 0 GET i8 0 GET u4 4
        0> BITFIELD bf SET i8 8 -100 GET i8 8 GET u8 8
        0> BITFIELD bf INCRBY u8 0 1 INCRBY i8 8 -28 INCRBY i8 8 -1
        0> BITFIELD bf SET u5 3 31 GET u16 0 GET i16 0
        0> GET bf
        0> BITFIELD bf GET u8 100 GET i64 0 GET u63 1 GET i1 0 GET u1 3
        0> BITFIELD bf SET i64 64 -9223372036854775808 GET i64 64 GET u63 64 GET u63 65
        0> BITFIELD bf INCRBY i64 64 -1 INCRBY i64 64 1
        0> BITFIELD bf SET u63 128 9223372036854775807 GET u63 128 GET i64 128
        0> STRLEN bf
        0> OBJECT ENCODING bf
        0> DEBUG DIGEST
        # fields across byte boundaries and positional offsets
        0> BITFIELD pos SET u8 #0 1 SET u8 #1 2 SET u8 #2 3 GET u8 #1 GET u16 #1 GET u4 #3
        0> GET pos
        0> BITFIELD pos SET i5 #3 -7 GET i5 #3 GET i5 15 GET u3 13
        0> BITFIELD pos INCRBY u12 #1 4000 GET u12 #1 GET u12 12
        0> BITFIELD odd SET u13 3 8191 SET i17 20 -65536 GET u13 3 GET i17 20 GET u37 0
        0> GET odd
        0> DEBUG DIGEST
        # OVERFLOW WRAP, SAT and FAIL, each applying to what follows it
        0> BITFIELD ov SET u8 0 250 OVERFLOW WRAP INCRBY u8 0 10 OVERFLOW SAT INCRBY u8 0 300 OVERFLOW FAIL INCRBY u8 0 1 GET u8 0
        0> BITFIELD ov OVERFLOW SAT INCRBY u8 0 -1000 OVERFLOW WRAP INCRBY u8 0 -1 OVERFLOW FAIL INCRBY u8 0 -300
        0> BITFIELD ov OVERFLOW sat SET i8 8 200 OVERFLOW wrap SET i8 16 200 OVERFLOW fail SET i8 24 200 GET i8 8 GET i8 16 GET i8 24
        0> BITFIELD ov OVERFLOW SAT SET u8 32 -1 OVERFLOW WRAP SET u8 40 -1 SET u8 48 256 GET u8 32 GET u8 40 GET u8 48
        0> BITFIELD ov OVERFLOW SAT INCRBY i8 8 100 INCRBY i8 8 -300 OVERFLOW WRAP INCRBY i8 8 -1 INCRBY i8 8 127
        0> BITFIELD ov OVERFLOW FAIL INCRBY i8 8 -200 INCRBY i8 8 -1 OVERFLOW SAT INCRBY i8 8 -1
        0> BITFIELD ov OVERFLOW SAT SET i8 56 -9223372036854775808 SET i8 64 9223372036854775807 GET i8 56 GET i8 64
        0> BITFIELD ov OVERFLOW WRAP SET i8 72 -9223372036854775808 SET i8 80 9223372036854775807 GET i8 72 GET i8 80
        0> BITFIELD ov OVERFLOW SAT SET i64 96 1 INCRBY i64 96 9223372036854775807 INCRBY i64 96 -9223372036854775808 INCRBY i64 96 -9223372036854775808
        0> BITFIELD ov OVERFLOW WRAP SET i64 160 9223372036854775807 INCRBY i64 160 1 INCRBY i64 160 -1
        0> BITFIELD ov OVERFLOW FAIL SET i64 224 -9223372036854775808 INCRBY i64 224 -1 INCRBY i64 224 1
        0> BITFIELD ov OVERFLOW SAT SET u63 288 9223372036854775807 INCRBY u63 288 1 INCRBY u63 288 -9223372036854775808
        0> BITFIELD ov OVERFLOW WRAP INCRBY u63 288 9223372036854775807 INCRBY u63 288 1
        0> BITFIELD ov OVERFLOW SAT SET u1 400 5 SET i1 401 -1 INCRBY i1 401 -1 INCRBY i1 401 1 GET i1 401 GET u2 400
        0> GET ov
        0> DEBUG DIGEST
        # writes that change nothing; integers and embstr strings become raw
        0> SET n 1
        0> BITFIELD n GET u8 0
        0> OBJECT ENCODING n
        0> BITFIELD n SET u8 0 49
        0> OBJECT ENCODING n
        0> GET n
        0> SET ttl abc EX 1000
        0> BITFIELD ttl INCRBY u8 0 1
        0> TTL ttl
        0> GET ttl
        # a key and zero operations; GET only on a missing key
        0> BITFIELD nokey
        0> BITFIELD nokey GET u8 0 GET i64 3
        0> EXISTS nokey
        0> BITFIELD_RO nokey GET u8 0
        0> BITFIELD_RO n GET u8 0 GET i4 4 GET u63 #0
        0> BITFIELD_RO nokey
        0> EXISTS nokey
        # FAIL refusing every write still creates the padded string
        0> BITFIELD failed OVERFLOW FAIL SET u8 16 300
        0> GET failed
        0> DEBUG DIGEST
        "#,
    );
}

#[test]
fn bitfield_errors_match_real_redis() {
    compare(
        "bits-bitfield-errors",
        r#"
        0> SET k abc
        0> BITFIELD k GET u8
        0> BITFIELD k GET
        0> BITFIELD k SET u8 0
        0> BITFIELD k INCRBY u8 0
        0> BITFIELD k FOO u8 0
        0> BITFIELD k OVERFLOW
        0> BITFIELD k OVERFLOW BAD GET u8 0
        0> BITFIELD k OVERFLOW SAT
        0> BITFIELD k GET u64 0
        0> BITFIELD k GET i65 0
        0> BITFIELD k GET i0 0
        0> BITFIELD k GET x8 0
        0> BITFIELD k GET U8 0
        0> BITFIELD k GET u 0
        0> BITFIELD k GET "" 0
        0> BITFIELD k GET u-1 0
        0> BITFIELD k GET u08 0
        0> BITFIELD k GET u8 -1
        0> BITFIELD k GET u8 x
        0> BITFIELD k GET u8 #x
        0> BITFIELD k GET u8 #-1
        0> BITFIELD k GET u8 ##1
        0> BITFIELD k GET u8 4294967296
        0> BITFIELD k GET u8 4294967295
        0> BITFIELD k GET u8 #536870912
        0> BITFIELD k GET u8 #536870911
        0> BITFIELD k GET u8 #2305843009213693953
        0> BITFIELD k GET u8 #9223372036854775807
        0> BITFIELD k GET "i8\x00junk" 0
        0> BITFIELD k GET "i\x008" 0
        0> BITFIELD k GET u8 "1\x00"
        0> SETBIT k 0 "1\x00"
        0> SETBIT k "1\x00" 1
        0> BITFIELD k SET u8 0 x
        0> BITFIELD k SET u8 0 1.5
        0> BITFIELD k INCRBY u8 0 9223372036854775808
        0> BITFIELD k SET u8 0 1 GET u64 0
        0> BITFIELD k SET u8 4294967296 1
        # the later argument's error wins over nothing run before it
        0> BITFIELD k SET u8 0 255 GET bad 0
        0> GET k
        # BITFIELD_RO: GET only, refused once every argument parsed
        0> BITFIELD_RO k SET u8 0 1
        0> BITFIELD_RO k GET u8 0 INCRBY u8 0 1
        0> BITFIELD_RO k OVERFLOW SAT GET u8 0
        0> BITFIELD_RO k SET u8 0 1 GET u64 0
        0> BITFIELD_RO k SET u8 0 x
        0> GET k
        # WRONGTYPE comes after the arguments
        0> LPUSH list a
        0> BITFIELD list GET u8 0
        0> BITFIELD list SET u8 0 1
        0> BITFIELD list GET u64 0
        0> BITFIELD_RO list GET u8 0
        0> BITFIELD_RO list SET u8 0 1
        0> BITFIELD list
        0> BITFIELD
        0> BITFIELD_RO
        0> DEBUG DIGEST
        "#,
    );
}

/// The RESP3 replies (nulls are `_` there), after `HELLO 3` on both
/// servers (whose replies differ by the connection's id).
#[test]
fn bit_command_resp3_replies_match_real_redis() {
    let Some(redis) = start_redis("bits-resp3", &[]) else {
        return;
    };
    let ours = start_replsim(Config::default());
    let (mut theirs, mut mine) = (Client::connect(redis.port), Client::connect(ours));
    for client in [&mut theirs, &mut mine] {
        let hello = client.cmd(&["HELLO", "3"]);
        assert!(matches!(hello, Frame::Map(_)), "HELLO 3 answered {hello:?}");
    }
    for line in [
        "SETBIT k 3 1",
        "GETBIT k 3",
        "BITCOUNT k",
        "BITPOS k 1",
        "BITOP NOT d k",
        "BITFIELD k OVERFLOW FAIL INCRBY u2 0 5 GET u8 0 SET i8 0 -1",
        "BITFIELD_RO k GET i8 0",
        "BITFIELD nokey",
        "BITFIELD k GET u64 0",
        "DEBUG DIGEST",
    ] {
        let args: Vec<&str> = line.split(' ').collect();
        assert_eq!(
            String::from_utf8_lossy(&mine.raw(&args)),
            String::from_utf8_lossy(&theirs.raw(&args)),
            "{line}"
        );
    }
}

#[test]
fn bit_commands_keyspace_events_match_real_redis() {
    compare(
        "bits-events",
        r#"
        1> SUBSCRIBE sentinel
        1> PSUBSCRIBE __key*__:*
        0> CONFIG SET notify-keyspace-events KEA
        # SETBIT: a new key, a change, a no-op
        0> SETBIT k 1 1
        0> SETBIT k 1 1
        0> SETBIT k 1 0
        0> SETBIT k 100 0
        # BITFIELD: setbit once per call, none when it changed nothing
        0> BITFIELD f SET u8 0 1 SET u8 8 2
        0> BITFIELD f SET u8 0 1
        0> BITFIELD f GET u8 0
        0> BITFIELD f OVERFLOW FAIL INCRBY u8 0 300
        0> BITFIELD g OVERFLOW FAIL SET u8 0 300
        # BITOP: set, or del for an empty result
        0> BITOP OR d k f
        0> BITOP AND d nokey
        0> BITOP AND d nokey
        1<*
        # the new-key event comes first
        0> CONFIG SET notify-keyspace-events KEAn
        0> SETBIT n 0 1
        0> BITFIELD n2 SET u8 0 1
        0> BITOP NOT n3 n
        1<*
        0> CONFIG SET notify-keyspace-events ""
        "#,
    );
}

#[test]
fn bit_commands_touch_watched_keys_as_redis_does() {
    compare(
        "bits-watch",
        r#"
        # a SETBIT that changes nothing leaves a watched key untouched
        0> SETBIT w 3 1
        0> WATCH w
        1> SETBIT w 3 1
        0> MULTI
        0> GET w
        0> EXEC
        0> WATCH w
        1> SETBIT w 3 0
        0> MULTI
        0> GET w
        0> EXEC
        # BITFIELD: touched only when it wrote
        0> WATCH w
        1> BITFIELD w GET u8 0 SET u4 0 0
        0> MULTI
        0> GET w
        0> EXEC
        0> WATCH w
        1> BITFIELD w INCRBY u8 0 1
        0> MULTI
        0> GET w
        0> EXEC
        # BITOP touches its destination, not its sources
        0> SET src a
        0> WATCH src
        1> BITOP NOT dst src
        0> MULTI
        0> GET src
        0> EXEC
        0> WATCH dst
        1> BITOP NOT dst src
        0> MULTI
        0> GET dst
        0> EXEC
        0> WATCH dst
        1> BITOP AND dst nokey
        0> MULTI
        0> EXISTS dst
        0> EXEC
        0> DEBUG DIGEST
        "#,
    );
}

#[test]
fn bit_commands_run_in_transactions_and_scripts_as_in_redis() {
    compare(
        "bits-multi-scripts",
        r#"
        0> MULTI
        0> SETBIT m 5 1
        0> BITFIELD m GET u8 0 SET u8 8 7
        0> BITFIELD m GET u64 0
        0> BITCOUNT m
        0> BITOP NOT mn m
        0> EXEC
        0> EVAL "return redis.call('BITFIELD', KEYS[1], 'INCRBY', 'i8', 0, 200)" 1 m
        0> EVAL "return redis.call('BITFIELD_RO', KEYS[1], 'GET', 'u8', '#1')" 1 m
        0> EVAL "return redis.call('BITPOS', KEYS[1], 1)" 1 m
        0> EVAL "return redis.pcall('SETBIT', KEYS[1], 0, 2)" 1 m
        0> EVAL "return redis.call('BITFIELD', KEYS[1], 'OVERFLOW', 'FAIL', 'INCRBY', 'u2', 0, 9)" 1 m
        0> DEBUG DIGEST
        "#,
    );
}

/// Name, arity, flags, first key, last key and key step of a command, as
/// COMMAND INFO gives them.
fn command_shape(port: u16, name: &str) -> Vec<String> {
    let reply = Client::connect(port).cmd(&["COMMAND", "INFO", name]);
    let Frame::Array(Some(entries)) = reply else {
        panic!("COMMAND INFO {name} replied {reply:?}");
    };
    let Some(Frame::Array(Some(fields))) = entries.first() else {
        panic!("COMMAND INFO {name} has no entry: {entries:?}");
    };
    fields
        .iter()
        .take(6)
        .map(|field| match field {
            Frame::Bulk(Some(text)) => String::from_utf8_lossy(text).into_owned(),
            Frame::Integer(n) => n.to_string(),
            Frame::Array(Some(flags)) | Frame::Set(flags) => {
                let mut names: Vec<String> = flags.iter().map(|f| format!("{f:?}")).collect();
                names.sort();
                names.join(" ")
            }
            other => format!("{other:?}"),
        })
        .collect()
}

#[test]
fn command_info_of_bit_commands_matches_real_redis() {
    let Some(redis) = start_redis("bits-command-info", &[]) else {
        return;
    };
    let ours = start_replsim(Config::default());
    for name in [
        "setbit",
        "getbit",
        "bitcount",
        "bitpos",
        "bitop",
        "bitfield",
        "bitfield_ro",
    ] {
        assert_eq!(
            command_shape(ours, name),
            command_shape(redis.port, name),
            "COMMAND INFO {name}"
        );
    }
    // COMMAND GETKEYS finds BITOP's destination and sources.
    let getkeys = ["COMMAND", "GETKEYS", "BITOP", "AND", "dest", "a", "b"];
    assert_eq!(
        Client::connect(ours).raw(&getkeys),
        Client::connect(redis.port).raw(&getkeys)
    );
}

/// Bit writes of every kind, none of them one that Redis itself does not
/// propagate whole.
const REPLICATED_WRITES: &[&[&str]] = &[
    &["SETBIT", "s", "7", "1"],
    &["SETBIT", "s", "7", "1"],
    &["SETBIT", "s", "1000", "0"],
    &["SET", "n", "42"],
    &["SETBIT", "n", "3", "0"],
    &[
        "BITFIELD", "f", "SET", "i12", "#3", "-1000", "INCRBY", "u7", "1", "99",
    ],
    &[
        "BITFIELD", "f", "OVERFLOW", "SAT", "INCRBY", "i12", "#3", "-5000",
    ],
    &[
        "BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "i12", "#3", "-5000",
    ],
    &["BITFIELD", "f", "GET", "u8", "0"],
    &["BITOP", "XOR", "x", "s", "n", "f"],
    &["BITOP", "NOT", "y", "x"],
    &["SET", "z", "v"],
    &["BITOP", "AND", "z", "nokey"],
];

/// What a real replica of replsim ends up holding, compared with its
/// master and with a real redis-server given the same writes.
#[test]
fn bit_writes_reach_a_real_replica_as_they_reach_redis() {
    let Some(reference) = start_redis("bits-reference-master", &[]) else {
        return;
    };
    let master = start_replsim(Config::default());
    let Some(replica) = start_redis(
        "bits-real-replica",
        &["--replicaof", "127.0.0.1", &master.to_string()],
    ) else {
        return;
    };
    common::wait_in_sync(master, replica.port);
    let (mut ours, mut theirs) = (Client::connect(master), Client::connect(reference.port));
    for write in REPLICATED_WRITES {
        assert_eq!(ours.raw(write), theirs.raw(write), "{write:?}");
    }
    common::wait_in_sync(master, replica.port);
    let reference_digest = common::digest(reference.port);
    assert_eq!(common::digest(master), reference_digest, "master");
    assert_eq!(common::digest(replica.port), reference_digest, "replica");
}
