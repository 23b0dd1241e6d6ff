//! What in a recording is a secret: names that say so (a `password` field, a
//! `token` query parameter), values that look like one (a JWT), and every
//! credential value seen, kept in a guard that each written string passes.

use base64::Engine;
use percent_encoding::{percent_decode_str, utf8_percent_encode};

/// Every credential value seen in the recording, in the forms it may take.
#[derive(Debug, Default)]
pub(super) struct Secrets {
    values: std::collections::BTreeSet<String>,
}

/// Secrets shorter than this are matched whole, not inside other text.
const SUBSTRING_LEN: usize = 6;

impl Secrets {
    /// Adds `value` and its percent-encoded and percent-decoded forms.
    pub(super) fn add(&mut self, value: &str) {
        let value = value.trim();
        if value.is_empty() {
            return;
        }
        self.values.insert(value.to_string());
        let encoded = utf8_percent_encode(value, crate::percent::UNRESERVED_ONLY).to_string();
        self.values.insert(encoded);
        if let Ok(decoded) = percent_decode_str(value).decode_utf8()
            && !decoded.is_empty()
        {
            self.values.insert(decoded.into_owned());
        }
    }

    /// Adds `value`, its base64 forms and, for a token in base64, nothing more.
    pub(super) fn add_with_base64(&mut self, value: &str) {
        self.add(value);
        let engines = [
            base64::engine::general_purpose::STANDARD.encode(value),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value),
        ];
        for form in engines {
            self.add(&form);
        }
    }

    /// Whether `text` is a secret or holds one.
    pub(super) fn leaks(&self, text: &str) -> bool {
        if text.is_empty() {
            return false;
        }
        if looks_like_jwt(text) || self.values.contains(text) {
            return true;
        }
        self.values
            .iter()
            .any(|s| s.len() >= SUBSTRING_LEN && text.contains(s.as_str()))
            || text
                .split([' ', '/', '=', '&', ';', ',', '"', ':', '?'])
                .any(looks_like_jwt)
    }
}

/// `xxxxx.yyyyy.zzzzz` with a JSON header: a JWT, a secret wherever it is.
pub(super) fn looks_like_jwt(text: &str) -> bool {
    let mut parts = text.split('.');
    let (Some(header), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    header.starts_with("eyJ") && payload.len() >= 2 && text.len() >= 20
}

/// Whether a query parameter carries a secret by its name (`token`, `key`,
/// `signature`, `code`…): its value is never written.
pub(super) fn is_secret_param(name: &str) -> bool {
    let lower = crate::http::snake_case(name);
    crate::http::is_credential_param(&lower)
        || matches!(lower.as_str(), "code" | "otp" | "pin" | "nonce")
        || words(&lower)
            .any(|w| matches!(w, "csrf" | "xsrf" | "passcode" | "saml" | "samlresponse"))
}

/// Whether a body field holds a secret by its name (`password`,
/// `client_secret`, `refresh_token`, `api_key`…). A bare `key`, as in a
/// project's key, is not one; `api_key` and `secret_key` are.
pub(super) fn is_secret_field(name: &str) -> bool {
    let lower = crate::http::snake_case(name);
    let list: Vec<&str> = words(&lower).collect();
    let secret_word = list.iter().any(|w| {
        matches!(
            *w,
            "apikey"
                | "token"
                | "accesstoken"
                | "secret"
                | "password"
                | "passwd"
                | "pwd"
                | "passcode"
                | "passphrase"
                | "sig"
                | "signature"
                | "jwt"
                | "credential"
                | "credentials"
                | "otp"
                | "cvv"
                | "cvc"
                | "csrf"
                | "xsrf"
                | "session"
                | "sessionid"
        )
    }) || lower.contains("password");
    let key_of_kind = list.contains(&"key")
        && list.iter().any(|w| {
            matches!(
                *w,
                "api"
                    | "access"
                    | "secret"
                    | "private"
                    | "auth"
                    | "license"
                    | "signing"
                    | "encryption"
                    | "session"
            )
        });
    secret_word || key_of_kind || matches!(lower.as_str(), "pin" | "code" | "otp")
}

/// Whether a path segment after `previous` holds a secret (`/reset/<token>`).
pub(super) fn is_secret_position(previous: &str) -> bool {
    let lower = previous.to_ascii_lowercase();
    words(&lower).any(|w| {
        matches!(
            w,
            "token"
                | "tokens"
                | "reset"
                | "verify"
                | "verification"
                | "confirm"
                | "confirmation"
                | "invite"
                | "invites"
                | "invitation"
                | "invitations"
                | "activate"
                | "activation"
                | "magic"
                | "password"
                | "secret"
                | "secrets"
                | "signature"
                | "session"
                | "sessions"
                | "unsubscribe"
                | "key"
                | "keys"
                | "apikey"
                | "apikeys"
        )
    })
}

fn words(lower: &str) -> impl Iterator<Item = &str> {
    lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_say_secret() {
        for name in [
            "token",
            "access_token",
            "api_key",
            "sig",
            "code",
            "session",
            "X-Amz-Signature",
            "_csrf",
        ] {
            assert!(is_secret_param(name), "{name}");
        }
        for name in ["q", "page", "keyword", "lang", "country_code"] {
            assert!(!is_secret_param(name), "{name}");
        }
        for name in [
            "password",
            "newPassword",
            "client_secret",
            "refresh_token",
            "api_key",
            "secretKey",
            "otp",
        ] {
            assert!(is_secret_field(name), "{name}");
        }
        for name in ["key", "project_key", "name", "username", "tokenizer"] {
            assert!(!is_secret_field(name), "{name}");
        }
        assert!(is_secret_position("reset-password"));
        assert!(!is_secret_position("items"));
    }

    #[test]
    fn the_guard_finds_a_secret_in_its_forms() {
        let mut secrets = Secrets::default();
        secrets.add_with_base64("s3cret/value+1");
        assert!(secrets.leaks("x s3cret/value+1 y"));
        assert!(secrets.leaks("a=s3cret%2Fvalue%2B1"));
        assert!(secrets.leaks(&base64::engine::general_purpose::STANDARD.encode("s3cret/value+1")));
        assert!(!secrets.leaks("s3cret"));
        secrets.add("bob");
        assert!(secrets.leaks("bob"));
        assert!(!secrets.leaks("bobcat"));
        assert!(secrets.leaks("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"));
        assert!(!secrets.leaks("v1.2.3"));
        assert!(secrets.leaks("token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln&x=1"));
    }
}
