//! A mock definition's `issues:` section (the project, its security levels and
//! the issues that exist when the mock starts) and the `issue:` field of routes.

use std::collections::BTreeMap;

use super::MockUser;
use crate::suite::diag::nearest;
use crate::suite::read::{Fields, Reader};
use crate::suite::yaml::{Node, Pos};

/// The first id of issues and of security levels (Jira's ids start there too).
pub const FIRST_ID: u64 = 10000;

/// The pseudo-group of every caller, anonymous ones included (as in `permissions:`).
const ANYONE: &str = "anyone";

/// What a route with `issue:` does with the mock's issue store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IssueAction {
    /// `create`: a new issue from the request's JSON, reported by the caller.
    Create,
    /// `read`: the issue the path's last segment names (id or key).
    Read,
    /// `delete`: removes the issue the path's last segment names.
    Delete,
    /// `search`: lists the issues the caller sees, Jira's search shape, paginated.
    Search,
    /// `edit`: sets the summary of the issue the path's last segment names.
    Edit,
}

impl IssueAction {
    /// The names `issue:` accepts.
    pub const NAMES: &[&str] = &["create", "read", "delete", "search", "edit"];

    /// The action `name` stands for.
    pub fn parse(name: &str) -> Option<IssueAction> {
        match name {
            "create" => Some(IssueAction::Create),
            "read" => Some(IssueAction::Read),
            "delete" => Some(IssueAction::Delete),
            "search" => Some(IssueAction::Search),
            "edit" => Some(IssueAction::Edit),
            _ => None,
        }
    }

    /// Whether the action acts on the one issue the path's last segment names.
    pub fn names_one_issue(self) -> bool {
        matches!(
            self,
            IssueAction::Read | IssueAction::Delete | IssueAction::Edit
        )
    }

    /// Whether the route's `permission` is what acting on someone else's issue
    /// needs (checked by the store, after visibility), not what calling it needs.
    pub fn permission_is_the_stores(self) -> bool {
        matches!(self, IssueAction::Delete | IssueAction::Edit)
    }
}

/// `issues:`: the project whose issues the mock keeps.
#[derive(Clone, Debug)]
pub struct IssuesDef {
    /// `project:`, the key every issue key starts with (`TEST` → `TEST-1`).
    pub project: String,
    /// `security_levels:`, in order; a level's id is [`FIRST_ID`] plus its index.
    pub levels: Vec<SecurityLevel>,
    /// `seed:`, in order; a seeded issue's id is [`FIRST_ID`] plus its index.
    pub seed: Vec<SeedIssue>,
}

/// A security level: who may see an issue that has it (besides its reporter).
#[derive(Clone, Debug)]
pub struct SecurityLevel {
    /// Its name, as `security:` names it.
    pub name: String,
    /// The groups whose members see its issues.
    pub groups: Vec<String>,
}

/// An issue that exists when the mock starts.
#[derive(Clone, Debug)]
pub struct SeedIssue {
    /// The number of its key (`TEST-7` → 7).
    pub number: u64,
    /// `summary:`.
    pub summary: String,
    /// `reporter:`, an index into the definition's users.
    pub reporter: usize,
    /// `security:`, an index into the levels.
    pub security: Option<usize>,
}

impl IssuesDef {
    /// The id of the level at `index`, as Jira writes ids (a numeric string).
    pub fn level_id(index: usize) -> String {
        (FIRST_ID + index as u64).to_string()
    }

    /// The index of the level named `name`.
    pub fn level_named(&self, name: &str) -> Option<usize> {
        self.levels.iter().position(|l| l.name == name)
    }

    /// The index of the level whose id is `id`.
    pub fn level_with_id(&self, id: &str) -> Option<usize> {
        (0..self.levels.len()).find(|&i| Self::level_id(i) == id)
    }
}

const ISSUES_KEYS: &[&str] = &["project", "security_levels", "seed"];
const SEED_KEYS: &[&str] = &["key", "summary", "reporter", "security"];

/// Reads `issues:`; `users` are the definition's users, which reporters name.
pub(super) fn read_issues(
    r: &mut Reader<'_>,
    node: &Node,
    users: &[MockUser],
) -> Option<IssuesDef> {
    let f = r.map(node, "issues", Some(ISSUES_KEYS))?;
    let project = match f.get("project") {
        Some(n) => r.scalar(n, "project").filter(|key| {
            let ok = project_key_ok(key);
            if !ok {
                r.diags.error_with_help(
                    n.pos,
                    format!("project key `{key}` is not a Jira project key"),
                    "upper-case letters, digits and `_`, starting with a letter, e.g. `TEST`",
                );
            }
            ok
        }),
        None => {
            r.diags.error(
                f.pos,
                "issues needs `project:` (the key issue keys start with, e.g. `TEST`)",
            );
            None
        }
    };
    let levels = f
        .get("security_levels")
        .map(|n| read_levels(r, n, users))
        .unwrap_or_default();
    let seed_nodes = match f.get("seed") {
        Some(n) => r.seq(n, "seed").unwrap_or_default(),
        None => &[],
    };
    let project = project?;
    let mut seed = Vec::new();
    let mut lines: BTreeMap<u64, u32> = BTreeMap::new();
    for item in seed_nodes {
        let Some((issue, pos)) = read_seed(r, item, &project, users, &levels) else {
            continue;
        };
        if let Some(first) = lines.insert(issue.number, pos.line) {
            r.diags.error(
                pos,
                format!(
                    "duplicate issue key `{project}-{}` (first at line {first})",
                    issue.number
                ),
            );
            continue;
        }
        seed.push(issue);
    }
    Some(IssuesDef {
        project,
        levels,
        seed,
    })
}

/// Jira's project keys: an upper-case letter, then upper-case letters, digits or `_`.
fn project_key_ok(key: &str) -> bool {
    key.starts_with(|c: char| c.is_ascii_uppercase())
        && key
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

fn read_levels(r: &mut Reader<'_>, node: &Node, users: &[MockUser]) -> Vec<SecurityLevel> {
    let Some(f) = r.map(node, "security_levels", None) else {
        return Vec::new();
    };
    let known: Vec<&str> = users
        .iter()
        .flat_map(|u| u.groups.iter().map(String::as_str))
        .chain([ANYONE])
        .collect();
    let mut levels = Vec::new();
    for (name, key, value) in &f.entries {
        if name.trim().is_empty() {
            r.diags
                .error(key.pos, "a security level's name must not be empty");
            continue;
        }
        let what = format!("security level `{name}`");
        let mut groups = Vec::new();
        for item in r.seq(value, &what).unwrap_or_default() {
            let Some(group) = r.scalar(item, &what) else {
                continue;
            };
            if !known.contains(&group.as_str()) {
                let help = nearest(&group, known.iter().copied())
                    .map(|n| format!("did you mean `{n}`?"))
                    .unwrap_or_else(|| {
                        "name a group some user is in (`groups:` of `users:`)".into()
                    });
                r.diags.error_with_help(
                    item.pos,
                    format!("{what}: no user is in group `{group}`"),
                    help,
                );
            }
            groups.push(group);
        }
        levels.push(SecurityLevel {
            name: name.clone(),
            groups,
        });
    }
    levels
}

/// A seeded issue and where its key is written.
fn read_seed(
    r: &mut Reader<'_>,
    node: &Node,
    project: &str,
    users: &[MockUser],
    levels: &[SecurityLevel],
) -> Option<(SeedIssue, Pos)> {
    let f = r.map(node, "a seeded issue", Some(SEED_KEYS))?;
    let number = match f.get("key") {
        Some(n) => r.scalar(n, "key").and_then(|key| {
            let number = key_number(project, &key);
            if number.is_none() {
                r.diags.error_with_help(
                    n.pos,
                    format!("issue key `{key}` is not one of project `{project}`"),
                    format!("write it `{project}-<number>`, e.g. `{project}-1`"),
                );
            }
            number
        }),
        None => {
            r.diags
                .error(f.pos, "a seeded issue needs `key:` (e.g. `TEST-1`)");
            None
        }
    };
    let summary = match f.get("summary") {
        Some(n) => r.scalar(n, "summary").filter(|s| {
            if s.trim().is_empty() {
                r.diags
                    .error(n.pos, "a seeded issue's `summary` must not be empty");
            }
            !s.trim().is_empty()
        }),
        None => {
            r.diags.error(f.pos, "a seeded issue needs `summary:`");
            None
        }
    };
    let reporter = match f.get("reporter") {
        Some(n) => r.scalar(n, "reporter").and_then(|name| {
            let found = users.iter().position(|u| u.name == name);
            if found.is_none() {
                let help = nearest(&name, users.iter().map(|u| u.name.as_str()))
                    .map(|n| format!("did you mean `{n}`?"))
                    .unwrap_or_else(|| "a reporter is a key under `users:`".into());
                r.diags
                    .error_with_help(n.pos, format!("unknown user `{name}`"), help);
            }
            found
        }),
        None => {
            r.diags.error(
                f.pos,
                "a seeded issue needs `reporter:` (a key under `users:`)",
            );
            None
        }
    };
    let security = match f.get("security") {
        Some(n) => {
            let name = r.scalar(n, "security")?;
            let found = levels.iter().position(|l| l.name == name);
            if found.is_none() {
                let help = nearest(&name, levels.iter().map(|l| l.name.as_str()))
                    .map(|n| format!("did you mean `{n}`?"))
                    .unwrap_or_else(|| "declare it under `security_levels:`".into());
                r.diags
                    .error_with_help(n.pos, format!("unknown security level `{name}`"), help);
            }
            Some(found?)
        }
        None => None,
    };
    Some((
        SeedIssue {
            number: number?,
            summary: summary?,
            reporter: reporter?,
            security,
        },
        f.get("key").map_or(f.pos, |n| n.pos),
    ))
}

/// The number of `key` when it is `<project>-<n>` (n from 1, no leading zeros).
pub fn key_number(project: &str, key: &str) -> Option<u64> {
    let digits = key.strip_prefix(project)?.strip_prefix('-')?;
    if digits.starts_with('0') || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Reads a route's `issue:`.
pub(super) fn read_action(r: &mut Reader<'_>, node: &Node) -> Option<IssueAction> {
    let name = r.scalar(node, "issue")?;
    let action = IssueAction::parse(&name);
    if action.is_none() {
        let help = nearest(&name, IssueAction::NAMES.iter().copied())
            .map(|n| format!("did you mean `{n}`?"))
            .unwrap_or_else(|| format!("one of: {}", IssueAction::NAMES.join(", ")));
        r.diags
            .error_with_help(node.pos, format!("unknown issue action `{name}`"), help);
    }
    action
}

/// The flags of a route that only some `issue:` actions take.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct IssueFlags {
    /// `ignore_security:` (read and search routes).
    pub ignore_security: bool,
    /// `apply_when_denied:` (edit and delete routes).
    pub apply_when_denied: bool,
    /// `ignore_when_allowed:` (edit routes).
    pub ignore_when_allowed: bool,
}

/// What an `issue:` route must be: answered by the store (no `response:`),
/// naming its issue in its last segment when it reads, edits or deletes one,
/// a GET when it searches, and with only the flags its action takes.
pub(super) fn check_route(
    r: &mut Reader<'_>,
    f: &Fields<'_>,
    issue: Option<IssueAction>,
    flags: IssueFlags,
    method: &::http::Method,
    segments: &[String],
) {
    if let (Some(_), Some(pos)) = (issue, f.key_pos("response")) {
        r.diags.error(
            pos,
            "a route with `issue:` answers from the issue store; drop `response:`",
        );
    }
    if flags.ignore_security
        && !matches!(issue, Some(IssueAction::Read | IssueAction::Search))
        && let Some(pos) = f.key_pos("ignore_security")
    {
        r.diags.error(
            pos,
            "`ignore_security` is for `issue: read` and `issue: search` routes only",
        );
    }
    if flags.apply_when_denied
        && !matches!(issue, Some(IssueAction::Edit | IssueAction::Delete))
        && let Some(pos) = f.key_pos("apply_when_denied")
    {
        r.diags.error_with_help(
            pos,
            "`apply_when_denied` is for `issue: edit` and `issue: delete` routes only",
            "it makes a route apply a refused change (a deliberate flaw, for demonstrations)",
        );
    }
    if flags.ignore_when_allowed
        && issue != Some(IssueAction::Edit)
        && let Some(pos) = f.key_pos("ignore_when_allowed")
    {
        r.diags.error_with_help(
            pos,
            "`ignore_when_allowed` is for `issue: edit` routes only",
            "it makes an edit route answer 204 and change nothing (a deliberate flaw, for demonstrations)",
        );
    }
    if issue == Some(IssueAction::Search)
        && *method != ::http::Method::GET
        && let Some(pos) = f.key_pos("issue")
    {
        r.diags.error_with_help(
            pos,
            format!("an `issue: search` route is written `GET <path>`, not `{method}`"),
            "e.g. `route: GET /rest/api/2/search`",
        );
    }
    let names_issue = segments
        .last()
        .is_some_and(|s| s.starts_with('{') && s.ends_with('}'));
    if issue.is_some_and(IssueAction::names_one_issue)
        && !names_issue
        && let Some(pos) = f.key_pos("issue")
    {
        r.diags.error_with_help(
            pos,
            "a route that reads, edits or deletes an issue needs the issue's id or key as its last path segment",
            "e.g. `route: GET /rest/api/2/issue/{issueIdOrKey}`",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_the_projects_with_a_positive_number() {
        assert_eq!(key_number("TEST", "TEST-1"), Some(1));
        assert_eq!(key_number("TEST", "TEST-42"), Some(42));
        for bad in [
            "TEST-0", "TEST-01", "TEST-", "TEST1", "OTHER-1", "TEST-1a", "TEST--1",
        ] {
            assert_eq!(key_number("TEST", bad), None, "{bad}");
        }
        assert!(project_key_ok("TEST") && project_key_ok("A_1"));
        assert!(!project_key_ok("test") && !project_key_ok("1A") && !project_key_ok("TE-ST"));
        assert!(!project_key_ok(""));
    }

    /// The located errors loading `routes` (YAML lines after a fixed head) gives.
    fn route_problems(routes: &str) -> String {
        let def = format!(
            "mock: m\nusers:\n  u: {{ email: u@x, api_token: ut-123456, account_id: acc-u, groups: [g] }}\n\
             permissions:\n  EDIT_ISSUES: [g]\nissues:\n  project: TEST\nroutes:\n{routes}"
        );
        match super::super::load_str(std::path::Path::new("m.yaml"), &def) {
            Ok(_) => String::from("(loaded)"),
            Err(found) => found
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    #[test]
    fn search_and_edit_routes_load_and_their_flags_stay_on_them() {
        let good = "  - { route: GET /rest/api/2/search, issue: search, ignore_security: true }\n\
                    \x20 - { route: \"PUT /rest/api/2/issue/{key}\", permission: EDIT_ISSUES, issue: edit, apply_when_denied: true }\n";
        assert_eq!(route_problems(good), "(loaded)");
        let found = route_problems(
            "  - { route: POST /rest/api/2/search, issue: search }\n\
             \x20 - { route: \"GET /rest/api/2/issue/{key}\", issue: read, apply_when_denied: true }\n\
             \x20 - { route: PUT /rest/api/2/issue, issue: edit }\n\
             \x20 - { route: \"PUT /rest/api/2/issue/{key}\", issue: edit, ignore_security: true }\n\
             \x20 - { route: GET /rest/api/2/configuration, apply_when_denied: false }\n",
        );
        for needle in [
            "m.yaml:9:39: error: an `issue: search` route is written `GET <path>`, not `POST`",
            "e.g. `route: GET /rest/api/2/search`",
            "m.yaml:10:58: error: `apply_when_denied` is for `issue: edit` and `issue: delete` routes only",
            "m.yaml:11:37: error: a route that reads, edits or deletes an issue needs the issue's id or key as its last path segment",
            "m.yaml:12:58: error: `ignore_security` is for `issue: read` and `issue: search` routes only",
        ] {
            assert!(found.contains(needle), "missing {needle} in:\n{found}");
        }
        assert!(
            !found.contains("m.yaml:13:"),
            "`false` on a plain route is no flaw: {found}"
        );
    }

    #[test]
    fn levels_have_ids_from_the_first_id() {
        let def = IssuesDef {
            project: "TEST".into(),
            levels: vec![
                SecurityLevel {
                    name: "Restricted".into(),
                    groups: vec!["admins".into()],
                },
                SecurityLevel {
                    name: "Board".into(),
                    groups: Vec::new(),
                },
            ],
            seed: Vec::new(),
        };
        assert_eq!(def.level_named("Board"), Some(1));
        assert_eq!(def.level_with_id("10000"), Some(0));
        assert_eq!(def.level_with_id("10002"), None);
        assert_eq!(IssuesDef::level_id(1), "10001");
    }
}
