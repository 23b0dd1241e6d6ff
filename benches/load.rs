//! Suite loading and planning at scale: a generated suite of 2000 endpoints ×
//! 10 principals (20,000 cells) parsed and validated from a string
//! (`suite::load_str`) and from a file (`suite::load`), planned
//! (`plan::plan`), and both together. Throughput is in cells. A second group
//! loads 500 to 4000 endpoints × 10 principals: cells per second should stay
//! flat as the suite grows, and a drop shows a superlinear step.

mod support;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use permatrix::plan::{Selection, plan};
use permatrix::suite::{LoadOptions, Suite, load, load_str};

const ENDPOINTS: usize = 2000;
const PRINCIPALS: usize = 10;
const CELLS: u64 = (ENDPOINTS * PRINCIPALS) as u64;

fn load_text(text: &str, options: &LoadOptions) -> Suite {
    load_str(Path::new("bench-matrix.yaml"), text, options).expect("the generated suite loads")
}

fn load_and_plan(c: &mut Criterion) {
    let yaml = support::matrix_yaml(ENDPOINTS, PRINCIPALS);
    let options = LoadOptions::default();
    let dir = tempfile::tempdir().expect("a temporary folder for the suite file");
    let file: PathBuf = dir.path().join("bench-matrix.yaml");
    std::fs::write(&file, &yaml).expect("the suite file is written");
    let files = [file];

    // Sanity: the shape is what the figures claim.
    let suites = vec![load_text(&yaml, &options)];
    let cells = plan(&suites, &Selection::default()).expect("the suite plans");
    assert_eq!(cells.len() as u64, CELLS, "2000 endpoints × 10 principals");

    let mut group = c.benchmark_group("suite_20k_cells");
    group.throughput(Throughput::Elements(CELLS));
    // A load takes tens of milliseconds: the same iteration count per sample.
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(6));

    group.bench_function("load_str", |b| {
        b.iter(|| load_text(black_box(&yaml), &options))
    });
    group.bench_function("load_file", |b| {
        b.iter(|| load(black_box(&files), &options).expect("the suite file loads"))
    });
    group.bench_function("plan", |b| {
        b.iter(|| plan(black_box(&suites), &Selection::default()).expect("the suite plans"))
    });
    let one_principal = Selection {
        filter: None,
        principals: vec!["p7".into()],
    };
    group.bench_function("plan_one_principal", |b| {
        b.iter(|| plan(black_box(&suites), &one_principal).expect("the suite plans"))
    });
    group.bench_function("load_and_plan", |b| {
        b.iter(|| {
            let suites = load(black_box(&files), &options).expect("the suite file loads");
            let cells = plan(&suites, &Selection::default()).expect("the suite plans");
            (suites, cells)
        })
    });
    group.finish();
}

fn load_scaling(c: &mut Criterion) {
    let options = LoadOptions::default();
    let mut group = c.benchmark_group("suite_load_scaling");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(4));
    for endpoints in [500, 1000, 2000, 4000] {
        let yaml = support::matrix_yaml(endpoints, PRINCIPALS);
        group.throughput(Throughput::Elements((endpoints * PRINCIPALS) as u64));
        group.bench_function(format!("load_str/{endpoints}x{PRINCIPALS}"), |b| {
            b.iter(|| load_text(black_box(&yaml), &options))
        });
    }
    group.finish();
}

criterion_group!(benches, load_and_plan, load_scaling);
criterion_main!(benches);
