//! A YAML document as a tree of nodes that each remember where they came from.
//!
//! A suite author wants every problem at once, not only the first; so YAML is
//! read into this lenient tree (only a syntax error stops it) and the suite is
//! validated from it by hand. The tree is built straight from the events of
//! serde-saphyr's parser (`serde_saphyr::granit_parser`): going through serde's
//! data model with a span on every node cost three times as much, and a suite
//! of thousands of endpoints is loaded on every run.

use std::borrow::Cow;
use std::collections::HashMap;

use serde_saphyr::granit_parser::{Event, Marker, Parser, ScalarStyle, ScanError, Span, Tag};

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

impl Node {
    /// The value as JSON; a key that is not plain text is dropped.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(J::Number)
                .unwrap_or(J::Null),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .filter_map(|(k, v)| Some((k.scalar_text()?, v.to_json())))
                    .collect(),
            ),
        }
    }
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

/// Limits far above any real suite (tens of thousands of endpoints) and far
/// below what an alias bomb expands to, so hostile files fail fast instead of
/// exhausting memory.
mod budget {
    /// Parser events in one file.
    pub(super) const MAX_EVENTS: usize = 1_000_000;
    /// Aliases (`*name`) in one file.
    pub(super) const MAX_ALIASES: usize = 10_000;
    /// Nodes in the tree, aliases counted at their expanded size.
    pub(super) const MAX_NODES: usize = 500_000;
    /// Collections open at once.
    pub(super) const MAX_DEPTH: usize = 64;
}

/// Parses one YAML document; the error is the first syntax problem, located.
pub fn parse(text: &str) -> Result<Node, (Pos, String)> {
    let mut builder = Builder::default();
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| scan_error(&e))?;
        builder.event(event, span, text)?;
    }
    Ok(builder.root.unwrap_or(Node {
        pos: Pos { line: 1, column: 1 },
        value: Value::Null,
        raw: None,
    }))
}

fn scan_error(error: &ScanError) -> (Pos, String) {
    (pos_of(error.marker()), error.info())
}

fn pos_of(marker: &Marker) -> Pos {
    let clamp = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Pos {
        line: clamp(marker.line()),
        column: clamp(marker.col().saturating_add(1)),
    }
}

/// A collection being read: the node (its value filled in at the end), its
/// anchor, and how many nodes it stands for so far.
struct Open {
    node: Node,
    anchor: usize,
    weight: usize,
    children: Children,
}

/// The children of an [`Open`] collection so far.
enum Children {
    Seq(Vec<Node>),
    /// A mapping's entries, and a key waiting for its value.
    Map(Vec<(Node, Node)>, Option<Node>),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Open>,
    anchors: HashMap<usize, (Node, usize)>,
    root: Option<Node>,
    documents: usize,
    events: usize,
    aliases: usize,
    nodes: usize,
}

impl Builder {
    fn event(&mut self, event: Event<'_>, span: Span, text: &str) -> Result<(), (Pos, String)> {
        let pos = pos_of(&span.start);
        self.events += 1;
        if self.events > budget::MAX_EVENTS {
            return Err((
                pos,
                "the file is too large: over 1,000,000 YAML events".into(),
            ));
        }
        match event {
            Event::DocumentStart(..) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err((
                        pos,
                        "more than one YAML document (`---`) in the file".into(),
                    ));
                }
            }
            Event::Scalar(value, style, anchor, tag) => {
                let node = scalar(value, style, tag.as_deref(), &span, text)?;
                self.count(1, pos)?;
                self.attach(node, anchor, 1)?;
            }
            Event::SequenceStart(_, anchor, tag) => {
                self.open(
                    tag.as_deref(),
                    "seq",
                    pos,
                    anchor,
                    Children::Seq(Vec::new()),
                )?;
            }
            Event::MappingStart(_, anchor, tag) => {
                self.open(
                    tag.as_deref(),
                    "map",
                    pos,
                    anchor,
                    Children::Map(Vec::new(), None),
                )?;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(open) = self.stack.pop() {
                    let mut node = open.node;
                    node.value = match open.children {
                        Children::Seq(items) => Value::Seq(items),
                        Children::Map(entries, _) => Value::Map(merge_keys(entries)?),
                    };
                    self.attach(node, open.anchor, open.weight)?;
                }
            }
            Event::Alias(id) => {
                self.aliases += 1;
                if self.aliases > budget::MAX_ALIASES {
                    return Err((pos, "too many aliases (`*name`): over 10,000".into()));
                }
                let Some((node, weight)) = self.anchors.get(&id) else {
                    return Err((pos, "an alias to an unknown anchor".into()));
                };
                let (mut node, weight) = (node.clone(), *weight);
                node.pos = pos;
                self.count(weight, pos)?;
                self.attach(node, 0, weight)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Starts reading a collection (`kind` is `seq` or `map`).
    fn open(
        &mut self,
        tag: Option<&Tag>,
        kind: &str,
        pos: Pos,
        anchor: usize,
        children: Children,
    ) -> Result<(), (Pos, String)> {
        if let Some(tag) = tag
            && tag.is_yaml_core_schema()
            && !tag.is_yaml_core_schema_tag(kind)
        {
            return Err((
                pos,
                format!("the tag !!{} does not fit a {kind}", tag.suffix()),
            ));
        }
        if self.stack.len() >= budget::MAX_DEPTH {
            return Err((pos, "the YAML nests too deeply".into()));
        }
        self.stack.push(Open {
            node: empty(pos),
            anchor,
            weight: 1,
            children,
        });
        Ok(())
    }

    /// Counts nodes against the budget as they are read (an alias at its expanded size).
    fn count(&mut self, weight: usize, pos: Pos) -> Result<(), (Pos, String)> {
        self.nodes = self.nodes.saturating_add(weight);
        if self.nodes > budget::MAX_NODES {
            return Err((
                pos,
                "the file is too large: over 500,000 YAML nodes (aliases counted expanded)".into(),
            ));
        }
        Ok(())
    }

    /// Attaches a finished node to the collection being read (or makes it the
    /// root), remembering it under its anchor.
    fn attach(&mut self, node: Node, anchor: usize, weight: usize) -> Result<(), (Pos, String)> {
        if anchor != 0 {
            self.anchors.insert(anchor, (node.clone(), weight));
        }
        let Some(open) = self.stack.last_mut() else {
            self.root = Some(node);
            return Ok(());
        };
        open.weight = open.weight.saturating_add(weight);
        match &mut open.children {
            Children::Seq(items) => items.push(node),
            Children::Map(entries, pending) => match pending.take() {
                Some(key) => entries.push((key, node)),
                None => *pending = Some(node),
            },
        }
        Ok(())
    }
}

fn empty(pos: Pos) -> Node {
    Node {
        pos,
        value: Value::Null,
        raw: None,
    }
}

/// Applies YAML merge keys (`<<: *base` or `<<: [*a, *b]`): the merged maps'
/// entries join this one, except keys this map sets itself (and, among the
/// merged maps, the first one to set a key wins).
fn merge_keys(entries: Vec<(Node, Node)>) -> Result<Vec<(Node, Node)>, (Pos, String)> {
    let is_merge = |key: &Node| key.raw.is_none() && key.as_str() == Some("<<");
    if !entries.iter().any(|(k, _)| is_merge(k)) {
        return Ok(entries);
    }
    let mut own = Vec::new();
    let mut sources = Vec::new();
    for (key, value) in entries {
        if !is_merge(&key) {
            own.push((key, value));
            continue;
        }
        match value.value {
            Value::Map(merged) => sources.push(merged),
            Value::Seq(items) => {
                for item in items {
                    match item.value {
                        Value::Map(merged) => sources.push(merged),
                        other => {
                            return Err((
                                item.pos,
                                format!("a merge key (`<<`) takes maps, found {}", other.kind()),
                            ));
                        }
                    }
                }
            }
            other => {
                return Err((
                    value.pos,
                    format!(
                        "a merge key (`<<`) takes a map or a list of maps, found {}",
                        other.kind()
                    ),
                ));
            }
        }
    }
    let text = |key: &Node| key.scalar_text();
    for (key, value) in sources.into_iter().flatten() {
        let name = text(&key);
        if name.is_none() || !own.iter().any(|(k, _)| text(k) == name) {
            own.push((key, value));
        }
    }
    Ok(own)
}

/// A scalar resolved by the YAML 1.2 core schema, with these choices: only
/// `true`/`false` are booleans (`yes`, `on` stay text), and numbers written
/// with a leading zero or underscores (`007`, `1_000`) or an upper-case radix
/// (`0X1F`) stay text. Quoted and block scalars are always text.
fn scalar(
    value: Cow<'_, str>,
    style: ScalarStyle,
    tag: Option<&Tag>,
    span: &Span,
    text: &str,
) -> Result<Node, (Pos, String)> {
    let pos = pos_of(&span.start);
    let raw = || {
        let start = span.start.byte_offset()?;
        let end = span.end.byte_offset()?;
        text.get(start..end).map(|s| s.trim().to_string())
    };
    let core = tag.filter(|t| t.is_yaml_core_schema()).map(|t| t.suffix());
    let forced_text = tag.is_some_and(|t| t.handle() == "!" && t.suffix().is_empty());
    let typed = match core {
        Some("str") => Value::Str(value.into_owned()),
        Some("null") => Value::Null,
        Some("bool") => match value.trim() {
            "true" | "True" | "TRUE" => Value::Bool(true),
            "false" | "False" | "FALSE" => Value::Bool(false),
            _ => return Err((pos, format!("`{value}` is not a boolean (!!bool)"))),
        },
        Some("int") => match int(value.trim()) {
            Some(Value::Int(i)) => Value::Int(i),
            _ => return Err((pos, format!("`{value}` is not an integer (!!int)"))),
        },
        Some("float") => match float(value.trim()).or_else(|| int_as_float(value.trim())) {
            Some(f) => Value::Float(f),
            None => return Err((pos, format!("`{value}` is not a number (!!float)"))),
        },
        Some(other) => return Err((pos, format!("the tag !!{other} does not fit a scalar"))),
        None if forced_text || style != ScalarStyle::Plain => Value::Str(value.into_owned()),
        None => plain(value),
    };
    let raw = match typed {
        Value::Bool(_) | Value::Int(_) | Value::Float(_) => raw(),
        _ => None,
    };
    Ok(Node {
        pos,
        value: typed,
        raw,
    })
}

fn plain(value: Cow<'_, str>) -> Value {
    let t = value.trim();
    match t {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
    let keeps_spelling = matches!(unsigned.as_bytes(), [b'0', b'X' | b'O' | b'B', ..])
        || leading_zero_decimal(unsigned)
        || t.contains('_')
        || (t.len() != unsigned.len() && unsigned.eq_ignore_ascii_case(".nan"));
    if keeps_spelling {
        return Value::Str(value.into_owned());
    }
    if let Some(number) = int(t) {
        return number;
    }
    match float(t) {
        Some(f) => Value::Float(f),
        None => Value::Str(value.into_owned()),
    }
}

/// `007`, `-01`, `00.5`: a decimal with a zero before more digits.
fn leading_zero_decimal(unsigned: &str) -> bool {
    let bytes = unsigned.as_bytes();
    bytes.len() > 1 && bytes[0] == b'0' && bytes[1].is_ascii_digit()
}

/// A core-schema integer: decimal, `0x` hexadecimal or `0o` octal. One too large
/// for 64 bits stays text (as written), never a rounded number.
fn int(t: &str) -> Option<Value> {
    let (negative, unsigned) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (digits, radix) = if let Some(hex) = unsigned.strip_prefix("0x") {
        (hex, 16)
    } else if let Some(octal) = unsigned.strip_prefix("0o") {
        (octal, 8)
    } else {
        (unsigned, 10)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = match u64::from_str_radix(digits, radix) {
        Ok(m) => m,
        Err(_) if radix == 10 => return float(t).map(Value::Float),
        Err(_) => return Some(Value::Str(t.to_string())),
    };
    let value = if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    };
    Some(value.map_or_else(|| Value::Str(t.to_string()), Value::Int))
}

fn int_as_float(t: &str) -> Option<f64> {
    match int(t)? {
        Value::Int(i) => Some(i as f64),
        _ => None,
    }
}

/// A core-schema float: `1.5`, `-2e3`, `.5`, `.inf`, `-.Inf`, `.nan`.
fn float(t: &str) -> Option<f64> {
    let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
    let negative = t.starts_with('-');
    match unsigned {
        ".inf" | ".Inf" | ".INF" => {
            return Some(if negative {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            });
        }
        ".nan" | ".NaN" | ".NAN" if unsigned.len() == t.len() => return Some(f64::NAN),
        _ => {}
    }
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], Some(&unsigned[at + 1..])),
        None => (unsigned, None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok =
        digits(whole) && digits(fraction) && !(whole.is_empty() && fraction.is_empty());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    if mantissa_ok && exponent_ok {
        t.parse::<f64>().ok()
    } else {
        None
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
    fn syntax_errors_are_located_at_their_line_and_column() {
        // Both count from 1, columns in characters: `@` is the 6th of line 2.
        let (pos, message) = parse("a: 1\nünï: @x\n").unwrap_err();
        assert_eq!(pos, Pos { line: 2, column: 6 }, "{message}");
        assert!(message.contains("unexpected character"), "{message}");
        // An unclosed bracket is shown where it opens.
        let (pos, message) = parse("a: 1\nb: { c: 2\n").unwrap_err();
        assert_eq!(pos, Pos { line: 2, column: 4 }, "{message}");
        assert!(message.contains("unclosed bracket"), "{message}");
    }

    fn entries(node: &Node) -> Vec<(String, Value)> {
        let Value::Map(entries) = &node.value else {
            panic!("not a map: {node:?}")
        };
        entries
            .iter()
            .map(|(k, v)| (k.scalar_text().unwrap_or_default(), v.value.clone()))
            .collect()
    }

    #[test]
    fn scalars_resolve_by_the_core_schema() {
        let node = parse(
            "a: ~\nb: null\nc: true\nd: FALSE\ne: -12\nf: 0x1F\ng: 0o17\nh: 1.5e3\ni: .inf\nj: '12'\nk: !!str 12\nl: 99999999999999999999\nm: 0.5\nn: -.5\no: 1.\np: yes\nq: !!float 3\nr: +7\n",
        )
        .unwrap();
        let got = entries(&node);
        let expected = [
            Value::Null,
            Value::Null,
            Value::Bool(true),
            Value::Bool(false),
            Value::Int(-12),
            Value::Int(31),
            Value::Int(15),
            Value::Float(1500.0),
            Value::Float(f64::INFINITY),
            Value::Str("12".into()),
            Value::Str("12".into()),
            Value::Float(1e20),
            Value::Float(0.5),
            Value::Float(-0.5),
            Value::Float(1.0),
            Value::Str("yes".into()),
            Value::Float(3.0),
            Value::Int(7),
        ];
        let values: Vec<Value> = got.into_iter().map(|(_, v)| v).collect();
        assert_eq!(values, expected);
    }

    #[test]
    fn merge_keys_fill_in_what_the_map_does_not_set() {
        let node = parse(
            "base: &b { x: 1, y: 2 }\nmore: &m { z: 3, y: 9 }\nuse: { <<: [*b, *m], y: 5, w: 0 }\n",
        )
        .unwrap();
        let Value::Map(top) = &node.value else {
            panic!("not a map")
        };
        let merged = entries(&top[2].1);
        let find = |name: &str| {
            merged
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(merged.len(), 4, "{merged:?}");
        assert_eq!(find("y"), Some(Value::Int(5)), "the map's own key wins");
        assert_eq!(find("x"), Some(Value::Int(1)));
        assert_eq!(find("z"), Some(Value::Int(3)));
        assert!(
            parse("a: { <<: 3 }\n").is_err(),
            "a merge of a number is an error"
        );
    }

    #[test]
    fn aliases_copy_their_anchor_at_their_own_position() {
        let node = parse("a: &x [1, 2]\nb: *x\n").unwrap();
        let Value::Map(top) = &node.value else {
            panic!("not a map")
        };
        assert_eq!(top[1].1.value, top[0].1.value);
        assert_eq!(top[1].1.pos, Pos { line: 2, column: 4 });
    }

    #[test]
    fn one_document_only() {
        let (pos, message) = parse("a: 1\n---\nb: 2\n").unwrap_err();
        assert_eq!(pos.line, 2, "{message}");
        assert!(message.contains("more than one YAML document"), "{message}");
        assert_eq!(parse("").unwrap().value, Value::Null);
        assert!(parse("a: !!int x\n").is_err());
    }

    #[test]
    fn deep_nesting_and_misfit_tags_are_errors() {
        let deep = format!("{}1{}", "[".repeat(65), "]".repeat(65));
        let (_, message) = parse(&deep).unwrap_err();
        assert!(message.contains("nests too deeply"), "{message}");
        assert!(parse(&format!("{}1{}", "[".repeat(60), "]".repeat(60))).is_ok());
        let (pos, message) = parse("a: !!map [1]\n").unwrap_err();
        assert_eq!(pos.line, 1);
        assert!(message.contains("!!map"), "{message}");
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
