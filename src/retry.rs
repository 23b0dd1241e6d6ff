//! When and how long to wait before sending a request again.

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};

/// The longest wait a `Retry-After` may impose.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// The longest a cell waits in all between retries: a 429 storm ends the cell, not the run.
pub(crate) const MAX_TOTAL_WAIT: Duration = Duration::from_secs(60);

/// Statuses worth retrying: the server asks to come back later. Never 401/403/404.
pub(crate) fn is_retryable_status(status: u16) -> bool {
    status == 429 || status == 503
}

/// The wait before retry number `attempt` (1-based) after a retryable status:
/// the server's `Retry-After` (seconds or HTTP date) when given, capped; else backoff.
pub(crate) fn wait_after_status(headers: &HeaderMap, attempt: u32) -> Duration {
    let asked = headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|text| {
            let text = text.trim();
            text.parse::<u64>()
                .ok()
                .map(Duration::from_secs)
                .or_else(|| httpdate_wait(text))
        });
    asked.map_or_else(|| backoff(attempt), |d| d.min(MAX_RETRY_AFTER))
}

fn httpdate_wait(text: &str) -> Option<Duration> {
    let when = humantime::parse_rfc3339_weak(text)
        .ok()
        .or_else(|| parse_http_date(text))?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn parse_http_date(text: &str) -> Option<SystemTime> {
    let mut words = text.split_whitespace().skip(1);
    let day = words.next()?;
    let month = words.next()?;
    let year = words.next()?;
    let time = words.next()?;
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = months.iter().position(|m| *m == month)? + 1;
    humantime::parse_rfc3339(&format!("{year}-{month:02}-{day:0>2}T{time}Z")).ok()
}

/// Exponential backoff for connect errors and statuses without `Retry-After`.
pub(crate) fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(100u64 << attempt.clamp(1, 8))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_seconds_are_honoured_and_capped() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("2"));
        assert_eq!(wait_after_status(&headers, 1), Duration::from_secs(2));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("3600"));
        assert_eq!(wait_after_status(&headers, 1), MAX_RETRY_AFTER);
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"),
        );
        assert_eq!(wait_after_status(&headers, 1), Duration::ZERO);
        assert_eq!(
            wait_after_status(&HeaderMap::new(), 1),
            Duration::from_millis(200)
        );
    }

    #[test]
    fn only_429_and_503_are_retried() {
        assert!(is_retryable_status(429) && is_retryable_status(503));
        assert!(
            !is_retryable_status(401) && !is_retryable_status(403) && !is_retryable_status(404)
        );
    }
}
