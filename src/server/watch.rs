//! WATCH: which clients watch which keys, and which of them saw a watched
//! key change (their next EXEC fails), by Redis 7.0's rules.
//!
//! A key is touched when a write command changed the dataset and named it
//! as a key, when it expires, and when FLUSHDB/FLUSHALL empty its db while
//! it exists. A key that was already logically expired when it was watched
//! is "stale": its deletion (by expiry or a flush) is no change, as in
//! Redis; and EXEC fails when a key that was alive at WATCH time has
//! expired since.

use std::collections::{BTreeMap, BTreeSet};

use crate::keyspace::{blob, Blob, Keyspace};

/// The watch registry of a node.
#[derive(Debug, Default, Clone)]
pub struct Watches {
    /// (db, key) -> client id -> whether the key was expired at WATCH time.
    keys: BTreeMap<(usize, Blob), BTreeMap<u64, bool>>,
    /// What each client watches, to drop it on EXEC, DISCARD, UNWATCH and
    /// disconnection.
    by_client: BTreeMap<u64, Vec<(usize, Blob)>>,
    /// Clients whose transaction must fail (a watched key was touched).
    dirty: BTreeSet<u64>,
}

impl Watches {
    /// True when no client watches anything (the cheap common case).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Client `client` watches `key` of `db`; `expired`: it is logically
    /// expired now.
    pub fn watch(&mut self, client: u64, db: usize, key: &[u8], expired: bool) {
        let watchers = self.keys.entry((db, blob(key))).or_default();
        if watchers.contains_key(&client) {
            return;
        }
        watchers.insert(client, expired);
        self.by_client
            .entry(client)
            .or_default()
            .push((db, blob(key)));
    }

    /// Forgets everything `client` watches (and its failed state).
    pub fn unwatch_all(&mut self, client: u64) {
        self.dirty.remove(&client);
        for (db, key) in self.by_client.remove(&client).unwrap_or_default() {
            if let Some(watchers) = self.keys.get_mut(&(db, key.clone())) {
                watchers.remove(&client);
                if watchers.is_empty() {
                    self.keys.remove(&(db, key));
                }
            }
        }
    }

    /// `key` of `db` changed; `exists`: it is still in the db.
    pub fn touch(&mut self, db: usize, key: &[u8], exists: bool) {
        if self.keys.is_empty() {
            return;
        }
        let Some(watchers) = self.keys.get_mut(&(db, blob(key))) else {
            return;
        };
        for (client, expired) in watchers.iter_mut() {
            if *expired && !exists {
                // A stale key deleted: logically no change. It counts as
                // alive from now on.
                *expired = false;
                continue;
            }
            self.dirty.insert(*client);
        }
    }

    /// Every watched key of `db` (every db with `None`) that exists in
    /// `keyspace` is about to be flushed.
    pub fn touch_flushed(&mut self, keyspace: &Keyspace, db: Option<usize>) {
        if self.keys.is_empty() {
            return;
        }
        let flushed: Vec<(usize, Blob)> = self
            .keys
            .keys()
            .filter(|(d, key)| db.is_none_or(|db| db == *d) && keyspace.db(*d).get(key).is_some())
            .cloned()
            .collect();
        for (d, key) in flushed {
            self.touch(d, &key, false);
        }
    }

    /// SWAPDB of `a` and `b` is about to happen (`now_ms` for expiry):
    /// watched keys of each db are touched by Redis's rules, where a key
    /// that is and stays logically expired, or a stale key replaced by
    /// nothing, is no change.
    pub fn touch_swapped(&mut self, keyspace: &Keyspace, a: usize, b: usize, now_ms: u64) {
        if self.keys.is_empty() {
            return;
        }
        for (emptied, replaced_with) in [(a, b), (b, a)] {
            let watched: Vec<Blob> = self
                .keys
                .keys()
                .filter(|(d, _)| *d == emptied)
                .map(|(_, key)| key.clone())
                .collect();
            for key in watched {
                let in_emptied = keyspace.db(emptied).get(&key).is_some();
                let replacement = keyspace.db(replaced_with).get(&key);
                if !in_emptied && replacement.is_none() {
                    continue;
                }
                let replacement_expired = replacement.is_some_and(|e| e.is_expired(now_ms));
                let Some(watchers) = self.keys.get_mut(&(emptied, key.clone())) else {
                    continue;
                };
                for (client, expired) in watchers.iter_mut() {
                    if *expired {
                        if replacement.is_none() {
                            *expired = false;
                            continue;
                        }
                        if replacement_expired {
                            continue;
                        }
                    } else if !in_emptied && replacement_expired {
                        *expired = true;
                        continue;
                    }
                    self.dirty.insert(*client);
                }
            }
        }
    }

    /// Whether `client`'s transaction must fail: a watched key was touched,
    /// or a key alive at WATCH time has expired since (`expired_now`).
    pub fn failed(&self, client: u64, expired_now: impl Fn(usize, &[u8]) -> bool) -> bool {
        if self.dirty.contains(&client) {
            return true;
        }
        self.by_client.get(&client).is_some_and(|keys| {
            keys.iter().any(|(db, key)| {
                let was_expired = self
                    .keys
                    .get(&(*db, key.clone()))
                    .and_then(|w| w.get(&client))
                    .copied()
                    .unwrap_or(false);
                !was_expired && expired_now(*db, key)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::Value;

    fn keyspace_with(key: &[u8], expire_at_ms: Option<u64>) -> Keyspace {
        let mut keyspace = Keyspace::new();
        keyspace
            .db_mut(0)
            .insert_with_expiry(key, Value::Str(blob(b"v")), expire_at_ms);
        keyspace
    }

    #[test]
    fn a_touched_key_fails_its_watchers_only_and_unwatch_forgets_it() {
        let mut watches = Watches::default();
        watches.watch(1, 0, b"k", false);
        watches.watch(2, 0, b"other", false);
        watches.touch(0, b"k", true);
        watches.touch(1, b"other", true);
        assert!(watches.failed(1, |_, _| false));
        assert!(!watches.failed(2, |_, _| false));
        watches.unwatch_all(1);
        assert!(!watches.failed(1, |_, _| false));
        watches.unwatch_all(2);
        assert!(watches.is_empty());
    }

    #[test]
    fn deleting_a_key_that_was_stale_when_watched_is_no_change() {
        let mut watches = Watches::default();
        watches.watch(1, 0, b"k", true);
        watches.touch(0, b"k", false);
        // The key is gone, so it is not expired either.
        assert!(!watches.failed(1, |_, _| false));
        // From then on it counts as alive: writing it fails the client.
        watches.touch(0, b"k", true);
        assert!(watches.failed(1, |_, _| false));
    }

    #[test]
    fn a_key_alive_at_watch_that_expired_since_fails_exec() {
        let mut watches = Watches::default();
        watches.watch(1, 0, b"k", false);
        assert!(watches.failed(1, |db, key| db == 0 && key == b"k"));
    }

    #[test]
    fn flushes_touch_existing_watched_keys_but_not_missing_ones() {
        let keyspace = keyspace_with(b"k", None);
        let mut watches = Watches::default();
        watches.watch(1, 0, b"k", false);
        watches.watch(2, 0, b"missing", false);
        watches.touch_flushed(&keyspace, Some(0));
        assert!(watches.failed(1, |_, _| false));
        assert!(!watches.failed(2, |_, _| false));
    }

    #[test]
    fn swapdb_leaves_a_stale_key_replaced_by_a_stale_key_alone() {
        let mut keyspace = keyspace_with(b"x", Some(10));
        keyspace
            .db_mut(1)
            .insert_with_expiry(b"x", Value::Str(blob(b"w")), Some(10));
        let mut watches = Watches::default();
        watches.watch(1, 1, b"x", true);
        watches.touch_swapped(&keyspace, 0, 1, 100);
        assert!(!watches.failed(1, |_, _| false));
    }

    #[test]
    fn swapdb_touches_a_watched_key_replaced_by_a_live_one() {
        let keyspace = keyspace_with(b"x", None);
        let mut watches = Watches::default();
        watches.watch(1, 1, b"x", false);
        watches.touch_swapped(&keyspace, 0, 1, 100);
        assert!(watches.failed(1, |_, _| false));
    }
}
