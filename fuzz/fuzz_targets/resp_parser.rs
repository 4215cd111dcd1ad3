//! Fuzz target: the RESP request parser (`resp::parse_command`).
//!
//! Input: one flags byte (bit 0: unauthenticated limits, bit 1: a small
//! `proto-max-bulk-len`), two bytes choosing a split point, then the stream.
//! The stream is parsed whole, then split in two at the chosen point and in
//! three (the resume path of an unfinished frame); all three must give the
//! same commands and the same protocol error. Every `Incomplete { min_len }`
//! must be a true lower bound: a fresh parse of `min_len - 1` bytes of that
//! frame is still incomplete. Every command re-encoded as a multibulk parses
//! back to the same arguments.

#![no_main]

#[cfg(not(madsim))]
compile_error!("build the fuzz targets with RUSTFLAGS='--cfg madsim' (see fuzz/README.md)");

use libfuzzer_sys::fuzz_target;
use replsim::resp::{encode_command, parse_command, ArgvBuf, ParseLimits, Parsed};

type Outcome = (Vec<Vec<Vec<u8>>>, Option<String>);

/// Feeds `chunks` of `stream` one after another as a connection does.
fn parse_stream(stream: &[u8], cuts: &[usize], limits: ParseLimits) -> Outcome {
    let mut buffer: Vec<u8> = Vec::new();
    // Where `buffer` starts in `stream`.
    let mut base = 0usize;
    let mut argv = ArgvBuf::default();
    let mut commands = Vec::new();
    let mut from = 0;
    for &cut in cuts.iter().chain(std::iter::once(&stream.len())) {
        buffer.extend_from_slice(&stream[from..cut]);
        from = cut;
        while !buffer.is_empty() {
            match parse_command(&buffer, &mut argv, limits) {
                Ok(Parsed::Command { consumed }) => {
                    assert!(consumed > 0 && consumed <= buffer.len());
                    let args: Vec<Vec<u8>> =
                        argv.argv(&buffer).iter().map(<[u8]>::to_vec).collect();
                    assert!(!args.is_empty());
                    commands.push(args);
                    buffer.drain(..consumed);
                    base += consumed;
                }
                Ok(Parsed::Empty { consumed }) => {
                    assert!(consumed > 0 && consumed <= buffer.len());
                    buffer.drain(..consumed);
                    base += consumed;
                }
                Ok(Parsed::Incomplete { min_len }) => {
                    assert!(min_len > buffer.len(), "incomplete must ask for more bytes");
                    let probe = min_len - 1;
                    if base + probe <= stream.len() {
                        let mut fresh = ArgvBuf::default();
                        let early = parse_command(&stream[base..base + probe], &mut fresh, limits);
                        assert!(
                            matches!(early, Ok(Parsed::Incomplete { .. })),
                            "min_len {min_len} is not a lower bound: {probe} bytes give {early:?}"
                        );
                    }
                    break;
                }
                Err(error) => {
                    let text = error.to_string();
                    assert!(text.starts_with("Protocol error: "), "{text}");
                    return (commands, Some(text));
                }
            }
        }
    }
    (commands, None)
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let flags = data[0];
    let at = u16::from_le_bytes([data[1], data[2]]) as usize;
    let stream = &data[3..];
    let limits = ParseLimits {
        max_bulk_bytes: if flags & 2 != 0 {
            64
        } else {
            ParseLimits::default().max_bulk_bytes
        },
        unauthenticated: flags & 1 != 0,
    };
    let split = at % (stream.len() + 1);
    let whole = parse_stream(stream, &[], limits);
    assert_eq!(
        parse_stream(stream, &[split], limits),
        whole,
        "split at {split}"
    );
    let second = split + (stream.len() - split) / 2;
    assert_eq!(
        parse_stream(stream, &[split / 2, second], limits),
        whole,
        "split in three"
    );
    for command in &whole.0 {
        let mut encoded = Vec::new();
        encode_command(&mut encoded, command);
        let mut argv = ArgvBuf::default();
        match parse_command(&encoded, &mut argv, ParseLimits::default()) {
            Ok(Parsed::Command { consumed }) => {
                assert_eq!(consumed, encoded.len());
                let again: Vec<Vec<u8>> = argv.argv(&encoded).iter().map(<[u8]>::to_vec).collect();
                assert_eq!(&again, command);
            }
            other => panic!("re-encoded command does not parse: {other:?}"),
        }
    }
});
