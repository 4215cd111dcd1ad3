//! SSCAN, HSCAN and ZSCAN differentially against a real redis-server 7.0:
//! a value in a compact encoding comes whole, in Redis's order, with
//! cursor 0; MATCH filters names (a hash's values and a sorted set's
//! scores go with them); the errors and the reply for a missing key are
//! Redis's. (Large values are walked by cursor; Redis's own unit/scan
//! checks that every element comes back.)

mod common;

use common::script::compare;

#[test]
fn compact_values_come_whole_in_redis_order() {
    compare(
        "collection-scan-compact",
        r#"
        0> SADD ints 30 -5 7 1000
        0> SSCAN ints 0
        0> SSCAN ints 0 COUNT 1
        0> SSCAN ints 0 MATCH *0*
        0> HSET h b 2 a 1 c 3
        0> HSCAN h 0
        0> HSCAN h 0 MATCH a
        0> HDEL h b
        0> HSET h d 4
        0> HSCAN h 0 COUNT 1
        0> ZADD z 2.5 b 1 a 3 c -1e3 d
        0> ZSCAN z 0
        0> ZSCAN z 0 MATCH [ab]
        0> ZSCAN z 0 MATCH *
        0> ZADD fractions 0.1 a 1e-5 b 1e20 c -inf d
        0> ZSCAN fractions 0
        # A large sorted set of one member comes whole too
        0> CONFIG SET zset-max-listpack-entries 0
        0> ZADD big 0.1 a
        0> OBJECT ENCODING big
        0> ZSCAN big 0
        0> CONFIG SET zset-max-listpack-entries 128
        # A missing key, whatever the options
        0> SSCAN nothing 0
        0> HSCAN nothing 0 COUNT 0
        0> ZSCAN nothing 0 BOGUS x
        "#,
    );
}

#[test]
fn scan_errors_match_redis() {
    compare(
        "collection-scan-errors",
        r#"
        0> SADD s a
        0> HSET h f v
        0> ZADD z 1 m
        0> SET str v
        0> SSCAN s notanumber
        # strtoul's wrap: -1 is a cursor (a compact value ignores it)
        0> SADD ints 1 2
        0> SSCAN ints -1
        0> SSCAN ints -18446744073709551616
        0> SSCAN s 0 COUNT 0
        0> SSCAN s 0 COUNT x
        0> SSCAN s 0 COUNT
        0> SSCAN s 0 TYPE set
        0> HSCAN h 0 MATCH
        0> ZSCAN z 0 NOPE 1
        0> SSCAN str 0
        0> HSCAN str 0
        0> ZSCAN str 0
        0> SSCAN s
        0> SSCAN nothing notanumber
        "#,
    );
}
