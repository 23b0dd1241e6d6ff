//! Snapshots: each kind of change a server can make is classified; snapshots
//! are byte-identical whatever the concurrency; the CI rule; the .snap.new /
//! --accept cycle.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use common::Workspace;

/// A server answering every request with the status a test sets.
async fn flipping_server() -> (String, Arc<AtomicU16>) {
    let status = Arc::new(AtomicU16::new(403));
    let app = Router::new()
        .fallback(|State(status): State<Arc<AtomicU16>>| async move {
            StatusCode::from_u16(status.load(Ordering::SeqCst)).unwrap_or(StatusCode::IM_A_TEAPOT)
        })
        .with_state(status.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, status)
}

fn suite(base: &str, endpoints: usize) -> String {
    let mut text = format!(
        "suite: flips\ntarget: {{ base_url: \"{base}\" }}\nprincipals:\n  app: {{ auth: none }}\n  other: {{ auth: none }}\nendpoints:\n"
    );
    for i in 0..endpoints {
        text.push_str(&format!(
            "  - {{ request: GET /thing/{i}, expect: {{ \"*\": any }} }}\n"
        ));
    }
    text
}

fn files(ws: &Workspace, folder: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(ws.path(folder))
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread")]
async fn every_flip_is_classified_and_accept_leaves_no_stray_files() {
    let (base, status) = flipping_server().await;
    let ws = Workspace::new();
    ws.write("s.yaml", &suite(&base, 1));
    let run = |extra: &'static [&'static str]| {
        let ws = &ws;
        async move {
            let mut args = vec!["run", "s.yaml", "--snapshots", "snaps"];
            args.extend(extra);
            ws.permatrix(&args).await
        }
    };
    let out = run(&[]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout
            .contains("snapshot flips: written to snaps/flips.snap (first run)"),
        "{}",
        out.stdout
    );
    let first = ws.read("snaps/flips.snap");
    assert!(first.starts_with("---\nsource: permatrix\nexpression: flips\n---\nGET /thing/0\n  app → 403\n  other → 403\n"), "{first}");

    for (to, class, line) in [
        (200, "widened", "GET /thing/0 × app: 403 → 200"),
        (403, "narrowed", "GET /thing/0 × app: 200 → 403"),
        (401, "auth-broken", "GET /thing/0 × app: 403 → 401"),
        (200, "widened", "GET /thing/0 × app: 401 → 200"),
        (500, "narrowed", "GET /thing/0 × app: 200 → 500"),
        (404, "changed", "GET /thing/0 × app: 500 → 404"),
    ] {
        status.store(to, Ordering::SeqCst);
        let before = ws.read("snaps/flips.snap");
        let out = run(&[]).await;
        assert_eq!(
            out.code,
            1,
            "a changed snapshot fails the run: {}",
            out.all()
        );
        let expected = format!("  {class:<11} {line}");
        assert!(
            out.stdout.contains(&expected),
            "missing {expected:?} in:\n{}",
            out.stdout
        );
        assert!(
            out.stdout.contains(&format!(
                "-  app → {}",
                line.split(": ")
                    .nth(1)
                    .and_then(|s| s.split(' ').next())
                    .unwrap_or_default()
            )),
            "{}",
            out.stdout
        );
        assert_eq!(
            ws.read("snaps/flips.snap"),
            before,
            "the recorded snapshot is untouched"
        );
        assert_eq!(files(&ws, "snaps"), ["flips.snap", "flips.snap.new"]);
        let out = run(&["--accept"]).await;
        assert_eq!(out.code, 0, "{}", out.all());
        assert!(
            out.stdout
                .contains("snapshot flips: accepted 2 change(s) into snaps/flips.snap"),
            "{}",
            out.stdout
        );
        assert_eq!(
            files(&ws, "snaps"),
            ["flips.snap"],
            "no .snap.new, no temporary file left"
        );
        let out = run(&[]).await;
        assert_eq!(out.code, 0, "unchanged now: {}", out.all());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn snapshots_are_byte_identical_at_any_concurrency() {
    let (base, _) = flipping_server().await;
    let ws = Workspace::new();
    ws.write("s.yaml", &suite(&base, 40));
    let out = ws
        .permatrix(&["run", "s.yaml", "--snapshots", "one", "--concurrency", "1"])
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let out = ws
        .permatrix(&[
            "run",
            "s.yaml",
            "--snapshots",
            "many",
            "--concurrency",
            "32",
        ])
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let (one, many) = (ws.read("one/flips.snap"), ws.read("many/flips.snap"));
    assert_eq!(one.lines().count(), 4 + 40 * 3);
    assert_eq!(one, many);
}

#[tokio::test(flavor = "multi_thread")]
async fn ci_refuses_a_missing_snapshot_and_no_snapshot_skips_it_all() {
    let (base, _) = flipping_server().await;
    let ws = Workspace::new();
    ws.write("s.yaml", &suite(&base, 2));
    let out = ws
        .permatrix_with_env(
            &["run", "s.yaml", "--snapshots", "snaps"],
            &[("CI", "true")],
        )
        .await;
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout
            .contains("snapshot flips: snaps/flips.snap does not exist and CI is set"),
        "{}",
        out.stdout
    );
    assert!(files(&ws, "snaps").is_empty(), "nothing written under CI");
    let out = ws
        .permatrix_with_env(&["run", "s.yaml", "--no-snapshot"], &[("CI", "true")])
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(!ws.path("snapshots").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_filtered_run_leaves_the_other_lines_as_they_are() {
    let (base, status) = flipping_server().await;
    let ws = Workspace::new();
    ws.write("s.yaml", &suite(&base, 2));
    let out = ws
        .permatrix(&["run", "s.yaml", "--snapshots", "snaps"])
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    status.store(200, Ordering::SeqCst);
    let out = ws
        .permatrix(&[
            "run",
            "s.yaml",
            "--snapshots",
            "snaps",
            "--filter",
            "thing/1",
            "--principal",
            "app",
        ])
        .await;
    assert_eq!(out.code, 1, "{}", out.all());
    let new = ws.read("snaps/flips.snap.new");
    assert!(
        new.contains(
            "GET /thing/0\n  app → 403\n  other → 403\nGET /thing/1\n  app → 200\n  other → 403\n"
        ),
        "{new}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn snapshot_facts_record_the_asked_headers_and_body_masked() {
    let (base, _) = common::server().await;
    let ws = Workspace::new();
    let suite = format!(
        r#"suite: facts
target: {{ base_url: "{base}" }}
principals:
  anonymous: {{ auth: none }}
  reader: {{ auth: {{ bearer: {{ token: "{token}" }} }} }}
endpoints:
  - request: GET /me
    expect: {{ "*": any }}
    snapshot: {{ headers: [WWW-Authenticate, X-Absent], body: /error }}
  - request: GET /echo
    expect: {{ "*": any }}
    snapshot: {{ body: /nothing }}
"#,
        token = common::role_server::READER_TOKEN
    );
    ws.write("s.yaml", &suite);
    let out = ws
        .permatrix(&["run", "s.yaml", "--snapshots", "snaps"])
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let text = ws.read("snaps/facts.snap");
    assert!(
        text.contains(
            "GET /me\n  anonymous → 401\n    header www-authenticate: Basic realm=\"demo\"\n    header x-absent: (absent)\n    body /error: \"authentication required\"\n  reader → 200\n"
        ),
        "{text}"
    );
    assert!(!text.contains(common::role_server::READER_TOKEN), "{text}");
    assert!(!text.contains("127.0.0.1"), "no port in a snapshot: {text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn crlf_snapshots_read_the_same_and_junit_reports_the_snapshot() {
    let (base, status) = flipping_server().await;
    let ws = Workspace::new();
    ws.write("s.yaml", &suite(&base, 2));
    let out = ws
        .permatrix(&["run", "s.yaml", "--snapshots", "snaps"])
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let crlf = ws.read("snaps/flips.snap").replace('\n', "\r\n");
    ws.write("snaps/flips.snap", &crlf);
    let out = ws
        .permatrix(&["run", "s.yaml", "--snapshots", "snaps", "--junit", "r.xml"])
        .await;
    assert_eq!(
        out.code,
        0,
        "a CRLF checkout is not a change: {}",
        out.all()
    );
    assert!(
        ws.read("r.xml").contains(
            "<testcase name=\"snapshot\" classname=\"flips\" file=\"s.yaml\" line=\"1\"/>"
        ),
        "{}",
        ws.read("r.xml")
    );
    status.store(200, Ordering::SeqCst);
    let out = ws
        .permatrix(&["run", "s.yaml", "--snapshots", "snaps", "--junit", "r.xml"])
        .await;
    assert_eq!(out.code, 1, "{}", out.all());
    let xml = ws.read("r.xml");
    assert!(
        xml.contains("type=\"snapshot-changed\"")
            && xml.contains("widened     GET /thing/0 × app: 403 → 200"),
        "{xml}"
    );
}
