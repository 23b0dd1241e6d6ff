//! A server of list answers, for the `items:` and `expect_items:` tests
//! (`tests/items.rs`). Seven notes, the odd ones alice's, the even ones
//! bob's; the auditor sees alice's; admin owns none and sees all. Each test starts its own ([`start`])
//! and flips its switches.
//!
//! | route | answers |
//! | --- | --- |
//! | `GET /notes` | `{"notes": [{"id": "1", "owner": "alice"}, …]}`: the caller's own notes (all for admin); alice also sees note 2 once [`Lists::leak`], note 1 drops out once [`Lists::hide_first`] |
//! | `GET /leaky` | every note to every caller: a list that does not filter |
//! | `GET /admin-only` | the notes to admin, 403 to anyone else |
//! | `GET /link?page=N` | two notes a page; a `Link` header with `first`, `next` (quoted, alongside `last` in one value) and `last` links, absolute |
//! | `GET /v1/rel-link?page=N` | two notes a page; a `Link` header whose target is relative to the request (`<?page=2>; rel=next`) |
//! | `GET /next-page?page=N` | two notes a page; a `Next-Page` header holding the whole next URL (Kinto) |
//! | `GET /json-next?page=N` | two notes a page; `links.next` a URL relative to the server |
//! | `GET /cursor?page_token=T` | two notes a page; `next_page_token` an opaque token to send back (MLflow) |
//! | `GET /loop` | one note and `next: "/loop?again=1"`, whose answer points back to `/loop` |
//! | `GET /tokens` | the caller's own bearer token listed as an item (a server that echoes credentials) |
//! | `GET /case/{name}` | canned answers, see [`case`] |
//!
//! Every caller other than alice, bob, the auditor and admin is answered 401. Every
//! request is recorded ([`Lists::received`]).

// Each test binary uses a different part of this server.
#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// alice's bearer token.
pub const ALICE: &str = "list-alice-Qw7e";
/// bob's bearer token.
pub const BOB: &str = "list-bob-Rt5y";
/// The auditor's bearer token: sees alice's notes, and never a leaked one.
pub const AUDITOR: &str = "list-auditor-Pa9s";
/// admin's bearer token.
pub const ADMIN: &str = "list-admin-Ui3o";

/// One request the server received.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    /// The raw query string ("" without one).
    pub query: String,
    pub authorization: String,
}

impl Received {
    /// The query-string parameter `name`, decoded.
    pub fn param(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

/// The server's switches and what it received.
#[derive(Default)]
pub struct Lists {
    leak: AtomicBool,
    hide_first: AtomicBool,
    received: Mutex<Vec<Received>>,
}

impl Lists {
    /// `/notes` shows alice bob's note 2 from now on.
    pub fn leak(&self, on: bool) {
        self.leak.store(on, Ordering::SeqCst);
    }

    /// `/notes` no longer lists note 1 from now on.
    pub fn hide_first(&self, on: bool) {
        self.hide_first.store(on, Ordering::SeqCst);
    }

    /// Every request received, in order.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// The requests received on `path`.
    pub fn received_on(&self, path: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }
}

/// Starts the server on a free loopback port: its base URL and switches.
pub async fn start() -> (String, Arc<Lists>) {
    let state = Arc::new(Lists::default());
    let app = Router::new().fallback(answer).with_state(state.clone());
    (super::serve(app).await, state)
}

/// Who the bearer token says the caller is.
fn who(headers: &HeaderMap) -> Option<&'static str> {
    match super::authorization(headers).strip_prefix("Bearer ") {
        Some(ALICE) => Some("alice"),
        Some(BOB) => Some("bob"),
        Some(AUDITOR) => Some("auditor"),
        Some(ADMIN) => Some("admin"),
        _ => None,
    }
}

/// Note `n` as an item.
fn note(n: u32) -> Value {
    let owner = if n % 2 == 1 { "alice" } else { "bob" };
    json!({"id": n.to_string(), "owner": owner, "title": format!("note {n}")})
}

/// The notes `who` may read.
fn own_notes(who: &str) -> Vec<Value> {
    (1..=7)
        .filter(|n| match who {
            "admin" => true,
            "alice" | "auditor" => n % 2 == 1,
            _ => n % 2 == 0,
        })
        .map(note)
        .collect()
}

fn json_answer(status: u16, body: Value) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// The 1-based page asked for in `?page=` (1 without one).
fn page_of(query: &str) -> usize {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "page")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(1)
}

/// The notes of page `page` (two a page), and whether another follows.
fn chunk(notes: &[Value], page: usize) -> (Vec<Value>, bool) {
    let start = (page.saturating_sub(1) * 2).min(notes.len());
    let end = (start + 2).min(notes.len());
    (notes[start..end].to_vec(), end < notes.len())
}

async fn answer(State(state): State<Arc<Lists>>, uri: Uri, headers: HeaderMap) -> Response {
    let query = uri.query().unwrap_or_default().to_string();
    state.received.lock().unwrap().push(Received {
        path: uri.path().to_string(),
        query: query.clone(),
        authorization: super::authorization(&headers),
    });
    let Some(who) = who(&headers) else {
        return json_answer(401, json!({"error": "who are you?"}));
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let mine = own_notes(who);
    let page = page_of(&query);
    match uri.path() {
        "/notes" => {
            let mut notes = mine;
            if who == "alice" && state.leak.load(Ordering::SeqCst) {
                notes.push(note(2));
            }
            if state.hide_first.load(Ordering::SeqCst) {
                notes.retain(|n| n["id"] != "1");
            }
            json_answer(200, json!({ "notes": notes }))
        }
        "/leaky" => json_answer(200, json!({ "notes": own_notes("admin") })),
        // A list past the 64 KiB a cell reads: 2,000 items with some text each.
        "/big" => json_answer(
            200,
            json!({ "notes": (0..2000).map(|i| json!({"id": i, "text": "x".repeat(40)})).collect::<Vec<_>>() }),
        ),
        // A next page on another origin: never to be sent the caller's credentials.
        "/foreign-link" => (
            [
                (header::CONTENT_TYPE, "application/json".to_string()),
                (
                    header::LINK,
                    "<http://other.invalid/steal>; rel=\"next\"".to_string(),
                ),
            ],
            json!({ "notes": mine }).to_string(),
        )
            .into_response(),
        "/admin-only" if who == "admin" => json_answer(200, json!({ "notes": mine })),
        "/admin-only" => json_answer(403, json!({"error": "admins only"})),
        "/link" => {
            let (notes, more) = chunk(&mine, page);
            let last = mine.len().div_ceil(2);
            let link = |p: usize| format!("<http://{host}/link?page={p}>");
            let mut links = vec![format!("{}; rel=\"first\"", link(1))];
            if more {
                // `next` shares a quoted value with another relation.
                links.push(format!("{}; rel=\"next nofollow\"", link(page + 1)));
            }
            links.push(format!("{}; rel=\"last\"", link(last)));
            (
                [
                    (header::CONTENT_TYPE, "application/json".to_string()),
                    (header::LINK, links.join(", ")),
                ],
                json!({ "notes": notes }).to_string(),
            )
                .into_response()
        }
        "/v1/rel-link" => {
            let (notes, more) = chunk(&mine, page);
            let mut response = json_answer(200, json!({ "notes": notes }));
            if more {
                // A reference relative to the request's URL, an unquoted rel.
                let next = format!("<?page={}>; rel=next", page + 1);
                response
                    .headers_mut()
                    .insert(header::LINK, next.parse().unwrap());
            }
            response
        }
        "/next-page" => {
            let (notes, more) = chunk(&mine, page);
            let mut response = json_answer(200, json!({ "notes": notes }));
            if more {
                let next = format!("http://{host}/next-page?page={}", page + 1);
                response
                    .headers_mut()
                    .insert("next-page", next.parse().unwrap());
            }
            response
        }
        "/json-next" => {
            let (notes, more) = chunk(&mine, page);
            let next = more.then(|| format!("/json-next?page={}", page + 1));
            json_answer(200, json!({ "data": notes, "links": { "next": next } }))
        }
        "/cursor" => {
            // Tokens are opaque: `tok-<index of the first note>-x`.
            let start: usize = url::form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == "page_token")
                .and_then(|(_, v)| v.strip_prefix("tok-")?.strip_suffix("-x")?.parse().ok())
                .unwrap_or(0);
            let start = start.min(mine.len());
            let end = (start + 2).min(mine.len());
            let mut body = json!({ "notes": mine[start..end].to_vec() });
            if end < mine.len() {
                body["next_page_token"] = json!(format!("tok-{end}-x"));
            }
            json_answer(200, body)
        }
        "/loop" => {
            let next = if query.is_empty() {
                "/loop?again=1"
            } else {
                "/loop"
            };
            json_answer(200, json!({ "notes": [note(1)], "next": next }))
        }
        "/tokens" => {
            let token = super::authorization(&headers)
                .trim_start_matches("Bearer ")
                .to_string();
            json_answer(
                200,
                json!({ "tokens": [{ "id": token }, { "id": "public" }] }),
            )
        }
        path => match path.strip_prefix("/case/") {
            Some(name) => case(name),
            None => json_answer(404, json!({"error": "no such route"})),
        },
    }
}

/// The canned answers of `GET /case/{name}`.
fn case(name: &str) -> Response {
    match name {
        // MLflow leaves an empty list out.
        "empty-object" => json_answer(200, json!({})),
        "top-level-list" => json_answer(200, json!([{"id": "1"}])),
        "not-a-list" => json_answer(200, json!({"notes": {"id": "1"}})),
        "null-list" => json_answer(200, json!({"notes": null})),
        "object-id" => json_answer(200, json!({"notes": [{"id": "1"}, {"id": {"n": 2}}]})),
        "missing-id" => json_answer(200, json!({"notes": [{"id": "1"}, {"name": "two"}]})),
        "not-json" => (
            [(header::CONTENT_TYPE, "text/html")],
            "<html><body>notes</body></html>",
        )
            .into_response(),
        "composite" => json_answer(
            200,
            json!({"notes": [
                {"owner": "alice", "id": 1},
                {"owner": "bob", "id": 1},
                {"owner": "alice", "id": 3},
            ]}),
        ),
        "scalars" => json_answer(
            200,
            json!({"notes": [{"id": 42}, {"id": true}, {"id": 2.5}, {"id": "x"}]}),
        ),
        "whole" => json_answer(200, json!({"notes": ["a", 7, false, {"k": "v"}, ["x", 1]]})),
        "nested" => json_answer(
            200,
            json!({"result": {"page": {"rows": [{"meta": {"key": "K-1"}}, {"meta": {"key": "K-2"}}]}}}),
        ),
        _ => json_answer(404, json!({"error": "no such case"})),
    }
}
