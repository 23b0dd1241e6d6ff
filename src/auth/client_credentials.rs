//! `client_credentials`: the OAuth 2.0 client-credentials grant (RFC 6749 §4.4), fetched once and shared.

use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;

use super::cache::TokenCache;
use super::token_endpoint::{self, ExchangeLog, TokenRequest};
use super::{Auth, AuthEnv, AuthError, header, render, secret, token_url};
use crate::redact::Redactor;
use crate::suite::{ClientAuth, ClientCredentialsSpec};

/// An access token for the client itself.
pub struct ClientCredentials {
    client: reqwest::Client,
    token_url: url::Url,
    client_id: String,
    client_secret: String,
    scope: Option<String>,
    audience: Option<String>,
    client_auth: ClientAuth,
    timeout: Duration,
    redactor: Arc<Redactor>,
    cache: TokenCache,
    log: ExchangeLog,
}

impl ClientCredentials {
    /// Renders the fields; the secret is registered for masking. Nothing is sent yet.
    pub fn build(
        spec: &ClientCredentialsSpec,
        env: &AuthEnv<'_>,
    ) -> Result<ClientCredentials, AuthError> {
        Ok(ClientCredentials {
            client: env.client.clone(),
            token_url: token_url(&spec.token_url, env)?,
            client_id: render(&spec.client_id, env)?,
            client_secret: secret(&spec.client_secret, env)?,
            scope: spec.scope.as_ref().map(|s| render(s, env)).transpose()?,
            audience: spec.audience.as_ref().map(|s| render(s, env)).transpose()?,
            client_auth: spec.client_auth,
            timeout: env.timeout,
            redactor: env.redactor.clone(),
            cache: TokenCache::new(),
            log: ExchangeLog::default(),
        })
    }

    async fn fetch(&self) -> Result<super::cache::Cached, AuthError> {
        let mut form = vec![("grant_type", "client_credentials".to_string())];
        let basic = match self.client_auth {
            ClientAuth::Basic => Some((self.client_id.clone(), self.client_secret.clone())),
            ClientAuth::Form => {
                form.push(("client_id", self.client_id.clone()));
                form.push(("client_secret", self.client_secret.clone()));
                None
            }
        };
        if let Some(scope) = &self.scope {
            form.push(("scope", scope.clone()));
        }
        if let Some(audience) = &self.audience {
            form.push(("audience", audience.clone()));
        }
        let request = TokenRequest {
            client: &self.client,
            url: &self.token_url,
            form,
            basic,
            timeout: self.timeout,
            redactor: &self.redactor,
        };
        token_endpoint::fetch(request, &self.log).await
    }
}

impl Auth for ClientCredentials {
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
