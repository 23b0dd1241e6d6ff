//! What every part of the mock answers with: Jira's ErrorCollection, and the
//! pseudo-group of every caller.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The pseudo-group of every caller, anonymous ones included.
pub(crate) const ANYONE: &str = "anyone";

/// Jira's ErrorCollection.
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"errorMessages": [message], "errors": {}})),
    )
        .into_response()
}
