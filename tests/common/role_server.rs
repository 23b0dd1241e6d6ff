//! A small service with a role model, for permatrix's tests and demo: two Basic
//! users, a bearer token, an API key, anonymous access, a login that issues a
//! token and a session cookie, a slow route, a route that answers 429 once, a
//! redirect, and counters the tests read.

// Each test binary and the demo use a different part of this server.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};

/// Alice: administrator, Basic.
pub const ALICE_PASSWORD: &str = "alice-password-1";
/// Bob: regular user, Basic.
pub const BOB_PASSWORD: &str = "bob-password-22";
/// A read-only service's bearer token.
pub const READER_TOKEN: &str = "reader-token-3f9a1c";
/// A service's API key, sent as `X-API-Key`.
pub const SERVICE_KEY: &str = "service-key-77ab21";
/// The token `POST /login` issues to alice.
pub const LOGIN_TOKEN: &str = "login-issued-token-5d1e";
/// The session cookie `POST /login` sets for alice.
pub const SESSION_COOKIE: &str = "session-cookie-8c2f44";

/// What the server has seen.
#[derive(Default)]
pub struct Stats {
    /// Requests per `METHOD path`.
    pub hits: Mutex<HashMap<String, usize>>,
    /// Requests being handled right now.
    pub in_flight: AtomicUsize,
    /// The most requests handled at once.
    pub peak: AtomicUsize,
}

impl Stats {
    /// Requests seen for `METHOD path`.
    pub fn hits(&self, key: &str) -> usize {
        self.hits
            .lock()
            .map(|h| h.get(key).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    /// Every request seen.
    pub fn total(&self) -> usize {
        self.hits.lock().map(|h| h.values().sum()).unwrap_or(0)
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Who {
    Anonymous,
    Alice,
    Bob,
    Reader,
    Service,
    Invalid,
}

fn who(headers: &HeaderMap) -> Who {
    let basic = |user: &str, password: &str| {
        use base64::Engine;
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        )
    };
    if let Some(key) = headers.get("x-api-key") {
        return if key == SERVICE_KEY {
            Who::Service
        } else {
            Who::Invalid
        };
    }
    let session = format!("session={SESSION_COOKIE}");
    if let Some(cookie) = headers.get(header::COOKIE).and_then(|c| c.to_str().ok())
        && cookie.split(';').any(|c| c.trim() == session)
    {
        return Who::Alice;
    }
    let Some(auth) = headers
        .get(header::AUTHORIZATION)
        .and_then(|a| a.to_str().ok())
    else {
        return Who::Anonymous;
    };
    if auth == basic("alice", ALICE_PASSWORD) {
        Who::Alice
    } else if auth == basic("bob", BOB_PASSWORD) {
        Who::Bob
    } else if auth == format!("Bearer {LOGIN_TOKEN}") {
        Who::Alice
    } else if auth == format!("Bearer {READER_TOKEN}") {
        Who::Reader
    } else {
        Who::Invalid
    }
}

fn unauthenticated() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [
            (header::WWW_AUTHENTICATE, "Basic realm=\"demo\""),
            (header::CONTENT_TYPE, "application/json"),
        ],
        r#"{"error":"authentication required"}"#,
    )
        .into_response()
}

fn forbidden() -> Response {
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"error":"forbidden"}"#,
    )
        .into_response()
}

fn ok(body: &str) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// Builds the service around `stats`.
pub fn router(stats: Arc<Stats>) -> Router {
    let flaky_served = Arc::new(AtomicUsize::new(0));
    Router::new()
        .route("/public", get(|| async { ok(r#"{"public":true}"#) }))
        .route(
            "/me",
            get(|headers: HeaderMap| async move {
                match who(&headers) {
                    Who::Anonymous | Who::Invalid => unauthenticated(),
                    w => ok(&format!(r#"{{"me":"{w:?}"}}"#)),
                }
            }),
        )
        .route(
            "/admin/settings",
            get(|headers: HeaderMap| async move {
                match who(&headers) {
                    Who::Anonymous | Who::Invalid => unauthenticated(),
                    Who::Alice => ok(r#"{"settings":{}}"#),
                    _ => forbidden(),
                }
            }),
        )
        .route(
            "/items/{id}",
            get(|headers: HeaderMap, Path(id): Path<String>| async move {
                let caller = who(&headers);
                if matches!(caller, Who::Anonymous | Who::Invalid) {
                    return unauthenticated();
                }
                let owner = match id.as_str() {
                    "1" => Who::Alice,
                    "2" => Who::Bob,
                    _ => return StatusCode::NOT_FOUND.into_response(),
                };
                if caller == owner || caller == Who::Alice {
                    ok(&format!(r#"{{"id":"{id}"}}"#))
                } else {
                    StatusCode::NOT_FOUND.into_response()
                }
            }),
        )
        .route(
            "/items",
            post(|headers: HeaderMap| async move {
                match who(&headers) {
                    Who::Anonymous | Who::Invalid => unauthenticated(),
                    Who::Alice | Who::Bob => (StatusCode::CREATED, r#"{"id":"3"}"#).into_response(),
                    _ => forbidden(),
                }
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                ok("{}")
            }),
        )
        .route(
            "/flaky",
            get(move || {
                let served = flaky_served.clone();
                async move {
                    if served.fetch_add(1, Ordering::SeqCst) == 0 {
                        (
                            StatusCode::TOO_MANY_REQUESTS,
                            [(header::RETRY_AFTER, "1")],
                            "slow down",
                        )
                            .into_response()
                    } else {
                        ok("{}")
                    }
                }
            }),
        )
        .route(
            "/old",
            get(|| async {
                (StatusCode::FOUND, [(header::LOCATION, "/login-page")]).into_response()
            }),
        )
        .route(
            "/echo",
            get(|headers: HeaderMap| async move {
                // Echoes the credential back, as careless services do: permatrix must mask it.
                let auth = headers
                    .get(header::AUTHORIZATION)
                    .and_then(|a| a.to_str().ok())
                    .unwrap_or("");
                let key = headers
                    .get("x-api-key")
                    .and_then(|a| a.to_str().ok())
                    .unwrap_or("");
                let cookie = headers
                    .get(header::COOKIE)
                    .and_then(|a| a.to_str().ok())
                    .unwrap_or("");
                let upstream = headers
                    .get("x-upstream-token")
                    .and_then(|a| a.to_str().ok())
                    .unwrap_or("");
                (
                    StatusCode::IM_A_TEAPOT,
                    format!("you sent [{auth}] [{key}] [{cookie}] [{upstream}]"),
                )
                    .into_response()
            }),
        )
        .route(
            "/login",
            post(|body: String| async move {
                let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                if json["username"] == "alice" && json["password"] == ALICE_PASSWORD {
                    (
                        StatusCode::OK,
                        [(
                            header::SET_COOKIE,
                            format!("session={SESSION_COOKIE}; Path=/; HttpOnly"),
                        )],
                        format!(r#"{{"auth":{{"token":"{LOGIN_TOKEN}"}}}}"#),
                    )
                        .into_response()
                } else {
                    (
                        StatusCode::UNAUTHORIZED,
                        r#"{"error":"invalid_grant","detail":"bad password"}"#,
                    )
                        .into_response()
                }
            }),
        )
        .route(
            "/query",
            get(|uri: Uri| async move {
                ok(&format!(r#"{{"query":"{}"}}"#, uri.query().unwrap_or("")))
            }),
        )
        .route(
            "/work",
            any(|method: Method| async move {
                tokio::time::sleep(Duration::from_millis(150)).await;
                ok(&format!(r#"{{"method":"{method}"}}"#))
            }),
        )
        .layer(axum::middleware::from_fn_with_state(stats.clone(), count))
        .with_state(())
}

async fn count(
    State(stats): State<Arc<Stats>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let key = format!("{} {}", request.method(), request.uri().path());
    if let Ok(mut hits) = stats.hits.lock() {
        *hits.entry(key).or_default() += 1;
    }
    let now = stats.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    stats.peak.fetch_max(now, Ordering::SeqCst);
    let response = next.run(request).await;
    stats.in_flight.fetch_sub(1, Ordering::SeqCst);
    response
}

/// Serves the role model on `addr` (port 0 for a free one); returns the bound address and the stats.
pub async fn start(addr: SocketAddr) -> std::io::Result<(SocketAddr, Arc<Stats>)> {
    let stats = Arc::new(Stats::default());
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = router(stats.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((bound, stats))
}
