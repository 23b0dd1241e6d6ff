//! GitHub Actions: one `::error` annotation per failing cell, pointing at the
//! suite file and the line of its endpoint.

use std::io::Write;

use super::terminal::detail;
use super::{Event, Reporter, RunReport};
use crate::outcome::Verdict;

/// Prints workflow commands when the run finishes.
pub struct GithubAnnotations<W: Write> {
    out: W,
}

impl<W: Write> GithubAnnotations<W> {
    /// A reporter printing to `out`.
    pub fn new(out: W) -> GithubAnnotations<W> {
        GithubAnnotations { out }
    }
}

/// Escapes a workflow command's message.
fn data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

/// The annotation lines of a run.
pub fn annotations(run: &RunReport<'_>) -> Vec<String> {
    run.outcomes
        .iter()
        .filter(|o| o.verdict.fails_run())
        .map(|o| {
            let suite = &run.suites[o.id.suite];
            let endpoint = &suite.endpoints[o.id.endpoint];
            let principal = &suite.principals[o.id.principal];
            let kind = match o.verdict {
                Verdict::Failed => "failed",
                Verdict::CredentialsRejected => "credentials rejected",
                _ => "error",
            };
            let title = format!(
                "{} › {} › {}: {kind}",
                suite.name, endpoint.name, principal.name
            );
            format!(
                "::error file={},line={},title={}::{}",
                property(&suite.file.display().to_string()),
                endpoint.pos.line,
                property(&title),
                data(&detail(o))
            )
        })
        .collect()
}

impl<W: Write> Reporter for GithubAnnotations<W> {
    fn handle(&mut self, event: &Event<'_>) -> Result<(), String> {
        let Event::Finished(run) = event else {
            return Ok(());
        };
        for line in annotations(run) {
            writeln!(self.out, "{line}").map_err(|e| format!("cannot write annotations: {e}"))?;
        }
        Ok(())
    }
}
