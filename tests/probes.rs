//! Tamper probes (issue 22): from each principal, derived callers
//! (`<principal>~<probe>`) with a tampered credential run on every endpoint
//! the principal reached, against a server whose routes each verify
//! credentials with one deliberate flaw (`tests/common/flawed_server.rs`).
//! Covered: each flaw caught by the probe meant for it (`accepted-tampered`,
//! shown first, exit 1); a correct verifier passing every probe and the
//! closing line's count; which probes each auth mode gets; probes only where
//! the principal reached and never on public endpoints; `--probes`, suite and
//! principal `probes:`; `expect_probes`; probe rows in snapshots and a probe
//! newly accepted classified as widened; derived credentials kept out of
//! every output.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::flawed_server::{
    self, ALICE_PASSWORD, API_KEY, CONNECT_SECRET, JWT_SECRET, READER_TOKEN,
};
use common::{Output, Workspace};
use serde_json::Value;

const BEARER_PROBES: &[&str] = &["none", "mangled", "truncated"];
const BASIC_PROBES: &[&str] = &["none", "wrong_password"];
/// For a `jwt` principal whose claims have both `aud` and `iss`.
const JWT_PROBES: &[&str] = &[
    "none",
    "bad_signature",
    "alg_none",
    "expired",
    "not_yet_valid",
    "wrong_audience",
    "wrong_issuer",
    "wrong_key",
];

/// `--var` arguments for every credential the suites use.
fn vars() -> Vec<String> {
    vec![
        format!("--var=READER_TOKEN={READER_TOKEN}"),
        format!("--var=JWT_SECRET={JWT_SECRET}"),
        format!("--var=ALICE_PASSWORD={ALICE_PASSWORD}"),
        format!("--var=API_KEY={API_KEY}"),
        format!("--var=CONNECT_SECRET={CONNECT_SECRET}"),
    ]
}

/// Runs permatrix with `args` and the credential variables.
async fn run(ws: &Workspace, args: &[&str]) -> Output {
    run_with_env(ws, args, &[]).await
}

async fn run_with_env(ws: &Workspace, args: &[&str], env: &[(&str, &str)]) -> Output {
    let vars = vars();
    let mut all: Vec<&str> = args.to_vec();
    all.extend(vars.iter().map(String::as_str));
    ws.permatrix_with_env(&all, env).await
}

fn anonymous() -> String {
    "  anonymous: { auth: none }\n".to_string()
}

/// The bearer principal; `extra` goes before its `auth:` (e.g. `probes: [], `).
fn reader(extra: &str) -> String {
    r#"  reader: { EXTRA auth: { bearer: { token: "${READER_TOKEN}" } } }
"#
    .replace("EXTRA", extra)
}

/// The self-signed HS256 JWT principal; its claims have `aud` and `iss`.
fn signer(extra: &str) -> String {
    r#"  signer: { EXTRA auth: { jwt: { algorithm: HS256, secret: "${JWT_SECRET}", claims: { sub: signer, aud: api, iss: permatrix-probes } } } }
"#
    .replace("EXTRA", extra)
}

/// The Basic principal.
fn alice(extra: &str) -> String {
    r#"  alice: { EXTRA auth: { basic: { username: alice, password: "${ALICE_PASSWORD}" } } }
"#
    .replace("EXTRA", extra)
}

/// A suite against `base`: `top` goes at the top level (`probes: all`…).
fn suite(name: &str, base: &str, top: &str, principals: &[String], endpoints: &str) -> String {
    let mut text =
        format!("suite: {name}\ntarget: {{ base_url: \"{base}\" }}\n{top}\nprincipals:\n");
    for principal in principals {
        text.push_str(principal);
    }
    text.push_str("endpoints:\n");
    text.push_str(endpoints);
    text
}

/// The cells of the report's first suite.
fn cells(report: &Value) -> Vec<&Value> {
    report["suites"][0]["cells"]
        .as_array()
        .unwrap_or_else(|| panic!("no cells in {report}"))
        .iter()
        .collect()
}

/// The cells of derived callers (`<principal>~<probe>`).
fn probe_cells(report: &Value) -> Vec<&Value> {
    cells(report)
        .into_iter()
        .filter(|c| c["principal"].as_str().is_some_and(|p| p.contains('~')))
        .collect()
}

/// (endpoint, principal) → outcome of every probe cell.
fn probe_outcomes(report: &Value) -> BTreeMap<(String, String), String> {
    probe_cells(report)
        .into_iter()
        .map(|c| {
            (
                (
                    c["endpoint"].as_str().unwrap_or_default().to_string(),
                    c["principal"].as_str().unwrap_or_default().to_string(),
                ),
                c["outcome"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// (endpoint, principal) of every probe cell.
fn probe_set(report: &Value) -> BTreeSet<(String, String)> {
    probe_outcomes(report).into_keys().collect()
}

/// `principal~probe` on `endpoint` for each probe.
fn expected_set(cells: &[(&str, &str, &[&str])]) -> BTreeSet<(String, String)> {
    cells
        .iter()
        .flat_map(|(endpoint, principal, probes)| {
            probes
                .iter()
                .map(move |p| (endpoint.to_string(), format!("{principal}~{p}")))
        })
        .collect()
}

/// The closing line: the last line of stdout.
fn closing(out: &Output) -> String {
    out.stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .to_string()
}

/// The closing line counts the probe cells the JSON report holds.
fn assert_probe_count(out: &Output, report: &Value, expected: usize) {
    let n = probe_cells(report).len();
    assert_eq!(n, expected, "probe cells in the report:\n{report:#}");
    let line = closing(out);
    assert!(
        line.contains(&format!("{n} probes")),
        "the closing line should say `{n} probes`: {line:?}\n{}",
        out.all()
    );
}

/// The probe cells of `principal` are exactly `probes` × the routes given,
/// `accepted-tampered` for the probes each route lets through and `passed`
/// for the others; each accepted one is shown as accepted in the terminal.
fn assert_caught(
    out: &Output,
    report: &Value,
    principal: &str,
    probes: &[&str],
    routes: &[(&str, &[&str])],
) {
    let mut expected = BTreeMap::new();
    for (endpoint, accepted) in routes {
        assert!(
            accepted.iter().all(|a| probes.contains(a)),
            "test table: {accepted:?} not among {probes:?}"
        );
        for probe in probes {
            let outcome = if accepted.contains(probe) {
                "accepted-tampered"
            } else {
                "passed"
            };
            expected.insert(
                (endpoint.to_string(), format!("{principal}~{probe}")),
                outcome.to_string(),
            );
        }
    }
    assert_eq!(probe_outcomes(report), expected, "{}", out.all());
    for (endpoint, accepted) in routes {
        let path = endpoint.split(' ').nth(1).unwrap_or(endpoint);
        for probe in *accepted {
            let name = format!("{principal}~{probe}");
            assert!(
                out.stdout.lines().any(|l| l.contains(&name)
                    && l.contains(path)
                    && l.to_lowercase().contains("accepted")),
                "no line says {endpoint} × {name} was accepted:\n{}",
                out.stdout
            );
        }
    }
    if routes.iter().any(|(_, accepted)| !accepted.is_empty()) {
        assert!(
            out.stdout.to_lowercase().contains("tampered"),
            "{}",
            out.stdout
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn each_flaw_is_caught_by_the_probe_meant_for_it() {
    let (base, _server) = flawed_server::start().await;
    let ws = Workspace::new();

    // Bearer: /presence takes any token. /broken fails for everyone and comes
    // first in the suite: the accepted probes are still shown before it.
    ws.write(
        "bearer.yaml",
        &suite(
            "bearer",
            &base,
            "probes: all",
            &[anonymous(), reader("")],
            r#"  - { request: GET /broken, expect: { "*": 200 } }
  - { request: GET /presence, expect: { reader: allow, "*": deny } }
  - { request: GET /bearer, expect: { reader: allow, "*": deny } }
  - { request: GET /public, expect: { "*": 200 } }
"#,
        ),
    );
    let out = run(&ws, &["run", "bearer.yaml", "--json", "bearer.json"]).await;
    assert_eq!(out.code, 1, "{}", out.all());
    let report = ws.json("bearer.json");
    assert_caught(
        &out,
        &report,
        "reader",
        BEARER_PROBES,
        &[
            ("GET /presence", &["mangled", "truncated"][..]),
            ("GET /bearer", &[][..]),
        ],
    );
    assert_probe_count(&out, &report, 6);
    let lines: Vec<&str> = out.stdout.lines().collect();
    let first_accepted = lines
        .iter()
        .position(|l| l.to_lowercase().contains("accepted"))
        .unwrap_or_else(|| panic!("no accepted line:\n{}", out.stdout));
    let first_broken = lines
        .iter()
        .position(|l| l.contains("/broken"))
        .unwrap_or_else(|| panic!("no failing line for /broken:\n{}", out.stdout));
    assert!(
        first_accepted < first_broken,
        "accepted tampered credentials lead the failing lines:\n{}",
        out.stdout
    );
    assert_eq!(
        cell_outcome(&report, "GET /broken", "reader"),
        "failed",
        "{}",
        out.all()
    );

    // JWT: one route per flaw, and a correct one.
    ws.write(
        "jwt.yaml",
        &suite(
            "jwt",
            &base,
            "probes: all",
            &[anonymous(), signer("")],
            r#"  - { request: GET /nosig, expect: { signer: allow, "*": deny } }
  - { request: GET /noexp, expect: { signer: allow, "*": deny } }
  - { request: GET /noaud, expect: { signer: allow, "*": deny } }
  - { request: GET /algfromheader, expect: { signer: allow, "*": deny } }
  - { request: GET /correct, expect: { signer: allow, "*": deny } }
  - { request: GET /public, expect: { "*": 200 } }
"#,
        ),
    );
    let out = run(&ws, &["run", "jwt.yaml", "--json", "jwt.json"]).await;
    assert_eq!(out.code, 1, "{}", out.all());
    let report = ws.json("jwt.json");
    assert_caught(
        &out,
        &report,
        "signer",
        JWT_PROBES,
        &[
            // The signature is never looked at: altered, another key's, or none.
            (
                "GET /nosig",
                &["bad_signature", "wrong_key", "alg_none"][..],
            ),
            ("GET /noexp", &["expired", "not_yet_valid"][..]),
            ("GET /noaud", &["wrong_audience"][..]),
            ("GET /algfromheader", &["alg_none"][..]),
            ("GET /correct", &[][..]),
        ],
    );
    assert_probe_count(&out, &report, 5 * JWT_PROBES.len());
    for endpoint in ["GET /nosig", "GET /noexp", "GET /correct"] {
        assert_eq!(cell_outcome(&report, endpoint, "signer"), "passed");
    }

    // Basic: /basic checks the user name only.
    ws.write(
        "basic.yaml",
        &suite(
            "basic",
            &base,
            "probes: all",
            &[anonymous(), alice("")],
            r#"  - { request: GET /basic, expect: { alice: allow, "*": deny } }
  - { request: GET /basic-correct, expect: { alice: allow, "*": deny } }
  - { request: GET /public, expect: { "*": 200 } }
"#,
        ),
    );
    let out = run(&ws, &["run", "basic.yaml", "--json", "basic.json"]).await;
    assert_eq!(out.code, 1, "{}", out.all());
    let report = ws.json("basic.json");
    assert_caught(
        &out,
        &report,
        "alice",
        BASIC_PROBES,
        &[
            ("GET /basic", &["wrong_password"][..]),
            ("GET /basic-correct", &[][..]),
        ],
    );
    assert_probe_count(&out, &report, 4);
}

fn cell_outcome(report: &Value, endpoint: &str, principal: &str) -> String {
    common::cell(report, endpoint, principal)["outcome"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_auth_mode_gets_the_probes_that_apply_to_it() {
    let (base, _server) = flawed_server::start().await;
    let ws = Workspace::new();
    // /anything takes any credential, so every principal but anonymous
    // reaches it and gets every probe of its mode there.
    let principals = [
        anonymous(),
        reader(""),
        r#"  keyed: { auth: { header: { name: X-API-Key, value: "${API_KEY}" } } }
"#
        .to_string(),
        r#"  queried: { auth: { query: { name: api_key, value: "${API_KEY}" } } }
"#
        .to_string(),
        r#"  cookied: { auth: { cookie: { name: sid, value: "${API_KEY}" } } }
"#
        .to_string(),
        alice(""),
        signer(""),
        r#"  bare: { auth: { jwt: { algorithm: HS256, secret: "${JWT_SECRET}", claims: { role: bare } } } }
"#
        .to_string(),
        r#"  app: { auth: { connect_jwt: { issuer: probe-app, secret: "${CONNECT_SECRET}" } } }
"#
        .to_string(),
        r#"  web: { auth: { login: { request: POST /login, json: { username: alice, password: "${ALICE_PASSWORD}" }, token: /auth/token } } }
"#
        .to_string(),
    ];
    ws.write(
        "modes.yaml",
        &suite(
            "modes",
            &base,
            "probes: all",
            &principals,
            r#"  - { request: GET /anything, expect: { anonymous: deny, "*": allow } }
"#,
        ),
    );
    let out = run(&ws, &["run", "modes.yaml", "--json", "r.json"]).await;
    // /anything lets every tampered credential through.
    assert_eq!(out.code, 1, "{}", out.all());
    let report = ws.json("r.json");
    let tampered_key: &[&str] = &["none", "mangled", "truncated"];
    let jwt_bare: &[&str] = &[
        "none",
        "bad_signature",
        "alg_none",
        "expired",
        "not_yet_valid",
        "wrong_key",
    ];
    // connect_jwt always has `iss` (the app key); no `aud` without `audience`.
    let connect: &[&str] = &[
        "none",
        "bad_signature",
        "alg_none",
        "expired",
        "not_yet_valid",
        "wrong_issuer",
        "wrong_key",
        "wrong_qsh",
        "no_qsh",
    ];
    let expected = expected_set(&[
        ("GET /anything", "reader", tampered_key),
        ("GET /anything", "keyed", tampered_key),
        ("GET /anything", "queried", tampered_key),
        ("GET /anything", "cookied", tampered_key),
        ("GET /anything", "alice", BASIC_PROBES),
        ("GET /anything", "signer", JWT_PROBES),
        ("GET /anything", "bare", jwt_bare),
        ("GET /anything", "app", connect),
        ("GET /anything", "web", &["none", "stale_session"]),
    ]);
    assert_eq!(probe_set(&report), expected, "{}", out.all());
    // Nothing for a principal without credentials.
    assert!(
        probe_cells(&report).iter().all(|c| !c["principal"]
            .as_str()
            .unwrap_or_default()
            .starts_with("anonymous~")),
        "{report:#}"
    );
    // The `none` probe sends no credential at all: /anything refuses it.
    for cell in probe_cells(&report) {
        let principal = cell["principal"].as_str().unwrap_or_default();
        if principal.ends_with("~none") {
            assert_eq!(cell["status"], 401, "{cell}");
            assert_eq!(cell["outcome"], "passed", "{cell}");
        }
    }
    assert_eq!(
        cell_outcome(&report, "GET /anything", "keyed~mangled"),
        "accepted-tampered"
    );
    assert_probe_count(&out, &report, expected.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn correct_verifiers_refuse_every_probe() {
    let (base, server) = flawed_server::start().await;
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &suite(
            "correct",
            &base,
            "probes: all",
            &[anonymous(), reader(""), signer(""), alice("")],
            r#"  - { request: GET /bearer, expect: { reader: allow, "*": deny } }
  - { request: GET /correct, expect: { signer: allow, "*": deny } }
  - { request: GET /basic-correct, expect: { alice: allow, "*": deny } }
  - { request: GET /public, expect: { "*": 200 } }
"#,
        ),
    );
    let out = run(&ws, &["run", "s.yaml", "--json", "r.json"]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report = ws.json("r.json");
    let expected = expected_set(&[
        ("GET /bearer", "reader", BEARER_PROBES),
        ("GET /correct", "signer", JWT_PROBES),
        ("GET /basic-correct", "alice", BASIC_PROBES),
    ]);
    assert_eq!(probe_set(&report), expected, "{}", out.all());
    for cell in probe_cells(&report) {
        assert_eq!(cell["outcome"], "passed", "{cell}");
        assert_eq!(cell["status"], 401, "{cell}");
    }
    assert_probe_count(&out, &report, 3 + 8 + 2);
    // Every probe but `none` sent a credential, none of them genuine.
    assert_eq!(
        server.all_derived().len(),
        13 - 3,
        "{:#?}",
        server.all_derived()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn probes_run_only_where_the_principal_reached_and_never_on_public_endpoints() {
    let (base, server) = flawed_server::start().await;
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &suite(
            "reach",
            &base,
            "probes: all",
            &[anonymous(), reader("")],
            r#"  - { request: GET /forbidden, expect: { reader: 403, anonymous: 401 } }
  - { request: GET /bearer, expect: { reader: allow, "*": deny } }
  - { request: GET /public, expect: { "*": 200 } }
"#,
        ),
    );
    let out = run(&ws, &["run", "s.yaml", "--json", "r.json"]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report = ws.json("r.json");
    assert_eq!(
        probe_set(&report),
        expected_set(&[("GET /bearer", "reader", BEARER_PROBES)]),
        "{}",
        out.all()
    );
    assert_probe_count(&out, &report, 3);
    // The server saw only the two principals on /forbidden and /public: no
    // derived caller (not even the credential-less `none` probe).
    for path in ["/forbidden", "/public"] {
        let seen = server.requests(path);
        assert_eq!(seen.len(), 2, "{path}: {seen:#?}");
        assert!(server.derived(path).is_empty(), "{path}: {seen:#?}");
    }
    // On /bearer: the two principals, `none` (no credential), `mangled` and `truncated`.
    assert_eq!(
        server.requests("/bearer").len(),
        5,
        "{:#?}",
        server.requests("/bearer")
    );
    assert_eq!(
        server.derived("/bearer").len(),
        2,
        "{:#?}",
        server.requests("/bearer")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_probes_flag_and_the_suite_and_principal_lists_choose_the_probes() {
    let (base, server) = flawed_server::start().await;
    let ws = Workspace::new();
    const ENDPOINTS: &str = r#"  - { request: GET /bearer, expect: { reader: allow, "*": deny } }
  - { name: bearer again, request: "GET /bearer?again=1", expect: { reader: allow, "*": deny } }
  - { request: GET /correct, expect: { signer: allow, "*": deny } }
  - { request: GET /basic-correct, expect: { alice: allow, "*": deny } }
  - { request: GET /public, expect: { "*": 200 } }
"#;
    let write = |file: &str, top: &str, reader_extra: &str| {
        ws.write(
            file,
            &suite(
                "choose",
                &base,
                top,
                &[anonymous(), reader(reader_extra), signer(""), alice("")],
                ENDPOINTS,
            ),
        );
    };
    let bearer_twice = |probes: &'static [&'static str]| {
        [
            ("GET /bearer", "reader", probes),
            ("bearer again", "reader", probes),
        ]
    };

    // --probes none: nothing derived, nothing counted.
    write("all.yaml", "probes: all", "");
    let out = run(
        &ws,
        &["run", "all.yaml", "--json", "r.json", "--probes", "none"],
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report = ws.json("r.json");
    assert!(probe_cells(&report).is_empty(), "{report:#}");
    assert!(!closing(&out).contains("probe"), "{}", closing(&out));
    assert!(
        server.all_derived().is_empty(),
        "{:#?}",
        server.all_derived()
    );
    assert_eq!(
        server.requests("/bearer").len(),
        8,
        "4 principals × 2 endpoints"
    );
    server.clear();

    // --probes mangled: that one only, where it applies (bearer).
    let out = run(
        &ws,
        &["run", "all.yaml", "--json", "r.json", "--probes", "mangled"],
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report = ws.json("r.json");
    assert_eq!(
        probe_set(&report),
        expected_set(&bearer_twice(&["mangled"])),
        "{}",
        out.all()
    );
    assert_probe_count(&out, &report, 2);
    assert_eq!(server.all_derived().len(), 2, "{:#?}", server.all_derived());
    server.clear();

    // A comma-separated list.
    let out = run(
        &ws,
        &[
            "run",
            "all.yaml",
            "--json",
            "r.json",
            "--probes",
            "mangled,wrong_password",
        ],
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report = ws.json("r.json");
    let mut expected = expected_set(&bearer_twice(&["mangled"]));
    expected.extend(expected_set(&[(
        "GET /basic-correct",
        "alice",
        &["wrong_password"],
    )]));
    assert_eq!(probe_set(&report), expected, "{}", out.all());
    assert_probe_count(&out, &report, 3);

    // A principal's `probes: []` turns them off for it alone.
    write("off.yaml", "probes: all", "probes: [], ");
    let out = run(&ws, &["run", "off.yaml", "--json", "r.json"]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report = ws.json("r.json");
    assert_eq!(
        probe_set(&report),
        expected_set(&[
            ("GET /correct", "signer", JWT_PROBES),
            ("GET /basic-correct", "alice", BASIC_PROBES),
        ]),
        "{}",
        out.all()
    );
    assert_probe_count(&out, &report, 8 + 2);

    // A suite list, and a principal's own list instead of it; a probe that
    // does not apply to a principal's mode is not derived for it.
    write(
        "lists.yaml",
        "probes: [none, wrong_password]",
        "probes: [truncated], ",
    );
    let out = run(&ws, &["run", "lists.yaml", "--json", "r.json"]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report = ws.json("r.json");
    let mut expected = expected_set(&bearer_twice(&["truncated"]));
    expected.extend(expected_set(&[
        ("GET /correct", "signer", &["none"]),
        ("GET /basic-correct", "alice", BASIC_PROBES),
    ]));
    assert_eq!(probe_set(&report), expected, "{}", out.all());
    assert_probe_count(&out, &report, 2 + 1 + 2);

    // --probes wins over the suite's and the principal's lists.
    write("flag.yaml", "probes: [none]", "probes: [], ");
    let out = run(
        &ws,
        &["run", "flag.yaml", "--json", "r.json", "--probes", "all"],
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report = ws.json("r.json");
    let mut expected = expected_set(&bearer_twice(BEARER_PROBES));
    expected.extend(expected_set(&[
        ("GET /correct", "signer", JWT_PROBES),
        ("GET /basic-correct", "alice", BASIC_PROBES),
    ]));
    assert_eq!(probe_set(&report), expected, "{}", out.all());
    assert_probe_count(&out, &report, 6 + 8 + 2);
    let out = run(
        &ws,
        &["run", "flag.yaml", "--json", "r.json", "--probes", "none"],
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(probe_cells(&ws.json("r.json")).is_empty(), "{}", out.all());
}

#[tokio::test(flavor = "multi_thread")]
async fn expect_probes_sets_what_a_probe_must_get() {
    let (base, _server) = flawed_server::start().await;
    let ws = Workspace::new();
    // /hidden answers 404 to any token but the genuine one (401 without one);
    // /crashy answers 500 to them.
    ws.write(
        "hiding.yaml",
        &suite(
            "hiding",
            &base,
            "probes: all\nexpect_probes: 404",
            &[anonymous(), reader("")],
            r#"  - { request: GET /hidden, expect: { reader: allow, "*": deny } }
  - { request: GET /crashy, expect: { reader: allow, "*": deny } }
"#,
        ),
    );
    let out = run(&ws, &["run", "hiding.yaml", "--json", "r.json"]).await;
    assert_eq!(out.code, 1, "{}", out.all());
    let report = ws.json("r.json");
    let expected: BTreeMap<(String, String), String> = [
        ("GET /hidden", "reader~none", "failed", 401),
        ("GET /hidden", "reader~mangled", "passed", 404),
        ("GET /hidden", "reader~truncated", "passed", 404),
        ("GET /crashy", "reader~none", "failed", 401),
        ("GET /crashy", "reader~mangled", "failed", 500),
        ("GET /crashy", "reader~truncated", "failed", 500),
    ]
    .into_iter()
    .map(|(endpoint, principal, outcome, status)| {
        assert_eq!(
            common::cell(&report, endpoint, principal)["status"],
            status,
            "{endpoint} × {principal}"
        );
        (
            (endpoint.to_string(), principal.to_string()),
            outcome.to_string(),
        )
    })
    .collect();
    assert_eq!(probe_outcomes(&report), expected, "{}", out.all());
    assert_eq!(cell_outcome(&report, "GET /hidden", "reader"), "passed");
    assert!(
        !out.stdout.lines().any(|l| l.contains("reader~")
            && l.to_lowercase().contains("accepted")
            && l.to_lowercase().contains("tampered")),
        "a 401 or a 500 is not an accepted tampered credential:\n{}",
        out.stdout
    );

    // A principal's own expect_probes wins over the suite's.
    ws.write(
        "own.yaml",
        &suite(
            "own",
            &base,
            "probes: all\nexpect_probes: 404",
            &[anonymous(), reader("expect_probes: [401, 404], ")],
            r#"  - { request: GET /hidden, expect: { reader: allow, "*": deny } }
"#,
        ),
    );
    let out = run(&ws, &["run", "own.yaml", "--json", "r.json"]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report = ws.json("r.json");
    assert_eq!(probe_cells(&report).len(), 3, "{}", out.all());
    assert!(
        probe_cells(&report)
            .iter()
            .all(|c| c["outcome"] == "passed")
    );

    // Without expect_probes a probe must be denied (401 or 403): a 404 fails,
    // as a plain failure.
    ws.write(
        "default.yaml",
        &suite(
            "default",
            &base,
            "probes: all",
            &[anonymous(), reader("")],
            r#"  - { request: GET /hidden, expect: { reader: allow, "*": deny } }
"#,
        ),
    );
    let out = run(&ws, &["run", "default.yaml", "--json", "r.json"]).await;
    assert_eq!(out.code, 1, "{}", out.all());
    let report = ws.json("r.json");
    assert_eq!(
        cell_outcome(&report, "GET /hidden", "reader~none"),
        "passed"
    );
    assert_eq!(
        cell_outcome(&report, "GET /hidden", "reader~mangled"),
        "failed"
    );
    assert_eq!(
        cell_outcome(&report, "GET /hidden", "reader~truncated"),
        "failed"
    );
}

/// Endpoint → its rows (`  principal → status`) in a snapshot's text.
fn snapshot_rows(text: &str) -> BTreeMap<String, Vec<String>> {
    let body = text.splitn(3, "---\n").nth(2).unwrap_or(text);
    let mut rows: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current = String::new();
    for line in body.lines() {
        if line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            current = line.to_string();
            rows.entry(current.clone()).or_default();
        } else if line.starts_with("  ") && !line.starts_with("    ") {
            rows.entry(current.clone())
                .or_default()
                .push(line.trim().to_string());
        }
    }
    rows
}

#[tokio::test(flavor = "multi_thread")]
async fn probe_rows_are_snapshotted_and_a_newly_accepted_probe_is_widened() {
    let (base, server) = flawed_server::start().await;
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &suite(
            "probe-snap",
            &base,
            "probes: all",
            &[anonymous(), reader("")],
            r#"  - { request: GET /toggle, expect: { reader: allow, "*": deny } }
  - { request: GET /public, expect: { "*": 200 } }
"#,
        ),
    );
    let out = run(&ws, &["run", "s.yaml", "--snapshots", "snaps"]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let text = ws.read("snaps/probe-snap.snap");
    let rows = snapshot_rows(&text);
    let toggle = rows
        .get("GET /toggle")
        .unwrap_or_else(|| panic!("no GET /toggle in {text}"));
    for row in [
        "anonymous → 401",
        "reader → 200",
        "reader~none → 401",
        "reader~mangled → 401",
        "reader~truncated → 401",
    ] {
        assert!(toggle.iter().any(|r| r == row), "no `{row}` in:\n{text}");
    }
    assert!(text.contains("\n  reader~mangled → 401\n"), "{text}");
    let public = rows
        .get("GET /public")
        .unwrap_or_else(|| panic!("no GET /public in {text}"));
    assert!(public.iter().all(|r| !r.contains('~')), "{text}");

    // Unchanged server: unchanged snapshot.
    let out = run(&ws, &["run", "s.yaml", "--snapshots", "snaps"]).await;
    assert_eq!(out.code, 0, "{}", out.all());

    // Now /toggle takes any token: the probes get in.
    server.set_lax(true);
    let out = run(
        &ws,
        &["run", "s.yaml", "--snapshots", "snaps", "--json", "r.json"],
    )
    .await;
    assert_eq!(out.code, 1, "{}", out.all());
    for principal in ["reader~mangled", "reader~truncated"] {
        assert!(
            out.stdout
                .lines()
                .any(|l| l.contains("widened") && l.contains(principal)),
            "no widened line for {principal}:\n{}",
            out.stdout
        );
    }
    let report = ws.json("r.json");
    assert_eq!(
        cell_outcome(&report, "GET /toggle", "reader~mangled"),
        "accepted-tampered"
    );
    assert_eq!(
        cell_outcome(&report, "GET /toggle", "reader~none"),
        "passed"
    );
    let new = ws.read("snaps/probe-snap.snap.new");
    assert!(new.contains("\n  reader~mangled → 200\n"), "{new}");
    assert!(new.contains("\n  reader~none → 401\n"), "{new}");
    assert_eq!(
        ws.read("snaps/probe-snap.snap"),
        text,
        "the recorded snapshot is untouched"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn derived_credentials_appear_in_no_output() {
    let (base, server) = flawed_server::start().await;
    let ws = Workspace::new();
    // /echo takes any Authorization and echoes it in its body: every
    // tampered credential is accepted there, so it is a failing cell with an
    // excerpt, a curl line and an annotation.
    ws.write(
        "s.yaml",
        &suite(
            "secrets",
            &base,
            "probes: all",
            &[anonymous(), reader(""), signer(""), alice("")],
            r#"  - { request: GET /echo, expect: { anonymous: deny, "*": allow } }
  - { request: GET /bearer, expect: { reader: allow, "*": deny } }
  - { request: GET /correct, expect: { signer: allow, "*": deny } }
  - { request: GET /basic-correct, expect: { alice: allow, "*": deny } }
"#,
        ),
    );
    let summary = ws.path("summary.md");
    let summary_env = summary.to_string_lossy().into_owned();
    let mut outputs: Vec<(String, String)> = Vec::new();
    for extra in [&[][..], &["--quiet"][..]] {
        let mut args = vec!["run", "s.yaml", "--curl"];
        args.extend(common::EVERY_REPORT);
        args.extend(extra);
        let out = run_with_env(
            &ws,
            &args,
            &[
                ("GITHUB_ACTIONS", "true"),
                ("GITHUB_STEP_SUMMARY", summary_env.as_str()),
            ],
        )
        .await;
        assert_eq!(out.code, 1, "{}", out.all());
        let report = ws.json("r.json");
        assert_eq!(
            cell_outcome(&report, "GET /echo", "reader~mangled"),
            "accepted-tampered",
            "{}",
            out.all()
        );
        let label = format!("run {extra:?}");
        outputs.push((format!("{label} stdout"), out.stdout));
        outputs.push((format!("{label} stderr"), out.stderr));
        for file in ["r.json", "r.xml", "r.md", "r.html"] {
            outputs.push((format!("{label} {file}"), ws.read(file)));
        }
        for file in ["snaps/secrets.snap", "snaps/secrets.snap.new"] {
            if let Ok(text) = std::fs::read_to_string(ws.path(file)) {
                outputs.push((format!("{label} {file}"), text));
            }
        }
    }
    if let Ok(text) = std::fs::read_to_string(&summary) {
        outputs.push(("step summary".into(), text));
    }

    let derived = server.all_derived();
    let mut secrets: Vec<String> = derived.iter().flat_map(|s| s.secret_values()).collect();
    secrets.sort();
    secrets.dedup();
    // What was tampered with, from each mode: a bearer token, a re-signed or
    // unsigned JWT, a Basic pair with another password.
    let has = |pred: &dyn Fn(&str) -> bool| secrets.iter().any(|s| pred(s));
    assert!(
        has(&|s| s.starts_with("Bearer ") && !s.starts_with("Bearer eyJ")),
        "no tampered bearer token seen: {secrets:#?}"
    );
    assert!(
        has(&|s| s.starts_with("Bearer eyJ")),
        "no tampered JWT seen: {secrets:#?}"
    );
    assert!(
        has(&|s| s.starts_with("Basic ")),
        "no tampered Basic credential seen: {secrets:#?}"
    );
    // The originals too, as before.
    secrets.extend([READER_TOKEN, JWT_SECRET, ALICE_PASSWORD].map(String::from));
    for (name, text) in &outputs {
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{name} carries the derived credential {secret:?}:\n{text}"
            );
        }
    }
}

/// What the review found: `--principal reader` still knows `/public` is
/// public (the anonymous cell runs with it), and a filtered run keeps the
/// probe rows it did not select (the snapshot does not change).
#[tokio::test(flavor = "multi_thread")]
async fn selected_runs_keep_public_endpoints_and_unselected_probe_rows() {
    let (base, _server) = flawed_server::start().await;
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &suite(
            "selected",
            &base,
            "probes: all",
            &[anonymous(), reader(""), alice("")],
            r#"  - { request: GET /bearer, expect: { reader: allow, "*": deny } }
  - { request: GET /basic-correct, expect: { alice: allow, "*": deny } }
  - { request: GET /public, expect: { "*": 200 } }
"#,
        ),
    );
    let out = run(&ws, &["run", "s.yaml", "--snapshots", "snaps"]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let out = run(
        &ws,
        &[
            "run",
            "s.yaml",
            "--snapshots",
            "snaps",
            "--principal",
            "reader",
            "--json",
            "r.json",
        ],
    )
    .await;
    assert_eq!(
        out.code,
        0,
        "a public endpoint is no accepted probe: {}",
        out.all()
    );
    let report = ws.json("r.json");
    assert!(
        probe_cells(&report)
            .iter()
            .all(|c| c["endpoint"] != "GET /public"),
        "{report}"
    );
    let out = run(
        &ws,
        &["run", "s.yaml", "--snapshots", "snaps", "--filter", "basic"],
    )
    .await;
    assert_eq!(out.code, 0, "unselected probe rows are kept: {}", out.all());
    assert!(!out.all().contains("removed"), "{}", out.all());
}

/// The classic algorithm confusion: a verifier that takes the algorithm from
/// the token and uses the RS256 public key as the HMAC secret of an HS256
/// token lets `other_algorithm` in; a verifier that insists on RS256 does not.
#[tokio::test(flavor = "multi_thread")]
async fn other_algorithm_catches_a_verifier_confused_by_the_tokens_alg() {
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::get;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use hmac::{KeyInit, Mac};
    let root = env!("CARGO_MANIFEST_DIR");
    let public = std::fs::read(format!("{root}/tests/data/rsa_public.pem")).expect("public key");
    let token = |headers: &HeaderMap| {
        headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_string)
    };
    let rs256 = {
        let public = public.clone();
        move |token: &str| {
            let key = jsonwebtoken::DecodingKey::from_rsa_pem(&public).expect("rsa key");
            let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
            validation.required_spec_claims.clear();
            validation.validate_nbf = true;
            jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation).is_ok()
        }
    };
    let confused = {
        let (public, rs256) = (public.clone(), rs256.clone());
        move |headers: HeaderMap| {
            let (public, rs256) = (public.clone(), rs256.clone());
            async move {
                let Some(token) = token(&headers) else {
                    return StatusCode::UNAUTHORIZED;
                };
                let parts: Vec<&str> = token.split('.').collect();
                let alg = URL_SAFE_NO_PAD
                    .decode(parts[0])
                    .ok()
                    .and_then(|h| serde_json::from_slice::<serde_json::Value>(&h).ok())
                    .and_then(|h| h["alg"].as_str().map(str::to_string))
                    .unwrap_or_default();
                let ok = match alg.as_str() {
                    "HS256" if parts.len() == 3 => {
                        let mut mac =
                            hmac::Hmac::<sha2::Sha256>::new_from_slice(&public).expect("key");
                        mac.update(format!("{}.{}", parts[0], parts[1]).as_bytes());
                        URL_SAFE_NO_PAD
                            .decode(parts[2])
                            .is_ok_and(|sig| mac.verify_slice(&sig).is_ok())
                    }
                    _ => rs256(&token),
                };
                if ok {
                    StatusCode::OK
                } else {
                    StatusCode::UNAUTHORIZED
                }
            }
        }
    };
    let strict = move |headers: HeaderMap| {
        let rs256 = rs256.clone();
        async move {
            match token(&headers) {
                Some(token) if rs256(&token) => StatusCode::OK,
                _ => StatusCode::UNAUTHORIZED,
            }
        }
    };
    let app = axum::Router::new()
        .route("/confused", get(confused))
        .route("/strict", get(strict));
    let base = common::serve(app).await;
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &format!(
            r#"suite: confusion
target: {{ base_url: "{base}" }}
probes: all
principals:
  gateway: {{ auth: {{ jwt: {{ algorithm: RS256, private_key_file: "{root}/tests/data/rsa_private.pem", claims: {{ sub: g }} }} }} }}
endpoints:
  - {{ request: GET /confused, expect: {{ "*": 200 }} }}
  - {{ request: GET /strict, expect: {{ "*": 200 }} }}
"#
        ),
    );
    let out = ws
        .permatrix(&["run", "s.yaml", "--json", "r.json", "--no-snapshot"])
        .await;
    assert_eq!(out.code, 1, "{}", out.all());
    let report = ws.json("r.json");
    assert_eq!(
        cell_outcome(&report, "GET /confused", "gateway~other_algorithm"),
        "accepted-tampered"
    );
    assert_eq!(
        cell_outcome(&report, "GET /strict", "gateway~other_algorithm"),
        "passed"
    );
    assert!(
        probe_cells(&report)
            .iter()
            .filter(|c| c["outcome"] == "accepted-tampered")
            .all(|c| c["principal"] == "gateway~other_algorithm"),
        "only the confusion is let in: {report}"
    );
}

/// A grant's access token is probed when it is a JWT (its signature and
/// algorithm can be broken without the server's key), and the probe is
/// skipped, saying why, when it is not.
#[tokio::test(flavor = "multi_thread")]
async fn a_grants_access_token_is_probed_when_it_is_a_jwt() {
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::{get, post};
    const SECRET: &[u8] = b"token-server-signing-secret-41";
    let issue = |jwt: bool| {
        move || async move {
            let token = if jwt {
                let claims = serde_json::json!({"sub": "svc", "exp": 4_000_000_000u64});
                jsonwebtoken::encode(
                    &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
                    &claims,
                    &jsonwebtoken::EncodingKey::from_secret(SECRET).expect("key"),
                )
                .expect("token")
            } else {
                "opaque-access-token-5521".to_string()
            };
            axum::Json(
                serde_json::json!({"access_token": token, "token_type": "Bearer", "expires_in": 900}),
            )
        }
    };
    let bearer = |headers: &HeaderMap| {
        headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_string)
            .unwrap_or_default()
    };
    let verified = move |headers: HeaderMap| async move {
        let token = bearer(&headers);
        let key = jsonwebtoken::DecodingKey::from_secret(SECRET).expect("key");
        let ok = jsonwebtoken::decode::<serde_json::Value>(
            &token,
            &key,
            &jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256),
        )
        .is_ok()
            || token == "opaque-access-token-5521";
        if ok {
            StatusCode::OK
        } else {
            StatusCode::UNAUTHORIZED
        }
    };
    let unverified = move |headers: HeaderMap| async move {
        // Reads the claims, never the signature.
        let token = bearer(&headers);
        if token.split('.').count() == 3 || token == "opaque-access-token-5521" {
            StatusCode::OK
        } else {
            StatusCode::UNAUTHORIZED
        }
    };
    let app = axum::Router::new()
        .route("/jwt-token", post(issue(true)))
        .route("/opaque-token", post(issue(false)))
        .route("/verified", get(verified))
        .route("/unverified", get(unverified));
    let base = common::serve(app).await;
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &format!(
            r#"suite: grants
target: {{ base_url: "{base}" }}
probes: [bad_signature, alg_none, wrong_key]
principals:
  jwtsvc: {{ auth: {{ client_credentials: {{ token_url: /jwt-token, client_id: c, client_secret: s3cr3t-client }} }} }}
  opaque: {{ auth: {{ client_credentials: {{ token_url: /opaque-token, client_id: c, client_secret: s3cr3t-client }} }} }}
endpoints:
  - {{ request: GET /verified, expect: {{ "*": 200 }} }}
  - {{ request: GET /unverified, expect: {{ "*": 200 }} }}
"#
        ),
    );
    let out = ws
        .permatrix(&["run", "s.yaml", "--json", "r.json", "--no-snapshot"])
        .await;
    assert_eq!(out.code, 1, "{}", out.all());
    let report = ws.json("r.json");
    for probe in ["bad_signature", "alg_none", "wrong_key"] {
        let principal = format!("jwtsvc~{probe}");
        assert_eq!(cell_outcome(&report, "GET /verified", &principal), "passed");
        assert_eq!(
            cell_outcome(&report, "GET /unverified", &principal),
            "accepted-tampered"
        );
        let opaque = format!("opaque~{probe}");
        assert_eq!(cell_outcome(&report, "GET /verified", &opaque), "skipped");
    }
    assert!(
        out.all().contains("the access token is not a JWT"),
        "{}",
        out.all()
    );
}

/// How an accepted probe reads outside the terminal: a JUnit failure of its
/// own type, a GitHub error annotation, and `explain` naming the probe and
/// showing the altered JWT decoded.
#[tokio::test(flavor = "multi_thread")]
async fn an_accepted_probe_reads_in_junit_github_and_explain() {
    let (base, _server) = flawed_server::start().await;
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &suite(
            "reads",
            &base,
            "probes: [bad_signature]",
            &[signer("")],
            "  - { request: GET /nosig, expect: { signer: allow } }\n",
        ),
    );
    let out = run_with_env(
        &ws,
        &["run", "s.yaml", "--junit", "j.xml", "--no-snapshot"],
        &[("GITHUB_ACTIONS", "true")],
    )
    .await;
    assert_eq!(out.code, 1, "{}", out.all());
    let junit = ws.read("j.xml");
    assert!(junit.contains("type=\"accepted-tampered\""), "{junit}");
    assert!(
        out.stdout.lines().any(|l| l.starts_with("::error ")
            && l.contains("signer~bad_signature")
            && l.contains("accepted a tampered credential")),
        "{}",
        out.stdout
    );
    let explained = run(
        &ws,
        &[
            "explain",
            "s.yaml",
            "--endpoint",
            "GET /nosig",
            "--principal",
            "signer~bad_signature",
        ],
    )
    .await;
    let text = explained.stdout.clone();
    assert!(
        text.contains("probe bad_signature: the JWT's signature bytes altered"),
        "{text}"
    );
    assert!(
        text.contains("claims {") && text.contains("\"sub\":\"signer\""),
        "{text}"
    );
    assert!(
        text.contains("ACCEPTED-TAMPERED") || text.contains("accepted a tampered credential"),
        "{text}"
    );
}
