//! The cargo-test harness (SPEC §5): every cell a libtest-mimic trial named
//! `<suite>::<endpoint>::<principal>`, plus one `<suite>::snapshot` trial per
//! suite checked as the CLI checks snapshots (insta's file format). A crate's `tests/permissions.rs` (with
//! `harness = false`) holds `fn main() -> ExitCode { permatrix::harness::main("suites") }`.
//!
//! The harness plans first, applies libtest's filters, then executes only the
//! selected cells on one runtime and connection pool, and hands the results to
//! the trials; `--list` sends nothing. Under nextest (one process per trial)
//! each process executes just its own cell.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use libtest_mimic::{Arguments, Failed, Trial};

use crate::execute::ExecOptions;
use crate::outcome::{CellId, CellOutcome, CellResult, Verdict};
use crate::plan::Selection;
use crate::report::cells::detail;
use crate::session::{Session, SessionError, SessionOptions, TargetChoice};
use crate::snapshot::{self, SnapshotOutcome};
use crate::suite::Suite;

/// How the harness runs.
#[derive(Clone, Debug)]
pub struct HarnessOptions {
    /// Send every suite that defines a mock to it, whatever the environment
    /// says (for a repository's own tests: `JIRA_BASE_URL` on a developer's
    /// machine must not turn `cargo test` into a run against production).
    /// Suites without a mock keep their base URL.
    pub force_mock: bool,
    /// Where the snapshots are (default `snapshots`, relative to the package root).
    pub snapshots: PathBuf,
}

impl Default for HarnessOptions {
    fn default() -> HarnessOptions {
        HarnessOptions {
            force_mock: false,
            snapshots: PathBuf::from("snapshots"),
        }
    }
}

/// Runs the suites under `dir` as libtest trials.
pub fn main(dir: &str) -> ExitCode {
    main_with(dir, &HarnessOptions::default())
}

/// Runs the suites under `dir` as libtest trials, with options.
pub fn main_with(dir: impl AsRef<Path>, options: &HarnessOptions) -> ExitCode {
    let args = Arguments::from_args();
    let env: std::collections::BTreeMap<String, String> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    let session_options = SessionOptions {
        target: TargetChoice::default(),
        exec: ExecOptions {
            env,
            ..ExecOptions::default()
        },
        mock_where_defined: options.force_mock,
    };
    let session = match Session::load(&[dir.as_ref().to_path_buf()], session_options) {
        Ok(session) => session,
        Err(error) => {
            // Whatever the filter: a broken suite must fail the run, not be filtered away.
            if args.list {
                let trial = Trial::test("permatrix::load", || Ok(()));
                return libtest_mimic::run(&args, vec![trial]).exit_code();
            }
            return setup_failed(&error, "no trial was run.");
        }
    };
    let cells = match session.plan(&Selection::default()) {
        Ok(cells) => cells,
        Err(error) => return setup_failed(&error, "no trial was run."),
    };
    let suites = &session.suites;
    let name = |c: &CellId| {
        let s = &suites[c.suite];
        format!(
            "{}::{}::{}",
            s.name, s.endpoints[c.endpoint].name, s.principals[c.principal].name
        )
    };
    let snapshot_name = |s: &Suite| format!("{}::snapshot", s.name);
    let selected = |trial_name: &str, ignored: bool| {
        let probe = Trial::test(trial_name, || Ok(())).with_ignored_flag(ignored);
        !args.is_filtered_out(&probe) && !args.is_ignored(&probe)
    };
    // Known before anything runs: a mutation the guard keeps from a real
    // target is a skipped cell, listed as an ignored trial.
    if args.list {
        let mut trials: Vec<Trial> = cells
            .iter()
            .map(|&c| Trial::test(name(&c), || Ok(())).with_ignored_flag(session.guarded(c)))
            .collect();
        trials.extend(
            suites
                .iter()
                .map(|s| Trial::test(snapshot_name(s), || Ok(()))),
        );
        trials.extend(
            (suites.iter())
                .filter(|s| !s.setup.is_empty() || !s.teardown.is_empty())
                .map(|s| Trial::test(format!("{}::steps", s.name), || Ok(()))),
        );
        return libtest_mimic::run(&args, trials).exit_code();
    }
    let whole_suites: Vec<bool> = suites
        .iter()
        .map(|s| selected(&snapshot_name(s), false))
        .collect();
    let chosen: Vec<CellId> = cells
        .iter()
        .copied()
        .filter(|&c| whole_suites[c.suite] || selected(&name(&c), session.guarded(c)))
        .collect();
    let chosen = session.with_canaries(chosen);
    let guarded = session.guarded_steps(&chosen);
    if !guarded.is_empty() {
        return setup_failed(&SessionError::MutatingSteps(guarded), "no trial was run.");
    }
    let mut outcomes = Vec::new();
    let run = match session.start().and_then(|started| {
        started.execute_with_steps(
            &chosen,
            &session.options().exec,
            crate::session::StepChoice::All,
            &mut outcomes,
            |_| {},
        )
    }) {
        Ok(run) => run,
        Err(error) => return setup_failed(&error, "no trial was run."),
    };
    if run.completion == crate::session::Completion::Interrupted {
        // No trial may pass or write a snapshot on what an interruption left.
        let cut = if run.teardown_cut {
            "; a second Ctrl-C stopped teardown: what the setup steps created may still exist"
        } else {
            ""
        };
        let _ = writeln!(
            std::io::stderr(),
            "interrupted after {} of {} cells: no trial was judged{cut}",
            outcomes.len(),
            chosen.len()
        );
        return ExitCode::from(130);
    }
    // A failed step is a failing trial of its own; the cells of a suite
    // whose setup failed say so instead of passing or vanishing.
    let mut step_failures: Vec<Option<String>> = vec![None; suites.len()];
    for step in run.steps.iter().filter(|s| s.fails_run()) {
        let line = format!(
            "{} (line {}): {}",
            step.title(),
            step.line,
            step.error.as_deref().unwrap_or("failed")
        );
        let slot = &mut step_failures[step.suite];
        *slot = Some(match slot.take() {
            Some(before) => format!("{before}\n{line}"),
            None => line,
        });
    }
    let by_cell: HashMap<CellId, CellOutcome> =
        outcomes.iter().map(|o| (o.id, o.clone())).collect();
    let mut trials = Vec::new();
    for &cell in &cells {
        let outcome = by_cell.get(&cell).cloned();
        let skipped = outcome
            .as_ref()
            .is_some_and(|o| o.verdict == Verdict::Skipped);
        // A tamper probe is sent only where its principal got in: one not
        // sent has nothing to judge, and is no trial.
        let unsent_probe = outcome.is_none()
            && suites[cell.suite].principals[cell.principal]
                .probe
                .is_some();
        if unsent_probe && !run.setup_failed {
            continue;
        }
        let ignored = skipped || session.guarded(cell);
        let not_sent = run
            .setup_failed
            .then(|| step_failures[cell.suite].clone())
            .flatten();
        trials.push(
            Trial::test(name(&cell), move || match not_sent {
                Some(why) => Err(format!("not sent: setup failed\n{why}").into()),
                None => judge(outcome),
            })
            .with_ignored_flag(ignored),
        );
    }
    for (s, suite) in suites.iter().enumerate() {
        if suite.setup.is_empty() && suite.teardown.is_empty() {
            continue;
        }
        let failure = step_failures[s].clone();
        trials.push(Trial::test(format!("{}::steps", suite.name), move || {
            failure.map_or(Ok(()), |why| Err(why.into()))
        }));
    }
    let outcomes = Arc::new(outcomes);
    for (s, suite) in suites.iter().enumerate() {
        let (suite, outcomes, dir) = (suite.clone(), outcomes.clone(), options.snapshots.clone());
        trials.push(Trial::test(snapshot_name(&suite), move || {
            assert_snapshot(&suite, s, &outcomes, &dir)
        }));
    }
    libtest_mimic::run(&args, trials).exit_code()
}

/// Fails the run whatever the filter: an invalid suite or a target that cannot
/// be set up is not a filtered-out test.
fn setup_failed(error: &SessionError, then: &str) -> ExitCode {
    let text = match error {
        SessionError::Invalid(diagnostics) => {
            crate::report::terminal::diagnostics(diagnostics, &format!("; {then}"))
        }
        other => format!("error: {other}\n{then}\n"),
    };
    let _ = std::io::stderr().write_all(text.as_bytes());
    ExitCode::from(101)
}

fn judge(outcome: Option<CellOutcome>) -> Result<(), Failed> {
    match outcome {
        Some(o) if o.verdict.fails_run() => Err(detail(&o).into()),
        Some(_) => Ok(()),
        None => Err("the cell was not executed".into()),
    }
}

/// The suite's snapshot trial, as the CLI checks snapshots: a first run
/// writes the snapshot and passes (unless `CI` is set); a changed matrix fails
/// with its classified changes and diff, pointing at the suite file, and writes
/// `.snap.new` for `cargo insta review`; `INSTA_UPDATE=always` accepts it.
/// A failure is a message, never a panic, so no backtrace follows it.
fn assert_snapshot(
    suite: &Suite,
    s: usize,
    outcomes: &[CellOutcome],
    dir: &Path,
) -> Result<(), Failed> {
    let dir = std::env::current_dir()
        .map(|cwd| cwd.join(dir))
        .map_err(|e| e.to_string())?;
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    // insta's switches: `always` accepts; `no`, like CI, writes no new snapshot.
    let update = env("INSTA_UPDATE");
    let settings = snapshot::SnapshotSettings {
        dir,
        accept: update.as_deref() == Some("always"),
        ci: env("CI").is_some_and(|v| v != "false" && v != "0") || update.as_deref() == Some("no"),
    };
    // Errored cells keep their recorded line; the run fails on them anyway.
    let errored = outcomes
        .iter()
        .any(|o| o.id.suite == s && matches!(o.result, CellResult::Error { .. }));
    let say = |line: String| {
        let _ = writeln!(std::io::stderr(), "{line}");
    };
    let file = suite.file.display();
    // The lint findings go into the snapshot as `run` writes them.
    let inputs = crate::lints::LintInputs::of_suite(suite);
    match snapshot::check(suite, s, outcomes, inputs, &settings).map_err(|e| e.to_string())? {
        SnapshotOutcome::Unchanged | SnapshotOutcome::NothingRecorded => {}
        SnapshotOutcome::Created(path) => say(format!(
            "snapshot {}: the matrix of {file} written to {} (first run): commit it",
            suite.name,
            path.display()
        )),
        SnapshotOutcome::Accepted { path, changes } => say(format!(
            "snapshot {}: accepted {} change(s) of {file} into {}",
            suite.name,
            changes.len(),
            path.display()
        )),
        SnapshotOutcome::MissingInCi(path) => {
            return Err(format!(
                "{} does not exist, and CI (or INSTA_UPDATE=no) forbids writing it: run the tests where neither is set (or with INSTA_UPDATE=always) and commit the snapshot of {file}",
                path.display()
            )
            .into());
        }
        SnapshotOutcome::Changed {
            path,
            new_path,
            changes,
            diff,
        } => {
            let classes: String = changes.iter().map(|c| format!("  {c}\n")).collect();
            return Err(format!(
                "the permission matrix of {file} changed against {} ({} change(s)):\n{classes}{}the new matrix is in {}: review it with `cargo insta review`, or run again with INSTA_UPDATE=always",
                path.display(),
                changes.len(),
                crate::http::printable(&diff),
                new_path.display()
            )
            .into());
        }
    }
    if errored {
        return Err("cells of this suite errored; their snapshot lines were kept".into());
    }
    Ok(())
}
