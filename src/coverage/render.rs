//! What `coverage` prints, and its `--json` document.

use serde::Serialize;

use super::{Coverage, Miss};

/// A percentage given in hundredths, without trailing zeros: `60`, `65.5`, `66.66`.
pub(super) fn percent(hundredths: u64) -> String {
    let (whole, fraction) = (hundredths / 100, hundredths % 100);
    match fraction {
        0 => whole.to_string(),
        f if f.is_multiple_of(10) => format!("{whole}.{}", f / 10),
        f => format!("{whole}.{f:02}"),
    }
}

/// The lines for stdout: the uncovered operations, the endpoints matching
/// none, and a closing line.
pub(super) fn lines(coverage: &Coverage, suites: usize) -> Vec<String> {
    let mut lines = Vec::new();
    if !coverage.uncovered.is_empty() {
        lines.push(format!(
            "uncovered operations ({} of {}):",
            coverage.uncovered.len(),
            coverage.operations
        ));
        let width = coverage
            .uncovered
            .iter()
            .map(|u| u.method.len())
            .max()
            .unwrap_or(0);
        for operation in &coverage.uncovered {
            let id = operation
                .operation_id
                .as_deref()
                .map(|id| format!("  {id}"))
                .unwrap_or_default();
            lines.push(format!(
                "  {:width$} {}{id}",
                operation.method, operation.path
            ));
        }
    }
    if !coverage.unmatched.is_empty() {
        lines.push(format!(
            "endpoints matching no operation ({} of {}):",
            coverage.unmatched.len(),
            coverage.endpoints
        ));
        for endpoint in &coverage.unmatched {
            let named_by_request = endpoint.endpoint == endpoint.request
                || endpoint
                    .endpoint
                    .strip_prefix(&endpoint.request)
                    .is_some_and(|rest| rest.starts_with('?'));
            let request = if named_by_request {
                String::new()
            } else {
                format!(" ({})", endpoint.request)
            };
            let method = endpoint.request.split(' ').next().unwrap_or_default();
            let why = match &endpoint.miss {
                Miss::NoPath => None,
                Miss::OtherMethod(path) => Some(format!("{path} has no {method}")),
                Miss::VariablePath => Some("its whole path is a variable".to_string()),
            };
            let hint = match &endpoint.suggestion {
                Some(s) => format!("did you mean {s}?"),
                None if why.is_some() => String::new(),
                None => "no operation is near it".to_string(),
            };
            let text = [why.unwrap_or_default(), hint]
                .into_iter()
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>()
                .join("; ");
            lines.push(format!(
                "  {} › {}{request}: {text}",
                endpoint.suite, endpoint.endpoint
            ));
        }
    }
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    lines.push(format!(
        "coverage: {} of {} ({} %) by {} of {}",
        coverage.covered,
        plural(coverage.operations, "operation"),
        percent(coverage.hundredths()),
        plural(coverage.endpoints, "endpoint"),
        plural(suites, "suite"),
    ));
    lines
}

#[derive(Serialize)]
struct Document<'a> {
    operations: usize,
    covered: usize,
    percent: serde_json::Number,
    uncovered: Vec<UncoveredJson<'a>>,
    unmatched: Vec<UnmatchedJson<'a>>,
}

#[derive(Serialize)]
struct UncoveredJson<'a> {
    method: &'a str,
    path: &'a str,
    operation_id: Option<&'a str>,
}

#[derive(Serialize)]
struct UnmatchedJson<'a> {
    suite: &'a str,
    endpoint: &'a str,
    request: &'a str,
    suggestion: Option<&'a str>,
}

/// The `--json` document, pretty-printed, ending with a newline.
pub(super) fn json(coverage: &Coverage) -> String {
    let hundredths = coverage.hundredths();
    let percent = if hundredths.is_multiple_of(100) {
        serde_json::Number::from(hundredths / 100)
    } else {
        serde_json::Number::from_f64(hundredths as f64 / 100.0)
            .unwrap_or_else(|| serde_json::Number::from(hundredths / 100))
    };
    let document = Document {
        operations: coverage.operations,
        covered: coverage.covered,
        percent,
        uncovered: coverage
            .uncovered
            .iter()
            .map(|u| UncoveredJson {
                method: &u.method,
                path: &u.path,
                operation_id: u.operation_id.as_deref(),
            })
            .collect(),
        unmatched: coverage
            .unmatched
            .iter()
            .map(|u| UnmatchedJson {
                suite: &u.suite,
                endpoint: &u.endpoint,
                request: &u.request,
                suggestion: u.suggestion.as_deref(),
            })
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_drop_trailing_zeros() {
        assert_eq!(percent(6000), "60");
        assert_eq!(percent(6550), "65.5");
        assert_eq!(percent(6666), "66.66");
        assert_eq!(percent(5), "0.05");
        assert_eq!(percent(10_000), "100");
    }
}
