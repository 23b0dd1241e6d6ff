//! `permatrix init --openapi`: suites made from documents in each OpenAPI
//! version pinned whole, what every written suite must be (valid,
//! deterministic, secret-free), refusals of bad input, and `--observe`
//! against a server with roles whose answers become the expectations.

mod common;

use std::time::Duration;

use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use common::Workspace;
use common::mutator::Mutator;

/// A document from tests/data/openapi/.
fn fixture(name: &str) -> String {
    format!("{}/tests/data/openapi/{name}", env!("CARGO_MANIFEST_DIR"))
}

async fn init_ok(ws: &Workspace, args: &[&str]) -> String {
    let out = ws.permatrix(args).await;
    assert_eq!(out.code, 0, "{}", out.all());
    out.stdout
}

#[tokio::test]
async fn suites_made_from_each_openapi_version_are_pinned_and_pass_check() {
    let ws = Workspace::new();
    for (name, snapshot) in [
        ("petstore-2.0.yaml", "init_from_swagger_2"),
        ("edge-3.0.yaml", "init_from_openapi_3_0"),
        ("edge-3.1.json", "init_from_openapi_3_1"),
    ] {
        let text = init_ok(&ws, &["init", "--openapi", &fixture(name)]).await;
        insta::assert_snapshot!(snapshot, text);
        let again = init_ok(&ws, &["init", "--openapi", &fixture(name)]).await;
        assert_eq!(
            text, again,
            "{name}: the same document must give the same bytes"
        );
        let file = ws.write(&format!("{snapshot}.yaml"), &text);
        let check = ws.permatrix(&["check", &file.to_string_lossy()]).await;
        assert_eq!(check.code, 0, "{name}: {}", check.all());
    }
}

#[tokio::test]
async fn what_a_document_leaves_open_is_said_in_the_suite_and_on_stderr() {
    let ws = Workspace::new();
    let out = ws
        .permatrix(&["init", "--openapi", &fixture("edge-3.0.yaml")])
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stderr
            .contains("https://schemas.example.com/remote.json#/Thing"),
        "an external $ref is reported: {}",
        out.stderr
    );
    // The server's variables at their defaults, behind a variable of the suite.
    assert!(
        out.stdout
            .contains("${EDGE_CASES_3_0_BASE_URL:-https://acme.api.example.com:8443/v3}"),
        "{}",
        out.stdout
    );
    // A parameter without example becomes a variable with a placeholder and a TODO.
    assert!(
        out.stdout.contains("filter_expr: string   # TODO"),
        "{}",
        out.stdout
    );
    // `#`, spaces and reserved characters in a path or its example are encoded.
    assert!(
        out.stdout
            .contains("request: GET /odd%20path%23frag/${complex_param_name}")
    );
    assert!(out.stdout.contains("request: GET /nodes/a%20b%2Fc%3Fd\n"));
    // A document value that looks like a variable is sent as written.
    assert!(out.stdout.contains("body: \"cost: $${not_a_var}\""));
    let relative = ws
        .permatrix(&["init", "--openapi", &fixture("edge-3.1.json")])
        .await;
    assert!(
        relative.stdout.contains("http://localhost/api/v1"),
        "{}",
        relative.stdout
    );
    assert!(
        relative.stdout.contains("is not an absolute http(s) URL"),
        "{}",
        relative.stdout
    );
    assert!(
        !relative.stdout.contains("onThingCreated"),
        "webhooks are not endpoints"
    );
}

#[tokio::test]
async fn out_is_never_overwritten_without_force_and_bad_documents_write_nothing() {
    let ws = Workspace::new();
    let out = ws.path("suite.yaml");
    let out = out.to_string_lossy();
    let spec = fixture("petstore-2.0.yaml");
    let first = ws
        .permatrix(&["init", "--openapi", &spec, "--out", &out])
        .await;
    assert_eq!(first.code, 0, "{}", first.all());
    assert!(
        first.stdout.is_empty(),
        "the suite goes to the file only: {}",
        first.stdout
    );
    ws.write("suite.yaml", "mine\n");
    let again = ws
        .permatrix(&["init", "--openapi", &spec, "--out", &out])
        .await;
    assert_eq!(again.code, 2, "{}", again.all());
    assert!(again.stderr.contains("--force"), "{}", again.stderr);
    assert_eq!(ws.read("suite.yaml"), "mine\n");
    let forced = ws
        .permatrix(&["init", "--openapi", &spec, "--out", &out, "--force"])
        .await;
    assert_eq!(forced.code, 0, "{}", forced.all());
    assert!(ws.read("suite.yaml").contains("suite: petstore-swagger-2"));

    for (name, text, wanted) in [
        (
            "broken.json",
            "{\"openapi\": \"3.0.0\",\n \"paths\": {\n",
            "broken.json:3:1: invalid JSON",
        ),
        (
            "broken.yaml",
            "openapi: 3.0.0\npaths: [\n",
            "broken.yaml:2:8: invalid YAML",
        ),
        (
            "suite.yml",
            "suite: x\nendpoints: []\n",
            "suite.yml: not an OpenAPI document",
        ),
        (
            "old.json",
            "{\"swagger\": \"1.2\"}",
            "old.json: unsupported Swagger version 1.2",
        ),
        (
            "four.yaml",
            "openapi: 4.0.0\n",
            "four.yaml: unsupported OpenAPI version 4.0.0",
        ),
        ("empty.yaml", "", "empty.yaml: not an OpenAPI document"),
    ] {
        let file = ws.write(name, text);
        let target = ws.path("never.yaml");
        let out = ws
            .permatrix(&[
                "init",
                "--openapi",
                &file.to_string_lossy(),
                "--out",
                &target.to_string_lossy(),
            ])
            .await;
        assert_eq!(out.code, 2, "{name}: {}", out.all());
        assert!(out.stderr.contains(wanted), "{name}: {}", out.stderr);
        assert!(!target.exists(), "{name}: nothing is written");
    }
}

#[tokio::test]
async fn principals_from_a_suite_are_kept_exactly_and_paths_follow_the_written_file() {
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.path("team/mocks")).expect("mkdir");
    ws.write(
        "team/principals.yaml",
        r#"suite: team
target:
  base_url: ${TEAM_URL:-}
  mock: mocks/jira.yaml
vars: { project: TEST }
principals:
  anonymous: { auth: none }
  admin:
    auth: { basic: { username: admin, password: "${ADMIN_PASSWORD:-x}" } }
  robot:
    auth: { header: { name: api_key, value: "${ROBOT_KEY:-}" } }
  tester:
    headers: { X-Tenant-Key: literal-key-9f2a4b }
    auth: { bearer: { token: literal-token-7c1e55 } }
  signer:
    auth: { jwt: { algorithm: RS256, private_key_file: keys/rsa.pem, claims: { sub: s } } }
groups:
  humans: [admin]
defaults:
  headers: { Accept: application/json }
endpoints: []
"#,
    );
    let shipped_mock = format!(
        "{}/suites/mocks/jira-cloud.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::copy(shipped_mock, ws.path("team/mocks/jira.yaml")).expect("copy mock");
    std::fs::create_dir_all(ws.path("team/keys")).expect("mkdir");
    let key = format!("{}/tests/data/rsa_private.pem", env!("CARGO_MANIFEST_DIR"));
    std::fs::copy(key, ws.path("team/keys/rsa.pem")).expect("copy key");
    std::fs::create_dir_all(ws.path("out")).expect("mkdir");
    let out = ws
        .permatrix(&[
            "init",
            "--openapi",
            &fixture("petstore-2.0.yaml"),
            "--principals",
            "team/principals.yaml",
            "--out",
            "out/pets.yaml",
        ])
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let text = ws.read("out/pets.yaml");
    let suite: serde_json::Value = serde_saphyr::from_str(&text).expect("YAML");
    let names: Vec<&String> = suite["principals"]
        .as_object()
        .expect("map")
        .keys()
        .collect();
    assert_eq!(
        names,
        ["anonymous", "admin", "robot", "tester", "signer"],
        "{text}"
    );
    assert_eq!(suite["target"]["mock"], "../team/mocks/jira.yaml", "{text}");
    // A path in a short (flow) map is rebased too.
    assert_eq!(
        suite["principals"]["signer"]["auth"]["jwt"]["private_key_file"], "../team/keys/rsa.pem",
        "{text}"
    );
    // Credentials written as they are never reach the new file or the terminal:
    // the suite reads them from variables and says which.
    for literal in ["literal-key-9f2a4b", "literal-token-7c1e55"] {
        assert!(
            !text.contains(literal) && !out.all().contains(literal),
            "{text}"
        );
    }
    assert_eq!(
        suite["principals"]["tester"]["auth"]["bearer"]["token"],
        "${TEAM_TESTER_TOKEN:-}"
    );
    assert_eq!(
        suite["principals"]["tester"]["headers"]["X-Tenant-Key"],
        "${TEAM_TESTER_X_TENANT_KEY:-}"
    );
    assert!(
        text.contains("set TEAM_TESTER_X_TENANT_KEY, TEAM_TESTER_TOKEN"),
        "{text}"
    );
    assert_eq!(suite["groups"]["humans"][0], "admin");
    assert_eq!(suite["defaults"]["headers"]["Accept"], "application/json");
    assert_eq!(suite["vars"]["project"], "TEST");
    // robot's header is the document's `api_key` scheme and the token modes of
    // tester and signer meet its OAuth 2 scheme: they are expected in, the others out.
    let get_pet = suite["endpoints"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["name"] == "getPetById"))
        .expect("getPetById");
    assert_eq!(
        get_pet["expect"],
        serde_json::json!({"*": "allow", "anonymous": "deny", "admin": "deny"}),
        "{text}"
    );
    let check = ws.permatrix(&["check", "out/pets.yaml"]).await;
    assert_eq!(check.code, 0, "{}", check.all());
}

#[tokio::test]
async fn jiras_document_with_the_shipped_suites_principals_makes_a_valid_suite() {
    let ws = Workspace::new();
    let principals = format!("{}/suites/jira-cloud.yaml", env!("CARGO_MANIFEST_DIR"));
    let mut args = vec![
        "init".to_string(),
        "--openapi".into(),
        fixture("jira-platform.v3.json"),
        "--principals".into(),
        principals,
        "--out".into(),
        "jira.yaml".into(),
    ];
    args.extend(common::credential_vars());
    args.extend([
        "--var=ADMIN_API_TOKEN=t0ken-for-admin".to_string(),
        "--var=APP_SECRET=app-secret-value".into(),
        "--var=APP_OAUTH_CLIENT_ID=client".into(),
        "--var=ADMIN_ACCOUNT_ID=557058:1".into(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = ws.permatrix(&args).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let text = ws.read("jira.yaml");
    assert_eq!(
        text.matches("\n  - name: ").count(),
        468,
        "one endpoint per operation"
    );
    assert!(
        text.contains("request: GET /rest/api/3/permissions\n"),
        "{}",
        &text[..2000]
    );
    assert!(!text.contains("t0ken-for-admin") && !text.contains("app-secret-value"));
}

/// The keys of the role server: an admin's and a user's.
const ADMIN_KEY: &str = "admin-key-5d41402abc4b2a76";
const USER_KEY: &str = "user-key-7d793037a0760186";

/// Who a request is, from `X-API-Key` or `?key=`.
fn role(
    headers: &HeaderMap,
    query: &std::collections::HashMap<String, String>,
) -> Option<&'static str> {
    let key = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| query.get("key").cloned())?;
    match key.as_str() {
        ADMIN_KEY => Some("admin"),
        USER_KEY => Some("user"),
        _ => Some("stranger"),
    }
}

type Q = Query<std::collections::HashMap<String, String>>;

async fn role_server() -> String {
    let app = axum::Router::new()
        .route("/api/health", get(|| async { StatusCode::OK }))
        .route(
            "/api/robots",
            get(|| async { StatusCode::from_u16(999).unwrap_or(StatusCode::IM_A_TEAPOT) }),
        )
        .route(
            "/api/pets",
            get(|h: HeaderMap, Query(q): Q| async move {
                match role(&h, &q) {
                    None | Some("stranger") => StatusCode::UNAUTHORIZED,
                    Some(_) => StatusCode::OK,
                }
            }),
        )
        .route(
            "/api/pets/{id}",
            get(
                |Path(id): Path<String>, h: HeaderMap, Query(q): Q| async move {
                    match (role(&h, &q), id.as_str()) {
                        (None | Some("stranger"), _) => StatusCode::UNAUTHORIZED,
                        (_, "1") => StatusCode::OK,
                        _ => StatusCode::NOT_FOUND,
                    }
                },
            )
            .delete(|h: HeaderMap, Query(q): Q| async move {
                match role(&h, &q) {
                    None | Some("stranger") => StatusCode::UNAUTHORIZED,
                    Some("admin") => StatusCode::NO_CONTENT,
                    Some(_) => StatusCode::FORBIDDEN,
                }
            }),
        )
        .route(
            "/api/admin/stats",
            get(|h: HeaderMap, Query(q): Q| async move {
                match role(&h, &q) {
                    None | Some("stranger") => StatusCode::UNAUTHORIZED,
                    Some("admin") => StatusCode::OK,
                    Some(_) => StatusCode::FORBIDDEN,
                }
            }),
        )
        .route(
            "/api/slow",
            get(|h: HeaderMap, Query(q): Q| async move {
                if role(&h, &q) == Some("user") {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
                StatusCode::OK
            }),
        );
    common::serve(app).await
}

/// The role server's API as a document: two API-key schemes, no examples for ids.
const ROLE_API: &str = r#"openapi: 3.0.3
info: {title: Pets, version: "1"}
servers: [{url: /api}]
security: [{admin_key: []}, {user_key: []}]
components:
  securitySchemes:
    admin_key: {type: apiKey, in: header, name: X-API-Key}
    user_key: {type: apiKey, in: query, name: key}
paths:
  /health: {get: {operationId: health, security: []}}
  /robots: {get: {operationId: robots, security: []}}
  /pets: {get: {operationId: listPets}}
  /pets/{petId}:
    parameters: [{name: petId, in: path, required: true, schema: {type: integer}}]
    get: {operationId: getPet}
    delete: {operationId: deletePet}
  /admin/stats: {get: {operationId: adminStats}}
  /slow: {get: {operationId: slow}}
"#;

/// The observed suite with the server's port hidden.
fn without_port(text: &str, base: &str) -> String {
    text.replace(base, "http://127.0.0.1:PORT")
}

/// `init --openapi SPEC --base-url BASE --observe` against the role server,
/// with `extra` arguments and `env`.
async fn observe_roles(
    ws: &Workspace,
    spec: &std::path::Path,
    base: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> common::Output {
    let spec = spec.to_string_lossy();
    let mut args = vec![
        "init",
        "--openapi",
        &spec,
        "--base-url",
        base,
        "--observe",
        "--timeout",
        "500ms",
        "--var",
        "petId=1",
    ];
    args.extend_from_slice(extra);
    ws.permatrix_with_env(&args, env).await
}

#[tokio::test]
async fn observe_writes_the_statuses_a_server_with_roles_answers_and_the_suite_passes_run() {
    let base = role_server().await;
    let ws = Workspace::new();
    let spec = ws.write("pets.yaml", ROLE_API);
    let env = [("PETS_ADMIN_KEY", ADMIN_KEY), ("PETS_USER_KEY", USER_KEY)];
    let out = observe_roles(&ws, &spec, &base, &["--out", "observed.yaml"], &env).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let text = ws.read("observed.yaml");
    insta::assert_snapshot!(
        "init_observed_from_a_server_with_roles",
        without_port(&text, &base)
    );
    for secret in [ADMIN_KEY, USER_KEY] {
        assert!(
            !out.all().contains(secret) && !text.contains(secret),
            "a key leaked"
        );
    }
    // The suite holds what the server answered: run it against the same server.
    let run = ws
        .permatrix_with_env(
            &[
                "run",
                "observed.yaml",
                "--timeout",
                "500ms",
                "--var",
                "petId=1",
                "--json",
                "r.json",
            ],
            &env,
        )
        .await;
    // The slow cell errors again (a timeout is an error in `run`), everything else passes.
    assert_eq!(run.code, 1, "{}", run.all());
    let report = ws.json("r.json");
    let cells = report["suites"][0]["cells"].as_array().expect("cells");
    let failing: Vec<String> = cells
        .iter()
        .filter(|c| c["outcome"] != "passed" && c["outcome"] != "skipped")
        .map(|c| format!("{} × {}: {}", c["endpoint"], c["principal"], c["outcome"]))
        .collect();
    assert_eq!(
        failing,
        ["\"slow\" × \"user_key\": \"error\""],
        "{}",
        run.all()
    );
    assert_eq!(
        common::cell(&report, "deletePet", "admin_key")["outcome"],
        "skipped"
    );
}

#[tokio::test]
async fn observe_sends_mutations_only_when_asked_and_allowed() {
    let base = role_server().await;
    let ws = Workspace::new();
    let spec = ws.write("pets.yaml", ROLE_API);
    let spec = spec.to_string_lossy();
    let env = [("PETS_ADMIN_KEY", ADMIN_KEY), ("PETS_USER_KEY", USER_KEY)];
    let observe = |extra: &'static [&'static str]| {
        let mut args = vec![
            "init",
            "--openapi",
            &spec,
            "--base-url",
            &base,
            "--observe",
            "--var",
            "petId=1",
            "--concurrency",
            "4",
            "--timeout",
            "500ms",
        ];
        args.extend_from_slice(extra);
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let ws = &ws;
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            ws.permatrix_with_env(&args, &env).await
        }
    };
    let delete_line = |text: &str| {
        let at = text.find("name: deletePet").expect("deletePet");
        text[at..].lines().take(4).collect::<Vec<_>>().join("\n")
    };
    let plain = observe(&[]).await;
    assert_eq!(plain.code, 0, "{}", plain.all());
    assert!(
        delete_line(&plain.stdout).contains("not observed: a mutation"),
        "{}",
        plain.stdout
    );
    let guarded = observe(&["--include-mutations"]).await;
    assert_eq!(guarded.code, 0, "{}", guarded.all());
    assert!(
        delete_line(&guarded.stdout).contains("not observed:"),
        "{}",
        guarded.stdout
    );
    assert!(
        !delete_line(&guarded.stdout).contains("204"),
        "{}",
        guarded.stdout
    );
    let allowed = observe(&["--include-mutations", "--allow-mutations"]).await;
    assert_eq!(allowed.code, 0, "{}", allowed.all());
    let line = delete_line(&allowed.stdout);
    assert!(
        line.contains("admin_key: 204") && line.contains("user_key: 403"),
        "{line}"
    );
}

/// What the mangled inputs get put in: the syntax of the documents read.
const OPENAPI_TOKENS: &[&[u8]] = &[
    b"{", b"}", b"[", b"]", b":", b",", b"\"", b"$ref", b"${x}", b"#", b"\n  ", b"~1",
];

#[test]
fn no_mangled_document_makes_init_panic_or_write_an_invalid_suite() {
    let mut mutator = Mutator(0x9e37_79b9_7f4a_7c15);
    let file = std::path::Path::new("fuzzed.yaml");
    let mut written = 0;
    for name in ["petstore-2.0.yaml", "edge-3.0.yaml", "edge-3.1.json"] {
        let original = std::fs::read_to_string(fixture(name)).expect("fixture");
        for round in 0..600 {
            let text = mutator.mutate(&original, OPENAPI_TOKENS);
            let Ok(suite) = permatrix::import::init::openapi_text(file, &text) else {
                continue;
            };
            written += 1;
            let options = permatrix::suite::LoadOptions::default();
            if let Err(problems) =
                permatrix::suite::load_str(std::path::Path::new("s.yaml"), &suite, &options)
            {
                let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
                panic!(
                    "{name} round {round}: the suite made does not load:\n{}\n--- document:\n{text}\n--- suite:\n{suite}",
                    problems.join("\n")
                );
            }
        }
    }
    assert!(
        written > 150,
        "many mutations still make a suite ({written})"
    );
}

#[tokio::test]
async fn observe_warns_of_a_principal_whose_credentials_are_unset() {
    let base = role_server().await;
    let ws = Workspace::new();
    let spec = ws.write("pets.yaml", ROLE_API);
    // PETS_USER_KEY is not set: `user_key` sends an empty key and is refused like anonymous.
    let out = observe_roles(&ws, &spec, &base, &[], &[("PETS_ADMIN_KEY", ADMIN_KEY)]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stderr
            .contains("`user_key` got what `anonymous` got from every endpoint"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("`admin_key` got what"),
        "{}",
        out.stderr
    );
}

#[test]
fn documents_the_fuzzer_found_make_suites_that_load() {
    common::made_suites_load("openapi/regressions", |path, bytes| {
        let text = String::from_utf8_lossy(bytes);
        permatrix::import::init::openapi_text(path, &text).ok()
    });
}

/// Jira's description carries Connect and OAuth scopes: `init` writes each
/// operation's alternatives as `scopes:` and Connect's hierarchy as
/// `scope_implies`, and the suite loads.
#[tokio::test]
async fn scopes_come_from_oauth_requirements_and_jiras_extensions() {
    let ws = Workspace::new();
    let spec = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/openapi/jira-platform.v3.json"
    );
    let out = ws
        .permatrix(&[
            "init",
            "--openapi",
            spec,
            "--name",
            "jira",
            "--out",
            "jira.yaml",
        ])
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let text = ws.read("jira.yaml");
    assert!(
        text.contains("scope_implies: { ADMIN: [PROJECT_ADMIN], PROJECT_ADMIN: [DELETE], DELETE: [WRITE], WRITE: [READ], READ: [NONE] }"),
        "{text}"
    );
    let entry = |name: &str| {
        text.split("  - name: ")
            .find(|e| e.starts_with(&format!("{name}\n")))
            .unwrap_or_default()
            .to_string()
    };
    let permissions = entry("getAllPermissions");
    assert!(
        permissions.contains(
            "scopes: [[ADMIN], [\"manage:jira-configuration\"], [\"read:permission:jira\"]]"
        ),
        "{permissions}"
    );
    let columns = entry("getIssueNavigatorDefaultColumns");
    assert!(columns.contains("scopes: [INACCESSIBLE]"), "{columns}");
    let check = ws.permatrix(&["check", "jira.yaml"]).await;
    assert_eq!(check.code, 0, "{}", check.all());
}
