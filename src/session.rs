//! One run session behind `run`, the harness and `explain`: the suites are
//! loaded, the cells planned (each principal's canary with them), the targets
//! prepared (mocks started, base URLs resolved), and the cells executed. The
//! three entry points differ only in what they do with the outcomes.

use std::path::PathBuf;
use std::sync::Arc;

use crate::execute::{self, ExecError, ExecOptions, ResolvedTarget};
use crate::http::RequestError;
use crate::outcome::{CellId, CellOutcome, StepRecord};
use crate::plan::{self, PlanError, Selection};
use crate::redact::Redactor;
use crate::suite::base_url::BaseUrlError;
use crate::suite::steps::Phase;
use crate::suite::template::Captured;
use crate::suite::{self, Diagnostic, LoadOptions, Suite};

/// Where the command line sends requests, overriding the suites' targets.
#[derive(Clone, Debug, Default)]
pub struct TargetChoice {
    /// `--base-url`: overrides every suite's target.
    pub base_url: Option<String>,
    /// `--mock`: force the embedded mock.
    pub force_mock: bool,
}

/// How a session loads its suites and where it sends.
#[derive(Clone, Debug, Default)]
pub struct SessionOptions {
    /// `--base-url` and `--mock`.
    pub target: TargetChoice,
    /// Engine settings and interpolation sources.
    pub exec: ExecOptions,
    /// Suites that define a mock go to it whatever their base URL says (the
    /// harness: `cargo test` on a developer's machine must not reach production).
    pub mock_where_defined: bool,
}

/// Why a session could not load, plan, start or execute.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// A suite is invalid: every problem, located.
    #[error("{} problem(s) found", .0.len())]
    Invalid(Vec<Diagnostic>),
    /// The command asks for what the suites do not have.
    #[error(transparent)]
    Usage(#[from] PlanError),
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    /// A target could not be set up.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// The engine could not set a principal up.
    #[error(transparent)]
    Execute(#[from] ExecError),
    /// Steps, or endpoints that check their writes, would change state on a
    /// real target without leave.
    #[error(
        "{} change state on a real target: {}; set `allow_mutations: true` in the suite's target or pass --allow-mutations (nothing was sent)",
        if .0.len() == 1 { "this would" } else { "these would" },
        .0.join(", ")
    )]
    MutatingSteps(Vec<String>),
    /// A thread panicked while holding the captured values.
    #[error("the captured values were lost to a panic")]
    Poisoned,
}

/// Why a suite's target could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// An embedded mock could not listen.
    #[error("cannot start the mock {}: {source}", file.display())]
    MockStart {
        /// Its definition.
        file: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The address a mock listens on makes no URL.
    #[error("mock address {addr}: {source}")]
    MockAddress {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        source: url::ParseError,
    },
    /// A suite's mock is not among those started.
    #[error("suite `{0}`: its mock did not start")]
    MockMissing(String),
    /// `--base-url` is not a base URL.
    #[error("--base-url: {0}")]
    Flag(BaseUrlError),
    /// A suite has neither a base URL nor a mock.
    #[error(
        "suite `{suite}` ({}): no base URL and no mock; set target.base_url or target.mock, or pass --base-url",
        file.display()
    )]
    NoBaseUrl {
        /// The suite's name.
        suite: String,
        /// Its file.
        file: PathBuf,
    },
    /// A suite's base URL is not one.
    #[error("suite `{suite}`: {source}")]
    BaseUrl {
        /// The suite's name.
        suite: String,
        /// Why.
        source: BaseUrlError,
    },
    /// A suite's base URL takes a variable nothing defines.
    #[error("suite `{suite}`: {source}")]
    Render {
        /// The suite's name.
        suite: String,
        /// Why.
        source: RequestError,
    },
}

/// The suites of a run, loaded and validated, with the options they were loaded under.
pub struct Session {
    /// The suites, in file order.
    pub suites: Vec<Suite>,
    options: SessionOptions,
}

/// Which setup steps a run sends.
#[derive(Clone, Copy, Debug)]
pub enum StepChoice {
    /// Every step of the suites of the run.
    All,
    /// The setup steps one cell needs ([`crate::suite::step_refs::needed_by`]), every teardown step.
    NeededBy(CellId),
}

/// What a run with its steps did besides its cells.
#[derive(Clone, Debug)]
pub struct StepsRun {
    /// How it ended.
    pub completion: Completion,
    /// Setup, then teardown, in the order they ran.
    pub steps: Vec<StepRecord>,
    /// A setup step failed: no cell was sent.
    pub setup_failed: bool,
    /// Ctrl-C stopped teardown: what setup created may remain.
    pub teardown_cut: bool,
}

/// How an execution ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Completion {
    /// Every cell ran.
    Finished,
    /// Ctrl-C (or SIGTERM) stopped it; the outcomes hold the cells that finished.
    Interrupted,
}

impl Session {
    /// Loads and validates every suite under `paths`.
    pub fn load(paths: &[PathBuf], options: SessionOptions) -> Result<Session, SessionError> {
        let load = LoadOptions {
            cli_vars: options.exec.cli_vars.clone(),
            env: options.exec.env.clone(),
            base_url: options.target.base_url.clone(),
            force_mock: options.target.force_mock,
            mock_where_defined: options.mock_where_defined,
            probes: options.exec.probes.clone(),
        };
        let suites = suite::load(paths, &load).map_err(SessionError::Invalid)?;
        Ok(Session { suites, options })
    }

    /// The options the session was loaded under.
    pub fn options(&self) -> &SessionOptions {
        &self.options
    }

    /// The selected cells in suite order, each principal's canary with them.
    pub fn plan(&self, selection: &Selection) -> Result<Vec<CellId>, SessionError> {
        Ok(plan::plan(&self.suites, selection)?)
    }

    /// `cells` with the canary of every principal among them: its result
    /// decides how the principal's denials read.
    pub fn with_canaries(&self, mut cells: Vec<CellId>) -> Vec<CellId> {
        plan::add_canaries(&self.suites, &mut cells);
        cells
    }

    /// Whether the mutation guard keeps `cell` from being sent, known before
    /// anything runs: the same rule the engine applies to each cell.
    pub fn guarded(&self, cell: CellId) -> bool {
        let suite = &self.suites[cell.suite];
        let serves_mock = suite.mock.is_some();
        !plan::mutation_allowed(
            suite,
            cell.endpoint,
            serves_mock,
            self.options.exec.allow_mutations,
        )
    }

    /// The mutating steps of the suites of `cells` that the mutation guard
    /// refuses (a real target without `allow_mutations`), as `suite: setup
    /// step 1 (POST /x)`, and the endpoints among `cells` that check their
    /// writes (`verify:`, `restore:`): those are refused whole, never skipped
    /// into a run that passes.
    pub fn guarded_steps(&self, cells: &[CellId]) -> Vec<String> {
        let mut which: Vec<usize> = cells.iter().map(|c| c.suite).collect();
        which.dedup();
        which
            .into_iter()
            .filter(|&s| {
                let suite = &self.suites[s];
                let to_mock = suite.mock.is_some();
                !(to_mock || suite.target.allow_mutations || self.options.exec.allow_mutations)
            })
            .flat_map(|s| {
                let suite = &self.suites[s];
                let mut checked: Vec<usize> = cells
                    .iter()
                    .filter(|c| c.suite == s && suite.endpoints[c.endpoint].checks_writes())
                    .map(|c| c.endpoint)
                    .collect();
                checked.sort_unstable();
                checked.dedup();
                let endpoints = checked.into_iter().map(move |e| {
                    format!(
                        "endpoint `{}` (line {}: `verify:`/`restore:` send writes and restore steps)",
                        suite.endpoints[e].name, suite.endpoints[e].pos.line
                    )
                });
                execute::steps::mutating(suite)
                    .into_iter()
                    .chain(endpoints)
                    .map(move |what| format!("{}: {what}", suite.name))
            })
            .collect()
    }

    /// Starts what the run needs: the runtimes, the mocks that serve it, each
    /// suite's target.
    pub fn start(&self) -> Result<Started<'_>, SessionError> {
        let runtime = client_runtime()?;
        let mocks = if self.suites.iter().any(|s| s.mock.is_some()) {
            Some(mock_runtime()?)
        } else {
            None
        };
        let prepare = prepare_targets(&self.suites, &self.options.target, &self.options.exec);
        let targets = match &mocks {
            Some(mocks) => mocks.block_on(prepare),
            None => runtime.block_on(prepare),
        }?;
        Ok(Started {
            session: self,
            runtime,
            _mocks: mocks,
            targets,
            redactor: Arc::new(Redactor::new()),
            notices: std::sync::Mutex::default(),
            captured: std::sync::Mutex::new(vec![Captured::default(); self.suites.len()]),
            failed_restores: std::sync::Mutex::default(),
        })
    }
}

/// A session whose targets are ready: cells can be executed.
pub struct Started<'s> {
    session: &'s Session,
    runtime: tokio::runtime::Runtime,
    /// Serves the embedded mocks while the session lives.
    _mocks: Option<tokio::runtime::Runtime>,
    /// Each suite's target, in suite order.
    pub targets: Vec<ResolvedTarget>,
    /// Every secret of the run, for masking whatever leaves it.
    pub redactor: Arc<Redactor>,
    notices: std::sync::Mutex<Vec<String>>,
    /// By suite: what its steps captured so far.
    captured: std::sync::Mutex<Vec<Captured>>,
    /// The restore steps that failed in the executions so far.
    failed_restores: std::sync::Mutex<Vec<StepRecord>>,
}

impl Started<'_> {
    /// What the executions so far had to say once (a target that kept refusing).
    pub fn notices(&self) -> Vec<String> {
        self.notices.lock().map(|n| n.clone()).unwrap_or_default()
    }

    /// Runs the `phase` steps of the suites that `cells` belong to. Setup
    /// stops at the first failing step; teardown skips the steps whose
    /// captures were never made. Ctrl-C stops either (no record is kept then).
    pub fn steps(
        &self,
        phase: Phase,
        cells: &[CellId],
        exec: &ExecOptions,
        choice: StepChoice,
    ) -> Result<(Vec<StepRecord>, Completion), SessionError> {
        let mut which: Vec<usize> = cells.iter().map(|c| c.suite).collect();
        which.dedup();
        let suites = &self.session.suites;
        let needed = match choice {
            StepChoice::NeededBy(cell) if phase == Phase::Setup => {
                let suite = &suites[cell.suite];
                // The cell, and the others of its suite run with it (its
                // canary, the reference of its comparison), with what their
                // principals render.
                let uses = cells
                    .iter()
                    .filter(|c| c.suite == cell.suite)
                    .flat_map(|c| {
                        let principal = &suite.principals[c.principal];
                        crate::suite::steps::endpoint_templates(&suite.endpoints[c.endpoint])
                            .into_iter()
                            .chain(principal.vars.values())
                            .chain(principal.headers.iter().map(|(_, t)| t))
                            .chain(crate::suite::auth_spec::auth_templates(&principal.auth))
                    });
                Some((
                    cell.suite,
                    crate::suite::step_refs::needed_by(&suite.setup, uses),
                ))
            }
            _ => None,
        };
        let keep = |s: usize, number: usize| match &needed {
            Some((suite, needed)) if *suite == s => {
                needed.get(number - 1).copied().unwrap_or(false)
            }
            _ => true,
        };
        let mut captured = self.captured.lock().map_err(|_| SessionError::Poisoned)?;
        let selection = execute::steps::StepSelection {
            phase,
            suites: &which,
            keep: &keep,
        };
        // Filled as steps finish: what ran before a Ctrl-C is kept.
        let mut records = Vec::new();
        let run = execute::steps::run(
            suites,
            &self.targets,
            selection,
            exec,
            self.redactor.clone(),
            &mut captured,
            &mut records,
        );
        // Ctrl-C stops setup; during teardown (which runs after a first
        // Ctrl-C too) it is the user insisting, and teardown stops as well.
        let finished = self.runtime.block_on(async {
            tokio::select! {
                done = run => Some(done),
                _ = interrupted() => None,
            }
        });
        match finished {
            Some(done) => {
                done?;
                Ok((records, Completion::Finished))
            }
            None => Ok((records, Completion::Interrupted)),
        }
    }

    /// Runs the setup steps, then `cells` into `outcomes` (unless setup
    /// failed or was interrupted), then the teardown steps whatever happened:
    /// failed cells, a failed setup, Ctrl-C.
    pub fn execute_with_steps(
        &self,
        cells: &[CellId],
        exec: &ExecOptions,
        choice: StepChoice,
        outcomes: &mut Vec<CellOutcome>,
        on_outcome: impl FnMut(&CellOutcome),
    ) -> Result<StepsRun, SessionError> {
        let (mut steps, setup) = self.steps(Phase::Setup, cells, exec, choice)?;
        let setup_failed = steps.iter().any(|s| s.fails_run());
        let executed = if setup_failed || setup == Completion::Interrupted {
            Ok(setup)
        } else {
            self.execute_into(cells, exec, outcomes, on_outcome)
        };
        let teardown = self.steps(Phase::Teardown, cells, exec, choice);
        let completion = executed?;
        let (records, teardown_completion) = teardown?;
        // A restore that failed left a cell's write in place: it fails the run as a step.
        if let Ok(mut failed) = self.failed_restores.lock() {
            steps.append(&mut failed);
        }
        steps.extend(records);
        let teardown_cut = teardown_completion == Completion::Interrupted;
        Ok(StepsRun {
            completion: if teardown_cut {
                Completion::Interrupted
            } else {
                completion
            },
            steps,
            setup_failed,
            teardown_cut,
        })
    }

    /// Executes `cells` with the session's options; `on_outcome` sees each as it finishes.
    pub fn execute(
        &self,
        cells: &[CellId],
        exec: &ExecOptions,
        on_outcome: impl FnMut(&CellOutcome),
    ) -> Result<Vec<CellOutcome>, SessionError> {
        let captured = self.captured.lock().map_err(|_| SessionError::Poisoned)?;
        self.runtime
            .block_on(execute::execute(
                &self.session.suites,
                execute::Prepared {
                    targets: &self.targets,
                    captured: &captured,
                },
                cells,
                exec,
                self.redactor.clone(),
                on_outcome,
            ))
            .map_err(SessionError::from)
    }

    /// Executes `cells` into `outcomes` until they are done or the process is
    /// interrupted (Ctrl-C); what finished is in `outcomes` either way.
    pub fn execute_into(
        &self,
        cells: &[CellId],
        exec: &ExecOptions,
        outcomes: &mut Vec<CellOutcome>,
        on_outcome: impl FnMut(&CellOutcome),
    ) -> Result<Completion, SessionError> {
        let suites = &self.session.suites;
        let mut captured = self.captured.lock().map_err(|_| SessionError::Poisoned)?;
        let mut written = execute::Written::default();
        let executed = self.runtime.block_on(async {
            let work = execute::execute_into(
                suites,
                execute::Prepared {
                    targets: &self.targets,
                    captured: &captured,
                },
                cells,
                exec,
                self.redactor.clone(),
                outcomes,
                &mut written,
                on_outcome,
            );
            tokio::select! {
                result = work => Some(result),
                _ = interrupted() => None,
            }
        });
        // Teardown removes what restore steps recreated, not what they
        // replaced, interrupted or not; a failed restore fails the run.
        if let Some(kept) = written.captured {
            *captured = kept;
        }
        if let Ok(mut kept) = self.failed_restores.lock() {
            kept.extend(written.failed_restores);
        }
        match executed {
            None => {
                execute::compare_bodies(suites, outcomes);
                outcomes.sort_by_key(|o| o.id);
                Ok(Completion::Interrupted)
            }
            Some(Err(error)) => Err(error.into()),
            Some(Ok(executed)) => {
                if let Ok(mut kept) = self.notices.lock() {
                    kept.extend(executed.notices);
                }
                Ok(Completion::Finished)
            }
        }
    }
}

/// Resolves when the user interrupts the process: Ctrl-C, or SIGTERM on Unix.
pub(crate) async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The runtime that sends a run's requests: one thread. Cells are I/O-bound and
/// share per-principal clients; a single thread drives them with no cross-thread
/// wake-ups, which costs less CPU per cell than a pool and leaves the other cores
/// to the target (or the embedded mock, which has a runtime of its own).
fn client_runtime() -> Result<tokio::runtime::Runtime, SessionError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(runtime_failed)
}

/// The runtime of the mocks embedded in a run: one worker thread of its own, so
/// that serving requests never waits for the client's thread.
fn mock_runtime() -> Result<tokio::runtime::Runtime, SessionError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("permatrix-mock")
        .enable_all()
        .build()
        .map_err(runtime_failed)
}

fn runtime_failed(e: std::io::Error) -> SessionError {
    SessionError::Runtime(e)
}

/// Starts the mocks that serve the run (one per definition file, on a free
/// loopback port, living as long as the runtime) and works out each suite's
/// effective base URL: its mock, else `--base-url`, else its `target.base_url`.
async fn prepare_targets(
    suites: &[Suite],
    target: &TargetChoice,
    exec: &ExecOptions,
) -> Result<Vec<ResolvedTarget>, TargetError> {
    let mut started: Vec<(PathBuf, url::Url)> = Vec::new();
    for def in suites.iter().filter_map(|s| s.mock.as_deref()) {
        if started.iter().any(|(file, _)| file == &def.file) {
            continue;
        }
        let loopback = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        let (addr, _task) = crate::mock::serve(def.clone(), loopback, std::future::pending())
            .await
            .map_err(|source| TargetError::MockStart {
                file: def.file.clone(),
                source,
            })?;
        let url = url::Url::parse(&format!("http://{addr}/"))
            .map_err(|source| TargetError::MockAddress { addr, source })?;
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
            (None, None) => Err(TargetError::MockMissing(suite.name.clone())),
        })
        .collect()
}

/// Each suite's base URL when no mock serves it: `--base-url`, else its `target.base_url`.
fn resolve_targets(
    suites: &[Suite],
    target: &TargetChoice,
    exec: &ExecOptions,
) -> Result<Vec<Option<ResolvedTarget>>, TargetError> {
    if let Some(url) = &target.base_url {
        let base_url = suite::parse_base_url(url).map_err(TargetError::Flag)?;
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
                Some(template) => {
                    crate::http::render(template, &scope).map_err(|source| TargetError::Render {
                        suite: suite.name.clone(),
                        source,
                    })?
                }
                None => String::new(),
            };
            if text.trim().is_empty() {
                return Err(TargetError::NoBaseUrl {
                    suite: suite.name.clone(),
                    file: suite.file.clone(),
                });
            }
            let base_url = suite::parse_base_url(&text).map_err(|source| TargetError::BaseUrl {
                suite: suite.name.clone(),
                source,
            })?;
            Ok(Some(ResolvedTarget {
                base_url,
                is_mock: false,
            }))
        })
        .collect()
}
