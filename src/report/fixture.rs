//! A fixed run for the reporters' tests: one of every kind of cell.

use std::path::Path;
use std::time::Duration;

use crate::execute::ResolvedTarget;
use crate::outcome::{CellId, CellOutcome, CellResult, ErrorKind, Observation, Tally, Verdict};
use crate::snapshot::{Change, ChangeClass, SnapshotOutcome};
use crate::suite::{Expectation, LoadOptions, Suite, load_str};

const SUITE: &str = r#"suite: fixture
description: Every kind of cell, for the reporters' tests.
target: { base_url: "http://127.0.0.1:1" }
principals:
  anonymous: { auth: none }
  admin:
    description: site administrator
    scopes: []
    auth: none
  app:
    description: a Connect app <with> "quotes" & ampersands
    scopes: [READ, ACT_AS_USER]
    auth: none
endpoints:
  - request: GET /rest/api/2/search
    scopes: [READ]
    expect: { "*": allow, anonymous: 401 }
  - name: permissions | admin only
    request: GET /rest/api/2/permissions
    expect: { admin: 200, "*": deny }
  - name: <script>alert(1)</script>
    request: POST /rest/api/2/issue
    scopes: [WRITE]
    expect: { "*": any }
"#;

fn responded(status: u16, excerpt: &str, challenge: Option<&str>) -> CellResult {
    CellResult::Responded(Observation {
        status,
        www_authenticate: challenge.map(str::to_string),
        location: None,
        excerpt: excerpt.into(),
        facts: vec![],
        comparable: None,
        recorded: None,
        decision: None,
        items: None,
    })
}

fn outcome(
    endpoint: usize,
    principal: usize,
    expected: Expectation,
    result: CellResult,
    verdict: Verdict,
) -> CellOutcome {
    CellOutcome {
        id: CellId {
            suite: 0,
            endpoint,
            principal,
        },
        expected,
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

/// The suites, targets, outcomes and snapshot results of the fixed run.
pub(super) fn run() -> (
    Vec<Suite>,
    Vec<ResolvedTarget>,
    Vec<CellOutcome>,
    Vec<Option<SnapshotOutcome>>,
) {
    let suite = load_str(
        Path::new("suites/fixture.yaml"),
        SUITE,
        &LoadOptions::default(),
    )
    .expect("valid fixture");
    let targets = vec![ResolvedTarget {
        base_url: url::Url::parse("http://127.0.0.1:1").expect("url"),
        is_mock: false,
    }];
    use Expectation::*;
    let mut rejected = outcome(
        1,
        2,
        Deny,
        responded(401, "", None),
        Verdict::CredentialsRejected,
    );
    rejected.note =
        Some("credentials rejected: canary `GET /rest/api/2/search` was not reached (401)".into());
    let outcomes = vec![
        outcome(
            0,
            0,
            Status(401),
            responded(
                401,
                "{\"errorMessages\":[\"login\"]}",
                Some("Basic realm=\"jira\""),
            ),
            Verdict::Passed,
        ),
        outcome(0, 1, Allow, responded(200, "{}", None), Verdict::Passed),
        outcome(
            0,
            2,
            Allow,
            responded(
                401,
                "{\"code\":401,\"message\":\"Unauthorized; scope does not match\"}",
                None,
            ),
            Verdict::Failed,
        ),
        outcome(1, 0, Deny, responded(404, "", None), Verdict::Failed),
        outcome(
            1,
            1,
            Status(200),
            CellResult::Error {
                kind: ErrorKind::Timeout,
                message: "timed out after 10s".into(),
            },
            Verdict::Error,
        ),
        rejected,
        outcome(
            2,
            0,
            Any,
            CellResult::Skipped {
                reason: "POST not sent to a real target".into(),
            },
            Verdict::Skipped,
        ),
        outcome(
            2,
            1,
            Any,
            responded(201, "<b>created</b>", None),
            Verdict::Passed,
        ),
        outcome(2, 2, Any, responded(403, "", None), Verdict::Passed),
    ];
    let snapshots = vec![Some(SnapshotOutcome::Changed {
        path: "snapshots/fixture.snap".into(),
        new_path: "snapshots/fixture.snap.new".into(),
        changes: vec![
            Change {
                class: ChangeClass::Widened,
                what: "GET /rest/api/2/search × admin: 403 → 200".into(),
                endpoint: Some("GET /rest/api/2/search".into()),
            },
            Change {
                class: ChangeClass::AuthBroken,
                what: "GET /rest/api/2/search × app: 200 → 401".into(),
                endpoint: Some("GET /rest/api/2/search".into()),
            },
        ],
        diff: "-  admin → 403\n+  admin → 200\n".into(),
    })];
    (vec![suite], targets, outcomes, snapshots)
}

/// Runs `f` on the fixed run's report.
pub(super) fn with_report<R>(f: impl FnOnce(&super::RunReport<'_>) -> R) -> R {
    let (suites, targets, outcomes, snapshots) = run();
    let findings = vec![crate::scopes::findings::of_outcomes(
        &suites[0], 0, &outcomes,
    )];
    let report = super::RunReport {
        steps: &[],
        fail_on: &[],
        suites: &suites,
        targets: &targets,
        outcomes: &outcomes,
        tally: Tally::of(&outcomes),
        snapshots: &snapshots,
        not_run: &[],
        findings: &findings,
        strict_scopes: false,
        timing: None,
    };
    f(&report)
}
