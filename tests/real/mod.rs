//! What the real-node tests share: the node (from `WAFWATCH_TEST_OPENSEARCH_URL`) and the plugins
//! it has, raw HTTP to it, the configurations the tests deploy, the clients the bootstrap uses,
//! and the loopback services a test runs beside the node (an inbox for webhooks, a proxy for
//! faults).
#![allow(dead_code)] // each test file uses part of it

pub mod inbox;
pub mod proxy;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};

use serde_json::{Value, json};
use wafwatch_config::channel::Resolve;
use wafwatch_config::file::{Origin, parse};
use wafwatch_opensearch::bootstrap::client::{Clients, RetryPolicy};
use wafwatch_opensearch::bootstrap::{Dashboards, Spec};
use wafwatch_opensearch::connection::ConnectionArgs;

/// The plugins a whole deployment needs (job-scheduler runs the AD jobs and ISM).
pub const ALL_PLUGINS: [&str; 5] = [
    "opensearch-job-scheduler",
    "opensearch-anomaly-detection",
    "opensearch-alerting",
    "opensearch-notifications",
    "opensearch-index-management",
];

/// One test at a time on the node: detector, monitor and channel names are the cluster's.
pub static NODE_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A real node and the plugins it has.
pub struct Node {
    /// Its URL.
    pub url: String,
    /// `component` of each `GET /_cat/plugins` row.
    pub plugins: BTreeSet<String>,
    http: reqwest::Client,
}

/// One line on stderr that the test harness does not capture (its capture takes only the print
/// macros): a skip must show in a plain `cargo test`.
pub fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// The node the tests run against, or `None` (with one line saying why) when
/// `WAFWATCH_TEST_OPENSEARCH_URL` is unset. With `CI` set, an unset URL fails the test: CI
/// must run them.
pub async fn node(test: &str) -> Option<Node> {
    let Ok(url) = std::env::var("WAFWATCH_TEST_OPENSEARCH_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: WAFWATCH_TEST_OPENSEARCH_URL is not set, and CI must run the real-node tests (scripts/opensearch up)"
        );
        say(&format!(
            "skipped {test}: WAFWATCH_TEST_OPENSEARCH_URL is not set (scripts/opensearch up, then export it)"
        ));
        return None;
    };
    let url = url.trim_end_matches('/').to_owned();
    let http = wafwatch_http::client(&wafwatch_http::Tls::default(), Duration::from_secs(120)).unwrap();
    let rows: Value = http
        .get(format!("{url}/_cat/plugins?format=json"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{test}: cannot reach the node at {url}: {e}"))
        .json()
        .await
        .unwrap();
    let plugins =
        rows.as_array().into_iter().flatten().filter_map(|r| r["component"].as_str()).map(str::to_owned).collect();
    Some(Node { url, plugins, http })
}

impl Node {
    /// Whether the node lacks one of `needed`; if so, says which on one line, and the test
    /// skips.
    pub fn lacks(&self, test: &str, needed: &[&str]) -> bool {
        let missing: Vec<&str> = needed.iter().copied().filter(|p| !self.plugins.contains(*p)).collect();
        if missing.is_empty() {
            return false;
        }
        say(&format!("skipped {test}: the node at {} lacks the plugin(s) {}", self.url, missing.join(", ")));
        true
    }

    /// A request; its status and JSON body (Null when empty, the text as a string when not JSON).
    pub async fn call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(method, format!("{}{path}", self.url));
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(if text.is_empty() { Value::Null } else { Value::String(text) }))
    }

    /// A GET that must succeed.
    pub async fn get(&self, path: &str) -> Value {
        let (status, body) = self.call("GET", path, None).await;
        assert!((200..300).contains(&status), "GET {path}: {status} {body}");
        body
    }

    /// A GET of alerting monitors as Dashboards does it (with their `ui_metadata`).
    pub async fn get_monitor(&self, id: &str) -> Value {
        let res = self
            .http
            .get(format!("{}/_plugins/_alerting/monitors/{id}", self.url))
            .header("user-agent", "OpenSearch-Dashboards/2.19.4 (wafwatch test)")
            .send()
            .await
            .unwrap();
        res.json().await.unwrap()
    }

    /// `_bulk` of NDJSON into `index` (refreshed); the answer.
    pub async fn bulk(&self, index: &str, docs: &[u8]) -> Value {
        let mut body = Vec::new();
        for line in docs.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            body.extend_from_slice(b"{\"index\":{}}\n");
            body.extend_from_slice(line);
            body.push(b'\n');
        }
        let res = self
            .http
            .post(format!("{}/{index}/_bulk?refresh=true", self.url))
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .await
            .unwrap();
        res.json().await.unwrap()
    }

    /// The documents behind `alias` (refreshed first).
    pub async fn count(&self, alias: &str) -> u64 {
        self.call("POST", &format!("/{alias}/_refresh"), None).await;
        self.get(&format!("/{alias}/_count")).await["count"].as_u64().unwrap()
    }

    /// Deletes what a test left (a missing object is fine).
    pub async fn delete(&self, path: &str) {
        let (status, body) = self.call("DELETE", path, None).await;
        assert!(status < 300 || status == 404, "DELETE {path}: {status} {body}");
    }

    /// Detectors by name: `{name: id}` (none when the plugin's index does not exist yet).
    pub async fn detectors(&self) -> std::collections::BTreeMap<String, String> {
        let q = json!({"size": 1000, "query": {"match_all": {}}, "_source": ["name"]});
        let (_, r) = self.call("POST", "/_plugins/_anomaly_detection/detectors/_search", Some(&q)).await;
        hits_by_name(&r)
    }

    /// Monitors by name: `{name: id}`.
    pub async fn monitors(&self) -> std::collections::BTreeMap<String, String> {
        let q = json!({"size": 1000, "query": {"match_all": {}}});
        let (_, r) = self.call("POST", "/_plugins/_alerting/monitors/_search", Some(&q)).await;
        hits_by_name(&r)
    }
}

fn hits_by_name(r: &Value) -> std::collections::BTreeMap<String, String> {
    r.pointer("/hits/hits")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|h| Some((h["_source"]["name"].as_str()?.to_owned(), h["_id"].as_str()?.to_owned())))
        .collect()
}

/// Polls `check` every half second until it answers `Some`, for at most `limit`.
pub async fn eventually<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    limit: Duration,
    mut check: impl FnMut() -> F,
) -> T {
    let began = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(began.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The bundled configuration over the alias `alias`, on a single node (no replica, a quick
/// refresh), its monitors to the `inbox` webhook channel beside the SNS one.
pub fn config_text(alias: &str) -> String {
    let text = wafwatch_config::file::BUNDLED_DEFAULT_TOML
        .replace("name = \"waf-logs\"", &format!("name = \"{alias}\""))
        .replace("replicas = 1", "replicas = 0")
        .replace("refresh_interval = \"30s\"", "refresh_interval = \"1s\"")
        .replace("channels = [\"security-team\"]", "channels = [\"inbox\"]");
    format!(
        "{text}\n[[channel]]\nid = \"inbox\"\nname = \"wafwatch test inbox\"\ntype = \"webhook\"\n\
         url = \"${{WAFWATCH_TEST_INBOX_URL}}\"\nheaders = {{ X-Wafwatch = \"${{WAFWATCH_TEST_INBOX_TOKEN}}\" }}\n"
    )
}

/// The spec of a configuration text, with `inbox` the inbox channel's URL.
pub fn spec(text: &str, inbox: &str) -> Spec {
    let config = parse(text, Origin::Bundled).unwrap().config().unwrap();
    let inbox = inbox.to_owned();
    let env = move |k: &str| match k {
        "WAFWATCH_ALERT_TOPIC_ARN" => Some("arn:aws:sns:eu-west-1:111122223333:wafwatch-alerts".to_owned()),
        "WAFWATCH_TEST_INBOX_URL" => Some(inbox.clone()),
        "WAFWATCH_TEST_INBOX_TOKEN" => Some("real-node-token".to_owned()),
        _ => None,
    };
    Spec::from_config(&config, Resolve::Live, &env, Dashboards { prefix: "/_dashboards".into(), public_url: None })
        .unwrap()
}

/// The bootstrap's clients for `url`, retrying quickly.
pub fn clients(url: &str) -> Clients {
    let conn = ConnectionArgs { url: Some(url.to_owned()), ..ConnectionArgs::default() };
    Clients {
        cluster: conn.client(None).unwrap(),
        cluster_url: url.to_owned(),
        dashboards: None,
        dashboards_url: String::new(),
        retry: RetryPolicy {
            attempts: 4,
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(400),
        },
    }
}

pub const BIN: &str = env!("CARGO_BIN_EXE_wafwatch");

/// Runs the wafwatch binary; its stdout (it must succeed).
pub fn wafwatch(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).env("NO_COLOR", "1").env_remove("RUST_LOG").output().unwrap();
    assert!(out.status.success(), "wafwatch {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Backfills `alias` with the simulator's flat documents through its `_bulk` sink: `duration` up
/// to `end`, at `rate` a second, with the forced `scenarios`. Every document must be accepted.
pub fn backfill(node: &Node, alias: &str, end: chrono::DateTime<Utc>, duration: &str, rate: &str, scenarios: &[&str]) {
    let dir = std::env::temp_dir().join(format!("wafwatch-real-{}-{alias}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let undelivered = dir.join("undelivered.ndjson");
    let span = humantime::parse_duration(duration).unwrap();
    let from = (end - TimeDelta::from_std(span).unwrap()).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut args = vec!["simulate", "--from", &from, "--duration", duration, "--rate", rate, "--seed", "42"];
    for s in scenarios {
        args.extend(["--scenario", s]);
    }
    let sink = format!("opensearch:{alias}");
    let undelivered_path = undelivered.to_string_lossy().into_owned();
    args.extend(["--sink", &sink, "--opensearch-url", &node.url, "--no-progress", "--undelivered", &undelivered_path]);
    wafwatch(&args);
    let rejected = std::fs::read_to_string(&undelivered).unwrap_or_default();
    assert!(rejected.trim().is_empty(), "documents the node refused:\n{}", &rejected[..rejected.len().min(2000)]);
}

/// Deletes the indices of `alias` and the template wafwatch made for them.
pub async fn forget_indices(node: &Node, alias: &str) {
    node.delete(&format!("/{alias}-*")).await;
    node.delete(&format!("/_index_template/wafwatch-{alias}")).await;
}
