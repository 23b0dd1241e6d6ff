//! `--json FILE`: the whole run as one JSON document (schema in the README).

use serde_json::{Value, json};

use super::{ReportError, RunReport};
use crate::outcome::{CellOutcome, CellResult};
use crate::scopes::{Finding, FindingKind};
use crate::snapshot::SnapshotOutcome;

/// The schema identifier written in every document; bumped only on breaking changes.
pub(super) const SCHEMA: &str = "permatrix.run.v1";

/// The run as a JSON document, pretty-printed, ending with a newline.
pub(super) fn render(run: &RunReport<'_>) -> Result<Vec<u8>, ReportError> {
    let mut text = serde_json::to_vec_pretty(&document(run)).map_err(|e| ReportError::Render {
        format: "JSON",
        message: e.to_string(),
    })?;
    text.push(b'\n');
    Ok(text)
}

/// The JSON document for a run.
pub(super) fn document(run: &RunReport<'_>) -> Value {
    let suites: Vec<Value> = run
        .suites
        .iter()
        .enumerate()
        .map(|(s, suite)| {
            let cells: Vec<Value> = run
                .outcomes
                .iter()
                .filter(|o| o.id.suite == s)
                .map(|o| cell(run, o))
                .collect();
            json!({
                "name": suite.name,
                "file": suite.file.display().to_string(),
                "description": suite.description,
                "target": run.targets.get(s).map(|t| t.base_url.to_string()),
                "principals": suite.principals.iter().map(|p| json!({
                    "name": p.name,
                    "description": p.description,
                    "scopes": p.scopes.as_deref().unwrap_or_default(),
                    "declares_scopes": p.scopes.is_some(),
                })).collect::<Vec<_>>(),
                "endpoints": suite.endpoints.iter().map(|e| json!({
                    "name": e.name,
                    "method": e.request.method.as_str(),
                    "line": e.pos.line,
                    "scopes": e.scopes.as_ref().map(|r| &r.alternatives),
                })).collect::<Vec<_>>(),
                "snapshot": run.snapshots.get(s).and_then(Option::as_ref).map(snapshot),
                "findings": run.findings_of(s).iter().map(|f| finding(suite, f)).collect::<Vec<_>>(),
                "objects": run.objects_of(s).iter().map(|object| json!({
                    "id": object.id,
                    "seen_by": object.seen_by.iter().map(|&(p, e)| json!({
                        "principal": suite.principals[p].name,
                        "endpoint": suite.endpoints[e].name,
                    })).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
                "cells": cells,
            })
        })
        .collect();
    let mut document = json!({
        "schema": SCHEMA,
        "permatrix": env!("CARGO_PKG_VERSION"),
        "started_at": run.timing.map(|t| humantime::format_rfc3339_millis(t.started).to_string()),
        "duration_ms": run.timing.map(|t| t.elapsed.as_millis() as u64),
        "summary": run.tally,
        "suites": suites,
    });
    document["steps"] = run
        .steps
        .iter()
        .map(|step| {
            // A record is plain data: serialising it cannot fail.
            let mut value = serde_json::to_value(step).unwrap_or_else(|_| json!({}));
            value["suite"] = json!(run.suites.get(step.suite).map(|s| &s.name));
            value["captured"] = json!(
                step.captured
                    .iter()
                    .map(|(name, value)| (name.clone(), json!(value)))
                    .collect::<serde_json::Map<String, Value>>()
            );
            value
        })
        .collect();
    if run.interrupted() {
        let not_run: Vec<Value> = run
            .not_run
            .iter()
            .map(|c| {
                let suite = &run.suites[c.suite];
                json!({
                    "suite": suite.name,
                    "endpoint": suite.endpoints[c.endpoint].name,
                    "principal": suite.principals[c.principal].name,
                })
            })
            .collect();
        document["interrupted"] = json!({ "not_run": not_run });
    }
    document
}

/// One finding (schema in the README).
fn finding(suite: &crate::suite::Suite, finding: &Finding) -> Value {
    let mut value = json!({
        "kind": finding.kind.as_str(),
        "endpoint": finding.endpoint.map(|e| &suite.endpoints[e].name),
        "principal": suite.principals[finding.principal].name,
        "required": finding.required,
        "required_any": finding.required_any,
        "held": finding.held,
        "status": finding.status,
        "hint": finding.hint,
    });
    if finding.kind == FindingKind::UnusedScopes {
        value["unused"] = json!(finding.unused);
        value["suggested"] = json!(finding.suggested);
    }
    if let Some(id) = finding.kind.lint() {
        value["lint"] = json!(true);
        value["explanation"] = json!(id.explanation());
        value["witnesses"] = finding
            .witnesses
            .iter()
            .map(|w| {
                json!({
                    "endpoint": suite.endpoints[w.endpoint].name,
                    "principal": suite.principals[w.principal].name,
                    "status": w.status,
                })
            })
            .collect();
        value["accepted_reason"] = json!(finding.accepted);
    }
    value
}

fn snapshot(outcome: &SnapshotOutcome) -> Value {
    let changes = |changes: &[crate::snapshot::Change]| -> Vec<Value> {
        changes
            .iter()
            .map(|c| json!({"class": c.class.as_str(), "what": c.what}))
            .collect()
    };
    match outcome {
        SnapshotOutcome::Unchanged => json!({"state": "unchanged"}),
        SnapshotOutcome::NothingRecorded => json!({"state": "nothing-recorded"}),
        SnapshotOutcome::Created(path) => {
            json!({"state": "created", "path": path.display().to_string()})
        }
        SnapshotOutcome::MissingInCi(path) => {
            json!({"state": "missing-in-ci", "path": path.display().to_string()})
        }
        SnapshotOutcome::Changed {
            path,
            new_path,
            changes: found,
            ..
        } => json!({
            "state": "changed",
            "path": path.display().to_string(),
            "new_path": new_path.display().to_string(),
            "changes": changes(found),
        }),
        SnapshotOutcome::Accepted {
            path,
            changes: found,
        } => json!({
            "state": "accepted",
            "path": path.display().to_string(),
            "changes": changes(found),
        }),
    }
}

fn cell(run: &RunReport<'_>, outcome: &CellOutcome) -> Value {
    let suite = &run.suites[outcome.id.suite];
    let source = suite.endpoints[outcome.id.endpoint]
        .resolved_from
        .get(outcome.id.principal);
    let mut cell = json!({
        "endpoint": suite.endpoints[outcome.id.endpoint].name,
        "principal": suite.principals[outcome.id.principal].name,
        "outcome": outcome.verdict.as_str(),
        "expected": outcome.expected.to_string(),
        "expected_from": source.map(ToString::to_string),
        "expected_line": source.map(|s| s.line),
        "status": outcome.status(),
        "request": outcome.request,
        "curl": outcome.request.as_ref().and_then(|r| r.curl.as_ref()),
        "attempts": outcome.attempts,
        "duration_ms": outcome.elapsed.as_millis() as u64,
        "note": outcome.note,
        "probe": suite.principals[outcome.id.principal].probe.map(|of| of.probe.as_str()),
        "body": outcome.body.as_ref().map(|b| b.fact),
        "expected_body": outcome.body.as_ref().and_then(|b| b.expected),
        "body_compared_with": outcome.body.as_ref().map(|b| &b.with),
    });
    // Only the cells of endpoints that check their writes carry a trace.
    if let Some(write) = &outcome.write {
        cell["trace"] = json!(write.trace);
        cell["trace_detail"] = json!(write.detail);
        cell["expected_trace"] = json!(write.expected);
        cell["restore_failed"] = json!(write.restore_failed);
    }
    let extra = match &outcome.result {
        CellResult::Responded(o) => json!({
            "decision": match o.decided() {
                crate::outcome::Decided::Status(status) => json!(status),
                other => json!(other.to_string()),
            },
            "decided_by": o.decision.as_ref().map(|d| &d.by),
            "reason": o.decision.as_ref().and_then(|d| d.reason.as_ref()),
            "denied_fields": o.decision.as_ref().filter(|d| !d.denied.is_empty()).map(|d| &d.denied),
            "other_errors": o.decision.as_ref().filter(|d| !d.other_errors.is_empty()).map(|d| &d.other_errors),
            "decision_note": o.decision.as_ref().and_then(|d| d.note.as_ref()),
            "items": o.items.as_ref().map(|i| json!({"ids": i.ids, "count": i.count, "truncated": i.truncated, "pages": i.pages, "more_pages": i.more_pages})),
            "www_authenticate": o.www_authenticate,
            "location": o.location,
            "excerpt": o.excerpt,
            "facts": o.facts.iter().map(|f| json!({"name": f.source.to_string(), "value": f.value})).collect::<Vec<_>>(),
        }),
        CellResult::Error { kind, message } => json!({"error": {"kind": kind, "message": message}}),
        CellResult::Skipped { reason } => json!({"reason": reason}),
    };
    if let (Value::Object(cell), Value::Object(extra)) = (&mut cell, extra) {
        cell.extend(extra);
    }
    cell
}
