//! The notifications plugin's channels (contract §4).

use axum::response::Response;
use serde_json::{Value, json};

use super::{Req, State, error, reply};

/// Answers a request to its part of the API.
pub(super) fn route(s: &mut State, r: &Req<'_>) -> Response {
    let json_body = r.json_body.clone();
    let (m, seg) = (r.method, r.seg);
    match (m, seg) {
        ("POST", ["_plugins", "_notifications", "configs"]) => {
            let Some(b) = json_body else { return error(400, "parse_exception", "request body is required") };
            check_channel(s, &b, true);
            let id = b["config_id"].as_str().map(str::to_owned).unwrap_or_else(|| s.id("cfg"));
            if !id.bytes().all(|c| c.is_ascii_alphanumeric() || b"+/_-".contains(&c)) {
                return error(400, "illegal_argument_exception", "Invalid characters in id");
            }
            if s.channels.contains_key(&id) {
                return error(
                    409,
                    "version_conflict_engine_exception",
                    &format!("[{id}]: version conflict, document already exists"),
                );
            }
            s.channels.insert(id.clone(), b["config"].clone());
            reply(200, json!({"config_id": id}))
        }
        ("GET", ["_plugins", "_notifications", "configs", id]) => match s.channels.get(*id) {
            Some(c) => reply(
                200,
                json!({"start_index": 0, "total_hits": 1, "total_hit_relation": "eq", "config_list": [{"config_id": id, "last_updated_time_ms": 1, "created_time_ms": 1, "config": c}]}),
            ),
            None => error(404, "status_exception", &format!("NotificationConfig {id} not found")),
        },
        ("PUT", ["_plugins", "_notifications", "configs", id]) => {
            let Some(b) = json_body else { return error(400, "parse_exception", "request body is required") };
            check_channel(s, &b, false);
            match s.channels.get(*id) {
                None => error(404, "status_exception", &format!("NotificationConfig {id} not found")),
                Some(c) if c["config_type"] != b["config"]["config_type"] => {
                    error(409, "status_exception", "Config type cannot be changed after creation")
                }
                Some(_) => {
                    s.channels.insert((*id).to_owned(), b["config"].clone());
                    reply(200, json!({"config_id": id}))
                }
            }
        }
        ("DELETE", ["_plugins", "_notifications", "configs", id]) => match s.channels.remove(*id) {
            Some(_) => reply(200, json!({"delete_response_list": {*id: "OK"}})),
            None => error(404, "status_exception", &format!("NotificationConfig {id} not found")),
        },
        _ => r.no_handler(),
    }
}

fn check_channel(s: &mut State, b: &Value, create: bool) {
    if let Some(k) = b.as_object().and_then(|o| o.keys().find(|k| *k != "config_id" && *k != "config").cloned()) {
        s.violate(format!("channel: top-level key {k} is ignored"));
    }
    if !create && b.get("config_id").is_some() {
        s.violate("channel update sends config_id".into());
    }
    let cfg = &b["config"];
    let kind = cfg["config_type"].as_str().unwrap_or("");
    if cfg["name"].as_str().is_none_or(str::is_empty) || cfg.get(kind).is_none() {
        s.violate(format!("channel config {cfg}"));
    }
    if kind == "sns" {
        let topic = cfg.pointer("/sns/topic_arn").and_then(Value::as_str).unwrap_or("");
        let parts: Vec<&str> = topic.split(':').collect();
        if parts.len() != 6 || parts[2] != "sns" || parts[4].len() != 12 {
            s.violate(format!("channel: sns topic {topic}"));
        }
    }
}
