//! A running mock's state: its definition, the access tokens it issued and its issues.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use super::issues::IssueStore;
use crate::atlassian::scope::ConnectScope;
use crate::suite::mock_def::MockDef;

/// An access token the mock issued.
#[derive(Clone, Debug)]
pub struct Issued {
    /// The app it was issued to.
    pub app: usize,
    /// The user it acts as.
    pub user: usize,
    /// Its scopes.
    pub scopes: Vec<ConnectScope>,
    /// When it stops working.
    pub expires_at: Instant,
}

/// A running mock's state.
pub struct MockState {
    /// The definition it serves.
    pub def: MockDef,
    /// Access tokens issued so far.
    pub tokens: Mutex<HashMap<String, Issued>>,
    /// Its issues, seeded from the definition's `issues:` when it starts.
    pub issues: Mutex<IssueStore>,
    issued_count: AtomicU64,
}

impl MockState {
    /// Fresh state for `def`.
    pub fn new(def: MockDef) -> MockState {
        let issues = Mutex::new(IssueStore::seeded(def.issues.as_ref()));
        MockState {
            def,
            tokens: Mutex::new(HashMap::new()),
            issues,
            issued_count: AtomicU64::new(0),
        }
    }

    /// A number no token issued before has had.
    pub fn next_token_number(&self) -> u64 {
        self.issued_count.fetch_add(1, Ordering::SeqCst)
    }
}
