//! How a cell reads in the documentation reports: one word and one symbol per
//! kind of answer, shared by Markdown, HTML and the GitHub summary.

use std::collections::HashMap;

use crate::outcome::{BodyComparison, CellId, CellOutcome, CellResult, Decided, Verdict};
use crate::suite::compare::BodyFact;

/// What kind of answer a cell got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reading {
    /// 2xx.
    Reached,
    /// 3xx.
    Redirected,
    /// 401.
    Unauthenticated,
    /// 403.
    Forbidden,
    /// 404.
    Hidden,
    /// A GraphQL answer with some fields denied.
    Partial,
    /// Any other status.
    Other,
    /// No response.
    Error,
    /// Not sent.
    Skipped,
}

impl Reading {
    /// Reads an outcome.
    pub(crate) fn of(outcome: &CellOutcome) -> Reading {
        match &outcome.result {
            CellResult::Responded(o) => match o.decided() {
                Decided::Status(200..=299) => Reading::Reached,
                Decided::Status(300..=399) => Reading::Redirected,
                Decided::Status(401) => Reading::Unauthenticated,
                Decided::Status(403) => Reading::Forbidden,
                Decided::Status(404) => Reading::Hidden,
                Decided::Partial => Reading::Partial,
                Decided::Status(_) | Decided::Other => Reading::Other,
            },
            CellResult::Error { .. } => Reading::Error,
            CellResult::Skipped { .. } => Reading::Skipped,
        }
    }

    /// The word used everywhere (SPEC §2).
    pub(crate) fn word(self) -> &'static str {
        match self {
            Reading::Reached => "reached",
            Reading::Redirected => "redirected",
            Reading::Unauthenticated => "unauthenticated",
            Reading::Forbidden => "forbidden",
            Reading::Hidden => "hidden",
            Reading::Partial => "partial",
            Reading::Other => "other",
            Reading::Error => "error",
            Reading::Skipped => "skipped",
        }
    }

    /// Its symbol in Markdown.
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            Reading::Reached => "✅",
            Reading::Redirected => "↪️",
            Reading::Unauthenticated => "🔒",
            Reading::Forbidden => "⛔",
            Reading::Hidden => "🙈",
            Reading::Partial => "◐",
            Reading::Other => "❔",
            Reading::Error => "⚠️",
            Reading::Skipped => "⏭️",
        }
    }
}

/// The legend of the symbols.
pub(crate) const LEGEND: &str = "✅ reached · ↪️ redirected · 🔒 unauthenticated · ⛔ forbidden · 🙈 hidden · ◐ partial · ❔ other · ⚠️ error · ⏭️ skipped · ❌ not as expected";

/// The legend of the body marks, for suites whose endpoints compare bodies.
pub(crate) const BODY_LEGEND: &str =
    "≡ same body as the principal it is compared with · ≠ a different body";

/// A cell's body mark: ` ≡` for the same body as the reference principal's,
/// ` ≠` for another; nothing for the reference itself or without `compare:`.
pub(crate) fn body_mark(outcome: &CellOutcome, principal: &str) -> &'static str {
    match &outcome.body {
        Some(b) if b.with != principal && b.fact == BodyFact::Same => " ≡",
        Some(b) if b.with != principal && b.fact == BodyFact::Differs => " ≠",
        _ => "",
    }
}

/// What a failing cell was expected to get: its status expectation, and
/// its body fact when that is what failed.
pub(crate) fn expected_text(outcome: &CellOutcome) -> String {
    match &outcome.body {
        Some(b) if b.mismatched() => match b.expected {
            Some(fact) => format!("{}, body {}", outcome.expected, fact.against(&b.with)),
            None => outcome.expected.to_string(),
        },
        _ => outcome.expected.to_string(),
    }
}

/// A step's result in a few words: `201`, `FAILED: …`, `skipped: …`.
pub(crate) fn step_result(step: &crate::outcome::StepRecord) -> String {
    match (&step.error, step.status) {
        (Some(error), _) if step.skipped => format!("skipped: {error}"),
        (Some(error), _) => format!("FAILED: {error}"),
        (None, Some(status)) => format!("{status} (expected {})", step.expected),
        (None, None) => "not sent".to_string(),
    }
}

/// A cell's short text: its status, `error` or `skip`.
pub(crate) fn short(outcome: &CellOutcome) -> String {
    match &outcome.result {
        CellResult::Responded(o) => o.shown(),
        CellResult::Error { .. } => "error".into(),
        CellResult::Skipped { .. } => "skip".into(),
    }
}

/// Whether the cell is a problem the reader must see.
pub(crate) fn mismatch(outcome: &CellOutcome) -> bool {
    matches!(
        outcome.verdict,
        Verdict::Failed
            | Verdict::CredentialsRejected
            | Verdict::AcceptedTampered
            | Verdict::DeniedButApplied
    )
}

/// The endpoints (by index) a principal reached in suite `s`, in order.
pub(crate) fn reached(
    by_cell: &HashMap<CellId, &CellOutcome>,
    s: usize,
    endpoints: usize,
    p: usize,
) -> Vec<usize> {
    (0..endpoints)
        .filter(|&e| {
            by_cell
                .get(&CellId {
                    suite: s,
                    endpoint: e,
                    principal: p,
                })
                .is_some_and(|o| Reading::of(o) == Reading::Reached)
        })
        .collect()
}

/// What went wrong with a cell, in one line: expectation and status, then
/// `WWW-Authenticate`, `Location` or a body excerpt; the error; the skip reason.
pub(crate) fn detail(outcome: &CellOutcome) -> String {
    if let (Some(write), CellResult::Responded(o)) = (&outcome.write, &outcome.result) {
        if outcome.verdict == Verdict::DeniedButApplied {
            return format!(
                "refused with {}, yet the write was applied: {}",
                o.shown(),
                write.phrase()
            );
        }
        if write.mismatched() {
            let expected = write.expected.map_or(String::new(), |e| e.to_string());
            let status = if outcome.expected.accepts(o.decided()) {
                format!("got {}, as expected", o.shown())
            } else {
                format!("got {}, expected {}", o.shown(), outcome.expected)
            };
            return format!(
                "expected trace {expected}, got {} · {status}",
                write.phrase()
            );
        }
    }
    if let (Some(note), CellResult::Responded(o)) = (&outcome.note, &outcome.result) {
        // An items rule broken by a cell whose status was as expected.
        if note.starts_with("items:") && outcome.expected.accepts(o.decided()) {
            return format!("{note} · got {}, as expected", o.shown());
        }
        return format!("{note}; got {}, expected {}", o.shown(), outcome.expected);
    }
    match &outcome.result {
        CellResult::Responded(o) if outcome.body.as_ref().is_some_and(|b| b.mismatched()) => {
            let body = outcome.body.as_ref().map_or(String::new(), |b| {
                let expected = b.expected.map_or(String::new(), |e| {
                    format!(", expected {}", BodyComparison::phrase(e, &b.with))
                });
                format!("{}{expected}", BodyComparison::phrase(b.fact, &b.with))
            });
            let mut line = format!("got {} with {body}", o.shown());
            if !o.excerpt.is_empty() {
                line.push_str(&format!(" · {}", o.excerpt));
            }
            line
        }
        CellResult::Responded(o) => {
            let mut line = format!("expected {}, got {}", outcome.expected, o.shown());
            if let Some(decision) = &o.decision {
                line.push_str(&format!(" · {}", decision.detail()));
            }
            if let Some(challenge) = &o.www_authenticate {
                line.push_str(&format!(" · WWW-Authenticate: {challenge}"));
            } else if let Some(location) = &o.location {
                line.push_str(&format!(" · Location: {location}"));
            } else if !o.excerpt.is_empty() {
                line.push_str(&format!(" · {}", o.excerpt));
            }
            line
        }
        CellResult::Error { message, .. } => {
            format!("expected {}, no response: {message}", outcome.expected)
        }
        CellResult::Skipped { reason } => reason.clone(),
    }
}
