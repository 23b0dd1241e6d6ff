//! How cells reach the target: each principal reuses its own connections, and
//! a proxy named by the environment (`HTTP_PROXY`, `NO_PROXY`) is honoured.

mod common;

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use common::Workspace;
use hyper_util::rt::TokioIo;

/// What a loopback server saw: connections accepted and each request's
/// target (absolute when it came through a proxy), `Authorization`, `Host`,
/// and `Accept` with `User-Agent`.
#[derive(Default)]
struct Seen {
    connections: AtomicUsize,
    requests: Mutex<Vec<(String, String, String, String)>>,
}

/// The `Accept` and `User-Agent` every request carries unless the suite sets its own.
fn default_headers() -> String {
    format!("*/* | permatrix/{}", env!("CARGO_PKG_VERSION"))
}

/// Starts a server on 127.0.0.1 that counts connections and hands each to `serve`.
async fn listen<F, Fut>(serve: F) -> (String, Arc<Seen>)
where
    F: Fn(tokio::net::TcpStream, Arc<Seen>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let seen = Arc::new(Seen::default());
    let recorder = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            recorder.connections.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(serve(stream, Arc::clone(&recorder)));
        }
    });
    (format!("http://{addr}"), seen)
}

/// Starts a server on 127.0.0.1 that answers 200 to everything and records what it saw.
async fn recording_server() -> (String, Arc<Seen>) {
    listen(|stream, recorder| async move {
        let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
            let header = |name: &str| {
                request
                    .headers()
                    .get(name)
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                    .unwrap_or_default()
            };
            let seen = (
                request.uri().to_string(),
                header("authorization"),
                header("host"),
                format!("{} | {}", header("accept"), header("user-agent")),
            );
            recorder.requests.lock().expect("lock").push(seen);
            async {
                Ok::<_, Infallible>(
                    Response::builder()
                        .status(StatusCode::OK)
                        .body(Body::from("ok"))
                        .expect("response"),
                )
            }
        });
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(stream), service)
            .await;
    })
    .await
}

fn suite(base: &str, endpoints: usize) -> String {
    let mut text = format!(
        "suite: transport\ntarget: {{ base_url: \"{base}\", concurrency: 4 }}\n\
         principals:\n  alice: {{ auth: {{ bearer: {{ token: alice-token }} }} }}\n  \
         bob: {{ auth: {{ bearer: {{ token: bob-token }} }} }}\nendpoints:\n"
    );
    for i in 0..endpoints {
        text.push_str(&format!(
            "  - {{ request: GET /item/{i}, expect: {{ \"*\": 200 }} }}\n"
        ));
    }
    text
}

/// Clears every proxy variable a developer's shell might pass down, then sets `extra`.
fn proxy_env<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut env: Vec<(&str, &str)> = [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
    ]
    .into_iter()
    .map(|name| (name, ""))
    .collect();
    env.extend_from_slice(extra);
    env
}

#[tokio::test]
async fn each_principal_reuses_its_connections() {
    let (base, seen) = recording_server().await;
    let ws = Workspace::new();
    ws.write("s.yaml", &suite(&base, 100));
    let out = ws
        .permatrix_with_env(&["run", "s.yaml"], &proxy_env(&[]))
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let requests = seen.requests.lock().expect("lock").clone();
    assert_eq!(requests.len(), 200);
    let host = base.trim_start_matches("http://");
    assert!(
        requests
            .iter()
            .all(|(_, _, sent, defaults)| sent == host && *defaults == default_headers()),
        "every request names the target's host and port, with the default headers: {:?}",
        requests.first()
    );
    // Two principals, at most 4 requests in flight: 200 cells need at most 8 connections.
    let connections = seen.connections.load(Ordering::SeqCst);
    assert!(
        (2..=8).contains(&connections),
        "200 cells over {connections} connections"
    );
}

#[tokio::test]
async fn a_proxy_from_the_environment_carries_the_cells() {
    let (proxy, seen) = recording_server().await;
    let ws = Workspace::new();
    // `.invalid` never resolves: only the proxy can answer for it.
    ws.write("s.yaml", &suite("http://permatrix-target.invalid", 1));
    let env = proxy_env(&[("HTTP_PROXY", &proxy), ("http_proxy", &proxy)]);
    let out = ws.permatrix_with_env(&["run", "s.yaml"], &env).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let mut requests = seen.requests.lock().expect("lock").clone();
    requests.sort();
    assert_eq!(
        requests,
        ["alice", "bob"].map(|who| (
            "http://permatrix-target.invalid/item/0".to_string(),
            format!("Bearer {who}-token"),
            "permatrix-target.invalid".to_string(),
            default_headers(),
        ))
    );
}

#[tokio::test]
async fn no_proxy_sends_cells_straight_to_the_target() {
    let (proxy, through_proxy) = recording_server().await;
    let (base, direct) = recording_server().await;
    let ws = Workspace::new();
    ws.write("s.yaml", &suite(&base, 3));
    let env = proxy_env(&[
        ("HTTP_PROXY", &proxy),
        ("http_proxy", &proxy),
        ("NO_PROXY", "127.0.0.1"),
        ("no_proxy", "127.0.0.1"),
    ]);
    let out = ws.permatrix_with_env(&["run", "s.yaml"], &env).await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(direct.requests.lock().expect("lock").len(), 6);
    assert!(through_proxy.requests.lock().expect("lock").is_empty());
}

/// Starts a server on 127.0.0.1 that answers one request per connection,
/// keep-alive as far as the client can tell, then closes the connection 5 ms
/// later, as a server does with connections idle past its limit. Counts connections
/// and requests.
async fn closing_server() -> (String, Arc<Seen>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    listen(|mut stream, recorder| async move {
        let mut head = Vec::new();
        let mut buffer = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&buffer[..n]),
            }
        }
        let line = String::from_utf8_lossy(&head);
        let target = line.split(' ').nth(1).unwrap_or_default().to_string();
        recorder.requests.lock().expect("lock").push((
            target,
            String::new(),
            String::new(),
            String::new(),
        ));
        let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
        // A moment after the answer, not with it: the client has taken the
        // connection back as idle by then. Dropping the stream closes it.
        if stream.write_all(answer).await.is_ok() {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    })
    .await
}

/// Runs `endpoints` cells of one principal, one at a time (`target_extra`
/// adds to the suite's target), and checks that they all passed.
async fn run_one_at_a_time(base: &str, endpoints: usize, target_extra: &str) {
    let ws = Workspace::new();
    let text = suite(base, endpoints)
        .replace("concurrency: 4", &format!("concurrency: 1{target_extra}"))
        .replace("  bob: { auth: { bearer: { token: bob-token } } }\n", "");
    ws.write("s.yaml", &text);
    let out = ws
        .permatrix_with_env(&["run", "s.yaml"], &proxy_env(&[]))
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains(&format!("{endpoints} passed")),
        "{}",
        out.all()
    );
}

#[tokio::test]
async fn connections_the_server_closed_while_idle_fail_no_cell() {
    let (base, seen) = closing_server().await;
    // 100 ms apart: the connection the cell before used has been closed by
    // the time the next cell goes. Either defence keeps the cells passing: a
    // closed idle connection is not taken, and a request the closing
    // connection never wrote is sent on a new one.
    run_one_at_a_time(&base, 6, ", rate_limit: 10/s").await;
    assert_eq!(seen.requests.lock().expect("lock").len(), 6);
    assert_eq!(seen.connections.load(Ordering::SeqCst), 6);
}

/// Starts a server on 127.0.0.1 whose every answer is 100 KiB, past the 64 KiB
/// permatrix reads of a body; counts connections.
async fn large_body_server() -> (String, Arc<Seen>) {
    listen(|stream, _| async move {
        let service = hyper::service::service_fn(|_: Request<hyper::body::Incoming>| async {
            Ok::<_, Infallible>(Response::new(Body::from(vec![b'x'; 100 * 1024])))
        });
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(stream), service)
            .await;
    })
    .await
}

#[tokio::test]
async fn a_body_cut_at_the_limit_does_not_cost_its_connection() {
    let (base, seen) = large_body_server().await;
    run_one_at_a_time(&base, 100, "").await;
    // One cell at a time, so one connection serves them all: the rest of each
    // body is read past and the connection used again. Dropping it instead
    // whenever the rest had not been read yet cost 18 to 34 connections.
    assert_eq!(
        seen.connections.load(Ordering::SeqCst),
        1,
        "100 cells, one at a time, over one connection"
    );
}

/// Loopback targets and the embedded mock bypass the environment's proxy: a
/// proxy cannot reach this machine's loopback, and the mock's credentials
/// (Basic tokens, Connect JWTs, the grant's assertion) must not travel to
/// one. `PERMATRIX_PROXY_LOOPBACK=1` sends a loopback target through it.
#[tokio::test]
async fn loopback_and_the_mock_bypass_the_environments_proxy() {
    let (proxy, through_proxy) = recording_server().await;
    let (base, direct) = recording_server().await;
    let ws = Workspace::new();
    ws.write("s.yaml", &suite(&base, 3));
    let env = proxy_env(&[("HTTP_PROXY", &proxy), ("http_proxy", &proxy)]);
    let out = ws.permatrix_with_env(&["run", "s.yaml"], &env).await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(direct.requests.lock().expect("lock").len(), 6);
    assert!(through_proxy.requests.lock().expect("lock").is_empty());

    let root = env!("CARGO_MANIFEST_DIR");
    let shipped = format!("{root}/suites/jira-cloud.yaml");
    let out = ws
        .permatrix_with_env(&["run", &shipped, "--mock"], &env)
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        through_proxy.requests.lock().expect("lock").is_empty(),
        "the mock's traffic never goes to the proxy"
    );

    let mut opted_in = env.clone();
    opted_in.push(("PERMATRIX_PROXY_LOOPBACK", "1"));
    let out = ws.permatrix_with_env(&["run", "s.yaml"], &opted_in).await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(through_proxy.requests.lock().expect("lock").len(), 6);
}
