//! The lints over an observed matrix at scale: a generated suite of 20,000
//! endpoints × 10 principals (200,000 cells: GET, PUT, DELETE and PATCH on
//! 5,000 paths of one template, an anonymous principal, principals ordered
//! by their scopes), and the same at a quarter of the size, each with two
//! matrices: a consistent API's (few findings) and a random mix of 200, 401,
//! 403 and 404 (a finding in most cells). Throughput is in cells: it should
//! stay flat from 50,000 to 200,000 cells (the lints are linear in the cells).

use std::fmt::Write;
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use permatrix::lints::{LintInputs, Observed, run};
use permatrix::suite::{LoadOptions, Suite, load_str};

const PRINCIPALS: usize = 10;
const METHODS: [&str; 4] = ["GET", "PUT", "DELETE", "PATCH"];

/// A suite of `endpoints` endpoints, four methods on each path `/items/N`.
fn suite(endpoints: usize) -> Suite {
    let mut yaml =
        String::from("suite: bench-lints\ntarget: { base_url: \"http://127.0.0.1:9\" }\n");
    yaml.push_str("principals:\n  anonymous: { auth: none }\n");
    for p in 1..PRINCIPALS {
        // Readers below, writers above: the order the scope closures make.
        let held = if p <= 4 { "read" } else { "read, write" };
        let _ = writeln!(
            yaml,
            "  p{p}: {{ scopes: [{held}], auth: {{ bearer: {{ token: \"tok-{p}\" }} }} }}"
        );
    }
    yaml.push_str("endpoints:\n");
    for e in 0..endpoints {
        let method = METHODS[e % METHODS.len()];
        let _ = writeln!(
            yaml,
            "  - {{ request: {method} /items/{}, expect: {{ \"*\": any }} }}",
            e / METHODS.len()
        );
    }
    load_str(
        Path::new("bench-lints.yaml"),
        &yaml,
        &LoadOptions::default(),
    )
    .expect("the generated suite loads")
}

/// The statuses of a well-behaved API: the anonymous caller gets 401, the
/// lower half of the principals may read (403 on writes), the upper half may
/// do everything, and one object in 50 is gone (404 for all): few findings.
fn consistent(endpoints: usize) -> Vec<Option<u16>> {
    let mut cells = Vec::with_capacity(endpoints * PRINCIPALS);
    for e in 0..endpoints {
        let read = METHODS[e % METHODS.len()] == "GET";
        let gone = (e / METHODS.len()).is_multiple_of(50);
        for p in 0..PRINCIPALS {
            cells.push(Some(match (p, read, gone) {
                (0, _, _) => 401,
                (_, _, true) => 404,
                (1..=4, false, _) => 403,
                _ => 200,
            }));
        }
    }
    cells
}

/// A deterministic status per cell, about a quarter of each: a matrix full
/// of findings (the worst case: every one is built and kept).
fn statuses(cells: usize) -> Vec<Option<u16>> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..cells)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            Some([200, 401, 403, 404][(state % 4) as usize])
        })
        .collect()
}

fn lints(c: &mut Criterion) {
    let mut group = c.benchmark_group("lints");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    for endpoints in [5_000, 20_000] {
        let suite = suite(endpoints);
        let cells = endpoints * PRINCIPALS;
        for (name, statuses) in [
            ("consistent", consistent(endpoints)),
            ("random", statuses(cells)),
        ] {
            // Sanity: the random mix makes findings by the thousand, the
            // consistent one a few (the gone objects' existence is no oracle).
            let observed = Observed::from_statuses(&suite, statuses.clone());
            let found = run(&observed, LintInputs::default()).len();
            match name {
                "random" => assert!(found > cells / 10, "{name}: {found} findings"),
                _ => assert!(found < cells / 100, "{name}: {found} findings"),
            }
            group.throughput(Throughput::Elements(cells as u64));
            group.bench_function(format!("{name}_{cells}_cells"), |b| {
                b.iter(|| {
                    let observed = Observed::from_statuses(&suite, black_box(statuses.clone()));
                    run(&observed, LintInputs::default()).len()
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, lints);
criterion_main!(benches);
