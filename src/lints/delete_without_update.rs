//! `delete_without_update`: on one path, a principal denied the PUT or PATCH
//! but allowed the DELETE: it may destroy what it may not change.

use super::{Observed, Shape, on_one_path};

pub(super) fn find(observed: &Observed<'_>) -> Vec<Shape> {
    on_one_path(
        observed,
        &["PUT", "PATCH"],
        &["DELETE"],
        |principal, path, _| {
            format!(
                "{principal} may DELETE {path} but not update it: deleting is usually the stronger permission"
            )
        },
    )
}
