//! Mock definitions: users, apps, permissions, issues and routes, read from
//! YAML with the same located errors as suites.

mod graphql;
mod issues;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::diag::{Diagnostic, Diagnostics, nearest};
use super::read::{Reader, parse_request_line};
use super::yaml::{self, Node, Pos, Value};
use crate::atlassian::scope::ConnectScope;
pub use graphql::{DENIED_CODE, GraphqlDef, GraphqlField, RootType};
pub use issues::{FIRST_ID, IssueAction, IssuesDef, SecurityLevel, SeedIssue, key_number};

/// A mock instance's definition.
#[derive(Clone, Debug)]
pub struct MockDef {
    /// `mock:`, its name.
    pub name: String,
    /// The file it came from.
    pub file: PathBuf,
    /// Lifetime of the access tokens `POST /oauth2/token` issues.
    pub token_lifetime: Duration,
    /// Variables a suite gets when this mock serves its run (its credentials).
    pub vars: BTreeMap<String, String>,
    /// Users, in order.
    pub users: Vec<MockUser>,
    /// Connect apps, in order.
    pub apps: Vec<MockApp>,
    /// Global permission → groups holding it.
    pub permissions: BTreeMap<String, Vec<String>>,
    /// Routes, in order; the first match answers.
    pub routes: Vec<MockRoute>,
    /// `scope_implies:`, what holding a scope holds besides; `None`: Connect's own chain.
    pub scope_implies: Option<BTreeMap<ConnectScope, Vec<ConnectScope>>>,
    /// `issues:`, the issues `issue:` routes keep; `None`: the mock keeps none.
    pub issues: Option<IssuesDef>,
    /// `recording:`: a recorded run, replayed instead of `routes:`.
    pub replay: Option<super::recording::Recording>,
}

/// A user who can call with Basic (email or username + API token) or be impersonated.
#[derive(Clone, Debug)]
pub struct MockUser {
    /// Its key under `users:`.
    pub name: String,
    /// `username:`.
    pub username: Option<String>,
    /// `email:`.
    pub email: Option<String>,
    /// `api_token:`, the Basic password.
    pub api_token: String,
    /// `account_id:`, what the JWT-bearer grant's `sub` names.
    pub account_id: String,
    /// `groups:`.
    pub groups: Vec<String>,
}

/// An installed Connect app.
#[derive(Clone, Debug)]
pub struct MockApp {
    /// Its key under `apps:` (the JWT `iss`).
    pub key: String,
    /// `shared_secret:`, the HS256 key.
    pub shared_secret: String,
    /// `oauth_client_id:`, for the JWT-bearer grant.
    pub oauth_client_id: Option<String>,
    /// `scopes:` granted at install.
    pub scopes: Vec<ConnectScope>,
}

/// One route the mock answers.
#[derive(Clone, Debug)]
pub struct MockRoute {
    /// The method, upper-cased as written.
    pub method: ::http::Method,
    /// Path segments; `{name}` matches any one segment.
    pub segments: Vec<String>,
    /// As written, for messages.
    pub template: String,
    /// Where the route is defined.
    pub pos: Pos,
    /// The Connect scope an app needs.
    pub scope: ConnectScope,
    /// The global permission a user needs.
    pub permission: Option<String>,
    /// Whether a caller without credentials may call it.
    pub anonymous: bool,
    /// Whether an impersonation token (JWT-bearer grant) may call it.
    pub impersonation: bool,
    /// Whether a user without the permission gets 404 instead of 403 (Jira hides existence).
    pub hidden: bool,
    /// The answer when the caller may call it.
    pub status: u16,
    /// The body of that answer.
    pub body: serde_json::Value,
    /// `issue:`, what the route does with the issue store; `None`: it answers `response:`.
    pub issue: Option<IssueAction>,
    /// `ignore_security:` on an `issue: read` or `issue: search` route: security
    /// levels are ignored, so whoever may call it sees every issue (a leak, for demonstrations).
    pub ignore_security: bool,
    /// `apply_when_denied:` on an `issue: edit` or `issue: delete` route: a
    /// refused change is applied all the same and still answered 403 (a flaw,
    /// for demonstrations).
    pub apply_when_denied: bool,
    /// `ignore_when_allowed:` on an `issue: edit` route: an allowed edit is
    /// answered 204 and not applied (a flaw, for demonstrations).
    pub ignore_when_allowed: bool,
    /// `graphql:`, the GraphQL root fields the route answers (on GET and POST);
    /// `None`: it answers `response:` or the issue store.
    pub graphql: Option<GraphqlDef>,
}

impl MockDef {
    /// The route that answers `method` on `path`, if any.
    pub fn route_for(&self, method: &::http::Method, path: &str) -> Option<&MockRoute> {
        let path = segments(path);
        self.routes
            .iter()
            .find(|r| r.serves(method) && r.matches(&path))
    }

    /// Whether scopes `held` cover a route that requires `required`: through
    /// the definition's `scope_implies` when it has one, else Connect's chain.
    /// No scope covers INACCESSIBLE; every app holds NONE.
    pub fn granted(&self, held: &[ConnectScope], required: ConnectScope) -> bool {
        let Some(implies) = &self.scope_implies else {
            return ConnectScope::granted(held, required);
        };
        match required {
            ConnectScope::Inaccessible => false,
            ConnectScope::None => true,
            _ => {
                let mut seen: Vec<ConnectScope> = Vec::new();
                let mut pending: Vec<ConnectScope> = held.to_vec();
                while let Some(scope) = pending.pop() {
                    if scope == required {
                        return true;
                    }
                    if !seen.contains(&scope) {
                        seen.push(scope);
                        pending.extend(implies.get(&scope).into_iter().flatten());
                    }
                }
                false
            }
        }
    }

    /// The groups holding `permission`.
    pub fn holders(&self, permission: &str) -> &[String] {
        self.permissions
            .get(permission)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }
}

const TOP_KEYS: &[&str] = &[
    "mock",
    "recording",
    "callers",
    "description",
    "token_lifetime",
    "vars",
    "users",
    "apps",
    "permissions",
    "routes",
    "scope_implies",
    "issues",
];
const USER_KEYS: &[&str] = &["username", "email", "api_token", "account_id", "groups"];
const APP_KEYS: &[&str] = &["shared_secret", "oauth_client_id", "scopes"];
const ROUTE_KEYS: &[&str] = &[
    "route",
    "scope",
    "permission",
    "anonymous",
    "impersonation",
    "hidden",
    "response",
    "issue",
    "ignore_security",
    "apply_when_denied",
    "ignore_when_allowed",
    "graphql",
];
const RESPONSE_KEYS: &[&str] = &["status", "json"];

/// Default lifetime of issued access tokens.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(900);

/// Loads and validates a mock definition, reporting every problem with its location.
pub fn load(file: &Path) -> Result<MockDef, Vec<Diagnostic>> {
    let text = super::source::read_source(file).map_err(|message| {
        vec![Diagnostic {
            file: file.to_path_buf(),
            pos: Pos::default(),
            message: format!("mock definition: {message}"),
            help: None,
            source_line: None,
            caret: 0,
        }]
    })?;
    load_str(file, &text)
}

/// Loads a mock definition from its text.
pub fn load_str(file: &Path, text: &str) -> Result<MockDef, Vec<Diagnostic>> {
    let mut r = Reader {
        diags: Diagnostics::new(file, text),
    };
    let root = match yaml::parse(text) {
        Ok(root) => root,
        Err((pos, message)) => {
            r.diags
                .error_without_source(pos, format!("YAML syntax error: {message}"));
            return Err(r.diags.found);
        }
    };
    // A file that is no mock definition at all (a key file, `/proc/self/environ`
    // named by mistake or malice) gets one error and no line of it is shown.
    let is_mock = matches!(&root.value, Value::Map(entries)
        if entries.iter().any(|(k, _)| k.scalar_text().as_deref() == Some("mock")));
    if !is_mock {
        r.diags.error_without_source(
            Pos::default(),
            "not a mock definition: a map with `mock:` (its name) is expected; nothing of the file is shown",
        );
        return Err(r.diags.found);
    }
    let def = read(&mut r, file, &root);
    match def {
        Some(def) if r.diags.found.is_empty() => Ok(def),
        _ => {
            let mut found = r.diags.found;
            found.sort_by_key(|d| d.pos);
            Err(found)
        }
    }
}

fn read(r: &mut Reader<'_>, file: &Path, root: &Node) -> Option<MockDef> {
    let top = r.map(root, "the mock definition", Some(TOP_KEYS))?;
    let name = match top.get("mock") {
        Some(n) => r.string(n, "mock"),
        None => {
            r.diags.error(top.pos, "missing `mock:` (the mock's name)");
            None
        }
    };
    let token_lifetime = top
        .get("token_lifetime")
        .and_then(|n| r.duration(n, "token_lifetime"))
        .unwrap_or(TOKEN_LIFETIME);
    let vars = match top.get("vars") {
        Some(n) => r
            .map(n, "vars", None)
            .map(|f| {
                f.entries
                    .iter()
                    .filter_map(|(k, _, v)| Some((k.clone(), r.scalar(v, k)?)))
                    .collect()
            })
            .unwrap_or_default(),
        None => BTreeMap::new(),
    };
    if top.get("recording").is_some() {
        let replay = super::recording::read(r, &top);
        return Some(MockDef {
            name: name?,
            file: file.to_path_buf(),
            token_lifetime,
            vars,
            users: Vec::new(),
            apps: Vec::new(),
            permissions: BTreeMap::new(),
            routes: Vec::new(),
            scope_implies: None,
            issues: None,
            replay: Some(replay?),
        });
    }
    if let Some(pos) = top.key_pos("callers") {
        r.diags.error(
            pos,
            "`callers:` belongs to a recording (a definition with `recording:`, written by `run --record`)",
        );
    }
    let users = top
        .get("users")
        .map(|n| read_users(r, n))
        .unwrap_or_default();
    let apps = top.get("apps").map(|n| read_apps(r, n)).unwrap_or_default();
    let issues = top
        .get("issues")
        .and_then(|n| issues::read_issues(r, n, &users));
    let permissions = match top.get("permissions") {
        Some(n) => r
            .map(n, "permissions", None)
            .map(|f| {
                f.entries
                    .iter()
                    .map(|(k, _, v)| (k.clone(), strings(r, v, "groups")))
                    .collect()
            })
            .unwrap_or_default(),
        None => BTreeMap::new(),
    };
    let routes = match top.get("routes") {
        Some(n) => r
            .seq(n, "routes")
            .unwrap_or_default()
            .iter()
            .filter_map(|item| read_route(r, item))
            .collect(),
        None => {
            r.diags
                .error(top.pos, "missing `routes:` (what the mock answers)");
            Vec::new()
        }
    };
    let scope_implies = top.get("scope_implies").map(|node| {
        let implies = super::scope_rules::read_implies(r, node, None);
        let mut parsed = BTreeMap::new();
        for (scope, implied) in &implies {
            let mut connect = |name: &str| {
                let found = ConnectScope::parse(name);
                if found.is_none() {
                    unknown_scope(r, node.pos, name);
                }
                found
            };
            if let Some(scope) = connect(scope) {
                let implied: Vec<ConnectScope> =
                    implied.iter().filter_map(|s| connect(s)).collect();
                parsed.insert(scope, implied);
            }
        }
        parsed
    });
    let name = name.filter(|n| {
        let problem = super::read::name_problem(n);
        if let Some(problem) = &problem {
            r.diags.error(
                top.get("mock").map_or(top.pos, |n| n.pos),
                format!("mock name {problem}"),
            );
        }
        problem.is_none()
    });
    let def = MockDef {
        name: name?,
        file: file.to_path_buf(),
        token_lifetime,
        vars,
        users,
        apps,
        permissions,
        routes,
        scope_implies,
        issues,
        replay: None,
    };
    check_references(r, &def, &top);
    Some(def)
}

impl Reader<'_> {
    /// A scalar as text (numbers and booleans as written).
    fn scalar(&mut self, node: &Node, what: &str) -> Option<String> {
        let text = node.scalar_text();
        if text.is_none() {
            self.diags.error(
                node.pos,
                format!("{what} must be a plain value, found {}", node.value.kind()),
            );
        }
        text
    }
}

fn strings(r: &mut Reader<'_>, node: &Node, what: &str) -> Vec<String> {
    r.seq(node, what)
        .unwrap_or_default()
        .iter()
        .filter_map(|n| r.scalar(n, what))
        .collect()
}

fn required(
    r: &mut Reader<'_>,
    fields: &super::read::Fields<'_>,
    key: &str,
    what: &str,
) -> Option<String> {
    match fields.get(key) {
        // An empty credential would let empty credentials in.
        Some(n) => r.scalar(n, key).filter(|value| {
            if value.trim().is_empty() {
                r.diags
                    .error(n.pos, format!("{what}: `{key}` must not be empty"));
            }
            !value.trim().is_empty()
        }),
        None => {
            r.diags.error(fields.pos, format!("{what} needs `{key}:`"));
            None
        }
    }
}

fn read_users(r: &mut Reader<'_>, node: &Node) -> Vec<MockUser> {
    let Some(fields) = r.map(node, "users", None) else {
        return Vec::new();
    };
    let mut users = Vec::new();
    for (name, key, value) in &fields.entries {
        let what = format!("user `{name}`");
        let Some(f) = r.map(value, &what, Some(USER_KEYS)) else {
            continue;
        };
        let username = f
            .get("username")
            .and_then(|n| r.scalar(n, "username"))
            .filter(|s| !s.is_empty());
        let email = f
            .get("email")
            .and_then(|n| r.scalar(n, "email"))
            .filter(|s| !s.is_empty());
        if username.is_none() && email.is_none() {
            r.diags.error(
                key.pos,
                format!("{what} needs `username:` or `email:` to log in with"),
            );
        }
        let api_token = required(r, &f, "api_token", &what);
        let account_id = required(r, &f, "account_id", &what);
        let groups = f
            .get("groups")
            .map(|n| strings(r, n, "groups"))
            .unwrap_or_default();
        if let (Some(api_token), Some(account_id)) = (api_token, account_id) {
            users.push(MockUser {
                name: name.clone(),
                username,
                email,
                api_token,
                account_id,
                groups,
            });
        }
    }
    users
}

fn read_apps(r: &mut Reader<'_>, node: &Node) -> Vec<MockApp> {
    let Some(fields) = r.map(node, "apps", None) else {
        return Vec::new();
    };
    let mut apps = Vec::new();
    for (key_name, key, value) in &fields.entries {
        let what = format!("app `{key_name}`");
        if let Some(problem) = super::read::name_problem(key_name) {
            r.diags.error(key.pos, format!("app key {problem}"));
            continue;
        }
        let Some(f) = r.map(value, &what, Some(APP_KEYS)) else {
            continue;
        };
        let shared_secret = required(r, &f, "shared_secret", &what);
        let oauth_client_id = f
            .get("oauth_client_id")
            .and_then(|n| r.scalar(n, "oauth_client_id"));
        let scopes = match f.get("scopes") {
            Some(n) => r
                .seq(n, "scopes")
                .unwrap_or_default()
                .iter()
                .filter_map(|s| scope(r, s))
                .collect(),
            None => Vec::new(),
        };
        if let Some(shared_secret) = shared_secret {
            apps.push(MockApp {
                key: key_name.clone(),
                shared_secret,
                oauth_client_id,
                scopes,
            });
        }
    }
    apps
}

fn scope(r: &mut Reader<'_>, node: &Node) -> Option<ConnectScope> {
    let text = r.scalar(node, "a scope")?;
    let parsed = ConnectScope::parse(&text);
    if parsed.is_none() {
        unknown_scope(r, node.pos, &text);
    }
    parsed
}

fn unknown_scope(r: &mut Reader<'_>, pos: Pos, text: &str) {
    let help = nearest(
        &text.to_ascii_uppercase(),
        ConnectScope::NAMES.iter().copied(),
    )
    .map(|n| format!("did you mean `{n}`?"))
    .unwrap_or_else(|| format!("scopes: {}", ConnectScope::NAMES.join(", ")));
    r.diags
        .error_with_help(pos, format!("unknown Connect scope `{text}`"), help);
}

fn read_route(r: &mut Reader<'_>, node: &Node) -> Option<MockRoute> {
    let f = r.map(node, "a route", Some(ROUTE_KEYS))?;
    let Some(route_node) = f.get("route") else {
        r.diags.error(
            node.pos,
            "a route needs `route:` (e.g. `route: GET /rest/api/2/issue/{issueIdOrKey}`)",
        );
        return None;
    };
    let text = r.string(route_node, "route")?;
    let (method, template) = match parse_request_line(&text, false) {
        Ok(parsed) => parsed,
        Err(message) => {
            r.diags.error(route_node.pos, message.to_string());
            return None;
        }
    };
    let segments = segments(template.split('?').next().unwrap_or_default());
    let scope = f
        .get("scope")
        .and_then(|n| scope(r, n))
        .unwrap_or(ConnectScope::None);
    let flag = |r: &mut Reader<'_>, key: &str, default: bool| {
        f.get(key)
            .and_then(|n| r.boolean(n, key))
            .unwrap_or(default)
    };
    let (anonymous, impersonation, hidden) = (
        flag(r, "anonymous", false),
        flag(r, "impersonation", true),
        flag(r, "hidden", false),
    );
    let permission = f.get("permission").and_then(|n| r.scalar(n, "permission"));
    let flags = issues::IssueFlags {
        ignore_security: flag(r, "ignore_security", false),
        apply_when_denied: flag(r, "apply_when_denied", false),
        ignore_when_allowed: flag(r, "ignore_when_allowed", false),
    };
    // On a `graphql:` route, `issue:` is one error (from graphql's check), not three.
    let is_graphql = f.get("graphql").is_some();
    let issue = match is_graphql {
        true => None,
        false => f.get("issue").and_then(|n| issues::read_action(r, n)),
    };
    if !is_graphql {
        issues::check_route(r, &f, issue, flags, &method, &segments);
    }
    graphql::check_route(r, &f, &method);
    let graphql = match f.get("graphql") {
        Some(n) => Some(graphql::read_graphql(r, n)?),
        None => None,
    };
    let anonymous = graphql.as_ref().map_or(anonymous, |g| g.anonymous);
    let default_status = match method.as_str() {
        "POST" => 201,
        "DELETE" => 204,
        _ => 200,
    };
    let (status, body) = match f.get("response") {
        Some(n) => read_response(r, n, default_status)?,
        None => (
            default_status,
            serde_json::json!({ "route": format!("{method} {template}") }),
        ),
    };
    Some(MockRoute {
        method,
        segments,
        template,
        pos: node.pos,
        scope,
        permission,
        anonymous,
        impersonation,
        hidden,
        status,
        body,
        issue,
        ignore_security: flags.ignore_security,
        apply_when_denied: flags.apply_when_denied,
        ignore_when_allowed: flags.ignore_when_allowed,
        graphql,
    })
}

fn read_response(
    r: &mut Reader<'_>,
    node: &Node,
    default_status: u16,
) -> Option<(u16, serde_json::Value)> {
    let f = r.map(node, "response", Some(RESPONSE_KEYS))?;
    let status = match f.get("status") {
        Some(n) => r.integer(n, "status", 200, 599).map(|s| s as u16)?,
        None => default_status,
    };
    let body = f
        .get("json")
        .map(to_json)
        .unwrap_or(serde_json::Value::Null);
    Some((status, body))
}

/// A YAML node as JSON (no interpolation in mocks).
fn to_json(node: &Node) -> serde_json::Value {
    node.to_json()
}

impl MockRoute {
    /// Whether the route answers `method`: its own, and GET too on a `graphql:`
    /// route (GraphQL over HTTP reads queries from GET's parameters).
    pub fn serves(&self, method: &::http::Method) -> bool {
        self.method == *method || (self.graphql.is_some() && method == ::http::Method::GET)
    }

    /// Whether the route's template matches these path segments.
    pub fn matches(&self, path: &[String]) -> bool {
        self.segments.len() == path.len()
            && self
                .segments
                .iter()
                .zip(path)
                .all(|(t, p)| (t.starts_with('{') && t.ends_with('}')) || t == p)
    }
}

/// A path split into segments, without empty ones (so a trailing slash does not matter).
pub fn segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn check_references(r: &mut Reader<'_>, def: &MockDef, top: &super::read::Fields<'_>) {
    let mut seen = BTreeMap::new();
    for user in &def.users {
        for login in user
            .username
            .iter()
            .chain(&user.email)
            .chain([&user.account_id])
        {
            if let Some(other) = seen.insert(login.clone(), user.name.clone())
                && other != user.name
            {
                let pos = top.key_pos("users").unwrap_or(top.pos);
                r.diags.error(
                    pos,
                    format!("users `{other}` and `{}` share `{login}`", user.name),
                );
            }
        }
    }
    let mut clients = BTreeMap::new();
    for app in &def.apps {
        if let Some(id) = &app.oauth_client_id
            && let Some(other) = clients.insert(id.clone(), app.key.clone())
        {
            let pos = top.key_pos("apps").unwrap_or(top.pos);
            r.diags.error(
                pos,
                format!(
                    "apps `{other}` and `{}` share oauth_client_id `{id}`",
                    app.key
                ),
            );
        }
    }
    for route in &def.routes {
        if let Some(graphql) = &route.graphql {
            graphql::check_permissions(r, graphql, &def.permissions);
        }
        if route.issue.is_some() && def.issues.is_none() {
            r.diags.error_with_help(
                route.pos,
                format!(
                    "route `{} {}` uses the issue store, but the mock has no `issues:`",
                    route.method, route.template
                ),
                "declare `issues:` with at least `project:`",
            );
        }
        if let Some(permission) = &route.permission
            && !def.permissions.contains_key(permission)
        {
            let pos = route.pos;
            let help = nearest(permission, def.permissions.keys().map(String::as_str))
                .map(|n| format!("did you mean `{n}`?"))
                .unwrap_or_else(|| {
                    "declare it under `permissions:` with the groups that hold it".into()
                });
            r.diags.error_with_help(
                pos,
                format!(
                    "route `{} {}` needs permission `{permission}`, which no group is granted",
                    route.method, route.template
                ),
                help,
            );
        }
    }
}
