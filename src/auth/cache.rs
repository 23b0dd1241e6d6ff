//! A per-principal credential cache: fetched once, shared by every cell even
//! when they start at once (single-flight), refreshed when it runs out.

use std::future::Future;
use std::time::Instant;

use tokio::sync::Mutex;

use super::AuthError;

/// A credential and when to fetch a new one.
#[derive(Clone, Debug)]
pub(crate) struct Cached {
    /// The credential (a token, a cookie value).
    pub value: String,
    /// When to fetch again; `None` keeps it for the whole run.
    pub refresh_at: Option<Instant>,
    /// When it stops working, if known: a failed refresh keeps it until then.
    pub expires_at: Option<Instant>,
}

/// How long after a failed refresh the next one is tried.
const RETRY_REFRESH_AFTER: std::time::Duration = std::time::Duration::from_secs(5);

/// Holds one principal's fetched credential, or the reason fetching it failed.
#[derive(Debug, Default)]
pub(crate) struct TokenCache {
    slot: Mutex<Option<Result<Cached, AuthError>>>,
}

impl TokenCache {
    /// An empty cache.
    pub(crate) fn new() -> TokenCache {
        TokenCache::default()
    }

    /// The cached credential, fetching it first if there is none or it is due.
    ///
    /// A failed fetch is kept too: a token endpoint that refuses is asked once
    /// per run, not once per cell.
    pub(crate) async fn get_or_fetch<F, Fut>(&self, fetch: F) -> Result<String, AuthError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Cached, AuthError>>,
    {
        // Holding the lock across the fetch is what makes concurrent cells wait
        // for one fetch instead of each starting their own.
        let mut slot = self.slot.lock().await;
        let due = match &*slot {
            None => true,
            Some(Ok(cached)) => cached.refresh_at.is_some_and(|at| Instant::now() >= at),
            Some(Err(_)) => false,
        };
        if due {
            let fresh = fetch().await;
            let still_valid = match &*slot {
                Some(Ok(old)) => old.expires_at.is_none_or(|at| Instant::now() < at),
                _ => false,
            };
            match (fresh, slot.as_mut()) {
                // A failed refresh keeps a token that still works, and tries again a little later.
                (Err(_), Some(Ok(old))) if still_valid => {
                    old.refresh_at = Some(Instant::now() + RETRY_REFRESH_AFTER);
                }
                (fresh, _) => *slot = Some(fresh),
            }
        }
        match &*slot {
            Some(Ok(cached)) => Ok(cached.value.clone()),
            Some(Err(e)) => Err(e.clone()),
            None => Err(AuthError("credential cache left empty".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn concurrent_callers_share_one_fetch_and_failures_stick() {
        let cache = Arc::new(TokenCache::new());
        let fetches = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let (cache, fetches) = (cache.clone(), fetches.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_fetch(|| async {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok(Cached {
                            value: "tok".into(),
                            refresh_at: None,
                            expires_at: None,
                        })
                    })
                    .await
            }));
        }
        for task in tasks {
            assert_eq!(task.await.unwrap(), Ok("tok".to_string()));
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);

        let failing = TokenCache::new();
        for _ in 0..3 {
            let got = failing
                .get_or_fetch(|| async {
                    fetches.fetch_add(1, Ordering::SeqCst);
                    Err(AuthError("down".into()))
                })
                .await;
            assert_eq!(got, Err(AuthError("down".into())));
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_failed_refresh_keeps_a_token_that_still_works() {
        let cache = TokenCache::new();
        let first = cache
            .get_or_fetch(|| async {
                Ok(Cached {
                    value: "old".into(),
                    refresh_at: Some(Instant::now()),
                    expires_at: Some(Instant::now() + Duration::from_secs(60)),
                })
            })
            .await;
        let second = cache
            .get_or_fetch(|| async { Err(AuthError("503".into())) })
            .await;
        assert_eq!(
            (first, second),
            (Ok("old".to_string()), Ok("old".to_string()))
        );
    }

    #[tokio::test]
    async fn refreshes_when_due() {
        let cache = TokenCache::new();
        let first = cache
            .get_or_fetch(|| async {
                Ok(Cached {
                    value: "a".into(),
                    refresh_at: Some(Instant::now()),
                    expires_at: None,
                })
            })
            .await;
        let second = cache
            .get_or_fetch(|| async {
                Ok(Cached {
                    value: "b".into(),
                    refresh_at: None,
                    expires_at: None,
                })
            })
            .await;
        assert_eq!(
            (first.unwrap(), second.unwrap()),
            ("a".to_string(), "b".to_string())
        );
    }
}
