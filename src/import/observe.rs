//! `init --observe`: the draft run against its target with the normal
//! session (concurrency, rate limit, retries, mutation guard, progress bar),
//! and the statuses it got written back as the expectations.

use std::path::Path;

use super::compact::Seen;
use super::draft::{Cell, Draft};
use crate::execute::ExecOptions;
use crate::outcome::{CellOutcome, CellResult, Tally};
use crate::plan::Selection;
use crate::report::terminal::{TerminalReporter, TerminalStyle};
use crate::report::{Event, Reporter, RunReport};
use crate::session::{Completion, Session, SessionError, SessionOptions, TargetChoice};

/// Why the draft could not be observed.
#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    /// The draft could not be written where it is run from.
    #[error("cannot write the draft to observe in {}: {source}", dir.display())]
    Draft {
        /// The folder.
        dir: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The session could not load, start or execute.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// Ctrl-C stopped the observation: nothing is written.
    #[error("interrupted: nothing was written")]
    Interrupted,
}

/// What observing found.
pub struct Observed {
    /// The matrix, endpoint × principal: statuses; `any` for what was not observed.
    pub rows: Vec<Vec<Seen>>,
    /// For each endpoint none of whose cells were sent, why (its row is all `any`).
    pub unobserved: Vec<Option<String>>,
    /// How many cells answered, errored, were not sent.
    pub tally: Tally,
    /// What the session had to say (a target that kept refusing).
    pub notices: Vec<String>,
}

/// How an observation is run.
pub struct ObserveOptions<'a> {
    /// Engine settings and interpolation sources.
    pub exec: &'a ExecOptions,
    /// Send mutations too (the mutation guard still applies).
    pub include_mutations: bool,
    /// The progress bar.
    pub style: TerminalStyle,
}

/// Runs `draft` (every expectation `any`) from `dir`, where the suite will
/// live, so relative paths hold. A cell not observed expects `any`, so that
/// the suite passes against the target it was observed on.
pub fn observe(
    draft: &Draft,
    dir: &Path,
    options: &ObserveOptions<'_>,
) -> Result<Observed, ObserveError> {
    let mut probe = draft.clone();
    probe.default_expect = vec![Cell::new("*", "any")];
    for endpoint in &mut probe.endpoints {
        endpoint.expect.clear();
    }
    let file = tempfile::Builder::new()
        .prefix(".permatrix-observe-")
        .suffix(".yaml")
        .tempfile_in(dir)
        .map_err(|source| ObserveError::Draft {
            dir: dir.to_path_buf(),
            source,
        })?;
    std::fs::write(file.path(), probe.render()).map_err(|source| ObserveError::Draft {
        dir: dir.to_path_buf(),
        source,
    })?;
    let session = Session::load(
        &[file.path().to_path_buf()],
        SessionOptions {
            target: TargetChoice::default(),
            exec: options.exec.clone(),
            mock_where_defined: false,
        },
    )?;
    let suite = &session.suites[0];
    let cells: Vec<_> = session
        .plan(&Selection::default())?
        .into_iter()
        .filter(|c| options.include_mutations || !suite.endpoints[c.endpoint].is_mutation())
        .collect();
    let started = session.start()?;
    let mut progress = TerminalReporter::new(std::io::sink(), options.style);
    let _ = progress.handle(&Event::Started { cells: cells.len() });
    let mut outcomes: Vec<CellOutcome> = Vec::with_capacity(cells.len());
    let completion = started.execute_into(&cells, options.exec, &mut outcomes, |outcome| {
        let _ = progress.handle(&Event::CellFinished(outcome));
    })?;
    let tally = Tally::of(&outcomes);
    let report = RunReport {
        steps: &[],
        fail_on: &[],
        suites: &session.suites,
        targets: &started.targets,
        outcomes: &outcomes,
        tally,
        snapshots: &[],
        not_run: &[],
        findings: &[],
        strict_scopes: false,
        timing: None,
    };
    let _ = progress.handle(&Event::Finished(&report));
    if completion == Completion::Interrupted {
        return Err(ObserveError::Interrupted);
    }
    let principals = suite.principals.len();
    let mut rows: Vec<Vec<Seen>> =
        vec![vec![Seen::plain("any"); principals]; suite.endpoints.len()];
    let mut unobserved: Vec<Option<String>> = suite
        .endpoints
        .iter()
        .map(|endpoint| {
            Some(if endpoint.is_mutation() && !options.include_mutations {
                "not observed: a mutation (pass --include-mutations to send it), so every cell expects `any`".to_string()
            } else {
                "not observed, so every cell expects `any`".to_string()
            })
        })
        .collect();
    for outcome in &outcomes {
        let (e, p) = (outcome.id.endpoint, outcome.id.principal);
        match &outcome.result {
            CellResult::Responded(observation) => {
                unobserved[e] = None;
                // A suite takes 100 to 599; some servers answer 999 to robots.
                rows[e][p] = match observation.decided() {
                    crate::outcome::Decided::Status(status @ 100..=599) => {
                        Seen::plain(status.to_string())
                    }
                    crate::outcome::Decided::Partial => Seen::plain("partial"),
                    crate::outcome::Decided::Other => Seen::plain("other"),
                    crate::outcome::Decided::Status(odd) => Seen {
                        value: "any".into(),
                        comment: Some(format!("answered {odd}, which a suite cannot expect")),
                    },
                };
            }
            CellResult::Error { message, .. } => {
                unobserved[e] = None;
                rows[e][p] = Seen {
                    value: "any".into(),
                    comment: Some(format!("error: {}", one_line(message))),
                };
            }
            CellResult::Skipped { reason } => {
                if let Some(why) = &mut unobserved[e] {
                    *why = format!(
                        "not observed: {}, so every cell expects `any`",
                        one_line(reason)
                    );
                }
            }
        }
    }
    Ok(Observed {
        rows,
        unobserved,
        tally,
        notices: started.notices(),
    })
}

fn one_line(text: &str) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(160) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}
