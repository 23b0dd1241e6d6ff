//! A schema from the JSON of an introspection query, as servers answer it
//! (`{"data": {"__schema": …}}`) or as tools save it (`{"__schema": …}`),
//! and the query `--graphql-url` sends.

use std::path::Path;

use serde_json::Value;

use super::{Field, GraphqlError, InputValue, Kind, Roots, Schema, TypeDef, TypeRef};

/// The standard introspection query (graphql-js's `getIntrospectionQuery()`),
/// its type references seven wrappers deep.
pub const QUERY: &str = "query IntrospectionQuery {
  __schema {
    queryType { name }
    mutationType { name }
    subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}

fragment FullType on __Type {
  kind
  name
  description
  fields(includeDeprecated: true) {
    name
    description
    args { ...InputValue }
    type { ...TypeRef }
    isDeprecated
    deprecationReason
  }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}

fragment InputValue on __InputValue {
  name
  description
  type { ...TypeRef }
  defaultValue
}

fragment TypeRef on __Type {
  kind
  name
  ofType {
    kind
    name
    ofType {
      kind
      name
      ofType {
        kind
        name
        ofType {
          kind
          name
          ofType {
            kind
            name
            ofType {
              kind
              name
              ofType { kind name }
            }
          }
        }
      }
    }
  }
}
";

/// What an introspection result lacks, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    /// Errors where the schema should be.
    #[error("it holds errors instead of a schema: {0}")]
    Errors(String),
    /// No `__schema` at all.
    #[error("no `__schema` (expected {{\"data\": {{\"__schema\": …}}}} or {{\"__schema\": …}})")]
    NoSchema,
    /// Something that should be an object or a list is not.
    #[error("{0} is not an object or a list where one is needed")]
    Malformed(&'static str),
    /// A member is missing.
    #[error("{at} has no `{key}`")]
    Missing {
        /// Where.
        at: String,
        /// The member.
        key: String,
    },
    /// A name that cannot go into an operation.
    #[error("{at} has a name that is no GraphQL name: {name:?}")]
    NotAName {
        /// Where.
        at: String,
        /// The name.
        name: String,
    },
    /// A type kind introspection does not have.
    #[error("{at} (`{name}`) has an unknown kind `{kind}`")]
    UnknownKind {
        /// Where.
        at: String,
        /// The type.
        name: String,
        /// The kind.
        kind: String,
    },
}

/// The `__schema` of an introspection result, or why there is none.
pub fn schema_of(root: &Value) -> Result<&Value, ShapeError> {
    if let Some(schema) = root.get("__schema") {
        return Ok(schema);
    }
    if let Some(schema) = root.get("data").and_then(|d| d.get("__schema")) {
        return Ok(schema);
    }
    if let Some(message) = first_error(root) {
        return Err(ShapeError::Errors(message));
    }
    Err(ShapeError::NoSchema)
}

/// The `message` of the first entry of a GraphQL answer's `errors`.
pub fn first_error(root: &Value) -> Option<String> {
    let errors = root.get("errors")?.as_array()?;
    let first = errors.first()?;
    let message = first
        .get("message")
        .and_then(Value::as_str)
        .map_or_else(|| first.to_string(), str::to_string);
    Some(match errors.len() {
        1 => message,
        n => format!("{message} (and {} more)", n - 1),
    })
}

/// Reads an introspection result; `file` names it in errors.
pub fn from_value(file: &Path, root: &Value) -> Result<Schema, GraphqlError> {
    let invalid = |e: ShapeError| GraphqlError::NotIntrospection {
        file: file.to_path_buf(),
        message: e.to_string(),
    };
    let schema = schema_of(root).map_err(invalid)?;
    if !schema.is_object() {
        return Err(invalid(ShapeError::Malformed("`__schema`")));
    }
    let root_name = |key: &str| {
        schema
            .get(key)
            .and_then(|t| t.get("name"))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let roots = Roots {
        query: root_name("queryType"),
        mutation: root_name("mutationType"),
        subscription: root_name("subscriptionType"),
    };
    let Some(list) = schema.get("types").and_then(Value::as_array) else {
        return Err(invalid(ShapeError::Malformed("`__schema.types`")));
    };
    let types = list
        .iter()
        .enumerate()
        .map(|(i, ty)| type_def(ty, &format!("__schema.types[{i}]")))
        .collect::<Result<Vec<_>, ShapeError>>()
        .map_err(invalid)?;
    Schema::new(file, roots, types)
}

/// A string member, or a message naming where it is missing.
fn text<'a>(value: &'a Value, key: &str, at: &str) -> Result<&'a str, ShapeError> {
    let text = value
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| ShapeError::Missing {
            at: at.to_string(),
            key: key.to_string(),
        })?;
    // A name goes into the operations written: it must be a GraphQL name.
    if key == "name" && !is_name(text) {
        return Err(ShapeError::NotAName {
            at: at.to_string(),
            name: text.to_string(),
        });
    }
    Ok(text)
}

/// Whether `text` is a GraphQL name (`[_A-Za-z][_0-9A-Za-z]*`).
fn is_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// The members of a list that may be `null` or absent (none).
fn items<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn type_def(ty: &Value, at: &str) -> Result<TypeDef, ShapeError> {
    let name = text(ty, "name", at)?;
    let kind = match text(ty, "kind", at)? {
        "SCALAR" => Kind::Scalar,
        "OBJECT" => Kind::Object,
        "INTERFACE" => Kind::Interface,
        "UNION" => Kind::Union,
        "ENUM" => Kind::Enum,
        "INPUT_OBJECT" => Kind::InputObject,
        other => {
            return Err(ShapeError::UnknownKind {
                at: at.to_string(),
                name: name.to_string(),
                kind: other.to_string(),
            });
        }
    };
    let at = format!("{at} (`{name}`)");
    let fields = items(ty, "fields")
        .iter()
        .enumerate()
        .map(|(i, field)| {
            let at = format!("{at}.fields[{i}]");
            Ok(Field {
                name: text(field, "name", &at)?.to_string(),
                args: input_values(field, "args", &at)?,
                ty: type_ref(field.get("type"), &at)?,
            })
        })
        .collect::<Result<Vec<_>, ShapeError>>()?;
    let enum_values = items(ty, "enumValues")
        .iter()
        .enumerate()
        .map(|(i, v)| text(v, "name", &format!("{at}.enumValues[{i}]")).map(str::to_string))
        .collect::<Result<Vec<_>, ShapeError>>()?;
    Ok(TypeDef {
        name: name.to_string(),
        kind,
        fields,
        input_fields: input_values(ty, "inputFields", &at)?,
        enum_values,
    })
}

fn input_values(value: &Value, key: &str, at: &str) -> Result<Vec<InputValue>, ShapeError> {
    items(value, key)
        .iter()
        .enumerate()
        .map(|(i, input)| {
            let at = format!("{at}.{key}[{i}]");
            Ok(InputValue {
                name: text(input, "name", &at)?.to_string(),
                ty: type_ref(input.get("type"), &at)?,
                has_default: input.get("defaultValue").is_some_and(|d| !d.is_null()),
            })
        })
        .collect()
}

/// A type reference, `{kind, name, ofType}` nested (as deep as JSON parsing allows).
fn type_ref(value: Option<&Value>, at: &str) -> Result<TypeRef, ShapeError> {
    let missing = |key: &str| ShapeError::Missing {
        at: at.to_string(),
        key: key.to_string(),
    };
    let Some(value) = value.filter(|v| v.is_object()) else {
        return Err(missing("type"));
    };
    let inner = || type_ref(value.get("ofType"), at);
    match value.get("kind").and_then(Value::as_str) {
        Some("NON_NULL") => Ok(TypeRef::NonNull(Box::new(inner()?))),
        Some("LIST") => Ok(TypeRef::List(Box::new(inner()?))),
        _ => match value.get("name").and_then(Value::as_str) {
            Some(name) if is_name(name) => Ok(TypeRef::Named(name.to_string())),
            Some(name) => Err(ShapeError::NotAName {
                at: at.to_string(),
                name: name.to_string(),
            }),
            None => Err(missing("name")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn note_schema() -> Value {
        json!({"__schema": {
            "queryType": {"name": "Query"},
            "mutationType": null,
            "subscriptionType": null,
            "types": [
                {"kind": "OBJECT", "name": "Query", "fields": [
                    {"name": "note", "args": [
                        {"name": "id", "type": {"kind": "NON_NULL", "name": null,
                            "ofType": {"kind": "SCALAR", "name": "ID", "ofType": null}},
                         "defaultValue": null}],
                     "type": {"kind": "OBJECT", "name": "Note", "ofType": null}}
                ], "inputFields": null, "enumValues": null},
                {"kind": "OBJECT", "name": "Note", "fields": [
                    {"name": "id", "args": [], "type": {"kind": "SCALAR", "name": "ID"}}
                ]},
                {"kind": "OBJECT", "name": "__Schema", "fields": []}
            ]
        }})
    }

    #[test]
    fn both_shapes_of_a_result_are_read() {
        let file = Path::new("i.json");
        let bare = note_schema();
        let wrapped = json!({"data": bare.clone()});
        for root in [bare, wrapped] {
            let schema = match from_value(file, &root) {
                Ok(schema) => schema,
                Err(e) => panic!("{e}"),
            };
            let note = &schema.fields_of(Some("Query"))[0];
            assert_eq!(note.args[0].ty.to_string(), "ID!");
            assert!(note.needs_arguments());
            assert!(schema.get("__Schema").is_none());
        }
    }

    #[test]
    fn what_is_no_result_is_said() {
        let file = Path::new("i.json");
        let error = |root: Value| match from_value(file, &root) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("read"),
        };
        assert!(error(json!({"data": {}})).contains("no `__schema`"));
        let refused = json!({"data": null, "errors": [{"message": "introspection is disabled"}]});
        assert!(error(refused).contains("introspection is disabled"));
        let mut broken = note_schema();
        broken["__schema"]["types"][1]["fields"][0]["type"] = Value::Null;
        assert!(
            error(broken).contains("__schema.types[1] (`Note`).fields[0] has no `type`"),
            "names where"
        );
        let mut no_query = note_schema();
        no_query["__schema"]["queryType"] = Value::Null;
        assert!(error(no_query).contains("has no Query type"));
    }

    #[test]
    fn the_query_sent_is_graphql() {
        let parsed = graphql_parser::parse_query::<String>(QUERY);
        assert!(parsed.is_ok(), "{parsed:?}");
    }
}
