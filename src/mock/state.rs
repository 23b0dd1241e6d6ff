//! A running mock's state: its definition and the access tokens it issued.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

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
    issued_count: AtomicU64,
}

impl MockState {
    /// Fresh state for `def`.
    pub fn new(def: MockDef) -> MockState {
        MockState {
            def,
            tokens: Mutex::new(HashMap::new()),
            issued_count: AtomicU64::new(0),
        }
    }

    /// A number no token issued before has had.
    pub fn next_token_number(&self) -> u64 {
        self.issued_count.fetch_add(1, Ordering::SeqCst)
    }
}
