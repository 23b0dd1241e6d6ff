//! A recording written as YAML: sorted, one block per route, no timestamps,
//! so that recording the same instance twice gives the same bytes.

use std::collections::BTreeMap;
use std::path::Path;

use crate::import::yaml_out::{Entry, Yaml, document};
use crate::suite::recording::{CallerCheck, GrantSecret, Issued, Place, Recording};

/// Why a recording could not be written or merged.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The file could not be written.
    #[error(transparent)]
    Write(#[from] crate::atomic_file::WriteError),
}

/// Writes `recording` with its `vars` to `path`, atomically.
pub fn write(
    path: &Path,
    recording: &Recording,
    vars: &BTreeMap<String, String>,
) -> Result<(), RecordError> {
    crate::atomic_file::write_atomically(path, text(recording, vars).as_bytes())?;
    Ok(())
}

/// The recording's YAML.
pub(crate) fn text(recording: &Recording, vars: &BTreeMap<String, String>) -> String {
    let comments = vec![
        format!(
            "Recorded by permatrix from suite `{}`: each route as each principal saw it.",
            recording.suite
        ),
        "Replay it offline: point the suite's `target.mock` here and run with --mock (or serve it with `permatrix mock`).".into(),
        "The vars are fakes for the credentials the suite reads from variables; principals are recognised by".into(),
        "salted hashes of what they send under them. Regenerate with `permatrix run SUITE --record FILE`.".into(),
    ];
    let str = |s: &str| Yaml::Str(s.to_string());
    let mut entries = vec![
        Entry::new("mock", str(&format!("{}-recording", recording.suite))),
        Entry::new(
            "recording",
            Yaml::FlowMap(vec![
                ("suite".into(), str(&recording.suite)),
                ("salt".into(), str(&recording.salt)),
            ]),
        ),
    ];
    if !vars.is_empty() {
        entries.push(Entry::new(
            "vars",
            Yaml::Map(vars.iter().map(|(k, v)| Entry::new(k, str(v))).collect()),
        ));
    }
    entries.push(Entry::new(
        "callers",
        Yaml::Map(
            recording
                .callers
                .iter()
                .map(|(name, check)| Entry::new(name, caller(check)))
                .collect(),
        ),
    ));
    let routes = recording
        .routes
        .iter()
        .map(|route| {
            let answers = route
                .answers
                .iter()
                .map(|(principal, answer)| {
                    let mut fields =
                        vec![Entry::new("status", Yaml::Raw(answer.status.to_string()))];
                    if !answer.headers.is_empty() {
                        fields.push(Entry::new(
                            "headers",
                            Yaml::FlowMap(
                                answer
                                    .headers
                                    .iter()
                                    .map(|(k, v)| (k.clone(), str(v)))
                                    .collect(),
                            ),
                        ));
                    }
                    if !answer.body.is_empty() {
                        fields.push(Entry::new("body", str(&answer.body)));
                    }
                    Entry::new(principal, Yaml::Map(fields))
                })
                .collect();
            let mut fields = vec![
                Entry::new("route", str(&route.route)),
                Entry::new("endpoint", str(&route.endpoint)),
            ];
            if let Some(hash) = &route.body_sha256 {
                fields.push(Entry::new("body_sha256", str(hash)));
            }
            fields.push(Entry::new("answers", Yaml::Map(answers)));
            Yaml::Map(fields)
        })
        .collect();
    entries.push(Entry::new("routes", Yaml::Seq(routes)));
    let mut text = document(&comments, &entries);
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// A principal's check, as `callers:` holds it.
fn caller(check: &CallerCheck) -> Yaml {
    let str = |s: &str| Yaml::Str(s.to_string());
    let flow = |pairs: Vec<(&str, Yaml)>| {
        Yaml::FlowMap(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    };
    match check {
        CallerCheck::None => Yaml::Raw("none".into()),
        CallerCheck::Static { place, sha256 } => {
            let (kind, name) = match place {
                Place::Header(name) => ("header", name),
                Place::Query(name) => ("query", name),
                Place::Cookie(name) => ("cookie", name),
            };
            flow(vec![(kind, str(name)), ("sha256", str(sha256))])
        }
        CallerCheck::Login(login) => {
            let mut pairs = vec![
                ("route", str(&login.route)),
                ("body_sha256", str(&login.body_sha256)),
            ];
            match &login.issues {
                Issued::Cookie(name) => pairs.push(("cookie", str(name))),
                Issued::Token {
                    pointer,
                    header,
                    scheme,
                } => {
                    pairs.push(("token", str(pointer)));
                    pairs.push(("header", str(header)));
                    pairs.push(("scheme", str(scheme)));
                }
            }
            flow(vec![("login", flow(pairs))])
        }
        CallerCheck::Jwt(jwt) => {
            let mut pairs = vec![("header", str(&jwt.header)), ("scheme", str(&jwt.scheme))];
            if let Some(secret) = &jwt.secret {
                pairs.push(("secret", str(secret)));
            }
            let claims: serde_json::Map<String, serde_json::Value> = jwt
                .claims
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            pairs.push(("claims", Yaml::Json(claims.into())));
            flow(vec![("jwt", flow(pairs))])
        }
        CallerCheck::ConnectJwt {
            issuer,
            secret,
            in_query,
        } => {
            let mut pairs = vec![("issuer", str(issuer))];
            if let Some(secret) = secret {
                pairs.push(("secret", str(secret)));
            }
            if *in_query {
                pairs.push(("in", str("query")));
            }
            flow(vec![("connect_jwt", flow(pairs))])
        }
        CallerCheck::Grant(grant) => {
            let mut pairs = vec![
                ("token_path", str(&grant.token_path)),
                ("client_id", str(&grant.client_id)),
            ];
            match &grant.secret {
                GrantSecret::Hashed(hash) => pairs.push(("secret_sha256", str(hash))),
                GrantSecret::Assertion(Some(secret)) => {
                    pairs.push(("assertion_secret", str(secret)))
                }
                GrantSecret::Assertion(None) => {}
            }
            if let Some(subject) = &grant.subject {
                pairs.push(("subject", str(subject)));
            }
            flow(vec![("grant", flow(pairs))])
        }
    }
}
