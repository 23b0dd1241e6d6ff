//! Tracing one cell for `explain`: the request as sent and the response, secrets masked.

use crate::atlassian::qsh;
use crate::auth::sign::decode_unverified;
use crate::http::{self, CellRequest, ReadResponse};
use crate::outcome::Trace;
use crate::redact::Redactor;

/// Characters of body `explain` shows.
const BODY_CHARS: usize = 2000;

/// The request about to be sent: method, URL and headers masked, JWTs decoded,
/// and for a Connect JWT the canonical request recomputed from the URL sent.
pub(super) fn request(request: &CellRequest, context_path: &str, redactor: &Redactor) -> Trace {
    let uri = request.uri();
    let mut trace = Trace {
        method: request.method().to_string(),
        url: redactor.mask(&uri.to_string()),
        ..Trace::default()
    };
    let mut connect = false;
    for (name, value) in request.headers() {
        let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if let Some(token) = text.split_whitespace().last()
            && let Some((header, claims)) = decode_unverified(token)
        {
            connect |= text.starts_with("JWT ");
            trace.jwts.push((
                format!("header {name}"),
                masked(&header, redactor),
                masked(&claims, redactor),
            ));
        }
        trace
            .request_headers
            .push((name.to_string(), redactor.mask(&text)));
    }
    let query = uri.query().unwrap_or_default();
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if name == qsh::JWT_PARAM
            && let Some((header, claims)) = decode_unverified(&value)
        {
            connect = true;
            trace.jwts.push((
                "query parameter jwt".into(),
                masked(&header, redactor),
                masked(&claims, redactor),
            ));
        }
    }
    if connect {
        let canonical = qsh::canonical_request(
            request.method().as_str(),
            uri.path(),
            uri.query(),
            context_path,
        );
        let hash = qsh::qsh(&canonical);
        trace.canonical = Some((canonical, hash));
    }
    trace
}

/// A decoded JWT part with any registered secret masked (a self-signed JWT's
/// claims are whatever the suite wrote, a key included).
fn masked(part: &serde_json::Value, redactor: &Redactor) -> serde_json::Value {
    let text = redactor.mask(&part.to_string());
    serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
}

/// For an https target, what `explain` says about TLS: what is trusted, the
/// client certificate shown and the one the server showed (never a key).
pub(super) fn tls(
    shared: &super::Shared<'_>,
    id: crate::outcome::CellId,
    transport: &super::transport::Transport,
) -> Vec<String> {
    use super::certificate::{summarize, summarize_pem};
    if shared.targets[id.suite].base_url.scheme() != "https" {
        return Vec::new();
    }
    let options = &shared.suites[id.suite].target.tls;
    let trusted = match (&options.ca_file, options.insecure) {
        (_, true) => "any certificate (insecure: true)".to_string(),
        (Some(path), false) => format!("the system's roots and {}", path.display()),
        (None, false) => "the system's roots".to_string(),
    };
    let mut lines = vec![format!("trusts {trusted}")];
    if let Some(identity) = &options.client_identity {
        lines.push(match summarize_pem(identity) {
            Some(summary) => format!("client certificate: {summary}"),
            None => "client certificate: does not read as X.509".into(),
        });
    }
    lines.push(match transport.peer_certificate().as_deref().map(summarize) {
        Some(Some(summary)) => format!("server certificate: {summary}"),
        Some(None) => "server certificate: does not read as X.509".into(),
        None => "server certificate: none received (the handshake failed, or a proxy carried the request)".into(),
    });
    lines
}

/// Adds the response to a trace.
pub(super) fn response(trace: &mut Trace, response: &ReadResponse, redactor: &Redactor) {
    trace.response_headers = response
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.to_string(),
                redactor.mask(&http::printable(&String::from_utf8_lossy(value.as_bytes()))),
            )
        })
        .collect();
    // Masked whole before the cut, so no secret is left half-visible.
    let body = http::printable(&redactor.mask(&String::from_utf8_lossy(&response.body)));
    let mut shown: String = body.chars().take(BODY_CHARS).collect();
    if shown.len() < body.len() {
        shown.push('…');
    }
    trace.body = shown;
}

/// The credential a signed or fetched auth mode put in `request` at `place`,
/// unmasked: only `explain --curl` asks for it, to print a command that works now.
pub(super) fn credential(request: &CellRequest, place: &super::curl::Place) -> Option<String> {
    use super::curl::Place;
    match place {
        Place::Header { name, scheme } => {
            let value = request.headers().get(name.as_str())?.to_str().ok()?;
            let value = value.strip_prefix(scheme.as_str()).unwrap_or(value);
            Some(value.trim().to_string())
        }
        Place::Query(name) => url::form_urlencoded::parse(request.uri().query()?.as_bytes())
            .find(|(n, _)| n == name.as_str())
            .map(|(_, v)| v.into_owned()),
        Place::Cookie(name) => {
            let cookies = request.headers().get("cookie")?.to_str().ok()?;
            cookies
                .split(';')
                .filter_map(|c| c.trim().split_once('='))
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.to_string())
        }
    }
}
