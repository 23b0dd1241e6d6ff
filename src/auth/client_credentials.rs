//! `client_credentials`: the OAuth 2.0 client-credentials grant (RFC 6749 §4.4), fetched once and shared.

use futures::FutureExt;
use futures::future::BoxFuture;

use super::token_endpoint::{FormField, Grant, TokenEndpoint};
use super::{Auth, AuthEnv, AuthError, render, secret};
use crate::suite::{ClientAuth, ClientCredentialsSpec};

/// An access token for the client itself.
pub(super) struct ClientCredentials {
    endpoint: TokenEndpoint,
    client_id: String,
    client_secret: String,
    scope: Option<String>,
    audience: Option<String>,
    client_auth: ClientAuth,
}

impl ClientCredentials {
    /// Renders the fields; the secret is registered for masking. Nothing is sent yet.
    pub(super) fn build(
        spec: &ClientCredentialsSpec,
        env: &AuthEnv<'_>,
    ) -> Result<ClientCredentials, AuthError> {
        Ok(ClientCredentials {
            endpoint: TokenEndpoint::new(&spec.token_url, env)?,
            client_id: render(&spec.client_id, env)?,
            client_secret: secret(&spec.client_secret, env)?,
            scope: spec.scope.as_ref().map(|s| render(s, env)).transpose()?,
            audience: spec.audience.as_ref().map(|s| render(s, env)).transpose()?,
            client_auth: spec.client_auth,
        })
    }

    fn grant(&self) -> Result<Grant, AuthError> {
        let mut form = vec![FormField::plain(
            "grant_type",
            "client_credentials".to_string(),
        )];
        let basic = match self.client_auth {
            ClientAuth::Basic => Some((self.client_id.clone(), self.client_secret.clone())),
            ClientAuth::Form => {
                form.push(FormField::plain("client_id", self.client_id.clone()));
                form.push(FormField::secret(
                    "client_secret",
                    self.client_secret.clone(),
                ));
                None
            }
        };
        form.extend(
            self.scope
                .clone()
                .map(|scope| FormField::plain("scope", scope)),
        );
        form.extend(
            self.audience
                .clone()
                .map(|audience| FormField::plain("audience", audience)),
        );
        Ok(Grant { form, basic })
    }
}

impl Auth for ClientCredentials {
    fn authorize<'a>(
        &'a self,
        request: &'a mut ::http::Request<bytes::Bytes>,
    ) -> BoxFuture<'a, Result<(), AuthError>> {
        self.endpoint.bearer(request, || self.grant()).boxed()
    }

    fn notes(&self) -> Vec<String> {
        self.endpoint.log.lines()
    }
}
