//! The commands as library calls: `run` and `check` from a plain configuration,
//! returning the process exit code. Nothing here reads argv or the environment.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use crate::execute::{self, ExecOptions, ResolvedTarget};
use crate::http;
use crate::outcome::Tally;
use crate::plan::{self, Selection};
use crate::redact::{MIN_FREE_TEXT_LEN, Redactor};
use crate::report::github::GithubAnnotations;
use crate::report::html::HtmlReporter;
use crate::report::json::JsonReporter;
use crate::report::junit::JunitReporter;
use crate::report::markdown::{MarkdownReporter, MarkdownTarget};
use crate::report::terminal::{TerminalReporter, TerminalStyle};
use crate::report::{Event, Reporter, RunReport};
use crate::suite::{self, Diagnostic, LoadOptions, Suite};

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

/// What GitHub Actions asks of a run, read from its environment.
#[derive(Clone, Debug, Default)]
pub struct GithubEnv {
    /// `GITHUB_STEP_SUMMARY`: the Markdown summary is appended to this file.
    pub step_summary: Option<PathBuf>,
    /// `GITHUB_ACTIONS=true`: print an `::error` annotation per failing cell.
    pub annotations: bool,
}

/// Where the command line sends requests, overriding the suites' targets.
#[derive(Clone, Debug, Default)]
pub struct TargetChoice {
    /// `--base-url`: overrides every suite's target.
    pub base_url: Option<String>,
    /// `--mock`: force the embedded mock.
    pub force_mock: bool,
}

/// Everything `permatrix run` needs, parsed from the command line and environment.
#[derive(Clone, Debug, Default)]
pub struct RunConfig {
    /// Suite files or folders.
    pub paths: Vec<PathBuf>,
    /// `--base-url` and `--mock`.
    pub target: TargetChoice,
    /// Engine settings and interpolation sources.
    pub exec: ExecOptions,
    /// `--filter` and `--principal`.
    pub selection: Selection,
    /// `--json FILE`.
    pub json: Option<PathBuf>,
    /// `--junit FILE`.
    pub junit: Option<PathBuf>,
    /// Snapshot handling; `None` with `--no-snapshot`.
    pub snapshots: Option<crate::snapshot::SnapshotSettings>,
    /// `--markdown FILE`.
    pub markdown: Option<PathBuf>,
    /// `--html FILE`.
    pub html: Option<PathBuf>,
    /// What GitHub Actions asks for.
    pub github: GithubEnv,
    /// Terminal colours, progress bar, `--quiet`.
    pub style: TerminalStyle,
}

pub(crate) fn load_options(exec: &ExecOptions, target: &TargetChoice) -> LoadOptions {
    LoadOptions {
        cli_vars: exec.cli_vars.clone(),
        env: exec.env.clone(),
        base_url: target.base_url.clone(),
        force_mock: target.force_mock,
        mock_where_defined: false,
    }
}

/// The async runtime of a command, or `None` after saying why there is none.
pub(crate) fn runtime() -> Option<tokio::runtime::Runtime> {
    report_runtime(
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
    )
}

/// The runtime that sends a run's requests: one thread. Cells are I/O-bound and
/// share per-principal clients; a single thread drives them with no cross-thread
/// wake-ups, which costs less CPU per cell than a pool and leaves the other cores
/// to the target (or the embedded mock, which has a runtime of its own).
fn client_runtime() -> Option<tokio::runtime::Runtime> {
    report_runtime(
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
    )
}

/// The runtime of the mocks embedded in a run: one worker thread of its own, so
/// that serving requests never waits for the client's thread.
fn mock_runtime() -> Option<tokio::runtime::Runtime> {
    report_runtime(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("permatrix-mock")
            .enable_all()
            .build(),
    )
}

fn report_runtime(
    built: std::io::Result<tokio::runtime::Runtime>,
) -> Option<tokio::runtime::Runtime> {
    match built {
        Ok(runtime) => Some(runtime),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            None
        }
    }
}

/// Prints every diagnostic, then how many there were and `closing`.
pub(crate) fn print_diagnostics(diagnostics: &[Diagnostic], closing: &str) {
    let mut err = std::io::stderr().lock();
    for d in diagnostics {
        let _ = writeln!(err, "{d}\n");
    }
    let _ = writeln!(err, "{} problem(s) found{closing}", diagnostics.len());
}

/// `permatrix check`: loads and validates, printing every problem.
pub fn check(paths: &[PathBuf], exec: &ExecOptions) -> u8 {
    match suite::load(paths, &load_options(exec, &TargetChoice::default())) {
        Ok(suites) => {
            let cells: usize = suites
                .iter()
                .map(|s| s.endpoints.len() * s.principals.len())
                .sum();
            println!("{} suite(s) valid, {cells} cells", suites.len());
            exit::PASSED
        }
        Err(diagnostics) => {
            print_diagnostics(&diagnostics, ".");
            exit::INVALID
        }
    }
}

/// `permatrix run`: load, plan, execute, report; returns the exit code.
pub fn run(config: &RunConfig) -> u8 {
    let suites = match suite::load(&config.paths, &load_options(&config.exec, &config.target)) {
        Ok(suites) => suites,
        Err(diagnostics) => {
            print_diagnostics(&diagnostics, "; nothing was run.");
            return exit::INVALID;
        }
    };
    let cells = match plan::plan(&suites, &config.selection) {
        Ok(cells) => cells,
        Err(message) => {
            eprintln!("error: {message}");
            return exit::INVALID;
        }
    };
    if let Some(problem) = unwritable_report(config) {
        eprintln!("error: {problem}");
        return exit::INVALID;
    }
    let Some(Started {
        runtime,
        mocks: _mocks,
        targets,
    }) = start(&suites, &config.target, &config.exec)
    else {
        return exit::INVALID;
    };
    let mut reporters: Vec<Box<dyn Reporter>> = vec![Box::new(TerminalReporter::new(
        std::io::stdout(),
        config.style,
    ))];
    reporters.extend(
        config
            .json
            .clone()
            .map(|p| Box::new(JsonReporter::new(p)) as Box<dyn Reporter>),
    );
    reporters.extend(
        config
            .junit
            .clone()
            .map(|p| Box::new(JunitReporter::new(p)) as Box<dyn Reporter>),
    );
    reporters.extend(
        config
            .markdown
            .clone()
            .map(|p| Box::new(MarkdownReporter::new(MarkdownTarget::File(p))) as Box<dyn Reporter>),
    );
    reporters.extend(
        config
            .html
            .clone()
            .map(|p| Box::new(HtmlReporter::new(p)) as Box<dyn Reporter>),
    );
    reporters.extend(
        config.github.step_summary.clone().map(|p| {
            Box::new(MarkdownReporter::new(MarkdownTarget::Append(p))) as Box<dyn Reporter>
        }),
    );
    if config.github.annotations {
        reporters.push(Box::new(GithubAnnotations::new(std::io::stdout())));
    }
    let mut report_errors = Vec::new();
    let mut emit = |reporters: &mut Vec<Box<dyn Reporter>>, event: &Event<'_>| {
        for reporter in reporters.iter_mut() {
            if let Err(e) = reporter.handle(event) {
                report_errors.push(e);
            }
        }
    };
    emit(&mut reporters, &Event::Started { cells: cells.len() });
    let redactor = Arc::new(Redactor::new());
    // Finished cells land here as they finish, so an interrupted run can still show them.
    let mut outcomes = Vec::with_capacity(cells.len());
    let executed = runtime.block_on(async {
        let work = execute::execute_into(
            &suites,
            &targets,
            &cells,
            &config.exec,
            redactor.clone(),
            &mut outcomes,
            |outcome| emit(&mut reporters, &Event::CellFinished(outcome)),
        );
        tokio::select! {
            result = work => Some(result),
            _ = tokio::signal::ctrl_c() => None,
        }
    });
    match executed {
        None => {
            // Interrupted: what finished is shown; no file, no snapshot is written.
            drop(reporters);
            outcomes.sort_by_key(|o| o.id);
            let tally = Tally::of(&outcomes);
            let report = RunReport {
                suites: &suites,
                targets: &targets,
                outcomes: &outcomes,
                tally,
                snapshots: &[],
            };
            print!("{}", crate::report::terminal::render(&report, config.style));
            eprintln!(
                "interrupted after {} of {} cells: no report file and no snapshot was written",
                outcomes.len(),
                cells.len()
            );
            return exit::INTERRUPTED;
        }
        Some(Err(message)) => {
            eprintln!("error: {message}");
            return exit::INVALID;
        }
        Some(Ok(())) => {}
    }
    if redactor.short_secrets() > 0 {
        eprintln!(
            "warning: {} secret(s) are shorter than {MIN_FREE_TEXT_LEN} characters: they are masked where a whole value equals them, not inside other text",
            redactor.short_secrets()
        );
    }
    let tally = Tally::of(&outcomes);
    let mut snapshots = Vec::new();
    let mut snapshot_errors = Vec::new();
    if let Some(settings) = &config.snapshots {
        for (s, suite) in suites.iter().enumerate() {
            match crate::snapshot::check(suite, s, &outcomes, settings) {
                Ok(outcome) => snapshots.push(Some(outcome)),
                Err(e) => {
                    snapshot_errors.push(e);
                    snapshots.push(None);
                }
            }
        }
    }
    let snapshot_failed = snapshots.iter().flatten().any(|s| s.fails_run());
    let report = RunReport {
        suites: &suites,
        targets: &targets,
        outcomes: &outcomes,
        tally,
        snapshots: &snapshots,
    };
    emit(&mut reporters, &Event::Finished(&report));
    drop(reporters);
    report_errors.extend(snapshot_errors);
    if !report_errors.is_empty() {
        for e in &report_errors {
            eprintln!("error: {e}");
        }
        return exit::INVALID;
    }
    if tally.fails_run() || snapshot_failed {
        exit::FAILED
    } else {
        exit::PASSED
    }
}

/// A report path whose folder does not exist, found before anything is sent.
fn unwritable_report(config: &RunConfig) -> Option<String> {
    [
        ("--json", &config.json),
        ("--junit", &config.junit),
        ("--markdown", &config.markdown),
        ("--html", &config.html),
    ]
    .into_iter()
    .find_map(|(flag, path)| {
        let path = path.as_ref()?;
        if path.is_dir() {
            return Some(format!(
                "{flag} {}: is a folder, not a file",
                path.display()
            ));
        }
        let folder = path.parent().filter(|p| !p.as_os_str().is_empty())?;
        (!folder.is_dir()).then(|| {
            format!(
                "{flag} {}: the folder {} does not exist",
                path.display(),
                folder.display()
            )
        })
    })
}

/// A run's runtimes and targets: the client's runtime, the embedded mocks' own
/// (they serve while it lives), and each suite's resolved target.
pub(crate) struct Started {
    /// Drives the cells.
    pub runtime: tokio::runtime::Runtime,
    /// Serves the embedded mocks, when any serves the run.
    pub mocks: Option<tokio::runtime::Runtime>,
    /// Each suite's target, in suite order.
    pub targets: Vec<ResolvedTarget>,
}

/// The runtimes of a run and its targets (mocks started), or `None` after saying why not.
pub(crate) fn start(
    suites: &[Suite],
    target: &TargetChoice,
    exec: &ExecOptions,
) -> Option<Started> {
    let runtime = client_runtime()?;
    let mocks = if suites.iter().any(|s| s.mock.is_some()) {
        Some(mock_runtime()?)
    } else {
        None
    };
    let prepared = match &mocks {
        Some(mocks) => mocks.block_on(prepare_targets(suites, target, exec)),
        None => runtime.block_on(prepare_targets(suites, target, exec)),
    };
    match prepared {
        Ok(targets) => Some(Started {
            runtime,
            mocks,
            targets,
        }),
        Err(message) => {
            eprintln!("error: {message}");
            None
        }
    }
}

/// Starts the mocks that serve the run (one per definition file, on a free
/// loopback port, living as long as the runtime) and works out each suite's
/// effective base URL: its mock, else `--base-url`, else its `target.base_url`.
pub(crate) async fn prepare_targets(
    suites: &[Suite],
    target: &TargetChoice,
    exec: &ExecOptions,
) -> Result<Vec<ResolvedTarget>, String> {
    let mut started: Vec<(std::path::PathBuf, url::Url)> = Vec::new();
    for def in suites.iter().filter_map(|s| s.mock.as_deref()) {
        if started.iter().any(|(file, _)| file == &def.file) {
            continue;
        }
        let loopback = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        let (addr, _task) = crate::mock::serve(def.clone(), loopback, std::future::pending())
            .await
            .map_err(|e| format!("cannot start the mock {}: {e}", def.file.display()))?;
        let url = url::Url::parse(&format!("http://{addr}/"))
            .map_err(|e| format!("mock address {addr}: {e}"))?;
        started.push((def.file.clone(), url));
    }
    let mocked = |suite: &Suite| {
        let def = suite.mock.as_deref()?;
        started
            .iter()
            .find(|(file, _)| file == &def.file)
            .map(|(_, url)| url.clone())
    };
    let real = resolve_targets(suites, target, exec)?;
    suites
        .iter()
        .zip(real)
        .map(|(suite, real)| match (mocked(suite), real) {
            (Some(url), _) => Ok(ResolvedTarget {
                base_url: url,
                is_mock: true,
            }),
            (None, Some(real)) => Ok(real),
            (None, None) => Err(format!("suite `{}`: its mock did not start", suite.name)),
        })
        .collect()
}

/// Each suite's base URL when no mock serves it: `--base-url`, else its `target.base_url`.
fn resolve_targets(
    suites: &[Suite],
    target: &TargetChoice,
    exec: &ExecOptions,
) -> Result<Vec<Option<ResolvedTarget>>, String> {
    if let Some(url) = &target.base_url {
        let base_url = suite::parse_base_url(url).map_err(|e| format!("--base-url: {e}"))?;
        return Ok(suites
            .iter()
            .map(|_| {
                Some(ResolvedTarget {
                    base_url: base_url.clone(),
                    is_mock: false,
                })
            })
            .collect());
    }
    suites
        .iter()
        .map(|suite| {
            if suite.mock.is_some() {
                return Ok(None);
            }
            let scope = suite.scope(&exec.cli_vars, &exec.env, None);
            let text = match &suite.target.base_url {
                Some(template) => http::render(template, &scope)?,
                None => String::new(),
            };
            if text.trim().is_empty() {
                return Err(format!(
                    "suite `{}` ({}): no base URL and no mock; set target.base_url or target.mock, or pass --base-url",
                    suite.name,
                    suite.file.display()
                ));
            }
            let base_url = suite::parse_base_url(&text).map_err(|e| format!("suite `{}`: {e}", suite.name))?;
            Ok(Some(ResolvedTarget { base_url, is_mock: false }))
        })
        .collect()
}

/// How long open connections may hold a stopping mock.
const MOCK_STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// `permatrix mock FILE`: serves a mock definition until Ctrl-C.
pub fn serve_mock(file: &std::path::Path, host: &str, port: u16) -> u8 {
    let def = match crate::mock::load(file) {
        Ok(def) => def,
        Err(diagnostics) => {
            print_diagnostics(&diagnostics, "; the mock was not started.");
            return exit::INVALID;
        }
    };
    let addr = match format!("{host}:{port}").parse::<std::net::SocketAddr>() {
        Ok(addr) => addr,
        Err(_) => match host.parse::<std::net::IpAddr>() {
            Ok(ip) => std::net::SocketAddr::new(ip, port),
            Err(_) => {
                eprintln!("error: --host {host}: not an IP address");
                return exit::INVALID;
            }
        },
    };
    let Some(runtime) = runtime() else {
        return exit::INVALID;
    };
    runtime.block_on(async {
        let name = def.name.clone();
        let stop = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        let (bound, mut task) = match crate::mock::serve(def, addr, stop).await {
            Ok(started) => started,
            Err(e) => {
                eprintln!("error: cannot listen on {addr}: {e}");
                return exit::INVALID;
            }
        };
        println!("mock `{name}` serving on http://{bound}/ (Ctrl-C stops it)");
        // Ctrl-C starts a graceful stop; a client holding a connection open
        // gets a short grace, then the mock stops anyway.
        let stopped = tokio::select! {
            stopped = &mut task => stopped,
            _ = async {
                let _ = tokio::signal::ctrl_c().await;
                tokio::time::sleep(MOCK_STOP_GRACE).await;
            } => Ok(Ok(())),
        };
        match stopped {
            Ok(Ok(())) => {
                println!("mock `{name}` stopped");
                exit::PASSED
            }
            Ok(Err(e)) => {
                eprintln!("error: the mock stopped: {e}");
                exit::FAILED
            }
            Err(e) => {
                eprintln!("error: the mock stopped: {e}");
                exit::FAILED
            }
        }
    })
}
