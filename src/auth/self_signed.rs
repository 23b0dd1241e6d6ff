//! `jwt`: a self-signed JWT (PostgREST, RabbitMQ OAuth 2, custom gateways), re-signed before it expires.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::BoxFuture;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Map, Value};

use super::cache::{Cached, TokenCache};
use super::sign::{now_seconds, sign};
use super::token_endpoint::refresh_margin;
use super::{Auth, AuthEnv, AuthError, header, secret};
use crate::http;
use crate::redact::Redactor;
use crate::suite::auth_spec::encoding_key;
use crate::suite::{JwtKey, SelfSignedJwtSpec};

/// A JWT signed by the principal itself.
pub(super) struct SelfSignedJwt {
    header: Header,
    key: EncodingKey,
    claims: Map<String, Value>,
    ttl: Duration,
    header_name: String,
    scheme: String,
    redactor: Arc<Redactor>,
    cache: TokenCache,
}

/// The key a `jwt` principal signs with, and the PEM text of its private
/// key file when it has one (a tamper probe derives the public key from it).
pub(super) fn signing_key(
    spec: &SelfSignedJwtSpec,
    env: &AuthEnv<'_>,
) -> Result<(EncodingKey, Option<String>), AuthError> {
    match &spec.key {
        JwtKey::Secret(template) => Ok((
            EncodingKey::from_secret(secret(template, env)?.as_bytes())
                .map_err(|e| AuthError(format!("unusable secret: {e}")))?,
            None,
        )),
        JwtKey::PrivateKeyFile(path) => {
            let pem = std::fs::read(path).map_err(|e| {
                AuthError(format!(
                    "cannot read private_key_file {}: {e}",
                    path.display()
                ))
            })?;
            let key = encoding_key(&pem, spec.algorithm)
                .map_err(|e| AuthError(format!("private_key_file {}: {e}", path.display())))?;
            Ok((key, Some(String::from_utf8_lossy(&pem).into_owned())))
        }
    }
}

impl SelfSignedJwt {
    /// Reads the key and renders the claims; the key material is never shown.
    pub(super) fn build(
        spec: &SelfSignedJwtSpec,
        env: &AuthEnv<'_>,
    ) -> Result<SelfSignedJwt, AuthError> {
        let key = signing_key(spec, env)?.0;
        let mut claims = Map::new();
        for (name, value) in &spec.claims {
            claims.insert(
                name.clone(),
                http::render_json(value, &env.scope).map_err(AuthError::from)?,
            );
        }
        let mut header = Header::new(spec.algorithm);
        header.kid = spec.kid.clone();
        Ok(SelfSignedJwt {
            header,
            key,
            claims,
            ttl: spec.ttl,
            header_name: spec.header.clone(),
            scheme: spec.scheme.clone(),
            redactor: env.redactor.clone(),
            cache: TokenCache::new(),
        })
    }

    fn mint(&self) -> Result<Cached, AuthError> {
        let iat = now_seconds();
        let mut claims = self.claims.clone();
        claims.insert("iat".into(), Value::from(iat));
        claims.insert("exp".into(), Value::from(iat + self.ttl.as_secs().max(1)));
        let token = sign(&self.header, &Value::Object(claims), &self.key)?;
        self.redactor.add_token(&token);
        let refresh_at = Some(Instant::now() + self.ttl - refresh_margin(self.ttl));
        Ok(Cached {
            value: token,
            refresh_at,
            expires_at: Some(Instant::now() + self.ttl),
        })
    }
}

impl Auth for SelfSignedJwt {
    fn authorize<'a>(
        &'a self,
        request: &'a mut ::http::Request<bytes::Bytes>,
    ) -> BoxFuture<'a, Result<(), AuthError>> {
        async move {
            let token = self.cache.get_or_fetch(|| async { self.mint() }).await?;
            let value = if self.scheme.is_empty() {
                token
            } else {
                format!("{} {token}", self.scheme)
            };
            let (name, value) = header(&self.header_name, &value)?;
            request.headers_mut().insert(name, value);
            Ok(())
        }
        .boxed()
    }
}
