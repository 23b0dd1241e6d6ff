//! Tamper probes on the wire: a principal's own auth mode authorizes the
//! request, then the probe breaks what it put there (a password, a token, a
//! JWT's signature or claims), so the server sees exactly one thing wrong.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use futures::FutureExt;
use futures::future::BoxFuture;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::header::{COOKIE, HeaderName, HeaderValue};

use super::{Auth, AuthEnv, AuthError, secret};
use crate::redact::Redactor;
use crate::suite::probe::Probe;
use crate::suite::{AuthSpec, JwtPlacement, LoginExtract};

/// How a tamper error starts when the probe finds nothing to break (a
/// grant's access token that is not a JWT): the cell is skipped, not failed.
pub(crate) const NOT_APPLICABLE: &str = "probe not applicable:";

/// Where the credential a probe breaks is in the request.
#[derive(Clone, Debug)]
enum Place {
    /// A header, after `scheme` (empty: the whole value).
    Header { name: HeaderName, scheme: String },
    /// A query parameter.
    Query(String),
    /// A cookie.
    Cookie(String),
}

/// A principal's auth mode with a probe applied after it.
struct Tampered {
    inner: Arc<dyn Auth>,
    probe: Probe,
    place: Place,
    /// The key the principal signs with, to re-sign altered claims.
    key: Option<(Algorithm, EncodingKey, Option<String>)>,
    /// The principal's public key (PEM), when it signs with a private key file.
    public_pem: Option<String>,
    redactor: Arc<Redactor>,
}

/// `inner` (the principal's mode, built from `spec`) with `probe` applied to
/// every request it authorizes.
pub(crate) fn wrap(
    inner: Arc<dyn Auth>,
    probe: Probe,
    spec: &AuthSpec,
    env: &AuthEnv<'_>,
) -> Result<Arc<dyn Auth>, AuthError> {
    let header = |name: &str, scheme: &str| -> Result<Place, AuthError> {
        Ok(Place::Header {
            name: HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| AuthError(format!("`{name}` is not a header name")))?,
            scheme: scheme.to_string(),
        })
    };
    let mut public_pem = None;
    let (place, key) = match spec {
        AuthSpec::Basic { .. } => (header("authorization", "Basic")?, None),
        AuthSpec::Bearer { .. } => (header("authorization", "Bearer")?, None),
        AuthSpec::Header { name, .. } => (header(name, "")?, None),
        AuthSpec::Query { name, .. } => (Place::Query(name.clone()), None),
        AuthSpec::Cookie { name, .. } => (Place::Cookie(name.clone()), None),
        AuthSpec::Login(login) => match &login.extract {
            LoginExtract::Cookie(name) => (Place::Cookie(name.clone()), None),
            LoginExtract::Token(_) => (
                header(
                    login.header.as_deref().unwrap_or("authorization"),
                    login.scheme.as_deref().unwrap_or("Bearer"),
                )?,
                None,
            ),
        },
        AuthSpec::ConnectJwt(connect) => {
            let place = match connect.placement {
                JwtPlacement::Header => header("authorization", "JWT")?,
                JwtPlacement::Query => Place::Query(crate::atlassian::qsh::JWT_PARAM.into()),
            };
            let key = EncodingKey::from_secret(secret(&connect.secret, env)?.as_bytes())
                .map_err(|e| AuthError(format!("unusable secret: {e}")))?;
            (place, Some((Algorithm::HS256, key, None)))
        }
        AuthSpec::Jwt(jwt) => {
            let (key, private_pem) = super::self_signed::signing_key(jwt, env)?;
            public_pem = private_pem.as_deref().and_then(public_key_pem);
            (
                header(&jwt.header, &jwt.scheme)?,
                Some((jwt.algorithm, key, jwt.kid.clone())),
            )
        }
        AuthSpec::JwtBearerGrant(_) | AuthSpec::ClientCredentials(_) => {
            (header("authorization", "Bearer")?, None)
        }
        AuthSpec::None => return Ok(inner),
    };
    Ok(Arc::new(Tampered {
        inner,
        probe,
        place,
        key,
        public_pem,
        redactor: env.redactor.clone(),
    }))
}

impl Auth for Tampered {
    fn authorize<'a>(
        &'a self,
        request: &'a mut ::http::Request<bytes::Bytes>,
    ) -> BoxFuture<'a, Result<(), AuthError>> {
        async move {
            self.inner.authorize(request).await?;
            let Some(value) = read(&self.place, request) else {
                return Err(AuthError(format!(
                    "probe {}: the principal's credential is not in the request",
                    self.probe.as_str()
                )));
            };
            let broken = self.break_credential(&value)?;
            self.redactor.add_token(&broken);
            write(&self.place, request, &broken)
        }
        .boxed()
    }

    fn notes(&self) -> Vec<String> {
        let mut notes = self.inner.notes();
        notes.push(format!(
            "probe {}: {}",
            self.probe.as_str(),
            self.probe.describe()
        ));
        notes
    }
}

impl Tampered {
    /// The credential `value` (after its scheme) as the probe breaks it.
    fn break_credential(&self, value: &str) -> Result<String, AuthError> {
        match self.probe {
            Probe::None => Ok(String::new()),
            Probe::WrongPassword => {
                let pair = STANDARD
                    .decode(value.trim())
                    .ok()
                    .and_then(|bytes| String::from_utf8(bytes).ok())
                    .ok_or_else(|| {
                        AuthError("probe wrong_password: not a Basic credential".into())
                    })?;
                let (user, password) = pair.split_once(':').unwrap_or((&pair, ""));
                // The altered password is a secret too: a server may echo it decoded.
                let altered = mangle(password);
                self.redactor.add(&altered);
                Ok(STANDARD.encode(format!("{user}:{altered}")))
            }
            Probe::Mangled | Probe::StaleSession => Ok(mangle(value)),
            // One character has no half: it is changed instead.
            Probe::Truncated if value.chars().count() < 2 => Ok(mangle(value)),
            Probe::Truncated => {
                let half = value.chars().count() / 2;
                Ok(value.chars().take(half).collect())
            }
            _ => self.break_jwt(value),
        }
    }

    /// A JWT broken by the probe: its signature, its algorithm, its claims
    /// (re-signed with the real key, so only the claim is wrong), its key.
    fn break_jwt(&self, token: &str) -> Result<String, AuthError> {
        let not_jwt = || {
            if self.key.is_none() {
                // A grant's token: the server chose its form, and it is no JWT.
                return AuthError(format!(
                    "{NOT_APPLICABLE} probe {}: the access token is not a JWT",
                    self.probe.as_str()
                ));
            }
            AuthError(format!(
                "probe {}: the credential is not a JWT",
                self.probe.as_str()
            ))
        };
        let mut parts = token.split('.');
        let (head, body, signature) = (
            parts.next().ok_or_else(not_jwt)?,
            parts.next().ok_or_else(not_jwt)?,
            parts.next().ok_or_else(not_jwt)?,
        );
        let mut claims: serde_json::Value = URL_SAFE_NO_PAD
            .decode(body)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .filter(serde_json::Value::is_object)
            .ok_or_else(not_jwt)?;
        let now = crate::auth::sign::now_seconds() as i64;
        match self.probe {
            Probe::BadSignature => {
                // The first character: the last may only carry padding bits.
                let mut chars: Vec<char> = signature.chars().collect();
                if let Some(first) = chars.first_mut() {
                    *first = if *first == 'A' { 'B' } else { 'A' };
                }
                return Ok(format!(
                    "{head}.{body}.{}",
                    chars.into_iter().collect::<String>()
                ));
            }
            Probe::AlgNone => {
                let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
                return Ok(format!("{header}.{body}."));
            }
            Probe::WrongKey => {
                // The token's own header (algorithm, kid, typ): only the key differs.
                let original: serde_json::Value = URL_SAFE_NO_PAD
                    .decode(head)
                    .ok()
                    .and_then(|bytes| serde_json::from_slice(&bytes).ok())
                    .ok_or_else(not_jwt)?;
                let algorithm = match original["alg"].as_str() {
                    Some("HS384") => Algorithm::HS384,
                    Some("HS512") => Algorithm::HS512,
                    _ => Algorithm::HS256,
                };
                let mut header = Header::new(algorithm);
                header.kid = original["kid"].as_str().map(str::to_string);
                header.typ = original["typ"].as_str().map(str::to_string);
                let key = EncodingKey::from_secret(b"permatrix-probe-wrong-key-0f3c9a71e2d4b856")
                    .map_err(|e| AuthError(format!("probe wrong_key: {e}")))?;
                return jsonwebtoken::encode(&header, &claims, &key)
                    .map_err(|e| AuthError(format!("probe wrong_key: {e}")));
            }
            Probe::OtherAlgorithm => {
                let Some(public) = &self.public_pem else {
                    return Err(AuthError(
                        "probe other_algorithm: the public key of the private key file could not be derived (RSA, P-256 and P-384 keys can)".into(),
                    ));
                };
                let original: serde_json::Value = URL_SAFE_NO_PAD
                    .decode(head)
                    .ok()
                    .and_then(|bytes| serde_json::from_slice(&bytes).ok())
                    .ok_or_else(not_jwt)?;
                let mut header = Header::new(Algorithm::HS256);
                header.kid = original["kid"].as_str().map(str::to_string);
                header.typ = original["typ"].as_str().map(str::to_string);
                let key = EncodingKey::from_secret(public.as_bytes())
                    .map_err(|e| AuthError(format!("probe other_algorithm: {e}")))?;
                return jsonwebtoken::encode(&header, &claims, &key)
                    .map_err(|e| AuthError(format!("probe other_algorithm: {e}")));
            }
            Probe::Expired => {
                claims["exp"] = (now - 3600).into();
                claims["iat"] = (now - 7200).into();
                if claims.get("nbf").is_some() {
                    claims["nbf"] = (now - 7200).into();
                }
            }
            Probe::NotYetValid => {
                claims["nbf"] = (now + 3600).into();
                claims["iat"] = (now + 3600).into();
                claims["exp"] = (now + 7200).into();
            }
            Probe::WrongAudience => claims["aud"] = "permatrix-probe-wrong-audience".into(),
            Probe::WrongIssuer => claims["iss"] = "permatrix-probe-wrong-issuer".into(),
            Probe::WrongQsh => {
                claims["qsh"] =
                    crate::atlassian::qsh::qsh("GET&/permatrix-probe-other-request&").into();
            }
            Probe::NoQsh => {
                if let Some(map) = claims.as_object_mut() {
                    map.remove("qsh");
                }
            }
            _ => return Err(not_jwt()),
        }
        let Some((algorithm, key, kid)) = &self.key else {
            return Err(AuthError(format!(
                "probe {}: the key is unknown, so the token cannot be re-signed",
                self.probe.as_str()
            )));
        };
        let mut header = Header::new(*algorithm);
        header.kid = kid.clone();
        jsonwebtoken::encode(&header, &claims, key)
            .map_err(|e| AuthError(format!("probe {}: {e}", self.probe.as_str())))
    }
}

/// The public key (PEM, SubjectPublicKeyInfo) of a PKCS#8 or PKCS#1/SEC1
/// private key: what a verifier that takes the algorithm from the token
/// would use as an HMAC secret.
fn public_key_pem(private: &str) -> Option<String> {
    use p256::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};
    if let Ok(key) = rsa::PrivateKey::from_pkcs8_pem(private).or_else(|_| {
        use rsa::pkcs1::DecodeRsaPrivateKey;
        rsa::PrivateKey::from_pkcs1_pem(private)
    }) {
        return key.to_public_key().to_public_key_pem(LineEnding::LF).ok();
    }
    if let Ok(key) = p256::SecretKey::from_pkcs8_pem(private)
        .or_else(|_| p256::SecretKey::from_sec1_pem(private))
    {
        return key.public_key().to_public_key_pem(LineEnding::LF).ok();
    }
    if let Ok(key) = p384::SecretKey::from_pkcs8_pem(private)
        .or_else(|_| p384::SecretKey::from_sec1_pem(private))
    {
        return key.public_key().to_public_key_pem(LineEnding::LF).ok();
    }
    None
}

/// One character changed (in the middle, to another of the same kind), so
/// the credential keeps its shape and length.
fn mangle(value: &str) -> String {
    let mut chars: Vec<char> = value.chars().collect();
    if chars.is_empty() {
        return "x".into();
    }
    let at = chars.len() / 2;
    chars[at] = match chars[at] {
        'a'..='y' | 'A'..='Y' | '0'..='8' => char::from(chars[at] as u8 + 1),
        'z' => 'a',
        'Z' => 'A',
        '9' => '0',
        _ => 'x',
    };
    chars.into_iter().collect()
}

/// The credential at `place`, after its scheme.
fn read(place: &Place, request: &::http::Request<bytes::Bytes>) -> Option<String> {
    match place {
        Place::Header { name, scheme } => {
            let value = request.headers().get(name)?.to_str().ok()?.trim();
            if scheme.is_empty() {
                return Some(value.to_string());
            }
            let (given, rest) = value.split_once(' ')?;
            given
                .eq_ignore_ascii_case(scheme)
                .then(|| rest.trim().to_string())
        }
        Place::Query(name) => url::form_urlencoded::parse(request.uri().query()?.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned()),
        Place::Cookie(name) => request
            .headers()
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.to_string()),
    }
}

/// Puts `broken` at `place`; an empty one removes the credential.
fn write(
    place: &Place,
    request: &mut ::http::Request<bytes::Bytes>,
    broken: &str,
) -> Result<(), AuthError> {
    let bad = |e: String| AuthError(format!("probe: {e}"));
    match place {
        Place::Header { name, scheme } => {
            if broken.is_empty() {
                request.headers_mut().remove(name);
                return Ok(());
            }
            let text = if scheme.is_empty() {
                broken.to_string()
            } else {
                format!("{scheme} {broken}")
            };
            let value = HeaderValue::from_str(&text).map_err(|e| bad(e.to_string()))?;
            request.headers_mut().insert(name.clone(), value);
        }
        Place::Query(name) => {
            let uri = request.uri().clone();
            // Only the credential's pair changes: the others go out as they were encoded.
            let encoded: String = url::form_urlencoded::byte_serialize(broken.as_bytes()).collect();
            let kept: Vec<String> = uri
                .query()
                .unwrap_or_default()
                .split('&')
                .filter(|pair| !pair.is_empty())
                .filter_map(|pair| {
                    let key = pair.split_once('=').map_or(pair, |(k, _)| k);
                    let decoded = percent_encoding::percent_decode_str(key).decode_utf8_lossy();
                    if decoded != name.as_str() {
                        return Some(pair.to_string());
                    }
                    (!broken.is_empty()).then(|| format!("{key}={encoded}"))
                })
                .collect();
            let query = kept.join("&");
            let path_and_query = if query.is_empty() {
                uri.path().to_string()
            } else {
                format!("{}?{query}", uri.path())
            };
            let mut parts = uri.into_parts();
            parts.path_and_query = Some(
                path_and_query
                    .parse()
                    .map_err(|e: ::http::uri::InvalidUri| bad(e.to_string()))?,
            );
            *request.uri_mut() = ::http::Uri::from_parts(parts).map_err(|e| bad(e.to_string()))?;
        }
        Place::Cookie(name) => {
            let cookies: Vec<String> = request
                .headers()
                .get_all(COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(';'))
                .map(|pair| pair.trim().to_string())
                .filter(|pair| !pair.is_empty())
                .map(|pair| match pair.split_once('=') {
                    Some((k, _)) if k == name => format!("{k}={broken}"),
                    _ => pair,
                })
                .filter(|pair| !(broken.is_empty() && pair == &format!("{name}=")))
                .collect();
            request.headers_mut().remove(COOKIE);
            if !cookies.is_empty() {
                let value =
                    HeaderValue::from_str(&cookies.join("; ")).map_err(|e| bad(e.to_string()))?;
                request.headers_mut().insert(COOKIE, value);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mangling_changes_one_character_and_keeps_the_length() {
        let before = "reader-token-3f9a1c";
        let after = mangle(before);
        assert_eq!(after.len(), before.len());
        assert_eq!(
            before
                .chars()
                .zip(after.chars())
                .filter(|(a, b)| a != b)
                .count(),
            1
        );
    }
}
