//! The parts of a validated suite: target, principals, auth specs, endpoints.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::expect::{ExpectEntry, Expectation};
pub use super::request::{Body, JsonTemplate, RequestLine};
pub use super::scope_rules::{Required, ScopeRules};
use super::template::Template;
use super::yaml::Pos;

/// `target:` — where and how requests are sent.
#[derive(Clone, Debug)]
pub struct Target {
    /// `base_url:`; empty after interpolation means "use the mock".
    pub base_url: Option<Template>,
    /// `mock:`, resolved against the suite file's folder.
    pub mock: Option<PathBuf>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Cells of this suite in flight at once.
    pub concurrency: usize,
    /// Retries on 429/503 and connect errors.
    pub retries: u32,
    /// Requests per second to this target.
    pub rate_limit: Option<f64>,
    /// Whether POST/PUT/PATCH/DELETE may be sent to a real target.
    pub allow_mutations: bool,
    /// `tls:`, how the target's certificate is checked and which one the client shows.
    pub tls: TlsOptions,
    /// `decide:`, the rules every endpoint's responses are read by (after its own).
    pub decide: Vec<super::decide::Rule>,
    /// `graphql.codes`: GraphQL error codes read before the built-in ones, normalised.
    pub graphql_codes: Vec<(String, super::decide::Then)>,
    /// Where `target:` is, for errors about it.
    pub pos: Pos,
}

/// `tls:` of a target.
#[derive(Clone, Debug, Default)]
pub struct TlsOptions {
    /// `ca_file`: PEM certificates trusted besides the system's.
    pub ca: Option<Vec<u8>>,
    /// Where `ca_file` is, as `explain` names it.
    pub ca_file: Option<std::path::PathBuf>,
    /// `insecure: true`: accept any certificate (a test instance's self-signed one).
    pub insecure: bool,
    /// `client_cert` and `client_key`: PEM certificate and key for mutual TLS.
    pub client_identity: Option<Vec<u8>>,
}

/// Defaults for `target:` fields left out.
pub mod target_defaults {
    use std::time::Duration;
    /// Per-request timeout.
    pub const TIMEOUT: Duration = Duration::from_secs(10);
    /// Cells in flight at once.
    pub const CONCURRENCY: usize = 8;
    /// Retries on 429/503 and connect errors.
    pub const RETRIES: u32 = 2;
}

/// A user or app together with its auth mode.
#[derive(Clone, Debug)]
pub struct Principal {
    /// Its key under `principals:`.
    pub name: String,
    /// Where the key is.
    pub pos: Pos,
    /// `description:`.
    pub description: Option<String>,
    /// `scopes:`, the scopes it holds (`None`: it declares none, and scope
    /// findings leave it out).
    pub scopes: Option<Vec<String>>,
    /// `vars:`, which make its requests differ from other principals'.
    pub vars: BTreeMap<String, Template>,
    /// `auth:`.
    pub auth: AuthSpec,
    /// `headers:` sent with each of its requests (secret, like credentials).
    pub headers: Vec<(String, Template)>,
    /// `canary:`, an endpoint it must reach.
    pub canary: Option<String>,
    /// `probes:` of its own, overriding the suite's.
    pub probes: Option<super::probe::ProbeChoice>,
    /// `expect_probes:` of its own, overriding the suite's.
    pub expect_probes: Option<super::expect::Expectation>,
    /// The principal and probe it is derived from (`app~bad_signature`), if it is.
    pub probe: Option<super::probe::ProbeOf>,
}

impl Principal {
    /// Its scopes for reports, `(none)` when it declares it holds none; `None`
    /// when it declares nothing.
    pub fn scopes_label(&self) -> Option<String> {
        self.scopes.as_ref().map(|held| {
            if held.is_empty() {
                "(none)".to_string()
            } else {
                held.join(", ")
            }
        })
    }
}

/// How a principal authenticates, as written in the suite.
#[derive(Clone, Debug)]
pub enum AuthSpec {
    /// Sends nothing.
    None,
    /// `Authorization: Basic …`.
    Basic {
        /// User name or email.
        username: Template,
        /// Password or API token.
        password: Template,
    },
    /// `Authorization: Bearer …`.
    Bearer {
        /// The token.
        token: Template,
    },
    /// Any header, e.g. an API key.
    Header {
        /// Header name.
        name: String,
        /// Header value.
        value: Template,
    },
    /// An API key as a query parameter, appended to every request's query.
    Query {
        /// Parameter name.
        name: String,
        /// Parameter value, percent-encoded when sent.
        value: Template,
    },
    /// An API key as a cookie, added to the request's `Cookie` header.
    Cookie {
        /// Cookie name.
        name: String,
        /// Cookie value.
        value: Template,
    },
    /// Logs in once and reuses the token or session cookie.
    Login(LoginSpec),
    /// A fresh Atlassian Connect JWT with the request's qsh, per request.
    ConnectJwt(ConnectJwtSpec),
    /// The OAuth 2.0 JWT-bearer grant (Atlassian user impersonation).
    JwtBearerGrant(GrantSpec),
    /// The OAuth 2.0 client-credentials grant.
    ClientCredentials(ClientCredentialsSpec),
    /// A self-signed JWT.
    Jwt(SelfSignedJwtSpec),
}

/// `auth: { connect_jwt: … }`.
#[derive(Clone, Debug)]
pub struct ConnectJwtSpec {
    /// `iss`: the app key.
    pub issuer: Template,
    /// The shared secret (HS256 key).
    pub secret: Template,
    /// `sub`, optional.
    pub subject: Option<Template>,
    /// `aud`, optional.
    pub audience: Option<Template>,
    /// Lifetime of each token (default 3m).
    pub ttl: Duration,
    /// Where the token goes.
    pub placement: JwtPlacement,
}

/// Where a Connect JWT is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JwtPlacement {
    /// `Authorization: JWT <token>`.
    Header,
    /// `?jwt=<token>`.
    Query,
}

/// `auth: { jwt_bearer_grant: … }`.
#[derive(Clone, Debug)]
pub struct GrantSpec {
    /// The token endpoint; relative to the target when it starts with `/`.
    pub token_url: Template,
    /// The app's OAuth client id (`iss` is `urn:atlassian:connect:clientid:<id>`).
    pub client_id: Template,
    /// The shared secret (HS256 key of the assertion).
    pub secret: Template,
    /// `sub`: the user to act as.
    pub subject: Template,
    /// `tnt`: the instance's base URL.
    pub tenant: Template,
    /// `scope` form field, optional.
    pub scope: Option<Template>,
    /// `aud` (default: the token endpoint's origin).
    pub audience: Option<Template>,
}

/// `auth: { client_credentials: … }`.
#[derive(Clone, Debug)]
pub struct ClientCredentialsSpec {
    /// The token endpoint; relative to the target when it starts with `/`.
    pub token_url: Template,
    /// The client id.
    pub client_id: Template,
    /// The client secret.
    pub client_secret: Template,
    /// `scope`, optional.
    pub scope: Option<Template>,
    /// `audience`, optional (Auth0 and others).
    pub audience: Option<Template>,
    /// How the client authenticates to the token endpoint.
    pub client_auth: ClientAuth,
}

/// How a client authenticates to a token endpoint (RFC 6749 §2.3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// HTTP Basic with client id and secret (the default).
    Basic,
    /// `client_id` and `client_secret` form fields.
    Form,
}

/// `auth: { jwt: … }`.
#[derive(Clone, Debug)]
pub struct SelfSignedJwtSpec {
    /// The signing algorithm.
    pub algorithm: jsonwebtoken::Algorithm,
    /// The key.
    pub key: JwtKey,
    /// Claims besides `iat` and `exp`.
    pub claims: Vec<(String, JsonTemplate)>,
    /// Lifetime of each token (default 5m); re-signed before it runs out.
    pub ttl: Duration,
    /// `kid` header, optional.
    pub kid: Option<String>,
    /// Header the token goes in (default Authorization).
    pub header: String,
    /// Scheme before the token (default Bearer; empty for none).
    pub scheme: String,
}

/// The key a self-signed JWT is signed with.
#[derive(Clone, Debug)]
pub enum JwtKey {
    /// An HMAC secret (HS256/384/512).
    Secret(Template),
    /// A PEM private key file (RS256, ES256, EdDSA), resolved against the suite's folder.
    PrivateKeyFile(PathBuf),
}

/// `auth: { login: … }`.
#[derive(Clone, Debug)]
pub struct LoginSpec {
    /// The login request line, relative to the target when it starts with `/`.
    pub request: RequestLine,
    /// The credentials sent.
    pub body: Option<Body>,
    /// Where the credential comes from in the response.
    pub extract: LoginExtract,
    /// Header the credential is sent in (default: Authorization for a token, Cookie for a cookie).
    pub header: Option<String>,
    /// Scheme before a token (default Bearer; empty for none).
    pub scheme: Option<String>,
}

/// Which part of a login response is the credential.
#[derive(Clone, Debug)]
pub enum LoginExtract {
    /// A JSON pointer into the response body.
    Token(String),
    /// A cookie set by the response.
    Cookie(String),
}

/// A named group of principals.
#[derive(Clone, Debug)]
pub struct Group {
    /// Its key under `groups:`.
    pub name: String,
    /// Member principals' names.
    pub members: Vec<String>,
}

/// One endpoint of a suite.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// `name:`, or the request line as written.
    pub name: String,
    /// Where the endpoint's entry starts.
    pub pos: Pos,
    /// `request:`.
    pub request: RequestLine,
    /// `headers:`.
    pub headers: Vec<(String, Template)>,
    /// `query:`, appended to the query string.
    pub query: Vec<(String, Template)>,
    /// `json:`, `form:` or `body:`.
    pub body: Option<Body>,
    /// The endpoint's own `expect:` entries (defaults are merged at resolution).
    pub expect: Vec<ExpectEntry>,
    /// The expectation each principal resolved to, in principal order.
    pub resolved: Vec<Expectation>,
    /// Where each of those comes from, in principal order.
    pub resolved_from: Vec<super::expect::ExpectSource>,
    /// `snapshot:` extra facts.
    pub snapshot: SnapshotExtras,
    /// `scopes:` (or `defaults.scopes`), the scopes the API documents as required.
    pub scopes: Option<Required>,
    /// `compare:`, the reference principal each cell's body is compared with.
    pub compare: Option<super::compare::Compare>,
    /// `expect_body:` entries as written.
    pub expect_body: Vec<super::compare::BodyEntry>,
    /// The body fact each principal must get, in principal order (`None`: not judged).
    pub resolved_body: Vec<Option<super::compare::BodyFact>>,
    /// `decide:`, read before the target's rules.
    pub decide: Vec<super::decide::Rule>,
    /// `graphql:`, the operation it sends.
    pub graphql: Option<super::graphql::Operation>,
    /// `items:`, where its answer lists objects.
    pub items: Option<super::items::Items>,
    /// `expect_items:` entries as written.
    pub expect_items: Vec<super::items::ItemsEntry>,
    /// Each principal's items rule (an index into `expect_items`), in principal order.
    pub resolved_items: Vec<Option<usize>>,
    /// `verify:`, `restore:` and `expect_trace:`: how its writes are checked.
    pub writes: Option<Box<Writes>>,
    /// `allow_lints:`, the lints whose findings it accepts, with why.
    pub allow_lints: Vec<(super::lints::LintId, String)>,
}

/// What an endpoint's `snapshot:` asks to record besides the status.
#[derive(Clone, Debug, Default)]
pub struct SnapshotExtras {
    /// Response header names to record.
    pub headers: Vec<String>,
    /// A JSON pointer into the response body to record.
    pub body: Option<String>,
}

impl Endpoint {
    /// A request with nothing to judge: a step's, or a verify request.
    pub fn plain(
        name: String,
        pos: super::yaml::Pos,
        request: RequestLine,
        headers: Vec<(String, Template)>,
        query: Vec<(String, Template)>,
        body: Option<Body>,
    ) -> Endpoint {
        Endpoint {
            name,
            pos,
            request,
            headers,
            query,
            body,
            expect: Vec::new(),
            resolved: Vec::new(),
            resolved_from: Vec::new(),
            snapshot: SnapshotExtras::default(),
            scopes: None,
            compare: None,
            expect_body: Vec::new(),
            resolved_body: Vec::new(),
            decide: Vec::new(),
            graphql: None,
            items: None,
            expect_items: Vec::new(),
            resolved_items: Vec::new(),
            writes: None,
            allow_lints: Vec::new(),
        }
    }

    /// Whether its cells run one at a time after the others, each checked by
    /// `verify:` and followed by `restore:`.
    pub fn checks_writes(&self) -> bool {
        self.writes.is_some()
    }

    /// Whether the request may change state (refused against a real target by
    /// default): every method but the safe ones of RFC 9110 §9.2.1.
    pub fn is_mutation(&self) -> bool {
        // A GraphQL operation says what it does, whatever the method.
        if let Some(operation) = &self.graphql {
            return operation.kind == super::graphql::OperationKind::Mutation;
        }
        !matches!(
            self.request.method.as_str(),
            "GET" | "HEAD" | "OPTIONS" | "TRACE"
        )
    }
}

/// When a step runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Before the matrix.
    Setup,
    /// After it, whatever happened.
    Teardown,
    /// After a cell whose write the endpoint's `verify:` saw (`restore:`).
    Restore,
}

/// Whom a step runs as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// `as: alice`: once; its captures are `${name}`.
    As(String),
    /// `for_each: [alice, bob]`: once per principal; its captures are `${alice.name}`.
    ForEach(Vec<String>),
}

/// One request of `setup:` or `teardown:`.
#[derive(Clone, Debug)]
pub struct Step {
    /// Setup or teardown.
    pub phase: Phase,
    /// Its place in its list, from 1.
    pub number: usize,
    /// `name:`, or the request line as written.
    pub label: String,
    /// Where the step starts.
    pub pos: Pos,
    /// Whom it runs as.
    pub actor: Actor,
    /// Where `as:` or `for_each:` is written.
    pub actor_pos: Pos,
    /// The request, in the shape of an endpoint's (its `name` is the label).
    pub request: Endpoint,
    /// The statuses that let the run go on (default 2xx).
    pub expect: Expectation,
    /// What it captures from the answer.
    pub captures: Vec<Capture>,
}

/// One `capture:` entry.
#[derive(Clone, Debug)]
pub struct Capture {
    /// The variable it sets.
    pub name: String,
    /// Where it is written.
    pub pos: Pos,
    /// Where the value is read.
    pub source: CaptureSource,
    /// `secret: true`: masked like a credential.
    pub secret: bool,
}

/// Where a captured value comes from in a response.
#[derive(Clone, Debug)]
pub enum CaptureSource {
    /// A JSON pointer into the body (a string as is, anything else as JSON text).
    Pointer(String),
    /// A response header's value.
    Header(String),
    /// The first group of a regex over the body, or over a header's values.
    Regex {
        /// The expression.
        regex: regex::Regex,
        /// The header searched instead of the body.
        header: Option<String>,
    },
}

/// What an endpoint's writes are checked with: `verify:`, `restore:`, `expect_trace:`.
#[derive(Clone, Debug)]
pub struct Writes {
    /// `verify:`, the request that reads the written state (absent: no trace is read).
    pub verify: Option<Verify>,
    /// `restore:`, steps run after each cell whose trace is not `none`.
    pub restore: Vec<Step>,
    /// `expect_trace:` entries as written.
    pub expect_trace: Vec<TraceEntry>,
    /// The trace each principal's cell must leave, in principal order (`None`: not judged).
    pub resolved_trace: Vec<Option<super::trace::ExpectTrace>>,
    /// Where the first of the three keys is written.
    pub pos: Pos,
}

/// `verify: { as, request, ignore }`: the request sent before and after each cell.
#[derive(Clone, Debug)]
pub struct Verify {
    /// `as`: the principal that sends it.
    pub principal: String,
    /// Where `as:` is written.
    pub principal_pos: Pos,
    /// The request, in the shape of an endpoint's.
    pub request: Endpoint,
    /// `ignore`: JSON pointers dropped before the two answers are compared
    /// (a `*` segment stands for every member).
    pub ignore: Vec<String>,
}

/// One `expect_trace:` entry.
#[derive(Clone, Debug)]
pub struct TraceEntry {
    /// A principal, a group, or `*`.
    pub key: String,
    /// Where the key is written.
    pub pos: Pos,
    /// What it asks.
    pub value: super::trace::ExpectTrace,
}
