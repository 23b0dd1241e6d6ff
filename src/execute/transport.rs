//! How a cell's request reaches its target: each principal's own pooled
//! hyper client, or its reqwest client where an HTTP(S)_PROXY applies.
//!
//! Cells go through hyper-util's pooled client rather than reqwest because
//! reqwest's per-request layers (redirect policy, proxy matching, the URL
//! parsed twice more) cost ~28 k instructions a cell, a third of a cell's
//! whole cost (bench/README.md). reqwest still does what it is needed for:
//! auth setup requests, and cells sent through a proxy, which it configures
//! from the environment.

use std::error::Error as StdError;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use ::http::{Request, Uri};
use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::{GaiResolver, Name};
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use reqwest::header::{ACCEPT, HOST, HeaderValue, USER_AGENT};
use url::Url;

use super::Resolver;
use crate::http::{self, ReadResponse};
use crate::outcome::ErrorKind;

/// The `User-Agent` of every request that does not set its own.
pub const USER_AGENT_VALUE: &str = concat!("permatrix/", env!("CARGO_PKG_VERSION"));

type Connector = hyper_rustls::HttpsConnector<HttpConnector<Dns>>;

/// One principal's way of sending cells; its connections are its own.
pub(super) enum Transport {
    /// A pooled HTTP/1.1 client (plain or TLS) straight to the target.
    Direct(Box<Direct>),
    /// The principal's reqwest client, for a target reached through a proxy.
    Proxied(reqwest::Client),
}

/// A principal's pooled client and what every request to its target shares.
pub(super) struct Direct {
    client: Client<Connector, Full<Bytes>>,
    /// The target's `scheme://host:port`.
    origin: String,
    /// The `Host` header for it (hyper-util would format it anew per request).
    host: Option<HeaderValue>,
}

/// Why a request got no response; `message` is not masked yet.
#[derive(Debug)]
pub(super) struct SendError {
    /// Timeout, connection or request failure.
    pub kind: ErrorKind,
    /// What went wrong, with every cause in the chain.
    pub message: String,
}

impl Transport {
    /// The transport for a principal of a suite whose target is `base_url`.
    pub fn new(
        base_url: &Url,
        tls: &rustls::ClientConfig,
        resolver: Option<&Resolver>,
        client: &reqwest::Client,
    ) -> Transport {
        if proxy_applies(base_url) {
            return Transport::Proxied(client.clone());
        }
        let mut connector = HttpConnector::new_with_resolver(Dns(resolver.cloned()));
        connector.enforce_http(false);
        connector.set_nodelay(true);
        // As reqwest does: dead idle connections are noticed.
        connector.set_keepalive(Some(Duration::from_secs(15)));
        // The suite's TLS configuration as it is (its ALPN says `http/1.1`);
        // plain `http://` targets pass through untouched.
        let connector = Connector::from((connector, tls.clone()));
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .build(connector);
        let origin = base_url[..url::Position::BeforePath].to_string();
        let host = base_url[url::Position::BeforeHost..url::Position::AfterPort]
            .parse()
            .ok();
        Transport::Direct(Box::new(Direct {
            client,
            origin,
            host,
        }))
    }

    /// Sends `request` and reads its response, all within `timeout`.
    pub async fn send(
        &self,
        request: reqwest::Request,
        timeout: Duration,
    ) -> Result<ReadResponse, SendError> {
        match self {
            Transport::Direct(direct) => {
                let Direct {
                    client,
                    origin,
                    host,
                } = &**direct;
                let same_origin = request
                    .url()
                    .as_str()
                    .strip_prefix(origin.as_str())
                    .is_some_and(|rest| rest.starts_with('/'));
                let host = host.as_ref().filter(|_| same_origin);
                let request = into_hyper(request, host)?;
                let exchange = async {
                    let response = client
                        .request(request)
                        .await
                        .map_err(|e| failure(&e, e.is_connect()))?;
                    http::read_limited(response)
                        .await
                        .map_err(|e| failure(&e, false))
                };
                tokio::time::timeout(timeout, exchange)
                    .await
                    .unwrap_or_else(|_| Err(timed_out(timeout)))
            }
            Transport::Proxied(client) => {
                let mut request = request;
                *request.timeout_mut() = Some(timeout);
                let read = match client.execute(request).await {
                    Ok(response) => http::read_response(response).await,
                    Err(e) => Err(e),
                };
                read.map_err(|e| SendError {
                    kind: if e.is_timeout() {
                        ErrorKind::Timeout
                    } else if e.is_connect() {
                        ErrorKind::Connect
                    } else {
                        ErrorKind::Request
                    },
                    message: http::describe_error(&e, timeout),
                })
            }
        }
    }
}

/// Whether the environment's proxy settings (`HTTPS_PROXY`, `NO_PROXY`…,
/// as reqwest reads them) send requests for `base_url` through a proxy.
fn proxy_applies(base_url: &Url) -> bool {
    base_url
        .as_str()
        .parse::<Uri>()
        .is_ok_and(|uri| Matcher::from_system().intercept(&uri).is_some())
}

/// The request as hyper takes it, with reqwest's default `Accept` and
/// `User-Agent`, and `host` unless the suite set its own.
fn into_hyper(
    mut request: reqwest::Request,
    host: Option<&HeaderValue>,
) -> Result<Request<Full<Bytes>>, SendError> {
    let body = request
        .body()
        .and_then(reqwest::Body::as_bytes)
        .map(Bytes::copy_from_slice)
        .unwrap_or_default();
    let uri = request
        .url()
        .as_str()
        .parse::<Uri>()
        .map_err(|e| failure(&e, false))?;
    let mut headers = std::mem::take(request.headers_mut());
    headers
        .entry(ACCEPT)
        .or_insert(HeaderValue::from_static("*/*"));
    headers
        .entry(USER_AGENT)
        .or_insert(HeaderValue::from_static(USER_AGENT_VALUE));
    if let Some(host) = host {
        headers.entry(HOST).or_insert_with(|| host.clone());
    }
    let mut hyper_request = Request::new(Full::new(body));
    *hyper_request.method_mut() = request.method().clone();
    *hyper_request.uri_mut() = uri;
    *hyper_request.headers_mut() = headers;
    Ok(hyper_request)
}

fn timed_out(timeout: Duration) -> SendError {
    SendError {
        kind: ErrorKind::Timeout,
        message: http::timed_out(timeout),
    }
}

/// A failure explained in a line: what failed, then each distinct cause.
fn failure(error: &(dyn StdError + 'static), connect: bool) -> SendError {
    let (kind, what) = if connect {
        (ErrorKind::Connect, "connection failed")
    } else {
        (ErrorKind::Request, "request failed")
    };
    SendError {
        kind,
        message: format!("{what}: {}", http::causes(error)),
    }
}

/// Name resolution for the direct client: the system's, or one a caller injected.
#[derive(Clone)]
pub(super) struct Dns(Option<Resolver>);

type Addrs = Box<dyn Iterator<Item = SocketAddr> + Send>;
type DnsError = Box<dyn StdError + Send + Sync>;

impl tower_service::Service<Name> for Dns {
    type Response = Addrs;
    type Error = DnsError;
    type Future = Pin<Box<dyn Future<Output = Result<Addrs, DnsError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), DnsError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        match &self.0 {
            Some(Resolver(resolver)) => {
                let resolver = Arc::clone(resolver);
                Box::pin(async move {
                    let name = name.as_str().parse::<reqwest::dns::Name>()?;
                    resolver.resolve(name).await
                })
            }
            None => {
                let lookup = GaiResolver::new().call(name);
                Box::pin(async move {
                    let addrs = lookup.await?;
                    Ok(Box::new(addrs) as Addrs)
                })
            }
        }
    }
}
