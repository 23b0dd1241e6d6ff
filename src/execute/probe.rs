//! Tamper probe cells: run only where their principal got in (2xx) and no
//! caller without credentials did, and judged most severely when let in.

use std::collections::HashSet;

use crate::outcome::{CellId, CellOutcome, Verdict};
use crate::suite::{AuthSpec, Suite};

/// The probe cells worth sending: the principal they derive from reached the
/// endpoint in this run, and no principal without credentials did (a public
/// endpoint lets a broken credential in as it lets anyone).
pub(super) fn runnable(
    suites: &[Suite],
    outcomes: &[CellOutcome],
    probes: Vec<CellId>,
) -> Vec<CellId> {
    let reached = |o: &&CellOutcome| o.decided().is_some_and(got_in);
    let got_in: HashSet<CellId> = outcomes.iter().filter(reached).map(|o| o.id).collect();
    let public: HashSet<(usize, usize)> = outcomes
        .iter()
        .filter(reached)
        .filter(|o| {
            let principal = &suites[o.id.suite].principals[o.id.principal];
            principal.probe.is_none() && matches!(principal.auth, AuthSpec::None)
        })
        .map(|o| (o.id.suite, o.id.endpoint))
        .collect();
    probes
        .into_iter()
        .filter(|cell| {
            let Some(of) = suites[cell.suite].principals[cell.principal].probe else {
                return false;
            };
            let base = CellId {
                principal: of.base,
                ..*cell
            };
            got_in.contains(&base) && !public.contains(&(cell.suite, cell.endpoint))
        })
        .collect()
}

/// Whether a cell got something in: reached, or a partial GraphQL answer.
fn got_in(decided: crate::outcome::Decided) -> bool {
    decided.reached() || decided == crate::outcome::Decided::Partial
}

/// A probe let in (2xx) is the most severe failure there is, whatever its
/// expectation says; the note names the probe.
pub(super) fn judge(suites: &[Suite], outcome: &mut CellOutcome) {
    let principal = &suites[outcome.id.suite].principals[outcome.id.principal];
    let Some(of) = principal.probe else {
        return;
    };
    if outcome.decided().is_some_and(got_in) {
        outcome.verdict = Verdict::AcceptedTampered;
        outcome.note = Some(format!(
            "accepted a tampered credential (probe {}: {})",
            of.probe.as_str(),
            of.probe.describe()
        ));
    }
}
