//! The whole `wafwatch.toml`: where it is found, how its sections compose, and what crosses them.
//!
//! [`load`] finds the file (`--config`, `$WAFWATCH_CONFIG`, `./wafwatch.toml`, the bundled default)
//! and parses it into a [`WafwatchFile`], refusing unknown keys anywhere (a typo fails at start,
//! with the file, the line and the key). [`Loaded::config`] validates every section and what
//! crosses them (a feature's column exists, a category field is mapped as keyword or ip, a
//! monitor's detector, rule and channels exist) into a [`Config`], reporting every problem at once.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::channel::{self, Channel, ChannelSection};
use crate::detection::{self, Detection, DetectorSection, MonitorSection};
use crate::error::{ConfigError, Problems};
use crate::expand::Expansion;
use crate::index::{self, AccessSection, Index, IndexSection};
use crate::transform::{DeliverySection, EncodeSection, RuleSection, SourceSection, Transform, TransformSections};

pub use crate::bundled::{AWS_WAF_PRESET_TOML, BUNDLED_DEFAULT_TOML, TEXT_LOGS_PRESET_TOML};

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
    Invalid(#[from] ConfigError),
}

/// The whole file, as written. Unknown keys anywhere are refused.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WafwatchFile {
    /// `[source]`: how a record's bytes become a document.
    #[serde(default)]
    pub source: SourceSection,
    /// `[[encode]]`: the monitored fields and their indicator columns.
    #[serde(default)]
    pub encode: Vec<EncodeSection>,
    /// `[[rule]]`: rule-based detection.
    #[serde(default)]
    pub rule: Vec<RuleSection>,
    /// `[delivery]`: what the delivery stream does with the output.
    #[serde(default)]
    pub delivery: DeliverySection,
    /// `[[detector]]`: anomaly detectors.
    #[serde(default)]
    pub detector: Vec<DetectorSection>,
    /// `[[monitor]]`: alert monitors.
    #[serde(default)]
    pub monitor: Vec<MonitorSection>,
    /// `[index]`: where the documents live and how they are mapped.
    #[serde(default)]
    pub index: IndexSection,
    /// `[[channel]]`: where alerts go.
    #[serde(default)]
    pub channel: Vec<ChannelSection>,
    /// `[access]`: fine-grained access control for Firehose.
    #[serde(default)]
    pub access: AccessSection,
}

impl WafwatchFile {
    /// The transformer's sections (what the Lambda receives).
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
pub struct Config {
    /// The transformer's sections.
    pub transform: Transform,
    /// `[index]`.
    pub index: Index,
    /// `[[channel]]`, values not yet resolved.
    pub channels: Vec<Channel>,
    /// `[[detector]]` and `[[monitor]]`.
    pub detection: Detection,
    /// `[access]`, not yet expanded.
    pub access: AccessSection,
}

impl Loaded {
    /// Validates the whole file: the transformer's sections first (the others refer to their
    /// columns and rules), then `[index]`, `[[channel]]`, `[[detector]]` and `[[monitor]]`, with
    /// every problem of those reported at once.
    pub fn config(&self) -> Result<Config, LoadError> {
        let transform = self.transform()?;
        let columns: Vec<&str> = transform.column_names().collect();
        let keyword_members = transform.keyword_members();
        let encode_fields: Vec<&str> = keyword_members.iter().map(String::as_str).collect();
        let mut problems = Problems::default();
        let index = problems.take(index::validate(&self.file.index, &encode_fields, &columns));
        let channels = problems.take(channel::validate(&self.file.channel)).unwrap_or_default();
        let channel_ids: Vec<&str> = self.file.channel.iter().map(|c| c.id.as_str()).collect();
        let field_type = |p: &str| index.as_ref().and_then(|i| i.field_type(p));
        let ctx = detection::Context { transform: &transform, channels: &channel_ids, field_type: &field_type };
        let detection = problems.take(detection::validate(&self.file.detector, &self.file.monitor, &ctx));
        let config = index.zip(detection).map(|(index, detection)| Config {
            transform,
            index,
            channels,
            detection,
            access: self.file.access.clone(),
        });
        problems.finish_some(config, "index").map_err(|e| LoadError::Invalid(e.with_origin(self.origin.describe())))
    }

    /// Validates the transformer's sections only, expanding `${VAR}` from the environment (what
    /// the commands that only transform need).
    pub fn transform(&self) -> Result<Transform, LoadError> {
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
        assert!(
            err.contains("unknown field `valeus`, expected one of `name`, `values`, `prefixes`, `regex`, `otherwise`"),
            "{err}"
        );
    }

    #[test]
    fn a_detector_on_a_column_that_does_not_exist_is_refused() {
        let text = format!(
            "{}\n[[detector]]\nname = \"x\"\nfeatures = [{{ name = \"f\", column = \"B_actoin\", aggregation = \"sum\" }}]\n",
            BUNDLED_DEFAULT_TOML
        );
        let loaded = parse(&text, Origin::Flag("w.toml".into())).unwrap();
        let err = loaded.config().unwrap_err().to_string();
        assert!(err.starts_with("w.toml: `detector[6].features[0].column`: `B_actoin` is not a column"), "{err}");
    }

    #[test]
    fn validation_errors_carry_the_origin() {
        let loaded = parse(
            "[[encode]]\nfield = \"/a\"\ncolumns = [{ name = \"x\", values = [] }]\n",
            Origin::Env("e.toml".into()),
        )
        .unwrap();
        let err = loaded.transform().unwrap_err().to_string();
        assert_eq!(err, "e.toml: `encode[0].columns[0].values`: expected a non-empty list of values");
    }

    #[test]
    fn the_bundled_default_and_the_presets_load_with_no_variables() {
        let loaded = parse(BUNDLED_DEFAULT_TOML, Origin::Bundled).unwrap();
        let pipeline = loaded.config().unwrap();
        assert_eq!(pipeline.detection.detectors.len(), 6);
        assert_eq!(pipeline.detection.monitors.len(), 12);
        assert_eq!(pipeline.transform.column_names().count(), 11);
        let captured: Vec<&str> = pipeline.detection.captures.iter().map(|c| c.pointer().as_str()).collect();
        assert_eq!(captured, ["/clientIp", "/country"], "the per-IP monitors' group-by field, the new-value field");
        let preset = parse(AWS_WAF_PRESET_TOML, Origin::Bundled).unwrap().config().unwrap();
        let seed_columns = pipeline.transform.column_names().filter(|c| *c != "E_httpstatus");
        assert_eq!(
            preset.transform.column_names().take(10).collect::<Vec<_>>(),
            seed_columns.collect::<Vec<_>>(),
            "the preset starts with the seed's ten columns so detectors and dashboards work on either"
        );
        assert_eq!(preset.index.field_type("/httpRequest/clientIp"), Some(crate::index::FieldType::Ip));
        // An `each` field maps the member inside its elements; a `where` lookup maps nothing.
        assert_eq!(preset.index.field_type("/labels/name"), Some(crate::index::FieldType::Keyword));
        assert_eq!(preset.index.field_type("/httpRequest/headers"), Some(crate::index::FieldType::NotIndexed));
        let text = parse(TEXT_LOGS_PRESET_TOML, Origin::Bundled).unwrap().config().unwrap();
        assert_eq!(text.transform.format(), crate::transform::Format::Text);
        assert_eq!(text.detection.monitors.len(), 5);
    }

    #[test]
    fn problems_of_every_section_are_reported_together() {
        let text = format!(
            "{BUNDLED_DEFAULT_TOML}\n[[monitor]]\nname = \"x\"\nrule = \"failed-login\"\nthreshold = 1\ngroup_by = \"/requestId\"\nchannels = [\"pager\"]\n"
        )
        .replace("name = \"waf-logs\"", "name = \"WAF\"");
        let err = parse(&text, Origin::Flag("w.toml".into())).unwrap().config().unwrap_err().to_string();
        for needle in [
            "`index.name`: `WAF`: an index alias is lower-case",
            "`monitor[12].channels[0]`: no [[channel]] with id `pager` (they are: security-team)",
            "`monitor[12].group_by`: `/requestId` is not mapped",
        ] {
            assert!(err.contains(needle), "missing {needle} in {err}");
        }
    }
}

#[cfg(test)]
mod local_preset {
    use super::*;

    /// presets/local-opensearch.toml is the default pipeline for one local node: it must differ from
    /// wafwatch.toml in the replicas and the channel only, or a user trying it locally would try
    /// something else than what they deploy.
    #[test]
    fn differs_from_the_default_in_replicas_and_channel_only() {
        let local = parse(include_str!("../../presets/local-opensearch.toml"), Origin::Bundled).unwrap();
        let default = parse(BUNDLED_DEFAULT_TOML, Origin::Bundled).unwrap();
        let (l, d) = (&local.file, &default.file);
        assert_eq!(l.transform_sections(), d.transform_sections());
        assert_eq!((&l.detector, &l.monitor, &l.access), (&d.detector, &d.monitor, &d.access));
        let mut index = l.index.clone();
        assert_eq!(index.replicas, 0);
        index.replicas = d.index.replicas;
        assert_eq!(index, d.index);
        assert_eq!(l.channel.len(), d.channel.len());
        assert_eq!(l.channel[0].id, d.channel[0].id);
        assert_eq!(l.channel[0].kind, crate::channel::ChannelType::Webhook);
        local.config().unwrap();
    }
}
