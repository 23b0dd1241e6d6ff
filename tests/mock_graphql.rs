//! The mock's `graphql:` routes over real HTTP on loopback: each root field
//! answered or denied per caller (Basic users, a Connect app, an impersonation
//! token, no credentials), GraphQL over HTTP by POST and GET, and the requests
//! that cannot run.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const DEF: &str = r#"mock: notes-test
users:
  admin: { email: admin@example.com, api_token: admin-token-123456, account_id: acc-admin, groups: [admins, readers] }
  reader: { email: reader@example.com, api_token: reader-token-123456, account_id: acc-reader, groups: [readers] }
apps:
  reader-app: { shared_secret: reader-secret-abcdef, oauth_client_id: reader-client, scopes: [READ, ACT_AS_USER] }
permissions:
  BROWSE: [readers]
  ADMINISTER: [admins]
  CREATE_NOTES: [admins]
  READ_NEWS: [anyone]
routes:
  - route: POST /graphql
    graphql:
      fields:
        notes: { scope: READ, permission: BROWSE, data: [{ id: "1", title: Roadmap, body: "Q3 first" }, { id: "2", title: Budget }] }
        secrets: { scope: ADMIN, permission: ADMINISTER, data: [{ id: "9", title: Salaries }] }
        me: { data: { name: "${caller}", greeting: "hello ${caller}" } }
        createNote: { mutation: true, scope: WRITE, permission: CREATE_NOTES, data: { id: "3", title: New } }
  - route: POST /public/graphql
    graphql:
      anonymous: true
      denied_code: PERMISSION_DENIED
      fields:
        news: { permission: READ_NEWS, data: [{ headline: Hello }] }
        notes: { scope: READ, permission: BROWSE, data: [] }
        staff: { permission: ADMINISTER, data: [admin] }
"#;

const ADMIN: (&str, &str) = ("admin@example.com", "admin-token-123456");
const READER: (&str, &str) = ("reader@example.com", "reader-token-123456");

struct Mock {
    base: String,
    client: reqwest::Client,
}

/// An answer: status, the `Allow` and `WWW-Authenticate` headers, the JSON body.
struct Answer {
    status: u16,
    allow: Option<String>,
    challenge: Option<String>,
    body: Value,
}

async fn mock(def: &str) -> Mock {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let def = permatrix::suite::mock_def::load_str(std::path::Path::new("notes.yaml"), def)
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

fn basic((login, token): (&str, &str)) -> String {
    format!("Basic {}", STANDARD.encode(format!("{login}:{token}")))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

fn hs256(claims: &Value, secret: &str) -> String {
    let key = EncodingKey::from_secret(secret.as_bytes()).expect("key");
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &key).expect("sign")
}

/// A Connect JWT of app `key` for a POST on `path` (no query: the body is not in the qsh).
fn connect_jwt(key: &str, secret: &str, path: &str) -> String {
    let qsh = hex::encode(Sha256::digest(format!("POST&{path}&").as_bytes()));
    let claims = json!({"iss": key, "iat": now(), "exp": now() + 180, "qsh": qsh});
    format!("JWT {}", hs256(&claims, secret))
}

/// `reader-app`'s Connect JWT for a POST on `path`.
fn app_jwt(path: &str) -> String {
    connect_jwt("reader-app", "reader-secret-abcdef", path)
}

impl Mock {
    async fn answer(
        &self,
        request: reqwest::RequestBuilder,
        authorization: Option<&str>,
    ) -> Answer {
        let request = match authorization {
            Some(value) => request.header("authorization", value),
            None => request,
        };
        let response = request.send().await.expect("response");
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let (allow, challenge) = (header("allow"), header("www-authenticate"));
        let status = response.status().as_u16();
        let body = serde_json::from_slice(&response.bytes().await.unwrap_or_default())
            .unwrap_or(Value::Null);
        Answer {
            status,
            allow,
            challenge,
            body,
        }
    }

    /// POSTs `{"query": query}` (and `extra` keys) to `path` as JSON.
    async fn post(&self, path: &str, authorization: Option<&str>, query: &str) -> Answer {
        self.post_json(path, authorization, json!({ "query": query }))
            .await
    }

    async fn post_json(&self, path: &str, authorization: Option<&str>, body: Value) -> Answer {
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body.to_string());
        self.answer(request, authorization).await
    }

    /// GETs `path` with these query parameters.
    async fn get(
        &self,
        path: &str,
        authorization: Option<&str>,
        params: &[(&str, &str)],
    ) -> Answer {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        let request = self.client.get(format!("{}{path}?{query}", self.base));
        self.answer(request, authorization).await
    }
}

/// The errors' `extensions.code`s, in order.
fn codes(body: &Value) -> Vec<&str> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["extensions"]["code"].as_str())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_reader_gets_the_fields_it_may_read_and_null_with_an_error_for_the_others() {
    let m = mock(DEF).await;
    let reader = basic(READER);
    let a = m
        .post(
            "/graphql",
            Some(&reader),
            "query Mixed {\n  notes { id title }\n  secrets { id }\n}",
        )
        .await;
    assert_eq!(a.status, 200, "the status does not say what was denied");
    assert_eq!(
        a.body["data"],
        json!({"notes": [{"id": "1", "title": "Roadmap"}, {"id": "2", "title": "Budget"}], "secrets": null}),
        "the data is cut to the selection; the denied field is null"
    );
    assert_eq!(
        a.body["errors"],
        json!([{
            "message": "You do not have the ADMINISTER permission secrets needs.",
            "locations": [{"line": 3, "column": 3}],
            "path": ["secrets"],
            "extensions": {"code": "FORBIDDEN"},
        }])
    );

    let a = m
        .post(
            "/graphql",
            Some(&basic(ADMIN)),
            "{ notes { id } secrets { title } }",
        )
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(
        a.body,
        json!({"data": {"notes": [{"id": "1"}, {"id": "2"}], "secrets": [{"title": "Salaries"}]}}),
        "no `errors` when nothing is denied"
    );
}

#[tokio::test]
async fn every_field_denied_is_data_with_every_key_null() {
    let m = mock(DEF).await;
    let a = m
        .post(
            "/graphql",
            Some(&basic(READER)),
            "{ secrets { id } s2: secrets { title } }",
        )
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["data"], json!({"secrets": null, "s2": null}));
    let paths: Vec<&Value> = a.body["errors"]
        .as_array()
        .map(|e| e.iter().map(|e| &e["path"]).collect())
        .unwrap_or_default();
    assert_eq!(paths, [&json!(["secrets"]), &json!(["s2"])]);
    assert_eq!(codes(&a.body), ["FORBIDDEN", "FORBIDDEN"]);
}

#[tokio::test]
async fn aliases_are_the_response_keys_and_the_error_paths() {
    let m = mock(DEF).await;
    let a = m
        .post(
            "/graphql",
            Some(&basic(READER)),
            "{ mine: notes { key: id } hidden: secrets { id } who: me { name } kind: __typename }",
        )
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(
        a.body["data"],
        json!({"mine": [{"key": "1"}, {"key": "2"}], "hidden": null, "who": {"name": "reader"}, "kind": "Query"})
    );
    assert_eq!(a.body["errors"][0]["path"], json!(["hidden"]));
}

#[tokio::test]
async fn no_credentials_on_a_route_that_is_not_anonymous_is_unauthenticated_with_200() {
    let m = mock(DEF).await;
    let a = m
        .post("/graphql", None, "{ notes { id } me { name } }")
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(
        a.body,
        json!({"data": null, "errors": [{
            "message": "You must be authenticated to query this API.",
            "extensions": {"code": "UNAUTHENTICATED"},
        }]})
    );
}

#[tokio::test]
async fn on_an_anonymous_route_no_credentials_read_what_anyone_holds() {
    let m = mock(DEF).await;
    let a = m
        .post(
            "/public/graphql",
            None,
            "{ news { headline } notes { id } }",
        )
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(
        a.body["data"],
        json!({"news": [{"headline": "Hello"}], "notes": null})
    );
    assert_eq!(a.body["errors"][0]["path"], json!(["notes"]));
    assert_eq!(codes(&a.body), ["UNAUTHENTICATED"]);

    let a = m
        .post(
            "/public/graphql",
            Some(&basic(READER)),
            "{ news { headline } notes { id } staff }",
        )
        .await;
    assert_eq!(
        a.body["data"],
        json!({"news": [{"headline": "Hello"}], "notes": [], "staff": null}),
        "`anyone` is every caller, users in no group of it included"
    );
    assert_eq!(
        codes(&a.body),
        ["PERMISSION_DENIED"],
        "the route's denied_code"
    );
}

#[tokio::test]
async fn credentials_that_fail_are_refused_with_401_before_the_document_runs() {
    let m = mock(DEF).await;
    let wrong = basic(("reader@example.com", "not-the-token"));
    let a = m.post("/graphql", Some(&wrong), "{ notes { id } }").await;
    assert_eq!(a.status, 401);
    assert_eq!(codes(&a.body), ["UNAUTHENTICATED"]);
    assert_eq!(a.body.get("data"), None);
    assert_eq!(a.challenge.as_deref(), Some("Basic realm=\"notes-test\""));
}

#[tokio::test]
async fn an_app_reads_the_fields_its_scopes_cover() {
    let m = mock(DEF).await;
    let a = m
        .post(
            "/graphql",
            Some(&app_jwt("/graphql")),
            "{ notes { id } secrets { id } me { name greeting } }",
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(
        a.body["data"],
        json!({"notes": [{"id": "1"}, {"id": "2"}], "secrets": null,
            "me": {"name": "reader-app", "greeting": "hello reader-app"}})
    );
    assert_eq!(
        a.body["errors"][0]["message"],
        json!("secrets needs the ADMIN scope, which the credentials do not hold.")
    );
    let a = m
        .post(
            "/graphql",
            Some(&app_jwt("/graphql")),
            "mutation { createNote { id } }",
        )
        .await;
    assert_eq!(
        (a.status, &a.body["data"], codes(&a.body)),
        (200, &json!({"createNote": null}), vec!["FORBIDDEN"])
    );
}

#[tokio::test]
async fn an_impersonation_token_needs_the_fields_scope_and_its_users_permission() {
    let m = mock(DEF).await;
    let claims = json!({"iss": "urn:atlassian:connect:clientid:reader-client",
        "sub": "urn:atlassian:connect:useraccountid:acc-admin",
        "tnt": m.base, "aud": m.base, "iat": now(), "exp": now() + 60});
    let form = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", hs256(&claims, "reader-secret-abcdef").as_str()),
        ])
        .finish();
    let grant = m
        .answer(
            m.client
                .post(format!("{}/oauth2/token", m.base))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form),
            None,
        )
        .await;
    assert_eq!(grant.status, 200, "{}", grant.body);
    let token = format!(
        "Bearer {}",
        grant.body["access_token"].as_str().unwrap_or_default()
    );
    let a = m
        .post(
            "/graphql",
            Some(&token),
            "{ notes { id } secrets { id } me { name } }",
        )
        .await;
    assert_eq!(
        a.body["data"],
        json!({"notes": [{"id": "1"}, {"id": "2"}], "secrets": null, "me": {"name": "admin"}}),
        "the admin's permission, but the token's READ does not cover ADMIN"
    );
    assert_eq!(codes(&a.body), ["FORBIDDEN"]);
}

#[tokio::test]
async fn mutations_run_by_post_for_whoever_may() {
    let m = mock(DEF).await;
    let create = "mutation Create($title: String!) { createNote(title: $title) { id } }";
    let body = json!({"query": create, "variables": {"title": "New"}, "operationName": "Create"});
    let a = m
        .post_json("/graphql", Some(&basic(ADMIN)), body.clone())
        .await;
    assert_eq!(
        (a.status, &a.body),
        (200, &json!({"data": {"createNote": {"id": "3"}}}))
    );
    let a = m.post_json("/graphql", Some(&basic(READER)), body).await;
    assert_eq!(
        (a.status, &a.body["data"], codes(&a.body)),
        (200, &json!({"createNote": null}), vec!["FORBIDDEN"])
    );
}

#[tokio::test]
async fn get_reads_the_query_from_its_parameters_and_refuses_mutations() {
    let m = mock(DEF).await;
    let reader = basic(READER);
    let a = m
        .get(
            "/graphql",
            Some(&reader),
            &[
                (
                    "query",
                    "query A { notes { id } } query B { secrets { id } }",
                ),
                ("operationName", "A"),
                ("variables", "{}"),
            ],
        )
        .await;
    assert_eq!(
        (a.status, &a.body),
        (200, &json!({"data": {"notes": [{"id": "1"}, {"id": "2"}]}}))
    );
    let a = m
        .get(
            "/graphql",
            Some(&reader),
            &[("query", "{ secrets { id } }")],
        )
        .await;
    assert_eq!((a.status, codes(&a.body)), (200, vec!["FORBIDDEN"]));

    let a = m
        .get(
            "/graphql",
            Some(&basic(ADMIN)),
            &[("query", "mutation { createNote { id } }")],
        )
        .await;
    assert_eq!(a.status, 405);
    assert_eq!(a.allow.as_deref(), Some("POST"));
    assert_eq!(
        a.body["errors"][0]["message"],
        json!("Can only perform a mutation operation from a POST request.")
    );
    let a = m
        .get(
            "/graphql",
            Some(&reader),
            &[("variables", "[1]"), ("query", "{ me { name } }")],
        )
        .await;
    assert_eq!((a.status, codes(&a.body)), (400, vec!["BAD_REQUEST"]));
}

#[tokio::test]
async fn documents_that_cannot_run_are_400_with_apollos_codes() {
    let m = mock(DEF).await;
    let reader = basic(READER);
    for (query, code, message) in [
        ("{ notes { id }", "GRAPHQL_PARSE_FAILED", "Syntax Error: "),
        (
            "{ notes { id } drafts { id } }",
            "GRAPHQL_VALIDATION_FAILED",
            "Cannot query field \"drafts\" on type \"Query\".",
        ),
        (
            "mutation { notes { id } }",
            "GRAPHQL_VALIDATION_FAILED",
            "Cannot query field \"notes\" on type \"Mutation\".",
        ),
        (
            "{ a: notes { id } a: secrets { id } }",
            "GRAPHQL_VALIDATION_FAILED",
            "Fields \"a\" conflict",
        ),
        (
            "subscription { notes { id } }",
            "GRAPHQL_VALIDATION_FAILED",
            "subscription",
        ),
        (
            "query A { me { name } } query B { me { name } }",
            "OPERATION_RESOLUTION_FAILURE",
            "Must provide operation name",
        ),
    ] {
        let a = m.post("/graphql", Some(&reader), query).await;
        assert_eq!(a.status, 400, "{query}: {}", a.body);
        assert_eq!(codes(&a.body), [code], "{query}: {}", a.body);
        let said = a.body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(said.contains(message), "{query}: {said}");
        assert_eq!(a.body.get("data"), None, "{query}");
    }
    let a = m.post("/graphql", Some(&reader), "{ drafts }").await;
    assert_eq!(
        a.body["errors"][0]["locations"],
        json!([{"line": 1, "column": 3}])
    );
    let a = m.post("/graphql", None, "{ drafts }").await;
    assert_eq!(
        (a.status, codes(&a.body)),
        (400, vec!["GRAPHQL_VALIDATION_FAILED"]),
        "a document is validated before the caller's access is"
    );
}

#[tokio::test]
async fn requests_that_are_no_graphql_requests_are_refused() {
    let m = mock(DEF).await;
    let reader = basic(READER);
    let not_json = m
        .answer(
            m.client
                .post(format!("{}/graphql", m.base))
                .header("content-type", "application/json")
                .body("query { notes { id } }"),
            Some(&reader),
        )
        .await;
    assert_eq!(
        (not_json.status, codes(&not_json.body)),
        (400, vec!["BAD_REQUEST"])
    );
    let form = m
        .answer(
            m.client
                .post(format!("{}/graphql", m.base))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("query=%7Bme%7D"),
            Some(&reader),
        )
        .await;
    assert_eq!(form.status, 415);
    for body in [
        json!({}),
        json!({"query": ""}),
        json!({"query": 1}),
        json!({"query": "{ me { name } }", "variables": "x"}),
    ] {
        let a = m.post_json("/graphql", Some(&reader), body.clone()).await;
        assert_eq!(
            (a.status, codes(&a.body)),
            (400, vec!["BAD_REQUEST"]),
            "{body}"
        );
    }
    let put = m
        .answer(m.client.put(format!("{}/graphql", m.base)), Some(&reader))
        .await;
    assert_eq!(put.status, 404, "a graphql route answers GET and POST only");
}

/// How the lead's suite format reads an answer (notes/contract.md): an error
/// code decides a denial when every root field is null, `partial` when some
/// field answered beside a denied one.
fn reading(a: &Answer) -> String {
    let denial = match codes(&a.body).first() {
        Some(&"UNAUTHENTICATED") => "401",
        Some(&"FORBIDDEN") => "403",
        Some(other) => return format!("{} {other}", a.status),
        None => return a.status.to_string(),
    };
    let answered = a.body["data"]
        .as_object()
        .is_some_and(|data| data.values().any(|v| !v.is_null()));
    if answered { "partial" } else { denial }.to_string()
}

/// The shipped notes-graphql mock answers the matrix of the example suite
/// drafted for it: each endpoint (a query or mutation, by POST unless said)
/// against admin, reader, the READ app and no credentials.
#[tokio::test]
async fn the_shipped_notes_mock_answers_the_example_suites_matrix() {
    let file = format!(
        "{}/suites/mocks/notes-graphql.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(file).expect("the shipped notes mock");
    let m = mock(&text).await;
    let admin = basic(("admin@notes.example", "mock-notes-admin-token-4b1e"));
    let reader = basic(("reader@notes.example", "mock-notes-reader-token-9c2d"));
    let app = connect_jwt(
        "notes-sync",
        "mock-shared-secret-notes-sync-6f3a",
        "/graphql",
    );
    let principals = [
        Some(admin.as_str()),
        Some(reader.as_str()),
        Some(app.as_str()),
        None,
    ];
    let matrix: &[(&str, Value, [&str; 4])] = &[
        (
            "AllNotes",
            json!({"query": "query AllNotes { notes { id title } }"}),
            ["200", "200", "200", "401"],
        ),
        (
            "Note",
            json!({"query": "query Note($id: ID!) { note(id: $id) { id title body } }", "variables": {"id": "1"}}),
            ["200", "200", "200", "401"],
        ),
        (
            "Me",
            json!({"query": "query Me { me { name } }"}),
            ["200", "200", "200", "401"],
        ),
        (
            "Announcements",
            json!({"query": "query Announcements { announcements { headline } }"}),
            ["200", "200", "200", "200"],
        ),
        (
            "AuditLog",
            json!({"query": "query AuditLog { auditLog { at actor action } }"}),
            ["200", "403", "403", "401"],
        ),
        (
            "Dashboard",
            json!({"query": "query Dashboard { notes { id title } auditLog { action } }"}),
            ["200", "partial", "partial", "401"],
        ),
        (
            "Home",
            json!({"query": "query Home { announcements { headline } me { name } }"}),
            ["200", "200", "200", "partial"],
        ),
        (
            "CreateNote",
            json!({"query": "mutation CreateNote($title: String!) { createNote(title: $title) { id title } }", "variables": {"title": "From the suite"}}),
            ["200", "403", "403", "401"],
        ),
    ];
    for (name, body, expected) in matrix {
        for (principal, want) in principals.iter().zip(expected) {
            let a = m.post_json("/graphql", *principal, body.clone()).await;
            assert_eq!(a.status, 200, "{name}: {}", a.body);
            assert_eq!(reading(&a), *want, "{name} as {principal:?}: {}", a.body);
        }
    }
    let a = m
        .post_json(
            "/graphql",
            Some(&reader),
            json!({"query": "query Me { me { name } }"}),
        )
        .await;
    assert_eq!(a.body["data"]["me"]["name"], json!("reader"));
    // By GET the app's qsh covers the query parameters (permatrix's canonicalizer, as a client signs).
    let by_get = [("query", "query NotesByGet { notes { id } }")];
    let params = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(by_get)
        .finish();
    let canonical = permatrix::internals::canonical_request("GET", "/graphql", Some(&params), "");
    let claims = json!({"iss": "notes-sync", "iat": now(), "exp": now() + 180,
        "qsh": permatrix::internals::qsh(&canonical)});
    let app_by_get = format!(
        "JWT {}",
        hs256(&claims, "mock-shared-secret-notes-sync-6f3a")
    );
    for (principal, want) in [
        (Some(admin.as_str()), "200"),
        (Some(reader.as_str()), "200"),
        (Some(app_by_get.as_str()), "200"),
        (None, "401"),
    ] {
        let a = m.get("/graphql", principal, &by_get).await;
        assert_eq!(reading(&a), want, "NotesByGet as {principal:?}: {}", a.body);
    }
}
