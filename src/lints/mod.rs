//! Lints: findings that need no expectation, computed once after a run from
//! the observed matrix (each principal's decided status on each endpoint).
//! Each lint is one file with one function over [`Observed`]; a finding lists
//! its witness cells, both sides of the shape, and is accepted when an
//! endpoint among them allows its id (`allow_lints:`).

mod anonymous_over_authenticated;
mod anonymous_write;
mod delete_without_update;
mod existence_oracle;
mod privilege_inversion;
mod undocumented_reachable;
mod valid_credentials_rejected;
mod write_without_read;

use std::collections::HashMap;

use crate::finding::{Finding, FindingKind, Witness};
use crate::openapi::Spec;
use crate::outcome::{CellOutcome, CellResult, Decided};
use crate::suite::lints::{LintChoice, LintId};
use crate::suite::{AuthSpec, Suite};

/// Who a principal is, as the lints compare principals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Caller {
    /// `auth: none`.
    Anonymous,
    /// Any other auth mode.
    Authenticated,
    /// A tamper probe: broken credentials, left out of every lint.
    Probe,
}

/// A suite's observed matrix as the lints read it: each cell's decided
/// status (`None`: not sent, no answer, or a decision that is no status).
pub struct Observed<'a> {
    /// The suite.
    pub suite: &'a Suite,
    width: usize,
    cells: Vec<Option<u16>>,
    callers: Vec<Caller>,
}

impl<'a> Observed<'a> {
    /// Suite `s`'s cells among `outcomes` (of every suite).
    pub fn of(suite: &'a Suite, s: usize, outcomes: &[CellOutcome]) -> Observed<'a> {
        let width = suite.principals.len();
        let mut cells = vec![None; suite.endpoints.len() * width];
        for outcome in outcomes.iter().filter(|o| o.id.suite == s) {
            if let CellResult::Responded(o) = &outcome.result
                && let Decided::Status(status) = o.decided()
                && let Some(slot) =
                    cells.get_mut(outcome.id.endpoint * width + outcome.id.principal)
            {
                *slot = Some(status);
            }
        }
        Observed::from_statuses(suite, cells)
    }

    /// A matrix of statuses, by `endpoint * principals + principal`.
    pub fn from_statuses(suite: &'a Suite, cells: Vec<Option<u16>>) -> Observed<'a> {
        let callers = suite
            .principals
            .iter()
            .map(|p| match (&p.probe, &p.auth) {
                (Some(_), _) => Caller::Probe,
                (None, AuthSpec::None) => Caller::Anonymous,
                (None, _) => Caller::Authenticated,
            })
            .collect();
        Observed {
            suite,
            width: suite.principals.len(),
            cells,
            callers,
        }
    }

    /// The status principal `p` got from endpoint `e`.
    pub(crate) fn status(&self, e: usize, p: usize) -> Option<u16> {
        self.cells.get(e * self.width + p).copied().flatten()
    }

    /// Whether `p` reached `e` (2xx).
    pub(crate) fn reached(&self, e: usize, p: usize) -> bool {
        self.status(e, p).is_some_and(|s| (200..300).contains(&s))
    }

    /// Whether `p` was denied `e` (401 or 403).
    pub(crate) fn denied(&self, e: usize, p: usize) -> bool {
        matches!(self.status(e, p), Some(401 | 403))
    }

    /// What principal `p` is.
    pub(crate) fn caller(&self, p: usize) -> Caller {
        self.callers[p]
    }

    /// The principals the lints compare (not tamper probes), in order.
    pub(crate) fn principals(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.width).filter(|&p| self.callers[p] != Caller::Probe)
    }

    /// The endpoints, in order.
    pub(crate) fn endpoints(&self) -> std::ops::Range<usize> {
        0..self.suite.endpoints.len()
    }

    /// The endpoints whose path and method say what they do (not GraphQL), in order.
    pub(crate) fn rest_endpoints(&self) -> impl Iterator<Item = usize> + '_ {
        self.endpoints()
            .filter(|&e| self.suite.endpoints[e].graphql.is_none())
    }

    /// Cell `(e, p)` as a witness, when it has a status.
    pub(crate) fn witness(&self, e: usize, p: usize) -> Option<Witness> {
        self.status(e, p).map(|status| Witness {
            endpoint: e,
            principal: p,
            status,
        })
    }

    /// The name of principal `p`.
    pub(crate) fn name(&self, p: usize) -> &str {
        &self.suite.principals[p].name
    }

    /// The name of endpoint `e`.
    pub(crate) fn endpoint_name(&self, e: usize) -> &str {
        &self.suite.endpoints[e].name
    }
}

/// What the lints are given besides the matrix.
#[derive(Clone, Copy, Default)]
pub struct LintInputs<'a> {
    /// Which lints run (the suite's `lints:`, or `--lints`).
    pub choice: Option<&'a LintChoice>,
    /// The API document endpoints are checked against (`--openapi`, `openapi:`).
    pub spec: Option<&'a Spec>,
    /// `--openapi-map`: request path prefixes matched as others (`/rest/api/2=/rest/api/3`).
    pub maps: &'a [crate::openapi::matcher::PathMap],
}

impl<'a> LintInputs<'a> {
    /// What a suite's own keys give (its `lints:` and `openapi:`), with no
    /// command line over them: the harness and `explain`.
    pub fn of_suite(suite: &'a Suite) -> LintInputs<'a> {
        LintInputs {
            choice: None,
            spec: suite
                .lint_settings
                .openapi
                .as_ref()
                .map(|(_, spec)| &**spec),
            maps: &[],
        }
    }

    /// Whether lint `id` is computed for `suite`: chosen, and for
    /// `undocumented_reachable`, with a document to check against.
    pub fn computes(&self, suite: &Suite, id: LintId) -> bool {
        let choice = self.choice.unwrap_or(&suite.lint_settings.choice);
        choice.runs(id) && (id != LintId::UndocumentedReachable || self.spec.is_some())
    }
}

/// Every finding of the chosen lints over `observed`, each accepted when an
/// endpoint among its witnesses allows it; in lint order, then in the order
/// each lint walks the matrix (endpoints, then principals).
pub fn run(observed: &Observed<'_>, inputs: LintInputs<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for id in LintId::ALL
        .into_iter()
        .filter(|id| inputs.computes(observed.suite, *id))
    {
        let found: Vec<Shape> = match id {
            LintId::ExistenceOracle => existence_oracle::find(observed),
            LintId::ValidCredentialsRejected => valid_credentials_rejected::find(observed),
            LintId::WriteWithoutRead => write_without_read::find(observed),
            LintId::DeleteWithoutUpdate => delete_without_update::find(observed),
            LintId::AnonymousOverAuthenticated => anonymous_over_authenticated::find(observed),
            LintId::AnonymousWrite => anonymous_write::find(observed),
            LintId::UndocumentedReachable => match inputs.spec {
                Some(spec) => undocumented_reachable::find(observed, spec, inputs.maps),
                None => Vec::new(),
            },
            LintId::PrivilegeInversion => privilege_inversion::find(observed),
        };
        // Each lint finds its shapes in suite order: no sort is needed for a
        // stable report (the snapshot sorts its lines).
        findings.extend(
            found
                .into_iter()
                .map(|shape| finding(observed.suite, id, shape)),
        );
    }
    findings
}

/// One lint's shape: its witness cells and what it means.
pub(crate) struct Shape {
    /// Every cell that makes it, both sides, the one it is about first.
    pub(crate) witnesses: Vec<Witness>,
    /// What it likely means here.
    pub(crate) hint: String,
}

impl Shape {
    /// A shape of `witnesses`, the cell it is about first (its line in
    /// annotations), each cell once.
    pub(crate) fn new(mut witnesses: Vec<Witness>, hint: String) -> Shape {
        // A shape may hold thousands of cells (every object of a template).
        let mut seen = std::collections::HashSet::with_capacity(witnesses.len());
        witnesses.retain(|w| seen.insert(*w));
        Shape { witnesses, hint }
    }
}

fn finding(suite: &Suite, id: LintId, shape: Shape) -> Finding {
    let first = shape.witnesses.first().copied();
    let accepted = shape.witnesses.iter().find_map(|w| {
        suite.endpoints[w.endpoint]
            .allow_lints
            .iter()
            .find(|(allowed, _)| *allowed == id)
            .map(|(_, reason)| reason.clone())
    });
    Finding {
        kind: FindingKind::Lint(id),
        endpoint: first.map(|w| w.endpoint),
        principal: first.map_or(0, |w| w.principal),
        required: None,
        required_any: Vec::new(),
        held: Vec::new(),
        status: first.map(|w| w.status),
        hint: shape.hint,
        unused: Vec::new(),
        suggested: Vec::new(),
        witnesses: shape.witnesses,
        accepted,
    }
}

/// The path of an endpoint's request line, without its query.
pub(crate) fn path_of(suite: &Suite, e: usize) -> &str {
    let raw = suite.endpoints[e].request.target.raw.as_str();
    raw.split_once('?').map_or(raw, |(path, _)| path)
}

/// The endpoints of `observed` by path (query left out), for the lints that
/// compare methods on one path; paths in first-seen order. GraphQL endpoints
/// are left out: one path serves every operation, whatever the method.
pub(crate) fn by_path<'o>(observed: &'o Observed<'_>) -> Vec<(&'o str, Vec<usize>)> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut paths: Vec<(&str, Vec<usize>)> = Vec::new();
    for e in observed.rest_endpoints() {
        let path = path_of(observed.suite, e);
        let slot = *index.entry(path).or_insert_with(|| {
            paths.push((path, Vec::new()));
            paths.len() - 1
        });
        paths[slot].1.push(e);
    }
    paths
}

/// On each path, each principal denied an endpoint whose method is among
/// `refused` but that reached one whose method is among `allowed`: a shape
/// of both, its hint from `hint(principal, path, the methods it reached)`.
pub(crate) fn on_one_path(
    observed: &Observed<'_>,
    refused: &[&str],
    allowed: &[&str],
    hint: impl Fn(&str, &str, &[&str]) -> String,
) -> Vec<Shape> {
    let suite = observed.suite;
    let mut shapes = Vec::new();
    for (path, endpoints) in by_path(observed) {
        let with = |methods: &[&str]| -> Vec<usize> {
            endpoints
                .iter()
                .copied()
                .filter(|&e| methods.contains(&method_of(suite, e)))
                .collect()
        };
        let (first, then) = (with(refused), with(allowed));
        if first.is_empty() || then.is_empty() {
            continue;
        }
        for p in observed.principals() {
            let denied: Vec<usize> = first
                .iter()
                .copied()
                .filter(|&e| observed.denied(e, p))
                .collect();
            let reached: Vec<usize> = then
                .iter()
                .copied()
                .filter(|&e| observed.reached(e, p))
                .collect();
            if denied.is_empty() || reached.is_empty() {
                continue;
            }
            let witnesses = denied
                .iter()
                .chain(&reached)
                .filter_map(|&e| observed.witness(e, p))
                .collect();
            let methods: Vec<&str> = reached.iter().map(|&e| method_of(suite, e)).collect();
            shapes.push(Shape::new(
                witnesses,
                hint(observed.name(p), path, &methods),
            ));
        }
    }
    shapes
}

/// The method of endpoint `e`.
pub(crate) fn method_of(suite: &Suite, e: usize) -> &str {
    suite.endpoints[e].request.method.as_str()
}

/// `alice`, `alice and bob`, `alice, bob and carol`.
pub(crate) fn names(list: &[&str]) -> String {
    match list {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}
