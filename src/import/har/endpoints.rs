//! Recorded requests as endpoints: one per method, path shape and set of
//! query names, made from the first request of its kind (its ids, query
//! values, headers and body), with every later request remembered for the
//! matrix.

use super::bodies;
use super::credentials::{Identity, Part, is_key_header};
use super::paths::{self, Segment, Vars};
use super::read::Exchange;
use super::secrets::Secrets;
use crate::import::draft::{Endpoint, literal};

/// A recorded request, reduced to what the matrix needs.
pub(super) struct Request {
    /// The endpoint it is an instance of.
    pub(super) endpoint: usize,
    /// Its credential, as an index into [`Built::identities`].
    pub(super) identity: usize,
    /// The ids it used, one per variable of its endpoint.
    pub(super) values: Vec<String>,
    /// The status it got.
    pub(super) status: u16,
    /// The entry's number in the recording.
    pub(super) number: usize,
}

/// The endpoints made from a recording.
pub(super) struct Built {
    /// The endpoints, in the order first recorded.
    pub(super) endpoints: Vec<Endpoint>,
    /// For each endpoint, the variable of each id segment.
    pub(super) slots: Vec<Vec<String>>,
    /// The id variables made.
    pub(super) vars: Vars,
    /// The distinct credentials, in the order first recorded.
    pub(super) identities: Vec<Identity>,
    /// Every request kept.
    pub(super) requests: Vec<Request>,
}

/// Makes the endpoints of `exchanges`, each made with the credential in `identities`.
pub(super) fn build(
    exchanges: &[Exchange],
    identities: Vec<Identity>,
    secrets: &Secrets,
    env_prefix: &str,
) -> Built {
    let mut built = Built {
        endpoints: Vec::new(),
        slots: Vec::new(),
        vars: Vars::default(),
        identities: Vec::new(),
        requests: Vec::new(),
    };
    let mut keys: Vec<(String, String, Vec<String>, String)> = Vec::new();
    for (exchange, identity) in exchanges.iter().zip(identities) {
        let shape = paths::shape(&exchange.url, secrets);
        let query = paths::query(&exchange.url, secrets, env_prefix);
        let operation = graphql_operation(exchange);
        let key = (
            exchange.method.clone(),
            shape.key.clone(),
            query.keys.clone(),
            operation.clone(),
        );
        let endpoint = match keys.iter().position(|k| *k == key) {
            Some(i) => i,
            None => {
                keys.push(key);
                let (endpoint, slots) = endpoint(
                    exchange,
                    &identity,
                    &shape,
                    query,
                    &mut built.vars,
                    secrets,
                    env_prefix,
                );
                let mut endpoint = endpoint;
                if !operation.is_empty() {
                    endpoint.name.push_str(&format!(" ({operation})"));
                }
                built.endpoints.push(endpoint);
                built.slots.push(slots);
                built.endpoints.len() - 1
            }
        };
        let identity = match built.identities.iter().position(|i| *i == identity) {
            Some(i) => i,
            None => {
                built.identities.push(identity);
                built.identities.len() - 1
            }
        };
        built.requests.push(Request {
            endpoint,
            identity,
            values: shape.values(),
            status: exchange.status,
            number: exchange.number,
        });
    }
    unique_names(&mut built.endpoints);
    built
}

/// A GraphQL request's operation (`operationName`, else the name or kind of
/// the first operation in `query`), so that one endpoint URL carrying several
/// operations makes several endpoints; empty for anything else.
fn graphql_operation(exchange: &Exchange) -> String {
    let Some(text) = exchange.post.as_ref().and_then(|p| p.text.as_deref()) else {
        return String::new();
    };
    let Ok(body) = serde_json::from_str::<serde_json::Value>(text) else {
        return String::new();
    };
    let Some(query) = body.get("query").and_then(serde_json::Value::as_str) else {
        return String::new();
    };
    if let Some(name) = body
        .get("operationName")
        .and_then(serde_json::Value::as_str)
        .filter(|n| !n.is_empty())
    {
        return printable(name);
    }
    // `mutation DeleteUser(…) {` → `mutation DeleteUser`.
    let head: Vec<&str> = query
        .split(['{', '('])
        .next()
        .unwrap_or("")
        .split_whitespace()
        .take(2)
        .collect();
    if let [kind, name] = head.as_slice() {
        return printable(&format!("{kind} {name}"));
    }
    // An anonymous operation is told by its first field: `mutation deleteUser`.
    let kind = head.first().copied().unwrap_or("query");
    let field: String = query
        .split_once('{')
        .map(|(_, rest)| rest.trim_start())
        .unwrap_or("")
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    match field.is_empty() {
        true => printable(kind),
        false => printable(&format!("{kind} {field}")),
    }
}

/// The endpoint for the first request of its kind, and its id variables.
fn endpoint(
    exchange: &Exchange,
    identity: &Identity,
    shape: &paths::Shape,
    query: paths::Query,
    vars: &mut Vars,
    secrets: &Secrets,
    env_prefix: &str,
) -> (Endpoint, Vec<String>) {
    let mut path = String::new();
    let mut slots = Vec::new();
    for segment in &shape.segments {
        path.push('/');
        match segment {
            Segment::Literal(text) => path.push_str(text),
            Segment::Id {
                position,
                value,
                base,
            } => {
                let name = vars.name(position, value, base, env_prefix);
                path.push_str(&format!("${{{name}}}"));
                slots.push(name);
            }
        }
    }
    let mut name = format!("{} {path}", exchange.method);
    if !query.keys.is_empty() {
        name.push('?');
        let keys: Vec<String> = query
            .keys
            .iter()
            .map(|k| {
                if secrets.leaks(k) {
                    "…".to_string()
                } else {
                    printable(k)
                }
            })
            .collect();
        name.push_str(&keys.join("&"));
    }
    if !query.line.is_empty() {
        path.push('?');
        path.push_str(&query.line);
    }
    let mut comments = Vec::new();
    let query_credential = identity.iter().any(|p| matches!(p, Part::Query { .. }));
    if !query.keys_left_out.is_empty() && !query_credential {
        comments.push(format!(
            "query parameter(s) {} left out: credentials",
            quoted_list(&query.keys_left_out)
        ));
    }
    if !query.secret.is_empty() {
        comments.push(format!(
            "secret query parameter(s) {} read environment variables",
            quoted_list(
                &query
                    .secret
                    .iter()
                    .map(|(n, _)| n.clone())
                    .collect::<Vec<_>>()
            )
        ));
    }
    let (mut headers, left_out) = headers(exchange, secrets);
    if !left_out.is_empty() {
        comments.push(format!(
            "header(s) {} left out: credentials that are not the principal's; add them if the target needs them",
            quoted_list(&left_out)
        ));
    }
    let body = exchange
        .post
        .as_ref()
        .map(|post| bodies::body(post, exchange.header("content-type"), secrets, env_prefix));
    let body = body.map(|made| {
        comments.extend(made.comments);
        if let Some(content_type) = made.content_type {
            headers.push(("Content-Type".into(), content_type));
        }
        made.body
    });
    let endpoint = Endpoint {
        name,
        method: exchange.method.clone(),
        path,
        query: query.secret,
        headers,
        body: body.flatten(),
        expect: Vec::new(),
        comments,
        scopes: None,
    };
    (endpoint, slots)
}

/// Headers a browser or the transport adds on its own: not the request's.
fn is_transport_header(lower: &str) -> bool {
    matches!(
        lower,
        "accept-encoding"
            | "accept-language"
            | "cache-control"
            | "connection"
            | "content-length"
            | "content-type"
            | "host"
            | "origin"
            | "pragma"
            | "referer"
            | "user-agent"
            | "dnt"
            | "upgrade-insecure-requests"
            | "if-none-match"
            | "if-modified-since"
            | "if-match"
            | "if-unmodified-since"
            | "if-range"
            | "te"
            | "priority"
            | "keep-alive"
            | "purpose"
            | "x-client-data"
            | "proxy-connection"
            | "transfer-encoding"
            | "expect"
            | "upgrade"
            | "via"
            | "forwarded"
            | "traceparent"
            | "tracestate"
            | "baggage"
            | "sentry-trace"
            | "x-request-id"
            | "newrelic"
            | "cookie"
            | "authorization"
            | "proxy-authorization"
    ) || [
        "sec-",
        "x-forwarded-",
        "x-b3-",
        "x-datadog-",
        "x-amzn-trace",
    ]
    .iter()
    .any(|p| lower.starts_with(p))
}

/// The recorded headers an endpoint keeps, and the names of the credential ones it leaves out.
fn headers(exchange: &Exchange, secrets: &Secrets) -> (Vec<(String, String)>, Vec<String>) {
    let mut kept: Vec<(String, String)> = Vec::new();
    let mut left_out = Vec::new();
    for (name, value) in &exchange.headers {
        let lower = name.to_ascii_lowercase();
        if is_transport_header(&lower)
            || is_key_header(name)
            || kept.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            continue;
        }
        if lower == "accept" && (value.contains("*/*") || value.contains("text/html")) {
            continue;
        }
        if crate::http::is_credential_header(name) || secrets.leaks(value) {
            if !left_out.contains(name) {
                left_out.push(name.clone());
            }
            continue;
        }
        if value.chars().any(char::is_control) {
            continue;
        }
        kept.push((name.clone(), literal(value.trim())));
    }
    (kept, left_out)
}

fn quoted_list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{}`", printable(n)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(60).collect()
}

/// Names made unique and valid (`::` separates test names).
fn unique_names(endpoints: &mut [Endpoint]) {
    let mut taken = std::collections::BTreeSet::new();
    for endpoint in endpoints {
        let base = crate::import::draft::endpoint_name(&endpoint.name);
        let mut name = base.clone();
        let mut n = 2;
        while !taken.insert(name.clone()) {
            name = format!("{base} ({n})");
            n += 1;
        }
        endpoint.name = name;
    }
}
