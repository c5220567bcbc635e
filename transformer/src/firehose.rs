//! The Firehose data-transformation contract: the event, the response, and the handler.
//!
//! The handler reads its own event type, in which each record's `data` stays base64 text until
//! that record is processed, so one record with bad base64 fails alone instead of failing the
//! whole invocation (as a type that decodes base64 during deserialisation would). Every input
//! `recordId` gets exactly one answer, in input order, and the serialised response is kept under
//! [`RESPONSE_BUDGET_BYTES`].

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use crate::limits::RESPONSE_BUDGET_BYTES;
use crate::record::{Disposition, RecordError, Transformer};
use crate::reingest::Reingest;

/// A Firehose data-transformation event.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FirehoseEvent {
    /// The invocation id.
    #[serde(default)]
    pub invocation_id: Option<String>,
    /// `arn:aws:firehose:REGION:ACCOUNT:deliverystream/NAME`; re-ingest goes to NAME.
    #[serde(default)]
    pub delivery_stream_arn: Option<String>,
    /// Present when the stream reads from a Kinesis data stream.
    #[serde(default)]
    pub source_kinesis_stream_arn: Option<String>,
    /// The region.
    #[serde(default)]
    pub region: Option<String>,
    /// The records.
    pub records: Vec<FirehoseRecord>,
}

/// One record of a [`FirehoseEvent`].
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FirehoseRecord {
    /// Echoed back byte for byte.
    #[serde(default)]
    pub record_id: Option<String>,
    /// Epoch milliseconds.
    #[serde(default, deserialize_with = "lenient_millis")]
    pub approximate_arrival_timestamp: Option<i64>,
    /// Base64 of the producer's bytes, kept as text until the record is processed.
    #[serde(default)]
    pub data: Option<String>,
}

/// Accepts epoch milliseconds as a number, a fractional number, or a numeric string.
fn lenient_millis<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = Option<i64>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("epoch milliseconds")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(i64::try_from(v).ok())
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(v.is_finite().then_some(v as i64))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(v.parse::<f64>().ok().filter(|f| f.is_finite()).map(|f| f as i64))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(V)
}

/// A record's result, with the exact wire strings Firehose accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Outcome {
    /// Transformed; `data` holds the document.
    Ok,
    /// Intentionally not delivered (`data` is empty).
    Dropped,
    /// Could not be transformed; `data` holds the original bytes, and Firehose writes the record to
    /// its `processing-failed/` S3 prefix.
    ProcessingFailed,
}

impl Outcome {
    /// The wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "Ok",
            Outcome::Dropped => "Dropped",
            Outcome::ProcessingFailed => "ProcessingFailed",
        }
    }
}

/// The response's `metadata`, present only when the configuration asks for partition keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseMetadata {
    /// S3 dynamic partitioning keys.
    #[serde(rename = "partitionKeys")]
    pub partition_keys: BTreeMap<String, String>,
}

/// One answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseRecord {
    /// The input's `recordId`, unchanged.
    pub record_id: Option<String>,
    /// `Ok`, `Dropped` or `ProcessingFailed`.
    pub result: Outcome,
    /// Base64 of the output (`Ok`), of the original bytes (`ProcessingFailed`), or empty (`Dropped`).
    pub data: String,
    /// Partition keys, when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<ResponseMetadata>,
}

/// The handler's response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirehoseResponse {
    /// One per input record, in input order.
    pub records: Vec<ResponseRecord>,
}

impl FirehoseResponse {
    /// How many records have each outcome: (Ok, Dropped, ProcessingFailed).
    pub fn counts(&self) -> (usize, usize, usize) {
        self.records.iter().fold((0, 0, 0), |(o, d, f), r| match r.result {
            Outcome::Ok => (o + 1, d, f),
            Outcome::Dropped => (o, d + 1, f),
            Outcome::ProcessingFailed => (o, d, f + 1),
        })
    }
}

/// Length of `s` serialised as a JSON string by serde_json, quotes included.
fn json_str_len(s: &str) -> usize {
    2 + s
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..=0x1f => 6,
            _ => 1,
        })
        .sum::<usize>()
}

/// Serialised size of one response record, plus the comma that separates it from the next.
pub fn record_cost(
    record_id: Option<&str>,
    result: Outcome,
    data_len: usize,
    meta: Option<&ResponseMetadata>,
) -> usize {
    let id = record_id.map_or(4, json_str_len);
    let meta = meta.map_or(0, |m| {
        // ,"metadata":{"partitionKeys":{ ... }}
        30 + 2
            + m.partition_keys.iter().map(|(k, v)| json_str_len(k) + 1 + json_str_len(v)).sum::<usize>()
            + m.partition_keys.len().saturating_sub(1)
    });
    // {"recordId":ID,"result":"R","data":"D"}  and a comma
    12 + id + 11 + result.as_str().len() + 1 + 9 + data_len + 1 + meta + 1 + 1
}

/// `{"records":[` and `]}`.
const ENVELOPE: usize = 14;

/// The delivery stream's name from its ARN.
pub fn stream_name(arn: &str) -> Option<&str> {
    arn.rsplit_once(":deliverystream/").map(|(_, n)| n).filter(|n| !n.is_empty())
}

enum Pending {
    Ok(String, Option<ResponseMetadata>),
    Dropped,
    /// Answered `Dropped` once its records are re-ingested; `ProcessingFailed` if that fails.
    Reingest(String),
    Failed(String),
}

/// Transforms a whole Firehose event.
///
/// Never fails: a record that cannot be transformed is answered `ProcessingFailed` with its
/// original data, and one WARN line names its `recordId` and the reason. One INFO line per batch
/// gives the counts.
pub async fn handle<R: Reingest>(event: FirehoseEvent, t: &Transformer, reingest: &R) -> FirehoseResponse {
    let FirehoseEvent { delivery_stream_arn, source_kinesis_stream_arn, records, .. } = event;
    let ids: Vec<Option<String>> = records.iter().map(|r| r.record_id.clone()).collect();
    let fallback: Vec<usize> = records
        .iter()
        .map(|r| {
            record_cost(r.record_id.as_deref(), Outcome::ProcessingFailed, r.data.as_deref().map_or(0, str::len), None)
        })
        .collect();
    let mut reserve: usize = fallback.iter().sum();
    let mut used = ENVELOPE;
    let reingest_on = t.config().reingest();
    let now_ms = chrono::Utc::now().timestamp_millis();

    let mut pending = Vec::with_capacity(records.len());
    let mut queue: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut decoded = Vec::new();
    let mut out = Vec::new();
    let mut over_budget = 0usize;

    for (i, rec) in records.into_iter().enumerate() {
        reserve -= fallback[i];
        let id = ids[i].as_deref().unwrap_or("(none)");
        let data = rec.data.unwrap_or_default();
        decoded.clear();
        out.clear();
        let result = STANDARD.decode_vec(data.as_bytes(), &mut decoded).map_err(RecordError::from).and_then(|()| {
            if decoded.is_empty() {
                Err(RecordError::Empty)
            } else {
                t.transform(&decoded, rec.approximate_arrival_timestamp.unwrap_or(now_ms), &mut out)
            }
        });
        let answer = match result {
            Err(e) => {
                tracing::warn!(record_id = %id, error = %e, "Record failed to transform.");
                Pending::Failed(data)
            }
            Ok(Disposition::Drop(why)) => {
                tracing::trace!(record_id = %id, reason = why, "Record dropped.");
                Pending::Dropped
            }
            Ok(Disposition::Split(parts)) => {
                if reingest_on {
                    queue.extend(parts.into_iter().map(|p| (i, p)));
                    Pending::Reingest(data)
                } else {
                    tracing::warn!(record_id = %id, events = parts.len(),
                        "Record holds several log events for OpenSearch and re-ingest is off; failing it.");
                    Pending::Failed(data)
                }
            }
            Ok(Disposition::Deliver { partition_keys }) => {
                let encoded = STANDARD.encode(&out);
                let meta = partition_keys.map(|partition_keys| ResponseMetadata { partition_keys });
                let cost = record_cost(ids[i].as_deref(), Outcome::Ok, encoded.len(), meta.as_ref());
                if used + cost + reserve <= RESPONSE_BUDGET_BYTES {
                    used += cost;
                    pending.push(Pending::Ok(encoded, meta));
                    continue;
                }
                over_budget += 1;
                if reingest_on {
                    queue.push((i, std::mem::take(&mut decoded)));
                    Pending::Reingest(data)
                } else {
                    tracing::warn!(record_id = %id, "Record does not fit in the response budget and re-ingest is off; failing it.");
                    Pending::Failed(data)
                }
            }
        };
        // Everything but Ok is charged at its worst case (ProcessingFailed with the original data),
        // so that a re-ingest that fails later can never push the response over the budget.
        used += fallback[i];
        pending.push(answer);
    }

    let mut reingested = 0usize;
    if !queue.is_empty() {
        let failed_records =
            reingest_queue(&queue, delivery_stream_arn.as_deref(), source_kinesis_stream_arn.is_some(), reingest).await;
        reingested = queue.len() - queue.iter().filter(|(i, _)| failed_records.contains(i)).count();
        for i in failed_records {
            if let Pending::Reingest(data) = std::mem::replace(&mut pending[i], Pending::Dropped) {
                tracing::warn!(record_id = %ids[i].as_deref().unwrap_or("(none)"), "Record could not be re-ingested; failing it so Firehose keeps it.");
                pending[i] = Pending::Failed(data);
            }
        }
    }

    let records: Vec<ResponseRecord> = pending
        .into_iter()
        .zip(ids)
        .map(|(p, record_id)| match p {
            Pending::Ok(data, metadata) => ResponseRecord { record_id, result: Outcome::Ok, data, metadata },
            Pending::Dropped | Pending::Reingest(_) => {
                ResponseRecord { record_id, result: Outcome::Dropped, data: String::new(), metadata: None }
            }
            Pending::Failed(data) => {
                ResponseRecord { record_id, result: Outcome::ProcessingFailed, data, metadata: None }
            }
        })
        .collect();
    let response = FirehoseResponse { records };
    let (ok, dropped, failed) = response.counts();
    tracing::info!(
        ok,
        dropped,
        processing_failed = failed,
        reingested,
        over_budget,
        response_bytes = used,
        "Batch transformed."
    );
    response
}

/// Re-ingests the queued records; returns the indices of the input records whose re-ingest failed.
async fn reingest_queue<R: Reingest>(
    queue: &[(usize, Vec<u8>)],
    arn: Option<&str>,
    kinesis_source: bool,
    reingest: &R,
) -> std::collections::BTreeSet<usize> {
    let all = || queue.iter().map(|(i, _)| *i).collect();
    if kinesis_source {
        tracing::warn!(
            records = queue.len(),
            "This stream reads from a Kinesis data stream, which PutRecordBatch cannot write to; failing the records instead of re-ingesting them."
        );
        return all();
    }
    let Some(stream) = arn.and_then(stream_name) else {
        tracing::warn!(
            records = queue.len(),
            "The event has no deliveryStreamArn to re-ingest into; failing the records."
        );
        return all();
    };
    let data: Vec<Vec<u8>> = queue.iter().map(|(_, d)| d.clone()).collect();
    let report = reingest.put_records(stream, &data).await;
    if !report.failed.is_empty() {
        tracing::warn!(
            stream,
            failed = report.failed.len(),
            error = report.last_error.as_deref().unwrap_or(""),
            "Some records could not be re-ingested."
        );
    }
    report.failed.iter().map(|&k| queue[k].0).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn record_cost_is_the_serialised_size(
            id in proptest::option::of(".{0,40}"),
            data in "[A-Za-z0-9+/=]{0,200}",
            keys in proptest::collection::btree_map(".{1,8}", ".{0,12}", 0..4),
            with_meta in any::<bool>(),
            result in prop_oneof![Just(Outcome::Ok), Just(Outcome::Dropped), Just(Outcome::ProcessingFailed)],
        ) {
            let metadata = with_meta.then_some(ResponseMetadata { partition_keys: keys });
            let rec = ResponseRecord { record_id: id.clone(), result, data: data.clone(), metadata: metadata.clone() };
            let one = serde_json::to_vec(&FirehoseResponse { records: vec![rec.clone()] }).unwrap().len();
            let two = serde_json::to_vec(&FirehoseResponse { records: vec![rec.clone(), rec] }).unwrap().len();
            let cost = record_cost(id.as_deref(), result, data.len(), metadata.as_ref());
            prop_assert_eq!(one, ENVELOPE + cost - 1);
            prop_assert_eq!(two, ENVELOPE + 2 * cost - 1);
        }
    }

    #[test]
    fn stream_names_come_from_the_arn() {
        assert_eq!(
            stream_name("arn:aws:firehose:eu-west-1:111122223333:deliverystream/aws-waf-logs-shop"),
            Some("aws-waf-logs-shop")
        );
        assert_eq!(stream_name("aws:lambda:events"), None);
    }
}
