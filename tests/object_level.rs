//! Object-level authorization (issue 20): `setup:` steps that create objects
//! and capture values from the responses, cells that use those values,
//! `teardown:` that always cleans up, the mutation guard for steps, masking of
//! captured secrets, and response comparison (`compare:`, `expect_body:`) with
//! its snapshot classification — all against the owned-notes server on
//! loopback.

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::owned_server::{self, ALICE_TOKEN, BOB_TOKEN, Owned};
use common::{Output, Workspace, cell};
use serde_json::Value;

/// A suite against `base` with alice and bob (bearer tokens); `target_extra`
/// goes into the target mapping (e.g. `, allow_mutations: true`), `rest` is
/// written as is.
fn suite(name: &str, base: &str, target_extra: &str, rest: &str) -> String {
    format!(
        "suite: {name}\ntarget: {{ base_url: \"{base}\", retries: 0, timeout: 5s{target_extra} }}\nprincipals:\n  alice: {{ auth: {{ bearer: {{ token: {ALICE_TOKEN} }} }} }}\n  bob: {{ auth: {{ bearer: {{ token: {BOB_TOKEN} }} }} }}\n{rest}"
    )
}

const MUTATIONS: &str = ", allow_mutations: true";

async fn run(ws: &Workspace, extra: &[&str]) -> Output {
    let mut args = vec!["run", "s.yaml"];
    args.extend(extra);
    ws.permatrix(&args).await
}

/// Everything the run printed, with the server's address taken out so that
/// a port number cannot pass for a status.
fn printed(out: &Output, base: &str) -> String {
    out.all()
        .replace(base, "BASE")
        .replace(base.trim_start_matches("http://"), "HOST")
}

/// A line of `text` holding every one of `parts`.
fn line_with<'a>(text: &'a str, parts: &[&str]) -> Option<&'a str> {
    text.lines().find(|l| parts.iter().all(|p| l.contains(p)))
}

/// The report's steps of `phase` (`setup` or `teardown`), in order.
fn steps<'a>(report: &'a Value, phase: &str) -> Vec<&'a Value> {
    report["steps"]
        .as_array()
        .unwrap_or_else(|| panic!("no top-level `steps` in {report}"))
        .iter()
        .filter(|s| s["phase"] == phase)
        .collect()
}

/// The one step of `phase` run as `principal`.
fn step<'a>(report: &'a Value, phase: &str, principal: &str) -> &'a Value {
    let found: Vec<&Value> = steps(report, phase)
        .into_iter()
        .filter(|s| s["principal"] == principal)
        .collect();
    assert_eq!(found.len(), 1, "one {phase} step as {principal}: {found:?}");
    found[0]
}

/// Requests the server saw for `METHOD path` exactly, in arrival order.
fn exactly(server: &Owned, line: &str) -> Vec<owned_server::Seen> {
    server
        .requests()
        .into_iter()
        .filter(|s| s.line() == line)
        .collect()
}

fn who(seen: &owned_server::Seen) -> &str {
    seen.who.as_deref().unwrap_or("nobody")
}

#[tokio::test(flavor = "multi_thread")]
async fn captures_by_pointer_header_and_regex_reach_later_steps_and_every_part_of_a_cell() {
    let (base, server) = owned_server::start().await;
    let ws = Workspace::new();
    let rest = r#"
setup:
  - name: create a note
    as: alice
    request: POST /notes
    json: { text: "alice's secret note" }
    expect: 201
    capture:
      note_id: /id
      etag: { header: ETag }
      csrf: { regex: "csrf=([a-z0-9]+)" }
      sess: { regex: "sid=([a-z0-9]+)", header: Set-Cookie }
  - name: confirm the note
    as: alice
    request: GET /notes/${note_id}
    headers: { X-CSRF-Token: "${csrf}" }
    expect: "2xx"
endpoints:
  - name: read
    request: GET /notes/${note_id}
    headers: { If-Match: "${etag}", X-CSRF-Token: "${csrf}", X-Session: "${sess}" }
    query: { note: "${note_id}" }
    expect: { alice: 200, bob: 404 }
  - name: echo
    request: POST /echo
    json: { note: "${note_id}", csrf: "${csrf}" }
    expect: { "*": 200 }
teardown:
  - as: alice
    request: DELETE /notes/${note_id}
    expect: [204, 404]
"#;
    ws.write("s.yaml", &suite("captures", &base, MUTATIONS, rest));
    let out = run(&ws, &["--json", "r.json"]).await;
    assert_eq!(out.code, 0, "{}", out.all());

    let note = server.only_note_of("alice");
    let path = format!("/notes/{}", note.id);
    let reads = exactly(&server, &format!("GET {path}"));
    let alice_reads: Vec<_> = reads.iter().filter(|s| who(s) == "alice").collect();
    assert_eq!(
        alice_reads.len(),
        2,
        "the later step and alice's cell: {reads:?}"
    );
    for read in &alice_reads {
        assert_eq!(read.header("x-csrf-token"), note.csrf, "{read:?}");
    }
    let cell_read = alice_reads
        .iter()
        .find(|s| !s.header("if-match").is_empty())
        .expect("alice's cell sent If-Match");
    assert_eq!(
        cell_read.header("if-match"),
        note.etag,
        "the ETag header, verbatim"
    );
    assert_eq!(cell_read.header("x-session"), note.sid, "from Set-Cookie");
    assert!(
        cell_read.query.contains(&format!("note={}", note.id)),
        "{cell_read:?}"
    );
    let bob_read = reads
        .iter()
        .find(|s| who(s) == "bob")
        .expect("bob's cell asked for alice's note");
    assert_eq!(bob_read.status, Some(404));

    let echoes = exactly(&server, "POST /echo");
    assert_eq!(echoes.len(), 2, "{echoes:?}");
    for echo in &echoes {
        let body: Value = serde_json::from_str(&echo.body).expect("a JSON body");
        assert_eq!(body["note"], note.id.as_str(), "{body}");
        assert_eq!(body["csrf"], note.csrf.as_str(), "{body}");
    }
    let deletes = exactly(&server, &format!("DELETE {path}"));
    assert_eq!(deletes.len(), 1, "{deletes:?}");
    assert!(server.live().is_empty(), "{:?}", server.live());

    let report = ws.json("r.json");
    let created = steps(&report, "setup")
        .into_iter()
        .find(|s| s["step"] == "create a note")
        .unwrap_or_else(|| panic!("the step by its name: {report}"));
    assert_eq!(created["principal"], "alice");
    assert_eq!(created["status"], 201);
    assert_eq!(created["passed"], true);
    assert_eq!(created["captured"]["note_id"], note.id.as_str());
    assert_eq!(created["captured"]["etag"], note.etag.as_str());
    assert_eq!(created["captured"]["csrf"], note.csrf.as_str());
    let sess = created["captured"]["sess"]
        .as_str()
        .expect("the cookie capture is listed");
    assert!(
        !sess.contains(&note.sid),
        "a Set-Cookie capture is masked: {sess}"
    );
    assert_eq!(cell(&report, "read", "alice")["status"], 200);
    assert_eq!(cell(&report, "read", "bob")["status"], 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn for_each_captures_per_principal_and_own_is_the_cells_principal() {
    let (base, server) = owned_server::start().await;
    let ws = Workspace::new();
    let rest = r#"
setup:
  - name: create own note
    for_each: [alice, bob]
    request: POST /notes
    json: { text: "a private note" }
    expect: 201
    capture:
      note_id: /id
endpoints:
  - name: own note
    request: GET /notes/${own.note_id}
    expect: { "*": 200 }
  - name: alice's note
    request: GET /notes/${alice.note_id}
    expect: { alice: 200, bob: 404 }
  - name: bob's note
    request: GET /notes/${bob.note_id}
    expect: { alice: 404, bob: 200 }
teardown:
  - for_each: [alice, bob]
    request: DELETE /notes/${own.note_id}
    expect: 204
"#;
    ws.write("s.yaml", &suite("own", &base, MUTATIONS, rest));
    let out = run(&ws, &["--json", "r.json"]).await;
    assert_eq!(out.code, 0, "{}", out.all());

    let (a, b) = (server.only_note_of("alice"), server.only_note_of("bob"));
    let gets = |path: &str, principal: &str| -> Vec<Option<u16>> {
        exactly(&server, &format!("GET /notes/{path}"))
            .iter()
            .filter(|s| who(s) == principal)
            .map(|s| s.status)
            .collect()
    };
    assert_eq!(
        gets(&a.id, "alice"),
        [Some(200), Some(200)],
        "own note and alice's note"
    );
    assert_eq!(
        gets(&b.id, "bob"),
        [Some(200), Some(200)],
        "own note and bob's note"
    );
    assert_eq!(
        gets(&a.id, "bob"),
        [Some(404)],
        "bob asked for alice's note once"
    );
    assert_eq!(
        gets(&b.id, "alice"),
        [Some(404)],
        "alice asked for bob's note once"
    );
    for note in [&a, &b] {
        let deletes = exactly(&server, &format!("DELETE /notes/{}", note.id));
        assert_eq!(deletes.len(), 1, "{deletes:?}");
        assert_eq!(who(&deletes[0]), note.owner, "each deletes its own");
        assert_eq!(deletes[0].status, Some(204));
    }
    assert!(server.live().is_empty(), "{:?}", server.live());

    let report = ws.json("r.json");
    for (principal, note) in [("alice", &a), ("bob", &b)] {
        let url = cell(&report, "own note", principal)["request"]["url"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert_eq!(url, format!("{base}/notes/{}", note.id));
        let setup = step(&report, "setup", principal);
        assert_eq!(setup["captured"]["note_id"], note.id.as_str(), "{setup}");
        assert_eq!(setup["passed"], true);
        assert_eq!(step(&report, "teardown", principal)["status"], 204);
    }
    assert_eq!(cell(&report, "alice's note", "bob")["status"], 404);
    assert_eq!(cell(&report, "alice's note", "bob")["outcome"], "passed");
}

const ONE_NOTE: &str = r#"
setup:
  - as: alice
    request: POST /notes
    json: { text: "x" }
    capture: { note_id: /id }
"#;

#[tokio::test(flavor = "multi_thread")]
async fn teardown_runs_after_the_matrix_when_a_cell_failed() {
    let (base, server) = owned_server::start().await;
    let ws = Workspace::new();
    let rest = format!(
        "{ONE_NOTE}endpoints:\n  - name: read\n    request: GET /notes/${{note_id}}\n    expect: {{ \"*\": 200 }}\nteardown:\n  - as: alice\n    request: DELETE /notes/${{note_id}}\n    expect: 204\n"
    );
    ws.write("s.yaml", &suite("cleanup", &base, MUTATIONS, &rest));
    let out = run(&ws, &["--json", "r.json"]).await;
    assert_eq!(out.code, 1, "bob's 404 fails the run: {}", out.all());
    assert_eq!(cell(&ws.json("r.json"), "read", "bob")["outcome"], "failed");

    let note = server.only_note_of("alice");
    let all = server.requests();
    let delete_at = all
        .iter()
        .position(|s| s.line() == format!("DELETE /notes/{}", note.id))
        .unwrap_or_else(|| panic!("no DELETE: {all:?}"));
    assert_eq!(who(&all[delete_at]), "alice");
    assert_eq!(all[delete_at].status, Some(204));
    let last_read = all
        .iter()
        .rposition(|s| s.method == "GET")
        .expect("the cells were sent");
    assert!(delete_at > last_read, "teardown after the matrix: {all:?}");
    assert!(server.live().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_setup_step_stops_the_run_and_only_teardown_with_its_variables_runs() {
    let (base, server) = owned_server::start().await;
    let ws = Workspace::new();
    let rest = r#"
setup:
  - name: create alice's note
    as: alice
    request: POST /notes
    json: { text: "x" }
    expect: 201
    capture: { note_id: /id }
  - name: create bob's note
    as: bob
    request: POST /broken
    json: { text: "y" }
    expect: 201
    capture: { bob_note: /id }
endpoints:
  - name: read
    request: GET /notes/${note_id}
    expect: { alice: 200, bob: 404 }
  - name: read bob's
    request: GET /notes/${bob_note}
    expect: { "*": any }
teardown:
  - name: delete alice's note
    as: alice
    request: DELETE /notes/${note_id}
    expect: 204
  - name: delete bob's note
    as: bob
    request: DELETE /notes/${bob_note}
    expect: [204, 404]
"#;
    ws.write("s.yaml", &suite("stops", &base, MUTATIONS, rest));
    let out = run(&ws, &[]).await;
    assert_eq!(out.code, 1, "{}", out.all());
    let text = printed(&out, &base);
    assert!(
        line_with(&text, &["create bob's note", "500"]).is_some(),
        "the step and the status it got: {text}"
    );
    let note = server.only_note_of("alice");
    let lines: Vec<(String, String)> = server
        .requests()
        .iter()
        .map(|s| (s.line(), who(s).to_string()))
        .collect();
    assert_eq!(
        lines,
        [
            ("POST /notes".to_string(), "alice".to_string()),
            ("POST /broken".to_string(), "bob".to_string()),
            (format!("DELETE /notes/{}", note.id), "alice".to_string()),
        ],
        "no cell, and no teardown step whose variable was never captured"
    );
    assert!(server.live().is_empty());
}

/// Ctrl-C while a cell waits on a slow server: the run stops, teardown still
/// deletes the note, then the exit code is 130.
#[tokio::test(flavor = "multi_thread")]
async fn teardown_runs_after_an_interrupt_and_the_exit_is_130() {
    let (base, server) = owned_server::start().await;
    let ws = Workspace::new();
    let rest = format!(
        "{ONE_NOTE}endpoints:\n  - name: slow\n    request: GET /slow\n    expect: {{ \"*\": 200 }}\nteardown:\n  - as: alice\n    request: DELETE /notes/${{note_id}}\n    expect: 204\n"
    );
    ws.write(
        "s.yaml",
        &suite("interrupted", &base, MUTATIONS, &rest).replace("timeout: 5s", "timeout: 60s"),
    );
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_permatrix"))
        .args(["run", "s.yaml", "--no-snapshot"])
        .current_dir(ws.dir.path())
        .env_remove("CI")
        .env_remove("GITHUB_ACTIONS")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.slow_hits.load(Ordering::SeqCst) == 0 {
        if Instant::now() > deadline || child.try_wait().ok().flatten().is_some() {
            let _ = child.kill();
            let output = child.wait_with_output().expect("wait");
            panic!(
                "the slow cell never started: {:?}\n{}",
                server.requests(),
                Output::from(output).all()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pid = child.id();
    let signalled = Instant::now();
    let killed = std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let waited = tokio::time::timeout(
        Duration::from_secs(20),
        tokio::task::spawn_blocking(move || child.wait_with_output()),
    )
    .await;
    let output = match waited {
        Ok(joined) => Output::from(joined.expect("join").expect("wait")),
        Err(_) => {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("the run did not stop within 20 s of Ctrl-C");
        }
    };
    assert_eq!(output.code, 130, "{}", output.all());
    assert!(
        signalled.elapsed() < Duration::from_secs(10),
        "stopped promptly, not after the slow cell: {:?}",
        signalled.elapsed()
    );
    let note = server.only_note_of("alice");
    let deletes = exactly(&server, &format!("DELETE /notes/{}", note.id));
    assert_eq!(deletes.len(), 1, "{:?}", server.requests());
    assert_eq!(deletes[0].status, Some(204));
    assert!(server.live().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_teardown_step_fails_a_run_whose_cells_all_passed() {
    let (base, server) = owned_server::start().await;
    let ws = Workspace::new();
    let rest = format!(
        "{ONE_NOTE}endpoints:\n  - name: read\n    request: GET /notes/${{note_id}}\n    expect: {{ alice: 200, bob: 404 }}\nteardown:\n  - as: bob\n    request: DELETE /notes/${{note_id}}\n    expect: 204\n  - name: alice deletes her note\n    as: alice\n    request: DELETE /notes/${{note_id}}\n    expect: 204\n"
    );
    ws.write("s.yaml", &suite("teardown", &base, MUTATIONS, &rest));
    let out = run(&ws, &["--json", "r.json"]).await;
    assert_eq!(out.code, 1, "{}", out.all());
    let report = ws.json("r.json");
    for principal in ["alice", "bob"] {
        assert_eq!(cell(&report, "read", principal)["outcome"], "passed");
    }
    let text = printed(&out, &base);
    assert!(
        line_with(&text, &["DELETE /notes/", "404"]).is_some(),
        "the failing teardown step is named with its status: {text}"
    );
    let failed = step(&report, "teardown", "bob");
    assert_eq!(failed["status"], 404, "{failed}");
    assert_eq!(failed["passed"], false, "{failed}");
    let cleaned = step(&report, "teardown", "alice");
    assert_eq!(cleaned["step"], "alice deletes her note");
    assert_eq!(cleaned["passed"], true, "{cleaned}");
    assert!(server.live().is_empty(), "later teardown steps still ran");
}

#[tokio::test(flavor = "multi_thread")]
async fn mutating_steps_are_refused_against_a_real_target_without_permission() {
    let (base, server) = owned_server::start().await;
    let ws = Workspace::new();
    let rest = r#"
setup:
  - name: create a note
    as: alice
    request: POST /notes
    json: { text: "x" }
    capture: { note_id: /id }
endpoints:
  - name: read
    request: GET /notes/${note_id}
    expect: { alice: 200, bob: 404 }
teardown:
  - as: alice
    request: DELETE /notes/${note_id}
    expect: 204
"#;
    ws.write("s.yaml", &suite("guarded", &base, "", rest));
    let out = run(&ws, &[]).await;
    assert_eq!(out.code, 2, "{}", out.all());
    assert_eq!(server.total(), 0, "nothing sent: {:?}", server.requests());
    let text = out.all();
    assert!(text.contains("create a note"), "{text}");
    assert!(text.contains("DELETE /notes/"), "{text}");

    let out = run(&ws, &["--allow-mutations"]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(exactly(&server, "POST /notes").len(), 1);
    assert_eq!(server.matching("DELETE /notes/").len(), 1);

    ws.write("s.yaml", &suite("guarded", &base, MUTATIONS, rest));
    let out = run(&ws, &[]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(exactly(&server, "POST /notes").len(), 2);
    assert!(server.live().is_empty());

    // Steps that only read need no permission.
    let (base, server) = owned_server::start().await;
    let reads = r#"
setup:
  - as: alice
    request: GET /echo?tag=t1
    capture: { tag: /query }
endpoints:
  - name: tagged
    request: GET /echo
    query: { seen: "${tag}" }
    expect: { "*": 200 }
"#;
    ws.write("s.yaml", &suite("reads", &base, "", reads));
    let out = run(&ws, &[]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let echoes = exactly(&server, "GET /echo");
    assert_eq!(echoes.len(), 3, "{echoes:?}");
    assert_eq!(
        echoes.iter().filter(|s| s.query == "seen=tag%3Dt1").count(),
        2,
        "{echoes:?}"
    );
}

const COMPARED: &str = r#"
setup:
  - as: alice
    request: POST /notes
    json: { text: "x" }
    expect: 201
    capture: { note_id: /id }
endpoints:
  - name: ignoring both
    request: GET /notes/${note_id}
    compare: { with: alice, ignore: [/updated_at, /request_id] }
    expect: { alice: 200, alice2: 200, bob: 404 }
  - name: ignoring request_id
    request: GET /notes/${note_id}
    compare: { with: alice, ignore: [/request_id] }
    expect: { alice: 200, alice2: 200, bob: 404 }
  - name: ignoring nothing
    request: GET /notes/${note_id}
    compare: { with: alice }
    expect: { alice: 200, alice2: 200, bob: 404 }
  - name: no body
    request: GET /empty
    compare: { with: alice }
    expect: { "*": 204 }
  - name: not compared
    request: GET /notes/${note_id}
    expect: { alice: 200, alice2: 200, bob: 404 }
teardown:
  - as: alice
    request: DELETE /notes/${note_id}
    expect: 204
"#;

/// alice2 holds alice's token: her reads return alice's note, but every read
/// has a new `updated_at` and `request_id`, so only ignoring both makes the
/// bodies the same.
#[tokio::test(flavor = "multi_thread")]
async fn compare_drops_ignored_pointers_and_records_the_body_fact() {
    let (base, _server) = owned_server::start().await;
    let ws = Workspace::new();
    let text = suite("compared", &base, MUTATIONS, COMPARED).replace(
        "\nsetup:",
        &format!("  alice2: {{ auth: {{ bearer: {{ token: {ALICE_TOKEN} }} }} }}\nsetup:"),
    );
    ws.write("s.yaml", &text);
    let out = run(&ws, &["--json", "r.json"]).await;
    assert_eq!(
        out.code,
        0,
        "without expect_body the fact does not judge: {}",
        out.all()
    );
    let report = ws.json("r.json");
    let body = |endpoint: &str, principal: &str| cell(&report, endpoint, principal)["body"].clone();
    for (endpoint, alice, alice2, bob) in [
        ("ignoring both", "same", "same", "differs"),
        ("ignoring request_id", "same", "differs", "differs"),
        ("ignoring nothing", "same", "differs", "differs"),
        ("no body", "n/a", "n/a", "n/a"),
    ] {
        assert_eq!(
            [
                body(endpoint, "alice"),
                body(endpoint, "alice2"),
                body(endpoint, "bob")
            ],
            [alice, alice2, bob].map(Value::from),
            "{endpoint}"
        );
    }
    for principal in ["alice", "alice2", "bob"] {
        assert_eq!(body("not compared", principal), Value::Null);
    }
}

const LEAK_PROBE: &str = r#"
setup:
  - as: alice
    request: POST /notes
    json: { text: "alice's secret note" }
    expect: 201
    capture: { note_id: /id }
endpoints:
  - name: read
    request: GET /notes/${note_id}
    compare: { with: alice, ignore: [/updated_at, /request_id] }
EXPECT
teardown:
  - as: alice
    request: DELETE /notes/${note_id}
    expect: 204
"#;

#[tokio::test(flavor = "multi_thread")]
async fn expect_body_catches_a_leak_that_status_expectations_pass() {
    let (base, server) = owned_server::start().await;
    let ws = Workspace::new();
    let write = |groups: &str, expect: &str| {
        let rest = format!("{groups}{}", LEAK_PROBE.replace("EXPECT", expect));
        ws.write("s.yaml", &suite("leak", &base, MUTATIONS, &rest))
    };
    server.set_leak(true);
    write("", "    expect: { \"*\": 200 }");
    let out = run(&ws, &["--json", "r.json"]).await;
    assert_eq!(
        out.code,
        0,
        "status-only expectations miss the leak: {}",
        out.all()
    );
    let report = ws.json("r.json");
    assert_eq!(cell(&report, "read", "bob")["status"], 200);
    assert_eq!(cell(&report, "read", "bob")["body"], "same");

    // The same judgement keyed by "*" and by a group, as `expect` keys are.
    for (groups, judged) in [
        (
            "",
            "    expect: { alice: 200, \"*\": [200, 404] }\n    expect_body: { \"*\": differs, alice: same }",
        ),
        (
            "groups:\n  others: [bob]\n",
            "    expect: { alice: 200, others: [200, 404] }\n    expect_body: { others: differs, alice: same }",
        ),
    ] {
        write(groups, judged);
        server.set_leak(true);
        let out = run(&ws, &["--json", "r.json"]).await;
        assert_eq!(out.code, 1, "{judged}: {}", out.all());
        assert!(
            line_with(&out.all(), &["bob", "same body as alice"]).is_some(),
            "{judged}: {}",
            out.all()
        );
        let report = ws.json("r.json");
        let bob = cell(&report, "read", "bob");
        assert_eq!(
            (&bob["outcome"], &bob["status"], &bob["body"]),
            (
                &Value::from("failed"),
                &Value::from(200),
                &Value::from("same")
            ),
            "{judged}: {bob}"
        );
        assert_eq!(cell(&report, "read", "alice")["outcome"], "passed");

        server.set_leak(false);
        let out = run(&ws, &["--json", "r.json"]).await;
        assert_eq!(out.code, 0, "{judged}: {}", out.all());
        let report = ws.json("r.json");
        let bob = cell(&report, "read", "bob");
        assert_eq!(
            (&bob["outcome"], &bob["status"], &bob["body"]),
            (
                &Value::from("passed"),
                &Value::from(404),
                &Value::from("differs")
            ),
            "{judged}: {bob}"
        );
    }
    assert_eq!(server.created_by("alice").len(), 5);
    assert!(server.live().is_empty());
}

/// The preview answers 200 to everyone; only its body tells whether bob sees
/// alice's note, so the snapshot's body fact is what changes.
#[tokio::test(flavor = "multi_thread")]
async fn a_body_that_becomes_the_owners_is_a_widened_snapshot_change() {
    let (base, server) = owned_server::start().await;
    let ws = Workspace::new();
    let rest = r#"
setup:
  - as: alice
    request: POST /notes
    json: { text: "alice's secret note" }
    expect: 201
    capture: { note_id: /id }
endpoints:
  - name: preview
    request: GET /notes/${note_id}/preview
    compare: { with: alice, ignore: [/updated_at, /request_id] }
    expect: { "*": 200 }
teardown:
  - as: alice
    request: DELETE /notes/${note_id}
    expect: 204
"#;
    ws.write("s.yaml", &suite("previews", &base, MUTATIONS, rest));
    let args = ["--snapshots", "snaps", "--json", "r.json"];
    let out = run(&ws, &args).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let recorded = ws.read("snaps/previews.snap");
    assert!(
        recorded.contains("  bob → 200\n    body: differs from alice\n"),
        "{recorded}"
    );
    let out = run(&ws, &args).await;
    assert_eq!(
        out.code,
        0,
        "a new note and new request ids are no change: {}",
        out.all()
    );

    server.set_leak(true);
    let out = run(&ws, &args).await;
    assert_eq!(out.code, 1, "{}", out.all());
    assert_eq!(cell(&ws.json("r.json"), "preview", "bob")["status"], 200);
    let widened = line_with(&out.stdout, &["widened", "preview", "bob"]);
    assert!(widened.is_some(), "{}", out.stdout);
    assert!(
        line_with(&out.stdout, &["widened", "× alice"]).is_none(),
        "{}",
        out.stdout
    );
    assert!(
        ws.read("snaps/previews.snap.new")
            .contains("  bob → 200\n    body: same as alice\n"),
        "{}",
        ws.read("snaps/previews.snap.new")
    );
    assert_eq!(ws.read("snaps/previews.snap"), recorded, "untouched");
}

#[tokio::test(flavor = "multi_thread")]
async fn captured_secrets_are_sent_but_never_shown() {
    let (base, server) = owned_server::start().await;
    let ws = Workspace::new();
    let rest = r#"
setup:
  - name: create a shared note
    as: alice
    request: POST /notes
    json: { text: "x" }
    expect: 201
    capture:
      note_id: /id
      share: { pointer: /share, secret: true }
      grant: /grant
      sess: { regex: "sid=([a-z0-9]+)", header: Set-Cookie }
endpoints:
  - name: read
    request: GET /notes/${note_id}
    expect: { alice: 200, bob: 404 }
    snapshot: { body: /share }
  - name: echo
    request: GET /echo
    headers: { X-Share: "${share}", X-Session: "${sess}", X-Grant: "${grant}" }
    query: { share: "${share}" }
    expect: { "*": 418 }
teardown:
  - name: echo the share
    as: bob
    request: POST /echo
    json: { share: "${share}", sess: "${sess}" }
    expect: 418
  - as: alice
    request: DELETE /notes/${note_id}
    expect: 204
"#;
    ws.write("s.yaml", &suite("secrets", &base, MUTATIONS, rest));
    let mut args = vec!["run", "s.yaml", "--curl"];
    args.extend(common::EVERY_REPORT);
    let out = ws.permatrix(&args).await;
    assert_eq!(out.code, 1, "the echo cells and step fail: {}", out.all());

    let note = server.only_note_of("alice");
    let echoes = exactly(&server, "GET /echo");
    assert_eq!(echoes.len(), 2, "{echoes:?}");
    for echo in &echoes {
        assert_eq!(echo.header("x-share"), note.share);
        assert_eq!(echo.header("x-session"), note.sid);
        assert_eq!(echo.header("x-grant"), note.grant);
        assert_eq!(echo.query, format!("share={}", note.share));
    }
    let posted = exactly(&server, "POST /echo");
    assert_eq!(posted.len(), 1, "{posted:?}");
    assert!(posted[0].body.contains(&note.share), "{:?}", posted[0]);

    let snapshot = ws.read("snaps/secrets.snap");
    assert!(
        snapshot.contains("body /share:"),
        "the fact was recorded: {snapshot}"
    );
    let report = ws.json("r.json");
    let captured = &step(&report, "setup", "alice")["captured"];
    assert_eq!(
        captured["note_id"],
        note.id.as_str(),
        "plain values stay readable"
    );
    for name in ["share", "grant", "sess"] {
        assert!(captured[name].is_string(), "{name} is listed: {captured}");
    }
    let payload = note.grant.split('.').nth(1).unwrap_or_default().to_string();
    let secrets = [
        note.share.clone(),
        note.share.trim_start_matches("share-").to_string(),
        note.sid.clone(),
        note.grant.clone(),
        payload,
    ];
    let outputs = [
        ("stdout", out.stdout.clone()),
        ("stderr", out.stderr.clone()),
        ("json", ws.read("r.json")),
        ("junit", ws.read("r.xml")),
        ("markdown", ws.read("r.md")),
        ("html", ws.read("r.html")),
        ("snapshot", snapshot),
    ];
    for (what, text) in &outputs {
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{what} shows {secret}:\n{text}"
            );
        }
    }
}

/// Each mistake is one exit 2 naming the file, line and column of what is
/// wrong, and nothing is sent; the suite it was made from loads.
#[tokio::test(flavor = "multi_thread")]
async fn capture_and_step_mistakes_are_located_load_errors() {
    let (base, server) = owned_server::start().await;
    let ws = Workspace::new();
    let valid = suite(
        "mistakes",
        &base,
        MUTATIONS,
        r#"setup:
  - name: first
    as: alice
    request: POST /notes
    json: { text: "x" }
    capture: { note_id: /id }
  - name: second
    for_each: [alice, bob]
    request: POST /notes
    json: { text: "y" }
    capture: { mine: /id }
endpoints:
  - name: read
    request: GET /notes/${note_id}
    headers: { X-Mine: "${alice.mine}", X-Own: "${own.mine}" }
    expect: { alice: 200, "*": 404 }
teardown:
  - as: alice
    request: DELETE /notes/${note_id}
"#,
    );
    ws.write("s.yaml", &valid);
    let out = ws.permatrix(&["check", "s.yaml"]).await;
    assert_eq!(out.code, 0, "the unbroken suite loads: {}", out.all());

    let cases: [(&str, &str, &str, &str); 6] = [
        (
            "a principal named own",
            "principals:\n",
            "principals:\n  own: { auth: none }\n",
            "own",
        ),
        (
            "an unknown principal's capture",
            "\"${alice.mine}\"",
            "\"${nobody.mine}\"",
            "nobody",
        ),
        (
            "an unknown capture of a principal",
            "\"${alice.mine}\"",
            "\"${alice.nothing}\"",
            "nothing",
        ),
        (
            "an unknown capture",
            "GET /notes/${note_id}",
            "GET /notes/${nothing}",
            "nothing",
        ),
        (
            "a capture of a later step",
            "json: { text: \"x\" }",
            "json: { text: \"${alice.mine}\" }",
            "mine",
        ),
        (
            "as: an unknown principal",
            "    as: alice\n    request: POST /notes\n",
            "    as: nobody\n    request: POST /notes\n",
            "nobody",
        ),
    ];
    for (what, from, to, needle) in cases {
        assert_eq!(valid.matches(from).count(), 1, "{what}: {from:?}");
        let broken = valid.replacen(from, to, 1);
        let marker = to
            .lines()
            .find(|l| l.contains(needle))
            .expect("the changed line")
            .trim();
        assert_eq!(broken.matches(marker).count(), 1, "{what}: {marker:?}");
        let line = broken
            .lines()
            .position(|l| l.contains(marker))
            .map(|i| i + 1)
            .expect("the broken line");
        ws.write("s.yaml", &broken);
        let out = run(&ws, &[]).await;
        assert_eq!(out.code, 2, "{what}: {}", out.all());
        let prefix = format!("s.yaml:{line}:");
        let located = out.all().lines().any(|l| {
            l.find(&prefix).is_some_and(|at| {
                let rest = &l[at + prefix.len()..];
                let column: String = rest.chars().take_while(char::is_ascii_digit).collect();
                !column.is_empty() && rest[column.len()..].starts_with(':') && names(rest, needle)
            })
        });
        assert!(
            located,
            "{what}: no `{prefix}<column>:` error naming {needle}:\n{}",
            out.all()
        );
        assert_eq!(server.total(), 0, "{what}: {:?}", server.requests());
    }
}

/// True when `text` has `word` standing alone (`own`, not `unknown` or `owner`).
fn names(text: &str, word: &str) -> bool {
    let part = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    text.match_indices(word).any(|(at, _)| {
        !part(text[..at].chars().next_back()) && !part(text[at + word.len()..].chars().next())
    })
}

/// `${own.…}` in a cell for a principal that owns nothing: its cell is
/// skipped, saying why, while the owners' cells run; `${alice.…}` is read by
/// everyone.
#[tokio::test(flavor = "multi_thread")]
async fn a_cell_whose_principal_has_no_own_capture_is_skipped_saying_why() {
    let (base, server) = owned_server::start().await;
    let ws = Workspace::new();
    let rest = r#"  nobody: { auth: none }
setup:
  - { for_each: [alice, bob], request: POST /notes, json: { text: t }, capture: { note_id: /id } }
endpoints:
  - name: own note
    request: GET /notes/${own.note_id}
    expect: { "*": 200 }
  - name: alice's note
    request: GET /notes/${alice.note_id}
    expect: { alice: 200, "*": [401, 404] }
"#;
    ws.write("s.yaml", &suite("skips", &base, MUTATIONS, rest));
    let out = run(&ws, &["--json", "r.json"]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report = ws.json("r.json");
    let skipped = cell(&report, "own note", "nobody");
    assert_eq!(skipped["outcome"], "skipped", "{skipped}");
    assert!(
        skipped["reason"]
            .as_str()
            .is_some_and(|r| r.contains("${own.note_id}") && r.contains("nobody")),
        "{skipped}"
    );
    assert_eq!(cell(&report, "own note", "bob")["status"], 200);
    assert_eq!(cell(&report, "alice's note", "nobody")["status"], 401);
    assert!(out.all().contains("1 skipped"), "{}", out.all());
    assert_eq!(
        server.matching("GET /notes/").len(),
        5,
        "own note as alice and bob (nobody's skipped), alice's note as all three"
    );
}

/// `explain` runs only the setup steps the cell needs, shows what they
/// captured (secrets masked), the body comparison, then teardown.
#[tokio::test(flavor = "multi_thread")]
async fn explain_runs_the_steps_the_cell_needs_and_shows_their_captures() {
    let (base, server) = owned_server::start().await;
    let ws = Workspace::new();
    let rest = r#"setup:
  - name: alice's note
    as: alice
    request: POST /notes
    json: { text: t }
    expect: 201
    capture: { note_id: /id, share: { pointer: /share, secret: true } }
  - name: unrelated
    as: bob
    request: POST /notes
    json: { text: u }
    capture: { other: /id }
teardown:
  - { as: alice, request: "DELETE /notes/${note_id}", expect: 204 }
  - { as: bob, request: "DELETE /notes/${other}", expect: 204 }
endpoints:
  - name: read
    request: GET /notes/${note_id}
    compare: { with: alice, ignore: [/updated_at, /request_id] }
    expect: { alice: 200, bob: 404 }
    expect_body: { alice: same, bob: differs }
"#;
    ws.write("s.yaml", &suite("explained", &base, MUTATIONS, rest));
    let out = ws
        .permatrix(&[
            "explain",
            "s.yaml",
            "--endpoint",
            "read",
            "--principal",
            "bob",
        ])
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let note = server.only_note_of("alice");
    assert!(
        server.created_by("bob").is_empty(),
        "the unrelated step was not needed"
    );
    let text = out.stdout.clone();
    assert!(text.starts_with("setup    POST "), "{text}");
    assert!(
        text.contains(&format!("${{note_id}} = {}", note.id)),
        "{text}"
    );
    assert!(
        text.contains("${share} = ****") && !text.contains(&note.share),
        "{text}"
    );
    assert!(
        text.contains("compare  body differs from alice (expect_body: differs)"),
        "{text}"
    );
    assert!(text.contains("teardown DELETE "), "{text}");
    assert!(
        text.contains("skipped: not sent: `${other}` was never captured"),
        "{text}"
    );
    assert_eq!(
        server.live(),
        Vec::<String>::new(),
        "teardown deleted the note"
    );
}

/// The documentation reports mark a non-owner's cell by its body: `≡` for
/// the owner's body, `≠` for another, with the legend.
#[tokio::test(flavor = "multi_thread")]
async fn markdown_marks_a_leaked_body() {
    let (base, server) = owned_server::start().await;
    server.set_leak(true);
    let ws = Workspace::new();
    let rest = r#"setup:
  - { as: alice, request: POST /notes, json: { text: t }, capture: { note_id: /id } }
endpoints:
  - name: read
    request: GET /notes/${note_id}
    compare: { with: alice, ignore: [/updated_at, /request_id] }
    expect: { "*": 200 }
    expect_body: { alice: same, bob: differs }
"#;
    ws.write("s.yaml", &suite("marks", &base, MUTATIONS, rest));
    let out = run(&ws, &["--markdown", "m.md", "--no-snapshot"]).await;
    assert_eq!(out.code, 1, "{}", out.all());
    let md = ws.read("m.md");
    assert!(
        md.contains("❌ 200 ≡ (expected 200, body differs from alice)"),
        "{md}"
    );
    assert!(
        md.contains("≡ same body as the principal it is compared with"),
        "{md}"
    );
}

/// A failed setup step is a failing testcase in JUnit and an annotation on
/// GitHub, at the step's line; the teardown step it left unsent is skipped.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_step_is_a_junit_failure_and_a_github_annotation() {
    let (base, _server) = owned_server::start().await;
    let ws = Workspace::new();
    let rest = r#"setup:
  - { name: break it, as: alice, request: POST /broken, expect: 201, capture: { note_id: /id } }
teardown:
  - { as: alice, request: "DELETE /notes/${note_id}", expect: 204 }
endpoints:
  - { request: "GET /notes/${note_id}", expect: { "*": 200 } }
"#;
    ws.write("s.yaml", &suite("junit", &base, MUTATIONS, rest));
    let out = ws
        .permatrix_with_env(
            &["run", "s.yaml", "--junit", "j.xml", "--no-snapshot"],
            &[("GITHUB_ACTIONS", "true")],
        )
        .await;
    assert_eq!(out.code, 1, "{}", out.all());
    let junit = ws.read("j.xml");
    assert!(
        junit.contains("setup step 1 (break it) as alice") && junit.contains("setup-step-failed"),
        "{junit}"
    );
    assert!(junit.contains("line=\"7\""), "the step's line: {junit}");
    assert!(
        junit.contains("never captured"),
        "the teardown step is skipped: {junit}"
    );
    assert!(
        line_with(
            &out.stdout,
            &["::error file=", "line=7", "setup step 1 (break it)"]
        )
        .is_some(),
        "{}",
        out.stdout
    );
}

/// Secrets a step handles are never shown: a secret capture inside an
/// earlier capture of the same step, inside the excerpt of a step that
/// failed on another capture, and a credential the step's own query carries.
#[tokio::test(flavor = "multi_thread")]
async fn a_steps_secrets_are_masked_before_anything_of_it_is_shown() {
    let (base, server) = owned_server::start().await;
    let ws = Workspace::new();
    let key = "notes-api-key-7f3a9c2e";
    let rest = r#"setup:
  - name: whole body first
    as: alice
    request: POST /notes
    query: { api_key: "${NOTES_API_KEY}" }
    json: { text: t }
    capture:
      whole: ""
      share: { pointer: /share, secret: true }
  - name: fails on a capture
    as: bob
    request: POST /notes
    json: { text: u }
    capture:
      missing: /nope
      bobs_share: { pointer: /share, secret: true }
endpoints:
  - { request: GET /echo, expect: { "*": 200 } }
"#;
    ws.write("s.yaml", &suite("masked", &base, MUTATIONS, rest));
    let out = run(
        &ws,
        &[
            "--json",
            "r.json",
            "--var",
            &format!("NOTES_API_KEY={key}"),
            "--no-snapshot",
        ],
    )
    .await;
    assert_eq!(out.code, 1, "the second step fails: {}", out.all());
    let (alice, bob) = (server.only_note_of("alice"), server.only_note_of("bob"));
    let report = ws.read("r.json");
    let text = format!("{}\n{report}", out.all());
    for secret in [&alice.share, &bob.share, &key.to_string()] {
        assert!(!text.contains(secret.as_str()), "{secret} shown:\n{text}");
    }
    assert!(
        exactly(&server, "POST /notes")[0].query.contains(key),
        "the key was sent"
    );
    let json: Value = serde_json::from_str(&report).expect("JSON");
    let whole = step(&json, "setup", "alice")["captured"]["whole"]
        .as_str()
        .expect("whole body captured")
        .to_string();
    assert!(
        whole.contains("\"owner\""),
        "the body, masked where secret: {whole}"
    );
    assert!(
        step(&json, "setup", "bob")["error"]
            .as_str()
            .is_some_and(|e| e.contains("capture `missing`")),
        "{json}"
    );
}

/// `${own.x}` reached through a principal's var skips like a direct one;
/// two `for_each` steps for different principals each make their own capture.
#[tokio::test(flavor = "multi_thread")]
async fn own_captures_per_step_and_through_vars() {
    let (base, _server) = owned_server::start().await;
    let ws = Workspace::new();
    let rest = r#"  carol: { auth: none, vars: { mine: "${own.b}" } }
setup:
  - { for_each: [alice], request: POST /notes, json: { text: a }, capture: { a: /id } }
  - { for_each: [bob], request: POST /notes, json: { text: b }, capture: { b: /id } }
endpoints:
  - name: bob's own
    request: GET /notes/${own.b}
    expect: { "*": 200 }
  - name: through a var
    request: GET /notes/${mine}
    expect: { "*": 200 }
"#;
    let text = suite("owns", &base, MUTATIONS, rest)
        .replace("  bob: {", "  bob: { vars: { mine: \"${own.b}\" },")
        .replace("  alice: {", "  alice: { vars: { mine: \"${own.b}\" },");
    ws.write("s.yaml", &text);
    let out = run(&ws, &["--json", "r.json", "--no-snapshot"]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report = ws.json("r.json");
    assert_eq!(cell(&report, "bob's own", "bob")["status"], 200);
    for (endpoint, principal) in [("bob's own", "alice"), ("through a var", "carol")] {
        let skipped = cell(&report, endpoint, principal);
        assert_eq!(skipped["outcome"], "skipped", "{skipped}");
    }
    assert_eq!(cell(&report, "through a var", "bob")["status"], 200);
}
