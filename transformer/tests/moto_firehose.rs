//! Re-ingest through the real AWS SDK against moto's Firehose and S3 on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stderr)] // test code: a failed unwrap is a failed test
//!
//! The README's test command installs moto in a venv, starts it and exports its URL as
//! `WAFWATCH_TEST_MOTO_URL`. Without it these tests are skipped locally, and fail under CI.

mod common;

use std::io::Read;

use aws_sdk_firehose::config::Credentials;
use aws_sdk_firehose::types::{DeliveryStreamType, ExtendedS3DestinationConfiguration};
use common::*;
use serde_json::{Value, json};
use wafwatch_aws::{AwsArgs, SdkConfig};
use wafwatch_transformer::reingest::{FirehoseReingest, Reingest, RetryPolicy};
use wafwatch_transformer::{Outcome, handle};

async fn moto() -> Option<SdkConfig> {
    let Ok(url) = std::env::var("WAFWATCH_TEST_MOTO_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "WAFWATCH_TEST_MOTO_URL is not set under CI: run the tests with scripts/test"
        );
        eprintln!("skipped: WAFWATCH_TEST_MOTO_URL is not set (scripts/test starts moto and sets it)");
        return None;
    };
    let args = AwsArgs { region: Some("us-east-1".into()), endpoint_url: Some(url), profile: None };
    Some(args.loader().credentials_provider(Credentials::new("testing", "testing", None, None, "moto")).load().await)
}

/// A delivery stream with an S3 destination, and the bucket it writes to.
async fn stream(conf: &SdkConfig, name: &str) -> (aws_sdk_firehose::Client, aws_sdk_s3::Client, String) {
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(conf).force_path_style(true).build());
    let bucket = format!("{name}-bucket");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let firehose = aws_sdk_firehose::Client::new(conf);
    firehose
        .create_delivery_stream()
        .delivery_stream_name(name)
        .delivery_stream_type(DeliveryStreamType::DirectPut)
        .extended_s3_destination_configuration(
            ExtendedS3DestinationConfiguration::builder()
                .role_arn("arn:aws:iam::123456789012:role/firehose")
                .bucket_arn(format!("arn:aws:s3:::{bucket}"))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    (firehose, s3, bucket)
}

/// Every object in the bucket, concatenated (moto writes one object per PutRecordBatch call, with
/// the records back to back).
async fn delivered(s3: &aws_sdk_s3::Client, bucket: &str) -> Vec<u8> {
    let list = s3.list_objects_v2().bucket(bucket).send().await.unwrap();
    let mut all = Vec::new();
    for obj in list.contents() {
        let got = s3.get_object().bucket(bucket).key(obj.key().unwrap()).send().await.unwrap();
        all.extend(got.body.collect().await.unwrap().into_bytes());
    }
    all
}

fn fast() -> RetryPolicy {
    RetryPolicy::new(3, std::time::Duration::from_millis(5), std::time::Duration::from_millis(20))
}

#[tokio::test]
async fn several_cloudwatch_events_are_reingested_one_record_each() {
    let Some(conf) = moto().await else { return };
    let name = format!("aws-waf-logs-reingest-{}", std::process::id());
    let (firehose, s3, bucket) = stream(&conf, &name).await;

    let events: Vec<Value> =
        (1..=3).map(|i| json!({"id": format!("e{i}"), "timestamp": i, "message": format!("{{\"n\":{i}}}")})).collect();
    let cwl = json!({"messageType": "DATA_MESSAGE", "owner": "111122223333", "logGroup": "g", "logStream": "s",
        "subscriptionFilters": ["f"], "logEvents": events});
    let record = gzip(cwl.to_string().as_bytes());
    let mut event = event_of(&[&record]);
    event.delivery_stream_arn = Some(format!("arn:aws:firehose:us-east-1:123456789012:deliverystream/{name}"));

    let t = from_toml("[source]\nformat = \"cloudwatch-logs\"\n");
    let resp = handle(event, &t, &FirehoseReingest::with_client(firehose, fast())).await;
    assert_eq!(resp.records[0].result, Outcome::Dropped);

    // The stream received three gzip records, each a single-event DATA_MESSAGE.
    let bytes = delivered(&s3, &bucket).await;
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(&bytes[..]).read_to_string(&mut text).unwrap();
    let docs: Vec<Value> = serde_json::Deserializer::from_str(&text).into_iter().map(Result::unwrap).collect();
    assert_eq!(docs.len(), 3);
    for (i, d) in docs.iter().enumerate() {
        assert_eq!(d["logEvents"].as_array().unwrap().len(), 1);
        assert_eq!(d["logEvents"][0]["id"], format!("e{}", i + 1));
        assert_eq!(d["logGroup"], "g");
    }
}

#[tokio::test]
async fn a_missing_stream_fails_the_records_and_names_the_stream() {
    let Some(conf) = moto().await else { return };
    let reingest = FirehoseReingest::with_client(aws_sdk_firehose::Client::new(&conf), fast());
    let report = reingest.put_records("aws-waf-logs-does-not-exist", &[b"a".to_vec(), b"b".to_vec()]).await;
    assert_eq!(report.failed, vec![0, 1]);
    assert_eq!(report.calls, 1, "a missing stream is not retried");
    let error = report.last_error.unwrap();
    assert!(error.contains("`aws-waf-logs-does-not-exist` does not exist"), "{error}");
}

#[tokio::test]
async fn over_budget_records_reach_the_stream_unchanged() {
    let Some(conf) = moto().await else { return };
    let name = format!("aws-waf-logs-budget-{}", std::process::id());
    let (firehose, s3, bucket) = stream(&conf, &name).await;
    let small = br#"{"action":"BLOCK"}"#;
    let mut event = event_of(&vec![&small[..]; 20_000]);
    event.delivery_stream_arn = Some(format!("arn:aws:firehose:us-east-1:123456789012:deliverystream/{name}"));
    let resp = handle(event, &default_transformer(), &FirehoseReingest::with_client(firehose, fast())).await;
    let (_, dropped, failed) = resp.counts();
    assert_eq!(failed, 0);
    assert!(dropped > 0);
    let bytes = delivered(&s3, &bucket).await;
    assert_eq!(bytes, small.repeat(dropped), "each dropped record was put back exactly once, as it came");
}
