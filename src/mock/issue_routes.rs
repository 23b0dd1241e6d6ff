//! What routes with `issue:` answer once the caller passed the route's checks:
//! create, read, edit and delete over the issue store, with Jira's statuses and
//! bodies (search is [`super::issue_search`]).

use std::sync::PoisonError;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::issues::{Account, IssueRequest, IssueStore, issue_json, self_url, visible};
use super::jira_error::error;
use super::state::MockState;
use crate::suite::mock_def::{IssueAction, IssuesDef, MockDef, MockRoute, segments};

/// Jira's 404 for an issue that does not exist or that the caller may not see:
/// the two are indistinguishable, so existence is not disclosed.
pub(crate) const NOT_VISIBLE: &str =
    "Issue does not exist or you do not have permission to see it.";

/// Jira's 400 for a body that is not JSON, on the routes that read one.
const NOT_JSON: &str = "The request body is not JSON: send {\"fields\": {\"summary\": ...}}.";
/// Jira's field error for a summary that is missing or blank.
const NO_SUMMARY: &str = "You must specify a summary of the issue.";

/// The store's answer on `route` for `caller` (`None`: anonymous), who passed its checks.
pub(crate) fn answer(
    state: &MockState,
    route: &MockRoute,
    action: IssueAction,
    caller: Option<Account>,
    request: &IssueRequest<'_>,
) -> Response {
    let def = &state.def;
    let Some(issues) = &def.issues else {
        // Loading refuses an `issue:` route without `issues:`.
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the mock keeps no issues",
        );
    };
    let mut store = state.issues.lock().unwrap_or_else(PoisonError::into_inner);
    let path = segments(request.path);
    match action {
        IssueAction::Create => create(issues, &mut store, caller, request),
        IssueAction::Read => {
            let id_or_key = last_segment(&path);
            match store.find(&id_or_key) {
                Some(issue) if route.ignore_security || visible(def, issue, caller) => {
                    let parent = path.split_last().map(|(_, p)| p).unwrap_or_default();
                    let url = self_url(request.origin, parent, issue.id);
                    axum::Json(issue_json(def, &store, issue, &url)).into_response()
                }
                _ => error(StatusCode::NOT_FOUND, NOT_VISIBLE),
            }
        }
        IssueAction::Delete => {
            let id_or_key = last_segment(&path);
            let Some(issue) = store.find(&id_or_key).filter(|i| visible(def, i, caller)) else {
                return error(StatusCode::NOT_FOUND, NOT_VISIBLE);
            };
            let reporter = caller.is_some() && issue.reporter == caller;
            let id = issue.id;
            if !reporter && !holds(def, route, caller) {
                // The flaw `apply_when_denied` demonstrates: refused, yet deleted.
                if route.apply_when_denied {
                    store.remove(id);
                }
                return error(
                    StatusCode::FORBIDDEN,
                    "You do not have permission to delete issues in this project.",
                );
            }
            store.remove(id);
            StatusCode::NO_CONTENT.into_response()
        }
        IssueAction::Edit => edit(def, route, &mut store, caller, request, &path),
        IssueAction::Search => super::issue_search::answer(def, route, &store, caller, request),
    }
}

/// `edit`: 404 when the caller does not see the issue; the summary of
/// `{"fields": {"summary": …}}` set and 204 when it reported the issue or holds
/// the route's permission; else 403, with the change applied all the same on a
/// route with `apply_when_denied` (the flaw it demonstrates); an allowed edit
/// on a route with `ignore_when_allowed` is answered 204 and not applied.
fn edit(
    def: &MockDef,
    route: &MockRoute,
    store: &mut IssueStore,
    caller: Option<Account>,
    request: &IssueRequest<'_>,
    path: &[String],
) -> Response {
    let id_or_key = last_segment(path);
    let Some(issue) = store.find(&id_or_key).filter(|i| visible(def, i, caller)) else {
        return error(StatusCode::NOT_FOUND, NOT_VISIBLE);
    };
    let id = issue.id;
    let allowed = (caller.is_some() && issue.reporter == caller) || holds(def, route, caller);
    let denied = || {
        error(
            StatusCode::FORBIDDEN,
            "You do not have permission to edit issues in this project.",
        )
    };
    if !allowed && !route.apply_when_denied {
        return denied();
    }
    let summary = match edited_summary(request.body) {
        Ok(summary) => summary,
        Err(_) if !allowed => return denied(),
        Err(bad) => return bad.response(),
    };
    // `ignore_when_allowed`: the flaw of a write answered 204 and dropped.
    if let Some(summary) = summary
        && !(allowed && route.ignore_when_allowed)
    {
        store.set_summary(id, summary);
    }
    match allowed {
        true => StatusCode::NO_CONTENT.into_response(),
        false => denied(),
    }
}

/// Why an edit's body is refused.
enum BadEdit {
    /// It is not JSON.
    NotJson,
    /// Its summary is blank or not a string.
    NoSummary,
}

impl BadEdit {
    /// Jira's 400 for it.
    fn response(self) -> Response {
        match self {
            BadEdit::NotJson => error(StatusCode::BAD_REQUEST, NOT_JSON),
            BadEdit::NoSummary => field_error("summary", NO_SUMMARY),
        }
    }
}

/// The summary an edit's body sets (`None`: the body sets none).
fn edited_summary(body: &[u8]) -> Result<Option<String>, BadEdit> {
    let Ok(body) = serde_json::from_slice::<Value>(body) else {
        return Err(BadEdit::NotJson);
    };
    match body.get("fields").and_then(|f| f.get("summary")) {
        None => Ok(None),
        Some(Value::String(summary)) if !summary.trim().is_empty() => {
            Ok(Some(summary.trim().to_string()))
        }
        Some(_) => Err(BadEdit::NoSummary),
    }
}

/// Whether `caller` holds the route's permission: a user through its groups;
/// an app's own user holds what its scopes grant and an anonymous caller got
/// this far only when `anyone` holds it (as in the route's checks).
fn holds(def: &MockDef, route: &MockRoute, caller: Option<Account>) -> bool {
    let (Some(permission), Some(Account::User(user))) = (&route.permission, caller) else {
        return true;
    };
    let groups = def
        .users
        .get(user)
        .map(|u| u.groups.as_slice())
        .unwrap_or_default();
    def.holders(permission).iter().any(|g| groups.contains(g))
}

fn create(
    issues: &IssuesDef,
    store: &mut IssueStore,
    caller: Option<Account>,
    request: &IssueRequest<'_>,
) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(request.body) else {
        return error(StatusCode::BAD_REQUEST, NOT_JSON);
    };
    let fields = &body["fields"];
    let summary = fields["summary"]
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let Some(summary) = summary else {
        return field_error("summary", NO_SUMMARY);
    };
    let security = match &fields["security"] {
        Value::Null => None,
        level => match security_level(issues, level) {
            Ok(found) => Some(found),
            Err(message) => return field_error("security", message),
        },
    };
    let issue = store.create(summary.to_string(), caller, security);
    let path = segments(request.path);
    let url = self_url(request.origin, &path, issue.id);
    let answer = json!({"id": issue.id.to_string(), "key": store.key(&issue), "self": url});
    (StatusCode::CREATED, axum::Json(answer)).into_response()
}

/// The level `{"name": …}` or `{"id": …}` names, or the message Jira gives.
fn security_level(issues: &IssuesDef, level: &Value) -> Result<usize, &'static str> {
    let id = match &level["id"] {
        Value::String(id) => Some(id.clone()),
        Value::Number(id) => Some(id.to_string()),
        _ => None,
    };
    let found = match (id, level["name"].as_str()) {
        (Some(id), _) => issues.level_with_id(&id),
        (None, Some(name)) => issues.level_named(name),
        (None, None) => return Err("Specify a valid security level (id or name)"),
    };
    found.ok_or("Specify a valid value for Security Level")
}

/// Jira's ErrorCollection for one field.
pub(super) fn field_error(field: &str, message: &str) -> Response {
    let body = json!({"errorMessages": [], "errors": {field: message}});
    (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
}

/// The path's last segment, percent-decoded.
fn last_segment(path: &[String]) -> String {
    let last = path.last().map(String::as_str).unwrap_or_default();
    percent_encoding::percent_decode_str(last)
        .decode_utf8_lossy()
        .into_owned()
}
