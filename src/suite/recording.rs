//! Recordings: a real run's matrix as a mock definition (`recording:`), every
//! route as each principal saw it, and how the replaying mock tells the
//! principals apart without holding their real credentials.

use std::collections::BTreeMap;

use super::read::{Fields, Reader};
use super::yaml::Node;

const RECORDING_KEYS: &[&str] = &["suite", "salt"];
const ROUTE_KEYS: &[&str] = &["route", "endpoint", "body_sha256", "answers"];
const ANSWER_KEYS: &[&str] = &["status", "headers", "body"];
const CALLER_KEYS: &[&str] = &[
    "none",
    "header",
    "query",
    "cookie",
    "sha256",
    "login",
    "jwt",
    "connect_jwt",
    "grant",
];

/// A recorded run, as the mock replays it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Recording {
    /// The suite it was recorded from.
    pub suite: String,
    /// The salt of every hash in it.
    pub salt: String,
    /// How each principal is recognised, by name.
    pub callers: BTreeMap<String, CallerCheck>,
    /// The routes, sorted.
    pub routes: Vec<RecordedRoute>,
}

/// How the replaying mock recognises one principal's requests.
#[derive(Clone, Debug, PartialEq)]
pub enum CallerCheck {
    /// No credential at all.
    None,
    /// A header, query parameter or cookie whose value hashes to `sha256`
    /// (Basic, bearer, API keys): the value as sent under the recording's vars.
    Static {
        /// Where the value is.
        place: Place,
        /// Its salted hash.
        sha256: String,
    },
    /// A login route that issues a token or a session cookie.
    Login(LoginCheck),
    /// A self-signed JWT.
    Jwt(JwtCheck),
    /// An Atlassian Connect JWT, qsh included.
    ConnectJwt {
        /// `iss`.
        issuer: String,
        /// The shared secret, when it came from a variable (a fake); `None`:
        /// written literally in the suite, so the signature is not verified.
        secret: Option<String>,
        /// `in: query` rather than the Authorization header.
        in_query: bool,
    },
    /// An OAuth token endpoint grant (client credentials, JWT bearer).
    Grant(GrantCheck),
}

/// Where a static credential goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// A request header, by name (lower case).
    Header(String),
    /// A query parameter.
    Query(String),
    /// A cookie.
    Cookie(String),
}

/// A principal that logs in.
#[derive(Clone, Debug, PartialEq)]
pub struct LoginCheck {
    /// `METHOD /path` of the login request.
    pub route: String,
    /// The salted hash of the login body as sent under the recording's vars.
    pub body_sha256: String,
    /// What the login answers and the principal sends back.
    pub issues: Issued,
}

/// What a login or a grant hands out, and how it comes back.
#[derive(Clone, Debug, PartialEq)]
pub enum Issued {
    /// A token at a JSON pointer of the answer, sent back in `header`
    /// after `scheme` (`Authorization: Bearer …` by default).
    Token {
        /// The pointer.
        pointer: String,
        /// The header it comes back in (lower case).
        header: String,
        /// The scheme before it; empty for none.
        scheme: String,
    },
    /// A cookie set by the answer.
    Cookie(String),
}

/// A principal that signs its own JWTs.
#[derive(Clone, Debug, PartialEq)]
pub struct JwtCheck {
    /// The header it comes in (lower case).
    pub header: String,
    /// The scheme before it; empty for none.
    pub scheme: String,
    /// The HMAC secret, when it came from a variable (a fake); `None`: the
    /// signature is not verified (a literal secret, or an asymmetric key).
    pub secret: Option<String>,
    /// Claims that identify it (`iss`, `sub`, `aud` and the suite's own).
    pub claims: BTreeMap<String, serde_json::Value>,
}

/// A principal that gets its token from a token endpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct GrantCheck {
    /// The token endpoint's path on the mock.
    pub token_path: String,
    /// The OAuth client id, as sent.
    pub client_id: String,
    /// The salted hash of the client secret (client credentials) or the fake
    /// secret the assertion is signed with (JWT bearer).
    pub secret: GrantSecret,
    /// The assertion's `sub` (JWT bearer), which tells users of one app apart.
    pub subject: Option<String>,
}

/// How a grant's secret is checked.
#[derive(Clone, Debug, PartialEq)]
pub enum GrantSecret {
    /// Client credentials: the secret's salted hash.
    Hashed(String),
    /// JWT bearer: the assertion's HMAC secret (a fake), when it came from a variable.
    Assertion(Option<String>),
}

/// One recorded request line, with each principal's answer.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedRoute {
    /// `METHOD /path?query`, as the suite renders it under the recording's vars.
    pub route: String,
    /// The endpoint it was recorded for.
    pub endpoint: String,
    /// The salted hash of the request body, when the request has one: two
    /// endpoints with one request line and different bodies (GraphQL) are two routes.
    pub body_sha256: Option<String>,
    /// Each principal's answer, by name.
    pub answers: BTreeMap<String, RecordedAnswer>,
}

/// One principal's recorded answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedAnswer {
    /// The status.
    pub status: u16,
    /// The headers kept (lower-case names).
    pub headers: BTreeMap<String, String>,
    /// The body, masked (and cut past the size limit).
    pub body: String,
}

/// What a recording writes in place of the recorded target's origin (in
/// `Location` headers and bodies), and the replaying mock of its own: the
/// file does not depend on the port the instance listened on.
pub const ORIGIN_MARK: &str = "{permatrix:origin}";

impl Recording {
    /// The query parameters that carry credentials (an API key's, a Connect
    /// JWT's `jwt`): they differ between principals, so no route holds them.
    pub fn credential_params(&self) -> Vec<&str> {
        self.callers
            .values()
            .filter_map(|check| match check {
                CallerCheck::Static {
                    place: Place::Query(name),
                    ..
                } => Some(name.as_str()),
                _ => None,
            })
            .chain([crate::atlassian::qsh::JWT_PARAM])
            .collect()
    }
}

/// A recorded route: `METHOD /path?query`, the query (as encoded, in order)
/// without the pairs named in `credential_params`. Recording and replay both
/// key requests by it.
pub fn route_line(
    method: &str,
    path: &str,
    query: Option<&str>,
    credential_params: &[&str],
) -> String {
    let kept: Vec<&str> = query
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter(|pair| {
            let key = pair.split_once('=').map_or(*pair, |(k, _)| k);
            let key = percent_encoding::percent_decode_str(key).decode_utf8_lossy();
            !credential_params.contains(&key.as_ref())
        })
        .collect();
    if kept.is_empty() {
        format!("{method} {path}")
    } else {
        format!("{method} {path}?{}", kept.join("&"))
    }
}

/// The salted SHA-256 of `value`, in hex: what a recording keeps of a credential.
pub fn salted_hash(salt: &str, value: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(salt.as_bytes());
    hasher.update(b"\0");
    hasher.update(value);
    hex::encode(hasher.finalize())
}

/// Reads the recording parts of a mock definition (`recording:`, `callers:`, `routes:`).
pub(super) fn read(r: &mut Reader<'_>, top: &Fields<'_>) -> Option<Recording> {
    let head = top.get("recording")?;
    let f = r.map(head, "recording", Some(RECORDING_KEYS))?;
    let suite = required(r, &f, "suite", "`recording:`");
    let salt = required(r, &f, "salt", "`recording:`");
    let mut callers = BTreeMap::new();
    if let Some(node) = top.get("callers")
        && let Some(fields) = r.map(node, "callers", None)
    {
        for (name, _, value) in &fields.entries {
            if let Some(check) = read_caller(r, value) {
                callers.insert(name.clone(), check);
            }
        }
    }
    let routes = match top.get("routes") {
        Some(node) => r
            .seq(node, "routes")
            .unwrap_or_default()
            .iter()
            .filter_map(|item| read_route(r, item, &callers))
            .collect(),
        None => Vec::new(),
    };
    Some(Recording {
        suite: suite?,
        salt: salt?,
        callers,
        routes,
    })
}

fn text(r: &mut Reader<'_>, f: &Fields<'_>, key: &str) -> Option<String> {
    f.get(key).and_then(|n| r.string(n, key))
}

/// A field that must be there: its absence is a located error.
fn required(r: &mut Reader<'_>, f: &Fields<'_>, key: &str, what: &str) -> Option<String> {
    if f.get(key).is_none() {
        r.diags.error(f.pos, format!("{what} has no `{key}:`"));
        return None;
    }
    text(r, f, key)
}

fn read_caller(r: &mut Reader<'_>, node: &Node) -> Option<CallerCheck> {
    if node.as_str() == Some("none") {
        return Some(CallerCheck::None);
    }
    let f = r.map(node, "a caller", Some(CALLER_KEYS))?;
    let sha = |r: &mut Reader<'_>| required(r, &f, "sha256", "a caller");
    if let Some(name) = text(r, &f, "header") {
        return Some(CallerCheck::Static {
            place: Place::Header(name.to_ascii_lowercase()),
            sha256: sha(r)?,
        });
    }
    if let Some(name) = text(r, &f, "query") {
        return Some(CallerCheck::Static {
            place: Place::Query(name),
            sha256: sha(r)?,
        });
    }
    if let Some(name) = text(r, &f, "cookie") {
        return Some(CallerCheck::Static {
            place: Place::Cookie(name),
            sha256: sha(r)?,
        });
    }
    if let Some(login) = f.get("login") {
        let l = r.map(login, "login", None)?;
        return Some(CallerCheck::Login(LoginCheck {
            route: text(r, &l, "route")?,
            body_sha256: text(r, &l, "body_sha256")?,
            issues: read_issued(r, &l)?,
        }));
    }
    if let Some(jwt) = f.get("jwt") {
        let j = r.map(jwt, "jwt", None)?;
        let claims = match j.get("claims") {
            Some(node) => node.to_json().as_object().cloned().unwrap_or_default(),
            None => Default::default(),
        };
        return Some(CallerCheck::Jwt(JwtCheck {
            header: text(r, &j, "header")?.to_ascii_lowercase(),
            scheme: text(r, &j, "scheme").unwrap_or_default(),
            secret: text(r, &j, "secret"),
            claims: claims.into_iter().collect(),
        }));
    }
    if let Some(connect) = f.get("connect_jwt") {
        let c = r.map(connect, "connect_jwt", None)?;
        return Some(CallerCheck::ConnectJwt {
            issuer: text(r, &c, "issuer")?,
            secret: text(r, &c, "secret"),
            in_query: text(r, &c, "in").as_deref() == Some("query"),
        });
    }
    if let Some(grant) = f.get("grant") {
        let g = r.map(grant, "grant", None)?;
        let secret = match text(r, &g, "secret_sha256") {
            Some(hash) => GrantSecret::Hashed(hash),
            None => GrantSecret::Assertion(text(r, &g, "assertion_secret")),
        };
        return Some(CallerCheck::Grant(GrantCheck {
            token_path: text(r, &g, "token_path")?,
            client_id: text(r, &g, "client_id")?,
            secret,
            subject: text(r, &g, "subject"),
        }));
    }
    r.diags.error(
        node.pos,
        "a caller is `none`, or one of `header:`, `query:`, `cookie:` (with `sha256:`), `login:`, `jwt:`, `connect_jwt:`, `grant:`",
    );
    None
}

fn read_issued(r: &mut Reader<'_>, f: &Fields<'_>) -> Option<Issued> {
    if let Some(cookie) = text(r, f, "cookie") {
        return Some(Issued::Cookie(cookie));
    }
    Some(Issued::Token {
        pointer: text(r, f, "token")?,
        header: text(r, f, "header")
            .unwrap_or_else(|| "authorization".into())
            .to_ascii_lowercase(),
        scheme: text(r, f, "scheme").unwrap_or_else(|| "Bearer".into()),
    })
}

fn read_route(
    r: &mut Reader<'_>,
    node: &Node,
    callers: &BTreeMap<String, CallerCheck>,
) -> Option<RecordedRoute> {
    let f = r.map(node, "a recorded route", Some(ROUTE_KEYS))?;
    let route = required(r, &f, "route", "a recorded route")?;
    let endpoint = text(r, &f, "endpoint").unwrap_or_else(|| route.clone());
    let body_sha256 = text(r, &f, "body_sha256");
    let mut answers = BTreeMap::new();
    if let Some(node) = f.get("answers")
        && let Some(fields) = r.map(node, "answers", None)
    {
        for (caller, key, value) in &fields.entries {
            if !callers.contains_key(caller) {
                r.diags.error(
                    key.pos,
                    format!("answer for `{caller}`, who is not among `callers:`"),
                );
                continue;
            }
            if let Some(answer) = read_answer(r, value) {
                answers.insert(caller.clone(), answer);
            }
        }
    }
    Some(RecordedRoute {
        route,
        endpoint,
        body_sha256,
        answers,
    })
}

fn read_answer(r: &mut Reader<'_>, node: &Node) -> Option<RecordedAnswer> {
    let f = r.map(node, "an answer", Some(ANSWER_KEYS))?;
    let status = f
        .get("status")
        .and_then(|n| r.integer(n, "status", 100, 599))
        .and_then(|s| u16::try_from(s).ok())?;
    let mut headers = BTreeMap::new();
    if let Some(node) = f.get("headers")
        && let Some(fields) = r.map(node, "headers", None)
    {
        for (name, _, value) in &fields.entries {
            if let Some(value) = r.string(value, name) {
                headers.insert(name.to_ascii_lowercase(), value);
            }
        }
    }
    let body = text(r, &f, "body").unwrap_or_default();
    Some(RecordedAnswer {
        status,
        headers,
        body,
    })
}
