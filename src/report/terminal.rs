//! The terminal display: a progress bar while running, then one line per
//! failing, erroring or skipped cell, the matrix of each suite, and the tally.

use std::io::Write;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use owo_colors::OwoColorize;

use super::cells::detail;
use super::{Event, ReportError, Reporter, RunReport};
use std::collections::HashMap;

use crate::http;
use crate::outcome::{CellId, CellOutcome, CellResult, Verdict};

/// How the terminal display looks.
#[derive(Clone, Copy, Debug, Default)]
pub struct TerminalStyle {
    /// Colour the output (a terminal, and `NO_COLOR` unset).
    pub color: bool,
    /// Draw a progress bar on stderr (stderr is a terminal, not `--quiet`).
    pub progress: bool,
    /// `--quiet`: only the cell lines and the tally.
    pub quiet: bool,
    /// Columns the matrix must fit in (`COLUMNS`, or the terminal's width); `None`: no limit.
    pub width: Option<usize>,
    /// `--curl`: a curl command under each failing or erroring cell's line.
    pub curl: bool,
    /// `--by-object`: after each matrix, who saw each id of its lists.
    pub by_object: bool,
}

/// Writes the human-readable report.
pub struct TerminalReporter<W: Write> {
    out: W,
    style: TerminalStyle,
    bar: Option<ProgressBar>,
}

impl<W: Write> TerminalReporter<W> {
    /// A reporter writing to `out`.
    pub fn new(out: W, style: TerminalStyle) -> TerminalReporter<W> {
        TerminalReporter {
            out,
            style,
            bar: None,
        }
    }

    /// The writer back, for tests.
    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write> Reporter for TerminalReporter<W> {
    fn handle(&mut self, event: &Event<'_>) -> Result<(), ReportError> {
        match event {
            Event::Started { cells } if self.style.progress => {
                let bar = ProgressBar::with_draw_target(
                    Some(*cells as u64),
                    ProgressDrawTarget::stderr(),
                );
                if let Ok(style) =
                    ProgressStyle::with_template("{bar:30} {pos}/{len} cells {elapsed} {msg}")
                {
                    bar.set_style(style);
                }
                self.bar = Some(bar);
            }
            Event::Started { .. } => {}
            Event::CellFinished(_) => {
                if let Some(bar) = &self.bar {
                    bar.inc(1);
                }
            }
            Event::Finished(run) | Event::Interrupted(run) => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
                let text = render(run, self.style);
                let written = self
                    .out
                    .write_all(text.as_bytes())
                    .and_then(|()| self.out.flush());
                match written {
                    // A reader that went away (`| head`) ends the output, not the run.
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                    Err(source) => {
                        return Err(ReportError::Stream {
                            what: "to the terminal",
                            source,
                        });
                    }
                    Ok(()) => {}
                }
            }
        }
        Ok(())
    }
}

/// Every diagnostic, each with its source line, then how many there were and `closing`.
pub fn diagnostics(diagnostics: &[crate::suite::Diagnostic], closing: &str) -> String {
    let mut text = String::new();
    for d in diagnostics {
        text.push_str(&format!("{d}\n\n"));
    }
    text.push_str(&format!(
        "{} problem(s) found{closing}\n",
        diagnostics.len()
    ));
    text
}

/// The whole report as text.
pub fn render(run: &RunReport<'_>, style: TerminalStyle) -> String {
    let mut text = String::new();
    for step in run.steps.iter().filter(|s| !s.passed) {
        let label = if step.skipped {
            paint("SKIP ", style, |s| s.dimmed().to_string())
        } else {
            paint("FAIL ", style, |s| s.red().bold().to_string())
        };
        let suite = run.suites.get(step.suite).map_or("", |s| s.name.as_str());
        text.push_str(&format!(
            "{label} {suite} › {} (line {}): {}\n",
            step.title(),
            step.line,
            step.error.as_deref().unwrap_or("failed")
        ));
    }
    let groups = super::grouped::groups(run.outcomes);
    // A refused write that was applied comes first, then a tampered
    // credential let in: the most severe.
    let severity = |verdict| match verdict {
        Verdict::DeniedButApplied => 0,
        Verdict::AcceptedTampered => 1,
        _ => 2,
    };
    let mut listed: Vec<&crate::outcome::CellOutcome> = run
        .outcomes
        .iter()
        .filter(|o| o.verdict != Verdict::Passed)
        .collect();
    listed.sort_by_key(|o| severity(o.verdict));
    for outcome in listed {
        let suite = &run.suites[outcome.id.suite];
        let group =
            super::grouped::Reason::of(outcome).and_then(|reason| groups.get_key_value(&reason));
        let label = match outcome.verdict {
            Verdict::Failed => paint("FAIL ", style, |s| s.red().bold().to_string()),
            Verdict::Error => paint("ERROR", style, |s| s.yellow().bold().to_string()),
            Verdict::Skipped => paint("SKIP ", style, |s| s.dimmed().to_string()),
            Verdict::CredentialsRejected => {
                paint("REJECTED", style, |s| s.magenta().bold().to_string())
            }
            Verdict::AcceptedTampered => paint("ACCEPTED TAMPERED", style, |s| {
                s.red().bold().reversed().to_string()
            }),
            Verdict::DeniedButApplied => paint("DENIED BUT APPLIED", style, |s| {
                s.red().bold().reversed().to_string()
            }),
            Verdict::Passed => continue,
        };
        if let Some((reason, cells)) = group {
            // Told once, at its first cell.
            if cells.first().is_some_and(|first| first.id == outcome.id) {
                let target = run
                    .targets
                    .get(outcome.id.suite)
                    .map(|t| t.base_url.as_str());
                let line = super::grouped::line(suite, target, reason, cells);
                text.push_str(&format!("{label} {line}\n"));
            }
            continue;
        }
        let endpoint = &suite.endpoints[outcome.id.endpoint];
        // Where a surprising expectation comes from, on the lines that judged one.
        let body_failed = outcome.body.as_ref().is_some_and(|b| b.mismatched());
        let trace_failed = outcome.write.as_ref().is_some_and(|w| w.mismatched());
        let from = match (
            outcome.verdict,
            endpoint.resolved_from.get(outcome.id.principal),
        ) {
            (Verdict::Failed, _) if body_failed => {
                " · body expectation from expect_body".to_string()
            }
            (Verdict::Failed, _) if trace_failed => {
                " · trace expectation from expect_trace".to_string()
            }
            (Verdict::Failed | Verdict::CredentialsRejected, Some(source)) => {
                format!(" · expectation from {source}, line {}", source.line)
            }
            _ => String::new(),
        };
        text.push_str(&format!(
            "{label} {} › {} › {}: {}{from}\n",
            suite.name,
            endpoint.name,
            suite.principals[outcome.id.principal].name,
            detail(outcome)
        ));
        if let Some(curl) = outcome.request.as_ref().and_then(|r| r.curl.as_ref())
            && style.curl
            && outcome.verdict.fails_run()
        {
            for line in curl.lines() {
                text.push_str(&format!("    {line}\n"));
            }
        }
    }
    if !style.quiet {
        for s in 0..run.suites.len() {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&matrix(run, s, style));
            if style.by_object {
                text.push_str(&objects_lines(run, s));
            }
        }
        if !text.is_empty() {
            text.push('\n');
        }
    }
    text.push_str(&findings_lines(run, style));
    text.push_str(&snapshot_lines(run, style));
    let tally = run.closing_line();
    let tally = if run.fails_run() {
        paint(&tally, style, |s| s.red().bold().to_string())
    } else {
        paint(&tally, style, |s| s.green().bold().to_string())
    };
    text.push_str(&tally);
    text.push('\n');
    text
}

/// Who saw each id of suite `s`'s lists, one line per id:
/// `TEST-3  admin (search), app-as-admin (search)`.
fn objects_lines(run: &RunReport<'_>, s: usize) -> String {
    let objects = run.objects_of(s);
    if objects.is_empty() {
        return String::new();
    }
    let suite = &run.suites[s];
    let mut text = format!("\nwho can see each object in {}:\n", suite.name);
    let width = objects
        .iter()
        .map(|o| crate::outcome::shown_id(&o.id).chars().count())
        .max()
        .unwrap_or(0);
    for object in &objects {
        let id = crate::outcome::shown_id(&object.id);
        let pad = " ".repeat(width.saturating_sub(id.chars().count()));
        text.push_str(&format!("  {id}{pad}  {}\n", object.seen_text(suite)));
    }
    text
}

/// How many findings of one lint the terminal shows; the rest are counted
/// (every report file and the snapshot have them all).
const SHOWN_PER_LINT: usize = 5;

/// Each suite's findings (scopes, ignored writes, lints), with their hints;
/// lints with their one-line explanation, at most [`SHOWN_PER_LINT`] each;
/// with `--quiet`, only those that fail the run.
fn findings_lines(run: &RunReport<'_>, style: TerminalStyle) -> String {
    use crate::scopes::FindingKind;
    let mut text = String::new();
    for (s, suite) in run.suites.iter().enumerate() {
        let failing = |f: &crate::scopes::Finding| {
            f.accepted.is_none() && run.class_fails(s, f.kind.as_str())
        };
        let shown: Vec<_> = (run.findings_of(s).iter())
            .filter(|f| !style.quiet || failing(f))
            .collect();
        if shown.is_empty() {
            continue;
        }
        text.push_str(&format!("findings in {}:\n", suite.name));
        let mut per_lint: std::collections::BTreeMap<&str, usize> = Default::default();
        for finding in &shown {
            if let Some(id) = finding.kind.lint() {
                let seen = per_lint.entry(id.as_str()).or_default();
                *seen += 1;
                if *seen == 1 {
                    text.push_str(&format!("  {}: {}\n", id.as_str(), id.explanation()));
                }
                if *seen > SHOWN_PER_LINT {
                    continue;
                }
            }
            let line = finding.line(suite);
            let line = match finding.kind {
                _ if failing(finding) => paint(&line, style, |s| s.red().bold().to_string()),
                _ if finding.accepted.is_some() => paint(&line, style, |s| s.dimmed().to_string()),
                FindingKind::ReachedWithoutScopes => paint(&line, style, |s| s.red().to_string()),
                FindingKind::DeniedDespiteScopes => paint(&line, style, |s| s.yellow().to_string()),
                FindingKind::ReachedButIgnored | FindingKind::Lint(_) => {
                    paint(&line, style, |s| s.yellow().to_string())
                }
                FindingKind::UnusedScopes => line,
            };
            text.push_str(&format!(
                "  {line}\n    {}\n",
                http::printable(&finding.hint)
            ));
        }
        for (id, n) in per_lint.into_iter().filter(|(_, n)| *n > SHOWN_PER_LINT) {
            text.push_str(&format!(
                "  … and {} more {id} finding(s): every one is in the JSON, Markdown and HTML reports and the snapshot\n",
                n - SHOWN_PER_LINT
            ));
        }
        text.push('\n');
    }
    text
}

/// What each suite's snapshot check found; widened changes stand out.
fn snapshot_lines(run: &RunReport<'_>, style: TerminalStyle) -> String {
    use crate::snapshot::{ChangeClass, SnapshotOutcome};
    let mut text = String::new();
    let changes = |text: &mut String, changes: &[crate::snapshot::Change]| {
        for change in changes {
            let line = change.to_string();
            let line = match change.class {
                ChangeClass::Widened => paint(&line, style, |s| s.red().bold().to_string()),
                ChangeClass::AuthBroken => paint(&line, style, |s| s.magenta().to_string()),
                ChangeClass::Narrowed => paint(&line, style, |s| s.yellow().to_string()),
                _ => line,
            };
            text.push_str(&format!("  {line}\n"));
        }
    };
    for (suite, outcome) in run.suites.iter().zip(run.snapshots) {
        match outcome {
            None | Some(SnapshotOutcome::Unchanged) => {}
            Some(SnapshotOutcome::NothingRecorded) => {
                text.push_str(&format!(
                    "snapshot {}: nothing recorded, no cell got a response (none written)\n",
                    suite.name
                ));
            }
            Some(SnapshotOutcome::Created(path)) => {
                text.push_str(&format!(
                    "snapshot {}: written to {} (first run)\n",
                    suite.name,
                    path.display()
                ));
            }
            Some(SnapshotOutcome::MissingInCi(path)) => {
                let line = format!(
                    "snapshot {}: {} does not exist and CI is set: run permatrix where CI is not set and commit the snapshot",
                    suite.name,
                    path.display()
                );
                text.push_str(&paint(&line, style, |s| s.red().bold().to_string()));
                text.push('\n');
            }
            Some(SnapshotOutcome::Changed {
                path,
                new_path,
                changes: found,
                diff,
            }) => {
                let line = format!(
                    "snapshot {}: the matrix changed ({} change(s)) against {}",
                    suite.name,
                    found.len(),
                    path.display()
                );
                text.push_str(&paint(&line, style, |s| s.red().bold().to_string()));
                text.push('\n');
                changes(&mut text, found);
                text.push_str(&http::printable(diff));
                text.push_str(&format!(
                    "the new matrix is in {}: review it, then run again with --accept (or cargo insta review)\n",
                    new_path.display()
                ));
            }
            Some(SnapshotOutcome::Accepted {
                path,
                changes: found,
            }) => {
                text.push_str(&format!(
                    "snapshot {}: accepted {} change(s) into {}\n",
                    suite.name,
                    found.len(),
                    path.display()
                ));
                changes(&mut text, found);
            }
        }
    }
    if !text.is_empty() {
        text.push('\n');
    }
    text
}

fn paint(text: &str, style: TerminalStyle, colour: impl Fn(&str) -> String) -> String {
    if style.color {
        colour(text)
    } else {
        text.to_string()
    }
}

/// One suite's matrix: rows endpoints, columns principals.
fn matrix(run: &RunReport<'_>, s: usize, style: TerminalStyle) -> String {
    let suite = &run.suites[s];
    let target = run
        .targets
        .get(s)
        .map(|t| format!(" → {}", t.base_url))
        .unwrap_or_default();
    let mut text = format!("{} ({}){target}\n", suite.name, suite.file.display());
    let by_cell: HashMap<CellId, &CellOutcome> = run
        .outcomes
        .iter()
        .filter(|o| o.id.suite == s)
        .map(|o| (o.id, o))
        .collect();
    let cells = |e: usize| -> Vec<(String, String)> {
        (0..suite.principals.len())
            .map(|p| {
                cell_text(
                    by_cell
                        .get(&CellId {
                            suite: s,
                            endpoint: e,
                            principal: p,
                        })
                        .copied(),
                    style,
                )
            })
            .collect()
    };
    let names: Vec<&str> = suite.endpoints.iter().map(|e| e.name.as_str()).collect();
    let rows: Vec<Vec<(String, String)>> = (0..names.len()).map(cells).collect();
    // A decided cell (`403 (200) ✗`, `partial (200)`) is wider than a status.
    let widest: Vec<usize> = (0..suite.principals.len())
        .map(|p| {
            rows.iter()
                .filter_map(|row| row.get(p))
                .map(|(plain, _)| plain.chars().count())
                .max()
                .unwrap_or(0)
                .max(5)
        })
        .collect();
    let cells = |e: usize| -> Vec<(String, String)> { rows[e].clone() };
    let longest = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    let full: Vec<usize> = suite
        .principals
        .iter()
        .zip(&widest)
        .map(|(p, w)| p.name.chars().count().max(*w))
        .collect();
    let available = style.width.unwrap_or(usize::MAX);
    let fits = |label: usize, columns: &[usize]| {
        label + columns.iter().map(|w| w + 2).sum::<usize>() <= available
    };
    // 1. Whole names.
    if fits(longest, &full) {
        let header: Vec<(String, String)> = suite
            .principals
            .iter()
            .map(|p| (p.name.clone(), p.name.clone()))
            .collect();
        text.push_str(&row("", longest, &header, &full));
        for (e, name) in names.iter().enumerate() {
            text.push_str(&row(name, longest, &cells(e), &full));
        }
        return text;
    }
    // 2. Principals as P1, P2… with a legend; long endpoint names shortened.
    let short: Vec<String> = (1..=suite.principals.len())
        .map(|i| format!("P{i}"))
        .collect();
    let narrow: Vec<usize> = short
        .iter()
        .zip(&widest)
        .map(|(l, w)| l.len().max(*w))
        .collect();
    let columns: usize = narrow.iter().map(|w| w + 2).sum();
    let label = longest.min(available.saturating_sub(columns)).max(12);
    if label + columns <= available {
        let legend: Vec<String> = suite
            .principals
            .iter()
            .zip(&short)
            .map(|(p, l)| format!("{l} = {}", p.name))
            .collect();
        text.push_str(&wrap(&legend.join(", "), available));
        let header: Vec<(String, String)> = short.iter().map(|l| (l.clone(), l.clone())).collect();
        text.push_str(&row("", label, &header, &narrow));
        for (e, name) in names.iter().enumerate() {
            text.push_str(&row(&shorten(name, label), label, &cells(e), &narrow));
        }
        return text;
    }
    // 3. Too many principals for any table: one list per principal.
    for (p, principal) in suite.principals.iter().enumerate() {
        text.push_str(&format!("{}:\n", principal.name));
        for (e, name) in names.iter().enumerate() {
            let (plain, painted) = &cells(e)[p];
            // As wide as the principal's widest cell (`partial (200) ✗`), at least `403 ✗`.
            let width = widest[p].max(7);
            let pad = " ".repeat(width.saturating_sub(plain.chars().count()));
            let name = shorten(name, available.saturating_sub(width + 6).max(12));
            text.push_str(&format!("  {painted}{pad}  {name}\n"));
        }
    }
    text
}

/// `name` cut to `width` characters, marking the cut.
fn shorten(name: &str, width: usize) -> String {
    if name.chars().count() <= width {
        return name.to_string();
    }
    let kept: String = name.chars().take(width.saturating_sub(1)).collect();
    format!("{kept}…")
}

/// `text` broken at `, ` to lines no wider than `width`.
fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for part in text.split(", ") {
        if !line.is_empty() && line.chars().count() + part.chars().count() + 2 > width {
            out.push_str(&line);
            out.push_str(",\n");
            line.clear();
        }
        if !line.is_empty() {
            line.push_str(", ");
        }
        line.push_str(part);
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// One matrix line: the label padded, then each `(plain, painted)` cell padded by its plain width.
fn row(label: &str, label_width: usize, cells: &[(String, String)], widths: &[usize]) -> String {
    let mut line = format!(
        "{label}{}",
        " ".repeat(label_width.saturating_sub(label.chars().count()))
    );
    for (i, ((plain, painted), width)) in cells.iter().zip(widths).enumerate() {
        line.push_str("  ");
        line.push_str(painted);
        if i + 1 < cells.len() {
            line.push_str(&" ".repeat(width.saturating_sub(plain.chars().count())));
        }
    }
    line.push('\n');
    line
}

/// A matrix cell as plain text (for widths) and as displayed.
fn cell_text(outcome: Option<&CellOutcome>, style: TerminalStyle) -> (String, String) {
    let Some(outcome) = outcome else {
        return ("·".into(), paint("·", style, |s| s.dimmed().to_string()));
    };
    let plain = match (&outcome.result, outcome.verdict) {
        (CellResult::Responded(o), Verdict::Failed) => format!("{} ✗", o.shown()),
        (CellResult::Responded(o), Verdict::CredentialsRejected) => format!("{} ⊘", o.shown()),
        (CellResult::Responded(o), Verdict::DeniedButApplied) => format!("{} ✗ applied", o.shown()),
        (CellResult::Responded(o), _) => o.shown(),
        (CellResult::Error { .. }, _) => "error".into(),
        (CellResult::Skipped { .. }, _) => "skip".into(),
    };
    let painted = match outcome.verdict {
        Verdict::Passed => paint(&plain, style, |s| s.green().to_string()),
        Verdict::Failed => paint(&plain, style, |s| s.red().bold().to_string()),
        Verdict::Error => paint(&plain, style, |s| s.yellow().to_string()),
        Verdict::Skipped => paint(&plain, style, |s| s.dimmed().to_string()),
        Verdict::CredentialsRejected => paint(&plain, style, |s| s.magenta().to_string()),
        Verdict::AcceptedTampered | Verdict::DeniedButApplied => {
            paint(&plain, style, |s| s.red().bold().reversed().to_string())
        }
    };
    (plain, painted)
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::*;
    use crate::execute::ResolvedTarget;
    use crate::outcome::{CellId, ErrorKind, Observation, Tally};
    use crate::suite::{LoadOptions, load_str};

    const SUITE: &str = r#"
suite: shown
target: { base_url: "http://127.0.0.1:1" }
principals:
  anonymous: { auth: none }
  administrator: { auth: none }
endpoints:
  - request: GET /a
    expect: { "*": deny }
  - name: a much longer endpoint name
    request: POST /b
    expect: { "*": 200 }
"#;

    fn outcome(
        endpoint: usize,
        principal: usize,
        result: CellResult,
        verdict: Verdict,
    ) -> CellOutcome {
        CellOutcome {
            id: CellId {
                suite: 0,
                endpoint,
                principal,
            },
            expected: crate::suite::Expectation::Deny,
            request: None,
            result,
            verdict,
            attempts: 1,
            elapsed: Duration::ZERO,
            note: None,
            trace: None,
            body: None,
            write: None,
        }
    }

    fn responded(status: u16) -> CellResult {
        CellResult::Responded(Observation {
            status,
            www_authenticate: Some("Basic realm=\"x\"".into()),
            location: None,
            excerpt: String::new(),
            facts: vec![],
            comparable: None,
            recorded: None,
            decision: None,
            items: None,
        })
    }

    fn rendered(style: TerminalStyle) -> String {
        let suite =
            load_str(Path::new("shown.yaml"), SUITE, &LoadOptions::default()).expect("valid");
        let suites = [suite];
        let targets = [ResolvedTarget {
            base_url: url::Url::parse("http://127.0.0.1:1").expect("url"),
            is_mock: false,
        }];
        let outcomes = [
            outcome(0, 0, responded(401), Verdict::Passed),
            outcome(0, 1, responded(200), Verdict::Failed),
            outcome(
                1,
                0,
                CellResult::Error {
                    kind: ErrorKind::Timeout,
                    message: "timed out after 1s".into(),
                },
                Verdict::Error,
            ),
            outcome(
                1,
                1,
                CellResult::Skipped {
                    reason: "POST not sent".into(),
                },
                Verdict::Skipped,
            ),
        ];
        let report = RunReport {
            steps: &[],
            fail_on: &[],
            suites: &suites,
            targets: &targets,
            outcomes: &outcomes,
            tally: Tally::of(&outcomes),
            snapshots: &[],
            not_run: &[],
            findings: &[],
            strict_scopes: false,
            timing: None,
        };
        render(&report, style)
    }

    #[test]
    fn plain_output_lists_problems_then_the_aligned_matrix_then_the_tally() {
        let text = rendered(TerminalStyle::default());
        let expected = "\
FAIL  shown › GET /a › administrator: expected deny, got 200 · WWW-Authenticate: Basic realm=\"x\" · expectation from expect.\"*\", line 9
ERROR shown › a much longer endpoint name › anonymous: expected deny, no response: timed out after 1s
SKIP  shown › a much longer endpoint name › administrator: POST not sent

shown (shown.yaml) → http://127.0.0.1:1/
                             anonymous  administrator
GET /a                       401        200 ✗
a much longer endpoint name  error      skip

1 passed, 1 failed, 1 errors, 1 skipped
";
        assert_eq!(text, expected);
        assert!(!text.contains('\u{1b}'));
    }

    #[test]
    fn wide_matrices_shorten_then_list() {
        let at = |width| {
            super::super::fixture::with_report(|run| {
                render(
                    run,
                    TerminalStyle {
                        width: Some(width),
                        quiet: false,
                        ..TerminalStyle::default()
                    },
                )
            })
        };
        insta::assert_snapshot!("full_width", at(200));
        insta::assert_snapshot!("legend", at(40));
        insta::assert_snapshot!("per_principal", at(30));
    }

    #[test]
    fn colour_only_when_asked_and_quiet_drops_the_matrix() {
        assert!(
            rendered(TerminalStyle {
                color: true,
                ..TerminalStyle::default()
            })
            .contains("\u{1b}[")
        );
        let quiet = rendered(TerminalStyle {
            quiet: true,
            ..TerminalStyle::default()
        });
        assert!(!quiet.contains("anonymous  administrator"), "{quiet}");
        assert!(
            quiet.ends_with("1 passed, 1 failed, 1 errors, 1 skipped\n"),
            "{quiet}"
        );
    }
}
