//! `permatrix coverage`: small OpenAPI 2.0, 3.0 and 3.1 documents of our own
//! (tests/data/coverage/) and Atlassian's Jira platform document against the
//! shipped suite, through the binary.

mod common;

use common::Workspace;
use serde_json::json;

/// A file of the repository, by its path from the crate's root.
fn data(path: &str) -> String {
    format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> String {
    data(&format!("tests/data/coverage/{name}"))
}

const JIRA: &str = "tests/data/openapi/jira-platform.v3.json";

#[tokio::test]
async fn swagger2_base_path_and_concrete_segments_first() {
    let ws = Workspace::new();
    let out = ws
        .permatrix(&[
            "coverage",
            "--openapi",
            &fixture("petstore.v2.yaml"),
            &fixture("petstore.v2.suite.yaml"),
            "--json",
            "coverage.json",
        ])
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(
        out.stdout,
        "\
uncovered operations (2 of 6):
  POST /pet  addPet
  GET  /store/inventory  getInventory
endpoints matching no operation (3 of 7):
  petstore-v2 › POST /v2/store/inventory: /store/inventory has no POST; did you mean GET /store/inventory?
  petstore-v2 › GET /v2/${anything:-x}: its whole path is a variable
  petstore-v2 › GET /v2/pets/1: did you mean GET /pet/{petId}?
coverage: 4 of 6 operations (66.66 %) by 7 endpoints of 1 suite
"
    );
    assert_eq!(out.stderr, "");
    // findByStatus (a concrete segment) is not getPetById; `one pet`
    // (/v2/pet/${pet}) is; `delete` is DELETE; `//user/john%20doe/` is /user/{username}.
    assert_eq!(
        ws.json("coverage.json"),
        json!({
            "operations": 6, "covered": 4, "percent": 66.66,
            "uncovered": [
                {"method": "POST", "path": "/pet", "operation_id": "addPet"},
                {"method": "GET", "path": "/store/inventory", "operation_id": "getInventory"},
            ],
            "unmatched": [
                {"suite": "petstore-v2", "endpoint": "POST /v2/store/inventory",
                 "request": "POST /v2/store/inventory", "suggestion": "GET /store/inventory"},
                {"suite": "petstore-v2", "endpoint": "GET /v2/${anything:-x}",
                 "request": "GET /v2/${anything:-x}", "suggestion": null},
                {"suite": "petstore-v2", "endpoint": "GET /v2/pets/1",
                 "request": "GET /v2/pets/1", "suggestion": "GET /pet/{petId}"},
            ],
        })
    );
}

#[tokio::test]
async fn openapi30_server_prefix_mixed_segments_and_operation_servers() {
    let ws = Workspace::new();
    let out = ws
        .permatrix(&[
            "coverage",
            "--openapi",
            &fixture("pets.v30.yaml"),
            &fixture("pets.v30.suite.yaml"),
            "--json",
            "coverage.json",
        ])
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report = ws.json("coverage.json");
    assert_eq!(report["operations"], 6);
    assert_eq!(report["covered"], 5);
    assert_eq!(report["percent"], 83.33);
    // report.pdf is getFile ({name}.{ext}), reports is getFolder; /health is
    // served under its own server's /internal, not under /api/v3.
    assert_eq!(
        report["uncovered"],
        json!([{"method": "GET", "path": "/pets/{petId}", "operation_id": "showPetById"}])
    );
    assert_eq!(
        report["unmatched"],
        json!([
            {"suite": "pets-v30", "endpoint": "GET /pet/1", "request": "GET /pet/1",
             "suggestion": "GET /pets/{petId}"},
            {"suite": "pets-v30", "endpoint": "GET /api/v3/health", "request": "GET /api/v3/health",
             "suggestion": null},
        ])
    );
    assert!(
        out.stdout
            .contains("  pets-v30 › GET /pet/1: did you mean GET /pets/{petId}?\n")
    );
    assert!(
        out.stdout
            .contains("  pets-v30 › GET /api/v3/health: no operation is near it\n")
    );
}

#[tokio::test]
async fn openapi31_path_as_written_before_the_server_prefix() {
    let ws = Workspace::new();
    let out = ws
        .permatrix(&[
            "coverage",
            "--openapi",
            &fixture("httpbin.v31.yaml"),
            &fixture("httpbin.v31.suite.yaml"),
            "--json",
            "coverage.json",
        ])
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    // GET /anything/get is /anything/{rest} as written, not /get under the server /anything.
    assert_eq!(
        ws.json("coverage.json"),
        json!({
            "operations": 4, "covered": 2, "percent": 50,
            "uncovered": [
                {"method": "GET", "path": "/anything", "operation_id": "anything"},
                {"method": "GET", "path": "/status/{codes}", "operation_id": "status"},
            ],
            "unmatched": [],
        })
    );
    assert_eq!(
        out.stdout,
        "\
uncovered operations (2 of 4):
  GET /anything  anything
  GET /status/{codes}  status
coverage: 2 of 4 operations (50 %) by 2 endpoints of 1 suite
"
    );
}

#[tokio::test]
async fn min_passes_at_exactly_the_percentage_and_fails_below() {
    let ws = Workspace::new();
    let (spec, suite) = (
        fixture("httpbin.v31.yaml"),
        fixture("httpbin.v31.suite.yaml"),
    );
    for (min, code) in [
        ("50", 0),
        ("50.0", 0),
        ("49.99", 0),
        ("50.01", 1),
        ("100", 1),
    ] {
        let out = ws
            .permatrix(&["coverage", "--openapi", &spec, &suite, "--min", min])
            .await;
        assert_eq!(out.code, code, "--min {min}: {}", out.all());
        if code == 1 {
            assert!(
                out.stderr.contains("coverage 50 % is below --min"),
                "{}",
                out.all()
            );
        }
    }
    // 2 of 3 is 66.666…: shown as 66.66, which --min 66.66 passes and 66.67 does not.
    let (spec, suite) = (
        fixture("petstore.v2.yaml"),
        fixture("petstore.v2.suite.yaml"),
    );
    for (min, code) in [("66.66", 0), ("66.67", 1)] {
        let out = ws
            .permatrix(&["coverage", "--openapi", &spec, &suite, "--min", min])
            .await;
        assert_eq!(out.code, code, "--min {min}: {}", out.all());
    }
    for bad in ["101", "-1", "half", "50%"] {
        let out = ws
            .permatrix(&["coverage", "--openapi", &spec, &suite, "--min", bad])
            .await;
        assert_eq!(out.code, 2, "--min {bad}: {}", out.all());
    }
}

#[tokio::test]
async fn the_json_is_written_even_when_min_fails() {
    let ws = Workspace::new();
    let out = ws
        .permatrix(&[
            "coverage",
            "--openapi",
            &fixture("httpbin.v31.yaml"),
            &fixture("httpbin.v31.suite.yaml"),
            "--min",
            "75",
            "--json",
            "c.json",
        ])
        .await;
    assert_eq!(out.code, 1, "{}", out.all());
    assert_eq!(ws.json("c.json")["percent"], 50);
}

#[tokio::test]
async fn no_operations_is_full_coverage_and_every_endpoint_unmatched() {
    let ws = Workspace::new();
    let spec = ws.write(
        "empty.yaml",
        "openapi: 3.0.0\ninfo: { title: t, version: '1' }\npaths: {}\n",
    );
    let out = ws
        .permatrix(&[
            "coverage",
            "--openapi",
            spec.to_str().unwrap(),
            &fixture("httpbin.v31.suite.yaml"),
            "--min",
            "100",
            "--json",
            "c.json",
        ])
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report = ws.json("c.json");
    assert_eq!(
        (
            &report["operations"],
            &report["covered"],
            &report["percent"]
        ),
        (&json!(0), &json!(0), &json!(100))
    );
    assert_eq!(report["unmatched"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn an_invalid_document_or_suite_exits_2_with_the_place() {
    let ws = Workspace::new();
    let broken = ws.write(
        "broken.json",
        "{\"openapi\": \"3.0.0\",\n  \"paths\": {,}\n}\n",
    );
    let out = ws
        .permatrix(&[
            "coverage",
            "--openapi",
            broken.to_str().unwrap(),
            &fixture("httpbin.v31.suite.yaml"),
        ])
        .await;
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr.starts_with("error: --openapi "),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("broken.json:2:"), "{}", out.stderr);
    assert_eq!(out.stdout, "");

    let not_openapi = ws.write("other.yaml", "title: not an API\n");
    let out = ws
        .permatrix(&[
            "coverage",
            "--openapi",
            not_openapi.to_str().unwrap(),
            &fixture("httpbin.v31.suite.yaml"),
        ])
        .await;
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr.contains("not an OpenAPI document"),
        "{}",
        out.stderr
    );

    let suite = ws.write(
        "bad.yaml",
        "suite: bad\ntarget: { base_url: http://127.0.0.1:9 }\nprincipals: { a: { auth: none } }\nendpoints:\n  - request: GET /x\n    expet: { a: 200 }\n",
    );
    let out = ws
        .permatrix(&[
            "coverage",
            "--openapi",
            &fixture("httpbin.v31.yaml"),
            suite.to_str().unwrap(),
            "--json",
            "c.json",
        ])
        .await;
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stderr.contains("bad.yaml:6:5"), "{}", out.stderr);
    assert!(
        out.stderr.contains("nothing was measured"),
        "{}",
        out.stderr
    );
    assert!(!ws.path("c.json").exists());
}

#[tokio::test]
async fn usage_errors_exit_2() {
    let ws = Workspace::new();
    let (spec, suite) = (
        fixture("httpbin.v31.yaml"),
        fixture("httpbin.v31.suite.yaml"),
    );
    let out = ws
        .permatrix(&["coverage", "--openapi", &spec, &suite, "--map", "rest=/x"])
        .await;
    assert_eq!(out.code, 2, "{}", out.all());
    let out = ws.permatrix(&["coverage", &suite]).await;
    assert_eq!(out.code, 2, "{}", out.all());
    let out = ws
        .permatrix(&[
            "coverage",
            "--openapi",
            &spec,
            &suite,
            "--json",
            "no/such/c.json",
        ])
        .await;
    assert_eq!(out.code, 2, "{}", out.all());
    assert_eq!(
        out.stderr,
        "error: --json no/such/c.json: the folder no/such does not exist\n"
    );
}

#[tokio::test]
async fn suites_default_to_the_suites_folder_and_output_is_deterministic() {
    let ws = Workspace::new();
    std::fs::create_dir(ws.path("suites")).unwrap();
    std::fs::copy(
        fixture("petstore.v2.suite.yaml"),
        ws.path("suites/petstore.yaml"),
    )
    .unwrap();
    let spec = fixture("petstore.v2.yaml");
    let first = ws
        .permatrix(&["coverage", "--openapi", &spec, "--json", "a.json"])
        .await;
    let second = ws
        .permatrix(&["coverage", "--openapi", &spec, "--json", "b.json"])
        .await;
    assert_eq!(first.code, 0, "{}", first.all());
    assert_eq!(first.stdout, second.stdout);
    assert_eq!(ws.read("a.json"), ws.read("b.json"));
    assert!(
        first
            .stdout
            .ends_with("coverage: 4 of 6 operations (66.66 %) by 7 endpoints of 1 suite\n")
    );
}

/// The shipped suite against Atlassian's own description of Jira Cloud's
/// platform API: the figures the README gives.
#[tokio::test]
async fn the_shipped_jira_suite_against_the_jira_platform_document() {
    let ws = Workspace::new();
    // The Jira suites: the GraphQL example is no Jira API.
    let spec = data(JIRA);
    let (cloud, object_level) = (
        data("suites/jira-cloud.yaml"),
        data("suites/jira-object-level.yaml"),
    );
    let out = ws
        .permatrix(&[
            "coverage",
            "--openapi",
            &spec,
            &cloud,
            &object_level,
            "--map",
            "/rest/api/2=/rest/api/3",
            "--json",
            "jira.json",
        ])
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report = ws.json("jira.json");
    assert_eq!(report["operations"], 468);
    assert_eq!(report["covered"], 72);
    assert_eq!(report["percent"], 15.38);
    assert_eq!(report["unmatched"], json!([]));
    assert_eq!(report["uncovered"].as_array().map(Vec::len), Some(468 - 72));
    assert!(
        out.stdout
            .ends_with("coverage: 72 of 468 operations (15.38 %) by 80 endpoints of 2 suites\n"),
        "{}",
        out.stdout
    );

    // Without the map only the v3 endpoints match; every v2 one is shown
    // with its v3 operation as the suggestion.
    let out = ws
        .permatrix(&[
            "coverage",
            "--openapi",
            &spec,
            &cloud,
            &object_level,
            "--json",
            "v2.json",
        ])
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report = ws.json("v2.json");
    assert_eq!(report["covered"], 4);
    let unmatched = report["unmatched"].as_array().unwrap();
    assert_eq!(
        unmatched.len(),
        76,
        "the 71 v2 endpoints of jira-cloud, the 5 of jira-object-level"
    );
    let issue = unmatched
        .iter()
        .find(|u| u["request"] == "GET /rest/api/2/issue/TEST-1")
        .expect("the issue endpoint");
    assert_eq!(issue["suggestion"], "GET /rest/api/3/issue/{issueIdOrKey}");
}

#[tokio::test]
async fn jira_concrete_paths_beat_their_templated_neighbours() {
    let ws = Workspace::new();
    ws.write(
        "jira.yaml",
        r#"suite: jira-picks
target: { base_url: "https://example.atlassian.net" }
principals:
  admin: { auth: none }
defaults:
  expect: { "*": any }
endpoints:
  - request: GET /rest/api/2/issue/picker?query=x
  - request: GET /rest/api/2/issue/createmeta
  - request: GET /rest/api/3/issue/${key:-TEST-1}
  - request: GET /rest/api/3/project/search
  - request: GET /rest/api/3/project/TEST
  - request: GET /rest/api/3/users/search/
  - request: POST /rest/api/3/issue/createmeta
"#,
    );
    let out = ws
        .permatrix(&[
            "coverage",
            "--openapi",
            &data(JIRA),
            "jira.yaml",
            "--map",
            "/rest/api/2=/rest/api/3",
            "--json",
            "c.json",
        ])
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report = ws.json("c.json");
    let uncovered: Vec<&str> = report["uncovered"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["operation_id"].as_str())
        .collect();
    let covered = |id: &str| !uncovered.contains(&id);
    for id in [
        "getIssuePickerResource",
        "getCreateIssueMeta",
        "getIssue",
        "searchProjects",
        "getProject",
        "getAllUsers",
    ] {
        assert!(covered(id), "{id} should be covered");
    }
    assert_eq!(report["covered"], 6);
    // createmeta is its own path, which has no POST: not editIssue's or anyone's.
    assert_eq!(
        report["unmatched"],
        json!([{"suite": "jira-picks", "endpoint": "POST /rest/api/3/issue/createmeta",
                "request": "POST /rest/api/3/issue/createmeta",
                "suggestion": "GET /rest/api/3/issue/createmeta"}])
    );
}
