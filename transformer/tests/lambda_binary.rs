//! End to end: the real `transformer` binary, started as Lambda starts it, against a loopback
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed unwrap is a failed test
//! Runtime API.

mod common;
#[path = "support/runtime_api.rs"]
mod runtime_api;

use std::process::Stdio;
use std::time::Duration;

use common::*;
use runtime_api::{FakeRuntime, Post};
use serde_json::Value;
use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};
use wafwatch_config::transform::TransformSections;
use wafwatch_config::wire::TRANSFORM_CONFIG_ENV;

const BIN: &str = env!("CARGO_BIN_EXE_transformer");

fn spawn(rt: &FakeRuntime, extra: &[(&str, String)]) -> Child {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .envs(rt.lambda_env())
        .envs(extra.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd.spawn().unwrap()
}

async fn next_post(rt: &mut FakeRuntime) -> Post {
    tokio::time::timeout(Duration::from_secs(30), rt.posts.recv()).await.expect("the function answered").unwrap()
}

async fn stdout_of(mut child: Child) -> String {
    child.start_kill().unwrap();
    let _ = child.wait().await;
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test]
async fn transforms_an_event_and_reports_a_malformed_one() {
    let mut rt = FakeRuntime::start().await;
    let child = spawn(&rt, &[]);

    rt.invoke("req-1", fixture("firehose_waf_event.json").into_bytes()).await;
    let Post::Response { id, body } = next_post(&mut rt).await else { panic!("expected a response") };
    assert_eq!(id, "req-1");
    let resp: Value = serde_json::from_slice(&body).unwrap();
    let records = resp["records"].as_array().unwrap();
    assert_eq!(records.len(), 4);
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r["recordId"], format!("4965678123456789012345678901234567890123456789012345678900000{i}"));
        assert_eq!(r["result"], "Ok");
        let doc: Value = serde_json::from_slice(&b64(r["data"].as_str().unwrap())).unwrap();
        // ALLOW, BLOCK, BLOCK, CAPTCHA
        assert_eq!(
            (doc["K_action"].as_i64(), doc["B_action"].as_i64()),
            [(Some(1), Some(0)), (Some(0), Some(1))][usize::from(i == 1 || i == 2)]
        );
    }

    rt.invoke("req-2", br#"{"Records":[{"eventSource":"aws:s3"}]}"#.to_vec()).await;
    let Post::Error { id, error_type, body } = next_post(&mut rt).await else { panic!("expected an error") };
    assert_eq!(id, "req-2");
    let err: Value = serde_json::from_slice(&body).unwrap();
    let message = err["errorMessage"].as_str().unwrap();
    assert!(message.contains("records"), "{message}");
    assert!(error_type.is_some() || err["errorType"].is_string());

    // Still alive after the bad event: the next one is answered.
    rt.invoke("req-3", br#"{"records":[]}"#.to_vec()).await;
    let Post::Response { id, body } = next_post(&mut rt).await else { panic!("expected a response") };
    assert_eq!((id.as_str(), &body[..]), ("req-3", &br#"{"records":[]}"#[..]));

    let logs = stdout_of(child).await;
    let summary = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["fields"]["message"] == "Batch transformed.")
        .unwrap_or_else(|| panic!("no JSON summary line in {logs}"));
    assert_eq!(summary["level"], "INFO");
    assert!(summary["timestamp"].is_string(), "JSON logs by default inside Lambda: {summary}");
    assert_eq!(summary["fields"]["ok"], 4);
    assert_eq!(summary["fields"]["processing_failed"], 0);
}

#[tokio::test]
async fn reads_its_configuration_from_the_environment() {
    let mut rt = FakeRuntime::start().await;
    let json = TransformSections::from_whole_toml(AWS_WAF_PRESET).unwrap().to_compact_json();
    let child = spawn(&rt, &[(TRANSFORM_CONFIG_ENV, json)]);
    rt.invoke("req-1", fixture("firehose_waf_event.json").into_bytes()).await;
    let Post::Response { body, .. } = next_post(&mut rt).await else { panic!("expected a response") };
    let resp: Value = serde_json::from_slice(&body).unwrap();
    let doc: Value = serde_json::from_slice(&b64(resp["records"][1]["data"].as_str().unwrap())).unwrap();
    // The preset reads /httpRequest/country and tags SQL injection; the default would not.
    assert_eq!(doc["rules"], serde_json::json!(["injection-attempt"]));
    assert_eq!(doc["B_action"], 1);
    drop(child);
}

#[tokio::test]
async fn refuses_to_start_with_an_invalid_configuration() {
    let rt = FakeRuntime::start().await;
    let bad = r#"{"encode":[{"field":"action","columns":[]}]}"#.to_owned();
    let child = spawn(&rt, &[(TRANSFORM_CONFIG_ENV, bad)]);
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output()).await.unwrap().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let logs = String::from_utf8_lossy(&out.stdout);
    assert!(logs.contains("WAFWATCH_TRANSFORM_CONFIG"), "{logs}");
    assert!(logs.contains("encode[0].field"), "{logs}");
}

#[test]
fn outside_lambda_it_explains_itself() {
    let out = std::process::Command::new(BIN).env_remove("AWS_LAMBDA_RUNTIME_API").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not running inside AWS Lambda"));
}
