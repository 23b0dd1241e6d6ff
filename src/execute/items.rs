//! Items of list answers: the ids a reached cell saw (every page followed),
//! and the `expect_items` rules judged once every cell has finished.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::Shared;
use super::send::Prepared;
use crate::http::RequestError;
use crate::outcome::{CellId, CellOutcome, CellResult, ItemSet, Verdict};
use crate::suite::Suite;
use crate::suite::decide::{Pointer, Segment};
use crate::suite::items::{Items, ItemsRule, Next};

/// The most ids a cell keeps (the count goes on).
pub(super) const KEPT_IDS: usize = 1000;

/// Why a list answer's ids could not be read; each names the principal.
#[derive(Debug, thiserror::Error)]
pub(super) enum ItemsError {
    /// The page is no JSON.
    #[error("items: the answer to {principal} is not JSON, so `{at}` cannot be read")]
    NotJson { principal: String, at: String },
    /// `at` names nothing, in an answer that is no object.
    #[error("items: `{at}` is not in the answer to {principal}")]
    NoList { principal: String, at: String },
    /// `at` names something else than a list.
    #[error("items: `{at}` in the answer to {principal} is {kind}, not a list")]
    NotAList {
        principal: String,
        at: String,
        kind: &'static str,
    },
    /// An item's id cannot be read.
    #[error("items: item {index} of `{at}` in the answer to {principal}: {problem}")]
    BadItem {
        principal: String,
        at: String,
        index: usize,
        problem: IdProblem,
    },
    /// A page past `max_body`.
    #[error(
        "items: the answer to {principal} is larger than items.max_body ({kib} KiB): raise `items.max_body` (e.g. 8MiB) or ask for smaller pages"
    )]
    TooLarge { principal: String, kib: usize },
    /// The cell's own URL does not parse (never expected).
    #[error("items: the request's URL does not parse")]
    BadUrl,
    /// A next page elsewhere than the cell's request went.
    #[error(
        "items: the next page of the answer to {principal} is on another origin ({origin}): it is not followed with {principal}'s credentials"
    )]
    OtherOrigin { principal: String, origin: String },
    /// A next page already read.
    #[error(
        "items: the next page of the answer to {principal} is one already read ({url}): the pages loop"
    )]
    Loop { principal: String, url: String },
    /// A next page that cannot be built.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// A next page with no answer.
    #[error("items: page {page} for {principal}: {message}")]
    NoAnswer {
        principal: String,
        page: u32,
        message: String,
    },
    /// A next page not sent.
    #[error("items: page {page} for {principal} could not be sent")]
    NotSent { principal: String, page: u32 },
    /// A next page that was not reached.
    #[error("items: page {page} for {principal} ({url}) answered {status}")]
    Refused {
        principal: String,
        page: u32,
        url: String,
        status: u16,
    },
}

/// Why an item has no id.
#[derive(Debug, thiserror::Error)]
pub(super) enum IdProblem {
    /// The id pointer names a list, an object or null.
    #[error("`{pointer}` is {kind}, not a scalar id")]
    NotScalar { pointer: String, kind: &'static str },
    /// The id pointer names nothing.
    #[error("it has no `{pointer}`")]
    Absent { pointer: String },
}

/// The ids of one page, and where the next one is.
struct Page {
    ids: Vec<String>,
    next: Option<NextPage>,
}

/// The next page's request.
enum NextPage {
    /// A URL (absolute, or made absolute against the target).
    Url(url::Url),
    /// A token sent back as this query parameter on the same request.
    Token { param: String, token: String },
}

/// Reads one page: its ids at `items.at`, and its next page.
fn page(
    items: &Items,
    body: &[u8],
    headers: &::http::HeaderMap,
    urls: (&url::Url, &url::Url),
    principal: &str,
) -> Result<Page, ItemsError> {
    // A header's link is relative to the answer that carries it (RFC 8288
    // §3.1); a link in the body to the target.
    let (answered, base) = urls;
    let at = || items.at.text.clone();
    let json: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| ItemsError::NotJson {
            principal: principal.to_string(),
            at: at(),
        })?;
    let list = match pointed(&items.at, &json) {
        Some(serde_json::Value::Array(list)) => list.as_slice(),
        // A list left out of an object is an empty one (MLflow omits them).
        None if json.is_object() => &[],
        None => {
            return Err(ItemsError::NoList {
                principal: principal.to_string(),
                at: at(),
            });
        }
        Some(other) => {
            return Err(ItemsError::NotAList {
                principal: principal.to_string(),
                at: at(),
                kind: kind(other),
            });
        }
    };
    let mut ids = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        ids.push(id_of(items, item).map_err(|problem| ItemsError::BadItem {
            principal: principal.to_string(),
            at: at(),
            index: i,
            problem,
        })?);
    }
    let next = match &items.next {
        None => None,
        Some(Next::Link { header, rel }) => headers
            .get_all(header.as_str())
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| link_with_rel(v, rel))
            .and_then(|target| answered.join(&target).ok())
            .map(NextPage::Url),
        Some(Next::Header(header)) => headers
            .get(header.as_str())
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .and_then(|v| answered.join(v).ok())
            .map(NextPage::Url),
        Some(Next::JsonUrl(pointer)) => match pointed(pointer, &json) {
            Some(serde_json::Value::String(link)) if !link.is_empty() => {
                base.join(link).ok().map(NextPage::Url)
            }
            _ => None,
        },
        Some(Next::JsonToken { pointer, param }) => match pointed(pointer, &json) {
            Some(serde_json::Value::String(token)) if !token.is_empty() => Some(NextPage::Token {
                param: param.clone(),
                token: token.clone(),
            }),
            _ => None,
        },
    };
    Ok(Page { ids, next })
}

/// The value a plain pointer names.
fn pointed<'v>(pointer: &Pointer, root: &'v serde_json::Value) -> Option<&'v serde_json::Value> {
    let mut value = root;
    for segment in &pointer.segments {
        let Segment::Key(key) = segment else {
            return None;
        };
        value = match value {
            serde_json::Value::Object(members) => members.get(key)?,
            serde_json::Value::Array(list) => list.get(key.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(value)
}

fn kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "an object",
    }
}

/// An item's identity: its `id` pointers' values joined with `/`, or the
/// whole item as JSON text.
fn id_of(items: &Items, item: &serde_json::Value) -> Result<String, IdProblem> {
    if items.id.is_empty() {
        return Ok(match item {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        });
    }
    let mut parts = Vec::with_capacity(items.id.len());
    for pointer in &items.id {
        match pointed(pointer, item) {
            Some(serde_json::Value::String(s)) => parts.push(s.clone()),
            Some(value @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => {
                parts.push(value.to_string())
            }
            Some(other) => {
                return Err(IdProblem::NotScalar {
                    pointer: pointer.text.clone(),
                    kind: kind(other),
                });
            }
            None => {
                return Err(IdProblem::Absent {
                    pointer: pointer.text.clone(),
                });
            }
        }
    }
    Ok(parts.join("/"))
}

/// The target of the first link of a `Link` header value with relation `rel`.
fn link_with_rel(value: &str, rel: &str) -> Option<String> {
    for link in value.split(',') {
        let mut parts = link.split(';');
        let target = parts.next()?.trim();
        let target = target.strip_prefix('<')?.strip_suffix('>')?;
        let has_rel = parts.any(|param| {
            let Some((name, values)) = param.trim().split_once('=') else {
                return false;
            };
            name.trim().eq_ignore_ascii_case("rel")
                && values
                    .trim()
                    .trim_matches('"')
                    .split_whitespace()
                    .any(|r| r.eq_ignore_ascii_case(rel))
        });
        if has_rel {
            return Some(target.to_string());
        }
    }
    None
}

/// Every id a reached cell saw: the first page's, then each next page's (as
/// the same principal, counted in the cell's requests) up to `max_pages`.
#[allow(clippy::too_many_arguments)]
pub(super) async fn collect(
    shared: &Shared<'_>,
    id: CellId,
    items: &Items,
    prepared: &Prepared,
    runtime: &super::PrincipalRuntime,
    auth: &dyn crate::auth::Auth,
    first: &crate::http::ReadResponse,
    outcome: &mut CellOutcome,
) -> Result<ItemSet, ItemsError> {
    let principal = &shared.suites[id.suite].principals[id.principal].name;
    let base = &shared.targets[id.suite].base_url;
    let mut current: url::Url = prepared
        .uri_text()
        .parse()
        .map_err(|_| ItemsError::BadUrl)?;
    let mut seen_urls: HashSet<String> = HashSet::from([current.to_string()]);
    let mut ids: BTreeSet<String> = BTreeSet::new();
    let too_large = |response: &crate::http::ReadResponse| {
        response.over_limit.then(|| ItemsError::TooLarge {
            principal: principal.to_string(),
            kib: items.max_body / 1024,
        })
    };
    if let Some(problem) = too_large(first) {
        return Err(problem);
    }
    let mut page_now = page(
        items,
        &first.body,
        &first.headers,
        (&current, base),
        principal,
    )?;
    let mut pages = 1;
    let mut more_pages = false;
    loop {
        ids.extend(page_now.ids.drain(..).map(|i| shared.redactor.mask(&i)));
        let Some(next) = page_now.next.take() else {
            break;
        };
        if pages >= items.max_pages {
            more_pages = true;
            break;
        }
        let url = match next {
            NextPage::Url(url) => url,
            NextPage::Token { param, token } => {
                let mut url = current.clone();
                let kept: Vec<(String, String)> = url
                    .query_pairs()
                    .filter(|(name, _)| *name != param.as_str())
                    .map(|(n, v)| (n.into_owned(), v.into_owned()))
                    .collect();
                url.query_pairs_mut()
                    .clear()
                    .extend_pairs(kept)
                    .append_pair(&param, &token);
                url
            }
        };
        // Credentials go only where the cell's request went.
        if url.origin() != current.origin() {
            return Err(ItemsError::OtherOrigin {
                principal: principal.to_string(),
                origin: shared.redactor.mask(&url.origin().ascii_serialization()),
            });
        }
        if !seen_urls.insert(url.to_string()) {
            return Err(ItemsError::Loop {
                principal: principal.to_string(),
                url: shared.redactor.mask(url.as_str()),
            });
        }
        let next_request = prepared.with_url(&url)?;
        let response =
            super::send::send_with_retries(shared, id, &next_request, runtime, auth, outcome)
                .await
                .map_err(|refused| match refused {
                    CellResult::Error { message, .. } => ItemsError::NoAnswer {
                        principal: principal.to_string(),
                        page: pages + 1,
                        message,
                    },
                    _ => ItemsError::NotSent {
                        principal: principal.to_string(),
                        page: pages + 1,
                    },
                })?;
        if !(200..300).contains(&response.status) {
            return Err(ItemsError::Refused {
                principal: principal.to_string(),
                page: pages + 1,
                url: shared.redactor.mask(url.as_str()),
                status: response.status,
            });
        }
        if let Some(problem) = too_large(&response) {
            return Err(problem);
        }
        page_now = page(
            items,
            &response.body,
            &response.headers,
            (&url, base),
            principal,
        )?;
        pages += 1;
        current = url;
    }
    let count = ids.len();
    Ok(ItemSet {
        ids: ids.into_iter().take(KEPT_IDS).collect(),
        count,
        truncated: count > KEPT_IDS,
        pages,
        more_pages,
    })
}

/// Whether the outcome's report waits for the items rules.
pub(super) fn waits(suites: &[Suite], outcome: &CellOutcome) -> bool {
    !suites[outcome.id.suite].endpoints[outcome.id.endpoint]
        .expect_items
        .is_empty()
}

/// Judges each cell against its `expect_items` rule once every cell has
/// finished: a cell that passed on its status fails when its ids break it.
pub(super) fn apply(shared: &Shared<'_>, outcomes: &mut [CellOutcome]) {
    let seen: HashMap<CellId, BTreeSet<String>> = outcomes
        .iter()
        .filter_map(|o| Some((o.id, ids_of(o)?)))
        .collect();
    for outcome in outcomes.iter_mut() {
        let suite = &shared.suites[outcome.id.suite];
        let endpoint = &suite.endpoints[outcome.id.endpoint];
        let Some(index) = endpoint
            .resolved_items
            .get(outcome.id.principal)
            .copied()
            .flatten()
        else {
            continue;
        };
        if outcome.verdict != Verdict::Passed {
            continue;
        }
        let Some(mine) = seen.get(&outcome.id) else {
            continue;
        };
        let rule = &endpoint.expect_items[index].rule;
        let of = |name: &str| {
            let p = suite.principal_index(name)?;
            seen.get(&CellId {
                principal: p,
                ..outcome.id
            })
        };
        // The cell's ids are masked: so are the rule's, or a secret id
        // (a token listed as an item) would never match its rule.
        let render =
            |t: &crate::suite::Template| shared.redactor.mask(&render_id(shared, outcome.id, t));
        let (total, more_pages, pages) = match &outcome.result {
            CellResult::Responded(o) => o
                .items
                .as_ref()
                .map_or((mine.len(), false, 1), |i| (i.count, i.more_pages, i.pages)),
            _ => (mine.len(), false, 1),
        };
        // Only `includes` can be judged on part of a list.
        let needs_all = !rule.excludes.is_empty()
            || rule.exactly.is_some()
            || rule.count.is_some()
            || rule.subset_of.is_some()
            || rule.same_as.is_some();
        if more_pages && needs_all {
            outcome.verdict = Verdict::Failed;
            outcome.note = Some(format!(
                "items: pages remained after items.max_pages ({pages}): the set is partial, so the rule cannot be judged; raise items.max_pages"
            ));
            continue;
        }
        if let Some(problem) = broken(rule, mine, total, &of, &render) {
            outcome.verdict = Verdict::Failed;
            outcome.note = Some(shared.redactor.mask(&problem));
        }
    }
}

/// The ids a cell saw, when it read items.
fn ids_of(outcome: &CellOutcome) -> Option<BTreeSet<String>> {
    match &outcome.result {
        CellResult::Responded(o) => o.items.as_ref().map(|i| i.ids.iter().cloned().collect()),
        _ => None,
    }
}

/// An id of a rule as the cell's principal renders it (`${own.rec_id}`).
fn render_id(shared: &Shared<'_>, id: CellId, template: &crate::suite::Template) -> String {
    let scope = shared.scope_of(id, &shared.captured[id.suite]);
    template
        .render(&scope)
        .unwrap_or_else(|_| template.raw.clone())
}

/// What breaks `rule` for a cell that saw `mine`; `None` when it holds.
fn broken<'s>(
    rule: &ItemsRule,
    mine: &BTreeSet<String>,
    total: usize,
    of: &dyn Fn(&str) -> Option<&'s BTreeSet<String>>,
    render: &dyn Fn(&crate::suite::Template) -> String,
) -> Option<String> {
    let listed = |ids: &[&String]| -> String {
        let shown: Vec<String> = ids
            .iter()
            .take(10)
            .map(|s| crate::outcome::shown_id(s))
            .collect();
        let more = ids.len().saturating_sub(10);
        if more > 0 {
            format!("{} (+{more} more)", shown.join(", "))
        } else {
            shown.join(", ")
        }
    };
    let missing: Vec<String> = rule
        .includes
        .iter()
        .map(render)
        .filter(|i| !mine.contains(i))
        .collect();
    if !missing.is_empty() {
        let missing: Vec<String> = missing
            .iter()
            .map(|s| crate::outcome::shown_id(s))
            .collect();
        return Some(format!(
            "items: does not see {} (includes)",
            missing.join(", ")
        ));
    }
    let unwanted: Vec<String> = rule
        .excludes
        .iter()
        .map(render)
        .filter(|i| mine.contains(i))
        .collect();
    if !unwanted.is_empty() {
        let unwanted: Vec<String> = unwanted
            .iter()
            .map(|s| crate::outcome::shown_id(s))
            .collect();
        return Some(format!("items: sees {} (excludes)", unwanted.join(", ")));
    }
    if let Some(exactly) = &rule.exactly {
        let wanted: BTreeSet<String> = exactly.iter().map(render).collect();
        let extra: Vec<&String> = mine.difference(&wanted).collect();
        let lacking: Vec<&String> = wanted.difference(mine).collect();
        if !extra.is_empty() || !lacking.is_empty() {
            return Some(format!(
                "items: not exactly the ids asked (sees also: {}; does not see: {})",
                listed(&extra),
                listed(&lacking)
            ));
        }
    }
    // The count is of every id, beyond the 1,000 kept.
    if let Some(count) = rule.count
        && !count.holds(total)
    {
        return Some(format!("items: sees {total} item(s), count {count} asked"));
    }
    if let Some(other) = &rule.subset_of {
        match of(other) {
            Some(theirs) => {
                let beyond: Vec<&String> = mine.difference(theirs).collect();
                if !beyond.is_empty() {
                    return Some(format!(
                        "items: sees {} that {other} does not (subset_of {other})",
                        listed(&beyond)
                    ));
                }
            }
            None => {
                return Some(format!(
                    "items: {other}'s ids are not known (its cell read none)"
                ));
            }
        }
    }
    if let Some(other) = &rule.same_as {
        match of(other) {
            Some(theirs) if theirs == mine => {}
            Some(theirs) => {
                let extra: Vec<&String> = mine.difference(theirs).collect();
                let lacking: Vec<&String> = theirs.difference(mine).collect();
                return Some(format!(
                    "items: not the same as {other} (sees also: {}; does not see: {})",
                    listed(&extra),
                    listed(&lacking)
                ));
            }
            None => {
                return Some(format!(
                    "items: {other}'s ids are not known (its cell read none)"
                ));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers_give_the_next_target() {
        let value = r#"<https://api.example.com/x?page=1>; rel="prev", <https://api.example.com/x?page=3>; rel="next last""#;
        assert_eq!(
            link_with_rel(value, "next").as_deref(),
            Some("https://api.example.com/x?page=3")
        );
        assert_eq!(link_with_rel(value, "first"), None);
        assert_eq!(link_with_rel("garbage", "next"), None);
    }
}
