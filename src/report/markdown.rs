//! `--markdown FILE` and the GitHub step summary: the matrix as documentation,
//! with each principal's reach.

use std::collections::HashMap;

use super::RunReport;
use super::cells::{
    BODY_LEGEND, LEGEND, Reading, body_mark, expected_text, mismatch, reached, short, step_result,
};
use crate::outcome::{CellId, CellOutcome};
use crate::snapshot::SnapshotOutcome;

/// Text for a table cell inside a code span.
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('`', "'")
        .replace(['\n', '\r'], " ")
}

/// Text outside code spans: Markdown renderers would read `<…>` as HTML.
fn prose(text: &str) -> String {
    escape(text)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The whole Markdown document.
pub(super) fn render(run: &RunReport<'_>) -> String {
    let by_cell: HashMap<CellId, &CellOutcome> = run.outcomes.iter().map(|o| (o.id, o)).collect();
    let mut out = String::new();
    if run.interrupted() {
        out.push_str(&format!(
            "**Interrupted**: {} cell(s) did not run (shown `·`).\n\n",
            run.not_run.len()
        ));
    }
    let alarming = run.alarming_changes();
    if !alarming.is_empty() {
        out.push_str("**Snapshot changes to review first:**\n\n");
        for (s, change) in alarming {
            out.push_str(&format!(
                "- ⚠️ **{}** {} › {}\n",
                change.class.as_str(),
                prose(&run.suites[s].name),
                prose(&change.what)
            ));
        }
        out.push('\n');
    }
    for (s, suite) in run.suites.iter().enumerate() {
        out.push_str(&format!("## {}\n\n", prose(&suite.name)));
        if let Some(description) = &suite.description {
            out.push_str(&format!("{}\n\n", prose(description.trim())));
        }
        out.push_str("| endpoint |");
        for principal in &suite.principals {
            out.push_str(&format!(" {} |", prose(&principal.name)));
        }
        out.push_str("\n| --- |");
        out.push_str(&" --- |".repeat(suite.principals.len()));
        out.push('\n');
        for (e, endpoint) in suite.endpoints.iter().enumerate() {
            out.push_str(&format!("| `{}` |", escape(&endpoint.name)));
            for p in 0..suite.principals.len() {
                let text = match by_cell.get(&CellId {
                    suite: s,
                    endpoint: e,
                    principal: p,
                }) {
                    Some(o) if mismatch(o) => format!(
                        "❌ {}{} (expected {})",
                        short(o),
                        body_mark(o, &suite.principals[p].name),
                        expected_text(o)
                    ),
                    Some(o) => format!(
                        "{} {}{}",
                        Reading::of(o).symbol(),
                        short(o),
                        body_mark(o, &suite.principals[p].name)
                    ),
                    None => "·".into(),
                };
                out.push_str(&format!(" {} |", escape(&text)));
            }
            out.push('\n');
        }
        out.push_str(&format!("\n{LEGEND}\n"));
        if suite.endpoints.iter().any(|e| e.compare.is_some()) {
            out.push_str(&format!("\n{BODY_LEGEND}\n"));
        }
        out.push_str("\n### Reach\n\n");
        for (p, principal) in suite.principals.iter().enumerate() {
            let reached: Vec<String> = reached(&by_cell, s, suite.endpoints.len(), p)
                .into_iter()
                .map(|e| format!("`{}`", escape(&suite.endpoints[e].name)))
                .collect();
            let ran = (0..suite.endpoints.len())
                .filter(|e| {
                    by_cell.contains_key(&CellId {
                        suite: s,
                        endpoint: *e,
                        principal: p,
                    })
                })
                .count();
            let mut line = format!("- **{}**", prose(&principal.name));
            if let Some(scopes) = principal.scopes_label() {
                line.push_str(&format!(" (scopes: {})", prose(&scopes)));
            }
            if let Some(description) = &principal.description {
                line.push_str(&format!(" — {}", prose(description)));
            }
            line.push_str(&format!(". Reached {} of {ran}", reached.len()));
            if !reached.is_empty() {
                line.push_str(&format!(": {}", reached.join(", ")));
            }
            out.push_str(&line);
            out.push('\n');
        }
        let objects = run.objects_of(s);
        if !objects.is_empty() {
            out.push_str(
                "\n### Who can see each object\n\n| object | seen by (through) |\n| --- | --- |\n",
            );
            for object in &objects {
                out.push_str(&format!(
                    "| `{}` | {} |\n",
                    escape(&crate::outcome::shown_id(&object.id)),
                    prose(&object.seen_text(suite))
                ));
            }
        }
        let steps: Vec<_> = run.steps.iter().filter(|step| step.suite == s).collect();
        if !steps.is_empty() {
            out.push_str("\n### Steps\n\n| step | as | result |\n| --- | --- | --- |\n");
            for step in steps {
                out.push_str(&format!(
                    "| {} step {}: `{}` | {} | {}{} |\n",
                    step.phase.as_str(),
                    step.number,
                    escape(&step.step),
                    prose(&step.principal),
                    if step.fails_run() { "❌ " } else { "" },
                    prose(&step_result(step))
                ));
            }
        }
        let (lints, findings): (Vec<&crate::scopes::Finding>, Vec<&crate::scopes::Finding>) = run
            .findings_of(s)
            .iter()
            .partition(|f| f.kind.lint().is_some());
        if !findings.is_empty() {
            out.push_str("\n### Findings\n\n| finding | principal | endpoint | status | requires | holds | what it means |\n| --- | --- | --- | --- | --- | --- | --- |\n");
            let list = |scopes: &[String]| prose(&crate::scopes::findings::list(scopes));
            for f in findings {
                let (endpoint, requires) = match f.endpoint {
                    Some(e) if f.kind == crate::scopes::FindingKind::ReachedButIgnored => (
                        format!("`{}`", escape(&suite.endpoints[e].name)),
                        "—".into(),
                    ),
                    Some(e) => (
                        format!("`{}`", escape(&suite.endpoints[e].name)),
                        list(f.required.as_deref().unwrap_or_default()),
                    ),
                    None => (
                        "—".into(),
                        format!("keep {}; drop {}", list(&f.suggested), list(&f.unused)),
                    ),
                };
                out.push_str(&format!(
                    "| **{}** | {} | {endpoint} | {} | {requires} | {} | {} |\n",
                    f.kind.as_str(),
                    prose(&suite.principals[f.principal].name),
                    f.status.map_or("—".into(), |s| s.to_string()),
                    list(&f.held),
                    prose(&f.hint)
                ));
            }
        }
        if !lints.is_empty() {
            out.push_str("\n### Lint findings\n\n| lint | witnesses | what it means |\n| --- | --- | --- |\n");
            for f in lints {
                let Some(id) = f.kind.lint() else { continue };
                let witnesses: Vec<String> = f
                    .witnesses
                    .iter()
                    .map(|w| format!("`{}`", escape(&w.text(suite))))
                    .collect();
                let accepted = f
                    .accepted
                    .as_deref()
                    .map_or(String::new(), |why| format!(" (accepted: {})", prose(why)));
                out.push_str(&format!(
                    "| **{}**{accepted} | {} | {}: {} |\n",
                    id.as_str(),
                    witnesses.join("; "),
                    prose(id.explanation()),
                    prose(&f.hint)
                ));
            }
        }
        if let Some(Some(
            SnapshotOutcome::Changed { changes, .. } | SnapshotOutcome::Accepted { changes, .. },
        )) = run.snapshots.get(s)
        {
            out.push_str("\n### Snapshot changes\n\n");
            for change in changes {
                out.push_str(&format!(
                    "- **{}** {}\n",
                    change.class.as_str(),
                    prose(&change.what)
                ));
            }
        }
        out.push('\n');
    }
    out.push_str(&format!("**{}**\n", run.closing_line()));
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_markdown_of_a_fixed_run() {
        let text = super::super::fixture::with_report(super::render);
        insta::assert_snapshot!(text);
    }
}
