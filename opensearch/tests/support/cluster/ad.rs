//! The anomaly-detection plugin (contract §2): detectors, their jobs, historical analyses and results.

use std::collections::HashSet;
use std::time::Instant;

use axum::response::Response;
use serde_json::{Value, json};

use super::{Detector, Historical, Req, State, error, reply};

/// Answers a request to its part of the API.
pub(super) fn route(s: &mut State, r: &Req<'_>) -> Response {
    let json_body = r.json_body.clone();
    let (m, seg) = (r.method, r.seg);
    let q = |k: &str| r.q(k);
    match (m, seg) {
        ("POST", ["_plugins", "_anomaly_detection", "detectors", "_search"]) => {
            if !s.ad_index {
                return error(404, "index_not_found_exception", "no such index [.opendistro-anomaly-detectors]");
            }
            // match_all, or terms on name.keyword.
            let names: Option<Vec<String>> = json_body
                .as_ref()
                .and_then(|b| b.pointer("/query/terms/name.keyword"))
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|n| n.as_str().map(str::to_owned)).collect());
            let hits: Vec<Value> = s
                .detectors
                .iter()
                .filter(|(_, d)| {
                    names
                        .as_ref()
                        .is_none_or(|names| d.body["name"].as_str().is_some_and(|n| names.iter().any(|x| x == n)))
                })
                .map(|(id, d)| json!({"_id": id, "_source": {"name": d.body["name"]}}))
                .collect();
            reply(200, json!({"hits": {"total": {"value": hits.len()}, "hits": hits}}))
        }
        ("POST", ["_plugins", "_anomaly_detection", "detectors", "results", "_search"]) => {
            let id = json_body
                .as_ref()
                .and_then(|b| b.pointer("/query/bool/filter/0/term/detector_id"))
                .cloned()
                .unwrap_or_default();
            // The filter, the exclusion of historical results, the order and size the status asks for.
            let body = json_body.unwrap_or_default();
            let live_only = body.pointer("/query/bool/must_not/0/exists/field") == Some(&json!("task_id"));
            let newest_first = body.pointer("/sort/0/data_start_time/order") == Some(&json!("desc"));
            let mut found: Vec<&Value> = s
                .results
                .iter()
                .filter(|r| r["detector_id"] == id && r["anomaly_grade"].as_f64().is_some_and(|g| g > 0.0))
                .filter(|r| !live_only || r.get("task_id").is_none())
                .collect();
            if newest_first {
                found.sort_by_key(|r| std::cmp::Reverse(r["data_start_time"].as_i64()));
            }
            let size = body["size"].as_u64().unwrap_or(10) as usize;
            let hits: Vec<Value> = found.into_iter().take(size).map(|r| json!({"_source": r})).collect();
            reply(200, json!({"hits": {"hits": hits}}))
        }
        ("POST", ["_plugins", "_anomaly_detection", "detectors"]) => {
            let Some(b) = json_body else { return error(400, "parse_exception", "request body is required") };
            if let Some(r) = check_detector(s, &b) {
                return r;
            }
            let name = b["name"].as_str().unwrap_or("").to_owned();
            if s.detectors.values().any(|d| d.body["name"] == name.as_str()) {
                return error(
                    409,
                    "status_exception",
                    &format!(
                        "Cannot create anomaly detector with name [{name}] as it's already used by another detector"
                    ),
                );
            }
            s.ad_index = true;
            let id = s.id("det");
            let mut stored = b.clone();
            stored["schema_version"] = json!(0);
            stored["detector_type"] =
                json!(if b.get("category_field").is_some() { "MULTI_ENTITY" } else { "SINGLE_ENTITY" });
            // The server echoes descriptions HTML-encoded and adds its own fields.
            if let Some(d) = stored["description"].as_str() {
                stored["description"] = json!(d.replace('\'', "&#39;"));
            }
            s.detectors.insert(id.clone(), Detector { body: stored.clone(), running: false, historical: None });
            reply(201, json!({"_id": id, "_version": 1, "_seq_no": 0, "anomaly_detector": stored, "_primary_term": 1}))
        }
        ("GET", ["_plugins", "_anomaly_detection", "detectors", id]) => match s.detectors.get(*id) {
            Some(d) => {
                let mut out =
                    json!({"_id": id, "_version": 1, "_primary_term": 1, "_seq_no": 0, "anomaly_detector": d.body});
                if q("job").as_deref() == Some("true") {
                    out["anomaly_detector_job"] = json!({"name": id, "enabled": d.running});
                }
                if q("task").as_deref() == Some("true")
                    && let Some(h) = &d.historical
                {
                    out["historical_analysis_task"] = json!({"task_id": h.task, "state": h.state(), "task_type": "HISTORICAL_SINGLE_ENTITY", "is_latest": true});
                }
                reply(200, out)
            }
            None => error(404, "status_exception", &format!("Can't find config with id: {id}")),
        },
        ("PUT", ["_plugins", "_anomaly_detection", "detectors", id]) => {
            let Some(b) = json_body else { return error(400, "parse_exception", "request body is required") };
            let Some(current) = s.detectors.get(*id).cloned() else {
                return error(404, "status_exception", &format!("Can't find config with id: {id}"));
            };
            if current.running {
                return error(400, "illegal_argument_exception", &format!("Job is running: {id}"));
            }
            if current.historical.as_ref().is_some_and(|h| h.state() == "RUNNING") {
                return error(400, "status_exception", "Historical is running");
            }
            if current.body.get("category_field") != b.get("category_field") {
                return error(400, "illegal_argument_exception", "Can't change category field");
            }
            if let Some(r) = check_detector(s, &b) {
                return r;
            }
            if s.detectors.iter().any(|(other, d)| other != id && d.body["name"] == b["name"]) {
                return error(
                    409,
                    "status_exception",
                    "Cannot create anomaly detector with name as it's already used by another detector",
                );
            }
            s.detectors.insert((*id).to_owned(), Detector { body: b.clone(), ..current });
            reply(200, json!({"_id": id, "_version": 2, "_seq_no": 1, "anomaly_detector": b, "_primary_term": 1}))
        }
        ("DELETE", ["_plugins", "_anomaly_detection", "detectors", id]) => match s.detectors.get(*id) {
            Some(d) if d.running => error(400, "illegal_argument_exception", &format!("Job is running: {id}")),
            Some(d) if d.historical.as_ref().is_some_and(|h| h.state() == "RUNNING") => {
                error(400, "status_exception", "Historical is running")
            }
            Some(_) => {
                s.detectors.remove(*id);
                reply(200, json!({"_index": ".opendistro-anomaly-detectors", "_id": id, "result": "deleted"}))
            }
            None => error(404, "status_exception", &format!("Can't find config with id: {id}")),
        },
        ("POST", ["_plugins", "_anomaly_detection", "detectors", id, "_start"]) if json_body.is_some() => {
            historical(s, id, json_body.as_ref().unwrap_or(&Value::Null))
        }
        ("POST", ["_plugins", "_anomaly_detection", "detectors", id, "_stop"])
            if q("historical").as_deref() == Some("true") =>
        {
            let Some(d) = s.detectors.get_mut(*id) else {
                return error(404, "status_exception", &format!("Can't find config with id: {id}"));
            };
            match &mut d.historical {
                Some(h) if h.state() == "RUNNING" => {
                    h.stopped = true;
                    reply(200, json!({"_id": id}))
                }
                _ => error(400, "status_exception", "No running task found"),
            }
        }
        ("POST", ["_plugins", "_anomaly_detection", "detectors", id, action @ ("_start" | "_stop")]) => {
            let Some(d) = s.detectors.get_mut(*id) else {
                return error(404, "status_exception", &format!("Can't find config with id: {id}"));
            };
            match (*action, &json_body) {
                ("_start", None) => {
                    if d.running {
                        // The real plugin answers 200, with an error body.
                        let reason = format!("Anomaly detector job is already running: {id}");
                        return reply(
                            200,
                            json!({"error": {"root_cause": [{"type": "status_exception", "reason": reason}], "type": "status_exception", "reason": reason}, "status": 200}),
                        );
                    }
                    let enabled = d.body["feature_attributes"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|f| f["feature_enabled"] == true);
                    if !enabled {
                        return error(
                            400,
                            "illegal_argument_exception",
                            "Can't start job as no enabled features configured",
                        );
                    }
                    d.running = true;
                    reply(200, json!({"_id": id}))
                }
                _ => {
                    d.running = false;
                    reply(200, json!({"_id": id}))
                }
            }
        }
        ("GET", ["_plugins", "_anomaly_detection", "detectors", id, "_profile", "state"]) => match s.detectors.get(*id)
        {
            Some(d) => reply(200, json!({"state": if d.running { "RUNNING" } else { "DISABLED" }})),
            None => error(404, "status_exception", &format!("Can't find config with id: {id}")),
        },
        _ => r.no_handler(),
    }
}

/// `_start` with a date range: a historical analysis, refused while the detector runs one and when
/// every task slot is taken. It writes a result with its `task_id`, as the plugin does.
fn historical(s: &mut State, id: &str, b: &Value) -> Response {
    let (st, en) = (b["start_time"].as_i64(), b["end_time"].as_i64());
    let (Some(start), Some(end)) = (st, en) else {
        return error(
            400,
            "illegal_argument_exception",
            "Must set both start time and end time with epoch of milliseconds",
        );
    };
    if end <= start {
        return error(
            400,
            "illegal_argument_exception",
            "Must set both start time and end time with epoch of milliseconds",
        );
    }
    let running = |d: &Detector| d.historical.as_ref().is_some_and(|h| h.state() == "RUNNING");
    let Some(d) = s.detectors.get(id) else {
        return error(404, "status_exception", &format!("Can't find config with id: {id}"));
    };
    if running(d) {
        return error(400, "status_exception", "Detector is already running");
    }
    if s.detectors.values().filter(|d| running(d)).count() >= s.historical_slots {
        return error(400, "status_exception", "No available task slot");
    }
    let task = s.id("task");
    let ends_at = Instant::now() + s.historical_takes;
    if let Some(d) = s.detectors.get_mut(id) {
        d.historical = Some(Historical { task: task.clone(), ends_at, stopped: false });
    }
    s.results.push(json!({"detector_id": id, "task_id": task, "anomaly_grade": 1.0, "confidence": 0.78, "data_start_time": start, "data_end_time": start + 60_000, "execution_end_time": end}));
    reply(200, json!({"_id": task}))
}

/// The detector rules of §2 and §9 (1-12); answers as the server would (500 for constructor checks,
/// 400 for the rest), or None when the body passes.
fn check_detector(s: &mut State, b: &Value) -> Option<Response> {
    let name = b["name"].as_str().unwrap_or("");
    if name.is_empty() || name.len() > 64 || !name.bytes().all(|c| c.is_ascii_alphanumeric() || b"._-".contains(&c)) {
        s.violate(format!("detector name {name:?}"));
        return Some(error(
            500,
            "validation_exception",
            "Valid characters for name are a-z, A-Z, 0-9, -(hyphen), _(underscore) and .(period)",
        ));
    }
    for key in ["user", "last_update_time", "schema_version", "detector_type"] {
        if b.get(key).is_some() {
            s.violate(format!("detector {name} sends server-owned {key}"));
        }
    }
    let indices: Vec<String> =
        b["indices"].as_array().into_iter().flatten().filter_map(|i| i.as_str()).flat_map(|i| s.resolve(i)).collect();
    if b["indices"].as_array().is_none_or(Vec::is_empty) {
        s.violate(format!("detector {name} without indices"));
        return Some(error(400, "illegal_argument_exception", "Indices should be set"));
    }
    if indices.is_empty() {
        return Some(error(404, "index_not_found_exception", &format!("no such index {}", b["indices"])));
    }
    if s.field_type(&indices, b["time_field"].as_str().unwrap_or("")).as_deref() != Some("date") {
        s.violate(format!("detector {name}: time_field is not a date"));
        return Some(error(500, "validation_exception", "Timestamp field: must be of type date"));
    }
    let docs: u64 = indices.iter().map(|i| s.indices[i].docs).sum();
    if docs == 0 {
        return Some(error(
            400,
            "illegal_argument_exception",
            &format!("Can't create anomaly detector as no document is found in the indices: {}", b["indices"]),
        ));
    }
    let features = b["feature_attributes"].as_array().cloned().unwrap_or_default();
    if features.len() > 5 {
        return Some(error(400, "illegal_argument_exception", "Can't create more than 5 feature(s)"));
    }
    let mut names = HashSet::new();
    for f in &features {
        if f.get("feature_enabled").is_none() {
            s.violate(format!("detector {name}: a feature without feature_enabled"));
        }
        if !names.insert(f["feature_name"].as_str().unwrap_or("").to_owned()) {
            return Some(error(400, "illegal_argument_exception", "There are duplicate feature names"));
        }
        let aggs = f["aggregation_query"].as_object().cloned().unwrap_or_default();
        if aggs.len() != 1 {
            s.violate(format!("detector {name}: a feature with {} aggregations", aggs.len()));
        }
        for agg in aggs.values() {
            let Some((kind, params)) = agg.as_object().and_then(|o| o.iter().next()) else { continue };
            let field = params["field"].as_str().unwrap_or("");
            let ty = s.field_type(&indices, field);
            let numeric = matches!(ty.as_deref(), Some("byte" | "short" | "integer" | "long" | "float" | "double"));
            let ok = match kind.as_str() {
                "avg" | "sum" | "min" | "max" => numeric,
                "value_count" | "cardinality" => ty.is_some(),
                _ => false,
            };
            if !ok {
                return Some(error(
                    400,
                    "illegal_argument_exception",
                    &format!("Feature has an invalid query returning empty aggregated data: {}", f["feature_name"]),
                ));
            }
        }
    }
    let unit_ok = |v: &Value| {
        v.pointer("/period/unit")
            .and_then(Value::as_str)
            .is_some_and(|u| ["MINUTES", "SECONDS"].contains(&u.to_ascii_uppercase().as_str()))
            && v.pointer("/period/interval").and_then(Value::as_i64).is_some_and(|i| i >= 0)
    };
    if !unit_ok(&b["detection_interval"]) || (b.get("window_delay").is_some() && !unit_ok(&b["window_delay"])) {
        s.violate(format!("detector {name}: interval shape"));
        return Some(error(400, "illegal_argument_exception", "Time unit is not supported"));
    }
    if let Some(sh) = b["shingle_size"].as_i64()
        && !(1..=128).contains(&sh)
    {
        return Some(error(
            500,
            "validation_exception",
            &format!("Suggested shingle size must be between 1 and 128. Got {sh}."),
        ));
    }
    for cat in b["category_field"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        if !matches!(s.field_type(&indices, cat).as_deref(), Some("keyword" | "ip")) {
            return Some(error(
                500,
                "validation_exception",
                &format!("Categorical field {cat} must be of type keyword or ip."),
            ));
        }
    }
    None
}
