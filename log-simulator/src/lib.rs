//! # wafwatch-log-simulator
//!
//! Realistic WAF traffic with labelled attacks: the EC2 cron job that feeds the pipeline, the load
//! generator that stresses it, and the ground truth that scores its detectors.
//!
//! ```
//! use wafwatch_log_simulator::sim::{Batch, OutputFormat, SimConfig, Simulation};
//! let mut sim = Simulation::new(SimConfig {
//!     start_ms: 1_767_225_600_000, duration_ms: Some(60_000), rate: 10.0, seed: 7,
//!     format: OutputFormat::Flat, scenarios: vec!["scanner@10s+20s".parse().unwrap()], anomaly_rate: 0.0,
//! });
//! let mut batch = Batch::default();
//! while sim.next_second(&mut batch).is_some() {}
//! assert!(batch.len() >= 600);
//! assert_eq!(sim.labels()[0].scenario, "scanner");
//! ```

pub mod batch;
pub mod model;
pub mod run;
pub mod scenario;
pub mod sim;
pub mod sinks;
