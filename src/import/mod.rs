//! Suites made rather than written: `permatrix init` from an OpenAPI document
//! ([`from_openapi`]), a HAR recording ([`har`]) or a GraphQL schema
//! ([`graphql`]). Each source makes a [`draft::Draft`] and its matrix of
//! expectations; [`init`] compacts the matrix ([`compact`]), runs the draft
//! first with `--observe` ([`observe`]), and writes it as YAML ([`yaml_out`]).

pub mod compact;
pub mod draft;
pub mod from_openapi;
pub mod graphql;
pub mod har;
pub mod init;
pub mod observe;
pub mod principals;
pub mod yaml_out;
