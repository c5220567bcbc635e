//! The transformer's sections of `wafwatch.toml` as written: `[source]`, `[[encode]]`, `[[rule]]`
//! and `[delivery]`. Plain serde types that refuse unknown keys; [`super::TransformSections::validate`]
//! turns them into a [`super::Transform`].
//!
//! These sections, serialised as compact JSON, are also the Lambda's `WAFWATCH_TRANSFORM_CONFIG`.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::severity::Severity;

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
    /// Prefixes: the column is 1 when the value starts with one of them (ASCII case ignored with
    /// the field's `ignore_case`), e.g. `awswaf:managed:aws:bot-control:bot:category:`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefixes: Option<Vec<String>>,
    /// A regular expression (Rust `regex` syntax, unanchored) the value must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
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
    /// Makes `field` an array (`/labels`, `/ruleGroupList`, `/httpRequest/headers`): a JSON pointer
    /// inside each element (`/name`) to the value the columns test. Without `where`, a column is 1
    /// when any element's value matches it, so several columns can be 1 at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub each: Option<String>,
    /// With `each`: only the first element whose member equals a name (ASCII case ignored) is
    /// read, as one value: a header looked up by name wherever it sits.
    #[serde(default, rename = "where", skip_serializing_if = "Option::is_none")]
    pub select: Option<SelectSection>,
    /// The field is absent from most records by nature (`responseCodeSent`, `captchaResponse`):
    /// `wafwatch run` does not warn when nearly every record lacks it. Default false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub optional: bool,
    /// The indicator columns for this field.
    pub columns: Vec<ColumnSection>,
}

/// `where = { member = "/name", equals = "User-Agent" }`: which element of an `each` array to read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelectSection {
    /// JSON pointer inside each element to the name compared, e.g. `/name` for a header.
    pub member: String,
    /// The name the element must carry, compared ignoring ASCII case (HTTP header names are
    /// case-insensitive, and WAF logs them as the client sent them).
    pub equals: String,
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

/// The names of the transformer's sections in `wafwatch.toml`: what the Lambda reads of a whole file.
pub const NAMES: [&str; 4] = ["source", "encode", "rule", "delivery"];

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
