//! Load errors that point into the user's file.

use std::fmt;
use std::path::{Path, PathBuf};

use super::yaml::Pos;

/// One problem in a suite file, with its location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file the problem is in.
    pub file: PathBuf,
    /// Where in the file (line 0 when the problem is the whole file).
    pub pos: Pos,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when known ("did you mean `expect`?").
    pub help: Option<String>,
    /// The source line the position points at (a window of it when long), for the caret display.
    pub source_line: Option<String>,
    /// The caret's column within `source_line`.
    pub caret: u32,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display();
        if self.pos.line == 0 {
            write!(f, "{file}: error: {}", self.message)?;
        } else {
            write!(
                f,
                "{file}:{}:{}: error: {}",
                self.pos.line, self.pos.column, self.message
            )?;
        }
        if let Some(line) = &self.source_line {
            let number = self.pos.line.to_string();
            let pad = " ".repeat(number.len());
            let caret_at = " ".repeat(self.caret.saturating_sub(1) as usize);
            write!(f, "\n {pad} |\n {number} | {line}\n {pad} | {caret_at}^")?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n  = help: {help}")?;
        }
        Ok(())
    }
}

/// Collects the diagnostics of one file.
pub struct Diagnostics<'a> {
    file: &'a Path,
    source: &'a str,
    /// Everything found so far.
    pub found: Vec<Diagnostic>,
}

impl<'a> Diagnostics<'a> {
    /// An empty collector for `file`, whose text is `source`.
    pub fn new(file: &'a Path, source: &'a str) -> Diagnostics<'a> {
        Diagnostics {
            file,
            source,
            found: Vec::new(),
        }
    }

    /// Records a problem at `pos`.
    pub fn error(&mut self, pos: Pos, message: impl Into<String>) {
        self.push(pos, message.into(), None);
    }

    /// Records a problem at `pos` with a hint.
    pub fn error_with_help(
        &mut self,
        pos: Pos,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.push(pos, message.into(), Some(help.into()));
    }

    /// Records a problem at `pos` without showing the source line: for a file
    /// that did not parse as YAML, which may be anything (`/proc/self/environ`
    /// named as a mock) and must not be echoed.
    pub fn error_without_source(&mut self, pos: Pos, message: impl Into<String>) {
        self.found.push(Diagnostic {
            file: self.file.to_path_buf(),
            pos,
            message: message.into(),
            help: None,
            source_line: None,
            caret: pos.column,
        });
    }

    fn push(&mut self, pos: Pos, message: String, help: Option<String>) {
        let line = (pos.line > 0)
            .then(|| self.source.lines().nth(pos.line as usize - 1))
            .flatten()
            .map(str::trim_end);
        let (source_line, caret) = match line {
            Some(line) => {
                let line = mask_credentials(line);
                let (window, caret) = window(&line, pos.column);
                (Some(window), caret)
            }
            None => (None, pos.column),
        };
        self.found.push(Diagnostic {
            file: self.file.to_path_buf(),
            pos,
            message,
            help,
            source_line,
            caret,
        });
    }
}

/// Words in a key that say its value is a credential (`password:`,
/// `client_secret:`, `token:`, `value:` of a header, `api_key:`,
/// `Authorization:`, `Cookie:`…).
const CREDENTIAL_KEY_WORDS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "key",
    "value",
    "authorization",
    "cookie",
    "credential",
];

/// Whether `value` is only `${…}` references (a variable's name, not its value).
fn only_references(value: &str) -> bool {
    let mut rest = value;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let Some(after) = rest.strip_prefix("${") else {
            return false;
        };
        let Some(end) = after.find('}') else {
            return false;
        };
        rest = &after[end + 1..];
    }
    true
}

/// `line` with the value of every credential key written on it (block or
/// flow style, quoted or bare keys) replaced by as many `*`: a load error
/// shows where the problem is, never a password written in the suite. A
/// value that is only `${…}` references stays: it names a variable.
fn mask_credentials(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = chars.clone();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != ':' || chars.get(i + 1).is_some_and(|c| !c.is_whitespace()) {
            i += 1;
            continue;
        }
        // The key before the colon: spaces, then a quoted or a bare key.
        let mut end = i;
        while end > 0 && chars[end - 1] == ' ' {
            end -= 1;
        }
        let (key_start, key_end) = match end.checked_sub(1).map(|e| chars[e]) {
            Some(quote @ ('"' | '\'')) => {
                let open = chars[..end - 1].iter().rposition(|&c| c == quote);
                (open.map_or(end, |o| o + 1), end - 1)
            }
            _ => {
                let mut start = end;
                while start > 0
                    && (chars[start - 1].is_alphanumeric() || matches!(chars[start - 1], '_' | '-'))
                {
                    start -= 1;
                }
                (start, end)
            }
        };
        let key: String = chars[key_start..key_end.max(key_start)]
            .iter()
            .collect::<String>()
            .to_ascii_lowercase();
        let credential = !key.is_empty() && CREDENTIAL_KEY_WORDS.iter().any(|w| key.contains(w));
        if !credential {
            i += 1;
            continue;
        }
        // Inside a flow collection (`{ … }`) a value ends at `,` `}` `]`; in
        // block style it runs to the end of the line (or a ` #` comment).
        let depth: i32 = chars[..key_start]
            .iter()
            .map(|&c| match c {
                '{' | '[' => 1,
                '}' | ']' => -1,
                _ => 0,
            })
            .sum();
        let mut v = i + 1;
        while v < chars.len() && chars[v] == ' ' {
            v += 1;
        }
        let value_end = match chars.get(v) {
            Some('"') => {
                let mut e = v + 1;
                while e < chars.len() && !(chars[e] == '"' && chars[e - 1] != '\\') {
                    e += 1;
                }
                (e + 1).min(chars.len())
            }
            Some('\'') => {
                // `''` is an escaped quote inside single quotes.
                let mut e = v + 1;
                while e < chars.len() {
                    if chars[e] == '\'' {
                        if chars.get(e + 1) == Some(&'\'') {
                            e += 2;
                            continue;
                        }
                        break;
                    }
                    e += 1;
                }
                (e + 1).min(chars.len())
            }
            _ => {
                let mut e = v;
                while e < chars.len() {
                    let c = chars[e];
                    if depth > 0 && matches!(c, ',' | '}' | ']') {
                        break;
                    }
                    if c == '#' && e > v && chars[e - 1] == ' ' {
                        break;
                    }
                    e += 1;
                }
                while e > v && chars[e - 1] == ' ' {
                    e -= 1;
                }
                e
            }
        };
        let value: String = chars[v..value_end].iter().collect();
        let bare = value.trim_matches(|c| c == '"' || c == '\'');
        if !bare.is_empty() && !only_references(bare) {
            for c in &mut out[v..value_end] {
                *c = '*';
            }
        }
        i = value_end.max(i + 1);
    }
    out.into_iter().collect()
}

/// Characters of a source line shown around the caret.
const WINDOW: usize = 100;

/// At most [`WINDOW`] characters of `line` around `column`, and the caret's column in them.
fn window(line: &str, column: u32) -> (String, u32) {
    let chars: Vec<char> = line
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if chars.len() <= WINDOW {
        return (chars.into_iter().collect(), column);
    }
    let start = (column as usize)
        .saturating_sub(WINDOW / 2)
        .min(chars.len() - WINDOW);
    let shown: String = chars[start..start + WINDOW].iter().collect();
    let (prefix, shift) = if start > 0 { ("…", 1) } else { ("", 0) };
    let suffix = if start + WINDOW < chars.len() {
        "…"
    } else {
        ""
    };
    (
        format!("{prefix}{shown}{suffix}"),
        column - start as u32 + shift,
    )
}

/// `did you mean `x`?` with the candidate nearest to `word`, else `otherwise`.
pub fn suggestion<'c>(
    word: &str,
    candidates: impl IntoIterator<Item = &'c str>,
    otherwise: &str,
) -> String {
    match nearest(word, candidates) {
        Some(near) => format!("did you mean `{near}`?"),
        None => otherwise.to_string(),
    }
}

/// The closest of `candidates` to a misspelt `word`, if any is close enough.
pub fn nearest<'c>(word: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_nearest_key() {
        assert_eq!(
            nearest("expet", ["request", "expect", "name"]),
            Some("expect")
        );
        assert_eq!(nearest("zzz", ["request", "expect"]), None);
    }

    #[test]
    fn long_lines_show_a_window_with_the_caret_on_the_spot() {
        let line = format!("{}X{}", "a".repeat(500), "b".repeat(500));
        let (shown, caret) = window(&line, 501);
        assert!(shown.chars().count() <= WINDOW + 2);
        assert_eq!(shown.chars().nth(caret as usize - 1), Some('X'));
    }

    #[test]
    fn credential_values_are_masked_in_shown_lines() {
        assert_eq!(
            mask_credentials(
                r#"    auth: { basic: { username: alice, password: "Literal-Pass-123" } }"#
            ),
            r#"    auth: { basic: { username: alice, password: ****************** } }"#
        );
        assert_eq!(
            mask_credentials("      client_secret: s3cr3t-value  # a comment"),
            "      client_secret: ************  # a comment"
        );
        assert_eq!(
            mask_credentials(r#"  bearer: { token: "${READER_TOKEN}" }"#),
            r#"  bearer: { token: "${READER_TOKEN}" }"#
        );
        assert_eq!(
            mask_credentials("  - request: GET /x?a=1"),
            "  - request: GET /x?a=1"
        );
        for (line, kept) in [
            (
                r#"{"username": "alice", "password": "hunter2-secret"}"#,
                "hunter2",
            ),
            ("      password : hunter2-x", "hunter2"),
            ("      Authorization: Bearer sk-live-abcdef", "sk-live"),
            ("      Cookie: session=abc123def", "abc123"),
            ("      password: abc,defgh", "defgh"),
            ("      password: abc#defgh", "defgh"),
            ("      password: 'it''s-secret'", "secret"),
            ("      password: ${A}hunter2${B}", "hunter2"),
        ] {
            let masked = mask_credentials(line);
            assert!(!masked.contains(kept), "{line} -> {masked}");
            assert_eq!(masked.chars().count(), line.chars().count(), "{line}");
        }
        assert_eq!(
            mask_credentials("      password: ${A}${B_PASSWORD} # two"),
            "      password: ${A}${B_PASSWORD} # two"
        );
    }

    #[test]
    fn renders_location_caret_and_help() {
        let mut diags = Diagnostics::new(Path::new("s.yaml"), "a: 1\n  expet: 2\n");
        diags.error_with_help(
            Pos { line: 2, column: 3 },
            "unknown key `expet`",
            "did you mean `expect`?",
        );
        let text = diags.found[0].to_string();
        assert!(
            text.starts_with("s.yaml:2:3: error: unknown key `expet`"),
            "{text}"
        );
        assert!(text.contains(" 2 |   expet: 2\n   |   ^"), "{text}");
        assert!(text.ends_with("= help: did you mean `expect`?"), "{text}");
    }
}
