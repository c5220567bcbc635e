//! Names on the wire that several parts of wafwatch must agree on: the members the transformer adds
//! to every document, and how the Lambda receives its configuration.
//!
//! The index mapping, the detectors, the monitors and the local engine all read these members, so
//! they are spelled here once.

/// The document member that receives the normalised event time.
pub const TIMESTAMP_MEMBER: &str = "@timestamp";

/// The document member that receives the names of the rules a record matched.
pub const RULES_MEMBER: &str = "rules";

/// The document member that receives the highest severity among the matched rules.
pub const SEVERITY_MEMBER: &str = "severity";

/// The members the transformer writes itself; no column may take one of these names.
pub const ADDED_MEMBERS: [&str; 3] = [TIMESTAMP_MEMBER, RULES_MEMBER, SEVERITY_MEMBER];

/// The environment variable that carries the transformer's configuration into the Lambda, as
/// compact JSON produced by `wafwatch config lambda-env`.
pub const TRANSFORM_CONFIG_ENV: &str = "WAFWATCH_TRANSFORM_CONFIG";

/// Lambda allows 4 KB for all of a function's environment variables together.
///
/// <https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html>
pub const LAMBDA_ENV_TOTAL_BYTES: usize = 4 * 1024;
