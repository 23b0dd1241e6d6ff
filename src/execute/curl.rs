//! A cell's request as a curl command that re-sends it outside permatrix:
//! method, URL, headers and body as sent, every credential a shell variable
//! reference (`"$ADMIN_API_TOKEN"`), never its value.

use crate::http::EncodedBody;
use crate::suite::template::shell_escape_quoted;
use crate::suite::{AuthSpec, Principal, Template};

/// What the curl command needs of a prepared cell.
pub(super) struct CurlParts<'a> {
    /// The method.
    pub(super) method: &'a str,
    /// The URL as sent, credentials masked.
    pub(super) url: &'a str,
    /// The endpoint's headers as sent (the principal's are secrets: taken from its templates).
    pub(super) endpoint_headers: Vec<(String, String)>,
    /// The body as sent, credentials masked.
    pub(super) body: Option<&'a EncodedBody>,
}

/// The command, with comment lines first when a credential cannot be written
/// as a variable (a signed or fetched token) and a list of the variables it reads.
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
    let mut url = parts.url.to_string();
    for (name, value) in &parts.endpoint_headers {
        args.push(format!(
            "-H \"{}: {}\"",
            name,
            shell_escape_quoted(&mask(value))
        ));
    }
    for (name, value) in &principal.headers {
        let fallback = format!("{stem}_{}", variable_stem(name));
        args.push(format!("-H \"{name}: {}\"", value.to_shell(&fallback)));
    }
    let secret = |template: &Template, field: &str| template.to_shell(&format!("{stem}_{field}"));
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
            args.push(format!(
                "-H \"Authorization: Bearer {}\"",
                secret(token, "TOKEN")
            ));
        }
        AuthSpec::Header { name, value } => {
            args.push(format!("-H \"{name}: {}\"", secret(value, "KEY")));
        }
        AuthSpec::Cookie { name, value } => {
            args.push(format!("-b \"{name}={}\"", secret(value, "KEY")));
        }
        AuthSpec::Query { name, value } => {
            url = without_param(&url, name);
            let separator = if url.contains('?') { '&' } else { '?' };
            url = format!("{url}{separator}{name}={}", secret(value, "KEY"));
        }
        AuthSpec::Login(_)
        | AuthSpec::JwtBearerGrant(_)
        | AuthSpec::ClientCredentials(_)
        | AuthSpec::ConnectJwt(_)
        | AuthSpec::Jwt(_) => {
            if let Some(slot) = fresh_slot(principal) {
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
                notes.push(format!("# ${} — {} {how}", slot.variable, principal.name));
                match &slot.place {
                    Place::Header { name, scheme } if scheme.is_empty() => {
                        args.push(format!("-H \"{name}: ${{{}}}\"", slot.variable));
                    }
                    Place::Header { name, scheme } => {
                        args.push(format!("-H \"{name}: {scheme} ${{{}}}\"", slot.variable));
                    }
                    Place::Cookie(name) => {
                        args.push(format!("-b \"{name}=${{{}}}\"", slot.variable));
                    }
                    Place::Query(name) => {
                        url = without_param(&url, name);
                        let separator = if url.contains('?') { '&' } else { '?' };
                        url = format!("{url}{separator}{name}=${{{}}}", slot.variable);
                    }
                }
            }
        }
    }
    if let Some(body) = parts.body {
        if let Some(content_type) = body.content_type
            && !parts
                .endpoint_headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        {
            args.push(format!("-H \"Content-Type: {content_type}\""));
        }
        let text = mask(&String::from_utf8_lossy(&body.bytes));
        args.push(format!("--data-raw '{}'", text.replace('\'', "'\\''")));
    }
    let mut line = format!("curl -sS -i \"{}\"", escape_url(&url));
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

/// Where a credential that is signed or fetched at run time goes, and the
/// shell variable a curl command reads it from.
pub(crate) struct FreshSlot {
    /// `<PRINCIPAL>_JWT`, `<PRINCIPAL>_ACCESS_TOKEN` or `<PRINCIPAL>_TOKEN`.
    pub(crate) variable: String,
    /// Where it is sent.
    pub(crate) place: Place,
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
    Some(FreshSlot {
        variable: format!("{stem}_{suffix}"),
        place,
    })
}

/// A URL inside double quotes: its `$` of a variable we wrote stays live, a literal one is escaped.
fn escape_url(url: &str) -> String {
    let mut out = String::new();
    let mut rest = url;
    while let Some(at) = rest.find("${") {
        out.push_str(&shell_escape_quoted(&rest[..at]));
        let end = rest[at..].find('}').map_or(rest.len(), |e| at + e + 1);
        out.push_str(&rest[at..end]);
        rest = &rest[end..];
    }
    out.push_str(&shell_escape_quoted(rest));
    out
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
