//! `replay`: feeding existing files (local or `s3://`, gzip or not) into the sinks: raw logs, and
//! the objects Firehose writes for records it could not process or deliver, whose base64
//! `rawData` is decoded back into the record that was put.

use std::io::Read;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;
use wafwatch_aws::explain;

use crate::batch::Batch;
use crate::run::args::ReplayArgs;
use crate::run::outcome::{Outcome, RunError, summarize};
use crate::run::output::{finish, open_sinks, write_all};
use crate::sim::OutputFormat;
use crate::sinks::s3_client;

/// A record of Firehose's error output (`processing-failed/`, the OpenSearch-failed prefix).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct FailedRecord {
    raw_data: String,
    #[serde(default)]
    error_code: Option<String>,
    #[serde(default)]
    attempts_made: Option<u64>,
}

/// Turns the bytes of one input into records: gunzipped when gzip, Firehose error records decoded.
pub fn records_of(bytes: &[u8]) -> Result<Batch, String> {
    let plain;
    let text: &[u8] = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes).read_to_end(&mut out).map_err(|e| format!("not valid gzip: {e}"))?;
        plain = out;
        &plain
    } else {
        bytes
    };
    let mut batch = Batch::default();
    let now = Utc::now().timestamp_millis();
    for line in text.split(|&b| b == b'\n').filter(|l| !l.trim_ascii().is_empty()) {
        let record = match serde_json::from_slice::<FailedRecord>(line) {
            Ok(f) if f.error_code.is_some() || f.attempts_made.is_some() => STANDARD
                .decode(f.raw_data.trim())
                .map_err(|e| format!("a Firehose error record's rawData is not base64: {e}"))?,
            _ => line.to_vec(),
        };
        let ts = leading_timestamp(&record).unwrap_or(now);
        // A decoded record may itself hold several lines (Firehose concatenates nothing, but
        // producers may have); keep it as one record, as it was put.
        batch.push(&record, ts);
    }
    Ok(batch)
}

/// `{"timestamp":1795262283412,...`: the record's own time, for date-partitioned keys.
fn leading_timestamp(record: &[u8]) -> Option<i64> {
    let rest = record.strip_prefix(b"{\"timestamp\":")?;
    let end = rest.iter().position(|b| !b.is_ascii_digit())?;
    std::str::from_utf8(&rest[..end]).ok()?.parse().ok()
}

/// Runs `replay`.
pub async fn replay(args: &ReplayArgs) -> Result<Outcome, RunError> {
    let mut sinks = open_sinks(&args.output, OutputFormat::Flat).await?;
    let mut outcome = Outcome::default();
    let needs_s3 = args.inputs.iter().any(|i| i.starts_with("s3://"));
    let s3 = if needs_s3 {
        let conf = args.output.aws.sdk_config().await;
        Some(s3_client(&args.output.aws, &conf))
    } else {
        None
    };
    let mut open = true;
    'inputs: for input in &args.inputs {
        let objects: Vec<(String, Vec<u8>)> = match (input.strip_prefix("s3://"), &s3) {
            (Some(rest), Some(client)) => fetch_s3(client, rest).await?,
            _ => {
                vec![(input.clone(), std::fs::read(input).map_err(|e| RunError::Io(format!("reading {input}: {e}")))?)]
            }
        };
        for (name, bytes) in objects {
            let batch = records_of(&bytes).map_err(|e| RunError::Io(format!("{name}: {e}")))?;
            tracing::info!(input = %name, records = batch.len(), "Replaying.");
            outcome.records += batch.len() as u64;
            open = write_all(&mut sinks, &batch).await?;
            if !open {
                break 'inputs;
            }
        }
    }
    outcome.stdout_closed = !open;
    finish(&mut sinks, &args.output, &mut outcome).await?;
    summarize(&outcome, 0);
    Ok(outcome)
}

/// The objects of `s3://` input `rest`: one object, or every object under a prefix (ending with `/`).
async fn fetch_s3(client: &aws_sdk_s3::Client, rest: &str) -> Result<Vec<(String, Vec<u8>)>, RunError> {
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    let get = |key: String| async move {
        let obj = client
            .get_object()
            .bucket(bucket)
            .key(&key)
            .send()
            .await
            .map_err(|e| RunError::Io(explain(&format!("S3 object s3://{bucket}/{key}"), &e)))?;
        let body = obj.body.collect().await.map_err(|e| RunError::Io(format!("reading s3://{bucket}/{key}: {e}")))?;
        Ok::<_, RunError>((format!("s3://{bucket}/{key}"), body.into_bytes().to_vec()))
    };
    if !key.is_empty() && !key.ends_with('/') {
        return Ok(vec![get(key.to_owned()).await?]);
    }
    let mut out = Vec::new();
    let mut pages = client.list_objects_v2().bucket(bucket).prefix(key).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| RunError::Io(explain(&format!("S3 bucket `{bucket}`"), &e)))?;
        for obj in page.contents() {
            if let Some(k) = obj.key() {
                out.push(get(k.to_owned()).await?);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn firehose_error_records_are_decoded() {
        let raw = STANDARD.encode(br#"{"timestamp":1795262283412,"action":"BLOCK"}"#);
        let failed = format!(
            "{{\"attemptsMade\":4,\"arrivalTimestamp\":1795262283412,\"errorCode\":\"Lambda.FunctionError\",\"errorMessage\":\"x\",\"rawData\":\"{raw}\",\"lambdaArn\":\"arn\"}}\n"
        );
        let mixed = format!("{failed}{{\"timestamp\":5,\"plain\":true}}\n\n");
        let b = records_of(mixed.as_bytes()).unwrap();
        assert_eq!(b.len(), 2);
        assert_eq!(b.line(0), b"{\"timestamp\":1795262283412,\"action\":\"BLOCK\"}\n");
        assert_eq!(b.timestamps, vec![1_795_262_283_412, 5]);
        let gz = {
            use std::io::Write;
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(mixed.as_bytes()).unwrap();
            e.finish().unwrap()
        };
        assert_eq!(records_of(&gz).unwrap().data, b.data);
    }
}
