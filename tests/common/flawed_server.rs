//! A service whose routes check credentials correctly or with one deliberate
//! flaw each, for the tamper-probe tests (`tests/probes.rs`). Every route
//! answers 200 `{"ok":true}` when it accepts the request and 401
//! `{"ok":false}` otherwise, unless said below. Every request is recorded
//! with the credentials it carried and whether they are the genuine ones, so
//! a test can tell the requests of derived (`<principal>~<probe>`) callers
//! from those of the principals themselves.
//!
//! | route | checks |
//! | --- | --- |
//! | `GET /presence` | any `Authorization: Bearer <non-empty>` (presence only) |
//! | `GET /bearer` | `Bearer` [`READER_TOKEN`] exactly |
//! | `GET /echo` | any non-empty `Authorization`; the 200 body echoes it |
//! | `GET /forbidden` | 403 for the genuine bearer token, else 401 |
//! | `GET /hidden` | 200 genuine bearer, 404 any other bearer token, 401 none |
//! | `GET /crashy` | 200 genuine bearer, 500 any other bearer token, 401 none |
//! | `GET /toggle` | exact bearer token, or presence only once [`Flawed::set_lax`] |
//! | `GET /nosig` | HS256 JWT: claims checked (times, aud, iss), the signature not (unsigned too) |
//! | `GET /noexp` | signature, aud and iss checked; exp, nbf and iat ignored |
//! | `GET /noaud` | signature, times and iss checked; aud ignored |
//! | `GET /algfromheader` | the algorithm from the token's header: `none` accepted unsigned |
//! | `GET /correct` | signature (HS256, [`JWT_SECRET`] only), exp (required), nbf, iat, iss, aud |
//! | `GET /public` | nothing: 200 to everyone |
//! | `GET /basic` | Basic with user `alice`, the password ignored |
//! | `GET /basic-correct` | Basic `alice` / [`ALICE_PASSWORD`] |
//! | `GET /anything` | any credential at all (Authorization, X-API-Key, `api_key` query, Cookie) |
//! | `GET /broken` | 500 to everyone |
//! | `POST /login` | `{"username":"alice","password":ALICE_PASSWORD}` → `{"auth":{"token":LOGIN_TOKEN}}` |

// Each test binary uses a different part of this server.
#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The reader's bearer token (random-looking, so no prefix of it is a word
/// that appears in the output anyway).
pub const READER_TOKEN: &str = "tK9x2QvL7mPz4RwB8nYc";
/// The HS256 key shared by the JWT principal and the JWT routes.
pub const JWT_SECRET: &str = "Jq5sW8eR2tY7uI4oP1aS";
/// The JWT principal's `iss` claim, which the routes check.
pub const ISSUER: &str = "permatrix-probes";
/// The JWT principal's `aud` claim, which the routes check.
pub const AUDIENCE: &str = "api";
/// Alice's Basic password.
pub const ALICE_PASSWORD: &str = "Zx3cV6bN9mQw2eRt";
/// The API key the header, query and cookie principals send.
pub const API_KEY: &str = "Lk8jH5gF2dS9aQ4w";
/// The token `POST /login` issues.
pub const LOGIN_TOKEN: &str = "Mn4bV7cX1zL8kJ3h";
/// The Connect app's key (`iss`) and shared secret.
pub const CONNECT_ISSUER: &str = "probe-app";
pub const CONNECT_SECRET: &str = "Pq6wE9rT3yU5iO8pA2sD";

/// Seconds of clock skew the time checks allow.
const LEEWAY: i64 = 60;

/// One request the server received.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: String,
    pub authorization: Option<String>,
    pub api_key_header: Option<String>,
    pub cookie: Option<String>,
    /// The status the server answered.
    pub status: u16,
}

impl Seen {
    /// The `api_key` query parameter, if any.
    pub fn api_key_query(&self) -> Option<String> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .find(|(k, _)| k == "api_key")
            .map(|(_, v)| v.into_owned())
    }

    /// Every credential value the request carried.
    pub fn credentials(&self) -> Vec<String> {
        [
            self.authorization.clone(),
            self.api_key_header.clone(),
            self.api_key_query(),
            self.cookie.clone(),
        ]
        .into_iter()
        .flatten()
        .filter(|v| !v.trim().is_empty())
        .collect()
    }

    /// Whether the request carried a credential at all.
    pub fn has_credential(&self) -> bool {
        !self.credentials().is_empty()
    }

    /// Whether every credential it carried is the genuine one of a principal
    /// (false when it carried none).
    pub fn genuine(&self) -> bool {
        if !self.has_credential() {
            return false;
        }
        let authorization_ok = self
            .authorization
            .as_deref()
            .is_none_or(|a| genuine_authorization(a, &self.method, &self.path, &self.query));
        let header_ok = self.api_key_header.as_deref().is_none_or(|k| k == API_KEY);
        let query_ok = self.api_key_query().is_none_or(|k| k == API_KEY);
        let cookie_ok = self
            .cookie
            .as_deref()
            .is_none_or(|c| c == format!("sid={API_KEY}"));
        authorization_ok && header_ok && query_ok && cookie_ok
    }

    /// Whether this is a derived caller's request: a credential that is not
    /// a principal's genuine one. (A derived caller without any credential,
    /// the `none` probe, looks like an anonymous request; tests count those.)
    pub fn derived(&self) -> bool {
        self.has_credential() && !self.genuine()
    }

    /// The secret values a derived request carried, in the forms an output
    /// could show them: the whole header value, the value after its scheme, a
    /// JWT's signature, Basic's base64, decoded pair and password. Values
    /// shorter than 8 characters are left out (too short to search for
    /// without false hits).
    pub fn secret_values(&self) -> Vec<String> {
        let mut values = Vec::new();
        for value in self.credentials() {
            values.push(value.clone());
            if let Some((scheme, rest)) = value.split_once(' ') {
                values.push(rest.to_string());
                if scheme.eq_ignore_ascii_case("basic")
                    && let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(rest)
                {
                    let pair = String::from_utf8_lossy(&bytes).into_owned();
                    if let Some((_, password)) = pair.split_once(':') {
                        values.push(password.to_string());
                    }
                    values.push(pair);
                }
                if rest.matches('.').count() == 2 {
                    values.push(rest.rsplit('.').next().unwrap_or_default().to_string());
                }
            }
            if let Some(cookie) = value.split_once('=').map(|(_, v)| v.to_string())
                && self.cookie.as_deref() == Some(value.as_str())
            {
                values.push(cookie);
            }
        }
        values.retain(|v| v.len() >= 8);
        values.sort();
        values.dedup();
        values
    }
}

/// What the server has seen, and the switch of `/toggle`.
#[derive(Default)]
pub struct Flawed {
    seen: Mutex<Vec<Seen>>,
    lax: AtomicBool,
}

impl Flawed {
    /// Every request so far, in arrival order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }

    /// The requests for `path`.
    pub fn requests(&self, path: &str) -> Vec<Seen> {
        self.seen().into_iter().filter(|s| s.path == path).collect()
    }

    /// The requests of derived callers carrying a credential, for `path`.
    pub fn derived(&self, path: &str) -> Vec<Seen> {
        self.requests(path)
            .into_iter()
            .filter(Seen::derived)
            .collect()
    }

    /// Every request of a derived caller carrying a credential.
    pub fn all_derived(&self) -> Vec<Seen> {
        self.seen().into_iter().filter(Seen::derived).collect()
    }

    /// Forgets the requests seen so far.
    pub fn clear(&self) {
        self.seen.lock().expect("lock").clear();
    }

    /// `/toggle` checks presence only (true) or the exact token (false).
    pub fn set_lax(&self, lax: bool) {
        self.lax.store(lax, Ordering::SeqCst);
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The HTTP Basic value for `user:password`.
pub fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// A JWT taken apart, nothing verified.
pub struct Jwt {
    pub header: Value,
    pub claims: Value,
    pub signing_input: String,
    pub signature: String,
}

/// Splits a compact JWT (`h.p.s`, or `h.p` / `h.p.` unsigned).
pub fn parse_jwt(token: &str) -> Option<Jwt> {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 2 && parts.len() != 3 {
        return None;
    }
    let decode = |s: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD_INDIFFERENT
            .decode(s)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .filter(Value::is_object)
    };
    Some(Jwt {
        header: decode(parts[0])?,
        claims: decode(parts[1])?,
        signing_input: format!("{}.{}", parts[0], parts[1]),
        signature: parts.get(2).copied().unwrap_or_default().to_string(),
    })
}

/// An HS256 signature over the token, by `secret`, with `alg: HS256` in its header.
fn hs256_ok(jwt: &Jwt, secret: &str) -> bool {
    if jwt.header["alg"] != "HS256" || jwt.signature.is_empty() {
        return false;
    }
    let Ok(key) = DecodingKey::from_secret(secret.as_bytes()) else {
        return false;
    };
    jsonwebtoken::crypto::verify(
        &jwt.signature,
        jwt.signing_input.as_bytes(),
        &key,
        Algorithm::HS256,
    )
    .unwrap_or(false)
}

/// exp in the future (required or not), nbf and iat not in the future.
fn times_ok(claims: &Value, require_exp: bool) -> bool {
    let now = now();
    let exp_ok = match claims.get("exp") {
        None => !require_exp,
        Some(v) => v.as_f64().is_some_and(|e| e as i64 > now - LEEWAY),
    };
    let not_ahead = |name: &str| match claims.get(name) {
        None => true,
        Some(v) => v.as_f64().is_some_and(|t| t as i64 <= now + LEEWAY),
    };
    exp_ok && not_ahead("nbf") && not_ahead("iat")
}

fn aud_ok(claims: &Value) -> bool {
    match &claims["aud"] {
        Value::String(s) => s == AUDIENCE,
        Value::Array(list) => list.iter().any(|a| a == AUDIENCE),
        _ => false,
    }
}

fn iss_ok(claims: &Value) -> bool {
    claims["iss"] == ISSUER
}

/// How a JWT route treats the signature.
#[derive(Clone, Copy)]
pub enum Signature {
    /// Not looked at (nor the header's algorithm).
    Ignored,
    /// HS256 with [`JWT_SECRET`], nothing else.
    Hs256,
    /// The header's algorithm: `none` (any case) accepted unsigned, HS256 verified.
    FromHeader,
}

/// What a JWT route checks.
#[derive(Clone, Copy)]
pub struct JwtRoute {
    pub signature: Signature,
    /// exp, nbf, iat.
    pub times: bool,
    pub require_exp: bool,
    pub aud: bool,
    pub iss: bool,
}

pub const NOSIG: JwtRoute = JwtRoute {
    signature: Signature::Ignored,
    times: true,
    require_exp: false,
    aud: true,
    iss: true,
};
pub const NOEXP: JwtRoute = JwtRoute {
    signature: Signature::Hs256,
    times: false,
    require_exp: false,
    aud: true,
    iss: true,
};
pub const NOAUD: JwtRoute = JwtRoute {
    signature: Signature::Hs256,
    times: true,
    require_exp: false,
    aud: false,
    iss: true,
};
pub const ALG_FROM_HEADER: JwtRoute = JwtRoute {
    signature: Signature::FromHeader,
    times: true,
    require_exp: false,
    aud: true,
    iss: true,
};
pub const CORRECT: JwtRoute = JwtRoute {
    signature: Signature::Hs256,
    times: true,
    require_exp: true,
    aud: true,
    iss: true,
};

/// Whether `route` accepts `token`.
pub fn jwt_accepts(route: JwtRoute, token: &str) -> bool {
    let Some(jwt) = parse_jwt(token) else {
        return false;
    };
    let signature_ok = match route.signature {
        Signature::Ignored => true,
        Signature::Hs256 => hs256_ok(&jwt, JWT_SECRET),
        Signature::FromHeader => match jwt.header["alg"].as_str() {
            Some(alg) if alg.eq_ignore_ascii_case("none") => true,
            Some("HS256") => hs256_ok(&jwt, JWT_SECRET),
            _ => false,
        },
    };
    signature_ok
        && (!route.times || times_ok(&jwt.claims, route.require_exp))
        && (!route.aud || aud_ok(&jwt.claims))
        && (!route.iss || iss_ok(&jwt.claims))
}

/// A genuine Connect JWT for a request without a query: signed with the
/// shared secret, in time, the app's `iss`, the qsh of `METHOD&path&`.
fn genuine_connect(token: &str, method: &str, path: &str, query: &str) -> bool {
    let Some(jwt) = parse_jwt(token) else {
        return false;
    };
    let canonical = format!("{}&{}&", method.to_uppercase(), path);
    let qsh = hex::encode(Sha256::digest(canonical.as_bytes()));
    query.is_empty()
        && hs256_ok(&jwt, CONNECT_SECRET)
        && times_ok(&jwt.claims, true)
        && jwt.claims["iss"] == CONNECT_ISSUER
        && jwt.claims["qsh"] == qsh.as_str()
}

/// A JWT as the tests' `jwt` principals send it: signed with
/// [`JWT_SECRET`], in time, and the right `aud` and `iss` when it has them
/// (a principal's claims need not have either).
fn genuine_jwt(token: &str) -> bool {
    let Some(jwt) = parse_jwt(token) else {
        return false;
    };
    hs256_ok(&jwt, JWT_SECRET)
        && times_ok(&jwt.claims, true)
        && (jwt.claims.get("aud").is_none() || aud_ok(&jwt.claims))
        && (jwt.claims.get("iss").is_none() || iss_ok(&jwt.claims))
}

/// Whether an `Authorization` value is one a principal of the tests sends
/// as configured.
fn genuine_authorization(value: &str, method: &str, path: &str, query: &str) -> bool {
    if value == format!("Bearer {READER_TOKEN}")
        || value == format!("Bearer {LOGIN_TOKEN}")
        || value == basic("alice", ALICE_PASSWORD)
    {
        return true;
    }
    if let Some(token) = value.strip_prefix("Bearer ") {
        return genuine_jwt(token);
    }
    if let Some(token) = value.strip_prefix("JWT ") {
        return genuine_connect(token, method, path, query);
    }
    false
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The bearer token sent, when there is a non-empty one.
fn bearer(headers: &HeaderMap) -> Option<String> {
    header_text(headers, "authorization")
        .and_then(|a| a.strip_prefix("Bearer ").map(|t| t.trim().to_string()))
        .filter(|t| !t.is_empty())
}

/// The Basic user name and password sent.
fn basic_pair(headers: &HeaderMap) -> Option<(String, String)> {
    let value = header_text(headers, "authorization")?;
    let encoded = value.strip_prefix("Basic ")?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let pair = String::from_utf8(bytes).ok()?;
    let (user, password) = pair.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

fn answer(status: StatusCode) -> Response {
    let ok = status.is_success();
    (status, Json(json!({ "ok": ok }))).into_response()
}

fn verdict(accepted: bool) -> Response {
    answer(if accepted {
        StatusCode::OK
    } else {
        StatusCode::UNAUTHORIZED
    })
}

fn jwt_route(route: JwtRoute) -> impl Fn(HeaderMap) -> std::future::Ready<Response> + Clone {
    move |headers: HeaderMap| {
        std::future::ready(verdict(
            bearer(&headers).is_some_and(|t| jwt_accepts(route, &t)),
        ))
    }
}

/// Genuine bearer token → `genuine`; another bearer token → `other`; none → 401.
fn by_bearer(headers: &HeaderMap, genuine: StatusCode, other: StatusCode) -> Response {
    match bearer(headers) {
        Some(t) if t == READER_TOKEN => answer(genuine),
        Some(_) => answer(other),
        None => answer(StatusCode::UNAUTHORIZED),
    }
}

async fn record(State(flawed): State<Arc<Flawed>>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let mut seen = Seen {
        method: request.method().to_string(),
        path: request.uri().path().to_string(),
        query: request.uri().query().unwrap_or_default().to_string(),
        authorization: header_text(headers, "authorization"),
        api_key_header: header_text(headers, "x-api-key"),
        cookie: header_text(headers, "cookie"),
        status: 0,
    };
    let response = next.run(request).await;
    seen.status = response.status().as_u16();
    flawed.seen.lock().expect("lock").push(seen);
    response
}

fn router(flawed: Arc<Flawed>) -> Router {
    Router::new()
        .route(
            "/presence",
            get(|headers: HeaderMap| async move { verdict(bearer(&headers).is_some()) }),
        )
        .route(
            "/bearer",
            get(|headers: HeaderMap| async move {
                verdict(bearer(&headers).is_some_and(|t| t == READER_TOKEN))
            }),
        )
        .route(
            "/echo",
            get(|headers: HeaderMap| async move {
                match header_text(&headers, "authorization").filter(|a| !a.trim().is_empty()) {
                    Some(sent) => (
                        StatusCode::OK,
                        Json(json!({ "ok": true, "you_sent": sent })),
                    )
                        .into_response(),
                    None => answer(StatusCode::UNAUTHORIZED),
                }
            }),
        )
        .route(
            "/forbidden",
            get(|headers: HeaderMap| async move {
                by_bearer(&headers, StatusCode::FORBIDDEN, StatusCode::UNAUTHORIZED)
            }),
        )
        .route(
            "/hidden",
            get(|headers: HeaderMap| async move {
                by_bearer(&headers, StatusCode::OK, StatusCode::NOT_FOUND)
            }),
        )
        .route(
            "/crashy",
            get(|headers: HeaderMap| async move {
                by_bearer(&headers, StatusCode::OK, StatusCode::INTERNAL_SERVER_ERROR)
            }),
        )
        .route(
            "/toggle",
            get(
                |State(flawed): State<Arc<Flawed>>, headers: HeaderMap| async move {
                    let token = bearer(&headers);
                    verdict(if flawed.lax.load(Ordering::SeqCst) {
                        token.is_some()
                    } else {
                        token.is_some_and(|t| t == READER_TOKEN)
                    })
                },
            ),
        )
        .route("/nosig", get(jwt_route(NOSIG)))
        .route("/noexp", get(jwt_route(NOEXP)))
        .route("/noaud", get(jwt_route(NOAUD)))
        .route("/algfromheader", get(jwt_route(ALG_FROM_HEADER)))
        .route("/correct", get(jwt_route(CORRECT)))
        .route("/public", get(|| async { answer(StatusCode::OK) }))
        .route(
            "/basic",
            get(|headers: HeaderMap| async move {
                verdict(basic_pair(&headers).is_some_and(|(user, _)| user == "alice"))
            }),
        )
        .route(
            "/basic-correct",
            get(|headers: HeaderMap| async move {
                verdict(
                    basic_pair(&headers).is_some_and(|(user, password)| {
                        user == "alice" && password == ALICE_PASSWORD
                    }),
                )
            }),
        )
        .route(
            "/anything",
            get(|headers: HeaderMap, uri: Uri| async move {
                let query_key = url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
                    .any(|(k, v)| k == "api_key" && !v.is_empty());
                let any_header = ["authorization", "x-api-key", "cookie"]
                    .iter()
                    .any(|name| header_text(&headers, name).is_some_and(|v| !v.trim().is_empty()));
                verdict(query_key || any_header)
            }),
        )
        .route(
            "/broken",
            get(|| async { answer(StatusCode::INTERNAL_SERVER_ERROR) }),
        )
        .route(
            "/login",
            post(|body: String| async move {
                let json: Value = serde_json::from_str(&body).unwrap_or_default();
                if json["username"] == "alice" && json["password"] == ALICE_PASSWORD {
                    (
                        StatusCode::OK,
                        [(header::CONTENT_TYPE, "application/json")],
                        json!({ "auth": { "token": LOGIN_TOKEN } }).to_string(),
                    )
                        .into_response()
                } else {
                    answer(StatusCode::UNAUTHORIZED)
                }
            }),
        )
        .layer(axum::middleware::from_fn_with_state(flawed.clone(), record))
        .with_state(flawed)
}

/// Starts the server on a free loopback port; returns its base URL and what it records.
pub async fn start() -> (String, Arc<Flawed>) {
    let flawed = Arc::new(Flawed::default());
    let base = super::serve(router(flawed.clone())).await;
    (base, flawed)
}
