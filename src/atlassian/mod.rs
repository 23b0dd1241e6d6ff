//! Atlassian specifics shared by the client (auth modes) and the mock: the
//! Connect canonical request and its query string hash, and Connect scopes.

pub(crate) mod qsh;
pub(crate) mod scope;
