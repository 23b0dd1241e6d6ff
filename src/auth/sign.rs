//! Signing JWTs and reading them back for `explain`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use jsonwebtoken::{EncodingKey, Header};
use sha2::Sha256;

use super::AuthError;

/// Signs `claims` with HS256 and `secret`, header `{"typ":"JWT","alg":"HS256"}`.
pub fn hs256(claims: &serde_json::Value, secret: &str) -> Result<String, AuthError> {
    Hs256Signer::new(secret)?.sign(claims)
}

/// An HS256 signer keyed once, for a principal that signs every request (a
/// Connect app): keying HMAC and serialising the constant header per request
/// cost as much as the rest of the request. Its tokens are byte for byte the
/// ones jsonwebtoken makes with the same header.
#[derive(Clone)]
pub(crate) struct Hs256Signer {
    keyed: Hmac<Sha256>,
}

/// `{"typ":"JWT","alg":"HS256"}`, base64url: jsonwebtoken's HS256 header.
const HS256_HEADER: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9";

impl Hs256Signer {
    /// A signer for `secret`.
    pub(crate) fn new(secret: &str) -> Result<Hs256Signer, AuthError> {
        let keyed = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
            .map_err(|e| AuthError(format!("unusable secret: {e}")))?;
        Ok(Hs256Signer { keyed })
    }

    /// Signs `claims`.
    pub(crate) fn sign(&self, claims: &serde_json::Value) -> Result<String, AuthError> {
        let payload =
            serde_json::to_vec(claims).map_err(|e| AuthError(format!("cannot sign a JWT: {e}")))?;
        Ok(self.sign_payload(&payload))
    }

    /// Signs claims already serialised as a JSON object.
    pub(crate) fn sign_payload(&self, payload: &[u8]) -> String {
        let mut token = String::new();
        self.append_token(payload, &mut token);
        token
    }

    /// Signs `payload` (a serialised JSON object) and appends the token to
    /// `out`: a caller building a header value saves a copy of the token.
    pub(crate) fn append_token(&self, payload: &[u8], out: &mut String) {
        out.reserve(HS256_HEADER.len() + payload.len() * 4 / 3 + 48);
        let start = out.len();
        out.push_str(HS256_HEADER);
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(payload, out);
        let mut mac = self.keyed.clone();
        mac.update(&out.as_bytes()[start..]);
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(mac.finalize().into_bytes(), out);
    }
}

impl std::fmt::Debug for Hs256Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hs256Signer")
    }
}

/// Signs `claims` with `header` and `key`.
pub(crate) fn sign(
    header: &Header,
    claims: &serde_json::Value,
    key: &EncodingKey,
) -> Result<String, AuthError> {
    jsonwebtoken::encode(header, claims, key)
        .map_err(|e| AuthError(format!("cannot sign a JWT: {e}")))
}

/// The current time in seconds since the epoch, as JWT `iat`.
pub fn now_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Decodes a JWT's header and claims without verifying it, for display.
pub(crate) fn decode_unverified(token: &str) -> Option<(serde_json::Value, serde_json::Value)> {
    let mut parts = token.split('.');
    let (header, claims, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    let decode = |part: &str| -> Option<serde_json::Value> {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()?).ok()
    };
    Some((decode(header)?, decode(claims)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::Algorithm;

    #[test]
    fn signs_and_decodes() {
        let token = hs256(&serde_json::json!({"iss": "app", "qsh": "x"}), "secret").unwrap();
        let (header, claims) = decode_unverified(&token).unwrap();
        assert_eq!(header, serde_json::json!({"typ": "JWT", "alg": "HS256"}));
        assert_eq!(claims["iss"], "app");
        assert!(decode_unverified("not-a-jwt").is_none());
    }

    #[test]
    fn the_keyed_signer_makes_the_same_tokens_as_jsonwebtoken() {
        let signer = Hs256Signer::new("shared-secret").unwrap();
        for claims in [
            serde_json::json!({"iss": "app", "iat": 1, "exp": 181, "qsh": "abc"}),
            serde_json::json!({"iss": "é ü", "sub": "urn:x:y", "aud": ["a", "b"]}),
            serde_json::json!({}),
        ] {
            let key = EncodingKey::from_secret(b"shared-secret").unwrap();
            let expected = sign(&Header::new(Algorithm::HS256), &claims, &key).unwrap();
            assert_eq!(signer.sign(&claims).unwrap(), expected);
            assert_eq!(signer.sign(&claims).unwrap(), expected, "signing twice");
        }
        let other = Hs256Signer::new("another-secret").unwrap();
        assert_ne!(
            other.sign(&serde_json::json!({})).unwrap(),
            signer.sign(&serde_json::json!({})).unwrap()
        );
    }
}
