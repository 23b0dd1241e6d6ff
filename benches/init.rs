//! `permatrix init --openapi` at scale: a document turned into a suite
//! (parse, walk, draft, write) against serde_json parsing the same text
//! alone, the floor any JSON-reading tool pays. The document is Jira's
//! platform API (1.7 MB, 468 operations, in the repository) unless
//! `PERMATRIX_BENCH_OPENAPI` names another, e.g. GitHub's REST API
//! description (13 MB, 1,000+ operations: `bench/init.sh` fetches it).
//! The ratio of the two medians is the figure to watch; memory is measured
//! by `bench/init.sh` (peak RSS of the binary against the parse alone).

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};

fn document() -> (PathBuf, String) {
    let path = std::env::var_os("PERMATRIX_BENCH_OPENAPI")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/openapi/jira-platform.v3.json")
        });
    let text = std::fs::read_to_string(&path).expect("the document is readable");
    (path, text)
}

fn init_against_parse(c: &mut Criterion) {
    let (path, text) = document();
    // Sanity: the document makes a suite.
    let suite = permatrix::import::init::openapi_text(&path, &text).expect("a suite");
    let endpoints = suite.matches("\n  - name: ").count();
    eprintln!(
        "{}: {} bytes, {endpoints} endpoints",
        path.display(),
        text.len()
    );

    let mut group = c.benchmark_group("init_openapi");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("serde_json_parse_only", |b| {
        b.iter(|| black_box(serde_json::from_str::<serde_json::Value>(black_box(&text))))
    });
    group.bench_function("init_suite_text", |b| {
        b.iter(|| {
            black_box(permatrix::import::init::openapi_text(
                &path,
                black_box(&text),
            ))
        })
    });
    group.finish();
}

criterion_group!(benches, init_against_parse);
criterion_main!(benches);
