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
