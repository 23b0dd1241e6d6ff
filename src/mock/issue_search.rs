//! What an `issue: search` route answers: the issues the caller sees, in id
//! order, in Jira's search shape, a page at a time (`startAt`, `maxResults`),
//! narrowed by a `jql` of the form `project = KEY` (any other JQL is ignored).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::issues::{Account, IssueRequest, IssueStore, issue_json, self_url, visible};
use super::jira_error::error;
use crate::suite::mock_def::{MockDef, MockRoute, segments};

/// The page size when `maxResults` is not given (Jira's default).
const DEFAULT_MAX_RESULTS: usize = 50;
/// The largest page Jira's search serves; a larger `maxResults` is clamped to it.
const MAX_RESULTS_CAP: usize = 100;

/// What the query string asks for.
#[derive(Debug, PartialEq, Eq)]
struct Query {
    /// `startAt`: how many of the matching issues to skip.
    start_at: usize,
    /// `maxResults`: how many to list at most.
    max_results: usize,
    /// The project a `jql` of `project = KEY` names, upper-cased.
    project: Option<String>,
}

/// The page of issues `caller` sees (every issue on a route with `ignore_security`).
pub(super) fn answer(
    def: &MockDef,
    route: &MockRoute,
    store: &IssueStore,
    caller: Option<Account>,
    request: &IssueRequest<'_>,
) -> Response {
    let query = match read_query(request.query) {
        Ok(query) => query,
        Err(bad) => return error(StatusCode::BAD_REQUEST, &bad.to_string()),
    };
    if let Some(project) = &query.project
        && project != store.project()
    {
        // Jira's answer for a project that does not exist or that the caller cannot browse.
        let message = format!("The value '{project}' does not exist for the field 'project'.");
        return error(StatusCode::BAD_REQUEST, &message);
    }
    let path = segments(request.path);
    let mut parent: Vec<String> = path
        .split_last()
        .map(|(_, p)| p.to_vec())
        .unwrap_or_default();
    parent.push("issue".into());
    let seen: Vec<_> = store
        .all()
        .iter()
        .filter(|issue| route.ignore_security || visible(def, issue, caller))
        .collect();
    let issues: Vec<Value> = seen
        .iter()
        .skip(query.start_at)
        .take(query.max_results)
        .map(|issue| {
            issue_json(
                def,
                store,
                issue,
                &self_url(request.origin, &parent, issue.id),
            )
        })
        .collect();
    let body = json!({
        "startAt": query.start_at,
        "maxResults": query.max_results,
        "total": seen.len(),
        "issues": issues,
    });
    axum::Json(body).into_response()
}

/// `startAt` (default 0, negative is 0), `maxResults` (default 50, clamped to
/// 0..=100) and `jql`; a number that is not an integer is Jira's 400 message.
fn read_query(query: Option<&str>) -> Result<Query, BadCount> {
    let mut read = Query {
        start_at: 0,
        max_results: DEFAULT_MAX_RESULTS,
        project: None,
    };
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match name.as_ref() {
            "startAt" => read.start_at = count(&name, &value)?,
            "maxResults" => read.max_results = count(&name, &value)?.min(MAX_RESULTS_CAP),
            "jql" => read.project = jql_project(&value),
            _ => {}
        }
    }
    Ok(read)
}

/// A count parameter that is no integer: Jira's 400 message.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("The value '{value}' is invalid for the {name} parameter.")]
struct BadCount {
    /// The parameter.
    name: String,
    /// Its value as sent.
    value: String,
}

/// A count parameter: an integer, negative ones read as 0, huge ones as the largest count.
fn count(name: &str, value: &str) -> Result<usize, BadCount> {
    let value = value.trim();
    let digits = value.strip_prefix('-').unwrap_or(value);
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(BadCount {
            name: name.to_string(),
            value: value.to_string(),
        });
    }
    if value.starts_with('-') {
        return Ok(0);
    }
    Ok(digits.parse().unwrap_or(usize::MAX))
}

/// The key `jql` names when it is exactly `project = KEY` (spaces, quotes and
/// case free); `None` for any other JQL, which the mock ignores.
fn jql_project(jql: &str) -> Option<String> {
    let (field, value) = jql.split_once('=')?;
    if !field.trim().eq_ignore_ascii_case("project") {
        return None;
    }
    let value = value.trim();
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    let key = !value.is_empty() && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    key.then(|| value.to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_string_gives_a_clamped_page_and_a_project() {
        let page = |q: &str| read_query(Some(q));
        let expect = |start_at, max_results, project: Option<&str>| {
            Ok(Query {
                start_at,
                max_results,
                project: project.map(str::to_string),
            })
        };
        assert_eq!(read_query(None), expect(0, 50, None));
        assert_eq!(page("startAt=2&maxResults=1"), expect(2, 1, None));
        assert_eq!(page("maxResults=1000&startAt=-3"), expect(0, 100, None));
        assert_eq!(page("maxResults=0"), expect(0, 0, None));
        assert_eq!(
            page("maxResults=99999999999999999999999"),
            expect(0, 100, None)
        );
        assert_eq!(page("jql=project%3DTEST"), expect(0, 50, Some("TEST")));
        assert_eq!(
            page("jql=project+%3D+%22test%22"),
            expect(0, 50, Some("TEST"))
        );
        for ignored in [
            "jql=project+%3D+TEST+AND+status%3DOpen",
            "jql=project+!%3D+TEST",
            "jql=order+by+key",
            "jql=",
            "jql=assignee%3Dme",
        ] {
            assert_eq!(page(ignored), expect(0, 50, None), "{ignored}");
        }
        for bad in ["maxResults=ten", "startAt=", "startAt=1.5", "maxResults=-"] {
            assert!(page(bad).is_err(), "{bad}");
        }
        assert_eq!(
            page("maxResults=ten").map_err(|e| e.to_string()),
            Err("The value 'ten' is invalid for the maxResults parameter.".to_string())
        );
    }
}
