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
    match asked {
        Some(wait) if !wait.is_zero() => wait.min(MAX_RETRY_AFTER),
        // `Retry-After: 0` asks for now; a date already past is no hint at all.
        Some(_) if explicit_zero(headers) => Duration::ZERO,
        _ => backoff(attempt),
    }
}

/// Whether `Retry-After` says `0` (seconds), not a date gone by.
fn explicit_zero(headers: &HeaderMap) -> bool {
    headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|text| text.trim().parse::<u64>() == Ok(0))
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

/// Exponential backoff for connect errors and statuses without a usable
/// `Retry-After`: 200 ms doubling, each wait drawn between half and the whole
/// of it, so cells refused together do not come back together.
pub(crate) fn backoff(attempt: u32) -> Duration {
    use std::hash::{BuildHasher, RandomState};
    let full = 100u64 << attempt.clamp(1, 8);
    // A fresh RandomState is seeded anew each time: a cheap source of jitter.
    let draw = RandomState::new().hash_one(attempt) % (full / 2 + 1);
    Duration::from_millis(full / 2 + draw)
}

/// A target's run-wide allowance of retries after 429 and 503: a server that
/// keeps refusing stops being asked again once it is spent, rather than every
/// cell waiting out its own retries.
#[derive(Debug)]
pub(crate) struct RetryBudget {
    remaining: std::sync::atomic::AtomicU32,
    spent_noticed: std::sync::atomic::AtomicBool,
    /// The whole allowance, for the notice.
    pub(crate) total: u32,
}

impl RetryBudget {
    /// 20 retries, plus one per 10 cells sent to the target.
    pub(crate) fn for_cells(cells: usize) -> RetryBudget {
        let total = 20 + u32::try_from(cells / 10).unwrap_or(u32::MAX - 20);
        RetryBudget {
            remaining: std::sync::atomic::AtomicU32::new(total),
            spent_noticed: std::sync::atomic::AtomicBool::new(false),
            total,
        }
    }

    /// Takes one retry; false when the budget is spent.
    pub(crate) fn take(&self) -> bool {
        use std::sync::atomic::Ordering;
        self.remaining
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
    }

    /// True the first time it is asked after the budget ran out: the one
    /// moment to say so.
    pub(crate) fn first_refusal(&self) -> bool {
        !self
            .spent_noticed
            .swap(true, std::sync::atomic::Ordering::Relaxed)
    }
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
        // A date already past is no hint: backoff, never an immediate retry.
        assert!(wait_after_status(&headers, 1) >= Duration::from_millis(100));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("0"));
        assert_eq!(wait_after_status(&headers, 1), Duration::ZERO);
        let backoff = wait_after_status(&HeaderMap::new(), 1);
        assert!(
            (Duration::from_millis(100)..=Duration::from_millis(200)).contains(&backoff),
            "{backoff:?}"
        );
    }

    #[test]
    fn backoff_doubles_with_jitter_and_the_budget_runs_out_once() {
        for attempt in 1..=6 {
            let full = Duration::from_millis(100 << attempt);
            let waits: Vec<Duration> = (0..20).map(|_| backoff(attempt)).collect();
            assert!(
                waits.iter().all(|w| *w >= full / 2 && *w <= full),
                "{waits:?}"
            );
        }
        let budget = RetryBudget::for_cells(30);
        assert_eq!(budget.total, 23);
        assert_eq!((0..30).filter(|_| budget.take()).count(), 23);
        assert!(budget.first_refusal());
        assert!(!budget.first_refusal());
    }

    #[test]
    fn only_429_and_503_are_retried() {
        assert!(is_retryable_status(429) && is_retryable_status(503));
        assert!(
            !is_retryable_status(401) && !is_retryable_status(403) && !is_retryable_status(404)
        );
    }
}
