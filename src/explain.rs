//! `permatrix explain`: one cell, verbosely — the request as sent, its JWTs
//! decoded, the canonical request and qsh, the token exchange, the response,
//! and a one-line reading of the result.

use std::fmt::Write as _;
use std::path::PathBuf;

use crate::app::{CommandError, Ending, Finished, NOTHING_RUN, command_session};
use crate::execute::ExecOptions;
use crate::outcome::StepRecord;
use crate::outcome::{CellId, CellOutcome, CellResult, ErrorKind, Verdict};
use crate::session::{Completion, SessionError, StepChoice, TargetChoice};
use crate::suite::diag::nearest;
use crate::suite::steps::Phase;
use crate::suite::{AuthSpec, Suite};

/// What `permatrix explain` needs.
#[derive(Clone, Debug, Default)]
pub struct ExplainConfig {
    /// The suite file.
    pub suite: PathBuf,
    /// The endpoint's name.
    pub endpoint: String,
    /// The principal's name.
    pub principal: String,
    /// `--base-url` / `--mock`.
    pub target: TargetChoice,
    /// Engine settings and interpolation sources.
    pub exec: ExecOptions,
    /// `--curl`: end with a curl command that re-sends the request, a signed
    /// or fetched credential in a variable set to the one just used.
    pub curl: bool,
    /// `--snapshots`: where the suite's snapshot is, for the lints the cell
    /// is a witness of (`None`: none are looked for).
    pub snapshots: Option<PathBuf>,
}

/// Runs one cell (after its principal's canary, as `run` does) and returns
/// everything about it as text; ends `Passed` when the cell passed, `Failed` when not.
pub fn explain(config: &ExplainConfig) -> Result<Finished, CommandError> {
    let session = command_session(
        std::slice::from_ref(&config.suite),
        &config.target,
        &config.exec,
    )?;
    let Some(suite) = session.suites.first() else {
        return Err(CommandError::Usage(format!(
            "{} holds no suite",
            config.suite.display()
        )));
    };
    let id = find_cell(suite, &config.endpoint, &config.principal)?;
    let started = session
        .start()
        .map_err(|e| CommandError::from_session(e, NOTHING_RUN))?;
    let exec = ExecOptions {
        trace: true,
        curl: config.curl,
        ..config.exec.clone()
    };
    let cells = session.with_canaries(vec![id]);
    let guarded = session.guarded_steps(&cells);
    if !guarded.is_empty() {
        return Err(CommandError::Session(SessionError::MutatingSteps(guarded)));
    }
    let mut outcomes = Vec::new();
    let run = started
        .execute_with_steps(
            &cells,
            &exec,
            StepChoice::NeededBy(id),
            &mut outcomes,
            |_| {},
        )
        .map_err(|e| CommandError::from_session(e, NOTHING_RUN))?;
    let steps_failed = run.steps.iter().any(|s| s.fails_run());
    let outcome = outcomes.into_iter().find(|o| o.id == id);
    if outcome.is_none() && !run.setup_failed && run.completion == Completion::Finished {
        return Err(CommandError::Setup("the cell did not run".into()));
    }
    let mut text = steps_section(&run.steps, Phase::Setup);
    match &outcome {
        Some(outcome) => {
            text.push_str(&render(suite, outcome));
            if let Some(dir) = &config.snapshots {
                text.push_str(&lint_lines(suite, outcome, dir));
            }
        }
        None => {
            text.push_str("cell     not sent: a setup step failed or the run was interrupted\n")
        }
    }
    text.push_str(&steps_section(&run.steps, Phase::Teardown));
    let cell_failed = outcome.as_ref().is_none_or(|o| o.verdict.fails_run());
    let ending = match run.completion {
        Completion::Interrupted => Ending::Interrupted,
        Completion::Finished if steps_failed || cell_failed => Ending::Failed,
        Completion::Finished => Ending::Passed,
    };
    if let (true, Some(outcome)) = (config.curl, &outcome) {
        text.push_str(&curl_section(outcome));
    }
    Ok(Finished {
        ending,
        lines: vec![text.trim_end_matches('\n').to_string()],
        notes: Vec::new(),
    })
}

/// The lint findings this cell is a witness of, over the suite's recorded
/// matrix with the cell's new answer in place (`lint` lines with their
/// hints); nothing without a snapshot.
fn lint_lines(suite: &Suite, outcome: &CellOutcome, dir: &std::path::Path) -> String {
    let path = crate::snapshot::path_for(dir, &suite.name);
    let Ok(Some(recorded)) = crate::snapshot::read_recorded(&path) else {
        return String::new();
    };
    let status = outcome.decided().and_then(|d| d.status());
    let findings = crate::snapshot::lints_with(suite, &recorded, outcome.id, status);
    let mut text = String::new();
    for finding in findings {
        let Some(id) = finding.kind.lint() else {
            continue;
        };
        let _ = writeln!(
            text,
            "lint     {}: {} (over {} with this answer)\n         {}",
            id.as_str(),
            id.explanation(),
            path.display(),
            finding.hint
        );
    }
    text
}

/// The steps of `phase` that ran, each with its status and what it captured
/// (masked where secret); empty when none ran.
fn steps_section(steps: &[StepRecord], phase: Phase) -> String {
    let mut out = String::new();
    for (i, step) in steps.iter().filter(|s| s.phase == phase).enumerate() {
        let label = if i == 0 { phase.as_str() } else { "" };
        let what = crate::report::cells::step_result(step);
        // Sent: its method and URL; not sent: its name (the request line as written).
        let request = match &step.url {
            Some(url) => format!("{} {url}", step.method),
            None => step.step.clone(),
        };
        let _ = writeln!(out, "{label:<9}{request} as {}: {what}", step.principal);
        for (name, value) in &step.captured {
            let _ = writeln!(out, "{:<9}  ${{{name}}} = {value}", "");
        }
    }
    out
}

/// The `curl` section: the command that re-sends the cell's request, after
/// the assignment of a credential signed or fetched for it (valid briefly).
fn curl_section(outcome: &CellOutcome) -> String {
    let Some(curl) = outcome.request.as_ref().and_then(|r| r.curl.as_ref()) else {
        return "curl     (no request was built)\n".into();
    };
    let mut lines: Vec<String> = Vec::new();
    let fresh = outcome
        .trace
        .as_ref()
        .and_then(|t| t.fresh_credential.as_ref());
    if let Some(fresh) = fresh {
        lines.push(format!(
            "# {} holds the credential this request just carried: it expires soon (a Connect JWT's qsh also binds it to this method, path and query)",
            fresh.variable
        ));
        lines.push(format!(
            "{}={}",
            fresh.variable,
            crate::suite::template::shell_single_quoted(&fresh.value)
        ));
    }
    lines.extend(
        curl.lines()
            .filter(|l| fresh.is_none() || !l.starts_with('#'))
            .map(str::to_string),
    );
    let mut text = String::new();
    for (i, line) in lines.iter().enumerate() {
        let label = if i == 0 { "curl" } else { "" };
        text.push_str(&format!("{label:<9}{line}\n"));
    }
    text
}

/// The cell of `--endpoint` × `--principal`; a name the suite lacks is a
/// usage error with the nearest name or the list.
fn find_cell(suite: &Suite, endpoint: &str, principal: &str) -> Result<CellId, CommandError> {
    let missing = |what: &str, name: &str, names: Vec<&str>| {
        let hint = nearest(name, names.iter().copied())
            .map(|n| format!("; did you mean `{n}`?"))
            .unwrap_or_else(|| format!("; the {what}s are: {}", names.join(", ")));
        CommandError::Usage(format!(
            "suite `{}` has no {what} named `{name}`{hint}",
            suite.name
        ))
    };
    let e = suite
        .endpoints
        .iter()
        .position(|e| e.name == endpoint)
        .ok_or_else(|| {
            missing(
                "endpoint",
                endpoint,
                suite.endpoints.iter().map(|e| e.name.as_str()).collect(),
            )
        })?;
    let p = suite
        .principals
        .iter()
        .position(|p| p.name == principal)
        .ok_or_else(|| {
            missing(
                "principal",
                principal,
                suite.principals.iter().map(|p| p.name.as_str()).collect(),
            )
        })?;
    Ok(CellId {
        suite: 0,
        endpoint: e,
        principal: p,
    })
}

/// The endpoint's documented scopes, and whether the principal holds them
/// (with what its scopes imply).
fn requirement(
    suite: &Suite,
    principal: &crate::suite::Principal,
    required: &crate::suite::Required,
) -> String {
    let documented = format!("{} (the endpoint's `scopes:`)", required.describe());
    let Some(held) = &principal.scopes else {
        return documented;
    };
    let closure = suite.scope_rules.closure(held);
    match required.met_by(&closure) {
        Some(_) => format!("{documented}: held"),
        None => {
            let missing: Vec<&str> = required
                .alternatives
                .iter()
                .min_by_key(|a| a.iter().filter(|s| !closure.contains(*s)).count())
                .into_iter()
                .flatten()
                .filter(|s| !closure.contains(*s))
                .map(String::as_str)
                .collect();
            format!("{documented}: NOT held, missing {}", missing.join(", "))
        }
    }
}

/// The explanation of one outcome, as printed.
pub fn render(suite: &Suite, outcome: &CellOutcome) -> String {
    let endpoint = &suite.endpoints[outcome.id.endpoint];
    let principal = &suite.principals[outcome.id.principal];
    let mut out = String::new();
    // Every line of a text under its label's column: a body's own lines can
    // never pass for one of the labels (`verdict  PASSED`).
    let mut line = |label: &str, text: &str| {
        for (i, part) in text.split('\n').enumerate() {
            let label = if i == 0 { label } else { "" };
            let _ = writeln!(out, "{label:<9}{part}");
        }
    };
    line(
        "cell",
        &format!("{} › {} › {}", suite.name, endpoint.name, principal.name),
    );
    if let Some(scopes) = principal.scopes_label() {
        line("scopes", &scopes);
    }
    if let Some(required) = &endpoint.scopes {
        line("requires", &requirement(suite, principal, required));
    }
    line("auth", auth_mode(&principal.auth));
    line("expect", &outcome.expected.to_string());
    let trace = outcome.trace.as_deref();
    if let Some(trace) = trace {
        for (i, note) in trace.auth_notes.iter().enumerate() {
            line(if i == 0 { "token" } else { "" }, note);
        }
        if !trace.method.is_empty() {
            line("request", &format!("{} {}", trace.method, trace.url));
            for (name, value) in &trace.request_headers {
                line("", &format!("{name}: {value}"));
            }
        }
        for (place, header, claims) in &trace.jwts {
            line("jwt", &format!("in {place}"));
            line("", &format!("header {header}"));
            line("", &format!("claims {claims}"));
        }
        if let Some((canonical, hash)) = &trace.canonical {
            line("qsh", &format!("canonical request {canonical}"));
            let claimed: Vec<&str> = trace
                .jwts
                .iter()
                .filter_map(|(_, _, c)| c["qsh"].as_str())
                .collect();
            let verdict = match claimed.first() {
                Some(claim) if *claim == hash => "the token's qsh claim matches",
                Some(_) => "the token's qsh claim DIFFERS: the server will answer 401",
                None => "the token has no qsh claim",
            };
            line("", &format!("sha256 {hash} ({verdict})"));
        }
        for (i, tls) in trace.tls.iter().enumerate() {
            line(if i == 0 { "tls" } else { "" }, tls);
        }
    } else if let Some(request) = &outcome.request {
        line("request", &format!("{} {}", request.method, request.url));
    }
    if let Some(needs) = mock_requirements(suite, outcome) {
        line("needs", &needs);
    }
    match &outcome.result {
        CellResult::Responded(o) => {
            line("response", &o.status.to_string());
            if let Some(trace) = trace {
                for (name, value) in &trace.response_headers {
                    line("", &format!("{name}: {value}"));
                }
                if !trace.body.is_empty() {
                    line("body", &trace.body);
                }
            }
            if let Some(decision) = &o.decision {
                line(
                    "decision",
                    &format!("{} — {}", decision.decided, decision.detail()),
                );
            }
        }
        CellResult::Error { message, .. } => line("error", message),
        CellResult::Skipped { reason } => line("skipped", reason),
    }
    if let Some(body) = &outcome.body {
        let expected = body
            .expected
            .map_or(String::new(), |e| format!(" (expect_body: {})", e.as_str()));
        line(
            "compare",
            &format!("body {}{expected}", body.fact.against(&body.with)),
        );
    }
    let verdict = match (outcome.verdict, outcome.result_shown()) {
        (Verdict::Failed, Some(status))
            if outcome.body.as_ref().is_some_and(|b| b.mismatched()) =>
        {
            let body = outcome.body.as_ref().map_or(String::new(), |b| {
                crate::outcome::BodyComparison::phrase(b.fact, &b.with)
            });
            format!(
                "FAILED: {status} is within {}, but with {body}",
                outcome.expected
            )
        }
        (Verdict::Passed, Some(status)) => {
            format!("PASSED: {status} is within {}", outcome.expected)
        }
        (Verdict::Failed, Some(status)) => {
            format!("FAILED: expected {}, got {status}", outcome.expected)
        }
        (verdict, _) => verdict.as_str().to_uppercase(),
    };
    if let Some(write) = &outcome.write {
        let verify = suite.endpoints[outcome.id.endpoint]
            .writes
            .as_ref()
            .and_then(|w| w.verify.as_ref());
        let read_by = verify.map_or(String::new(), |v| {
            format!(
                ", read by {}'s `{}` before and after",
                v.principal, v.request.name
            )
        });
        let expected = write
            .expected
            .map_or(String::new(), |e| format!(" (expect_trace: {e})"));
        let what = match &write.detail {
            Some(detail) => format!("{} ({detail})", write.trace),
            None => write.trace.to_string(),
        };
        line("trace", &format!("{what}{read_by}{expected}"));
        if let Some(failed) = &write.restore_failed {
            line("restore", &format!("failed: {failed}"));
        }
    }
    line("verdict", &verdict);
    line("reading", &reading(outcome, &principal.auth));
    out
}

/// What the serving mock's route requires, so a refusal can be read against it.
fn mock_requirements(suite: &Suite, outcome: &CellOutcome) -> Option<String> {
    let def = suite.mock.as_deref()?;
    let request = outcome.request.as_ref()?;
    let path = url::Url::parse(&request.url).ok()?.path().to_string();
    let route = def.route_for(&request.method.parse().ok()?, &path)?;
    if let Some(graphql) = &route.graphql {
        let anonymous = if graphql.anonymous {
            ", anonymous may query"
        } else {
            ""
        };
        return Some(format!(
            "per root field: {}{anonymous} (the mock's GraphQL route {} {})",
            graphql.requirements(),
            route.method,
            route.template
        ));
    }
    let mut needs = format!("scope {}", route.scope);
    if let Some(permission) = &route.permission {
        needs.push_str(&format!(", permission {permission}"));
    }
    if route.anonymous {
        needs.push_str(", anonymous allowed");
    }
    if !route.impersonation {
        needs.push_str(", no impersonation");
    }
    Some(format!(
        "{needs} (the mock's route {} {})",
        route.method, route.template
    ))
}

fn auth_mode(auth: &AuthSpec) -> &'static str {
    match auth {
        AuthSpec::None => "none (anonymous)",
        AuthSpec::Basic { .. } => "basic",
        AuthSpec::Bearer { .. } => "bearer",
        AuthSpec::Header { .. } => "header",
        AuthSpec::Query { .. } => "query (an API key as a query parameter)",
        AuthSpec::Cookie { .. } => "cookie (an API key as a cookie)",
        AuthSpec::Login(_) => "login",
        AuthSpec::ConnectJwt(_) => "connect_jwt (a fresh HS256 JWT per request, bound by its qsh)",
        AuthSpec::JwtBearerGrant(_) => {
            "jwt_bearer_grant (OAuth 2.0 JWT-bearer grant, sent as Bearer)"
        }
        AuthSpec::ClientCredentials(_) => "client_credentials (OAuth 2.0, sent as Bearer)",
        AuthSpec::Jwt(_) => "jwt (self-signed)",
    }
}

/// One line saying what the result means.
pub fn reading(outcome: &CellOutcome, auth: &AuthSpec) -> String {
    if let Some(write) = outcome
        .write
        .as_ref()
        .filter(|_| outcome.verdict == Verdict::DeniedButApplied)
    {
        return format!(
            "the server refused this write but applied it anyway ({}): it checks permission after it writes, or not at all on this path",
            write.phrase()
        );
    }
    if let Some(note) = &outcome.note {
        return match outcome.verdict {
            Verdict::CredentialsRejected => {
                format!("{note}: this denial says nothing about the permission")
            }
            Verdict::AcceptedTampered => format!(
                "{note}: the server let in a credential it should have refused; check how it verifies this auth mode"
            ),
            _ => note.clone(),
        };
    }
    let o = match &outcome.result {
        CellResult::Responded(o) => o,
        CellResult::Error {
            kind: ErrorKind::Auth,
            ..
        } => {
            return "the credentials could not be obtained: see the token endpoint's answer above"
                .into();
        }
        CellResult::Error {
            kind: ErrorKind::Timeout,
            ..
        } => {
            return "no answer within the timeout: the target is slow or the request hangs".into();
        }
        CellResult::Error {
            kind: ErrorKind::Connect,
            ..
        } => {
            return "the target could not be reached: check the base URL and that the service runs"
                .into();
        }
        CellResult::Error { .. } => return "the request could not be sent".into(),
        CellResult::Skipped { reason } => return reason.clone(),
    };
    let said = format!(
        "{} {}",
        o.www_authenticate.as_deref().unwrap_or(""),
        o.excerpt
    )
    .to_lowercase();
    let anonymous = matches!(auth, AuthSpec::None);
    if let Some(decision) = o.overruled() {
        let reason = decision
            .reason
            .as_deref()
            .map_or(String::new(), |r| format!(" ({r})"));
        let meaning = match decision.decided {
            crate::outcome::Decided::Partial => format!(
                "some fields were denied ({}), the rest answered",
                decision.denied.join(", ")
            ),
            crate::outcome::Decided::Other => "neither reached nor denied".to_string(),
            crate::outcome::Decided::Status(200..=299) => "reached".to_string(),
            crate::outcome::Decided::Status(401) => {
                "the answer says the caller is not authenticated".to_string()
            }
            crate::outcome::Decided::Status(403) => {
                "refused: the principal lacks the permission or the scope (a rule's reason often names it)".to_string()
            }
            crate::outcome::Decided::Status(404) => "hidden, or not there".to_string(),
            crate::outcome::Decided::Status(status) => format!("read as {status}"),
        };
        return format!(
            "the status was {} but {} reads the answer as {}{reason}: {meaning}",
            o.status, decision.by, decision.decided
        );
    }
    let unexpected = !outcome.expected.accepts(o.decided());
    match o.status {
        200..=299 if unexpected => format!(
            "reached, though {} was expected: this principal can use the endpoint — a possible security hole",
            outcome.expected
        ),
        200..=299 => "reached: this principal can use the endpoint".into(),
        300..=399 => format!(
            "redirected to {} (not followed): usually a login page, i.e. the credentials were not taken as an API credential",
            o.location.as_deref().unwrap_or("(no Location)")
        ),
        400 if !anonymous => "400: the request was refused as malformed — for a JWT, one that does not parse".into(),
        401 if anonymous => "401 without credentials: the endpoint needs authentication".into(),
        401 if said.contains("scope does not match") => {
            "401 \"scope does not match\": the token is valid but its scopes do not cover this endpoint — an OAuth bearer token gets 401, not 403, for a missing scope; compare the token's scope with the endpoint's required scope".into()
        }
        401 => "401 with credentials: the credentials were rejected, not the permission — check the token (expired? wrong secret? qsh?), its scope and the endpoint's required scope".into(),
        403 if said.contains("not in an authorized api scope") => {
            "403 \"not in an authorized API scope\": the app is authenticated, but its Connect scopes do not include the one this endpoint needs".into()
        }
        403 => "403: the credentials were accepted; the principal lacks the permission (or the app the scope) this endpoint needs".into(),
        404 => "404: the endpoint does not exist, or it hides the object from this principal (no permission to see it)".into(),
        429 | 503 => "the server asked to slow down or is unavailable, even after the retries".into(),
        500..=599 => "the server failed: not an authorization answer".into(),
        status => format!("{status}: neither reached nor denied"),
    }
}
