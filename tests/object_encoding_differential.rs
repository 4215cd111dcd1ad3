//! OBJECT ENCODING differentially: the same commands go to a real
//! redis-server 7.0 and to replsim, and the encodings they report (with
//! every other reply) must be equal. Redis converts a value to its large
//! encoding when a write takes it past a threshold and never back; store
//! commands, DEBUG RELOAD and RESTORE encode their result afresh; CONFIG
//! SET re-encodes nothing. Skipped (with a note) when redis-server is not
//! installed, except in CI.

mod common;

use common::script::compare;

/// A string of `len` copies of `byte`.
fn long(byte: char, len: usize) -> String {
    std::iter::repeat_n(byte, len).collect()
}

#[test]
fn string_encodings_follow_the_command_that_wrote_them() {
    let embstr_max = long('e', 44);
    let raw = long('r', 45);
    compare(
        "encoding-strings",
        &format!(
            r#"
        # SET and its kin pick int, embstr or raw from the value
        0> SET i 12345
        0> OBJECT ENCODING i
        0> SET neg -9223372036854775808
        0> OBJECT ENCODING neg
        0> SET lead 0123
        0> OBJECT ENCODING lead
        0> SET e {embstr_max}
        0> OBJECT ENCODING e
        0> SET r {raw}
        0> OBJECT ENCODING r
        0> MSET m1 7 m2 seven
        0> OBJECT ENCODING m1
        0> OBJECT ENCODING m2
        0> SETEX ex 100 42
        0> OBJECT ENCODING ex
        0> GETSET e 8
        0> OBJECT ENCODING e
        # APPEND to an existing string leaves it raw, whatever it holds
        0> APPEND i 6
        0> GET i
        0> OBJECT ENCODING i
        0> SET s abc
        0> APPEND s ""
        0> OBJECT ENCODING s
        # APPEND creating the key encodes like SET
        0> APPEND fresh 42
        0> OBJECT ENCODING fresh
        # SETRANGE: raw when it writes, untouched when it writes nothing
        0> SET sr abc
        0> SETRANGE sr 0 ""
        0> OBJECT ENCODING sr
        0> SETRANGE sr 1 z
        0> OBJECT ENCODING sr
        0> SETRANGE nr 0 7
        0> OBJECT ENCODING nr
        # INCR and kin give int, even from a raw string
        0> INCR i
        0> OBJECT ENCODING i
        0> INCRBY fresh 100000
        0> OBJECT ENCODING fresh
        0> DECR counter
        0> OBJECT ENCODING counter
        # INCRBYFLOAT never gives int, even for an integral result
        0> INCRBYFLOAT f 1.5
        0> OBJECT ENCODING f
        0> INCRBYFLOAT f 0.5
        0> OBJECT ENCODING f
        0> OBJECT REFCOUNT f
        0> INCR f
        0> OBJECT ENCODING f
        0> OBJECT REFCOUNT f
        0> SET five 5
        0> APPEND five ""
        0> OBJECT REFCOUNT five
        0> INCRBYFLOAT big 1e60
        0> OBJECT ENCODING big
        # SETBIT and the HyperLogLog commands leave raw strings
        0> SET b 1
        0> SETBIT b 0 1
        0> OBJECT ENCODING b
        0> SETBIT nb 3 1
        0> OBJECT ENCODING nb
        0> PFADD hll a b c
        0> OBJECT ENCODING hll
        # COPY and RENAME keep the encoding, RESTORE and DEBUG RELOAD
        # encode afresh
        0> COPY i icopy
        0> OBJECT ENCODING icopy
        0> RENAME sr srenamed
        0> OBJECT ENCODING srenamed
        0> EVAL "redis.call('RESTORE', KEYS[2], 0, redis.call('DUMP', KEYS[1])) return 1" 2 i irestored
        0> OBJECT ENCODING irestored
        0> MOVE icopy 1
        0> SELECT 1
        0> OBJECT ENCODING icopy
        0> SELECT 0
        0> DEBUG RELOAD
        0> OBJECT ENCODING i
        0> OBJECT ENCODING s
        0> OBJECT ENCODING f
        0> OBJECT ENCODING b
        0> OBJECT ENCODING hll
        0> OBJECT ENCODING big
        "#
        ),
    );
}

#[test]
fn set_encodings_convert_once_and_are_rebuilt_by_stores_and_loads() {
    compare(
        "encoding-sets",
        r#"
        # a non-integer member converts an intset for good
        0> SADD s 1 2 3
        0> OBJECT ENCODING s
        0> SADD s a
        0> OBJECT ENCODING s
        0> SREM s a
        0> OBJECT ENCODING s
        0> SADD words a
        0> OBJECT ENCODING words
        0> SADD odd 007
        0> OBJECT ENCODING odd
        # more members than set-max-intset-entries convert too
        0> CONFIG SET set-max-intset-entries 4
        0> SADD big 1 2 3 4
        0> OBJECT ENCODING big
        0> SADD big 5
        0> OBJECT ENCODING big
        0> SREM big 5 4
        0> OBJECT ENCODING big
        # lowering the limit converts nothing until a member is added
        0> SADD few 1 2 3
        0> CONFIG SET set-max-intset-entries 2
        0> OBJECT ENCODING few
        0> SADD few 3
        0> OBJECT ENCODING few
        0> SADD few 4
        0> OBJECT ENCODING few
        0> CONFIG SET set-max-intset-entries 512
        # store commands build a new set encoded from its members
        0> SINTERSTORE inter s big
        0> OBJECT ENCODING inter
        0> SUNIONSTORE union s big
        0> OBJECT ENCODING union
        0> SUNIONSTORE mixed s words
        0> OBJECT ENCODING mixed
        0> SDIFFSTORE diff1 s words
        0> OBJECT ENCODING diff1
        # the second difference algorithm copies the first set, and the
        # copy converted for the member removed afterwards
        0> SADD first 1 2 3 4 5 a
        0> SADD other1 a
        0> SADD other2 zz
        0> SDIFFSTORE diff2 first other1 other2
        0> OBJECT ENCODING diff2
        0> SDIFFSTORE diff3 first other1
        0> OBJECT ENCODING diff3
        # SMOVE: the destination converts as SADD would
        0> SMOVE s dest 1
        0> OBJECT ENCODING dest
        0> SMOVE words dest a
        0> OBJECT ENCODING dest
        0> SMOVE first dest2 a
        0> OBJECT ENCODING first
        0> OBJECT ENCODING dest2
        # SPOP taking most of a set rebuilds it from what remains
        0> CONFIG SET set-max-intset-entries 4
        0> SADD pop 1 2 3 4 5 6 7 8 9 10
        0> SADD pop2 1 2 3 4 5 6 7 8 9 10
        0> CONFIG SET set-max-intset-entries 512
        0> EVAL "return #redis.call('SPOP', KEYS[1], 9)" 1 pop
        0> OBJECT ENCODING pop
        0> EVAL "return #redis.call('SPOP', KEYS[1], 1)" 1 pop2
        0> OBJECT ENCODING pop2
        # COPY keeps the encoding; RESTORE and DEBUG RELOAD encode afresh
        0> COPY s scopy
        0> OBJECT ENCODING scopy
        0> EVAL "redis.call('RESTORE', KEYS[2], 0, redis.call('DUMP', KEYS[1])) return 1" 2 s srestored
        0> OBJECT ENCODING srestored
        0> EVAL "redis.call('RESTORE', KEYS[2], 0, redis.call('DUMP', KEYS[1])) return 1" 2 union urestored
        0> OBJECT ENCODING urestored
        0> DEBUG RELOAD
        0> OBJECT ENCODING s
        0> OBJECT ENCODING big
        0> OBJECT ENCODING few
        0> OBJECT ENCODING pop2
        0> OBJECT ENCODING words
        "#,
    );
}

#[test]
fn hash_encodings_convert_once_and_are_rebuilt_by_loads() {
    let long_value = long('v', 65);
    let max_value = long('w', 64);
    compare(
        "encoding-hashes",
        &format!(
            r#"
        # a value or field longer than hash-max-listpack-value converts
        0> HSET h f v
        0> OBJECT ENCODING h
        0> HSET h f {max_value}
        0> OBJECT ENCODING h
        0> HSET h f {long_value}
        0> OBJECT ENCODING h
        0> HSET h f v
        0> OBJECT ENCODING h
        0> HSET longfield {long_value} v
        0> OBJECT ENCODING longfield
        0> HMSET hm a 1 b {long_value}
        0> OBJECT ENCODING hm
        # HSETNX converts only when it sets the field
        0> HSET nx a 1
        0> HSETNX nx a {long_value}
        0> OBJECT ENCODING nx
        0> HSETNX nx b {long_value}
        0> OBJECT ENCODING nx
        # HINCRBYFLOAT converts for a long field name
        0> HSET inc a 1
        0> HINCRBYFLOAT inc {long_value} 1.5
        0> OBJECT ENCODING inc
        # more fields than hash-max-listpack-entries convert too
        0> CONFIG SET hash-max-listpack-entries 2
        0> HSET few a 1 b 2
        0> OBJECT ENCODING few
        0> HINCRBY few c 3
        0> OBJECT ENCODING few
        0> HDEL few c
        0> OBJECT ENCODING few
        # lowering the limit converts nothing until the hash is written
        0> CONFIG SET hash-max-listpack-entries 512
        0> HSET two a 1 b 2
        0> CONFIG SET hash-max-listpack-entries 1
        0> OBJECT ENCODING two
        0> HGET two a
        0> OBJECT ENCODING two
        0> HSET two a 5
        0> OBJECT ENCODING two
        0> CONFIG SET hash-max-listpack-entries 512
        # COPY keeps the encoding; RESTORE and DEBUG RELOAD encode afresh
        0> COPY h hcopy
        0> OBJECT ENCODING hcopy
        0> EVAL "redis.call('RESTORE', KEYS[2], 0, redis.call('DUMP', KEYS[1])) return 1" 2 h hrestored
        0> OBJECT ENCODING hrestored
        0> EVAL "redis.call('RESTORE', KEYS[2], 0, redis.call('DUMP', KEYS[1])) return 1" 2 nx nxrestored
        0> OBJECT ENCODING nxrestored
        0> DEBUG RELOAD
        0> OBJECT ENCODING h
        0> OBJECT ENCODING few
        0> OBJECT ENCODING hm
        0> HGETALL h
        "#
        ),
    );
}

#[test]
fn sorted_set_encodings_convert_once_and_are_rebuilt_by_stores_and_loads() {
    let long_member = long('m', 65);
    compare(
        "encoding-zsets",
        &format!(
            r#"
        # a member longer than zset-max-listpack-value converts
        0> ZADD z 1 a
        0> OBJECT ENCODING z
        0> ZADD z 2 {long_member}
        0> OBJECT ENCODING z
        0> ZREM z {long_member}
        0> OBJECT ENCODING z
        0> ZADD first 1 {long_member}
        0> OBJECT ENCODING first
        0> ZINCRBY zi 1 {long_member}
        0> OBJECT ENCODING zi
        # more members than zset-max-listpack-entries convert too
        0> CONFIG SET zset-max-listpack-entries 2
        0> ZADD few 1 a 2 b
        0> OBJECT ENCODING few
        0> ZADD few 3 c
        0> OBJECT ENCODING few
        0> ZPOPMIN few
        0> OBJECT ENCODING few
        # lowering the limits converts nothing until a member is inserted
        0> CONFIG SET zset-max-listpack-entries 128
        0> ZADD two 1 aa 2 bb
        0> CONFIG SET zset-max-listpack-entries 1
        0> CONFIG SET zset-max-listpack-value 1
        0> ZADD two 5 aa
        0> ZINCRBY two 1 bb
        0> OBJECT ENCODING two
        0> CONFIG SET zset-max-listpack-value 64
        0> ZADD two 3 cc
        0> OBJECT ENCODING two
        0> CONFIG SET zset-max-listpack-entries 128
        # store commands build a new sorted set encoded from its members
        0> ZUNIONSTORE union 2 z few
        0> OBJECT ENCODING union
        0> ZINTERSTORE inter 2 z first
        0> OBJECT ENCODING inter
        0> ZUNIONSTORE long 2 z first
        0> OBJECT ENCODING long
        0> ZDIFFSTORE diff 2 z few
        0> OBJECT ENCODING diff
        0> ZRANGESTORE range few 0 -1
        0> OBJECT ENCODING range
        0> ZRANGESTORE byscore long -inf +inf BYSCORE
        0> OBJECT ENCODING byscore
        # COPY keeps the encoding; RESTORE and DEBUG RELOAD encode afresh
        0> COPY z zcopy
        0> OBJECT ENCODING zcopy
        0> EVAL "redis.call('RESTORE', KEYS[2], 0, redis.call('DUMP', KEYS[1])) return 1" 2 z zrestored
        0> OBJECT ENCODING zrestored
        0> DEBUG RELOAD
        0> OBJECT ENCODING z
        0> OBJECT ENCODING few
        0> OBJECT ENCODING first
        0> ZRANGE z 0 -1 WITHSCORES
        # a listpack stores a score of -0 as 0, a skiplist keeps it
        0> ZADD negz -0 a
        0> ZSCORE negz a
        0> ZINCRBY negz -0 a
        0> ZSCORE negz a
        0> ZADD negs 1 {long_member}
        0> ZADD negs -0 b
        0> ZSCORE negs b
        0> ZREM negs {long_member}
        0> ZADD negs -0 c
        0> ZSCORE negs c
        0> OBJECT ENCODING negs
        0> ZUNIONSTORE negu 1 negs
        0> ZSCORE negu b
        0> ZUNIONSTORE negw 1 negz WEIGHTS -1
        0> ZSCORE negw a
        0> DEBUG RELOAD
        0> ZSCORE negs b
        0> OBJECT ENCODING negs
        # lists are always quicklists in Redis 7.0
        0> RPUSH l {long_member} 1 2
        0> OBJECT ENCODING l
        "#
        ),
    );
}
