//! `status`: each detector's state and latest anomalies, each monitor's active alerts, read for
//! the detectors and monitors of the list of resources.

use serde::Serialize;
use serde_json::Value;

use super::client::{Api, Target};
use super::error::BootstrapError;
use super::lookup::Lookups;
use super::resource::detector::Detector;
use super::resource::monitor::Monitor;
use super::resource::{Resource, resources};
use super::session::Session;
use super::spec::Spec;

/// One detector's state and its most recent anomalies; one monitor's active alerts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusLine {
    /// `detector` or `monitor`.
    pub kind: &'static str,
    /// Its name.
    pub name: String,
    /// `RUNNING`, `INIT`, `DISABLED`, `missing`; or for monitors `enabled`/`disabled`/`missing`.
    pub state: String,
    /// Detectors: the latest real-time anomalies, newest interval first (time, grade, entity), and
    /// the state of the latest historical analysis; monitors: the active alerts.
    pub items: Vec<String>,
}

/// `status`: each detector's state and recent anomalies, each monitor's active alerts.
pub async fn status<A: Api>(api: &A, url: &str, spec: &Spec) -> Result<Vec<StatusLine>, BootstrapError> {
    let cx = Session::new(api, url, true);
    let mut lookups = Lookups::new(spec);
    let mut out = Vec::new();
    for resource in resources(spec) {
        let line = match &resource {
            Resource::Detector(d) => match lookups.detector(&cx, &d.name).await? {
                Some(id) => detector(&cx, &d.name, &id).await?,
                None => missing("detector", &d.name),
            },
            Resource::Monitor(m) => match lookups.monitor(&cx, &m.name).await? {
                Some(id) => monitor(&cx, &m.name, &id).await?,
                None => missing("monitor", &m.name),
            },
            _ => continue,
        };
        out.push(line);
    }
    Ok(out)
}

/// A detector or monitor the cluster does not have.
fn missing(kind: &'static str, name: &str) -> StatusLine {
    StatusLine { kind, name: name.to_owned(), state: "missing".into(), items: vec![] }
}

/// A detector's state and its latest anomalies.
async fn detector<A: Api>(cx: &Session<'_, A>, name: &str, id: &str) -> Result<StatusLine, BootstrapError> {
    let path = Detector::profile_path(id);
    let p = cx.read(Target::Cluster, &path, &format!("reading the state of detector {name}")).await?;
    let mut state = p.body.get("state").and_then(Value::as_str).unwrap_or("unknown").to_owned();
    if let Some(e) = p.body.get("error").and_then(Value::as_str) {
        state = format!("{state} ({e})");
    }
    let (path, query) = Detector::anomalies_search(id);
    let r = cx.search(&path, query).await?;
    let mut items: Vec<String> = r.items("/hits/hits").filter_map(|h| h.get("_source")).map(anomaly).collect();
    let read = cx.get(Target::Cluster, &Detector::read_path(id)).await?;
    if let Some(task) = Detector::live(&read.body).historical {
        items.push(format!("historical analysis {} (task {}; its results are not listed here)", task.state, task.id));
    }
    Ok(StatusLine { kind: "detector", name: name.to_owned(), state, items })
}

/// One anomaly result: when, how bad, how sure, and for which entity.
fn anomaly(s: &Value) -> String {
    let when = rfc3339(s.get("data_start_time"));
    let entity = s
        .get("entity")
        .and_then(Value::as_array)
        .map(|e| {
            e.iter()
                .filter_map(|v| Some(format!(" {}={}", v.get("name")?.as_str()?, v.get("value")?.as_str()?)))
                .collect::<String>()
        })
        .unwrap_or_default();
    format!(
        "{when} grade {:.2}, confidence {:.2}{entity}",
        s.get("anomaly_grade").and_then(Value::as_f64).unwrap_or(0.0),
        s.get("confidence").and_then(Value::as_f64).unwrap_or(0.0)
    )
}

/// A monitor's active alerts.
async fn monitor<A: Api>(cx: &Session<'_, A>, name: &str, id: &str) -> Result<StatusLine, BootstrapError> {
    let path = Monitor::alerts_path(id);
    let r = cx.read(Target::Cluster, &path, &format!("reading the alerts of monitor {name}")).await?;
    let items = r
        .items("/alerts")
        .map(|a| {
            let since = rfc3339(a.get("start_time"));
            let keys = a.pointer("/agg_alert_content/bucket_keys").map(|k| format!(" {k}")).unwrap_or_default();
            format!("active since {since}, severity {}{keys}", a.get("severity").and_then(Value::as_str).unwrap_or("?"))
        })
        .collect::<Vec<_>>();
    let state = if items.is_empty() { "ok".to_owned() } else { format!("{} active alert(s)", items.len()) };
    Ok(StatusLine { kind: "monitor", name: name.to_owned(), state, items })
}

/// Epoch milliseconds as RFC 3339 to the second (empty when absent).
fn rfc3339(millis: Option<&Value>) -> String {
    millis
        .and_then(Value::as_i64)
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// Renders `status` for people.
pub fn render_status(lines: &[StatusLine]) -> String {
    let mut s = String::new();
    for l in lines {
        s.push_str(&format!("{:<9} {:<32} {}\n", l.kind, l.name, l.state));
        for i in &l.items {
            s.push_str(&format!("{:<42} {i}\n", ""));
        }
    }
    s
}
