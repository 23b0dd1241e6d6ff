//! A token endpoint for tests: the JWT-bearer grant (verifying assertions),
//! client credentials, an API that accepts the tokens it issued, and one that
//! verifies self-signed JWTs. It counts its calls.
// Each test binary uses a different part of this server.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::json;

pub const APP_SECRET: &str = "app-shared-secret-9f8e7d";
pub const CLIENT_ID: &str = "oauth-client-42";
pub const CC_SECRET: &str = "cc-client-secret-3a2b1c";
pub const HS_SECRET: &str = "self-signed-hmac-secret-77";

#[derive(Default)]
pub struct Tokens {
    pub grant_calls: AtomicUsize,
    /// How many grant requests still get a 503 before the endpoint works.
    pub unavailable: AtomicUsize,
    pub cc_calls: AtomicUsize,
    pub issued: std::sync::Mutex<Vec<String>>,
    pub base: std::sync::Mutex<String>,
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
    if tokens.unavailable.load(Ordering::SeqCst) > 0 {
        tokens.unavailable.fetch_sub(1, Ordering::SeqCst);
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "0")],
            "try again",
        )
            .into_response();
    }
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

/// Starts the token server on a free loopback port.
pub async fn server() -> (String, Arc<Tokens>) {
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
