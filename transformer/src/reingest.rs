//! Putting records back into a delivery stream with PutRecordBatch.
//!
//! Used for the records one invocation cannot answer with a document: CloudWatch Logs records
//! holding several events bound for OpenSearch, and records past the response budget. The batching
//! and retry logic ([`put_all`]) is separate from the AWS call ([`BatchSender`]) so it is tested
//! without a network and shared with the simulator's Firehose sink.

use std::future::Future;
use std::time::Duration;

use aws_sdk_firehose::primitives::Blob;
use aws_sdk_firehose::types::Record;
use tokio::sync::OnceCell;
use wafwatch_retry::Backoff;
pub use wafwatch_retry::RetryPolicy;

use crate::limits::{MAX_RECORD_BYTES, PUT_RECORD_BATCH_MAX_BYTES, PUT_RECORD_BATCH_MAX_RECORDS};

/// What became of a set of records handed to [`Reingest::put_records`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PutReport {
    /// Indices (into the records given) that were not delivered after every retry.
    pub failed: Vec<usize>,
    /// The last error seen, for the log line.
    pub last_error: Option<String>,
    /// How many PutRecordBatch calls were made.
    pub calls: usize,
}

/// Something that can put records into a delivery stream.
pub trait Reingest: Sync {
    /// Puts `records` into `stream`, retrying failures; reports which were not delivered.
    fn put_records(&self, stream: &str, records: &[Vec<u8>]) -> impl Future<Output = PutReport> + Send;
}

/// The answer to one PutRecordBatch call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchAnswer {
    /// The call succeeded; each entry is `None` when delivered, or the entry's error code.
    Entries(Vec<Option<String>>),
    /// The whole call failed (throttling, a network error...); every entry is retried.
    Failed(String),
    /// The call can never succeed (no such stream, access denied): stop retrying.
    Fatal(String),
}

/// One PutRecordBatch call.
pub trait BatchSender: Sync {
    /// Sends one batch (already within the service limits).
    fn send(&self, stream: &str, batch: &[&[u8]]) -> impl Future<Output = BatchAnswer> + Send;
}

/// How hard [`put_all`] tries by default: 8 attempts per batch, waits from 50 ms doubling to at most
/// 2 s, with full jitter: at most about 6 s of waiting per batch.
pub const DEFAULT_RETRY: RetryPolicy = RetryPolicy::new(8, Duration::from_millis(50), Duration::from_secs(2));

/// Splits `sizes` into consecutive batches within PutRecordBatch's limits (500 records, 4 MiB).
///
/// ```
/// use wafwatch_transformer::reingest::batches;
/// let sizes = vec![1_000_000; 10]; // ten records of ~1 MB
/// let b = batches(&sizes);
/// assert_eq!(b, vec![0..4, 4..8, 8..10]);
/// ```
pub fn batches(sizes: &[usize]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, &size) in sizes.iter().enumerate() {
        let full = i - start == PUT_RECORD_BATCH_MAX_RECORDS || bytes + size > PUT_RECORD_BATCH_MAX_BYTES;
        if full && i > start {
            out.push(start..i);
            start = i;
            bytes = 0;
        }
        bytes += size;
    }
    if start < sizes.len() {
        out.push(start..sizes.len());
    }
    out
}

/// Puts every record, in batches within the service limits, resending only failed entries with
/// exponential backoff and full jitter, up to `policy.attempts` per batch.
///
/// Records over Firehose's 1,000 KiB limit are reported failed without being sent.
pub async fn put_all<S: BatchSender>(sender: &S, stream: &str, records: &[Vec<u8>], policy: RetryPolicy) -> PutReport {
    let mut report = PutReport::default();
    let mut sendable = Vec::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        if r.len() > MAX_RECORD_BYTES {
            report.failed.push(i);
            report.last_error = Some(format!("record {i} is over Firehose's {MAX_RECORD_BYTES}-byte limit"));
        } else {
            sendable.push(i);
        }
    }
    let sizes: Vec<usize> = sendable.iter().map(|&i| records[i].len()).collect();
    for range in batches(&sizes) {
        let mut pending: Vec<usize> = sendable[range].to_vec();
        let mut backoff = Backoff::new(policy);
        while !pending.is_empty() {
            let batch: Vec<&[u8]> = pending.iter().map(|&i| records[i].as_slice()).collect();
            report.calls += 1;
            match sender.send(stream, &batch).await {
                BatchAnswer::Entries(entries) => {
                    let mut still = Vec::new();
                    for (k, &i) in pending.iter().enumerate() {
                        match entries.get(k) {
                            Some(None) => {}
                            Some(Some(code)) => {
                                report.last_error = Some(code.clone());
                                still.push(i);
                            }
                            None => {
                                report.last_error = Some("PutRecordBatch answered fewer entries than sent".into());
                                still.push(i);
                            }
                        }
                    }
                    pending = still;
                }
                BatchAnswer::Failed(e) => report.last_error = Some(e),
                BatchAnswer::Fatal(e) => {
                    report.last_error = Some(e);
                    break;
                }
            }
            if pending.is_empty() || !backoff.wait().await {
                break;
            }
        }
        report.failed.extend(pending);
    }
    report.failed.sort_unstable();
    report
}

/// PutRecordBatch through the AWS SDK.
#[derive(Debug, Clone)]
pub struct SdkSender {
    client: aws_sdk_firehose::Client,
}

impl SdkSender {
    /// Wraps a Firehose client.
    pub fn new(client: aws_sdk_firehose::Client) -> Self {
        SdkSender { client }
    }
}

impl BatchSender for SdkSender {
    async fn send(&self, stream: &str, batch: &[&[u8]]) -> BatchAnswer {
        let mut records = Vec::with_capacity(batch.len());
        for data in batch {
            match Record::builder().data(Blob::new(*data)).build() {
                Ok(r) => records.push(r),
                Err(e) => return BatchAnswer::Fatal(format!("building a Firehose record: {e}")),
            }
        }
        match self.client.put_record_batch().delivery_stream_name(stream).set_records(Some(records)).send().await {
            Ok(out) => BatchAnswer::Entries(
                out.request_responses().iter().map(|e| e.error_code().map(str::to_owned)).collect(),
            ),
            Err(e) => {
                use aws_sdk_firehose::operation::put_record_batch::PutRecordBatchError as E;
                let text = aws_sdk_firehose::error::DisplayErrorContext(&e).to_string();
                match e.as_service_error() {
                    Some(E::ResourceNotFoundException(_)) => BatchAnswer::Fatal(format!(
                        "delivery stream `{stream}` does not exist in this account and region: {text}"
                    )),
                    Some(
                        E::InvalidArgumentException(_)
                        | E::InvalidKmsResourceException(_)
                        | E::InvalidSourceException(_),
                    ) => BatchAnswer::Fatal(format!("delivery stream `{stream}` refused the batch: {text}")),
                    _ if text.contains("AccessDenied") => BatchAnswer::Fatal(format!(
                        "not allowed to put records into `{stream}`: grant firehose:PutRecordBatch on it. {text}"
                    )),
                    _ => BatchAnswer::Failed(format!("PutRecordBatch to `{stream}` failed: {text}")),
                }
            }
        }
    }
}

/// Re-ingest through the AWS SDK, with the client built on first use so that a cold start that
/// never needs it does not pay for loading the AWS configuration.
#[derive(Debug)]
pub struct FirehoseReingest {
    sender: OnceCell<SdkSender>,
    policy: RetryPolicy,
}

impl FirehoseReingest {
    /// Builds the client lazily from the Lambda's AWS configuration (its role and region;
    /// `AWS_ENDPOINT_URL_FIREHOSE` overrides the endpoint).
    pub fn lazy() -> Self {
        FirehoseReingest { sender: OnceCell::new(), policy: DEFAULT_RETRY }
    }

    /// Uses the given client (tests point it at a loopback endpoint).
    pub fn with_client(client: aws_sdk_firehose::Client, policy: RetryPolicy) -> Self {
        FirehoseReingest { sender: OnceCell::new_with(Some(SdkSender::new(client))), policy }
    }
}

impl Reingest for FirehoseReingest {
    async fn put_records(&self, stream: &str, records: &[Vec<u8>]) -> PutReport {
        let sender = self
            .sender
            .get_or_init(|| async {
                let conf = wafwatch_aws::AwsArgs::lambda().sdk_config().await;
                SdkSender::new(aws_sdk_firehose::Client::new(&conf))
            })
            .await;
        put_all(sender, stream, records, self.policy).await
    }
}

/// An in-memory stand-in that records what it was given; for tests and local runs.
#[derive(Debug, Default)]
pub struct MemoryReingest {
    /// Every record put, with its stream.
    pub puts: std::sync::Mutex<Vec<(String, Vec<u8>)>>,
    /// When set, every put fails with this message.
    pub fail_with: Option<String>,
}

impl Reingest for MemoryReingest {
    async fn put_records(&self, stream: &str, records: &[Vec<u8>]) -> PutReport {
        if let Some(e) = &self.fail_with {
            return PutReport { failed: (0..records.len()).collect(), last_error: Some(e.clone()), calls: 1 };
        }
        if let Ok(mut puts) = self.puts.lock() {
            puts.extend(records.iter().map(|r| (stream.to_owned(), r.clone())));
        }
        PutReport {
            failed: Vec::new(),
            last_error: None,
            calls: batches(&records.iter().map(Vec::len).collect::<Vec<_>>()).len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::Mutex;

    /// Fails the entries whose first byte is odd, on their first `fail_times` attempts.
    struct Flaky {
        fail_times: usize,
        seen: Mutex<std::collections::HashMap<Vec<u8>, usize>>,
        calls: Mutex<Vec<usize>>,
    }

    impl BatchSender for Flaky {
        async fn send(&self, _stream: &str, batch: &[&[u8]]) -> BatchAnswer {
            self.calls.lock().unwrap().push(batch.len());
            let mut seen = self.seen.lock().unwrap();
            BatchAnswer::Entries(
                batch
                    .iter()
                    .map(|r| {
                        let n = seen.entry(r.to_vec()).or_default();
                        *n += 1;
                        (r[0] % 2 == 1 && *n <= self.fail_times).then(|| "ServiceUnavailableException".to_owned())
                    })
                    .collect(),
            )
        }
    }

    fn fast() -> RetryPolicy {
        RetryPolicy::new(4, Duration::from_micros(10), Duration::from_micros(50))
    }

    #[tokio::test]
    async fn resends_only_failed_entries_until_they_succeed() {
        let sender = Flaky { fail_times: 2, seen: Default::default(), calls: Default::default() };
        let records: Vec<Vec<u8>> = (0u8..10).map(|i| vec![i]).collect();
        let report = put_all(&sender, "s", &records, fast()).await;
        assert_eq!(report.failed, Vec::<usize>::new());
        assert_eq!(*sender.calls.lock().unwrap(), vec![10, 5, 5]);
    }

    #[tokio::test]
    async fn reports_exactly_what_was_not_delivered() {
        let sender = Flaky { fail_times: 100, seen: Default::default(), calls: Default::default() };
        let records: Vec<Vec<u8>> = (0u8..6).map(|i| vec![i]).collect();
        let report = put_all(&sender, "s", &records, fast()).await;
        assert_eq!(report.failed, vec![1, 3, 5]);
        assert_eq!(report.calls, 4);
        assert_eq!(report.last_error.as_deref(), Some("ServiceUnavailableException"));
    }

    #[tokio::test]
    async fn fatal_errors_stop_at_once() {
        struct Gone;
        impl BatchSender for Gone {
            async fn send(&self, _: &str, _: &[&[u8]]) -> BatchAnswer {
                BatchAnswer::Fatal("no such stream".into())
            }
        }
        let report = put_all(&Gone, "s", &[vec![1], vec![2]], fast()).await;
        assert_eq!(report.failed, vec![0, 1]);
        assert_eq!(report.calls, 1);
    }

    proptest! {
        #[test]
        fn batches_respect_the_limits_and_cover_everything(sizes in proptest::collection::vec(1usize..=MAX_RECORD_BYTES, 0..1200)) {
            let b = batches(&sizes);
            let mut next = 0;
            for r in &b {
                prop_assert_eq!(r.start, next);
                prop_assert!(r.len() <= PUT_RECORD_BATCH_MAX_RECORDS);
                prop_assert!(!r.is_empty());
                prop_assert!(sizes[r.clone()].iter().sum::<usize>() <= PUT_RECORD_BATCH_MAX_BYTES);
                next = r.end;
            }
            prop_assert_eq!(next, sizes.len());
        }

        #[test]
        fn small_records_fill_batches_of_500(n in 0usize..2000) {
            let b = batches(&vec![100; n]);
            prop_assert_eq!(b.len(), n.div_ceil(500));
        }
    }
}
