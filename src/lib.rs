//! # wafwatch
//!
//! The `wafwatch` command line: the whole-file configuration ([`config`]), and the commands built on
//! the workspace's libraries. See the README for the tour; `wafwatch --help` for the commands.
//!
//! The libraries do the work:
//! - `wafwatch-transformer`: the Firehose transformation (configuration model, encoder, rules,
//!   Lambda handler);
//! - `wafwatch-log-simulator`: the traffic simulator behind `wafwatch simulate`;
//! - `wafwatch-opensearch`: the OpenSearch connection today (see its docs).

pub mod bootstrap;
pub mod check;
pub mod config;
pub mod deliver;
pub mod exact;
pub mod report;
pub mod run;
pub mod samples;
