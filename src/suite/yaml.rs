//! A YAML document as a tree of nodes that each remember where they came from.
//!
//! serde-saphyr stops at the first deserialization error, but a suite author
//! wants every problem at once; so YAML is read into this lenient tree (only a
//! syntax error stops it) and the suite is validated from it by hand.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// A position in a source file, 1-based.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    /// Line number, starting at 1 (0 when unknown).
    pub line: u32,
    /// Column number, starting at 1 (0 when unknown).
    pub column: u32,
}

/// One YAML node with its position.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Where the node starts.
    pub pos: Pos,
    /// What the node holds.
    pub value: Value,
    /// A number's or boolean's text as written (`1.10`, `0x1F`), so that using
    /// it as text never changes it.
    pub raw: Option<String>,
    /// The node's byte range in the source, when known.
    pub bytes: Option<(usize, usize)>,
}

/// The content of a [`Node`].
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `~`, `null` or nothing.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// Any string scalar.
    Str(String),
    /// A sequence, in order.
    Seq(Vec<Node>),
    /// A mapping, in source order, duplicates kept (validation reports them).
    Map(Vec<(Node, Node)>),
}

impl Value {
    /// What kind of YAML value this is, for messages ("expected a map, found a string").
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a map",
        }
    }
}

impl Node {
    /// The string content of a scalar key or value, if it is a string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The scalar as text, numbers and booleans exactly as written, for keys and strings.
    pub fn scalar_text(&self) -> Option<String> {
        if let Some(raw) = &self.raw {
            return Some(raw.clone());
        }
        match &self.value {
            Value::Str(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Null | Value::Seq(_) | Value::Map(_) => None,
        }
    }
}

/// Parses one YAML document; the error is the first syntax problem, located.
pub fn parse(text: &str) -> Result<Node, (Pos, String)> {
    // YAML 1.2 spellings only: `no`, `on`, `y` and `007` stay text.
    let options = serde_saphyr::options! {
        strict_booleans: true,
        leading_zero_numbers_as_strings: true,
        underscored_numbers_as_strings: true,
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::PassThrough,
        budget: Some(suite_budget()),
    };
    let parsed: Result<Option<Spanned<RawNode>>, _> =
        serde_saphyr::from_str_with_options(text, options);
    match parsed {
        Ok(Some(root)) => Ok(with_raw_text(into_node(root), text)),
        Ok(None) => Ok(Node {
            pos: Pos { line: 1, column: 1 },
            value: Value::Null,
            raw: None,
            bytes: None,
        }),
        Err(err) => {
            let pos = err.location().map(pos_of).unwrap_or_default();
            Err((pos, first_line(&err.to_string())))
        }
    }
}

/// Limits far above any real suite (thousands of endpoints) and far below what
/// an alias bomb expands to, so hostile files fail fast instead of exhausting memory.
fn suite_budget() -> serde_saphyr::Budget {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_reader_input_bytes = Some(16 * 1024 * 1024);
    budget.max_events = 500_000;
    budget.max_aliases = 10_000;
    budget.max_nodes = 200_000;
    budget.max_total_scalar_bytes = 16 * 1024 * 1024;
    budget
}

fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or(message).trim().to_string()
}

fn pos_of(loc: serde_saphyr::Location) -> Pos {
    let clamp = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
    Pos {
        line: clamp(loc.line()),
        column: clamp(loc.column()),
    }
}

fn into_node(spanned: Spanned<RawNode>) -> Node {
    let span = spanned.referenced.span();
    let bytes = match (span.byte_offset(), span.byte_len()) {
        (Some(start), Some(len)) => usize::try_from(start).ok().zip(usize::try_from(len).ok()),
        _ => None,
    };
    Node {
        pos: pos_of(spanned.referenced),
        value: spanned.value.0,
        raw: None,
        bytes,
    }
}

/// Fills in the source text of numbers and booleans.
fn with_raw_text(mut node: Node, text: &str) -> Node {
    if matches!(node.value, Value::Int(_) | Value::Float(_) | Value::Bool(_)) {
        node.raw = node
            .bytes
            .and_then(|(start, len)| text.get(start..start.checked_add(len)?))
            .map(|slice| slice.trim().to_string());
    }
    node.value = match node.value {
        Value::Seq(items) => {
            Value::Seq(items.into_iter().map(|n| with_raw_text(n, text)).collect())
        }
        Value::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (with_raw_text(k, text), with_raw_text(v, text)))
                .collect(),
        ),
        other => other,
    };
    node
}

/// The deserialization target: a [`Value`] whose children carry spans.
struct RawNode(Value);

impl<'de> Deserialize<'de> for RawNode {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = RawNode;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<RawNode, E> {
        Ok(RawNode(Value::Null))
    }
    fn visit_none<E>(self) -> Result<RawNode, E> {
        Ok(RawNode(Value::Null))
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<RawNode, D::Error> {
        RawNode::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<RawNode, E> {
        Ok(RawNode(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<RawNode, E> {
        Ok(RawNode(Value::Int(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<RawNode, E> {
        Ok(RawNode(match i64::try_from(v) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::Str(v.to_string()),
        }))
    }
    fn visit_i128<E>(self, v: i128) -> Result<RawNode, E> {
        Ok(RawNode(Value::Str(v.to_string())))
    }
    fn visit_u128<E>(self, v: u128) -> Result<RawNode, E> {
        Ok(RawNode(Value::Str(v.to_string())))
    }
    fn visit_f64<E>(self, v: f64) -> Result<RawNode, E> {
        Ok(RawNode(Value::Float(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<RawNode, E> {
        Ok(RawNode(Value::Str(v.to_string())))
    }
    fn visit_string<E>(self, v: String) -> Result<RawNode, E> {
        Ok(RawNode(Value::Str(v)))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<RawNode, E> {
        Ok(RawNode(Value::Str(String::from_utf8_lossy(v).into_owned())))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawNode, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<RawNode>>()? {
            items.push(into_node(item));
        }
        Ok(RawNode(Value::Seq(items)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawNode, A::Error> {
        let mut entries = Vec::new();
        while let Some((key, value)) = map.next_entry::<Spanned<RawNode>, Spanned<RawNode>>()? {
            entries.push((into_node(key), into_node(value)));
        }
        Ok(RawNode(Value::Map(entries)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_positions_and_duplicate_keys() {
        let node = parse("a: 1\nb:\n  - x\n  - {c: 2}\na: 3\n").unwrap();
        let Value::Map(entries) = &node.value else {
            panic!("not a map: {node:?}")
        };
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[2].0.pos, Pos { line: 5, column: 1 });
        let Value::Seq(items) = &entries[1].1.value else {
            panic!("not a seq")
        };
        assert_eq!(items[1].pos, Pos { line: 4, column: 5 });
        let Value::Map(inner) = &items[1].value else {
            panic!("not a map")
        };
        assert_eq!(inner[0].0.pos, Pos { line: 4, column: 6 });
    }

    #[test]
    fn scalars_used_as_text_keep_their_spelling() {
        let node =
            parse("ver: 1.10\nzip: 01234\nbig: 1e3\nhex: 0x1F\nflag: yes\nno: on\n007: x\nn: 12\n")
                .unwrap();
        let Value::Map(entries) = &node.value else {
            panic!("not a map")
        };
        let texts: Vec<(String, String)> = entries
            .iter()
            .map(|(k, v)| (k.scalar_text().unwrap(), v.scalar_text().unwrap()))
            .collect();
        let expected = [
            ("ver", "1.10"),
            ("zip", "01234"),
            ("big", "1e3"),
            ("hex", "0x1F"),
            ("flag", "yes"),
            ("no", "on"),
            ("007", "x"),
            ("n", "12"),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(texts, expected);
        assert_eq!(entries[7].1.value, Value::Int(12));
    }

    #[test]
    fn syntax_error_is_located() {
        let (pos, message) = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(pos.line >= 1, "{pos:?} {message}");
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut doc = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let prev = i - 1;
            doc.push_str(&format!("a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"));
        }
        assert!(parse(&doc).is_err());
    }
}
