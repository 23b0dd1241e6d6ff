//! Deciding: what a response says beyond its status, read once per cell by
//! the suite's `decide:` rules and, for GraphQL endpoints, the built-in codes.

use std::cell::OnceCell;

use crate::outcome::Decision;
use crate::suite::decide::{Condition, Decided, Reason, Rule, Test, Then, normalise_code};

/// The longest reason kept from a body (a reason names a scope or a code).
const REASON_CHARS: usize = 120;
/// The most denied fields or other errors a cell lists.
const LISTED: usize = 20;

/// The built-in GraphQL error codes (`extensions.code`, `classification`,
/// `errorType` or GitHub's `type`), compared upper-case with `-` as `_`.
const GRAPHQL_CODES: &[(&str, Then)] = &[
    ("UNAUTHENTICATED", Then::Status(401)),
    // Hasura answers a bad token with 200 and this code.
    ("INVALID_JWT", Then::Status(401)),
    ("401", Then::Status(401)),
    ("403", Then::Status(403)),
    ("404", Then::Status(404)),
    // Apollo Router's (and GraphQL Hive's) authorization directives.
    ("UNAUTHORIZED_FIELD_OR_TYPE", Then::Status(403)),
    // Spring for GraphQL's classification for a missing login.
    ("UNAUTHORIZED", Then::Status(401)),
    ("FORBIDDEN", Then::Status(403)),
    ("ACCESS_DENIED", Then::Status(403)),
    ("INSUFFICIENT_SCOPES", Then::Status(403)),
    // Netflix DGS's errorType.
    ("PERMISSION_DENIED", Then::Status(403)),
    ("NOT_FOUND", Then::Status(404)),
];

/// What a decision is made from: the response as read.
pub(crate) struct Response<'a> {
    /// The status.
    pub status: u16,
    /// The headers.
    pub headers: &'a ::http::HeaderMap,
    /// The body as read (at most the read limit).
    pub body: &'a [u8],
    /// The body went past the read limit or went quiet: what was read is not all of it.
    pub incomplete: bool,
}

/// The rules that apply to one endpoint.
pub(crate) struct Rules<'a> {
    /// The endpoint's own `decide:`, then the target's.
    pub rules: Vec<&'a Rule>,
    /// Whether it is a GraphQL endpoint (the built-in codes apply).
    pub graphql: bool,
    /// The target's `graphql.codes`, normalised, before the built-in ones.
    pub codes: &'a [(String, Then)],
}

impl Rules<'_> {
    /// Whether any rule or built-in looks at this endpoint's responses.
    pub(crate) fn any(&self) -> bool {
        self.graphql || !self.rules.is_empty()
    }
}

/// The cell's decision, when a rule or a built-in reads the response
/// otherwise than its status (or has something to say about it); `mask`
/// masks and flattens every text taken from the response.
pub(crate) fn decide(
    rules: &Rules<'_>,
    response: &Response<'_>,
    mask: &dyn Fn(&str) -> String,
) -> Option<Decision> {
    if !rules.any() {
        return None;
    }
    let json: OnceCell<Option<serde_json::Value>> = OnceCell::new();
    let body = || {
        json.get_or_init(|| serde_json::from_slice(response.body).ok())
            .as_ref()
    };
    // Rules in written order, the endpoint's first. On a GraphQL endpoint a
    // rule over `/errors/*/…` that holds classifies the errors one by one
    // (a partial answer stays partial); when that finds no denial, the rule
    // decides the whole answer like any other.
    for rule in &rules.rules {
        if holds(&rule.when, response, body, None) {
            if rule.when.needs_body() && response.incomplete && body().is_none() {
                return Some(fallback(
                    response,
                    "the body was not read whole, so the rules could not read it",
                ));
            }
            if rules.graphql
                && rule.when.over_each_error()
                && let Some(decision) = graphql(rules, response, body, mask)
                && !decision.denied.is_empty()
            {
                return Some(decision);
            }
            return Some(Decision {
                decided: rule.then.decided(response.status),
                by: rule.label.clone(),
                reason: rule
                    .reason
                    .as_ref()
                    .and_then(|reason| reason_text(reason, body(), mask)),
                ..Decision::default()
            });
        }
    }
    // A rule that could not match because the body was cut must not pass
    // silently: the status stands, with a note saying so.
    if response.incomplete && rules.rules.iter().any(|r| r.when.needs_body()) && body().is_none() {
        return Some(fallback(
            response,
            "the body was not read whole (over the 64 KiB read limit, or cut), so the rules that read it could not: the status stands",
        ));
    }
    if !rules.graphql {
        return None;
    }
    graphql(rules, response, body, mask)
}

/// A decision that keeps the status, saying why the body could not be read.
fn fallback(response: &Response<'_>, note: &str) -> Decision {
    Decision {
        decided: Decided::Status(response.status),
        by: "status".into(),
        note: Some(note.to_string()),
        ..Decision::default()
    }
}

/// The built-in reading of a GraphQL answer, after the whole-response rules.
fn graphql<'j>(
    rules: &Rules<'_>,
    response: &Response<'_>,
    body: impl Fn() -> Option<&'j serde_json::Value> + Copy,
    mask: &dyn Fn(&str) -> String,
) -> Option<Decision> {
    let Some(json) = body() else {
        let text = String::from_utf8_lossy(response.body);
        if text.trim().is_empty() {
            return None;
        }
        let html = response
            .headers
            .get(::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("html"))
            || text.trim_start().starts_with('<');
        if html && (200..300).contains(&response.status) {
            return Some(Decision {
                decided: Decided::Other,
                by: "graphql".into(),
                reason: Some("HTML, not a GraphQL answer".into()),
                note: Some(format!(
                    "a GraphQL endpoint answered with HTML: {}",
                    excerpt(&text, mask)
                )),
                ..Decision::default()
            });
        }
        if response.incomplete {
            return Some(fallback(
                response,
                "the GraphQL answer was not read whole (over the read limit or cut): the status stands",
            ));
        }
        if (200..300).contains(&response.status) {
            return Some(fallback(
                response,
                "the GraphQL answer is not JSON: the status stands",
            ));
        }
        return None;
    };
    let errors = match json.get("errors") {
        // No errors and no data at all, in a 2xx: not a GraphQL answer.
        // (`{"data": {"note": null}}` answered: the note is not there.)
        None | Some(serde_json::Value::Null)
            if !json.get("data").is_some_and(|d| d.is_object())
                && (200..300).contains(&response.status) =>
        {
            let note = if json.get("data").is_some() {
                "the GraphQL answer has `data: null` and no errors"
            } else {
                "the answer has neither `data` nor `errors`: not a GraphQL answer"
            };
            return Some(Decision {
                decided: Decided::Other,
                by: "graphql".into(),
                reason: Some("no data".into()),
                note: Some(format!(
                    "{note}: {}",
                    excerpt(&String::from_utf8_lossy(response.body), mask)
                )),
                ..Decision::default()
            });
        }
        None | Some(serde_json::Value::Null) => return None,
        Some(serde_json::Value::Array(errors)) => errors,
        Some(_) => {
            return Some(fallback(
                response,
                "the GraphQL answer's `errors` is not a list: the status stands",
            ));
        }
    };
    let error_rules: Vec<&Rule> = rules
        .rules
        .iter()
        .copied()
        .filter(|rule| rule.when.over_each_error())
        .collect();
    // (then, path, reason, decided by)
    let mut denials: Vec<(Then, String, Option<String>, String)> = Vec::new();
    let mut others: Vec<String> = Vec::new();
    for (i, error) in errors.iter().enumerate() {
        let path = mask(&error_path(error));
        let by_rule = error_rules
            .iter()
            .find(|rule| holds(&rule.when, response, body, Some(i)));
        let classified = match by_rule {
            Some(rule) => Some((
                rule.label.clone(),
                rule.then,
                // Without a reason, the error's code (if any) says why.
                rule.reason
                    .as_ref()
                    .and_then(|reason| reason_text_bound(reason, json, i, mask))
                    .or_else(|| error_code(error).map(|code| mask(&code))),
            )),
            None => error_code(error).and_then(|code| {
                let normal = normalise_code(&code);
                rules
                    .codes
                    .iter()
                    .map(|(c, t)| (c.as_str(), *t))
                    .chain(GRAPHQL_CODES.iter().copied())
                    .find(|(c, _)| *c == normal)
                    .map(|(_, then)| ("graphql".to_string(), then, Some(mask(&code))))
            }),
        };
        match classified {
            Some((by, then, why)) if then.is_denial() => denials.push((then, path, why, by)),
            _ => others.push(describe_error(error, &path, mask)),
        }
    }
    let answered = answered(json);
    let listed = |items: Vec<String>| -> Vec<String> { items.into_iter().take(LISTED).collect() };
    if let Some((then, _, why, by)) = denials.first().cloned() {
        let denied: Vec<String> = denials
            .iter()
            .map(|(_, path, _, _)| {
                if path.is_empty() {
                    "(operation)".to_string()
                } else {
                    path.clone()
                }
            })
            .collect();
        let whole_operation = denials.iter().any(|(_, path, _, _)| path.is_empty());
        if answered && !whole_operation {
            return Some(Decision {
                decided: Decided::Partial,
                by,
                reason: Some(cut(&format!("denied {}", stable_paths(&denied).join(", ")))),
                denied: listed(denied),
                other_errors: listed(others),
                note: None,
            });
        }
        return Some(Decision {
            decided: then.decided(response.status),
            by,
            reason: why,
            denied: listed(denied),
            other_errors: listed(others),
            note: None,
        });
    }
    // Errors that deny nothing beside data: the status stands, the errors are listed.
    if answered && !others.is_empty() {
        return Some(Decision {
            decided: Decided::Status(response.status),
            by: "graphql".into(),
            other_errors: listed(others),
            ..Decision::default()
        });
    }
    // A 2xx with no data and an error no rule or code calls a denial did not
    // reach anything; any other status (PostGraphile's 403 for a bad JWT,
    // 405 for a GET, 400 for an invalid document) is the server's own answer.
    if !answered && !others.is_empty() && (200..300).contains(&response.status) {
        // The snapshot keeps the code only: a message may carry a request id.
        let code = errors
            .iter()
            .find_map(error_code)
            .map(|code| cut(&mask(&code)));
        return Some(Decision {
            decided: Decided::Other,
            by: "graphql".into(),
            reason: code,
            other_errors: listed(others),
            ..Decision::default()
        });
    }
    None
}

/// Whether `data` holds some non-null root field.
fn answered(json: &serde_json::Value) -> bool {
    match json.get("data") {
        Some(serde_json::Value::Object(fields)) => fields.values().any(|v| !v.is_null()),
        _ => false,
    }
}

/// Denied paths as a snapshot keeps them: list indexes as `*`, each once
/// (`notes.0.author`, `notes.1.author` → `notes.*.author`), so that a row
/// more in the data does not read as a change.
fn stable_paths(paths: &[String]) -> Vec<String> {
    let mut stable: Vec<String> = Vec::new();
    for path in paths {
        let collapsed = path
            .split('.')
            .map(|segment| {
                if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
                    "*"
                } else {
                    segment
                }
            })
            .collect::<Vec<_>>()
            .join(".");
        if !stable.contains(&collapsed) {
            stable.push(collapsed);
        }
    }
    stable
}

/// `issue.reporter` from an error's `path` (indexes kept), or Apollo
/// Router's `extensions.affectedPath`; empty without either.
fn error_path(error: &serde_json::Value) -> String {
    if let Some(affected) = error
        .get("extensions")
        .and_then(|e| e.get("affectedPath"))
        .and_then(|p| p.as_str())
        && error.get("path").is_none()
    {
        return affected.replace('/', ".");
    }
    match error.get("path") {
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join("."),
        _ => String::new(),
    }
}

/// The error's code: `extensions.code`, Spring's `extensions.classification`,
/// DGS's `extensions.errorType`, or GitHub's `type`.
fn error_code(error: &serde_json::Value) -> Option<String> {
    let extensions = error.get("extensions");
    ["code", "classification", "errorType"]
        .iter()
        .find_map(|key| extensions.and_then(|e| e.get(*key)).and_then(code_text))
        .or_else(|| error.get("type").and_then(code_text))
}

/// A code as text: a string, or a number (`extensions.code: 403`).
fn code_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `FORBIDDEN at notes: not yours` as a report lists an error.
fn describe_error(error: &serde_json::Value, path: &str, mask: &dyn Fn(&str) -> String) -> String {
    // An error written as a bare string is its own message.
    let message = match error {
        serde_json::Value::String(text) => text.as_str(),
        _ => error.get("message").and_then(|m| m.as_str()).unwrap_or(""),
    };
    let mut text = String::new();
    if let Some(code) = error_code(error) {
        text.push_str(&code);
    }
    if !path.is_empty() {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str("at ");
        text.push_str(path);
    }
    if !message.is_empty() {
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(message);
    }
    cut(&mask(&text))
}

fn excerpt(text: &str, mask: &dyn Fn(&str) -> String) -> String {
    cut(&mask(text))
}

/// `text` on one line, at most [`REASON_CHARS`] characters.
fn cut(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(REASON_CHARS) {
        Some((at, _)) => format!("{}…", &flat[..at]),
        None => flat,
    }
}

/// A JSON value as a reason or a `matches:` subject reads it: a string's
/// content, anything else as JSON text.
fn as_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn reason_text(
    reason: &Reason,
    body: Option<&serde_json::Value>,
    mask: &dyn Fn(&str) -> String,
) -> Option<String> {
    match reason {
        Reason::Text(text) => Some(text.clone()),
        Reason::Pointer(pointer) => {
            let value = pointer.values(body?).into_iter().next()?;
            Some(cut(&mask(&as_text(value))))
        }
    }
}

fn reason_text_bound(
    reason: &Reason,
    body: &serde_json::Value,
    error: usize,
    mask: &dyn Fn(&str) -> String,
) -> Option<String> {
    match reason {
        Reason::Text(text) => Some(text.clone()),
        Reason::Pointer(pointer) => {
            let value = pointer.values_bound(body, Some(error)).into_iter().next()?;
            Some(cut(&mask(&as_text(value))))
        }
    }
}

/// Whether `condition` holds for the response; `error` binds the first `*`
/// of `/errors/*/…` pointers to one GraphQL error.
fn holds<'j>(
    condition: &Condition,
    response: &Response<'_>,
    body: impl Fn() -> Option<&'j serde_json::Value> + Copy,
    error: Option<usize>,
) -> bool {
    match condition {
        Condition::Status(expectation) => expectation.matches(response.status),
        Condition::Json { pointer, test } => {
            let values = match body() {
                Some(json) => {
                    let bound = error.filter(|_| pointer.over_each_error());
                    pointer.values_bound(json, bound)
                }
                None => Vec::new(),
            };
            test_values(test, values.iter().map(|v| std::borrow::Cow::Borrowed(*v)))
        }
        Condition::Header { name, test } => {
            let values = response.headers.get_all(name.as_str()).iter().map(|v| {
                std::borrow::Cow::Owned(serde_json::Value::String(
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                ))
            });
            test_values(test, values)
        }
        Condition::BodyMatches(regex) => regex.is_match(&String::from_utf8_lossy(response.body)),
        Condition::All(items) => items.iter().all(|c| holds(c, response, body, error)),
        Condition::Any(items) => items.iter().any(|c| holds(c, response, body, error)),
        Condition::Not(inner) => !holds(inner, response, body, error),
    }
}

/// Whether some of `values` passes `test` (`exists: false`: there is none).
fn test_values<'v>(
    test: &Test,
    values: impl Iterator<Item = std::borrow::Cow<'v, serde_json::Value>>,
) -> bool {
    let mut values = values.peekable();
    match test {
        Test::Exists(wanted) => values.peek().is_some() == *wanted,
        Test::Equals(expected) => values.any(|v| same(&v, expected)),
        Test::In(options) => values.any(|v| options.iter().any(|o| same(&v, o))),
        Test::Matches(regex) => values.any(|v| regex.is_match(&as_text(&v))),
    }
}

/// JSON equality, numbers by value (`1` equals `1.0`); a header's text
/// equals a YAML number or boolean written the same.
fn same(value: &serde_json::Value, expected: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match (value, expected) {
        (J::Number(a), J::Number(b)) => a.as_f64() == b.as_f64(),
        (J::String(text), J::Number(_) | J::Bool(_)) => {
            text.as_str() == expected.to_string().as_str()
        }
        _ => value == expected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::decide::Pointer;
    use serde_json::json;

    fn response<'a>(status: u16, headers: &'a ::http::HeaderMap, body: &'a [u8]) -> Response<'a> {
        Response {
            status,
            headers,
            body,
            incomplete: false,
        }
    }

    fn graphql_rules(codes: &[(String, Then)]) -> Rules<'_> {
        Rules {
            rules: Vec::new(),
            graphql: true,
            codes,
        }
    }

    fn mask(text: &str) -> String {
        text.to_string()
    }

    #[test]
    fn a_slack_style_error_reads_as_a_denial_with_its_needed_scope() {
        let rule = Rule {
            when: Condition::Json {
                pointer: Pointer::parse("/ok").unwrap(),
                test: Test::Equals(json!(false)),
            },
            then: Then::Status(403),
            reason: Some(Reason::Pointer(Pointer::parse("/needed").unwrap())),
            label: "target rule 1 (line 3)".into(),
            pos: Default::default(),
        };
        let rules = Rules {
            rules: vec![&rule],
            graphql: false,
            codes: &[],
        };
        let headers = ::http::HeaderMap::new();
        let denied = br#"{"ok": false, "error": "missing_scope", "needed": "channels:read"}"#;
        let decision = decide(&rules, &response(200, &headers, denied), &mask).unwrap();
        assert_eq!(decision.decided, Decided::Status(403));
        assert_eq!(decision.reason.as_deref(), Some("channels:read"));
        assert_eq!(decision.by, "target rule 1 (line 3)");
        let fine = br#"{"ok": true}"#;
        assert!(decide(&rules, &response(200, &headers, fine), &mask).is_none());
    }

    #[test]
    fn graphql_codes_make_denials_and_partials() {
        let headers = ::http::HeaderMap::new();
        let rules = graphql_rules(&[]);
        let all_denied = br#"{"data": {"issue": null}, "errors": [{"message": "no", "path": ["issue"], "extensions": {"code": "FORBIDDEN"}}]}"#;
        let decision = decide(&rules, &response(200, &headers, all_denied), &mask).unwrap();
        assert_eq!(decision.decided, Decided::Status(403));
        assert_eq!(decision.denied, vec!["issue"]);
        let partial = br#"{"data": {"issue": null, "me": {"id": 1}}, "errors": [{"message": "no", "path": ["issue"], "type": "NOT_FOUND"}, {"message": "current transaction is aborted", "path": ["x"]}]}"#;
        let decision = decide(&rules, &response(200, &headers, partial), &mask).unwrap();
        assert_eq!(decision.decided, Decided::Partial);
        assert_eq!(decision.denied, vec!["issue"]);
        assert_eq!(
            decision.other_errors,
            vec!["at x: current transaction is aborted"]
        );
        let unauthenticated = br#"{"data": null, "errors": [{"message": "log in", "extensions": {"code": "unauthenticated"}}]}"#;
        let decision = decide(&rules, &response(200, &headers, unauthenticated), &mask).unwrap();
        assert_eq!(decision.decided, Decided::Status(401));
        let codes = vec![("ACCESS_DENIED".to_string(), Then::Other)];
        let overridden = graphql_rules(&codes);
        let shopify = br#"{"data": null, "errors": [{"message": "x", "extensions": {"code": "ACCESS_DENIED"}}]}"#;
        let decision = decide(&overridden, &response(200, &headers, shopify), &mask).unwrap();
        assert_eq!(
            decision.decided,
            Decided::Other,
            "an override wins over the built-in code"
        );
    }

    #[test]
    fn graphql_answers_that_are_not_graphql_never_panic() {
        let rules = graphql_rules(&[]);
        let mut html = ::http::HeaderMap::new();
        html.insert(::http::header::CONTENT_TYPE, "text/html".parse().unwrap());
        let page = decide(&rules, &response(200, &html, b"<html>hi</html>"), &mask).unwrap();
        assert_eq!(page.decided, Decided::Other);
        let plain = ::http::HeaderMap::new();
        let odd = decide(&rules, &response(200, &plain, br#"{"errors": 3}"#), &mask).unwrap();
        assert_eq!(odd.decided, Decided::Status(200));
        assert!(odd.note.is_some());
        let truncated = Response {
            incomplete: true,
            ..response(200, &plain, br#"{"data": {"#)
        };
        assert_eq!(
            decide(&rules, &truncated, &mask).unwrap().decided,
            Decided::Status(200)
        );
        assert!(
            decide(
                &rules,
                &response(200, &plain, br#"{"data": {"a": 1}}"#),
                &mask
            )
            .is_none()
        );
    }
}
