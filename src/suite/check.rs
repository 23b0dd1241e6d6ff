//! Checks across a whole suite: `expect` keys, expectation resolution and
//! completeness, canaries, and that every `${NAME}` resolves.

use std::collections::{BTreeMap, BTreeSet};

use super::auth_spec::auth_templates;
use super::compare::{BodyFact, resolve_body};
use super::definition::Suite;
use super::diag::nearest;
use super::expect::{self, ExpectEntry, ResolveError, WILDCARD};
use super::model::*;
use super::options::LoadOptions;
use super::read::Reader;
use super::steps::endpoint_templates;
use super::template::{Captured, Scope, Template, unresolved_help};
use super::yaml::Pos;

/// Every `expect` key names a principal, a group or `*`; a principal dropped
/// for its own error (`dropped`) was reported already.
pub(super) fn check_expect_keys(
    r: &mut Reader<'_>,
    suite: &Suite,
    defaults: &[ExpectEntry],
    endpoints: &[Endpoint],
    dropped: &[String],
) {
    let known: Vec<&str> = suite
        .principals
        .iter()
        .map(|p| p.name.as_str())
        .chain(dropped.iter().map(String::as_str))
        .chain(suite.groups.iter().map(|g| g.name.as_str()))
        .chain([WILDCARD])
        .collect();
    for entry in defaults
        .iter()
        .chain(endpoints.iter().flat_map(|e| &e.expect))
    {
        if known.contains(&entry.key.as_str()) {
            continue;
        }
        let help = match nearest(&entry.key, known.iter().copied()) {
            Some(near) => format!("did you mean `{near}`?"),
            None => "keys of `expect` are principals, groups or \"*\"".to_string(),
        };
        r.diags.error_with_help(
            entry.pos,
            format!("`expect` names unknown principal or group `{}`", entry.key),
            help,
        );
    }
}

pub(super) fn resolve_expectations(
    r: &mut Reader<'_>,
    suite: &Suite,
    defaults: &[ExpectEntry],
    endpoints: &mut [Endpoint],
    at: Pos,
) {
    let mut missing = Vec::new();
    for endpoint in endpoints.iter_mut() {
        for principal in &suite.principals {
            let groups = suite.groups_of(&principal.name);
            match expect::resolve(&endpoint.expect, defaults, &principal.name, &groups) {
                Ok((expectation, source)) => {
                    endpoint.resolved.push(expectation);
                    endpoint.resolved_from.push(source);
                }
                Err(ResolveError::Missing) => {
                    missing.push(format!("`{}` × `{}`", endpoint.name, principal.name))
                }
                Err(ResolveError::Conflict { groups }) => {
                    let listed: Vec<String> =
                        groups.iter().map(|(g, v)| format!("`{g}`: {v}")).collect();
                    r.diags.error_with_help(
                        endpoint.pos,
                        format!(
                            "conflicting expectations for principal `{}` in endpoint `{}` through its groups ({})",
                            principal.name,
                            endpoint.name,
                            listed.join(", ")
                        ),
                        format!("name `{}` in this endpoint's expect", principal.name),
                    );
                }
            }
        }
    }
    if !missing.is_empty() {
        r.diags.error_with_help(
            at,
            format!("{} cell(s) have no expectation:\n    {}", missing.len(), missing.join("\n    ")),
            "name the principal, one of its groups or \"*\" in the endpoint's expect or in defaults.expect",
        );
    }
}

pub(super) fn check_canaries(r: &mut Reader<'_>, suite: &Suite) {
    for principal in &suite.principals {
        let Some(canary) = &principal.canary else {
            continue;
        };
        if !suite.endpoints.iter().any(|e| &e.name == canary) {
            let help = nearest(canary, suite.endpoints.iter().map(|e| e.name.as_str()))
                .map(|n| format!("did you mean `{n}`?"))
                .unwrap_or_else(|| "a canary names an endpoint of this suite".into());
            r.diags.error_with_help(
                principal.pos,
                format!(
                    "canary `{canary}` of principal `{}` is not an endpoint",
                    principal.name
                ),
                help,
            );
        }
    }
}

/// `compare.with` and the keys of `expect_body` name principals (or groups,
/// or `*`), and each principal's body fact resolves without conflict.
pub(super) fn resolve_body_expectations(
    r: &mut Reader<'_>,
    suite: &Suite,
    endpoints: &mut [Endpoint],
) {
    let principals: Vec<&str> = suite.principals.iter().map(|p| p.name.as_str()).collect();
    let keys: Vec<&str> = principals
        .iter()
        .copied()
        .chain(suite.groups.iter().map(|g| g.name.as_str()))
        .chain([WILDCARD])
        .collect();
    for endpoint in endpoints.iter_mut() {
        let Some(compare) = &endpoint.compare else {
            continue;
        };
        if !principals.contains(&compare.with.as_str()) {
            let help = nearest(&compare.with, principals.iter().copied())
                .map(|n| format!("did you mean `{n}`?"))
                .unwrap_or_else(|| "`compare.with` names a principal of this suite".into());
            r.diags.error_with_help(
                compare.pos,
                format!("`compare` names unknown principal `{}`", compare.with),
                help,
            );
        }
        let entries = endpoint.expect_body.iter().map(|e| (e.key.as_str(), e.pos));
        expect::check_entry_keys(r, "expect_body", entries, &keys);
        for principal in &suite.principals {
            let groups = suite.groups_of(&principal.name);
            let fact = match resolve_body(&endpoint.expect_body, &principal.name, &groups) {
                Ok(fact) => fact,
                Err(conflict) => {
                    let listed: Vec<String> = conflict
                        .iter()
                        .map(|(g, fact)| format!("`{g}`: {}", fact.as_str()))
                        .collect();
                    r.diags.error_with_help(
                        endpoint.pos,
                        format!(
                            "conflicting body expectations for principal `{}` in endpoint `{}` through its groups ({})",
                            principal.name,
                            endpoint.name,
                            listed.join(", ")
                        ),
                        format!("name `{}` in this endpoint's expect_body", principal.name),
                    );
                    None
                }
            };
            if principal.name == compare.with && fact == Some(BodyFact::Differs) {
                r.diags.error_with_help(
                    endpoint.pos,
                    format!(
                        "`expect_body` asks `{}`'s body to differ from its own: the cell can never pass",
                        principal.name
                    ),
                    format!("give `{}` `same` (or leave it out)", principal.name),
                );
            }
            endpoint.resolved_body.push(fact);
        }
    }
}

/// Every capture name for every principal: capture references are checked by
/// [`super::step_refs::check_steps`], not as variables.
fn every_capture(suite: &Suite) -> Captured {
    let names: BTreeMap<String, String> = (suite.setup.iter().chain(&suite.teardown))
        .flat_map(|s| &s.captures)
        .map(|c| (c.name.clone(), String::new()))
        .collect();
    Captured {
        by_principal: suite
            .principals
            .iter()
            .map(|p| (p.name.clone(), names.clone()))
            .collect(),
        shared: names,
    }
}

/// Every `${NAME}` must resolve for every principal that will render it.
pub(super) fn check_variables(r: &mut Reader<'_>, suite: &Suite, options: &LoadOptions) {
    // (position, variable) -> principals lacking it; an empty set means "the suite itself".
    let mut unresolved: BTreeMap<(Pos, String), BTreeSet<String>> = BTreeMap::new();
    let captured = every_capture(suite);
    let suite_scope = suite.scope(&options.cli_vars, &options.env, None);
    let mut note = |template: &Template, scope: &Scope<'_>, principal: Option<&str>| {
        // `${alice.note_id}` is a capture, checked with the steps.
        for name in template
            .unresolved(scope)
            .into_iter()
            .filter(|n| !n.contains('.'))
        {
            let entry = unresolved.entry((template.pos, name)).or_default();
            entry.extend(principal.map(str::to_string));
        }
    };
    if let Some(base_url) = &suite.target.base_url {
        note(base_url, &suite_scope, None);
    }
    for principal in &suite.principals {
        // Credentials are set up after setup: they may use its captures too.
        let scope = suite_scope
            .for_principal(&principal.vars)
            .with_captured(&captured, Some(&principal.name));
        let own = auth_templates(&principal.auth)
            .into_iter()
            .chain(principal.headers.iter().map(|(_, t)| t));
        for template in own {
            note(template, &scope, Some(&principal.name));
        }
        let steps = (suite.setup.iter().chain(&suite.teardown))
            .filter(|step| step.actor.principals().contains(&principal.name))
            .flat_map(|step| step.templates());
        for template in suite
            .endpoints
            .iter()
            .flat_map(endpoint_templates)
            .chain(steps)
        {
            note(template, &scope, Some(&principal.name));
        }
    }
    let total = suite.principals.len();
    for ((pos, name), principals) in unresolved {
        let whom = if principals.is_empty() || principals.len() == total {
            String::new()
        } else {
            format!(
                " for principal {}",
                principals
                    .iter()
                    .map(|p| format!("`{p}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        r.diags.error_with_help(
            pos,
            format!("unresolved variable `${{{name}}}`{whom}"),
            unresolved_help(&name),
        );
    }
}

/// A `base_url` that resolves now (a literal or from variables) must be a valid
/// one, reported at its location rather than when the run starts.
pub(super) fn check_base_url(r: &mut Reader<'_>, suite: &Suite, options: &LoadOptions) {
    let Some(template) = &suite.target.base_url else {
        return;
    };
    if template.mentions(super::template::BASE_URL) {
        r.diags.error(
            template.pos,
            "base_url cannot refer to `${BASE_URL}`: it defines it",
        );
        return;
    }
    let scope = suite.scope(&options.cli_vars, &options.env, None);
    if let Ok(text) = template.render(&scope)
        && !text.trim().is_empty()
        && let Err(problem) = super::base_url::parse_base_url(&text)
    {
        r.diags.error(template.pos, format!("base_url: {problem}"));
    }
}
