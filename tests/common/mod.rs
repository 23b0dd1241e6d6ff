//! Shared test helpers: the role-model server and running the permatrix binary.
// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

pub mod decide_server;
pub mod flawed_server;
pub mod lint_server;
pub mod list_server;
pub mod mutator;
pub mod notes_server;
pub mod owned_server;
pub mod record_server;
pub mod role_server;
pub mod token_server;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

pub use role_server::Stats;

/// Flags that make a run write every report (`r.json`, `r.xml`, `r.md`,
/// `r.html`) and its snapshots (`snaps/`): where a secret must not appear.
pub const EVERY_REPORT: &[&str] = &[
    "--json",
    "r.json",
    "--junit",
    "r.xml",
    "--markdown",
    "r.md",
    "--html",
    "r.html",
    "--snapshots",
    "snaps",
];

/// What a run of the binary printed and returned.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Everything printed.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// A scratch folder holding suites and reports.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Workspace {
        Workspace {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// Writes `text` to `name` inside the workspace and returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write suite");
        path
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The text of a file the run wrote; a missing file fails the test, so
    /// that "the report does not contain X" cannot pass for want of a report.
    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name))
            .unwrap_or_else(|e| panic!("{name} was not written: {e}"))
    }

    /// Parses a JSON report the run wrote into the workspace.
    pub fn json(&self, name: &str) -> serde_json::Value {
        serde_json::from_str(&self.read(name)).expect("valid JSON report")
    }

    /// Runs `permatrix` with `args` in the workspace, off the async runtime.
    /// `run` goes without snapshots unless the test names a snapshot flag:
    /// the tests of other features run the same suite several times on purpose.
    pub async fn permatrix(&self, args: &[&str]) -> Output {
        self.permatrix_with_env(args, &[]).await
    }

    /// Like [`Workspace::permatrix`], with extra environment variables.
    pub async fn permatrix_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let dir = self.dir.path().to_path_buf();
        let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let snapshot_flag = args
            .iter()
            .any(|a| a.starts_with("--snapshots") || a == "--accept" || a == "--no-snapshot");
        if args.first().is_some_and(|a| a == "run") && !snapshot_flag {
            args.push("--no-snapshot".into());
        }
        tokio::task::spawn_blocking(move || run_binary(&dir, &args, &env))
            .await
            .expect("join")
    }
}

fn run_binary(dir: &Path, args: &[String], env: &[(String, String)]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_permatrix"))
        .args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .env_remove("CI")
        .env_remove("COLUMNS")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("run permatrix");
    Output::from(output)
}

impl From<std::process::Output> for Output {
    fn from(output: std::process::Output) -> Output {
        Output {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// The cell `endpoint` × `principal` of a JSON report's first suite.
pub fn cell<'a>(
    report: &'a serde_json::Value,
    endpoint: &str,
    principal: &str,
) -> &'a serde_json::Value {
    report["suites"][0]["cells"]
        .as_array()
        .and_then(|cells| {
            cells
                .iter()
                .find(|c| c["endpoint"] == endpoint && c["principal"] == principal)
        })
        .unwrap_or_else(|| panic!("no cell {endpoint} × {principal} in {report}"))
}

/// The `Authorization` header a test server received, or "".
pub fn authorization(headers: &axum::http::HeaderMap) -> String {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// Serves `app` on a free loopback port; returns its base URL.
pub async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

/// Starts the role-model server on a free loopback port.
pub async fn server() -> (String, Arc<Stats>) {
    let (addr, stats): (SocketAddr, _) = role_server::start(([127, 0, 0, 1], 0).into())
        .await
        .expect("start server");
    (format!("http://{addr}"), stats)
}

/// The principals of the role model, as suite YAML.
pub const PRINCIPALS: &str = r#"
principals:
  anonymous:
    auth: none
  alice:
    vars: { own_item: "1" }
    auth:
      basic: { username: alice, password: "${ALICE_PASSWORD}" }
  bob:
    vars: { own_item: "2" }
    auth:
      basic: { username: bob, password: "${BOB_PASSWORD}" }
  reader:
    auth:
      bearer: { token: "${READER_TOKEN}" }
  service:
    auth:
      header: { name: X-API-Key, value: "${SERVICE_KEY}" }
"#;

/// `--var` arguments supplying the role model's credentials.
pub fn credential_vars() -> Vec<String> {
    vec![
        format!("--var=ALICE_PASSWORD={}", role_server::ALICE_PASSWORD),
        format!("--var=BOB_PASSWORD={}", role_server::BOB_PASSWORD),
        format!("--var=READER_TOKEN={}", role_server::READER_TOKEN),
        format!("--var=SERVICE_KEY={}", role_server::SERVICE_KEY),
    ]
}

/// A suite against `base` with the role model's principals and the given `rest`.
pub fn suite(name: &str, base: &str, target_extra: &str, rest: &str) -> String {
    format!("suite: {name}\ntarget:\n  base_url: {base}\n{target_extra}\n{PRINCIPALS}\n{rest}")
}

/// Makes a suite of every file in `tests/data/<folder>` with `make` (`None`:
/// the input is refused, which is fine) and fails unless each suite made
/// loads; the folder holds inputs the fuzzers found.
pub fn made_suites_load(folder: &str, make: impl Fn(&Path, &[u8]) -> Option<String>) {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(folder);
    let mut seen = 0;
    for entry in std::fs::read_dir(&folder).expect("regressions folder") {
        let path = entry.expect("entry").path();
        let bytes = std::fs::read(&path).expect("read");
        seen += 1;
        let Some(suite) = make(&path, &bytes) else {
            continue;
        };
        let loaded = permatrix::suite::load_str(
            Path::new("s.yaml"),
            &suite,
            &permatrix::suite::LoadOptions::default(),
        );
        if let Err(problems) = loaded {
            let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
            panic!("{}: {}", path.display(), problems.join("\n"));
        }
    }
    assert!(seen > 0, "no inputs in {}", folder.display());
}
