//! The HTTP layer shared by cells and auth setup: URLs, bodies, response excerpts, error text.

use std::time::Duration;

use percent_encoding::utf8_percent_encode;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use url::Url;

use crate::percent::UNRESERVED_ONLY;
use crate::suite::{Body, JsonTemplate, Scope, Template};

/// Most bytes of a response body kept; hyper reads past the rest when it is
/// already at hand (the connection is then used again), else closes the connection.
pub(crate) const BODY_LIMIT: usize = 64 * 1024;

/// Characters of body shown in an excerpt.
pub(crate) const EXCERPT_CHARS: usize = 200;

/// Why a request could not be built from its templates.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// A `${NAME}` nothing defines.
    #[error("unresolved variable `${{{0}}}`")]
    Unresolved(String),
    /// A path neither relative to the target nor a URL.
    #[error("`{0}` must start with `/` (relative to the target) or be an http(s) URL")]
    NotAPath(String),
    /// The URL does not parse.
    #[error("`{text}` is not a valid URL: {source}")]
    InvalidUrl {
        /// The URL as built.
        text: String,
        /// Why.
        source: url::ParseError,
    },
    /// A URL that `http` cannot carry.
    #[error("`{url}` cannot be sent: {reason}")]
    Uri {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// A header name that HTTP does not allow.
    #[error("`{0}` is not a valid header name")]
    HeaderName(String),
    /// A header value that cannot go in a header.
    #[error("the value of header `{0}` cannot be sent in a header")]
    HeaderValue(String),
    /// A JSON body that cannot be serialised.
    #[error("the JSON body cannot be written: {0}")]
    Json(String),
}

impl From<crate::suite::template::Unresolved> for RequestError {
    fn from(unresolved: crate::suite::template::Unresolved) -> RequestError {
        RequestError::Unresolved(unresolved.0)
    }
}

/// Builds the URL of a request: `path` appended to the base URL's own path,
/// then `query` pairs percent-encoded (`%20` for a space) and appended.
/// An absolute `path` (auth setup only) is used as it is.
pub(crate) fn build_url(
    base: &Url,
    path: &str,
    query: &[(String, String)],
) -> Result<Url, RequestError> {
    let lower = path.get(..8).unwrap_or(path).to_ascii_lowercase();
    let mut text = if lower.starts_with("http://") || lower.starts_with("https://") {
        path.to_string()
    } else if !path.starts_with('/') {
        return Err(RequestError::NotAPath(path.to_string()));
    } else {
        // The base's path, then the request's; `..AfterPath` drops any query or fragment.
        let base_path = base[..url::Position::AfterPath].trim_end_matches('/');
        let mut text = String::with_capacity(base_path.len() + path.len());
        text.push_str(base_path);
        text.push_str(path);
        text
    };
    for (i, (name, value)) in query.iter().enumerate() {
        let separator = match (i, text.contains('?')) {
            (0, false) => "?",
            _ if text.ends_with('?') || text.ends_with('&') => "",
            _ => "&",
        };
        text.push_str(separator);
        text.extend(utf8_percent_encode(name, UNRESERVED_ONLY));
        text.push('=');
        text.extend(utf8_percent_encode(value, UNRESERVED_ONLY));
    }
    // Parsed against the base when it shares the base's origin: the origin
    // (host parsing, IDNA) is then copied rather than parsed again, once per cell.
    let origin = &base[..url::Position::BeforePath];
    let parsed = match text.strip_prefix(origin) {
        // `//` or `/\` would start another authority in a relative reference.
        Some(rest) if rest.starts_with('/') && !rest[1..].starts_with(['/', '\\']) => {
            base.join(rest)
        }
        _ => Url::parse(&text),
    };
    parsed.map_err(|source| RequestError::InvalidUrl { text, source })
}

/// A body ready to send.
#[derive(Clone, Debug)]
pub(crate) struct EncodedBody {
    /// Its content type, unless the body is raw text.
    pub content_type: Option<&'static str>,
    /// Its bytes, shared by every attempt without a copy.
    pub bytes: bytes::Bytes,
}

/// A cell's request as auth modes sign it and the transport sends it: the
/// final method, absolute URI, headers and body (shared, never copied).
pub(crate) type CellRequest = ::http::Request<bytes::Bytes>;

/// Renders a body template in `scope`.
pub(crate) fn render_body(body: &Body, scope: &Scope<'_>) -> Result<EncodedBody, RequestError> {
    Ok(match body {
        Body::Json(json) => EncodedBody {
            content_type: Some("application/json"),
            bytes: serde_json::to_vec(&render_json(json, scope)?)
                .map_err(|e| RequestError::Json(e.to_string()))?
                .into(),
        },
        Body::Form(fields) => {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            for (name, value) in fields {
                form.append_pair(name, &render(value, scope)?);
            }
            EncodedBody {
                content_type: Some("application/x-www-form-urlencoded"),
                bytes: form.finish().into_bytes().into(),
            }
        }
        Body::Raw(text) => EncodedBody {
            content_type: None,
            bytes: render(text, scope)?.into_bytes().into(),
        },
    })
}

/// Renders a template in `scope`.
pub(crate) fn render(template: &Template, scope: &Scope<'_>) -> Result<String, RequestError> {
    Ok(template.render(scope)?)
}

/// Renders a JSON template in `scope`.
pub(crate) fn render_json(
    json: &JsonTemplate,
    scope: &Scope<'_>,
) -> Result<serde_json::Value, RequestError> {
    use serde_json::Value;
    Ok(match json {
        JsonTemplate::Null => Value::Null,
        JsonTemplate::Bool(b) => Value::Bool(*b),
        JsonTemplate::Number(n) => Value::Number(n.clone()),
        JsonTemplate::String(t) => Value::String(render(t, scope)?),
        JsonTemplate::Array(items) => Value::Array(
            items
                .iter()
                .map(|i| render_json(i, scope))
                .collect::<Result<_, _>>()?,
        ),
        JsonTemplate::Object(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| Ok((k.clone(), render_json(v, scope)?)))
                .collect::<Result<_, RequestError>>()?,
        ),
    })
}

/// Sets a body on a request, keeping a content type the suite set itself.
pub(crate) fn attach_body(request: &mut reqwest::Request, body: &EncodedBody) {
    set_content_type(request.headers_mut(), body);
    *request.body_mut() = Some(body.bytes.clone().into());
}

/// Sets the body's content type, unless the suite set its own.
pub(crate) fn set_content_type(headers: &mut HeaderMap, body: &EncodedBody) {
    if let Some(content_type) = body.content_type
        && !headers.contains_key(CONTENT_TYPE)
    {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
}

/// A response read up to [`BODY_LIMIT`].
#[derive(Clone, Debug)]
pub(crate) struct ReadResponse {
    /// The status code.
    pub status: u16,
    /// All headers.
    pub headers: HeaderMap,
    /// The first [`BODY_LIMIT`] bytes of the body.
    pub body: Vec<u8>,
    /// The body went quiet for [`BODY_DEADLINE`] before it ended: what came is kept.
    pub body_cut: bool,
    /// The body went on past the read limit: only its start was read.
    pub over_limit: bool,
}

/// How long a body may go quiet once the response's head has arrived: a
/// server that sends a body delimited only by closing the connection, then
/// keeps it open, must not cost the cell its whole timeout (its status is
/// known); a slow body that keeps coming is read on.
pub(crate) const BODY_DEADLINE: Duration = Duration::from_secs(2);

/// Reads a reqwest response's status, headers and the start of its body.
pub(crate) async fn read_response(
    response: reqwest::Response,
    limit: usize,
) -> Result<ReadResponse, reqwest::Error> {
    read_limited(::http::Response::from(response), limit).await
}

/// Reads a response's status, headers and the first [`BODY_LIMIT`] bytes of
/// its body, from reqwest or straight from hyper.
pub(crate) async fn read_limited<B>(
    response: ::http::Response<B>,
    limit: usize,
) -> Result<ReadResponse, B::Error>
where
    B: hyper::body::Body<Data = bytes::Bytes> + Unpin,
{
    use http_body_util::BodyExt;
    let (parts, mut incoming) = response.into_parts();
    let mut body = Vec::new();
    let mut body_cut = false;
    let mut over_limit = false;
    loop {
        let Ok(frame) = tokio::time::timeout(BODY_DEADLINE, incoming.frame()).await else {
            body_cut = true;
            break;
        };
        let Some(frame) = frame else {
            break;
        };
        let Ok(chunk) = frame?.into_data() else {
            continue; // trailers
        };
        let room = limit.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if room < chunk.len() {
            over_limit = true;
            break;
        }
    }
    Ok(ReadResponse {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
        body_cut,
        over_limit,
    })
}

/// The start of a body on one line, secrets masked. Masking comes before the
/// cut: a secret cut in half would no longer be recognised.
pub(crate) fn excerpt(body: &[u8], redactor: &crate::redact::Redactor) -> String {
    let body = String::from_utf8_lossy(body);
    let text = redactor.masked(&body);
    // One pass: whitespace runs become one space, control characters U+FFFD,
    // and the walk stops at the first character past the excerpt.
    let mut flat = String::with_capacity(text.len().min(EXCERPT_CHARS * 2));
    let mut shown = 0;
    let mut space_pending = false;
    for c in text.chars() {
        if c.is_whitespace() {
            space_pending = shown > 0;
            continue;
        }
        let pending = space_pending.then_some(' ');
        space_pending = false;
        for c in pending.into_iter().chain([c]) {
            if shown == EXCERPT_CHARS {
                flat.push('…');
                return flat;
            }
            flat.push(if deceptive(c) { '\u{FFFD}' } else { c });
            shown += 1;
        }
    }
    flat
}

/// Whether a variable's name says it holds a secret (`*_TOKEN`, `*_KEY`,
/// `*_SECRET`, `*PASSWORD*`, …): its value is masked wherever it travels.
pub(crate) fn is_secret_variable(name: &str) -> bool {
    let name = name.to_ascii_uppercase();
    matches!(
        name.as_str(),
        "TOKEN" | "KEY" | "SECRET" | "PASSWORD" | "APIKEY"
    ) || ["_TOKEN", "_KEY", "_SECRET", "_APIKEY"]
        .iter()
        .any(|suffix| name.ends_with(suffix))
        || ["PASSWORD", "PASSWD", "PASSPHRASE"]
            .iter()
            .any(|word| name.contains(word))
}

/// A name in lower case with its camel-case words apart: `apiKey` →
/// `api_key`, `X-Auth-Token` → `x-auth-token`; what names are read by.
pub(crate) fn snake_case(name: &str) -> String {
    let mut lower = String::with_capacity(name.len() + 4);
    let mut previous_lower = false;
    for c in name.chars() {
        if c.is_ascii_uppercase() && previous_lower {
            lower.push('_');
        }
        previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        lower.push(c.to_ascii_lowercase());
    }
    lower
}

/// Whether a query parameter's name says it carries a credential: one of its
/// words (`api_key` and `apiKey` are `api` and `key`) is `key`, `apikey`,
/// `token`, `secret`, `password`, `sig`… — whole words, so `keyword` is not one.
pub(crate) fn is_credential_param(name: &str) -> bool {
    snake_case(name)
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|word| {
            matches!(
                word,
                "key"
                    | "apikey"
                    | "token"
                    | "accesstoken"
                    | "secret"
                    | "password"
                    | "passwd"
                    | "pwd"
                    | "sig"
                    | "signature"
                    | "auth"
                    | "session"
                    | "sessionid"
                    | "jwt"
                    | "credential"
                    | "credentials"
                    | "authorization"
            )
        })
}

/// Whether a header carries credentials by its name (its values are secrets
/// wherever they are set: defaults, endpoints or principals).
pub(crate) fn is_credential_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(
        name.as_str(),
        "authorization" | "proxy-authorization" | "cookie"
    ) || [
        "token",
        "key",
        "secret",
        "auth",
        "session",
        "password",
        "signature",
    ]
    .iter()
    .any(|word| name.contains(word))
}

/// A JSON field (or capture) name that holds a credential: `token`,
/// `access_token`, `password`, `client_secret`, `api_key`… Narrower than
/// [`is_credential_param`]: in a response body `key` (a Jira issue key),
/// `issue_key` and `public_key` name things that are no secret.
pub(crate) fn is_credential_field(name: &str) -> bool {
    let name = name.to_ascii_lowercase().replace('-', "_");
    matches!(
        name.as_str(),
        "token" | "password" | "passwd" | "secret" | "api_key" | "apikey" | "session" | "sid"
    ) || [
        "_token",
        "_secret",
        "_password",
        "_apikey",
        "_api_key",
        "accesstoken",
        "refreshtoken",
    ]
    .iter()
    .any(|suffix| name.ends_with(suffix))
}

/// Registers the value of every cookie a response sets as a secret.
pub(crate) fn register_cookies(headers: &HeaderMap, redactor: &crate::redact::Redactor) {
    for value in headers.get_all(reqwest::header::SET_COOKIE) {
        let text = String::from_utf8_lossy(value.as_bytes());
        let pair = text.split(';').next().unwrap_or_default();
        if let Some((_, value)) = pair.split_once('=') {
            redactor.add(value.trim().trim_matches('"'));
        }
    }
}

/// Whether a character from a server could make output lie: a control
/// character (a terminal escape, a carriage return or form feed that
/// overwrites a line), an invisible format character (bidi overrides and the
/// rest of Unicode's category Cf), or one XML cannot carry (U+FFFE, U+FFFF).
/// Tabs and line feeds are the caller's to decide.
pub(crate) fn deceptive(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{0600}'..='\u{0605}'
                | '\u{061C}'
                | '\u{06DD}'
                | '\u{070F}'
                | '\u{0890}'..='\u{0891}'
                | '\u{08E2}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{FFFE}'..='\u{FFFF}'
                | '\u{110BD}'
                | '\u{110CD}'
                | '\u{13430}'..='\u{1343F}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0001}'
                | '\u{E0020}'..='\u{E007F}'
        )
}

/// `text` with every [`deceptive`] character but tabs and line feeds
/// replaced by U+FFFD, so a server cannot drive or mislead the terminal.
pub(crate) fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if deceptive(c) && c != '\t' && c != '\n' {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

/// Explains a transport error in a line: timeout, refused connection, TLS, DNS…
pub(crate) fn describe_error(error: &reqwest::Error, timeout: Duration) -> String {
    if error.is_timeout() {
        return timed_out(timeout);
    }
    // reqwest's own text names the URL, which may carry a secret: the caller masks it.
    let kind = if error.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    format!("{kind}: {}", causes(error))
}

/// What a request that got no answer in time reports.
pub(crate) fn timed_out(timeout: Duration) -> String {
    format!("timed out after {}", humantime::format_duration(timeout))
}

/// An error and each of its sources, in a line; a cause whose text an
/// earlier one already contains is left out.
pub(crate) fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut chain: Vec<String> = Vec::new();
    let mut source = Some(error);
    while let Some(e) = source {
        let text = e.to_string();
        if !chain.iter().any(|c| c.contains(&text)) {
            chain.push(text);
        }
        source = e.source();
    }
    chain.join(": ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn credential_fields_are_not_every_key() {
        for secret in [
            "token",
            "access_token",
            "client_secret",
            "api_key",
            "X-Session-Token",
        ] {
            assert!(super::is_credential_field(secret), "{secret}");
        }
        for plain in ["key", "issue_key", "public_key", "id", "etag", "keyword"] {
            assert!(!super::is_credential_field(plain), "{plain}");
        }
    }

    use super::*;

    #[test]
    fn credential_parameters_are_whole_words() {
        for name in [
            "api_key",
            "apiKey",
            "access_token",
            "token",
            "sig",
            "X-Api-Key",
            "session_id",
            "appKey",
            "X-Auth-Token",
            "authorization",
        ] {
            assert!(is_credential_param(name), "{name}");
        }
        assert!(is_credential_param("apikey") && is_credential_param("client_secret"));
        for name in [
            "keyword",
            "monkey",
            "tokens_left",
            "q",
            "page",
            "author",
            "keywords",
            "pageSize",
        ] {
            assert!(!is_credential_param(name), "{name}");
        }
    }

    fn base(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn paths_are_appended_to_the_base_path() {
        let url = build_url(
            &base("https://host/jira/"),
            "/rest/api/2/search?jql=a%3Db",
            &[],
        )
        .unwrap();
        assert_eq!(
            url.as_str(),
            "https://host/jira/rest/api/2/search?jql=a%3Db"
        );
        let url = build_url(&base("http://127.0.0.1:8080"), "/x", &[]).unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:8080/x");
    }

    #[test]
    fn a_path_never_changes_the_host() {
        for path in ["//evil.example/x", "/\\evil.example/x", "/./x", "/a/../b"] {
            let url = build_url(&base("http://127.0.0.1:8080/ctx"), path, &[]).unwrap();
            let whole = Url::parse(&format!("http://127.0.0.1:8080/ctx{path}")).unwrap();
            assert_eq!(url, whole, "{path}");
            assert_eq!(url.host_str(), Some("127.0.0.1"), "{path}");
        }
        let url = build_url(&base("http://127.0.0.1:8080"), "//evil.example/x", &[]).unwrap();
        assert_eq!(url.host_str(), Some("127.0.0.1"), "{url}");
    }

    #[test]
    fn query_values_are_encoded_with_percent_20() {
        let query = vec![
            ("jql".to_string(), "project = A&B".to_string()),
            ("x y".to_string(), "é~".to_string()),
        ];
        let url = build_url(&base("http://h/"), "/s?fixed=1", &query).unwrap();
        assert_eq!(
            url.as_str(),
            "http://h/s?fixed=1&jql=project%20%3D%20A%26B&x%20y=%C3%A9~"
        );
        let url = build_url(&base("http://h/"), "/s", &query[..1]).unwrap();
        assert_eq!(url.query(), Some("jql=project%20%3D%20A%26B"));
    }

    #[test]
    fn excerpts_are_one_short_printable_line() {
        let r = crate::redact::Redactor::new();
        assert_eq!(excerpt(b"\x1b[2Jhi\x07", &r), "\u{FFFD}[2Jhi\u{FFFD}");
        assert_eq!(excerpt(b"{\n  \"a\": 1\n}", &r), "{ \"a\": 1 }");
        assert_eq!(excerpt(&[b'x'; 500], &r).chars().count(), EXCERPT_CHARS + 1);
        assert_eq!(excerpt(b"  \t a \r\n\n  b  \n", &r), "a b");
        let exact = "y".repeat(EXCERPT_CHARS);
        assert_eq!(excerpt(format!("{exact}   ").as_bytes(), &r), exact);
        assert_eq!(
            excerpt(format!("{exact} z").as_bytes(), &r),
            format!("{exact}…"),
            "a cut right before a space"
        );
        let almost = "y".repeat(EXCERPT_CHARS - 1);
        assert_eq!(
            excerpt(format!("{almost}  z").as_bytes(), &r),
            format!("{almost} …")
        );
        // A secret across the cut is masked whole, not left half-visible.
        let secret = "s".repeat(300);
        r.add(&secret);
        assert_eq!(
            excerpt(format!("token {secret} end").as_bytes(), &r),
            "token **** end"
        );
    }
}
