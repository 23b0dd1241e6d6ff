//! `query` and `cookie`: an API key that never changes, sent as a query
//! parameter or as a cookie (OpenAPI's `apiKey` schemes `in: query` and
//! `in: cookie`; `in: header` is the `header` mode).

use futures::FutureExt;
use futures::future::BoxFuture;
use percent_encoding::utf8_percent_encode;
use reqwest::header::{COOKIE, HeaderMap, HeaderValue};

use super::{Auth, AuthEnv, AuthError, append_query, secret};
use crate::redact::MIN_FREE_TEXT_LEN;
use crate::suite::Template;

/// Whether a secret is too short to be masked inside other text: the text it
/// is sent in (`name=value`) is then registered too, so a URL or a `Cookie`
/// header carrying it is still masked.
fn too_short(value: &str) -> bool {
    value.chars().count() < MIN_FREE_TEXT_LEN
}

/// `?name=value` appended to every request's query, both percent-encoded.
pub(super) struct QueryKey {
    name: String,
    value: String,
}

impl QueryKey {
    /// Renders the value and registers it (with its encoded forms) as a secret.
    pub(super) fn build(
        name: &str,
        value: &Template,
        env: &AuthEnv<'_>,
    ) -> Result<QueryKey, AuthError> {
        let value = secret(value, env)?;
        if too_short(&value) {
            let encode =
                |text: &str| utf8_percent_encode(text, crate::percent::UNRESERVED_ONLY).to_string();
            env.redactor
                .add(&format!("{}={}", encode(name), encode(&value)));
        }
        Ok(QueryKey {
            name: name.to_string(),
            value,
        })
    }
}

impl Auth for QueryKey {
    fn authorize<'a>(
        &'a self,
        request: &'a mut ::http::Request<bytes::Bytes>,
    ) -> BoxFuture<'a, Result<(), AuthError>> {
        futures::future::ready(append_query(request, &self.name, &self.value)).boxed()
    }
}

/// `Cookie: name=value`, after the cookies the request already carries.
pub(super) struct CookieKey {
    /// `name=value`, checked.
    pair: String,
}

impl CookieKey {
    /// Renders the value, registers it as a secret and checks that a cookie
    /// can carry it (the value is never shown in the error).
    pub(super) fn build(
        name: &str,
        value: &Template,
        env: &AuthEnv<'_>,
    ) -> Result<CookieKey, AuthError> {
        let value = secret(value, env)?;
        let pair = format!("{name}={value}");
        if too_short(&value) {
            env.redactor.add(&pair);
        }
        // A `;` would end the cookie early and start another.
        if value.contains(';') || HeaderValue::from_str(&pair).is_err() {
            return Err(AuthError(format!(
                "the value for cookie `{name}` has characters a cookie cannot carry"
            )));
        }
        Ok(CookieKey { pair })
    }
}

impl Auth for CookieKey {
    fn authorize<'a>(
        &'a self,
        request: &'a mut ::http::Request<bytes::Bytes>,
    ) -> BoxFuture<'a, Result<(), AuthError>> {
        futures::future::ready(add_cookie(request.headers_mut(), &self.pair)).boxed()
    }
}

/// Adds `pair` to the request's cookies: after those its `Cookie` header
/// already holds (set by the endpoint, the principal or the defaults),
/// joined by `; ` into one header, as RFC 6265 §5.4 has a client send them.
fn add_cookie(headers: &mut HeaderMap, pair: &str) -> Result<(), AuthError> {
    let mut merged: Vec<u8> = Vec::with_capacity(pair.len());
    for existing in headers.get_all(COOKIE) {
        let existing = cookies(existing.as_bytes());
        if !existing.is_empty() {
            merged.extend_from_slice(existing);
            merged.extend_from_slice(b"; ");
        }
    }
    merged.extend_from_slice(pair.as_bytes());
    let mut value = HeaderValue::from_bytes(&merged).map_err(|_| {
        AuthError("the request's Cookie header has characters a header cannot carry".into())
    })?;
    value.set_sensitive(true);
    headers.insert(COOKIE, value);
    Ok(())
}

/// A `Cookie` header's cookies without the blanks and `;` around them.
fn cookies(header: &[u8]) -> &[u8] {
    let mut text = header.trim_ascii();
    while let [rest @ .., b';'] = text {
        text = rest.trim_ascii_end();
    }
    text
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::redact::{MASK, Redactor};
    use crate::suite::yaml::Pos;

    /// Builds `build` in an empty scope; returns it with the redactor it registered in.
    fn built<A>(
        build: impl FnOnce(&AuthEnv<'_>) -> Result<A, AuthError>,
    ) -> (Result<A, AuthError>, Arc<Redactor>) {
        // reqwest needs a crypto provider before it builds a client.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let (cli, env_vars, vars) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
        let redactor = Arc::new(Redactor::new());
        let env = AuthEnv {
            scope: crate::suite::Scope {
                cli: &cli,
                principal: None,
                suite: &vars,
                mock: None,
                env: &env_vars,
                base_url: Some("http://127.0.0.1:1"),
                captured: None,
                own: None,
            },
            client: reqwest::Client::new(),
            base_url: url::Url::parse("http://127.0.0.1:1").expect("url"),
            timeout: Duration::from_secs(1),
            redactor: redactor.clone(),
            mock_only: false,
        };
        (build(&env), redactor)
    }

    fn template(raw: &str) -> Template {
        Template::parse(raw, Pos::default()).expect("template")
    }

    fn request(uri: &str, cookies: &[&str]) -> ::http::Request<bytes::Bytes> {
        let mut builder = ::http::Request::get(uri);
        for cookie in cookies {
            builder = builder.header(COOKIE, *cookie);
        }
        builder.body(bytes::Bytes::new()).expect("request")
    }

    fn cookie_after(cookies: &[&str], pair: &str) -> Vec<String> {
        let mut request = request("http://127.0.0.1:1/x", cookies);
        add_cookie(request.headers_mut(), pair).expect("added");
        request
            .headers()
            .get_all(COOKIE)
            .iter()
            .map(|v| v.to_str().expect("text").to_string())
            .collect()
    }

    #[test]
    fn the_cookie_joins_those_already_set_in_one_header() {
        assert_eq!(cookie_after(&[], "api_key=k1"), ["api_key=k1"]);
        assert_eq!(
            cookie_after(&["theme=dark"], "api_key=k1"),
            ["theme=dark; api_key=k1"]
        );
        assert_eq!(
            cookie_after(&["theme=dark; lang=en"], "api_key=k1"),
            ["theme=dark; lang=en; api_key=k1"]
        );
        // Blanks and stray separators around what was set are not doubled.
        assert_eq!(
            cookie_after(&[" theme=dark ;  ; "], "api_key=k1"),
            ["theme=dark; api_key=k1"]
        );
        assert_eq!(cookie_after(&["", " ; "], "api_key=k1"), ["api_key=k1"]);
        // Several Cookie headers become one (RFC 6265 §5.4).
        assert_eq!(
            cookie_after(&["a=1", "b=2;"], "api_key=k1"),
            ["a=1; b=2; api_key=k1"]
        );
    }

    #[test]
    fn the_cookie_is_a_sensitive_header_and_its_value_a_secret() {
        let (auth, redactor) =
            built(|env| CookieKey::build("session_key", &template("Ck-Key.Mixed+/=9"), env));
        let auth = auth.expect("built");
        let mut request = request("http://127.0.0.1:1/x", &["theme=dark"]);
        futures::executor::block_on(auth.authorize(&mut request)).expect("authorized");
        let sent = request.headers().get(COOKIE).expect("cookie");
        assert!(sent.is_sensitive());
        assert_eq!(sent, "theme=dark; session_key=Ck-Key.Mixed+/=9");
        assert_eq!(
            redactor.mask(sent.to_str().expect("text")),
            format!("theme=dark; session_key={MASK}")
        );
    }

    #[test]
    fn a_short_key_is_masked_with_its_name() {
        let (auth, redactor) = built(|env| CookieKey::build("sid", &template("k1"), env));
        auth.expect("built");
        assert_eq!(
            redactor.mask("theme=dark; sid=k1"),
            format!("theme=dark; {MASK}")
        );
        let (auth, redactor) = built(|env| QueryKey::build("k", &template("a b"), env));
        auth.expect("built");
        assert_eq!(
            redactor.mask("/x?page=2&k=a%20b"),
            format!("/x?page=2&{MASK}")
        );
    }

    #[test]
    fn a_cookie_value_that_would_split_the_header_is_refused_unshown() {
        for value in ["part-one;part-two", "line\nbreak-value"] {
            let (auth, _) = built(|env| CookieKey::build("session_key", &template(value), env));
            let Err(AuthError(message)) = auth else {
                panic!("{value:?} was accepted");
            };
            assert_eq!(
                message,
                "the value for cookie `session_key` has characters a cookie cannot carry"
            );
        }
    }

    #[test]
    fn the_query_key_is_appended_percent_encoded_and_masked_so() {
        let (auth, redactor) = built(|env| QueryKey::build("api key", &template("Qk/+=&é 9"), env));
        let auth = auth.expect("built");
        for (uri, sent) in [
            (
                "http://127.0.0.1:1/items",
                "http://127.0.0.1:1/items?api%20key=Qk%2F%2B%3D%26%C3%A9%209",
            ),
            (
                "http://127.0.0.1:1/items?page=2",
                "http://127.0.0.1:1/items?page=2&api%20key=Qk%2F%2B%3D%26%C3%A9%209",
            ),
        ] {
            let mut request = request(uri, &[]);
            futures::executor::block_on(auth.authorize(&mut request)).expect("authorized");
            assert_eq!(request.uri().to_string(), sent);
            let query = request.uri().query().expect("query");
            let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect();
            assert_eq!(
                pairs.last(),
                Some(&("api key".to_string(), "Qk/+=&é 9".to_string()))
            );
            assert_eq!(
                redactor.mask(&request.uri().to_string()),
                format!(
                    "{uri}{}api%20key={MASK}",
                    if uri.contains('?') { '&' } else { '?' }
                )
            );
        }
    }
}
