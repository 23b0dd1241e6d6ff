//! Security schemes and requirements: which credentials an operation takes.

use serde_json::Value;

use super::refs::Resolver;
use super::{Location, Version};

/// One way of meeting an operation's security: every scheme named, each
/// with the scopes it must carry. An empty requirement means "no credentials".
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Requirement(pub Vec<(String, Vec<String>)>);

impl Requirement {
    /// Whether it asks for nothing (`{}`: anonymous access is one option).
    pub fn is_open(&self) -> bool {
        self.0.is_empty()
    }
}

/// A security scheme of the document.
#[derive(Clone, Debug, PartialEq)]
pub struct SecurityScheme {
    /// Its key under `securitySchemes` / `securityDefinitions`.
    pub name: String,
    /// What it is.
    pub kind: SchemeKind,
    /// OAuth 2 or OpenID Connect: its requirements name scopes.
    pub scoped: bool,
}

/// What kind of credential a scheme takes.
#[derive(Clone, Debug, PartialEq)]
pub enum SchemeKind {
    /// HTTP Basic.
    Basic,
    /// A bearer token (HTTP bearer, OpenID Connect, an OAuth 2 flow other than client credentials).
    Bearer,
    /// OAuth 2's client-credentials flow, with its token URL.
    ClientCredentials {
        /// `tokenUrl`.
        token_url: String,
    },
    /// An API key.
    ApiKey {
        /// Where it goes: header, query or cookie.
        location: Location,
        /// The header, parameter or cookie name.
        name: String,
    },
    /// 3.1 `mutualTLS`: a client certificate.
    MutualTls,
    /// Anything else (HTTP digest, unknown types), named as written.
    Other(String),
}

/// A `security` list: each entry one alternative.
pub(crate) fn requirements(list: &Value) -> Vec<Requirement> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .map(|alternative| {
            Requirement(
                alternative
                    .iter()
                    .map(|(scheme, scopes)| {
                        let scopes = scopes
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect();
                        (scheme.clone(), scopes)
                    })
                    .collect(),
            )
        })
        .collect()
}

/// The document's security schemes, in document order.
pub(crate) fn schemes(
    root: &Value,
    version: Version,
    resolver: &Resolver<'_>,
) -> Vec<SecurityScheme> {
    let table = match version {
        Version::Swagger2 => root.get("securityDefinitions"),
        _ => root.pointer("/components/securitySchemes"),
    };
    table
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(name, scheme)| {
            let scheme = resolver.resolve(scheme)?;
            let scoped = matches!(
                scheme.get("type").and_then(Value::as_str),
                Some("oauth2" | "openIdConnect")
            );
            Some(SecurityScheme {
                name: name.clone(),
                kind: kind_of(scheme),
                scoped,
            })
        })
        .collect()
}

fn kind_of(scheme: &Value) -> SchemeKind {
    let text = |key: &str| scheme.get(key).and_then(Value::as_str).unwrap_or("");
    match text("type") {
        "basic" => SchemeKind::Basic,
        "http" => match text("scheme").to_ascii_lowercase().as_str() {
            "basic" => SchemeKind::Basic,
            "bearer" => SchemeKind::Bearer,
            other => SchemeKind::Other(format!("http {other}")),
        },
        "apiKey" => {
            let name = text("name");
            // Header and cookie names are HTTP tokens; a query name only needs to be there.
            let usable = match Location::named(text("in")) {
                Some(Location::Query) => !name.is_empty(),
                Some(Location::Header | Location::Cookie) => {
                    http::HeaderName::from_bytes(name.as_bytes()).is_ok()
                }
                _ => false,
            };
            match Location::named(text("in")) {
                Some(location) if usable && location != Location::Path => SchemeKind::ApiKey {
                    location,
                    name: name.to_string(),
                },
                _ => SchemeKind::Other(format!("apiKey {name:?} in {}", text("in"))),
            }
        }
        "oauth2" => {
            // 3.x: flows.clientCredentials; 2.0: flow: application.
            let token_url = scheme
                .pointer("/flows/clientCredentials/tokenUrl")
                .and_then(Value::as_str)
                .or_else(|| (text("flow") == "application").then(|| text("tokenUrl")))
                .filter(|url| !url.is_empty());
            let only_client_credentials = scheme
                .get("flows")
                .and_then(Value::as_object)
                .is_none_or(|flows| flows.len() == 1);
            match token_url {
                Some(url) if only_client_credentials => SchemeKind::ClientCredentials {
                    token_url: url.to_string(),
                },
                _ => SchemeKind::Bearer,
            }
        }
        "openIdConnect" => SchemeKind::Bearer,
        "mutualTLS" => SchemeKind::MutualTls,
        other => SchemeKind::Other(other.to_string()),
    }
}
