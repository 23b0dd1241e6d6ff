//! Least-privilege findings over an observed matrix: a principal denied
//! although it holds the scopes an endpoint requires, one that reached an
//! endpoint without them, and scopes a principal holds but never needed.

use std::collections::BTreeSet;

use super::cover::smallest_cover;
use super::{Seen, closures};
pub use crate::finding::{Finding, FindingKind, list};
use crate::outcome::{CellOutcome, CellResult};
use crate::suite::{Required, Suite};

/// The findings of one suite from a run's outcomes (of every suite; others
/// are ignored): the scope findings, then the writes reached but ignored.
pub fn of_outcomes(suite: &Suite, s: usize, outcomes: &[CellOutcome]) -> Vec<Finding> {
    let mut findings = scope_findings(suite, s, outcomes);
    findings.extend(ignored_writes(suite, s, outcomes));
    findings
}

/// A cell that reached a write (2xx) whose verify request read the same
/// before and after, unless `expect_trace` judged it.
fn ignored_writes<'a>(
    suite: &'a Suite,
    s: usize,
    outcomes: &'a [CellOutcome],
) -> impl Iterator<Item = Finding> + 'a {
    outcomes
        .iter()
        .filter(move |o| o.id.suite == s)
        .filter_map(move |o| {
            let write = o.write.as_deref()?;
            let decided = o.decided()?;
            let unjudged = write.expected.is_none();
            (unjudged && decided.reached() && write.trace == crate::suite::verify::Trace::None)
                .then_some(())?;
            let endpoint = &suite.endpoints[o.id.endpoint];
            let verify = endpoint.writes.as_ref()?.verify.as_ref()?;
            let principal = &suite.principals[o.id.principal].name;
            Some(Finding {
                kind: FindingKind::ReachedButIgnored,
                endpoint: Some(o.id.endpoint),
                principal: o.id.principal,
                required: None,
                required_any: Vec::new(),
                held: suite.principals[o.id.principal].scopes.clone().unwrap_or_default(),
                status: decided.status(),
                hint: format!(
                    "answered {decided}, yet {}'s `{}` read the same before and after: the server accepted the write and ignored it, or the verify request does not read what it changes; if the write must take effect, say so with `expect_trace: {{ {principal}: changed }}`",
                    verify.principal, verify.request.name
                ),
                unused: Vec::new(),
                suggested: Vec::new(),
                witnesses: Vec::new(),
                accepted: None,
            })
        })
}

/// The scope findings of one suite from a run's outcomes.
fn scope_findings(suite: &Suite, s: usize, outcomes: &[CellOutcome]) -> Vec<Finding> {
    let width = suite.principals.len();
    let mut by_cell: Vec<Option<&CellOutcome>> = vec![None; suite.endpoints.len() * width];
    for outcome in outcomes.iter().filter(|o| o.id.suite == s) {
        if let Some(slot) = by_cell.get_mut(outcome.id.endpoint * width + outcome.id.principal) {
            *slot = Some(outcome);
        }
    }
    of_suite(suite, |e, p| {
        match by_cell[e * width + p].map(|o| &o.result) {
            // The decision is what the scopes are judged by; a partial or
            // other answer is neither reached nor denied.
            Some(CellResult::Responded(o)) => Some(Seen {
                status: o.decided().status()?,
                www_authenticate: o.www_authenticate.as_deref(),
                excerpt: &o.excerpt,
                reason: o.overruled().and_then(|d| d.reason.as_deref()),
            }),
            _ => None,
        }
    })
}

/// The findings of one suite, reading each cell through `seen(endpoint,
/// principal)` (`None`: not sent, skipped, or no response). Cell findings come
/// first, in suite order, then one unused-scopes finding per principal.
pub fn of_suite<'a>(
    suite: &Suite,
    seen: impl Fn(usize, usize) -> Option<Seen<'a>>,
) -> Vec<Finding> {
    let closures = closures(suite);
    let mut findings = Vec::new();
    // What each principal needs: requirements it meets at endpoints it reached or
    // that did not answer (a skipped cell may well need its scope).
    let mut needs: Vec<Vec<&Required>> = vec![Vec::new(); suite.principals.len()];
    let mut answered = vec![false; suite.principals.len()];
    for (e, endpoint) in suite.endpoints.iter().enumerate() {
        let Some(required) = &endpoint.scopes else {
            continue;
        };
        for (p, closure) in closures.iter().enumerate() {
            let Some(closure) = closure else {
                continue;
            };
            let cell = seen(e, p);
            answered[p] |= cell.is_some();
            let met = required.met_by(closure);
            if met.is_some() && cell.is_none_or(|c| c.reached()) {
                needs[p].push(required);
            }
            let Some(cell) = cell else {
                continue;
            };
            let finding = |kind, required: Option<&[String]>, hint| Finding {
                kind,
                endpoint: Some(e),
                principal: p,
                required: required.map(<[String]>::to_vec),
                required_any: required_any(endpoint.scopes.as_ref()),
                held: suite.principals[p].scopes.clone().unwrap_or_default(),
                status: Some(cell.status),
                hint,
                unused: Vec::new(),
                suggested: Vec::new(),
                witnesses: Vec::new(),
                accepted: None,
            };
            match met {
                Some(alternative) if cell.denied() => findings.push(finding(
                    FindingKind::DeniedDespiteScopes,
                    Some(alternative),
                    denied_hint(&cell),
                )),
                None if cell.reached() => {
                    let (closest, missing) = closest(required, closure);
                    findings.push(finding(
                        FindingKind::ReachedWithoutScopes,
                        closest,
                        format!(
                            "reached without {}: the API is more open than documented, or this endpoint's `scopes:` is wrong",
                            missing.join(", ")
                        ),
                    ));
                }
                _ => {}
            }
        }
    }
    for (p, principal) in suite.principals.iter().enumerate() {
        let Some(held) = &principal.scopes else {
            continue;
        };
        if !answered[p] || held.is_empty() {
            continue;
        }
        let mut distinct: Vec<&Required> = Vec::new();
        for need in &needs[p] {
            if !distinct.contains(need) {
                distinct.push(need);
            }
        }
        let suggested = smallest_cover(held, &distinct, &suite.scope_rules);
        let unused: Vec<String> = held
            .iter()
            .filter(|s| !suggested.contains(s))
            .cloned()
            .collect();
        if unused.is_empty() {
            continue;
        }
        let hint = if suggested.is_empty() {
            "no endpoint it reached requires a scope it holds: it could hold none (least privilege)"
                .to_string()
        } else {
            format!(
                "every endpoint it reached stays covered by {}: drop {} (least privilege)",
                suggested.join(", "),
                unused.join(", ")
            )
        };
        findings.push(Finding {
            kind: FindingKind::UnusedScopes,
            endpoint: None,
            principal: p,
            required: None,
            required_any: Vec::new(),
            held: held.clone(),
            status: None,
            hint,
            unused,
            suggested,
            witnesses: Vec::new(),
            accepted: None,
        });
    }
    findings
}

fn required_any(required: Option<&Required>) -> Vec<Vec<String>> {
    required.map(|r| r.alternatives.clone()).unwrap_or_default()
}

/// The alternative missing the fewest scopes from `closure`, and those scopes.
fn closest<'r>(
    required: &'r Required,
    closure: &BTreeSet<String>,
) -> (Option<&'r [String]>, Vec<String>) {
    required
        .alternatives
        .iter()
        .map(|alternative| {
            let missing: Vec<String> = alternative
                .iter()
                .filter(|s| !closure.contains(*s))
                .cloned()
                .collect();
            (Some(alternative.as_slice()), missing)
        })
        .min_by_key(|(_, missing)| missing.len())
        .unwrap_or((None, Vec::new()))
}

/// The usual causes of a refusal when the scopes are held, after what the server said.
fn denied_hint(cell: &Seen<'_>) -> String {
    let challenge = cell.www_authenticate.unwrap_or_default();
    let scope_said = challenge.contains("insufficient_scope")
        || cell.excerpt.to_ascii_lowercase().contains("scope")
        || cell
            .reason
            .is_some_and(|r| r.contains(':') || r.contains("scope"));
    let cause = match cell.status {
        401 if scope_said => {
            "the server says the token's scopes do not cover this endpoint: the scopes the token was granted differ from the ones declared here (a token request that asked for fewer, or an app whose scopes changed since it was installed)"
        }
        401 => {
            "the credentials were refused here although the scopes are held: a token whose granted scopes differ from the declared ones, an impersonated user who may not call this endpoint, or an auth mode the endpoint does not accept"
        }
        _ => {
            "a permission missing: the scopes allow the call, but the user (or the impersonated user) lacks the permission it needs, or the endpoint needs a scope its `scopes:` does not document"
        }
    };
    let mut said = Vec::new();
    if let Some(reason) = cell.reason {
        said.push(format!("the answer's reason `{}`", shorten(reason, 120)));
    }
    if !cell.excerpt.is_empty() {
        said.push(format!("body {}", shorten(cell.excerpt, 160)));
    }
    if !challenge.is_empty() {
        said.push(format!("WWW-Authenticate: {}", shorten(challenge, 120)));
    }
    if said.is_empty() {
        format!("{} said nothing more; {cause}", cell.status)
    } else {
        format!("{} with {}; {cause}", cell.status, said.join("; "))
    }
}

fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::{LoadOptions, load_str};

    const SUITE: &str = r#"suite: s
target: { base_url: "http://127.0.0.1:1" }
scope_implies: { admin: [write], write: [read] }
principals:
  reader: { scopes: [read, write], auth: none }
  boss: { scopes: [admin], auth: none }
  plain: { auth: none }
defaults:
  scopes: [read]
endpoints:
  - request: GET /a
    expect: { "*": any }
  - request: POST /b
    scopes: [[write], [admin]]
    expect: { "*": any }
  - request: GET /c
    expect: { "*": any }
"#;

    fn findings(statuses: &[[Option<u16>; 3]; 3]) -> Vec<String> {
        let suite = load_str(
            std::path::Path::new("s.yaml"),
            SUITE,
            &LoadOptions::default(),
        )
        .expect("valid");
        of_suite(&suite, |e, p| {
            statuses[e][p].map(|status| Seen {
                status,
                ..Seen::default()
            })
        })
        .iter()
        .map(|f| f.line(&suite))
        .collect()
    }

    #[test]
    fn each_kind_and_what_counts_as_needed() {
        // reader reaches GET /a and GET /c; POST /b did not answer (skipped),
        // so write stays needed; boss is refused at /c although admin implies read.
        let lines = findings(&[
            [Some(200), Some(200), Some(200)],
            [None, Some(201), Some(403)],
            [Some(200), Some(403), Some(200)],
        ]);
        assert_eq!(
            lines,
            [
                "denied_despite_scopes: GET /c × boss → 403 (holds admin; requires read)",
                "unused_scopes: reader holds read, write; drop read, keep write",
            ],
            "plain declares no scopes and is left out; reader keeps write for the unanswered POST, and write implies read"
        );
        // Now the POST answered 403 to reader: write is no longer needed by anything it reached.
        let lines = findings(&[
            [Some(200), Some(200), Some(200)],
            [Some(403), Some(201), Some(403)],
            [Some(200), Some(200), Some(200)],
        ]);
        assert_eq!(
            lines,
            [
                "denied_despite_scopes: POST /b × reader → 403 (holds read, write; requires write)",
                "unused_scopes: reader holds read, write; drop write, keep read",
            ]
        );
    }

    #[test]
    fn reaching_without_a_scope_needs_nothing() {
        let suite = SUITE.replace("reader: { scopes: [read, write]", "reader: { scopes: []");
        let suite = load_str(
            std::path::Path::new("s.yaml"),
            &suite,
            &LoadOptions::default(),
        )
        .expect("valid");
        let found = of_suite(&suite, |e, p| {
            (p == 0).then_some(Seen {
                status: if e == 1 { 403 } else { 200 },
                ..Seen::default()
            })
        });
        let kinds: Vec<(FindingKind, Option<usize>)> =
            found.iter().map(|f| (f.kind, f.endpoint)).collect();
        assert_eq!(
            kinds,
            [
                (FindingKind::ReachedWithoutScopes, Some(0)),
                (FindingKind::ReachedWithoutScopes, Some(2)),
            ],
            "no unused_scopes for a principal holding nothing; the 403 where it lacks write is no finding"
        );
        assert_eq!(
            found[0].required.as_deref(),
            Some(&["read".to_string()][..])
        );
    }
}
