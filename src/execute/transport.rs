//! How a cell's request reaches its target: each principal's own
//! connections, or its reqwest client where an HTTP(S)_PROXY applies.
//!
//! Cells go over hyper's HTTP/1.1 connections, kept by each principal in a
//! stack of idle ones, rather than through reqwest or hyper-util's pooled
//! client. reqwest's per-request layers (redirect policy, proxy matching,
//! the URL parsed twice more) cost ~28 k instructions a cell; hyper-util's
//! pool hashes its key twice and spawns a task per request to take the
//! connection back, another ~7 k (bench/README.md). A principal's cells all
//! go to one origin, one request per connection at a time, so a stack is
//! all the pool they need. reqwest still does what it is needed for: auth
//! setup requests, and cells sent through a proxy, which it configures from
//! the environment.

use std::error::Error as StdError;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use ::http::{Request, Uri};
use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http1::{self as conn, SendRequest};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::{GaiResolver, Name};
use hyper_util::client::proxy::matcher::Matcher;
use reqwest::header::{ACCEPT, HOST, HeaderValue, USER_AGENT};
use tower_service::Service;
use url::Url;

use super::Resolver;
use crate::http::{self, CellRequest, ReadResponse};
use crate::outcome::ErrorKind;

/// The `User-Agent` of every request that does not set its own.
pub(super) const USER_AGENT_VALUE: &str = concat!("permatrix/", env!("CARGO_PKG_VERSION"));

type Connector = hyper_rustls::HttpsConnector<HttpConnector<Dns>>;

/// One principal's way of sending cells; its connections are its own.
pub(super) enum Transport {
    /// The principal's own HTTP/1.1 connections (plain or TLS) straight to the target.
    Direct(Box<Direct>),
    /// The principal's reqwest client, for a target reached through a proxy
    /// (or a base URL hyper cannot take).
    Proxied(reqwest::Client),
}

/// A principal's connections and what every request to its target shares.
pub(super) struct Direct {
    connector: Connector,
    /// The target's `scheme://host:port`, as the connector takes it.
    origin_uri: Uri,
    /// The same, as text: a cell's URL starts with it when it goes to the target.
    origin: String,
    /// The `Host` header for the target.
    host: Option<HeaderValue>,
    /// Open connections to the target with no request on them, each with
    /// when it was given back; the last used on top.
    idle: Mutex<Vec<(Instant, Connection)>>,
    /// [`IDLE_TIMEOUT`], or a shorter one in tests.
    idle_timeout: Duration,
    /// The certificate the target showed on the last TLS connection (DER), for `explain`.
    peer_certificate: Mutex<Option<Vec<u8>>>,
}

/// How long a connection may sit idle and still be used, as hyper-util's
/// pool has it: one a middlebox dropped without a word would otherwise cost
/// a cell a timeout.
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// One HTTP/1.1 connection's sending side; its I/O runs in a task of its own.
type Connection = SendRequest<Full<Bytes>>;

/// Why a request got no response; `message` is not masked yet.
#[derive(Debug)]
pub(super) struct SendError {
    /// Timeout, connection or request failure.
    pub kind: ErrorKind,
    /// What went wrong, with every cause in the chain.
    pub message: String,
    /// Whether trying again could help: a refused connection may, a TLS
    /// failure (an unknown issuer, a name mismatch) never does.
    pub retryable: bool,
    /// A timeout that struck before a connection was made: the target's
    /// backlog was full (more cells in flight than it accepts).
    pub while_connecting: bool,
}

/// Whether `url` names this machine (127.0.0.0/8, ::1, `localhost`): its
/// requests bypass the environment's proxies unless the user asks otherwise,
/// since a proxy is no way to reach one's own loopback, and the embedded
/// mock's credentials must not travel to one.
pub(super) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        None => false,
    }
}

/// Whether a TLS handshake failure is among `error`'s causes.
fn is_tls_failure(error: &(dyn StdError + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(e) = source {
        if e.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        // rustls' errors reach hyper wrapped in io::Errors (twice, by
        // tokio-rustls and hyper-rustls), whose source() skips what they wrap.
        source = match e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => e.source(),
        };
    }
    false
}

impl Transport {
    /// The transport for a principal of a suite whose target is `base_url`.
    pub(super) fn new(
        base_url: &Url,
        tls: &rustls::ClientConfig,
        resolver: Option<&Resolver>,
        client: &reqwest::Client,
        proxies: bool,
    ) -> Transport {
        if proxies && proxy_applies(base_url) {
            return Transport::Proxied(client.clone());
        }
        match Direct::new(base_url, tls, resolver) {
            Some(direct) => Transport::Direct(Box::new(direct)),
            // A base URL that `url` accepts but `http` does not: reqwest
            // reports on each cell why it cannot be sent.
            None => Transport::Proxied(client.clone()),
        }
    }

    /// The certificate the target showed on the last TLS connection (DER);
    /// `None` over plain HTTP or through a proxy.
    pub(super) fn peer_certificate(&self) -> Option<Vec<u8>> {
        match self {
            Transport::Direct(direct) => direct
                .peer_certificate
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
            Transport::Proxied(_) => None,
        }
    }

    /// Sends `request` and reads its response, all within `timeout`.
    pub(super) async fn send(
        &self,
        request: CellRequest,
        timeout: Duration,
        body_limit: usize,
    ) -> Result<ReadResponse, SendError> {
        match self {
            Transport::Direct(direct) => {
                let deadline = tokio::time::Instant::now() + timeout;
                tokio::time::timeout_at(
                    deadline,
                    direct.send(request, deadline, timeout, body_limit),
                )
                .await
                .unwrap_or_else(|_| Err(timed_out(timeout)))
            }
            Transport::Proxied(client) => {
                let mut request = reqwest::Request::try_from(request.map(reqwest::Body::from))
                    .map_err(|e| SendError {
                        kind: ErrorKind::Request,
                        message: http::describe_error(&e, timeout),
                        retryable: false,
                        while_connecting: false,
                    })?;
                *request.timeout_mut() = Some(timeout);
                // Boxed, for the reason the direct path boxes its connecting.
                let read = Box::pin(async {
                    match client.execute(request).await {
                        Ok(response) => http::read_response(response, body_limit).await,
                        Err(e) => Err(e),
                    }
                })
                .await;
                read.map_err(|e| SendError {
                    kind: if e.is_timeout() {
                        ErrorKind::Timeout
                    } else if e.is_connect() {
                        ErrorKind::Connect
                    } else {
                        ErrorKind::Request
                    },
                    message: http::describe_error(&e, timeout),
                    retryable: !is_tls_failure(&e),
                    while_connecting: false,
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

impl Direct {
    /// Connections to `base_url`'s origin, none open yet; `None` when
    /// hyper cannot take that origin.
    fn new(
        base_url: &Url,
        tls: &rustls::ClientConfig,
        resolver: Option<&Resolver>,
    ) -> Option<Direct> {
        let mut connector = HttpConnector::new_with_resolver(Dns(resolver.cloned()));
        connector.enforce_http(false);
        connector.set_nodelay(true);
        // As reqwest does: dead idle connections are noticed.
        connector.set_keepalive(Some(Duration::from_secs(15)));
        // The suite's TLS configuration as it is (its ALPN says `http/1.1`);
        // plain `http://` targets pass through untouched.
        let connector = Connector::from((connector, tls.clone()));
        let origin = base_url[..url::Position::BeforePath].to_string();
        Some(Direct {
            connector,
            host: host_header(base_url),
            origin_uri: origin.parse().ok()?,
            origin,
            idle: Mutex::default(),
            idle_timeout: IDLE_TIMEOUT,
            peer_certificate: Mutex::default(),
        })
    }

    /// Sends `request` on an idle connection to the target, or a new one,
    /// reads the response, and keeps the connection for the next request.
    async fn send(
        &self,
        request: CellRequest,
        deadline: tokio::time::Instant,
        timeout: Duration,
        body_limit: usize,
    ) -> Result<ReadResponse, SendError> {
        // A cell's path is joined onto the base URL, so this only guards the invariant.
        let uri = request.uri();
        if uri.scheme() != self.origin_uri.scheme()
            || uri.authority() != self.origin_uri.authority()
        {
            return Err(SendError {
                kind: ErrorKind::Request,
                message: format!("`{uri}` is not at the target {}", self.origin),
                retryable: false,
                while_connecting: false,
            });
        }
        let mut request = into_hyper(request, self.host.clone())?;
        loop {
            let (mut connection, reused) = match self.take_idle() {
                Some(connection) => (connection, true),
                // Boxed: connecting is rare, and its future would make every
                // cell's future, moved whole into the run's queue, 2.4 kB larger.
                None => {
                    let connecting = tokio::time::timeout_at(deadline, Box::pin(self.connect()));
                    let connected = connecting.await.map_err(|_| SendError {
                        while_connecting: true,
                        message: format!("{} while connecting", http::timed_out(timeout)),
                        ..timed_out(timeout)
                    })?;
                    (connected?, false)
                }
            };
            let response = match connection.try_send_request(request).await {
                Ok(response) => response,
                Err(mut error) => match error.take_message() {
                    // The connection closed before the request was written: a
                    // reused one may have been closed by the server while idle,
                    // so the request goes again, as hyper-util's pool would send it.
                    Some(unsent) if reused => {
                        request = unsent;
                        continue;
                    }
                    _ => return Err(failure(&error.into_error(), false)),
                },
            };
            let read = http::read_limited(response, body_limit)
                .await
                .map_err(|e| failure(&e, false))?;
            // The connection's own task reads past a body cut at the limit
            // (or notices a body's end) to make it ready again: one turn lets
            // it, as hyper-util's pool waits for it.
            if !connection.is_ready() && !connection.is_closed() {
                tokio::task::yield_now().await;
            }
            if connection.is_ready() {
                self.idle
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push((Instant::now(), connection));
            }
            return Ok(read);
        }
    }

    /// The most recently used idle connection still open; those the server
    /// closed, or idle too long, are dropped on the way.
    fn take_idle(&self) -> Option<Connection> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        std::iter::from_fn(|| idle.pop())
            .find(|(since, connection)| {
                since.elapsed() < self.idle_timeout && connection.is_ready()
            })
            .map(|(_, connection)| connection)
    }

    /// Opens a connection to the target and starts its I/O task.
    async fn connect(&self) -> Result<Connection, SendError> {
        let io = self
            .connector
            .clone()
            .call(self.origin_uri.clone())
            .await
            .map_err(|e| failure(&*e, true))?;
        if let hyper_rustls::MaybeHttpsStream::Https(tls) = &io
            && let Some(chain) = tls.inner().get_ref().1.peer_certificates()
            && let Some(end_entity) = chain.first()
        {
            *self
                .peer_certificate
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(end_entity.to_vec());
        }
        let (sender, connection) = conn::handshake(io).await.map_err(|e| failure(&e, true))?;
        // The task ends when the connection closes: when the server closes
        // it, or when its `SendRequest` is dropped.
        tokio::spawn(connection);
        Ok(sender)
    }
}

/// The `Host` header for `url`'s host and port.
fn host_header(url: &Url) -> Option<HeaderValue> {
    url[url::Position::BeforeHost..url::Position::AfterPort]
        .parse()
        .ok()
}

/// The request as hyper takes it on its connection: the target in origin
/// form (path and query), reqwest's default `Accept` and `User-Agent`, and
/// `host` unless the suite set its own.
fn into_hyper(
    request: CellRequest,
    host: Option<HeaderValue>,
) -> Result<Request<Full<Bytes>>, SendError> {
    let (mut parts, body) = request.into_parts();
    let mut origin_form = ::http::uri::Parts::default();
    origin_form.path_and_query = parts.uri.into_parts().path_and_query;
    let uri = Uri::from_parts(origin_form).map_err(|e| failure(&e, false))?;
    let mut headers = std::mem::take(&mut parts.headers);
    headers
        .entry(ACCEPT)
        .or_insert(HeaderValue::from_static("*/*"));
    headers
        .entry(USER_AGENT)
        .or_insert(HeaderValue::from_static(USER_AGENT_VALUE));
    if let Some(host) = host {
        headers.entry(HOST).or_insert(host);
    }
    let mut hyper_request = Request::new(Full::new(body));
    *hyper_request.method_mut() = parts.method;
    *hyper_request.uri_mut() = uri;
    *hyper_request.headers_mut() = headers;
    Ok(hyper_request)
}

fn timed_out(timeout: Duration) -> SendError {
    SendError {
        kind: ErrorKind::Timeout,
        message: http::timed_out(timeout),
        retryable: false,
        while_connecting: false,
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
        retryable: !is_tls_failure(error),
        while_connecting: false,
    }
}

/// Name resolution for the direct client: the system's, or one a caller injected.
#[derive(Clone)]
pub(super) struct Dns(Option<Resolver>);

type Addrs = Box<dyn Iterator<Item = SocketAddr> + Send>;
type DnsError = Box<dyn StdError + Send + Sync>;

impl Service<Name> for Dns {
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A server on 127.0.0.1 answering 200 over keep-alive connections; counts them.
    async fn server() -> (Url, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = Url::parse(&format!(
            "http://{}/",
            listener.local_addr().expect("address")
        ))
        .expect("url");
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&connections);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let answer = hyper::service::service_fn(|_| async {
                    Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                        Bytes::from_static(b"ok"),
                    )))
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), answer),
                );
            }
        });
        (url, connections)
    }

    /// Sends two requests one after the other with `idle_timeout`; the connections the server saw.
    async fn connections_for_two_requests(idle_timeout: Duration) -> usize {
        super::super::ensure_crypto_provider();
        let (url, connections) = server().await;
        let tls = rustls::ClientConfig::builder()
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth();
        let mut direct = Direct::new(&url, &tls, None).expect("hyper takes a loopback URL");
        direct.idle_timeout = idle_timeout;
        for _ in 0..2 {
            let request = CellRequest::new(Bytes::new());
            let (mut parts, body) = request.into_parts();
            parts.uri = url.join("/x").expect("url").as_str().parse().expect("uri");
            let response = direct
                .send(
                    CellRequest::from_parts(parts, body),
                    tokio::time::Instant::now() + Duration::from_secs(5),
                    Duration::from_secs(5),
                    http::BODY_LIMIT,
                )
                .await
                .expect("an answer");
            assert_eq!(response.status, 200);
        }
        connections.load(Ordering::SeqCst)
    }

    #[tokio::test]
    async fn an_idle_connection_is_used_again_until_it_has_idled_too_long() {
        assert_eq!(connections_for_two_requests(IDLE_TIMEOUT).await, 1);
        assert_eq!(connections_for_two_requests(Duration::ZERO).await, 2);
    }
}
