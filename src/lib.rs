//! permatrix: a declarative test-runner for endpoint permission matrices.
pub mod suite;
