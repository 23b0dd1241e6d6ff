//! A server whose every answer comes from a table the test writes, for the
//! lints tests (`tests/lints.rs`): each test lays out the matrix it needs,
//! one status per method, path and caller, and can rewrite the table between
//! two runs ([`LintServer::set`]).
//!
//! The table has one line per route, `METHOD PATH who=status who=status …`:
//!
//! | `who` | is the caller that sends |
//! | --- | --- |
//! | a name (`alice`) | `Authorization: Bearer` [`token`]`("alice")` |
//! | `anon` | no `Authorization` header |
//! | `bad` | a bearer token of no name in the table (a tamper probe's) |
//! | `*` | anyone the line does not name |
//!
//! A route is looked up by its path with its query first, then by its path
//! alone; a request no line matches, or a caller a line names neither by
//! name nor by `*`, gets 404. A 2xx answer's body is `{"data":{"ok":true}}`
//! (a GraphQL answer that reached its field; 204 has none), any other's
//! `{"error":"…"}`.

// Each test binary uses a different part of this server.
#![allow(dead_code)]

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

/// The bearer token of the principal `name`.
pub fn token(name: &str) -> String {
    format!("lint-token-of-{name}")
}

/// The table: per `METHOD target`, the status of each caller.
#[derive(Default)]
struct Table {
    routes: HashMap<String, HashMap<String, u16>>,
    /// Every name the table gives a status to (not `anon`, `bad`, `*`).
    names: BTreeSet<String>,
}

impl Table {
    fn parse(text: &str) -> Table {
        let mut table = Table::default();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let mut words = line.split_whitespace();
            let (Some(method), Some(target)) = (words.next(), words.next()) else {
                panic!("a table line is `METHOD PATH who=status…`: {line}");
            };
            let answers = table
                .routes
                .entry(format!("{} {target}", method.to_ascii_uppercase()))
                .or_default();
            for pair in words {
                let (who, status) = pair
                    .split_once('=')
                    .unwrap_or_else(|| panic!("`{pair}` is not who=status in {line}"));
                let status: u16 = status
                    .parse()
                    .unwrap_or_else(|_| panic!("`{status}` is not a status in {line}"));
                answers.insert(who.to_string(), status);
                if !matches!(who, "anon" | "bad" | "*") {
                    table.names.insert(who.to_string());
                }
            }
        }
        table
    }

    /// Who sent `headers`: a name of the table, `anon` or `bad`.
    fn caller(&self, headers: &HeaderMap) -> String {
        let Some(auth) = headers
            .get(header::AUTHORIZATION)
            .and_then(|a| a.to_str().ok())
        else {
            return "anon".into();
        };
        self.names
            .iter()
            .find(|name| auth == format!("Bearer {}", token(name)))
            .cloned()
            .unwrap_or_else(|| "bad".into())
    }

    fn status(&self, method: &Method, uri: &Uri, who: &str) -> u16 {
        let with_query = uri.path_and_query().map_or(uri.path(), |pq| pq.as_str());
        let route = [with_query, uri.path()]
            .iter()
            .find_map(|target| self.routes.get(&format!("{method} {target}")));
        route
            .and_then(|answers| answers.get(who).or_else(|| answers.get("*")))
            .copied()
            .unwrap_or(404)
    }
}

#[derive(Default)]
struct Shared {
    table: Mutex<Table>,
    requests: AtomicUsize,
}

/// A running table server.
pub struct LintServer {
    /// Its base URL (`http://127.0.0.1:PORT`).
    pub base: String,
    shared: Arc<Shared>,
}

impl LintServer {
    /// Answers by `table` from now on.
    pub fn set(&self, table: &str) {
        *self.shared.table.lock().expect("table") = Table::parse(table);
    }

    /// Every request received so far.
    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }
}

async fn answer(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    shared.requests.fetch_add(1, Ordering::SeqCst);
    let status = {
        let table = shared.table.lock().expect("table");
        let who = table.caller(&headers);
        table.status(&method, &uri, &who)
    };
    let status = StatusCode::from_u16(status).expect("a status");
    let json = [(header::CONTENT_TYPE, "application/json")];
    if status == StatusCode::NO_CONTENT {
        status.into_response()
    } else if status.is_success() {
        (status, json, r#"{"data":{"ok":true}}"#).into_response()
    } else if status == StatusCode::UNAUTHORIZED {
        let challenge = (header::WWW_AUTHENTICATE, "Bearer realm=\"lints\"");
        let body = r#"{"error":"unauthenticated"}"#;
        (status, [json[0].clone(), challenge], body).into_response()
    } else {
        (
            status,
            json,
            format!(r#"{{"error":"{}"}}"#, status.as_u16()),
        )
            .into_response()
    }
}

/// Starts a server answering by `table` on a free loopback port.
pub async fn start(table: &str) -> LintServer {
    let shared = Arc::new(Shared {
        table: Mutex::new(Table::parse(table)),
        requests: AtomicUsize::new(0),
    });
    let app = Router::new().fallback(answer).with_state(shared.clone());
    LintServer {
        base: super::serve(app).await,
        shared,
    }
}
