//! Cells of endpoints that check their writes (`verify:`, `restore:`): run
//! one at a time after every other cell, each between two verify requests
//! whose answers give its trace (`none`, `changed`, `gone`, `n/a`), then
//! followed by the restore steps, so no cell sees another's write.

use std::collections::HashMap;

use super::Shared;
use super::before_after::{Read, trace_of};
use super::cell::{Rendering, prepare};
use super::send::send_with_retries;
use crate::outcome::{CellId, CellOutcome, CellResult, StepRecord, Verdict, WriteTrace};
use crate::suite::Suite;
use crate::suite::expect::Decided;
use crate::suite::template::Captured;
use crate::suite::verify::{Trace, Verify, Writes};

/// How much of a verify answer is read: it is compared whole, so a cut one
/// gives no trace.
const VERIFY_BODY_LIMIT: usize = 4 * 1024 * 1024;

/// Whether `id`'s endpoint checks its writes: its cells run in [`run`].
pub(super) fn checks_writes(suites: &[Suite], id: CellId) -> bool {
    suites[id.suite].endpoints[id.endpoint].checks_writes()
}

/// The principals that send verify requests and restore steps for `cells`,
/// as `(suite, principal)`.
pub(super) fn senders(suites: &[Suite], cells: &[CellId]) -> Vec<(usize, usize)> {
    let mut senders = Vec::new();
    for cell in cells {
        let suite = &suites[cell.suite];
        let Some(writes) = &suite.endpoints[cell.endpoint].writes else {
            continue;
        };
        let names = (writes.verify.iter().map(|v| v.principal.as_str())).chain(
            writes
                .restore
                .iter()
                .flat_map(|step| step.actor.principals().iter().map(String::as_str)),
        );
        for name in names {
            if let Some(p) = suite.principal_index(name)
                && !senders.contains(&(cell.suite, p))
            {
                senders.push((cell.suite, p));
            }
        }
    }
    senders
}

/// Registers what the verify requests and restore steps of `id`'s endpoint
/// carry that is secret, as `id`'s own requests' are.
pub(super) fn register_secrets(shared: &Shared<'_>, id: CellId) {
    let suite = &shared.suites[id.suite];
    let Some(writes) = &suite.endpoints[id.endpoint].writes else {
        return;
    };
    let captured = &shared.captured[id.suite];
    let requests = (writes
        .verify
        .iter()
        .map(|v| (v.principal.as_str(), &v.request)))
    .chain(writes.restore.iter().flat_map(|step| {
        step.actor
            .principals()
            .iter()
            .map(|p| (p.as_str(), &step.request))
    }));
    for (name, request) in requests {
        if let Some(p) = suite.principal_index(name) {
            let sender = CellId { principal: p, ..id };
            let scope = shared.scope_for(sender, id.principal, captured);
            super::cell::register_request_secrets(&shared.redactor, request, &scope);
        }
    }
}

/// Runs `cells` one at a time, each between its endpoint's verify requests
/// and followed by its restore steps; `captured` (by suite) starts as setup
/// left it and takes what restore steps capture; the restore steps that
/// failed go to `failures`.
pub(super) async fn run(
    shared: &Shared<'_>,
    cells: &[CellId],
    captured: &mut [Captured],
    outcomes: &mut Vec<CellOutcome>,
    failures: &mut Vec<StepRecord>,
    on_outcome: &mut impl FnMut(&mut CellOutcome),
) {
    // By (suite, endpoint): why its restore failed, so its later cells are not sent.
    let mut halted: HashMap<(usize, usize), String> = HashMap::new();
    // Endpoints already said to leave a write in place (no restore steps).
    let mut unrestored: Vec<(usize, usize)> = Vec::new();
    for &id in cells {
        let suite = &shared.suites[id.suite];
        let endpoint = &suite.endpoints[id.endpoint];
        let Some(writes) = endpoint.writes.as_deref() else {
            continue;
        };
        let mut outcome = match halted.get(&(id.suite, id.endpoint)) {
            Some(why) => not_sent(shared, id, why),
            None => {
                let captured = &mut captured[id.suite];
                checked_cell(shared, id, writes, captured, &mut halted, failures).await
            }
        };
        if let Some(write) = &outcome.write
            && write.trace.applied()
            && writes.restore.is_empty()
            && !unrestored.contains(&(id.suite, id.endpoint))
        {
            unrestored.push((id.suite, id.endpoint));
            shared.notice(format!(
                "{} › {}: {}'s cell changed what its verify request reads and the endpoint has no `restore:` steps; the cells after it started from the changed state",
                suite.name,
                endpoint.name,
                suite.principals[id.principal].name
            ));
        }
        on_outcome(&mut outcome);
        outcomes.push(outcome);
    }
}

/// One cell between its verify requests, judged by its trace, then restored.
async fn checked_cell(
    shared: &Shared<'_>,
    id: CellId,
    writes: &Writes,
    captured: &mut Captured,
    halted: &mut HashMap<(usize, usize), String>,
    failures: &mut Vec<StepRecord>,
) -> CellOutcome {
    let before = match &writes.verify {
        Some(verify) => Some(read(shared, id, verify, captured).await),
        None => None,
    };
    let mut outcome = super::cell::run_in(shared, id, captured).await;
    let sent = !matches!(outcome.result, CellResult::Skipped { .. });
    let verified = sent && writes.verify.is_some();
    let (trace, detail) = match (&writes.verify, before) {
        (_, _) if !sent => (
            Trace::NotApplicable,
            Some("the cell was not sent".to_string()),
        ),
        (None, _) | (_, None) => (Trace::NotApplicable, None),
        (Some(verify), Some(before)) => {
            let after = read(shared, id, verify, captured).await;
            trace_of(&before, &after)
        }
    };
    let mut write = WriteTrace {
        trace,
        detail: detail.map(|d| shared.redactor.mask(&d)),
        expected: writes.resolved_trace.get(id.principal).copied().flatten(),
        restore_failed: None,
        verified,
    };
    judge(&mut outcome, &write);
    let restores = sent && trace != Trace::None && !writes.restore.is_empty();
    if restores && let Some(failed) = restore(shared, id, writes, captured).await {
        let suite = &shared.suites[id.suite];
        let why = format!(
            "{}: {}",
            failed.title(),
            failed.error.as_deref().unwrap_or("failed")
        );
        halted.insert(
            (id.suite, id.endpoint),
            format!(
                "not sent: the restore steps after {}'s cell failed ({why}), so this cell would not start from the state setup made",
                suite.principals[id.principal].name
            ),
        );
        write.restore_failed = Some(why);
        failures.push(failed);
    }
    outcome.write = Some(Box::new(write));
    outcome
}

/// A refused cell whose write took effect fails as denied-but-applied,
/// whatever it was expected to get; otherwise a trace other than the one
/// `expect_trace` asks fails a cell whose status passed.
fn judge(outcome: &mut CellOutcome, write: &WriteTrace) {
    let refused = outcome
        .decided()
        .is_some_and(|d| matches!(d, Decided::Status(401 | 403 | 404)));
    if refused && write.trace.applied() {
        outcome.verdict = Verdict::DeniedButApplied;
    } else if outcome.verdict == Verdict::Passed && write.mismatched() {
        outcome.verdict = Verdict::Failed;
    }
}

/// A cell left unsent because an earlier cell's restore failed: an error, so
/// the run fails and says why.
fn not_sent(shared: &Shared<'_>, id: CellId, why: &str) -> CellOutcome {
    let suite = &shared.suites[id.suite];
    let mut outcome = super::steps::scratch(id);
    outcome.expected = suite.endpoints[id.endpoint].resolved[id.principal].clone();
    outcome.result = CellResult::Error {
        kind: crate::outcome::ErrorKind::Request,
        message: why.to_string(),
    };
    outcome.verdict = Verdict::Error;
    outcome.write = Some(Box::new(WriteTrace {
        trace: Trace::NotApplicable,
        detail: Some("the cell was not sent".into()),
        expected: None,
        restore_failed: None,
        verified: false,
    }));
    outcome
}

/// Runs the endpoint's restore steps after `id`'s cell; the record of the
/// first that failed, if one did, its error saying after which cell.
async fn restore(
    shared: &Shared<'_>,
    id: CellId,
    writes: &Writes,
    captured: &mut Captured,
) -> Option<StepRecord> {
    let suite = &shared.suites[id.suite];
    for step in &writes.restore {
        for name in step.actor.principals() {
            // Loading checked the name.
            let p = suite.principal_index(name)?;
            let mut record =
                super::steps::run_one(shared, (id.suite, p, id.principal), step, captured).await;
            if !record.passed {
                record.error = Some(format!(
                    "after {}'s cell of `{}`: {}",
                    suite.principals[id.principal].name,
                    suite.endpoints[id.endpoint].name,
                    record.error.as_deref().unwrap_or("failed")
                ));
                return Some(record);
            }
        }
    }
    None
}

/// Sends `verify`'s request as its principal, for `cell`.
async fn read(shared: &Shared<'_>, cell: CellId, verify: &Verify, captured: &Captured) -> Read {
    let suite = &shared.suites[cell.suite];
    let Some(p) = suite.principal_index(&verify.principal) else {
        return Read::Failed(format!("no principal `{}`", verify.principal));
    };
    let id = CellId {
        principal: p,
        ..cell
    };
    let rendering = Rendering {
        captured,
        own: cell.principal,
    };
    let mut prepared = match prepare(shared, id, &verify.request, None, rendering) {
        Ok(prepared) => prepared,
        Err(e) => return Read::Failed(shared.redactor.mask(&e.to_string())),
    };
    prepared.body_limit = VERIFY_BODY_LIMIT;
    let Some(runtime) = &shared.principals[id.suite][id.principal] else {
        return Read::Failed(format!("{} was not set up", verify.principal));
    };
    let auth = match &runtime.auth {
        Ok(auth) => auth,
        Err(e) => return Read::Failed(format!("credentials of {}: {e}", verify.principal)),
    };
    let mut scratch = super::steps::scratch(id);
    match send_with_retries(shared, id, &prepared, runtime, auth.as_ref(), &mut scratch).await {
        Ok(response) if response.over_limit || response.body_cut => Read::Failed(format!(
            "its answer was cut (over {} MiB, or it went quiet): it cannot be compared whole",
            VERIFY_BODY_LIMIT / (1024 * 1024)
        )),
        Ok(response) => Read::Answer {
            status: response.status,
            body: super::compare::comparable(&response.body, &verify.ignore),
        },
        Err(CellResult::Error { message, .. }) => Read::Failed(message),
        Err(_) => Read::Failed("it was not sent".into()),
    }
}
