//! The mock's credential verification on any request line and Authorization
//! header: an answer (a caller or a refusal), never a panic.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use permatrix::internals::{MockState, identify};

const DEF: &str = "mock: fuzz\nusers:\n  u: { email: u@x, api_token: token-123456, account_id: acc-1, groups: [g] }\napps:\n  app: { shared_secret: secret-123456, oauth_client_id: client-1, scopes: [READ, ACT_AS_USER] }\nroutes:\n  - { route: GET /x, scope: READ }\n";

fn state() -> &'static MockState {
    static STATE: OnceLock<MockState> = OnceLock::new();
    STATE.get_or_init(|| {
        let def = permatrix::suite::mock_def::load_str(std::path::Path::new("fuzz.yaml"), DEF).expect("valid mock");
        MockState::new(def)
    })
}

fuzz_target!(|input: (&str, &str, Option<&str>, Option<&str>)| {
    let (method, path, query, authorization) = input;
    let _ = identify(state(), method, path, query, authorization);
});
