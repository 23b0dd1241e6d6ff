//! Atlassian specifics shared by the client (auth modes) and the mock: the
//! Connect canonical request and its query string hash.

pub mod qsh;
