//! Each distinct credential of a recording as a principal template: named by
//! its kind (`bearer-1`, `basic-1`, `api-key-1`, `cookie-1`), with the auth
//! mode that sends it, every value read from an environment variable
//! `<SUITE>_<PRINCIPAL>_<FIELD>` that defaults to empty.

use super::credentials::{Identity, Part, is_per_request_scheme};
use crate::import::draft::{Principal, var_name};
use crate::import::principals::mode;
use crate::import::yaml_out::{Entry, Yaml};

/// A credential seen, and where.
pub(super) struct Seen {
    /// The credential (empty: anonymous).
    pub(super) identity: Identity,
    /// How many kept requests carried it.
    pub(super) requests: usize,
    /// The endpoint of the first of them, and its entry number.
    pub(super) first: (String, usize),
}

/// The principal names for `seen`, in order: `anonymous`, else `<kind>-<n>`.
pub(super) fn names(seen: &[Seen]) -> Vec<String> {
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    seen.iter()
        .map(|s| {
            let kind = kind(&s.identity);
            if kind == "anonymous" {
                return kind;
            }
            let n = counts.entry(kind.clone()).or_default();
            *n += 1;
            format!("{kind}-{n}")
        })
        .collect()
}

fn kind(identity: &Identity) -> String {
    match identity.first() {
        None => "anonymous".into(),
        Some(Part::Bearer(_) | Part::BearerJwt { .. }) => "bearer".into(),
        Some(Part::Basic { .. }) => "basic".into(),
        Some(Part::Authorization { scheme, .. }) => {
            let slug: String = scheme
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_lowercase()
                    } else {
                        '-'
                    }
                })
                .take(24)
                .collect();
            let slug = slug.trim_matches('-').to_string();
            if slug.is_empty() || slug == "anonymous" {
                "authorization".into()
            } else {
                slug
            }
        }
        Some(Part::Header { .. } | Part::Query { .. }) => "api-key".into(),
        Some(Part::Cookies(_)) => "cookie".into(),
    }
}

/// The principal for `seen`, named `name`, its values behind `<prefix>_<NAME>_…`;
/// `vars` are the ids it used instead of the suite's.
pub(super) fn principal(
    seen: &Seen,
    name: &str,
    prefix: &str,
    vars: Vec<(String, String)>,
) -> Principal {
    let env = |field: &str| {
        let var = var_name(&format!("{prefix}_{name}_{field}")).to_ascii_uppercase();
        format!("${{{var}:-}}")
    };
    let mut comments = vec![match seen.identity.first() {
        None => format!(
            "No credential: {} recorded request(s), the first `{}` (entry {}).",
            seen.requests, seen.first.0, seen.first.1
        ),
        Some(part) => format!(
            "{} seen on {} recorded request(s), the first `{}` (entry {}); its value is not written: set the environment variable(s) below.",
            describe(part),
            seen.requests,
            seen.first.0,
            seen.first.1
        ),
    }];
    let mut auth = Yaml::Raw("none".into());
    let mut headers: Vec<(String, Yaml)> = Vec::new();
    for (i, part) in seen.identity.iter().enumerate() {
        let main = i == 0;
        match part {
            Part::Bearer(_) | Part::BearerJwt { .. } => {
                auth = mode("bearer", vec![("token", Yaml::Str(env("TOKEN")))])
            }
            Part::Basic { .. } => {
                auth = mode(
                    "basic",
                    vec![
                        ("username", Yaml::Str(env("USERNAME"))),
                        ("password", Yaml::Str(env("PASSWORD"))),
                    ],
                );
            }
            Part::Authorization { scheme, .. } => {
                if is_per_request_scheme(scheme) {
                    comments.push(format!(
                        "The `{}` scheme signs each request: a recorded value is refused when replayed; give this principal an auth mode that makes one (connect_jwt for an Atlassian Connect JWT).",
                        printable(scheme)
                    ));
                }
                auth = mode(
                    "header",
                    vec![
                        ("name", Yaml::Str("Authorization".into())),
                        ("value", Yaml::Str(env("AUTHORIZATION"))),
                    ],
                );
            }
            Part::Header { name: header, .. } if main => {
                auth = mode(
                    "header",
                    vec![
                        ("name", Yaml::Str(header.clone())),
                        ("value", Yaml::Str(env(header))),
                    ],
                );
            }
            Part::Header { name: header, .. } => {
                headers.push((header.clone(), Yaml::Str(env(header))))
            }
            Part::Query { name: param, .. } => {
                auth = mode(
                    "query",
                    vec![
                        ("name", Yaml::Str(param.clone())),
                        ("value", Yaml::Str(env(param))),
                    ],
                );
            }
            Part::Cookies(jar) if main && jar.len() == 1 && is_token(&jar[0].0) => {
                auth = mode(
                    "cookie",
                    vec![
                        ("name", Yaml::Str(jar[0].0.clone())),
                        ("value", Yaml::Str(env(&jar[0].0))),
                    ],
                );
            }
            Part::Cookies(jar) => {
                let header = jar
                    .iter()
                    .map(|(cookie, _)| format!("{cookie}={}", env(cookie)))
                    .collect::<Vec<_>>()
                    .join("; ");
                headers.push(("Cookie".into(), Yaml::Str(header)));
            }
        }
    }
    let mut body = Vec::new();
    if !vars.is_empty() {
        body.push(Entry::new(
            "vars",
            Yaml::FlowMap(vars.into_iter().map(|(k, v)| (k, Yaml::Str(v))).collect()),
        ));
    }
    if !headers.is_empty() {
        body.push(Entry::new("headers", Yaml::FlowMap(headers)));
    }
    body.push(Entry::new("auth", auth));
    Principal {
        name: name.to_string(),
        body,
        comments,
    }
}

/// What a credential is, without its value.
fn describe(part: &Part) -> String {
    match part {
        Part::Bearer(token) if super::secrets::looks_like_jwt(token) => {
            "A Bearer token (a JWT)".into()
        }
        Part::Bearer(_) => "A Bearer token".into(),
        Part::BearerJwt { .. } => {
            "Bearer JWTs of one subject (tokens refreshed during the recording count as one)".into()
        }
        Part::Basic { .. } => "Basic credentials".into(),
        Part::Authorization { scheme, .. } => {
            format!("An `Authorization: {} …` header", printable(scheme))
        }
        Part::Header { name, .. } => format!("An API key in header `{}`", printable(name)),
        Part::Query { name, .. } => format!("An API key in query parameter `{}`", printable(name)),
        Part::Cookies(jar) => format!(
            "Cookie(s) {}",
            jar.iter()
                .map(|(n, _)| format!("`{}`", printable(n)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(60).collect()
}

fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}
