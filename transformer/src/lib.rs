//! # wafwatch-transformer
//!
//! The Firehose data-transformation Lambda of wafwatch, as a library: the configuration model of
//! the transformer's sections of `wafwatch.toml`, the borrowed field extraction, the one-hot
//! encoder, the rules, and the Firehose handler.
//!
//! Each record becomes its original JSON object with the indicator columns, `@timestamp` and the
//! rule tags spliced in before its closing brace: nothing else of the document is re-ordered or
//! re-encoded.
//!
//! ```
//! use wafwatch_transformer::{bundled_default, Disposition, Transformer};
//!
//! let t = Transformer::new(bundled_default().unwrap());
//! let mut out = Vec::new();
//! let record = br#"{"timestamp":1795262283412,"action":"ALLOW","httpSourceName":"CF","httpStatus":401,"country":"US","httpMethod":"POST","uri":"/login"}"#;
//! t.transform(record, 0, &mut out).unwrap();
//! let line = std::str::from_utf8(&out).unwrap();
//! assert!(line.starts_with(r#"{"timestamp":1795262283412,"action":"ALLOW""#));
//! assert!(line.contains(r#""B_httpstatus":1"#));
//! assert!(line.ends_with("\"rules\":[\"failed-login\"],\"severity\":\"high\"}\n"));
//! ```
//!
//! The Lambda entry point is [`firehose::handle`]; the `transformer` binary wires it to the Lambda
//! runtime, and [`cli`] holds the offline `invoke` and `encode` commands.

pub mod cli;
pub mod config;
pub mod expand;
mod extract;
pub mod firehose;
pub mod limits;
pub mod pointer;
pub mod record;
pub mod reingest;
mod rules;
mod text;
mod time;
mod values;

pub use config::{ConfigError, TransformConfig, TransformSections};
pub use extract::Value;
pub use firehose::{FirehoseEvent, FirehoseResponse, Outcome, handle};
pub use record::{Disposition, Facts, RecordError, Transformer};

/// The bundled default `wafwatch.toml`, compiled into every binary.
pub const BUNDLED_DEFAULT_TOML: &str = include_str!("../../wafwatch.toml");

/// `presets/aws-waf.toml`: the same columns read from the real AWS WAF log shape.
pub const AWS_WAF_PRESET_TOML: &str = include_str!("../../presets/aws-waf.toml");

/// The bundled default configuration's transformer sections, validated.
pub fn bundled_default() -> Result<TransformConfig, ConfigError> {
    TransformSections::from_whole_toml(BUNDLED_DEFAULT_TOML)
        .and_then(|s| s.validate(expand::Expansion::Environment))
        .map_err(|e| e.with_origin("bundled wafwatch.toml"))
}

/// The Lambda's configuration: `WAFWATCH_TRANSFORM_CONFIG` (compact JSON, already resolved) when
/// set, the bundled default otherwise.
pub fn lambda_config() -> Result<TransformConfig, ConfigError> {
    match std::env::var(limits::TRANSFORM_CONFIG_ENV) {
        Ok(json) if !json.trim().is_empty() => TransformSections::from_json(&json)
            .and_then(|s| s.validate(expand::Expansion::Literal))
            .map_err(|e| e.with_origin(limits::TRANSFORM_CONFIG_ENV)),
        _ => bundled_default(),
    }
}
