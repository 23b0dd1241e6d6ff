//! A running mock's issue store: issues with reporters and security levels,
//! seeded from the definition's `issues:`, who may see each one, and how an issue reads as Jira's JSON.

use serde_json::{Value, json};

use crate::suite::mock_def::{FIRST_ID, IssuesDef, MockDef, key_number};

use super::jira_error::ANYONE;

/// Whom a call runs as, or who reported an issue: a user, or a Connect app
/// calling as itself (its own pseudo-user, in no group).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Account {
    /// A user, index into the definition's users (Basic, or impersonated).
    User(usize),
    /// A Connect app's own user, index into the apps.
    App(usize),
}

/// One issue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issue {
    /// Its id (Jira writes it as a string).
    pub id: u64,
    /// The number of its key.
    pub number: u64,
    /// Its summary.
    pub summary: String,
    /// Who created it; `None` for an anonymous caller.
    pub reporter: Option<Account>,
    /// Its security level, index into the definition's levels.
    pub security: Option<usize>,
}

/// A running mock's issues, one store per running mock.
#[derive(Debug, Default)]
pub struct IssueStore {
    project: String,
    issues: Vec<Issue>,
    next_id: u64,
    next_number: u64,
}

impl IssueStore {
    /// A store holding `def`'s seeded issues (empty without `issues:`).
    pub fn seeded(def: Option<&IssuesDef>) -> IssueStore {
        let Some(def) = def else {
            return IssueStore::default();
        };
        let issues: Vec<Issue> = def
            .seed
            .iter()
            .zip(FIRST_ID..)
            .map(|(seed, id)| Issue {
                id,
                number: seed.number,
                summary: seed.summary.clone(),
                reporter: Some(Account::User(seed.reporter)),
                security: seed.security,
            })
            .collect();
        IssueStore {
            project: def.project.clone(),
            next_id: FIRST_ID + issues.len() as u64,
            next_number: issues.iter().map(|i| i.number).max().unwrap_or(0) + 1,
            issues,
        }
    }

    /// The key of `issue` (`TEST-1`).
    pub fn key(&self, issue: &Issue) -> String {
        format!("{}-{}", self.project, issue.number)
    }

    /// The project whose issues the store keeps (`TEST`).
    pub fn project(&self) -> &str {
        &self.project
    }

    /// Every issue, in id order (ids only grow, so in the order they were added).
    pub fn all(&self) -> &[Issue] {
        &self.issues
    }

    /// Sets the summary of the issue with `id`; whether there was one.
    pub fn set_summary(&mut self, id: u64, summary: String) -> bool {
        match self.issues.iter_mut().find(|i| i.id == id) {
            Some(issue) => {
                issue.summary = summary;
                true
            }
            None => false,
        }
    }

    /// The issue `id_or_key` names: an id (`10000`) or a key, in any case (`test-1`).
    pub fn find(&self, id_or_key: &str) -> Option<&Issue> {
        if let Ok(id) = id_or_key.parse::<u64>() {
            return self.issues.iter().find(|i| i.id == id);
        }
        let number = key_number(&self.project, &id_or_key.to_ascii_uppercase())?;
        self.issues.iter().find(|i| i.number == number)
    }

    /// Creates an issue with the next id and key number (neither is ever reused).
    pub fn create(
        &mut self,
        summary: String,
        reporter: Option<Account>,
        security: Option<usize>,
    ) -> Issue {
        let issue = Issue {
            id: self.next_id,
            number: self.next_number,
            summary,
            reporter,
            security,
        };
        self.next_id += 1;
        self.next_number += 1;
        self.issues.push(issue.clone());
        issue
    }

    /// Removes the issue with `id`; whether there was one.
    pub fn remove(&mut self, id: u64) -> bool {
        let before = self.issues.len();
        self.issues.retain(|i| i.id != id);
        self.issues.len() != before
    }
}

/// Whether `viewer` (`None`: anonymous) sees `issue`: always without a level;
/// with one, when it reported the issue or is in one of the level's groups
/// (`anyone` is every caller). An app's own user is in no group.
pub(crate) fn visible(def: &MockDef, issue: &Issue, viewer: Option<Account>) -> bool {
    let Some(level) = issue.security else {
        return true;
    };
    if viewer.is_some() && issue.reporter == viewer {
        return true;
    }
    let groups = def
        .issues
        .as_ref()
        .and_then(|d| d.levels.get(level))
        .map(|l| l.groups.as_slice())
        .unwrap_or_default();
    let member = |group: &String| match viewer {
        _ if group == ANYONE => true,
        Some(Account::User(user)) => def
            .users
            .get(user)
            .is_some_and(|u| u.groups.contains(group)),
        Some(Account::App(_)) | None => false,
    };
    groups.iter().any(member)
}

/// The request an `issue:` route acts on.
pub(crate) struct IssueRequest<'a> {
    /// Its path as received.
    pub path: &'a str,
    /// The mock's origin as the client named it (`http://` and its `Host`), for `self`.
    pub origin: &'a str,
    /// Its query string, if any.
    pub query: Option<&'a str>,
    /// Its body.
    pub body: &'a [u8],
}

/// `origin` + `/` + `parent` segments + `/` + `id`: the issue under the route's collection.
pub(crate) fn self_url(origin: &str, parent: &[String], id: u64) -> String {
    let mut url = origin.to_string();
    for segment in parent {
        url.push('/');
        url.push_str(segment);
    }
    format!("{url}/{id}")
}

/// Jira's issue as `GET /rest/api/2/issue/{issueIdOrKey}` answers it (the fields the mock keeps).
pub(crate) fn issue_json(def: &MockDef, store: &IssueStore, issue: &Issue, url: &str) -> Value {
    let reporter = match issue.reporter {
        Some(Account::User(user)) => def.users.get(user).map_or(
            Value::Null,
            |u| json!({"accountId": u.account_id, "accountType": "atlassian"}),
        ),
        Some(Account::App(app)) => def.apps.get(app).map_or(
            Value::Null,
            |a| json!({"accountId": app_account_id(&a.key), "accountType": "app"}),
        ),
        None => Value::Null,
    };
    let mut fields = json!({"summary": issue.summary, "reporter": reporter});
    let level = issue
        .security
        .and_then(|i| Some((i, def.issues.as_ref()?.levels.get(i)?)));
    if let Some((index, level)) = level {
        fields["security"] = json!({"id": IssuesDef::level_id(index), "name": level.name});
    }
    json!({"id": issue.id.to_string(), "key": store.key(issue), "self": url, "fields": fields})
}

/// The account id of a Connect app's own user (modeled on the `addon_<key>` user Jira gives an app).
pub(crate) fn app_account_id(key: &str) -> String {
    format!("addon_{key}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEF: &str = r#"mock: m
users:
  admin: { email: a@x, api_token: at-123456, account_id: acc-a, groups: [admins] }
  user: { email: u@x, api_token: ut-123456, account_id: acc-u, groups: [users] }
apps:
  app: { shared_secret: app-secret-123456, scopes: [READ] }
issues:
  project: TEST
  security_levels: { Restricted: [admins], Open: [anyone] }
  seed:
    - { key: TEST-1, summary: Public, reporter: user }
    - { key: TEST-5, summary: Salary review, reporter: admin, security: Restricted }
    - { key: TEST-2, summary: Notes, reporter: user, security: Restricted }
    - { key: TEST-3, summary: Board, reporter: user, security: Open }
routes: []
"#;

    fn def() -> MockDef {
        crate::suite::mock_def::load_str(std::path::Path::new("m.yaml"), DEF)
            .unwrap_or_else(|e| panic!("{e:?}"))
    }

    #[test]
    fn seeds_get_ids_in_order_and_new_issues_the_next_id_and_number() {
        let def = def();
        let mut store = IssueStore::seeded(def.issues.as_ref());
        let public = store.find("TEST-1").cloned();
        assert_eq!(public.as_ref().map(|i| (i.id, i.number)), Some((10000, 1)));
        assert_eq!(
            store.find("10001").map(|i| store.key(i)),
            Some("TEST-5".into())
        );
        assert_eq!(store.find("test-2").map(|i| i.id), Some(10002));
        for missing in ["TEST-4", "10004", "OTHER-1", "TEST-01", ""] {
            assert_eq!(store.find(missing), None, "{missing}");
        }
        let created = store.create("New".into(), Some(Account::App(0)), None);
        assert_eq!((created.id, store.key(&created)), (10004, "TEST-6".into()));
        assert!(store.remove(created.id));
        assert!(!store.remove(created.id), "removed once");
        assert_eq!(store.find("TEST-6"), None);
        assert!(store.set_summary(10000, "Renamed".into()));
        assert!(!store.set_summary(10004, "Gone".into()), "removed");
        assert_eq!(
            store.find("TEST-1").map(|i| i.summary.as_str()),
            Some("Renamed")
        );
        let ids: Vec<u64> = store.all().iter().map(|i| i.id).collect();
        assert_eq!(ids, [10000, 10001, 10002, 10003], "in id order");
        assert_eq!(store.project(), "TEST");
        let next = store.create("Next".into(), None, None);
        assert_eq!(
            (next.id, next.number),
            (10005, 7),
            "ids and numbers are never reused"
        );
        assert_eq!(IssueStore::seeded(None).find("TEST-1"), None);
    }

    #[test]
    fn a_level_shows_its_issue_to_its_groups_and_reporter_only() {
        let def = def();
        let store = IssueStore::seeded(def.issues.as_ref());
        let (admin, user, app) = (
            Some(Account::User(0)),
            Some(Account::User(1)),
            Some(Account::App(0)),
        );
        let sees = |key: &str, viewer: Option<Account>| {
            store.find(key).is_some_and(|i| visible(&def, i, viewer))
        };
        for viewer in [admin, user, app, None] {
            assert!(sees("TEST-1", viewer), "no level: {viewer:?}");
            assert!(sees("TEST-3", viewer), "a level `anyone` holds: {viewer:?}");
        }
        assert!(sees("TEST-5", admin));
        assert!(!sees("TEST-5", user) && !sees("TEST-5", app) && !sees("TEST-5", None));
        assert!(sees("TEST-2", user), "its reporter, outside the level");
        assert!(sees("TEST-2", admin));
        let by_app = Issue {
            id: 1,
            number: 9,
            summary: "s".into(),
            reporter: Some(Account::App(0)),
            security: Some(0),
        };
        assert!(visible(&def, &by_app, app), "an app reporter sees its own");
        assert!(!visible(&def, &by_app, user));
        let by_nobody = Issue {
            reporter: None,
            ..by_app
        };
        assert!(
            !visible(&def, &by_nobody, None),
            "anonymous is nobody's reporter"
        );
    }
}
