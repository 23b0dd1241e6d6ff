//! What a cell's write left behind (`none`, `changed`, `gone`, `n/a`), and
//! what `expect_trace:` may ask of it.

/// What a cell's write left behind, as the verify request read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Trace {
    /// The verify request read the same before and after.
    #[serde(rename = "none")]
    None,
    /// It read something else after.
    #[serde(rename = "changed")]
    Changed,
    /// It found the object before and nothing after (404 or 410).
    #[serde(rename = "gone")]
    Gone,
    /// Nothing to compare: the cell was not sent, or a verify request got no answer.
    #[serde(rename = "n/a")]
    NotApplicable,
}

impl Trace {
    /// Its name in every output.
    pub fn as_str(self) -> &'static str {
        match self {
            Trace::None => "none",
            Trace::Changed => "changed",
            Trace::Gone => "gone",
            Trace::NotApplicable => "n/a",
        }
    }

    /// Whether the write took effect.
    pub fn applied(self) -> bool {
        matches!(self, Trace::Changed | Trace::Gone)
    }

    /// Reads a snapshot's or report's name back.
    pub fn parse(text: &str) -> Option<Trace> {
        match text {
            "none" => Some(Trace::None),
            "changed" => Some(Trace::Changed),
            "gone" => Some(Trace::Gone),
            "n/a" => Some(Trace::NotApplicable),
            _ => None,
        }
    }
}

impl std::fmt::Display for Trace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What `expect_trace:` asks of a cell's write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExpectTrace {
    /// `none`: it must leave no trace.
    None,
    /// `changed`: it must change what the verify request reads.
    Changed,
    /// `gone`: the object must be gone after it.
    Gone,
    /// `applied`: changed or gone.
    Applied,
}

impl ExpectTrace {
    /// The words a suite may write.
    pub(super) const WORDS: [&'static str; 4] = ["none", "changed", "gone", "applied"];

    /// Its word in the suite.
    pub fn as_str(self) -> &'static str {
        match self {
            ExpectTrace::None => "none",
            ExpectTrace::Changed => "changed",
            ExpectTrace::Gone => "gone",
            ExpectTrace::Applied => "applied",
        }
    }

    /// Whether `trace` meets it.
    pub fn holds(self, trace: Trace) -> bool {
        match self {
            ExpectTrace::None => trace == Trace::None,
            ExpectTrace::Changed => trace == Trace::Changed,
            ExpectTrace::Gone => trace == Trace::Gone,
            ExpectTrace::Applied => trace.applied(),
        }
    }

    /// Reads a suite's word.
    pub(super) fn parse(word: &str) -> Option<ExpectTrace> {
        match word {
            "none" => Some(ExpectTrace::None),
            "changed" => Some(ExpectTrace::Changed),
            "gone" => Some(ExpectTrace::Gone),
            "applied" => Some(ExpectTrace::Applied),
            _ => None,
        }
    }
}

impl std::fmt::Display for ExpectTrace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
