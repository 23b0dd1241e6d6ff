//! The secret registry: every credential and everything derived from one is
//! registered here, and every text that leaves permatrix is masked through it.

use std::borrow::Cow;
use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, RwLock};

use aho_corasick::AhoCorasick;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What a masked secret is replaced with.
pub const MASK: &str = "****";

/// Secrets shorter than this are masked only where a whole value equals them:
/// masking them inside free text would mangle it.
pub const MIN_FREE_TEXT_LEN: usize = 6;

/// The set of known secrets.
#[derive(Debug)]
pub struct Redactor {
    /// Secrets with their length in characters, longest first, so a secret
    /// containing another is masked whole.
    secrets: RwLock<Vec<(String, usize)>>,
    /// The free-text secrets as one automaton, so a text is scanned once, not
    /// once per secret: `None` until first needed after a change; `Some(None)`
    /// when there is no free-text secret (or it could not be built).
    matcher: RwLock<Option<Option<Arc<AhoCorasick>>>>,
    /// Fingerprints of the tokens minted per request (Connect JWTs): many,
    /// all made of token characters, so they are found by lookup rather than
    /// by search. A 64-bit keyed hash of its length and last bytes stands for
    /// each token (a run mints one per cell, and a token is ~300 bytes); a
    /// word sharing one with a token is masked too, which only hides more.
    tokens: RwLock<HashSet<u64>>,
    /// The key of those fingerprints, random per process.
    fingerprint_key: RandomState,
    /// The length of the shortest registered token: shorter words in a text
    /// cannot be one, so most words are never looked up.
    shortest_token: AtomicUsize,
}

/// Characters a minted token is made of (base64url and the JWT dots).
fn is_token_char(c: char) -> bool {
    c.is_ascii() && is_token_byte(c as u8)
}

/// [`is_token_char`] on a byte, by table: every byte of every minted token is checked.
fn is_token_byte(b: u8) -> bool {
    TOKEN_BYTES[usize::from(b)]
}

const TOKEN_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        table[b] = byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~');
        b += 1;
    }
    table
};

/// How many of a token's last bytes its fingerprint covers: a JWT's last 32
/// characters are its signature's, unique to it.
const FINGERPRINT_TAIL: usize = 32;

impl Default for Redactor {
    fn default() -> Redactor {
        Redactor {
            secrets: RwLock::default(),
            matcher: RwLock::default(),
            tokens: RwLock::default(),
            fingerprint_key: RandomState::new(),
            shortest_token: AtomicUsize::new(usize::MAX),
        }
    }
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
            if !secrets.iter().any(|(s, _)| *s == form) {
                let chars = form.chars().count();
                let at = secrets.partition_point(|(_, n)| *n >= chars);
                secrets.insert(at, (form, chars));
                // Still under the secrets' write lock: no mask can build from the old list.
                *self
                    .matcher
                    .write()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
            }
        }
        secret.chars().count() < MIN_FREE_TEXT_LEN
    }

    /// Registers a minted token (only token characters, at least
    /// [`MIN_FREE_TEXT_LEN`] long); anything else is registered as a secret.
    /// The callers are JWT signers, whose tokens are base64url and dots by
    /// construction: the check is cheap (a table) and stays as a guard.
    pub fn add_token(&self, token: &str) {
        if token.len() < MIN_FREE_TEXT_LEN || !token.bytes().all(is_token_byte) {
            self.add(token);
            return;
        }
        let mut tokens = self
            .tokens
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        tokens.insert(self.fingerprint(token));
        self.shortest_token
            .fetch_min(token.len(), Ordering::Relaxed);
    }

    /// How many registered secrets are too short to be masked inside free text.
    pub fn short_secrets(&self) -> usize {
        let secrets = self
            .secrets
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        secrets
            .iter()
            .filter(|(_, n)| *n < MIN_FREE_TEXT_LEN)
            .count()
    }

    /// A token's fingerprint: its length and its last bytes, hashed with the process's key.
    fn fingerprint(&self, token: &str) -> u64 {
        let tail = &token.as_bytes()[token.len().saturating_sub(FINGERPRINT_TAIL)..];
        self.fingerprint_key.hash_one((token.len(), tail))
    }

    /// Masks every registered secret in `text`.
    pub fn mask(&self, text: &str) -> String {
        self.masked(text).into_owned()
    }

    /// [`Redactor::mask`], borrowing `text` when it holds no secret.
    pub fn masked<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let secrets = self
            .secrets
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if secrets.iter().any(|(s, _)| s == text) {
            return Cow::Borrowed(MASK);
        }
        let free_text = || {
            secrets
                .iter()
                .take_while(|(_, n)| *n >= MIN_FREE_TEXT_LEN)
                .map(|(s, _)| s.as_str())
        };
        let out = match self.matcher(free_text) {
            Some(matcher) => mask_matches(text, &matcher),
            None if free_text().next().is_none() => Cow::Borrowed(text),
            None => {
                // No automaton (it could not be built): one secret at a time.
                let mut out = text.to_string();
                for secret in free_text() {
                    if out.contains(secret) {
                        out = out.replace(secret, MASK);
                    }
                }
                Cow::Owned(out)
            }
        };
        drop(secrets);
        match self.mask_tokens(&out) {
            Some(masked) => Cow::Owned(masked),
            None => out,
        }
    }

    /// The automaton of the free-text secrets, built on first use after a change
    /// (the caller holds the secrets' read lock).
    fn matcher<'s, I: Iterator<Item = &'s str>>(
        &self,
        free_text: impl Fn() -> I,
    ) -> Option<Arc<AhoCorasick>> {
        if let Some(cached) = self
            .matcher
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .as_ref()
        {
            return cached.clone();
        }
        let patterns: Vec<&str> = free_text().collect();
        let built = (!patterns.is_empty())
            .then(|| AhoCorasick::new(patterns).ok().map(Arc::new))
            .flatten();
        *self
            .matcher
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(built.clone());
        built
    }

    /// Replaces every run of token characters that is a registered token;
    /// `None` when there is nothing to replace.
    fn mask_tokens(&self, text: &str) -> Option<String> {
        let tokens = self
            .tokens
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let shortest = self.shortest_token.load(Ordering::Relaxed);
        if tokens.is_empty() || text.len() < shortest {
            return None;
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find(is_token_char) {
            out.push_str(&rest[..start]);
            let run = &rest[start..];
            let end = run.find(|c: char| !is_token_char(c)).unwrap_or(run.len());
            let word = &run[..end];
            // A sentence may end right after a token.
            let bare = word.trim_end_matches('.');
            if bare.len() < shortest {
                out.push_str(word);
            } else if tokens.contains(&self.fingerprint(word)) {
                out.push_str(MASK);
            } else if bare.len() < word.len() && tokens.contains(&self.fingerprint(bare)) {
                out.push_str(MASK);
                out.push_str(&word[bare.len()..]);
            } else {
                out.push_str(word);
            }
            rest = &run[end..];
        }
        out.push_str(rest);
        Some(out)
    }
}

/// `text` with every stretch covered by a secret replaced by one mask: where
/// secrets overlap or one contains another, their union is masked whole.
fn mask_matches<'t>(text: &'t str, matcher: &AhoCorasick) -> Cow<'t, str> {
    let mut covered: Vec<(usize, usize)> = matcher
        .find_overlapping_iter(text)
        .map(|m| (m.start(), m.end()))
        .collect();
    if covered.is_empty() {
        return Cow::Borrowed(text);
    }
    covered.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut shown = 0;
    let mut current: Option<(usize, usize)> = None;
    for (start, end) in covered {
        match &mut current {
            Some((_, open_end)) if start <= *open_end => *open_end = (*open_end).max(end),
            _ => {
                if let Some((s, e)) = current.take() {
                    out.push_str(&text[shown..s]);
                    out.push_str(MASK);
                    shown = e;
                }
                current = Some((start, end));
            }
        }
    }
    if let Some((s, e)) = current {
        out.push_str(&text[shown..s]);
        out.push_str(MASK);
        shown = e;
    }
    out.push_str(&text[shown..]);
    Cow::Owned(out)
}

/// A secret as written, percent-encoded, form-encoded and JSON-escaped.
fn encoded_forms(secret: &str) -> Vec<String> {
    let percent =
        percent_encoding::utf8_percent_encode(secret, crate::percent::UNRESERVED_ONLY).to_string();
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
    fn overlapping_secrets_are_masked_as_their_union() {
        let r = Redactor::new();
        r.add("abcdef-1");
        r.add("ef-1-ghijk");
        assert_eq!(r.mask("x abcdef-1-ghijk y"), format!("x {MASK} y"));
        assert_eq!(r.mask("ef-1-ghijk abcdef-1"), format!("{MASK} {MASK}"));
        // A secret added after a mask is found by the next one.
        assert_eq!(r.mask("late-secret-9"), "late-secret-9");
        r.add("late-secret-9");
        assert_eq!(r.mask("a late-secret-9 b"), format!("a {MASK} b"));
    }

    #[test]
    fn minted_tokens_are_masked_by_lookup() {
        let r = Redactor::new();
        r.add_token("eyJhbGciOi.eyJpc3MiOi.c2lnbmF0dXJl");
        let text = "GET /x?a=1&jwt=eyJhbGciOi.eyJpc3MiOi.c2lnbmF0dXJl and JWT eyJhbGciOi.eyJpc3MiOi.c2lnbmF0dXJl.";
        assert_eq!(
            r.mask(text),
            format!("GET /x?a=1&jwt={MASK} and JWT {MASK}.")
        );
        assert_eq!(r.mask("eyJhbGciOi.eyJpc3MiOi"), "eyJhbGciOi.eyJpc3MiOi");
        // A shorter token registered later is found too.
        r.add_token("tok-2f9a");
        assert_eq!(r.mask("sent tok-2f9a, then"), format!("sent {MASK}, then"));
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
