//! Reads suite files into validated [`Suite`]s, reporting every problem found.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::diag::{Diagnostic, Diagnostics, nearest};
use super::expect::{self, ExpectEntry, Expectation, ResolveError, WILDCARD};
use super::model::*;
use super::read::{Fields, Reader};
use super::template::{Scope, Template};
use super::yaml::{self, Node, Pos};

/// What interpolation may draw on besides the suite itself.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// `--var NAME=VALUE`.
    pub cli_vars: BTreeMap<String, String>,
    /// The environment, captured once by the caller.
    pub env: BTreeMap<String, String>,
}

const SUITE_KEYS: &[&str] = &[
    "suite",
    "description",
    "target",
    "vars",
    "principals",
    "groups",
    "defaults",
    "endpoints",
];
const TARGET_KEYS: &[&str] = &[
    "base_url",
    "mock",
    "timeout",
    "concurrency",
    "retries",
    "rate_limit",
    "allow_mutations",
];
const PRINCIPAL_KEYS: &[&str] = &["description", "scopes", "vars", "auth", "headers", "canary"];
const DEFAULTS_KEYS: &[&str] = &["headers", "expect"];
const ENDPOINT_KEYS: &[&str] = &[
    "name", "request", "headers", "query", "json", "form", "body", "expect", "snapshot",
];
const SNAPSHOT_KEYS: &[&str] = &["headers", "body"];
/// Auth modes this version runs.
const AUTH_MODES: &[&str] = &["none", "basic", "bearer", "header", "login"];
/// Auth modes SPEC names that this version does not run yet.
const PLANNED_AUTH_MODES: &[&str] = &[
    "connect_jwt",
    "jwt_bearer_grant",
    "client_credentials",
    "jwt",
];

/// Expands `paths` (files, or folders whose `*.yaml` files are suites) into suite files, sorted.
pub fn suite_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Vec<Diagnostic>> {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for path in paths {
        if path.is_dir() {
            match std::fs::read_dir(path) {
                Ok(entries) => {
                    let mut found: Vec<PathBuf> = entries
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "yaml"))
                        .collect();
                    found.sort();
                    if found.is_empty() {
                        problems.push(file_problem(path, "no *.yaml suite in this folder"));
                    }
                    files.extend(found);
                }
                Err(e) => {
                    problems.push(file_problem(path, &format!("cannot read the folder: {e}")))
                }
            }
        } else if path.exists() {
            files.push(path.clone());
        } else {
            problems.push(file_problem(path, "no such file or folder"));
        }
    }
    if problems.is_empty() {
        Ok(files)
    } else {
        Err(problems)
    }
}

fn file_problem(path: &Path, message: &str) -> Diagnostic {
    Diagnostic {
        file: path.to_path_buf(),
        pos: Pos::default(),
        message: message.into(),
        help: None,
        source_line: None,
    }
}

/// Loads and validates every suite under `paths`; any problem in any file fails the whole load.
pub fn load(paths: &[PathBuf], options: &LoadOptions) -> Result<Vec<Suite>, Vec<Diagnostic>> {
    let files = suite_files(paths)?;
    let mut suites = Vec::new();
    let mut problems = Vec::new();
    for file in &files {
        match std::fs::read_to_string(file) {
            Ok(text) => match load_str(file, &text, options) {
                Ok(suite) => suites.push(suite),
                Err(found) => problems.extend(found),
            },
            Err(e) => problems.push(file_problem(file, &format!("cannot read the file: {e}"))),
        }
    }
    let mut seen: BTreeMap<&str, &Path> = BTreeMap::new();
    for suite in &suites {
        if let Some(first) = seen.insert(&suite.name, &suite.file) {
            problems.push(file_problem(
                &suite.file,
                &format!(
                    "duplicate suite name `{}` (also in {}): snapshots are named after suites",
                    suite.name,
                    first.display()
                ),
            ));
        }
    }
    if problems.is_empty() {
        Ok(suites)
    } else {
        Err(problems)
    }
}

/// Loads one suite from its text; `file` names it in errors and anchors `mock:`.
pub fn load_str(file: &Path, text: &str, options: &LoadOptions) -> Result<Suite, Vec<Diagnostic>> {
    let mut reader = Reader {
        diags: Diagnostics::new(file, text),
    };
    let root = match yaml::parse(text) {
        Ok(root) => root,
        Err((pos, message)) => {
            reader
                .diags
                .error(pos, format!("YAML syntax error: {message}"));
            return Err(reader.diags.found);
        }
    };
    let suite = read_suite(&mut reader, file, &root, options);
    match suite {
        Some(suite) if reader.diags.found.is_empty() => Ok(suite),
        _ => {
            let mut found = reader.diags.found;
            found.sort_by_key(|d| d.pos);
            Err(found)
        }
    }
}

fn read_suite(
    r: &mut Reader<'_>,
    file: &Path,
    root: &Node,
    options: &LoadOptions,
) -> Option<Suite> {
    let top = r.map(root, "the suite", Some(SUITE_KEYS))?;
    let name = match top.get("suite") {
        Some(node) => r.string(node, "suite").filter(|name| {
            let ok = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
            if !ok {
                r.diags.error(
                    node.pos,
                    format!(
                        "suite name `{name}` must match [a-z0-9_-]+ (it names the snapshot file)"
                    ),
                );
            }
            ok
        }),
        None => {
            r.diags
                .error(top.pos, "missing `suite:` (the suite's name)");
            None
        }
    };
    let description = top
        .get("description")
        .and_then(|n| r.string(n, "description"));
    let target = read_target(r, file, top.get("target"), root.pos);
    let vars = top
        .get("vars")
        .map(|n| r.template_map(n, "vars").into_iter().collect())
        .unwrap_or_default();
    let principals = match top.get("principals") {
        Some(node) => read_principals(r, node),
        None => {
            r.diags
                .error(top.pos, "missing `principals:` (who sends the requests)");
            Vec::new()
        }
    };
    let groups = top
        .get("groups")
        .map(|n| read_groups(r, n, &principals))
        .unwrap_or_default();
    let (default_headers, default_expect) = match top.get("defaults") {
        Some(node) => match r.map(node, "defaults", Some(DEFAULTS_KEYS)) {
            Some(fields) => (
                fields
                    .get("headers")
                    .map(|n| r.headers(n, "defaults.headers"))
                    .unwrap_or_default(),
                fields
                    .get("expect")
                    .map(|n| read_expect(r, n))
                    .unwrap_or_default(),
            ),
            None => Default::default(),
        },
        None => Default::default(),
    };
    let mut endpoints = match top.get("endpoints") {
        Some(node) => read_endpoints(r, node, &default_headers),
        None => {
            r.diags
                .error(top.pos, "missing `endpoints:` (what is requested)");
            Vec::new()
        }
    };
    let suite = Suite {
        name: name?,
        file: file.to_path_buf(),
        description,
        target: target?,
        vars,
        principals,
        groups,
        endpoints: Vec::new(),
    };
    check_expect_keys(r, &suite, &default_expect, &endpoints);
    resolve_expectations(
        r,
        &suite,
        &default_expect,
        &mut endpoints,
        top.key_pos("endpoints").unwrap_or(top.pos),
    );
    let suite = Suite { endpoints, ..suite };
    check_canaries(r, &suite);
    check_variables(r, &suite, options);
    Some(suite)
}

fn read_target(r: &mut Reader<'_>, file: &Path, node: Option<&Node>, root: Pos) -> Option<Target> {
    let mut target = Target {
        base_url: None,
        mock: None,
        timeout: target_defaults::TIMEOUT,
        concurrency: target_defaults::CONCURRENCY,
        retries: target_defaults::RETRIES,
        rate_limit: None,
        allow_mutations: false,
        pos: node.map_or(root, |n| n.pos),
    };
    let Some(node) = node else {
        return Some(target);
    };
    let fields = r.map(node, "target", Some(TARGET_KEYS))?;
    if let Some(n) = fields.get("base_url") {
        target.base_url = r.template(n, "base_url");
    }
    if let Some(n) = fields.get("mock") {
        let folder = file.parent().unwrap_or(Path::new("."));
        target.mock = r.string(n, "mock").map(|m| folder.join(m));
    }
    if let Some(n) = fields.get("timeout") {
        target.timeout = r.duration(n, "timeout").unwrap_or(target.timeout);
    }
    if let Some(n) = fields.get("concurrency") {
        target.concurrency = r
            .integer(n, "concurrency", 1, 1024)
            .map_or(target.concurrency, |c| c as usize);
    }
    if let Some(n) = fields.get("retries") {
        target.retries = r
            .integer(n, "retries", 0, 10)
            .map_or(target.retries, |c| c as u32);
    }
    if let Some(n) = fields.get("rate_limit") {
        target.rate_limit = read_rate(r, n);
    }
    if let Some(n) = fields.get("allow_mutations") {
        target.allow_mutations = r.boolean(n, "allow_mutations").unwrap_or(false);
    }
    Some(target)
}

/// `20/s`, `600/m` or a bare number per second.
fn read_rate(r: &mut Reader<'_>, node: &Node) -> Option<f64> {
    let text = node.scalar_text().unwrap_or_default();
    let (count, per) = text.split_once('/').unwrap_or((&text, "s"));
    let seconds = match per.trim() {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => f64::NAN,
    };
    match count.trim().parse::<f64>() {
        Ok(n) if n > 0.0 && seconds.is_finite() => Some(n / seconds),
        _ => {
            r.diags.error(
                node.pos,
                format!("rate_limit `{text}` must be a positive count per s, m or h, e.g. 20/s"),
            );
            None
        }
    }
}

fn read_principals(r: &mut Reader<'_>, node: &Node) -> Vec<Principal> {
    let Some(fields) = r.map(node, "principals", None) else {
        return Vec::new();
    };
    if fields.entries.is_empty() {
        r.diags.error(
            node.pos,
            "`principals:` is empty: a matrix needs at least one principal",
        );
    }
    let mut principals = Vec::new();
    for (name, key, value) in &fields.entries {
        if name == WILDCARD {
            r.diags.error(
                key.pos,
                "`*` cannot name a principal: it means every principal in `expect`",
            );
            continue;
        }
        if let Some(p) = read_principal(r, name, key.pos, value) {
            principals.push(p);
        }
    }
    principals
}

fn read_principal(r: &mut Reader<'_>, name: &str, pos: Pos, node: &Node) -> Option<Principal> {
    let what = format!("principal `{name}`");
    let fields = r.map(node, &what, Some(PRINCIPAL_KEYS))?;
    let auth = match fields.get("auth") {
        Some(auth) => read_auth(r, auth, name),
        None => {
            r.diags.error_with_help(
                pos,
                format!("{what} has no `auth:`"),
                "write `auth: none` for an anonymous principal",
            );
            None
        }
    };
    let scopes = match fields.get("scopes") {
        Some(n) => r
            .seq(n, "scopes")
            .unwrap_or_default()
            .iter()
            .filter_map(|s| s.scalar_text())
            .collect(),
        None => Vec::new(),
    };
    Some(Principal {
        name: name.to_string(),
        pos,
        description: fields
            .get("description")
            .and_then(|n| r.string(n, "description")),
        scopes,
        vars: fields
            .get("vars")
            .map(|n| r.template_map(n, "vars").into_iter().collect())
            .unwrap_or_default(),
        auth: auth?,
        headers: fields
            .get("headers")
            .map(|n| r.headers(n, "headers"))
            .unwrap_or_default(),
        canary: fields.get("canary").and_then(|n| {
            // Canaries arrive with the auth issue; refusing beats silently ignoring.
            r.diags.error(
                n.pos,
                "`canary:` is not supported by this version of permatrix",
            );
            r.string(n, "canary")
        }),
    })
}

fn read_auth(r: &mut Reader<'_>, node: &Node, principal: &str) -> Option<AuthSpec> {
    if node.as_str() == Some("none") {
        return Some(AuthSpec::None);
    }
    let fields = r.map(node, "auth", None)?;
    let [(mode, key, body)] = fields.entries.as_slice() else {
        r.diags.error_with_help(
            node.pos,
            format!(
                "principal `{principal}` needs exactly one auth mode, found {}",
                fields.entries.len()
            ),
            format!("modes: {}", AUTH_MODES.join(", ")),
        );
        return None;
    };
    let mode_fields =
        |r: &mut Reader<'_>, known: &[&str]| r.map(body, &format!("auth `{mode}`"), Some(known));
    match mode.as_str() {
        "none" => Some(AuthSpec::None),
        "basic" => {
            let f = mode_fields(r, &["username", "password"])?;
            Some(AuthSpec::Basic {
                username: required_template(r, &f, "username", "basic")?,
                password: required_template(r, &f, "password", "basic")?,
            })
        }
        "bearer" => {
            let f = mode_fields(r, &["token"])?;
            Some(AuthSpec::Bearer {
                token: required_template(r, &f, "token", "bearer")?,
            })
        }
        "header" => {
            let f = mode_fields(r, &["name", "value"])?;
            let name_node = required(r, &f, "name", "header")?;
            let name = r.string(name_node, "name")?;
            if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                r.diags.error(
                    name_node.pos,
                    format!("`{name}` is not a valid header name"),
                );
                return None;
            }
            Some(AuthSpec::Header {
                name,
                value: required_template(r, &f, "value", "header")?,
            })
        }
        "login" => read_login(r, body).map(AuthSpec::Login),
        planned if PLANNED_AUTH_MODES.contains(&planned) => {
            r.diags.error(
                key.pos,
                format!("auth mode `{planned}` is not supported by this version of permatrix"),
            );
            None
        }
        other => {
            let all = AUTH_MODES.iter().chain(PLANNED_AUTH_MODES).copied();
            let help = match nearest(other, all) {
                Some(near) => format!("did you mean `{near}`?"),
                None => format!("modes: {}", AUTH_MODES.join(", ")),
            };
            r.diags
                .error_with_help(key.pos, format!("unknown auth mode `{other}`"), help);
            None
        }
    }
}

fn read_login(r: &mut Reader<'_>, node: &Node) -> Option<LoginSpec> {
    let known = [
        "request", "json", "form", "body", "token", "cookie", "header", "scheme",
    ];
    let f = r.map(node, "auth `login`", Some(&known))?;
    let request_node = required(r, &f, "request", "login")?;
    let request = r.request_line(request_node, true);
    let body = r.body(&f);
    let extract = match (f.get("token"), f.get("cookie")) {
        (Some(t), None) => r.string(t, "token").and_then(|pointer| {
            let ok = pointer.is_empty() || pointer.starts_with('/');
            if !ok {
                r.diags.error(
                    t.pos,
                    format!("token `{pointer}` must be a JSON pointer such as /access_token"),
                );
            }
            ok.then_some(LoginExtract::Token(pointer))
        }),
        (None, Some(c)) => r.string(c, "cookie").map(LoginExtract::Cookie),
        _ => {
            r.diags.error(
                f.pos,
                "login needs exactly one of `token:` (a JSON pointer) or `cookie:` (a cookie name)",
            );
            None
        }
    };
    let header = f.get("header").and_then(|n| r.string(n, "header"));
    if let (Some(name), Some(node)) = (&header, f.get("header"))
        && reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err()
    {
        r.diags
            .error(node.pos, format!("`{name}` is not a valid header name"));
    }
    let scheme = f.get("scheme").and_then(|n| r.string(n, "scheme"));
    Some(LoginSpec {
        request: request?,
        body,
        extract: extract?,
        header,
        scheme,
    })
}

fn required<'n>(
    r: &mut Reader<'_>,
    fields: &Fields<'n>,
    key: &str,
    mode: &str,
) -> Option<&'n Node> {
    let node = fields.get(key);
    if node.is_none() {
        r.diags
            .error(fields.pos, format!("auth `{mode}` needs `{key}:`"));
    }
    node
}

fn required_template(
    r: &mut Reader<'_>,
    fields: &Fields<'_>,
    key: &str,
    mode: &str,
) -> Option<Template> {
    let node = required(r, fields, key, mode)?;
    r.template(node, key)
}

fn read_groups(r: &mut Reader<'_>, node: &Node, principals: &[Principal]) -> Vec<Group> {
    let Some(fields) = r.map(node, "groups", None) else {
        return Vec::new();
    };
    let mut groups = Vec::new();
    for (name, key, value) in &fields.entries {
        if principals.iter().any(|p| &p.name == name) || name == WILDCARD {
            r.diags.error(
                key.pos,
                format!("group `{name}` has the name of a principal"),
            );
            continue;
        }
        let members: Vec<String> = r
            .seq(value, &format!("group `{name}`"))
            .unwrap_or_default()
            .iter()
            .filter_map(|m| {
                let member = r.string(m, "a group member")?;
                if principals.iter().any(|p| p.name == member) {
                    return Some(member);
                }
                let help = nearest(&member, principals.iter().map(|p| p.name.as_str()))
                    .map(|n| format!("did you mean `{n}`?"))
                    .unwrap_or_else(|| "groups list principals".into());
                r.diags.error_with_help(
                    m.pos,
                    format!("group `{name}` names unknown principal `{member}`"),
                    help,
                );
                None
            })
            .collect();
        groups.push(Group {
            name: name.clone(),
            members,
        });
    }
    groups
}

fn read_expect(r: &mut Reader<'_>, node: &Node) -> Vec<ExpectEntry> {
    let Some(fields) = r.map(node, "expect", None) else {
        return Vec::new();
    };
    let mut entries = Vec::new();
    for (key, key_node, value) in &fields.entries {
        let value = Expectation::from_node(value).unwrap_or_else(|message| {
            r.diags.error(
                value.pos,
                format!("invalid expectation for `{key}`: {message}"),
            );
            // Keep the key so the cell does not also show up as missing.
            Expectation::Any
        });
        entries.push(ExpectEntry {
            key: key.clone(),
            pos: key_node.pos,
            value,
        });
    }
    entries
}

fn read_endpoints(
    r: &mut Reader<'_>,
    node: &Node,
    default_headers: &[(String, Template)],
) -> Vec<Endpoint> {
    let items = r.seq(node, "endpoints").unwrap_or_default();
    let mut endpoints: Vec<Endpoint> = Vec::new();
    for item in items {
        let Some(endpoint) = read_endpoint(r, item, default_headers) else {
            continue;
        };
        if let Some(first) = endpoints.iter().find(|e| e.name == endpoint.name) {
            r.diags.error_with_help(
                endpoint.pos,
                format!(
                    "duplicate endpoint name `{}` (first at line {})",
                    endpoint.name, first.pos.line
                ),
                "give one of them a `name:`",
            );
            continue;
        }
        endpoints.push(endpoint);
    }
    endpoints
}

fn read_endpoint(
    r: &mut Reader<'_>,
    node: &Node,
    default_headers: &[(String, Template)],
) -> Option<Endpoint> {
    let f = r.map(node, "an endpoint", Some(ENDPOINT_KEYS))?;
    let Some(request_node) = f.get("request") else {
        r.diags.error(
            node.pos,
            "endpoint has no `request:` (e.g. `request: GET /rest/api/2/myself`)",
        );
        return None;
    };
    let request = r.request_line(request_node, false);
    let name = match f.get("name") {
        Some(n) => r.string(n, "name"),
        None => request_node.as_str().map(|s| s.trim().to_string()),
    };
    let mut headers: Vec<(String, Template)> = default_headers.to_vec();
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
    let expect = f
        .get("expect")
        .map(|n| read_expect(r, n))
        .unwrap_or_default();
    let snapshot = f
        .get("snapshot")
        .map(|n| read_snapshot(r, n))
        .unwrap_or_default();
    Some(Endpoint {
        name: name?,
        pos: node.pos,
        request: request?,
        headers,
        query,
        body,
        expect,
        resolved: Vec::new(),
        snapshot,
    })
}

fn read_snapshot(r: &mut Reader<'_>, node: &Node) -> SnapshotExtras {
    let Some(f) = r.map(node, "snapshot", Some(SNAPSHOT_KEYS)) else {
        return SnapshotExtras::default();
    };
    let headers = match f.get("headers") {
        Some(n) => r
            .seq(n, "snapshot.headers")
            .unwrap_or_default()
            .iter()
            .filter_map(|h| r.string(h, "a header name"))
            .collect(),
        None => Vec::new(),
    };
    let body = f.get("body").and_then(|n| r.string(n, "snapshot.body"));
    SnapshotExtras { headers, body }
}

fn check_expect_keys(
    r: &mut Reader<'_>,
    suite: &Suite,
    defaults: &[ExpectEntry],
    endpoints: &[Endpoint],
) {
    let known: Vec<&str> = suite
        .principals
        .iter()
        .map(|p| p.name.as_str())
        .chain(suite.groups.iter().map(|g| g.name.as_str()))
        .chain([WILDCARD])
        .collect();
    for entry in defaults
        .iter()
        .chain(endpoints.iter().flat_map(|e| &e.expect))
    {
        if known.contains(&entry.key.as_str()) {
            continue;
        }
        let help = match nearest(&entry.key, known.iter().copied()) {
            Some(near) => format!("did you mean `{near}`?"),
            None => "keys of `expect` are principals, groups or \"*\"".to_string(),
        };
        r.diags.error_with_help(
            entry.pos,
            format!("`expect` names unknown principal or group `{}`", entry.key),
            help,
        );
    }
}

fn resolve_expectations(
    r: &mut Reader<'_>,
    suite: &Suite,
    defaults: &[ExpectEntry],
    endpoints: &mut [Endpoint],
    at: Pos,
) {
    let mut missing = Vec::new();
    for endpoint in endpoints.iter_mut() {
        for principal in &suite.principals {
            let groups: Vec<&str> = suite
                .groups
                .iter()
                .filter(|g| g.members.contains(&principal.name))
                .map(|g| g.name.as_str())
                .collect();
            match expect::resolve(&endpoint.expect, defaults, &principal.name, &groups) {
                Ok(expectation) => endpoint.resolved.push(expectation),
                Err(ResolveError::Missing) => {
                    missing.push(format!("`{}` × `{}`", endpoint.name, principal.name))
                }
                Err(ResolveError::Conflict { groups }) => {
                    let listed: Vec<String> =
                        groups.iter().map(|(g, v)| format!("`{g}`: {v}")).collect();
                    r.diags.error_with_help(
                        endpoint.pos,
                        format!(
                            "conflicting expectations for principal `{}` in endpoint `{}` through its groups ({})",
                            principal.name,
                            endpoint.name,
                            listed.join(", ")
                        ),
                        format!("name `{}` in this endpoint's expect", principal.name),
                    );
                }
            }
        }
    }
    if !missing.is_empty() {
        r.diags.error_with_help(
            at,
            format!("{} cell(s) have no expectation:\n    {}", missing.len(), missing.join("\n    ")),
            "name the principal, one of its groups or \"*\" in the endpoint's expect or in defaults.expect",
        );
    }
}

fn check_canaries(r: &mut Reader<'_>, suite: &Suite) {
    for principal in &suite.principals {
        let Some(canary) = &principal.canary else {
            continue;
        };
        if !suite.endpoints.iter().any(|e| &e.name == canary) {
            let help = nearest(canary, suite.endpoints.iter().map(|e| e.name.as_str()))
                .map(|n| format!("did you mean `{n}`?"))
                .unwrap_or_else(|| "a canary names an endpoint of this suite".into());
            r.diags.error_with_help(
                principal.pos,
                format!(
                    "canary `{canary}` of principal `{}` is not an endpoint",
                    principal.name
                ),
                help,
            );
        }
    }
}

fn auth_templates(auth: &AuthSpec) -> Vec<&Template> {
    match auth {
        AuthSpec::None => Vec::new(),
        AuthSpec::Basic { username, password } => vec![username, password],
        AuthSpec::Bearer { token } => vec![token],
        AuthSpec::Header { value, .. } => vec![value],
        AuthSpec::Login(login) => {
            let mut all = vec![&login.request.target];
            all.extend(login.body.iter().flat_map(Body::templates));
            all
        }
    }
}

fn endpoint_templates(endpoint: &Endpoint) -> Vec<&Template> {
    let mut all = vec![&endpoint.request.target];
    all.extend(endpoint.headers.iter().map(|(_, t)| t));
    all.extend(endpoint.query.iter().map(|(_, t)| t));
    all.extend(endpoint.body.iter().flat_map(Body::templates));
    all
}

/// Every `${NAME}` must resolve for every principal that will render it.
fn check_variables(r: &mut Reader<'_>, suite: &Suite, options: &LoadOptions) {
    // (position, variable) -> principals lacking it; an empty set means "the suite itself".
    let mut unresolved: BTreeMap<(Pos, String), BTreeSet<String>> = BTreeMap::new();
    let suite_scope = Scope {
        cli: &options.cli_vars,
        principal: None,
        suite: &suite.vars,
        env: &options.env,
        base_url: None,
    };
    let mut note = |template: &Template, scope: &Scope<'_>, principal: Option<&str>| {
        for name in template.unresolved(scope) {
            let entry = unresolved.entry((template.pos, name)).or_default();
            entry.extend(principal.map(str::to_string));
        }
    };
    if let Some(base_url) = &suite.target.base_url {
        note(base_url, &suite_scope, None);
    }
    for principal in &suite.principals {
        let scope = Scope {
            principal: Some(&principal.vars),
            ..suite_scope
        };
        let own = auth_templates(&principal.auth)
            .into_iter()
            .chain(principal.headers.iter().map(|(_, t)| t));
        for template in own.chain(suite.endpoints.iter().flat_map(endpoint_templates)) {
            note(template, &scope, Some(&principal.name));
        }
    }
    let total = suite.principals.len();
    for ((pos, name), principals) in unresolved {
        let whom = if principals.is_empty() || principals.len() == total {
            String::new()
        } else {
            format!(
                " for principal {}",
                principals
                    .iter()
                    .map(|p| format!("`{p}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        r.diags.error_with_help(
            pos,
            format!("unresolved variable `${{{name}}}`{whom}"),
            format!("set it with --var {name}=…, a principal's or the suite's `vars`, or the environment; or write `${{{name}:-default}}`"),
        );
    }
}
