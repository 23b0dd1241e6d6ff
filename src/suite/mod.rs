//! Suites: the YAML format, its validated model, interpolation and load errors.

pub mod auth_spec;
pub mod base_url;
mod check;
pub mod compare;
pub mod decide;
mod definition;
pub mod diag;
mod endpoint;
pub mod expect;
pub mod graphql;
pub mod items;
pub mod load;
pub mod mock_def;
pub mod model;
pub mod options;
pub mod probe;
pub mod probes;
pub mod read;
pub mod recording;
pub mod request;
pub mod scope_rules;
pub mod source;
pub mod step_refs;
pub mod steps;
pub mod template;
pub mod trace;
pub mod verify;
pub mod yaml;

pub use base_url::parse_base_url;
pub use definition::Suite;
pub use diag::Diagnostic;
pub use expect::Expectation;
pub use load::{load, load_str};
pub use model::*;
pub use options::LoadOptions;
pub use template::{Scope, Template};
