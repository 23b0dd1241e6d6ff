//! TLS targets: a self-signed certificate is a clear cell error; `tls.ca_file`
//! or `tls.insecure` accept it; `tls.client_cert`/`client_key` do mutual TLS;
//! a DNS failure (from an injected resolver, never a real DNS server) is a cell error.

mod common;

use std::io::Write as _;
use std::sync::Arc;

use common::Workspace;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn data(name: &str) -> String {
    format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// An HTTPS server answering `200 ok` to every request from a client that
/// offered ALPN `http/1.1` (`400` otherwise); with `require_client`, only to
/// clients showing a certificate from the test CA.
async fn tls_server(require_client: bool) -> String {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(data("tls-server.pem"))
        .expect("pem")
        .map(|c| c.expect("cert"))
        .collect();
    let key = PrivateKeyDer::from_pem_file(data("tls-server.key")).expect("key");
    let builder = rustls::ServerConfig::builder();
    let mut config = if require_client {
        let mut roots = rustls::RootCertStore::empty();
        for ca in CertificateDer::pem_file_iter(data("tls-ca.pem")).expect("pem") {
            roots.add(ca.expect("ca")).expect("add");
        }
        let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots))
            .build()
            .expect("verifier");
        builder
            .with_client_cert_verifier(verifier)
            .with_single_cert(certs, key)
            .expect("config")
    } else {
        builder
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("config")
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(stream).await else {
                    return;
                };
                let mut buf = [0u8; 4096];
                let _ = tls.read(&mut buf).await;
                let answer: &[u8] = if tls.get_ref().1.alpn_protocol() == Some(b"http/1.1") {
                    b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
                } else {
                    b"HTTP/1.1 400 No ALPN\r\ncontent-length: 7\r\nconnection: close\r\n\r\nno alpn"
                };
                let _ = tls.write_all(answer).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    format!("https://127.0.0.1:{}", addr.port())
}

fn suite(base: &str, tls: &str) -> String {
    format!(
        "suite: tls\ntarget: {{ base_url: \"{base}\", retries: 0{tls} }}\nprincipals: {{ p: {{ auth: none }} }}\nendpoints:\n  - {{ request: GET /x, expect: {{ p: 200 }} }}\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn self_signed_certificates_need_a_ca_file_or_insecure() {
    let base = tls_server(false).await;
    let ws = Workspace::new();
    // Retries allowed: a certificate that fails once fails every time, so it is not retried.
    ws.write(
        "s.yaml",
        &suite(&base, "").replace("retries: 0", "retries: 2"),
    );
    let out = ws.permatrix(&["run", "s.yaml", "--json", "r.json"]).await;
    assert_eq!(out.code, 1, "{}", out.all());
    let report = ws.json("r.json");
    assert_eq!(
        report["suites"][0]["cells"][0]["attempts"], 1,
        "a certificate failure is never retried: {report}"
    );
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("ERROR"))
        .unwrap_or_default();
    assert!(
        line.contains("no response: connection failed")
            && line.to_lowercase().contains("certificate"),
        "{}",
        out.stdout
    );

    ws.write(
        "s.yaml",
        &suite(
            &base,
            &format!(", tls: {{ ca_file: \"{}\" }}", data("tls-ca.pem")),
        ),
    );
    let out = ws.permatrix(&["run", "s.yaml"]).await;
    assert_eq!(out.code, 0, "{}", out.all());

    ws.write("s.yaml", &suite(&base, ", tls: { insecure: true }"));
    let out = ws.permatrix(&["run", "s.yaml"]).await;
    assert_eq!(out.code, 0, "{}", out.all());
}

#[tokio::test(flavor = "multi_thread")]
async fn mutual_tls_sends_the_client_certificate() {
    let base = tls_server(true).await;
    let ws = Workspace::new();
    let ca = format!(", tls: {{ ca_file: \"{}\"", data("tls-ca.pem"));
    ws.write("s.yaml", &suite(&base, &format!("{ca} }}")));
    let out = ws.permatrix(&["run", "s.yaml"]).await;
    assert_eq!(out.code, 1, "without a client certificate: {}", out.all());
    ws.write(
        "s.yaml",
        &suite(
            &base,
            &format!(
                "{ca}, client_cert: \"{}\", client_key: \"{}\" }}",
                data("tls-client.pem"),
                data("tls-client.key")
            ),
        ),
    );
    let out = ws.permatrix(&["run", "s.yaml"]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    ws.write(
        "s.yaml",
        &suite(
            &base,
            &format!("{ca}, client_cert: \"{}\" }}", data("tls-client.pem")),
        ),
    );
    let out = ws.permatrix(&["check", "s.yaml"]).await;
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr
            .contains("mutual TLS needs both `client_cert:` and `client_key:`"),
        "{}",
        out.stderr
    );
}

/// Fails every lookup, so no query ever leaves the machine.
struct NoDns;

impl reqwest::dns::Resolve for NoDns {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let name = name.as_str().to_string();
        Box::pin(async move { Err(format!("no such host: {name}").into()) })
    }
}

#[test]
fn a_dns_failure_is_a_cell_error() {
    let ws = Workspace::new();
    let file = ws.write("s.yaml", &suite("http://api.example.invalid", ""));
    let json = ws.path("r.json");
    let config = permatrix::app::RunConfig {
        paths: vec![file],
        exec: permatrix::execute::ExecOptions {
            resolver: Some(permatrix::execute::Resolver(Arc::new(NoDns))),
            ..Default::default()
        },
        reports: vec![permatrix::report::ReportFile {
            format: permatrix::report::Format::Json,
            path: json.clone(),
            mode: permatrix::report::WriteMode::Replace,
        }],
        ..Default::default()
    };
    let code = permatrix::app::exit_code(&permatrix::app::run(&config));
    let _ = std::io::stdout().flush();
    assert_eq!(code, 1);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json).expect("json")).expect("valid");
    let cell = &report["suites"][0]["cells"][0];
    assert_eq!(cell["error"]["kind"], "connect", "{cell}");
    assert!(
        cell["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("no such host: api.example.invalid")),
        "{cell}"
    );
}

/// `tls` paths take `${…}` from the suite's vars, `--var` and the environment,
/// relative to the suite file when they are relative.
#[tokio::test(flavor = "multi_thread")]
async fn tls_paths_take_variables() {
    let base = tls_server(true).await;
    let ws = Workspace::new();
    let data_dir = format!("{}/tests/data", env!("CARGO_MANIFEST_DIR"));
    let text = format!(
        "suite: tls\ntarget:\n  base_url: \"{base}\"\n  retries: 0\n  tls: {{ ca_file: \"${{TLS_DIR}}/tls-ca.pem\", client_cert: \"${{CERT}}\", client_key: \"${{KEY_NAME}}\" }}\nvars: {{ CERT: \"${{TLS_DIR}}/tls-client.pem\" }}\nprincipals: {{ p: {{ auth: none }} }}\nendpoints:\n  - {{ request: GET /x, expect: {{ p: 200 }} }}\n"
    );
    ws.write("s.yaml", &text);
    std::fs::copy(data("tls-client.key"), ws.path("client.key")).expect("copy key");
    let out = ws
        .permatrix_with_env(
            &["run", "s.yaml", "--var=KEY_NAME=client.key"],
            &[("TLS_DIR", &data_dir)],
        )
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let out = ws
        .permatrix(&["check", "s.yaml", "--var=KEY_NAME=client.key"])
        .await;
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr
            .contains("s.yaml:5:19: error: unresolved variable `${TLS_DIR}` in ca_file"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("mutual TLS needs both"),
        "a path that failed is not reported as missing: {}",
        out.stderr
    );
}

/// `explain` on an https cell says what TLS did: the CA file trusted, the
/// client certificate shown (subject and issuer, never its key) and the
/// server's certificate (subject, issuer, validity); a certificate failure
/// still names what was trusted.
#[tokio::test(flavor = "multi_thread")]
async fn explain_shows_the_certificates_of_a_tls_cell() {
    let base = tls_server(true).await;
    let ws = Workspace::new();
    let text = format!(
        "suite: tls\ntarget: {{ base_url: \"{base}\", retries: 0, tls: {{ ca_file: \"{}\", client_cert: \"{}\", client_key: \"{}\" }} }}\nprincipals: {{ p: {{ auth: none }} }}\nendpoints:\n  - {{ name: x, request: GET /x, expect: {{ p: 200 }} }}\n",
        data("tls-ca.pem"),
        data("tls-client.pem"),
        data("tls-client.key")
    );
    ws.write("s.yaml", &text);
    let out = ws
        .permatrix(&["explain", "s.yaml", "--endpoint", "x", "--principal", "p"])
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    for needle in [
        format!("tls      trusts the system's roots and {}", data("tls-ca.pem")),
        "client certificate: subject CN=permatrix client; issuer CN=permatrix test CA".into(),
        "server certificate: subject CN=127.0.0.1; issuer CN=permatrix test CA; valid 2026-11-29 02:46:08 UTC to 2126-11-05 02:46:08 UTC".into(),
    ] {
        assert!(out.stdout.contains(&needle), "missing {needle:?} in:\n{}", out.stdout);
    }
    let key = std::fs::read_to_string(data("tls-client.key")).expect("key");
    let key_body: String = key.lines().filter(|l| !l.starts_with("-----")).collect();
    assert!(!out.all().contains(&key_body[..40]), "{}", out.all());

    let plain = tls_server(false).await;
    ws.write(
        "u.yaml",
        &suite(&plain, "").replace("GET /x,", "GET /x, name: x,"),
    );
    let out = ws
        .permatrix(&["explain", "u.yaml", "--endpoint", "x", "--principal", "p"])
        .await;
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout.contains("tls      trusts the system's roots")
            && out.stdout.contains("server certificate: none received"),
        "{}",
        out.stdout
    );
}
