//! Atlassian Connect: the qsh canonicalizer (`atlassian::qsh::canonical_request`
//! and `qsh`), the HS256 signer (`auth::sign::hs256`) over Connect claims, and
//! the whole per-request cost of a `connect_jwt` principal: `Auth::authorize`
//! on the cell's `http::Request<Bytes>` (canonicalize, hash, sign, register the token with
//! the redactor, place it in the header or the query), on a current-thread
//! tokio runtime.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use permatrix::internals::{
    Auth, AuthEnv, Redactor, build_auth, canonical_request, hs256, now_seconds, qsh,
};
use permatrix::suite::{LoadOptions, load_str};
use url::Url;

const BASE: &str = "https://example.atlassian.net/jira";
const SECRET: &str = "7512836e-9137-48ac-baaf-a1935b96e17a";

/// Requests of growing query complexity, all under the `/jira` context path.
fn cases() -> Vec<(&'static str, Url)> {
    let long_query: String = (0..40)
        .map(|i| format!("field{:02}=value%20{}&expand=names%2C{}", 39 - i, i, i))
        .collect::<Vec<_>>()
        .join("&");
    [
        ("path_only", format!("{BASE}/rest/api/2/myself")),
        (
            "jql_search",
            format!("{BASE}/rest/api/2/search?maxResults=5&jql=project+%3D+TEST+AND+status+%21%3D+Done"),
        ),
        (
            "repeated_params",
            format!("{BASE}/path/to/service?zee_last=param&repeated=parameter%201&first=param&repeated=parameter%202&repeated=Parameter%202"),
        ),
        (
            "iframe_11_params",
            format!("{BASE}/hello-world?lic=none&tz=Australia%2FSydney&cp=%2Fjira&user_key=&loc=en-US&user_id=&jwt=abc.def.ghi&xdm_e=http%3A%2F%2Fstorm%3A2990&xdm_c=channel-servlet-hello-world&xdm_p=1"),
        ),
        ("long_80_params", format!("{BASE}/rest/api/2/issue/TEST-1?{long_query}")),
    ]
    .into_iter()
    .map(|(name, url)| (name, Url::parse(&url).expect("a valid bench URL")))
    .collect()
}

fn canonicalizer(c: &mut Criterion) {
    let context = Url::parse(BASE).expect("a valid base URL");
    let context = context.path();
    let cases = cases();
    let mut group = c.benchmark_group("qsh");
    for (name, url) in &cases {
        group.bench_function(format!("canonical_request/{name}"), |b| {
            b.iter(|| {
                canonical_request(
                    black_box("GET"),
                    black_box(url.path()),
                    black_box(url.query()),
                    black_box(context),
                )
            })
        });
    }
    for (name, url) in &cases {
        let canonical = canonical_request("GET", url.path(), url.query(), context);
        group.bench_function(format!("hash/{name}"), |b| {
            b.iter(|| qsh(black_box(&canonical)))
        });
    }
    group.finish();
}

/// A `connect_jwt` principal built the way a run builds it: from a suite.
fn connect_principal(placement: &str, redactor: &Arc<Redactor>) -> Arc<dyn Auth> {
    let yaml = format!(
        "suite: bench-connect\n\
         target: {{ base_url: \"{BASE}\" }}\n\
         principals:\n  \
           app: {{ auth: {{ connect_jwt: {{ issuer: bench-app, secret: \"{SECRET}\", subject: user-1, in: {placement} }} }} }}\n\
         endpoints:\n  \
           - {{ request: GET /rest/api/2/myself, expect: {{ app: 200 }} }}\n"
    );
    let suite = load_str(
        Path::new("bench-connect.yaml"),
        &yaml,
        &LoadOptions::default(),
    )
    .expect("the Connect bench suite loads");
    let principal = &suite.principals[0];
    let (cli, env) = (BTreeMap::new(), BTreeMap::new());
    let scope = suite
        .scope(&cli, &env, Some(BASE))
        .for_principal(&principal.vars);
    let auth_env = AuthEnv {
        scope,
        client: reqwest::Client::new(),
        base_url: Url::parse(BASE).expect("a valid base URL"),
        timeout: Duration::from_secs(10),
        redactor: redactor.clone(),
        mock_only: false,
    };
    build_auth(&principal.auth, &auth_env).expect("the connect_jwt principal builds")
}

fn signer(c: &mut Criterion) {
    // reqwest's client needs a TLS provider, as in a run.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread tokio runtime");
    let cases = cases();
    let mut group = c.benchmark_group("connect_jwt");

    let canonical = canonical_request("GET", "/rest/api/2/myself", None, "/jira");
    let iat = now_seconds();
    let claims = serde_json::json!({
        "iss": "bench-app",
        "iat": iat,
        "exp": iat + 180,
        "qsh": qsh(&canonical),
        "sub": "user-1",
    });
    group.bench_function("hs256_sign", |b| {
        b.iter(|| hs256(black_box(&claims), black_box(SECRET)).expect("HS256 signs"))
    });

    // One redactor per principal, as in a run. Tokens repeat within the same
    // second (iat has second resolution), so its token set stays small.
    let redactor = Arc::new(Redactor::new());
    for placement in ["header", "query"] {
        let principal = connect_principal(placement, &redactor);
        for (name, url) in &cases {
            group.bench_function(format!("authorize_{placement}/{name}"), |b| {
                b.iter_batched_ref(
                    || {
                        http::Request::get(url.as_str())
                            .body(bytes::Bytes::new())
                            .expect("a request")
                    },
                    |request| {
                        runtime
                            .block_on(principal.authorize(request))
                            .expect("the request is signed")
                    },
                    BatchSize::SmallInput,
                )
            });
        }
    }
    group.finish();
}

criterion_group!(benches, canonicalizer, signer);
criterion_main!(benches);
