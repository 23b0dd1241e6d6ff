//! The mock instance: a definition's users, apps and routes served on loopback,
//! verifying credentials as Jira Cloud does.

pub mod def;
pub mod scope;
pub mod server;
pub mod verify;

pub use def::{MockDef, load};
pub use server::serve;
