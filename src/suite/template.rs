//! `${NAME}` and `${NAME:-default}` interpolation in suite strings.

use std::collections::BTreeMap;
use std::fmt;

use super::yaml::Pos;

/// A string from a suite that may contain `${NAME}` references.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    /// The text as written in the file.
    pub raw: String,
    /// Where the text starts in the file.
    pub pos: Pos,
    parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Literal(String),
    Var {
        name: String,
        default: Option<String>,
    },
}

/// Why a string could not be read as a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateSyntaxError(pub String);

impl fmt::Display for TemplateSyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A `${NAME}` that no layer of the scope could supply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved(pub String);

/// Whether `name` may follow `${`: letters, digits and `_`, or a capture of
/// one principal, `principal.capture` (principal names may hold `-`).
fn is_variable_name(name: &str) -> bool {
    let plain = |text: &str| {
        !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    match name.split_once('.') {
        Some((principal, capture)) => {
            !principal.is_empty()
                && principal
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                && plain(capture)
        }
        None => plain(name),
    }
}

/// The prefix of a capture that names the current principal: `${own.note_id}`.
pub const OWN: &str = "own";

/// Values captured by setup and teardown steps (or, while loading, the names
/// they will capture, each with an empty value).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Captured {
    /// Captures of `as:` steps: `${note_id}`.
    pub shared: BTreeMap<String, String>,
    /// Captures of `for_each:` steps, by principal: `${alice.note_id}`.
    pub by_principal: BTreeMap<String, BTreeMap<String, String>>,
}

impl Captured {
    /// The value of `name` (`note_id`, `alice.note_id` or `own.note_id`) for
    /// the principal `own`, if captured.
    pub fn get(&self, name: &str, own: Option<&str>) -> Option<&String> {
        match name.split_once('.') {
            Some((OWN, capture)) => self.by_principal.get(own?)?.get(capture),
            Some((principal, capture)) => self.by_principal.get(principal)?.get(capture),
            None => self.shared.get(name),
        }
    }
}

/// The layers a variable is looked up in, in SPEC order: `--var`, the values
/// captured by steps, the cell's principal's `vars`, the suite's `vars`, the
/// serving mock's `vars` (only when a mock serves the run), the environment;
/// `BASE_URL` is the effective target once known.
#[derive(Clone, Copy, Debug)]
pub struct Scope<'a> {
    /// `--var NAME=VALUE` from the command line.
    pub cli: &'a BTreeMap<String, String>,
    /// The principal's `vars`, when the string belongs to a cell.
    pub principal: Option<&'a BTreeMap<String, Template>>,
    /// The suite's `vars`.
    pub suite: &'a BTreeMap<String, Template>,
    /// Variables of the mock serving the run (its credentials), when one does.
    pub mock: Option<&'a BTreeMap<String, String>>,
    /// The process environment, captured once.
    pub env: &'a BTreeMap<String, String>,
    /// The effective target, once known.
    pub base_url: Option<&'a str>,
    /// What setup and teardown steps captured, once they ran.
    pub captured: Option<&'a Captured>,
    /// The principal `${own.…}` names: the cell's, or the one a step runs as.
    pub own: Option<&'a str>,
}

/// How to supply a variable that nothing defines.
pub fn unresolved_help(name: &str) -> String {
    format!(
        "set it with --var {name}=…, a principal's or the suite's `vars`, or the environment; or write `${{{name}:-default}}`"
    )
}

/// The variable that names the effective target.
pub const BASE_URL: &str = "BASE_URL";

impl<'a> Scope<'a> {
    /// Looks a name up; `Ok(None)` means it is not defined anywhere.
    fn lookup(&self, name: &str) -> Result<Option<String>, Unresolved> {
        if let Some(value) = self.cli.get(name) {
            return Ok(Some(value.clone()));
        }
        if let Some(value) = self.captured.and_then(|c| c.get(name, self.own)) {
            return Ok(Some(value.clone()));
        }
        if name.contains('.') {
            // A capture is never looked up anywhere else: `alice.id` is no
            // environment variable.
            return Ok(None);
        }
        if let Some(template) = self.principal.and_then(|vars| vars.get(name)) {
            // A principal's vars may refer to the suite's, never to other principal vars.
            let outer = Scope {
                principal: None,
                ..*self
            };
            return template.render(&outer).map(Some);
        }
        if let Some(template) = self.suite.get(name) {
            let outer = Scope {
                principal: None,
                suite: &EMPTY,
                ..*self
            };
            return template.render(&outer).map(Some);
        }
        if name == BASE_URL {
            return Ok(self.base_url.map(str::to_string));
        }
        if let Some(value) = self.mock.and_then(|vars| vars.get(name)) {
            return Ok(Some(value.clone()));
        }
        Ok(self.env.get(name).cloned())
    }

    /// This scope with a principal's vars.
    pub fn for_principal(self, vars: &'a BTreeMap<String, Template>) -> Scope<'a> {
        Scope {
            principal: Some(vars),
            ..self
        }
    }

    /// This scope with what steps captured, `own` naming `principal`.
    pub fn with_captured(self, captured: &'a Captured, principal: Option<&'a str>) -> Scope<'a> {
        Scope {
            captured: Some(captured),
            own: principal,
            ..self
        }
    }

    /// True when `BASE_URL` would resolve to a value, now or once the target is known.
    fn defers_base_url(&self, name: &str) -> bool {
        name == BASE_URL && self.base_url.is_none()
    }
}

static EMPTY: BTreeMap<String, Template> = BTreeMap::new();

impl Template {
    /// Parses `raw`; `$${` writes a literal `${`.
    pub fn parse(raw: &str, pos: Pos) -> Result<Template, TemplateSyntaxError> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = raw;
        while let Some(at) = rest.find("${") {
            if rest[..at].ends_with('$') {
                literal.push_str(&rest[..at]);
                literal.push('{');
                rest = &rest[at + 2..];
                continue;
            }
            literal.push_str(&rest[..at]);
            let after = &rest[at + 2..];
            let Some(close) = after.find('}') else {
                return Err(TemplateSyntaxError(format!(
                    "`${{` without a closing `}}` in {raw:?}"
                )));
            };
            let body = &after[..close];
            let (name, default) = match body.split_once(":-") {
                Some((name, default)) => (name, Some(default.to_string())),
                None => (body, None),
            };
            if !is_variable_name(name) {
                return Err(TemplateSyntaxError(format!(
                    "`${{{body}}}` is not a variable reference: names use letters, digits and `_` (a capture of a principal: `${{alice.note_id}}`)"
                )));
            }
            if !literal.is_empty() {
                parts.push(Part::Literal(std::mem::take(&mut literal)));
            }
            parts.push(Part::Var {
                name: name.to_string(),
                default,
            });
            rest = &after[close + 1..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(Template {
            raw: raw.to_string(),
            pos,
            parts,
        })
    }

    /// A template holding plain text, for values made by the program.
    pub fn literal(text: &str) -> Template {
        Template {
            raw: text.to_string(),
            pos: Pos::default(),
            parts: vec![Part::Literal(text.to_string())],
        }
    }

    /// A secret template as the inside of a double-quoted shell word: `${NAME}`
    /// when it is exactly one variable (its default dropped: a default may be
    /// a secret), else `${fallback}`, so no part of the value is ever shown.
    pub fn to_shell(&self, fallback: &str) -> String {
        // Only a template that is one variable and nothing else hides its
        // value: around text (`sk_live_${SUFFIX}`) the text is part of the secret.
        match self.parts.as_slice() {
            [Part::Var { name, .. }] => format!("${{{name}}}"),
            _ => format!("${{{fallback}}}"),
        }
    }

    /// The template as the inside of a double-quoted shell word, its text as
    /// written (not a secret: a user name), each `${NAME}` a shell variable.
    pub fn to_shell_text(&self) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(&shell_escape_quoted(text)),
                Part::Var { name, .. } => out.push_str(&format!("${{{name}}}")),
            }
        }
        out
    }

    /// The names this template refers to.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|part| match part {
            Part::Var { name, .. } => Some(name.as_str()),
            Part::Literal(_) => None,
        })
    }

    /// Each variable's value as the template renders it (its default when
    /// nothing defines it), by name; with `query_only`, only the variables
    /// after the first `?` (a request line's query, not its path).
    pub fn rendered_vars(&self, scope: &Scope<'_>, query_only: bool) -> Vec<(&str, String)> {
        let mut in_query = !query_only;
        let mut values = Vec::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => in_query |= text.contains('?'),
                Part::Var { name, default } if in_query => {
                    let value = match (scope.lookup(name), default) {
                        (Ok(Some(value)), _) => value,
                        (_, Some(default)) => default.clone(),
                        _ => continue,
                    };
                    values.push((name.as_str(), value));
                }
                Part::Var { .. } => {}
            }
        }
        values
    }

    /// True when the template refers to `BASE_URL`, directly or through vars.
    pub fn mentions(&self, name: &str) -> bool {
        self.names().any(|n| n == name)
    }

    /// Renders the template in a scope.
    pub fn render(&self, scope: &Scope<'_>) -> Result<String, Unresolved> {
        let mut out = String::with_capacity(self.raw.len());
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Var { name, default } => match (scope.lookup(name)?, default) {
                    (Some(value), _) => out.push_str(&value),
                    (None, Some(default)) => out.push_str(default),
                    (None, None) => return Err(Unresolved(name.clone())),
                },
            }
        }
        Ok(out)
    }

    /// The names that would stay unresolved in `scope`; `BASE_URL` counts as
    /// resolved while the target is still unknown.
    pub fn unresolved(&self, scope: &Scope<'_>) -> Vec<String> {
        let mut missing = Vec::new();
        for part in &self.parts {
            let Part::Var { name, default } = part else {
                continue;
            };
            if default.is_some() || scope.defers_base_url(name) {
                continue;
            }
            match scope.lookup(name) {
                Ok(Some(_)) => {}
                Ok(None) => missing.push(name.clone()),
                // BASE_URL reached through a var is known once the target is.
                Err(Unresolved(inner)) if scope.defers_base_url(&inner) => {}
                Err(Unresolved(inner)) => missing.push(inner),
            }
        }
        missing
    }
}

/// `text` as a single-quoted shell word.
pub fn shell_single_quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// `text` escaped for the inside of a double-quoted shell word.
pub fn shell_escape_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '"' | '\\' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, Template> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Template::parse(v, Pos::default()).unwrap()))
            .collect()
    }

    fn plain(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn layers_resolve_in_spec_order() {
        let cli = plain(&[("a", "cli")]);
        let principal = vars(&[
            ("a", "principal"),
            ("b", "principal"),
            ("own", "${project}-1"),
        ]);
        let suite = vars(&[
            ("a", "suite"),
            ("b", "suite"),
            ("c", "suite"),
            ("project", "TEST"),
        ]);
        let env = plain(&[
            ("a", "env"),
            ("b", "env"),
            ("c", "env"),
            ("d", "env"),
            ("m", "env"),
        ]);
        let mock = plain(&[("c", "mock"), ("d", "mock"), ("m", "mock")]);
        let scope = Scope {
            cli: &cli,
            principal: Some(&principal),
            suite: &suite,
            mock: Some(&mock),
            env: &env,
            base_url: Some("http://x"),
            captured: None,
            own: None,
        };
        let t = Template::parse(
            "${a} ${b} ${c} ${d} ${m} ${e:-dflt} ${own} ${BASE_URL}",
            Pos::default(),
        )
        .unwrap();
        assert_eq!(
            t.render(&scope).unwrap(),
            "cli principal suite mock mock dflt TEST-1 http://x"
        );
    }

    #[test]
    fn unresolved_names_are_reported() {
        let empty = BTreeMap::new();
        let none = BTreeMap::new();
        let scope = Scope {
            cli: &empty,
            principal: None,
            suite: &none,
            mock: None,
            env: &empty,
            base_url: None,
            captured: None,
            own: None,
        };
        let t = Template::parse("/x/${missing}/${BASE_URL}/${ok:-}", Pos::default()).unwrap();
        assert_eq!(t.unresolved(&scope), vec!["missing".to_string()]);
        let suite = vars(&[("api", "${BASE_URL}/api")]);
        let through_var = Scope {
            suite: &suite,
            ..scope
        };
        let via = Template::parse("${api}/x", Pos::default()).unwrap();
        assert!(via.unresolved(&through_var).is_empty());
        assert_eq!(t.render(&scope), Err(Unresolved("missing".into())));
    }

    #[test]
    fn escapes_and_syntax_errors() {
        let empty = BTreeMap::new();
        let none = BTreeMap::new();
        let scope = Scope {
            cli: &empty,
            principal: None,
            suite: &none,
            mock: None,
            env: &empty,
            base_url: None,
            captured: None,
            own: None,
        };
        let t = Template::parse("cost $${x}", Pos::default()).unwrap();
        assert_eq!(t.render(&scope).unwrap(), "cost ${x}");
        assert!(Template::parse("${open", Pos::default()).is_err());
        assert!(Template::parse("${a b}", Pos::default()).is_err());
    }
}
