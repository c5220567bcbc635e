//! `wafwatch tune` end to end (issue 12): a planted scenario's detection limit against the one
//! computed by hand, `--write` keeping the file's comments, and a run at the reported limit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_wafwatch");

/// A pipeline that counts DELETE requests, beside a forest on the uncommon-method share.
const CONFIG: &str = r#"# Deletes only.
[source]
format = "json"
timestamp = "/timestamp"

[[encode]]
field = "/httpMethod"
columns = [ { name = "common_method", values = ["GET", "HEAD", "POST"] },
            { name = "uncommon_method", otherwise = true } ]

[[rule]]
name = "delete"
severity = "low"
description = "A DELETE request."
match = { field = "/httpMethod", values = ["DELETE"] }

[[detector]]
name = "uncommon-method"
features = [ { name = "uncommon", column = "uncommon_method", aggregation = "avg" } ]

[[monitor]]
name = "uncommon-method-anomaly"
detector = "uncommon-method"
min_grade = 0.7           # the forest's grade

[[monitor]]
name = "deletes"          # the count
rule = "delete"
threshold = 50            # DELETEs in 5 minutes
window = "5m"
"#;

/// The simulated background has no DELETE at all, so the count threshold suggested is 1, and
/// `delete-burst` at 10 requests a second adds `max(0.05 x 10 x i, i) = i` DELETEs a second:
/// the first comes after `1 / i` seconds, and within three one-minute intervals when
/// `i >= 1 / 180`. Five bisection steps between 0.001 and 1 bracket it within a factor of
/// `1000^(1/32)`; a run at the limit found detects it.
#[test]
fn the_limit_of_a_planted_scenario_is_within_one_step_of_the_hand_computed_one() {
    let dir = std::env::temp_dir().join(format!("wafwatch-tune-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("deletes.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let json = dir.join("tune.json");
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .args(["tune", "--rate", "10", "--duration", "1h", "--warmup", "5m", "--scenario", "delete-burst"])
        .args(["--seeds", "1", "--offsets", "1", "--steps", "5", "--write", "--json"])
        .arg(&json)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("deletes") && table.contains("delete-burst"), "{table}");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let deletes = v["monitors"].as_array().unwrap().iter().find(|m| m["name"] == "deletes").unwrap();
    assert_eq!((deletes["threshold"].as_f64(), deletes["suggested"].as_f64()), (Some(50.0), Some(1.0)), "{v}");
    let limit = &v["detection_limits"][0];
    assert_eq!((limit["scenario"].as_str(), limit["detected_by"].as_str()), (Some("delete-burst"), Some("deletes")));
    let found = limit["min_intensity"].as_f64().unwrap();
    let hand = 1.0 / 180.0;
    let step = 1000f64.powf(1.0 / 32.0);
    assert!(hand <= found && found <= hand * step * 1.01, "{found} against {hand}");
    assert!(limit["missed_at"].as_f64().unwrap() < hand);

    // --write changed the two thresholds and nothing else, comments included.
    let written = std::fs::read_to_string(&config).unwrap();
    let grade = v["monitors"][0]["suggested"].as_f64().unwrap();
    let want = CONFIG
        .replace("threshold = 50            #", "threshold = 1            #")
        .replace("min_grade = 0.7           #", &format!("min_grade = {grade:?}           #"));
    assert_eq!(written, want);

    // Honest: a run with the written thresholds at the reported intensity detects it in time.
    let summary = dir.join("summary.json");
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .args(["run", "--rate", "10", "--duration", "19m", "--warmup", "5m", "--seed", "42"])
        .args([format!("--scenario=delete-burst@5m+10mx{found}"), format!("--out={}", dir.join("out").display())])
        .args([format!("--summary-json={}", summary.display())])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(s["scenarios"][0]["detected"], true, "{s}");
    assert!(s["scenarios"][0]["intervals_to_detect"].as_u64().unwrap() <= 3, "{s}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// On a recorded input, the background is the input and the scenarios are injected into it: the
/// same limit as by hand (the input's rate, about 10 a second, gives the same `i` DELETEs a second).
#[test]
fn on_an_input_the_limit_is_measured_by_injection() {
    let dir = std::env::temp_dir().join(format!("wafwatch-tune-input-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("deletes.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let input = dir.join("quiet.ndjson");
    let made = Command::new(BIN)
        .args(["simulate", "--from", "2026-01-01T00:00Z", "--duration", "30m", "--rate", "10", "--seed", "5"])
        .args(["--no-progress", &format!("--sink=file:{}", input.display())])
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let json = dir.join("tune.json");
    let out = Command::new(BIN)
        .args([format!("--config={}", config.display()), "tune".into(), format!("--input={}", input.display())])
        .args(["--warmup", "5m", "--scenario", "delete-burst", "--seeds", "1", "--offsets", "1", "--steps", "5"])
        .args([format!("--json={}", json.display())])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let found = v["detection_limits"][0]["min_intensity"].as_f64().unwrap();
    let hand = 1.0 / 180.0;
    assert!(hand <= found && found <= hand * 1000f64.powf(1.0 / 32.0) * 1.01, "{found} against {hand}");
    assert_eq!(v["detection_limits"][0]["detected_by"], "deletes");
    std::fs::remove_dir_all(&dir).unwrap();
}
