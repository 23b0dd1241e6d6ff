//! A small YAML tree that writes itself as a readable, deterministic suite:
//! block maps and lists, flow maps where a line reads better, comments where
//! a reviewer needs them.

use std::fmt::Write;

/// A YAML value to write.
#[derive(Clone, Debug, PartialEq)]
pub enum Yaml {
    /// A string, quoted when plain YAML would read it as something else.
    Str(String),
    /// A scalar written exactly as given (numbers, `true`, `any`).
    Raw(String),
    /// A JSON value written in flow style (`json:` bodies).
    Json(serde_json::Value),
    /// A block map.
    Map(Vec<Entry>),
    /// A map written on one line: `{ a: 1, b: 2 }`.
    FlowMap(Vec<(String, Yaml)>),
    /// A block list.
    Seq(Vec<Yaml>),
    /// A list written on one line: `[a, b]`.
    FlowSeq(Vec<Yaml>),
}

impl Yaml {
    /// A map's values by key, block or flow alike, to change in place;
    /// nothing for any other value.
    pub fn entries_mut(&mut self) -> Vec<(&str, &mut Yaml)> {
        match self {
            Yaml::Map(entries) => entries
                .iter_mut()
                .map(|e| (e.key.as_str(), &mut e.value))
                .collect(),
            Yaml::FlowMap(pairs) => pairs.iter_mut().map(|(k, v)| (k.as_str(), v)).collect(),
            _ => Vec::new(),
        }
    }
}

/// One entry of a block map, with the comments that go with it.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The key.
    pub key: String,
    /// The value.
    pub value: Yaml,
    /// Comment lines written above the entry.
    pub above: Vec<String>,
    /// A comment at the end of the entry's line (scalars and flow values only).
    pub after: Option<String>,
}

impl Entry {
    /// An entry without comments.
    pub fn new(key: impl Into<String>, value: Yaml) -> Entry {
        Entry {
            key: key.into(),
            value,
            above: Vec::new(),
            after: None,
        }
    }

    /// The entry with a comment at the end of its line.
    pub fn note(mut self, comment: impl Into<String>) -> Entry {
        self.after = Some(comment.into());
        self
    }
}

/// Writes a top-level map as a YAML document.
pub fn document(comments: &[String], entries: &[Entry]) -> String {
    let mut out = String::new();
    for line in comments {
        comment_line(&mut out, 0, line);
    }
    write_map(&mut out, entries, 0, false);
    out
}

fn comment_line(out: &mut String, indent: usize, text: &str) {
    for line in text.lines() {
        let _ = writeln!(out, "{:indent$}# {}", "", comment_text(line));
    }
}

/// Text safe in a comment: characters YAML reads as line breaks or refuses
/// (controls, NEL, the line and paragraph separators, a BOM) become spaces.
fn comment_text(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\t' => c,
            c if unprintable(c) => ' ',
            c => c,
        })
        .collect()
}

/// Writes map entries at `indent`; `first_inline` when the first key follows a `- `.
fn write_map(out: &mut String, entries: &[Entry], indent: usize, first_inline: bool) {
    for (i, entry) in entries.iter().enumerate() {
        let inline = first_inline && i == 0;
        for line in &entry.above {
            if inline {
                // A comment cannot sit between `- ` and the key; it goes after the key's line.
                continue;
            }
            comment_line(out, indent, line);
        }
        if !inline {
            let _ = write!(out, "{:indent$}", "");
        }
        out.push_str(&key(&entry.key));
        out.push(':');
        write_value(out, &entry.value, indent, entry.after.as_deref());
        if inline {
            for line in &entry.above {
                comment_line(out, indent, line);
            }
        }
    }
}

/// Writes a value after `key:` (or `-`), ending the line.
fn write_value(out: &mut String, value: &Yaml, indent: usize, after: Option<&str>) {
    let trailing = |out: &mut String| {
        if let Some(comment) = after {
            let _ = write!(out, "   # {}", comment_text(comment));
        }
        out.push('\n');
    };
    match value {
        Yaml::Map(entries) if !entries.is_empty() => {
            trailing(out);
            write_map(out, entries, indent + 2, false);
        }
        Yaml::Seq(items) if !items.is_empty() => {
            trailing(out);
            for item in items {
                let _ = write!(out, "{:width$}-", "", width = indent + 2);
                match item {
                    Yaml::Map(entries) if !entries.is_empty() => {
                        out.push(' ');
                        write_map(out, entries, indent + 4, true);
                    }
                    other => write_value(out, other, indent + 2, None),
                }
            }
        }
        scalar => {
            out.push(' ');
            out.push_str(&inline(scalar, false));
            trailing(out);
        }
    }
}

/// A value on one line; `flow` inside `{…}` or `[…]`, where `{`, `}` and `,` end a plain scalar.
fn inline(value: &Yaml, flow: bool) -> String {
    match value {
        Yaml::Str(s) => string(s, flow),
        Yaml::Raw(s) => s.clone(),
        Yaml::Json(v) => escaped(v.to_string()),
        Yaml::Map(entries) if entries.is_empty() => "{}".into(),
        Yaml::Seq(items) if items.is_empty() => "[]".into(),
        Yaml::Map(entries) => {
            let pairs: Vec<String> = entries
                .iter()
                .map(|e| format!("{}: {}", key(&e.key), inline(&e.value, true)))
                .collect();
            format!("{{ {} }}", pairs.join(", "))
        }
        Yaml::FlowMap(pairs) if pairs.is_empty() => "{}".into(),
        Yaml::FlowMap(pairs) => {
            let pairs: Vec<String> = pairs
                .iter()
                .map(|(k, v)| format!("{}: {}", key(k), inline(v, true)))
                .collect();
            format!("{{ {} }}", pairs.join(", "))
        }
        Yaml::Seq(items) | Yaml::FlowSeq(items) => {
            let items: Vec<String> = items.iter().map(|i| inline(i, true)).collect();
            format!("[{}]", items.join(", "))
        }
    }
}

/// A map key: plain when it is a simple name, else double-quoted.
fn key(text: &str) -> String {
    let simple = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && text.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && !reserved(text);
    if simple {
        text.to_string()
    } else {
        quoted(text)
    }
}

/// A string scalar: plain when YAML reads it back as the same string, else double-quoted.
fn string(text: &str, flow: bool) -> String {
    let plain = !text.is_empty()
        && text
            .starts_with(|c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '/' | '.' | '$'))
        && !text.ends_with(' ')
        && text.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    ' ' | '_'
                        | '-'
                        | '.'
                        | '/'
                        | '$'
                        | '%'
                        | '('
                        | ')'
                        | '+'
                        | '='
                        | '@'
                        | '~'
                        | '?'
                        | '&'
                        | ';'
                )
                || (!flow && matches!(c, '{' | '}' | ',' | ':'))
        })
        && !text.contains(": ")
        && !text.ends_with(':')
        && !text.contains(" #")
        && !reserved(text)
        && !looks_numeric(text);
    if plain {
        text.to_string()
    } else {
        quoted(text)
    }
}

/// Double-quoted: JSON's escapes are YAML's, plus `\uXXXX` for what YAML
/// does not print (DEL, the C1 controls NEL among them, U+FFFE and U+FFFF)
/// and what it reads as a line break or a byte-order mark.
fn quoted(text: &str) -> String {
    escaped(serde_json::Value::String(text.to_string()).to_string())
}

/// JSON text with what YAML does not print written `\uXXXX` (it can only
/// stand inside a JSON string, where the escape means the same).
fn escaped(json: String) -> String {
    if !json.chars().any(unprintable) {
        return json;
    }
    json.chars()
        .map(|c| match unprintable(c) {
            true => format!("\\u{:04x}", u32::from(c)),
            false => c.to_string(),
        })
        .collect()
}

/// Characters a YAML document cannot hold as they are (JSON has escaped
/// those below U+0020 already).
fn unprintable(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
        )
}

fn reserved(text: &str) -> bool {
    matches!(
        text.to_ascii_lowercase().as_str(),
        "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n" | "~"
    )
}

fn looks_numeric(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '.' | '-' | '+'))
        && text
            .chars()
            .all(|c| c.is_ascii_hexdigit() || matches!(c, '.' | '-' | '+' | '_' | 'x' | 'o' | 'X'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_quoted_only_when_yaml_would_misread_them() {
        assert_eq!(string("GET /pets/${petId}", false), "GET /pets/${petId}");
        assert_eq!(string("GET /pets/${petId}", true), "\"GET /pets/${petId}\"");
        assert_eq!(string("123", true), "\"123\"");
        assert_eq!(string("true", true), "\"true\"");
        assert_eq!(string("a: b", true), "\"a: b\"");
        assert_eq!(string("x # y", true), "\"x # y\"");
        assert_eq!(string("{a}", false), "\"{a}\"");
        assert_eq!(string("/a/{b}", true), "\"/a/{b}\"");
        assert_eq!(string("/a/{b}", false), "/a/{b}");
        assert_eq!(string("", true), "\"\"");
        assert_eq!(string("${X:-http://h}", false), "${X:-http://h}");
        assert_eq!(string("a:", false), "\"a:\"");
        assert_eq!(string("tab\there", true), "\"tab\\there\"");
        assert_eq!(key("*"), "\"*\"");
        assert_eq!(quoted("a\u{2028}b"), "\"a\\u2028b\"");
        assert_eq!(quoted("del\u{7f}c1\u{9b}"), "\"del\\u007fc1\\u009b\"");
        assert_eq!(comment_text("x\u{c}y\u{85}z\tw"), "x y z\tw");
        assert_eq!(key("app-as-admin"), "app-as-admin");
    }

    #[test]
    fn a_document_reads_back_as_the_same_tree() {
        let doc = document(
            &["generated".into()],
            &[
                Entry::new("suite", Yaml::Str("pets".into())),
                Entry::new(
                    "endpoints",
                    Yaml::Seq(vec![Yaml::Map(vec![
                        Entry {
                            key: "name".into(),
                            value: Yaml::Str("listPets".into()),
                            above: vec!["first".into()],
                            after: None,
                        },
                        Entry::new("json", Yaml::Json(serde_json::json!({"a": [1, "b: c"]}))),
                        Entry::new(
                            "expect",
                            Yaml::FlowMap(vec![
                                ("*".into(), Yaml::Raw("200".into())),
                                ("anonymous".into(), Yaml::Raw("any".into())),
                            ]),
                        )
                        .note("observed"),
                    ])]),
                ),
                Entry::new("vars", Yaml::Map(vec![])),
            ],
        );
        assert_eq!(
            doc,
            "# generated\nsuite: pets\nendpoints:\n  - name: listPets\n    # first\n    json: {\"a\":[1,\"b: c\"]}\n    expect: { \"*\": 200, anonymous: any }   # observed\nvars: {}\n"
        );
        let back: serde_json::Value = match serde_saphyr::from_str(&doc) {
            Ok(v) => v,
            Err(e) => panic!("{e}\n{doc}"),
        };
        assert_eq!(back["endpoints"][0]["json"]["a"][1], "b: c");
        assert_eq!(back["endpoints"][0]["expect"]["*"], 200);
    }
}
