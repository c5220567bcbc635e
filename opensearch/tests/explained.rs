//! What apply, status and destroy say: the refusals the real node gives, in one sentence, before
//! anything is written where that can be known; the differences of an update; the anomalies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod support;

use support::cluster::Cluster;
use support::{clients, deployed, opts, run};
use wafwatch_opensearch::bootstrap::apply::{Action, ApplyOptions, destroy, status};

/// Audit finding 13: on a self-managed cluster the default Dashboards URL is OpenSearch itself,
/// which answers 400 `{"error": "no handler found ..."}`; apply stopped there, after every write.
#[tokio::test]
async fn a_dashboards_url_that_is_opensearch_is_said_so_before_anything_is_written() {
    let cluster = Cluster::start().await;
    cluster.state.lock().unwrap().no_dashboards = true;
    let spec = support::deployed_spec();
    let err = run(&cluster, &spec, &opts()).await.unwrap_err().to_string();
    assert!(
        err.starts_with("no OpenSearch Dashboards answers at the Dashboards URL (OpenSearch itself answered \"no handler found\" for /_dashboards/api/saved_objects/"),
        "{err}"
    );
    assert!(
        err.ends_with(
            "pass --dashboards-url with your Dashboards' URL (such as http://localhost:5601), or --no-dashboards"
        ),
        "{err}"
    );
    assert!(cluster.writes().is_empty(), "{:#?}", cluster.writes());
    let err = destroy(&clients(&cluster), &cluster.url, &spec, false).await.unwrap_err().to_string();
    assert!(err.starts_with("no OpenSearch Dashboards answers"), "{err}");
    // Left out, all is well.
    let report = run(&cluster, &spec, &ApplyOptions { skip_dashboards: true, ..opts() }).await.unwrap();
    assert!(report.writes > 0);
}

/// Audit finding 12: "no handler found" comes as `{"error": "<text>"}`, not the object envelope.
#[tokio::test]
async fn a_missing_plugin_is_named_from_the_real_envelope() {
    let cluster = Cluster::start().await;
    cluster.state.lock().unwrap().missing_plugins.insert("alerting");
    let err = run(&cluster, &support::deployed_spec(), &opts()).await.unwrap_err().to_string();
    assert!(err.contains("the alerting plugin is not installed on"), "{err}");
}

/// Audit finding 15: a removed category field showed only as a fingerprint change, and monitor
/// diffs listed the server's normalisation.
#[tokio::test]
async fn an_update_names_removed_members_and_that_the_fingerprint_differs() {
    let cluster = Cluster::start().await;
    let mut spec = support::deployed_spec();
    spec.detection.captures.push(wafwatch_config::pointer::Field::parse("/clientIp").unwrap());
    spec.detection.detectors[0].category_fields = vec![spec.detection.captures.len() - 1];
    deployed(&cluster, &spec).await;
    spec.detection.detectors[0].category_fields = vec![];
    support::monitor_named(&mut spec, "server-errors").throttle = std::time::Duration::from_secs(1800);
    let report = run(&cluster, &spec, &ApplyOptions { dry_run: true, ..opts() }).await.unwrap();
    let det = report.outcomes.iter().find(|o| o.name == "blocked-requests" && o.kind == "detector").unwrap();
    assert_eq!(det.action, Action::Recreated);
    assert!(det.detail.starts_with("fingerprint differs: "), "{}", det.detail);
    assert!(det.detail.contains("/category_field [\"clientIp\"] removed"), "{}", det.detail);
    let mon = report.outcomes.iter().find(|o| o.kind == "monitor" && o.name == "server-errors").unwrap();
    assert!(mon.detail.starts_with("fingerprint differs: "), "{}", mon.detail);
    assert!(mon.detail.contains("/throttle/value 10 -> 30"), "{}", mon.detail);
}

/// Audit finding 14: status listed a historical result (written later, about an old interval)
/// above the real-time ones, sorted by when results were written.
#[tokio::test]
async fn status_lists_real_time_anomalies_newest_interval_first_and_the_analysis_apart() {
    let cluster = Cluster::start().await;
    let spec = support::deployed_spec();
    deployed(&cluster, &spec).await;
    let det = {
        let mut s = cluster.state.lock().unwrap();
        let det = s.detectors.iter().find(|(_, d)| d.body["name"] == "http-errors").map(|(k, _)| k.clone()).unwrap();
        for (start, written, task) in [(1_000_i64, 5_000_i64, None), (3_000, 3_500, None), (2_000, 9_000, Some("t1"))] {
            let mut r = serde_json::json!({"detector_id": det, "anomaly_grade": 1.0, "confidence": 0.5, "data_start_time": start * 60_000 + 1_767_225_600_000, "execution_end_time": written});
            if let Some(t) = task {
                r["task_id"] = serde_json::json!(t);
            }
            s.results.push(r);
        }
        det
    };
    run(&cluster, &spec, &ApplyOptions { historical: Some((1, 2)), ..opts() }).await.unwrap();
    let lines = status(&clients(&cluster), &cluster.url, &spec).await.unwrap();
    let line = lines.iter().find(|l| l.name == "http-errors").unwrap();
    assert_eq!(line.items.len(), 3, "{:#?} ({det})", line.items);
    assert!(line.items[0].starts_with("2026-01-03T02:00:00Z grade 1.00"), "{:#?}", line.items);
    assert!(line.items[1].starts_with("2026-01-01T16:40:00Z grade 1.00"), "{:#?}", line.items);
    assert!(line.items[2].starts_with("historical analysis "), "{:#?}", line.items);
}
