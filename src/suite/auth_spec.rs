//! Reading a principal's `auth:` into an [`AuthSpec`], one mode per function.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::diag::nearest;
use super::model::*;
use super::read::{Fields, Reader};
use super::template::{Scope, Template};
use super::yaml::Node;

/// An auth mode, as written under a principal's `auth:`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMode {
    /// `none`: nothing is sent.
    None,
    /// `basic`.
    Basic,
    /// `bearer`.
    Bearer,
    /// `header`: any header, e.g. an API key.
    Header,
    /// `query`: an API key as a query parameter.
    Query,
    /// `cookie`: an API key as a cookie.
    Cookie,
    /// `login`: logs in once.
    Login,
    /// `connect_jwt`: a Connect JWT per request.
    ConnectJwt,
    /// `jwt_bearer_grant`: the OAuth 2.0 JWT-bearer grant.
    JwtBearerGrant,
    /// `client_credentials`: the OAuth 2.0 client-credentials grant.
    ClientCredentials,
    /// `jwt`: a self-signed JWT.
    Jwt,
}

impl AuthMode {
    /// Every mode, in the order the README lists them.
    pub const ALL: [AuthMode; 11] = [
        AuthMode::None,
        AuthMode::Basic,
        AuthMode::Bearer,
        AuthMode::Header,
        AuthMode::Query,
        AuthMode::Cookie,
        AuthMode::Login,
        AuthMode::ConnectJwt,
        AuthMode::JwtBearerGrant,
        AuthMode::ClientCredentials,
        AuthMode::Jwt,
    ];

    /// The mode's key in a suite.
    pub fn name(self) -> &'static str {
        match self {
            AuthMode::None => "none",
            AuthMode::Basic => "basic",
            AuthMode::Bearer => "bearer",
            AuthMode::Header => "header",
            AuthMode::Query => "query",
            AuthMode::Cookie => "cookie",
            AuthMode::Login => "login",
            AuthMode::ConnectJwt => "connect_jwt",
            AuthMode::JwtBearerGrant => "jwt_bearer_grant",
            AuthMode::ClientCredentials => "client_credentials",
            AuthMode::Jwt => "jwt",
        }
    }

    /// The mode's fields. Every one of them takes `${…}`: the tests walk this table.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            AuthMode::None => &[],
            AuthMode::Basic => &["username", "password"],
            AuthMode::Bearer => &["token"],
            AuthMode::Header | AuthMode::Query | AuthMode::Cookie => &["name", "value"],
            AuthMode::Login => &[
                "request", "json", "form", "body", "token", "cookie", "header", "scheme",
            ],
            AuthMode::ConnectJwt => &["issuer", "secret", "subject", "audience", "ttl", "in"],
            AuthMode::JwtBearerGrant => &[
                "token_url",
                "client_id",
                "secret",
                "subject",
                "tenant",
                "scope",
                "audience",
            ],
            AuthMode::ClientCredentials => &[
                "token_url",
                "client_id",
                "client_secret",
                "scope",
                "audience",
                "client_auth",
            ],
            AuthMode::Jwt => &[
                "algorithm",
                "secret",
                "private_key_file",
                "claims",
                "ttl",
                "kid",
                "header",
                "scheme",
            ],
        }
    }

    /// The mode with this key.
    pub fn named(name: &str) -> Option<AuthMode> {
        AuthMode::ALL.into_iter().find(|mode| mode.name() == name)
    }
}

/// Default lifetime of a Connect JWT.
pub const CONNECT_JWT_TTL: Duration = Duration::from_secs(180);
/// Default lifetime of a self-signed JWT.
pub const SELF_SIGNED_TTL: Duration = Duration::from_secs(300);

/// The names of the auth modes.
fn mode_names() -> impl Iterator<Item = &'static str> {
    AuthMode::ALL.into_iter().map(AuthMode::name)
}

/// Reads `auth:`; `file` anchors `private_key_file`, and `scope` (the
/// principal's) interpolates the fields used while loading.
pub(super) fn read_auth(
    r: &mut Reader<'_>,
    node: &Node,
    principal: &str,
    file: &Path,
    scope: &Scope<'_>,
) -> Option<AuthSpec> {
    if node.as_str() == Some("none") {
        return Some(AuthSpec::None);
    }
    let fields = r.map(node, "auth", None)?;
    let [(mode, key, body)] = fields.entries.as_slice() else {
        r.diags.error_with_help(
            node.pos,
            format!(
                "principal `{principal}` needs exactly one auth mode, found {}",
                fields.entries.len()
            ),
            format!("modes: {}", mode_names().collect::<Vec<_>>().join(", ")),
        );
        return None;
    };
    let Some(kind) = AuthMode::named(mode) else {
        let help = match nearest(mode, mode_names()) {
            Some(near) => format!("did you mean `{near}`?"),
            None => format!("modes: {}", mode_names().collect::<Vec<_>>().join(", ")),
        };
        r.diags
            .error_with_help(key.pos, format!("unknown auth mode `{mode}`"), help);
        return None;
    };
    if kind == AuthMode::None {
        if !matches!(&body.value, super::yaml::Value::Null)
            && !matches!(&body.value, super::yaml::Value::Map(m) if m.is_empty())
        {
            r.diags.error(body.pos, "auth `none` takes no fields");
            return None;
        }
        return Some(AuthSpec::None);
    }
    let f = r.map(body, &format!("auth `{mode}`"), Some(kind.fields()))?;
    let mut m = Mode {
        r,
        f: &f,
        mode,
        scope,
    };
    match kind {
        AuthMode::None => Some(AuthSpec::None),
        AuthMode::Basic => Some(AuthSpec::Basic {
            username: m.template("username")?,
            password: m.template("password")?,
        }),
        AuthMode::Bearer => Some(AuthSpec::Bearer {
            token: m.template("token")?,
        }),
        AuthMode::Header => read_header(&mut m),
        AuthMode::Query => read_query(&mut m),
        AuthMode::Cookie => read_cookie(&mut m),
        AuthMode::Login => read_login(&mut m).map(AuthSpec::Login),
        AuthMode::ConnectJwt => read_connect_jwt(&mut m).map(AuthSpec::ConnectJwt),
        AuthMode::JwtBearerGrant => read_grant(&mut m).map(AuthSpec::JwtBearerGrant),
        AuthMode::ClientCredentials => {
            read_client_credentials(&mut m).map(AuthSpec::ClientCredentials)
        }
        AuthMode::Jwt => read_self_signed(&mut m, file).map(AuthSpec::Jwt),
    }
}

/// One mode's fields being read.
struct Mode<'r, 'a, 'n> {
    r: &'r mut Reader<'a>,
    f: &'r Fields<'n>,
    mode: &'r str,
    /// The principal's scope, for fields interpolated while loading.
    scope: &'r Scope<'r>,
}

impl<'n> Mode<'_, '_, 'n> {
    /// A required field's node.
    fn required(&mut self, key: &str) -> Option<&'n Node> {
        let node = self.f.get(key);
        if node.is_none() {
            self.r
                .diags
                .error(self.f.pos, format!("auth `{}` needs `{key}:`", self.mode));
        }
        node
    }

    /// A required field, interpolated.
    fn template(&mut self, key: &str) -> Option<Template> {
        let node = self.required(key)?;
        self.r.template(node, key)
    }

    /// An optional field, interpolated.
    fn optional_template(&mut self, key: &str) -> Option<Template> {
        let node = self.f.get(key)?;
        self.r.template(node, key)
    }

    /// A field's text, interpolated now (it is used while loading).
    fn resolved(&mut self, node: &Node, key: &str) -> Option<String> {
        self.r.resolved(node, key, self.scope)
    }

    /// An optional string, interpolated now.
    fn optional_resolved(&mut self, key: &str) -> Option<String> {
        let node = self.f.get(key)?;
        self.resolved(node, key)
    }

    /// An optional header name, interpolated now and checked.
    fn header_name(&mut self, key: &str) -> Option<String> {
        self.checked_name(key, "header", |name| {
            reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_ok()
        })
    }

    /// An optional name of a `what` (a header, a cookie…), interpolated now
    /// and accepted only when `valid`.
    fn checked_name(
        &mut self,
        key: &str,
        what: &str,
        valid: impl Fn(&str) -> bool,
    ) -> Option<String> {
        let node = self.f.get(key)?;
        let name = self.resolved(node, key)?;
        if !valid(&name) {
            self.r
                .diags
                .error(node.pos, format!("`{name}` is not a valid {what} name"));
            return None;
        }
        Some(name)
    }

    /// An optional duration, interpolated now, or `default`.
    fn duration(&mut self, key: &str, default: Duration) -> Duration {
        let Some(node) = self.f.get(key) else {
            return default;
        };
        let Some(text) = self.resolved(node, key) else {
            return default;
        };
        match super::read::parse_duration(&text) {
            Ok(d) => d,
            Err(e) => {
                self.r.diags.error(node.pos, format!("{key}: {e}"));
                default
            }
        }
    }

    /// An optional choice among `options`, interpolated now, or the first.
    fn choice(&mut self, key: &str, options: &[&str]) -> Option<usize> {
        let Some(node) = self.f.get(key) else {
            return Some(0);
        };
        let value = self.resolved(node, key)?;
        let found = options.iter().position(|o| o.eq_ignore_ascii_case(&value));
        if found.is_none() {
            self.r.diags.error(
                node.pos,
                format!(
                    "`{key}` must be one of {}, found `{value}`",
                    options.join(", ")
                ),
            );
        }
        found
    }
}

fn read_header(m: &mut Mode<'_, '_, '_>) -> Option<AuthSpec> {
    m.required("name")?;
    let name = m.header_name("name");
    let value = m.template("value");
    Some(AuthSpec::Header {
        name: name?,
        value: value?,
    })
}

fn read_query(m: &mut Mode<'_, '_, '_>) -> Option<AuthSpec> {
    m.required("name")?;
    let name = m.checked_name("name", "query parameter", |name| !name.is_empty());
    let value = m.template("value");
    Some(AuthSpec::Query {
        name: name?,
        value: value?,
    })
}

fn read_cookie(m: &mut Mode<'_, '_, '_>) -> Option<AuthSpec> {
    m.required("name")?;
    let name = m.checked_name("name", "cookie", is_cookie_name);
    let value = m.template("value");
    Some(AuthSpec::Cookie {
        name: name?,
        value: value?,
    })
}

/// Whether `name` is a cookie name: an RFC 9110 token (RFC 6265 §4.1.1).
fn is_cookie_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn read_login(m: &mut Mode<'_, '_, '_>) -> Option<LoginSpec> {
    let request_node = m.required("request")?;
    let request = m.r.request_line(request_node, true);
    let body = m.r.body(m.f);
    let extract = match (m.f.get("token"), m.f.get("cookie")) {
        (Some(t), None) => m.resolved(t, "token").and_then(|pointer| {
            let ok = pointer.is_empty() || pointer.starts_with('/');
            if !ok {
                m.r.diags.error(
                    t.pos,
                    format!("token `{pointer}` must be a JSON pointer such as /access_token"),
                );
            }
            ok.then_some(LoginExtract::Token(pointer))
        }),
        (None, Some(c)) => m.resolved(c, "cookie").map(LoginExtract::Cookie),
        _ => {
            m.r.diags.error(
                m.f.pos,
                "login needs exactly one of `token:` (a JSON pointer) or `cookie:` (a cookie name)",
            );
            None
        }
    };
    let header = m.header_name("header");
    let scheme = m.optional_resolved("scheme");
    Some(LoginSpec {
        request: request?,
        body,
        extract: extract?,
        header,
        scheme,
    })
}

fn read_connect_jwt(m: &mut Mode<'_, '_, '_>) -> Option<ConnectJwtSpec> {
    let issuer = m.template("issuer");
    let secret = m.template("secret");
    let subject = m.optional_template("subject");
    let audience = m.optional_template("audience");
    let ttl = m.duration("ttl", CONNECT_JWT_TTL);
    let placement = match m.choice("in", &["header", "query"])? {
        0 => JwtPlacement::Header,
        _ => JwtPlacement::Query,
    };
    Some(ConnectJwtSpec {
        issuer: issuer?,
        secret: secret?,
        subject,
        audience,
        ttl,
        placement,
    })
}

fn read_grant(m: &mut Mode<'_, '_, '_>) -> Option<GrantSpec> {
    let token_url = m.template("token_url");
    let client_id = m.template("client_id");
    let secret = m.template("secret");
    let subject = m.template("subject");
    let tenant = m.template("tenant");
    let scope = m.optional_template("scope");
    let audience = m.optional_template("audience");
    Some(GrantSpec {
        token_url: token_url?,
        client_id: client_id?,
        secret: secret?,
        subject: subject?,
        tenant: tenant?,
        scope,
        audience,
    })
}

fn read_client_credentials(m: &mut Mode<'_, '_, '_>) -> Option<ClientCredentialsSpec> {
    let token_url = m.template("token_url");
    let client_id = m.template("client_id");
    let client_secret = m.template("client_secret");
    let scope = m.optional_template("scope");
    let audience = m.optional_template("audience");
    let client_auth = match m.choice("client_auth", &["basic", "form"])? {
        0 => ClientAuth::Basic,
        _ => ClientAuth::Form,
    };
    Some(ClientCredentialsSpec {
        token_url: token_url?,
        client_id: client_id?,
        client_secret: client_secret?,
        scope,
        audience,
        client_auth,
    })
}

fn read_self_signed(m: &mut Mode<'_, '_, '_>, file: &Path) -> Option<SelfSignedJwtSpec> {
    use jsonwebtoken::Algorithm::*;
    let names = ["HS256", "HS384", "HS512", "RS256", "ES256", "EdDSA"];
    let algorithm = match m.choice("algorithm", &names)? {
        0 => HS256,
        1 => HS384,
        2 => HS512,
        3 => RS256,
        4 => ES256,
        _ => EdDSA,
    };
    if m.f.get("algorithm").is_none() {
        m.r.diags.error(
            m.f.pos,
            format!("auth `jwt` needs `algorithm:` ({})", names.join(", ")),
        );
        return None;
    }
    let hmac = matches!(algorithm, HS256 | HS384 | HS512);
    // Every field is read even when one has a problem, so all of them are reported.
    let key = match (m.f.get("secret"), m.f.get("private_key_file"), hmac) {
        (Some(node), None, true) => m.r.template(node, "secret").map(JwtKey::Secret),
        (None, Some(node), false) => m.resolved(node, "private_key_file").and_then(|name| {
            let path = file.parent().unwrap_or(Path::new(".")).join(name);
            match check_private_key(&path, algorithm) {
                Ok(()) => Some(JwtKey::PrivateKeyFile(path)),
                Err(problem) => {
                    m.r.diags.error(node.pos, problem.to_string());
                    None
                }
            }
        }),
        _ => {
            let wanted = if hmac {
                "`secret:`"
            } else {
                "`private_key_file:` (PEM)"
            };
            m.r.diags.error(
                m.f.pos,
                format!("auth `jwt` with {algorithm:?} needs {wanted}, and only that key"),
            );
            None
        }
    };
    let claims = match m.f.get("claims") {
        Some(node) => match m.r.json(node) {
            Some(JsonTemplate::Object(entries)) => Some(entries),
            Some(_) => {
                m.r.diags.error(node.pos, "claims must be a map");
                None
            }
            None => None,
        },
        None => Some(Vec::new()),
    };
    let ttl = m.duration("ttl", SELF_SIGNED_TTL);
    let kid = m.optional_resolved("kid");
    let header = m
        .header_name("header")
        .unwrap_or_else(|| "Authorization".into());
    let scheme = m
        .optional_resolved("scheme")
        .unwrap_or_else(|| "Bearer".into());
    Some(SelfSignedJwtSpec {
        algorithm,
        key: key?,
        claims: claims?,
        ttl,
        kid,
        header,
        scheme,
    })
}

/// Why a `private_key_file` cannot sign.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// The file could not be read.
    #[error("cannot read private_key_file {}: {}", path.display(), source.reason())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        source: super::source::SourceError,
    },
    /// The file holds no key for the algorithm.
    #[error("private_key_file {} is not a {algorithm:?} PEM private key: {source}", path.display())]
    NotAKey {
        /// The file.
        path: PathBuf,
        /// The algorithm the key was read for.
        algorithm: jsonwebtoken::Algorithm,
        /// Why.
        source: KeyError,
    },
}

/// Why PEM bytes are no signing key for an algorithm.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// HMAC algorithms sign with a secret.
    #[error("an HMAC algorithm takes a secret, not a key file")]
    Hmac,
    /// The PEM did not parse as such a key.
    #[error(transparent)]
    Pem(#[from] jsonwebtoken::errors::Error),
}

/// Reads and parses a PEM private key for `algorithm`, so a bad key is a load error.
fn check_private_key(path: &Path, algorithm: jsonwebtoken::Algorithm) -> Result<(), KeyFileError> {
    let pem = super::source::read_bytes(path, super::source::MAX_PEM_BYTES).map_err(|source| {
        KeyFileError::Unreadable {
            path: path.to_path_buf(),
            source,
        }
    })?;
    encoding_key(&pem, algorithm)
        .map(|_| ())
        .map_err(|source| KeyFileError::NotAKey {
            path: path.to_path_buf(),
            algorithm,
            source,
        })
}

/// The signing key for a PEM private key.
pub fn encoding_key(
    pem: &[u8],
    algorithm: jsonwebtoken::Algorithm,
) -> Result<jsonwebtoken::EncodingKey, KeyError> {
    use jsonwebtoken::{Algorithm::*, EncodingKey};
    let key = match algorithm {
        RS256 | RS384 | RS512 | PS256 | PS384 | PS512 => EncodingKey::from_rsa_pem(pem),
        ES256 | ES384 => EncodingKey::from_ec_pem(pem),
        EdDSA => EncodingKey::from_ed_pem(pem),
        _ => return Err(KeyError::Hmac),
    };
    Ok(key?)
}

/// Every template in an auth spec, for variable checks.
pub fn auth_templates(auth: &AuthSpec) -> Vec<&Template> {
    match auth {
        AuthSpec::None => Vec::new(),
        AuthSpec::Basic { username, password } => vec![username, password],
        AuthSpec::Bearer { token } => vec![token],
        AuthSpec::Header { value, .. }
        | AuthSpec::Query { value, .. }
        | AuthSpec::Cookie { value, .. } => vec![value],
        AuthSpec::Login(login) => {
            let mut all = vec![&login.request.target];
            all.extend(login.body.iter().flat_map(Body::templates));
            all
        }
        AuthSpec::ConnectJwt(c) => {
            let mut all = vec![&c.issuer, &c.secret];
            all.extend(c.subject.iter().chain(&c.audience));
            all
        }
        AuthSpec::JwtBearerGrant(g) => {
            let mut all = vec![&g.token_url, &g.client_id, &g.secret, &g.subject, &g.tenant];
            all.extend(g.scope.iter().chain(&g.audience));
            all
        }
        AuthSpec::ClientCredentials(c) => {
            let mut all = vec![&c.token_url, &c.client_id, &c.client_secret];
            all.extend(c.scope.iter().chain(&c.audience));
            all
        }
        AuthSpec::Jwt(j) => {
            let mut all: Vec<&Template> =
                j.claims.iter().flat_map(|(_, v)| v.templates()).collect();
            if let JwtKey::Secret(secret) = &j.key {
                all.push(secret);
            }
            all
        }
    }
}
