//! `--junit FILE`: one testcase per cell and per step, the suite as
//! classname, located by `file` and `line`; one `snapshot` testcase per suite.

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::cells::detail;
use super::{ReportError, RunReport};
use crate::outcome::{CellResult, Verdict};
use crate::snapshot::SnapshotOutcome;

/// The run as JUnit XML.
pub(super) fn render(run: &RunReport<'_>) -> Result<Vec<u8>, ReportError> {
    report(run)
        .to_string()
        .map(String::into_bytes)
        .map_err(|e| ReportError::Render {
            format: "JUnit",
            message: e.to_string(),
        })
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
        | SnapshotOutcome::NothingRecorded
        | SnapshotOutcome::Created(_)
        | SnapshotOutcome::Accepted { .. } => TestCaseStatus::success(),
    };
    let mut case = TestCase::new("snapshot", status);
    case.set_classname(suite);
    case
}

/// A setup or teardown step as a testcase: a failed one is red, one not
/// sent because its setup failed is skipped.
fn step_case(step: &crate::outcome::StepRecord) -> TestCase {
    let why = step.error.clone().unwrap_or_default();
    let status = if step.passed {
        TestCaseStatus::success()
    } else if step.skipped {
        let mut status = TestCaseStatus::skipped();
        status.set_message(why);
        status
    } else {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
        status.set_message(why);
        status.set_type(format!("{}-step-failed", step.phase.as_str()));
        status
    };
    TestCase::new(step.title(), status)
}

/// Where a testcase comes from: `file` and `line` attributes (the suite file
/// and the endpoint's line), as GitLab, Jenkins and pytest's JUnit write them.
fn located(case: &mut TestCase, suite: &crate::suite::Suite, line: u32) {
    case.extra
        .insert("file".into(), suite.file.display().to_string().into());
    case.extra.insert("line".into(), line.to_string().into());
}

/// The JUnit report for a run.
pub(super) fn report(run: &RunReport<'_>) -> Report {
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
                Verdict::Failed
                | Verdict::Error
                | Verdict::CredentialsRejected
                | Verdict::AcceptedTampered
                | Verdict::DeniedButApplied => {
                    let kind = match outcome.verdict {
                        Verdict::Error | Verdict::CredentialsRejected => NonSuccessKind::Error,
                        _ => NonSuccessKind::Failure,
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
            located(&mut case, suite, endpoint.pos.line);
            test_suite.add_test_case(case);
        }
        for cell in run.not_run.iter().filter(|c| c.suite == s) {
            let mut status = TestCaseStatus::skipped();
            status.set_message("not run: the run was interrupted");
            let mut case = TestCase::new(
                format!(
                    "{} :: {}",
                    suite.endpoints[cell.endpoint].name, suite.principals[cell.principal].name
                ),
                status,
            );
            case.set_classname(suite.name.as_str());
            located(&mut case, suite, suite.endpoints[cell.endpoint].pos.line);
            test_suite.add_test_case(case);
        }
        for step in run.steps.iter().filter(|step| step.suite == s) {
            let mut case = step_case(step);
            case.set_classname(suite.name.as_str());
            located(&mut case, suite, step.line);
            test_suite.add_test_case(case);
        }
        if let Some(Some(snapshot)) = run.snapshots.get(s) {
            let mut case = snapshot_case(&suite.name, snapshot);
            located(&mut case, suite, suite.name_pos.line);
            test_suite.add_test_case(case);
        }
        if let Some(mut case) = lints_case(run, s) {
            located(&mut case, suite, suite.name_pos.line);
            test_suite.add_test_case(case);
        }
        report.add_test_suite(test_suite);
    }
    report
}

/// The suite's `lints` testcase: its lint findings in its output, a failure
/// only when one of them is in `--fail-on` (accepted ones never are); none
/// when the run found no lint finding.
fn lints_case(run: &RunReport<'_>, s: usize) -> Option<TestCase> {
    let suite = &run.suites[s];
    let lints: Vec<&crate::scopes::Finding> = run
        .findings_of(s)
        .iter()
        .filter(|f| f.kind.lint().is_some())
        .collect();
    if lints.is_empty() {
        return None;
    }
    let failing: Vec<String> = lints
        .iter()
        .filter(|f| f.accepted.is_none() && run.class_fails(s, f.kind.as_str()))
        .map(|f| f.line(suite))
        .collect();
    let all: Vec<String> = lints.iter().map(|f| f.line(suite)).collect();
    let status = match failing.is_empty() {
        true => TestCaseStatus::success(),
        false => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status.set_message(format!("{} lint finding(s) in --fail-on", failing.len()));
            status.set_type("lint");
            status.set_description(failing.join("\n"));
            status
        }
    };
    let mut case = TestCase::new("lints", status);
    case.set_classname(suite.name.as_str());
    case.set_system_out(all.join("\n"));
    Some(case)
}
