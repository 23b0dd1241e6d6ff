//! A server whose answers say more in their bodies than in their statuses,
//! for the `decide:` and GraphQL tests (`tests/decisions.rs`). Each test
//! starts its own ([`start`]) and flips its switches.
//!
//! | route | answers |
//! | --- | --- |
//! | `GET /api/conversations.list` | Slack-style: always 200; `{"ok": true}` for [`SLACK_ADMIN`] (and for [`SLACK_READER`] once [`Decide::open_slack`]), `missing_scope` naming [`Decide::set_needed`] for the reader, `not_authed` without a token |
//! | `GET /case/{name}` | one canned answer per name, see [`case`] |
//! | `POST /graphql`, `GET /graphql` | GraphQL-ish: the answer of the operation (its `operationName`, else its name in the query) for the caller, see [`graphql_answer`] |
//! | `POST /graphql-post-only` | the same; GET answers 405 with no body |
//! | `POST /gql/{name}` | answers that are not GraphQL, see [`broken`] |
//!
//! Every request to a GraphQL route is recorded ([`Decide::received`]).

// Each test binary uses a different part of this server.
#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

/// The Slack-style admin token: every call answers `ok: true`.
pub const SLACK_ADMIN: &str = "xoxb-admin-7Qm2";
/// The Slack-style reader token: `missing_scope` until the server opens.
pub const SLACK_READER: &str = "xoxb-reader-4Lp9";
/// The GraphQL admin's bearer token: every operation answered.
pub const GQL_ADMIN: &str = "gq-admin-Vt5n";
/// The GraphQL reader's bearer token: each operation denied its own way.
pub const GQL_READER: &str = "gq-reader-Hs3k";

/// The "current transaction is aborted" error a PostGraphile server adds
/// after a denied field.
pub const ABORTED: &str =
    "current transaction is aborted, commands ignored until end of transaction block";

/// One request a GraphQL route received.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    pub path: String,
    /// The raw query string ("" without one).
    pub query: String,
    pub content_type: String,
    pub authorization: String,
    /// The body as text.
    pub body: String,
}

impl Received {
    /// The body as JSON (`null` when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// The query-string parameter `name`, decoded.
    pub fn param(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// The operation it asked for: `operationName`, from the body or the query string.
    pub fn operation(&self) -> Option<String> {
        self.json()["operationName"]
            .as_str()
            .map(str::to_string)
            .or_else(|| self.param("operationName"))
    }
}

/// The server's switches and what it received.
#[derive(Default)]
pub struct Decide {
    slack_open: AtomicBool,
    graphql_open: AtomicBool,
    needed: Mutex<Option<String>>,
    received: Mutex<Vec<Received>>,
}

impl Decide {
    /// The Slack reader gets `ok: true` from now on (or `missing_scope` again).
    pub fn open_slack(&self, open: bool) {
        self.slack_open.store(open, Ordering::SeqCst);
    }

    /// The GraphQL reader gets every field from now on (or its denials again).
    pub fn open_graphql(&self, open: bool) {
        self.graphql_open.store(open, Ordering::SeqCst);
    }

    /// The scope the Slack `missing_scope` answer names (`channels:read` until set).
    pub fn set_needed(&self, scope: &str) {
        *self.needed.lock().unwrap() = Some(scope.to_string());
    }

    fn needed(&self) -> String {
        self.needed
            .lock()
            .unwrap()
            .clone()
            .unwrap_or_else(|| "channels:read".into())
    }

    /// Every request the GraphQL routes received, in order.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// The requests that asked for operation `name`.
    pub fn received_for(&self, name: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.operation().as_deref() == Some(name))
            .collect()
    }
}

/// Starts the server on a free loopback port: its base URL and switches.
pub async fn start() -> (String, Arc<Decide>) {
    let state = Arc::new(Decide::default());
    let app = Router::new()
        .route("/api/conversations.list", get(slack))
        .route("/case/{name}", get(case))
        .route("/graphql", get(graphql).post(graphql))
        .route("/graphql-post-only", post(graphql))
        .route("/gql/{name}", post(broken))
        .with_state(state.clone());
    (super::serve(app).await, state)
}

fn who(headers: &HeaderMap) -> &'static str {
    match super::authorization(headers).strip_prefix("Bearer ") {
        Some(SLACK_ADMIN) | Some(GQL_ADMIN) => "admin",
        Some(SLACK_READER) | Some(GQL_READER) => "reader",
        _ => "anon",
    }
}

async fn slack(State(state): State<Arc<Decide>>, headers: HeaderMap) -> Response {
    let body = match who(&headers) {
        "admin" => json!({"ok": true, "channels": [{"id": "C1", "name": "general"}]}),
        "reader" if state.slack_open.load(Ordering::SeqCst) => {
            json!({"ok": true, "channels": [{"id": "C1", "name": "general"}]})
        }
        "reader" => json!({
            "ok": false,
            "error": "missing_scope",
            "needed": state.needed(),
            "provided": "chat:write"
        }),
        _ => json!({"ok": false, "error": "not_authed"}),
    };
    axum::Json(body).into_response()
}

/// The canned answers of `GET /case/{name}`.
async fn case(Path(name): Path<String>, headers: HeaderMap) -> Response {
    let json = |status: u16, body: Value| {
        (
            StatusCode::from_u16(status).unwrap(),
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response()
    };
    match name.as_str() {
        "ok-false" => json(
            200,
            json!({"ok": false, "error": "missing_scope", "count": 7}),
        ),
        "ok-true" => json(200, json!({"ok": true})),
        "null-member" => json(200, json!({"value": null})),
        "no-member" => json(200, json!({"other": 1})),
        "code" => json(200, json!({"code": "E_DENIED"})),
        "items" => json(200, json!({"items": [{"kind": "ok"}, {"kind": "denied"}]})),
        "items-fine" => json(200, json!({"items": [{"kind": "ok"}, {"kind": "ok"}]})),
        "headers" => (
            [
                ("x-error", "missing_scope"),
                ("x-count", "3"),
                ("content-type", "application/json"),
            ],
            "{}",
        )
            .into_response(),
        "plain" => (
            [(header::CONTENT_TYPE, "text/plain")],
            "Access Denied: you need the admin role",
        )
            .into_response(),
        "created" => json(201, json!({"id": 1})),
        "server-error" => json(500, json!({"status": "error"})),
        "both" => json(200, json!({"target_rule": true, "endpoint_rule": true})),
        // A Slack-style denial past the 64 KiB read limit.
        "big-denied" => json(
            200,
            json!({"ok": false, "error": "missing_scope", "padding": "x".repeat(70 * 1024)}),
        ),
        // An error that quotes the credential it refused.
        "echo" => json(
            200,
            json!({
                "ok": false,
                "error": "invalid_auth",
                "detail": format!("{} is not valid here", super::authorization(&headers))
            }),
        ),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn graphql(
    State(state): State<Arc<Decide>>,
    method: Method,
    uri: axum::http::Uri,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let received = Received {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: query.unwrap_or_default(),
        content_type: headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string(),
        authorization: super::authorization(&headers),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    state.received.lock().unwrap().push(received.clone());
    let (document, variables) = if method == Method::GET {
        let variables = received
            .param("variables")
            .and_then(|v| serde_json::from_str(&v).ok())
            .unwrap_or(Value::Null);
        (received.param("query").unwrap_or_default(), variables)
    } else {
        let json = received.json();
        (
            json["query"].as_str().unwrap_or_default().to_string(),
            json["variables"].clone(),
        )
    };
    let operation = received
        .operation()
        .or_else(|| name_in(&document))
        .unwrap_or_else(|| "Me".into());
    if operation == "EchoPath" {
        // A careless server: the caller's credential, with a control
        // character, becomes the path of the denied field.
        let echoed = format!("{}\u{1b}[2J", received.authorization);
        return axum::Json(json!({
            "data": {"notes": [{"id": "n1"}], "secret": null},
            "errors": [{"message": "Not allowed", "path": [echoed], "extensions": {"code": "FORBIDDEN"}}]
        }))
        .into_response();
    }
    let open = state.graphql_open.load(Ordering::SeqCst);
    axum::Json(graphql_answer(&operation, who(&headers), open, &variables)).into_response()
}

/// The name after the first `query` or `mutation` of `document`.
fn name_in(document: &str) -> Option<String> {
    let mut words = document
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty());
    while let Some(word) = words.next() {
        if word == "query" || word == "mutation" {
            return words.next().map(str::to_string);
        }
    }
    None
}

/// The answer to operation `operation` for `who` (`admin`, `reader`, `anon`).
pub fn graphql_answer(operation: &str, who: &str, open: bool, variables: &Value) -> Value {
    if who == "anon" {
        return json!({
            "data": null,
            "errors": [{"message": "You must be logged in", "extensions": {"code": "UNAUTHENTICATED"}}]
        });
    }
    let notes = json!([{"id": "n1", "title": "groceries"}]);
    let secrets = json!([{"id": "s1"}]);
    let everything = json!({"data": {
        "me": {"id": "u1"},
        "note": {"id": variables["id"].clone(), "title": "groceries"},
        "notes": notes,
        "secrets": secrets,
        "audit": [{"id": "a1"}],
        "repository": {"name": "permatrix"},
        "viewer": {"login": "octocat"},
        "orders": {"edges": []},
        "users": [{"id": 1}],
        "deleteNote": {"id": "n1"}
    }});
    if who == "admin" || open {
        return everything;
    }
    match operation {
        "Me" | "Viewer" | "Note" | "DeleteNote" => everything,
        "ApolloSecrets" => json!({
            "data": {"secrets": null},
            "errors": [{"message": "Not allowed", "path": ["secrets"], "extensions": {"code": "FORBIDDEN"}}]
        }),
        "GithubRepo" => json!({
            "data": {"repository": null},
            "errors": [{
                "type": "NOT_FOUND",
                "path": ["repository"],
                "locations": [{"line": 1, "column": 20}],
                "message": "Could not resolve to a Repository with the name 'acme/secret'."
            }]
        }),
        "GithubScopes" => json!({
            "errors": [{
                "type": "INSUFFICIENT_SCOPES",
                "locations": [{"line": 1, "column": 20}],
                "message": "Your token has not been granted the required scopes to execute this query. The 'login' field requires one of the following scopes: ['read:org']."
            }]
        }),
        "ShopifyOrders" => json!({
            "data": null,
            "errors": [{
                "message": "Access denied for orders field. Required access: `read_orders` access scope.",
                "locations": [{"line": 1, "column": 22}],
                "extensions": {"code": "ACCESS_DENIED", "documentation": "https://shopify.dev/api/usage/access-scopes"}
            }]
        }),
        "HasuraUsers" => json!({
            "errors": [{"extensions": {"path": "$", "code": "access-denied"}, "message": "authorization failed"}]
        }),
        "HasuraValidation" => json!({
            "errors": [{
                "extensions": {"path": "$.selectionSet.users", "code": "validation-failed"},
                "message": "field 'users' not found in type: 'query_root'"
            }]
        }),
        "CustomCode" => json!({
            "data": {"audit": null},
            "errors": [{"message": "role may not read audit", "path": ["audit"], "extensions": {"code": "NOT_ALLOWED_FOR_ROLE"}}]
        }),
        "Both" => json!({
            "data": {"notes": notes, "secrets": null},
            "errors": [{"message": "Not allowed", "path": ["secrets"], "extensions": {"code": "FORBIDDEN"}}]
        }),
        "PgBoth" => json!({
            "data": {"notes": notes, "secrets": null, "audit": null},
            "errors": [
                {"message": "permission denied for table secrets", "path": ["secrets"], "locations": [{"line": 1, "column": 30}]},
                {"message": ABORTED, "path": ["audit"], "locations": [{"line": 1, "column": 50}]}
            ]
        }),
        "PgSecrets" => json!({
            "data": {"secrets": null},
            "errors": [{"message": "permission denied for table secrets", "path": ["secrets"]}]
        }),
        // Apollo Router's authorization directives in filter mode: no `path`,
        // the field in `extensions.affectedPath`, the rest answered.
        "RouterFilter" => json!({
            "data": {"notes": notes, "secrets": null},
            "errors": [{"message": "Unauthorized field or type", "extensions": {"code": "UNAUTHORIZED_FIELD_OR_TYPE", "affectedPath": "secrets"}}]
        }),
        // Hasura answers a bad token with 200.
        "HasuraJwt" => json!({
            "errors": [{"extensions": {"path": "$", "code": "invalid-jwt"}, "message": "Could not verify JWT: JWSError JWSInvalidSignature"}]
        }),
        // One denied field per row: the paths carry list indexes.
        "Authors" => json!({
            "data": {"notes": [{"id": "n1", "author": null}, {"id": "n2", "author": null}]},
            "errors": [
                {"message": "Not allowed", "path": ["notes", 0, "author"], "extensions": {"code": "FORBIDDEN"}},
                {"message": "Not allowed", "path": ["notes", 1, "author"], "extensions": {"code": "FORBIDDEN"}}
            ]
        }),
        // A field that answered null: nothing there, nothing refused.
        "NullNote" => json!({"data": {"note": null}}),
        // A gateway's JSON that is no GraphQL answer.
        "Gateway" => json!({"message": "Unauthorized"}),
        _ => json!({"errors": [{"message": format!("unknown operation {operation}")}]}),
    }
}

/// Answers of `POST /gql/{name}` that a GraphQL client cannot read.
async fn broken(Path(name): Path<String>) -> Response {
    let typed = |status: u16, content_type: &'static str, body: String| {
        (
            StatusCode::from_u16(status).unwrap(),
            [(header::CONTENT_TYPE, content_type)],
            body,
        )
            .into_response()
    };
    match name.as_str() {
        "html" => typed(
            200,
            "text/html; charset=utf-8",
            "<!doctype html><html><head><title>Sign in</title></head><body>Please sign in to continue</body></html>".into(),
        ),
        "errors-string" => typed(
            200,
            "application/json",
            json!({"data": null, "errors": "boom"}).to_string(),
        ),
        "errors-odd-items" => typed(
            200,
            "application/json",
            json!({"data": null, "errors": [1, "x", null, {"path": 5}]}).to_string(),
        ),
        "text" => typed(200, "text/plain", "all good".into()),
        "deep" => typed(
            200,
            "application/json",
            format!("{}{}", "[".repeat(20_000), "]".repeat(20_000)),
        ),
        // A FORBIDDEN answer past the 64 KiB read limit: the end is never read.
        "big" => typed(
            200,
            "application/json",
            json!({
                "errors": [{"message": "Not allowed", "path": ["secrets"], "extensions": {"code": "FORBIDDEN"}}],
                "data": {"secrets": null, "padding": "x".repeat(70 * 1024)}
            })
            .to_string(),
        ),
        // An HTTP 401 whose GraphQL error carries no code.
        "unauthorized" => typed(
            401,
            "application/json",
            json!({"errors": [{"message": "Unauthorized"}]}).to_string(),
        ),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}
