//! Detection on the user's own traffic (issue 12): the end of a recorded input, and scenarios
//! injected into it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_wafwatch");

/// A fresh directory for one test.
fn workdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wafwatch-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Records a quiet input (no scenario): `duration` of simulated traffic at 5 requests a second.
fn record_quiet(dir: &Path, duration: &str, seed: &str) -> PathBuf {
    let path = dir.join("quiet.ndjson");
    let out = Command::new(BIN)
        .args(["simulate", "--from", "2026-01-01T00:00Z", "--duration", duration, "--rate", "5", "--seed", seed])
        .args(["--no-progress", "--sink"])
        .arg(format!("file:{}", path.display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    path
}

fn wafwatch(args: &[&str], extra: &[&Path]) -> Output {
    Command::new(BIN).args(args).args(extra).env("NO_COLOR", "1").output().unwrap()
}

fn ndjson(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Issue 12: a recorded input that stops three seconds into its last minute. Scored as if
/// complete, that minute's 15 records alerted twice (`unknown_country = 0.000` against a forest
/// that expects about 0.07, `bad_status = 0.059`); a live detector would not score it before it
/// closed.
#[test]
fn the_last_interval_an_input_stops_inside_of_is_not_scored() {
    let dir = workdir("input-end");
    let input = record_quiet(&dir, "6h3s", "1");
    let out = wafwatch(&["run", "--out"], &[&dir.join("out"), Path::new("--input"), &input]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let end = 1_767_225_600_000i64 + 6 * 3_600_000;
    let alerts = ndjson(&dir.join("out/alerts.ndjson"));
    assert!(alerts.iter().all(|a| a["data_start_time"].as_i64().unwrap() < end), "{alerts:?}");
    let results = ndjson(&dir.join("out/results.ndjson"));
    assert!(results.iter().all(|r| r["data_start_time"].as_i64().unwrap() < end), "the open minute has no result");
    let last = results.iter().map(|r| r["data_start_time"].as_i64().unwrap()).max().unwrap();
    assert_eq!(last, end - 60_000, "the minute before it, complete, is scored without waiting for its window delay");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A block storm injected into a quiet recorded input is found and scored like a simulated one,
/// the labels say what was injected, and the run reads every record of the input plus exactly
/// the injected ones.
#[test]
fn a_scenario_injected_into_a_quiet_input_is_found_and_scored() {
    let dir = workdir("inject");
    let input = record_quiet(&dir, "4h", "2");
    let input_records = std::fs::read_to_string(&input).unwrap().lines().count() as u64;
    let before = std::fs::read(&input).unwrap();
    let (labels, summary) = (dir.join("labels.ndjson"), dir.join("summary.json"));
    let out = wafwatch(
        &["run", "--inject", "block-storm@3h20m+5m", "--inject", "error-burst@3h40m+10mx0.5", "--input"],
        &[
            &input,
            Path::new("--out"),
            &dir.join("out"),
            Path::new("--labels"),
            &labels,
            Path::new("--summary-json"),
            &summary,
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read(&input).unwrap(), before, "the input is left as it was");
    let labels = ndjson(&labels);
    assert_eq!(labels.len(), 2);
    assert_eq!(
        (labels[0]["scenario"].as_str(), labels[0]["start"].as_str(), labels[0]["end"].as_str()),
        (Some("block-storm"), Some("2026-01-01T03:20:00Z"), Some("2026-01-01T03:25:00Z")),
        "the offset counts from the input's first timestamp"
    );
    assert_eq!(labels[0]["fields"], serde_json::json!(["B_action", "B_httpstatus"]));
    // +60% of the input's 5 requests a second for 5 minutes.
    let storm = labels[0]["records"].as_u64().unwrap();
    assert!((850..950).contains(&storm), "{storm}");
    let injected: u64 = labels.iter().map(|l| l["records"].as_u64().unwrap()).sum();
    let s: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(s["records"].as_u64(), Some(input_records + injected), "{s}");
    assert_eq!(s["engine"]["late_documents"], 0, "merged in time order");
    assert!(s["false_alerts_per_day"].is_number(), "{s}");
    let scored = &s["scenarios"][0];
    assert_eq!((scored["name"].as_str(), scored["detected"].as_bool()), (Some("block-storm"), Some(true)), "{s}");
    assert!(scored["intervals_to_detect"].as_u64().unwrap() <= 3, "{s}");
    assert_eq!(s["scenarios"][1]["name"], "error-burst");
    // The alert's samples are the injected requests: blocked, from an attack tool.
    let alerts = ndjson(&dir.join("out/alerts.ndjson"));
    let storm_alert = alerts.iter().find(|a| a["monitor_name"] == "blocked-requests-anomaly").unwrap();
    let sample = &storm_alert["samples"][0];
    assert_eq!(sample["action"], "BLOCK", "{sample}");
    let html = std::fs::read_to_string(dir.join("out/report.html")).unwrap();
    assert!(html.contains("block-storm") && html.contains("error-burst"), "the report shades and scores them");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Each way an injection cannot be done is one message and exit status 2.
#[test]
fn bad_injections_fail_with_one_message() {
    let dir = workdir("inject-bad");
    let input = record_quiet(&dir, "20m", "3");
    let untimed = dir.join("untimed.ndjson");
    std::fs::write(&untimed, "{\"action\":\"ALLOW\"}\n{\"action\":\"BLOCK\"}\n{\"action\":\"ALLOW\"}\n").unwrap();
    let fails = |args: &[&str], input: &Path, want: &str| {
        let out = wafwatch(args, &[Path::new("--input"), input, Path::new("--out"), &dir.join("out")]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(want), "{want} in {err}");
        assert_eq!(err.lines().filter(|l| l.contains("ERROR") || l.starts_with("error")).count(), 1, "{err}");
    };
    fails(
        &["run", "--inject", "scanner@1h"],
        &input,
        "cannot inject: `scanner@1h+10mx1` starts 1h after the input's first record, but the input covers only 19m",
    );
    fails(&["run", "--inject", "port-scan@5m"], &input, "unknown scenario `port-scan`; the scenarios are: block-storm");
    fails(
        &["run", "--inject", "scanner@1m"],
        &untimed,
        "cannot inject: none of the input's 3 records has a timestamp, so there is no time to place the scenarios \
         at (the timestamp is read at `/timestamp`)",
    );
    fails(&["run", "--inject", "scanner@1m"], Path::new("-"), "so they must be files, not standard input");
    std::fs::remove_dir_all(&dir).unwrap();
}
