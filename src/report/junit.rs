//! `--junit FILE`: one testcase per cell, the suite as classname.

use std::path::PathBuf;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::{Event, Reporter, RunReport, write_atomically};
use crate::outcome::{CellResult, Verdict};
use crate::report::terminal::detail;
use crate::snapshot::SnapshotOutcome;

/// Writes the JUnit XML report when the run finishes.
pub struct JunitReporter {
    path: PathBuf,
}

impl JunitReporter {
    /// A reporter writing to `path`.
    pub fn new(path: PathBuf) -> JunitReporter {
        JunitReporter { path }
    }
}

impl Reporter for JunitReporter {
    fn handle(&mut self, event: &Event<'_>) -> Result<(), String> {
        let Event::Finished(run) = event else {
            return Ok(());
        };
        let xml = report(run).to_string().map_err(|e| e.to_string())?;
        write_atomically(&self.path, xml.as_bytes())
    }
}

/// The snapshot check as a testcase, so a widened matrix is red on JUnit dashboards too.
fn snapshot_case(suite: &str, snapshot: &SnapshotOutcome) -> TestCase {
    let status = match snapshot {
        SnapshotOutcome::Changed { changes, .. } => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            let lines: Vec<String> = changes.iter().map(ToString::to_string).collect();
            status.set_message(format!("the matrix changed: {}", lines.join("; ")));
            status.set_type("snapshot-changed");
            status
        }
        SnapshotOutcome::MissingInCi(path) => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status.set_message(format!("{} does not exist and CI is set", path.display()));
            status.set_type("snapshot-missing");
            status
        }
        SnapshotOutcome::Unchanged
        | SnapshotOutcome::Created(_)
        | SnapshotOutcome::Accepted { .. } => TestCaseStatus::success(),
    };
    let mut case = TestCase::new("snapshot", status);
    case.set_classname(suite);
    case
}

/// The JUnit report for a run.
pub fn report(run: &RunReport<'_>) -> Report {
    let mut report = Report::new("permatrix");
    for (s, suite) in run.suites.iter().enumerate() {
        let mut test_suite = TestSuite::new(suite.name.as_str());
        for outcome in run.outcomes.iter().filter(|o| o.id.suite == s) {
            let endpoint = &suite.endpoints[outcome.id.endpoint];
            let principal = &suite.principals[outcome.id.principal];
            let status = match outcome.verdict {
                Verdict::Passed => TestCaseStatus::success(),
                Verdict::Skipped => {
                    let mut status = TestCaseStatus::skipped();
                    if let CellResult::Skipped { reason } = &outcome.result {
                        status.set_message(reason.as_str());
                    }
                    status
                }
                Verdict::Failed | Verdict::Error | Verdict::CredentialsRejected => {
                    let kind = if outcome.verdict == Verdict::Failed {
                        NonSuccessKind::Failure
                    } else {
                        NonSuccessKind::Error
                    };
                    let mut status = TestCaseStatus::non_success(kind);
                    status.set_message(detail(outcome));
                    status.set_type(outcome.verdict.as_str());
                    status
                }
            };
            let mut case =
                TestCase::new(format!("{} :: {}", endpoint.name, principal.name), status);
            case.set_classname(suite.name.as_str());
            case.set_time(outcome.elapsed);
            test_suite.add_test_case(case);
        }
        if let Some(Some(snapshot)) = run.snapshots.get(s) {
            test_suite.add_test_case(snapshot_case(&suite.name, snapshot));
        }
        report.add_test_suite(test_suite);
    }
    report
}
