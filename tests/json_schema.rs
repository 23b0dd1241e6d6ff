//! The JSON report's schema (`docs/permatrix.run.v1.schema.json`) holds for
//! real output: the shipped suite against the mock (findings and all), a run
//! with failures, errors, skips and a changed snapshot, and one against an
//! unreachable target; and it refuses a document that breaks it.

mod common;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use common::Workspace;
use serde_json::Value;

/// The schema, compiled with format assertions (`started_at` is a date-time).
fn validator() -> (boon::Schemas, boon::SchemaIndex) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/permatrix.run.v1.schema.json"
    );
    let text = std::fs::read_to_string(path).expect("the schema file");
    let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.enable_format_assertions();
    compiler
        .add_resource("permatrix.run.v1.schema.json", schema)
        .expect("the schema loads");
    let index = compiler
        .compile("permatrix.run.v1.schema.json", &mut schemas)
        .expect("the schema compiles");
    (schemas, index)
}

/// `permatrix run SUITE --snapshots snaps --json JSON` in `ws`.
async fn run_to(ws: &Workspace, suite: &str, json: &str) -> common::Output {
    ws.permatrix(&["run", suite, "--snapshots", "snaps", "--json", json])
        .await
}

#[track_caller]
fn assert_valid(report: &Value) {
    let (schemas, index) = validator();
    if let Err(error) = schemas.validate(report, index) {
        panic!("{error:#}\nin {report:#}");
    }
}

#[test]
fn the_shipped_suites_report_with_its_findings_matches_the_schema() {
    let dir = tempfile::tempdir().expect("temp dir");
    let json = dir.path().join("run.json");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_permatrix"))
        .args(["run", "suites/", "--no-snapshot", "--quiet", "--json"])
        .arg(&json)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("JIRA_BASE_URL")
        .env_remove("CI")
        .output()
        .expect("run permatrix");
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let report: Value =
        serde_json::from_slice(&std::fs::read(&json).expect("report")).expect("JSON");
    assert!(
        !report["suites"][0]["findings"]
            .as_array()
            .expect("findings")
            .is_empty()
    );
    assert_eq!(report["permatrix"], env!("CARGO_PKG_VERSION"));
    // The object-level suite brings steps and compared bodies into the document.
    let steps = report["steps"].as_array().expect("steps");
    assert!(
        steps
            .iter()
            .any(|s| s["phase"] == "teardown" && s["passed"] == true)
    );
    let facts: Vec<&Value> = (report["suites"].as_array().expect("suites").iter())
        .flat_map(|s| s["cells"].as_array().into_iter().flatten())
        .map(|c| &c["body"])
        .collect();
    assert!(facts.contains(&&Value::from("same")) && facts.contains(&&Value::from("differs")));
    assert_valid(&report);
}

#[tokio::test]
async fn failures_errors_skips_and_snapshot_states_match_the_schema() {
    let app = Router::new()
        .route("/ok", get(|| async { (StatusCode::OK, "{\"ok\":true}") }))
        .route("/no", get(|| async { StatusCode::FORBIDDEN }))
        .route("/items", post(|| async { StatusCode::CREATED }));
    let base = common::serve(app).await;
    let ws = Workspace::new();
    let suite = |base: &str| {
        format!(
            r#"suite: shapes
target: {{ base_url: "{base}", timeout: 2s }}
principals:
  anyone: {{ auth: none, scopes: [read] }}
  keyed: {{ auth: {{ header: {{ name: X-Key, value: k }} }} }}
endpoints:
  - request: GET /ok
    scopes: [admin]
    snapshot: {{ headers: [content-type], body: /ok }}
    expect: {{ "*": 200 }}
  - request: GET /no
    expect: {{ anyone: 403, keyed: 200 }}
  - request: POST /items
    expect: {{ "*": 201 }}
"#
        )
    };
    ws.write("s.yaml", &suite(&base));
    let first = run_to(&ws, "s.yaml", "first.json").await;
    assert_eq!(first.code, 1, "{}", first.all());
    let report = ws.json("first.json");
    assert_eq!(report["suites"][0]["snapshot"]["state"], "created");
    assert_valid(&report);

    let recorded = ws.read("snaps/shapes.snap");
    ws.write(
        "snaps/shapes.snap",
        &recorded.replace("keyed → 403", "keyed → 200"),
    );
    let changed = run_to(&ws, "s.yaml", "changed.json").await;
    assert_eq!(changed.code, 1, "{}", changed.all());
    let report = ws.json("changed.json");
    assert_eq!(
        report["suites"][0]["snapshot"]["state"], "changed",
        "{report}"
    );
    assert_valid(&report);

    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}", listener.local_addr().expect("addr"))
    };
    // Without the POST (a skipped cell is recorded as such), nothing answers: nothing to record.
    let down = suite(&closed).replace("suite: shapes", "suite: down");
    let down = down
        .split("  - request: POST")
        .next()
        .unwrap_or_default()
        .to_string();
    ws.write("down.yaml", &down);
    let down = run_to(&ws, "down.yaml", "down.json").await;
    assert_eq!(down.code, 1, "{}", down.all());
    let report = ws.json("down.json");
    assert_eq!(report["suites"][0]["snapshot"]["state"], "nothing-recorded");
    assert_eq!(report["suites"][0]["cells"][0]["error"]["kind"], "connect");
    assert_valid(&report);

    // The schema constrains: a document that breaks it is refused.
    let (schemas, index) = validator();
    for (pointer, value) in [
        ("/suites/0/cells/0/outcome", Value::from("bogus")),
        ("/started_at", Value::from("yesterday")),
        ("/suites/0/snapshot/state", Value::from("maybe")),
        ("/summary/passed", Value::from(-1)),
    ] {
        let mut broken = report.clone();
        *broken.pointer_mut(pointer).expect("the field exists") = value;
        assert!(
            schemas.validate(&broken, index).is_err(),
            "{pointer} should break it"
        );
    }
}
