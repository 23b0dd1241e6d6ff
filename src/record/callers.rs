//! How a recording recognises each principal: what its auth mode sends,
//! rendered under the recording's vars (fakes where credentials were), kept
//! as a salted hash when it never changes, or as the fake key and the claims
//! that identify a signed token.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::suite::recording::{
    CallerCheck, GrantCheck, GrantSecret, Issued, JwtCheck, LoginCheck, Place, salted_hash,
};
use crate::suite::template::Scope;
use crate::suite::{AuthSpec, JwtKey, JwtPlacement, LoginExtract, Principal, Template};

/// Why a principal cannot be recognised on replay.
#[derive(Debug, thiserror::Error)]
pub(super) enum NotReplayable {
    /// A variable its credentials use is not defined.
    #[error("`${{{0}}}` is not defined")]
    Undefined(String),
    /// Its login goes to another origin.
    #[error("its login goes to another host, which the recording cannot answer")]
    LoginElsewhere,
    /// Its token endpoint is on another origin.
    #[error(
        "its token endpoint `{0}` is on another host: start token_url with a variable (`${{AUTH_SERVER}}/oauth2/token`) so the recording can point it at the mock"
    )]
    TokenElsewhere(String),
    /// A body or claim of its credentials does not render.
    #[error(transparent)]
    Render(crate::http::RequestError),
}

/// The check that recognises `principal`'s requests on replay.
pub(super) fn check_of(
    principal: &Principal,
    scope: &Scope<'_>,
    salt: &str,
    faked: &dyn Fn(&str) -> bool,
) -> Result<CallerCheck, NotReplayable> {
    let render = |template: &Template| {
        template
            .render(scope)
            .map_err(|u| NotReplayable::Undefined(u.0))
    };
    let hashed = |place: Place, value: &str| CallerCheck::Static {
        place,
        sha256: salted_hash(salt, value.as_bytes()),
    };
    // The secret of a signature is kept only when it is made of fakes: a
    // literal one (in the suite, a suite var, a default) must not be copied.
    let fake_only = |template: &Template| -> Result<Option<String>, NotReplayable> {
        let mut names = template.names().peekable();
        if names.peek().is_some() && names.all(faked) {
            render(template).map(Some)
        } else {
            Ok(None)
        }
    };
    Ok(match &principal.auth {
        // A principal without an auth mode may carry its credential in
        // `headers:` (an API key): that header tells it apart.
        AuthSpec::None => match principal
            .headers
            .iter()
            .find(|(name, _)| crate::http::is_credential_header(name))
        {
            Some((name, value)) => {
                hashed(Place::Header(name.to_ascii_lowercase()), &render(value)?)
            }
            None => CallerCheck::None,
        },
        AuthSpec::Basic { username, password } => {
            let pair = format!("{}:{}", render(username)?, render(password)?);
            hashed(
                Place::Header("authorization".into()),
                &format!("Basic {}", STANDARD.encode(pair)),
            )
        }
        AuthSpec::Bearer { token } => hashed(
            Place::Header("authorization".into()),
            &format!("Bearer {}", render(token)?),
        ),
        AuthSpec::Header { name, value } => {
            hashed(Place::Header(name.to_ascii_lowercase()), &render(value)?)
        }
        AuthSpec::Query { name, value } => hashed(Place::Query(name.clone()), &render(value)?),
        AuthSpec::Cookie { name, value } => hashed(Place::Cookie(name.clone()), &render(value)?),
        AuthSpec::Login(login) => {
            let path = render(&login.request.target)?;
            if !path.starts_with('/') {
                return Err(NotReplayable::LoginElsewhere);
            }
            let body = match &login.body {
                Some(body) => crate::http::render_body(body, scope)
                    .map_err(NotReplayable::Render)?
                    .bytes
                    .to_vec(),
                None => Vec::new(),
            };
            let issues = match &login.extract {
                LoginExtract::Cookie(name) => Issued::Cookie(name.clone()),
                LoginExtract::Token(pointer) => Issued::Token {
                    pointer: pointer.clone(),
                    header: login
                        .header
                        .clone()
                        .unwrap_or_else(|| "authorization".into())
                        .to_ascii_lowercase(),
                    scheme: login.scheme.clone().unwrap_or_else(|| "Bearer".into()),
                },
            };
            CallerCheck::Login(LoginCheck {
                route: format!("{} {path}", login.request.method),
                body_sha256: salted_hash(salt, &body),
                issues,
            })
        }
        AuthSpec::Jwt(jwt) => {
            let secret = match &jwt.key {
                JwtKey::Secret(template) => fake_only(template)?,
                JwtKey::PrivateKeyFile(_) => None,
            };
            let mut claims = std::collections::BTreeMap::new();
            for (name, value) in &jwt.claims {
                if matches!(name.as_str(), "iat" | "exp" | "nbf" | "jti") {
                    continue;
                }
                let value =
                    crate::http::render_json(value, scope).map_err(NotReplayable::Render)?;
                claims.insert(name.clone(), value);
            }
            CallerCheck::Jwt(JwtCheck {
                header: jwt.header.to_ascii_lowercase(),
                scheme: jwt.scheme.clone(),
                secret,
                claims,
            })
        }
        AuthSpec::ConnectJwt(connect) => CallerCheck::ConnectJwt {
            issuer: render(&connect.issuer)?,
            secret: fake_only(&connect.secret)?,
            in_query: connect.placement == JwtPlacement::Query,
        },
        AuthSpec::ClientCredentials(grant) => CallerCheck::Grant(GrantCheck {
            token_path: token_path(&render(&grant.token_url)?)?,
            client_id: render(&grant.client_id)?,
            secret: GrantSecret::Hashed(salted_hash(
                salt,
                render(&grant.client_secret)?.as_bytes(),
            )),
            subject: None,
        }),
        AuthSpec::JwtBearerGrant(grant) => CallerCheck::Grant(GrantCheck {
            token_path: token_path(&render(&grant.token_url)?)?,
            client_id: render(&grant.client_id)?,
            secret: GrantSecret::Assertion(fake_only(&grant.secret)?),
            subject: Some(render(&grant.subject)?),
        }),
    })
}

/// The token endpoint's path on the replaying mock.
fn token_path(url: &str) -> Result<String, NotReplayable> {
    if url.starts_with('/') {
        return Ok(url.split('?').next().unwrap_or(url).to_string());
    }
    Err(NotReplayable::TokenElsewhere(url.to_string()))
}

/// The token endpoints of an auth mode, whose leading variable a recording empties.
pub(super) fn token_urls(auth: &AuthSpec) -> Vec<&Template> {
    match auth {
        AuthSpec::ClientCredentials(grant) => vec![&grant.token_url],
        AuthSpec::JwtBearerGrant(grant) => vec![&grant.token_url],
        _ => Vec::new(),
    }
}
