//! Suites: the YAML format, its validated model, interpolation and load errors.

pub mod auth_spec;
mod check;
pub mod diag;
mod endpoint;
pub mod expect;
pub mod load;
pub mod model;
pub mod read;
pub mod template;
pub mod yaml;

pub use diag::Diagnostic;
pub use expect::Expectation;
pub use load::{LoadOptions, load, load_str};
pub use model::*;
pub use template::{Scope, Template};
