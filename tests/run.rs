//! `wafwatch run` end to end on a short day.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_wafwatch");

/// Runs `wafwatch` with `args` plus `--out dir --summary-json dir/summary.json`, asserts it
/// succeeded, and returns its stderr and the summary.
fn run_to_summary(args: &[&str], dir: &std::path::Path) -> (String, serde_json::Value) {
    let summary = dir.join("summary.json");
    let out = Command::new(BIN)
        .args(args)
        .arg("--out")
        .arg(dir)
        .arg("--summary-json")
        .arg(&summary)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    (stderr, serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap())
}

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
    assert_eq!(html.matches("<h2 class=\"detector\">").count(), 6, "one chart per detector");
    assert_eq!(html.matches("<svg").count(), 6);
    assert_eq!(html.matches("</svg>").count(), 6);
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
    // 6 detectors x 300 one-minute intervals, plus the rule monitors' minutes are not results.
    assert_eq!(results.lines().filter(|l| l.contains("\"detector_id\":\"blocked-requests\"")).count(), 300);
    let alerts = std::fs::read_to_string(dir.join("alerts.ndjson")).unwrap();
    let storm: serde_json::Value = alerts
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|a| a["monitor_name"] == "blocked-requests-anomaly")
        .unwrap_or_else(|| panic!("{alerts}"));
    let samples = storm["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 3, "three sample records of the anomalous interval");
    assert!(samples.iter().all(|s| s["action"] == "BLOCK"), "{samples:?}");
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
    let out = Command::new(BIN)
        .args(["run", "--input", "/nonexistent/waf.ndjson", "--out"])
        .arg(std::env::temp_dir().join(format!("wafwatch-unreadable-{}", std::process::id())))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot read input /nonexistent/waf.ndjson: No such file"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn runs_on_your_own_logs_counting_malformed_lines() {
    let dir = std::env::temp_dir().join(format!("wafwatch-input-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let logs = dir.join("waf.ndjson.gz");
    let made = Command::new(BIN)
        .args(["simulate", "--from", "2026-01-01T00:00Z", "--duration", "4h", "--rate", "5", "--seed", "3", "--gzip"])
        .args(["--scenario", "block-storm@3h15m+10mx2", "--sink"])
        .arg(format!("file:{}", dir.join("waf.ndjson").display()))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    // A second input with three malformed lines among good ones, read from standard input.
    let extra = "not json\n{\"timestamp\":1767236400000,\"action\":\"ALLOW\",\"country\":\"US\"}\n[1,2]\n{\"timestamp\":\"soon\"}\n{\"timestamp\":1767236460000,\"action\":\"BLOCK\",\"headers\":[{\"name\":\"Authorization\",\"value\":\"Bearer s3cret\"}]}\n";
    let mut child = Command::new(BIN)
        .args(["run", "--input"])
        .arg(&logs)
        .arg("-")
        .arg("--out")
        .arg(dir.join("out"))
        .arg("--summary-json")
        .arg(dir.join("summary.json"))
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(extra.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(s["bad_records"], 3);
    assert!(s["false_alerts_per_day"].is_null(), "no ground truth, nothing scored");
    assert!(s["records"].as_u64().unwrap() > 72_000);
    let alerts = std::fs::read_to_string(dir.join("out/alerts.ndjson")).unwrap();
    assert!(alerts.contains("blocked-requests-anomaly"), "the block storm in the file is found: {alerts}");
    assert!(
        !std::fs::read_to_string(dir.join("out/alerts.ndjson")).unwrap().contains("s3cret"),
        "secrets never reach an alert"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Line skipped.") && err.contains("bad=3"), "{err}");
    // The stdin lines are older than the end of the first file: too late for their intervals. The
    // two good ones are counted by each of the default's six detectors.
    assert_eq!(s["engine"]["late_documents"].as_u64(), Some(12), "{s}");
    assert!(err.contains("Documents arrived after their interval had been evaluated"), "{err}");

    // A file that is not logs at all is refused with one message.
    let binary = dir.join("image.png");
    std::fs::write(&binary, [0x89u8, b'P', b'N', b'G', b'\n', 0, 1, 2, b'\n']).unwrap();
    let out = Command::new(BIN)
        .args(["run", "--input"])
        .arg(&binary)
        .arg("--out")
        .arg(dir.join("out2"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not look like logs in the configured format"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn alert_samples_redact_sensitive_headers() {
    let dir = std::env::temp_dir().join(format!("wafwatch-redact-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut lines = String::new();
    for i in 0..25 {
        lines.push_str(&format!(
            "{{\"timestamp\":{},\"action\":\"ALLOW\",\"httpStatus\":404,\"uri\":\"/.env\",\"headers\":[{{\"name\":\"Authorization\",\"value\":\"Bearer s3cret\"}},{{\"name\":\"Cookie\",\"value\":\"sid=42\"}},{{\"name\":\"User-Agent\",\"value\":\"probe\"}}]}}\n",
            1_767_225_600_000i64 + i * 1000
        ));
    }
    lines.push_str("{\"timestamp\":1767225900000,\"action\":\"ALLOW\",\"uri\":\"/\"}\n");
    let input = dir.join("probes.ndjson");
    std::fs::write(&input, lines).unwrap();
    let out = Command::new(BIN)
        .args(["run", "--input"])
        .arg(&input)
        .arg("--out")
        .arg(dir.join("out"))
        .args(["--redact-header", "authorization", "--redact-header", "cookie"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let alerts = std::fs::read_to_string(dir.join("out/alerts.ndjson")).unwrap();
    let alert: serde_json::Value =
        serde_json::from_str(alerts.lines().next().unwrap_or_else(|| panic!("no alert"))).unwrap();
    assert_eq!(alert["monitor_name"], "scanner-probes");
    let headers = &alert["samples"][0]["headers"];
    assert_eq!(headers[0]["value"], "[REDACTED]");
    assert_eq!(headers[1]["value"], "[REDACTED]");
    assert_eq!(headers[2]["value"], "probe");
    assert!(!alerts.contains("s3cret") && !alerts.contains("sid=42"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn follow_alerts_as_lines_arrive_and_ctrl_c_writes_the_report() {
    use std::io::Write;
    let dir = std::env::temp_dir().join(format!("wafwatch-follow-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("live.ndjson");
    let probe =
        |ts: i64| format!("{{\"timestamp\":{ts},\"action\":\"ALLOW\",\"httpStatus\":404,\"uri\":\"/wp-login.php\"}}\n");
    std::fs::write(&input, probe(1_767_225_600_000)).unwrap();
    /// Kills the follower if an assertion fails, so the test cannot hang.
    struct Guard(Option<std::process::Child>);
    impl Drop for Guard {
        fn drop(&mut self) {
            if let Some(c) = self.0.as_mut() {
                let _ = c.kill();
            }
        }
    }
    let child = Command::new(BIN)
        .args(["run", "--follow", "--input"])
        .arg(&input)
        .arg("--out")
        .arg(dir.join("out"))
        .env("NO_COLOR", "1")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut guard = Guard(Some(child));
    std::thread::sleep(std::time::Duration::from_millis(500));
    let mut f = std::fs::OpenOptions::new().append(true).open(&input).unwrap();
    for i in 1..30 {
        f.write_all(probe(1_767_225_600_000 + i * 1000).as_bytes()).unwrap();
    }
    // Half a line, then the rest: it must be read as one record.
    let last = probe(1_767_225_900_000);
    f.write_all(&last.as_bytes()[..20]).unwrap();
    f.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    f.write_all(&last.as_bytes()[20..]).unwrap();
    f.flush().unwrap();
    // The scanner-probes monitor fires while the run is still going.
    let alerts_file = dir.join("out/alerts.ndjson");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !std::fs::read_to_string(&alerts_file).unwrap_or_default().contains("scanner-probes") {
        assert!(std::time::Instant::now() < deadline, "no alert while following");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(!dir.join("out/report.html").exists(), "the report comes at the end");
    let child = guard.0.take().unwrap();
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("records=31") && err.contains("bad=0"), "{err}");
    assert!(dir.join("out/report.html").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn exact_firehose_runs_the_lambda_handler_and_counts_its_answers() {
    let dir = std::env::temp_dir().join(format!("wafwatch-exact-{}", std::process::id()));
    let args =
        ["run", "--duration", "1h", "--rate", "5", "--warmup", "0s", "--scenario", "scanner@20m", "--exact-firehose"];
    let (stderr, s) = run_to_summary(&args, &dir);
    let records = s["records"].as_u64().unwrap();
    let f = &s["firehose"];
    assert_eq!(f["ok"].as_u64(), Some(records), "{s}");
    assert_eq!(
        (f["dropped"].as_u64(), f["processing_failed"].as_u64(), f["mismatched"].as_u64()),
        (Some(0), Some(0), Some(0))
    );
    // Firehose's default processor buffer hints: 1 MiB or 60 seconds, whichever comes first. At 5
    // records a second a minute holds ~200 KB, so one event per simulated minute.
    assert_eq!(f["invocations"].as_u64(), Some(60), "{s}");
    let largest = f["largest_response_bytes"].as_u64().unwrap();
    assert!(largest > 300 * 650 && largest < 1 << 20, "{largest}");
    assert!(stderr.contains("Lambda handler answers."));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn per_entity_detectors_and_grouped_monitors_name_the_entity() {
    let dir = std::env::temp_dir().join(format!("wafwatch-entity-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // The bundled default plus a detector per client IP of the blocked requests it sends.
    let config = format!(
        "{}\n[[detector]]\nname = \"blocked-per-ip\"\ncategory_field = [\"/clientIp\"]\nmax_entities = 10\n\
         features = [{{ name = \"blocked\", column = \"B_action\", aggregation = \"sum\" }}, {{ name = \"paths\", field = \"/uri\", aggregation = \"cardinality\" }}]\n\
         [[monitor]]\nname = \"blocked-per-ip-anomaly\"\ndetector = \"blocked-per-ip\"\n",
        wafwatch_config::file::BUNDLED_DEFAULT_TOML
    );
    let config_path = dir.join("wafwatch.toml");
    std::fs::write(&config_path, config).unwrap();
    // Three clients, 10 requests a minute each for 400 minutes, about one in ten blocked. From
    // minute 360, 10.0.0.2 has every request blocked; from minute 380, 10.0.0.3 has 25 refused
    // logins a minute.
    let t0 = 1_767_225_600_000i64;
    let mut lines = String::new();
    for minute in 0..400i64 {
        for (c, ip) in ["10.0.0.1", "10.0.0.2", "10.0.0.3"].iter().enumerate() {
            for k in 0..10i64 {
                let blocked = (minute * 7 + k * 3 + c as i64) % 10 == 0 || (*ip == "10.0.0.2" && minute >= 360);
                let action = if blocked { "BLOCK" } else { "ALLOW" };
                lines.push_str(&format!(
                    "{{\"timestamp\":{},\"action\":\"{action}\",\"httpStatus\":200,\"country\":\"US\",\"clientIp\":\"{ip}\",\"uri\":\"/p{}\"}}\n",
                    t0 + minute * 60_000 + c as i64 * 1000 + k * 5000,
                    k % 3
                ));
            }
        }
        if minute >= 380 {
            for k in 0..25i64 {
                lines.push_str(&format!(
                    "{{\"timestamp\":{},\"action\":\"ALLOW\",\"httpStatus\":401,\"country\":\"US\",\"clientIp\":\"10.0.0.3\",\"uri\":\"/login\",\"headers\":[{{\"name\":\"Cookie\",\"value\":\"sid=s3cret\"}}]}}\n",
                    t0 + minute * 60_000 + 500 + k * 2000
                ));
            }
        }
    }
    let input = dir.join("logs.ndjson");
    std::fs::write(&input, lines).unwrap();
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&config_path)
        .args(["run", "--input"])
        .arg(&input)
        .arg("--out")
        .arg(dir.join("out"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let alerts: Vec<serde_json::Value> = std::fs::read_to_string(dir.join("out/alerts.ndjson"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let entity = |a: &serde_json::Value| a["entity"][0]["value"].as_str().unwrap_or("").to_owned();
    let per_ip: Vec<&serde_json::Value> =
        alerts.iter().filter(|a| a["monitor_name"] == "blocked-per-ip-anomaly").collect();
    assert!(!per_ip.is_empty(), "{alerts:?}");
    assert_eq!(entity(per_ip[0]), "10.0.0.2", "{per_ip:?}");
    assert_eq!(per_ip[0]["entity"][0]["name"], "clientIp");
    assert!(per_ip[0]["data_start_time"].as_i64().unwrap() >= t0 + 360 * 60_000);
    assert!(per_ip[0]["samples"].as_array().unwrap().iter().all(|s| s["clientIp"] == "10.0.0.2"));
    let logins: Vec<&serde_json::Value> =
        alerts.iter().filter(|a| a["monitor_name"] == "failed-logins-per-ip").collect();
    assert_eq!(logins.len(), 1, "{logins:?}");
    assert_eq!(entity(logins[0]), "10.0.0.3");
    assert_eq!(
        logins[0]["data_start_time"].as_i64(),
        Some(t0 + 380 * 60_000),
        "20 refused logins within the first minute"
    );
    let samples = logins[0]["samples"].as_array().unwrap();
    assert!(samples.len() == 3 && samples.iter().all(|s| s["clientIp"] == "10.0.0.3" && s["uri"] == "/login"));
    assert_eq!(samples[0]["headers"][0]["value"], "[REDACTED]");
    // The results carry the entity and the cardinality of the paths (3: /p0, /p1, /p2).
    let results = std::fs::read_to_string(dir.join("out/results.ndjson")).unwrap();
    let r: serde_json::Value = results
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|r| r["detector_id"] == "blocked-per-ip")
        .unwrap();
    assert_eq!(r["feature_data"][1]["data"], 3.0);
    assert!(r["entity"][0]["value"].as_str().unwrap().starts_with("10.0.0."));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_aws_waf_preset_simulates_the_shape_it_reads_and_a_misfit_input_is_named() {
    let preset = concat!(env!("CARGO_MANIFEST_DIR"), "/presets/aws-waf.toml");
    let dir = std::env::temp_dir().join(format!("wafwatch-run-waf-{}", std::process::id()));
    let args = [
        "--config",
        preset,
        "run",
        "--duration",
        "5h",
        "--rate",
        "5",
        "--warmup",
        "3h",
        "--scenario",
        "sql-injection@4h+10m",
    ];
    let (stderr, s) = run_to_summary(&args, &dir);
    assert!(!stderr.contains("missing in nearly every record"), "the simulated records fit: {stderr}");
    assert_eq!(s["scenarios"][0]["name"], "sql-injection");
    assert_eq!(s["scenarios"][0]["detected"], true, "only the AWS WAF shape carries the SQLi verdicts: {s}");

    // Flat records read with the preset: the run says which fields they lack.
    let flat = dir.join("flat.ndjson");
    let made = Command::new(BIN)
        .args(["simulate", "--from", "2026-01-01T00:00Z", "--duration", "10m", "--rate", "5", "--seed", "3", "--sink"])
        .arg(format!("file:{}", flat.display()))
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let out = Command::new(BIN)
        .args(["--config", preset, "run", "--input"])
        .arg(&flat)
        .arg("--out")
        .arg(dir.join("misfit"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("missing in nearly every record"), "{stderr}");
    assert!(stderr.contains("/httpRequest/country (1000 of 1000)"), "{stderr}");
    assert!(!stderr.contains("/responseCodeSent"), "optional fields are not named: {stderr}");
    std::fs::remove_dir_all(&dir).ok();
}
