//! Shared by the suite benchmarks: a generated permission matrix.

use std::fmt::Write as _;

/// Expectations cycled over the principals, so every form `expect:` takes is parsed.
const EXPECTS: [&str; 10] = [
    "200",
    "403",
    "404",
    "401",
    "\"2xx\"",
    "deny",
    "allow",
    "any",
    "[401, 403]",
    "403",
];

/// A suite of `endpoints` GET endpoints × `principals` bearer principals
/// (`p0`, `p1`, …), every cell with its own expectation.
pub fn matrix_yaml(endpoints: usize, principals: usize) -> String {
    let mut yaml = String::with_capacity(endpoints * (24 + principals * 12));
    yaml.push_str("suite: bench-matrix\n");
    yaml.push_str("target: { base_url: \"http://127.0.0.1:9\", concurrency: 8 }\n");
    yaml.push_str("principals:\n");
    for p in 0..principals {
        let _ = writeln!(
            yaml,
            "  p{p}: {{ auth: {{ bearer: {{ token: \"tok-{p}\" }} }} }}"
        );
    }
    yaml.push_str("endpoints:\n");
    for e in 0..endpoints {
        let _ = write!(yaml, "  - {{ request: GET /user/{e}, expect: {{ ");
        for p in 0..principals {
            let sep = if p + 1 == principals { "" } else { ", " };
            let _ = write!(yaml, "p{p}: {}{sep}", EXPECTS[(p + e) % EXPECTS.len()]);
        }
        yaml.push_str(" } }\n");
    }
    yaml
}
