//! The named checks of the transformer's sections. Each looks at one concept, records what is
//! wrong under its key, and returns what it derived.

use std::collections::HashMap;

use super::{
    Column, ColumnId, ColumnSection, ColumnValues, Condition, ConditionSection, DeliverySection, Destination,
    EncodeSection, EncodedField, FieldShape, Format, Rule, RuleId, RuleSection, SourceSection, Target,
    TransformSections,
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
        if let Some(each) = &mut enc.each {
            expand(format!("encode[{i}].each"), each);
        }
        if let Some(sel) = &mut enc.select {
            expand(format!("encode[{i}].where.member"), &mut sel.member);
            expand(format!("encode[{i}].where.equals"), &mut sel.equals);
        }
        for (j, col) in enc.columns.iter_mut().enumerate() {
            let key = format!("encode[{i}].columns[{j}]");
            expand(format!("{key}.name"), &mut col.name);
            for (k, v) in col.values.iter_mut().flatten().enumerate() {
                expand(format!("{key}.values[{k}]"), &mut v.0);
            }
            for (k, v) in col.prefixes.iter_mut().flatten().enumerate() {
                expand(format!("{key}.prefixes[{k}]"), v);
            }
            if let Some(re) = &mut col.regex {
                expand(format!("{key}.regex"), re);
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

/// `[[encode]]`: each a group of columns over one field, of which a value sets at most one; a field
/// may have more than one group (the status class, and a server-error indicator beside it). The
/// shape checked by [`shape`], every column by [`column_name`] and [`column_values`].
pub(super) fn encode(sections: &[EncodeSection], problems: &mut Problems) -> (Vec<EncodedField>, Vec<Column>) {
    let mut fields = Vec::new();
    let mut columns: Vec<Column> = Vec::new();
    let mut column_at: HashMap<String, String> = HashMap::new();
    for (i, enc) in sections.iter().enumerate() {
        let base = format!("encode[{i}]");
        let parsed = pointer(&enc.field, format!("{base}.field"), problems);
        let shape = shape(enc, &base, problems);
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
            let values = column_values(col, &key, &mut has_otherwise, problems);
            if let ColumnValues::Values(listed) = &values {
                values_once(listed, enc.ignore_case, &col.name, &key, &mut value_owner, problems);
            }
            columns.push(Column { id, name: col.name.clone(), values });
            ids.push(id);
        }
        if let (Some(pointer), Some(shape)) = (parsed, shape) {
            fields.push(EncodedField {
                pointer,
                shape,
                ignore_case: enc.ignore_case,
                optional: enc.optional,
                columns: ids,
            });
        }
    }
    (fields, columns)
}

/// How the field is read: a member, every element of an array (`each`), or the element an array
/// holds under a name (`each` with `where`); `where` needs `each`, and both hold valid pointers.
fn shape(enc: &EncodeSection, base: &str, problems: &mut Problems) -> Option<FieldShape> {
    let Some(each) = &enc.each else {
        if enc.select.is_some() {
            problems.push(format!("{base}.where"), "`where` picks an array element: it needs `each` as well");
            return None;
        }
        return Some(FieldShape::Value);
    };
    let member = pointer(each, format!("{base}.each"), problems);
    let Some(sel) = &enc.select else {
        return member.map(|member| FieldShape::Each { member });
    };
    let key = pointer(&sel.member, format!("{base}.where.member"), problems);
    if sel.equals.is_empty() {
        problems.push(format!("{base}.where.equals"), "expected a non-empty name to look for");
    }
    Some(FieldShape::Select { member: member?, key: key?, name: sel.equals.clone() })
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

/// What sets a column: exactly one of a non-empty `values`, a non-empty `prefixes`, a compiling
/// `regex`, or `otherwise = true` (once per field).
fn column_values(col: &ColumnSection, key: &str, has_otherwise: &mut bool, problems: &mut Problems) -> ColumnValues {
    let given = [col.values.is_some(), col.prefixes.is_some(), col.regex.is_some(), col.otherwise];
    if given.iter().filter(|g| **g).count() != 1 {
        problems.push(
            key,
            "expected exactly one of `values = [..]`, `prefixes = [..]`, `regex = \"..\"` or `otherwise = true`",
        );
        return ColumnValues::Otherwise;
    }
    if let Some(values) = &col.values {
        non_empty(values, &format!("{key}.values"), "values", problems);
        ColumnValues::Values(values.iter().map(|v| v.0.clone()).collect())
    } else if let Some(prefixes) = &col.prefixes {
        non_empty(prefixes, &format!("{key}.prefixes"), "prefixes", problems);
        ColumnValues::Prefixes(prefixes.clone())
    } else if let Some(re) = &col.regex {
        if let Err(e) = regex::Regex::new(re) {
            problems.push(format!("{key}.regex"), format!("not a valid regular expression: {e}"));
        }
        ColumnValues::Regex(re.clone())
    } else {
        if std::mem::replace(has_otherwise, true) {
            problems.push(format!("{key}.otherwise"), "only one column of a field can be `otherwise`");
        }
        ColumnValues::Otherwise
    }
}

fn non_empty<T>(list: &[T], key: &str, what: &str, problems: &mut Problems) {
    if list.is_empty() {
        problems.push(key, format!("expected a non-empty list of {what}"));
    }
}

/// No value listed for two columns of the same field: a value sets one column.
fn values_once<'a>(
    listed: &[String],
    ignore_case: bool,
    column: &'a str,
    key: &str,
    value_owner: &mut HashMap<String, &'a str>,
    problems: &mut Problems,
) {
    for (k, v) in listed.iter().enumerate() {
        let norm = if ignore_case { v.to_ascii_lowercase() } else { v.clone() };
        if let Some(prev) = value_owner.insert(norm, column) {
            problems.push(
                format!("{key}.values[{k}]"),
                format!("value `{v}` is also listed for column `{prev}`; a value sets one column"),
            );
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
