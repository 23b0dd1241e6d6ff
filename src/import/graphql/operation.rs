//! One root field as a named operation: its text (required arguments as
//! variables, a minimal selection set) and the `variables:` sent with it,
//! string values fed from suite variables.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Field, InputValue, Kind, Schema, TypeDef, TypeRef};
use crate::import::draft::var_name;
use crate::import::yaml_out::{Entry, Yaml};

/// How deep required fields of input objects are followed.
const MAX_INPUT_DEPTH: usize = 4;

/// Whether an operation reads or writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum OperationKind {
    /// `query`.
    Query,
    /// `mutation`.
    Mutation,
}

impl OperationKind {
    /// The keyword that opens it.
    pub(super) fn keyword(self) -> &'static str {
        match self {
            OperationKind::Query => "query",
            OperationKind::Mutation => "mutation",
        }
    }
}

/// A root field's operation.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Operation {
    /// The operation's name (PascalCase of the field's, made unique).
    pub(super) name: String,
    /// `query Name($a: T!) { field(a: $a) { … } }`.
    pub(super) text: String,
    /// One value per required argument, in the field's order.
    pub(super) variables: Vec<(String, Value)>,
    /// Values written as they are that stand for real ones (`first (Int!)`).
    pub(super) inline_placeholders: Vec<String>,
}

/// Suite variables made for the string values of arguments.
#[derive(Default)]
pub(super) struct Variables {
    /// The `vars:` entries, by name.
    pub(super) entries: BTreeMap<String, Entry>,
    /// The argument path each variable was made for: two paths that make the
    /// same name get two variables.
    made_for: BTreeMap<String, String>,
    /// How many hold a placeholder the user must replace.
    pub(super) placeholders: usize,
    /// Prefix of the environment variables secret arguments read.
    prefix: String,
}

/// Where a value goes: the root field, the path of argument and input field
/// names, and the type declared there.
struct Leaf<'a> {
    field: &'a str,
    path: Vec<&'a str>,
    declared: &'a TypeRef,
}

impl Leaf<'_> {
    fn name(&self) -> &str {
        self.path.last().copied().unwrap_or(self.field)
    }
}

impl Variables {
    /// No variables yet; secret arguments read `<prefix>_<NAME>`.
    pub(super) fn new(prefix: String) -> Variables {
        Variables {
            prefix,
            ..Variables::default()
        }
    }

    /// `${name}` for a string value at `leaf`, declaring the variable with a
    /// placeholder for the scalar `ty`; a secret's name reads the environment.
    fn reference(&mut self, leaf: &Leaf<'_>, ty: &TypeRef) -> String {
        if crate::http::is_credential_param(leaf.name()) {
            let name = var_name(leaf.name()).to_ascii_uppercase();
            return format!("${{{}_{name}:-}}", self.prefix);
        }
        let key = format!("{}({})", leaf.field, leaf.path.join("."));
        let stem = var_name(&format!(
            "{}_{}",
            crate::http::snake_case(leaf.field),
            crate::http::snake_case(leaf.name())
        ));
        let mut name = stem.clone();
        let mut n = 2;
        while self.made_for.get(&name).is_some_and(|made| *made != key) {
            name = format!("{stem}_{n}");
            n += 1;
        }
        self.made_for.insert(name.clone(), key);
        if !self.entries.contains_key(&name) {
            let entry =
                Entry::new(name.clone(), Yaml::Str(placeholder(ty.name().into()))).note(format!(
                    "TODO: a real value for {}({}: {})",
                    leaf.field,
                    leaf.path.join("."),
                    leaf.declared
                ));
            self.entries.insert(name.clone(), entry);
            self.placeholders += 1;
        }
        format!("${{{name}}}")
    }
}

/// A string that reads as a value of the scalar, by its name (`UUID`, `DateTime`).
fn placeholder(scalar: String) -> String {
    let lower = scalar.to_ascii_lowercase();
    let format = if lower.contains("uuid") {
        Some("uuid")
    } else if lower.contains("datetime") || lower.contains("timestamp") {
        Some("date-time")
    } else if lower.contains("date") {
        Some("date")
    } else if lower.contains("time") {
        Some("time")
    } else if lower.contains("email") {
        Some("email")
    } else if lower.contains("url") || lower.contains("uri") {
        Some("url")
    } else {
        None
    };
    crate::openapi::example_string(format).to_string()
}

/// The operation of root `field`, named `name`.
pub(super) fn operation(
    schema: &Schema,
    field: &Field,
    kind: OperationKind,
    name: String,
    vars: &mut Variables,
) -> Operation {
    let required: Vec<&InputValue> = field.args.iter().filter(|a| a.required()).collect();
    let mut inline_placeholders = Vec::new();
    let variables = required
        .iter()
        .map(|arg| {
            let leaf = Leaf {
                field: &field.name,
                path: vec![&arg.name],
                declared: &arg.ty,
            };
            let value = value(schema, &arg.ty, leaf, 0, vars, &mut inline_placeholders);
            (arg.name.clone(), value)
        })
        .collect();
    let definitions: Vec<String> = required
        .iter()
        .map(|a| format!("${}: {}", a.name, a.ty))
        .collect();
    let arguments: Vec<String> = required
        .iter()
        .map(|a| format!("{}: ${}", a.name, a.name))
        .collect();
    let mut text = format!("{} {name}", kind.keyword());
    if !definitions.is_empty() {
        text.push_str(&format!("({})", definitions.join(", ")));
    }
    text.push_str(" { ");
    text.push_str(&field.name);
    if !arguments.is_empty() {
        text.push_str(&format!("({})", arguments.join(", ")));
    }
    let selection = selection(schema, &field.ty);
    if !selection.is_empty() {
        text.push(' ');
        text.push_str(&selection);
    }
    text.push_str(" }");
    Operation {
        name,
        text,
        variables,
        inline_placeholders,
    }
}

/// A value of input type `ty`: a suite variable for strings, `1` or `true`
/// for numbers and booleans (a `${…}` is always sent as a string), an enum's
/// first value, a list of one, an input object's required fields.
fn value(
    schema: &Schema,
    ty: &TypeRef,
    leaf: Leaf<'_>,
    depth: usize,
    vars: &mut Variables,
    inline: &mut Vec<String>,
) -> Value {
    let named = match ty {
        TypeRef::NonNull(inner) => return value(schema, inner, leaf, depth, vars, inline),
        TypeRef::List(inner) => {
            return Value::Array(vec![value(schema, inner, leaf, depth, vars, inline)]);
        }
        TypeRef::Named(name) => name.as_str(),
    };
    let note_inline = |inline: &mut Vec<String>| {
        inline.push(format!("{} ({})", leaf.path.join("."), leaf.declared));
    };
    match (schema.kind(named), schema.get(named)) {
        (Kind::Enum, Some(t)) => match t.enum_values.first() {
            Some(first) => Value::String(first.clone()),
            None => Value::Null,
        },
        (Kind::InputObject, Some(t)) => input_object(schema, t, leaf, depth, vars, inline),
        (Kind::Scalar, _) | (_, None) => match named {
            "Int" | "Float" => {
                note_inline(inline);
                Value::from(1)
            }
            "Boolean" => {
                note_inline(inline);
                Value::Bool(true)
            }
            _ => Value::String(vars.reference(&leaf, ty)),
        },
        // An output type where an input is wanted: the schema is broken there.
        _ => Value::Null,
    }
}

/// An input object holding its required fields, followed [`MAX_INPUT_DEPTH`] deep.
fn input_object(
    schema: &Schema,
    t: &TypeDef,
    leaf: Leaf<'_>,
    depth: usize,
    vars: &mut Variables,
    inline: &mut Vec<String>,
) -> Value {
    let mut object = serde_json::Map::new();
    if depth >= MAX_INPUT_DEPTH {
        return Value::Object(object);
    }
    for input in t.input_fields.iter().filter(|f| f.required()) {
        let mut path = leaf.path.clone();
        path.push(&input.name);
        let inner = Leaf {
            field: leaf.field,
            path,
            declared: &input.ty,
        };
        let v = value(schema, &input.ty, inner, depth + 1, vars, inline);
        object.insert(input.name.clone(), v);
    }
    Value::Object(object)
}

/// The minimal selection set of a field of type `ty` (empty for a scalar or enum).
pub(super) fn selection(schema: &Schema, ty: &TypeRef) -> String {
    let Some(t) = schema.get(ty.name()) else {
        return String::new();
    };
    match t.kind {
        Kind::Scalar | Kind::Enum | Kind::InputObject => String::new(),
        Kind::Object => connection(schema, t).unwrap_or_else(|| plain(schema, t)),
        Kind::Interface | Kind::Union => abstract_selection(schema, t),
    }
}

/// `{ __typename }`, with `id` when the interface has one.
fn abstract_selection(schema: &Schema, t: &TypeDef) -> String {
    if has_id(schema, t) {
        "{ __typename id }".into()
    } else {
        "{ __typename }".into()
    }
}

/// The selection of a connection (a `nodes` list, or `edges { node }`): its node type's.
fn connection(schema: &Schema, t: &TypeDef) -> Option<String> {
    let usable = |f: &&Field| !f.needs_arguments();
    if let Some(nodes) = t.field("nodes").filter(usable)
        && let Some(node) = composite(schema, &nodes.ty)
    {
        return Some(format!("{{ nodes {} }}", node_selection(schema, node)));
    }
    let edges = t.field("edges").filter(usable)?;
    let edge = composite(schema, &edges.ty).filter(|e| e.kind == Kind::Object)?;
    let node = edge.field("node").filter(usable)?;
    let node = composite(schema, &node.ty)?;
    Some(format!(
        "{{ edges {{ node {} }} }}",
        node_selection(schema, node)
    ))
}

/// The object type, interface or union `ty` names.
fn composite<'s>(schema: &'s Schema, ty: &TypeRef) -> Option<&'s TypeDef> {
    schema
        .get(ty.name())
        .filter(|t| matches!(t.kind, Kind::Object | Kind::Interface | Kind::Union))
}

fn node_selection(schema: &Schema, node: &TypeDef) -> String {
    match node.kind {
        Kind::Object => plain(schema, node),
        _ => abstract_selection(schema, node),
    }
}

/// The scalar and enum fields, and `{ id }` of the object fields whose type has an `id`.
fn plain(schema: &Schema, t: &TypeDef) -> String {
    let mut parts = Vec::new();
    for field in t.fields.iter().filter(|f| !f.needs_arguments()) {
        if is_relay_id(&field.name) {
            continue;
        }
        match schema.get(field.ty.name()) {
            None => parts.push(field.name.clone()),
            Some(inner) => match inner.kind {
                Kind::Scalar | Kind::Enum => parts.push(field.name.clone()),
                Kind::Object | Kind::Interface if has_id(schema, inner) => {
                    parts.push(format!("{} {{ id }}", field.name));
                }
                _ => {}
            },
        }
    }
    if parts.is_empty() {
        "{ __typename }".into()
    } else {
        format!("{{ {} }}", parts.join(" "))
    }
}

/// Whether `t` has an `id` field that is a scalar without required arguments.
fn has_id(schema: &Schema, t: &TypeDef) -> bool {
    t.field("id").is_some_and(|id| {
        !id.needs_arguments() && matches!(schema.kind(id.ty.name()), Kind::Scalar | Kind::Enum)
    })
}

/// Whether a field name is Relay's global id beside a type's own (`nodeId`):
/// never an endpoint, never selected.
pub(super) fn is_relay_id(name: &str) -> bool {
    name == "nodeId"
}

/// An operation name from a field's: `allNotes` → `AllNotes`, `all_notes` → `AllNotes`.
pub(super) fn pascal_case(field: &str) -> String {
    let name: String = field
        .split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect();
    match name.chars().next() {
        Some(c) if c.is_ascii_alphabetic() => name,
        _ => format!("Operation{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const SCHEMA: &str = r#"
        type Query {
          note(id: ID!): Note
          search(text: String!, level: Level!, first: Int!, filter: NoteFilter!, tags: [String!]!): [Result!]!
          feed: NoteConnection!
          edgesOnly: EdgeConnection
          count: Int
          me: Viewer
          thing: Thing
        }
        type Note implements Thing { id: ID! nodeId: ID! title: String level: Level author: User comments(first: Int!): [Note] related: NoteConnection }
        type User { id: ID! name: String }
        type Viewer { notes: NoteConnection }
        type NoteConnection { nodes: [Note]! totalCount: Int! }
        type EdgeConnection { edges: [Edge!]! }
        type Edge { cursor: String node: Thing }
        interface Thing { id: ID! }
        union Result = Note | User
        enum Level { LOW HIGH }
        input NoteFilter { level: Level! owner: OwnerFilter! text: String apiKey: String! }
        input OwnerFilter { id: ID! }
    "#;

    fn schema() -> Schema {
        match super::super::sdl::from_text(Path::new("s.graphql"), SCHEMA) {
            Ok(schema) => schema,
            Err(e) => panic!("{e}"),
        }
    }

    fn op(schema: &Schema, field: &str, vars: &mut Variables) -> Operation {
        let Some(f) = schema
            .fields_of(Some("Query"))
            .iter()
            .find(|f| f.name == field)
        else {
            panic!("no field {field}");
        };
        let name = pascal_case(field);
        operation(schema, f, OperationKind::Query, name, vars)
    }

    #[test]
    fn selections_are_minimal_and_typed_values_are_placeholders() {
        let schema = schema();
        let mut vars = Variables::new("NOTES".into());
        let cases = [
            (
                "note",
                "query Note($id: ID!) { note(id: $id) { id title level author { id } } }",
            ),
            (
                "feed",
                "query Feed { feed { nodes { id title level author { id } } } }",
            ),
            (
                "edgesOnly",
                "query EdgesOnly { edgesOnly { edges { node { __typename id } } } }",
            ),
            ("count", "query Count { count }"),
            ("me", "query Me { me { __typename } }"),
            ("thing", "query Thing { thing { __typename id } }"),
        ];
        for (field, text) in cases {
            let made = op(&schema, field, &mut vars);
            assert_eq!(made.text, text);
            let parsed = graphql_parser::parse_query::<String>(&made.text);
            assert!(parsed.is_ok(), "{}: {parsed:?}", made.text);
        }
        let search = op(&schema, "search", &mut vars);
        assert_eq!(
            search.text,
            "query Search($text: String!, $level: Level!, $first: Int!, $filter: NoteFilter!, $tags: [String!]!) { search(text: $text, level: $level, first: $first, filter: $filter, tags: $tags) { __typename } }"
        );
        assert_eq!(
            Value::Object(search.variables.into_iter().collect()),
            serde_json::json!({
                "text": "${search_text}",
                "level": "LOW",
                "first": 1,
                "filter": {"level": "LOW", "owner": {"id": "${search_id}"}, "apiKey": "${NOTES_APIKEY:-}"},
                "tags": ["${search_tags}"],
            })
        );
        assert_eq!(search.inline_placeholders, ["first (Int!)"]);
        let names: Vec<&String> = vars.entries.keys().collect();
        assert_eq!(
            names,
            ["note_id", "search_id", "search_tags", "search_text"]
        );
        assert_eq!(vars.placeholders, 4);
    }

    #[test]
    fn two_paths_with_one_name_get_two_variables() {
        let schema = match super::super::sdl::from_text(
            Path::new("s.graphql"),
            "type Query { pair(a: In!, b: In!): Int }\ninput In { id: ID! when: DateTime! }\nscalar DateTime\n",
        ) {
            Ok(schema) => schema,
            Err(e) => panic!("{e}"),
        };
        let mut vars = Variables::new("X".into());
        let made = op(&schema, "pair", &mut vars);
        assert_eq!(
            Value::Object(made.variables.into_iter().collect()),
            serde_json::json!({
                "a": {"id": "${pair_id}", "when": "${pair_when}"},
                "b": {"id": "${pair_id_2}", "when": "${pair_when_2}"},
            })
        );
        let when = vars.entries.get("pair_when").map(|e| e.value.clone());
        assert_eq!(when, Some(Yaml::Str("2024-01-01T00:00:00Z".into())));
    }
}
