//! One cell: build its request, authorize it, send it (retrying where allowed), observe.

use std::time::Instant;

use reqwest::header::{HeaderName, HeaderValue, LOCATION, WWW_AUTHENTICATE};

use super::Shared;
use super::send::{Prepared, send_with_retries, uri_of};
use crate::http::{self, ReadResponse, RequestError};
use crate::judge::judge;
use crate::outcome::{
    CellId, CellOutcome, CellResult, ErrorKind, Fact, FactSource, Observation, SentRequest,
};
use crate::suite::Endpoint;

/// Runs one cell to its outcome; never fails (failures are outcomes).
pub(super) async fn run(shared: &Shared<'_>, id: CellId) -> CellOutcome {
    run_in(shared, id, &shared.captured[id.suite]).await
}

/// [`run`], its request rendered with `captured` (what restore steps
/// captured since setup, for the cells of endpoints that check their writes).
pub(super) async fn run_in(
    shared: &Shared<'_>,
    id: CellId,
    captured: &crate::suite::template::Captured,
) -> CellOutcome {
    let started = Instant::now();
    let suite = &shared.suites[id.suite];
    let endpoint = &suite.endpoints[id.endpoint];
    let expected = endpoint.resolved[id.principal].clone();
    let mut outcome = CellOutcome {
        id,
        expected,
        request: None,
        result: CellResult::Skipped {
            reason: String::new(),
        },
        verdict: crate::outcome::Verdict::Skipped,
        attempts: 0,
        elapsed: Default::default(),
        note: None,
        trace: None,
        body: None,
        write: None,
    };
    outcome.result = attempt_cell(shared, id, endpoint, captured, &mut outcome).await;
    outcome.verdict = judge(&outcome.expected, &outcome.result);
    outcome.elapsed = started.elapsed();
    outcome
}

async fn attempt_cell(
    shared: &Shared<'_>,
    id: CellId,
    endpoint: &Endpoint,
    captured: &crate::suite::template::Captured,
    outcome: &mut CellOutcome,
) -> CellResult {
    let suite = &shared.suites[id.suite];
    let target = &shared.targets[id.suite];
    let fixed = shared.fixed_urls[id.suite][id.endpoint].as_ref();
    let rendering = Rendering {
        captured,
        own: id.principal,
    };
    let prepared = match prepare(shared, id, endpoint, fixed, rendering) {
        Ok(p) => p,
        // `${own.x}` for a principal no `for_each` step ran as, in the
        // request or in a var it uses: the cell does not apply to it.
        Err(RequestError::Unresolved(name)) if name.starts_with("own.") => {
            let principal = &suite.principals[id.principal].name;
            return CellResult::Skipped {
                reason: format!(
                    "`${{{name}}}` was not captured for {principal}: no `for_each` setup step ran as it"
                ),
            };
        }
        Err(message) => {
            return CellResult::Error {
                kind: ErrorKind::Request,
                message: shared.redactor.mask(&message.to_string()),
            };
        }
    };
    outcome.request = Some(SentRequest {
        method: prepared.method.to_string(),
        url: prepared.masked_url.clone(),
        curl: prepared.curl.clone(),
    });
    let allowed = crate::plan::mutation_allowed(
        suite,
        id.endpoint,
        target.is_mock,
        shared.options.allow_mutations,
    );
    if !allowed {
        return CellResult::Skipped {
            reason: format!(
                "{} not sent to a real target: set `allow_mutations: true` in the suite's target or pass --allow-mutations",
                prepared.method
            ),
        };
    }
    let Some(runtime) = &shared.principals[id.suite][id.principal] else {
        return CellResult::Error {
            kind: ErrorKind::Request,
            message: "principal was not set up".into(),
        };
    };
    let auth = match &runtime.auth {
        Ok(auth) => auth,
        Err(e) => {
            return CellResult::Error {
                kind: ErrorKind::Auth,
                message: format!("credentials: {e}"),
            };
        }
    };
    match send_with_retries(shared, id, &prepared, runtime, auth.as_ref(), outcome).await {
        Ok(response) => {
            let mut observation = observe(shared, id, endpoint, &response);
            // A list is read on reached cells only: a denied cell saw nothing.
            if let Some(items) = &endpoint.items
                && observation.decided().reached()
            {
                let read = super::items::collect(
                    shared,
                    id,
                    items,
                    &prepared,
                    runtime,
                    auth.as_ref(),
                    &response,
                    outcome,
                )
                .await;
                match read {
                    Ok(set) => observation.items = Some(Box::new(set)),
                    Err(problem) => {
                        return CellResult::Error {
                            kind: ErrorKind::Request,
                            message: shared.redactor.mask(&problem.to_string()),
                        };
                    }
                }
            }
            CellResult::Responded(observation)
        }
        Err(refused) => refused,
    }
}

/// What a request is rendered with besides its sender's variables.
#[derive(Clone, Copy)]
pub(super) struct Rendering<'c> {
    /// What the steps captured.
    pub(super) captured: &'c crate::suite::template::Captured,
    /// The principal `${own.…}` names: the sender, or the cell whose write a
    /// verify request or restore step is about.
    pub(super) own: usize,
}

/// The request of `endpoint` (a cell's, or a step's) as `id`'s principal
/// sends it; `fixed` is its URL when no variable goes into it.
pub(super) fn prepare(
    shared: &Shared<'_>,
    id: CellId,
    endpoint: &Endpoint,
    fixed: Option<&(url::Url, ::http::Uri)>,
    rendering: Rendering<'_>,
) -> Result<Prepared, RequestError> {
    let suite = &shared.suites[id.suite];
    let principal = &suite.principals[id.principal];
    let scope = shared.scope_for(id, rendering.own, rendering.captured);
    let (url, uri) = match fixed {
        Some(fixed) => fixed.clone(),
        None => {
            let url = url_of(endpoint, &shared.targets[id.suite], &scope)?;
            let uri = uri_of(&url)?;
            (url, uri)
        }
    };
    let method = endpoint.request.method.clone();
    let mut headers = Vec::new();
    let mut endpoint_headers = Vec::new();
    for (i, (name, template)) in endpoint
        .headers
        .iter()
        .chain(&principal.headers)
        .enumerate()
    {
        let value = http::render(template, &scope)?;
        if http::is_credential_header(name) {
            shared.redactor.add(&value);
        }
        if shared.options.curl && i < endpoint.headers.len() {
            endpoint_headers.push((name.as_str(), template, value.clone()));
        }
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| RequestError::HeaderName(name.clone()))?;
        let value = HeaderValue::from_str(&value)
            .map_err(|_| RequestError::HeaderValue(name.to_string()))?;
        headers.push((name, value));
    }
    let body = endpoint
        .body
        .as_ref()
        .map(|b| http::render_body(b, &scope))
        .transpose()?;
    let masked_url = shared.redactor.mask(url.as_str());
    let curl = shared.options.curl.then(|| {
        let has_content_type = headers
            .iter()
            .any(|(name, _)| name == reqwest::header::CONTENT_TYPE);
        let command = super::curl::command(
            &super::curl::CurlParts {
                method: method.as_str(),
                url: &masked_url,
                endpoint_headers,
                has_content_type,
                body: body.as_ref(),
            },
            principal,
            |text| shared.redactor.mask(text),
        );
        match principal.probe {
            // The command sends the principal's credential intact: say so.
            Some(of) => format!(
                "# tamper probe {}: the run sent this credential broken ({}); this command sends it intact\n{command}",
                of.probe.as_str(),
                of.probe.describe()
            ),
            None => command,
        }
    });
    Ok(Prepared {
        method,
        uri,
        headers,
        body,
        masked_url,
        curl,
        body_limit: endpoint
            .items
            .as_ref()
            .map_or(http::BODY_LIMIT, |items| items.max_body),
    })
}

/// The endpoint's URL at `target`, its variables rendered in `scope`.
pub(super) fn url_of(
    endpoint: &Endpoint,
    target: &super::ResolvedTarget,
    scope: &crate::suite::Scope<'_>,
) -> Result<url::Url, RequestError> {
    let path = http::render(&endpoint.request.target, scope)?;
    let mut query = endpoint
        .query
        .iter()
        .map(|(name, value)| Ok((name.clone(), http::render(value, scope)?)))
        .collect::<Result<Vec<_>, RequestError>>()?;
    // GraphQL over HTTP GET: the variables go as one JSON-encoded parameter.
    if let Some(variables) = endpoint
        .graphql
        .as_ref()
        .and_then(|g| g.get_variables.as_ref())
    {
        query.push((
            "variables".to_string(),
            http::render_json(variables, scope)?.to_string(),
        ));
    }
    http::build_url(&target.base_url, &path, &query)
}

/// Registers what a request carries that is a secret though no auth mode
/// sent it: the value of every variable whose name says it is one
/// (`API_KEY`, `*_TOKEN`…, its default included) in the request line's query,
/// `query:`, headers and body (not the path: `${APP_KEY}` in a path names an
/// app), and a `query:` value under a credential's name (`api_key`, `token`…,
/// not `keyword`).
pub(super) fn register_request_secrets(
    redactor: &crate::redact::Redactor,
    endpoint: &Endpoint,
    scope: &crate::suite::Scope<'_>,
) {
    let register = |template: &crate::suite::Template, query_only: bool| {
        for (name, value) in template.rendered_vars(scope, query_only) {
            if http::is_secret_variable(name) {
                redactor.add(&value);
            }
        }
    };
    register(&endpoint.request.target, true);
    let rest = endpoint
        .query
        .iter()
        .map(|(_, t)| t)
        .chain(endpoint.headers.iter().map(|(_, t)| t))
        .chain(endpoint.body.iter().flat_map(|b| b.templates()))
        // A GraphQL GET's variables travel in the query string.
        .chain(
            endpoint
                .graphql
                .iter()
                .flat_map(|g| g.get_variables.iter().flat_map(|v| v.templates())),
        );
    for template in rest {
        register(template, false);
    }
    for (param, template) in &endpoint.query {
        if http::is_credential_param(param)
            && let Ok(value) = template.render(scope)
        {
            redactor.add(&value);
        }
    }
}

/// What `--record` keeps of a response: the headers that matter for
/// authorization (and those asked for), the body cut past the limit, all masked.
fn recorded(
    shared: &Shared<'_>,
    limits: &super::RecordLimits,
    response: &ReadResponse,
) -> crate::outcome::RecordedResponse {
    // A session a response sets is a secret, wherever it is kept.
    http::register_cookies(&response.headers, &shared.redactor);
    let mut headers = std::collections::BTreeMap::new();
    for name in super::RECORDED_HEADERS
        .iter()
        .copied()
        .chain(limits.headers.iter().map(String::as_str))
    {
        let values: Vec<String> = response
            .headers
            .get_all(name)
            .iter()
            .map(|v| shared.redactor.mask(&String::from_utf8_lossy(v.as_bytes())))
            .collect();
        if !values.is_empty() {
            headers.insert(name.to_ascii_lowercase(), values.join(", "));
        }
    }
    let text = String::from_utf8_lossy(&response.body);
    let mut body = shared.redactor.masked(&text).into_owned();
    if body.len() > limits.max_body {
        let mut cut = limits.max_body;
        while !body.is_char_boundary(cut) {
            cut -= 1;
        }
        let total = body.len();
        body.truncate(cut);
        body.push_str(&format!(
            "…[cut by permatrix --record-max-body: {total} bytes in all]"
        ));
    }
    crate::outcome::RecordedResponse { headers, body }
}

fn observe(
    shared: &Shared<'_>,
    id: CellId,
    endpoint: &Endpoint,
    response: &ReadResponse,
) -> Observation {
    let header_text = |name: &str| {
        let values: Vec<String> = response
            .headers
            .get_all(name)
            .iter()
            .map(|v| {
                shared
                    .redactor
                    .mask(&http::printable(&String::from_utf8_lossy(v.as_bytes())))
            })
            .collect();
        (!values.is_empty()).then(|| values.join(", "))
    };
    let mut facts = Vec::new();
    for name in &endpoint.snapshot.headers {
        let lower = name.to_ascii_lowercase();
        let value = header_text(&lower).unwrap_or_else(|| "(absent)".into());
        facts.push(Fact {
            source: FactSource::Header(lower),
            value,
        });
    }
    if let Some(pointer) = &endpoint.snapshot.body {
        let value = serde_json::from_slice::<serde_json::Value>(&response.body)
            .ok()
            .and_then(|json| json.pointer(pointer).map(|v| v.to_string()))
            .unwrap_or_else(|| {
                // A cut body is not an absent value: the snapshot must not read it as one.
                if response.body_cut {
                    "(body cut)"
                } else {
                    "(absent)"
                }
                .into()
            });
        facts.push(Fact {
            source: FactSource::Body(pointer.clone()),
            value: shared.redactor.mask(&http::printable(&value)),
        });
    }
    let target = &shared.suites[id.suite].target;
    // Nothing to read beyond the status: no rule list is built, no body parsed.
    let reads_body =
        endpoint.graphql.is_some() || !endpoint.decide.is_empty() || !target.decide.is_empty();
    let decision = reads_body
        .then(|| {
            let rules = crate::decide::Rules {
                rules: endpoint.decide.iter().chain(&target.decide).collect(),
                graphql: endpoint.graphql.is_some(),
                codes: &target.graphql_codes,
            };
            crate::decide::decide(
                &rules,
                &crate::decide::Response {
                    status: response.status,
                    headers: &response.headers,
                    body: &response.body,
                    incomplete: response.body_cut || response.over_limit,
                },
                &|text| shared.redactor.mask(&http::printable(text)),
            )
        })
        .flatten();
    Observation {
        status: response.status,
        decision: decision.map(Box::new),
        items: None,
        www_authenticate: header_text(WWW_AUTHENTICATE.as_str()),
        location: header_text(LOCATION.as_str()),
        recorded: shared
            .options
            .record
            .as_ref()
            .map(|limits| Box::new(recorded(shared, limits, response))),
        comparable: endpoint
            .compare
            .as_ref()
            .map(|compare| super::compare::comparable(&response.body, &compare.ignore)),
        excerpt: if response.body_cut {
            format!(
                "{} (body cut: it went quiet for {} s before it ended)",
                http::excerpt(&response.body, &shared.redactor),
                http::BODY_DEADLINE.as_secs()
            )
        } else {
            http::excerpt(&response.body, &shared.redactor)
        },
        facts,
    }
}
