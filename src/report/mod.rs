//! Reporters: each output is a consumer of the run's events.
//!
//! The engine does not print. The run emits [`Event`]s; the terminal display,
//! the GitHub annotations and every report file handle them. A report file is
//! a [`Format`] rendered by one [`FileReporter`], which writes it atomically
//! when the run ends, interrupted or not: a new format is one module with a
//! `render` function and one line in [`Format::render`].

pub(crate) mod cells;
mod classes;
#[cfg(test)]
mod fixture;
mod github;
mod grouped;
mod html;
mod json;
mod junit;
mod markdown;
pub mod terminal;

use std::path::PathBuf;

use crate::atomic_file::{WriteError, write_atomically};
use crate::execute::ResolvedTarget;
use crate::outcome::{CellId, CellOutcome, Tally};
use crate::scopes::{Finding, FindingKind};
use crate::suite::Suite;
pub(crate) use classes::verdict_class;

/// Everything known when a run ends, outcomes in suite order.
pub struct RunReport<'a> {
    /// The suites of the run.
    pub suites: &'a [Suite],
    /// Where each suite's requests went.
    pub targets: &'a [ResolvedTarget],
    /// Every cell that ran, in suite order.
    pub outcomes: &'a [CellOutcome],
    /// Their counts.
    pub tally: Tally,
    /// Each suite's snapshot check, by suite index (empty with `--no-snapshot`).
    pub snapshots: &'a [Option<crate::snapshot::SnapshotOutcome>],
    /// Cells planned but not run because the run was interrupted (empty when it was not).
    pub not_run: &'a [CellId],
    /// Each suite's findings (scopes, ignored writes), by suite index (empty when none were computed).
    pub findings: &'a [Vec<Finding>],
    /// `--strict-scopes`: a reached-without-scopes finding fails the run.
    pub strict_scopes: bool,
    /// When the run started and how long it took (`None` in tests of the formats).
    pub timing: Option<RunTiming>,
    /// What the setup and teardown steps did, in the order they ran.
    pub steps: &'a [crate::outcome::StepRecord],
    /// Each suite's `--fail-on` (or `fail_on:`), by suite index; `None` (or
    /// an empty slice): what fails a run by default.
    pub fail_on: &'a [Option<crate::suite::lints::FailOn>],
}

/// One object seen in a suite's lists, and who saw it through which endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeenObject {
    /// Its id.
    pub id: String,
    /// (principal index, endpoint index), in suite order.
    pub seen_by: Vec<(usize, usize)>,
}

impl SeenObject {
    /// `alice (GET /notes, GET /search); bob (GET /search)`: who saw it, through what.
    pub fn seen_text(&self, suite: &Suite) -> String {
        let mut parts: Vec<String> = Vec::new();
        let mut i = 0;
        while i < self.seen_by.len() {
            let principal = self.seen_by[i].0;
            let endpoints: Vec<&str> = self.seen_by[i..]
                .iter()
                .take_while(|(p, _)| *p == principal)
                .map(|&(_, e)| suite.endpoints[e].name.as_str())
                .collect();
            i += endpoints.len();
            parts.push(format!(
                "{} ({})",
                suite.principals[principal].name,
                endpoints.join(", ")
            ));
        }
        parts.join("; ")
    }
}

impl RunReport<'_> {
    /// Every id suite `s`'s lists held, sorted, with who saw it where
    /// ("who can see this object?"); empty when no endpoint has `items:`.
    pub fn objects_of(&self, s: usize) -> Vec<SeenObject> {
        let mut by_id: std::collections::BTreeMap<&str, Vec<(usize, usize)>> =
            std::collections::BTreeMap::new();
        for outcome in self.outcomes.iter().filter(|o| o.id.suite == s) {
            let crate::outcome::CellResult::Responded(o) = &outcome.result else {
                continue;
            };
            for id in o.items.iter().flat_map(|i| &i.ids) {
                by_id
                    .entry(id.as_str())
                    .or_default()
                    .push((outcome.id.principal, outcome.id.endpoint));
            }
        }
        by_id
            .into_iter()
            .map(|(id, mut seen_by)| {
                seen_by.sort_unstable();
                SeenObject {
                    id: id.to_string(),
                    seen_by,
                }
            })
            .collect()
    }
}

/// When a run started and how long it took.
#[derive(Clone, Copy, Debug)]
pub struct RunTiming {
    /// The wall-clock start.
    pub started: std::time::SystemTime,
    /// From the start to the end of the last cell.
    pub elapsed: std::time::Duration,
}

impl RunReport<'_> {
    /// Whether the run was interrupted before every cell ran.
    pub fn interrupted(&self) -> bool {
        !self.not_run.is_empty()
    }

    /// Suite `s`'s findings.
    pub fn findings_of(&self, s: usize) -> &[Finding] {
        self.findings.get(s).map_or(&[], Vec::as_slice)
    }

    /// The closing line: the tally, then whatever else fails the run, so it
    /// never reads green when the run is red: changed snapshots with their
    /// classes, missing ones, findings that fail it.
    pub fn closing_line(&self) -> String {
        use crate::snapshot::SnapshotOutcome;
        let mut line = self.tally.line();
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let changed: Vec<&[crate::snapshot::Change]> = (self.snapshots.iter().flatten())
            .filter_map(|s| match s {
                SnapshotOutcome::Changed { changes, .. } => Some(changes.as_slice()),
                _ => None,
            })
            .collect();
        if !changed.is_empty() {
            line.push_str(&format!(
                ", {}",
                plural(changed.len(), "snapshot changed", "snapshots changed")
            ));
            let mut classes: std::collections::BTreeMap<_, usize> = Default::default();
            for change in changed.iter().copied().flatten() {
                *classes.entry(change.class).or_default() += 1;
            }
            let classes: Vec<String> = classes
                .iter()
                .map(|(class, n)| format!("{n} {}", class.as_str()))
                .collect();
            if !classes.is_empty() {
                line.push_str(&format!(" ({})", classes.join(", ")));
            }
        }
        let missing = (self.snapshots.iter().flatten())
            .filter(|s| matches!(s, SnapshotOutcome::MissingInCi(_)))
            .count();
        if missing > 0 {
            line.push_str(&format!(
                ", {}",
                plural(missing, "snapshot missing", "snapshots missing")
            ));
        }
        let probes = (self.outcomes.iter())
            .filter(|o| {
                (self.suites.get(o.id.suite))
                    .and_then(|s| s.principals.get(o.id.principal))
                    .is_some_and(|p| p.probe.is_some())
            })
            .count();
        if probes > 0 {
            line.push_str(&format!(", {}", plural(probes, "probe", "probes")));
        }
        // Every sent cell of an endpoint with `verify:`: two more requests each, one at a time.
        let verified = (self.outcomes.iter())
            .filter(|o| o.write.as_ref().is_some_and(|w| w.verified))
            .count();
        if verified > 0 {
            line.push_str(&format!(
                ", {}",
                plural(verified, "verified write", "verified writes")
            ));
        }
        let failed_steps = self.steps.iter().filter(|s| s.fails_run()).count();
        if failed_steps > 0 {
            line.push_str(&format!(
                ", {}",
                plural(failed_steps, "step failed", "steps failed")
            ));
        }
        if self.findings_fail_run() {
            let reached = (self.findings.iter().flatten())
                .filter(|f| f.kind == FindingKind::ReachedWithoutScopes)
                .count();
            line.push_str(&format!(
                ", {reached} reached without scopes (--strict-scopes)"
            ));
        }
        if let Some(classes) = self.fail_on_line() {
            line.push_str(&format!(" · {classes}"));
        }
        line
    }

    /// The changes of changed snapshots that may be security regressions
    /// (widened, auth-broken), with their suite's index, in suite order.
    pub fn alarming_changes(&self) -> Vec<(usize, &crate::snapshot::Change)> {
        use crate::snapshot::{ChangeClass, SnapshotOutcome};
        let mut found = Vec::new();
        for (s, outcome) in self.snapshots.iter().enumerate() {
            if let Some(SnapshotOutcome::Changed { changes, .. }) = outcome {
                found.extend(
                    changes
                        .iter()
                        .filter(|c| {
                            matches!(c.class, ChangeClass::Widened | ChangeClass::AuthBroken)
                        })
                        .map(|c| (s, c)),
                );
            }
        }
        found
    }

    /// Whether a finding fails the run: one reached without its scopes, with `--strict-scopes`.
    pub fn findings_fail_run(&self) -> bool {
        self.strict_scopes
            && self
                .findings
                .iter()
                .flatten()
                .any(|f| f.kind == FindingKind::ReachedWithoutScopes)
    }
}

/// What a reporter is told, in order: started, each cell as it finishes, then
/// finished or interrupted.
pub enum Event<'a> {
    /// The run is about to send; `cells` will finish.
    Started {
        /// How many cells were planned.
        cells: usize,
    },
    /// A cell finished (completion order).
    CellFinished(&'a CellOutcome),
    /// The run ended; outcomes are in suite order.
    Finished(&'a RunReport<'a>),
    /// The run was interrupted (Ctrl-C): the cells that finished, and those that did not.
    Interrupted(&'a RunReport<'a>),
}

impl<'a> Event<'a> {
    /// The report of a run that ended, finished or interrupted.
    pub fn ended(&self) -> Option<&'a RunReport<'a>> {
        match self {
            Event::Finished(run) | Event::Interrupted(run) => Some(run),
            Event::Started { .. } | Event::CellFinished(_) => None,
        }
    }
}

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A report file could not be written.
    #[error(transparent)]
    File(#[from] WriteError),
    /// The terminal (or another stream) refused the output.
    #[error("cannot write {what}: {source}")]
    Stream {
        /// What was being written.
        what: &'static str,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A format could not render the run.
    #[error("cannot render the {format} report: {message}")]
    Render {
        /// The format's name.
        format: &'static str,
        /// What went wrong.
        message: String,
    },
}

/// A consumer of run events.
pub trait Reporter {
    /// Handles one event; an error is shown to the user once, after the run.
    fn handle(&mut self, event: &Event<'_>) -> Result<(), ReportError>;
}

/// A file format a run is written in when it ends (or is interrupted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `--json FILE`.
    Json,
    /// `--junit FILE`.
    Junit,
    /// `--markdown FILE`, and the GitHub step summary.
    Markdown,
    /// `--html FILE`.
    Html,
}

impl Format {
    /// The flag that asks for it.
    pub fn flag(self) -> &'static str {
        match self {
            Format::Json => "--json",
            Format::Junit => "--junit",
            Format::Markdown => "--markdown",
            Format::Html => "--html",
        }
    }

    /// The run in this format: the one place a format is registered.
    pub fn render(self, run: &RunReport<'_>) -> Result<Vec<u8>, ReportError> {
        match self {
            Format::Json => json::render(run),
            Format::Junit => junit::render(run),
            Format::Markdown => Ok(markdown::render(run).into_bytes()),
            Format::Html => Ok(html::render(run).into_bytes()),
        }
    }
}

/// How a report file is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteMode {
    /// Whole, replacing the file atomically (written through when it is a pipe or a device).
    Replace,
    /// Appended to the file (GitHub's `GITHUB_STEP_SUMMARY`).
    Append,
    /// To standard output (`--json -`); the terminal display then goes to stderr.
    Stdout,
}

/// One report file: a format, a path and how it is written.
#[derive(Clone, Debug)]
pub struct ReportFile {
    /// The format.
    pub format: Format,
    /// Where it goes.
    pub path: PathBuf,
    /// Replace or append.
    pub mode: WriteMode,
}

/// The reporter of every report file: renders its format when the run ends
/// and writes it, atomically or appending.
pub struct FileReporter {
    file: ReportFile,
}

impl FileReporter {
    /// A reporter writing `file`.
    pub fn new(file: ReportFile) -> FileReporter {
        FileReporter { file }
    }
}

impl Reporter for FileReporter {
    fn handle(&mut self, event: &Event<'_>) -> Result<(), ReportError> {
        let Some(run) = event.ended() else {
            return Ok(());
        };
        let bytes = self.file.format.render(run)?;
        match self.file.mode {
            WriteMode::Replace => write_atomically(&self.file.path, &bytes)?,
            WriteMode::Append => append(&self.file.path, &bytes)?,
            WriteMode::Stdout => {
                use std::io::Write;
                let mut out = std::io::stdout().lock();
                match out.write_all(&bytes).and_then(|()| out.flush()) {
                    // A reader that went away (`| head`) ends the output, not the run.
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                    Err(source) => {
                        return Err(ReportError::Stream {
                            what: "a report to stdout",
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

/// Appends `bytes` to `path`, creating it.
fn append(path: &std::path::Path, bytes: &[u8]) -> Result<(), WriteError> {
    use std::io::Write;
    let fail = |source| WriteError {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(fail)?;
    file.write_all(bytes).map_err(fail)
}

/// Every reporter of a run: the terminal first, each report file, then the
/// GitHub annotations when asked for. When a report goes to stdout (`-`),
/// the terminal display and the annotations go to stderr.
pub fn reporters(
    terminal: terminal::TerminalStyle,
    files: &[ReportFile],
    annotations: bool,
) -> Vec<Box<dyn Reporter>> {
    let stdout_taken = files.iter().any(|f| f.mode == WriteMode::Stdout);
    let human = |_: ()| -> Box<dyn std::io::Write> {
        if stdout_taken {
            Box::new(std::io::stderr())
        } else {
            Box::new(std::io::stdout())
        }
    };
    let mut all: Vec<Box<dyn Reporter>> = vec![Box::new(terminal::TerminalReporter::new(
        human(()),
        terminal,
    ))];
    all.extend(
        files
            .iter()
            .map(|file| Box::new(FileReporter::new(file.clone())) as Box<dyn Reporter>),
    );
    if annotations {
        all.push(Box::new(github::GithubAnnotations::new(human(()))));
    }
    all
}
