//! What happened to each cell: the values every reporter consumes.

use std::time::Duration;

use serde::Serialize;

use crate::suite::Expectation;
use crate::suite::compare::BodyFact;
pub use crate::suite::decide::Decided;

/// One endpoint × principal of one suite, by index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct CellId {
    /// Index of the suite in the run.
    pub suite: usize,
    /// Index of the endpoint in its suite.
    pub endpoint: usize,
    /// Index of the principal in its suite.
    pub principal: usize,
}

/// The verdict on a cell. New states are added as variants; reporters show
/// unknown ones by their [`Verdict::as_str`] name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The status met the expectation.
    Passed,
    /// A response came, with a status outside the expectation.
    Failed,
    /// No response to judge: timeout, refused connection, TLS, DNS, auth setup.
    Error,
    /// Not sent (a mutation against a real target without permission).
    Skipped,
    /// A denial from a principal whose canary was not reached: its credentials
    /// were rejected, so the denial says nothing about the permission.
    CredentialsRejected,
    /// A tamper probe (a broken credential) was let in (2xx).
    AcceptedTampered,
    /// Refused (401, 403 or 404), yet the endpoint's `verify:` request saw
    /// the write applied: the most severe.
    DeniedButApplied,
}

impl Verdict {
    /// The name used in JSON, JUnit and the terminal.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Passed => "passed",
            Verdict::Failed => "failed",
            Verdict::Error => "error",
            Verdict::Skipped => "skipped",
            Verdict::CredentialsRejected => "credentials-rejected",
            Verdict::AcceptedTampered => "accepted-tampered",
            Verdict::DeniedButApplied => "denied-but-applied",
        }
    }

    /// Whether this verdict makes the run fail.
    pub fn fails_run(self) -> bool {
        matches!(
            self,
            Verdict::Failed
                | Verdict::Error
                | Verdict::CredentialsRejected
                | Verdict::AcceptedTampered
                | Verdict::DeniedButApplied
        )
    }
}

/// The request a cell sent, secrets masked.
#[derive(Clone, Debug, Serialize)]
pub struct SentRequest {
    /// The method.
    pub method: String,
    /// The URL, masked.
    pub url: String,
    /// A curl command that re-sends it, credentials as shell variables, when asked for.
    #[serde(skip)]
    pub curl: Option<String>,
}

/// A response, as far as reports need it (every text already masked).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Observation {
    /// The status code.
    pub status: u16,
    /// `WWW-Authenticate`, when sent.
    pub www_authenticate: Option<String>,
    /// `Location`, when sent (redirects are recorded, not followed).
    pub location: Option<String>,
    /// The start of the body on one line.
    pub excerpt: String,
    /// Extra facts the endpoint's `snapshot:` asks for.
    pub facts: Vec<Fact>,
    /// The body as `compare:` compares it, when the endpoint compares
    /// (never reported: it may hold what the excerpt masks or cuts).
    #[serde(skip)]
    pub comparable: Option<Comparable>,
    /// What `--record` keeps of the response (masked), when recording.
    #[serde(skip)]
    pub recorded: Option<Box<RecordedResponse>>,
    /// The ids the cell's list answer held (every page), when the endpoint has `items:`.
    #[serde(skip)]
    pub items: Option<Box<ItemSet>>,
    /// How the `decide:` rules or the GraphQL built-ins read the response,
    /// when they read it (the status alone decides otherwise).
    #[serde(skip)]
    pub decision: Option<Box<Decision>>,
}

impl Observation {
    /// What the cell is judged, snapshotted and reported by: the decision,
    /// else the status.
    pub fn decided(&self) -> Decided {
        self.decision
            .as_ref()
            .map_or(Decided::Status(self.status), |d| d.decided)
    }

    /// `403 (200)`: the decision, with the status when they differ.
    pub fn shown(&self) -> String {
        Decision::annotated(self.decided(), self.status, None)
    }

    /// The decision when it reads the response otherwise than its status.
    pub fn overruled(&self) -> Option<&Decision> {
        self.decision
            .as_deref()
            .filter(|d| d.decided != Decided::Status(self.status))
    }
}

/// The longest id shown in a line (an id may be a whole item).
const SHOWN_ID_CHARS: usize = 60;

/// An id as a line shows it: control characters (a line break a server put
/// in an id) as U+FFFD, cut past [`SHOWN_ID_CHARS`] with `…`.
pub fn shown_id(id: &str) -> String {
    let mut shown: String = id
        .chars()
        .take(SHOWN_ID_CHARS)
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect();
    if id.chars().nth(SHOWN_ID_CHARS).is_some() {
        shown.push('…');
    }
    shown
}

/// The ids a cell saw in a list answer (masked), sorted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ItemSet {
    /// The first ids, sorted (at most 1,000).
    pub ids: Vec<String>,
    /// How many there were in all.
    pub count: usize,
    /// More than were kept.
    pub truncated: bool,
    /// Pages read.
    pub pages: u32,
    /// `max_pages` stopped the reading while a next page remained: the set is partial.
    pub more_pages: bool,
}

/// A cell's decision read from its response (every text masked).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// What the response reads as.
    pub decided: Decided,
    /// The rule that decided (`endpoint rule 1 (line 12)`), `graphql` for the
    /// built-in reading, `status` when the body could not be read.
    pub by: String,
    /// Why: the rule's reason, or the GraphQL error code.
    pub reason: Option<String>,
    /// GraphQL: the paths of the fields denied (`issue`, `issue.reporter`).
    pub denied: Vec<String>,
    /// GraphQL: errors no rule or code calls a denial.
    pub other_errors: Vec<String>,
    /// Why the body could not decide (not JSON, cut).
    pub note: Option<String>,
}

impl Default for Decision {
    fn default() -> Decision {
        Decision {
            decided: Decided::Other,
            by: String::new(),
            reason: None,
            denied: Vec::new(),
            other_errors: Vec::new(),
            note: None,
        }
    }
}

impl Decision {
    /// `decided by target rule 1 (line 8): missing_scope; denied: issue; other errors: …`.
    pub fn detail(&self) -> String {
        let mut text = format!("decided by {}", self.by);
        if let Some(reason) = &self.reason {
            text.push_str(&format!(": {reason}"));
        }
        let listed = format!("denied {}", self.denied.join(", "));
        if !self.denied.is_empty() && self.reason.as_deref() != Some(listed.as_str()) {
            text.push_str(&format!("; denied: {}", self.denied.join(", ")));
        }
        if !self.other_errors.is_empty() {
            text.push_str(&format!(
                "; other errors: {}",
                self.other_errors.join(" | ")
            ));
        }
        if let Some(note) = &self.note {
            text.push_str(&format!("; {note}"));
        }
        text
    }

    /// `403 (200: missing_scope)`: the decision, with the status and reason
    /// when the decision is not the status.
    pub fn annotated(decided: Decided, status: u16, reason: Option<&str>) -> String {
        if decided == Decided::Status(status) {
            return decided.to_string();
        }
        match reason {
            Some(reason) if !reason.is_empty() => format!("{decided} ({status}: {reason})"),
            _ => format!("{decided} ({status})"),
        }
    }
}

/// A response as a recording keeps it, every text masked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecordedResponse {
    /// The headers kept, lower-case names, values of one name joined with `, `.
    pub headers: std::collections::BTreeMap<String, String>,
    /// The body as text, cut with a marker past the limit.
    pub body: String,
}

/// A response body in the form it is compared with another's.
#[derive(Clone, Debug, PartialEq)]
pub enum Comparable {
    /// No body, or only whitespace.
    Empty,
    /// A JSON body, `compare.ignore` pointers dropped.
    Json(serde_json::Value),
    /// Any other body, trimmed.
    Text(Vec<u8>),
}

/// One extra fact recorded about a response: where it comes from and its
/// value (masked), as the endpoint's `snapshot:` asks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fact {
    /// Where the value comes from.
    pub source: FactSource,
    /// The value, `(absent)` when the response has none.
    pub value: String,
}

impl Serialize for Fact {
    /// As `[label, value]`, the pair it was before it had a type.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (self.source.to_string(), &self.value).serialize(serializer)
    }
}

/// Where a fact is read from the response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FactSource {
    /// A header, by its lower-case name.
    Header(String),
    /// A JSON pointer into the body.
    Body(String),
}

impl std::fmt::Display for FactSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FactSource::Header(name) => write!(f, "header {name}"),
            FactSource::Body(pointer) => write!(f, "body {pointer}"),
        }
    }
}

/// A fact's label that names neither a header nor a body pointer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is neither `header NAME` nor `body /POINTER`")]
pub struct UnknownFactSource(String);

impl std::str::FromStr for FactSource {
    type Err = UnknownFactSource;

    fn from_str(text: &str) -> Result<FactSource, UnknownFactSource> {
        match text.split_once(' ') {
            Some(("header", name)) if !name.is_empty() => Ok(FactSource::Header(name.into())),
            Some(("body", pointer)) => Ok(FactSource::Body(pointer.into())),
            _ => Err(UnknownFactSource(text.to_string())),
        }
    }
}

/// Why a cell has no response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// No response within the timeout.
    Timeout,
    /// The connection could not be made (refused, DNS, TLS).
    Connect,
    /// The principal's credentials could not be obtained or applied.
    Auth,
    /// The request could not be built or sent.
    Request,
}

/// What a cell ended with.
#[derive(Clone, Debug)]
pub enum CellResult {
    /// A response arrived.
    Responded(Observation),
    /// No response.
    Error {
        /// The kind of failure.
        kind: ErrorKind,
        /// What went wrong, masked.
        message: String,
    },
    /// Not sent.
    Skipped {
        /// Why.
        reason: String,
    },
}

/// One finished cell.
#[derive(Clone, Debug)]
pub struct CellOutcome {
    /// Which cell.
    pub id: CellId,
    /// What it had to get.
    pub expected: Expectation,
    /// The request as sent, when it was built.
    pub request: Option<SentRequest>,
    /// What came back.
    pub result: CellResult,
    /// The judgement.
    pub verdict: Verdict,
    /// Requests sent (more than one after retries).
    pub attempts: u32,
    /// Wall time of the cell, retries included.
    pub elapsed: Duration,
    /// Why the verdict is what it is, when the status alone does not say (a failed canary).
    pub note: Option<String>,
    /// Everything sent and received, when `explain` asked for it.
    pub trace: Option<Box<Trace>>,
    /// How its body compares with the reference principal's, when the endpoint has `compare:`.
    pub body: Option<BodyComparison>,
    /// What its write left behind, when the endpoint has `verify:` or `restore:`.
    pub write: Option<Box<WriteTrace>>,
}

/// What a cell's write left behind, read by its endpoint's verify request
/// before and after it (every text masked).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteTrace {
    /// The fact.
    pub trace: crate::suite::verify::Trace,
    /// Where the answers differ (`/fields/summary`), what the verify request
    /// got (`200 → 404`), or why there is no trace.
    pub detail: Option<String>,
    /// What `expect_trace` asks, if anything.
    pub expected: Option<crate::suite::verify::ExpectTrace>,
    /// Why the restore steps after the cell failed, if they did.
    pub restore_failed: Option<String>,
    /// Whether the verify request was sent around the cell (a sent cell of an
    /// endpoint with `verify:`): what the closing line counts.
    pub verified: bool,
}

impl WriteTrace {
    /// Whether `expect_trace` asks for another trace.
    pub fn mismatched(&self) -> bool {
        self.expected
            .is_some_and(|expected| !expected.holds(self.trace))
    }

    /// `trace changed (/fields/summary)`.
    pub fn phrase(&self) -> String {
        match &self.detail {
            Some(detail) => format!("trace {} ({detail})", self.trace),
            None => format!("trace {}", self.trace),
        }
    }
}

/// A cell's body set against the reference principal's (`compare:`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BodyComparison {
    /// The reference principal.
    pub with: String,
    /// How the bodies compare.
    pub fact: BodyFact,
    /// What `expect_body` asks, if anything.
    pub expected: Option<BodyFact>,
}

impl BodyComparison {
    /// Whether `expect_body` asks for another fact.
    pub fn mismatched(&self) -> bool {
        self.expected.is_some_and(|expected| expected != self.fact)
    }

    /// `same body as alice`, `a body that differs from alice's`, `no body to compare with alice's`.
    pub fn phrase(fact: BodyFact, with: &str) -> String {
        match fact {
            BodyFact::Same => format!("same body as {with}"),
            BodyFact::Differs => format!("a body that differs from {with}'s"),
            BodyFact::NotApplicable => format!("no body to compare with {with}'s"),
        }
    }
}

/// What one setup or teardown step did as one principal (every text masked).
#[derive(Clone, Debug, Serialize)]
pub struct StepRecord {
    /// Index of the suite in the run.
    #[serde(skip)]
    pub suite: usize,
    /// Setup or teardown.
    pub phase: crate::suite::steps::Phase,
    /// Its place in its list, from 1.
    pub number: usize,
    /// Its `name:`, or its request line.
    pub step: String,
    /// The principal it ran as.
    pub principal: String,
    /// The method.
    pub method: String,
    /// The URL sent, masked; `None` when the request could not be built.
    pub url: Option<String>,
    /// The status received.
    pub status: Option<u16>,
    /// The statuses that let the run go on.
    pub expected: String,
    /// It got an expected status and every capture.
    pub passed: bool,
    /// Not sent: a capture it needs was never made (its setup failed).
    pub skipped: bool,
    /// What went wrong, when it failed or was skipped.
    pub error: Option<String>,
    /// What it captured, by name (masked where secret).
    pub captured: Vec<(String, String)>,
    /// The step's line in the suite file.
    pub line: u32,
}

impl StepRecord {
    /// Whether it makes the run fail.
    pub fn fails_run(&self) -> bool {
        !self.passed && !self.skipped
    }

    /// `setup step 1 (create a note) as alice`.
    pub fn title(&self) -> String {
        format!(
            "{} step {} ({}) as {}",
            self.phase.as_str(),
            self.number,
            self.step,
            self.principal
        )
    }
}

/// The whole exchange of one cell, for `explain` (every text already masked).
#[derive(Clone, Debug, Default)]
pub struct Trace {
    /// For `explain --curl`: a credential signed or fetched for this request.
    pub fresh_credential: Option<FreshCredential>,
    /// The method sent.
    pub method: String,
    /// The URL sent.
    pub url: String,
    /// The request headers sent.
    pub request_headers: Vec<(String, String)>,
    /// JWTs found in the request: where, header and claims.
    pub jwts: Vec<(String, serde_json::Value, serde_json::Value)>,
    /// For a Connect JWT: the canonical request and its hash, recomputed from the URL sent.
    pub canonical: Option<(String, String)>,
    /// The response headers.
    pub response_headers: Vec<(String, String)>,
    /// The start of the response body (longer than the excerpt).
    pub body: String,
    /// What the auth mode's setup did (token exchanges).
    pub auth_notes: Vec<String>,
    /// For an https target: what is trusted, the client certificate shown and
    /// the server's (subjects, issuers, validity; never a key).
    pub tls: Vec<String>,
}

/// A credential signed or fetched for one request, kept unmasked only so that
/// `explain --curl` can print a command that works now; never in a report,
/// and `Debug` shows only its variable.
#[derive(Clone)]
pub struct FreshCredential {
    /// The shell variable the curl command reads it from.
    pub variable: String,
    /// The credential itself.
    pub value: String,
}

impl std::fmt::Debug for FreshCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FreshCredential")
            .field("variable", &self.variable)
            .field("value", &"****")
            .finish()
    }
}

impl CellOutcome {
    /// The status received, if any.
    pub fn status(&self) -> Option<u16> {
        match &self.result {
            CellResult::Responded(o) => Some(o.status),
            _ => None,
        }
    }

    /// The decision as shown (`403 (200)`), if a response came.
    pub fn result_shown(&self) -> Option<String> {
        match &self.result {
            CellResult::Responded(o) => Some(o.shown()),
            _ => None,
        }
    }

    /// What the response was decided to be, if one came.
    pub fn decided(&self) -> Option<Decided> {
        match &self.result {
            CellResult::Responded(o) => Some(o.decided()),
            _ => None,
        }
    }
}

/// Counts of verdicts over a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Cells that passed.
    pub passed: usize,
    /// Cells that failed.
    pub failed: usize,
    /// Cells that errored.
    pub errors: usize,
    /// Cells not sent.
    pub skipped: usize,
}

impl Tally {
    /// Counts `outcomes`.
    pub fn of<'a>(outcomes: impl IntoIterator<Item = &'a CellOutcome>) -> Tally {
        let mut tally = Tally::default();
        for outcome in outcomes {
            match outcome.verdict {
                Verdict::Passed => tally.passed += 1,
                Verdict::Failed | Verdict::AcceptedTampered | Verdict::DeniedButApplied => {
                    tally.failed += 1
                }
                Verdict::Error | Verdict::CredentialsRejected => tally.errors += 1,
                Verdict::Skipped => tally.skipped += 1,
            }
        }
        tally
    }

    /// `N passed, N failed`, then `, N errors, N skipped` when non-zero.
    pub fn line(&self) -> String {
        let mut line = format!("{} passed, {} failed", self.passed, self.failed);
        if self.errors > 0 {
            line.push_str(&format!(", {} errors", self.errors));
        }
        if self.skipped > 0 {
            line.push_str(&format!(", {} skipped", self.skipped));
        }
        line
    }

    /// Whether the run fails because of its cells.
    pub fn fails_run(&self) -> bool {
        self.failed > 0 || self.errors > 0
    }
}
