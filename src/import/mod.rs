//! Suites made rather than written: `permatrix init` from an OpenAPI document
//! or a HAR recording, and `permatrix coverage` of a document by suites.
//! Each source turns into a [`draft::Draft`], which [`emit`] writes as a
//! suite; `--observe` runs the draft with the normal session first.

pub mod compact;
pub mod document;
pub mod draft;
pub mod from_openapi;
pub mod har;
pub mod init;
pub mod observe;
pub mod openapi;
pub mod principals;
pub mod yaml_out;
