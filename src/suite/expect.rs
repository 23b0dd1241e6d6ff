//! Expectations: what status a principal must get, and how `expect:` maps resolve.

use std::fmt;

use super::yaml::{Node, Pos, Value};

/// How a cell's response reads once the decision rules have looked at it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Decided {
    /// A status: the response's own, or the one a rule gave it.
    Status(u16),
    /// Some of a GraphQL operation's fields denied, others answered.
    Partial,
    /// Neither reached nor denied (a rule said `other`).
    Other,
}

impl Decided {
    /// Whether the principal got what it asked for (2xx).
    pub fn reached(self) -> bool {
        matches!(self, Decided::Status(200..=299))
    }

    /// Whether it is a denial (401 or 403).
    pub fn denied(self) -> bool {
        matches!(self, Decided::Status(401 | 403))
    }

    /// The status, when the decision is one.
    pub fn status(self) -> Option<u16> {
        match self {
            Decided::Status(status) => Some(status),
            _ => None,
        }
    }
}

impl fmt::Display for Decided {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decided::Status(status) => write!(f, "{status}"),
            Decided::Partial => f.write_str("partial"),
            Decided::Other => f.write_str("other"),
        }
    }
}

/// The statuses a cell accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expectation {
    /// Exactly this status.
    Status(u16),
    /// Any status of this class: `2` is "2xx".
    Class(u8),
    /// `allow`: any 2xx.
    Allow,
    /// `deny`: 401 or 403.
    Deny,
    /// `any`: whatever comes back.
    Any,
    /// `partial`: a GraphQL answer with some fields denied.
    Partial,
    /// `other`: a decision that is neither reached nor denied.
    Other,
    /// Any of these.
    OneOf(Vec<Expectation>),
}

impl Expectation {
    /// Whether `status` satisfies the expectation.
    pub fn matches(&self, status: u16) -> bool {
        match self {
            Expectation::Status(s) => *s == status,
            Expectation::Class(c) => status / 100 == u16::from(*c),
            Expectation::Allow => (200..300).contains(&status),
            Expectation::Deny => status == 401 || status == 403,
            Expectation::Any => true,
            Expectation::Partial => false,
            Expectation::Other => !matches!(status, 200..=399 | 401 | 403 | 404),
            Expectation::OneOf(items) => items.iter().any(|e| e.matches(status)),
        }
    }

    /// Whether a cell decided `decided` satisfies the expectation.
    pub fn accepts(&self, decided: Decided) -> bool {
        match (self, decided) {
            (Expectation::Any, _) => true,
            (Expectation::OneOf(items), _) => items.iter().any(|e| e.accepts(decided)),
            (_, Decided::Status(status)) => self.matches(status),
            (Expectation::Partial, Decided::Partial) | (Expectation::Other, Decided::Other) => true,
            _ => false,
        }
    }

    /// Parses one expectation value from YAML.
    pub fn from_node(node: &Node) -> Result<Expectation, ExpectationError> {
        match &node.value {
            Value::Int(n) => status(*n).map(Expectation::Status),
            Value::Str(text) => parse_text(text.trim()),
            Value::Seq(items) if !items.is_empty() => {
                let mut parsed = Vec::with_capacity(items.len());
                for item in items {
                    match &item.value {
                        Value::Seq(_) => return Err(ExpectationError::NestedList),
                        _ => parsed.push(Expectation::from_node(item)?),
                    }
                }
                Ok(Expectation::OneOf(parsed))
            }
            Value::Seq(_) => Err(ExpectationError::EmptyList),
            other => Err(ExpectationError::WrongKind(other.kind())),
        }
    }
}

/// Why a value is not an expectation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpectationError {
    /// A number outside 100 to 599.
    #[error("{0} is not an HTTP status (100 to 599)")]
    NotAStatus(i64),
    /// Text that is no status, class or keyword.
    #[error(
        "`{0}` is not an expectation: use a status (403), a class (\"2xx\"), a list ([401, 403]) or allow, deny, any, partial, other"
    )]
    Unreadable(String),
    /// A list inside a list.
    #[error("lists of expectations do not nest")]
    NestedList,
    /// `[]`.
    #[error("an empty list accepts no status")]
    EmptyList,
    /// A map, a boolean, …
    #[error(
        "expected a status (403), a class (\"2xx\"), a list ([401, 403]) or allow/deny/any, found {0}"
    )]
    WrongKind(&'static str),
}

fn status(n: i64) -> Result<u16, ExpectationError> {
    match u16::try_from(n) {
        Ok(s) if (100..=599).contains(&s) => Ok(s),
        _ => Err(ExpectationError::NotAStatus(n)),
    }
}

fn parse_text(text: &str) -> Result<Expectation, ExpectationError> {
    match text.to_ascii_lowercase().as_str() {
        "allow" => return Ok(Expectation::Allow),
        "deny" => return Ok(Expectation::Deny),
        "any" => return Ok(Expectation::Any),
        "partial" => return Ok(Expectation::Partial),
        "other" => return Ok(Expectation::Other),
        _ => {}
    }
    let bytes = text.as_bytes();
    if bytes.len() == 3
        && bytes[1..].eq_ignore_ascii_case(b"xx")
        && (b'1'..=b'5').contains(&bytes[0])
    {
        return Ok(Expectation::Class(bytes[0] - b'0'));
    }
    match text.parse::<i64>() {
        Ok(n) => status(n).map(Expectation::Status),
        Err(_) => Err(ExpectationError::Unreadable(text.to_string())),
    }
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expectation::Status(s) => write!(f, "{s}"),
            Expectation::Class(c) => write!(f, "{c}xx"),
            Expectation::Allow => f.write_str("allow"),
            Expectation::Deny => f.write_str("deny"),
            Expectation::Any => f.write_str("any"),
            Expectation::Partial => f.write_str("partial"),
            Expectation::Other => f.write_str("other"),
            Expectation::OneOf(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
        }
    }
}

/// One `key: value` of an `expect:` map.
#[derive(Clone, Debug)]
pub struct ExpectEntry {
    /// A principal, a group or `*`.
    pub key: String,
    /// Where the key is.
    pub pos: Pos,
    /// The parsed value.
    pub value: Expectation,
}

/// The wildcard key: every principal not named otherwise.
pub const WILDCARD: &str = "*";

/// How one principal's expectation failed to resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveError {
    /// Nothing in the merged map covers the principal.
    Missing,
    /// Two of its groups say different things.
    Conflict {
        /// The groups and their values, as written.
        groups: Vec<(String, String)>,
    },
}

/// Where a cell's expectation comes from: which `expect` map and key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectSource {
    /// In `defaults.expect` rather than the endpoint's own `expect`.
    pub in_defaults: bool,
    /// The key: the principal, one of its groups, or `*`.
    pub key: String,
    /// Whether the key is a group of the principal.
    pub group: bool,
    /// The key's line in the suite file.
    pub line: u32,
}

impl std::fmt::Display for ExpectSource {
    /// `expect.alice`, `expect.apps (group)`, `expect."*"`, `defaults.expect.anonymous`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.in_defaults {
            f.write_str("defaults.")?;
        }
        let plain = self
            .key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if plain {
            write!(f, "expect.{}", self.key)?;
        } else {
            write!(f, "expect.{:?}", self.key)?;
        }
        if self.group {
            f.write_str(" (group)")?;
        }
        Ok(())
    }
}

/// Each key of an `expect`-like map (`expect_body`, `expect_items`,
/// `expect_trace`) names a principal, a group or `*`; an unknown one is
/// located, with the nearest key.
pub(super) fn check_entry_keys<'k>(
    r: &mut super::read::Reader<'_>,
    what: &str,
    entries: impl IntoIterator<Item = (&'k str, Pos)>,
    keys: &[&str],
) {
    for (key, pos) in entries {
        if keys.contains(&key) {
            continue;
        }
        let otherwise = format!("keys of `{what}` are principals, groups or \"*\"");
        r.diags.error_with_help(
            pos,
            format!("`{what}` names unknown principal or group `{key}`"),
            super::diag::suggestion(key, keys.iter().copied(), &otherwise),
        );
    }
}

/// The entry of an `expect`-like map (`expect_items`, `expect_trace`) that
/// `principal` (a member of `groups`) takes, by index: its own key, else its
/// groups' (one at most), else `*`; `Err` with the groups' keys when several do.
pub fn resolve_keyed<E>(
    entries: &[E],
    key: impl Fn(&E) -> &str,
    principal: &str,
    groups: &[&str],
) -> Result<Option<usize>, Vec<String>> {
    let position = |wanted: &str| entries.iter().position(|e| key(e) == wanted);
    if let Some(own) = position(principal) {
        return Ok(Some(own));
    }
    let from_groups: Vec<usize> = groups.iter().filter_map(|g| position(g)).collect();
    match from_groups.as_slice() {
        [one] => Ok(Some(*one)),
        [] => Ok(position(WILDCARD)),
        several => Err(several
            .iter()
            .map(|&i| key(&entries[i]).to_string())
            .collect()),
    }
}

/// The expectation of `principal` (a member of `groups_of_principal`), and
/// where it comes from: its own key, else its groups' (which must agree),
/// else `*`; the endpoint's `expect` laid over `defaults.expect`.
pub fn resolve(
    endpoint: &[ExpectEntry],
    defaults: &[ExpectEntry],
    principal: &str,
    groups_of_principal: &[&str],
) -> Result<(Expectation, ExpectSource), ResolveError> {
    let lookup = |key: &str| {
        (endpoint.iter().find(|e| e.key == key).map(|e| (e, false)))
            .or_else(|| defaults.iter().find(|e| e.key == key).map(|e| (e, true)))
    };
    let found = |(entry, in_defaults): (&ExpectEntry, bool), group: bool| {
        let source = ExpectSource {
            in_defaults,
            key: entry.key.clone(),
            group,
            line: entry.pos.line,
        };
        (entry.value.clone(), source)
    };
    if let Some(hit) = lookup(principal) {
        return Ok(found(hit, false));
    }
    let from_groups: Vec<(&str, (&ExpectEntry, bool))> = groups_of_principal
        .iter()
        .filter_map(|g| lookup(g).map(|e| (*g, e)))
        .collect();
    if let Some((_, first)) = from_groups.first() {
        if from_groups.iter().all(|(_, e)| e.0.value == first.0.value) {
            return Ok(found(*first, true));
        }
        return Err(ResolveError::Conflict {
            groups: from_groups
                .iter()
                .map(|(g, e)| (g.to_string(), e.0.value.to_string()))
                .collect(),
        });
    }
    lookup(WILDCARD)
        .map(|hit| found(hit, false))
        .ok_or(ResolveError::Missing)
}

#[cfg(test)]
mod tests {

    #[test]
    fn keyed_maps_resolve_own_key_then_one_group_then_the_wildcard() {
        let entries: Vec<String> = ["*", "admins", "users", "bob"].map(String::from).to_vec();
        fn key(e: &String) -> &str {
            e
        }
        assert_eq!(resolve_keyed(&entries, key, "bob", &["users"]), Ok(Some(3)));
        assert_eq!(
            resolve_keyed(&entries, key, "carol", &["users"]),
            Ok(Some(2))
        );
        assert_eq!(resolve_keyed(&entries, key, "dave", &[]), Ok(Some(0)));
        assert_eq!(
            resolve_keyed(&entries, key, "eve", &["admins", "users"]),
            Err(vec!["admins".to_string(), "users".to_string()]),
            "two groups with a key each: which one is ambiguous"
        );
        assert_eq!(resolve_keyed(&entries[1..], key, "dave", &[]), Ok(None));
    }

    use super::*;
    use crate::suite::yaml::parse;

    fn expectation(yaml: &str) -> Result<Expectation, ExpectationError> {
        Expectation::from_node(&parse(yaml).unwrap())
    }

    fn entry(key: &str, value: Expectation) -> ExpectEntry {
        ExpectEntry {
            key: key.into(),
            pos: Pos::default(),
            value,
        }
    }

    #[test]
    fn parses_every_form() {
        assert_eq!(expectation("403"), Ok(Expectation::Status(403)));
        assert_eq!(expectation("\"2xx\""), Ok(Expectation::Class(2)));
        assert_eq!(expectation("deny"), Ok(Expectation::Deny));
        assert_eq!(
            expectation("[401, 404]"),
            Ok(Expectation::OneOf(vec![
                Expectation::Status(401),
                Expectation::Status(404)
            ]))
        );
        assert!(expectation("99").is_err());
        assert!(expectation("6xx").is_err());
        assert!(expectation("alow").is_err());
        assert!(expectation("[]").is_err());
    }

    #[test]
    fn keywords_match_their_statuses() {
        assert!(Expectation::Allow.matches(204) && !Expectation::Allow.matches(302));
        assert!(Expectation::Deny.matches(401) && Expectation::Deny.matches(403));
        assert!(!Expectation::Deny.matches(404));
        assert!(Expectation::Class(4).matches(429));
    }

    #[test]
    fn precedence_is_principal_then_group_then_wildcard_endpoint_over_defaults() {
        let defaults = vec![
            entry("anonymous", Expectation::Status(401)),
            entry("*", Expectation::Status(500)),
        ];
        let endpoint = vec![
            entry("*", Expectation::Status(200)),
            entry("apps", Expectation::Status(403)),
        ];
        assert_eq!(
            resolve(&endpoint, &defaults, "anonymous", &[]).map(|r| (r.0, r.1.to_string())),
            Ok((Expectation::Status(401), "defaults.expect.anonymous".into()))
        );
        assert_eq!(
            resolve(&endpoint, &defaults, "app", &["apps"]).map(|r| (r.0, r.1.to_string())),
            Ok((Expectation::Status(403), "expect.apps (group)".into()))
        );
        assert_eq!(
            resolve(&endpoint, &defaults, "admin", &[]).map(|r| (r.0, r.1.to_string())),
            Ok((Expectation::Status(200), "expect.\"*\"".into()))
        );
        assert_eq!(resolve(&[], &[], "admin", &[]), Err(ResolveError::Missing));
        let clash = vec![
            entry("a", Expectation::Status(200)),
            entry("b", Expectation::Deny),
        ];
        assert!(matches!(
            resolve(&clash, &[], "p", &["a", "b"]),
            Err(ResolveError::Conflict { .. })
        ));
    }
}
