//! Connect JWTs against a server that verifies them the way Jira does, with
//! its own canonicalizer written from FACTS.md §2 (not permatrix's code).

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use common::Workspace;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use sha2::{Digest, Sha256};

const SECRET: &str = "7512836e-9137-48ac-baaf-a1935b96e17a";
const CONTEXT: &str = "/jira";

/// What the server saw: (placement, canonical request) per verified request.
#[derive(Default)]
struct Seen(Mutex<Vec<(String, String)>>);

fn decode_form(text: &str) -> String {
    let bytes = text.replace('+', " ").into_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// The canonical request, per FACTS.md §2, from the request as received.
fn canonical(method: &Method, uri: &Uri) -> String {
    let raw_path = uri.path();
    let mut path = match raw_path.strip_prefix(CONTEXT) {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => rest.to_string(),
        _ => raw_path.to_string(),
    };
    if path.ends_with('/') {
        path.pop();
    }
    if path.is_empty() {
        path.push('/');
    }
    let path = path.replace('&', "%26");
    let mut params: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for pair in uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = decode_form(name);
        if name != "jwt" {
            params
                .entry(encode(&name))
                .or_default()
                .push(decode_form(value));
        }
    }
    let query: Vec<String> = params
        .into_iter()
        .map(|(name, mut values)| {
            values.sort_by_key(|v| v.encode_utf16().collect::<Vec<u16>>());
            let values: Vec<String> = values.iter().map(|v| encode(v)).collect();
            format!("{name}={}", values.join(","))
        })
        .collect();
    format!(
        "{}&{path}&{}",
        method.as_str().to_uppercase(),
        query.join("&")
    )
}

fn unauthorized(reason: String) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "JWT realm=\"test\"")],
        reason,
    )
        .into_response()
}

async fn verify(
    State(seen): State<Arc<Seen>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("JWT "))
        .map(str::to_string);
    let from_query = uri
        .query()
        .unwrap_or("")
        .split('&')
        .find_map(|p| p.strip_prefix("jwt=").map(decode_form));
    let (placement, token) = match (from_header, from_query) {
        (Some(t), None) => ("header", t),
        (None, Some(t)) => ("query", t),
        other => return unauthorized(format!("expected exactly one JWT, got {other:?}")),
    };
    let mut validation = Validation::new(Algorithm::HS256);
    validation.validate_aud = false;
    validation.leeway = 30;
    let claims = match jsonwebtoken::decode::<serde_json::Value>(
        &token,
        &DecodingKey::from_secret(SECRET.as_bytes()).expect("key"),
        &validation,
    ) {
        Ok(data) => data.claims,
        Err(e) => return unauthorized(format!("bad token: {e}")),
    };
    if claims["iss"] != "my-app" || !claims["iat"].is_u64() {
        return unauthorized(format!("bad claims {claims}"));
    }
    let canonical = canonical(&method, &uri);
    let expected = hex::encode(Sha256::digest(canonical.as_bytes()));
    if claims["qsh"] != expected.as_str() {
        return unauthorized(format!("qsh mismatch for {canonical}"));
    }
    if let Ok(mut seen) = seen.0.lock() {
        seen.push((placement.to_string(), canonical.clone()));
    }
    (StatusCode::OK, canonical).into_response()
}

async fn server() -> (String, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let app = Router::new().fallback(verify).with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}{CONTEXT}"), seen)
}

const NASTY: &str = r#"
defaults:
  expect: { "*": 200, forger: 401 }
endpoints:
  - request: GET /rest/api/2/search?jql=project+%3D+TEST&maxResults=10
  - name: spaces through the query map
    request: GET /rest/api/2/search
    query: { jql: "summary ~ \"a b\" AND text ~ 'x*y' + 1" }
  - request: GET /test?title=1+%2B+1+equals+3
  - request: GET /test?query=connect*
  - request: GET /test?eta=in+%7E3+days&tilde=~
  - request: GET /test?rfc=%3B%2F%3F%3A%40%3D%26&sub=!$'()*,;=
  - name: unicode
    request: GET /test?director=%E5%AE%AE%E5%B4%8E+%E9%A7%BF
    query: { name: "宮崎 駿" }
  - request: GET /test?ids=10&ids=2&ids=1&ids=%3A1&ids=.1&IDS=x
  - request: GET /test?a&b=foo&c&b=
  - request: GET /rest/api/2/thing/
  - request: GET /rest/api/2/project/jira&a=b
  - request: GET /rest/api/2/issue/my%20key/comment
  - name: lower-case method
    request: get /rest/api/2/myself
  - request: POST /rest/api/2/issue?notify=false
    json: { fields: { summary: probe } }
  - request: GET /jira
  - request: DELETE /rest/api/2/issue/X-1?deleteSubtasks=true
"#;

#[tokio::test(flavor = "multi_thread")]
async fn connect_jwts_verify_on_every_nasty_request_in_header_and_query() {
    let (base, seen) = server().await;
    let ws = Workspace::new();
    let suite = format!(
        r#"suite: connect
target: {{ base_url: "{base}", allow_mutations: true }}
principals:
  in-header:
    auth: {{ connect_jwt: {{ issuer: my-app, secret: "${{SECRET}}" }} }}
  in-query:
    auth: {{ connect_jwt: {{ issuer: my-app, secret: "${{SECRET}}", in: query }} }}
  forger:
    auth: {{ connect_jwt: {{ issuer: my-app, secret: not-the-shared-secret }} }}
{NASTY}"#
    );
    ws.write("s.yaml", &suite);
    let out = ws
        .permatrix(&[
            "run",
            "s.yaml",
            &format!("--var=SECRET={SECRET}"),
            "--json",
            "r.json",
        ])
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let endpoints = NASTY.matches("request:").count();
    let seen = seen.0.lock().map(|s| s.clone()).unwrap_or_default();
    assert_eq!(
        seen.iter().filter(|(p, _)| p == "header").count(),
        endpoints,
        "{seen:?}"
    );
    assert_eq!(
        seen.iter().filter(|(p, _)| p == "query").count(),
        endpoints,
        "{seen:?}"
    );
    let canonicals: Vec<&str> = seen.iter().map(|(_, c)| c.as_str()).collect();
    for expected in [
        "GET&/rest/api/2/search&jql=project%20%3D%20TEST&maxResults=10",
        "GET&/test&title=1%20%2B%201%20equals%203",
        "GET&/test&query=connect%2A",
        "GET&/test&eta=in%20~3%20days&tilde=~",
        "GET&/test&IDS=x&ids=.1,1,10,2,%3A1",
        "GET&/test&a=&b=,foo&c=",
        "GET&/rest/api/2/thing&",
        "GET&/rest/api/2/project/jira%26a=b&",
        "GET&/rest/api/2/issue/my%20key/comment&",
        "GET&/rest/api/2/myself&",
        "POST&/rest/api/2/issue&notify=false",
        "GET&/jira&",
        "DELETE&/rest/api/2/issue/X-1&deleteSubtasks=true",
    ] {
        assert!(
            canonicals.contains(&expected),
            "{expected} not among {canonicals:#?}"
        );
    }
    // The tokens, including the jwt query parameter, never reach the report.
    let report = ws.read("r.json");
    assert!(
        !report.contains("jwt=ey") && !report.contains("JWT ey"),
        "{report}"
    );
    assert!(!out.all().contains("eyJ"), "{}", out.all());
}

#[tokio::test(flavor = "multi_thread")]
async fn explain_shows_the_connect_jwt_claims_and_the_canonical_request() {
    let (base, _) = server().await;
    let ws = Workspace::new();
    let suite = format!(
        r#"suite: explained
target: {{ base_url: "{base}" }}
principals:
  app:
    scopes: [READ]
    auth: {{ connect_jwt: {{ issuer: my-app, secret: "${{SECRET}}", in: query, subject: user-1 }} }}
endpoints:
  - name: search
    request: get /rest/api/2/search/?jql=project+%3D+TEST
    query: {{ fields: "summary,status" }}
    expect: {{ app: 200 }}
"#
    );
    ws.write("s.yaml", &suite);
    let secret = format!("--var=SECRET={SECRET}");
    let out = ws
        .permatrix(&[
            "explain",
            "s.yaml",
            "--endpoint",
            "search",
            "--principal",
            "app",
            &secret,
        ])
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let text = &out.stdout;
    for needle in [
        "auth     connect_jwt",
        &format!(
            "request  GET {base}/rest/api/2/search/?jql=project+%3D+TEST&fields=summary%2Cstatus&jwt=****"
        ),
        "jwt      in query parameter jwt",
        "header {\"typ\":\"JWT\",\"alg\":\"HS256\"}",
        "\"iss\":\"my-app\"",
        "\"sub\":\"user-1\"",
        "qsh      canonical request GET&/rest/api/2/search&fields=summary%2Cstatus&jql=project%20%3D%20TEST",
        "(the token's qsh claim matches)",
        "verdict  PASSED: 200 is within 200",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    assert!(!text.contains("jwt=ey"), "{text}");
}
