//! The transformer's sections of `wafwatch.toml`: `[source]`, `[[encode]]`, `[[rule]]` and
//! `[delivery]`.
//!
//! The sections are plain serde types ([`TransformSections`]) that reject unknown keys;
//! [`TransformSections::validate`] expands `${VAR}` references, checks everything that can be
//! checked before the first record arrives, and compiles the result into a [`TransformConfig`]
//! that the record function uses. Every problem is reported with the key it was found at.
//!
//! ```
//! use wafwatch_transformer::config::TransformSections;
//! use wafwatch_transformer::expand::Expansion;
//! let sections: TransformSections = toml::from_str(r#"
//!     [source]
//!     format = "json"
//!     timestamp = "/timestamp"
//!
//!     [[encode]]
//!     field = "/action"
//!     columns = [ { name = "B_action", values = ["BLOCK"] },
//!                 { name = "K_action", otherwise = true } ]
//! "#).unwrap();
//! let cfg = sections.validate(Expansion::Literal).unwrap();
//! assert_eq!(cfg.column_names().collect::<Vec<_>>(), ["B_action", "K_action"]);
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::expand::Expansion;
use crate::limits::{RULES_MEMBER, SEVERITY_MEMBER, TIMESTAMP_MEMBER};
use crate::pointer::Pointer;
use crate::rules::{Condition, ConditionTarget, RuleEngine, RuleSpec};
use crate::values::ValueSet;

/// The input format of each Firehose record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// One JSON object per record (flat WAF-style logs, real AWS WAF logs, any JSON log).
    #[default]
    Json,
    /// One plain-text log line per record.
    Text,
    /// CloudWatch Logs subscription data: gzip of a `DATA_MESSAGE` or `CONTROL_MESSAGE`.
    CloudwatchLogs,
}

/// The format of each log event's message inside CloudWatch Logs subscription data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum MessageFormat {
    /// Each message is one JSON object (WAF logs sent to a CloudWatch Logs group, say).
    #[default]
    Json,
    /// Each message is a plain-text line.
    Text,
}

/// Where the delivery stream delivers; it decides how a record holding several log events is
/// handled, because an OpenSearch destination takes exactly one document per record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Destination {
    /// Amazon OpenSearch Service: one JSON document per record.
    #[default]
    Opensearch,
    /// Amazon S3: several newline-terminated documents may share one record.
    S3,
}

/// A rule's severity, lowest first. A document matching several rules gets the highest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth recording, rarely worth waking anyone.
    Low,
    /// Worth a look during working hours.
    Medium,
    /// Someone should look soon.
    High,
    /// Page now.
    Critical,
}

impl Severity {
    /// The wire name (`low`, `medium`, `high`, `critical`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[source]`: how a record's bytes become a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSection {
    /// `json` (default), `text` or `cloudwatch-logs`.
    #[serde(default)]
    pub format: Format,
    /// For `cloudwatch-logs`: the format of each log event's message, `json` (default) or `text`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_format: Option<MessageFormat>,
    /// JSON pointer to the event time (epoch milliseconds, or an RFC 3339 string). When the
    /// member is missing or null the arrival time is used (the CloudWatch Logs event time for
    /// `cloudwatch-logs`). Written out as `@timestamp`. Default `/timestamp`.
    #[serde(default = "default_timestamp_pointer")]
    pub timestamp: String,
}

fn default_timestamp_pointer() -> String {
    "/timestamp".to_owned()
}

impl Default for SourceSection {
    fn default() -> Self {
        SourceSection { format: Format::default(), message_format: None, timestamp: default_timestamp_pointer() }
    }
}

/// A value in a `values` list: strings, or integers and booleans, which match by their JSON text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct MatchValue(pub String);

impl<'de> Deserialize<'de> for MatchValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = MatchValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, an integer or a boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<MatchValue, E> {
                Ok(MatchValue(v.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<MatchValue, E> {
                Ok(MatchValue(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<MatchValue, E> {
                Ok(MatchValue(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<MatchValue, E> {
                Ok(MatchValue(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// One indicator column of an `[[encode]]` field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnSection {
    /// The document member written as 0 or 1 (letters, digits, `_` and `-`; not starting with `_`).
    pub name: String,
    /// The values that set this column to 1. `2xx`-style classes match any three-digit code of
    /// that class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<MatchValue>>,
    /// `true` for the column that gets 1 when the value matches no other column, or the field is
    /// missing or null. At most one per field.
    #[serde(default, skip_serializing_if = "is_false")]
    pub otherwise: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn default_true() -> bool {
    true
}

/// `[[encode]]`: one monitored field and its indicator columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncodeSection {
    /// JSON pointer to the field, e.g. `/action` or `/httpRequest/country`.
    pub field: String,
    /// Compare values ignoring ASCII case (`Challenge` matches `CHALLENGE`). Default false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub ignore_case: bool,
    /// The indicator columns for this field.
    pub columns: Vec<ColumnSection>,
}

/// One condition of a rule. All of a rule's conditions must hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionSection {
    /// JSON pointer to the field tested; absent means the whole line (the raw record text for
    /// `json`, the line for `text`, the event message for `cloudwatch-logs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// A regular expression (Rust `regex` syntax) the field or line must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    /// Values the field must equal (same semantics as an encode column, `4xx` classes included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<MatchValue>>,
    /// For `values`: compare ignoring ASCII case.
    #[serde(default, skip_serializing_if = "is_false")]
    pub ignore_case: bool,
}

/// `[[rule]]`: rule-based detection; a matching document is tagged with the rule's name and
/// severity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSection {
    /// The name written into the document's `rules` list.
    pub name: String,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: Severity,
    /// What the rule means, for people (shown by `wafwatch check`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The conditions, all of which must hold: one table or a list of tables.
    #[serde(rename = "match", deserialize_with = "one_or_many")]
    pub conditions: Vec<ConditionSection>,
}

/// `[delivery]`: what the delivery stream does with the transformer's output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliverySection {
    /// `opensearch` (default) or `s3`.
    #[serde(default)]
    pub destination: Destination,
    /// Re-ingest records that cannot be answered in this invocation (several CloudWatch Logs
    /// events bound for OpenSearch; records past the 6 MB response budget) into the same delivery
    /// stream with PutRecordBatch. When false they are answered `ProcessingFailed` instead, and
    /// Firehose keeps them in its `processing-failed/` S3 prefix. Default true.
    #[serde(default = "default_true")]
    pub reingest: bool,
    /// S3 dynamic partitioning only: `metadata.partitionKeys` names and the JSON pointers whose
    /// values fill them (`"unknown"` when the member is missing).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub partition_keys: BTreeMap<String, String>,
}

impl Default for DeliverySection {
    fn default() -> Self {
        DeliverySection { destination: Destination::default(), reingest: true, partition_keys: BTreeMap::new() }
    }
}

/// The transformer's sections of `wafwatch.toml`, as written (before validation).
///
/// This is also the shape of the Lambda's `WAFWATCH_TRANSFORM_CONFIG` (as compact JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TransformSections {
    /// `[source]`.
    #[serde(default)]
    pub source: SourceSection,
    /// `[[encode]]`, one per monitored field.
    #[serde(default)]
    pub encode: Vec<EncodeSection>,
    /// `[[rule]]`.
    #[serde(default)]
    pub rule: Vec<RuleSection>,
    /// `[delivery]`.
    #[serde(default)]
    pub delivery: DeliverySection,
}

fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<ConditionSection>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Vec<ConditionSection>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a condition table { field, regex | values } or a list of them")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            Ok(vec![ConditionSection::deserialize(de::value::MapAccessDeserializer::new(map))?])
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(c) = seq.next_element()? {
                out.push(c);
            }
            Ok(out)
        }
    }
    d.deserialize_any(V)
}

/// One problem found in a configuration: where, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The key, as a path: `encode[1].columns[0].values`.
    pub key: String,
    /// What is wrong and what was expected.
    pub problem: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: {}", self.key, self.problem)
    }
}

/// Everything wrong with a configuration, found in one pass.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// Where the configuration came from (a file path, an environment variable), when known.
    pub origin: Option<String>,
    /// The problems, in the order of the keys.
    pub problems: Vec<ConfigProblem>,
}

impl ConfigError {
    /// A single problem.
    pub fn one(key: impl Into<String>, problem: impl Into<String>) -> Self {
        ConfigError { origin: None, problems: vec![ConfigProblem { key: key.into(), problem: problem.into() }] }
    }

    /// Sets where the configuration came from, for the message.
    pub fn with_origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let origin = self.origin.as_deref().unwrap_or("configuration");
        match self.problems.as_slice() {
            [one] => write!(f, "{origin}: {one}"),
            many => {
                write!(f, "{origin}: {} problems", many.len())?;
                for p in many {
                    write!(f, "\n  - {p}")?;
                }
                Ok(())
            }
        }
    }
}

/// Collects problems while validating.
#[derive(Default)]
pub(crate) struct Problems(Vec<ConfigProblem>);

impl Problems {
    pub(crate) fn push(&mut self, key: impl Into<String>, problem: impl Into<String>) {
        self.0.push(ConfigProblem { key: key.into(), problem: problem.into() });
    }
}

/// Index of a value the extractor pulls out of each record.
pub(crate) type SlotId = usize;

/// A monitored field, compiled.
#[derive(Debug, Clone)]
pub(crate) struct FieldEncoder {
    pub(crate) slot: SlotId,
    /// (values, column index) for each column with values.
    pub(crate) matchers: Vec<(ValueSet, usize)>,
    pub(crate) otherwise: Option<usize>,
}

/// An indicator column, compiled: its name and the bytes written before its 0 or 1.
#[derive(Debug, Clone)]
pub(crate) struct Column {
    pub(crate) name: String,
    /// `,"NAME":`
    pub(crate) prefix: Box<[u8]>,
}

/// A validated, compiled transformer configuration: what the record function runs on.
#[derive(Debug, Clone)]
pub struct TransformConfig {
    pub(crate) resolved: TransformSections,
    pub(crate) format: Format,
    pub(crate) message_format: MessageFormat,
    pub(crate) timestamp: SlotId,
    pub(crate) pointers: Vec<Pointer>,
    pub(crate) fields: Vec<FieldEncoder>,
    pub(crate) columns: Vec<Column>,
    pub(crate) rules: RuleEngine,
    pub(crate) partition_keys: Vec<(String, SlotId)>,
    /// Member names the transformer writes; an input member with one of these names is refused.
    pub(crate) reserved: Vec<String>,
    pub(crate) destination: Destination,
    pub(crate) reingest: bool,
}

impl TransformConfig {
    /// The indicator column names, in output order.
    pub fn column_names(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|c| c.name.as_str())
    }

    /// The sections with every `${VAR}` resolved: what `wafwatch config lambda-env` serialises.
    pub fn resolved(&self) -> &TransformSections {
        &self.resolved
    }

    /// The input format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The delivery stream's destination kind.
    pub fn destination(&self) -> Destination {
        self.destination
    }

    /// Whether records that cannot be answered in this invocation are re-ingested.
    pub fn reingest(&self) -> bool {
        self.reingest
    }

    /// Whether the response carries `metadata.partitionKeys`.
    pub fn has_partition_keys(&self) -> bool {
        !self.partition_keys.is_empty()
    }

    /// The member names the transformer adds to every document (columns, `@timestamp`, and
    /// `rules`/`severity` when rules are configured).
    pub fn added_members(&self) -> &[String] {
        &self.reserved
    }
}

/// Allocates one slot per distinct pointer.
#[derive(Default)]
struct Slots {
    pointers: Vec<Pointer>,
    by_text: HashMap<String, SlotId>,
}

impl Slots {
    fn slot(&mut self, p: Pointer) -> SlotId {
        if let Some(&id) = self.by_text.get(p.as_str()) {
            return id;
        }
        let id = self.pointers.len();
        self.by_text.insert(p.as_str().to_owned(), id);
        self.pointers.push(p);
        id
    }
}

fn valid_member_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('_')
        && name.len() <= 255
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl TransformSections {
    /// Loads the sections from compact JSON (the Lambda's `WAFWATCH_TRANSFORM_CONFIG`).
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        serde_json::from_str(text).map_err(|e| ConfigError::one("(document)", e.to_string()))
    }

    /// Reads the transformer's sections out of a whole `wafwatch.toml`, ignoring the sections
    /// that belong to other parts of wafwatch (the `wafwatch` CLI checks those).
    pub fn from_whole_toml(text: &str) -> Result<Self, ConfigError> {
        let mut table: toml::Table = toml::from_str(text).map_err(|e| ConfigError::one("(document)", e.to_string()))?;
        table.retain(|k, _| matches!(k, "source" | "encode" | "rule" | "delivery"));
        Self::deserialize(toml::Value::Table(table)).map_err(|e| ConfigError::one("(document)", e.to_string()))
    }

    /// Serialises the sections as compact JSON for `WAFWATCH_TRANSFORM_CONFIG`.
    pub fn to_compact_json(&self) -> String {
        // Serialising plain structs of strings, vectors and maps cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Expands variables, validates every key, and compiles the configuration.
    pub fn validate(&self, expansion: Expansion) -> Result<TransformConfig, ConfigError> {
        let mut problems = Problems::default();
        let mut resolved = self.clone();
        let mut slots = Slots::default();

        let expand = |key: &str, raw: &mut String, problems: &mut Problems| match expansion.apply(raw) {
            Ok(v) => {
                if v != *raw {
                    *raw = v.into_owned();
                }
            }
            Err(e) => problems.push(key, e.to_string()),
        };

        // [source]
        let src = &mut resolved.source;
        expand("source.timestamp", &mut src.timestamp, &mut problems);
        let timestamp = match Pointer::parse(&src.timestamp) {
            Ok(p) => slots.slot(p),
            Err(e) => {
                problems.push("source.timestamp", e.to_string());
                usize::MAX
            }
        };
        if src.message_format.is_some() && src.format != Format::CloudwatchLogs {
            problems.push(
                "source.message_format",
                "only applies with format = \"cloudwatch-logs\" (remove it, or change the format)",
            );
        }
        let format = src.format;
        let message_format = src.message_format.unwrap_or_default();

        // [[encode]]
        let mut columns: Vec<Column> = Vec::new();
        let mut column_at: HashMap<String, String> = HashMap::new();
        let mut fields = Vec::new();
        let mut seen_fields: HashMap<String, usize> = HashMap::new();
        for (i, enc) in resolved.encode.iter_mut().enumerate() {
            let base = format!("encode[{i}]");
            expand(&format!("{base}.field"), &mut enc.field, &mut problems);
            let slot = match Pointer::parse(&enc.field) {
                Ok(p) => Some(slots.slot(p)),
                Err(e) => {
                    problems.push(format!("{base}.field"), e.to_string());
                    None
                }
            };
            if let Some(prev) = seen_fields.insert(enc.field.clone(), i) {
                problems.push(
                    format!("{base}.field"),
                    format!(
                        "`{}` is already encoded by encode[{prev}]; put all its columns in one [[encode]]",
                        enc.field
                    ),
                );
            }
            if enc.columns.is_empty() {
                problems.push(format!("{base}.columns"), "expected at least one column");
            }
            let mut matchers = Vec::new();
            let mut otherwise = None;
            let mut value_owner: HashMap<String, String> = HashMap::new();
            for (j, col) in enc.columns.iter_mut().enumerate() {
                let ckey = format!("{base}.columns[{j}]");
                expand(&format!("{ckey}.name"), &mut col.name, &mut problems);
                if [TIMESTAMP_MEMBER, RULES_MEMBER, SEVERITY_MEMBER].contains(&col.name.as_str()) {
                    problems
                        .push(format!("{ckey}.name"), format!("`{}` is written by the transformer itself", col.name));
                } else if !valid_member_name(&col.name) {
                    problems.push(
                        format!("{ckey}.name"),
                        format!(
                            "`{}` is not a usable column name: expected letters, digits, `_` or `-`, not starting with `_`",
                            col.name
                        ),
                    );
                } else if let Some(prev) = column_at.insert(col.name.clone(), ckey.clone()) {
                    problems
                        .push(format!("{ckey}.name"), format!("duplicate column name `{}` (also at {prev})", col.name));
                }
                let idx = columns.len();
                columns
                    .push(Column { name: col.name.clone(), prefix: format!(",\"{}\":", col.name).into_bytes().into() });
                match (&mut col.values, col.otherwise) {
                    (Some(_), true) => {
                        problems.push(ckey.clone(), "a column has either `values` or `otherwise = true`, not both")
                    }
                    (None, false) => problems.push(ckey.clone(), "expected `values = [..]` or `otherwise = true`"),
                    (None, true) => {
                        if otherwise.replace(idx).is_some() {
                            problems.push(format!("{ckey}.otherwise"), "only one column of a field can be `otherwise`");
                        }
                    }
                    (Some(values), false) => {
                        if values.is_empty() {
                            problems.push(format!("{ckey}.values"), "expected a non-empty list of values");
                        }
                        for (k, v) in values.iter_mut().enumerate() {
                            expand(&format!("{ckey}.values[{k}]"), &mut v.0, &mut problems);
                            let norm = if enc.ignore_case { v.0.to_ascii_lowercase() } else { v.0.clone() };
                            if let Some(prev) = value_owner.insert(norm, col.name.clone()) {
                                problems.push(
                                    format!("{ckey}.values[{k}]"),
                                    format!(
                                        "value `{}` is also listed for column `{prev}`; a value sets one column",
                                        v.0
                                    ),
                                );
                            }
                        }
                        matchers.push((ValueSet::new(values.iter().map(|v| v.0.as_str()), enc.ignore_case), idx));
                    }
                }
            }
            if let Some(slot) = slot {
                fields.push(FieldEncoder { slot, matchers, otherwise });
            }
        }

        // [[rule]]
        let mut specs = Vec::new();
        let mut rule_names: HashMap<String, usize> = HashMap::new();
        for (i, rule) in resolved.rule.iter_mut().enumerate() {
            let base = format!("rule[{i}]");
            expand(&format!("{base}.name"), &mut rule.name, &mut problems);
            if rule.name.is_empty() || rule.name.chars().any(|c| c.is_control() || c == '"' || c == '\\') {
                problems.push(
                    format!("{base}.name"),
                    "expected a non-empty name without quotes, backslashes or control characters",
                );
            }
            if let Some(prev) = rule_names.insert(rule.name.clone(), i) {
                problems
                    .push(format!("{base}.name"), format!("duplicate rule name `{}` (also rule[{prev}])", rule.name));
            }
            if rule.conditions.is_empty() {
                problems.push(format!("{base}.match"), "expected at least one condition");
            }
            let mut conds = Vec::new();
            for (j, c) in rule.conditions.iter_mut().enumerate() {
                let ckey = format!("{base}.match[{j}]");
                let target = match &mut c.field {
                    None => Some(ConditionTarget::Line),
                    Some(f) => {
                        expand(&format!("{ckey}.field"), f, &mut problems);
                        match Pointer::parse(f) {
                            Ok(p) => Some(ConditionTarget::Field(slots.slot(p))),
                            Err(e) => {
                                problems.push(format!("{ckey}.field"), e.to_string());
                                None
                            }
                        }
                    }
                };
                match (&mut c.regex, &mut c.values) {
                    (Some(re), None) => {
                        expand(&format!("{ckey}.regex"), re, &mut problems);
                        if let Err(e) = regex::Regex::new(re) {
                            problems.push(format!("{ckey}.regex"), format!("not a valid regular expression: {e}"));
                        } else if let Some(t) = target {
                            conds.push(Condition::Regex { target: t, pattern: re.clone() });
                        }
                    }
                    (None, Some(values)) => {
                        if values.is_empty() {
                            problems.push(format!("{ckey}.values"), "expected a non-empty list of values");
                        }
                        for (k, v) in values.iter_mut().enumerate() {
                            expand(&format!("{ckey}.values[{k}]"), &mut v.0, &mut problems);
                        }
                        match target {
                            Some(ConditionTarget::Field(slot)) => conds.push(Condition::Values {
                                slot,
                                set: ValueSet::new(values.iter().map(|v| v.0.as_str()), c.ignore_case),
                            }),
                            Some(ConditionTarget::Line) => problems.push(
                                ckey.clone(),
                                "`values` needs a `field` to compare (use `regex` to test the whole line)",
                            ),
                            None => {}
                        }
                    }
                    _ => problems.push(ckey.clone(), "expected exactly one of `regex` or `values`"),
                }
            }
            specs.push(RuleSpec { name: rule.name.clone(), severity: rule.severity, conditions: conds });
        }
        let rules = match RuleEngine::compile(specs) {
            Ok(r) => r,
            Err(e) => {
                problems.push("rule", format!("the rules do not compile together: {e}"));
                RuleEngine::default()
            }
        };

        // [delivery]
        let d = &mut resolved.delivery;
        let mut partition_keys = Vec::new();
        if !d.partition_keys.is_empty() && d.destination != Destination::S3 {
            problems.push(
                "delivery.partition_keys",
                "partition keys are only read by an S3 destination with dynamic partitioning (set destination = \"s3\")",
            );
        }
        let mut expanded_keys = BTreeMap::new();
        for (name, pointer) in std::mem::take(&mut d.partition_keys) {
            let key = format!("delivery.partition_keys.{name}");
            let mut pointer = pointer;
            expand(&key, &mut pointer, &mut problems);
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
                problems.push(key.clone(), "expected a key name of letters, digits, `_` or `-`");
            }
            match Pointer::parse(&pointer) {
                Ok(p) => partition_keys.push((name.clone(), slots.slot(p))),
                Err(e) => problems.push(key, e.to_string()),
            }
            expanded_keys.insert(name, pointer);
        }
        d.partition_keys = expanded_keys;

        if !problems.0.is_empty() {
            return Err(ConfigError { origin: None, problems: problems.0 });
        }

        let mut reserved: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
        reserved.push(TIMESTAMP_MEMBER.to_owned());
        if !rules.is_empty() {
            reserved.push(RULES_MEMBER.to_owned());
            reserved.push(SEVERITY_MEMBER.to_owned());
        }
        Ok(TransformConfig {
            format,
            message_format,
            timestamp,
            pointers: slots.pointers,
            fields,
            columns,
            rules,
            partition_keys,
            reserved,
            destination: resolved.delivery.destination,
            reingest: resolved.delivery.reingest,
            resolved,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> TransformSections {
        toml::from_str(text).unwrap()
    }

    fn problems(text: &str) -> Vec<String> {
        parse(text).validate(Expansion::Literal).unwrap_err().problems.iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn unknown_keys_are_refused_with_their_name() {
        let err = toml::from_str::<TransformSections>("[source]\nformt = \"json\"\n").unwrap_err().to_string();
        assert!(err.contains("unknown field `formt`"), "{err}");
        let err = toml::from_str::<TransformSections>(
            "[[encode]]\nfield = \"/a\"\ncolumns = [{ name = \"x\", value = [\"a\"] }]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("unknown field `value`"), "{err}");
    }

    #[test]
    fn duplicate_columns_empty_values_and_bad_pointers_are_named() {
        let p = problems(
            r#"
            [[encode]]
            field = "action"
            columns = [ { name = "A", values = [] }, { name = "A", otherwise = true } ]
            "#,
        );
        assert!(p.iter().any(|m| m.starts_with("`encode[0].field`") && m.contains("starts with `/`")), "{p:?}");
        assert!(p.iter().any(|m| m.starts_with("`encode[0].columns[0].values`") && m.contains("non-empty")), "{p:?}");
        assert!(
            p.iter().any(|m| m.starts_with("`encode[0].columns[1].name`") && m.contains("duplicate column name `A`")),
            "{p:?}"
        );
    }

    #[test]
    fn a_value_may_set_only_one_column() {
        let p = problems(
            r#"
            [[encode]]
            field = "/a"
            ignore_case = true
            columns = [ { name = "x", values = ["BLOCK"] }, { name = "y", values = ["block"] } ]
            "#,
        );
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("also listed for column `x`"), "{p:?}");
    }

    #[test]
    fn invalid_regex_and_reserved_names_are_refused() {
        let p = problems(
            r#"
            [[encode]]
            field = "/a"
            columns = [ { name = "@timestamp", otherwise = true }, { name = "_id", values = ["1"] } ]
            [[rule]]
            name = "r"
            severity = "high"
            match = { regex = "(unclosed" }
            "#,
        );
        assert!(p.iter().any(|m| m.contains("`@timestamp` is written by the transformer")), "{p:?}");
        assert!(p.iter().any(|m| m.contains("`_id` is not a usable column name")), "{p:?}");
        assert!(
            p.iter().any(|m| m.starts_with("`rule[0].match[0].regex`") && m.contains("not a valid regular expression")),
            "{p:?}"
        );
    }

    #[test]
    fn match_accepts_a_table_or_a_list() {
        let one = parse("[[rule]]\nname = \"r\"\nseverity = \"low\"\nmatch = { regex = \"x\" }\n");
        let many = parse("[[rule]]\nname = \"r\"\nseverity = \"low\"\nmatch = [{ regex = \"x\" }]\n");
        assert_eq!(one, many);
    }

    #[test]
    fn numbers_in_values_match_by_their_text() {
        let s = parse("[[encode]]\nfield = \"/s\"\ncolumns = [{ name = \"e\", values = [404, \"5xx\", true] }]\n");
        assert_eq!(s.encode[0].columns[0].values.as_ref().unwrap()[0].0, "404");
        assert_eq!(s.encode[0].columns[0].values.as_ref().unwrap()[2].0, "true");
    }

    #[test]
    fn variables_expand_only_when_asked() {
        let s = parse("[source]\ntimestamp = \"${WAFWATCH_TEST_SURELY_UNSET:-/ts}\"\n");
        let cfg = s.validate(Expansion::Environment).unwrap();
        assert_eq!(cfg.resolved().source.timestamp, "/ts");
        let err = s.validate(Expansion::Literal).unwrap_err().to_string();
        assert!(err.contains("source.timestamp"), "{err}");
        let unset = parse("[source]\ntimestamp = \"${WAFWATCH_TEST_SURELY_UNSET}\"\n");
        let err = unset.validate(Expansion::Environment).unwrap_err().to_string();
        assert!(err.contains("`WAFWATCH_TEST_SURELY_UNSET` is not set"), "{err}");
    }

    #[test]
    fn partition_keys_need_an_s3_destination() {
        let p = problems("[delivery]\npartition_keys = { src = \"/httpSourceName\" }\n");
        assert!(p[0].contains("only read by an S3 destination"), "{p:?}");
        let ok = parse("[delivery]\ndestination = \"s3\"\npartition_keys = { src = \"/httpSourceName\" }\n");
        assert!(ok.validate(Expansion::Literal).unwrap().has_partition_keys());
    }

    #[test]
    fn error_message_lists_every_problem_with_origin() {
        let err = parse("[[encode]]\nfield = \"x\"\ncolumns = []\n")
            .validate(Expansion::Literal)
            .unwrap_err()
            .with_origin("wafwatch.toml");
        let text = err.to_string();
        assert!(text.starts_with("wafwatch.toml: 2 problems"), "{text}");
        assert!(text.contains("`encode[0].columns`: expected at least one column"), "{text}");
    }
}
