//! A notes service whose writes lie about what they did, for the tests of
//! write traces (`verify:`, `restore:`, `expect_trace:`): alice owns the notes
//! she creates, admin may do anything, and bob, who owns nothing of hers, is
//! refused a PUT or a DELETE that the server applies all the same (while
//! `apply_when_denied` is on), and is answered 204 to a PATCH that it ignores.
//! Every request is recorded with the note's title as it was on arrival, so a
//! test can say in which state each write found the note.

// Each test binary uses a different part of this server.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

/// Alice's bearer token: she owns the notes she creates.
pub const ALICE_TOKEN: &str = "alice-notes-5e0c1a";
/// Bob's bearer token: he owns none of alice's notes.
pub const BOB_TOKEN: &str = "bob-notes-77d2b4";
/// The admin's bearer token: may read, edit and delete every note.
pub const ADMIN_TOKEN: &str = "admin-notes-0b93fe";

/// One note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub id: String,
    pub owner: String,
    pub title: String,
    /// Moves on every write that reaches the note, ignored ones too.
    pub updated_at: u64,
}

/// One request as it arrived.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub body: String,
    /// `alice`, `bob`, `admin`, or `None` for no or an unknown credential.
    pub who: Option<String>,
    /// The title of the note the path names, as it was when the request arrived.
    pub title_before: Option<String>,
    /// The status answered; `None` while the handler runs.
    pub status: Option<u16>,
}

impl Seen {
    /// `METHOD path`.
    pub fn line(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// The `title` of its JSON body, if it has one.
    pub fn title_sent(&self) -> Option<String> {
        serde_json::from_str::<Value>(&self.body)
            .ok()
            .and_then(|v| v["title"].as_str().map(str::to_string))
    }
}

/// What the server holds and has seen.
pub struct Notes {
    /// Every request, in arrival order.
    pub seen: Mutex<Vec<Seen>>,
    /// Live notes by id.
    pub notes: Mutex<BTreeMap<String, Note>>,
    /// The id of every note created, in creation order (seeded ones too).
    pub created: Mutex<Vec<String>>,
    /// On (the default): bob's refused PUT and DELETE take effect.
    pub apply_when_denied: AtomicBool,
    /// The DELETE (counted from 1) that never answers; 0: none.
    pub hang_delete: AtomicU64,
    /// Told when that DELETE arrives.
    pub hung: tokio::sync::Notify,
    deletes: AtomicU64,
    sequence: AtomicU64,
    clock: AtomicU64,
}

impl Default for Notes {
    fn default() -> Notes {
        Notes {
            seen: Mutex::default(),
            notes: Mutex::default(),
            created: Mutex::default(),
            apply_when_denied: AtomicBool::new(true),
            hang_delete: AtomicU64::new(0),
            hung: tokio::sync::Notify::new(),
            deletes: AtomicU64::new(0),
            sequence: AtomicU64::new(1),
            clock: AtomicU64::new(1000),
        }
    }
}

impl Notes {
    /// Every request so far.
    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Requests with this method, in arrival order.
    pub fn with_method(&self, method: &str) -> Vec<Seen> {
        self.requests()
            .into_iter()
            .filter(|s| s.method == method)
            .collect()
    }

    /// How many requests arrived.
    pub fn total(&self) -> usize {
        self.seen.lock().map(|s| s.len()).unwrap_or(0)
    }

    /// Ids of the live notes.
    pub fn live(&self) -> Vec<String> {
        self.notes
            .lock()
            .map(|n| n.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The live note `id`, if any.
    pub fn note(&self, id: &str) -> Option<Note> {
        self.notes.lock().ok().and_then(|n| n.get(id).cloned())
    }

    /// The id of every note created so far, in creation order.
    pub fn created(&self) -> Vec<String> {
        self.created.lock().map(|c| c.clone()).unwrap_or_default()
    }

    pub fn set_apply_when_denied(&self, on: bool) {
        self.apply_when_denied.store(on, Ordering::SeqCst);
    }

    /// Creates a note of `owner` titled `title`; returns its id.
    pub fn seed(&self, owner: &str, title: &str) -> String {
        let id = format!("n{}", self.sequence.fetch_add(1, Ordering::SeqCst));
        let note = Note {
            id: id.clone(),
            owner: owner.to_string(),
            title: title.to_string(),
            updated_at: self.tick(),
        };
        if let Ok(mut notes) = self.notes.lock() {
            notes.insert(id.clone(), note);
        }
        if let Ok(mut created) = self.created.lock() {
            created.push(id.clone());
        }
        id
    }

    /// A time later than every one before it.
    fn tick(&self) -> u64 {
        self.clock.fetch_add(1, Ordering::SeqCst)
    }

    /// Applies `change` to note `id` and moves its `updated_at`.
    fn write(&self, id: &str, change: impl FnOnce(&mut Note)) {
        let now = self.tick();
        if let Ok(mut notes) = self.notes.lock()
            && let Some(note) = notes.get_mut(id)
        {
            change(note);
            note.updated_at = now;
        }
    }

    fn remove(&self, id: &str) {
        if let Ok(mut notes) = self.notes.lock() {
            notes.remove(id);
        }
    }

    fn denied_applies(&self) -> bool {
        self.apply_when_denied.load(Ordering::SeqCst)
    }
}

type Shared = Arc<Notes>;

fn who(headers: &HeaderMap) -> Option<String> {
    let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    [
        (ALICE_TOKEN, "alice"),
        (BOB_TOKEN, "bob"),
        (ADMIN_TOKEN, "admin"),
    ]
    .iter()
    .find(|(token, _)| auth == format!("Bearer {token}"))
    .map(|(_, name)| name.to_string())
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn error(status: StatusCode, message: &str) -> Response {
    json_response(status, json!({ "error": message }))
}

fn shown(note: &Note) -> Value {
    json!({
        "id": note.id,
        "title": note.title,
        "updated_at": format!("2026-01-01T00:00:{:04}Z", note.updated_at),
    })
}

fn title_of(body: &str) -> Option<String> {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["title"].as_str().map(str::to_string))
}

/// Whether `caller` may change `note`: its owner and the admin.
fn may_write(caller: &str, note: &Note) -> bool {
    caller == note.owner || caller == "admin"
}

async fn create(State(s): State<Shared>, headers: HeaderMap, body: String) -> Response {
    let Some(caller) = who(&headers) else {
        return error(StatusCode::UNAUTHORIZED, "authentication required");
    };
    let title = title_of(&body).unwrap_or_default();
    let id = s.seed(&caller, &title);
    match s.note(&id) {
        Some(note) => json_response(StatusCode::CREATED, shown(&note)),
        None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn read(State(s): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let Some(caller) = who(&headers) else {
        return error(StatusCode::UNAUTHORIZED, "authentication required");
    };
    match s.note(&id) {
        Some(note) if may_write(&caller, &note) => json_response(StatusCode::OK, shown(&note)),
        _ => error(StatusCode::NOT_FOUND, "no such note"),
    }
}

/// PUT: the owner and the admin replace the title; bob is refused with 403,
/// and the title is replaced all the same while `apply_when_denied` is on.
async fn replace(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: String,
) -> Response {
    let Some(caller) = who(&headers) else {
        return error(StatusCode::UNAUTHORIZED, "authentication required");
    };
    let Some(note) = s.note(&id) else {
        return error(StatusCode::NOT_FOUND, "no such note");
    };
    let title = title_of(&body).unwrap_or_default();
    if may_write(&caller, &note) {
        s.write(&id, |n| n.title = title);
        return StatusCode::NO_CONTENT.into_response();
    }
    if s.denied_applies() {
        s.write(&id, |n| n.title = title);
    }
    error(StatusCode::FORBIDDEN, "not your note")
}

/// PATCH: 204 to everyone signed in; bob's change is ignored, though the
/// note is saved (its `updated_at` moves).
async fn patch(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: String,
) -> Response {
    let Some(caller) = who(&headers) else {
        return error(StatusCode::UNAUTHORIZED, "authentication required");
    };
    let Some(note) = s.note(&id) else {
        return error(StatusCode::NOT_FOUND, "no such note");
    };
    let title = title_of(&body);
    if may_write(&caller, &note) {
        s.write(&id, |n| {
            if let Some(title) = title {
                n.title = title;
            }
        });
    } else {
        s.write(&id, |_| {});
    }
    StatusCode::NO_CONTENT.into_response()
}

/// DELETE: the owner and the admin delete; bob is refused with 403, and the
/// note is deleted all the same while `apply_when_denied` is on.
async fn delete(State(s): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let n = s.deletes.fetch_add(1, Ordering::SeqCst) + 1;
    if n == s.hang_delete.load(Ordering::SeqCst) {
        // The test interrupts the run while this request is in flight.
        s.hung.notify_one();
        std::future::pending::<()>().await;
    }
    let Some(caller) = who(&headers) else {
        return error(StatusCode::UNAUTHORIZED, "authentication required");
    };
    let Some(note) = s.note(&id) else {
        return error(StatusCode::NOT_FOUND, "no such note");
    };
    if may_write(&caller, &note) {
        s.remove(&id);
        return StatusCode::NO_CONTENT.into_response();
    }
    if s.denied_applies() {
        s.remove(&id);
    }
    error(StatusCode::FORBIDDEN, "not your note")
}

/// Records each request on arrival (with the title of the note it names)
/// and its status once answered.
async fn record(State(s): State<Shared>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let path = parts.uri.path().to_string();
    let title_before = path
        .strip_prefix("/notes/")
        .and_then(|id| s.note(id))
        .map(|n| n.title);
    let seen = Seen {
        method: parts.method.to_string(),
        path,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        who: who(&parts.headers),
        title_before,
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
        .route(
            "/notes/{id}",
            get(read).put(replace).patch(patch).delete(delete),
        )
        .layer(axum::middleware::from_fn_with_state(state.clone(), record))
        .with_state(state)
}

/// Starts the service on a free loopback port; returns its base URL and state.
pub async fn start() -> (String, Arc<Notes>) {
    let state = Arc::new(Notes::default());
    let base = super::serve(router(state.clone())).await;
    (base, state)
}
