//! The commands as library calls: `run`, `check` and `mock` from a plain
//! configuration, each returning what happened as a value. Nothing here reads
//! argv or the environment, and nothing prints but the reporters: the binary
//! shows errors and notes, and [`exit_code`] maps every ending to the
//! process's exit status in one place.

use std::path::{Path, PathBuf};

use crate::outcome::{CellOutcome, Tally};
use crate::plan::Selection;
use crate::redact::MIN_FREE_TEXT_LEN;
use crate::report::terminal::TerminalStyle;
use crate::report::{Event, ReportError, ReportFile, Reporter, RunReport, WriteMode};
use crate::session::{Completion, Session, SessionError, SessionOptions, StepChoice};
use crate::snapshot::{SnapshotError, SnapshotSettings};
use crate::suite::Diagnostic;

pub use crate::session::TargetChoice;

/// Process exit codes (SPEC §3).
pub mod exit {
    /// Every cell passed or was skipped.
    pub const PASSED: u8 = 0;
    /// A cell failed or errored.
    pub const FAILED: u8 = 1;
    /// Invalid suite, invalid usage, or a target that could not be set up.
    pub const INVALID: u8 = 2;
    /// Interrupted (Ctrl-C).
    pub const INTERRUPTED: u8 = 130;
}

/// Everything `permatrix run` needs, parsed from the command line and environment.
#[derive(Clone, Debug, Default)]
pub struct RunConfig {
    /// Suite files or folders.
    pub paths: Vec<PathBuf>,
    /// `--base-url` and `--mock`.
    pub target: TargetChoice,
    /// Engine settings and interpolation sources.
    pub exec: crate::execute::ExecOptions,
    /// `--filter` and `--principal`.
    pub selection: Selection,
    /// Snapshot handling; `None` with `--no-snapshot`.
    pub snapshots: Option<SnapshotSettings>,
    /// The report files asked for (`--json`, `--junit`, `--markdown`,
    /// `--html`, GitHub's step summary), written in this order.
    pub reports: Vec<ReportFile>,
    /// `GITHUB_ACTIONS=true`: print an `::error` annotation per failing cell.
    pub annotations: bool,
    /// Terminal colours, progress bar, `--quiet`.
    pub style: TerminalStyle,
    /// `--strict-scopes`: an endpoint reached without its documented scopes fails the run.
    pub strict_scopes: bool,
    /// `--record FILE`: write the run as a recording (`exec.record` says what to keep).
    pub record: Option<PathBuf>,
    /// `--lints`: which lints run, over every suite's `lints:`.
    pub lints: Option<crate::suite::lints::LintChoice>,
    /// `--fail-on`: which classes fail the run, over every suite's `fail_on:`.
    pub fail_on: Option<crate::suite::lints::FailOn>,
    /// `--openapi`: the API document every suite's endpoints are checked against.
    pub openapi: Option<PathBuf>,
    /// `--openapi-map FROM=TO`: request path prefixes matched as others.
    pub openapi_maps: Vec<crate::openapi::matcher::PathMap>,
}

/// How a command ended when it did its work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// Every cell passed (or was skipped) and no snapshot changed.
    Passed,
    /// A cell failed or errored, or a snapshot changed.
    Failed,
    /// Ctrl-C stopped the run.
    Interrupted,
}

/// What a finished command has to tell besides its reports.
#[derive(Clone, Debug)]
pub struct Finished {
    /// How it ended.
    pub ending: Ending,
    /// Lines for stdout (a summary).
    pub lines: Vec<String>,
    /// Lines for stderr (warnings, what an interruption left out).
    pub notes: Vec<String>,
}

/// Why a command could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// Suites or a mock definition are invalid; `then` says what did not happen.
    #[error("{} problem(s) found{then}", diagnostics.len())]
    Invalid {
        /// Every problem, located.
        diagnostics: Vec<Diagnostic>,
        /// How the closing line ends: `; nothing was run.`, …
        then: &'static str,
    },
    /// The command line asks for something impossible.
    #[error("{0}")]
    Usage(String),
    /// The session could not plan, start or execute.
    #[error(transparent)]
    Session(SessionError),
    /// The mock could not listen or the runtime start.
    #[error("{0}")]
    Setup(String),
    /// `init` could not make or write its suite.
    #[error(transparent)]
    Init(#[from] crate::import::init::InitError),
    /// Reports or snapshots could not be written; the run itself happened.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\nerror: "))]
    Output(Vec<OutputError>),
}

/// A report or snapshot that could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// A reporter failed.
    #[error(transparent)]
    Report(#[from] ReportError),
    /// A snapshot could not be checked or written.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// The recording could not be written.
    #[error("--record: {0}")]
    Record(String),
}

impl CommandError {
    /// The command's error for a session's, with what did not happen.
    pub fn from_session(error: SessionError, then: &'static str) -> CommandError {
        match error {
            SessionError::Invalid(diagnostics) => CommandError::Invalid { diagnostics, then },
            other => CommandError::Session(other),
        }
    }
}

/// The process's exit status for a command's result: the one place they are decided.
pub fn exit_code(result: &Result<Finished, CommandError>) -> u8 {
    match result {
        Ok(Finished { ending, .. }) => match ending {
            Ending::Passed => exit::PASSED,
            Ending::Failed => exit::FAILED,
            Ending::Interrupted => exit::INTERRUPTED,
        },
        Err(_) => exit::INVALID,
    }
}

/// `permatrix check`: loads and validates; the note says how many suites and cells.
pub fn check(
    paths: &[PathBuf],
    exec: &crate::execute::ExecOptions,
) -> Result<Finished, CommandError> {
    let options = SessionOptions {
        exec: exec.clone(),
        ..SessionOptions::default()
    };
    let session = Session::load(paths, options).map_err(|e| CommandError::from_session(e, "."))?;
    let cells: usize = session
        .suites
        .iter()
        .map(|s| s.endpoints.len() * s.principals.len())
        .sum();
    Ok(Finished {
        ending: Ending::Passed,
        lines: vec![format!(
            "{} suite(s) valid, {cells} cells",
            session.suites.len()
        )],
        notes: Vec::new(),
    })
}

/// `permatrix init`: the suite on stdout (without `--out`), notes on stderr.
pub fn init(config: &crate::import::init::InitConfig) -> Result<Finished, CommandError> {
    let made = crate::import::init::init(config)?;
    let lines = match &config.out {
        Some(_) => Vec::new(),
        None => vec![made.text.trim_end_matches('\n').to_string()],
    };
    Ok(Finished {
        ending: Ending::Passed,
        lines,
        notes: made.notes,
    })
}

/// How the closing line of a command's load errors ends.
pub(crate) const NOTHING_RUN: &str = "; nothing was run.";

/// The session of a command (`run`, `explain`): its suites loaded with the
/// command line's target choice and engine settings.
pub(crate) fn command_session(
    paths: &[PathBuf],
    target: &TargetChoice,
    exec: &crate::execute::ExecOptions,
) -> Result<Session, CommandError> {
    let options = SessionOptions {
        target: target.clone(),
        exec: exec.clone(),
        mock_where_defined: false,
    };
    Session::load(paths, options).map_err(|e| CommandError::from_session(e, NOTHING_RUN))
}

/// `permatrix run`: load, plan, execute, report.
pub fn run(config: &RunConfig) -> Result<Finished, CommandError> {
    let session = command_session(&config.paths, &config.target, &config.exec)?;
    let cells = session
        .plan(&config.selection)
        .map_err(|e| CommandError::from_session(e, NOTHING_RUN))?;
    let files = &config.reports;
    if let Some(problem) = unwritable_report(files) {
        return Err(CommandError::Usage(problem));
    }
    if config.record.is_some()
        && let Some(why) = crate::record::refusal(&session.suites)
    {
        return Err(CommandError::Usage(why));
    }
    let guarded = session.guarded_steps(&cells);
    if !guarded.is_empty() {
        return Err(CommandError::Session(SessionError::MutatingSteps(guarded)));
    }
    let specs = api_documents(&session.suites, config.openapi.as_deref())?;
    let started = session
        .start()
        .map_err(|e| CommandError::from_session(e, NOTHING_RUN))?;
    let mut reporters = crate::report::reporters(config.style, files, config.annotations);
    let mut output_errors: Vec<OutputError> = Vec::new();
    let errors = &mut output_errors;
    emit(
        &mut reporters,
        &Event::Started { cells: cells.len() },
        errors,
    );
    let (started_at, clock) = (std::time::SystemTime::now(), std::time::Instant::now());
    // Finished cells land here as they finish, so an interrupted run can still show them.
    let mut outcomes: Vec<CellOutcome> = Vec::with_capacity(cells.len());
    let run = started
        .execute_with_steps(
            &cells,
            &config.exec,
            StepChoice::All,
            &mut outcomes,
            |outcome| emit(&mut reporters, &Event::CellFinished(outcome), errors),
        )
        .map_err(|e| CommandError::from_session(e, NOTHING_RUN))?;
    let (completion, steps, setup_failed) = (run.completion, run.steps, run.setup_failed);
    let teardown_note = run.teardown_cut.then(|| {
        "warning: a second Ctrl-C stopped teardown: what the setup steps created may still exist"
            .to_string()
    });
    let mut notes: Vec<String> = short_secrets_warning(&started).into_iter().collect();
    notes.extend(teardown_note);
    notes.extend(
        started
            .notices()
            .into_iter()
            .map(|n| format!("warning: {n}")),
    );
    let tally = Tally::of(&outcomes);
    let timing = Some(crate::report::RunTiming {
        started: started_at,
        elapsed: clock.elapsed(),
    });
    // What the lints of suite `s` read besides the matrix: the command line over its keys.
    let lint_inputs = |s: usize| crate::lints::LintInputs {
        choice: config.lints.as_ref(),
        spec: specs[s].as_deref(),
        maps: &config.openapi_maps,
    };
    let findings: Vec<Vec<crate::scopes::Finding>> = (session.suites.iter().enumerate())
        .map(|(s, suite)| {
            let mut found = crate::scopes::findings::of_outcomes(suite, s, &outcomes);
            let observed = crate::lints::Observed::of(suite, s, &outcomes);
            found.extend(crate::lints::run(&observed, lint_inputs(s)));
            found
        })
        .collect();
    let fail_on: Vec<Option<crate::suite::lints::FailOn>> = session
        .suites
        .iter()
        .map(|suite| {
            config
                .fail_on
                .clone()
                .or_else(|| suite.lint_settings.fail_on.clone())
        })
        .collect();
    if completion == Completion::Interrupted {
        let not_run: Vec<_> = cells
            .iter()
            .copied()
            .filter(|c| outcomes.binary_search_by_key(c, |o| o.id).is_err())
            .collect();
        let report = RunReport {
            suites: &session.suites,
            targets: &started.targets,
            outcomes: &outcomes,
            tally,
            snapshots: &[],
            not_run: &not_run,
            findings: &findings,
            strict_scopes: config.strict_scopes,
            timing,
            steps: &steps,
            fail_on: &fail_on,
        };
        emit(&mut reporters, &Event::Interrupted(&report), errors);
        drop(reporters);
        notes.push(format!(
            "interrupted after {} of {} cells: the reports hold the cells that finished; no snapshot was written",
            outcomes.len(),
            cells.len()
        ));
        notes.extend(output_errors.iter().map(|e| format!("error: {e}")));
        return Ok(Finished {
            ending: Ending::Interrupted,
            lines: Vec::new(),
            notes,
        });
    }
    let snapshots = match &config.snapshots {
        // A failed setup sent no cell: there is no matrix to record.
        Some(settings) if !setup_failed => {
            check_snapshots(&session, &outcomes, &lint_inputs, settings, errors)
        }
        _ => Vec::new(),
    };
    if setup_failed {
        notes.push(format!(
            "setup failed: none of the {} cells was sent; no snapshot was written",
            cells.len()
        ));
    }
    if let Some(file) = &config.record {
        notes.extend(record(
            &session,
            &config.selection,
            &outcomes,
            &started,
            file,
            errors,
        ));
    }
    let report = RunReport {
        suites: &session.suites,
        targets: &started.targets,
        outcomes: &outcomes,
        tally,
        snapshots: &snapshots,
        not_run: &[],
        findings: &findings,
        strict_scopes: config.strict_scopes,
        timing,
        steps: &steps,
        fail_on: &fail_on,
    };
    let failed = report.fails_run();
    emit(&mut reporters, &Event::Finished(&report), errors);
    drop(reporters);
    if !output_errors.is_empty() {
        return Err(CommandError::Output(output_errors));
    }
    let ending = if failed {
        Ending::Failed
    } else {
        Ending::Passed
    };
    Ok(Finished {
        ending,
        lines: Vec::new(),
        notes,
    })
}

/// Writes the run's recording to `file` (merged into it when the run was
/// filtered); the lines say what was written and which cells were left out.
fn record(
    session: &Session,
    selection: &Selection,
    outcomes: &[CellOutcome],
    started: &crate::session::Started<'_>,
    file: &Path,
    errors: &mut Vec<OutputError>,
) -> Vec<String> {
    let exec = &session.options().exec;
    let Some(suite) = session.suites.first() else {
        return Vec::new();
    };
    let filtered = selection.filter.is_some() || !selection.principals.is_empty();
    let previous = if filtered && file.exists() {
        match crate::suite::mock_def::load(file) {
            Ok(def) => def.replay.map(|recording| (recording, def.vars)),
            Err(diagnostics) => {
                errors.push(OutputError::Record(format!(
                    "{} is not a recording to merge into ({} problem(s)): nothing was recorded",
                    file.display(),
                    diagnostics.len()
                )));
                return Vec::new();
            }
        }
    } else {
        None
    };
    let made = crate::record::make(crate::record::Inputs {
        suite,
        index: 0,
        outcomes,
        cli: &exec.cli_vars,
        env: &exec.env,
        previous,
        redactor: &started.redactor,
        origin: started
            .targets
            .first()
            .map(|t| t.base_url.origin().ascii_serialization())
            .unwrap_or_default(),
    });
    if let Err(e) = crate::record::write(file, &made.recording, &made.vars) {
        errors.push(OutputError::Record(e.to_string()));
        return Vec::new();
    }
    let answers: usize = made.recording.routes.iter().map(|r| r.answers.len()).sum();
    let mut lines = vec![format!(
        "recorded {answers} answer(s) on {} route(s) to {}{}",
        made.recording.routes.len(),
        file.display(),
        if filtered { " (merged)" } else { "" }
    )];
    lines.extend(made.left_out.iter().map(|l| format!("not recorded: {l}")));
    lines
}

/// A warning when secrets too short to be masked inside text were registered.
fn short_secrets_warning(started: &crate::session::Started<'_>) -> Option<String> {
    let short = started.redactor.short_secrets();
    (short > 0).then(|| {
        format!(
            "warning: {short} secret(s) are shorter than {MIN_FREE_TEXT_LEN} characters: they are masked where a whole value equals them, not inside other text"
        )
    })
}

/// Each suite's snapshot check, by suite index; a check that could not be
/// made is `None`, its error kept to be shown once.
fn check_snapshots<'a>(
    session: &Session,
    outcomes: &[CellOutcome],
    lints: &dyn Fn(usize) -> crate::lints::LintInputs<'a>,
    settings: &SnapshotSettings,
    errors: &mut Vec<OutputError>,
) -> Vec<Option<crate::snapshot::SnapshotOutcome>> {
    session
        .suites
        .iter()
        .enumerate()
        .map(
            |(s, suite)| match crate::snapshot::check(suite, s, outcomes, lints(s), settings) {
                Ok(outcome) => Some(outcome),
                Err(e) => {
                    errors.push(e.into());
                    None
                }
            },
        )
        .collect()
}

/// The API document each suite's endpoints are checked against: `--openapi`
/// (read once here; one that cannot be read stops the run before anything is
/// sent), else its `openapi:` (read when it loaded).
fn api_documents(
    suites: &[crate::suite::Suite],
    flag: Option<&Path>,
) -> Result<Vec<Option<std::sync::Arc<crate::openapi::Spec>>>, CommandError> {
    let from_flag = match flag {
        Some(file) => Some(std::sync::Arc::new(
            crate::openapi::load(file)
                .map_err(|e| CommandError::Usage(format!("--openapi: {e}")))?,
        )),
        None => None,
    };
    Ok(suites
        .iter()
        .map(|suite| {
            from_flag.clone().or_else(|| {
                suite
                    .lint_settings
                    .openapi
                    .as_ref()
                    .map(|(_, spec)| spec.clone())
            })
        })
        .collect())
}

/// Hands `event` to every reporter; their errors are kept to be shown once, after the run.
fn emit(reporters: &mut [Box<dyn Reporter>], event: &Event<'_>, errors: &mut Vec<OutputError>) {
    for reporter in reporters.iter_mut() {
        if let Err(e) = reporter.handle(event) {
            errors.push(e.into());
        }
    }
}

/// A report that could not be written, found before anything is sent: a
/// folder, a read-only file, a missing or unwritable folder, or two reports
/// asking for stdout.
fn unwritable_report(files: &[ReportFile]) -> Option<String> {
    let to_stdout: Vec<&str> = files
        .iter()
        .filter(|f| f.mode == WriteMode::Stdout)
        .map(|f| f.format.flag())
        .collect();
    if to_stdout.len() > 1 {
        return Some(format!(
            "{} ask for stdout (`-`): at most one report can go there",
            to_stdout.join(", ")
        ));
    }
    files
        .iter()
        .filter(|f| f.mode == WriteMode::Replace)
        .find_map(|file| {
            let problem = crate::atomic_file::unwritable(&file.path)?;
            Some(format!(
                "{} {}: {problem}",
                file.format.flag(),
                file.path.display()
            ))
        })
}

/// Writes a command's document (`--json FILE` of `coverage` and `reach`):
/// `-` returns it, for the command to print on stdout; any other path is
/// written whole ([`crate::atomic_file::write_atomically`]).
pub(crate) fn write_document(path: &Path, text: String) -> Result<Option<String>, CommandError> {
    if path.as_os_str() == "-" {
        return Ok(Some(text.trim_end_matches('\n').to_string()));
    }
    crate::atomic_file::write_atomically(path, text.as_bytes())
        .map_err(|e| CommandError::Output(vec![OutputError::Report(ReportError::File(e))]))?;
    Ok(None)
}

/// Why a command's document cannot be written at `path` (`-`: stdout, fine),
/// found before any work is done.
pub(crate) fn document_unwritable(flag: &str, path: &Path) -> Option<String> {
    if path.as_os_str() == "-" {
        return None;
    }
    let problem = crate::atomic_file::unwritable(path)?;
    Some(format!("{flag} {}: {problem}", path.display()))
}

/// How long open connections may hold a stopping mock.
const MOCK_STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// `permatrix mock FILE`: serves a mock definition until Ctrl-C or SIGTERM; `on_ready`
/// is told the mock's name and address once it listens.
pub fn serve_mock(
    file: &Path,
    host: &str,
    port: u16,
    on_ready: impl FnOnce(&str, std::net::SocketAddr),
) -> Result<Finished, CommandError> {
    let def = crate::mock::load(file).map_err(|diagnostics| CommandError::Invalid {
        diagnostics,
        then: "; the mock was not started.",
    })?;
    let addr = match format!("{host}:{port}").parse::<std::net::SocketAddr>() {
        Ok(addr) => addr,
        Err(_) => match host.parse::<std::net::IpAddr>() {
            Ok(ip) => std::net::SocketAddr::new(ip, port),
            Err(_) => {
                return Err(CommandError::Usage(format!(
                    "--host {host}: not an IP address"
                )));
            }
        },
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CommandError::Setup(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let name = def.name.clone();
        let stop = crate::session::interrupted();
        let (bound, mut task) = crate::mock::serve(def, addr, stop)
            .await
            .map_err(|e| CommandError::Setup(format!("cannot listen on {addr}: {e}")))?;
        on_ready(&name, bound);
        // Ctrl-C starts a graceful stop; a client holding a connection open
        // gets a short grace, then the mock stops anyway.
        let stopped = tokio::select! {
            stopped = &mut task => stopped,
            _ = async {
                crate::session::interrupted().await;
                tokio::time::sleep(MOCK_STOP_GRACE).await;
            } => Ok(Ok(())),
        };
        Ok(match stopped {
            Ok(Ok(())) => Finished {
                ending: Ending::Passed,
                lines: vec![format!("mock `{name}` stopped")],
                notes: Vec::new(),
            },
            Ok(Err(e)) => Finished {
                ending: Ending::Failed,
                lines: Vec::new(),
                notes: vec![format!("error: the mock stopped: {e}")],
            },
            Err(e) => Finished {
                ending: Ending::Failed,
                lines: Vec::new(),
                notes: vec![format!("error: the mock stopped: {e}")],
            },
        })
    })
}
