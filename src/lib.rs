//! permatrix: a declarative test-runner for endpoint permission matrices.
//!
//! The data flows one way: [`suite`] loads and validates YAML, [`plan`] lists
//! the cells, [`execute`] runs them, [`judge`] gives verdicts, and [`report`]
//! turns the outcomes into terminal, JSON and JUnit output.

pub mod app;
pub mod atlassian;
pub mod atomic_file;
pub mod auth;
pub mod execute;
pub mod explain;
pub mod harness;
pub mod http;
pub mod judge;
pub mod mock;
pub mod outcome;
pub mod percent;
pub mod plan;
pub mod redact;
pub mod report;
pub mod retry;
pub mod session;
pub mod snapshot;
pub mod suite;
