//! The handler: every record of a Firehose event transformed and answered exactly once, in input
//! order, with the serialised response kept under [`RESPONSE_BUDGET_BYTES`].
//!
//! Records are decoded (SIMD base64) into one reused buffer, transformed into another, and their
//! documents base64-encoded straight into the response's arena; the response is then written
//! around them in one buffer sized once. What cannot be answered in this invocation (several
//! CloudWatch Logs events bound for OpenSearch, records past the budget) is re-ingested into the
//! stream and answered `Dropped`, or `ProcessingFailed` when re-ingest is off or fails.

use std::collections::BTreeSet;

use super::event::{FirehoseEvent, FirehoseRecord};
use super::response::{
    Answer, ENVELOPE, FirehoseResponse, Outcome, RawResponse, ResponseMetadata, ResponseWriter, record_cost,
};
use crate::limits::RESPONSE_BUDGET_BYTES;
use crate::record::{Disposition, RecordError, Transformer};
use crate::reingest::Reingest;

/// The delivery stream's name from its ARN.
pub fn stream_name(arn: &str) -> Option<&str> {
    arn.rsplit_once(":deliverystream/").map(|(_, n)| n).filter(|n| !n.is_empty())
}

/// A record's answer while the batch is processed.
enum Pending {
    Answered(Answer),
    /// Answered `Dropped` once its records are re-ingested; `ProcessingFailed` if that fails.
    Reingest(String),
}

/// One invocation's records: the budget, the answers so far, what waits for re-ingest.
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
    pending: Vec<Pending>,
    queue: Vec<(usize, Vec<u8>)>,
    writer: ResponseWriter,
    decoded: Vec<u8>,
    out: Vec<u8>,
    over_budget: usize,
}

impl Batch {
    fn new(records: &[FirehoseRecord], reingest_on: bool) -> Self {
        let ids: Vec<Option<String>> = records.iter().map(|r| r.record_id.clone()).collect();
        let fallback: Vec<usize> = records
            .iter()
            .map(|r| {
                let len = r.data.as_deref().map_or(0, str::len);
                record_cost(r.record_id.as_deref(), Outcome::ProcessingFailed, len, None)
            })
            .collect();
        let input: usize = records.iter().map(|r| r.data.as_deref().map_or(0, str::len)).sum();
        Batch {
            reserve: fallback.iter().sum(),
            ids,
            fallback,
            used: ENVELOPE,
            reingest_on,
            now_ms: chrono::Utc::now().timestamp_millis(),
            pending: Vec::with_capacity(records.len()),
            queue: Vec::new(),
            // The documents grow by their columns: a third more than the input is ample.
            writer: ResponseWriter::with_capacity(input + input / 3),
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
        let id = self.ids[i].as_deref().unwrap_or("(none)");
        let pending = match result {
            Err(e) => {
                tracing::warn!(record_id = %id, error = %e, "Record failed to transform.");
                Pending::Answered(Answer::Failed(data))
            }
            Ok(Disposition::Drop(why)) => {
                tracing::trace!(record_id = %id, reason = why, "Record dropped.");
                Pending::Answered(Answer::Dropped)
            }
            Ok(Disposition::Split(parts)) if self.reingest_on => {
                self.queue.extend(parts.into_iter().map(|p| (i, p)));
                Pending::Reingest(data)
            }
            Ok(Disposition::Split(parts)) => {
                tracing::warn!(record_id = %id, events = parts.len(),
                    "Record holds several log events for OpenSearch and re-ingest is off; failing it.");
                Pending::Answered(Answer::Failed(data))
            }
            Ok(Disposition::Deliver { partition_keys }) => match self.deliver(i, partition_keys) {
                true => return,
                false => self.over_budget(i, data),
            },
        };
        // Everything but Ok is charged at its worst case (ProcessingFailed with the original data),
        // so that a re-ingest that fails later can never push the response over the budget.
        self.used += self.fallback[i];
        self.pending.push(pending);
    }

    /// Answers `Ok` with the document in `out` if it fits the budget; false when it does not.
    fn deliver(&mut self, i: usize, partition_keys: Option<std::collections::BTreeMap<String, String>>) -> bool {
        let range = self.writer.encode(&self.out);
        let meta = partition_keys.map(|partition_keys| ResponseMetadata { partition_keys });
        let cost = record_cost(self.ids[i].as_deref(), Outcome::Ok, range.len(), meta.as_ref());
        if self.used + cost + self.reserve > RESPONSE_BUDGET_BYTES {
            self.writer.retract(&range);
            return false;
        }
        self.used += cost;
        self.pending.push(Pending::Answered(Answer::Ok(range, meta)));
        true
    }

    /// A document that does not fit the budget: re-ingested as it came, or failed.
    fn over_budget(&mut self, i: usize, data: String) -> Pending {
        self.over_budget += 1;
        if self.reingest_on {
            self.queue.push((i, std::mem::take(&mut self.decoded)));
            Pending::Reingest(data)
        } else {
            let id = self.ids[i].as_deref().unwrap_or("(none)");
            tracing::warn!(record_id = %id, "Record does not fit in the response budget and re-ingest is off; failing it.");
            Pending::Answered(Answer::Failed(data))
        }
    }

    /// Re-ingests the queue; records whose re-ingest failed are answered `ProcessingFailed`.
    async fn reingest<R: Reingest>(&mut self, arn: Option<&str>, kinesis_source: bool, reingest: &R) -> usize {
        if self.queue.is_empty() {
            return 0;
        }
        let failed = reingest_queue(&self.queue, arn, kinesis_source, reingest).await;
        for &i in &failed {
            if let Pending::Reingest(data) = std::mem::replace(&mut self.pending[i], Pending::Answered(Answer::Dropped))
            {
                let id = self.ids[i].as_deref().unwrap_or("(none)");
                tracing::warn!(record_id = %id, "Record could not be re-ingested; failing it so Firehose keeps it.");
                self.pending[i] = Pending::Answered(Answer::Failed(data));
            }
        }
        self.queue.iter().filter(|(i, _)| !failed.contains(i)).count()
    }

    /// Writes the response; one INFO line gives the counts.
    fn finish(self, reingested: usize) -> RawResponse {
        let answers = self.pending.into_iter().map(|p| match p {
            Pending::Answered(a) => a,
            Pending::Reingest(_) => Answer::Dropped,
        });
        let response = self.writer.finish(self.ids.iter().map(Option::as_deref).zip(answers), self.used);
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
    let mut batch = Batch::new(&records, t.config().reingest());
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
