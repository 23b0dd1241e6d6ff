//! Reading an API description or recording (JSON or YAML) into a
//! `serde_json::Value`, with a located message when it is not one.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// Why a document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// The file could not be read.
    #[error("{}: {source}", file.display())]
    Read {
        /// The file.
        file: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is neither JSON nor YAML.
    #[error("{}:{line}:{column}: {message}", file.display())]
    Syntax {
        /// The file.
        file: PathBuf,
        /// 1-based line (0 when the parser gave none).
        line: usize,
        /// 1-based column (0 when the parser gave none).
        column: usize,
        /// What the parser said.
        message: String,
    },
    /// The file parses but is not the kind of document asked for.
    #[error("{}: {message}", file.display())]
    NotADocument {
        /// The file.
        file: PathBuf,
        /// What it lacks.
        message: String,
    },
}

/// Reads `file` as JSON when its first non-blank character opens a JSON
/// object or array, else as YAML (a superset that also takes odd JSON).
pub fn read(file: &Path) -> Result<Value, DocumentError> {
    let bytes = std::fs::read(file).map_err(|source| DocumentError::Read {
        file: file.to_path_buf(),
        source,
    })?;
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            return Err(DocumentError::NotADocument {
                file: file.to_path_buf(),
                message: format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
            });
        }
    };
    parse(file, text.trim_start_matches('\u{feff}'))
}

/// [`read`] on text already in memory; `file` names it in messages.
pub fn parse(file: &Path, text: &str) -> Result<Value, DocumentError> {
    let looks_json = text.trim_start().starts_with(['{', '[']);
    if looks_json {
        match serde_json::from_str::<Value>(text) {
            Ok(value) => return Ok(value),
            // JSON with comments or trailing commas may still be YAML; a
            // truncated or broken JSON file is reported as JSON.
            Err(e) if yaml(text).is_err() => {
                return Err(DocumentError::Syntax {
                    file: file.to_path_buf(),
                    line: e.line(),
                    column: e.column().max(1),
                    message: format!("invalid JSON: {}", strip_location(&e.to_string())),
                });
            }
            Err(_) => {}
        }
    }
    yaml(text).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line() as usize, l.column() as usize))
            .unwrap_or((0, 0));
        DocumentError::Syntax {
            file: file.to_path_buf(),
            line,
            column,
            message: format!(
                "invalid YAML: {}",
                without_location(first_line(&e.to_string()))
            ),
        }
    })
}

/// YAML into a JSON value, with budgets sized for the largest public API
/// descriptions (GitHub's is 1.5 million nodes in YAML) rather than for
/// suites, and YAML 1.2's scalars: `on`, `y` and `NO` stay strings (they are
/// enum values and property names in real documents), `0755` and `1_000` too.
fn yaml(text: &str) -> Result<Value, serde_saphyr::Error> {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_events = 100_000_000;
    budget.max_nodes = 50_000_000;
    budget.max_total_scalar_bytes = 1 << 30;
    budget.max_aliases = 100_000;
    budget.max_anchors = 100_000;
    budget.max_depth = 512;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options.strict_booleans = true;
    options.leading_zero_numbers_as_strings = true;
    options.underscored_numbers_as_strings = true;
    serde_saphyr::from_str_with_options(text, options)
}

/// serde-saphyr starts with "error: line L column C: "; the location is shown apart.
fn without_location(message: &str) -> &str {
    let rest = message.strip_prefix("error: ").unwrap_or(message);
    match rest.strip_prefix("line ").and_then(|r| r.split_once(": ")) {
        Some((_, reason)) => reason,
        None => rest,
    }
}

fn first_line(message: &str) -> &str {
    message.lines().next().unwrap_or(message)
}

/// serde_json appends " at line L column C"; the location is shown apart.
fn strip_location(message: &str) -> &str {
    message
        .rfind(" at line ")
        .map_or(message, |at| &message[..at])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_scalars_are_read_as_yaml_1_2_reads_them() {
        let doc = "enum: [y, n, on, off, yes, NO]\nzip: 01234\nbig: 1_000\nflag: true\nn: 7\n";
        let value = match parse(Path::new("t.yaml"), doc) {
            Ok(v) => v,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(
            value["enum"],
            serde_json::json!(["y", "n", "on", "off", "yes", "NO"])
        );
        assert_eq!(value["zip"], "01234");
        assert_eq!(value["big"], "1_000");
        assert_eq!(value["flag"], true);
        assert_eq!(value["n"], 7);
    }

    #[test]
    fn a_yaml_document_over_serde_saphyrs_default_node_budget_is_read() {
        let mut doc = String::from("paths:\n");
        for i in 0..60_000 {
            doc.push_str(&format!("  /p{i}: {{get: {{operationId: op{i}}}}}\n"));
        }
        match parse(Path::new("big.yaml"), &doc) {
            Ok(v) => assert_eq!(v["paths"].as_object().map(|p| p.len()), Some(60_000)),
            Err(e) => panic!("{e}"),
        }
    }
}
