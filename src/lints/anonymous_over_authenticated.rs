//! `anonymous_over_authenticated`: an anonymous caller reaches an endpoint
//! on which an authenticated principal is denied (401 or 403).

use super::{Caller, Observed, Shape, names};

pub(super) fn find(observed: &Observed<'_>) -> Vec<Shape> {
    let anonymous: Vec<usize> = observed
        .principals()
        .filter(|&p| observed.caller(p) == Caller::Anonymous)
        .collect();
    if anonymous.is_empty() {
        return Vec::new();
    }
    let mut shapes = Vec::new();
    for e in observed.endpoints() {
        let denied: Vec<usize> = observed
            .principals()
            .filter(|&q| observed.caller(q) == Caller::Authenticated && observed.denied(e, q))
            .collect();
        if denied.is_empty() {
            continue;
        }
        for &p in anonymous.iter().filter(|&&p| observed.reached(e, p)) {
            let mut witnesses: Vec<_> = observed.witness(e, p).into_iter().collect();
            witnesses.extend(denied.iter().filter_map(|&q| observed.witness(e, q)));
            let whom: Vec<&str> = denied.iter().map(|&q| observed.name(q)).collect();
            shapes.push(Shape::new(
                witnesses,
                format!(
                    "{} reaches {} without credentials while {} {} refused: signing in should never take access away (a check that runs only for authenticated callers?)",
                    observed.name(p),
                    observed.endpoint_name(e),
                    names(&whom),
                    if whom.len() == 1 { "is" } else { "are" }
                ),
            ));
        }
    }
    shapes
}
