//! Reproductions: `run --curl` prints under each failing cell a curl command
//! that re-sends its request with credentials as shell variables, the JSON
//! report carries it per cell, and `explain --curl` gives a command with a
//! fetched token that works now. The commands are run here with `sh` and
//! curl against the same loopback servers.

mod common;

use common::{Workspace, role_server, server};

/// Runs `script` with `sh`, the given variables set; returns stdout.
fn shell(script: &str, vars: &[(&str, &str)]) -> String {
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{script} --max-time 10"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(vars.iter().copied())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("sh runs");
    assert!(output.status.success(), "{script}\n{output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The status line curl `-i` printed.
fn status_of(response: &str) -> u16 {
    response
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// The curl command printed under the failing line of `principal`.
fn command_under(stdout: &str, principal: &str) -> String {
    let mut lines = stdout
        .lines()
        .skip_while(|l| !(l.starts_with("FAIL") && l.contains(&format!("› {principal}:"))));
    lines.next();
    lines
        .map_while(|l| l.strip_prefix("    "))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_cell_comes_with_a_curl_command_that_gets_the_same_answer() {
    let (base, _) = server().await;
    let ws = Workspace::new();
    // Every expectation is wrong on purpose: each cell fails and gets its command.
    let suite = common::suite(
        "curl",
        &base,
        "",
        "endpoints:\n  - request: POST /items\n    json: { name: \"it's new\" }\n    headers: { X-Trace: \"a b\" }\n    expect: { \"*\": 418 }\n",
    );
    ws.write(
        "s.yaml",
        &suite.replace("target:\n", "target:\n  allow_mutations: true\n"),
    );
    let mut args = vec![
        "run".to_string(),
        "s.yaml".into(),
        "--curl".into(),
        "--json".into(),
        "r.json".into(),
    ];
    args.extend(common::credential_vars());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = ws.permatrix(&args).await;
    assert_eq!(out.code, 1, "{}", out.all());
    for secret in [
        role_server::ALICE_PASSWORD,
        role_server::SERVICE_KEY,
        role_server::READER_TOKEN,
    ] {
        assert!(
            !out.stdout.contains(secret),
            "a credential leaked into --curl: {}",
            out.stdout
        );
    }
    let vars = [
        ("ALICE_PASSWORD", role_server::ALICE_PASSWORD),
        ("SERVICE_KEY", role_server::SERVICE_KEY),
        ("READER_TOKEN", role_server::READER_TOKEN),
    ];
    let report = ws.json("r.json");
    for (principal, status) in [
        ("alice", 201),
        ("anonymous", 401),
        ("service", 403),
        ("reader", 403),
    ] {
        let command = command_under(&out.stdout, principal);
        assert!(
            command.starts_with("curl -sS -i \""),
            "{principal}: {command}"
        );
        assert!(
            command.contains("--data-raw '{\"name\":\"it'\\''s new\"}'"),
            "{command}"
        );
        let answer = shell(&command, &vars);
        assert_eq!(
            status_of(&answer),
            status,
            "{principal}: {command}\n{answer}"
        );
        let cell = common::cell(&report, "POST /items", principal);
        assert_eq!(
            cell["curl"].as_str(),
            Some(command.as_str()),
            "the JSON carries the same command"
        );
        assert_eq!(cell["status"], status);
    }
    assert!(command_under(&out.stdout, "alice").contains("-u \"alice:${ALICE_PASSWORD}\""));
    assert!(command_under(&out.stdout, "service").contains("-H \"X-API-Key: ${SERVICE_KEY}\""));
}

#[tokio::test(flavor = "multi_thread")]
async fn explain_curl_carries_a_token_fetched_now_that_works() {
    let (base, _) = common::token_server::server().await;
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &format!(
            r#"suite: cc
target: {{ base_url: "{base}" }}
principals:
  machine:
    auth:
      client_credentials:
        token_url: /cc/token
        client_id: {}
        client_secret: "${{CC_SECRET}}"
endpoints:
  - request: GET /api/me
    expect: {{ machine: 200 }}
"#,
            common::token_server::CLIENT_ID
        ),
    );
    let secret = format!("--var=CC_SECRET={}", common::token_server::CC_SECRET);
    let out = ws
        .permatrix(&["run", "s.yaml", "--curl", "--json", "r.json", &secret])
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let curl = ws.json("r.json")["suites"][0]["cells"][0]["curl"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        curl.starts_with(
            "# $MACHINE_ACCESS_TOKEN — machine sends a token fetched from its token endpoint"
        ) && curl.contains("-H \"Authorization: Bearer ${MACHINE_ACCESS_TOKEN}\""),
        "{curl}"
    );

    let out = ws
        .permatrix(&[
            "explain",
            "s.yaml",
            "--endpoint",
            "GET /api/me",
            "--principal",
            "machine",
            "--curl",
            &secret,
        ])
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        !out.stdout.contains(common::token_server::CC_SECRET),
        "{}",
        out.stdout
    );
    let section: Vec<&str> = out
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("curl "))
        .map(|l| l.get(9..).unwrap_or_default())
        .collect();
    let script = section.join("\n");
    assert!(script.contains("MACHINE_ACCESS_TOKEN='cc-"), "{script}");
    let answer = shell(&script, &[]);
    assert_eq!(
        status_of(&answer),
        200,
        "the fetched token works: {script}\n{answer}"
    );
}

/// What the reviews found: a secret around text, a credential-named body
/// field, a credential header of the endpoint and a `$` in the URL never
/// reach the command as they were.
#[tokio::test(flavor = "multi_thread")]
async fn the_command_never_shows_part_of_a_secret_nor_lets_the_url_run_code() {
    let (base, _) = server().await;
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &format!(
            r#"suite: leaks
target: {{ base_url: "{base}", allow_mutations: true }}
principals:
  prefixed: {{ auth: {{ bearer: {{ token: "sk_live_${{SUFFIX}}" }} }} }}
endpoints:
  - request: POST /items?q=$${{HOME:-$(id)}}
    headers: {{ X-Api-Key: "key-${{SUFFIX}}" }}
    json: {{ name: probe, password: literal-password-123456, nested: {{ token: tok-abcdef }} }}
    expect: {{ "*": 418 }}
"#
        ),
    );
    let out = ws
        .permatrix(&[
            "run",
            "s.yaml",
            "--curl",
            "--json",
            "r.json",
            "--var",
            "SUFFIX=suffix-secret-987",
        ])
        .await;
    assert_eq!(out.code, 1, "{}", out.all());
    let report = std::fs::read_to_string(ws.path("r.json")).expect("report");
    for leaked in [
        "sk_live",
        "suffix-secret-987",
        "key-",
        "literal-password-123456",
        "tok-abcdef",
    ] {
        assert!(
            !out.stdout.contains(leaked),
            "`{leaked}` in: {}",
            out.stdout
        );
        assert!(!report.contains(leaked), "`{leaked}` in the JSON report");
    }
    let command = command_under(&out.stdout, "prefixed");
    assert!(
        command.contains("-H \"Authorization: Bearer ${PREFIXED_TOKEN}\""),
        "{command}"
    );
    assert!(
        command.contains("-H \"X-Api-Key: ${X_API_KEY}\""),
        "{command}"
    );
    assert!(
        command.contains("\"password\":\"****\"") && command.contains("\"token\":\"****\""),
        "{command}"
    );
    assert!(
        command.contains("q=\\${HOME:-\\$(id)}"),
        "the URL's `$` stays text: {command}"
    );
}
