//! `jwt_bearer_grant`: Atlassian user impersonation through the OAuth 2.0
//! JWT-bearer grant (RFC 7523, FACTS.md §4), fetched once and shared.

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::json;

use super::sign::{hs256, now_seconds};
use super::token_endpoint::{FormField, Grant, TokenEndpoint};
use super::{Auth, AuthEnv, AuthError, render, secret};
use crate::suite::GrantSpec;

/// The grant type of RFC 7523.
pub(crate) const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// How long an assertion is valid: Atlassian allows at most 60 s.
const ASSERTION_TTL: u64 = 60;

/// An access token obtained with a signed assertion.
pub(crate) struct JwtBearerGrant {
    endpoint: TokenEndpoint,
    client_id: String,
    secret: String,
    subject: String,
    tenant: String,
    scope: Option<String>,
    audience: String,
}

impl JwtBearerGrant {
    /// Renders the fields; the secret is registered for masking. Nothing is sent yet.
    pub(crate) fn build(spec: &GrantSpec, env: &AuthEnv<'_>) -> Result<JwtBearerGrant, AuthError> {
        let endpoint = TokenEndpoint::new(&spec.token_url, env)?;
        let audience = match &spec.audience {
            Some(aud) => render(aud, env)?,
            None => endpoint.url.origin().ascii_serialization(),
        };
        Ok(JwtBearerGrant {
            endpoint,
            client_id: render(&spec.client_id, env)?,
            secret: secret(&spec.secret, env)?,
            subject: render(&spec.subject, env)?,
            tenant: render(&spec.tenant, env)?,
            scope: spec.scope.as_ref().map(|s| render(s, env)).transpose()?,
            audience,
        })
    }

    /// The form: a fresh assertion each time, and the scope exactly as written
    /// (scope values are case-sensitive, RFC 6749 §3.3).
    fn grant(&self) -> Result<Grant, AuthError> {
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
        self.endpoint.redactor.add(&assertion);
        let mut form = vec![
            FormField::plain("grant_type", GRANT_TYPE.to_string()),
            FormField::secret("assertion", assertion).with_claims(claims),
        ];
        form.extend(
            self.scope
                .clone()
                .map(|scope| FormField::plain("scope", scope)),
        );
        Ok(Grant { form, basic: None })
    }
}

impl Auth for JwtBearerGrant {
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
