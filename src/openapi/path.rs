//! Paths as segment patterns: a suite's request path (`${var}` references
//! inside, percent-encoded characters decoded) and an OpenAPI path template
//! (`{param}` inside, also within a segment: `{name}.{ext}`), and whether two
//! such segments can name the same text.

use percent_encoding::percent_decode_str;

/// One unit of a segment pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token {
    /// This character.
    Char(char),
    /// Any one character.
    One,
    /// Any run of characters, the empty one included.
    Run,
}

/// How much of a segment is fixed text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Text only: `pets`.
    Literal,
    /// Text and placeholders: `{name}.{ext}`, `TEST-${n}`.
    Mixed,
    /// Placeholders only: `{petId}`, `${id}`.
    Placeholder,
}

/// One path segment as a pattern.
#[derive(Clone, Debug)]
pub(crate) struct Segment {
    /// The segment as written (decoded for a suite's literal text).
    pub(crate) text: String,
    /// How much of it is fixed.
    pub(crate) kind: Kind,
    /// Its fixed characters, counted.
    pub(crate) fixed: usize,
    tokens: Vec<Token>,
}

impl Segment {
    fn new(text: String, tokens: Vec<Token>) -> Segment {
        let fixed = tokens
            .iter()
            .filter(|t| matches!(t, Token::Char(_)))
            .count();
        let placeholders = tokens.iter().any(|t| !matches!(t, Token::Char(_)));
        let kind = match (placeholders, fixed) {
            (false, _) => Kind::Literal,
            (true, 0) => Kind::Placeholder,
            (true, _) => Kind::Mixed,
        };
        Segment {
            text,
            kind,
            fixed,
            tokens,
        }
    }

    /// A segment of fixed text.
    pub(crate) fn literal(text: &str) -> Segment {
        Segment::new(text.to_string(), text.chars().map(Token::Char).collect())
    }

    /// Whether some text matches both patterns.
    pub(crate) fn meets(&self, other: &Segment) -> bool {
        if self.kind == Kind::Literal && other.kind == Kind::Literal {
            return self.text == other.text;
        }
        intersect(&self.tokens, &other.tokens)
    }
}

/// Whether two patterns over single characters (`One`) and runs (`Run`)
/// accept a common text: a walk over both, position by position.
fn intersect(a: &[Token], b: &[Token]) -> bool {
    let (n, m) = (a.len(), b.len());
    let mut reach = vec![vec![false; m + 1]; n + 1];
    reach[0][0] = true;
    for i in 0..=n {
        for j in 0..=m {
            if !reach[i][j] {
                continue;
            }
            let (x, y) = (a.get(i).copied(), b.get(j).copied());
            if x == Some(Token::Run) {
                reach[i + 1][j] = true;
                if y.is_some_and(|y| y != Token::Run) {
                    reach[i][j + 1] = true;
                }
            }
            if y == Some(Token::Run) {
                reach[i][j + 1] = true;
                if x.is_some_and(|x| x != Token::Run) {
                    reach[i + 1][j] = true;
                }
            }
            if let (Some(x), Some(y)) = (x, y) {
                let agree = match (x, y) {
                    (Token::Char(c), Token::Char(d)) => c == d,
                    (Token::Run, _) | (_, Token::Run) => false,
                    _ => true,
                };
                if agree {
                    reach[i + 1][j + 1] = true;
                }
            }
        }
    }
    reach[n][m]
}

/// A placeholder stands for at least one character.
const PLACEHOLDER: [Token; 2] = [Token::One, Token::Run];

/// An OpenAPI path template's segments; empty segments (`//`, a trailing
/// `/`) are dropped.
pub(crate) fn template_segments(path: &str) -> Vec<Segment> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(template_segment)
        .collect()
}

fn template_segment(text: &str) -> Segment {
    let mut tokens = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|c| open + c) else {
            break;
        };
        tokens.extend(rest[..open].chars().map(Token::Char));
        tokens.extend(PLACEHOLDER);
        rest = &rest[close + 1..];
    }
    tokens.extend(rest.chars().map(Token::Char));
    Segment::new(text.to_string(), tokens)
}

/// A path from a server URL (`https://host/v2`, `/v2`, `./v2`), as literal
/// segments; empty when the server has no path.
pub(crate) fn server_prefix(url: &str) -> Vec<Segment> {
    let path = match url.find("://") {
        Some(at) => url[at + 3..].find('/').map_or("", |p| &url[at + 3 + p..]),
        None => url,
    };
    let path = path.split(['?', '#']).next().unwrap_or_default();
    path.split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .map(|s| Segment::literal(&percent_decode_str(s).decode_utf8_lossy()))
        .collect()
}

/// A suite's request path, read from its request line as written.
#[derive(Clone, Debug)]
pub(crate) struct RequestPath {
    /// The path as written, without the query.
    pub(crate) written: String,
    /// Its segments; empty ones dropped.
    pub(crate) segments: Vec<Segment>,
    /// Whether it ends with `/`: it tells `/items/` from `/items` when a
    /// description has both.
    pub(crate) trailing_slash: bool,
}

impl RequestPath {
    /// Reads `target` (`/pets/${id}?expand=x`): the query is left out,
    /// `${…}` becomes a placeholder, `$${` a literal `${`, and the text
    /// around them is percent-decoded.
    pub(crate) fn parse(target: &str) -> RequestPath {
        let written = outside_references(target, '?').map_or(target, |at| &target[..at]);
        let mut segments = Vec::new();
        let mut rest = written;
        loop {
            let end = outside_references(rest, '/').unwrap_or(rest.len());
            if end > 0 {
                segments.push(suite_segment(&rest[..end]));
            }
            if end == rest.len() {
                break;
            }
            rest = &rest[end + 1..];
        }
        RequestPath {
            written: written.to_string(),
            segments,
            trailing_slash: written.len() > 1 && written.ends_with('/'),
        }
    }
}

/// Where `wanted` first occurs outside a `${…}` reference.
fn outside_references(text: &str, wanted: char) -> Option<usize> {
    let mut depth = false;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            '$' if !depth && text[at..].starts_with("$${") => {
                chars.next();
                chars.next();
            }
            '$' if !depth && text[at..].starts_with("${") => {
                depth = true;
                chars.next();
            }
            '}' if depth => depth = false,
            c if c == wanted && !depth => return Some(at),
            _ => {}
        }
    }
    None
}

fn suite_segment(text: &str) -> Segment {
    let mut tokens = Vec::new();
    let mut shown = String::new();
    let mut literal = String::new();
    let mut rest = text;
    let flush = |literal: &mut String, tokens: &mut Vec<Token>, shown: &mut String| {
        let decoded = percent_decode_str(literal).decode_utf8_lossy().into_owned();
        tokens.extend(decoded.chars().map(Token::Char));
        shown.push_str(&decoded);
        literal.clear();
    };
    while let Some(at) = rest.find("${") {
        if rest[..at].ends_with('$') {
            literal.push_str(&rest[..at - 1]);
            flush(&mut literal, &mut tokens, &mut shown);
            tokens.extend("${".chars().map(Token::Char));
            shown.push_str("${");
            rest = &rest[at + 2..];
            continue;
        }
        literal.push_str(&rest[..at]);
        flush(&mut literal, &mut tokens, &mut shown);
        let close = rest[at..].find('}').map_or(rest.len(), |c| at + c + 1);
        shown.push_str(&rest[at..close]);
        tokens.extend(PLACEHOLDER);
        rest = &rest[close..];
    }
    literal.push_str(rest);
    flush(&mut literal, &mut tokens, &mut shown);
    Segment::new(shown, tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meets(suite: &str, template: &str) -> bool {
        let suite = RequestPath::parse(suite).segments;
        let template = template_segments(template);
        suite.len() == template.len() && suite.iter().zip(&template).all(|(s, t)| s.meets(t))
    }

    #[test]
    fn placeholders_take_one_segment_and_at_least_one_character() {
        assert!(meets("/pets/1", "/pets/{petId}"));
        assert!(!meets("/pets/1/2", "/pets/{petId}"));
        assert!(!meets("/pets", "/pets/{petId}"));
        assert!(meets("/pets/${id}", "/pets/{petId}"));
        assert!(meets("/pets/${id}", "/pets/mine"));
    }

    #[test]
    fn segments_may_mix_text_and_placeholders() {
        assert!(meets("/files/report.pdf", "/files/{name}.{ext}"));
        assert!(meets("/files/a.tar.gz", "/files/{name}.{ext}"));
        assert!(!meets("/files/report", "/files/{name}.{ext}"));
        assert!(!meets("/files/.pdf", "/files/{name}.{ext}"));
        assert!(meets("/files/${name}.pdf", "/files/{name}.{ext}"));
        assert!(meets(
            "/repos/o/r/compare/main...dev",
            "/repos/{owner}/{repo}/compare/{basehead}"
        ));
        assert!(meets("/v1/jobs/7:cancel", "/v1/jobs/{id}:cancel"));
        assert!(!meets("/v1/jobs/7:run", "/v1/jobs/{id}:cancel"));
        assert!(meets("/issue/TEST-${n}", "/issue/{key}"));
        assert!(!meets("/issue/TEST-${n}", "/issue/OTHER-1"));
    }

    #[test]
    fn query_slashes_and_encoding_are_tolerated() {
        assert!(meets("/pets?limit=1&x=/a", "/pets"));
        assert!(meets("//pets//", "/pets/"));
        assert!(meets("/user/john%20doe", "/user/john doe"));
        assert!(meets("/a%2Fb", "/{path}"));
        assert!(meets("/x/${v:-a/b?c}", "/x/{y}"));
        assert_eq!(
            RequestPath::parse("/x/${v:-a/b?c}?q").written,
            "/x/${v:-a/b?c}"
        );
        assert!(meets("/lit/$${x}", "/lit/${x}"));
        assert!(!meets("/lit/$${x}", "/lit/y"));
    }

    #[test]
    fn a_path_that_is_one_variable_is_one_placeholder() {
        let kinds = |t: &str| -> Vec<Kind> {
            RequestPath::parse(t)
                .segments
                .iter()
                .map(|s| s.kind)
                .collect()
        };
        assert_eq!(kinds("/${path}"), [Kind::Placeholder]);
        assert_eq!(kinds("/${a}${b}?q=1"), [Kind::Placeholder]);
        assert_eq!(kinds("/items/${id}"), [Kind::Literal, Kind::Placeholder]);
        assert_eq!(kinds("/"), []);
    }

    #[test]
    fn server_prefixes() {
        let texts =
            |url: &str| -> Vec<String> { server_prefix(url).into_iter().map(|s| s.text).collect() };
        assert_eq!(texts("https://petstore.io/v2"), ["v2"]);
        assert_eq!(texts("https://petstore.io"), Vec::<String>::new());
        assert_eq!(texts("https://h/api/v3/?x=1"), ["api", "v3"]);
        assert_eq!(texts("/api/v3"), ["api", "v3"]);
        assert_eq!(texts("./api"), ["api"]);
    }
}
