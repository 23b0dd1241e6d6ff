//! Recording a real run and replaying it as a mock (issue 21): `run --record`
//! against a loopback server with one caller per auth mode, then the same
//! suite against the recording with the server stopped and no secret given;
//! what the recording holds (no credential, nothing derived from one, fake
//! `vars:` instead), what it answers to what it did not see (501, never a
//! made-up 200), merging a filtered recording, refusing to record the
//! embedded mock, determinism, skipped and errored cells, `permatrix diff`,
//! `--record-max-body` and `--record-headers`.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use common::record_server::{self, FLIPS, RecordServer};
use common::{Output, Workspace};
use serde_json::Value;

/// The variables the suites' credentials read, with the real values the
/// server knows.
const CREDENTIAL_VARS: [(&str, &str); 8] = [
    ("REC_ALICE_PASSWORD", record_server::ALICE_PASSWORD),
    ("REC_BOB_PASSWORD", record_server::BOB_PASSWORD),
    ("REC_READER_TOKEN", record_server::READER_TOKEN),
    ("REC_SERVICE_KEY", record_server::SERVICE_KEY),
    ("REC_PARTNER_KEY", record_server::PARTNER_KEY),
    ("REC_BROWSER_KEY", record_server::BROWSER_KEY),
    ("REC_WEB_PASSWORD", record_server::WEB_PASSWORD),
    ("REC_JWT_SECRET", record_server::JWT_SECRET),
];

/// One principal per auth mode; carol's password is written literally.
const PRINCIPALS_YAML: &str = r#"principals:
  anonymous: { auth: none }
  alice: { auth: { basic: { username: alice, password: "${REC_ALICE_PASSWORD}" } } }
  bob: { auth: { basic: { username: bob, password: "${REC_BOB_PASSWORD}" } } }
  carol: { auth: { basic: { username: carol, password: "carol-literal-pw-4471x" } } }
  reader: { auth: { bearer: { token: "${REC_READER_TOKEN}" } } }
  service: { auth: { header: { name: X-API-Key, value: "${REC_SERVICE_KEY}" } } }
  partner: { auth: { query: { name: api_key, value: "${REC_PARTNER_KEY}" } } }
  browser: { auth: { cookie: { name: session_key, value: "${REC_BROWSER_KEY}" } } }
  web:
    auth:
      login: { request: POST /login, json: { username: webuser, password: "${REC_WEB_PASSWORD}" }, token: /auth/token }
  websess:
    auth:
      login: { request: POST /login, json: { username: webuser, password: "${REC_WEB_PASSWORD}" }, cookie: session }
  signer: { auth: { jwt: { algorithm: HS256, secret: "${REC_JWT_SECRET}", claims: { role: auditor, sub: signer-1 } } } }
"#;

/// A suite whose target is the real server when `REC_BASE` is given and the
/// recording `mock` otherwise; `extra_principals` are appended to
/// [`PRINCIPALS_YAML`] (indented by two spaces), every cell not named by an
/// endpoint expects `any`.
fn suite(name: &str, mock: &str, extra_principals: &str, endpoints: &str) -> String {
    format!(
        "suite: {name}\ntarget:\n  base_url: \"${{REC_BASE:-}}\"\n  mock: {mock}\n  retries: 0\n  timeout: 5s\n{PRINCIPALS_YAML}{extra_principals}defaults:\n  expect: {{ \"*\": any }}\nendpoints:\n{endpoints}"
    )
}

/// The endpoints of the server's table; `exact`: each cell expects the
/// table's status (else `any`); `facts`: each endpoint's snapshot asks for
/// the recorded headers (and `/items/7` for a body value), so the JSON
/// reports carry them to compare.
fn table_endpoints(exact: bool, facts: bool) -> String {
    let mut text = String::new();
    for endpoint in record_server::ENDPOINTS {
        text.push_str(&format!("  - request: \"{endpoint}\"\n"));
        if facts {
            let body = if endpoint.contains("/items/") {
                ", body: /view"
            } else {
                ""
            };
            text.push_str(&format!(
                "    snapshot: {{ headers: [content-type, www-authenticate, location]{body} }}\n"
            ));
        }
        if exact {
            let cells: Vec<String> = record_server::PRINCIPALS
                .iter()
                .map(|p| format!("{p}: {}", record_server::status(endpoint, p, false)))
                .collect();
            text.push_str(&format!("    expect: {{ {} }}\n", cells.join(", ")));
        }
    }
    text
}

/// `--var` arguments pointing the suite at `base` with the real credentials.
fn real_vars(base: &str) -> Vec<String> {
    let mut vars = vec![format!("--var=REC_BASE={base}")];
    vars.extend(
        CREDENTIAL_VARS
            .iter()
            .map(|(name, value)| format!("--var={name}={value}")),
    );
    vars
}

/// Runs permatrix with `args` then `extra`.
async fn permatrix(ws: &Workspace, args: &[&str], extra: &[String]) -> Output {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(extra.iter().map(String::as_str));
    ws.permatrix(&all).await
}

/// Records `suite` (a file in `ws`) against `server` into `file`, with `extra` flags.
async fn record(
    ws: &Workspace,
    server: &RecordServer,
    suite: &str,
    file: &str,
    extra: &[&str],
) -> Output {
    let mut args = vec!["run", suite, "--record", file];
    args.extend(extra);
    permatrix(ws, &args, &real_vars(&server.base)).await
}

/// What a cell of a JSON report says that a replay must reproduce.
fn observed(cell: &Value) -> Value {
    serde_json::json!({
        "outcome": cell["outcome"],
        "status": cell["status"],
        "excerpt": cell["excerpt"],
        "www_authenticate": cell["www_authenticate"],
        "location": cell["location"],
        "facts": cell["facts"],
    })
}

/// Every cell of every suite of a JSON report, by (endpoint, principal).
fn cells(report: &Value) -> BTreeMap<(String, String), Value> {
    let mut cells = BTreeMap::new();
    for suite in report["suites"].as_array().expect("suites") {
        for cell in suite["cells"].as_array().expect("cells") {
            let key = (
                cell["endpoint"].as_str().expect("endpoint").to_string(),
                cell["principal"].as_str().expect("principal").to_string(),
            );
            cells.insert(key, cell.clone());
        }
    }
    cells
}

/// Fails unless `replay` holds the cells of `real`, each observed the same.
fn assert_same_cells(real: &Value, replay: &Value, what: &str) {
    let real = cells(real);
    let replay = cells(replay);
    assert_eq!(
        real.keys().collect::<Vec<_>>(),
        replay.keys().collect::<Vec<_>>(),
        "{what}: the same cells"
    );
    let mut differing = Vec::new();
    for (key, cell) in &real {
        let (real, replayed) = (observed(cell), observed(&replay[key]));
        if real != replayed {
            differing.push(format!("{key:?}\n  real:   {real}\n  replay: {replayed}"));
        }
    }
    assert!(
        differing.is_empty(),
        "{what}: {} cell(s) differ:\n{}",
        differing.len(),
        differing.join("\n")
    );
}

/// A cell's status in a JSON report.
fn status_of(report: &Value, endpoint: &str, principal: &str) -> u64 {
    common::cell(report, endpoint, principal)["status"]
        .as_u64()
        .unwrap_or_else(|| panic!("{endpoint} × {principal} has no status in {report}"))
}

/// A cell's excerpt in a JSON report, or "".
fn excerpt_of(report: &Value, endpoint: &str, principal: &str) -> String {
    common::cell(report, endpoint, principal)["excerpt"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn base64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// Every real secret and every value derived from one: the credentials, the
/// Basic headers' base64, the login's token and cookie, and each JWT the
/// server received with its signature.
fn secrets(server: &RecordServer) -> Vec<String> {
    use record_server::*;
    let mut secrets: Vec<String> = [
        ALICE_PASSWORD,
        BOB_PASSWORD,
        CAROL_PASSWORD,
        READER_TOKEN,
        SERVICE_KEY,
        PARTNER_KEY,
        BROWSER_KEY,
        WEB_PASSWORD,
        LOGIN_TOKEN,
        SESSION_COOKIE,
        JWT_SECRET,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for (user, password) in [
        ("alice", ALICE_PASSWORD),
        ("bob", BOB_PASSWORD),
        ("carol", CAROL_PASSWORD),
    ] {
        secrets.push(base64(&format!("{user}:{password}")));
    }
    let mut jwts = 0;
    for seen in server.shared.seen() {
        let Some(token) = seen.strip_prefix("Bearer ") else {
            continue;
        };
        let parts: Vec<&str> = token.split('.').collect();
        if parts.len() == 3 {
            jwts += 1;
            secrets.push(token.to_string());
            secrets.push(parts[2].to_string());
        }
    }
    assert!(jwts > 0, "the server received no JWT: the signer never ran");
    let seen = server.shared.seen();
    for (what, value) in [
        ("the login-issued token", format!("Bearer {LOGIN_TOKEN}")),
        (
            "the login's session cookie",
            format!("session={SESSION_COOKIE}"),
        ),
        ("the query key", format!("api_key={PARTNER_KEY}")),
    ] {
        assert!(
            seen.iter().any(|s| s.contains(&value)),
            "{what} never reached the server: {seen:?}"
        );
    }
    secrets
}

/// Fails when `text` holds any of `secrets`, naming it.
fn assert_no_secret(what: &str, text: &str, secrets: &[String]) {
    for secret in secrets {
        assert!(
            !text.contains(secret.as_str()),
            "{what} holds the secret {secret:?}:\n{text}"
        );
    }
}

/// The recording parsed as YAML.
fn recording_yaml(text: &str) -> Value {
    serde_saphyr::from_str::<Value>(text)
        .unwrap_or_else(|e| panic!("the recording is not YAML: {e}\n{text}"))
}

/// A scalar of the recording as text.
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
        other => Some(other.to_string()),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recording_replays_every_auth_mode_offline_with_no_secret_given() {
    let server = record_server::start().await;
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &suite("rec", "rec.yaml", "", &table_endpoints(true, true)),
    );
    let real = record(&ws, &server, "s.yaml", "rec.yaml", &["--json", "real.json"]).await;
    assert_eq!(real.code, 0, "{}", real.all());
    let real_report = ws.json("real.json");
    // The server answered each mode as its table says: the recording has something to tell apart.
    for endpoint in record_server::ENDPOINTS {
        for principal in record_server::PRINCIPALS {
            assert_eq!(
                status_of(&real_report, endpoint, principal),
                u64::from(record_server::status(endpoint, principal, false)),
                "{endpoint} × {principal}"
            );
        }
    }

    let recording = ws.read("rec.yaml");
    assert_no_secret("the recording", &recording, &secrets(&server));
    // Fake values for every variable a credential reads, none of them the real one.
    let def = recording_yaml(&recording);
    for (name, real_value) in CREDENTIAL_VARS {
        let fake = scalar(&def["vars"][name])
            .unwrap_or_else(|| panic!("the recording's vars declare no {name}:\n{recording}"));
        assert!(!fake.is_empty(), "{name} is empty");
        assert_ne!(fake, real_value, "{name} holds the real secret");
    }

    let requests = server.shared.requests();
    server.stop().await;

    // The same suite, no variable given: base_url is empty, the recording serves it.
    let replay = ws
        .permatrix(&["run", "s.yaml", "--json", "replay.json"])
        .await;
    assert_eq!(replay.code, real.code, "{}", replay.all());
    let replay_report = ws.json("replay.json");
    assert_ne!(
        replay_report["suites"][0]["target"], real_report["suites"][0]["target"],
        "the replay went to the recording, not to the real server"
    );
    assert_same_cells(&real_report, &replay_report, "var-free replay");

    // --mock sends it to the recording whatever the base URL says.
    let forced = ws
        .permatrix(&[
            "run",
            "s.yaml",
            "--mock",
            "--var=REC_BASE=http://127.0.0.1:9",
            "--json",
            "forced.json",
        ])
        .await;
    assert_eq!(forced.code, real.code, "{}", forced.all());
    assert_same_cells(&real_report, &ws.json("forced.json"), "--mock replay");

    assert_eq!(
        server.shared.requests(),
        requests,
        "a replay sent a request to the real server"
    );
    let secrets = secrets(&server);
    for (what, text) in [
        ("the replay's output", replay.all()),
        ("the replay's report", ws.read("replay.json")),
        ("the --mock replay's output", forced.all()),
        ("the --mock replay's report", ws.read("forced.json")),
    ] {
        assert_no_secret(what, &text, &secrets);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_echoed_in_bodies_and_headers_stay_out_of_the_recording() {
    let server = record_server::start().await;
    let ws = Workspace::new();
    let endpoints =
        "  - request: GET /echo\n  - request: GET /echo-challenge\n  - request: GET /me\n";
    ws.write("s.yaml", &suite("echoes", "rec.yaml", "", endpoints));
    let real = record(
        &ws,
        &server,
        "s.yaml",
        "rec.yaml",
        &["--record-headers", "X-Echo", "--json", "real.json"],
    )
    .await;
    assert_eq!(real.code, 0, "{}", real.all());
    let real_report = ws.json("real.json");
    // The server did echo: alice's credential was in her answer (masked in the report).
    assert_eq!(status_of(&real_report, "GET /echo", "alice"), 200);
    assert!(
        excerpt_of(&real_report, "GET /echo", "alice").contains("authorization"),
        "{real_report}"
    );
    let secrets = secrets(&server);
    let recording = ws.read("rec.yaml");
    assert_no_secret("the recording", &recording, &secrets);

    server.stop().await;
    let replay = ws
        .permatrix(&["run", "s.yaml", "--json", "replay.json"])
        .await;
    assert_eq!(replay.code, real.code, "{}", replay.all());
    let replay_report = ws.json("replay.json");
    for ((endpoint, principal), cell) in cells(&real_report) {
        assert_eq!(
            cell["status"],
            common::cell(&replay_report, &endpoint, &principal)["status"],
            "{endpoint} × {principal}"
        );
    }
    assert_no_secret("the replay's output", &replay.all(), &secrets);
    assert_no_secret("the replay's report", &ws.read("replay.json"), &secrets);
}

#[tokio::test(flavor = "multi_thread")]
async fn what_was_not_recorded_answers_501_never_a_made_up_200() {
    let server = record_server::start().await;
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &suite("rec", "rec.yaml", "", &table_endpoints(false, false)),
    );
    let real = record(&ws, &server, "s.yaml", "rec.yaml", &[]).await;
    assert_eq!(real.code, 0, "{}", real.all());
    server.stop().await;

    // After recording, the suite grows an endpoint and a principal; alice's password changes.
    let grown = suite(
        "rec",
        "rec.yaml",
        "  newcomer: { auth: { bearer: { token: newcomer-literal-token-51 } } }\n",
        &format!(
            "{}  - request: GET /brand-new\n",
            table_endpoints(false, false)
        ),
    );
    ws.write("grown.yaml", &grown);
    let out = ws
        .permatrix(&[
            "run",
            "grown.yaml",
            "--var=REC_ALICE_PASSWORD=not-the-recorded-password-9",
            "--json",
            "r.json",
        ])
        .await;
    let report = ws.json("r.json");
    for principal in ["anonymous", "bob", "reader"] {
        assert_eq!(
            status_of(&report, "GET /brand-new", principal),
            501,
            "{}",
            out.all()
        );
        let excerpt = excerpt_of(&report, "GET /brand-new", principal);
        assert!(
            excerpt.contains("GET") && excerpt.contains("/brand-new"),
            "the 501 names the route: {excerpt}"
        );
    }
    for (endpoint, principal) in [
        ("GET /me", "newcomer"),
        ("GET /reports", "newcomer"),
        ("GET /me", "alice"),
        ("GET /admin/settings", "alice"),
    ] {
        assert_eq!(
            status_of(&report, endpoint, principal),
            501,
            "{endpoint} × {principal}: {}",
            out.all()
        );
        let excerpt = excerpt_of(&report, endpoint, principal);
        assert!(
            excerpt.to_lowercase().contains("unknown"),
            "{endpoint} × {principal}: the 501 says the caller is unknown: {excerpt}"
        );
    }
    // The recorded callers are still told apart.
    assert_eq!(status_of(&report, "GET /me", "bob"), 200);
    assert_eq!(status_of(&report, "GET /admin/settings", "bob"), 403);
    assert_eq!(status_of(&report, "GET /me", "anonymous"), 401);
    assert_eq!(status_of(&report, "GET /reports", "carol"), 404);
    assert_eq!(out.code, 0, "every cell expects any: {}", out.all());

    // `permatrix mock` serves the same recording.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let fake_alice = scalar(&recording_yaml(&ws.read("rec.yaml"))["vars"]["REC_ALICE_PASSWORD"])
        .expect("a fake REC_ALICE_PASSWORD");
    let mock = MockProcess::start(&ws.path("rec.yaml")).await;
    let client = reqwest::Client::new();
    let get = |path: &str, auth: Option<String>| {
        let mut request = client.get(format!("{}{path}", mock.url));
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        async move {
            let response = request.send().await.expect("response");
            let status = response.status().as_u16();
            let challenge = response
                .headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let body = response.text().await.expect("body");
            (status, challenge, body)
        }
    };
    let (status, _, body) = get("/brand-new", None).await;
    assert_eq!(status, 501, "{body}");
    let json: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("not JSON: {body}"));
    assert!(
        json.to_string().contains("GET") && json.to_string().contains("/brand-new"),
        "{json}"
    );
    let alice = |password: &str| Some(format!("Basic {}", base64(&format!("alice:{password}"))));
    let (status, _, body) = get("/me", alice(&fake_alice)).await;
    assert_eq!(
        status, 200,
        "alice with the recording's fake password: {body}"
    );
    assert!(body.contains("alice"), "{body}");
    let (status, _, body) = get("/me", alice("not-the-recorded-password-9")).await;
    assert_eq!(status, 501, "{body}");
    let json: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("not JSON: {body}"));
    assert!(
        json.to_string().to_lowercase().contains("unknown"),
        "{json}"
    );
    let (status, challenge, _) = get("/me", None).await;
    assert_eq!(status, 401);
    assert_eq!(challenge.as_deref(), Some("Basic realm=\"rec\""));
}

/// `permatrix mock FILE --port 0`, killed when dropped.
struct MockProcess {
    child: std::process::Child,
    url: String,
}

impl MockProcess {
    async fn start(file: &std::path::Path) -> MockProcess {
        use std::io::{BufRead, BufReader};
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_permatrix"))
            .args(["mock", file.to_str().expect("path"), "--port", "0"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        let stdout = child.stdout.take().expect("stdout");
        // The first line with a URL; the process ending first ends the lines.
        let (url, printed) = tokio::task::spawn_blocking(move || {
            let mut printed = Vec::new();
            for line in BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .take(20)
            {
                let url = line
                    .split_whitespace()
                    .find(|w| w.starts_with("http://127.0.0.1:"))
                    .map(|u| u.trim_end_matches('/').to_string());
                printed.push(line);
                if url.is_some() {
                    return (url, printed);
                }
            }
            (None, printed)
        })
        .await
        .expect("join");
        let Some(url) = url else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("permatrix mock printed no URL: {printed:?}");
        };
        MockProcess { child, url }
    }
}

impl Drop for MockProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_filtered_recording_merges_into_the_file_keeping_the_other_cells() {
    let server = record_server::start().await;
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &suite("merge", "rec.yaml", "", &table_endpoints(false, false)),
    );
    let full = record(&ws, &server, "s.yaml", "rec.yaml", &[]).await;
    assert_eq!(full.code, 0, "{}", full.all());
    let replay = |json: &'static str| {
        let ws = &ws;
        async move {
            let out = ws.permatrix(&["run", "s.yaml", "--json", json]).await;
            assert_eq!(out.code, 0, "{}", out.all());
            ws.json(json)
        }
    };
    let before = replay("before.json").await;

    // The server changes four cells; the re-recording selects one endpoint only.
    server.shared.flip();
    let filtered = record(
        &ws,
        &server,
        "s.yaml",
        "rec.yaml",
        &["--filter", "settings"],
    )
    .await;
    assert_eq!(filtered.code, 0, "{}", filtered.all());
    let after = replay("after.json").await;
    let changed = [("GET /admin/settings", "bob")];
    for ((endpoint, principal), cell) in cells(&before) {
        let now = common::cell(&after, &endpoint, &principal);
        if changed.contains(&(endpoint.as_str(), principal.as_str())) {
            assert_eq!(
                now["status"], 200,
                "{endpoint} × {principal} was re-recorded"
            );
        } else {
            assert_eq!(
                observed(&cell),
                observed(now),
                "{endpoint} × {principal} was kept"
            );
        }
    }

    // Then one principal only.
    let one = record(
        &ws,
        &server,
        "s.yaml",
        "rec.yaml",
        &["--principal", "reader"],
    )
    .await;
    assert_eq!(one.code, 0, "{}", one.all());
    let last = replay("last.json").await;
    let changed = [("GET /admin/settings", "bob"), ("GET /reports", "reader")];
    for ((endpoint, principal), cell) in cells(&before) {
        let now = common::cell(&last, &endpoint, &principal);
        if changed.contains(&(endpoint.as_str(), principal.as_str())) {
            let expected = FLIPS
                .iter()
                .find(|f| f.0 == endpoint && f.1 == principal)
                .map(|f| f.3)
                .expect("a flip");
            assert_eq!(now["status"], expected, "{endpoint} × {principal}");
        } else {
            assert_eq!(
                observed(&cell),
                observed(now),
                "{endpoint} × {principal} was kept"
            );
        }
    }
    // partner's and carol's /reports changed on the server but were not selected.
    assert_eq!(status_of(&last, "GET /reports", "partner"), 200);
    assert_eq!(status_of(&last, "GET /reports", "carol"), 404);
    assert_no_secret(
        "the merged recording",
        &ws.read("rec.yaml"),
        &secrets(&server),
    );
}

/// A small mock definition and a suite it serves.
const TINY_MOCK: &str = r#"mock: tiny
vars:
  TINY_ADMIN_TOKEN: tiny-admin-token-123456
users:
  admin: { email: admin@example.com, api_token: tiny-admin-token-123456, account_id: acc-admin, groups: [admins] }
permissions:
  ADMINISTER: [admins]
routes:
  - { route: GET /rest/api/2/configuration, scope: READ, anonymous: true }
  - { route: GET /rest/api/2/permissions, scope: ADMIN, permission: ADMINISTER }
"#;

const TINY_SUITE: &str = r#"suite: tiny
target: { base_url: "${TINY_BASE:-}", mock: tiny-mock.yaml }
principals:
  anonymous: { auth: none }
  admin: { auth: { basic: { username: admin@example.com, password: "${TINY_ADMIN_TOKEN}" } } }
endpoints:
  - { request: GET /rest/api/2/configuration, expect: { "*": 200 } }
  - { request: GET /rest/api/2/permissions, expect: { anonymous: 401, admin: 200 } }
"#;

#[tokio::test(flavor = "multi_thread")]
async fn recording_the_embedded_mock_is_refused() {
    let ws = Workspace::new();
    ws.write("tiny-mock.yaml", TINY_MOCK);
    ws.write("tiny.yaml", TINY_SUITE);
    let plain = ws.permatrix(&["run", "tiny.yaml"]).await;
    assert_eq!(plain.code, 0, "the suite runs on its mock: {}", plain.all());

    let jira = format!("{}/suites/jira-cloud.yaml", env!("CARGO_MANIFEST_DIR"));
    for (args, file) in [
        (vec!["run", "tiny.yaml", "--record", "r1.yaml"], "r1.yaml"),
        (
            vec![
                "run",
                "tiny.yaml",
                "--mock",
                "--var=TINY_BASE=http://127.0.0.1:9",
                "--record",
                "r2.yaml",
            ],
            "r2.yaml",
        ),
        (vec!["run", jira.as_str(), "--record", "r3.yaml"], "r3.yaml"),
    ] {
        let out = ws.permatrix(&args).await;
        assert_eq!(out.code, 2, "{args:?}: {}", out.all());
        let said = out.all().to_lowercase();
        assert!(
            said.contains("record") && said.contains("mock"),
            "{args:?}: the refusal says why: {}",
            out.all()
        );
        assert!(!ws.path(file).exists(), "{args:?} wrote {file}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_recordings_of_the_same_server_are_byte_identical() {
    let server = record_server::start().await;
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &suite("rec", "rec.yaml", "", &table_endpoints(true, true)),
    );
    let one = record(&ws, &server, "s.yaml", "one.yaml", &["--concurrency", "1"]).await;
    assert_eq!(one.code, 0, "{}", one.all());
    let two = record(&ws, &server, "s.yaml", "two.yaml", &["--concurrency", "16"]).await;
    assert_eq!(two.code, 0, "{}", two.all());
    let (one, two) = (ws.read("one.yaml"), ws.read("two.yaml"));
    assert!(!one.trim().is_empty());
    if one != two {
        let diff = similar::TextDiff::from_lines(&one, &two)
            .unified_diff()
            .header("one.yaml", "two.yaml")
            .to_string();
        panic!("the recordings differ:\n{diff}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn skipped_and_errored_cells_are_not_recorded_and_are_named() {
    let server = record_server::start().await;
    let ws = Workspace::new();
    let text = format!(
        "suite: partial\ntarget:\n  base_url: \"${{REC_BASE:-}}\"\n  mock: rec.yaml\n  retries: 0\n  timeout: 800ms\n{PRINCIPALS_YAML}defaults:\n  expect: {{ \"*\": any }}\nendpoints:\n  - request: GET /public\n  - request: POST /items\n    json: {{ name: probe }}\n  - request: GET /slow\n"
    );
    ws.write("s.yaml", &text);
    // The same run without --record: what it prints anyway.
    let plain = permatrix(&ws, &["run", "s.yaml"], &real_vars(&server.base)).await;
    assert_eq!(plain.code, 1, "/slow errors: {}", plain.all());
    let out = record(&ws, &server, "s.yaml", "rec.yaml", &[]).await;
    assert_eq!(out.code, 1, "{}", out.all());
    let (plain_text, out_text) = (plain.all(), out.all());
    let usual: BTreeSet<&str> = plain_text.lines().collect();
    let added: Vec<&str> = out_text.lines().filter(|l| !usual.contains(l)).collect();
    let added = added.join("\n");
    for endpoint in ["POST /items", "GET /slow"] {
        assert!(
            added.contains(endpoint),
            "--record names {endpoint} as not recorded; it added:\n{added}\n\nall:\n{}",
            out.all()
        );
    }

    server.stop().await;
    let replay = ws.permatrix(&["run", "s.yaml", "--json", "r.json"]).await;
    let report = ws.json("r.json");
    for principal in record_server::PRINCIPALS {
        assert_eq!(
            status_of(&report, "GET /public", principal),
            200,
            "{}",
            replay.all()
        );
        for (endpoint, method, path) in [
            ("POST /items", "POST", "/items"),
            ("GET /slow", "GET", "/slow"),
        ] {
            assert_eq!(
                status_of(&report, endpoint, principal),
                501,
                "{endpoint} × {principal} was not recorded: {}",
                replay.all()
            );
            let excerpt = excerpt_of(&report, endpoint, principal);
            assert!(
                excerpt.contains(method) && excerpt.contains(path),
                "{excerpt}"
            );
        }
    }
}

/// The classes `permatrix diff` must find between the server before and after the flip.
fn expected_changes() -> BTreeSet<(String, String, String, u64, u64)> {
    FLIPS
        .iter()
        .map(|(endpoint, principal, before, after, class)| {
            (
                class.to_string(),
                endpoint.to_string(),
                principal.to_string(),
                u64::from(*before),
                u64::from(*after),
            )
        })
        .collect()
}

/// A status in `diff --json`: a number, or a number written as text.
fn status_number(value: &Value) -> u64 {
    value
        .as_u64()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
        .unwrap_or_else(|| panic!("not a status: {value}"))
}

fn json_changes(report: &Value) -> BTreeSet<(String, String, String, u64, u64)> {
    report["changes"]
        .as_array()
        .unwrap_or_else(|| panic!("no changes array: {report}"))
        .iter()
        .map(|c| {
            (
                c["class"].as_str().expect("class").to_string(),
                c["endpoint"].as_str().expect("endpoint").to_string(),
                c["principal"].as_str().expect("principal").to_string(),
                status_number(&c["before"]),
                status_number(&c["after"]),
            )
        })
        .collect()
}

/// Fails unless `out` (a `diff` that found the flips) exits 1 and prints
/// each change on a line with its class, cell and statuses, and nothing of
/// the cells that stayed.
fn assert_printed_changes(out: &Output, what: &str) {
    assert_eq!(out.code, 1, "{what}: {}", out.all());
    for (class, endpoint, principal, before, after) in expected_changes() {
        assert!(
            out.stdout.lines().any(|l| l.contains(&class)
                && l.contains(&endpoint)
                && l.contains(&principal)
                && l.contains(&before.to_string())
                && l.contains(&after.to_string())),
            "{what}: no line for {class} {endpoint} × {principal}: {before} → {after}:\n{}",
            out.all()
        );
    }
    for stayed in ["GET /public", "GET /me", "GET /legacy"] {
        assert!(
            !out.stdout.contains(stayed),
            "{what}: {stayed} did not change:\n{}",
            out.stdout
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn diff_classifies_what_changed_between_two_recordings_or_two_snapshots() {
    let server = record_server::start().await;
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &suite("flips", "unused.yaml", "", &table_endpoints(false, false)),
    );
    let a = record(&ws, &server, "s.yaml", "a.yaml", &["--snapshots", "snap-a"]).await;
    assert_eq!(a.code, 0, "{}", a.all());
    let again = record(&ws, &server, "s.yaml", "a2.yaml", &[]).await;
    assert_eq!(again.code, 0, "{}", again.all());
    server.shared.flip();
    let b = record(&ws, &server, "s.yaml", "b.yaml", &["--snapshots", "snap-b"]).await;
    assert_eq!(b.code, 0, "{}", b.all());
    assert!(ws.path("snap-a/flips.snap").exists() && ws.path("snap-b/flips.snap").exists());

    let same = ws.permatrix(&["diff", "a.yaml", "a2.yaml"]).await;
    assert_eq!(same.code, 0, "{}", same.all());
    for status in ["200", "401", "403", "404"] {
        assert!(
            !same.stdout.contains(&format!("→ {status}")),
            "nothing changed:\n{}",
            same.stdout
        );
    }

    let recordings = ws
        .permatrix(&["diff", "a.yaml", "b.yaml", "--json", "d.json"])
        .await;
    assert_printed_changes(&recordings, "two recordings");
    assert_eq!(json_changes(&ws.json("d.json")), expected_changes());

    let snapshots = ws
        .permatrix(&[
            "diff",
            "snap-a/flips.snap",
            "snap-b/flips.snap",
            "--json",
            "s.json",
        ])
        .await;
    assert_printed_changes(&snapshots, "two snapshots");
    assert_eq!(json_changes(&ws.json("s.json")), expected_changes());

    let unchanged = ws
        .permatrix(&[
            "diff",
            "snap-a/flips.snap",
            "snap-a/flips.snap",
            "--json",
            "u.json",
        ])
        .await;
    assert_eq!(unchanged.code, 0, "{}", unchanged.all());
    assert!(json_changes(&ws.json("u.json")).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn long_bodies_are_cut_with_a_marker_and_named_headers_are_recorded() {
    let server = record_server::start().await;
    let ws = Workspace::new();
    let endpoints = "  - request: GET /long\n    snapshot: { body: /tail }\n  - request: GET /custom\n    snapshot: { headers: [x-custom, x-other] }\n";
    ws.write("a.yaml", &suite("bodies", "full.yaml", "", endpoints));
    ws.write("b.yaml", &suite("bodies", "cut.yaml", "", endpoints));
    let full = record(
        &ws,
        &server,
        "a.yaml",
        "full.yaml",
        &["--json", "real.json"],
    )
    .await;
    assert_eq!(full.code, 0, "{}", full.all());
    let cut = record(
        &ws,
        &server,
        "b.yaml",
        "cut.yaml",
        &["--record-max-body", "100", "--record-headers", "X-Custom"],
    )
    .await;
    assert_eq!(cut.code, 0, "{}", cut.all());
    let real = ws.json("real.json");
    let facts = |report: &Value, endpoint: &str| {
        common::cell(report, endpoint, "alice")["facts"].to_string()
    };
    assert!(facts(&real, "GET /long").contains("end-of-long-body"));
    assert!(facts(&real, "GET /custom").contains("custom-value-42"));
    assert!(facts(&real, "GET /custom").contains("other-value-17"));

    let (full_file, cut_file) = (ws.read("full.yaml"), ws.read("cut.yaml"));
    assert!(
        !full_file.contains("custom-value-42") && !full_file.contains("other-value-17"),
        "X-Custom and X-Other are recorded only when named:\n{full_file}"
    );
    assert!(
        cut_file.contains("custom-value-42"),
        "--record-headers X-Custom records it:\n{cut_file}"
    );
    assert!(!cut_file.contains("other-value-17"), "{cut_file}");
    for past_the_cut in ["w0030", "w0499", "end-of-long-body"] {
        assert!(
            !cut_file.contains(past_the_cut),
            "--record-max-body 100 keeps {past_the_cut}:\n{cut_file}"
        );
    }

    server.stop().await;
    let replay_full = ws
        .permatrix(&["run", "a.yaml", "--json", "full.json"])
        .await;
    assert_eq!(replay_full.code, 0, "{}", replay_full.all());
    let replay_cut = ws.permatrix(&["run", "b.yaml", "--json", "cut.json"]).await;
    assert_eq!(replay_cut.code, 0, "{}", replay_cut.all());
    let (replay_full, replay_cut) = (ws.json("full.json"), ws.json("cut.json"));

    // Under the default limit (64 KiB) the 3 KB body is served whole.
    assert_eq!(facts(&replay_full, "GET /long"), facts(&real, "GET /long"));
    assert_eq!(
        excerpt_of(&replay_full, "GET /long", "alice"),
        excerpt_of(&real, "GET /long", "alice")
    );
    assert!(!facts(&replay_full, "GET /custom").contains("custom-value-42"));
    assert!(facts(&replay_cut, "GET /custom").contains("custom-value-42"));
    assert!(!facts(&replay_cut, "GET /custom").contains("other-value-17"));

    // Cut: the first 100 bytes at most, then a marker.
    let words: Vec<String> = (0..500).map(|i| format!("w{i:04}")).collect();
    let body =
        serde_json::json!({ "words": words.join(" "), "tail": "end-of-long-body" }).to_string();
    assert!(!facts(&replay_cut, "GET /long").contains("end-of-long-body"));
    for principal in ["anonymous", "alice"] {
        assert_eq!(status_of(&replay_cut, "GET /long", principal), 200);
        let excerpt = excerpt_of(&replay_cut, "GET /long", principal);
        let at = excerpt
            .find(&body[..30])
            .unwrap_or_else(|| panic!("the body's start is served: {excerpt}"));
        let kept = excerpt[at..]
            .chars()
            .zip(body.chars())
            .take_while(|(a, b)| a == b)
            .count();
        assert!(kept <= 100, "more than 100 bytes kept: {excerpt}");
        assert!(
            at > 0 || excerpt.chars().count() > at + kept,
            "no marker says the body was cut: {excerpt}"
        );
        assert!(!excerpt.contains("w0030"), "{excerpt}");
    }
}

/// A small server for what the review found: one request line answered by
/// its body (GraphQL), a rolling session cookie on every answer, and a
/// `Location` naming the server's own origin.
async fn graphql_server() -> String {
    use axum::http::{HeaderMap, StatusCode, header};
    use axum::response::IntoResponse;
    use axum::routing::{get, post};
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let app = axum::Router::new()
        .route(
            "/graphql",
            post(|body: String| async move {
                let answer = if body.contains("viewer") {
                    "{\"data\":{\"viewer\":\"alice\"}}"
                } else {
                    "{\"data\":{\"salary\":null}}"
                };
                ([(header::CONTENT_TYPE, "application/json")], answer)
            }),
        )
        .route(
            "/moved",
            get(move |headers: HeaderMap| {
                let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let host = headers
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                async move {
                    (
                        StatusCode::FOUND,
                        [
                            (header::LOCATION, format!("http://{host}/elsewhere")),
                            (
                                header::SET_COOKIE,
                                format!("rolling=roll-{n:08}-secret; Path=/"),
                            ),
                        ],
                        format!("see http://{host}/elsewhere"),
                    )
                        .into_response()
                }
            }),
        );
    common::serve(app).await
}

/// Two endpoints with one request line and different bodies replay each its
/// own answer; a rolling cookie recorded with --record-headers is masked; the
/// server's origin is not in the file, so recordings of two instances of the
/// same service on two ports are byte-identical; a JWT secret from a suite
/// var is not copied; a principal removed from the suite leaves a merged
/// recording.
#[tokio::test(flavor = "multi_thread")]
async fn bodies_cookies_origins_and_merges_are_recorded_as_replayed() {
    let ws = Workspace::new();
    let suite = |base: &str, extra: &str| {
        format!(
            r#"suite: gql
target: {{ base_url: "${{GQL_URL:-}}", mock: rec.yaml, allow_mutations: true }}
vars: {{ jwt_key: suite-literal-jwt-secret-9988 }}
principals:
  signer: {{ auth: {{ jwt: {{ algorithm: HS256, secret: "${{jwt_key}}", claims: {{ sub: s1 }} }} }} }}
{extra}endpoints:
  - {{ name: viewer, request: POST /graphql, json: {{ query: "{{ viewer }}" }}, expect: {{ "*": 200 }} }}
  - {{ name: salary, request: POST /graphql, json: {{ query: "{{ salary }}" }}, expect: {{ "*": 200 }} }}
  - {{ name: moved, request: GET /moved, expect: {{ "*": 302 }} }}
"#
        ).replace("GQL_URL:-", &format!("GQL_URL:-{base}"))
    };
    let (one, two) = (graphql_server().await, graphql_server().await);
    let mut files = Vec::new();
    for base in [&one, &two] {
        ws.write("s.yaml", &suite(base, "  old: { auth: none }\n"));
        let out = ws
            .permatrix(&[
                "run",
                "s.yaml",
                "--record",
                "rec.yaml",
                "--record-headers",
                "set-cookie",
                "--no-snapshot",
            ])
            .await;
        assert_eq!(out.code, 0, "{}", out.all());
        files.push(ws.read("rec.yaml"));
    }
    assert_eq!(files[0], files[1], "two ports, one recording");
    let text = &files[0];
    for leaked in [
        "roll-0000",
        "suite-literal-jwt-secret",
        one.trim_start_matches("http://"),
    ] {
        assert!(!text.contains(leaked), "{leaked} in the recording:\n{text}");
    }
    assert!(text.contains("{permatrix:origin}/elsewhere"), "{text}");

    // Offline: each body its own answer, the Location on the mock's origin.
    ws.write("s.yaml", &suite("", "  old: { auth: none }\n"));
    let out = ws
        .permatrix(&["run", "s.yaml", "--json", "r.json", "--no-snapshot"])
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report = ws.json("r.json");
    assert!(excerpt_of(&report, "viewer", "signer").contains("alice"));
    assert!(excerpt_of(&report, "salary", "signer").contains("salary"));
    let moved = common::cell(&report, "moved", "old");
    let location = moved["location"].as_str().unwrap_or_default();
    assert!(
        location.starts_with("http://127.0.0.1:") && location.ends_with("/elsewhere"),
        "{moved}"
    );
    assert!(
        !location.contains(one.trim_start_matches("http://")),
        "{moved}"
    );

    // `old` leaves the suite: a merged recording no longer answers for it.
    ws.write("s.yaml", &suite(&one, ""));
    let out = ws
        .permatrix(&[
            "run",
            "s.yaml",
            "--record",
            "rec.yaml",
            "--principal",
            "signer",
            "--no-snapshot",
        ])
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let merged = ws.read("rec.yaml");
    assert!(!merged.contains("old:"), "{merged}");
}
