//! Which recorded requests become endpoints: those to one host (`--host`, or
//! the most frequent), leaving out static assets, CORS preflights, WebSocket
//! upgrades and requests that got no answer.

use std::path::Path;

use super::HarError;
use super::read::Exchange;

/// The requests kept and what was left out.
pub(super) struct Selected {
    /// The host (with its port when the URL names one).
    pub(super) host: String,
    /// `scheme://host[:port]` of the first request kept.
    pub(super) origin: String,
    /// The requests to it, in recorded order.
    pub(super) exchanges: Vec<Exchange>,
    /// What was left out, for stderr.
    pub(super) notes: Vec<String>,
}

/// Why a request is not an endpoint, whatever its host.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Left {
    Unanswered,
    Static,
    Preflight,
    WebSocket,
}

/// The requests of `exchanges` that become endpoints.
pub(super) fn select(
    exchanges: Vec<Exchange>,
    host: Option<&str>,
    file: &Path,
) -> Result<Selected, HarError> {
    let mut left: std::collections::BTreeMap<Left, usize> = Default::default();
    let mut kept = Vec::new();
    for exchange in exchanges {
        match left_out(&exchange) {
            Some(why) => *left.entry(why).or_default() += 1,
            None => kept.push(exchange),
        }
    }
    // Hosts by frequency; a tie goes to the host recorded first.
    let mut hosts: Vec<(String, usize)> = Vec::new();
    for exchange in &kept {
        let key = host_key(&exchange.url);
        match hosts.iter_mut().find(|(h, _)| *h == key) {
            Some((_, n)) => *n += 1,
            None => hosts.push((key, 1)),
        }
    }
    let listing = |hosts: &[(String, usize)]| {
        hosts
            .iter()
            .map(|(h, n)| format!("{h} ({n})"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let candidates: Vec<&(String, usize)> = match host {
        Some(wanted) => {
            let wanted = wanted_host(wanted);
            hosts
                .iter()
                .filter(|(key, _)| {
                    key.eq_ignore_ascii_case(&wanted)
                        || bare_host(key).eq_ignore_ascii_case(&wanted)
                })
                .collect()
        }
        None => hosts.iter().collect(),
    };
    let Some(chosen) = candidates
        .iter()
        .fold(None::<&(String, usize)>, |best, h| match best {
            Some(b) if b.1 >= h.1 => Some(b),
            _ => Some(h),
        })
        .map(|(h, _)| h.clone())
    else {
        let message = match host {
            Some(wanted) if !hosts.is_empty() => format!(
                "no request to host `{}`; the recording has requests to {}",
                wanted.chars().filter(|c| !c.is_control()).collect::<String>(),
                listing(&hosts)
            ),
            _ => "no request in it to make an endpoint of (only static assets, preflights or unanswered requests, if any)".into(),
        };
        return Err(HarError::Empty {
            file: file.to_path_buf(),
            message,
        });
    };
    let others: Vec<(String, usize)> = hosts
        .iter()
        .filter(|(h, _)| *h != chosen)
        .cloned()
        .collect();
    let (exchanges, _): (Vec<Exchange>, Vec<Exchange>) =
        kept.into_iter().partition(|e| host_key(&e.url) == chosen);
    let origin = exchanges
        .first()
        .map(|e| format!("{}://{chosen}", e.url.scheme()))
        .unwrap_or_default();
    let mut notes = Vec::new();
    if !others.is_empty() {
        let count: usize = others.iter().map(|(_, n)| n).sum();
        notes.push(format!(
            "skipped {count} request(s) to other hosts: {}; --host HOST makes endpoints of another",
            listing(&others)
        ));
    }
    let skipped: Vec<String> = left
        .iter()
        .map(|(why, n)| match why {
            Left::Unanswered => format!("{n} without a response (status 0: blocked or aborted)"),
            Left::Static => format!("{n} static asset(s)"),
            Left::Preflight => format!("{n} CORS preflight(s)"),
            Left::WebSocket => format!("{n} WebSocket upgrade(s)"),
        })
        .collect();
    if !skipped.is_empty() {
        notes.push(format!("skipped {}", skipped.join(", ")));
    }
    Ok(Selected {
        host: chosen,
        origin,
        exchanges,
        notes,
    })
}

/// `host` or `host:port` as the URL writes it (no port when it is the scheme's default).
pub(super) fn host_key(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    }
}

fn bare_host(key: &str) -> &str {
    match key.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !host.ends_with(':') => {
            host
        }
        _ => key,
    }
}

/// `--host` as given, or the host of a URL given in its place.
fn wanted_host(wanted: &str) -> String {
    let wanted = wanted.trim();
    if wanted.contains("://")
        && let Ok(url) = url::Url::parse(wanted)
        && url.host_str().is_some()
    {
        return host_key(&url);
    }
    wanted.trim_end_matches('/').to_ascii_lowercase()
}

fn left_out(exchange: &Exchange) -> Option<Left> {
    if exchange.status == 0 {
        return Some(Left::Unanswered);
    }
    let kind = exchange.resource_type.as_deref().unwrap_or("");
    if exchange.status == 101
        || kind == "websocket"
        || exchange
            .header("upgrade")
            .is_some_and(|u| u.eq_ignore_ascii_case("websocket"))
    {
        return Some(Left::WebSocket);
    }
    if exchange.method == "OPTIONS"
        && (kind == "preflight" || exchange.header("access-control-request-method").is_some())
    {
        return Some(Left::Preflight);
    }
    if is_static(exchange) {
        return Some(Left::Static);
    }
    None
}

/// An image, stylesheet, script, font or media file, by what the browser
/// said it was, the response's type or the path's extension.
fn is_static(exchange: &Exchange) -> bool {
    if let Some(kind) = &exchange.resource_type {
        match kind.as_str() {
            "image" | "stylesheet" | "script" | "font" | "media" | "manifest" | "texttrack"
            | "imageset" => return true,
            "fetch" | "xhr" | "document" | "eventsource" | "ping" | "other" => return false,
            _ => {}
        }
    }
    if exchange.method != "GET" && exchange.method != "HEAD" {
        return false;
    }
    let mime = exchange.response_mime.as_deref().unwrap_or("");
    let mime = mime.split(';').next().unwrap_or("").trim();
    let static_mime = ["image/", "font/", "audio/", "video/"]
        .iter()
        .any(|p| mime.starts_with(p))
        || matches!(
            mime,
            "text/css"
                | "text/javascript"
                | "application/javascript"
                | "application/x-javascript"
                | "application/ecmascript"
                | "application/wasm"
                | "application/font-woff"
                | "application/font-woff2"
                | "application/x-font-ttf"
                | "application/vnd.ms-fontobject"
                | "application/manifest+json"
        );
    let path = exchange.url.path().to_ascii_lowercase();
    let extension = path
        .rsplit('/')
        .next()
        .and_then(|last| last.rsplit_once('.'))
        .map(|(_, e)| e);
    let static_extension = extension.is_some_and(|e| {
        matches!(
            e,
            "png"
                | "jpg"
                | "jpeg"
                | "gif"
                | "webp"
                | "avif"
                | "svg"
                | "ico"
                | "bmp"
                | "css"
                | "js"
                | "mjs"
                | "map"
                | "woff"
                | "woff2"
                | "ttf"
                | "otf"
                | "eot"
                | "mp4"
                | "webm"
                | "mp3"
                | "ogg"
                | "wav"
                | "m4a"
                | "wasm"
                | "webmanifest"
        )
    });
    static_mime || static_extension
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_with_and_without_ports() {
        let url = url::Url::parse("http://API.example.com:8080/x").unwrap();
        assert_eq!(host_key(&url), "api.example.com:8080");
        let url = url::Url::parse("https://example.com:443/x").unwrap();
        assert_eq!(host_key(&url), "example.com");
        assert_eq!(bare_host("example.com:8080"), "example.com");
        assert_eq!(bare_host("[::1]:80"), "[::1]");
        assert_eq!(wanted_host("https://Example.com:8443/"), "example.com:8443");
    }
}
