//! The whole `wafwatch.toml`: where it is found, how its sections compose, and what crosses them.
//!
//! Each crate owns the types and validation of its own sections; this module composes them into
//! the whole file, refuses unknown keys (a typo fails at start, with the file and the key), and will
//! check what crosses sections as they arrive (a detector's column exists, a monitor's channel
//! exists).

use std::path::{Path, PathBuf};

use serde::Deserialize;
use wafwatch_transformer::config::{DeliverySection, EncodeSection, RuleSection, SourceSection};
use wafwatch_transformer::expand::Expansion;
use wafwatch_transformer::{BUNDLED_DEFAULT_TOML, TransformConfig, TransformSections};

/// The environment variable naming the configuration file when `--config` is not given.
pub const CONFIG_ENV: &str = "WAFWATCH_CONFIG";

/// The file looked for in the working directory.
pub const LOCAL_FILE: &str = "wafwatch.toml";

/// Where the configuration came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// `--config FILE`.
    Flag(PathBuf),
    /// `$WAFWATCH_CONFIG`.
    Env(PathBuf),
    /// `./wafwatch.toml`.
    WorkingDir(PathBuf),
    /// The default compiled into the binary.
    Bundled,
}

impl Origin {
    /// How the origin is named in messages: the file path, or "bundled wafwatch.toml".
    pub fn describe(&self) -> String {
        match self {
            Origin::Flag(p) | Origin::Env(p) | Origin::WorkingDir(p) => p.display().to_string(),
            Origin::Bundled => "bundled wafwatch.toml".to_owned(),
        }
    }

    /// Why this file was chosen, for `wafwatch check`.
    pub fn reason(&self) -> &'static str {
        match self {
            Origin::Flag(_) => "--config",
            Origin::Env(_) => "$WAFWATCH_CONFIG",
            Origin::WorkingDir(_) => "./wafwatch.toml",
            Origin::Bundled => "no --config, no $WAFWATCH_CONFIG, no ./wafwatch.toml",
        }
    }
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read configuration {path} (chosen by {reason}): {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why it was chosen.
        reason: &'static str,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Not valid TOML, or a key that does not belong.
    #[error("{origin}: {message}")]
    Parse {
        /// The file.
        origin: String,
        /// The TOML error, with line, column and the key.
        message: String,
    },
    /// A section failed validation.
    #[error(transparent)]
    Invalid(#[from] wafwatch_transformer::ConfigError),
}

/// The whole file, as written. Unknown keys anywhere are refused.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WafwatchFile {
    /// `[source]` (transformer).
    #[serde(default)]
    pub source: SourceSection,
    /// `[[encode]]` (transformer).
    #[serde(default)]
    pub encode: Vec<EncodeSection>,
    /// `[[rule]]` (transformer).
    #[serde(default)]
    pub rule: Vec<RuleSection>,
    /// `[delivery]` (transformer).
    #[serde(default)]
    pub delivery: DeliverySection,
    /// `[[detector]]` (opensearch).
    #[serde(default)]
    pub detector: Vec<wafwatch_opensearch::detection::DetectorSection>,
    /// `[[monitor]]` (opensearch).
    #[serde(default)]
    pub monitor: Vec<wafwatch_opensearch::detection::MonitorSection>,
    /// `[index]` (opensearch).
    #[serde(default)]
    pub index: wafwatch_opensearch::index::IndexSection,
    /// `[[channel]]` (opensearch).
    #[serde(default)]
    pub channel: Vec<wafwatch_opensearch::channel::ChannelSection>,
    /// `[access]` (opensearch).
    #[serde(default)]
    pub access: wafwatch_opensearch::index::AccessSection,
}

impl WafwatchFile {
    /// The transformer's sections.
    pub fn transform_sections(&self) -> TransformSections {
        TransformSections {
            source: self.source.clone(),
            encode: self.encode.clone(),
            rule: self.rule.clone(),
            delivery: self.delivery.clone(),
        }
    }
}

/// A loaded configuration: the file as written and where it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Where it came from.
    pub origin: Origin,
    /// The parsed file.
    pub file: WafwatchFile,
}

/// Everything the file defines, validated: what the commands run on.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// The transformer's sections, compiled.
    pub transform: TransformConfig,
    /// `[index]`.
    pub index: wafwatch_opensearch::index::Index,
    /// `[[channel]]`, values not yet resolved.
    pub channels: Vec<wafwatch_opensearch::channel::Channel>,
    /// `[[detector]]` and `[[monitor]]`.
    pub detection: wafwatch_opensearch::detection::Detection,
    /// `[access]`, not yet expanded.
    pub access: wafwatch_opensearch::index::AccessSection,
}

impl Pipeline {
    /// What the bootstrap builds from. `mode` says how `${VAR}`s and secrets are read: live (apply,
    /// status, destroy) or as placeholders (plan, which must not need them).
    pub fn bootstrap_spec(
        &self,
        mode: wafwatch_opensearch::channel::Resolve,
        env: &dyn Fn(&str) -> Option<String>,
        dashboards: wafwatch_opensearch::bootstrap::Dashboards,
    ) -> Result<wafwatch_opensearch::bootstrap::Spec, String> {
        use wafwatch_opensearch::channel::expand;
        let channels = self
            .channels
            .iter()
            .map(|c| c.resolve_with(mode, env).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        let arn = match &self.access.firehose_role_arn {
            Some(raw) => expand(raw, mode, env).map_err(|e| format!("`access.firehose_role_arn`: {e}"))?,
            None => String::new(),
        };
        if !arn.is_empty() && !arn.starts_with("{{") && !wafwatch_opensearch::channel::valid_iam_role_arn(&arn) {
            return Err(format!(
                "`access.firehose_role_arn`: `{arn}` is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)"
            ));
        }
        Ok(wafwatch_opensearch::bootstrap::Spec {
            index: self.index.clone(),
            detection: self.detection.clone(),
            channels,
            rules: self
                .transform
                .resolved()
                .rule
                .iter()
                .map(|r| (r.name.clone(), r.severity, r.description.clone().unwrap_or_default()))
                .collect(),
            firehose_access: (!arn.is_empty()).then(|| (self.access.role.clone(), arn)),
            dashboards,
        })
    }

    /// The transformer for a local run: the configured one, also reading the fields the detectors
    /// and monitors need (category fields, feature fields, group-by fields).
    pub fn local_transformer(&self) -> wafwatch_transformer::Transformer {
        let captures: Vec<wafwatch_transformer::pointer::Pointer> = self
            .detection
            .captures
            .iter()
            .filter_map(|p| wafwatch_transformer::pointer::Pointer::parse(p).ok())
            .collect();
        wafwatch_transformer::Transformer::with_captures(self.transform.clone(), &captures)
    }
}

impl Loaded {
    /// Validates the whole file: the transformer's sections first (the others refer to their
    /// columns and rules), then `[index]`, `[[channel]]`, `[[detector]]` and `[[monitor]]`, with
    /// every problem of those reported at once and what crosses sections checked: a feature's
    /// column exists, a category field is mapped as keyword or ip, a monitor's detector, rule and
    /// channels exist.
    pub fn pipeline(&self) -> Result<Pipeline, LoadError> {
        use wafwatch_opensearch::{channel, detection, index};
        let transform = self.transform_config()?;
        let resolved = transform.resolved();
        let columns: Vec<&str> = transform.column_names().collect();
        let rules: Vec<(&str, wafwatch_transformer::config::Severity)> =
            resolved.rule.iter().map(|r| (r.name.as_str(), r.severity)).collect();
        let encode_fields: Vec<&str> = resolved.encode.iter().map(|e| e.field.as_str()).collect();
        let mut problems = Vec::new();
        let index =
            index::validate(&self.file.index, &encode_fields, &columns).map_err(|e| problems.extend(e.problems)).ok();
        let channels =
            channel::validate(&self.file.channel).map_err(|e| problems.extend(e.problems)).unwrap_or_default();
        let channel_ids: Vec<&str> = self.file.channel.iter().map(|c| c.id.as_str()).collect();
        let field_type = |p: &str| index.as_ref().and_then(|i| i.field_type(p));
        let ctx =
            detection::Context { columns: &columns, rules: &rules, channels: &channel_ids, field_type: &field_type };
        let detection = detection::validate(&self.file.detector, &self.file.monitor, &ctx)
            .map_err(|e| problems.extend(e.problems))
            .ok();
        match (index, detection) {
            (Some(index), Some(detection)) if problems.is_empty() => {
                Ok(Pipeline { transform, index, channels, detection, access: self.file.access.clone() })
            }
            _ => Err(LoadError::Invalid(
                wafwatch_transformer::ConfigError { origin: None, problems }.with_origin(self.origin.describe()),
            )),
        }
    }

    /// Validates and compiles the transformer's sections, expanding `${VAR}` from the environment.
    pub fn transform_config(&self) -> Result<TransformConfig, LoadError> {
        self.file
            .transform_sections()
            .validate(Expansion::Environment)
            .map_err(|e| LoadError::Invalid(e.with_origin(self.origin.describe())))
    }
}

/// Chooses the configuration: `--config FILE`, then `$WAFWATCH_CONFIG`, then `./wafwatch.toml`,
/// then the bundled default.
pub fn locate(flag: Option<&Path>, env: Option<PathBuf>, cwd: &Path) -> Origin {
    if let Some(p) = flag {
        return Origin::Flag(p.to_owned());
    }
    if let Some(p) = env.filter(|p| !p.as_os_str().is_empty()) {
        return Origin::Env(p);
    }
    let local = cwd.join(LOCAL_FILE);
    if local.is_file() {
        return Origin::WorkingDir(PathBuf::from(LOCAL_FILE));
    }
    Origin::Bundled
}

/// Parses a whole file's text.
pub fn parse(text: &str, origin: Origin) -> Result<Loaded, LoadError> {
    let file: WafwatchFile =
        toml::from_str(text).map_err(|e| LoadError::Parse { origin: origin.describe(), message: e.to_string() })?;
    Ok(Loaded { origin, file })
}

/// Loads the configuration chosen by [`locate`].
pub fn load(flag: Option<&Path>) -> Result<Loaded, LoadError> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let origin = locate(flag, std::env::var_os(CONFIG_ENV).map(PathBuf::from), &cwd);
    let text = match &origin {
        Origin::Flag(p) | Origin::Env(p) | Origin::WorkingDir(p) => std::fs::read_to_string(p)
            .map_err(|source| LoadError::Read { path: p.clone(), reason: origin.reason(), source })?,
        Origin::Bundled => BUNDLED_DEFAULT_TOML.to_owned(),
    };
    parse(&text, origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_order_is_flag_env_cwd_bundled() {
        let dir = std::env::temp_dir().join(format!("wafwatch-locate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let flag = Path::new("custom.toml");
        assert_eq!(locate(Some(flag), Some("env.toml".into()), &dir), Origin::Flag(flag.into()));
        assert_eq!(locate(None, Some("env.toml".into()), &dir), Origin::Env("env.toml".into()));
        assert_eq!(locate(None, Some("".into()), &dir), Origin::Bundled);
        std::fs::write(dir.join(LOCAL_FILE), "").unwrap();
        assert_eq!(locate(None, None, &dir), Origin::WorkingDir(LOCAL_FILE.into()));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unknown_sections_and_keys_name_the_file_and_the_key() {
        let err = parse("[sorce]\nformat = \"json\"\n", Origin::Flag("my.toml".into())).unwrap_err().to_string();
        assert!(err.starts_with("my.toml: "), "{err}");
        assert!(err.contains("unknown field `sorce`"), "{err}");
        assert!(err.contains("line 1"), "{err}");
        let err =
            parse("[[encode]]\nfield = \"/a\"\ncolumns = [{ name = \"x\", valeus = [\"A\"] }]\n", Origin::Bundled)
                .unwrap_err()
                .to_string();
        assert!(err.contains("unknown field `valeus`, expected one of `name`, `values`, `otherwise`"), "{err}");
    }

    #[test]
    fn a_detector_on_a_column_that_does_not_exist_is_refused() {
        let text = format!(
            "{}\n[[detector]]\nname = \"x\"\nfeatures = [{{ name = \"f\", column = \"B_actoin\", aggregation = \"sum\" }}]\n",
            BUNDLED_DEFAULT_TOML
        );
        let loaded = parse(&text, Origin::Flag("w.toml".into())).unwrap();
        let err = loaded.pipeline().unwrap_err().to_string();
        assert!(err.starts_with("w.toml: `detector[5].features[0].column`: `B_actoin` is not a column"), "{err}");
    }

    #[test]
    fn validation_errors_carry_the_origin() {
        let loaded = parse(
            "[[encode]]\nfield = \"/a\"\ncolumns = [{ name = \"x\", values = [] }]\n",
            Origin::Env("e.toml".into()),
        )
        .unwrap();
        let err = loaded.transform_config().unwrap_err().to_string();
        assert_eq!(err, "e.toml: `encode[0].columns[0].values`: expected a non-empty list of values");
    }

    #[test]
    fn the_bundled_default_and_the_presets_load_with_no_variables() {
        let loaded = parse(BUNDLED_DEFAULT_TOML, Origin::Bundled).unwrap();
        let pipeline = loaded.pipeline().unwrap();
        assert_eq!(pipeline.detection.detectors.len(), 5);
        assert_eq!(pipeline.detection.monitors.len(), 9);
        assert_eq!(pipeline.transform.column_names().count(), 10);
        assert_eq!(pipeline.detection.captures, ["/clientIp"], "the per-IP monitor's group-by field");
        let preset = parse(include_str!("../presets/aws-waf.toml"), Origin::Bundled).unwrap().pipeline().unwrap();
        assert_eq!(
            preset.transform.column_names().collect::<Vec<_>>(),
            pipeline.transform.column_names().collect::<Vec<_>>(),
            "the preset keeps the same ten columns so detectors and dashboards work on either"
        );
        assert_eq!(preset.index.field_type("/httpRequest/clientIp"), Some(wafwatch_opensearch::index::FieldType::Ip));
        let text = parse(include_str!("../presets/text-logs.toml"), Origin::Bundled).unwrap().pipeline().unwrap();
        assert_eq!(text.transform.format(), wafwatch_transformer::config::Format::Text);
        assert_eq!(text.detection.monitors.len(), 5);
    }

    #[test]
    fn problems_of_every_section_are_reported_together() {
        let text = format!(
            "{BUNDLED_DEFAULT_TOML}\n[[monitor]]\nname = \"x\"\nrule = \"failed-login\"\nthreshold = 1\ngroup_by = \"/requestId\"\nchannels = [\"pager\"]\n"
        )
        .replace("name = \"waf-logs\"", "name = \"WAF\"");
        let err = parse(&text, Origin::Flag("w.toml".into())).unwrap().pipeline().unwrap_err().to_string();
        for needle in [
            "`index.name`: `WAF`: an index alias is lower-case",
            "`monitor[9].channels[0]`: no [[channel]] with id `pager` (they are: security-team)",
            "`monitor[9].group_by`: `/requestId` is not mapped",
        ] {
            assert!(err.contains(needle), "missing {needle} in {err}");
        }
    }
}
