//! `verify:`, `restore:` and `expect_trace:` on an endpoint: the request that
//! reads what a write would change, sent before and after each cell; the
//! steps that put things back after a cell that changed them; and what each
//! principal's write must leave behind.

use super::diag::suggestion;
use super::model::Endpoint;
pub use super::model::{TraceEntry, Verify, Writes};
use super::read::Reader;
use super::steps::{Actor, Phase, Step};
pub use super::trace::{ExpectTrace, Trace};
use super::yaml::{Node, Pos};

const VERIFY_KEYS: &[&str] = &[
    "as", "request", "headers", "query", "json", "form", "body", "ignore",
];

/// Reads an endpoint's `verify:`, `restore:` and `expect_trace:`, when any is there.
pub(super) fn read_writes(
    r: &mut Reader<'_>,
    fields: &super::read::Fields<'_>,
    defaults: &[(String, super::template::Template)],
) -> Option<Box<Writes>> {
    let pos = ["verify", "restore", "expect_trace"]
        .iter()
        .filter_map(|key| fields.key_pos(key))
        .min()?;
    let verify = fields
        .get("verify")
        .and_then(|n| read_verify(r, n, defaults));
    let restore = match fields.get("restore") {
        Some(n) => read_restore(r, n),
        None => Vec::new(),
    };
    let expect_trace = fields
        .get("expect_trace")
        .map(|n| read_expect_trace(r, n))
        .unwrap_or_default();
    if verify.is_none()
        && fields.get("verify").is_none()
        && let Some(first) = expect_trace.first()
    {
        r.diags.error_with_help(
            first.pos,
            "`expect_trace:` needs `verify:`: a trace is what the verify request reads before and after the cell",
            "add `verify: { as: <principal>, request: \"GET /…\" }`",
        );
    }
    Some(Box::new(Writes {
        verify,
        restore,
        expect_trace,
        resolved_trace: Vec::new(),
        pos,
    }))
}

fn read_verify(
    r: &mut Reader<'_>,
    node: &Node,
    defaults: &[(String, super::template::Template)],
) -> Option<Verify> {
    let f = r.map(node, "verify", Some(VERIFY_KEYS))?;
    let Some(request_node) = f.get("request") else {
        r.diags.error_with_help(
            node.pos,
            "`verify:` has no `request:`",
            "the request that reads what the write changes, e.g. `request: GET /notes/${note_id}`",
        );
        return None;
    };
    let Some(as_node) = f.get("as") else {
        r.diags.error_with_help(
            node.pos,
            "`verify:` names no principal",
            "add `as: <principal>`: one who may read what the write changes",
        );
        return None;
    };
    let principal = r.string(as_node, "as")?;
    let request = r.request_line(request_node, false)?;
    if matches!(request.method.as_str(), "PUT" | "PATCH" | "DELETE") {
        r.diags.error_with_help(
            request_node.pos,
            format!(
                "the verify request is a {}: it must read, not write",
                request.method
            ),
            "use GET (or POST for a search or a GraphQL query)",
        );
        return None;
    }
    let super::read::RequestParts {
        headers,
        query,
        body,
    } = r.request_parts(&f, defaults);
    let ignore = match f.get("ignore") {
        Some(n) => r
            .seq(n, "ignore")
            .unwrap_or_default()
            .iter()
            .filter_map(|p| super::compare::read_pointer(r, p))
            .collect(),
        None => Vec::new(),
    };
    let name = request_node
        .as_str()
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    Some(Verify {
        principal,
        principal_pos: as_node.pos,
        request: Endpoint::plain(name, node.pos, request, headers, query, body),
        ignore,
    })
}

fn read_restore(r: &mut Reader<'_>, node: &Node) -> Vec<Step> {
    let steps = super::steps::read_steps(r, node, Phase::Restore);
    for step in &steps {
        if let Actor::ForEach(_) = step.actor {
            r.diags.error_with_help(
                step.actor_pos,
                format!("{} has `for_each:`", step.title()),
                "a restore step runs once after a cell, as one principal: `as: <principal>`",
            );
        }
    }
    steps
}

fn read_expect_trace(r: &mut Reader<'_>, node: &Node) -> Vec<TraceEntry> {
    let Some(fields) = r.map(node, "expect_trace", None) else {
        return Vec::new();
    };
    let mut entries = Vec::new();
    for (key, key_node, value) in &fields.entries {
        let Some(word) = r.string(value, "a trace") else {
            continue;
        };
        match ExpectTrace::parse(word.trim()) {
            Some(value) => entries.push(TraceEntry {
                key: key.clone(),
                pos: key_node.pos,
                value,
            }),
            None => {
                let otherwise = format!("one of {}", ExpectTrace::WORDS.join(", "));
                let help = suggestion(word.trim(), ExpectTrace::WORDS, &otherwise);
                r.diags
                    .error_with_help(value.pos, format!("`{word}` is not a trace"), help);
            }
        }
    }
    entries
}

/// Checks an endpoint's writes against the suite's principals and groups, and
/// resolves each principal's `expect_trace` (its own key, else its group's,
/// else `*`).
pub(super) fn check(
    r: &mut Reader<'_>,
    principals: &[&str],
    groups_of: &dyn Fn(&str) -> Vec<String>,
    keys: &[&str],
    endpoint: &mut Endpoint,
) {
    let Some(writes) = endpoint.writes.as_deref_mut() else {
        return;
    };
    let unknown_principal = |r: &mut Reader<'_>, name: &str, pos: Pos, what: String| {
        if principals.contains(&name) {
            return;
        }
        let help = suggestion(
            name,
            principals.iter().copied(),
            "it names a principal of this suite",
        );
        r.diags
            .error_with_help(pos, format!("{what} unknown principal `{name}`"), help);
    };
    if let Some(verify) = &writes.verify {
        unknown_principal(
            r,
            &verify.principal,
            verify.principal_pos,
            "`verify:` runs as".into(),
        );
    }
    for step in &writes.restore {
        for name in step.actor.principals() {
            unknown_principal(r, name, step.actor_pos, format!("{} runs as", step.title()));
        }
    }
    let entries = writes.expect_trace.iter().map(|e| (e.key.as_str(), e.pos));
    super::expect::check_entry_keys(r, "expect_trace", entries, keys);
    let mut resolved = Vec::with_capacity(principals.len());
    for principal in principals {
        let groups = groups_of(principal);
        let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
        let found = super::expect::resolve_keyed(&writes.expect_trace, |e| &e.key, principal, &groups)
            .unwrap_or_else(|conflict| {
                r.diags.error_with_help(
                    writes.pos,
                    format!(
                        "conflicting trace expectations for principal `{principal}` in endpoint `{}` through its groups ({})",
                        endpoint.name,
                        conflict.join(", ")
                    ),
                    format!("name `{principal}` in this endpoint's expect_trace"),
                );
                None
            });
        resolved.push(found.map(|i| writes.expect_trace[i].value));
    }
    writes.resolved_trace = resolved;
}

/// A restore step's capture replaces a value setup captured once for the run
/// (a recreated object's new id): it must name one.
pub(super) fn check_restore_captures(r: &mut Reader<'_>, setup: &[Step], endpoint: &Endpoint) {
    let Some(writes) = &endpoint.writes else {
        return;
    };
    let shared: Vec<&str> = setup
        .iter()
        .filter(|step| matches!(step.actor, Actor::As(_)))
        .flat_map(|step| step.captures.iter().map(|c| c.name.as_str()))
        .collect();
    for capture in writes.restore.iter().flat_map(|step| &step.captures) {
        if !shared.contains(&capture.name.as_str()) {
            r.diags.error_with_help(
                capture.pos,
                format!(
                    "restore capture `{}` replaces no value: no `as:` setup step captures `{}`",
                    capture.name, capture.name
                ),
                "a restore step captures to update what setup captured (a recreated object's new id)",
            );
        }
    }
}
