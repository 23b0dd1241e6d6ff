//! The shipped suites as cargo tests through the harness: one trial per cell
//! and one snapshot trial per suite, always against the embedded mock.

use std::process::ExitCode;

use permatrix::harness::{HarnessOptions, main_with};

fn main() -> ExitCode {
    let options = HarnessOptions {
        force_mock: true,
        ..HarnessOptions::default()
    };
    main_with("suites", &options)
}
