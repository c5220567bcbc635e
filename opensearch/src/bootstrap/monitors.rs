//! `apply` for the monitors: an anomaly monitor is written once its detector has an id, with that
//! id in its body, so it follows a recreated detector; a count monitor needs no detector.

use serde_json::{Value, json};

use super::client::{Api, Target};
use super::compare::fingerprint_detail;
use super::detectors::DetectorRun;
use super::error::BootstrapError;
use super::lookup::Lookups;
use super::report::Action;
use super::resource::monitor::{Mark, Monitor};
use super::session::Session;

/// Reconciles one monitor.
pub async fn reconcile<A: Api>(
    cx: &mut Session<'_, A>,
    lookups: &mut Lookups<'_>,
    detectors: &DetectorRun,
    m: &Monitor<'_>,
) -> Result<(), BootstrapError> {
    let existing = lookups.monitor(cx, &m.name).await?;
    let detector_id = match m.detector {
        None => "",
        Some(det) => match detectors.ids.get(det) {
            Some(id) => id.as_str(),
            None => {
                let why = if detectors.waiting.iter().any(|w| w == det) {
                    format!("its detector {det} waits for documents")
                } else {
                    format!("its detector {det} has no id")
                };
                cx.outcome("monitor", &m.name, Action::Waiting, why);
                return Ok(());
            }
        },
    };
    let desired = m.desired(detector_id);
    let Some(id) = existing else {
        let created = cx.write(Target::Cluster, m.create(desired), json!({"_id": "{{monitor}}"})).await?;
        let id = created.body.get("_id").and_then(Value::as_str).unwrap_or("");
        cx.outcome("monitor", &m.name, Action::Created, format!("id {id}"));
        return Ok(());
    };
    let path = Monitor::path(&id);
    let read = cx.read(Target::Cluster, &path, &format!("reading monitor {}", m.name)).await?;
    let live = Monitor::live(&read.body);
    if Monitor::same(&desired, &live) {
        cx.outcome("monitor", &m.name, Action::Unchanged, format!("id {id}"));
    } else {
        let detail = match Monitor::mark(&live) {
            Mark::Unreadable => "the cluster answered without its ui_metadata (wafwatch's mark and fingerprint)".into(),
            Mark::Ours | Mark::Foreign => fingerprint_detail(&desired, &live),
        };
        cx.write(Target::Cluster, m.update(&id, desired, &read), json!({"_id": id})).await?;
        cx.outcome("monitor", &m.name, Action::Updated, detail);
    }
    Ok(())
}
