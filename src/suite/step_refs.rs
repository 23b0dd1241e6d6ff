//! What steps capture and who may use it: the captures a template refers
//! to are checked while loading, a cell's missing `${own.…}` found when it
//! runs, and the setup steps one cell needs picked for `explain`.

use std::collections::{BTreeMap, BTreeSet};

use super::model::{Endpoint, Principal};
use super::read::Reader;
use super::steps::{Actor, Step, endpoint_templates};
use super::template::{Captured, OWN, Template};

/// The names each step makes available, as [`Captured`] with empty values:
/// what a template may refer to, for checks made while loading.
pub fn declared(steps: &[Step]) -> Captured {
    let mut captured = Captured::default();
    for step in steps {
        declare(&mut captured, step);
    }
    captured
}

fn declare(captured: &mut Captured, step: &Step) {
    for capture in &step.captures {
        match &step.actor {
            Actor::As(_) => {
                captured.shared.insert(capture.name.clone(), String::new());
            }
            Actor::ForEach(principals) => {
                for principal in principals {
                    captured
                        .by_principal
                        .entry(principal.clone())
                        .or_default()
                        .insert(capture.name.clone(), String::new());
                }
            }
        }
    }
}

/// Checks steps against the suite: principals exist (and none is named
/// `own`), every capture a template refers to is made by an earlier step (a
/// setup step for cells), and no capture shadows a variable.
pub(super) fn check_steps(
    r: &mut Reader<'_>,
    principals: &[Principal],
    vars: &BTreeMap<String, Template>,
    setup: &[Step],
    teardown: &[Step],
    endpoints: &[Endpoint],
) {
    if let Some(own) = principals.iter().find(|p| p.name == OWN) {
        r.diags.error(
            own.pos,
            "a principal cannot be named `own`: `${own.…}` names the current principal's captures",
        );
    }
    let names: Vec<&str> = principals.iter().map(|p| p.name.as_str()).collect();
    let every_capture: BTreeSet<&str> = setup
        .iter()
        .chain(teardown)
        .flat_map(|s| s.captures.iter().map(|c| c.name.as_str()))
        .collect();
    let mut seen = Captured::default();
    for step in setup.iter().chain(teardown) {
        for principal in step.actor.principals() {
            if !names.contains(&principal.as_str()) {
                let help = super::diag::nearest(principal, names.iter().copied())
                    .map(|n| format!("did you mean `{n}`?"))
                    .unwrap_or_else(|| "a step runs as a principal of this suite".into());
                r.diags.error_with_help(
                    step.actor_pos,
                    format!("{} runs as unknown principal `{principal}`", step.title()),
                    help,
                );
            }
        }
        for capture in &step.captures {
            if vars.contains_key(&capture.name) {
                r.diags.error(
                    capture.pos,
                    format!(
                        "capture `{}` has the name of a variable of the suite: rename one of them",
                        capture.name
                    ),
                );
            }
        }
        let own = match &step.actor {
            Actor::ForEach(list) => list.iter().map(String::as_str).collect(),
            Actor::As(one) => vec![one.as_str()],
        };
        for template in step.templates() {
            check_references(
                r,
                template,
                &seen,
                Some(&own),
                &names,
                &every_capture,
                "a later step",
            );
        }
        declare(&mut seen, step);
    }
    let after_setup = declared(setup);
    for endpoint in endpoints {
        for template in endpoint_templates(endpoint) {
            // `${own.x}` in a cell needs `x` for someone: the cells of
            // principals without it are skipped when they run, saying why.
            check_references(
                r,
                template,
                &after_setup,
                None,
                &names,
                &every_capture,
                "a teardown step",
            );
        }
    }
    // A principal's headers and credentials go with each of its requests
    // (after setup), `own` being itself; its vars only where a request uses
    // them, so there, as in a cell, someone holding the capture will do.
    for principal in principals {
        let own = [principal.name.as_str()];
        let always = (principal.headers.iter().map(|(_, t)| t))
            .chain(super::auth_spec::auth_templates(&principal.auth))
            .map(|t| (t, Some(&own[..])));
        for (template, owners) in principal.vars.values().map(|t| (t, None)).chain(always) {
            check_references(
                r,
                template,
                &after_setup,
                owners,
                &names,
                &every_capture,
                "a teardown step",
            );
        }
    }
}

/// Reports each capture `template` refers to that `known` does not hold for
/// every principal in `owners` (those `own.` may name; `None`: any one
/// principal holding it will do).
fn check_references(
    r: &mut Reader<'_>,
    template: &Template,
    known: &Captured,
    owners: Option<&[&str]>,
    principals: &[&str],
    every_capture: &BTreeSet<&str>,
    made_later_by: &str,
) {
    for name in template.names() {
        let problem = match name.split_once('.') {
            None if known.shared.contains_key(name) => continue,
            None if is_per_principal(known, name) => Some((
                format!("`${{{name}}}` is captured by a `for_each` step, once per principal"),
                format!(
                    "write `${{own.{name}}}` (the current principal's) or `${{alice.{name}}}` (a principal's)"
                ),
            )),
            // Not a capture at all: an ordinary variable, checked elsewhere.
            None if !every_capture.contains(name) => continue,
            None => Some(later(name, made_later_by)),
            Some((who, _)) if who != OWN && !principals.contains(&who) => {
                let help = super::diag::nearest(who, principals.iter().copied())
                    .map(|n| format!("did you mean `{n}`?"))
                    .unwrap_or_else(|| {
                        "`${principal.capture}` names a principal of this suite, or `own`".into()
                    });
                Some((
                    format!("`${{{name}}}` names unknown principal `{who}`"),
                    help,
                ))
            }
            Some((_, capture)) if !every_capture.contains(capture) => {
                let help = match super::diag::nearest(capture, every_capture.iter().copied()) {
                    Some(n) => format!("did you mean `{n}`?"),
                    None => "captures are declared under a step's `capture:`".into(),
                };
                Some((format!("`${{{name}}}`: no step captures `{capture}`"), help))
            }
            Some((_, capture)) if known.shared.contains_key(capture) => Some((
                format!(
                    "`${{{name}}}`: `{capture}` is captured by an `as:` step, once for the run"
                ),
                format!("write `${{{capture}}}`"),
            )),
            Some((_, capture)) if !is_known_anywhere(known, capture) => {
                Some(later(name, made_later_by))
            }
            Some((who, capture)) => {
                let whom: Vec<&str> = match (who, owners) {
                    (OWN, Some(owners)) => owners.to_vec(),
                    (OWN, None) => Vec::new(),
                    (who, _) => vec![who],
                };
                let missing: Vec<String> = whom
                    .iter()
                    .filter(|p| known.get(&format!("{p}.{capture}"), None).is_none())
                    .map(|p| format!("`{p}`"))
                    .collect();
                (!missing.is_empty()).then(|| {
                    (
                        format!("`${{{name}}}`: no step captures `{capture}` for {}", missing.join(", ")),
                        "a `for_each:` step captures for the principals it lists: add them, or name one that has it (`${alice.…}`)".to_string(),
                    )
                })
            }
        };
        if let Some((message, help)) = problem {
            r.diags.error_with_help(template.pos, message, help);
        }
    }
}

fn later(name: &str, made_later_by: &str) -> (String, String) {
    (
        format!("`${{{name}}}` is captured only by {made_later_by}"),
        "a step can use what earlier steps captured; cells what setup captured".to_string(),
    )
}

fn is_per_principal(known: &Captured, capture: &str) -> bool {
    known.by_principal.values().any(|c| c.contains_key(capture))
}

fn is_known_anywhere(known: &Captured, capture: &str) -> bool {
    known.shared.contains_key(capture) || is_per_principal(known, capture)
}

/// Which setup steps are needed by what renders `uses` (the templates of
/// the cells' requests and their principals' vars, headers and credentials),
/// by position: those that capture a value it uses (and, in turn, those
/// steps' own needs), and those that capture nothing (they exist for what
/// they change).
pub fn needed_by<'t>(setup: &[Step], uses: impl IntoIterator<Item = &'t Template>) -> Vec<bool> {
    let capture_of = |name: &str| match name.split_once('.') {
        Some((_, capture)) => capture.to_string(),
        None => name.to_string(),
    };
    let mut wanted: BTreeSet<String> = uses
        .into_iter()
        .flat_map(|t| t.names())
        .map(capture_of)
        .collect();
    let mut needed = vec![false; setup.len()];
    for (i, step) in setup.iter().enumerate().rev() {
        let used =
            step.captures.is_empty() || step.captures.iter().any(|c| wanted.contains(&c.name));
        if used {
            needed[i] = true;
            wanted.extend(
                step.templates()
                    .iter()
                    .flat_map(|t| t.names())
                    .map(capture_of),
            );
        }
    }
    needed
}
