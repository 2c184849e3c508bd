//! Fuzz target: arbitrary bytes parsed as configuration, both as `trunkguard.toml` and as
//! `pyproject.toml`. Errors are fine; a panic is a bug. Error messages must name the file.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use trunkguard::config;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let ids = trunkguard::rules::ids();
    for name in ["trunkguard.toml", "pyproject.toml"] {
        if let Err(e) = config::parse(Path::new(name), &text, &ids) {
            assert!(e.to_string().starts_with(name));
        }
    }
    let parsed = config::parse(Path::new("trunkguard.toml"), &text, &ids).unwrap_or_default();
    let _ = config::describe(&parsed, &Default::default());
});
