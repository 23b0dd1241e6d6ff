//! A notes service with owned objects, for the object-level tests: each
//! principal (a bearer token) creates notes only it may read or delete, unless
//! the leak switch is on; every request is recorded, headers and body, so a
//! test can say what arrived and in which order.

// Each test binary uses a different part of this server.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

/// Alice's bearer token.
pub const ALICE_TOKEN: &str = "alice-token-4b1d9e";
/// Bob's bearer token.
pub const BOB_TOKEN: &str = "bob-token-9c02f7";
/// How long `GET /slow` takes: longer than any test waits.
pub const SLOW: Duration = Duration::from_secs(30);

/// One request as it arrived.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: String,
    /// Header names lower-case, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// `alice`, `bob`, or `None` for no or an unknown credential.
    pub who: Option<String>,
    /// The status answered; `None` while the handler runs.
    pub status: Option<u16>,
}

impl Seen {
    /// The first value of `name` (any case), or "".
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(h, _)| h.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    }

    /// `METHOD path`.
    pub fn line(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// A note and the values the server made up for it.
#[derive(Clone, Debug)]
pub struct Note {
    pub id: String,
    pub owner: String,
    pub text: String,
    /// A share link secret in the body (`/share`).
    pub share: String,
    /// A JWT-shaped value in the body (`/grant`).
    pub grant: String,
    /// The token in the body's `"hint": "csrf=<token>"`.
    pub csrf: String,
    /// The session id in the creation's `Set-Cookie: sid=<sid>`.
    pub sid: String,
    /// The creation's `ETag`, quotes included.
    pub etag: String,
}

/// What the server holds and has seen.
#[derive(Default)]
pub struct Owned {
    /// Every request, in arrival order.
    pub seen: Mutex<Vec<Seen>>,
    /// Live notes by id.
    pub notes: Mutex<BTreeMap<String, Note>>,
    /// Every note ever created, deleted ones too, in creation order.
    pub created: Mutex<Vec<Note>>,
    /// On: non-owners read the owner's note (the bug the tests look for).
    pub leak: AtomicBool,
    /// Requests that reached `GET /slow`.
    pub slow_hits: AtomicUsize,
    sequence: AtomicU64,
}

impl Owned {
    /// Every request so far.
    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Requests whose `METHOD path` starts with `prefix`.
    pub fn matching(&self, prefix: &str) -> Vec<Seen> {
        self.requests()
            .into_iter()
            .filter(|s| s.line().starts_with(prefix))
            .collect()
    }

    /// How many requests arrived.
    pub fn total(&self) -> usize {
        self.seen.lock().map(|s| s.len()).unwrap_or(0)
    }

    /// Notes created by `owner`, deleted ones too.
    pub fn created_by(&self, owner: &str) -> Vec<Note> {
        self.created
            .lock()
            .map(|c| c.iter().filter(|n| n.owner == owner).cloned().collect())
            .unwrap_or_default()
    }

    /// The one note `owner` created; fails the test otherwise.
    pub fn only_note_of(&self, owner: &str) -> Note {
        let notes = self.created_by(owner);
        assert_eq!(notes.len(), 1, "{owner} created {notes:?}");
        notes[0].clone()
    }

    /// Ids of the notes not deleted.
    pub fn live(&self) -> Vec<String> {
        self.notes
            .lock()
            .map(|n| n.keys().cloned().collect())
            .unwrap_or_default()
    }

    pub fn set_leak(&self, on: bool) {
        self.leak.store(on, Ordering::SeqCst);
    }

    /// A fresh lower-case hex string, different on every call.
    fn fresh(&self) -> String {
        let n = self.sequence.fetch_add(1, Ordering::SeqCst);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or_default();
        let mut z = nanos ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        format!("{:016x}{:04x}", z ^ (z >> 31), n & 0xffff)
    }

    /// A timestamp later than every one before it.
    fn now(&self) -> String {
        let n = self.sequence.fetch_add(1, Ordering::SeqCst);
        format!("2026-01-01T00:00:00.{n:09}Z")
    }

    /// The note as its owner sees it: changing `updated_at` and `request_id`.
    fn full(&self, note: &Note) -> Value {
        json!({
            "id": note.id,
            "owner": note.owner,
            "text": note.text,
            "share": note.share,
            "grant": note.grant,
            "hint": format!("csrf={}", note.csrf),
            "updated_at": self.now(),
            "request_id": self.fresh(),
        })
    }
}

fn who(headers: &HeaderMap) -> Option<String> {
    let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    if auth == format!("Bearer {ALICE_TOKEN}") {
        Some("alice".into())
    } else if auth == format!("Bearer {BOB_TOKEN}") {
        Some("bob".into())
    } else {
        None
    }
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn not_found() -> Response {
    json_response(StatusCode::NOT_FOUND, json!({"error": "not found"}))
}

fn unauthenticated() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [
            (header::WWW_AUTHENTICATE, "Bearer realm=\"notes\""),
            (header::CONTENT_TYPE, "application/json"),
        ],
        r#"{"error":"authentication required"}"#,
    )
        .into_response()
}

type Shared = Arc<Owned>;

async fn create(State(s): State<Shared>, headers: HeaderMap, body: String) -> Response {
    let Some(owner) = who(&headers) else {
        return unauthenticated();
    };
    let text = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v["text"].as_str().map(str::to_string))
        .unwrap_or_default();
    let id = format!("n{}", &s.fresh()[..10]);
    let note = Note {
        etag: format!("\"{id}-v1\""),
        id: id.clone(),
        owner,
        text,
        share: format!("share-{}", s.fresh()),
        grant: jwt(&id, &s.fresh()),
        csrf: s.fresh(),
        sid: s.fresh(),
    };
    if let Ok(mut notes) = s.notes.lock() {
        notes.insert(id.clone(), note.clone());
    }
    if let Ok(mut created) = s.created.lock() {
        created.push(note.clone());
    }
    (
        StatusCode::CREATED,
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (header::ETAG, note.etag.clone()),
            (
                header::SET_COOKIE,
                format!("sid={}; Path=/; HttpOnly", note.sid),
            ),
        ],
        s.full(&note).to_string(),
    )
        .into_response()
}

/// A signed-looking JWT (three base64url parts) about note `id`.
fn jwt(id: &str, nonce: &str) -> String {
    use base64::Engine;
    let part = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.{}",
        part(json!({"alg": "HS256", "typ": "JWT"})),
        part(json!({"sub": id, "nonce": nonce})),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(nonce.repeat(2)),
    )
}

fn lookup(s: &Owned, id: &str) -> Option<Note> {
    s.notes.lock().ok().and_then(|n| n.get(id).cloned())
}

async fn read(State(s): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let Some(caller) = who(&headers) else {
        return unauthenticated();
    };
    match lookup(&s, &id) {
        Some(note) if note.owner == caller || s.leak.load(Ordering::SeqCst) => {
            json_response(StatusCode::OK, s.full(&note))
        }
        _ => not_found(),
    }
}

/// Everyone may preview a note: its owner (or anyone, with the leak on) sees
/// it whole, the others see its id and owner with the text hidden.
async fn preview(State(s): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let Some(caller) = who(&headers) else {
        return unauthenticated();
    };
    match lookup(&s, &id) {
        Some(note) if note.owner == caller || s.leak.load(Ordering::SeqCst) => {
            json_response(StatusCode::OK, s.full(&note))
        }
        Some(note) => json_response(
            StatusCode::OK,
            json!({"id": note.id, "owner": note.owner, "text": "(hidden)"}),
        ),
        None => not_found(),
    }
}

async fn delete(State(s): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let Some(caller) = who(&headers) else {
        return unauthenticated();
    };
    let Ok(mut notes) = s.notes.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    match notes.get(&id) {
        Some(note) if note.owner == caller => {
            notes.remove(&id);
            StatusCode::NO_CONTENT.into_response()
        }
        _ => not_found(),
    }
}

/// Answers with what it received: the headers, the query and the body.
async fn echo(request: Request) -> Response {
    let headers: serde_json::Map<String, Value> = request
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                Value::from(v.to_str().unwrap_or_default()),
            )
        })
        .collect();
    let query = request.uri().query().unwrap_or_default().to_string();
    let body = axum::body::to_bytes(request.into_body(), 1 << 20)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    json_response(
        StatusCode::OK,
        json!({"headers": headers, "query": query, "body": body}),
    )
}

async fn slow(State(s): State<Shared>) -> Response {
    s.slow_hits.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(SLOW).await;
    json_response(StatusCode::OK, json!({"slow": true}))
}

/// Records each request on arrival and its status once answered.
async fn record(State(s): State<Shared>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let seen = Seen {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or_default().to_string(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: String::from_utf8_lossy(&bytes).into_owned(),
        who: who(&parts.headers),
        status: None,
    };
    let index = match s.seen.lock() {
        Ok(mut all) => {
            all.push(seen);
            all.len() - 1
        }
        Err(_) => usize::MAX,
    };
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    if let Ok(mut all) = s.seen.lock()
        && let Some(entry) = all.get_mut(index)
    {
        entry.status = Some(response.status().as_u16());
    }
    response
}

/// The service around `state`.
pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/notes", post(create))
        .route("/notes/{id}", get(read).delete(delete))
        .route("/notes/{id}/preview", get(preview))
        .route("/echo", get(echo).post(echo))
        .route("/slow", get(slow))
        .route("/empty", get(|| async { StatusCode::NO_CONTENT }))
        .route(
            "/broken",
            post(|| async {
                json_response(StatusCode::INTERNAL_SERVER_ERROR, json!({"error": "boom"}))
            }),
        )
        .layer(axum::middleware::from_fn_with_state(state.clone(), record))
        .with_state(state)
}

/// Starts the service on a free loopback port; returns its base URL and state.
pub async fn start() -> (String, Arc<Owned>) {
    let state = Arc::new(Owned::default());
    let base = super::serve(router(state.clone())).await;
    (base, state)
}
