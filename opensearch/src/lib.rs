//! # wafwatch-opensearch
//!
//! What exists today: [`connection`], the OpenSearch connection (URL, basic auth with the password
//! from the environment or a file, SigV4 for Amazon OpenSearch Service and Serverless, TLS
//! verification on by default) that every part of wafwatch uses, starting with the simulator's
//! `_bulk` sink.
//!
//! **Not built yet** (issues 4 and 5): the index, detector, monitor and channel sections of
//! `wafwatch.toml`; the index template, ISM policy, anomaly detectors, alerting monitors,
//! notification channels and dashboards built from them; plan and apply against a cluster; and the
//! local engine that evaluates the same detectors and monitors offline with Random Cut Forest.

pub mod connection;
pub mod detection;
pub mod engine;
