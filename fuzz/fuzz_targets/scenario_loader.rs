//! Fuzz target: the scenario file parser and validator
//! (`scenario::Scenario::parse`) on arbitrary text.
//!
//! It must never panic, and every error must carry a line:column (1-based)
//! and say what is wrong.

#![no_main]

#[cfg(not(madsim))]
compile_error!("build the fuzz targets with RUSTFLAGS='--cfg madsim' (see fuzz/README.md)");

use libfuzzer_sys::fuzz_target;
use replsim::scenario::Scenario;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(error) = Scenario::parse("fuzz.json", text) {
        assert!(
            error.line >= 1 && error.column >= 1,
            "error without line:column: {error}"
        );
        assert!(!error.message.is_empty(), "error without a message");
        let shown = error.to_string();
        assert!(
            shown.starts_with(&format!("fuzz.json:{}:{}: ", error.line, error.column)),
            "{shown}"
        );
    }
});
