//! A loopback stand-in for an OpenSearch cluster and its Dashboards, enforcing the documented
//! contract (`contracts/opensearch.md`): the status codes (201/200/409/400/404/500), version
//! conflicts, the detector refused on an empty index, a running detector refusing updates and
//! deletes, the notifications plugin's 409 on an existing config_id, ISM's sequence numbers, the
//! overlapping-template rule, and the Dashboards import's header and multipart rules. It also checks
//! each request body against the contract's rules itself (written from the contract, not from the
//! code under test) and records any breach in `violations`.
//!
//! Faults can be injected: the Nth write answers 500, the next requests answer 503 or 429, or a
//! request is carried out and its answer lost (502).
//!
//! One file per part of the API: [`indices`] (templates, indices, aliases), [`ism`], [`security`],
//! [`notifications`], [`ad`], [`alerting`], [`dashboards`]; this one holds the state, the faults
//! and the dispatch.

mod ad;
mod alerting;
mod dashboards;
mod indices;
mod ism;
mod notifications;
mod security;

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
    /// The ISM policy that manages it, and the policy's version (sequence number) it follows.
    pub policy: Option<(String, i64)>,
}

#[derive(Debug, Clone)]
pub struct Detector {
    pub body: Value,
    pub running: bool,
    /// Its latest historical analysis.
    pub historical: Option<Historical>,
}

/// A historical analysis: it runs until `ends_at`, unless stopped.
#[derive(Debug, Clone)]
pub struct Historical {
    pub task: String,
    pub ends_at: Instant,
    pub stopped: bool,
}

impl Historical {
    /// `RUNNING`, `FINISHED` or `STOPPED`.
    pub fn state(&self) -> &'static str {
        if self.stopped {
            "STOPPED"
        } else if Instant::now() >= self.ends_at {
            "FINISHED"
        } else {
            "RUNNING"
        }
    }
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
    /// No Dashboards behind the OpenSearch URL (a self-managed cluster): `/_dashboards` is
    /// OpenSearch's, which has no handler for it.
    pub no_dashboards: bool,
    /// Requests (method, path suffix) carried out whose answer is then lost (502), each once.
    pub lose_replies: Vec<(String, String)>,
    /// A proxy replaces the User-Agent: monitors are read without their `ui_metadata`.
    pub hide_ui_metadata: bool,
    /// Historical analyses that may run at once (the plugin's task slots); one more is refused
    /// with "No available task slot".
    pub historical_slots: usize,
    /// How long a historical analysis runs.
    pub historical_takes: Duration,
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
        let state = Arc::new(Mutex::new(State {
            unavailable_status: 503,
            historical_slots: 2,
            historical_takes: Duration::from_millis(60),
            ..State::default()
        }));
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

    /// Raises an active alert of the monitor `name`, on its (first) trigger, as a run of the
    /// monitor would; its id.
    pub fn raise_alert(&self, name: &str) -> String {
        let mut s = self.state.lock().unwrap();
        let (monitor_id, trigger) = s
            .monitors
            .iter()
            .find(|(_, (m, _))| m["name"] == name)
            .map(|(id, (m, _))| (id.clone(), alerting::trigger_ids(m)[0].clone()))
            .unwrap();
        let id = s.id("alert");
        let alert = json!({"id": id, "monitor_id": monitor_id, "trigger_id": trigger, "state": "ACTIVE", "severity": "1", "start_time": 1_767_236_460_000i64});
        s.alerts.entry(monitor_id).or_default().push(alert);
        id
    }

    /// The state of the alert `id` (`ACTIVE`, or `DELETED` once its trigger is gone).
    pub fn alert_state(&self, id: &str) -> String {
        let s = self.state.lock().unwrap();
        let alert = s.alerts.values().flatten().find(|a| a["id"] == id).unwrap();
        alert["state"].as_str().unwrap().to_owned()
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

/// What OpenSearch answers for a route no module or plugin serves: 400 with `error` a string (not
/// the object of other errors) and no `status`.
fn no_handler(path: &str, method: &str) -> Response {
    reply(400, json!({"error": format!("no handler found for uri [{path}] and method [{method}]")}))
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
    if missing.is_some() {
        return no_handler(&path, method.as_str());
    }
    let json_body: Option<Value> = if body.is_empty() { None } else { serde_json::from_slice(&body).ok() };
    let seg: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let m = method.as_str();
    let req = Req { method: m, path: &path, query: &query, seg: &seg, json_body, headers: &headers, body: &body };
    if let ("GET", [""]) = (m, seg.as_slice()) {
        return reply(200, json!({"version": {"number": "2.19.0", "distribution": "opensearch"}}));
    }
    let answer = match seg.as_slice() {
        ["_plugins", "_anomaly_detection", ..] => ad::route(&mut s, &req),
        ["_plugins", "_alerting", ..] => alerting::route(&mut s, &req),
        ["_plugins", "_notifications", ..] => notifications::route(&mut s, &req),
        ["_plugins", "_security", ..] => security::route(&mut s, &req),
        ["_plugins", "_ism", ..] => ism::route(&mut s, &req),
        ["_dashboards", ..] if s.no_dashboards => req.no_handler(),
        ["_dashboards", ..] => dashboards::route(&mut s, &req),
        _ => indices::route(&mut s, &req),
    };
    // The request was carried out, but its answer is lost on the way back.
    let lost = s.lose_replies.iter().position(|(lm, suffix)| lm == m && path.ends_with(suffix.as_str()));
    if let Some(i) = lost {
        s.lose_replies.remove(i);
        return error(502, "bad_gateway", "the upstream closed the connection");
    }
    answer
}

/// One request, as the routes read it.
pub struct Req<'a> {
    method: &'a str,
    path: &'a str,
    query: &'a str,
    seg: &'a [&'a str],
    json_body: Option<Value>,
    headers: &'a HeaderMap,
    body: &'a [u8],
}

impl Req<'_> {
    /// The answer to a route nobody serves.
    fn no_handler(&self) -> Response {
        no_handler(self.path, self.method)
    }

    /// A query parameter.
    fn q(&self, k: &str) -> Option<String> {
        self.query.split('&').find_map(|p| p.strip_prefix(&format!("{k}="))).map(str::to_owned)
    }
}
