//! What a run says when it ends, so it never reads green when it is red: the
//! closing line with snapshot changes, annotations and flags for widened
//! changes, one line for cells failing alike, a selection that matches
//! nothing, and the snapshot state a JSON report gives.

mod common;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use common::Workspace;

/// `/open` answers 200; `/guarded` 200 with `X-Pass: yes`, else 403.
async fn target() -> String {
    let guarded = |headers: HeaderMap| async move {
        if headers.get("x-pass").is_some_and(|v| v == "yes") {
            StatusCode::OK
        } else {
            StatusCode::FORBIDDEN
        }
    };
    let app = Router::new()
        .route("/open", get(|| async { StatusCode::OK }))
        .route("/guarded", get(guarded));
    common::serve(app).await
}

fn suite(base: &str) -> String {
    format!(
        r#"suite: closing
target: {{ base_url: "{base}" }}
principals:
  insider: {{ auth: {{ header: {{ name: X-Pass, value: "yes" }} }} }}
  outsider: {{ auth: none }}
endpoints:
  - request: GET /open
    expect: {{ "*": any }}
  - request: GET /guarded
    expect: {{ "*": any }}
"#
    )
}

#[tokio::test]
async fn a_snapshot_only_change_is_counted_in_the_closing_line_annotated_and_flagged() {
    let base = target().await;
    let ws = Workspace::new();
    ws.write("s.yaml", &suite(&base));
    let first = ws
        .permatrix(&["run", "s.yaml", "--snapshots", "snapshots"])
        .await;
    assert_eq!(first.code, 0, "{}", first.all());
    assert!(
        first.stdout.ends_with("4 passed, 0 failed\n"),
        "{}",
        first.all()
    );

    // The recorded matrix says the outsider was refused /open: now it reaches it.
    let recorded = ws.read("snapshots/closing.snap");
    ws.write(
        "snapshots/closing.snap",
        &recorded.replace(
            "GET /open\n  insider → 200\n  outsider → 200",
            "GET /open\n  insider → 200\n  outsider → 403",
        ),
    );
    let out = ws
        .permatrix_with_env(
            &[
                "run",
                "s.yaml",
                "--snapshots",
                "snapshots",
                "--markdown",
                "r.md",
                "--html",
                "r.html",
            ],
            &[("GITHUB_ACTIONS", "true")],
        )
        .await;
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout
            .lines()
            .any(|l| l == "4 passed, 0 failed, 1 snapshot changed (1 widened)"),
        "the closing line says why the run is red: {}",
        out.stdout
    );
    assert!(
        out.stdout.contains(
            "::error file=s.yaml,line=7,title=closing › snapshot%3A widened::GET /open × outsider: 403 → 200"
        ),
        "the widened change is annotated at its endpoint's line: {}",
        out.stdout
    );
    let markdown = ws.read("r.md");
    assert!(
        markdown.starts_with("**Snapshot changes to review first:**\n\n- ⚠️ **widened** closing › GET /open × outsider: 403 → 200"),
        "{markdown}"
    );
    assert!(markdown.contains("**4 passed, 0 failed, 1 snapshot changed (1 widened)**"));
    let html = ws.read("r.html");
    assert!(
        html.contains("<p class=\"alarm\"><strong>Snapshot changes to review first</strong>: <span class=\"widened\">widened <code>closing › GET /open × outsider: 403 → 200</code>"),
        "{html}"
    );
    assert!(html.contains("4 passed, 0 failed, 1 snapshot changed (1 widened)"));
}

#[tokio::test]
async fn a_selection_that_matches_no_cell_is_a_usage_error() {
    let base = target().await;
    let ws = Workspace::new();
    ws.write("s.yaml", &suite(&base));
    let out = ws
        .permatrix(&["run", "s.yaml", "--filter", "nothing"])
        .await;
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr
            .contains("no cell matches --filter \"nothing\": nothing to run"),
        "{}",
        out.all()
    );
    let out = ws
        .permatrix(&[
            "run",
            "s.yaml",
            "--filter",
            "guarded",
            "--principal",
            "insider",
        ])
        .await;
    assert_eq!(out.code, 0, "a selection that matches runs: {}", out.all());
    assert!(
        out.stdout.ends_with("1 passed, 0 failed\n"),
        "{}",
        out.all()
    );
    let out = ws
        .permatrix(&["run", "s.yaml", "--concurrency", "2000"])
        .await;
    assert_eq!(
        out.code,
        2,
        "one range for suites and the command line: {}",
        out.all()
    );
    assert!(out.stderr.contains("1..=1024"), "{}", out.all());
}

#[tokio::test]
async fn an_unreachable_target_is_told_once_and_records_nothing() {
    // A port that was free a moment ago: nothing listens there.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}", listener.local_addr().expect("addr"))
    };
    let ws = Workspace::new();
    ws.write("s.yaml", &suite(&closed));
    let out = ws
        .permatrix(&[
            "run",
            "s.yaml",
            "--snapshots",
            "snapshots",
            "--json",
            "r.json",
            "--timeout",
            "2s",
        ])
        .await;
    assert_eq!(out.code, 1, "{}", out.all());
    let errors: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("ERROR"))
        .collect();
    assert_eq!(
        errors.len(),
        1,
        "one line, not one per cell: {}",
        out.stdout
    );
    assert!(
        errors[0].starts_with(&format!("ERROR closing: target unreachable: {closed}/ ("))
            && errors[0]
                .contains("4 cells: GET /open × every principal; GET /guarded × every principal"),
        "{}",
        errors[0]
    );
    assert!(
        out.stdout.contains("snapshot closing: nothing recorded"),
        "{}",
        out.stdout
    );
    assert!(!ws.path("snapshots/closing.snap").exists());
    let report = ws.json("r.json");
    assert_eq!(
        report["suites"][0]["snapshot"]["state"], "nothing-recorded",
        "{report}"
    );
}
