//! Decisions read from the body (issue 24): `decide:` rules on the target and
//! per endpoint, GraphQL endpoints with their built-in error codes and
//! `partial` answers, what the reports, snapshots and `explain` show of a
//! decision, and every way a suite can get them wrong — each against the
//! server of `common/decide_server.rs` on loopback, through the binary.

mod common;

use common::decide_server::{self, ABORTED, GQL_ADMIN, GQL_READER, SLACK_ADMIN, SLACK_READER};
use common::{Output, Workspace, cell};
use serde_json::{Value, json};

/// The 1-based number of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{text}"))
        + 1
}

/// Fails unless nothing panicked.
fn no_panic(out: &Output) {
    assert!(
        !out.all().contains("panicked"),
        "permatrix panicked:\n{}",
        out.all()
    );
}

/// The line of `out`'s stdout that starts with `prefix`.
fn line_starting<'o>(out: &'o Output, prefix: &str) -> &'o str {
    out.stdout
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting {prefix:?} in:\n{}", out.stdout))
}

// ---------------------------------------------------------------------------
// 1. A Slack-style Web API: 200 with `ok: false`.

/// The Slack-style suite: the target's rule reads `ok: false` as 403 with
/// the scope the answer says is needed; `extra` endpoints are appended.
fn slack_suite(base: &str, extra: &str) -> String {
    slack_suite_expecting(base, "deny", extra)
}

/// [`slack_suite`] with the reader expecting `reader`.
fn slack_suite_expecting(base: &str, reader: &str, extra: &str) -> String {
    format!(
        r#"suite: slack
target:
  base_url: {base}
  decide:
    - when: {{ json: /ok, equals: false }}
      then: 403
      reason: /needed
principals:
  admin: {{ auth: {{ bearer: {{ token: "${{SLACK_ADMIN_TOKEN}}" }} }} }}
  reader: {{ auth: {{ bearer: {{ token: "${{SLACK_READER_TOKEN}}" }} }} }}
  anon: {{ auth: none }}
endpoints:
  - request: GET /api/conversations.list
    expect: {{ admin: 200, reader: {reader}, anon: deny }}
{extra}"#
    )
}

const SLACK_RULE: &str = "- when: { json: /ok, equals: false }";

fn slack_vars() -> Vec<String> {
    vec![
        format!("--var=SLACK_ADMIN_TOKEN={SLACK_ADMIN}"),
        format!("--var=SLACK_READER_TOKEN={SLACK_READER}"),
    ]
}

async fn run(ws: &Workspace, args: &[&str], vars: &[String]) -> Output {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(vars.iter().map(String::as_str));
    let out = ws.permatrix(&all).await;
    no_panic(&out);
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn a_200_that_says_ok_false_is_judged_as_the_403_it_means() {
    let (base, _server) = decide_server::start().await;
    let ws = Workspace::new();
    let text = slack_suite(
        &base,
        "  - name: conversations expecting 200\n    request: GET /api/conversations.list\n    expect: { \"*\": 200 }\n",
    );
    ws.write("s.yaml", &text);
    let rule = format!("target rule 1 (line {})", line_of(&text, SLACK_RULE));
    let out = run(
        &ws,
        &["run", "s.yaml", "--json", "r.json", "--snapshots", "snaps"],
        &slack_vars(),
    )
    .await;
    assert_eq!(out.code, 1, "two cells expected 200: {}", out.all());
    assert!(
        out.stdout.trim_end().ends_with("4 passed, 2 failed"),
        "`deny` passes for the reader and anon, `200` fails for both:\n{}",
        out.stdout
    );
    let fail = line_starting(&out, "FAIL  slack › conversations expecting 200 › reader: ");
    assert!(
        fail.contains("expected 200, got 403 (200)")
            && fail.contains(&rule)
            && fail.contains("channels:read"),
        "the failure shows the decision, the status, the rule and its reason: {fail}"
    );
    let anon = line_starting(&out, "FAIL  slack › conversations expecting 200 › anon: ");
    assert!(anon.contains("expected 200, got 403 (200)"), "{anon}");

    let report = ws.json("r.json");
    let reader = cell(&report, "GET /api/conversations.list", "reader");
    assert_eq!(reader["outcome"], "passed", "{reader}");
    assert_eq!(reader["status"], 200, "{reader}");
    assert_eq!(reader["decision"], 403, "{reader}");
    assert_eq!(reader["decided_by"], json!(rule), "{reader}");
    assert_eq!(reader["reason"], "channels:read", "{reader}");
    let admin = cell(&report, "GET /api/conversations.list", "admin");
    assert_eq!(
        (&admin["status"], &admin["decision"], &admin["decided_by"]),
        (&json!(200), &json!(200), &Value::Null),
        "`ok: true` is left to its status: {admin}"
    );
    let anon = cell(&report, "GET /api/conversations.list", "anon");
    assert_eq!(anon["decision"], 403, "{anon}");
    assert_eq!(
        anon["reason"],
        Value::Null,
        "`not_authed` names no scope: {anon}"
    );
    let failed = cell(&report, "conversations expecting 200", "reader");
    assert_eq!(failed["outcome"], "failed", "{failed}");
    assert_eq!(failed["decision"], 403, "{failed}");

    let snapshot = ws.read("snaps/slack.snap");
    let row = "GET /api/conversations.list\n  admin → 200\n  reader → 403 (200: channels:read)\n  anon → 403 (200)\n";
    assert!(snapshot.contains(row), "missing {row:?} in:\n{snapshot}");
}

// ---------------------------------------------------------------------------
// 2. Every operator, combinator and `then:`.

/// Who decided a cell in the operator suite.
#[derive(Clone, Copy)]
enum By {
    /// Nothing: the status stands.
    Status,
    /// The endpoint's rule N (from 1).
    Endpoint(usize),
    /// The target's only rule.
    Target,
}

/// One endpoint of the operator suite: its name, the `/case/{case}` it
/// requests, its `decide:` rules (flow maps), and what it must be decided.
struct Case {
    name: &'static str,
    case: &'static str,
    rules: &'static [&'static str],
    decision: Value,
    by: By,
    reason: Option<&'static str>,
}

fn c(
    name: &'static str,
    case: &'static str,
    rules: &'static [&'static str],
    decision: Value,
    by: By,
) -> Case {
    Case {
        name,
        case,
        rules,
        decision,
        by,
        reason: None,
    }
}

const OK_FALSE: &str = "{ when: { json: /ok, equals: false }, then: 403 }";

fn operator_cases() -> Vec<Case> {
    use By::{Endpoint as E, Status as S, Target as T};
    let e1 = E(1);
    vec![
        // json: equals
        c("equals false", "ok-false", &[OK_FALSE], json!(403), e1),
        c(
            "equals false, ok true",
            "ok-true",
            &[OK_FALSE],
            json!(200),
            S,
        ),
        c(
            "equals null, null member",
            "null-member",
            &["{ when: { json: /value, equals: null }, then: 403 }"],
            json!(403),
            e1,
        ),
        c(
            "equals null, missing member",
            "no-member",
            &["{ when: { json: /value, equals: null }, then: 403 }"],
            json!(200),
            S,
        ),
        c(
            "equals a number by value",
            "ok-false",
            &["{ when: { json: /count, equals: 7.0 }, then: 403 }"],
            json!(403),
            e1,
        ),
        // json: in
        c(
            "in",
            "code",
            &["{ when: { json: /code, in: [E_NOPE, E_DENIED] }, then: hidden }"],
            json!(404),
            e1,
        ),
        c(
            "in, none of them",
            "code",
            &["{ when: { json: /code, in: [E_NOPE, E_OTHER] }, then: hidden }"],
            json!(200),
            S,
        ),
        // json: exists
        c(
            "exists",
            "ok-false",
            &["{ when: { json: /error, exists: true }, then: unauthenticated }"],
            json!(401),
            e1,
        ),
        c(
            "exists, absent",
            "ok-true",
            &["{ when: { json: /error, exists: true }, then: unauthenticated }"],
            json!(200),
            S,
        ),
        c(
            "exists false",
            "ok-true",
            &["{ when: { json: /error, exists: false }, then: other }"],
            json!("other"),
            e1,
        ),
        c(
            "exists false, present",
            "ok-false",
            &["{ when: { json: /error, exists: false }, then: other }"],
            json!(200),
            S,
        ),
        // json: matches
        c(
            "matches",
            "ok-false",
            &["{ when: { json: /error, matches: \"^missing_\" }, then: forbidden }"],
            json!(403),
            e1,
        ),
        c(
            "matches, no match",
            "code",
            &["{ when: { json: /code, matches: \"^missing_\" }, then: forbidden }"],
            json!(200),
            S,
        ),
        c(
            "matches a number as text",
            "ok-false",
            &["{ when: { json: /count, matches: \"^7$\" }, then: 403 }"],
            json!(403),
            e1,
        ),
        // header: each operator
        c(
            "header equals",
            "headers",
            &["{ when: { header: X-Error, equals: missing_scope }, then: 403 }"],
            json!(403),
            e1,
        ),
        c(
            "header equals, another value",
            "headers",
            &["{ when: { header: X-Error, equals: missing_other }, then: 403 }"],
            json!(200),
            S,
        ),
        c(
            "header equals a number",
            "headers",
            &["{ when: { header: x-count, equals: 3 }, then: 429 }"],
            json!(429),
            e1,
        ),
        c(
            "header in",
            "headers",
            &["{ when: { header: X-ERROR, in: [not_authed, missing_scope] }, then: 403 }"],
            json!(403),
            e1,
        ),
        c(
            "header exists",
            "headers",
            &["{ when: { header: X-Error, exists: true }, then: 403 }"],
            json!(403),
            e1,
        ),
        c(
            "header exists, absent",
            "ok-true",
            &["{ when: { header: X-Error, exists: true }, then: 403 }"],
            json!(200),
            S,
        ),
        c(
            "header exists false",
            "ok-true",
            &["{ when: { header: X-Error, exists: false }, then: hidden }"],
            json!(404),
            e1,
        ),
        c(
            "header matches",
            "headers",
            &["{ when: { header: X-Error, matches: \"scope$\" }, then: 403 }"],
            json!(403),
            e1,
        ),
        c(
            "header matches, no match",
            "headers",
            &["{ when: { header: X-Error, matches: \"^scope\" }, then: 403 }"],
            json!(200),
            S,
        ),
        // body_matches
        c(
            "body matches",
            "plain",
            &["{ when: { body_matches: \"(?i)access denied\" }, then: forbidden }"],
            json!(403),
            e1,
        ),
        c(
            "body matches, no match",
            "ok-true",
            &["{ when: { body_matches: \"(?i)access denied\" }, then: forbidden }"],
            json!(200),
            S,
        ),
        // status: single, class, list
        c(
            "status",
            "created",
            &["{ when: { status: 201 }, then: 403 }"],
            json!(403),
            e1,
        ),
        c(
            "status, another",
            "created",
            &["{ when: { status: 200 }, then: 403 }"],
            json!(201),
            S,
        ),
        c(
            "status class",
            "server-error",
            &["{ when: { status: 5xx }, then: other }"],
            json!("other"),
            e1,
        ),
        c(
            "status list",
            "created",
            &["{ when: { status: [200, 201] }, then: 403 }"],
            json!(403),
            e1,
        ),
        c(
            "status list, not in it",
            "server-error",
            &["{ when: { status: [200, 201] }, then: 403 }"],
            json!(500),
            S,
        ),
        // all, any, not, and a list as all
        c(
            "all",
            "ok-false",
            &["{ when: { all: [ { status: 200 }, { json: /ok, equals: false } ] }, then: 403 }"],
            json!(403),
            e1,
        ),
        c(
            "all, one fails",
            "ok-false",
            &["{ when: { all: [ { status: 201 }, { json: /ok, equals: false } ] }, then: 403 }"],
            json!(200),
            S,
        ),
        c(
            "a list is all",
            "ok-false",
            &["{ when: [ { status: 200 }, { json: /ok, equals: false } ], then: 403 }"],
            json!(403),
            e1,
        ),
        c(
            "a list is all, one fails",
            "ok-false",
            &["{ when: [ { status: 200 }, { json: /ok, equals: true } ], then: 403 }"],
            json!(200),
            S,
        ),
        c(
            "any",
            "ok-false",
            &[
                "{ when: { any: [ { json: /nope, exists: true }, { json: /ok, equals: false } ] }, then: 403 }",
            ],
            json!(403),
            e1,
        ),
        c(
            "any, none holds",
            "ok-true",
            &[
                "{ when: { any: [ { json: /nope, exists: true }, { json: /ok, equals: false } ] }, then: 403 }",
            ],
            json!(200),
            S,
        ),
        c(
            "not",
            "ok-false",
            &["{ when: { not: { json: /ok, equals: true } }, then: 403 }"],
            json!(403),
            e1,
        ),
        c(
            "not, it holds",
            "ok-true",
            &["{ when: { not: { json: /ok, equals: true } }, then: 403 }"],
            json!(200),
            S,
        ),
        // `*` over an array, and an index
        c(
            "star",
            "items",
            &["{ when: { json: /items/*/kind, equals: denied }, then: 403 }"],
            json!(403),
            e1,
        ),
        c(
            "star, no element",
            "items-fine",
            &["{ when: { json: /items/*/kind, equals: denied }, then: 403 }"],
            json!(200),
            S,
        ),
        c(
            "index",
            "items",
            &["{ when: { json: /items/1/kind, equals: denied }, then: 403 }"],
            json!(403),
            e1,
        ),
        c(
            "index, another element",
            "items",
            &["{ when: { json: /items/0/kind, equals: denied }, then: 403 }"],
            json!(200),
            S,
        ),
        // endpoint rules before the target's, first match wins
        c(
            "endpoint rules first",
            "both",
            &["{ when: { json: /endpoint_rule, exists: true }, then: hidden }"],
            json!(404),
            e1,
        ),
        Case {
            reason: Some("target says no"),
            ..c(
                "target rule after",
                "both",
                &["{ when: { json: /nope, exists: true }, then: hidden }"],
                json!(403),
                T,
            )
        },
        c(
            "first match wins",
            "both",
            &[
                "{ when: { json: /endpoint_rule, exists: true }, then: 401 }",
                "{ when: { json: /target_rule, exists: true }, then: 404 }",
            ],
            json!(401),
            e1,
        ),
        c(
            "second rule when the first does not hold",
            "ok-false",
            &[
                "{ when: { json: /nope, exists: true }, then: 401 }",
                "{ when: { json: /ok, equals: false }, then: 404 }",
            ],
            json!(404),
            E(2),
        ),
        // then: words and statuses
        c(
            "then reached",
            "server-error",
            &["{ when: { status: 500 }, then: reached }"],
            json!(200),
            e1,
        ),
        c(
            "then reached keeps a 2xx",
            "created",
            &["{ when: { status: 201 }, then: reached }"],
            json!(201),
            e1,
        ),
        c(
            "then a status",
            "ok-false",
            &["{ when: { json: /ok, equals: false }, then: 429 }"],
            json!(429),
            e1,
        ),
        // reason: literal, pointer, a number, a pointer to nothing
        Case {
            reason: Some("needs the admin role"),
            ..c(
                "literal reason",
                "ok-false",
                &[
                    "{ when: { json: /ok, equals: false }, then: 403, reason: \"needs the admin role\" }",
                ],
                json!(403),
                e1,
            )
        },
        Case {
            reason: Some("missing_scope"),
            ..c(
                "pointer reason",
                "ok-false",
                &["{ when: { json: /ok, equals: false }, then: 403, reason: /error }"],
                json!(403),
                e1,
            )
        },
        Case {
            reason: Some("7"),
            ..c(
                "number reason",
                "ok-false",
                &["{ when: { json: /ok, equals: false }, then: 403, reason: /count }"],
                json!(403),
                e1,
            )
        },
        c(
            "pointer reason to nothing",
            "ok-false",
            &["{ when: { json: /ok, equals: false }, then: 403, reason: /needed }"],
            json!(403),
            e1,
        ),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn every_operator_combinator_and_then_word_decides_as_documented() {
    let (base, _server) = decide_server::start().await;
    let cases = operator_cases();
    let mut text = format!(
        "suite: operators\ntarget:\n  base_url: {base}\n  decide:\n    - {{ when: {{ json: /target_rule, exists: true }}, then: 403, reason: \"target says no\" }}\nprincipals:\n  anon: {{ auth: none }}\nendpoints:\n"
    );
    let target_line = 5;
    // The line of each endpoint's rules, as the labels name them.
    let mut rule_lines: Vec<Vec<usize>> = Vec::new();
    for case in &cases {
        text.push_str(&format!(
            "  - name: {}\n    request: GET /case/{}\n    decide:\n",
            case.name, case.case
        ));
        let mut lines = Vec::new();
        for rule in case.rules {
            text.push_str(&format!("      - {rule}\n"));
            lines.push(text.lines().count());
        }
        rule_lines.push(lines);
        let expect = match &case.decision {
            Value::String(word) => word.clone(),
            other => other.to_string(),
        };
        text.push_str(&format!("    expect: {{ anon: {expect} }}\n"));
    }
    assert_eq!(line_of(&text, "target says no"), target_line);
    let ws = Workspace::new();
    ws.write("s.yaml", &text);
    let out = run(&ws, &["run", "s.yaml", "--json", "r.json"], &[]).await;
    let report = ws.json("r.json");
    let mut wrong = Vec::new();
    for (case, lines) in cases.iter().zip(&rule_lines) {
        let got = cell(&report, case.name, "anon");
        let by = match case.by {
            By::Status => Value::Null,
            By::Endpoint(n) => json!(format!("endpoint rule {n} (line {})", lines[n - 1])),
            By::Target => json!(format!("target rule 1 (line {target_line})")),
        };
        let expected = (&case.decision, &by, &json!(case.reason));
        let found = (&got["decision"], &got["decided_by"], &got["reason"]);
        if expected != found {
            wrong.push(format!(
                "{}: expected {expected:?}, got {found:?}",
                case.name
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "decisions, deciders, reasons:\n{}\n\n{}",
        wrong.join("\n"),
        out.stdout
    );
    assert_eq!(
        out.code,
        0,
        "every cell meets the expectation its decision makes: {}",
        out.all()
    );
}

// ---------------------------------------------------------------------------
// 3. Suites that get rules or operations wrong: located, exit 2.

/// One suite with a problem per rule or endpoint.
const BROKEN: &str = r#"suite: broken
target:
  base_url: http://127.0.0.1:9
  decide:
    - when: { json: /ok, equal: false }
      then: 403
    - when: { json: /ok, equals: false, exists: true }
      then: 403
    - when: { equals: false }
      then: 403
    - when: { json: ok, equals: false }
      then: 403
    - when: { json: /a~2b, exists: true }
      then: 403
    - when: { body_matches: "(unclosed" }
      then: 403
    - when: { json: /error, matches: "[z-a]" }
      then: 403
    - when: { status: 200 }
      then: denied
    - when: { status: 200 }
      then: 700
    - when: { status: 200 }
      than: 403
    - when: { header: "bad header", exists: true }
      then: 403
    - when: { json: /code, in: [] }
      then: 403
    - when: { status: 200, json: /ok }
      then: 403
  graphql:
    codes: { PERMISSION_DENIED: maybe }
principals:
  reader: { auth: none }
endpoints:
  - request: POST /graphql
    graphql: { query: "subscription OnNote { noteAdded { id } }" }
    expect: { reader: 200 }
  - request: POST /graphql
    json: { a: 1 }
    graphql: { query: "query A { a }" }
    expect: { reader: 200 }
  - request: POST /graphql
    graphql: { query: "query A { a } query B { b }", operation_name: C }
    expect: { reader: 200 }
  - request: POST /graphql
    graphql: { query: "query A { a } query B { b }" }
    expect: { reader: 200 }
  - request: GET /graphql
    graphql: { query: "mutation Del { del { id } }" }
    expect: { reader: 200 }
  - request: GET /ok
    expect: { reader: partal }
  - request: POST /graphql
    graphql: { query: "query { a" }
    expect: { reader: 200 }
  - request: GET /other
    decide:
      - { when: { json: /x, exits: true }, then: 403 }
    expect: { reader: 200 }
"#;

#[tokio::test]
async fn every_wrong_rule_or_operation_is_located_and_refused() {
    let ws = Workspace::new();
    ws.write("broken.yaml", BROKEN);
    // (location, message, help)
    let expected: &[(&str, &str, &str)] = &[
        (
            "broken.yaml:5:26:",
            "unknown key `equal` in a condition",
            "did you mean `equals`?",
        ),
        (
            "broken.yaml:7:41:",
            "one operator per condition, found equals and exists",
            "",
        ),
        (
            "broken.yaml:9:13:",
            "a condition names nothing to test",
            "use one of status, json, header, body_matches, all, any, not",
        ),
        (
            "broken.yaml:11:21:",
            "`ok` is not a JSON pointer: it must start with `/`",
            "",
        ),
        (
            "broken.yaml:13:21:",
            "`/a~2b` is not a JSON pointer: `~` must be followed by 0",
            "",
        ),
        (
            "broken.yaml:15:29:",
            "`body_matches:` is not a valid regex: ",
            "",
        ),
        (
            "broken.yaml:17:38:",
            "`matches:` is not a valid regex: ",
            "",
        ),
        (
            "broken.yaml:20:13:",
            "`then: denied` is neither a status (100 to 599) nor a decision word",
            "reached, unauthenticated, forbidden, hidden, other, partial",
        ),
        ("broken.yaml:22:13:", "`then: 700` is neither a status", ""),
        (
            "broken.yaml:24:7:",
            "unknown key `than` in a decide rule",
            "did you mean `then`?",
        ),
        ("broken.yaml:23:7:", "a decide rule has no `then:`", ""),
        (
            "broken.yaml:25:23:",
            "`bad header` is not a header name",
            "",
        ),
        ("broken.yaml:27:32:", "`in:` needs a non-empty list", ""),
        (
            "broken.yaml:29:28:",
            "a condition tests one thing, found status and json",
            "",
        ),
        (
            "broken.yaml:32:33:",
            "`then: maybe` is neither a status",
            "",
        ),
        (
            "broken.yaml:37:23:",
            "GraphQL subscriptions are not supported",
            "",
        ),
        (
            "broken.yaml:40:5:",
            "an endpoint with `graphql:` has no `json:`",
            "",
        ),
        (
            "broken.yaml:44:",
            "graphql.operation_name `C` names no operation of the query (it has A, B)",
            "",
        ),
        (
            "broken.yaml:47:23:",
            "graphql.query holds 2 operations: say which one with `operation_name:`",
            "",
        ),
        ("broken.yaml:50:", "a GraphQL mutation is sent by POST", ""),
        (
            "broken.yaml:53:23:",
            "invalid expectation for `reader`: `partal` is not an expectation",
            "partial, other",
        ),
        (
            "broken.yaml:55:23:",
            "graphql.query does not parse as a GraphQL document",
            "",
        ),
        (
            "broken.yaml:59:29:",
            "unknown key `exits` in a condition",
            "did you mean `exists`?",
        ),
    ];
    for command in ["check", "run"] {
        let out = ws.permatrix(&[command, "broken.yaml"]).await;
        no_panic(&out);
        assert_eq!(out.code, 2, "{command}: {}", out.all());
        // Each diagnostic is one block: its located line, the source, its help.
        let blocks: Vec<&str> = out.stderr.split("\n\n").collect();
        for (location, message, help) in expected {
            let found = blocks.iter().any(|block| {
                block.starts_with(location)
                    && block.lines().next().is_some_and(|l| l.contains(message))
                    && block.contains(help)
            });
            assert!(
                found,
                "{command}: missing {location} {message} (help {help:?}) in:\n{}",
                out.stderr
            );
        }
        let closing = if command == "run" {
            "23 problem(s) found; nothing was run."
        } else {
            "23 problem(s) found."
        };
        assert!(out.stderr.trim_end().ends_with(closing), "{}", out.stderr);
    }
}

// ---------------------------------------------------------------------------
// 4. GraphQL endpoints.

fn gql_vars() -> Vec<String> {
    vec![
        format!("--var=GQL_ADMIN_TOKEN={GQL_ADMIN}"),
        format!("--var=GQL_READER_TOKEN={GQL_READER}"),
        "--var=NOTE_ID=n-42".to_string(),
    ]
}

/// A GraphQL suite against `base` with `target_extra` in its target and
/// `endpoints` (YAML list items).
fn gql_suite(name: &str, base: &str, target_extra: &str, endpoints: &str) -> String {
    format!(
        r#"suite: {name}
target:
  base_url: {base}
{target_extra}
principals:
  admin: {{ auth: {{ bearer: {{ token: "${{GQL_ADMIN_TOKEN}}" }} }} }}
  reader: {{ auth: {{ bearer: {{ token: "${{GQL_READER_TOKEN}}" }} }} }}
  anon: {{ auth: none }}
endpoints:
{endpoints}"#
    )
}

const NOTE_QUERY: &str = "query Note($id: ID!) { note(id: $id) { id title } }";

/// Every kind of GraphQL answer the built-ins and rules read.
const GQL_ENDPOINTS: &str = r#"  - request: POST /graphql
    graphql:
      query: "query Note($id: ID!) { note(id: $id) { id title } }"
      variables: { id: "${NOTE_ID}" }
    expect: { admin: 200, reader: 200, anon: 401 }
  - name: Note by GET
    request: GET /graphql
    graphql:
      query: "query Note($id: ID!) { note(id: $id) { id title } }"
      variables: { id: "${NOTE_ID}" }
    expect: { admin: 200, reader: 200, anon: 401 }
  - request: POST /graphql
    graphql: { query: "{ me { id } }" }
    expect: { admin: 200, reader: 200, anon: 401 }
  - request: POST /graphql
    graphql: { query: "query Viewer { me { id } } query Unused { nothing }", operation_name: Viewer }
    expect: { admin: 200, reader: 200, anon: 401 }
  - request: GET /graphql-post-only
    graphql: { query: "query PostOnly { me { id } }" }
    expect: { "*": 405 }
  - request: POST /graphql
    graphql: { query: "query ApolloSecrets { secrets { id } }" }
    expect: { admin: 200, reader: 403, anon: 401 }
  - request: POST /graphql
    graphql: { query: "query GithubRepo { repository(name: \"secret\") { name } }" }
    expect: { admin: 200, reader: 404, anon: 401 }
  - request: POST /graphql
    graphql: { query: "query GithubScopes { viewer { login } }" }
    expect: { admin: 200, reader: 403, anon: 401 }
  - request: POST /graphql
    graphql: { query: "query ShopifyOrders { orders(first: 1) { edges { node { id } } } }" }
    expect: { admin: 200, reader: 403, anon: 401 }
  - request: POST /graphql
    graphql: { query: "query HasuraUsers { users { id } }" }
    expect: { admin: 200, reader: 403, anon: 401 }
  - request: POST /graphql
    graphql: { query: "query HasuraValidation { users { id } }" }
    decide:
      - { when: { json: /errors/*/extensions/code, equals: validation-failed }, then: forbidden }
    expect: { admin: 200, reader: 403, anon: 401 }
  - name: HasuraValidation without a rule
    request: POST /graphql
    graphql: { query: "query HasuraValidation { users { id } }" }
    expect: { admin: 200, reader: other, anon: 401 }
  - request: POST /graphql
    graphql: { query: "query CustomCode { audit { id } }" }
    expect: { admin: 200, reader: other, anon: 401 }
  - request: POST /graphql
    graphql: { query: "query Both { notes { id title } secrets { id } }" }
    expect: { admin: 200, reader: partial, anon: 401 }
  - request: POST /graphql
    graphql: { query: "query PgBoth { notes { id title } secrets { id } audit { id } }" }
    decide:
      - { when: { json: /errors/*/message, matches: "^permission denied" }, then: forbidden, reason: /errors/*/message }
    expect: { admin: 200, reader: partial, anon: 401 }
  - name: PgBoth without a rule
    request: POST /graphql
    graphql: { query: "query PgBoth { notes { id title } secrets { id } audit { id } }" }
    expect: { admin: 200, reader: 200, anon: 401 }
  - request: POST /graphql
    graphql: { query: "query PgSecrets { secrets { id } }" }
    decide:
      - { when: { json: /errors/*/message, matches: "^permission denied" }, then: forbidden, reason: /errors/*/message }
    expect: { admin: 200, reader: 403, anon: 401 }
  - name: PgSecrets without a rule
    request: POST /graphql
    graphql: { query: "query PgSecrets { secrets { id } }" }
    expect: { admin: 200, reader: other, anon: 401 }
"#;

/// What one cell of a JSON report must say of its decision.
struct Decided {
    endpoint: &'static str,
    principal: &'static str,
    decision: Value,
    by: Value,
    reason: Value,
    denied: Value,
    others: Value,
}

fn decided(endpoint: &'static str, principal: &'static str, decision: Value, by: Value) -> Decided {
    Decided {
        endpoint,
        principal,
        decision,
        by,
        reason: Value::Null,
        denied: Value::Null,
        others: Value::Null,
    }
}

/// Every way `report` differs from `expected`, one line each.
fn decisions_differ(report: &Value, expected: &[Decided]) -> Vec<String> {
    let mut wrong = Vec::new();
    for e in expected {
        let got = cell(report, e.endpoint, e.principal);
        let want = json!([e.decision, e.by, e.reason, e.denied, e.others]);
        let found = json!([
            got["decision"],
            got["decided_by"],
            got["reason"],
            got["denied_fields"],
            got["other_errors"]
        ]);
        if want != found {
            wrong.push(format!(
                "{} × {}: expected {want}, got {found}",
                e.endpoint, e.principal
            ));
        }
    }
    wrong
}

#[tokio::test(flavor = "multi_thread")]
async fn graphql_answers_are_read_by_their_codes_rules_and_fields() {
    let (base, server) = decide_server::start().await;
    let ws = Workspace::new();
    let text = gql_suite("graphql", &base, "", GQL_ENDPOINTS);
    ws.write("s.yaml", &text);
    let out = run(&ws, &["run", "s.yaml", "--json", "r.json"], &gql_vars()).await;
    let report = ws.json("r.json");
    let hasura_rule = format!(
        "endpoint rule 1 (line {})",
        line_of(&text, "equals: validation-failed")
    );
    let pg_both_rule = format!(
        "endpoint rule 1 (line {})",
        line_of(&text, "^permission denied")
    );
    let pg_secrets_line = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains("^permission denied"))
        .nth(1)
        .map(|(i, _)| i + 1)
        .expect("two PostGraphile rules");
    let pg_secrets_rule = format!("endpoint rule 1 (line {pg_secrets_line})");
    let graphql = json!("graphql");
    let expected = [
        decided("Note", "admin", json!(200), Value::Null),
        decided("Note by GET", "reader", json!(200), Value::Null),
        decided("POST /graphql", "reader", json!(200), Value::Null),
        decided("Viewer", "reader", json!(200), Value::Null),
        decided("PostOnly", "reader", json!(405), Value::Null),
        decided("PostOnly", "anon", json!(405), Value::Null),
        Decided {
            reason: json!("UNAUTHENTICATED"),
            denied: json!(["(operation)"]),
            ..decided("Note", "anon", json!(401), graphql.clone())
        },
        decided("ApolloSecrets", "admin", json!(200), Value::Null),
        Decided {
            reason: json!("FORBIDDEN"),
            denied: json!(["secrets"]),
            ..decided("ApolloSecrets", "reader", json!(403), graphql.clone())
        },
        Decided {
            reason: json!("NOT_FOUND"),
            denied: json!(["repository"]),
            ..decided("GithubRepo", "reader", json!(404), graphql.clone())
        },
        Decided {
            reason: json!("INSUFFICIENT_SCOPES"),
            denied: json!(["(operation)"]),
            ..decided("GithubScopes", "reader", json!(403), graphql.clone())
        },
        Decided {
            reason: json!("ACCESS_DENIED"),
            denied: json!(["(operation)"]),
            ..decided("ShopifyOrders", "reader", json!(403), graphql.clone())
        },
        Decided {
            reason: json!("access-denied"),
            denied: json!(["(operation)"]),
            ..decided("HasuraUsers", "reader", json!(403), graphql.clone())
        },
        Decided {
            reason: json!("validation-failed"),
            denied: json!(["(operation)"]),
            ..decided("HasuraValidation", "reader", json!(403), json!(hasura_rule))
        },
        Decided {
            reason: json!("validation-failed"),
            others: json!(["validation-failed: field 'users' not found in type: 'query_root'"]),
            ..decided(
                "HasuraValidation without a rule",
                "reader",
                json!("other"),
                graphql.clone(),
            )
        },
        Decided {
            reason: json!("NOT_ALLOWED_FOR_ROLE"),
            others: json!(["NOT_ALLOWED_FOR_ROLE at audit: role may not read audit"]),
            ..decided("CustomCode", "reader", json!("other"), graphql.clone())
        },
        Decided {
            reason: json!("denied secrets"),
            denied: json!(["secrets"]),
            ..decided("Both", "reader", json!("partial"), graphql.clone())
        },
        decided("Both", "admin", json!(200), Value::Null),
        Decided {
            reason: json!("denied secrets"),
            denied: json!(["secrets"]),
            others: json!([format!("at audit: {ABORTED}")]),
            ..decided("PgBoth", "reader", json!("partial"), json!(pg_both_rule))
        },
        // Without a rule the bare messages deny nothing: the status stands,
        // and the errors are listed, not dropped.
        Decided {
            others: json!([
                "at secrets: permission denied for table secrets",
                format!("at audit: {ABORTED}")
            ]),
            ..decided(
                "PgBoth without a rule",
                "reader",
                json!(200),
                graphql.clone(),
            )
        },
        Decided {
            reason: json!("permission denied for table secrets"),
            denied: json!(["secrets"]),
            ..decided("PgSecrets", "reader", json!(403), json!(pg_secrets_rule))
        },
        // No code to keep as the reason: the message stays in other_errors
        // (a message may carry a request id; the snapshot must not churn).
        Decided {
            others: json!(["at secrets: permission denied for table secrets"]),
            ..decided(
                "PgSecrets without a rule",
                "reader",
                json!("other"),
                graphql.clone(),
            )
        },
    ];
    let wrong = decisions_differ(&report, &expected);
    assert!(
        wrong.is_empty(),
        "GraphQL decisions:\n{}\n\n{}",
        wrong.join("\n"),
        out.stdout
    );
    assert_eq!(out.code, 0, "every expectation is met: {}", out.all());
    let partial = cell(&report, "Both", "reader");
    assert_eq!(
        (&partial["status"], &partial["outcome"]),
        (&json!(200), &json!("passed")),
        "{partial}"
    );

    // POST: the operation as JSON, variables interpolated.
    let posted: Vec<_> = server
        .received_for("Note")
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(posted.len(), 3, "{posted:?}");
    for request in &posted {
        assert!(
            request.content_type.starts_with("application/json"),
            "{request:?}"
        );
        assert_eq!(
            request.json(),
            json!({"query": NOTE_QUERY, "variables": {"id": "n-42"}, "operationName": "Note"}),
            "{request:?}"
        );
        assert_eq!(request.query, "", "{request:?}");
    }
    assert!(
        posted
            .iter()
            .any(|r| r.authorization == format!("Bearer {GQL_READER}"))
    );
    // GET: the same in the query string, no body.
    let got: Vec<_> = server
        .received_for("Note")
        .into_iter()
        .filter(|r| r.method == "GET")
        .collect();
    assert_eq!(got.len(), 3, "{got:?}");
    for request in &got {
        assert_eq!(request.param("query").as_deref(), Some(NOTE_QUERY));
        assert_eq!(request.param("operationName").as_deref(), Some("Note"));
        let variables: Value =
            serde_json::from_str(&request.param("variables").unwrap_or_default())
                .unwrap_or(Value::Null);
        assert_eq!(variables, json!({"id": "n-42"}), "{request:?}");
        assert_eq!(request.body, "", "{request:?}");
    }
    // The operation named by operation_name is the one asked for; an
    // unnamed one is sent without a name.
    let viewer = server.received_for("Viewer");
    assert_eq!(viewer.len(), 3);
    assert_eq!(
        viewer[0].json()["query"],
        "query Viewer { me { id } } query Unused { nothing }"
    );
    let unnamed: Vec<_> = server
        .received()
        .into_iter()
        .filter(|r| r.json()["query"] == "{ me { id } }")
        .collect();
    assert_eq!(unnamed.len(), 3);
    assert!(
        unnamed
            .iter()
            .all(|r| r.json().get("operationName").is_none()),
        "{unnamed:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_targets_graphql_codes_extend_and_override_the_built_in_ones() {
    let (base, _server) = decide_server::start().await;
    let ws = Workspace::new();
    let endpoints = r#"  - request: POST /graphql
    graphql: { query: "query CustomCode { audit { id } }" }
    expect: { admin: 200, reader: 403, anon: 401 }
  - request: POST /graphql
    graphql: { query: "query ApolloSecrets { secrets { id } }" }
    expect: { admin: 200, reader: 404, anon: 401 }
  - request: POST /graphql
    graphql: { query: "query HasuraUsers { users { id } }" }
    expect: { admin: 200, reader: 403, anon: 401 }
"#;
    let text = gql_suite(
        "codes",
        &base,
        "  graphql:\n    codes: { not-allowed-for-role: forbidden, FORBIDDEN: hidden }",
        endpoints,
    );
    ws.write("s.yaml", &text);
    let out = run(&ws, &["run", "s.yaml", "--json", "r.json"], &gql_vars()).await;
    let report = ws.json("r.json");
    let graphql = json!("graphql");
    let expected = [
        Decided {
            reason: json!("NOT_ALLOWED_FOR_ROLE"),
            denied: json!(["audit"]),
            ..decided("CustomCode", "reader", json!(403), graphql.clone())
        },
        Decided {
            reason: json!("FORBIDDEN"),
            denied: json!(["secrets"]),
            ..decided("ApolloSecrets", "reader", json!(404), graphql.clone())
        },
        Decided {
            reason: json!("access-denied"),
            denied: json!(["(operation)"]),
            ..decided("HasuraUsers", "reader", json!(403), graphql.clone())
        },
    ];
    let wrong = decisions_differ(&report, &expected);
    assert!(wrong.is_empty(), "{}\n\n{}", wrong.join("\n"), out.stdout);
    assert_eq!(out.code, 0, "{}", out.all());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_graphql_mutation_is_guarded_whatever_its_method_and_a_query_by_post_is_not() {
    let (base, server) = decide_server::start().await;
    let ws = Workspace::new();
    let endpoints = r#"  - request: POST /graphql
    graphql: { query: "mutation DeleteNote { deleteNote(id: \"n1\") { id } }" }
    expect: { admin: 200, reader: 200, anon: 401 }
  - request: POST /graphql
    graphql: { query: "query Me { me { id } }" }
    expect: { admin: 200, reader: 200, anon: 401 }
"#;
    ws.write("s.yaml", &gql_suite("guard", &base, "", endpoints));
    let out = run(&ws, &["run", "s.yaml", "--json", "r.json"], &gql_vars()).await;
    assert_eq!(
        out.code,
        0,
        "skipped cells do not fail the run: {}",
        out.all()
    );
    assert!(
        out.stdout
            .contains("SKIP  guard: POST not sent to a real target: set `allow_mutations: true`")
            && out.stdout.contains("3 cells: DeleteNote × every principal"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .trim_end()
            .ends_with("3 passed, 0 failed, 3 skipped"),
        "{}",
        out.stdout
    );
    assert_eq!(server.received_for("DeleteNote").len(), 0);
    assert_eq!(
        server.received_for("Me").len(),
        3,
        "a query by POST is sent"
    );
    let report = ws.json("r.json");
    assert_eq!(cell(&report, "DeleteNote", "reader")["outcome"], "skipped");

    let out = run(&ws, &["run", "s.yaml", "--allow-mutations"], &gql_vars()).await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(server.received_for("DeleteNote").len(), 3);

    ws.write(
        "s.yaml",
        &gql_suite("guard", &base, "  allow_mutations: true", endpoints),
    );
    let out = run(&ws, &["run", "s.yaml"], &gql_vars()).await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(server.received_for("DeleteNote").len(), 6);
}

// ---------------------------------------------------------------------------
// 5. Answers a GraphQL client cannot read.

#[tokio::test(flavor = "multi_thread")]
async fn answers_that_are_not_graphql_keep_their_status_or_read_as_other_with_a_note() {
    let (base, _server) = decide_server::start().await;
    let ws = Workspace::new();
    let endpoints = r#"  - request: POST /gql/html
    graphql: { query: "query Page { x }" }
    expect: { "*": other }
  - request: POST /gql/errors-string
    graphql: { query: "query ErrorsString { x }" }
    expect: { "*": 200 }
  - request: POST /gql/errors-odd-items
    graphql: { query: "query OddItems { x }" }
    expect: { "*": other }
  - request: POST /gql/text
    graphql: { query: "query Text { x }" }
    expect: { "*": 200 }
  - request: POST /gql/deep
    graphql: { query: "query Deep { x }" }
    expect: { "*": 200 }
  - request: POST /gql/big
    graphql: { query: "query Big { x }" }
    expect: { "*": 200 }
"#;
    ws.write("s.yaml", &gql_suite("bad", &base, "", endpoints));
    let out = run(
        &ws,
        &["run", "s.yaml", "--json", "r.json", "--principal", "reader"],
        &gql_vars(),
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report = ws.json("r.json");

    let page = cell(&report, "Page", "reader");
    assert_eq!(
        (&page["status"], &page["decision"], &page["decided_by"]),
        (&json!(200), &json!("other"), &json!("graphql")),
        "{page}"
    );
    assert_eq!(page["reason"], "HTML, not a GraphQL answer", "{page}");
    let note = page["decision_note"].as_str().unwrap_or_default();
    assert!(
        note.starts_with("a GraphQL endpoint answered with HTML: ")
            && note.contains("Please sign in to continue"),
        "the note quotes the page: {page}"
    );

    for (endpoint, says) in [
        (
            "ErrorsString",
            "the GraphQL answer's `errors` is not a list: the status stands",
        ),
        ("Text", "the GraphQL answer is not JSON: the status stands"),
        ("Deep", "the GraphQL answer is not JSON: the status stands"),
        ("Big", "not read whole"),
    ] {
        let got = cell(&report, endpoint, "reader");
        assert_eq!(
            (&got["decision"], &got["decided_by"]),
            (&json!(200), &json!("status")),
            "{endpoint}: the status stands: {got}"
        );
        assert!(
            got["decision_note"]
                .as_str()
                .is_some_and(|n| n.contains(says)),
            "{endpoint}: the note says {says:?}: {got}"
        );
    }
    assert_eq!(cell(&report, "OddItems", "reader")["decision"], "other");
}

/// An HTTP 401 already says the caller was refused: a GraphQL error without
/// a code in its body must not turn it into `other`.
#[tokio::test(flavor = "multi_thread")]
async fn a_401_whose_graphql_error_has_no_code_stays_401() {
    let (base, _server) = decide_server::start().await;
    let ws = Workspace::new();
    let endpoints = r#"  - request: POST /gql/unauthorized
    graphql: { query: "query Guarded { x }" }
    expect: { "*": 401 }
"#;
    ws.write("s.yaml", &gql_suite("refused", &base, "", endpoints));
    let out = run(
        &ws,
        &["run", "s.yaml", "--json", "r.json", "--principal", "anon"],
        &gql_vars(),
    )
    .await;
    let report = ws.json("r.json");
    let got = cell(&report, "Guarded", "anon");
    assert_eq!(got["status"], 401, "{got}");
    assert_eq!(
        got["decision"], 401,
        "a 401 reads as 401, not as `other`: {got}"
    );
    assert_eq!(out.code, 0, "{}", out.all());
}

/// A rule over the body of an answer past the read limit cannot be
/// evaluated: the status stands, and the cell says why.
#[tokio::test(flavor = "multi_thread")]
async fn a_rule_over_a_body_past_the_read_limit_falls_back_to_the_status_with_a_note() {
    let (base, _server) = decide_server::start().await;
    let ws = Workspace::new();
    let text = format!(
        "suite: big\ntarget:\n  base_url: {base}\n  decide:\n    - {{ when: {{ json: /ok, equals: false }}, then: 403 }}\nprincipals:\n  anon: {{ auth: none }}\nendpoints:\n  - request: GET /case/big-denied\n    expect: {{ anon: 200 }}\n"
    );
    ws.write("s.yaml", &text);
    let out = run(&ws, &["run", "s.yaml", "--json", "r.json"], &[]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report = ws.json("r.json");
    let got = cell(&report, "GET /case/big-denied", "anon");
    assert_eq!(got["decision"], 200, "{got}");
    assert!(
        got["decision_note"].is_string(),
        "the cell says the rules could not read the body: {got}"
    );
}

// ---------------------------------------------------------------------------
// 6. Snapshots of decided cells.

#[tokio::test(flavor = "multi_thread")]
async fn a_denial_read_from_the_body_that_turns_into_data_is_a_widened_change() {
    let (base, server) = decide_server::start().await;
    let ws = Workspace::new();
    ws.write("s.yaml", &slack_suite_expecting(&base, "any", ""));
    let snap = ["run", "s.yaml", "--snapshots", "snaps"];
    let out = run(&ws, &snap, &slack_vars()).await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        ws.read("snaps/slack.snap")
            .contains("  reader → 403 (200: channels:read)\n"),
        "{}",
        ws.read("snaps/slack.snap")
    );

    // The reason alone changes.
    server.set_needed("channels:history");
    let out = run(&ws, &snap, &slack_vars()).await;
    assert_eq!(
        out.code,
        1,
        "a changed snapshot fails the run: {}",
        out.all()
    );
    let line = "  changed     GET /api/conversations.list × reader: 403 (200: channels:read) → 403 (200: channels:history)";
    assert!(
        out.stdout.contains(line),
        "missing {line:?} in:\n{}",
        out.stdout
    );
    assert!(!out.stdout.contains("widened"), "{}", out.stdout);
    let mut accept = snap.to_vec();
    accept.push("--accept");
    let out = run(&ws, &accept, &slack_vars()).await;
    assert_eq!(out.code, 0, "{}", out.all());

    // The same 200 now carries data.
    server.open_slack(true);
    let out = run(&ws, &snap, &slack_vars()).await;
    assert_eq!(out.code, 1, "{}", out.all());
    let widened = line_starting(&out, "  widened     GET /api/conversations.list × reader: ");
    assert!(widened.ends_with(" → 200"), "{widened}");
    assert!(
        out.stdout
            .contains("-  reader → 403 (200: channels:history)")
            && out.stdout.contains("+  reader → 200"),
        "the diff shows both lines: {}",
        out.stdout
    );
    assert_eq!(
        out.stdout.matches("widened ").count(),
        1,
        "only the reader's cell changed: {}",
        out.stdout
    );
}

/// The widened line says what the old cell was decided from: the status
/// never changed (200 both times), so `403 → 200` alone would misreport it.
#[tokio::test(flavor = "multi_thread")]
async fn the_widened_line_shows_what_the_old_decision_was_read_from() {
    let (base, server) = decide_server::start().await;
    let ws = Workspace::new();
    ws.write("s.yaml", &slack_suite_expecting(&base, "any", ""));
    let snap = ["run", "s.yaml", "--snapshots", "snaps"];
    let out = run(&ws, &snap, &slack_vars()).await;
    assert_eq!(out.code, 0, "{}", out.all());
    server.open_slack(true);
    let out = run(&ws, &snap, &slack_vars()).await;
    assert_eq!(out.code, 1, "{}", out.all());
    let line = "  widened     GET /api/conversations.list × reader: 403 (200: channels:read) → 200";
    assert!(
        out.stdout.contains(line),
        "missing {line:?} in:\n{}",
        out.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn partial_to_reached_is_widened_and_reached_to_partial_narrowed() {
    let (base, server) = decide_server::start().await;
    let ws = Workspace::new();
    let endpoints = r#"  - request: POST /graphql
    graphql: { query: "query Both { notes { id title } secrets { id } }" }
    expect: { "*": any }
"#;
    ws.write("s.yaml", &gql_suite("partial", &base, "", endpoints));
    let snap = ["run", "s.yaml", "--snapshots", "snaps"];
    let out = run(&ws, &snap, &gql_vars()).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let recorded = ws.read("snaps/partial.snap");
    assert!(
        recorded.contains("Both\n  admin → 200\n  reader → partial (200: denied secrets)\n  anon → 401 (200: UNAUTHENTICATED)\n"),
        "{recorded}"
    );

    server.open_graphql(true);
    let out = run(&ws, &snap, &gql_vars()).await;
    assert_eq!(out.code, 1, "{}", out.all());
    let widened = line_starting(&out, "  widened     Both × reader: partial");
    assert!(widened.ends_with(" → 200"), "{widened}");
    let mut accept = snap.to_vec();
    accept.push("--accept");
    assert_eq!(run(&ws, &accept, &gql_vars()).await.code, 0);

    server.open_graphql(false);
    let out = run(&ws, &snap, &gql_vars()).await;
    assert_eq!(out.code, 1, "{}", out.all());
    let narrowed = line_starting(&out, "  narrowed    Both × reader: 200 → partial");
    assert!(!narrowed.contains("widened"), "{narrowed}");
    assert!(!out.stdout.contains("  widened "), "{}", out.stdout);
}

// ---------------------------------------------------------------------------
// 7. explain.

#[tokio::test(flavor = "multi_thread")]
async fn explain_shows_the_decision_with_its_rule_and_reason() {
    let (base, _server) = decide_server::start().await;
    let ws = Workspace::new();
    let text = slack_suite(&base, "");
    ws.write("s.yaml", &text);
    let rule = format!("target rule 1 (line {})", line_of(&text, SLACK_RULE));
    let out = run(
        &ws,
        &[
            "explain",
            "s.yaml",
            "--endpoint",
            "GET /api/conversations.list",
            "--principal",
            "reader",
        ],
        &slack_vars(),
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.all());
    for line in [
        "response 200\n".to_string(),
        format!("decision 403 — decided by {rule}: channels:read\n"),
        "verdict  PASSED: 403 (200) is within deny\n".to_string(),
        format!("reading  the status was 200 but {rule} reads the answer as 403 (channels:read)"),
    ] {
        assert!(
            out.stdout.contains(&line),
            "missing {line:?} in:\n{}",
            out.stdout
        );
    }
    let decision = out.stdout.find("decision ").unwrap_or(0);
    let body = out.stdout.find("body ").unwrap_or(usize::MAX);
    assert!(
        body < decision,
        "the decision follows the body it was read from:\n{}",
        out.stdout
    );

    let text = gql_suite(
        "g",
        &base,
        "",
        "  - request: POST /graphql\n    graphql: { query: \"query PgBoth { notes { id } secrets { id } audit { id } }\" }\n    decide:\n      - { when: { json: /errors/*/message, matches: \"^permission denied\" }, then: forbidden }\n    expect: { admin: 200, reader: partial, anon: 401 }\n",
    );
    ws.write("g.yaml", &text);
    let rule = format!(
        "endpoint rule 1 (line {})",
        line_of(&text, "^permission denied")
    );
    let out = run(
        &ws,
        &[
            "explain",
            "g.yaml",
            "--endpoint",
            "PgBoth",
            "--principal",
            "reader",
        ],
        &gql_vars(),
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.all());
    for line in [
        format!(
            "decision partial — decided by {rule}: denied secrets; other errors: at audit: {ABORTED}\n"
        ),
        "verdict  PASSED: partial (200) is within partial".to_string(),
        "some fields were denied (secrets), the rest answered".to_string(),
    ] {
        assert!(
            out.stdout.contains(&line),
            "missing {line:?} in:\n{}",
            out.stdout
        );
    }
}

// ---------------------------------------------------------------------------
// The terminal matrix with decided cells.

/// The matrix of the run's first suite: its lines after the title, up to the
/// first empty line.
fn matrix_lines<'o>(out: &'o Output, title: &str) -> Vec<&'o str> {
    out.stdout
        .lines()
        .skip_while(|l| !l.starts_with(title))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .collect()
}

const WIDE_CELLS: &str = r#"  - request: POST /graphql
    graphql: { query: "query Me { me { id } }" }
    expect: { admin: 200, reader: 200, anon: 401 }
  - request: POST /graphql
    graphql: { query: "query Both { notes { id title } secrets { id } }" }
    expect: { admin: 200, reader: partial, anon: 401 }
  - name: ApolloSecrets expecting 200
    request: POST /graphql
    graphql: { query: "query ApolloSecrets { secrets { id } }" }
    expect: { admin: 200, reader: 200, anon: 401 }
  - request: GET /graphql-post-only
    graphql: { query: "query PostOnly { me { id } }" }
    expect: { "*": 405 }
"#;

#[tokio::test(flavor = "multi_thread")]
async fn the_matrix_keeps_its_columns_aligned_with_decided_cells() {
    let (base, _server) = decide_server::start().await;
    let ws = Workspace::new();
    ws.write("s.yaml", &gql_suite("wide", &base, "", WIDE_CELLS));
    let vars = gql_vars();
    let out = ws
        .permatrix_with_env(
            &["run", "s.yaml", &vars[0], &vars[1]],
            &[("COLUMNS", "200")],
        )
        .await;
    no_panic(&out);
    assert_eq!(out.code, 1, "one cell fails: {}", out.all());
    let lines = matrix_lines(&out, "wide (s.yaml)");
    assert_eq!(lines.len(), 5, "a header and four endpoints: {lines:?}");
    let header: Vec<char> = lines[0].chars().collect();
    // Where each principal's column starts, by the header.
    let starts: Vec<usize> = ["admin", "reader", "anon"]
        .iter()
        .map(|name| {
            lines[0]
                .find(&format!("  {name}"))
                .map(|byte| lines[0][..byte].chars().count() + 2)
                .unwrap_or_else(|| panic!("no column {name} in {:?}", lines[0]))
        })
        .collect();
    assert_eq!(header.len(), starts[2] + 4);
    let texts = ["partial (200)", "403 (200) ✗", "401 (200)"];
    for text in texts {
        assert!(
            lines.iter().any(|l| l.contains(text)),
            "{text:?} in the matrix:\n{}",
            lines.join("\n")
        );
    }
    for line in &lines[1..] {
        let chars: Vec<char> = line.chars().collect();
        for (&start, name) in starts.iter().zip(["admin", "reader", "anon"]) {
            let aligned = chars.len() > start
                && chars[start] != ' '
                && chars[start - 1] == ' '
                && chars[start - 2] == ' ';
            assert!(
                aligned,
                "the {name} column starts at {start} in every row:\n{}",
                lines.join("\n")
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_per_principal_lists_keep_endpoint_names_aligned_with_decided_cells() {
    let (base, _server) = decide_server::start().await;
    let ws = Workspace::new();
    ws.write("s.yaml", &gql_suite("narrow", &base, "", WIDE_CELLS));
    let vars = gql_vars();
    let out = ws
        .permatrix_with_env(&["run", "s.yaml", &vars[0], &vars[1]], &[("COLUMNS", "40")])
        .await;
    no_panic(&out);
    let lines = matrix_lines(&out, "narrow (s.yaml)");
    let reader: Vec<&str> = lines
        .iter()
        .skip_while(|l| **l != "reader:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .copied()
        .collect();
    assert_eq!(reader.len(), 4, "{}", out.stdout);
    // Where each endpoint's name starts on its line.
    let columns: Vec<usize> = reader
        .iter()
        .zip(["Me", "Both", "ApolloSecrets", "PostOnly"])
        .map(|(line, name)| {
            let byte = line.rfind(name).expect("the endpoint's name");
            line[..byte].chars().count()
        })
        .collect();
    assert!(
        columns.windows(2).all(|w| w[0] == w[1]),
        "names start in one column {columns:?}:\n{}",
        reader.join("\n")
    );
}

// ---------------------------------------------------------------------------
// Decisions elsewhere: secrets in reasons, tamper probes.

#[tokio::test(flavor = "multi_thread")]
async fn a_reason_that_quotes_the_credential_is_masked_in_every_report() {
    let (base, _server) = decide_server::start().await;
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &format!(
            "suite: echo\ntarget:\n  base_url: {base}\n  decide:\n    - {{ when: {{ json: /ok, equals: false }}, then: 403, reason: /detail }}\nprincipals:\n  reader: {{ auth: {{ bearer: {{ token: \"${{SLACK_READER_TOKEN}}\" }} }} }}\nendpoints:\n  - request: GET /case/echo\n    expect: {{ reader: 403 }}\n  - name: echo expecting 200\n    request: GET /case/echo\n    expect: {{ reader: 200 }}\n"
        ),
    );
    let out = run(&ws, &["run", "s.yaml"], &slack_vars()).await;
    let out_all = run(
        &ws,
        &[&["run", "s.yaml"][..], common::EVERY_REPORT].concat(),
        &slack_vars(),
    )
    .await;
    assert_eq!(out_all.code, 1, "{}", out_all.all());
    let report = ws.json("r.json");
    let reason = cell(&report, "GET /case/echo", "reader")["reason"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        reason.contains("****") && reason.ends_with("is not valid here"),
        "the reason is read, the token masked: {reason:?}"
    );
    let mut texts = vec![out.all(), out_all.all(), ws.read("snaps/echo.snap")];
    for file in ["r.json", "r.xml", "r.md", "r.html"] {
        texts.push(ws.read(file));
    }
    assert!(
        texts[2].contains("reader → 403 (200: Bearer ****"),
        "{}",
        texts[2]
    );
    for text in &texts {
        assert!(!text.contains(SLACK_READER), "the token leaked:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tampered_token_refused_with_a_200_is_not_reported_as_accepted() {
    let (base, _server) = decide_server::start().await;
    let ws = Workspace::new();
    let text = slack_suite(&base, "").replace("principals:\n", "probes: all\nprincipals:\n");
    ws.write("s.yaml", &text);
    let out = run(&ws, &["run", "s.yaml", "--json", "r.json"], &slack_vars()).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report = ws.json("r.json");
    let probes: Vec<&Value> = report["suites"][0]["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .filter(|c| !c["probe"].is_null())
        .collect();
    assert!(
        probes.len() >= 2,
        "the bearer principals are probed: {report}"
    );
    for probe in &probes {
        assert_eq!(
            (&probe["status"], &probe["decision"], &probe["outcome"]),
            (&json!(200), &json!(403), &json!("passed")),
            "a 200 that says `ok: false` refused the tampered token: {probe}"
        );
    }
    assert!(
        !out.stdout.to_lowercase().contains("accepted"),
        "{}",
        out.stdout
    );
}

// ---------------------------------------------------------------------------
// The scope an answer names (Slack's `needed`) in the scope findings and `reach`.

#[tokio::test(flavor = "multi_thread")]
async fn the_scope_an_answer_names_shows_in_the_findings_and_in_reach() {
    let (base, _server) = decide_server::start().await;
    let ws = Workspace::new();
    // The endpoint documents chat:write, which the reader holds: its refusal
    // is a denial despite the scopes, and the answer says what it needed.
    let text = format!(
        r#"suite: slack
target:
  base_url: {base}
  decide:
    - when: {{ json: /ok, equals: false }}
      then: 403
      reason: /needed
principals:
  admin:
    scopes: ["channels:read", "chat:write"]
    auth: {{ bearer: {{ token: "${{SLACK_ADMIN_TOKEN}}" }} }}
  reader:
    scopes: ["chat:write"]
    auth: {{ bearer: {{ token: "${{SLACK_READER_TOKEN}}" }} }}
endpoints:
  - request: GET /api/conversations.list
    scopes: ["chat:write"]
    expect: {{ admin: 200, reader: deny }}
"#
    );
    ws.write("s.yaml", &text);
    let out = run(
        &ws,
        &["run", "s.yaml", "--snapshots", "snaps", "--json", "r.json"],
        &slack_vars(),
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let finding = out
        .stdout
        .lines()
        .skip_while(|l| !l.contains("denied_despite_scopes: GET /api/conversations.list × reader"))
        .nth(1)
        .unwrap_or_default()
        .to_string();
    assert!(
        finding.contains("the answer's reason `channels:read`"),
        "the hint names the scope the answer asked for:\n{}",
        out.stdout
    );
    let reach = run(
        &ws,
        &[
            "reach",
            "s.yaml",
            "--scopes",
            "chat:write",
            "--snapshots",
            "snaps",
            "--json",
            "reach.json",
        ],
        &slack_vars(),
    )
    .await;
    assert_eq!(reach.code, 0, "{}", reach.all());
    let report = ws.json("reach.json");
    let row = &report["endpoints"][0];
    assert_eq!(row["reached"], false, "{report}");
    assert_eq!(row["via"], "reader", "{report}");
    assert_eq!(
        row["reason"], "channels:read",
        "reach says what the refusing answer named: {report}"
    );
    assert!(
        reach
            .all()
            .contains("via reader (the answer said: channels:read)"),
        "{}",
        reach.all()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_in_the_variables_of_a_graphql_get_is_masked_in_the_url() {
    let (base, _server) = decide_server::start().await;
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &format!(
            r#"suite: gql-secret
target: {{ base_url: {base} }}
principals:
  anon: {{ auth: none }}
endpoints:
  - request: GET /graphql
    graphql:
      query: "query Note($key: String) {{ note {{ id }} }}"
      variables: {{ key: "${{API_TOKEN}}" }}
    expect: {{ "*": any }}
"#
        ),
    );
    let secret = "graphql-get-secret-7d41c2";
    let out = ws
        .permatrix(&[
            "run",
            "s.yaml",
            "--no-snapshot",
            "--json",
            "r.json",
            "--var",
            &format!("API_TOKEN={secret}"),
        ])
        .await;
    no_panic(&out);
    let report = std::fs::read_to_string(ws.path("r.json")).unwrap_or_default();
    assert!(
        report.contains("variables="),
        "the variables went into the URL: {report}"
    );
    assert!(
        !report.contains(secret) && !out.all().contains(secret),
        "a secret-named variable in a GET's variables is masked:\n{report}"
    );
}

// ---------------------------------------------------------------------------
// What a review of real answers asked for.

#[tokio::test(flavor = "multi_thread")]
async fn router_hasura_and_row_level_denials_read_as_their_shape_says() {
    let (base, _server) = decide_server::start().await;
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &format!(
            r#"suite: shapes
target:
  base_url: {base}
  decide:
    - {{ when: {{ status: 200 }}, then: reached }}
principals:
  reader: {{ auth: {{ bearer: {{ token: "${{GQL_READER}}" }} }} }}
endpoints:
  - request: POST /graphql
    graphql: {{ query: "query RouterFilter {{ notes {{ id }} secrets {{ id }} }}" }}
    expect: {{ reader: partial }}
  - request: POST /graphql
    graphql: {{ query: "query HasuraJwt {{ users {{ id }} }}" }}
    expect: {{ reader: 401 }}
  - request: POST /graphql
    graphql: {{ query: "query Authors {{ notes {{ id author {{ id }} }} }}" }}
    expect: {{ reader: partial }}
  - request: POST /graphql
    graphql: {{ query: "query Gateway {{ notes {{ id }} }}" }}
    decide:
      # The endpoint's own rule over each error comes before the target's catch-all.
      - {{ when: {{ json: /errors/*/message, matches: "^never" }}, then: forbidden }}
    expect: {{ reader: allow }}
  - request: POST /graphql
    graphql: {{ query: "query PgSecrets {{ secrets {{ id }} }}" }}
    decide:
      - {{ when: {{ json: /errors/*/message, matches: "^permission denied" }}, then: forbidden }}
    expect: {{ reader: 403 }}
  - name: echo
    request: POST /graphql
    graphql: {{ query: "query EchoPath {{ notes {{ id }} secret {{ id }} }}" }}
    expect: {{ reader: partial }}
  - request: POST /graphql
    graphql: {{ query: "query NullNote {{ note(id: 404) {{ id }} }}" }}
    expect: {{ reader: 200 }}
"#
        ),
    );
    let vars = [format!("--var=GQL_READER={GQL_READER}")];
    let out = run(
        &ws,
        &["run", "s.yaml", "--snapshots", "snaps", "--json", "r.json"],
        &vars,
    )
    .await;
    // The target's catch-all `status: 200 → reached` comes after the
    // endpoint rules, and GraphQL's built-ins apply only when no rule holds:
    // it decides every cell without an endpoint rule that holds.
    let snapshot = std::fs::read_to_string(ws.path("snaps/shapes.snap")).unwrap_or_default();
    assert!(
        snapshot.contains("PgSecrets\n  reader → 403 (200)"),
        "the endpoint's rule over each error comes before the target's `status: 200`:\n{snapshot}\n{}",
        out.all()
    );
    assert!(
        snapshot.contains("Gateway\n  reader → 200"),
        "a rule over errors that holds for none leaves the next rule to decide:\n{snapshot}"
    );
    assert!(
        !out.all().contains(GQL_READER) && !snapshot.contains(GQL_READER),
        "a credential echoed into a path is masked:\n{}\n{snapshot}",
        out.all()
    );
    assert!(
        !snapshot.contains('\u{1b}') && !out.stdout.contains('\u{1b}'),
        "control characters from a path never reach the snapshot or the terminal"
    );

    // Without the catch-all, the built-in reading of each shape.
    let text = std::fs::read_to_string(ws.path("s.yaml")).unwrap_or_default();
    ws.write(
        "s.yaml",
        &text.replace("    - { when: { status: 200 }, then: reached }\n", ""),
    );
    let out = run(
        &ws,
        &["run", "s.yaml", "--no-snapshot", "--json", "r.json"],
        &vars,
    )
    .await;
    let report = ws.json("r.json");
    let router = cell(&report, "RouterFilter", "reader");
    assert_eq!(router["decision"], "partial", "{router}");
    assert_eq!(router["denied_fields"], json!(["secrets"]), "{router}");
    let hasura = cell(&report, "HasuraJwt", "reader");
    assert_eq!(
        hasura["decision"], 401,
        "Hasura's invalid-jwt with 200: {hasura}"
    );
    let authors = cell(&report, "Authors", "reader");
    assert_eq!(authors["decision"], "partial", "{authors}");
    assert_eq!(
        authors["reason"], "denied notes.*.author",
        "list indexes collapse in the reason the snapshot keeps: {authors}"
    );
    assert_eq!(
        authors["denied_fields"],
        json!(["notes.0.author", "notes.1.author"]),
        "the report keeps every path: {authors}"
    );
    let gateway = cell(&report, "Gateway", "reader");
    assert_eq!(
        gateway["decision"], "other",
        "JSON with neither data nor errors is no GraphQL answer: {gateway}"
    );
    assert!(
        gateway["decision_note"]
            .as_str()
            .is_some_and(|n| n.contains("neither `data` nor `errors`")),
        "{gateway}"
    );
    let null_note = cell(&report, "NullNote", "reader");
    assert_eq!(
        (&null_note["decision"], &null_note["decided_by"]),
        (&json!(200), &Value::Null),
        "a field that answered null, without errors, was reached: {null_note}"
    );
    let echo = cell(&report, "echo", "reader");
    assert_eq!(echo["decision"], "partial", "{echo}");
    assert!(!out.all().contains(GQL_READER), "{}", out.all());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mutation_hidden_behind_a_variable_is_guarded_and_other_methods_are_refused() {
    let (base, server) = decide_server::start().await;
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &format!(
            r##"suite: hidden
target: {{ base_url: {base} }}
vars:
  OP: "mutation DeleteNote {{ deleteNote(id: 1) {{ id }} }}"
principals:
  admin: {{ auth: {{ bearer: {{ token: "${{GQL_ADMIN}}" }} }} }}
endpoints:
  - name: whole document in a variable
    request: POST /graphql
    graphql: {{ query: "${{OP}}" }}
    expect: {{ "*": any }}
  - name: comment first
    request: POST /graphql
    graphql: {{ query: "# ${{OP}}\n mutation DeleteNote {{ deleteNote(id: 1) {{ ${{OP}} }} }}" }}
    expect: {{ "*": any }}
"##
        ),
    );
    let vars = [format!("--var=GQL_ADMIN={GQL_ADMIN}")];
    let out = run(&ws, &["run", "s.yaml", "--no-snapshot"], &vars).await;
    assert!(
        out.stdout
            .trim_end()
            .ends_with("0 passed, 0 failed, 2 skipped"),
        "a document whose kind a variable hides is guarded like a mutation:\n{}",
        out.all()
    );
    assert!(
        server.received().is_empty(),
        "nothing was sent to the real target"
    );

    ws.write(
        "bad.yaml",
        &format!(
            r#"suite: bad
target: {{ base_url: {base} }}
principals:
  anon: {{ auth: none }}
endpoints:
  - request: PUT /graphql
    graphql: {{ query: "query Q {{ notes {{ id }} }}" }}
    expect: {{ "*": any }}
  - request: POST /graphql
    graphql: {{ query: "query R {{ notes {{ id }} }}" }}
    decide:
      - {{ when: {{ status: [200, partial] }}, then: 403 }}
    expect: {{ "*": any }}
"#
        ),
    );
    let text = r#"
target:
  graphql:
    codes: { "": 403, FORBIDDEN: partial }
"#;
    let bad = std::fs::read_to_string(ws.path("bad.yaml")).unwrap_or_default();
    ws.write(
        "bad.yaml",
        &bad.replacen(
            &format!("target: {{ base_url: {base} }}\n"),
            &format!(
                "target:\n  base_url: {base}\n{}",
                &text["\ntarget:\n".len()..]
            ),
            1,
        ),
    );
    let out = ws.permatrix(&["check", "bad.yaml"]).await;
    no_panic(&out);
    assert_eq!(out.code, 2, "{}", out.all());
    for (line, message) in [
        (
            "bad.yaml:9:5:",
            "a GraphQL operation is sent by GET or POST, not PUT",
        ),
        ("bad.yaml:15:27:", "can never hold"),
        ("bad.yaml:5:14:", "an empty code matches no error"),
        ("bad.yaml:5:34:", "cannot be `partial`"),
    ] {
        assert!(
            out.stderr
                .lines()
                .any(|l| l.starts_with(line) && l.contains(message)),
            "missing {line} {message}:\n{}",
            out.stderr
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn diff_tells_a_decision_read_from_another_status_apart() {
    let ws = Workspace::new();
    let snap = |cell: &str| {
        format!("---\nsource: permatrix\nexpression: s\n---\nGET /x\n  tok → {cell}\n")
    };
    ws.write("a.snap", &snap("403"));
    ws.write("b.snap", &snap("403 (200: channels:read)"));
    let out = ws.permatrix(&["diff", "a.snap", "b.snap"]).await;
    no_panic(&out);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout.contains("changed") && out.stdout.contains("403 → 403 (200: channels:read)"),
        "{}",
        out.stdout
    );
}
