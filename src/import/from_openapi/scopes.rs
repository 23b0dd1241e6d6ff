//! The scopes an operation requires, for its endpoint's `scopes:`: the scopes
//! of its OAuth 2 / OpenID Connect security requirements and of its vendor
//! extensions (Jira's Connect scope and OAuth 2 scope sets), each one alternative.

use crate::import::yaml_out::{Entry, Yaml};
use crate::openapi::{CONNECT_SCOPE, Operation, SecurityScheme};

/// The alternatives of `operation`'s required scopes, in document order, or
/// `None` when nothing documents any. A requirement of schemes that take no
/// scopes (Basic, an API key) or `{}` says nothing about scopes and is left out;
/// an OAuth 2 requirement with an empty list means no scope is needed, when it
/// is the only alternative.
pub(super) fn required(
    operation: &Operation,
    schemes: &[SecurityScheme],
) -> Option<Vec<Vec<String>>> {
    let scoped = |name: &str| schemes.iter().any(|s| s.name == name && s.scoped);
    let mut alternatives: Vec<Vec<String>> = Vec::new();
    let mut add = |scopes: Vec<String>| {
        if !alternatives.contains(&scopes) {
            alternatives.push(scopes);
        }
    };
    for vendor in operation
        .vendor_scopes
        .iter()
        .filter(|v| v.extension == CONNECT_SCOPE)
    {
        add(vendor.scopes.clone());
    }
    for requirement in operation.security.iter().flatten() {
        let speaks_of_scopes = requirement
            .0
            .iter()
            .any(|(scheme, scopes)| scoped(scheme) || !scopes.is_empty());
        if speaks_of_scopes {
            let mut scopes: Vec<String> = Vec::new();
            for scope in requirement.0.iter().flat_map(|(_, scopes)| scopes) {
                if !scopes.contains(scope)
                    && !scope.is_empty()
                    && !scope.contains(char::is_whitespace)
                {
                    scopes.push(scope.clone());
                }
            }
            add(scopes);
        }
    }
    for vendor in operation
        .vendor_scopes
        .iter()
        .filter(|v| v.extension != CONNECT_SCOPE)
    {
        add(vendor.scopes.clone());
    }
    // An alternative of no scope is an OAuth token needing none, but a suite's
    // scopes share one namespace: beside a Connect scope (Jira writes both) it
    // would make the endpoint need nothing from anyone. It stands only alone.
    if alternatives.len() > 1 {
        alternatives.retain(|a| !a.is_empty());
    }
    // An alternative holding all of another's scopes and more adds nothing.
    let absorbed: Vec<bool> = alternatives
        .iter()
        .map(|a| {
            alternatives
                .iter()
                .any(|b| b.len() < a.len() && b.iter().all(|s| a.contains(s)))
        })
        .collect();
    let mut absorbed = absorbed.into_iter();
    alternatives.retain(|_| !absorbed.next().unwrap_or(false));
    (!alternatives.is_empty()).then_some(alternatives)
}

/// `scopes:` as written: `[A, B]` for one alternative, `[[A], [B]]` for several.
pub(in crate::import) fn scopes_yaml(alternatives: &[Vec<String>]) -> Yaml {
    let list =
        |scopes: &[String]| Yaml::FlowSeq(scopes.iter().map(|s| Yaml::Str(s.clone())).collect());
    match alternatives {
        [one] => list(one),
        many => Yaml::FlowSeq(many.iter().map(|a| list(a)).collect()),
    }
}

/// Atlassian Connect's scope hierarchy as `scope_implies:`, for documents whose
/// operations carry `x-atlassian-connect-scope`.
pub(super) fn connect_implies() -> Entry {
    let chain = [
        ("ADMIN", "PROJECT_ADMIN"),
        ("PROJECT_ADMIN", "DELETE"),
        ("DELETE", "WRITE"),
        ("WRITE", "READ"),
        ("READ", "NONE"),
    ];
    let mut entry = Entry::new(
        "scope_implies",
        Yaml::FlowMap(
            chain
                .iter()
                .map(|(scope, implied)| {
                    (
                        scope.to_string(),
                        Yaml::FlowSeq(vec![Yaml::Str(implied.to_string())]),
                    )
                })
                .collect(),
        ),
    );
    entry.above = vec![
        "Atlassian Connect's scope hierarchy (developer.atlassian.com/cloud/jira/platform/scopes-for-connect-apps):".into(),
        "each scope implies the next; ACT_AS_USER and ACCESS_EMAIL_ADDRESSES imply nothing.".into(),
    ];
    entry
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openapi::{Requirement, SchemeKind, VendorScopes};

    fn scheme(name: &str, scoped: bool) -> SecurityScheme {
        SecurityScheme {
            name: name.into(),
            kind: SchemeKind::Bearer,
            scoped,
        }
    }

    fn requirement(pairs: &[(&str, &[&str])]) -> Requirement {
        Requirement(
            pairs
                .iter()
                .map(|(s, scopes)| {
                    (
                        s.to_string(),
                        scopes.iter().map(|x| x.to_string()).collect(),
                    )
                })
                .collect(),
        )
    }

    #[test]
    fn alternatives_from_oauth_requirements_and_jira_extensions() {
        let schemes = [scheme("basic", false), scheme("oauth", true)];
        let mut op = crate::openapi::matcher::tests::operation("GET /x");
        op.security = Some(vec![
            requirement(&[("basic", &[])]),
            requirement(&[("oauth", &["read", "write"])]),
            requirement(&[("oauth", &["read"])]),
            requirement(&[]),
        ]);
        assert_eq!(
            required(&op, &schemes),
            Some(vec![vec!["read".to_string()]]),
            "Basic and {{}} say nothing of scopes; read+write is absorbed by read"
        );
        op.vendor_scopes = vec![VendorScopes {
            extension: CONNECT_SCOPE,
            scopes: vec!["ADMIN".into()],
        }];
        op.security = Some(vec![requirement(&[("oauth", &[])])]);
        assert_eq!(
            required(&op, &schemes),
            Some(vec![vec!["ADMIN".to_string()]]),
            "an OAuth requirement of no scope does not stand beside a Connect scope"
        );
        op.vendor_scopes.clear();
        assert_eq!(
            required(&op, &schemes),
            Some(vec![vec![]]),
            "alone, it means none is needed"
        );
        op.security = Some(vec![requirement(&[("basic", &[])])]);
        assert_eq!(required(&op, &schemes), None);
    }
}
