//! Every field of every auth mode takes `${…}` and is sent exactly as written.
//!
//! The test walks the auth-mode table (`AuthMode::fields`): for each mode it
//! has sample configurations that together name every field, and for each
//! string in them it runs the suite twice against a server that records what
//! it receives (token requests, login requests, the cell's request, JWTs
//! decoded): once with the value written in the field, once with the field
//! `${V}` and `V` set in the principal's `vars`. The two records must be the
//! same, and the values a server sees must arrive unchanged (no upper-casing,
//! no trimming). A field added to the table without a sample fails the test.

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use common::Workspace;
use futures::StreamExt;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use permatrix::suite::auth_spec::AuthMode;
use serde_json::{Value, json};

/// The HMAC secret of every sample that signs with one.
const SECRET: &str = "Sample-Hmac-Secret.0123456789";
/// The token the recorder's token endpoint issues.
const ISSUED: &str = "issued-access-token";
/// The token the recorder's login answers with, and its session cookie.
const LOGIN_TOKEN: &str = "login-token";
const LOGIN_COOKIE: &str = "login-cookie";

fn data(name: &str) -> String {
    format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// What the recorder saw, one line per fact.
type Record = Arc<Mutex<Vec<String>>>;

fn note(record: &Record, line: String) {
    record.lock().expect("lock").push(line);
}

/// A JWT described without what changes from one run to the next (iat, exp,
/// the signature's bytes): its header, its claims, its lifetime, and whether
/// the signature verifies with the samples' keys.
fn describe_jwt(token: &str) -> Option<String> {
    use base64::Engine;
    let decode = |part: &str| -> Option<Value> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .ok()?;
        serde_json::from_slice(&bytes).ok()
    };
    let mut parts = token.split('.');
    let (header, claims) = (decode(parts.next()?)?, decode(parts.next()?)?);
    let mut claims = claims.as_object()?.clone();
    let lifetime = match (claims.remove("iat"), claims.remove("exp")) {
        (Some(iat), Some(exp)) => exp.as_i64()? - iat.as_i64()?,
        _ => -1,
    };
    let algorithm: Algorithm = header["alg"].as_str()?.parse().ok()?;
    let key = match algorithm {
        Algorithm::RS256 => {
            DecodingKey::from_rsa_pem(&std::fs::read(data("rsa_public.pem")).ok()?).ok()?
        }
        _ => DecodingKey::from_secret(SECRET.as_bytes()).ok()?,
    };
    let mut validation = Validation::new(algorithm);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let verified = jsonwebtoken::decode::<Value>(token, &key, &validation).is_ok();
    Some(format!(
        "jwt header {header} claims {} lifetime {lifetime} signature {}",
        Value::Object(claims),
        if verified { "valid" } else { "INVALID" }
    ))
}

/// A header or parameter value, with any JWT in it described.
fn describe_value(value: &str) -> String {
    let (prefix, token) = value.rsplit_once(' ').unwrap_or(("", value));
    match describe_jwt(token) {
        Some(jwt) => format!("{prefix} {jwt}"),
        None => value.to_string(),
    }
}

fn describe_headers(record: &Record, what: &str, headers: &HeaderMap) {
    for (name, value) in headers {
        if [
            "host",
            "user-agent",
            "accept",
            "content-length",
            "connection",
        ]
        .contains(&name.as_str())
        {
            continue;
        }
        let text = value.to_str().unwrap_or("(not text)");
        let text = match text.strip_prefix("Basic ") {
            Some(encoded) => {
                use base64::Engine;
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(encoded)
                    .unwrap_or_default();
                format!("Basic {}", String::from_utf8_lossy(&decoded))
            }
            None => describe_value(text),
        };
        note(record, format!("{what} header {name}: {text}"));
    }
}

async fn token(State(record): State<Record>, headers: HeaderMap, body: String) -> Response {
    describe_headers(&record, "token", &headers);
    // RFC 6749 §2.3.1: a client's id and secret are form-encoded before Basic.
    let basic = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok()?.strip_prefix("Basic ").map(str::to_string));
    if let Some(encoded) = basic {
        use base64::Engine;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap_or_default();
        let text = String::from_utf8_lossy(&decoded).into_owned();
        let (id, secret) = text.split_once(':').unwrap_or((&text, ""));
        let unescape = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .map(|(_, v)| v.into_owned())
                .next()
                .unwrap_or_default()
        };
        note(
            &record,
            format!("token client {} / {}", unescape(id), unescape(secret)),
        );
    }
    let mut scope = None;
    for (name, value) in url::form_urlencoded::parse(body.as_bytes()) {
        if name == "scope" {
            scope = Some(value.to_string());
        }
        note(
            &record,
            format!("token form {name}={}", describe_value(&value)),
        );
    }
    axum::Json(json!({
        "access_token": ISSUED, "token_type": "Bearer", "expires_in": 3600, "scope": scope,
    }))
    .into_response()
}

async fn login(
    State(record): State<Record>,
    method: Method,
    headers: HeaderMap,
    body: String,
) -> Response {
    note(&record, format!("login {method}"));
    describe_headers(&record, "login", &headers);
    note(&record, format!("login body {body}"));
    let form = headers.get("content-type").is_some_and(|t| {
        t.as_bytes()
            .starts_with(b"application/x-www-form-urlencoded")
    });
    if form {
        for (name, value) in url::form_urlencoded::parse(body.as_bytes()) {
            note(&record, format!("login form {name}={value}"));
        }
    }
    (
        [(
            "set-cookie",
            format!("Sid={LOGIN_COOKIE}; Path=/; HttpOnly"),
        )],
        axum::Json(json!({ "data": { "token": LOGIN_TOKEN } })),
    )
        .into_response()
}

async fn check(
    State(record): State<Record>,
    method: Method,
    uri: Uri,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    note(&record, format!("cell {method} {}", uri.path()));
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        note(
            &record,
            format!("cell query {name}={}", describe_value(&value)),
        );
    }
    describe_headers(&record, "cell", &headers);
    "ok".into_response()
}

/// Starts a recorder on loopback; returns its base URL and what it saw.
async fn recorder() -> (String, Record) {
    let record = Record::default();
    let app = Router::new()
        .route("/oauth/token", axum::routing::post(token))
        .route("/auth/login", axum::routing::any(login))
        .route("/check", axum::routing::any(check))
        .with_state(record.clone());
    (common::serve(app).await, record)
}

/// One string of a sample configuration: where it is and its value.
struct Leaf {
    path: Vec<String>,
    value: String,
}

fn leaves(value: &Value, path: &mut Vec<String>, out: &mut Vec<Leaf>) {
    match value {
        Value::String(s) => out.push(Leaf {
            path: path.clone(),
            value: s.clone(),
        }),
        Value::Object(map) => {
            for (key, inner) in map {
                path.push(key.clone());
                leaves(inner, path, out);
                path.pop();
            }
        }
        _ => panic!("samples hold only strings and maps"),
    }
}

fn replace(value: &mut Value, path: &[String], with: Value) {
    match path.split_first() {
        None => *value = with,
        Some((key, rest)) => replace(&mut value[key.as_str()], rest, with),
    }
}

/// Sample configurations per mode; values a server must see as written are
/// mixed-case and carry characters that encodings touch.
fn samples() -> Vec<(&'static str, Value)> {
    let key_file = data("rsa_private.pem");
    vec![
        (
            "basic",
            json!({ "username": "Alice.Mixed", "password": "Pw-Secret.Mixed+9" }),
        ),
        ("bearer", json!({ "token": "Bearer-Token.Mixed_9" })),
        (
            "header",
            json!({ "name": "X-Api-Key", "value": "Key.Mixed-9/+=" }),
        ),
        (
            "query",
            json!({ "name": "Api_Key.Mixed", "value": "Key.Mixed-9/+= x&y=é" }),
        ),
        (
            "cookie",
            json!({ "name": "Session_Key.Mixed", "value": "Key.Mixed-9/+=" }),
        ),
        (
            "login",
            json!({
                "request": "POST /auth/login",
                "json": { "user": "Alice.Mixed", "password": "Pw.Mixed-9 x" },
                "token": "/data/token",
                "header": "X-Session",
                "scheme": "Token",
            }),
        ),
        (
            "login",
            json!({
                "request": "POST /auth/login",
                "form": { "username": "Alice.Mixed", "password": "Pw.Mixed-9 x" },
                "cookie": "Sid",
            }),
        ),
        (
            "login",
            json!({
                "request": "PUT /auth/login",
                "body": "user=Alice.Mixed&secret=Pw.Mixed-9",
                "token": "/data/token",
            }),
        ),
        (
            "connect_jwt",
            json!({
                "issuer": "Issuer.Mixed", "secret": SECRET, "subject": "Subject.Mixed",
                "audience": "Aud.Mixed", "ttl": "2m", "in": "query",
            }),
        ),
        (
            "connect_jwt",
            json!({ "issuer": "Issuer.Mixed", "secret": SECRET, "in": "header" }),
        ),
        (
            "jwt_bearer_grant",
            json!({
                "token_url": "/oauth/token", "client_id": "Client.Mixed", "secret": SECRET,
                "subject": "urn:atlassian:connect:useraccountid:Subject.Mixed",
                "tenant": "https://Tenant.Mixed.example",
                "scope": "rabbitmq.read:*/* Mixed.Scope", "audience": "Aud.Mixed",
            }),
        ),
        (
            "client_credentials",
            json!({
                "token_url": "/oauth/token", "client_id": "Client.Mixed",
                "client_secret": "Cc-Secret.Mixed+9", "scope": "api://Mixed/.default read:Items",
                "audience": "https://Api.Mixed.example", "client_auth": "form",
            }),
        ),
        (
            "client_credentials",
            json!({
                "token_url": "/oauth/token", "client_id": "Client Mixed:1",
                "client_secret": "Cc-Secret.Mixed+9", "client_auth": "basic",
            }),
        ),
        (
            "jwt",
            json!({
                "algorithm": "HS384", "secret": SECRET,
                "claims": { "sub": "Sub.Mixed", "scope": "rabbitmq.read:*/*",
                            "realm": { "role": "Role.Mixed" } },
                "ttl": "7m", "kid": "Kid.Mixed", "header": "X-Jwt", "scheme": "Token",
            }),
        ),
        (
            "jwt",
            json!({ "algorithm": "RS256", "private_key_file": key_file,
                    "claims": { "sub": "Sub.Mixed" } }),
        ),
    ]
}

/// The fields (`mode.field`, nested with dots) whose value a server receives
/// as such and must see unchanged; the others (secrets, choices, lifetimes,
/// paths, header names) are covered by comparing the two records.
const VERBATIM: &[&str] = &[
    "basic.username",
    "basic.password",
    "bearer.token",
    "header.value",
    "query.name",
    "query.value",
    "cookie.name",
    "cookie.value",
    "login.json.user",
    "login.json.password",
    "login.form.username",
    "login.form.password",
    "login.body",
    "login.scheme",
    "login.cookie",
    "connect_jwt.issuer",
    "connect_jwt.subject",
    "connect_jwt.audience",
    "jwt_bearer_grant.client_id",
    "jwt_bearer_grant.subject",
    "jwt_bearer_grant.tenant",
    "jwt_bearer_grant.scope",
    "jwt_bearer_grant.audience",
    "client_credentials.client_id",
    "client_credentials.client_secret",
    "client_credentials.scope",
    "client_credentials.audience",
    "jwt.claims.sub",
    "jwt.claims.scope",
    "jwt.claims.realm.role",
    "jwt.kid",
    "jwt.scheme",
];

/// A suite of one principal with `auth` (and `vars`) and one cell, as JSON (which is YAML).
fn suite(base: &str, mode: &str, config: &Value, vars: Option<&Value>) -> String {
    let mut principal = json!({ "auth": { mode: config } });
    if let Some(vars) = vars {
        principal["vars"] = vars.clone();
    }
    json!({
        "suite": "fields",
        "target": { "base_url": base, "retries": 0 },
        "principals": { "p": principal },
        "endpoints": [ { "request": "GET /check?probe=1", "expect": { "*": 200 } } ],
    })
    .to_string()
}

/// Runs `config` as mode `mode`; returns the sorted record, or what went wrong.
async fn run(mode: &str, config: &Value, vars: Option<&Value>) -> Result<Vec<String>, String> {
    let (base, record) = recorder().await;
    let ws = Workspace::new();
    ws.write("s.yaml", &suite(&base, mode, config, vars));
    let out = ws.permatrix(&["run", "s.yaml"]).await;
    if out.code != 0 {
        return Err(out.all());
    }
    let mut lines = record.lock().expect("lock").clone();
    lines.sort();
    Ok(lines)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_auth_field_is_interpolated_and_sent_as_written() {
    let samples = samples();
    for (mode, fields) in AuthMode::ALL.map(|m| (m.name(), m.fields())) {
        let covered: BTreeSet<&str> = samples
            .iter()
            .filter(|(m, _)| *m == mode)
            .flat_map(|(_, config)| config.as_object().into_iter().flatten())
            .map(|(key, _)| key.as_str())
            .collect();
        for field in fields {
            assert!(
                covered.contains(field),
                "auth mode `{mode}` has a field `{field}` that this test has no sample for: add one to samples()"
            );
        }
    }

    let mut runs = Vec::new();
    for (mode, config) in &samples {
        let mut found = Vec::new();
        leaves(config, &mut Vec::new(), &mut found);
        runs.push((mode, config.clone(), None, None));
        for leaf in found {
            // A request line's method is written as is; its path takes `${…}`.
            let (templated, value) = match leaf.path.as_slice() {
                [field] if field == "request" => {
                    let (method, path) = leaf.value.split_once(' ').expect("request line");
                    (format!("{method} ${{V}}"), path.to_string())
                }
                _ => ("${V}".to_string(), leaf.value.clone()),
            };
            let mut variant = config.clone();
            replace(&mut variant, &leaf.path, Value::String(templated));
            runs.push((mode, variant, Some(json!({ "V": value })), Some(leaf)));
        }
    }
    let results: Vec<_> = futures::stream::iter(runs.into_iter().map(
        |(mode, config, vars, leaf)| async move {
            let result = run(mode, &config, vars.as_ref()).await;
            (mode, config, leaf, result)
        },
    ))
    .buffered(8)
    .collect()
    .await;

    let mut literal: Option<Vec<String>> = None;
    let mut checked = 0;
    for (mode, config, leaf, result) in results {
        let record = result.unwrap_or_else(|out| {
            panic!("auth `{mode}` {config} did not pass:\n{out}");
        });
        let Some(leaf) = leaf else {
            assert!(
                !record.iter().any(|l| l.contains("${")),
                "auth `{mode}` {config}: {record:#?}"
            );
            literal = Some(record);
            continue;
        };
        let expected = literal.as_ref().expect("the literal run comes first");
        let field = leaf.path.join(".");
        assert_eq!(
            &record, expected,
            "auth `{mode}`: field `{field}` as `${{V}}` sent something else than written literally"
        );
        if VERBATIM.contains(&format!("{mode}.{field}").as_str()) {
            assert!(
                record.iter().any(|l| l.contains(&leaf.value)),
                "auth `{mode}`: `{field}` = {:?} did not reach the server as written: {record:#?}",
                leaf.value
            );
        }
        checked += 1;
    }
    assert!(checked >= 50, "only {checked} fields were walked");
}

/// A token endpoint with case-sensitive scopes: it refuses a scope with an
/// upper-case letter, and grants only the first of several.
async fn scoped_token(body: String) -> Response {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let scope = form
        .iter()
        .find(|(k, _)| k == "scope")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    if scope.chars().any(|c| c.is_ascii_uppercase()) {
        let refusal = json!({"error": "invalid_scope", "error_description": format!("unknown scope {scope}")});
        return (axum::http::StatusCode::BAD_REQUEST, axum::Json(refusal)).into_response();
    }
    let granted = scope.split(' ').next().unwrap_or_default();
    axum::Json(json!({
        "access_token": ISSUED, "token_type": "Bearer", "expires_in": 3600, "scope": granted,
    }))
    .into_response()
}

/// `explain` shows the token request as sent, field by field (secrets and the
/// assertion masked, the assertion's claims decoded), next to the answer, so
/// an altered, refused or narrowed scope is visible in one look.
#[tokio::test(flavor = "multi_thread")]
async fn explain_shows_the_token_request_next_to_the_answer() {
    let app = Router::new()
        .route("/oauth/scoped", axum::routing::post(scoped_token))
        .route(
            "/auth/login",
            axum::routing::post(|| async { axum::Json(json!({ "session": { "id": "s-1" } })) }),
        )
        .route("/check", axum::routing::get(|| async { "ok" }));
    let base = common::serve(app).await;
    let ws = Workspace::new();
    let text = format!(
        r#"suite: scoped
target: {{ base_url: "{base}", retries: 0 }}
principals:
  service:
    auth:
      client_credentials:
        token_url: /oauth/scoped
        client_id: Client.Mixed
        client_secret: "Cc-Secret.Mixed+9"
        client_auth: form
        scope: "rabbitmq.read:*/* rabbitmq.write:*/*"
  app:
    auth:
      jwt_bearer_grant:
        token_url: /oauth/scoped
        client_id: oauth-client
        secret: "{SECRET}"
        subject: "urn:atlassian:connect:useraccountid:admin-1"
        tenant: "${{BASE_URL}}"
        scope: READ ACT_AS_USER
  web:
    auth:
      login:
        request: POST /auth/login
        json: {{ username: Alice.Mixed, password: "Login-Password.9" }}
        token: /session/token
endpoints:
  - {{ name: check, request: GET /check, expect: {{ "*": 200 }} }}
"#
    );
    ws.write("s.yaml", &text);
    let explain = |principal: &'static str| {
        let ws = &ws;
        async move {
            ws.permatrix(&[
                "explain",
                "s.yaml",
                "--endpoint",
                "check",
                "--principal",
                principal,
            ])
            .await
        }
    };
    let out = explain("service").await;
    assert_eq!(out.code, 0, "{}", out.all());
    for needle in [
        format!("token    POST {base}/oauth/scoped\n"),
        "\n           grant_type: client_credentials\n".into(),
        "\n           client_id: Client.Mixed\n".into(),
        "\n           client_secret: ****\n".into(),
        "\n           scope: rabbitmq.read:*/* rabbitmq.write:*/*\n".into(),
        "\n         answered 200: token_type Bearer, expires_in 3600s, scope rabbitmq.read:*/*\n"
            .into(),
        "\n         the granted scope differs from the requested `rabbitmq.read:*/* rabbitmq.write:*/*`\n"
            .into(),
    ] {
        assert!(out.stdout.contains(&needle), "missing {needle:?} in:\n{}", out.stdout);
    }
    assert!(!out.all().contains("Cc-Secret"), "{}", out.all());

    let out = explain("app").await;
    assert_eq!(out.code, 1, "{}", out.all());
    for needle in [
        "\n           grant_type: urn:ietf:params:oauth:grant-type:jwt-bearer\n",
        "\n           assertion: **** (claims {\"iss\":\"urn:atlassian:connect:clientid:oauth-client\",",
        "\n           scope: READ ACT_AS_USER\n",
        "\n         answered 400: {\"error\":\"invalid_scope\",\"error_description\":\"unknown scope READ ACT_AS_USER\"}\n",
    ] {
        assert!(
            out.stdout.contains(needle),
            "missing {needle:?} in:\n{}",
            out.stdout
        );
    }
    assert!(!out.all().contains(SECRET), "{}", out.all());

    let out = explain("web").await;
    assert_eq!(out.code, 1, "{}", out.all());
    for needle in [
        format!("token    POST {base}/auth/login\n"),
        "\n           body: {\"username\":\"Alice.Mixed\",\"password\":\"****\"} (JSON)\n".into(),
        "\n         answered 200 without the token at `/session/token`\n".into(),
    ] {
        assert!(
            out.stdout.contains(&needle),
            "missing {needle:?} in:\n{}",
            out.stdout
        );
    }
    assert!(!out.all().contains("Login-Password"), "{}", out.all());
}
