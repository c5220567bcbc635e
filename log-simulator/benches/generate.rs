//! Backfill generation speed: records per second on one core, formatting included.
//!
//! Run: `cargo bench -p wafwatch-log-simulator --bench generate`. CI runs it once in test mode.
#![allow(missing_docs, clippy::unwrap_used)]

use std::io::Write;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use wafwatch_log_simulator::sim::{Batch, OutputFormat, SimConfig, Simulation};

const SECONDS: i64 = 100;
const RATE: f64 = 1_000.0;

fn config(format: OutputFormat) -> SimConfig {
    SimConfig {
        start_ms: 1_767_225_600_000,
        duration_ms: Some(SECONDS * 1000),
        rate: RATE,
        seed: 7,
        format,
        scenarios: vec!["block-storm@20s+30s".parse().unwrap(), "scanner@60s+20s".parse().unwrap()],
        anomaly_rate: 0.0,
    }
}

fn generate(c: &mut Criterion) {
    let mut g = c.benchmark_group("backfill");
    // Count the records one run makes, for the throughput figure.
    let mut probe = Simulation::new(config(OutputFormat::Flat));
    let mut b = Batch::default();
    while probe.next_second(&mut b).is_some() {}
    g.throughput(Throughput::Elements(probe.generated()));
    for (name, format) in [("flat-to-sink", OutputFormat::Flat), ("aws-waf-to-sink", OutputFormat::AwsWaf)] {
        g.bench_function(name, |bench| {
            // What the stdout sink does: format into a batch, write it out, reuse the memory.
            let mut sink = std::io::sink();
            let mut batch = Batch::default();
            bench.iter(|| {
                let mut sim = Simulation::new(config(format));
                while sim.next_second(&mut batch).is_some() {
                    if batch.data.len() >= 4 << 20 {
                        sink.write_all(&batch.data).unwrap();
                        batch.clear();
                    }
                }
                sink.write_all(&batch.data).unwrap();
                batch.clear();
                sim.generated()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, generate);
criterion_main!(benches);
