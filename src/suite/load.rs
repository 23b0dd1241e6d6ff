//! Reads suite files into validated [`Suite`]s, reporting every problem found.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::auth_spec::read_auth;
use super::check::{
    check_base_url, check_canaries, check_expect_keys, check_variables, resolve_body_expectations,
    resolve_expectations,
};
use super::definition::Suite;
use super::diag::{Diagnostic, Diagnostics, nearest};
use super::endpoint::{EndpointDefaults, read_endpoints, read_expect};
use super::expect::{Expectation, WILDCARD};
use super::model::*;
use super::options::LoadOptions;
use super::read::{Reader, name_problem};
use super::scope_rules::{read_held, read_required, read_rules};
use super::source::read_source;
use super::step_refs::check_steps;
use super::steps::{Phase, read_steps};
use super::template::{Scope, Template};
use super::yaml::{self, Node, Pos};

const SUITE_KEYS: &[&str] = &[
    "suite",
    "description",
    "target",
    "vars",
    "principals",
    "groups",
    "defaults",
    "endpoints",
    "scope_implies",
    "scopes_known",
    "setup",
    "teardown",
    "probes",
    "expect_probes",
    "lints",
    "ranks",
    "openapi",
    "fail_on",
];
const TARGET_KEYS: &[&str] = &[
    "base_url",
    "mock",
    "timeout",
    "concurrency",
    "retries",
    "rate_limit",
    "allow_mutations",
    "tls",
    "decide",
    "graphql",
];
const PRINCIPAL_KEYS: &[&str] = &[
    "description",
    "scopes",
    "vars",
    "auth",
    "headers",
    "canary",
    "probes",
    "expect_probes",
];
const DEFAULTS_KEYS: &[&str] = &["headers", "expect", "scopes"];

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
    // The same file named twice (`suites suites/demo.yaml`) is one suite, not a duplicate.
    let mut seen = std::collections::HashSet::new();
    files.retain(|f| seen.insert(std::fs::canonicalize(f).unwrap_or_else(|_| f.clone())));
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
        caret: 0,
    }
}

/// Loads and validates every suite under `paths`; any problem in any file fails the whole load.
pub fn load(paths: &[PathBuf], options: &LoadOptions) -> Result<Vec<Suite>, Vec<Diagnostic>> {
    let files = suite_files(paths)?;
    let mut suites = Vec::new();
    let mut problems = Vec::new();
    for file in &files {
        match read_source(file) {
            Ok(text) => match load_str(file, &text, options) {
                Ok(suite) => suites.push(suite),
                Err(found) => problems.extend(found),
            },
            Err(message) => problems.push(file_problem(file, &message.to_string())),
        }
    }
    let mut seen: BTreeMap<&str, &Path> = BTreeMap::new();
    for suite in &suites {
        if let Some(first) = seen.insert(&suite.name, &suite.file) {
            problems.push(Diagnostic {
                pos: suite.name_pos,
                ..file_problem(
                    &suite.file,
                    &format!(
                        "duplicate suite name `{}` (also in {}): snapshots are named after suites",
                        suite.name,
                        first.display()
                    ),
                )
            });
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
                .error_without_source(pos, format!("YAML syntax error: {message}"));
            return Err(reader.diags.found);
        }
    };
    let suite = read_suite(&mut reader, file, &root, options);
    match suite {
        Some(suite) if reader.diags.found.is_empty() => Ok(suite),
        _ => {
            let mut found = reader.diags.found;
            found.sort_by(|a, b| (&a.file, a.pos).cmp(&(&b.file, b.pos)));
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
    // Text that is no map is no suite: one error, and no line of it shown.
    if !matches!(&root.value, yaml::Value::Map(_) | yaml::Value::Null) {
        r.diags.error_without_source(
            root.pos,
            format!(
                "not a suite: a map with `suite:`, `principals:` and `endpoints:` is expected, found {}",
                root.value.kind()
            ),
        );
        return None;
    }
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
    let (target, tls_node) = read_target(r, file, top.get("target"), root.pos);
    let vars: BTreeMap<String, Template> = top
        .get("vars")
        .map(|n| r.template_map(n, "vars").into_iter().collect())
        .unwrap_or_default();
    let mock = target
        .as_ref()
        .and_then(|target| serving_mock(r, target, &vars, options));
    // Fields used while loading (file paths, header names, choices) are
    // interpolated now, in the same layers as the rest minus `${BASE_URL}`.
    let scope = Scope {
        cli: &options.cli_vars,
        principal: None,
        suite: &vars,
        mock: mock.as_deref().map(|m| &m.vars),
        env: &options.env,
        base_url: None,
        captured: None,
        own: None,
    };
    let tls = tls_node.map(|node| read_tls(r, file, node, &scope));
    let scope_rules = read_rules(r, top.get("scopes_known"), top.get("scope_implies"));
    let (principals, dropped) = match top.get("principals") {
        Some(node) => read_principals(r, file, node, &scope, &scope_rules),
        None => {
            r.diags
                .error(top.pos, "missing `principals:` (who sends the requests)");
            Default::default()
        }
    };
    let groups = top
        .get("groups")
        .map(|n| read_groups(r, n, &principals, &dropped))
        .unwrap_or_default();
    let (default_headers, default_expect, default_scopes) = match top.get("defaults") {
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
                fields
                    .get("scopes")
                    .map(|n| read_required(r, &scope_rules, n)),
            ),
            None => Default::default(),
        },
        None => Default::default(),
    };
    let defaults = EndpointDefaults {
        headers: &default_headers,
        scopes: default_scopes.as_ref(),
        rules: &scope_rules,
    };
    let mut endpoints = match top.get("endpoints") {
        Some(node) => read_endpoints(r, node, &defaults),
        None => {
            r.diags
                .error(top.pos, "missing `endpoints:` (what is requested)");
            Vec::new()
        }
    };
    let setup = top
        .get("setup")
        .map(|n| read_steps(r, n, Phase::Setup))
        .unwrap_or_default();
    let teardown = top
        .get("teardown")
        .map(|n| read_steps(r, n, Phase::Teardown))
        .unwrap_or_default();
    let mut target = target?;
    if let Some(tls) = tls {
        target.tls = tls;
    }
    let suite = Suite {
        name: name?,
        name_pos: top.get("suite").map_or(root.pos, |n| n.pos),
        file: file.to_path_buf(),
        description,
        target,
        vars,
        principals,
        groups,
        endpoints: Vec::new(),
        mock,
        scope_rules,
        setup,
        teardown,
        lint_settings: Default::default(),
    };
    check_expect_keys(r, &suite, &default_expect, &endpoints, &dropped);
    resolve_expectations(
        r,
        &suite,
        &default_expect,
        &mut endpoints,
        top.key_pos("endpoints").unwrap_or(top.pos),
    );
    resolve_body_expectations(r, &suite, &mut endpoints);
    {
        let principals: Vec<&str> = suite.principals.iter().map(|p| p.name.as_str()).collect();
        let keys: Vec<&str> = principals
            .iter()
            .copied()
            .chain(suite.groups.iter().map(|g| g.name.as_str()))
            .chain([super::expect::WILDCARD])
            .collect();
        let groups_of = |p: &str| -> Vec<String> {
            suite.groups_of(p).into_iter().map(str::to_string).collect()
        };
        for endpoint in endpoints.iter_mut() {
            super::items::check(r, &principals, &groups_of, &keys, endpoint);
            super::verify::check(r, &principals, &groups_of, &keys, endpoint);
            super::verify::check_restore_captures(r, &suite.setup, endpoint);
        }
    }
    check_steps(
        r,
        &suite.principals,
        &suite.vars,
        &suite.setup,
        &suite.teardown,
        &endpoints,
    );
    let suite = Suite { endpoints, ..suite };
    let lint_settings = read_lint_settings(r, &top, &suite);
    let suite = Suite {
        lint_settings,
        ..suite
    };
    check_canaries(r, &suite);
    check_variables(r, &suite, options);
    check_base_url(r, &suite, options);
    let suite_probes = top
        .get("probes")
        .and_then(|n| super::probes::read_choice(r, n));
    let expect_probes = top
        .get("expect_probes")
        .and_then(|n| expectation(r, n, "expect_probes"));
    Some(with_probes(
        suite,
        suite_probes.as_ref(),
        expect_probes.as_ref(),
        options,
    ))
}

/// `lints:`, `ranks:`, `openapi:` and `fail_on:`.
fn read_lint_settings(
    r: &mut Reader<'_>,
    top: &super::read::Fields<'_>,
    suite: &Suite,
) -> super::lints::LintSettings {
    let names: Vec<&str> = suite.principals.iter().map(|p| p.name.as_str()).collect();
    super::lints::LintSettings {
        choice: top
            .get("lints")
            .map(|n| super::lints::read_choice(r, n))
            .unwrap_or_default(),
        ranks: top
            .get("ranks")
            .and_then(|n| super::lints::read_ranks(r, n, &names)),
        openapi: top
            .get("openapi")
            .and_then(|n| super::lints::read_openapi(r, n, &suite.file)),
        fail_on: top
            .get("fail_on")
            .and_then(|n| super::fail_on::read_fail_on(r, n)),
    }
}

/// An expectation value (`expect_probes:`), its error located.
fn expectation(r: &mut Reader<'_>, node: &Node, what: &str) -> Option<Expectation> {
    match Expectation::from_node(node) {
        Ok(expectation) => Some(expectation),
        Err(message) => {
            r.diags
                .error(node.pos, format!("invalid `{what}`: {message}"));
            None
        }
    }
}

/// The suite with the callers its tamper probes derive, after its own
/// principals, each expecting `expect_probes` (or deny) on every endpoint.
fn with_probes(
    mut suite: Suite,
    suite_probes: Option<&super::probe::ProbeChoice>,
    expect_probes: Option<&Expectation>,
    options: &LoadOptions,
) -> Suite {
    // A recording answers only the callers it recorded: probes would all get 501.
    if suite.mock.as_ref().is_some_and(|m| m.replay.is_some()) {
        return suite;
    }
    let own: Vec<_> = suite.principals.iter().map(|p| p.probes.clone()).collect();
    let derived = super::probes::derive(
        &suite.principals,
        suite_probes,
        &own,
        options.probes.as_ref(),
    );
    for principal in &derived {
        let Some(of) = principal.probe else { continue };
        let base = &suite.principals[of.base];
        let expected = super::probes::expectation(base.expect_probes.as_ref(), expect_probes);
        for endpoint in &mut suite.endpoints {
            endpoint.resolved.push(expected.clone());
            endpoint.resolved_from.push(super::expect::ExpectSource {
                in_defaults: false,
                key: "expect_probes".into(),
                group: false,
                line: base.pos.line,
            });
            endpoint.resolved_body.push(None);
            endpoint.resolved_items.push(None);
            if let Some(writes) = endpoint.writes.as_deref_mut() {
                writes.resolved_trace.push(None);
            }
        }
    }
    suite.principals.extend(derived);
    suite
}

/// The mock that serves this suite's run: with `--mock`, or when its base URL
/// is empty and it names a `mock:`; never with `--base-url`.
fn serving_mock(
    r: &mut Reader<'_>,
    target: &Target,
    vars: &BTreeMap<String, Template>,
    options: &LoadOptions,
) -> Option<std::sync::Arc<super::mock_def::MockDef>> {
    if options.base_url.is_some() {
        return None;
    }
    let scope = Scope {
        cli: &options.cli_vars,
        principal: None,
        suite: vars,
        mock: None,
        env: &options.env,
        base_url: None,
        captured: None,
        own: None,
    };
    let base_url_empty = match &target.base_url {
        None => true,
        Some(template) => template
            .render(&scope)
            .is_ok_and(|url| url.trim().is_empty()),
    };
    let wanted = options.force_mock || (options.mock_where_defined && target.mock.is_some());
    if !wanted && !base_url_empty {
        return None;
    }
    let Some(path) = &target.mock else {
        r.diags.error_with_help(
            target.pos,
            if options.force_mock {
                "--mock: this suite's target names no `mock:`"
            } else {
                "the target has no base URL and no `mock:` to serve the run"
            },
            "set target.base_url (or pass --base-url), or name a mock definition in target.mock",
        );
        return None;
    };
    match super::mock_def::load(path) {
        Ok(def) => Some(std::sync::Arc::new(def)),
        Err(problems) => {
            r.diags.found.extend(problems);
            None
        }
    }
}

/// Reads `target:`; its `tls:` node is handed back, to be read once variables are known.
fn read_target<'n>(
    r: &mut Reader<'_>,
    file: &Path,
    node: Option<&'n Node>,
    root: Pos,
) -> (Option<Target>, Option<&'n Node>) {
    let mut target = Target {
        base_url: None,
        mock: None,
        timeout: target_defaults::TIMEOUT,
        concurrency: target_defaults::CONCURRENCY,
        retries: target_defaults::RETRIES,
        rate_limit: None,
        allow_mutations: false,
        tls: TlsOptions::default(),
        decide: Vec::new(),
        graphql_codes: Vec::new(),
        pos: node.map_or(root, |n| n.pos),
    };
    let Some(node) = node else {
        return (Some(target), None);
    };
    let Some(fields) = r.map(node, "target", Some(TARGET_KEYS)) else {
        return (None, None);
    };
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
    if let Some(n) = fields.get("decide") {
        target.decide = super::decide::read_rules(r, n, "target");
    }
    if let Some(n) = fields.get("graphql") {
        target.graphql_codes = super::graphql::read_codes(r, n);
    }
    (Some(target), fields.get("tls"))
}

/// `tls: { ca_file, insecure, client_cert, client_key }`: paths interpolated
/// in `scope`, files read and checked now.
fn read_tls(r: &mut Reader<'_>, file: &Path, node: &Node, scope: &Scope<'_>) -> TlsOptions {
    let mut tls = TlsOptions::default();
    let Some(f) = r.map(
        node,
        "tls",
        Some(&["ca_file", "insecure", "client_cert", "client_key"]),
    ) else {
        return tls;
    };
    let folder = file.parent().unwrap_or(Path::new("."));
    let pem = |r: &mut Reader<'_>, key: &str| -> Option<(Vec<u8>, std::path::PathBuf)> {
        let n = f.get(key)?;
        let path = folder.join(r.resolved(n, key, scope)?);
        match super::source::read_bytes(&path, super::source::MAX_PEM_BYTES) {
            Ok(bytes) if bytes.windows(11).any(|w| w == b"-----BEGIN ") => Some((bytes, path)),
            Ok(_) => {
                r.diags
                    .error(n.pos, format!("{key} {} is not a PEM file", path.display()));
                None
            }
            Err(e) => {
                r.diags.error(
                    n.pos,
                    format!("cannot read {key} {}: {}", path.display(), e.reason()),
                );
                None
            }
        }
    };
    if let Some((ca, path)) = pem(r, "ca_file") {
        tls.ca = Some(ca);
        tls.ca_file = Some(path);
    }
    let cert = pem(r, "client_cert").map(|(bytes, _)| bytes);
    let key = pem(r, "client_key").map(|(bytes, _)| bytes);
    match (cert, key) {
        (Some(mut cert), Some(key)) => {
            cert.push(b'\n');
            cert.extend(key);
            tls.client_identity = Some(cert);
        }
        // One given without the other; a file that failed was reported already.
        _ if f.get("client_cert").is_some() != f.get("client_key").is_some() => r.diags.error(
            f.pos,
            "mutual TLS needs both `client_cert:` and `client_key:`",
        ),
        _ => {}
    }
    if let Some(n) = f.get("insecure") {
        tls.insecure = r.boolean(n, "insecure").unwrap_or(false);
    }
    tls
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
        // Between one request an hour and a million a second.
        Ok(n) if seconds.is_finite() && (1.0 / 3600.0..=1e6).contains(&(n / seconds)) => {
            Some(n / seconds)
        }
        _ => {
            r.diags.error(
                node.pos,
                format!("rate_limit `{text}` must be a count per s, m or h between 1/h and 1000000/s, e.g. 20/s"),
            );
            None
        }
    }
}

/// Reads `principals:`; the names of principals dropped for a problem of
/// their own come back too, so that naming them elsewhere is not a second error.
fn read_principals(
    r: &mut Reader<'_>,
    file: &Path,
    node: &Node,
    scope: &Scope<'_>,
    rules: &ScopeRules,
) -> (Vec<Principal>, Vec<String>) {
    let Some(fields) = r.map(node, "principals", None) else {
        return Default::default();
    };
    if fields.entries.is_empty() {
        r.diags.error(
            node.pos,
            "`principals:` is empty: a matrix needs at least one principal",
        );
    }
    let mut principals = Vec::new();
    let mut dropped = Vec::new();
    for (name, key, value) in &fields.entries {
        if name == WILDCARD {
            r.diags.error(
                key.pos,
                "`*` cannot name a principal: it means every principal in `expect`",
            );
            continue;
        }
        if let Some(problem) = name_problem(name) {
            r.diags.error(key.pos, format!("principal name {problem}"));
            continue;
        }
        if name.contains('~') {
            r.diags.error(
                key.pos,
                format!("principal name `{name}` has `~`, which names the callers tamper probes derive (`app~mangled`)"),
            );
            continue;
        }
        match read_principal(r, file, (name, key.pos), value, scope, rules) {
            Some(p) => principals.push(p),
            None => dropped.push(name.clone()),
        }
    }
    (principals, dropped)
}

fn read_principal(
    r: &mut Reader<'_>,
    file: &Path,
    (name, pos): (&str, Pos),
    node: &Node,
    scope: &Scope<'_>,
    rules: &ScopeRules,
) -> Option<Principal> {
    let what = format!("principal `{name}`");
    let fields = r.map(node, &what, Some(PRINCIPAL_KEYS))?;
    let vars: BTreeMap<String, Template> = fields
        .get("vars")
        .map(|n| r.template_map(n, "vars").into_iter().collect())
        .unwrap_or_default();
    let auth = match fields.get("auth") {
        Some(auth) => read_auth(r, auth, name, file, &scope.for_principal(&vars)),
        None => {
            r.diags.error_with_help(
                pos,
                format!("{what} has no `auth:`"),
                "write `auth: none` for an anonymous principal",
            );
            None
        }
    };
    let scopes = fields.get("scopes").map(|n| read_held(r, rules, n));
    Some(Principal {
        name: name.to_string(),
        pos,
        description: fields
            .get("description")
            .and_then(|n| r.string(n, "description")),
        scopes,
        vars,
        auth: auth?,
        headers: fields
            .get("headers")
            .map(|n| r.headers(n, "headers"))
            .unwrap_or_default(),
        canary: fields.get("canary").and_then(|n| r.string(n, "canary")),
        probes: fields
            .get("probes")
            .and_then(|n| super::probes::read_choice(r, n)),
        expect_probes: fields
            .get("expect_probes")
            .and_then(|n| expectation(r, n, "expect_probes")),
        probe: None,
    })
}

/// Reads `groups:`; a member in `dropped` (a principal with its own error) is left out quietly.
fn read_groups(
    r: &mut Reader<'_>,
    node: &Node,
    principals: &[Principal],
    dropped: &[String],
) -> Vec<Group> {
    let Some(fields) = r.map(node, "groups", None) else {
        return Vec::new();
    };
    let mut groups = Vec::new();
    for (name, key, value) in &fields.entries {
        let problem = if name == WILDCARD {
            Some("`*` cannot name a group: it means every principal in `expect`".to_string())
        } else if principals.iter().any(|p| &p.name == name) || dropped.contains(name) {
            Some(format!("group `{name}` has the name of a principal"))
        } else {
            name_problem(name).map(|p| format!("group name {p}"))
        };
        if let Some(problem) = problem {
            r.diags.error(key.pos, problem);
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
                if dropped.contains(&member) {
                    return None;
                }
                let names = principals
                    .iter()
                    .map(|p| p.name.as_str())
                    .chain(dropped.iter().map(String::as_str));
                let help = nearest(&member, names)
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
