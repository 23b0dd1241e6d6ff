//! Who is calling: Basic, Connect JWT (header or `jwt` parameter) or an issued
//! bearer token, verified the way Jira does (FACTS.md §1, §5).

use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use super::state::MockState;
use crate::atlassian::qsh;
use crate::atlassian::scope::ConnectScope;

/// A verified caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    /// No credentials.
    Anonymous,
    /// A user by Basic, index into the definition's users.
    User(usize),
    /// A Connect app by its JWT, index into the apps.
    App(usize),
    /// An app acting as a user with a token from the JWT-bearer grant.
    Impersonated {
        /// The app.
        app: usize,
        /// The user.
        user: usize,
        /// The scopes the token carries.
        scopes: Vec<ConnectScope>,
    },
}

/// Why credentials were refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// 400: the credentials do not parse.
    Malformed(String),
    /// 401 with a challenge for this scheme.
    Unauthorized {
        /// `Basic`, `JWT` or `Bearer`.
        scheme: &'static str,
        /// The brief reason.
        message: String,
    },
}

/// The Connect JWT leeway on `exp` and `nbf`.
pub(crate) const LEEWAY_SECONDS: u64 = 30;
/// The longest lifetime a token may claim: a suite's `ttl` is at most 24 h.
const MAX_LIFETIME_SECONDS: u64 = 24 * 3600;

/// Identifies the caller of a request as received.
pub fn identify(
    state: &MockState,
    method: &str,
    path: &str,
    query: Option<&str>,
    authorization: Option<&str>,
) -> Result<Caller, Refusal> {
    let mut in_query = query
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .filter(|(name, _)| name == qsh::JWT_PARAM)
                .map(|(_, v)| v.into_owned())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    // More than one credential is ambiguous: which one decides is up to the
    // server, so none does (a forged `?jwt=` beside a valid header, say).
    if in_query.len() > 1 || (!in_query.is_empty() && authorization.is_some()) {
        return Err(unauthorized(
            "JWT",
            "the request carries more than one credential",
        ));
    }
    let from_query = in_query.pop();
    let (scheme, credential) = match authorization {
        Some(value) => match value.trim().split_once(' ') {
            Some((scheme, credential)) => {
                (scheme.to_ascii_lowercase(), credential.trim().to_string())
            }
            None if value.trim().eq_ignore_ascii_case("jwt") => {
                return Err(Refusal::Malformed("the JWT is empty".into()));
            }
            None => return Err(unauthorized("Basic", "malformed Authorization header")),
        },
        None => match from_query {
            Some(token) => ("jwt".into(), token),
            None => return Ok(Caller::Anonymous),
        },
    };
    match scheme.as_str() {
        "basic" => basic(state, &credential),
        "jwt" => connect_jwt(state, &credential, method, path, query),
        "bearer" => bearer(state, &credential),
        _ => Err(unauthorized("Basic", "unsupported authorization scheme")),
    }
}

fn unauthorized(scheme: &'static str, message: &str) -> Refusal {
    Refusal::Unauthorized {
        scheme,
        message: message.to_string(),
    }
}

fn basic(state: &MockState, credential: &str) -> Result<Caller, Refusal> {
    let decoded = STANDARD
        .decode(credential)
        .ok()
        .and_then(|b| String::from_utf8(b).ok());
    let Some((login, token)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
        return Err(unauthorized("Basic", "malformed Basic credentials"));
    };
    state
        .def
        .users
        .iter()
        .position(|u| {
            (u.username.as_deref() == Some(login) || u.email.as_deref() == Some(login))
                && u.api_token == token
        })
        .map(Caller::User)
        .ok_or_else(|| {
            unauthorized(
                "Basic",
                "Your presented credentials do not provide access to this resource.",
            )
        })
}

/// A JWT's header and claims, decoded but not verified; `None` when it does not parse.
pub(crate) fn peek(token: &str) -> Option<(serde_json::Value, serde_json::Value)> {
    let mut parts = token.split('.');
    let (header, claims, signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || URL_SAFE_NO_PAD.decode(signature).is_err() {
        return None;
    }
    let json = |part: &str| {
        serde_json::from_slice::<serde_json::Value>(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()
    };
    Some((json(header)?, json(claims)?))
}

/// Why a JWT does not verify, in the words Atlassian's verifier uses.
#[derive(Debug, thiserror::Error)]
pub(crate) enum JwtRefusal {
    /// The secret is no HMAC key.
    #[error("{0}")]
    Key(jsonwebtoken::errors::Error),
    /// The signature or a time claim fails.
    #[error("JWT verification failed: {0}")]
    Invalid(jsonwebtoken::errors::Error),
    /// `exp` not after `nbf`.
    #[error("'exp' must be after 'nbf'")]
    ExpiresBeforeValid,
    /// `iat` after now (beyond the leeway).
    #[error("'iat' is in the future")]
    IssuedInFuture,
    /// A lifetime longer than any client asks for.
    #[error("the token's lifetime ('exp' - 'iat') is over {} hours", MAX_LIFETIME_SECONDS / 3600)]
    TooLong,
    /// No `iat`.
    #[error(
        "'exp' and 'iat' are required claims. Atlassian JWT does not allow JWTs with unlimited lifetimes."
    )]
    Unbounded,
}

/// Verifies an HS256 signature and the time claims (`exp` and `iat` required, `nbf` honoured).
pub(crate) fn verify_hs256(token: &str, secret: &str) -> Result<serde_json::Value, JwtRefusal> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = LEEWAY_SECONDS;
    validation.validate_aud = false;
    validation.validate_nbf = true;
    validation.set_required_spec_claims(&["exp"]);
    let key = DecodingKey::from_secret(secret.as_bytes()).map_err(JwtRefusal::Key)?;
    let claims = jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation)
        .map_err(JwtRefusal::Invalid)?
        .claims;
    if let (Some(nbf), Some(exp)) = (claims["nbf"].as_f64(), claims["exp"].as_f64())
        && exp <= nbf
    {
        return Err(JwtRefusal::ExpiresBeforeValid);
    }
    let (Some(iat), Some(exp)) = (claims["iat"].as_f64(), claims["exp"].as_f64()) else {
        return Err(JwtRefusal::Unbounded);
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    if iat > now + LEEWAY_SECONDS as f64 {
        return Err(JwtRefusal::IssuedInFuture);
    }
    if exp - iat > MAX_LIFETIME_SECONDS as f64 {
        return Err(JwtRefusal::TooLong);
    }
    Ok(claims)
}

fn connect_jwt(
    state: &MockState,
    token: &str,
    method: &str,
    path: &str,
    query: Option<&str>,
) -> Result<Caller, Refusal> {
    let Some((header, claims)) = peek(token).filter(|(h, c)| h.is_object() && c.is_object()) else {
        return Err(Refusal::Malformed("the JWT does not parse".into()));
    };
    if header["alg"] != "HS256" {
        return Err(unauthorized(
            "JWT",
            &format!("algorithm {} is not accepted: HS256 only", header["alg"]),
        ));
    }
    let issuer = claims["iss"].as_str().unwrap_or_default();
    let Some(app) = state.def.apps.iter().position(|a| a.key == issuer) else {
        return Err(unauthorized(
            "JWT",
            "Your presented credentials do not provide access to this resource.",
        ));
    };
    let claims = verify_hs256(token, &state.def.apps[app].shared_secret)
        .map_err(|e| unauthorized("JWT", &e.to_string()))?;
    let expected = qsh::qsh(&qsh::canonical_request(method, path, query, ""));
    match claims["qsh"].as_str() {
        None => Err(unauthorized("JWT", "Claim 'qsh' is missing.")),
        Some(actual) if actual != expected => Err(unauthorized(
            "JWT",
            &format!(
                "Expecting claim 'qsh' to have value '{expected}' but instead it has the value '{actual}'"
            ),
        )),
        Some(_) => Ok(Caller::App(app)),
    }
}

fn bearer(state: &MockState, token: &str) -> Result<Caller, Refusal> {
    let tokens = state
        .tokens
        .lock()
        .map_err(|_| unauthorized("Bearer", "token store unavailable"))?;
    match tokens.get(token) {
        Some(issued) if issued.expires_at > Instant::now() => Ok(Caller::Impersonated {
            app: issued.app,
            user: issued.user,
            scopes: issued.scopes.clone(),
        }),
        Some(_) => Err(unauthorized("Bearer", "the access token has expired")),
        None => Err(unauthorized("Bearer", "the access token is not valid")),
    }
}
