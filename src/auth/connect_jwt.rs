//! `connect_jwt`: a fresh Atlassian Connect JWT for every request, bound to it by the qsh.

use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::{Map, Value};

use super::sign::{Hs256Signer, now_seconds};
use super::{Auth, AuthEnv, AuthError, header, render};
use crate::atlassian::qsh::{self, JWT_PARAM};
use crate::redact::Redactor;
use crate::suite::{ConnectJwtSpec, JwtPlacement};
use std::sync::Arc;

/// Signs each request with HS256 over its canonical request.
pub struct ConnectJwt {
    issuer: String,
    /// Keyed with the shared secret.
    signer: Hs256Signer,
    subject: Option<String>,
    audience: Option<String>,
    ttl: Duration,
    placement: JwtPlacement,
    /// The base URL's own path, stripped from request paths (FACTS.md §2).
    context_path: String,
    redactor: Arc<Redactor>,
}

impl ConnectJwt {
    /// Renders the fields; the secret is registered for masking.
    pub fn build(spec: &ConnectJwtSpec, env: &AuthEnv<'_>) -> Result<ConnectJwt, AuthError> {
        let secret = render(&spec.secret, env)?;
        env.redactor.add(&secret);
        Ok(ConnectJwt {
            issuer: render(&spec.issuer, env)?,
            signer: Hs256Signer::new(&secret)?,
            subject: spec.subject.as_ref().map(|t| render(t, env)).transpose()?,
            audience: spec.audience.as_ref().map(|t| render(t, env)).transpose()?,
            ttl: spec.ttl,
            placement: spec.placement,
            context_path: env.base_url.path().to_string(),
            redactor: env.redactor.clone(),
        })
    }

    /// The token for `request` as it stands (its final URL, before any `jwt` parameter).
    fn token_for(&self, request: &reqwest::Request) -> Result<String, AuthError> {
        let url = request.url();
        let canonical = qsh::canonical_request(
            request.method().as_str(),
            url.path(),
            url.query(),
            &self.context_path,
        );
        let iat = now_seconds();
        let mut claims = Map::new();
        claims.insert("iss".into(), Value::from(self.issuer.clone()));
        claims.insert("iat".into(), Value::from(iat));
        claims.insert("exp".into(), Value::from(iat + self.ttl.as_secs().max(1)));
        claims.insert("qsh".into(), Value::from(qsh::qsh(&canonical)));
        if let Some(sub) = &self.subject {
            claims.insert("sub".into(), Value::from(sub.clone()));
        }
        if let Some(aud) = &self.audience {
            claims.insert("aud".into(), Value::from(aud.clone()));
        }
        let token = self.signer.sign(&Value::Object(claims))?;
        self.redactor.add_token(&token);
        Ok(token)
    }
}

impl Auth for ConnectJwt {
    fn authorize<'a>(
        &'a self,
        request: &'a mut reqwest::Request,
    ) -> BoxFuture<'a, Result<(), AuthError>> {
        let result = self.token_for(request).and_then(|token| {
            match self.placement {
                JwtPlacement::Header => {
                    let (name, value) = header("authorization", &format!("JWT {token}"))?;
                    request.headers_mut().insert(name, value);
                }
                // Appending leaves the bytes the qsh was computed over untouched.
                JwtPlacement::Query => {
                    request
                        .url_mut()
                        .query_pairs_mut()
                        .append_pair(JWT_PARAM, &token);
                }
            }
            Ok(())
        });
        futures::future::ready(result).boxed()
    }
}
