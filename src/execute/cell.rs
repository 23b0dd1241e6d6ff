//! One cell: build its request, authorize it, send it (retrying where allowed), observe.

use std::time::Instant;

use reqwest::header::{HeaderName, HeaderValue, LOCATION, WWW_AUTHENTICATE};

use super::{Shared, timeout_of, trace};
use crate::http::{self, CellRequest, EncodedBody, ReadResponse, RequestError};
use crate::judge::judge;
use crate::outcome::{
    CellId, CellOutcome, CellResult, ErrorKind, Fact, FactSource, Observation, SentRequest,
};
use crate::retry;
use crate::suite::Endpoint;

/// A cell's request, rendered once and rebuilt for each attempt.
pub(super) struct Prepared {
    pub(super) method: reqwest::Method,
    /// The URL as the request carries it, parsed once.
    uri: ::http::Uri,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Option<EncodedBody>,
    /// The URL, masked, as reports show it.
    pub(super) masked_url: String,
    /// The request as a curl command, credentials as shell variables, when asked for.
    curl: Option<String>,
    /// How much of the answer's body is read (`items.max_body` raises it).
    pub(super) body_limit: usize,
}

impl Prepared {
    /// The URL as the request carries it.
    pub(super) fn uri_text(&self) -> String {
        self.uri.to_string()
    }

    /// The same request to another URL (a list's next page).
    pub(super) fn with_url(&self, url: &url::Url) -> Result<Prepared, RequestError> {
        Ok(Prepared {
            method: self.method.clone(),
            uri: uri_of(url)?,
            headers: self.headers.clone(),
            body: self.body.clone(),
            masked_url: self.masked_url.clone(),
            curl: None,
            body_limit: self.body_limit,
        })
    }
}

/// Runs one cell to its outcome; never fails (failures are outcomes).
pub(super) async fn run(shared: &Shared<'_>, id: CellId) -> CellOutcome {
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
    };
    outcome.result = attempt_cell(shared, id, endpoint, &mut outcome).await;
    outcome.verdict = judge(&outcome.expected, &outcome.result);
    outcome.elapsed = started.elapsed();
    outcome
}

async fn attempt_cell(
    shared: &Shared<'_>,
    id: CellId,
    endpoint: &Endpoint,
    outcome: &mut CellOutcome,
) -> CellResult {
    let suite = &shared.suites[id.suite];
    let target = &shared.targets[id.suite];
    let fixed = shared.fixed_urls[id.suite][id.endpoint].as_ref();
    let prepared = match prepare(shared, id, endpoint, fixed, &shared.captured[id.suite]) {
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
                    Err(message) => {
                        return CellResult::Error {
                            kind: ErrorKind::Request,
                            message: shared.redactor.mask(&message),
                        };
                    }
                }
            }
            CellResult::Responded(observation)
        }
        Err(refused) => refused,
    }
}

/// Sends the cell's request, signed afresh for each attempt, retrying 429 and
/// 503 (honouring `Retry-After`) and refused connections within the suite's
/// `retries` and the run's wait budget; the response, or the cell's result
/// without one.
pub(super) async fn send_with_retries(
    shared: &Shared<'_>,
    id: CellId,
    prepared: &Prepared,
    runtime: &super::PrincipalRuntime,
    auth: &dyn crate::auth::Auth,
    outcome: &mut CellOutcome,
) -> Result<ReadResponse, CellResult> {
    let suite = &shared.suites[id.suite];
    let timeout = timeout_of(suite, shared.options);
    let retries = suite.target.retries;
    let mut waited = std::time::Duration::ZERO;
    loop {
        outcome.attempts += 1;
        let attempt = outcome.attempts;
        // Pace before signing, so a waiting request never carries a stale token.
        if let Some(pacer) = &shared.pacers[id.suite] {
            pacer.wait().await;
        }
        // A slot of the run's concurrency is held while a request is in
        // flight, never while a cell waits to retry.
        let Ok(permit) = shared.in_flight.acquire().await else {
            return Err(CellResult::Error {
                kind: ErrorKind::Request,
                message: "the run was shut down".into(),
            });
        };
        let request = match authorized(shared, id, auth, prepared, outcome).await {
            Ok(request) => request,
            Err(refused) => return Err(refused),
        };
        let sent = runtime
            .transport
            .send(request, timeout, prepared.body_limit)
            .await;
        drop(permit);
        match sent {
            Ok(response) => {
                let retry_after = retry::is_retryable_status(response.status)
                    .then(|| retry::wait_after_status(&response.headers, attempt));
                let budget = &shared.retry_budgets[id.suite];
                let mut budget_spent = false;
                if let Some(wait) = retry_after
                    && attempt <= retries
                    && waited + wait <= retry::MAX_TOTAL_WAIT
                {
                    if budget.take() {
                        waited += wait;
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    budget_spent = true;
                    if budget.first_refusal() {
                        shared.notice(format!(
                            "{} kept answering {}: its run-wide budget of {} retries is spent, later cells were not retried",
                            shared.origins[id.suite],
                            response.status,
                            budget.total
                        ));
                    }
                }
                if budget_spent {
                    outcome.note = Some(format!(
                        "{} not retried: the target's retry budget is spent",
                        response.status
                    ));
                } else if retry_after.is_some() && attempt > 1 {
                    outcome.note = Some(format!(
                        "still {} after {} retries",
                        response.status,
                        attempt - 1
                    ));
                }
                if let Some(trace) = &mut outcome.trace {
                    trace::response(trace, &response, &shared.redactor);
                    trace.auth_notes = masked_notes(shared, auth);
                    trace.tls = trace::tls(shared, id, &runtime.transport);
                }
                return Ok(response);
            }
            Err(e) if e.kind == ErrorKind::Connect && e.retryable && attempt <= retries => {
                tokio::time::sleep(retry::backoff(attempt)).await;
            }
            Err(e) => {
                if let Some(trace) = &mut outcome.trace {
                    trace.tls = trace::tls(shared, id, &runtime.transport);
                }
                if e.while_connecting {
                    shared.connect_timeouts[id.suite]
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                return Err(CellResult::Error {
                    kind: e.kind,
                    message: shared.redactor.mask(&e.message),
                });
            }
        }
    }
}

/// One attempt's request with the principal's credentials, traced for
/// `explain`; credentials that cannot be had end the cell as an error.
async fn authorized(
    shared: &Shared<'_>,
    id: CellId,
    auth: &dyn crate::auth::Auth,
    prepared: &Prepared,
    outcome: &mut CellOutcome,
) -> Result<CellRequest, CellResult> {
    let mut request = build(prepared);
    if let Err(e) = auth.authorize(&mut request).await {
        if shared.options.trace {
            outcome.trace = Some(Box::new(crate::outcome::Trace {
                auth_notes: masked_notes(shared, auth),
                ..Default::default()
            }));
        }
        // A probe that finds nothing to break (a grant's token that is no
        // JWT) has no cell to run, which is no error.
        if let Some(reason) = e.0.strip_prefix(crate::auth::tamper::NOT_APPLICABLE) {
            return Err(CellResult::Skipped {
                reason: shared.redactor.mask(reason.trim()),
            });
        }
        return Err(CellResult::Error {
            kind: ErrorKind::Auth,
            message: format!("credentials: {}", shared.redactor.mask(&e.0)),
        });
    }
    if shared.options.trace {
        let context_path = shared.targets[id.suite].base_url.path();
        let mut traced = trace::request(&request, context_path, &shared.redactor);
        let principal = &shared.suites[id.suite].principals[id.principal];
        // Kept only when `explain --curl` asks: it is a live credential.
        traced.fresh_credential = (shared.options.curl)
            .then(|| super::curl::fresh_slot(principal))
            .flatten()
            .and_then(|slot| {
                Some(crate::outcome::FreshCredential {
                    value: trace::credential(&request, &slot.place)?,
                    variable: slot.variable,
                })
            });
        outcome.trace = Some(Box::new(traced));
    }
    Ok(request)
}

/// What the auth mode's setup did, masked.
fn masked_notes(shared: &Shared<'_>, auth: &dyn crate::auth::Auth) -> Vec<String> {
    auth.notes()
        .iter()
        .map(|n| shared.redactor.mask(n))
        .collect()
}

/// The request of `endpoint` (a cell's, or a step's) as `id`'s principal
/// sends it; `fixed` is its URL when no variable goes into it.
pub(super) fn prepare(
    shared: &Shared<'_>,
    id: CellId,
    endpoint: &Endpoint,
    fixed: Option<&(url::Url, ::http::Uri)>,
    captured: &crate::suite::template::Captured,
) -> Result<Prepared, RequestError> {
    let suite = &shared.suites[id.suite];
    let principal = &suite.principals[id.principal];
    let base_url = shared.targets[id.suite]
        .base_url
        .as_str()
        .trim_end_matches('/');
    let scope = suite
        .scope(
            &shared.options.cli_vars,
            &shared.options.env,
            Some(base_url),
        )
        .for_principal(&principal.vars)
        .with_captured(captured, Some(suite.own_name(id.principal)));
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

/// A URL as the request carries it.
pub(super) fn uri_of(url: &url::Url) -> Result<::http::Uri, RequestError> {
    url.as_str()
        .parse()
        .map_err(|e: ::http::uri::InvalidUri| RequestError::Uri {
            url: url.to_string(),
            reason: e.to_string(),
        })
}

/// The request of one attempt: the body is shared, not copied.
fn build(prepared: &Prepared) -> CellRequest {
    let body = prepared
        .body
        .as_ref()
        .map(|b| b.bytes.clone())
        .unwrap_or_default();
    let mut request = CellRequest::new(body);
    *request.method_mut() = prepared.method.clone();
    *request.uri_mut() = prepared.uri.clone();
    let headers = request.headers_mut();
    for (name, value) in &prepared.headers {
        headers.insert(name.clone(), value.clone());
    }
    if let Some(body) = &prepared.body {
        http::set_content_type(headers, body);
    }
    request
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
    let rules = crate::decide::Rules {
        rules: endpoint.decide.iter().chain(&target.decide).collect(),
        graphql: endpoint.graphql.is_some(),
        codes: &target.graphql_codes,
    };
    let decision = crate::decide::decide(
        &rules,
        &crate::decide::Response {
            status: response.status,
            headers: &response.headers,
            body: &response.body,
            incomplete: response.body_cut || response.over_limit,
        },
        &|text| shared.redactor.mask(&http::printable(text)),
    );
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
