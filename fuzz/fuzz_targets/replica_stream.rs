//! Fuzz target: the replication stream a replica applies after a full
//! resync (`replication::replica::apply_stream`, through the hidden
//! `replsim::fuzzing::ReplicaStream` seam).
//!
//! Input: two bytes choosing a split point, then the stream. Checks: no
//! panic; the replica's offset grows by at most the bytes fed (exactly by
//! the bytes applied); feeding the stream in two reads gives the same
//! dataset digest, offset, pending bytes and GETACK replies as one read.
//!
//! Streams holding a DEBUG command are skipped: a master may send DEBUG
//! (the master client may run it), and DEBUG PANIC and DEBUG POPULATE
//! crash or exhaust memory on purpose.

#![no_main]

#[cfg(not(madsim))]
compile_error!("build the fuzz targets with RUSTFLAGS='--cfg madsim' (see fuzz/README.md)");

use libfuzzer_sys::fuzz_target;
use replsim::fuzzing::{ReplicaStream, SYNC_OFFSET};
use replsim::resp::{parse_command, ArgvBuf, ParseLimits, Parsed};

/// Whether any command the stream holds is DEBUG.
fn has_debug(stream: &[u8]) -> bool {
    let mut argv = ArgvBuf::default();
    let mut pos = 0;
    while pos < stream.len() {
        match parse_command(&stream[pos..], &mut argv, ParseLimits::default()) {
            Ok(Parsed::Command { consumed }) => {
                if argv
                    .argv(&stream[pos..])
                    .get(0)
                    .eq_ignore_ascii_case(b"debug")
                {
                    return true;
                }
                pos += consumed;
            }
            Ok(Parsed::Empty { consumed }) => pos += consumed,
            _ => break,
        }
    }
    false
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let at = u16::from_le_bytes([data[0], data[1]]) as usize;
    let stream = &data[2..];
    if has_debug(stream) {
        return;
    }
    let split = at % (stream.len() + 1);

    let mut whole = ReplicaStream::new();
    whole.feed(stream);
    assert!(whole.offset() >= SYNC_OFFSET);
    assert!(
        whole.offset() - SYNC_OFFSET <= whole.fed(),
        "offset moved {} for {} bytes fed",
        whole.offset() - SYNC_OFFSET,
        whole.fed()
    );

    let mut split_feed = ReplicaStream::new();
    split_feed.feed(&stream[..split]);
    assert!(split_feed.offset() - SYNC_OFFSET <= split_feed.fed());
    split_feed.feed(&stream[split..]);
    assert!(split_feed.offset() - SYNC_OFFSET <= split_feed.fed());

    assert_eq!(
        split_feed.offset(),
        whole.offset(),
        "offset differs, split at {split}"
    );
    assert_eq!(
        split_feed.digest(),
        whole.digest(),
        "digest differs, split at {split}"
    );
    assert_eq!(
        split_feed.dropped(),
        whole.dropped(),
        "one dropped the link, split at {split}"
    );
    // A dropped link ignores what follows, so only a live one has the
    // same bytes pending.
    if !whole.dropped() {
        assert_eq!(
            split_feed.pending(),
            whole.pending(),
            "pending bytes differ"
        );
    }
    assert_eq!(
        split_feed.replies(),
        whole.replies(),
        "GETACK replies differ"
    );
});
