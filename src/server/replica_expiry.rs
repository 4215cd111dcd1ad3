//! A writable replica's own volatile keys (Redis's `slaveKeysWithExpire`):
//! a replica never expires the keys its master sends, waiting for the
//! master's DEL, but a key one of its own clients gave an expiry would
//! then never go. Redis remembers those keys and its cron deletes them once
//! expired (counted in `expired_keys`, an `expired` event, nothing
//! propagated); so does replsim. A key that no longer has an expiry when
//! the cron looks (the master overwrote it) is forgotten.

use std::collections::BTreeMap;

use super::ServerState;
use crate::keyspace::Blob;

/// Keys remembered per db (a bit per db, as Redis keeps them).
#[derive(Debug, Clone, Default)]
pub struct ReplicaVolatileKeys {
    keys: BTreeMap<Blob, u64>,
}

impl ReplicaVolatileKeys {
    /// Remembers that `key` of db `db` was given an expiry by a client of
    /// this replica.
    pub fn remember(&mut self, db: usize, key: Blob) {
        *self.keys.entry(key).or_default() |= 1 << db;
    }

    /// Forgets every key (the node stopped being a replica, or loaded a
    /// new dataset).
    pub fn clear(&mut self) {
        self.keys.clear();
    }

    /// How many keys are remembered.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

impl ServerState {
    /// Redis's `expireSlaveKeys`, from the cron of a replica: deletes the
    /// remembered keys whose expiry passed, forgets those gone or no longer
    /// volatile.
    pub fn expire_replica_volatile_keys(&mut self, now_ms: u64) {
        if self.replica_volatile_keys.is_empty() {
            return;
        }
        if !self.is_replica() {
            self.replica_volatile_keys.clear();
            return;
        }
        let remembered = std::mem::take(&mut self.replica_volatile_keys.keys);
        for (key, dbs) in remembered {
            let mut still = 0u64;
            for db in (0..crate::keyspace::DB_COUNT).filter(|db| dbs & (1 << db) != 0) {
                let expiry = self
                    .keyspace
                    .db(db)
                    .get(&key)
                    .and_then(|entry| entry.expire_at_ms());
                match expiry {
                    Some(at) if at <= now_ms => {
                        self.keyspace.db_mut(db).remove(&key);
                        self.watches.touch(db, &key, false);
                        self.notify_keyspace_event(
                            super::pubsub::notify::EXPIRED,
                            "expired",
                            &key,
                            db,
                            None,
                        );
                        self.stats.expired_keys += 1;
                    }
                    Some(_) => still |= 1 << db,
                    None => {}
                }
            }
            if still != 0 {
                self.replica_volatile_keys.keys.insert(key, still);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::{blob, Value};
    use crate::server::Config;
    use std::time::Duration;

    fn replica() -> ServerState {
        let mut state = ServerState::new(Config::default(), 1, 0, Duration::ZERO);
        state.repl.master = Some(crate::replication::MasterLink {
            host: "m".into(),
            port: 6379,
            state: crate::replication::LinkState::Connected,
            generation: 1,
            last_io: Duration::ZERO,
            attempt: Default::default(),
            down_since: None,
            up_since: None,
            client_id: None,
            transfer: None,
            last_error: None,
        });
        state
    }

    #[test]
    fn a_replicas_own_expired_key_goes_and_one_from_its_master_stays() {
        let mut state = replica();
        let db = state.keyspace.db_mut(0);
        db.insert_with_expiry(b"own", Value::Str(blob(b"v")), Some(100));
        db.insert_with_expiry(b"masters", Value::Str(blob(b"v")), Some(100));
        state.replica_volatile_keys.remember(0, blob(b"own"));
        // Not yet expired: kept, still remembered.
        state.expire_replica_volatile_keys(50);
        assert!(state.keyspace.db(0).get(b"own").is_some());
        assert_eq!(state.replica_volatile_keys.len(), 1);
        state.expire_replica_volatile_keys(100);
        assert!(state.keyspace.db(0).get(b"own").is_none());
        assert!(state.keyspace.db(0).get(b"masters").is_some());
        assert_eq!(state.stats.expired_keys, 1);
        assert!(state.replica_volatile_keys.is_empty());
    }

    #[test]
    fn a_key_no_longer_volatile_is_forgotten_and_a_master_forgets_all() {
        let mut state = replica();
        state
            .keyspace
            .db_mut(0)
            .insert(b"persisted", Value::Str(blob(b"v")));
        state.replica_volatile_keys.remember(0, blob(b"persisted"));
        state.expire_replica_volatile_keys(1_000);
        assert!(state.keyspace.db(0).get(b"persisted").is_some());
        assert!(state.replica_volatile_keys.is_empty());
        state.replica_volatile_keys.remember(0, blob(b"x"));
        state.repl.master = None;
        state.expire_replica_volatile_keys(1_000);
        assert!(state.replica_volatile_keys.is_empty());
    }
}
