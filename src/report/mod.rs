//! Reporters: each output format is a consumer of the run's events.
//!
//! The engine does not print. The run emits [`Event`]s; the terminal display,
//! the JSON file and the JUnit file each handle them, and adding a format
//! means adding a [`Reporter`] here, nothing else.

pub mod cells;
#[cfg(test)]
mod fixture;
pub mod github;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod terminal;

use crate::execute::ResolvedTarget;
use crate::outcome::{CellOutcome, Tally};
use crate::suite::Suite;

pub use crate::atomic_file::write_atomically;

/// Everything known when a run ends, outcomes in suite order.
pub struct RunReport<'a> {
    /// The suites of the run.
    pub suites: &'a [Suite],
    /// Where each suite's requests went.
    pub targets: &'a [ResolvedTarget],
    /// Every cell that was planned, in suite order.
    pub outcomes: &'a [CellOutcome],
    /// Their counts.
    pub tally: Tally,
    /// Each suite's snapshot check, by suite index (empty with `--no-snapshot`).
    pub snapshots: &'a [Option<crate::snapshot::SnapshotOutcome>],
}

/// What a reporter is told, in order: started, each cell as it finishes, finished.
pub enum Event<'a> {
    /// The run is about to send; `cells` will finish.
    Started {
        /// How many cells were planned.
        cells: usize,
    },
    /// A cell finished (completion order).
    CellFinished(&'a CellOutcome),
    /// The run ended; outcomes are in suite order.
    Finished(&'a RunReport<'a>),
}

/// A consumer of run events.
pub trait Reporter {
    /// Handles one event; an error stops the run's reporting and is shown to the user.
    fn handle(&mut self, event: &Event<'_>) -> Result<(), String>;
}
