//! # wafwatch-opensearch
//!
//! wafwatch's OpenSearch side:
//! - [`connection`]: the OpenSearch connection (URL, basic auth with the password from the
//!   environment or a file, SigV4 for Amazon OpenSearch Service and Serverless, TLS verification
//!   on by default) that every part of wafwatch uses;
//! - the sections of `wafwatch.toml` this crate owns, their types and validation: [`index`]
//!   (`[index]`: alias, rollover, retention, field mapping), [`detection`] (`[[detector]]`,
//!   `[[monitor]]`) and [`channel`] (`[[channel]]`);
//! - [`bootstrap`]: plan, apply, status and destroy of the index template, ISM policy, first index,
//!   security role, channels, detectors, monitors and dashboards, against a cluster through the
//!   `opensearch` crate, with the contract's validation rules checked before any request is sent;
//! - [`message`]: the alert messages, one mustache template per monitor, rendered by the alerting
//!   plugin in OpenSearch and by `wafwatch run --deliver` locally;
//! - [`engine`]: the local engine that evaluates the same detectors and monitors offline with
//!   Random Cut Forest (`wafwatch run`).

pub mod bootstrap;
pub mod channel;
pub mod connection;
pub mod detection;
pub mod engine;
pub mod index;
pub mod message;
