//! A service for the record-and-replay tests (`tests/record.rs`): one caller
//! per auth mode (Basic with a secret and with a literal password, bearer, an
//! API key in a header, in the query and in a cookie, a login issuing a token
//! and a session cookie, a self-signed HS256 JWT), each answered its own
//! status and body from one table ([`status`]), which the tests also write
//! into their suites' expectations; a switch that flips four cells; routes
//! that echo the request's credentials into the body and the recorded
//! headers; a long body, custom headers, a slow route and a mutation; and a
//! log of every credential received.

// Each test uses a different part of this server.
#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::json;

/// alice, Basic, password from `${REC_ALICE_PASSWORD}`.
pub const ALICE_PASSWORD: &str = "rec-alice-password-5c1e9";
/// bob, Basic, password from `${REC_BOB_PASSWORD}`.
pub const BOB_PASSWORD: &str = "rec-bob-password-77d0a";
/// carol, Basic, password written literally in the suite.
pub const CAROL_PASSWORD: &str = "carol-literal-pw-4471x";
/// reader's bearer token, `${REC_READER_TOKEN}`.
pub const READER_TOKEN: &str = "rec-reader-token-9b3f2a";
/// service's `X-API-Key`, `${REC_SERVICE_KEY}`.
pub const SERVICE_KEY: &str = "rec-service-key-41ce08";
/// partner's `api_key` query parameter, `${REC_PARTNER_KEY}`.
pub const PARTNER_KEY: &str = "rec-partner-key-0d6b19";
/// browser's `session_key` cookie, `${REC_BROWSER_KEY}`.
pub const BROWSER_KEY: &str = "rec-browser-key-e2a7c5";
/// webuser's login password, `${REC_WEB_PASSWORD}`.
pub const WEB_PASSWORD: &str = "rec-web-password-3f81b";
/// The token `POST /login` issues.
pub const LOGIN_TOKEN: &str = "rec-login-issued-token-6a0d4e";
/// The session cookie `POST /login` sets.
pub const SESSION_COOKIE: &str = "rec-session-cookie-b94c17";
/// The HS256 secret signer's JWTs are verified with, `${REC_JWT_SECRET}`.
pub const JWT_SECRET: &str = "rec-jwt-hs256-secret-0f5e9a2c";

/// The principals of the suites, as they are named there, in declared order.
pub const PRINCIPALS: [&str; 11] = [
    "anonymous",
    "alice",
    "bob",
    "carol",
    "reader",
    "service",
    "partner",
    "browser",
    "web",
    "websess",
    "signer",
];

/// The endpoints the table answers, as request lines (and endpoint names).
pub const ENDPOINTS: [&str; 6] = [
    "GET /public",
    "GET /me",
    "GET /admin/settings",
    "GET /reports",
    "GET /legacy",
    "GET /items/7?view=full",
];

/// The four cells [`Shared::flip`] changes, as (endpoint, principal, before,
/// after, class `permatrix diff` gives the change).
pub const FLIPS: [(&str, &str, u16, u16, &str); 4] = [
    ("GET /admin/settings", "bob", 403, 200, "widened"),
    ("GET /reports", "reader", 200, 401, "auth-broken"),
    ("GET /reports", "partner", 200, 403, "narrowed"),
    ("GET /reports", "carol", 404, 403, "changed"),
];

/// The status `endpoint` answers `principal` (its name in the suites; the
/// server's name for a caller whose credentials it does not know is
/// `invalid`), before or after the flip.
pub fn status(endpoint: &str, principal: &str, flipped: bool) -> u16 {
    if flipped && let Some(flip) = FLIPS.iter().find(|f| f.0 == endpoint && f.1 == principal) {
        return flip.3;
    }
    let path = endpoint.split(['?', ' ']).nth(1).unwrap_or_default();
    match (path, principal) {
        ("/public", _) => 200,
        (_, "invalid") => 401,
        ("/me", "anonymous") => 401,
        ("/me", _) => 200,
        ("/admin/settings", "anonymous") => 401,
        ("/admin/settings", "alice") => 200,
        ("/admin/settings", "signer") => 404,
        ("/admin/settings", _) => 403,
        ("/reports", "anonymous" | "browser") => 401,
        ("/reports", "alice" | "reader" | "partner" | "web" | "signer") => 200,
        ("/reports", "carol") => 404,
        ("/reports", _) => 403,
        ("/legacy", "anonymous") => 302,
        ("/legacy", "browser") => 307,
        ("/legacy", _) => 200,
        ("/items/7", "anonymous") => 401,
        ("/items/7", "bob") => 404,
        ("/items/7", "service") => 403,
        ("/items/7", _) => 200,
        _ => 404,
    }
}

/// The server's state, shared with the test.
#[derive(Default)]
pub struct Shared {
    flipped: AtomicBool,
    /// Every request received.
    pub requests: AtomicUsize,
    /// Every `Authorization`, `Cookie` and `X-API-Key` value and every query
    /// string received, as received.
    pub seen: Mutex<Vec<String>>,
}

impl Shared {
    /// Switches the four cells of [`FLIPS`] to their `after` status.
    pub fn flip(&self) {
        self.flipped.store(true, Ordering::SeqCst);
    }

    /// Requests received so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Every credential value received, as received.
    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

/// A running server; [`RecordServer::stop`] closes its port.
pub struct RecordServer {
    pub base: String,
    pub shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl RecordServer {
    /// Stops serving: the listener is dropped, new connections are refused.
    pub async fn stop(&self) {
        self.task.abort();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Starts the server on a free loopback port.
pub async fn start() -> RecordServer {
    let shared = Arc::new(Shared::default());
    let app = Router::new().fallback(handle).with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    RecordServer { base, shared, task }
}

fn text<'h>(headers: &'h HeaderMap, name: &str) -> &'h str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

fn cookies(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .flat_map(|v| v.to_str().unwrap_or_default().split(';'))
        .filter_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            Some((name.to_string(), value.to_string()))
        })
        .collect()
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// Whether `token` is an HS256 JWT signed with [`JWT_SECRET`] for the auditor role.
fn signed_auditor(token: &str) -> bool {
    let Ok(key) = DecodingKey::from_secret(JWT_SECRET.as_bytes()) else {
        return false;
    };
    let validation = Validation::new(Algorithm::HS256);
    jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation)
        .is_ok_and(|data| data.claims["role"] == "auditor" && data.claims["iat"].is_u64())
}

/// The suite's name of the caller, `anonymous`, or `invalid` for credentials
/// the server does not know.
fn who(uri: &Uri, headers: &HeaderMap) -> &'static str {
    if let Some(key) = headers.get("x-api-key") {
        return if key == SERVICE_KEY {
            "service"
        } else {
            "invalid"
        };
    }
    let cookies = cookies(headers);
    if let Some((_, value)) = cookies.iter().find(|(n, _)| n == "session") {
        return if value == SESSION_COOKIE {
            "websess"
        } else {
            "invalid"
        };
    }
    if let Some((_, value)) = cookies.iter().find(|(n, _)| n == "session_key") {
        return if value == BROWSER_KEY {
            "browser"
        } else {
            "invalid"
        };
    }
    if let Some((_, value)) = query_pairs(uri).iter().find(|(n, _)| n == "api_key") {
        return if value == PARTNER_KEY {
            "partner"
        } else {
            "invalid"
        };
    }
    let auth = text(headers, "authorization");
    if auth.is_empty() {
        return "anonymous";
    }
    if auth == basic("alice", ALICE_PASSWORD) {
        "alice"
    } else if auth == basic("bob", BOB_PASSWORD) {
        "bob"
    } else if auth == basic("carol", CAROL_PASSWORD) {
        "carol"
    } else if auth == format!("Bearer {READER_TOKEN}") {
        "reader"
    } else if auth == format!("Bearer {LOGIN_TOKEN}") {
        "web"
    } else if let Some(token) = auth.strip_prefix("Bearer ")
        && signed_auditor(token)
    {
        "signer"
    } else {
        "invalid"
    }
}

fn json_response(status: u16, extra: &[(&str, String)], body: serde_json::Value) -> Response {
    let mut response = (
        StatusCode::from_u16(status).expect("status"),
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response();
    for (name, value) in extra {
        response.headers_mut().insert(
            axum::http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
            HeaderValue::from_str(value).expect("value"),
        );
    }
    response
}

/// What the request carried, for the echo routes.
fn echoed(uri: &Uri, headers: &HeaderMap) -> (String, serde_json::Value) {
    let auth = text(headers, "authorization");
    let cookie = text(headers, "cookie");
    let key = text(headers, "x-api-key");
    let query = uri.query().unwrap_or_default();
    (
        format!("auth=[{auth}] cookie=[{cookie}] key=[{key}] query=[{query}]"),
        json!({ "authorization": auth, "cookie": cookie, "x_api_key": key, "query": query }),
    )
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    shared.requests.fetch_add(1, Ordering::SeqCst);
    if let Ok(mut seen) = shared.seen.lock() {
        for name in ["authorization", "cookie", "x-api-key"] {
            for value in headers.get_all(name) {
                seen.push(String::from_utf8_lossy(value.as_bytes()).into_owned());
            }
        }
        if let Some(query) = uri.query() {
            seen.push(query.to_string());
        }
    }
    let path = uri.path().to_string();
    let caller = who(&uri, &headers);
    match (method.as_str(), path.as_str()) {
        ("POST", "/login") => {
            let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            if json["username"] == "webuser" && json["password"] == WEB_PASSWORD {
                json_response(
                    200,
                    &[(
                        "set-cookie",
                        format!("session={SESSION_COOKIE}; Path=/; HttpOnly"),
                    )],
                    json!({ "auth": { "token": LOGIN_TOKEN }, "user": "webuser" }),
                )
            } else {
                json_response(401, &[], json!({ "error": "invalid_grant" }))
            }
        }
        ("GET", "/echo") => {
            let (line, body) = echoed(&uri, &headers);
            json_response(
                200,
                &[
                    ("x-echo", line.clone()),
                    ("location", format!("/seen?{line}")),
                ],
                json!({ "you_sent": body, "caller": caller }),
            )
        }
        ("GET", "/echo-challenge") => {
            let (line, body) = echoed(&uri, &headers);
            json_response(
                401,
                &[(
                    "www-authenticate",
                    format!("Basic realm=\"rec\", echo=\"{line}\""),
                )],
                json!({ "you_sent": body }),
            )
        }
        ("GET", "/long") => {
            let words: Vec<String> = (0..500).map(|i| format!("w{i:04}")).collect();
            json_response(
                200,
                &[],
                json!({ "words": words.join(" "), "tail": "end-of-long-body" }),
            )
        }
        ("GET", "/custom") => json_response(
            200,
            &[
                ("x-custom", "custom-value-42".into()),
                ("x-other", "other-value-17".into()),
            ],
            json!({ "custom": true, "caller": caller }),
        ),
        ("GET", "/slow") => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            json_response(200, &[], json!({ "slow": true }))
        }
        ("POST", "/items") => json_response(201, &[], json!({ "id": "8", "caller": caller })),
        ("GET", _) => table(&shared, &uri, caller),
        _ => json_response(405, &[], json!({ "error": "method not allowed" })),
    }
}

/// The answers of [`ENDPOINTS`]: the status from [`status`], a body naming
/// the endpoint, the caller and the status, a challenge on 401, a
/// `Location` on 3xx.
fn table(shared: &Shared, uri: &Uri, caller: &str) -> Response {
    let path = uri.path();
    let query = if path == "/items/7" { "?view=full" } else { "" };
    let endpoint = format!("GET {path}{query}");
    if !ENDPOINTS.contains(&endpoint.as_str()) {
        return json_response(404, &[], json!({ "error": "no such route", "path": path }));
    }
    let flipped = shared.flipped.load(Ordering::SeqCst);
    let status = status(&endpoint, caller, flipped);
    let mut body = json!({ "endpoint": path, "caller": caller, "status": status });
    if path == "/items/7" {
        let view = query_pairs(uri)
            .into_iter()
            .find(|(n, _)| n == "view")
            .map(|(_, v)| v)
            .unwrap_or_default();
        body["view"] = json!(view);
    }
    let mut extra = Vec::new();
    if status == 401 {
        let challenge = match caller {
            "anonymous" => "Basic realm=\"rec\"".to_string(),
            "invalid" => "Basic realm=\"rec\", error=\"invalid_credentials\"".to_string(),
            _ => "Bearer realm=\"rec\", error=\"insufficient_scope\"".to_string(),
        };
        extra.push(("www-authenticate", challenge));
    }
    if (300..400).contains(&status) {
        extra.push(("location", format!("/login?next=%2Flegacy&as={caller}")));
    }
    json_response(status, &extra, body)
}
