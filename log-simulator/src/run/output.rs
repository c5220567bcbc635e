//! The sinks of a run, opened from the output options: which need AWS, how files and objects
//! rotate, which transformer encodes OpenSearch documents; writing a batch to all of them, and
//! finishing them (with `--undelivered`).

use wafwatch_config::expand::Expansion;
use wafwatch_config::file::{AWS_WAF_PRESET_TOML, BUNDLED_DEFAULT_TOML};
use wafwatch_config::transform::TransformSections;
use wafwatch_transformer::Transformer;

use crate::batch::Batch;
use crate::run::args::OutputArgs;
use crate::run::outcome::{Outcome, RunError};
use crate::sim::OutputFormat;
use crate::sinks::{Rotation, Sink, SinkError, SinkSpec};

/// S3 objects start a new one after this many records by default...
const S3_ROTATE_RECORDS: u64 = 100_000;
/// ...or this many bytes, before compression.
const S3_ROTATE_BYTES: u64 = 64 << 20;

fn rotation(out: &OutputArgs, spec: &SinkSpec) -> Rotation {
    let s3 = matches!(spec, SinkSpec::S3 { .. });
    Rotation {
        records: out.rotate_records.unwrap_or(if s3 { S3_ROTATE_RECORDS } else { 0 }),
        bytes: out.rotate_bytes.unwrap_or(if s3 { S3_ROTATE_BYTES } else { 0 }),
        gzip: s3 || out.gzip,
    }
}

/// The transformer that encodes documents for an OpenSearch sink.
fn transformer(out: &OutputArgs, format: OutputFormat) -> Result<Transformer, RunError> {
    let (origin, text) = match &out.transform_config {
        Some(p) => (
            p.display().to_string(),
            std::fs::read_to_string(p)
                .map_err(|e| RunError::Usage(format!("reading --transform-config {}: {e}", p.display())))?,
        ),
        None if format == OutputFormat::AwsWaf => ("presets/aws-waf.toml".to_owned(), AWS_WAF_PRESET_TOML.to_owned()),
        None => ("bundled wafwatch.toml".to_owned(), BUNDLED_DEFAULT_TOML.to_owned()),
    };
    TransformSections::from_whole_toml(&text)
        .and_then(|s| s.validate(Expansion::Environment))
        .and_then(Transformer::new)
        .map_err(|e| RunError::Usage(e.with_origin(origin).to_string()))
}

/// Opens every sink of `out` (stdout when none is named), for records of `format`.
pub(crate) async fn open_sinks(out: &OutputArgs, format: OutputFormat) -> Result<Vec<Sink>, RunError> {
    let specs = if out.sinks.is_empty() { vec![SinkSpec::Stdout] } else { out.sinks.clone() };
    let needs_aws = specs.iter().any(|s| matches!(s, SinkSpec::S3 { .. } | SinkSpec::Firehose(_)))
        || (out.opensearch.sigv4.is_some() && specs.iter().any(|s| matches!(s, SinkSpec::OpenSearch(_))));
    let conf = if needs_aws { Some(out.aws.sdk_config().await) } else { None };
    let mut sinks = Vec::with_capacity(specs.len());
    for spec in &specs {
        sinks.push(match spec {
            SinkSpec::OpenSearch(index) => {
                Sink::opensearch(index, &out.opensearch, conf.as_ref(), transformer(out, format)?).await?
            }
            _ => Sink::open(spec, rotation(out, spec), &out.aws, conf.as_ref()).await?,
        });
    }
    Ok(sinks)
}

/// Writes a batch to every sink; returns false when standard output was closed.
pub(crate) async fn write_all(sinks: &mut [Sink], batch: &Batch) -> Result<bool, RunError> {
    for s in sinks.iter_mut() {
        match s.write(batch).await {
            Ok(()) => {}
            Err(SinkError::Closed) => return Ok(false),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(true)
}

/// Finishes every sink into `outcome`, and writes what they could not deliver to
/// `--undelivered`.
pub(crate) async fn finish(sinks: &mut [Sink], out: &OutputArgs, outcome: &mut Outcome) -> Result<(), RunError> {
    for s in sinks.iter_mut() {
        match s.finish().await {
            Ok(r) => outcome.sinks.push(r),
            Err(SinkError::Closed) => outcome.sinks.push(s.report().clone()),
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(path) = &out.undelivered {
        let mut body = Vec::new();
        for r in &outcome.sinks {
            for rec in &r.undelivered {
                body.extend_from_slice(rec);
                if !rec.ends_with(b"\n") {
                    body.push(b'\n');
                }
            }
        }
        std::fs::write(path, body).map_err(|e| RunError::Io(format!("writing {}: {e}", path.display())))?;
    }
    Ok(())
}
