//! A cell's request as a curl command that re-sends it outside permatrix:
//! method, URL, headers and body as sent, every credential a shell variable
//! reference (`"$ADMIN_API_TOKEN"`), never its value.

use crate::http::{self, EncodedBody};
use crate::suite::template::{shell_escape_quoted, shell_single_quoted};
use crate::suite::{AuthSpec, Principal, Template};

/// What the curl command needs of a prepared cell.
pub(super) struct CurlParts<'a> {
    /// The method.
    pub(super) method: &'a str,
    /// The URL as sent, credentials masked.
    pub(super) url: &'a str,
    /// The endpoint's headers: name, template and value as sent.
    pub(super) endpoint_headers: Vec<(&'a str, &'a Template, String)>,
    /// Whether the request's headers (endpoint's or principal's) set `Content-Type`.
    pub(super) has_content_type: bool,
    /// The body as sent.
    pub(super) body: Option<&'a EncodedBody>,
}

/// The command, with comment lines first when a credential cannot be written
/// as a variable (a signed or fetched token). `mask` hides the run's secrets
/// in text; credential headers and credential-named body fields are never
/// taken from what was sent.
pub(super) fn command(
    parts: &CurlParts<'_>,
    principal: &Principal,
    mask: impl Fn(&str) -> String,
) -> String {
    let stem = variable_stem(&principal.name);
    let mut notes: Vec<String> = Vec::new();
    let mut args: Vec<String> = Vec::new();
    if parts.method != "GET" {
        args.push(format!("-X {}", parts.method));
    }
    let header = |name: &str, value: &str| format!("-H \"{}: {value}\"", shell_escape_quoted(name));
    for (name, template, sent) in &parts.endpoint_headers {
        let value = if http::is_credential_header(name) {
            template.to_shell(&variable_stem(name))
        } else {
            shell_escape_quoted(&mask(sent))
        };
        args.push(header(name, &value));
    }
    for (name, value) in &principal.headers {
        let fallback = format!("{stem}_{}", variable_stem(name));
        args.push(header(name, &value.to_shell(&fallback)));
    }
    let secret = |template: &Template, field: &str| template.to_shell(&format!("{stem}_{field}"));
    // The principal's query credential, shell-ready, appended after the escaped URL.
    let mut query_credential: Option<(String, String)> = None;
    match &principal.auth {
        AuthSpec::None => {}
        AuthSpec::Basic { username, password } => {
            args.push(format!(
                "-u \"{}:{}\"",
                username.to_shell_text(),
                secret(password, "PASSWORD")
            ));
        }
        AuthSpec::Bearer { token } => {
            args.push(header(
                "Authorization",
                &format!("Bearer {}", secret(token, "TOKEN")),
            ));
        }
        AuthSpec::Header { name, value } => args.push(header(name, &secret(value, "KEY"))),
        AuthSpec::Cookie { name, value } => {
            args.push(format!(
                "-b \"{}={}\"",
                shell_escape_quoted(name),
                secret(value, "KEY")
            ));
        }
        AuthSpec::Query { name, value } => {
            query_credential = Some((name.clone(), secret(value, "KEY")));
        }
        AuthSpec::Login(_)
        | AuthSpec::JwtBearerGrant(_)
        | AuthSpec::ClientCredentials(_)
        | AuthSpec::ConnectJwt(_)
        | AuthSpec::Jwt(_) => {
            if let Some(slot) = fresh_slot(principal) {
                notes.push(format!(
                    "# ${} — {} {}",
                    slot.variable, principal.name, slot.how
                ));
                let variable = format!("${{{}}}", slot.variable);
                match &slot.place {
                    Place::Header { name, scheme } if scheme.is_empty() => {
                        args.push(header(name, &variable));
                    }
                    Place::Header { name, scheme } => {
                        args.push(header(name, &format!("{scheme} {variable}")));
                    }
                    Place::Cookie(name) => {
                        args.push(format!("-b \"{}={variable}\"", shell_escape_quoted(name)));
                    }
                    Place::Query(name) => query_credential = Some((name.clone(), variable)),
                }
            }
        }
    }
    if let Some(body) = parts.body {
        if let Some(content_type) = body.content_type
            && !parts.has_content_type
        {
            args.push(header("Content-Type", content_type));
        }
        args.push(format!(
            "--data-raw {}",
            shell_single_quoted(&body_text(body, &mask))
        ));
    }
    // The URL is escaped whole (a `$` in it stays a `$`); the credential the
    // principal adds is appended after, already a shell variable reference.
    let mut url = shell_escape_quoted(parts.url);
    if let Some((name, value)) = query_credential {
        url = shell_escape_quoted(&without_param(parts.url, &name));
        let separator = if url.contains('?') { '&' } else { '?' };
        url = format!("{url}{separator}{}={value}", shell_escape_quoted(&name));
    }
    let mut line = format!("curl -sS -i \"{url}\"");
    for arg in args {
        line.push_str(" \\\n  ");
        line.push_str(&arg);
    }
    let mut text = notes.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    text.push_str(&line);
    text
}

/// The body as sent, with every value a credential-named field holds (a
/// JSON key or form field like `password`, `api_key`) shown as `****`, and
/// each other value masked whole (so a short secret is hidden too).
fn body_text(body: &EncodedBody, mask: &impl Fn(&str) -> String) -> String {
    let text = String::from_utf8_lossy(&body.bytes);
    match body.content_type {
        Some("application/json") => match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(mut value) => {
                hide_fields(&mut value, mask);
                value.to_string()
            }
            Err(_) => mask(&text),
        },
        Some("application/x-www-form-urlencoded") => {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            for (name, value) in url::form_urlencoded::parse(text.as_bytes()) {
                let shown = if http::is_credential_param(&name) {
                    "****".to_string()
                } else {
                    mask(&value)
                };
                form.append_pair(&name, &shown);
            }
            form.finish()
        }
        _ => mask(&text),
    }
}

fn hide_fields(value: &mut serde_json::Value, mask: &impl Fn(&str) -> String) {
    match value {
        serde_json::Value::Object(fields) => {
            for (key, field) in fields.iter_mut() {
                if http::is_credential_param(key) && !field.is_object() && !field.is_array() {
                    *field = serde_json::Value::from("****");
                } else {
                    hide_fields(field, mask);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|i| hide_fields(i, mask)),
        serde_json::Value::String(text) => *text = mask(text),
        _ => {}
    }
}

/// Where a credential that is signed or fetched at run time goes, and the
/// shell variable a curl command reads it from.
pub(crate) struct FreshSlot {
    /// `<PRINCIPAL>_JWT`, `<PRINCIPAL>_ACCESS_TOKEN` or `<PRINCIPAL>_TOKEN`.
    pub(crate) variable: String,
    /// Where it is sent.
    pub(crate) place: Place,
    /// How the mode makes it, for the comment above the command.
    pub(crate) how: &'static str,
}

/// Where a credential is sent.
pub(crate) enum Place {
    /// A header, its value the scheme (if any), a space, the credential.
    Header {
        /// The header's name.
        name: String,
        /// `JWT`, `Bearer`, or empty.
        scheme: String,
    },
    /// A query parameter.
    Query(String),
    /// A cookie.
    Cookie(String),
}

/// The slot of a principal whose credential is signed or fetched while
/// running (a Connect or self-signed JWT, a token grant, a login); `None` for
/// credentials written in the suite.
pub(crate) fn fresh_slot(principal: &Principal) -> Option<FreshSlot> {
    let stem = variable_stem(&principal.name);
    let authorization = |scheme: &str| Place::Header {
        name: "Authorization".into(),
        scheme: scheme.into(),
    };
    let (suffix, place) = match &principal.auth {
        AuthSpec::ConnectJwt(spec) => match spec.placement {
            crate::suite::JwtPlacement::Header => ("JWT", authorization("JWT")),
            crate::suite::JwtPlacement::Query => ("JWT", Place::Query("jwt".into())),
        },
        AuthSpec::Jwt(spec) => (
            "JWT",
            Place::Header {
                name: spec.header.clone(),
                scheme: spec.scheme.clone(),
            },
        ),
        AuthSpec::JwtBearerGrant(_) | AuthSpec::ClientCredentials(_) => {
            ("ACCESS_TOKEN", authorization("Bearer"))
        }
        AuthSpec::Login(spec) => match &spec.extract {
            crate::suite::LoginExtract::Cookie(name) => match &spec.header {
                Some(header) => (
                    "TOKEN",
                    Place::Header {
                        name: header.clone(),
                        scheme: spec.scheme.clone().unwrap_or_default(),
                    },
                ),
                None => ("TOKEN", Place::Cookie(name.clone())),
            },
            crate::suite::LoginExtract::Token(_) => (
                "TOKEN",
                Place::Header {
                    name: spec
                        .header
                        .clone()
                        .unwrap_or_else(|| "Authorization".into()),
                    scheme: spec.scheme.clone().unwrap_or_else(|| "Bearer".into()),
                },
            ),
        },
        _ => return None,
    };
    let how = match &principal.auth {
        AuthSpec::Login(_) => {
            "logs in first: set it to the credential its login returns (`permatrix explain` shows the exchange)"
        }
        AuthSpec::JwtBearerGrant(_) | AuthSpec::ClientCredentials(_) => {
            "sends a token fetched from its token endpoint: set it to one, or run `permatrix explain … --curl` for a command with a token fetched now"
        }
        _ => {
            "signs a fresh JWT for each request (a Connect JWT's qsh binds method, path and query): `permatrix explain … --curl` prints a command with one signed now"
        }
    };
    Some(FreshSlot {
        variable: format!("{stem}_{suffix}"),
        place,
        how,
    })
}

/// `url` without its query parameter `name` (the masked key the principal added).
fn without_param(url: &str, name: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_string();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| pair.split('=').next() != Some(name))
        .collect();
    if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    }
}

/// A shell variable stem from a name: upper-case, `_` for anything else.
fn variable_stem(name: &str) -> String {
    let stem: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if stem.starts_with(|c: char| c.is_ascii_digit()) {
        format!("P_{stem}")
    } else {
        stem
    }
}
