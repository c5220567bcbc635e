//! An alerting monitor: created with POST (the plugin gives it an id), found by name, updated with
//! PUT and its sequence numbers. An anomaly monitor reads its detector's results by the detector's
//! id, so its body follows the id apply settles for that detector.

use std::collections::HashMap;

use serde_json::{Value, json};
use wafwatch_config::detection::{Monitor as MonitorConfig, MonitorKind};

use crate::bootstrap::bodies::detector::detector_placeholder;
use crate::bootstrap::bodies::mark::{is_managed, same_fingerprint};
use crate::bootstrap::bodies::monitor::monitor;
use crate::bootstrap::client::{Api, Reply};
use crate::bootstrap::error::BootstrapError;
use crate::bootstrap::request::Request;
use crate::bootstrap::session::Session;
use crate::bootstrap::spec::Spec;

/// The alerting plugin's monitors endpoint.
pub const MONITORS: &str = "/_plugins/_alerting/monitors";

/// A monitor as wafwatch wants it.
#[derive(Debug, Clone)]
pub struct Monitor<'s> {
    /// Its name.
    pub name: String,
    /// The name of the detector whose results it reads (anomaly monitors only).
    pub detector: Option<&'s str>,
    config: &'s MonitorConfig,
    spec: &'s Spec,
}

impl<'s> Monitor<'s> {
    /// The monitor of one `[[monitor]]`.
    pub fn new(m: &'s MonitorConfig, spec: &'s Spec) -> Monitor<'s> {
        let detector = match &m.kind {
            MonitorKind::Anomaly { detector, .. } => Some(spec.detection.detectors[*detector].name.as_str()),
            MonitorKind::Count { .. } => None,
        };
        Monitor { name: m.name.clone(), detector, config: m, spec }
    }

    /// Its body, reading the results of the detector `detector_id` (ignored by count monitors).
    pub fn desired(&self, detector_id: &str) -> Value {
        let spec = self.spec;
        spec.with_site(|site| monitor(self.config, &spec.detection, &spec.index, site, detector_id))
    }

    /// What a first apply sends: the create, the detector's id a placeholder.
    pub fn plan(&self) -> Request {
        let detector_id = self.detector.map(detector_placeholder).unwrap_or_default();
        let channels = &self.config.channels;
        let to = if channels.is_empty() { "no channel".into() } else { channels.join(", ") };
        self.create(self.desired(&detector_id)).doing(format!("create monitor {} (to {to})", self.name))
    }

    /// The create of `body`.
    pub fn create(&self, body: Value) -> Request {
        Request::json("POST", MONITORS, body, format!("creating monitor {}", self.name))
    }

    /// The update of the monitor `id` to `body`, with the sequence numbers of the answer that read
    /// it (the server answers 409 without them).
    pub fn update(&self, id: &str, body: Value, read: &Reply) -> Request {
        let seq = read.body.get("_seq_no").cloned().unwrap_or(json!(0));
        let term = read.body.get("_primary_term").cloned().unwrap_or(json!(1));
        let path = format!("{}?if_seq_no={seq}&if_primary_term={term}", Monitor::path(id));
        Request::json("PUT", path, body, format!("updating monitor {}", self.name))
    }

    /// The delete of the monitor `id`.
    pub fn delete(&self, id: &str) -> Request {
        Request::bare("DELETE", Monitor::path(id), format!("deleting monitor {}", self.name))
    }

    /// Where the monitor `id` lives.
    pub fn path(id: &str) -> String {
        format!("{MONITORS}/{id}")
    }

    /// The monitor in the answer to a read of [`Monitor::path`] (null when the answer has none).
    pub fn live(body: &Value) -> Value {
        body.get("monitor").cloned().unwrap_or_default()
    }

    /// Whether the live monitor is `desired` (by the fingerprint it carries).
    pub fn same(desired: &Value, live: &Value) -> bool {
        same_fingerprint(desired, live)
    }

    /// Whether the live monitor carries wafwatch's mark.
    pub fn is_ours(live: &Value) -> bool {
        is_managed(live)
    }

    /// Where the active alerts of the monitor `id` are read.
    pub fn alerts_path(id: &str) -> String {
        format!("{MONITORS}/alerts?monitorId={id}&alertState=ACTIVE")
    }
}

/// Monitor ids by name, of the monitors named `wanted` (the plugin maps `monitor.name` with a
/// keyword sub-field, so the names are matched exactly by the search).
pub async fn find<A: Api>(cx: &Session<'_, A>, wanted: &[&str]) -> Result<HashMap<String, String>, BootstrapError> {
    let path = &format!("{MONITORS}/_search");
    let r = cx.search(path, json!({"size": 1000, "query": {"terms": {"monitor.name.keyword": wanted}}})).await?;
    match r.status {
        200 => Ok(r.ids_by_name("name")),
        404 if no_monitor_yet(&r) => Ok(HashMap::new()),
        _ => Err(cx.fail("looking up monitors", path, &r)),
    }
}

/// Whether a 404 to the monitors' search says that no monitor was ever created: the plugin's
/// config index does not exist yet. The alerting plugin (2.19) does not answer the
/// `index_not_found_exception` the AD plugin answers, but
/// `{"error":{"type":"alerting_exception","reason":"Configured indices are not found:
/// [.opendistro-alerting-config]","caused_by":{"reason":"...IndexNotFoundException: no such index
/// [.opendistro-alerting-config]"}}}`; both are accepted.
fn no_monitor_yet(r: &Reply) -> bool {
    let says = |pointer: &str, needle: &str| {
        r.body.pointer(pointer).and_then(Value::as_str).is_some_and(|text| text.contains(needle))
    };
    r.error_type() == Some("index_not_found_exception")
        || (r.error_type() == Some("alerting_exception") && says("/error/reason", "Configured indices are not found"))
        || says("/error/caused_by/reason", "IndexNotFoundException")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_cluster_that_never_had_a_monitor_has_none() {
        // What a fresh OpenSearch 2.19.4 answers (audit finding 1).
        let alerting = Reply {
            status: 404,
            body: json!({"error": {
                "root_cause": [{"type": "alerting_exception", "reason": "Configured indices are not found: [.opendistro-alerting-config]"}],
                "type": "alerting_exception",
                "reason": "Configured indices are not found: [.opendistro-alerting-config]",
                "caused_by": {"type": "exception", "reason": "org.opensearch.index.IndexNotFoundException: no such index [.opendistro-alerting-config]"},
            }, "status": 404}),
        };
        assert!(no_monitor_yet(&alerting));
        let plain = Reply {
            status: 404,
            body: json!({"error": {"type": "index_not_found_exception", "reason": "no such index"}}),
        };
        assert!(no_monitor_yet(&plain));
        let other = Reply {
            status: 404,
            body: json!({"error": {"type": "alerting_exception", "reason": "Monitor not found."}}),
        };
        assert!(!no_monitor_yet(&other));
    }
}
