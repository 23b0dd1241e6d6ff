//! Any bytes as a HAR recording for `permatrix init --har`: an error or a
//! suite that loads, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let recording = std::path::Path::new("fuzz.har");
    if let Ok(suite) = permatrix::import::init::har_text(recording, bytes) {
        let loaded = permatrix::suite::load_str(
            std::path::Path::new("suite.yaml"),
            &suite,
            &permatrix::suite::LoadOptions::default(),
        );
        assert!(loaded.is_ok(), "init wrote a suite that does not load:\n{suite}");
    }
});
