//! `write_without_read`: on one path, a principal denied the GET but allowed
//! a PUT, PATCH, POST or DELETE: it may change what it may not read.

use super::{Observed, Shape, on_one_path};

pub(super) fn find(observed: &Observed<'_>) -> Vec<Shape> {
    let writes = ["PUT", "PATCH", "POST", "DELETE"];
    on_one_path(observed, &["GET"], &writes, |principal, path, methods| {
        format!(
            "{principal} may {} {path} but not GET it: a write permission without the read one is rarely meant (a drop box is; say so with allow_lints)",
            methods.join("/")
        )
    })
}
