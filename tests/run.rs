//! `wafwatch run` end to end on a short day.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_wafwatch");

#[test]
fn a_short_run_writes_the_report_results_alerts_and_summary() {
    let dir = std::env::temp_dir().join(format!("wafwatch-run-{}", std::process::id()));
    let summary = dir.join("summary.json");
    let out = Command::new(BIN)
        .args(["run", "--duration", "5h", "--rate", "5", "--warmup", "3h", "--scenario", "block-storm@4h+10mx2"])
        .arg("--out")
        .arg(&dir)
        .arg("--summary-json")
        .arg(&summary)
        .env("NO_COLOR", "1")
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    let records = s["records"].as_u64().unwrap();
    assert!((90_000..100_000).contains(&records), "{records}");
    assert!(s["elapsed_s"].is_number() && s["false_alerts_per_day"].is_number());
    let scenario = &s["scenarios"][0];
    assert_eq!(scenario["name"], "block-storm");
    assert_eq!(scenario["start"], "2026-01-01T04:00:00Z");
    assert_eq!(scenario["detected"], true, "{s}");
    assert!(scenario["intervals_to_detect"].as_u64().unwrap() <= 3);

    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.starts_with("<!doctype html>") && html.trim_end().ends_with("</html>"));
    assert_eq!(html.matches("<h2 class=\"detector\">").count(), 5, "one chart per detector");
    assert_eq!(html.matches("<svg").count(), 5);
    assert_eq!(html.matches("</svg>").count(), 5);
    assert!(
        !html.contains("<script") && !html.contains("http://") && !html.contains("https://"),
        "opens with no network"
    );
    assert!(html.contains("block-storm"));

    let results = std::fs::read_to_string(dir.join("results.ndjson")).unwrap();
    let first: serde_json::Value = serde_json::from_str(results.lines().next().unwrap()).unwrap();
    for key in ["detector_id", "data_start_time", "data_end_time", "anomaly_grade", "confidence", "feature_data"] {
        assert!(first.get(key).is_some(), "{key} in {first}");
    }
    // 5 detectors x 300 one-minute intervals, plus the rule monitors' minutes are not results.
    assert_eq!(results.lines().filter(|l| l.contains("\"detector_id\":\"blocked-requests\"")).count(), 300);
    let alerts = std::fs::read_to_string(dir.join("alerts.ndjson")).unwrap();
    assert!(alerts.lines().any(|l| l.contains("blocked-requests-anomaly")), "{alerts}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_options_fail_with_one_message() {
    let out = Command::new(BIN).args(["run", "--scenario", "nope"]).env("NO_COLOR", "1").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown scenario `nope`; the scenarios are"));
    let out = Command::new(BIN).args(["run", "--rate", "0"]).env("NO_COLOR", "1").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--rate must be positive"));
}
