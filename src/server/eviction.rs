//! Redis's `maxmemory`: the memory a node counts against its limit, the
//! eviction of keys by `maxmemory-policy` once over it (Redis's
//! `performEvictions`), and the access stamps of keys that the LRU and LFU
//! policies and OBJECT IDLETIME/FREQ read (Redis's `lru` field of an
//! object).
//!
//! On real TCP the memory counted is what the process has allocated, read
//! from a counting allocator as Redis reads zmalloc's counter. A
//! simulation's process holds every node at once, so there a node counts
//! an estimate: [`STARTUP_BYTES`] plus its dataset's estimated bytes
//! (recomputed per command while `maxmemory` is set, which suits the small
//! datasets of scenarios that set it).

use rand::Rng;

use super::config::Config;
use super::ServerState;
use crate::keyspace::{blob, AccessClock, Blob, DB_COUNT};

/// What an idle Redis 7.0 reports as `used_memory` (a simulated node's
/// baseline).
pub const STARTUP_BYTES: u64 = 875_968;

/// Redis's reply to a command refused for memory.
pub const OOM_ERROR: &str = "OOM command not allowed when used memory > 'maxmemory'.";

/// The 24-bit seconds clock of Redis's LRU stamps.
const LRU_CLOCK_MAX: u64 = (1 << 24) - 1;

/// The counter a new key starts with under an LFU policy.
const LFU_INIT_VAL: u32 = 5;

/// Keys kept in the eviction pool between evictions (Redis's
/// `EVPOOL_SIZE`).
const POOL_SIZE: usize = 16;

/// `maxmemory-policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Evict the least recently used key with an expiry.
    VolatileLru,
    /// Evict the least frequently used key with an expiry.
    VolatileLfu,
    /// Evict a random key with an expiry.
    VolatileRandom,
    /// Evict the key with an expiry closest to expiring.
    VolatileTtl,
    /// Evict the least recently used key.
    AllkeysLru,
    /// Evict the least frequently used key.
    AllkeysLfu,
    /// Evict a random key.
    AllkeysRandom,
    /// Evict nothing: refuse commands that may use memory.
    NoEviction,
}

impl Policy {
    /// The policy named `name` (CONFIG SET has checked it); noeviction for
    /// anything else.
    pub fn named(name: &str) -> Policy {
        match name {
            "volatile-lru" => Policy::VolatileLru,
            "volatile-lfu" => Policy::VolatileLfu,
            "volatile-random" => Policy::VolatileRandom,
            "volatile-ttl" => Policy::VolatileTtl,
            "allkeys-lru" => Policy::AllkeysLru,
            "allkeys-lfu" => Policy::AllkeysLfu,
            "allkeys-random" => Policy::AllkeysRandom,
            _ => Policy::NoEviction,
        }
    }

    /// Whether keys carry an LFU counter rather than an access time.
    pub fn is_lfu(self) -> bool {
        matches!(self, Policy::VolatileLfu | Policy::AllkeysLfu)
    }

    /// Whether keys need their own access stamps (LRU and LFU policies).
    pub fn tracks_access(self) -> bool {
        matches!(
            self,
            Policy::VolatileLru | Policy::VolatileLfu | Policy::AllkeysLru | Policy::AllkeysLfu
        )
    }

    /// Whether the policy picks among all keys (not only those with an
    /// expiry).
    fn all_keys(self) -> bool {
        matches!(
            self,
            Policy::AllkeysLru | Policy::AllkeysLfu | Policy::AllkeysRandom
        )
    }
}

/// The `maxmemory` settings, read once per CONFIG SET rather than per
/// command.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Maxmemory {
    /// `maxmemory` in bytes; 0 for no limit.
    pub limit: u64,
    /// `maxmemory-policy`.
    pub policy: Policy,
    /// `maxmemory-samples`: keys sampled per db to fill the pool.
    pub samples: usize,
    /// `lfu-log-factor`.
    pub lfu_log_factor: u32,
    /// `lfu-decay-time`, in minutes.
    pub lfu_decay_time: u32,
    /// `lazyfree-lazy-eviction`: evictions propagate as UNLINK.
    pub lazy_eviction: bool,
    /// `replica-ignore-maxmemory`.
    pub replica_ignores: bool,
}

impl Default for Maxmemory {
    fn default() -> Self {
        Maxmemory::from_config(&Config::default())
    }
}

impl Maxmemory {
    /// The settings `config` holds.
    pub fn from_config(config: &Config) -> Self {
        let get = |name: &str| config.others.get(name).map(String::as_str);
        let number = |name: &str, default: u64| {
            get(name)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(default)
        };
        Maxmemory {
            limit: number("maxmemory", 0),
            policy: Policy::named(get("maxmemory-policy").unwrap_or("noeviction")),
            samples: number("maxmemory-samples", 5).max(1) as usize,
            lfu_log_factor: number("lfu-log-factor", 10) as u32,
            lfu_decay_time: number("lfu-decay-time", 1) as u32,
            lazy_eviction: get("lazyfree-lazy-eviction") == Some("yes"),
            replica_ignores: get("replica-ignore-maxmemory") != Some("no"),
        }
    }

    /// How keys written at `now_ms` are stamped: the LRU clock, or an
    /// initial LFU counter (kept when the value is overwritten).
    pub fn access_clock(&self, now_ms: u64) -> AccessClock {
        if self.policy.is_lfu() {
            AccessClock {
                fresh: lfu_minutes(now_ms) << 8 | LFU_INIT_VAL,
                keep_on_overwrite: true,
            }
        } else {
            AccessClock {
                fresh: lru_clock(now_ms),
                keep_on_overwrite: false,
            }
        }
    }

    /// The stamp of a key with stamp `old` accessed at `now_ms` (Redis's
    /// `updateLFU`, or the LRU clock).
    pub fn touched(&self, old: u32, now_ms: u64, rng: &mut impl Rng) -> u32 {
        if !self.policy.is_lfu() {
            return lru_clock(now_ms);
        }
        let counter = self.lfu_counter(old, now_ms);
        let counter = self.lfu_log_incr(counter, rng);
        lfu_minutes(now_ms) << 8 | counter
    }

    /// The stamp of a key given an LFU counter or an idle time in seconds
    /// (RESTORE's FREQ and IDLETIME, an RDB's FREQ and IDLE): the counter
    /// counts under an LFU policy, the idle time under any other (Redis's
    /// `objectSetLRUOrLFU`); `None` when the one that counts is absent.
    pub fn stamp_given(
        &self,
        freq: Option<u32>,
        idle_secs: Option<u64>,
        now_ms: u64,
    ) -> Option<u32> {
        if self.policy.is_lfu() {
            return freq.map(|counter| lfu_minutes(now_ms) << 8 | counter.min(255));
        }
        let idle = idle_secs?;
        let clock = u64::from(lru_clock(now_ms));
        // The clock wraps: an access before its zero lands near its top.
        let stamp = if idle <= clock {
            clock - idle
        } else {
            (clock + LRU_CLOCK_MAX).saturating_sub(idle) % (LRU_CLOCK_MAX + 1)
        };
        Some(stamp as u32)
    }

    /// The LFU counter of `stamp`, decayed by the minutes since it was
    /// last decremented (Redis's `LFUDecrAndReturn`).
    pub fn lfu_counter(&self, stamp: u32, now_ms: u64) -> u32 {
        let last_decrement = stamp >> 8;
        let counter = stamp & 255;
        // `lfu-decay-time 0` never decays.
        let periods = lfu_minutes_elapsed(last_decrement, now_ms)
            .checked_div(self.lfu_decay_time)
            .unwrap_or(0);
        counter.saturating_sub(periods)
    }

    /// Redis's `LFULogIncr`: the counter grows with a probability that
    /// falls as it grows.
    fn lfu_log_incr(&self, counter: u32, rng: &mut impl Rng) -> u32 {
        if counter >= 255 {
            return 255;
        }
        let draw: f64 = rng.gen();
        let base = counter.saturating_sub(LFU_INIT_VAL) as f64;
        let chance = 1.0 / (base * self.lfu_log_factor as f64 + 1.0);
        if draw < chance {
            counter + 1
        } else {
            counter
        }
    }
}

/// Redis's `LRU_CLOCK`: seconds, 24 bits.
fn lru_clock(now_ms: u64) -> u32 {
    ((now_ms / 1000) & LRU_CLOCK_MAX) as u32
}

/// Minutes, 16 bits (the LFU decrement time).
fn lfu_minutes(now_ms: u64) -> u32 {
    ((now_ms / 60_000) & 65_535) as u32
}

fn lfu_minutes_elapsed(since: u32, now_ms: u64) -> u32 {
    let now = lfu_minutes(now_ms);
    if now >= since {
        now - since
    } else {
        65_535 - since + now
    }
}

/// Milliseconds since a key stamped `stamp` was accessed, as Redis
/// estimates it from its wrapping clock (`estimateObjectIdleTime`).
pub fn idle_ms(stamp: u32, now_ms: u64) -> u64 {
    let clock = lru_clock(now_ms) as u64;
    let stamp = stamp as u64;
    if clock >= stamp {
        (clock - stamp) * 1000
    } else {
        (clock + (LRU_CLOCK_MAX - stamp)) * 1000
    }
}

/// A candidate for eviction kept between evictions: higher `score` goes
/// first (idle time, inverted frequency or inverted expiry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolEntry {
    score: u64,
    db: usize,
    key: Blob,
}

/// Redis's eviction pool: the best candidates sampled so far, worst first.
#[derive(Debug, Clone, Default)]
pub struct EvictionPool {
    entries: Vec<PoolEntry>,
    /// Where the random policies look next (Redis's static `next_db`).
    next_db: usize,
}

impl EvictionPool {
    /// Adds a sampled key if it beats the worst one kept, or there is
    /// room.
    fn offer(&mut self, candidate: PoolEntry) {
        if self.entries.len() == POOL_SIZE && candidate.score <= self.entries[0].score {
            return;
        }
        let at = self.entries.partition_point(|e| e.score < candidate.score);
        self.entries.insert(at, candidate);
        if self.entries.len() > POOL_SIZE {
            self.entries.remove(0);
        }
    }
}

/// How much memory the node counts against `maxmemory` now. On real TCP:
/// the bytes allocated, less the key tables' empty slots (a key lives in
/// its table's slot, which a deletion empties for the next key rather than
/// giving back, where Redis frees a deleted key's entry).
pub fn used_memory(state: &ServerState) -> u64 {
    match (state.allocated_bytes)() {
        Some(bytes) => {
            let spare: usize = state
                .keyspace
                .dbs()
                .map(|(_, db)| db.spare_slot_bytes())
                .sum();
            bytes.saturating_sub(spare as u64)
        }
        None => STARTUP_BYTES + dataset_estimate(state),
    }
}

/// The dataset's estimated bytes (see
/// [`crate::command::object::estimated_bytes`]).
pub fn dataset_estimate(state: &ServerState) -> u64 {
    state
        .keyspace
        .dbs()
        .flat_map(|(_, db)| db.iter())
        .map(|(key, entry)| crate::command::object::estimated_bytes(key, &entry.value) as u64)
        .sum()
}

/// Redis's `performEvictions`: evicts keys by the policy until the node is
/// within `maxmemory`. True when it is (or need not be: no limit, a replica
/// ignoring it, a busy script, paused clients); false when it is over and
/// cannot evict (noeviction, or no key the policy may take).
pub fn perform_evictions(state: &mut ServerState, now_ms: u64) -> bool {
    let settings = state.maxmemory;
    if settings.limit == 0
        || state.busy_script().is_some()
        || (state.is_replica() && settings.replica_ignores)
        || state.client_pauses.is_paused(state.mono_now)
    {
        return true;
    }
    let used = used_memory(state);
    if used <= settings.limit {
        return true;
    }
    if settings.policy == Policy::NoEviction {
        return false;
    }
    let to_free = used - settings.limit;
    let mut freed = 0u64;
    while freed < to_free {
        let Some((db, key)) = pick_victim(state, now_ms) else {
            return false;
        };
        freed += evict(state, db, &key);
    }
    true
}

/// The key the policy evicts next, if any may go.
fn pick_victim(state: &mut ServerState, now_ms: u64) -> Option<(usize, Blob)> {
    let settings = state.maxmemory;
    let all_keys = settings.policy.all_keys();
    if matches!(
        settings.policy,
        Policy::AllkeysRandom | Policy::VolatileRandom
    ) {
        for _ in 0..DB_COUNT {
            state.eviction_pool.next_db = (state.eviction_pool.next_db + 1) % DB_COUNT;
            let index = state.eviction_pool.next_db;
            let db = state.keyspace.db(index);
            let count = if all_keys {
                db.len()
            } else {
                db.volatile_len()
            };
            if count == 0 {
                continue;
            }
            let pick = state.rng.gen_range(0..count);
            let key = if all_keys {
                db.get_index(pick).map(|(key, _)| blob(key))
            } else {
                db.volatile_key_at(pick).map(blob)
            };
            return key.map(|key| (index, key));
        }
        return None;
    }
    loop {
        let mut total = 0;
        for index in 0..DB_COUNT {
            total += sample_into_pool(state, index, now_ms);
        }
        if total == 0 {
            return None;
        }
        // Best first; a key gone since it was sampled is skipped.
        while let Some(best) = state.eviction_pool.entries.pop() {
            let db = state.keyspace.db(best.db);
            let present = if all_keys {
                db.get(&best.key).is_some()
            } else {
                db.get(&best.key)
                    .is_some_and(|e| e.expire_at_ms().is_some())
            };
            if present {
                return Some((best.db, best.key));
            }
        }
    }
}

/// Samples `maxmemory-samples` keys of db `index` into the pool (Redis's
/// `evictionPoolPopulate`); returns how many keys the policy could take
/// there.
fn sample_into_pool(state: &mut ServerState, index: usize, now_ms: u64) -> usize {
    let settings = state.maxmemory;
    let all_keys = settings.policy.all_keys();
    let db = state.keyspace.db(index);
    let count = if all_keys {
        db.len()
    } else {
        db.volatile_len()
    };
    for _ in 0..settings.samples.min(count) {
        let pick = state.rng.gen_range(0..count);
        let db = state.keyspace.db(index);
        let key = if all_keys {
            db.get_index(pick).map(|(key, _)| key)
        } else {
            db.volatile_key_at(pick)
        };
        let Some((key, entry)) = key.and_then(|key| db.get(key).map(|entry| (key, entry))) else {
            continue;
        };
        let score = match settings.policy {
            Policy::VolatileTtl => u64::MAX - entry.expire_at_ms().unwrap_or(u64::MAX),
            policy if policy.is_lfu() => {
                255 - u64::from(settings.lfu_counter(entry.access(), now_ms))
            }
            _ => idle_ms(entry.access(), now_ms),
        };
        let candidate = PoolEntry {
            score,
            db: index,
            key: blob(key),
        };
        if !state.eviction_pool.entries.contains(&candidate) {
            state.eviction_pool.offer(candidate);
        }
    }
    count
}

/// Evicts `key` of db `db` as Redis does: deleted, propagated as DEL (or
/// UNLINK with `lazyfree-lazy-eviction`), counted in `evicted_keys`,
/// announced as the `evicted` keyspace event, and touching WATCH. Returns
/// the bytes it freed.
fn evict(state: &mut ServerState, db: usize, key: &[u8]) -> u64 {
    let command: &[u8] = if state.maxmemory.lazy_eviction {
        b"UNLINK"
    } else {
        b"DEL"
    };
    let measured = (state.allocated_bytes)().is_some();
    let before = if measured { used_memory(state) } else { 0 };
    // A replica (one told not to ignore maxmemory) feeds its replicas
    // only its master's stream, never deletions of its own.
    let removed = if state.is_replica() {
        state.keyspace.db_mut(db).remove(key)
    } else {
        state.remove_and_propagate(db, key, command)
    };
    let Some(entry) = removed else {
        return 0;
    };
    let freed = if measured {
        drop(entry);
        before.saturating_sub(used_memory(state))
    } else {
        crate::command::object::estimated_bytes(key, &entry.value) as u64
    };
    state.stats.evicted_keys += 1;
    if let Some(probe) = &state.probe {
        probe.probe.evicted(db, key);
    }
    state.watches.touch(db, key, false);
    state.notify_keyspace_event(super::pubsub::notify::EVICTED, "evicted", key, db, None);
    // At least one byte: a key always holds some, and the loop must end.
    freed.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn lru_idle_time_wraps_with_the_24_bit_clock() {
        let now = 10_000_000_000u64;
        let stamp = lru_clock(now - 5_000);
        assert_eq!(idle_ms(stamp, now), 5_000);
        // A stamp from just before the clock wrapped.
        let wrapped_now = (LRU_CLOCK_MAX + 3) * 1000;
        assert_eq!(idle_ms(LRU_CLOCK_MAX as u32 - 2, wrapped_now), 4_000);
        // RESTORE ... IDLETIME further back than the clock's zero.
        let settings = Maxmemory::default();
        let stamp = settings.stamp_given(None, Some(10), 5_000).unwrap();
        assert_eq!(idle_ms(stamp, 5_000), 10_000);
        assert_eq!(settings.stamp_given(Some(7), None, 5_000), None);
    }

    #[test]
    fn lfu_counter_decays_one_per_decay_period_and_grows_slower_as_it_grows() {
        let mut config = Config::default();
        config
            .others
            .insert("maxmemory-policy", "allkeys-lfu".into());
        let settings = Maxmemory::from_config(&config);
        let start = 600_000u64;
        let fresh = settings.access_clock(start).fresh;
        assert_eq!(settings.lfu_counter(fresh, start), LFU_INIT_VAL);
        // Three minutes later with lfu-decay-time 1: three less.
        assert_eq!(settings.lfu_counter(fresh, start + 180_000), 2);
        // A hundred accesses raise a fresh counter, but far less than 100.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut stamp = fresh;
        for _ in 0..100 {
            stamp = settings.touched(stamp, start, &mut rng);
        }
        let counter = settings.lfu_counter(stamp, start);
        assert!(counter > LFU_INIT_VAL && counter < 30, "{counter}");
    }

    #[test]
    fn the_pool_keeps_the_best_candidates_worst_first() {
        let mut pool = EvictionPool::default();
        for score in [5u64, 1, 9, 3] {
            pool.offer(PoolEntry {
                score,
                db: 0,
                key: blob(&[score as u8]),
            });
        }
        let scores: Vec<u64> = pool.entries.iter().map(|e| e.score).collect();
        assert_eq!(scores, [1, 3, 5, 9]);
        for score in 10..30u64 {
            pool.offer(PoolEntry {
                score,
                db: 0,
                key: blob(&[score as u8]),
            });
        }
        assert_eq!(pool.entries.len(), POOL_SIZE);
        assert_eq!(pool.entries[0].score, 14);
        assert_eq!(pool.entries.last().unwrap().score, 29);
    }
}
