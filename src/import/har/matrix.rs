//! The recorded statuses as a matrix: each principal's cell of an endpoint is
//! what its requests with the suite's ids got (or with its own ids, which
//! then go in its `vars:`); `any` where it made no such request.

use std::collections::BTreeMap;

use super::endpoints::Built;
use crate::import::compact::Seen;

/// The matrix and the ids each principal used instead of the suite's.
pub(super) struct Matrix {
    /// Endpoint × principal.
    pub(super) rows: Vec<Vec<Seen>>,
    /// For each principal, its `vars:` (variable, recorded id).
    pub(super) overrides: Vec<Vec<(String, String)>>,
    /// Cells written as 200 from a recorded 304 (a cache revalidation).
    pub(super) not_modified: usize,
}

/// The matrix of `built` for the principals whose credentials are `order`
/// (an index into `built.identities` each).
pub(super) fn matrix(built: &Built, order: &[usize]) -> Matrix {
    let suite_values: BTreeMap<&str, &str> = built
        .vars
        .made
        .iter()
        .filter(|(_, _, secret)| !secret)
        .map(|(name, value, _)| (name.as_str(), value.as_str()))
        .collect();
    let overrides: Vec<Vec<(String, String)>> = order
        .iter()
        .map(|&identity| {
            let mut used: Vec<(&str, Vec<&str>)> = Vec::new();
            for request in built.requests.iter().filter(|r| r.identity == identity) {
                for (var, value) in built.slots[request.endpoint].iter().zip(&request.values) {
                    if !suite_values.contains_key(var.as_str()) {
                        continue;
                    }
                    match used.iter_mut().find(|(v, _)| *v == var) {
                        Some((_, values)) => values.push(value),
                        None => used.push((var, vec![value])),
                    }
                }
            }
            used.into_iter()
                .filter(|(var, values)| !values.contains(&suite_values[var]))
                .map(|(var, values)| (var.to_string(), values[0].to_string()))
                .collect()
        })
        .collect();
    let mut not_modified = 0;
    let rows = (0..built.endpoints.len())
        .map(|endpoint| {
            order
                .iter()
                .zip(&overrides)
                .map(|(&identity, own)| {
                    let wanted: Vec<Option<&str>> = built.slots[endpoint]
                        .iter()
                        .map(|var| {
                            own.iter()
                                .find(|(v, _)| v == var)
                                .map(|(_, value)| value.as_str())
                                .or_else(|| suite_values.get(var.as_str()).copied())
                        })
                        .collect();
                    let mine: Vec<_> = built
                        .requests
                        .iter()
                        .filter(|r| r.endpoint == endpoint && r.identity == identity)
                        .collect();
                    let matching: Vec<u16> = mine
                        .iter()
                        .filter(|r| {
                            r.values
                                .iter()
                                .zip(&wanted)
                                .all(|(value, wanted)| wanted.is_none_or(|w| w == value))
                        })
                        .map(|r| r.status)
                        .collect();
                    if let Some(odd) = matching.iter().find(|s| !(100..=599).contains(*s)) {
                        return Seen {
                            value: "any".into(),
                            comment: Some(format!("recorded {odd}, which is no HTTP status")),
                        };
                    }
                    if !matching.is_empty() {
                        not_modified += usize::from(matching.contains(&304));
                        // Other objects answered otherwise (an owner's 200 beside a
                        // stranger's 403): the evidence of object-level access stays in view.
                        let other: Vec<&&super::endpoints::Request> = mine
                            .iter()
                            .filter(|r| !matching.contains(&r.status))
                            .collect();
                        return Seen {
                            value: statuses(&matching),
                            comment: other.first().map(|first| {
                                format!(
                                    "recorded {} with other ids (entry {})",
                                    statuses(&other.iter().map(|r| r.status).collect::<Vec<_>>()),
                                    first.number
                                )
                            }),
                        };
                    }
                    match mine.first() {
                        Some(_) => Seen {
                            value: "any".into(),
                            comment: Some(format!(
                                "recorded {} with other ids (entry {})",
                                statuses(&mine.iter().map(|r| r.status).collect::<Vec<_>>()),
                                mine[0].number
                            )),
                        },
                        None => Seen::plain("any"),
                    }
                })
                .collect()
        })
        .collect();
    Matrix {
        rows,
        overrides,
        not_modified,
    }
}

/// `200`, or `[200, 404]` when the requests got several; a 304 counts as 200.
pub(super) fn statuses(recorded: &[u16]) -> String {
    let mut list: Vec<u16> = recorded
        .iter()
        .map(|&s| if s == 304 { 200 } else { s })
        .collect();
    list.sort_unstable();
    list.dedup();
    match list.as_slice() {
        [one] => one.to_string(),
        many => format!(
            "[{}]",
            many.iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}
