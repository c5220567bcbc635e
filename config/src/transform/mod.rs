//! The transformer's sections, `[source]`, `[[encode]]`, `[[rule]]` and `[delivery]`: the
//! [`sections`] as written, and the validated [`Transform`] the record function is compiled from.
//!
//! [`TransformSections::validate`] expands `${VAR}` references, runs the named checks of
//! [`checks`](self) on every key, and reports every problem with its key. What it derives (parsed
//! pointers, typed column and rule ids) is derived once, here.
//!
//! ```
//! use wafwatch_config::expand::Expansion;
//! use wafwatch_config::transform::TransformSections;
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

mod checks;
pub mod sections;

use serde::Deserialize;

pub use self::sections::{
    ColumnSection, ConditionSection, DeliverySection, Destination, EncodeSection, Format, MatchValue, MessageFormat,
    RuleSection, SelectSection, SourceSection, TransformSections,
};
use crate::error::{ConfigError, Problems};
use crate::expand::Expansion;
use crate::pointer::Pointer;
use crate::severity::Severity;
use crate::wire::{RULES_MEMBER, SEVERITY_MEMBER, TIMESTAMP_MEMBER};

/// A column's identity: its position in the transformer's column order (the order of the
/// `[[encode]]` sections and their columns), typed so that it cannot be mistaken for another index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ColumnId(usize);

impl ColumnId {
    /// The id of the column at `index` in output order.
    pub fn from_index(index: usize) -> Self {
        ColumnId(index)
    }

    /// The position in output order (and in [`Transform::columns`]).
    pub fn index(self) -> usize {
        self.0
    }
}

/// A rule's identity: its position in the configuration's `[[rule]]` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleId(usize);

impl RuleId {
    /// The id of the rule at `index` in configuration order.
    pub fn from_index(index: usize) -> Self {
        RuleId(index)
    }

    /// The position in configuration order (and in [`Transform::rules`]).
    pub fn index(self) -> usize {
        self.0
    }
}

/// What sets a column to 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnValues {
    /// The field's value is one of these (`2xx`-style classes included).
    Values(Vec<String>),
    /// The field's value starts with one of these.
    Prefixes(Vec<String>),
    /// The field's value matches this regular expression (already checked to compile).
    Regex(String),
    /// The field matches no other column of its field, or is missing.
    Otherwise,
}

/// Where an `[[encode]]` field's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldShape {
    /// The member at the field's pointer: a column is 1 when the value matches it (the first
    /// matching column, in order, when their matchers overlap).
    Value,
    /// Every element of the array at the field's pointer: a column is 1 when the value at
    /// `member` inside any element matches it. Elements that are not objects, or lack the
    /// member, match nothing.
    Each {
        /// The pointer inside each element.
        member: Pointer,
    },
    /// The first element of the array whose `key` member equals `name` (ASCII case ignored): its
    /// value at `member` is read as one value, as [`FieldShape::Value`] reads a member.
    Select {
        /// The pointer inside the element to the value.
        member: Pointer,
        /// The pointer inside each element to its name.
        key: Pointer,
        /// The name looked for.
        name: String,
    },
}

impl FieldShape {
    /// Whether several columns of the field can be 1 at once.
    pub fn is_multi(&self) -> bool {
        matches!(self, FieldShape::Each { .. })
    }
}

/// A validated indicator column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Its id.
    pub id: ColumnId,
    /// The document member written as 0 or 1.
    pub name: String,
    /// What sets it.
    pub values: ColumnValues,
}

/// A validated `[[encode]]` field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedField {
    /// Where the value is (the array, for [`FieldShape::Each`] and [`FieldShape::Select`]).
    pub pointer: Pointer,
    /// How the value is read.
    pub shape: FieldShape,
    /// Compare ignoring ASCII case.
    pub ignore_case: bool,
    /// Absent from most records by nature, so its absence says nothing about the records' shape.
    pub optional: bool,
    /// Its columns, in order.
    pub columns: Vec<ColumnId>,
}

/// What a rule condition tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The whole line (the raw record text, the text line, or the event message).
    Line,
    /// One field.
    Field(Pointer),
}

/// A validated rule condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// A regular expression (already checked to compile) matches the target.
    Regex {
        /// What it tests.
        target: Target,
        /// The pattern.
        pattern: String,
    },
    /// A field equals one of these values (same semantics as a column's values).
    Values {
        /// The field.
        field: Pointer,
        /// The values.
        values: Vec<String>,
        /// Compare ignoring ASCII case.
        ignore_case: bool,
    },
}

/// A validated `[[rule]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Its id.
    pub id: RuleId,
    /// The name written into `rules`.
    pub name: String,
    /// Its severity.
    pub severity: Severity,
    /// What it means, for people (empty when not given).
    pub description: String,
    /// All of these must hold.
    pub conditions: Vec<Condition>,
}

/// The transformer's sections, validated: what the record function is compiled from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transform {
    resolved: TransformSections,
    timestamp: Pointer,
    fields: Vec<EncodedField>,
    columns: Vec<Column>,
    rules: Vec<Rule>,
    partition_keys: Vec<(String, Pointer)>,
    added: Vec<String>,
}

impl Transform {
    /// The sections with every `${VAR}` resolved: what `wafwatch config lambda-env` serialises.
    pub fn resolved(&self) -> &TransformSections {
        &self.resolved
    }

    /// The input format.
    pub fn format(&self) -> Format {
        self.resolved.source.format
    }

    /// For CloudWatch Logs input: the format of each event's message.
    pub fn message_format(&self) -> MessageFormat {
        self.resolved.source.message_format.unwrap_or_default()
    }

    /// Where the event time is.
    pub fn timestamp(&self) -> &Pointer {
        &self.timestamp
    }

    /// The monitored fields, in configuration order.
    pub fn fields(&self) -> &[EncodedField] {
        &self.fields
    }

    /// The members the `[[encode]]` fields read that the index maps as keywords, as JSON pointers:
    /// a plain field itself; for `each`, the member inside the elements (`/labels/name`, which
    /// OpenSearch maps as `labels.name` for every element); nothing for a `where` lookup, whose
    /// array (the headers) mixes values of different names.
    pub fn keyword_members(&self) -> Vec<String> {
        self.fields
            .iter()
            .filter_map(|f| match &f.shape {
                FieldShape::Value => Some(f.pointer.as_str().to_owned()),
                FieldShape::Each { member } => Some(format!("{}{}", f.pointer, member)),
                FieldShape::Select { .. } => None,
            })
            .collect()
    }

    /// The indicator columns, in output order (`columns()[id.index()]` is the column `id`).
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The indicator column names, in output order.
    pub fn column_names(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|c| c.name.as_str())
    }

    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<ColumnId> {
        self.columns.iter().find(|c| c.name == name).map(|c| c.id)
    }

    /// The rules, in configuration order (`rules()[id.index()]` is the rule `id`).
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The rule called `name`.
    pub fn rule(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.name == name)
    }

    /// The delivery stream's destination kind.
    pub fn destination(&self) -> Destination {
        self.resolved.delivery.destination
    }

    /// Whether records that cannot be answered in this invocation are re-ingested.
    pub fn reingest(&self) -> bool {
        self.resolved.delivery.reingest
    }

    /// `metadata.partitionKeys` names and where their values are (S3 dynamic partitioning).
    pub fn partition_keys(&self) -> &[(String, Pointer)] {
        &self.partition_keys
    }

    /// Whether the response carries `metadata.partitionKeys`.
    pub fn has_partition_keys(&self) -> bool {
        !self.partition_keys.is_empty()
    }

    /// The member names the transformer adds to every document: the columns, `@timestamp`, and
    /// `rules`/`severity` when rules are configured. An input member with one of these names is
    /// refused.
    pub fn added_members(&self) -> &[String] {
        &self.added
    }
}

impl Transform {
    /// The bundled default configuration's transformer sections, validated.
    pub fn bundled() -> Result<Transform, ConfigError> {
        TransformSections::from_whole_toml(crate::bundled::BUNDLED_DEFAULT_TOML)
            .and_then(|s| s.validate(Expansion::Environment))
            .map_err(|e| e.with_origin("bundled wafwatch.toml"))
    }

    /// The Lambda's configuration: the value of `WAFWATCH_TRANSFORM_CONFIG` (compact JSON, already
    /// resolved, so taken literally) when set and not blank, the bundled default otherwise.
    pub fn for_lambda(env_value: Option<&str>) -> Result<Transform, ConfigError> {
        match env_value {
            Some(json) if !json.trim().is_empty() => TransformSections::from_json(json)
                .and_then(|s| s.validate(Expansion::Literal))
                .map_err(|e| e.with_origin(crate::wire::TRANSFORM_CONFIG_ENV)),
            _ => Transform::bundled(),
        }
    }
}

/// The columns, `@timestamp`, and `rules` and `severity` when there are rules.
fn added_members(columns: &[Column], rules: &[Rule]) -> Vec<String> {
    let mut names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
    names.push(TIMESTAMP_MEMBER.to_owned());
    if !rules.is_empty() {
        names.push(RULES_MEMBER.to_owned());
        names.push(SEVERITY_MEMBER.to_owned());
    }
    names
}

impl TransformSections {
    /// Loads the sections from compact JSON (the Lambda's `WAFWATCH_TRANSFORM_CONFIG`).
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        serde_json::from_str(text).map_err(|e| ConfigError::one("(document)", e.to_string()))
    }

    /// Reads the transformer's sections out of a whole `wafwatch.toml`, ignoring the other sections
    /// (the whole-file model, `crate::file`, checks those).
    pub fn from_whole_toml(text: &str) -> Result<Self, ConfigError> {
        let mut table: toml::Table = toml::from_str(text).map_err(|e| ConfigError::one("(document)", e.to_string()))?;
        table.retain(|k, _| sections::NAMES.contains(&k));
        Self::deserialize(toml::Value::Table(table)).map_err(|e| ConfigError::one("(document)", e.to_string()))
    }

    /// Serialises the sections as compact JSON for `WAFWATCH_TRANSFORM_CONFIG`.
    pub fn to_compact_json(&self) -> String {
        // Serialising plain structs of strings, vectors and maps cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Expands variables, checks every key, and derives the validated [`Transform`].
    pub fn validate(&self, expansion: Expansion) -> Result<Transform, ConfigError> {
        let mut problems = Problems::default();
        let mut resolved = self.clone();
        checks::expand_all(&mut resolved, expansion, &mut problems);
        let timestamp = checks::source(&resolved.source, &mut problems);
        let (fields, columns) = checks::encode(&resolved.encode, &mut problems);
        let rules = checks::rules(&resolved.rule, &mut problems);
        let partition_keys = checks::delivery(&resolved.delivery, &mut problems);
        let added = added_members(&columns, &rules);
        let transform =
            timestamp.map(|timestamp| Transform { resolved, timestamp, fields, columns, rules, partition_keys, added });
        problems.finish_some(transform, "source.timestamp")
    }
}

#[cfg(test)]
mod tests;
