//! `setup:` and `teardown:` steps: requests sent once around the matrix, as
//! one principal or as each of several, whose answers are captured into
//! variables (`${note_id}`, `${alice.note_id}`, `${own.note_id}`).

use super::expect::Expectation;
use super::model::Endpoint;
pub use super::model::{Actor, Capture, CaptureSource, Phase, Step};
use super::read::{Fields, Reader};
use super::template::Template;
use super::yaml::{Node, Pos, Value};

const STEP_KEYS: &[&str] = &[
    "name", "as", "for_each", "request", "headers", "query", "json", "form", "body", "expect",
    "capture",
];
const CAPTURE_KEYS: &[&str] = &["pointer", "header", "regex", "secret"];

impl Phase {
    /// `setup` or `teardown`, as the YAML key.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Setup => "setup",
            Phase::Teardown => "teardown",
            Phase::Restore => "restore",
        }
    }
}

impl Actor {
    /// The principals it runs as, in order.
    pub fn principals(&self) -> &[String] {
        match self {
            Actor::As(one) => std::slice::from_ref(one),
            Actor::ForEach(many) => many,
        }
    }
}

impl Step {
    /// `setup step 2 (create a note)`.
    pub fn title(&self) -> String {
        format!(
            "{} step {} ({})",
            self.phase.as_str(),
            self.number,
            self.label
        )
    }

    /// The captures and variables its request refers to.
    pub fn templates(&self) -> Vec<&Template> {
        endpoint_templates(&self.request)
    }
}

/// The templates an endpoint's request renders, with its verify request's and
/// restore steps' (they are sent for its cells).
pub fn endpoint_templates(endpoint: &Endpoint) -> Vec<&Template> {
    let mut all = vec![&endpoint.request.target];
    if let Some(writes) = &endpoint.writes {
        if let Some(verify) = &writes.verify {
            all.extend(endpoint_templates(&verify.request));
        }
        all.extend(writes.restore.iter().flat_map(Step::templates));
    }
    all.extend(endpoint.headers.iter().map(|(_, t)| t));
    all.extend(endpoint.query.iter().map(|(_, t)| t));
    all.extend(
        endpoint
            .body
            .iter()
            .flat_map(super::request::Body::templates),
    );
    all
}

impl std::fmt::Display for CaptureSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CaptureSource::Pointer(pointer) => write!(f, "body {pointer}"),
            CaptureSource::Header(name) => write!(f, "header {name}"),
            CaptureSource::Regex {
                regex,
                header: None,
            } => write!(f, "regex {:?} over the body", regex.as_str()),
            CaptureSource::Regex {
                regex,
                header: Some(name),
            } => write!(f, "regex {:?} over header {name}", regex.as_str()),
        }
    }
}

/// Reads `setup:` or `teardown:`.
pub(super) fn read_steps(r: &mut Reader<'_>, node: &Node, phase: Phase) -> Vec<Step> {
    let items = r.seq(node, phase.as_str()).unwrap_or_default();
    items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| read_step(r, item, phase, i + 1))
        .collect()
}

fn read_step(r: &mut Reader<'_>, node: &Node, phase: Phase, number: usize) -> Option<Step> {
    let what = format!("a {} step", phase.as_str());
    let f = r.map(node, &what, Some(STEP_KEYS))?;
    let Some(request_node) = f.get("request") else {
        r.diags.error(
            node.pos,
            format!("{what} has no `request:` (e.g. `request: POST /notes`)"),
        );
        return None;
    };
    let request = r.request_line(request_node, false);
    let label = match f.get("name") {
        Some(n) => r.string(n, "name"),
        None => request_node.as_str().map(|s| s.trim().to_string()),
    };
    let actor = read_actor(r, &f, node.pos, &what);
    let actor_pos = f
        .get("as")
        .or(f.get("for_each"))
        .map_or(node.pos, |n| n.pos);
    let super::read::RequestParts {
        headers,
        query,
        body,
    } = r.request_parts(&f, &[]);
    let expect = match f.get("expect") {
        Some(n) => match Expectation::from_node(n) {
            Ok(expectation) => expectation,
            Err(message) => {
                r.diags
                    .error(n.pos, format!("invalid expectation of a step: {message}"));
                Expectation::Allow
            }
        },
        None => Expectation::Class(2),
    };
    let captures = f
        .get("capture")
        .map(|n| read_captures(r, n))
        .unwrap_or_default();
    let label = label?;
    Some(Step {
        phase,
        number,
        label: label.clone(),
        pos: node.pos,
        actor: actor?,
        actor_pos,
        request: Endpoint::plain(label, node.pos, request?, headers, query, body),
        expect,
        captures,
    })
}

fn read_actor(r: &mut Reader<'_>, f: &Fields<'_>, pos: Pos, what: &str) -> Option<Actor> {
    match (f.get("as"), f.get("for_each")) {
        (Some(_), Some(_)) => {
            let at = f.key_pos("for_each").unwrap_or(pos);
            r.diags.error(
                at,
                format!("{what} has `as:` and `for_each:`: it runs as one principal or as each of a list"),
            );
            None
        }
        (Some(one), None) => r.string(one, "as").map(Actor::As),
        (None, Some(list)) => {
            let names: Vec<String> = r
                .seq(list, "for_each")?
                .iter()
                .filter_map(|n| r.string(n, "a principal name"))
                .collect();
            if names.is_empty() {
                r.diags
                    .error(list.pos, "`for_each:` lists no principal".to_string());
                return None;
            }
            Some(Actor::ForEach(names))
        }
        (None, None) => {
            r.diags.error_with_help(
                pos,
                format!("{what} names no principal"),
                "add `as: <principal>` or `for_each: [<principal>, …]`",
            );
            None
        }
    }
}

fn read_captures(r: &mut Reader<'_>, node: &Node) -> Vec<Capture> {
    let Some(fields) = r.map(node, "capture", None) else {
        return Vec::new();
    };
    let mut captures = Vec::new();
    for (name, key, value) in &fields.entries {
        let plain = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !plain {
            r.diags.error(
                key.pos,
                format!("capture name `{name}` must use letters, digits and `_` (it becomes `${{{name}}}`)"),
            );
            continue;
        }
        if let Some((source, secret)) = read_capture_source(r, value) {
            captures.push(Capture {
                name: name.clone(),
                pos: key.pos,
                source,
                secret,
            });
        }
    }
    captures
}

fn read_capture_source(r: &mut Reader<'_>, node: &Node) -> Option<(CaptureSource, bool)> {
    if let Value::Str(_) = &node.value {
        return pointer(r, node).map(|p| (CaptureSource::Pointer(p), false));
    }
    let f = r.map(node, "a capture", Some(CAPTURE_KEYS))?;
    let secret = f
        .get("secret")
        .and_then(|n| r.boolean(n, "secret"))
        .unwrap_or(false);
    let header = f.get("header").and_then(|n| r.string(n, "header"));
    let source = match (f.get("pointer"), f.get("regex"), header) {
        (Some(p), None, None) => CaptureSource::Pointer(pointer(r, p)?),
        (None, Some(n), header) => {
            let text = r.string(n, "regex")?;
            let regex = match regex::Regex::new(&text) {
                Ok(regex) => regex,
                Err(e) => {
                    r.diags.error(n.pos, format!("regex: {e}"));
                    return None;
                }
            };
            if regex.captures_len() < 2 {
                r.diags.error_with_help(
                    n.pos,
                    format!("regex {text:?} has no group: the capture is its first group"),
                    "put the value in parentheses, e.g. \"csrf=([a-z0-9]+)\"",
                );
                return None;
            }
            CaptureSource::Regex { regex, header }
        }
        (None, None, Some(name)) => CaptureSource::Header(name),
        _ => {
            r.diags.error_with_help(
                node.pos,
                "a capture reads one place: `pointer:`, `header:`, or `regex:` (with `header:` to search a header)",
                "e.g. `{ pointer: /id }`, `{ header: ETag }`, `{ regex: \"csrf=([a-z0-9]+)\" }`",
            );
            return None;
        }
    };
    Some((source, secret))
}

fn pointer(r: &mut Reader<'_>, node: &Node) -> Option<String> {
    let text = r.string(node, "a JSON pointer")?;
    if text.is_empty() || text.starts_with('/') {
        Some(text)
    } else {
        r.diags.error_with_help(
            node.pos,
            format!("`{text}` is not a JSON pointer"),
            format!("a pointer starts with `/`, e.g. `/{text}`"),
        );
        None
    }
}
