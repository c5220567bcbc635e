//! The alerting plugin (contract §3): monitors and their alerts, as the real plugin (2.19) answers:
//! `ui_metadata` only for a User-Agent containing `OpenSearch-Dashboards`, search hits whose
//! `_source` is the bare monitor, new trigger and action ids for those a write sends without one,
//! and alerts keyed by trigger id (an update that drops a trigger's id ends its alerts).

use axum::response::Response;
use serde_json::{Value, json};

use super::{Req, State, error, reply};

/// Answers a request to its part of the API.
pub(super) fn route(s: &mut State, r: &Req<'_>) -> Response {
    let json_body = r.json_body.clone();
    let (m, seg) = (r.method, r.seg);
    let q = |k: &str| r.q(k);
    match (m, seg) {
        ("POST", ["_plugins", "_alerting", "monitors", "_search"]) => {
            if !s.alerting_index {
                // What the real plugin answers before its config index exists (not the
                // index_not_found_exception the AD plugin answers).
                let reason = "Configured indices are not found: [.opendistro-alerting-config]";
                return reply(
                    404,
                    json!({"error": {
                        "root_cause": [{"type": "alerting_exception", "reason": reason}],
                        "type": "alerting_exception",
                        "reason": reason,
                        "caused_by": {"type": "exception", "reason": "org.opensearch.index.IndexNotFoundException: no such index [.opendistro-alerting-config]"},
                    }, "status": 404}),
                );
            }
            let names: Vec<String> = json_body
                .as_ref()
                .and_then(|b| b.pointer("/query/terms/monitor.name.keyword"))
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|n| n.as_str().map(str::to_owned)).collect())
                .unwrap_or_default();
            let hits: Vec<Value> = s
                .monitors
                .iter()
                .filter(|(_, (m, _))| m["name"].as_str().is_some_and(|n| names.iter().any(|x| x == n)))
                .map(|(id, (m, _))| json!({"_id": id, "_source": shown(m, r, s.hide_ui_metadata)}))
                .collect();
            reply(200, json!({"hits": {"total": {"value": hits.len()}, "hits": hits}}))
        }
        ("GET", ["_plugins", "_alerting", "monitors", "alerts"]) => {
            let id = q("monitorId").unwrap_or_default();
            let alerts: Vec<Value> = s
                .alerts
                .get(&id)
                .into_iter()
                .flatten()
                .filter(|a| a.get("state").is_none_or(|st| *st == "ACTIVE"))
                .cloned()
                .collect();
            reply(200, json!({"alerts": alerts, "totalAlerts": alerts.len()}))
        }
        ("POST", ["_plugins", "_alerting", "monitors"]) => {
            let Some(b) = json_body else { return error(400, "parse_exception", "request body is required") };
            if let Some(r) = check_monitor(s, &b) {
                return r;
            }
            s.alerting_index = true;
            let id = s.id("mon");
            let mut stored = with_ids(s, b);
            stored["type"] = json!("monitor");
            s.monitors.insert(id.clone(), (stored.clone(), 0));
            reply(201, json!({"_id": id, "_version": 1, "_seq_no": 0, "_primary_term": 1, "monitor": stored}))
        }
        ("GET", ["_plugins", "_alerting", "monitors", id]) => match s.monitors.get(*id) {
            Some((m, seq)) => {
                let monitor = shown(m, r, s.hide_ui_metadata);
                reply(
                    200,
                    json!({"_id": id, "_version": seq + 1, "_seq_no": seq, "_primary_term": 1, "monitor": monitor}),
                )
            }
            None => error(404, "status_exception", "Monitor not found."),
        },
        ("PUT", ["_plugins", "_alerting", "monitors", id]) => {
            let Some(b) = json_body else { return error(400, "parse_exception", "request body is required") };
            let Some((_, seq)) = s.monitors.get(*id).cloned() else {
                return error(404, "status_exception", "Monitor not found.");
            };
            if let Some(given) = q("if_seq_no").and_then(|v| v.parse::<i64>().ok())
                && given != seq
            {
                return error(
                    409,
                    "version_conflict_engine_exception",
                    &format!("[{id}]: version conflict, required seqNo [{given}], current document has seqNo [{seq}]"),
                );
            }
            if let Some(r) = check_monitor(s, &b) {
                return r;
            }
            let mut stored = with_ids(s, b);
            stored["type"] = json!("monitor");
            // Alerts belong to a trigger id: those of a trigger that is gone end (DELETED).
            let kept = trigger_ids(&stored);
            for alert in s.alerts.entry((*id).to_owned()).or_default() {
                if alert.get("trigger_id").and_then(Value::as_str).is_some_and(|t| !kept.contains(&t.to_owned())) {
                    alert["state"] = json!("DELETED");
                }
            }
            s.monitors.insert((*id).to_owned(), (stored.clone(), seq + 1));
            reply(
                200,
                json!({"_id": id, "_version": seq + 2, "_seq_no": seq + 1, "_primary_term": 1, "monitor": stored}),
            )
        }
        ("DELETE", ["_plugins", "_alerting", "monitors", id]) => match s.monitors.remove(*id) {
            Some(_) => reply(200, json!({"_id": id, "result": "deleted"})),
            None => error(404, "status_exception", "Monitor not found."),
        },
        _ => r.no_handler(),
    }
}

/// A stored monitor as a read answers it: without `ui_metadata` unless the User-Agent contains
/// `OpenSearch-Dashboards` (alerting's `RestHandlerUtils.kt::context()`); `hide` stands for a proxy
/// that replaces the User-Agent.
fn shown(m: &Value, r: &Req<'_>, hide: bool) -> Value {
    let dashboards = r
        .headers
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ua| ua.contains("OpenSearch-Dashboards"));
    let mut m = m.clone();
    if (hide || !dashboards)
        && let Some(o) = m.as_object_mut()
    {
        o.remove("ui_metadata");
    }
    m
}

/// Each trigger and action of `b`, given an id when it has none (as the plugin does).
fn with_ids(s: &mut State, mut b: Value) -> Value {
    for t in b.get_mut("triggers").and_then(Value::as_array_mut).into_iter().flatten() {
        let Some(inner) = t.as_object_mut().and_then(|o| o.values_mut().next()) else { continue };
        if inner.get("id").is_none() {
            inner["id"] = json!(s.id("trigger"));
        }
        for a in inner.get_mut("actions").and_then(Value::as_array_mut).into_iter().flatten() {
            if a.get("id").is_none() {
                a["id"] = json!(s.id("action"));
            }
        }
    }
    b
}

/// The ids of a monitor's triggers.
pub(super) fn trigger_ids(m: &Value) -> Vec<String> {
    m["triggers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t.as_object()?.values().next()?.get("id")?.as_str().map(str::to_owned))
        .collect()
}

fn check_monitor(s: &mut State, b: &Value) -> Option<Response> {
    let name = b["name"].as_str().unwrap_or("").to_owned();
    let kind = b["monitor_type"].as_str().unwrap_or("query_level_monitor");
    if !["query_level_monitor", "bucket_level_monitor", "cluster_metrics_monitor", "doc_level_monitor", "ppl_monitor"]
        .contains(&kind)
    {
        s.violate(format!("monitor {name}: type {kind}"));
        return Some(error(400, "illegal_argument_exception", "Invalid monitor type"));
    }
    if b["inputs"].as_array().map_or(0, Vec::len) > 1 {
        return Some(error(400, "illegal_argument_exception", "Monitors can only have 1 search input."));
    }
    if let Some(sched) = b["schedule"].as_object()
        && let Some(k) = sched.keys().find(|k| *k != "period" && *k != "cron")
    {
        return Some(error(400, "illegal_argument_exception", &format!("Invalid field: [{k}] found in schedule.")));
    }
    let trigger_kind = if kind == "bucket_level_monitor" { "bucket_level_trigger" } else { "query_level_trigger" };
    for t in b["triggers"].as_array().into_iter().flatten() {
        let inner = t.get(trigger_kind).unwrap_or(t);
        for key in ["name", "severity", "condition"] {
            if inner.get(key).is_none() {
                s.violate(format!("monitor {name}: trigger without {key}"));
                return Some(error(500, "exception", &format!("lateinit property {key} has not been initialized")));
            }
        }
        let lang = inner.pointer("/condition/script/lang").and_then(Value::as_str).unwrap_or("painless");
        if lang != "painless" {
            return Some(error(400, "illegal_argument_exception", "Only painless is supported"));
        }
        for a in inner["actions"].as_array().into_iter().flatten() {
            let allowed = [
                "id",
                "name",
                "destination_id",
                "subject_template",
                "message_template",
                "throttle_enabled",
                "throttle",
                "action_execution_policy",
            ];
            if let Some(k) = a.as_object().and_then(|o| o.keys().find(|k| !allowed.contains(&k.as_str())).cloned()) {
                s.violate(format!("monitor {name}: action key {k}"));
                return Some(error(500, "exception", &format!("Unexpected field: {k}, while parsing action")));
            }
            if a["throttle_enabled"] == true {
                let v = a.pointer("/throttle/value").and_then(Value::as_i64).unwrap_or(0);
                if a.pointer("/throttle/unit").and_then(Value::as_str) != Some("MINUTES") || !(1..=1440).contains(&v) {
                    return Some(error(
                        400,
                        "illegal_argument_exception",
                        "Throttle value must be between 1 and 1440 MINUTES",
                    ));
                }
            }
            let dest = a["destination_id"].as_str().unwrap_or("");
            if !s.channels.contains_key(dest) {
                s.violate(format!("monitor {name}: destination {dest} is no channel"));
            }
        }
    }
    let indices = b.pointer("/inputs/0/search/indices").cloned().unwrap_or_default();
    if b.pointer("/ui_metadata/search/searchType").and_then(Value::as_str) == Some("ad") {
        let f = b.pointer("/inputs/0/search/query/query/bool/filter").cloned().unwrap_or_default();
        if indices != json!([".opendistro-anomaly-results*"])
            || f.pointer("/0/range/execution_end_time").is_none()
            || f.pointer("/1/term/detector_id/value")
                .and_then(Value::as_str)
                .is_none_or(|id| !s.detectors.contains_key(id))
            || b.pointer("/inputs/0/search/query/aggregations/max_anomaly_grade").is_none()
        {
            s.violate(format!("monitor {name}: not in the AD monitor shape the UIs read"));
        }
        // Historical analyses write results (with a task_id) a live monitor must not alert on.
        let must_not = b.pointer("/inputs/0/search/query/query/bool/must_not").cloned().unwrap_or_default();
        if !must_not.as_array().into_iter().flatten().any(|c| c.pointer("/exists/field") == Some(&json!("task_id"))) {
            s.violate(format!("monitor {name}: reads historical results (no must_not exists task_id)"));
        }
    } else if indices.as_array().into_iter().flatten().filter_map(Value::as_str).all(|i| s.resolve(i).is_empty()) {
        return Some(error(404, "index_not_found_exception", "Configured indices are not found"));
    }
    None
}
