//! Token-based auth modes against a token endpoint that verifies assertions,
//! counts its calls and can refuse: the JWT-bearer grant, client credentials,
//! and self-signed JWTs; `explain` on a grant cell.

mod common;

use std::sync::atomic::Ordering;

use common::Workspace;
use common::token_server::{APP_SECRET, CC_SECRET, CLIENT_ID, HS_SECRET, server};

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
    let report = ws.json("r.json");
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
        &format!("token    POST {base}/oauth2/token"),
        "           grant_type: urn:ietf:params:oauth:grant-type:jwt-bearer",
        "           assertion: **** (claims {\"iss\":\"urn:atlassian:connect:clientid:oauth-client-42\",\"tnt\":",
        "\"sub\":\"urn:atlassian:connect:useraccountid:admin-1\"",
        "           scope: READ ACT_AS_USER",
        "         answered 200: token_type Bearer, expires_in 900s, scope READ ACT_AS_USER",
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

#[tokio::test(flavor = "multi_thread")]
async fn a_briefly_unavailable_token_endpoint_is_retried() {
    let (base, tokens) = server().await;
    tokens.unavailable.store(2, Ordering::SeqCst);
    let ws = Workspace::new();
    let mut suite = format!("suite: flaky\ntarget: {{ base_url: \"{base}\" }}\nprincipals:\n");
    suite.push_str(&grant_principal("app", "${APP_SECRET}"));
    suite.push_str("endpoints:\n  - { request: GET /api/me, expect: { \"*\": 200 } }\n");
    ws.write("s.yaml", &suite);
    let secret = format!("--var=APP_SECRET={APP_SECRET}");
    let out = ws.permatrix(&["run", "s.yaml", &secret]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(
        tokens.grant_calls.load(Ordering::SeqCst),
        3,
        "two 503s, then the token"
    );
}

/// A token endpoint that issues a 4-character token, and an API that echoes
/// the `Authorization` header it received: the echo never shows the token.
#[tokio::test(flavor = "multi_thread")]
async fn a_short_issued_token_is_masked_in_the_header_it_travels_in() {
    use axum::routing::{get, post};
    let app = axum::Router::new()
        .route(
            "/token",
            post(|| async {
                axum::Json(serde_json::json!({"access_token": "ab12", "token_type": "Bearer"}))
            }),
        )
        .route(
            "/echo",
            get(|headers: axum::http::HeaderMap| async move {
                let seen = common::authorization(&headers);
                (
                    axum::http::StatusCode::FORBIDDEN,
                    [("www-authenticate", seen.clone())],
                    format!("you sent {seen}"),
                )
            }),
        );
    let base = common::serve(app).await;
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &format!(
            "suite: short\ntarget: {{ base_url: \"{base}\", retries: 0 }}\nprincipals:\n  svc:\n    auth:\n      client_credentials: {{ token_url: /token, client_id: svc, client_secret: \"svc-secret-123\" }}\nendpoints:\n  - {{ name: echo, request: GET /echo, expect: {{ svc: 200 }} }}\n"
        ),
    );
    let out = ws.permatrix(&["run", "s.yaml", "--json", "r.json"]).await;
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.stdout.contains("****"), "{}", out.stdout);
    for text in [out.all(), ws.read("r.json")] {
        assert!(!text.contains("Bearer ab12"), "{text}");
    }
    let explained = ws
        .permatrix(&[
            "explain",
            "s.yaml",
            "--endpoint",
            "echo",
            "--principal",
            "svc",
        ])
        .await;
    assert!(
        !explained.all().contains("Bearer ab12"),
        "{}",
        explained.all()
    );
}

/// A login endpoint that is briefly unavailable (503, then 429) is retried like
/// a token endpoint: the principal logs in on the third try and its cells pass.
#[tokio::test(flavor = "multi_thread")]
async fn a_briefly_unavailable_login_is_retried() {
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    use axum::routing::{get, post};
    let logins = Arc::new(AtomicUsize::new(0));
    let counter = logins.clone();
    let app = axum::Router::new()
        .route(
            "/login",
            post(move || {
                let counter = counter.clone();
                async move {
                    let status = match counter.fetch_add(1, Ordering::SeqCst) {
                        0 => axum::http::StatusCode::SERVICE_UNAVAILABLE,
                        1 => axum::http::StatusCode::TOO_MANY_REQUESTS,
                        _ => axum::http::StatusCode::OK,
                    };
                    (
                        status,
                        [("retry-after", "0")],
                        axum::Json(serde_json::json!({"token": "session-token-778899"})),
                    )
                }
            }),
        )
        .route(
            "/me",
            get(|headers: axum::http::HeaderMap| async move {
                let ok = headers
                    .get("authorization")
                    .is_some_and(|v| v == "Bearer session-token-778899");
                if ok {
                    axum::http::StatusCode::OK
                } else {
                    axum::http::StatusCode::UNAUTHORIZED
                }
            }),
        );
    let base = common::serve(app).await;
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &format!(
            "suite: login\ntarget: {{ base_url: \"{base}\" }}\nprincipals:\n  web:\n    auth:\n      login: {{ request: POST /login, json: {{ username: u, password: \"login-password-1\" }}, token: /token }}\nendpoints:\n  - {{ request: GET /me, expect: {{ web: 200 }} }}\n"
        ),
    );
    let out = ws.permatrix(&["run", "s.yaml"]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(
        logins.load(Ordering::SeqCst),
        3,
        "two retries, then the login"
    );
}

/// Access tokens that are JWTs, a fresh one for every cell (`expires_in: 0`),
/// echoed back by the API: none shows, found by their signatures as minted
/// tokens are.
#[tokio::test(flavor = "multi_thread")]
async fn fresh_jwt_access_tokens_echoed_never_show() {
    use std::sync::atomic::AtomicUsize;
    use std::sync::{Arc, Mutex};

    use axum::routing::{get, post};
    let issued = Arc::new(Mutex::new(Vec::<String>::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let (record, counter) = (issued.clone(), count.clone());
    let app = axum::Router::new()
        .route(
            "/token",
            post(move || {
                let (record, counter) = (record.clone(), counter.clone());
                async move {
                    let n = counter.fetch_add(1, Ordering::SeqCst);
                    let key = jsonwebtoken::EncodingKey::from_secret(b"issuer-key-0123456789")
                        .expect("key");
                    let token = jsonwebtoken::encode(
                        &jsonwebtoken::Header::default(),
                        &serde_json::json!({"sub": "svc", "n": n}),
                        &key,
                    )
                    .expect("sign");
                    record.lock().expect("lock").push(token.clone());
                    axum::Json(serde_json::json!({"access_token": token, "expires_in": 0}))
                }
            }),
        )
        .route(
            "/echo/{n}",
            get(|headers: axum::http::HeaderMap| async move {
                let seen = common::authorization(&headers);
                (
                    axum::http::StatusCode::FORBIDDEN,
                    format!("you sent {seen}"),
                )
            }),
        );
    let base = common::serve(app).await;
    let ws = Workspace::new();
    let mut suite = format!(
        "suite: fresh\ntarget: {{ base_url: \"{base}\", retries: 0 }}\nprincipals:\n  svc:\n    auth:\n      client_credentials: {{ token_url: /token, client_id: svc, client_secret: \"svc-secret-123\" }}\nendpoints:\n"
    );
    for i in 0..20 {
        suite.push_str(&format!(
            "  - {{ request: GET /echo/{i}, expect: {{ svc: 200 }} }}\n"
        ));
    }
    ws.write("s.yaml", &suite);
    let out = ws.permatrix(&["run", "s.yaml", "--json", "r.json"]).await;
    assert_eq!(out.code, 1, "{}", out.all());
    let tokens = issued.lock().expect("lock").clone();
    assert!(tokens.len() >= 20, "a token per cell: {}", tokens.len());
    for text in [out.all(), ws.read("r.json")] {
        for token in &tokens {
            let signature = token.rsplit('.').next().unwrap_or_default();
            assert!(!text.contains(signature), "a token showed:\n{text}");
        }
    }
}
