//! A mock route's `graphql:`: the root fields of Query and Mutation the mock
//! answers, who may read each, and what a denial's error says.

use super::{scope, to_json};
use crate::atlassian::scope::ConnectScope;
use crate::suite::diag::nearest;
use crate::suite::read::{Fields, Reader};
use crate::suite::yaml::{Node, Pos};

/// The `extensions.code` of a denied field unless `denied_code:` says otherwise.
pub const DENIED_CODE: &str = "FORBIDDEN";

/// A route's `graphql:`: GraphQL over HTTP on the route's path.
#[derive(Clone, Debug)]
pub struct GraphqlDef {
    /// `anonymous:`, whether a caller without credentials may query at all.
    pub anonymous: bool,
    /// `fields:`, the root fields, in order.
    pub fields: Vec<GraphqlField>,
    /// `denied_code:`, the `extensions.code` of a denied field.
    pub denied_code: String,
}

/// Which root type a field belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RootType {
    /// `Query`, read by `query` operations.
    Query,
    /// `Mutation` (`mutation: true`), read by `mutation` operations.
    Mutation,
}

impl RootType {
    /// The type's name, as GraphQL writes it (`__typename`, messages).
    pub fn name(self) -> &'static str {
        match self {
            RootType::Query => "Query",
            RootType::Mutation => "Mutation",
        }
    }
}

/// One root field and who may read it.
#[derive(Clone, Debug)]
pub struct GraphqlField {
    /// Its name under `fields:`.
    pub name: String,
    /// Its root type.
    pub root: RootType,
    /// `scope:`, the Connect scope an app needs (default NONE: every app).
    pub scope: ConnectScope,
    /// `permission:`, the global permission a user needs; `None`: any
    /// authenticated caller.
    pub permission: Option<String>,
    /// `data:`, what the field answers when the caller may read it.
    pub data: serde_json::Value,
    /// Where the field is defined.
    pub pos: Pos,
}

impl GraphqlDef {
    /// The field `name` of `root`, if the mock knows it.
    pub fn field(&self, root: RootType, name: &str) -> Option<&GraphqlField> {
        self.fields
            .iter()
            .find(|f| f.root == root && f.name == name)
    }

    /// What each field needs, for `explain`: `notes: scope READ, permission
    /// BROWSE; me: any authenticated caller`.
    pub fn requirements(&self) -> String {
        let each: Vec<String> = self
            .fields
            .iter()
            .map(|f| {
                let mut needs = Vec::new();
                if f.scope != ConnectScope::None {
                    needs.push(format!("scope {}", f.scope));
                }
                if let Some(permission) = &f.permission {
                    needs.push(format!("permission {permission}"));
                }
                if needs.is_empty() {
                    needs.push("any authenticated caller".into());
                }
                let kind = match f.root {
                    RootType::Query => "",
                    RootType::Mutation => " (mutation)",
                };
                format!("{}{kind}: {}", f.name, needs.join(", "))
            })
            .collect();
        each.join("; ")
    }
}

const GRAPHQL_KEYS: &[&str] = &["anonymous", "fields", "denied_code"];
const FIELD_KEYS: &[&str] = &["mutation", "scope", "permission", "data"];

/// Reads a route's `graphql:`.
pub(super) fn read_graphql(r: &mut Reader<'_>, node: &Node) -> Option<GraphqlDef> {
    let f = r.map(node, "graphql", Some(GRAPHQL_KEYS))?;
    let anonymous = f
        .get("anonymous")
        .and_then(|n| r.boolean(n, "anonymous"))
        .unwrap_or(false);
    let denied_code = match f.get("denied_code") {
        Some(n) => r.scalar(n, "denied_code").filter(|code| {
            let ok = !code.is_empty() && !code.contains(char::is_whitespace);
            if !ok {
                r.diags.error_with_help(
                    n.pos,
                    format!("denied_code `{code}` is no error code"),
                    "one word, e.g. `FORBIDDEN` or `PERMISSION_DENIED`",
                );
            }
            ok
        }),
        None => Some(DENIED_CODE.to_string()),
    };
    let Some(fields_node) = f.get("fields") else {
        r.diags.error_with_help(
            f.pos,
            "graphql needs `fields:` (the root fields the mock answers)",
            "e.g. `fields: { notes: { permission: BROWSE, data: [] } }`",
        );
        return None;
    };
    let entries = r.map(fields_node, "fields", None)?;
    if entries.entries.is_empty() {
        r.diags
            .error(fields_node.pos, "graphql `fields:` lists no field");
    }
    let fields: Vec<GraphqlField> = entries
        .entries
        .iter()
        .filter_map(|(name, key, value)| read_field(r, name, key.pos, value))
        .collect();
    (fields.len() == entries.entries.len()).then_some(GraphqlDef {
        anonymous,
        fields,
        denied_code: denied_code?,
    })
}

fn read_field(r: &mut Reader<'_>, name: &str, pos: Pos, node: &Node) -> Option<GraphqlField> {
    if let Some(problem) = name_problem(name) {
        r.diags.error(
            pos,
            format!("field `{name}` is not a GraphQL field name: {problem}"),
        );
        return None;
    }
    let what = format!("field `{name}`");
    let f = r.map(node, &what, Some(FIELD_KEYS))?;
    let mutation = f
        .get("mutation")
        .and_then(|n| r.boolean(n, "mutation"))
        .unwrap_or(false);
    let scope = match f.get("scope") {
        Some(n) => scope(r, n)?,
        None => ConnectScope::None,
    };
    let permission = match f.get("permission") {
        Some(n) => Some(r.scalar(n, "permission")?),
        None => None,
    };
    let Some(data) = f.get("data") else {
        r.diags.error_with_help(
            f.pos,
            format!("{what} needs `data:` (what it answers a caller who may read it)"),
            "e.g. `data: [{ id: \"1\", title: Roadmap }]`; `data: null` answers null",
        );
        return None;
    };
    Some(GraphqlField {
        name: name.to_string(),
        root: if mutation {
            RootType::Mutation
        } else {
            RootType::Query
        },
        scope,
        permission,
        data: to_json(data),
        pos,
    })
}

/// Why `name` is no GraphQL field name (`[_A-Za-z][_0-9A-Za-z]*`, not `__…`).
fn name_problem(name: &str) -> Option<&'static str> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic());
    if !first_ok || !chars.all(|c| c == '_' || c.is_ascii_alphanumeric()) {
        Some("a letter or `_`, then letters, digits or `_`")
    } else if name.starts_with("__") {
        Some("names starting with `__` are GraphQL's own")
    } else {
        None
    }
}

/// The route keys that say who may call a route; on a `graphql:` route each
/// field says it instead, or `graphql:` itself.
const NOT_WITH_GRAPHQL: &[(&str, &str)] = &[
    ("scope", "each field under `fields:` has its own `scope:`"),
    (
        "permission",
        "each field under `fields:` has its own `permission:`",
    ),
    ("anonymous", "write it under `graphql:`"),
    ("hidden", "a denied field answers null with an error"),
    (
        "impersonation",
        "an impersonation token's scopes are checked per field",
    ),
    ("response", "the route answers GraphQL; drop `response:`"),
    ("issue", "the route answers GraphQL; drop `issue:`"),
    (
        "ignore_security",
        "it is for `issue: read` and `issue: search` routes",
    ),
    (
        "apply_when_denied",
        "it is for `issue: edit` and `issue: delete` routes",
    ),
    ("ignore_when_allowed", "it is for `issue: edit` routes"),
];

/// What a `graphql:` route must be: `POST <path>` (it answers GET there too),
/// with none of the keys that describe other routes.
pub(super) fn check_route(r: &mut Reader<'_>, f: &Fields<'_>, method: &::http::Method) {
    let Some(at) = f.key_pos("graphql") else {
        return;
    };
    if method != ::http::Method::POST {
        r.diags.error_with_help(
            at,
            format!("a route with `graphql:` is written `POST <path>`, not `{method}`"),
            "it answers GraphQL over HTTP: POST with a JSON body, and GET with query parameters",
        );
    }
    for (key, help) in NOT_WITH_GRAPHQL {
        if let Some(pos) = f.key_pos(key) {
            r.diags.error_with_help(
                pos,
                format!("`{key}` does not apply to a route with `graphql:`"),
                *help,
            );
        }
    }
}

/// The error for a field whose `permission:` no group is granted, if it is so.
pub(super) fn check_permissions(
    r: &mut Reader<'_>,
    graphql: &GraphqlDef,
    permissions: &std::collections::BTreeMap<String, Vec<String>>,
) {
    for field in &graphql.fields {
        let Some(permission) = &field.permission else {
            continue;
        };
        if permissions.contains_key(permission) {
            continue;
        }
        let help = nearest(permission, permissions.keys().map(String::as_str))
            .map(|n| format!("did you mean `{n}`?"))
            .unwrap_or_else(|| {
                "declare it under `permissions:` with the groups that hold it".into()
            });
        r.diags.error_with_help(
            field.pos,
            format!(
                "field `{}` needs permission `{permission}`, which no group is granted",
                field.name
            ),
            help,
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::suite::mock_def::{GraphqlDef, RootType, load_str};

    const DEF: &str = r#"mock: notes
users:
  admin: { email: admin@example.com, api_token: admin-token-123456, account_id: acc-admin, groups: [admins] }
permissions:
  BROWSE: [admins]
routes:
  - route: POST /graphql
    graphql:
      fields:
        notes: { permission: BROWSE, data: [{ id: "1" }] }
        me: { data: { name: "${caller}" } }
        createNote: { mutation: true, scope: WRITE, data: null }
"#;

    fn problems(def: &str) -> String {
        match load_str(std::path::Path::new("g.yaml"), def) {
            Ok(_) => String::from("(loaded)"),
            Err(found) => found
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    fn graphql(def: &str) -> Option<GraphqlDef> {
        let def = load_str(std::path::Path::new("g.yaml"), def).ok()?;
        def.routes.into_iter().next()?.graphql
    }

    #[test]
    fn a_graphql_route_reads_its_fields_with_defaults() {
        let Some(graphql) = graphql(DEF) else {
            panic!("{}", problems(DEF));
        };
        assert!(!graphql.anonymous);
        assert_eq!(graphql.denied_code, "FORBIDDEN");
        let names: Vec<(&str, RootType)> = graphql
            .fields
            .iter()
            .map(|f| (f.name.as_str(), f.root))
            .collect();
        assert_eq!(
            names,
            [
                ("notes", RootType::Query),
                ("me", RootType::Query),
                ("createNote", RootType::Mutation)
            ]
        );
        let notes = graphql.field(RootType::Query, "notes");
        assert_eq!(
            notes.map(|f| (f.permission.as_deref(), f.data.to_string())),
            Some((Some("BROWSE"), r#"[{"id":"1"}]"#.to_string()))
        );
        assert!(graphql.field(RootType::Query, "createNote").is_none());
        assert!(graphql.field(RootType::Mutation, "createNote").is_some());
        assert_eq!(
            graphql.requirements(),
            "notes: permission BROWSE; me: any authenticated caller; createNote (mutation): scope WRITE"
        );
    }

    #[test]
    fn graphql_mistakes_are_located() {
        let bad = DEF
            .replace(
                "    graphql:\n",
                "    scope: READ\n    graphql:\n      denied_code: \"\"\n      anonymus: true\n",
            )
            .replace(
                "notes: { permission: BROWSE, data",
                "notes: { permission: BROWZE, dta",
            )
            .replace("me: { data", "2me: { data")
            .replace("mutation: true", "mutation: yes please");
        let found = problems(&bad);
        for needle in [
            "g.yaml:8:5: error: `scope` does not apply to a route with `graphql:`",
            "g.yaml:10:20: error: denied_code `` is no error code",
            "g.yaml:11:7: error: unknown key `anonymus` in graphql",
            "did you mean `anonymous`?",
            "g.yaml:13:38: error: unknown key `dta` in field `notes`",
            "g.yaml:13:16: error: field `notes` needs `data:`",
            "g.yaml:14:9: error: field `2me` is not a GraphQL field name",
            "g.yaml:15:33: error: mutation must be true or false",
        ] {
            assert!(found.contains(needle), "missing {needle} in:\n{found}");
        }
        let found = problems(&DEF.replace("permission: BROWSE,", "permission: BROWZE,"));
        assert!(
            found.contains("g.yaml:10:9: error: field `notes` needs permission `BROWZE`, which no group is granted")
                && found.contains("did you mean `BROWSE`?"),
            "{found}"
        );
    }

    #[test]
    fn a_graphql_route_is_a_post_without_the_keys_of_other_routes() {
        let found = problems(
            &DEF.replace("route: POST /graphql", "route: GET /graphql")
                .replace(
                    "    graphql:\n",
                    "    response: { status: 200 }\n    issue: read\n    graphql:\n",
                ),
        );
        for needle in [
            "g.yaml:10:5: error: a route with `graphql:` is written `POST <path>`, not `GET`",
            "g.yaml:8:5: error: `response` does not apply to a route with `graphql:`",
            "g.yaml:9:5: error: `issue` does not apply to a route with `graphql:`",
        ] {
            assert!(found.contains(needle), "missing {needle} in:\n{found}");
        }
        let found = problems(
            &DEF.split_once("      fields:")
                .map(|(head, _)| format!("{head}      anonymous: true\n"))
                .unwrap_or_default(),
        );
        assert!(
            found.contains("g.yaml:9:7: error: graphql needs `fields:`"),
            "{found}"
        );
        let found = problems(
            &DEF.split_once("      fields:")
                .map(|(head, _)| format!("{head}      fields: {{}}\n"))
                .unwrap_or_default(),
        );
        assert!(
            found.contains("g.yaml:9:15: error: graphql `fields:` lists no field"),
            "{found}"
        );
        let found = problems(&DEF.replace("me: { data", "__me: { data"));
        assert!(
            found.contains("names starting with `__` are GraphQL's own"),
            "{found}"
        );
    }
}
