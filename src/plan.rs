//! Planning: suites become the list of cells to run, filters applied.

use crate::outcome::CellId;
use crate::suite::Suite;

/// Which cells a run selects.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// `--filter`: the endpoint or principal name contains this text.
    pub filter: Option<String>,
    /// `--principal`: only these principals (empty: all).
    pub principals: Vec<String>,
}

/// Why a selection plans nothing to run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// A `--principal` that names no principal of any suite of the run.
    #[error("--principal {0}: no suite of this run has a principal named `{0}`")]
    UnknownPrincipal(String),
    /// `--filter` and `--principal` together select no cell.
    #[error("no cell matches {0}: nothing to run")]
    NoCellMatches(String),
}

/// Lists the selected cells in suite order: endpoints in order, principals in order.
/// Fails when a `--principal` names no principal of any suite, or when a
/// `--filter` or `--principal` selects no cell at all.
pub fn plan(suites: &[Suite], selection: &Selection) -> Result<Vec<CellId>, PlanError> {
    for wanted in &selection.principals {
        if !suites
            .iter()
            .any(|s| s.principals.iter().any(|p| &p.name == wanted))
        {
            return Err(PlanError::UnknownPrincipal(wanted.clone()));
        }
    }
    let mut cells = Vec::new();
    for (s, suite) in suites.iter().enumerate() {
        for (e, endpoint) in suite.endpoints.iter().enumerate() {
            for (p, principal) in suite.principals.iter().enumerate() {
                // A principal's tamper probes go with it.
                let base = principal.probe.map(|of| &suite.principals[of.base].name);
                if !selection.principals.is_empty()
                    && !selection.principals.contains(&principal.name)
                    && !base.is_some_and(|b| selection.principals.contains(b))
                {
                    continue;
                }
                if let Some(text) = &selection.filter
                    && !endpoint.name.contains(text.as_str())
                    && !principal.name.contains(text.as_str())
                {
                    continue;
                }
                cells.push(CellId {
                    suite: s,
                    endpoint: e,
                    principal: p,
                });
            }
        }
    }
    if cells.is_empty() && (selection.filter.is_some() || !selection.principals.is_empty()) {
        let mut asked = Vec::new();
        if let Some(text) = &selection.filter {
            asked.push(format!("--filter {text:?}"));
        }
        for principal in &selection.principals {
            asked.push(format!("--principal {principal}"));
        }
        return Err(PlanError::NoCellMatches(asked.join(" with ")));
    }
    add_canaries(suites, &mut cells);
    Ok(cells)
}

/// Whether a cell may be sent: anything but a mutation may; a mutation
/// (POST, PUT, PATCH, DELETE, …) only to the embedded mock, or with
/// `allow_mutations` in the suite's target or `--allow-mutations`.
pub fn mutation_allowed(suite: &Suite, endpoint: usize, to_mock: bool, flag: bool) -> bool {
    !suite.endpoints[endpoint].is_mutation() || to_mock || suite.target.allow_mutations || flag
}

/// A principal's canary runs whenever any of its cells does, selected or not:
/// its result decides how the principal's denials read. So do the reference
/// cell of an endpoint with `compare:` (the others' bodies are compared with
/// its) and the cell of the principal a tamper probe derives from.
pub fn add_canaries(suites: &[Suite], cells: &mut Vec<CellId>) {
    let references: Vec<CellId> = cells
        .iter()
        .filter_map(|c| {
            let principal = suites[c.suite].reference_of(c.endpoint)?;
            Some(CellId { principal, ..*c })
        })
        .collect();
    cells.extend(references);
    // A probe runs where its principal got in: the principal's cell runs too.
    let bases: Vec<CellId> = cells
        .iter()
        .filter_map(|c| {
            let of = suites[c.suite].principals[c.principal].probe?;
            Some(CellId {
                principal: of.base,
                ..*c
            })
        })
        .collect();
    cells.extend(bases);
    // Where a caller without credentials gets in, a probe is not sent: those
    // callers' cells decide it, selected or not.
    let public: Vec<CellId> = cells
        .iter()
        .filter(|c| suites[c.suite].principals[c.principal].probe.is_some())
        .flat_map(|c| {
            let suite = &suites[c.suite];
            (suite.principals.iter().enumerate())
                .filter(|(_, p)| {
                    p.probe.is_none() && matches!(p.auth, crate::suite::AuthSpec::None)
                })
                .map(move |(p, _)| CellId { principal: p, ..*c })
        })
        .collect();
    cells.extend(public);
    // The references' principals get their canaries too.
    let mut needed: Vec<CellId> = cells
        .iter()
        .filter_map(|c| {
            let endpoint = suites[c.suite].canary_of(c.principal)?;
            Some(CellId { endpoint, ..*c })
        })
        .collect();
    needed.sort();
    needed.dedup();
    cells.extend(needed);
    cells.sort();
    cells.dedup();
}
