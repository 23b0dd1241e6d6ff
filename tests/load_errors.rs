//! `permatrix check` and `run` on invalid suites: every problem, located, exit 2.

mod common;

use common::Workspace;

/// One file with many independent problems; each must be reported with its location.
const BROKEN: &str = r#"suite: broken
target:
  base_url: http://127.0.0.1:9
  timout: 5s
principals:
  alice:
    auth: { basic: { username: alice, password: "${NOT_SET_ANYWHERE_PERMATRIX}" } }
  bob:
    auth: none
  bob:
    auth: none
  carol:
    auth: none
groups:
  a: [alice, carol]
  b: [carol]
endpoints:
  - request: GET /one
    expet: { "*": 200 }
  - request: GET /one
    expect: { "*": 200 }
  - request: FETCH
    expect: { "*": 200 }
  - name: statuses
    request: GET /two
    expect: { alice: 999, bob: "3xz", carol: 200 }
  - name: strangers
    request: GET /three
    expect: { mallory: 200, "*": 200 }
  - name: clash
    request: GET /four
    expect: { a: 200, b: 403 }
  - name: incomplete
    request: GET /five
    expect: { alice: 200 }
"#;

#[tokio::test]
async fn check_reports_every_problem_with_its_location() {
    let ws = Workspace::new();
    ws.write("broken.yaml", BROKEN);
    let out = ws.permatrix(&["check", "broken.yaml"]).await;
    assert_eq!(out.code, 2, "{}", out.all());
    let expected = [
        ("broken.yaml:4:3:", "unknown key `timout` in target"),
        ("", "did you mean `timeout`?"),
        (
            "broken.yaml:7:49:",
            "unresolved variable `${NOT_SET_ANYWHERE_PERMATRIX}`",
        ),
        (
            "broken.yaml:10:3:",
            "duplicate key `bob` in principals (first at line 8)",
        ),
        ("broken.yaml:19:5:", "unknown key `expet` in an endpoint"),
        ("", "did you mean `expect`?"),
        (
            "broken.yaml:20:5:",
            "duplicate endpoint name `GET /one` (first at line 18)",
        ),
        ("broken.yaml:22:14:", "malformed request line `FETCH`"),
        (
            "broken.yaml:26:22:",
            "invalid expectation for `alice`: 999 is not an HTTP status",
        ),
        (
            "broken.yaml:26:32:",
            "invalid expectation for `bob`: `3xz` is not an expectation",
        ),
        (
            "broken.yaml:29:15:",
            "`expect` names unknown principal or group `mallory`",
        ),
        (
            "broken.yaml:30:5:",
            "conflicting expectations for principal `carol` in endpoint `clash`",
        ),
        ("", "cell(s) have no expectation"),
        ("", "`incomplete` × `bob`"),
        ("", "`GET /one` × `alice`"),
        ("", "`incomplete` × `carol`"),
    ];
    for (location, message) in expected {
        let found = out
            .stderr
            .lines()
            .any(|l| l.starts_with(location) && l.contains(message));
        assert!(found, "missing {location} {message} in:\n{}", out.stderr);
    }
    assert!(
        out.stderr.trim_end().ends_with("problem(s) found."),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn yaml_syntax_errors_stop_at_the_first_with_a_location() {
    let ws = Workspace::new();
    ws.write(
        "syntax.yaml",
        "suite: s\nprincipals:\n  a: { auth: none\nendpoints: []\n",
    );
    let out = ws.permatrix(&["check", "syntax.yaml"]).await;
    assert_eq!(out.code, 2, "{}", out.all());
    // The flow mapping opened on line 3 is still open when line 4's `:` comes.
    // A file that does not parse may be anything: its position, no line of it.
    assert_eq!(
        out.stderr,
        "syntax.yaml:4:10: error: YAML syntax error: while parsing a flow mapping, did not find expected ',' or '}'\n\n1 problem(s) found.\n",
    );
}

#[tokio::test]
async fn duplicate_suite_names_across_files_are_refused() {
    let ws = Workspace::new();
    let text = "suite: same\ntarget: { base_url: http://127.0.0.1:9 }\nprincipals: { a: { auth: none } }\nendpoints:\n  - request: GET /x\n    expect: { a: 200 }\n";
    ws.write("one.yaml", text);
    ws.write("two.yaml", text);
    let out = ws.permatrix(&["check", "."]).await;
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr.contains("duplicate suite name `same`"),
        "{}",
        out.stderr
    );
    let out = ws.permatrix(&["check", "one.yaml"]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains("1 suite(s) valid, 1 cells"),
        "{}",
        out.stdout
    );
}

#[tokio::test]
async fn auth_and_structure_problems_name_the_fix() {
    let ws = Workspace::new();
    let text = r#"suite: Bad Name
principals:
  a:
    auth: { basik: { username: u, password: p } }
  b:
    auth: { bearer: { token: t }, none: {} }
  c: {}
endpoints:
  - request: GET /x
    json: { a: 1 }
    body: raw
    expect: { "*": [] }
"#;
    ws.write("s.yaml", text);
    let out = ws.permatrix(&["check", "s.yaml"]).await;
    assert_eq!(out.code, 2, "{}", out.all());
    for needle in [
        "s.yaml:1:8: error: suite name `Bad Name` must match [a-z0-9_-]+",
        "s.yaml:4:13: error: unknown auth mode `basik`",
        "did you mean `basic`?",
        "s.yaml:6:11: error: principal `b` needs exactly one auth mode, found 2",
        "s.yaml:7:3: error: principal `c` has no `auth:`",
        "s.yaml:11:5: error: a request has one body, found json and body",
        "s.yaml:12:20: error: invalid expectation for `*`: an empty list accepts no status",
    ] {
        assert!(
            out.stderr.contains(needle),
            "missing {needle} in:\n{}",
            out.stderr
        );
    }
}

#[tokio::test]
async fn missing_files_and_folders_are_reported() {
    let ws = Workspace::new();
    let out = ws.permatrix(&["check", "nope.yaml"]).await;
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr
            .contains("nope.yaml: error: no such file or folder"),
        "{}",
        out.stderr
    );
    std::fs::create_dir(ws.path("empty")).expect("mkdir");
    let out = ws.permatrix(&["run", "empty"]).await;
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr.contains("no *.yaml suite in this folder"),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn values_that_would_misbehave_at_run_time_are_refused_at_load() {
    let ws = Workspace::new();
    let text = r#"suite: strict
target:
  base_url: "http://admin:hunter2@127.0.0.1:9"
  timeout: 0
  rate_limit: 0.0000001/s
principals:
  "": { auth: none }
  a: { auth: { none: { garbage: 1 } } }
  b:
    auth: none
    scopes: [read, [write]]
endpoints:
  - request: GET /x#frag
    expect: { "*": 200 }
  - name: "two\nlines"
    request: GET /y
    headers: { X-Bad: "a\r\nInjected: 1" }
    expect: { "*": 200 }
"#;
    ws.write("s.yaml", text);
    let out = ws.permatrix(&["check", "s.yaml"]).await;
    assert_eq!(out.code, 2, "{}", out.all());
    for needle in [
        "s.yaml:3:13: error: base_url: a base URL must not carry a user name or password",
        "s.yaml:4:12: error: timeout: `0` must be between 1ms and 24h",
        "s.yaml:5:15: error: rate_limit `0.0000001/s` must be a count per s, m or h between 1/h and 1000000/s",
        "s.yaml:7:3: error: principal name must not be empty",
        "s.yaml:8:22: error: auth `none` takes no fields",
        "s.yaml:11:20: error: a scope is a name, found a list (in scopes)",
        "s.yaml:13:14: error: malformed request line `GET /x#frag`: a `#` fragment is never sent",
        "s.yaml:15:5: error: endpoint name \"two\\nlines\" must be one line without control characters",
        "s.yaml:17:23: error: the value of header `X-Bad` must be one line without control characters",
    ] {
        assert!(
            out.stderr.contains(needle),
            "missing {needle} in:\n{}",
            out.stderr
        );
    }
    let message = out
        .stderr
        .lines()
        .find(|l| l.starts_with("s.yaml:3:13:"))
        .unwrap_or_default();
    assert!(
        !message.contains("hunter2"),
        "the message does not repeat the password: {message}"
    );
}

#[tokio::test]
async fn names_that_would_break_test_names_or_snapshots_are_refused() {
    let ws = Workspace::new();
    let text = "suite: names\ntarget: { base_url: \"http://127.0.0.1:9\" }\nprincipals:\n  \" padded\": { auth: none }\n  \"a::b\": { auth: none }\nendpoints:\n  - { request: GET /x, expect: { \"*\": 200 }, snapshot: { body: \"/a: b\" } }\n";
    ws.write("s.yaml", text);
    let out = ws.permatrix(&["check", "s.yaml"]).await;
    assert_eq!(out.code, 2, "{}", out.all());
    for needle in [
        "s.yaml:4:3: error: principal name \" padded\" must not start or end with spaces",
        "s.yaml:5:3: error: principal name \"a::b\" must not contain `::`",
        "snapshot.body `/a: b` must be a JSON pointer",
    ] {
        assert!(
            out.stderr.contains(needle),
            "missing {needle} in:\n{}",
            out.stderr
        );
    }
}

/// One mistake is one error: a principal dropped for its own problem (an
/// unreadable key file) is not reported again by every `expect` entry, group
/// and default that names it; a name no principal has still is, with a hint.
#[tokio::test]
async fn a_principal_with_a_load_error_is_reported_once() {
    let ws = Workspace::new();
    let mut text = String::from(
        "suite: once\ntarget: { base_url: \"http://127.0.0.1:9\" }\nprincipals:\n  signer:\n    auth:\n      jwt: { algorithm: RS256, private_key_file: \"${KEY_DIR}/absent.pem\" }\n  reader: { auth: none }\ngroups:\n  staff: [signer, reader]\ndefaults:\n  expect: { signer: 200, reader: 401 }\nendpoints:\n",
    );
    for i in 0..30 {
        text.push_str(&format!(
            "  - {{ request: GET /e{i}, expect: {{ signer: 403, staff: 401 }} }}\n"
        ));
    }
    text.push_str("  - { request: GET /typo, expect: { signr: 403 } }\n");
    ws.write("s.yaml", &text);
    let dir = ws.path("keys");
    let out = ws
        .permatrix(&[
            "check",
            "s.yaml",
            &format!("--var=KEY_DIR={}", dir.display()),
        ])
        .await;
    assert_eq!(out.code, 2, "{}", out.all());
    let errors: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains(": error: "))
        .collect();
    assert_eq!(errors.len(), 2, "{}", out.stderr);
    assert!(
        errors[0].starts_with("s.yaml:6:50: error: cannot read private_key_file")
            && errors[0].contains("absent.pem"),
        "{}",
        out.stderr
    );
    assert!(
        errors[1]
            .starts_with("s.yaml:43:37: error: `expect` names unknown principal or group `signr`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("did you mean `signer`?"),
        "{}",
        out.stderr
    );
}

/// Fields used while loading (key files, header names, choices) take `${…}`
/// from the environment and `--var` like every other field, with located errors.
#[tokio::test]
async fn key_files_and_token_headers_take_variables() {
    let ws = Workspace::new();
    let data = format!("{}/tests/data", env!("CARGO_MANIFEST_DIR"));
    let text = "suite: keys\ntarget: { base_url: \"http://127.0.0.1:9\" }\nprincipals:\n  signer:\n    auth:\n      jwt:\n        algorithm: \"${ALG}\"\n        private_key_file: \"${KEY_FILE}\"\n        kid: \"${KID}\"\n        header: \"${JWT_HEADER:-Authorization}\"\n        ttl: \"${TTL:-5m}\"\nendpoints:\n  - { request: GET /x, expect: { signer: 200 } }\n";
    ws.write("s.yaml", text);
    let key_file = format!("{data}/ec_private.pem");
    let out = ws
        .permatrix_with_env(
            &["check", "s.yaml", "--var=ALG=ES256"],
            &[("KEY_FILE", &key_file), ("KID", "key-2026")],
        )
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let out = ws
        .permatrix_with_env(
            &["check", "s.yaml", "--var=ALG=RS256", "--var=TTL=forever"],
            &[("KEY_FILE", &key_file)],
        )
        .await;
    assert_eq!(out.code, 2, "{}", out.all());
    for needle in [
        "s.yaml:8:27: error: private_key_file",
        "is not a RS256 PEM private key",
        "s.yaml:9:14: error: unresolved variable `${KID}` in kid",
        "s.yaml:11:14: error: ttl: ",
    ] {
        assert!(
            out.stderr.contains(needle),
            "missing {needle} in:\n{}",
            out.stderr
        );
    }
    ws.write("b.yaml", &text.replace("${KID}", "${BASE_URL}"));
    let out = ws
        .permatrix_with_env(
            &["check", "b.yaml", "--var=ALG=ES256"],
            &[("KEY_FILE", &key_file)],
        )
        .await;
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr.contains(
            "b.yaml:9:14: error: kid is read when the suite loads, before the target is known"
        ),
        "{}",
        out.stderr
    );
}
