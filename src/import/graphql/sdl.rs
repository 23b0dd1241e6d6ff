//! A schema from its SDL (`schema.graphql`), parsed by `graphql_parser`;
//! type extensions are merged into the types they extend.

use std::path::Path;

use graphql_parser::schema::{self as ast, Definition, TypeDefinition, TypeExtension};

use super::{Field, GraphqlError, InputValue, Kind, Roots, Schema, TypeDef, TypeRef};

/// How deep brackets may nest before the text is refused unparsed: the
/// parser recurses once per level, and a real schema nests a few.
const MAX_NESTING: usize = 64;

/// Reads SDL text; `file` names it in errors (with line and column).
pub fn from_text(file: &Path, text: &str) -> Result<Schema, GraphqlError> {
    if let Some((line, column)) = too_deep(text) {
        return Err(GraphqlError::Syntax {
            file: file.to_path_buf(),
            line,
            column,
            message: format!("brackets nest deeper than {MAX_NESTING} levels"),
        });
    }
    let blanked: Option<String>;
    let document = match ast::parse_schema::<String>(text) {
        Ok(document) => document,
        Err(e) => {
            let error = syntax_error(file, &e);
            // graphql-parser 0.4 takes no description on `schema { … }`
            // (SDL has allowed one since 2021): read past it.
            blanked = match &error {
                GraphqlError::Syntax { line, column, .. } => {
                    without_schema_description(text, *line, *column)
                }
                _ => None,
            };
            match &blanked {
                Some(text) => {
                    ast::parse_schema::<String>(text).map_err(|e| syntax_error(file, &e))?
                }
                None => return Err(error),
            }
        }
    };
    let mut roots = Roots::default();
    let mut declared_roots = false;
    let mut types: Vec<TypeDef> = Vec::new();
    let mut extensions: Vec<TypeDef> = Vec::new();
    for definition in document.definitions {
        match definition {
            Definition::SchemaDefinition(schema) => {
                declared_roots = true;
                roots = Roots {
                    query: schema.query,
                    mutation: schema.mutation,
                    subscription: schema.subscription,
                };
            }
            Definition::TypeDefinition(definition) => types.push(type_def(definition)),
            Definition::TypeExtension(extension) => extensions.extend(type_extension(extension)),
            Definition::DirectiveDefinition(_) => {}
        }
    }
    for extension in extensions {
        match types.iter_mut().find(|t| t.name == extension.name) {
            Some(ty) => {
                ty.fields.extend(extension.fields);
                ty.input_fields.extend(extension.input_fields);
                ty.enum_values.extend(extension.enum_values);
            }
            None => types.push(extension),
        }
    }
    if !declared_roots {
        // Without `schema { … }` the roots are the types of the conventional names.
        let named = |name: &str| {
            types
                .iter()
                .any(|t| t.name == name)
                .then(|| name.to_string())
        };
        roots = Roots {
            query: named("Query"),
            mutation: named("Mutation"),
            subscription: named("Subscription"),
        };
    }
    Schema::new(file, roots, types)
}

/// The parser's message (`Parse error at 3:5\nUnexpected … \nExpected …`) as one located line.
fn syntax_error(file: &Path, error: &ast::ParseError) -> GraphqlError {
    let text = error.to_string();
    let text = text.strip_prefix("schema parse error: ").unwrap_or(&text);
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default();
    let (line, column) = first
        .strip_prefix("Parse error at ")
        .and_then(|at| at.split_once(':'))
        .and_then(|(l, c)| Some((l.trim().parse().ok()?, c.trim().parse().ok()?)))
        .unwrap_or((0, 0));
    let rest: Vec<&str> = lines.map(str::trim).filter(|l| !l.is_empty()).collect();
    let message = if rest.is_empty() {
        first.to_string()
    } else {
        without_token_kinds(&rest.join("; "))
    };
    GraphqlError::Syntax {
        file: file.to_path_buf(),
        line,
        column,
        message,
    }
}

/// The parser's tokens without their kind: `` `:[Punctuator]` `` is `` `:` ``.
fn without_token_kinds(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(open) = rest.find('[') {
        let kind = rest[open + 1..].split_once("]`");
        match kind {
            Some((kind, _))
                if !kind.is_empty() && kind.chars().all(|c| c.is_ascii_alphabetic()) =>
            {
                out.push_str(&rest[..open]);
                rest = &rest[open + kind.len() + 2..];
            }
            _ => {
                out.push_str(&rest[..=open]);
                rest = &rest[open + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// `text` with the description before `schema` at `line`:`column` blanked
/// out (lines kept, so later errors point where they did), if one is there.
fn without_schema_description(text: &str, line: usize, column: usize) -> Option<String> {
    let start = text
        .split_inclusive('\n')
        .take(line.checked_sub(1)?)
        .map(str::len)
        .sum::<usize>();
    let at = start
        + text
            .get(start..)?
            .char_indices()
            .nth(column.checked_sub(1)?)?
            .0;
    if !text.get(at..)?.starts_with("schema") {
        return None;
    }
    let before = text.get(..at)?.trim_end();
    let open = match before.strip_suffix("\"\"\"") {
        Some(inside) => inside.rfind("\"\"\"")?,
        None => {
            let inside = before.strip_suffix('"')?;
            let line_start = inside.rfind('\n').map_or(0, |n| n + 1);
            line_start + inside[line_start..].rfind('"')?
        }
    };
    let blank: String = text[open..before.len()]
        .chars()
        .map(|c| if c == '\n' { '\n' } else { ' ' })
        .collect();
    Some(format!("{}{blank}{}", &text[..open], &text[before.len()..]))
}

/// Where brackets first nest deeper than [`MAX_NESTING`], if they do
/// (strings and comments skipped).
fn too_deep(text: &str) -> Option<(usize, usize)> {
    let (mut line, mut column, mut depth) = (1, 0, 0usize);
    let mut chars = text.chars().peekable();
    let mut in_comment = false;
    let mut in_string = false;
    while let Some(c) = chars.next() {
        column += 1;
        if c == '\n' {
            (line, column, in_comment) = (line + 1, 0, false);
            continue;
        }
        match c {
            _ if in_comment => {}
            '\\' if in_string => {
                chars.next();
                column += 1;
            }
            '"' => in_string = !in_string,
            _ if in_string => {}
            '#' => in_comment = true,
            '[' | '{' | '(' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some((line, column));
                }
            }
            ']' | '}' | ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

fn type_ref(ty: ast::Type<'_, String>) -> TypeRef {
    match ty {
        ast::Type::NamedType(name) => TypeRef::Named(name),
        ast::Type::ListType(inner) => TypeRef::List(Box::new(type_ref(*inner))),
        ast::Type::NonNullType(inner) => TypeRef::NonNull(Box::new(type_ref(*inner))),
    }
}

fn input_value(value: ast::InputValue<'_, String>) -> InputValue {
    InputValue {
        name: value.name,
        ty: type_ref(value.value_type),
        has_default: value.default_value.is_some(),
    }
}

fn fields(fields: Vec<ast::Field<'_, String>>) -> Vec<Field> {
    fields
        .into_iter()
        .map(|f| Field {
            name: f.name,
            args: f.arguments.into_iter().map(input_value).collect(),
            ty: type_ref(f.field_type),
        })
        .collect()
}

fn enum_values(values: Vec<ast::EnumValue<'_, String>>) -> Vec<String> {
    values.into_iter().map(|v| v.name).collect()
}

fn type_def(definition: TypeDefinition<'_, String>) -> TypeDef {
    match definition {
        TypeDefinition::Scalar(t) => TypeDef::new(t.name, Kind::Scalar),
        TypeDefinition::Object(t) => TypeDef {
            fields: fields(t.fields),
            ..TypeDef::new(t.name, Kind::Object)
        },
        TypeDefinition::Interface(t) => TypeDef {
            fields: fields(t.fields),
            ..TypeDef::new(t.name, Kind::Interface)
        },
        TypeDefinition::Union(t) => TypeDef::new(t.name, Kind::Union),
        TypeDefinition::Enum(t) => TypeDef {
            enum_values: enum_values(t.values),
            ..TypeDef::new(t.name, Kind::Enum)
        },
        TypeDefinition::InputObject(t) => TypeDef {
            input_fields: t.fields.into_iter().map(input_value).collect(),
            ..TypeDef::new(t.name, Kind::InputObject)
        },
    }
}

/// What an extension adds, as a type of its own (merged afterwards).
fn type_extension(extension: TypeExtension<'_, String>) -> Option<TypeDef> {
    Some(match extension {
        TypeExtension::Scalar(_) | TypeExtension::Union(_) => return None,
        TypeExtension::Object(t) => TypeDef {
            fields: fields(t.fields),
            ..TypeDef::new(t.name, Kind::Object)
        },
        TypeExtension::Interface(t) => TypeDef {
            fields: fields(t.fields),
            ..TypeDef::new(t.name, Kind::Interface)
        },
        TypeExtension::Enum(t) => TypeDef {
            enum_values: enum_values(t.values),
            ..TypeDef::new(t.name, Kind::Enum)
        },
        TypeExtension::InputObject(t) => TypeDef {
            input_fields: t.fields.into_iter().map(input_value).collect(),
            ..TypeDef::new(t.name, Kind::InputObject)
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Schema, GraphqlError> {
        from_text(Path::new("s.graphql"), text)
    }

    #[test]
    fn types_roots_and_extensions_are_read() {
        let schema = match read(
            "schema { query: Root mutation: Change }\n\
             type Root { note(id: ID!): Note, notes(first: Int = 10): [Note!]! }\n\
             type Change { touch(id: ID!): Note }\n\
             type Note { id: ID! title: String }\n\
             extend type Note { body: String }\n\
             enum Level { LOW HIGH }\n\
             input Filter { level: Level! }\n",
        ) {
            Ok(schema) => schema,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(schema.query, "Root");
        assert_eq!(schema.mutation.as_deref(), Some("Change"));
        let note = schema.get("Note").map(|t| t.fields.len());
        assert_eq!(note, Some(3), "the extension's field is merged");
        let notes = &schema.fields_of(Some("Root"))[1];
        assert_eq!(notes.ty.to_string(), "[Note!]!");
        assert!(!notes.args[0].required(), "a default makes it optional");
        assert!(schema.fields_of(Some("Root"))[0].needs_arguments());
        assert_eq!(schema.kind("Level"), Kind::Enum);
        assert!(schema.warnings.is_empty(), "{:?}", schema.warnings);
    }

    #[test]
    fn without_a_schema_definition_the_roots_are_the_conventional_names() {
        let schema = read("type Query { a: Int }\ntype Mutation { b: Int }\n");
        assert!(
            matches!(schema, Ok(s) if s.query == "Query" && s.mutation.as_deref() == Some("Mutation"))
        );
        let none = read("type Notes { a: Int }\n");
        assert!(matches!(none, Err(GraphqlError::NoQueryType { .. })));
    }

    #[test]
    fn syntax_errors_say_where() {
        let error = match read("type Query {\n  a: Int\n  b(: Int\n}\n") {
            Err(e) => e.to_string(),
            Ok(_) => panic!("parsed"),
        };
        assert_eq!(
            error,
            "s.graphql:3:5: invalid GraphQL SDL: Unexpected `:`; Expected Name"
        );
        assert_eq!(
            without_token_kinds("`[[Punctuator]` [x] `a[Name]`"),
            "`[` [x] `a`"
        );
        let deep = format!(
            "type Query {{ a: {}Int{} }}",
            "[".repeat(200),
            "]".repeat(200)
        );
        let error = match read(&deep) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("parsed"),
        };
        assert!(error.contains("nest deeper than 64"), "{error}");
        let described = "\"\"\"The notes.\n\"\"\"\nschema { query: Q }\n\"root\" schema { query: Q }\ntype Q { a: Int }\n";
        let error = match read(described) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("two schema definitions parsed"),
        };
        assert!(error.starts_with("s.graphql:4:8:"), "{error}");
        assert!(read("\"the root\"\nschema { query: Q }\ntype Q { a: Int }\n").is_ok());
        let commented = "# [[[[ not brackets\ntype Query { a(s: String = \"((((\"): Int }\n";
        assert!(read(commented).is_ok());
    }
}
