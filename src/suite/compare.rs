//! `compare:` and `expect_body:` of an endpoint: each cell's body set against
//! a reference principal's, and the fact each principal must get.

use super::expect::WILDCARD;
use super::read::Reader;
use super::yaml::{Node, Pos};

const COMPARE_KEYS: &[&str] = &["with", "ignore"];

/// `compare:` of an endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compare {
    /// `with:`, the reference principal.
    pub with: String,
    /// `ignore:`, JSON pointers dropped from both bodies before comparing.
    pub ignore: Vec<String>,
    /// Where `compare:` is.
    pub pos: Pos,
}

/// How a cell's body compares with the reference principal's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum BodyFact {
    /// The same (JSON structurally, `ignore` pointers dropped; text trimmed).
    #[serde(rename = "same")]
    Same,
    /// Not the same.
    #[serde(rename = "differs")]
    Differs,
    /// Nothing to compare: either body is empty, or the reference cell got no response.
    #[serde(rename = "n/a")]
    NotApplicable,
}

impl BodyFact {
    /// `same`, `differs` or `n/a`, as written in suites and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            BodyFact::Same => "same",
            BodyFact::Differs => "differs",
            BodyFact::NotApplicable => "n/a",
        }
    }

    /// `same as alice`, `differs from alice`, `n/a`: the fact with its reference.
    pub fn against(self, reference: &str) -> String {
        match self {
            BodyFact::Same => format!("same as {reference}"),
            BodyFact::Differs => format!("differs from {reference}"),
            BodyFact::NotApplicable => "n/a".to_string(),
        }
    }

    /// Reads [`BodyFact::against`]'s text back: the fact and its reference.
    pub fn parse_against(text: &str) -> Option<(BodyFact, Option<&str>)> {
        if text == "n/a" {
            return Some((BodyFact::NotApplicable, None));
        }
        if let Some(reference) = text.strip_prefix("same as ") {
            return Some((BodyFact::Same, Some(reference)));
        }
        text.strip_prefix("differs from ")
            .map(|reference| (BodyFact::Differs, Some(reference)))
    }
}

/// A word that is no body fact.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a body fact: use same, differs or n/a")]
pub struct UnknownBodyFact(String);

impl std::str::FromStr for BodyFact {
    type Err = UnknownBodyFact;

    fn from_str(text: &str) -> Result<BodyFact, UnknownBodyFact> {
        match text {
            "same" => Ok(BodyFact::Same),
            "differs" => Ok(BodyFact::Differs),
            "n/a" => Ok(BodyFact::NotApplicable),
            other => Err(UnknownBodyFact(other.to_string())),
        }
    }
}

/// One `key: fact` of `expect_body:`.
#[derive(Clone, Debug)]
pub struct BodyEntry {
    /// A principal, a group or `*`.
    pub key: String,
    /// Where the key is.
    pub pos: Pos,
    /// The fact it must get.
    pub value: BodyFact,
}

/// Reads one pointer of an `ignore:` list (`/updated_at`, `/items/*/etag`).
pub(super) fn read_pointer(r: &mut Reader<'_>, item: &Node) -> Option<String> {
    let pointer = r.string(item, "a JSON pointer")?;
    if pointer.starts_with('/') {
        return Some(pointer);
    }
    r.diags.error_with_help(
        item.pos,
        format!("`{pointer}` is not a JSON pointer"),
        format!("a pointer starts with `/`, e.g. `/{pointer}`"),
    );
    None
}

/// Reads `compare:`.
pub(super) fn read_compare(r: &mut Reader<'_>, node: &Node) -> Option<Compare> {
    let f = r.map(node, "compare", Some(COMPARE_KEYS))?;
    let Some(with) = f.get("with") else {
        r.diags.error_with_help(
            node.pos,
            "`compare:` names no reference principal",
            "write `compare: { with: alice }` (the owner of the object)",
        );
        return None;
    };
    let with = r.string(with, "compare.with")?;
    let ignore = match f.get("ignore") {
        Some(list) => r
            .seq(list, "compare.ignore")
            .unwrap_or_default()
            .iter()
            .filter_map(|item| read_pointer(r, item))
            .collect(),
        None => Vec::new(),
    };
    Some(Compare {
        with,
        ignore,
        pos: node.pos,
    })
}

/// Reads `expect_body:`.
pub(super) fn read_expect_body(r: &mut Reader<'_>, node: &Node) -> Vec<BodyEntry> {
    let Some(fields) = r.map(node, "expect_body", None) else {
        return Vec::new();
    };
    let mut entries = Vec::new();
    for (key, key_node, value) in &fields.entries {
        let Some(text) = r.string(value, "a body fact") else {
            continue;
        };
        match text.parse::<BodyFact>() {
            Ok(fact) => entries.push(BodyEntry {
                key: key.clone(),
                pos: key_node.pos,
                value: fact,
            }),
            Err(unknown) => r.diags.error(value.pos, unknown.to_string()),
        }
    }
    entries
}

/// The body fact `principal` (a member of `groups`) must get: its own key,
/// else its groups' (which must agree), else `*`; `None` when none is named.
pub fn resolve_body(
    entries: &[BodyEntry],
    principal: &str,
    groups: &[&str],
) -> Result<Option<BodyFact>, Vec<(String, BodyFact)>> {
    let lookup = |key: &str| entries.iter().find(|e| e.key == key).map(|e| e.value);
    if let Some(fact) = lookup(principal) {
        return Ok(Some(fact));
    }
    let from_groups: Vec<(String, BodyFact)> = groups
        .iter()
        .filter_map(|g| lookup(g).map(|fact| (g.to_string(), fact)))
        .collect();
    if let Some((_, first)) = from_groups.first() {
        if from_groups.iter().all(|(_, fact)| fact == first) {
            return Ok(Some(*first));
        }
        return Err(from_groups);
    }
    Ok(lookup(WILDCARD))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, value: BodyFact) -> BodyEntry {
        BodyEntry {
            key: key.into(),
            pos: Pos::default(),
            value,
        }
    }

    #[test]
    fn a_principal_wins_over_its_groups_and_groups_over_the_wildcard() {
        let entries = [
            entry("*", BodyFact::Differs),
            entry("owners", BodyFact::Same),
            entry("alice", BodyFact::Same),
        ];
        assert_eq!(
            resolve_body(&entries, "alice", &[]),
            Ok(Some(BodyFact::Same))
        );
        assert_eq!(
            resolve_body(&entries, "carol", &["owners"]),
            Ok(Some(BodyFact::Same))
        );
        assert_eq!(
            resolve_body(&entries, "bob", &[]),
            Ok(Some(BodyFact::Differs))
        );
        assert_eq!(resolve_body(&entries[1..], "bob", &[]), Ok(None));
        let conflicting = [entry("a", BodyFact::Same), entry("b", BodyFact::Differs)];
        assert!(resolve_body(&conflicting, "x", &["a", "b"]).is_err());
    }

    #[test]
    fn facts_read_back_with_their_reference() {
        for fact in [BodyFact::Same, BodyFact::Differs, BodyFact::NotApplicable] {
            let text = fact.against("alice");
            let (back, reference) = BodyFact::parse_against(&text).unwrap();
            assert_eq!(back, fact);
            assert_eq!(reference.is_some(), fact != BodyFact::NotApplicable);
        }
        assert_eq!(BodyFact::parse_against("same-ish"), None);
    }
}
