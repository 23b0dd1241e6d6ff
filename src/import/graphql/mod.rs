//! A GraphQL schema as a draft suite (`init --graphql SCHEMA`, `init
//! --graphql-url URL`): the schema read from SDL ([`sdl`]), from the JSON of
//! an introspection query ([`introspection`]) or from a server asked for it
//! ([`fetch`]), into the small model below; [`write`] makes one endpoint per
//! root field, each a named operation ([`operation`]); [`source`] ties a
//! file or a URL to its draft.

pub mod fetch;
pub mod introspection;
mod operation;
pub mod sdl;
pub mod source;
pub mod write;

pub use source::{Format, load, parse};

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use crate::document::DocumentError;

/// The scalars every schema has, whether it declares them or not.
const BUILT_IN_SCALARS: [&str; 5] = ["Int", "Float", "String", "Boolean", "ID"];

/// Why a schema could not be read or fetched.
#[derive(Debug, thiserror::Error)]
pub enum GraphqlError {
    /// Unreadable, or JSON that does not parse.
    #[error(transparent)]
    Document(#[from] DocumentError),
    /// SDL that does not parse.
    #[error("{}:{line}:{column}: invalid GraphQL SDL: {message}", file.display())]
    Syntax {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser said.
        message: String,
    },
    /// JSON that is not the result of an introspection query.
    #[error("{}: not an introspection result: {message}", file.display())]
    NotIntrospection {
        /// The file (or URL).
        file: PathBuf,
        /// What it lacks.
        message: String,
    },
    /// The schema names no query root type, or names one it does not define.
    #[error("{}: the schema has no Query type ({message}): a GraphQL schema needs one", file.display())]
    NoQueryType {
        /// The file (or URL).
        file: PathBuf,
        /// What was looked for.
        message: String,
    },
    /// `--graphql-url`: the request could not be sent or the principal set up.
    #[error("--graphql-url {url}: {message}")]
    Fetch {
        /// The URL.
        url: String,
        /// Why.
        message: String,
    },
    /// `--graphql-url`: the server answered, but not with a schema.
    #[error("--graphql-url {url}: the server refused the introspection query{as_whom}: {message}")]
    Refused {
        /// The URL.
        url: String,
        /// ` (sent as `admin`)`, or nothing.
        as_whom: String,
        /// What it answered.
        message: String,
    },
}

/// A reference to a type: `Note`, `[Note!]!`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TypeRef {
    /// A named type.
    Named(String),
    /// `[T]`.
    List(Box<TypeRef>),
    /// `T!`.
    NonNull(Box<TypeRef>),
}

impl TypeRef {
    /// The named type inside the lists and non-nulls.
    pub fn name(&self) -> &str {
        match self {
            TypeRef::Named(name) => name,
            TypeRef::List(inner) | TypeRef::NonNull(inner) => inner.name(),
        }
    }

    /// Whether the outermost wrapper is `!`.
    pub fn is_non_null(&self) -> bool {
        matches!(self, TypeRef::NonNull(_))
    }
}

impl fmt::Display for TypeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypeRef::Named(name) => f.write_str(name),
            TypeRef::List(inner) => write!(f, "[{inner}]"),
            TypeRef::NonNull(inner) => write!(f, "{inner}!"),
        }
    }
}

/// What kind of type a named type is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A scalar (built in or custom).
    Scalar,
    /// An object type.
    Object,
    /// An interface.
    Interface,
    /// A union.
    Union,
    /// An enum.
    Enum,
    /// An input object.
    InputObject,
}

/// An argument or an input object's field.
#[derive(Clone, Debug, PartialEq)]
pub struct InputValue {
    /// Its name.
    pub name: String,
    /// Its type.
    pub ty: TypeRef,
    /// Whether the schema gives it a default value.
    pub has_default: bool,
}

impl InputValue {
    /// Whether a request must give it: non-null without a default.
    pub fn required(&self) -> bool {
        self.ty.is_non_null() && !self.has_default
    }
}

/// A field of an object type or interface.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    /// Its name.
    pub name: String,
    /// Its arguments, in schema order.
    pub args: Vec<InputValue>,
    /// Its type.
    pub ty: TypeRef,
}

impl Field {
    /// Whether selecting it needs an argument.
    pub fn needs_arguments(&self) -> bool {
        self.args.iter().any(InputValue::required)
    }
}

/// A named type.
#[derive(Clone, Debug, PartialEq)]
pub struct TypeDef {
    /// Its name.
    pub name: String,
    /// What it is.
    pub kind: Kind,
    /// Fields of an object type or interface, in schema order.
    pub fields: Vec<Field>,
    /// Fields of an input object, in schema order.
    pub input_fields: Vec<InputValue>,
    /// Values of an enum, in schema order.
    pub enum_values: Vec<String>,
}

impl TypeDef {
    /// A type of `kind` with nothing in it yet.
    pub fn new(name: impl Into<String>, kind: Kind) -> TypeDef {
        TypeDef {
            name: name.into(),
            kind,
            fields: Vec::new(),
            input_fields: Vec::new(),
            enum_values: Vec::new(),
        }
    }

    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// Where a schema's root types are, by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Roots {
    /// The query root (`None`: the schema names none).
    pub query: Option<String>,
    /// The mutation root.
    pub mutation: Option<String>,
    /// The subscription root.
    pub subscription: Option<String>,
}

/// A schema as `init` reads it: its root types and its named types in schema order.
#[derive(Clone, Debug)]
pub struct Schema {
    /// The query root type's name (it is defined, as an object type).
    pub query: String,
    /// The mutation root type's name, when defined.
    pub mutation: Option<String>,
    /// The subscription root type's name, when defined.
    pub subscription: Option<String>,
    /// Every named type, in schema order (introspection's own `__` types left out).
    pub types: Vec<TypeDef>,
    /// What was odd but could be read past (an undefined type), for stderr.
    pub warnings: Vec<String>,
    index: BTreeMap<String, usize>,
}

impl Schema {
    /// The schema of `types` with `roots`; `file` names it in errors. The
    /// built-in scalars are added when missing; a type referenced but not
    /// defined reads as a scalar, with a warning.
    pub fn new(file: &Path, roots: Roots, types: Vec<TypeDef>) -> Result<Schema, GraphqlError> {
        let mut types: Vec<TypeDef> = types
            .into_iter()
            .filter(|t| !t.name.starts_with("__"))
            .collect();
        for scalar in BUILT_IN_SCALARS {
            if !types.iter().any(|t| t.name == scalar) {
                types.push(TypeDef::new(scalar, Kind::Scalar));
            }
        }
        let mut index = BTreeMap::new();
        for (i, ty) in types.iter().enumerate() {
            index.entry(ty.name.clone()).or_insert(i);
        }
        let is_object = |name: &str| {
            index
                .get(name)
                .is_some_and(|&i| types[i].kind == Kind::Object)
        };
        let query = match roots.query {
            Some(name) if is_object(&name) => name,
            Some(name) => {
                return Err(GraphqlError::NoQueryType {
                    file: file.to_path_buf(),
                    message: format!("its query root `{name}` is not an object type it defines"),
                });
            }
            None => {
                return Err(GraphqlError::NoQueryType {
                    file: file.to_path_buf(),
                    message: "no `schema { query: … }` and no type named `Query`".into(),
                });
            }
        };
        let mut warnings = Vec::new();
        let mut root = |name: Option<String>, what: &str| match name {
            Some(name) if is_object(&name) => Some(name),
            Some(name) => {
                warnings.push(format!(
                    "the {what} root `{name}` is not an object type the schema defines: its fields are left out"
                ));
                None
            }
            None => None,
        };
        let mutation = root(roots.mutation, "mutation");
        let subscription = root(roots.subscription, "subscription");
        let mut undefined = BTreeSet::new();
        for ty in &types {
            let refs = ty
                .fields
                .iter()
                .flat_map(|f| std::iter::once(&f.ty).chain(f.args.iter().map(|a| &a.ty)))
                .chain(ty.input_fields.iter().map(|f| &f.ty));
            for r in refs {
                if !index.contains_key(r.name()) && undefined.insert(r.name().to_string()) {
                    warnings.push(format!(
                        "type `{}` is used but not defined: read as a scalar",
                        r.name()
                    ));
                }
            }
        }
        Ok(Schema {
            query,
            mutation,
            subscription,
            types,
            warnings,
            index,
        })
    }

    /// The type called `name`.
    pub fn get(&self, name: &str) -> Option<&TypeDef> {
        self.index.get(name).map(|&i| &self.types[i])
    }

    /// The kind of the type called `name`; an undefined one is a scalar.
    pub fn kind(&self, name: &str) -> Kind {
        self.get(name).map_or(Kind::Scalar, |t| t.kind)
    }

    /// The fields of a root type (none when it is not defined).
    pub fn fields_of(&self, root: Option<&str>) -> &[Field] {
        root.and_then(|name| self.get(name))
            .map_or(&[], |t| t.fields.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str) -> TypeRef {
        TypeRef::Named(name.into())
    }

    #[test]
    fn type_references_print_as_graphql_writes_them() {
        let ty = TypeRef::NonNull(Box::new(TypeRef::List(Box::new(TypeRef::NonNull(
            Box::new(named("ID")),
        )))));
        assert_eq!(ty.to_string(), "[ID!]!");
        assert_eq!(ty.name(), "ID");
        assert!(ty.is_non_null());
    }

    #[test]
    fn a_schema_needs_its_query_root_and_reads_undefined_types_as_scalars() {
        let file = Path::new("s.graphql");
        let mut query = TypeDef::new("Query", Kind::Object);
        query.fields.push(Field {
            name: "when".into(),
            args: Vec::new(),
            ty: named("DateTime"),
        });
        let roots = Roots {
            query: Some("Query".into()),
            mutation: Some("Mutation".into()),
            subscription: None,
        };
        let schema = match Schema::new(file, roots, vec![query]) {
            Ok(schema) => schema,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(schema.kind("DateTime"), Kind::Scalar);
        assert_eq!(schema.kind("Boolean"), Kind::Scalar);
        assert_eq!(schema.mutation, None);
        assert_eq!(schema.warnings.len(), 2, "{:?}", schema.warnings);
        let none = Schema::new(file, Roots::default(), Vec::new());
        assert!(matches!(none, Err(GraphqlError::NoQueryType { .. })));
    }
}
