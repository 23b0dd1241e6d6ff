//! Setup and teardown steps: each sent as its principal (once, or once per
//! principal of `for_each`), its status checked, its captures read from the
//! answer into the suite's [`Captured`] values, secrets among them masked.

use std::sync::Arc;

use super::cell::prepare;
use super::send::{Prepared, send_with_retries};
use super::{ExecError, ExecOptions, ResolvedTarget, Shared, shared_state};
use crate::http::{self, ReadResponse};
use crate::outcome::{CellId, CellOutcome, CellResult, StepRecord, Verdict};
use crate::redact::Redactor;
use crate::suite::Suite;
use crate::suite::steps::{Actor, Capture, CaptureSource, Phase, Step};
use crate::suite::template::Captured;

/// Which steps of which suites run.
pub struct StepSelection<'k> {
    /// Setup or teardown.
    pub phase: Phase,
    /// The suites, by index, in order.
    pub suites: &'k [usize],
    /// Whether step number `n` (from 1) of suite `s` runs: `keep(s, n)`.
    pub keep: &'k dyn Fn(usize, usize) -> bool,
}

/// Runs the selected steps in suite order, filling `captured` (by suite).
/// Setup stops at the first step that fails; teardown runs every step whose
/// captures exist and skips the others.
pub async fn run(
    suites: &[Suite],
    targets: &[ResolvedTarget],
    selection: StepSelection<'_>,
    options: &ExecOptions,
    redactor: Arc<Redactor>,
    captured: &mut [Captured],
    records: &mut Vec<StepRecord>,
) -> Result<(), ExecError> {
    let StepSelection {
        phase,
        suites: which,
        keep,
    } = selection;
    let steps_of = |s: usize| match phase {
        Phase::Setup => suites[s].setup.as_slice(),
        Phase::Teardown => suites[s].teardown.as_slice(),
        // Restore steps run after the cells they follow, not as a phase.
        Phase::Restore => &[],
    };
    let mut needed = Vec::new();
    for &s in which {
        for step in steps_of(s).iter().filter(|step| keep(s, step.number)) {
            for name in step.actor.principals() {
                if let Some(p) = suites[s].principal_index(name) {
                    needed.push((s, p));
                }
            }
        }
    }
    if needed.is_empty() {
        return Ok(());
    }
    // The principals' credentials see what was captured before this phase.
    let before: Vec<Captured> = captured.to_vec();
    let prepared = super::Prepared {
        targets,
        captured: &before,
    };
    let shared = shared_state(suites, prepared, &needed, options, redactor)?;
    'suites: for &s in which {
        for step in steps_of(s).iter().filter(|step| keep(s, step.number)) {
            for name in step.actor.principals() {
                let Some(p) = suites[s].principal_index(name) else {
                    continue;
                };
                let principal = &suites[s].principals[p];
                // What the request carries that is secret is known before it
                // is sent: a URL in a record never shows it.
                let scope = suites[s]
                    .scope(
                        &options.cli_vars,
                        &options.env,
                        Some(targets[s].base_url.as_str().trim_end_matches('/')),
                    )
                    .for_principal(&principal.vars)
                    .with_captured(&captured[s], Some(&principal.name));
                super::cell::register_request_secrets(&shared.redactor, &step.request, &scope);
                let record = run_one(&shared, (s, p, p), step, &mut captured[s]).await;
                let failed = !record.passed && !record.skipped;
                records.push(record);
                if failed && phase == Phase::Setup {
                    break 'suites;
                }
            }
        }
    }
    Ok(())
}

/// Runs `step` as principal `p` of suite `s`, `${own.…}` naming principal
/// `own`'s captures (itself, but for a restore step: the cell's principal).
pub(super) async fn run_one(
    shared: &Shared<'_>,
    (s, p, own): (usize, usize, usize),
    step: &Step,
    captured: &mut Captured,
) -> StepRecord {
    let suite = &shared.suites[s];
    let principal = &suite.principals[p];
    let own_name = suite.own_name(own).to_string();
    let mut record = StepRecord {
        suite: s,
        phase: step.phase,
        number: step.number,
        step: step.label.clone(),
        principal: principal.name.clone(),
        method: step.request.request.method.to_string(),
        url: None,
        status: None,
        expected: step.expect.to_string(),
        passed: false,
        skipped: false,
        error: None,
        captured: Vec::new(),
        line: step.pos.line,
    };
    if let Some(missing) = missing_capture(suite, step, captured, &own_name) {
        record.skipped = true;
        record.error = Some(format!("not sent: `${{{missing}}}` was never captured"));
        return record;
    }
    let id = CellId {
        suite: s,
        endpoint: 0,
        principal: p,
    };
    let rendering = super::cell::Rendering { captured, own };
    let prepared: Prepared = match prepare(shared, id, &step.request, None, rendering) {
        Ok(prepared) => prepared,
        Err(e) => {
            record.error = Some(shared.redactor.mask(&e.to_string()));
            return record;
        }
    };
    record.url = Some(prepared.masked_url.clone());
    let response = match send(shared, id, &prepared).await {
        Ok(response) => response,
        Err(message) => {
            record.error = Some(shared.redactor.mask(&message.to_string()));
            return record;
        }
    };
    record.status = Some(response.status);
    // Every value the answer holds for a capture is read, and the secret ones
    // registered, before any text of the answer is shown: an excerpt of a
    // failed step, or another capture that contains one, never shows them.
    let values: Vec<Result<String, CaptureMiss>> = step
        .captures
        .iter()
        .map(|capture| read_capture(capture, &response))
        .collect();
    for (capture, value) in step.captures.iter().zip(&values) {
        if let Ok(value) = value
            && is_secret(capture, value)
        {
            register_secret(&shared.redactor, capture, value);
        }
    }
    if !step.expect.matches(response.status) {
        let excerpt = http::excerpt(&response.body, &shared.redactor);
        let excerpt = match excerpt.is_empty() {
            true => String::new(),
            false => format!(": {excerpt}"),
        };
        record.error = Some(format!(
            "expected {}, got {}{excerpt}",
            step.expect, response.status
        ));
        return record;
    }
    let mut kept = Vec::new();
    for (capture, value) in step.captures.iter().zip(values) {
        match value {
            Ok(value) => kept.push((capture.name.clone(), value)),
            Err(problem) => {
                record.error = Some(format!(
                    "capture `{}`: {problem} (got {}: {})",
                    capture.name,
                    response.status,
                    http::excerpt(&response.body, &shared.redactor)
                ));
                return record;
            }
        }
    }
    for (name, value) in kept {
        record
            .captured
            .push((name.clone(), shared.redactor.mask(&value)));
        let into = match &step.actor {
            Actor::As(_) => &mut captured.shared,
            Actor::ForEach(_) => captured
                .by_principal
                .entry(principal.name.clone())
                .or_default(),
        };
        into.insert(name, value);
    }
    record.passed = true;
    record
}

/// A capture the step refers to that is not there (for `own`): a teardown
/// step whose setup did not get that far is skipped, not failed.
fn missing_capture(suite: &Suite, step: &Step, captured: &Captured, own: &str) -> Option<String> {
    let declared = |name: &str| {
        (suite.setup.iter().chain(&suite.teardown))
            .flat_map(|s| &s.captures)
            .any(|c| c.name == name)
    };
    step.templates()
        .into_iter()
        .flat_map(|t| t.names())
        .find(|name| {
            let is_capture = name.contains('.') || declared(name);
            is_capture && captured.get(name, Some(own)).is_none()
        })
        .map(str::to_string)
}

/// Why a step got no response.
#[derive(Debug, thiserror::Error)]
enum NoResponse {
    /// The principal has no runtime (never happens for a planned step).
    #[error("principal was not set up")]
    NotSetUp,
    /// Its credentials could not be had.
    #[error("credentials: {0}")]
    Credentials(crate::auth::AuthError),
    /// The request failed (timeout, connection, TLS), already masked.
    #[error("no response: {0}")]
    Failed(String),
}

/// Why a capture found no value in the answer.
#[derive(Debug, thiserror::Error)]
enum CaptureMiss {
    /// A pointer into a body that is not JSON.
    #[error("the body is not JSON, so {0} is not in it")]
    NotJson(String),
    /// The pointer names nothing.
    #[error("{0} is not in the body")]
    Absent(String),
    /// The pointer names a `null`.
    #[error("{0} is null")]
    Null(String),
    /// No such header.
    #[error("the response has no {0} header")]
    NoHeader(String),
    /// The regex found nothing in `place`.
    #[error("regex {regex:?} does not match {place}")]
    NoMatch {
        /// The expression.
        regex: String,
        /// `the body`, or a header's name.
        place: String,
    },
}

/// Sends a step's request with its principal's credentials and the run's
/// retries; the response, or why there is none.
async fn send(
    shared: &Shared<'_>,
    id: CellId,
    prepared: &Prepared,
) -> Result<ReadResponse, NoResponse> {
    let Some(runtime) = &shared.principals[id.suite][id.principal] else {
        return Err(NoResponse::NotSetUp);
    };
    let auth = match &runtime.auth {
        Ok(auth) => auth,
        Err(e) => return Err(NoResponse::Credentials(e.clone())),
    };
    let mut scratch = scratch(id);
    match send_with_retries(shared, id, prepared, runtime, auth.as_ref(), &mut scratch).await {
        Ok(response) => Ok(response),
        Err(CellResult::Error { message, .. }) => Err(NoResponse::Failed(message)),
        Err(_) => Err(NoResponse::Failed("the request was not sent".into())),
    }
}

/// An outcome that only counts a request sent outside the cells (a step's, a
/// verify request's) for the retry machinery.
pub(super) fn scratch(id: CellId) -> CellOutcome {
    CellOutcome {
        id,
        expected: crate::suite::Expectation::Any,
        request: None,
        result: CellResult::Skipped {
            reason: String::new(),
        },
        verdict: Verdict::Skipped,
        attempts: 0,
        elapsed: Default::default(),
        note: None,
        trace: None,
        body: None,
        write: None,
    }
}

/// The value `capture` reads from `response`.
fn read_capture(capture: &Capture, response: &ReadResponse) -> Result<String, CaptureMiss> {
    match &capture.source {
        CaptureSource::Pointer(pointer) => {
            let json: serde_json::Value = serde_json::from_slice(&response.body)
                .map_err(|_| CaptureMiss::NotJson(pointer.clone()))?;
            match json.pointer(pointer) {
                None => Err(CaptureMiss::Absent(pointer.clone())),
                Some(serde_json::Value::Null) => Err(CaptureMiss::Null(pointer.clone())),
                Some(serde_json::Value::String(text)) => Ok(text.clone()),
                Some(other) => Ok(other.to_string()),
            }
        }
        CaptureSource::Header(name) => {
            header_text(response, name).ok_or_else(|| CaptureMiss::NoHeader(name.clone()))
        }
        CaptureSource::Regex { regex, header } => {
            let text = match header {
                Some(name) => header_text(response, name)
                    .ok_or_else(|| CaptureMiss::NoHeader(name.clone()))?,
                None => String::from_utf8_lossy(&response.body).into_owned(),
            };
            let found = regex
                .captures(&text)
                .and_then(|groups| groups.get(1))
                .map(|group| group.as_str().to_string());
            found.ok_or_else(|| CaptureMiss::NoMatch {
                regex: regex.as_str().to_string(),
                place: header.as_deref().unwrap_or("the body").to_string(),
            })
        }
    }
}

/// Every value of header `name`, one per line (`Set-Cookie` comes as several).
fn header_text(response: &ReadResponse, name: &str) -> Option<String> {
    let values: Vec<String> = response
        .headers
        .get_all(name)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    (!values.is_empty()).then(|| values.join("\n"))
}

/// Registers a secret capture: a JWT by its signature, whatever else as a
/// whole; from a header, each of its values on its own, a cookie's value
/// without its name and attributes, a credential without its scheme.
fn register_secret(redactor: &Redactor, capture: &Capture, value: &str) {
    redactor.add_token(value);
    let header = match &capture.source {
        CaptureSource::Header(name) => name.to_ascii_lowercase(),
        CaptureSource::Regex {
            header: Some(name), ..
        } => name.to_ascii_lowercase(),
        _ => return,
    };
    for part in value.lines().map(str::trim) {
        redactor.add_token(part);
        match header.as_str() {
            "set-cookie" | "cookie" => {
                for pair in part.split(';') {
                    if let Some((_, cookie)) = pair.split_once('=') {
                        redactor.add(cookie.trim().trim_matches('"'));
                    }
                    if header == "set-cookie" {
                        break; // the rest are attributes: Path=/, Max-Age=…
                    }
                }
            }
            "authorization" | "proxy-authorization" => {
                if let Some((_, credential)) = part.split_once(' ') {
                    redactor.add_token(credential.trim());
                }
            }
            _ => {}
        }
    }
}

/// Whether a captured value is masked: asked with `secret: true`, read from a
/// header that carries credentials, named like one, or itself a JWT.
fn is_secret(capture: &Capture, value: &str) -> bool {
    let header = match &capture.source {
        CaptureSource::Header(name) => Some(name.as_str()),
        CaptureSource::Regex { header, .. } => header.as_deref(),
        CaptureSource::Pointer(_) => None,
    };
    let credential_header = header.is_some_and(|name| {
        http::is_credential_header(name)
            || name.eq_ignore_ascii_case("set-cookie")
            || name.eq_ignore_ascii_case("www-authenticate")
    });
    let credential_field = match &capture.source {
        CaptureSource::Pointer(pointer) => pointer
            .rsplit('/')
            .next()
            .is_some_and(http::is_credential_field),
        _ => false,
    };
    capture.secret
        || credential_header
        || credential_field
        || http::is_credential_field(&capture.name)
        || looks_like_jwt(value)
}

/// Three base64url parts, the first a JSON header (`eyJ…`).
fn looks_like_jwt(value: &str) -> bool {
    let parts: Vec<&str> = value.trim().split('.').collect();
    parts.len() == 3
        && parts[0].starts_with("eyJ")
        && parts[..2].iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

/// The steps whose requests change state (POST, PUT, PATCH, DELETE…), as
/// `setup step 1 (POST /notes)`.
pub fn mutating(suite: &Suite) -> Vec<String> {
    suite
        .setup
        .iter()
        .chain(&suite.teardown)
        .filter(|step| step.request.is_mutation())
        .map(|step| {
            let line = format!(
                "{} {}",
                step.request.request.method, step.request.request.target.raw
            );
            let what = if step.label == line {
                line
            } else {
                format!("{}: {line}", step.label)
            };
            format!("{} step {} ({what})", step.phase.as_str(), step.number)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwts_are_recognised_and_ids_are_not() {
        assert!(looks_like_jwt(
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
        ));
        assert!(!looks_like_jwt("10042"));
        assert!(!looks_like_jwt("a.b.c"));
        assert!(!looks_like_jwt("eyJ.has space.x"));
    }
}
