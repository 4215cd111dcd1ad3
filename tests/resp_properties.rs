//! Property tests for the RESP request parser, driven by a seeded RNG so
//! that a failure reproduces: any split of a valid stream parses to the same
//! commands, and arbitrary bytes never panic.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use replsim::resp::{encode_command, parse_command, ArgvBuf, ParseLimits, Parsed};

/// Feeds `chunks` one after another like a connection does, collecting
/// parsed commands; stops at the first protocol error.
fn parse_stream(chunks: &[&[u8]]) -> (Vec<Vec<Vec<u8>>>, Option<String>) {
    let mut buffer: Vec<u8> = Vec::new();
    let mut argv = ArgvBuf::default();
    let mut commands = Vec::new();
    for chunk in chunks {
        buffer.extend_from_slice(chunk);
        loop {
            match parse_command(&buffer, &mut argv, ParseLimits::default()) {
                Ok(Parsed::Command { consumed }) => {
                    commands.push(argv.argv(&buffer).iter().map(<[u8]>::to_vec).collect());
                    buffer.drain(..consumed);
                }
                Ok(Parsed::Empty { consumed }) => {
                    buffer.drain(..consumed);
                }
                Ok(Parsed::Incomplete { min_len }) => {
                    assert!(min_len > buffer.len(), "incomplete must ask for more bytes");
                    break;
                }
                Err(error) => return (commands, Some(error.to_string())),
            }
            if buffer.is_empty() {
                break;
            }
        }
    }
    (commands, None)
}

fn random_arg(rng: &mut ChaCha8Rng) -> Vec<u8> {
    let len = match rng.gen_range(0..10) {
        0 => 0,
        1..=7 => rng.gen_range(1..20),
        8 => rng.gen_range(20..300),
        _ => rng.gen_range(300..5000),
    };
    (0..len).map(|_| rng.gen()).collect()
}

fn random_commands(rng: &mut ChaCha8Rng) -> Vec<Vec<Vec<u8>>> {
    (0..rng.gen_range(1..20))
        .map(|_| (0..rng.gen_range(1..8)).map(|_| random_arg(rng)).collect())
        .collect()
}

fn random_splits<'a>(rng: &mut ChaCha8Rng, bytes: &'a [u8]) -> Vec<&'a [u8]> {
    let mut chunks = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let take = match rng.gen_range(0..4) {
            0 => 1,
            1 => rng.gen_range(1..8),
            _ => rng.gen_range(1..rest.len().max(2)),
        }
        .min(rest.len());
        chunks.push(&rest[..take]);
        rest = &rest[take..];
    }
    chunks
}

#[test]
fn any_split_of_a_valid_stream_parses_to_the_same_commands() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed);
    for case in 0..2000 {
        let commands = random_commands(&mut rng);
        let mut stream = Vec::new();
        for command in &commands {
            encode_command(&mut stream, command);
        }
        let whole = parse_stream(&[&stream]);
        let chunks = random_splits(&mut rng, &stream);
        let split = parse_stream(&chunks);
        assert_eq!(whole, (commands.clone(), None), "case {case}: whole stream");
        assert_eq!(
            split,
            (commands, None),
            "case {case}: split into {} chunks",
            chunks.len()
        );
    }
}

#[test]
fn inline_commands_survive_any_split() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let stream = b"SET key \"quoted value\\n\"\r\nGET key\nPING\r\n\r\nECHO 'single'\r\n";
    for _ in 0..500 {
        let chunks = random_splits(&mut rng, stream);
        let (commands, error) = parse_stream(&chunks);
        assert_eq!(error, None);
        assert_eq!(commands.len(), 4);
        assert_eq!(commands[0][2], b"quoted value\n".to_vec());
        assert_eq!(commands[3][1], b"single".to_vec());
    }
}

#[test]
fn garbage_never_panics_and_errors_are_protocol_errors() {
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    let alphabet = b"*$\r\n0123456789-+ \"'\\xab";
    for _ in 0..20000 {
        let len = rng.gen_range(0..200);
        let bytes: Vec<u8> = if rng.gen_bool(0.5) {
            (0..len).map(|_| rng.gen()).collect()
        } else {
            (0..len)
                .map(|_| alphabet[rng.gen_range(0..alphabet.len())])
                .collect()
        };
        let chunks = random_splits(&mut rng, &bytes);
        let (_, error) = parse_stream(&chunks);
        if let Some(error) = error {
            assert!(error.starts_with("Protocol error: "), "{error}");
        }
    }
}

#[test]
fn corrupted_valid_streams_never_panic() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for _ in 0..5000 {
        let mut stream = Vec::new();
        for command in random_commands(&mut rng) {
            encode_command(&mut stream, &command);
        }
        for _ in 0..rng.gen_range(1..5) {
            let at = rng.gen_range(0..stream.len());
            stream[at] = rng.gen();
        }
        let chunks = random_splits(&mut rng, &stream);
        let _ = parse_stream(&chunks);
    }
}

#[test]
fn any_split_of_garbage_ends_like_the_whole() {
    let mut rng = ChaCha8Rng::seed_from_u64(0xbad);
    let alphabet = b"*$\r\n0123456789-+ \"'\\xab";
    for case in 0..20000 {
        let mut bytes = Vec::new();
        for command in random_commands(&mut rng).into_iter().take(3) {
            encode_command(&mut bytes, &command);
        }
        for _ in 0..rng.gen_range(1..4) {
            let at = rng.gen_range(0..bytes.len());
            bytes[at] = alphabet[rng.gen_range(0..alphabet.len())];
        }
        let whole = parse_stream(&[&bytes]);
        let chunks = random_splits(&mut rng, &bytes);
        assert_eq!(parse_stream(&chunks), whole, "case {case}");
    }
}

/// A multibulk with many arguments arriving a few bytes at a time, as a
/// slow client sends it: every byte is examined a bounded number of times,
/// so the work is linear in its size (re-parsing from the start on every
/// read made it quadratic).
#[test]
fn a_dripped_multibulk_is_examined_once_per_byte() {
    let args: Vec<Vec<u8>> = (0..20_000).map(|i| format!("v{i}").into_bytes()).collect();
    let mut stream = Vec::new();
    encode_command(&mut stream, &args);
    let mut argv = ArgvBuf::default();
    let mut reads = 0;
    let mut parsed = None;
    for end in (1..=stream.len()).step_by(3).chain([stream.len()]) {
        reads += 1;
        match parse_command(&stream[..end], &mut argv, ParseLimits::default()) {
            Ok(Parsed::Incomplete { min_len }) => assert!(min_len > end),
            Ok(Parsed::Command { consumed }) => {
                parsed = Some(consumed);
                break;
            }
            other => panic!("at {end}: {other:?}"),
        }
    }
    assert_eq!(parsed, Some(stream.len()));
    assert_eq!(argv.argv(&stream).len(), args.len());
    let examined = argv.bytes_examined();
    assert!(
        examined <= (stream.len() + reads) as u64,
        "{examined} bytes examined for a {}-byte frame in {reads} reads",
        stream.len()
    );
}
