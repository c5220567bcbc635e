//! Index templates, indices and aliases, and document counts (contract §5).

use std::collections::BTreeMap;

use axum::response::Response;
use serde_json::{Value, json};

use super::{Index, Req, State, error, flatten, matches, not_found, reply};

/// Answers a request to its part of the API.
pub(super) fn route(s: &mut State, r: &Req<'_>) -> Response {
    let json_body = r.json_body.clone();
    let (m, seg) = (r.method, r.seg);
    match (m, seg) {
        // ---- index templates (§5)
        ("GET", ["_index_template", name]) => match s.templates.get(*name) {
            Some(t) => reply(200, json!({"index_templates": [{"name": name, "index_template": t}]})),
            None => error(404, "resource_not_found_exception", &format!("index template matching [{name}] not found")),
        },
        ("PUT", ["_index_template", name]) => {
            let Some(b) = json_body else { return error(400, "parse_exception", "request body is required") };
            let patterns: Vec<String> = b["index_patterns"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p.as_str().map(str::to_owned))
                .collect();
            if patterns.is_empty() {
                s.violate(format!("template {name} without index_patterns"));
                return error(400, "action_request_validation_exception", "index patterns are missing");
            }
            let priority = b["priority"].as_i64().unwrap_or(0);
            for (other, t) in &s.templates {
                if other == name || t["priority"].as_i64().unwrap_or(0) != priority {
                    continue;
                }
                let overlap = t["index_patterns"].as_array().into_iter().flatten().filter_map(Value::as_str).any(|o| {
                    patterns.iter().any(|p| matches(o, p.trim_end_matches('*')) || matches(p, o.trim_end_matches('*')))
                });
                if overlap {
                    return error(
                        400,
                        "illegal_argument_exception",
                        &format!(
                            "index template [{name}] has index patterns {patterns:?} matching patterns from existing templates [{other}] with the same priority; multiple index templates may not match during index creation, please use a different priority"
                        ),
                    );
                }
            }
            if b.pointer("/template/mappings").and_then(Value::as_object).is_some_and(|m| m.contains_key("_doc")) {
                s.violate(format!("template {name} has a typed mapping"));
            }
            s.templates.insert((*name).to_owned(), b);
            reply(200, json!({"acknowledged": true}))
        }
        ("DELETE", ["_index_template", name]) => match s.templates.remove(*name) {
            Some(_) => reply(200, json!({"acknowledged": true})),
            None => not_found("index template"),
        },
        // ---- indices and aliases (§5)
        ("GET", ["_alias", alias]) => {
            let found: BTreeMap<String, Value> = s
                .indices
                .iter()
                .filter(|(_, i)| i.aliases.contains_key(*alias))
                .map(|(n, i)| (n.clone(), json!({"aliases": {*alias: {"is_write_index": i.aliases[*alias]}}})))
                .collect();
            if found.is_empty() {
                reply(404, json!({"error": format!("alias [{alias}] missing"), "status": 404}))
            } else {
                reply(200, json!(found))
            }
        }
        ("POST", ["_aliases"]) => {
            let Some(b) = json_body else { return error(400, "parse_exception", "request body is required") };
            for a in b["actions"].as_array().into_iter().flatten() {
                if let Some(add) = a.get("add") {
                    let (index, alias) = (add["index"].as_str().unwrap_or(""), add["alias"].as_str().unwrap_or(""));
                    match s.indices.get_mut(index) {
                        Some(i) => {
                            i.aliases.insert(alias.to_owned(), add["is_write_index"].as_bool().unwrap_or(false));
                        }
                        None => return error(404, "index_not_found_exception", &format!("no such index [{index}]")),
                    }
                }
            }
            reply(200, json!({"acknowledged": true}))
        }
        ("GET", [target, "_count"]) => {
            let found = s.resolve(target);
            if found.is_empty() {
                return error(404, "index_not_found_exception", &format!("no such index [{target}]"));
            }
            let count: u64 = found.iter().map(|i| s.indices[i].docs).sum();
            reply(200, json!({"count": count, "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0}}))
        }
        ("GET" | "HEAD", [name]) if !name.starts_with('_') => match s.indices.get(*name) {
            Some(_) => reply(200, json!({*name: {}})),
            None => error(404, "index_not_found_exception", &format!("no such index [{name}]")),
        },
        ("PUT", [name]) if !name.starts_with('_') => {
            if s.indices.contains_key(*name) {
                return error(400, "resource_already_exists_exception", &format!("index [{name}] already exists"));
            }
            // The highest-priority matching template gives the mapping and settings.
            let mut best: Option<(i64, Value)> = None;
            for t in s.templates.values() {
                let hit = t["index_patterns"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .any(|p| matches(p, name));
                let prio = t["priority"].as_i64().unwrap_or(0);
                if hit && best.as_ref().is_none_or(|(bp, _)| prio > *bp) {
                    best = Some((prio, t.clone()));
                }
            }
            let mut index = Index::default();
            if let Some((_, t)) = &best {
                flatten(&t["template"]["mappings"]["properties"], "", &mut index.mapping);
            }
            if let Some(aliases) = json_body.as_ref().and_then(|b| b["aliases"].as_object()) {
                for (a, v) in aliases {
                    index.aliases.insert(a.clone(), v["is_write_index"].as_bool().unwrap_or(false));
                    let rollover = best.as_ref().and_then(|(_, t)| {
                        t.pointer("/template/settings/plugins.index_state_management.rollover_alias")
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                    });
                    if rollover.as_deref() == Some(a.as_str()) && *name != format!("{a}-000001") {
                        s.violate(format!("first index {name} behind rollover alias {a} is not {a}-000001"));
                    }
                }
            }
            // ISM attaches the policy whose ism_template matches (only at creation).
            index.policy = s
                .policies
                .iter()
                .find(|(_, (p, _))| {
                    p["ism_template"].as_array().into_iter().flatten().any(|t| {
                        t["index_patterns"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(Value::as_str)
                            .any(|p| matches(p, name))
                    })
                })
                .map(|(id, (_, seq))| (id.clone(), *seq));
            s.indices.insert((*name).to_owned(), index);
            reply(200, json!({"acknowledged": true, "shards_acknowledged": true, "index": name}))
        }
        _ => r.no_handler(),
    }
}
