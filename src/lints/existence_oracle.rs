//! `existence_oracle`: among endpoints of one template (one method, paths
//! that differ in one id-like segment), a principal that gets 403 for the
//! objects someone reached and 404 for the ones nobody did can tell which
//! objects exist; the reverse (404 where someone reached, 403 where nobody
//! did) is as telling, and reported with its own hint.

use std::collections::HashMap;

use super::{Observed, Shape, method_of, path_of};

pub(super) fn find(observed: &Observed<'_>) -> Vec<Shape> {
    let suite = observed.suite;
    // Who reached each endpoint first, if anyone did.
    let reacher: Vec<Option<usize>> = observed
        .endpoints()
        .map(|e| observed.principals().find(|&p| observed.reached(e, p)))
        .collect();
    let mut shapes: Vec<Shape> = Vec::new();
    // An endpoint with two id-like segments is in two templates: one shape once.
    let mut found: std::collections::HashSet<Vec<crate::finding::Witness>> = Default::default();
    for group in templates(observed) {
        for p in observed.principals() {
            let with = |status: u16, reached: bool| -> Vec<usize> {
                group
                    .iter()
                    .copied()
                    .filter(|&e| observed.status(e, p) == Some(status))
                    .filter(|&e| reacher[e].is_some() == reached)
                    .collect()
            };
            let cases = [
                (
                    with(403, true),
                    with(404, false),
                    "gets 403 for objects another principal could read and 404 for the ones nobody could: the status tells which objects exist; answer both with 404",
                ),
                (
                    with(404, true),
                    with(403, false),
                    "gets 404 for objects another principal could read and 403 for ones nobody could: the statuses are inconsistent and still tell the two apart; answer both alike",
                ),
            ];
            for (seen, unseen, what) in cases {
                if seen.is_empty() || unseen.is_empty() {
                    continue;
                }
                let mut witnesses = Vec::new();
                for &e in seen.iter().chain(&unseen) {
                    witnesses.extend(observed.witness(e, p));
                }
                for &e in &seen {
                    if let Some(q) = reacher[e] {
                        witnesses.extend(observed.witness(e, q));
                    }
                }
                let template = path_of(suite, group[0]);
                let shape = Shape::new(
                    witnesses,
                    format!(
                        "on {} {template}…, {} {what}",
                        method_of(suite, group[0]),
                        observed.name(p)
                    ),
                );
                if found.insert(shape.witnesses.clone()) {
                    shapes.push(shape);
                }
            }
        }
    }
    shapes
}

/// Endpoints of one template: one method, paths that differ in exactly one
/// segment, id-like in each of them; groups of two or more.
fn templates(observed: &Observed<'_>) -> Vec<Vec<usize>> {
    let suite = observed.suite;
    let mut groups: HashMap<(String, usize, String), Vec<usize>> = HashMap::new();
    for e in observed.rest_endpoints() {
        let segments: Vec<&str> = path_of(suite, e).split('/').collect();
        for (i, segment) in segments.iter().enumerate() {
            if !id_like(segment) {
                continue;
            }
            let mut rest = segments.clone();
            rest[i] = "";
            let key = (method_of(suite, e).to_string(), i, rest.join("/"));
            groups.entry(key).or_default().push(e);
        }
    }
    // Objects, not endpoints: two endpoints with the same id (one path with
    // two queries) are one object, the first of them kept.
    let mut groups: Vec<Vec<usize>> = groups
        .into_iter()
        .map(|((_, i, _), members)| {
            let mut ids = std::collections::HashSet::new();
            members
                .into_iter()
                .filter(|&e| {
                    let id = path_of(suite, e).split('/').nth(i).unwrap_or_default();
                    ids.insert(id)
                })
                .collect::<Vec<usize>>()
        })
        .filter(|g| g.len() > 1)
        .collect();
    groups.sort();
    groups
}

/// An identifier in a path: digits, a UUID, a hex string of 8 or more
/// characters, or a value interpolated from a variable.
pub(crate) fn id_like(segment: &str) -> bool {
    let hex = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit());
    let uuid = {
        let parts: Vec<&str> = segment.split('-').collect();
        parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12]) && parts.iter().all(|p| hex(p))
    };
    (!segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()))
        || uuid
        || (segment.len() >= 8 && hex(segment))
        || segment.contains("${")
}

#[cfg(test)]
mod tests {
    use super::id_like;

    #[test]
    fn what_looks_like_an_id() {
        for id in [
            "42",
            "0",
            "123e4567-e89b-12d3-a456-426614174000",
            "deadbeef",
            "5b10a2844c20165700ede21g".trim_end_matches('g'),
            "${issue_key}",
            "TEST-${n}",
        ] {
            assert!(id_like(id), "{id}");
        }
        for word in ["", "issue", "api", "v2", "cafe", "TEST-1", "abcdefg1"] {
            assert!(!id_like(word), "{word}");
        }
    }
}
