//! The mock instance: a definition's users, apps and routes served on loopback,
//! verifying credentials as Jira Cloud does. Its definitions are read by
//! [`crate::suite::mock_def`], beside suites.

pub mod server;
pub mod state;
pub mod verify;

pub use crate::suite::mock_def::{self as def, MockDef, load};
pub use server::serve;
