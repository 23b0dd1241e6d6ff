//! Token endpoints (OAuth 2.0): one form POST, the access token and its lifetime out.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, HeaderValue};

use std::sync::Arc;

use super::cache::{Cached, TokenCache};
use super::{AuthEnv, AuthError};
use crate::http::{self, EncodedBody, ReadResponse};
use crate::redact::Redactor;
use crate::suite::Template;

/// How long before `expires_in` runs out a token is fetched again.
pub(super) fn refresh_margin(lifetime: Duration) -> Duration {
    (lifetime / 10).min(Duration::from_secs(30))
}

/// A token endpoint and the access token it gave one principal, shared by
/// every cell of that principal.
pub(super) struct TokenEndpoint {
    /// The endpoint's URL.
    pub url: url::Url,
    client: reqwest::Client,
    timeout: Duration,
    /// Where assertions and tokens are registered.
    pub redactor: Arc<Redactor>,
    cache: TokenCache,
    /// What `explain` shows.
    pub log: ExchangeLog,
}

/// What a grant posts: form fields, and HTTP Basic client authentication when used.
pub(super) struct Grant {
    /// Form fields, in the order they are sent.
    pub form: Vec<FormField>,
    /// Client id and secret for HTTP Basic.
    pub basic: Option<(String, String)>,
}

/// One field of a token request's form, sent exactly as written.
pub(super) struct FormField {
    /// The field's name.
    pub name: &'static str,
    /// Its value.
    pub value: String,
    /// Whether `explain` shows it masked whatever it holds (a client secret, an assertion).
    pub secret: bool,
    /// An assertion's claims, shown decoded beside the masked assertion.
    pub claims: Option<serde_json::Value>,
}

impl FormField {
    /// A field `explain` may show (registered secrets inside it are still masked).
    pub(super) fn plain(name: &'static str, value: String) -> FormField {
        FormField {
            name,
            value,
            secret: false,
            claims: None,
        }
    }

    /// A field `explain` always masks.
    pub(super) fn secret(name: &'static str, value: String) -> FormField {
        FormField {
            secret: true,
            ..FormField::plain(name, value)
        }
    }

    /// The field, with the claims of the token it carries.
    pub(super) fn with_claims(self, claims: serde_json::Value) -> FormField {
        FormField {
            claims: Some(claims),
            ..self
        }
    }
}

impl TokenEndpoint {
    /// The endpoint at `token_url`, relative to the target when it starts with `/`.
    pub(super) fn new(token_url: &Template, env: &AuthEnv<'_>) -> Result<TokenEndpoint, AuthError> {
        Ok(TokenEndpoint {
            url: super::token_url(token_url, env)?,
            client: env.client.clone(),
            timeout: env.timeout,
            redactor: env.redactor.clone(),
            cache: TokenCache::new(),
            log: ExchangeLog::default(),
        })
    }

    /// Sends the cached access token as Bearer, fetching it with `grant` first when due.
    pub(super) async fn bearer(
        &self,
        request: &mut ::http::Request<bytes::Bytes>,
        grant: impl FnOnce() -> Result<Grant, AuthError>,
    ) -> Result<(), AuthError> {
        let token = self
            .cache
            .get_or_fetch(|| async {
                let Grant { form, basic } = grant()?;
                let request = TokenRequest {
                    client: &self.client,
                    url: &self.url,
                    form,
                    basic,
                    timeout: self.timeout,
                    redactor: &self.redactor,
                };
                fetch(request, &self.log).await
            })
            .await?;
        let (name, value) = super::header("authorization", &format!("Bearer {token}"))?;
        request.headers_mut().insert(name, value);
        Ok(())
    }
}

/// A token request about to be sent.
pub(super) struct TokenRequest<'a> {
    /// The principal's client.
    pub client: &'a reqwest::Client,
    /// The token endpoint.
    pub url: &'a url::Url,
    /// Form fields.
    pub form: Vec<FormField>,
    /// HTTP Basic client authentication, when used.
    pub basic: Option<(String, String)>,
    /// Request timeout.
    pub timeout: Duration,
    /// For masking what the endpoint says.
    pub redactor: &'a Redactor,
}

/// What `explain` shows about a token exchange.
#[derive(Default)]
pub(super) struct ExchangeLog(Mutex<Vec<String>>);

impl ExchangeLog {
    /// Records a line.
    pub(super) fn push(&self, line: String) {
        if let Ok(mut lines) = self.0.lock() {
            lines.push(line);
        }
    }

    /// The lines so far.
    pub(super) fn lines(&self) -> Vec<String> {
        self.0.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

/// Posts the request and returns the access token, registered as a secret, and when to refresh it.
pub(super) async fn fetch(
    request: TokenRequest<'_>,
    log: &ExchangeLog,
) -> Result<Cached, AuthError> {
    let redactor = request.redactor;
    let what = format!(
        "token endpoint POST {}",
        redactor.mask(request.url.as_str())
    );
    log_request(&request, log);
    let http_request = form_post(&request)?;
    let response = super::send_setup(
        request.client,
        http_request,
        request.timeout,
        request.redactor,
        &what,
    )
    .await?;
    if !(200..300).contains(&response.status) {
        let answer = format!(
            "answered {}: {}",
            response.status,
            http::excerpt(&response.body, redactor)
        );
        log.push(answer.clone());
        return Err(AuthError(format!("{what} {answer}")));
    }
    read_token(&request, &response, &what, log)
}

/// The form POST of a token request, with HTTP Basic client authentication when used.
fn form_post(request: &TokenRequest<'_>) -> Result<reqwest::Request, AuthError> {
    let form = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(request.form.iter().map(|f| (f.name, f.value.as_str())))
        .finish();
    let body = EncodedBody {
        content_type: Some("application/x-www-form-urlencoded"),
        bytes: form.into_bytes().into(),
    };
    let mut http_request = reqwest::Request::new(reqwest::Method::POST, request.url.clone());
    *http_request.timeout_mut() = Some(request.timeout);
    http_request
        .headers_mut()
        .insert(ACCEPT, HeaderValue::from_static("application/json"));
    if let Some((user, password)) = &request.basic {
        use base64::Engine;
        // RFC 6749 §2.3.1: id and secret are form-encoded before Basic.
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            enc(user),
            enc(password)
        ));
        request.redactor.add(&encoded);
        let (name, value) = super::header("authorization", &format!("Basic {encoded}"))?;
        http_request.headers_mut().insert(name, value);
    }
    http::attach_body(&mut http_request, &body);
    Ok(http_request)
}

/// The access token and its lifetime from a 2xx answer, logged next to the
/// scope that was asked for.
fn read_token(
    request: &TokenRequest<'_>,
    response: &ReadResponse,
    what: &str,
    log: &ExchangeLog,
) -> Result<Cached, AuthError> {
    let redactor = request.redactor;
    let json: serde_json::Value = serde_json::from_slice(&response.body).map_err(|_| {
        AuthError(format!(
            "{what} answered {} without a JSON body: {}",
            response.status,
            http::excerpt(&response.body, redactor)
        ))
    })?;
    let token = json["access_token"]
        .as_str()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            AuthError(format!(
                "{what} answered {} without an access_token",
                response.status
            ))
        })?
        .to_string();
    // A JWT access token is found by its signature, as minted ones are: an
    // endpoint that issues one per cell adds no pattern to rebuild. A short
    // token is masked only where a whole value equals it: the header value it
    // travels in is registered too, so an echo of it is masked.
    if redactor.add_token(&token) {
        redactor.add(&format!("Bearer {token}"));
    }
    let expires_in = match &json["expires_in"] {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.parse::<f64>().ok(),
        _ => None,
    }
    // 0 or less: good for this request only, fetched again on the next.
    .filter(|s| s.is_finite())
    .map(|s| Duration::from_secs_f64(s.clamp(0.0, 1e9)));
    let granted = json["scope"].as_str();
    log.push(format!(
        "answered {}: token_type {}, expires_in {}, scope {}",
        response.status,
        json["token_type"].as_str().unwrap_or("(none)"),
        expires_in.map_or("(none)".to_string(), |d| format!("{}s", d.as_secs())),
        redactor.masked(granted.unwrap_or("(none)")),
    ));
    let requested = request.form.iter().find(|f| f.name == "scope");
    if let (Some(requested), Some(granted)) = (requested, granted)
        && !same_scope_set(&requested.value, granted)
    {
        log.push(format!(
            "the granted scope differs from the requested `{}`",
            redactor.masked(&requested.value)
        ));
    }
    let now = Instant::now();
    Ok(Cached {
        value: token,
        refresh_at: expires_in.map(|lifetime| now + lifetime - refresh_margin(lifetime)),
        expires_at: expires_in.map(|lifetime| now + lifetime),
    })
}

/// Logs the request about to be sent: the URL, then each form field on its own
/// line (secrets masked, an assertion's claims decoded), then the client authentication.
fn log_request(request: &TokenRequest<'_>, log: &ExchangeLog) {
    let redactor = request.redactor;
    log.push(format!("POST {}", redactor.masked(request.url.as_str())));
    for field in &request.form {
        let value = if field.secret {
            crate::redact::MASK.into()
        } else {
            redactor.masked(&field.value)
        };
        let claims = field
            .claims
            .as_ref()
            .map(|c| format!(" (claims {})", redactor.masked(&c.to_string())))
            .unwrap_or_default();
        log.push(format!("  {}: {value}{claims}", field.name));
    }
    if let Some((client_id, _)) = &request.basic {
        log.push(format!(
            "  client authentication: HTTP Basic as `{}`",
            redactor.masked(client_id)
        ));
    }
}

/// Whether two space-separated scope lists hold the same scopes, in any order.
fn same_scope_set(requested: &str, granted: &str) -> bool {
    let set = |text: &str| {
        let mut scopes: Vec<String> = text.split_whitespace().map(str::to_string).collect();
        scopes.sort();
        scopes.dedup();
        scopes
    };
    set(requested) == set(granted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refreshes_a_little_before_expiry() {
        assert_eq!(
            refresh_margin(Duration::from_secs(900)),
            Duration::from_secs(30)
        );
        assert_eq!(
            refresh_margin(Duration::from_secs(10)),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn scope_sets_compare_without_order_and_with_case() {
        assert!(same_scope_set("READ ACT_AS_USER", "ACT_AS_USER  READ"));
        assert!(!same_scope_set("rabbitmq.read:*/*", "RABBITMQ.READ:*/*"));
        assert!(!same_scope_set("read write", "read"));
    }
}
