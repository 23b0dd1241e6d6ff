//! GraphQL endpoints: an endpoint's `graphql:` operation (sent as JSON by
//! POST, or in the query string by GET) and a target's `graphql.codes`.

use super::decide::{Then, read_then_value};
use super::read::{Fields, Reader};
use super::request::{Body, JsonTemplate};
use super::template::Template;
use super::yaml::{Node, Value};

/// Whether an operation reads or writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperationKind {
    /// `query` (or the `{ … }` shorthand).
    Query,
    /// `mutation`.
    Mutation,
}

/// An endpoint's GraphQL operation.
#[derive(Clone, Debug)]
pub struct Operation {
    /// Query or mutation.
    pub kind: OperationKind,
    /// `operation_name:`, else the name in the document.
    pub name: Option<String>,
    /// `variables:`, for a GET request (a POST carries them in its body).
    pub get_variables: Option<JsonTemplate>,
}

const OPERATION_KEYS: &[&str] = &["query", "variables", "operation_name"];
const TARGET_GRAPHQL_KEYS: &[&str] = &["codes"];

/// What reading `graphql:` gives an endpoint: the operation, and the body or
/// query parameters that carry it.
pub(super) struct Read {
    /// The operation.
    pub operation: Operation,
    /// For POST: the JSON body.
    pub body: Option<Body>,
    /// For GET: `query`, `operationName` (and `variables` at send time).
    pub query: Vec<(String, Template)>,
}

/// Reads an endpoint's `graphql:`; `fields` are the endpoint's, to refuse a second body.
pub(super) fn read_operation(
    r: &mut Reader<'_>,
    fields: &Fields<'_>,
    node: &Node,
    method: &::http::Method,
) -> Option<Read> {
    if let Some(other) = ["json", "form", "body"]
        .into_iter()
        .find(|k| fields.get(k).is_some())
    {
        r.diags.error_with_help(
            fields.key_pos(other).unwrap_or(node.pos),
            format!("an endpoint with `graphql:` has no `{other}:`: the operation is its body"),
            "keep the operation in `graphql: { query, variables, operation_name }`",
        );
        return None;
    }
    if *method != ::http::Method::GET && *method != ::http::Method::POST {
        r.diags.error_with_help(
            fields.key_pos("request").unwrap_or(node.pos),
            format!("a GraphQL operation is sent by GET or POST, not {method}"),
            "write `request: POST /graphql` (or GET for a query)",
        );
        return None;
    }
    let f = r.map(node, "graphql", Some(OPERATION_KEYS))?;
    let Some(query_node) = f.get("query") else {
        r.diags.error_with_help(
            node.pos,
            "`graphql:` has no `query:`",
            "e.g. `graphql: { query: \"query Me { viewer { login } }\" }`",
        );
        return None;
    };
    let text = r.string(query_node, "graphql.query")?;
    let query = match Template::parse(&text, query_node.pos) {
        Ok(t) => t,
        Err(e) => {
            r.diags.error(query_node.pos, format!("graphql.query: {e}"));
            return None;
        }
    };
    let operation_name = f
        .get("operation_name")
        .and_then(|n| r.string(n, "graphql.operation_name"));
    let variables = f.get("variables").and_then(|n| {
        if !matches!(n.value, Value::Map(_) | Value::Null) {
            r.diags.error(
                n.pos,
                format!("graphql.variables must be a map, found {}", n.value.kind()),
            );
            return None;
        }
        r.json(n)
    });
    let parsed = match parse_operation(&text, operation_name.as_deref()) {
        Ok(parsed) => parsed,
        Err(e) => {
            // An operation_name that names nothing is that key's fault.
            let at = match (f.get("operation_name"), &e) {
                (Some(n), OperationError::NotNamed { .. }) => n.pos,
                _ => query_node.pos,
            };
            r.diags.error(at, e.to_string());
            return None;
        }
    };
    let (kind, name) = match parsed {
        Parsed::Operation(kind, name) => (kind, name),
        Parsed::Subscription => {
            r.diags.error_with_help(
                query_node.pos,
                "GraphQL subscriptions are not supported: permatrix sends one request and reads one answer",
                "test the subscription's authorization through a query or mutation that reads the same data",
            );
            return None;
        }
    };
    let name = operation_name.or(name);
    let is_get = *method == ::http::Method::GET;
    if is_get && kind == OperationKind::Mutation {
        r.diags.error_with_help(
            f.key_pos("query").unwrap_or(node.pos),
            "a GraphQL mutation is sent by POST (GraphQL over HTTP refuses mutations by GET)",
            "write `request: POST …`",
        );
        return None;
    }
    if is_get {
        let mut query_params = vec![("query".to_string(), query)];
        if let Some(name) = &name {
            query_params.push(("operationName".to_string(), Template::literal(name)));
        }
        return Some(Read {
            operation: Operation {
                kind,
                name,
                get_variables: variables,
            },
            body: None,
            query: query_params,
        });
    }
    let mut object = vec![("query".to_string(), JsonTemplate::String(query))];
    if let Some(variables) = variables {
        object.push(("variables".to_string(), variables));
    }
    if let Some(name) = &name {
        object.push((
            "operationName".to_string(),
            JsonTemplate::String(Template::literal(name)),
        ));
    }
    Some(Read {
        operation: Operation {
            kind,
            name,
            get_variables: None,
        },
        body: Some(Body::Json(JsonTemplate::Object(object))),
        query: Vec::new(),
    })
}

/// Reads a target's `graphql: { codes: { CODE: status or word } }`, codes normalised.
pub(super) fn read_codes(r: &mut Reader<'_>, node: &Node) -> Vec<(String, Then)> {
    let Some(f) = r.map(node, "target.graphql", Some(TARGET_GRAPHQL_KEYS)) else {
        return Vec::new();
    };
    let Some(codes) = f.get("codes") else {
        return Vec::new();
    };
    let Some(entries) = r.map(codes, "graphql.codes", None) else {
        return Vec::new();
    };
    entries
        .entries
        .iter()
        .filter_map(|(code, key, value)| {
            if code.trim().is_empty() {
                r.diags.error(key.pos, "graphql.codes: an empty code matches no error");
                return None;
            }
            let then = read_then_value(r, value)?;
            // A code classifies one error; `partial` is what a whole answer reads as.
            if then == Then::Partial {
                r.diags.error_with_help(
                    value.pos,
                    format!("graphql.codes: `{code}` cannot be `partial`: a code classifies one error"),
                    "map it to a status (403) or unauthenticated, forbidden, hidden, reached, other; an answer with some fields denied reads partial by itself",
                );
                return None;
            }
            Some((super::decide::normalise_code(code), then))
        })
        .collect()
}

/// Why an endpoint's GraphQL document names no operation to send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OperationError {
    /// It does not parse.
    #[error("graphql.query does not parse as a GraphQL document: {0}")]
    Syntax(String),
    /// `operation_name` names none of its operations.
    #[error(
        "graphql.operation_name `{wanted}` names no operation of the query (it has {})",
        listed(names)
    )]
    NotNamed {
        /// The name asked for.
        wanted: String,
        /// The operations' names.
        names: Vec<String>,
    },
    /// Only fragments.
    #[error("graphql.query holds no operation (only fragments?)")]
    NoOperation,
    /// Several, and no `operation_name`.
    #[error("graphql.query holds {0} operations: say which one with `operation_name:`")]
    Several(usize),
}

/// `A, B`, or `no named operation`.
fn listed(names: &[String]) -> String {
    if names.is_empty() {
        "no named operation".to_string()
    } else {
        names.join(", ")
    }
}

/// What a GraphQL document's chosen operation is.
#[derive(Debug)]
enum Parsed {
    /// A query or mutation, with its name in the document.
    Operation(OperationKind, Option<String>),
    /// A subscription.
    Subscription,
}

/// The operation `wanted` (or the only one) of `text`; a document holding
/// `${…}` that does not parse is read by its first keyword instead.
fn parse_operation(text: &str, wanted: Option<&str>) -> Result<Parsed, OperationError> {
    use graphql_parser::query::{Definition, OperationDefinition};
    let templated = text.contains("${");
    // A variable stands where a GraphQL name or value would: a name parses in most places.
    let parseable = if templated {
        std::borrow::Cow::Owned(without_templates(text))
    } else {
        std::borrow::Cow::Borrowed(text)
    };
    let document = match graphql_parser::parse_query::<&str>(&parseable) {
        Ok(document) => document,
        Err(_) if templated => return Ok(first_keyword(text)),
        Err(e) => {
            let message = e.to_string();
            let first = message.lines().next().unwrap_or("syntax error").trim();
            return Err(OperationError::Syntax(first.to_string()));
        }
    };
    let mut operations = Vec::new();
    for definition in &document.definitions {
        let Definition::Operation(operation) = definition else {
            continue;
        };
        operations.push(match operation {
            OperationDefinition::SelectionSet(_) => {
                (None, Parsed::Operation(OperationKind::Query, None))
            }
            OperationDefinition::Query(q) => (
                q.name,
                Parsed::Operation(OperationKind::Query, q.name.map(str::to_string)),
            ),
            OperationDefinition::Mutation(m) => (
                m.name,
                Parsed::Operation(OperationKind::Mutation, m.name.map(str::to_string)),
            ),
            OperationDefinition::Subscription(s) => (s.name, Parsed::Subscription),
        });
    }
    match wanted {
        Some(wanted) => {
            let names: Vec<String> = operations
                .iter()
                .filter_map(|(n, _)| n.map(str::to_string))
                .collect();
            operations
                .into_iter()
                .find(|(name, _)| *name == Some(wanted))
                .map(|(_, parsed)| parsed)
                .ok_or_else(|| OperationError::NotNamed {
                    wanted: wanted.to_string(),
                    names,
                })
        }
        None if operations.len() == 1 => Ok(operations.remove(0).1),
        None if operations.is_empty() => Err(OperationError::NoOperation),
        None => Err(OperationError::Several(operations.len())),
    }
}

/// `text` with each `${…}` replaced by a GraphQL name.
fn without_templates(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        out.push_str(&rest[..at]);
        match rest[at..].find('}') {
            Some(close) => {
                out.push_str("permatrix_variable");
                rest = &rest[at + close + 1..];
            }
            None => {
                rest = &rest[at..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The kind and name of a templated document that does not parse, read
/// from its words. What cannot be told a query counts as a mutation: the
/// mutation guard must not let a document through because a variable hides
/// its kind.
fn first_keyword(text: &str) -> Parsed {
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    let trimmed = text.trim_start();
    if trimmed.starts_with("subscription") {
        return Parsed::Subscription;
    }
    if words.contains(&"mutation") {
        return Parsed::Operation(OperationKind::Mutation, name_after(text, "mutation"));
    }
    if trimmed.starts_with("query") || trimmed.starts_with('{') {
        return Parsed::Operation(OperationKind::Query, name_after(text, "query"));
    }
    Parsed::Operation(OperationKind::Mutation, None)
}

fn name_after(text: &str, keyword: &str) -> Option<String> {
    let rest = text.trim_start().strip_prefix(keyword)?.trim_start();
    let name: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind_and_name(text: &str, wanted: Option<&str>) -> (OperationKind, Option<String>) {
        match parse_operation(text, wanted) {
            Ok(Parsed::Operation(kind, name)) => (kind, name),
            Ok(Parsed::Subscription) => panic!("a subscription"),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn operations_are_read_by_kind_and_name() {
        assert_eq!(
            kind_and_name("{ me { id } }", None),
            (OperationKind::Query, None)
        );
        assert_eq!(
            kind_and_name(
                "query AllNotes($first: Int) { notes(first: $first) { id } }",
                None
            ),
            (OperationKind::Query, Some("AllNotes".into()))
        );
        assert_eq!(
            kind_and_name("query A { a } mutation B { b }", Some("B")),
            (OperationKind::Mutation, Some("B".into()))
        );
        assert_eq!(
            kind_and_name(
                "mutation Del { deleteNote(id: \"${NOTE_ID}\") { id } }",
                None
            ),
            (OperationKind::Mutation, Some("Del".into()))
        );
        assert!(matches!(
            parse_operation("subscription S { x }", None),
            Ok(Parsed::Subscription)
        ));
        assert_eq!(
            parse_operation("query A { a } query B { b }", None).unwrap_err(),
            OperationError::Several(2)
        );
        assert_eq!(
            parse_operation("query A { a }", Some("C")).unwrap_err(),
            OperationError::NotNamed {
                wanted: "C".into(),
                names: vec!["A".into()]
            }
        );
        assert!(matches!(
            parse_operation("query { a", None),
            Err(OperationError::Syntax(_))
        ));
        assert!(matches!(
            parse_operation("fragment F on T { a }", None),
            Err(OperationError::NoOperation)
        ));
        // A variable that hides the kind: guarded as a mutation.
        assert!(matches!(
            parse_operation("${OP}", None),
            Ok(Parsed::Operation(OperationKind::Mutation, None))
        ));
    }
}
