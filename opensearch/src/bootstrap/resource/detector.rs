//! An anomaly detector: created with POST (the plugin gives it an id), found by name, updated with
//! PUT only while its real-time job is stopped, recreated when its category fields change (they
//! are immutable), started once the index holds documents.

use std::collections::HashMap;

use serde_json::{Value, json};
use wafwatch_config::detection::Detector as DetectorConfig;

use crate::bootstrap::bodies::detector::{detector, detector_placeholder};
use crate::bootstrap::bodies::mark::{is_managed, same_fingerprint};
use crate::bootstrap::client::Api;
use crate::bootstrap::error::BootstrapError;
use crate::bootstrap::request::Request;
use crate::bootstrap::session::Session;
use crate::bootstrap::spec::Spec;

/// The anomaly-detection plugin's detectors endpoint.
pub const DETECTORS: &str = "/_plugins/_anomaly_detection/detectors";

/// A detector as wafwatch wants it.
#[derive(Debug, Clone, PartialEq)]
pub struct Detector {
    /// Its name, unique on the cluster.
    pub name: String,
    /// Its body (the same for a create and an update).
    pub desired: Value,
    alias: String,
}

/// A detector as the cluster holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveDetector {
    /// Its configuration (`anomaly_detector`; null when the answer has none).
    pub config: Value,
    /// Whether its real-time job is running.
    pub running: bool,
    /// Its latest historical analysis, if it had one.
    pub historical: Option<Task>,
}

/// A historical analysis, as `historical_analysis_task` says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// The task's id.
    pub id: String,
    /// `CREATED`, `INIT`, `RUNNING`, `FINISHED`, `STOPPED`, `FAILED`.
    pub state: String,
}

/// The states of an analysis that has not ended (the plugin's `TaskState.NOT_ENDED_STATES`).
/// While one is in them the plugin refuses to update or delete its detector ("Historical is
/// running").
const NOT_ENDED: [&str; 4] = ["CREATED", "INIT", "RUNNING", "INIT_TEST"];

impl Task {
    /// Whether it has not ended.
    pub fn running(&self) -> bool {
        NOT_ENDED.contains(&self.state.as_str())
    }
}

impl LiveDetector {
    /// The historical analysis it runs now, if any.
    pub fn running_task(&self) -> Option<&Task> {
        self.historical.as_ref().filter(|t| t.running())
    }
}

impl Detector {
    /// The detector of one `[[detector]]`.
    pub fn new(d: &DetectorConfig, spec: &Spec) -> Detector {
        Detector {
            name: d.name.clone(),
            desired: detector(d, &spec.detection, &spec.index),
            alias: spec.index.alias.clone(),
        }
    }

    /// What a first apply sends: the create, and the start of its real-time job (the id a
    /// placeholder).
    pub fn plan(&self) -> Vec<Request> {
        let create =
            self.create().doing(format!("create detector {} (once {} holds documents)", self.name, self.alias));
        let start = Request::bare(
            "POST",
            format!("{DETECTORS}/{}/_start", detector_placeholder(&self.name)),
            format!("start detector {} (real-time)", self.name),
        );
        vec![create, start]
    }

    /// The create.
    pub fn create(&self) -> Request {
        Request::json("POST", DETECTORS, self.desired.clone(), format!("creating detector {}", self.name))
    }

    /// What a dry run pretends the create answered: the plan's placeholder for the id.
    pub fn dry_created(&self) -> Value {
        json!({"_id": detector_placeholder(&self.name)})
    }

    /// The update of the detector `id` (its job must be stopped).
    pub fn update(&self, id: &str) -> Request {
        Request::json(
            "PUT",
            format!("{DETECTORS}/{id}"),
            self.desired.clone(),
            format!("updating detector {}", self.name),
        )
    }

    /// The delete of the detector `id` (its job must be stopped).
    pub fn delete(&self, id: &str) -> Request {
        Request::bare("DELETE", format!("{DETECTORS}/{id}"), format!("deleting detector {}", self.name))
    }

    /// Starts (`true`) or stops the real-time job of the detector `id`.
    pub fn job(&self, id: &str, start: bool) -> Request {
        let (action, doing) = if start { ("_start", "starting") } else { ("_stop", "stopping") };
        Request::bare("POST", format!("{DETECTORS}/{id}/{action}"), format!("{doing} detector {}", self.name))
    }

    /// A historical analysis of the detector `id` over `[start, end)` (epoch ms).
    pub fn historical(&self, id: &str, start: i64, end: i64) -> Request {
        Request::json(
            "POST",
            format!("{DETECTORS}/{id}/_start"),
            json!({"start_time": start, "end_time": end}),
            format!("starting a historical analysis of detector {}", self.name),
        )
    }

    /// Stops the historical analysis of the detector `id`.
    pub fn stop_historical(&self, id: &str) -> Request {
        Request::bare(
            "POST",
            format!("{DETECTORS}/{id}/_stop?historical=true"),
            format!("stopping the historical analysis of detector {}", self.name),
        )
    }

    /// Where the detector `id` is read, with its real-time job and its latest historical analysis.
    pub fn read_path(id: &str) -> String {
        format!("{DETECTORS}/{id}?job=true&task=true")
    }

    /// The detector in the answer to a read of [`Detector::read_path`].
    pub fn live(body: &Value) -> LiveDetector {
        let historical = body.get("historical_analysis_task").and_then(|t| {
            Some(Task { id: t.get("task_id")?.as_str()?.to_owned(), state: t.get("state")?.as_str()?.to_owned() })
        });
        LiveDetector {
            config: body.get("anomaly_detector").cloned().unwrap_or_default(),
            running: body.pointer("/anomaly_detector_job/enabled").and_then(Value::as_bool).unwrap_or(false),
            historical,
        }
    }

    /// Whether the live detector is as wafwatch wants it (by the fingerprint it carries).
    pub fn same(&self, live: &LiveDetector) -> bool {
        same_fingerprint(&self.desired, &live.config)
    }

    /// Whether the category fields stay as they are (else the detector must be recreated).
    pub fn same_category(&self, live: &LiveDetector) -> bool {
        live.config.get("category_field").cloned().unwrap_or(json!([]))
            == self.desired.get("category_field").cloned().unwrap_or(json!([]))
    }

    /// Whether the live detector carries wafwatch's mark.
    pub fn is_ours(live: &LiveDetector) -> bool {
        is_managed(&live.config)
    }

    /// Where the state of the detector `id` is read (`RUNNING`, `INIT`, `DISABLED`).
    pub fn profile_path(id: &str) -> String {
        format!("{DETECTORS}/{id}/_profile/state")
    }

    /// The search for the latest real-time anomalies of the detector `id`, newest interval first:
    /// path and query. Historical analyses write results too (with a `task_id`, and a fresh
    /// `execution_end_time` over old intervals); they are left out, and results are ordered by the
    /// interval they are about, not by when they were written.
    pub fn anomalies_search(id: &str) -> (String, Value) {
        let query = json!({
            "size": 5,
            "sort": [{"data_start_time": {"order": "desc"}}],
            "query": {"bool": {
                "filter": [{"term": {"detector_id": id}}, {"range": {"anomaly_grade": {"gt": 0}}}],
                "must_not": [{"exists": {"field": "task_id"}}],
            }},
        });
        (format!("{DETECTORS}/results/_search"), query)
    }
}

/// Detector ids by name, of the detectors named `wanted`. The contract does not say how the
/// plugin's config index maps `name`, so the search asks for every detector (a cluster holds at
/// most 1,000 single-stream detectors by default) and the names are matched exactly here; a missed
/// match would otherwise turn into a create that the server refuses with 409.
pub async fn find<A: Api>(cx: &Session<'_, A>, wanted: &[&str]) -> Result<HashMap<String, String>, BootstrapError> {
    let path = &format!("{DETECTORS}/_search");
    let r = cx.search(path, json!({"size": 10_000, "query": {"match_all": {}}, "_source": ["name"]})).await?;
    match r.status {
        200 => Ok(r.ids_by_name("name").into_iter().filter(|(n, _)| wanted.contains(&n.as_str())).collect()),
        // No detector was ever created, so the plugin's config index does not exist yet.
        404 if r.error_type() == Some("index_not_found_exception") => Ok(HashMap::new()),
        _ => Err(cx.fail("looking up detectors", path, &r)),
    }
}
