//! Every output of a run — terminal at each verbosity, JSON, JUnit, Markdown,
//! HTML, snapshots, GitHub annotations, `explain` — for suites using every
//! auth mode (the mock's Jira suite: Basic, Connect JWT, JWT-bearer grant; a
//! second suite against services that echo what they receive: bearer, API
//! key header, login token, login cookie, client credentials, self-signed
//! JWT), searched for every configured secret and every derived value.

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
    let (echo, _) = common::server().await;
    let (tokens_base, tokens) = common::token_server::server().await;
    use common::role_server::{
        ALICE_PASSWORD, LOGIN_TOKEN, READER_TOKEN, SERVICE_KEY, SESSION_COOKIE,
    };
    use common::token_server::{CC_SECRET, CLIENT_ID, HS_SECRET};
    let modes = format!(
        r#"suite: modes
target: {{ base_url: "{echo}" }}
principals:
  basic: {{ auth: {{ basic: {{ username: alice, password: "${{ALICE}}" }} }} }}
  bearer: {{ auth: {{ bearer: {{ token: "${{READER}}" }} }} }}
  key: {{ auth: {{ header: {{ name: X-API-Key, value: "${{KEY}}" }} }} }}
  login-token: {{ auth: {{ login: {{ request: POST /login, json: {{ username: alice, password: "${{ALICE}}" }}, token: /auth/token }} }} }}
  login-cookie: {{ auth: {{ login: {{ request: POST /login, json: {{ username: alice, password: "${{ALICE}}" }}, cookie: session }} }} }}
  client: {{ auth: {{ client_credentials: {{ token_url: "{tokens_base}/cc/token", client_id: {CLIENT_ID}, client_secret: "${{CC}}" }} }} }}
  self-signed: {{ auth: {{ jwt: {{ algorithm: HS256, secret: "${{HS}}", claims: {{ role: reporter, echo_of_the_key: "${{HS}}" }} }} }} }}
endpoints:
  - {{ name: echo, request: GET /echo, expect: {{ "*": 200 }} }}
"#
    );
    ws.write("suites/modes.yaml", &modes);
    let vars = [
        format!("--var=ALICE={ALICE_PASSWORD}"),
        format!("--var=READER={READER_TOKEN}"),
        format!("--var=KEY={SERVICE_KEY}"),
        format!("--var=CC={CC_SECRET}"),
        format!("--var=HS={HS_SECRET}"),
    ];
    let mut outputs = Vec::new();
    for extra in [&[][..], &["--quiet"][..]] {
        let mut args = vec!["run", "suites"];
        args.extend(common::EVERY_REPORT);
        args.extend(extra);
        args.extend(vars.iter().map(String::as_str));
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
    for principal in ["client", "self-signed", "login-cookie"] {
        let mut args = vec![
            "explain",
            "suites/modes.yaml",
            "--endpoint",
            "echo",
            "--principal",
            principal,
        ];
        args.extend(vars.iter().map(String::as_str));
        let out = ws.permatrix(&args).await;
        assert!(out.stdout.contains("you sent ["), "{}", out.all());
        outputs.push(out.all());
    }
    for file in [
        "r.json",
        "r.xml",
        "r.md",
        "r.html",
        "snaps/jira-cloud.snap",
        "snaps/modes.snap",
    ] {
        let text = ws.read(file);
        assert!(!text.is_empty(), "{file} was written");
        outputs.push(text);
    }
    let basic = |user: &str, token: &str| {
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}"))
    };
    let mut derived = vec![
        basic("admin@example.com", "mock-admin-api-token-1f2e"),
        basic("user@example.com", "mock-user-api-token-3d4c"),
        basic("alice", ALICE_PASSWORD),
        basic(CLIENT_ID, CC_SECRET),
    ];
    derived.extend(
        [
            ALICE_PASSWORD,
            READER_TOKEN,
            SERVICE_KEY,
            LOGIN_TOKEN,
            SESSION_COOKIE,
            CC_SECRET,
            HS_SECRET,
        ]
        .map(String::from),
    );
    derived.extend(
        tokens
            .issued
            .lock()
            .map(|issued| issued.clone())
            .unwrap_or_default(),
    );
    assert!(
        derived.iter().any(|d| d.starts_with("cc-access-token")),
        "the client-credentials token was issued"
    );
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

/// Secrets that no auth mode sends are secrets too: a `query:` value from a
/// variable named like a secret (`API_KEY`) or under a credential's name,
/// a base URL's query given with `--var`, and a password written literally
/// in a suite on a line with a typo.
#[tokio::test(flavor = "multi_thread")]
async fn secrets_outside_auth_modes_never_show() {
    let (echo, _) = common::server().await;
    let ws = Workspace::new();
    ws.write(
        "q.yaml",
        &format!(
            "suite: q\ntarget: {{ base_url: \"{echo}\" }}\nprincipals: {{ p: {{ auth: none }} }}\nendpoints:\n  - {{ name: keyed, request: GET /missing, query: {{ api_key: \"${{API_KEY}}\", sig: literal-signature-77 }}, expect: {{ p: 200 }} }}\n  - {{ name: inline, request: \"GET /missing?token=${{SERVICE_TOKEN}}\", expect: {{ p: 200 }} }}\n  - {{ name: defaulted, request: GET /missing, query: {{ q: \"${{FALLBACK_TOKEN:-fallback-token-value-42}}\" }}, expect: {{ p: 200 }} }}\n  - {{ name: app, request: \"GET /apps/${{APP_KEY}}/x\", expect: {{ p: 200 }} }}\n"
        ),
    );
    let out = ws
        .permatrix(&[
            "run",
            "q.yaml",
            "--json",
            "r.json",
            "--var=API_KEY=api-key-value-9a8b7c",
            "--var=SERVICE_TOKEN=service-token-value-1d2e",
            "--var=APP_KEY=risk-register-app",
        ])
        .await;
    assert_eq!(out.code, 1, "{}", out.all());
    // A path names things, it carries no credential: an app key there stays readable.
    let report = ws.read("r.json");
    assert!(report.contains("/apps/risk-register-app/x"), "{report}");
    let explained = ws
        .permatrix(&[
            "explain",
            "q.yaml",
            "--endpoint",
            "keyed",
            "--principal",
            "p",
            "--var=API_KEY=api-key-value-9a8b7c",
        ])
        .await;
    for text in [out.all(), ws.read("r.json"), explained.all()] {
        for secret in [
            "api-key-value-9a8b7c",
            "service-token-value-1d2e",
            "fallback-token-value-42",
        ] {
            assert!(!text.contains(secret), "{secret} leaked:\n{text}");
        }
    }

    ws.write(
        "b.yaml",
        "suite: b\ntarget: { base_url: \"${TARGET}\" }\nprincipals: { p: { auth: none } }\nendpoints:\n  - { request: GET /x, expect: { p: 200 } }\n",
    );
    let out = ws
        .permatrix(&[
            "check",
            "b.yaml",
            "--var=TARGET=https://api.example.com/v1?api_key=url-key-value-5f6a",
        ])
        .await;
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(!out.all().contains("url-key-value-5f6a"), "{}", out.all());

    ws.write(
        "l.yaml",
        "suite: l\ntarget: { base_url: \"http://127.0.0.1:9\" }\nprincipals:\n  p: { auth: { basic: { username: alice, password: \"Literal-Pass-123\", typo: 1 } } }\nendpoints:\n  - { request: GET /x, expect: { p: 200 } }\n",
    );
    let out = ws.permatrix(&["check", "l.yaml"]).await;
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stderr.contains("unknown key `typo`"), "{}", out.stderr);
    assert!(!out.all().contains("Literal-Pass-123"), "{}", out.all());
}

/// A minted JWT that a server echoes percent-encoded (the usual login redirect
/// carrying the original URL, a body quoting the header), glued to other text,
/// or only its signature, never shows.
#[tokio::test(flavor = "multi_thread")]
async fn minted_jwts_echoed_encoded_or_glued_never_show() {
    use axum::routing::get;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let record = seen.clone();
    let app = axum::Router::new().fallback(get(
        move |uri: axum::http::Uri, headers: axum::http::HeaderMap| {
            let record = record.clone();
            async move {
                let original = uri.to_string();
                let header = common::authorization(&headers);
                let token = header
                    .strip_prefix("JWT ")
                    .or_else(|| header.strip_prefix("Bearer "))
                    .map(str::to_string)
                    .or_else(|| {
                        url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
                            .find(|(k, _)| k == "jwt")
                            .map(|(_, v)| v.into_owned())
                    })
                    .unwrap_or_default();
                record.lock().expect("lock").push(token.clone());
                let encode = |s: &str| {
                    url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
                };
                let signature = token.rsplit('.').next().unwrap_or_default().to_string();
                (
                    axum::http::StatusCode::FOUND,
                    [("location", format!("/login?next={}", encode(&original)))],
                    format!(
                        "header {} glued x{token}Zz alone {signature}",
                        encode(&header)
                    ),
                )
            }
        },
    ));
    let base = common::serve(app).await;
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &format!(
            "suite: echoes\ntarget: {{ base_url: \"{base}\" }}\nprincipals:\n  header: {{ auth: {{ connect_jwt: {{ issuer: app, secret: \"echo-shared-secret-1\" }} }} }}\n  query: {{ auth: {{ connect_jwt: {{ issuer: app, secret: \"echo-shared-secret-1\", in: query }} }} }}\n  signed: {{ auth: {{ jwt: {{ algorithm: HS256, secret: \"echo-shared-secret-2\", claims: {{ sub: me }} }} }} }}\nendpoints:\n  - {{ name: x, request: \"GET /x?a=1\", expect: {{ \"*\": 200 }} }}\n"
        ),
    );
    let out = ws.permatrix(&["run", "s.yaml", "--json", "r.json"]).await;
    assert_eq!(out.code, 1, "{}", out.all());
    let mut texts = vec![out.all(), ws.read("r.json")];
    for principal in ["header", "query", "signed"] {
        let explained = ws
            .permatrix(&[
                "explain",
                "s.yaml",
                "--endpoint",
                "x",
                "--principal",
                principal,
            ])
            .await;
        texts.push(explained.all());
    }
    let tokens = seen.lock().expect("lock").clone();
    assert!(tokens.len() >= 6, "{tokens:?}");
    for token in tokens.iter().filter(|t| !t.is_empty()) {
        let signature = token.rsplit('.').next().unwrap_or_default();
        for text in &texts {
            assert!(!text.contains(signature), "a signature showed:\n{text}");
        }
    }
}
