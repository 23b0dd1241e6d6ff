//! Write traces (`verify:`, `restore:`, `expect_trace:`): a write's cell is
//! read before and after by a verify request, so a refused write that was
//! applied fails as denied-but-applied, an accepted write that changed
//! nothing is a `reached_but_ignored` finding, and restore steps put the
//! object back (recreating it under a new id when a cell deleted it) — all
//! against the notes server of `common::notes_server`, whose writes lie.

mod common;

use common::notes_server::{self, ADMIN_TOKEN, ALICE_TOKEN, BOB_TOKEN, Notes, Seen};
use common::{Output, Workspace, cell};
use serde_json::Value;
use std::sync::Arc;

/// The title the notes start with, and the one the cells write.
const ORIGINAL: &str = "groceries";
const EDITED: &str = "edited by permatrix";

const MUTATIONS: &str = ", allow_mutations: true";

/// A suite against `base` with alice (who owns the notes), bob, anonymous and
/// admin, in this order; `target_extra` goes into the target mapping.
fn suite(base: &str, target_extra: &str, rest: &str) -> String {
    format!(
        "suite: notes\ntarget: {{ base_url: \"{base}\", retries: 0, timeout: 5s{target_extra} }}\nprincipals:\n  alice: {{ auth: {{ bearer: {{ token: {ALICE_TOKEN} }} }} }}\n  bob: {{ auth: {{ bearer: {{ token: {BOB_TOKEN} }} }} }}\n  anonymous: {{ auth: none }}\n  admin: {{ auth: {{ bearer: {{ token: {ADMIN_TOKEN} }} }} }}\n{rest}"
    )
}

/// A read of note `id` whose expectation for bob is wrong (the server
/// answers him 404): a plain failing cell listed before any write's.
fn misjudged_read(id: &str) -> String {
    format!(
        r#"  - name: read note
    request: GET /notes/{id}
    expect: {{ alice: 200, admin: 200, bob: 200, anonymous: 401 }}
"#
    )
}

/// A read of note `id` expected as the server answers it.
fn read(id: &str) -> String {
    format!(
        r#"  - name: read note
    request: GET /notes/{id}
    expect: {{ alice: 200, admin: 200, bob: 404, anonymous: 401 }}
"#
    )
}

/// The edit of note `id`, read by alice before and after each cell
/// (`updated_at` left out) and put back by her after each one that changed it.
fn edit(id: &str) -> String {
    format!(
        r#"  - name: edit note
    request: PUT /notes/{id}
    json: {{ title: "{EDITED}" }}
    verify:
      as: alice
      request: GET /notes/{id}
      ignore: [/updated_at]
    restore:
      - as: alice
        request: PUT /notes/{id}
        json: {{ title: "{ORIGINAL}" }}
    expect: {{ alice: 204, admin: 204, bob: 403, anonymous: 401 }}
"#
    )
}

/// The patch of note `id` (bob's is answered 204 and ignored); `verify_extra`
/// goes into `verify:`, `rest` after the endpoint's keys.
fn patch(id: &str, verify_extra: &str, rest: &str) -> String {
    format!(
        r#"  - name: patch note
    request: PATCH /notes/{id}
    json: {{ title: "patched" }}
    verify:
      as: alice
      request: GET /notes/{id}
{verify_extra}    restore:
      - as: alice
        request: PUT /notes/{id}
        json: {{ title: "{ORIGINAL}" }}
    expect: {{ alice: 204, admin: 204, bob: 204, anonymous: 401 }}
{rest}"#
    )
}

async fn run(ws: &Workspace, extra: &[&str]) -> Output {
    let mut args = vec!["run", "s.yaml"];
    args.extend(extra);
    ws.permatrix(&args).await
}

/// Everything the run printed, with the server's address taken out.
fn printed(out: &Output, base: &str) -> String {
    out.all().replace(base, "BASE")
}

/// `(method, who, title sent)` of each request, for comparing sequences.
fn shape(seen: &[Seen]) -> Vec<(String, String, Option<String>)> {
    seen.iter()
        .map(|s| {
            (
                s.method.clone(),
                s.who.clone().unwrap_or_else(|| "nobody".into()),
                s.title_sent(),
            )
        })
        .collect()
}

fn step(method: &str, who: &str, title: Option<&str>) -> (String, String, Option<String>) {
    (method.into(), who.into(), title.map(String::from))
}

/// The first line of `text` that reports a cell or a step (a label first).
fn first_reported(text: &str) -> &str {
    text.lines()
        .find(|l| {
            ["DENIED BUT APPLIED ", "FAIL ", "ERROR ", "SKIP "]
                .iter()
                .any(|label| l.starts_with(label))
        })
        .unwrap_or_else(|| panic!("no cell line in:\n{text}"))
}

/// The line of `text` (from 1) holding `marker`, and the column (from 1) of
/// `token` on the first line at or after it that holds `token`.
fn located(text: &str, marker: &str, token: &str) -> String {
    let start = text
        .lines()
        .position(|l| l.contains(marker))
        .unwrap_or_else(|| panic!("no {marker:?} in the suite"));
    let (index, line) = text
        .lines()
        .enumerate()
        .skip(start)
        .find(|(_, l)| l.contains(token))
        .unwrap_or_else(|| panic!("no {token:?} after {marker:?}"));
    let column = line.find(token).unwrap_or_default() + 1;
    format!("s.yaml:{}:{column}:", index + 1)
}

/// The line (from 1) of the suite's endpoint `name`.
fn endpoint_line(text: &str, name: &str) -> usize {
    text.lines()
        .position(|l| l.trim() == format!("- name: {name}"))
        .unwrap_or_else(|| panic!("no endpoint {name}"))
        + 1
}

/// A snapshot's lines for `endpoint` × `principal`: its status line and the
/// indented lines under it.
fn snapshot_cell(text: &str, endpoint: &str, principal: &str) -> Vec<String> {
    let mut lines = text.lines().skip_while(|l| *l != endpoint).skip(1);
    let head = format!("  {principal} → ");
    let mut found = Vec::new();
    for line in lines.by_ref() {
        if !line.starts_with(' ') {
            break;
        }
        if line.starts_with(&head) {
            found.push(line.to_string());
            continue;
        }
        if !found.is_empty() {
            if line.starts_with("    ") {
                found.push(line.to_string());
            } else {
                break;
            }
        }
    }
    assert!(!found.is_empty(), "no {endpoint} × {principal} in:\n{text}");
    found
}

/// The JSON cells of the first suite's endpoint `endpoint`.
fn cells_of<'a>(report: &'a Value, endpoint: &str) -> Vec<&'a Value> {
    report["suites"][0]["cells"]
        .as_array()
        .map(|cells| cells.iter().filter(|c| c["endpoint"] == endpoint).collect())
        .unwrap_or_default()
}

/// The run's closing line: the last line it printed before any GitHub annotation.
fn closing(out: &Output) -> &str {
    out.stdout
        .lines()
        .rfind(|l| !l.starts_with("::"))
        .unwrap_or_default()
}

/// The notes server holding one note of alice's: its base URL, state and the note's id.
async fn seeded() -> (String, Arc<Notes>, String) {
    let (base, server) = notes_server::start().await;
    let id = server.seed("alice", ORIGINAL);
    (base, server, id)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_edit_that_was_applied_is_denied_but_applied_and_restored() {
    let (base, server, id) = seeded().await;
    let stamp = server.note(&id).map(|n| n.updated_at);
    let ws = Workspace::new();
    let rest = format!("endpoints:\n{}{}", misjudged_read(&id), edit(&id));
    ws.write("s.yaml", &suite(&base, MUTATIONS, &rest));
    let out = run(&ws, &["--json", "r.json"]).await;
    assert_eq!(out.code, 1, "{}", out.all());
    let text = printed(&out, &base);

    let report = ws.json("r.json");
    let bob = cell(&report, "edit note", "bob");
    assert_eq!(bob["outcome"], "denied-but-applied", "{bob}");
    assert_eq!(bob["status"], 403, "{bob}");
    assert_eq!(bob["trace"], "changed", "{bob}");
    assert_eq!(
        bob["trace_detail"], "at /title",
        "updated_at moves on every write but is ignored: {bob}"
    );
    assert_eq!(bob["expected_trace"], Value::Null, "{bob}");
    assert_eq!(bob["restore_failed"], Value::Null, "{bob}");
    for owner in ["alice", "admin"] {
        let c = cell(&report, "edit note", owner);
        assert_eq!(c["outcome"], "passed", "{c}");
        assert_eq!(c["status"], 204, "{c}");
        assert_eq!(c["trace"], "changed", "{c}");
        assert_eq!(c["trace_detail"], "at /title", "{c}");
    }
    let anonymous = cell(&report, "edit note", "anonymous");
    assert_eq!(anonymous["outcome"], "passed", "{anonymous}");
    assert_eq!(anonymous["status"], 401, "{anonymous}");
    assert_eq!(
        anonymous["trace"], "none",
        "it starts from the restored note and changes nothing: {anonymous}"
    );
    assert_eq!(anonymous["trace_detail"], Value::Null, "{anonymous}");
    for c in cells_of(&report, "read note") {
        let object = c.as_object().expect("a cell is an object");
        for key in ["trace", "trace_detail", "expected_trace", "restore_failed"] {
            assert!(
                !object.contains_key(key),
                "a cell of an endpoint without verify: has no {key}: {c}"
            );
        }
    }
    assert_eq!(cell(&report, "read note", "bob")["outcome"], "failed");

    // The refused write comes first, before the failing read of an earlier endpoint.
    assert_eq!(
        first_reported(&text),
        "DENIED BUT APPLIED notes › edit note › bob: refused with 403, yet the write was applied: trace changed (at /title)",
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("FAIL ") && l.contains("read note › bob")),
        "{text}"
    );

    // The reads ran first; then each edit alone between two reads by alice,
    // followed by a restore when it changed the note.
    let requests = server.requests();
    assert_eq!(requests.len(), 4 + 15, "{requests:#?}");
    assert!(
        requests[..4].iter().all(|s| s.method == "GET"),
        "{requests:#?}"
    );
    let expected = vec![
        step("GET", "alice", None),
        step("PUT", "alice", Some(EDITED)),
        step("GET", "alice", None),
        step("PUT", "alice", Some(ORIGINAL)),
        step("GET", "alice", None),
        step("PUT", "bob", Some(EDITED)),
        step("GET", "alice", None),
        step("PUT", "alice", Some(ORIGINAL)),
        step("GET", "alice", None),
        step("PUT", "nobody", Some(EDITED)),
        step("GET", "alice", None),
        step("GET", "alice", None),
        step("PUT", "admin", Some(EDITED)),
        step("GET", "alice", None),
        step("PUT", "alice", Some(ORIGINAL)),
    ];
    assert_eq!(shape(&requests[4..]), expected);
    // Every cell's edit found the note as setup left it: restored in between.
    for edit in requests
        .iter()
        .filter(|s| s.method == "PUT" && s.title_sent().as_deref() == Some(EDITED))
    {
        assert_eq!(edit.title_before.as_deref(), Some(ORIGINAL), "{edit:?}");
    }
    let note = server.note(&id).expect("the note is still there");
    assert_eq!(note.title, ORIGINAL);
    assert!(
        Some(note.updated_at) > stamp,
        "the server moved updated_at, which the detail leaves out"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn junit_annotations_and_the_closing_line_tell_the_denied_write() {
    let (base, _server, id) = seeded().await;
    let ws = Workspace::new();
    let rest = format!("endpoints:\n{}{}", misjudged_read(&id), edit(&id));
    let text = suite(&base, MUTATIONS, &rest);
    ws.write("s.yaml", &text);
    let out = ws
        .permatrix_with_env(
            &["run", "s.yaml", "--junit", "r.xml"],
            &[("GITHUB_ACTIONS", "true")],
        )
        .await;
    assert_eq!(out.code, 1, "{}", out.all());

    let closing = closing(&out);
    assert!(closing.starts_with("6 passed, 2 failed"), "{closing}");
    assert!(
        closing.ends_with(", 4 verified writes"),
        "every sent edit was verified, the reads were not: {closing}"
    );

    let junit = ws.read("r.xml");
    assert_eq!(
        junit.matches("type=\"denied-but-applied\"").count(),
        1,
        "{junit}"
    );
    let start = junit
        .find("name=\"edit note :: bob\"")
        .unwrap_or_else(|| panic!("no testcase for bob's edit: {junit}"));
    let case = &junit[start..];
    let case = &case[..case.find("</testcase>").unwrap_or(case.len())];
    assert!(
        case.contains("<failure") && case.contains("type=\"denied-but-applied\""),
        "{case}"
    );
    assert!(case.contains("yet the write was applied"), "{case}");

    let annotations: Vec<&str> = out.stdout.lines().filter(|l| l.starts_with("::")).collect();
    let line = endpoint_line(&text, "edit note");
    let first = annotations.first().copied().unwrap_or_default();
    assert!(
        first.starts_with(&format!(
            "::error file=s.yaml,line={line},title=notes › edit note › bob%3A denied but applied::"
        )),
        "the denied write's annotation comes first: {annotations:#?}"
    );
    assert!(
        annotations
            .iter()
            .any(|a| a.starts_with("::error ") && a.contains("read note › bob%3A failed")),
        "{annotations:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_accepted_patch_that_changed_nothing_is_a_finding_unless_expect_trace_asks() {
    let (base, server, id) = seeded().await;
    let ws = Workspace::new();

    // Without `expect_trace`: bob's ignored patch is a finding, not a failure.
    let ignore = "      ignore: [/updated_at]\n";
    let rest = format!("endpoints:\n{}", patch(&id, ignore, ""));
    ws.write("s.yaml", &suite(&base, MUTATIONS, &rest));
    let out = run(&ws, &["--json", "r.json"]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report = ws.json("r.json");
    let bob = cell(&report, "patch note", "bob");
    assert_eq!(bob["outcome"], "passed", "{bob}");
    assert_eq!(bob["status"], 204, "{bob}");
    assert_eq!(bob["trace"], "none", "{bob}");
    for applied in ["alice", "admin"] {
        let c = cell(&report, "patch note", applied);
        assert_eq!(c["trace"], "changed", "{c}");
        assert_eq!(c["trace_detail"], "at /title", "{c}");
    }
    let findings = report["suites"][0]["findings"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        findings.len(),
        1,
        "only bob's patch reached and did nothing: {findings:#?}"
    );
    assert_eq!(findings[0]["kind"], "reached_but_ignored");
    assert_eq!(findings[0]["endpoint"], "patch note");
    assert_eq!(findings[0]["principal"], "bob");
    assert_eq!(findings[0]["status"], 204);
    let text = printed(&out, &base);
    let section = text
        .split("findings in notes:\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no findings section:\n{text}"));
    assert!(
        section.starts_with("  reached_but_ignored: patch note × bob → 204 (trace none)\n"),
        "{text}"
    );
    assert!(section.contains("expect_trace: { bob: changed }"), "{text}");
    assert!(
        !text.contains("FAIL ") && !text.contains("DENIED BUT APPLIED"),
        "{text}"
    );
    assert_eq!(server.note(&id).map(|n| n.title).as_deref(), Some(ORIGINAL));

    // The server saves the note it ignores: without `ignore`, its updated_at
    // is a change.
    let rest = format!("endpoints:\n{}", patch(&id, "", ""));
    ws.write("s.yaml", &suite(&base, MUTATIONS, &rest));
    let out = run(&ws, &["--json", "r.json"]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report = ws.json("r.json");
    let bob = cell(&report, "patch note", "bob");
    assert_eq!(bob["trace"], "changed", "{bob}");
    assert_eq!(bob["trace_detail"], "at /updated_at", "{bob}");

    // With `expect_trace: { bob: changed }`: the same cell fails.
    let rest = format!(
        "endpoints:\n{}",
        patch(&id, ignore, "    expect_trace: { bob: changed }\n")
    );
    ws.write("s.yaml", &suite(&base, MUTATIONS, &rest));
    let out = run(&ws, &["--json", "r.json"]).await;
    assert_eq!(out.code, 1, "{}", out.all());
    let report = ws.json("r.json");
    let bob = cell(&report, "patch note", "bob");
    assert_eq!(bob["outcome"], "failed", "{bob}");
    assert_eq!(bob["trace"], "none", "{bob}");
    assert_eq!(bob["expected_trace"], "changed", "{bob}");
    assert_eq!(
        cell(&report, "patch note", "alice")["expected_trace"],
        Value::Null
    );
    assert_eq!(cell(&report, "patch note", "alice")["outcome"], "passed");
    let findings = report["suites"][0]["findings"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(findings.is_empty(), "judged, so no finding: {findings:#?}");
    let text = printed(&out, &base);
    let fail = first_reported(&text);
    assert!(
        fail.starts_with("FAIL  notes › patch note › bob: ")
            && fail.contains("expected trace changed"),
        "{text}"
    );

    // By group and `*`: each principal gets its group's trace, the rest `*`'s.
    let groups = "groups:\n  owners: [alice, admin]\n";
    let rest = format!(
        "{groups}endpoints:\n{}",
        patch(
            &id,
            ignore,
            "    expect_trace: { owners: changed, \"*\": none }\n"
        )
    );
    ws.write("s.yaml", &suite(&base, MUTATIONS, &rest));
    let out = run(&ws, &["--json", "r.json"]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report = ws.json("r.json");
    for (principal, expected, trace) in [
        ("alice", "changed", "changed"),
        ("admin", "changed", "changed"),
        ("bob", "none", "none"),
        ("anonymous", "none", "none"),
    ] {
        let c = cell(&report, "patch note", principal);
        assert_eq!(c["outcome"], "passed", "{c}");
        assert_eq!(c["expected_trace"], expected, "{c}");
        assert_eq!(c["trace"], trace, "{c}");
    }
    let findings = report["suites"][0]["findings"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        findings.is_empty(),
        "bob's trace was asked for: {findings:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_delete_that_deleted_is_caught_and_restore_recreates_under_a_new_id() {
    let (base, server) = notes_server::start().await;
    let ws = Workspace::new();
    let rest = format!(
        r#"setup:
  - name: create the note
    as: alice
    request: POST /notes
    json: {{ title: "{ORIGINAL}" }}
    expect: 201
    capture:
      note_id: /id
teardown:
  - name: delete the note
    as: alice
    request: DELETE /notes/${{note_id}}
    expect: 204
endpoints:
  - name: delete note
    request: DELETE /notes/${{note_id}}
    verify:
      as: alice
      request: GET /notes/${{note_id}}
    restore:
      - name: recreate the note
        as: alice
        request: POST /notes
        json: {{ title: "{ORIGINAL}" }}
        expect: 201
        capture:
          note_id: /id
    expect: {{ alice: 204, admin: 204, bob: 403, anonymous: 401 }}
"#
    );
    ws.write("s.yaml", &suite(&base, MUTATIONS, &rest));
    let out = run(&ws, &["--json", "r.json"]).await;
    assert_eq!(out.code, 1, "{}", out.all());
    let report = ws.json("r.json");

    let bob = cell(&report, "delete note", "bob");
    assert_eq!(bob["outcome"], "denied-but-applied", "{bob}");
    assert_eq!(bob["status"], 403, "{bob}");
    assert_eq!(bob["trace"], "gone", "{bob}");
    assert_eq!(bob["trace_detail"], "verify 200 → 404", "{bob}");
    for owner in ["alice", "admin"] {
        let c = cell(&report, "delete note", owner);
        assert_eq!(c["outcome"], "passed", "{c}");
        assert_eq!(c["trace"], "gone", "{c}");
    }
    let anonymous = cell(&report, "delete note", "anonymous");
    assert_eq!(anonymous["outcome"], "passed", "{anonymous}");
    assert_eq!(anonymous["trace"], "none", "{anonymous}");

    // Setup made the first note, each restore a new one: the cells after a
    // restore, and teardown, used the new id.
    let created = server.created();
    assert_eq!(created.len(), 4, "setup + 3 restores: {created:?}");
    let deletes: Vec<(String, String)> = server
        .with_method("DELETE")
        .iter()
        .map(|s| {
            (
                s.who.clone().unwrap_or_else(|| "nobody".into()),
                s.path.clone(),
            )
        })
        .collect();
    let at = |i: usize| format!("/notes/{}", created[i]);
    assert_eq!(
        deletes,
        [
            ("alice".to_string(), at(0)),
            ("bob".to_string(), at(1)),
            ("nobody".to_string(), at(2)),
            ("admin".to_string(), at(2)),
            ("alice".to_string(), at(3)),
        ],
        "the last is teardown's"
    );
    assert!(
        server.live().is_empty(),
        "teardown deleted the recreated note: {:?}",
        server.live()
    );
    let teardown: Vec<&Value> = report["steps"]
        .as_array()
        .map(|s| s.iter().filter(|s| s["phase"] == "teardown").collect())
        .unwrap_or_default();
    assert_eq!(teardown.len(), 1, "{teardown:?}");
    assert_eq!(teardown[0]["status"], 204, "{}", teardown[0]);
    assert_eq!(teardown[0]["passed"], true, "{}", teardown[0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_suite_that_verifies_writes_is_refused_whole_against_a_real_target() {
    let (base, server, id) = seeded().await;
    let ws = Workspace::new();
    let rest = format!("endpoints:\n{}{}", misjudged_read(&id), edit(&id));
    let text = suite(&base, "", &rest);
    ws.write("s.yaml", &text);
    let out = run(&ws, &["--json", "r.json"]).await;
    assert_eq!(out.code, 2, "{}", out.all());
    let all = out.all();
    assert!(all.contains("would change state on a real target"), "{all}");
    assert!(
        all.contains(&format!(
            "endpoint `edit note` (line {}",
            endpoint_line(&text, "edit note")
        )),
        "{all}"
    );
    assert!(
        !all.contains("endpoint `read note`"),
        "only the endpoint that verifies is named: {all}"
    );
    assert_eq!(
        server.total(),
        0,
        "nothing was sent, not even the reads: {:#?}",
        server.requests()
    );
    assert!(!ws.path("r.json").exists(), "nothing ran, nothing reported");

    // --allow-mutations lets it run.
    let out = run(&ws, &["--allow-mutations"]).await;
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout
            .contains("DENIED BUT APPLIED notes › edit note › bob"),
        "{}",
        out.all()
    );
    assert!(server.total() > 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn snapshots_record_traces_and_a_refused_write_that_starts_applying_is_widened() {
    let (base, server, id) = seeded().await;
    server.set_apply_when_denied(false);
    let ws = Workspace::new();
    // A verify request its principal may not send: every trace is n/a.
    let blind = format!(
        r#"  - name: blind edit
    request: PUT /notes/{id}
    json: {{ title: "{EDITED}" }}
    verify: {{ as: anonymous, request: GET /notes/{id} }}
    restore:
      - as: alice
        request: PUT /notes/{id}
        json: {{ title: "{ORIGINAL}" }}
    expect: {{ alice: 204, admin: 204, bob: 403, anonymous: 401 }}
"#
    );
    let rest = format!("endpoints:\n{}{}{blind}", read(&id), edit(&id));
    ws.write("s.yaml", &suite(&base, MUTATIONS, &rest));
    let snap = ["--snapshots", "snapshots", "--json", "r.json"];

    let out = run(&ws, &snap).await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout
            .contains("snapshot notes: written to snapshots/notes.snap (first run)"),
        "{}",
        out.stdout
    );
    assert!(
        closing(&out).ends_with(", 8 verified writes"),
        "n/a traces of sent cells count too: {}",
        closing(&out)
    );
    let first = ws.read("snapshots/notes.snap");
    assert_eq!(
        snapshot_cell(&first, "edit note", "bob"),
        ["  bob → 403", "    trace: none"],
        "{first}"
    );
    assert_eq!(
        snapshot_cell(&first, "edit note", "anonymous"),
        ["  anonymous → 401", "    trace: none"],
        "{first}"
    );
    for owner in ["alice", "admin"] {
        assert_eq!(
            snapshot_cell(&first, "edit note", owner),
            [format!("  {owner} → 204"), "    trace: changed".to_string()],
            "{first}"
        );
    }
    let report = ws.json("r.json");
    for c in cells_of(&report, "blind edit") {
        assert_eq!(c["trace"], "n/a", "{c}");
    }
    for principal in ["alice", "bob", "anonymous", "admin"] {
        assert_eq!(
            snapshot_cell(&first, "blind edit", principal).len(),
            1,
            "n/a is not written: {first}"
        );
        assert_eq!(
            snapshot_cell(&first, "read note", principal).len(),
            1,
            "a read has no trace: {first}"
        );
    }

    // The server starts applying bob's refused edit.
    server.set_apply_when_denied(true);
    let out = run(&ws, &snap).await;
    assert_eq!(out.code, 1, "{}", out.all());
    let text = printed(&out, &base);
    assert!(
        text.contains("  widened     edit note × bob: trace none → changed"),
        "{text}"
    );
    assert!(closing(&out).contains("1 widened"), "{}", closing(&out));
    assert_eq!(
        ws.read("snapshots/notes.snap"),
        first,
        "the recorded snapshot is untouched"
    );
    let new = ws.read("snapshots/notes.snap.new");
    assert_eq!(
        snapshot_cell(&new, "edit note", "bob"),
        ["  bob → 403", "    trace: changed"],
        "{new}"
    );
    let report = ws.json("r.json");
    let changes = report["suites"][0]["snapshot"]["changes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(changes.len(), 1, "{changes:#?}");
    assert_eq!(changes[0]["class"], "widened");
    assert_eq!(changes[0]["what"], "edit note × bob: trace none → changed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_restore_leaves_the_endpoints_later_cells_unsent_as_errors() {
    let (base, server, id) = seeded().await;
    let ws = Workspace::new();
    // The restore works, but asks for a status the server does not answer.
    let broken = format!(
        r#"  - name: edit note
    request: PUT /notes/{id}
    json: {{ title: "{EDITED}" }}
    verify:
      as: alice
      request: GET /notes/{id}
      ignore: [/updated_at]
    restore:
      - name: put the title back
        as: alice
        request: PUT /notes/{id}
        json: {{ title: "{ORIGINAL}" }}
        expect: 200
    expect: {{ alice: 204, admin: 204, bob: 403, anonymous: 401 }}
"#
    );
    let ignore = "      ignore: [/updated_at]\n";
    let rest = format!("endpoints:\n{broken}{}", patch(&id, ignore, ""));
    ws.write("s.yaml", &suite(&base, MUTATIONS, &rest));
    let out = run(&ws, &["--json", "r.json"]).await;
    assert_eq!(out.code, 1, "{}", out.all());
    let report = ws.json("r.json");

    let alice = cell(&report, "edit note", "alice");
    assert_eq!(alice["trace"], "changed", "{alice}");
    let why = alice["restore_failed"]
        .as_str()
        .unwrap_or_else(|| panic!("alice's cell says the restore failed: {alice}"));
    assert!(
        why.contains("restore step 1 (put the title back)") && why.contains("204"),
        "{why}"
    );
    for later in ["bob", "anonymous", "admin"] {
        let c = cell(&report, "edit note", later);
        assert_eq!(c["outcome"], "error", "{c}");
        assert_eq!(c["status"], Value::Null, "{c}");
        assert_eq!(c["trace"], "n/a", "{c}");
        let message = c["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with("not sent: the restore steps after alice's cell failed"),
            "{c}"
        );
    }
    let edits: Vec<Seen> = server
        .with_method("PUT")
        .into_iter()
        .filter(|s| s.title_sent().as_deref() == Some(EDITED))
        .collect();
    assert_eq!(
        shape(&edits),
        [step("PUT", "alice", Some(EDITED))],
        "only alice's edit was sent"
    );
    // Another endpoint's cells are not held back.
    for c in cells_of(&report, "patch note") {
        assert_eq!(c["outcome"], "passed", "{c}");
    }
    let text = printed(&out, &base);
    assert!(
        text.contains("not sent: the restore steps after alice's cell failed"),
        "{text}"
    );
    // The closing line counts the cells sent between verify requests (alice's
    // edit and the four patches, not the three edits held back), and the
    // failed restore step fails the run as a step, said after which cell.
    assert!(
        closing(&out).ends_with(", 5 verified writes, 1 step failed"),
        "{}",
        closing(&out)
    );
    assert!(
        text.contains("restore step 1 (put the title back)")
            && text.contains("after alice's cell of `edit note`: expected 200, got 204"),
        "{text}"
    );
    let steps = report["steps"].as_array().cloned().unwrap_or_default();
    let restore: Vec<&Value> = steps.iter().filter(|s| s["phase"] == "restore").collect();
    assert_eq!(restore.len(), 1, "{steps:?}");
    assert_eq!(restore[0]["passed"], false);

    // A restore that fails after an endpoint's last cell holds nothing back,
    // and still fails the run: the write it should have undone remains.
    let out = run(&ws, &["--principal", "alice", "--no-snapshot"]).await;
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        closing(&out).ends_with("1 step failed"),
        "{}",
        closing(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn own_in_a_verify_request_names_the_cells_principal() {
    let (base, server) = notes_server::start().await;
    let ws = Workspace::new();
    let rest = format!(
        r#"setup:
  - for_each: [alice, bob, admin]
    request: POST /notes
    json: {{ title: "{ORIGINAL}" }}
    expect: 201
    capture:
      note_id: /id
endpoints:
  - name: edit own note
    request: PUT /notes/${{own.note_id}}
    json: {{ title: "{EDITED}" }}
    verify:
      as: admin
      request: GET /notes/${{own.note_id}}
      ignore: [/updated_at]
    restore:
      - as: admin
        request: PUT /notes/${{own.note_id}}
        json: {{ title: "{ORIGINAL}" }}
    expect: {{ "*": 204 }}
"#
    );
    ws.write("s.yaml", &suite(&base, MUTATIONS, &rest));
    let out = run(
        &ws,
        &[
            "--json",
            "r.json",
            "--principal",
            "alice",
            "--principal",
            "bob",
        ],
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report = ws.json("r.json");
    let created = server.created();
    assert_eq!(created.len(), 3, "{created:?}");
    for (i, principal) in ["alice", "bob"].iter().enumerate() {
        let c = cell(&report, "edit own note", principal);
        assert_eq!(c["outcome"], "passed", "{c}");
        assert_eq!(c["trace"], "changed", "{c}");
        assert_eq!(c["trace_detail"], "at /title", "{c}");
        let path = format!("/notes/{}", created[i]);
        let reads: Vec<Seen> = server
            .requests()
            .into_iter()
            .filter(|s| s.method == "GET" && s.path == path)
            .collect();
        assert_eq!(
            reads.len(),
            2,
            "before and after {principal}'s cell: {reads:#?}"
        );
        assert!(reads.iter().all(|s| s.who.as_deref() == Some("admin")));
    }
    assert!(
        server
            .requests()
            .iter()
            .all(|s| s.path != format!("/notes/{}", created[2]) || s.method == "POST"),
        "admin's own note is no cell's: {:#?}",
        server.requests()
    );
    for id in &created {
        assert_eq!(
            server.note(id).map(|n| n.title).as_deref(),
            Some(ORIGINAL),
            "restored"
        );
    }
    let findings = report["suites"][0]["findings"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(findings.is_empty(), "{findings:#?}");
}

/// Each problem of the writes' keys, located in the file.
const BROKEN: &str = r#"suite: broken
target: { base_url: "http://127.0.0.1:9", allow_mutations: true }
principals:
  alice: { auth: none }
  bob: { auth: none }
setup:
  - as: alice
    request: POST /notes
    capture: { note_id: /id }
  - for_each: [alice, bob]
    request: POST /notes
    capture: { own_id: /id }
endpoints:
  - name: trace without verify
    request: PUT /notes/1
    expect: { "*": any }
    expect_trace: { bob: none }
  - name: verify as a stranger
    request: PUT /notes/2
    expect: { "*": any }
    verify: { as: alcie, request: GET /notes/2 }
  - name: verify that writes
    request: PUT /notes/3
    expect: { "*": any }
    verify: { as: alice, request: PUT /notes/3 }
  - name: restore for each
    request: PUT /notes/4
    expect: { "*": any }
    verify: { as: alice, request: GET /notes/4 }
    restore:
      - for_each: [bob, alice]
        request: PUT /notes/4
  - name: restore capture of nothing
    request: DELETE /notes/5
    expect: { "*": any }
    verify: { as: alice, request: GET /notes/5 }
    restore:
      - as: alice
        request: POST /notes
        capture: { new_id: /id }
  - name: restore capture of a for_each value
    request: DELETE /notes/6
    expect: { "*": any }
    verify: { as: alice, request: GET /notes/6 }
    restore:
      - as: alice
        request: POST /notes
        capture: { own_id: /id }
  - name: unknown trace word
    request: PUT /notes/7
    expect: { "*": any }
    verify: { as: alice, request: GET /notes/7 }
    expect_trace: { bob: chagned }
  - name: a fine one
    request: PUT /notes/8
    expect: { "*": any }
    verify: { as: alice, request: GET /notes/8 }
    restore:
      - as: alice
        request: POST /notes
        capture: { note_id: /id }
    expect_trace: { alice: applied, "*": none }
"#;

#[tokio::test]
async fn every_misuse_of_the_writes_keys_is_a_located_load_error() {
    let ws = Workspace::new();
    ws.write("s.yaml", BROKEN);
    let out = run(&ws, &[]).await;
    assert_eq!(out.code, 2, "{}", out.all());
    let all = out.all();
    let expected = [
        (
            located(BROKEN, "trace without verify", "bob"),
            "`expect_trace:` needs `verify:`",
        ),
        (
            located(BROKEN, "verify as a stranger", "alcie"),
            "`verify:` runs as unknown principal `alcie`",
        ),
        (
            located(BROKEN, "verify that writes", "PUT /notes/3 }"),
            "the verify request is a PUT: it must read, not write",
        ),
        (
            located(BROKEN, "restore for each", "[bob, alice]"),
            "restore step 1 (PUT /notes/4) has `for_each:`",
        ),
        (
            located(BROKEN, "restore capture of nothing", "new_id"),
            "restore capture `new_id` replaces no value",
        ),
        (
            located(BROKEN, "restore capture of a for_each value", "own_id"),
            "restore capture `own_id` replaces no value",
        ),
        (
            located(BROKEN, "unknown trace word", "chagned"),
            "`chagned` is not a trace",
        ),
    ];
    for (at, message) in &expected {
        let wanted = format!("{at} error: {message}");
        assert!(all.contains(&wanted), "missing {wanted:?} in:\n{all}");
    }
    assert!(all.contains("did you mean `alice`?"), "{all}");
    assert!(all.contains("did you mean `changed`?"), "{all}");
    assert!(
        all.contains(&format!("{} problem(s) found", expected.len())),
        "the fine endpoint adds no problem:\n{all}"
    );
}

/// Ctrl-C (here SIGTERM) while the cells that check their writes run:
/// teardown still removes the note a restore step recreated (its new id was
/// kept as it was captured), not the one setup made.
#[tokio::test(flavor = "multi_thread")]
async fn an_interrupt_during_checked_writes_tears_down_what_restore_recreated() {
    let (base, server) = notes_server::start().await;
    // alice's DELETE is the first, bob's the second: it never answers.
    server
        .hang_delete
        .store(2, std::sync::atomic::Ordering::SeqCst);
    let ws = Workspace::new();
    let rest = format!(
        r#"setup:
  - {{ name: create the note, as: alice, request: POST /notes, json: {{ title: "{ORIGINAL}" }}, expect: 201, capture: {{ note_id: /id }} }}
teardown:
  - {{ name: delete the note, as: alice, request: "DELETE /notes/${{note_id}}", expect: 204 }}
endpoints:
  - name: delete note
    request: DELETE /notes/${{note_id}}
    verify: {{ as: alice, request: "GET /notes/${{note_id}}" }}
    restore:
      - {{ name: recreate the note, as: alice, request: POST /notes, json: {{ title: "{ORIGINAL}" }}, expect: 201, capture: {{ note_id: /id }} }}
    expect: {{ "*": any }}
"#
    );
    ws.write("s.yaml", &suite(&base, MUTATIONS, &rest));
    let dir = ws.dir.path().to_path_buf();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_permatrix"))
        .args([
            "run",
            "s.yaml",
            "--principal",
            "alice",
            "--principal",
            "bob",
            "--no-snapshot",
        ])
        .current_dir(&dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn permatrix");
    // Waits for bob's DELETE to arrive (a bound, not a timing assumption).
    let arrived =
        tokio::time::timeout(std::time::Duration::from_secs(60), server.hung.notified()).await;
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("join")
        .expect("wait");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(arrived.is_ok(), "bob's DELETE never arrived: {all}");
    assert_eq!(output.status.code(), Some(130), "{all}");
    let created = server.created();
    assert_eq!(
        created.len(),
        2,
        "setup's note and the restored one: {created:?}"
    );
    assert_eq!(
        server.live(),
        Vec::<String>::new(),
        "teardown deleted the recreated note {}: {all}",
        created[1]
    );
    let teardown = server
        .with_method("DELETE")
        .into_iter()
        .last()
        .map(|s| s.path)
        .unwrap_or_default();
    assert_eq!(teardown, format!("/notes/{}", created[1]), "{all}");
}
