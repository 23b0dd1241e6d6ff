//! The command line around a run: `-` for stdout, report paths that are
//! symlinks, pipes or read-only, `--color`, help with examples and exit
//! codes, shell completions and the manual page.

mod common;

use common::{Workspace, server};

fn suite(base: &str) -> String {
    common::suite(
        "cli",
        base,
        "",
        "endpoints:\n  - request: GET /me\n    expect: { anonymous: 401, \"*\": 200 }\n",
    )
}

async fn permatrix(ws: &Workspace, args: &[&str]) -> common::Output {
    let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    all.extend(common::credential_vars());
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    ws.permatrix(&all).await
}

#[tokio::test]
async fn a_dash_sends_the_report_to_stdout_and_the_display_to_stderr() {
    let (base, _) = server().await;
    let ws = Workspace::new();
    ws.write("s.yaml", &suite(&base));
    let out = permatrix(&ws, &["run", "s.yaml", "--json", "-"]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let report: serde_json::Value =
        serde_json::from_str(&out.stdout).expect("stdout is the JSON report alone");
    assert_eq!(report["summary"]["passed"], 5);
    assert!(
        out.stderr.contains("5 passed, 0 failed"),
        "the display moved to stderr: {}",
        out.stderr
    );
    assert!(!ws.path("-").exists(), "no file named `-`");

    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/coverage");
    let (spec, suite) = (
        format!("{data}/pets.v30.yaml"),
        format!("{data}/pets.v30.suite.yaml"),
    );
    let out = ws
        .permatrix(&["coverage", "--openapi", &spec, &suite, "--json", "-"])
        .await;
    assert_eq!(out.code, 0, "{}", out.all());
    let coverage: serde_json::Value =
        serde_json::from_str(&out.stdout).expect("coverage JSON alone on stdout");
    assert_eq!(coverage["operations"], 6);
    assert!(
        out.stderr.contains("uncovered operations"),
        "the summary moved to stderr: {}",
        out.stderr
    );

    let out = permatrix(&ws, &["run", "s.yaml", "--json", "-", "--markdown", "-"]).await;
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr
            .contains("ask for stdout (`-`): at most one report can go there"),
        "{}",
        out.all()
    );
}

#[cfg(unix)]
#[tokio::test]
async fn symlinks_are_written_through_pipes_written_to_and_read_only_files_refused_before_sending()
{
    let (base, stats) = server().await;
    let ws = Workspace::new();
    ws.write("s.yaml", &suite(&base));
    ws.write("real.json", "");
    std::os::unix::fs::symlink("real.json", ws.path("link.json")).expect("symlink");
    let out = permatrix(&ws, &["run", "s.yaml", "--json", "link.json"]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(ws.path("link.json").is_symlink(), "the link is kept");
    assert!(
        ws.read("real.json")
            .contains("\"schema\": \"permatrix.run.v1\""),
        "its file got the report"
    );

    // A named pipe with a reader: the report flows through it, nothing replaces it.
    let fifo = ws.path("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let reader = std::thread::spawn({
        let fifo = fifo.clone();
        move || std::fs::read_to_string(fifo).expect("read the pipe")
    });
    let out = permatrix(&ws, &["run", "s.yaml", "--json", "pipe"]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    let piped = reader.join().expect("reader");
    assert!(
        piped.contains("\"schema\": \"permatrix.run.v1\""),
        "{piped}"
    );
    use std::os::unix::fs::FileTypeExt;
    assert!(
        std::fs::metadata(&fifo)
            .expect("pipe")
            .file_type()
            .is_fifo(),
        "still a pipe"
    );

    // A read-only report file is refused before any request is sent.
    ws.write("locked.json", "{}");
    let mut permissions = std::fs::metadata(ws.path("locked.json"))
        .expect("meta")
        .permissions();
    permissions.set_readonly(true);
    std::fs::set_permissions(ws.path("locked.json"), permissions).expect("chmod");
    let before = stats.total();
    let out = permatrix(&ws, &["run", "s.yaml", "--json", "locked.json"]).await;
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr.contains("--json locked.json: is read-only"),
        "{}",
        out.all()
    );
    assert_eq!(stats.total(), before, "nothing was sent");
}

#[tokio::test]
async fn color_is_chosen_by_the_flag_and_no_color() {
    let (base, _) = server().await;
    let ws = Workspace::new();
    ws.write("s.yaml", &suite(&base));
    let escape = |out: &common::Output| out.stdout.contains("\u{1b}[");
    let out = permatrix(&ws, &["run", "s.yaml", "--color", "always"]).await;
    assert!(escape(&out), "always colours even a pipe: {}", out.stdout);
    let out = permatrix(&ws, &["run", "s.yaml"]).await;
    assert!(!escape(&out), "auto: a pipe is no terminal");
    let out = permatrix(&ws, &["--color", "never", "run", "s.yaml"]).await;
    assert!(!escape(&out) && out.code == 0, "{}", out.all());
    // NO_COLOR turns auto off (the run must produce output for that to mean
    // anything), and `always` wins over it.
    let with_no_color = |color: &'static str| {
        let mut args: Vec<String> = ["run", "s.yaml", "--color", color]
            .map(String::from)
            .to_vec();
        args.extend(common::credential_vars());
        let ws = &ws;
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            ws.permatrix_with_env(&args, &[("NO_COLOR", "1")]).await
        }
    };
    let out = with_no_color("auto").await;
    assert!(
        out.code == 0 && out.stdout.contains("5 passed"),
        "{}",
        out.all()
    );
    assert!(!escape(&out), "{}", out.stdout);
    let out = with_no_color("always").await;
    assert!(
        escape(&out),
        "--color always wins over NO_COLOR: {}",
        out.stdout
    );
    let out = ws
        .permatrix(&["run", "s.yaml", "--color", "sometimes"])
        .await;
    assert_eq!(out.code, 2, "{}", out.all());
}

#[tokio::test]
async fn help_completions_and_the_manual_come_from_one_definition() {
    let ws = Workspace::new();
    for command in [
        "run", "check", "explain", "mock", "coverage", "init", "reach",
    ] {
        let out = ws.permatrix(&[command, "--help"]).await;
        assert_eq!(out.code, 0, "{}", out.all());
        assert!(
            out.stdout.contains("permatrix "),
            "{command}: an example: {}",
            out.stdout
        );
        assert!(
            out.stdout.contains("Exit code"),
            "{command}: its exit codes: {}",
            out.stdout
        );
    }
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef permatrix"),
        ("fish", "complete -c permatrix"),
    ] {
        let out = ws.permatrix(&["completions", shell]).await;
        assert_eq!(out.code, 0, "{}", out.all());
        assert!(
            out.stdout.contains(marker) && out.stdout.contains("reach"),
            "{shell}: {}",
            out.stdout
        );
    }
    let out = ws.permatrix(&["man"]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains(".TH permatrix 1") && out.stdout.contains("coverage"),
        "{}",
        out.stdout
    );
    let out = ws.permatrix(&["man", "--dir", "."]).await;
    assert_eq!(out.code, 0, "{}", out.all());
    for page in ["permatrix.1", "permatrix-run.1", "permatrix-reach.1"] {
        assert!(ws.read(page).contains(".SH"), "{page}");
    }
}
