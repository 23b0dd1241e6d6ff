//! The lint keys of a suite: `lints:` (which run), `ranks:` (an order of
//! principals), `openapi:` (the document endpoints are checked against),
//! `fail_on:` (which classes fail the run), and an endpoint's `allow_lints:`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::diag::nearest;
use super::read::Reader;
use super::yaml::{Node, Pos, Value};

/// A lint: a shape of the observed matrix that needs no expectation to be
/// seen. Its id is the same in every output, the suite and the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LintId {
    /// 403 for objects someone reached, 404 for those nobody did (or the reverse).
    ExistenceOracle,
    /// 401 to credentials that work elsewhere in the run.
    ValidCredentialsRejected,
    /// Denied the read of a path, allowed a write to it.
    WriteWithoutRead,
    /// Denied the update of a path, allowed its delete.
    DeleteWithoutUpdate,
    /// An anonymous caller reaches what an authenticated one is denied.
    AnonymousOverAuthenticated,
    /// An anonymous caller reaches a write.
    AnonymousWrite,
    /// Reached, though the API document lists no such operation.
    UndocumentedReachable,
    /// A lower principal reaches what a higher one is denied.
    PrivilegeInversion,
}

impl LintId {
    /// Every lint, in the order they are reported.
    pub const ALL: [LintId; 8] = [
        LintId::ExistenceOracle,
        LintId::ValidCredentialsRejected,
        LintId::WriteWithoutRead,
        LintId::DeleteWithoutUpdate,
        LintId::AnonymousOverAuthenticated,
        LintId::AnonymousWrite,
        LintId::UndocumentedReachable,
        LintId::PrivilegeInversion,
    ];

    /// Its id.
    pub fn as_str(self) -> &'static str {
        match self {
            LintId::ExistenceOracle => "existence_oracle",
            LintId::ValidCredentialsRejected => "valid_credentials_rejected",
            LintId::WriteWithoutRead => "write_without_read",
            LintId::DeleteWithoutUpdate => "delete_without_update",
            LintId::AnonymousOverAuthenticated => "anonymous_over_authenticated",
            LintId::AnonymousWrite => "anonymous_write",
            LintId::UndocumentedReachable => "undocumented_reachable",
            LintId::PrivilegeInversion => "privilege_inversion",
        }
    }

    /// What it means, in one line a newcomer understands.
    pub fn explanation(self) -> &'static str {
        match self {
            LintId::ExistenceOracle => {
                "a principal's status tells which objects exist: 403 for objects someone could read, 404 for the others"
            }
            LintId::ValidCredentialsRejected => {
                "401 to credentials that work on other endpoints: this server answers 401 for something other than missing or bad credentials"
            }
            LintId::WriteWithoutRead => {
                "a principal may change or delete what it may not read on the same path"
            }
            LintId::DeleteWithoutUpdate => {
                "a principal may delete what it may not update on the same path"
            }
            LintId::AnonymousOverAuthenticated => {
                "an anonymous caller reaches an endpoint that refuses a signed-in principal"
            }
            LintId::AnonymousWrite => "an anonymous caller reaches an endpoint that changes state",
            LintId::UndocumentedReachable => {
                "an endpoint the API document does not list answers 2xx"
            }
            LintId::PrivilegeInversion => {
                "a lower principal reaches an endpoint that refuses a higher one"
            }
        }
    }

    /// The lint with this id.
    pub fn parse(id: &str) -> Option<LintId> {
        LintId::ALL.into_iter().find(|l| l.as_str() == id)
    }

    /// Every id, for "did you mean" and usage errors.
    pub fn ids() -> impl Iterator<Item = &'static str> + Clone {
        LintId::ALL.into_iter().map(LintId::as_str)
    }
}

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

/// A name that is none of the known ones (empty: a list that names nothing).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}; the {} are {}", self.problem(), if self.what == "class" { "classes" } else { "lints" }, self.known.join(", "))]
pub struct UnknownName {
    /// The name.
    pub name: String,
    /// What it should have named: `lint`, `class`.
    pub what: &'static str,
    /// The nearest known one.
    pub nearest: Option<String>,
    /// Every known one.
    pub known: Vec<&'static str>,
}

impl UnknownName {
    /// `unknown class `widend` (did you mean `widened`?)`, or that nothing was named.
    fn problem(&self) -> String {
        if self.name.is_empty() {
            return format!(
                "the list names no {}: nothing would ever fail the run",
                self.what
            );
        }
        match &self.nearest {
            Some(n) => format!(
                "unknown {} `{}` (did you mean `{n}`?)",
                self.what, self.name
            ),
            None => format!("unknown {} `{}`", self.what, self.name),
        }
    }

    fn of(
        name: &str,
        known: impl Iterator<Item = &'static str> + Clone,
        what: &'static str,
    ) -> UnknownName {
        UnknownName {
            name: name.to_string(),
            what,
            nearest: nearest(name, known.clone()).map(str::to_string),
            known: known.collect(),
        }
    }
}

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
    let help = match nearest(text.trim(), LintId::ids()) {
        Some(near) => format!("did you mean `{near}`?"),
        None => format!(
            "the lints are {}",
            LintId::ids().collect::<Vec<_>>().join(", ")
        ),
    };
    r.diags
        .error_with_help(pos, format!("unknown lint `{}`", text.trim()), help);
    None
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
                    let help = nearest(&name, names.iter().copied())
                        .map(|n| format!("did you mean `{n}`?"))
                        .unwrap_or_else(|| "a rank lists principals of this suite".into());
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
