//! Where simulated (or replayed) records go: stdout, local files, S3 objects, a Firehose stream.
//!
//! Every sink takes [`Batch`]es of newline-terminated records and reports exactly what it wrote
//! and what it could not deliver.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::{DateTime, Datelike, Timelike, Utc};
use flate2::Compression;
use flate2::write::GzEncoder;
use wafwatch_transformer::reingest::{BatchSender, DEFAULT_RETRY, PutReport, RetryPolicy, SdkSender, batches, put_all};

use crate::sim::Batch;
use wafwatch_aws::{AwsArgs, explain};

/// A sink named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkSpec {
    /// `stdout` or `-`.
    Stdout,
    /// `file:PATH`: one file, or, when PATH is a directory (or ends with `/`), generated names in it.
    File(PathBuf),
    /// `s3://BUCKET/PREFIX`.
    S3 {
        /// The bucket.
        bucket: String,
        /// The key prefix (may be empty).
        prefix: String,
    },
    /// `firehose:STREAM`.
    Firehose(String),
    /// `opensearch:INDEX`: `_bulk` into an index (or alias) of a cluster without Firehose.
    OpenSearch(String),
}

impl FromStr for SinkSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "stdout" || s == "-" {
            Ok(SinkSpec::Stdout)
        } else if let Some(p) = s.strip_prefix("file:").filter(|p| !p.is_empty()) {
            Ok(SinkSpec::File(PathBuf::from(p)))
        } else if let Some(rest) = s.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(format!("`{s}` names no bucket: write s3://BUCKET/PREFIX"));
            }
            Ok(SinkSpec::S3 { bucket: bucket.to_owned(), prefix: prefix.trim_matches('/').to_owned() })
        } else if let Some(stream) = s.strip_prefix("firehose:").filter(|p| !p.is_empty()) {
            Ok(SinkSpec::Firehose(stream.to_owned()))
        } else if let Some(index) = s.strip_prefix("opensearch:").filter(|p| !p.is_empty()) {
            Ok(SinkSpec::OpenSearch(index.to_owned()))
        } else {
            Err(format!(
                "`{s}` is not a sink: use stdout, file:PATH, s3://BUCKET/PREFIX, firehose:STREAM or opensearch:INDEX"
            ))
        }
    }
}

/// How file and S3 sinks cut their output into files or objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// Start a new file after this many records (0: never).
    pub records: u64,
    /// Start a new file after this many bytes, before compression (0: never).
    pub bytes: u64,
    /// Gzip the files.
    pub gzip: bool,
}

/// What one sink did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SinkReport {
    /// The sink, as named on the command line.
    pub name: String,
    /// Records delivered.
    pub records: u64,
    /// Bytes delivered (uncompressed).
    pub bytes: u64,
    /// Files, objects or API calls made.
    pub writes: u64,
    /// Records not delivered.
    pub failed: u64,
    /// The records not delivered, when kept (Firehose).
    pub undelivered: Vec<Vec<u8>>,
    /// The last error.
    pub error: Option<String>,
}

/// Why a sink stopped the run.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// Standard output was closed (`| head`): the run ends quietly.
    #[error("standard output was closed")]
    Closed,
    /// A file could not be written.
    #[error("writing {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The service refused or could not be reached.
    #[error("{0}")]
    Aws(String),
}

/// Accumulates records for one file or object.
struct Pending {
    data: Vec<u8>,
    records: u64,
    first_ts: Option<i64>,
}

impl Pending {
    fn new() -> Self {
        Pending { data: Vec::new(), records: 0, first_ts: None }
    }
}

/// An S3 client (path-style addressing when an endpoint is given, as compatible servers need).
pub fn s3_client(aws: &AwsArgs, conf: &wafwatch_aws::SdkConfig) -> aws_sdk_s3::Client {
    let b = aws_sdk_s3::config::Builder::from(conf).force_path_style(aws.has_endpoint());
    aws_sdk_s3::Client::from_conf(b.build())
}

fn utc(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::with_capacity(data.len() / 6), Compression::new(6));
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

/// An open sink.
pub struct Sink(Kind);

enum Kind {
    /// Standard output.
    Stdout(std::io::BufWriter<std::io::Stdout>, SinkReport),
    /// Files.
    File {
        /// The file or directory.
        path: PathBuf,
        /// Rotation.
        rotation: Rotation,
        /// What is being accumulated.
        pending: Pending,
        /// Files written so far.
        seq: u64,
        /// Report.
        report: SinkReport,
    },
    /// S3 objects.
    S3 {
        /// Client.
        client: aws_sdk_s3::Client,
        /// Bucket.
        bucket: String,
        /// Prefix.
        prefix: String,
        /// Rotation.
        rotation: Rotation,
        /// What is being accumulated.
        pending: Pending,
        /// Objects written so far.
        seq: u64,
        /// Distinguishes runs writing the same hour.
        run_id: String,
        /// Report.
        report: SinkReport,
    },
    /// A Firehose delivery stream.
    Firehose {
        /// PutRecordBatch sender.
        sender: Box<dyn FirehoseSend>,
        /// Stream name.
        stream: String,
        /// Records waiting for a full batch.
        pending: Vec<Vec<u8>>,
        /// Retry policy.
        policy: RetryPolicy,
        /// Report.
        report: SinkReport,
    },
    /// OpenSearch `_bulk`.
    OpenSearch(Box<crate::bulk::BulkSink>),
}

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

/// Files in a directory are named from the first record's time; a single file gets `-0001`... when rotated.
fn file_name(path: &Path, first_ts: i64, seq: u64, gzip: bool, rotating: bool) -> PathBuf {
    let ext = if gzip { ".log.gz" } else { ".log" };
    if path.is_dir() || path.as_os_str().to_string_lossy().ends_with('/') {
        return path.join(format!("wafwatch-{}-{seq:04}{ext}", utc(first_ts).format("%Y%m%dT%H%M%SZ")));
    }
    let mut name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if gzip && !name.ends_with(".gz") {
        name.push_str(".gz");
    }
    if !rotating {
        return path.with_file_name(name);
    }
    let (stem, suffix) = match name.find('.') {
        Some(i) => (&name[..i], &name[i..]),
        None => (name.as_str(), ""),
    };
    path.with_file_name(format!("{stem}-{seq:04}{suffix}"))
}

impl Kind {
    /// Opens a sink; S3 and Firehose sinks check that their bucket or stream is there first, so a
    /// wrong name fails before anything is generated.
    async fn open(
        spec: &SinkSpec,
        rotation: Rotation,
        aws: &AwsArgs,
        conf: Option<&aws_config::SdkConfig>,
    ) -> Result<Kind, SinkError> {
        let name = match spec {
            SinkSpec::Stdout => "stdout".to_owned(),
            SinkSpec::File(p) => format!("file:{}", p.display()),
            SinkSpec::S3 { bucket, prefix } => format!("s3://{bucket}/{prefix}"),
            SinkSpec::Firehose(s) => format!("firehose:{s}"),
            SinkSpec::OpenSearch(i) => format!("opensearch:{i}"),
        };
        let report = SinkReport { name, ..SinkReport::default() };
        Ok(match spec {
            SinkSpec::Stdout => Kind::Stdout(std::io::BufWriter::with_capacity(1 << 20, std::io::stdout()), report),
            SinkSpec::File(path) => {
                if path.as_os_str().to_string_lossy().ends_with('/') {
                    std::fs::create_dir_all(path)
                        .map_err(|source| SinkError::Io { path: path.display().to_string(), source })?;
                }
                Kind::File { path: path.clone(), rotation, pending: Pending::new(), seq: 0, report }
            }
            SinkSpec::S3 { bucket, prefix } => {
                let conf = conf.ok_or_else(|| SinkError::Aws("no AWS configuration".into()))?;
                let client = s3_client(aws, conf);
                client
                    .head_bucket()
                    .bucket(bucket)
                    .send()
                    .await
                    .map_err(|e| SinkError::Aws(explain(&format!("S3 bucket `{bucket}` ({})", aws.describe()), &e)))?;
                let run_id = format!("{:08x}", rand::random::<u32>());
                Kind::S3 {
                    client,
                    bucket: bucket.clone(),
                    prefix: prefix.clone(),
                    rotation,
                    pending: Pending::new(),
                    seq: 0,
                    run_id,
                    report,
                }
            }
            SinkSpec::Firehose(stream) => {
                let conf = conf.ok_or_else(|| SinkError::Aws("no AWS configuration".into()))?;
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
                Kind::firehose(Box::new(Sender(SdkSender::new(client))), stream, DEFAULT_RETRY, report)
            }
            SinkSpec::OpenSearch(_) => {
                return Err(SinkError::Aws("an OpenSearch sink is opened with Sink::opensearch".into()));
            }
        })
    }

    /// A Firehose sink over any sender (tests use a loopback stand-in).
    fn firehose(sender: Box<dyn FirehoseSend>, stream: &str, policy: RetryPolicy, report: SinkReport) -> Kind {
        let report = SinkReport {
            name: if report.name.is_empty() { format!("firehose:{stream}") } else { report.name },
            ..report
        };
        Kind::Firehose { sender, stream: stream.to_owned(), pending: Vec::new(), policy, report }
    }

    /// This sink's report so far.
    fn report(&self) -> &SinkReport {
        match self {
            Kind::Stdout(_, r) => r,
            Kind::File { report, .. } | Kind::S3 { report, .. } | Kind::Firehose { report, .. } => report,
            Kind::OpenSearch(b) => b.report(),
        }
    }

    /// Writes a batch of records.
    async fn write(&mut self, batch: &Batch) -> Result<(), SinkError> {
        match self {
            Kind::Stdout(out, report) => {
                out.write_all(&batch.data).map_err(|e| stdout_error(&e))?;
                report.records += batch.len() as u64;
                report.bytes += batch.data.len() as u64;
                Ok(())
            }
            Kind::File { .. } | Kind::S3 { .. } => {
                let is_s3 = matches!(self, Kind::S3 { .. });
                for i in 0..batch.len() {
                    let (rotation, pending) = match self {
                        Kind::File { rotation, pending, .. } | Kind::S3 { rotation, pending, .. } => {
                            (*rotation, pending)
                        }
                        _ => unreachable_sink(),
                    };
                    let ts = batch.timestamps[i];
                    // S3 objects never span an hour, so each sits in its date partition.
                    let new_hour = is_s3
                        && pending.first_ts.is_some_and(|f| {
                            utc(f).date_naive() != utc(ts).date_naive() || utc(f).hour() != utc(ts).hour()
                        });
                    let full = (rotation.records > 0 && pending.records >= rotation.records)
                        || (rotation.bytes > 0 && pending.data.len() as u64 >= rotation.bytes);
                    if pending.records > 0 && (full || new_hour) {
                        self.rotate().await?;
                    }
                    let pending = match self {
                        Kind::File { pending, .. } | Kind::S3 { pending, .. } => pending,
                        _ => unreachable_sink(),
                    };
                    pending.first_ts.get_or_insert(ts);
                    pending.data.extend_from_slice(batch.line(i));
                    pending.records += 1;
                }
                Ok(())
            }
            Kind::OpenSearch(b) => b.write(batch).await,
            Kind::Firehose { pending, .. } => {
                pending.extend(batch.lines().map(<[u8]>::to_vec));
                let sizes: Vec<usize> = pending.iter().map(Vec::len).collect();
                let full = batches(&sizes);
                if full.len() > 1 {
                    // Send every full batch; keep the last, partial one for more records.
                    let keep_from = full.last().map_or(0, |r| r.start);
                    self.send_firehose(keep_from).await;
                }
                Ok(())
            }
        }
    }

    async fn send_firehose(&mut self, upto: usize) {
        if let Kind::Firehose { sender, stream, pending, policy, report } = self {
            let rest = pending.split_off(upto);
            let now = std::mem::replace(pending, rest);
            if now.is_empty() {
                return;
            }
            let PutReport { failed, last_error: error, calls } = sender.put(stream, &now, *policy).await;
            report.writes += calls as u64;
            report.records += (now.len() - failed.len()) as u64;
            report.bytes += now.iter().map(|r| r.len() as u64).sum::<u64>();
            report.failed += failed.len() as u64;
            if !failed.is_empty() {
                tracing::warn!(stream = %stream, failed = failed.len(), error = error.as_deref().unwrap_or(""), "Records not delivered after retries.");
                report.error = error;
                report.undelivered.extend(failed.iter().map(|&i| now[i].clone()));
            }
        }
    }

    /// Closes the current file or object and starts the next.
    async fn rotate(&mut self) -> Result<(), SinkError> {
        match self {
            Kind::File { path, rotation, pending, seq, report } => {
                let Some(first) = pending.first_ts else { return Ok(()) };
                *seq += 1;
                let rotating = rotation.records > 0 || rotation.bytes > 0 || *seq > 1;
                let target = file_name(path, first, *seq, rotation.gzip, rotating);
                let raw_len = pending.data.len() as u64;
                let body = if rotation.gzip { gzip(&pending.data) } else { std::mem::take(&mut pending.data) };
                std::fs::write(&target, body)
                    .map_err(|source| SinkError::Io { path: target.display().to_string(), source })?;
                report.records += pending.records;
                report.bytes += raw_len;
                report.writes += 1;
                *pending = Pending::new();
                Ok(())
            }
            Kind::S3 { client, bucket, prefix, rotation, pending, seq, run_id, report } => {
                let Some(first) = pending.first_ts else { return Ok(()) };
                *seq += 1;
                let t = utc(first);
                let key = format!(
                    "{}{:04}/{:02}/{:02}/{:02}/wafwatch_{}_{run_id}_{:04}.log{}",
                    if prefix.is_empty() { String::new() } else { format!("{prefix}/") },
                    t.year(),
                    t.month(),
                    t.day(),
                    t.hour(),
                    t.format("%Y%m%dT%H%M%SZ"),
                    *seq,
                    if rotation.gzip { ".gz" } else { "" }
                );
                let (body, content_type) = if rotation.gzip {
                    (gzip(&pending.data), "application/gzip")
                } else {
                    (pending.data.clone(), "application/x-ndjson")
                };
                client
                    .put_object()
                    .bucket(bucket.as_str())
                    .key(&key)
                    .content_type(content_type)
                    .body(body.into())
                    .send()
                    .await
                    .map_err(|e| SinkError::Aws(explain(&format!("S3 object s3://{bucket}/{key}"), &e)))?;
                report.records += pending.records;
                report.bytes += pending.data.len() as u64;
                report.writes += 1;
                *pending = Pending::new();
                Ok(())
            }
            Kind::Firehose { pending, .. } => {
                let n = pending.len();
                self.send_firehose(n).await;
                Ok(())
            }
            Kind::Stdout(out, _) => out.flush().map_err(|e| stdout_error(&e)),
            Kind::OpenSearch(b) => b.flush().await,
        }
    }

    /// Writes whatever is pending and returns the report.
    async fn finish(&mut self) -> Result<SinkReport, SinkError> {
        self.rotate().await?;
        Ok(self.report().clone())
    }
}

impl Sink {
    /// Opens a sink; S3 and Firehose sinks check that their bucket or stream is there first, so a
    /// wrong name fails before anything is generated.
    pub async fn open(
        spec: &SinkSpec,
        rotation: Rotation,
        aws: &AwsArgs,
        conf: Option<&aws_config::SdkConfig>,
    ) -> Result<Sink, SinkError> {
        Kind::open(spec, rotation, aws, conf).await.map(Sink)
    }

    /// An OpenSearch `_bulk` sink.
    pub async fn opensearch(
        index: &str,
        connection: &wafwatch_opensearch::connection::ConnectionArgs,
        conf: Option<&aws_config::SdkConfig>,
        transformer: wafwatch_transformer::Transformer,
    ) -> Result<Sink, SinkError> {
        crate::bulk::BulkSink::open(index, connection, conf, transformer)
            .await
            .map(|b| Sink(Kind::OpenSearch(Box::new(b))))
    }

    /// A Firehose sink over any sender (tests use a loopback stand-in for AWS).
    pub fn firehose(sender: Box<dyn FirehoseSend>, stream: &str, policy: RetryPolicy) -> Sink {
        Sink(Kind::firehose(sender, stream, policy, SinkReport::default()))
    }

    /// This sink's report so far.
    pub fn report(&self) -> &SinkReport {
        self.0.report()
    }

    /// Writes a batch of records.
    pub async fn write(&mut self, batch: &Batch) -> Result<(), SinkError> {
        self.0.write(batch).await
    }

    /// Closes the current file or object (sends what a Firehose sink holds) and starts the next.
    pub async fn rotate(&mut self) -> Result<(), SinkError> {
        self.0.rotate().await
    }

    /// Writes whatever is pending and returns the report.
    pub async fn finish(&mut self) -> Result<SinkReport, SinkError> {
        self.0.finish().await
    }
}

fn stdout_error(e: &std::io::Error) -> SinkError {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        SinkError::Closed
    } else {
        SinkError::Io { path: "standard output".into(), source: std::io::Error::new(e.kind(), e.to_string()) }
    }
}

#[allow(clippy::panic)] // the callers match on the same variants just above
fn unreachable_sink() -> ! {
    panic!("sink variant changed under a write")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sink_specs_parse_and_explain() {
        assert_eq!("-".parse::<SinkSpec>(), Ok(SinkSpec::Stdout));
        assert_eq!(
            "s3://b/raw/waf/".parse::<SinkSpec>(),
            Ok(SinkSpec::S3 { bucket: "b".into(), prefix: "raw/waf".into() })
        );
        assert_eq!("s3://b".parse::<SinkSpec>(), Ok(SinkSpec::S3 { bucket: "b".into(), prefix: String::new() }));
        assert_eq!("firehose:aws-waf-logs-x".parse::<SinkSpec>(), Ok(SinkSpec::Firehose("aws-waf-logs-x".into())));
        assert!("kafka:t".parse::<SinkSpec>().unwrap_err().contains("use stdout, file:PATH"));
        assert!("s3:///x".parse::<SinkSpec>().is_err());
    }

    #[test]
    fn rotated_file_names() {
        let p = Path::new("/tmp/out.ndjson");
        assert_eq!(file_name(p, 0, 1, false, false), Path::new("/tmp/out.ndjson"));
        assert_eq!(file_name(p, 0, 2, false, true), Path::new("/tmp/out-0002.ndjson"));
        assert_eq!(file_name(p, 0, 2, true, true), Path::new("/tmp/out-0002.ndjson.gz"));
        assert_eq!(file_name(p, 0, 1, true, false), Path::new("/tmp/out.ndjson.gz"));
        assert_eq!(
            file_name(Path::new("/tmp/d/"), 0, 3, true, true),
            Path::new("/tmp/d/wafwatch-19700101T000000Z-0003.log.gz")
        );
    }
}
