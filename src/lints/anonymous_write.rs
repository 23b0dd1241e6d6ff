//! `anonymous_write`: an endpoint that changes state reached by a principal
//! with `auth: none`.

use super::{Caller, Observed, Shape};

pub(super) fn find(observed: &Observed<'_>) -> Vec<Shape> {
    let mut shapes = Vec::new();
    for e in observed.endpoints() {
        if !observed.suite.endpoints[e].is_mutation() {
            continue;
        }
        for p in observed.principals() {
            if observed.caller(p) != Caller::Anonymous || !observed.reached(e, p) {
                continue;
            }
            shapes.push(Shape::new(
                observed.witness(e, p).into_iter().collect(),
                format!(
                    "{} changes state without credentials: anyone on the network can do it",
                    observed.endpoint_name(e)
                ),
            ));
        }
    }
    shapes
}
