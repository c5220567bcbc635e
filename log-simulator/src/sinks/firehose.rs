//! The Firehose sink: PutRecordBatch in batches within the service limits (500 records, 4 MiB),
//! resending only the entries that failed, through the transformer's re-ingest ([`put_all`]),
//! so both share one batching and retry logic. Records still failing after every retry are
//! reported one by one and kept for `--undelivered`.

use wafwatch_aws::{AwsArgs, SdkConfig, explain};
use wafwatch_retry::RetryPolicy;
use wafwatch_transformer::reingest::{BatchSender, DEFAULT_RETRY, PutReport, SdkSender, batches, put_all};

use crate::batch::Batch;
use crate::sinks::report::{SinkError, SinkReport};

/// PutRecordBatch, object-safe (so a test can stand in for AWS).
pub trait FirehoseSend: Send + Sync {
    /// Puts all records, retrying failures; returns the indices not delivered and the last error.
    fn put<'a>(&'a self, stream: &'a str, records: &'a [Vec<u8>], policy: RetryPolicy) -> PutFuture<'a>;
}

/// The future [`FirehoseSend::put`] returns.
pub type PutFuture<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = PutReport> + Send + 'a>>;

/// [`FirehoseSend`] over any [`BatchSender`].
pub struct Sender<S>(pub S);

impl<S: BatchSender + Send> FirehoseSend for Sender<S> {
    fn put<'a>(&'a self, stream: &'a str, records: &'a [Vec<u8>], policy: RetryPolicy) -> PutFuture<'a> {
        Box::pin(put_all(&self.0, stream, records, policy))
    }
}

/// A delivery stream.
pub(crate) struct FirehoseSink {
    sender: Box<dyn FirehoseSend>,
    stream: String,
    /// Records waiting for a full batch.
    pending: Vec<Vec<u8>>,
    policy: RetryPolicy,
    report: SinkReport,
}

impl FirehoseSink {
    /// Checks that the stream is there (so a wrong name fails before anything is generated) and
    /// puts into it through the AWS SDK.
    pub(crate) async fn open(
        aws: &AwsArgs,
        conf: &SdkConfig,
        stream: &str,
        report: SinkReport,
    ) -> Result<FirehoseSink, SinkError> {
        let client = aws_sdk_firehose::Client::new(conf);
        match client.describe_delivery_stream().delivery_stream_name(stream).send().await {
            Ok(_) => {}
            // The service answered 200 with a description this SDK version cannot fully
            // read (some compatible servers leave out fields): the stream exists.
            Err(aws_sdk_firehose::error::SdkError::ResponseError(r)) if r.raw().status().is_success() => {
                tracing::debug!(stream = %stream, "Stream exists; its description was not fully readable.");
            }
            Err(e) => {
                return Err(SinkError::Aws(explain(
                    &format!("Firehose delivery stream `{stream}` ({})", aws.describe()),
                    &e,
                )));
            }
        }
        Ok(FirehoseSink::new(Box::new(Sender(SdkSender::new(client))), stream, DEFAULT_RETRY, report))
    }

    /// A stream reached through any sender.
    pub(crate) fn new(sender: Box<dyn FirehoseSend>, stream: &str, policy: RetryPolicy, report: SinkReport) -> Self {
        FirehoseSink { sender, stream: stream.to_owned(), pending: Vec::new(), policy, report }
    }

    /// The report so far.
    pub(crate) fn report(&self) -> &SinkReport {
        &self.report
    }

    /// Adds a batch, sending every full PutRecordBatch and keeping the last, partial one for more
    /// records.
    pub(crate) async fn write(&mut self, batch: &Batch) {
        self.pending.extend(batch.lines().map(<[u8]>::to_vec));
        let sizes: Vec<usize> = self.pending.iter().map(Vec::len).collect();
        let full = batches(&sizes);
        if full.len() > 1 {
            let keep_from = full.last().map_or(0, |r| r.start);
            self.send(keep_from).await;
        }
    }

    /// Sends everything held.
    pub(crate) async fn flush(&mut self) {
        self.send(self.pending.len()).await;
    }

    /// Sends the first `upto` records held.
    async fn send(&mut self, upto: usize) {
        let rest = self.pending.split_off(upto);
        let now = std::mem::replace(&mut self.pending, rest);
        if now.is_empty() {
            return;
        }
        let PutReport { failed, last_error: error, calls } = self.sender.put(&self.stream, &now, self.policy).await;
        let report = &mut self.report;
        report.writes += calls as u64;
        report.records += (now.len() - failed.len()) as u64;
        report.bytes += now.iter().map(|r| r.len() as u64).sum::<u64>();
        report.failed += failed.len() as u64;
        if !failed.is_empty() {
            tracing::warn!(stream = %self.stream, failed = failed.len(), error = error.as_deref().unwrap_or(""), "Records not delivered after retries.");
            report.error = error;
            report.undelivered.extend(failed.iter().map(|&i| now[i].clone()));
        }
    }
}
