//! Lints end to end: the eight shapes of an observed matrix (each with a
//! near miss that must not be reported) against a loopback server whose
//! answers each test lays out in a table; `allow_lints:`, `lints:` and
//! `--lints`, `ranks:`, `--openapi` and `openapi:`; lint lines in the
//! snapshot (`finding-added`, `finding-removed`); `--fail-on` and `fail_on:`;
//! and the lint findings in the JSON, JUnit, GitHub, HTML and Markdown
//! reports.

mod common;

use common::lint_server::{self, token};
use common::{Output, Workspace};
use serde_json::Value;

/// The JSON report's schema (`docs/permatrix.run.v1.schema.json`), compiled.
fn schema() -> (boon::Schemas, boon::SchemaIndex) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/permatrix.run.v1.schema.json"
    );
    let text = std::fs::read_to_string(path).expect("the schema file");
    let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
    let (mut schemas, mut compiler) = (boon::Schemas::new(), boon::Compiler::new());
    compiler
        .add_resource("permatrix.run.v1.schema.json", schema)
        .expect("the schema loads");
    let index = compiler
        .compile("permatrix.run.v1.schema.json", &mut schemas)
        .expect("the schema compiles");
    (schemas, index)
}

/// Fails unless `report` is valid against the JSON report's schema.
#[track_caller]
fn assert_valid(report: &Value) {
    let (schemas, index) = schema();
    if let Err(error) = schemas.validate(report, index) {
        panic!("{error:#}\nin {report:#}");
    }
}

/// A suite named `name` against `base`, where every cell expects `any`.
/// Each principal is `anon` (`auth: none`) or `name [keys]`: a bearer token
/// ([`token`]) after the YAML `keys` given (`scopes: [read]`). `top` holds
/// suite keys (`ranks:`, `lints:`…), `endpoints` the endpoint list.
fn suite(name: &str, base: &str, principals: &[&str], top: &str, endpoints: &str) -> String {
    let mut text = format!(
        "suite: {name}\ntarget: {{ base_url: \"{base}\", allow_mutations: true, retries: 0 }}\ndefaults: {{ expect: {{ \"*\": any }} }}\nprincipals:\n"
    );
    for spec in principals {
        let (principal, keys) = spec.split_once(' ').unwrap_or((spec, ""));
        if principal == "anon" {
            text.push_str("  anon: { auth: none }\n");
            continue;
        }
        let keys = if keys.is_empty() {
            String::new()
        } else {
            format!("{keys}, ")
        };
        text.push_str(&format!(
            "  {principal}: {{ {keys}auth: {{ bearer: {{ token: \"{}\" }} }} }}\n",
            token(principal)
        ));
    }
    for line in top.lines().filter(|l| !l.trim().is_empty()) {
        text.push_str(line.trim_start());
        text.push('\n');
    }
    text + "endpoints:\n" + &endpoints_yaml(endpoints)
}

/// Endpoints, one a line: a request line, then ` | key: value` for each of
/// the endpoint's other keys (`POST /x | allow_lints: { … }`).
fn endpoints_yaml(lines: &str) -> String {
    let mut text = String::new();
    for line in lines.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let mut parts = line.split(" | ");
        text.push_str(&format!(
            "  - request: {}\n",
            parts.next().unwrap_or_default()
        ));
        for key in parts {
            text.push_str(&format!("    {key}\n"));
        }
    }
    text
}

/// The 1-based line of `- request: REQUEST` in `suite` (where the endpoint is).
fn line_of(suite: &str, request: &str) -> usize {
    let needle = format!("- request: {request}");
    1 + suite
        .lines()
        .position(|l| l.trim_start() == needle)
        .unwrap_or_else(|| panic!("no `{needle}` in\n{suite}"))
}

/// `LINE:COLUMN` (1-based) of the first `needle` at or after the first
/// line of `text` that contains `after`.
fn locate(text: &str, after: &str, needle: &str) -> String {
    let start = text
        .lines()
        .position(|l| l.contains(after))
        .unwrap_or_else(|| panic!("no `{after}` in\n{text}"));
    text.lines()
        .enumerate()
        .skip(start)
        .find_map(|(i, l)| l.find(needle).map(|c| format!("{}:{}", i + 1, c + 1)))
        .unwrap_or_else(|| panic!("no `{needle}` after `{after}` in\n{text}"))
}

/// Runs `permatrix` with `args` (and `GITHUB_ACTIONS=true` when `github`).
async fn permatrix(ws: &Workspace, args: &[&str], github: bool) -> Output {
    let env: &[(&str, &str)] = if github {
        &[("GITHUB_ACTIONS", "true")]
    } else {
        &[]
    };
    ws.permatrix_with_env(args, env).await
}

/// The lint findings of suite `s` of a JSON report.
fn lint_findings(report: &Value, s: usize) -> Vec<&Value> {
    report["suites"][s]["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("no findings list in {report:#}"))
        .iter()
        .filter(|f| f["lint"] == true)
        .collect()
}

/// Suite `s`'s lint findings of `id` as their lines (`id: E × P → S; …`),
/// written from the JSON witnesses, ` (accepted: why)` added when accepted.
fn lines_of(report: &Value, s: usize, id: &str) -> Vec<String> {
    lint_findings(report, s)
        .into_iter()
        .filter(|f| id.is_empty() || f["kind"] == id)
        .map(|f| {
            let witnesses: Vec<String> = f["witnesses"]
                .as_array()
                .expect("witnesses")
                .iter()
                .map(|w| {
                    let endpoint = w["endpoint"].as_str().expect("endpoint");
                    let principal = w["principal"].as_str().expect("principal");
                    format!("{endpoint} × {principal} → {}", w["status"])
                })
                .collect();
            let accepted = f["accepted_reason"]
                .as_str()
                .map_or(String::new(), |why| format!(" (accepted: {why})"));
            format!(
                "{}: {}{accepted}",
                f["kind"].as_str().expect("kind"),
                witnesses.join("; ")
            )
        })
        .collect()
}

/// Every lint finding of the first suite, as lines.
fn all_lines(report: &Value) -> Vec<String> {
    lines_of(report, 0, "")
}

/// The hints of the first suite's `id` findings, in order.
fn hints(report: &Value, id: &str) -> Vec<String> {
    lint_findings(report, 0)
        .into_iter()
        .filter(|f| f["kind"] == id)
        .map(|f| f["hint"].as_str().expect("hint").to_string())
        .collect()
}

/// The terminal's `findings in SUITE:` section, up to its blank line.
fn findings_section<'o>(out: &'o Output, suite: &str) -> &'o str {
    let header = format!("findings in {suite}:\n");
    let (_, rest) = out
        .stdout
        .split_once(&header)
        .unwrap_or_else(|| panic!("no `{header}` in:\n{}", out.stdout));
    rest.split("\n\n").next().unwrap_or_default()
}

/// The closing line (`N passed, N failed…`; GitHub annotations come after it).
fn closing(out: &Output) -> &str {
    let closing = out.stdout.lines().rev().find(|l| l.contains(" passed, "));
    closing.unwrap_or_else(|| panic!("no closing line in:\n{}", out.stdout))
}

/// Fails unless `text` contains each line of `needles`.
#[track_caller]
fn has(text: &str, needles: &str) {
    for needle in needles.lines().map(str::trim).filter(|l| !l.is_empty()) {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

/// `lines` as owned strings, for comparing with [`lines_of`].
fn owned(lines: &[&str]) -> Vec<String> {
    lines.iter().map(|l| l.to_string()).collect()
}

// 1. One test per lint: what it finds, and the near misses it must not.

#[tokio::test]
async fn existence_oracle_403_where_someone_reached_404_where_nobody_did() {
    let server = lint_server::start(
        "GET /docs/1 alice=200 bob=403
         GET /docs/2 alice=404 bob=404
         GET /vaults/11 alice=200 bob=404
         GET /vaults/12 alice=403 bob=403
         GET /files/1 alice=200 bob=404
         GET /files/2 alice=404 bob=404
         GET /tags/cafe alice=200 bob=403
         GET /tags/beef alice=404 bob=404
         GET /notes/1/view alice=200 bob=403
         GET /notes/1/edit alice=404 bob=404
         GET /boxes/red alice=200 bob=403
         GET /boxes/blue alice=404 bob=404
         GET /keys/123e4567-e89b-12d3-a456-426614174000 alice=200 bob=403
         GET /keys/deadbeefcafe alice=404 bob=404",
    )
    .await;
    let ws = Workspace::new();
    let text = suite(
        "oracle",
        &server.base,
        &["alice", "bob"],
        "vars: { box_a: red, box_b: blue }",
        // /files: 404 for every object, seen or not: nothing to tell apart.
        // /tags: `cafe` and `beef` are words (hex, but shorter than 8), not ids.
        // /notes: the paths differ in `view`/`edit`, not in an id.
        "GET /docs/1
         GET /docs/2
         GET /vaults/11
         GET /vaults/12
         GET /files/1
         GET /files/2
         GET /tags/cafe
         GET /tags/beef
         GET /notes/1/view
         GET /notes/1/edit
         GET /boxes/${box_a}
         GET /boxes/${box_b}
         GET /keys/123e4567-e89b-12d3-a456-426614174000
         GET /keys/deadbeefcafe",
    );
    ws.write("s.yaml", &text);
    let out = permatrix(&ws, &["run", "s.yaml", "--json", "r.json"], false).await;
    assert_eq!(out.code, 0, "a lint never fails a cell: {}", out.all());
    let report = ws.json("r.json");
    assert_eq!(
        all_lines(&report),
        owned(&[
            "existence_oracle: GET /docs/1 × bob → 403; GET /docs/2 × bob → 404; GET /docs/1 × alice → 200",
            "existence_oracle: GET /vaults/11 × bob → 404; GET /vaults/12 × bob → 403; GET /vaults/11 × alice → 200",
            "existence_oracle: GET /boxes/${box_a} × bob → 403; GET /boxes/${box_b} × bob → 404; GET /boxes/${box_a} × alice → 200",
            "existence_oracle: GET /keys/123e4567-e89b-12d3-a456-426614174000 × bob → 403; GET /keys/deadbeefcafe × bob → 404; GET /keys/123e4567-e89b-12d3-a456-426614174000 × alice → 200",
        ]),
        "{report:#}"
    );
    let hints = hints(&report, "existence_oracle");
    has(
        &hints[0],
        "on GET /docs/1…, bob gets 403 for objects another principal could read and 404 for the ones nobody could: the status tells which objects exist; answer both with 404",
    );
    has(
        &hints[1],
        "bob gets 404 for objects another principal could read and 403 for ones nobody could",
    );
    // Every cell passed: the finding is reported beside the matrix, not as a failure.
    assert_eq!(report["summary"]["failed"], 0, "{report:#}");
    let section = findings_section(&out, "oracle");
    has(
        section,
        "  existence_oracle: a principal's status tells which objects exist: 403 for objects someone could read, 404 for the others
         existence_oracle: GET /docs/1 × bob → 403; GET /docs/2 × bob → 404; GET /docs/1 × alice → 200
         on GET /docs/1…, bob gets 403 for objects another principal could read",
    );
    assert!(!section.contains("/files/"), "{section}");
    assert!(!section.contains("/tags/"), "{section}");
    assert!(!section.contains("/notes/"), "{section}");
}

#[tokio::test]
async fn existence_oracle_needs_paths_that_differ_in_an_id() {
    // Two endpoints on one path that differ only in their query are one
    // object seen two ways: bob's 403 and 404 on /docs/1 tell nothing about
    // which objects exist.
    let server = lint_server::start(
        "GET /docs/1?view=summary alice=200 bob=403
         GET /docs/1?view=full alice=404 bob=404",
    )
    .await;
    let ws = Workspace::new();
    let text = suite(
        "oneobject",
        &server.base,
        &["alice", "bob"],
        "",
        "GET /docs/1?view=summary
         GET /docs/1?view=full",
    );
    ws.write("s.yaml", &text);
    let out = permatrix(&ws, &["run", "s.yaml", "--json", "r.json"], false).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report = ws.json("r.json");
    assert_eq!(
        common::cell(&report, "GET /docs/1?view=full", "bob")["status"],
        404
    );
    assert_eq!(all_lines(&report), Vec::<String>::new(), "{report:#}");
}

#[tokio::test]
async fn valid_credentials_rejected_401_to_a_principal_whose_credentials_work_elsewhere() {
    // carol's credentials never work; alice~mangled, a tamper probe, is let
    // in at /gateway (accepted-tampered) and gets 401 where alice gets 200.
    let server = lint_server::start(
        "GET /home anon=401 alice=200 bob=200 carol=401 bad=401
         GET /gateway anon=401 alice=200 bob=200 carol=401 bad=200
         GET /admin/audit anon=401 alice=200 bob=401 carol=401 bad=401
         GET /billing anon=401 alice=403 bob=401 carol=401 bad=401
         GET /expired anon=401 alice=401 bob=401 carol=401 bad=401",
    )
    .await;
    let ws = Workspace::new();
    let text = suite(
        "creds",
        &server.base,
        &["anon", "alice probes: [mangled]", "bob", "carol"],
        "",
        "GET /home
         GET /gateway
         GET /admin/audit
         GET /billing
         GET /expired",
    );
    ws.write("s.yaml", &text);
    let out = permatrix(&ws, &["run", "s.yaml", "--json", "r.json"], false).await;
    let report = ws.json("r.json");
    let probe = common::cell(&report, "GET /gateway", "alice~mangled");
    assert_eq!(probe["outcome"], "accepted-tampered", "{probe:#}");
    assert_eq!(out.code, 1, "the probe let in fails the run: {}", out.all());
    // Witnesses: the 401, the cell proving bob's credentials work, the others'.
    // Not carol (never reached anything), not anon, not the probe, not /expired
    // (no other principal got 2xx or 403 there).
    assert_eq!(
        all_lines(&report),
        owned(&[
            "valid_credentials_rejected: GET /admin/audit × bob → 401; GET /home × bob → 200; GET /admin/audit × alice → 200",
            "valid_credentials_rejected: GET /billing × bob → 401; GET /home × bob → 200; GET /billing × alice → 403",
        ]),
        "{report:#}"
    );
    has(
        &hints(&report, "valid_credentials_rejected")[0],
        "bob's credentials work (bob reached GET /home), yet GET /admin/audit answered it 401 while alice got 200",
    );
    let first = lint_findings(&report, 0)[0];
    assert_eq!(first["endpoint"], "GET /admin/audit");
    assert_eq!(first["principal"], "bob");
    assert_eq!(first["status"], 401);
}

#[tokio::test]
async fn write_without_read_a_write_reached_on_a_path_whose_get_is_denied() {
    let server = lint_server::start(
        "GET /inbox alice=403 bob=200
         POST /inbox alice=201 bob=201
         GET /profile alice=404 bob=200
         PUT /profile alice=200 bob=200
         GET /outbox alice=403 bob=200
         POST /outbox/send alice=200 bob=200
         GET /graphql alice=403 bob=200
         POST /graphql alice=200 bob=200
         GET /archive alice=401 bob=200
         DELETE /archive alice=204 bob=204
         PATCH /archive alice=200 bob=200",
    )
    .await;
    let ws = Workspace::new();
    let text = suite(
        "wwr",
        &server.base,
        &["alice", "bob"],
        "",
        // The query is no part of the path. /profile: 404 is no denial.
        // /outbox and /outbox/send are two paths. GraphQL: one path serves
        // every operation, whatever the method.
        r#"GET /inbox?view=full
           POST /inbox
           GET /profile
           PUT /profile
           GET /outbox
           POST /outbox/send
           GET /graphql | name: viewer | graphql: { query: "query Viewer { viewer { ok } }" }
           POST /graphql | name: send | graphql: { query: "mutation Send { send { ok } }" }
           GET /archive
           DELETE /archive
           PATCH /archive"#,
    );
    ws.write("s.yaml", &text);
    let out = permatrix(&ws, &["run", "s.yaml", "--json", "r.json"], false).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report = ws.json("r.json");
    assert_eq!(common::cell(&report, "viewer", "alice")["decision"], 403);
    assert_eq!(common::cell(&report, "send", "alice")["decision"], 200);
    assert_eq!(
        lines_of(&report, 0, "write_without_read"),
        owned(&[
            "write_without_read: GET /inbox?view=full × alice → 403; POST /inbox × alice → 201",
            "write_without_read: GET /archive × alice → 401; DELETE /archive × alice → 204; PATCH /archive × alice → 200",
        ]),
        "{report:#}"
    );
    let hints = hints(&report, "write_without_read");
    has(&hints[0], "alice may POST /inbox but not GET it");
    has(&hints[1], "alice may DELETE/PATCH /archive but not GET it");
}

#[tokio::test]
async fn delete_without_update_a_delete_reached_where_the_update_is_denied() {
    let server = lint_server::start(
        "PUT /posts/7 alice=403 bob=200
         DELETE /posts/7 alice=204 bob=403
         PATCH /drafts/8 alice=401 bob=200
         DELETE /drafts/8 alice=200 bob=200
         PUT /pages/9 alice=200 bob=200
         DELETE /pages/9 alice=200 bob=200
         PUT /wiki/10 alice=403 bob=200
         DELETE /wiki/11 alice=204 bob=200
         POST /forms/12 alice=403 bob=200
         DELETE /forms/12 alice=204 bob=200",
    )
    .await;
    let ws = Workspace::new();
    let text = suite(
        "dwu",
        &server.base,
        &["alice", "bob"],
        "",
        // bob: DELETE denied, PUT reached (the usual order). /wiki: two
        // paths. /forms: a POST is no update.
        "PUT /posts/7
         DELETE /posts/7
         PATCH /drafts/8
         DELETE /drafts/8
         PUT /pages/9
         DELETE /pages/9
         PUT /wiki/10
         DELETE /wiki/11
         POST /forms/12
         DELETE /forms/12",
    );
    ws.write("s.yaml", &text);
    let out = permatrix(&ws, &["run", "s.yaml", "--json", "r.json"], false).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report = ws.json("r.json");
    assert_eq!(
        lines_of(&report, 0, "delete_without_update"),
        owned(&[
            "delete_without_update: PUT /posts/7 × alice → 403; DELETE /posts/7 × alice → 204",
            "delete_without_update: PATCH /drafts/8 × alice → 401; DELETE /drafts/8 × alice → 200",
        ]),
        "{report:#}"
    );
    has(
        &hints(&report, "delete_without_update")[0],
        "alice may DELETE /posts/7 but not update it",
    );
}

#[tokio::test]
async fn anonymous_over_authenticated_anonymous_reaches_what_a_signed_in_principal_is_refused() {
    let server = lint_server::start(
        "GET /feed anon=200 alice=403 bob=200
         GET /digest anon=200 alice=403 bob=403
         GET /public anon=200 alice=200 bob=200
         GET /lost anon=200 alice=404 bob=200
         GET /mine anon=401 alice=200 bob=403",
    )
    .await;
    let ws = Workspace::new();
    let text = suite(
        "aoa",
        &server.base,
        &["anon", "alice", "bob"],
        "",
        // /lost: 404 is no refusal; /mine: anonymous is refused too.
        "GET /feed
         GET /digest
         GET /public
         GET /lost
         GET /mine",
    );
    ws.write("s.yaml", &text);
    let out = permatrix(&ws, &["run", "s.yaml", "--json", "r.json"], false).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report = ws.json("r.json");
    assert_eq!(
        all_lines(&report),
        owned(&[
            "anonymous_over_authenticated: GET /feed × anon → 200; GET /feed × alice → 403",
            "anonymous_over_authenticated: GET /digest × anon → 200; GET /digest × alice → 403; GET /digest × bob → 403",
        ]),
        "{report:#}"
    );
    let hints = hints(&report, "anonymous_over_authenticated");
    has(
        &hints[0],
        "anon reaches GET /feed without credentials while alice is refused",
    );
    has(
        &hints[1],
        "anon reaches GET /digest without credentials while alice and bob are refused",
    );

    // Without an anonymous principal, a tamper probe that sends no credential
    // and is let in is accepted-tampered, not an anonymous caller.
    let server = lint_server::start("GET /feed anon=200 alice=200 bob=403").await;
    let text = suite(
        "probeanon",
        &server.base,
        &["alice probes: [none]", "bob"],
        "",
        "GET /feed",
    );
    ws.write("p.yaml", &text);
    let out = permatrix(&ws, &["run", "p.yaml", "--json", "p.json"], false).await;
    assert_eq!(out.code, 1, "{}", out.all());
    let report = ws.json("p.json");
    let probe = common::cell(&report, "GET /feed", "alice~none");
    assert_eq!(probe["outcome"], "accepted-tampered", "{probe:#}");
    assert_eq!(all_lines(&report), Vec::<String>::new(), "{report:#}");
}

#[tokio::test]
async fn anonymous_write_a_write_reached_without_credentials_five_shown_then_counted() {
    let server = lint_server::start(
        "POST /guestbook anon=201 alice=201
         DELETE /guestbook/1 anon=401 alice=204
         GET /guestbook anon=200 alice=200
         POST /graphql anon=200 alice=200
         PUT /wall/1 anon=200 alice=200
         PUT /wall/2 anon=200 alice=200
         PUT /wall/3 anon=200 alice=200
         PUT /wall/4 anon=200 alice=200
         PUT /wall/5 anon=200 alice=200
         PUT /wall/6 anon=200 alice=200",
    )
    .await;
    let ws = Workspace::new();
    let text = suite(
        "anonwrite",
        &server.base,
        &["anon", "alice"],
        "",
        // A GraphQL query sent by POST is a read; a mutation is a write.
        r#"POST /guestbook
           DELETE /guestbook/1
           GET /guestbook
           POST /graphql | name: search | graphql: { query: "query Search { search { ok } }" }
           POST /graphql | name: sign | graphql: { query: "mutation Sign { sign { ok } }" }
           PUT /wall/1
           PUT /wall/2
           PUT /wall/3
           PUT /wall/4
           PUT /wall/5
           PUT /wall/6"#,
    );
    ws.write("s.yaml", &text);
    let out = permatrix(&ws, &["run", "s.yaml", "--json", "r.json"], false).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report = ws.json("r.json");
    let mut expected = vec![
        "anonymous_write: POST /guestbook × anon → 201".to_string(),
        "anonymous_write: sign × anon → 200".to_string(),
    ];
    expected.extend((1..=6).map(|n| format!("anonymous_write: PUT /wall/{n} × anon → 200")));
    assert_eq!(all_lines(&report), expected, "{report:#}");
    has(
        &hints(&report, "anonymous_write")[0],
        "POST /guestbook changes state without credentials: anyone on the network can do it",
    );
    // The terminal: the explanation once, five findings, the rest counted.
    let section = findings_section(&out, "anonwrite");
    let lines: Vec<&str> = section.lines().filter(|l| !l.starts_with("    ")).collect();
    assert_eq!(
        lines,
        [
            "  anonymous_write: an anonymous caller reaches an endpoint that changes state",
            "  anonymous_write: POST /guestbook × anon → 201",
            "  anonymous_write: sign × anon → 200",
            "  anonymous_write: PUT /wall/1 × anon → 200",
            "  anonymous_write: PUT /wall/2 × anon → 200",
            "  anonymous_write: PUT /wall/3 × anon → 200",
            "  … and 3 more anonymous_write finding(s): every one is in the JSON, Markdown and HTML reports and the snapshot",
        ],
        "{}",
        out.stdout
    );
    // GitHub shows ten annotations of a kind: five findings of a lint are
    // annotated, the rest counted in one notice at the suite's line.
    let out = permatrix(&ws, &["run", "s.yaml", "--no-snapshot"], true).await;
    let annotated = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("::warning") && l.contains("lint%3A anonymous_write::"))
        .count();
    assert_eq!(annotated, 5, "{}", out.stdout);
    assert!(
        out.stdout.lines().any(|l| l.starts_with("::notice file=s.yaml,line=1,")
            && l.ends_with("::3 more anonymous_write finding(s) not annotated: every one is in the JSON, Markdown and HTML reports and the snapshot")),
        "{}",
        out.stdout
    );

    // A tamper probe without credentials is let in to a write: that is an
    // accepted tampered credential, not an anonymous principal's write.
    let server = lint_server::start("PUT /settings alice=200 anon=200").await;
    let text = suite(
        "probewrite",
        &server.base,
        &["alice probes: [none]"],
        "",
        "PUT /settings",
    );
    ws.write("p.yaml", &text);
    let out = permatrix(&ws, &["run", "p.yaml", "--json", "p.json"], false).await;
    assert_eq!(out.code, 1, "{}", out.all());
    let report = ws.json("p.json");
    let probe = common::cell(&report, "PUT /settings", "alice~none");
    assert_eq!(probe["outcome"], "accepted-tampered", "{probe:#}");
    assert_eq!(all_lines(&report), Vec::<String>::new(), "{report:#}");
}

#[tokio::test]
async fn undocumented_reachable_with_openapi_flag_and_suite_key() {
    const PETS: &str = "openapi: 3.0.3
info: { title: Pets, version: '1' }
paths:
  /pets:
    get: { responses: { '200': { description: ok } } }
  /pets/{id}:
    get: { responses: { '200': { description: ok } } }
";
    const EVERYTHING: &str = r#"{"openapi": "3.0.3", "info": {"title": "All", "version": "1"},
 "paths": {
  "/pets": {"get": {"responses": {"200": {"description": "ok"}}}},
  "/pets/{id}": {"get": {"responses": {"200": {"description": "ok"}}},
                 "delete": {"responses": {"204": {"description": "gone"}}}},
  "/debug/vars": {"get": {"responses": {"200": {"description": "ok"}}}},
  "/internal/metrics": {"get": {"responses": {"200": {"description": "ok"}}}}}}"#;
    const TABLE: &str = "GET /pets alice=200 bob=200
         GET /pets/5 alice=200 bob=403
         DELETE /pets/5 alice=204 bob=403
         GET /debug/vars alice=403 bob=200
         GET /internal/metrics alice=403 bob=404";
    let server = lint_server::start(TABLE).await;
    let ws = Workspace::new();
    // /internal/metrics is not in the document either, but nobody reached it.
    let endpoints = "GET /pets
                     GET /pets/5
                     DELETE /pets/5
                     GET /debug/vars
                     GET /internal/metrics";
    let expected = owned(&[
        "undocumented_reachable: DELETE /pets/5 × alice → 204",
        "undocumented_reachable: GET /debug/vars × bob → 200",
    ]);
    ws.write("pets.yaml", PETS);
    ws.write("everything.json", EVERYTHING);
    ws.write("broken.yaml", "just: a map\n");
    ws.write(
        "s.yaml",
        &suite("undoc", &server.base, &["alice", "bob"], "", endpoints),
    );

    // Without a document, there is nothing to compare with.
    let out = permatrix(&ws, &["run", "s.yaml", "--json", "r.json"], false).await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(all_lines(&ws.json("r.json")), Vec::<String>::new());

    let out = permatrix(
        &ws,
        &[
            "run",
            "s.yaml",
            "--openapi",
            "pets.yaml",
            "--json",
            "r.json",
        ],
        false,
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report = ws.json("r.json");
    assert_eq!(all_lines(&report), expected, "{report:#}");
    let hints = hints(&report, "undocumented_reachable");
    has(
        &hints[0],
        "DELETE /pets/5 answers 2xx, yet the API document (Pets) lists the path, not this method",
    );
    has(
        &hints[1],
        "GET /debug/vars answers 2xx, yet the API document (Pets) lists no such path",
    );

    // A tamper probe let in is no witness: only the principals that reached it.
    let probed = suite(
        "undocprobe",
        &server.base,
        &["alice", "bob probes: [mangled]"],
        "",
        "GET /debug/vars",
    );
    server.set("GET /debug/vars alice=403 bob=200 bad=200");
    ws.write("p.yaml", &probed);
    let out = permatrix(
        &ws,
        &[
            "run",
            "p.yaml",
            "--openapi",
            "pets.yaml",
            "--json",
            "p.json",
        ],
        false,
    )
    .await;
    assert_eq!(out.code, 1, "the probe let in fails the run: {}", out.all());
    let report = ws.json("p.json");
    let probe = common::cell(&report, "GET /debug/vars", "bob~mangled");
    assert_eq!(probe["outcome"], "accepted-tampered", "{probe:#}");
    assert_eq!(
        all_lines(&report),
        owned(&["undocumented_reachable: GET /debug/vars × bob → 200"])
    );
    server.set(TABLE);

    // `openapi:` is read relative to the suite's file, not the working folder.
    std::fs::create_dir_all(ws.path("suites/specs")).expect("mkdir");
    ws.write("suites/specs/pets.yaml", PETS);
    let with_key = suite(
        "undoc",
        &server.base,
        &["alice", "bob"],
        "openapi: specs/pets.yaml",
        endpoints,
    );
    ws.write("suites/s.yaml", &with_key);
    let out = permatrix(&ws, &["run", "suites/s.yaml", "--json", "r.json"], false).await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(all_lines(&ws.json("r.json")), expected);

    // The flag wins over the suite's key.
    let out = permatrix(
        &ws,
        &[
            "run",
            "suites/s.yaml",
            "--openapi",
            "everything.json",
            "--json",
            "r.json",
        ],
        false,
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(all_lines(&ws.json("r.json")), Vec::<String>::new());

    // An unreadable document stops the run before anything is sent.
    let sent = server.requests();
    for flag in ["broken.yaml", "nowhere.yaml"] {
        let out = permatrix(&ws, &["run", "s.yaml", "--openapi", flag], false).await;
        assert_eq!(out.code, 2, "{flag}: {}", out.all());
        has(&out.stderr, "--openapi");
    }
    let broken_key = suite(
        "undoc",
        &server.base,
        &["alice", "bob"],
        "openapi: ../broken.yaml",
        endpoints,
    );
    ws.write("suites/broken.yaml", &broken_key);
    let out = permatrix(&ws, &["run", "suites/broken.yaml"], false).await;
    assert_eq!(out.code, 2, "{}", out.all());
    has(
        &out.stderr,
        &format!(
            "suites/broken.yaml:{}: error: openapi:",
            locate(&broken_key, "openapi:", "../broken")
        ),
    );
    assert_eq!(server.requests(), sent, "nothing may be sent");

    // A file that is not there is a load error at the key.
    let missing = suite(
        "undoc",
        &server.base,
        &["alice", "bob"],
        "openapi: specs/nowhere.yaml",
        endpoints,
    );
    ws.write("suites/missing.yaml", &missing);
    let out = permatrix(&ws, &["check", "suites/missing.yaml"], false).await;
    assert_eq!(out.code, 2, "{}", out.all());
    has(
        &out.all(),
        &format!(
            "suites/missing.yaml:{}: error: openapi: no file",
            locate(&missing, "openapi:", "specs/")
        ),
    );
}

#[tokio::test]
async fn check_refuses_a_suite_whose_openapi_document_run_refuses() {
    // The `openapi:` document is read while the suite loads: `check` and
    // `run` refuse it alike, at the key.
    let ws = Workspace::new();
    ws.write("broken.yaml", "just: a map\n");
    let text = suite(
        "undoc",
        "http://127.0.0.1:9",
        &["alice"],
        "openapi: broken.yaml",
        "GET /pets",
    );
    ws.write("s.yaml", &text);
    let run = permatrix(&ws, &["run", "s.yaml"], false).await;
    assert_eq!(run.code, 2, "{}", run.all());
    let at = format!(
        "s.yaml:{}: error: openapi: broken.yaml: not an OpenAPI document",
        locate(&text, "openapi:", "broken")
    );
    has(&run.stderr, &at);
    let check = permatrix(&ws, &["check", "s.yaml"], false).await;
    assert_eq!(check.code, 2, "check and run disagree: {}", check.all());
    has(&check.all(), &at);
}

#[tokio::test]
async fn privilege_inversion_by_ranks() {
    let server = lint_server::start(
        "GET /settings anon=401 reader=200 delegate=403 editor=200 admin=403 outsider=200
         GET /reports anon=401 reader=200 delegate=200 editor=200 admin=200 outsider=200
         GET /people anon=401 reader=200 delegate=200 editor=200 admin=200 outsider=403
         GET /peer anon=401 reader=200 delegate=403 editor=200 admin=200 outsider=200",
    )
    .await;
    let ws = Workspace::new();
    let principals = ["anon", "reader", "delegate", "editor", "admin", "outsider"];
    // outsider is in no rank: compared with nobody. reader and delegate are
    // peers: reader reaching what delegate is refused is no inversion.
    let text = suite(
        "ranked",
        &server.base,
        &principals,
        "ranks: [[anon], [reader, delegate], [editor], [admin]]",
        "GET /settings
         GET /reports
         GET /people
         GET /peer",
    );
    ws.write("s.yaml", &text);
    let out = permatrix(&ws, &["run", "s.yaml", "--json", "r.json"], false).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report = ws.json("r.json");
    assert_eq!(
        all_lines(&report),
        owned(&[
            "privilege_inversion: GET /settings × admin → 403; GET /settings × reader → 200; GET /settings × editor → 200"
        ]),
        "{report:#}"
    );
    has(
        &hints(&report, "privilege_inversion")[0],
        "reader and editor reach GET /settings, yet admin (higher in `ranks`) is refused",
    );

    // A name of no principal, and a principal in two ranks: located errors.
    let bad = suite(
        "ranked",
        &server.base,
        &principals,
        "ranks: [[anon], [reader, edtor], [admin], [reader]]",
        "GET /settings",
    );
    ws.write("bad.yaml", &bad);
    let out = permatrix(&ws, &["check", "bad.yaml"], false).await;
    assert_eq!(out.code, 2, "{}", out.all());
    has(
        &out.all(),
        &format!(
            "bad.yaml:{}: error: `ranks` names unknown principal `edtor`
             did you mean `editor`?
             bad.yaml:{}: error: `reader` is in two ranks",
            locate(&bad, "ranks:", "edtor"),
            locate(&bad, "ranks:", "reader]]")
        ),
    );
    let out = permatrix(&ws, &["run", "bad.yaml"], false).await;
    assert_eq!(out.code, 2, "{}", out.all());
}

#[tokio::test]
async fn privilege_inversion_by_scope_closures_without_ranks() {
    let server = lint_server::start(
        "GET /x viewer=200 manager=403 boss=200 sideways=200 stranger=200
         GET /y viewer=200 manager=200 boss=403 sideways=200 stranger=200
         GET /z viewer=403 manager=200 boss=200 sideways=403 stranger=403",
    )
    .await;
    let ws = Workspace::new();
    // boss holds admin, which implies write and read: above manager and
    // viewer. sideways holds another scope, stranger declares none: neither
    // is compared. /z: the lowest refused is the expected order.
    let text = suite(
        "scoped",
        &server.base,
        &[
            "viewer scopes: [read]",
            "manager scopes: [read, write]",
            "boss scopes: [admin]",
            "sideways scopes: [billing]",
            "stranger",
        ],
        "scope_implies: { admin: [write, read] }",
        "GET /x
         GET /y
         GET /z",
    );
    ws.write("s.yaml", &text);
    let out = permatrix(&ws, &["run", "s.yaml", "--json", "r.json"], false).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report = ws.json("r.json");
    assert_eq!(
        all_lines(&report),
        owned(&[
            "privilege_inversion: GET /x × manager → 403; GET /x × viewer → 200",
            "privilege_inversion: GET /y × boss → 403; GET /y × viewer → 200; GET /y × manager → 200",
        ]),
        "{report:#}"
    );
    has(
        &hints(&report, "privilege_inversion")[1],
        "viewer and manager reach GET /y, yet boss (higher: its scopes include theirs) is refused",
    );
}

// 2. allow_lints: accepted findings are reported, never fail the run.

#[tokio::test]
async fn allow_lints_accepts_a_finding_when_any_witness_endpoint_allows_it() {
    let server = lint_server::start(
        "GET /dropbox alice=403
         POST /dropbox alice=201
         GET /inbox alice=403
         POST /inbox alice=201",
    )
    .await;
    let ws = Workspace::new();
    // The allowing endpoint is the second witness, not the first.
    let text = suite(
        "allowed",
        &server.base,
        &["alice"],
        "",
        r#"GET /dropbox
           POST /dropbox | allow_lints: { write_without_read: "drop box: write-only by design" }
           GET /inbox
           POST /inbox"#,
    );
    ws.write("s.yaml", &text);
    let args = [
        "run",
        "s.yaml",
        "--fail-on",
        "write_without_read",
        "--json",
        "r.json",
        "--markdown",
        "r.md",
        "--html",
        "r.html",
        "--snapshots",
        "snaps",
    ];
    let out = permatrix(&ws, &args, true).await;
    let accepted = "write_without_read: GET /dropbox × alice → 403; POST /dropbox × alice → 201 (accepted: drop box: write-only by design)";
    let unaccepted = "write_without_read: GET /inbox × alice → 403; POST /inbox × alice → 201";
    let report = ws.json("r.json");
    assert_eq!(
        all_lines(&report),
        owned(&[accepted, unaccepted]),
        "{report:#}"
    );
    assert_eq!(lint_findings(&report, 0)[1]["accepted_reason"], Value::Null);
    // Only the finding nobody accepted fails the run.
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        closing(&out).ends_with("4 passed, 0 failed · exit 1: 1 write_without_read"),
        "{}",
        out.stdout
    );
    has(
        findings_section(&out, "allowed"),
        &format!("{accepted}\n{unaccepted}"),
    );
    let dropbox = line_of(&text, "GET /dropbox");
    let inbox = line_of(&text, "GET /inbox");
    has(
        &out.stdout,
        &format!(
            "::notice file=s.yaml,line={dropbox},title=allowed › lint%3A write_without_read::{accepted} — 
             ::error file=s.yaml,line={inbox},title=allowed › lint%3A write_without_read::{unaccepted} — "
        ),
    );
    has(
        &ws.read("snaps/allowed.snap"),
        &format!(":: lint findings\n  {accepted}\n  {unaccepted}\n"),
    );
    has(
        &ws.read("r.md"),
        "| **write_without_read** (accepted: drop box: write-only by design) | `GET /dropbox × alice → 403`; `POST /dropbox × alice → 201` |",
    );
    has(
        &ws.read("r.html"),
        "<strong>write_without_read</strong> <em>accepted: drop box: write-only by design</em>",
    );

    // The accepted finding alone: reported, exit 0.
    let out = permatrix(
        &ws,
        &[
            "run",
            "s.yaml",
            "--filter",
            "dropbox",
            "--fail-on",
            "write_without_read",
            "--json",
            "r.json",
        ],
        false,
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(all_lines(&ws.json("r.json")), owned(&[accepted]));
    assert!(closing(&out).ends_with("· exit 0"), "{}", out.stdout);
}

#[tokio::test]
async fn allow_lints_needs_a_known_id_and_a_reason() {
    let ws = Workspace::new();
    let text = suite(
        "allowed",
        "http://127.0.0.1:9",
        &["alice"],
        "",
        r#"GET /a | allow_lints: { write_without_read: "" }
           GET /b | allow_lints: { write_without_read: "   " }
           GET /c | allow_lints: { write_without_reed: "a reason" }"#,
    );
    ws.write("s.yaml", &text);
    let out = permatrix(&ws, &["check", "s.yaml"], false).await;
    assert_eq!(out.code, 2, "{}", out.all());
    has(
        &out.all(),
        &format!(
            "s.yaml:{}: error: `allow_lints.write_without_read` needs a reason
             s.yaml:{}: error: `allow_lints.write_without_read` needs a reason
             s.yaml:{}: error: unknown lint `write_without_reed`
             did you mean `write_without_read`?",
            locate(&text, "GET /a", "\"\""),
            locate(&text, "GET /b", "\"   \""),
            locate(&text, "GET /c", "write_without_reed"),
        ),
    );
}

// 3. Which lints run: `lints:`, `--lints`.

#[tokio::test]
async fn lints_key_and_flag_choose_which_lints_run() {
    let server = lint_server::start(
        "GET /box anon=403 alice=403
         POST /box anon=201 alice=201",
    )
    .await;
    let ws = Workspace::new();
    let everything = owned(&[
        "write_without_read: GET /box × anon → 403; POST /box × anon → 201",
        "write_without_read: GET /box × alice → 403; POST /box × alice → 201",
        "anonymous_write: POST /box × anon → 201",
    ]);
    let wwr = everything[..2].to_vec();
    let anon = everything[2..].to_vec();
    let none: Vec<String> = Vec::new();
    let cases: [(&str, &[&str], &Vec<String>); 7] = [
        ("", &[], &everything),
        ("lints: none", &[], &none),
        ("lints: [anonymous_write]", &[], &anon),
        ("lints: anonymous_write", &[], &anon),
        ("lints: none", &["--lints", "write_without_read"], &wwr),
        ("lints: [anonymous_write]", &["--lints", "none"], &none),
        ("lints: none", &["--lints", "all"], &everything),
    ];
    for (key, flags, expected) in cases {
        let text = suite(
            "chosen",
            &server.base,
            &["anon", "alice"],
            key,
            "GET /box\nPOST /box",
        );
        ws.write("s.yaml", &text);
        let mut args = vec!["run", "s.yaml", "--json", "r.json"];
        args.extend_from_slice(flags);
        let out = permatrix(&ws, &args, false).await;
        assert_eq!(out.code, 0, "{key} {flags:?}: {}", out.all());
        assert_eq!(&all_lines(&ws.json("r.json")), expected, "{key} {flags:?}");
        assert_eq!(
            out.stdout.contains("findings in chosen:"),
            !expected.is_empty(),
            "{key} {flags:?}: {}",
            out.stdout
        );
    }

    // An unknown id: a located load error in the suite, a usage error on the flag.
    let text = suite(
        "chosen",
        &server.base,
        &["anon", "alice"],
        "lints: [write_without_read, anonymous_wrte]",
        "GET /box",
    );
    ws.write("bad.yaml", &text);
    let out = permatrix(&ws, &["run", "bad.yaml"], false).await;
    assert_eq!(out.code, 2, "{}", out.all());
    has(
        &out.all(),
        &format!(
            "bad.yaml:{}: error: unknown lint `anonymous_wrte`
             did you mean `anonymous_write`?",
            locate(&text, "lints:", "anonymous_wrte")
        ),
    );
    let sent = server.requests();
    let out = permatrix(&ws, &["run", "s.yaml", "--lints", "anonymous_wrte"], false).await;
    assert_eq!(out.code, 2, "{}", out.all());
    has(
        &out.stderr,
        "unknown lint `anonymous_wrte` (did you mean `anonymous_write`?)",
    );
    assert_eq!(server.requests(), sent, "nothing may be sent");
}

// 4. The snapshot: lint lines, finding-added and finding-removed.

#[tokio::test]
async fn snapshot_keeps_lint_lines_and_a_new_finding_is_a_change() {
    let server = lint_server::start(
        "GET /docs/1 anon=401 alice=200 bob=403
         GET /docs/2 anon=401 alice=404 bob=404
         GET /vaults/1 anon=401 alice=200 bob=403
         GET /vaults/2 anon=401 alice=403 bob=403
         POST /guestbook anon=201 alice=201 bob=201",
    )
    .await;
    let ws = Workspace::new();
    let text = suite(
        "snap",
        &server.base,
        &["anon", "alice", "bob"],
        "",
        "GET /docs/1
         GET /docs/2
         GET /vaults/1
         GET /vaults/2
         POST /guestbook",
    );
    ws.write("s.yaml", &text);
    let run = |extra: &'static [&'static str]| {
        let mut args = vec!["run", "s.yaml", "--snapshots", "snaps"];
        args.extend_from_slice(extra);
        let ws = &ws;
        async move { permatrix(ws, &args, false).await }
    };
    let guestbook = "anonymous_write: POST /guestbook × anon → 201";
    let docs = "existence_oracle: GET /docs/1 × bob → 403; GET /docs/2 × bob → 404; GET /docs/1 × alice → 200";
    let vaults = "existence_oracle: GET /vaults/1 × bob → 403; GET /vaults/2 × bob → 404; GET /vaults/1 × alice → 200";

    // First run: the lint findings written after the matrix, sorted by line
    // (anonymous_write before existence_oracle, though lints report the other way).
    let out = run(&[]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let written = ws.read("snaps/snap.snap");
    assert!(
        written.ends_with(&format!(":: lint findings\n  {guestbook}\n  {docs}\n")),
        "{written}"
    );
    let section = findings_section(&out, "snap");
    let existence = section.find("existence_oracle:").expect("existence_oracle");
    let anonymous = section.find("anonymous_write:").expect("anonymous_write");
    assert!(
        existence < anonymous,
        "lint order in the terminal: {section}"
    );

    // The server now answers 404 for /vaults/2: a new finding.
    server.set(
        "GET /docs/1 anon=401 alice=200 bob=403
         GET /docs/2 anon=401 alice=404 bob=404
         GET /vaults/1 anon=401 alice=200 bob=403
         GET /vaults/2 anon=401 alice=403 bob=404
         POST /guestbook anon=201 alice=201 bob=201",
    );
    let out = run(&[]).await;
    assert_eq!(
        out.code,
        1,
        "a snapshot change fails by default: {}",
        out.all()
    );
    has(&out.stdout, &format!("  finding-added lint {vaults}"));
    assert!(
        closing(&out).contains("1 snapshot changed (1 changed, 1 finding-added)"),
        "{}",
        out.stdout
    );
    assert!(!closing(&out).contains(" · exit"), "{}", out.stdout);
    assert!(
        ws.read("snaps/snap.snap.new").ends_with(&format!(
            ":: lint findings\n  {guestbook}\n  {docs}\n  {vaults}\n"
        )),
        "{}",
        ws.read("snaps/snap.snap.new")
    );

    // Failing on mismatches only: the same run passes, and says what it reported.
    let out = run(&["--fail-on", "mismatch"]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    has(&out.stdout, &format!("  finding-added lint {vaults}"));
    assert!(
        closing(&out).ends_with("· exit 0; reported: 1 changed, 1 finding-added, 3 lint findings"),
        "{}",
        out.stdout
    );

    let out = run(&["--accept"]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        ws.read("snaps/snap.snap").ends_with(&format!(
            ":: lint findings\n  {guestbook}\n  {docs}\n  {vaults}\n"
        )),
        "{}",
        ws.read("snaps/snap.snap")
    );

    // A run of bob alone, or of some endpoints, keeps the findings the
    // others' recorded cells make; so does a run that computes fewer lints
    // (not looked for is not gone).
    let partials: [&'static [&'static str]; 4] = [
        &["--principal", "bob"],
        &["--filter", "vaults"],
        &["--lints", "none"],
        &["--lints", "anonymous_write"],
    ];
    for partial in partials {
        let out = run(partial).await;
        assert_eq!(out.code, 0, "{partial:?}: {}", out.all());
        assert!(!out.stdout.contains("snapshot snap:"), "{}", out.stdout);
    }

    // /docs/2 answers bob 403 now: the docs finding is gone.
    server.set(
        "GET /docs/1 anon=401 alice=200 bob=403
         GET /docs/2 anon=401 alice=404 bob=403
         GET /vaults/1 anon=401 alice=200 bob=403
         GET /vaults/2 anon=401 alice=403 bob=404
         POST /guestbook anon=201 alice=201 bob=201",
    );
    let out = run(&[]).await;
    assert_eq!(out.code, 1, "{}", out.all());
    has(&out.stdout, &format!("  finding-removed lint {docs}"));
    let out = run(&["--fail-on", "finding-added"]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        closing(&out)
            .ends_with("· exit 0; reported: 1 changed, 1 finding-removed, 2 lint findings"),
        "{}",
        out.stdout
    );
    let out = run(&["--fail-on", "finding-removed"]).await;
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        closing(&out).contains("· exit 1: 1 finding-removed; reported: 1 changed, 2 lint findings"),
        "{}",
        out.stdout
    );
}

#[tokio::test]
async fn the_json_report_of_a_lint_change_matches_the_schema() {
    // `finding-added` and `finding-removed` are snapshot change classes in
    // the JSON report (`snapshot.changes[].class`): the schema knows them.
    let table = |vault: u16| {
        format!(
            "GET /vaults/1 alice=200 bob=403
             GET /vaults/2 alice=403 bob={vault}"
        )
    };
    let server = lint_server::start(&table(403)).await;
    let ws = Workspace::new();
    let text = suite(
        "schema",
        &server.base,
        &["alice", "bob"],
        "",
        "GET /vaults/1\nGET /vaults/2",
    );
    ws.write("s.yaml", &text);
    let args = ["run", "s.yaml", "--snapshots", "snaps", "--json", "r.json"];
    let out = permatrix(&ws, &args, false).await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert_valid(&ws.json("r.json"));

    server.set(&table(404));
    let out = permatrix(&ws, &args, false).await;
    assert_eq!(out.code, 1, "{}", out.all());
    let report = ws.json("r.json");
    let changes = &report["suites"][0]["snapshot"]["changes"];
    assert!(
        changes
            .as_array()
            .expect("changes")
            .iter()
            .any(|c| c["class"] == "finding-added"),
        "{changes:#}"
    );
    assert_valid(&report);
}

// 5. --fail-on and fail_on:.

#[tokio::test]
async fn fail_on_replaces_what_fails_the_run() {
    let server = lint_server::start(
        "GET /docs/1 alice=200 bob=403
         GET /docs/2 alice=404 bob=404
         GET /me alice=403 bob=200",
    )
    .await;
    let ws = Workspace::new();
    let write = |name: &str, top: &str| {
        let text = suite(
            "failon",
            &server.base,
            &["alice", "bob"],
            top,
            "GET /docs/1
             GET /docs/2
             GET /me | expect: { alice: 200 }",
        );
        ws.write(name, &text);
        text
    };
    let text = write("s.yaml", "");
    write("key.yaml", "fail_on: existence_oracle");
    write("list.yaml", "fail_on: [mismatch]");
    let fail_line = "FAIL  failon › GET /me › alice: expected 200, got 403";

    // By default a mismatch fails, and the closing line has no policy part.
    let out = permatrix(&ws, &["run", "s.yaml"], false).await;
    assert_eq!(out.code, 1, "{}", out.all());
    assert_eq!(closing(&out), "5 passed, 1 failed", "{}", out.stdout);

    let cases: [(&str, &[&str], i32, &str); 6] = [
        (
            "s.yaml",
            &["--fail-on", "widened"],
            0,
            "5 passed, 1 failed · exit 0; reported: 1 mismatch, 1 lint finding",
        ),
        (
            "s.yaml",
            &["--fail-on", "existence_oracle"],
            1,
            "5 passed, 1 failed · exit 1: 1 existence_oracle; reported: 1 mismatch",
        ),
        (
            "s.yaml",
            &["--fail-on", "widened,existence_oracle,mismatch"],
            1,
            "5 passed, 1 failed · exit 1: 1 existence_oracle, 1 mismatch",
        ),
        (
            "key.yaml",
            &[],
            1,
            "5 passed, 1 failed · exit 1: 1 existence_oracle; reported: 1 mismatch",
        ),
        (
            "key.yaml",
            &["--fail-on", "widened"],
            0,
            "5 passed, 1 failed · exit 0; reported: 1 mismatch, 1 lint finding",
        ),
        (
            "list.yaml",
            &[],
            1,
            "5 passed, 1 failed · exit 1: 1 mismatch; reported: 1 lint finding",
        ),
    ];
    for (file, flags, code, line) in cases {
        let mut args = vec!["run", file];
        args.extend_from_slice(flags);
        let out = permatrix(&ws, &args, false).await;
        assert_eq!(out.code, code, "{file} {flags:?}: {}", out.all());
        // Whatever fails the run, the failing cell is shown.
        has(&out.stdout, fail_line);
        assert_eq!(closing(&out), line, "{file} {flags:?}: {}", out.stdout);
    }

    // --quiet shows only the findings that fail the run.
    let out = permatrix(
        &ws,
        &["run", "s.yaml", "--quiet", "--fail-on", "widened"],
        false,
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.all());
    has(&out.stdout, fail_line);
    assert!(!out.stdout.contains("findings in"), "{}", out.stdout);
    let args = ["run", "s.yaml", "--quiet", "--fail-on", "existence_oracle"];
    let out = permatrix(&ws, &args, false).await;
    assert_eq!(out.code, 1, "{}", out.all());
    has(
        findings_section(&out, "failon"),
        "existence_oracle: GET /docs/1 × bob → 403; GET /docs/2 × bob → 404; GET /docs/1 × alice → 200",
    );

    // On GitHub, a cell outside --fail-on is a warning; the lint in it an error.
    let out = permatrix(&ws, &args, true).await;
    assert_eq!(out.code, 1, "{}", out.all());
    has(
        &out.stdout,
        &format!(
            "::warning file=s.yaml,line={},title=failon › GET /me › alice%3A failed::expected 200, got 403
             ::error file=s.yaml,line={},title=failon › lint%3A existence_oracle::existence_oracle: ",
            line_of(&text, "GET /me"),
            line_of(&text, "GET /docs/1"),
        ),
    );

    // An unknown class: exit 2 listing the classes; located in a suite.
    let out = permatrix(
        &ws,
        &["run", "s.yaml", "--fail-on", "mismatch,widend"],
        false,
    )
    .await;
    assert_eq!(out.code, 2, "{}", out.all());
    has(
        &out.stderr,
        "unknown class `widend` (did you mean `widened`?); the classes are mismatch, error, accepted_tampered, denied_but_applied, widened, auth-broken, narrowed, changed, added, removed, finding-added, finding-removed, snapshot-missing, denied_despite_scopes, reached_without_scopes, unused_scopes, reached_but_ignored, existence_oracle, valid_credentials_rejected, write_without_read, delete_without_update, anonymous_over_authenticated, anonymous_write, undocumented_reachable, privilege_inversion",
    );
    let text = ws
        .read("list.yaml")
        .replace("[mismatch]", "[mismatch, widend]");
    ws.write("bad.yaml", &text);
    let out = permatrix(&ws, &["check", "bad.yaml"], false).await;
    assert_eq!(out.code, 2, "{}", out.all());
    has(
        &out.all(),
        &format!(
            "bad.yaml:{}: error: unknown class `widend` in `fail_on`
             did you mean `widened`?",
            locate(&text, "fail_on:", "widend")
        ),
    );
}

// 6. The reports.

#[tokio::test]
async fn lint_findings_in_json_junit_github_html_and_markdown() {
    let server = lint_server::start(
        "GET /docs/1 anon=401 alice=200 bob=403
         GET /docs/2 anon=401 alice=404 bob=404
         GET /dropbox anon=401 alice=403 bob=403
         POST /dropbox anon=401 alice=201 bob=403
         POST /guestbook anon=201 alice=201 bob=201",
    )
    .await;
    let ws = Workspace::new();
    let text = suite(
        "reports",
        &server.base,
        &["anon", "alice", "bob"],
        "",
        r#"GET /docs/1
           GET /docs/2
           GET /dropbox | allow_lints: { write_without_read: "drop box" }
           POST /dropbox
           POST /guestbook"#,
    );
    ws.write("s.yaml", &text);
    let mut args = vec!["run", "s.yaml", "--fail-on", "existence_oracle"];
    args.extend_from_slice(common::EVERY_REPORT);
    let out = permatrix(&ws, &args, true).await;
    assert_eq!(out.code, 1, "{}", out.all());
    let oracle = "existence_oracle: GET /docs/1 × bob → 403; GET /docs/2 × bob → 404; GET /docs/1 × alice → 200";
    let dropbox = "write_without_read: GET /dropbox × alice → 403; POST /dropbox × alice → 201 (accepted: drop box)";
    let guestbook = "anonymous_write: POST /guestbook × anon → 201";

    // JSON: every field of a lint finding.
    let report = ws.json("r.json");
    assert_valid(&report);
    assert_eq!(all_lines(&report), owned(&[oracle, dropbox, guestbook]));
    let found = lint_findings(&report, 0);
    let first = found[0];
    assert_eq!(first["kind"], "existence_oracle");
    assert_eq!(first["lint"], true);
    assert_eq!(first["endpoint"], "GET /docs/1");
    assert_eq!(first["principal"], "bob");
    assert_eq!(first["status"], 403);
    assert_eq!(
        first["explanation"],
        "a principal's status tells which objects exist: 403 for objects someone could read, 404 for the others"
    );
    assert_eq!(
        first["witnesses"],
        serde_json::json!([
            {"endpoint": "GET /docs/1", "principal": "bob", "status": 403},
            {"endpoint": "GET /docs/2", "principal": "bob", "status": 404},
            {"endpoint": "GET /docs/1", "principal": "alice", "status": 200},
        ])
    );
    assert_eq!(first["accepted_reason"], Value::Null);
    assert_eq!(found[1]["accepted_reason"], "drop box");

    // GitHub: at the first witness endpoint's line; an error when its lint
    // is in --fail-on, a notice when accepted, else a warning.
    let annotations: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.contains("lint%3A"))
        .collect();
    let at = |request: &str| line_of(&text, request);
    let expected = [
        format!(
            "::error file=s.yaml,line={},title=reports › lint%3A existence_oracle::{oracle} — a principal's status tells which objects exist: 403 for objects someone could read, 404 for the others: on GET /docs/1…, bob gets 403",
            at("GET /docs/1")
        ),
        format!(
            "::notice file=s.yaml,line={},title=reports › lint%3A write_without_read::{dropbox} — ",
            at("GET /dropbox")
        ),
        format!(
            "::warning file=s.yaml,line={},title=reports › lint%3A anonymous_write::{guestbook} — ",
            at("POST /guestbook")
        ),
    ];
    assert_eq!(annotations.len(), 3, "{}", out.stdout);
    for (line, start) in annotations.iter().zip(&expected) {
        assert!(
            line.starts_with(start.as_str()),
            "{line}\nshould start {start}"
        );
    }

    // JUnit: one `lints` testcase, a failure for the lint in --fail-on only.
    let junit = ws.read("r.xml");
    let case = junit_case(&junit, "lints");
    has(
        case,
        &format!(
            r#"classname="reports"
               type="lint"
               1 lint finding(s) in --fail-on
               {}"#,
            xml(oracle)
        ),
    );
    assert!(!case_failure(case).contains("drop box"), "{case}");
    assert!(!case_failure(case).contains("anonymous_write"), "{case}");
    has(case, &xml(guestbook));

    // HTML: each witness links to a cell that exists.
    let html = ws.read("r.html");
    let links: Vec<&str> = html
        .split("href=\"#c-")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap_or_default())
        .collect();
    assert_eq!(links.len(), 3 + 2 + 1, "{links:?}");
    for link in &links {
        assert!(
            html.contains(&format!("id=\"c-{link}\"")),
            "no cell c-{link} in the HTML"
        );
    }
    // GET /docs/1 (endpoint 0) × bob (principal 2): the oracle's first witness.
    assert!(links.contains(&"0-0-2"), "{links:?}");

    // Two suites: each link names its own suite's cell.
    ws.write("t.yaml", &text.replace("suite: reports", "suite: second"));
    let args = ["run", "s.yaml", "t.yaml", "--html", "two.html"];
    let out = permatrix(&ws, &args, false).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let two = ws.read("two.html");
    let links: Vec<&str> = two
        .split("href=\"#c-")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap_or_default())
        .collect();
    assert_eq!(links.len(), 2 * 6, "{links:?}");
    assert!(links.contains(&"1-0-2"), "{links:?}");
    for link in &links {
        assert!(
            two.contains(&format!("id=\"c-{link}\"")),
            "no cell c-{link}"
        );
    }

    // Markdown: a table of lint findings.
    let markdown = ws.read("r.md");
    has(
        &markdown,
        "### Lint findings
         | lint | witnesses | what it means |
         | **existence_oracle** | `GET /docs/1 × bob → 403`; `GET /docs/2 × bob → 404`; `GET /docs/1 × alice → 200` |
         | **write_without_read** (accepted: drop box) | `GET /dropbox × alice → 403`; `POST /dropbox × alice → 201` |
         | **anonymous_write** | `POST /guestbook × anon → 201` |",
    );

    // Without --fail-on, the `lints` testcase passes, and every annotation
    // of a lint is a warning or a notice.
    let mut args = vec!["run", "s.yaml"];
    args.extend_from_slice(common::EVERY_REPORT);
    let out = permatrix(&ws, &args, true).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let junit = ws.read("r.xml");
    let case = junit_case(&junit, "lints");
    assert!(!case.contains("<failure"), "{case}");
    has(case, &xml(oracle));
    assert!(
        !out.stdout.lines().any(|l| l.starts_with("::error")),
        "{}",
        out.stdout
    );
}

/// The `<testcase name="NAME" …>…</testcase>` of a JUnit report.
fn junit_case<'j>(junit: &'j str, name: &str) -> &'j str {
    let start = junit
        .find(&format!("<testcase name=\"{name}\""))
        .unwrap_or_else(|| panic!("no testcase {name} in\n{junit}"));
    let rest = &junit[start..];
    let end = rest.find("</testcase>").map_or(rest.len(), |e| e + 11);
    &rest[..end]
}

/// The `<failure …>…</failure>` of a testcase ("" without one).
fn case_failure(case: &str) -> &str {
    let Some(start) = case.find("<failure") else {
        return "";
    };
    let rest = &case[start..];
    &rest[..rest.find("</failure>").unwrap_or(rest.len())]
}

/// `text` as XML character data escapes it.
fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[tokio::test]
async fn fail_on_lists_name_something_and_suite_keys_take_commas() {
    let server = lint_server::start(
        "GET /docs/1 anon=401 alice=200 bob=403
         GET /docs/2 anon=401 alice=404 bob=404
         POST /guestbook anon=201 alice=201 bob=201",
    )
    .await;
    let ws = Workspace::new();
    let endpoints = "GET /docs/1
         GET /docs/2
         POST /guestbook";
    let principals = ["anon", "alice", "bob"];
    ws.write(
        "s.yaml",
        &suite("lists", &server.base, &principals, "", endpoints),
    );
    // An empty list would let nothing fail the run: refused, on the flag and in a suite.
    let out = permatrix(&ws, &["run", "s.yaml", "--fail-on", ""], false).await;
    assert_eq!(out.code, 2, "{}", out.all());
    has(
        &out.stderr,
        "the list names no class: nothing would ever fail the run",
    );
    let empty = suite("lists", &server.base, &principals, "fail_on: []", endpoints);
    ws.write("e.yaml", &empty);
    let out = permatrix(&ws, &["check", "e.yaml"], false).await;
    assert_eq!(out.code, 2, "{}", out.all());
    has(&out.all(), "`fail_on` names no class");
    // One string with commas reads as the flag's list does.
    let comma = suite(
        "lists",
        &server.base,
        &principals,
        "lints: \"existence_oracle, anonymous_write\"\nfail_on: \"mismatch, anonymous_write\"",
        endpoints,
    );
    ws.write("c.yaml", &comma);
    let out = permatrix(&ws, &["run", "c.yaml", "--no-snapshot"], false).await;
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        closing(&out).ends_with("· exit 1: 1 anonymous_write; reported: 1 lint finding"),
        "{}",
        out.stdout
    );
}

#[tokio::test]
async fn openapi_map_matches_an_old_prefix_as_the_documented_one() {
    // Jira's v2 and v3 paths are one API; its document lists v3 only.
    const V3: &str = "openapi: 3.0.3
info: { title: Issues, version: '3' }
paths:
  /rest/api/3/issue/{key}:
    get: { responses: { '200': { description: ok } } }
";
    let server = lint_server::start(
        "GET /rest/api/2/issue/7 alice=200
         GET /rest/api/2/secret alice=200",
    )
    .await;
    let ws = Workspace::new();
    ws.write("v3.yaml", V3);
    let endpoints = "GET /rest/api/2/issue/7
         GET /rest/api/2/secret";
    ws.write(
        "s.yaml",
        &suite("mapped", &server.base, &["alice"], "", endpoints),
    );
    let lines = |report: &Value| -> Vec<String> {
        all_lines(report)
            .into_iter()
            .filter(|l| l.starts_with("undocumented_reachable"))
            .collect()
    };
    let base = ["run", "s.yaml", "--no-snapshot", "--openapi", "v3.yaml"];
    let out = permatrix(&ws, &[&base[..], &["--json", "a.json"]].concat(), false).await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(
        lines(&ws.json("a.json")),
        owned(&[
            "undocumented_reachable: GET /rest/api/2/issue/7 × alice → 200",
            "undocumented_reachable: GET /rest/api/2/secret × alice → 200",
        ])
    );
    let mapped = [
        "--openapi-map",
        "/rest/api/2=/rest/api/3",
        "--json",
        "b.json",
    ];
    let out = permatrix(&ws, &[&base[..], &mapped[..]].concat(), false).await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(
        lines(&ws.json("b.json")),
        owned(&["undocumented_reachable: GET /rest/api/2/secret × alice → 200"]),
        "the mapped v2 issue is the documented v3 operation; the secret route is still no operation"
    );
}
