//! `write_without_read`: on one path, a principal denied the GET but allowed
//! a PUT, PATCH, POST or DELETE: it may change what it may not read.

use super::{Observed, Shape, by_path, method_of};

pub(super) fn find(observed: &Observed<'_>) -> Vec<Shape> {
    let suite = observed.suite;
    let mut shapes = Vec::new();
    for (path, endpoints) in by_path(observed) {
        let reads: Vec<usize> = endpoints
            .iter()
            .copied()
            .filter(|&e| method_of(suite, e) == "GET")
            .collect();
        let writes: Vec<usize> = endpoints
            .iter()
            .copied()
            .filter(|&e| matches!(method_of(suite, e), "PUT" | "PATCH" | "POST" | "DELETE"))
            .collect();
        if reads.is_empty() || writes.is_empty() {
            continue;
        }
        for p in observed.principals() {
            let denied: Vec<usize> = reads
                .iter()
                .copied()
                .filter(|&e| observed.denied(e, p))
                .collect();
            let reached: Vec<usize> = writes
                .iter()
                .copied()
                .filter(|&e| observed.reached(e, p))
                .collect();
            if denied.is_empty() || reached.is_empty() {
                continue;
            }
            let witnesses = denied
                .iter()
                .chain(&reached)
                .filter_map(|&e| observed.witness(e, p))
                .collect();
            let methods: Vec<&str> = reached.iter().map(|&e| method_of(suite, e)).collect();
            shapes.push(Shape::new(
                witnesses,
                format!(
                    "{} may {} {path} but not GET it: a write permission without the read one is rarely meant (a drop box is; say so with allow_lints)",
                    observed.name(p),
                    methods.join("/")
                ),
            ));
        }
    }
    shapes
}
