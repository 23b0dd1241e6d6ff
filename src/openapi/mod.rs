//! An OpenAPI 2.0, 3.0, 3.1 or 3.2 document as the operations it lists: a walk
//! over the JSON value (typed crates each reject some real documents), with
//! local `$ref`s followed and what cannot be followed reported as warnings.

mod example;
pub(crate) mod matcher;
mod parts;
pub(crate) mod path;
mod refs;
mod security;
mod servers;

use std::path::Path;

use serde_json::Value;

pub use example::string_for as example_string;
pub use security::{Requirement, SchemeKind, SecurityScheme};

use self::parts::{declared_parameters, openapi3_body, parameter, swagger2_body};
use self::refs::Resolver;
use self::servers::{servers_of, swagger2_server};
use crate::document::{self, DocumentError};

/// The HTTP methods a path item can hold, in the order OpenAPI lists them.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Which OpenAPI the document is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// Swagger / OpenAPI 2.0.
    Swagger2,
    /// OpenAPI 3.0.x.
    OpenApi30,
    /// OpenAPI 3.1.x.
    OpenApi31,
    /// OpenAPI 3.2.x: adds the `query` method and `additionalOperations`.
    OpenApi32,
}

/// An API description, reduced to what a suite is made of.
#[derive(Clone, Debug)]
pub struct Spec {
    /// `info.title`.
    pub title: Option<String>,
    /// The document's version.
    pub version: Version,
    /// The document's server URLs, variables at their defaults, in document
    /// order (2.0: `schemes`, `host` and `basePath`); they may be relative.
    pub servers: Vec<String>,
    /// Every operation under every path, in path then method order.
    pub operations: Vec<Operation>,
    /// The security schemes, in document order.
    pub schemes: Vec<SecurityScheme>,
    /// What could not be followed (external references, odd entries).
    pub warnings: Vec<String>,
}

/// One operation: a method on a path template.
#[derive(Clone, Debug)]
pub struct Operation {
    /// The method, upper-case.
    pub method: String,
    /// The path template as written (`/pets/{petId}`).
    pub path: String,
    /// `operationId`.
    pub operation_id: Option<String>,
    /// Path-level parameters merged with the operation's (the operation's
    /// wins by name and location), in that order.
    pub parameters: Vec<Parameter>,
    /// The request body, when the operation takes one.
    pub body: Option<Body>,
    /// Its security requirements (the operation's, else the document's);
    /// `None` when the document declares none.
    pub security: Option<Vec<Requirement>>,
    /// Server URLs of the path item or operation, overriding the document's.
    pub servers: Vec<String>,
    /// Scopes that vendor extensions document (Jira's `x-atlassian-connect-scope`
    /// and `x-atlassian-oauth2-scopes`), each entry one alternative.
    pub vendor_scopes: Vec<VendorScopes>,
}

/// One alternative set of scopes an operation's vendor extension documents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VendorScopes {
    /// The extension it comes from.
    pub extension: &'static str,
    /// The scopes, all needed.
    pub scopes: Vec<String>,
}

/// Jira's Connect scope of an operation (ADMIN, READ, …, INACCESSIBLE).
pub const CONNECT_SCOPE: &str = "x-atlassian-connect-scope";
/// Jira's OAuth 2.0 scopes of an operation: classic (`Current`) and granular (`Beta`) sets.
pub const OAUTH2_SCOPES: &str = "x-atlassian-oauth2-scopes";

/// The scope alternatives of an operation's vendor extensions.
fn vendor_scopes(operation: &Value) -> Vec<VendorScopes> {
    let mut found = Vec::new();
    if let Some(scope) = operation
        .get(CONNECT_SCOPE)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty() && !s.contains(char::is_whitespace))
    {
        found.push(VendorScopes {
            extension: CONNECT_SCOPE,
            scopes: vec![scope.to_string()],
        });
    }
    for entry in operation
        .get(OAUTH2_SCOPES)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let scopes: Vec<String> = entry
            .get("scopes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|s| !s.is_empty() && !s.contains(char::is_whitespace))
            .map(str::to_string)
            .collect();
        if !scopes.is_empty() {
            found.push(VendorScopes {
                extension: OAUTH2_SCOPES,
                scopes,
            });
        }
    }
    found
}

/// Where a parameter goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Location {
    /// In the path (`{name}`).
    Path,
    /// In the query string.
    Query,
    /// In a header.
    Header,
    /// In a cookie.
    Cookie,
}

impl Location {
    fn named(name: &str) -> Option<Location> {
        match name {
            "path" => Some(Location::Path),
            "query" => Some(Location::Query),
            "header" => Some(Location::Header),
            "cookie" => Some(Location::Cookie),
            _ => None,
        }
    }
}

/// A parameter of an operation.
#[derive(Clone, Debug)]
pub struct Parameter {
    /// Its name.
    pub name: String,
    /// Where it goes.
    pub location: Location,
    /// Whether the operation needs it (path parameters always do).
    pub required: bool,
    /// The document's example, default or first enum value.
    pub example: Option<Value>,
    /// The schema's type and format, for a placeholder (`integer`, `string (uuid)`).
    pub kind: String,
}

/// What a request body is sent as.
#[derive(Clone, Debug, PartialEq)]
pub enum BodyKind {
    /// JSON.
    Json,
    /// `application/x-www-form-urlencoded`.
    Form,
    /// Anything else, sent as text with its content type.
    Raw(String),
}

/// A request body to send.
#[derive(Clone, Debug)]
pub struct Body {
    /// How it is encoded.
    pub kind: BodyKind,
    /// The media type the document names (`application/vnd.api+json`), empty when it names none.
    pub media_type: String,
    /// The document's example, else the smallest value its schema accepts.
    pub example: Value,
}

/// Why a document is not an API description permatrix can read.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// Not JSON or YAML, or not readable.
    #[error(transparent)]
    Document(#[from] DocumentError),
}

/// Reads an API description from `file`.
pub fn load(file: &Path) -> Result<Spec, SpecError> {
    let root = document::read(file)?;
    from_value(file, &root)
}

/// An API description from its parsed value; `file` names it in messages.
pub fn from_value(file: &Path, root: &Value) -> Result<Spec, SpecError> {
    let not_spec = |message: String| {
        SpecError::Document(DocumentError::NotADocument {
            file: file.to_path_buf(),
            message,
        })
    };
    let Some(object) = root.as_object() else {
        return Err(not_spec(
            "not an OpenAPI document: expected a map with `openapi` or `swagger`".into(),
        ));
    };
    let version = match (object.get("openapi"), object.get("swagger")) {
        (Some(v), _) => match version_text(v).as_deref() {
            Some(v) if minor_of(v, "3.0") => Version::OpenApi30,
            Some(v) if minor_of(v, "3.1") => Version::OpenApi31,
            Some(v) if minor_of(v, "3.2") => Version::OpenApi32,
            other => {
                return Err(not_spec(format!(
                    "unsupported OpenAPI version {}: 2.0, 3.0, 3.1 and 3.2 are read",
                    other.unwrap_or("(not a string)")
                )));
            }
        },
        (None, Some(v)) => match version_text(v).as_deref() {
            Some("2.0" | "2") => Version::Swagger2,
            other => {
                return Err(not_spec(format!(
                    "unsupported Swagger version {}: 2.0, 3.0, 3.1 and 3.2 are read",
                    other.unwrap_or("(not a string)")
                )));
            }
        },
        (None, None) => {
            return Err(not_spec(
                "not an OpenAPI document: no `openapi` or `swagger` version field".into(),
            ));
        }
    };
    let resolver = Resolver::new(root);
    let mut warnings = Vec::new();
    let servers = match version {
        Version::Swagger2 => swagger2_server(root).into_iter().collect(),
        _ => servers_of(root.get("servers"), &resolver),
    };
    let global_security = root.get("security").map(security::requirements);
    let mut operations = Vec::new();
    let mut skipped: Vec<String> = Vec::new();
    let paths = root.get("paths").and_then(Value::as_object);
    for (path, item) in paths.into_iter().flatten() {
        if path.starts_with("x-") {
            continue;
        }
        let Some(item) = path_item(item, &resolver) else {
            let reference = refs::ref_of(item).unwrap_or("");
            warnings.push(format!(
                "path `{path}`: its $ref `{reference}` could not be followed; skipped"
            ));
            skipped.push(reference.to_string());
            continue;
        };
        walk_path(
            path,
            item,
            &resolver,
            version,
            global_security.as_ref(),
            &mut operations,
            &mut warnings,
        );
    }
    let schemes = security::schemes(root, version, &resolver);
    warnings.extend(
        resolver
            .unresolved()
            .into_iter()
            .filter(|(reference, _)| !skipped.contains(reference))
            .map(|(reference, cycle)| match cycle {
                true => format!("$ref `{reference}` leads back to itself; left as a placeholder"),
                false => format!("$ref `{reference}` could not be followed; left as a placeholder"),
            }),
    );
    Ok(Spec {
        title: root
            .pointer("/info/title")
            .and_then(Value::as_str)
            .map(str::to_string),
        version,
        servers,
        operations,
        schemes,
        warnings,
    })
}

/// Whether `version` is `minor` or one of its patches (`3.1`, `3.1.0`; not `3.10.0`).
fn minor_of(version: &str, minor: &str) -> bool {
    version == minor
        || version
            .strip_prefix(minor)
            .and_then(|rest| rest.strip_prefix('.'))
            .is_some_and(|patch| !patch.is_empty())
}

fn version_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A path item, following its `$ref` (3.1 `components/pathItems`, or another path).
fn path_item<'a>(item: &'a Value, resolver: &Resolver<'a>) -> Option<&'a Value> {
    let resolved = resolver.resolve(item)?;
    resolved.is_object().then_some(resolved)
}

fn walk_path<'a>(
    path: &str,
    item: &'a Value,
    resolver: &Resolver<'a>,
    version: Version,
    global_security: Option<&Vec<Requirement>>,
    operations: &mut Vec<Operation>,
    warnings: &mut Vec<String>,
) {
    let shared = item.get("parameters");
    let path_servers = servers_of(item.get("servers"), resolver);
    let mut listed: Vec<(String, &Value)> = METHODS
        .iter()
        .filter_map(|m| Some((m.to_string(), item.get(*m)?)))
        .collect();
    if version == Version::OpenApi32 {
        listed.extend(item.get("query").map(|o| ("query".to_string(), o)));
        for (method, operation) in item
            .get("additionalOperations")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            // A suite's request line takes letters only (`LINK`, `PROPFIND`).
            if !method.is_empty() && method.chars().all(|c| c.is_ascii_alphabetic()) {
                listed.push((method.clone(), operation));
            } else {
                warnings.push(format!(
                    "{path}: additional operation {method:?} is not an HTTP method; skipped"
                ));
            }
        }
    }
    for (method, operation) in listed {
        let Some(operation) = resolver.resolve(operation).filter(|o| o.is_object()) else {
            warnings.push(format!(
                "{} {path}: not an operation object; skipped",
                method.to_uppercase()
            ));
            continue;
        };
        let mut parameters = declared_parameters(shared, resolver);
        for own in declared_parameters(operation.get("parameters"), resolver) {
            match parameters
                .iter_mut()
                .find(|p| p.name == own.name && p.place == own.place)
            {
                Some(existing) => *existing = own,
                None => parameters.push(own),
            }
        }
        let body = match version {
            Version::Swagger2 => swagger2_body(operation, &parameters, resolver),
            _ => operation
                .get("requestBody")
                .and_then(|b| resolver.resolve(b))
                .and_then(|b| openapi3_body(b, resolver)),
        };
        let operation_servers = servers_of(operation.get("servers"), resolver);
        let servers = if operation_servers.is_empty() {
            path_servers.clone()
        } else {
            operation_servers
        };
        operations.push(Operation {
            method: method.to_uppercase(),
            path: path.to_string(),
            operation_id: operation
                .get("operationId")
                .and_then(Value::as_str)
                .filter(|id| !id.is_empty())
                .map(str::to_string),
            parameters: parameters
                .iter()
                .filter_map(|p| parameter(p, resolver))
                .collect(),
            body,
            security: operation
                .get("security")
                .map(security::requirements)
                .or_else(|| global_security.cloned()),
            servers,
            vendor_scopes: vendor_scopes(operation),
        });
    }
}

#[cfg(test)]
mod tests;
