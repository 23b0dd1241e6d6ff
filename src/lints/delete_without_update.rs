//! `delete_without_update`: on one path, a principal denied the PUT or PATCH
//! but allowed the DELETE: it may destroy what it may not change.

use super::{Observed, Shape, by_path, method_of};

pub(super) fn find(observed: &Observed<'_>) -> Vec<Shape> {
    let suite = observed.suite;
    let mut shapes = Vec::new();
    for (path, endpoints) in by_path(observed) {
        let updates: Vec<usize> = endpoints
            .iter()
            .copied()
            .filter(|&e| matches!(method_of(suite, e), "PUT" | "PATCH"))
            .collect();
        let deletes: Vec<usize> = endpoints
            .iter()
            .copied()
            .filter(|&e| method_of(suite, e) == "DELETE")
            .collect();
        if updates.is_empty() || deletes.is_empty() {
            continue;
        }
        for p in observed.principals() {
            let denied: Vec<usize> = updates
                .iter()
                .copied()
                .filter(|&e| observed.denied(e, p))
                .collect();
            let reached: Vec<usize> = deletes
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
            shapes.push(Shape::new(
                witnesses,
                format!(
                    "{} may DELETE {path} but not update it: deleting is usually the stronger permission",
                    observed.name(p)
                ),
            ));
        }
    }
    shapes
}
