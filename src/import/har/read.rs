//! Reading a HAR file into exchanges: each entry's request (method, URL,
//! headers, body) and response status, tolerant of what exporters leave out.
//! Response bodies are skipped while parsing, so a recording with large
//! responses costs little memory.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use super::HarError;
use crate::document::DocumentError;

/// Recordings larger than this are refused rather than read.
const MAX_FILE: u64 = 1 << 30;

/// One request and its response's status, as recorded.
#[derive(Clone, Debug)]
pub(super) struct Exchange {
    /// The entry's number in the recording, from 1.
    pub(super) number: usize,
    /// Upper-case.
    pub(super) method: String,
    /// The request's URL.
    pub(super) url: url::Url,
    /// The request's headers in order (HTTP/2 pseudo-headers left out).
    pub(super) headers: Vec<(String, String)>,
    /// `postData`.
    pub(super) post: Option<Post>,
    /// The response's status; 0 when there was none (blocked, aborted).
    pub(super) status: u16,
    /// Chrome's `_resourceType` (`fetch`, `xhr`, `image`…).
    pub(super) resource_type: Option<String>,
    /// `response.content.mimeType`.
    pub(super) response_mime: Option<String>,
}

impl Exchange {
    /// The first header named `name` (any case).
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A request body as recorded.
#[derive(Clone, Debug, Default)]
pub(super) struct Post {
    /// `mimeType`.
    pub(super) mime: String,
    /// `text`.
    pub(super) text: Option<String>,
    /// `params` (forms).
    pub(super) params: Vec<(String, String)>,
}

/// What a recording holds.
pub(super) struct Recording {
    /// `log.creator`: name and version.
    pub(super) creator: Option<String>,
    /// How many entries it has.
    pub(super) entries: usize,
    /// The entries that are usable requests.
    pub(super) exchanges: Vec<Exchange>,
    /// Entries that are not HTTP(S) requests (`data:`, `ws:`, extensions).
    pub(super) not_http: usize,
    /// Entries that could not be read, with why.
    pub(super) malformed: Vec<String>,
}

#[derive(Deserialize)]
struct Top {
    log: Option<Log>,
}

#[derive(Deserialize)]
struct Log {
    creator: Option<Value>,
    entries: Option<Vec<Option<RawEntry>>>,
}

#[derive(Deserialize)]
struct RawEntry {
    request: Option<Value>,
    response: Option<RawResponse>,
    #[serde(rename = "_resourceType")]
    resource_type: Option<Value>,
}

#[derive(Deserialize)]
struct RawResponse {
    status: Option<Value>,
    content: Option<RawContent>,
}

#[derive(Deserialize)]
struct RawContent {
    #[serde(rename = "mimeType")]
    mime_type: Option<Value>,
}

/// Reads the recording in `file`.
pub(super) fn read(file: &Path) -> Result<Recording, HarError> {
    let read_error = |source| {
        HarError::Document(DocumentError::Read {
            file: file.to_path_buf(),
            source,
        })
    };
    let size = std::fs::metadata(file).map_err(read_error)?.len();
    if size > MAX_FILE {
        return Err(not_a_har(
            file,
            &format!("{size} bytes is more than the 1 GiB a recording may have"),
        ));
    }
    let bytes = std::fs::read(file).map_err(read_error)?;
    parse(file, &bytes)
}

/// Reads a recording held in memory; `file` names it in messages.
pub(super) fn parse(file: &Path, bytes: &[u8]) -> Result<Recording, HarError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let top: Top = serde_json::from_slice(bytes).map_err(|e| {
        let message = e.to_string();
        let message = message
            .rfind(" at line ")
            .map_or(message.as_str(), |at| &message[..at]);
        HarError::Document(DocumentError::Syntax {
            file: file.to_path_buf(),
            line: e.line(),
            column: if e.line() > 0 {
                e.column().max(1)
            } else {
                e.column()
            },
            message: format!("not a HAR file (JSON): {message}"),
        })
    })?;
    let Some(log) = top.log else {
        return Err(not_a_har(file, "no `log` object: not a HAR 1.2 recording"));
    };
    let Some(entries) = log.entries else {
        return Err(not_a_har(
            file,
            "no `log.entries` list: not a HAR 1.2 recording",
        ));
    };
    let creator = log.creator.as_ref().and_then(|c| {
        let name = c.get("name")?.as_str()?;
        let version = c.get("version").and_then(Value::as_str).unwrap_or("");
        Some(one_line(format!("{name} {version}").trim()))
    });
    let mut recording = Recording {
        creator,
        entries: entries.len(),
        exchanges: Vec::new(),
        not_http: 0,
        malformed: Vec::new(),
    };
    for (i, entry) in entries.into_iter().enumerate() {
        match exchange(i + 1, entry) {
            Ok(exchange) => recording.exchanges.push(exchange),
            Err(Unusable::NotHttp) => recording.not_http += 1,
            Err(Unusable::Malformed(why)) => {
                recording.malformed.push(format!("entry {}: {why}", i + 1))
            }
        }
    }
    Ok(recording)
}

fn not_a_har(file: &Path, message: &str) -> HarError {
    HarError::Document(DocumentError::NotADocument {
        file: file.to_path_buf(),
        message: message.to_string(),
    })
}

enum Unusable {
    NotHttp,
    Malformed(&'static str),
}

fn exchange(number: usize, entry: Option<RawEntry>) -> Result<Exchange, Unusable> {
    let entry = entry.ok_or(Unusable::Malformed("null instead of an entry"))?;
    let request = entry.request.ok_or(Unusable::Malformed("no request"))?;
    let method = request
        .get("method")
        .and_then(Value::as_str)
        .map(|m| m.trim().to_ascii_uppercase())
        // A suite's request line takes letters only (`GET`, `PROPFIND`).
        .filter(|m| !m.is_empty() && m.len() <= 32 && m.bytes().all(|b| b.is_ascii_alphabetic()))
        .ok_or(Unusable::Malformed("no usable request.method"))?;
    let url = request
        .get("url")
        .and_then(Value::as_str)
        .ok_or(Unusable::Malformed("no request.url"))?;
    let url = match url::Url::parse(url.trim()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => url,
        Ok(_) => return Err(Unusable::NotHttp),
        Err(_) if url.starts_with("data:") || url.starts_with("blob:") => {
            return Err(Unusable::NotHttp);
        }
        Err(_) => return Err(Unusable::Malformed("request.url is not an absolute URL")),
    };
    let mut headers = pairs(request.get("headers"));
    headers.retain(|(name, _)| {
        !name.starts_with(':') && !name.is_empty() && name.bytes().all(is_token_byte)
    });
    if !headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("cookie"))
    {
        // Some exporters list cookies only under `request.cookies`.
        let cookies = pairs(request.get("cookies"));
        if !cookies.is_empty() {
            let header = cookies
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            headers.push(("Cookie".into(), header));
        }
    }
    let post = request
        .get("postData")
        .filter(|p| p.is_object())
        .map(|p| Post {
            mime: p
                .get("mimeType")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .trim()
                .to_string(),
            text: p.get("text").and_then(Value::as_str).map(str::to_string),
            params: pairs(p.get("params")),
        });
    let response = entry.response;
    let status = response
        .as_ref()
        .and_then(|r| r.status.as_ref())
        .and_then(|s| match s {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        })
        .filter(|s| (100..=999).contains(s))
        .map_or(0, |s| s as u16);
    let response_mime = response
        .and_then(|r| r.content)
        .and_then(|c| c.mime_type)
        .and_then(|m| m.as_str().map(|m| m.trim().to_ascii_lowercase()));
    let resource_type = entry
        .resource_type
        .and_then(|t| t.as_str().map(|t| t.to_ascii_lowercase()));
    Ok(Exchange {
        number,
        method,
        url,
        headers,
        post,
        status,
        resource_type,
        response_mime,
    })
}

/// `[{name, value}, …]` as pairs; entries without both strings are left out.
fn pairs(list: Option<&Value>) -> Vec<(String, String)> {
    let Some(Value::Array(items)) = list else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| {
            let name = item.get("name")?.as_str()?;
            let value = match item.get("value") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                Some(Value::Bool(b)) => b.to_string(),
                None | Some(Value::Null) => String::new(),
                _ => return None,
            };
            Some((name.trim().to_string(), value))
        })
        .collect()
}

/// An HTTP token character (method and header names).
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(80)
        .collect()
}
