//! The principals of a suite made by `init`: templates from the document's
//! security schemes, or those of an existing suite (`--principals`), each
//! with the schemes it can meet.

use std::path::Path;

use super::draft::{Principal, var_name};
use super::yaml_out::{Entry, Yaml};
use crate::openapi::{Location, SchemeKind, SecurityScheme};
use crate::suite::yaml::{Node, Value};

/// The principals of a draft and what they were taken with.
#[derive(Clone, Debug, Default)]
pub struct PrincipalSet {
    /// The principals, in order.
    pub principals: Vec<Principal>,
    /// For each principal, the security schemes its credential meets (none: anonymous).
    pub meets: Vec<Vec<String>>,
    /// `groups:` of the source suite.
    pub groups: Vec<(String, Vec<String>)>,
    /// `target:` of the source suite, when there is one.
    pub target: Option<Vec<Entry>>,
    /// `vars:` of the source suite.
    pub vars: Vec<Entry>,
    /// `defaults.headers` of the source suite.
    pub default_headers: Vec<Entry>,
    /// `scope_implies:` of the source suite: what its principals' scopes imply.
    pub scope_implies: Option<Entry>,
    /// Credentials the source suite wrote as they are: the suite written reads
    /// each from this variable instead (its value, a secret, is for `--observe`).
    pub literals: Vec<(String, String)>,
}

/// Why a `--principals` suite could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PrincipalsError {
    /// Unreadable.
    #[error("{}: {source}", file.display())]
    Read {
        /// The file.
        file: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not YAML, or without principals.
    #[error("{}:{line}:{column}: {message}", file.display())]
    Invalid {
        /// The file.
        file: std::path::PathBuf,
        /// Line.
        line: u32,
        /// Column.
        column: u32,
        /// What is wrong.
        message: String,
    },
}

/// One principal template per security scheme, plus `anonymous`; every
/// credential reads an environment variable `<PREFIX>_<SCHEME>…` that defaults to empty.
pub fn from_schemes(schemes: &[SecurityScheme], env_prefix: &str) -> PrincipalSet {
    let mut set = PrincipalSet::default();
    set.principals.push(Principal {
        name: "anonymous".into(),
        body: vec![Entry::new("auth", Yaml::Raw("none".into()))],
        comments: Vec::new(),
    });
    set.meets.push(Vec::new());
    for scheme in schemes {
        let mut name = principal_name(&scheme.name);
        while set.principals.iter().any(|p| p.name == name) {
            name.push('_');
        }
        let env = |suffix: &str| {
            let stem = format!(
                "{env_prefix}_{}",
                var_name(&scheme.name).to_ascii_uppercase()
            );
            let var = if suffix.is_empty() {
                stem
            } else {
                format!("{stem}_{suffix}")
            };
            Yaml::Str(format!("${{{var}:-}}"))
        };
        let (auth, comment) = match &scheme.kind {
            SchemeKind::Basic => (
                mode(
                    "basic",
                    vec![("username", env("USERNAME")), ("password", env("PASSWORD"))],
                ),
                None,
            ),
            SchemeKind::Bearer => (mode("bearer", vec![("token", env("TOKEN"))]), None),
            SchemeKind::ClientCredentials { token_url } => (
                mode(
                    "client_credentials",
                    vec![
                        ("token_url", Yaml::Str(super::draft::literal(token_url))),
                        ("client_id", env("CLIENT_ID")),
                        ("client_secret", env("CLIENT_SECRET")),
                    ],
                ),
                None,
            ),
            SchemeKind::ApiKey { location, name } => {
                let key = match location {
                    Location::Query => "query",
                    Location::Cookie => "cookie",
                    Location::Header | Location::Path => "header",
                };
                (
                    mode(
                        key,
                        vec![("name", Yaml::Str(name.clone())), ("value", env(""))],
                    ),
                    None,
                )
            }
            SchemeKind::MutualTls => (
                Yaml::Raw("none".into()),
                Some(format!(
                    "scheme `{}` is mutual TLS: client certificates are set for a whole target (target.tls.client_cert and client_key); give this principal a suite of its own",
                    scheme.name
                )),
            ),
            SchemeKind::Other(what) => (
                Yaml::Raw("none".into()),
                Some(format!(
                    "scheme `{}` ({what}) has no auth mode here: set `auth:` by hand",
                    scheme.name
                )),
            ),
        };
        // A template without a mode sends nothing: it meets nothing yet.
        let meets = match comment {
            None => vec![scheme.name.clone()],
            Some(_) => Vec::new(),
        };
        set.principals.push(Principal {
            name,
            body: vec![Entry::new("auth", auth)],
            comments: comment.into_iter().collect(),
        });
        set.meets.push(meets);
    }
    set
}

/// `{ <mode>: { field: value, … } }`: an `auth:` value on one line per mode.
pub(crate) fn mode(name: &str, fields: Vec<(&str, Yaml)>) -> Yaml {
    Yaml::Map(vec![Entry::new(
        name,
        Yaml::FlowMap(
            fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        ),
    )])
}

/// A principal name from a scheme's: lower-case, `-` for anything odd.
fn principal_name(scheme: &str) -> String {
    let name: String = scheme
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let name = name.trim_matches('-').to_string();
    if name.is_empty() || name == "anonymous" {
        format!("{name}-scheme").trim_start_matches('-').to_string()
    } else {
        name
    }
}

/// The principals, groups, target, vars and default headers of the suite in
/// `file`, as written; relative paths in them made relative to `out_dir`.
pub fn from_suite(
    file: &Path,
    schemes: &[SecurityScheme],
    out_dir: &Path,
) -> Result<PrincipalSet, PrincipalsError> {
    let text = std::fs::read_to_string(file).map_err(|source| PrincipalsError::Read {
        file: file.to_path_buf(),
        source,
    })?;
    let invalid = |pos: crate::suite::yaml::Pos, message: String| PrincipalsError::Invalid {
        file: file.to_path_buf(),
        line: pos.line,
        column: pos.column,
        message,
    };
    let root = crate::suite::yaml::parse(&text).map_err(|(pos, m)| invalid(pos, m))?;
    let Value::Map(top) = &root.value else {
        return Err(invalid(root.pos, "expected a suite (a map)".into()));
    };
    let get = |key: &str| {
        top.iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    };
    let Some(Node {
        value: Value::Map(principals),
        ..
    }) = get("principals")
    else {
        return Err(invalid(root.pos, "no `principals:` map to take".into()));
    };
    let from_dir = file.parent().unwrap_or(Path::new("."));
    let rebase = Rebase { from_dir, out_dir };
    let mut set = PrincipalSet::default();
    let source_name = get("suite").and_then(Node::scalar_text).unwrap_or_default();
    let prefix = var_name(&source_name).to_ascii_uppercase();
    for (key, value) in principals {
        let name = key.scalar_text().unwrap_or_default();
        let mut body = entries(value, &rebase);
        let mut comments = Vec::new();
        // A canary names an endpoint of the source suite, which the written one does not have.
        if let Some(at) = body.iter().position(|e| e.key == "canary") {
            let canary = body.remove(at);
            if let Yaml::Str(endpoint) = canary.value {
                comments.push(format!(
                    "its canary `{endpoint}` was left out: name an endpoint of this suite it must reach"
                ));
            }
        }
        for entry in &mut body {
            if entry.key == "auth" {
                rebase.auth(&mut entry.value);
            }
        }
        let stem = format!("{prefix}_{}", var_name(&name).to_ascii_uppercase());
        let hidden = hide_literals(&mut body, &stem, &mut set.literals);
        if !hidden.is_empty() {
            comments.push(format!(
                "{} written as it is in {} is not copied: set {}",
                hidden.join(", "),
                file.file_name().map_or_else(
                    || file.display().to_string(),
                    |n| n.to_string_lossy().into_owned()
                ),
                hidden_vars(&set.literals, hidden.len())
            ));
        }
        set.meets.push(meets(value, schemes));
        set.principals.push(Principal {
            name,
            body,
            comments,
        });
    }
    if let Some(Node {
        value: Value::Map(groups),
        ..
    }) = get("groups")
    {
        for (key, members) in groups {
            let members = match &members.value {
                Value::Seq(items) => items.iter().filter_map(Node::scalar_text).collect(),
                _ => Vec::new(),
            };
            set.groups
                .push((key.scalar_text().unwrap_or_default(), members));
        }
    }
    if let Some(target) = get("target") {
        let mut entries = entries(target, &rebase);
        for entry in &mut entries {
            match entry.key.as_str() {
                "mock" => rebase.path(&mut entry.value),
                "tls" => {
                    for (key, value) in entry.value.entries_mut() {
                        if key != "insecure" {
                            rebase.path(value);
                        }
                    }
                }
                _ => {}
            }
        }
        set.target = Some(entries);
    }
    if let Some(vars) = get("vars") {
        set.vars = entries(vars, &rebase);
    }
    if let Some(implies) = get("scope_implies") {
        set.scope_implies = Some(Entry::new("scope_implies", yaml(implies, &rebase)));
    }
    if let Some(Node {
        value: Value::Map(defaults),
        ..
    }) = get("defaults")
        && let Some((_, headers)) = defaults.iter().find(|(k, _)| k.as_str() == Some("headers"))
    {
        set.default_headers = entries(headers, &rebase);
        let mut headers = vec![Entry::new(
            "headers",
            Yaml::Map(std::mem::take(&mut set.default_headers)),
        )];
        hide_literals(
            &mut headers,
            &format!("{prefix}_DEFAULT"),
            &mut set.literals,
        );
        if let Some(Entry {
            value: Yaml::Map(headers),
            ..
        }) = headers.pop()
        {
            set.default_headers = headers;
        }
    }
    Ok(set)
}

/// The credential fields of an auth mode, and a login's body fields whose
/// names say they are credentials.
const SECRET_FIELDS: [&str; 5] = ["password", "token", "value", "secret", "client_secret"];

/// Replaces each credential of a principal's `auth:` and `headers:` that is
/// written as it is (no `${…}`) with `${<STEM>_<FIELD>:-}`, keeping the value
/// in `literals`: copied, it would print on stdout. Returns the fields hidden.
fn hide_literals(
    body: &mut [Entry],
    stem: &str,
    literals: &mut Vec<(String, String)>,
) -> Vec<String> {
    let mut hidden = Vec::new();
    let mut hide = |field: &str, value: &mut Yaml| {
        let Yaml::Str(text) = value else { return };
        if text.is_empty() || text.contains("${") {
            return;
        }
        let var = format!("{stem}_{}", var_name(field).to_ascii_uppercase());
        literals.push((var.clone(), std::mem::take(text)));
        *value = Yaml::Str(format!("${{{var}:-}}"));
        hidden.push(format!("`{field}`"));
    };
    for entry in body.iter_mut() {
        match entry.key.as_str() {
            "auth" => {
                for (_, fields) in entry.value.entries_mut() {
                    for (field, value) in fields.entries_mut() {
                        if SECRET_FIELDS.contains(&field) {
                            hide(field, value);
                        } else if matches!(field, "json" | "form") {
                            for (key, value) in value.entries_mut() {
                                if crate::http::is_credential_param(key) {
                                    hide(key, value);
                                }
                            }
                        }
                    }
                }
            }
            "headers" => {
                for (header, value) in entry.value.entries_mut() {
                    if crate::http::is_credential_header(header) {
                        hide(header, value);
                    }
                }
            }
            _ => {}
        }
    }
    hidden
}

/// The last `count` variables of `literals`, named for the reader.
fn hidden_vars(literals: &[(String, String)], count: usize) -> String {
    literals[literals.len() - count..]
        .iter()
        .map(|(var, _)| var.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The entries of a map node (nothing for anything else).
fn entries(node: &Node, rebase: &Rebase<'_>) -> Vec<Entry> {
    match &node.value {
        Value::Map(pairs) => pairs
            .iter()
            .map(|(k, v)| Entry::new(k.scalar_text().unwrap_or_default(), yaml(v, rebase)))
            .collect(),
        _ => Vec::new(),
    }
}

/// A node as written.
fn yaml(node: &Node, rebase: &Rebase<'_>) -> Yaml {
    match &node.value {
        Value::Null => Yaml::Raw("null".into()),
        Value::Str(s) => Yaml::Str(s.clone()),
        Value::Bool(_) | Value::Int(_) | Value::Float(_) => {
            Yaml::Raw(node.scalar_text().unwrap_or_default())
        }
        Value::Seq(items) => {
            let items: Vec<Yaml> = items.iter().map(|i| yaml(i, rebase)).collect();
            if items
                .iter()
                .all(|i| matches!(i, Yaml::Str(_) | Yaml::Raw(_)))
            {
                Yaml::FlowSeq(items)
            } else {
                Yaml::Seq(items)
            }
        }
        Value::Map(_) => {
            let entries = entries(node, rebase);
            let short = entries
                .iter()
                .all(|e| matches!(e.value, Yaml::Str(_) | Yaml::Raw(_)))
                && entries
                    .iter()
                    .map(|e| e.key.len() + scalar_len(&e.value) + 4)
                    .sum::<usize>()
                    < 72;
            if short && !entries.is_empty() {
                Yaml::FlowMap(entries.into_iter().map(|e| (e.key, e.value)).collect())
            } else {
                Yaml::Map(entries)
            }
        }
    }
}

fn scalar_len(value: &Yaml) -> usize {
    match value {
        Yaml::Str(s) | Yaml::Raw(s) => s.len(),
        _ => usize::MAX / 2,
    }
}

/// Rewrites file paths relative to the source suite so they hold from the written one.
struct Rebase<'a> {
    from_dir: &'a Path,
    out_dir: &'a Path,
}

impl Rebase<'_> {
    /// Paths inside an `auth:` map (a `jwt`'s `private_key_file`).
    fn auth(&self, auth: &mut Yaml) {
        for (_, fields) in auth.entries_mut() {
            for (key, value) in fields.entries_mut() {
                if key == "private_key_file" {
                    self.path(value);
                }
            }
        }
    }

    fn path(&self, value: &mut Yaml) {
        let Yaml::Str(text) = value else { return };
        if text.is_empty() || text.contains("${") || Path::new(text.as_str()).is_absolute() {
            return;
        }
        if let Some(rebased) = relative_to(&self.from_dir.join(text.as_str()), self.out_dir) {
            *text = rebased;
        }
    }
}

/// `path` relative to `dir`, both made absolute; `None` when it is the same text.
fn relative_to(path: &Path, dir: &Path) -> Option<String> {
    let absolute = |p: &Path| {
        std::path::absolute(p)
            .ok()
            .map(|p| p.components().collect::<std::path::PathBuf>())
    };
    let (path, dir) = (absolute(path)?, absolute(dir)?);
    let path_parts: Vec<_> = path.components().collect();
    let dir_parts: Vec<_> = dir.components().collect();
    let common = path_parts
        .iter()
        .zip(&dir_parts)
        .take_while(|(a, b)| a == b)
        .count();
    let mut relative = std::path::PathBuf::new();
    for _ in common..dir_parts.len() {
        relative.push("..");
    }
    for part in &path_parts[common..] {
        relative.push(part);
    }
    Some(relative.to_string_lossy().replace('\\', "/"))
}

/// Which schemes a principal's `auth:` meets, by its mode and names.
fn meets(principal: &Node, schemes: &[SecurityScheme]) -> Vec<String> {
    let Value::Map(fields) = &principal.value else {
        return Vec::new();
    };
    let Some((_, auth)) = fields.iter().find(|(k, _)| k.as_str() == Some("auth")) else {
        return Vec::new();
    };
    let (mode, mode_fields) = match &auth.value {
        Value::Str(mode) => (mode.as_str(), None),
        Value::Map(pairs) => match pairs.first() {
            Some((k, v)) => (k.as_str().unwrap_or(""), Some(v)),
            None => return Vec::new(),
        },
        _ => return Vec::new(),
    };
    let field = |name: &str| {
        let Value::Map(pairs) = &mode_fields?.value else {
            return None;
        };
        pairs
            .iter()
            .find(|(k, _)| k.as_str() == Some(name))
            .and_then(|(_, v)| v.scalar_text())
    };
    schemes
        .iter()
        .filter(|scheme| match (&scheme.kind, mode) {
            (SchemeKind::Basic, "basic") => true,
            (
                SchemeKind::Bearer | SchemeKind::ClientCredentials { .. },
                "bearer" | "jwt" | "jwt_bearer_grant" | "client_credentials" | "login"
                | "connect_jwt",
            ) => true,
            (SchemeKind::ApiKey { location, name }, _) => {
                let wanted = match location {
                    Location::Query => "query",
                    Location::Cookie => "cookie",
                    Location::Header | Location::Path => "header",
                };
                mode == wanted && field("name").is_some_and(|n| n.eq_ignore_ascii_case(name))
            }
            _ => false,
        })
        .map(|scheme| scheme.name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_names_become_principal_names() {
        assert_eq!(principal_name("api_key"), "api_key");
        assert_eq!(principal_name("OAuth2 (PKCE)"), "oauth2--pkce");
        assert_eq!(principal_name("anonymous"), "anonymous-scheme");
    }

    #[test]
    fn relative_paths_follow_the_written_suite() {
        let rebased = relative_to(Path::new("/a/suites/mocks/m.yaml"), Path::new("/a/out"));
        assert_eq!(rebased.as_deref(), Some("../suites/mocks/m.yaml"));
        let same = relative_to(Path::new("/a/suites/mocks/m.yaml"), Path::new("/a/suites"));
        assert_eq!(same.as_deref(), Some("mocks/m.yaml"));
    }
}
