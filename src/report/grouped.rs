//! Cells that ended the same way for the same reason (an unreachable target,
//! a token endpoint that is down, mutations not sent) told once, with the
//! cells listed compactly, instead of one identical line per cell.

use std::collections::HashMap;

use crate::outcome::{CellOutcome, CellResult, ErrorKind, Verdict};
use crate::suite::Suite;

/// Below this many cells a reason is told per cell.
pub(super) const MIN_GROUP: usize = 3;

/// How many endpoints a group's listing names before "and N more".
const SHOWN_ENDPOINTS: usize = 4;

/// What cells of one group share: their suite, verdict and reason.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct Reason<'a> {
    suite: usize,
    verdict: Verdict,
    kind: Option<ErrorKind>,
    text: &'a str,
}

impl<'a> Reason<'a> {
    /// The reason of a cell that errored or was skipped; `None` for a cell with a response.
    pub(super) fn of(outcome: &'a CellOutcome) -> Option<Reason<'a>> {
        let (kind, text) = match &outcome.result {
            CellResult::Error { kind, message } => (Some(*kind), message.as_str()),
            CellResult::Skipped { reason } => (None, reason.as_str()),
            CellResult::Responded(_) => return None,
        };
        Some(Reason {
            suite: outcome.id.suite,
            verdict: outcome.verdict,
            kind,
            text,
        })
    }
}

/// The cells of each reason shared by at least [`MIN_GROUP`] cells.
pub(super) fn groups<'a>(outcomes: &'a [CellOutcome]) -> HashMap<Reason<'a>, Vec<&'a CellOutcome>> {
    let mut groups: HashMap<Reason<'a>, Vec<&'a CellOutcome>> = HashMap::new();
    for outcome in outcomes.iter().filter(|o| o.verdict != Verdict::Passed) {
        if let Some(reason) = Reason::of(outcome) {
            groups.entry(reason).or_default().push(outcome);
        }
    }
    groups.retain(|_, cells| cells.len() >= MIN_GROUP);
    groups
}

/// The line after the label: what the cells share, how many there are, then
/// the cells as `endpoint × principal, principal; …`.
pub(super) fn line(
    suite: &Suite,
    target: Option<&str>,
    reason: &Reason<'_>,
    cells: &[&CellOutcome],
) -> String {
    let head = match (reason.kind, target) {
        (Some(ErrorKind::Connect), Some(target)) => {
            format!("target unreachable: {target} ({})", reason.text)
        }
        (Some(_), _) => format!("no response: {}", reason.text),
        (None, _) => reason.text.to_string(),
    };
    let mut endpoints: Vec<(usize, Vec<&str>)> = Vec::new();
    for cell in cells {
        let principal = suite.principals[cell.id.principal].name.as_str();
        match endpoints.iter_mut().find(|(e, _)| *e == cell.id.endpoint) {
            Some((_, principals)) => principals.push(principal),
            None => endpoints.push((cell.id.endpoint, vec![principal])),
        }
    }
    let every_principal = suite.principals.len();
    let listed: Vec<String> = endpoints
        .iter()
        .take(SHOWN_ENDPOINTS)
        .map(|(e, principals)| {
            let who = if principals.len() == every_principal && every_principal > 1 {
                "every principal".to_string()
            } else {
                principals.join(", ")
            };
            format!("{} × {who}", suite.endpoints[*e].name)
        })
        .collect();
    let more = endpoints.len().saturating_sub(SHOWN_ENDPOINTS);
    let more = if more > 0 {
        format!("; and {more} more endpoint(s)")
    } else {
        String::new()
    };
    format!(
        "{}: {head}, {} cells: {}{more}",
        suite.name,
        cells.len(),
        listed.join("; ")
    )
}
