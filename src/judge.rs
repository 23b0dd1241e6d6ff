//! Judging: an observation against an expectation gives a verdict.

use crate::outcome::{CellResult, Verdict};
use crate::suite::Expectation;

/// The verdict for a cell's result.
pub fn judge(expected: &Expectation, result: &CellResult) -> Verdict {
    match result {
        CellResult::Responded(observation) if expected.accepts(observation.decided()) => {
            Verdict::Passed
        }
        CellResult::Responded(_) => Verdict::Failed,
        CellResult::Error { .. } => Verdict::Error,
        CellResult::Skipped { .. } => Verdict::Skipped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{ErrorKind, Observation};

    fn responded(status: u16) -> CellResult {
        CellResult::Responded(Observation {
            status,
            ..Observation::default()
        })
    }

    #[test]
    fn verdicts() {
        assert_eq!(judge(&Expectation::Deny, &responded(403)), Verdict::Passed);
        assert_eq!(judge(&Expectation::Deny, &responded(200)), Verdict::Failed);
        let error = CellResult::Error {
            kind: ErrorKind::Timeout,
            message: "t".into(),
        };
        assert_eq!(judge(&Expectation::Any, &error), Verdict::Error);
        assert_eq!(
            judge(
                &Expectation::Any,
                &CellResult::Skipped { reason: "r".into() }
            ),
            Verdict::Skipped
        );
    }
}
