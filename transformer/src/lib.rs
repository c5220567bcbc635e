//! # wafwatch-transformer
//!
//! The Firehose data-transformation Lambda of wafwatch, as a library: the record function (the
//! borrowed field extraction, the one-hot encoder, the rules) compiled from the validated
//! transformer sections of `wafwatch-config`, and the Firehose handler.
//!
//! Each record becomes its original JSON object with the indicator columns, `@timestamp` and the
//! rule tags spliced in before its closing brace: nothing else of the document is re-ordered or
//! re-encoded.
//!
//! ```
//! use wafwatch_config::Transform;
//! use wafwatch_transformer::{Disposition, Transformer};
//!
//! let t = Transformer::new(Transform::bundled().unwrap()).unwrap();
//! let mut out = Vec::new();
//! let record = br#"{"timestamp":1795262283412,"action":"ALLOW","httpSourceName":"CF","httpStatus":401,"country":"US","httpMethod":"POST","uri":"/login"}"#;
//! t.transform(record, 0, &mut out).unwrap();
//! let line = std::str::from_utf8(&out).unwrap();
//! assert!(line.starts_with(r#"{"timestamp":1795262283412,"action":"ALLOW""#));
//! assert!(line.contains(r#""B_httpstatus":1"#));
//! assert!(line.ends_with("\"rules\":[\"failed-login\"],\"severity\":\"high\"}\n"));
//! ```
//!
//! Where to start: [`Transformer`] ([`record`]) is the record function; [`firehose::handle`] is the
//! Lambda entry point, which the `transformer` binary wires to the Lambda runtime; [`reingest`]
//! puts records back into the stream; [`cli`] holds the offline `invoke` and `encode` commands.
//! The crate stays lean because the Lambda links it: no OpenSearch client, no forest.

pub mod cli;
mod columns;
mod compile;
mod extract;
pub mod firehose;
pub mod limits;
pub mod record;
pub mod reingest;
mod rules;
mod text;
mod time;
mod values;

pub use extract::Value;
pub use firehose::{FirehoseEvent, FirehoseResponse, Outcome, RawResponse, handle, handle_raw};
pub use record::{Disposition, Facts, RecordError, Transformer};
