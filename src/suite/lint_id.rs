//! The lints' ids (the same in every output, the suite and the command line),
//! and the error a name that is none of the known ones makes.

use super::diag::nearest;

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

    pub(super) fn of(
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
