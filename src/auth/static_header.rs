//! `none`, `basic`, `bearer` and `header`: credentials that never change.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures::FutureExt;
use futures::future::BoxFuture;
use reqwest::header::{HeaderName, HeaderValue};

use super::{Auth, AuthEnv, AuthError, header, secret};
use crate::suite::Template;

/// Fixed headers added to every request.
pub(super) struct StaticHeaders(pub Vec<(HeaderName, HeaderValue)>);

impl Auth for StaticHeaders {
    fn authorize<'a>(
        &'a self,
        request: &'a mut ::http::Request<bytes::Bytes>,
    ) -> BoxFuture<'a, Result<(), AuthError>> {
        for (name, value) in &self.0 {
            request.headers_mut().insert(name.clone(), value.clone());
        }
        futures::future::ready(Ok(())).boxed()
    }
}

/// `Authorization: Basic base64(username:password)`; the base64 is a secret too.
pub(super) fn basic(
    username: &Template,
    password: &Template,
    env: &AuthEnv<'_>,
) -> Result<Arc<dyn Auth>, AuthError> {
    let username = username
        .render(&env.scope)
        .map_err(|u| AuthError(format!("unresolved variable `${{{}}}`", u.0)))?;
    let password = secret(password, env)?;
    let encoded = STANDARD.encode(format!("{username}:{password}"));
    env.redactor.add(&encoded);
    env.redactor.add_base64_of(&format!("Basic {encoded}"));
    Ok(Arc::new(StaticHeaders(vec![header(
        "authorization",
        &format!("Basic {encoded}"),
    )?])))
}

/// `Authorization: Bearer <token>`.
pub(super) fn bearer(token: &Template, env: &AuthEnv<'_>) -> Result<Arc<dyn Auth>, AuthError> {
    let token = secret(token, env)?;
    env.redactor.add_base64_of(&format!("Bearer {token}"));
    Ok(Arc::new(StaticHeaders(vec![header(
        "authorization",
        &format!("Bearer {token}"),
    )?])))
}

/// Any header, e.g. `X-API-Key: <key>`.
pub(super) fn api_header(
    name: &str,
    value: &Template,
    env: &AuthEnv<'_>,
) -> Result<Arc<dyn Auth>, AuthError> {
    let value = secret(value, env)?;
    Ok(Arc::new(StaticHeaders(vec![header(name, &value)?])))
}
