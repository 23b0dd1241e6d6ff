//! Faults and hostile input: every failure a clear error, the run never lost.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::Workspace;

#[tokio::test]
async fn bad_files_are_clear_errors_never_panics() {
    let ws = Workspace::new();
    let mut garbage = vec![0u8, 159, 146, 150, 255, 254];
    garbage.extend((0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
    ws.write("empty.yaml", "");
    std::fs::write(ws.path("garbage.yaml"), &garbage).expect("write");
    let big = "# padding\n".repeat(5 * 1024 * 1024);
    ws.write("big.yaml", &big);
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let prev = i - 1;
        bomb.push_str(&format!("a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"));
    }
    ws.write("bomb.yaml", &bomb);
    ws.write(
        "deep.yaml",
        &format!("suite: {}{}\n", "[".repeat(20_000), "]".repeat(20_000)),
    );
    for (file, message) in [
        ("empty.yaml", "missing `suite:`"),
        ("garbage.yaml", "not UTF-8 text"),
        ("big.yaml", "limited to 16 MiB"),
        ("bomb.yaml", "YAML syntax error"),
        ("deep.yaml", "YAML syntax error"),
    ] {
        let out = ws.permatrix(&["check", file]).await;
        assert_eq!(out.code, 2, "{file}: {}", out.all());
        assert!(
            out.stderr.contains(file) && out.stderr.contains(message),
            "{file}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains("panicked"), "{file}: {}", out.stderr);
    }
}

/// A raw TCP server that handles each connection with `serve`.
fn raw_server(serve: impl Fn(std::net::TcpStream) + Send + Sync + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let serve = Arc::new(serve);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let serve = serve.clone();
            std::thread::spawn(move || serve(stream));
        }
    });
    format!("http://{addr}")
}

fn read_request(stream: &mut std::net::TcpStream) {
    let mut buf = [0u8; 4096];
    let _ = stream.read(&mut buf);
}

#[tokio::test(flavor = "multi_thread")]
async fn network_faults_are_error_cells_and_the_run_finishes() {
    let closes = raw_server(|mut s| {
        read_request(&mut s);
    });
    let garbage = raw_server(|mut s| {
        read_request(&mut s);
        let _ = s.write_all(b"\x00\x01 this is not HTTP at all\r\n\r\n");
    });
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    let endless = raw_server(move |mut s| {
        read_request(&mut s);
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\n");
        let chunk = [b'x'; 16 * 1024];
        while s.write_all(&chunk).is_ok() {
            counter.fetch_add(chunk.len(), Ordering::SeqCst);
            if counter.load(Ordering::SeqCst) > 512 * 1024 * 1024 {
                break;
            }
        }
    });
    let ws = Workspace::new();
    let suite = format!(
        r#"suite: faults
target: {{ base_url: "{closes}", retries: 0, timeout: 3s }}
principals:
  anyone: {{ auth: none }}
endpoints:
  - {{ name: closes at once, request: GET /x, expect: {{ "*": 200 }} }}
"#
    );
    ws.write("closes.yaml", &suite);
    ws.write(
        "garbage.yaml",
        &suite
            .replace(&closes, &garbage)
            .replace("suite: faults", "suite: garbage")
            .replace("closes at once", "not http"),
    );
    ws.write(
        "endless.yaml",
        &suite
            .replace(&closes, &endless)
            .replace("suite: faults", "suite: endless")
            .replace("closes at once", "endless body"),
    );
    let out = ws.permatrix(&["run", ".", "--json", "r.json"]).await;
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout
            .contains("ERROR faults › closes at once › anyone: expected 200, no response:"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("ERROR garbage › not http › anyone: expected 200, no response:"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .trim_end()
            .ends_with("1 passed, 0 failed, 2 errors"),
        "{}",
        out.stdout
    );
    let report = ws.json("r.json");
    let endless_cell = report["suites"]
        .as_array()
        .and_then(|suites| suites.iter().find(|s| s["name"] == "endless"))
        .map(|s| &s["cells"][0])
        .expect("the endless suite");
    assert_eq!(endless_cell["status"], 200, "{report}");
    assert!(
        endless_cell["excerpt"]
            .as_str()
            .is_some_and(|e| e.len() <= 210),
        "a bounded excerpt"
    );
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let bytes = sent.load(Ordering::SeqCst);
    assert!(
        bytes < 64 * 1024 * 1024,
        "the endless body was dropped after a bounded read: {bytes} bytes sent"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_storm_ends_the_cell_after_bounded_retries() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let storm = raw_server(move |mut s| {
        loop {
            let mut buf = [0u8; 4096];
            match s.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            counter.fetch_add(1, Ordering::SeqCst);
            let reply = b"HTTP/1.1 429 Too Many Requests\r\nretry-after: 0\r\ncontent-length: 4\r\n\r\nslow";
            if s.write_all(reply).is_err() {
                return;
            }
        }
    });
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &format!("suite: storm\ntarget: {{ base_url: \"{storm}\", retries: 4 }}\nprincipals: {{ p: {{ auth: none }} }}\nendpoints:\n  - {{ request: GET /x, expect: {{ p: 200 }} }}\n"),
    );
    let out = ws.permatrix(&["run", "s.yaml"]).await;
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout
            .contains("FAIL  storm › GET /x › p: still 429 after 4 retries; got 429, expected 200"),
        "{}",
        out.stdout
    );
    assert_eq!(hits.load(Ordering::SeqCst), 5);
}

/// Ctrl-C and SIGTERM stop a run at once: the terminal shows what finished,
/// every report file asked for is written with the cells that finished and
/// the rest listed as not run, no snapshot and no temporary file is left, and
/// the exit code is 130.
#[tokio::test(flavor = "multi_thread")]
async fn an_interrupt_stops_the_run_and_reports_what_finished() {
    let (base, _) = common::server().await;
    for signal in ["-INT", "-TERM"] {
        let ws = Workspace::new();
        let mut suite = format!(
            "suite: slow\ntarget: {{ base_url: \"{base}\", timeout: 30s, concurrency: 2 }}\nprincipals: {{ p: {{ auth: none }} }}\nendpoints:\n  - {{ request: GET /public, expect: {{ p: 200 }} }}\n"
        );
        for i in 0..6 {
            suite.push_str(&format!(
                "  - {{ name: slow {i}, request: GET /slow, expect: {{ p: 200 }} }}\n"
            ));
        }
        ws.write("s.yaml", &suite);
        let dir = ws.dir.path().to_path_buf();
        let (code, stdout, stderr, elapsed) = tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            let child = std::process::Command::new(env!("CARGO_BIN_EXE_permatrix"))
                .args([
                    "run",
                    "s.yaml",
                    "--json",
                    "r.json",
                    "--junit",
                    "r.xml",
                    "--markdown",
                    "r.md",
                    "--snapshots",
                    "snaps",
                ])
                .current_dir(&dir)
                .env_remove("CI")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn");
            std::thread::sleep(std::time::Duration::from_millis(1200));
            let _ = std::process::Command::new("kill")
                .args([signal, &child.id().to_string()])
                .status();
            let output = child.wait_with_output().expect("wait");
            (
                output.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&output.stdout).into_owned(),
                String::from_utf8_lossy(&output.stderr).into_owned(),
                started.elapsed(),
            )
        })
        .await
        .expect("join");
        assert_eq!(code, 130, "{signal}: {stdout}\n{stderr}");
        assert!(
            elapsed < std::time::Duration::from_secs(10),
            "{signal}: stopped promptly: {elapsed:?}"
        );
        assert!(
            stdout.contains("slow (s.yaml)"),
            "{signal}: the matrix so far: {stdout}"
        );
        assert!(
            stdout.trim_end().ends_with("1 passed, 0 failed"),
            "{signal}: the closing line of what finished: {stdout}"
        );
        assert!(
            stderr.contains("interrupted after 1 of 7 cells"),
            "{signal}: {stderr}"
        );
        let mut left: Vec<String> = std::fs::read_dir(ws.dir.path())
            .expect("read dir")
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect();
        left.sort();
        assert_eq!(
            left,
            ["r.json", "r.md", "r.xml", "s.yaml"],
            "{signal}: the reports of what finished; no snapshot, no temporary file"
        );
        let report = ws.json("r.json");
        assert_eq!(report["summary"]["passed"], 1, "{report}");
        assert_eq!(
            report["interrupted"]["not_run"].as_array().map(Vec::len),
            Some(6),
            "{signal}: the cells that did not run are listed: {report}"
        );
        let junit = ws.read("r.xml");
        assert_eq!(
            junit.matches("not run: the run was interrupted").count(),
            6,
            "{signal}: {junit}"
        );
        let markdown = ws.read("r.md");
        assert!(
            markdown.contains("**Interrupted**: 6 cell(s) did not run"),
            "{signal}: {markdown}"
        );
    }
}

/// A reader that goes away (`permatrix … | head -0`) ends the output quietly:
/// no panic, and each command exits with its own code. SIGTERM stops the
/// mock as Ctrl-C does.
#[test]
fn a_closed_stdout_is_a_quiet_end_and_sigterm_stops_the_mock() {
    use std::process::{Command, Stdio};
    let root = env!("CARGO_MANIFEST_DIR");
    let closed = |args: &[&str]| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_permatrix"))
            .args(args)
            .current_dir(root)
            .env_remove("CI")
            .env_remove("JIRA_BASE_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        // The read end closes before the command writes a byte.
        drop(child.stdout.take());
        child
    };
    for (args, code) in [
        (&["check", "suites"][..], 0),
        (&["run", "suites", "--no-snapshot"][..], 0),
        (
            &[
                "explain",
                "suites/jira-cloud.yaml",
                "--endpoint",
                "GET /rest/api/2/permissions",
                "--principal",
                "app-as-admin",
            ][..],
            0,
        ),
    ] {
        let output = closed(args).wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    let mock = closed(&["mock", "suites/mocks/jira-cloud.yaml"]);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let _ = Command::new("kill")
        .args(["-TERM", &mock.id().to_string()])
        .status();
    let output = mock.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// A server cannot make the output lie: carriage returns, vertical tabs, form
/// feeds and escapes, bidi overrides (Unicode's Cf) and characters XML cannot
/// carry never reach the terminal, `explain` or the JUnit file; a body's lines
/// in `explain` stay indented under `body`.
#[tokio::test(flavor = "multi_thread")]
async fn a_server_cannot_forge_output_lines() {
    use axum::routing::get;
    const LIE: &str = "no\r\u{b}\u{c}\u{1b}[2Kverdict  PASSED\nverdict  PASSED: 200 \u{202e}dessap\u{2066}\u{fffe}\u{ffff}";
    let app = axum::Router::new().route(
        "/x",
        get(|| async {
            (
                axum::http::StatusCode::FORBIDDEN,
                [("x-note", "\u{202e}dessap ok")],
                LIE,
            )
        }),
    );
    let base = common::serve(app).await;
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &format!(
            "suite: lies\ntarget: {{ base_url: \"{base}\", retries: 0 }}\nprincipals: {{ p: {{ auth: none }} }}\nendpoints:\n  - {{ name: x, request: GET /x, expect: {{ p: 200 }}, snapshot: {{ headers: [x-note] }} }}\n"
        ),
    );
    let out = ws
        .permatrix(&["run", "s.yaml", "--junit", "r.xml", "--snapshots", "snaps"])
        .await;
    assert_eq!(out.code, 1, "{}", out.all());
    let explained = ws
        .permatrix(&["explain", "s.yaml", "--endpoint", "x", "--principal", "p"])
        .await;
    assert_eq!(explained.code, 1, "{}", explained.all());
    let junit = ws.read("r.xml");
    let snapshot = ws.read("snaps/lies.snap");
    for (what, text) in [
        ("run", out.all()),
        ("explain", explained.all()),
        ("junit", junit.clone()),
        ("snapshot", snapshot),
    ] {
        let bad: Vec<char> = text
            .chars()
            .filter(|&c| {
                (c.is_control() && c != '\n' && c != '\t')
                    || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{fffe}' | '\u{ffff}')
            })
            .collect();
        assert!(bad.is_empty(), "{what} carries {bad:?}:\n{text}");
    }
    let verdicts: Vec<&str> = explained
        .stdout
        .lines()
        .filter(|l| l.starts_with("verdict"))
        .collect();
    assert_eq!(verdicts.len(), 1, "{}", explained.stdout);
    assert!(
        verdicts[0].starts_with("verdict  FAILED"),
        "{}",
        explained.stdout
    );
    assert!(junit.contains("<testsuites"), "{junit}");
}

/// Local files a suite names are read as such, and never shown: a mock that
/// is no mock definition (`/proc/self/environ`, a `.env`) is one error with no
/// line of it; `/dev/zero` or a FIFO as a suite, mock, key or CA file is
/// refused at once (no hang, no memory run out); a snapshot that is a symlink
/// is refused, its target's content never shown.
#[test]
fn local_files_are_read_with_limits_and_never_echoed() {
    use std::process::Command;
    let ws = Workspace::new();
    let run = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_permatrix"))
            .args(args)
            .current_dir(ws.dir.path())
            .env("PERMATRIX_CANARY_SECRET", "canary-value-5c3e81")
            .env_remove("CI")
            .output()
            .expect("run");
        (
            output.status.code().unwrap_or(-1),
            format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        )
    };
    ws.write(
        "dotenv",
        "DATABASE_URL: postgres://admin:hunter2-db-pass@db\nAPI_KEY: key-canary-value-5c3e81\n",
    );
    let suite = |mock: &str| {
        format!(
            "suite: files\ntarget: {{ mock: \"{mock}\" }}\nprincipals: {{ p: {{ auth: none }} }}\nendpoints:\n  - {{ request: GET /x, expect: {{ p: 200 }} }}\n"
        )
    };
    for mock in ["/proc/self/environ", "dotenv", "/dev/zero"] {
        ws.write("s.yaml", &suite(mock));
        let (code, text) = run(&["check", "s.yaml"]);
        assert_eq!(code, 2, "{mock}: {text}");
        assert!(
            !text.contains("canary-value-5c3e81") && !text.contains("hunter2"),
            "{mock} echoed: {text}"
        );
    }
    let fifo = ws.path("fifo.yaml");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    for file in ["fifo.yaml", "/dev/zero"] {
        let started = std::time::Instant::now();
        let (code, text) = run(&["check", file]);
        assert_eq!(code, 2, "{file}: {text}");
        assert!(text.contains("not a regular file"), "{file}: {text}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{file}"
        );
    }
    ws.write(
        "k.yaml",
        "suite: k\ntarget: { base_url: \"http://127.0.0.1:9\", tls: { ca_file: /dev/zero } }\nprincipals:\n  p: { auth: { jwt: { algorithm: RS256, private_key_file: /dev/zero } } }\nendpoints:\n  - { request: GET /x, expect: { p: 200 } }\n",
    );
    let (code, text) = run(&["check", "k.yaml"]);
    assert_eq!(code, 2, "{text}");
    assert_eq!(text.matches("not a regular file").count(), 2, "{text}");

    std::fs::create_dir(ws.path("snaps")).expect("mkdir");
    std::os::unix::fs::symlink(ws.path("dotenv"), ws.path("snaps/plain.snap")).expect("symlink");
    ws.write(
        "plain.yaml",
        "suite: plain\ntarget: { base_url: \"http://127.0.0.1:9\", retries: 0, timeout: 1s }\nprincipals: { p: { auth: none } }\nendpoints:\n  - { request: GET /x, expect: { p: any } }\n",
    );
    let (code, text) = run(&["run", "plain.yaml", "--snapshots", "snaps"]);
    assert_ne!(code, 0, "{text}");
    assert!(text.contains("is a symlink"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}

/// A cookie a server sets on a cell is no credential: cells keep no cookie
/// jar, so it is never sent again, and it is not registered as a secret
/// (registering one per response made masking cost grow with the run: 4,000
/// cells against a server rotating a cookie took minutes; bench/ab.py
/// `--rotating-cookies` measures it). Its value stays readable where a server
/// echoes it.
#[tokio::test(flavor = "multi_thread")]
async fn cookies_set_on_cells_are_not_secrets() {
    use axum::routing::get;
    let app = axum::Router::new()
        .route(
            "/set",
            get(|| async { ([("set-cookie", "lb=sticky-node-4f2a9c; Path=/")], "ok") }),
        )
        .route(
            "/echo",
            get(|| async {
                (
                    axum::http::StatusCode::FORBIDDEN,
                    [("set-cookie", "lb=sticky-node-4f2a9c; Path=/")],
                    "routed by lb=sticky-node-4f2a9c",
                )
            }),
        );
    let base = common::serve(app).await;
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &format!(
            "suite: cookies\ntarget: {{ base_url: \"{base}\", concurrency: 1 }}\nprincipals: {{ p: {{ auth: none }} }}\nendpoints:\n  - {{ request: GET /set, expect: {{ p: 200 }} }}\n  - {{ request: GET /echo, expect: {{ p: 200 }} }}\n"
        ),
    );
    let out = ws.permatrix(&["run", "s.yaml"]).await;
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout.contains("routed by lb=sticky-node-4f2a9c"),
        "{}",
        out.stdout
    );
}

/// A server that answers 429 forever, with a `Retry-After` date long gone:
/// retries back off (never ten immediate retries a cell), and the target's
/// run-wide retry budget (20 plus one per 10 cells) stops them, said once.
#[tokio::test(flavor = "multi_thread")]
async fn a_target_that_keeps_refusing_spends_its_retry_budget_once() {
    use axum::routing::get;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = axum::Router::new().route(
        "/busy/{n}",
        get(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                (
                    axum::http::StatusCode::TOO_MANY_REQUESTS,
                    [("retry-after", "Sun, 06 Nov 1994 08:49:37 GMT")],
                    "slow down",
                )
            }
        }),
    );
    let base = common::serve(app).await;
    let ws = Workspace::new();
    let mut suite = format!(
        "suite: busy\ntarget: {{ base_url: \"{base}\", retries: 10, concurrency: 8 }}\nprincipals: {{ p: {{ auth: none }} }}\nendpoints:\n"
    );
    for i in 0..50 {
        suite.push_str(&format!(
            "  - {{ request: GET /busy/{i}, expect: {{ p: 200 }} }}\n"
        ));
    }
    ws.write("s.yaml", &suite);
    let out = ws.permatrix(&["run", "s.yaml", "--json", "r.json"]).await;
    assert_eq!(out.code, 1, "{}", out.all());
    // 50 first tries and a budget of 20 + 50 / 10 = 25 retries, not 50 × 10.
    assert_eq!(hits.load(Ordering::SeqCst), 75, "{}", out.all());
    assert_eq!(
        out.stderr
            .matches("run-wide budget of 25 retries is spent")
            .count(),
        1,
        "{}",
        out.stderr
    );
    let report = ws.json("r.json");
    let notes: Vec<&str> = report["suites"][0]["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .filter_map(|c| c["note"].as_str())
        .collect();
    assert!(
        notes.iter().any(|n| n.contains("retry budget is spent")),
        "{notes:?}"
    );
}

/// A target whose backlog is full (it accepts no more connections) makes cells
/// time out before they connect: the run says once that the target is
/// saturated, how many cells it cost, and which concurrency to lower.
#[tokio::test(flavor = "multi_thread")]
async fn a_saturated_target_is_reported_once() {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
        .expect("bind");
    let addr = socket.local_addr().expect("addr");
    // A backlog of one, never accepted: later connects wait for a slot that never comes.
    let _listener = socket.listen(1).expect("listen");
    let ws = Workspace::new();
    let mut suite = format!(
        "suite: full\ntarget: {{ base_url: \"http://{addr}\", retries: 0, timeout: 300ms, concurrency: 16 }}\nprincipals: {{ p: {{ auth: none }} }}\nendpoints:\n"
    );
    for i in 0..16 {
        suite.push_str(&format!(
            "  - {{ request: GET /x/{i}, expect: {{ p: 200 }} }}\n"
        ));
    }
    ws.write("s.yaml", &suite);
    let out = ws.permatrix(&["run", "s.yaml"]).await;
    assert_eq!(out.code, 1, "{}", out.all());
    let notices: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("target saturated"))
        .collect();
    assert_eq!(notices.len(), 1, "{}", out.stderr);
    assert!(
        notices[0].contains("of 16 cells")
            && notices[0].contains("lower --concurrency (it was 16)"),
        "{}",
        notices[0]
    );
    assert!(out.stdout.contains("while connecting"), "{}", out.stdout);
}

/// A response without framing (no Content-Length, no chunking: its body ends
/// when the connection closes) whose server keeps the connection open, as
/// real servers do with a 302: its status counts at once, and the cell says
/// the body was cut instead of timing out.
#[tokio::test(flavor = "multi_thread")]
async fn an_unframed_response_counts_its_status_and_says_the_body_was_cut() {
    use std::io::{Read, Write};
    let base = raw_server(|mut stream| {
        let mut head = [0u8; 1024];
        let _ = stream.read(&mut head);
        let _ = stream.write_all(
            b"HTTP/1.1 302 Found\r\nLocation: /login\r\nConnection: keep-alive\r\n\r\n<html>moved",
        );
        std::thread::sleep(std::time::Duration::from_secs(15));
    });
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        &format!(
            "suite: unframed\ntarget: {{ base_url: \"{base}\", retries: 0, timeout: 10s }}\nprincipals: {{ p: {{ auth: none }} }}\nendpoints:\n  - {{ request: GET /old, expect: {{ p: 200 }} }}\n"
        ),
    );
    let out = ws.permatrix(&["run", "s.yaml", "--json", "r.json"]).await;
    assert_eq!(out.code, 1, "{}", out.all());
    let report = ws.json("r.json");
    let cell = &report["suites"][0]["cells"][0];
    assert_eq!(cell["status"], 302, "{cell}");
    assert!(out.stdout.contains("Location: /login"), "{}", out.stdout);
    assert!(cell.to_string().contains("<html>moved (body cut"), "{cell}");
}
