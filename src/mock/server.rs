//! The mock instance as an axum router over plain state: token endpoint,
//! route matching, and Jira's choice of status (FACTS.md §5); routes with
//! `issue:` are then answered by the issue store ([`super::issue_routes`]),
//! routes with `graphql:` field by field ([`super::graphql`]).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::graphql::{self, GraphqlRequest};
use super::issue_routes;
use super::issues::Account;
use super::issues::IssueRequest;
use super::jira_error::{ANYONE, error};
use super::state::{Issued, MockState};
use super::verify::{self, Caller, Refusal};
use crate::atlassian::scope::ConnectScope;
use crate::suite::mock_def::{IssueAction, MockDef, MockRoute, segments};

/// The grant type of RFC 7523.
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Where the JWT-bearer grant is served.
pub(crate) const TOKEN_PATH: &str = "/oauth2/token";

/// The mock as a router: everything goes through one handler.
pub(crate) fn router(state: Arc<MockState>) -> Router {
    Router::new().fallback(handle).with_state(state)
}

/// Serves `def` on `addr` until `shutdown` completes; returns the bound address.
pub async fn serve(
    def: MockDef,
    addr: SocketAddr,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = router(Arc::new(MockState::new(def)));
    let task = tokio::spawn(async move {
        let mut shutdown = std::pin::pin!(shutdown);
        let mut failed_accepts: u32 = 0;
        loop {
            let stream = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        failed_accepts = 0;
                        stream
                    }
                    // A failed accept (e.g. too many open files) must not end the
                    // mock, nor spin: wait, longer each time, up to a second.
                    Err(_) => {
                        failed_accepts = (failed_accepts + 1).min(5);
                        tokio::time::sleep(std::time::Duration::from_millis(
                            30 << failed_accepts,
                        ))
                        .await;
                        continue;
                    }
                },
                () = &mut shutdown => return Ok(()),
            };
            let service = hyper_util::service::TowerToHyperService::new(app.clone());
            tokio::spawn(async move {
                let mut http = hyper::server::conn::http1::Builder::new();
                http.timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(HEADER_READ_TIMEOUT)
                    .max_buf_size(MAX_HEADER_BYTES);
                let _ = http
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok((bound, task))
}

/// How long a client may take to send a request's headers (slow clients are cut off).
pub(crate) const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// The most header bytes a request may carry (more: 431).
pub(crate) const MAX_HEADER_BYTES: usize = 64 * 1024;

/// How long a request's body may take to arrive, once its headers have.
pub(crate) const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// The largest request body the mock reads.
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

async fn handle(
    State(state): State<Arc<MockState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    // A body that trickles forever is cut off, as a header that does.
    let body: Bytes = match tokio::time::timeout(
        BODY_READ_TIMEOUT,
        axum::body::to_bytes(body, MAX_BODY_BYTES),
    )
    .await
    {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(_)) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the request body is over 2 MiB",
            );
        }
        Err(_) => {
            return error(
                StatusCode::REQUEST_TIMEOUT,
                "the request body did not arrive in time",
            );
        }
    };
    let origin = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .map(|host| format!("http://{host}"));
    if let Some(recording) = &state.def.replay {
        return super::replay::answer(recording, &method, &uri, &headers, &body);
    }
    if method == Method::POST && uri.path() == TOKEN_PATH {
        return token(&state, origin.as_deref(), &body);
    }
    let path_segments = segments(uri.path());
    let Some(route) = state
        .def
        .routes
        .iter()
        .find(|r| r.serves(&method) && r.matches(&path_segments))
    else {
        return error(
            StatusCode::NOT_FOUND,
            &format!("No route for {method} {}", uri.path()),
        );
    };
    let identified = match headers.get(header::AUTHORIZATION).map(|v| v.to_str()) {
        Some(Err(_)) => Err(Refusal::Unauthorized {
            scheme: "Basic",
            message: "the Authorization header is not text".into(),
        }),
        authorization => verify::identify(
            &state,
            method.as_str(),
            uri.path(),
            uri.query(),
            authorization.and_then(Result::ok),
        ),
    };
    if let Some(graphql) = &route.graphql {
        let request = GraphqlRequest {
            method: &method,
            query: uri.query(),
            content_type: headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
            body: &body,
        };
        return match identified {
            Ok(caller) => graphql::answer(&state, graphql, &request, &caller),
            Err(Refusal::Malformed(message)) => {
                graphql::refused(StatusCode::BAD_REQUEST, graphql::BAD_REQUEST, &message)
            }
            Err(Refusal::Unauthorized { scheme, message }) => challenge(
                &state,
                scheme,
                "invalid_token",
                graphql::refused(StatusCode::UNAUTHORIZED, graphql::UNAUTHENTICATED, &message),
            ),
        };
    }
    match identified {
        Ok(caller) => match (decide(&state, route, &caller), route.issue) {
            (Ok(account), Some(action)) => {
                let request = IssueRequest {
                    path: uri.path(),
                    origin: origin.as_deref().unwrap_or_default(),
                    query: uri.query(),
                    body: &body,
                };
                issue_routes::answer(&state, route, action, account, &request)
            }
            (Ok(_), None) => answer(route),
            (Err(refused), _) => *refused,
        },
        Err(Refusal::Malformed(message)) => error(StatusCode::BAD_REQUEST, &message),
        Err(Refusal::Unauthorized { scheme, message }) => challenge(
            &state,
            scheme,
            "invalid_token",
            error(StatusCode::UNAUTHORIZED, &message),
        ),
    }
}

/// Jira's order: credentials, then the app's scope, then the user's permission.
/// `Ok` with whom the call runs as (`None`: anonymous) when it may go on;
/// `Err` with the refusal otherwise (boxed: a response is large).
fn decide(
    state: &MockState,
    route: &MockRoute,
    caller: &Caller,
) -> Result<Option<Account>, Box<Response>> {
    let def = &state.def;
    let user = match caller {
        // Anonymous access needs the route to allow it and its permission, if
        // any, granted to the pseudo-group `anyone` (Jira's "public").
        Caller::Anonymous if route.anonymous && anyone_holds(def, route) => return Ok(None),
        Caller::Anonymous => {
            let response = error(
                StatusCode::UNAUTHORIZED,
                "You are not authenticated. Authentication required to perform this operation.",
            );
            return Err(Box::new(challenge(state, "Basic", "", response)));
        }
        Caller::App(app) => {
            // An app's own user holds what its scopes grant (modeled).
            return if def.granted(&def.apps[*app].scopes, route.scope) {
                Ok(Some(Account::App(*app)))
            } else {
                Err(Box::new(error(
                    StatusCode::FORBIDDEN,
                    "Request not in an authorized API scope",
                )))
            };
        }
        Caller::Impersonated { scopes, user, .. } => {
            if !route.impersonation || !def.granted(scopes, route.scope) {
                let body = json!({"code": 401, "message": "Unauthorized; scope does not match"});
                let response = (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
                return Err(Box::new(challenge(
                    state,
                    "Bearer",
                    "insufficient_scope",
                    response,
                )));
            }
            *user
        }
        Caller::User(user) => *user,
    };
    // On an `issue: delete` or `issue: edit` route the permission is what
    // deleting or editing an issue someone else reported needs: the store
    // checks it, after visibility.
    if route
        .issue
        .is_some_and(IssueAction::permission_is_the_stores)
    {
        return Ok(Some(Account::User(user)));
    }
    let Some(permission) = &route.permission else {
        return Ok(Some(Account::User(user)));
    };
    let groups = &def.users[user].groups;
    if def.holders(permission).iter().any(|g| groups.contains(g)) {
        Ok(Some(Account::User(user)))
    } else if route.hidden {
        let message = match route.issue {
            Some(_) => issue_routes::NOT_VISIBLE,
            None => "The resource does not exist or you do not have permission to see it.",
        };
        Err(Box::new(error(StatusCode::NOT_FOUND, message)))
    } else {
        Err(Box::new(error(
            StatusCode::FORBIDDEN,
            &format!("You do not have the {permission} permission this operation needs."),
        )))
    }
}

fn anyone_holds(def: &MockDef, route: &MockRoute) -> bool {
    route
        .permission
        .as_deref()
        .is_none_or(|p| def.holders(p).iter().any(|g| g == ANYONE))
}

fn answer(route: &MockRoute) -> Response {
    let status = StatusCode::from_u16(route.status).unwrap_or(StatusCode::OK);
    if status == StatusCode::NO_CONTENT || route.body.is_null() {
        return status.into_response();
    }
    (status, axum::Json(route.body.clone())).into_response()
}

fn challenge(state: &MockState, scheme: &str, error: &str, mut response: Response) -> Response {
    let realm = state.def.name.replace('"', "");
    let value = match (scheme, error) {
        ("Bearer", error) if !error.is_empty() => {
            format!("Bearer realm=\"{realm}\", error=\"{error}\"")
        }
        (scheme, _) => format!("{scheme} realm=\"{realm}\""),
    };
    if let Ok(value) = HeaderValue::from_str(&value) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// `POST /oauth2/token`: the JWT-bearer grant (FACTS.md §4).
/// The audience Atlassian's authorization server expects in an assertion.
const ATLASSIAN_AUDIENCE: &str = "https://oauth-2-authorization-server.services.atlassian.com";
/// The longest an assertion may still be valid when it arrives (FACTS.md §4:
/// "no later than 60 seconds in the future"), leeway added.
const MAX_ASSERTION_SECONDS: u64 = 60 + verify::LEEWAY_SECONDS;

/// Why an assertion's claims do not fit this instance and this moment; `None` when they do.
/// `origin` is the mock's own address as the client named it (its `Host`).
fn assertion_problem(claims: &serde_json::Value, origin: Option<&str>) -> Option<String> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let text = |name: &str| claims[name].as_str().map(|v| v.trim_end_matches('/'));
    if let Some(origin) = origin {
        let aud = text("aud");
        if aud != Some(origin) && aud != Some(ATLASSIAN_AUDIENCE) {
            return Some(format!(
                "aud must be the token endpoint's origin {origin}, found {}",
                aud.unwrap_or("none")
            ));
        }
        if text("tnt") != Some(origin) {
            return Some(format!(
                "tnt must be the instance's base URL {origin}, found {}",
                text("tnt").unwrap_or("none")
            ));
        }
    }
    let iat = claims["iat"].as_u64().unwrap_or(0);
    if iat > now + verify::LEEWAY_SECONDS {
        return Some("iat is in the future".into());
    }
    let exp = claims["exp"].as_u64().unwrap_or(0);
    if exp > now + MAX_ASSERTION_SECONDS {
        return Some("the assertion's lifetime may be at most 60 seconds".into());
    }
    None
}

fn token(state: &MockState, origin: Option<&str>, body: &[u8]) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body).into_owned().collect();
    if form.get("grant_type").map(String::as_str) != Some(JWT_BEARER) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only the JWT-bearer grant is served",
        );
    }
    let Some(assertion) = form.get("assertion") else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "no assertion");
    };
    let Some((header, claims)) = verify::peek(assertion) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "the assertion does not parse",
        );
    };
    if header["alg"] != "HS256" {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "the assertion must be HS256",
        );
    }
    let client_id = claims["iss"]
        .as_str()
        .and_then(|i| i.strip_prefix("urn:atlassian:connect:clientid:"));
    let def = &state.def;
    let Some(app) = def
        .apps
        .iter()
        .position(|a| a.oauth_client_id.is_some() && a.oauth_client_id.as_deref() == client_id)
    else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "unknown client");
    };
    let claims = match verify::verify_hs256(assertion, &def.apps[app].shared_secret) {
        Ok(claims) => claims,
        Err(e) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", &e.to_string()),
    };
    if let Some(problem) = assertion_problem(&claims, origin) {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", &problem);
    }
    if !def.apps[app].scopes.contains(&ConnectScope::ActAsUser) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "the app does not hold ACT_AS_USER",
        );
    }
    let account = claims["sub"]
        .as_str()
        .and_then(|s| s.strip_prefix("urn:atlassian:connect:useraccountid:"));
    let Some(user) = def
        .users
        .iter()
        .position(|u| Some(u.account_id.as_str()) == account)
    else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "sub names no known user",
        );
    };
    let granted = &def.apps[app].scopes;
    let scopes: Vec<ConnectScope> = match form.get("scope") {
        Some(asked) => asked
            .split([' ', '+'])
            .filter_map(ConnectScope::parse)
            .filter(|s| granted.contains(s))
            .collect(),
        None => granted.clone(),
    };
    if scopes.is_empty() {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "none of the requested scopes is granted to the app",
        );
    }
    let token = mint(state, app);
    let issued = Issued {
        app,
        user,
        scopes: scopes.clone(),
        expires_at: Instant::now() + def.token_lifetime,
    };
    if let Ok(mut tokens) = state.tokens.lock() {
        tokens.insert(token.clone(), issued);
    }
    let scope: Vec<String> = scopes.iter().map(ToString::to_string).collect();
    axum::Json(json!({
        "access_token": token,
        "expires_in": def.token_lifetime.as_secs(),
        "token_type": "Bearer",
        "scope": scope.join(" "),
    }))
    .into_response()
}

/// A fresh token nobody can guess without the app's secret.
fn mint(state: &MockState, app: usize) -> String {
    let n = state.next_token_number();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let seed = format!("{n}:{nanos}:{}", state.def.apps[app].shared_secret);
    format!("mock-{}", hex::encode(Sha256::digest(seed.as_bytes())))
}
