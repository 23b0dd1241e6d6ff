//! Items of list answers (issue 25, part 1): `items:` read on reached cells
//! (every page, as the cell's principal), `expect_items:` judged after the
//! run, ids in the JSON report and the snapshot, and every way a suite or a
//! server can get them wrong — each against the server of
//! `common/list_server.rs` on loopback, through the binary.

mod common;

use common::list_server::{self, ADMIN, ALICE, AUDITOR, BOB};
use common::{Output, Workspace, cell};
use serde_json::{Value, json};

/// Fails unless nothing panicked.
fn no_panic(out: &Output) {
    assert!(
        !out.all().contains("panicked"),
        "permatrix panicked:\n{}",
        out.all()
    );
}

/// The 1-based number of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{text}"))
        + 1
}

/// The line of `out`'s stdout that starts with `prefix`.
fn line_starting<'o>(out: &'o Output, prefix: &str) -> &'o str {
    out.stdout
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting {prefix:?} in:\n{}", out.stdout))
}

/// A suite against the list server with its four principals (alice and bob
/// in group `users`) and the given endpoints (each starting `  - `).
fn suite(base: &str, endpoints: &str) -> String {
    format!(
        r#"suite: lists
target:
  base_url: {base}
principals:
  alice: {{ auth: {{ bearer: {{ token: "${{ALICE_TOKEN}}" }} }}, vars: {{ first_note: "1" }} }}
  bob: {{ auth: {{ bearer: {{ token: "${{BOB_TOKEN}}" }} }}, vars: {{ first_note: "2" }} }}
  auditor: {{ auth: {{ bearer: {{ token: "${{AUDITOR_TOKEN}}" }} }} }}
  admin: {{ auth: {{ bearer: {{ token: "${{ADMIN_TOKEN}}" }} }} }}
groups:
  users: [alice, bob]
endpoints:
{endpoints}"#
    )
}

fn vars() -> Vec<String> {
    vec![
        format!("--var=ALICE_TOKEN={ALICE}"),
        format!("--var=BOB_TOKEN={BOB}"),
        format!("--var=AUDITOR_TOKEN={AUDITOR}"),
        format!("--var=ADMIN_TOKEN={ADMIN}"),
    ]
}

/// Runs `permatrix` with the principals' tokens and `args`; fails on a panic.
async fn run(ws: &Workspace, args: &[&str]) -> Output {
    let vars = vars();
    let mut all: Vec<&str> = args.to_vec();
    all.extend(vars.iter().map(String::as_str));
    let out = ws.permatrix(&all).await;
    no_panic(&out);
    out
}

/// The ids of a cell of the JSON report.
fn ids(report: &Value, endpoint: &str, principal: &str) -> Value {
    cell(report, endpoint, principal)["items"]["ids"].clone()
}

// ---------------------------------------------------------------------------
// 1. A list filtered correctly, and one that leaks.

/// One endpoint per kind of rule over `GET /notes`, each of which holds while
/// the server filters (alice sees 1, 3, 5, 7 like the auditor) and breaks for
/// alice once it leaks bob's note 2 to her.
const RULES: &str = r#"  - name: excludes
    request: GET /notes
    items: { at: /notes, id: /id }
    expect: { "*": 200 }
    expect_items: { alice: { excludes: ["2"] }, bob: { excludes: ["1", "3"] } }
  - name: exactly
    request: GET /notes
    items: { at: /notes, id: /id }
    expect: { "*": 200 }
    expect_items: { alice: { exactly: ["1", "3", "5", "7"] }, bob: { exactly: ["2", "4", "6"] } }
  - name: count
    request: GET /notes
    items: { at: /notes, id: /id }
    expect: { "*": 200 }
    expect_items: { alice: { count: 4 }, bob: { count: "<=3" }, admin: { count: ">=7" } }
  - name: subset_of
    request: GET /notes
    items: { at: /notes, id: /id }
    expect: { "*": 200 }
    expect_items: { alice: { subset_of: auditor }, bob: { subset_of: admin } }
  - name: same_as
    request: GET /notes
    items: { at: /notes, id: /id }
    expect: { "*": 200 }
    expect_items: { alice: { same_as: auditor } }
  - name: includes
    request: GET /notes
    items: { at: /notes, id: /id }
    expect: { "*": 200 }
    expect_items: { alice: { includes: ["1", "7"] }, admin: { includes: ["1", "2", "7"] } }
  - name: group
    request: GET /notes
    items: { at: /notes, id: /id }
    expect: { "*": 200 }
    expect_items: { users: { count: "<=4" } }
  - name: star
    request: GET /notes
    items: { at: /notes, id: /id }
    expect: { "*": 200 }
    expect_items: { bob: { count: 3 }, admin: { count: 7 }, "*": { excludes: ["2"] } }
"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_list_filtered_by_owner_holds_every_rule() {
    let (base, _server) = list_server::start().await;
    let ws = Workspace::new();
    ws.write("s.yaml", &suite(&base, RULES));
    let out = run(&ws, &["run", "s.yaml", "--json", "r.json"]).await;
    assert_eq!(out.code, 0, "every rule holds: {}", out.all());
    assert!(
        out.stdout.trim_end().ends_with("32 passed, 0 failed"),
        "{}",
        out.stdout
    );
    let report = ws.json("r.json");
    let alice = cell(&report, "excludes", "alice");
    assert_eq!(
        alice["items"],
        json!({"ids": ["1", "3", "5", "7"], "count": 4, "truncated": false, "pages": 1, "more_pages": false}),
        "{alice}"
    );
    assert_eq!(ids(&report, "excludes", "bob"), json!(["2", "4", "6"]));
    assert_eq!(
        ids(&report, "excludes", "admin"),
        json!(["1", "2", "3", "4", "5", "6", "7"])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_list_that_leaks_breaks_each_rule_and_the_line_names_the_ids() {
    let (base, server) = list_server::start().await;
    server.leak(true);
    let ws = Workspace::new();
    ws.write("s.yaml", &suite(&base, RULES));
    let out = run(&ws, &["run", "s.yaml", "--json", "r.json"]).await;
    assert_eq!(out.code, 1, "a leak fails the run: {}", out.all());
    for (endpoint, note) in [
        ("excludes", "items: sees 2 (excludes)"),
        (
            "exactly",
            "items: not exactly the ids asked (sees also: 2; does not see: )",
        ),
        ("count", "items: sees 5 item(s), count 4 asked"),
        (
            "subset_of",
            "items: sees 2 that auditor does not (subset_of auditor)",
        ),
        (
            "same_as",
            "items: not the same as auditor (sees also: 2; does not see: )",
        ),
        ("group", "items: sees 5 item(s), count <=4 asked"),
        ("star", "items: sees 2 (excludes)"),
    ] {
        let line = line_starting(&out, &format!("FAIL  lists › {endpoint} › alice: "));
        assert!(
            line.contains(note) && line.contains("got 200, as expected"),
            "{endpoint}: {line}"
        );
        let report = ws.json("r.json");
        let alice = cell(&report, endpoint, "alice");
        assert_eq!(alice["outcome"], "failed", "{alice}");
        assert_eq!(alice["note"], note, "{alice}");
        assert_eq!(alice["items"]["ids"], json!(["1", "2", "3", "5", "7"]));
    }
    // `includes` still holds; nobody else breaks anything.
    assert!(
        out.stdout.trim_end().ends_with("25 passed, 7 failed"),
        "{}",
        out.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_item_gone_breaks_includes_naming_it() {
    let (base, server) = list_server::start().await;
    server.hide_first(true);
    let ws = Workspace::new();
    ws.write("s.yaml", &suite(&base, RULES));
    let out = run(&ws, &["run", "s.yaml"]).await;
    assert_eq!(out.code, 1, "{}", out.all());
    let alice = line_starting(&out, "FAIL  lists › includes › alice: ");
    assert!(
        alice.contains("items: does not see 1 (includes)"),
        "{alice}"
    );
    let admin = line_starting(&out, "FAIL  lists › includes › admin: ");
    assert!(
        admin.contains("items: does not see 1 (includes)") && !admin.contains("7"),
        "only the missing id is named: {admin}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_list_that_does_not_filter_fails_excludes_and_a_principal_key_wins_over_its_group() {
    let (base, _server) = list_server::start().await;
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &suite(
            &base,
            r#"  - request: GET /leaky
    items: { at: /notes, id: /id }
    expect: { "*": 200 }
    expect_items: { alice: { excludes: ["2", "4", "6"] }, bob: { same_as: admin }, users: { count: "<=4" } }
"#,
        ),
    );
    let out = run(&ws, &["run", "s.yaml", "--json", "r.json"]).await;
    assert_eq!(out.code, 1, "{}", out.all());
    let alice = line_starting(&out, "FAIL  lists › GET /leaky › alice: ");
    assert!(alice.contains("items: sees 2, 4, 6 (excludes)"), "{alice}");
    // bob names his own key: the group's rule is not his.
    let report = ws.json("r.json");
    assert_eq!(cell(&report, "GET /leaky", "bob")["outcome"], "passed");
    assert_eq!(cell(&report, "GET /leaky", "admin")["outcome"], "passed");
}

// ---------------------------------------------------------------------------
// 2. Pagination.

/// The requests the server received on `path` with `token`.
fn received_by(server: &list_server::Lists, path: &str, token: &str) -> Vec<list_server::Received> {
    server
        .received_on(path)
        .into_iter()
        .filter(|r| r.authorization == format!("Bearer {token}"))
        .collect()
}

/// Runs one paginated endpoint and checks that every principal saw all its
/// notes over the right number of pages, each page a request of its own
/// with its own credentials, counted in the cell's attempts.
async fn paginated(
    path: &str,
    items: &str,
) -> (Workspace, Value, std::sync::Arc<list_server::Lists>) {
    let (base, server) = list_server::start().await;
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &suite(
            &base,
            &format!("  - request: GET {path}\n    items: {items}\n    expect: {{ \"*\": 200 }}\n"),
        ),
    );
    let out = run(&ws, &["run", "s.yaml", "--json", "r.json"]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report = ws.json("r.json");
    let endpoint = format!("GET {path}");
    for (principal, token, seen, pages) in [
        (
            "admin",
            ADMIN,
            json!(["1", "2", "3", "4", "5", "6", "7"]),
            4,
        ),
        ("alice", ALICE, json!(["1", "3", "5", "7"]), 2),
        ("bob", BOB, json!(["2", "4", "6"]), 2),
    ] {
        let c = cell(&report, &endpoint, principal);
        assert_eq!(c["items"]["ids"], seen, "{principal}: {c}");
        assert_eq!(c["items"]["count"], seen.as_array().unwrap().len(), "{c}");
        assert_eq!(c["items"]["pages"], pages, "{principal}: {c}");
        let received = received_by(&server, path.split('?').next().unwrap(), token);
        assert_eq!(
            received.len(),
            pages,
            "one request a page, each with {principal}'s credentials: {received:?}"
        );
        assert_eq!(
            c["attempts"], pages,
            "every page counts in the cell's attempts: {c}"
        );
    }
    // No request went out without credentials or with somebody else's.
    assert!(
        server
            .received()
            .iter()
            .all(|r| r.authorization.starts_with("Bearer list-")),
        "{:?}",
        server.received()
    );
    (ws, report, server)
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_follow_an_rfc_8288_link_header_among_other_links() {
    let (_ws, _report, server) = paginated(
        "/link",
        "{ at: /notes, id: /id, next: { header: Link, rel: next } }",
    )
    .await;
    let pages: Vec<Option<String>> = received_by(&server, "/link", ADMIN)
        .iter()
        .map(|r| r.param("page"))
        .collect();
    assert_eq!(
        pages,
        [None, Some("2".into()), Some("3".into()), Some("4".into())],
        "`next`, never `first` or `last`"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_relative_link_target_is_resolved_against_the_request_url() {
    // RFC 8288 §3.1 and RFC 3986 §5.1: a Link's target is relative to the
    // URL of the answer that carries it, not to the suite's base URL.
    paginated(
        "/v1/rel-link",
        "{ at: /notes, id: /id, next: { header: Link } }",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_follow_a_next_page_header_holding_a_whole_url() {
    let (_ws, _report, server) = paginated(
        "/next-page",
        "{ at: /notes, id: /id, next: { header: Next-Page } }",
    )
    .await;
    let pages: Vec<Option<String>> = received_by(&server, "/next-page", ADMIN)
        .iter()
        .map(|r| r.param("page"))
        .collect();
    assert_eq!(
        pages,
        [None, Some("2".into()), Some("3".into()), Some("4".into())]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_follow_a_relative_url_in_the_body() {
    paginated(
        "/json-next",
        "{ at: /data, id: /id, next: { json: /links/next } }",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cursor_token_goes_back_as_a_query_parameter_keeping_the_others() {
    let (_ws, _report, server) = paginated(
        "/cursor?max_results=2",
        "{ at: /notes, id: /id, next: { json: /next_page_token, param: page_token } }",
    )
    .await;
    let admin = received_by(&server, "/cursor", ADMIN);
    let tokens: Vec<Option<String>> = admin.iter().map(|r| r.param("page_token")).collect();
    assert_eq!(
        tokens,
        [
            None,
            Some("tok-2-x".into()),
            Some("tok-4-x".into()),
            Some("tok-6-x".into())
        ],
        "{admin:?}"
    );
    assert!(
        admin
            .iter()
            .all(|r| r.param("max_results").as_deref() == Some("2")),
        "the request's own parameters stay: {admin:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn max_pages_stops_early_and_counts_what_it_read() {
    let (base, server) = list_server::start().await;
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &suite(
            &base,
            r#"  - request: GET /link
    items: { at: /notes, id: /id, max_pages: 2, next: { header: Link, rel: next } }
    expect: { "*": 200 }
    expect_items: { admin: { includes: ["1", "4"] } }
"#,
        ),
    );
    let out = run(&ws, &["run", "s.yaml", "--json", "r.json"]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report = ws.json("r.json");
    let admin = cell(&report, "GET /link", "admin");
    assert_eq!(
        admin["items"],
        json!({"ids": ["1", "2", "3", "4"], "count": 4, "truncated": false, "pages": 2, "more_pages": true}),
        "{admin}"
    );
    assert_eq!(admin["attempts"], 2, "{admin}");
    assert_eq!(received_by(&server, "/link", ADMIN).len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_that_loop_are_a_cell_error_naming_the_principal() {
    let (base, server) = list_server::start().await;
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &suite(
            &base,
            r#"  - request: GET /loop
    items: { at: /notes, id: /id, max_pages: 1000, next: { json: /next } }
    expect: { "*": 200 }
"#,
        ),
    );
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        run(&ws, &["run", "s.yaml", "--json", "r.json"]),
    )
    .await
    .expect("a loop of pages ends");
    assert_eq!(out.code, 1, "{}", out.all());
    for principal in ["alice", "bob", "auditor", "admin"] {
        let line = line_starting(&out, &format!("ERROR lists › GET /loop › {principal}: "));
        assert!(
            line.contains(&format!(
                "the next page of the answer to {principal} is one already read"
            )) && line.contains("loop"),
            "{line}"
        );
    }
    let report = ws.json("r.json");
    let admin = cell(&report, "GET /loop", "admin");
    assert_eq!(admin["outcome"], "error", "{admin}");
    assert_eq!(
        received_by(&server, "/loop", ADMIN).len(),
        2,
        "/loop, /loop?again=1, stop"
    );
}

// ---------------------------------------------------------------------------
// 3. Reached cells only; bad answers.

#[tokio::test(flavor = "multi_thread")]
async fn items_are_read_on_reached_cells_only() {
    let (base, server) = list_server::start().await;
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &suite(
            &base,
            r#"  - request: GET /admin-only
    items: { at: /notes, id: /id, next: { header: Link, rel: next } }
    expect: { admin: 200, "*": 403 }
    expect_items: { admin: { count: 7 }, alice: { count: 0 } }
"#,
        ),
    );
    let out = run(&ws, &["run", "s.yaml", "--json", "r.json"]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report = ws.json("r.json");
    let alice = cell(&report, "GET /admin-only", "alice");
    assert_eq!(alice["status"], 403, "{alice}");
    assert_eq!(
        alice["items"],
        Value::Null,
        "a denied cell saw nothing: {alice}"
    );
    assert_eq!(alice["attempts"], 1, "{alice}");
    assert_eq!(
        ids(&report, "GET /admin-only", "admin"),
        json!(["1", "2", "3", "4", "5", "6", "7"])
    );
    assert_eq!(received_by(&server, "/admin-only", ALICE).len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_list_left_out_of_an_object_is_empty() {
    let (base, _server) = list_server::start().await;
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &suite(
            &base,
            r#"  - request: GET /case/empty-object
    items: { at: /notes, id: /id }
    expect: { "*": 200 }
    expect_items: { "*": { count: 0 } }
"#,
        ),
    );
    let out = run(&ws, &["run", "s.yaml", "--json", "r.json"]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report = ws.json("r.json");
    assert_eq!(
        cell(&report, "GET /case/empty-object", "admin")["items"],
        json!({"ids": [], "count": 0, "truncated": false, "pages": 1, "more_pages": false})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_answers_are_cell_errors_naming_the_pointer_and_the_principal() {
    let (base, _server) = list_server::start().await;
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &suite(
            &base,
            r#"  - request: GET /case/not-a-list
    items: { at: /notes, id: /id }
    expect: { "*": 200 }
  - request: GET /case/null-list
    items: { at: /notes, id: /id }
    expect: { "*": 200 }
  - request: GET /case/top-level-list
    items: { at: /notes, id: /id }
    expect: { "*": 200 }
  - request: GET /case/object-id
    items: { at: /notes, id: /id }
    expect: { "*": 200 }
  - request: GET /case/missing-id
    items: { at: /notes, id: /id }
    expect: { "*": 200 }
  - request: GET /case/not-json
    items: { at: /notes, id: /id }
    expect: { "*": 200 }
"#,
        ),
    );
    let out = run(&ws, &["run", "s.yaml", "--json", "r.json"]).await;
    assert_eq!(out.code, 1, "{}", out.all());
    let report = ws.json("r.json");
    for (case, message) in [
        (
            "not-a-list",
            "`/notes` in the answer to bob is an object, not a list",
        ),
        (
            "null-list",
            "`/notes` in the answer to bob is null, not a list",
        ),
        ("top-level-list", "`/notes` is not in the answer to bob"),
        (
            "object-id",
            "item 1 of `/notes` in the answer to bob: `/id` is an object, not a scalar id",
        ),
        (
            "missing-id",
            "item 1 of `/notes` in the answer to bob: it has no `/id`",
        ),
        ("not-json", "the answer to bob is not JSON"),
    ] {
        let endpoint = format!("GET /case/{case}");
        let line = line_starting(&out, &format!("ERROR lists › {endpoint} › bob: "));
        assert!(line.contains(message), "{case}: {line}");
        let bob = cell(&report, &endpoint, "bob");
        assert_eq!(bob["outcome"], "error", "{bob}");
        assert!(
            bob["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains(message),
            "{bob}"
        );
        assert_eq!(bob["items"], Value::Null, "{bob}");
    }
    assert!(
        out.stdout.trim_end().ends_with("24 errors"),
        "{}",
        out.stdout
    );
}

// ---------------------------------------------------------------------------
// 4. What an id is.

#[tokio::test(flavor = "multi_thread")]
async fn ids_are_joined_pointers_whole_items_numbers_and_booleans() {
    let (base, _server) = list_server::start().await;
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &suite(
            &base,
            r#"  - request: GET /case/composite
    items: { at: /notes, id: [/owner, /id] }
    expect: { "*": 200 }
    expect_items: { "*": { includes: ["alice/1", "bob/1"], excludes: ["1", "alice"] } }
  - request: GET /case/scalars
    items: { at: /notes, id: /id }
    expect: { "*": 200 }
    expect_items: { "*": { exactly: ["42", "true", "2.5", "x"] } }
  - request: GET /case/whole
    items: { at: /notes }
    expect: { "*": 200 }
    expect_items: { "*": { includes: ["a", "7", "false"] } }
  - request: GET /case/nested
    items: { at: /result/page/rows, id: /meta/key }
    expect: { "*": 200 }
"#,
        ),
    );
    let out = run(&ws, &["run", "s.yaml", "--json", "r.json"]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report = ws.json("r.json");
    assert_eq!(
        ids(&report, "GET /case/composite", "alice"),
        json!(["alice/1", "alice/3", "bob/1"])
    );
    assert_eq!(
        ids(&report, "GET /case/scalars", "alice"),
        json!(["2.5", "42", "true", "x"])
    );
    assert_eq!(
        ids(&report, "GET /case/whole", "alice"),
        json!(["7", "[\"x\",1]", "a", "false", "{\"k\":\"v\"}"])
    );
    assert_eq!(
        ids(&report, "GET /case/nested", "alice"),
        json!(["K-1", "K-2"])
    );
}

// ---------------------------------------------------------------------------
// 5. Snapshots.

#[tokio::test(flavor = "multi_thread")]
async fn a_newly_seen_id_is_widened_and_a_lost_one_narrowed() {
    let (base, server) = list_server::start().await;
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &suite(
            &base,
            "  - request: GET /notes\n    items: { at: /notes, id: /id }\n    expect: { \"*\": 200 }\n",
        ),
    );
    let snap = ["run", "s.yaml", "--snapshots", "snaps"];
    let out = run(&ws, &snap).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let first = ws.read("snaps/lists.snap");
    assert!(
        first.contains("  alice → 200\n    items: [\"1\",\"3\",\"5\",\"7\"]\n"),
        "{first}"
    );
    assert!(
        first.contains("  bob → 200\n    items: [\"2\",\"4\",\"6\"]\n"),
        "{first}"
    );
    let out = run(&ws, &snap).await;
    assert_eq!(out.code, 0, "unchanged: {}", out.all());

    server.leak(true);
    let out = run(&ws, &snap).await;
    assert_eq!(out.code, 1, "a new id fails the run: {}", out.all());
    assert!(
        out.stdout
            .contains("widened     GET /notes × alice: items newly seen: 2"),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("× bob"),
        "bob's list did not change: {}",
        out.stdout
    );
    let out = run(&ws, &["run", "s.yaml", "--snapshots", "snaps", "--accept"]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        ws.read("snaps/lists.snap")
            .contains("    items: [\"1\",\"2\",\"3\",\"5\",\"7\"]\n")
    );

    server.leak(false);
    server.hide_first(true);
    let out = run(&ws, &snap).await;
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout
            .contains("narrowed    GET /notes × alice: items no longer seen: 1, 2"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("narrowed    GET /notes × admin: items no longer seen: 1"),
        "{}",
        out.stdout
    );
}

// ---------------------------------------------------------------------------
// 6. Interpolation.

#[tokio::test(flavor = "multi_thread")]
async fn rule_ids_interpolate_variables() {
    let (base, _server) = list_server::start().await;
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &suite(
            &base,
            r#"  - request: GET /notes
    items: { at: /notes, id: /id }
    expect: { "*": 200 }
    expect_items: { users: { includes: ["${first_note}"] }, admin: { includes: ["${NOTE_ID}"] } }
"#,
        ),
    );
    let out = run(&ws, &["run", "s.yaml", "--var", "NOTE_ID=6"]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let out = run(&ws, &["run", "s.yaml", "--var", "NOTE_ID=9"]).await;
    assert_eq!(out.code, 1, "{}", out.all());
    let admin = line_starting(&out, "FAIL  lists › GET /notes › admin: ");
    assert!(
        admin.contains("items: does not see 9 (includes)"),
        "{admin}"
    );
}

// ---------------------------------------------------------------------------
// 7. Load errors.

/// Checks `text` (the endpoints of a suite) and expects exit 2 with `message`
/// located at the line holding `at` and column `column`.
async fn load_error(endpoints: &str, at: &str, column: usize, message: &str) -> Output {
    let ws = Workspace::new();
    let text = suite("http://127.0.0.1:9", endpoints);
    ws.write("s.yaml", &text);
    let out = run(&ws, &["check", "s.yaml"]).await;
    assert_eq!(out.code, 2, "{message}: {}", out.all());
    let located = format!("s.yaml:{}:{column}: ", line_of(&text, at));
    assert!(
        out.all()
            .lines()
            .any(|l| l.contains(&located) && l.contains(message)),
        "expected {located}{message} in:\n{}",
        out.all()
    );
    out
}

#[tokio::test]
async fn expect_items_without_items_is_a_load_error() {
    load_error(
        "  - request: GET /notes\n    expect: { \"*\": 200 }\n    expect_items:\n      alice: { count: 1 }\n",
        "alice: { count",
        7,
        "`expect_items:` needs `items:`",
    )
    .await;
}

#[tokio::test]
async fn an_unknown_principal_in_expect_items_is_named_with_a_suggestion() {
    let out = load_error(
        "  - request: GET /notes\n    items: { at: /notes }\n    expect: { \"*\": 200 }\n    expect_items:\n      alcie: { count: 1 }\n",
        "alcie:",
        7,
        "`expect_items` names unknown principal or group `alcie`",
    )
    .await;
    assert!(out.all().contains("did you mean `alice`?"), "{}", out.all());
}

#[tokio::test]
async fn an_unknown_rule_key_is_named_with_a_suggestion() {
    let out = load_error(
        "  - request: GET /notes\n    items: { at: /notes }\n    expect: { \"*\": 200 }\n    expect_items:\n      alice: { exclude: [\"2\"] }\n",
        "exclude:",
        16,
        "exclude",
    )
    .await;
    assert!(
        out.all().contains("did you mean `excludes`?"),
        "{}",
        out.all()
    );
}

#[tokio::test]
async fn subset_of_an_unknown_principal_is_a_load_error() {
    let out = load_error(
        "  - request: GET /notes\n    items: { at: /notes }\n    expect: { \"*\": 200 }\n    expect_items:\n      alice: { subset_of: admn }\n",
        "subset_of: admn",
        7,
        "`expect_items` compares with unknown principal `admn`",
    )
    .await;
    assert!(out.all().contains("did you mean `admin`?"), "{}", out.all());
}

#[tokio::test]
async fn items_without_at_is_a_load_error() {
    load_error(
        "  - request: GET /notes\n    items: { id: /id }\n    expect: { \"*\": 200 }\n",
        "items: { id",
        12,
        "`items:` has no `at:`",
    )
    .await;
}

#[tokio::test]
async fn an_at_with_a_star_is_a_load_error() {
    load_error(
        "  - request: GET /notes\n    items: { at: /notes/*/id }\n    expect: { \"*\": 200 }\n",
        "items: { at",
        18,
        "`*` has no place in it",
    )
    .await;
}

#[tokio::test]
async fn a_next_with_both_header_and_json_is_a_load_error() {
    load_error(
        "  - request: GET /notes\n    items:\n      at: /notes\n      next: { header: Link, json: /next }\n",
        "next: {",
        13,
        "`items.next` takes one of `header:` or `json:`",
    )
    .await;
}

#[tokio::test]
async fn a_bad_count_is_a_load_error() {
    load_error(
        "  - request: GET /notes\n    items: { at: /notes }\n    expect: { \"*\": 200 }\n    expect_items:\n      alice: { count: \"about 3\" }\n",
        "about 3",
        23,
        "`count: about 3` is not a count",
    )
    .await;
}

#[tokio::test]
async fn an_empty_rule_is_a_load_error() {
    load_error(
        "  - request: GET /notes\n    items: { at: /notes }\n    expect: { \"*\": 200 }\n    expect_items:\n      alice: {}\n",
        "alice: {}",
        14,
        "an items rule asks nothing",
    )
    .await;
}

// ---------------------------------------------------------------------------
// 8. Secrets.

#[tokio::test(flavor = "multi_thread")]
async fn an_id_that_is_a_credential_is_masked_everywhere() {
    let (base, _server) = list_server::start().await;
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &suite(
            &base,
            r#"  - request: GET /tokens
    items: { at: /tokens, id: /id }
    expect: { "*": 200 }
    expect_items: { alice: { exactly: ["public"] } }
"#,
        ),
    );
    let out = run(
        &ws,
        &["run", "s.yaml", "--json", "r.json", "--snapshots", "snaps"],
    )
    .await;
    assert_eq!(
        out.code,
        1,
        "alice sees her token as an item: {}",
        out.all()
    );
    let line = line_starting(&out, "FAIL  lists › GET /tokens › alice: ");
    assert!(
        line.contains("items: not exactly the ids asked (sees also: ****; does not see: )"),
        "{line}"
    );
    let report = ws.read("r.json");
    let snapshot = ws.read("snaps/lists.snap");
    for token in [ALICE, BOB, AUDITOR, ADMIN] {
        for (what, text) in [
            ("terminal", out.all()),
            ("JSON report", report.clone()),
            ("snapshot", snapshot.clone()),
        ] {
            assert!(!text.contains(token), "{token} in the {what}:\n{text}");
        }
    }
    let report = ws.json("r.json");
    assert_eq!(
        ids(&report, "GET /tokens", "bob"),
        json!(["****", "public"])
    );
    assert!(
        snapshot.contains("  bob → 200\n    items: [\"****\",\"public\"]\n"),
        "{snapshot}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rule_naming_a_secret_id_still_judges_it() {
    let (base, _server) = list_server::start().await;
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &suite(
            &base,
            r#"  - request: GET /tokens
    items: { at: /tokens, id: /id }
    expect: { "*": 200 }
    expect_items: { alice: { excludes: ["${ALICE_TOKEN}"] }, bob: { includes: ["${BOB_TOKEN}"] } }
"#,
        ),
    );
    let out = run(&ws, &["run", "s.yaml", "--json", "r.json"]).await;
    // alice's list holds her token: `excludes` must fail (masked in what is
    // shown); bob's holds his: `includes` must hold.
    let report = ws.json("r.json");
    assert_eq!(
        cell(&report, "GET /tokens", "alice")["outcome"],
        "failed",
        "alice sees her token, which `excludes` forbids: {}",
        out.all()
    );
    assert_eq!(
        cell(&report, "GET /tokens", "bob")["outcome"],
        "passed",
        "bob sees his token, as `includes` asks: {}",
        out.all()
    );
    assert!(!out.all().contains(ALICE), "{}", out.all());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_list_past_a_cells_64_kib_is_read_whole_and_max_body_bounds_it() {
    let (base, _server) = list_server::start().await;
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &suite(
            &base,
            r#"  - name: big
    request: GET /big
    items: { at: /notes, id: /id }
    expect: { "*": 200 }
    expect_items: { "*": { count: 2000 } }
  - name: bounded
    request: GET /big
    items: { at: /notes, id: /id, max_body: 16KiB }
    expect: { "*": 200 }
"#,
        ),
    );
    let out = run(&ws, &["run", "s.yaml", "--no-snapshot", "--json", "r.json"]).await;
    let report = ws.json("r.json");
    let big = cell(&report, "big", "alice");
    assert_eq!(
        big["outcome"], "passed",
        "the default reads a list of ~110 KiB: {big}"
    );
    assert_eq!(big["items"]["count"], 2000, "{big}");
    let bounded = cell(&report, "bounded", "alice");
    assert_eq!(bounded["outcome"], "error", "{bounded}");
    assert!(
        out.stdout.contains("larger than items.max_body (16 KiB)"),
        "the error says which limit to raise:\n{}",
        out.stdout
    );
    ws.write(
        "bad.yaml",
        &suite(
            &base,
            "  - request: GET /big\n    items: { at: /notes, max_body: lots }\n    expect: { \"*\": 200 }\n",
        ),
    );
    let out = ws.permatrix(&["check", "bad.yaml"]).await;
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr.contains("`max_body: lots` is not a size"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_next_page_on_another_origin_is_never_sent_the_credentials() {
    let (base, _server) = list_server::start().await;
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &suite(
            &base,
            "  - request: GET /foreign-link\n    items: { at: /notes, id: /id, next: { header: Link } }\n    expect: { \"*\": 200 }\n",
        ),
    );
    let out = run(&ws, &["run", "s.yaml", "--no-snapshot"]).await;
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout
            .contains("is on another origin (http://other.invalid): it is not followed with alice's credentials"),
        "{}",
        out.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_list_cut_by_max_pages_cannot_pass_a_rule_that_needs_all_of_it() {
    let (base, _server) = list_server::start().await;
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &suite(
            &base,
            r#"  - name: cut
    request: GET /link
    items: { at: /notes, id: /id, max_pages: 1, next: { header: Link } }
    expect: { "*": 200 }
    expect_items: { admin: { excludes: ["999"] } }
  - name: cut but includes
    request: GET /link
    items: { at: /notes, id: /id, max_pages: 1, next: { header: Link } }
    expect: { "*": 200 }
    expect_items: { admin: { includes: ["1"] } }
"#,
        ),
    );
    let out = run(&ws, &["run", "s.yaml", "--no-snapshot", "--json", "r.json"]).await;
    let report = ws.json("r.json");
    let cut = cell(&report, "cut", "admin");
    assert_eq!(cut["outcome"], "failed", "{cut}");
    assert_eq!(cut["items"]["more_pages"], true, "{cut}");
    assert!(
        cut["note"]
            .as_str()
            .is_some_and(|n| n.contains("pages remained after items.max_pages (1)")),
        "{cut}\n{}",
        out.all()
    );
    let includes = cell(&report, "cut but includes", "admin");
    assert_eq!(
        includes["outcome"], "passed",
        "`includes` is judged on part of a list: {includes}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn who_can_see_each_object_reads_in_the_terminal_json_markdown_and_html() {
    let (base, _server) = list_server::start().await;
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &suite(
            &base,
            "  - request: GET /notes\n    items: { at: /notes, id: /id }\n    expect: { \"*\": 200 }\n",
        ),
    );
    let out = run(
        &ws,
        &[
            "run",
            "s.yaml",
            "--no-snapshot",
            "--by-object",
            "--json",
            "r.json",
            "--markdown",
            "r.md",
            "--html",
            "r.html",
        ],
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.all());
    // Note 2 is bob's: bob and admin see it, alice and the auditor do not.
    let line = out
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("who can see each object in lists:"))
        .find(|l| l.trim_start().starts_with("2 "))
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        line.trim(),
        "2  bob (GET /notes); admin (GET /notes)",
        "{}",
        out.stdout
    );
    let report = ws.json("r.json");
    let two = report["suites"][0]["objects"]
        .as_array()
        .and_then(|objects| objects.iter().find(|o| o["id"] == "2"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        two["seen_by"],
        json!([
            {"principal": "bob", "endpoint": "GET /notes"},
            {"principal": "admin", "endpoint": "GET /notes"}
        ])
    );
    let markdown = std::fs::read_to_string(ws.path("r.md")).unwrap_or_default();
    assert!(
        markdown.contains("| `2` | bob (GET /notes); admin (GET /notes) |"),
        "{markdown}"
    );
    let html = std::fs::read_to_string(ws.path("r.html")).unwrap_or_default();
    assert!(
        html.contains("<li><code>2</code>: bob (GET /notes); admin (GET /notes)</li>"),
        "{html}"
    );
    // Without --by-object the terminal has no such section.
    let plain = run(&ws, &["run", "s.yaml", "--no-snapshot"]).await;
    assert!(
        !plain.stdout.contains("who can see each object"),
        "{}",
        plain.stdout
    );
}
