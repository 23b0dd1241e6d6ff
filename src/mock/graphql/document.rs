//! A GraphQL request's document as the mock reads it: the operation to run,
//! its root fields by response key, and the shape each field's data is cut to.
//! There is no schema: fields and fragments are taken as written, type
//! conditions, arguments and directives are not read.

use std::collections::HashMap;

use graphql_parser::Pos;
use graphql_parser::query::{
    Definition, Document, FragmentDefinition, OperationDefinition, Selection, SelectionSet,
};
use serde_json::{Map, Value};

/// How deeply a selection may nest, fragments spread (a fragment that spreads
/// itself inside one of its fields would nest forever).
const MAX_DEPTH: usize = 64;
/// How many fields a document may select, fragments counted at each spread
/// (a fragment spread twice in a fragment spread twice… grows exponentially).
const MAX_SELECTIONS: usize = 10_000;

/// Why a document is not executed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Rejected {
    /// It does not parse: GRAPHQL_PARSE_FAILED.
    Parse(String),
    /// No operation, or not the one named: OPERATION_RESOLUTION_FAILURE.
    Operation(String),
    /// It parses but the mock cannot run it: GRAPHQL_VALIDATION_FAILED.
    Invalid(Vec<(String, Option<Pos>)>),
}

/// The kind of an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `query` or a bare selection set.
    Query,
    /// `mutation`.
    Mutation,
    /// `subscription`.
    Subscription,
}

/// The operation a request runs.
pub(crate) struct Operation<'d, 'q> {
    /// Its kind.
    pub kind: Kind,
    /// Its root selection.
    pub selection: &'d SelectionSet<'q, &'q str>,
}

/// A selected field: its response key (the alias, else the name), its name,
/// and what of its value is selected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Selected {
    /// The response key.
    pub key: String,
    /// The field's name.
    pub name: String,
    /// Where it is written (the first time, when selected twice).
    pub pos: Pos,
    /// Its sub-selection; `None`: the whole value.
    pub shape: Option<Vec<Selected>>,
}

/// Parses `text` (the parser refuses nesting deeper than 50 by itself).
pub(crate) fn parse(text: &str) -> Result<Document<'_, &str>, Rejected> {
    graphql_parser::parse_query::<&str>(text).map_err(|e| {
        let text = e.to_string();
        let detail = text.strip_prefix("query parse error: ").unwrap_or(&text);
        Rejected::Parse(format!(
            "Syntax Error: {}",
            detail.trim().replace('\n', " ")
        ))
    })
}

/// The operation `name` names, or the document's only one.
pub(crate) fn operation<'d, 'q>(
    document: &'d Document<'q, &'q str>,
    name: Option<&str>,
) -> Result<Operation<'d, 'q>, Rejected> {
    let operations: Vec<(Option<&str>, Operation<'d, 'q>)> = document
        .definitions
        .iter()
        .filter_map(|d| match d {
            Definition::Operation(op) => Some(named(op)),
            Definition::Fragment(_) => None,
        })
        .collect();
    let mut operations = operations.into_iter();
    match (name, operations.len()) {
        (_, 0) => Err(Rejected::Operation("Must provide an operation.".into())),
        (Some(wanted), _) => operations
            .find(|(n, _)| *n == Some(wanted))
            .map(|(_, op)| op)
            .ok_or_else(|| Rejected::Operation(format!("Unknown operation named \"{wanted}\"."))),
        (None, 1) => operations
            .next()
            .map(|(_, op)| op)
            .ok_or_else(|| Rejected::Operation("Must provide an operation.".into())),
        (None, _) => Err(Rejected::Operation(
            "Must provide operation name if query contains multiple operations.".into(),
        )),
    }
}

fn named<'d, 'q>(op: &'d OperationDefinition<'q, &'q str>) -> (Option<&'q str>, Operation<'d, 'q>) {
    let (name, kind, selection) = match op {
        OperationDefinition::SelectionSet(set) => (None, Kind::Query, set),
        OperationDefinition::Query(q) => (q.name, Kind::Query, &q.selection_set),
        OperationDefinition::Mutation(m) => (m.name, Kind::Mutation, &m.selection_set),
        OperationDefinition::Subscription(s) => (s.name, Kind::Subscription, &s.selection_set),
    };
    (name, Operation { kind, selection })
}

/// Reads selections: fragments by name, and how many fields were read so far.
pub(crate) struct Selections<'d, 'q> {
    fragments: HashMap<&'q str, &'d FragmentDefinition<'q, &'q str>>,
    read: usize,
}

impl<'d, 'q> Selections<'d, 'q> {
    /// The fragments of `document`.
    pub(crate) fn new(document: &'d Document<'q, &'q str>) -> Selections<'d, 'q> {
        let fragments = document
            .definitions
            .iter()
            .filter_map(|d| match d {
                Definition::Fragment(f) => Some((f.name, f)),
                Definition::Operation(_) => None,
            })
            .collect();
        Selections { fragments, read: 0 }
    }

    /// The root fields `set` selects, by response key, in order: a key
    /// selected twice is one field (its sub-selections merged), and two
    /// different fields under one key are an error, as in GraphQL.
    pub(crate) fn root(
        &mut self,
        set: &'d SelectionSet<'q, &'q str>,
    ) -> Result<Vec<Selected>, Rejected> {
        let mut problems = Vec::new();
        let fields = self.level(&[set], 1, &mut problems);
        if problems.is_empty() {
            Ok(fields)
        } else {
            Err(Rejected::Invalid(problems))
        }
    }

    /// The fields of the sets of one level, merged by key, each with its shape.
    fn level(
        &mut self,
        sets: &[&'d SelectionSet<'q, &'q str>],
        depth: usize,
        problems: &mut Vec<(String, Option<Pos>)>,
    ) -> Vec<Selected> {
        let mut merged: Vec<(Selected, Vec<&'d SelectionSet<'q, &'q str>>)> = Vec::new();
        let mut path = Vec::new();
        for set in sets {
            self.collect(set, &mut path, &mut merged, depth, problems);
        }
        merged
            .into_iter()
            .map(|(mut field, sets)| {
                if sets.iter().any(|s| !s.items.is_empty()) {
                    if depth >= MAX_DEPTH {
                        push_once(
                            problems,
                            format!("The selection nests deeper than {MAX_DEPTH} levels."),
                            Some(field.pos),
                        );
                    } else {
                        field.shape = Some(self.level(&sets, depth + 1, problems));
                    }
                }
                field
            })
            .collect()
    }

    /// Adds the fields of `set` to `merged`, through fragments; `path` holds the
    /// fragments being spread at this level (a cycle is an error).
    fn collect(
        &mut self,
        set: &'d SelectionSet<'q, &'q str>,
        path: &mut Vec<&'q str>,
        merged: &mut Vec<(Selected, Vec<&'d SelectionSet<'q, &'q str>>)>,
        depth: usize,
        problems: &mut Vec<(String, Option<Pos>)>,
    ) {
        for item in &set.items {
            self.read += 1;
            if self.read > MAX_SELECTIONS {
                push_once(
                    problems,
                    format!("The document selects more than {MAX_SELECTIONS} fields."),
                    None,
                );
                return;
            }
            match item {
                Selection::Field(field) => {
                    let key = field.alias.unwrap_or(field.name);
                    match merged.iter_mut().find(|(s, _)| s.key == key) {
                        Some((first, sets)) if first.name == field.name => {
                            sets.push(&field.selection_set);
                        }
                        Some((first, _)) => {
                            if depth == 1 {
                                problems.push((
                                    format!(
                                        "Fields \"{key}\" conflict because \"{}\" and \"{}\" are different fields. Use different aliases on the fields to fetch both if this was intentional.",
                                        first.name, field.name
                                    ),
                                    Some(field.position),
                                ));
                            }
                        }
                        None => merged.push((
                            Selected {
                                key: key.to_string(),
                                name: field.name.to_string(),
                                pos: field.position,
                                shape: None,
                            },
                            vec![&field.selection_set],
                        )),
                    }
                }
                Selection::InlineFragment(inline) => {
                    self.collect(&inline.selection_set, path, merged, depth, problems);
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.fragment_name;
                    let Some(fragment) = self.fragments.get(name).copied() else {
                        problems.push((
                            format!("Unknown fragment \"{name}\"."),
                            Some(spread.position),
                        ));
                        continue;
                    };
                    if path.contains(&name) {
                        push_once(
                            problems,
                            format!("Cannot spread fragment \"{name}\" within itself."),
                            Some(spread.position),
                        );
                        continue;
                    }
                    path.push(name);
                    self.collect(&fragment.selection_set, path, merged, depth, problems);
                    path.pop();
                }
            }
        }
    }
}

/// Adds a problem unless the same message is there already.
fn push_once(problems: &mut Vec<(String, Option<Pos>)>, message: String, pos: Option<Pos>) {
    if !problems.iter().any(|(m, _)| *m == message) {
        problems.push((message, pos));
    }
}

/// `value` cut to `shape`: an object keeps the selected keys (missing ones
/// null, under their response keys), a list is cut item by item, anything
/// else is kept.
pub(crate) fn cut(value: &Value, shape: Option<&[Selected]>) -> Value {
    let Some(shape) = shape else {
        return value.clone();
    };
    match value {
        Value::Array(items) => Value::Array(items.iter().map(|v| cut(v, Some(shape))).collect()),
        Value::Object(fields) => {
            let mut out = Map::new();
            for selected in shape {
                let found = fields
                    .get(&selected.name)
                    .map_or(Value::Null, |v| cut(v, selected.shape.as_deref()));
                out.insert(selected.key.clone(), found);
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn root(text: &str, name: Option<&str>) -> Result<(Kind, Vec<Selected>), Rejected> {
        let document = parse(text)?;
        let op = operation(&document, name)?;
        let mut selections = Selections::new(&document);
        Ok((op.kind, selections.root(op.selection)?))
    }

    fn keys(fields: &[Selected]) -> Vec<(&str, &str)> {
        fields
            .iter()
            .map(|f| (f.key.as_str(), f.name.as_str()))
            .collect()
    }

    #[test]
    fn operations_are_picked_by_name_or_alone() {
        let two = "query A { notes { id } } mutation B { createNote { id } }";
        assert_eq!(root(two, Some("B")).map(|(k, _)| k), Ok(Kind::Mutation));
        assert_eq!(root(two, Some("A")).map(|(k, _)| k), Ok(Kind::Query));
        assert_eq!(
            root(two, None).map(|(k, _)| k),
            Err(Rejected::Operation(
                "Must provide operation name if query contains multiple operations.".into()
            ))
        );
        assert_eq!(
            root(two, Some("C")).map(|(k, _)| k),
            Err(Rejected::Operation("Unknown operation named \"C\".".into()))
        );
        assert_eq!(root("{ me }", None).map(|(k, _)| k), Ok(Kind::Query));
        assert!(matches!(
            root("fragment F on Query { me }", None),
            Err(Rejected::Operation(_))
        ));
        assert!(matches!(
            root("subscription { ticks }", None),
            Ok((Kind::Subscription, _))
        ));
    }

    #[test]
    fn root_fields_are_read_by_key_through_fragments() {
        let text = "query { n: notes { id } notes { title } ...F ... on Query { me } } \
                    fragment F on Query { notes { id body } secrets }";
        let (_, fields) = root(text, None).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            keys(&fields),
            [
                ("n", "notes"),
                ("notes", "notes"),
                ("secrets", "secrets"),
                ("me", "me")
            ]
        );
        let shape = fields[1].shape.as_deref().map(keys);
        assert_eq!(
            shape,
            Some(vec![("title", "title"), ("id", "id"), ("body", "body")]),
            "one key selected twice merges its sub-selections"
        );
        assert_eq!(fields[3].shape, None);
    }

    #[test]
    fn documents_the_mock_cannot_run_are_rejected() {
        let invalid = |text: &str| match root(text, None) {
            Err(Rejected::Invalid(problems)) => problems
                .into_iter()
                .map(|(m, _)| m)
                .collect::<Vec<_>>()
                .join("\n"),
            other => panic!("{other:?}"),
        };
        assert!(invalid("{ a: notes a: secrets }").contains("Fields \"a\" conflict"));
        assert!(invalid("{ ...Nope }").contains("Unknown fragment \"Nope\"."));
        assert!(
            invalid("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }")
                .contains("Cannot spread fragment \"A\" within itself.")
        );
        let looping = "{ notes { ...N } } fragment N on Note { child { ...N } }";
        assert!(invalid(looping).contains("nests deeper than 64"));
        let mut bomb = String::from("{ ...F0 } fragment F20 on Query { x }");
        for i in 0..20 {
            bomb.push_str(&format!(
                " fragment F{i} on Query {{ ...F{} ...F{} }}",
                i + 1,
                i + 1
            ));
        }
        assert!(invalid(&bomb).contains("more than 10000 fields"));
        assert!(matches!(
            root("{ notes { id }", None),
            Err(Rejected::Parse(_))
        ));
        let deep = format!("{}{}", "{ a ".repeat(100_000), "}".repeat(100_000));
        match root(&deep, None) {
            Err(Rejected::Parse(message)) => {
                assert!(message.contains("Recursion limit exceeded"), "{message}")
            }
            other => panic!("{:?}", other.map(|_| ())),
        }
    }

    #[test]
    fn data_is_cut_to_the_selection() {
        let (_, fields) = root("{ notes { id t: title author { name } missing } }", None)
            .unwrap_or_else(|e| panic!("{e:?}"));
        let data = json!([
            { "id": "1", "title": "Roadmap", "body": "…", "author": { "name": "ann", "mail": "a@x" } },
            { "id": "2", "title": "Budget", "author": null }
        ]);
        assert_eq!(
            cut(&data, fields[0].shape.as_deref()),
            json!([
                { "id": "1", "t": "Roadmap", "author": { "name": "ann" }, "missing": null },
                { "id": "2", "t": "Budget", "author": null, "missing": null }
            ])
        );
        assert_eq!(cut(&json!(3), fields[0].shape.as_deref()), json!(3));
        assert_eq!(cut(&data, None), data);
    }
}
