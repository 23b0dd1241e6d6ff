//! `decide:` rules: reading a cell's decision from the response when its
//! status does not say it (a 200 that carries an error), checked at load.

use regex::Regex;

pub use super::expect::Decided;
use super::expect::Expectation;
use super::read::Reader;
use super::yaml::{Node, Pos, Value};

/// A GraphQL error code as compared: upper case, `-` as `_`.
pub fn normalise_code(code: &str) -> String {
    code.trim().to_ascii_uppercase().replace('-', "_")
}

/// What a rule's `then:` makes of the response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Then {
    /// This status.
    Status(u16),
    /// `reached`: the response's status when it is 2xx, else 200.
    Reached,
    /// `partial`.
    Partial,
    /// `other`.
    Other,
}

impl Then {
    /// The decision for a response that came with `status`.
    pub fn decided(self, status: u16) -> Decided {
        match self {
            Then::Status(s) => Decided::Status(s),
            Then::Reached if (200..300).contains(&status) => Decided::Status(status),
            Then::Reached => Decided::Status(200),
            Then::Partial => Decided::Partial,
            Then::Other => Decided::Other,
        }
    }

    /// Whether it says the principal was refused (401, 403, 404).
    pub fn is_denial(self) -> bool {
        matches!(self, Then::Status(401 | 403 | 404))
    }

    /// Reads a status or one of the words of SPEC §2.
    pub fn parse(text: &str) -> Option<Then> {
        Some(match text.trim().to_ascii_lowercase().as_str() {
            "reached" => Then::Reached,
            "unauthenticated" => Then::Status(401),
            "forbidden" => Then::Status(403),
            "hidden" => Then::Status(404),
            "other" => Then::Other,
            "partial" => Then::Partial,
            number => match number.parse::<u16>() {
                Ok(status) if (100..=599).contains(&status) => Then::Status(status),
                _ => return None,
            },
        })
    }
}

/// One step of a JSON pointer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    /// A member name or an array index.
    Key(String),
    /// `*`: any element of an array (or any member of an object).
    Any,
}

/// A JSON pointer whose `*` segments match any element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pointer {
    /// As written.
    pub text: String,
    /// Its segments, unescaped.
    pub segments: Vec<Segment>,
}

/// Why a pointer cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PointerError {
    /// It does not start with `/`.
    #[error("`{0}` is not a JSON pointer: it must start with `/` (e.g. /errors/*/extensions/code)")]
    NoSlash(String),
    /// A `~` not followed by 0 or 1.
    #[error("`{0}` is not a JSON pointer: `~` must be followed by 0 (`~`) or 1 (`/`)")]
    BadEscape(String),
}

impl Pointer {
    /// Parses `/a/*/b` (RFC 6901, plus `*`).
    pub fn parse(text: &str) -> Result<Pointer, PointerError> {
        let Some(rest) = text.strip_prefix('/') else {
            return Err(PointerError::NoSlash(text.to_string()));
        };
        let mut segments = Vec::new();
        for raw in rest.split('/') {
            if raw == "*" {
                segments.push(Segment::Any);
                continue;
            }
            let mut key = String::with_capacity(raw.len());
            let mut chars = raw.chars();
            while let Some(c) = chars.next() {
                match c {
                    '~' => match chars.next() {
                        Some('0') => key.push('~'),
                        Some('1') => key.push('/'),
                        _ => return Err(PointerError::BadEscape(text.to_string())),
                    },
                    c => key.push(c),
                }
            }
            segments.push(Segment::Key(key));
        }
        Ok(Pointer {
            text: text.to_string(),
            segments,
        })
    }

    /// Every value the pointer reaches in `root` (several through `*`).
    pub fn values<'v>(&self, root: &'v serde_json::Value) -> Vec<&'v serde_json::Value> {
        self.values_bound(root, None)
    }

    /// [`Pointer::values`] with its first `*` bound to element `bound`, when given.
    pub fn values_bound<'v>(
        &self,
        root: &'v serde_json::Value,
        bound: Option<usize>,
    ) -> Vec<&'v serde_json::Value> {
        let mut current = vec![root];
        let mut bound = bound;
        for segment in &self.segments {
            let mut next = Vec::new();
            for value in current {
                match (segment, value) {
                    (Segment::Any, serde_json::Value::Array(items)) => match bound {
                        Some(i) => next.extend(items.get(i)),
                        None => next.extend(items.iter()),
                    },
                    (Segment::Any, serde_json::Value::Object(members)) => {
                        next.extend(members.values())
                    }
                    (Segment::Any, _) => {}
                    (Segment::Key(key), serde_json::Value::Object(members)) => {
                        next.extend(members.get(key))
                    }
                    (Segment::Key(key), serde_json::Value::Array(items)) => {
                        next.extend(key.parse::<usize>().ok().and_then(|i| items.get(i)))
                    }
                    (Segment::Key(_), _) => {}
                }
            }
            if matches!(segment, Segment::Any) {
                bound = None;
            }
            current = next;
        }
        current
    }

    /// Whether its first `*` is an element of the top-level `errors` list
    /// (`/errors/*/…`): a rule over it can classify GraphQL errors one by one.
    pub fn over_each_error(&self) -> bool {
        matches!(self.segments.as_slice(), [Segment::Key(k), Segment::Any, ..] if k == "errors")
    }
}

/// A test on a value (a JSON value, or a header's text).
#[derive(Clone, Debug)]
pub enum Test {
    /// `equals:` JSON equality (`null` matches a JSON null, not a missing value).
    Equals(serde_json::Value),
    /// `in:` equal to one of these.
    In(Vec<serde_json::Value>),
    /// `exists: true|false`.
    Exists(bool),
    /// `matches:` a regex over the value as text.
    Matches(Regex),
}

/// A condition over a response.
#[derive(Clone, Debug)]
pub enum Condition {
    /// `status:` a status, class or list.
    Status(Expectation),
    /// `json:` a pointer and a test on what it reaches (true when some value passes).
    Json {
        /// Where.
        pointer: Pointer,
        /// What.
        test: Test,
    },
    /// `header:` a name and a test on its values.
    Header {
        /// The header, lower case.
        name: String,
        /// What.
        test: Test,
    },
    /// `body_matches:` a regex over the body as text.
    BodyMatches(Regex),
    /// `all:` every one holds.
    All(Vec<Condition>),
    /// `any:` some one holds.
    Any(Vec<Condition>),
    /// `not:` it does not hold.
    Not(Box<Condition>),
}

impl Condition {
    /// Whether it reads the body.
    pub fn needs_body(&self) -> bool {
        match self {
            Condition::Status(_) | Condition::Header { .. } => false,
            Condition::Json { .. } | Condition::BodyMatches(_) => true,
            Condition::All(items) | Condition::Any(items) => items.iter().any(Self::needs_body),
            Condition::Not(inner) => inner.needs_body(),
        }
    }

    /// Whether it looks at GraphQL errors one by one (a `/errors/*/…` pointer).
    pub fn over_each_error(&self) -> bool {
        match self {
            Condition::Json { pointer, .. } => pointer.over_each_error(),
            Condition::All(items) | Condition::Any(items) => {
                items.iter().any(Self::over_each_error)
            }
            Condition::Not(inner) => inner.over_each_error(),
            _ => false,
        }
    }
}

/// Where a rule's `reason:` comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The value at a pointer (`/needed`).
    Pointer(Pointer),
    /// This text.
    Text(String),
}

/// One `{ when, then, reason }` rule.
#[derive(Clone, Debug)]
pub struct Rule {
    /// What must hold.
    pub when: Condition,
    /// What the cell then reads as.
    pub then: Then,
    /// Why, as the reports show it.
    pub reason: Option<Reason>,
    /// `endpoint rule 1 (line 12)` / `target rule 2 (line 8)`.
    pub label: String,
    /// Where the rule is.
    pub pos: Pos,
}

const RULE_KEYS: &[&str] = &["when", "then", "reason"];
const CONDITION_KEYS: &[&str] = &[
    "status",
    "json",
    "header",
    "body_matches",
    "all",
    "any",
    "not",
];
const SUBJECTS: &[&str] = &[
    "status",
    "json",
    "header",
    "body_matches",
    "all",
    "any",
    "not",
];
const OPERATORS: &[&str] = &["equals", "in", "exists", "matches"];
/// The longest regex a rule may hold (compiled once, run on every cell).
const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// How deep `all`/`any`/`not` may nest.
const MAX_DEPTH: usize = 16;

/// Reads a `decide:` list; `whose` is `target` or `endpoint` for the labels.
pub(super) fn read_rules(r: &mut Reader<'_>, node: &Node, whose: &str) -> Vec<Rule> {
    let Some(items) = r.seq(node, "decide") else {
        return Vec::new();
    };
    let mut rules = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Some(f) = r.map(item, "a decide rule", Some(RULE_KEYS)) else {
            continue;
        };
        let when = match f.get("when") {
            Some(n) => read_condition(r, n, 0),
            None => {
                r.diags.error_with_help(
                    item.pos,
                    "a decide rule has no `when:`",
                    "e.g. `{ when: { json: /ok, equals: false }, then: 403, reason: /error }`",
                );
                None
            }
        };
        let then = match f.get("then") {
            Some(n) => read_then_value(r, n),
            None => {
                r.diags.error_with_help(
                    item.pos,
                    "a decide rule has no `then:`",
                    "a status (403) or reached, unauthenticated, forbidden, hidden, other, partial",
                );
                None
            }
        };
        let reason = f.get("reason").and_then(|n| {
            let text = r.string(n, "reason")?;
            if text.starts_with('/') {
                match Pointer::parse(&text) {
                    Ok(pointer) => Some(Reason::Pointer(pointer)),
                    Err(e) => {
                        r.diags.error(n.pos, e.to_string());
                        None
                    }
                }
            } else {
                Some(Reason::Text(text))
            }
        });
        if let (Some(when), Some(then)) = (when, then) {
            rules.push(Rule {
                when,
                then,
                reason,
                label: format!("{whose} rule {} (line {})", i + 1, item.pos.line),
                pos: item.pos,
            });
        }
    }
    rules
}

/// Reads a `then:`-like value: a status or a decision word.
pub(super) fn read_then_value(r: &mut Reader<'_>, node: &Node) -> Option<Then> {
    let text = match &node.value {
        Value::Int(n) => n.to_string(),
        Value::Str(s) => s.clone(),
        other => {
            r.diags.error(
                node.pos,
                format!("`then:` must be a status or a word, found {}", other.kind()),
            );
            return None;
        }
    };
    let then = Then::parse(&text);
    if then.is_none() {
        r.diags.error_with_help(
            node.pos,
            format!("`then: {text}` is neither a status (100 to 599) nor a decision word"),
            "use a status (403) or reached, unauthenticated, forbidden, hidden, other, partial",
        );
    }
    then
}

fn read_condition(r: &mut Reader<'_>, node: &Node, depth: usize) -> Option<Condition> {
    if depth > MAX_DEPTH {
        r.diags.error(
            node.pos,
            format!("conditions nest deeper than {MAX_DEPTH} levels"),
        );
        return None;
    }
    // A list is `all:` of its items.
    if let Value::Seq(items) = &node.value {
        return read_list(r, items, depth).map(Condition::All);
    }
    let f = r.map(
        node,
        "a condition",
        Some(&[CONDITION_KEYS, OPERATORS].concat()),
    )?;
    let subjects: Vec<&str> = SUBJECTS
        .iter()
        .copied()
        .filter(|k| f.get(k).is_some())
        .collect();
    let operators: Vec<&str> = OPERATORS
        .iter()
        .copied()
        .filter(|k| f.get(k).is_some())
        .collect();
    let subject = match subjects.as_slice() {
        [one] => *one,
        [] => {
            r.diags.error_with_help(
                node.pos,
                "a condition names nothing to test",
                "use one of status, json, header, body_matches, all, any, not",
            );
            return None;
        }
        [_, second, ..] => {
            r.diags.error_with_help(
                f.key_pos(second).unwrap_or(node.pos),
                format!(
                    "a condition tests one thing, found {}",
                    subjects.join(" and ")
                ),
                "combine conditions with `all: [ … ]` or `any: [ … ]`",
            );
            return None;
        }
    };
    let value = f.get(subject)?;
    let needs_operator = matches!(subject, "json" | "header");
    if !needs_operator && let Some(op) = operators.first() {
        r.diags.error(
            f.key_pos(op).unwrap_or(node.pos),
            format!("`{op}:` goes with `json:` or `header:`, not `{subject}:`"),
        );
        return None;
    }
    match subject {
        "status" => match Expectation::from_node(value) {
            // A status condition tests the HTTP status, which is never a decision word.
            Ok(expectation) if names_a_decision(&expectation) => {
                r.diags.error_with_help(
                    value.pos,
                    format!("`status: {expectation}` can never hold: `partial` and `other` are decisions, not HTTP statuses"),
                    "test statuses (200), classes (\"2xx\") or lists ([200, 204])",
                );
                None
            }
            Ok(expectation) => Some(Condition::Status(expectation)),
            Err(e) => {
                r.diags
                    .error(value.pos, format!("invalid `status:` condition: {e}"));
                None
            }
        },
        "body_matches" => read_regex(r, value, "body_matches").map(Condition::BodyMatches),
        "all" | "any" => {
            let items = r.seq(value, subject)?;
            if items.is_empty() {
                r.diags.error(
                    value.pos,
                    format!("`{subject}:` needs at least one condition"),
                );
                return None;
            }
            let list = read_list(r, items, depth)?;
            Some(if subject == "all" {
                Condition::All(list)
            } else {
                Condition::Any(list)
            })
        }
        "not" => read_condition(r, value, depth + 1).map(|c| Condition::Not(Box::new(c))),
        _ => {
            let test = match operators.as_slice() {
                [one] => read_test(r, f.get(one)?, one)?,
                // A misspelt operator was reported as an unknown key already.
                [] if map_len(node) > f.entries.len() => return None,
                [] => {
                    r.diags.error_with_help(
                        node.pos,
                        format!("`{subject}:` needs an operator"),
                        "add one of equals, in, exists, matches",
                    );
                    return None;
                }
                [_, second, ..] => {
                    r.diags.error_with_help(
                        f.key_pos(second).unwrap_or(node.pos),
                        format!(
                            "one operator per condition, found {}",
                            operators.join(" and ")
                        ),
                        "combine conditions with `all: [ … ]`",
                    );
                    return None;
                }
            };
            let text = r.string(value, subject)?;
            if subject == "header" {
                if text.is_empty() || ::http::HeaderName::from_bytes(text.as_bytes()).is_err() {
                    r.diags
                        .error(value.pos, format!("`{text}` is not a header name"));
                    return None;
                }
                return Some(Condition::Header {
                    name: text.to_ascii_lowercase(),
                    test,
                });
            }
            match Pointer::parse(&text) {
                Ok(pointer) => Some(Condition::Json { pointer, test }),
                Err(e) => {
                    r.diags.error(value.pos, e.to_string());
                    None
                }
            }
        }
    }
}

/// How many keys a map node has as written (unknown ones included).
fn map_len(node: &Node) -> usize {
    match &node.value {
        Value::Map(entries) => entries.len(),
        _ => 0,
    }
}

/// Whether an expectation names `partial` or `other`.
fn names_a_decision(expectation: &Expectation) -> bool {
    match expectation {
        Expectation::Partial | Expectation::Other => true,
        Expectation::OneOf(items) => items.iter().any(names_a_decision),
        _ => false,
    }
}

fn read_list(r: &mut Reader<'_>, items: &[Node], depth: usize) -> Option<Vec<Condition>> {
    let mut list = Vec::with_capacity(items.len());
    let mut ok = true;
    for item in items {
        match read_condition(r, item, depth + 1) {
            Some(c) => list.push(c),
            None => ok = false,
        }
    }
    ok.then_some(list)
}

fn read_test(r: &mut Reader<'_>, node: &Node, operator: &str) -> Option<Test> {
    match operator {
        "equals" => Some(Test::Equals(node.to_json())),
        "in" => match &node.value {
            Value::Seq(items) if !items.is_empty() => {
                Some(Test::In(items.iter().map(Node::to_json).collect()))
            }
            _ => {
                r.diags.error(
                    node.pos,
                    "`in:` needs a non-empty list of values, e.g. [FORBIDDEN, UNAUTHENTICATED]",
                );
                None
            }
        },
        "exists" => r.boolean(node, "exists").map(Test::Exists),
        _ => read_regex(r, node, "matches").map(Test::Matches),
    }
}

fn read_regex(r: &mut Reader<'_>, node: &Node, what: &str) -> Option<Regex> {
    let text = r.string(node, what)?;
    match regex::RegexBuilder::new(&text)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
    {
        Ok(regex) => Some(regex),
        Err(e) => {
            let reason = e.to_string();
            let last = reason.lines().last().unwrap_or("invalid").trim();
            let last = last.strip_prefix("error: ").unwrap_or(last);
            r.diags
                .error(node.pos, format!("`{what}:` is not a valid regex: {last}"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pointers_with_stars_reach_every_element() {
        let body = json!({"errors": [
            {"extensions": {"code": "FORBIDDEN"}},
            {"message": "x"},
            {"extensions": {"code": "NOT_FOUND"}}
        ]});
        let p = Pointer::parse("/errors/*/extensions/code").unwrap();
        assert_eq!(p.values(&body), vec!["FORBIDDEN", "NOT_FOUND"]);
        assert_eq!(p.values_bound(&body, Some(2)), vec!["NOT_FOUND"]);
        assert!(p.values_bound(&body, Some(1)).is_empty());
        assert!(p.over_each_error());
        let escaped = Pointer::parse("/a~1b/~0c").unwrap();
        assert_eq!(escaped.values(&json!({"a/b": {"~c": 1}})), vec![&json!(1)]);
        assert_eq!(
            Pointer::parse("/list/1")
                .unwrap()
                .values(&json!({"list": [0, 7]})),
            vec![&json!(7)]
        );
        assert!(Pointer::parse("errors").is_err());
        assert!(Pointer::parse("/a~2").is_err());
    }

    #[test]
    fn then_reads_statuses_and_words() {
        assert_eq!(Then::parse("403"), Some(Then::Status(403)));
        assert_eq!(Then::parse("Forbidden"), Some(Then::Status(403)));
        assert_eq!(Then::parse("hidden"), Some(Then::Status(404)));
        assert_eq!(Then::parse("partial"), Some(Then::Partial));
        assert_eq!(Then::parse("700"), None);
        assert_eq!(Then::parse("denied"), None);
        assert_eq!(Then::Reached.decided(204), Decided::Status(204));
        assert_eq!(Then::Reached.decided(500), Decided::Status(200));
    }
}
