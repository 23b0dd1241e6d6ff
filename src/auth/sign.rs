//! Signing JWTs and reading them back for `explain`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};

use super::AuthError;

/// Signs `claims` with HS256 and `secret`, header `{"typ":"JWT","alg":"HS256"}`.
pub fn hs256(claims: &serde_json::Value, secret: &str) -> Result<String, AuthError> {
    let key = EncodingKey::from_secret(secret.as_bytes())
        .map_err(|e| AuthError(format!("unusable secret: {e}")))?;
    sign(&Header::new(Algorithm::HS256), claims, &key)
}

/// Signs `claims` with `header` and `key`.
pub fn sign(
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
pub fn decode_unverified(token: &str) -> Option<(serde_json::Value, serde_json::Value)> {
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

    #[test]
    fn signs_and_decodes() {
        let token = hs256(&serde_json::json!({"iss": "app", "qsh": "x"}), "secret").unwrap();
        let (header, claims) = decode_unverified(&token).unwrap();
        assert_eq!(header, serde_json::json!({"typ": "JWT", "alg": "HS256"}));
        assert_eq!(claims["iss"], "app");
        assert!(decode_unverified("not-a-jwt").is_none());
    }
}
