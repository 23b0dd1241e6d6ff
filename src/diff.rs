//! `permatrix diff A B`: two recordings (or two snapshots) of the same suite,
//! from two instances or two moments, compared cell by cell, each difference
//! classified as snapshot changes are (widened, auth-broken, narrowed, changed).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::app::{CommandError, Ending, Finished};
use crate::snapshot::{CellValue, ChangeClass, Matrix, Recorded};

/// What `permatrix diff` needs.
#[derive(Clone, Debug)]
pub struct DiffConfig {
    /// The matrix before (a recording or a `.snap` file).
    pub before: PathBuf,
    /// The matrix after.
    pub after: PathBuf,
    /// `--json FILE`.
    pub json: Option<PathBuf>,
}

/// One cell that differs.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CellDiff {
    /// Its class.
    pub class: ChangeClass,
    /// The endpoint.
    pub endpoint: String,
    /// The principal.
    pub principal: String,
    /// Its value in A; `None`: not in A.
    pub before: Option<String>,
    /// Its value in B; `None`: not in B.
    pub after: Option<String>,
}

/// Compares two matrices; the differences come widened first.
pub fn cells(before: &Matrix, after: &Matrix) -> Vec<CellDiff> {
    let by_cell = |m: &Matrix| -> BTreeMap<(String, String), Recorded> {
        m.endpoints
            .iter()
            .flat_map(|(e, cells)| {
                cells
                    .iter()
                    .map(move |(p, r)| ((e.clone(), p.clone()), r.clone()))
            })
            .collect()
    };
    let (a, b) = (by_cell(before), by_cell(after));
    let keys: BTreeSet<&(String, String)> = a.keys().chain(b.keys()).collect();
    let mut diffs = Vec::new();
    for key in keys {
        let (old, new) = (a.get(key), b.get(key));
        let class = match (old, new) {
            (Some(old), Some(new)) if old.status != new.status => {
                crate::snapshot::classify_status(old.status, new.status)
            }
            // The same decision read from another status or reason.
            (Some(old), Some(new)) if old.decided_from != new.decided_from => ChangeClass::Changed,
            (Some(old), Some(new)) if old.body != new.body => {
                crate::snapshot::classify_body(old.body.as_deref(), new.body.as_deref())
            }
            (Some(_), Some(_)) => continue,
            (None, Some(_)) => ChangeClass::Added,
            (Some(_), None) => ChangeClass::Removed,
            (None, None) => continue,
        };
        let text = |r: Option<&Recorded>| {
            r.map(|r| match &r.body {
                Some(body) if old.map(|o| &o.status) == new.map(|n| &n.status) => {
                    format!("{} (body {body})", r.shown())
                }
                _ => r.shown(),
            })
        };
        diffs.push(CellDiff {
            class,
            endpoint: key.0.clone(),
            principal: key.1.clone(),
            before: text(old),
            after: text(new),
        });
    }
    diffs.sort();
    diffs
}

/// Why a file cannot be compared.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    /// The file cannot be read (missing, too large, not a file, not UTF-8).
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: crate::suite::source::SourceError,
    },
    /// Neither a recording nor a snapshot.
    #[error("{} is neither a recording nor a snapshot{first}", path.display())]
    Neither {
        /// The file.
        path: PathBuf,
        /// ` (line N: …)`: its first problem as a mock definition.
        first: String,
    },
    /// A hand-written mock definition.
    #[error(
        "{} is a mock definition, not a recording: diff compares recordings (`run --record`) or snapshots",
        .0.display()
    )]
    NotARecording(PathBuf),
}

/// Reads a recording or a snapshot as a matrix (with the limits of every
/// file permatrix reads).
pub fn read_matrix(path: &Path) -> Result<Matrix, DiffError> {
    let text = crate::suite::source::read_source(path).map_err(|source| DiffError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if text.trim_start().starts_with("---") || path.extension().is_some_and(|e| e == "snap") {
        return Ok(Matrix::parse(crate::snapshot::body_of(&text)));
    }
    let def = crate::suite::mock_def::load_str(path, &text).map_err(|diagnostics| {
        DiffError::Neither {
            path: path.to_path_buf(),
            first: diagnostics
                .first()
                .map(|d| format!(" (line {}: {})", d.pos.line, d.message))
                .unwrap_or_default(),
        }
    })?;
    let Some(recording) = def.replay else {
        return Err(DiffError::NotARecording(path.to_path_buf()));
    };
    let mut endpoints: Vec<(String, Vec<(String, Recorded)>)> = Vec::new();
    for route in &recording.routes {
        let at = match endpoints.iter().position(|(e, _)| *e == route.endpoint) {
            Some(at) => at,
            None => {
                endpoints.push((route.endpoint.clone(), Vec::new()));
                endpoints.len() - 1
            }
        };
        for (principal, answer) in &route.answers {
            endpoints[at].1.push((
                principal.clone(),
                Recorded {
                    status: CellValue::Status(answer.status),
                    decided_from: None,
                    facts: Vec::new(),
                    body: None,
                    items: None,
                    trace: None,
                },
            ));
        }
    }
    Ok(Matrix {
        endpoints,
        findings: Vec::new(),
        lints: Vec::new(),
    })
}

/// `permatrix diff`: prints the differing cells, classified; ends `Failed` when any differ.
pub fn diff(config: &DiffConfig) -> Result<Finished, CommandError> {
    let usage = |e: DiffError| CommandError::Usage(e.to_string());
    let before = read_matrix(&config.before).map_err(usage)?;
    let after = read_matrix(&config.after).map_err(usage)?;
    let diffs = cells(&before, &after);
    let mut lines: Vec<String> = diffs
        .iter()
        .map(|d| {
            format!(
                "{:<11} {} × {}: {} → {}",
                d.class.as_str(),
                d.endpoint,
                d.principal,
                d.before.as_deref().unwrap_or("(absent)"),
                d.after.as_deref().unwrap_or("(absent)")
            )
        })
        .collect();
    let mut counts: BTreeMap<ChangeClass, usize> = BTreeMap::new();
    for d in &diffs {
        *counts.entry(d.class).or_default() += 1;
    }
    let summary: Vec<String> = counts
        .iter()
        .map(|(class, n)| format!("{n} {}", class.as_str()))
        .collect();
    lines.push(if diffs.is_empty() {
        format!(
            "no cell differs between {} and {}",
            config.before.display(),
            config.after.display()
        )
    } else {
        format!("{} cell(s) differ: {}", diffs.len(), summary.join(", "))
    });
    if let Some(path) = &config.json {
        let document = json!({
            "a": config.before.display().to_string(),
            "b": config.after.display().to_string(),
            "changes": diffs.iter().map(|d| json!({
                "class": d.class.as_str(),
                "endpoint": d.endpoint,
                "principal": d.principal,
                "before": d.before.as_deref().map(status_or_text),
                "after": d.after.as_deref().map(status_or_text),
            })).collect::<Vec<_>>(),
            "summary": counts.iter().map(|(c, n)| (c.as_str().to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
        });
        let text = serde_json::to_string_pretty(&document).unwrap_or_default() + "\n";
        // `--json -`: the document alone on stdout.
        if let Some(document) = crate::app::write_document(path, text)? {
            lines = vec![document];
        }
    }
    Ok(Finished {
        ending: if diffs.is_empty() {
            Ending::Passed
        } else {
            Ending::Failed
        },
        lines,
        notes: Vec::new(),
    })
}

/// A status as a number in JSON; `skipped` and body notes as text.
fn status_or_text(text: &str) -> serde_json::Value {
    text.parse::<u16>()
        .map_or_else(|_| json!(text), |status| json!(status))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(cells: &[(&str, &str, &str)]) -> Matrix {
        let mut text = String::new();
        let mut last = "";
        for (endpoint, principal, status) in cells {
            if *endpoint != last {
                text.push_str(&format!("{endpoint}\n"));
                last = endpoint;
            }
            text.push_str(&format!("  {principal} → {status}\n"));
        }
        Matrix::parse(&text)
    }

    #[test]
    fn differences_are_classified_widened_first() {
        let a = matrix(&[
            ("GET /x", "bob", "403"),
            ("GET /x", "app", "200"),
            ("GET /y", "bob", "200"),
        ]);
        let b = matrix(&[
            ("GET /x", "bob", "200"),
            ("GET /x", "app", "401"),
            ("GET /y", "bob", "404"),
        ]);
        let classes: Vec<ChangeClass> = cells(&a, &b).iter().map(|d| d.class).collect();
        assert_eq!(
            classes,
            [
                ChangeClass::Widened,
                ChangeClass::AuthBroken,
                ChangeClass::Narrowed
            ]
        );
        assert!(cells(&a, &a).is_empty());
    }
}
