//! `jwt_bearer_grant`: Atlassian user impersonation through the OAuth 2.0
//! JWT-bearer grant (RFC 7523, FACTS.md §4), fetched once and shared.

use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::json;

use super::cache::TokenCache;
use super::sign::{hs256, now_seconds};
use super::token_endpoint::{self, ExchangeLog, TokenRequest};
use super::{Auth, AuthEnv, AuthError, header, render, secret, token_url};
use crate::redact::Redactor;
use crate::suite::GrantSpec;

/// The grant type of RFC 7523.
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// How long an assertion is valid: Atlassian allows at most 60 s.
const ASSERTION_TTL: u64 = 60;

/// An access token obtained with a signed assertion.
pub struct JwtBearerGrant {
    client: reqwest::Client,
    token_url: url::Url,
    client_id: String,
    secret: String,
    subject: String,
    tenant: String,
    scope: Option<String>,
    audience: String,
    timeout: Duration,
    redactor: Arc<Redactor>,
    cache: TokenCache,
    log: ExchangeLog,
}

impl JwtBearerGrant {
    /// Renders the fields; the secret is registered for masking. Nothing is sent yet.
    pub fn build(spec: &GrantSpec, env: &AuthEnv<'_>) -> Result<JwtBearerGrant, AuthError> {
        let token_url = token_url(&spec.token_url, env)?;
        let audience = match &spec.audience {
            Some(aud) => render(aud, env)?,
            None => token_url.origin().ascii_serialization(),
        };
        Ok(JwtBearerGrant {
            client: env.client.clone(),
            client_id: render(&spec.client_id, env)?,
            secret: secret(&spec.secret, env)?,
            subject: render(&spec.subject, env)?,
            tenant: render(&spec.tenant, env)?,
            scope: spec.scope.as_ref().map(|s| render(s, env)).transpose()?,
            audience,
            token_url,
            timeout: env.timeout,
            redactor: env.redactor.clone(),
            cache: TokenCache::new(),
            log: ExchangeLog::default(),
        })
    }

    fn assertion(&self) -> Result<String, AuthError> {
        let iat = now_seconds();
        let claims = json!({
            "iss": format!("urn:atlassian:connect:clientid:{}", self.client_id),
            "tnt": self.tenant,
            "sub": self.subject,
            "aud": self.audience,
            "iat": iat,
            "exp": iat + ASSERTION_TTL,
        });
        let assertion = hs256(&claims, &self.secret)?;
        self.redactor.add(&assertion);
        self.log.push(format!("assertion claims: {claims}"));
        Ok(assertion)
    }

    async fn fetch(&self) -> Result<super::cache::Cached, AuthError> {
        let mut form = vec![
            ("grant_type", GRANT_TYPE.to_string()),
            ("assertion", self.assertion()?),
        ];
        if let Some(scope) = &self.scope {
            // Atlassian's client libraries send scopes upper-cased and space-separated.
            form.push(("scope", scope.to_ascii_uppercase()));
        }
        let request = TokenRequest {
            client: &self.client,
            url: &self.token_url,
            form,
            basic: None,
            timeout: self.timeout,
            redactor: &self.redactor,
        };
        token_endpoint::fetch(request, &self.log).await
    }
}

impl Auth for JwtBearerGrant {
    fn authorize<'a>(
        &'a self,
        request: &'a mut reqwest::Request,
    ) -> BoxFuture<'a, Result<(), AuthError>> {
        async move {
            let token = self.cache.get_or_fetch(|| self.fetch()).await?;
            let (name, value) = header("authorization", &format!("Bearer {token}"))?;
            request.headers_mut().insert(name, value);
            Ok(())
        }
        .boxed()
    }

    fn notes(&self) -> Vec<String> {
        self.log.lines()
    }
}
