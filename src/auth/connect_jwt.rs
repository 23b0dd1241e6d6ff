//! `connect_jwt`: a fresh Atlassian Connect JWT for every request, bound to it by the qsh.

use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::Value;

use super::sign::{Hs256Signer, now_seconds};
use super::{Auth, AuthEnv, AuthError, append_query, header_from, render};
use crate::atlassian::qsh::{self, JWT_PARAM};
use crate::redact::Redactor;
use crate::suite::{ConnectJwtSpec, JwtPlacement};
use std::sync::Arc;

/// Signs each request with HS256 over its canonical request.
pub(super) struct ConnectJwt {
    /// Keyed with the shared secret.
    signer: Hs256Signer,
    ttl: Duration,
    placement: JwtPlacement,
    /// The claims that are the same in every token, serialised once: `{"iss":…`
    /// before the per-request ones and `,"sub":…,"aud":…}` after them.
    fixed_claims: (String, String),
    /// The base URL's own path, stripped from request paths (FACTS.md §2).
    context_path: String,
    redactor: Arc<Redactor>,
}

impl ConnectJwt {
    /// Renders the fields; the secret is registered for masking.
    pub(super) fn build(spec: &ConnectJwtSpec, env: &AuthEnv<'_>) -> Result<ConnectJwt, AuthError> {
        let secret = render(&spec.secret, env)?;
        env.redactor.add(&secret);
        let issuer = render(&spec.issuer, env)?;
        let subject = spec.subject.as_ref().map(|t| render(t, env)).transpose()?;
        let audience = spec.audience.as_ref().map(|t| render(t, env)).transpose()?;
        let json = |text: &str| Value::from(text).to_string();
        let head = format!(r#"{{"iss":{}"#, json(&issuer));
        let mut tail = String::new();
        for (name, value) in [("sub", &subject), ("aud", &audience)] {
            if let Some(value) = value {
                tail.push_str(&format!(r#","{name}":{}"#, json(value)));
            }
        }
        tail.push('}');
        Ok(ConnectJwt {
            fixed_claims: (head, tail),
            signer: Hs256Signer::new(&secret)?,
            ttl: spec.ttl,
            placement: spec.placement,
            context_path: env.base_url.path().to_string(),
            redactor: env.redactor.clone(),
        })
    }

    /// `prefix` then the token for `request` as it stands (its final URL,
    /// before any `jwt` parameter).
    fn token_for(
        &self,
        request: &::http::Request<bytes::Bytes>,
        prefix: &str,
    ) -> Result<String, AuthError> {
        let uri = request.uri();
        let canonical = qsh::canonical_request(
            request.method().as_str(),
            uri.path(),
            uri.query(),
            &self.context_path,
        );
        let iat = now_seconds();
        let exp = iat + self.ttl.as_secs().max(1);
        let qsh = qsh::qsh(&canonical);
        let (head, tail) = &self.fixed_claims;
        let mut payload = String::with_capacity(head.len() + tail.len() + 128);
        let mut number = itoa::Buffer::new();
        payload.push_str(head);
        payload.push_str(r#","iat":"#);
        payload.push_str(number.format(iat));
        payload.push_str(r#","exp":"#);
        payload.push_str(number.format(exp));
        // The qsh is hex: nothing in it needs escaping.
        payload.push_str(r#","qsh":""#);
        payload.push_str(&qsh);
        payload.push('"');
        payload.push_str(tail);
        let mut signed = String::with_capacity(prefix.len() + 400);
        signed.push_str(prefix);
        self.signer.append_token(payload.as_bytes(), &mut signed);
        self.redactor.add_token(&signed[prefix.len()..]);
        Ok(signed)
    }
}

impl Auth for ConnectJwt {
    fn authorize<'a>(
        &'a self,
        request: &'a mut ::http::Request<bytes::Bytes>,
    ) -> BoxFuture<'a, Result<(), AuthError>> {
        let prefix = match self.placement {
            JwtPlacement::Header => "JWT ",
            JwtPlacement::Query => "",
        };
        let result = self.token_for(request, prefix).and_then(|token| {
            match self.placement {
                JwtPlacement::Header => {
                    let (name, value) = header_from("authorization", token)?;
                    request.headers_mut().insert(name, value);
                }
                // Appending leaves the bytes the qsh was computed over untouched.
                JwtPlacement::Query => append_query(request, JWT_PARAM, &token)?,
            }
            Ok(())
        });
        futures::future::ready(result).boxed()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::suite::Template;
    use crate::suite::yaml::Pos;

    #[test]
    fn tokens_carry_every_claim_escaped_and_verify_with_the_secret() {
        // reqwest needs a crypto provider before it builds a client.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let template = |raw: &str| Template::parse(raw, Pos::default()).expect("template");
        let spec = ConnectJwtSpec {
            issuer: template(r#"app "quoted" \ key"#),
            secret: template("shared-secret-value"),
            subject: Some(template("user-1")),
            audience: Some(template("aud-é")),
            ttl: Duration::from_secs(180),
            placement: JwtPlacement::Header,
        };
        let (cli, env_vars, vars) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
        let base_url = url::Url::parse("http://127.0.0.1:1/jira").expect("url");
        let env = AuthEnv {
            scope: crate::suite::Scope {
                cli: &cli,
                principal: None,
                suite: &vars,
                mock: None,
                env: &env_vars,
                base_url: Some("http://127.0.0.1:1/jira"),
                captured: None,
                own: None,
            },
            client: reqwest::Client::new(),
            base_url: base_url.clone(),
            timeout: Duration::from_secs(1),
            redactor: Arc::new(Redactor::new()),
            mock_only: false,
        };
        let auth = ConnectJwt::build(&spec, &env).expect("build");
        let request = ::http::Request::get("http://127.0.0.1:1/jira/rest/api/2/search?jql=a")
            .body(bytes::Bytes::new())
            .expect("request");
        let token = auth.token_for(&request, "").expect("token");

        let key = jsonwebtoken::DecodingKey::from_secret(b"shared-secret-value").expect("key");
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.set_audience(&["aud-é"]);
        let claims = jsonwebtoken::decode::<Value>(&token, &key, &validation)
            .expect("signed with the secret")
            .claims;
        let names: Vec<&str> = claims
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(names, ["iss", "iat", "exp", "qsh", "sub", "aud"]);
        assert_eq!(claims["iss"], r#"app "quoted" \ key"#);
        assert_eq!(claims["sub"], "user-1");
        assert_eq!(claims["aud"], "aud-é");
        let iat = claims["iat"].as_u64().expect("iat");
        assert_eq!(claims["exp"].as_u64(), Some(iat + 180));
        let canonical =
            qsh::canonical_request("GET", "/jira/rest/api/2/search", Some("jql=a"), "/jira");
        assert_eq!(claims["qsh"], qsh::qsh(&canonical));
    }
}
