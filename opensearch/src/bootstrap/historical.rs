//! Historical analyses, as the anomaly-detection plugin runs them: started one at a time (a node
//! has a few task slots, and the plugin refuses a start while they are taken), and stopped before
//! their detector is updated or deleted (the plugin refuses both while one runs: "Historical is
//! running").

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::client::{Api, Reply, Target};
use super::error::BootstrapError;
use super::report::Action;
use super::resource::detector::{Detector, LiveDetector};
use super::session::Session;

/// How long `apply --historical` waits for a task slot before it gives up: a high-cardinality
/// analysis on a small node takes minutes.
pub const SLOT_WAIT: Duration = Duration::from_secs(30 * 60);

/// How often a stopping analysis is read, and how long it may take to stop.
const STOP_POLL: Duration = Duration::from_millis(500);
const STOP_WAIT: Duration = Duration::from_secs(120);

/// Whether the plugin refused a start for want of a task slot, which frees as analyses finish:
/// 400 "No available task slot", or 403 "Too many historical analysis requests in short time"
/// (AD 2.19 `ADTaskManager.checkTaskSlots`).
fn busy(reply: &Reply) -> bool {
    let reason = reply.reason();
    (reply.status == 400 && reason.contains("No available task slot"))
        || (reply.status == 403 && reason.contains("Too many historical analysis requests"))
}

/// Starts a historical analysis of the detector `id` over `[start, end)` (epoch ms), unless one is
/// running already; while the plugin has no task slot for it, waits `poll` and asks again, for at
/// most [`SLOT_WAIT`]. Analyses are started one at a time, so each start sees the slots the
/// previous ones took.
pub async fn start<A: Api>(
    cx: &mut Session<'_, A>,
    d: &Detector,
    id: &str,
    (start, end): (i64, i64),
    poll: Duration,
) -> Result<(), BootstrapError> {
    // Read leniently: in a dry run a detector created "just now" has only a placeholder id.
    let read = cx.get(Target::Cluster, &Detector::read_path(id)).await?;
    if let Some(task) = Detector::live(&read.body).running_task() {
        let detail = format!("already running (task {}, {})", task.id, task.state);
        cx.outcome("historical", &d.name, Action::Unchanged, detail);
        return Ok(());
    }
    let began = Instant::now();
    let mut refusals = 0;
    loop {
        let request = d.historical(id, start, end);
        let path = request.path.clone();
        let reply = cx.send(Target::Cluster, request, json!({"_id": "{{task}}"})).await?;
        if reply.ok() {
            let task = reply.body.get("_id").and_then(Value::as_str).unwrap_or("");
            let detail = match refusals {
                0 => format!("task {task}"),
                n => {
                    format!("task {task}, after waiting {}s for a task slot ({n} refusals)", began.elapsed().as_secs())
                }
            };
            cx.outcome("historical", &d.name, Action::Started, detail);
            return Ok(());
        }
        refusals += 1;
        if !busy(&reply) || began.elapsed() >= SLOT_WAIT {
            return Err(cx.fail(&format!("starting a historical analysis of detector {}", d.name), &path, &reply));
        }
        tracing::info!(detector = %d.name, reason = %reply.reason(), "Waiting for a historical-analysis task slot.");
        tokio::time::sleep(poll).await;
    }
}

/// Stops the historical analysis the live detector `id` runs, if it runs one, and waits until it
/// has stopped: the plugin refuses to update or delete the detector until then.
pub async fn stop_if_running<A: Api>(
    cx: &mut Session<'_, A>,
    d: &Detector,
    id: &str,
    live: &LiveDetector,
) -> Result<(), BootstrapError> {
    let Some(task) = live.running_task() else { return Ok(()) };
    let task = task.id.clone();
    let request = d.stop_historical(id);
    let path = request.path.clone();
    let reply = cx.send(Target::Cluster, request, json!({"_id": id})).await?;
    // "No running task found": it ended between the read and the stop.
    if !reply.ok() && !reply.reason().contains("No running task found") {
        return Err(cx.fail(&format!("stopping the historical analysis of detector {}", d.name), &path, &reply));
    }
    cx.outcome("historical", &d.name, Action::Stopped, format!("task {task}, so that the detector can change"));
    if cx.dry_run() {
        return Ok(());
    }
    let began = Instant::now();
    while read(cx, d, id).await?.running_task().is_some() {
        if began.elapsed() >= STOP_WAIT {
            return Err(BootstrapError::Precondition(format!(
                "the historical analysis of detector {} (task {task}) did not stop within {}s: stop it in the \
                 Anomaly Detection plugin and apply again",
                d.name,
                STOP_WAIT.as_secs()
            )));
        }
        tokio::time::sleep(STOP_POLL).await;
    }
    Ok(())
}

/// The detector `id` with its job and latest analysis.
async fn read<A: Api>(cx: &Session<'_, A>, d: &Detector, id: &str) -> Result<LiveDetector, BootstrapError> {
    let path = Detector::read_path(id);
    Ok(Detector::live(&cx.read(Target::Cluster, &path, &format!("reading detector {}", d.name)).await?.body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_start_refused_for_want_of_a_slot_is_retried_and_others_are_not() {
        let r = |status, reason: &str| Reply {
            status,
            body: json!({"error": {"root_cause": [{"type": "status_exception", "reason": reason}]}, "status": status}),
        };
        assert!(busy(&r(400, "No available task slot")));
        assert!(busy(&r(403, "Too many historical analysis requests in short time. Please retry later.")));
        assert!(!busy(&r(400, "Detector is already running")));
        assert!(!busy(&r(403, "no permissions for [cluster:admin/opendistro/ad/detector/jobmanagement]")));
    }
}
