//! The OpenSearch `_bulk` sink, for self-managed clusters without Firehose.
//!
//! Each record is encoded by the transformer library (the same record function the Lambda runs)
//! and indexed under a deterministic id derived from the record's bytes, so replaying the same
//! records overwrites instead of double counting. Records that are already encoded (replayed from
//! Firehose's OpenSearch-failed output) are indexed as they are. Items the cluster rejects are
//! reported one by one; items refused with 429 are retried with backoff.

use std::time::Duration;

use wafwatch_opensearch::connection::{
    Client as OpenSearch, ConnectionArgs, HeaderMap, HeaderName, HeaderValue, Method, explain_status,
};
use wafwatch_transformer::{Disposition, RecordError, Transformer};

use crate::sim::Batch;
use crate::sinks::{SinkError, SinkReport};

/// Flush at this many documents...
const MAX_DOCS: usize = 5_000;
/// ...or this many bytes of request body.
const MAX_BODY: usize = 5 << 20;
/// Attempts for items refused with 429.
const MAX_ATTEMPTS: u32 = 5;

/// A stable 128-bit FNV-1a of the record, as 32 hex digits: the same record always gets the same id.
pub fn doc_id(record: &[u8]) -> String {
    let record = record.strip_suffix(b"\n").unwrap_or(record);
    let mut a: u64 = 0xcbf2_9ce4_8422_2325;
    let mut b: u64 = 0x6c62_272e_07bb_0142;
    for &x in record {
        a = (a ^ u64::from(x)).wrapping_mul(0x0000_0100_0000_01B3);
        b = (b ^ u64::from(x)).wrapping_mul(0x0000_0100_0000_01B3).rotate_left(5);
    }
    format!("{a:016x}{b:016x}")
}

/// The `_bulk` sink.
pub struct BulkSink {
    client: OpenSearch,
    index: String,
    url: String,
    transformer: Transformer,
    /// (id, document, original record) waiting for the next request.
    pending: Vec<(String, Vec<u8>, Vec<u8>)>,
    body_len: usize,
    report: SinkReport,
}

#[derive(serde::Deserialize)]
struct BulkResponse {
    #[serde(default)]
    items: Vec<std::collections::HashMap<String, BulkItem>>,
}

#[derive(serde::Deserialize)]
struct BulkItem {
    status: u16,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

impl BulkSink {
    /// Connects and checks that the cluster answers.
    pub async fn open(
        index: &str,
        connection: &ConnectionArgs,
        conf: Option<&aws_config::SdkConfig>,
        transformer: Transformer,
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
        let report = SinkReport { name: format!("opensearch:{index}"), ..SinkReport::default() };
        Ok(BulkSink { client, index: index.to_owned(), url, transformer, pending: Vec::new(), body_len: 0, report })
    }

    /// The report so far.
    pub fn report(&self) -> &SinkReport {
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
    pub async fn write(&mut self, batch: &Batch) -> Result<(), SinkError> {
        let mut doc = Vec::new();
        for (i, line) in batch.lines().enumerate() {
            doc.clear();
            let arrival = batch.timestamps[i];
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
        self.pending.push((id, doc, record.to_vec()));
    }

    /// Sends what is queued.
    pub async fn flush(&mut self) -> Result<(), SinkError> {
        let mut todo = std::mem::take(&mut self.pending);
        self.body_len = 0;
        let mut attempt = 0;
        while !todo.is_empty() {
            attempt += 1;
            let mut body = Vec::with_capacity(todo.iter().map(|t| t.1.len() + 100).sum());
            for (id, doc, _) in &todo {
                body.extend_from_slice(
                    format!(
                        "{{\"index\":{{\"_index\":{},\"_id\":\"{id}\"}}}}\n",
                        serde_json::Value::from(self.index.as_str())
                    )
                    .as_bytes(),
                );
                body.extend_from_slice(doc);
                body.push(b'\n');
            }
            let mut headers = HeaderMap::new();
            headers.insert(HeaderName::from_static("content-type"), HeaderValue::from_static("application/x-ndjson"));
            self.report.writes += 1;
            let sent = self.client.send::<()>(Method::POST, "/_bulk", headers, None, Some(body), None).await;
            let resp = match sent {
                Ok(r) => r,
                Err(e) if attempt < MAX_ATTEMPTS => {
                    tracing::warn!(error = %e, "OpenSearch _bulk failed; retrying.");
                    tokio::time::sleep(backoff(attempt)).await;
                    continue;
                }
                Err(e) => return Err(SinkError::Aws(format!("cannot reach OpenSearch at {}: {e}", self.url))),
            };
            let status = resp.status_code().as_u16();
            if let Some(msg) = explain_status(status, &self.url) {
                return Err(SinkError::Aws(msg));
            }
            if matches!(status, 429 | 502 | 503 | 504) && attempt < MAX_ATTEMPTS {
                tokio::time::sleep(backoff(attempt)).await;
                continue;
            }
            let text = resp.text().await.unwrap_or_default();
            if !(200..300).contains(&status) {
                return Err(SinkError::Aws(format!(
                    "OpenSearch _bulk into `{}` answered {status}: {text}",
                    self.index
                )));
            }
            let parsed: BulkResponse = serde_json::from_str(&text)
                .map_err(|e| SinkError::Aws(format!("OpenSearch _bulk answer is not a bulk response ({e})")))?;
            let mut retry = Vec::new();
            for (item, entry) in parsed.items.iter().zip(std::mem::take(&mut todo)) {
                let Some(result) = item.values().next() else { continue };
                match result.status {
                    200..=299 => {
                        self.report.records += 1;
                        self.report.bytes += entry.1.len() as u64;
                    }
                    429 if attempt < MAX_ATTEMPTS => retry.push(entry),
                    s => {
                        let reason = result
                            .error
                            .as_ref()
                            .map(|e| {
                                format!(
                                    "{}: {}",
                                    e["type"].as_str().unwrap_or("error"),
                                    e["reason"].as_str().unwrap_or("")
                                )
                            })
                            .unwrap_or_default();
                        self.fail(&entry.2, format!("document {} refused with {s}: {reason}", entry.0));
                    }
                }
            }
            if !retry.is_empty() {
                tokio::time::sleep(backoff(attempt)).await;
            }
            todo = retry;
        }
        Ok(())
    }
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(100u64 << attempt.min(6))
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
}
