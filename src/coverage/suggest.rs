//! The operation nearest to a request that matches none: segment by segment,
//! so `GET /pet/1` is near `GET /pets/{petId}` (one letter off in one
//! segment, a `{param}` taking the other), not near whatever line has the
//! fewest character edits.

use crate::openapi::matcher::{Matcher, is_variable};
use crate::openapi::path::{RequestPath, Segment};

/// What a different method costs: less than a whole segment.
const METHOD_COST: f64 = 0.5;
/// What a segment too many or too few costs.
const GAP_COST: f64 = 1.0;
/// A suggestion must cost less than this: less than one wholly different segment.
const NEAR: f64 = 1.0;

/// Segments sharing less than this share of their characters are unrelated.
const KIN: f64 = 0.5;

/// How far a request segment is from a template segment: 0 when they meet,
/// the share of characters to edit when they are kin (`pet`, `pets`), else 1.
fn segment_cost(request: &Segment, template: &Segment) -> f64 {
    if request.meets(template) {
        return 0.0;
    }
    if is_version(&request.text) && is_version(&template.text) {
        return VERSION_COST;
    }
    let similar = strsim::normalized_levenshtein(&request.text, &template.text);
    if similar >= KIN { 1.0 - similar } else { 1.0 }
}

/// What another version of the API costs (`/rest/api/2` for `/rest/api/3`, `v1` for `v2`).
const VERSION_COST: f64 = 0.5;

/// A segment naming an API version: `2`, `v3`, `1.0`, `V2`.
fn is_version(text: &str) -> bool {
    let digits = text.strip_prefix(['v', 'V']).unwrap_or(text);
    !digits.is_empty()
        && digits.len() <= 8
        && digits.starts_with(|c: char| c.is_ascii_digit())
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
}

/// The cheapest alignment of two segment lists (an edit distance over
/// segments, each substitution costing [`segment_cost`]).
fn path_cost(request: &[Segment], template: &[Segment]) -> f64 {
    let mut previous: Vec<f64> = (0..=template.len()).map(|j| j as f64 * GAP_COST).collect();
    for (i, r) in request.iter().enumerate() {
        let mut row = vec![(i + 1) as f64 * GAP_COST];
        for (j, t) in template.iter().enumerate() {
            let cost = (previous[j] + segment_cost(r, t))
                .min(previous[j + 1] + GAP_COST)
                .min(row[j] + GAP_COST);
            row.push(cost);
        }
        previous = row;
    }
    previous[template.len()]
}

/// The index of the operation nearest to `method` on `path`, if one is
/// near: the lowest cost over every reading of the path (as written, server
/// prefixes stripped), the same method first, then document order.
pub(crate) fn nearest(matcher: &Matcher, method: &str, path: &RequestPath) -> Option<usize> {
    let segments = matcher.mapped(path);
    let mut attempts = matcher.attempts(&segments);
    attempts.retain(|(rest, _)| !is_variable(rest));
    let mut best: Option<(f64, bool, usize)> = None;
    for (p, pattern) in matcher.patterns.iter().enumerate() {
        let same_method = pattern.method.eq_ignore_ascii_case(method);
        let method_cost = if same_method { 0.0 } else { METHOD_COST };
        let Some(cost) = attempts
            .iter()
            .filter(|(_, prefix)| matcher.serves(p, *prefix))
            .map(|(rest, _)| method_cost + path_cost(rest, &pattern.segments))
            .min_by(f64::total_cmp)
        else {
            continue;
        };
        let better = match best {
            None => true,
            Some((c, same, _)) => cost < c || cost == c && same_method && !same,
        };
        if better {
            best = Some((cost, same_method, p));
        }
    }
    best.filter(|(cost, _, _)| *cost < NEAR).map(|(_, _, p)| p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openapi::Operation;
    use crate::openapi::matcher::tests::operation;

    fn nearest_to(operations: &[&str], line: &str) -> Option<String> {
        let operations: Vec<Operation> = operations.iter().map(|o| operation(o)).collect();
        let matcher = Matcher::new(&operations, &["/v1".into()], &[]);
        let (method, target) = line.split_once(' ').unwrap();
        nearest(&matcher, method, &RequestPath::parse(target))
            .map(|i| format!("{} {}", operations[i].method, operations[i].path))
    }

    const OPS: &[&str] = &[
        "GET /pets",
        "GET /pets/{petId}",
        "DELETE /pets/{petId}",
        "GET /pet-food/{id}",
        "GET /stores/{storeId}/orders",
    ];

    #[test]
    fn segment_aware() {
        assert_eq!(
            nearest_to(OPS, "GET /pet/1").as_deref(),
            Some("GET /pets/{petId}")
        );
        assert_eq!(
            nearest_to(OPS, "GET /v1/pet/1").as_deref(),
            Some("GET /pets/{petId}")
        );
        assert_eq!(
            nearest_to(OPS, "DELETE /pet/1").as_deref(),
            Some("DELETE /pets/{petId}")
        );
        assert_eq!(
            nearest_to(OPS, "PUT /pets/1").as_deref(),
            Some("GET /pets/{petId}")
        );
        assert_eq!(
            nearest_to(OPS, "GET /store/7/orders").as_deref(),
            Some("GET /stores/{storeId}/orders")
        );
    }

    #[test]
    fn another_version_is_near() {
        let ops = [
            "GET /rest/api/3/users",
            "GET /rest/api/3/issue/{key}",
            "GET /api/v2/pets",
        ];
        assert_eq!(
            nearest_to(&ops, "GET /rest/api/2/users").as_deref(),
            Some("GET /rest/api/3/users")
        );
        assert_eq!(
            nearest_to(&ops, "GET /rest/api/2/issue/T-1").as_deref(),
            Some("GET /rest/api/3/issue/{key}")
        );
        assert_eq!(
            nearest_to(&ops, "GET /api/v1/pets").as_deref(),
            Some("GET /api/v2/pets")
        );
        assert_eq!(nearest_to(&ops, "GET /rest/api/2/groups"), None);
    }

    #[test]
    fn nothing_near_is_no_suggestion() {
        assert_eq!(nearest_to(OPS, "GET /users/1"), None);
        assert_eq!(nearest_to(OPS, "GET /a/b/c/d"), None);
        assert_eq!(nearest_to(OPS, "GET /${anything}"), None);
        assert_eq!(nearest_to(OPS, "GET /v1/${anything}"), None);
        assert_eq!(nearest_to(&[], "GET /pets"), None);
    }
}
