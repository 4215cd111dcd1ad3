//! Clients blocked on keys (BLPOP, the other blocking pops, XREAD and
//! XREADGROUP with BLOCK): who waits
//! for which key, in the order they blocked, until when, and which keys a
//! command made ready.
//!
//! A blocked client stays in [`super::ServerState::clients`]; its
//! connection waits for its deadline, for its kill switch, or for its
//! `push_notify`, which fires when it is served or unblocked (its reply is
//! then in its pending pushes). Serving happens after each command, as
//! Redis's `handleClientsBlockedOnKeys` does after `call`: the keys the
//! command created (recorded by the keyspace while someone is blocked) are
//! ready, and their waiting clients are served first come, first served
//! (see `crate::command::blocking`).

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use indexmap::IndexSet;

use crate::keyspace::{blob, Blob, FixedHash};
use crate::resp::OwnedArgv;

/// What a blocked client waits for.
#[derive(Debug, Clone)]
pub struct BlockedClient {
    /// The db of its keys.
    pub db: usize,
    /// The keys, in the command's order.
    pub keys: Vec<Blob>,
    /// The command it runs once a key is ready.
    pub argv: OwnedArgv,
    /// When (monotonic) it times out; `None`: never (timeout 0).
    pub deadline: Option<Duration>,
    /// XREAD/XREADGROUP: per key, the ID entries must be above (the
    /// largest ID for XREADGROUP's `>`); empty for the other commands.
    pub stream_ids: Vec<crate::stream::StreamId>,
}

/// Every blocked client, by id and by key.
#[derive(Debug, Default)]
pub struct Blocking {
    clients: BTreeMap<u64, BlockedClient>,
    waiting: BTreeMap<(usize, Blob), VecDeque<u64>>,
    ready: IndexSet<(usize, Blob), FixedHash>,
}

impl Blocking {
    /// Clients blocked now (INFO `blocked_clients`).
    pub fn count(&self) -> usize {
        self.clients.len()
    }

    /// True when nobody is blocked.
    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    /// Whether client `id` is blocked.
    pub fn is_blocked(&self, id: u64) -> bool {
        self.clients.contains_key(&id)
    }

    /// What client `id` is blocked on.
    pub fn get(&self, id: u64) -> Option<&BlockedClient> {
        self.clients.get(&id)
    }

    /// Blocks client `id`; it queues behind the clients already waiting
    /// for each of its keys.
    pub fn block(&mut self, id: u64, blocked: BlockedClient) {
        for key in &blocked.keys {
            let queue = self.waiting.entry((blocked.db, key.clone())).or_default();
            if !queue.contains(&id) {
                queue.push_back(id);
            }
        }
        self.clients.insert(id, blocked);
    }

    /// Unblocks client `id` (served, timed out, unblocked, gone); returns
    /// what it was blocked on.
    pub fn unblock(&mut self, id: u64) -> Option<BlockedClient> {
        let blocked = self.clients.remove(&id)?;
        for key in &blocked.keys {
            let slot = (blocked.db, key.clone());
            if let Some(queue) = self.waiting.get_mut(&slot) {
                queue.retain(|&waiting| waiting != id);
                if queue.is_empty() {
                    self.waiting.remove(&slot);
                }
            }
        }
        Some(blocked)
    }

    /// Whether someone waits for `key` in `db`.
    pub fn is_waited_for(&self, db: usize, key: &[u8]) -> bool {
        self.waiting.contains_key(&(db, blob(key)))
    }

    /// The clients waiting for `key` in `db`, first blocked first.
    pub fn waiting_for(&self, db: usize, key: &[u8]) -> Vec<u64> {
        self.waiting
            .get(&(db, blob(key)))
            .map_or_else(Vec::new, |queue| queue.iter().copied().collect())
    }

    /// Every key someone waits for in `db`, in byte order.
    pub fn keys_in(&self, db: usize) -> Vec<Blob> {
        self.waiting
            .range((db, Blob::new())..)
            .take_while(|((key_db, _), _)| *key_db == db)
            .map(|((_, key), _)| key.clone())
            .collect()
    }

    /// Marks `key` in `db` ready when someone waits for it (Redis's
    /// `signalKeyAsReady`); a key is listed once, in the order it became
    /// ready.
    pub fn signal_ready(&mut self, db: usize, key: &[u8]) {
        if self.is_waited_for(db, key) {
            self.ready.insert((db, blob(key)));
        }
    }

    /// Takes the ready keys, in the order they became ready.
    pub fn take_ready(&mut self) -> Vec<(usize, Blob)> {
        std::mem::take(&mut self.ready).into_iter().collect()
    }

    /// Ids of every blocked client, in id order.
    pub fn blocked_ids(&self) -> Vec<u64> {
        self.clients.keys().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocked(keys: &[&str]) -> BlockedClient {
        BlockedClient {
            db: 0,
            keys: keys.iter().map(|k| blob(k.as_bytes())).collect(),
            argv: OwnedArgv::from_args(&[b"BLPOP"]),
            deadline: None,
            stream_ids: Vec::new(),
        }
    }

    #[test]
    fn clients_wait_for_a_key_in_the_order_they_blocked() {
        let mut blocking = Blocking::default();
        blocking.block(7, blocked(&["a", "b"]));
        blocking.block(3, blocked(&["b"]));
        blocking.block(5, blocked(&["b", "a"]));
        assert_eq!(blocking.waiting_for(0, b"b"), vec![7, 3, 5]);
        assert_eq!(blocking.waiting_for(0, b"a"), vec![7, 5]);
        blocking.unblock(3);
        assert_eq!(blocking.waiting_for(0, b"b"), vec![7, 5]);
        blocking.unblock(7);
        blocking.unblock(5);
        assert!(blocking.is_empty());
        assert!(!blocking.is_waited_for(0, b"a"));
    }

    #[test]
    fn only_waited_for_keys_become_ready_once_each_in_order() {
        let mut blocking = Blocking::default();
        blocking.block(1, blocked(&["a", "b"]));
        blocking.signal_ready(0, b"b");
        blocking.signal_ready(0, b"zzz");
        blocking.signal_ready(0, b"a");
        blocking.signal_ready(0, b"b");
        let ready: Vec<Vec<u8>> = blocking
            .take_ready()
            .into_iter()
            .map(|(_, key)| key.to_vec())
            .collect();
        assert_eq!(ready, vec![b"b".to_vec(), b"a".to_vec()]);
        assert!(blocking.take_ready().is_empty());
    }
}
