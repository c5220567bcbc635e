//! Rules 17 and 18: the index template, the ISM policy and the first index behind the rollover
//! alias.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::check::{Check, Seen, str_at};

/// Field types of a mapping's `properties`, by dotted name.
fn flatten_mapping(props: &Value, prefix: &str, out: &mut HashMap<String, String>) {
    let Some(map) = props.as_object() else { return };
    for (k, v) in map {
        let name = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        if let Some(t) = v.get("type").and_then(Value::as_str) {
            out.insert(name.clone(), t.to_owned());
        }
        if let Some(p) = v.get("properties") {
            flatten_mapping(p, &name, out);
        }
    }
}

/// Whether two index patterns can match the same index.
fn patterns_overlap(a: &str, b: &str) -> bool {
    let stem = |p: &str| p.split('*').next().unwrap_or("").to_owned();
    let (sa, sb) = (stem(a), stem(b));
    sa.starts_with(&sb) || sb.starts_with(&sa)
}

/// Rule 17: an index template.
pub(super) fn template(b: &Value, seen: &mut Seen, c: &mut Check<'_>) {
    let patterns: Vec<String> = b
        .get("index_patterns")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    if patterns.is_empty() {
        c.fail(17, "index_patterns is empty");
    }
    let priority = b.get("priority").and_then(Value::as_i64).unwrap_or(0);
    for (name, other, p) in &seen.templates {
        if *p == priority && patterns.iter().any(|a| other.iter().any(|o| patterns_overlap(a, o))) {
            c.fail(17, format!("priority {priority} is also the priority of template {name}, whose patterns overlap"));
        }
    }
    let mappings = b.pointer("/template/mappings");
    if let Some(m) = mappings.and_then(Value::as_object)
        && m.keys()
            .any(|k| k != "dynamic" && k != "properties" && k != "_source" && k != "dynamic_templates" && k != "_meta")
    {
        c.fail(17, "mappings must be typeless (only dynamic, properties, _source, dynamic_templates, _meta)");
    }
    if let Some(props) = mappings.and_then(|m| m.get("properties")) {
        flatten_mapping(props, "", &mut seen.mappings);
    }
    if let Some(alias) = str_at(b, "/template/settings/plugins.index_state_management.rollover_alias") {
        seen.rollover_aliases.insert(alias.to_owned());
    }
    seen.templates.push((c.request.clone(), patterns, priority));
}

/// Rule 18: an ISM policy.
pub(super) fn policy(b: &Value, c: &mut Check<'_>) {
    let p = b.get("policy").unwrap_or(&Value::Null);
    let states = p.get("states").and_then(Value::as_array).cloned().unwrap_or_default();
    if states.is_empty() {
        c.fail(18, "a policy needs at least one state");
    }
    let names: Vec<&str> = states.iter().filter_map(|s| s.get("name").and_then(Value::as_str)).collect();
    let unique: HashSet<&&str> = names.iter().collect();
    if unique.len() != names.len() {
        c.fail(18, "state names must be unique");
    }
    match str_at(p, "/default_state") {
        Some(d) if names.contains(&d) => {}
        other => c.fail(18, format!("default_state {other:?} names no state")),
    }
    for s in &states {
        let name = s.get("name").and_then(Value::as_str).unwrap_or("?");
        let actions = s.get("actions").and_then(Value::as_array).cloned().unwrap_or_default();
        if let Some(pos) = actions.iter().position(|a| a.get("delete").is_some()) {
            if pos + 1 != actions.len() {
                c.fail(18, format!("state {name}: nothing may follow a delete action"));
            }
            if s.get("transitions").and_then(Value::as_array).is_some_and(|t| !t.is_empty()) {
                c.fail(18, format!("state {name} deletes the index, so it can have no transitions"));
            }
        }
        for a in &actions {
            if let Some(ro) = a.get("rollover").and_then(Value::as_object) {
                for (k, v) in ro {
                    let positive = match v {
                        Value::Number(n) => n.as_f64().is_some_and(|n| n > 0.0),
                        Value::String(t) => t
                            .trim_start_matches(|ch: char| !ch.is_ascii_digit())
                            .chars()
                            .next()
                            .is_some_and(|d| d != '0'),
                        _ => true,
                    };
                    if !positive {
                        c.fail(18, format!("state {name}: rollover {k} must be greater than 0"));
                    }
                }
            }
        }
        for t in s.get("transitions").and_then(Value::as_array).into_iter().flatten() {
            let target = t.get("state_name").and_then(Value::as_str).unwrap_or("");
            if !names.contains(&target) {
                c.fail(18, format!("state {name}: transition to {target:?}, which is not a state"));
            }
            if t.get("conditions").and_then(Value::as_object).is_some_and(|m| m.len() > 1) {
                c.fail(18, format!("state {name}: a transition has at most one condition"));
            }
        }
    }
    let templates: Vec<&Value> = match p.get("ism_template") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => vec![],
    };
    for t in templates {
        if t.get("index_patterns").and_then(Value::as_array).is_none_or(Vec::is_empty) {
            c.fail(18, "ism_template needs index_patterns");
        }
        if t.get("priority").and_then(Value::as_i64).is_some_and(|p| p < 0) {
            c.fail(18, "ism_template priority must be 0 or more");
        }
    }
}

/// Rule 18: the first index behind a rollover alias is `<alias>-000001`.
pub(super) fn first_index(name: &str, b: &Value, seen: &mut Seen, c: &mut Check<'_>) {
    if let Some(aliases) = b.get("aliases").and_then(Value::as_object) {
        for alias in aliases.keys() {
            if seen.rollover_aliases.contains(alias) && name != format!("{alias}-000001") {
                c.fail(18, format!("the first index behind rollover alias {alias} must be named {alias}-000001"));
            }
        }
    }
}
