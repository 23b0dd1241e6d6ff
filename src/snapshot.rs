//! Snapshots of the observed matrix: rendered to deterministic text, compared
//! with `snapshots/<suite>.snap` (insta's file format), every change classified.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use crate::atomic_file::write_atomically;
use crate::outcome::{CellOutcome, CellResult, Fact, FactSource};
use crate::suite::Suite;

/// What a snapshot records of a cell: what it was decided to be (its status
/// unless a `decide:` rule or the GraphQL built-ins read it otherwise), or
/// that it was skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellValue {
    /// The response's status, or the status it was decided to be.
    Status(u16),
    /// A GraphQL answer with some fields denied.
    Partial,
    /// Decided neither reached nor denied.
    Other,
    /// Not sent (a mutation against a real target without leave).
    Skipped,
}

impl CellValue {
    /// How much it reached: 2 reached, 1 partial, 0 anything else.
    fn reach(self) -> u8 {
        match self {
            CellValue::Status(200..=299) => 2,
            CellValue::Partial => 1,
            _ => 0,
        }
    }

    /// The value of a decision.
    pub fn of(decided: crate::outcome::Decided) -> CellValue {
        use crate::outcome::Decided;
        match decided {
            Decided::Status(status) => CellValue::Status(status),
            Decided::Partial => CellValue::Partial,
            Decided::Other => CellValue::Other,
        }
    }
}

impl fmt::Display for CellValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CellValue::Status(status) => write!(f, "{status}"),
            CellValue::Partial => f.write_str("partial"),
            CellValue::Other => f.write_str("other"),
            CellValue::Skipped => f.write_str("skipped"),
        }
    }
}

/// A snapshot cell value that is neither a status, `partial`, `other` nor `skipped`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a status, partial, other or skipped")]
pub struct UnknownCellValue(String);

impl std::str::FromStr for CellValue {
    type Err = UnknownCellValue;

    fn from_str(text: &str) -> Result<CellValue, UnknownCellValue> {
        match text {
            "skipped" => Ok(CellValue::Skipped),
            "partial" => Ok(CellValue::Partial),
            "other" => Ok(CellValue::Other),
            _ => text
                .parse::<u16>()
                .ok()
                .filter(|status| (100..=999).contains(status) && text.len() == 3)
                .map(CellValue::Status)
                .ok_or_else(|| UnknownCellValue(text.to_string())),
        }
    }
}

/// The largest snapshot file read.
const MAX_SNAPSHOT_BYTES: u64 = 64 * 1024 * 1024;

/// The recorded snapshot at `path`, line ends normalised; `None` when there is
/// none. A symlink is refused: a pull request can plant one (git stores
/// symlinks) to have a run show another file's content in its diff.
pub fn read_recorded(path: &Path) -> Result<Option<String>, SnapshotError> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Ok(meta) if meta.file_type().is_symlink() => {
            return Err(SnapshotError::Symlink(path.to_path_buf()));
        }
        _ => {}
    }
    let bytes = crate::suite::source::read_bytes(path, MAX_SNAPSHOT_BYTES).map_err(|source| {
        SnapshotError::Read {
            path: path.to_path_buf(),
            source,
        }
    })?;
    // A checkout may have turned the line ends into CRLF.
    Ok(Some(String::from_utf8_lossy(&bytes).replace("\r\n", "\n")))
}

/// Why a suite's snapshot could not be checked or written.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The recorded snapshot could not be read.
    #[error("cannot read {}: {}", path.display(), source.reason())]
    Read {
        /// The snapshot file.
        path: PathBuf,
        /// Why.
        source: crate::suite::source::SourceError,
    },
    /// The recorded snapshot is a symlink.
    #[error("{} is a symlink: snapshots are read only from regular files", .0.display())]
    Symlink(PathBuf),
    /// The snapshots' folder could not be created.
    #[error("cannot create {}: {source}", path.display())]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A stale `.snap.new` could not be removed.
    #[error("cannot remove {}: {source}", path.display())]
    Remove {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A snapshot file could not be written.
    #[error(transparent)]
    Write(#[from] crate::atomic_file::WriteError),
}

/// One cell as recorded: its value and the extra facts asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// The status (or decision), or `skipped`.
    pub status: CellValue,
    /// When a rule decided otherwise than the status: the status and the
    /// rule's reason, `200: missing_scope`.
    pub decided_from: Option<String>,
    /// Facts from the endpoint's `snapshot:`.
    pub facts: Vec<Fact>,
    /// How its body compared with the reference principal's (`compare:`):
    /// `same as alice`, `differs from alice`, `n/a`.
    pub body: Option<String>,
    /// The ids its list answer held (`items:`), sorted; with how many there were beyond.
    pub items: Option<(Vec<String>, usize)>,
    /// What its write left behind (`verify:`): `none`, `changed`, `gone`.
    pub trace: Option<crate::suite::verify::Trace>,
}

impl Recorded {
    /// `403 (200: missing_scope)`: the value, with what it was decided from.
    pub fn shown(&self) -> String {
        match &self.decided_from {
            Some(from) => format!("{} ({from})", self.status),
            None => self.status.to_string(),
        }
    }
}

/// The label of a cell's body fact line (`    body: same as alice`).
const BODY_LABEL: &str = "body";

/// The label of a cell's ids line (`    items: ["TEST-1","TEST-2"]`).
const ITEMS_LABEL: &str = "items";

/// The label of a cell's write trace line (`    trace: changed`).
const TRACE_LABEL: &str = "trace";

/// A recorded matrix: endpoints in order, each with its principals in order,
/// then the scope findings over it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Matrix {
    /// `(endpoint, [(principal, cell)])`.
    pub endpoints: Vec<(String, Vec<(String, Recorded)>)>,
    /// Each scope finding on one line ([`crate::scopes::Finding::line`]).
    pub findings: Vec<String>,
    /// Each lint finding on one line, sorted.
    pub lints: Vec<String>,
}

/// The line before the findings: no endpoint can be named so, since names
/// may not contain `::`.
const FINDINGS_HEADER: &str = ":: scope findings";

/// The line before the lint findings.
const LINTS_HEADER: &str = ":: lint findings";

/// A recorded matrix's statuses in suite order (`endpoint * principals +
/// principal`), as the lints read a matrix.
fn cells_of(suite: &Suite, matrix: &Matrix) -> Vec<Option<u16>> {
    let statuses = matrix.statuses();
    suite
        .endpoints
        .iter()
        .flat_map(|e| {
            suite
                .principals
                .iter()
                .map(|p| statuses.get(&(e.name.as_str(), p.name.as_str())).copied())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The lint findings about a cell, over the recorded snapshot `text` with
/// the cell's new `status` in its place (`None`: no status), with the suite's
/// own lint settings: those it is a witness of whose principal is its own
/// (not those where it is only the other side of someone else's shape).
pub fn lints_with(
    suite: &Suite,
    text: &str,
    cell: crate::outcome::CellId,
    status: Option<u16>,
) -> Vec<crate::scopes::Finding> {
    let matrix = Matrix::parse(body_of(text));
    let width = suite.principals.len();
    let mut cells = cells_of(suite, &matrix);
    if let Some(slot) = cells.get_mut(cell.endpoint * width + cell.principal) {
        *slot = status;
    }
    let inputs = crate::lints::LintInputs::of_suite(suite);
    let observed = crate::lints::Observed::from_statuses(suite, cells);
    crate::lints::run(&observed, inputs)
        .into_iter()
        .filter(|f| {
            f.principal == cell.principal
                && f.witnesses
                    .iter()
                    .any(|w| w.endpoint == cell.endpoint && w.principal == cell.principal)
        })
        .collect()
}

/// The lint findings over a recorded matrix, one line each, sorted: over the
/// matrix (not the run's cells alone), so a run of some principals keeps the
/// findings the others' recorded cells make.
fn lint_lines(suite: &Suite, matrix: &Matrix, inputs: crate::lints::LintInputs<'_>) -> Vec<String> {
    let cells = cells_of(suite, matrix);
    let observed = crate::lints::Observed::from_statuses(suite, cells);
    let mut lines: Vec<String> = crate::lints::run(&observed, inputs)
        .iter()
        .map(|f| f.line(suite))
        .collect();
    lines.sort();
    lines
}

impl Matrix {
    fn principals(&self) -> BTreeSet<&str> {
        self.endpoints
            .iter()
            .flat_map(|(_, cells)| cells.iter().map(|(p, _)| p.as_str()))
            .collect()
    }

    /// Each recorded status by endpoint and principal name (skipped cells left out).
    pub fn statuses(&self) -> HashMap<(&str, &str), u16> {
        self.endpoints
            .iter()
            .flat_map(|(e, cells)| {
                cells.iter().filter_map(move |(p, r)| match r.status {
                    CellValue::Status(status) => Some(((e.as_str(), p.as_str()), status)),
                    CellValue::Partial | CellValue::Other | CellValue::Skipped => None,
                })
            })
            .collect()
    }

    /// The reason each decided cell was read with (`channels:read` of
    /// `403 (200: channels:read)`), by endpoint and principal name.
    pub fn reasons(&self) -> HashMap<(&str, &str), &str> {
        self.endpoints
            .iter()
            .flat_map(|(e, cells)| {
                cells.iter().filter_map(move |(p, r)| {
                    let (_, reason) = r.decided_from.as_deref()?.split_once(": ")?;
                    Some(((e.as_str(), p.as_str()), reason))
                })
            })
            .collect()
    }

    /// The deterministic text of the matrix.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (endpoint, cells) in &self.endpoints {
            out.push_str(endpoint);
            out.push('\n');
            for (principal, cell) in cells {
                out.push_str(&format!("  {principal} → {}\n", cell.shown()));
                if let Some(body) = &cell.body {
                    out.push_str(&format!("    {BODY_LABEL}: {body}\n"));
                }
                if let Some((ids, beyond)) = &cell.items {
                    let list = serde_json::to_string(ids).unwrap_or_default();
                    match beyond {
                        0 => out.push_str(&format!("    {ITEMS_LABEL}: {list}\n")),
                        n => out.push_str(&format!("    {ITEMS_LABEL}: {list} (+{n} more)\n")),
                    }
                }
                if let Some(trace) = cell.trace {
                    out.push_str(&format!("    {TRACE_LABEL}: {trace}\n"));
                }
                for fact in &cell.facts {
                    out.push_str(&format!("    {}: {}\n", fact.source, fact.value));
                }
            }
        }
        for (header, lines) in [
            (FINDINGS_HEADER, &self.findings),
            (LINTS_HEADER, &self.lints),
        ] {
            if !lines.is_empty() {
                out.push_str(header);
                out.push('\n');
                for line in lines {
                    out.push_str(&format!("  {line}\n"));
                }
            }
        }
        out
    }

    /// Reads back what [`Matrix::render`] wrote; lines it does not understand
    /// (a cell value that is neither a status nor `skipped`, say) are skipped.
    pub fn parse(text: &str) -> Matrix {
        let mut matrix = Matrix::default();
        // Which findings section the lines are in, once one started.
        let mut section: Option<bool> = None;
        for line in text.lines() {
            if line == FINDINGS_HEADER {
                section = Some(false);
            } else if line == LINTS_HEADER {
                section = Some(true);
            } else if let Some(lints) = section {
                if let Some(finding) = line.strip_prefix("  ") {
                    match lints {
                        true => matrix.lints.push(finding.to_string()),
                        false => matrix.findings.push(finding.to_string()),
                    }
                }
            } else if let Some(fact) = line.strip_prefix("    ") {
                let Some((label, value)) = fact.split_once(": ") else {
                    continue;
                };
                if label == ITEMS_LABEL {
                    // The JSON list first (an id may hold `] (+`), then ` (+N more)`.
                    let mut stream =
                        serde_json::Deserializer::from_str(value).into_iter::<Vec<String>>();
                    let ids = stream.next().and_then(Result::ok);
                    let rest = &value[stream.byte_offset()..];
                    let beyond = rest
                        .trim()
                        .strip_prefix("(+")
                        .and_then(|r| r.strip_suffix(" more)"))
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(0);
                    if let Some((_, cells)) = matrix.endpoints.last_mut()
                        && let Some((_, cell)) = cells.last_mut()
                        && let Some(ids) = ids
                    {
                        cell.items = Some((ids, beyond));
                    }
                    continue;
                }
                if label == TRACE_LABEL {
                    if let Some((_, cells)) = matrix.endpoints.last_mut()
                        && let Some((_, cell)) = cells.last_mut()
                    {
                        cell.trace = crate::suite::verify::Trace::parse(value);
                    }
                    continue;
                }
                if label == BODY_LABEL {
                    if let Some((_, cells)) = matrix.endpoints.last_mut()
                        && let Some((_, cell)) = cells.last_mut()
                    {
                        cell.body = Some(value.to_string());
                    }
                    continue;
                }
                if let Some((_, cells)) = matrix.endpoints.last_mut()
                    && let Some((_, cell)) = cells.last_mut()
                    && let Ok(source) = label.parse::<FactSource>()
                {
                    cell.facts.push(Fact {
                        source,
                        value: value.to_string(),
                    });
                }
            } else if let Some(cell) = line.strip_prefix("  ") {
                let Some((principal, value)) = cell.split_once(" → ") else {
                    continue;
                };
                // `403 (200: missing_scope)`: the decision, then what it was decided from.
                let (status, decided_from) = match value.split_once(" (") {
                    Some((status, from)) => (status, from.strip_suffix(')').map(str::to_string)),
                    None => (value, None),
                };
                let Ok(status) = status.parse::<CellValue>() else {
                    continue;
                };
                if let Some((_, cells)) = matrix.endpoints.last_mut() {
                    cells.push((
                        principal.to_string(),
                        Recorded {
                            status,
                            decided_from,
                            facts: Vec::new(),
                            body: None,
                            items: None,
                            trace: None,
                        },
                    ));
                }
            } else if !line.trim().is_empty() {
                matrix.endpoints.push((line.to_string(), Vec::new()));
            }
        }
        matrix
    }
}

/// The matrix a run observed, laid over the previous one: cells that ran
/// replace theirs, skipped cells are recorded as `skipped`, errored or
/// unselected cells keep their previous line; endpoints and principals gone
/// from the suite are dropped.
pub fn observed(
    suite: &Suite,
    s: usize,
    outcomes: &[CellOutcome],
    previous: Option<&Matrix>,
) -> Matrix {
    observed_over(suite, s, outcomes, || previous)
}

/// [`observed`], asking for the previous matrix only if a cell needs it.
fn observed_over<'m>(
    suite: &Suite,
    s: usize,
    outcomes: &[CellOutcome],
    previous: impl Fn() -> Option<&'m Matrix>,
) -> Matrix {
    let mut matrix = Matrix::default();
    let width = suite.principals.len();
    // Each cell's outcome by position (endpoint-major), the suite's only.
    let mut ran: Vec<Option<&CellOutcome>> = vec![None; suite.endpoints.len() * width];
    for outcome in outcomes
        .iter()
        .filter(|o| o.id.suite == s && o.id.principal < width)
    {
        if let Some(slot) = ran.get_mut(outcome.id.endpoint * width + outcome.id.principal) {
            *slot = Some(outcome);
        }
    }
    // The previous matrix's cells by name, built only if a cell did not run
    // or got no response this time (most runs never need it).
    let mut before: Option<HashMap<(&str, &str), &Recorded>> = None;
    for (e, endpoint) in suite.endpoints.iter().enumerate() {
        let mut cells = Vec::new();
        for (p, principal) in suite.principals.iter().enumerate() {
            let cell_ran = |e: usize, p: usize| ran[e * width + p].is_some();
            let ran = ran[e * width + p];
            let recorded = match ran.map(|o| &o.result) {
                Some(CellResult::Responded(o)) => Some(Recorded {
                    status: CellValue::of(o.decided()),
                    decided_from: o.overruled().map(|d| match &d.reason {
                        Some(reason) if !reason.is_empty() => {
                            format!("{}: {}", o.status, snapshot_text(reason))
                        }
                        _ => o.status.to_string(),
                    }),
                    facts: o.facts.clone(),
                    body: ran
                        .and_then(|o| o.body.as_ref())
                        .map(|b| b.fact.against(&b.with)),
                    items: o
                        .items
                        .as_ref()
                        .map(|i| (i.ids.clone(), i.count.saturating_sub(i.ids.len()))),
                    // `n/a` says nothing about the server: it is not recorded.
                    trace: ran
                        .and_then(|o| o.write.as_ref())
                        .map(|w| w.trace)
                        .filter(|t| *t != crate::suite::verify::Trace::NotApplicable),
                }),
                Some(CellResult::Skipped { .. }) => Some(Recorded {
                    status: CellValue::Skipped,
                    decided_from: None,
                    facts: Vec::new(),
                    body: None,
                    items: None,
                    trace: None,
                }),
                // A probe not sent while its principal ran (it no longer
                // got in) leaves no line: it has nothing to say. Unselected,
                // it keeps its line like any cell.
                None if principal.probe.is_some_and(|of| cell_ran(e, of.base)) => None,
                Some(CellResult::Error { .. }) | None => before
                    .get_or_insert_with(|| recorded_by_name(previous()))
                    .get(&(endpoint.name.as_str(), principal.name.as_str()))
                    .map(|r| (*r).clone()),
            };
            if let Some(recorded) = recorded {
                cells.push((principal.name.clone(), recorded));
            }
        }
        if !cells.is_empty() {
            matrix.endpoints.push((endpoint.name.clone(), cells));
        }
    }
    matrix.findings = finding_lines(suite, &matrix);
    matrix
}

/// A reason as one snapshot line holds it: no line breaks, no `)` that
/// would end the annotation early, no ` → ` that would split the line.
fn snapshot_text(reason: &str) -> String {
    reason
        .replace(['\n', '\r'], " ")
        .replace(')', "]")
        .replace(" → ", " -> ")
}

/// The scope findings over a recorded matrix, one line each.
fn finding_lines(suite: &Suite, matrix: &Matrix) -> Vec<String> {
    let statuses = matrix.statuses();
    crate::scopes::findings::of_suite(suite, seen_in(suite, &statuses))
        .iter()
        .map(|finding| finding.line(suite))
        .collect()
}

/// A lookup of `suite`'s cells, by index, in a recorded matrix's statuses
/// ([`Matrix::statuses`]), for scope analysis.
pub fn seen_in<'m>(
    suite: &'m Suite,
    statuses: &'m HashMap<(&str, &str), u16>,
) -> impl Fn(usize, usize) -> Option<crate::scopes::Seen<'static>> + 'm {
    move |e, p| {
        let key = (
            suite.endpoints[e].name.as_str(),
            suite.principals[p].name.as_str(),
        );
        statuses.get(&key).map(|&status| crate::scopes::Seen {
            status,
            ..Default::default()
        })
    }
}

/// The cells of `previous` by endpoint and principal name.
fn recorded_by_name(previous: Option<&Matrix>) -> HashMap<(&str, &str), &Recorded> {
    previous
        .iter()
        .flat_map(|m| &m.endpoints)
        .flat_map(|(e, cells)| {
            cells
                .iter()
                .map(move |(p, r)| ((e.as_str(), p.as_str()), r))
        })
        .collect()
}

/// What kind of change a line of the diff is (SPEC §4), in reporting order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChangeClass {
    /// Not reached before, reached now: a possible security regression.
    Widened,
    /// 401 now, not 401 before.
    AuthBroken,
    /// Reached before, not reached now, not 401.
    Narrowed,
    /// Anything else (403 → 404, a header or body fact).
    Changed,
    /// An endpoint, principal or cell that was not recorded before.
    Added,
    /// An endpoint or principal no longer recorded.
    Removed,
    /// A lint finding that was not recorded before.
    FindingAdded,
    /// A lint finding no longer found.
    FindingRemoved,
}

impl ChangeClass {
    /// The word that leads the change's line.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeClass::Widened => "widened",
            ChangeClass::AuthBroken => "auth-broken",
            ChangeClass::Narrowed => "narrowed",
            ChangeClass::Changed => "changed",
            ChangeClass::Added => "added",
            ChangeClass::Removed => "removed",
            ChangeClass::FindingAdded => "finding-added",
            ChangeClass::FindingRemoved => "finding-removed",
        }
    }
}

/// One classified change.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Change {
    /// Its class.
    pub class: ChangeClass,
    /// What changed, e.g. "GET /x × app: 403 → 200".
    pub what: String,
    /// The endpoint it is about, when it is about one (a cell, or an endpoint added).
    pub endpoint: Option<String>,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:<11} {}", self.class.as_str(), self.what)
    }
}

/// The class of a cell whose value went from `old` to `new`.
pub fn classify_status(old: CellValue, new: CellValue) -> ChangeClass {
    // A cell sent in one run and skipped in the other changed how it ran, not what it may reach.
    if old == CellValue::Skipped || new == CellValue::Skipped {
        ChangeClass::Changed
    } else if new.reach() > old.reach() {
        ChangeClass::Widened
    } else if new == CellValue::Status(401) {
        ChangeClass::AuthBroken
    } else if new.reach() < old.reach() {
        ChangeClass::Narrowed
    } else {
        ChangeClass::Changed
    }
}

/// A write that now takes effect (`changed`, `gone`) where it did not is
/// widened, the reverse narrowed; any other move (or one side not verified) changed.
pub fn classify_trace(
    old: Option<crate::suite::verify::Trace>,
    new: Option<crate::suite::verify::Trace>,
) -> ChangeClass {
    match (old.map(|t| t.applied()), new.map(|t| t.applied())) {
        (Some(false), Some(true)) => ChangeClass::Widened,
        (Some(true), Some(false)) => ChangeClass::Narrowed,
        _ => ChangeClass::Changed,
    }
}

/// A body fact that turns `same` was hidden and is now visible (widened);
/// one that stops being `same` narrowed; anything else changed.
pub fn classify_body(old: Option<&str>, new: Option<&str>) -> ChangeClass {
    use crate::suite::compare::BodyFact;
    let fact = |text: Option<&str>| text.and_then(BodyFact::parse_against).map(|(f, _)| f);
    match (fact(old), fact(new)) {
        (Some(BodyFact::Differs), Some(BodyFact::Same)) => ChangeClass::Widened,
        (Some(BodyFact::Same), Some(BodyFact::Differs)) => ChangeClass::Narrowed,
        _ => ChangeClass::Changed,
    }
}

/// A cell's ids before and after: new ids are widened (named), fewer narrowed.
fn classify_items(
    old: Option<&(Vec<String>, usize)>,
    new: Option<&(Vec<String>, usize)>,
) -> (ChangeClass, String) {
    match (old, new) {
        (None, Some((ids, _))) => {
            return (
                ChangeClass::Changed,
                format!("ids first recorded ({})", ids.len()),
            );
        }
        (Some(_), None) => return (ChangeClass::Changed, "ids no longer recorded".into()),
        _ => {}
    }
    let set = |ids: Option<&(Vec<String>, usize)>| -> BTreeSet<String> {
        ids.map(|(ids, _)| ids.iter().cloned().collect())
            .unwrap_or_default()
    };
    let (before, after) = (set(old), set(new));
    let added: Vec<&String> = after.difference(&before).collect();
    let gone: Vec<&String> = before.difference(&after).collect();
    let named = |ids: &[&String]| {
        let shown: Vec<String> = ids
            .iter()
            .take(10)
            .map(|s| crate::outcome::shown_id(s))
            .collect();
        match ids.len().saturating_sub(10) {
            0 => shown.join(", "),
            more => format!("{} (+{more} more)", shown.join(", ")),
        }
    };
    match (added.is_empty(), gone.is_empty()) {
        (false, true) => (
            ChangeClass::Widened,
            format!("newly seen: {}", named(&added)),
        ),
        (true, false) => (
            ChangeClass::Narrowed,
            format!("no longer seen: {}", named(&gone)),
        ),
        (false, false) => (
            ChangeClass::Widened,
            format!(
                "newly seen: {}; no longer seen: {}",
                named(&added),
                named(&gone)
            ),
        ),
        (true, true) => (
            ChangeClass::Changed,
            "the same kept ids, another count beyond them".to_string(),
        ),
    }
}

/// Every difference between two matrices, classified, widened first.
pub fn classify(old: &Matrix, new: &Matrix) -> Vec<Change> {
    let mut changes = Vec::new();
    let (old_principals, new_principals) = (old.principals(), new.principals());
    for p in new_principals.difference(&old_principals) {
        changes.push(Change {
            class: ChangeClass::Added,
            what: format!("principal `{p}`"),
            endpoint: None,
        });
    }
    for p in old_principals.difference(&new_principals) {
        changes.push(Change {
            class: ChangeClass::Removed,
            what: format!("principal `{p}`"),
            endpoint: None,
        });
    }
    // Endpoints by name: matrices have thousands of rows.
    let index = |m: &'_ Matrix| -> HashMap<String, usize> {
        m.endpoints
            .iter()
            .enumerate()
            .map(|(i, (e, _))| (e.clone(), i))
            .collect()
    };
    let (old_rows, new_rows) = (index(old), index(new));
    for (endpoint, _) in &old.endpoints {
        if !new_rows.contains_key(endpoint) {
            changes.push(Change {
                class: ChangeClass::Removed,
                what: format!("endpoint `{endpoint}`"),
                endpoint: None,
            });
        }
    }
    for (endpoint, cells) in &new.endpoints {
        let Some(&row) = old_rows.get(endpoint) else {
            changes.push(Change {
                class: ChangeClass::Added,
                what: format!("endpoint `{endpoint}`"),
                endpoint: Some(endpoint.clone()),
            });
            continue;
        };
        let before_cells = &old.endpoints[row].1;
        for (principal, cell) in cells {
            if !old_principals.contains(principal.as_str()) {
                continue;
            }
            let what = || format!("{endpoint} × {principal}");
            let before = before_cells
                .iter()
                .find(|(p, _)| p == principal)
                .map(|(_, r)| r);
            match before {
                None => changes.push(Change {
                    class: ChangeClass::Added,
                    what: format!("{}: {}", what(), cell.status),
                    endpoint: Some(endpoint.clone()),
                }),
                Some(before) if before.status != cell.status => changes.push(Change {
                    class: classify_status(before.status, cell.status),
                    what: format!("{}: {} → {}", what(), before.shown(), cell.shown()),
                    endpoint: Some(endpoint.clone()),
                }),
                Some(before) if before.decided_from != cell.decided_from => changes.push(Change {
                    class: ChangeClass::Changed,
                    what: format!("{}: {} → {}", what(), before.shown(), cell.shown()),
                    endpoint: Some(endpoint.clone()),
                }),
                Some(before) if before.body != cell.body => changes.push(Change {
                    class: classify_body(before.body.as_deref(), cell.body.as_deref()),
                    what: format!(
                        "{}: body {} → {}",
                        what(),
                        before.body.as_deref().unwrap_or("not compared"),
                        cell.body.as_deref().unwrap_or("not compared")
                    ),
                    endpoint: Some(endpoint.clone()),
                }),
                Some(before) if before.items != cell.items => {
                    let (class, what_changed) =
                        classify_items(before.items.as_ref(), cell.items.as_ref());
                    changes.push(Change {
                        class,
                        what: format!("{}: items {what_changed}", what()),
                        endpoint: Some(endpoint.clone()),
                    })
                }
                Some(before) if before.trace != cell.trace => changes.push(Change {
                    class: classify_trace(before.trace, cell.trace),
                    what: format!(
                        "{}: trace {} → {}",
                        what(),
                        before.trace.map_or("not verified", |t| t.as_str()),
                        cell.trace.map_or("not verified", |t| t.as_str())
                    ),
                    endpoint: Some(endpoint.clone()),
                }),
                Some(before) if before.facts != cell.facts => changes.push(Change {
                    class: ChangeClass::Changed,
                    what: format!("{}: {}", what(), describe_facts(&before.facts, &cell.facts)),
                    endpoint: Some(endpoint.clone()),
                }),
                Some(_) => {}
            }
        }
    }
    for finding in new.findings.iter().filter(|f| !old.findings.contains(f)) {
        changes.push(Change {
            class: ChangeClass::Added,
            what: format!("finding {finding}"),
            endpoint: None,
        });
    }
    for finding in old.findings.iter().filter(|f| !new.findings.contains(f)) {
        changes.push(Change {
            class: ChangeClass::Removed,
            what: format!("finding {finding}"),
            endpoint: None,
        });
    }
    // A lint finding whose witnesses changed is one removed and one added.
    for finding in new.lints.iter().filter(|f| !old.lints.contains(f)) {
        changes.push(Change {
            class: ChangeClass::FindingAdded,
            what: format!("lint {finding}"),
            endpoint: None,
        });
    }
    for finding in old.lints.iter().filter(|f| !new.lints.contains(f)) {
        changes.push(Change {
            class: ChangeClass::FindingRemoved,
            what: format!("lint {finding}"),
            endpoint: None,
        });
    }
    changes.sort();
    changes
}

fn describe_facts(before: &[Fact], after: &[Fact]) -> String {
    let changed: Vec<String> = after
        .iter()
        .filter(|fact| !before.contains(fact))
        .map(|fact| {
            let old = before
                .iter()
                .find(|f| f.source == fact.source)
                .map_or("(absent)", |f| f.value.as_str());
            format!("{} {old} → {}", fact.source, fact.value)
        })
        .collect();
    if changed.is_empty() {
        "facts changed".into()
    } else {
        changed.join("; ")
    }
}

/// What checking one suite's snapshot found.
#[derive(Clone, Debug)]
pub enum SnapshotOutcome {
    /// Same as recorded.
    Unchanged,
    /// There was none and no cell of the suite answered: nothing to record, nothing written.
    NothingRecorded,
    /// There was none: it was written.
    Created(PathBuf),
    /// There was none and `CI` is set: nothing written, the run fails.
    MissingInCi(PathBuf),
    /// It differs: `.snap.new` written beside it, the run fails.
    Changed {
        /// The recorded snapshot.
        path: PathBuf,
        /// Where the new one was written.
        new_path: PathBuf,
        /// The classified changes.
        changes: Vec<Change>,
        /// A line diff of old and new.
        diff: String,
    },
    /// It differed and `--accept` wrote the new one.
    Accepted {
        /// The snapshot written.
        path: PathBuf,
        /// The classified changes.
        changes: Vec<Change>,
    },
}

impl SnapshotOutcome {
    /// Whether this makes the run fail.
    pub fn fails_run(&self) -> bool {
        matches!(
            self,
            SnapshotOutcome::MissingInCi(_) | SnapshotOutcome::Changed { .. }
        )
    }
}

/// How snapshots are handled in a run.
#[derive(Clone, Debug)]
pub struct SnapshotSettings {
    /// `--snapshots DIR` (default `snapshots`).
    pub dir: PathBuf,
    /// `--accept`.
    pub accept: bool,
    /// The `CI` environment variable is set.
    pub ci: bool,
}

/// The contents of a `.snap` file: insta's header, then the matrix.
pub fn file_contents(suite: &str, matrix: &str) -> String {
    format!("---\nsource: permatrix\nexpression: {suite}\n---\n{matrix}")
}

/// The matrix text of a `.snap` file (what follows insta's header); expects `\n` line ends.
pub fn body_of(file: &str) -> &str {
    match file
        .strip_prefix("---\n")
        .and_then(|rest| rest.split_once("\n---\n"))
    {
        Some((_, body)) => body,
        None => file,
    }
}

/// Where a suite's snapshot lives.
pub fn path_for(dir: &Path, suite: &str) -> PathBuf {
    dir.join(format!("{suite}.snap"))
}

/// Compares one suite's observed matrix with its snapshot and writes what SPEC §4 says.
pub fn check(
    suite: &Suite,
    s: usize,
    outcomes: &[CellOutcome],
    lints: crate::lints::LintInputs<'_>,
    settings: &SnapshotSettings,
) -> Result<SnapshotOutcome, SnapshotError> {
    let path = path_for(&settings.dir, &suite.name);
    let new_path = path.with_extension("snap.new");
    let previous = read_recorded(&path)?;
    // Parsed only if a cell kept its previous line or the snapshot changed.
    let old = std::cell::OnceCell::new();
    let parse_old = || {
        old.get_or_init(|| previous.as_deref().map(|text| Matrix::parse(body_of(text))))
            .as_ref()
    };
    let mut new = observed_over(suite, s, outcomes, parse_old);
    new.lints = lint_lines(suite, &new, lints);
    // A lint not computed this time (`--lints none`, no `--openapi`) keeps
    // its recorded lines: not looked for is not gone.
    if let Some(old) = previous.as_ref().and_then(|_| parse_old()) {
        let kept = old.lints.iter().filter(|line| {
            let id = line
                .split(':')
                .next()
                .and_then(crate::suite::lints::LintId::parse);
            id.is_some_and(|id| !lints.computes(suite, id))
        });
        new.lints.extend(kept.cloned());
        new.lints.sort();
    }
    let rendered = new.render();
    let remove_stale = || match std::fs::remove_file(&new_path) {
        Err(source) if source.kind() != std::io::ErrorKind::NotFound => {
            Err(SnapshotError::Remove {
                path: new_path.clone(),
                source,
            })
        }
        _ => Ok(()),
    };
    let Some(previous) = previous.as_deref() else {
        if rendered.is_empty() {
            return Ok(SnapshotOutcome::NothingRecorded);
        }
        if settings.ci && !settings.accept {
            return Ok(SnapshotOutcome::MissingInCi(path));
        }
        std::fs::create_dir_all(&settings.dir).map_err(|source| SnapshotError::CreateDir {
            path: settings.dir.clone(),
            source,
        })?;
        write_atomically(&path, file_contents(&suite.name, &rendered).as_bytes())?;
        return Ok(SnapshotOutcome::Created(path));
    };
    let old_body = body_of(previous);
    if old_body.trim_end() == rendered.trim_end() {
        remove_stale()?;
        return Ok(SnapshotOutcome::Unchanged);
    }
    let changes = classify(parse_old().unwrap_or(&Matrix::default()), &new);
    if settings.accept {
        write_atomically(&path, file_contents(&suite.name, &rendered).as_bytes())?;
        remove_stale()?;
        return Ok(SnapshotOutcome::Accepted { path, changes });
    }
    write_atomically(&new_path, file_contents(&suite.name, &rendered).as_bytes())?;
    let diff = similar::TextDiff::from_lines(old_body, rendered.as_str())
        .unified_diff()
        .context_radius(2)
        .header(&path.display().to_string(), &new_path.display().to_string())
        .to_string();
    Ok(SnapshotOutcome::Changed {
        path,
        new_path,
        changes,
        diff,
    })
}

#[cfg(test)]
mod tests {

    #[test]
    fn ids_read_back_whatever_they_hold() {
        let ids = vec![
            "a".to_string(),
            "x] (+3 more)".to_string(),
            "quote \" and\nline".to_string(),
        ];
        let matrix = Matrix {
            endpoints: vec![(
                "GET /list".into(),
                vec![(
                    "alice".into(),
                    Recorded {
                        status: CellValue::Status(200),
                        decided_from: None,
                        facts: vec![],
                        body: None,
                        items: Some((ids, 7)),
                        trace: None,
                    },
                )],
            )],
            findings: vec![],
            lints: vec!["existence_oracle: GET /a/1 × bob → 403; GET /a/2 × bob → 404".into()],
        };
        assert_eq!(Matrix::parse(&matrix.render()), matrix);
    }

    #[test]
    fn ids_recorded_for_the_first_time_are_no_widening() {
        let some = (vec!["1".to_string()], 0);
        assert_eq!(classify_items(None, Some(&some)).0, ChangeClass::Changed);
        let more = (vec!["1".to_string(), "2".to_string()], 0);
        assert_eq!(
            classify_items(Some(&some), Some(&more)).0,
            ChangeClass::Widened
        );
        assert_eq!(
            classify_items(Some(&more), Some(&some)).0,
            ChangeClass::Narrowed
        );
    }

    use super::*;

    fn matrix(rows: &[(&str, &[(&str, &str)])]) -> Matrix {
        Matrix {
            endpoints: rows
                .iter()
                .map(|(e, cells)| {
                    let cells = cells
                        .iter()
                        .map(|(p, s)| {
                            (
                                p.to_string(),
                                Recorded {
                                    status: s.parse().expect("a test's cell value"),
                                    decided_from: None,
                                    facts: vec![],
                                    body: None,
                                    items: None,
                                    trace: None,
                                },
                            )
                        })
                        .collect();
                    (e.to_string(), cells)
                })
                .collect(),
            findings: Vec::new(),
            lints: Vec::new(),
        }
    }

    #[test]
    fn render_and_parse_round_trip() {
        let mut m = matrix(&[
            ("GET /a", &[("app", "403"), ("admin", "200")]),
            ("POST /b", &[("app", "skipped")]),
        ]);
        m.endpoints[0].1[0].1.facts.push(Fact {
            source: FactSource::Header("www-authenticate".into()),
            value: "JWT realm=\"x\"".into(),
        });
        let text = m.render();
        assert_eq!(
            text,
            "GET /a\n  app → 403\n    header www-authenticate: JWT realm=\"x\"\n  admin → 200\nPOST /b\n  app → skipped\n"
        );
        assert_eq!(Matrix::parse(&text), m);
        for value in ["200", "403", "999", "skipped"] {
            assert_eq!(
                value.parse::<CellValue>().map(|v| v.to_string()),
                Ok(value.into())
            );
        }
        for value in ["2000", "99", "+200", "Skipped", "", "error"] {
            assert!(value.parse::<CellValue>().is_err(), "{value}");
        }
        assert_eq!(body_of(&file_contents("s", &text)), text);
    }

    #[test]
    fn findings_follow_the_matrix_and_a_new_one_is_a_change() {
        let mut old = matrix(&[("GET /a", &[("app", "403")])]);
        let mut new = old.clone();
        new.findings =
            vec!["denied_despite_scopes: GET /a × app → 403 (holds r; requires r)".into()];
        let text = new.render();
        assert!(
            text.ends_with(
                "app → 403\n:: scope findings\n  denied_despite_scopes: GET /a × app → 403 (holds r; requires r)\n"
            ),
            "{text}"
        );
        assert_eq!(Matrix::parse(&text), new, "read back whole");
        let added: Vec<String> = classify(&old, &new)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            added,
            ["added       finding denied_despite_scopes: GET /a × app → 403 (holds r; requires r)"]
        );
        old.findings = new.findings.clone();
        new.findings.clear();
        assert_eq!(classify(&old, &new)[0].class, ChangeClass::Removed);
    }

    #[test]
    fn every_change_is_classified_widened_first() {
        let old = matrix(&[
            (
                "GET /a",
                &[
                    ("app", "403"),
                    ("user", "200"),
                    ("bot", "200"),
                    ("admin", "403"),
                ],
            ),
            ("GET /gone", &[("app", "200")]),
        ]);
        let new = matrix(&[
            (
                "GET /a",
                &[
                    ("app", "200"),
                    ("user", "401"),
                    ("bot", "500"),
                    ("admin", "404"),
                    ("new-p", "200"),
                ],
            ),
            ("GET /new", &[("app", "200")]),
        ]);
        let lines: Vec<String> = classify(&old, &new)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            lines,
            [
                "widened     GET /a × app: 403 → 200",
                "auth-broken GET /a × user: 200 → 401",
                "narrowed    GET /a × bot: 200 → 500",
                "changed     GET /a × admin: 403 → 404",
                "added       endpoint `GET /new`",
                "added       principal `new-p`",
                "removed     endpoint `GET /gone`",
            ]
        );
        let skipped = matrix(&[("POST /x", &[("app", "skipped")])]);
        let sent = matrix(&[("POST /x", &[("app", "201")])]);
        assert_eq!(
            classify(&skipped, &sent)[0].class,
            ChangeClass::Changed,
            "a run mode, not a permission"
        );
        assert_eq!(classify(&sent, &skipped)[0].class, ChangeClass::Changed);
    }
}
