//! # wafwatch
//!
//! The `wafwatch` command line, built on the workspace's libraries. See the README for the tour,
//! `ARCHITECTURE.md` for the map, and `wafwatch --help` for the commands.
//!
//! The libraries do the work:
//! - `wafwatch-config`: the whole `wafwatch.toml` model;
//! - `wafwatch-transformer`: the Firehose transformation (the record function, the Lambda handler);
//! - `wafwatch-engine`: the local twin of OpenSearch detection and alerting;
//! - `wafwatch-message`: what an alert says;
//! - `wafwatch-opensearch`: the connection and the bootstrap;
//! - `wafwatch-log-simulator`: the traffic simulator behind `wafwatch simulate`.

pub mod bootstrap;
pub mod check;
pub mod cli;
pub mod config;
pub mod run;
pub mod simulate;
pub mod stdout;
pub mod transform;
pub mod tune;
