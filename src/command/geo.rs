//! GEO commands: GEOADD GEODIST GEOHASH GEOPOS GEOSEARCH GEOSEARCHSTORE
//! GEORADIUS GEORADIUSBYMEMBER GEORADIUS_RO GEORADIUSBYMEMBER_RO.
//!
//! A GEO index is a plain sorted set: each member's score is the 52-bit
//! geohash of its position ([`crate::geohash`]), so every sorted-set
//! command works on it and its digest and RDB bytes are a sorted set's.
//! Searches scan the nine geohash cells around the centre, in Redis's
//! order, and keep the points inside the circle or box.

use super::flags::*;
use super::zsets::{zadd_generic, AddFlags};
use super::{float_arg, int_arg, spec, CmdError, CmdResult, CommandSpec, Ctx, KEY1};
use crate::geohash::{self, Search, Shape};
use crate::keyspace::{Value, ZSet};
use crate::resp::{Argv, OwnedArgv};
use crate::server::pubsub::notify;

pub(super) static COMMANDS: &[CommandSpec] = &[
    spec("geoadd", -5, WRITE | DENYOOM, KEY1, geoadd),
    spec("geodist", -4, READONLY, KEY1, geodist),
    spec("geohash", -2, READONLY, KEY1, geohash),
    spec("geopos", -2, READONLY, KEY1, geopos),
    spec(
        "georadius",
        -6,
        WRITE | DENYOOM | MOVABLE_KEYS,
        KEY1,
        georadius,
    ),
    spec(
        "georadiusbymember",
        -5,
        WRITE | DENYOOM | MOVABLE_KEYS,
        KEY1,
        georadiusbymember,
    ),
    spec("georadius_ro", -6, READONLY, KEY1, georadius_ro),
    spec(
        "georadiusbymember_ro",
        -5,
        READONLY,
        KEY1,
        georadiusbymember_ro,
    ),
    spec("geosearch", -7, READONLY, KEY1, geosearch),
    spec(
        "geosearchstore",
        -8,
        WRITE | DENYOOM,
        (1, 2, 1),
        geosearchstore,
    ),
];

/// Reads `key` as a sorted set: `Ok(false)` when it is missing.
fn zset_exists(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<bool, CmdError> {
    match ctx.lookup(key).map(|e| &e.value) {
        None => Ok(false),
        Some(Value::ZSet(_)) => Ok(true),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// The sorted set at `key`, already looked up (and expired) by
/// [`zset_exists`].
fn zset_at<'c>(ctx: &'c mut Ctx<'_>, key: &[u8]) -> Option<&'c ZSet> {
    match ctx.db().get(key).map(|e| &e.value) {
        Some(Value::ZSet(zset)) => Some(zset),
        _ => None,
    }
}

/// Parses a longitude and a latitude, both first, then checks that they
/// can be indexed (Redis's `extractLongLatOrReply`).
fn parse_lonlat(lon: &[u8], lat: &[u8]) -> Result<(f64, f64), CmdError> {
    let longitude = float_arg(lon)?;
    let latitude = float_arg(lat)?;
    if !(geohash::LONG_MIN..=geohash::LONG_MAX).contains(&longitude)
        || !(geohash::LAT_MIN..=geohash::LAT_MAX).contains(&latitude)
    {
        return Err(CmdError::err(format!(
            "invalid longitude,latitude pair {longitude:.6},{latitude:.6}"
        )));
    }
    Ok((longitude, latitude))
}

/// Metres per unit: `m`, `km`, `ft` or `mi`, in any case.
fn parse_unit(unit: &[u8]) -> Result<f64, CmdError> {
    match unit.to_ascii_lowercase().as_slice() {
        b"m" => Ok(1.0),
        b"km" => Ok(1000.0),
        b"ft" => Ok(0.3048),
        b"mi" => Ok(1609.34),
        _ => Err(CmdError::err(
            "unsupported unit provided. please use M, KM, FT, MI",
        )),
    }
}

/// A float argument with the error text Redis gives for it.
fn numeric(arg: &[u8], what: &str) -> Result<f64, CmdError> {
    float_arg(arg).map_err(|_| CmdError::err(format!("need numeric {what}")))
}

/// `radius unit`: the radius and the unit's size in metres.
fn parse_radius(radius: &[u8], unit: &[u8]) -> Result<(f64, f64), CmdError> {
    let radius = numeric(radius, "radius")?;
    if radius < 0.0 {
        return Err(CmdError::err("radius cannot be negative"));
    }
    Ok((radius, parse_unit(unit)?))
}

/// `width height unit`: the box and the unit's size in metres.
fn parse_box(width: &[u8], height: &[u8], unit: &[u8]) -> Result<(f64, f64, f64), CmdError> {
    let width = numeric(width, "width")?;
    let height = numeric(height, "height")?;
    if height < 0.0 || width < 0.0 {
        return Err(CmdError::err("height or width cannot be negative"));
    }
    Ok((width, height, parse_unit(unit)?))
}

/// A distance as Redis prints it: four decimals, rounded half to even on
/// the scaled value (`fixedpoint_d2string`).
fn format_distance(distance: f64) -> String {
    if distance == 0.0 {
        return "0.0000".into();
    }
    // llrint on x86-64: what does not fit (NaN included) becomes
    // LLONG_MIN.
    let rounded = (distance * 10000.0).round_ties_even();
    let scaled = if rounded.is_nan()
        || !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&rounded)
    {
        i64::MIN
    } else {
        rounded as i64
    };
    let sign = if scaled < 0 { "-" } else { "" };
    let magnitude = scaled.unsigned_abs();
    format!("{sign}{}.{:04}", magnitude / 10000, magnitude % 10000)
}

/// A coordinate as Redis prints it: `%.17Lf` of the double,
/// trailing zeros and dot removed (`ld2string` in its human mode).
fn format_coordinate(value: f64) -> String {
    let text = format!("{value:.17}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".into()
    } else {
        text.into()
    }
}

/// A coordinate reply in its human form: a double in RESP3, a bulk
/// string in RESP2 (`addReplyHumanLongDouble`).
fn reply_coordinate(ctx: &mut Ctx<'_>, value: f64) {
    ctx.out.double_text(format_coordinate(value).as_bytes());
}

/// GEOADD key [NX|XX] [CH] longitude latitude member [...]: adds or
/// updates members at positions, stored as sorted-set scores (the 52-bit
/// geohash). Replies as ZADD does (the number added, or added and changed
/// with CH). NX and XX together are a syntax error; every position is
/// checked before anything changes.
///
/// # Propagation
/// As the ZADD it becomes (`ZADD key [options] score member ...`, the
/// scores in decimal), as Redis rewrites the command before running it.
fn geoadd(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let (mut nx, mut xx) = (false, false);
    let mut first = 2;
    while first < argv.len() {
        match argv.get(first).to_ascii_lowercase().as_slice() {
            b"nx" => nx = true,
            b"xx" => xx = true,
            b"ch" => {}
            _ => break,
        }
        first += 1;
    }
    if (argv.len() - first) % 3 != 0 || (xx && nx) {
        return Err(CmdError::Syntax);
    }
    let mut zadd: Vec<Vec<u8>> = vec![b"zadd".to_vec()];
    zadd.extend((1..first).map(|i| argv.get(i).to_vec()));
    for i in (first..argv.len()).step_by(3) {
        let (longitude, latitude) = parse_lonlat(argv.get(i), argv.get(i + 1))?;
        // Checked above to be inside the indexable ranges.
        let score = geohash::lonlat_to_score(longitude, latitude).unwrap_or(0);
        zadd.push(score.to_string().into_bytes());
        zadd.push(argv.get(i + 2).to_vec());
    }
    let owned = OwnedArgv::from_args(&zadd);
    zadd_generic(ctx, owned.argv(), AddFlags::default(), 2)?;
    ctx.rewrite(&zadd);
    Ok(())
}

/// GEODIST key member1 member2 [M|KM|FT|MI]: the distance between two
/// members (metres by default) with four decimals; nil when the key or a
/// member is missing.
///
/// # Propagation
/// None.
fn geodist(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let to_meters = match argv.len() {
        5 => parse_unit(argv.get(4))?,
        4 => 1.0,
        _ => return Err(CmdError::Syntax),
    };
    let key = argv.get(1);
    if !zset_exists(ctx, key)? {
        ctx.out.null();
        return Ok(());
    }
    let zset = zset_at(ctx, key).expect("looked up above");
    let scores = zset.score(argv.get(2)).zip(zset.score(argv.get(3)));
    let positions = scores
        .and_then(|(a, b)| Some((geohash::score_to_lonlat(a)?, geohash::score_to_lonlat(b)?)));
    match positions {
        None => ctx.out.null(),
        Some(((lon1, lat1), (lon2, lat2))) => {
            let distance = geohash::distance(lon1, lat1, lon2, lat2) / to_meters;
            ctx.out.bulk(format_distance(distance).as_bytes());
        }
    }
    Ok(())
}

/// The score of `member` in the sorted set at `key`, if both exist.
fn member_score(ctx: &mut Ctx<'_>, key: &[u8], member: &[u8]) -> Option<f64> {
    zset_at(ctx, key).and_then(|zset| zset.score(member))
}

/// GEOHASH key [member ...]: each member's standard 11-character geohash
/// (nil for a missing member).
///
/// # Propagation
/// None.
fn geohash(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let key = argv.get(1);
    zset_exists(ctx, key)?;
    ctx.out.array(argv.len() - 2);
    for member in argv.iter().skip(2) {
        match member_score(ctx, key, member).and_then(geohash::standard_geohash) {
            Some(text) => ctx.out.bulk(&text),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

/// GEOPOS key [member ...]: each member's `[longitude, latitude]` (the
/// centre of its cell), or a null array for a missing member.
///
/// # Propagation
/// None.
fn geopos(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let key = argv.get(1);
    zset_exists(ctx, key)?;
    ctx.out.array(argv.len() - 2);
    for member in argv.iter().skip(2) {
        match member_score(ctx, key, member).and_then(geohash::score_to_lonlat) {
            Some((longitude, latitude)) => {
                ctx.out.array(2);
                reply_coordinate(ctx, longitude);
                reply_coordinate(ctx, latitude);
            }
            None => ctx.out.null_array(),
        }
    }
    Ok(())
}

/// Which search command runs, and so which arguments it takes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SearchKind {
    /// GEORADIUS[_RO] key longitude latitude radius unit ...
    AroundPoint { store_allowed: bool },
    /// GEORADIUSBYMEMBER[_RO] key member radius unit ...
    AroundMember { store_allowed: bool },
    /// GEOSEARCH key ...
    Search,
    /// GEOSEARCHSTORE destination source ...
    SearchStore,
}

impl SearchKind {
    fn is_geosearch(self) -> bool {
        matches!(self, SearchKind::Search | SearchKind::SearchStore)
    }

    fn takes_store_option(self) -> bool {
        matches!(
            self,
            SearchKind::AroundPoint {
                store_allowed: true
            } | SearchKind::AroundMember {
                store_allowed: true
            }
        )
    }
}

/// Reply order.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Order {
    Unsorted,
    Ascending,
    Descending,
}

/// One point found by a search.
struct Found {
    member: Vec<u8>,
    longitude: f64,
    latitude: f64,
    /// Metres from the centre (then in the search's unit).
    distance: f64,
    score: f64,
}

/// What to do with the points found.
struct Output<'a> {
    with_distance: bool,
    with_hash: bool,
    with_coordinates: bool,
    store: Option<&'a [u8]>,
    store_distance: bool,
}

/// The search commands' common body (Redis's `georadiusGeneric`): parses
/// in Redis's order (so the same error comes first), scans the cells,
/// sorts, and replies or stores.
fn search_generic(
    ctx: &mut Ctx<'_>,
    argv: Argv<'_>,
    source_at: usize,
    kind: SearchKind,
) -> CmdResult {
    let source = argv.get(source_at);
    let exists = zset_exists(ctx, source)?;
    let decode_member = |ctx: &mut Ctx<'_>, member: &[u8]| {
        member_score(ctx, source, member)
            .and_then(geohash::score_to_lonlat)
            .ok_or_else(|| CmdError::err("could not decode requested zset member"))
    };
    let mut centre: Option<(f64, f64)> = None;
    let mut shape: Option<(Shape, f64)> = None;
    let mut store: Option<&[u8]> = None;
    let base = match kind {
        SearchKind::AroundPoint { .. } => {
            centre = Some(parse_lonlat(argv.get(2), argv.get(3))?);
            let (radius, to_meters) = parse_radius(argv.get(4), argv.get(5))?;
            shape = Some((Shape::Radius(radius), to_meters));
            6
        }
        // Without a source the member is not looked up (nor the radius
        // parsed): the options still decide the reply's form.
        SearchKind::AroundMember { .. } if !exists => 5,
        SearchKind::AroundMember { .. } => {
            centre = Some(decode_member(ctx, argv.get(2))?);
            let (radius, to_meters) = parse_radius(argv.get(3), argv.get(4))?;
            shape = Some((Shape::Radius(radius), to_meters));
            5
        }
        SearchKind::Search => 2,
        SearchKind::SearchStore => {
            store = Some(argv.get(1));
            3
        }
    };

    let (mut with_distance, mut with_hash, mut with_coordinates) = (false, false, false);
    let (mut from_member, mut from_lonlat, mut by_radius, mut by_box) =
        (false, false, false, false);
    let mut order = Order::Unsorted;
    let mut any = false;
    let mut count: i64 = 0;
    let mut store_distance = false;
    let mut i = base;
    while i < argv.len() {
        let remaining = argv.len() - i - 1;
        let option = argv.get(i).to_ascii_lowercase();
        match option.as_slice() {
            b"withdist" => with_distance = true,
            b"withhash" => with_hash = true,
            b"withcoord" => with_coordinates = true,
            b"any" => any = true,
            b"asc" => order = Order::Ascending,
            b"desc" => order = Order::Descending,
            b"count" if remaining >= 1 => {
                count = int_arg(argv.get(i + 1))?;
                if count <= 0 {
                    return Err(CmdError::err("COUNT must be > 0"));
                }
                i += 1;
            }
            b"store" | b"storedist" if remaining >= 1 && kind.takes_store_option() => {
                store = Some(argv.get(i + 1));
                store_distance = option == b"storedist";
                i += 1;
            }
            b"storedist" if kind == SearchKind::SearchStore => store_distance = true,
            b"frommember" if remaining >= 1 && kind.is_geosearch() && !from_lonlat => {
                if exists {
                    centre = Some(decode_member(ctx, argv.get(i + 1))?);
                }
                from_member = true;
                i += 1;
            }
            b"fromlonlat" if remaining >= 2 && kind.is_geosearch() && !from_member => {
                centre = Some(parse_lonlat(argv.get(i + 1), argv.get(i + 2))?);
                from_lonlat = true;
                i += 2;
            }
            b"byradius" if remaining >= 2 && kind.is_geosearch() && !by_box => {
                let (radius, to_meters) = parse_radius(argv.get(i + 1), argv.get(i + 2))?;
                shape = Some((Shape::Radius(radius), to_meters));
                by_radius = true;
                i += 2;
            }
            b"bybox" if remaining >= 3 && kind.is_geosearch() && !by_radius => {
                let (width, height, to_meters) =
                    parse_box(argv.get(i + 1), argv.get(i + 2), argv.get(i + 3))?;
                shape = Some((Shape::Box { width, height }, to_meters));
                by_box = true;
                i += 3;
            }
            _ => return Err(CmdError::Syntax),
        }
        i += 1;
    }

    if store.is_some() && (with_distance || with_hash || with_coordinates) {
        let what = if kind == SearchKind::SearchStore {
            "GEOSEARCHSTORE"
        } else {
            "STORE option in GEORADIUS"
        };
        return Err(CmdError::err(format!(
            "{what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
        )));
    }
    let name = String::from_utf8_lossy(argv.get(0));
    if kind.is_geosearch() && !(from_member || from_lonlat) {
        return Err(CmdError::err(format!(
            "exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}"
        )));
    }
    if kind.is_geosearch() && !(by_radius || by_box) {
        return Err(CmdError::err(format!(
            "exactly one of BYRADIUS and BYBOX can be specified for {name}"
        )));
    }
    if any && count == 0 {
        return Err(CmdError::err("the ANY argument requires COUNT argument"));
    }
    // Store commands say which key they modify themselves: the source is
    // only read.
    if store.is_some() || kind == SearchKind::SearchStore {
        ctx.keys_untouched();
    }

    let output = Output {
        with_distance,
        with_hash,
        with_coordinates,
        store,
        store_distance,
    };
    let (Some((longitude, latitude)), Some((shape, to_meters)), true) = (centre, shape, exists)
    else {
        // No source: an empty reply, or an emptied destination.
        return finish(ctx, Vec::new(), &output, 1.0, kind);
    };
    let search = Search {
        longitude,
        latitude,
        shape,
        to_meters,
    };
    // COUNT returns the nearest points: it sorts unless ANY took the
    // first ones found.
    if count != 0 && order == Order::Unsorted && !any {
        order = Order::Ascending;
    }
    let limit = if any { count as usize } else { 0 };
    let zset = zset_at(ctx, source).expect("looked up above");
    let mut found = scan(zset, &search, limit);
    let returned = if count == 0 {
        found.len()
    } else {
        found.len().min(count as usize)
    };
    if order != Order::Unsorted {
        let sign = if order == Order::Ascending { 1 } else { -1 };
        let compare = |a: &Found, b: &Found| sign * compare_distances(a.distance, b.distance);
        if returned == found.len() {
            // Redis sorts them all with the C library's qsort, a stable
            // merge sort in glibc.
            found.sort_by(|a, b| compare(a, b).cmp(&0));
        } else if returned > 0 {
            // Only the first `returned` places need to be right: Redis
            // sorts partially, and the order of equally distant points
            // is its partial quicksort's.
            partial_sort(&mut found, &compare, 0, returned - 1);
        }
    }
    found.truncate(returned);
    finish(ctx, found, &output, to_meters, kind)
}

/// Redis's comparison of two distances (`sort_gp_asc`): 1, 0 or -1.
fn compare_distances(a: f64, b: f64) -> i32 {
    if a > b {
        1
    } else if a == b {
        0
    } else {
        -1
    }
}

/// Sorts `items` so that places `first..=last` hold what a full sort would
/// put there, by Redis's partial quicksort (`pqsort`: Bentley and
/// McIlroy's quicksort that skips the partitions outside the range). The
/// order it leaves equal items in is that algorithm's, which is why it is
/// followed step by step.
fn partial_sort<T>(items: &mut [T], compare: &impl Fn(&T, &T) -> i32, first: usize, last: usize) {
    partial_sort_at(items, 0, compare, (first, last));
}

/// The middle one of three items by `compare`.
fn median_of_three<T>(
    items: &[T],
    a: usize,
    b: usize,
    c: usize,
    compare: &impl Fn(&T, &T) -> i32,
) -> usize {
    let cmp = |x: usize, y: usize| compare(&items[x], &items[y]);
    if cmp(a, b) < 0 {
        if cmp(b, c) < 0 {
            b
        } else if cmp(a, c) < 0 {
            c
        } else {
            a
        }
    } else if cmp(b, c) > 0 {
        b
    } else if cmp(a, c) < 0 {
        a
    } else {
        c
    }
}

/// Swaps the `len` items from `a` with the `len` items from `b`, in order.
fn swap_runs<T>(items: &mut [T], a: usize, b: usize, len: usize) {
    for i in 0..len {
        items.swap(a + i, b + i);
    }
}

/// [`partial_sort`] of a partition that starts at place `base` of the
/// whole; `wanted` is the range of places that must come out sorted.
fn partial_sort_at<T>(
    mut items: &mut [T],
    mut base: usize,
    compare: &impl Fn(&T, &T) -> i32,
    wanted: (usize, usize),
) {
    let overlaps = |start: usize, len: usize| {
        let end = start + len;
        !((wanted.0 < start && wanted.1 < start) || (wanted.0 >= end && wanted.1 >= end))
    };
    loop {
        let n = items.len();
        if n < 7 {
            for m in 1..n {
                let mut l = m;
                while l > 0 && compare(&items[l - 1], &items[l]) > 0 {
                    items.swap(l, l - 1);
                    l -= 1;
                }
            }
            return;
        }
        let mut pivot = n / 2;
        if n > 7 {
            let (mut low, mut high) = (0, n - 1);
            if n > 40 {
                let d = n / 8;
                low = median_of_three(items, low, low + d, low + 2 * d, compare);
                pivot = median_of_three(items, pivot - d, pivot, pivot + d, compare);
                high = median_of_three(items, high - 2 * d, high - d, high, compare);
            }
            pivot = median_of_three(items, low, pivot, high, compare);
        }
        items.swap(0, pivot);
        // Items equal to the pivot gather at both ends ([1, pa) and
        // (pd, n)), smaller ones after the first group, larger ones
        // before the last.
        let (mut pa, mut pb) = (1usize, 1usize);
        let (mut pc, mut pd) = (n as isize - 1, n as isize - 1);
        loop {
            while pb as isize <= pc {
                let order = compare(&items[pb], &items[0]);
                if order > 0 {
                    break;
                }
                if order == 0 {
                    items.swap(pa, pb);
                    pa += 1;
                }
                pb += 1;
            }
            while pb as isize <= pc {
                let order = compare(&items[pc as usize], &items[0]);
                if order < 0 {
                    break;
                }
                if order == 0 {
                    items.swap(pc as usize, pd as usize);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb as isize > pc {
                break;
            }
            items.swap(pb, pc as usize);
            pb += 1;
            pc -= 1;
        }
        let run = pa.min(pb - pa);
        swap_runs(items, 0, pb - run, run);
        let larger = (pd - pc) as usize;
        let run = larger.min(n - pd as usize - 1);
        swap_runs(items, pb, n - run, run);
        let smaller = pb - pa;
        if smaller > 1 && overlaps(base, smaller) {
            partial_sort_at(&mut items[..smaller], base, compare, wanted);
        }
        if larger > 1 && overlaps(base + n - larger, larger) {
            let start = n - larger;
            items = &mut std::mem::take(&mut items)[start..];
            base += start;
            continue;
        }
        return;
    }
}

/// Scans the search's cells, in Redis's order, for the points inside its
/// shape; with a `limit` (ANY), stops once that many were found.
fn scan(zset: &ZSet, search: &Search, limit: usize) -> Vec<Found> {
    let mut found = Vec::new();
    let cells = geohash::search_cells(search);
    let enough = |found: &Vec<Found>| limit != 0 && found.len() >= limit;
    // Wide searches can yield the same cell twice in a row: it is scanned
    // once. (Redis compares with the last cell scanned other than the
    // centre, so the centre's first neighbour is always scanned.)
    let mut last_scanned: Option<usize> = None;
    for (index, cell) in cells.iter().enumerate() {
        let Some(cell) = *cell else { continue };
        if let Some(last) = last_scanned.filter(|&last| last > 0) {
            if cells[last] == Some(cell) {
                continue;
            }
        }
        if enough(&found) {
            break;
        }
        let (min, max) = geohash::cell_scores(cell);
        let (min, max) = (min as f64, max as f64);
        for (member, score) in zset.iter_from_score(min) {
            if score >= max {
                break;
            }
            if let Some((longitude, latitude)) = geohash::score_to_lonlat(score) {
                if let Some(distance) = search.distance_if_inside(longitude, latitude) {
                    found.push(Found {
                        member: member.to_vec(),
                        longitude,
                        latitude,
                        distance,
                        score,
                    });
                }
            }
            if enough(&found) {
                break;
            }
        }
        last_scanned = Some(index);
    }
    found
}

/// Replies with the points found, or stores them.
fn finish(
    ctx: &mut Ctx<'_>,
    mut found: Vec<Found>,
    output: &Output<'_>,
    to_meters: f64,
    kind: SearchKind,
) -> CmdResult {
    for point in &mut found {
        point.distance /= to_meters;
    }
    let Some(destination) = output.store else {
        let extras = [
            output.with_distance,
            output.with_hash,
            output.with_coordinates,
        ]
        .iter()
        .filter(|&&on| on)
        .count();
        ctx.out.array(found.len());
        for point in &found {
            if extras > 0 {
                ctx.out.array(extras + 1);
            }
            ctx.out.bulk(&point.member);
            if output.with_distance {
                ctx.out.bulk(format_distance(point.distance).as_bytes());
            }
            if output.with_hash {
                ctx.out.integer(point.score as i64);
            }
            if output.with_coordinates {
                ctx.out.array(2);
                reply_coordinate(ctx, point.longitude);
                reply_coordinate(ctx, point.latitude);
            }
        }
        return Ok(());
    };
    if found.is_empty() {
        if ctx.db().remove(destination).is_some() {
            super::pops::touch(ctx, destination);
            ctx.notify(notify::GENERIC, "del", destination);
            ctx.changed(1);
        }
        ctx.out.integer(0);
        return Ok(());
    }
    let mut stored = ZSet::default();
    for point in &found {
        let score = if output.store_distance {
            point.distance
        } else {
            point.score
        };
        stored.insert(&point.member, score);
    }
    // Redis's setKey looks the destination up for writing first, so an
    // expired one is deleted (and its DEL propagated) before.
    ctx.expire_if_needed(destination);
    ctx.db().insert(destination, Value::ZSet(Box::new(stored)));
    super::pops::touch(ctx, destination);
    let event = if kind.is_geosearch() {
        "geosearchstore"
    } else {
        "georadiusstore"
    };
    ctx.notify(notify::ZSET, event, destination);
    ctx.changed(found.len() as u64);
    ctx.out.integer(found.len() as i64);
    Ok(())
}

/// GEORADIUS key longitude latitude radius M|KM|FT|MI [WITHCOORD]
/// [WITHDIST] [WITHHASH] [COUNT count [ANY]] [ASC|DESC] [STORE key]
/// [STOREDIST key]: the members within the radius of a point; with STORE
/// (their scores kept) or STOREDIST (their distances as scores), stored
/// in a sorted set (deleted when nothing is found) and counted.
///
/// # Propagation
/// Verbatim when it stored or deleted (the search finds the same points
/// on a replica).
fn georadius(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let kind = SearchKind::AroundPoint {
        store_allowed: true,
    };
    search_generic(ctx, argv, 1, kind)
}

/// GEORADIUSBYMEMBER key member radius unit [options]: GEORADIUS around a
/// member's position (a missing source gives an empty reply whatever the
/// member and radius).
///
/// # Propagation
/// Verbatim when it stored or deleted.
fn georadiusbymember(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let kind = SearchKind::AroundMember {
        store_allowed: true,
    };
    search_generic(ctx, argv, 1, kind)
}

/// GEORADIUS_RO: GEORADIUS without STORE and STOREDIST.
///
/// # Propagation
/// None.
fn georadius_ro(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let kind = SearchKind::AroundPoint {
        store_allowed: false,
    };
    search_generic(ctx, argv, 1, kind)
}

/// GEORADIUSBYMEMBER_RO: GEORADIUSBYMEMBER without STORE and STOREDIST.
///
/// # Propagation
/// None.
fn georadiusbymember_ro(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    let kind = SearchKind::AroundMember {
        store_allowed: false,
    };
    search_generic(ctx, argv, 1, kind)
}

/// GEOSEARCH key FROMMEMBER member|FROMLONLAT longitude latitude
/// BYRADIUS radius unit|BYBOX width height unit [ASC|DESC]
/// [COUNT count [ANY]] [WITHCOORD] [WITHDIST] [WITHHASH]: the members
/// inside a circle or an axis-aligned box around a member or a point.
///
/// # Propagation
/// None.
fn geosearch(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    search_generic(ctx, argv, 1, SearchKind::Search)
}

/// GEOSEARCHSTORE destination source (GEOSEARCH's options, no WITH*)
/// [STOREDIST]: stores GEOSEARCH's result in `destination` (their scores
/// kept, or their distances with STOREDIST), deleting it when nothing is
/// found; replies with the number stored.
///
/// # Propagation
/// Verbatim when it stored or deleted.
fn geosearchstore(ctx: &mut Ctx<'_>, argv: Argv<'_>) -> CmdResult {
    search_generic(ctx, argv, 2, SearchKind::SearchStore)
}

/// The positions of GEORADIUS's and GEORADIUSBYMEMBER's keys in `argv`
/// (COMMAND GETKEYS), found as Redis's key specs find them: the source,
/// then the key after the first `STORE`, then the key after the first
/// `STOREDIST`, each keyword looked for from the first option on (the
/// sixth argument of GEORADIUS, the fifth of GEORADIUSBYMEMBER) up to the
/// next-to-last argument.
pub(super) fn georadius_key_positions(argv: Argv<'_>, by_member: bool) -> Vec<usize> {
    let first_option = if by_member { 5 } else { 6 };
    let after_keyword = |keyword: &[u8]| {
        (first_option..argv.len().saturating_sub(1))
            .find(|&i| argv.get(i).eq_ignore_ascii_case(keyword))
            .map(|i| i + 1)
    };
    let mut positions = vec![1];
    positions.extend(after_keyword(b"store"));
    positions.extend(after_keyword(b"storedist"));
    positions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_print_with_four_rounded_decimals() {
        assert_eq!(format_distance(0.0), "0.0000");
        assert_eq!(format_distance(166274.15156960033), "166274.1516");
        assert_eq!(format_distance(0.00004), "0.0000");
        assert_eq!(format_distance(0.5), "0.5000");
        // The scaled value is rounded, half to even, as llrint does.
        assert_eq!(format_distance(12.34565), "12.3456");
        assert_eq!(format_distance(0.00025), "0.0002");
        assert_eq!(format_distance(0.00035), "0.0004");
        assert_eq!(format_distance(f64::NAN), "-922337203685477.5808");
    }

    #[test]
    fn coordinates_print_as_human_long_doubles() {
        assert_eq!(
            format_coordinate(13.361389338970184),
            "13.36138933897018433"
        );
        assert_eq!(format_coordinate(-0.0), "0");
        assert_eq!(format_coordinate(2.0), "2");
        assert_eq!(format_coordinate(-122.5), "-122.5");
    }

    #[test]
    fn partial_sort_puts_the_wanted_places_in_order() {
        let compare = |a: &u32, b: &u32| compare_distances(f64::from(*a), f64::from(*b));
        for len in [1usize, 5, 7, 8, 40, 41, 100, 300] {
            let values: Vec<u32> = (0..len as u32).map(|i| (i * 7919 + 13) % 97).collect();
            let mut sorted = values.clone();
            sorted.sort();
            for (first, last) in [(0, 0), (0, len / 2), (len / 3, len - 1), (0, len - 1)] {
                let mut items = values.clone();
                partial_sort(&mut items, &compare, first, last);
                assert_eq!(
                    items[first..=last],
                    sorted[first..=last],
                    "{len} {first}..={last}"
                );
                let mut all = items.clone();
                all.sort();
                assert_eq!(all, sorted, "a permutation");
            }
        }
    }

    #[test]
    fn units_are_case_insensitive_and_checked() {
        assert_eq!(parse_unit(b"KM"), Ok(1000.0));
        assert_eq!(parse_unit(b"mi"), Ok(1609.34));
        assert!(parse_unit(b"yd").is_err());
    }

    #[test]
    fn invalid_pairs_are_reported_with_six_decimals() {
        assert_eq!(
            parse_lonlat(b"200", b"100").unwrap_err().to_string(),
            "ERR invalid longitude,latitude pair 200.000000,100.000000"
        );
        assert_eq!(parse_lonlat(b"x", b"100").unwrap_err(), CmdError::NotFloat);
    }
}
