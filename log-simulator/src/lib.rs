//! # wafwatch-log-simulator
//!
//! Realistic WAF traffic with labelled attacks: the EC2 cron job that feeds the pipeline, the load
//! generator that stresses it, and the ground truth that scores its detectors. The binary
//! `log-simulator` and the root CLI's `wafwatch simulate` are the same command line
//! ([`run::main`]); `wafwatch run` drives the [`Simulation`](sim::Simulation) directly.
//!
//! ## Where to start
//!
//! - [`sim`]: the generator. [`Simulation::next_second`](sim::Simulation::next_second) writes one
//!   simulated second of records into a [`Batch`](batch::Batch), reproducibly from
//!   [`SimConfig::seed`](sim::SimConfig::seed). Inside: the traffic model (`sim/traffic.rs`),
//!   what each scenario does to it (`sim/apply.rs`) and the two record shapes, flat and AWS WAF
//!   (`sim/record.rs`).
//! - [`sim::inject`]: the same scenarios as records to merge into a recorded input, in its shape,
//!   at its rate, reusing its requests ([`sim::observe::Observed`] reads what the input says of
//!   itself), with their labels: `wafwatch run --input FILE --inject SPEC`.
//! - [`scenario`]: the named attacks and outages, and the `NAME[@OFFSET][+DURATION][xINTENSITY]`
//!   syntax of `--scenario`. [`model`]: every number and table of the traffic model.
//! - [`sinks`]: where records go, one file per sink (stdout, files, S3, Firehose, OpenSearch
//!   `_bulk`), each reporting what it delivered and what it could not.
//! - [`run`]: the command line: arguments, the generate mode (backfill, cron one-shot, real
//!   time), `replay`, the summary.
//!
//! Adding a scenario: a [`ScenarioKind`](scenario::ScenarioKind) variant with its name,
//! description and columns, then the three matches of `sim/apply.rs` (the compiler points at
//! them). Adding a member to a record shape: one line in its function in `sim/record.rs`.
//!
//! ## Example
//!
//! Ten minutes of traffic at 10 requests per second with a scanner sweep, and its ground truth:
//!
//! ```
//! use wafwatch_log_simulator::sim::{Batch, OutputFormat, SimConfig, Simulation};
//! let mut sim = Simulation::new(SimConfig {
//!     start_ms: 1_767_225_600_000, // 2026-01-01T00:00:00Z
//!     duration_ms: Some(600_000),
//!     rate: 10.0,
//!     seed: 7,
//!     format: OutputFormat::Flat,
//!     scenarios: vec!["scanner@2m+5m".parse().unwrap()],
//!     anomaly_rate: 0.0,
//! });
//! let mut batch = Batch::default();
//! while sim.next_second(&mut batch).is_some() {}
//! assert!(batch.len() >= 6_000);
//! assert!(batch.line(0).starts_with(b"{\"timestamp\":1767225600"));
//! let labels = sim.labels();
//! assert_eq!((labels[0].scenario, labels[0].start.as_str()), ("scanner", "2026-01-01T00:02:00Z"));
//! ```

pub mod batch;
pub mod model;
pub mod run;
pub mod scenario;
pub mod sim;
pub mod sinks;
pub mod webacl;
