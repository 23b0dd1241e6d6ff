//! Golden outputs: one fixed suite (`tests/data/golden/golden.yaml`) run
//! against the shipped Jira Cloud mock, and every format a user reads pinned
//! whole with insta: the terminal, the JSON, JUnit, Markdown and HTML reports,
//! the matrix snapshot, the GitHub step summary and annotations, and `explain`
//! for a Connect JWT cell and a JWT-bearer grant cell.
//!
//! Only what changes from run to run is redacted, by the small helpers at the
//! end of this file: loopback ports, per-cell durations, the `Date` header, JWT
//! times and the temporary folder; each helper checks the shape of what it
//! hides. Any other change to a format fails here with a diff. After an
//! intended change, record with `INSTA_UPDATE=always cargo test --test golden`,
//! read the diff of `tests/snapshots/`, and commit it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::Output;

/// The fixed suite, as a user would name it from the repository's root.
const SUITE: &str = "tests/data/golden/golden.yaml";

/// The matrix as an earlier run recorded it: three cells differ from what the
/// mock answers now (one widened, one auth-broken, one changed).
const PREVIOUS_SNAPSHOT: &str = "tests/data/golden/previous.snap";

/// The terminal's width for every run: wide enough for the whole matrix.
const COLUMNS: &str = "120";

/// Runs `permatrix` from the repository's root with nothing of the caller's
/// environment (no `CI`, proxies or `JIRA_*`), `NO_COLOR` set, and `env`.
fn permatrix(args: &[&str], env: &[(&str, &str)]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_permatrix"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_clear()
        .env("NO_COLOR", "1")
        .env("COLUMNS", COLUMNS)
        .envs(env.iter().copied())
        .output()
        .expect("run permatrix");
    Output::from(output)
}

/// Reads a file the run wrote.
fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The outputs of the fixed run with every report file asked for, against a
/// snapshot folder holding [`PREVIOUS_SNAPSHOT`], redacted.
struct ReportRun {
    terminal: String,
    json: String,
    junit: String,
    markdown: String,
    html: String,
    new_snapshot: String,
}

/// The fixed run, once for all the tests that read it.
fn report_run() -> &'static ReportRun {
    static RUN: OnceLock<ReportRun> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = |name: &str| -> PathBuf { dir.path().join(name) };
        let snapshots = file("snapshots");
        std::fs::create_dir(&snapshots).expect("snapshot folder");
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(PREVIOUS_SNAPSHOT),
            snapshots.join("golden.snap"),
        )
        .expect("copy the previous snapshot");
        let path = |p: PathBuf| p.to_str().expect("a UTF-8 temp path").to_string();
        let out = permatrix(
            &[
                "run",
                SUITE,
                "--snapshots",
                &path(snapshots.clone()),
                "--json",
                &path(file("run.json")),
                "--junit",
                &path(file("run.xml")),
                "--markdown",
                &path(file("run.md")),
                "--html",
                &path(file("run.html")),
            ],
            &[],
        );
        assert_eq!(
            out.code, 1,
            "two cells fail and the snapshot changed:\n{}\n{}",
            out.stdout, out.stderr
        );
        assert_eq!(out.stderr, "", "nothing on stderr");
        let tmp = path(dir.path().to_path_buf());
        let common = |text: String| redact_ports(&text.replace(&tmp, "[tmp]"));
        ReportRun {
            terminal: common(out.stdout),
            json: redact_json_durations(&common(read(&file("run.json")))),
            junit: redact_junit_times(&common(read(&file("run.xml")))),
            markdown: common(read(&file("run.md"))),
            html: common(read(&file("run.html"))),
            new_snapshot: common(read(&snapshots.join("golden.snap.new"))),
        }
    })
}

/// The outputs of the fixed run under GitHub Actions, redacted.
struct GithubRun {
    /// The lines of stdout after the terminal report: the annotations.
    annotations: String,
    step_summary: String,
}

/// What the step summary held before the run: permatrix appends to it.
const EARLIER_SUMMARY: &str = "## An earlier step\n\nIts summary stays.\n\n";

/// The fixed run as a GitHub Actions step, once for the tests that read it.
fn github_run() -> &'static GithubRun {
    static RUN: OnceLock<GithubRun> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let summary = dir.path().join("step-summary.md");
        std::fs::write(&summary, EARLIER_SUMMARY).expect("write the earlier summary");
        let out = permatrix(
            &["run", SUITE, "--no-snapshot"],
            &[
                ("GITHUB_ACTIONS", "true"),
                (
                    "GITHUB_STEP_SUMMARY",
                    summary.to_str().expect("a UTF-8 temp path"),
                ),
            ],
        );
        assert_eq!(
            out.code, 1,
            "two cells fail:\n{}\n{}",
            out.stdout, out.stderr
        );
        assert_eq!(out.stderr, "", "nothing on stderr");
        // The annotations are the workflow commands, after the terminal report.
        let annotations: String = out
            .stdout
            .split_inclusive('\n')
            .filter(|line| line.starts_with("::"))
            .collect();
        assert!(
            out.stdout.ends_with(&annotations),
            "the annotations come last:\n{}",
            out.stdout
        );
        GithubRun {
            annotations: redact_ports(&annotations),
            step_summary: redact_ports(&read(&summary)),
        }
    })
}

/// `permatrix explain` on one cell of the fixed suite, redacted.
fn explain(endpoint: &str, principal: &str) -> (i32, String) {
    let out = permatrix(
        &[
            "explain",
            SUITE,
            "--endpoint",
            endpoint,
            "--principal",
            principal,
        ],
        &[],
    );
    assert_eq!(out.stderr, "", "nothing on stderr");
    let text = redact_token_times(&redact_date_headers(&redact_ports(&out.stdout)));
    (out.code, text)
}

#[test]
fn the_terminal_output_of_a_fixed_run() {
    insta::assert_snapshot!(report_run().terminal);
}

#[test]
fn the_json_report_of_a_fixed_run() {
    insta::assert_snapshot!(report_run().json);
}

#[test]
fn the_junit_report_of_a_fixed_run() {
    insta::assert_snapshot!(report_run().junit);
}

#[test]
fn the_markdown_report_of_a_fixed_run() {
    insta::assert_snapshot!(report_run().markdown);
}

#[test]
fn the_html_report_of_a_fixed_run() {
    insta::assert_snapshot!(report_run().html);
}

#[test]
fn the_new_matrix_snapshot_of_a_fixed_run() {
    insta::assert_snapshot!(report_run().new_snapshot);
}

#[test]
fn the_github_step_summary_of_a_fixed_run() {
    let summary = &github_run().step_summary;
    assert!(
        summary.starts_with(EARLIER_SUMMARY),
        "appended, not overwritten:\n{summary}"
    );
    insta::assert_snapshot!(summary);
}

#[test]
fn the_github_annotations_of_a_fixed_run() {
    insta::assert_snapshot!(github_run().annotations);
}

#[test]
fn explain_of_a_connect_jwt_cell() {
    let (code, text) = explain("GET /rest/api/2/settings/columns", "app");
    assert_eq!(code, 0, "the cell passes:\n{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn explain_of_a_jwt_bearer_grant_cell() {
    let (code, text) = explain("GET /rest/api/2/permissions", "app-as-admin");
    assert_eq!(code, 1, "the cell fails:\n{text}");
    insta::assert_snapshot!(text);
}

// Redaction. Each helper replaces the volatile part of a value and checks
// that what it replaced has the expected shape, so a change of form (a
// duration written `4ms` instead of `4`, say) still fails a test.

/// `text` with the run of characters matching `volatile` that follows each
/// `marker` replaced by `placeholder`; `check` sees each replaced run.
fn replace_after(
    text: &str,
    marker: &str,
    volatile: impl Fn(char) -> bool,
    placeholder: &str,
    check: impl Fn(&str),
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(marker) {
        let (head, tail) = rest.split_at(at + marker.len());
        out.push_str(head);
        let end = tail.find(|c: char| !volatile(c)).unwrap_or(tail.len());
        check(&tail[..end]);
        out.push_str(placeholder);
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// `127.0.0.1:NNNNN` → `127.0.0.1:[port]`: the embedded mock listens on a free port.
fn redact_ports(text: &str) -> String {
    replace_after(
        text,
        "127.0.0.1:",
        |c| c.is_ascii_digit(),
        "[port]",
        |port| assert!(port.parse::<u16>().is_ok_and(|p| p > 0), "port `{port}`"),
    )
}

/// JSON `"duration_ms": N` → `"duration_ms": [ms]`, N a whole number, and
/// `"started_at": "<RFC 3339>"` → `"started_at": "[time]"`.
fn redact_json_durations(text: &str) -> String {
    let text = replace_after(
        text,
        "\"duration_ms\": ",
        |c| c.is_ascii_digit(),
        "[ms]",
        |ms| assert!(ms.parse::<u64>().is_ok(), "duration_ms `{ms}`"),
    );
    replace_after(
        &text,
        "\"started_at\": \"",
        |c| c.is_ascii_digit() || "-:T.Z".contains(c),
        "[time]",
        |time| {
            assert!(
                humantime::parse_rfc3339(time).is_ok(),
                "started_at `{time}`"
            )
        },
    )
}

/// JUnit `time="S.SSS"` → `time="[s]"`, S.SSS seconds.
fn redact_junit_times(text: &str) -> String {
    replace_after(
        text,
        " time=\"",
        |c| c.is_ascii_digit() || c == '.',
        "[s]",
        |s| assert!(s.parse::<f64>().is_ok(), "time `{s}`"),
    )
}

/// A response's `date: <HTTP date>` header line → `date: [date]`.
fn redact_date_headers(text: &str) -> String {
    text.split_inclusive('\n')
        .map(|line| match line.split_once("date: ") {
            Some((indent, date)) if indent.trim().is_empty() => {
                let date = date.trim_end();
                assert!(
                    date.ends_with(" GMT") && date.len() == "Sat, 05 Dec 2026 12:00:00 GMT".len(),
                    "an HTTP date: `{date}`"
                );
                format!("{indent}date: [date]\n")
            }
            _ => line.to_string(),
        })
        .collect()
}

/// A JWT's `"iat":N` → `"iat":[now]` and `"exp":M` → `"exp":[now+(M-N)]`, so the
/// lifetime stays pinned; `iat` must be within ten minutes of the clock.
fn redact_token_times(text: &str) -> String {
    let number_after = |line: &str, marker: &str| -> Option<u64> {
        let (_, tail) = line.split_once(marker)?;
        let end = tail
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(tail.len());
        tail[..end].parse().ok()
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs();
    let digit = |c: char| c.is_ascii_digit();
    text.split_inclusive('\n')
        .map(|line| {
            let Some(iat) = number_after(line, "\"iat\":") else {
                return line.to_string();
            };
            assert!(iat.abs_diff(now) < 600, "iat {iat} is not now ({now})");
            let line = replace_after(line, "\"iat\":", digit, "[now]", |_| {});
            match number_after(&line, "\"exp\":") {
                Some(exp) => {
                    let lifetime = format!("[now{:+}]", exp as i64 - iat as i64);
                    replace_after(&line, "\"exp\":", digit, &lifetime, |_| {})
                }
                None => line,
            }
        })
        .collect()
}
