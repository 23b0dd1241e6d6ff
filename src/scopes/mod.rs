//! Scopes as data, after a run: least-privilege findings over the observed
//! matrix ([`findings`]) and what a scope set reaches ([`reach`]). Both read
//! cells through a lookup, so a run's outcomes and a recorded snapshot serve alike.

mod cover;
pub mod findings;
pub mod reach;

use std::collections::BTreeSet;

use crate::suite::Suite;

pub use findings::{Finding, FindingKind};

/// What one cell answered, as far as scope analysis reads it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Seen<'a> {
    /// The status.
    pub status: u16,
    /// `WWW-Authenticate`, when known.
    pub www_authenticate: Option<&'a str>,
    /// The start of the body, when known.
    pub excerpt: &'a str,
    /// What a `decide:` rule read as the reason (Slack's `needed` scope), when one decided.
    pub reason: Option<&'a str>,
}

impl Seen<'_> {
    /// Whether the principal reached the endpoint (2xx).
    pub fn reached(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Whether the principal was refused (401 or 403).
    pub fn denied(&self) -> bool {
        matches!(self.status, 401 | 403)
    }
}

/// The closure of each principal's held scopes under `scope_implies`, by
/// principal index; `None` for a principal that declares no `scopes:`.
pub(crate) fn closures(suite: &Suite) -> Vec<Option<BTreeSet<String>>> {
    suite
        .principals
        .iter()
        .map(|p| {
            p.scopes
                .as_ref()
                .map(|held| suite.scope_rules.closure(held))
        })
        .collect()
}

/// Every scope name the suite mentions: endpoints, principals, `scope_implies`, `scopes_known`.
pub fn named_in(suite: &Suite) -> BTreeSet<&str> {
    let mut names: BTreeSet<&str> = BTreeSet::new();
    for endpoint in &suite.endpoints {
        names.extend(endpoint.scopes.iter().flat_map(|r| r.names()));
    }
    for principal in &suite.principals {
        names.extend(principal.scopes.iter().flatten().map(String::as_str));
    }
    let rules = &suite.scope_rules;
    for (scope, implied) in &rules.implies {
        names.insert(scope);
        names.extend(implied.iter().map(String::as_str));
    }
    names.extend(rules.known.iter().flatten().map(String::as_str));
    names
}
