//! The `[index]` section of `wafwatch.toml`: where the documents live in OpenSearch and how their
//! fields are mapped.
//!
//! Firehose delivers to a write alias (`name`, default `waf-logs`); the bootstrap creates the first
//! index behind it (`waf-logs-000001`), a composable index template for `waf-logs-*` and an ISM
//! policy that rolls the index over by size or age and deletes indices after the retention.
//!
//! The mapping is explicit and `dynamic: false`, so no WAF document is ever refused for a member
//! nobody mapped: `@timestamp` is a date, every indicator column a `byte`, `rules` and `severity`
//! keywords, every `[[encode]]` field a keyword, the `ip` fields `ip`, the `keyword` fields keywords,
//! and the `not_indexed` members (headers, say) kept in `_source` but never indexed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::duration::{opensearch_duration, opensearch_size};
use crate::error::{ConfigError, Problems};
use crate::names;
use crate::pointer::Field;
use crate::wire::{RULES_MEMBER, SEVERITY_MEMBER, TIMESTAMP_MEMBER};

fn default_name() -> String {
    "waf-logs".into()
}
fn one() -> u32 {
    1
}
fn default_refresh() -> String {
    "30s".into()
}
fn default_rollover_size() -> String {
    "30gb".into()
}
fn default_rollover_age() -> String {
    "1d".into()
}
fn default_retention() -> String {
    "30d".into()
}
fn default_priority() -> u32 {
    200
}

/// `[index]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexSection {
    /// The write alias Firehose delivers to; indices are `NAME-000001`, `NAME-000002`, ... and the
    /// template matches `NAME-*`. Lower case, default `waf-logs`.
    #[serde(default = "default_name")]
    pub name: String,
    /// Primary shards per index. Default 1.
    #[serde(default = "one")]
    pub shards: u32,
    /// Replicas per shard. Default 1.
    #[serde(default = "one")]
    pub replicas: u32,
    /// How soon new documents become searchable. Default `30s`.
    #[serde(default = "default_refresh")]
    pub refresh_interval: String,
    /// Roll over to a new index at this size of the index (`30gb`). Default `30gb`.
    #[serde(default = "default_rollover_size")]
    pub rollover_size: String,
    /// ...or at this age (`1d`), whichever comes first. Default `1d`.
    #[serde(default = "default_rollover_age")]
    pub rollover_age: String,
    /// Delete indices this long after their creation (`30d`). Default `30d`.
    #[serde(default = "default_retention")]
    pub retention: String,
    /// The index template's priority; distinct from any other template matching the same indices.
    /// Default 200.
    #[serde(default = "default_priority")]
    pub template_priority: u32,
    /// More members mapped as `keyword` (JSON pointers), beyond the `[[encode]]` fields.
    #[serde(default)]
    pub keyword: Vec<String>,
    /// Members mapped as `ip` (JSON pointers), such as the client IP.
    #[serde(default)]
    pub ip: Vec<String>,
    /// Objects (or arrays of objects) kept in `_source` but never indexed (`enabled: false`), such
    /// as headers, whose free-form names would explode the mapping. Not for plain values: a member
    /// that is not mapped at all is already kept and not indexed (`dynamic: false`).
    #[serde(default)]
    pub not_indexed: Vec<String>,
}

impl Default for IndexSection {
    fn default() -> Self {
        IndexSection {
            name: default_name(),
            shards: 1,
            replicas: 1,
            refresh_interval: default_refresh(),
            rollover_size: default_rollover_size(),
            rollover_age: default_rollover_age(),
            retention: default_retention(),
            template_priority: default_priority(),
            keyword: Vec::new(),
            ip: Vec::new(),
            not_indexed: Vec::new(),
        }
    }
}

fn default_role() -> String {
    "wafwatch_firehose".into()
}

/// `[access]`: fine-grained access control on Amazon OpenSearch Service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessSection {
    /// The Firehose delivery role's ARN; when set (after `${VAR}` expansion), the bootstrap creates
    /// `role` with only the permissions Firehose needs and maps this ARN to it.
    #[serde(default)]
    pub firehose_role_arn: Option<String>,
    /// The security role's name. Default `wafwatch_firehose`.
    #[serde(default = "default_role")]
    pub role: String,
}

impl Default for AccessSection {
    fn default() -> Self {
        AccessSection { firehose_role_arn: None, role: default_role() }
    }
}

/// How a field is mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// `date`.
    Date,
    /// `keyword`.
    Keyword,
    /// `ip`.
    Ip,
    /// `byte`: the 0/1 indicator columns.
    Byte,
    /// An object kept in `_source`, not indexed (`enabled: false`).
    NotIndexed,
}

impl FieldType {
    /// How it reads in `wafwatch check`.
    pub fn describe(self) -> &'static str {
        match self {
            FieldType::Date => "date",
            FieldType::Keyword => "keyword",
            FieldType::Ip => "ip",
            FieldType::Byte => "byte",
            FieldType::NotIndexed => "not indexed",
        }
    }

    /// Whether an anomaly detector can use the field as a category field, or a monitor group by it.
    pub fn is_categorical(self) -> bool {
        matches!(self, FieldType::Keyword | FieldType::Ip)
    }
}

/// A validated `[index]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    /// The write alias.
    pub alias: String,
    /// Shards.
    pub shards: u32,
    /// Replicas.
    pub replicas: u32,
    /// Refresh interval.
    pub refresh_interval: String,
    /// Rollover size.
    pub rollover_size: String,
    /// Rollover age.
    pub rollover_age: String,
    /// Retention.
    pub retention: String,
    /// Template priority.
    pub template_priority: u32,
    /// Every mapped field by its dotted path, with its type.
    pub fields: BTreeMap<String, FieldType>,
}

impl Index {
    /// The first index behind the alias.
    pub fn first_index(&self) -> String {
        format!("{}-000001", self.alias)
    }

    /// The pattern every index behind the alias matches.
    pub fn pattern(&self) -> String {
        format!("{}-*", self.alias)
    }

    /// The mapped type of the member at `pointer`, if it is mapped.
    pub fn field_type(&self, pointer: &str) -> Option<FieldType> {
        Field::parse(pointer).ok().and_then(|f| self.fields.get(f.dotted()).copied())
    }
}

/// Validates `[index]` against the transformer's `[[encode]]` fields and columns.
pub fn validate(section: &IndexSection, encode_fields: &[&str], columns: &[&str]) -> Result<Index, ConfigError> {
    let mut problems = Problems::default();
    check_settings(section, &mut problems);
    let fields = mapping(section, encode_fields, columns, &mut problems);
    check_leaves(&fields, &mut problems);
    problems.finish(Index {
        alias: section.name.clone(),
        shards: section.shards,
        replicas: section.replicas,
        refresh_interval: section.refresh_interval.clone(),
        rollover_size: section.rollover_size.clone(),
        rollover_age: section.rollover_age.clone(),
        retention: section.retention.clone(),
        template_priority: section.template_priority,
        fields,
    })
}

/// The alias, shard count, durations and rollover size are values OpenSearch accepts.
fn check_settings(section: &IndexSection, problems: &mut Problems) {
    if let Err(problem) = names::index_name(&section.name) {
        problems.push("index.name", problem);
    }
    if section.shards == 0 {
        problems.push("index.shards", "expected at least 1");
    }
    for (key, value) in [
        ("refresh_interval", &section.refresh_interval),
        ("rollover_age", &section.rollover_age),
        ("retention", &section.retention),
    ] {
        if !opensearch_duration(value) {
            problems.push(
                format!("index.{key}"),
                format!("`{value}` is not a duration OpenSearch reads (write 30s, 12h, 1d, 30d)"),
            );
        }
    }
    if !opensearch_size(&section.rollover_size) {
        problems.push("index.rollover_size", format!("`{}` is not a size (write 512mb, 30gb)", section.rollover_size));
    }
}

/// Every member the pipeline uses, by dotted name, with its type; each mapped once.
fn mapping(
    section: &IndexSection,
    encode_fields: &[&str],
    columns: &[&str],
    problems: &mut Problems,
) -> BTreeMap<String, FieldType> {
    let mut fields: BTreeMap<String, FieldType> = BTreeMap::new();
    fields.insert(TIMESTAMP_MEMBER.to_owned(), FieldType::Date);
    fields.insert(RULES_MEMBER.to_owned(), FieldType::Keyword);
    fields.insert(SEVERITY_MEMBER.to_owned(), FieldType::Keyword);
    for c in columns {
        fields.insert((*c).to_owned(), FieldType::Byte);
    }
    let mut add = |key: String, pointer: &str, ty: FieldType| match Field::parse(pointer) {
        Ok(field) => match fields.get(field.dotted()) {
            // An `ip` field may also be an [[encode]] field (mapped keyword by default): ip wins.
            Some(prev) if *prev != ty && !(ty == FieldType::Ip && *prev == FieldType::Keyword) => {
                problems.push(key, format!("`{pointer}` is already mapped as {prev:?}; map it once"))
            }
            _ => {
                fields.insert(field.dotted().to_owned(), ty);
            }
        },
        Err(problem) => problems.push(key, problem),
    };
    for f in encode_fields {
        add("encode".into(), f, FieldType::Keyword);
    }
    for (i, f) in section.keyword.iter().enumerate() {
        add(format!("index.keyword[{i}]"), f, FieldType::Keyword);
    }
    for (i, f) in section.ip.iter().enumerate() {
        add(format!("index.ip[{i}]"), f, FieldType::Ip);
    }
    for (i, f) in section.not_indexed.iter().enumerate() {
        add(format!("index.not_indexed[{i}]"), f, FieldType::NotIndexed);
    }
    fields
}

/// A leaf cannot also be an object holding other mapped fields.
fn check_leaves(fields: &BTreeMap<String, FieldType>, problems: &mut Problems) {
    let names: Vec<&String> = fields.keys().collect();
    for pair in names.windows(2) {
        if let Some(rest) = pair[1].strip_prefix(pair[0].as_str())
            && rest.starts_with('.')
        {
            problems.push(
                "index",
                format!(
                    "`{}` is mapped as a field and also holds `{}`; a member is a value or an object, not both",
                    pair[0], pair[1]
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_every_field_the_pipeline_uses() {
        let section = IndexSection {
            ip: vec!["/httpRequest/clientIp".into()],
            keyword: vec!["/httpRequest/uri".into()],
            not_indexed: vec!["/httpRequest/headers".into()],
            ..IndexSection::default()
        };
        let index = validate(&section, &["/action", "/httpRequest/country"], &["B_action", "K_action"]).unwrap();
        assert_eq!(index.field_type("/httpRequest/clientIp"), Some(FieldType::Ip));
        assert_eq!(index.field_type("/httpRequest/country"), Some(FieldType::Keyword));
        assert_eq!(index.fields["B_action"], FieldType::Byte);
        assert_eq!(index.fields["@timestamp"], FieldType::Date);
        assert_eq!(index.fields["rules"], FieldType::Keyword);
        assert_eq!(index.fields["httpRequest.headers"], FieldType::NotIndexed);
        assert_eq!((index.first_index(), index.pattern()), ("waf-logs-000001".into(), "waf-logs-*".into()));
    }

    #[test]
    fn refuses_what_opensearch_would() {
        let section = IndexSection {
            name: "WAF logs".into(),
            rollover_size: "big".into(),
            retention: "30 days".into(),
            keyword: vec!["/a.b".into(), "/x".into()],
            not_indexed: vec!["/x/y".into()],
            ..IndexSection::default()
        };
        let problems: Vec<String> =
            validate(&section, &[], &[]).unwrap_err().problems.iter().map(ToString::to_string).collect();
        let joined = problems.join("\n");
        for needle in [
            "`index.name`: `WAF logs`: an index alias is lower-case",
            "`index.rollover_size`: `big` is not a size",
            "`index.retention`: `30 days` is not a duration",
            "`index.keyword[0]`: `/a.b`: a member whose name is empty or holds a `.` cannot be mapped",
            "`x` is mapped as a field and also holds `x.y`",
        ] {
            assert!(joined.contains(needle), "missing {needle} in\n{joined}");
        }
    }
}
