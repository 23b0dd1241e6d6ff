//! The harness as a user's `cargo test` sees it: this repository's own
//! `suites` harness binary run as a subprocess in a workspace whose `suites/`
//! targets a counting server.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{Workspace, server};

/// The `suites` test binary cargo built beside this one.
fn harness_binary() -> PathBuf {
    let me = std::env::current_exe().expect("current exe");
    let deps = me.parent().expect("deps folder");
    let mut candidates: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(deps)
        .expect("read deps")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            name.starts_with("suites-") && p.extension().is_none()
        })
        .filter_map(|p| Some((p.metadata().ok()?.modified().ok()?, p)))
        .collect();
    candidates.sort();
    candidates
        .pop()
        .map(|(_, p)| p)
        .expect("the suites harness binary is built by `cargo test`")
}

/// Runs the harness in the workspace, off the async runtime, with
/// `INSTA_UPDATE=no` (nothing written).
async fn run(ws: &Workspace, args: &[&str]) -> (i32, String) {
    run_with(ws, args, &[("INSTA_UPDATE", "no")]).await
}

/// Runs the harness in the workspace with `env` (and neither `CI` nor `INSTA_UPDATE` otherwise).
async fn run_with(ws: &Workspace, args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let dir = ws.dir.path().to_path_buf();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let output = Command::new(harness_binary())
            .args(&args)
            .current_dir(dir)
            .env_remove("CI")
            .env_remove("INSTA_UPDATE")
            .envs(env)
            .output()
            .expect("run harness");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.code().unwrap_or(-1), text)
    })
    .await
    .expect("join")
}

const SUITE: &str = r#"suite: probe
target: { base_url: "BASE" }
principals:
  alice: { auth: { basic: { username: alice, password: alice-password-1 } } }
  anonymous: { auth: none }
endpoints:
  - { name: admin settings, request: GET /admin/settings, expect: { alice: 200, anonymous: 401 } }
  - { request: GET /me, expect: { alice: 200, anonymous: 401 } }
  - { request: POST /items, expect: { alice: 201, anonymous: 401 } }
"#;

#[tokio::test(flavor = "multi_thread")]
async fn trials_are_named_listed_without_requests_and_filtered_before_running() {
    let (base, stats) = server().await;
    let ws = Workspace::new();
    std::fs::create_dir(ws.path("suites")).expect("mkdir");
    ws.write("suites/probe.yaml", &SUITE.replace("BASE", &base));

    let (code, text) = run(&ws, &["--list"]).await;
    assert_eq!(code, 0, "{text}");
    let listed: Vec<&str> = text.lines().filter(|l| l.ends_with(": test")).collect();
    assert_eq!(
        listed,
        [
            "probe::admin settings::alice: test",
            "probe::admin settings::anonymous: test",
            "probe::GET /me::alice: test",
            "probe::GET /me::anonymous: test",
            "probe::POST /items::alice: test",
            "probe::POST /items::anonymous: test",
            "probe::snapshot: test",
        ]
    );
    assert_eq!(stats.total(), 0, "--list sends no request");

    let (code, text) = run(&ws, &["admin settings"]).await;
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("2 passed; 0 failed; 0 ignored; 0 measured; 5 filtered out"),
        "{text}"
    );
    assert_eq!(stats.hits("GET /admin/settings"), 2);
    assert_eq!(stats.total(), 2, "only the selected cells were executed");

    let (code, text) = run(
        &ws,
        &["--exact", "probe::GET /me::alice", "--format", "terse"],
    )
    .await;
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("1 passed; 0 failed; 0 ignored; 0 measured; 6 filtered out"),
        "{text}"
    );
    assert_eq!(stats.total(), 3);

    // Mutations against a real target are skipped cells, shown as ignored trials.
    let (code, text) = run(&ws, &["POST"]).await;
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("0 passed; 0 failed; 2 ignored"), "{text}");
    assert_eq!(stats.hits("POST /items"), 0);

    // The snapshot trial runs the whole suite; INSTA_UPDATE=no forbids writing the first snapshot.
    let (code, text) = run(&ws, &["snapshot"]).await;
    assert_eq!(code, 101, "no snapshot recorded yet: {text}");
    assert!(
        text.contains("probe::snapshot")
            && text.contains("FAILED")
            && text.contains("forbids writing it"),
        "{text}"
    );
    assert!(!ws.path("snapshots/probe.snap").exists());
    assert_eq!(
        stats.hits("GET /me"),
        3,
        "the snapshot trial executed its whole suite"
    );

    let (code, text) = run(&ws, &["anonymous"]).await;
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("2 passed; 0 failed; 1 ignored"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_cell_fails_its_trial_with_the_reason() {
    let (base, _) = server().await;
    let ws = Workspace::new();
    std::fs::create_dir(ws.path("suites")).expect("mkdir");
    let suite = SUITE
        .replace("BASE", &base)
        .replacen("anonymous: 401 }", "anonymous: 200 }", 1);
    ws.write("suites/probe.yaml", &suite);
    let (code, text) = run(&ws, &["admin settings"]).await;
    assert_eq!(code, 101, "{text}");
    assert!(
        text.contains("probe::admin settings::anonymous") && text.contains("expected 200, got 401"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broken_suite_fails_the_run_whatever_the_filter_and_skips_are_known_when_listing() {
    let (base, _) = server().await;
    let ws = Workspace::new();
    std::fs::create_dir(ws.path("suites")).expect("mkdir");
    ws.write("suites/probe.yaml", &SUITE.replace("BASE", &base));
    let (code, text) = run(&ws, &["--list", "--ignored"]).await;
    assert_eq!(code, 0, "{text}");
    let listed: Vec<&str> = text.lines().filter(|l| l.ends_with(": test")).collect();
    assert_eq!(
        listed,
        [
            "probe::POST /items::alice: test",
            "probe::POST /items::anonymous: test"
        ]
    );

    ws.write(
        "suites/probe.yaml",
        &SUITE.replace("BASE", "${NOT_SET_IN_THIS_TEST}"),
    );
    let (code, text) = run(&ws, &["--exact", "probe::GET /me::alice"]).await;
    assert_eq!(code, 101, "{text}");
    assert!(
        text.contains("unresolved variable `${NOT_SET_IN_THIS_TEST}`")
            && text.contains("no trial was run"),
        "{text}"
    );
}

/// `run`, the harness and `explain` share one session: for the same suite they
/// take the same mutation decision (a POST to a real target is not sent) and
/// the same canary decision (a principal whose canary fails has its denials
/// read as "credentials rejected").
#[tokio::test(flavor = "multi_thread")]
async fn run_the_harness_and_explain_decide_mutations_and_canaries_alike() {
    let (base, stats) = server().await;
    let ws = Workspace::new();
    std::fs::create_dir(ws.path("suites")).expect("mkdir");
    let suite = r#"suite: alike
target: { base_url: "BASE" }
principals:
  alice: { auth: { basic: { username: alice, password: alice-password-1 } } }
  mallory:
    canary: GET /me
    auth: { basic: { username: alice, password: not-her-password } }
endpoints:
  - { name: admin settings, request: GET /admin/settings, expect: { alice: 200, mallory: 401 } }
  - { request: GET /me, expect: { alice: 200, mallory: 200 } }
  - { request: POST /items, expect: { "*": 201 } }
"#
    .replace("BASE", &base);
    ws.write("suites/alike.yaml", &suite);

    // run
    let out = ws
        .permatrix(&["run", "suites/alike.yaml", "--json", "r.json"])
        .await;
    assert_eq!(out.code, 1, "{}", out.all());
    let report = ws.json("r.json");
    let verdict = |endpoint: &str, principal: &str| {
        common::cell(&report, endpoint, principal)["outcome"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(verdict("POST /items", "alice"), "skipped", "{report}");
    assert_eq!(verdict("POST /items", "mallory"), "skipped", "{report}");
    assert_eq!(
        verdict("admin settings", "mallory"),
        "credentials-rejected",
        "{report}"
    );
    assert_eq!(verdict("admin settings", "alice"), "passed", "{report}");

    // the harness
    let (code, text) = run(&ws, &["alike::", "--skip", "snapshot"]).await;
    assert_eq!(code, 101, "{text}");
    let trial = |name: &str| {
        text.lines()
            .find_map(|l| {
                let rest = l.strip_prefix(&format!("test alike::{name} "))?;
                Some(rest.trim_start().trim_start_matches("... ").to_string())
            })
            .unwrap_or_default()
    };
    assert_eq!(trial("POST /items::alice"), "ignored", "{text}");
    assert_eq!(trial("POST /items::mallory"), "ignored", "{text}");
    assert_eq!(trial("admin settings::mallory"), "FAILED", "{text}");
    assert_eq!(trial("admin settings::alice"), "ok", "{text}");
    assert!(
        text.contains("credentials rejected: canary `GET /me` was not reached"),
        "{text}"
    );

    // explain
    for (endpoint, principal, needle) in [
        ("POST /items", "alice", "SKIPPED"),
        (
            "admin settings",
            "mallory",
            "credentials rejected: canary `GET /me` was not reached",
        ),
    ] {
        let out = ws
            .permatrix(&[
                "explain",
                "suites/alike.yaml",
                "--endpoint",
                endpoint,
                "--principal",
                principal,
            ])
            .await;
        assert!(
            out.stdout.contains(needle),
            "{endpoint} × {principal}: {}",
            out.all()
        );
    }
    assert_eq!(
        stats.hits("POST /items"),
        0,
        "no entry point sent the mutation"
    );
}

/// A first run writes the snapshot and passes, as the CLI does outside CI; a
/// changed matrix fails with its classes and diff, naming the suite file, as a
/// message without a backtrace; CI refuses a missing snapshot.
#[tokio::test(flavor = "multi_thread")]
async fn the_first_harness_run_writes_the_snapshot_and_a_change_fails_plainly() {
    let (base, _) = server().await;
    let ws = Workspace::new();
    std::fs::create_dir(ws.path("suites")).expect("mkdir");
    ws.write("suites/probe.yaml", &SUITE.replace("BASE", &base));
    let (code, text) = run_with(&ws, &["snapshot"], &[("CI", "true")]).await;
    assert_eq!(code, 101, "CI: nothing written, the trial fails: {text}");
    assert!(
        text.contains("forbids writing it") && text.contains("suites/probe.yaml"),
        "{text}"
    );

    let (code, text) = run_with(&ws, &[], &[("RUST_BACKTRACE", "1")]).await;
    assert_eq!(code, 0, "the first run passes: {text}");
    assert!(
        text.contains("snapshot probe: the matrix of suites/probe.yaml written to")
            && text.contains("(first run): commit it"),
        "{text}"
    );
    let recorded = ws.read("snapshots/probe.snap");
    assert!(
        recorded.contains("GET /me\n  alice → 200\n  anonymous → 401\n"),
        "{recorded}"
    );
    let (code, text) = run_with(&ws, &[], &[]).await;
    assert_eq!(code, 0, "unchanged: {text}");

    // The recorded matrix says alice was refused /me: the run reaches it, a widened change.
    ws.write(
        "snapshots/probe.snap",
        &recorded.replace("GET /me\n  alice → 200", "GET /me\n  alice → 403"),
    );
    let (code, text) = run_with(&ws, &["snapshot"], &[("RUST_BACKTRACE", "1")]).await;
    assert_eq!(code, 101, "{text}");
    assert!(
        text.contains("the permission matrix of suites/probe.yaml changed against")
            && text.contains("widened     GET /me × alice: 403 → 200")
            && text.contains("-  alice → 403")
            && text.contains("cargo insta review"),
        "{text}"
    );
    assert!(
        !text.contains("panicked")
            && !text.contains("stack backtrace")
            && !text.contains("src/harness.rs"),
        "a snapshot difference is a message, not a panic: {text}"
    );
    assert!(ws.path("snapshots/probe.snap.new").exists());

    let (code, text) = run_with(&ws, &["snapshot"], &[("INSTA_UPDATE", "always")]).await;
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("accepted 1 change(s)"), "{text}");
    assert!(ws.read("snapshots/probe.snap").contains("alice → 200"));
}

/// Steps in the harness: a `<suite>::steps` trial, teardown after the cells,
/// and the cells of a suite whose setup failed failing with the step's
/// message instead of passing or vanishing.
#[tokio::test(flavor = "multi_thread")]
async fn setup_and_teardown_steps_are_a_trial_and_a_failed_setup_fails_every_cell() {
    let (base, server) = common::owned_server::start().await;
    let ws = Workspace::new();
    std::fs::create_dir(ws.path("suites")).expect("mkdir");
    let suite = |create: &str| {
        format!(
            r#"suite: notes
target: {{ base_url: "{base}", allow_mutations: true, retries: 0 }}
principals:
  alice: {{ auth: {{ bearer: {{ token: {alice} }} }} }}
  bob: {{ auth: {{ bearer: {{ token: {bob} }} }} }}
setup:
  - {{ name: alice's note, as: alice, request: "{create}", json: {{ text: t }}, expect: 201, capture: {{ note_id: /id }} }}
teardown:
  - {{ as: alice, request: "DELETE /notes/${{note_id}}", expect: 204 }}
endpoints:
  - request: GET /notes/${{note_id}}
    compare: {{ with: alice, ignore: [/updated_at, /request_id] }}
    expect: {{ alice: 200, bob: 404 }}
    expect_body: {{ alice: same, bob: differs }}
"#,
            alice = common::owned_server::ALICE_TOKEN,
            bob = common::owned_server::BOB_TOKEN,
        )
    };
    ws.write("suites/notes.yaml", &suite("POST /notes"));
    let (code, text) = run(&ws, &["--list"]).await;
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("notes::steps: test"), "{text}");
    assert_eq!(server.total(), 0, "listing sends nothing");

    // The first run writes the snapshot (with the body facts) and passes.
    let (code, text) = run_with(&ws, &[], &[]).await;
    assert_eq!(code, 0, "{text}");
    assert!(line_has(&text, &["notes::steps", "ok"]), "{text}");
    let snapshot = std::fs::read_to_string(ws.path("snapshots/notes.snap")).expect("snapshot");
    assert!(
        snapshot.contains("  bob → 404\n    body: differs from alice\n"),
        "{snapshot}"
    );
    assert_eq!(server.matching("DELETE /notes/").len(), 1, "teardown ran");

    ws.write("suites/notes.yaml", &suite("POST /broken"));
    let (code, text) = run(&ws, &[]).await;
    assert_eq!(code, 101, "{text}");
    assert!(line_has(&text, &["notes::steps", "FAILED"]), "{text}");
    assert!(
        text.contains("not sent: setup failed") && text.contains("expected 201, got 500"),
        "{text}"
    );
}

/// Whether a line of `text` holds every one of `parts` (libtest pads names).
fn line_has(text: &str, parts: &[&str]) -> bool {
    text.lines().any(|l| parts.iter().all(|p| l.contains(p)))
}
