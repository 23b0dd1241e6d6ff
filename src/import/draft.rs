//! A suite about to be written: what `init` made from its source, before
//! (and after) `--observe` fills in the expectations.

use super::yaml_out::{self, Entry, Yaml};

/// A suite to write.
#[derive(Clone, Debug, Default)]
pub struct Draft {
    /// Comment lines at the top of the file: where it came from first.
    pub comments: Vec<String>,
    /// The comment line saying where the expectations come from (written
    /// second; `--observe` replaces it).
    pub expectations: String,
    /// `suite:`.
    pub suite: String,
    /// `description:`.
    pub description: Option<String>,
    /// `target:` entries.
    pub target: Vec<Entry>,
    /// `vars:` entries.
    pub vars: Vec<Entry>,
    /// The principals, in order.
    pub principals: Vec<Principal>,
    /// `groups:`: name and members.
    pub groups: Vec<(String, Vec<String>)>,
    /// `defaults.headers` entries.
    pub default_headers: Vec<Entry>,
    /// `defaults.expect`: principal (or group) and expectation.
    pub default_expect: Vec<Cell>,
    /// `scope_implies:`, with the comment saying where it comes from.
    pub scope_implies: Option<Entry>,
    /// The endpoints, in order.
    pub endpoints: Vec<Endpoint>,
}

/// A principal: its name and the entries of its map (`auth:`, `vars:`, …).
#[derive(Clone, Debug)]
pub struct Principal {
    /// Its name.
    pub name: String,
    /// Its map's entries.
    pub body: Vec<Entry>,
    /// Comment lines above it.
    pub comments: Vec<String>,
}

/// One `expect:` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    /// A principal, a group or `*`.
    pub key: String,
    /// `200`, `allow`, `deny`, `any`, `[401, 403]`.
    pub value: String,
    /// Why, when a reader needs telling (an error quoted).
    pub comment: Option<String>,
}

impl Cell {
    /// An entry without comment.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Cell {
        Cell {
            key: key.into(),
            value: value.into(),
            comment: None,
        }
    }
}

/// An endpoint to write.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// `name:`.
    pub name: String,
    /// The method, upper-case.
    pub method: String,
    /// The path as it goes in the request line: encoded, `${vars}` for parameters.
    pub path: String,
    /// `query:` entries (the engine encodes their values).
    pub query: Vec<(String, String)>,
    /// `headers:` entries.
    pub headers: Vec<(String, String)>,
    /// The body, if any.
    pub body: Option<Body>,
    /// `expect:` entries.
    pub expect: Vec<Cell>,
    /// Comment lines above the endpoint.
    pub comments: Vec<String>,
    /// `scopes:`, each inner list one alternative; `None` writes none.
    pub scopes: Option<Vec<Vec<String>>>,
}

/// A request body to write.
#[derive(Clone, Debug)]
pub enum Body {
    /// `json:`.
    Json(serde_json::Value),
    /// `form:`.
    Form(Vec<(String, String)>),
    /// `body:` (its content type goes in `headers`).
    Raw(String),
    /// `graphql:`, a GraphQL operation.
    Graphql(GraphqlBody),
}

/// A `graphql:` request: the operation, its name and its variables.
#[derive(Clone, Debug)]
pub struct GraphqlBody {
    /// `query:`, the operation's text.
    pub query: String,
    /// `operation_name:`.
    pub operation_name: String,
    /// `variables:`, in order; strings may hold `${…}`.
    pub variables: Vec<(String, serde_json::Value)>,
}

impl Endpoint {
    /// `METHOD PATH`.
    pub fn request(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

impl Draft {
    /// The principals' names, in order.
    pub fn principal_names(&self) -> Vec<String> {
        self.principals.iter().map(|p| p.name.clone()).collect()
    }

    /// The suite as YAML text: deterministic, the same draft giving the same bytes.
    pub fn render(&self) -> String {
        let mut top = vec![Entry::new("suite", Yaml::Str(self.suite.clone()))];
        if let Some(description) = &self.description {
            top.push(Entry::new("description", Yaml::Str(description.clone())));
        }
        top.push(Entry::new("target", Yaml::Map(self.target.clone())));
        if !self.vars.is_empty() {
            top.push(Entry::new("vars", Yaml::Map(self.vars.clone())));
        }
        let principals = self
            .principals
            .iter()
            .map(|p| Entry {
                key: p.name.clone(),
                value: Yaml::Map(p.body.clone()),
                above: p.comments.clone(),
                after: None,
            })
            .collect();
        top.push(Entry::new("principals", Yaml::Map(principals)));
        if !self.groups.is_empty() {
            let groups = self
                .groups
                .iter()
                .map(|(name, members)| {
                    Entry::new(
                        name.clone(),
                        Yaml::FlowSeq(members.iter().map(|m| Yaml::Str(m.clone())).collect()),
                    )
                })
                .collect();
            top.push(Entry::new("groups", Yaml::Map(groups)));
        }
        if let Some(implies) = &self.scope_implies {
            top.push(implies.clone());
        }
        let mut defaults = Vec::new();
        if !self.default_headers.is_empty() {
            defaults.push(Entry::new(
                "headers",
                Yaml::Map(self.default_headers.clone()),
            ));
        }
        if !self.default_expect.is_empty() {
            defaults.push(expect_entry(&self.default_expect));
        }
        if !defaults.is_empty() {
            top.push(Entry::new("defaults", Yaml::Map(defaults)));
        }
        let endpoints = self.endpoints.iter().map(endpoint_yaml).collect();
        top.push(Entry::new("endpoints", Yaml::Seq(endpoints)));
        let mut comments = self.comments.clone();
        if !self.expectations.is_empty() {
            comments.insert(comments.len().min(1), self.expectations.clone());
        }
        yaml_out::document(&comments, &top)
    }
}

fn endpoint_yaml(endpoint: &Endpoint) -> Yaml {
    let mut entries = vec![Entry {
        key: "name".into(),
        value: Yaml::Str(endpoint.name.clone()),
        above: Vec::new(),
        after: None,
    }];
    let mut request = Entry::new("request", Yaml::Str(endpoint.request()));
    request.above = endpoint.comments.clone();
    entries.push(request);
    let pairs = |list: &[(String, String)]| {
        Yaml::FlowMap(
            list.iter()
                .map(|(k, v)| (k.clone(), Yaml::Str(v.clone())))
                .collect(),
        )
    };
    if !endpoint.query.is_empty() {
        entries.push(Entry::new("query", pairs(&endpoint.query)));
    }
    if !endpoint.headers.is_empty() {
        entries.push(Entry::new("headers", pairs(&endpoint.headers)));
    }
    match &endpoint.body {
        Some(Body::Json(value)) => entries.push(Entry::new("json", Yaml::Json(value.clone()))),
        Some(Body::Form(fields)) => entries.push(Entry::new("form", pairs(fields))),
        Some(Body::Raw(text)) => entries.push(Entry::new("body", Yaml::Str(text.clone()))),
        Some(Body::Graphql(graphql)) => entries.push(graphql_entry(graphql)),
        None => {}
    }
    if let Some(scopes) = &endpoint.scopes {
        entries.push(Entry::new(
            "scopes",
            super::from_openapi::scopes::scopes_yaml(scopes),
        ));
    }
    if !endpoint.expect.is_empty() {
        entries.push(expect_entry(&endpoint.expect));
    }
    Yaml::Map(entries)
}

/// `graphql:` as a block: the query on one line, `variables:` as a flow map.
fn graphql_entry(graphql: &GraphqlBody) -> Entry {
    let mut entries = vec![
        Entry::new("query", Yaml::Str(graphql.query.clone())),
        Entry::new("operation_name", Yaml::Str(graphql.operation_name.clone())),
    ];
    if !graphql.variables.is_empty() {
        let pairs = graphql
            .variables
            .iter()
            .map(|(k, v)| (k.clone(), Yaml::Json(v.clone())))
            .collect();
        entries.push(Entry::new("variables", Yaml::FlowMap(pairs)));
    }
    Entry::new("graphql", Yaml::Map(entries))
}

/// `expect:` on one line, or one line per entry when an entry has a comment.
fn expect_entry(cells: &[Cell]) -> Entry {
    if cells.iter().all(|c| c.comment.is_none()) {
        let pairs = cells
            .iter()
            .map(|c| (c.key.clone(), Yaml::Raw(c.value.clone())))
            .collect();
        return Entry::new("expect", Yaml::FlowMap(pairs));
    }
    let entries = cells
        .iter()
        .map(|c| Entry {
            key: c.key.clone(),
            value: Yaml::Raw(c.value.clone()),
            above: Vec::new(),
            after: c.comment.clone(),
        })
        .collect();
    Entry::new("expect", Yaml::Map(entries))
}

/// A name an endpoint may have, made from text of a document or recording:
/// one line, no control characters, no `::` (it separates the parts of a
/// test's name; `:%3A` reads the same), no spaces at either end, not empty.
pub fn endpoint_name(text: &str) -> String {
    let line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let name = line.replace("::", ":%3A").trim().to_string();
    if name.is_empty() {
        "endpoint".into()
    } else {
        name
    }
}

/// Escapes `${` so a value from a document is sent as written, not interpolated.
pub fn literal(text: &str) -> String {
    text.replace("${", "$${")
}

/// `literal` applied to every string inside a JSON value.
pub fn literal_json(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(s) => Value::String(literal(s)),
        Value::Array(items) => Value::Array(items.iter().map(literal_json).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), literal_json(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A valid variable name (`[A-Za-z0-9_]+`) made from a parameter's name.
pub fn var_name(text: &str) -> String {
    let mut name: String = text
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    // `BASE_URL` is the effective target, not a variable of the suite's.
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) || name == "BASE_URL" {
        name.insert(0, '_');
    }
    name
}
