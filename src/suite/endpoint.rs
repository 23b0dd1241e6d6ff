//! Reading `endpoints:` and `expect:` maps.

use super::expect::{ExpectEntry, Expectation};
use super::model::*;
use super::read::Reader;
use super::template::Template;
use super::yaml::Node;

const ENDPOINT_KEYS: &[&str] = &[
    "name",
    "request",
    "headers",
    "query",
    "json",
    "form",
    "body",
    "expect",
    "snapshot",
    "scopes",
    "compare",
    "expect_body",
    "graphql",
    "decide",
    "items",
    "expect_items",
    "verify",
    "restore",
    "expect_trace",
    "allow_lints",
];
const SNAPSHOT_KEYS: &[&str] = &["headers", "body"];

pub(super) fn read_expect(r: &mut Reader<'_>, node: &Node) -> Vec<ExpectEntry> {
    let Some(fields) = r.map(node, "expect", None) else {
        return Vec::new();
    };
    let mut entries = Vec::new();
    for (key, key_node, value) in &fields.entries {
        let value = Expectation::from_node(value).unwrap_or_else(|message| {
            r.diags.error(
                value.pos,
                format!("invalid expectation for `{key}`: {message}"),
            );
            // Keep the key so the cell does not also show up as missing.
            Expectation::Any
        });
        entries.push(ExpectEntry {
            key: key.clone(),
            pos: key_node.pos,
            value,
        });
    }
    entries
}

/// What `defaults:` gives every endpoint, and the rules its scopes are checked against.
pub(super) struct EndpointDefaults<'a> {
    /// `defaults.headers`.
    pub(super) headers: &'a [(String, Template)],
    /// `defaults.scopes`.
    pub(super) scopes: Option<&'a Required>,
    /// The suite's `scopes_known` and `scope_implies`.
    pub(super) rules: &'a ScopeRules,
}

pub(super) fn read_endpoints(
    r: &mut Reader<'_>,
    node: &Node,
    defaults: &EndpointDefaults<'_>,
) -> Vec<Endpoint> {
    let items = r.seq(node, "endpoints").unwrap_or_default();
    let mut endpoints: Vec<Endpoint> = Vec::new();
    // Name -> index of its endpoint: a suite may have thousands.
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for item in items {
        let Some(endpoint) = read_endpoint(r, item, defaults) else {
            continue;
        };
        if let Some(problem) = super::read::name_problem(&endpoint.name) {
            r.diags
                .error(endpoint.pos, format!("endpoint name {problem}"));
            continue;
        }
        if let Some(first) = seen.get(&endpoint.name).map(|&i| &endpoints[i]) {
            r.diags.error_with_help(
                endpoint.pos,
                format!(
                    "duplicate endpoint name `{}` (first at line {})",
                    endpoint.name, first.pos.line
                ),
                "give one of them a `name:`",
            );
            continue;
        }
        seen.insert(endpoint.name.clone(), endpoints.len());
        endpoints.push(endpoint);
    }
    endpoints
}

fn read_endpoint(
    r: &mut Reader<'_>,
    node: &Node,
    defaults: &EndpointDefaults<'_>,
) -> Option<Endpoint> {
    let f = r.map(node, "an endpoint", Some(ENDPOINT_KEYS))?;
    let Some(request_node) = f.get("request") else {
        r.diags.error(
            node.pos,
            "endpoint has no `request:` (e.g. `request: GET /rest/api/2/myself`)",
        );
        return None;
    };
    let request = r.request_line(request_node, false);
    let named = f.get("name").map(|n| r.string(n, "name"));
    let super::read::RequestParts {
        headers,
        mut query,
        mut body,
    } = r.request_parts(&f, defaults.headers);
    let graphql = match (f.get("graphql"), &request) {
        (Some(n), Some(line)) => {
            let read = super::graphql::read_operation(r, &f, n, &line.method)?;
            body = read.body;
            query.extend(read.query);
            Some(read.operation)
        }
        _ => None,
    };
    let decide = f
        .get("decide")
        .map(|n| super::decide::read_rules(r, n, "endpoint"))
        .unwrap_or_default();
    let expect = f
        .get("expect")
        .map(|n| read_expect(r, n))
        .unwrap_or_default();
    let snapshot = f
        .get("snapshot")
        .map(|n| read_snapshot(r, n))
        .unwrap_or_default();
    let scopes = match f.get("scopes") {
        Some(n) => Some(super::scope_rules::read_required(r, defaults.rules, n)),
        None => defaults.scopes.cloned(),
    };
    let compare = f
        .get("compare")
        .and_then(|n| super::compare::read_compare(r, n));
    let expect_body = f
        .get("expect_body")
        .map(|n| super::compare::read_expect_body(r, n))
        .unwrap_or_default();
    if compare.is_none() && !expect_body.is_empty() {
        r.diags.error_with_help(
            f.key_pos("expect_body").unwrap_or(node.pos),
            "`expect_body:` needs `compare:`: the body is judged against a reference principal's",
            "add `compare: { with: <principal> }`",
        );
    }
    // Unnamed, a GraphQL endpoint is named by its operation.
    let name = match named {
        Some(name) => name,
        None => graphql
            .as_ref()
            .and_then(|g| g.name.clone())
            .or_else(|| request_node.as_str().map(|s| s.trim().to_string())),
    };
    Some(Endpoint {
        name: name?,
        pos: node.pos,
        request: request?,
        headers,
        query,
        body,
        expect,
        resolved: Vec::new(),
        resolved_from: Vec::new(),
        snapshot,
        scopes,
        compare,
        expect_body,
        resolved_body: Vec::new(),
        decide,
        graphql,
        items: f.get("items").and_then(|n| super::items::read_items(r, n)),
        expect_items: f
            .get("expect_items")
            .map(|n| super::items::read_expect_items(r, n))
            .unwrap_or_default(),
        resolved_items: Vec::new(),
        writes: super::verify::read_writes(r, &f, defaults.headers),
        allow_lints: f
            .get("allow_lints")
            .map(|n| super::lints::read_allow(r, n))
            .unwrap_or_default(),
    })
}

fn read_snapshot(r: &mut Reader<'_>, node: &Node) -> SnapshotExtras {
    let Some(f) = r.map(node, "snapshot", Some(SNAPSHOT_KEYS)) else {
        return SnapshotExtras::default();
    };
    let headers = match f.get("headers") {
        Some(n) => r
            .seq(n, "snapshot.headers")
            .unwrap_or_default()
            .iter()
            .filter_map(|h| r.string(h, "a header name"))
            .collect(),
        None => Vec::new(),
    };
    let body = f.get("body").and_then(|n| {
        let pointer = r.string(n, "snapshot.body")?;
        let ok = pointer.starts_with('/') && !pointer.contains(": ");
        if !ok {
            r.diags.error(n.pos, format!("snapshot.body `{pointer}` must be a JSON pointer such as /errorMessages/0, without \": \""));
        }
        ok.then_some(pointer)
    });
    SnapshotExtras { headers, body }
}
