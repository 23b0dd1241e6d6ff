//! permatrix: a declarative test-runner for endpoint permission matrices.
//!
//! A YAML suite lists endpoints, principals (a user or app with an auth mode)
//! and the status each principal must get; permatrix runs every endpoint ×
//! principal cell, judges it and reports. The data flows one way: [`suite`]
//! loads and validates YAML, [`plan`] lists the cells, [`execute`] runs them,
//! [`judge`] gives verdicts, and [`report`] and [`snapshot`] turn the outcomes
//! into output. [`session`] drives those steps for the `permatrix` command
//! ([`app`], [`explain`]) and for the cargo-test [`harness`].
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
//! for outcome in &outcomes {
//!     let suite = &session.suites[outcome.id.suite];
//!     println!(
//!         "{} × {}: {}",
//!         suite.endpoints[outcome.id.endpoint].name,
//!         suite.principals[outcome.id.principal].name,
//!         outcome.verdict.as_str()
//!     );
//! }
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
pub mod atlassian;
mod atomic_file;
pub mod auth;
pub mod execute;
pub mod explain;
pub mod harness;
mod http;
pub mod judge;
pub mod mock;
pub mod outcome;
mod percent;
pub mod plan;
pub mod redact;
pub mod report;
mod retry;
pub mod session;
pub mod snapshot;
pub mod suite;
