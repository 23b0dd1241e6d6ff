//! The `query` and `cookie` auth modes (OpenAPI `apiKey` in the query or a
//! cookie) against a loopback server that answers 200 only to the right key:
//! the statuses, the key merged with what the endpoint already sends, and no
//! output (terminal, JSON, JUnit, Markdown, HTML, snapshot, `explain`)
//! carrying a key, as written or as the URL or the `Cookie` header carries it.

mod common;

use axum::Router;
use axum::extract::RawQuery;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use common::{Workspace, cell};
use serde_json::json;

/// The query key: every character class percent-encoding touches.
const QUERY_KEY: &str = "qk-Secret/+=&é 42;Zeta";
/// The cookie key.
const COOKIE_KEY: &str = "ck-Secret.Mixed+/=42";

/// The query's pairs, decoded.
fn query_pairs(query: &Option<String>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_deref().unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

/// The request's cookies, from every `Cookie` header.
fn cookies(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .get_all("cookie")
        .iter()
        .flat_map(|v| v.to_str().unwrap_or_default().split(';'))
        .filter_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            Some((name.to_string(), value.to_string()))
        })
        .collect()
}

/// Whether the request carries the right key, in the query or as a cookie.
fn keyed(query: &Option<String>, headers: &HeaderMap) -> bool {
    query_pairs(query)
        .iter()
        .any(|(n, v)| n == "api_key" && v == QUERY_KEY)
        || cookies(headers)
            .iter()
            .any(|(n, v)| n == "session_key" && v == COOKIE_KEY)
}

/// 200 to the right key (403 otherwise) when `also` holds too; the body
/// echoes the URL and the cookies received, as error pages and debug
/// endpoints do.
fn answer(uri: &Uri, query: &Option<String>, headers: &HeaderMap, also: bool) -> Response {
    let status = if also && keyed(query, headers) {
        StatusCode::OK
    } else {
        StatusCode::FORBIDDEN
    };
    let cookie = headers
        .get_all("cookie")
        .iter()
        .map(|v| v.to_str().unwrap_or_default())
        .collect::<Vec<_>>()
        .join(" | ");
    let body = json!({ "you_sent": uri.to_string(), "cookie": cookie });
    (status, axum::Json(body)).into_response()
}

async fn items(uri: Uri, RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    answer(&uri, &query, &headers, true)
}

/// The key must come beside the query the endpoint already has.
async fn paged(uri: Uri, RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    let paged = query_pairs(&query).contains(&("page".into(), "2".into()));
    answer(&uri, &query, &headers, paged)
}

/// The key must come beside the cookie the endpoint already sends, in one header.
async fn themed(uri: Uri, RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    let one = headers.get_all("cookie").iter().count() <= 1;
    let themed = cookies(&headers).contains(&("theme".into(), "dark".into()));
    answer(&uri, &query, &headers, one && themed)
}

/// A redirect whose `Location` carries the URL received.
async fn moved(uri: Uri) -> Response {
    let location = format!("/items?from={}", uri);
    (StatusCode::FOUND, [("location", location)]).into_response()
}

async fn key_server() -> String {
    let app = Router::new()
        .route("/items", axum::routing::get(items))
        .route("/paged", axum::routing::get(paged))
        .route("/themed", axum::routing::get(themed))
        .route("/moved", axum::routing::get(moved));
    common::serve(app).await
}

fn suite(base: &str) -> String {
    format!(
        r#"suite: keys
target: {{ base_url: "{base}", retries: 0 }}
principals:
  anonymous: {{ auth: none }}
  query-key: {{ auth: {{ query: {{ name: api_key, value: "${{QKEY}}" }} }} }}
  cookie-key: {{ auth: {{ cookie: {{ name: session_key, value: "${{CKEY}}" }} }} }}
  wrong-query: {{ auth: {{ query: {{ name: api_key, value: not-the-query-key }} }} }}
  wrong-cookie: {{ auth: {{ cookie: {{ name: session_key, value: not-the-cookie-key }} }} }}
groups:
  keyed: [query-key, cookie-key]
endpoints:
  - name: items
    request: GET /items
    snapshot: {{ body: /you_sent }}
    expect: {{ keyed: 200, "*": 403 }}
  - name: paged
    request: GET /paged?page=2
    snapshot: {{ body: /cookie }}
    expect: {{ keyed: 200, "*": 403 }}
  - name: themed
    request: GET /themed
    headers: {{ Cookie: "theme=dark" }}
    expect: {{ keyed: 200, "*": 403 }}
  - name: moved
    request: GET /moved?x=1
    snapshot: {{ headers: [location] }}
    expect: {{ "*": 302 }}
  # Wrong on purpose: failure lines, excerpts and annotations are searched too.
  - name: echo
    request: GET /items?echo=1
    expect: {{ "*": 403 }}
"#
    )
}

fn vars() -> [String; 2] {
    [
        format!("--var=QKEY={QUERY_KEY}"),
        format!("--var=CKEY={COOKIE_KEY}"),
    ]
}

/// Every form a key could show in: as written, percent-encoded as sent
/// (upper- and lower-case hex), form-encoded, and the start that names it.
fn forms(key: &str) -> Vec<String> {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    let percent = utf8_percent_encode(key, UNRESERVED).to_string();
    let form: String = url::form_urlencoded::byte_serialize(key.as_bytes()).collect();
    vec![
        key.to_string(),
        percent.clone(),
        percent.to_lowercase(),
        form,
        key[..9].to_string(),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn query_and_cookie_keys_reach_the_server_and_never_the_output() {
    let base = key_server().await;
    let ws = Workspace::new();
    ws.write("keys.yaml", &suite(&base));
    let vars = vars();
    let mut args = vec!["run", "keys.yaml"];
    args.extend(common::EVERY_REPORT);
    args.extend(vars.iter().map(String::as_str));
    let out = ws
        .permatrix_with_env(&args, &[("GITHUB_ACTIONS", "true")])
        .await;
    assert_eq!(out.code, 1, "only the echo cells fail:\n{}", out.all());

    let report = ws.json("r.json");
    for (endpoint, principal, status) in [
        ("items", "anonymous", 403),
        ("items", "query-key", 200),
        ("items", "cookie-key", 200),
        ("items", "wrong-query", 403),
        ("items", "wrong-cookie", 403),
        ("paged", "query-key", 200),
        ("paged", "cookie-key", 200),
        ("paged", "wrong-query", 403),
        ("themed", "query-key", 200),
        ("themed", "cookie-key", 200),
        ("themed", "wrong-cookie", 403),
        ("moved", "query-key", 302),
        ("echo", "query-key", 200),
        ("echo", "cookie-key", 200),
        ("echo", "wrong-query", 403),
    ] {
        let cell = cell(&report, endpoint, principal);
        assert_eq!(cell["status"], status, "{endpoint} × {principal}: {cell}");
    }
    for principal in ["query-key", "cookie-key"] {
        assert_eq!(cell(&report, "echo", principal)["outcome"], "failed");
    }
    // The server echoed the keys: they are in the outputs, masked.
    let excerpt = cell(&report, "echo", "query-key")["excerpt"].to_string();
    assert!(excerpt.contains("echo=1&api_key=****"), "{excerpt}");
    let location = cell(&report, "moved", "query-key")["location"].to_string();
    assert!(location.contains("api_key=****"), "{location}");
    let excerpt = cell(&report, "themed", "cookie-key")["excerpt"].to_string();
    assert!(excerpt.contains("session_key=****"), "{excerpt}");
    let snapshot = ws.read("snaps/keys.snap");
    assert!(snapshot.contains("/items?api_key=****"), "{snapshot}");
    assert!(snapshot.contains("session_key=****"), "{snapshot}");

    let mut outputs = vec![out.all()];
    for principal in ["query-key", "cookie-key"] {
        let mut args = vec![
            "explain",
            "keys.yaml",
            "--endpoint",
            "themed",
            "--principal",
            principal,
        ];
        args.extend(vars.iter().map(String::as_str));
        let out = ws.permatrix(&args).await;
        assert_eq!(out.code, 0, "{}", out.all());
        outputs.push(out.all());
    }
    assert!(
        outputs[1].contains(&format!("request  GET {base}/themed?api_key=****\n")),
        "{}",
        outputs[1]
    );
    assert!(
        outputs[1].contains("auth     query (an API key as a query parameter)"),
        "{}",
        outputs[1]
    );
    // The endpoint's cookie is a credential too (any `Cookie` is): masked whole.
    assert!(
        outputs[2].contains("cookie: ****; session_key=****\n"),
        "{}",
        outputs[2]
    );
    for file in ["r.json", "r.xml", "r.md", "r.html", "snaps/keys.snap"] {
        outputs.push(ws.read(file));
    }
    for text in &outputs {
        for secret in forms(QUERY_KEY).iter().chain(&forms(COOKIE_KEY)) {
            assert!(!text.contains(secret.as_str()), "leaked {secret}:\n{text}");
        }
    }
}

/// A key of a few characters cannot be masked inside free text, but the
/// URL and the `Cookie` header carry it with its name: that pair is masked.
#[tokio::test(flavor = "multi_thread")]
async fn short_keys_are_masked_with_their_name() {
    let app = Router::new().route(
        "/items",
        axum::routing::get(|uri: Uri, headers: HeaderMap| async move {
            let cookie = headers
                .get("cookie")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            axum::Json(json!({ "you_sent": uri.to_string(), "cookie": cookie }))
        }),
    );
    let base = common::serve(app).await;
    let ws = Workspace::new();
    ws.write(
        "short.yaml",
        &format!(
            r#"suite: short
target: {{ base_url: "{base}", retries: 0 }}
principals:
  q: {{ auth: {{ query: {{ name: key, value: "a b" }} }} }}
  c: {{ auth: {{ cookie: {{ name: sid, value: "z9" }} }} }}
endpoints:
  - {{ name: items, request: GET /items, expect: {{ "*": 403 }} }}
"#
        ),
    );
    let out = ws
        .permatrix(&["run", "short.yaml", "--json", "r.json"])
        .await;
    assert_eq!(out.code, 1, "{}", out.all());
    let report = ws.json("r.json");
    let excerpt = cell(&report, "items", "q")["excerpt"].to_string();
    assert!(excerpt.contains(r#"/items?****"#), "{excerpt}");
    assert!(!excerpt.contains("a%20b"), "{excerpt}");
    let excerpt = cell(&report, "items", "c")["excerpt"].to_string();
    assert!(excerpt.contains(r#"\"cookie\":\"****\""#), "{excerpt}");
    assert!(!excerpt.contains("z9"), "{excerpt}");
}

#[tokio::test]
async fn bad_names_and_missing_fields_are_load_errors() {
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        r#"suite: bad
target: { base_url: "http://127.0.0.1:9" }
principals:
  a: { auth: { cookie: { name: "session key", value: v } } }
  b: { auth: { query: { name: "", value: v } } }
  c: { auth: { query: { name: api_key } } }
  d: { auth: { cookie: { name: sid, value: v, in: query } } }
endpoints:
  - { request: GET /x, expect: { "*": 200 } }
"#,
    );
    let out = ws.permatrix(&["check", "s.yaml"]).await;
    assert_eq!(out.code, 2, "{}", out.all());
    for needle in [
        "s.yaml:4:32: error: `session key` is not a valid cookie name",
        "s.yaml:5:31: error: `` is not a valid query parameter name",
        "s.yaml:6:23: error: auth `query` needs `value:`",
        "s.yaml:7:47: error: unknown key `in` in auth `cookie`",
    ] {
        assert!(
            out.stderr.contains(needle),
            "missing {needle} in:\n{}",
            out.stderr
        );
    }
}

/// A cookie value with a `;` would end the cookie and start another: the
/// principal's cells are errors that do not show the value.
#[tokio::test(flavor = "multi_thread")]
async fn a_cookie_value_with_a_separator_is_an_error_that_hides_it() {
    let base = key_server().await;
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &format!(
            r#"suite: split
target: {{ base_url: "{base}", retries: 0 }}
principals:
  c: {{ auth: {{ cookie: {{ name: session_key, value: "${{CKEY}}" }} }} }}
endpoints:
  - {{ name: items, request: GET /items, expect: {{ "*": 200 }} }}
"#
        ),
    );
    let out = ws
        .permatrix(&[
            "run",
            "s.yaml",
            "--json",
            "r.json",
            "--var=CKEY=split-value;admin=true",
        ])
        .await;
    assert_eq!(out.code, 1, "{}", out.all());
    let report = ws.json("r.json");
    let error = cell(&report, "items", "c")["error"]["message"].to_string();
    assert!(
        error.contains("the value for cookie `session_key` has characters a cookie cannot carry"),
        "{error}"
    );
    assert!(!out.all().contains("split-value"), "{}", out.all());
    assert!(!ws.read("r.json").contains("split-value"));
}
