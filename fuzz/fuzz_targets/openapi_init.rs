//! Any text as an OpenAPI document for `permatrix init`: an error or a suite
//! that loads, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let document = std::path::Path::new("fuzz.yaml");
    if let Ok(suite) = permatrix::import::init::openapi_text(document, text) {
        let loaded = permatrix::suite::load_str(
            std::path::Path::new("suite.yaml"),
            &suite,
            &permatrix::suite::LoadOptions::default(),
        );
        assert!(loaded.is_ok(), "init wrote a suite that does not load:\n{suite}");
    }
});
