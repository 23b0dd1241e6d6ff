//! `run --record FILE`: a real run's matrix written as a mock definition that
//! replays it. Every credential the suite reads from a variable gets a fake
//! value in the recording's `vars`, and each principal is recognised by what
//! it sends under those fakes (a salted hash of it, for static credentials),
//! so the recording holds no real secret.

mod callers;
mod write;

use std::collections::{BTreeMap, BTreeSet};

use crate::outcome::{CellOutcome, CellResult};
use crate::suite::Suite;
use crate::suite::recording::{
    ORIGIN_MARK, RecordedAnswer, RecordedRoute, Recording, route_line, salted_hash,
};
use crate::suite::template::Scope;

pub use write::{RecordError, write};

/// Why a run cannot be recorded, known before anything is sent.
pub fn refusal(suites: &[Suite]) -> Option<String> {
    if suites.len() != 1 {
        return Some(format!(
            "--record writes one suite's recording, and this run has {}: record them one at a time",
            suites.len()
        ));
    }
    let suite = &suites[0];
    if suite.mock.is_some() {
        return Some(format!(
            "--record records a real target, and suite `{}` is served by the embedded mock: set its base URL or pass --base-url",
            suite.name
        ));
    }
    if !suite.setup.is_empty() || !suite.teardown.is_empty() {
        return Some(format!(
            "--record cannot record suite `{}`: its setup and teardown steps would not be replayed",
            suite.name
        ));
    }
    if let Some(endpoint) = suite.endpoints.iter().find(|e| e.checks_writes()) {
        return Some(format!(
            "--record cannot record suite `{}`: endpoint `{}` checks its writes (`verify:`, `restore:`), and a replay answers each request the same way every time",
            suite.name, endpoint.name
        ));
    }
    None
}

/// The salt of a suite's recording: the same for every recording of it, so
/// that recordings are byte-identical.
pub fn salt_of(suite: &Suite) -> String {
    salted_hash("permatrix recording", suite.name.as_bytes())[..16].to_string()
}

/// What a recording is made from.
pub struct Inputs<'a> {
    /// The suite.
    pub suite: &'a Suite,
    /// Its index in the run.
    pub index: usize,
    /// The run's outcomes.
    pub outcomes: &'a [CellOutcome],
    /// `--var`.
    pub cli: &'a BTreeMap<String, String>,
    /// The environment.
    pub env: &'a BTreeMap<String, String>,
    /// The recording this one is merged into (`--filter`/`--principal`).
    pub previous: Option<(Recording, BTreeMap<String, String>)>,
    /// The run's secrets: a variable whose value is one gets a fake.
    pub redactor: &'a crate::redact::Redactor,
    /// The recorded target's origin (`https://host:port`), replaced in
    /// headers and bodies by [`crate::suite::recording::ORIGIN_MARK`].
    pub origin: String,
}

/// A recording made, with its `vars` and what was left out.
pub struct Made {
    /// The recording.
    pub recording: Recording,
    /// Its `vars`: fakes for credentials, real values for the rest.
    pub vars: BTreeMap<String, String>,
    /// Cells not recorded (skipped, errored), one line each.
    pub left_out: Vec<String>,
}

/// Makes the recording of a run.
pub fn make(inputs: Inputs<'_>) -> Made {
    let suite = inputs.suite;
    let salt = salt_of(suite);
    let vars = recording_vars(suite, inputs.cli, inputs.env, &salt, inputs.redactor);
    let empty = BTreeMap::new();
    let scope = Scope {
        cli: &vars,
        principal: None,
        suite: &suite.vars,
        mock: None,
        env: &empty,
        base_url: Some(REPLAY_BASE),
        captured: None,
        own: None,
    };
    let (mut recording, previous_vars) = match inputs.previous {
        Some((recording, vars)) if recording.suite == suite.name => (recording, vars),
        _ => (
            Recording {
                suite: suite.name.clone(),
                ..Recording::default()
            },
            BTreeMap::new(),
        ),
    };
    recording.salt = salt.clone();
    let mut left_out = Vec::new();
    // Tamper probes are not recorded: their callers would share the
    // credentials of their principal, and a replay has nothing to check.
    for (p, principal) in suite.principals.iter().enumerate() {
        if principal.probe.is_some() {
            continue;
        }
        let ran = inputs
            .outcomes
            .iter()
            .any(|o| o.id.suite == inputs.index && o.id.principal == p);
        if !ran && recording.callers.contains_key(&principal.name) {
            continue;
        }
        let scope = scope.for_principal(&principal.vars);
        let faked = |name: &str| vars.get(name).is_some_and(|v| v.starts_with("fake-"));
        match callers::check_of(principal, &scope, &salt, &faked) {
            Ok(check) => {
                recording.callers.insert(principal.name.clone(), check);
            }
            Err(why) => left_out.push(format!("{}: not replayable: {why}", principal.name)),
        }
    }
    let base = url::Url::parse(REPLAY_BASE).ok();
    // The callers are known now: which query parameters are credentials too.
    let credential_params: Vec<String> = recording
        .credential_params()
        .into_iter()
        .map(str::to_string)
        .collect();
    let credential_params: Vec<&str> = credential_params.iter().map(String::as_str).collect();
    for outcome in inputs
        .outcomes
        .iter()
        .filter(|o| o.id.suite == inputs.index)
    {
        let endpoint = &suite.endpoints[outcome.id.endpoint];
        let principal = &suite.principals[outcome.id.principal];
        if principal.probe.is_some() {
            continue;
        }
        let cell = format!("{} × {}", endpoint.name, principal.name);
        let observation = match &outcome.result {
            CellResult::Responded(o) => o,
            CellResult::Skipped { reason } => {
                left_out.push(format!("{cell}: skipped ({reason})"));
                continue;
            }
            CellResult::Error { message, .. } => {
                left_out.push(format!("{cell}: no response ({message})"));
                continue;
            }
        };
        let Some(recorded) = &observation.recorded else {
            continue;
        };
        if !recording.callers.contains_key(&principal.name) {
            continue;
        }
        let scope = scope.for_principal(&principal.vars);
        let Some(route) = base
            .as_ref()
            .and_then(|base| route_of(endpoint, base, &scope, &credential_params))
        else {
            left_out.push(format!(
                "{cell}: its request does not render under the recording's vars"
            ));
            continue;
        };
        let body_sha256 = match &endpoint.body {
            Some(body) => match crate::http::render_body(body, &scope) {
                Ok(encoded) => Some(salted_hash(&salt, &encoded.bytes)),
                Err(_) => {
                    left_out.push(format!(
                        "{cell}: its body does not render under the recording's vars"
                    ));
                    continue;
                }
            },
            None => None,
        };
        let here = |text: &str| {
            if inputs.origin.is_empty() {
                text.to_string()
            } else {
                text.replace(&inputs.origin, ORIGIN_MARK)
            }
        };
        let answer = RecordedAnswer {
            status: observation.status,
            headers: recorded
                .headers
                .iter()
                .map(|(name, value)| (name.clone(), here(value)))
                .collect(),
            body: here(&recorded.body),
        };
        // One route per request line and body: an earlier answer of another
        // endpoint for the same request is replaced by this run's.
        match recording
            .routes
            .iter_mut()
            .find(|r| r.route == route && r.body_sha256 == body_sha256)
        {
            Some(existing) => {
                existing.endpoint = endpoint.name.clone();
                existing.answers.insert(principal.name.clone(), answer);
            }
            None => recording.routes.push(RecordedRoute {
                route,
                endpoint: endpoint.name.clone(),
                body_sha256,
                answers: [(principal.name.clone(), answer)].into_iter().collect(),
            }),
        }
    }
    // What the suite no longer has is no longer replayed.
    let principals: BTreeSet<&str> = (suite.principals.iter())
        .filter(|p| p.probe.is_none())
        .map(|p| p.name.as_str())
        .collect();
    let endpoints: BTreeSet<&str> = suite.endpoints.iter().map(|e| e.name.as_str()).collect();
    recording
        .callers
        .retain(|name, _| principals.contains(name.as_str()));
    recording.routes.retain_mut(|route| {
        route
            .answers
            .retain(|name, _| principals.contains(name.as_str()));
        endpoints.contains(route.endpoint.as_str()) && !route.answers.is_empty()
    });
    recording
        .routes
        .sort_by(|a, b| (&a.route, &a.body_sha256).cmp(&(&b.route, &b.body_sha256)));
    let mut all_vars = previous_vars;
    all_vars.extend(vars);
    Made {
        recording,
        vars: all_vars,
        left_out,
    }
}

/// Where the recording's routes are rendered, as the replaying mock receives them.
const REPLAY_BASE: &str = "http://127.0.0.1/";

/// `METHOD /path?query` of an endpoint's request under `scope`, without the
/// credential parameters, as the replaying mock reads a request.
fn route_of(
    endpoint: &crate::suite::Endpoint,
    base: &url::Url,
    scope: &Scope<'_>,
    credential_params: &[&str],
) -> Option<String> {
    let path = endpoint.request.target.render(scope).ok()?;
    let query: Vec<(String, String)> = endpoint
        .query
        .iter()
        .map(|(name, value)| Some((name.clone(), value.render(scope).ok()?)))
        .collect::<Option<_>>()?;
    let url = crate::http::build_url(base, &path, &query).ok()?;
    Some(route_line(
        endpoint.request.method.as_str(),
        url.path(),
        url.query(),
        credential_params,
    ))
}

/// The recording's `vars`: every variable the suite's requests and
/// credentials take from outside the suite (`--var`, the environment). One
/// a credential reads, one named like a secret, and one whose value the run
/// masks (a secret it learned) get a fake value;
/// the rest keep their real value (an id in a path), so that the suite
/// renders offline what it rendered when recorded.
fn recording_vars(
    suite: &Suite,
    cli: &BTreeMap<String, String>,
    env: &BTreeMap<String, String>,
    salt: &str,
    redactor: &crate::redact::Redactor,
) -> BTreeMap<String, String> {
    let mut credential: BTreeSet<String> = BTreeSet::new();
    let mut plain: BTreeSet<String> = BTreeSet::new();
    let mut blank: BTreeSet<String> = BTreeSet::new();
    for principal in &suite.principals {
        let own = |name: &str| principal.vars.get(name);
        let templates = crate::suite::auth_spec::auth_templates(&principal.auth)
            .into_iter()
            .chain(principal.headers.iter().map(|(_, t)| t));
        for template in templates {
            outside_names(suite, &own, template, &mut credential);
        }
        for template in callers::token_urls(&principal.auth) {
            // `${AUTH_SERVER}/oauth2/token`: empty on replay, the mock's own path.
            if let Some(first) = template.names().next()
                && template.raw.starts_with(&format!("${{{first}"))
            {
                blank.insert(first.to_string());
            }
        }
        for endpoint in &suite.endpoints {
            for template in crate::suite::steps::endpoint_templates(endpoint) {
                outside_names(suite, &own, template, &mut plain);
            }
        }
    }
    let mut vars = BTreeMap::new();
    for name in credential.iter().chain(&plain) {
        if name == crate::suite::template::BASE_URL || vars.contains_key(name) {
            continue;
        }
        // Undefined outside the suite: its `${NAME:-default}` renders alike offline.
        let Some(real_value) = cli.get(name).or_else(|| env.get(name)).cloned() else {
            continue;
        };
        let fake = if blank.contains(name) {
            String::new()
        } else if credential.contains(name)
            || crate::http::is_secret_variable(name)
            || redactor.masked(&real_value) != real_value.as_str()
        {
            let hash = salted_hash(salt, name.as_bytes());
            format!(
                "fake-{}-{}",
                name.to_ascii_lowercase().replace('_', "-"),
                &hash[..8]
            )
        } else {
            real_value
        };
        vars.insert(name.clone(), fake);
    }
    vars
}

/// The names `template` takes from outside the suite (not its `vars`, not
/// the principal's), following the vars it refers to.
fn outside_names<'s>(
    suite: &'s Suite,
    own: &dyn Fn(&str) -> Option<&'s crate::suite::Template>,
    template: &'s crate::suite::Template,
    into: &mut BTreeSet<String>,
) {
    let mut pending: Vec<&crate::suite::Template> = vec![template];
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    while let Some(template) = pending.pop() {
        for name in template.names() {
            if !seen.insert(name) || name.contains('.') {
                continue;
            }
            match own(name).or_else(|| suite.vars.get(name)) {
                Some(inner) => pending.push(inner),
                None => {
                    into.insert(name.to_string());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::{LoadOptions, load_str};

    fn suite(extra: &str) -> Suite {
        let text = format!(
            "suite: s\ntarget: {{ base_url: \"http://127.0.0.1:1\" }}\nprincipals:\n  a: {{ auth: none }}\n{extra}"
        );
        load_str(
            std::path::Path::new("s.yaml"),
            &text,
            &LoadOptions::default(),
        )
        .unwrap_or_else(|e| panic!("valid suite: {e:?}"))
    }

    #[test]
    fn what_a_replay_cannot_answer_is_refused_before_anything_is_sent() {
        let plain = suite("endpoints:\n  - { request: GET /a, expect: { a: 200 } }\n");
        assert_eq!(refusal(std::slice::from_ref(&plain)), None);
        let steps = suite(
            "setup:\n  - { as: a, request: POST /n }\nendpoints:\n  - { request: GET /a, expect: { a: 200 } }\n",
        );
        let said = refusal(&[steps]).unwrap_or_default();
        assert!(said.contains("setup and teardown steps"), "{said}");
        let verified = suite(
            "endpoints:\n  - { name: edit, request: PUT /a, verify: { as: a, request: GET /a }, expect: { a: 204 } }\n",
        );
        let said = refusal(&[verified]).unwrap_or_default();
        assert!(said.contains("endpoint `edit` checks its writes"), "{said}");
    }
}
