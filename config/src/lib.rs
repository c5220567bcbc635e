//! # wafwatch-config
//!
//! The whole `wafwatch.toml` model: one file is the single source of truth for the transformer,
//! the index mapping, the detectors, the monitors, the channels and the local run, and this crate
//! is the only place that reads it.
//!
//! Where to start:
//! - [`file`](mod@file): finding the file, parsing it ([`file::WafwatchFile`] refuses unknown keys) and
//!   validating it into a [`Config`], with what crosses sections checked once, there;
//! - one module per concern: [`transform`] (`[source]`, `[[encode]]`, `[[rule]]`, `[delivery]`),
//!   [`index`] (`[index]`, `[access]`), [`detection`] (`[[detector]]`, `[[monitor]]`),
//!   [`channel`] (`[[channel]]`). Each has the sections as written and the validated types, and
//!   validates with small named checks that report every problem with its key ([`Problems`]);
//! - what they share: [`expand`] (`${VAR}`), [`pointer`](mod@pointer) (JSON pointers and mapped fields),
//!   [`severity`], [`wire`] (member names every part agrees on), [`names`] (the plugins' naming
//!   rules), [`duration`], and [`hash`] (the workspace's one stable hash).
//!
//! The crate is light (serde, toml, regex) because the Lambda links it: the Lambda never reads
//! the whole file, only the transformer's sections as compact JSON
//! ([`Transform::for_lambda`]).
//!
//! ```
//! use wafwatch_config::file::{parse, Origin, BUNDLED_DEFAULT_TOML};
//! let config = parse(BUNDLED_DEFAULT_TOML, Origin::Bundled).unwrap().config().unwrap();
//! assert_eq!(config.transform.column_names().count(), 11);
//! assert_eq!(config.index.alias, "waf-logs");
//! let blocked = config.transform.column("B_action").unwrap();
//! assert_eq!(config.transform.columns()[blocked.index()].name, "B_action");
//! ```

pub mod bundled;
pub mod channel;
pub mod detection;
pub mod duration;
mod error;
pub mod expand;
pub mod file;
pub mod hash;
pub mod index;
pub mod names;
pub mod pointer;
pub mod severity;
pub mod transform;
pub mod wire;

pub use error::{ConfigError, ConfigProblem, Problems};
pub use file::Config;
pub use severity::Severity;
pub use transform::Transform;
