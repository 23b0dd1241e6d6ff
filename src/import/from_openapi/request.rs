//! One operation's request: its path with examples or variables, its
//! required query and header parameters, its body; the suite variables made
//! for what the document leaves open.

use std::collections::BTreeMap;

use percent_encoding::{AsciiSet, CONTROLS, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

use crate::import::draft::{Body, Endpoint, literal, literal_json, var_name};
use crate::import::yaml_out::{Entry, Yaml};
use crate::openapi::{BodyKind, Location, Operation, Parameter};

/// Everything of a path parameter value but the unreserved characters is encoded.
const VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// What a literal path segment cannot carry in a request line.
const PATH: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'^')
    .add(b'{')
    .add(b'}')
    .add(b'|')
    .add(b'\\');

/// Suite variables made for parameters the document gives no example for.
#[derive(Default)]
pub(super) struct Variables {
    /// The `vars:` entries, by name.
    pub(super) entries: BTreeMap<String, Entry>,
    /// The parameter name each variable was made for: two names that make
    /// the same variable name (`a-b`, `a.b`) get two variables.
    made_for: BTreeMap<String, String>,
    /// How many hold a placeholder the user must replace.
    pub(super) placeholders: usize,
    /// Prefix of the environment variables secret parameters read.
    prefix: String,
}

impl Variables {
    /// No variables yet; secret parameters read `<prefix>_<NAME>`.
    pub(super) fn new(prefix: String) -> Variables {
        Variables {
            prefix,
            ..Variables::default()
        }
    }

    /// `${name}` for `parameter`, declaring the variable with a typed placeholder.
    fn reference(&mut self, parameter: &Parameter) -> String {
        let name = self.name_for(parameter);
        if !self.entries.contains_key(&name) {
            let placeholder = placeholder(&parameter.kind);
            let entry = Entry::new(name.clone(), Yaml::Str(placeholder)).note(format!(
                "TODO: a real {} ({}, {})",
                parameter.name,
                location_name(parameter.location),
                parameter.kind
            ));
            self.entries.insert(name.clone(), entry);
            self.placeholders += 1;
        }
        format!("${{{name}}}")
    }

    /// The variable's name for `parameter`: its own, made valid, and made
    /// unique when another parameter's name made the same one.
    fn name_for(&mut self, parameter: &Parameter) -> String {
        let stem = var_name(&parameter.name);
        let mut name = stem.clone();
        let mut n = 2;
        while self
            .made_for
            .get(&name)
            .is_some_and(|original| *original != parameter.name)
        {
            name = format!("{stem}_{n}");
            n += 1;
        }
        self.made_for.insert(name.clone(), parameter.name.clone());
        name
    }

    /// `${name}` for `parameter`, declaring the variable with `value` (the
    /// document's example, encoded as it goes in the path).
    fn holding(&mut self, parameter: &Parameter, value: &str) -> String {
        let name = self.name_for(parameter);
        self.entries.entry(name.clone()).or_insert_with(|| {
            Entry::new(name.clone(), Yaml::Str(literal(value))).note(format!(
                "the document's example for {}: written as a variable, since in the path it would name another operation",
                parameter.name
            ))
        });
        format!("${{{name}}}")
    }

    /// `${<PREFIX>_<NAME>:-}`: a secret parameter reads the environment, never the document's example.
    fn secret(&self, parameter: &Parameter) -> String {
        let name = var_name(&parameter.name).to_ascii_uppercase();
        format!("${{{}_{name}:-}}", self.prefix)
    }
}

/// Whether a parameter's name or format says it carries a credential
/// (`password`, `api_key`, `appKey`, `X-Auth-Token`, `format: password`).
fn is_secret(parameter: &Parameter) -> bool {
    parameter.kind.ends_with("(password)") || crate::http::is_credential_param(&parameter.name)
}

fn location_name(location: Location) -> &'static str {
    match location {
        Location::Path => "path",
        Location::Query => "query",
        Location::Header => "header",
        Location::Cookie => "cookie",
    }
}

/// Whether a suite may carry `text` as a header value: one line, no control
/// character (as the loader checks), and valid for HTTP.
fn sendable_in_a_header(text: &str) -> bool {
    !text.chars().any(char::is_control) && http::HeaderValue::from_str(text).is_ok()
}

/// A value of the parameter's type that a reader sees is not real.
fn placeholder(kind: &str) -> String {
    let (kind, format) = match kind.split_once(" (") {
        Some((k, f)) => (k, Some(f.trim_end_matches(')'))),
        None => (kind, None),
    };
    match kind {
        "integer" | "number" => "1".into(),
        "boolean" => "true".into(),
        _ => crate::openapi::example_string(format).into(),
    }
}

/// A parameter value as text (JSON for structures).
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// The endpoint of one operation; `keys` are the API keys of the document's
/// security schemes, which the principals send, not the endpoint.
pub(super) fn endpoint(
    operation: &Operation,
    name: String,
    keys: &[(Location, String)],
    vars: &mut Variables,
) -> Endpoint {
    let mut comments = Vec::new();
    let path = path_of(operation, vars, true);
    let mut query = Vec::new();
    let mut headers = Vec::new();
    let is_key = |p: &Parameter| {
        keys.iter().any(|(location, key)| {
            *location == p.location
                && match location {
                    Location::Header => key.eq_ignore_ascii_case(&p.name),
                    _ => *key == p.name,
                }
        })
    };
    for parameter in operation
        .parameters
        .iter()
        .filter(|p| p.required && !is_key(p))
    {
        let value = |vars: &mut Variables| match &parameter.example {
            _ if is_secret(parameter) => vars.secret(parameter),
            Some(example) => literal(&text(example)),
            None => vars.reference(parameter),
        };
        match parameter.location {
            Location::Path => {}
            Location::Query => query.push((parameter.name.clone(), value(vars))),
            Location::Header => {
                let lower = parameter.name.to_ascii_lowercase();
                if http::HeaderName::from_bytes(parameter.name.as_bytes()).is_err() {
                    comments.push(format!(
                        "the document requires header {:?}, which is not a valid header name: left out",
                        parameter.name
                    ));
                } else if !matches!(
                    lower.as_str(),
                    "authorization" | "content-type" | "accept" | "cookie"
                ) {
                    let sendable = parameter
                        .example
                        .as_ref()
                        .is_none_or(|e| sendable_in_a_header(&text(e)));
                    let value = if sendable {
                        value(vars)
                    } else {
                        vars.reference(parameter)
                    };
                    headers.push((parameter.name.clone(), value));
                }
            }
            Location::Cookie => comments.push(format!(
                "the document requires cookie `{}`: add it to `headers:` (Cookie) if the target needs it",
                parameter.name
            )),
        }
    }
    let body = operation.body.as_ref().and_then(|body| match &body.kind {
        BodyKind::Json => {
            // `json:` sends application/json; another JSON type (JSON:API's
            // `application/vnd.api+json`) goes as written.
            let media_type = body.media_type.split(';').next().unwrap_or("").trim();
            let plain = media_type.is_empty()
                || media_type.eq_ignore_ascii_case("application/json")
                || media_type == "*/*";
            if !plain && sendable_in_a_header(media_type) {
                headers.push(("Content-Type".into(), literal(media_type)));
            }
            Some(Body::Json(match &body.example {
                Value::Null => Value::Object(Default::default()),
                example => literal_json(example),
            }))
        }
        BodyKind::Form => Some(Body::Form(match &body.example {
            Value::Object(fields) => fields
                .iter()
                .map(|(k, v)| (k.clone(), literal(&text(v))))
                .collect(),
            _ => Vec::new(),
        })),
        BodyKind::Raw(media_type) if media_type.starts_with("multipart/") => {
            comments.push(format!(
                "the document sends {media_type}: permatrix writes no multipart body; add one with `body:` and its Content-Type if the target needs it"
            ));
            None
        }
        BodyKind::Raw(media_type) => {
            if sendable_in_a_header(media_type) {
                headers.push(("Content-Type".into(), literal(media_type)));
            }
            // Only a text example is sent as written: a schema's JSON is no XML or text body.
            Some(Body::Raw(match &body.example {
                Value::String(s) => literal(s),
                _ => String::new(),
            }))
        }
    });
    Endpoint {
        name,
        method: operation.method.clone(),
        path,
        query,
        headers,
        body,
        expect: Vec::new(),
        comments,
        scopes: None,
    }
}

/// The request path: literal parts encoded, `{param}` replaced by its
/// example (encoded) or a `${var}`.
pub(super) fn path_of(
    operation: &Operation,
    vars: &mut Variables,
    examples_inline: bool,
) -> String {
    let mut out = String::new();
    let mut rest = operation.path.as_str();
    if !rest.starts_with('/') {
        out.push('/');
    }
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|c| open + c) else {
            break;
        };
        out.push_str(&literal_path(&rest[..open]));
        let name = &rest[open + 1..close];
        let parameter = operation
            .parameters
            .iter()
            .find(|p| p.location == Location::Path && p.name == name);
        match parameter {
            Some(p) => match &p.example {
                Some(example) => {
                    let encoded = utf8_percent_encode(&text(example), VALUE).to_string();
                    match examples_inline {
                        true => out.push_str(&encoded),
                        false => out.push_str(&vars.holding(p, &encoded)),
                    }
                }
                None => out.push_str(&vars.reference(p)),
            },
            None => out.push_str(&vars.reference(&Parameter {
                name: name.to_string(),
                location: Location::Path,
                required: true,
                example: None,
                kind: "string".into(),
            })),
        }
        rest = &rest[close + 1..];
    }
    out.push_str(&literal_path(rest));
    out
}

/// A literal part of a path template, safe in a request line: `%` kept
/// where it already encodes, `${` escaped.
pub(super) fn literal_path(text: &str) -> String {
    let mut out = String::new();
    let bytes = text.as_bytes();
    for (i, c) in text.char_indices() {
        let encoded_already = c == '%'
            && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
        if c == '%' && !encoded_already {
            out.push_str("%25");
        } else {
            out.push_str(&utf8_percent_encode(c.encode_utf8(&mut [0; 4]), PATH).to_string());
        }
    }
    literal(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_path_parts_are_made_safe_for_a_request_line() {
        assert_eq!(literal_path("/a b/c#d?e"), "/a%20b/c%23d%3Fe");
        assert_eq!(literal_path("/x%2Fy/100%"), "/x%2Fy/100%25");
        assert_eq!(literal_path("/cost/${x}"), "/cost/$%7Bx%7D");
        assert_eq!(literal_path("/ünï"), "/%C3%BCn%C3%AF");
    }
}
