//! Canaries: an endpoint a principal must reach. When it is not reached, the
//! principal's denials say nothing about permissions: its credentials were
//! rejected, and its denials are reported as such.

use std::collections::HashMap;

use crate::outcome::{CellId, CellOutcome, CellResult, Verdict};
use crate::suite::Suite;

/// Splits cells into canaries (run first) and the rest.
pub(super) fn split(suites: &[Suite], cells: &[CellId]) -> (Vec<CellId>, Vec<CellId>) {
    cells
        .iter()
        .partition(|c| suites[c.suite].canary_of(c.principal) == Some(c.endpoint))
}

/// For each principal whose canary was not reached, why.
pub(super) fn failures(
    suites: &[Suite],
    canaries: &[CellOutcome],
) -> HashMap<(usize, usize), String> {
    canaries
        .iter()
        .filter_map(|o| {
            let suite = &suites[o.id.suite];
            let name = &suite.endpoints[o.id.endpoint].name;
            let got = match &o.result {
                // A partial answer got in: the credentials work.
                CellResult::Responded(r)
                    if r.decided().reached() || r.decided() == crate::outcome::Decided::Partial =>
                {
                    return None;
                }
                CellResult::Skipped { .. } => return None,
                CellResult::Responded(r) => r.shown(),
                CellResult::Error { message, .. } => format!("no response: {message}"),
            };
            Some((
                (o.id.suite, o.id.principal),
                format!("credentials rejected: canary `{name}` was not reached ({got})"),
            ))
        })
        .collect()
}

/// Turns a denial of a principal whose canary failed into "credentials rejected".
pub(super) fn apply(outcome: &mut CellOutcome, rejected: &HashMap<(usize, usize), String>) {
    let Some(reason) = rejected.get(&(outcome.id.suite, outcome.id.principal)) else {
        return;
    };
    if outcome.decided().is_some_and(|d| d.denied()) {
        outcome.verdict = Verdict::CredentialsRejected;
        outcome.note = Some(reason.clone());
    }
}
