//! # wafwatch-opensearch
//!
//! wafwatch's OpenSearch side:
//! - [`connection`]: the OpenSearch connection (URL, basic auth with the password from the
//!   environment or a file, SigV4 for Amazon OpenSearch Service and Serverless, TLS verification
//!   on by default) that every part of wafwatch uses;
//! - the sections of `wafwatch.toml` this crate owns, their types and validation: [`index`]
//!   (`[index]`: alias, rollover, retention, field mapping), [`detection`] (`[[detector]]`,
//!   `[[monitor]]`) and [`channel`] (`[[channel]]`);
//! - [`message`]: the alert messages, one mustache template per monitor, rendered by the alerting
//!   plugin in OpenSearch and by `wafwatch run --deliver` locally;
//! - [`engine`]: the local engine that evaluates the same detectors and monitors offline with
//!   Random Cut Forest (`wafwatch run`).

pub mod channel;
pub mod connection;
pub mod detection;
pub mod engine;
pub mod index;
pub mod message;
