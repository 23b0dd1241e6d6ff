//! `permatrix reach SUITE --scopes A,B`: which endpoints a scope set reaches,
//! read from the suite's last snapshot (nothing sent) or from a run first.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use owo_colors::OwoColorize;
use serde_json::{Value, json};

use crate::app::{
    CommandError, Ending, Finished, NOTHING_RUN, TargetChoice, command_session,
    document_unwritable, write_document,
};
use crate::plan::Selection;
use crate::scopes::reach::{Basis, ReachRow, reach, unknown_scopes};
use crate::snapshot::{self, Matrix};
use crate::suite::Suite;

/// Everything `permatrix reach` needs, parsed from the command line.
#[derive(Clone, Debug, Default)]
pub struct ReachConfig {
    /// The suite file (a folder holding one suite will do).
    pub paths: Vec<PathBuf>,
    /// `--scopes`: the scope set asked about.
    pub scopes: Vec<String>,
    /// `--snapshots DIR`.
    pub snapshots: PathBuf,
    /// `--run`: run the suite first instead of reading its snapshot.
    pub run: bool,
    /// `--json FILE`.
    pub json: Option<PathBuf>,
    /// `--markdown FILE`.
    pub markdown: Option<PathBuf>,
    /// With `--run`: `--base-url` and `--mock`.
    pub target: TargetChoice,
    /// With `--run`: engine settings; always: `--var` and the environment.
    pub exec: crate::execute::ExecOptions,
    /// Colour the terminal table.
    pub color: bool,
}

/// The scopes of a `--scopes` value: comma- or space-separated; empty is the empty set.
pub fn parse_scopes(text: &str) -> Vec<String> {
    let mut scopes: Vec<String> = Vec::new();
    for scope in text
        .split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_string());
        }
    }
    scopes
}

/// `permatrix reach`: the table on stdout, JSON and Markdown files when asked.
pub fn reach_command(config: &ReachConfig) -> Result<Finished, CommandError> {
    let outputs = [("--json", &config.json), ("--markdown", &config.markdown)];
    let asked: Vec<(&str, &PathBuf)> = (outputs.iter())
        .filter_map(|(flag, path)| Some((*flag, path.as_ref()?)))
        .collect();
    if asked.iter().filter(|(_, p)| p.as_os_str() == "-").count() > 1 {
        return Err(CommandError::Usage(
            "--json and --markdown ask for stdout (`-`): at most one can go there".into(),
        ));
    }
    if let Some(problem) = asked
        .iter()
        .find_map(|(flag, path)| document_unwritable(flag, path))
    {
        return Err(CommandError::Usage(problem));
    }
    let session = command_session(&config.paths, &config.target, &config.exec)?;
    let [suite] = session.suites.as_slice() else {
        let names: Vec<&str> = session.suites.iter().map(|s| s.name.as_str()).collect();
        return Err(CommandError::Usage(format!(
            "reach answers for one suite, and {} has {} ({}): name one file",
            shown(&config.paths),
            names.len(),
            names.join(", ")
        )));
    };
    let unknown = unknown_scopes(suite, &config.scopes);
    if !unknown.is_empty() {
        let lines: Vec<String> = unknown
            .iter()
            .map(|u| {
                let hint = u
                    .nearest
                    .as_ref()
                    .map_or(String::new(), |n| format!("; did you mean `{n}`?"));
                format!(
                    "unknown scope `{}`: no endpoint, principal, `scope_implies` or `scopes_known` of {} names it{hint}",
                    u.scope, suite.name
                )
            })
            .collect();
        return Err(CommandError::Usage(lines.join("\nerror: ")));
    }
    let (matrix, source) = if config.run {
        let cells = session
            .plan(&Selection::default())
            .map_err(|e| CommandError::from_session(e, NOTHING_RUN))?;
        let started = session
            .start()
            .map_err(|e| CommandError::from_session(e, NOTHING_RUN))?;
        let outcomes = started
            .execute(&cells, &config.exec, |_| {})
            .map_err(|e| CommandError::from_session(e, NOTHING_RUN))?;
        let previous = recorded(config, suite)?;
        let matrix = snapshot::observed(suite, 0, &outcomes, previous.as_ref());
        (matrix, "a run".to_string())
    } else {
        let path = snapshot::path_for(&config.snapshots, &suite.name);
        let Some(matrix) = recorded(config, suite)? else {
            return Err(CommandError::Usage(format!(
                "no snapshot of {} at {}: run `permatrix run {}` first, or pass --run",
                suite.name,
                path.display(),
                suite.file.display()
            )));
        };
        (matrix, path.display().to_string())
    };
    let closure = suite.scope_rules.closure(&config.scopes);
    let statuses = matrix.statuses();
    let rows = reach(suite, &closure, snapshot::seen_in(suite, &statuses));
    let answer = Answer {
        suite,
        asked: &config.scopes,
        closure: &closure,
        rows: &rows,
        source: &source,
        reasons: matrix.reasons(),
    };
    let mut notes = Vec::new();
    if suite.principals.iter().all(|p| p.scopes.is_none()) {
        notes.push(format!(
            "warning: no principal of {} declares `scopes:`, so nothing is observed or inferred",
            suite.name
        ));
    }
    let mut documents = Vec::new();
    if let Some(path) = &config.json {
        let text = serde_json::to_string_pretty(&answer.json())
            .map_err(|e| CommandError::Setup(e.to_string()))?;
        documents.extend(write_document(path, text + "\n")?);
    }
    if let Some(path) = &config.markdown {
        documents.extend(write_document(path, answer.markdown())?);
    }
    // A document on stdout (`-`) moves the table to stderr.
    let table = answer.table(config.color);
    let lines = if documents.is_empty() {
        vec![table]
    } else {
        notes.insert(0, table);
        documents
    };
    Ok(Finished {
        ending: Ending::Passed,
        lines,
        notes,
    })
}

fn shown(paths: &[PathBuf]) -> String {
    let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    shown.join(" ")
}

/// The suite's recorded snapshot, if it has one.
fn recorded(config: &ReachConfig, suite: &Suite) -> Result<Option<Matrix>, CommandError> {
    let path = snapshot::path_for(&config.snapshots, &suite.name);
    let text = snapshot::read_recorded(&path).map_err(|e| CommandError::Setup(e.to_string()))?;
    Ok(text.map(|text| Matrix::parse(snapshot::body_of(&text))))
}

/// One answer, ready to render.
struct Answer<'a> {
    suite: &'a Suite,
    asked: &'a [String],
    closure: &'a BTreeSet<String>,
    rows: &'a [ReachRow<'a>],
    source: &'a str,
    /// What a `decide:` rule read as each cell's reason (Slack's `needed`), by endpoint and principal.
    reasons: HashMap<(&'a str, &'a str), &'a str>,
}

/// The reached column: readable without colour.
fn verdict(row: &ReachRow<'_>) -> &'static str {
    match row.reached {
        Some(true) => "reached",
        Some(false) => "denied",
        None => "?",
    }
}

impl Answer<'_> {
    fn principal(&self, p: usize) -> &str {
        &self.suite.principals[p].name
    }

    /// The alternative that applies: the one the set meets, else the first.
    fn required(&self, row: &ReachRow<'_>) -> Option<Vec<String>> {
        let required = row.required?;
        Some(
            required
                .met_by(self.closure)
                .map(<[String]>::to_vec)
                .or_else(|| required.alternatives.first().cloned())
                .unwrap_or_default(),
        )
    }

    /// The reason the answer of `row`'s principal named, when a rule read one.
    fn reason(&self, row: &ReachRow<'_>) -> Option<&str> {
        let p = row.via?;
        let key = (
            self.suite.endpoints[row.endpoint].name.as_str(),
            self.principal(p),
        );
        self.reasons.get(&key).copied()
    }

    fn via(&self, row: &ReachRow<'_>) -> String {
        match (row.via, row.basis) {
            (Some(p), _) => match self.reason(row) {
                Some(reason) => format!("via {} (the answer said: {reason})", self.principal(p)),
                None => format!("via {}", self.principal(p)),
            },
            (None, Basis::Unknown) => match self.documented(row) {
                Some(true) => "its scopes say: reached".into(),
                Some(false) => "its scopes say: denied".into(),
                None => String::new(),
            },
            (None, Basis::Conflicting) => row
                .conflicts
                .iter()
                .map(|(p, status)| format!("{} {status}", self.principal(*p)))
                .collect::<Vec<_>>()
                .join(", "),
            _ => String::new(),
        }
    }

    /// What the endpoint's `scopes:` says of the set: met (reached) or not.
    fn documented(&self, row: &ReachRow<'_>) -> Option<bool> {
        row.required.map(|r| r.met_by(self.closure).is_some())
    }

    fn held(&self) -> String {
        if self.asked.is_empty() {
            "no scope".into()
        } else {
            self.asked.join(", ")
        }
    }

    fn counts(&self) -> String {
        let count = |f: &dyn Fn(&ReachRow<'_>) -> bool| self.rows.iter().filter(|r| f(r)).count();
        format!(
            "{} reached, {} denied, {} conflicting, {} unknown (of {} endpoints)",
            count(&|r| r.reached == Some(true)),
            count(&|r| r.reached == Some(false)),
            count(&|r| r.basis == Basis::Conflicting),
            count(&|r| r.basis == Basis::Unknown),
            self.rows.len()
        )
    }

    fn table(&self, color: bool) -> String {
        let implied: Vec<&str> = self
            .closure
            .iter()
            .map(String::as_str)
            .filter(|s| !self.asked.iter().any(|a| a == s))
            .collect();
        let mut text = format!("{}: what {} reaches", self.suite.name, self.held());
        if !implied.is_empty() {
            text.push_str(&format!(" (it implies {})", implied.join(", ")));
        }
        text.push_str(&format!(", from {}\n\n", self.source));
        let width = (self.rows.iter())
            .map(|r| self.suite.endpoints[r.endpoint].name.chars().count())
            .max()
            .unwrap_or(0);
        let requires = |row: &ReachRow<'_>| match row.required {
            Some(required) => format!("requires {}", required.describe()),
            None => "requires ?".into(),
        };
        let requires_width = (self.rows.iter())
            .map(|r| requires(r).chars().count())
            .max()
            .unwrap_or(0);
        for row in self.rows {
            let name = &self.suite.endpoints[row.endpoint].name;
            let pad = " ".repeat(width - name.chars().count());
            let requires = requires(row);
            let requires_pad = " ".repeat(requires_width - requires.chars().count());
            let word = format!("{:<7}", verdict(row));
            let word = match (color, row.reached) {
                (false, _) => word,
                (true, Some(true)) => word.green().to_string(),
                (true, Some(false)) => word.red().to_string(),
                (true, None) => word.yellow().to_string(),
            };
            let line = format!(
                "  {word}  {:<11}  {name}{pad}  {requires}{requires_pad}  {}",
                row.basis.as_str(),
                self.via(row)
            );
            text.push_str(line.trim_end());
            text.push('\n');
        }
        text.push_str(&format!("\n{}", self.counts()));
        text
    }

    fn json(&self) -> Value {
        let endpoints: Vec<Value> = self
            .rows
            .iter()
            .map(|row| {
                json!({
                    "endpoint": self.suite.endpoints[row.endpoint].name,
                    "reached": row.reached,
                    "basis": row.basis.as_str(),
                    "via": row.via.map(|p| self.principal(p)),
                    "reason": self.reason(row),
                    "required": self.required(row),
                    "required_any": row.required.map(|r| &r.alternatives),
                    "documented": self.documented(row),
                    "conflicts": row.conflicts.iter().map(|(p, status)| json!({
                        "principal": self.principal(*p),
                        "status": status,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        json!({
            "suite": self.suite.name,
            "asked": self.asked,
            "scopes": self.closure,
            "source": self.source,
            "endpoints": endpoints,
        })
    }

    fn markdown(&self) -> String {
        let cell = |text: &str| text.replace('|', "\\|").replace('`', "'");
        let mut out = format!(
            "## What {} reaches in {}\n\nWith what it implies: {}. From {}.\n\n| endpoint | reached | basis | requires | via |\n| --- | --- | --- | --- | --- |\n",
            cell(&self.held()),
            cell(&self.suite.name),
            cell(&self.closure.iter().cloned().collect::<Vec<_>>().join(", ")),
            cell(self.source)
        );
        for row in self.rows {
            let symbol = match row.reached {
                Some(true) => "✅ reached",
                Some(false) => "⛔ denied",
                None => "❔ ?",
            };
            out.push_str(&format!(
                "| `{}` | {symbol} | {} | {} | {} |\n",
                cell(&self.suite.endpoints[row.endpoint].name),
                row.basis.as_str(),
                cell(&row.required.map_or("?".into(), |r| r.describe())),
                cell(&self.via(row))
            ));
        }
        out.push_str(&format!("\n**{}**\n", self.counts()));
        out
    }
}
