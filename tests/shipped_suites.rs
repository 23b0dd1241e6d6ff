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
    assert!(
        tally.contains(" passed, 0 failed") && !tally.contains("error"),
        "{stdout}"
    );
    assert!(
        tally.contains(" probes"),
        "the shipped suite's tamper probes ran: {tally}"
    );
    assert!(
        tally.ends_with(" verified writes"),
        "the object-level suite's edit was verified: {tally}"
    );
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

fn explain(endpoint: &str, principal: &str) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_permatrix"))
        .args([
            "explain",
            "suites/jira-cloud.yaml",
            "--endpoint",
            endpoint,
            "--principal",
            principal,
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_clear()
        .output()
        .expect("run permatrix");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[test]
fn explain_reads_the_forum_cases() {
    let (code, text) = explain("GET /rest/api/2/permissions", "app-as-admin");
    assert_eq!(code, 0, "{text}");
    for needle in [
        "token    POST http://127.0.0.1:",
        "grant_type: urn:ietf:params:oauth:grant-type:jwt-bearer",
        "assertion: **** (claims {\"iss\":\"urn:atlassian:connect:clientid:",
        "answered 200: token_type Bearer, expires_in 900s, scope READ ACT_AS_USER",
        "needs    scope ADMIN, permission ADMINISTER (the mock's route GET /rest/api/2/permissions)",
        "body     {\"code\":401,\"message\":\"Unauthorized; scope does not match\"}",
        "reading  401 \"scope does not match\"",
        // The lints over the shipped snapshot, with this answer in its place.
        "lint     valid_credentials_rejected: 401 to credentials that work on other endpoints",
        "(over snapshots/jira-cloud.snap with this answer)",
        "app-as-admin's credentials work (app-as-admin reached GET /rest/api/2/myself), yet GET /rest/api/2/permissions answered it 401 while admin got 200",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    // admin's 200 is the other side of that shape, not a finding about admin.
    let (_, text) = explain("GET /rest/api/2/permissions", "admin");
    assert!(!text.contains("\nlint "), "{text}");
    let (code, text) = explain("GET /rest/api/2/settings/columns", "app");
    assert_eq!(code, 0, "{text}");
    for needle in [
        "qsh      canonical request GET&/rest/api/2/settings/columns&",
        "(the token's qsh claim matches)",
        "needs    scope INACCESSIBLE, permission ADMINISTER",
        "Request not in an authorized API scope",
        "reading  403 \"not in an authorized API scope\"",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    assert!(!text.contains("mock-shared-secret"), "{text}");
}

#[test]
fn a_real_target_without_its_secrets_fails_at_load_naming_them() {
    for (args, env) in [
        (
            vec!["check", "suites/"],
            vec![("JIRA_BASE_URL", "https://example.atlassian.net")],
        ),
        (
            vec!["run", "suites/", "--base-url", "http://127.0.0.1:9"],
            vec![],
        ),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_permatrix"))
            .args(&args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_clear()
            .envs(env)
            .output()
            .expect("run permatrix");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        for variable in [
            "JIRA_ADMIN_EMAIL",
            "JIRA_ADMIN_API_TOKEN",
            "JIRA_USER_EMAIL",
            "JIRA_USER_API_TOKEN",
            "APP_KEY",
            "APP_SECRET",
            "APP_OAUTH_CLIENT_ID",
            "ADMIN_ACCOUNT_ID",
            "AUTH_SERVER",
            "ADMIN_APP_KEY",
            "ADMIN_APP_SECRET",
        ] {
            assert!(
                stderr.contains(&format!("unresolved variable `${{{variable}}}`")),
                "{args:?}: {variable} in:\n{stderr}"
            );
        }
        assert!(
            !stderr.contains("mock-"),
            "no mock secret appears: {stderr}"
        );
        assert!(
            stderr.contains("nothing was run") || args[0] == "check",
            "{stderr}"
        );
    }
}

#[test]
fn the_mocks_credentials_never_leave_for_another_host() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let elsewhere = format!("http://{}", listener.local_addr().expect("addr"));
    let output = Command::new(env!("CARGO_BIN_EXE_permatrix"))
        .args([
            "run",
            "suites/",
            "--no-snapshot",
            "--quiet",
            "--principal",
            "app-as-admin",
        ])
        .arg(format!("--var=AUTH_SERVER={elsewhere}"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_clear()
        .output()
        .expect("run permatrix");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "credentials: the mock serves this run, so its credentials are not sent to {elsewhere}"
        )),
        "{stdout}"
    );
    assert!(
        listener.accept().is_err(),
        "nothing connected to the other host"
    );
}

/// The README's flawed-writes example: the mock's deliberate flaws are found
/// as it says (two refused writes applied, one edit acknowledged and dropped).
#[test]
fn the_flawed_writes_example_finds_its_three_flaws() {
    let output = Command::new(env!("CARGO_BIN_EXE_permatrix"))
        .args(["run", "examples/flawed-writes/suite.yaml", "--no-snapshot"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_clear()
        .output()
        .expect("run permatrix");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let applied: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("DENIED BUT APPLIED"))
        .collect();
    assert_eq!(applied.len(), 2, "{stdout}");
    assert!(
        applied[0].contains("edit the issue › guest")
            && applied[0].contains("trace changed (at /fields/summary)")
    );
    assert!(
        applied[1].contains("delete the issue › guest")
            && applied[1].contains("trace gone (verify 200 → 404)")
    );
    for who in ["admin", "user"] {
        assert!(
            stdout.contains(&format!(
                "reached_but_ignored: edit the issue (v3) × {who} → 204 (trace none)"
            )),
            "{stdout}"
        );
    }
    assert!(
        stdout.ends_with("7 passed, 2 failed, 9 verified writes\n"),
        "{stdout}"
    );
}

/// The forum case needs no expectation: the lints find the impersonation
/// token's 401 on `/rest/api/2/permissions` from the matrix alone, and say why.
#[test]
fn the_forum_case_is_a_lint_finding_of_the_shipped_suite() {
    let output = Command::new(env!("CARGO_BIN_EXE_permatrix"))
        .args([
            "run",
            "suites/jira-cloud.yaml",
            "--no-snapshot",
            "--lints",
            "valid_credentials_rejected",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_clear()
        .output()
        .expect("run permatrix");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "a lint fails nothing: {stdout}"
    );
    let finding = stdout
        .lines()
        .position(|l| {
            l.starts_with(
                "  valid_credentials_rejected: GET /rest/api/2/permissions × app-as-admin → 401; ",
            )
        })
        .unwrap_or_else(|| panic!("no finding for the forum case in:\n{stdout}"));
    let hint = stdout.lines().nth(finding + 1).unwrap_or_default();
    assert!(
        hint.contains("answers 401 for something other than missing or bad credentials")
            && hint.contains("scope"),
        "{hint}"
    );
}

/// `explain` on a refused write that was applied says what the verify request
/// read, the verdict, and a reading; on a delete, teardown removes the issue
/// the restore step recreated.
#[test]
fn explain_tells_a_refused_write_that_was_applied() {
    let explain = |endpoint: &str| {
        let output = Command::new(env!("CARGO_BIN_EXE_permatrix"))
            .args([
                "explain",
                "examples/flawed-writes/suite.yaml",
                "--endpoint",
                endpoint,
                "--principal",
                "guest",
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_clear()
            .output()
            .expect("run permatrix");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    };
    let (code, text) = explain("edit the issue");
    assert_eq!(code, Some(1), "{text}");
    for needle in [
        "trace    changed (at /fields/summary), read by admin's `GET /rest/api/2/issue/${key}` before and after",
        "verdict  DENIED-BUT-APPLIED",
        "reading  the server refused this write but applied it anyway",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    let (code, text) = explain("delete the issue");
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("trace    gone (verify 200 → 404)"), "{text}");
    // Setup made TEST-1; guest's refused delete removed it, the restore step
    // made TEST-2, and teardown deletes that one.
    assert!(
        text.contains("teardown DELETE http://127.0.0.1:")
            && text.contains("/rest/api/2/issue/TEST-2 as admin: 204"),
        "{text}"
    );
}
