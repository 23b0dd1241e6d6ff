//! `permatrix coverage`: which operations of an OpenAPI description the
//! suites' endpoints cover, and which endpoints match no operation (with the
//! nearest one as a suggestion). `openapi::matcher` decides what a request is,
//! [`suggest`] what it is near, [`render`] writes the terminal lines and the
//! `--json` document.

mod render;
mod suggest;

use std::path::PathBuf;

use crate::app::{CommandError, Ending, Finished};
use crate::execute::ExecOptions;
use crate::openapi::{self, Spec};
use crate::session::{Session, SessionOptions};
use crate::suite::Suite;

pub use crate::openapi::matcher::PathMap;

use crate::openapi::matcher::{Found, Matcher};
use crate::openapi::path::RequestPath;

/// Everything `permatrix coverage` needs, parsed from the command line.
#[derive(Clone, Debug, Default)]
pub struct CoverageConfig {
    /// `--openapi`: the API description.
    pub openapi: PathBuf,
    /// Suite files or folders.
    pub paths: Vec<PathBuf>,
    /// `--json`: where to write the result.
    pub json: Option<PathBuf>,
    /// `--min`: the least percentage that passes.
    pub min: Option<MinPercent>,
    /// `--map FROM=TO`, in command-line order.
    pub maps: Vec<PathMap>,
    /// Interpolation sources the suites load with (`--var`, the environment).
    pub exec: ExecOptions,
}

/// A `--min` that is not a percentage from 0 to 100.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a percentage from 0 to 100 (e.g. 75 or 66.5)")]
pub struct NotAPercentage(String);

/// A `--map` that is not `FROM=TO` with two paths.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not FROM=TO with two paths (e.g. /rest/api/2=/rest/api/3)")]
pub struct NotAPathMap(String);

/// A `--min` percentage, kept exact (`66.67` is 6667 hundredths, not a float).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MinPercent {
    digits: u128,
    scale: u32,
}

impl MinPercent {
    /// Reads `75`, `66.5` or `99.99`: a decimal number from 0 to 100.
    pub fn parse(text: &str) -> Result<MinPercent, NotAPercentage> {
        let bad = || NotAPercentage(text.to_string());
        let (whole, fraction) = text.trim().split_once('.').unwrap_or((text.trim(), ""));
        let all_digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
        if whole.is_empty() && fraction.is_empty()
            || !all_digits(whole)
            || !all_digits(fraction)
            || whole.len() > 3
            || fraction.len() > 12
        {
            return Err(bad());
        }
        let digits: u128 = format!("{whole}{fraction}").parse().map_err(|_| bad())?;
        let scale = fraction.len() as u32;
        if digits > 100 * 10u128.pow(scale) {
            return Err(bad());
        }
        Ok(MinPercent { digits, scale })
    }

    /// Whether `covered` of `total` reaches it (exactly equal passes; no
    /// operations at all is 100 %).
    fn passed_by(self, covered: usize, total: usize) -> bool {
        if total == 0 {
            return true;
        }
        // covered / total × 100 ≥ digits / 10^scale, in integers.
        (covered as u128) * 100 * 10u128.pow(self.scale) >= self.digits * total as u128
    }

    fn shown(self) -> String {
        let scale = 10u128.pow(self.scale);
        let (whole, fraction) = (self.digits / scale, self.digits % scale);
        if fraction == 0 {
            whole.to_string()
        } else {
            let fraction = format!("{fraction:0width$}", width = self.scale as usize);
            format!("{whole}.{}", fraction.trim_end_matches('0'))
        }
    }
}

/// Reads a `--map FROM=TO`: two paths, each starting with `/`.
pub fn parse_map(text: &str) -> Result<PathMap, NotAPathMap> {
    match text.split_once('=') {
        Some((from, to)) if from.starts_with('/') && from.len() > 1 && to.starts_with('/') => {
            Ok(PathMap {
                from: from.to_string(),
                to: to.to_string(),
            })
        }
        _ => Err(NotAPathMap(text.to_string())),
    }
}

/// One operation no endpoint covers.
#[derive(Clone, Debug)]
pub(crate) struct Uncovered {
    method: String,
    path: String,
    operation_id: Option<String>,
}

/// Why an endpoint matches no operation.
#[derive(Clone, Debug)]
pub(crate) enum Miss {
    /// No path of the description is its path.
    NoPath,
    /// Its path is this template's, which has other methods only.
    OtherMethod(String),
    /// Its whole path is one variable.
    VariablePath,
}

/// A suite endpoint that matches no operation.
#[derive(Clone, Debug)]
pub(crate) struct Unmatched {
    suite: String,
    endpoint: String,
    /// The method and the path as written, without the query.
    request: String,
    /// The nearest operation, `METHOD /template`.
    suggestion: Option<String>,
    miss: Miss,
}

/// What `coverage` found.
#[derive(Clone, Debug)]
pub(crate) struct Coverage {
    operations: usize,
    covered: usize,
    endpoints: usize,
    uncovered: Vec<Uncovered>,
    unmatched: Vec<Unmatched>,
}

impl Coverage {
    /// The covered share in hundredths of a percent, rounded down (so 99.999 %
    /// is never shown as 100); 10 000 when there are no operations.
    fn hundredths(&self) -> u64 {
        if self.operations == 0 {
            return 10_000;
        }
        (self.covered as u64 * 10_000) / self.operations as u64
    }
}

/// Matches every endpoint of `suites` to the operations of `spec`.
pub(crate) fn measure(spec: &Spec, suites: &[Suite], maps: &[PathMap]) -> Coverage {
    let matcher = Matcher::new(&spec.operations, &spec.servers, maps);
    let mut covered = vec![false; spec.operations.len()];
    let mut unmatched = Vec::new();
    let mut endpoints = 0;
    for suite in suites {
        for endpoint in &suite.endpoints {
            endpoints += 1;
            let method = endpoint.request.method.as_str();
            let path = RequestPath::parse(&endpoint.request.target.raw);
            let line = |i: usize| {
                let operation = &spec.operations[i];
                format!("{} {}", operation.method, operation.path)
            };
            let miss = match matcher.find(method, &path) {
                Found::Operation(i) => {
                    covered[i] = true;
                    continue;
                }
                Found::OtherMethod(i) => Miss::OtherMethod(spec.operations[i].path.clone()),
                Found::Nothing => Miss::NoPath,
                Found::VariablePath => Miss::VariablePath,
            };
            unmatched.push(Unmatched {
                suite: suite.name.clone(),
                endpoint: endpoint.name.clone(),
                request: format!("{method} {}", path.written),
                suggestion: suggest::nearest(&matcher, method, &path).map(line),
                miss,
            });
        }
    }
    let uncovered = spec
        .operations
        .iter()
        .zip(&covered)
        .filter(|(_, covered)| !**covered)
        .map(|(operation, _)| Uncovered {
            method: operation.method.clone(),
            path: operation.path.clone(),
            operation_id: operation.operation_id.clone(),
        })
        .collect();
    Coverage {
        operations: spec.operations.len(),
        covered: covered.iter().filter(|c| **c).count(),
        endpoints,
        uncovered,
        unmatched,
    }
}

/// `permatrix coverage`: reads the description and the suites, prints what
/// is covered and what is not, writes `--json`, and fails below `--min`.
pub fn coverage(config: &CoverageConfig) -> Result<Finished, CommandError> {
    if let Some(problem) =
        (config.json.as_deref()).and_then(|path| crate::app::document_unwritable("--json", path))
    {
        return Err(CommandError::Usage(problem));
    }
    let spec = openapi::load(&config.openapi)
        .map_err(|e| CommandError::Usage(format!("--openapi {e}")))?;
    let options = SessionOptions {
        exec: config.exec.clone(),
        ..SessionOptions::default()
    };
    let session = Session::load(&config.paths, options)
        .map_err(|e| CommandError::from_session(e, "; nothing was measured."))?;
    let result = measure(&spec, &session.suites, &config.maps);
    let to_stdout = match &config.json {
        Some(file) => crate::app::write_document(file, render::json(&result))?,
        None => None,
    };
    let mut notes: Vec<String> = spec
        .warnings
        .iter()
        .map(|w| format!("warning: {}: {w}", config.openapi.display()))
        .collect();
    let below = config
        .min
        .filter(|min| !min.passed_by(result.covered, result.operations));
    if let Some(min) = below {
        notes.push(format!(
            "coverage {} % is below --min {}",
            render::percent(result.hundredths()),
            min.shown()
        ));
    }
    // With `--json -` the document has stdout; the summary goes to stderr.
    let summary = render::lines(&result, session.suites.len());
    let lines = match to_stdout {
        Some(document) => {
            notes.splice(0..0, summary);
            vec![document]
        }
        None => summary,
    };
    Ok(Finished {
        ending: if below.is_some() {
            Ending::Failed
        } else {
            Ending::Passed
        },
        lines,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_is_exact_and_equal_passes() {
        let min = |t: &str| MinPercent::parse(t).unwrap();
        assert!(min("50").passed_by(1, 2));
        assert!(min("50.0").passed_by(1, 2));
        assert!(!min("50.01").passed_by(1, 2));
        assert!(min("66.66").passed_by(2, 3));
        assert!(!min("66.67").passed_by(2, 3));
        assert!(min("100").passed_by(3, 3));
        assert!(!min("100").passed_by(2, 3));
        assert!(min("0").passed_by(0, 3));
        assert!(min("100").passed_by(0, 0));
        for bad in ["", ".", "-1", "100.01", "1e2", "abc", "50%", "1000"] {
            assert!(MinPercent::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(min("66.50").shown(), "66.5");
        assert_eq!(min(".5").shown(), "0.5");
        assert_eq!(min("007").shown(), "7");
    }

    #[test]
    fn maps_are_two_paths() {
        assert!(parse_map("/rest/api/2=/rest/api/3").is_ok());
        assert!(parse_map("/api=/").is_ok());
        assert!(parse_map("rest=/x").is_err());
        assert!(parse_map("/=/x").is_err());
        assert!(parse_map("/x").is_err());
    }
}
