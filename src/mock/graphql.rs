//! What a route with `graphql:` answers: GraphQL over HTTP (POST with a JSON
//! body, GET with query parameters), each selected root field as its data or,
//! when the caller may not read it, null and an error with a code, under
//! status 200. Requests that cannot run answer as Apollo Server does.

mod document;

use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use self::document::{Kind, Rejected, Selections, cut};
use super::jira_error::ANYONE;
use super::state::MockState;
use super::verify::Caller;
use crate::suite::mock_def::{GraphqlDef, GraphqlField, MockDef, RootType};

/// The code of an error about the caller's credentials.
pub(crate) const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
/// The code of a request that is not a GraphQL request.
pub(crate) const BAD_REQUEST: &str = "BAD_REQUEST";
/// What `${caller}` in a field's data becomes for a caller without credentials.
const ANONYMOUS_NAME: &str = "anonymous";

/// A request on a `graphql:` route, as received.
pub(crate) struct GraphqlRequest<'a> {
    /// Its method (GET or POST).
    pub method: &'a Method,
    /// Its query string.
    pub query: Option<&'a str>,
    /// Its `Content-Type`.
    pub content_type: Option<&'a str>,
    /// Its body.
    pub body: &'a [u8],
}

/// What a GraphQL request asks for.
struct Params {
    query: String,
    operation_name: Option<String>,
}

/// The answer to `request` from `caller`, whose credentials verified.
pub(crate) fn answer(
    state: &MockState,
    graphql: &GraphqlDef,
    request: &GraphqlRequest<'_>,
    caller: &Caller,
) -> Response {
    let params = match params(request) {
        Ok(params) => params,
        Err((status, message)) => return refused(status, BAD_REQUEST, &message),
    };
    let document = match document::parse(&params.query) {
        Ok(document) => document,
        Err(rejected) => return rejection(rejected),
    };
    let operation = match document::operation(&document, params.operation_name.as_deref()) {
        Ok(operation) => operation,
        Err(rejected) => return rejection(rejected),
    };
    let root = match operation.kind {
        Kind::Query => RootType::Query,
        Kind::Mutation if *request.method == Method::GET => {
            let mut refused = refused(
                StatusCode::METHOD_NOT_ALLOWED,
                BAD_REQUEST,
                "Can only perform a mutation operation from a POST request.",
            );
            refused
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
            return refused;
        }
        Kind::Mutation => RootType::Mutation,
        Kind::Subscription => {
            return rejection(Rejected::Invalid(vec![(
                "Schema is not configured to execute subscription operation.".into(),
                None,
            )]));
        }
    };
    let fields = match Selections::new(&document).root(operation.selection) {
        Ok(fields) => fields,
        Err(rejected) => return rejection(rejected),
    };
    let unknown: Vec<(String, Option<graphql_parser::Pos>)> = fields
        .iter()
        .filter(|f| f.name != "__typename" && graphql.field(root, &f.name).is_none())
        .map(|f| {
            let message = if f.name.starts_with("__") {
                format!(
                    "The mock serves no introspection: \"{}\" is not answered.",
                    f.name
                )
            } else {
                format!(
                    "Cannot query field \"{}\" on type \"{}\".",
                    f.name,
                    root.name()
                )
            };
            (message, Some(f.pos))
        })
        .collect();
    if !unknown.is_empty() {
        return rejection(Rejected::Invalid(unknown));
    }
    if *caller == Caller::Anonymous && !graphql.anonymous {
        let error = json!({
            "message": "You must be authenticated to query this API.",
            "extensions": {"code": UNAUTHENTICATED},
        });
        return axum::Json(json!({"data": null, "errors": [error]})).into_response();
    }
    let def = &state.def;
    let mut data = Map::new();
    let mut errors = Vec::new();
    for selected in &fields {
        let Some(field) = graphql.field(root, &selected.name) else {
            data.insert(selected.key.clone(), json!(root.name()));
            continue;
        };
        let (message, code) = match access(def, caller, field) {
            Access::Granted => {
                let value = cut(&field.data, selected.shape.as_deref());
                data.insert(selected.key.clone(), named(value, caller_name(def, caller)));
                continue;
            }
            Access::Denied(message) => (message, graphql.denied_code.as_str()),
            Access::Unauthenticated => (
                format!("You must be authenticated to read {}.", field.name),
                UNAUTHENTICATED,
            ),
        };
        data.insert(selected.key.clone(), Value::Null);
        errors.push(json!({
            "message": message,
            "locations": [location(selected.pos)],
            "path": [selected.key],
            "extensions": {"code": code},
        }));
    }
    let mut body = json!({"data": data});
    if !errors.is_empty() {
        body["errors"] = Value::Array(errors);
    }
    axum::Json(body).into_response()
}

/// The query and operation name of a POST's JSON body or a GET's parameters
/// (`variables` must be an object, and is not read further); `Err`: why not.
fn params(request: &GraphqlRequest<'_>) -> Result<Params, (StatusCode, String)> {
    let bad = |message: &str| (StatusCode::BAD_REQUEST, message.to_string());
    let (query, operation_name, variables) = if *request.method == Method::GET {
        let mut found = (None, None, None);
        for (name, value) in url::form_urlencoded::parse(request.query.unwrap_or("").as_bytes()) {
            let slot = match name.as_ref() {
                "query" => &mut found.0,
                "operationName" => &mut found.1,
                "variables" => &mut found.2,
                _ => continue,
            };
            *slot = Some(value.into_owned());
        }
        let variables = match found.2.as_deref() {
            None | Some("") => Value::Null,
            Some(text) => serde_json::from_str(text)
                .map_err(|_| bad("The `variables` parameter is not JSON."))?,
        };
        (found.0, found.1.filter(|n| !n.is_empty()), variables)
    } else {
        let essence = request.content_type.map(|t| {
            t.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
        if essence.is_some_and(|t| t != "application/json") {
            return Err((
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Send the request as application/json: {\"query\": …, \"variables\": …, \"operationName\": …}.".into(),
            ));
        }
        let Ok(Value::Object(mut body)) = serde_json::from_slice::<Value>(request.body) else {
            return Err(bad(
                "The body is not a JSON object: send {\"query\": …, \"variables\": …, \"operationName\": …}.",
            ));
        };
        let operation_name = match body.remove("operationName") {
            None | Some(Value::Null) => None,
            Some(Value::String(name)) => Some(name),
            Some(_) => return Err(bad("`operationName` must be a string.")),
        };
        let query = match body.remove("query") {
            None | Some(Value::Null) => None,
            Some(Value::String(query)) => Some(query),
            Some(_) => return Err(bad("`query` must be a string.")),
        };
        let variables = body.remove("variables").unwrap_or(Value::Null);
        (query, operation_name, variables)
    };
    if !(variables.is_null() || variables.is_object()) {
        return Err(bad("`variables` must be a JSON object."));
    }
    match query.filter(|q| !q.trim().is_empty()) {
        Some(query) => Ok(Params {
            query,
            operation_name,
        }),
        None => Err(bad("GraphQL operations must contain a non-empty `query`.")),
    }
}

/// Whether a caller may read a field.
enum Access {
    /// It may.
    Granted,
    /// Its credentials are fine but do not reach the field (the message says why).
    Denied(String),
    /// It has no credentials and the field needs some.
    Unauthenticated,
}

/// Whether `caller` may read `field`. An app needs the field's scope (its own
/// user holds what its scopes grant); a user, by Basic or impersonated, needs
/// the field's permission (an impersonation token its scope too); a field
/// without permission is any authenticated caller's; a caller without
/// credentials reads fields whose permission the pseudo-group `anyone` holds.
fn access(def: &MockDef, caller: &Caller, field: &GraphqlField) -> Access {
    let held_by_anyone = |permission: &str| def.holders(permission).iter().any(|g| g == ANYONE);
    let scope_needed = || {
        Access::Denied(format!(
            "{} needs the {} scope, which the credentials do not hold.",
            field.name, field.scope
        ))
    };
    let user = match caller {
        Caller::Anonymous => {
            return match &field.permission {
                Some(permission) if held_by_anyone(permission) => Access::Granted,
                _ => Access::Unauthenticated,
            };
        }
        Caller::App(app) => {
            let scopes = def.apps.get(*app).map(|a| a.scopes.as_slice());
            return match scopes {
                Some(scopes) if def.granted(scopes, field.scope) => Access::Granted,
                _ => scope_needed(),
            };
        }
        Caller::Impersonated { scopes, user, .. } => {
            if !def.granted(scopes, field.scope) {
                return scope_needed();
            }
            *user
        }
        Caller::User(user) => *user,
    };
    let Some(permission) = &field.permission else {
        return Access::Granted;
    };
    let groups = def
        .users
        .get(user)
        .map(|u| u.groups.as_slice())
        .unwrap_or_default();
    if def
        .holders(permission)
        .iter()
        .any(|g| g == ANYONE || groups.contains(g))
    {
        Access::Granted
    } else {
        Access::Denied(format!(
            "You do not have the {permission} permission {} needs.",
            field.name
        ))
    }
}

/// The caller's name under `users:` or `apps:`, for `${caller}`.
fn caller_name<'d>(def: &'d MockDef, caller: &Caller) -> &'d str {
    let user = |i: usize| def.users.get(i).map_or("", |u| u.name.as_str());
    match caller {
        Caller::Anonymous => ANONYMOUS_NAME,
        Caller::User(i) | Caller::Impersonated { user: i, .. } => user(*i),
        Caller::App(i) => def.apps.get(*i).map_or("", |a| a.key.as_str()),
    }
}

/// `value` with `${caller}` in its strings replaced by `name`.
fn named(value: Value, name: &str) -> Value {
    const CALLER: &str = "${caller}";
    match value {
        Value::String(s) if s.contains(CALLER) => Value::String(s.replace(CALLER, name)),
        Value::Array(items) => Value::Array(items.into_iter().map(|v| named(v, name)).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(k, v)| (k, named(v, name)))
                .collect(),
        ),
        other => other,
    }
}

fn location(pos: graphql_parser::Pos) -> Value {
    json!({"line": pos.line, "column": pos.column})
}

/// A request refused before it ran: `{"errors": [{"message", "extensions": {"code"}}]}`.
pub(crate) fn refused(status: StatusCode, code: &str, message: &str) -> Response {
    let error = json!({"message": message, "extensions": {"code": code}});
    (status, axum::Json(json!({"errors": [error]}))).into_response()
}

/// A document that is not run: 400, with Apollo Server's codes.
fn rejection(rejected: Rejected) -> Response {
    let (code, problems) = match rejected {
        Rejected::Parse(message) => ("GRAPHQL_PARSE_FAILED", vec![(message, None)]),
        Rejected::Operation(message) => ("OPERATION_RESOLUTION_FAILURE", vec![(message, None)]),
        Rejected::Invalid(problems) => ("GRAPHQL_VALIDATION_FAILED", problems),
    };
    let errors: Vec<Value> = problems
        .into_iter()
        .map(|(message, pos)| {
            let mut error = json!({"message": message, "extensions": {"code": code}});
            if let Some(pos) = pos {
                error["locations"] = json!([location(pos)]);
            }
            error
        })
        .collect();
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"errors": errors})),
    )
        .into_response()
}
