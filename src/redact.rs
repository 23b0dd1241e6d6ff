//! The secret registry: every credential and everything derived from one is
//! registered here, and every text that leaves permatrix is masked through it.

use std::borrow::Cow;
use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, RwLock};

use aho_corasick::AhoCorasick;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What a masked secret is replaced with.
pub(crate) const MASK: &str = "****";

/// Secrets shorter than this are masked only where a whole value equals them:
/// masking them inside free text would mangle it.
pub(crate) const MIN_FREE_TEXT_LEN: usize = 6;

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
    /// Fingerprints of the signature segments of the JWTs minted per request
    /// (Connect JWTs): many, all base64url, so they are found by lookup rather
    /// than by search. A 64-bit keyed hash of its length and last bytes stands
    /// for each signature (a run mints one per cell); a word sharing one with a
    /// signature is masked too, which only hides more. The signature is what
    /// makes a token usable and it is unique to it, so the whole token is
    /// masked around it, and the signature alone wherever it stands.
    signatures: RwLock<HashSet<u64>>,
    /// The key of those fingerprints, random per process.
    fingerprint_key: RandomState,
    /// The length of the shortest registered signature: shorter words in a
    /// text cannot be one, so most words are never looked up.
    shortest_signature: AtomicUsize,
    /// Every length a registered signature has (one per algorithm in use):
    /// a signature with text glued to it is found at the start or the end of
    /// a longer run.
    signature_lengths: RwLock<Vec<usize>>,
    /// The secrets registered so far, as given.
    added: RwLock<HashSet<String>>,
}

/// Whether a byte belongs to a base64url segment of a JWT.
fn is_segment_byte(b: u8) -> bool {
    SEGMENT_BYTES[usize::from(b)]
}

const SEGMENT_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        table[b] = byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_');
        b += 1;
    }
    table
};

/// A JWT's signature segment: the last of three base64url segments.
fn signature_of(token: &str) -> Option<&str> {
    let mut segments = token.split('.');
    let (Some(header), Some(claims), Some(signature), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return None;
    };
    let base64url = |s: &str| !s.is_empty() && s.bytes().all(is_segment_byte);
    (base64url(header)
        && base64url(claims)
        && signature.len() >= MIN_FREE_TEXT_LEN
        && base64url(signature))
    .then_some(signature)
}

/// How many of a signature's last bytes its fingerprint covers.
const FINGERPRINT_TAIL: usize = 32;

impl Default for Redactor {
    fn default() -> Redactor {
        Redactor {
            secrets: RwLock::default(),
            matcher: RwLock::default(),
            signatures: RwLock::default(),
            fingerprint_key: RandomState::new(),
            shortest_signature: AtomicUsize::new(usize::MAX),
            signature_lengths: RwLock::default(),
            added: RwLock::default(),
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
        let short = secret.chars().count() < MIN_FREE_TEXT_LEN;
        // A secret registered again (a variable's value, once per cell) costs a lookup.
        let known = self
            .added
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .contains(secret);
        if known {
            return short;
        }
        self.added
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(secret.to_string());
        self.insert_forms(encoded_forms(secret));
        short
    }

    /// Adds `forms` to the masked texts, longest first, each once.
    fn insert_forms(&self, forms: impl IntoIterator<Item = String>) {
        let mut secrets = self
            .secrets
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for form in forms {
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
    }

    /// Registers the base64 forms (standard and URL-safe, padded or not) of a
    /// whole header value such as `Bearer <token>`, as a server may echo the
    /// `Authorization` it received encoded; the value itself shows as
    /// `Bearer ****` through its secret part.
    pub fn add_base64_of(&self, value: &str) {
        self.insert_forms(base64_forms(value));
    }

    /// Registers a JWT by its signature segment (no pattern to rebuild, however
    /// many a run mints); anything else is registered as a secret with
    /// [`Redactor::add`], whose answer it returns: true when too short to be
    /// masked inside free text (never for a JWT).
    pub fn add_token(&self, token: &str) -> bool {
        let Some(signature) = signature_of(token) else {
            return self.add(token);
        };
        let mut signatures = self
            .signatures
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        signatures.insert(self.fingerprint(signature));
        self.shortest_signature
            .fetch_min(signature.len(), Ordering::Relaxed);
        let mut lengths = self
            .signature_lengths
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if !lengths.contains(&signature.len()) {
            lengths.push(signature.len());
        }
        false
    }

    /// How many registered secrets are too short to be masked inside free text.
    pub fn short_secrets(&self) -> usize {
        self.added
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .iter()
            .filter(|s| s.chars().count() < MIN_FREE_TEXT_LEN)
            .count()
    }

    /// A signature's fingerprint: its length and its last bytes, hashed with the process's key.
    fn fingerprint(&self, signature: &str) -> u64 {
        let tail = &signature.as_bytes()[signature.len().saturating_sub(FINGERPRINT_TAIL)..];
        self.fingerprint_key.hash_one((signature.len(), tail))
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
        if secrets.iter().any(|(s, _)| s.eq_ignore_ascii_case(text)) {
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
            .then(|| {
                // A server may echo a secret upper- or lower-cased.
                AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .build(patterns)
                    .ok()
                    .map(Arc::new)
            })
            .flatten();
        *self
            .matcher
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(built.clone());
        built
    }

    /// Replaces every minted JWT (found by its signature) and every signature
    /// standing alone; `None` when nothing was masked.
    fn mask_tokens(&self, text: &str) -> Option<String> {
        let signatures = self
            .signatures
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let shortest = self.shortest_signature.load(Ordering::Relaxed);
        if signatures.is_empty() || text.len() < shortest {
            return None;
        }
        let lengths = self
            .signature_lengths
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let known = |run: &str| signatures.contains(&self.fingerprint(run));
        let bytes = text.as_bytes();
        let mut spans: Vec<(usize, usize)> = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if !is_segment_byte(bytes[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < bytes.len() && is_segment_byte(bytes[i]) {
                i += 1;
            }
            let run = &text[start..i];
            if run.len() < shortest {
                continue;
            }
            // The signature is the whole run, or text is glued after it
            // (`….sigZz`) or before it (a signature standing alone, `xxsig`).
            let glued = || {
                lengths
                    .iter()
                    .any(|&n| n < run.len() && (known(&run[..n]) || known(&run[run.len() - n..])))
            };
            if known(run) || glued() {
                spans.push((token_start(bytes, start), i));
            }
        }
        if spans.is_empty() {
            return None;
        }
        let mut out = String::with_capacity(text.len());
        let mut shown = 0;
        for (start, end) in spans {
            out.push_str(&text[shown..start.max(shown)]);
            out.push_str(MASK);
            shown = end;
        }
        out.push_str(&text[shown..]);
        Some(out)
    }
}

/// Where the JWT whose signature starts at `signature` starts: back over the
/// `header.claims.` before it when they are there. A header is JSON, so its
/// base64url starts with `eyJ`: text glued in front of it (`xJWTeyJ…`) stays.
fn token_start(bytes: &[u8], signature: usize) -> usize {
    let mut start = signature;
    for _ in 0..2 {
        if start < 2 || bytes[start - 1] != b'.' || !is_segment_byte(bytes[start - 2]) {
            return start;
        }
        let mut segment = start - 1;
        while segment > 0 && is_segment_byte(bytes[segment - 1]) {
            segment -= 1;
        }
        start = segment;
    }
    let header_end = start + bytes[start..].iter().position(|&b| b == b'.').unwrap_or(0);
    bytes[start..header_end]
        .windows(3)
        .position(|w| w == b"eyJ")
        .map_or(start, |at| start + at)
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

/// A secret in the forms servers and frameworks echo it in: as written;
/// percent-encoded (upper- and lower-case hex; every reserved character, as
/// `encodeURIComponent` leaves `!'()*`, and as `encodeURI` also leaves
/// `;,/?:@&=+$#`); form-encoded; JSON-escaped (plain, with `\/` as PHP writes
/// it, with `\uXXXX` for every non-ASCII character as Python writes it and for
/// `<>&` as Go writes it); HTML-escaped (named and numeric entities); and
/// base64, standard and URL-safe, with and without padding. Case changes are
/// matched by the automaton itself. A secret split by a line break (a wrapped
/// base64 block, say) is out of reach.
fn encoded_forms(secret: &str) -> Vec<String> {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'!')
        .remove(b'~')
        .remove(b'*')
        .remove(b'\'')
        .remove(b'(')
        .remove(b')');
    const URI: &AsciiSet = &COMPONENT
        .remove(b';')
        .remove(b',')
        .remove(b'/')
        .remove(b'?')
        .remove(b':')
        .remove(b'@')
        .remove(b'&')
        .remove(b'=')
        .remove(b'+')
        .remove(b'$')
        .remove(b'#');
    let percent = utf8_percent_encode(secret, crate::percent::UNRESERVED_ONLY).to_string();
    let lower_hex = lower_percent_hex(&percent);
    let component = utf8_percent_encode(secret, COMPONENT).to_string();
    let uri = utf8_percent_encode(secret, URI).to_string();
    let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json.trim_matches('"').to_string();
    let json_slashes = json.replace('/', "\\/");
    let json_ascii = json_escape_all(&json, |c| !c.is_ascii());
    let json_go = json_escape_all(&json, |c| matches!(c, '<' | '>' | '&'));
    let html = secret
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    let html_apostrophe = html.replace('\'', "&#39;");
    let html_hex = html.replace('\'', "&#x27;");
    let html_php = html.replace('\'', "&#039;");
    let html_go = secret
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;");
    let python_quote = percent.replace("%2F", "/");
    // JSON text sent in a query string (a GraphQL GET's variables): escaped, then percent-encoded.
    let json_in_query = utf8_percent_encode(&json, crate::percent::UNRESERVED_ONLY).to_string();
    let json_in_query_lower = lower_percent_hex(&json_in_query);
    let mut forms = vec![secret.to_string(), json_in_query, json_in_query_lower];
    for form in [
        percent,
        lower_hex,
        component,
        uri,
        form,
        json,
        json_slashes,
        json_ascii,
        json_go,
        html,
        html_apostrophe,
        html_hex,
        html_php,
        html_go,
        python_quote,
    ]
    .into_iter()
    .chain(base64_forms(secret))
    {
        if !forms.contains(&form) {
            forms.push(form);
        }
    }
    forms
}

/// `text` in base64, standard and URL-safe, padded or not.
fn base64_forms(text: &str) -> [String; 4] {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD]
        .map(|engine| engine.encode(text.as_bytes()))
}

/// `%2F` written `%2f`, as some servers write percent-encoding.
fn lower_percent_hex(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '%' {
            out.extend(chars.by_ref().take(2).map(|h| h.to_ascii_lowercase()));
        }
    }
    out
}

/// JSON-escaped `text` with every character `escape` picks written `\uXXXX`
/// (UTF-16, surrogate pairs beyond the BMP).
fn json_escape_all(text: &str, escape: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if escape(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
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
    fn minted_tokens_are_masked_by_their_signature() {
        let r = Redactor::new();
        let token = "eyJhbGciOi.eyJpc3MiOi.c2lnbmF0dXJl";
        r.add_token(token);
        // Glued to other text, in a query, in a sentence, or the signature alone.
        for (shown, masked) in [
            (format!("xJWT{token}"), format!("xJWT{MASK}")),
            (
                format!("a=1&jwt={token}&b=2"),
                format!("a=1&jwt={MASK}&b=2"),
            ),
            (
                "sig c2lnbmF0dXJl echoed".to_string(),
                format!("sig {MASK} echoed"),
            ),
            (format!("JWT%20{token}"), format!("JWT%20{MASK}")),
            (format!("{token}Zz and more"), format!("{MASK} and more")),
            (
                format!("/login?next=%2Fx%3Fa%3D1%26jwt%3D{token}"),
                format!("/login?next=%2Fx%3Fa%3D1%26jwt%3D{MASK}"),
            ),
            ("sig xxc2lnbmF0dXJl".to_string(), format!("sig {MASK}")),
        ] {
            assert_eq!(r.mask(&shown), masked, "{shown}");
        }
        // Nothing masked: the text comes back as it was, borrowed.
        assert!(
            r.mask_tokens("eyJhbGciOi.eyJpc3MiOi.b3RoZXJzaWduYXR1cmU")
                .is_none()
        );
        assert!(matches!(r.masked("no token here"), Cow::Borrowed(_)));
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
    fn the_forms_servers_echo_are_masked() {
        use base64::Engine;
        let secret = "Pä55/w:rd&<x>'t";
        let r = Redactor::new();
        r.add(secret);
        let b64 = base64::engine::general_purpose::STANDARD.encode(secret);
        let url_b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
        for shown in [
            "P%C3%A455%2Fw%3Ard%26%3Cx%3E%27t".to_string(),
            "P%c3%a455%2fw%3ard%26%3cx%3e%27t".to_string(),
            "P%C3%A455%2Fw%3Ard%26%3Cx%3E't".to_string(),
            "P%C3%A455/w:rd&%3Cx%3E't".to_string(),
            "Pä55\\/w:rd&<x>'t".to_string(),
            "P\\u00e455/w:rd&<x>'t".to_string(),
            "Pä55/w:rd\\u0026\\u003cx\\u003e't".to_string(),
            "Pä55/w:rd&amp;&lt;x&gt;&#039;t".to_string(),
            "P%C3%A455/w%3Ard%26%3Cx%3E%27t".to_string(),
            "Pä55/w:rd&amp;&lt;x&gt;&#39;t".to_string(),
            "Pä55/w:rd&amp;&lt;x&gt;&#x27;t".to_string(),
            b64,
            url_b64,
            secret.to_ascii_uppercase(),
            secret.to_ascii_lowercase(),
        ] {
            assert_eq!(
                r.mask(&format!("a {shown} b")),
                format!("a {MASK} b"),
                "{shown}"
            );
        }
    }

    #[test]
    fn a_whole_authorization_value_echoed_in_base64_is_masked() {
        use base64::Engine;
        let r = Redactor::new();
        r.add("static-token-value-1");
        r.add_base64_of("Bearer static-token-value-1");
        let echoed =
            base64::engine::general_purpose::STANDARD.encode("Bearer static-token-value-1");
        assert_eq!(r.mask(&format!("saw {echoed}")), format!("saw {MASK}"));
        assert_eq!(
            r.mask("authorization: Bearer static-token-value-1"),
            format!("authorization: Bearer {MASK}")
        );
    }

    #[test]
    fn encoded_forms_are_masked_too() {
        let r = Redactor::new();
        r.add("p@ss w0rd!\"x\\");
        for shown in [
            "p%40ss%20w0rd%21%22x%5C",
            "p%40ss+w0rd%21%22x%5C",
            "p@ss w0rd!\\\"x\\\\",
            "p%40ss%20w0rd%21%5C%22x%5C%5C",
        ] {
            assert_eq!(
                r.mask(&format!("a {shown} b")),
                format!("a {MASK} b"),
                "{shown}"
            );
        }
    }
}
