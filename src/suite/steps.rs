//! `setup:` and `teardown:` steps: requests sent once around the matrix, as
//! one principal or as each of several, whose answers are captured into
//! variables (`${note_id}`, `${alice.note_id}`, `${own.note_id}`).

use std::collections::{BTreeMap, BTreeSet};

use super::expect::Expectation;
use super::model::{Endpoint, Principal, SnapshotExtras};
use super::read::{Fields, Reader};
use super::template::{Captured, OWN, Template};
use super::yaml::{Node, Pos, Value};

const STEP_KEYS: &[&str] = &[
    "name", "as", "for_each", "request", "headers", "query", "json", "form", "body", "expect",
    "capture",
];
const CAPTURE_KEYS: &[&str] = &["pointer", "header", "regex", "secret"];

/// When a step runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Before the matrix.
    Setup,
    /// After it, whatever happened.
    Teardown,
}

impl Phase {
    /// `setup` or `teardown`, as the YAML key.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Setup => "setup",
            Phase::Teardown => "teardown",
        }
    }
}

/// Whom a step runs as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// `as: alice`: once; its captures are `${name}`.
    As(String),
    /// `for_each: [alice, bob]`: once per principal; its captures are `${alice.name}`.
    ForEach(Vec<String>),
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

/// One request of `setup:` or `teardown:`.
#[derive(Clone, Debug)]
pub struct Step {
    /// Setup or teardown.
    pub phase: Phase,
    /// Its place in its list, from 1.
    pub number: usize,
    /// `name:`, or the request line as written.
    pub label: String,
    /// Where the step starts.
    pub pos: Pos,
    /// Whom it runs as.
    pub actor: Actor,
    /// Where `as:` or `for_each:` is written.
    pub actor_pos: Pos,
    /// The request, in the shape of an endpoint's (its `name` is the label).
    pub request: Endpoint,
    /// The statuses that let the run go on (default 2xx).
    pub expect: Expectation,
    /// What it captures from the answer.
    pub captures: Vec<Capture>,
}

impl Step {
    /// `setup step 2 (create a note)`.
    pub fn title(&self) -> String {
        format!("{} step {} ({})", self.phase.as_str(), self.number, self.label)
    }

    /// The captures and variables its request refers to.
    pub fn templates(&self) -> Vec<&Template> {
        endpoint_templates(&self.request)
    }
}

/// The templates an endpoint's request renders.
pub fn endpoint_templates(endpoint: &Endpoint) -> Vec<&Template> {
    let mut all = vec![&endpoint.request.target];
    all.extend(endpoint.headers.iter().map(|(_, t)| t));
    all.extend(endpoint.query.iter().map(|(_, t)| t));
    all.extend(endpoint.body.iter().flat_map(super::request::Body::templates));
    all
}

/// One `capture:` entry.
#[derive(Clone, Debug)]
pub struct Capture {
    /// The variable it sets.
    pub name: String,
    /// Where it is written.
    pub pos: Pos,
    /// Where the value is read.
    pub source: CaptureSource,
    /// `secret: true`: masked like a credential.
    pub secret: bool,
}

/// Where a captured value comes from in a response.
#[derive(Clone, Debug)]
pub enum CaptureSource {
    /// A JSON pointer into the body (a string as is, anything else as JSON text).
    Pointer(String),
    /// A response header's value.
    Header(String),
    /// The first group of a regex over the body, or over a header's values.
    Regex {
        /// The expression.
        regex: regex::Regex,
        /// The header searched instead of the body.
        header: Option<String>,
    },
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
    let actor_pos = f.get("as").or(f.get("for_each")).map_or(node.pos, |n| n.pos);
    let mut headers: Vec<(String, Template)> = Vec::new();
    for (header, value) in f
        .get("headers")
        .map(|n| r.headers(n, "headers"))
        .unwrap_or_default()
    {
        headers.retain(|(h, _)| !h.eq_ignore_ascii_case(&header));
        headers.push((header, value));
    }
    let query = f
        .get("query")
        .map(|n| r.template_map(n, "query"))
        .unwrap_or_default();
    let body = r.body(&f);
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
        request: Endpoint {
            name: label,
            pos: node.pos,
            request: request?,
            headers,
            query,
            body,
            expect: Vec::new(),
            resolved: Vec::new(),
            resolved_from: Vec::new(),
            snapshot: SnapshotExtras::default(),
            scopes: None,
            compare: None,
            expect_body: Vec::new(),
            resolved_body: Vec::new(),
        },
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
        let plain = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
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

/// The first `${own.…}` of `endpoint`'s request that was not captured for
/// `principal`: its cell is skipped (a `for_each` step did not run as it).
pub fn missing_own(endpoint: &Endpoint, captured: &Captured, principal: &str) -> Option<String> {
    endpoint_templates(endpoint)
        .into_iter()
        .flat_map(|t| t.names())
        .filter(|name| name.starts_with("own."))
        .find(|name| captured.get(name, Some(principal)).is_none())
        .map(str::to_string)
}

/// The names each step makes available, as [`Captured`] with empty values:
/// what a template may refer to, for checks made while loading.
pub fn declared(steps: &[Step]) -> Captured {
    let mut captured = Captured::default();
    for step in steps {
        declare(&mut captured, step);
    }
    captured
}

fn declare(captured: &mut Captured, step: &Step) {
    for capture in &step.captures {
        match &step.actor {
            Actor::As(_) => {
                captured.shared.insert(capture.name.clone(), String::new());
            }
            Actor::ForEach(principals) => {
                for principal in principals {
                    captured
                        .by_principal
                        .entry(principal.clone())
                        .or_default()
                        .insert(capture.name.clone(), String::new());
                }
            }
        }
    }
}

/// Checks steps against the suite: principals exist (and none is named
/// `own`), every capture a template refers to is made by an earlier step (a
/// setup step for cells), and no capture shadows a variable.
pub(super) fn check_steps(
    r: &mut Reader<'_>,
    principals: &[Principal],
    vars: &BTreeMap<String, Template>,
    setup: &[Step],
    teardown: &[Step],
    endpoints: &[Endpoint],
) {
    if let Some(own) = principals.iter().find(|p| p.name == OWN) {
        r.diags.error(
            own.pos,
            "a principal cannot be named `own`: `${own.…}` names the current principal's captures",
        );
    }
    let names: Vec<&str> = principals.iter().map(|p| p.name.as_str()).collect();
    let every_capture: BTreeSet<&str> = setup
        .iter()
        .chain(teardown)
        .flat_map(|s| s.captures.iter().map(|c| c.name.as_str()))
        .collect();
    let mut seen = Captured::default();
    for step in setup.iter().chain(teardown) {
        for principal in step.actor.principals() {
            if !names.contains(&principal.as_str()) {
                let help = super::diag::nearest(principal, names.iter().copied())
                    .map(|n| format!("did you mean `{n}`?"))
                    .unwrap_or_else(|| "a step runs as a principal of this suite".into());
                r.diags.error_with_help(
                    step.actor_pos,
                    format!("{} runs as unknown principal `{principal}`", step.title()),
                    help,
                );
            }
        }
        for capture in &step.captures {
            if vars.contains_key(&capture.name) {
                r.diags.error(
                    capture.pos,
                    format!(
                        "capture `{}` has the name of a variable of the suite: rename one of them",
                        capture.name
                    ),
                );
            }
        }
        let own = match &step.actor {
            Actor::ForEach(list) => list.iter().map(String::as_str).collect(),
            Actor::As(one) => vec![one.as_str()],
        };
        for template in step.templates() {
            check_references(r, template, &seen, &own, &names, &every_capture, "a later step");
        }
        declare(&mut seen, step);
    }
    let after_setup = declared(setup);
    for endpoint in endpoints {
        for template in endpoint_templates(endpoint) {
            // `${own.x}` in a cell needs `x` for someone: the cells of
            // principals without it are skipped when they run, saying why.
            let owners: Vec<&str> = names
                .iter()
                .copied()
                .filter(|p| after_setup.by_principal.contains_key(*p))
                .take(1)
                .collect();
            check_references(
                r,
                template,
                &after_setup,
                if owners.is_empty() { &names } else { &owners },
                &names,
                &every_capture,
                "a teardown step",
            );
        }
    }
}

/// Reports each capture `template` refers to that `known` does not hold for
/// every principal in `owners` (those `own.` may name).
fn check_references(
    r: &mut Reader<'_>,
    template: &Template,
    known: &Captured,
    owners: &[&str],
    principals: &[&str],
    every_capture: &BTreeSet<&str>,
    made_later_by: &str,
) {
    for name in template.names() {
        let problem = match name.split_once('.') {
            None if known.shared.contains_key(name) => continue,
            None if is_per_principal(known, name) => Some((
                format!("`${{{name}}}` is captured by a `for_each` step, once per principal"),
                format!("write `${{own.{name}}}` (the current principal's) or `${{alice.{name}}}` (a principal's)"),
            )),
            // Not a capture at all: an ordinary variable, checked elsewhere.
            None if !every_capture.contains(name) => continue,
            None => Some(later(name, made_later_by)),
            Some((who, _)) if who != OWN && !principals.contains(&who) => {
                let help = super::diag::nearest(who, principals.iter().copied())
                    .map(|n| format!("did you mean `{n}`?"))
                    .unwrap_or_else(|| {
                        "`${principal.capture}` names a principal of this suite, or `own`".into()
                    });
                Some((format!("`${{{name}}}` names unknown principal `{who}`"), help))
            }
            Some((_, capture)) if !every_capture.contains(capture) => {
                let help = match super::diag::nearest(capture, every_capture.iter().copied()) {
                    Some(n) => format!("did you mean `{n}`?"),
                    None => "captures are declared under a step's `capture:`".into(),
                };
                Some((format!("`${{{name}}}`: no step captures `{capture}`"), help))
            }
            Some((_, capture)) if known.shared.contains_key(capture) => Some((
                format!("`${{{name}}}`: `{capture}` is captured by an `as:` step, once for the run"),
                format!("write `${{{capture}}}`"),
            )),
            Some((_, capture)) if !is_known_anywhere(known, capture) => {
                Some(later(name, made_later_by))
            }
            Some((who, capture)) => {
                let whom: Vec<&str> = if who == OWN { owners.to_vec() } else { vec![who] };
                let missing: Vec<String> = whom
                    .iter()
                    .filter(|p| known.get(&format!("{p}.{capture}"), None).is_none())
                    .map(|p| format!("`{p}`"))
                    .collect();
                (!missing.is_empty()).then(|| {
                    (
                        format!("`${{{name}}}`: no step captures `{capture}` for {}", missing.join(", ")),
                        "a `for_each:` step captures for the principals it lists: add them, or name one that has it (`${alice.…}`)".to_string(),
                    )
                })
            }
        };
        if let Some((message, help)) = problem {
            r.diags.error_with_help(template.pos, message, help);
        }
    }
}

fn later(name: &str, made_later_by: &str) -> (String, String) {
    (
        format!("`${{{name}}}` is captured only by {made_later_by}"),
        "a step can use what earlier steps captured; cells what setup captured".to_string(),
    )
}

fn is_per_principal(known: &Captured, capture: &str) -> bool {
    known.by_principal.values().any(|c| c.contains_key(capture))
}

fn is_known_anywhere(known: &Captured, capture: &str) -> bool {
    known.shared.contains_key(capture) || is_per_principal(known, capture)
}

/// Which setup steps a cell of `endpoint` needs, by position: those that
/// capture a value its request uses (and, in turn, those steps' own needs),
/// and those that capture nothing (they exist for what they change).
pub fn needed_by(setup: &[Step], endpoint: &Endpoint) -> Vec<bool> {
    let capture_of = |name: &str| match name.split_once('.') {
        Some((_, capture)) => capture.to_string(),
        None => name.to_string(),
    };
    let mut wanted: BTreeSet<String> = endpoint_templates(endpoint)
        .iter()
        .flat_map(|t| t.names())
        .map(capture_of)
        .collect();
    let mut needed = vec![false; setup.len()];
    for (i, step) in setup.iter().enumerate().rev() {
        let used = step.captures.is_empty() || step.captures.iter().any(|c| wanted.contains(&c.name));
        if used {
            needed[i] = true;
            wanted.extend(step.templates().iter().flat_map(|t| t.names()).map(capture_of));
        }
    }
    needed
}
