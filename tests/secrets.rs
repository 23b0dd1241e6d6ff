//! Every output of a run against the mock — terminal at each verbosity, JSON,
//! JUnit, Markdown, HTML, the snapshot, `explain` — searched for every
//! configured secret and every value derived from one.

mod common;

use base64::Engine;
use common::Workspace;

const MOCK_SECRETS: &[&str] = &[
    "mock-admin-api-token-1f2e",
    "mock-user-api-token-3d4c",
    "mock-shared-secret-risk-register-5a6b",
    "mock-shared-secret-admin-console-7c8d",
];

#[tokio::test(flavor = "multi_thread")]
async fn no_output_carries_a_secret_or_anything_derived_from_one() {
    let ws = Workspace::new();
    let root = env!("CARGO_MANIFEST_DIR");
    std::fs::create_dir_all(ws.path("suites/mocks")).expect("mkdir");
    for file in ["suites/jira-cloud.yaml", "suites/mocks/jira-cloud.yaml"] {
        let text = std::fs::read_to_string(format!("{root}/{file}")).expect("shipped file");
        // A failing expectation makes sure failure lines, excerpts and annotations are produced too.
        let text = text.replacen(
            "GET /rest/api/2/permissions\n    expect: { \"*\": 401,",
            "GET /rest/api/2/permissions\n    expect: { \"*\": 200,",
            1,
        );
        ws.write(file, &text);
    }
    let mut outputs = Vec::new();
    for extra in [&[][..], &["--quiet"][..]] {
        let mut args = vec![
            "run",
            "suites",
            "--json",
            "r.json",
            "--junit",
            "r.xml",
            "--markdown",
            "r.md",
            "--html",
            "r.html",
            "--snapshots",
            "snaps",
        ];
        args.extend(extra);
        let out = ws
            .permatrix_with_env(&args, &[("GITHUB_ACTIONS", "true")])
            .await;
        assert_eq!(out.code, 1, "{}", out.all());
        assert!(
            out.stdout.contains("::error "),
            "annotations are part of what is searched"
        );
        outputs.push(out.all());
    }
    for (endpoint, principal) in [
        ("GET /rest/api/2/permissions", "app-as-admin"),
        ("GET /rest/api/2/settings/columns", "app"),
        ("GET /rest/api/2/myself", "admin"),
        ("GET /rest/api/2/myself", "user"),
    ] {
        let out = ws
            .permatrix(&[
                "explain",
                "suites/jira-cloud.yaml",
                "--endpoint",
                endpoint,
                "--principal",
                principal,
            ])
            .await;
        assert!(out.stdout.contains("verdict"), "{}", out.all());
        outputs.push(out.all());
    }
    for file in ["r.json", "r.xml", "r.md", "r.html", "snaps/jira-cloud.snap"] {
        let text = ws.read(file);
        assert!(!text.is_empty(), "{file} was written");
        outputs.push(text);
    }
    let basic = |user: &str, token: &str| {
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}"))
    };
    let derived = [
        basic("admin@example.com", "mock-admin-api-token-1f2e"),
        basic("user@example.com", "mock-user-api-token-3d4c"),
    ];
    for text in &outputs {
        for secret in MOCK_SECRETS
            .iter()
            .copied()
            .chain(derived.iter().map(String::as_str))
        {
            assert!(!text.contains(secret), "leaked {secret}:\n{text}");
        }
        // Minted Connect JWTs, grant assertions and issued access tokens.
        assert!(!text.contains("eyJ"), "a JWT leaked:\n{text}");
        assert!(
            !text.contains("mock-0") && !text.lines().any(|l| l.contains("Bearer mock-")),
            "an access token leaked:\n{text}"
        );
        assert!(!text.contains("jwt=ey"), "{text}");
    }
}
