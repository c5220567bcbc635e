//! The index side: the composable index template, the ISM policy, the first index behind the
//! write alias, and the security role Firehose writes with and its mapping.

use serde_json::{Map, Value, json};
use wafwatch_config::index::{FieldType, Index};

use super::mark::{MANAGED_BY, fingerprint, managed_suffix};

/// The index template's name, derived from the index alias.
pub fn template_name(index: &Index) -> String {
    format!("wafwatch-{}", index.alias)
}

/// The ISM policy id.
pub fn policy_id(index: &Index) -> String {
    format!("wafwatch-{}", index.alias)
}

/// How one configured field type is mapped.
fn mapping_for(ty: FieldType) -> Value {
    match ty {
        FieldType::Date => json!({"type": "date", "format": "strict_date_optional_time||epoch_millis"}),
        // Long values are not indexed rather than failing the document.
        FieldType::Keyword => json!({"type": "keyword", "ignore_above": 1024}),
        // A malformed address is not indexed rather than failing the document.
        FieldType::Ip => json!({"type": "ip", "ignore_malformed": true}),
        FieldType::Byte => json!({"type": "byte"}),
        FieldType::NotIndexed => json!({"type": "object", "enabled": false}),
    }
}

/// The mapping's `properties`: dotted names become nested objects.
fn properties(index: &Index) -> Value {
    let mut root = Map::new();
    for (name, ty) in &index.fields {
        let parts: Vec<&str> = if name == "@timestamp" { vec![name.as_str()] } else { name.split('.').collect() };
        let mut node = &mut root;
        for (i, part) in parts.iter().enumerate() {
            if i + 1 == parts.len() {
                node.insert((*part).to_owned(), mapping_for(*ty));
            } else {
                let entry = node.entry((*part).to_owned()).or_insert_with(|| json!({"properties": {}}));
                match entry.pointer_mut("/properties").and_then(Value::as_object_mut) {
                    Some(next) => node = next,
                    None => break,
                }
            }
        }
    }
    Value::Object(root)
}

/// `PUT /_index_template/{name}`.
pub fn index_template(index: &Index) -> Value {
    let mut body = json!({
        "index_patterns": [index.pattern()],
        "priority": index.template_priority,
        "template": {
            "settings": {
                "number_of_shards": index.shards,
                "number_of_replicas": index.replicas,
                "refresh_interval": index.refresh_interval,
                "plugins.index_state_management.rollover_alias": index.alias,
            },
            "mappings": {"dynamic": false, "properties": properties(index)},
        },
        "_meta": {"managed_by": MANAGED_BY, "description": format!("Documents of the {} alias, written by the wafwatch Firehose transformer.", index.alias)},
    });
    let fp = fingerprint(&body);
    body["_meta"]["fingerprint"] = json!(fp);
    body
}

/// `PUT /_plugins/_ism/policies/{id}`.
pub fn ism_policy(index: &Index) -> Value {
    let mut body = json!({"policy": {
        "description": format!(
            "Roll {} over at {} or {}, delete indices after {}.",
            index.alias, index.rollover_size, index.rollover_age, index.retention
        ),
        "default_state": "hot",
        "states": [
            {
                "name": "hot",
                "actions": [{"rollover": {"min_size": index.rollover_size, "min_index_age": index.rollover_age}}],
                "transitions": [{"state_name": "delete", "conditions": {"min_index_age": index.retention}}],
            },
            {"name": "delete", "actions": [{"delete": {}}], "transitions": []},
        ],
        "ism_template": [{"index_patterns": [index.pattern()], "priority": 100}],
    }});
    let fp = fingerprint(&body);
    let description = format!("{}{}", body["policy"]["description"].as_str().unwrap_or(""), managed_suffix(&fp));
    body["policy"]["description"] = json!(description);
    body
}

/// `PUT /{first index}`: the first index, with the write alias.
pub fn first_index(index: &Index) -> Value {
    json!({"aliases": {index.alias.clone(): {"is_write_index": true}}})
}

/// The security role Firehose needs: write documents through the alias, nothing else.
pub fn firehose_role(index: &Index) -> Value {
    json!({
        "description": format!("Firehose delivery into the {} alias (managed by wafwatch)", index.alias),
        "cluster_permissions": ["cluster_composite_ops", "cluster_monitor"],
        "index_permissions": [{
            "index_patterns": [format!("{}*", index.alias)],
            "allowed_actions": ["crud", "indices:admin/get", "indices:admin/mappings/get"],
        }],
    })
}

/// The role mapping: the Firehose delivery role's ARN as a backend role.
pub fn firehose_role_mapping(role_arn: &str) -> Value {
    json!({"backend_roles": [role_arn], "hosts": [], "users": []})
}
