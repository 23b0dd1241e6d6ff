//! The credential each recorded request carried (an `Authorization` header,
//! an API-key header or query parameter, session cookies), so that requests
//! made with the same one are the same principal's. Values are kept only to
//! tell credentials apart and to feed the secret guard; they are never written.

use base64::Engine;

use super::read::Exchange;
use super::secrets::Secrets;

/// One part of a credential.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Part {
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// `Authorization: Bearer <JWT>` whose claims name its subject: the
    /// tokens a client refreshed during the recording are one principal.
    BearerJwt {
        /// `iss`, empty when absent.
        issuer: String,
        /// `sub`.
        subject: String,
    },
    /// `Authorization: Basic <user:password>`.
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: String,
    },
    /// `Authorization: <scheme> <value>` of another scheme: sent as recorded.
    Authorization {
        /// The scheme, as recorded (`Token`, `SSWS`, `Digest`).
        scheme: String,
        /// The whole header value.
        value: String,
    },
    /// An API-key header (`X-API-Key`, `Private-Token`…).
    Header {
        /// The header's name as recorded.
        name: String,
        /// Its value.
        value: String,
    },
    /// An API key in the query (`?api_key=`, `?access_token=`).
    Query {
        /// The parameter.
        name: String,
        /// Its value.
        value: String,
    },
    /// Session cookies (or, when none has a session-like name, every cookie
    /// but the analytics ones), sorted by name.
    Cookies(Vec<(String, String)>),
}

/// A request's credential: its parts, sorted; none for an anonymous request.
pub(super) type Identity = Vec<Part>;

/// Headers that carry an API key or token (any case).
const KEY_HEADERS: &[&str] = &[
    "x-api-key",
    "api-key",
    "apikey",
    "x-apikey",
    "x-auth-token",
    "x-access-token",
    "x-token",
    "private-token",
    "x-session-token",
    "x-goog-api-key",
    "ocp-apim-subscription-key",
    "x-functions-key",
];

/// Whether a header is a credential that identifies its caller.
pub(super) fn is_key_header(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    KEY_HEADERS.contains(&lower.as_str())
        || [
            "api-key",
            "apikey",
            "api_key",
            "auth-token",
            "access-token",
            "private-token",
            "subscription-key",
        ]
        .iter()
        .any(|part| lower.contains(part))
}

/// Query parameters that carry the caller's API key or token.
pub(super) fn is_key_param(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "api_key"
            | "apikey"
            | "api-key"
            | "access_token"
            | "auth_token"
            | "private_token"
            | "subscription-key"
    )
}

/// Cookies set by analytics and consent tools: never credentials.
fn is_analytics_cookie(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [
        "_ga",
        "_gid",
        "_gat",
        "_gcl_",
        "__utm",
        "_fbp",
        "_fbc",
        "_hj",
        "ajs_",
        "amplitude",
        "mp_",
        "_dd_s",
        "optimizely",
        "_clck",
        "_clsk",
        "_uet",
        "_pk_",
        "_hp2_",
        "intercom-",
        "optanon",
        "cookieconsent",
        "_tt_",
        "_ttp",
        "_scid",
        "_rdt_",
        "__hssc",
        "__hstc",
        "hubspotutk",
        "_parsely",
    ]
    .iter()
    .any(|prefix| lower.starts_with(prefix))
}

/// A cookie whose name says it holds a session or a token.
fn is_session_cookie(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    !lower.contains("csrf")
        && !lower.contains("xsrf")
        && (["sess", "auth", "token", "jwt", "login", "remember", "sid"]
            .iter()
            .any(|word| lower.contains(word)))
}

/// The cookies of a `Cookie` header, analytics left out.
fn cookies(header: &str) -> Vec<(String, String)> {
    header
        .split(';')
        .filter_map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = name.trim();
            let token = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            (token && !is_analytics_cookie(name))
                .then(|| (name.to_string(), value.trim().to_string()))
        })
        .collect()
}

/// Reads credentials from requests, remembering every value as a secret.
pub(super) struct Reader {
    /// Whether any request carried a cookie with a session-like name: then
    /// only such cookies are credentials, everywhere in the recording.
    session_cookies: bool,
}

impl Reader {
    /// A reader for these requests; every cookie value is registered as a secret.
    pub(super) fn new(exchanges: &[Exchange], secrets: &mut Secrets) -> Reader {
        let mut session_cookies = false;
        for exchange in exchanges {
            for (_, value) in exchange
                .headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
            {
                for (cookie, value) in cookies(value) {
                    session_cookies |= is_session_cookie(&cookie);
                    secrets.add(&value);
                }
            }
        }
        Reader { session_cookies }
    }

    /// The credential `exchange` carried; its values are registered in `secrets`.
    pub(super) fn identity(&self, exchange: &Exchange, secrets: &mut Secrets) -> Identity {
        let mut parts = Vec::new();
        if let Some(value) = exchange.header("authorization") {
            parts.push(authorization(value.trim(), secrets));
        } else if let Some(password) = exchange.url.password() {
            // `https://user:password@host/`: Basic credentials in the URL.
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            };
            let (username, password) = (decode(exchange.url.username()), decode(password));
            secrets.add(&username);
            secrets.add(&password);
            secrets.add_with_base64(&format!("{username}:{password}"));
            parts.push(Part::Basic { username, password });
        }
        for (name, value) in &exchange.headers {
            if is_key_header(name) && !value.trim().is_empty() {
                secrets.add(value.trim());
                parts.push(Part::Header {
                    name: name.clone(),
                    value: value.trim().to_string(),
                });
            }
        }
        if parts.is_empty() {
            for (name, value) in exchange.url.query_pairs() {
                if is_key_param(&name) && !value.is_empty() {
                    secrets.add(&value);
                    parts.push(Part::Query {
                        name: name.into_owned(),
                        value: value.into_owned(),
                    });
                    break;
                }
            }
        }
        let mut jar: Vec<(String, String)> = Vec::new();
        for (_, header) in exchange
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
        {
            jar.extend(cookies(header));
        }
        if self.session_cookies {
            jar.retain(|(name, _)| is_session_cookie(name));
        } else if !parts.is_empty() {
            // Cookies beside a token, none of them a session's: preferences.
            jar.clear();
        }
        jar.sort();
        jar.dedup_by(|a, b| a.0 == b.0);
        if !jar.is_empty() {
            parts.push(Part::Cookies(jar));
        }
        parts.sort();
        parts.dedup();
        parts
    }
}

/// An `Authorization` header's credential.
fn authorization(value: &str, secrets: &mut Secrets) -> Part {
    secrets.add_with_base64(value);
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") && !rest.is_empty() {
        secrets.add_with_base64(rest);
        if let Some((issuer, subject)) = jwt_subject(rest) {
            return Part::BearerJwt { issuer, subject };
        }
        return Part::Bearer(rest.to_string());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        secrets.add(rest);
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok());
        if let Some((username, password)) = decoded.as_deref().and_then(|d| d.split_once(':')) {
            secrets.add(username);
            secrets.add_with_base64(password);
            return Part::Basic {
                username: username.to_string(),
                password: password.to_string(),
            };
        }
    }
    if !rest.is_empty() {
        secrets.add_with_base64(rest);
    }
    Part::Authorization {
        scheme: scheme.to_string(),
        value: value.to_string(),
    }
}

/// A JWT's `iss` (empty when absent) and `sub`, when it is a JWT that names one.
fn jwt_subject(token: &str) -> Option<(String, String)> {
    if !super::secrets::looks_like_jwt(token) {
        return None;
    }
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let text = |key: &str| {
        claims
            .get(key)
            .and_then(serde_json::Value::as_str)
            .map(str::to_string)
    };
    Some((
        text("iss").unwrap_or_default(),
        text("sub").filter(|s| !s.is_empty())?,
    ))
}

/// Schemes whose value is made for one request: a recorded one cannot be replayed.
pub(super) fn is_per_request_scheme(scheme: &str) -> bool {
    let lower = scheme.to_ascii_lowercase();
    matches!(
        lower.as_str(),
        "digest" | "hoba" | "negotiate" | "ntlm" | "jwt" | "mutual"
    ) || lower.starts_with("aws4-")
        || lower.starts_with("goog4-")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each exchange's identity, and the secrets the reader registered.
    fn identities(list: &[Exchange]) -> (Vec<Identity>, Secrets) {
        let mut secrets = Secrets::default();
        let reader = Reader::new(list, &mut secrets);
        let ids = list
            .iter()
            .map(|e| reader.identity(e, &mut secrets))
            .collect();
        (ids, secrets)
    }

    fn exchange(headers: &[(&str, &str)], url: &str) -> Exchange {
        Exchange {
            number: 1,
            method: "GET".into(),
            url: url::Url::parse(url).unwrap(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            post: None,
            status: 200,
            resource_type: None,
            response_mime: None,
        }
    }

    #[test]
    fn credentials_by_kind() {
        let list = [
            exchange(
                &[
                    ("Authorization", "Bearer abc.def"),
                    ("Cookie", "_ga=1; theme=dark"),
                ],
                "http://h/a",
            ),
            exchange(&[("authorization", "Basic YWxpY2U6cHc6eA==")], "http://h/a"),
            exchange(&[("X-API-Key", "k1")], "http://h/a?api_key=k2"),
            exchange(&[], "http://h/a?api_key=k2"),
            exchange(
                &[("Cookie", "_ga=1; sessionid=s1; theme=dark")],
                "http://h/a",
            ),
            exchange(&[("Cookie", "_ga=1; theme=dark")], "http://h/a"),
        ];
        let (ids, secrets) = identities(&list);
        assert_eq!(ids[0], vec![Part::Bearer("abc.def".into())]);
        assert_eq!(
            ids[1],
            vec![Part::Basic {
                username: "alice".into(),
                password: "pw:x".into()
            }]
        );
        assert_eq!(
            ids[2],
            vec![Part::Header {
                name: "X-API-Key".into(),
                value: "k1".into()
            }]
        );
        assert_eq!(
            ids[3],
            vec![Part::Query {
                name: "api_key".into(),
                value: "k2".into()
            }]
        );
        assert_eq!(
            ids[4],
            vec![Part::Cookies(vec![("sessionid".into(), "s1".into())])]
        );
        assert!(ids[5].is_empty());
        assert!(secrets.leaks("pw:x") && secrets.leaks("s1") && secrets.leaks("abc.def"));
    }

    #[test]
    fn refreshed_jwts_of_one_subject_are_one_credential() {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let jwt = |claims: &str| {
            format!(
                "eyJhbGciOiJIUzI1NiJ9.{}.c2lnbmF0dXJl",
                URL_SAFE_NO_PAD.encode(claims)
            )
        };
        let list = [
            jwt(r#"{"iss":"https://id","sub":"alice","iat":1}"#),
            jwt(r#"{"iss":"https://id","sub":"alice","iat":2}"#),
            jwt(r#"{"iss":"https://id","sub":"bob","iat":1}"#),
            jwt(r#"{"iat":1}"#),
        ]
        .map(|token| {
            exchange(
                &[("Authorization", &format!("Bearer {token}"))],
                "http://h/a",
            )
        });
        let (ids, _) = identities(&list);
        assert_eq!(ids[0], ids[1], "two tokens of alice are one principal");
        assert_ne!(ids[0], ids[2], "bob is another");
        assert!(
            matches!(ids[3][0], Part::Bearer(_)),
            "no subject: the token itself tells it apart"
        );
    }
}
