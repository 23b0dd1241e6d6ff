//! The whole suite: its target, principals, endpoints and steps, as the rest
//! of permatrix plans, runs and reports on.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::model::{Endpoint, Group, Principal, ScopeRules, Target};
use super::steps::Step;
use super::template::{Scope, Template};
use super::yaml::Pos;

/// One suite file, validated.
#[derive(Clone, Debug)]
pub struct Suite {
    /// `suite:`, names the snapshot.
    pub name: String,
    /// Where the name is written.
    pub name_pos: Pos,
    /// The file it was loaded from.
    pub file: PathBuf,
    /// `description:`.
    pub description: Option<String>,
    /// Where the requests go.
    pub target: Target,
    /// `vars:`.
    pub vars: BTreeMap<String, Template>,
    /// Principals, in declared order.
    pub principals: Vec<Principal>,
    /// Groups of principals, in declared order.
    pub groups: Vec<Group>,
    /// Endpoints, in declared order.
    pub endpoints: Vec<Endpoint>,
    /// The mock that serves this run, when the target has no base URL (or `--mock`).
    pub mock: Option<std::sync::Arc<super::mock_def::MockDef>>,
    /// `scope_implies:` and `scopes_known:`.
    pub scope_rules: ScopeRules,
    /// `setup:`, in order.
    pub setup: Vec<Step>,
    /// `teardown:`, in order.
    pub teardown: Vec<Step>,
    /// `lints:`, `ranks:`, `openapi:`, `fail_on:`.
    pub lint_settings: super::lints::LintSettings,
}

impl Suite {
    /// The groups `principal` belongs to, by name.
    pub fn groups_of(&self, principal: &str) -> Vec<&str> {
        self.groups
            .iter()
            .filter(|g| g.members.iter().any(|m| m == principal))
            .map(|g| g.name.as_str())
            .collect()
    }

    /// The name `${own.…}` means for principal `p`: its own, or for a tamper
    /// probe the principal it derives from.
    pub fn own_name(&self, p: usize) -> &str {
        let principal = &self.principals[p];
        match principal.probe {
            Some(of) => &self.principals[of.base].name,
            None => &principal.name,
        }
    }

    /// The index of the principal named `name`.
    pub fn principal_index(&self, name: &str) -> Option<usize> {
        self.principals.iter().position(|p| p.name == name)
    }

    /// The principal whose body `endpoint`'s cells are compared with, if it compares.
    pub fn reference_of(&self, endpoint: usize) -> Option<usize> {
        let compare = self.endpoints[endpoint].compare.as_ref()?;
        self.principal_index(&compare.with)
    }

    /// The index of a principal's canary endpoint, if it has one.
    pub fn canary_of(&self, principal: usize) -> Option<usize> {
        let name = self.principals[principal].canary.as_ref()?;
        self.endpoints.iter().position(|e| &e.name == name)
    }

    /// The interpolation scope of the suite itself; add a principal with [`Scope::for_principal`].
    pub fn scope<'a>(
        &'a self,
        cli: &'a BTreeMap<String, String>,
        env: &'a BTreeMap<String, String>,
        base_url: Option<&'a str>,
    ) -> Scope<'a> {
        Scope {
            cli,
            principal: None,
            suite: &self.vars,
            mock: self.mock.as_deref().map(|m| &m.vars),
            env,
            base_url,
            captured: None,
            own: None,
        }
    }
}
