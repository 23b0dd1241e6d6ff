//! The Connect canonicalizer on any method, path, query and context path:
//! no panic, and the jwt parameter never changes the hash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use permatrix::internals::{canonical_request, qsh};

fuzz_target!(|input: (&str, &str, Option<&str>, &str)| {
    let (method, path, query, context) = input;
    let canonical = canonical_request(method, path, query, context);
    let with_jwt = match query {
        Some(q) if !q.is_empty() => format!("{q}&jwt=abc"),
        _ => "jwt=abc".to_string(),
    };
    assert_eq!(canonical, canonical_request(method, path, Some(&with_jwt), context));
    let _ = qsh(&canonical);
});
