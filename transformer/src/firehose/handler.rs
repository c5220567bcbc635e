//! The handler: every record of a Firehose event transformed and answered exactly once, in input
//! order, with the serialised response kept under [`RESPONSE_BUDGET_BYTES`].
//!
//! Records are decoded (SIMD base64) into one reused buffer, transformed into another, and each
//! answer is written straight into the response, in one buffer sized from the input once, its
//! document base64-encoded in place. What cannot be answered in this invocation (several
//! CloudWatch Logs events bound for OpenSearch, records past the budget) is re-ingested into the
//! stream and answered `Dropped`, or `ProcessingFailed` when re-ingest is off or fails.

use std::collections::BTreeSet;

use super::event::{FirehoseEvent, FirehoseRecord};
use super::response::{
    ENVELOPE, FirehoseResponse, Outcome, RawResponse, ResponseMetadata, ResponseWriter, base64_len, record_cost,
};
use crate::limits::RESPONSE_BUDGET_BYTES;
use crate::record::{Disposition, RecordError, Transformer};
use crate::reingest::Reingest;

/// The delivery stream's name from its ARN.
pub fn stream_name(arn: &str) -> Option<&str> {
    arn.rsplit_once(":deliverystream/").map(|(_, n)| n).filter(|n| !n.is_empty())
}

/// One invocation's records: the budget, the response written so far, what waits for re-ingest.
struct Batch {
    ids: Vec<Option<String>>,
    /// Each record's worst-case cost: `ProcessingFailed` with its original data.
    fallback: Vec<usize>,
    /// The worst-case cost of the records not yet answered.
    reserve: usize,
    /// The cost of the answers so far (non-`Ok` ones at their worst case).
    used: usize,
    reingest_on: bool,
    now_ms: i64,
    writer: ResponseWriter,
    /// Records to re-ingest (index and bytes), and their original data, answered `ProcessingFailed`
    /// if the re-ingest fails.
    queue: Vec<(usize, Vec<u8>)>,
    waiting: Vec<(usize, String)>,
    decoded: Vec<u8>,
    out: Vec<u8>,
    over_budget: usize,
}

impl Batch {
    /// `growth` is how many bytes the transformer adds to a document, at most for most documents.
    fn new(records: &[FirehoseRecord], reingest_on: bool, growth: usize) -> Self {
        let ids: Vec<Option<String>> = records.iter().map(|r| r.record_id.clone()).collect();
        let fallback: Vec<usize> = records
            .iter()
            .map(|r| {
                let len = r.data.as_deref().map_or(0, str::len);
                record_cost(r.record_id.as_deref(), Outcome::ProcessingFailed, len, None)
            })
            .collect();
        let reserve: usize = fallback.iter().sum();
        // The documents grow by their columns (base64: by 4/3 of that), which the configuration
        // says; the response can never outgrow the budget. Sized once, the buffer never copies
        // itself over while growing.
        let added = records.len() * (growth + growth / 3 + 4);
        let capacity = (reserve + added).min(RESPONSE_BUDGET_BYTES) + ENVELOPE;
        Batch {
            reserve,
            ids,
            fallback,
            used: ENVELOPE,
            reingest_on,
            now_ms: chrono::Utc::now().timestamp_millis(),
            writer: ResponseWriter::with_capacity(capacity),
            queue: Vec::new(),
            waiting: Vec::new(),
            decoded: Vec::new(),
            out: Vec::new(),
            over_budget: 0,
        }
    }

    /// Decodes and transforms one record, and answers it (or queues it for re-ingest).
    fn record(&mut self, i: usize, rec: FirehoseRecord, t: &Transformer) {
        self.reserve -= self.fallback[i];
        let data = rec.data.unwrap_or_default();
        self.decoded.clear();
        self.out.clear();
        let arrival = rec.approximate_arrival_timestamp.unwrap_or(self.now_ms);
        let result = match base64_simd::STANDARD.decode_append(data.as_bytes(), &mut self.decoded) {
            Err(_) => Err(RecordError::Base64),
            Ok(()) if self.decoded.is_empty() => Err(RecordError::Empty),
            Ok(()) => t.transform(&self.decoded, arrival, &mut self.out),
        };
        let id = self.ids[i].as_deref();
        let shown = id.unwrap_or("(none)");
        match result {
            Ok(Disposition::Deliver { partition_keys }) => {
                let meta = partition_keys.map(|partition_keys| ResponseMetadata { partition_keys });
                let cost = record_cost(id, Outcome::Ok, base64_len(self.out.len()), meta.as_ref());
                if self.used + cost + self.reserve <= RESPONSE_BUDGET_BYTES {
                    self.used += cost;
                    self.writer.ok(id, &self.out, meta.as_ref());
                    return;
                }
                self.over_budget(i, data);
            }
            Err(e) => {
                tracing::warn!(record_id = %shown, error = %e, "Record failed to transform.");
                self.writer.failed(id, &data);
            }
            Ok(Disposition::Drop(why)) => {
                tracing::trace!(record_id = %shown, reason = why, "Record dropped.");
                self.writer.dropped(id);
            }
            Ok(Disposition::Split(parts)) if self.reingest_on => {
                self.queue.extend(parts.into_iter().map(|p| (i, p)));
                self.wait(i, data);
            }
            Ok(Disposition::Split(parts)) => {
                tracing::warn!(record_id = %shown, events = parts.len(),
                    "Record holds several log events for OpenSearch and re-ingest is off; failing it.");
                self.writer.failed(id, &data);
            }
        }
        // Everything but Ok is charged at its worst case (ProcessingFailed with the original data),
        // so that a re-ingest that fails later can never push the response over the budget.
        self.used += self.fallback[i];
    }

    /// Answers `Dropped` for now: the record is re-ingested, and fails if that fails.
    fn wait(&mut self, i: usize, data: String) {
        self.writer.deferred(i, self.ids[i].as_deref());
        self.waiting.push((i, data));
    }

    /// A document that does not fit the budget: re-ingested as it came, or failed.
    fn over_budget(&mut self, i: usize, data: String) {
        self.over_budget += 1;
        if self.reingest_on {
            self.queue.push((i, std::mem::take(&mut self.decoded)));
            self.wait(i, data);
        } else {
            let id = self.ids[i].as_deref();
            tracing::warn!(record_id = %id.unwrap_or("(none)"), "Record does not fit in the response budget and re-ingest is off; failing it.");
            self.writer.failed(id, &data);
        }
    }

    /// Re-ingests the queue; records whose re-ingest failed are answered `ProcessingFailed`.
    async fn reingest<R: Reingest>(&mut self, arn: Option<&str>, kinesis_source: bool, reingest: &R) -> usize {
        if self.queue.is_empty() {
            return 0;
        }
        let failed = reingest_queue(&self.queue, arn, kinesis_source, reingest).await;
        for &i in &failed {
            let id = self.ids[i].as_deref().unwrap_or("(none)");
            tracing::warn!(record_id = %id, "Record could not be re-ingested; failing it so Firehose keeps it.");
        }
        let ids = &self.ids;
        self.writer.fail_deferred(
            self.waiting
                .iter()
                .filter(|(i, _)| failed.contains(i))
                .map(|(i, data)| (*i, ids[*i].as_deref(), data.as_str())),
        );
        self.queue.iter().filter(|(i, _)| !failed.contains(i)).count()
    }

    /// The response; one INFO line gives the counts.
    fn finish(self, reingested: usize) -> RawResponse {
        let response = self.writer.finish();
        let (ok, dropped, failed) = response.counts();
        tracing::info!(
            ok,
            dropped,
            processing_failed = failed,
            reingested,
            over_budget = self.over_budget,
            response_bytes = response.len(),
            "Batch transformed."
        );
        response
    }
}

/// Transforms a whole Firehose event and returns the response already serialised: what the Lambda
/// sends. Never fails: a record that cannot be transformed is answered `ProcessingFailed` with its
/// original data, and one WARN line names its `recordId` and the reason.
pub async fn handle_raw<R: Reingest>(event: FirehoseEvent, t: &Transformer, reingest: &R) -> RawResponse {
    let FirehoseEvent { delivery_stream_arn, source_kinesis_stream_arn, records, .. } = event;
    let mut batch = Batch::new(&records, t.config().reingest(), t.growth_estimate());
    for (i, rec) in records.into_iter().enumerate() {
        batch.record(i, rec, t);
    }
    let reingested =
        batch.reingest(delivery_stream_arn.as_deref(), source_kinesis_stream_arn.is_some(), reingest).await;
    batch.finish(reingested)
}

/// [`handle_raw`], read back as a [`FirehoseResponse`]: for tests and tools that look at answers.
pub async fn handle<R: Reingest>(event: FirehoseEvent, t: &Transformer, reingest: &R) -> FirehoseResponse {
    handle_raw(event, t, reingest).await.parse()
}

/// Re-ingests the queued records; returns the indices of the input records whose re-ingest failed.
async fn reingest_queue<R: Reingest>(
    queue: &[(usize, Vec<u8>)],
    arn: Option<&str>,
    kinesis_source: bool,
    reingest: &R,
) -> BTreeSet<usize> {
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

    #[test]
    fn stream_names_come_from_the_arn() {
        assert_eq!(
            stream_name("arn:aws:firehose:eu-west-1:111122223333:deliverystream/aws-waf-logs-shop"),
            Some("aws-waf-logs-shop")
        );
        assert_eq!(stream_name("aws:lambda:events"), None);
    }
}
