//! Fuzz target: redis.conf directives (`server::Config::set_startup`, the
//! parser of every parameter's value) on arbitrary text.
//!
//! The text is read as redis.conf is: one directive a line, `#` comments,
//! words split as `sdssplitargs` splits them, the first word the name and
//! the rest the value. Setting must never panic. A value that was accepted
//! must print (CONFIG GET) as a value that is accepted again and prints the
//! same, as CONFIG REWRITE relies on.

#![no_main]

#[cfg(not(madsim))]
compile_error!("build the fuzz targets with RUSTFLAGS='--cfg madsim' (see fuzz/README.md)");

use libfuzzer_sys::fuzz_target;
use replsim::resp::split_inline_args;
use replsim::server::Config;

fuzz_target!(|data: &[u8]| {
    let mut config = Config::default();
    for line in data.split(|&b| b == b'\n') {
        let mut words = Vec::new();
        let mut ranges = Vec::new();
        if !split_inline_args(line, &mut words, &mut ranges) || ranges.is_empty() {
            continue;
        }
        if words[ranges[0].0..].first() == Some(&b'#') {
            continue;
        }
        let Ok(name) = std::str::from_utf8(&words[ranges[0].0..ranges[0].1]) else {
            continue;
        };
        let values: Vec<&[u8]> = ranges[1..].iter().map(|&(s, e)| &words[s..e]).collect();
        let Ok(value) = String::from_utf8(values.join(&b' ')) else {
            continue;
        };
        let before = config.clone();
        if config.set_startup(name, &value).is_err() {
            continue;
        }
        // What CONFIG GET prints for the parameter reads back the same.
        for (param, printed) in config.get_matching(&[name.as_bytes()]) {
            let mut reread = before.clone();
            if let Err(error) = reread.set_startup(param, &printed) {
                panic!("{param} {value:?} prints as {printed:?}, which is refused: {error}");
            }
            let again = reread.get_matching(&[param.as_bytes()]);
            assert_eq!(again, vec![(param, printed.clone())], "{param} {value:?}");
        }
    }
});
