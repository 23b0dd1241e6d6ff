//! GitHub Actions: one `::error` annotation per failing cell, pointing at the
//! suite file and the line of its endpoint, and one per finding.

use std::io::Write;

use super::cells::detail;
use super::{Event, ReportError, Reporter, RunReport};
use crate::outcome::Verdict;

/// Prints workflow commands when the run ends.
pub(super) struct GithubAnnotations<W: Write> {
    out: W,
}

impl<W: Write> GithubAnnotations<W> {
    /// A reporter printing to `out`.
    pub(super) fn new(out: W) -> GithubAnnotations<W> {
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

/// The annotation lines of a run: one per failing cell and failed step, one
/// per widened or auth-broken snapshot change (each an error when its class
/// fails the run, as it does by default, else a warning), then one per
/// finding: a warning, an error when its class fails the run, a notice when
/// an endpoint accepts it (`allow_lints:`).
pub(super) fn annotations(run: &RunReport<'_>) -> Vec<String> {
    let level = |s: usize, class: &str| match run.class_fails(s, class) {
        true => "error",
        false => "warning",
    };
    let mut lines = cell_annotations(run);
    for step in run.steps.iter().filter(|step| step.fails_run()) {
        let Some(suite) = run.suites.get(step.suite) else {
            continue;
        };
        let title = format!("{} › {}: failed", suite.name, step.title());
        lines.push(format!(
            "::{} file={},line={},title={}::{}",
            level(step.suite, "error"),
            property(&suite.file.display().to_string()),
            step.line,
            property(&title),
            data(step.error.as_deref().unwrap_or("failed"))
        ));
    }
    for (s, change) in run.alarming_changes() {
        let suite = &run.suites[s];
        let line = change
            .endpoint
            .as_ref()
            .and_then(|name| suite.endpoints.iter().find(|e| &e.name == name))
            .map_or(suite.name_pos.line, |e| e.pos.line);
        let title = format!("{} › snapshot: {}", suite.name, change.class.as_str());
        lines.push(format!(
            "::{} file={},line={line},title={}::{}",
            level(s, change.class.as_str()),
            property(&suite.file.display().to_string()),
            property(&title),
            data(&change.what)
        ));
    }
    for (s, suite) in run.suites.iter().enumerate() {
        // GitHub shows ten annotations of a kind per step: a lint found on
        // every admin endpoint would bury the rest.
        let mut per_lint: std::collections::BTreeMap<&str, usize> = Default::default();
        for finding in run.findings_of(s) {
            if let Some(id) = finding.kind.lint() {
                let seen = per_lint.entry(id.as_str()).or_default();
                *seen += 1;
                if *seen > ANNOTATED_PER_LINT {
                    continue;
                }
            }
            let level = match &finding.accepted {
                Some(_) => "notice",
                None => level(s, finding.kind.as_str()),
            };
            let line = finding
                .endpoint
                .map_or(suite.principals[finding.principal].pos.line, |e| {
                    suite.endpoints[e].pos.line
                });
            let title = match finding.kind.lint() {
                Some(id) => format!("{} › lint: {}", suite.name, id.as_str()),
                None => format!("{} › finding: {}", suite.name, finding.kind.as_str()),
            };
            let explanation = finding
                .kind
                .lint()
                .map_or(String::new(), |id| format!("{}: ", id.explanation()));
            lines.push(format!(
                "::{level} file={},line={line},title={}::{} — {explanation}{}",
                property(&suite.file.display().to_string()),
                property(&title),
                data(&finding.line(suite)),
                data(&finding.hint)
            ));
        }
        for (id, n) in per_lint
            .into_iter()
            .filter(|(_, n)| *n > ANNOTATED_PER_LINT)
        {
            lines.push(format!(
                "::notice file={},line={},title={}::{} more {id} finding(s) not annotated: every one is in the JSON, Markdown and HTML reports and the snapshot",
                property(&suite.file.display().to_string()),
                suite.name_pos.line,
                property(&format!("{} › lint: {id}", suite.name)),
                n - ANNOTATED_PER_LINT
            ));
        }
    }
    lines
}

/// How many findings of one lint are annotated per suite; the rest are counted.
const ANNOTATED_PER_LINT: usize = 5;

fn cell_annotations(run: &RunReport<'_>) -> Vec<String> {
    let mut failing: Vec<&crate::outcome::CellOutcome> = run
        .outcomes
        .iter()
        .filter(|o| o.verdict.fails_run())
        .collect();
    // The most severe first: a refused write that was applied.
    failing.sort_by_key(|o| o.verdict != Verdict::DeniedButApplied);
    failing
        .into_iter()
        .map(|o| {
            let suite = &run.suites[o.id.suite];
            let endpoint = &suite.endpoints[o.id.endpoint];
            let principal = &suite.principals[o.id.principal];
            let kind = match o.verdict {
                Verdict::Failed => "failed",
                Verdict::CredentialsRejected => "credentials rejected",
                Verdict::AcceptedTampered => "accepted a tampered credential",
                Verdict::DeniedButApplied => "denied but applied",
                _ => "error",
            };
            let title = format!(
                "{} › {} › {}: {kind}",
                suite.name, endpoint.name, principal.name
            );
            let fails = super::verdict_class(o.verdict)
                .is_some_and(|class| run.class_fails(o.id.suite, class));
            format!(
                "::{} file={},line={},title={}::{}",
                if fails { "error" } else { "warning" },
                property(&suite.file.display().to_string()),
                endpoint.pos.line,
                property(&title),
                data(&detail(o))
            )
        })
        .collect()
}

impl<W: Write> Reporter for GithubAnnotations<W> {
    fn handle(&mut self, event: &Event<'_>) -> Result<(), ReportError> {
        let Some(run) = event.ended() else {
            return Ok(());
        };
        for line in annotations(run) {
            match writeln!(self.out, "{line}") {
                // A reader that went away ends the output, not the run.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
                Err(source) => {
                    return Err(ReportError::Stream {
                        what: "the GitHub annotations",
                        source,
                    });
                }
                Ok(()) => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn annotations_for_failing_cells_alarming_snapshot_changes_and_scope_findings_at_their_lines() {
        let lines = super::super::fixture::with_report(super::annotations);
        assert_eq!(
            lines,
            [
                "::error file=suites/fixture.yaml,line=15,title=fixture › GET /rest/api/2/search › app%3A failed::expected allow, got 401 · {\"code\":401,\"message\":\"Unauthorized; scope does not match\"}",
                "::error file=suites/fixture.yaml,line=18,title=fixture › permissions | admin only › anonymous%3A failed::expected deny, got 404",
                "::error file=suites/fixture.yaml,line=18,title=fixture › permissions | admin only › admin%3A error::expected 200, no response: timed out after 10s",
                "::error file=suites/fixture.yaml,line=18,title=fixture › permissions | admin only › app%3A credentials rejected::credentials rejected: canary `GET /rest/api/2/search` was not reached (401); got 401, expected deny",
                "::error file=suites/fixture.yaml,line=15,title=fixture › snapshot%3A widened::GET /rest/api/2/search × admin: 403 → 200",
                "::error file=suites/fixture.yaml,line=15,title=fixture › snapshot%3A auth-broken::GET /rest/api/2/search × app: 200 → 401",
                "::warning file=suites/fixture.yaml,line=15,title=fixture › finding%3A reached_without_scopes::reached_without_scopes: GET /rest/api/2/search × admin → 200 (holds (none); requires READ) — reached without READ: the API is more open than documented, or this endpoint's `scopes:` is wrong",
                "::warning file=suites/fixture.yaml,line=15,title=fixture › finding%3A denied_despite_scopes::denied_despite_scopes: GET /rest/api/2/search × app → 401 (holds READ, ACT_AS_USER; requires READ) — 401 with body {\"code\":401,\"message\":\"Unauthorized; scope does not match\"}; the server says the token's scopes do not cover this endpoint: the scopes the token was granted differ from the ones declared here (a token request that asked for fewer, or an app whose scopes changed since it was installed)",
                "::warning file=suites/fixture.yaml,line=21,title=fixture › finding%3A reached_without_scopes::reached_without_scopes: <script>alert(1)</script> × admin → 201 (holds (none); requires WRITE) — reached without WRITE: the API is more open than documented, or this endpoint's `scopes:` is wrong",
                "::warning file=suites/fixture.yaml,line=10,title=fixture › finding%3A unused_scopes::unused_scopes: app holds READ, ACT_AS_USER; drop READ, ACT_AS_USER, keep (none) — no endpoint it reached requires a scope it holds: it could hold none (least privilege)",
            ]
        );
    }
}
