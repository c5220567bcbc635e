//! Where simulated (or replayed) records go: stdout, local files, S3 objects, a Firehose stream,
//! an OpenSearch index.
//!
//! Every sink takes [`Batch`]es of newline-terminated records and reports exactly what it wrote
//! and what it could not deliver ([`SinkReport`]). A sink is named on the command line
//! ([`SinkSpec`]) and opened as a [`Sink`], which dispatches to one file per sink: `stdout`,
//! `file` (rotation, gzip, and the rolling writer S3 shares), `s3`, `firehose` (PutRecordBatch,
//! resending failed entries) and `opensearch` (`_bulk`). The types every sink file uses live in
//! `report`, so that no sink file imports this one.

mod file;
mod firehose;
mod opensearch;
mod report;
mod s3;
mod stdout;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use wafwatch_aws::{AwsArgs, SdkConfig};
use wafwatch_retry::RetryPolicy;

use crate::batch::Batch;
pub use file::Rotation;
use file::{LocalFiles, Rolling};
use firehose::FirehoseSink;
pub use firehose::{FirehoseSend, PutFuture, Sender};
use opensearch::BulkSink;
pub use opensearch::doc_id;
pub use report::{SinkError, SinkReport};
use s3::S3Objects;
pub use s3::s3_client;
use stdout::StdoutSink;

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

/// The sink's name in reports and logs: as written on the command line (prefixes normalised).
impl fmt::Display for SinkSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SinkSpec::Stdout => f.write_str("stdout"),
            SinkSpec::File(p) => write!(f, "file:{}", p.display()),
            SinkSpec::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
            SinkSpec::Firehose(stream) => write!(f, "firehose:{stream}"),
            SinkSpec::OpenSearch(index) => write!(f, "opensearch:{index}"),
        }
    }
}

/// An open sink.
pub struct Sink(Kind);

enum Kind {
    Stdout(StdoutSink),
    File(Rolling<LocalFiles>),
    S3(Rolling<S3Objects>),
    Firehose(FirehoseSink),
    OpenSearch(Box<BulkSink>),
}

impl Sink {
    /// Opens a sink; S3 and Firehose sinks check that their bucket or stream is there first, so a
    /// wrong name fails before anything is generated. `conf` is needed by S3 and Firehose sinks;
    /// an OpenSearch sink is opened with [`Sink::opensearch`].
    pub async fn open(
        spec: &SinkSpec,
        rotation: Rotation,
        aws: &AwsArgs,
        conf: Option<&SdkConfig>,
    ) -> Result<Sink, SinkError> {
        let report = SinkReport::named(spec.to_string());
        let conf = || conf.ok_or_else(|| SinkError::Aws("no AWS configuration".into()));
        Ok(Sink(match spec {
            SinkSpec::Stdout => Kind::Stdout(StdoutSink::new(report)),
            SinkSpec::File(path) => Kind::File(Rolling::new(LocalFiles::open(path)?, rotation, report)),
            SinkSpec::S3 { bucket, prefix } => {
                Kind::S3(S3Objects::open(aws, conf()?, bucket, prefix, rotation, report).await?)
            }
            SinkSpec::Firehose(stream) => Kind::Firehose(FirehoseSink::open(aws, conf()?, stream, report).await?),
            SinkSpec::OpenSearch(_) => {
                return Err(SinkError::Aws("an OpenSearch sink is opened with Sink::opensearch".into()));
            }
        }))
    }

    /// An OpenSearch `_bulk` sink into `index`, its documents encoded by `transformer`; checks
    /// that the cluster answers. `conf` is needed for SigV4.
    pub async fn opensearch(
        index: &str,
        connection: &wafwatch_opensearch::connection::ConnectionArgs,
        conf: Option<&SdkConfig>,
        transformer: wafwatch_transformer::Transformer,
    ) -> Result<Sink, SinkError> {
        let report = SinkReport::named(SinkSpec::OpenSearch(index.to_owned()).to_string());
        let bulk = BulkSink::open(index, connection, conf, transformer, report).await?;
        Ok(Sink(Kind::OpenSearch(Box::new(bulk))))
    }

    /// A Firehose sink over any sender (tests use a loopback stand-in for AWS).
    pub fn firehose(sender: Box<dyn FirehoseSend>, stream: &str, policy: RetryPolicy) -> Sink {
        let report = SinkReport::named(SinkSpec::Firehose(stream.to_owned()).to_string());
        Sink(Kind::Firehose(FirehoseSink::new(sender, stream, policy, report)))
    }

    /// This sink's report so far.
    pub fn report(&self) -> &SinkReport {
        match &self.0 {
            Kind::Stdout(s) => s.report(),
            Kind::File(s) => s.report(),
            Kind::S3(s) => s.report(),
            Kind::Firehose(s) => s.report(),
            Kind::OpenSearch(s) => s.report(),
        }
    }

    /// Writes a batch of records.
    pub async fn write(&mut self, batch: &Batch) -> Result<(), SinkError> {
        match &mut self.0 {
            Kind::Stdout(s) => s.write(batch),
            Kind::File(s) => s.write(batch).await,
            Kind::S3(s) => s.write(batch).await,
            Kind::Firehose(s) => {
                s.write(batch).await;
                Ok(())
            }
            Kind::OpenSearch(s) => s.write(batch).await,
        }
    }

    /// Closes the current file or object (sends what a Firehose or OpenSearch sink holds, flushes
    /// stdout) and starts the next.
    pub async fn rotate(&mut self) -> Result<(), SinkError> {
        match &mut self.0 {
            Kind::Stdout(s) => s.flush(),
            Kind::File(s) => s.rotate().await,
            Kind::S3(s) => s.rotate().await,
            Kind::Firehose(s) => {
                s.flush().await;
                Ok(())
            }
            Kind::OpenSearch(s) => s.flush().await,
        }
    }

    /// Writes whatever is pending and returns the report.
    pub async fn finish(&mut self) -> Result<SinkReport, SinkError> {
        self.rotate().await?;
        Ok(self.report().clone())
    }
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
    fn sinks_are_named_as_written() {
        for (written, name) in [
            ("-", "stdout"),
            ("file:out/", "file:out/"),
            ("s3://b/raw/waf/", "s3://b/raw/waf"),
            ("s3://b", "s3://b/"),
            ("firehose:s", "firehose:s"),
            ("opensearch:i", "opensearch:i"),
        ] {
            assert_eq!(written.parse::<SinkSpec>().unwrap().to_string(), name);
        }
    }
}
