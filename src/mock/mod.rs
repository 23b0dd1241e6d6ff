//! The mock instance: a definition's users, apps, issues and routes (REST and
//! GraphQL) served on loopback, verifying credentials as Jira Cloud does. Its
//! definitions are read by [`crate::suite::mock_def`], beside suites.

pub(crate) mod graphql;
pub(crate) mod issue_routes;
mod issue_search;
pub(crate) mod issues;
mod jira_error;
mod replay;
pub(crate) mod server;
pub(crate) mod state;
pub(crate) mod verify;

pub(crate) use crate::suite::mock_def::load;
pub use server::serve;
