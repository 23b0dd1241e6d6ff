//! Any text as a suite and as a mock definition: errors, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let path = std::path::Path::new("fuzz.yaml");
    let _ = permatrix::suite::load_str(path, text, &permatrix::suite::LoadOptions::default());
    let _ = permatrix::suite::mock_def::load_str(path, text);
});
