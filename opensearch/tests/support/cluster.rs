//! A loopback stand-in for an OpenSearch cluster and its Dashboards, enforcing the documented
//! contract (`contracts/opensearch.md`): the status codes (201/200/409/400/404/500), version
//! conflicts, the detector refused on an empty index, a running detector refusing updates and
//! deletes, the notifications plugin's 409 on an existing config_id, ISM's sequence numbers, the
//! overlapping-template rule, and the Dashboards import's header and multipart rules. It also checks
//! each request body against the contract's rules itself (written from the contract, not from the
//! code under test) and records any breach in `violations`.
//!
//! Faults can be injected: the Nth write answers 500, or the next requests answer 503 or 429.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Logged {
    /// Method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Query string.
    pub query: String,
    /// Whether it changes anything (not a GET, a search or a count).
    pub write: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Index {
    pub aliases: BTreeMap<String, bool>,
    pub docs: u64,
    /// Field types from the template that matched at creation.
    pub mapping: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct Detector {
    pub body: Value,
    pub running: bool,
    pub historical: u32,
}

/// The cluster's state. Tests read it and set the fault knobs.
#[derive(Debug, Default)]
pub struct State {
    pub log: Vec<Logged>,
    pub violations: Vec<String>,
    pub templates: BTreeMap<String, Value>,
    pub policies: BTreeMap<String, (Value, i64)>,
    pub indices: BTreeMap<String, Index>,
    pub roles: BTreeMap<String, Value>,
    pub mappings: BTreeMap<String, Value>,
    pub channels: BTreeMap<String, Value>,
    pub detectors: BTreeMap<String, Detector>,
    pub monitors: BTreeMap<String, (Value, i64)>,
    pub saved: BTreeMap<(String, String), Value>,
    /// Anomaly results `status` reads.
    pub results: Vec<Value>,
    /// Active alerts by monitor id.
    pub alerts: BTreeMap<String, Vec<Value>>,
    next_id: u64,
    writes: usize,
    /// The Nth write (from 1) answers 500.
    pub fail_write: Option<usize>,
    /// The next N requests answer `unavailable_status`.
    pub unavailable: u32,
    pub unavailable_status: u16,
    /// Plugins not installed: their routes answer "no handler found".
    pub missing_plugins: HashSet<&'static str>,
    /// Drop the query string of POSTs, as SigV4-signed POSTs may lose it.
    pub drop_post_query: bool,
    /// Refuse every request with this status: 401 (wrong credentials) or 403 (no permission).
    pub refuse: Option<u16>,
    /// Whether the plugins' config indices exist (created with the first detector or monitor).
    ad_index: bool,
    alerting_index: bool,
}

/// A running stand-in.
pub struct Cluster {
    /// Its URL.
    pub url: String,
    /// Its state.
    pub state: Arc<Mutex<State>>,
}

impl Cluster {
    /// Starts one on a free loopback port, in the current tokio runtime.
    pub async fn start() -> Cluster {
        let state = Arc::new(Mutex::new(State { unavailable_status: 503, ..State::default() }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let app = axum::Router::new().fallback(handle).with_state(Arc::clone(&state));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Cluster { url: format!("http://{addr}"), state }
    }

    /// Documents arrive in the write index of `alias` (as Firehose would deliver them).
    pub fn ingest(&self, alias: &str, n: u64) {
        let mut s = self.state.lock().unwrap();
        let target = s.indices.iter().find(|(_, i)| i.aliases.get(alias) == Some(&true)).map(|(k, _)| k.clone());
        let name = target.unwrap_or_else(|| alias.to_owned());
        s.indices.entry(name).or_default().docs += n;
    }

    /// Write requests received since the log was last cleared.
    pub fn writes(&self) -> Vec<String> {
        self.state.lock().unwrap().log.iter().filter(|l| l.write).map(|l| format!("{} {}", l.method, l.path)).collect()
    }

    /// Clears the request log.
    pub fn clear_log(&self) {
        self.state.lock().unwrap().log.clear();
    }

    /// Contract breaches seen so far.
    pub fn violations(&self) -> Vec<String> {
        self.state.lock().unwrap().violations.clone()
    }
}

fn reply(status: u16, body: Value) -> Response {
    (StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), axum::Json(body)).into_response()
}

fn error(status: u16, kind: &str, reason: &str) -> Response {
    reply(
        status,
        json!({"error": {"root_cause": [{"type": kind, "reason": reason}], "type": kind, "reason": reason}, "status": status}),
    )
}

fn not_found(what: &str) -> Response {
    error(404, "resource_not_found_exception", &format!("{what} not found"))
}

fn flatten(props: &Value, prefix: &str, out: &mut BTreeMap<String, String>) {
    for (k, v) in props.as_object().into_iter().flatten() {
        let name = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        if let Some(t) = v.get("type").and_then(Value::as_str) {
            out.insert(name.clone(), t.to_owned());
        }
        if let Some(p) = v.get("properties") {
            flatten(p, &name, out);
        }
    }
}

fn matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(stem) => name.starts_with(stem),
        None => pattern == name,
    }
}

impl State {
    fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{:06}", self.next_id)
    }

    /// Indices a name or pattern resolves to (aliases included).
    fn resolve(&self, target: &str) -> Vec<String> {
        self.indices
            .iter()
            .filter(|(name, i)| matches(target, name) || i.aliases.keys().any(|a| matches(target, a)))
            .map(|(n, _)| n.clone())
            .collect()
    }

    fn field_type(&self, indices: &[String], field: &str) -> Option<String> {
        indices.iter().find_map(|i| self.indices.get(i).and_then(|x| x.mapping.get(field).cloned()))
    }

    fn violate(&mut self, what: String) {
        self.violations.push(what);
    }
}

async fn handle(
    AxState(state): AxState<Arc<Mutex<State>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut s = state.lock().unwrap();
    let path = uri.path().to_owned();
    let mut query = uri.query().unwrap_or("").to_owned();
    if s.drop_post_query && method == Method::POST {
        query.clear();
    }
    let read_only =
        method == Method::GET || method == Method::HEAD || path.ends_with("/_search") || path.ends_with("/_count");
    s.log.push(Logged { method: method.to_string(), path: path.clone(), query: query.clone(), write: !read_only });
    if let Some(status) = s.refuse {
        return error(status, "security_exception", "no permissions for the request");
    }
    if s.unavailable > 0 {
        s.unavailable -= 1;
        let status = s.unavailable_status;
        return error(status, "unavailable", "briefly unavailable");
    }
    if !read_only {
        s.writes += 1;
        if s.fail_write == Some(s.writes) {
            return error(500, "exception", "injected failure");
        }
    }
    let missing = s.missing_plugins.iter().find(|p| path.starts_with(&format!("/_plugins/_{p}"))).copied();
    if let Some(p) = missing {
        let _ = p;
        return error(
            400,
            "illegal_argument_exception",
            &format!("no handler found for uri [{path}] and method [{method}]"),
        );
    }
    let json_body: Option<Value> = if body.is_empty() { None } else { serde_json::from_slice(&body).ok() };
    let seg: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let q = |k: &str| query.split('&').find_map(|p| p.strip_prefix(&format!("{k}="))).map(str::to_owned);
    let m = method.as_str();
    match (m, seg.as_slice()) {
        ("GET", [""]) => reply(200, json!({"version": {"number": "2.19.0", "distribution": "opensearch"}})),
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
        // ---- ISM (§6)
        ("GET", ["_plugins", "_ism", "policies", id]) => match s.policies.get(*id) {
            Some((p, seq)) => {
                reply(200, json!({"_id": id, "_version": seq + 1, "_seq_no": seq, "_primary_term": 1, "policy": p}))
            }
            None => error(404, "status_exception", "Policy not found"),
        },
        ("PUT", ["_plugins", "_ism", "policies", id]) => {
            let Some(b) = json_body else { return error(400, "parse_exception", "request body is required") };
            let Some(policy) = b.get("policy").cloned() else {
                return error(400, "illegal_argument_exception", "policy is missing");
            };
            check_policy(&mut s, &policy);
            let seq_no = q("if_seq_no").and_then(|v| v.parse::<i64>().ok());
            let term = q("if_primary_term").and_then(|v| v.parse::<i64>().ok());
            match (s.policies.get(*id).map(|(_, seq)| *seq), seq_no, term) {
                (None, _, _) => {
                    s.policies.insert((*id).to_owned(), (policy.clone(), 0));
                    reply(
                        201,
                        json!({"_id": id, "_version": 1, "_primary_term": 1, "_seq_no": 0, "policy": {"policy": policy}}),
                    )
                }
                (Some(seq), Some(given), Some(1)) if seq == given => {
                    s.policies.insert((*id).to_owned(), (policy.clone(), seq + 1));
                    reply(
                        200,
                        json!({"_id": id, "_version": seq + 2, "_primary_term": 1, "_seq_no": seq + 1, "policy": {"policy": policy}}),
                    )
                }
                (Some(_), _, _) => error(
                    409,
                    "version_conflict_engine_exception",
                    &format!("[{id}]: version conflict, document already exists"),
                ),
            }
        }
        ("DELETE", ["_plugins", "_ism", "policies", id]) => match s.policies.remove(*id) {
            Some(_) => reply(200, json!({"_id": id, "result": "deleted"})),
            None => not_found("policy"),
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
            s.indices.insert((*name).to_owned(), index);
            reply(200, json!({"acknowledged": true, "shards_acknowledged": true, "index": name}))
        }
        // ---- security plugin
        ("GET", ["_plugins", "_security", "api", kind @ ("roles" | "rolesmapping"), name]) => {
            let map = if *kind == "roles" { &s.roles } else { &s.mappings };
            match map.get(*name) {
                Some(v) => {
                    let mut v = v.clone();
                    v["reserved"] = json!(false);
                    v["hidden"] = json!(false);
                    reply(200, json!({*name: v}))
                }
                None => reply(404, json!({"status": "NOT_FOUND", "message": format!("Resource '{name}' not found.")})),
            }
        }
        ("PUT", ["_plugins", "_security", "api", kind @ ("roles" | "rolesmapping"), name]) => {
            let Some(b) = json_body else { return error(400, "parse_exception", "request body is required") };
            if *kind == "rolesmapping" && !s.roles.contains_key(*name) {
                return reply(404, json!({"status": "NOT_FOUND", "message": format!("role '{name}' not found.")}));
            }
            let map = if *kind == "roles" { &mut s.roles } else { &mut s.mappings };
            let created = map.insert((*name).to_owned(), b).is_none();
            reply(
                if created { 201 } else { 200 },
                json!({"status": if created { "CREATED" } else { "OK" }, "message": format!("'{name}' {}.", if created { "created" } else { "updated" })}),
            )
        }
        ("DELETE", ["_plugins", "_security", "api", kind @ ("roles" | "rolesmapping"), name]) => {
            let map = if *kind == "roles" { &mut s.roles } else { &mut s.mappings };
            match map.remove(*name) {
                Some(_) => reply(200, json!({"status": "OK", "message": format!("'{name}' deleted.")})),
                None => reply(404, json!({"status": "NOT_FOUND", "message": format!("Resource '{name}' not found.")})),
            }
        }
        // ---- notifications (§4)
        ("POST", ["_plugins", "_notifications", "configs"]) => {
            let Some(b) = json_body else { return error(400, "parse_exception", "request body is required") };
            check_channel(&mut s, &b, true);
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
            check_channel(&mut s, &b, false);
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
        // ---- anomaly detection (§2)
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
            let hits: Vec<Value> =
                s.results.iter().filter(|r| r["detector_id"] == id).map(|r| json!({"_source": r})).collect();
            reply(200, json!({"hits": {"hits": hits}}))
        }
        ("POST", ["_plugins", "_anomaly_detection", "detectors"]) => {
            let Some(b) = json_body else { return error(400, "parse_exception", "request body is required") };
            if let Some(r) = check_detector(&mut s, &b) {
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
            s.detectors.insert(id.clone(), Detector { body: stored.clone(), running: false, historical: 0 });
            reply(201, json!({"_id": id, "_version": 1, "_seq_no": 0, "anomaly_detector": stored, "_primary_term": 1}))
        }
        ("GET", ["_plugins", "_anomaly_detection", "detectors", id]) => match s.detectors.get(*id) {
            Some(d) => {
                let mut out =
                    json!({"_id": id, "_version": 1, "_primary_term": 1, "_seq_no": 0, "anomaly_detector": d.body});
                if q("job").as_deref() == Some("true") {
                    out["anomaly_detector_job"] = json!({"name": id, "enabled": d.running});
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
            if current.body.get("category_field") != b.get("category_field") {
                return error(400, "illegal_argument_exception", "Can't change category field");
            }
            if let Some(r) = check_detector(&mut s, &b) {
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
            Some(_) => {
                s.detectors.remove(*id);
                reply(200, json!({"_index": ".opendistro-anomaly-detectors", "_id": id, "result": "deleted"}))
            }
            None => error(404, "status_exception", &format!("Can't find config with id: {id}")),
        },
        ("POST", ["_plugins", "_anomaly_detection", "detectors", id, action @ ("_start" | "_stop")]) => {
            let Some(d) = s.detectors.get_mut(*id) else {
                return error(404, "status_exception", &format!("Can't find config with id: {id}"));
            };
            match (*action, &json_body) {
                ("_start", Some(b)) => {
                    let (st, en) = (b["start_time"].as_i64(), b["end_time"].as_i64());
                    if !matches!((st, en), (Some(a), Some(z)) if z > a) {
                        return error(
                            400,
                            "illegal_argument_exception",
                            "Must set both start time and end time with epoch of milliseconds",
                        );
                    }
                    d.historical += 1;
                    let task = format!("task-{id}-{}", d.historical);
                    reply(200, json!({"_id": task}))
                }
                ("_start", None) => {
                    if d.running {
                        return error(
                            400,
                            "illegal_argument_exception",
                            &format!("Anomaly detector job is already running: {id}"),
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
        // ---- alerting (§3)
        ("POST", ["_plugins", "_alerting", "monitors", "_search"]) => {
            if !s.alerting_index {
                return error(404, "index_not_found_exception", "no such index [.opendistro-alerting-config]");
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
                .map(|(id, (m, _))| json!({"_id": id, "_source": {"monitor": m}}))
                .collect();
            reply(200, json!({"hits": {"total": {"value": hits.len()}, "hits": hits}}))
        }
        ("GET", ["_plugins", "_alerting", "monitors", "alerts"]) => {
            let id = q("monitorId").unwrap_or_default();
            let alerts = s.alerts.get(&id).cloned().unwrap_or_default();
            reply(200, json!({"alerts": alerts, "totalAlerts": alerts.len()}))
        }
        ("POST", ["_plugins", "_alerting", "monitors"]) => {
            let Some(b) = json_body else { return error(400, "parse_exception", "request body is required") };
            if let Some(r) = check_monitor(&mut s, &b) {
                return r;
            }
            s.alerting_index = true;
            let id = s.id("mon");
            let mut stored = b.clone();
            stored["type"] = json!("monitor");
            s.monitors.insert(id.clone(), (stored.clone(), 0));
            reply(201, json!({"_id": id, "_version": 1, "_seq_no": 0, "_primary_term": 1, "monitor": stored}))
        }
        ("GET", ["_plugins", "_alerting", "monitors", id]) => match s.monitors.get(*id) {
            Some((m, seq)) => {
                reply(200, json!({"_id": id, "_version": seq + 1, "_seq_no": seq, "_primary_term": 1, "monitor": m}))
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
            if let Some(r) = check_monitor(&mut s, &b) {
                return r;
            }
            s.monitors.insert((*id).to_owned(), (b.clone(), seq + 1));
            reply(200, json!({"_id": id, "_version": seq + 2, "_seq_no": seq + 1, "_primary_term": 1, "monitor": b}))
        }
        ("DELETE", ["_plugins", "_alerting", "monitors", id]) => match s.monitors.remove(*id) {
            Some(_) => reply(200, json!({"_id": id, "result": "deleted"})),
            None => error(404, "status_exception", "Monitor not found."),
        },
        // ---- Dashboards saved objects (§7), under the /_dashboards prefix
        (_, ["_dashboards", "api", "saved_objects", ..]) if m != "GET" && !headers.contains_key("osd-xsrf") => {
            s.violate(format!("{m} {path} without osd-xsrf"));
            error(400, "bad_request", "Request must contain a osd-xsrf header.")
        }
        ("POST", ["_dashboards", "api", "saved_objects", "_import"]) => import(&mut s, &headers, &body, &query),
        ("GET", ["_dashboards", "api", "saved_objects", t, id]) => {
            match s.saved.get(&((*t).to_owned(), (*id).to_owned())) {
                Some(o) => reply(200, o.clone()),
                None => reply(
                    404,
                    json!({"statusCode": 404, "error": "Not Found", "message": format!("Saved object [{t}/{id}] not found")}),
                ),
            }
        }
        ("DELETE", ["_dashboards", "api", "saved_objects", t, id]) => {
            match s.saved.remove(&((*t).to_owned(), (*id).to_owned())) {
                Some(_) => reply(200, json!({})),
                None => reply(404, json!({"statusCode": 404, "error": "Not Found"})),
            }
        }
        _ => error(
            400,
            "illegal_argument_exception",
            &format!("no handler found for uri [{path}] and method [{method}]"),
        ),
    }
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
    } else if indices.as_array().into_iter().flatten().filter_map(Value::as_str).all(|i| s.resolve(i).is_empty()) {
        return Some(error(404, "index_not_found_exception", "Configured indices are not found"));
    }
    None
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

fn check_policy(s: &mut State, p: &Value) {
    let states = p["states"].as_array().cloned().unwrap_or_default();
    let names: Vec<&str> = states.iter().filter_map(|x| x["name"].as_str()).collect();
    if !names.contains(&p["default_state"].as_str().unwrap_or("")) {
        s.violate("policy: default_state names no state".into());
    }
    for st in &states {
        for t in st["transitions"].as_array().into_iter().flatten() {
            if !names.contains(&t["state_name"].as_str().unwrap_or(""))
                || t["conditions"].as_object().is_some_and(|c| c.len() > 1)
            {
                s.violate(format!("policy: transition {t}"));
            }
        }
    }
}

fn import(s: &mut State, headers: &HeaderMap, body: &[u8], query: &str) -> Response {
    let ctype = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    let Some(boundary) = ctype.strip_prefix("multipart/form-data; boundary=") else {
        s.violate(format!("import content-type {ctype}"));
        return error(400, "bad_request", "Unsupported Media Type");
    };
    let text = String::from_utf8_lossy(body);
    let Some(part) = text.split(&format!("--{boundary}")).nth(1) else {
        return error(400, "bad_request", "[request body.file]: expected value of type [Stream]");
    };
    let (head, content) = part.split_once("\r\n\r\n").unwrap_or(("", ""));
    if !head.contains("name=\"file\"") {
        s.violate("import part not named file".into());
        return error(400, "bad_request", "[request body.file]: expected value of type [Stream]");
    }
    if !head.contains(".ndjson\"") {
        s.violate("import filename is not .ndjson".into());
        return error(400, "bad_request", "Invalid file extension .json");
    }
    let overwrite = query.split('&').any(|p| p == "overwrite=true");
    if overwrite && query.contains("createNewCopies") {
        return error(400, "bad_request", "cannot use [overwrite] with [createNewCopies]");
    }
    let objects: Vec<Value> =
        content.split("\r\n").filter(|l| !l.trim().is_empty()).filter_map(|l| serde_json::from_str(l).ok()).collect();
    let in_file: HashSet<(String, String)> = objects
        .iter()
        .map(|o| (o["type"].as_str().unwrap_or("").to_owned(), o["id"].as_str().unwrap_or("").to_owned()))
        .collect();
    let mut errors = Vec::new();
    let mut success = 0;
    for o in &objects {
        let key = (o["type"].as_str().unwrap_or("").to_owned(), o["id"].as_str().unwrap_or("").to_owned());
        let dangling = o["references"].as_array().into_iter().flatten().any(|r| {
            let k = (r["type"].as_str().unwrap_or("").to_owned(), r["id"].as_str().unwrap_or("").to_owned());
            !in_file.contains(&k) && !s.saved.contains_key(&k)
        });
        if dangling {
            errors.push(json!({"type": key.0, "id": key.1, "error": {"type": "missing_references"}}));
        } else if s.saved.contains_key(&key) && !overwrite {
            errors.push(json!({"type": key.0, "id": key.1, "error": {"type": "conflict"}}));
        } else {
            s.saved.insert(key, o.clone());
            success += 1;
        }
    }
    reply(200, json!({"success": errors.is_empty(), "successCount": success, "errors": errors}))
}
