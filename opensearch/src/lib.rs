//! # wafwatch-opensearch
//!
//! wafwatch's OpenSearch side:
//! - [`connection`]: the OpenSearch connection (URL, basic auth with the password from the
//!   environment or a file, SigV4 for Amazon OpenSearch Service and Serverless, TLS verification
//!   on by default) that every part of wafwatch uses;
//! - [`bootstrap`]: plan, apply, status and destroy of the index template, ISM policy, first index,
//!   security role, channels, detectors, monitors and dashboards, against a cluster through the
//!   `opensearch` crate, with the contract's validation rules checked before any request is sent.
//!
//! What it deploys comes from the validated configuration (`wafwatch-config`); the monitors'
//! messages from `wafwatch-message`.

pub mod bootstrap;
pub mod connection;
