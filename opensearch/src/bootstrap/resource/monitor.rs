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
            MonitorKind::Count { .. } | MonitorKind::NewValues { .. } => None,
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
    /// it (the server answers 409 without them) and the ids of its triggers and actions
    /// ([`keep_ids`]).
    pub fn update(&self, id: &str, body: Value, read: &Reply) -> Request {
        let seq = read.body.get("_seq_no").cloned().unwrap_or(json!(0));
        let term = read.body.get("_primary_term").cloned().unwrap_or(json!(1));
        let path = format!("{}?if_seq_no={seq}&if_primary_term={term}", Monitor::path(id));
        let body = keep_ids(body, &Monitor::live(&read.body));
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

    /// What the live monitor says of who made it.
    pub fn mark(live: &Value) -> Mark {
        match live.get("ui_metadata") {
            None | Some(Value::Null) => Mark::Unreadable,
            Some(_) if is_managed(live) => Mark::Ours,
            Some(_) => Mark::Foreign,
        }
    }

    /// Where the active alerts of the monitor `id` are read.
    pub fn alerts_path(id: &str) -> String {
        format!("{MONITORS}/alerts?monitorId={id}&alertState=ACTIVE")
    }
}

/// What a live monitor says of who made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// It carries wafwatch's mark.
    Ours,
    /// Its `ui_metadata` carries no wafwatch mark: someone else's.
    Foreign,
    /// The answer has no `ui_metadata` at all: the plugin left it out (a read without
    /// [`MONITOR_READ_USER_AGENT`](crate::bootstrap::client::MONITOR_READ_USER_AGENT), say,
    /// through a proxy that replaces it), or the monitor was made without one. Either way, whose
    /// it is cannot be told.
    Unreadable,
}

/// The kinds of trigger, as the plugin wraps each one.
const TRIGGER_KINDS: [&str; 3] = ["query_level_trigger", "bucket_level_trigger", "document_level_trigger"];

/// `desired` with the ids the live monitor's triggers and actions have, matched by kind and name
/// (actions by name within their trigger). The alerting plugin gives a new id to every trigger and
/// action a PUT sends without one, and it keys alerts and their throttling by trigger id: an update
/// without them ends every open alert (state DELETED) and pages again at the next run (audit
/// finding 2). The ids are added after the body is signed, so they are not in its fingerprint.
pub fn keep_ids(mut desired: Value, live: &Value) -> Value {
    let live_triggers = live.get("triggers").and_then(Value::as_array).cloned().unwrap_or_default();
    for trigger in desired.get_mut("triggers").and_then(Value::as_array_mut).into_iter().flatten() {
        let Some((kind, inner)) = trigger.as_object_mut().and_then(|o| {
            let kind = TRIGGER_KINDS.into_iter().find(|k| o.contains_key(*k))?;
            Some((kind, o.get_mut(kind)?))
        }) else {
            continue;
        };
        let name = inner.get("name").cloned();
        let Some(old) = live_triggers.iter().filter_map(|t| t.get(kind)).find(|t| t.get("name") == name.as_ref())
        else {
            continue;
        };
        if let Some(id) = old.get("id") {
            inner["id"] = id.clone();
        }
        let old_actions = old.get("actions").and_then(Value::as_array).cloned().unwrap_or_default();
        for action in inner.get_mut("actions").and_then(Value::as_array_mut).into_iter().flatten() {
            let found = old_actions.iter().find(|a| a.get("name") == action.get("name")).and_then(|a| a.get("id"));
            if let Some(id) = found {
                action["id"] = id.clone();
            }
        }
    }
    desired
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
    fn an_update_keeps_the_ids_of_triggers_and_actions() {
        let desired = json!({"triggers": [{"query_level_trigger": {"name": "m", "severity": "1", "actions": [
            {"name": "notify a"}, {"name": "notify new"},
        ]}}], "ui_metadata": {"wafwatch": {"fingerprint": "f"}}});
        let live = json!({"triggers": [{"query_level_trigger": {"id": "T1", "name": "m", "actions": [
            {"id": "A1", "name": "notify a"}, {"id": "A2", "name": "notify gone"},
        ]}}]});
        let kept = keep_ids(desired, &live);
        assert_eq!(kept["triggers"][0]["query_level_trigger"]["id"], "T1");
        assert_eq!(kept["triggers"][0]["query_level_trigger"]["actions"][0]["id"], "A1");
        assert!(
            kept["triggers"][0]["query_level_trigger"]["actions"][1].get("id").is_none(),
            "a new action gets a new id"
        );
        // A trigger of another kind (a count monitor that became bucket-level) keeps nothing.
        let bucket = json!({"triggers": [{"bucket_level_trigger": {"name": "m", "actions": []}}]});
        assert!(keep_ids(bucket, &live)["triggers"][0]["bucket_level_trigger"].get("id").is_none());
    }

    #[test]
    fn a_monitor_without_ui_metadata_is_not_taken_for_someone_elses() {
        assert_eq!(Monitor::mark(&json!({"name": "m"})), Mark::Unreadable);
        assert_eq!(Monitor::mark(&json!({"name": "m", "ui_metadata": {}})), Mark::Foreign);
        let ours = json!({"ui_metadata": {"wafwatch": {"managed_by": "wafwatch", "fingerprint": "f"}}});
        assert_eq!(Monitor::mark(&ours), Mark::Ours);
    }

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
