//! `items:` and `expect_items:`: which objects a list answer holds, read
//! per cell, and what each principal must (not) see in it.

use super::decide::{Pointer, Segment};
use super::diag::nearest;
use super::read::Reader;
use super::template::Template;
use super::yaml::{Node, Pos, Value};

/// An endpoint's `items:`: where its answer lists objects, and how pages follow.
#[derive(Clone, Debug)]
pub struct Items {
    /// `at`: the list.
    pub at: Pointer,
    /// `id`: each item's identity (several joined with `/`); empty: the whole item.
    pub id: Vec<Pointer>,
    /// `max_pages`: pages followed at most (the first included).
    pub max_pages: u32,
    /// `next`: how the next page is found.
    pub next: Option<Next>,
    /// `max_body`: how much of each page is read (a list is larger than a cell's 64 KiB).
    pub max_body: usize,
    /// Where `items:` is.
    pub pos: Pos,
}

/// How a list's next page is found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    /// `{ header: Link, rel: next }` (RFC 8288).
    Link {
        /// The header, lower case.
        header: String,
        /// The relation.
        rel: String,
    },
    /// `{ header: Next-Page }`: the whole value is the next URL.
    Header(String),
    /// `{ json: /next }`: the value is a URL, absolute or relative to the target.
    JsonUrl(Pointer),
    /// `{ json: /next_page_token, param: page_token }`: a token sent back as that query parameter.
    JsonToken {
        /// Where the token is.
        pointer: Pointer,
        /// The query parameter it goes back in.
        param: String,
    },
}

/// How many items a rule wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Count {
    /// `count: N`.
    Exactly(usize),
    /// `count: "<=N"`.
    AtMost(usize),
    /// `count: ">=N"`.
    AtLeast(usize),
}

impl Count {
    /// Whether `n` items satisfy it.
    pub fn holds(self, n: usize) -> bool {
        match self {
            Count::Exactly(c) => n == c,
            Count::AtMost(c) => n <= c,
            Count::AtLeast(c) => n >= c,
        }
    }
}

impl std::fmt::Display for Count {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Count::Exactly(c) => write!(f, "{c}"),
            Count::AtMost(c) => write!(f, "<={c}"),
            Count::AtLeast(c) => write!(f, ">={c}"),
        }
    }
}

/// One rule of `expect_items`: every part given must hold.
#[derive(Clone, Debug, Default)]
pub struct ItemsRule {
    /// `includes`: ids that must be seen.
    pub includes: Vec<Template>,
    /// `excludes`: ids that must not be seen.
    pub excludes: Vec<Template>,
    /// `exactly`: the whole set.
    pub exactly: Option<Vec<Template>>,
    /// `count`.
    pub count: Option<Count>,
    /// `subset_of`: a principal that sees everything this one sees.
    pub subset_of: Option<String>,
    /// `same_as`: a principal that sees the same set.
    pub same_as: Option<String>,
}

/// One key of `expect_items` and its rule.
#[derive(Clone, Debug)]
pub struct ItemsEntry {
    /// A principal, a group or `*`.
    pub key: String,
    /// Where the key is.
    pub pos: Pos,
    /// The rule.
    pub rule: ItemsRule,
}

const ITEMS_KEYS: &[&str] = &["at", "id", "max_pages", "next", "max_body"];
/// How much of each page of a list is read unless `max_body` says otherwise.
pub const MAX_BODY: usize = 1024 * 1024;
/// The largest `max_body`.
const MAX_BODY_CEILING: usize = 64 * 1024 * 1024;
const NEXT_KEYS: &[&str] = &["header", "rel", "json", "param"];
const RULE_KEYS: &[&str] = &[
    "includes",
    "excludes",
    "exactly",
    "count",
    "subset_of",
    "same_as",
];
/// Pages followed at most when `max_pages` is not given.
pub const MAX_PAGES: u32 = 10;

/// A pointer for `items`, whose segments name one value (no `*`).
fn plain_pointer(r: &mut Reader<'_>, node: &Node, what: &str) -> Option<Pointer> {
    let text = r.string(node, what)?;
    let pointer = match Pointer::parse(&text) {
        Ok(pointer) => pointer,
        Err(e) => {
            r.diags.error(node.pos, format!("{what}: {e}"));
            return None;
        }
    };
    if pointer.segments.contains(&Segment::Any) {
        r.diags.error(
            node.pos,
            format!("{what}: `{text}` names one value: `*` has no place in it"),
        );
        return None;
    }
    Some(pointer)
}

/// Reads an endpoint's `items:`.
pub(super) fn read_items(r: &mut Reader<'_>, node: &Node) -> Option<Items> {
    let f = r.map(node, "items", Some(ITEMS_KEYS))?;
    let Some(at_node) = f.get("at") else {
        r.diags.error_with_help(
            node.pos,
            "`items:` has no `at:`",
            "name the list with a JSON pointer, e.g. `items: { at: /issues, id: /key }`",
        );
        return None;
    };
    let at = plain_pointer(r, at_node, "items.at")?;
    let id = match f.get("id") {
        None => Vec::new(),
        Some(n) => match &n.value {
            Value::Seq(list) => list
                .iter()
                .filter_map(|p| plain_pointer(r, p, "items.id"))
                .collect(),
            _ => vec![plain_pointer(r, n, "items.id")?],
        },
    };
    let max_pages = match f.get("max_pages") {
        Some(n) => r.integer(n, "items.max_pages", 1, 1000)? as u32,
        None => MAX_PAGES,
    };
    let next = match f.get("next") {
        Some(n) => Some(read_next(r, n)?),
        None => None,
    };
    let max_body = match f.get("max_body") {
        Some(n) => read_size(r, n)?,
        None => MAX_BODY,
    };
    Some(Items {
        at,
        id,
        max_pages,
        next,
        max_body,
        pos: node.pos,
    })
}

/// A size: bytes, or with `KiB`/`MiB` (`4MiB`), up to 64 MiB.
fn read_size(r: &mut Reader<'_>, node: &Node) -> Option<usize> {
    let text = node.scalar_text().unwrap_or_default();
    let trimmed = text.trim();
    let (digits, unit) = match trimmed.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => trimmed.split_at(at),
        None => (trimmed, ""),
    };
    let unit = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" | "kb" | "k" => 1024,
        "mib" | "mb" | "m" => 1024 * 1024,
        _ => 0,
    };
    match digits
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
    {
        Some(size) if (1024..=MAX_BODY_CEILING).contains(&size) => Some(size),
        _ => {
            r.diags.error(
                node.pos,
                format!("`max_body: {trimmed}` is not a size from 1KiB to 64MiB (e.g. 4MiB)"),
            );
            None
        }
    }
}

fn read_next(r: &mut Reader<'_>, node: &Node) -> Option<Next> {
    let f = r.map(node, "items.next", Some(NEXT_KEYS))?;
    let text = |r: &mut Reader<'_>, key: &str| f.get(key).and_then(|n| r.string(n, key));
    match (f.get("header"), f.get("json")) {
        (Some(_), Some(_)) | (None, None) => {
            r.diags.error_with_help(
                node.pos,
                "`items.next` takes one of `header:` or `json:`",
                "{ header: Link, rel: next }, { header: Next-Page }, { json: /next } or { json: /next_page_token, param: page_token }",
            );
            None
        }
        (Some(_), None) => {
            let header = text(r, "header")?.to_ascii_lowercase();
            if f.get("param").is_some() {
                r.diags.error(
                    f.key_pos("param").unwrap_or(node.pos),
                    "`param:` goes with `json:` (a token in the body), not with `header:`",
                );
                return None;
            }
            match text(r, "rel") {
                Some(rel) => Some(Next::Link { header, rel }),
                None if header == "link" => Some(Next::Link {
                    header,
                    rel: "next".into(),
                }),
                None => Some(Next::Header(header)),
            }
        }
        (None, Some(json)) => {
            let pointer = plain_pointer(r, json, "items.next.json")?;
            if f.get("rel").is_some() {
                r.diags.error(
                    f.key_pos("rel").unwrap_or(node.pos),
                    "`rel:` goes with `header: Link`, not with `json:`",
                );
                return None;
            }
            Some(match text(r, "param") {
                Some(param) => Next::JsonToken { pointer, param },
                None => Next::JsonUrl(pointer),
            })
        }
    }
}

/// Reads `expect_items:`.
pub(super) fn read_expect_items(r: &mut Reader<'_>, node: &Node) -> Vec<ItemsEntry> {
    let Some(fields) = r.map(node, "expect_items", None) else {
        return Vec::new();
    };
    let mut entries = Vec::new();
    for (key, key_node, value) in &fields.entries {
        if let Some(rule) = read_rule(r, value) {
            entries.push(ItemsEntry {
                key: key.clone(),
                pos: key_node.pos,
                rule,
            });
        }
    }
    entries
}

fn read_rule(r: &mut Reader<'_>, node: &Node) -> Option<ItemsRule> {
    let f = r.map(node, "an items rule", Some(RULE_KEYS))?;
    if f.entries.is_empty() {
        r.diags.error_with_help(
            node.pos,
            "an items rule asks nothing",
            "use includes, excludes, exactly, count, subset_of or same_as",
        );
        return None;
    }
    let ids = |r: &mut Reader<'_>, key: &str| -> Option<Vec<Template>> {
        let n = f.get(key)?;
        let list = r.seq(n, key)?;
        Some(
            list.iter()
                .filter_map(|item| match item.scalar_text() {
                    Some(text) => match Template::parse(&text, item.pos) {
                        Ok(t) => Some(t),
                        Err(e) => {
                            r.diags.error(item.pos, format!("{key}: {e}"));
                            None
                        }
                    },
                    None => {
                        r.diags.error(
                            item.pos,
                            format!("{key}: an id is text, found {}", item.value.kind()),
                        );
                        None
                    }
                })
                .collect(),
        )
    };
    let count = match f.get("count") {
        None => None,
        Some(n) => Some(read_count(r, n)?),
    };
    Some(ItemsRule {
        includes: ids(r, "includes").unwrap_or_default(),
        excludes: ids(r, "excludes").unwrap_or_default(),
        exactly: ids(r, "exactly"),
        count,
        subset_of: f.get("subset_of").and_then(|n| r.string(n, "subset_of")),
        same_as: f.get("same_as").and_then(|n| r.string(n, "same_as")),
    })
}

fn read_count(r: &mut Reader<'_>, node: &Node) -> Option<Count> {
    let text = node.scalar_text().unwrap_or_default();
    let text = text.trim();
    let (make, digits): (fn(usize) -> Count, &str) = if let Some(rest) = text.strip_prefix("<=") {
        (Count::AtMost, rest)
    } else if let Some(rest) = text.strip_prefix(">=") {
        (Count::AtLeast, rest)
    } else {
        (Count::Exactly, text)
    };
    match digits.trim().parse::<usize>() {
        Ok(n) => Some(make(n)),
        Err(_) => {
            r.diags.error(
                node.pos,
                format!("`count: {text}` is not a count: write 3, \"<=3\" or \">=3\""),
            );
            None
        }
    }
}

/// Checks an endpoint's `expect_items` against the suite's principals and
/// groups, and resolves each principal's rule (an index into the entries).
pub(super) fn check(
    r: &mut Reader<'_>,
    principals: &[&str],
    groups_of: &dyn Fn(&str) -> Vec<String>,
    keys: &[&str],
    endpoint: &mut super::Endpoint,
) {
    if endpoint.items.is_none() && !endpoint.expect_items.is_empty() {
        let pos = endpoint.expect_items[0].pos;
        r.diags.error_with_help(
            pos,
            "`expect_items:` needs `items:`: the ids are read where `items.at` says",
            "add `items: { at: /list, id: /id }`",
        );
    }
    let entries = endpoint
        .expect_items
        .iter()
        .map(|e| (e.key.as_str(), e.pos));
    super::expect::check_entry_keys(r, "expect_items", entries, keys);
    for entry in &endpoint.expect_items {
        for other in [&entry.rule.subset_of, &entry.rule.same_as]
            .into_iter()
            .flatten()
        {
            if !principals.contains(&other.as_str()) {
                let help = nearest(other, principals.iter().copied())
                    .map(|n| format!("did you mean `{n}`?"))
                    .unwrap_or_else(|| "`subset_of` and `same_as` name a principal".into());
                r.diags.error_with_help(
                    entry.pos,
                    format!("`expect_items` compares with unknown principal `{other}`"),
                    help,
                );
            }
        }
    }
    endpoint.resolved_items.clear();
    for principal in principals {
        let groups = groups_of(principal);
        let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
        let resolved = match super::expect::resolve_keyed(
            &endpoint.expect_items,
            |e| &e.key,
            principal,
            &groups,
        ) {
            Ok(found) => found,
            Err(conflict) => {
                r.diags.error_with_help(
                    endpoint.pos,
                    format!(
                        "conflicting items rules for principal `{principal}` in endpoint `{}` through its groups ({})",
                        endpoint.name,
                        conflict.join(", ")
                    ),
                    format!("name `{principal}` in this endpoint's expect_items"),
                );
                None
            }
        };
        endpoint.resolved_items.push(resolved);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_as_written() {
        assert!(Count::Exactly(2).holds(2));
        assert!(Count::AtMost(2).holds(1) && !Count::AtMost(2).holds(3));
        assert!(Count::AtLeast(2).holds(5) && !Count::AtLeast(2).holds(1));
        assert_eq!(Count::AtMost(3).to_string(), "<=3");
    }
}
