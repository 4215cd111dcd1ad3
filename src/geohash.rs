//! Geohash arithmetic for the GEO commands, bit for bit as Redis 7.0 does
//! it: coordinates become a 52-bit interleaved hash (the sorted-set score
//! of a GEO member), a score decodes back to the centre of its cell, a
//! search area becomes the cell around its centre and the eight cells
//! around that one, and distances are haversine distances on a sphere of
//! Redis's radius.
//!
//! Every float operation keeps Redis's order of evaluation, so that scores,
//! decoded coordinates and distances are the same doubles a real Redis
//! computes (and its replies, digests and RDB files the same bytes).

/// The westmost longitude a point may have.
pub const LONG_MIN: f64 = -180.0;
/// The eastmost longitude a point may have.
pub const LONG_MAX: f64 = 180.0;
/// The southmost latitude a point may have (the Web Mercator limit:
/// nothing can be indexed at the poles).
pub const LAT_MIN: f64 = -85.05112878;
/// The northmost latitude a point may have.
pub const LAT_MAX: f64 = 85.05112878;
/// Bits per coordinate in a stored score: 26 each, 52 in all.
pub const STEP_MAX: u8 = 26;

/// Earth's quadratic mean radius for WGS-84, Redis's sphere.
const EARTH_RADIUS_IN_METERS: f64 = 6372797.560856;
/// Half the Web Mercator projection's width, in metres.
const MERCATOR_MAX: f64 = 20037726.37;
/// Degrees to radians, as C computes `M_PI / 180.0`.
const DEG_TO_RAD: f64 = std::f64::consts::PI / 180.0;

fn deg_rad(degrees: f64) -> f64 {
    degrees * DEG_TO_RAD
}

fn rad_deg(radians: f64) -> f64 {
    radians / DEG_TO_RAD
}

/// A closed range of one coordinate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CoordRange {
    /// Lowest value.
    pub min: f64,
    /// Highest value.
    pub max: f64,
}

/// Longitudes a stored point may have.
pub const WGS84_LONGITUDES: CoordRange = CoordRange {
    min: LONG_MIN,
    max: LONG_MAX,
};
/// Latitudes a stored point may have.
pub const WGS84_LATITUDES: CoordRange = CoordRange {
    min: LAT_MIN,
    max: LAT_MAX,
};

/// A geohash of `step` bits per coordinate: latitude bits at even
/// positions, longitude bits at odd ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashBits {
    /// The interleaved bits.
    pub bits: u64,
    /// Bits per coordinate (1 to 32).
    pub step: u8,
}

impl HashBits {
    fn is_zero(self) -> bool {
        self.bits == 0 && self.step == 0
    }

    /// The hash shifted to 52 bits: the lowest score inside its cell.
    pub fn align52(self) -> u64 {
        self.bits << (52 - u32::from(self.step) * 2)
    }
}

/// The cell a hash stands for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Area {
    /// Longitudes of the cell.
    pub longitude: CoordRange,
    /// Latitudes of the cell.
    pub latitude: CoordRange,
}

/// Spreads the bits of `value` to the even positions of a 64-bit word.
fn spread(value: u32) -> u64 {
    let mut spread = 0u64;
    for bit in 0..32 {
        spread |= u64::from((value >> bit) & 1) << (2 * bit);
    }
    spread
}

/// Gathers the even-position bits of `word` into a 32-bit value.
fn gather(word: u64) -> u32 {
    let mut gathered = 0u32;
    for bit in 0..32 {
        gathered |= (((word >> (2 * bit)) & 1) as u32) << bit;
    }
    gathered
}

/// C's conversion of a non-negative double to `uint32_t` (truncation).
fn to_u32(value: f64) -> u32 {
    value as u32
}

/// Encodes a point with `step` bits per coordinate in the given ranges;
/// `None` for a point outside them or outside what can be indexed at all.
pub fn encode(
    longitudes: CoordRange,
    latitudes: CoordRange,
    longitude: f64,
    latitude: f64,
    step: u8,
) -> Option<HashBits> {
    if step == 0 || step > 32 {
        return None;
    }
    if !(LONG_MIN..=LONG_MAX).contains(&longitude) || !(LAT_MIN..=LAT_MAX).contains(&latitude) {
        return None;
    }
    if latitude < latitudes.min
        || latitude > latitudes.max
        || longitude < longitudes.min
        || longitude > longitudes.max
    {
        return None;
    }
    let cells = (1u64 << step) as f64;
    let lat_offset = (latitude - latitudes.min) / (latitudes.max - latitudes.min) * cells;
    let long_offset = (longitude - longitudes.min) / (longitudes.max - longitudes.min) * cells;
    Some(HashBits {
        bits: spread(to_u32(lat_offset)) | (spread(to_u32(long_offset)) << 1),
        step,
    })
}

/// Encodes a point in the ranges a stored point may have.
pub fn encode_wgs84(longitude: f64, latitude: f64, step: u8) -> Option<HashBits> {
    encode(WGS84_LONGITUDES, WGS84_LATITUDES, longitude, latitude, step)
}

/// The cell `hash` stands for in the given ranges (`None` for a cleared
/// neighbour).
pub fn decode(longitudes: CoordRange, latitudes: CoordRange, hash: HashBits) -> Option<Area> {
    if hash.is_zero() {
        return None;
    }
    let cells = (1u64 << hash.step) as f64;
    let lat_cell = gather(hash.bits);
    let long_cell = gather(hash.bits >> 1);
    let lat_scale = latitudes.max - latitudes.min;
    let long_scale = longitudes.max - longitudes.min;
    let edge = |min: f64, cell: u32, scale: f64| min + (f64::from(cell) * 1.0 / cells) * scale;
    Some(Area {
        latitude: CoordRange {
            min: edge(latitudes.min, lat_cell, lat_scale),
            max: edge(latitudes.min, lat_cell.wrapping_add(1), lat_scale),
        },
        longitude: CoordRange {
            min: edge(longitudes.min, long_cell, long_scale),
            max: edge(longitudes.min, long_cell.wrapping_add(1), long_scale),
        },
    })
}

/// The centre of a stored point's cell, clamped to the indexable ranges:
/// `(longitude, latitude)`.
pub fn decode_to_lonlat(hash: HashBits) -> Option<(f64, f64)> {
    let area = decode(WGS84_LONGITUDES, WGS84_LATITUDES, hash)?;
    let longitude = ((area.longitude.min + area.longitude.max) / 2.0).clamp(LONG_MIN, LONG_MAX);
    let latitude = ((area.latitude.min + area.latitude.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    Some((longitude, latitude))
}

/// C's `(uint64_t)` of a double on x86-64, for any score a sorted set may
/// hold (Redis casts the score so, whatever it is): in-range values
/// truncate, negative ones wrap, out-of-range ones give what `cvttsd2si`
/// gives.
pub fn score_bits(score: f64) -> u64 {
    const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
    let convert = |value: f64| -> i64 {
        if value.is_nan() || !(-TWO_POW_63..TWO_POW_63).contains(&value) {
            i64::MIN
        } else {
            value as i64
        }
    };
    if score < TWO_POW_63 {
        convert(score) as u64
    } else {
        (convert(score - TWO_POW_63) as u64) ^ (1 << 63)
    }
}

/// The coordinates a stored score stands for: `(longitude, latitude)`.
pub fn score_to_lonlat(score: f64) -> Option<(f64, f64)> {
    decode_to_lonlat(HashBits {
        bits: score_bits(score),
        step: STEP_MAX,
    })
}

/// The score a point is stored with (`None` outside the indexable ranges).
pub fn lonlat_to_score(longitude: f64, latitude: f64) -> Option<u64> {
    encode_wgs84(longitude, latitude, STEP_MAX).map(HashBits::align52)
}

/// The standard 11-character geohash of a stored score (GEOHASH): the
/// point re-encoded with latitudes from -90 to 90, its last character
/// always `0` as the score holds 52 bits only.
pub fn standard_geohash(score: f64) -> Option<[u8; 11]> {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let (longitude, latitude) = score_to_lonlat(score)?;
    let standard_latitudes = CoordRange {
        min: -90.0,
        max: 90.0,
    };
    let standard_longitudes = CoordRange {
        min: -180.0,
        max: 180.0,
    };
    // Re-encoding a decoded point cannot fail: it lies inside both ranges.
    let bits = encode(
        standard_longitudes,
        standard_latitudes,
        longitude,
        latitude,
        STEP_MAX,
    )
    .map_or(0, |hash| hash.bits);
    let mut text = [b'0'; 11];
    for (i, byte) in text.iter_mut().enumerate().take(10) {
        let index = (bits >> (52 - (i + 1) * 5)) & 0x1f;
        *byte = ALPHABET[index as usize];
    }
    Some(text)
}

/// Moves a hash one cell east (`+1`) or west (`-1`).
fn move_longitude(hash: &mut HashBits, direction: i8) {
    let width = 64 - u32::from(hash.step) * 2;
    let long_bits = hash.bits & 0xaaaa_aaaa_aaaa_aaaa;
    let lat_bits = hash.bits & 0x5555_5555_5555_5555;
    let fill = 0x5555_5555_5555_5555u64 >> width;
    let moved = if direction > 0 {
        long_bits.wrapping_add(fill.wrapping_add(1))
    } else {
        (long_bits | fill).wrapping_sub(fill.wrapping_add(1))
    };
    hash.bits = (moved & (0xaaaa_aaaa_aaaa_aaaa >> width)) | lat_bits;
}

/// Moves a hash one cell north (`+1`) or south (`-1`).
fn move_latitude(hash: &mut HashBits, direction: i8) {
    let width = 64 - u32::from(hash.step) * 2;
    let long_bits = hash.bits & 0xaaaa_aaaa_aaaa_aaaa;
    let lat_bits = hash.bits & 0x5555_5555_5555_5555;
    let fill = 0xaaaa_aaaa_aaaa_aaaau64 >> width;
    let moved = if direction > 0 {
        lat_bits.wrapping_add(fill.wrapping_add(1))
    } else {
        (lat_bits | fill).wrapping_sub(fill.wrapping_add(1))
    };
    hash.bits = long_bits | (moved & (0x5555_5555_5555_5555 >> width));
}

fn neighbour(hash: HashBits, east: i8, north: i8) -> HashBits {
    let mut moved = hash;
    if east != 0 {
        move_longitude(&mut moved, east);
    }
    if north != 0 {
        move_latitude(&mut moved, north);
    }
    moved
}

/// The shape a search covers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    /// A circle of this radius (in the search's unit).
    Radius(f64),
    /// An axis-aligned box of this width and height (in the search's
    /// unit).
    Box {
        /// East-west extent.
        width: f64,
        /// North-south extent.
        height: f64,
    },
}

/// A search area: its centre, its shape, and the unit's size in metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Search {
    /// Centre longitude.
    pub longitude: f64,
    /// Centre latitude.
    pub latitude: f64,
    /// The shape around the centre.
    pub shape: Shape,
    /// Metres per unit of the shape's sizes.
    pub to_meters: f64,
}

/// The cells to scan for a search: the centre cell, then north, south,
/// east, west, north-east, north-west, south-east and south-west (cleared
/// ones are `None`), Redis's order, which is the order of unsorted
/// results.
pub fn search_cells(search: &Search) -> [Option<HashBits>; 9] {
    let (height, width) = match search.shape {
        Shape::Radius(radius) => (radius, radius),
        Shape::Box { width, height } => (height / 2.0, width / 2.0),
    };
    let height = search.to_meters * height;
    let width = search.to_meters * width;
    let latitude = search.latitude;
    let longitude = search.longitude;
    let lat_delta = rad_deg(height / EARTH_RADIUS_IN_METERS);
    let long_delta_top =
        rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(latitude + lat_delta).cos());
    let long_delta_bottom =
        rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(latitude - lat_delta).cos());
    // A box's edges bend towards the pole: its widest edge is the one
    // nearer the equator.
    let long_delta = if latitude < 0.0 {
        long_delta_bottom
    } else {
        long_delta_top
    };
    let min_lon = longitude - long_delta;
    let max_lon = longitude + long_delta;
    let min_lat = latitude - lat_delta;
    let max_lat = latitude + lat_delta;

    let radius_meters = match search.shape {
        Shape::Radius(radius) => radius,
        Shape::Box { width, height } => {
            ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt()
        }
    } * search.to_meters;
    let mut steps = estimate_steps(radius_meters, latitude);

    // A centre that cannot be indexed has no cells (callers check their
    // centres first: this never happens through the commands).
    let cells_at = |steps: u8| {
        let hash = encode_wgs84(longitude, latitude, steps)?;
        Some((hash, decode(WGS84_LONGITUDES, WGS84_LATITUDES, hash)))
    };
    let Some((mut hash, mut area)) = cells_at(steps) else {
        return [None; 9];
    };
    let area_of = |h: HashBits| decode(WGS84_LONGITUDES, WGS84_LATITUDES, h);
    // Near a cell's edge the estimated step may leave part of the search
    // outside the nine cells: then one step coarser.
    let too_fine = {
        let north = area_of(neighbour(hash, 0, 1));
        let south = area_of(neighbour(hash, 0, -1));
        let east = area_of(neighbour(hash, 1, 0));
        let west = area_of(neighbour(hash, -1, 0));
        north.is_some_and(|a| a.latitude.max < max_lat)
            || south.is_some_and(|a| a.latitude.min > min_lat)
            || east.is_some_and(|a| a.longitude.max < max_lon)
            || west.is_some_and(|a| a.longitude.min > min_lon)
    };
    if steps > 1 && too_fine {
        steps -= 1;
        let Some(coarser) = cells_at(steps) else {
            return [None; 9];
        };
        (hash, area) = coarser;
    }
    let mut cells = [
        Some(hash),
        Some(neighbour(hash, 0, 1)),
        Some(neighbour(hash, 0, -1)),
        Some(neighbour(hash, 1, 0)),
        Some(neighbour(hash, -1, 0)),
        Some(neighbour(hash, 1, 1)),
        Some(neighbour(hash, -1, 1)),
        Some(neighbour(hash, 1, -1)),
        Some(neighbour(hash, -1, -1)),
    ];
    const NORTH: usize = 1;
    const SOUTH: usize = 2;
    const EAST: usize = 3;
    const WEST: usize = 4;
    const NORTH_EAST: usize = 5;
    const NORTH_WEST: usize = 6;
    const SOUTH_EAST: usize = 7;
    const SOUTH_WEST: usize = 8;
    // Neighbours the search cannot reach are not scanned.
    if let (true, Some(area)) = (steps >= 2, area) {
        if area.latitude.min < min_lat {
            for side in [SOUTH, SOUTH_WEST, SOUTH_EAST] {
                cells[side] = None;
            }
        }
        if area.latitude.max > max_lat {
            for side in [NORTH, NORTH_EAST, NORTH_WEST] {
                cells[side] = None;
            }
        }
        if area.longitude.min < min_lon {
            for side in [WEST, SOUTH_WEST, NORTH_WEST] {
                cells[side] = None;
            }
        }
        if area.longitude.max > max_lon {
            for side in [EAST, SOUTH_EAST, NORTH_EAST] {
                cells[side] = None;
            }
        }
    }
    cells.map(|cell| cell.filter(|c| !c.is_zero()))
}

/// The step (bits per coordinate) of the nine cells a search of
/// `range_meters` around `latitude` scans: coarser the wider the search,
/// and coarser towards the poles.
fn estimate_steps(range_meters: f64, latitude: f64) -> u8 {
    if range_meters == 0.0 {
        return 26;
    }
    let mut range = range_meters;
    let mut step: i32 = 1;
    while range < MERCATOR_MAX {
        range *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&latitude) {
        step -= 1;
        if !(-80.0..=80.0).contains(&latitude) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

/// The scores `[min, max)` of the points inside a cell.
pub fn cell_scores(cell: HashBits) -> (u64, u64) {
    let next = HashBits {
        bits: cell.bits + 1,
        step: cell.step,
    };
    (cell.align52(), next.align52())
}

/// The distance along a meridian between two latitudes, in metres.
fn latitude_distance(lat1: f64, lat2: f64) -> f64 {
    EARTH_RADIUS_IN_METERS * (deg_rad(lat2) - deg_rad(lat1)).abs()
}

/// The haversine distance between two points, in metres.
pub fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let lon1r = deg_rad(lon1);
    let lon2r = deg_rad(lon2);
    let v = ((lon2r - lon1r) / 2.0).sin();
    // Same longitude: the distance is along the meridian.
    if v == 0.0 {
        return latitude_distance(lat1, lat2);
    }
    let lat1r = deg_rad(lat1);
    let lat2r = deg_rad(lat2);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS_IN_METERS * a.sqrt().asin()
}

impl Search {
    /// The distance in metres from the centre to the point, when the point
    /// lies inside the search's shape.
    pub fn distance_if_inside(&self, longitude: f64, latitude: f64) -> Option<f64> {
        match self.shape {
            Shape::Radius(radius) => {
                let meters = distance(self.longitude, self.latitude, longitude, latitude);
                (meters <= radius * self.to_meters).then_some(meters)
            }
            Shape::Box { width, height } => {
                let (width_m, height_m) = (width * self.to_meters, height * self.to_meters);
                if latitude_distance(latitude, self.latitude) > height_m / 2.0 {
                    return None;
                }
                if distance(longitude, latitude, self.longitude, latitude) > width_m / 2.0 {
                    return None;
                }
                Some(distance(self.longitude, self.latitude, longitude, latitude))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scores and coordinates printed by redis-server 7.0.15.
    #[test]
    fn scores_and_decoded_coordinates_match_redis() {
        assert_eq!(
            lonlat_to_score(13.361389, 38.115556),
            Some(3479099956230698)
        );
        assert_eq!(
            lonlat_to_score(15.087269, 37.502669),
            Some(3479447370796909)
        );
        let (lon, lat) = score_to_lonlat(3479099956230698.0).unwrap();
        assert_eq!(format!("{lon:.17}"), "13.36138933897018433");
        assert_eq!(format!("{lat:.17}"), "38.11555639549629859");
    }

    #[test]
    fn standard_geohash_matches_redis() {
        let text = standard_geohash(3479099956230698.0).unwrap();
        assert_eq!(&text, b"sqc8b49rny0");
    }

    #[test]
    fn haversine_distance_matches_redis() {
        let (lon1, lat1) = score_to_lonlat(3479099956230698.0).unwrap();
        let (lon2, lat2) = score_to_lonlat(3479447370796909.0).unwrap();
        let km = distance(lon1, lat1, lon2, lat2) / 1000.0;
        assert_eq!(format!("{km:.4}"), "166.2742");
    }

    #[test]
    fn points_outside_the_mercator_band_have_no_score() {
        assert_eq!(lonlat_to_score(0.0, 86.0), None);
        assert_eq!(lonlat_to_score(181.0, 0.0), None);
        assert!(lonlat_to_score(180.0, LAT_MAX).is_some());
    }

    #[test]
    fn moving_east_then_west_returns_to_the_cell() {
        let hash = encode_wgs84(10.0, 20.0, 10).unwrap();
        assert_eq!(neighbour(neighbour(hash, 1, 1), -1, -1), hash);
        assert_ne!(neighbour(hash, 1, 0), hash);
    }

    #[test]
    fn scores_cast_to_bits_as_c_does_on_x86_64() {
        assert_eq!(score_bits(5.9), 5);
        assert_eq!(score_bits(-1.0), u64::MAX);
        assert_eq!(score_bits(f64::INFINITY), 0);
        assert_eq!(score_bits(f64::NEG_INFINITY), 1 << 63);
        assert_eq!(score_bits(1.8e19), 18_000_000_000_000_000_000);
    }
}
