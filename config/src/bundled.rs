//! The configurations compiled into every binary: the default `wafwatch.toml` and the presets.

/// The bundled default `wafwatch.toml`, compiled into every binary.
pub const BUNDLED_DEFAULT_TOML: &str = include_str!("../../wafwatch.toml");

/// `presets/aws-waf.toml`: the same columns read from the real AWS WAF log shape.
pub const AWS_WAF_PRESET_TOML: &str = include_str!("../../presets/aws-waf.toml");

/// `presets/text-logs.toml`: plain-text and CloudWatch Logs input with the text-log rules.
pub const TEXT_LOGS_PRESET_TOML: &str = include_str!("../../presets/text-logs.toml");
