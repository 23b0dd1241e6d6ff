//! `--html FILE`: one self-contained page (inline CSS and JS, nothing fetched)
//! with the coloured matrix, sticky headers, a filter, each cell's details,
//! the reach lists, the findings and the snapshot's classified changes.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::RunReport;
use super::cells::{
    Reading, body_mark, detail, expected_text, mismatch, reached, short, step_result,
};
use crate::outcome::{CellId, CellOutcome};
use crate::snapshot::SnapshotOutcome;

/// Escapes text for HTML content and attribute values.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
:root { --reached:#1a7f37; --denied:#b35900; --unauth:#8250df; --hidden:#57606a; --bad:#cf222e; --bg:#ffffff; --line:#d0d7de; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1f2328; background: #f6f8fa; }
header { padding: 16px 24px; background: #24292f; color: #fff; display: flex; gap: 24px; align-items: center; flex-wrap: wrap; }
header h1 { font-size: 18px; margin: 0; }
header .tally { font-weight: 600; }
header input[type=search] { padding: 6px 10px; border-radius: 6px; border: 0; min-width: 260px; }
header label { user-select: none; }
main { padding: 16px 24px; }
section.suite { background: var(--bg); border: 1px solid var(--line); border-radius: 8px; margin-bottom: 24px; }
section.suite > h2 { margin: 0; padding: 12px 16px; font-size: 16px; border-bottom: 1px solid var(--line); }
section.suite > p { margin: 8px 16px; color: #57606a; }
.scroll { overflow: auto; max-height: 75vh; }
table.matrix { border-collapse: separate; border-spacing: 0; font-variant-numeric: tabular-nums; }
table.matrix th, table.matrix td { border-bottom: 1px solid var(--line); border-right: 1px solid var(--line); padding: 4px 10px; white-space: nowrap; }
table.matrix thead th { position: sticky; top: 0; background: #eaeef2; z-index: 2; }
table.matrix th.endpoint { position: sticky; left: 0; background: #fff; text-align: left; z-index: 1; font-family: ui-monospace, monospace; font-weight: 500; }
table.matrix thead th.endpoint { z-index: 3; background: #eaeef2; }
td.cell { text-align: center; cursor: pointer; font-weight: 600; }
.cell.reached { color: var(--reached); background: #dafbe1; }
.cell.redirected, .cell.other { color: #57606a; background: #f6f8fa; }
.cell.unauthenticated { color: var(--unauth); background: #fbefff; }
.cell.forbidden { color: var(--denied); background: #fff1e5; }
.cell.hidden { color: var(--hidden); background: #eaeef2; }
.cell.partial { color: #7d4e00; background: #fff8c5; }
td.cell.error { color: #fff; background: #9a6700; }
td.cell.skipped { color: #8c959f; background: repeating-linear-gradient(45deg,#fff,#fff 4px,#f6f8fa 4px,#f6f8fa 8px); }
td.cell.mismatch { outline: 3px solid var(--bad); outline-offset: -3px; }
td.cell.mismatch::after { content: " ✗"; color: var(--bad); }
td.cell.none { color: #8c959f; cursor: default; }
td.cell.selected { box-shadow: inset 0 0 0 2px #0969da; }
#details { position: fixed; right: 16px; bottom: 16px; width: min(560px, 90vw); max-height: 50vh; overflow: auto; background: #fff; border: 1px solid var(--line); border-radius: 8px; box-shadow: 0 8px 24px rgba(0,0,0,.2); padding: 12px 16px; display: none; white-space: pre-wrap; font-family: ui-monospace, monospace; font-size: 12px; }
#details.open { display: block; }
.reach, .changes, .findings { margin: 8px 16px 16px; }
.reach li code, .changes li code, .findings li code { font-size: 12px; }
.findings .reached_without_scopes strong { color: var(--bad); }
.findings .denied_despite_scopes strong, .findings .reached_but_ignored strong { color: var(--denied); }
.findings small { color: #57606a; }
.changes .widened { color: var(--bad); font-weight: 700; }
p.alarm { margin: 0 0 16px; padding: 10px 16px; background: #ffebe9; border: 1px solid var(--bad); border-radius: 8px; }
p.alarm .widened { color: var(--bad); font-weight: 700; }
p.alarm .auth-broken { color: var(--unauth); font-weight: 600; }
.changes .auth-broken { color: var(--unauth); font-weight: 600; }
.legend { margin: 8px 16px; color: #57606a; font-size: 12px; }
.legend span { padding: 1px 6px; border-radius: 4px; margin-right: 6px; }
tr.filtered { display: none; }
"#;

const SCRIPT: &str = r#"
(function () {
  var box = document.getElementById('filter');
  var problems = document.getElementById('problems');
  var details = document.getElementById('details');
  function apply() {
    var q = box.value.trim().toLowerCase();
    var onlyProblems = problems.checked;
    document.querySelectorAll('table.matrix tbody tr').forEach(function (row) {
      var name = row.getAttribute('data-endpoint').toLowerCase();
      var show = (!q || name.indexOf(q) >= 0) && (!onlyProblems || row.querySelector('td.mismatch, td.error'));
      row.classList.toggle('filtered', !show);
    });
  }
  box.addEventListener('input', apply);
  problems.addEventListener('change', apply);
  document.querySelectorAll('td.cell[data-detail]').forEach(function (cell) {
    cell.addEventListener('click', function () {
      document.querySelectorAll('td.cell.selected').forEach(function (c) { c.classList.remove('selected'); });
      cell.classList.add('selected');
      details.textContent = cell.getAttribute('data-detail');
      details.classList.add('open');
    });
  });
  details.addEventListener('click', function () { details.classList.remove('open'); });
  var m = /[#&]filter=([^&]*)/.exec(location.hash);
  if (m) { box.value = decodeURIComponent(m[1]); }
  apply();
})();
"#;

/// The whole page.
pub(super) fn render(run: &RunReport<'_>) -> String {
    let by_cell: HashMap<CellId, &CellOutcome> = run.outcomes.iter().map(|o| (o.id, o)).collect();
    let mut html = String::new();
    page_head(&mut html, run);
    for (s, suite) in run.suites.iter().enumerate() {
        let _ = writeln!(
            html,
            "<section class=\"suite\" id=\"suite-{}\"><h2>{}</h2>",
            escape(&suite.name),
            escape(&suite.name)
        );
        if let Some(description) = &suite.description {
            let _ = writeln!(html, "<p>{}</p>", escape(description.trim()));
        }
        matrix_table(&mut html, &by_cell, s, suite);
        reach_list(&mut html, &by_cell, s, suite);
        objects_list(&mut html, run, s, suite);
        steps_list(&mut html, run, s);
        findings_list(&mut html, run, s);
        snapshot_changes(&mut html, run.snapshots.get(s));
        html.push_str("</section>\n");
    }
    let _ = write!(
        html,
        "</main>\n<div id=\"details\" role=\"dialog\" aria-live=\"polite\"></div>\n<script>{SCRIPT}</script>\n</body></html>\n"
    );
    html
}

/// The document's head, the page header with the tally and the filters, and
/// a word when the run was interrupted.
fn page_head(html: &mut String, run: &RunReport<'_>) {
    let title = run
        .suites
        .iter()
        .map(|s| s.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>permatrix: {}</title>\n<style>{STYLE}</style></head>\n<body>\n\
         <header><h1>permatrix · {}</h1><span class=\"tally\">{}</span>\
         <input id=\"filter\" type=\"search\" placeholder=\"filter endpoints…\" aria-label=\"filter endpoints\">\
         <label><input id=\"problems\" type=\"checkbox\"> only problems</label></header>\n<main>\n",
        escape(&title),
        escape(&title),
        escape(&run.closing_line())
    );
    let alarming = run.alarming_changes();
    if !alarming.is_empty() {
        html.push_str("<p class=\"alarm\"><strong>Snapshot changes to review first</strong>:");
        for (s, change) in alarming {
            let _ = write!(
                html,
                " <span class=\"{}\">{} <code>{} › {}</code></span>",
                change.class.as_str(),
                change.class.as_str(),
                escape(&run.suites[s].name),
                escape(&change.what)
            );
        }
        html.push_str("</p>\n");
    }
    if run.interrupted() {
        let _ = writeln!(
            html,
            "<p class=\"interrupted\"><strong>Interrupted</strong>: {} cell(s) did not run.</p>",
            run.not_run.len()
        );
    }
}

/// A suite's matrix: a row per endpoint, a coloured cell per principal with its details.
fn matrix_table(
    html: &mut String,
    by_cell: &HashMap<CellId, &CellOutcome>,
    s: usize,
    suite: &crate::suite::Suite,
) {
    html.push_str("<p class=\"legend\"><span class=\"cell reached\">reached</span><span class=\"cell redirected\">redirected</span><span class=\"cell unauthenticated\">unauthenticated</span><span class=\"cell forbidden\">forbidden</span><span class=\"cell hidden\">hidden</span><span class=\"cell partial\">partial</span> · a red outline marks a cell not as expected · click a cell for its details</p>\n");
    html.push_str("<div class=\"scroll\"><table class=\"matrix\"><thead><tr><th class=\"endpoint\">endpoint</th>");
    for principal in &suite.principals {
        let tip = principal.description.as_deref().unwrap_or_default();
        let _ = write!(
            html,
            "<th title=\"{}\">{}</th>",
            escape(tip),
            escape(&principal.name)
        );
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    for (e, endpoint) in suite.endpoints.iter().enumerate() {
        let _ = write!(
            html,
            "<tr data-endpoint=\"{}\"><th class=\"endpoint\">{}</th>",
            escape(&endpoint.name),
            escape(&endpoint.name)
        );
        for (p, principal) in suite.principals.iter().enumerate() {
            let id = CellId {
                suite: s,
                endpoint: e,
                principal: p,
            };
            let Some(o) = by_cell.get(&id) else {
                html.push_str("<td class=\"cell none\">·</td>");
                continue;
            };
            let reading = Reading::of(o);
            let mut class = format!("cell {}", reading.word());
            if mismatch(o) {
                class.push_str(" mismatch");
            }
            let info = format!(
                "{} › {} › {}\n{}\n{}",
                suite.name,
                endpoint.name,
                principal.name,
                o.verdict.as_str(),
                detail(o)
            );
            let mark = body_mark(o, &principal.name);
            let got = match &o.body {
                Some(b) => format!("{} with a body {}", short(o), b.fact.against(&b.with)),
                None => short(o),
            };
            let _ = write!(
                html,
                "<td class=\"{class}\" id=\"c-{s}-{e}-{p}\" data-detail=\"{}\" title=\"expected {}, got {}\">{}{}</td>",
                escape(&info),
                escape(&expected_text(o)),
                escape(&got),
                escape(&short(o)),
                escape(mark)
            );
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody></table></div>\n");
}

/// Who saw each id of the suite's lists, when its endpoints read any.
fn objects_list(html: &mut String, run: &RunReport<'_>, s: usize, suite: &crate::suite::Suite) {
    let objects = run.objects_of(s);
    if objects.is_empty() {
        return;
    }
    html.push_str("<details open><summary style=\"margin:8px 16px;cursor:pointer\">Who can see each object</summary><ul class=\"reach\">\n");
    for object in &objects {
        let _ = writeln!(
            html,
            "<li><code>{}</code>: {}</li>",
            escape(&crate::outcome::shown_id(&object.id)),
            escape(&object.seen_text(suite))
        );
    }
    html.push_str("</ul></details>\n");
}

/// Each principal's reach: the endpoints it got 2xx from.
fn reach_list(
    html: &mut String,
    by_cell: &HashMap<CellId, &CellOutcome>,
    s: usize,
    suite: &crate::suite::Suite,
) {
    html.push_str("<details open><summary style=\"margin:8px 16px;cursor:pointer\">Reach: the endpoints each principal reached</summary><ul class=\"reach\">\n");
    for (p, principal) in suite.principals.iter().enumerate() {
        let reached: Vec<String> = reached(by_cell, s, suite.endpoints.len(), p)
            .into_iter()
            .map(|e| format!("<code>{}</code>", escape(&suite.endpoints[e].name)))
            .collect();
        let scopes = principal
            .scopes_label()
            .map(|scopes| format!(" (scopes: {})", escape(&scopes)))
            .unwrap_or_default();
        let description = principal
            .description
            .as_deref()
            .map(|d| format!(" — {}", escape(d)))
            .unwrap_or_default();
        let _ = writeln!(
            html,
            "<li><strong>{}</strong>{scopes}{description}: reached {} endpoint(s){}{}</li>",
            escape(&principal.name),
            reached.len(),
            if reached.is_empty() { "" } else { ": " },
            reached.join(", ")
        );
    }
    html.push_str("</ul></details>\n");
}

/// The suite's setup and teardown steps with their results, failed ones marked.
fn steps_list(html: &mut String, run: &RunReport<'_>, s: usize) {
    let steps: Vec<_> = run.steps.iter().filter(|step| step.suite == s).collect();
    if steps.is_empty() {
        return;
    }
    html.push_str("<h3 style=\"margin:8px 16px\">Steps</h3><ul class=\"steps\">\n");
    for step in steps {
        let _ = writeln!(
            html,
            "<li class=\"{}\">{} <small>{}</small></li>",
            if step.fails_run() { "mismatch" } else { "step" },
            escape(&step.title()),
            escape(&step_result(step))
        );
    }
    html.push_str("</ul>\n");
}

/// A suite's findings (scopes, ignored writes), each with its hint.
fn findings_list(html: &mut String, run: &RunReport<'_>, s: usize) {
    let (suite, findings) = (&run.suites[s], run.findings_of(s));
    if findings.is_empty() {
        return;
    }
    html.push_str("<h3 style=\"margin:8px 16px\">Findings</h3><ul class=\"findings\">\n");
    for finding in findings {
        if let Some(id) = finding.kind.lint() {
            // Each witness links to its cell in the matrix above.
            let witnesses: Vec<String> = finding
                .witnesses
                .iter()
                .map(|w| {
                    format!(
                        "<a href=\"#c-{s}-{}-{}\"><code>{}</code></a>",
                        w.endpoint,
                        w.principal,
                        escape(&w.text(suite))
                    )
                })
                .collect();
            let accepted = finding.accepted.as_deref().map_or(String::new(), |why| {
                format!(" <em>accepted: {}</em>", escape(why))
            });
            let _ = writeln!(
                html,
                "<li class=\"lint {kind}{}\"><strong>{kind}</strong>{accepted} {}<br><small>{}: {}</small></li>",
                if finding.accepted.is_some() {
                    " accepted"
                } else {
                    ""
                },
                witnesses.join("; "),
                escape(id.explanation()),
                escape(&finding.hint),
                kind = id.as_str(),
            );
            continue;
        }
        let _ = writeln!(
            html,
            "<li class=\"{kind}\"><strong>{kind}</strong> <code>{}</code><br><small>{}</small></li>",
            escape(
                finding
                    .line(suite)
                    .split_once(": ")
                    .map_or("", |(_, rest)| rest)
            ),
            escape(&finding.hint),
            kind = finding.kind.as_str(),
        );
    }
    html.push_str("</ul>\n");
}

/// The classified changes of a suite's snapshot, when it changed.
fn snapshot_changes(html: &mut String, snapshot: Option<&Option<SnapshotOutcome>>) {
    let Some(Some(
        SnapshotOutcome::Changed { changes, .. } | SnapshotOutcome::Accepted { changes, .. },
    )) = snapshot
    else {
        return;
    };
    html.push_str("<h3 style=\"margin:8px 16px\">Snapshot changes</h3><ul class=\"changes\">\n");
    for change in changes {
        let _ = writeln!(
            html,
            "<li class=\"{}\">{} <code>{}</code></li>",
            change.class.as_str(),
            change.class.as_str(),
            escape(&change.what)
        );
    }
    html.push_str("</ul>\n");
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_page_is_self_contained_escaped_and_classed() {
        let html = super::super::fixture::with_report(super::render);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(
            html.contains("default-src 'none'"),
            "a CSP forbids every request"
        );
        for attribute in ["src=", "href=", "@import", "url("] {
            assert!(!html.contains(attribute), "nothing to fetch: {attribute}");
        }
        assert!(html.contains("<table class=\"matrix\">"));
        assert!(html.contains("position: sticky"));
        assert!(html.contains("<input id=\"filter\" type=\"search\""));
        assert_eq!(html.matches("<tr data-endpoint=").count(), 3);
        assert_eq!(html.matches("<td class=\"cell ").count(), 9);
        assert!(
            html.contains("<td class=\"cell unauthenticated mismatch\""),
            "the app's 401 where 2xx was expected"
        );
        assert!(html.contains("<td class=\"cell reached\""));
        assert!(html.contains("<td class=\"cell skipped\""));
        assert!(html.contains("<td class=\"cell error\""));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!html.contains("<script>alert(1)"), "names are escaped");
        assert!(
            html.contains("&lt;b&gt;created&lt;/b&gt;"),
            "excerpts are escaped"
        );
        assert!(html.contains("<li class=\"widened\">widened"));
        assert!(html.contains("a Connect app &lt;with&gt; &quot;quotes&quot; &amp; ampersands"));
        assert_eq!(html.matches("<script>").count(), 1, "one inline script");
    }

    /// A full page of 500 endpoints × 20 principals: every cell answered,
    /// a quarter of them failing with a Jira-sized excerpt and a challenge.
    fn full_page() -> String {
        use crate::outcome::{CellId, CellOutcome, CellResult, Observation, Tally, Verdict};
        use crate::suite::Expectation;
        let mut suite =
            String::from("suite: big\ntarget: { base_url: \"http://127.0.0.1:1\" }\nprincipals:\n");
        for p in 0..20 {
            suite.push_str(&format!("  principal-{p}: {{ auth: none }}\n"));
        }
        suite.push_str("endpoints:\n");
        for e in 0..500 {
            suite.push_str(&format!(
                "  - {{ request: GET /rest/api/2/resource/{e}, expect: {{ \"*\": any }} }}\n"
            ));
        }
        let suite = crate::suite::load_str(
            std::path::Path::new("big.yaml"),
            &suite,
            &Default::default(),
        )
        .expect("valid");
        let mut outcomes = Vec::new();
        for endpoint in 0..500 {
            for principal in 0..20 {
                let failed = (endpoint + principal) % 4 == 0;
                let observation = if failed {
                    Observation {
                        status: 401,
                        www_authenticate: Some("JWT realm=\"jira-cloud\"".into()),
                        excerpt: "{\"errorMessages\":[\"You are not authenticated. Authentication required to perform this operation.\"],\"errors\":{}}".into(),
                        ..Observation::default()
                    }
                } else {
                    Observation {
                        status: 200,
                        excerpt: "{\"startAt\":0,\"maxResults\":50,\"total\":1,\"issues\":[{\"key\":\"TEST-1\"}]}".into(),
                        ..Observation::default()
                    }
                };
                outcomes.push(CellOutcome {
                    id: CellId {
                        suite: 0,
                        endpoint,
                        principal,
                    },
                    expected: if failed {
                        Expectation::Allow
                    } else {
                        Expectation::Any
                    },
                    request: None,
                    result: CellResult::Responded(observation),
                    verdict: if failed {
                        Verdict::Failed
                    } else {
                        Verdict::Passed
                    },
                    attempts: 1,
                    elapsed: std::time::Duration::ZERO,
                    note: None,
                    trace: None,
                    body: None,
                    write: None,
                });
            }
        }
        let suites = [suite];
        let report = super::super::RunReport {
            steps: &[],
            fail_on: &[],
            suites: &suites,
            targets: &[],
            outcomes: &outcomes,
            tally: Tally::of(&outcomes),
            snapshots: &[],
            not_run: &[],
            findings: &[],
            strict_scopes: false,
            timing: None,
        };
        super::render(&report)
    }

    #[test]
    fn five_hundred_endpoints_by_twenty_principals_stay_one_page_of_a_few_megabytes() {
        let html = full_page();
        assert_eq!(html.matches("<tr data-endpoint=").count(), 500);
        assert_eq!(html.matches("<td class=\"cell reached\"").count(), 7_500);
        assert_eq!(
            html.matches("<td class=\"cell unauthenticated mismatch\"")
                .count(),
            2_500
        );
        assert_eq!(html.matches("<td class=\"cell none\"").count(), 0);
        assert_eq!(
            html.matches("got 200 · {&quot;startAt&quot;:0,").count(),
            7_500,
            "each cell carries its excerpt once"
        );
        assert_eq!(
            html.matches("got 401 · WWW-Authenticate: JWT realm=&quot;jira-cloud&quot;")
                .count(),
            2_500,
            "each failing cell carries its challenge once"
        );
        assert_eq!(html.matches("<style>").count(), 1);
        // Each cell's details once, escaped, and its markup: about 315 bytes
        // a cell with these excerpts; 400 leaves room, not for a second copy.
        assert!(html.len() < 10_000 * 400, "{} bytes", html.len());
    }
}
