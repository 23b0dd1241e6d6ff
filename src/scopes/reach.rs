//! What a scope set reaches: for each endpoint, the answer of a principal
//! holding exactly that set, else one inferred from principals holding less
//! (reached) or more (denied), else unknown with the documented requirement.

use std::collections::BTreeSet;

use super::{Seen, closures, named_in};
use crate::suite::scope_rules::nearest_scope;
use crate::suite::{Required, Suite};

/// How an endpoint's answer for the scope set is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Basis {
    /// A principal holding exactly the set ran it.
    Observed,
    /// Principals holding exactly the set (or less and more) got different answers.
    Conflicting,
    /// Read from a principal holding less (it reached) or more (it was refused: 401 or 403).
    Inferred,
    /// No principal says.
    Unknown,
}

impl Basis {
    /// Its name in JSON and the terminal.
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Observed => "observed",
            Basis::Conflicting => "conflicting",
            Basis::Inferred => "inferred",
            Basis::Unknown => "unknown",
        }
    }
}

/// One endpoint's answer for the scope set.
#[derive(Clone, Debug)]
pub struct ReachRow<'s> {
    /// The endpoint's index.
    pub endpoint: usize,
    /// Whether the set reaches it; `None` when conflicting or unknown.
    pub reached: Option<bool>,
    /// How that is known.
    pub basis: Basis,
    /// The principal the answer comes from.
    pub via: Option<usize>,
    /// The principals whose answers conflict, with their statuses.
    pub conflicts: Vec<(usize, u16)>,
    /// The endpoint's documented `scopes:`.
    pub required: Option<&'s Required>,
}

/// A scope asked about that the suite never names, with the nearest it does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownScope {
    /// The scope as asked.
    pub scope: String,
    /// The nearest name the suite uses.
    pub nearest: Option<String>,
}

/// The scopes of `asked` that no endpoint, principal, `scope_implies` or `scopes_known` names.
pub fn unknown_scopes(suite: &Suite, asked: &[String]) -> Vec<UnknownScope> {
    let named = named_in(suite);
    asked
        .iter()
        .filter(|s| !named.contains(s.as_str()))
        .map(|s| UnknownScope {
            scope: s.clone(),
            nearest: nearest_scope(s, named.iter().copied()).map(str::to_string),
        })
        .collect()
}

/// Each endpoint's answer for a principal holding `closure` (already closed
/// under `scope_implies`), reading cells through `seen`.
pub fn reach<'s, 'a>(
    suite: &'s Suite,
    closure: &BTreeSet<String>,
    seen: impl Fn(usize, usize) -> Option<Seen<'a>>,
) -> Vec<ReachRow<'s>> {
    let closures = closures(suite);
    suite
        .endpoints
        .iter()
        .enumerate()
        .map(|(e, endpoint)| {
            let row = |reached, basis, via, conflicts| ReachRow {
                endpoint: e,
                reached,
                basis,
                via,
                conflicts,
                required: endpoint.scopes.as_ref(),
            };
            // Principals that declare scopes and got an answer, in declared
            // order; a server error (5xx) decides nothing about access.
            let answers: Vec<(usize, &BTreeSet<String>, Seen<'a>)> = closures
                .iter()
                .enumerate()
                .filter_map(|(p, c)| Some((p, c.as_ref()?, seen(e, p)?)))
                .filter(|(_, _, cell)| cell.status < 500)
                .collect();
            let same: Vec<(usize, bool, u16)> = answers
                .iter()
                .filter(|(_, c, _)| *c == closure)
                .map(|(p, _, cell)| (*p, cell.reached(), cell.status))
                .collect();
            if let Some(&(first, reached, _)) = same.first() {
                if same.iter().all(|(_, r, _)| *r == reached) {
                    return row(Some(reached), Basis::Observed, Some(first), Vec::new());
                }
                let conflicts = same.iter().map(|(p, _, s)| (*p, *s)).collect();
                return row(None, Basis::Conflicting, None, conflicts);
            }
            let less = answers
                .iter()
                .find(|(_, c, cell)| cell.reached() && c.is_subset(closure));
            let more = answers
                .iter()
                .find(|(_, c, cell)| cell.denied() && c.is_superset(closure));
            match (less, more) {
                (Some(l), Some(m)) => row(
                    None,
                    Basis::Conflicting,
                    None,
                    vec![(l.0, l.2.status), (m.0, m.2.status)],
                ),
                (Some(l), None) => row(Some(true), Basis::Inferred, Some(l.0), Vec::new()),
                (None, Some(m)) => row(Some(false), Basis::Inferred, Some(m.0), Vec::new()),
                (None, None) => row(None, Basis::Unknown, None, Vec::new()),
            }
        })
        .collect()
}
