//! `init --graphql-url URL`: the standard introspection query sent to the
//! server as one principal of the `--principals` suite (the first with
//! credentials), through the same auth modes, templates, TLS settings and
//! secret masking as a cell; the answer read whole (a schema is larger than
//! the engine reads of a cell's body).

use std::path::Path;
use std::sync::Arc;

use serde_json::Value;
use url::Url;

use super::GraphqlError;
use super::introspection;
use crate::auth::{self, AuthEnv};
use crate::execute::ExecOptions;
use crate::import::draft::{Cell, Draft, Endpoint, Principal, literal};
use crate::import::principals::PrincipalSet;
use crate::import::yaml_out::{Entry, Yaml};
use crate::redact::Redactor;
use crate::suite::{AuthSpec, LoadOptions, Suite};

/// The most of an answer read: a large public schema is a few megabytes.
const MAX_ANSWER: usize = 64 * 1024 * 1024;

/// What the server answered, and as whom it was asked.
#[derive(Debug)]
pub struct Introspected {
    /// The introspection result (it holds a `__schema`).
    pub root: Value,
    /// The principal the query was sent as; `None`: without credentials.
    pub sent_as: Option<String>,
}

/// Sends the introspection query to `url` as the first principal of `set`
/// with credentials (without any when there is none); `out_dir` is where
/// the suite will be written, which the set's relative paths follow.
pub fn introspect(
    url: &str,
    set: Option<&PrincipalSet>,
    exec: &ExecOptions,
    out_dir: &Path,
) -> Result<Introspected, GraphqlError> {
    let fail = |message: String| GraphqlError::Fetch {
        url: url.to_string(),
        message,
    };
    let parsed = Url::parse(url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
        .ok_or_else(|| fail("not an http(s) URL".into()))?;
    let suite = asking_suite(&parsed, set, exec, out_dir).map_err(|e| fail(e.to_string()))?;
    let with_credentials = suite
        .principals
        .iter()
        .position(|p| p.probe.is_none() && has_credentials(&p.auth, &p.headers));
    let principal =
        with_credentials.or_else(|| suite.principals.iter().position(|p| p.probe.is_none()));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| fail(format!("cannot start the async runtime: {e}")))?;
    let redactor = Arc::new(Redactor::new());
    let answer = runtime
        .block_on(send(&suite, principal, &parsed, exec, &redactor))
        .map_err(|e| fail(redactor.mask(&e.to_string())))?;
    let sent_as = with_credentials.map(|p| suite.principals[p].name.clone());
    let as_whom = match &sent_as {
        Some(name) => format!(" (sent as `{name}`)"),
        None => " (sent without credentials; --principals gives some)".into(),
    };
    let refused = |message: String| GraphqlError::Refused {
        url: url.to_string(),
        as_whom: as_whom.clone(),
        message: redactor.mask(&message),
    };
    let Ok(root) = serde_json::from_slice::<Value>(&answer.body) else {
        return Err(refused(format!(
            "it answered {} with no JSON: {}",
            answer.status,
            crate::http::excerpt(&answer.body, &redactor)
        )));
    };
    match introspection::schema_of(&root) {
        Ok(schema) if schema.is_object() => Ok(Introspected { root, sent_as }),
        _ => {
            let why = introspection::first_error(&root)
                .unwrap_or_else(|| "no `__schema` in the answer".into());
            Err(refused(format!("it answered {}: {why}", answer.status)))
        }
    }
}

/// Whether a principal sends anything: an auth mode, or headers of its own.
fn has_credentials(auth: &AuthSpec, headers: &[(String, crate::suite::Template)]) -> bool {
    !matches!(auth, AuthSpec::None) || !headers.is_empty()
}

/// The suite the query is sent from, loaded (validated, interpolated) like
/// any: the set's principals, vars, default headers and TLS settings, one
/// endpoint at the URL.
fn asking_suite(
    url: &Url,
    set: Option<&PrincipalSet>,
    exec: &ExecOptions,
    out_dir: &Path,
) -> Result<Suite, SendError> {
    let origin = &url[..url::Position::BeforePath];
    let mut target = vec![Entry::new("base_url", Yaml::Str(literal(origin)))];
    let mut draft = Draft {
        suite: "introspection".into(),
        default_expect: vec![Cell::new("*", "any")],
        endpoints: vec![Endpoint {
            name: "introspection".into(),
            method: "POST".into(),
            path: literal(&url[url::Position::BeforePath..url::Position::AfterQuery]),
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
            expect: Vec::new(),
            comments: Vec::new(),
            scopes: None,
        }],
        ..Draft::default()
    };
    match set {
        Some(set) => {
            let kept = ["timeout", "tls"];
            let copied = set.target.iter().flatten();
            target.extend(copied.filter(|e| kept.contains(&e.key.as_str())).cloned());
            draft.principals = set.principals.clone();
            draft.vars = set.vars.clone();
            draft.default_headers = set.default_headers.clone();
        }
        None => {
            draft.principals = vec![Principal {
                name: "anonymous".into(),
                body: vec![Entry::new("auth", Yaml::Raw("none".into()))],
                comments: Vec::new(),
            }];
        }
    }
    draft.target = target;
    let options = LoadOptions {
        cli_vars: exec.cli_vars.clone(),
        env: exec.env.clone(),
        ..LoadOptions::default()
    };
    let file = out_dir.join(".permatrix-introspection.yaml");
    crate::suite::load_str(&file, &draft.render(), &options).map_err(|problems| {
        let problems: Vec<String> = problems.iter().map(|p| p.message.clone()).collect();
        SendError::Suite(problems.join("; "))
    })
}

/// Why the introspection query could not be sent or its answer read.
#[derive(Debug, thiserror::Error)]
enum SendError {
    /// The `--principals` suite does not load as the sender.
    #[error("the --principals suite cannot send it: {0}")]
    Suite(String),
    /// No HTTP client.
    #[error("cannot create an HTTP client: {0}")]
    Client(String),
    /// The request cannot be built.
    #[error("{0}")]
    Request(String),
    /// The principal's credentials cannot be had.
    #[error("`{principal}` could not authenticate: {reason}")]
    Auth {
        /// The principal.
        principal: String,
        /// Why.
        reason: String,
    },
    /// No answer (connection, TLS, timeout).
    #[error("{0}")]
    Transport(String),
    /// An answer past the size read.
    #[error("the answer is larger than {0} MiB")]
    TooLarge(usize),
}

/// An answer as read.
struct Answer {
    status: u16,
    body: Vec<u8>,
}

/// Sends the query as `principal` (none: without credentials) and reads the answer.
async fn send(
    suite: &Suite,
    principal: Option<usize>,
    url: &Url,
    exec: &ExecOptions,
    redactor: &Arc<Redactor>,
) -> Result<Answer, SendError> {
    let direct = crate::execute::goes_direct(url, exec);
    let client = |direct| {
        crate::execute::client_outside_cells(suite, exec, direct)
            .map_err(|e| SendError::Client(e.to_string()))
    };
    let (auth_client, client) = (client(false)?, client(direct)?);
    let timeout = exec.timeout.unwrap_or(suite.target.timeout);
    let origin = url[..url::Position::BeforePath].to_string();
    let no_vars = Default::default();
    let principal = principal.map(|p| &suite.principals[p]);
    let scope = suite
        .scope(&exec.cli_vars, &exec.env, Some(&origin))
        .for_principal(principal.map_or(&no_vars, |p| &p.vars));
    let body =
        serde_json::json!({"query": introspection::QUERY, "operationName": "IntrospectionQuery"});
    let body = serde_json::to_vec(&body).map_err(|e| SendError::Request(e.to_string()))?;
    let mut request = ::http::Request::new(bytes::Bytes::from(body));
    *request.method_mut() = ::http::Method::POST;
    *request.uri_mut() = url
        .as_str()
        .parse()
        .map_err(|e: ::http::uri::InvalidUri| SendError::Request(e.to_string()))?;
    let endpoint_headers = suite.endpoints.first().map_or(&[][..], |e| &e.headers[..]);
    let own_headers = principal.map_or(&[][..], |p| &p.headers[..]);
    let headers = request.headers_mut();
    for (i, (name, template)) in endpoint_headers.iter().chain(own_headers).enumerate() {
        let value =
            crate::http::render(template, &scope).map_err(|e| SendError::Request(e.to_string()))?;
        if i >= endpoint_headers.len() || crate::http::is_credential_header(name) {
            redactor.add(&value);
        }
        let name = ::http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| SendError::Request(format!("`{name}` is not a header name")))?;
        let value = ::http::HeaderValue::from_str(&value).map_err(|_| {
            SendError::Request(format!("the value of header `{name}` cannot be sent"))
        })?;
        headers.insert(name, value);
    }
    for (name, value) in [
        (::http::header::CONTENT_TYPE, "application/json"),
        (::http::header::ACCEPT, "application/json"),
    ] {
        headers
            .entry(name)
            .or_insert(::http::HeaderValue::from_static(value));
    }
    if let Some(principal) = principal {
        let env = AuthEnv {
            scope,
            client: auth_client,
            base_url: Url::parse(&origin).map_err(|e| SendError::Request(e.to_string()))?,
            timeout,
            redactor: redactor.clone(),
            mock_only: false,
        };
        let could_not = |reason: String| SendError::Auth {
            principal: principal.name.clone(),
            reason,
        };
        let mode = auth::build(&principal.auth, &env).map_err(|e| could_not(e.0))?;
        mode.authorize(&mut request)
            .await
            .map_err(|e| could_not(e.0))?;
    }
    let mut request = reqwest::Request::try_from(request.map(reqwest::Body::from))
        .map_err(|e| SendError::Transport(crate::http::describe_error(&e, timeout)))?;
    *request.timeout_mut() = Some(timeout);
    let mut response = client
        .execute(request)
        .await
        .map_err(|e| SendError::Transport(crate::http::describe_error(&e, timeout)))?;
    let status = response.status().as_u16();
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| SendError::Transport(crate::http::describe_error(&e, timeout)))?
    {
        if body.len() + chunk.len() > MAX_ANSWER {
            return Err(SendError::TooLarge(MAX_ANSWER / (1024 * 1024)));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer { status, body })
}
