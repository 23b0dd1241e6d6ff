//! End-to-end runs of `permatrix run` against the role-model server on loopback.

mod common;

use common::role_server::{
    ALICE_PASSWORD, BOB_PASSWORD, LOGIN_TOKEN, READER_TOKEN, SERVICE_KEY, SESSION_COOKIE,
};
use common::{Workspace, cell, credential_vars, server, suite};

const MATRIX: &str = r#"
vars: { own_item: "none" }
groups:
  users: [alice, bob]
  services: [reader, service]
defaults:
  expect: { anonymous: 401 }
endpoints:
  - request: GET /public
    expect: { "*": 200, anonymous: 200 }
  - request: GET /me
    expect: { "*": allow }
  - name: admin settings
    request: GET /admin/settings
    expect: { alice: 200, "*": deny }
  - name: own item
    request: GET /items/${own_item}
    expect: { users: 200, services: 404 }
"#;

async fn run(ws: &Workspace, extra: &[&str]) -> common::Output {
    let vars = credential_vars();
    let mut args: Vec<&str> = vec!["run", "s.yaml"];
    args.extend(vars.iter().map(String::as_str));
    args.extend(extra);
    ws.permatrix(&args).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_passing_matrix_exits_0_and_prints_the_matrix_and_tally() {
    let (base, stats) = server().await;
    let ws = Workspace::new();
    ws.write("s.yaml", &suite("roles", &base, "", MATRIX));
    let out = run(&ws, &[]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.contains("roles (s.yaml)"), "{}", out.stdout);
    let header = out
        .stdout
        .lines()
        .find(|l| l.contains("anonymous"))
        .expect("matrix header");
    for principal in ["anonymous", "alice", "bob", "reader", "service"] {
        assert!(header.contains(principal), "{header}");
    }
    let admin_row = out
        .stdout
        .lines()
        .find(|l| l.starts_with("admin settings"))
        .expect("row");
    let statuses: Vec<&str> = admin_row.split_whitespace().skip(2).collect();
    assert_eq!(statuses, ["401", "200", "403", "403", "403"]);
    assert!(
        out.stdout.trim_end().ends_with("20 passed, 0 failed"),
        "{}",
        out.stdout
    );
    assert_eq!(stats.total(), 20);
}

#[tokio::test(flavor = "multi_thread")]
async fn failing_cells_exit_1_with_a_line_naming_the_cell_and_the_challenge() {
    let (base, _) = server().await;
    let ws = Workspace::new();
    let rest = r#"
endpoints:
  - request: GET /me
    expect: { "*": 200 }
  - name: admin settings
    request: GET /admin/settings
    expect: { "*": 200, anonymous: 401 }
"#;
    ws.write("s.yaml", &suite("fails", &base, "", rest));
    let out = run(&ws, &[]).await;
    assert_eq!(out.code, 1, "{}", out.all());
    let line = out
        .stdout
        .lines()
        .find(|l| l.contains("› GET /me › anonymous"))
        .expect("failure line");
    assert!(line.starts_with("FAIL"), "{line}");
    assert!(
        line.contains("fails › GET /me › anonymous: expected 200, got 401"),
        "{line}"
    );
    assert!(
        line.contains("WWW-Authenticate: Basic realm=\"demo\""),
        "{line}"
    );
    let line = out
        .stdout
        .lines()
        .find(|l| l.contains("admin settings › bob"))
        .expect("failure line");
    assert!(
        line.contains("expected 200, got 403 · {\"error\":\"forbidden\"}"),
        "{line}"
    );
    assert!(out.stdout.contains("403 ✗"), "{}", out.stdout);
    assert!(
        out.stdout.trim_end().ends_with("6 passed, 4 failed"),
        "{}",
        out.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn json_and_junit_reports_hold_every_cell() {
    let (base, stats) = server().await;
    let ws = Workspace::new();
    let rest = r#"
endpoints:
  - request: GET /me
    expect: { "*": 200, anonymous: deny }
  - name: admin settings
    request: GET /admin/settings
    expect: { "*": 200, anonymous: 401 }
"#;
    ws.write("s.yaml", &suite("reports", &base, "", rest));
    let out = run(&ws, &["--json", "out/r.json", "--junit", "r.xml"]).await;
    assert_eq!(
        out.code,
        2,
        "a report folder that does not exist is an error: {}",
        out.all()
    );
    assert!(
        out.stderr
            .contains("--json out/r.json: the folder out does not exist"),
        "{}",
        out.stderr
    );
    assert_eq!(
        stats.total(),
        0,
        "nothing is sent when a report cannot be written"
    );
    std::fs::create_dir(ws.path("out")).expect("mkdir");
    let out = run(&ws, &["--json", "out/r.json", "--junit", "r.xml"]).await;
    assert_eq!(out.code, 1, "{}", out.all());

    let report = ws.json("out/r.json");
    assert_eq!(report["schema"], "permatrix.run.v1");
    assert_eq!(report["summary"]["passed"], 7);
    assert_eq!(report["summary"]["failed"], 3);
    let suite = &report["suites"][0];
    assert_eq!(suite["name"], "reports");
    assert_eq!(suite["principals"].as_array().map(Vec::len), Some(5));
    let failed = cell(&report, "admin settings", "bob");
    assert_eq!(failed["outcome"], "failed");
    assert_eq!(failed["expected"], "200");
    assert_eq!(failed["status"], 403);
    assert_eq!(failed["request"]["method"], "GET");
    assert_eq!(failed["request"]["url"], format!("{base}/admin/settings"));
    let denied = cell(&report, "GET /me", "anonymous");
    assert_eq!(
        (denied["outcome"].as_str(), denied["expected"].as_str()),
        (Some("passed"), Some("deny"))
    );
    assert_eq!(denied["www_authenticate"], "Basic realm=\"demo\"");

    let xml = ws.read("r.xml");
    assert!(
        xml.contains(r#"<testsuite name="reports" tests="10" skipped="0" errors="0" failures="3""#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<testcase name="admin settings :: bob" classname="reports""#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<failure message="expected 200, got 403"#),
        "{xml}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn denials_are_requested_once_and_429_is_retried_after_retry_after() {
    let (base, stats) = server().await;
    let ws = Workspace::new();
    let rest = r#"
endpoints:
  - name: admin settings
    request: GET /admin/settings
    expect: { alice: 200, "*": deny }
  - request: GET /items/7
    expect: { "*": 404, anonymous: 401 }
  - request: GET /flaky
    expect: { "*": 200 }
"#;
    ws.write(
        "s.yaml",
        &suite("retries", &base, "  retries: 3", rest)
            .replace("  bob:", "  bob:\n    description: x"),
    );
    let out = run(
        &ws,
        &[
            "--principal",
            "alice",
            "--principal",
            "bob",
            "--principal",
            "anonymous",
            "--json",
            "r.json",
        ],
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(
        stats.hits("GET /admin/settings"),
        3,
        "401/403 must not be retried"
    );
    assert_eq!(stats.hits("GET /items/7"), 3, "404 must not be retried");
    // The first /flaky request answers 429 with Retry-After: 1; that cell is retried once.
    assert_eq!(stats.hits("GET /flaky"), 4);
    let report = ws.json("r.json");
    let attempts: Vec<u64> = report["suites"][0]["cells"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["endpoint"] == "GET /flaky")
        .filter_map(|c| c["attempts"].as_u64())
        .collect();
    let mut sorted = attempts.clone();
    sorted.sort();
    assert_eq!(sorted, [1, 1, 2], "{attempts:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mutation_is_never_sent_to_a_real_target_without_permission() {
    let (base, stats) = server().await;
    let ws = Workspace::new();
    let rest = r#"
endpoints:
  - request: POST /items
    json: { name: probe }
    expect: { users: 201, "*": deny }
groups:
  users: [alice, bob]
"#;
    ws.write("s.yaml", &suite("mutations", &base, "", rest));
    let out = run(&ws, &["--json", "r.json"]).await;
    assert_eq!(
        out.code,
        0,
        "skipped cells do not fail the run: {}",
        out.all()
    );
    assert_eq!(stats.hits("POST /items"), 0);
    assert!(
        out.stdout
            .contains("SKIP  mutations: POST not sent to a real target")
            && out
                .stdout
                .contains("5 cells: POST /items × every principal"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .trim_end()
            .ends_with("0 passed, 0 failed, 5 skipped"),
        "{}",
        out.stdout
    );
    assert_eq!(
        cell(&ws.json("r.json"), "POST /items", "bob")["outcome"],
        "skipped"
    );

    let out = run(&ws, &["--allow-mutations"]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(stats.hits("POST /items"), 5);

    ws.write(
        "s.yaml",
        &suite("mutations", &base, "  allow_mutations: true", rest),
    );
    let out = run(&ws, &[]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(stats.hits("POST /items"), 10);
}

#[tokio::test(flavor = "multi_thread")]
async fn redirects_are_recorded_not_followed() {
    let (base, stats) = server().await;
    let ws = Workspace::new();
    let rest = r#"
endpoints:
  - request: GET /old
    expect: { "*": 200 }
"#;
    ws.write("s.yaml", &suite("redirects", &base, "", rest));
    let out = run(&ws, &["--principal", "alice", "--json", "r.json"]).await;
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout
            .contains("expected 200, got 302 · Location: /login-page"),
        "{}",
        out.stdout
    );
    assert_eq!(stats.hits("GET /login-page"), 0);
    assert_eq!(
        cell(&ws.json("r.json"), "GET /old", "alice")["location"],
        "/login-page"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn principal_vars_make_each_principal_request_its_own_object() {
    let (base, stats) = server().await;
    let ws = Workspace::new();
    let rest = r#"
vars: { own_item: "9" }
endpoints:
  - name: own item
    request: GET /items/${own_item}
    expect: { alice: 200, bob: 200, "*": 404, anonymous: 401 }
"#;
    ws.write("s.yaml", &suite("idor", &base, "", rest));
    let out = run(&ws, &["--json", "r.json"]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(
        (
            stats.hits("GET /items/1"),
            stats.hits("GET /items/2"),
            stats.hits("GET /items/9")
        ),
        (1, 1, 3)
    );
    let report = ws.json("r.json");
    assert_eq!(
        cell(&report, "own item", "bob")["request"]["url"],
        format!("{base}/items/2")
    );

    let out = run(&ws, &["--var", "own_item=1", "--json", "r.json"]).await;
    assert_eq!(out.code, 1, "--var wins over principal vars: {}", out.all());
    assert_eq!(cell(&ws.json("r.json"), "own item", "bob")["status"], 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn query_maps_are_merged_and_encoded() {
    let (base, _) = server().await;
    let ws = Workspace::new();
    let rest = r#"
endpoints:
  - request: GET /query?fixed=a%2Bb
    query: { jql: "project = ${project} & more", empty: "" }
    expect: { "*": 200 }
vars: { project: "TEST" }
"#;
    ws.write("s.yaml", &suite("query", &base, "", rest));
    let out = run(&ws, &["--principal", "alice", "--json", "r.json"]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report = ws.json("r.json");
    let cell = cell(&report, "GET /query?fixed=a%2Bb", "alice");
    assert_eq!(
        cell["excerpt"],
        r#"{"query":"fixed=a%2Bb&jql=project%20%3D%20TEST%20%26%20more&empty="}"#
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn in_flight_requests_reach_and_never_exceed_the_concurrency() {
    let (base, stats) = server().await;
    let ws = Workspace::new();
    let mut rest = String::from("endpoints:\n");
    for i in 0..6 {
        rest.push_str(&format!(
            "  - name: work {i}\n    request: GET /work\n    expect: {{ \"*\": 200 }}\n"
        ));
    }
    ws.write("s.yaml", &suite("load", &base, "  concurrency: 4", &rest));
    let out = run(&ws, &[]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(stats.peak.load(std::sync::atomic::Ordering::SeqCst), 4);

    let (base, stats) = server().await;
    ws.write("s.yaml", &suite("load", &base, "  concurrency: 4", &rest));
    let out = run(&ws, &["--concurrency", "3"]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(stats.peak.load(std::sync::atomic::Ordering::SeqCst), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn timeouts_and_refused_connections_are_cell_errors() {
    let (base, _) = server().await;
    let ws = Workspace::new();
    let rest = r#"
endpoints:
  - request: GET /slow
    expect: { "*": 200 }
"#;
    ws.write("s.yaml", &suite("errors", &base, "  timeout: 300ms", rest));
    let out = run(&ws, &["--principal", "alice", "--json", "r.json"]).await;
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout.contains(
            "ERROR errors › GET /slow › alice: expected 200, no response: timed out after 300ms"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .trim_end()
            .ends_with("0 passed, 0 failed, 1 errors"),
        "{}",
        out.stdout
    );
    assert_eq!(
        cell(&ws.json("r.json"), "GET /slow", "alice")["error"]["kind"],
        "timeout"
    );

    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr")
    };
    ws.write(
        "s.yaml",
        &suite("errors", &format!("http://{closed}"), "  retries: 0", rest),
    );
    let out = run(&ws, &["--principal", "alice", "--json", "r.json"]).await;
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout.contains("no response: connection failed"),
        "{}",
        out.stdout
    );
    assert_eq!(
        cell(&ws.json("r.json"), "GET /slow", "alice")["error"]["kind"],
        "connect"
    );

    // Connect errors are retried: `retries: 2` makes three attempts before the error.
    ws.write(
        "s.yaml",
        &suite("errors", &format!("http://{closed}"), "  retries: 2", rest),
    );
    let out = run(&ws, &["--principal", "alice", "--json", "r.json"]).await;
    assert_eq!(out.code, 1, "{}", out.all());
    assert_eq!(
        cell(&ws.json("r.json"), "GET /slow", "alice")["attempts"],
        3
    );

    // --timeout overrides the suite's timeout.
    ws.write("s.yaml", &suite("errors", &base, "  timeout: 30s", rest));
    let out = run(&ws, &["--principal", "alice", "--timeout", "200ms"]).await;
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout.contains("timed out after 200ms"),
        "{}",
        out.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn login_runs_once_and_its_token_or_cookie_is_reused() {
    let (base, stats) = server().await;
    let ws = Workspace::new();
    let text = format!(
        r#"suite: login
target: {{ base_url: "{base}" }}
principals:
  token:
    auth:
      login:
        request: POST /login
        json: {{ username: alice, password: "${{PW}}" }}
        token: /auth/token
  cookie:
    auth:
      login:
        request: POST /login
        form: {{ username: alice, password: "${{PW}}" }}
        cookie: session
  wrong:
    auth:
      login:
        request: POST /login
        json: {{ username: alice, password: wrong-password }}
        token: /auth/token
endpoints:
  - request: GET /admin/settings
    expect: {{ "*": 200 }}
  - request: GET /me
    expect: {{ "*": 200 }}
  - request: GET /items/1
    expect: {{ "*": 200 }}
"#
    );
    ws.write("s.yaml", &text);
    let pw = format!("--var=PW={ALICE_PASSWORD}");
    let out = ws
        .permatrix(&["run", "s.yaml", &pw, "--json", "r.json"])
        .await;
    assert_eq!(out.code, 1, "{}", out.all());
    // Form logins send url-encoded fields, which the service does not accept: only the JSON login succeeds.
    let report = ws.json("r.json");
    for endpoint in ["GET /admin/settings", "GET /me", "GET /items/1"] {
        assert_eq!(cell(&report, endpoint, "token")["outcome"], "passed");
        let wrong = cell(&report, endpoint, "wrong");
        assert_eq!(wrong["outcome"], "error");
        assert_eq!(wrong["error"]["kind"], "auth");
        let message = wrong["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("answered 401") && message.contains("invalid_grant"),
            "{message}"
        );
    }
    assert_eq!(
        stats.hits("POST /login"),
        3,
        "one login per principal, shared by its cells"
    );
    assert!(
        out.stdout
            .contains("ERROR login: no response: credentials: login POST")
            && out
                .stdout
                .contains("6 cells: GET /admin/settings × cookie, wrong"),
        "{}",
        out.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cookie_logins_send_the_session_cookie() {
    let (base, stats) = server().await;
    let ws = Workspace::new();
    let text = format!(
        r#"suite: cookie
target: {{ base_url: "{base}" }}
principals:
  web:
    auth:
      login:
        request: POST {base}/login
        json: {{ username: alice, password: "${{PW}}" }}
        cookie: session
endpoints:
  - request: GET /admin/settings
    expect: {{ "*": 200 }}
  - request: GET /me
    expect: {{ "*": 200 }}
"#
    );
    ws.write("s.yaml", &text);
    let pw = format!("--var=PW={ALICE_PASSWORD}");
    let out = ws.permatrix(&["run", "s.yaml", &pw]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(stats.hits("POST /login"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_reaches_any_output() {
    use base64::Engine;
    let (base, _) = server().await;
    let ws = Workspace::new();
    let text = format!(
        r#"suite: secrets
target: {{ base_url: "{base}" }}
principals:
  alice:
    auth:
      basic: {{ username: alice, password: "${{ALICE_PASSWORD}}" }}
  reader:
    auth:
      bearer: {{ token: "${{READER_TOKEN}}" }}
  service:
    auth:
      header: {{ name: X-API-Key, value: "${{SERVICE_KEY}}" }}
  web:
    auth:
      login:
        request: POST /login
        json: {{ username: alice, password: "${{ALICE_PASSWORD}}" }}
        token: /auth/token
  session:
    auth:
      login:
        request: POST /login
        json: {{ username: alice, password: "${{ALICE_PASSWORD}}" }}
        cookie: session
endpoints:
  - name: echo
    request: GET /echo
    headers: {{ X-Upstream-Token: "${{UPSTREAM}}" }}
    expect: {{ "*": 200 }}
"#
    );
    ws.write("s.yaml", &text);
    let mut vars = credential_vars();
    vars.push("--var=UPSTREAM=upstream-token-0c1d2e".into());
    let mut args = vec!["run", "s.yaml", "--json", "r.json", "--junit", "r.xml"];
    args.extend(vars.iter().map(String::as_str));
    let out = ws.permatrix(&args).await;
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout.contains("you sent [Basic ****] [] [] [****]"),
        "the echo is shown, masked: {}",
        out.stdout
    );
    // The token login's response also set a session cookie: cells keep no cookie
    // jar, so it is not sent back (each cell depends on its credentials alone).
    let web = out
        .stdout
        .lines()
        .find(|l| l.contains("› web: expected 200, got 418"))
        .unwrap_or_default();
    assert!(
        web.contains("you sent [****] [] [] [****] · expectation from expect.\"*\""),
        "{}",
        out.stdout
    );
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("alice:{ALICE_PASSWORD}"));
    let secrets = [
        ALICE_PASSWORD,
        BOB_PASSWORD,
        READER_TOKEN,
        SERVICE_KEY,
        LOGIN_TOKEN,
        SESSION_COOKIE,
        &basic,
        "upstream-token-0c1d2e",
    ];
    for (name, text) in [
        ("terminal", out.all()),
        ("json", ws.read("r.json")),
        ("junit", ws.read("r.xml")),
    ] {
        assert!(!text.is_empty(), "{name} is empty");
        for secret in secrets {
            assert!(!text.contains(secret), "{name} leaks {secret}:\n{text}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn filters_select_cells_and_unknown_principals_are_usage_errors() {
    let (base, stats) = server().await;
    let ws = Workspace::new();
    ws.write("s.yaml", &suite("filters", &base, "", MATRIX));
    let out = run(&ws, &["--filter", "admin", "--json", "r.json"]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(stats.total(), 5);
    let report = ws.json("r.json");
    let cells: Vec<(&str, &str)> = report["suites"][0]["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .map(|c| {
            let text = |key: &str| c[key].as_str().unwrap_or_default();
            (text("endpoint"), text("principal"))
        })
        .collect();
    assert_eq!(
        cells,
        ["anonymous", "alice", "bob", "reader", "service"].map(|p| ("admin settings", p)),
        "the report holds the selected cells, and only them"
    );
    let out = run(&ws, &["--filter", "bob"]).await;
    assert_eq!((out.code, stats.total()), (0, 9), "{}", out.all());
    let out = run(&ws, &["--principal", "mallory"]).await;
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stderr.contains("--principal mallory"), "{}", out.stderr);
    assert_eq!(stats.total(), 9);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_targets_and_invalid_suites_run_nothing_and_exit_2() {
    let (base, stats) = server().await;
    let ws = Workspace::new();
    ws.write("s.yaml", &suite("good", &base, "", MATRIX));
    let out = run(&ws, &["--base-url", "ftp://nowhere"]).await;
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stderr.contains("--base-url"), "{}", out.stderr);

    ws.write("bad.yaml", "suite: bad\nprincipals: { a: { auth: none } }\nendpoints:\n  - request: GET /x\n    expect: { b: 200 }\n");
    let out = ws.permatrix(&["run", "."]).await;
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr
            .contains("bad.yaml:5:15: error: `expect` names unknown principal or group `b`"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("nothing was run"), "{}", out.stderr);
    assert_eq!(stats.total(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_canary_turns_the_principals_denials_into_credentials_rejected() {
    let (base, stats) = server().await;
    let ws = Workspace::new();
    let text = format!(
        r#"suite: canary
target: {{ base_url: "{base}" }}
principals:
  alice:
    canary: GET /me
    auth: {{ basic: {{ username: alice, password: "${{ALICE_PASSWORD}}" }} }}
  stale:
    canary: GET /me
    auth: {{ bearer: {{ token: an-expired-token-123 }} }}
endpoints:
  - request: GET /me
    expect: {{ "*": allow }}
  - name: admin settings
    request: GET /admin/settings
    expect: {{ alice: 200, "*": deny }}
  - request: GET /public
    expect: {{ "*": 200 }}
"#
    );
    ws.write("s.yaml", &text);
    let vars = credential_vars();
    let mut args = vec![
        "run", "s.yaml", "--json", "r.json", "--junit", "r.xml", "--filter", "admin",
    ];
    args.extend(vars.iter().map(String::as_str));
    let out = ws.permatrix(&args).await;
    assert_eq!(out.code, 1, "{}", out.all());
    assert_eq!(
        stats.hits("GET /me"),
        2,
        "canaries run even when filtered out"
    );
    let line = out
        .stdout
        .lines()
        .find(|l| l.contains("admin settings › stale"))
        .expect("line");
    assert!(
        line.starts_with("REJECTED canary › admin settings › stale: credentials rejected: canary `GET /me` was not reached (401); got 401, expected deny"),
        "{line}"
    );
    assert!(out.stdout.contains("401 ⊘"), "{}", out.stdout);
    let report = ws.json("r.json");
    assert_eq!(
        cell(&report, "admin settings", "stale")["outcome"],
        "credentials-rejected"
    );
    assert_eq!(
        cell(&report, "admin settings", "alice")["outcome"],
        "passed"
    );
    assert_eq!(cell(&report, "GET /me", "stale")["outcome"], "failed");
    assert_eq!(
        cell(&report, "admin settings", "stale")["note"],
        "credentials rejected: canary `GET /me` was not reached (401)"
    );
    assert!(ws.read("r.xml").contains(r#"<error message="credentials rejected: canary `GET /me` was not reached (401); got 401, expected deny" type="credentials-rejected"/>"#), "{}", ws.read("r.xml"));
    // explain runs the canary too, and says what it means.
    let mut explain = vec![
        "explain",
        "s.yaml",
        "--endpoint",
        "admin settings",
        "--principal",
        "stale",
    ];
    explain.extend(vars.iter().map(String::as_str));
    let out = ws.permatrix(&explain).await;
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout.contains("verdict  CREDENTIALS-REJECTED"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("reading  credentials rejected: canary `GET /me` was not reached (401): this denial says nothing about the permission"), "{}", out.stdout);
    // A reached endpoint is not a denial: it stays a plain result.
    let out = run_all(&ws, &vars).await;
    assert_eq!(
        cell(&ws.json("r.json"), "GET /public", "stale")["outcome"],
        "passed",
        "{}",
        out.all()
    );
}

async fn run_all(ws: &Workspace, vars: &[String]) -> common::Output {
    let mut args = vec!["run", "s.yaml", "--json", "r.json"];
    args.extend(vars.iter().map(String::as_str));
    ws.permatrix(&args).await
}

#[tokio::test(flavor = "multi_thread")]
async fn github_actions_gets_a_step_summary_and_annotations_and_files_get_written() {
    let (base, _) = server().await;
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &suite("gh", &base, "", MATRIX).replace(
            "expect: { alice: 200, \"*\": deny }",
            "expect: { \"*\": 200 }",
        ),
    );
    ws.write("summary.md", "# earlier step\n");
    let summary = ws.path("summary.md");
    let vars = credential_vars();
    let mut args = vec!["run", "s.yaml", "--markdown", "m.md", "--html", "m.html"];
    args.extend(vars.iter().map(String::as_str));
    let out = ws
        .permatrix_with_env(
            &args,
            &[
                ("GITHUB_ACTIONS", "true"),
                ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap_or_default()),
            ],
        )
        .await;
    assert_eq!(out.code, 1, "{}", out.all());
    let annotation = out
        .stdout
        .lines()
        .find(|l| l.starts_with("::error "))
        .unwrap_or_default();
    let line = ws
        .read("s.yaml")
        .lines()
        .position(|l| l.contains("- name: admin settings"))
        .unwrap_or(0)
        + 1;
    let expected = format!(
        "::error file=s.yaml,line={line},title=gh › admin settings › bob%3A failed::expected 200, got 403"
    );
    assert!(
        annotation.starts_with(&expected),
        "{expected}\n{}",
        out.stdout
    );
    assert_eq!(
        out.stdout
            .lines()
            .filter(|l| l.starts_with("::error "))
            .count(),
        3
    );
    let summary = ws.read("summary.md");
    assert!(
        summary.starts_with("# earlier step\n## gh\n"),
        "appended: {summary}"
    );
    assert!(
        summary.contains("| `admin settings` | 🔒 401 | ✅ 200 | ❌ 403 (expected 200) |"),
        "{summary}"
    );
    assert_eq!(
        ws.read("m.md"),
        summary.trim_start_matches("# earlier step\n")
    );
    assert!(ws.read("m.html").contains("<table class=\"matrix\">"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_large_matrix_runs_every_cell_once_and_reports_them_in_suite_order() {
    // 1,260 cells of 5 principals through one pipeline: each sent once, the
    // concurrency bound held, the report in suite order whatever the finishing order.
    let (base, stats) = server().await;
    let ws = Workspace::new();
    let mut endpoints = String::from("defaults:\n  expect: { anonymous: 401 }\nendpoints:\n");
    for copy in 0..63 {
        endpoints.push_str(&format!(
            "  - {{ name: public {copy}, request: GET /public, expect: {{ \"*\": 200, anonymous: 200 }} }}\n\
             \x20 - {{ name: me {copy}, request: GET /me, expect: {{ \"*\": allow }} }}\n\
             \x20 - {{ name: admin {copy}, request: GET /admin/settings, expect: {{ alice: 200, \"*\": deny }} }}\n\
             \x20 - {{ name: missing {copy}, request: GET /items/7, expect: {{ \"*\": 404, anonymous: 401 }} }}\n"
        ));
    }
    ws.write(
        "s.yaml",
        &suite("large", &base, "  concurrency: 8", &endpoints),
    );
    let out = run(&ws, &["--json", "r.json", "--no-snapshot"]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains("1260 passed, 0 failed"),
        "{}",
        out.stdout
    );
    assert_eq!(stats.total(), 1260, "every cell sent exactly once");
    assert!(
        stats.peak.load(std::sync::atomic::Ordering::SeqCst) <= 8,
        "concurrency held"
    );
    let report = ws.json("r.json");
    let cells = report["suites"][0]["cells"].as_array().expect("cells");
    assert_eq!(cells.len(), 1260);
    let names: Vec<&str> = report["suites"][0]["endpoints"]
        .as_array()
        .expect("endpoints")
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    let principals = ["anonymous", "alice", "bob", "reader", "service"];
    for (i, cell) in cells.iter().enumerate() {
        assert_eq!(cell["endpoint"], names[i / 5], "cell {i} out of order");
        assert_eq!(
            cell["principal"],
            principals[i % 5],
            "cell {i} out of order"
        );
    }
}
