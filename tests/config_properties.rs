//! Property tests for the redis.conf / CONFIG SET parameter parser
//! (`Config::set_startup`), driven by a seeded RNG so that a failure
//! reproduces: arbitrary names and values never panic, and every accepted
//! value prints (CONFIG GET) as a value that is accepted again and prints
//! the same, as CONFIG REWRITE relies on.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use replsim::server::Config;

const WORDS: &[&str] = &[
    "yes",
    "no",
    "local",
    "",
    " ",
    "0",
    "-1",
    "1",
    "65535",
    "65536",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "1e3",
    "0x10",
    "+1",
    "01",
    "normal",
    "replica",
    "slave",
    "pubsub",
    "master",
    "disabled",
    "on-empty-db",
    "swapdb",
    "127.0.0.1",
    "host 6379",
    "h 1 2",
    "900 1 300 10",
    "\"\"",
];

const UNITS: &[&str] = &[
    "", "k", "kb", "m", "mb", "g", "gb", "K", "Kb", "GB", "b", "x", "kbb",
];

fn random_value(rng: &mut ChaCha8Rng, defaults: &[(&'static str, String)]) -> String {
    match rng.gen_range(0..7) {
        0 => WORDS[rng.gen_range(0..WORDS.len())].to_string(),
        1 => defaults[rng.gen_range(0..defaults.len())].1.clone(),
        2 => {
            let n: i64 = match rng.gen_range(0..3) {
                0 => rng.gen_range(-10..100),
                1 => rng.gen_range(0..1 << 40),
                _ => rng.gen(),
            };
            format!("{n}{}", UNITS[rng.gen_range(0..UNITS.len())])
        }
        3 => (0..rng.gen_range(1..6))
            .map(|_| random_value(rng, defaults))
            .collect::<Vec<_>>()
            .join(" "),
        4 => {
            let bytes: Vec<u8> = (0..rng.gen_range(0..12)).map(|_| rng.gen()).collect();
            String::from_utf8_lossy(&bytes).into_owned()
        }
        5 => format!(
            "{} {} {} {}",
            ["normal", "replica", "pubsub", "slave"][rng.gen_range(0..4)],
            random_value(rng, defaults),
            random_value(rng, defaults),
            rng.gen_range(-2..100)
        ),
        _ => {
            let mut value = WORDS[rng.gen_range(0..WORDS.len())].to_string();
            value.insert(
                rng.gen_range(0..=value.len()),
                ['\0', '\t', 'é'][rng.gen_range(0..3)],
            );
            value
        }
    }
}

/// A parameter name in random case, or now and then a made-up one.
fn random_name(rng: &mut ChaCha8Rng, defaults: &[(&'static str, String)]) -> String {
    if rng.gen_bool(0.05) {
        return ["", "*", "port ", "no-such-param", "slaveof", "replicaof"][rng.gen_range(0..6)]
            .to_string();
    }
    defaults[rng.gen_range(0..defaults.len())]
        .0
        .chars()
        .map(|c| {
            if rng.gen_bool(0.2) {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

#[test]
fn arbitrary_directives_never_panic_and_accepted_values_print_back() {
    let defaults = Config::default().get_matching(&[b"*"]);
    assert!(defaults.len() > 20, "{defaults:?}");
    let mut rng = ChaCha8Rng::seed_from_u64(0xc0f);
    let mut config = Config::default();
    for case in 0..30_000 {
        if case % 50 == 0 {
            config = Config::default();
        }
        let name = random_name(&mut rng, &defaults);
        let value = random_value(&mut rng, &defaults);
        let before = config.clone();
        if config.set_startup(&name, &value).is_err() {
            assert!(
                config == before,
                "case {case}: a refused {name} {value:?} changed the config"
            );
            continue;
        }
        for (param, printed) in config.get_matching(&[name.as_bytes()]) {
            let mut reread = before.clone();
            reread.set_startup(param, &printed).unwrap_or_else(|e| {
                panic!("case {case}: {param} {value:?} prints as {printed:?}, refused: {e}")
            });
            assert_eq!(
                reread.get_matching(&[param.as_bytes()]),
                vec![(param, printed.clone())],
                "case {case}: {param} {value:?}"
            );
        }
    }
}
