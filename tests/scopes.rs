//! Scopes as data: the least-privilege findings after a run (denied despite
//! scopes, reached without them, unused scopes) against a loopback server that
//! checks an `X-Scopes` header by its own rules; `scope_implies` and
//! `scopes_known` at load; `--strict-scopes`; findings in every report and in
//! the snapshot; `permatrix reach` read from a snapshot; the shipped Jira suite.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::header::WWW_AUTHENTICATE;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use common::{Output, Workspace};
use serde_json::Value;

/// Answers by the scopes in the request's `X-Scopes` header (space-separated):
/// `/needs/<s>` 200 when `s` is held, else 403 saying `insufficient_scope`;
/// `/switch/<s>` the same until the switch is closed, then 403 for all;
/// `/open` 200 for all; `/closed` 403 for all; `/expired` 401 for all;
/// `/refuses-admin` 403 for a holder of `admin`, 200 otherwise; `/broken` 500;
/// `/fails-admin` 500 for a holder of `admin`, 200 otherwise.
async fn answer(State(closed): State<Arc<AtomicBool>>, uri: Uri, headers: HeaderMap) -> Response {
    let sent = headers.get("x-scopes").and_then(|v| v.to_str().ok());
    let held: BTreeSet<&str> = sent.unwrap_or_default().split_whitespace().collect();
    let path = uri.path();
    let switched_off = path.starts_with("/switch/") && closed.load(Ordering::SeqCst);
    let needed = (path.strip_prefix("/needs/")).or_else(|| path.strip_prefix("/switch/"));
    match path {
        _ if switched_off => (StatusCode::FORBIDDEN, "switched off").into_response(),
        "/open" => (StatusCode::OK, "{}").into_response(),
        "/closed" => (StatusCode::FORBIDDEN, "forbidden by policy").into_response(),
        "/expired" => {
            let challenge = [(WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")];
            (StatusCode::UNAUTHORIZED, challenge).into_response()
        }
        "/refuses-admin" if held.contains("admin") => StatusCode::FORBIDDEN.into_response(),
        "/refuses-admin" => StatusCode::OK.into_response(),
        "/broken" => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        "/fails-admin" if held.contains("admin") => {
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        "/fails-admin" => StatusCode::OK.into_response(),
        _ => match needed {
            Some(scope) if held.contains(scope) => (StatusCode::OK, "{}").into_response(),
            Some(scope) => {
                let challenge = format!("Bearer error=\"insufficient_scope\", scope=\"{scope}\"");
                let body = format!("{{\"error\":\"insufficient_scope\",\"scope\":\"{scope}\"}}");
                (StatusCode::FORBIDDEN, [(WWW_AUTHENTICATE, challenge)], body).into_response()
            }
            None => StatusCode::NOT_FOUND.into_response(),
        },
    }
}

/// Starts the scope-checking server; closing the returned switch makes every `/switch/*` 403.
async fn scope_server() -> (String, Arc<AtomicBool>) {
    let closed = Arc::new(AtomicBool::new(false));
    let app = Router::new().fallback(answer).with_state(closed.clone());
    (common::serve(app).await, closed)
}

/// A suite named `name` against `base`; `rest` holds the endpoints. Each
/// principal is written `name held… / sent…`: its `scopes:`, then the
/// `X-Scopes` it sends; a name led by `~` has no `scopes:` key.
fn suite(name: &str, base: &str, principals: &[&str], rest: &str) -> String {
    let mut text = format!("suite: {name}\ntarget: {{ base_url: \"{base}\" }}\nprincipals:\n");
    for spec in principals {
        let (head, sent) = spec.split_once(" / ").expect("name held… / sent…");
        let mut words = head.split_whitespace();
        let principal = words.next().unwrap_or_default();
        let held = words.collect::<Vec<_>>().join(", ");
        let (principal, scopes) = match principal.strip_prefix('~') {
            Some(principal) => (principal, String::new()),
            None => (principal, format!("scopes: [{held}], ")),
        };
        let auth = format!("auth: {{ header: {{ name: X-Scopes, value: \"{sent}\" }} }}");
        text.push_str(&format!("  {principal}: {{ {scopes}{auth} }}\n"));
    }
    text + rest
}

/// Runs `permatrix` with the words of `line` (and `GITHUB_ACTIONS=true` when `github`).
fn permatrix<'w>(
    ws: &'w Workspace,
    line: &str,
    github: bool,
) -> impl Future<Output = Output> + use<'w> {
    let args: Vec<String> = line.split_whitespace().map(String::from).collect();
    let (env, set) = ([("GITHUB_ACTIONS", "true")], usize::from(github));
    async move {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ws.permatrix_with_env(&args, &env[..set]).await
    }
}

/// Fails unless `text` contains each line of `needles`.
#[track_caller]
fn has(text: &str, needles: &str) {
    for needle in needles.lines() {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

/// Fails unless each `key: JSON` of `spec` (lines, or parts split by `; `) is a field of `value`.
#[track_caller]
fn check(value: &Value, spec: &str) {
    let fields = spec.lines().flat_map(|l| l.split("; ")).map(str::trim);
    for field in fields.filter(|f| !f.is_empty()) {
        let Some((key, expected)) = field.split_once(": ") else {
            panic!("a test's spec `{field}` is not `key: JSON`");
        };
        let expected: Value = serde_json::from_str(expected).expect("a test's JSON");
        assert_eq!(value[key], expected, "{key} of {value:#}");
    }
}

/// An object's keys, space-separated.
fn keys(value: &Value) -> String {
    let keys = value.as_object().into_iter().flat_map(|o| o.keys());
    keys.map(String::as_str).collect::<Vec<_>>().join(" ")
}

/// Fails unless the finding lines the terminal printed for `suite` (hints left out) are `expected`.
#[track_caller]
fn findings_are(out: &Output, suite: &str, expected: &str) {
    let header = format!("findings in {suite}:\n");
    let section = out.stdout.split_once(&header).map_or("", |(_, s)| s);
    let section = section.split("\n\n").next().unwrap_or_default();
    let lines: Vec<&str> = section.lines().filter(|l| !l.starts_with("    ")).collect();
    let (found, expected) = (lines.join("\n"), expected.trim_matches('\n'));
    assert_eq!(found, expected, "{}", out.stdout);
}

/// The findings of a JSON report's first suite.
fn findings(report: &Value) -> &[Value] {
    let findings = &report["suites"][0]["findings"];
    findings.as_array().expect("findings")
}

/// The finding of a JSON report's first suite about `about`: "endpoint ×
/// principal", or the principal alone for its unused scopes.
#[track_caller]
fn finding<'a>(report: &'a Value, about: &str) -> &'a Value {
    let subject = |f: &Value| match f["endpoint"].as_str() {
        Some(endpoint) => format!("{endpoint} × {}", f["principal"].as_str().unwrap_or("")),
        None => f["principal"].as_str().unwrap_or("").to_string(),
    };
    let found = findings(report).iter().find(|f| subject(f) == about);
    found.unwrap_or_else(|| panic!("no finding about {about} in {report:#}"))
}

/// A finding's hint.
fn hint(finding: &Value) -> &str {
    finding["hint"].as_str().unwrap_or_default()
}

/// Writes `s.yaml`, runs it with a JSON report, expecting exit 0; returns the output and report.
async fn run_json(ws: &Workspace, suite: &str) -> (Output, Value) {
    ws.write("s.yaml", suite);
    let out = permatrix(ws, "run s.yaml --json r.json", false).await;
    assert_eq!(out.code, 0, "{}", out.all());
    (out, ws.json("r.json"))
}

/// nobody holds no scope, reader read, admin admin (it sends what that implies);
/// legacy declares no `scopes:`.
const PRINCIPALS: &[&str] = &[
    "nobody / -",
    "reader read / read",
    "admin admin / admin write read",
    "~legacy / read",
];

const DENIED: &str = r#"scope_implies: { admin: [write], write: [read] }
endpoints:
  - { request: GET /needs/admin, scopes: [read], expect: { "*": any } }
  - { request: GET /expired, scopes: [], expect: { "*": 401 } }
  - { request: GET /closed, expect: { "*": 403 } }
"#;

#[tokio::test(flavor = "multi_thread")]
async fn denied_despite_scopes_only_where_the_scopes_are_held_and_documented() {
    let (base, _) = scope_server().await;
    let ws = Workspace::new();
    let (out, report) = run_json(&ws, &suite("deny", &base, PRINCIPALS, DENIED)).await;
    // Not nobody at /needs/admin (it does not hold read), not legacy (no
    // `scopes:`), not at /closed (no `scopes:`), not admin (it reached).
    let expected = "
  denied_despite_scopes: GET /needs/admin × reader → 403 (holds read; requires read)
  denied_despite_scopes: GET /expired × nobody → 401 (holds (none); requires (none))
  denied_despite_scopes: GET /expired × reader → 401 (holds read; requires (none))
  denied_despite_scopes: GET /expired × admin → 401 (holds admin; requires (none))
  unused_scopes: reader holds read; drop read, keep (none)
";
    findings_are(&out, "deny", expected);
    // After the matrix, and every cell passed.
    let section = out.stdout.find("findings in deny:").unwrap_or(0);
    has(&out.stdout[..section], "GET /needs/admin ");
    has(&out.stdout[section..], "\n12 passed, 0 failed");
    let denied = finding(&report, "GET /needs/admin × reader");
    let said = r#"403 with body {"error":"insufficient_scope","scope":"admin"}; WWW-Authenticate: Bearer error="insufficient_scope", scope="admin"; "#;
    assert!(hint(denied).starts_with(said), "{denied}");
    let expired = finding(&report, "GET /expired × admin");
    let said = r#"401 with WWW-Authenticate: Bearer error="invalid_token"; the credentials were"#;
    assert!(hint(expired).starts_with(said), "{expired}");
}

const REACHED: &str = r#"scope_implies: { admin: [write], write: [read] }
defaults: { scopes: [write] }
endpoints:
  - { request: GET /open, scopes: [admin], expect: { "*": 200 } }
  - { name: needs no scope, request: GET /open, scopes: [], expect: { "*": 200 } }
  - { request: GET /needs/read, scopes: [[write], [read]], expect: { "*": any } }
  - { name: by default, request: GET /needs/read, expect: { "*": any } }
  - { name: alternatives, request: GET /open, scopes: [[admin, extra], [write]], expect: { "*": 200 } }
"#;

#[tokio::test(flavor = "multi_thread")]
async fn reached_without_scopes_reads_alternatives_and_defaults() {
    let (base, _) = scope_server().await;
    let ws = Workspace::new();
    let (out, report) = run_json(&ws, &suite("reach", &base, PRINCIPALS, REACHED)).await;
    // Not admin (it holds what each needs), not legacy, not at `scopes: []`, not
    // reader at `[[write], [read]]`, not nobody where it was refused.
    let expected = "
  reached_without_scopes: GET /open × nobody → 200 (holds (none); requires admin)
  reached_without_scopes: GET /open × reader → 200 (holds read; requires admin)
  reached_without_scopes: by default × reader → 200 (holds read; requires write)
  reached_without_scopes: alternatives × nobody → 200 (holds (none); requires write)
  reached_without_scopes: alternatives × reader → 200 (holds read; requires write)
";
    findings_are(&out, "reach", expected);
    let open = finding(&report, "GET /open × reader");
    let said = "reached without admin: the API is more open than documented";
    assert!(hint(open).starts_with(said), "{open}");
    let default = finding(&report, "by default × reader");
    check(default, r#"required_any: [["write"]]"#);
    // The alternative missing the fewest scopes is the one reported.
    let closest = r#"
        kind: "reached_without_scopes"; required: ["write"]
        required_any: [["admin", "extra"], ["write"]]; held: ["read"]; status: 200"#;
    check(finding(&report, "alternatives × reader"), closest);
}

const UNUSED: &str = r#"scope_implies: { admin: [write], write: [read] }
endpoints:
  - { request: GET /needs/read, scopes: [read], expect: { "*": any } }
  - { request: GET /open, scopes: [extra], expect: { "*": 200 } }
"#;

#[tokio::test(flavor = "multi_thread")]
async fn unused_scopes_suggest_the_narrowest_cover_of_what_was_reached() {
    let (base, _) = scope_server().await;
    let ws = Workspace::new();
    let principals = [
        "tie admin write / admin write read",
        "token-less admin / -",
        "spare read extra / read extra",
        "exact read / read",
        "nobody / -",
        "~legacy / admin write read extra",
    ];
    let (out, report) = run_json(&ws, &suite("unused", &base, &principals, UNUSED)).await;
    // tie: write and admin each cover read alone, write's closure is the smaller.
    // token-less: refused where admin meets the need, it reached /open only
    // without extra, which counts for nothing. spare and exact need all they
    // hold; nobody holds nothing; legacy declares nothing.
    let expected = "
  denied_despite_scopes: GET /needs/read × token-less → 403 (holds admin; requires read)
  reached_without_scopes: GET /open × tie → 200 (holds admin, write; requires extra)
  reached_without_scopes: GET /open × token-less → 200 (holds admin; requires extra)
  reached_without_scopes: GET /open × exact → 200 (holds read; requires extra)
  reached_without_scopes: GET /open × nobody → 200 (holds (none); requires extra)
  unused_scopes: tie holds admin, write; drop admin, keep write
  unused_scopes: token-less holds admin; drop admin, keep (none)
  privilege_inversion: a lower principal reaches an endpoint that refuses a higher one
  privilege_inversion: GET /needs/read × token-less → 403; GET /needs/read × exact → 200
";
    // Without `ranks:`, the lint orders principals by their scope closures:
    // token-less holds admin, which implies read, exact's only scope.
    findings_are(&out, "unused", expected);
    let tie = r#"
        kind: "unused_scopes"; endpoint: null; unused: ["admin"]; suggested: ["write"]
        held: ["admin", "write"]; status: null; required: null"#;
    check(finding(&report, "tie"), tie);
    let hinted = "\n    every endpoint it reached stays covered by write: drop admin (";
    has(&out.stdout, hinted);
    let none = hint(finding(&report, "token-less"));
    let said = "no endpoint it reached requires a scope it holds";
    assert!(none.starts_with(said), "{none}");
}

#[tokio::test(flavor = "multi_thread")]
async fn scope_implies_is_transitive_and_a_cut_chain_shows() {
    let (base, _) = scope_server().await;
    let endpoint = r#"  - { request: GET /needs/read, scopes: [read], expect: { "*": 200 } }"#;
    let cut = "
  reached_without_scopes: GET /needs/read × boss → 200 (holds admin; requires read)
  unused_scopes: boss holds admin; drop admin, keep (none)";
    let chains = [
        ("admin: [write], write: [read]", ""),
        ("admin: [write]", cut),
    ];
    for (implies, expected) in chains {
        let ws = Workspace::new();
        let rest = format!("scope_implies: {{ {implies} }}\nendpoints:\n{endpoint}\n");
        let boss = ["boss admin / admin write read"];
        let (out, _) = run_json(&ws, &suite("implies", &base, &boss, &rest)).await;
        findings_are(&out, "implies", expected);
    }
}

const CYCLE: &str = r#"suite: cyc
target: { base_url: "http://127.0.0.1:9" }
principals:
  a: { scopes: [read], auth: none }
scope_implies:
  write: [read]
  read: [admin]
  admin: [write]
endpoints:
  - { request: GET /x, scopes: [read], expect: { "*": any } }
"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_cycle_in_scope_implies_is_a_located_load_error() {
    let ws = Workspace::new();
    ws.write("s.yaml", CYCLE);
    for command in ["check s.yaml", "run s.yaml"] {
        let out = permatrix(&ws, command, false).await;
        assert_eq!(out.code, 2, "{command}: {}", out.all());
        let error = "s.yaml:8:3: error: scope_implies has a cycle: admin → write → read → admin";
        has(&out.stderr, error);
    }
    // A diamond is no cycle.
    let diamond = "  admin: [write, delete]\n  write: [read]\n  delete: [read]\n";
    let cycle = "  write: [read]\n  read: [admin]\n  admin: [write]\n";
    ws.write("ok.yaml", &CYCLE.replace(cycle, diamond));
    let out = permatrix(&ws, "check ok.yaml", false).await;
    assert_eq!(out.code, 0, "{}", out.all());
}

const KNOWN: &str = r#"suite: known
target: { base_url: "http://127.0.0.1:9" }
scopes_known: [read, write, admin]
scope_implies: { admin: [wrte] }
principals:
  a: { scopes: [Read], auth: none }
defaults: { scopes: [admn] }
endpoints:
  - { request: GET /x, scopes: [[zzz], [read]], expect: { "*": any } }
"#;

#[tokio::test(flavor = "multi_thread")]
async fn scopes_known_is_a_closed_set_with_suggestions() {
    let ws = Workspace::new();
    ws.write("bad.yaml", KNOWN);
    for command in ["check bad.yaml", "run bad.yaml"] {
        let out = permatrix(&ws, command, false).await;
        assert_eq!(out.code, 2, "{command}: {}", out.all());
        for (location, scope, help) in [
            ("4:26", "wrte", "did you mean `write`?"),
            ("6:17", "Read", "did you mean `read`?"),
            ("7:22", "admn", "did you mean `admin`?"),
            ("9:34", "zzz", "`scopes_known` lists admin, read, write"),
        ] {
            let error =
                format!("bad.yaml:{location}: error: unknown scope `{scope}`: it is not in");
            let block = out.stderr.split("\n\n").find(|b| b.starts_with(&error));
            let expected = format!("{error} `scopes_known`\n= help: {help}");
            has(block.unwrap_or(&out.stderr), &expected);
        }
    }
    let mut good = KNOWN.to_string();
    let typos = "wrte:write Read:read admn:admin zzz:write";
    for (typo, scope) in typos.split(' ').filter_map(|p| p.split_once(':')) {
        good = good.replace(typo, scope);
    }
    ws.write("good.yaml", &good);
    let out = permatrix(&ws, "check good.yaml", false).await;
    assert_eq!(out.code, 0, "{}", out.all());
}

#[tokio::test(flavor = "multi_thread")]
async fn strict_scopes_fails_only_a_run_that_reached_without_them() {
    let (base, _) = scope_server().await;
    let ws = Workspace::new();
    let run = |documented: &str, flags: &str| {
        let rest = format!(
            "endpoints:\n  - {{ request: GET /needs/read, scopes: {documented}, expect: {{ \"*\": 200 }} }}\n"
        );
        let text = suite("strict", &base, &["reader read / read"], &rest);
        ws.write("s.yaml", &text);
        permatrix(&ws, &format!("run s.yaml {flags}"), true)
    };
    let found =
        "reached_without_scopes: GET /needs/read × reader → 200 (holds read; requires admin)";
    let annotated = |out: &Output, level: &str| {
        let start = format!("::{level} file=s.yaml,line=6,");
        let mut lines = out.stdout.lines();
        lines.any(|l| l.starts_with(&start) && l.contains(found))
    };
    let out = run("[admin]", "--strict-scopes").await;
    assert_eq!(out.code, 1, "every cell passed, yet: {}", out.all());
    has(&out.stdout, &format!("  {found}\n1 passed, 0 failed"));
    assert!(annotated(&out, "error"), "{}", out.stdout);
    let out = run("[admin]", "").await;
    assert_eq!(out.code, 0, "{}", out.all());
    let warned = annotated(&out, "warning") && !annotated(&out, "error");
    assert!(warned, "{}", out.stdout);
    let out = run("[read]", "--strict-scopes").await;
    assert_eq!(out.code, 0, "{}", out.all());
    let quiet = !out.stdout.contains("findings in ") && !out.stdout.contains("::");
    assert!(quiet, "{}", out.stdout);
}

const REPORTED: &str = r#"endpoints:
  - { request: GET /needs/admin, scopes: [read], expect: { "*": any } }
  - { request: GET /open, scopes: [admin], expect: { "*": any } }
  - { request: GET /expired, scopes: [], expect: { "*": any } }
"#;

/// What the reports of a run of [`REPORTED`] must hold, each line somewhere.
const MARKDOWN: &str = "\n### Findings
| **denied_despite_scopes** | reader | `GET /needs/admin` | 403 | read | read, write |
| **reached_without_scopes** | reader | `GET /open` | 200 | admin | read, write |
| **denied_despite_scopes** | reader | `GET /expired` | 401 | (none) | read, write |
| **unused_scopes** | reader | — | — | keep (none); drop read, write | read, write |";
const HTML: &str = r#"<ul class="findings">
<li class="denied_despite_scopes"><strong>denied_despite_scopes</strong> <code>GET /needs/admin × reader → 403 (holds read, write; requires read)</code>
<li class="reached_without_scopes"><strong>reached_without_scopes</strong> <code>GET /open × reader → 200 (holds read, write; requires admin)</code>
<li class="unused_scopes"><strong>unused_scopes</strong> <code>reader holds read, write; drop read, write, keep (none)</code>"#;
const ANNOTATIONS: &str = "
::warning file=s.yaml,line=6,title=reports › finding%3A denied_despite_scopes::denied_despite_scopes: GET /needs/admin × reader → 403 (holds read, write; requires read) — 403 with body
::warning file=s.yaml,line=7,title=reports › finding%3A reached_without_scopes::reached_without_scopes: GET /open × reader → 200
::warning file=s.yaml,line=4,title=reports › finding%3A unused_scopes::unused_scopes: reader holds read, write; drop read, write, keep (none) — no endpoint";

#[tokio::test(flavor = "multi_thread")]
async fn findings_appear_in_json_markdown_html_and_annotations() {
    let (base, _) = scope_server().await;
    let ws = Workspace::new();
    let run = "run s.yaml --json r.json --markdown r.md --html r.html";
    let reader = ["reader read write / read write"];
    ws.write("s.yaml", &suite("reports", &base, &reader, REPORTED));
    let out = permatrix(&ws, run, true).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report = ws.json("r.json");
    let all = findings(&report);
    let kinds: Vec<&str> = all.iter().filter_map(|f| f["kind"].as_str()).collect();
    let expected =
        "denied_despite_scopes reached_without_scopes denied_despite_scopes unused_scopes";
    assert_eq!(kinds.join(" "), expected);
    let cell = "kind endpoint principal required required_any held status hint";
    for finding in &all[..3] {
        assert_eq!(keys(finding), cell);
    }
    assert_eq!(keys(&all[3]), format!("{cell} unused suggested"));
    let unused = r#"principal: "reader"; unused: ["read", "write"]; suggested: []"#;
    check(&all[3], unused);
    has(&ws.read("r.md"), MARKDOWN);
    has(&ws.read("r.html"), HTML);
    has(&out.stdout, ANNOTATIONS);

    // A run without findings shows none anywhere.
    let rest = r#"endpoints: [{ request: GET /needs/read, scopes: [read], expect: { "*": 200 } }]"#;
    ws.write(
        "s.yaml",
        &suite("reports", &base, &["reader read / read"], rest),
    );
    let out = permatrix(&ws, run, true).await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(findings(&ws.json("r.json")).is_empty());
    assert!(!ws.read("r.md").contains("### Findings"));
    assert!(!ws.read("r.html").contains("class=\"findings\""));
    assert!(!out.stdout.contains("::warning") && !out.stdout.contains("findings in "));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_finding_changes_the_snapshot_and_accept_takes_it() {
    let (base, closed) = scope_server().await;
    let ws = Workspace::new();
    let write = |open: &str| {
        let rest = format!(
            "scope_implies: {{ admin: [read] }}\nendpoints:\n  - {{ request: GET /switch/read, scopes: [read], expect: {{ \"*\": any }} }}\n  - {{ request: GET /open, scopes: {open}, expect: {{ \"*\": 200 }} }}\n"
        );
        let principals = ["reader read / read", "boss admin / admin read"];
        ws.write("s.yaml", &suite("snapfind", &base, &principals, &rest));
    };
    let run = |extra: &str| permatrix(&ws, &format!("run s.yaml --snapshots snaps {extra}"), false);
    write("[admin]");
    assert_eq!(run("").await.code, 0);
    let open = "reached_without_scopes: GET /open × reader → 200 (holds read; requires admin)";
    let snap = ws.read("snaps/snapfind.snap");
    let end = format!("  boss → 200\n:: scope findings\n  {open}\n");
    assert!(snap.ends_with(&end), "{snap}");

    // The server starts refusing what reader and boss hold the scope for.
    closed.store(true, Ordering::SeqCst);
    let out = run("").await;
    assert_eq!(out.code, 1, "a new finding: {}", out.all());
    let denied =
        "denied_despite_scopes: GET /switch/read × reader → 403 (holds read; requires read)";
    has(&out.stdout, &format!("  added       finding {denied}"));
    let narrowed = "  narrowed    GET /switch/read × reader: 200 → 403\n";
    has(&out.stdout, narrowed);
    let section = format!(":: scope findings\n  {denied}\n");
    has(&ws.read("snaps/snapfind.snap.new"), &section);
    assert_eq!(ws.read("snaps/snapfind.snap"), snap, "kept as recorded");
    let out = run("--accept").await;
    assert_eq!(out.code, 0, "{}", out.all());
    has(&ws.read("snaps/snapfind.snap"), &section);
    assert!(!ws.path("snaps/snapfind.snap.new").exists());
    assert_eq!(run("").await.code, 0, "accepted");

    // Same statuses, another documented requirement: the findings alone change.
    write("[read, admin]");
    let out = run("").await;
    assert_eq!(out.code, 1, "{}", out.all());
    let classes = ["added ", "removed ", "narrowed ", "widened ", "changed "];
    let change = |l: &&str| classes.iter().any(|c| l.starts_with(c));
    let changes: Vec<&str> = out.stdout.lines().map(str::trim).filter(change).collect();
    let expected = "\
added       finding reached_without_scopes: GET /open × reader → 200 (holds read; requires read, admin)
removed     finding reached_without_scopes: GET /open × reader → 200 (holds read; requires admin)";
    assert_eq!(changes.join("\n"), expected, "{}", out.stdout);
}

const REACHABLE: &str = r#"scope_implies: { admin: [write], write: [read] }
endpoints:
  - { request: GET /open, scopes: [read], expect: { "*": any } }
  - { request: GET /needs/read, scopes: [read], expect: { "*": any } }
  - { request: GET /needs/admin, scopes: [admin], expect: { "*": any } }
  - { request: GET /closed, expect: { "*": any } }
  - { request: GET /refuses-admin, scopes: [read], expect: { "*": any } }
  - { request: GET /needs/extra, scopes: [[extra], [admin]], expect: { "*": any } }
"#;

/// A workspace whose `reachable` suite (plus `extra` endpoints) ran once into
/// `snaps/`; `stale` declares read but its token carries none.
async fn reach_workspace(extra: &str) -> Workspace {
    let (base, _) = scope_server().await;
    let ws = Workspace::new();
    let principals = [
        "nobody / -",
        "reader read / read",
        "stale read / -",
        "boss admin / admin write read",
        "~legacy / admin write read extra",
    ];
    let rest = format!("{REACHABLE}{extra}");
    ws.write("s.yaml", &suite("reachable", &base, &principals, &rest));
    let out = permatrix(&ws, "run s.yaml --snapshots snaps", false).await;
    assert_eq!(out.code, 0, "{}", out.all());
    ws
}

/// `permatrix reach s.yaml --scopes SCOPES` from `snaps/`: its table, words
/// single-spaced, and its JSON answer.
async fn reach(ws: &Workspace, scopes: &str) -> (String, Value) {
    let line = format!("reach s.yaml --scopes {scopes} --snapshots snaps --json r.json");
    let out = permatrix(ws, &line, false).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let words = |l: &str| l.split_whitespace().collect::<Vec<_>>().join(" ");
    let table: Vec<String> = out.stdout.lines().map(words).collect();
    (table.join("\n"), ws.json("r.json"))
}

/// The row of `endpoint` in a reach answer.
#[track_caller]
fn row<'a>(answer: &'a Value, endpoint: &str) -> &'a Value {
    let rows = answer["endpoints"].as_array().expect("endpoints");
    let found = rows.iter().find(|r| r["endpoint"] == endpoint);
    found.unwrap_or_else(|| panic!("{endpoint}: {answer:#}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn reach_observes_infers_and_flags_conflicts_from_the_snapshot() {
    let ws = reach_workspace("").await;
    // read: exactly the closure of reader and of stale, who disagree once.
    let (table, answer) = reach(&ws, "read").await;
    let expected = "\
reachable: what read reaches, from snaps/reachable.snap

reached observed GET /open requires read via reader
? conflicting GET /needs/read requires read reader 200, stale 403
denied observed GET /needs/admin requires admin via reader
denied observed GET /closed requires ? via reader
reached observed GET /refuses-admin requires read via reader
denied observed GET /needs/extra requires extra | admin via reader

2 reached, 3 denied, 1 conflicting, 0 unknown (of 6 endpoints)";
    assert_eq!(table, expected);
    let conflicts = r#"conflicts: [{"principal": "reader", "status": 200}, {"principal": "stale", "status": 403}]"#;
    check(row(&answer, "GET /needs/read"), conflicts);

    // write: no principal holds exactly {read, write}; nobody and reader hold less, boss more.
    let (table, answer) = reach(&ws, "write").await;
    let expected = "\
reachable: what write reaches (it implies read), from snaps/reachable.snap

reached inferred GET /open requires read via nobody
reached inferred GET /needs/read requires read via reader
? unknown GET /needs/admin requires admin its scopes say: denied
denied inferred GET /closed requires ? via boss
? conflicting GET /refuses-admin requires read nobody 200, boss 403
denied inferred GET /needs/extra requires extra | admin via boss

2 reached, 2 denied, 1 conflicting, 1 unknown (of 6 endpoints)";
    assert_eq!(table, expected);
    assert_eq!(keys(&answer), "suite asked scopes source endpoints");
    let head = r#"
        suite: "reachable"; asked: ["write"]; scopes: ["read", "write"]
        source: "snaps/reachable.snap""#;
    check(&answer, head);
    let unknown = row(&answer, "GET /needs/admin");
    let columns = "endpoint reached basis via reason required required_any documented conflicts";
    assert_eq!(keys(unknown), columns);
    let expected = r#"
        reached: null; basis: "unknown"; via: null; required: ["admin"]
        required_any: [["admin"]]; documented: false; conflicts: []"#;
    check(unknown, expected);
    let closed = r#"
        reached: false; basis: "inferred"; via: "boss"; required: null; required_any: null
        documented: null"#;
    check(row(&answer, "GET /closed"), closed);
    let conflicting = r#"
        reached: null; basis: "conflicting"; via: null; documented: true
        conflicts: [{"principal": "nobody", "status": 200}, {"principal": "boss", "status": 403}]"#;
    check(row(&answer, "GET /refuses-admin"), conflicting);

    // admin and extra: no principal holds as much, none reached /needs/extra; its scopes say reached.
    let (table, answer) = reach(&ws, "admin,extra").await;
    let expected = "
? unknown GET /closed requires ?
? unknown GET /needs/extra requires extra | admin its scopes say: reached
";
    has(&table, expected);
    let extra = "reached: null\ndocumented: true\nrequired: [\"extra\"]";
    check(row(&answer, "GET /needs/extra"), extra);
}

#[tokio::test(flavor = "multi_thread")]
async fn reach_does_not_infer_a_denial_from_a_server_error() {
    // boss holds more than {read, write} and got a 500 at both: that refuses
    // nothing (README: "one holding more (a superset) was refused → denied").
    // At /fails-admin nobody, holding less, reached it: no conflict either.
    let broken = r#"  - { request: GET /broken, scopes: [read], expect: { "*": any } }
  - { request: GET /fails-admin, scopes: [read], expect: { "*": any } }"#;
    let ws = reach_workspace(broken).await;
    let (table, answer) = reach(&ws, "write").await;
    let rows: Vec<&str> = table
        .lines()
        .filter(|l| l.contains(" GET /"))
        .skip(6)
        .collect();
    let expected = "\
? unknown GET /broken requires read its scopes say: reached
reached inferred GET /fails-admin requires read via nobody";
    assert_eq!(rows.join("\n"), expected);
    let unknown = r#"reached: null; basis: "unknown"; via: null"#;
    check(row(&answer, "GET /broken"), unknown);
    let reached = r#"reached: true; basis: "inferred"; conflicts: []"#;
    check(row(&answer, "GET /fails-admin"), reached);

    // Asked about boss's own scopes: its 500s observe nothing either.
    let (_, answer) = reach(&ws, "admin").await;
    check(row(&answer, "GET /broken"), unknown);
    let from_nobody = r#"reached: true; basis: "inferred"; via: "nobody""#;
    check(row(&answer, "GET /fails-admin"), from_nobody);
}

#[tokio::test(flavor = "multi_thread")]
async fn reach_needs_a_snapshot_or_run_and_known_scopes() {
    let (base, _) = scope_server().await;
    let ws = Workspace::new();
    let rest = r#"scope_implies: { write: [read] }
endpoints: [{ request: GET /needs/read, scopes: [read], expect: { "*": any } }]"#;
    let principals = ["reader read / read", "stale read / -"];
    ws.write("s.yaml", &suite("reachable", &base, &principals, rest));
    let from_snaps = "reach s.yaml --snapshots snaps";
    let reach = |more: &str| permatrix(&ws, &format!("{from_snaps} {more}"), false);
    let out = reach("--scopes read").await;
    assert_eq!(out.code, 2, "{}", out.all());
    let none = "no snapshot of reachable at snaps/reachable.snap: run `permatrix run s.yaml` first, or pass --run";
    has(&out.stderr, none);
    let out = reach("--scopes read,wrte --run").await;
    assert_eq!(out.code, 2, "{}", out.all());
    let unknown = "unknown scope `wrte`: no endpoint, principal, `scope_implies` or `scopes_known` of reachable names it; did you mean `write`?";
    has(&out.stderr, unknown);
    let out = reach("--scopes read --run --json r.json").await;
    assert_eq!(out.code, 0, "{}", out.all());
    has(&out.stdout, "reachable: what read reaches, from a run\n");
    let answer = ws.json("r.json");
    check(&answer, r#"source: "a run""#);
    let conflicts = r#"
        basis: "conflicting"
        conflicts: [{"principal": "reader", "status": 200}, {"principal": "stale", "status": 403}]"#;
    check(row(&answer, "GET /needs/read"), conflicts);
    assert!(!ws.path("snaps").exists(), "--run writes no snapshot");
}

/// Runs the binary from the repository root with an empty environment (the
/// Jira suite then runs against its embedded mock).
fn at_root(line: &str, json: &std::path::Path) -> (Output, Value) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_permatrix"))
        .args(line.split_whitespace())
        .arg("--json")
        .arg(json)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_clear()
        .output()
        .expect("run permatrix");
    let out = Output::from(output);
    assert_eq!(out.code, 0, "{line}: {}", out.all());
    let text = std::fs::read_to_string(json).expect("JSON written");
    (out, serde_json::from_str(&text).expect("JSON"))
}

#[test]
fn the_jira_suite_finds_the_forum_case_and_reach_reads_its_snapshot() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let json = tmp.path().join("r.json");
    // --strict-scopes: the suite's only finding is a denial, which fails nothing.
    let (_, report) = at_root(
        "run suites/jira-cloud.yaml --no-snapshot --strict-scopes",
        &json,
    );
    let forum = finding(&report, "GET /rest/api/2/auditing/record × app-as-user");
    let expected = r#"
        kind: "denied_despite_scopes"; status: 403; required: ["READ"]
        held: ["READ", "ACT_AS_USER"]"#;
    check(forum, expected);
    let admin = findings(&report).iter().find(|f| f["principal"] == "admin");
    assert_eq!(admin, None, "admin declares no scopes");

    let reach = "reach suites/jira-cloud.yaml --scopes READ,ACT_AS_USER";
    let (_, answer) = at_root(reach, &json);
    check(&answer, r#"source: "snapshots/jira-cloud.snap""#);
    let permissions = r#"reached: false; basis: "observed"; via: "app""#;
    check(row(&answer, "GET /rest/api/2/permissions"), permissions);
    let auditing = row(&answer, "GET /rest/api/2/auditing/record");
    let conflicting = r#"reached: null; basis: "conflicting"; via: null"#;
    check(auditing, conflicting);
    let user = r#"{"principal":"app-as-user","status":403}"#;
    has(&auditing["conflicts"].to_string(), user);

    // `--json -`: the answer alone on stdout, the table on stderr.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_permatrix"))
        .args([
            "reach",
            "suites/jira-cloud.yaml",
            "--scopes",
            "READ",
            "--json",
            "-",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_clear()
        .output()
        .expect("run permatrix");
    let out = Output::from(output);
    assert_eq!(out.code, 0, "{}", out.all());
    let answer: Value = serde_json::from_str(&out.stdout).expect("stdout is the JSON alone");
    assert_eq!(answer["scopes"], serde_json::json!(["NONE", "READ"]));
    assert!(
        out.stderr.contains("jira-cloud: what READ reaches"),
        "{}",
        out.stderr
    );
}
