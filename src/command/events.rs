//! What a command's changes tell others: keyspace events (published as
//! the command runs, with the `new` events of the keys it added first) and
//! the keys it created, which wake clients blocked on them once it
//! completes.

use super::{CommandSpec, Ctx};
use crate::keyspace::DB_COUNT;
use crate::server::pubsub::{notify, Publisher};

/// Which key recordings a command runs with (see
/// [`Ctx::start_recording_keys`]).
pub(super) struct Recording {
    new_keys: bool,
    created_keys: bool,
    replica_volatile_keys: bool,
}

impl Ctx<'_> {
    /// Publishes keyspace event `event` of `class` for `key` in the
    /// client's db (see [`ServerState::notify_keyspace_event`]).
    pub fn notify(&mut self, class: u32, event: &str, key: &[u8]) {
        let db = self.client.db;
        self.notify_in(db, class, event, key);
    }

    /// [`notify`](Self::notify) for a key of db `db` (MOVE, COPY).
    pub fn notify_in(&mut self, db: usize, class: u32, event: &str, key: &[u8]) {
        self.publish_new_keys();
        if self.state.config.notify_keyspace_events & class == 0 {
            return;
        }
        self.state.notify_keyspace_event(
            class,
            event,
            key,
            db,
            Some(Publisher {
                client: &mut *self.client,
                out: &mut *self.out,
            }),
        );
    }

    /// Publishes the `new` event of each key the command added so far
    /// (recorded while `notify-keyspace-events` has `n`), ahead of the
    /// command's own events, as Redis's `dbAdd` publishes it when the key
    /// is added.
    fn publish_new_keys(&mut self) {
        if !self.recording_new_keys {
            return;
        }
        for db in 0..DB_COUNT {
            for key in self.state.keyspace.db_mut(db).take_added() {
                self.state.notify_keyspace_event(
                    notify::NEW,
                    "new",
                    &key,
                    db,
                    Some(Publisher {
                        client: &mut *self.client,
                        out: &mut *self.out,
                    }),
                );
            }
        }
    }

    /// Turns recording of added keys on or off in every db.
    fn record_new_keys(&mut self, on: bool) {
        self.recording_new_keys = on;
        for db in 0..DB_COUNT {
            self.state.keyspace.db_mut(db).record_added(on);
        }
    }

    /// Starts recording the keys a write adds: for `new` events when
    /// `notify-keyspace-events` has `n`, and for blocked clients when any
    /// are waiting.
    pub(super) fn start_recording_keys(&mut self, spec: &CommandSpec) -> Recording {
        let write = spec.is_write();
        let recording = Recording {
            new_keys: write && self.state.config.notify_keyspace_events & notify::NEW != 0,
            created_keys: write && !self.state.blocking.is_empty(),
            replica_volatile_keys: write && !self.client.is_master && self.state.is_replica(),
        };
        if recording.replica_volatile_keys {
            for db in 0..DB_COUNT {
                self.state.keyspace.db_mut(db).record_expiring(true);
            }
        }
        if recording.new_keys {
            self.record_new_keys(true);
        }
        if recording.created_keys {
            for db in 0..DB_COUNT {
                self.state.keyspace.db_mut(db).record_created(true);
            }
        }
        recording
    }

    /// Publishes the `new` events still pending and marks the keys the
    /// command created ready for the clients blocked on them, in the order
    /// they were created.
    pub(super) fn finish_recording_keys(&mut self, recording: Recording) {
        if recording.new_keys {
            self.publish_new_keys();
            self.record_new_keys(false);
        }
        if recording.replica_volatile_keys {
            for db in 0..DB_COUNT {
                for key in self.state.keyspace.db_mut(db).take_expiring() {
                    self.state.replica_volatile_keys.remember(db, key);
                }
                self.state.keyspace.db_mut(db).record_expiring(false);
            }
        }
        if recording.created_keys {
            for db in 0..DB_COUNT {
                for key in self.state.keyspace.db_mut(db).take_created() {
                    self.state.blocking.signal_ready(db, &key);
                }
                self.state.keyspace.db_mut(db).record_created(false);
            }
        }
    }
}
