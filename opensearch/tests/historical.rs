//! `apply --historical` and detectors with historical analyses, against a stand-in that runs them
//! as the real plugin (2.19) does: a few task slots, and a running analysis refusing its
//! detector's update and delete ("Historical is running").
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod support;

use std::time::Duration;

use support::cluster::Cluster;
use support::{action_of, clients, deployed, opts, run};
use wafwatch_opensearch::bootstrap::apply::{Action, ApplyOptions, Report, destroy};

const RANGE: (i64, i64) = (1_767_225_600_000, 1_767_236_400_000);

fn historical(report: &Report) -> Vec<(String, Action, String)> {
    report
        .outcomes
        .iter()
        .filter(|o| o.kind == "historical")
        .map(|o| (o.name.clone(), o.action.clone(), o.detail.clone()))
        .collect()
}

/// Audit finding 4: `--historical` on a deployed stack started nothing (unchanged detectors were
/// skipped), and finding 5a: started back to back, the third met "No available task slot" and
/// apply stopped halfway.
#[tokio::test]
async fn historical_analyses_every_detector_one_at_a_time_waiting_for_task_slots() {
    let cluster = Cluster::start().await;
    let spec = support::deployed_spec();
    deployed(&cluster, &spec).await;
    cluster.clear_log();
    let o = ApplyOptions { historical: Some(RANGE), ..opts() };
    let report = run(&cluster, &spec, &o).await.unwrap();
    let started = historical(&report);
    assert_eq!(started.len(), 6, "{started:#?}");
    assert!(started.iter().all(|(_, a, _)| *a == Action::Started), "{started:#?}");
    // Two slots: the third start was refused until an analysis finished, then went through.
    assert!(started.iter().any(|(_, _, d)| d.contains("for a task slot")), "{started:#?}");
    assert!(report.outcomes.iter().filter(|o| o.kind == "detector").all(|o| o.action == Action::Unchanged));
    let s = cluster.state.lock().unwrap();
    assert!(s.detectors.values().all(|d| d.historical.is_some()));
    assert!(s.violations.is_empty(), "{:?}", s.violations);
}

/// Audit finding 5b: a detector whose analysis runs refuses PUT and DELETE ("Historical is
/// running"); apply and destroy stop the analysis first.
#[tokio::test]
async fn a_running_analysis_is_stopped_before_its_detector_is_updated_or_deleted() {
    let cluster = Cluster::start().await;
    let mut spec = support::deployed_spec();
    deployed(&cluster, &spec).await;
    {
        let mut s = cluster.state.lock().unwrap();
        s.historical_slots = 10;
        s.historical_takes = Duration::from_secs(600);
    }
    run(&cluster, &spec, &ApplyOptions { historical: Some(RANGE), ..opts() }).await.unwrap();

    // A second --historical finds them running and leaves them be.
    let report = run(&cluster, &spec, &ApplyOptions { historical: Some(RANGE), ..opts() }).await.unwrap();
    assert_eq!(report.writes, 0);
    assert!(historical(&report).iter().all(|(_, a, d)| *a == Action::Unchanged && d.starts_with("already running")));

    spec.detection.detectors[0].shingle_size = 4;
    cluster.clear_log();
    let report = run(&cluster, &spec, &opts()).await.unwrap();
    assert_eq!(action_of(&report, "detector", "blocked-requests"), Action::Updated);
    assert_eq!(action_of(&report, "historical", "blocked-requests"), Action::Stopped);
    let writes: Vec<String> = {
        let s = cluster.state.lock().unwrap();
        s.log.iter().filter(|l| l.write).map(|l| format!("{} {}?{}", l.method, l.path, l.query)).collect()
    };
    let id = writes[0].split('/').nth(4).unwrap().to_owned();
    let det = format!("/_plugins/_anomaly_detection/detectors/{id}");
    assert_eq!(
        writes,
        [
            format!("POST {det}/_stop?"),
            format!("POST {det}/_stop?historical=true"),
            format!("PUT {det}?"),
            format!("POST {det}/_start?"),
        ]
    );

    let report = destroy(&clients(&cluster), &cluster.url, &spec, false).await.unwrap();
    assert_eq!(action_of(&report, "detector", "http-errors"), Action::Deleted);
    let s = cluster.state.lock().unwrap();
    assert!(s.detectors.is_empty());
    assert!(s.violations.is_empty(), "{:?}", s.violations);
}

#[tokio::test]
async fn a_detector_waiting_for_data_waits_for_its_analysis_too() {
    let cluster = Cluster::start().await;
    let spec = support::deployed_spec();
    let report = run(&cluster, &spec, &ApplyOptions { historical: Some(RANGE), ..opts() }).await.unwrap();
    assert_eq!(action_of(&report, "historical", "blocked-requests"), Action::Waiting);
}
