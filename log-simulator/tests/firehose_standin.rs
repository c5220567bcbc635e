//! The Firehose sink through the real AWS SDK against a loopback stand-in that throttles and fails
//! entries of PutRecordBatch: nothing is lost, nothing is doubled, and the report is exact.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_firehose::config::Credentials;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;
use serde_json::{Value, json};
use wafwatch_aws::AwsArgs;
use wafwatch_log_simulator::sim::Batch;
use wafwatch_log_simulator::sinks::{Sender, Sink};
use wafwatch_retry::RetryPolicy;
use wafwatch_transformer::limits::{PUT_RECORD_BATCH_MAX_BYTES, PUT_RECORD_BATCH_MAX_RECORDS};
use wafwatch_transformer::reingest::{BatchAnswer, BatchSender, SdkSender};

#[derive(Default)]
struct Stream {
    /// Every record delivered, in order.
    delivered: Vec<Vec<u8>>,
    /// Attempts seen per record.
    attempts: HashMap<Vec<u8>, u32>,
    calls: u32,
    /// Whole calls refused before any is served (throttling).
    throttle_first: u32,
}

async fn put_record_batch(
    State(s): State<Arc<Mutex<Stream>>>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, HeaderMap, String) {
    let mut h = HeaderMap::new();
    h.insert("content-type", "application/x-amz-json-1.1".parse().unwrap());
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or("");
    assert_eq!(target, "Firehose_20150804.PutRecordBatch");
    let req: Value = serde_json::from_str(&body).unwrap();
    let mut s = s.lock().unwrap();
    s.calls += 1;
    if s.calls <= s.throttle_first {
        let err = json!({"__type": "ServiceUnavailableException", "message": "Slow down."});
        return (StatusCode::SERVICE_UNAVAILABLE, h, err.to_string());
    }
    let mut responses = Vec::new();
    let mut failed = 0;
    for (i, r) in req["Records"].as_array().unwrap().iter().enumerate() {
        let data = STANDARD.decode(r["Data"].as_str().unwrap()).unwrap();
        let n = {
            let n = s.attempts.entry(data.clone()).or_default();
            *n += 1;
            *n
        };
        let always = data.windows(11).any(|w| w == b"fail-always");
        if always || (i % 3 == 0 && n <= 2) {
            failed += 1;
            responses.push(json!({"ErrorCode": "ServiceUnavailableException", "ErrorMessage": "Slow down."}));
        } else {
            s.delivered.push(data);
            responses.push(json!({"RecordId": format!("id-{}", s.delivered.len())}));
        }
    }
    (
        StatusCode::OK,
        h,
        json!({"FailedPutCount": failed, "Encrypted": false, "RequestResponses": responses}).to_string(),
    )
}

async fn standin(throttle_first: u32) -> (String, Arc<Mutex<Stream>>) {
    let state = Arc::new(Mutex::new(Stream { throttle_first, ..Stream::default() }));
    let app = Router::new().route("/", post(put_record_batch)).with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, state)
}

/// A Firehose client of the stand-in, built the way the binary builds its own (the one AWS home).
async fn client(url: &str) -> aws_sdk_firehose::Client {
    let args = AwsArgs { region: Some("us-east-1".into()), profile: None, endpoint_url: Some(url.into()) };
    let conf =
        args.loader().credentials_provider(Credentials::new("testing", "testing", None, None, "test")).load().await;
    aws_sdk_firehose::Client::new(&conf)
}

fn fast() -> RetryPolicy {
    RetryPolicy::new(5, Duration::from_millis(1), Duration::from_millis(5))
}

fn batch_of(lines: &[String]) -> Batch {
    let mut b = Batch::default();
    for (i, l) in lines.iter().enumerate() {
        b.push(l.as_bytes(), i as i64);
    }
    b
}

#[tokio::test]
async fn partial_failures_are_resent_until_delivered_exactly_once() {
    let (url, state) = standin(1).await;
    let mut sink = Sink::firehose(Box::new(Sender(SdkSender::new(client(&url).await))), "aws-waf-logs-test", fast());
    let lines: Vec<String> = (0..1_234).map(|i| format!("{{\"n\":{i}}}")).collect();
    for chunk in lines.chunks(100) {
        sink.write(&batch_of(chunk)).await.unwrap();
    }
    let report = sink.finish().await.unwrap();
    assert_eq!((report.records, report.failed), (1_234, 0));
    let s = state.lock().unwrap();
    let mut got: Vec<String> = s.delivered.iter().map(|d| String::from_utf8(d.clone()).unwrap()).collect();
    got.sort();
    let mut want: Vec<String> = lines.iter().map(|l| format!("{l}\n")).collect();
    want.sort();
    assert_eq!(got, want, "every record once, newline-terminated");
    assert!(report.writes >= 3 * 3, "three batches of <=500, each retried twice: {}", report.writes);
}

#[tokio::test]
async fn records_that_keep_failing_are_reported_exactly() {
    let (url, state) = standin(0).await;
    let mut sink = Sink::firehose(Box::new(Sender(SdkSender::new(client(&url).await))), "aws-waf-logs-test", fast());
    let lines: Vec<String> =
        (0..20)
            .map(|i| {
                if i == 4 || i == 11 { format!("{{\"n\":{i},\"fail-always\":true}}") } else { format!("{{\"n\":{i}}}") }
            })
            .collect();
    sink.write(&batch_of(&lines)).await.unwrap();
    let report = sink.finish().await.unwrap();
    assert_eq!((report.records, report.failed), (18, 2));
    let undelivered: Vec<String> = report.undelivered.iter().map(|d| String::from_utf8(d.clone()).unwrap()).collect();
    assert_eq!(undelivered, [format!("{}\n", lines[4]), format!("{}\n", lines[11])]);
    assert_eq!(report.error.as_deref(), Some("ServiceUnavailableException"));
    assert_eq!(state.lock().unwrap().delivered.len(), 18);
}

/// Records every PutRecordBatch call.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Vec<Vec<u8>>>>>);

impl BatchSender for Recorder {
    async fn send(&self, _: &str, batch: &[&[u8]]) -> BatchAnswer {
        self.0.lock().unwrap().push(batch.iter().map(|r| r.to_vec()).collect());
        BatchAnswer::Entries(vec![None; batch.len()])
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]
    #[test]
    fn batches_respect_500_records_and_4_mib_and_keep_order(
        sizes in proptest::collection::vec(prop_oneof![1usize..300, 100_000usize..1_000_000], 1..700),
        write_size in 1usize..400,
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let recorder = Recorder::default();
        let mut sink = Sink::firehose(Box::new(Sender(recorder.clone())), "s", fast());
        let lines: Vec<String> = sizes.iter().enumerate().map(|(i, n)| format!("{i:06}{}", "x".repeat(*n))).collect();
        rt.block_on(async {
            for chunk in lines.chunks(write_size) {
                sink.write(&batch_of(chunk)).await.unwrap();
            }
            sink.finish().await.unwrap();
        });
        let calls = recorder.0.lock().unwrap();
        let mut all = Vec::new();
        for call in calls.iter() {
            prop_assert!(!call.is_empty());
            prop_assert!(call.len() <= PUT_RECORD_BATCH_MAX_RECORDS);
            prop_assert!(call.iter().map(Vec::len).sum::<usize>() <= PUT_RECORD_BATCH_MAX_BYTES);
            all.extend(call.iter().cloned());
        }
        let want: Vec<Vec<u8>> = lines.iter().map(|l| format!("{l}\n").into_bytes()).collect();
        prop_assert_eq!(all, want);
    }
}
