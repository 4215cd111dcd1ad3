//! Entry points for the coverage-guided fuzz targets in `fuzz/` (and the
//! property tests that share their invariants): a replica that has just
//! finished a full resync, fed raw replication-stream bytes through exactly
//! the function its link task uses.
//!
//! Not part of the supported API: hidden from the documentation and free to
//! change with the fuzz targets.

use std::time::Duration;

use bytes::BytesMut;

use crate::command::replication_cmds::set_master;
use crate::digest::{dataset_digest, Digest20};
use crate::replication::{replica::apply_stream, Backlog, LinkState};
use crate::resp::ArgvBuf;
use crate::server::{Client, ClientKind, Config, ServerState};

/// The Unix time, in ms, every stream is applied at (expiry decisions and
/// relative TTLs depend on it; a fixed one keeps runs reproducible).
pub const STREAM_NOW_MS: u64 = 1_700_000_000_000;

/// The replication offset the simulated full resync ended at.
pub const SYNC_OFFSET: u64 = 1000;

/// A replica in the state `load_rdb` and `stream_from_master` leave it in
/// after a full resync (empty dataset, offset [`SYNC_OFFSET`], a fresh
/// backlog, the master client registered), ready to apply the stream.
#[doc(hidden)]
pub struct ReplicaStream {
    state: ServerState,
    client_id: u64,
    buffer: BytesMut,
    argv: ArgvBuf,
    fed: u64,
    replies: Vec<u8>,
    /// The stream broke the protocol: the link is dropped, nothing more
    /// is applied.
    dropped: bool,
}

impl ReplicaStream {
    /// A replica of `127.0.0.1:6379` streaming in db 0.
    pub fn new() -> Self {
        let mut state = ServerState::new(Config::default(), 1, STREAM_NOW_MS, Duration::ZERO);
        set_master(&mut state, "127.0.0.1", 6379, true);
        state.control.clear();
        state.repl.replid = "8f0ba1a4bd1bb2d1a8a3e5fb3a81a0b4a1a9d4d4".to_string();
        state.repl.offset = SYNC_OFFSET;
        state.repl.second_repl_offset = -1;
        state.repl.stream_db = None;
        let backlog_size = state.config.repl_backlog_size as usize;
        state.repl.backlog = Some(Backlog::new(backlog_size, SYNC_OFFSET + 1));
        let client_id = state.next_client_id();
        let mut client = Client::new(
            client_id,
            "127.0.0.1:6379".to_string(),
            String::new(),
            Duration::ZERO,
            true,
        );
        client.is_master = true;
        client.kind = ClientKind::Master;
        state.clients.insert(client_id, client);
        if let Some(link) = state.repl.master.as_mut() {
            link.state = LinkState::Connected;
            link.client_id = Some(client_id);
            link.up_since = Some(Duration::ZERO);
        }
        ReplicaStream {
            state,
            client_id,
            buffer: BytesMut::new(),
            argv: ArgvBuf::default(),
            fed: 0,
            dropped: false,
            replies: Vec::new(),
        }
    }

    /// Appends `bytes` to the master connection's buffer and applies every
    /// whole command in it, as one read of the link does.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.dropped {
            return;
        }
        self.buffer.extend_from_slice(bytes);
        self.fed += bytes.len() as u64;
        self.dropped = apply_stream(
            &mut self.state,
            self.client_id,
            &mut self.buffer,
            &mut self.argv,
            &mut self.replies,
            STREAM_NOW_MS,
        )
        .is_err();
    }

    /// Whether the stream broke the protocol, so that the replica dropped
    /// its master link (Redis's "Master using the inline protocol.
    /// Desync?" and other protocol errors).
    pub fn dropped(&self) -> bool {
        self.dropped
    }

    /// Bytes fed so far.
    pub fn fed(&self) -> u64 {
        self.fed
    }

    /// The replica's replication offset (starts at [`SYNC_OFFSET`]).
    pub fn offset(&self) -> u64 {
        self.state.repl.offset
    }

    /// Bytes fed but not applied yet (an unfinished command or MULTI block,
    /// or bytes after a protocol error).
    pub fn pending(&self) -> usize {
        self.buffer.len()
    }

    /// The replies sent back to the master so far (GETACK answers).
    pub fn replies(&self) -> &[u8] {
        &self.replies
    }

    /// `DEBUG DIGEST` of the replica's dataset.
    pub fn digest(&self) -> Digest20 {
        dataset_digest(&self.state.keyspace)
    }

    /// The replica's whole state.
    pub fn state(&self) -> &ServerState {
        &self.state
    }
}

impl Default for ReplicaStream {
    fn default() -> Self {
        ReplicaStream::new()
    }
}
