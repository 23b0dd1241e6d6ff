//! Typed reading of YAML nodes, recording every problem instead of stopping.

use std::time::Duration;

use super::diag::{Diagnostics, nearest};
use super::request::{Body, JsonTemplate, RequestLine};
use super::template::{BASE_URL, Scope, Template, Unresolved, unresolved_help};
use super::yaml::{Node, Pos, Value};

/// The entries of a YAML map, keys checked.
pub struct Fields<'n> {
    /// Where the map is.
    pub pos: Pos,
    /// `(key, key node, value node)`, first occurrence of each key, in order.
    pub entries: Vec<(String, &'n Node, &'n Node)>,
}

impl<'n> Fields<'n> {
    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, _, v)| *v)
    }

    /// The key node under `key`, for errors about the entry itself.
    pub fn key_pos(&self, key: &str) -> Option<Pos> {
        self.entries
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, k, _)| k.pos)
    }
}

/// Reads nodes of one file into typed values, collecting diagnostics.
pub struct Reader<'a> {
    /// The problems found so far.
    pub diags: Diagnostics<'a>,
}

impl<'a> Reader<'a> {
    /// Reads a map; `known` lists the accepted keys (`None`: any key).
    pub fn map<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
        known: Option<&[&str]>,
    ) -> Option<Fields<'n>> {
        let entries = match &node.value {
            Value::Map(entries) => entries,
            Value::Null => {
                return Some(Fields {
                    pos: node.pos,
                    entries: Vec::new(),
                });
            }
            other => {
                self.diags.error(
                    node.pos,
                    format!("{what} must be a map, found {}", other.kind()),
                );
                return None;
            }
        };
        let mut fields = Fields {
            pos: node.pos,
            entries: Vec::new(),
        };
        for (key, value) in entries {
            let Some(name) = key.scalar_text() else {
                self.diags.error(
                    key.pos,
                    format!(
                        "keys of {what} must be plain text, found {}",
                        key.value.kind()
                    ),
                );
                continue;
            };
            if let Some((_, first, _)) = fields.entries.iter().find(|(k, _, _)| *k == name) {
                self.diags.error(
                    key.pos,
                    format!(
                        "duplicate key `{name}` in {what} (first at line {})",
                        first.pos.line
                    ),
                );
                continue;
            }
            if let Some(known) = known
                && !known.contains(&name.as_str())
            {
                match nearest(&name, known.iter().copied()) {
                    Some(near) => self.diags.error_with_help(
                        key.pos,
                        format!("unknown key `{name}` in {what}"),
                        format!("did you mean `{near}`?"),
                    ),
                    None => self.diags.error_with_help(
                        key.pos,
                        format!("unknown key `{name}` in {what}"),
                        format!("valid keys: {}", known.join(", ")),
                    ),
                }
                continue;
            }
            fields.entries.push((name, key, value));
        }
        Some(fields)
    }

    /// Reads a list.
    pub fn seq<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n [Node]> {
        match &node.value {
            Value::Seq(items) => Some(items),
            Value::Null => Some(&[]),
            other => {
                self.diags.error(
                    node.pos,
                    format!("{what} must be a list, found {}", other.kind()),
                );
                None
            }
        }
    }

    /// Reads a plain string (no interpolation).
    pub fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        match &node.value {
            Value::Str(s) => Some(s.clone()),
            other => {
                self.diags.error(
                    node.pos,
                    format!("{what} must be a string, found {}", other.kind()),
                );
                None
            }
        }
    }

    /// Reads a scalar and interpolates it now, in `scope`: for fields that are
    /// used while the suite loads (file paths, header names, choices), which
    /// therefore cannot wait for `${BASE_URL}`.
    pub fn resolved(&mut self, node: &Node, what: &str, scope: &Scope<'_>) -> Option<String> {
        let template = self.template(node, what)?;
        match template.render(scope) {
            Ok(text) => Some(text),
            Err(Unresolved(name)) if name == BASE_URL => {
                self.diags.error(
                    node.pos,
                    format!(
                        "{what} is read when the suite loads, before the target is known, so it cannot use `${{{BASE_URL}}}`"
                    ),
                );
                None
            }
            Err(Unresolved(name)) => {
                self.diags.error_with_help(
                    node.pos,
                    format!("unresolved variable `${{{name}}}` in {what}"),
                    unresolved_help(&name),
                );
                None
            }
        }
    }

    /// Reads a scalar as an interpolated string (numbers and booleans as written).
    pub fn template(&mut self, node: &Node, what: &str) -> Option<Template> {
        let Some(text) = node.scalar_text() else {
            self.diags.error(
                node.pos,
                format!("{what} must be a string, found {}", node.value.kind()),
            );
            return None;
        };
        match Template::parse(&text, node.pos) {
            Ok(t) => Some(t),
            Err(e) => {
                self.diags.error(node.pos, format!("{what}: {e}"));
                None
            }
        }
    }

    /// Reads a map of names to interpolated strings (`vars`, `headers`, `query`, `form`).
    pub fn template_map(&mut self, node: &Node, what: &str) -> Vec<(String, Template)> {
        let Some(fields) = self.map(node, what, None) else {
            return Vec::new();
        };
        fields
            .entries
            .iter()
            .filter_map(|(key, _, value)| {
                Some((key.clone(), self.template(value, &format!("{what}.{key}"))?))
            })
            .collect()
    }

    /// Reads a header map, checking the names.
    pub fn headers(&mut self, node: &Node, what: &str) -> Vec<(String, Template)> {
        let Some(fields) = self.map(node, what, None) else {
            return Vec::new();
        };
        let mut headers = Vec::new();
        for (name, key, value) in &fields.entries {
            if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                self.diags
                    .error(key.pos, format!("`{name}` is not a valid header name"));
                continue;
            }
            let Some(t) = self.template(value, &format!("header `{name}`")) else {
                continue;
            };
            if t.raw.chars().any(|c| c.is_control() && c != '\t') {
                self.diags.error(
                    value.pos,
                    format!(
                        "the value of header `{name}` must be one line without control characters"
                    ),
                );
                continue;
            }
            headers.push((name.clone(), t));
        }
        headers
    }

    /// Reads a boolean.
    pub fn boolean(&mut self, node: &Node, what: &str) -> Option<bool> {
        match &node.value {
            Value::Bool(b) => Some(*b),
            other => {
                self.diags.error(
                    node.pos,
                    format!("{what} must be true or false, found {}", other.kind()),
                );
                None
            }
        }
    }

    /// Reads a whole number in `min..=max`.
    pub fn integer(&mut self, node: &Node, what: &str, min: i64, max: i64) -> Option<i64> {
        match &node.value {
            Value::Int(n) if (min..=max).contains(n) => Some(*n),
            Value::Int(n) => {
                self.diags.error(
                    node.pos,
                    format!("{what} must be between {min} and {max}, found {n}"),
                );
                None
            }
            other => {
                let found = node
                    .scalar_text()
                    .unwrap_or_else(|| other.kind().to_string());
                self.diags.error(
                    node.pos,
                    format!("{what} must be a whole number between {min} and {max}, found {found}"),
                );
                None
            }
        }
    }

    /// Reads a duration such as `10s`, `500ms` or `3m`.
    pub fn duration(&mut self, node: &Node, what: &str) -> Option<Duration> {
        let text = node.scalar_text().unwrap_or_default();
        match parse_duration(&text) {
            Ok(d) => Some(d),
            Err(e) => {
                self.diags.error(node.pos, format!("{what}: {e}"));
                None
            }
        }
    }

    /// Reads `METHOD PATH[?QUERY]`; `absolute_ok` also accepts a full URL.
    pub fn request_line(&mut self, node: &Node, absolute_ok: bool) -> Option<RequestLine> {
        let text = self.string(node, "request")?;
        match parse_request_line(&text, absolute_ok) {
            Ok((method, target)) => {
                let target = match Template::parse(&target, node.pos) {
                    Ok(t) => t,
                    Err(e) => {
                        self.diags.error(node.pos, format!("request: {e}"));
                        return None;
                    }
                };
                Some(RequestLine { method, target })
            }
            Err(message) => {
                self.diags.error_with_help(
                    node.pos,
                    message.to_string(),
                    "write it as `METHOD PATH[?QUERY]`, e.g. `GET /rest/api/2/myself`",
                );
                None
            }
        }
    }

    /// Reads what a request carries besides its line: `headers:` (laid over
    /// `defaults`, the same name replacing), `query:` and the body.
    pub fn request_parts(
        &mut self,
        fields: &Fields<'_>,
        defaults: &[(String, Template)],
    ) -> RequestParts {
        let mut headers: Vec<(String, Template)> = defaults.to_vec();
        for (header, value) in fields
            .get("headers")
            .map(|n| self.headers(n, "headers"))
            .unwrap_or_default()
        {
            headers.retain(|(h, _)| !h.eq_ignore_ascii_case(&header));
            headers.push((header, value));
        }
        let query = fields
            .get("query")
            .map(|n| self.template_map(n, "query"))
            .unwrap_or_default();
        let body = self.body(fields);
        RequestParts {
            headers,
            query,
            body,
        }
    }

    /// Reads the one body among `json:`, `form:` and `body:`.
    pub fn body(&mut self, fields: &Fields<'_>) -> Option<Body> {
        let present: Vec<&str> = ["json", "form", "body"]
            .into_iter()
            .filter(|k| fields.get(k).is_some())
            .collect();
        if present.len() > 1 {
            let pos = fields.key_pos(present[1]).unwrap_or(fields.pos);
            self.diags.error(
                pos,
                format!("a request has one body, found {}", present.join(" and ")),
            );
            return None;
        }
        if let Some(node) = fields.get("json") {
            return self.json(node).map(Body::Json);
        }
        if let Some(node) = fields.get("form") {
            return Some(Body::Form(self.template_map(node, "form")));
        }
        fields
            .get("body")
            .and_then(|node| self.template(node, "body"))
            .map(Body::Raw)
    }

    /// Reads a JSON value whose strings may hold `${…}`.
    pub fn json(&mut self, node: &Node) -> Option<JsonTemplate> {
        Some(match &node.value {
            Value::Null => JsonTemplate::Null,
            Value::Bool(b) => JsonTemplate::Bool(*b),
            Value::Int(i) => JsonTemplate::Number((*i).into()),
            Value::Float(f) => match serde_json::Number::from_f64(*f) {
                Some(n) => JsonTemplate::Number(n),
                None => {
                    self.diags.error(node.pos, "JSON has no NaN or infinity");
                    return None;
                }
            },
            Value::Str(_) => JsonTemplate::String(self.template(node, "json")?),
            Value::Seq(items) => {
                JsonTemplate::Array(items.iter().filter_map(|i| self.json(i)).collect())
            }
            Value::Map(_) => {
                let fields = self.map(node, "json", None)?;
                JsonTemplate::Object(
                    fields
                        .entries
                        .iter()
                        .filter_map(|(k, _, v)| Some((k.clone(), self.json(v)?)))
                        .collect(),
                )
            }
        })
    }
}

/// What a request carries besides its line, as an endpoint or a step writes it.
pub struct RequestParts {
    /// `headers:`.
    pub headers: Vec<(String, Template)>,
    /// `query:`.
    pub query: Vec<(String, Template)>,
    /// `json:`, `form:` or `body:`.
    pub body: Option<Body>,
}

/// Why a text is not a duration permatrix accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Not a duration at all.
    #[error("`{0}` is not a duration (write e.g. 10s, 500ms, 3m)")]
    Unreadable(String),
    /// A duration outside the accepted range.
    #[error("`{0}` must be between 1ms and 24h")]
    OutOfRange(String),
}

/// Parses a duration: `10s`, `1500ms`, `3m`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let text = text.trim();
    let duration = match text.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => humantime::parse_duration(text)
            .map_err(|_| DurationError::Unreadable(text.to_string()))?,
    };
    if duration < Duration::from_millis(1) || duration > Duration::from_secs(24 * 3600) {
        return Err(DurationError::OutOfRange(text.to_string()));
    }
    Ok(duration)
}

/// Why a request line cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed request line `{line}`: {problem}")]
pub struct RequestLineError {
    /// The line as written.
    pub line: String,
    /// What is wrong with it.
    pub problem: String,
}

/// Splits `METHOD PATH` into the upper-cased method and the path.
pub fn parse_request_line(
    text: &str,
    absolute_ok: bool,
) -> Result<(::http::Method, String), RequestLineError> {
    let malformed = |problem: String| RequestLineError {
        line: text.to_string(),
        problem,
    };
    let mut words = text.split_whitespace();
    let (Some(method), Some(target), None) = (words.next(), words.next(), words.next()) else {
        return Err(malformed("expected a method and a path".into()));
    };
    let not_a_method = || malformed(format!("`{method}` is not an HTTP method"));
    if !method.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(not_a_method());
    }
    let absolute =
        target.starts_with("http://") || target.starts_with("https://") || target.starts_with("${");
    if !(target.starts_with('/') || absolute_ok && absolute) {
        return Err(malformed("the path must start with `/`".into()));
    }
    if target.contains('#') {
        return Err(malformed(
            "a `#` fragment is never sent; write it %23 if it belongs to the path or query".into(),
        ));
    }
    let method = ::http::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
        .map_err(|_| not_a_method())?;
    Ok((method, target.to_string()))
}

/// Why a principal, group or endpoint name cannot be shown on one line of the matrix.
pub fn name_problem(name: &str) -> Option<String> {
    if name.trim().is_empty() {
        Some("must not be empty".into())
    } else if name.trim() != name {
        Some(format!("{name:?} must not start or end with spaces"))
    } else if name.contains("::") {
        Some(format!(
            "{name:?} must not contain `::` (it separates the parts of test names)"
        ))
    } else if name.chars().any(char::is_control) {
        Some(format!(
            "{name:?} must be one line without control characters"
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines() {
        assert_eq!(
            parse_request_line("get /a?b=c", false),
            Ok((::http::Method::GET, "/a?b=c".into()))
        );
        assert!(parse_request_line("GET", false).is_err());
        assert!(parse_request_line("GET a b", false).is_err());
        assert!(parse_request_line("GET rest/api", false).is_err());
        assert!(parse_request_line("G3T /a", false).is_err());
        assert!(parse_request_line("GET /a#frag", false).is_err());
        assert!(parse_request_line("POST https://auth.example.com/login", true).is_ok());
        assert!(parse_request_line("POST https://auth.example.com/login", false).is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("1ns").is_err());
        assert!(parse_duration("99999999999999999999").is_err());
    }
}
