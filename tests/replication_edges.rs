//! Replication behaviours at the edges, each proven on its own:
//!
//! - a replica fed a corrupt RDB keeps its dataset and retries; `$EOF:`
//!   framing with a zero checksum is accepted with Redis's warning;
//! - legacy `SYNC` both ways (replsim master to a raw client, replsim
//!   replica falling back after a `-ERR` to PSYNC);
//! - INFO replication field names and ROLE reply shapes equal a real Redis
//!   7.0 pair's, linked and with the master gone;
//! - `REPLCONF GETACK *` answered at once with the offset before it;
//! - in madsim: `repl-timeout` on both sides of a paused replica, the
//!   replica output-buffer limit, and `repl-backlog-ttl`.
//!
//! Fake masters are small std::net servers on loopback written here; the
//! RDBs they send come from `tests/data/rdb/` (copies of the captures of a
//! real 7.0.15) or from `replsim::rdb::encode`.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{digest, info_field, start_redis, wait_in_sync, wait_until, Client, ReplsimProcess};
use replsim::digest::{dataset_digest, to_hex};
use replsim::keyspace::{blob, Keyspace, Value};
use replsim::rdb::{self, RdbInfo};
use replsim::resp::Frame;

// ---------------------------------------------------------------------------
// Fake peers on real TCP.
// ---------------------------------------------------------------------------

/// The replication id the fake masters announce.
const FAKE_REPLID: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

/// What a fake master streams after the RDB in the captures: `SELECT 0`,
/// `SET fromstream 1`, `PING` (74 bytes).
const CAPTURE_STREAM: &[u8] = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$10\r\nfromstream\r\n$1\r\n1\r\n*1\r\n$4\r\nPING\r\n";

/// `REPLCONF GETACK *` as a master sends it (37 bytes).
const GETACK: &[u8] = b"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n";

/// A file of `tests/data/rdb/`.
fn rdb_file(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/rdb/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A keyspace of string keys in db 0.
fn string_keyspace(pairs: &[(&str, &str)]) -> Keyspace {
    let mut keyspace = Keyspace::new();
    for (key, value) in pairs {
        keyspace
            .db_mut(0)
            .insert(key.as_bytes(), Value::Str(blob(value.as_bytes())));
    }
    keyspace
}

/// `+FULLRESYNC <FAKE_REPLID> <offset>` then a disk-style `$<len>` payload.
fn fullresync_with_bulk(offset: u64, declared_len: usize, payload: &[u8]) -> Vec<u8> {
    let mut bytes =
        format!("+FULLRESYNC {FAKE_REPLID} {offset}\r\n${declared_len}\r\n").into_bytes();
    bytes.extend_from_slice(payload);
    bytes
}

/// One TCP connection seen from the fake side: reads what the other end
/// sends (commands, lines, raw bytes) with deadlines.
struct Peer {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Peer {
    fn new(stream: TcpStream) -> Peer {
        stream.set_nonblocking(false).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        stream.set_nodelay(true).unwrap();
        Peer {
            stream,
            buffer: Vec::new(),
        }
    }

    /// Accepts the next connection on `listener` within `secs` seconds.
    fn accept(listener: &TcpListener, secs: u64) -> Peer {
        listener.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            match listener.accept() {
                Ok((stream, _)) => return Peer::new(stream),
                Err(e) if e.kind() == ErrorKind::WouldBlock && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => panic!("no connection within {secs}s: {e}"),
            }
        }
    }

    fn connect(port: u16) -> Peer {
        Peer::new(TcpStream::connect(("127.0.0.1", port)).expect("connect"))
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("fake peer write");
    }

    /// Reads more bytes. `Some(false)` on EOF, `None` when nothing came in
    /// the short poll interval.
    fn fill(&mut self) -> Option<bool> {
        let mut chunk = [0u8; 65536];
        match self.stream.read(&mut chunk) {
            Ok(0) => Some(false),
            Ok(n) => {
                self.buffer.extend_from_slice(&chunk[..n]);
                Some(true)
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => None,
            Err(_) => Some(false),
        }
    }

    /// The next command the other end sent, multibulk or inline; bare
    /// newlines are skipped. `None` on EOF or after `timeout`.
    fn next_command(&mut self, timeout: Duration) -> Option<Vec<String>> {
        let deadline = Instant::now() + timeout;
        loop {
            while self.buffer.first() == Some(&b'\n') {
                self.buffer.remove(0);
            }
            if self.buffer.first() == Some(&b'*') {
                if let Ok((frame, used)) = Frame::parse(&self.buffer) {
                    self.buffer.drain(..used);
                    let Frame::Array(Some(items)) = frame else {
                        panic!("not a command: {frame:?}");
                    };
                    return Some(
                        items
                            .into_iter()
                            .map(|item| match item {
                                Frame::Bulk(Some(b)) => String::from_utf8_lossy(&b).into_owned(),
                                other => panic!("not a bulk argument: {other:?}"),
                            })
                            .collect(),
                    );
                }
            } else if let Some(end) = self.buffer.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&self.buffer[..end]).into_owned();
                self.buffer.drain(..end + 2);
                return Some(line.split_whitespace().map(String::from).collect());
            }
            if Instant::now() >= deadline || self.fill() == Some(false) {
                return None;
            }
        }
    }

    /// One `\r\n`-terminated line (without it).
    fn read_line(&mut self, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(end) = self.buffer.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&self.buffer[..end]).into_owned();
                self.buffer.drain(..end + 2);
                return Some(line);
            }
            if Instant::now() >= deadline || self.fill() == Some(false) {
                return None;
            }
        }
    }

    /// Exactly `len` bytes.
    fn read_exact(&mut self, len: usize, timeout: Duration) -> Option<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        while self.buffer.len() < len {
            if Instant::now() >= deadline || self.fill() == Some(false) {
                return None;
            }
        }
        Some(self.buffer.drain(..len).collect())
    }

    /// Everything the other end sends during `duration`.
    fn collect_for(&mut self, duration: Duration) -> Vec<u8> {
        let deadline = Instant::now() + duration;
        while Instant::now() < deadline {
            if self.fill() == Some(false) {
                break;
            }
        }
        std::mem::take(&mut self.buffer)
    }

    /// True once the other end closed the connection within `secs`.
    fn closed_within(&mut self, secs: u64) -> bool {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if self.fill() == Some(false) {
                return true;
            }
        }
        false
    }

    /// Plays a master's side of the handshake: `+PONG` to PING, `+OK` to
    /// AUTH and REPLCONF; returns the PSYNC (or SYNC) command.
    fn answer_handshake(&mut self) -> Vec<String> {
        loop {
            let cmd = self
                .next_command(Duration::from_secs(10))
                .expect("the replica went away during the handshake");
            match cmd[0].to_ascii_uppercase().as_str() {
                "PING" => self.send(b"+PONG\r\n"),
                "AUTH" | "REPLCONF" => self.send(b"+OK\r\n"),
                "PSYNC" | "SYNC" => return cmd,
                other => panic!("unexpected command in the handshake: {other}"),
            }
        }
    }

    /// Waits for the next `REPLCONF ACK <offset>` and returns the offset.
    fn next_ack(&mut self, timeout: Duration) -> Option<u64> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let cmd = self.next_command(left)?;
            if cmd.len() == 3
                && cmd[0].eq_ignore_ascii_case("REPLCONF")
                && cmd[1].eq_ignore_ascii_case("ACK")
            {
                return Some(cmd[2].parse().expect("ACK offset"));
            }
        }
    }
}

/// A fake master on a loopback port, run by `script` on its own thread.
struct FakeMaster<T> {
    port: u16,
    thread: Option<std::thread::JoinHandle<T>>,
}

impl<T: Send + 'static> FakeMaster<T> {
    fn start(script: impl FnOnce(TcpListener) -> T + Send + 'static) -> FakeMaster<T> {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        FakeMaster {
            port,
            thread: Some(std::thread::spawn(move || script(listener))),
        }
    }

    /// Waits for the script and returns its result (its panic, if any).
    fn finish(mut self) -> T {
        match self.thread.take().unwrap().join() {
            Ok(value) => value,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

/// Receives the fake master's next report; if the fake master died, its
/// panic is surfaced instead.
fn report<T, U: Send + 'static>(rx: &mpsc::Receiver<T>, fake: &mut FakeMaster<U>) -> T {
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(value) => value,
        Err(_) => {
            if let Some(thread) = fake.thread.take() {
                if let Err(panic) = thread.join() {
                    std::panic::resume_unwind(panic);
                }
            }
            panic!("the fake master stopped reporting");
        }
    }
}

fn get(port: u16, key: &str) -> Frame {
    Client::connect(port).cmd(&["GET", key])
}

fn bulk(text: &str) -> Frame {
    Frame::Bulk(Some(text.as_bytes().to_vec()))
}

fn replicaof(replica: u16, master: u16) {
    let reply = Client::connect(replica).cmd(&["REPLICAOF", "127.0.0.1", &master.to_string()]);
    assert_eq!(reply, Frame::Simple("OK".into()));
}

// ---------------------------------------------------------------------------
// 1. Corrupt RDB from the master; $EOF framing with checksum 0.
// ---------------------------------------------------------------------------

#[test]
fn corrupt_rdb_from_master_keeps_the_old_dataset_and_the_replica_retries() {
    corrupt_rdbs_keep_the_old_dataset("disabled", "disk");
}

#[test]
fn corrupt_rdb_parsed_from_the_socket_keeps_the_old_dataset_and_the_replica_retries() {
    // `repl-diskless-load swapdb` parses the payload as it arrives: a bad
    // one fails as the file would, and Redis names the socket.
    corrupt_rdbs_keep_the_old_dataset("swapdb", "socket");
}

/// Three broken full syncs, then a good one, with `repl-diskless-load
/// mode`: each broken one keeps the old dataset and the replica retries;
/// the log says the load failed from `source`.
fn corrupt_rdbs_keep_the_old_dataset(mode: &str, source: &str) {
    let setting = format!("repl-diskless-load={mode}");
    let replica = ReplsimProcess::start(
        &format!("edges-corrupt-rdb-{mode}"),
        &["--config", &setting],
    );
    {
        let mut c = Client::connect(replica.port);
        c.cmd(&["SET", "before", "kept"]);
        c.cmd(&["RPUSH", "before-list", "a", "b", "c"]);
        c.cmd(&["SELECT", "3"]);
        c.cmd(&["SADD", "before-set", "x", "y"]);
    }
    let before = digest(replica.port);

    let good = string_keyspace(&[("fresh", "1"), ("other", "two")]);
    let good_rdb = rdb::encode(&good, &RdbInfo::default());
    let expected = to_hex(&dataset_digest(&good));

    // Each broken attempt: what is sent, whether the fake master hangs up
    // right away, and what the replica's log must then say.
    let bad_crc = rdb_file("fakemaster_badcrc.sent.rdb");
    let half = good_rdb.len() / 2;
    let attempts: Vec<(Vec<u8>, bool, &'static str)> = vec![
        // The capture's RDB, whose CRC is off by one.
        (
            fullresync_with_bulk(100, bad_crc.len(), &bad_crc),
            false,
            "wrong RDB checksum",
        ),
        // A complete `$<len>` payload holding half an RDB.
        (
            fullresync_with_bulk(100, half, &good_rdb[..half]),
            false,
            "RDB truncated",
        ),
        // The transfer cut short: the master closes mid-payload.
        (
            fullresync_with_bulk(100, good_rdb.len(), &good_rdb[..half]),
            true,
            "I/O error trying to sync with MASTER: connection lost",
        ),
    ];
    let (report_tx, reports) = mpsc::channel::<&'static str>();
    let (go_tx, go) = mpsc::channel::<()>();
    let final_rdb = good_rdb.clone();
    let mut fake = FakeMaster::start(move |listener| {
        for (bytes, close_early, what) in attempts {
            // A new connection for every attempt proves the retry.
            let mut peer = Peer::accept(&listener, 15);
            peer.answer_handshake();
            peer.send(&bytes);
            if !close_early {
                assert!(
                    peer.closed_within(10),
                    "the replica did not give up after: {what}"
                );
            }
            drop(peer);
            report_tx.send(what).unwrap();
            go.recv().unwrap();
        }
        let mut peer = Peer::accept(&listener, 15);
        peer.answer_handshake();
        peer.send(&fullresync_with_bulk(100, final_rdb.len(), &final_rdb));
        report_tx.send("valid").unwrap();
        // Hold the link until the test is done with it.
        let _ = go.recv();
    });

    replicaof(replica.port, fake.port);
    for _ in 0..3 {
        let what = report(&reports, &mut fake);
        wait_until(10, &format!("the log to report: {what}"), || {
            replica.log().contains(what)
        });
        assert_eq!(
            digest(replica.port),
            before,
            "the dataset changed after: {what}\n{}",
            replica.log()
        );
        assert_eq!(get(replica.port, "before"), bulk("kept"));
        assert_eq!(
            info_field(replica.port, "master_link_status").as_deref(),
            Some("down")
        );
        go_tx.send(()).unwrap();
    }
    assert_eq!(report(&reports, &mut fake), "valid");
    wait_until(10, "the valid RDB to be loaded", || {
        digest(replica.port) == expected
    });
    assert_eq!(get(replica.port, "before"), Frame::Bulk(None));
    assert_eq!(get(replica.port, "fresh"), bulk("1"));
    assert_eq!(
        info_field(replica.port, "master_link_status").as_deref(),
        Some("up")
    );
    let log = replica.log();
    assert!(
        log.contains(&format!(
            "Failed trying to load the MASTER synchronization DB from {source}"
        )),
        "{log}"
    );
    go_tx.send(()).unwrap();
    fake.finish();
}

#[test]
fn eof_framed_rdb_with_zero_checksum_is_accepted_with_a_warning() {
    let replica = ReplsimProcess::start("edges-eof-zero-crc", &[]);
    Client::connect(replica.port).cmd(&["SET", "old", "gone"]);
    let rdb_zero_crc = rdb_file("fakemaster_eof_zerocrc.sent.rdb");
    assert_eq!(&rdb_zero_crc[rdb_zero_crc.len() - 8..], &[0u8; 8]);
    let fake = FakeMaster::start(move |listener| {
        let mut peer = Peer::accept(&listener, 15);
        peer.answer_handshake();
        let mark = "0123456789abcdef0123456789abcdef01234567";
        let mut bytes = format!("+FULLRESYNC {FAKE_REPLID} 100\r\n$EOF:{mark}\r\n").into_bytes();
        bytes.extend_from_slice(&rdb_zero_crc);
        bytes.extend_from_slice(mark.as_bytes());
        peer.send(&bytes);
        // A real replica ACKs right after loading an EOF-framed payload.
        let first_ack = peer.next_ack(Duration::from_secs(10));
        peer.send(CAPTURE_STREAM);
        let later_ack = loop {
            match peer.next_ack(Duration::from_secs(5)) {
                Some(174) => break Some(174),
                Some(_) => continue,
                None => break None,
            }
        };
        (first_ack, later_ack)
    });
    replicaof(replica.port, fake.port);
    let (first_ack, later_ack) = fake.finish();
    assert_eq!(first_ack, Some(100), "ACK after loading");
    assert_eq!(later_ack, Some(174), "ACK after the stream");
    assert_eq!(get(replica.port, "str"), bulk("hello"));
    assert_eq!(get(replica.port, "fromstream"), bulk("1"));
    assert_eq!(get(replica.port, "old"), Frame::Bulk(None));
    let log = replica.log();
    assert!(
        log.contains("# RDB file was saved with checksum disabled: no check performed."),
        "{log}"
    );
    assert!(
        log.contains(
            "MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to disk"
        ),
        "{log}"
    );
}

// ---------------------------------------------------------------------------
// 2. Legacy SYNC, both directions.
// ---------------------------------------------------------------------------

#[test]
fn inline_sync_to_a_replsim_master_gets_a_bare_rdb_then_the_stream() {
    let master = ReplsimProcess::start("edges-legacy-master", &[]);
    {
        let mut c = Client::connect(master.port);
        c.cmd(&["SET", "k1", "v1"]);
        c.cmd(&["HSET", "h", "f", "v"]);
        c.cmd(&["SELECT", "2"]);
        c.cmd(&["RPUSH", "l", "1", "2"]);
    }
    let mut sync = Peer::connect(master.port);
    sync.send(b"SYNC\r\n");
    let header = sync
        .read_line(Duration::from_secs(10))
        .expect("a reply to SYNC");
    let len: usize = header
        .strip_prefix('$')
        .and_then(|l| l.parse().ok())
        .unwrap_or_else(|| panic!("SYNC must be answered by $<len> alone, got {header:?}"));
    let payload = sync
        .read_exact(len, Duration::from_secs(10))
        .expect("the RDB payload");
    let loaded = rdb::decode(&payload).expect("the payload is a valid RDB");
    assert_eq!(
        to_hex(&dataset_digest(&loaded.keyspace)),
        digest(master.port)
    );

    Client::connect(master.port).cmd(&["SET", "later", "1"]);
    let mut commands = Vec::new();
    while commands.len() < 2 {
        let cmd = sync
            .next_command(Duration::from_secs(10))
            .expect("the write to arrive in the stream");
        // The master's periodic PING may come first.
        if !cmd[0].eq_ignore_ascii_case("ping") {
            commands.push(cmd);
        }
    }
    assert_eq!(
        commands,
        vec![vec!["SELECT", "0"], vec!["SET", "later", "1"]]
    );

    assert_eq!(
        info_field(master.port, "connected_slaves").as_deref(),
        Some("1")
    );
    let slave0 = info_field(master.port, "slave0").unwrap_or_default();
    assert!(
        slave0.starts_with("ip=127.0.0.1,port=0,state=online,"),
        "{slave0}"
    );
}

#[test]
fn replica_falls_back_to_inline_sync_when_psync_is_refused_and_never_acks() {
    let replica = ReplsimProcess::start("edges-legacy-replica", &[]);
    let capture_rdb = rdb_file("fakemaster_full_then_continue.sent.rdb");
    let (report_tx, reports) = mpsc::channel::<Vec<u8>>();
    let (go_tx, go) = mpsc::channel::<()>();
    let mut fake = FakeMaster::start(move |listener| {
        let mut peer = Peer::accept(&listener, 15);
        let psync = peer.answer_handshake();
        assert_eq!(psync[0], "PSYNC");
        peer.send(b"-ERR unknown command 'PSYNC'\r\n");
        // The fallback comes inline, on the same connection.
        peer.buffer.clear();
        let sync_line = peer.read_line(Duration::from_secs(10));
        assert_eq!(sync_line.as_deref(), Some("SYNC"));
        let mut bytes = format!("${}\r\n", capture_rdb.len()).into_bytes();
        bytes.extend_from_slice(&capture_rdb);
        bytes.extend_from_slice(CAPTURE_STREAM);
        peer.send(&bytes);
        report_tx
            .send(peer.collect_for(Duration::from_millis(1500)))
            .unwrap();
        go.recv().unwrap();
        // A GETACK is still answered (the real replica of the capture
        // does too).
        peer.send(GETACK);
        peer.next_ack(Duration::from_secs(5))
    });
    replicaof(replica.port, fake.port);
    let sent_after_load = report(&reports, &mut fake);
    assert!(
        !String::from_utf8_lossy(&sent_after_load).contains("ACK"),
        "a SYNC replica sent ACKs: {:?}",
        String::from_utf8_lossy(&sent_after_load)
    );
    assert_eq!(get(replica.port, "str"), bulk("hello"));
    assert_eq!(get(replica.port, "fromstream"), bulk("1"));
    assert_eq!(
        info_field(replica.port, "master_link_status").as_deref(),
        Some("up")
    );
    // Redis counts a legacy SYNC's offsets from -1: INFO and the ACK say
    // one less than the stream bytes applied.
    let applied = CAPTURE_STREAM.len() as i64;
    assert_eq!(
        info_field(replica.port, "slave_repl_offset"),
        Some((applied - 1).to_string())
    );
    go_tx.send(()).unwrap();
    assert_eq!(
        fake.finish(),
        Some(applied as u64 - 1),
        "GETACK answered with Redis's offset"
    );
    let log = replica.log();
    assert!(log.contains("Retrying with SYNC..."), "{log}");
}

// ---------------------------------------------------------------------------
// 3. INFO replication and ROLE against a real pair.
// ---------------------------------------------------------------------------

/// The field names of INFO replication, in order.
fn info_replication_names(port: u16) -> Vec<String> {
    let Frame::Bulk(Some(text)) = Client::connect(port).cmd(&["INFO", "replication"]) else {
        panic!("INFO replied with no bulk");
    };
    String::from_utf8_lossy(&text)
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split(':').next().unwrap().to_string())
        .collect()
}

/// The types of a reply, e.g. `[bulk,int,[[bulk,bulk,bulk]]]`.
fn shape(frame: &Frame) -> String {
    match frame {
        Frame::Simple(_) => "simple".into(),
        Frame::Error(_) => "error".into(),
        Frame::Integer(_) => "int".into(),
        Frame::Bulk(_) => "bulk".into(),
        Frame::Array(None) => "nil-array".into(),
        Frame::Array(Some(items)) => {
            format!(
                "[{}]",
                items.iter().map(shape).collect::<Vec<_>>().join(",")
            )
        }
        other => panic!("a RESP2 connection got a RESP3 frame: {other:?}"),
    }
}

fn role(port: u16) -> Frame {
    Client::connect(port).cmd(&["ROLE"])
}

fn role_item(frame: &Frame, index: usize) -> Frame {
    match frame {
        Frame::Array(Some(items)) => items[index].clone(),
        other => panic!("ROLE replied {other:?}"),
    }
}

/// Waits until the master lists one replica as online.
fn wait_replica_online(master: u16) {
    wait_until(30, &format!("an online replica on {master}"), || {
        info_field(master, "slave0").is_some_and(|s| s.contains("state=online"))
    });
}

#[test]
fn info_replication_fields_and_role_shapes_match_real_redis() {
    let Some(real_master) = start_redis("edges-info-master", &["--repl-diskless-sync-delay", "0"])
    else {
        return;
    };
    let Some(real_replica) = start_redis(
        "edges-info-replica",
        &["--replicaof", "127.0.0.1", &real_master.port.to_string()],
    ) else {
        return;
    };
    let mut sim_master = ReplsimProcess::start(
        "edges-info-master",
        &["--config", "repl-diskless-sync-delay=0"],
    );
    let sim_replica = ReplsimProcess::start("edges-info-replica", &[]);
    replicaof(sim_replica.port, sim_master.port);
    for master in [real_master.port, sim_master.port] {
        Client::connect(master).cmd(&["SET", "k", "v"]);
    }
    wait_in_sync(real_master.port, real_replica.port);
    wait_in_sync(sim_master.port, sim_replica.port);
    wait_replica_online(real_master.port);
    wait_replica_online(sim_master.port);

    assert_eq!(
        info_replication_names(sim_master.port),
        info_replication_names(real_master.port),
        "master INFO replication fields"
    );
    assert_eq!(
        info_replication_names(sim_replica.port),
        info_replication_names(real_replica.port),
        "replica INFO replication fields"
    );

    let (sim_role, real_role) = (role(sim_master.port), role(real_master.port));
    assert_eq!(shape(&real_role), "[bulk,int,[[bulk,bulk,bulk]]]");
    assert_eq!(shape(&sim_role), shape(&real_role), "{sim_role:?}");
    assert_eq!(role_item(&sim_role, 0), bulk("master"));
    let Frame::Array(Some(replicas)) = role_item(&sim_role, 2) else {
        unreachable!()
    };
    let Frame::Array(Some(entry)) = &replicas[0] else {
        unreachable!()
    };
    assert_eq!(entry[0], bulk("127.0.0.1"));
    assert_eq!(entry[1], bulk(&sim_replica.port.to_string()));

    let (sim_role, real_role) = (role(sim_replica.port), role(real_replica.port));
    assert_eq!(shape(&real_role), "[bulk,bulk,int,bulk,int]");
    assert_eq!(shape(&sim_role), shape(&real_role), "{sim_role:?}");
    assert_eq!(role_item(&sim_role, 0), bulk("slave"));
    assert_eq!(role_item(&sim_role, 1), bulk("127.0.0.1"));
    assert_eq!(
        role_item(&sim_role, 2),
        Frame::Integer(i64::from(sim_master.port))
    );
    assert_eq!(role_item(&sim_role, 3), bulk("connected"));

    // The masters go away: the replicas report the link down.
    let real_replica_port = real_replica.port;
    drop(real_master);
    sim_master.stop();
    for port in [real_replica_port, sim_replica.port] {
        wait_until(10, &format!("link down on {port}"), || {
            info_field(port, "master_link_status").as_deref() == Some("down")
        });
    }
    let sim_names = info_replication_names(sim_replica.port);
    assert_eq!(
        sim_names,
        info_replication_names(real_replica_port),
        "replica INFO replication fields with the link down"
    );
    assert!(sim_names
        .iter()
        .any(|n| n == "master_link_down_since_seconds"));
    assert_eq!(
        shape(&role(sim_replica.port)),
        shape(&role(real_replica_port)),
        "replica ROLE with the link down"
    );
    drop(real_replica);
}

// ---------------------------------------------------------------------------
// 7. REPLCONF GETACK.
// ---------------------------------------------------------------------------

#[test]
fn getack_is_answered_at_once_with_the_offset_before_it() {
    let replica = ReplsimProcess::start("edges-getack", &[]);
    let capture_rdb = rdb_file("fakemaster_full_then_continue.sent.rdb");
    let fake = FakeMaster::start(move |listener| {
        let mut peer = Peer::accept(&listener, 15);
        peer.answer_handshake();
        let mut bytes = fullresync_with_bulk(100, capture_rdb.len(), &capture_rdb);
        bytes.extend_from_slice(CAPTURE_STREAM);
        peer.send(&bytes);
        // Periodic ACKs until the stream is applied (174, as in the capture).
        let deadline = Instant::now() + Duration::from_secs(10);
        while peer.next_ack(Duration::from_secs(3)) != Some(174) {
            assert!(Instant::now() < deadline, "no ACK 174");
        }
        // Just after a periodic ACK the next one is a second away: an ACK
        // within 400 ms answers the GETACK.
        peer.send(GETACK);
        let asked = Instant::now();
        let answer = peer.next_ack(Duration::from_secs(2));
        let delay = asked.elapsed();
        let next_periodic = peer.next_ack(Duration::from_secs(3));
        (answer, delay, next_periodic)
    });
    replicaof(replica.port, fake.port);
    let (answer, delay, next_periodic) = fake.finish();
    assert_eq!(
        answer,
        Some(174),
        "GETACK answered with the offset before it"
    );
    assert!(
        delay < Duration::from_millis(400),
        "answered after {delay:?}"
    );
    assert_eq!(next_periodic, Some(211), "174 + the 37 bytes of GETACK");
}

// ---------------------------------------------------------------------------
// 4, 5, 6. Timing behaviours in madsim.
// ---------------------------------------------------------------------------

#[cfg(madsim)]
mod sim {
    use std::future::Future;
    use std::net::IpAddr;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use replsim::digest::{dataset_digest, to_hex};
    use replsim::log::{LogSink, SharedSimLog, SimLog};
    use replsim::replication::LinkState;
    use replsim::resp::{encode_command, Frame};
    use replsim::runtime::{MemStorage, Runtime, SimNet, SimRuntime, Storage};
    use replsim::server::{Config, Server};

    type Slot<R> = Arc<Mutex<Option<Server<R>>>>;

    /// A node of the simulation: its madsim id and its server.
    struct Node<R: Runtime> {
        id: madsim::task::NodeId,
        server: Slot<R>,
    }

    impl<R: Runtime> Node<R> {
        fn server(&self) -> Server<R> {
            self.server.lock().unwrap().clone().expect("node started")
        }

        /// Dataset digest and replication offset.
        fn digest_and_offset(&self) -> (String, u64) {
            let server = self.server();
            let state = server.state();
            (to_hex(&dataset_digest(&state.keyspace)), state.repl.offset)
        }

        fn link_up(&self) -> bool {
            let server = self.server();
            let state = server.state();
            state
                .repl
                .master
                .as_ref()
                .is_some_and(|m| m.state == LinkState::Connected)
        }

        fn replica_count(&self) -> usize {
            self.server().state().repl.replicas.len()
        }

        /// Bytes waiting in the output buffers of this node's replicas.
        fn replica_output_bytes(&self) -> usize {
            let server = self.server();
            let state = server.state();
            state.repl.replicas.values().map(|r| r.output.len()).sum()
        }
    }

    /// The config of a simulated node on port 6379.
    fn node_config(master_ip: Option<&str>) -> Config {
        Config {
            bind: "0.0.0.0".into(),
            port: 6379,
            replicaof: master_ip.map(|ip| (ip.to_string(), 6379)),
            repl_diskless_sync_delay: 0,
            ..Config::default()
        }
    }

    /// Starts a node running `config` on the runtime `make_runtime` builds
    /// (called inside the node, with the node's name).
    fn spawn_node<R: Runtime>(
        name: &str,
        ip: &str,
        config: Config,
        make_runtime: impl Fn(&str) -> R + Send + Sync + 'static,
    ) -> Node<R> {
        let slot: Slot<R> = Arc::new(Mutex::new(None));
        let node_slot = slot.clone();
        let node_name = name.to_string();
        let node = madsim::runtime::Handle::current()
            .create_node()
            .name(name)
            .ip(ip.parse::<IpAddr>().unwrap())
            .init(move || {
                let server = Server::new(make_runtime(&node_name), config.clone());
                *node_slot.lock().unwrap() = Some(server.clone());
                async move {
                    server.run().await.unwrap();
                }
            })
            .build();
        Node {
            id: node.id(),
            server: slot,
        }
    }

    fn node_logger(name: &str, log: &SharedSimLog) -> Arc<dyn LogSink> {
        Arc::new(SimLog::new(name, log.clone(), SimRuntime::elapsed_ms))
    }

    /// Plain simulated runtimes (unbounded socket buffers).
    fn sim_runtimes(log: SharedSimLog, seed: u64) -> impl Fn(&str) -> SimRuntime + Send + Sync {
        move |name| {
            SimRuntime::new(
                name,
                seed,
                Arc::new(MemStorage::default()),
                node_logger(name, &log),
                Arc::default(),
            )
        }
    }

    /// Runs `test` as the task of a client node (10.0.0.9) in a fresh
    /// simulation seeded with `seed`.
    fn simulate<F, Fut>(seed: u64, test: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        std::thread::spawn(move || {
            let runtime =
                madsim::runtime::Runtime::with_seed_and_config(seed, madsim::Config::default());
            runtime.block_on(async move {
                let client = madsim::runtime::Handle::current()
                    .create_node()
                    .name("client")
                    .ip("10.0.0.9".parse().unwrap())
                    .build();
                client.spawn(test()).await.unwrap();
            })
        })
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }

    fn log_text(log: &SharedSimLog) -> String {
        log.lock()
            .unwrap()
            .iter()
            .map(|l| l.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Simulated ms of the first log line containing `text` (after `from` ms).
    fn logged_at(log: &SharedSimLog, text: &str, from: u64) -> Option<u64> {
        log.lock()
            .unwrap()
            .iter()
            .find(|l| l.elapsed_ms >= from && l.to_string().contains(text))
            .map(|l| l.elapsed_ms)
    }

    fn now_ms() -> u64 {
        SimRuntime::elapsed_ms()
    }

    async fn sleep_ms(ms: u64) {
        madsim::time::sleep(Duration::from_millis(ms)).await;
    }

    /// Polls `check` every 100 ms of simulated time, for at most `secs`.
    async fn wait_for(secs: u64, what: &str, log: &SharedSimLog, check: impl Fn() -> bool) {
        for _ in 0..secs * 10 {
            if check() {
                return;
            }
            sleep_ms(100).await;
        }
        panic!("{what}: not true after {secs}s\n{}", log_text(log));
    }

    /// Waits until `replica` streams from `master` with the same data and offset.
    async fn wait_converged<R1: Runtime, R2: Runtime>(
        master: &Node<R1>,
        replica: &Node<R2>,
        log: &SharedSimLog,
    ) {
        wait_for(30, "replica converged", log, || {
            replica.link_up() && replica.digest_and_offset() == master.digest_and_offset()
        })
        .await;
    }

    /// A client connection inside the simulation.
    /// What a test client talks through: a bare madsim stream, or a
    /// simulated node's own (windowed) stream.
    trait ClientIo: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
    impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> ClientIo for T {}

    struct SimClient {
        stream: Box<dyn ClientIo>,
    }

    impl SimClient {
        async fn connect(ip: &str) -> SimClient {
            SimClient {
                stream: Box::new(madsim::net::TcpStream::connect((ip, 6379)).await.unwrap()),
            }
        }

        /// A client that is a simulated node itself (named `name`): its
        /// connection is windowed at both ends, so when it stops reading,
        /// the server's writes back up as they would into a real socket.
        async fn connect_as_node(net: &Arc<SimNet>, name: &str, ip: &str) -> SimClient {
            let runtime = SimRuntime::new(
                name,
                0,
                Arc::new(MemStorage::default()),
                Arc::new(replsim::log::NullLog),
                net.clone(),
            );
            SimClient {
                stream: Box::new(runtime.connect(ip, 6379).await.unwrap()),
            }
        }

        async fn cmd(&mut self, args: &[&str]) -> Frame {
            let mut request = Vec::new();
            encode_command(&mut request, args);
            self.stream.write_all(&request).await.unwrap();
            self.stream.flush().await.unwrap();
            let mut buffer = Vec::new();
            loop {
                if let Ok((frame, _)) = Frame::parse(&buffer) {
                    return frame;
                }
                let mut chunk = [0u8; 4096];
                let n = self.stream.read(&mut chunk).await.unwrap();
                assert!(n > 0, "connection closed");
                buffer.extend_from_slice(&chunk[..n]);
            }
        }

        /// Sends a command without waiting for a reply.
        async fn send(&mut self, args: &[&str]) {
            let mut request = Vec::new();
            encode_command(&mut request, args);
            self.stream.write_all(&request).await.unwrap();
            self.stream.flush().await.unwrap();
        }

        /// Reads into `buffer` until `done` holds for it; panics after
        /// `secs` simulated seconds or on EOF.
        async fn read_until(
            &mut self,
            buffer: &mut Vec<u8>,
            secs: u64,
            done: impl Fn(&[u8]) -> bool,
        ) {
            let deadline = madsim::time::Instant::now() + Duration::from_secs(secs);
            while !done(buffer) {
                let mut chunk = [0u8; 65536];
                let left = deadline.saturating_duration_since(madsim::time::Instant::now());
                match madsim::time::timeout(left, self.stream.read(&mut chunk)).await {
                    Ok(Ok(n)) if n > 0 => buffer.extend_from_slice(&chunk[..n]),
                    Ok(_) => panic!("connection closed: {:?}", String::from_utf8_lossy(buffer)),
                    Err(_) => panic!("timed out: {:?}", String::from_utf8_lossy(buffer)),
                }
            }
        }

        /// Reads what comes within `ms` simulated ms: the bytes, each with
        /// the simulated ms it arrived at. `None` marks EOF.
        async fn read_for(&mut self, ms: u64) -> Vec<(u64, Option<Vec<u8>>)> {
            let deadline = madsim::time::Instant::now() + Duration::from_millis(ms);
            let mut got = Vec::new();
            loop {
                let left = deadline.saturating_duration_since(madsim::time::Instant::now());
                let mut chunk = [0u8; 65536];
                match madsim::time::timeout(left, self.stream.read(&mut chunk)).await {
                    Ok(Ok(n)) if n > 0 => got.push((now_ms(), Some(chunk[..n].to_vec()))),
                    Ok(_) => {
                        got.push((now_ms(), None));
                        return got;
                    }
                    Err(_) => return got,
                }
            }
        }

        /// One field of INFO replication.
        async fn info_field(&mut self, field: &str) -> String {
            let Frame::Bulk(Some(text)) = self.cmd(&["INFO", "replication"]).await else {
                panic!("INFO replied with no bulk");
            };
            String::from_utf8_lossy(&text)
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{field}:")).map(String::from))
                .unwrap_or_else(|| panic!("no {field} in INFO"))
        }
    }

    // -- 4. repl-timeout --------------------------------------------------

    #[test]
    fn paused_replica_times_out_on_both_sides_then_resyncs_partially() {
        simulate(4, || async {
            let log: SharedSimLog = Arc::default();
            let config = |master| Config {
                repl_timeout: 3,
                ..node_config(master)
            };
            let m = spawn_node("m", "10.0.0.1", config(None), sim_runtimes(log.clone(), 1));
            let r = spawn_node(
                "r",
                "10.0.0.2",
                config(Some("10.0.0.1")),
                sim_runtimes(log.clone(), 2),
            );
            sleep_ms(100).await;
            let mut client = SimClient::connect("10.0.0.1").await;
            for i in 0..10 {
                client.cmd(&["SET", &format!("k{i}"), "before"]).await;
            }
            wait_converged(&m, &r, &log).await;

            let paused_at = now_ms();
            madsim::runtime::Handle::current().pause(r.id);
            for i in 0..20 {
                client.cmd(&["SET", &format!("p{i}"), "during"]).await;
                client.cmd(&["INCR", "counter"]).await;
                sleep_ms(250).await;
            }
            sleep_ms(6000 - (now_ms() - paused_at)).await;
            let resumed_at = now_ms();
            madsim::runtime::Handle::current().resume(r.id);
            wait_converged(&m, &r, &log).await;

            let text = log_text(&log);
            let master_timeout = logged_at(
                &log,
                "m M # Disconnecting timedout replica (streaming sync): 10.0.0.2:6379",
                paused_at,
            )
            .unwrap_or_else(|| panic!("master never timed the replica out\n{text}"));
            assert!(
                // The last ACK came at most a second before the pause.
                master_timeout > paused_at + 2000 && master_timeout < resumed_at,
                "master timed out at {master_timeout} (paused {paused_at}..{resumed_at})\n{text}"
            );
            let replica_timeout = logged_at(
                &log,
                "r S # MASTER timeout: no data nor PING received...",
                paused_at,
            )
            .unwrap_or_else(|| panic!("replica never timed the master out\n{text}"));
            let partial = logged_at(
                &log,
                "r S * Successful partial resynchronization with master.",
                replica_timeout,
            );
            assert!(
                partial.is_some(),
                "no partial resync after the timeout\n{text}"
            );
            assert!(
                logged_at(&log, "Full resync from master", paused_at).is_none(),
                "a full resync happened\n{text}"
            );
        });
    }

    // -- 5. replica output-buffer limit -----------------------------------

    /// Runtimes on `net`, which gets 32 KB socket buffers per direction.
    fn windowed_runtimes(
        log: SharedSimLog,
        net: Arc<SimNet>,
        seed: u64,
    ) -> impl Fn(&str) -> SimRuntime + Send + Sync {
        net.set_window(32 * 1024);
        move |name| {
            SimRuntime::new(
                name,
                seed,
                Arc::new(MemStorage::default()),
                node_logger(name, &log),
                net.clone(),
            )
        }
    }

    /// What the master did with a replica stopped while it wrote.
    struct Stall {
        paused_at: u64,
        /// Largest output buffer seen for the replica, after every write.
        peak: usize,
        /// When that buffer was first seen over the soft limit.
        over_soft_at: Option<u64>,
        /// When the master logged dropping the replica for its output.
        dropped_at: Option<u64>,
        replicas_after: usize,
        connected_slaves_after: String,
        log: String,
    }

    /// The end of both of Redis's lines for a client over its output
    /// limits: "scheduled to be closed ASAP" when the check came with new
    /// stream bytes, "closed" when the once-a-second check found it.
    const OUTPUT_LIMIT_LINE: &str = "for overcoming of output buffer limits.";

    /// A master with `limit` (hard, soft, soft seconds) and a replica on
    /// 32 KB socket buffers; the replica is paused while the master takes
    /// `writes` SETs of `value_size` bytes, one every `pace_ms`; then it is
    /// resumed and must resync (partially: the backlog holds it all) and
    /// converge.
    fn stall_replica(
        limit: (u64, u64, u64),
        writes: usize,
        value_size: usize,
        pace_ms: u64,
    ) -> Stall {
        let outcome: Arc<Mutex<Option<Stall>>> = Arc::default();
        let result = outcome.clone();
        simulate(5, move || async move {
            let log: SharedSimLog = Arc::default();
            let net = Arc::new(SimNet::default());
            let master_config = Config {
                replica_output_limit: limit,
                ..node_config(None)
            };
            let m = spawn_node(
                "m",
                "10.0.0.1",
                master_config,
                windowed_runtimes(log.clone(), net.clone(), 1),
            );
            let r = spawn_node(
                "r",
                "10.0.0.2",
                node_config(Some("10.0.0.1")),
                windowed_runtimes(log.clone(), net.clone(), 2),
            );
            sleep_ms(100).await;
            let mut client = SimClient::connect("10.0.0.1").await;
            client.cmd(&["SET", "before", "1"]).await;
            wait_converged(&m, &r, &log).await;

            let paused_at = now_ms();
            madsim::runtime::Handle::current().pause(r.id);
            let value = "v".repeat(value_size);
            let (mut peak, mut over_soft_at) = (0, None);
            for i in 0..writes {
                client.cmd(&["SET", &format!("big:{i}"), &value]).await;
                let pending = m.replica_output_bytes();
                peak = peak.max(pending);
                if pending as u64 > limit.1 && over_soft_at.is_none() {
                    over_soft_at = Some(now_ms());
                }
                sleep_ms(pace_ms).await;
            }
            // Let the master's link task look once more.
            sleep_ms(1500).await;
            let replicas_after = m.replica_count();
            let connected_slaves_after = client.info_field("connected_slaves").await;

            madsim::runtime::Handle::current().resume(r.id);
            wait_converged(&m, &r, &log).await;
            let text = log_text(&log);
            let dropped_at = logged_at(&log, OUTPUT_LIMIT_LINE, paused_at);
            assert!(
                dropped_at.is_some_and(|at| logged_at(
                    &log,
                    "m M * Partial resynchronization request from 10.0.0.2:6379 accepted.",
                    at
                )
                .is_some()),
                "no partial resync after the drop\n{text}"
            );
            *result.lock().unwrap() = Some(Stall {
                paused_at,
                peak,
                over_soft_at,
                dropped_at,
                replicas_after,
                connected_slaves_after,
                log: text,
            });
        });
        let stall = outcome.lock().unwrap().take();
        stall.expect("the simulation finished")
    }

    #[test]
    fn stalled_replica_is_dropped_at_the_hard_output_limit_then_resyncs() {
        const HARD: u64 = 64 * 1024;
        // 8 KB writes with no pause between them: the hard limit is passed
        // well before the soft one has lasted its second.
        let stall = stall_replica((HARD, 32 * 1024, 1), 40, 8 * 1024, 0);
        let log = &stall.log;
        let dropped_at = stall
            .dropped_at
            .unwrap_or_else(|| panic!("the master never dropped the stalled replica\n{log}"));
        assert!(
            dropped_at < stall.paused_at + 1000,
            "dropped at {dropped_at}, paused at {}: not the hard limit\n{log}",
            stall.paused_at
        );
        // Never more than one write past the limit.
        assert!(
            stall.peak as u64 <= HARD + 9 * 1024,
            "the replica's output buffer reached {} bytes (hard limit {HARD})\n{log}",
            stall.peak
        );
        assert_eq!(
            stall.replicas_after, 0,
            "the replica is still attached\n{log}"
        );
        assert_eq!(stall.connected_slaves_after, "0");
    }

    #[test]
    fn stalled_replica_over_the_soft_output_limit_for_its_seconds_is_dropped() {
        const SOFT: u64 = 32 * 1024;
        // No hard limit; 1 KB every 20 ms (220 KB in all): over the soft
        // limit for its second long before the end.
        let stall = stall_replica((0, SOFT, 1), 220, 1024, 20);
        let log = &stall.log;
        let dropped_at = stall
            .dropped_at
            .unwrap_or_else(|| panic!("the master never dropped the stalled replica\n{log}"));
        let over_soft_at = stall
            .over_soft_at
            .expect("the buffer passed the soft limit");
        // The client sees the buffer over the limit when its SET's reply
        // comes back, a few ms after the master fed the bytes and started
        // counting.
        assert!(
            dropped_at + 50 > over_soft_at + 1000 && dropped_at <= over_soft_at + 2100,
            "over the soft limit from {over_soft_at}, dropped at {dropped_at}\n{log}"
        );
        // About a second's worth of writes past the soft limit, no more.
        assert!(
            stall.peak as u64 <= SOFT + 60 * 1024,
            "the replica's output buffer reached {} bytes\n{log}",
            stall.peak
        );
        assert_eq!(
            stall.replicas_after, 0,
            "the replica is still attached\n{log}"
        );
        assert_eq!(stall.connected_slaves_after, "0");
    }

    /// `len` bytes of printable noise from `seed`: values LZF cannot
    /// shrink much, so that an RDB holding them stays large.
    fn noise(seed: u64, len: usize) -> String {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                char::from(b'!' + (x % 94) as u8)
            })
            .collect()
    }

    #[test]
    fn replica_stalled_during_its_full_sync_is_dropped_at_the_output_limit() {
        // Redis 7.0.15 with `client-output-buffer-limit replica 1mb 512kb 1`,
        // a client that sends `REPLCONF capa eof capa psync2` and `PSYNC ? -1`
        // and never reads, an RDB larger than the socket buffers and 8 KB
        // writes: the stream accumulated for the replica during the RDB
        // transfer reaches the hard limit and Redis logs
        //   # Client id=4 addr=... flags=S ... cmd=psync ... scheduled to be
        //     closed ASAP for overcoming of output buffer limits.
        //   # Connection with replica 127.0.0.1:<unknown-replica-port> lost.
        // (the RDB transfer never finishes, nothing says it succeeded).
        const HARD: u64 = 1024 * 1024;
        simulate(7, || async {
            let log: SharedSimLog = Arc::default();
            let net = Arc::new(SimNet::default());
            let m = spawn_node(
                "m",
                "10.0.0.1",
                Config {
                    replica_output_limit: (HARD, 512 * 1024, 1),
                    ..node_config(None)
                },
                windowed_runtimes(log.clone(), net.clone(), 1),
            );
            sleep_ms(100).await;
            let mut client = SimClient::connect("10.0.0.1").await;
            // About 256 KB of RDB against 32 KB socket buffers.
            for i in 0..64 {
                client
                    .cmd(&["SET", &format!("data:{i}"), &noise(i, 4096)])
                    .await;
            }
            let mut stalled = SimClient::connect_as_node(&net, "stalled", "10.0.0.1").await;
            assert_eq!(
                stalled
                    .cmd(&["REPLCONF", "capa", "eof", "capa", "psync2"])
                    .await,
                Frame::Simple("OK".into())
            );
            stalled.send(&["PSYNC", "?", "-1"]).await;
            wait_for(5, "the master to attach the replica", &log, || {
                m.replica_count() == 1
            })
            .await;
            sleep_ms(100).await;

            let value = noise(1000, 8 * 1024);
            let mut peak = 0;
            for i in 0..512 {
                client.cmd(&["SET", &format!("w:{i}"), &value]).await;
                peak = peak.max(m.replica_output_bytes());
                if m.replica_count() == 0 {
                    break;
                }
            }
            let text = log_text(&log);
            assert_eq!(m.replica_count(), 0, "never dropped\n{text}");
            assert_eq!(client.info_field("connected_slaves").await, "0");
            // Dropped at the limit: at most one write past it.
            assert!(
                peak as u64 <= HARD + 9 * 1024,
                "the replica's output buffer reached {peak} bytes\n{text}"
            );
            let lines: Vec<&str> = text.lines().collect();
            let limit_at = lines
                .iter()
                .position(|l| l.contains(OUTPUT_LIMIT_LINE))
                .unwrap_or_else(|| panic!("no output-limit line\n{text}"));
            let limit_line = lines[limit_at];
            assert!(
                limit_line.contains("scheduled to be closed ASAP")
                    && limit_line.contains("m M # Client id=")
                    && limit_line.contains(" addr=10.0.0.9:")
                    && limit_line.contains(" flags=S ")
                    && limit_line.contains(" cmd=psync "),
                "{limit_line}"
            );
            assert!(
                lines[limit_at + 1..].iter().any(|l| l.ends_with(
                    "m M # Connection with replica 10.0.0.9:<unknown-replica-port> lost."
                )),
                "{text}"
            );
            assert!(
                !text.contains("Streamed RDB transfer with replica"),
                "the transfer cannot have finished\n{text}"
            );
            // The master served everyone else all along.
            assert_eq!(client.cmd(&["PING"]).await, Frame::Simple("PONG".into()));
        });
    }

    // -- 7. repl-timeout before the stream: connect, handshake, transfer --

    /// The lines of the log from the first one containing `text` on.
    fn lines_from<'a>(text: &'a str, first: &str) -> Vec<&'a str> {
        let lines: Vec<&str> = text.lines().collect();
        let at = lines
            .iter()
            .position(|l| l.contains(first))
            .unwrap_or_else(|| panic!("no line with {first:?}\n{text}"));
        lines[at..].to_vec()
    }

    /// Simulated ms of a log line as printed (`12.345s node ...`).
    fn line_ms(line: &str) -> u64 {
        let seconds = line.split('s').next().expect("a timed line");
        (seconds.parse::<f64>().expect("seconds") * 1000.0).round() as u64
    }

    #[test]
    fn handshake_with_a_master_in_debug_sleep_times_out_and_reconnects() {
        // Redis 7.0.15, replica with `repl-timeout 5`, master stuck in
        // `DEBUG SLEEP 10`: ROLE says handshake, then about 5 s after the
        // connect (the replication cron checks once a second)
        //   # Timeout connecting to the MASTER...
        //   * Reconnecting to MASTER 127.0.0.1:7201 after failure
        //   * MASTER <-> REPLICA sync started
        //   * Non blocking connect for SYNC fired the event.
        // and once the master wakes up the PING is answered on the new link.
        simulate(8, || async {
            let log: SharedSimLog = Arc::default();
            let m = spawn_node(
                "m",
                "10.0.0.1",
                Config {
                    enable_debug_command: "yes".into(),
                    ..node_config(None)
                },
                sim_runtimes(log.clone(), 1),
            );
            sleep_ms(100).await;
            let mut sleeper = SimClient::connect("10.0.0.1").await;
            let slept_at = now_ms();
            sleeper.send(&["DEBUG", "SLEEP", "10"]).await;
            sleep_ms(100).await;
            let r = spawn_node(
                "r",
                "10.0.0.2",
                Config {
                    repl_timeout: 5,
                    ..node_config(Some("10.0.0.1"))
                },
                sim_runtimes(log.clone(), 2),
            );
            sleep_ms(3000).await;
            let mut replica = SimClient::connect("10.0.0.2").await;
            let role = replica.cmd(&["ROLE"]).await;
            let Frame::Array(Some(items)) = &role else {
                panic!("ROLE replied {role:?}");
            };
            assert_eq!(items[3], Frame::Bulk(Some(b"handshake".to_vec())));
            wait_converged(&m, &r, &log).await;

            let text = log_text(&log);
            let lines = lines_from(
                &text,
                "r S * Non blocking connect for SYNC fired the event.",
            );
            let connected_at = line_ms(lines[0]);
            assert!(
                lines[1].ends_with("r S # Timeout connecting to the MASTER..."),
                "{text}"
            );
            let timed_out_at = line_ms(lines[1]);
            assert!(
                timed_out_at > connected_at + 5000 && timed_out_at <= connected_at + 6000,
                "connected at {connected_at}, timed out at {timed_out_at}\n{text}"
            );
            assert!(
                lines[2].ends_with("r S * Reconnecting to MASTER 10.0.0.1:6379 after failure")
                    && lines[3].ends_with("r S * MASTER <-> REPLICA sync started")
                    && lines[4].ends_with("r S * Non blocking connect for SYNC fired the event.")
                    && line_ms(lines[4]) - timed_out_at < 50,
                "{text}"
            );
            let replied = lines
                .iter()
                .find(|l| l.contains("r S * Master replied to PING"))
                .unwrap_or_else(|| panic!("no PONG\n{text}"));
            assert!(line_ms(replied) >= slept_at + 10_000, "{text}");
            assert_eq!(text.matches("Timeout connecting to the MASTER").count(), 1);
        });
    }

    /// Reads a fake master's connection up to the next whole command and
    /// returns its name in upper case: `None` once the replica closed, or
    /// sent something that is not a command.
    async fn next_command(
        stream: &mut madsim::net::TcpStream,
        buffer: &mut Vec<u8>,
    ) -> Option<Vec<u8>> {
        loop {
            if let Ok((frame, used)) = Frame::parse(buffer) {
                buffer.drain(..used);
                let Frame::Array(Some(items)) = frame else {
                    return None;
                };
                let Some(Frame::Bulk(Some(name))) = items.first() else {
                    return None;
                };
                return Some(name.to_ascii_uppercase());
            }
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await.unwrap_or(0);
            if n == 0 {
                return None;
            }
            buffer.extend_from_slice(&chunk[..n]);
        }
    }

    /// A master that answers the handshake, then sends `+FULLRESYNC`, a
    /// `$1000` header and 10 bytes of the payload, and nothing more.
    async fn stalling_master(connections: Arc<AtomicUsize>) {
        let listener = madsim::net::TcpListener::bind("0.0.0.0:6379")
            .await
            .unwrap();
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            connections.fetch_add(1, Ordering::SeqCst);
            madsim::task::spawn(async move {
                let mut buffer = Vec::new();
                while let Some(name) = next_command(&mut stream, &mut buffer).await {
                    let reply = match name.as_slice() {
                        b"PING" => b"+PONG\r\n".to_vec(),
                        b"REPLCONF" => b"+OK\r\n".to_vec(),
                        b"PSYNC" => {
                            let mut bytes =
                                format!("+FULLRESYNC {} 0\r\n$1000\r\n", "a".repeat(40))
                                    .into_bytes();
                            bytes.extend_from_slice(&[b'x'; 10]);
                            bytes
                        }
                        _ => b"-ERR unexpected\r\n".to_vec(),
                    };
                    if stream.write_all(&reply).await.is_err() {
                        return;
                    }
                    let _ = stream.flush().await;
                }
            });
        }
    }

    #[test]
    fn stalled_rdb_transfer_times_out_and_the_replica_reconnects_at_once() {
        // Redis 7.0.15, replica with `repl-timeout 3`, a master that stops
        // after 10 bytes of a 1000-byte RDB: about 4 s after the last byte
        //   # Timeout receiving bulk data from MASTER... If the problem
        //     persists try to set the 'repl-timeout' parameter in redis.conf
        //     to a larger value.
        //   * Reconnecting to MASTER 127.0.0.1:7701 after failure
        //   * MASTER <-> REPLICA sync started
        // and the master sees a new connection at once.
        simulate(9, || async {
            let log: SharedSimLog = Arc::default();
            let connections = Arc::new(AtomicUsize::new(0));
            let counter = connections.clone();
            madsim::runtime::Handle::current()
                .create_node()
                .name("m")
                .ip("10.0.0.1".parse::<IpAddr>().unwrap())
                .init(move || stalling_master(counter.clone()))
                .build();
            sleep_ms(100).await;
            let _r = spawn_node(
                "r",
                "10.0.0.2",
                Config {
                    repl_timeout: 3,
                    ..node_config(Some("10.0.0.1"))
                },
                sim_runtimes(log.clone(), 2),
            );
            wait_for(10, "a second connection", &log, || {
                connections.load(Ordering::SeqCst) >= 2
            })
            .await;
            let reconnected_at = now_ms();
            let text = log_text(&log);
            let lines = lines_from(
                &text,
                "r S * MASTER <-> REPLICA sync: receiving 1000 bytes from master to disk",
            );
            let receiving_at = line_ms(lines[0]);
            assert!(
                lines[1].ends_with("r S # Timeout receiving bulk data from MASTER... If the problem persists try to set the 'repl-timeout' parameter in redis.conf to a larger value."),
                "{text}"
            );
            let timed_out_at = line_ms(lines[1]);
            assert!(
                timed_out_at > receiving_at + 3000 && timed_out_at <= receiving_at + 4000,
                "receiving from {receiving_at}, timed out at {timed_out_at}\n{text}"
            );
            assert!(
                lines[2].ends_with("r S * Reconnecting to MASTER 10.0.0.1:6379 after failure")
                    && lines[3].ends_with("r S * MASTER <-> REPLICA sync started")
                    && line_ms(lines[3]) == timed_out_at,
                "{text}"
            );
            assert!(reconnected_at - timed_out_at < 200, "{text}");
        });
    }

    /// A master that answers every connection's PING with `first` and then
    /// an endless line: 64 KiB of `x` every 100 ms, never a newline, until
    /// the replica closes the connection. Counts connections and bytes
    /// sent.
    async fn endless_line_master(first: u8, connections: Arc<AtomicUsize>, sent: Arc<AtomicUsize>) {
        let listener = madsim::net::TcpListener::bind("0.0.0.0:6379")
            .await
            .unwrap();
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            connections.fetch_add(1, Ordering::SeqCst);
            let sent = sent.clone();
            madsim::task::spawn(async move {
                let mut chunk = [0u8; 4096];
                // Wait for the PING.
                if stream.read(&mut chunk).await.unwrap_or(0) == 0 {
                    return;
                }
                let mut line = vec![b'x'; 64 * 1024];
                line[0] = first;
                loop {
                    if stream.write_all(&line).await.is_err() || stream.flush().await.is_err() {
                        return;
                    }
                    sent.fetch_add(line.len(), Ordering::SeqCst);
                    line[0] = b'x';
                    madsim::time::sleep(Duration::from_millis(100)).await;
                }
            });
        }
    }

    /// Starts a replica of `endless_line_master(first)`, waits for its
    /// second connection, and returns the log and the bytes the master had
    /// sent by then.
    async fn replica_of_an_endless_line(first: u8) -> (String, usize) {
        let log: SharedSimLog = Arc::default();
        let connections = Arc::new(AtomicUsize::new(0));
        let sent = Arc::new(AtomicUsize::new(0));
        let (counter, sent_counter) = (connections.clone(), sent.clone());
        madsim::runtime::Handle::current()
            .create_node()
            .name("m")
            .ip("10.0.0.1".parse::<IpAddr>().unwrap())
            .init(move || endless_line_master(first, counter.clone(), sent_counter.clone()))
            .build();
        sleep_ms(100).await;
        let _r = spawn_node(
            "r",
            "10.0.0.2",
            node_config(Some("10.0.0.1")),
            sim_runtimes(log.clone(), 2),
        );
        wait_for(5, "a second connection", &log, || {
            connections.load(Ordering::SeqCst) >= 2
        })
        .await;
        (log_text(&log), sent.load(Ordering::SeqCst))
    }

    #[test]
    fn endless_line_in_reply_to_ping_is_cut_at_255_bytes_and_the_replica_reconnects() {
        // Redis 7.0.15 reads each handshake reply into a 256-byte buffer
        // (receiveSynchronousResponse -> connSyncReadLine), so a master
        // answering PING with an endless line gets
        //   # Error reply to PING from master: 'xxx...' (255 bytes)
        // and the replica closes the link and connects again from the
        // cron, holding no more than the buffer.
        simulate(10, || async {
            let (text, sent) = replica_of_an_endless_line(b'x').await;
            let expected = format!(
                "r S # Error reply to PING from master: '{}'",
                "x".repeat(255)
            );
            let lines = lines_from(
                &text,
                "r S * Non blocking connect for SYNC fired the event.",
            );
            assert!(lines[1].ends_with(&expected), "{text}");
            // Every attempt cuts the line at the same cap.
            assert!(
                text.lines()
                    .filter(|l| l.contains("Error reply to PING"))
                    .all(|l| l.ends_with(&expected)),
                "{text}"
            );
            // The cron connects again within its one-second period.
            assert!(
                lines[2].ends_with("r S * Connecting to MASTER 10.0.0.1:6379")
                    && line_ms(lines[2]) - line_ms(lines[1]) <= 1000,
                "{text}"
            );
            // The master kept sending while the replica waited to
            // reconnect: the replica stopped reading at the cap, it did
            // not wait for a newline that never comes.
            assert!(sent > 64 * 1024, "sent {sent}\n{text}");
        });
    }

    #[test]
    fn endless_positive_line_is_read_as_255_byte_replies_and_the_replica_reconnects() {
        // An endless line that starts with `+`: Redis takes its first 255
        // bytes as the PONG and each next 255 bytes as the next reply, so
        // REPLCONF passes and the PSYNC reply is 255 `x`:
        //   # Unexpected reply to PSYNC from master: xxx...
        // replsim then retries the handshake (Redis would try SYNC and fail
        // on the bulk count with "Bad protocol from MASTER"); either way
        // the link is dropped and no line is buffered whole.
        simulate(11, || async {
            let (text, _) = replica_of_an_endless_line(b'+').await;
            assert!(
                text.contains("r S * Master replied to PING, replication can continue..."),
                "{text}"
            );
            let expected = format!(
                "r S # Unexpected reply to PSYNC from master: {}",
                "x".repeat(255)
            );
            assert!(text.lines().any(|l| l.ends_with(&expected)), "{text}");
        });
    }

    /// A master that answers the handshake, then `+FULLRESYNC` with a
    /// `$<declared>` header and `chunks` chunks of 64 KiB, one every 50 ms,
    /// then closes the connection (a transfer cut short).
    async fn trickling_master(declared: u64, chunks: usize) {
        let listener = madsim::net::TcpListener::bind("0.0.0.0:6379")
            .await
            .unwrap();
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            madsim::task::spawn(async move {
                let mut buffer = Vec::new();
                while let Some(name) = next_command(&mut stream, &mut buffer).await {
                    match name.as_slice() {
                        b"PING" => stream.write_all(b"+PONG\r\n").await.unwrap(),
                        b"REPLCONF" => stream.write_all(b"+OK\r\n").await.unwrap(),
                        b"PSYNC" => {
                            let header =
                                format!("+FULLRESYNC {} 0\r\n${declared}\r\n", "a".repeat(40));
                            stream.write_all(header.as_bytes()).await.unwrap();
                            let _ = stream.flush().await;
                            for _ in 0..chunks {
                                madsim::time::sleep(Duration::from_millis(50)).await;
                                if stream.write_all(&[b'R'; 64 * 1024]).await.is_err() {
                                    return;
                                }
                                let _ = stream.flush().await;
                            }
                            madsim::time::sleep(Duration::from_millis(50)).await;
                            return;
                        }
                        _ => return,
                    }
                    let _ = stream.flush().await;
                }
            });
        }
    }

    #[test]
    fn full_sync_payload_streams_to_a_temp_file_and_a_cut_transfer_keeps_the_old_dump() {
        // Redis 7.0.15 with `repl-diskless-load disabled` (the default)
        // writes the payload to `temp-<unixtime>.<pid>.rdb` in `dir` as it
        // arrives, and when the master goes away mid-transfer logs
        //   # I/O error trying to sync with MASTER: connection lost
        // unlinks the temp file and keeps its dataset and dump file.
        simulate(12, || async {
            let log: SharedSimLog = Arc::default();
            let storage = MemStorage::default();
            let disk = storage.disk();
            let old_dump = replsim::rdb::encode(
                &{
                    let mut keyspace = replsim::keyspace::Keyspace::new();
                    keyspace.db_mut(0).insert(
                        b"old",
                        replsim::keyspace::Value::Str(replsim::keyspace::blob(b"data")),
                    );
                    keyspace
                },
                &replsim::rdb::RdbInfo::default(),
            );
            storage.write_atomic("dump.rdb", &old_dump).unwrap();
            madsim::runtime::Handle::current()
                .create_node()
                .name("m")
                .ip("10.0.0.1".parse::<IpAddr>().unwrap())
                .init(|| trickling_master(1 << 40, 40))
                .build();
            sleep_ms(100).await;
            let node_log = log.clone();
            let r = spawn_node(
                "r",
                "10.0.0.2",
                node_config(Some("10.0.0.1")),
                move |name| {
                    SimRuntime::new(
                        name,
                        2,
                        Arc::new(storage.clone()),
                        node_logger(name, &node_log),
                        Arc::default(),
                    )
                },
            );
            let old_digest = {
                sleep_ms(50).await;
                r.digest_and_offset().0
            };
            let temp_len = || {
                let disk = disk.lock().unwrap();
                disk.file_names()
                    .iter()
                    .find(|n| n.starts_with("temp-") && n.ends_with(".1.rdb"))
                    .and_then(|n| disk.file_len(n))
            };
            wait_for(5, "the transfer to start", &log, || {
                temp_len().is_some_and(|l| l >= 4 * 64 * 1024)
            })
            .await;
            let early = temp_len().unwrap();
            sleep_ms(500).await;
            let later = temp_len().expect("temp file still there mid-transfer");
            // The payload grows on disk while the transfer goes on.
            assert!(later >= early + 4 * 64 * 1024, "{early} -> {later}");
            wait_for(10, "the cut transfer", &log, || {
                log_text(&log).contains("I/O error trying to sync with MASTER: connection lost")
            })
            .await;
            let names = disk.lock().unwrap().file_names();
            assert_eq!(names, vec!["dump.rdb".to_string()], "{}", log_text(&log));
            let dump = disk.lock().unwrap().file_len("dump.rdb");
            assert_eq!(dump, Some(old_dump.len()));
            assert_eq!(
                replsim::runtime::Storage::read(&MemStorage::new(disk.clone()), "dump.rdb")
                    .unwrap(),
                Some(old_dump.clone())
            );
            assert_eq!(r.digest_and_offset().0, old_digest);
            assert_ne!(
                old_digest,
                to_hex(&dataset_digest(&replsim::keyspace::Keyspace::new()))
            );
        });
    }

    #[test]
    fn full_sync_with_diskless_load_swapdb_parses_as_it_arrives_and_writes_no_temp_file() {
        // `repl-diskless-load swapdb` loads from the socket: Redis logs
        //   * MASTER <-> REPLICA sync: receiving N bytes from master to parser
        // and creates no temp file. The payload is parsed as it arrives, so
        // a bad one is rejected at its first bytes, not after the whole
        // megabyte (8 pieces, 50 ms apart) came in.
        simulate(13, || async {
            let log: SharedSimLog = Arc::default();
            let storage = MemStorage::default();
            let disk = storage.disk();
            madsim::runtime::Handle::current()
                .create_node()
                .name("m")
                .ip("10.0.0.1".parse::<IpAddr>().unwrap())
                .init(|| trickling_master(1 << 20, 8))
                .build();
            sleep_ms(100).await;
            let node_log = log.clone();
            let _r = spawn_node(
                "r",
                "10.0.0.2",
                Config {
                    repl_diskless_load: "swapdb".into(),
                    ..node_config(Some("10.0.0.1"))
                },
                move |name| {
                    SimRuntime::new(
                        name,
                        2,
                        Arc::new(storage.clone()),
                        node_logger(name, &node_log),
                        Arc::default(),
                    )
                },
            );
            wait_for(5, "the transfer to start", &log, || {
                log_text(&log).contains(
                    "r S * MASTER <-> REPLICA sync: receiving 1048576 bytes from master to parser",
                )
            })
            .await;
            let receiving = logged_at(&log, "from master to parser", 0).unwrap();
            let rejected = logged_at(
                &log,
                "Failed trying to load the MASTER synchronization DB from socket",
                0,
            )
            .expect("the bad payload is rejected");
            assert!(
                rejected < receiving + 200,
                "rejected at {rejected} ms, {} ms into the transfer",
                rejected - receiving
            );
            assert!(
                log_text(&log).contains("not an RDB file"),
                "{}",
                log_text(&log)
            );
            assert!(disk.lock().unwrap().file_names().is_empty());
        });
    }

    // -- 8. PINGs into the stream, paced from the node's start --------------

    /// The `+FULLRESYNC <id> <offset>` line at the front of `bytes` (after
    /// newline keepalives), and where the bytes after the `$EOF:` RDB start.
    fn fullresync_and_rdb_end(bytes: &[u8]) -> Option<((String, u64), usize)> {
        let text = String::from_utf8_lossy(bytes);
        let start = text.find("+FULLRESYNC ")?;
        let line_end = start + text[start..].find("\r\n")?;
        let mut words = text[start..line_end].split(' ').skip(1);
        let id = words.next()?.to_string();
        let offset = words.next()?.parse().ok()?;
        let mark_at = line_end + 2 + "$EOF:".len();
        let mark = bytes.get(mark_at..mark_at + 40)?;
        let rdb_at = mark_at + 40 + 2;
        let end = bytes[rdb_at..].windows(40).position(|w| w == mark)? + rdb_at + 40;
        Some(((id, offset), end))
    }

    #[test]
    fn first_ping_comes_a_ping_period_after_start_so_an_early_sync_starts_at_offset_0() {
        // Redis 7.0.15, fresh master, default diskless delay (5 s), a
        // replica that PSYNCs with the master's replid and -1 within a
        // second of its start: `+FULLRESYNC <new id> 0`, and the stream's
        // PINGs arrive about 10 s and 20 s after the master started: the
        // replication cron's loop count starts with the server, its loop 0
        // runs at start-up and PINGs every repl-ping-replica-period loops.
        simulate(10, || async {
            let log: SharedSimLog = Arc::default();
            let started_at = now_ms();
            let _m = spawn_node(
                "m",
                "10.0.0.1",
                Config {
                    repl_diskless_sync_delay: 5,
                    ..node_config(None)
                },
                sim_runtimes(log.clone(), 1),
            );
            sleep_ms(500).await;
            let mut replica = SimClient::connect("10.0.0.1").await;
            let replid = replica.info_field("master_replid").await;
            for args in [
                &["REPLCONF", "listening-port", "6380"][..],
                &["REPLCONF", "capa", "eof", "capa", "psync2"][..],
            ] {
                assert_eq!(replica.cmd(args).await, Frame::Simple("OK".into()));
            }
            replica.send(&["PSYNC", &replid, "-1"]).await;
            let mut bytes = Vec::new();
            replica
                .read_until(&mut bytes, 10, |b| fullresync_and_rdb_end(b).is_some())
                .await;
            let ((new_id, offset), rdb_end) = fullresync_and_rdb_end(&bytes).unwrap();
            let text = log_text(&log);
            assert_eq!(offset, 0, "{text}");
            assert_ne!(new_id, replid, "a new history starts with the backlog");
            assert!(bytes.len() == rdb_end, "nothing streamed before the ACK");
            replica.send(&["REPLCONF", "ACK", "0"]).await;

            let received = replica.read_for(25_000 - (now_ms() - started_at)).await;
            const PING: &[u8] = b"*1\r\n$4\r\nping\r\n";
            let pings: Vec<u64> = received
                .iter()
                .filter(|(_, bytes)| bytes.as_deref() == Some(PING))
                .map(|(at, _)| at - started_at)
                .collect();
            assert_eq!(
                received.len(),
                pings.len(),
                "only PINGs in the stream: {received:?}"
            );
            assert_eq!(pings.len(), 2, "{pings:?}");
            assert!(
                (10_000..10_200).contains(&pings[0]) && (20_000..20_200).contains(&pings[1]),
                "PINGs at {pings:?} ms after the master started\n{text}"
            );
        });
    }

    // -- 9. replies on a replica's link ------------------------------------

    /// A raw replica of the master at 10.0.0.1 (listening port 6380): the
    /// handshake, `PSYNC ? -1`, the whole diskless RDB, its first ACK.
    async fn attach_raw_replica() -> SimClient {
        let mut replica = SimClient::connect("10.0.0.1").await;
        for args in [
            &["REPLCONF", "listening-port", "6380"][..],
            &["REPLCONF", "capa", "eof", "capa", "psync2"][..],
        ] {
            assert_eq!(replica.cmd(args).await, Frame::Simple("OK".into()));
        }
        replica.send(&["PSYNC", "?", "-1"]).await;
        let mut bytes = Vec::new();
        replica
            .read_until(&mut bytes, 10, |b| fullresync_and_rdb_end(b).is_some())
            .await;
        let ((_, offset), _) = fullresync_and_rdb_end(&bytes).unwrap();
        replica
            .send(&["REPLCONF", "ACK", &offset.to_string()])
            .await;
        replica
    }

    /// Whether the master closed `replica` within half a second (bytes of
    /// the stream before the close are skipped).
    async fn closed_by_master(replica: &mut SimClient) -> bool {
        replica
            .read_for(500)
            .await
            .last()
            .is_some_and(|(_, bytes)| bytes.is_none())
    }

    #[test]
    fn a_command_on_a_replica_link_that_generates_a_reply_disconnects_the_replica() {
        // Redis 7.0.15, a replica attached (flags=S) sending on its link:
        //   PING        -> # Replica generated a reply to command 'ping',
        //                    disconnecting it: id=3 addr=... flags=S ...
        //                    cmd=ping ...
        //                  # Connection with replica 127.0.0.1:9999 lost.
        //   SET foo bar -> the same line for 'set', then
        //                  # == CRITICAL == This master is sending an error
        //                    to its replica: 'Replica can't interact with the
        //                    keyspace' after processing the command 'set'
        //                  and foo is not set;
        //   NOSUCHCMD x -> '<unknown>' and cmd=NULL, and the CRITICAL line
        //                  quotes the unknown-command error;
        //   REPLCONF ACK, REPLCONF GETACK * -> no reply, the link stays.
        simulate(11, || async {
            let log: SharedSimLog = Arc::default();
            let m = spawn_node(
                "m",
                "10.0.0.1",
                node_config(None),
                sim_runtimes(log.clone(), 1),
            );
            sleep_ms(100).await;
            let mut client = SimClient::connect("10.0.0.1").await;

            let mut quiet = attach_raw_replica().await;
            quiet.send(&["REPLCONF", "GETACK", "*"]).await;
            quiet.send(&["REPLCONF", "ACK", "0"]).await;
            assert!(!closed_by_master(&mut quiet).await, "{}", log_text(&log));
            assert_eq!(m.replica_count(), 1);
            drop(quiet);
            wait_for(5, "the quiet replica to go", &log, || {
                m.replica_count() == 0
            })
            .await;

            for (args, command, error) in [
                (&["PING"][..], "ping", None),
                (
                    &["SET", "foo", "bar"][..],
                    "set",
                    Some("Replica can't interact with the keyspace"),
                ),
                (
                    &["NOSUCHCMD", "x"][..],
                    "<unknown>",
                    Some("unknown command 'NOSUCHCMD', with args beginning with: 'x' "),
                ),
            ] {
                let mut replica = attach_raw_replica().await;
                let from = now_ms();
                replica.send(args).await;
                assert!(closed_by_master(&mut replica).await, "{}", log_text(&log));
                let text = log_text(&log);
                let lines = lines_from(
                    &text,
                    &format!("m M # Replica generated a reply to command '{command}', disconnecting it: id="),
                );
                assert!(line_ms(lines[0]) >= from, "{text}");
                let cmd_field = if command == "<unknown>" {
                    "NULL"
                } else {
                    command
                };
                assert!(
                    lines[0].contains(" addr=10.0.0.9:")
                        && lines[0].contains(" flags=S ")
                        && lines[0].contains(&format!(" cmd={cmd_field} ")),
                    "{}",
                    lines[0]
                );
                let mut next = 1;
                if let Some(error) = error {
                    assert_eq!(
                        lines[1].split_once(" # ").map(|(_, message)| message),
                        Some(
                            format!("== CRITICAL == This master is sending an error to its replica: '{error}' after processing the command '{command}'")
                                .as_str()
                        ),
                        "{text}"
                    );
                    next = 2;
                }
                assert!(
                    lines[next].ends_with("m M # Connection with replica 10.0.0.9:6380 lost."),
                    "{text}"
                );
                assert_eq!(m.replica_count(), 0);
            }
            assert_eq!(client.cmd(&["GET", "foo"]).await, Frame::Bulk(None));
        });
    }

    // -- 10. PSYNC refused -------------------------------------------------

    #[test]
    fn psync_refusals_reply_and_log_as_redis_does() {
        // Redis 7.0.15, a client that sent REPLCONF listening-port 9999:
        //   PSYNC <replid> abc -> -ERR value is not an integer or out of range
        //     * Replica 127.0.0.1:9999 asks for synchronization
        //     # Replica 127.0.0.1:9999 asks for synchronization but with a wrong offset
        //   PSYNC <replid> 999999 to a master without backlog -> +FULLRESYNC
        //     * Unable to partial resync with replica 127.0.0.1:9999 for lack
        //       of backlog (Replica request was: 999999).
        //     # Warning: replica 127.0.0.1:9999 tried to PSYNC with an offset
        //       that is greater than the master replication offset.
        //   REPLCONF and PSYNC in one write -> +OK, then
        //     -ERR SYNC and PSYNC are invalid with pending output, no log line
        //   PSYNC to a replica whose own link is down -> -NOMASTERLINK Can't
        //     SYNC while not connected with my master, no log line
        simulate(12, || async {
            let log: SharedSimLog = Arc::default();
            let _m = spawn_node(
                "m",
                "10.0.0.1",
                node_config(None),
                sim_runtimes(log.clone(), 1),
            );
            let _r = spawn_node(
                "r",
                "10.0.0.2",
                node_config(Some("10.0.0.7")),
                sim_runtimes(log.clone(), 2),
            );
            sleep_ms(100).await;
            let mut client = SimClient::connect("10.0.0.1").await;
            let replid = client.info_field("master_replid").await;
            let asking = || async {
                let mut replica = SimClient::connect("10.0.0.1").await;
                let ok = replica.cmd(&["REPLCONF", "listening-port", "6380"]).await;
                assert_eq!(ok, Frame::Simple("OK".into()));
                replica
            };
            let name = "10.0.0.9:6380";

            let mut replica = asking().await;
            assert_eq!(
                replica.cmd(&["PSYNC", &replid, "abc"]).await,
                Frame::Error("ERR value is not an integer or out of range".into())
            );
            let text = log_text(&log);
            let lines = lines_from(
                &text,
                &format!("m M * Replica {name} asks for synchronization"),
            );
            assert!(
                lines[1].ends_with(&format!(
                    "m M # Replica {name} asks for synchronization but with a wrong offset"
                )),
                "{text}"
            );
            // Still an ordinary client.
            assert_eq!(replica.cmd(&["PING"]).await, Frame::Simple("PONG".into()));

            let mut replica = asking().await;
            replica.send(&["PSYNC", &replid, "999999"]).await;
            let mut bytes = Vec::new();
            replica
                .read_until(&mut bytes, 5, |b| b.starts_with(b"+FULLRESYNC "))
                .await;
            let text = log_text(&log);
            let lines = lines_from(
                &text,
                &format!("m M * Unable to partial resync with replica {name} for lack of backlog (Replica request was: 999999)."),
            );
            assert!(
                lines[1].ends_with(&format!("m M # Warning: replica {name} tried to PSYNC with an offset that is greater than the master replication offset.")),
                "{text}"
            );

            let asked = text.matches("asks for synchronization").count();
            let mut pipelined = SimClient::connect("10.0.0.1").await;
            let mut request = Vec::new();
            encode_command(&mut request, &["REPLCONF", "capa", "eof"]);
            encode_command(&mut request, &["PSYNC", "?", "-1"]);
            pipelined.stream.write_all(&request).await.unwrap();
            pipelined.stream.flush().await.unwrap();
            let expected = b"+OK\r\n-ERR SYNC and PSYNC are invalid with pending output\r\n";
            let mut bytes = Vec::new();
            pipelined
                .read_until(&mut bytes, 5, |b| b.len() >= expected.len())
                .await;
            assert_eq!(bytes, expected);

            let mut chained = SimClient::connect("10.0.0.2").await;
            assert_eq!(
                chained.cmd(&["PSYNC", "?", "-1"]).await,
                Frame::Error("NOMASTERLINK Can't SYNC while not connected with my master".into())
            );
            let text = log_text(&log);
            assert_eq!(
                text.matches("asks for synchronization").count(),
                asked,
                "{text}"
            );
        });
    }

    // -- 6. repl-backlog-ttl ----------------------------------------------

    #[test]
    fn backlog_is_freed_after_the_ttl_without_replicas_with_a_new_replid() {
        simulate(6, || async {
            let log: SharedSimLog = Arc::default();
            let m = spawn_node(
                "m",
                "10.0.0.1",
                Config {
                    repl_backlog_ttl: 2,
                    ..node_config(None)
                },
                sim_runtimes(log.clone(), 1),
            );
            let r = spawn_node(
                "r",
                "10.0.0.2",
                node_config(Some("10.0.0.1")),
                sim_runtimes(log.clone(), 2),
            );
            sleep_ms(100).await;
            let mut master = SimClient::connect("10.0.0.1").await;
            master.cmd(&["SET", "k", "v"]).await;
            wait_converged(&m, &r, &log).await;
            assert_eq!(master.info_field("repl_backlog_active").await, "1");
            let old_replid = master.info_field("master_replid").await;

            let mut replica = SimClient::connect("10.0.0.2").await;
            assert_eq!(
                replica.cmd(&["REPLICAOF", "NO", "ONE"]).await,
                Frame::Simple("OK".into())
            );
            wait_for(5, "the replica to leave", &log, || m.replica_count() == 0).await;
            let left_at = now_ms();

            sleep_ms(1500).await;
            assert_eq!(
                master.info_field("repl_backlog_active").await,
                "1",
                "freed before the TTL\n{}",
                log_text(&log)
            );
            sleep_ms(2000).await;
            let text = log_text(&log);
            assert_eq!(
                master.info_field("repl_backlog_active").await,
                "0",
                "{text}"
            );
            assert_eq!(master.info_field("repl_backlog_histlen").await, "0");
            let new_replid = master.info_field("master_replid").await;
            assert_ne!(new_replid, old_replid, "the history is gone: a new id");
            assert_eq!(new_replid.len(), 40);
            assert_eq!(
                master.info_field("master_replid2").await,
                "0000000000000000000000000000000000000000"
            );
            let freed_at = logged_at(
                &log,
                "m M * Replication backlog freed after 2 seconds without connected replicas.",
                left_at,
            )
            .unwrap_or_else(|| panic!("no backlog freed line\n{text}"));
            assert!(
                freed_at >= left_at + 2000 && freed_at <= left_at + 3100,
                "freed at {freed_at}, replica left at {left_at}\n{text}"
            );
        });
    }
}
