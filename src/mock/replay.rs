//! Replaying a recording: each request is matched to the principal whose
//! (fake) credentials it carries and answered as that principal was answered
//! when the run was recorded. What was not recorded answers 501, never a
//! made-up 200.

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::json;

use super::verify::{LEEWAY_SECONDS, peek, verify_hs256};
use crate::atlassian::qsh;
use crate::suite::recording::{
    CallerCheck, GrantCheck, GrantSecret, Issued, JwtCheck, ORIGIN_MARK, Place, Recording,
    route_line, salted_hash,
};

/// Answers one request from the recording.
pub(super) fn answer(
    recording: &Recording,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let request = Request {
        method: method.as_str(),
        path: uri.path(),
        query: uri.query(),
        headers,
        body,
    };
    if let Some(issued) = issue(recording, &request) {
        return issued;
    }
    let route = route_of(recording, &request);
    let body_hash = (!body.is_empty()).then(|| salted_hash(&recording.salt, body));
    let Some(recorded) = recording
        .routes
        .iter()
        .filter(|r| r.route == route)
        .find(|r| r.body_sha256.is_none() || r.body_sha256 == body_hash)
    else {
        return not_recorded(json!({
            "error": "not recorded",
            "route": route,
            "recording": recording.suite,
            "hint": "this request was not part of the recorded run: record again with `permatrix run --record`",
        }));
    };
    let callers = identify(recording, &request);
    let Some(caller) = callers
        .iter()
        .find(|c| recorded.answers.contains_key(c.as_str()))
    else {
        let error = if callers.is_empty() {
            "unknown caller"
        } else {
            "not recorded for this caller"
        };
        return not_recorded(json!({
            "error": error,
            "route": route,
            "recorded_for": recorded.answers.keys().collect::<Vec<_>>(),
            "hint": "the credentials match no principal this route was recorded for",
        }));
    };
    let Some(answer) = recorded.answers.get(caller.as_str()) else {
        return not_recorded(json!({ "error": "not recorded for this caller", "route": route }));
    };
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::NOT_IMPLEMENTED);
    let origin = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|host| format!("http://{host}"))
        .unwrap_or_default();
    let here = |text: &str| text.replace(ORIGIN_MARK, &origin);
    let mut response = (status, here(&answer.body)).into_response();
    response.headers_mut().remove(header::CONTENT_TYPE);
    for (name, value) in &answer.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&here(value)),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    response
}

/// A request as the replay reads it.
struct Request<'a> {
    method: &'a str,
    path: &'a str,
    query: Option<&'a str>,
    headers: &'a HeaderMap,
    body: &'a [u8],
}

impl Request<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn query_param(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query.unwrap_or_default().as_bytes())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.to_string())
    }
}

fn not_recorded(body: serde_json::Value) -> Response {
    (StatusCode::NOT_IMPLEMENTED, axum::Json(body)).into_response()
}

/// `METHOD /path?query` without the credentials principals put in the query.
fn route_of(recording: &Recording, request: &Request<'_>) -> String {
    route_line(
        request.method,
        request.path,
        request.query,
        &recording.credential_params(),
    )
}

/// The token a login or grant hands `caller` on replay: derived from the
/// salt, so it is the same in every replay and no real token.
pub(crate) fn issued_token(recording: &Recording, caller: &str) -> String {
    let hash = salted_hash(&recording.salt, format!("issued to {caller}").as_bytes());
    format!("replayed-{}", &hash[..24])
}

/// Answers a recorded login or token request with the principal's replay
/// token. Principals that log in alike (one user, a token for one and the
/// session cookie for another) get one answer carrying both.
fn issue(recording: &Recording, request: &Request<'_>) -> Option<Response> {
    let line = match request.query {
        Some(query) if !query.is_empty() => format!("{} {}?{query}", request.method, request.path),
        _ => format!("{} {}", request.method, request.path),
    };
    let mut body = serde_json::Map::new();
    let mut cookies = Vec::new();
    for (caller, check) in &recording.callers {
        match check {
            CallerCheck::Login(login)
                if login.route == line
                    && salted_hash(&recording.salt, request.body) == login.body_sha256 =>
            {
                let token = issued_token(recording, caller);
                match &login.issues {
                    Issued::Cookie(name) => cookies.push(format!("{name}={token}; Path=/")),
                    Issued::Token { pointer, .. } => merge(&mut body, at_pointer(pointer, &token)),
                }
            }
            CallerCheck::Grant(grant)
                if request.method == "POST"
                    && request.path == grant.token_path
                    && grant_matches(recording, grant, request) =>
            {
                let token = issued_token(recording, caller);
                return Some(
                    (
                        StatusCode::OK,
                        axum::Json(json!({
                            "access_token": token,
                            "token_type": "Bearer",
                            "expires_in": 900,
                        })),
                    )
                        .into_response(),
                );
            }
            _ => {}
        }
    }
    if body.is_empty() && cookies.is_empty() {
        return None;
    }
    let mut response =
        (StatusCode::OK, axum::Json(serde_json::Value::Object(body))).into_response();
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    Some(response)
}

/// Lays `more` (an object) over `into`, nested objects merged.
fn merge(into: &mut serde_json::Map<String, serde_json::Value>, more: serde_json::Value) {
    let serde_json::Value::Object(more) = more else {
        return;
    };
    for (key, value) in more {
        match (into.get_mut(&key), value) {
            (Some(serde_json::Value::Object(inner)), serde_json::Value::Object(nested)) => {
                merge(inner, serde_json::Value::Object(nested))
            }
            (_, value) => {
                into.insert(key, value);
            }
        }
    }
}

/// `{"a": {"b": token}}` for `/a/b`.
fn at_pointer(pointer: &str, token: &str) -> serde_json::Value {
    let mut value = serde_json::Value::String(token.to_string());
    for segment in pointer
        .split('/')
        .skip(1)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
    {
        let key = segment.replace("~1", "/").replace("~0", "~");
        value = json!({ key: value });
    }
    value
}

/// Whether a token request carries `grant`'s client credentials or assertion.
fn grant_matches(recording: &Recording, grant: &GrantCheck, request: &Request<'_>) -> bool {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(request.body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    match &grant.secret {
        GrantSecret::Hashed(hash) => {
            let from_basic = request
                .header("authorization")
                .and_then(|v| v.strip_prefix("Basic "))
                .and_then(|b| STANDARD.decode(b.trim()).ok())
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .and_then(|pair| {
                    let (id, secret) = pair.split_once(':')?;
                    let decode = |t: &str| {
                        url::form_urlencoded::parse(format!("x={t}").as_bytes())
                            .next()
                            .map(|(_, v)| v.into_owned())
                    };
                    Some((decode(id)?, decode(secret)?))
                });
            let (id, secret) = match from_basic {
                Some(pair) => pair,
                None => match (field("client_id"), field("client_secret")) {
                    (Some(id), Some(secret)) => (id.to_string(), secret.to_string()),
                    _ => return false,
                },
            };
            id == grant.client_id && salted_hash(&recording.salt, secret.as_bytes()) == *hash
        }
        GrantSecret::Assertion(secret) => {
            let Some(assertion) = field("assertion") else {
                return false;
            };
            let claims = match secret {
                Some(secret) => match verify_hs256(assertion, secret) {
                    Ok(claims) => claims,
                    Err(_) => return false,
                },
                None => match peek(assertion) {
                    Some((_, claims)) => claims,
                    None => return false,
                },
            };
            let issuer = claims["iss"].as_str().unwrap_or_default();
            issuer.ends_with(&grant.client_id)
                && grant
                    .subject
                    .as_deref()
                    .is_none_or(|sub| claims["sub"].as_str() == Some(sub))
        }
    }
}

/// The principals whose credentials the request carries, in name order;
/// the one of `auth: none` when it carries none that any principal uses.
fn identify(recording: &Recording, request: &Request<'_>) -> Vec<String> {
    let matched: Vec<String> = recording
        .callers
        .iter()
        .filter(|(caller, check)| carries(recording, caller, check, request))
        .map(|(caller, _)| caller.clone())
        .collect();
    if !matched.is_empty() || has_credential(recording, request) {
        return matched;
    }
    recording
        .callers
        .iter()
        .filter(|(_, check)| **check == CallerCheck::None)
        .map(|(caller, _)| caller.clone())
        .collect()
}

/// Whether the request carries something a principal would use as a credential.
fn has_credential(recording: &Recording, request: &Request<'_>) -> bool {
    if request.header("authorization").is_some() || request.query_param(qsh::JWT_PARAM).is_some() {
        return true;
    }
    recording.callers.values().any(|check| match check {
        CallerCheck::Static { place, .. } => value_at(place, request).is_some(),
        CallerCheck::Jwt(jwt) => request.header(&jwt.header).is_some(),
        CallerCheck::Login(login) => match &login.issues {
            Issued::Cookie(name) => request.cookie(name).is_some(),
            Issued::Token { header, .. } => request.header(header).is_some(),
        },
        _ => false,
    })
}

fn value_at(place: &Place, request: &Request<'_>) -> Option<String> {
    match place {
        Place::Header(name) => request.header(name).map(str::to_string),
        Place::Query(name) => request.query_param(name),
        Place::Cookie(name) => request.cookie(name),
    }
}

/// Whether the request carries `caller`'s credential, verified.
fn carries(
    recording: &Recording,
    caller: &str,
    check: &CallerCheck,
    request: &Request<'_>,
) -> bool {
    match check {
        CallerCheck::None => false,
        CallerCheck::Static { place, sha256 } => value_at(place, request)
            .is_some_and(|value| salted_hash(&recording.salt, value.as_bytes()) == *sha256),
        CallerCheck::Login(login) => {
            let token = issued_token(recording, caller);
            match &login.issues {
                Issued::Cookie(name) => request.cookie(name).as_deref() == Some(token.as_str()),
                Issued::Token { header, scheme, .. } => {
                    request.header(header).map(str::trim) == Some(&with_scheme(scheme, &token))
                }
            }
        }
        CallerCheck::Grant(_) => {
            request.header("authorization").map(str::trim)
                == Some(&format!("Bearer {}", issued_token(recording, caller)))
        }
        CallerCheck::Jwt(jwt) => jwt_matches(jwt, request),
        CallerCheck::ConnectJwt {
            issuer,
            secret,
            in_query,
        } => {
            let token = if *in_query {
                request.query_param(qsh::JWT_PARAM)
            } else {
                request
                    .header("authorization")
                    .and_then(|v| v.trim().strip_prefix("JWT "))
                    .map(str::to_string)
            };
            let Some(token) = token else {
                return false;
            };
            let claims = match secret {
                Some(secret) => match verify_hs256(&token, secret) {
                    Ok(claims) => claims,
                    Err(_) => return false,
                },
                None => match peek(&token) {
                    Some((_, claims)) => claims,
                    None => return false,
                },
            };
            let expected = qsh::qsh(&qsh::canonical_request(
                request.method,
                request.path,
                request.query,
                "",
            ));
            claims["iss"].as_str() == Some(issuer.as_str())
                && claims["qsh"].as_str() == Some(expected.as_str())
        }
    }
}

fn with_scheme(scheme: &str, token: &str) -> String {
    if scheme.is_empty() {
        token.to_string()
    } else {
        format!("{scheme} {token}")
    }
}

/// A self-signed JWT: its scheme, its signature (when the secret is a
/// fake the recording holds), its lifetime, and the claims that identify it.
fn jwt_matches(jwt: &JwtCheck, request: &Request<'_>) -> bool {
    let Some(value) = request.header(&jwt.header).map(str::trim) else {
        return false;
    };
    let token = if jwt.scheme.is_empty() {
        value
    } else {
        match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case(&jwt.scheme) => token.trim(),
            _ => return false,
        }
    };
    let Some((header, unverified)) = peek(token) else {
        return false;
    };
    let claims = match &jwt.secret {
        Some(secret) => {
            let algorithm = match header["alg"].as_str() {
                Some("HS384") => Algorithm::HS384,
                Some("HS512") => Algorithm::HS512,
                Some("HS256") => Algorithm::HS256,
                _ => return false,
            };
            let mut validation = Validation::new(algorithm);
            validation.leeway = LEEWAY_SECONDS;
            validation.validate_aud = false;
            validation.set_required_spec_claims(&["exp"]);
            let Ok(key) = DecodingKey::from_secret(secret.as_bytes()) else {
                return false;
            };
            match jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation) {
                Ok(data) => data.claims,
                Err(_) => return false,
            }
        }
        None => unverified,
    };
    jwt.claims
        .iter()
        .all(|(name, value)| &claims[name] == value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_tokens_land_at_their_pointer() {
        assert_eq!(at_pointer("/token", "t"), json!({"token": "t"}));
        assert_eq!(at_pointer("/data/a~1b", "t"), json!({"data": {"a/b": "t"}}));
    }

    #[test]
    fn credential_params_are_not_part_of_the_route() {
        let recording = Recording {
            salt: "s".into(),
            callers: [(
                "k".to_string(),
                CallerCheck::Static {
                    place: Place::Query("api_key".into()),
                    sha256: String::new(),
                },
            )]
            .into_iter()
            .collect(),
            ..Recording::default()
        };
        let headers = HeaderMap::new();
        let request = Request {
            method: "GET",
            path: "/x",
            query: Some("a=1&api_key=secret&jwt=t&b=2"),
            headers: &headers,
            body: b"",
        };
        assert_eq!(route_of(&recording, &request), "GET /x?a=1&b=2");
    }
}
