//! The named checks of the transformer's sections. Each looks at one concept, records what is
//! wrong under its key, and returns what it derived.

use std::collections::HashMap;

use super::{
    Column, ColumnId, ColumnSection, ColumnValues, Condition, ConditionSection, DeliverySection, Destination,
    EncodeSection, EncodedField, Format, Rule, RuleId, RuleSection, SourceSection, Target, TransformSections,
};
use crate::error::Problems;
use crate::expand::Expansion;
use crate::names;
use crate::pointer::Pointer;
use crate::wire::ADDED_MEMBERS;

/// Expands `${VAR}` in every value the transformer reads, in place.
pub(super) fn expand_all(s: &mut TransformSections, expansion: Expansion, problems: &mut Problems) {
    let mut expand = |key: String, raw: &mut String| match expansion.apply(raw) {
        Ok(v) => {
            if v != *raw {
                *raw = v.into_owned();
            }
        }
        Err(e) => problems.push(key, e.to_string()),
    };
    expand("source.timestamp".into(), &mut s.source.timestamp);
    for (i, enc) in s.encode.iter_mut().enumerate() {
        expand(format!("encode[{i}].field"), &mut enc.field);
        for (j, col) in enc.columns.iter_mut().enumerate() {
            expand(format!("encode[{i}].columns[{j}].name"), &mut col.name);
            for (k, v) in col.values.iter_mut().flatten().enumerate() {
                expand(format!("encode[{i}].columns[{j}].values[{k}]"), &mut v.0);
            }
        }
    }
    for (i, rule) in s.rule.iter_mut().enumerate() {
        expand(format!("rule[{i}].name"), &mut rule.name);
        for (j, c) in rule.conditions.iter_mut().enumerate() {
            let key = format!("rule[{i}].match[{j}]");
            if let Some(f) = &mut c.field {
                expand(format!("{key}.field"), f);
            }
            if let Some(re) = &mut c.regex {
                expand(format!("{key}.regex"), re);
            }
            for (k, v) in c.values.iter_mut().flatten().enumerate() {
                expand(format!("{key}.values[{k}]"), &mut v.0);
            }
        }
    }
    let keys = std::mem::take(&mut s.delivery.partition_keys);
    for (name, mut pointer) in keys {
        expand(format!("delivery.partition_keys.{name}"), &mut pointer);
        s.delivery.partition_keys.insert(name, pointer);
    }
}

/// A JSON pointer, or the problem at `key`.
fn pointer(text: &str, key: String, problems: &mut Problems) -> Option<Pointer> {
    Pointer::parse(text).map_err(|e| problems.push(key, e.to_string())).ok()
}

/// `[source]`: the timestamp pointer, and `message_format` only with CloudWatch Logs input.
pub(super) fn source(src: &SourceSection, problems: &mut Problems) -> Option<Pointer> {
    if src.message_format.is_some() && src.format != Format::CloudwatchLogs {
        problems.push(
            "source.message_format",
            "only applies with format = \"cloudwatch-logs\" (remove it, or change the format)",
        );
    }
    pointer(&src.timestamp, "source.timestamp".into(), problems)
}

/// `[[encode]]`: each field once, each with columns; every column checked by [`column`].
pub(super) fn encode(sections: &[EncodeSection], problems: &mut Problems) -> (Vec<EncodedField>, Vec<Column>) {
    let mut fields = Vec::new();
    let mut columns: Vec<Column> = Vec::new();
    let mut column_at: HashMap<String, String> = HashMap::new();
    let mut seen_fields: HashMap<&str, usize> = HashMap::new();
    for (i, enc) in sections.iter().enumerate() {
        let base = format!("encode[{i}]");
        let parsed = pointer(&enc.field, format!("{base}.field"), problems);
        if let Some(prev) = seen_fields.insert(&enc.field, i) {
            problems.push(
                format!("{base}.field"),
                format!("`{}` is already encoded by encode[{prev}]; put all its columns in one [[encode]]", enc.field),
            );
        }
        if enc.columns.is_empty() {
            problems.push(format!("{base}.columns"), "expected at least one column");
        }
        let mut ids = Vec::new();
        let mut has_otherwise = false;
        let mut value_owner: HashMap<String, &str> = HashMap::new();
        for (j, col) in enc.columns.iter().enumerate() {
            let key = format!("{base}.columns[{j}]");
            column_name(col, &key, &mut column_at, problems);
            let id = ColumnId(columns.len());
            let values = column_values(col, enc.ignore_case, &key, &mut has_otherwise, &mut value_owner, problems);
            columns.push(Column { id, name: col.name.clone(), values });
            ids.push(id);
        }
        if let Some(pointer) = parsed {
            fields.push(EncodedField { pointer, ignore_case: enc.ignore_case, columns: ids });
        }
    }
    (fields, columns)
}

/// A column's name: not one the transformer writes itself, usable as a member, unique.
fn column_name(col: &ColumnSection, key: &str, column_at: &mut HashMap<String, String>, problems: &mut Problems) {
    let name_key = format!("{key}.name");
    if ADDED_MEMBERS.contains(&col.name.as_str()) {
        problems.push(name_key, format!("`{}` is written by the transformer itself", col.name));
    } else if let Err(problem) = names::column_name(&col.name) {
        problems.push(name_key, problem);
    } else if let Some(prev) = column_at.insert(col.name.clone(), key.to_owned()) {
        problems.push(name_key, format!("duplicate column name `{}` (also at {prev})", col.name));
    }
}

/// A column's values: either a non-empty `values` list or `otherwise = true` (once per field), and
/// no value listed for two columns of the same field.
fn column_values<'a>(
    col: &'a ColumnSection,
    ignore_case: bool,
    key: &str,
    has_otherwise: &mut bool,
    value_owner: &mut HashMap<String, &'a str>,
    problems: &mut Problems,
) -> ColumnValues {
    match (&col.values, col.otherwise) {
        (Some(_), true) => {
            problems.push(key, "a column has either `values` or `otherwise = true`, not both");
            ColumnValues::Otherwise
        }
        (None, false) => {
            problems.push(key, "expected `values = [..]` or `otherwise = true`");
            ColumnValues::Otherwise
        }
        (None, true) => {
            if std::mem::replace(has_otherwise, true) {
                problems.push(format!("{key}.otherwise"), "only one column of a field can be `otherwise`");
            }
            ColumnValues::Otherwise
        }
        (Some(values), false) => {
            if values.is_empty() {
                problems.push(format!("{key}.values"), "expected a non-empty list of values");
            }
            for (k, v) in values.iter().enumerate() {
                let norm = if ignore_case { v.0.to_ascii_lowercase() } else { v.0.clone() };
                if let Some(prev) = value_owner.insert(norm, &col.name) {
                    problems.push(
                        format!("{key}.values[{k}]"),
                        format!("value `{}` is also listed for column `{prev}`; a value sets one column", v.0),
                    );
                }
            }
            ColumnValues::Values(values.iter().map(|v| v.0.clone()).collect())
        }
    }
}

/// `[[rule]]`: names usable and unique, at least one condition, every condition checked by
/// [`condition`].
pub(super) fn rules(sections: &[RuleSection], problems: &mut Problems) -> Vec<Rule> {
    let mut out = Vec::new();
    let mut names: HashMap<&str, usize> = HashMap::new();
    for (i, rule) in sections.iter().enumerate() {
        let base = format!("rule[{i}]");
        if let Err(problem) = names::rule_name(&rule.name) {
            problems.push(format!("{base}.name"), problem);
        }
        if let Some(prev) = names.insert(&rule.name, i) {
            problems.push(format!("{base}.name"), format!("duplicate rule name `{}` (also rule[{prev}])", rule.name));
        }
        if rule.conditions.is_empty() {
            problems.push(format!("{base}.match"), "expected at least one condition");
        }
        let conditions = rule
            .conditions
            .iter()
            .enumerate()
            .filter_map(|(j, c)| condition(c, &format!("{base}.match[{j}]"), problems))
            .collect();
        out.push(Rule {
            id: RuleId(i),
            name: rule.name.clone(),
            severity: rule.severity,
            description: rule.description.clone().unwrap_or_default(),
            conditions,
        });
    }
    out
}

/// One condition: a valid pointer (or none: the whole line), exactly one of a compiling `regex`
/// and a non-empty `values`, and `values` only on a field.
fn condition(c: &ConditionSection, key: &str, problems: &mut Problems) -> Option<Condition> {
    let target = match &c.field {
        None => Some(Target::Line),
        Some(f) => pointer(f, format!("{key}.field"), problems).map(Target::Field),
    };
    match (&c.regex, &c.values) {
        (Some(re), None) => match regex::Regex::new(re) {
            Ok(_) => Some(Condition::Regex { target: target?, pattern: re.clone() }),
            Err(e) => {
                problems.push(format!("{key}.regex"), format!("not a valid regular expression: {e}"));
                None
            }
        },
        (None, Some(values)) => {
            if values.is_empty() {
                problems.push(format!("{key}.values"), "expected a non-empty list of values");
            }
            match target? {
                Target::Field(field) => Some(Condition::Values {
                    field,
                    values: values.iter().map(|v| v.0.clone()).collect(),
                    ignore_case: c.ignore_case,
                }),
                Target::Line => {
                    problems.push(key, "`values` needs a `field` to compare (use `regex` to test the whole line)");
                    None
                }
            }
        }
        _ => {
            problems.push(key, "expected exactly one of `regex` or `values`");
            None
        }
    }
}

/// `[delivery]`: partition keys only for an S3 destination, each a usable name and a pointer.
pub(super) fn delivery(d: &DeliverySection, problems: &mut Problems) -> Vec<(String, Pointer)> {
    if !d.partition_keys.is_empty() && d.destination != Destination::S3 {
        problems.push(
            "delivery.partition_keys",
            "partition keys are only read by an S3 destination with dynamic partitioning (set destination = \"s3\")",
        );
    }
    let mut keys = Vec::new();
    for (name, text) in &d.partition_keys {
        let key = format!("delivery.partition_keys.{name}");
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
            problems.push(key.clone(), "expected a key name of letters, digits, `_` or `-`");
        }
        if let Some(p) = pointer(text, key, problems) {
            keys.push((name.clone(), p));
        }
    }
    keys
}
