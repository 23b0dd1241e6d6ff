//! The terminal display: a progress bar while running, then one line per
//! failing, erroring or skipped cell, the matrix of each suite, and the tally.

use std::io::Write;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use owo_colors::OwoColorize;

use super::{Event, Reporter, RunReport};
use crate::outcome::{CellOutcome, CellResult, Verdict};

/// How the terminal display looks.
#[derive(Clone, Copy, Debug, Default)]
pub struct TerminalStyle {
    /// Colour the output (a terminal, and `NO_COLOR` unset).
    pub color: bool,
    /// Draw a progress bar on stderr (stderr is a terminal, not `--quiet`).
    pub progress: bool,
    /// `--quiet`: only the cell lines and the tally.
    pub quiet: bool,
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
    fn handle(&mut self, event: &Event<'_>) -> Result<(), String> {
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
            Event::Finished(run) => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
                let text = render(run, self.style);
                self.out
                    .write_all(text.as_bytes())
                    .map_err(|e| format!("cannot write to the terminal: {e}"))?;
                self.out
                    .flush()
                    .map_err(|e| format!("cannot write to the terminal: {e}"))?;
            }
        }
        Ok(())
    }
}

/// What went wrong with a cell, in one line: expectation and status, then
/// `WWW-Authenticate`, `Location` or a body excerpt; the error; the skip reason.
pub fn detail(outcome: &CellOutcome) -> String {
    match &outcome.result {
        CellResult::Responded(o) => {
            let mut line = format!("expected {}, got {}", outcome.expected, o.status);
            if let Some(challenge) = &o.www_authenticate {
                line.push_str(&format!(" · WWW-Authenticate: {challenge}"));
            } else if let Some(location) = &o.location {
                line.push_str(&format!(" · Location: {location}"));
            } else if !o.excerpt.is_empty() {
                line.push_str(&format!(" · {}", o.excerpt));
            }
            line
        }
        CellResult::Error { message, .. } => {
            format!("expected {}, no response: {message}", outcome.expected)
        }
        CellResult::Skipped { reason } => reason.clone(),
    }
}

/// The whole report as text.
pub fn render(run: &RunReport<'_>, style: TerminalStyle) -> String {
    let mut text = String::new();
    for outcome in run.outcomes.iter().filter(|o| o.verdict != Verdict::Passed) {
        let suite = &run.suites[outcome.id.suite];
        let label = match outcome.verdict {
            Verdict::Failed => paint("FAIL ", style, |s| s.red().bold().to_string()),
            Verdict::Error => paint("ERROR", style, |s| s.yellow().bold().to_string()),
            Verdict::Skipped => paint("SKIP ", style, |s| s.dimmed().to_string()),
            Verdict::Passed => continue,
        };
        text.push_str(&format!(
            "{label} {} › {} › {}: {}\n",
            suite.name,
            suite.endpoints[outcome.id.endpoint].name,
            suite.principals[outcome.id.principal].name,
            detail(outcome)
        ));
    }
    if !style.quiet {
        for s in 0..run.suites.len() {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&matrix(run, s, style));
        }
        if !text.is_empty() {
            text.push('\n');
        }
    }
    let tally = run.tally.line();
    let tally = if run.tally.fails_run() {
        paint(&tally, style, |s| s.red().bold().to_string())
    } else {
        paint(&tally, style, |s| s.green().bold().to_string())
    };
    text.push_str(&tally);
    text.push('\n');
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
    let first_width = suite
        .endpoints
        .iter()
        .map(|e| e.name.chars().count())
        .max()
        .unwrap_or(0)
        .max(8);
    let widths: Vec<usize> = suite
        .principals
        .iter()
        .map(|p| p.name.chars().count().max(6))
        .collect();
    text.push_str(&" ".repeat(first_width));
    for (principal, width) in suite.principals.iter().zip(&widths) {
        text.push_str(&format!("  {:<width$}", principal.name));
    }
    text.push('\n');
    for (e, endpoint) in suite.endpoints.iter().enumerate() {
        let name_width = endpoint.name.chars().count();
        text.push_str(&endpoint.name);
        text.push_str(&" ".repeat(first_width - name_width));
        for (p, width) in widths.iter().enumerate() {
            let outcome = run
                .outcomes
                .iter()
                .find(|o| o.id.suite == s && o.id.endpoint == e && o.id.principal == p);
            let (plain, painted) = cell_text(outcome, style);
            text.push_str("  ");
            text.push_str(&painted);
            text.push_str(&" ".repeat(width.saturating_sub(plain.chars().count())));
        }
        text.push('\n');
    }
    text
}

/// A matrix cell as plain text (for widths) and as displayed.
fn cell_text(outcome: Option<&CellOutcome>, style: TerminalStyle) -> (String, String) {
    let Some(outcome) = outcome else {
        return ("·".into(), paint("·", style, |s| s.dimmed().to_string()));
    };
    let plain = match (&outcome.result, outcome.verdict) {
        (CellResult::Responded(o), Verdict::Failed) => format!("{} ✗", o.status),
        (CellResult::Responded(o), _) => o.status.to_string(),
        (CellResult::Error { .. }, _) => "error".into(),
        (CellResult::Skipped { .. }, _) => "skip".into(),
    };
    let painted = match outcome.verdict {
        Verdict::Passed => paint(&plain, style, |s| s.green().to_string()),
        Verdict::Failed => paint(&plain, style, |s| s.red().bold().to_string()),
        Verdict::Error => paint(&plain, style, |s| s.yellow().to_string()),
        Verdict::Skipped => paint(&plain, style, |s| s.dimmed().to_string()),
    };
    (plain, painted)
}
