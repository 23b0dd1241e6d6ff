//! `permatrix init --har`: a suite from a recording. `tests/data/har/browser.har`
//! is Chromium browsing the role-model service with five credentials
//! (recorded by `tests/data/har/record.cjs`); `edge.har` is hand-written, a
//! Firefox-like recording with every edge: several hosts, static assets,
//! preflights, ids in paths, secrets in paths, queries and bodies, a JWT, a
//! Digest header. The generated suites are pinned whole
//! (`tests/data/har/snapshots/`, `INSTA_UPDATE=always cargo test --test
//! init_har` after an intended change), replayed and observed against the
//! service, and every output is searched for every credential of the recordings.

mod common;

use base64::Engine;
use common::{Output, Workspace, role_server};
use serde_json::{Value, json};

const BROWSER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/har/browser.har");
const EDGE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/har/edge.har");

/// The environment giving `browser.har`'s principals (suite `demo`) the
/// service's credentials, and its secret body and query fields their values.
fn browser_env(base: &str) -> Vec<(&'static str, String)> {
    vec![
        ("DEMO_BASE_URL", base.to_string()),
        ("DEMO_BASIC_1_USERNAME", "alice".into()),
        ("DEMO_BASIC_1_PASSWORD", role_server::ALICE_PASSWORD.into()),
        ("DEMO_BASIC_2_USERNAME", "bob".into()),
        ("DEMO_BASIC_2_PASSWORD", role_server::BOB_PASSWORD.into()),
        ("DEMO_BEARER_1_TOKEN", role_server::READER_TOKEN.into()),
        ("DEMO_API_KEY_1_X_API_KEY", role_server::SERVICE_KEY.into()),
        ("DEMO_COOKIE_1_SESSION", role_server::SESSION_COOKIE.into()),
        ("DEMO_USERNAME", "alice".into()),
        ("DEMO_PASSWORD", role_server::ALICE_PASSWORD.into()),
        ("DEMO_TOKEN", "any-query-token".into()),
    ]
}

async fn with_env(ws: &Workspace, args: &[&str], env: &[(&'static str, String)]) -> Output {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    ws.permatrix_with_env(args, &env).await
}

/// Fails on a panic or any exit but the ones `init` may give.
fn assert_no_panic(out: &Output, what: &str) {
    assert!(
        (out.code == 0 || out.code == 2) && !out.stderr.contains("panicked"),
        "{what}: exit {}\n{}",
        out.code,
        out.all()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_browser_recording_replays_its_statuses_against_the_service() {
    let (base, _) = common::server().await;
    let ws = Workspace::new();
    let made = ws
        .permatrix(&[
            "init",
            "--har",
            BROWSER,
            "--name",
            "demo",
            "--out",
            "demo.yaml",
        ])
        .await;
    assert_eq!(made.code, 0, "{}", made.all());
    assert!(
        made.stderr
            .contains("wrote demo.yaml (8 endpoints × 6 principals)"),
        "{}",
        made.stderr
    );
    assert!(
        made.stderr
            .contains("skipped 1 request(s) to other hosts: localhost:8765 (1)"),
        "{}",
        made.stderr
    );
    assert!(
        made.stderr.contains("skipped 2 static asset(s)"),
        "{}",
        made.stderr
    );
    let run = with_env(
        &ws,
        &[
            "run",
            "demo.yaml",
            "--allow-mutations",
            "--json",
            "run.json",
        ],
        &browser_env(&base),
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stdout.contains("48 passed, 0 failed"), "{}", run.stdout);
    let report = ws.json("run.json");
    let status = |endpoint: &str, principal: &str| {
        common::cell(&report, endpoint, principal)["status"].clone()
    };
    assert_eq!(status("GET /admin/settings", "basic-1"), 200);
    assert_eq!(status("GET /admin/settings", "basic-2"), 403);
    assert_eq!(status("GET /admin/settings", "cookie-1"), 200);
    assert_eq!(status("GET /items/${item_id}", "anonymous"), 401);
    assert_eq!(status("POST /items", "bearer-1"), 403);
}

#[tokio::test(flavor = "multi_thread")]
async fn observed_then_run_against_the_service() {
    let (base, _) = common::server().await;
    let ws = Workspace::new();
    let env = browser_env(&base);
    let made = with_env(
        &ws,
        &[
            "init",
            "--har",
            BROWSER,
            "--name",
            "demo",
            "--observe",
            "--base-url",
            &base,
            "--out",
            "x.yaml",
        ],
        &env,
    )
    .await;
    assert_eq!(made.code, 0, "{}", made.all());
    assert!(made.stderr.contains("observed "), "{}", made.stderr);
    let suite = ws.read("x.yaml");
    assert!(
        suite.contains(&format!("base_url: \"{base}\""))
            || suite.contains(&format!("base_url: {base}")),
        "{suite}"
    );
    // Every principal's status observed, not only the recorder's.
    assert!(
        suite.contains(r#"expect: { "*": 403, anonymous: 401, basic-1: 200, cookie-1: 200 }"#),
        "{suite}"
    );
    let run = with_env(&ws, &["run", "x.yaml", "--no-snapshot"], &env).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stdout.contains(", 0 failed"), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_suites_made_are_pinned_and_deterministic() {
    let ws = Workspace::new();
    for (name, har) in [("browser", BROWSER), ("edge", EDGE)] {
        let first = ws.permatrix(&["init", "--har", har]).await;
        assert_eq!(first.code, 0, "{}", first.all());
        let again = ws.permatrix(&["init", "--har", har]).await;
        assert_eq!(
            first.stdout, again.stdout,
            "{name}: the same recording made another suite"
        );
        insta::with_settings!({ snapshot_path => "data/har/snapshots", prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!(name, first.stdout);
        });
        let check = {
            ws.write(&format!("{name}.yaml"), &first.stdout);
            ws.permatrix(&["check", &format!("{name}.yaml")]).await
        };
        assert_eq!(check.code, 0, "{name}: {}", check.all());
    }
}

/// Every credential of the edge recording, in the forms it could leak in.
fn edge_secrets() -> Vec<String> {
    let har: Value = serde_json::from_str(&std::fs::read_to_string(EDGE).unwrap()).unwrap();
    let mut secrets: Vec<String> = [
        "dave",
        "dave-pass-31",
        "edge-api-key-5521",
        "sess-cookie-abc123",
        "a/b+c=secret-88",
        "a%2Fb%2Bc%3Dsecret-88",
        "other-token-99",
        "query-api-key-7731",
        "oauth-code-4242",
        "id-token-subject",
        "body-password-42",
        "body-client-secret-9",
        "form-password-77",
        "csrf-token-value-66",
        "digest-response-123",
        "9f8e7d6c5b4a39281706f5e4d3c2b1a0",
        // A JWT's claims are not written either.
        "user-7781",
        "carol@example.com",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for entry in har["log"]["entries"].as_array().unwrap() {
        for header in entry["request"]["headers"].as_array().unwrap() {
            if header["name"] == "Authorization" {
                let value = header["value"].as_str().unwrap();
                secrets.push(value.to_string());
                if let Some((_, rest)) = value.split_once(' ') {
                    secrets.push(rest.to_string());
                }
            }
        }
        let url = entry["request"]["url"].as_str().unwrap();
        if let Some((_, jwt)) = url.split_once("id_token=") {
            secrets.push(jwt.to_string());
        }
    }
    secrets
}

/// Every credential of the browser recording, in the forms it could leak in.
fn browser_secrets() -> Vec<String> {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    vec![
        "alice".into(),
        "bob".into(),
        role_server::ALICE_PASSWORD.into(),
        role_server::BOB_PASSWORD.into(),
        b64(&format!("alice:{}", role_server::ALICE_PASSWORD)),
        b64(&format!("bob:{}", role_server::BOB_PASSWORD)),
        role_server::READER_TOKEN.into(),
        role_server::SERVICE_KEY.into(),
        role_server::SESSION_COOKIE.into(),
        role_server::LOGIN_TOKEN.into(),
        "query-token-9d8e7f".into(),
    ]
}

fn assert_no_secret(text: &str, secrets: &[String], what: &str) {
    for secret in secrets {
        let forms = [
            secret.clone(),
            percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC)
                .to_string(),
            url::form_urlencoded::byte_serialize(secret.as_bytes()).collect(),
            base64::engine::general_purpose::STANDARD.encode(secret),
        ];
        for form in forms {
            assert!(
                !text.contains(&form),
                "{what} holds the credential `{form}`:\n{text}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_credential_of_a_recording_reaches_any_output() {
    let (base, _) = common::server().await;
    let ws = Workspace::new();
    let edge = edge_secrets();
    for args in [
        vec!["init", "--har", EDGE],
        vec!["init", "--har", EDGE, "--out", "edge.yaml", "--force"],
        vec!["init", "--har", EDGE, "--host", "tracker.example.net"],
        vec!["init", "--har", EDGE, "--host", "nowhere.example"],
        vec![
            "init",
            "--har",
            EDGE,
            "--observe",
            "--base-url",
            &base,
            "--out",
            "edge-observed.yaml",
        ],
    ] {
        let out = ws.permatrix(&args).await;
        assert_no_panic(&out, &args.join(" "));
        assert_no_secret(&out.all(), &edge, &args.join(" "));
    }
    assert_no_secret(&ws.read("edge.yaml"), &edge, "edge.yaml");
    assert_no_secret(&ws.read("edge-observed.yaml"), &edge, "edge-observed.yaml");

    let browser = browser_secrets();
    let out = ws
        .permatrix(&["init", "--har", BROWSER, "--name", "demo"])
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert_no_secret(&out.all(), &browser, "init --har browser.har");
    // Observing with the credentials set: the run's notes and the suite still hold none.
    let out = with_env(
        &ws,
        &[
            "init",
            "--har",
            BROWSER,
            "--name",
            "demo",
            "--observe",
            "--out",
            "browser.yaml",
        ],
        &browser_env(&base),
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert_no_secret(&out.all(), &browser, "init --har browser.har --observe");
    assert_no_secret(&ws.read("browser.yaml"), &browser, "browser.yaml");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_host_is_the_most_frequent_or_the_one_asked_for() {
    let ws = Workspace::new();
    let out = ws
        .permatrix(&["init", "--har", EDGE, "--host", "tracker.example.net"])
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout
            .contains("base_url: ${TRACKER_EXAMPLE_NET_BASE_URL:-https://tracker.example.net}"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("request: POST /collect?tid=UA-1"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("body: ev=pageview"), "{}", out.stdout);
    assert!(
        out.stderr.contains("shop.example.com (22)"),
        "{}",
        out.stderr
    );

    let out = ws
        .permatrix(&[
            "init",
            "--har",
            EDGE,
            "--host",
            "shop.example.com:8443",
            "--name",
            "health",
        ])
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout
            .contains("${HEALTH_BASE_URL:-https://shop.example.com:8443}"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("request: GET /api/health"),
        "{}",
        out.stdout
    );

    let out = ws
        .permatrix(&["init", "--har", EDGE, "--host", "nowhere.example"])
        .await;
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr
            .contains("edge.har: no request to host `nowhere.example`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("tracker.example.net (2)"),
        "{}",
        out.stderr
    );

    // A tie goes to the host recorded first.
    let har = recording(vec![
        entry("GET", "http://b.example/one", 200, &[]),
        entry("GET", "http://a.example/two", 200, &[]),
    ]);
    ws.write("tie.har", &har.to_string());
    let out = ws.permatrix(&["init", "--har", "tie.har"]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.contains("suite: b-example"), "{}", out.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn ids_become_variables_and_a_principals_own_ids_its_vars() {
    let ws = Workspace::new();
    let out = ws.permatrix(&["init", "--har", EDGE]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let suite = &out.stdout;
    for line in [
        "  user_id: \"42\"\n",
        "  order_id: \"0b5e6a34-3c9f-4f0e-9a55-6f7b2a1e9c10\"\n",
        "  file_id: \"5f2b8c9d0e1f2a3b4c5d6e7f\"\n",
        "  password_reset_id: ${SHOP_EXAMPLE_COM_PASSWORD_RESET_ID:-}",
        "request: GET /api/users/${user_id}/orders/${order_id}\n",
        "  api-key-1:\n    vars: { user_id: \"44\" }\n",
        "request: PATCH /api/notes/${note_id_2}\n",
        // dave asked for user 42 too: his cell is that status, with no own id,
        // and what he got for his own user stays in view.
        "      basic-1: 403   # recorded 200 with other ids (entry 14)\n",
    ] {
        assert!(suite.contains(line), "missing {line:?} in\n{suite}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn principals_from_a_suite_expect_any_and_keep_what_was_recorded_as_comments() {
    let ws = Workspace::new();
    ws.write(
        "people.yaml",
        "suite: people\ntarget:\n  base_url: ${PEOPLE_URL:-http://127.0.0.1:9}\nprincipals:\n  anonymous:\n    auth: none\n  admin:\n    auth:\n      basic: { username: admin, password: \"${ADMIN_PASSWORD:-}\" }\nendpoints:\n  - request: GET /\n    expect: { \"*\": any }\n",
    );
    let out = ws
        .permatrix(&["init", "--har", EDGE, "--principals", "people.yaml"])
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let suite = &out.stdout;
    assert!(suite.contains("  admin:\n    auth:\n      basic: { username: admin, password: \"${ADMIN_PASSWORD:-}\" }"), "{suite}");
    assert!(!suite.contains("bearer-1"), "{suite}");
    assert!(
        suite.contains("base_url: ${PEOPLE_URL:-http://127.0.0.1:9}"),
        "{suite}"
    );
    assert!(suite.contains("# recorded: [200, 401, 403]\n"), "{suite}");
    assert!(
        suite.contains("defaults:\n  expect: { \"*\": any }") || !suite.contains("basic-1"),
        "{suite}"
    );
    assert!(out.stderr.contains("with --principals"), "{}", out.stderr);
}

/// A HAR 1.2 document holding `entries`.
fn recording(entries: Vec<Value>) -> Value {
    json!({ "log": { "version": "1.2", "creator": { "name": "test", "version": "1" }, "entries": entries } })
}

fn entry(method: &str, url: &str, status: u16, headers: &[(&str, &str)]) -> Value {
    let headers: Vec<Value> = headers
        .iter()
        .map(|(n, v)| json!({ "name": n, "value": v }))
        .collect();
    json!({
        "request": { "method": method, "url": url, "headers": headers },
        "response": { "status": status, "content": { "mimeType": "application/json" } }
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn bodies_too_large_or_binary_are_left_out_and_304_is_200() {
    let ws = Workspace::new();
    let mut large = entry("POST", "http://h.example/upload", 201, &[]);
    large["request"]["postData"] = json!({ "mimeType": "text/plain", "text": "x".repeat(70_000) });
    let mut binary = entry("POST", "http://h.example/bin", 201, &[]);
    binary["request"]["postData"] =
        json!({ "mimeType": "application/octet-stream", "text": "\u{0}\u{1}abc" });
    let har = recording(vec![
        large,
        binary,
        entry("GET", "http://h.example/cached", 304, &[]),
    ]);
    ws.write("bodies.har", &har.to_string());
    let out = ws.permatrix(&["init", "--har", "bodies.har"]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout
            .contains("the recorded body (70000 bytes) is over 64 KiB: not written"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("binary body: not written"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("request: GET /cached\n    expect: { \"*\": 200 }"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("xxxxxxxx"), "{}", out.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn broken_recordings_are_errors_naming_the_file_never_panics() {
    let ws = Workspace::new();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty.har", Vec::new()),
        ("text.har", b"not a recording".to_vec()),
        ("open.har", b"{\n  \"log\": {\n    \"entries\": [\n".to_vec()),
        ("array.har", b"[]".to_vec()),
        ("nolog.har", b"{\"version\": \"1.2\"}".to_vec()),
        ("noentries.har", b"{\"log\": {}}".to_vec()),
        ("entriesmap.har", b"{\"log\": {\"entries\": {}}}".to_vec()),
        ("latin1.har", b"{\"log\": {\"entries\": [{\"request\": {\"method\": \"GET\", \"url\": \"http://h/\xe9\"}}]}}".to_vec()),
        ("deep.har", format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes()),
        ("bom.har", [b"\xEF\xBB\xBF".as_slice(), recording(vec![entry("GET", "http://h.example/a", 200, &[])]).to_string().as_bytes()].concat()),
    ];
    for (name, bytes) in &cases {
        std::fs::write(ws.path(name), bytes).unwrap();
        let out = ws.permatrix(&["init", "--har", name]).await;
        assert_no_panic(&out, name);
        if *name == "bom.har" {
            assert_eq!(out.code, 0, "{name}: {}", out.all());
            continue;
        }
        assert_eq!(out.code, 2, "{name}: {}", out.all());
        assert!(out.stderr.contains(name), "{name}: {}", out.stderr);
    }
    let out = ws.permatrix(&["init", "--har", "open.har"]).await;
    assert!(out.stderr.contains("open.har:4:1:"), "{}", out.stderr);

    // Entries of every wrong shape are skipped with a warning; the rest is made.
    let har = json!({ "log": { "entries": [
        null,
        {},
        { "request": null },
        { "request": { "method": 7, "url": "http://h.example/a" } },
        { "request": { "method": "GET" } },
        { "request": { "method": "GET", "url": "/relative" } },
        { "request": { "method": "G E T", "url": "http://h.example/a" } },
        { "request": { "method": "GET", "url": "http://h.example/ok", "headers": "nope", "postData": [] },
          "response": { "status": "200", "content": null } },
        { "request": { "method": "GET", "url": "http://h.example/ok2", "headers": [{ "name": "X-Bad\n", "value": "v" }, { "name": "X-Fine", "value": "a\r\nb" }, 5] },
          "response": { "status": 99999 } },
        { "request": { "method": "POST", "url": "http://h.example/ok3", "postData": { "mimeType": 5, "text": ["x"] } },
          "response": { "status": 201 } },
    ] } });
    ws.write("shapes.har", &har.to_string());
    let out = ws.permatrix(&["init", "--har", "shapes.har"]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stdout.contains("request: GET /ok\n"), "{}", out.stdout);
    assert!(
        out.stdout.contains("request: POST /ok3\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr
            .contains("warning: shapes.har: entry 1: null instead of an entry (skipped)"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("more unreadable entries skipped"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("1 without a response"),
        "{}",
        out.stderr
    );

    // The browser recording cut anywhere: an error, never a panic.
    let whole = std::fs::read(BROWSER).unwrap();
    for i in 1..40 {
        let cut = &whole[..whole.len() * i / 40];
        std::fs::write(ws.path("cut.har"), cut).unwrap();
        let out = ws.permatrix(&["init", "--har", "cut.har"]).await;
        assert_no_panic(&out, &format!("cut at {}", cut.len()));
        assert_eq!(out.code, 2, "cut at {}: {}", cut.len(), out.all());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn graphql_operations_on_one_url_are_endpoints_of_their_own() {
    let ws = Workspace::new();
    let graphql = |body: Value| {
        let mut e = entry("POST", "http://h.example/graphql", 200, &[]);
        e["request"]["postData"] =
            json!({ "mimeType": "application/json", "text": body.to_string() });
        e
    };
    let har = recording(vec![
        graphql(json!({ "query": "query { me { id } }" })),
        graphql(json!({ "query": "mutation { deleteUser(id: 5) { ok } }" })),
        graphql(
            json!({ "query": "query Orders($n: Int) { orders(first: $n) { id } }", "operationName": "Orders" }),
        ),
        graphql(json!({ "query": "query { me { name } }" })),
    ]);
    ws.write("graphql.har", &har.to_string());
    let out = ws.permatrix(&["init", "--har", "graphql.har"]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let names: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("  - name: "))
        .collect();
    assert_eq!(
        names,
        [
            "POST /graphql (query me)",
            "POST /graphql (mutation deleteUser)",
            "POST /graphql (Orders)"
        ],
        "{}",
        out.stdout
    );
}

#[test]
fn recordings_the_fuzzer_found_make_suites_that_load() {
    common::made_suites_load("har/regressions", |path, bytes| {
        permatrix::import::init::har_text(path, bytes).ok()
    });
}
