//! What the analyses after a run find (scope findings, ignored writes,
//! lints): the kinds, with the cells each is about, as every output shows them.

use crate::suite::Suite;

pub use crate::suite::lints::LintId;

/// The kind of a finding; its name is the same in every output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FindingKind {
    /// Holds every required scope, but got 401 or 403.
    DeniedDespiteScopes,
    /// Reached (2xx) without holding a required scope.
    ReachedWithoutScopes,
    /// Holds scopes that no reached endpoint needs.
    UnusedScopes,
    /// Reached (2xx) a write whose `verify:` request read the same before and
    /// after: the write was accepted and ignored.
    ReachedButIgnored,
    /// A shape of the observed matrix that needs no expectation to be seen.
    Lint(LintId),
}

impl FindingKind {
    /// Its name in JSON, the snapshot and the terminal.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::DeniedDespiteScopes => "denied_despite_scopes",
            FindingKind::ReachedWithoutScopes => "reached_without_scopes",
            FindingKind::UnusedScopes => "unused_scopes",
            FindingKind::ReachedButIgnored => "reached_but_ignored",
            FindingKind::Lint(id) => id.as_str(),
        }
    }

    /// Whether it is a lint.
    pub fn lint(self) -> Option<LintId> {
        match self {
            FindingKind::Lint(id) => Some(id),
            _ => None,
        }
    }
}

/// One finding about a principal, and an endpoint unless it is [`FindingKind::UnusedScopes`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Its kind.
    pub kind: FindingKind,
    /// The endpoint's index, for the kinds about one cell.
    pub endpoint: Option<usize>,
    /// The principal's index.
    pub principal: usize,
    /// The alternative of the endpoint's `scopes:` the finding is about: the one
    /// held (denied), the one closest to held (reached).
    pub required: Option<Vec<String>>,
    /// Every alternative of the endpoint's `scopes:`.
    pub required_any: Vec<Vec<String>>,
    /// The principal's `scopes:`, as declared.
    pub held: Vec<String>,
    /// The cell's status.
    pub status: Option<u16>,
    /// What it likely means, quoting the server where it said something.
    pub hint: String,
    /// For unused scopes: the held scopes that could be dropped.
    pub unused: Vec<String>,
    /// For unused scopes: the smallest held set that still covers every reached endpoint.
    pub suggested: Vec<String>,
    /// For lints: every cell that makes the shape, both sides of it.
    pub witnesses: Vec<Witness>,
    /// For lints: why an endpoint among the witnesses allows it (`allow_lints:`).
    pub accepted: Option<String>,
}

/// A cell that makes a lint's shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Witness {
    /// The endpoint's index.
    pub endpoint: usize,
    /// The principal's index.
    pub principal: usize,
    /// What it got (the decision's status).
    pub status: u16,
}

impl Witness {
    /// `GET /a × alice → 403`.
    pub fn text(&self, suite: &Suite) -> String {
        format!(
            "{} × {} → {}",
            suite.endpoints[self.endpoint].name, suite.principals[self.principal].name, self.status
        )
    }
}

impl Finding {
    /// The finding on one line, without the hint: its line in the snapshot.
    pub fn line(&self, suite: &Suite) -> String {
        let principal = &suite.principals[self.principal].name;
        let held = list(&self.held);
        match (self.kind, self.endpoint) {
            (FindingKind::Lint(id), _) => {
                let witnesses: Vec<String> = self.witnesses.iter().map(|w| w.text(suite)).collect();
                let mut line = format!("{}: {}", id.as_str(), witnesses.join("; "));
                if let Some(reason) = &self.accepted {
                    line.push_str(&format!(" (accepted: {})", one_line(reason)));
                }
                line
            }
            (FindingKind::UnusedScopes, _) | (_, None) => format!(
                "{}: {principal} holds {held}; drop {}, keep {}",
                self.kind.as_str(),
                list(&self.unused),
                list(&self.suggested)
            ),
            (FindingKind::ReachedButIgnored, Some(e)) => format!(
                "{}: {} × {principal} → {} (trace none)",
                FindingKind::ReachedButIgnored.as_str(),
                suite.endpoints[e].name,
                self.status.map_or("?".into(), |s| s.to_string()),
            ),
            (kind, Some(e)) => format!(
                "{}: {} × {principal} → {} (holds {held}; requires {})",
                kind.as_str(),
                suite.endpoints[e].name,
                self.status.map_or("?".into(), |s| s.to_string()),
                self.required.as_deref().map_or("(none)".into(), list),
            ),
        }
    }
}

/// Scopes as `A, B`, or `(none)`.
pub fn list(scopes: &[String]) -> String {
    if scopes.is_empty() {
        "(none)".into()
    } else {
        scopes.join(", ")
    }
}

/// A reason as one line holds it.
fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}
