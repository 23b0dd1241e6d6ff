//! Auth modes: one file per mode behind one trait, built from a principal's `auth:`.
//!
//! A mode sees the final request (method, absolute URI, headers, body: an
//! `http::Request<Bytes>`, the same value the transport sends, no copy) just
//! before it is sent, so modes that sign requests fit; modes that need a
//! one-time setup (a login, a token fetch) share it through [`cache::TokenCache`].

mod api_key;
pub(crate) mod cache;
mod client_credentials;
mod connect_jwt;
pub(crate) mod jwt_bearer_grant;
mod login;
mod self_signed;
pub(crate) mod sign;
mod static_header;
pub(crate) mod tamper;
mod token_endpoint;

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use reqwest::header::{HeaderName, HeaderValue};
use thiserror::Error;
use url::Url;

use crate::redact::Redactor;
use crate::suite::{AuthSpec, Scope};

/// Why a principal's credentials could not be applied.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("{0}")]
pub struct AuthError(pub String);

impl From<crate::http::RequestError> for AuthError {
    fn from(error: crate::http::RequestError) -> AuthError {
        AuthError(error.to_string())
    }
}

/// Adds a principal's credentials to its requests.
pub trait Auth: Send + Sync {
    /// Adds credentials to `request`, running any setup it needs first.
    fn authorize<'a>(
        &'a self,
        request: &'a mut ::http::Request<bytes::Bytes>,
    ) -> BoxFuture<'a, Result<(), AuthError>>;

    /// What the mode's setup did (a token exchange), secrets masked, for `explain`.
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }
}

/// What a mode may use besides its own fields.
#[derive(Clone)]
pub struct AuthEnv<'a> {
    /// The principal's interpolation scope (its vars, the suite's, `--var`, environment, BASE_URL).
    pub scope: Scope<'a>,
    /// The principal's reqwest client, for setup requests (token fetches, logins).
    pub client: reqwest::Client,
    /// The effective target, which relative setup URLs are resolved against.
    pub base_url: Url,
    /// Timeout for setup requests.
    pub timeout: Duration,
    /// Where the credentials and everything derived from them are registered.
    pub redactor: Arc<Redactor>,
    /// The mock serves the run: its credentials may go to it and nowhere else.
    pub mock_only: bool,
}

/// Builds the mode for `spec`, registering its credentials as secrets.
pub fn build(spec: &AuthSpec, env: &AuthEnv<'_>) -> Result<Arc<dyn Auth>, AuthError> {
    match spec {
        AuthSpec::None => Ok(Arc::new(static_header::StaticHeaders(Vec::new()))),
        AuthSpec::Basic { username, password } => static_header::basic(username, password, env),
        AuthSpec::Bearer { token } => static_header::bearer(token, env),
        AuthSpec::Header { name, value } => static_header::api_header(name, value, env),
        AuthSpec::Query { name, value } => shared(api_key::QueryKey::build(name, value, env)),
        AuthSpec::Cookie { name, value } => shared(api_key::CookieKey::build(name, value, env)),
        AuthSpec::Login(spec) => shared(login::Login::build(spec, env)),
        AuthSpec::ConnectJwt(spec) => shared(connect_jwt::ConnectJwt::build(spec, env)),
        AuthSpec::JwtBearerGrant(spec) => {
            shared(jwt_bearer_grant::JwtBearerGrant::build(spec, env))
        }
        AuthSpec::ClientCredentials(spec) => {
            shared(client_credentials::ClientCredentials::build(spec, env))
        }
        AuthSpec::Jwt(spec) => shared(self_signed::SelfSignedJwt::build(spec, env)),
    }
}

fn shared<A: Auth + 'static>(built: Result<A, AuthError>) -> Result<Arc<dyn Auth>, AuthError> {
    built.map(|auth| Arc::new(auth) as Arc<dyn Auth>)
}

/// Renders a template in the principal's scope (not a secret).
fn render(template: &crate::suite::Template, env: &AuthEnv<'_>) -> Result<String, AuthError> {
    crate::http::render(template, &env.scope).map_err(AuthError::from)
}

/// A token endpoint's URL: relative to the target when it starts with `/`.
fn token_url(template: &crate::suite::Template, env: &AuthEnv<'_>) -> Result<Url, AuthError> {
    let text = render(template, env)?;
    let url = crate::http::build_url(&env.base_url, &text, &[])
        .map_err(|e| AuthError(format!("token_url: {e}")))?;
    setup_url_allowed(&url, env).map(|()| url)
}

/// Retries of a setup request (a token fetch, a login) on 429, 503 and connect errors.
const SETUP_RETRIES: u32 = 2;
/// The longest wait before one of those retries.
const MAX_SETUP_WAIT: Duration = Duration::from_secs(10);

/// Sends a setup request (a token fetch, a login) and reads its answer; a
/// server that is briefly unavailable (429, 503, a refused connection) gets
/// the same retries as a cell. `what` names the request in the error.
async fn send_setup(
    client: &reqwest::Client,
    request: reqwest::Request,
    timeout: Duration,
    redactor: &Redactor,
    what: &str,
) -> Result<crate::http::ReadResponse, AuthError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let copy = request
            .try_clone()
            .ok_or_else(|| AuthError(format!("{what}: the request cannot be repeated")))?;
        let sent = match client.execute(copy).await {
            Ok(response) => crate::http::read_response(response, crate::http::BODY_LIMIT).await,
            Err(e) => Err(e),
        };
        match sent {
            Ok(response)
                if crate::retry::is_retryable_status(response.status)
                    && attempt <= SETUP_RETRIES =>
            {
                let wait = crate::retry::wait_after_status(&response.headers, attempt);
                tokio::time::sleep(wait.min(MAX_SETUP_WAIT)).await;
            }
            Err(e) if e.is_connect() && attempt <= SETUP_RETRIES => {
                tokio::time::sleep(crate::retry::backoff(attempt)).await;
            }
            Ok(response) => return Ok(response),
            Err(e) => {
                return Err(AuthError(format!(
                    "{what} failed: {}",
                    redactor.mask(&crate::http::describe_error(&e, timeout))
                )));
            }
        }
    }
}

/// When the mock serves the run, a setup request (login, token fetch) may only
/// go to the mock: the mock's credentials must never reach another host.
fn setup_url_allowed(url: &Url, env: &AuthEnv<'_>) -> Result<(), AuthError> {
    if env.mock_only && url.origin() != env.base_url.origin() {
        return Err(AuthError(format!(
            "the mock serves this run, so its credentials are not sent to {}",
            url.origin().ascii_serialization()
        )));
    }
    Ok(())
}

/// Renders a template in the principal's scope and registers the result as a secret.
fn secret(template: &crate::suite::Template, env: &AuthEnv<'_>) -> Result<String, AuthError> {
    let value = template
        .render(&env.scope)
        .map_err(|unresolved| AuthError(format!("unresolved variable `${{{}}}`", unresolved.0)))?;
    env.redactor.add(&value);
    Ok(value)
}

/// A header, checked; the value is never shown in the error (it is a secret).
fn header(name: &str, value: &str) -> Result<(HeaderName, HeaderValue), AuthError> {
    header_from(name, value.to_string())
}

/// [`header`], taking the value's text without copying it.
fn header_from(name: &str, value: String) -> Result<(HeaderName, HeaderValue), AuthError> {
    let name = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| AuthError(format!("`{name}` is not a valid header name")))?;
    let mut value = HeaderValue::try_from(value).map_err(|_| {
        AuthError(format!(
            "the value for header `{name}` has characters a header cannot carry"
        ))
    })?;
    value.set_sensitive(true);
    Ok((name, value))
}

/// Appends `name=value` to the request's query, both percent-encoded (all but
/// RFC 3986's unreserved characters), after whatever query it has.
fn append_query(
    request: &mut ::http::Request<bytes::Bytes>,
    name: &str,
    value: &str,
) -> Result<(), AuthError> {
    use percent_encoding::utf8_percent_encode;
    let uri = request.uri().to_string();
    let separator = if request.uri().query().is_some() {
        '&'
    } else {
        '?'
    };
    let mut text = String::with_capacity(uri.len() + 3 * (name.len() + value.len()) + 2);
    text.push_str(&uri);
    text.push(separator);
    text.extend(utf8_percent_encode(name, crate::percent::UNRESERVED_ONLY));
    text.push('=');
    text.extend(utf8_percent_encode(value, crate::percent::UNRESERVED_ONLY));
    *request.uri_mut() = text
        .parse()
        .map_err(|e| AuthError(format!("the URL with its `{name}` parameter: {e}")))?;
    Ok(())
}
