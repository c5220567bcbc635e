//! The S3 sink: date-partitioned objects (`PREFIX/YYYY/MM/DD/HH/wafwatch_<first record>_<run>_<seq>.log.gz`),
//! cut like files ([`Rolling`]) and never across an hour, so each object sits in its partition.

use chrono::{Datelike, Timelike};
use wafwatch_aws::{AwsArgs, SdkConfig, explain};

use crate::sinks::file::{Destination, Rolling, Rotation, gzip, utc};
use crate::sinks::report::{SinkError, SinkReport};

/// An S3 client (path-style addressing when an endpoint is given, as compatible servers need).
pub fn s3_client(aws: &AwsArgs, conf: &SdkConfig) -> aws_sdk_s3::Client {
    let b = aws_sdk_s3::config::Builder::from(conf).force_path_style(aws.has_endpoint());
    aws_sdk_s3::Client::from_conf(b.build())
}

/// Objects under a prefix of a bucket.
pub(crate) struct S3Objects {
    client: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
    /// Distinguishes runs writing the same hour.
    run_id: String,
}

impl S3Objects {
    /// Checks that the bucket is there (so a wrong name fails before anything is generated) and
    /// writes into it.
    pub(crate) async fn open(
        aws: &AwsArgs,
        conf: &SdkConfig,
        bucket: &str,
        prefix: &str,
        rotation: Rotation,
        report: SinkReport,
    ) -> Result<Rolling<S3Objects>, SinkError> {
        let client = s3_client(aws, conf);
        client
            .head_bucket()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| SinkError::Aws(explain(&format!("S3 bucket `{bucket}` ({})", aws.describe()), &e)))?;
        let run_id = format!("{:08x}", rand::random::<u32>());
        let objects = S3Objects { client, bucket: bucket.to_owned(), prefix: prefix.to_owned(), run_id };
        Ok(Rolling::new(objects, rotation, report))
    }

    /// The key of object `seq` whose first record is at `first_ts`.
    fn key(&self, first_ts: i64, seq: u64, gzip: bool) -> String {
        let t = utc(first_ts);
        format!(
            "{}{:04}/{:02}/{:02}/{:02}/wafwatch_{}_{}_{seq:04}.log{}",
            if self.prefix.is_empty() { String::new() } else { format!("{}/", self.prefix) },
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.format("%Y%m%dT%H%M%SZ"),
            self.run_id,
            if gzip { ".gz" } else { "" }
        )
    }
}

impl Destination for S3Objects {
    const BY_HOUR: bool = true;

    async fn put(&mut self, first_ts: i64, seq: u64, rotation: Rotation, data: Vec<u8>) -> Result<(), SinkError> {
        let key = self.key(first_ts, seq, rotation.gzip);
        let (body, content_type) =
            if rotation.gzip { (gzip(&data), "application/gzip") } else { (data, "application/x-ndjson") };
        self.client
            .put_object()
            .bucket(self.bucket.as_str())
            .key(&key)
            .content_type(content_type)
            .body(body.into())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| SinkError::Aws(explain(&format!("S3 object s3://{}/{key}", self.bucket), &e)))
    }
}
