//! The bootstrap's HTTP side: requests to the cluster and to Dashboards through the `opensearch`
//! crate behind the small [`Api`] trait, with the answers worth retrying (throttled, briefly
//! unavailable) retried through `wafwatch-retry`. What any other refusal means is said by the
//! `error` module, which reads the [`Reply`].

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use crate::connection::{Client as OpenSearch, HeaderMap, HeaderName, HeaderValue, Method};
use serde_json::Value;
pub use wafwatch_retry::RetryPolicy;
use wafwatch_retry::{Backoff, retryable_status};

use super::bodies::channel::mask_secrets;
use super::request::Body;

/// Which service a request goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The OpenSearch cluster.
    Cluster,
    /// OpenSearch Dashboards.
    Dashboards,
}

/// An answer: its status and its body (JSON when it parses, else `Value::String` of the text).
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// The body.
    pub body: Value,
}

impl Reply {
    /// Whether the status is 2xx and the body carries no error: the AD plugin answers some
    /// refusals with 200 and an `error` object ("Anomaly detector job is already running"), which
    /// is no success.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status) && self.body.get("error").is_none_or(Value::is_null)
    }

    /// The server's reason: `error.root_cause[0].reason`, `error.reason`, `message`, or the text.
    pub fn reason(&self) -> String {
        let b = &self.body;
        b.pointer("/error/root_cause/0/reason")
            .or_else(|| b.pointer("/error/reason"))
            .or_else(|| b.get("error").filter(|e| e.is_string()))
            .or_else(|| b.get("message"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| match b {
                Value::String(s) => s.chars().take(300).collect(),
                Value::Null => String::new(),
                other => other.to_string().chars().take(300).collect(),
            })
    }

    /// The members of the array at `pointer` in the body (none when there is no array there).
    pub fn items(&self, pointer: &str) -> impl Iterator<Item = &Value> {
        self.body.pointer(pointer).and_then(Value::as_array).into_iter().flatten()
    }

    /// `{name: _id}` from a search answer, the name read at `field` of each hit's `_source` (or of
    /// its `_source.monitor`, where the alerting plugin keeps a monitor's fields).
    pub fn ids_by_name(&self, field: &str) -> HashMap<String, String> {
        self.items("/hits/hits")
            .filter_map(|h| {
                let source = h.get("_source")?;
                let name = source.pointer(&format!("/monitor/{field}")).or_else(|| source.get(field))?.as_str()?;
                Some((name.to_owned(), h.get("_id")?.as_str()?.to_owned()))
            })
            .collect()
    }

    /// The error type (`error.type` or `error.root_cause[0].type`).
    pub fn error_type(&self) -> Option<&str> {
        self.body
            .pointer("/error/type")
            .or_else(|| self.body.pointer("/error/root_cause/0/type"))
            .and_then(Value::as_str)
    }
}

/// A request that could not be made at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot reach {what} at {url}: {reason} (check the URL, the network and that it is running)")]
pub struct Unreachable {
    /// "OpenSearch" or "OpenSearch Dashboards".
    pub what: &'static str,
    /// Its URL.
    pub url: String,
    /// Why.
    pub reason: String,
}

/// What the bootstrap sends requests through.
pub trait Api {
    /// Sends one request.
    fn send(
        &self,
        target: Target,
        method: &str,
        path: &str,
        body: Option<&Body>,
    ) -> impl Future<Output = Result<Reply, Unreachable>>;
}

/// How hard the bootstrap tries when the cluster or Dashboards is throttling or briefly unavailable
/// ([`retryable_status`]): six attempts, the waits doubling from below 500 ms to at most 16 s, with
/// full jitter: at most about 15 s of waiting in all, half that on average.
pub const DEFAULT_RETRY: RetryPolicy = RetryPolicy::new(6, Duration::from_millis(500), Duration::from_secs(16));

/// Where the alerting plugin serves its monitors.
const ALERTING_MONITORS: &str = "/_plugins/_alerting/monitors";

/// The User-Agent of every read of alerting monitors. wafwatch keeps its mark and fingerprint in a
/// monitor's `ui_metadata`, and the alerting plugin leaves `monitor.ui_metadata` out of
/// `GET .../monitors/<id>` and `.../monitors/_search` unless the request's User-Agent contains
/// `OpenSearch-Dashboards` (alerting 2.19: `RestHandlerUtils.kt`'s `context()` excludes it through
/// the search's `FetchSourceContext`; `AlertingPlugin.OPEN_SEARCH_DASHBOARDS_USER_AGENT`): UI state
/// is kept for the UI. Without it every monitor reads as changed and as not wafwatch's (audit
/// finding 2), so reads say they want what Dashboards gets.
pub const MONITOR_READ_USER_AGENT: &str =
    concat!("wafwatch/", env!("CARGO_PKG_VERSION"), " (reads ui_metadata as OpenSearch-Dashboards does)");

/// Whether a request reads alerting monitors (a GET, or a search), and so needs
/// [`MONITOR_READ_USER_AGENT`].
pub fn reads_monitors(method: &str, path: &str) -> bool {
    path.starts_with(ALERTING_MONITORS)
        && (method == "GET" || path.split('?').next().is_some_and(|p| p.ends_with("/_search")))
}

/// The boundary of the multipart body of a Dashboards import.
const BOUNDARY: &str = "wafwatch-saved-objects-7d3f9a2b6c1e4d08";

/// A Dashboards import body: one part named `file` with a `.ndjson` filename, lines ending in CRLF.
pub fn multipart(ndjson: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(ndjson.len() + 256);
    out.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
    out.extend_from_slice(b"Content-Disposition: form-data; name=\"file\"; filename=\"wafwatch.ndjson\"\r\n");
    out.extend_from_slice(b"Content-Type: application/ndjson\r\n\r\n");
    for line in ndjson.lines() {
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

/// The cluster and Dashboards clients, built by [`crate::connection::ConnectionArgs`].
pub struct Clients {
    /// The cluster.
    pub cluster: OpenSearch,
    /// Its URL, for messages.
    pub cluster_url: String,
    /// Dashboards (its origin; paths carry the prefix), if it is to be used.
    pub dashboards: Option<OpenSearch>,
    /// Its URL, for messages.
    pub dashboards_url: String,
    /// How hard to retry throttling and brief unavailability: [`DEFAULT_RETRY`], or quicker in tests.
    pub retry: RetryPolicy,
}

fn method(m: &str) -> Method {
    match m {
        "PUT" => Method::PUT,
        "POST" => Method::POST,
        "DELETE" => Method::DELETE,
        "HEAD" => Method::HEAD,
        _ => Method::GET,
    }
}

impl Api for Clients {
    async fn send(&self, target: Target, m: &str, path: &str, body: Option<&Body>) -> Result<Reply, Unreachable> {
        let (client, url, what) = match target {
            Target::Cluster => (Some(&self.cluster), &self.cluster_url, "OpenSearch"),
            Target::Dashboards => (self.dashboards.as_ref(), &self.dashboards_url, "OpenSearch Dashboards"),
        };
        let Some(client) = client else {
            return Err(Unreachable { what, url: url.clone(), reason: "no URL was given".into() });
        };
        let (path_only, query) = path.split_once('?').unwrap_or((path, ""));
        let query: Vec<(String, String)> = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (k.to_owned(), v.to_owned())
            })
            .collect();
        let q = (!query.is_empty()).then_some(&query);
        let (mut headers, bytes) = encode(target, body);
        if reads_monitors(m, path_only) {
            headers.insert(HeaderName::from_static("user-agent"), HeaderValue::from_static(MONITOR_READ_USER_AGENT));
        }
        if tracing::enabled!(tracing::Level::TRACE) {
            tracing::trace!(method = m, path, body = %logged(body), "Request body.");
        }
        let mut backoff = Backoff::new(self.retry);
        loop {
            let began = std::time::Instant::now();
            let sent = client.send(method(m), path_only, headers.clone(), q, bytes.clone(), None).await;
            let response = sent.map_err(|e| {
                tracing::debug!(method = m, path, error = %e, "Request failed.");
                Unreachable { what, url: url.clone(), reason: e.to_string() }
            })?;
            let status = response.status_code().as_u16();
            let elapsed_ms = began.elapsed().as_millis() as u64;
            tracing::debug!(target_service = what, method = m, path, status, elapsed_ms, "Request.");
            if retryable_status(status)
                && let Some(wait) = backoff.next_delay()
            {
                let attempt = backoff.attempts_made();
                tracing::warn!(status, path = %path_only, attempt, wait_ms = wait.as_millis() as u64, "Retrying.");
                tokio::time::sleep(wait).await;
                continue;
            }
            let text = response.text().await.unwrap_or_default();
            let body =
                serde_json::from_str(&text).unwrap_or(if text.is_empty() { Value::Null } else { Value::String(text) });
            if tracing::enabled!(tracing::Level::TRACE) {
                tracing::trace!(method = m, path, status, body = %redact(&body), "Answer body.");
            }
            return Ok(Reply { status, body });
        }
    }
}

/// A request body as the logs show it: channel secrets masked ([`redact`]).
fn logged(body: Option<&Body>) -> String {
    match body {
        Some(Body::Json(v)) => redact(v).to_string(),
        Some(Body::Ndjson(text)) => text.clone(),
        None => String::new(),
    }
}

/// `v` with every Notifications channel configuration in it (an object with a `config_type`, as
/// sent or as read back) masked as [`mask_secrets`] masks it for reports: webhook and chat URLs
/// carry tokens, header values carry keys.
pub fn redact(v: &Value) -> Value {
    match v {
        Value::Object(o) if o.contains_key("config_type") => mask_secrets(v),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), redact(v))).collect()),
        Value::Array(a) => Value::Array(a.iter().map(redact).collect()),
        other => other.clone(),
    }
}

/// The headers and bytes of a request: JSON as it is, NDJSON as a multipart import; Dashboards
/// wants `osd-xsrf` on every request.
fn encode(target: Target, body: Option<&Body>) -> (HeaderMap, Option<Vec<u8>>) {
    let mut headers = HeaderMap::new();
    let bytes = match body {
        Some(Body::Json(v)) => Some(v.to_string().into_bytes()),
        Some(Body::Ndjson(text)) => {
            if let Ok(v) = HeaderValue::from_str(&format!("multipart/form-data; boundary={BOUNDARY}")) {
                headers.insert(HeaderName::from_static("content-type"), v);
            }
            Some(multipart(text))
        }
        None => None,
    };
    if target == Target::Dashboards {
        headers.insert(HeaderName::from_static("osd-xsrf"), HeaderValue::from_static("true"));
    }
    (headers, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_never_show_a_channels_secrets() {
        use serde_json::json;
        let create = json!({"config_id": "ops", "config": {"name": "Ops", "config_type": "webhook", "webhook": {
            "url": "https://hooks.example/T0/s3cret", "method": "POST", "header_params": {"X-Token": "t0ken"}}}});
        let read = json!({"config_list": [{"config_id": "ops", "config": create["config"].clone()}]});
        for body in [create, read] {
            let shown = logged(Some(&Body::Json(body)));
            assert!(!shown.contains("s3cret") && !shown.contains("t0ken") && shown.contains("(secret "), "{shown}");
        }
    }

    #[test]
    fn monitor_reads_ask_for_ui_metadata_and_nothing_else_does() {
        assert!(MONITOR_READ_USER_AGENT.contains("OpenSearch-Dashboards"), "the alerting plugin's switch");
        assert!(reads_monitors("GET", "/_plugins/_alerting/monitors/abc"));
        assert!(reads_monitors("POST", "/_plugins/_alerting/monitors/_search"));
        assert!(!reads_monitors("PUT", "/_plugins/_alerting/monitors/abc"));
        assert!(!reads_monitors("POST", "/_plugins/_alerting/monitors"));
        assert!(!reads_monitors("GET", "/_plugins/_anomaly_detection/detectors/abc"));
    }
}
