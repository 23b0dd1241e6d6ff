//! The suites shipped in suites/ pass against the embedded mock with no
//! environment: the README's main command, as a test.

use std::process::Command;

#[test]
fn the_shipped_suites_pass_against_the_mock_with_no_environment() {
    let root = env!("CARGO_MANIFEST_DIR");
    let output = Command::new(env!("CARGO_BIN_EXE_permatrix"))
        .args(["run", "suites/", "--quiet"])
        .current_dir(root)
        .env_clear()
        .output()
        .expect("run permatrix");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    let tally = stdout.lines().last().unwrap_or_default();
    assert!(tally.ends_with(" passed, 0 failed"), "{stdout}");
    let passed: usize = tally
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(
        passed >= 400,
        "the Jira profile's matrix runs whole: {tally}"
    );
}
