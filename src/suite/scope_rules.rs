//! Scopes as data: what an endpoint requires (`scopes:`), what a scope implies
//! (`scope_implies:`) and the closed set a suite may name (`scopes_known:`),
//! read and checked at load.

use std::collections::{BTreeMap, BTreeSet};

use super::diag::nearest;
use super::read::Reader;
use super::yaml::{Node, Pos, Value};

/// The scopes an endpoint requires: any one alternative, every scope of it.
///
/// `scopes: [ADMIN]` is one alternative; `scopes: [[READ], [ADMIN]]` is two
/// (an OpenAPI operation with several security requirements); `scopes: []`
/// documents that no scope is needed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Required {
    /// Each alternative, scopes in written order.
    pub alternatives: Vec<Vec<String>>,
}

impl Required {
    /// The first alternative whose scopes `held` all contains (a closure).
    pub fn met_by(&self, held: &BTreeSet<String>) -> Option<&[String]> {
        if self.alternatives.is_empty() {
            return Some(&[]);
        }
        self.alternatives
            .iter()
            .find(|alternative| alternative.iter().all(|s| held.contains(s)))
            .map(Vec::as_slice)
    }

    /// Every scope named, alternatives flattened.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.alternatives.iter().flatten().map(String::as_str)
    }

    /// `ADMIN`, `READ + WRITE`, `READ | ADMIN`, or `(none)`, for text output.
    pub fn describe(&self) -> String {
        let alternatives: Vec<String> = self
            .alternatives
            .iter()
            .filter(|a| !a.is_empty())
            .map(|a| a.join(" + "))
            .collect();
        if alternatives.len() < self.alternatives.len() || alternatives.is_empty() {
            return "(none)".into();
        }
        alternatives.join(" | ")
    }
}

/// A suite's `scope_implies:` and `scopes_known:`.
#[derive(Clone, Debug, Default)]
pub struct ScopeRules {
    /// Scope → the scopes holding it also holds (direct ones; checked acyclic).
    pub implies: BTreeMap<String, Vec<String>>,
    /// `scopes_known:`: the closed set of scope names, when declared.
    pub known: Option<BTreeSet<String>>,
}

impl ScopeRules {
    /// `held` with everything it implies, transitively.
    pub fn closure<'a>(&self, held: impl IntoIterator<Item = &'a String>) -> BTreeSet<String> {
        let mut closure = BTreeSet::new();
        let mut pending: Vec<&str> = held.into_iter().map(String::as_str).collect();
        while let Some(scope) = pending.pop() {
            if closure.insert(scope.to_string())
                && let Some(implied) = self.implies.get(scope)
            {
                pending.extend(implied.iter().map(String::as_str));
            }
        }
        closure
    }
}

/// The closest of `candidates` to `scope`: the same name in another case
/// first (OAuth scopes are case-sensitive), else the nearest spelling.
pub fn nearest_scope<'c>(
    scope: &str,
    candidates: impl IntoIterator<Item = &'c str> + Clone,
) -> Option<&'c str> {
    candidates
        .clone()
        .into_iter()
        .find(|c| c.eq_ignore_ascii_case(scope))
        .or_else(|| nearest(scope, candidates))
}

/// Reads `scopes_known:` and `scope_implies:` (names checked against the
/// former, the latter checked for cycles).
pub(super) fn read_rules(
    r: &mut Reader<'_>,
    known: Option<&Node>,
    implies: Option<&Node>,
) -> ScopeRules {
    let known: Option<BTreeSet<String>> = known.map(|node| {
        names(r, node, "scopes_known")
            .into_iter()
            .map(|(name, _)| name)
            .collect()
    });
    let implies = implies
        .map(|node| read_implies(r, node, known.as_ref()))
        .unwrap_or_default();
    ScopeRules { implies, known }
}

/// Reads a `scope_implies:` map, its names checked against `known` when
/// given; a cycle is an error, and leaves the map empty.
pub(super) fn read_implies(
    r: &mut Reader<'_>,
    node: &Node,
    known: Option<&BTreeSet<String>>,
) -> BTreeMap<String, Vec<String>> {
    let mut implies = BTreeMap::new();
    let Some(fields) = r.map(node, "scope_implies", None) else {
        return implies;
    };
    let mut key_pos: BTreeMap<String, Pos> = BTreeMap::new();
    for (scope, key, value) in &fields.entries {
        check_known(r, known, scope, key.pos);
        // `WRITE: READ` is read as `WRITE: [READ]`.
        let implied = match &value.value {
            Value::Seq(_) | Value::Null => names(r, value, &format!("scope_implies.{scope}")),
            _ => names_of(r, std::slice::from_ref(*value), "scope_implies"),
        };
        for (name, pos) in &implied {
            check_known(r, known, name, *pos);
        }
        key_pos.insert(scope.clone(), key.pos);
        implies.insert(scope.clone(), implied.into_iter().map(|(n, _)| n).collect());
    }
    if let Some(cycle) = find_cycle(&implies) {
        let pos = key_pos.get(&cycle[0]).copied().unwrap_or(fields.pos);
        r.diags.error_with_help(
            pos,
            format!("scope_implies has a cycle: {}", cycle.join(" → ")),
            "a scope cannot imply itself, directly or through others; name one scope for what the cycle means",
        );
        implies.clear();
    }
    implies
}

/// A principal's `scopes:`, the scopes it holds.
pub(super) fn read_held(r: &mut Reader<'_>, rules: &ScopeRules, node: &Node) -> Vec<String> {
    names(r, node, "scopes")
        .into_iter()
        .map(|(name, pos)| {
            check_known(r, rules.known.as_ref(), &name, pos);
            name
        })
        .collect()
}

/// An endpoint's (or `defaults`') `scopes:`: a list of scopes, or a list of alternatives.
pub(super) fn read_required(r: &mut Reader<'_>, rules: &ScopeRules, node: &Node) -> Required {
    let items = r.seq(node, "scopes").unwrap_or_default();
    let lists = items
        .iter()
        .filter(|i| matches!(i.value, Value::Seq(_)))
        .count();
    let alternatives: Vec<Vec<(String, Pos)>> = if lists == 0 {
        vec![names_of(r, items, "scopes")]
    } else if lists == items.len() {
        items
            .iter()
            .map(|item| names(r, item, "an alternative of scopes"))
            .collect()
    } else {
        r.diags.error_with_help(
            node.pos,
            "`scopes:` mixes scopes and lists",
            "write `scopes: [A, B]` when A and B are both needed, or `scopes: [[A], [B]]` when either will do",
        );
        Vec::new()
    };
    let alternatives = alternatives
        .into_iter()
        .map(|alternative| {
            alternative
                .into_iter()
                .map(|(name, pos)| {
                    check_known(r, rules.known.as_ref(), &name, pos);
                    name
                })
                .collect()
        })
        .collect();
    Required { alternatives }
}

/// The scope names of a list node.
fn names(r: &mut Reader<'_>, node: &Node, what: &str) -> Vec<(String, Pos)> {
    let items = r.seq(node, what).unwrap_or_default();
    names_of(r, items, what)
}

fn names_of(r: &mut Reader<'_>, items: &[Node], what: &str) -> Vec<(String, Pos)> {
    let mut seen = BTreeSet::new();
    items
        .iter()
        .filter_map(|item| {
            let name = item.scalar_text().map(|s| s.trim().to_string());
            match name {
                Some(name) if !name.is_empty() && !name.chars().any(char::is_whitespace) => {
                    seen.insert(name.clone()).then_some((name, item.pos))
                }
                Some(name) if !name.is_empty() => {
                    r.diags.error_with_help(
                        item.pos,
                        format!("scope `{name}` in {what} contains a space"),
                        "write each scope as its own list item: `[read, write]`",
                    );
                    None
                }
                _ => {
                    r.diags.error(
                        item.pos,
                        format!("a scope is a name, found {} (in {what})", item.value.kind()),
                    );
                    None
                }
            }
        })
        .collect()
}

/// A load error when the suite declares `scopes_known` and `name` is not in it.
fn check_known(r: &mut Reader<'_>, known: Option<&BTreeSet<String>>, name: &str, pos: Pos) {
    let Some(known) = known else {
        return;
    };
    if known.contains(name) {
        return;
    }
    let help = match nearest_scope(name, known.iter().map(String::as_str)) {
        Some(near) => format!("did you mean `{near}`?"),
        None => format!(
            "`scopes_known` lists {}",
            known.iter().cloned().collect::<Vec<_>>().join(", ")
        ),
    };
    r.diags.error_with_help(
        pos,
        format!("unknown scope `{name}`: it is not in `scopes_known`"),
        help,
    );
}

/// A cycle of `implies`, as the path that closes it (`A → B → A`), if any.
fn find_cycle(implies: &BTreeMap<String, Vec<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit<'a>(
        scope: &'a str,
        implies: &'a BTreeMap<String, Vec<String>>,
        marks: &mut BTreeMap<&'a str, Mark>,
        path: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        match marks.get(scope) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let start = path.iter().position(|s| *s == scope).unwrap_or(0);
                let mut cycle: Vec<String> = path[start..].iter().map(|s| s.to_string()).collect();
                cycle.push(scope.to_string());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(scope, Mark::Open);
        path.push(scope);
        for next in implies.get(scope).into_iter().flatten() {
            if let Some(cycle) = visit(next, implies, marks, path) {
                return Some(cycle);
            }
        }
        path.pop();
        marks.insert(scope, Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    implies
        .keys()
        .find_map(|scope| visit(scope, implies, &mut marks, &mut Vec::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(pairs: &[(&str, &[&str])]) -> ScopeRules {
        ScopeRules {
            implies: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
                .collect(),
            known: None,
        }
    }

    #[test]
    fn closure_is_transitive_and_alternatives_any_of() {
        let jira = rules(&[
            ("ADMIN", &["PROJECT_ADMIN"]),
            ("PROJECT_ADMIN", &["DELETE"]),
            ("DELETE", &["WRITE"]),
            ("WRITE", &["READ"]),
        ]);
        let held = jira.closure(&["ADMIN".to_string()]);
        assert!(held.contains("READ") && held.contains("ADMIN") && held.len() == 5);
        let either = Required {
            alternatives: vec![vec!["READ".into()], vec!["ACT_AS_USER".into()]],
        };
        assert_eq!(either.met_by(&held), Some(&["READ".to_string()][..]));
        assert_eq!(either.met_by(&jira.closure(&[])), None);
        assert_eq!(Required::default().met_by(&BTreeSet::new()), Some(&[][..]));
        assert_eq!(either.describe(), "READ | ACT_AS_USER");
    }

    #[test]
    fn cycles_are_found_with_their_path() {
        let cycle = find_cycle(&rules(&[("A", &["B"]), ("B", &["C"]), ("C", &["A"])]).implies);
        assert_eq!(
            cycle,
            Some(vec!["A".into(), "B".into(), "C".into(), "A".into()])
        );
        assert_eq!(
            find_cycle(&rules(&[("A", &["A"])]).implies),
            Some(vec!["A".into(), "A".into()])
        );
        assert_eq!(
            find_cycle(&rules(&[("A", &["B"]), ("C", &["B"])]).implies),
            None
        );
    }

    #[test]
    fn a_case_slip_is_suggested_before_a_spelling() {
        assert_eq!(nearest_scope("read", ["READ", "READER"]), Some("READ"));
        assert_eq!(nearest_scope("ADMN", ["ADMIN", "READ"]), Some("ADMIN"));
    }
}
