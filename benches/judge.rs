//! The judge: `judge::judge(expected, result)` over many cells. One set mixes
//! every expectation form with responses, errors and skips; the other judges
//! the 20,000 planned cells of the generated suite (2000 endpoints × 10
//! principals) with each cell's resolved expectation, the way a run does.
//! Throughput is in cells, so the figure reads as time per cell.

mod support;

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use permatrix::internals::judge;
use permatrix::outcome::{CellResult, ErrorKind, Observation, Verdict};
use permatrix::plan::{Selection, plan};
use permatrix::suite::{Expectation, LoadOptions, load_str};

const MIXED_CELLS: usize = 10_000;

fn responded(status: u16) -> CellResult {
    CellResult::Responded(Observation {
        status,
        ..Observation::default()
    })
}

/// Statuses a run sees, most of them responses.
fn result_for(i: usize) -> CellResult {
    const STATUSES: [u16; 8] = [200, 403, 401, 404, 204, 500, 302, 429];
    match i % 20 {
        18 => CellResult::Error {
            kind: ErrorKind::Timeout,
            message: "no response within 10s".into(),
        },
        19 => CellResult::Skipped {
            reason: "mutation against a real target".into(),
        },
        n => responded(STATUSES[n % STATUSES.len()]),
    }
}

fn expectation_for(i: usize) -> Expectation {
    match i % 7 {
        0 => Expectation::Status(200),
        1 => Expectation::Status(403),
        2 => Expectation::Class(2),
        3 => Expectation::Allow,
        4 => Expectation::Deny,
        5 => Expectation::Any,
        _ => Expectation::OneOf(vec![
            Expectation::Status(401),
            Expectation::Status(404),
            Expectation::Class(4),
        ]),
    }
}

/// Verdict counts, so nothing is optimised away and the sanity check has a figure.
fn tally(verdicts: impl Iterator<Item = Verdict>) -> [usize; 5] {
    let mut counts = [0; 5];
    for verdict in verdicts {
        let slot = match verdict {
            Verdict::Passed => 0,
            Verdict::Failed => 1,
            Verdict::Error => 2,
            Verdict::Skipped => 3,
            Verdict::CredentialsRejected
            | Verdict::AcceptedTampered
            | Verdict::DeniedButApplied => 4,
        };
        counts[slot] += 1;
    }
    counts
}

fn judge_cells(c: &mut Criterion) {
    let mixed: Vec<(Expectation, CellResult)> = (0..MIXED_CELLS)
        .map(|i| (expectation_for(i), result_for(i)))
        .collect();

    let yaml = support::matrix_yaml(2000, 10);
    let suites = vec![
        load_str(
            Path::new("bench-matrix.yaml"),
            &yaml,
            &LoadOptions::default(),
        )
        .expect("the generated suite loads"),
    ];
    let cells = plan(&suites, &Selection::default()).expect("the suite plans");
    let results: Vec<CellResult> = (0..cells.len()).map(result_for).collect();
    let planned: Vec<_> = cells.iter().zip(&results).collect();

    let counts = tally(planned.iter().map(|(cell, result)| {
        judge(
            &suites[cell.suite].endpoints[cell.endpoint].resolved[cell.principal],
            result,
        )
    }));
    assert!(
        counts[0] > 0 && counts[1] > 0,
        "the planned cells both pass and fail: {counts:?}"
    );

    let mut group = c.benchmark_group("judge");
    group.throughput(Throughput::Elements(MIXED_CELLS as u64));
    group.bench_function("mixed_10k_cells", |b| {
        b.iter(|| tally(black_box(&mixed).iter().map(|(e, r)| judge(e, r))))
    });
    group.throughput(Throughput::Elements(planned.len() as u64));
    group.bench_function("planned_20k_cells", |b| {
        b.iter(|| {
            tally(black_box(&planned).iter().map(|(cell, result)| {
                judge(
                    &suites[cell.suite].endpoints[cell.endpoint].resolved[cell.principal],
                    result,
                )
            }))
        })
    });
    group.finish();
}

criterion_group!(benches, judge_cells);
criterion_main!(benches);
