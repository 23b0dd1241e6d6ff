//! The mock instance against credentials minted here, independently of
//! permatrix's client code: jsonwebtoken directly, hand-built claims and
//! hand-written canonical strings.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const DEF: &str = r#"mock: test-jira
token_lifetime: 15m
users:
  admin: { email: admin@example.com, api_token: admin-token-123456, account_id: acc-admin, groups: [admins, users] }
  user: { username: plain, email: user@example.com, api_token: user-token-123456, account_id: acc-user, groups: [users] }
  guest: { email: guest@example.com, api_token: guest-token-123456, account_id: acc-guest, groups: [] }
apps:
  reader-app: { shared_secret: reader-secret-abcdef, oauth_client_id: reader-client, scopes: [READ, ACT_AS_USER] }
  plain-app: { shared_secret: plain-secret-abcdef, oauth_client_id: plain-client, scopes: [WRITE] }
permissions:
  ADMINISTER: [admins]
  BROWSE_PROJECTS: [users]
routes:
  - { route: GET /rest/api/2/configuration, scope: READ, anonymous: true }
  - { route: GET /rest/api/2/search, scope: READ, permission: BROWSE_PROJECTS }
  - { route: GET /rest/api/2/permissions, scope: ADMIN, permission: ADMINISTER }
  - { route: GET /rest/api/2/settings/columns, scope: INACCESSIBLE }
  - { route: "GET /rest/api/2/issue/{issueIdOrKey}", scope: READ, permission: BROWSE_PROJECTS, hidden: true }
  - { route: POST /rest/api/2/issue, scope: WRITE, response: { status: 201, json: { key: TEST-2 } } }
"#;

struct Mock {
    base: String,
    client: reqwest::Client,
}

async fn mock(def: &str) -> Mock {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let def = permatrix::suite::mock_def::load_str(std::path::Path::new("test-jira.yaml"), def)
        .expect("valid mock");
    let (addr, _) =
        permatrix::internals::serve_mock(def, ([127, 0, 0, 1], 0).into(), std::future::pending())
            .await
            .expect("mock starts");
    Mock {
        base: format!("http://{addr}"),
        client: reqwest::Client::new(),
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

fn qsh(canonical: &str) -> String {
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

fn hs256(claims: &Value, secret: &str) -> String {
    let key = EncodingKey::from_secret(secret.as_bytes()).expect("key");
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &key).expect("sign")
}

fn connect_claims(canonical: &str) -> Value {
    json!({"iss": "reader-app", "iat": now(), "exp": now() + 180, "qsh": qsh(canonical)})
}

impl Mock {
    async fn send(
        &self,
        method: &str,
        path_and_query: &str,
        authorization: Option<&str>,
    ) -> (u16, HeaderMapLite, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self
            .client
            .request(method, format!("{}{path_and_query}", self.base));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.expect("response");
        let status = response.status().as_u16();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = serde_json::from_slice(&response.bytes().await.unwrap_or_default())
            .unwrap_or(Value::Null);
        (
            status,
            HeaderMapLite {
                www_authenticate: challenge,
            },
            body,
        )
    }

    async fn grant(&self, claims: &Value, secret: &str, scope: Option<&str>) -> (u16, Value) {
        let assertion = hs256(claims, secret);
        let mut form = vec![
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:jwt-bearer".to_string(),
            ),
            ("assertion", assertion),
        ];
        if let Some(scope) = scope {
            form.push(("scope", scope.to_string()));
        }
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&form)
            .finish();
        let response = self
            .client
            .post(format!("{}/oauth2/token", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("response");
        (
            response.status().as_u16(),
            serde_json::from_slice(&response.bytes().await.unwrap_or_default())
                .unwrap_or(Value::Null),
        )
    }
}

struct HeaderMapLite {
    www_authenticate: Option<String>,
}

fn basic(login: &str, token: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{login}:{token}")))
}

#[tokio::test]
async fn connect_jwts_verify_in_header_and_query_and_scopes_decide() {
    let m = mock(DEF).await;
    let canonical = "GET&/rest/api/2/search&jql=project%20%3D%20TEST&maxResults=5";
    let token = hs256(&connect_claims(canonical), "reader-secret-abcdef");
    let path = "/rest/api/2/search?maxResults=5&jql=project+%3D+TEST";
    assert_eq!(
        m.send("GET", path, Some(&format!("JWT {token}"))).await.0,
        200
    );
    let (status, ..) = m.send("GET", &format!("{path}&jwt={token}"), None).await;
    assert_eq!(
        status, 200,
        "the jwt parameter is dropped from the canonical request"
    );

    let token = hs256(
        &connect_claims("GET&/rest/api/2/permissions&"),
        "reader-secret-abcdef",
    );
    let (status, _, body) = m
        .send(
            "GET",
            "/rest/api/2/permissions",
            Some(&format!("JWT {token}")),
        )
        .await;
    assert_eq!(
        (status, &body["errorMessages"][0]),
        (403, &json!("Request not in an authorized API scope"))
    );
    let token = hs256(
        &connect_claims("GET&/rest/api/2/settings/columns&"),
        "reader-secret-abcdef",
    );
    assert_eq!(
        m.send(
            "GET",
            "/rest/api/2/settings/columns/",
            Some(&format!("JWT {token}"))
        )
        .await
        .0,
        403
    );
}

#[tokio::test]
async fn a_definitions_scope_implies_decides_what_an_apps_scopes_cover() {
    let plain_app_reads = |def: String| async move {
        let m = mock(&def).await;
        let claims = json!({"iss": "plain-app", "iat": now(), "exp": now() + 180,
            "qsh": qsh("GET&/rest/api/2/configuration&")});
        let token = hs256(&claims, "plain-secret-abcdef");
        m.send(
            "GET",
            "/rest/api/2/configuration",
            Some(&format!("JWT {token}")),
        )
        .await
        .0
    };
    assert_eq!(
        plain_app_reads(DEF.to_string()).await,
        200,
        "without scope_implies, Connect's chain: WRITE covers READ"
    );
    let declared = DEF.replace(
        "permissions:\n",
        "scope_implies: { ADMIN: [WRITE] }\npermissions:\n",
    );
    assert_eq!(
        plain_app_reads(declared).await,
        403,
        "the definition's own hierarchy, where WRITE implies nothing, replaces the chain"
    );
    let refused = |implies: &str| {
        let def = DEF.replace(
            "permissions:\n",
            &format!("scope_implies: {implies}\npermissions:\n"),
        );
        let problems = permatrix::suite::mock_def::load_str(std::path::Path::new("m.yaml"), &def)
            .expect_err("refused");
        problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    };
    let cycle = refused("{ WRITE: [READ], READ: [WRITE] }");
    assert!(
        cycle.contains("m.yaml:10:33: error: scope_implies has a cycle: READ → WRITE → READ"),
        "{cycle}"
    );
    let misspelt = refused("{ WRITE: [REED] }");
    assert!(
        misspelt.contains("unknown Connect scope `REED`")
            && misspelt.contains("did you mean `READ`?"),
        "{misspelt}"
    );
}

#[tokio::test]
async fn forged_connect_jwts_are_refused_with_401() {
    let m = mock(DEF).await;
    let canonical = "GET&/rest/api/2/configuration&";
    let good = connect_claims(canonical);
    let with = |f: &dyn Fn(&mut Value)| {
        let mut claims = good.clone();
        f(&mut claims);
        claims
    };
    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(good.to_string());
    let hs512 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS512),
        &good,
        &EncodingKey::from_secret(b"reader-secret-abcdef").expect("key"),
    )
    .expect("sign");
    let forged = [
        (
            "tampered qsh",
            hs256(
                &with(&|c| c["qsh"] = json!(qsh("GET&/other&"))),
                "reader-secret-abcdef",
            ),
        ),
        (
            "missing qsh",
            hs256(
                &with(&|c| _ = c.as_object_mut().map(|o| o.remove("qsh"))),
                "reader-secret-abcdef",
            ),
        ),
        (
            "expired",
            hs256(
                &with(&|c| c["exp"] = json!(now() - 120)),
                "reader-secret-abcdef",
            ),
        ),
        (
            "nbf in the future",
            hs256(
                &with(&|c| c["nbf"] = json!(now() + 120)),
                "reader-secret-abcdef",
            ),
        ),
        (
            "no iat",
            hs256(
                &with(&|c| _ = c.as_object_mut().map(|o| o.remove("iat"))),
                "reader-secret-abcdef",
            ),
        ),
        (
            "exp before nbf",
            hs256(
                &with(&|c| {
                    c["nbf"] = json!(now() - 5);
                    c["exp"] = json!(now() - 10);
                }),
                "reader-secret-abcdef",
            ),
        ),
        ("wrong secret", hs256(&good, "not-the-shared-secret")),
        ("alg none", format!("{none_header}.{payload}.")),
        ("HS512", hs512),
        (
            "unknown issuer",
            hs256(
                &with(&|c| c["iss"] = json!("stranger")),
                "reader-secret-abcdef",
            ),
        ),
    ];
    // configuration allows anonymous access, yet bad credentials are refused, not ignored.
    for (what, token) in forged {
        let (status, headers, body) = m
            .send(
                "GET",
                "/rest/api/2/configuration",
                Some(&format!("JWT {token}")),
            )
            .await;
        assert_eq!(status, 401, "{what}: {body}");
        assert!(
            headers
                .www_authenticate
                .is_some_and(|c| c.starts_with("JWT realm=")),
            "{what}"
        );
        assert!(body["errorMessages"][0].is_string(), "{what}: {body}");
    }
    let (status, ..) = m
        .send("GET", "/rest/api/2/configuration", Some("JWT not.a-jwt"))
        .await;
    assert_eq!(status, 400, "a JWT that does not parse");
    let array_claims = format!("{none_header}.{}.c2ln", URL_SAFE_NO_PAD.encode("[1]"));
    for malformed in ["JWT", &format!("JWT {array_claims}")] {
        let (status, ..) = m
            .send("GET", "/rest/api/2/configuration", Some(malformed))
            .await;
        assert_eq!(status, 400, "{malformed}");
    }
    let valid = hs256(&good, "reader-secret-abcdef");
    assert_eq!(
        m.send(
            "GET",
            "/rest/api/2/configuration",
            Some(&format!("JWT {valid}"))
        )
        .await
        .0,
        200
    );
}

#[tokio::test]
async fn basic_users_permissions_and_hidden_objects() {
    let m = mock(DEF).await;
    let admin = basic("admin@example.com", "admin-token-123456");
    let by_username = basic("plain", "user-token-123456");
    let guest = basic("guest@example.com", "guest-token-123456");
    assert_eq!(
        m.send("GET", "/rest/api/2/permissions", Some(&admin))
            .await
            .0,
        200
    );
    assert_eq!(
        m.send("GET", "/rest/api/2/permissions", Some(&by_username))
            .await
            .0,
        403
    );
    assert_eq!(
        m.send("GET", "/rest/api/2/issue/TEST-1", Some(&by_username))
            .await
            .0,
        200
    );
    assert_eq!(
        m.send("GET", "/rest/api/2/issue/TEST-1", Some(&guest))
            .await
            .0,
        404,
        "hidden, not forbidden"
    );
    assert_eq!(
        m.send("GET", "/rest/api/2/search", Some(&guest)).await.0,
        403
    );
    let (status, headers, body) = m
        .send(
            "GET",
            "/rest/api/2/search",
            Some(&basic("admin@example.com", "wrong")),
        )
        .await;
    assert_eq!(status, 401);
    assert!(headers.www_authenticate.is_some());
    assert_eq!(body["errors"], json!({}));
    let (status, headers, body) = m.send("GET", "/rest/api/2/search", None).await;
    assert_eq!(status, 401);
    assert!(
        headers
            .www_authenticate
            .is_some_and(|c| c.starts_with("Basic realm=\"test-jira\""))
    );
    assert_eq!(
        body["errorMessages"][0],
        "You are not authenticated. Authentication required to perform this operation."
    );
    assert_eq!(
        m.send("GET", "/rest/api/2/configuration", None).await.0,
        200
    );
    let (status, _, body) = m.send("POST", "/rest/api/2/issue", Some(&admin)).await;
    assert_eq!((status, &body["key"]), (201, &json!("TEST-2")));
    for caller in [None, Some(admin.as_str())] {
        assert_eq!(
            m.send("GET", "/rest/api/2/nothing-here", caller).await.0,
            404
        );
        assert_eq!(m.send("DELETE", "/rest/api/2/search", caller).await.0, 404);
    }
}

#[tokio::test]
async fn the_jwt_bearer_grant_issues_tokens_limited_by_the_apps_scopes() {
    let m = mock(DEF).await;
    let assertion = |iss: &str, sub: &str| {
        json!({"iss": format!("urn:atlassian:connect:clientid:{iss}"), "sub": format!("urn:atlassian:connect:useraccountid:{sub}"),
               "tnt": m.base, "aud": m.base, "iat": now(), "exp": now() + 60})
    };
    let (status, body) = m
        .grant(
            &assertion("reader-client", "acc-admin"),
            "reader-secret-abcdef",
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["token_type"].as_str(), body["expires_in"].as_u64()),
        (Some("Bearer"), Some(900))
    );
    assert_eq!(body["scope"], "READ ACT_AS_USER");
    let bearer = format!("Bearer {}", body["access_token"].as_str().expect("token"));
    assert_eq!(
        m.send("GET", "/rest/api/2/search", Some(&bearer)).await.0,
        200,
        "READ as the admin"
    );
    let (status, headers, body) = m
        .send("GET", "/rest/api/2/permissions", Some(&bearer))
        .await;
    assert_eq!(
        (status, body),
        (
            401,
            json!({"code": 401, "message": "Unauthorized; scope does not match"})
        )
    );
    assert!(
        headers
            .www_authenticate
            .is_some_and(|c| c.contains("insufficient_scope"))
    );
    assert_eq!(
        m.send("GET", "/rest/api/2/settings/columns", Some(&bearer))
            .await
            .0,
        401
    );

    let (_, body) = m
        .grant(
            &assertion("reader-client", "acc-guest"),
            "reader-secret-abcdef",
            Some("read"),
        )
        .await;
    let as_guest = format!("Bearer {}", body["access_token"].as_str().expect("token"));
    assert_eq!(
        m.send("GET", "/rest/api/2/issue/TEST-1", Some(&as_guest))
            .await
            .0,
        404,
        "the user's permissions apply"
    );

    let refusals = [
        (
            assertion("reader-client", "acc-admin"),
            "wrong-secret-000000",
            "invalid_grant",
        ),
        (
            assertion("reader-client", "nobody"),
            "reader-secret-abcdef",
            "invalid_grant",
        ),
        (
            assertion("unknown-client", "acc-admin"),
            "reader-secret-abcdef",
            "invalid_grant",
        ),
        (
            assertion("plain-client", "acc-admin"),
            "plain-secret-abcdef",
            "unauthorized_client",
        ),
    ];
    for (claims, secret, error) in refusals {
        let (status, body) = m.grant(&claims, secret, None).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some(error)),
            "{claims}"
        );
    }
    let (status, body) = m
        .grant(
            &assertion("reader-client", "acc-admin"),
            "reader-secret-abcdef",
            Some("ADMIN"),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    let (status, ..) = m
        .send(
            "GET",
            "/rest/api/2/search",
            Some("Bearer never-issued-token-0000"),
        )
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn issued_tokens_expire() {
    let m = mock(&DEF.replace("token_lifetime: 15m", "token_lifetime: 1ms")).await;
    let claims = json!({"iss": "urn:atlassian:connect:clientid:reader-client", "sub": "urn:atlassian:connect:useraccountid:acc-admin",
                        "tnt": m.base, "aud": m.base, "iat": now(), "exp": now() + 60});
    let (status, body) = m.grant(&claims, "reader-secret-abcdef", None).await;
    assert_eq!(status, 200);
    let bearer = format!("Bearer {}", body["access_token"].as_str().expect("token"));
    // Well past the 1 ms lifetime (a loopback round trip can be shorter).
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let (status, _, body) = m.send("GET", "/rest/api/2/search", Some(&bearer)).await;
    assert_eq!(
        (status, &body["errorMessages"][0]),
        (401, &json!("the access token has expired"))
    );
}

#[tokio::test]
async fn mock_definitions_report_every_problem_with_its_location() {
    let ws = common::Workspace::new();
    ws.write(
        "bad-mock.yaml",
        "mock: bad\nusers:\n  u: { email: a@b.c, api_tokn: x, account_id: 1 }\napps:\n  a: { shared_secret: s, scopes: [READ, WRTE] }\nroutes:\n  - { route: GET /x, scope: ADMN }\n  - { route: FETCH, permission: NOPE }\n",
    );
    ws.write(
        "s.yaml",
        "suite: s\ntarget: { mock: bad-mock.yaml }\nprincipals: { a: { auth: none } }\nendpoints:\n  - { request: GET /x, expect: { a: 401 } }\n",
    );
    let out = ws.permatrix(&["check", "s.yaml"]).await;
    assert_eq!(out.code, 2, "{}", out.all());
    for needle in [
        "bad-mock.yaml:3:22: error: unknown key `api_tokn` in user `u`",
        "did you mean `api_token`?",
        "bad-mock.yaml:5:41: error: unknown Connect scope `WRTE`",
        "did you mean `WRITE`?",
        "bad-mock.yaml:7:29: error: unknown Connect scope `ADMN`",
        "bad-mock.yaml:8:14: error: malformed request line `FETCH`",
    ] {
        assert!(
            out.stderr.contains(needle),
            "missing {needle} in:\n{}",
            out.stderr
        );
    }
}

#[tokio::test]
async fn permatrix_mock_serves_until_interrupted() {
    use std::io::{BufRead, BufReader};
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ws = common::Workspace::new();
    let file = ws.write("m.yaml", DEF);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_permatrix"))
        .args(["mock", file.to_str().expect("path"), "--port", "0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let first = tokio::task::spawn_blocking(move || {
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        (first, lines)
    });
    let (first, mut lines) = first.await.expect("join");
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no URL in {first:?}"))
        .to_string();
    let status = reqwest::get(format!("{url}rest/api/2/configuration"))
        .await
        .expect("get")
        .status();
    assert_eq!(status.as_u16(), 200);
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let exit = tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("join")
        .expect("wait");
    assert_eq!(exit.code(), Some(0));
    assert!(
        lines
            .next()
            .and_then(Result::ok)
            .is_some_and(|l| l.contains("stopped"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_clients_get_limits_and_the_mock_keeps_serving() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let m = mock(DEF).await;
    let huge_header = "x".repeat(200 * 1024);
    let response = m
        .client
        .get(format!("{}/rest/api/2/configuration", m.base))
        .header("x-huge", huge_header)
        .send()
        .await;
    assert!(
        response
            .as_ref()
            .map_or(true, |r| r.status().as_u16() == 431),
        "{response:?}"
    );
    // The mock answers 413 as soon as the limit is passed and closes; the client may
    // still be writing the rest of the body and see the connection closed instead.
    let response = m
        .client
        .post(format!("{}/oauth2/token", m.base))
        .body(vec![b'a'; 8 * 1024 * 1024])
        .send()
        .await;
    match response {
        Ok(response) => assert_eq!(response.status().as_u16(), 413),
        Err(e) => assert!(
            e.is_request() && format!("{e:?}").contains("BodyWrite"),
            "{e:?}"
        ),
    }

    // A client that never finishes its headers is cut off.
    let address = m.base.trim_start_matches("http://").to_string();
    let mut slow = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    slow.write_all(b"GET /rest/api/2/configuration HTTP/1.1\r\nhost: x\r\n")
        .await
        .expect("write");
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        slow.read_to_end(&mut rest),
    )
    .await;
    assert!(closed.is_ok(), "the slow client was not cut off");

    // A body that trickles (10 of 100 bytes, then nothing) is cut off too, with a 408.
    let mut trickle = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    trickle
        .write_all(
            b"POST /oauth2/token HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\ngrant_type",
        )
        .await
        .expect("write");
    let mut answer = vec![0u8; 256];
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        trickle.read(&mut answer),
    )
    .await;
    let answered = read
        .ok()
        .and_then(Result::ok)
        .map(|n| String::from_utf8_lossy(&answer[..n]).into_owned())
        .unwrap_or_default();
    assert!(answered.starts_with("HTTP/1.1 408"), "{answered:?}");

    let mut tasks = Vec::new();
    for _ in 0..200 {
        let (client, url) = (
            m.client.clone(),
            format!("{}/rest/api/2/configuration", m.base),
        );
        tasks.push(tokio::spawn(async move {
            client.get(url).send().await.map(|r| r.status().as_u16())
        }));
    }
    for task in tasks {
        assert_eq!(task.await.expect("join").expect("response"), 200);
    }
}

/// The mock refuses what Atlassian's authorization server refuses: an
/// assertion for another audience or tenant, or none; one issued in the
/// future; one valid for longer than 60 seconds. Each gets 400 invalid_grant
/// with its reason, and a good one still gets a token.
#[tokio::test(flavor = "multi_thread")]
async fn the_grant_refuses_assertions_for_elsewhere_from_the_future_or_long_lived() {
    let m = mock(DEF).await;
    let good = || {
        json!({"iss": "urn:atlassian:connect:clientid:reader-client",
               "sub": "urn:atlassian:connect:useraccountid:acc-admin",
               "tnt": m.base, "aud": m.base, "iat": now(), "exp": now() + 60})
    };
    let with = |name: &str, value: Value| {
        let mut claims = good();
        match value {
            Value::Null => {
                claims.as_object_mut().map(|o| o.remove(name));
            }
            value => claims[name] = value,
        }
        claims
    };
    let cases = [
        (
            "another aud",
            with("aud", json!("https://elsewhere.example")),
            "aud",
        ),
        ("no aud", with("aud", Value::Null), "aud"),
        (
            "another tnt",
            with("tnt", json!("https://other.atlassian.net")),
            "tnt",
        ),
        ("no tnt", with("tnt", Value::Null), "tnt"),
        (
            "iat in an hour",
            with("iat", json!(now() + 3600)),
            "is in the future",
        ),
        (
            "iat in ten years",
            with("iat", json!(now() + 10 * 365 * 86_400)),
            "is in the future",
        ),
        (
            "a year's lifetime",
            with("exp", json!(now() + 365 * 86_400)),
            "lifetime",
        ),
        ("ten minutes", with("exp", json!(now() + 600)), "lifetime"),
    ];
    for (what, claims, reason) in cases {
        let (status, body) = m.grant(&claims, "reader-secret-abcdef", None).await;
        assert_eq!(status, 400, "{what}: {body}");
        assert_eq!(body["error"], "invalid_grant", "{what}: {body}");
        assert!(
            body["error_description"]
                .as_str()
                .is_some_and(|d| d.contains(reason)),
            "{what}: {body}"
        );
    }
    let atlassian_audience = with(
        "aud",
        json!("https://oauth-2-authorization-server.services.atlassian.com"),
    );
    for (what, claims) in [
        ("good", good()),
        ("Atlassian's audience", atlassian_audience),
    ] {
        let (status, body) = m.grant(&claims, "reader-secret-abcdef", None).await;
        assert_eq!(status, 200, "{what}: {body}");
    }
}

/// Connect JWTs the verifier must refuse too: issued in the future (an hour to
/// ten years), a lifetime without a bound, and more than one credential in one
/// request (a valid header beside a forged `?jwt=`, two `jwt` parameters, Basic
/// beside a `?jwt=`): each is a 401, never "the first one wins".
#[tokio::test(flavor = "multi_thread")]
async fn future_unbounded_and_doubled_connect_credentials_are_refused() {
    let m = mock(DEF).await;
    let path = "/rest/api/2/configuration";
    let canonical = "GET&/rest/api/2/configuration&";
    let sign = |claims: &Value| hs256(claims, "reader-secret-abcdef");
    let good = sign(&connect_claims(canonical));
    let mut timed = Vec::new();
    for (what, iat, exp) in [
        ("issued in an hour", now() + 3600, now() + 3780),
        (
            "issued in ten years",
            now() + 10 * 365 * 86_400,
            now() + 10 * 365 * 86_400 + 180,
        ),
        ("valid for ten years", now(), now() + 10 * 365 * 86_400),
    ] {
        let mut claims = connect_claims(canonical);
        claims["iat"] = json!(iat);
        claims["exp"] = json!(exp);
        timed.push((what, sign(&claims)));
    }
    for (what, token) in &timed {
        let (status, _, body) = m.send("GET", path, Some(&format!("JWT {token}"))).await;
        assert_eq!(status, 401, "{what}: {body}");
    }
    let forged = "eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJ4In0.Zm9yZ2Vk";
    let second = sign(&connect_claims(canonical));
    for (what, query, authorization) in [
        (
            "a valid header and a forged ?jwt=",
            format!("?jwt={forged}"),
            Some(format!("JWT {good}")),
        ),
        (
            "two valid jwt parameters",
            format!("?jwt={good}&jwt={second}"),
            None,
        ),
        (
            "Basic and a forged ?jwt=",
            format!("?jwt={forged}"),
            Some(basic("admin@example.com", "admin-token-123456")),
        ),
    ] {
        let (status, _, body) = m
            .send("GET", &format!("{path}{query}"), authorization.as_deref())
            .await;
        assert_eq!(status, 401, "{what}: {body}");
    }
    // One credential, well formed, still works.
    let (status, _, body) = m.send("GET", path, Some(&format!("JWT {good}"))).await;
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = m.send("GET", &format!("{path}?jwt={good}"), None).await;
    assert_eq!(status, 200, "{body}");
}

/// `permatrix mock` out of file descriptors does not spin: a failed accept
/// waits before the next, so the process sleeps while clients hold every
/// descriptor (before, it spent most of a core accepting nothing).
#[test]
fn a_mock_out_of_file_descriptors_does_not_spin() {
    use std::io::BufRead;
    let root = env!("CARGO_MANIFEST_DIR");
    let mut child = std::process::Command::new("sh")
        .args([
            "-c",
            &format!(
                "ulimit -n 32 && exec {} mock {root}/suites/mocks/jira-cloud.yaml",
                env!("CARGO_BIN_EXE_permatrix")
            ),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let first = std::io::BufReader::new(stdout)
        .lines()
        .next()
        .and_then(Result::ok)
        .unwrap_or_default();
    let address = first
        .split_whitespace()
        .find_map(|w| w.strip_prefix("http://"))
        .map(|a| a.trim_end_matches('/').to_string())
        .unwrap_or_else(|| panic!("no address in {first:?}"));
    // More connections than the mock has descriptors: accepts start failing.
    let held: Vec<_> = (0..64)
        .filter_map(|_| std::net::TcpStream::connect(&address).ok())
        .collect();
    let cpu = |pid: u32| -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let after_name = stat.rsplit(')').next().unwrap_or_default();
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        // utime and stime, fields 14 and 15 of the whole line (11 and 12 here).
        (ticks(11) + ticks(12)) / 100.0
    };
    std::thread::sleep(std::time::Duration::from_millis(500));
    let before = cpu(child.id());
    std::thread::sleep(std::time::Duration::from_secs(2));
    let spent = cpu(child.id()) - before;
    drop(held);
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        spent < 0.5,
        "the mock spent {spent:.2} s of CPU in 2 s while its accepts failed"
    );
}

/// A mock keeping issues: TEST-1 public, TEST-2 at level Restricted (site-admins only).
const ISSUES_DEF: &str = r#"mock: issue-jira
users:
  admin: { email: admin@example.com, api_token: admin-token-123456, account_id: acc-admin, groups: [site-admins, jira-users] }
  user: { email: user@example.com, api_token: user-token-123456, account_id: acc-user, groups: [jira-users] }
  other: { email: other@example.com, api_token: other-token-123456, account_id: acc-other, groups: [jira-users] }
apps:
  reader-app: { shared_secret: reader-secret-abcdef, oauth_client_id: reader-client, scopes: [DELETE, ACT_AS_USER] }
permissions:
  BROWSE_PROJECTS: [jira-users, anyone]
  CREATE_ISSUES: [jira-users]
  DELETE_ISSUES: [site-admins]
issues:
  project: TEST
  security_levels: { Restricted: [site-admins] }
  seed:
    - { key: TEST-1, summary: "A public issue", reporter: user }
    - { key: TEST-2, summary: "Salary review", reporter: admin, security: Restricted }
routes:
  - { route: POST /rest/api/2/issue, scope: WRITE, permission: CREATE_ISSUES, issue: create }
  - { route: "GET /rest/api/2/issue/{issueIdOrKey}", scope: READ, anonymous: true, permission: BROWSE_PROJECTS, hidden: true, issue: read }
  - { route: "DELETE /rest/api/2/issue/{issueIdOrKey}", scope: DELETE, permission: DELETE_ISSUES, issue: delete }
  - { route: "GET /rest/api/3/issue/{issueIdOrKey}", scope: READ, permission: BROWSE_PROJECTS, issue: read, ignore_security: true }
"#;

/// Jira's 404 for an issue that is missing or that the caller may not see.
const NOT_VISIBLE: &str = "Issue does not exist or you do not have permission to see it.";

impl Mock {
    async fn send_json(
        &self,
        method: &str,
        path: &str,
        authorization: Option<&str>,
        body: &str,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.expect("response");
        let status = response.status().as_u16();
        let body = serde_json::from_slice(&response.bytes().await.unwrap_or_default())
            .unwrap_or(Value::Null);
        (status, body)
    }

    async fn read(&self, id_or_key: &str, authorization: Option<&str>) -> (u16, Value) {
        let (status, _, body) = self
            .send(
                "GET",
                &format!("/rest/api/2/issue/{id_or_key}"),
                authorization,
            )
            .await;
        (status, body)
    }

    /// An access token for `reader-app` acting as the user with `account`.
    async fn impersonating(&self, account: &str) -> String {
        let claims = json!({"iss": "urn:atlassian:connect:clientid:reader-client",
            "sub": format!("urn:atlassian:connect:useraccountid:{account}"),
            "tnt": self.base, "aud": self.base, "iat": now(), "exp": now() + 60});
        let (status, body) = self.grant(&claims, "reader-secret-abcdef", None).await;
        assert_eq!(status, 200, "{body}");
        format!("Bearer {}", body["access_token"].as_str().expect("token"))
    }
}

fn app_jwt(method: &str, path: &str) -> String {
    let claims = connect_claims(&format!("{method}&{path}&"));
    format!("JWT {}", hs256(&claims, "reader-secret-abcdef"))
}

#[tokio::test]
async fn issues_are_created_read_by_id_and_key_and_deleted_by_their_reporter() {
    let m = mock(ISSUES_DEF).await;
    let admin = basic("admin@example.com", "admin-token-123456");
    let user = basic("user@example.com", "user-token-123456");
    let other = basic("other@example.com", "other-token-123456");
    let (status, created) = m
        .send_json(
            "POST",
            "/rest/api/2/issue",
            Some(&user),
            r#"{"fields": {"project": {"key": "TEST"}, "summary": "Broken login"}}"#,
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        created,
        json!({"id": "10002", "key": "TEST-3", "self": format!("{}/rest/api/2/issue/10002", m.base)})
    );
    let (status, by_key) = m.read("TEST-3", Some(&user)).await;
    assert_eq!(status, 200, "{by_key}");
    assert_eq!(
        by_key,
        json!({"id": "10002", "key": "TEST-3", "self": format!("{}/rest/api/2/issue/10002", m.base),
               "fields": {"summary": "Broken login",
                          "reporter": {"accountId": "acc-user", "accountType": "atlassian"}}})
    );
    assert_eq!(m.read("10002", Some(&user)).await, (200, by_key.clone()));
    assert_eq!(
        m.read("test-3", Some(&other)).await,
        (200, by_key),
        "no level: any jira-user"
    );

    let (status, _, body) = m
        .send("DELETE", "/rest/api/2/issue/TEST-3", Some(&other))
        .await;
    assert_eq!(
        (status, &body["errorMessages"][0]),
        (
            403,
            &json!("You do not have permission to delete issues in this project.")
        ),
        "neither its reporter nor holding DELETE_ISSUES"
    );
    let (status, _, body) = m
        .send("DELETE", "/rest/api/2/issue/TEST-3", Some(&user))
        .await;
    assert_eq!((status, body), (204, Value::Null), "its reporter");
    let (status, body) = m.read("TEST-3", Some(&user)).await;
    assert_eq!(
        (status, &body["errorMessages"][0]),
        (404, &json!(NOT_VISIBLE))
    );
    assert_eq!(m.read("10002", Some(&admin)).await.0, 404);
    let (status, ..) = m
        .send("DELETE", "/rest/api/2/issue/TEST-3", Some(&user))
        .await;
    assert_eq!(status, 404, "deleted once");
    let (status, ..) = m
        .send("DELETE", "/rest/api/2/issue/10000", Some(&admin))
        .await;
    assert_eq!(status, 204, "DELETE_ISSUES deletes what others reported");
    assert_eq!(m.read("TEST-1", Some(&user)).await.0, 404);

    let (status, next) = m
        .send_json(
            "POST",
            "/rest/api/2/issue",
            Some(&admin),
            r#"{"fields": {"summary": "Audit", "security": {"id": "10000"}}}"#,
        )
        .await;
    assert_eq!(
        (status, &next["key"], &next["id"]),
        (201, &json!("TEST-4"), &json!("10003")),
        "keys and ids are never reused"
    );
    let (_, read) = m.read("TEST-4", Some(&admin)).await;
    assert_eq!(
        read["fields"]["security"],
        json!({"id": "10000", "name": "Restricted"})
    );
}

#[tokio::test]
async fn creating_an_issue_refuses_what_jira_refuses() {
    let m = mock(ISSUES_DEF).await;
    let user = basic("user@example.com", "user-token-123456");
    let create = |body: &'static str, authorization: Option<String>| {
        let m = &m;
        async move {
            m.send_json("POST", "/rest/api/2/issue", authorization.as_deref(), body)
                .await
        }
    };
    let summary = json!({"errorMessages": [], "errors": {"summary": "You must specify a summary of the issue."}});
    for body in [
        r#"{"fields": {}}"#,
        r#"{"fields": {"summary": "  "}}"#,
        "{}",
    ] {
        assert_eq!(
            create(body, Some(user.clone())).await,
            (400, summary.clone()),
            "{body}"
        );
    }
    let invalid = json!({"errorMessages": [], "errors": {"security": "Specify a valid value for Security Level"}});
    for body in [
        r#"{"fields": {"summary": "s", "security": {"name": "Secret"}}}"#,
        r#"{"fields": {"summary": "s", "security": {"id": "10001"}}}"#,
    ] {
        assert_eq!(
            create(body, Some(user.clone())).await,
            (400, invalid.clone()),
            "{body}"
        );
    }
    let (status, body) = create(
        r#"{"fields": {"summary": "s", "security": "Restricted"}}"#,
        Some(user.clone()),
    )
    .await;
    assert_eq!(
        (status, &body["errors"]["security"]),
        (400, &json!("Specify a valid security level (id or name)"))
    );
    let (status, body) = create("not json", Some(user.clone())).await;
    assert_eq!((status, body["errorMessages"][0].is_string()), (400, true));
    let (status, _) = create(r#"{"fields": {"summary": "s"}}"#, None).await;
    assert_eq!(status, 401, "the route's checks come first");
    assert_eq!(
        m.read("TEST-3", Some(&user)).await.0,
        404,
        "nothing refused was created"
    );
}

#[tokio::test]
async fn a_restricted_issue_is_hidden_from_whoever_is_outside_its_level() {
    let m = mock(ISSUES_DEF).await;
    let admin = basic("admin@example.com", "admin-token-123456");
    let user = basic("user@example.com", "user-token-123456");
    let other = basic("other@example.com", "other-token-123456");
    let (status, body) = m.read("TEST-2", Some(&admin)).await;
    assert_eq!(
        (status, &body["fields"]["summary"]),
        (200, &json!("Salary review"))
    );
    assert_eq!(body["fields"]["security"]["name"], "Restricted");
    assert_eq!(body["fields"]["reporter"]["accountId"], "acc-admin");
    for (who, caller) in [
        ("a user outside the level", Some(&user)),
        ("anonymous", None),
    ] {
        let (status, body) = m.read("TEST-2", caller.map(String::as_str)).await;
        assert_eq!(
            (status, body),
            (404, json!({"errorMessages": [NOT_VISIBLE], "errors": {}})),
            "{who}"
        );
        assert_eq!(
            m.read("10001", caller.map(String::as_str)).await.0,
            404,
            "{who}, by id"
        );
        assert_eq!(
            m.read("TEST-1", caller.map(String::as_str)).await.0,
            200,
            "{who}"
        );
    }
    let (status, ..) = m
        .send("DELETE", "/rest/api/2/issue/TEST-2", Some(&user))
        .await;
    assert_eq!(status, 404, "a delete does not disclose it either");

    // Its reporter sees an issue at a level it is outside of; others outside do not.
    let (status, created) = m
        .send_json(
            "POST",
            "/rest/api/2/issue",
            Some(&user),
            r#"{"fields": {"summary": "My review", "security": {"name": "Restricted"}}}"#,
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let key = created["key"].as_str().expect("key");
    assert_eq!(m.read(key, Some(&user)).await.0, 200);
    assert_eq!(m.read(key, Some(&other)).await.0, 404);
    assert_eq!(m.read(key, Some(&admin)).await.0, 200);

    // An app impersonating the regular user sees what the user sees.
    let as_user = m.impersonating("acc-user").await;
    assert_eq!(m.read("TEST-2", Some(&as_user)).await.0, 404);
    assert_eq!(m.read("TEST-1", Some(&as_user)).await.0, 200);
    assert_eq!(m.read(key, Some(&as_user)).await.0, 200, "the user's own");
    let as_admin = m.impersonating("acc-admin").await;
    assert_eq!(m.read("TEST-2", Some(&as_admin)).await.0, 200);

    // `ignore_security: true` leaks it to whoever may call the route.
    let (status, _, body) = m.send("GET", "/rest/api/3/issue/TEST-2", Some(&user)).await;
    assert_eq!(
        (status, &body["fields"]["summary"]),
        (200, &json!("Salary review"))
    );
}

#[tokio::test]
async fn a_connect_app_calling_as_itself_is_its_own_reporter_in_no_group() {
    let m = mock(ISSUES_DEF).await;
    let user = basic("user@example.com", "user-token-123456");
    let read = |key: &str| {
        let path = format!("/rest/api/2/issue/{key}");
        let jwt = app_jwt("GET", &path);
        let m = &m;
        async move { m.send("GET", &path, Some(&jwt)).await }
    };
    assert_eq!(read("TEST-1").await.0, 200);
    assert_eq!(
        read("TEST-2").await.0,
        404,
        "in no group: not in Restricted's"
    );
    let (status, created) = m
        .send_json(
            "POST",
            "/rest/api/2/issue",
            Some(&app_jwt("POST", "/rest/api/2/issue")),
            r#"{"fields": {"summary": "From the app", "security": {"name": "Restricted"}}}"#,
        )
        .await;
    assert_eq!(
        (status, &created["key"]),
        (201, &json!("TEST-3")),
        "{created}"
    );
    let (status, _, body) = read("TEST-3").await;
    assert_eq!(status, 200, "its reporter: {body}");
    assert_eq!(
        body["fields"]["reporter"],
        json!({"accountId": "addon_reader-app", "accountType": "app"})
    );
    assert_eq!(m.read("TEST-3", Some(&user)).await.0, 404);
    // Its scopes grant DELETE: its own user holds DELETE_ISSUES, for what it can see.
    let path = "/rest/api/2/issue/TEST-1";
    let (status, ..) = m.send("DELETE", path, Some(&app_jwt("DELETE", path))).await;
    assert_eq!(status, 204);
}

#[tokio::test]
async fn each_running_mock_has_its_own_issues() {
    let (first, second) = (mock(ISSUES_DEF).await, mock(ISSUES_DEF).await);
    let admin = basic("admin@example.com", "admin-token-123456");
    let (status, ..) = first
        .send("DELETE", "/rest/api/2/issue/TEST-1", Some(&admin))
        .await;
    assert_eq!(status, 204);
    assert_eq!(first.read("TEST-1", Some(&admin)).await.0, 404);
    assert_eq!(second.read("TEST-1", Some(&admin)).await.0, 200);
}

#[test]
fn invalid_issue_definitions_give_located_errors() {
    let problems = |def: &str| {
        permatrix::suite::mock_def::load_str(std::path::Path::new("i.yaml"), def)
            .expect_err("refused")
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    };
    let bad = ISSUES_DEF
        .replace("reporter: user }", "reporter: usr }")
        .replace("security: Restricted }", "security: Restrictd }")
        .replace("Restricted: [site-admins]", "Restricted: [site-admin]")
        .replace(
            "  seed:\n",
            "  seed:\n    - { key: TEST-7, summary: Once, reporter: admin }\n    - { key: OTHER-9, summary: Elsewhere, reporter: admin }\n    - { key: TEST-7, summary: Twice, reporter: admin }\n",
        )
        .replace("issue: delete", "issue: remove")
        .replace(
            "issue: read, ignore_security: true",
            "issue: read, response: { status: 200 }",
        )
        .replace("permission: CREATE_ISSUES, issue: create", "issue: create, ignore_security: true");
    let found = problems(&bad);
    for needle in [
        "i.yaml:14:35: error: security level `Restricted`: no user is in group `site-admin`",
        "did you mean `site-admins`?",
        "i.yaml:17:14: error: issue key `OTHER-9` is not one of project `TEST`",
        "i.yaml:18:14: error: duplicate issue key `TEST-7` (first at line 16)",
        "i.yaml:19:59: error: unknown user `usr`",
        "did you mean `user`?",
        "i.yaml:20:75: error: unknown security level `Restrictd`",
        "did you mean `Restricted`?",
        "i.yaml:22:67: error: `ignore_security` is for `issue: read` and `issue: search` routes only",
        "i.yaml:24:106: error: unknown issue action `remove`",
        "i.yaml:25:109: error: a route with `issue:` answers from the issue store; drop `response:`",
    ] {
        assert!(found.contains(needle), "missing {needle} in:\n{found}");
    }
    let without = ISSUES_DEF
        .split_once("issues:\n")
        .map(|(head, rest)| format!("{head}{}", &rest[rest.find("routes:").expect("routes")..]))
        .expect("issues");
    let found = problems(&without);
    assert!(
        found.contains("error: route `POST /rest/api/2/issue` uses the issue store, but the mock has no `issues:`"),
        "{found}"
    );
    let found = problems(
        &ISSUES_DEF
            .replace("project: TEST", "project: test")
            .replace(
                "\"GET /rest/api/2/issue/{issueIdOrKey}\"",
                "GET /rest/api/2/issue",
            ),
    );
    for needle in [
        "i.yaml:13:12: error: project key `test` is not a Jira project key",
        "error: a route that reads, edits or deletes an issue needs the issue's id or key as its last path segment",
    ] {
        assert!(found.contains(needle), "missing {needle} in:\n{found}");
    }
}

/// The shipped Jira profile keeps TEST-1 public and TEST-2 for site-admins, and
/// serves create, read, search, edit and delete from its issue store.
#[tokio::test]
async fn the_shipped_profile_keeps_a_public_and_a_restricted_issue() {
    let file = format!(
        "{}/suites/mocks/jira-cloud.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(file).expect("the shipped profile");
    // The README's leak: a copy of the profile with a read route that ignores levels.
    let leak = "  - route: GET /rest/api/3/issue/{issueIdOrKey}\n    scope: READ\n    permission: BROWSE_PROJECTS\n    issue: read\n    ignore_security: true\n";
    let m = mock(&format!("{text}{leak}")).await;
    let admin = basic("admin@example.com", "mock-admin-api-token-1f2e");
    let user = basic("user@example.com", "mock-user-api-token-3d4c");
    for caller in [None, Some(admin.as_str()), Some(user.as_str())] {
        let (status, body) = m.read("TEST-1", caller).await;
        assert_eq!(
            (status, &body["fields"]["summary"]),
            (200, &json!("A public issue"))
        );
    }
    assert_eq!(m.read("TEST-2", Some(&admin)).await.0, 200);
    assert_eq!(m.read("TEST-2", Some(&user)).await.0, 404);
    let (status, _, leaked) = m.send("GET", "/rest/api/3/issue/TEST-2", Some(&user)).await;
    assert_eq!(
        (status, &leaked["fields"]["summary"]),
        (200, &json!("Salary review"))
    );
    // Its searches list what each caller browses; its edit route is the store's.
    let listed = |body: &Value| body["issues"].as_array().map_or(0, Vec::len);
    for (caller, count) in [
        (None, 1),
        (Some(admin.as_str()), 2),
        (Some(user.as_str()), 1),
    ] {
        for search in ["/rest/api/2/search", "/rest/api/3/search?maxResults=10"] {
            let (status, _, body) = m.send("GET", search, caller).await;
            assert_eq!(
                (status, listed(&body), &body["total"]),
                (200, count, &json!(count)),
                "{search}: {body}"
            );
        }
    }
    let (status, _) = m
        .send_json(
            "PUT",
            "/rest/api/2/issue/TEST-1",
            Some(&user),
            r#"{"fields": {"summary": "Edited by its reporter"}}"#,
        )
        .await;
    assert_eq!(status, 204);
    let (_, body) = m.read("TEST-1", None).await;
    assert_eq!(body["fields"]["summary"], "Edited by its reporter");
    let (status, created) = m
        .send_json(
            "POST",
            "/rest/api/2/issue",
            Some(&user),
            r#"{"fields": {"summary": "Created by the user"}}"#,
        )
        .await;
    assert_eq!(
        (status, &created["key"]),
        (201, &json!("TEST-3")),
        "{created}"
    );
    let (status, ..) = m
        .send("DELETE", "/rest/api/2/issue/TEST-1", Some(&user))
        .await;
    assert_eq!(status, 204, "its reporter");
    let (status, ..) = m
        .send("DELETE", "/rest/api/2/issue/TEST-3", Some(&admin))
        .await;
    assert_eq!(status, 204, "DELETE_ISSUES");
}
