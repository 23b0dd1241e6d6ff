//! The lint keys of a suite: `lints:` (which run), `ranks:` (an order of
//! principals), `openapi:` (the document endpoints are checked against),
//! `fail_on:` (which classes fail the run), and an endpoint's `allow_lints:`.

use std::path::{Path, PathBuf};

use super::diag::suggestion;
pub use super::fail_on::{DEFAULT_FAILING, FAIL_CLASSES, FailOn};
pub use super::lint_id::{LintId, UnknownName};
use super::read::Reader;
use super::yaml::{Node, Pos, Value};

/// Which lints a run computes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum LintChoice {
    /// Every lint (the default).
    #[default]
    All,
    /// None.
    None,
    /// These.
    Only(Vec<LintId>),
}

impl LintChoice {
    /// Whether `id` runs.
    pub fn runs(&self, id: LintId) -> bool {
        match self {
            LintChoice::All => true,
            LintChoice::None => false,
            LintChoice::Only(ids) => ids.contains(&id),
        }
    }

    /// Reads `all`, `none` or `ID,ID,…` (the command line's `--lints`); the
    /// unknown id, with the nearest one, when there is one.
    pub fn parse(text: &str) -> Result<LintChoice, UnknownName> {
        match text.trim() {
            "all" => Ok(LintChoice::All),
            "none" => Ok(LintChoice::None),
            list => list
                .split(',')
                .map(str::trim)
                .filter(|id| !id.is_empty())
                .map(|id| {
                    LintId::parse(id).ok_or_else(|| UnknownName::of(id, LintId::ids(), "lint"))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(LintChoice::Only),
        }
    }
}

/// A suite's lint settings.
#[derive(Clone, Debug, Default)]
pub struct LintSettings {
    /// `lints:`.
    pub choice: LintChoice,
    /// `ranks:`, lowest first, as principal indices; `None`: the order of scope closures.
    pub ranks: Option<Vec<Vec<usize>>>,
    /// `openapi:`, resolved against the suite's folder, and the document read from it.
    pub openapi: Option<(PathBuf, std::sync::Arc<crate::openapi::Spec>)>,
    /// `fail_on:`.
    pub fail_on: Option<FailOn>,
}

/// Reads `lints:`: `all`, `none`, one id or a list of ids.
pub(super) fn read_choice(r: &mut Reader<'_>, node: &Node) -> LintChoice {
    let items = match &node.value {
        Value::Str(text) if text.trim() == "all" => return LintChoice::All,
        Value::Str(text) if text.trim() == "none" => return LintChoice::None,
        // `lints: "a, b"` reads as `--lints a,b` does.
        Value::Str(text) => {
            let ids: Option<Vec<LintId>> = text
                .split(',')
                .map(str::trim)
                .filter(|id| !id.is_empty())
                .map(|id| read_id(r, id, node.pos))
                .collect();
            return ids.map_or(LintChoice::All, LintChoice::Only);
        }
        _ => r.seq(node, "lints").unwrap_or_default(),
    };
    read_ids(r, items).map_or(LintChoice::All, LintChoice::Only)
}

/// Lint ids, each unknown one located with the nearest; `None` when one is unknown.
fn read_ids(r: &mut Reader<'_>, items: &[Node]) -> Option<Vec<LintId>> {
    let mut ids = Vec::new();
    let mut ok = true;
    for item in items {
        let Some(text) = r.string(item, "a lint id") else {
            ok = false;
            continue;
        };
        match read_id(r, &text, item.pos) {
            Some(id) => ids.push(id),
            None => ok = false,
        }
    }
    ok.then_some(ids)
}

/// A lint id, or a located error with the nearest id.
pub(super) fn read_id(r: &mut Reader<'_>, text: &str, pos: Pos) -> Option<LintId> {
    if let Some(id) = LintId::parse(text.trim()) {
        return Some(id);
    }
    let otherwise = format!(
        "the lints are {}",
        LintId::ids().collect::<Vec<_>>().join(", ")
    );
    let help = suggestion(text.trim(), LintId::ids(), &otherwise);
    r.diags
        .error_with_help(pos, format!("unknown lint `{}`", text.trim()), help);
    None
}

/// Reads `ranks:` against the principals' names: lowest first, peers in one
/// rank; an unknown name or a principal in two ranks is a located error.
pub(super) fn read_ranks(
    r: &mut Reader<'_>,
    node: &Node,
    names: &[&str],
) -> Option<Vec<Vec<usize>>> {
    let mut ranks = Vec::new();
    let mut seen: Vec<usize> = Vec::new();
    let mut ok = true;
    for rank in r.seq(node, "ranks")? {
        let members: Vec<&Node> = match &rank.value {
            Value::Str(_) => vec![rank],
            _ => r.seq(rank, "a rank").unwrap_or_default().iter().collect(),
        };
        let mut indices = Vec::new();
        for member in members {
            let Some(name) = r.string(member, "a principal name") else {
                ok = false;
                continue;
            };
            match names.iter().position(|n| *n == name) {
                Some(i) if seen.contains(&i) => {
                    r.diags.error(
                        member.pos,
                        format!("`{name}` is in two ranks: a principal has one place in the order"),
                    );
                    ok = false;
                }
                Some(i) => {
                    seen.push(i);
                    indices.push(i);
                }
                None => {
                    let help = suggestion(
                        &name,
                        names.iter().copied(),
                        "a rank lists principals of this suite",
                    );
                    r.diags.error_with_help(
                        member.pos,
                        format!("`ranks` names unknown principal `{name}`"),
                        help,
                    );
                    ok = false;
                }
            }
        }
        ranks.push(indices);
    }
    ok.then_some(ranks)
}

/// Reads `openapi:`, a file relative to the suite's folder, and the API
/// document in it: one that cannot be read is a load error, so `check`
/// refuses what `run` would.
pub(super) fn read_openapi(
    r: &mut Reader<'_>,
    node: &Node,
    suite_file: &Path,
) -> Option<(PathBuf, std::sync::Arc<crate::openapi::Spec>)> {
    let text = r.string(node, "openapi")?;
    let path = suite_file
        .parent()
        .map_or_else(|| PathBuf::from(&text), |dir| dir.join(&text));
    if !path.is_file() {
        r.diags.error(
            node.pos,
            format!(
                "openapi: no file {} (it is read relative to the suite)",
                path.display()
            ),
        );
        return None;
    }
    match crate::openapi::load(&path) {
        Ok(spec) => Some((path, std::sync::Arc::new(spec))),
        Err(e) => {
            r.diags.error(node.pos, format!("openapi: {e}"));
            None
        }
    }
}

/// Reads an endpoint's `allow_lints: { id: "reason" }`: a known id, a reason
/// that says something.
pub(super) fn read_allow(r: &mut Reader<'_>, node: &Node) -> Vec<(LintId, String)> {
    let Some(fields) = r.map(node, "allow_lints", None) else {
        return Vec::new();
    };
    let mut allowed = Vec::new();
    for (key, key_node, value) in &fields.entries {
        let id = read_id(r, key, key_node.pos);
        let reason = r.string(value, "a reason");
        match (id, reason) {
            (Some(id), Some(reason)) if !reason.trim().is_empty() => {
                allowed.push((id, reason.trim().to_string()))
            }
            (Some(_), Some(_)) => r.diags.error_with_help(
                value.pos,
                format!("`allow_lints.{key}` needs a reason"),
                "say why the shape is by design, e.g. `write_without_read: \"drop box: write-only\"`",
            ),
            _ => {}
        }
    }
    allowed
}
