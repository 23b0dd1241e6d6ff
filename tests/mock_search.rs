//! The mock's `issue: search` and `issue: edit` routes over real requests on
//! loopback: who sees which issue in a search, pages of it, a search that
//! ignores security levels, and an edit route that applies what it refuses.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Five issues: TEST-1 and TEST-4 public, TEST-2 and TEST-5 at Restricted
/// (site-admins; TEST-5 reported by `user`), TEST-3 at HR (group hr; reported by `hr`).
const DEF: &str = r#"mock: search-jira
users:
  admin: { email: admin@example.com, api_token: admin-token-123456, account_id: acc-admin, groups: [site-admins, jira-users] }
  user: { email: user@example.com, api_token: user-token-123456, account_id: acc-user, groups: [jira-users] }
  hr: { email: hr@example.com, api_token: hr-token-123456, account_id: acc-hr, groups: [hr, jira-users] }
  hr2: { email: hr2@example.com, api_token: hr2-token-123456, account_id: acc-hr2, groups: [hr, jira-users] }
  guest: { email: guest@example.com, api_token: guest-token-123456, account_id: acc-guest, groups: [] }
apps:
  reader-app: { shared_secret: reader-secret-abcdef, oauth_client_id: reader-client, scopes: [READ, ACT_AS_USER] }
permissions:
  ADMINISTER: [site-admins]
  BROWSE_PROJECTS: [jira-users, anyone]
  EDIT_ISSUES: [site-admins]
issues:
  project: TEST
  security_levels: { Restricted: [site-admins], HR: [hr] }
  seed:
    - { key: TEST-1, summary: "A public issue", reporter: user }
    - { key: TEST-2, summary: "Salary review", reporter: admin, security: Restricted }
    - { key: TEST-3, summary: "Hiring plan", reporter: hr, security: HR }
    - { key: TEST-4, summary: "Team notes", reporter: user }
    - { key: TEST-5, summary: "Offsite", reporter: user, security: Restricted }
routes:
  - { route: GET /rest/api/2/search, scope: READ, anonymous: true, permission: BROWSE_PROJECTS, issue: search }
  - { route: GET /rest/api/3/search, scope: READ, anonymous: true, permission: BROWSE_PROJECTS, issue: search, ignore_security: true }
  - { route: GET /rest/api/latest/search, scope: READ, permission: ADMINISTER, issue: search }
  - { route: "GET /rest/api/2/issue/{issueIdOrKey}", scope: READ, anonymous: true, permission: BROWSE_PROJECTS, hidden: true, issue: read }
  - { route: "PUT /rest/api/2/issue/{issueIdOrKey}", scope: WRITE, permission: EDIT_ISSUES, issue: edit }
  - { route: "PUT /rest/api/3/issue/{issueIdOrKey}", scope: WRITE, permission: EDIT_ISSUES, issue: edit, apply_when_denied: true }
"#;

/// A running mock and a client for it.
struct Mock {
    base: String,
    client: reqwest::Client,
}

/// Starts `DEF` on a free loopback port.
async fn mock() -> Mock {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let def = permatrix::suite::mock_def::load_str(std::path::Path::new("search.yaml"), DEF)
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

/// `Authorization: Basic` for `name`'s credentials in `DEF`.
fn basic(name: &str) -> String {
    let credentials = format!("{name}@example.com:{name}-token-123456");
    format!("Basic {}", STANDARD.encode(credentials))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

fn hs256(claims: &Value) -> String {
    let key = EncodingKey::from_secret(b"reader-secret-abcdef").expect("key");
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &key).expect("sign")
}

/// A Connect JWT of `reader-app` for `method` on `path` without a query.
fn app_jwt(method: &str, path: &str) -> String {
    let qsh = hex::encode(Sha256::digest(format!("{method}&{path}&").as_bytes()));
    let claims = json!({"iss": "reader-app", "iat": now(), "exp": now() + 180, "qsh": qsh});
    format!("JWT {}", hs256(&claims))
}

impl Mock {
    /// Sends `method` to `path` with `authorization` and `body` (JSON when given).
    async fn send(
        &self,
        method: &str,
        path: &str,
        authorization: Option<&str>,
        body: Option<&str>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.expect("response");
        let status = response.status().as_u16();
        let body = serde_json::from_slice(&response.bytes().await.unwrap_or_default())
            .unwrap_or(Value::Null);
        (status, body)
    }

    /// The keys a search on `path` lists for `authorization`, after checking its 200.
    async fn keys(&self, path: &str, authorization: Option<&str>) -> Vec<String> {
        let (status, body) = self.send("GET", path, authorization, None).await;
        assert_eq!(status, 200, "{path}: {body}");
        keys(&body)
    }

    /// The summary of `key` as the caller with `authorization` reads it, after checking its 200.
    async fn summary(&self, key: &str, authorization: &str) -> Value {
        let path = format!("/rest/api/2/issue/{key}");
        let (status, body) = self.send("GET", &path, Some(authorization), None).await;
        assert_eq!(status, 200, "{key}: {body}");
        body["fields"]["summary"].clone()
    }

    /// An access token for `reader-app` acting as the user with `account`.
    async fn impersonating(&self, account: &str) -> String {
        let claims = json!({"iss": "urn:atlassian:connect:clientid:reader-client",
            "sub": format!("urn:atlassian:connect:useraccountid:{account}"),
            "tnt": self.base, "aud": self.base, "iat": now(), "exp": now() + 60});
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer")
            .append_pair("assertion", &hs256(&claims))
            .finish();
        let response = self
            .client
            .post(format!("{}/oauth2/token", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .expect("response");
        let body: Value =
            serde_json::from_slice(&response.bytes().await.unwrap_or_default()).expect("JSON");
        format!("Bearer {}", body["access_token"].as_str().expect("token"))
    }
}

/// The keys of a search answer's issues, in order.
fn keys(body: &Value) -> Vec<String> {
    body["issues"]
        .as_array()
        .map(|issues| {
            issues
                .iter()
                .filter_map(|i| i["key"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_search_lists_exactly_the_issues_each_caller_may_browse() {
    let m = mock().await;
    let search = "/rest/api/2/search";
    for (who, authorization, expected) in [
        ("admin: Restricted", Some(basic("admin")), "1 2 4 5"),
        ("user: its own TEST-5", Some(basic("user")), "1 4 5"),
        ("hr: its own TEST-3", Some(basic("hr")), "1 3 4"),
        ("hr2: in group hr", Some(basic("hr2")), "1 3 4"),
        ("anonymous", None, "1 4"),
        (
            "an app as itself, in no group",
            Some(app_jwt("GET", search)),
            "1 4",
        ),
        (
            "an app impersonating hr2",
            Some(m.impersonating("acc-hr2").await),
            "1 3 4",
        ),
    ] {
        let expected: Vec<String> = expected.split(' ').map(|n| format!("TEST-{n}")).collect();
        assert_eq!(
            m.keys(search, authorization.as_deref()).await,
            expected,
            "{who}"
        );
    }
    let (status, body) = m.send("GET", search, None, None).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"startAt": 0, "maxResults": 50, "total": 2, "issues": [
            {"id": "10000", "key": "TEST-1", "self": format!("{}/rest/api/2/issue/10000", m.base),
             "fields": {"summary": "A public issue",
                        "reporter": {"accountId": "acc-user", "accountType": "atlassian"}}},
            {"id": "10003", "key": "TEST-4", "self": format!("{}/rest/api/2/issue/10003", m.base),
             "fields": {"summary": "Team notes",
                        "reporter": {"accountId": "acc-user", "accountType": "atlassian"}}}]})
    );
    // The route's own checks come first, as on every route: a user in no group
    // does not hold BROWSE_PROJECTS (the REST checks count `anyone` for
    // anonymous callers only), an anonymous caller needs `anonymous: true`.
    let (status, _) = m.send("GET", search, Some(&basic("guest")), None).await;
    assert_eq!(status, 403, "guest, in no group");
    let (status, _) = m
        .send("GET", "/rest/api/latest/search", Some(&basic("user")), None)
        .await;
    assert_eq!(status, 403, "without ADMINISTER");
    let (status, _) = m.send("GET", "/rest/api/latest/search", None, None).await;
    assert_eq!(
        status, 401,
        "anonymous on a route without `anonymous: true`"
    );
    assert_eq!(
        m.keys("/rest/api/latest/search", Some(&basic("admin")))
            .await
            .len(),
        4
    );
}

#[tokio::test]
async fn a_search_pages_with_start_at_and_max_results_and_reads_a_project_jql() {
    let m = mock().await;
    let admin = basic("admin");
    let page = |query: &'static str| {
        let (m, admin) = (&m, admin.clone());
        async move {
            m.send(
                "GET",
                &format!("/rest/api/2/search?{query}"),
                Some(&admin),
                None,
            )
            .await
        }
    };
    let (status, body) = page("startAt=1&maxResults=2").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["startAt"], &body["maxResults"], &body["total"]),
        (&json!(1), &json!(2), &json!(4))
    );
    assert_eq!(keys(&body), ["TEST-2", "TEST-4"]);
    let (_, body) = page("startAt=3&maxResults=2").await;
    assert_eq!(keys(&body), ["TEST-5"], "the last page");
    let (_, body) = page("startAt=10").await;
    assert_eq!((keys(&body).len(), &body["total"]), (0, &json!(4)));
    let (_, body) = page("maxResults=0").await;
    assert_eq!((keys(&body).len(), &body["total"]), (0, &json!(4)));
    let (_, body) = page("maxResults=5000&startAt=-1").await;
    assert_eq!(
        (&body["maxResults"], &body["startAt"], keys(&body).len()),
        (&json!(100), &json!(0), 4),
        "clamped"
    );
    let (status, body) = page("maxResults=ten").await;
    assert_eq!(
        (status, &body["errorMessages"][0]),
        (
            400,
            &json!("The value 'ten' is invalid for the maxResults parameter.")
        )
    );
    let (_, body) = page("jql=project+%3D+TEST&maxResults=10").await;
    assert_eq!(keys(&body).len(), 4, "{body}");
    let (_, body) = page("jql=project%3DTEST+AND+status%3DDone").await;
    assert_eq!(keys(&body).len(), 4, "other JQL is ignored");
    let (status, body) = page("jql=project%3DOTHER").await;
    assert_eq!(
        (status, &body["errorMessages"][0]),
        (
            400,
            &json!("The value 'OTHER' does not exist for the field 'project'.")
        )
    );
}

#[tokio::test]
async fn a_search_that_ignores_security_lists_every_issue_to_every_caller() {
    let m = mock().await;
    let every: Vec<String> = (1..=5).map(|n| format!("TEST-{n}")).collect();
    for authorization in [Some(basic("hr2")), Some(basic("user")), None] {
        assert_eq!(
            m.keys("/rest/api/3/search", authorization.as_deref()).await,
            every,
            "{authorization:?}"
        );
    }
}

#[tokio::test]
async fn an_edit_needs_the_reporter_or_the_permission_and_shows_on_the_next_read() {
    let m = mock().await;
    let (admin, user, hr) = (basic("admin"), basic("user"), basic("hr"));
    let edit = |key: &str, authorization: Option<String>, body: &'static str| {
        let (m, path) = (&m, format!("/rest/api/2/issue/{key}"));
        async move {
            m.send("PUT", &path, authorization.as_deref(), Some(body))
                .await
        }
    };
    let renamed = r#"{"fields": {"summary": "Renamed"}}"#;
    assert_eq!(
        edit("TEST-1", Some(user.clone()), renamed).await,
        (204, Value::Null),
        "its reporter"
    );
    assert_eq!(m.summary("TEST-1", &admin).await, "Renamed");
    let (status, body) = edit("TEST-4", Some(hr.clone()), renamed).await;
    assert_eq!(
        (status, &body["errorMessages"][0]),
        (
            403,
            &json!("You do not have permission to edit issues in this project.")
        ),
        "neither reporter nor holding EDIT_ISSUES"
    );
    assert_eq!(m.summary("TEST-4", &admin).await, "Team notes", "unchanged");
    let (status, body) = edit("TEST-2", Some(user.clone()), renamed).await;
    assert_eq!(
        (status, &body["errorMessages"][0]),
        (
            404,
            &json!("Issue does not exist or you do not have permission to see it.")
        ),
        "not visible: not disclosed"
    );
    assert_eq!(edit("TEST-9", Some(admin.clone()), renamed).await.0, 404);
    assert_eq!(
        edit(
            "test-4",
            Some(admin.clone()),
            r#"{"fields": {"summary": " By admin "}}"#
        )
        .await
        .0,
        204,
        "EDIT_ISSUES edits what others reported"
    );
    assert_eq!(m.summary("TEST-4", &admin).await, "By admin");
    let (status, body) = m.send("GET", "/rest/api/2/search", Some(&user), None).await;
    assert_eq!(status, 200);
    assert_eq!(body["issues"][1]["fields"]["summary"], "By admin", "{body}");
    assert_eq!(
        edit(
            "TEST-4",
            Some(admin.clone()),
            r#"{"fields": {"summary": ""}}"#
        )
        .await,
        (
            400,
            json!({"errorMessages": [], "errors": {"summary": "You must specify a summary of the issue."}})
        )
    );
    assert_eq!(edit("TEST-4", Some(admin.clone()), "not json").await.0, 400);
    assert_eq!(
        edit(
            "TEST-4",
            Some(admin.clone()),
            r#"{"fields": {"labels": ["x"]}}"#
        )
        .await
        .0,
        204,
        "no summary: nothing the mock keeps changes"
    );
    assert_eq!(m.summary("TEST-4", &admin).await, "By admin");
    assert_eq!(edit("TEST-4", None, renamed).await.0, 401, "anonymous");
    let path = "/rest/api/2/issue/TEST-4";
    let (status, body) = m
        .send("PUT", path, Some(&app_jwt("PUT", path)), Some(renamed))
        .await;
    assert_eq!(
        (status, &body["errorMessages"][0]),
        (403, &json!("Request not in an authorized API scope"))
    );
    assert_eq!(m.summary("TEST-4", &admin).await, "By admin");
}

#[tokio::test]
async fn an_edit_route_with_apply_when_denied_answers_403_but_changes_the_issue() {
    let m = mock().await;
    let (admin, hr) = (basic("admin"), basic("hr"));
    let leaky = |key: &str, authorization: &str, summary: &str| {
        let (m, path) = (&m, format!("/rest/api/3/issue/{key}"));
        let (authorization, body) = (
            authorization.to_string(),
            json!({"fields": {"summary": summary}}).to_string(),
        );
        async move {
            m.send("PUT", &path, Some(&authorization), Some(&body))
                .await
        }
    };
    let (status, body) = leaky("TEST-4", &hr, "Defaced").await;
    assert_eq!(
        (status, &body["errorMessages"][0]),
        (
            403,
            &json!("You do not have permission to edit issues in this project.")
        )
    );
    assert_eq!(
        m.summary("TEST-4", &admin).await,
        "Defaced",
        "denied, but applied"
    );
    assert_eq!(
        leaky("TEST-2", &hr, "Hidden").await.0,
        404,
        "what the caller cannot see stays out of reach"
    );
    assert_eq!(m.summary("TEST-2", &admin).await, "Salary review");
    assert_eq!(leaky("TEST-3", &hr, "Own").await.0, 204, "its reporter");
    assert_eq!(m.summary("TEST-3", &hr).await, "Own");
    let (status, _) = m
        .send(
            "PUT",
            "/rest/api/3/issue/TEST-4",
            Some(&hr),
            Some("not json"),
        )
        .await;
    assert_eq!(
        status, 403,
        "a refused caller learns nothing from a bad body"
    );
}
