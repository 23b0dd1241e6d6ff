//! One request as a principal sends it: built once, signed afresh for each
//! attempt, sent with retries on 429/503 and refused connections.

use reqwest::header::{HeaderName, HeaderValue};

use super::{Shared, timeout_of, trace};
use crate::http::{self, CellRequest, EncodedBody, ReadResponse, RequestError};
use crate::outcome::{CellId, CellOutcome, CellResult, ErrorKind};
use crate::retry;

/// A cell's request, rendered once and rebuilt for each attempt.
pub(super) struct Prepared {
    pub(super) method: reqwest::Method,
    /// The URL as the request carries it, parsed once.
    pub(super) uri: ::http::Uri,
    pub(super) headers: Vec<(HeaderName, HeaderValue)>,
    pub(super) body: Option<EncodedBody>,
    /// The URL, masked, as reports show it.
    pub(super) masked_url: String,
    /// The request as a curl command, credentials as shell variables, when asked for.
    pub(super) curl: Option<String>,
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
