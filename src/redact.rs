//! The secret registry: every credential and everything derived from one is
//! registered here, and every text that leaves permatrix is masked through it.

use std::sync::RwLock;

/// What a masked secret is replaced with.
pub const MASK: &str = "****";

/// Secrets shorter than this are masked only where a whole value equals them:
/// masking them inside free text would mangle it.
pub const MIN_FREE_TEXT_LEN: usize = 6;

/// The set of known secrets.
#[derive(Debug, Default)]
pub struct Redactor {
    /// Longest first, so a secret containing another is masked whole.
    secrets: RwLock<Vec<String>>,
}

impl Redactor {
    /// An empty registry.
    pub fn new() -> Redactor {
        Redactor::default()
    }

    /// Registers a secret, with the forms it takes once encoded in a URL, a
    /// form or a JSON string; returns true when it is too short to be masked inside free text.
    pub fn add(&self, secret: &str) -> bool {
        if secret.is_empty() {
            return false;
        }
        let mut secrets = self
            .secrets
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for form in encoded_forms(secret) {
            if !secrets.contains(&form) {
                secrets.push(form);
            }
        }
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secret.chars().count() < MIN_FREE_TEXT_LEN
    }

    /// How many registered secrets are too short to be masked inside free text.
    pub fn short_secrets(&self) -> usize {
        let secrets = self
            .secrets
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        secrets
            .iter()
            .filter(|s| s.chars().count() < MIN_FREE_TEXT_LEN)
            .count()
    }

    /// Masks every registered secret in `text`.
    pub fn mask(&self, text: &str) -> String {
        let secrets = self
            .secrets
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if secrets.iter().any(|s| s == text) {
            return MASK.to_string();
        }
        let mut out = text.to_string();
        for secret in secrets
            .iter()
            .filter(|s| s.chars().count() >= MIN_FREE_TEXT_LEN)
        {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), MASK);
            }
        }
        out
    }
}

/// A secret as written, percent-encoded, form-encoded and JSON-escaped.
fn encoded_forms(secret: &str) -> Vec<String> {
    let percent =
        percent_encoding::utf8_percent_encode(secret, crate::http::UNRESERVED_ONLY).to_string();
    let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json.trim_matches('"').to_string();
    let mut forms = vec![secret.to_string()];
    for form in [percent, form, json] {
        if !forms.contains(&form) {
            forms.push(form);
        }
    }
    forms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_longest_first_and_short_ones_only_whole() {
        let r = Redactor::new();
        assert!(!r.add("s3cret-token"));
        assert!(!r.add("s3cret-token-extended"));
        assert!(r.add("abc"));
        assert_eq!(
            r.mask("x s3cret-token-extended y s3cret-token"),
            format!("x {MASK} y {MASK}")
        );
        assert_eq!(r.mask("abc"), MASK);
        assert_eq!(r.mask("abcdef"), "abcdef");
    }

    #[test]
    fn encoded_forms_are_masked_too() {
        let r = Redactor::new();
        r.add("p@ss w0rd!\"x\\");
        for shown in [
            "p%40ss%20w0rd%21%22x%5C",
            "p%40ss+w0rd%21%22x%5C",
            "p@ss w0rd!\\\"x\\\\",
        ] {
            assert_eq!(
                r.mask(&format!("a {shown} b")),
                format!("a {MASK} b"),
                "{shown}"
            );
        }
    }
}
