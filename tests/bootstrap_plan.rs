//! `wafwatch bootstrap plan`: deterministic, offline, secret-free, and checked against the contract.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_wafwatch");

/// Runs the binary with none of the variables the configurations name.
fn wafwatch(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args).current_dir(env!("CARGO_MANIFEST_DIR")).env("NO_COLOR", "1");
    for var in [
        "WAFWATCH_CONFIG",
        "WAFWATCH_ALERT_TOPIC_ARN",
        "WAFWATCH_ALERT_ROLE_ARN",
        "WAFWATCH_FIREHOSE_ROLE_ARN",
        "WAFWATCH_DASHBOARDS_URL",
        "WAFWATCH_OPS_WEBHOOK_URL",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn plan_json(config: &str) -> serde_json::Value {
    let out = wafwatch(&["--config", config, "bootstrap", "plan", "--format", "json"], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("stdout holds the JSON array and nothing else")
}

#[test]
fn the_default_plan() {
    insta::assert_json_snapshot!("plan_default", plan_json("wafwatch.toml"));
}

#[test]
fn the_aws_waf_preset_plan() {
    insta::assert_json_snapshot!("plan_aws_waf", plan_json("presets/aws-waf.toml"));
}

#[test]
fn plans_are_deterministic_and_show_placeholders_not_secrets() {
    let a = wafwatch(&["bootstrap", "plan", "--format", "json"], &[]);
    let b = wafwatch(&["bootstrap", "plan", "--format", "json"], &[]);
    assert_eq!(a.stdout, b.stdout, "the same configuration gives the same plan");

    // A webhook channel whose URL (with its token) is set: the plan never shows it.
    let dir = std::env::temp_dir().join(format!("wafwatch-plan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("w.toml");
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/wafwatch.toml"))
        .unwrap()
        .replace("channels = [\"security-team\"]", "channels = [\"security-team\", \"ops\"]");
    std::fs::write(
        &config,
        format!("{text}\n[[channel]]\nid = \"ops\"\ntype = \"webhook\"\nurl = \"${{TEST_OPS_URL}}\"\nheaders = {{ X-Token = \"${{TEST_OPS_TOKEN}}\" }}\n"),
    )
    .unwrap();
    let out = wafwatch(
        &["--config", config.to_str().unwrap(), "bootstrap", "plan", "--format", "json"],
        &[
            ("TEST_OPS_URL", "https://hooks.example.com/T0/sekret"),
            ("TEST_OPS_TOKEN", "t0ken"),
            ("WAFWATCH_ALERT_TOPIC_ARN", "arn:aws:sns:eu-west-1:111122223333:wafwatch-alerts"),
            ("WAFWATCH_FIREHOSE_ROLE_ARN", "arn:aws:iam::111122223333:role/wafwatch-firehose"),
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("sekret") && !stdout.contains("t0ken"), "{stdout}");
    let plan: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let ops = plan.as_array().unwrap().iter().find(|r| r["body"]["config_id"] == "ops").unwrap();
    assert_eq!(ops["body"]["config"]["webhook"]["url"], "{{secret:TEST_OPS_URL}}");
    assert_eq!(ops["body"]["config"]["webhook"]["header_params"]["X-Token"], "{{secret:TEST_OPS_TOKEN}}");
    // Set variables that are not secrets are used: the topic, and the Firehose role mapping.
    let sns = plan.as_array().unwrap().iter().find(|r| r["body"]["config_id"] == "security-team").unwrap();
    assert_eq!(sns["body"]["config"]["sns"]["topic_arn"], "arn:aws:sns:eu-west-1:111122223333:wafwatch-alerts");
    let mapping = plan
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["path"] == "/_plugins/_security/api/rolesmapping/wafwatch_firehose")
        .unwrap();
    assert_eq!(mapping["body"]["backend_roles"][0], "arn:aws:iam::111122223333:role/wafwatch-firehose");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_text_plan_reads_as_steps_and_dashboards_can_be_left_out() {
    let out = wafwatch(&["bootstrap", "plan", "--no-dashboards"], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("  1. PUT    /_index_template/wafwatch-waf-logs\n"), "{text}");
    assert!(
        text.contains("POST   /_plugins/_anomaly_detection/detectors/{{detector:blocked-requests}}/_start"),
        "{text}"
    );
    assert!(!text.contains("saved_objects"), "{text}");
    assert!(text.contains("28 requests."), "{text}");
}

#[test]
fn a_name_the_plugin_would_refuse_is_refused_at_load_naming_the_key() {
    // A detector name over AD's 64 characters: the configuration check names the key before any
    // request is built (the request rules themselves are tested one by one in the opensearch crate).
    let dir = std::env::temp_dir().join(format!("wafwatch-plan-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("w.toml");
    let long = "d".repeat(65);
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/wafwatch.toml"))
        .unwrap()
        .replace("name = \"uncommon-method\"", &format!("name = \"{long}\""))
        .replace("detector = \"uncommon-method\"", &format!("detector = \"{long}\""));
    std::fs::write(&config, text).unwrap();
    let out = wafwatch(&["--config", config.to_str().unwrap(), "bootstrap", "plan"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("`detector[5].name`"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn apply_status_and_destroy_say_what_is_wrong_before_touching_anything() {
    // Nothing listens on port 9: one sentence naming the URL, exit status 1.
    let out = wafwatch(
        &["bootstrap", "apply", "--opensearch-url", "http://127.0.0.1:9"],
        &[("WAFWATCH_ALERT_TOPIC_ARN", "arn:aws:sns:us-east-1:111122223333:t")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot reach OpenSearch at http://127.0.0.1:9"));
    // A variable apply needs is not set: exit status 2, naming the channel and the variable.
    let out = wafwatch(&["bootstrap", "apply", "--opensearch-url", "http://127.0.0.1:9"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(
            "channel `security-team`, `topic_arn`: environment variable `WAFWATCH_ALERT_TOPIC_ARN` is not set"
        )
    );
    // No URL at all.
    let out = wafwatch(&["bootstrap", "status"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("no OpenSearch URL: pass --opensearch-url or set WAFWATCH_OPENSEARCH_URL")
    );
    // destroy asks for --yes.
    let out = wafwatch(&["bootstrap", "destroy", "--opensearch-url", "http://127.0.0.1:9"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("run it again with --yes"));
    // A bad historical range.
    let out = wafwatch(
        &[
            "bootstrap",
            "apply",
            "--opensearch-url",
            "http://127.0.0.1:9",
            "--historical",
            "2026-02-01T00:00:00Z..2026-01-01T00:00:00Z",
        ],
        &[("WAFWATCH_ALERT_TOPIC_ARN", "arn:aws:sns:us-east-1:111122223333:t")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--historical: the end must come after the start"));
}
