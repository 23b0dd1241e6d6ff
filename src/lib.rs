//! permatrix: a declarative test-runner for endpoint permission matrices.
//!
//! A YAML suite lists endpoints, principals (a user or app with an auth mode)
//! and the status each principal must get; permatrix runs every endpoint ×
//! principal cell, judges it and reports. The data flows one way: [`suite`]
//! loads and validates YAML, [`plan`] lists the cells, [`execute`] runs and
//! judges them into [`outcome`]s, [`scopes`] reads least-privilege findings
//! from them, and [`report`] and [`snapshot`] turn the outcomes into output. [`session`] drives those steps for the `permatrix`
//! command ([`app`], [`explain`]) and for the cargo-test [`harness`]; these
//! modules are the API.
//!
//! # Running suites from a program
//!
//! ```no_run
//! use permatrix::plan::Selection;
//! use permatrix::session::{Session, SessionOptions};
//!
//! # fn main() -> Result<(), permatrix::session::SessionError> {
//! let session = Session::load(&["suites".into()], SessionOptions::default())?;
//! let cells = session.plan(&Selection::default())?;
//! let started = session.start()?;
//! let outcomes = started.execute(&cells, &session.options().exec, |_| {})?;
//! let failing: Vec<String> = outcomes
//!     .iter()
//!     .filter(|o| o.verdict.fails_run())
//!     .map(|o| {
//!         let suite = &session.suites[o.id.suite];
//!         let cell = (&suite.endpoints[o.id.endpoint], &suite.principals[o.id.principal]);
//!         format!("{} × {}: {}", cell.0.name, cell.1.name, o.verdict.as_str())
//!     })
//!     .collect();
//! assert!(failing.is_empty(), "{failing:?}");
//! # Ok(())
//! # }
//! ```
//!
//! # In `cargo test`
//!
//! A `tests/permissions.rs` declared with `harness = false` makes every cell a
//! test named `<suite>::<endpoint>::<principal>`:
//!
//! ```no_run
//! fn main() -> std::process::ExitCode {
//!     permatrix::harness::main("suites")
//! }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod app;
mod atlassian;
mod atomic_file;
mod auth;
pub mod coverage;
mod decide;
pub mod diff;
pub mod document;
pub mod execute;
pub mod explain;
pub mod finding;
pub mod harness;
mod http;
pub mod import;
mod judge;
pub mod lints;
mod mock;
pub mod openapi;
pub mod outcome;
mod percent;
pub mod plan;
pub mod reach;
pub mod record;
mod redact;
pub mod report;
mod retry;
pub mod scopes;
pub mod session;
pub mod snapshot;
pub mod suite;

/// Internals for the crate's own benchmarks, fuzz targets and tests: not part
/// of the API, and free to change in any release.
#[doc(hidden)]
pub mod internals {
    pub use crate::atlassian::qsh::{canonical_request, qsh};
    pub use crate::auth::sign::{hs256, now_seconds};
    pub use crate::auth::{Auth, AuthEnv, AuthError, build as build_auth};
    pub use crate::judge::judge;
    pub use crate::mock::serve as serve_mock;
    pub use crate::mock::state::MockState;
    pub use crate::mock::verify::{Caller, Refusal, identify};
    pub use crate::redact::Redactor;
}
