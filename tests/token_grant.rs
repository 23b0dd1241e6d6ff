//! Token-based auth modes against a token endpoint that verifies assertions,
//! counts its calls and can refuse: the JWT-bearer grant, client credentials,
//! and self-signed JWTs; `explain` on a grant cell.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use common::Workspace;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::json;

const APP_SECRET: &str = "app-shared-secret-9f8e7d";
const CLIENT_ID: &str = "oauth-client-42";
const CC_SECRET: &str = "cc-client-secret-3a2b1c";
const HS_SECRET: &str = "self-signed-hmac-secret-77";

#[derive(Default)]
struct Tokens {
    grant_calls: AtomicUsize,
    cc_calls: AtomicUsize,
    issued: std::sync::Mutex<Vec<String>>,
    base: std::sync::Mutex<String>,
}

impl Tokens {
    fn issue(&self, prefix: &str) -> String {
        let mut issued = self.issued.lock().expect("lock");
        let token = format!("{prefix}-access-token-{:04}", issued.len());
        issued.push(token.clone());
        token
    }
}

fn form(body: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect()
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn refuse(reason: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"error": "invalid_grant", "error_description": reason})),
    )
        .into_response()
}

async fn grant(State(tokens): State<Arc<Tokens>>, body: String) -> Response {
    tokens.grant_calls.fetch_add(1, Ordering::SeqCst);
    // Slow enough that cells starting together all wait for this one fetch.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let form = form(&body);
    if field(&form, "grant_type") != Some("urn:ietf:params:oauth:grant-type:jwt-bearer") {
        return refuse("grant_type");
    }
    let Some(assertion) = field(&form, "assertion") else {
        return refuse("no assertion");
    };
    let mut validation = Validation::new(Algorithm::HS256);
    validation.validate_aud = false;
    let claims = match jsonwebtoken::decode::<serde_json::Value>(
        assertion,
        &DecodingKey::from_secret(APP_SECRET.as_bytes()).expect("key"),
        &validation,
    ) {
        Ok(data) => data.claims,
        Err(_) => return refuse("assertion signature"),
    };
    let base = tokens.base.lock().expect("lock").clone();
    let lifetime = claims["exp"]
        .as_u64()
        .unwrap_or(0)
        .saturating_sub(claims["iat"].as_u64().unwrap_or(u64::MAX));
    let expected = [
        ("iss", format!("urn:atlassian:connect:clientid:{CLIENT_ID}")),
        (
            "sub",
            "urn:atlassian:connect:useraccountid:admin-1".to_string(),
        ),
        ("tnt", base.clone()),
        ("aud", base.clone()),
    ];
    if expected.iter().any(|(k, v)| claims[*k] != v.as_str()) || lifetime == 0 || lifetime > 60 {
        return refuse(&format!("claims {claims}"));
    }
    let token = tokens.issue("grant");
    let scope = field(&form, "scope").unwrap_or("READ");
    axum::Json(
        json!({"access_token": token, "expires_in": 900, "token_type": "Bearer", "scope": scope}),
    )
    .into_response()
}

async fn client_credentials(
    State(tokens): State<Arc<Tokens>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    tokens.cc_calls.fetch_add(1, Ordering::SeqCst);
    let form = form(&body);
    use base64::Engine;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CC_SECRET}"))
    );
    let by_basic = headers
        .get(header::AUTHORIZATION)
        .is_some_and(|v| v == basic.as_str());
    let by_form = field(&form, "client_id") == Some(CLIENT_ID)
        && field(&form, "client_secret") == Some(CC_SECRET);
    if field(&form, "grant_type") != Some("client_credentials") || !(by_basic || by_form) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    axum::Json(
        json!({"access_token": tokens.issue("cc"), "expires_in": 3600, "token_type": "Bearer"}),
    )
    .into_response()
}

async fn me(State(tokens): State<Arc<Tokens>>, headers: HeaderMap) -> Response {
    let sent = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let known = sent.is_some_and(|t| {
        tokens
            .issued
            .lock()
            .map(|i| i.iter().any(|x| x == t))
            .unwrap_or(false)
    });
    if known {
        (StatusCode::OK, "{}").into_response()
    } else {
        (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"code": 401, "message": "Unauthorized; scope does not match"})),
        )
            .into_response()
    }
}

async fn self_signed(headers: HeaderMap) -> Response {
    let Some(token) = headers.get("x-token").and_then(|v| v.to_str().ok()) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let Ok(header) = jsonwebtoken::decode_header(token) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let data = |name: &str| {
        std::fs::read(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR")))
            .expect("key file")
    };
    let key = match (header.alg, header.kid.as_deref()) {
        (Algorithm::HS384, Some("hs")) => DecodingKey::from_secret(HS_SECRET.as_bytes()),
        (Algorithm::RS256, Some("rs")) => DecodingKey::from_rsa_pem(&data("rsa_public.pem")),
        (Algorithm::ES256, Some("es")) => DecodingKey::from_ec_pem(&data("ec_public.pem")),
        (Algorithm::EdDSA, Some("ed")) => DecodingKey::from_ed_pem(&data("ed_public.pem")),
        _ => return StatusCode::FORBIDDEN.into_response(),
    };
    let Ok(key) = key else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&["gateway"]);
    match jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation) {
        Ok(data) if data.claims["role"] == "reporter" && data.claims["iat"].is_u64() => {
            StatusCode::OK.into_response()
        }
        _ => StatusCode::UNAUTHORIZED.into_response(),
    }
}

async fn server() -> (String, Arc<Tokens>) {
    let tokens = Arc::new(Tokens::default());
    let app = Router::new()
        .route("/oauth2/token", post(grant))
        .route("/cc/token", post(client_credentials))
        .route("/api/me", get(me))
        .route("/api/self-signed", get(self_signed))
        .with_state(tokens.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    *tokens.base.lock().expect("lock") = base.clone();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, tokens)
}

fn grant_principal(name: &str, secret: &str) -> String {
    format!(
        r#"  {name}:
    scopes: [READ, ACT_AS_USER]
    auth:
      jwt_bearer_grant:
        token_url: /oauth2/token
        client_id: {CLIENT_ID}
        secret: "{secret}"
        subject: "urn:atlassian:connect:useraccountid:admin-1"
        tenant: "${{BASE_URL}}"
        scope: READ ACT_AS_USER
"#
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_grant_token_is_fetched_once_per_principal_even_for_50_cells_at_once() {
    let (base, tokens) = server().await;
    let ws = Workspace::new();
    let mut suite =
        format!("suite: grant\ntarget: {{ base_url: \"{base}\", concurrency: 50 }}\nprincipals:\n");
    suite.push_str(&grant_principal("app-as-admin", "${APP_SECRET}"));
    suite.push_str(&grant_principal("app-as-admin-too", "${APP_SECRET}"));
    suite.push_str("endpoints:\n");
    for i in 0..50 {
        suite.push_str(&format!(
            "  - {{ request: \"GET /api/me?cell={i}\", expect: {{ \"*\": 200 }} }}\n"
        ));
    }
    ws.write("s.yaml", &suite);
    let secret = format!("--var=APP_SECRET={APP_SECRET}");
    let out = ws
        .permatrix(&[
            "run", "s.yaml", &secret, "--json", "r.json", "--junit", "r.xml",
        ])
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.trim_end().ends_with("100 passed, 0 failed"),
        "{}",
        out.stdout
    );
    assert_eq!(
        tokens.grant_calls.load(Ordering::SeqCst),
        2,
        "one fetch per principal"
    );
    let issued = tokens.issued.lock().expect("lock").clone();
    for text in [out.all(), ws.read("r.json"), ws.read("r.xml")] {
        for secret in issued.iter().map(String::as_str).chain([APP_SECRET]) {
            assert!(!text.contains(secret), "leaked {secret}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refusing_or_down_token_endpoint_errors_only_that_principals_cells() {
    let (base, tokens) = server().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port");
    let ws = Workspace::new();
    let mut suite = format!("suite: refused\ntarget: {{ base_url: \"{base}\" }}\nprincipals:\n");
    suite.push_str(&grant_principal("good", "${APP_SECRET}"));
    suite.push_str(&grant_principal("bad", "a-secret-the-server-rejects"));
    suite.push_str("  anonymous: { auth: none }\n");
    let unreachable = format!("http://{closed}/oauth2/token");
    suite
        .push_str(&grant_principal("down", "${APP_SECRET}").replace("/oauth2/token", &unreachable));
    suite.push_str("endpoints:\n  - { request: GET /api/me, expect: { \"*\": 200, anonymous: 401 } }\n  - { request: GET /api/me?again=1, expect: { \"*\": 200, anonymous: 401 } }\n");
    ws.write("s.yaml", &suite);
    let secret = format!("--var=APP_SECRET={APP_SECRET}");
    let out = ws
        .permatrix(&["run", "s.yaml", &secret, "--json", "r.json"])
        .await;
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout
            .trim_end()
            .ends_with("4 passed, 0 failed, 4 errors"),
        "{}",
        out.stdout
    );
    let down = out
        .stdout
        .lines()
        .find(|l| l.contains("› GET /api/me › down"))
        .expect("line");
    assert!(
        down.contains("credentials: token endpoint POST")
            && down.contains("failed: connection failed"),
        "{down}"
    );
    let line = out
        .stdout
        .lines()
        .find(|l| l.contains("› GET /api/me › bad"))
        .expect("error line");
    assert!(line.starts_with("ERROR"), "{line}");
    assert!(
        line.contains("/oauth2/token answered 400") && line.contains("invalid_grant"),
        "{line}"
    );
    assert_eq!(
        tokens.grant_calls.load(Ordering::SeqCst),
        2,
        "the refusal is not retried per cell"
    );
    let report: serde_json::Value = serde_json::from_str(&ws.read("r.json")).expect("json");
    let kinds: Vec<&str> = report["suites"][0]["cells"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["principal"] == "bad")
        .filter_map(|c| c["error"]["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["auth", "auth"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn client_credentials_by_basic_or_form_and_self_signed_jwts_are_accepted() {
    let (base, tokens) = server().await;
    let ws = Workspace::new();
    let keys = format!("{}/tests/data", env!("CARGO_MANIFEST_DIR"));
    let suite = format!(
        r#"suite: tokens
target: {{ base_url: "{base}" }}
principals:
  cc-basic:
    auth: {{ client_credentials: {{ token_url: "{base}/cc/token", client_id: {CLIENT_ID}, client_secret: "${{CC}}" }} }}
  cc-form:
    auth: {{ client_credentials: {{ token_url: /cc/token, client_id: {CLIENT_ID}, client_secret: "${{CC}}", client_auth: form, scope: read }} }}
  cc-wrong:
    auth: {{ client_credentials: {{ token_url: /cc/token, client_id: {CLIENT_ID}, client_secret: wrong-secret-000 }} }}
  hs:
    auth: {{ jwt: {{ algorithm: HS384, secret: "${{HS}}", kid: hs, header: X-Token, scheme: "", claims: {{ role: reporter, aud: gateway }} }} }}
  rs:
    auth: {{ jwt: {{ algorithm: RS256, private_key_file: {keys}/rsa_private.pem, kid: rs, header: X-Token, scheme: "", claims: {{ role: reporter, aud: gateway }} }} }}
  es:
    auth: {{ jwt: {{ algorithm: ES256, private_key_file: {keys}/ec_private.pem, kid: es, header: X-Token, scheme: "", claims: {{ role: reporter, aud: gateway }} }} }}
  ed:
    auth: {{ jwt: {{ algorithm: EdDSA, private_key_file: {keys}/ed_private.pem, kid: ed, header: X-Token, scheme: "", ttl: 1m, claims: {{ role: reporter, aud: gateway }} }} }}
endpoints:
  - request: GET /api/me
    expect: {{ cc-basic: 200, cc-form: 200, "*": 401 }}
  - request: GET /api/self-signed
    expect: {{ hs: 200, rs: 200, es: 200, ed: 200, "*": 401 }}
"#
    );
    ws.write("s.yaml", &suite);
    let out = ws
        .permatrix(&[
            "run",
            "s.yaml",
            &format!("--var=CC={CC_SECRET}"),
            &format!("--var=HS={HS_SECRET}"),
        ])
        .await;
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout
            .trim_end()
            .ends_with("12 passed, 0 failed, 2 errors"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(
            "› GET /api/me › cc-wrong: expected 401, no response: credentials: token endpoint POST"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("answered 401: {\"error\":\"invalid_client\"}"),
        "{}",
        out.stdout
    );
    assert_eq!(tokens.cc_calls.load(Ordering::SeqCst), 3);
    assert!(
        !out.all().contains(CC_SECRET) && !out.all().contains(HS_SECRET),
        "{}",
        out.all()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn explain_shows_the_token_exchange_and_the_assertion_for_a_grant_cell() {
    let (base, _) = server().await;
    let ws = Workspace::new();
    let mut suite = format!("suite: explained\ntarget: {{ base_url: \"{base}\" }}\nprincipals:\n");
    suite.push_str(&grant_principal("app-as-admin", "${APP_SECRET}"));
    suite.push_str(
        "endpoints:\n  - { name: myself, request: GET /api/me, expect: { \"*\": 403 } }\n",
    );
    ws.write("s.yaml", &suite);
    let secret = format!("--var=APP_SECRET={APP_SECRET}");
    let out = ws
        .permatrix(&[
            "explain",
            "s.yaml",
            "--endpoint",
            "myself",
            "--principal",
            "app-as-admin",
            &secret,
        ])
        .await;
    assert_eq!(out.code, 1, "expected 403, got 200: {}", out.all());
    let text = &out.stdout;
    for needle in [
        "cell     explained › myself › app-as-admin",
        "scopes   READ, ACT_AS_USER",
        "auth     jwt_bearer_grant",
        "assertion claims: {\"iss\":\"urn:atlassian:connect:clientid:oauth-client-42\",\"tnt\":",
        "\"sub\":\"urn:atlassian:connect:useraccountid:admin-1\"",
        "/oauth2/token answered 200: token_type Bearer, expires_in 900s, scope READ ACT_AS_USER",
        &format!("request  GET {base}/api/me"),
        "authorization: Bearer ****",
        "response 200",
        "verdict  FAILED: expected 403, got 200",
        "reading  reached, though 403 was expected: this principal can use the endpoint — a possible security hole",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    assert!(
        !out.all().contains("grant-access-token") && !out.all().contains(APP_SECRET),
        "{}",
        out.all()
    );
}
