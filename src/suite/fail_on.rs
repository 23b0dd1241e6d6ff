//! `--fail-on` and `fail_on:`: which classes fail a run (the cell outcomes,
//! the snapshot changes, the finding kinds, the lint ids); every other one is
//! reported only.

use std::collections::BTreeSet;

use super::lint_id::UnknownName;
use super::read::Reader;
use super::yaml::{Node, Value};

/// The classes that fail a run when no `--fail-on` says otherwise: the cell
/// outcomes and the snapshot changes, the first of [`FAIL_CLASSES`].
pub const DEFAULT_FAILING: &[&str] = FAIL_CLASSES.split_at(13).0;

/// What `--fail-on` and `fail_on:` may name: the cell outcomes and the
/// snapshot change classes (what fails a run by default), then the finding
/// kinds and the lint ids.
pub const FAIL_CLASSES: &[&str] = &[
    "mismatch",
    "error",
    "accepted_tampered",
    "denied_but_applied",
    "widened",
    "auth-broken",
    "narrowed",
    "changed",
    "added",
    "removed",
    "finding-added",
    "finding-removed",
    "snapshot-missing",
    "denied_despite_scopes",
    "reached_without_scopes",
    "unused_scopes",
    "reached_but_ignored",
    "existence_oracle",
    "valid_credentials_rejected",
    "write_without_read",
    "delete_without_update",
    "anonymous_over_authenticated",
    "anonymous_write",
    "undocumented_reachable",
    "privilege_inversion",
];

/// The classes that fail a run (`--fail-on`, `fail_on:`); every other one is reported only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailOn(pub BTreeSet<&'static str>);

impl FailOn {
    /// Reads `widened,auth-broken,…`; the first unknown class, with the
    /// nearest one (an empty list is refused: nothing would ever fail).
    pub fn parse(text: &str) -> Result<FailOn, UnknownName> {
        let fail_on = Self::of(text.split(',').map(str::trim).filter(|c| !c.is_empty()))?;
        if fail_on.0.is_empty() {
            return Err(UnknownName::of("", FAIL_CLASSES.iter().copied(), "class"));
        }
        Ok(fail_on)
    }

    fn of<'t>(names: impl Iterator<Item = &'t str>) -> Result<FailOn, UnknownName> {
        let mut classes = BTreeSet::new();
        for name in names {
            let known = FAIL_CLASSES
                .iter()
                .find(|c| **c == name)
                .ok_or_else(|| UnknownName::of(name, FAIL_CLASSES.iter().copied(), "class"))?;
            classes.insert(*known);
        }
        Ok(FailOn(classes))
    }

    /// Whether `class` fails the run.
    pub fn fails(&self, class: &str) -> bool {
        self.0.contains(class)
    }
}

/// Reads `fail_on:` (a list; a single string is a one-item list).
pub(super) fn read_fail_on(r: &mut Reader<'_>, node: &Node) -> Option<FailOn> {
    let items: Vec<&Node> = match &node.value {
        Value::Str(_) => vec![node],
        _ => r.seq(node, "fail_on")?.iter().collect(),
    };
    let mut names = Vec::new();
    for item in items {
        let text = r.string(item, "a class")?;
        // `fail_on: "widened, error"` reads as `--fail-on widened,error` does.
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match FailOn::of(std::iter::once(name)) {
                Ok(_) => names.push(name.to_string()),
                Err(unknown) => {
                    let help = match unknown.nearest {
                        Some(near) => format!("did you mean `{near}`?"),
                        None => format!("the classes are {}", FAIL_CLASSES.join(", ")),
                    };
                    r.diags.error_with_help(
                        item.pos,
                        format!("unknown class `{name}` in `fail_on`"),
                        help,
                    );
                    return None;
                }
            }
        }
    }
    if names.is_empty() {
        r.diags.error_with_help(
            node.pos,
            "`fail_on` names no class: nothing would ever fail the run",
            "name the classes that must fail it, e.g. `fail_on: [widened, error]`; leave the key out for the default",
        );
        return None;
    }
    FailOn::of(names.iter().map(String::as_str)).ok()
}
