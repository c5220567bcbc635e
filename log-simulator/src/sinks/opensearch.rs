//! The OpenSearch `_bulk` sink, for self-managed clusters without Firehose.
//!
//! Each record is encoded by the transformer library (the same record function the Lambda runs)
//! and indexed under a deterministic id derived from the record's bytes ([`doc_id`]), so replaying
//! the same records overwrites instead of double counting. Records that are already encoded
//! (replayed from Firehose's OpenSearch-failed output) are indexed as they are. Items the cluster
//! rejects are reported one by one; a request that fails on the way or is answered with a status
//! worth another try ([`retryable_status`]), and items refused with 429, are tried again with the
//! workspace's backoff ([`Backoff`]), five attempts per flush in all.

use std::collections::HashMap;
use std::time::Duration;

use wafwatch_config::hash::wide_id;
use wafwatch_opensearch::connection::{Client as OpenSearch, HeaderMap, HeaderName, HeaderValue, Method};
use wafwatch_opensearch::connection::{ConnectionArgs, explain_status};
use wafwatch_retry::{Attempt, Backoff, RetryPolicy, retryable_status};
use wafwatch_transformer::{Disposition, RecordError, Transformer};

use crate::batch::Batch;
use crate::sinks::report::{SinkError, SinkReport};

/// Flush at this many documents...
const MAX_DOCS: usize = 5_000;
/// ...or this many bytes of request body.
const MAX_BODY: usize = 5 << 20;
/// How hard one flush tries: five requests in all (the first, then retries of the whole request
/// or of the items refused with 429), waiting below 200 ms, 400 ms, 800 ms and 1.6 s between them.
const RETRY: RetryPolicy = RetryPolicy::new(5, Duration::from_millis(200), Duration::from_millis(1600));

/// The document id of a record: the workspace's stable 128-bit hash of its bytes (without the
/// newline), as 32 hex digits. The same record always gets the same id.
pub fn doc_id(record: &[u8]) -> String {
    wide_id(record.strip_suffix(b"\n").unwrap_or(record))
}

/// A document waiting for the next request.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    id: String,
    doc: Vec<u8>,
    /// The record it was encoded from, kept for `--undelivered`.
    record: Vec<u8>,
}

/// The `_bulk` sink.
pub(crate) struct BulkSink {
    client: OpenSearch,
    index: String,
    url: String,
    transformer: Transformer,
    pending: Vec<Entry>,
    body_len: usize,
    report: SinkReport,
}

#[derive(serde::Deserialize)]
struct BulkResponse {
    #[serde(default)]
    items: Vec<HashMap<String, BulkItem>>,
}

#[derive(serde::Deserialize)]
struct BulkItem {
    status: u16,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

/// What became of the entries of one request.
#[derive(Debug, Default, PartialEq, Eq)]
struct Settled {
    /// Indexed.
    indexed: Vec<Entry>,
    /// Refused with 429: worth another try. Each with the reason, should there be none.
    throttled: Vec<(Entry, String)>,
    /// Refused for good, with the reason.
    refused: Vec<(Entry, String)>,
}

/// Sorts the entries of a request by the items of its answer (in the same order).
fn settle(items: Vec<HashMap<String, BulkItem>>, sent: Vec<Entry>) -> Settled {
    let mut out = Settled::default();
    for (item, entry) in items.into_iter().zip(sent) {
        let Some(result) = item.into_values().next() else { continue };
        if (200..300).contains(&result.status) {
            out.indexed.push(entry);
            continue;
        }
        let why = result
            .error
            .as_ref()
            .map(|e| format!("{}: {}", e["type"].as_str().unwrap_or("error"), e["reason"].as_str().unwrap_or("")))
            .unwrap_or_default();
        let reason = format!("document {} refused with {}: {why}", entry.id, result.status);
        if result.status == 429 { out.throttled.push((entry, reason)) } else { out.refused.push((entry, reason)) }
    }
    out
}

impl BulkSink {
    /// Connects and checks that the cluster answers.
    pub(crate) async fn open(
        index: &str,
        connection: &ConnectionArgs,
        conf: Option<&aws_config::SdkConfig>,
        transformer: Transformer,
        report: SinkReport,
    ) -> Result<BulkSink, SinkError> {
        let url = connection.describe().to_owned();
        let client = connection.client(conf).map_err(|e| SinkError::Aws(e.to_string()))?;
        let resp = client.send::<()>(Method::GET, "/", HeaderMap::new(), None, None, None).await.map_err(|e| {
            SinkError::Aws(format!("cannot reach OpenSearch at {url}: check --opensearch-url and the network ({e})"))
        })?;
        let status = resp.status_code().as_u16();
        if let Some(msg) = explain_status(status, &url) {
            return Err(SinkError::Aws(msg));
        }
        if !(200..300).contains(&status) {
            return Err(SinkError::Aws(format!("OpenSearch at {url} answered {status} to GET /")));
        }
        Ok(BulkSink { client, index: index.to_owned(), url, transformer, pending: Vec::new(), body_len: 0, report })
    }

    /// The report so far.
    pub(crate) fn report(&self) -> &SinkReport {
        &self.report
    }

    fn fail(&mut self, record: &[u8], reason: String) {
        self.report.failed += 1;
        if self.report.error.is_none() {
            tracing::warn!(sink = %self.report.name, reason = %reason, "Record not indexed.");
        }
        self.report.error = Some(reason);
        self.report.undelivered.push(record.to_vec());
    }

    /// Encodes and queues a batch, sending full requests.
    pub(crate) async fn write(&mut self, batch: &Batch) -> Result<(), SinkError> {
        let mut doc = Vec::new();
        for (line, &arrival) in batch.lines().zip(&batch.timestamps) {
            doc.clear();
            let record = line.strip_suffix(b"\n").unwrap_or(line);
            match self.transformer.transform(record, arrival, &mut doc) {
                Ok(Disposition::Deliver { .. }) => {
                    for d in doc.split(|&b| b == b'\n').filter(|d| !d.is_empty()) {
                        self.queue(doc_id(d), d.to_vec(), line);
                    }
                }
                Ok(Disposition::Drop(_)) => {}
                Ok(Disposition::Split(parts)) => {
                    for p in parts {
                        let mut out = Vec::new();
                        match self.transformer.transform(&p, arrival, &mut out) {
                            Ok(_) => self.queue(doc_id(&p), out.trim_ascii_end().to_vec(), &p),
                            Err(e) => self.fail(&p, e.to_string()),
                        }
                    }
                }
                // Already encoded (replayed from Firehose's OpenSearch-failed output): index as is.
                Err(RecordError::Clash(_)) => self.queue(doc_id(record), record.to_vec(), line),
                Err(e) => self.fail(line, e.to_string()),
            }
            if self.pending.len() >= MAX_DOCS || self.body_len >= MAX_BODY {
                self.flush().await?;
            }
        }
        Ok(())
    }

    fn queue(&mut self, id: String, doc: Vec<u8>, record: &[u8]) {
        self.body_len += doc.len() + id.len() + self.index.len() + 32;
        self.pending.push(Entry { id, doc, record: record.to_vec() });
    }

    /// Sends what is queued, retrying as the module says.
    pub(crate) async fn flush(&mut self) -> Result<(), SinkError> {
        let mut todo = std::mem::take(&mut self.pending);
        self.body_len = 0;
        let mut backoff = Backoff::new(RETRY);
        while !todo.is_empty() {
            let items = match self.request(&todo).await {
                Attempt::Done(items) => items,
                Attempt::Fail(e) => return Err(e),
                Attempt::Retry(e) => match backoff.next_delay() {
                    Some(wait) => {
                        tracing::warn!(error = %e, "OpenSearch _bulk failed; retrying.");
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    None => return Err(e),
                },
            };
            let settled = settle(items, std::mem::take(&mut todo));
            for entry in settled.indexed {
                self.report.records += 1;
                self.report.bytes += entry.doc.len() as u64;
            }
            for (entry, reason) in settled.refused {
                self.fail(&entry.record, reason);
            }
            if settled.throttled.is_empty() {
                break;
            }
            match backoff.next_delay() {
                Some(wait) => {
                    tokio::time::sleep(wait).await;
                    todo = settled.throttled.into_iter().map(|(entry, _)| entry).collect();
                }
                None => settled.throttled.into_iter().for_each(|(entry, reason)| self.fail(&entry.record, reason)),
            }
        }
        Ok(())
    }

    /// One `_bulk` request of `entries`: its items, or why it failed (and whether that is worth
    /// another try).
    async fn request(&mut self, entries: &[Entry]) -> Attempt<Vec<HashMap<String, BulkItem>>, SinkError> {
        let mut body = Vec::with_capacity(entries.iter().map(|e| e.doc.len() + 100).sum());
        let index = serde_json::Value::from(self.index.as_str());
        for Entry { id, doc, .. } in entries {
            body.extend_from_slice(format!("{{\"index\":{{\"_index\":{index},\"_id\":\"{id}\"}}}}\n").as_bytes());
            body.extend_from_slice(doc);
            body.push(b'\n');
        }
        let mut headers = HeaderMap::new();
        headers.insert(HeaderName::from_static("content-type"), HeaderValue::from_static("application/x-ndjson"));
        self.report.writes += 1;
        let resp = match self.client.send::<()>(Method::POST, "/_bulk", headers, None, Some(body), None).await {
            Ok(r) => r,
            Err(e) => return Attempt::Retry(SinkError::Aws(format!("cannot reach OpenSearch at {}: {e}", self.url))),
        };
        let status = resp.status_code().as_u16();
        if let Some(msg) = explain_status(status, &self.url) {
            return Attempt::Fail(SinkError::Aws(msg));
        }
        let text = resp.text().await.unwrap_or_default();
        if !(200..300).contains(&status) {
            let e = SinkError::Aws(format!("OpenSearch _bulk into `{}` answered {status}: {text}", self.index));
            return if retryable_status(status) { Attempt::Retry(e) } else { Attempt::Fail(e) };
        }
        match serde_json::from_str::<BulkResponse>(&text) {
            Ok(parsed) => Attempt::Done(parsed.items),
            Err(e) => Attempt::Fail(SinkError::Aws(format!("OpenSearch _bulk answer is not a bulk response ({e})"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_ignore_the_newline() {
        assert_eq!(doc_id(b"{\"a\":1}"), doc_id(b"{\"a\":1}\n"));
        assert_ne!(doc_id(b"{\"a\":1}"), doc_id(b"{\"a\":2}"));
        assert_eq!(doc_id(b""), "cbf29ce484222325".to_owned() + &format!("{:016x}", 0x6c62_272e_07bb_0142u64));
        assert_eq!(doc_id(b"x").len(), 32);
    }

    fn entry(id: &str) -> Entry {
        Entry { id: id.into(), doc: format!("{{\"d\":\"{id}\"}}").into_bytes(), record: id.as_bytes().to_vec() }
    }

    #[test]
    fn answers_sort_entries_into_indexed_throttled_and_refused() {
        let items: Vec<HashMap<String, BulkItem>> = serde_json::from_str::<BulkResponse>(
            r#"{"items":[{"index":{"status":201}},{"index":{"status":429,"error":{"type":"es_rejected_execution_exception","reason":"queue full"}}},{"index":{"status":400,"error":{"type":"mapper_parsing_exception","reason":"bad"}}},{"index":{"status":200}}]}"#,
        )
        .unwrap()
        .items;
        let settled = settle(items, vec![entry("a"), entry("b"), entry("c"), entry("d")]);
        assert_eq!(settled.indexed, [entry("a"), entry("d")]);
        assert_eq!(
            settled.throttled,
            [(entry("b"), "document b refused with 429: es_rejected_execution_exception: queue full".to_owned())]
        );
        assert_eq!(
            settled.refused,
            [(entry("c"), "document c refused with 400: mapper_parsing_exception: bad".to_owned())]
        );
    }
}
