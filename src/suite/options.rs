//! What loading may draw on besides the files: variables, the environment and the target choice.

use std::collections::BTreeMap;

/// What interpolation may draw on besides the suite itself.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// `--var NAME=VALUE`.
    pub cli_vars: BTreeMap<String, String>,
    /// The environment, captured once by the caller.
    pub env: BTreeMap<String, String>,
    /// `--base-url`: every suite goes there, none to its mock.
    pub base_url: Option<String>,
    /// `--mock`: every suite goes to its mock.
    pub force_mock: bool,
    /// Suites that define a mock go to it whatever their base URL says (the harness).
    pub mock_where_defined: bool,
    /// `--probes`: which tamper probes every principal gets, overriding the suites'.
    pub probes: Option<super::probe::ProbeChoice>,
}
