//! Pub/sub and keyspace notifications, differentially: the same script of
//! several clients' commands runs against a real redis-server 7.0 and
//! against replsim, and every reply and every pushed message must be equal
//! byte for byte. Skipped (with a note) when redis-server is not
//! installed, except in CI.

mod common;

use common::script::compare;
use common::{start_redis, start_replsim, Client};
use replsim::server::Config;

#[test]
fn subscribe_publish_and_introspection_match_real_redis() {
    compare(
        "pubsub-basics",
        r#"
        # subscriptions, confirmations, delivery order
        0> SUBSCRIBE ch1 ch2
        0<
        1> PSUBSCRIBE ch* other*
        1<
        3> SUBSCRIBE ch1
        4> PUBLISH ch1 hello
        0<
        3<
        1<
        4> PUBLISH ch2 "two words"
        0<
        1<
        4> PUBLISH otherch x
        1<
        4> PUBLISH nobody x
        0> SUBSCRIBE ch1
        4> PUBSUB NUMSUB ch1 ch2 ch3
        4> PUBSUB NUMSUB
        4> PUBSUB NUMPAT
        ~4> PUBSUB CHANNELS
        ~4> PUBSUB CHANNELS ch*
        4> PUBSUB CHANNELS zz*
        4> PUBSUB CHANNELS a b
        4> PUBSUB NUMPAT x
        4> PUBSUB FOO
        4> PUBSUB
        4> PUBSUB HELP
        4> SUBSCRIBE
        4> PSUBSCRIBE
        4> PUBLISH onlychannel
        4> PUBLISH a b c
        # what a subscribed client may still send
        0> GET foo
        0> SET foo bar
        0> CLIENT LIST
        0> CONFIG GET maxmemory
        0> MULTI
        0> PING
        0> PING hi
        0> PING a b
        0> PSUBSCRIBE p*
        0> PUNSUBSCRIBE p*
        0> PUNSUBSCRIBE
        0> SSUBSCRIBE sh
        0> SUNSUBSCRIBE sh
        # unsubscribing
        0> UNSUBSCRIBE ch1
        0> UNSUBSCRIBE nosuch
        0> UNSUBSCRIBE
        0> UNSUBSCRIBE
        0> PING
        0> GET foo
        1> PUNSUBSCRIBE other*
        1> PUNSUBSCRIBE
        1> PUNSUBSCRIBE
        3> UNSUBSCRIBE
        4> PUBSUB NUMSUB ch1 ch2
        4> PUBSUB NUMPAT
        4> PUBSUB CHANNELS
        4> PUBLISH ch1 gone
        # shard channels: a namespace of their own, no patterns
        0> SSUBSCRIBE s1 s2
        0<
        1> PSUBSCRIBE s*
        4> SPUBLISH s1 m1
        0<
        4> PUBLISH s1 notshard
        1<
        4> PUBSUB SHARDNUMSUB s1 s2 s3
        4> PUBSUB NUMSUB s1
        ~4> PUBSUB SHARDCHANNELS
        4> PUBSUB SHARDCHANNELS s1
        4> PUBSUB SHARDCHANNELS a b
        4> SPUBLISH s1
        0> SUBSCRIBE plain
        0> UNSUBSCRIBE
        0> SUNSUBSCRIBE s1
        0> SUNSUBSCRIBE
        0> SUNSUBSCRIBE
        1> PUNSUBSCRIBE
        # transactions
        2> MULTI
        2> SUBSCRIBE m1
        2> PUBLISH m1 self
        2> EXEC
        2<
        2> UNSUBSCRIBE
        2> MULTI
        2> SSUBSCRIBE x
        2> EXEC
        2> MULTI
        2> PUBLISH ch1 queued
        2> EXEC
        2> SUBSCRIBE q
        2> MULTI
        2> UNSUBSCRIBE q
        2> PING
        # CLIENT REPLY: pushes go out whatever the mode
        3> CLIENT REPLY FOO
        3> CLIENT REPLY
        3- CLIENT REPLY OFF
        3- SET silenced 1
        3- SUBSCRIBE quiet
        3<
        4> PUBLISH quiet hush
        3<
        3- UNSUBSCRIBE
        3<
        3- CLIENT REPLY ON
        3<
        3- CLIENT REPLY SKIP
        3- GET silenced
        3> ECHO back
        3> GET silenced
        # RESET leaves pub/sub mode and every other connection state
        3> SELECT 3
        3> CLIENT SETNAME named
        3> SUBSCRIBE r1 r2
        3<
        3> PSUBSCRIBE r*
        3> RESET
        3> PING
        3> CLIENT GETNAME
        3> SET in-db-0 v
        4> PUBSUB NUMSUB r1 r2
        4> PUBSUB NUMPAT
        4> EXISTS in-db-0
        3> MULTI
        3> SET x y
        3> RESET
        3> EXEC
        3- CLIENT REPLY OFF
        3- RESET
        3<
        3> RESET extra
        "#,
    );
}

#[test]
fn keyspace_notifications_match_real_redis() {
    compare(
        "keyspace-events",
        r#"
        # the parameter
        4> CONFIG GET notify-keyspace-events
        4> CONFIG SET notify-keyspace-events KEQ
        4> CONFIG SET notify-keyspace-events "K E"
        4> CONFIG SET notify-keyspace-events g$lshzxetd
        4> CONFIG GET notify-keyspace-events
        4> CONFIG SET notify-keyspace-events Ex
        4> CONFIG GET notify-keyspace-events
        4> CONFIG SET notify-keyspace-events nKm
        4> CONFIG GET notify-keyspace-events
        4> CONFIG SET notify-keyspace-events AnE
        4> CONFIG GET notify-keyspace-events
        4> CONFIG SET notify-keyspace-events ""
        4> CONFIG GET notify-keyspace-events
        # nothing is published while it is empty
        0> SUBSCRIBE sentinel
        0> PSUBSCRIBE __key*
        4> SET quiet 1
        0<*
        4> CONFIG SET notify-keyspace-events KEA
        # strings
        4> SET s1 v
        4> SET s1 v EX 100
        4> SET s1 v NX
        4> SET s1 v XX GET
        4> SETEX s2 100 v
        4> PSETEX s2 100000 v
        4> SETNX s3 v
        4> SETNX s3 v
        4> GETSET s3 w
        4> MSET m1 a m2 b
        4> MSETNX m1 a m3 c
        4> MSETNX m4 a m5 c
        4> APPEND s3 more
        4> INCR n
        4> DECRBY n 3
        4> INCRBYFLOAT f 1.5
        4> SETRANGE s3 1 xy
        4> SETRANGE s3 1 ""
        4> SETBIT b 7 1
        4> GETEX s3 EX 100
        4> GETEX s3 PERSIST
        4> GETEX s3 PERSIST
        4> GETDEL s3
        4> GETDEL s3
        0<*
        # generic
        4> EXPIRE m1 100
        4> PEXPIREAT m2 1
        4> PERSIST m1
        4> PERSIST m1
        4> RENAME m1 r1
        4> SET r2 x
        4> RENAME r1 r2
        4> RENAMENX r2 m4
        4> COPY r2 c1
        4> COPY r2 c1
        4> COPY r2 c1 REPLACE
        4> MOVE c1 3
        4> DEL c1 r2 nosuch m4
        4> UNLINK m5
        0<*
        # lists
        4> RPUSH l a b c d e
        4> LPUSH l z
        4> LPOP l
        4> RPOP l 2
        4> LPOP nosuchlist
        4> LSET l 0 A
        4> LINSERT l BEFORE A before
        4> LINSERT l BEFORE nopivot x
        4> LREM l 0 nothing
        4> LREM l 1 before
        4> LTRIM l 0 -1
        4> LTRIM l 5 10
        4> RPUSH l2 x
        4> RPOP l2
        0<*
        # SORT ... STORE: sortstore, del when an empty result deletes
        4> RPUSH sl 3 1 2
        4> SORT sl
        4> SORT sl STORE sd
        4> SORT sl STORE sd
        4> SORT nosuch STORE sd
        4> SORT nosuch STORE sd
        4> SET sd-expiring v PX 50
        !sleep 100
        4> DEBUG SET-ACTIVE-EXPIRE 0
        4> SET sd-expiring v PX 50
        !sleep 100
        4> SORT sl STORE sd-expiring
        4> DEBUG SET-ACTIVE-EXPIRE 1
        4> SORT sl BY nosort LIMIT 0 0 STORE sd-expiring
        4> SORT sl LIMIT 0 1 STORE sl
        0<*
        # hashes
        4> HSET h f v g w
        4> HSET h f v2
        4> HMSET h k v
        4> HSETNX h f v
        4> HSETNX h new v
        4> HINCRBY h i 2
        4> HINCRBYFLOAT h fl 1.5
        4> HDEL h nosuch
        4> HDEL h f g k new i fl
        0<*
        # sets
        4> SADD st a b c
        4> SADD st a
        4> SREM st z
        4> SREM st a
        4> SMOVE st st2 b
        4> SMOVE st st2 c
        4> SMOVE st st2 c
        4> SADD st3 x
        4> SINTERSTORE dst st2 st3
        4> SUNIONSTORE dst st2 st3
        4> SDIFFSTORE dst st2 st3
        4> SINTERSTORE dst st2 st3
        4> SPOP st3
        0<*
        # sorted sets
        4> ZADD z 1 a 2 b 3 c 4 d
        4> ZADD z 1 a
        4> ZADD z XX 5 nosuch
        4> ZINCRBY z 1 a
        4> ZADD z INCR 1 b
        4> ZREM z nosuch
        4> ZREM z a
        4> ZPOPMIN z
        4> ZPOPMAX z 0
        4> ZREMRANGEBYSCORE z 100 200
        4> ZADD z 10 e 11 f
        4> ZREMRANGEBYRANK z 0 0
        4> ZREMRANGEBYLEX z - +
        4> ZADD z2 1 x
        4> ZUNIONSTORE zu 1 z2
        4> ZINTERSTORE zu 2 z2 nosuch
        4> ZDIFFSTORE zu 1 z2
        4> ZPOPMAX z2
        0<*
        # expiry: active and lazy
        4> SET e1 v PX 50
        !sleep 400
        0<*
        4> DEBUG SET-ACTIVE-EXPIRE 0
        4> SET e2 v PX 50
        !sleep 200
        4> GET e2
        4> DEBUG SET-ACTIVE-EXPIRE 1
        0<*
        # edge cases
        4> SET past v EXAT 1
        4> SET past v
        4> EXPIRE past 0
        4> SET past v
        4> GETEX past PXAT 1
        4> SET same v
        4> RENAME same same
        4> SETRANGE nokey 0 ""
        4> INCRBY nokey2 5
        4> SADD sp a
        4> SPOP sp 0
        4> SPOP sp 5
        4> ZADD zg 5 m
        4> ZADD zg GT 1 m
        4> ZADD zg GT CH 9 m
        4> LPUSHX nolist a
        4> RPUSHX zg a
        4> LMOVE nolist x LEFT LEFT
        4> RPUSH src a b
        4> LMOVE src src LEFT RIGHT
        4> LMOVE src dst2 LEFT RIGHT
        4> RPOPLPUSH src dst2
        4> LMPOP 2 nosuch dst2 RIGHT COUNT 5
        4> ZADD zm 1 a 2 b
        4> ZMPOP 1 zm MAX COUNT 5
        4> RPUSH bl x
        4> BLPOP bl 0
        4> ZADD bz 1 a
        4> BZPOPMIN bz 0
        4> DEL same nokey2
        0<*
        # events of blocked clients served by a push
        1- BLMOVE wsrc wdst LEFT RIGHT 0
        2- BZPOPMAX wz 0
        !sleep 100
        4> RPUSH wsrc v
        1<
        4> ZADD wz 1 a 2 b
        2<
        4> CONFIG SET notify-keyspace-events KEAn
        1- BLPOP wnew 0
        !sleep 100
        4> RPUSH wnew a
        1<
        4> CONFIG SET notify-keyspace-events KEA
        0<*
        # one class, one channel kind
        4> CONFIG SET notify-keyspace-events Kl
        4> RPUSH only-lists x
        4> SET not-a-list x
        4> DEL only-lists
        0<*
        4> CONFIG SET notify-keyspace-events Eg
        4> RPUSH only-lists x
        4> DEL only-lists
        0<*
        # new keys
        4> CONFIG SET notify-keyspace-events KEn$g
        4> SET nk v
        4> SET nk v2
        4> RPUSH nl x
        4> RENAME nk nk2
        4> SET nk3 v
        4> RENAME nk2 nk3
        4> DEL nk3 nl
        4> RPUSH nsrc b a
        4> SORT nsrc ALPHA STORE nsorted
        4> SORT nsrc ALPHA STORE nsorted
        4> SELECT 2
        4> SET nk4 v
        4> MOVE nk4 0
        4> SELECT 0
        0<*
        4> FLUSHALL
        4> CONFIG SET notify-keyspace-events ""
        "#,
    );
}

/// Publishes `count` messages of `size` bytes on `channel`, pausing
/// `pause_ms` after the first half.
fn publish_burst(publisher: &mut Client, channel: &str, count: usize, size: usize, pause_ms: u64) {
    let payload = "x".repeat(size);
    for i in 0..count {
        if i == count / 2 {
            std::thread::sleep(std::time::Duration::from_millis(pause_ms));
        }
        publisher.raw(&["PUBLISH", channel, &payload]);
    }
}

/// What a server did with a subscriber that never reads: whether it is
/// still a pubsub client, and the channels still active.
fn slow_subscriber_outcome(port: u16, limits: &str, pause_ms: u64) -> (Vec<u8>, Vec<u8>, bool) {
    let mut admin = Client::connect(port);
    admin.raw(&["CONFIG", "SET", "client-output-buffer-limit", limits]);
    let mut subscriber = Client::connect(port);
    subscriber.raw(&["SUBSCRIBE", "firehose"]);
    // Far more than the socket buffers hold: the rest waits in the
    // server's output buffer for the subscriber, which never reads.
    publish_burst(&mut admin, "firehose", 400, 64 * 1024, pause_ms);
    let pubsub_clients = admin.raw(&["CLIENT", "LIST", "TYPE", "pubsub"]);
    let channels = admin.raw(&["PUBSUB", "NUMSUB", "firehose"]);
    // The publisher was never held up; the subscriber, once it reads, finds
    // its connection closed after what the kernel had buffered.
    let stream = subscriber.stream_mut();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let mut chunk = vec![0u8; 1 << 20];
    // End of stream: closed. A read that times out: still open.
    let closed = loop {
        match std::io::Read::read(stream, &mut chunk) {
            Ok(0) => break true,
            Ok(_) => continue,
            Err(_) => break false,
        }
    };
    admin.raw(&[
        "CONFIG",
        "SET",
        "client-output-buffer-limit",
        "pubsub 32mb 8mb 60",
    ]);
    (pubsub_clients, channels, closed)
}

#[test]
fn a_subscriber_over_its_output_limits_is_closed_as_redis_closes_it() {
    let Some(redis) = start_redis("pubsub-obuf", &[]) else {
        return;
    };
    let ours = start_replsim(Config::default());
    for (limits, pause_ms) in [("pubsub 256kb 0 0", 0), ("pubsub 0 256kb 1", 2500)] {
        let theirs = slow_subscriber_outcome(redis.port, limits, pause_ms);
        let mine = slow_subscriber_outcome(ours, limits, pause_ms);
        assert_eq!(theirs.0, b"$0\r\n\r\n", "redis closed it ({limits})");
        assert_eq!(mine.0, theirs.0, "CLIENT LIST TYPE pubsub ({limits})");
        assert_eq!(mine.1, theirs.1, "PUBSUB NUMSUB ({limits})");
        assert!(theirs.2 && mine.2, "the connection is closed ({limits})");
    }
}

/// RESP3 clients get pushes (`>`) for confirmations and messages, may send
/// any command while subscribed, and get a plain `+PONG`.
#[test]
fn resp3_pushes_and_subscribed_commands_match_real_redis() {
    compare(
        "pubsub-resp3",
        r#"
        # HELLO's own reply carries the connection id: skip it
        0- CLIENT REPLY SKIP
        0- HELLO 3
        1- CLIENT REPLY SKIP
        1- HELLO 3
        0> SUBSCRIBE ch1 sentinel
        0<
        1> PSUBSCRIBE ch* __key*
        1<
        2> SSUBSCRIBE shard
        4> PUBLISH ch1 hello
        0<
        1<
        4> SPUBLISH shard s
        2<
        # a RESP3 subscriber may send anything, and PING is plain
        0> PING
        0> PING hi
        0> SET k v
        0> GET k
        0> HGETALL nosuch
        0> ZSCORE nosuch m
        4> CONFIG SET notify-keyspace-events KEA
        4> SET k2 v
        1<
        1<
        4> PUBLISH ch1 after
        0<
        1<
        0> UNSUBSCRIBE ch1
        0> UNSUBSCRIBE
        1> PUNSUBSCRIBE
        1<
        1> PUNSUBSCRIBE
        4> CONFIG SET notify-keyspace-events ""
        0> RESET
        0> PING
        "#,
    );
}
