//! `login`: logs in once per principal and reuses the token or session cookie.

use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use reqwest::header::SET_COOKIE;
use std::sync::Arc;

use super::cache::{Cached, TokenCache};
use super::token_endpoint::ExchangeLog;
use super::{Auth, AuthEnv, AuthError, header};
use crate::http::{self, EncodedBody};
use crate::redact::{MASK, Redactor};
use crate::suite::{Body, JsonTemplate, LoginExtract, LoginSpec, Template};
use serde_json::Value;

/// A login, performed on first use and shared by the principal's cells.
pub(super) struct Login {
    client: reqwest::Client,
    method: reqwest::Method,
    url: url::Url,
    body: Option<EncodedBody>,
    extract: LoginExtract,
    header: String,
    scheme: String,
    timeout: Duration,
    redactor: Arc<Redactor>,
    cache: TokenCache,
    /// The body as `explain` shows it: every credential masked.
    shown_body: Option<String>,
    log: ExchangeLog,
}

impl Login {
    /// Prepares the login request; nothing is sent until the first cell needs it.
    pub(super) fn build(spec: &LoginSpec, env: &AuthEnv<'_>) -> Result<Login, AuthError> {
        let path = http::render(&spec.request.target, &env.scope).map_err(AuthError::from)?;
        let url = http::build_url(&env.base_url, &path, &[]).map_err(AuthError::from)?;
        super::setup_url_allowed(&url, env)?;
        let (body, shown_body) = match &spec.body {
            Some(body) => {
                let encoded = http::render_body(body, &env.scope).map_err(AuthError::from)?;
                // Login bodies carry passwords: every string in them is a credential.
                (Some(encoded), Some(register_and_show(body, env)?))
            }
            None => (None, None),
        };
        let method = spec.request.method.clone();
        let (default_header, default_scheme) = match spec.extract {
            LoginExtract::Token(_) => ("Authorization", "Bearer"),
            LoginExtract::Cookie(_) => ("Cookie", ""),
        };
        Ok(Login {
            client: env.client.clone(),
            method,
            url,
            body,
            extract: spec.extract.clone(),
            header: spec.header.clone().unwrap_or_else(|| default_header.into()),
            scheme: spec.scheme.clone().unwrap_or_else(|| default_scheme.into()),
            timeout: env.timeout,
            redactor: env.redactor.clone(),
            cache: TokenCache::new(),
            shown_body,
            log: ExchangeLog::default(),
        })
    }

    async fn log_in(&self) -> Result<Cached, AuthError> {
        let request_line = format!("{} {}", self.method, self.redactor.mask(self.url.as_str()));
        let what = format!("login {request_line}");
        self.log.push(request_line);
        if let Some(body) = &self.shown_body {
            self.log.push(format!("  body: {body}"));
        }
        let mut request = reqwest::Request::new(self.method.clone(), self.url.clone());
        *request.timeout_mut() = Some(self.timeout);
        if let Some(body) = &self.body {
            http::attach_body(&mut request, body);
        }
        let response =
            super::send_setup(&self.client, request, self.timeout, &self.redactor, &what).await?;
        http::register_cookies(&response.headers, &self.redactor);
        if !(200..300).contains(&response.status) {
            let answer = format!(
                "answered {}: {}",
                response.status,
                http::excerpt(&response.body, &self.redactor)
            );
            self.log.push(answer.clone());
            return Err(AuthError(format!("{what} {answer}")));
        }
        let (credential, found) = match &self.extract {
            LoginExtract::Token(pointer) => (
                token_at(&response.body, pointer),
                format!("the token at `{pointer}`"),
            ),
            LoginExtract::Cookie(name) => (
                cookie_named(&response.headers, name),
                format!("the cookie `{name}`"),
            ),
        };
        let Some(credential) = credential else {
            let missing = format!("answered {} without {found}", response.status);
            self.log.push(missing.clone());
            return Err(AuthError(format!("{what} {missing}")));
        };
        self.log
            .push(format!("answered {} with {found}", response.status));
        self.redactor.add(&credential);
        let value = match (&self.extract, self.scheme.as_str()) {
            (LoginExtract::Cookie(name), _) => format!("{name}={credential}"),
            (LoginExtract::Token(_), "") => credential,
            (LoginExtract::Token(_), scheme) => format!("{scheme} {credential}"),
        };
        self.redactor.add(&value);
        Ok(Cached {
            value,
            refresh_at: None,
            expires_at: None,
        })
    }
}

impl Auth for Login {
    fn authorize<'a>(
        &'a self,
        request: &'a mut ::http::Request<bytes::Bytes>,
    ) -> BoxFuture<'a, Result<(), AuthError>> {
        async move {
            let value = self.cache.get_or_fetch(|| self.log_in()).await?;
            let (name, value) = header(&self.header, &value)?;
            request.headers_mut().insert(name, value);
            Ok(())
        }
        .boxed()
    }

    fn notes(&self) -> Vec<String> {
        self.log.lines()
    }
}

/// Fields of a login body that name the principal rather than authenticate it.
const IDENTITY_FIELDS: &[&str] = &["username", "user", "login", "email", "name"];

/// Whether a login body's field names the principal rather than authenticates it.
fn is_identity(key: Option<&str>) -> bool {
    key.is_some_and(|k| IDENTITY_FIELDS.contains(&k.to_ascii_lowercase().as_str()))
}

/// Registers every value of a login body as a secret but the identity
/// fields, and returns the body as `explain` shows it: identity fields as
/// sent, every other value masked.
fn register_and_show(body: &Body, env: &AuthEnv<'_>) -> Result<String, AuthError> {
    let value = |key: Option<&str>, template: &Template| -> Result<String, AuthError> {
        let rendered = http::render(template, &env.scope).map_err(AuthError::from)?;
        if is_identity(key) {
            Ok(env.redactor.mask(&rendered))
        } else {
            env.redactor.add(&rendered);
            Ok(MASK.to_string())
        }
    };
    Ok(match body {
        Body::Raw(text) => {
            value(None, text)?;
            format!("{MASK} (raw text)")
        }
        Body::Form(fields) => {
            let shown: Result<Vec<String>, AuthError> = fields
                .iter()
                .map(|(k, t)| Ok(format!("{k}={}", value(Some(k), t)?)))
                .collect();
            format!("{} (form)", shown?.join("&"))
        }
        Body::Json(json) => format!("{} (JSON)", shown_json(json, None, &value)?),
    })
}

/// A login body's JSON with each string shown as `value` decides.
fn shown_json<F>(json: &JsonTemplate, key: Option<&str>, value: &F) -> Result<Value, AuthError>
where
    F: Fn(Option<&str>, &Template) -> Result<String, AuthError>,
{
    Ok(match json {
        JsonTemplate::String(t) => Value::String(value(key, t)?),
        JsonTemplate::Array(items) => Value::Array(
            items
                .iter()
                .map(|i| shown_json(i, key, value))
                .collect::<Result<_, _>>()?,
        ),
        JsonTemplate::Object(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| Ok((k.clone(), shown_json(v, Some(k), value)?)))
                .collect::<Result<_, AuthError>>()?,
        ),
        JsonTemplate::Null => Value::Null,
        JsonTemplate::Bool(b) => Value::Bool(*b),
        JsonTemplate::Number(n) => Value::Number(n.clone()),
    })
}

fn token_at(body: &[u8], pointer: &str) -> Option<String> {
    let json: serde_json::Value = serde_json::from_slice(body).ok()?;
    match json.pointer(pointer)? {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn cookie_named(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers.get_all(SET_COOKIE).iter().find_map(|value| {
        let text = value.to_str().ok()?;
        let pair = text.split(';').next()?;
        let (cookie, value) = pair.split_once('=')?;
        (cookie.trim() == name && !value.trim().is_empty()).then(|| value.trim().to_string())
    })
}
