//! `undocumented_reachable`: an endpoint that matches no operation of the API
//! document (the matching of `coverage`), reached by some principal.

use super::{Observed, Shape, method_of};
use crate::openapi::Spec;
use crate::openapi::matcher::{Found, Matcher, PathMap};
use crate::openapi::path::RequestPath;

pub(super) fn find(observed: &Observed<'_>, spec: &Spec, maps: &[PathMap]) -> Vec<Shape> {
    let suite = observed.suite;
    let matcher = Matcher::new(&spec.operations, &spec.servers, maps);
    let mut shapes = Vec::new();
    for e in observed.endpoints() {
        let path = RequestPath::parse(&suite.endpoints[e].request.target.raw);
        let method = method_of(suite, e);
        let why = match matcher.find(method, &path) {
            Found::Nothing => "lists no such path",
            Found::OtherMethod(_) => "lists the path, not this method",
            // Documented, or a path whose variables hide which operation it is.
            Found::Operation(_) | Found::VariablePath => continue,
        };
        let witnesses: Vec<_> = observed
            .principals()
            .filter(|&p| observed.reached(e, p))
            .filter_map(|p| observed.witness(e, p))
            .collect();
        if witnesses.is_empty() {
            continue;
        }
        shapes.push(Shape::new(
            witnesses,
            format!(
                "{} answers 2xx, yet the API document{} {why}: a forgotten, internal or debug route is part of the attack surface",
                observed.endpoint_name(e),
                spec.title
                    .as_deref()
                    .map_or(String::new(), |t| format!(" ({t})"))
            ),
        ));
    }
    shapes
}
