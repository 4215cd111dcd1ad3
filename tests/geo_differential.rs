//! The GEO commands differentially: the same scripts go to a real
//! redis-server 7.0 and to replsim, and every reply must be equal byte for
//! byte: scores (the 52-bit geohashes), decoded coordinates, distances
//! with their four decimals, search results in Redis's order, the errors
//! and their order, RESP3 shapes, and, after each group, DEBUG DIGEST and
//! OBJECT ENCODING of what was written; DUMP payloads cross-restored
//! between the two servers. Then what each write
//! propagates (as observed on redis-server 7.0.15 with MONITOR on a
//! replica) and the commands' COMMAND INFO metadata. Skipped (with a note)
//! when redis-server is not installed, except in CI.

mod common;

use common::script::compare;
use common::stream::RecordingMaster;
use common::{start_redis, start_replsim, Client};
use replsim::resp::Frame;
use replsim::server::Config;

/// Sicily, a few capitals, and points at the edges of what can be
/// indexed.
const PLACES: &str = r#"
        0> GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
        0> GEOADD Sicily 13.583333 37.316667 Agrigento 12.758489 38.788135 edge1 17.241510 38.788135 edge2
        0> GEOADD world -73.9454966 40.747533 nyc -0.1275 51.507222 london 2.3522 48.8566 paris 13.405 52.52 berlin 139.6917 35.6895 tokyo -122.4194 37.7749 sf 151.2093 -33.8688 sydney
        0> GEOADD edges 180 85.05112878 ne -180 -85.05112878 sw 0 0 origin -0.0 -0.0 negzero 179.9999 0 dateline -179.9999 0 dateline2
"#;

#[test]
fn geoadd_stores_redis_geohash_scores_and_checks_its_options() {
    compare(
        "geo-add",
        &format!(
            r#"
        {PLACES}
        0> ZRANGE Sicily 0 -1 WITHSCORES
        0> ZRANGE world 0 -1 WITHSCORES
        0> ZRANGE edges 0 -1 WITHSCORES
        # Updates: CH counts changes, NX and XX restrict
        0> GEOADD Sicily 13.361389 38.115556 Palermo
        0> GEOADD Sicily CH 13.361389 38.115556 Palermo 15 37 Catania 1 1 new
        0> GEOADD Sicily NX 0 0 Palermo 1 2 new2
        0> GEOADD Sicily XX 0 0 Palermo 1 2 new3
        0> GEOADD Sicily CH NX 5 5 Palermo 6 6 new4
        0> GEOADD Sicily CH XX 5 5 Palermo 6 6 new5
        0> GEOADD Sicily ch xx nx 5 5 Palermo
        0> GEOADD Sicily XX NX 5 5 Palermo
        0> GEOADD nokey XX 5 5 Palermo
        0> EXISTS nokey
        0> ZRANGE Sicily 0 -1 WITHSCORES
        # Errors: every position is checked before anything is added
        0> GEOADD Sicily GT 1 1 a
        0> GEOADD Sicily 1 1 a 2
        0> GEOADD Sicily 1 1
        0> GEOADD Sicily 1 1 a 200 100 b
        0> GEOADD Sicily 1 -86 a
        0> GEOADD Sicily -180.0000001 0 a
        0> GEOADD Sicily abc 1 a
        0> GEOADD Sicily 1 abc a
        0> GEOADD Sicily inf 1 a
        0> GEOADD Sicily 1 -inf a
        0> GEOADD Sicily 123.456789123 -87.1234567891 a
        0> GEOADD Sicily nan 1 a
        0> EXISTS a
        0> ZSCORE Sicily a
        0> SET str x
        0> GEOADD str 1 1 a
        0> GEOADD str 1 100 a
        # The result is a sorted set like any other
        0> TYPE Sicily
        0> OBJECT ENCODING Sicily
        0> OBJECT ENCODING world
        0> DEBUG DIGEST
        0> DEBUG DIGEST-VALUE Sicily world edges
        0> DEBUG RELOAD
        0> DEBUG DIGEST
        0> ZRANGE edges 0 -1 WITHSCORES
"#
        ),
    );
}

#[test]
fn geopos_geohash_and_geodist_decode_scores_as_redis_does() {
    compare(
        "geo-read",
        &format!(
            r#"
        {PLACES}
        0> GEOPOS Sicily Palermo Catania nope Agrigento
        0> GEOPOS world nyc london paris berlin tokyo sf sydney
        0> GEOPOS edges ne sw origin negzero dateline dateline2
        0> GEOPOS nokey a b
        0> GEOPOS Sicily
        0> GEOHASH Sicily Palermo Catania nope
        0> GEOHASH world nyc london paris berlin tokyo sf sydney
        0> GEOHASH edges ne sw origin negzero dateline dateline2
        0> GEOHASH nokey a
        0> GEOHASH Sicily
        0> GEODIST Sicily Palermo Catania
        0> GEODIST Sicily Palermo Catania km
        0> GEODIST Sicily Palermo Catania KM
        0> GEODIST Sicily Palermo Catania mi
        0> GEODIST Sicily Palermo Catania ft
        0> GEODIST Sicily Palermo Catania m
        0> GEODIST Sicily Palermo Palermo
        0> GEODIST world nyc sydney
        0> GEODIST world london paris km
        0> GEODIST world sf tokyo mi
        0> GEODIST edges ne sw
        0> GEODIST edges dateline dateline2 m
        0> GEODIST edges origin negzero
        0> GEODIST Sicily Palermo nope
        0> GEODIST Sicily nope Palermo km
        0> GEODIST nokey a b
        0> GEODIST nokey a b yards
        0> GEODIST Sicily Palermo Catania yards
        0> GEODIST Sicily Palermo Catania km extra
        0> GEODIST Sicily Palermo
        # Scores no GEOADD wrote still decode
        0> ZADD odd 0 zero 1 one 4503599627370495 top 4503599627370496 over -5 negative 9007199254740992 huge
        0> GEOPOS odd zero one top over negative huge
        0> GEOHASH odd zero one top over negative huge
        0> GEODIST odd zero top
        0> SET str x
        0> GEOPOS str a
        0> GEOHASH str a
        0> GEODIST str a b
        0> GEODIST str a b furlongs
        # RESP3: coordinates become doubles, missing ones nulls
        0- CLIENT REPLY SKIP
        0- HELLO 3
        0> GEOPOS Sicily Palermo nope
        0> GEOPOS edges ne sw origin
        0> GEOPOS nokey a
        0> GEOHASH Sicily Palermo nope
        0> GEODIST Sicily Palermo nope
        0> GEODIST nokey a b
        0> GEODIST Sicily Palermo Catania
        0> DEBUG DIGEST
"#
        ),
    );
}

#[test]
fn georadius_and_georadiusbymember_find_sort_count_and_store_as_redis() {
    compare(
        "geo-radius",
        &format!(
            r#"
        {PLACES}
        0> GEORADIUS Sicily 15 37 200 km
        0> GEORADIUS Sicily 15 37 200 km ASC
        0> GEORADIUS Sicily 15 37 200 km DESC
        0> GEORADIUS Sicily 15 37 200 km WITHDIST
        0> GEORADIUS Sicily 15 37 200 km WITHDIST WITHCOORD WITHHASH
        0> GEORADIUS Sicily 15 37 200 km withhash withcoord asc
        0> GEORADIUS Sicily 15 37 200000 m WITHDIST
        0> GEORADIUS Sicily 15 37 124.27 mi WITHDIST DESC
        0> GEORADIUS Sicily 15 37 656168 ft WITHDIST
        0> GEORADIUS Sicily 15 37 200 km COUNT 1
        0> GEORADIUS Sicily 15 37 200 km COUNT 2 DESC WITHDIST
        0> GEORADIUS Sicily 15 37 200 km COUNT 1 ANY
        0> GEORADIUS Sicily 15 37 200 km COUNT 2 ANY ASC
        0> GEORADIUS Sicily 15 37 200 km COUNT 100
        0> GEORADIUS Sicily 15 37 0 km
        0> GEORADIUS Sicily 13.361389 38.115556 0 km
        0> GEORADIUS world 0 0 30000 km ASC
        0> GEORADIUS world 0 0 30000 km
        0> GEORADIUS world 0 45 5000 km WITHDIST ASC
        0> GEORADIUS world 179 0 20000 km WITHDIST ASC
        0> GEORADIUS edges 180 85 500 km WITHDIST
        0> GEORADIUS edges -180 -85 1000 km WITHDIST
        0> GEORADIUS edges 0 0 50 km WITHCOORD
        0> GEORADIUS edges 180 0 100 km WITHDIST
        0> GEORADIUSBYMEMBER Sicily Palermo 200 km
        0> GEORADIUSBYMEMBER Sicily Palermo 200 km WITHDIST WITHCOORD COUNT 2
        0> GEORADIUSBYMEMBER world london 1000 km WITHDIST DESC
        0> GEORADIUSBYMEMBER_RO world paris 1000 km WITHDIST
        0> GEORADIUS_RO Sicily 15 37 200 km WITHDIST ASC
        # Errors, in Redis's order
        0> GEORADIUS Sicily 200 37 200 km
        0> GEORADIUS Sicily x 37 200 km
        0> GEORADIUS Sicily 15 37 x km
        0> GEORADIUS Sicily 15 37 -1 km
        0> GEORADIUS Sicily 15 37 200 yards
        0> GEORADIUS Sicily 15 37 200 km COUNT
        0> GEORADIUS Sicily 15 37 200 km COUNT x
        0> GEORADIUS Sicily 15 37 200 km COUNT 0
        0> GEORADIUS Sicily 15 37 200 km COUNT -1
        0> GEORADIUS Sicily 15 37 200 km ANY
        0> GEORADIUS Sicily 15 37 200 km BADOPTION
        0> GEORADIUS Sicily 15 37 200 km FROMLONLAT 1 1
        0> GEORADIUS Sicily 15 37 200 km STORE
        0> GEORADIUS Sicily 15 37 200 km STORE dst WITHDIST
        0> GEORADIUS Sicily 15 37 200 km STOREDIST dst WITHHASH
        0> GEORADIUS_RO Sicily 15 37 200 km STORE dst
        0> GEORADIUSBYMEMBER_RO Sicily Palermo 200 km STOREDIST dst
        0> GEORADIUSBYMEMBER Sicily nope 200 km
        0> GEORADIUSBYMEMBER Sicily Palermo x km
        0> GEORADIUSBYMEMBER Sicily Palermo 200 lightyears
        0> GEORADIUS Sicily 15 37 200
        # A missing source: empty, and its member and radius unchecked
        0> GEORADIUS nokey 15 37 200 km
        0> GEORADIUS nokey 15 37 200 km WITHDIST
        0> GEORADIUSBYMEMBER nokey nope x lightyears
        0> GEORADIUSBYMEMBER nokey nope x lightyears BADOPTION
        0> GEORADIUSBYMEMBER nokey nope x lightyears COUNT 0
        0> GEORADIUS nokey 200 37 200 km
        0> SET str x
        0> GEORADIUS str 15 37 200 km
        0> GEORADIUS str 200 37 200 km
        0> GEORADIUSBYMEMBER str a 1 km
        # STORE keeps the scores, STOREDIST stores distances
        0> GEORADIUS Sicily 15 37 200 km STORE dst
        0> ZRANGE dst 0 -1 WITHSCORES
        0> OBJECT ENCODING dst
        0> GEORADIUS Sicily 15 37 200 km STOREDIST dst2
        0> ZRANGE dst2 0 -1 WITHSCORES
        0> GEORADIUS Sicily 15 37 200 km STORE a STOREDIST b
        0> EXISTS a b
        0> ZRANGE b 0 -1 WITHSCORES
        0> GEORADIUS Sicily 15 37 200 km COUNT 1 DESC STOREDIST dst3
        0> ZRANGE dst3 0 -1 WITHSCORES
        0> GEORADIUS world 0 0 30000 km STOREDIST far
        0> ZRANGE far 0 -1 WITHSCORES
        0> SETEX dst4 100 old
        0> GEORADIUSBYMEMBER Sicily Palermo 100 km store dst4
        0> TTL dst4
        0> TYPE dst4
        # Nothing found, or no source: the destination goes
        0> GEORADIUS Sicily 50 50 1 km STORE dst
        0> EXISTS dst
        0> GEORADIUS nokey 15 37 200 km STORE dst2
        0> EXISTS dst2
        0> GEORADIUS nokey 15 37 200 km STORE dst2
        0> GEORADIUSBYMEMBER nokey a 1 km STOREDIST dst3
        0> EXISTS dst3
        0> GEORADIUS str 15 37 200 km STORE dst5
        0> DEBUG DIGEST
        # RESP3 shapes
        0- CLIENT REPLY SKIP
        0- HELLO 3
        0> GEORADIUS Sicily 15 37 200 km WITHDIST WITHCOORD WITHHASH
        0> GEORADIUS Sicily 15 37 200 km
        0> GEORADIUS nokey 15 37 200 km
        0> GEORADIUS Sicily 50 50 1 km WITHCOORD
        0> GEORADIUSBYMEMBER Sicily Palermo 200 km WITHCOORD COUNT 1
"#
        ),
    );
}

#[test]
fn geosearch_and_geosearchstore_cover_circles_and_boxes_as_redis() {
    compare(
        "geo-search",
        &format!(
            r#"
        {PLACES}
        0> GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km ASC
        0> GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km WITHDIST WITHCOORD WITHHASH
        0> GEOSEARCH Sicily FROMMEMBER Palermo BYRADIUS 200 km DESC WITHDIST
        0> GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 400 400 km ASC WITHDIST
        0> GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 200 200 km ASC WITHDIST
        0> GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 400 100 km ASC
        0> GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 100 400 km ASC
        0> GEOSEARCH Sicily FROMMEMBER Catania BYBOX 600 600 mi WITHDIST COUNT 3
        0> GEOSEARCH Sicily FROMMEMBER Catania BYBOX 600 600 mi COUNT 3 ANY
        0> GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 0 0 km
        0> GEOSEARCH world FROMLONLAT 0 0 BYBOX 40000 20000 km WITHDIST
        0> GEOSEARCH world FROMLONLAT 179 0 BYBOX 40000 1000 km ASC
        0> GEOSEARCH world FROMLONLAT 0 -60 BYBOX 30000 8000 km DESC
        0> GEOSEARCH edges FROMLONLAT 180 0 BYBOX 100 100 km WITHDIST
        0> GEOSEARCH edges FROMMEMBER ne BYRADIUS 1 m WITHCOORD
        0> geosearch Sicily frommember Palermo byradius 1 km withdist
        # Errors, in Redis's order
        0> GEOSEARCH Sicily FROMLONLAT 15 37 FROMMEMBER Palermo BYRADIUS 200 km
        0> GEOSEARCH Sicily FROMMEMBER Palermo FROMLONLAT 15 37 BYRADIUS 200 km
        0> GEOSEARCH Sicily BYRADIUS 200 km ASC
        0> geosearch Sicily BYRADIUS 200 km ASC
        0> GEOSEARCH Sicily FROMLONLAT 15 37 ASC
        0> GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km BYBOX 1 1 km
        0> GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 1 km BYRADIUS 200 km
        0> GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX x 1 km
        0> GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 x km
        0> GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX -1 1 km
        0> GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 1 parsecs
        0> GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1 parsecs
        0> GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 1
        0> GEOSEARCH Sicily FROMLONLAT 15 200 BYRADIUS 1 km
        0> GEOSEARCH Sicily FROMMEMBER nope BYRADIUS 1 km
        0> GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1 km STORE dst
        0> GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1 km STOREDIST
        0> GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1 km ANY
        0> GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1 km COUNT 0
        0> GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1 km BYRADIUS 2 km
        0> GEOSEARCH nokey FROMMEMBER nope BYRADIUS 1 km
        0> GEOSEARCH nokey FROMMEMBER nope BYBOX 1 1 km WITHDIST
        0> GEOSEARCH nokey FROMMEMBER nope
        0> GEOSEARCH nokey FROMLONLAT 500 0 BYRADIUS 1 km
        0> SET str x
        0> GEOSEARCH str FROMLONLAT 15 37 BYRADIUS 1 km
        0> GEOSEARCHSTORE dst str FROMLONLAT 15 37 BYRADIUS 1 km
        # GEOSEARCHSTORE
        0> GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km
        0> ZRANGE dst 0 -1 WITHSCORES
        0> GEOSEARCHSTORE dst2 Sicily FROMLONLAT 15 37 BYBOX 400 400 km STOREDIST
        0> ZRANGE dst2 0 -1 WITHSCORES
        0> GEOSEARCHSTORE dst3 Sicily FROMMEMBER Palermo BYRADIUS 200 km COUNT 2 DESC STOREDIST
        0> ZRANGE dst3 0 -1 WITHSCORES
        0> OBJECT ENCODING dst3
        0> GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km WITHDIST
        0> GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km STORE x
        0> GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST x
        0> GEOSEARCHSTORE dst Sicily BYRADIUS 200 km
        0> GEOSEARCHSTORE dst Sicily FROMLONLAT 50 50 BYRADIUS 1 km
        0> EXISTS dst
        0> GEOSEARCHSTORE dst2 nokey FROMMEMBER nope BYRADIUS 1 km
        0> EXISTS dst2
        0> GEOSEARCHSTORE dst2 nokey FROMMEMBER nope BYRADIUS 1 km
        0> GEOSEARCHSTORE Sicily Sicily FROMMEMBER Palermo BYRADIUS 100 km
        0> ZRANGE Sicily 0 -1 WITHSCORES
        0> DEBUG DIGEST
        # RESP3 shapes
        0- CLIENT REPLY SKIP
        0- HELLO 3
        0> GEOSEARCH world FROMLONLAT 0 45 BYRADIUS 1000 km WITHDIST WITHCOORD WITHHASH ASC
        0> GEOSEARCH world FROMLONLAT 0 45 BYRADIUS 1 km
"#
        ),
    );
}

#[test]
fn many_points_are_found_in_redis_order_across_cells() {
    // A grid of points around a cell corner, so that searches scan several
    // cells (unsorted results come in scan order) and some points tie.
    let mut script = String::from("0> DEL grid\n");
    for row in 0..12 {
        let mut line = String::from("0> GEOADD grid");
        for column in 0..12 {
            let longitude = -0.55 + column as f64 * 0.1;
            let latitude = -0.55 + row as f64 * 0.1;
            line.push_str(&format!(" {longitude:.2} {latitude:.2} p{row}_{column}"));
        }
        script.push_str(&line);
        script.push('\n');
    }
    // The same place under several names: distances tie.
    script.push_str("0> GEOADD grid 0.05 0.05 twin1 0.05 0.05 twin2 0.05 0.05 twin3\n");
    script.push_str(
        r#"
        0> OBJECT ENCODING grid
        0> GEORADIUS grid 0 0 40 km
        0> GEORADIUS grid 0 0 40 km ASC WITHDIST
        0> GEORADIUS grid 0 0 40 km DESC
        0> GEORADIUS grid 0 0 40 km COUNT 5 ANY
        0> GEORADIUS grid 0.3 -0.2 25 km WITHHASH
        0> GEOSEARCH grid FROMLONLAT 0 0 BYBOX 60 30 km
        0> GEOSEARCH grid FROMLONLAT 0.05 0.05 BYRADIUS 1 km ASC
        0> GEOSEARCH grid FROMLONLAT 0.05 0.05 BYRADIUS 1 km DESC
        0> GEOSEARCH grid FROMLONLAT 0.05 0.05 BYRADIUS 1 km COUNT 2
        0> GEOSEARCH grid FROMLONLAT 0.05 0.05 BYRADIUS 1 km COUNT 2 DESC
        0> GEOSEARCH grid FROMLONLAT 0.05 0.05 BYRADIUS 20 km COUNT 7 WITHDIST
        0> GEOSEARCH grid FROMLONLAT 0.05 0.05 BYRADIUS 20 km COUNT 7 DESC WITHDIST
        0> GEORADIUS grid 0 0 40 km COUNT 10 WITHDIST
        0> GEORADIUS grid 0 0 80 km COUNT 30 DESC
        0> GEORADIUS grid 0 0 80 km COUNT 1
        0> GEORADIUS grid 0 0 80 km COUNT 100 WITHDIST
        0> GEORADIUS grid 0.05 0.05 60 km COUNT 61 DESC
        0> GEOSEARCH grid FROMLONLAT 0 0 BYBOX 100 100 km COUNT 50 DESC
        0> GEOSEARCH grid FROMLONLAT 0 0 BYBOX 100 100 km COUNT 143 ASC
        0> GEOSEARCHSTORE top grid FROMLONLAT 0 0 BYRADIUS 40 km COUNT 9 STOREDIST
        0> ZRANGE top 0 -1 WITHSCORES
        0> GEOSEARCH grid FROMLONLAT 0.12 0.12 BYBOX 10 10 km WITHDIST
        0> GEOSEARCH grid FROMMEMBER p5_5 BYRADIUS 15 km WITHDIST
        0> GEOSEARCHSTORE out grid FROMLONLAT 0 0 BYBOX 60 60 km STOREDIST
        0> OBJECT ENCODING out
        0> ZRANGE out 0 -1 WITHSCORES
        0> DEBUG DIGEST
"#,
    );
    compare("geo-grid", &script);
}

#[test]
fn store_commands_touch_only_their_destination_for_watch() {
    compare(
        "geo-watch",
        &format!(
            r#"
        {PLACES}
        # The source is only read: a watcher of it still commits
        0> WATCH Sicily
        0> MULTI
        0> PING
        1> GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km
        1> GEORADIUS Sicily 15 37 200 km STORE dst2
        0> EXEC
        # The destination is modified
        0> WATCH dst
        0> MULTI
        0> PING
        1> GEORADIUS Sicily 15 37 200 km STORE dst
        0> EXEC
        0> WATCH dst2
        0> MULTI
        0> PING
        1> GEOSEARCHSTORE dst2 Sicily FROMLONLAT 15 37 BYRADIUS 1 km
        0> EXEC
        # A search that stores nothing in a missing key touches nothing
        0> WATCH dst2
        0> MULTI
        0> PING
        1> GEOSEARCHSTORE dst2 Sicily FROMLONLAT 15 37 BYRADIUS 1 km
        0> EXEC
        # GEOADD touches its key when it changed it
        0> WATCH Sicily
        0> MULTI
        0> PING
        1> GEOADD Sicily NX 1 1 Palermo
        0> EXEC
        0> WATCH Sicily
        0> MULTI
        0> PING
        1> GEOADD Sicily 1 1 Palermo
        0> EXEC
        # GEOADD inside a transaction
        0> MULTI
        0> GEOADD tx 1 1 a
        0> GEOADD tx 200 1 b
        0> GEOPOS tx a
        0> EXEC
"#
        ),
    );
}

#[test]
fn geo_writes_send_redis_keyspace_events() {
    compare(
        "geo-events",
        r#"
        1> CONFIG SET notify-keyspace-events KEA
        0> SUBSCRIBE sentinel
        0> PSUBSCRIBE __key*
        1> GEOADD g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
        1> GEOADD g NX 1 1 Palermo
        1> GEOADD g CH 1 1 Palermo
        1> GEORADIUS g 15 37 200 km STORE d1
        1> GEORADIUS g 15 37 200 km STOREDIST d1
        1> GEOSEARCHSTORE d2 g FROMMEMBER Catania BYRADIUS 10 km
        1> GEOSEARCHSTORE d2 g FROMLONLAT 50 50 BYRADIUS 10 km
        1> GEORADIUSBYMEMBER g Catania 1 km STORE d1
        1> GEORADIUS nokey 1 1 1 km STORE d1
        1> GEORADIUS g 15 37 200 km
        0<*
"#,
    );
}

#[test]
fn geo_key_arguments_are_found_as_redis_finds_them() {
    compare(
        "geo-getkeys",
        r#"
        0> COMMAND GETKEYS GEOADD k 1 1 a
        0> COMMAND GETKEYS GEODIST k a b
        0> COMMAND GETKEYS GEOPOS k a
        0> COMMAND GETKEYS GEORADIUS k 1 1 1 km
        0> COMMAND GETKEYS GEORADIUS k 1 1 1 km STORE a
        0> COMMAND GETKEYS GEORADIUS k 1 1 1 km store a storedist b
        0> COMMAND GETKEYS GEORADIUS k 1 1 1 km STOREDIST b STORE a
        0> COMMAND GETKEYS GEORADIUS k 1 1 1 km STORE a STORE c
        0> COMMAND GETKEYS GEORADIUS k 1 1 1 km WITHDIST STORE
        0> COMMAND GETKEYS GEORADIUSBYMEMBER k store 1 km store a
        0> COMMAND GETKEYS GEORADIUSBYMEMBER k m 1 km STOREDIST a
        0> COMMAND GETKEYS GEORADIUS_RO k 1 1 1 km
        0> COMMAND GETKEYS GEOSEARCH k FROMLONLAT 1 1 BYRADIUS 1 km
        0> COMMAND GETKEYS GEOSEARCHSTORE d k FROMLONLAT 1 1 BYRADIUS 1 km
"#,
    );
}

/// The fields of one COMMAND INFO entry Redis's table defines: name,
/// arity, flags, first key, last key, key step.
fn command_table_entry(client: &mut Client, name: &str) -> Vec<Frame> {
    match client.cmd(&["COMMAND", "INFO", name]) {
        Frame::Array(Some(entries)) => match entries.into_iter().next() {
            Some(Frame::Array(Some(fields))) => fields.into_iter().take(6).collect(),
            other => panic!("{name}: unexpected entry {other:?}"),
        },
        other => panic!("{name}: unexpected reply {other:?}"),
    }
}

#[test]
fn geo_commands_have_redis_arity_flags_and_key_positions() {
    let Some(redis) = start_redis("geo-command-info", &[]) else {
        return;
    };
    let ours = start_replsim(Config::default());
    let mut theirs = Client::connect(redis.port);
    let mut mine = Client::connect(ours);
    for name in [
        "geoadd",
        "geodist",
        "geohash",
        "geopos",
        "georadius",
        "georadiusbymember",
        "georadius_ro",
        "georadiusbymember_ro",
        "geosearch",
        "geosearchstore",
    ] {
        let expected = command_table_entry(&mut theirs, name);
        assert_eq!(expected.len(), 6, "{name}");
        assert_eq!(command_table_entry(&mut mine, name), expected, "{name}");
    }
}

fn strings(lines: &[&str]) -> Vec<String> {
    lines.iter().map(|s| s.to_string()).collect()
}

#[test]
fn geoadd_propagates_as_the_zadd_it_becomes() {
    let mut node = RecordingMaster::new(1);
    assert_eq!(
        node.run(
            1,
            "GEOADD g CH NX 13.361389 38.115556 Palermo 15.087269 37.502669 Catania"
        ),
        ":2\r\n"
    );
    let stream = node.stream();
    assert_eq!(stream[0], "SELECT 0");
    assert_eq!(
        stream[1..],
        strings(&["zadd g CH NX 3479099956230698 Palermo 3479447370796909 Catania"])
    );
    // Nothing changed, or an error: nothing propagates.
    assert_eq!(node.run(1, "GEOADD g NX 1 1 Palermo"), ":0\r\n");
    assert!(node
        .run(1, "GEOADD g 1 1 a 200 0 b")
        .starts_with("-ERR invalid"));
    assert!(node
        .run(1, "GEOADD g xx nx 1 1 a")
        .starts_with("-ERR syntax"));
    assert!(node.stream().is_empty());
    assert_eq!(node.run(1, "GEOADD g xx 1 2 Palermo"), ":0\r\n");
    assert_eq!(
        node.stream(),
        strings(&["zadd g xx 3378080408407459 Palermo"])
    );
}

#[test]
fn geo_searches_propagate_verbatim_only_when_they_stored_or_deleted() {
    let mut node = RecordingMaster::new(1);
    node.run(
        1,
        "GEOADD g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania",
    );
    node.stream();
    for read in [
        "GEORADIUS g 15 37 200 km",
        "GEORADIUSBYMEMBER g Palermo 200 km WITHDIST",
        "GEOSEARCH g FROMLONLAT 15 37 BYRADIUS 200 km",
        "GEORADIUS g 50 50 1 km STORE missing",
        "GEOSEARCHSTORE missing g FROMLONLAT 50 50 BYRADIUS 1 km",
        "GEORADIUS nokey 1 1 1 km STORE missing",
    ] {
        node.run(1, read);
    }
    assert!(node.stream().is_empty());
    assert_eq!(node.run(1, "GEORADIUS g 15 37 200 km STORE d1"), ":2\r\n");
    assert_eq!(
        node.run(1, "GEORADIUSBYMEMBER g Palermo 100 km COUNT 1 STOREDIST d2"),
        ":1\r\n"
    );
    assert_eq!(
        node.run(
            1,
            "GEOSEARCHSTORE d3 g FROMLONLAT 15 37 BYBOX 400 400 km STOREDIST"
        ),
        ":2\r\n"
    );
    // Nothing found: the destination is deleted, and that propagates.
    assert_eq!(node.run(1, "GEORADIUS g 50 50 1 km STORE d1"), ":0\r\n");
    assert_eq!(
        node.stream(),
        strings(&[
            "GEORADIUS g 15 37 200 km STORE d1",
            "GEORADIUSBYMEMBER g Palermo 100 km COUNT 1 STOREDIST d2",
            "GEOSEARCHSTORE d3 g FROMLONLAT 15 37 BYBOX 400 400 km STOREDIST",
            "GEORADIUS g 50 50 1 km STORE d1",
        ])
    );
}

/// A bulk reply's bytes.
fn bulk(frame: Frame) -> Vec<u8> {
    match frame {
        Frame::Bulk(Some(bytes)) => bytes,
        other => panic!("not a bulk string: {other:?}"),
    }
}

#[test]
fn geo_values_dump_and_restore_across_the_two_servers() {
    // Compressed payloads may differ byte for byte (see the README): each
    // server restores the other's, and the values must be the same.
    let Some(redis) = start_redis("geo-dump", &[]) else {
        return;
    };
    let ours = start_replsim(Config::default());
    let mut theirs = Client::connect(redis.port);
    let mut mine = Client::connect(ours);
    let setup = [
        "GEOADD sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania 13.583333 37.316667 Agrigento",
        "GEOADD edges 180 85.05112878 ne -180 -85.05112878 sw 0 0 origin -0.0 -0.0 negzero 179.9999 0 dateline",
        "GEOSEARCHSTORE near sicily FROMLONLAT 15 37 BYRADIUS 200 km",
        "GEOSEARCHSTORE dists sicily FROMLONLAT 15 37 BYBOX 400 400 km STOREDIST",
        "GEORADIUS edges 0 0 20000 km STOREDIST far",
        "CONFIG SET zset-max-listpack-entries 2",
        "GEOADD big 1 1 a 2 2 b 3 3 c",
        "GEORADIUS big 2 2 500 km STORE bigstore",
        "CONFIG SET zset-max-listpack-entries 128",
    ];
    for line in setup {
        let args: Vec<&str> = line.split(' ').collect();
        assert_eq!(theirs.cmd(&args), mine.cmd(&args), "{line}");
    }
    for key in ["sicily", "edges", "near", "dists", "far", "big", "bigstore"] {
        let their_dump = bulk(theirs.cmd(&["DUMP", key]));
        let my_dump = bulk(mine.cmd(&["DUMP", key]));
        let copy = format!("{key}:copy");
        let restore = |client: &mut Client, payload: &[u8]| {
            client.cmd(&[b"RESTORE".as_slice(), copy.as_bytes(), b"0", payload])
        };
        assert_eq!(restore(&mut mine, &their_dump), Frame::Simple("OK".into()));
        assert_eq!(restore(&mut theirs, &my_dump), Frame::Simple("OK".into()));
        for query in [
            vec!["DEBUG", "DIGEST-VALUE", key, &copy],
            vec!["OBJECT", "ENCODING", key],
            vec!["OBJECT", "ENCODING", &copy],
            vec!["ZRANGE", &copy, "0", "-1", "WITHSCORES"],
        ] {
            let expected = theirs.cmd(&query);
            assert_eq!(mine.cmd(&query), expected, "{query:?}");
            if query[1] == "DIGEST-VALUE" {
                let Frame::Array(Some(digests)) = expected else {
                    panic!("{key}: digests")
                };
                assert_eq!(digests[0], digests[1], "{key}: the copy is the value");
            }
        }
    }
    assert_eq!(
        theirs.cmd(&["DEBUG", "DIGEST"]),
        mine.cmd(&["DEBUG", "DIGEST"])
    );
}
