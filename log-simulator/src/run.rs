//! The simulator's commands: generate (backfill, real time, cron one-shot), replay, scenarios.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};

use crate::scenario::{ScenarioKind, ScenarioSpec};
use crate::sim::{Batch, Label, OutputFormat, SimConfig, Simulation};
use crate::sinks::{Rotation, Sink, SinkError, SinkReport, SinkSpec};
use wafwatch_aws::{AwsArgs, explain};

/// Realistic WAF traffic with labelled attacks, to stdout, files, S3 and Firehose.
///
/// Three time modes: backfill when --from is given (a time range, as fast as possible);
/// cron one-shot with --files N (N objects for the current minute, as the EC2 job does every
/// minute); real time otherwise (--rate per second until --duration or Ctrl-C, which flushes every
/// sink and prints the summary). Exit status: 0 when everything was delivered, 1 when some records
/// could not be (the summary says which), 2 for usage errors.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "log-simulator", version, max_term_width = 100)]
pub struct SimCli {
    /// The simulator's arguments (also `wafwatch simulate`'s).
    #[command(flatten)]
    pub args: SimArgs,
    /// More logging on stderr (-v debug, -vv trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

/// The simulator's arguments: a command, or the traffic options of the default generate mode.
#[derive(Debug, Clone, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SimArgs {
    /// What to do (default: generate traffic).
    #[command(subcommand)]
    pub command: Option<SimCommand>,
    /// Traffic options.
    #[command(flatten)]
    pub generate: GenerateArgs,
}

/// The simulator's subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum SimCommand {
    /// List the scenarios, one a line, with what they do.
    Scenarios,
    /// Feed existing files (local or s3://, .gz or not) into the sinks: raw logs, and the objects
    /// Firehose writes for records it could not process or deliver (their base64 rawData is decoded).
    Replay(Box<ReplayArgs>),
}

/// Options of the generate mode.
// The doc comments double as --help text, where `NAME[@OFFSET]` must read as written.
#[allow(rustdoc::broken_intra_doc_links)]
#[derive(Debug, Clone, clap::Args)]
pub struct GenerateArgs {
    /// Mean requests per second.
    #[arg(long, default_value_t = 100.0, value_name = "PER_SECOND")]
    pub rate: f64,
    /// How long to simulate (90m, 1h30m, 24h...). Required with --from; real time runs until
    /// Ctrl-C without it.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub duration: Option<Duration>,
    /// Backfill from this instant (RFC 3339, seconds optional: 2026-01-01T00:00Z), as fast as
    /// possible, with timestamps in simulated time.
    #[arg(long, value_parser = parse_instant, value_name = "TIME")]
    pub from: Option<DateTime<Utc>>,
    /// Cron one-shot: write N files or objects for the current minute, then exit.
    #[arg(long, value_name = "N", conflicts_with_all = ["from", "duration"])]
    pub files: Option<u32>,
    /// Seed of every random choice: the same seed and options give the same bytes.
    /// Default: a random seed, logged so the run can be repeated.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Force a scenario: NAME[@OFFSET][+DURATION][xINTENSITY], repeatable. Defaults: offset 10m,
    /// duration 10m, intensity 1. `log-simulator scenarios` lists them.
    #[arg(long = "scenario", value_name = "SPEC")]
    pub scenarios: Vec<ScenarioSpec>,
    /// Probability per request of a random anomaly (BLOCK, unknown source, 5xx, unknown country
    /// or DELETE), as the original generator did. Default 0: only forced scenarios.
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub anomaly_rate: f64,
    /// Record shape: flat (what the default wafwatch.toml reads) or aws-waf (the real AWS WAF shape).
    #[arg(long, value_enum, default_value_t = OutputFormat::Flat)]
    pub format: OutputFormat,
    /// Write the ground truth here, as NDJSON, one object per scenario.
    #[arg(long, value_name = "FILE")]
    pub labels: Option<PathBuf>,
    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Where records go.
#[derive(Debug, Clone, clap::Args)]
pub struct OutputArgs {
    /// Where to write: stdout, file:PATH (a file, or a directory when it ends with /),
    /// s3://BUCKET/PREFIX, firehose:STREAM, opensearch:INDEX. Repeatable; stdout when none is given.
    #[arg(long = "sink", value_name = "SINK")]
    pub sinks: Vec<SinkSpec>,
    /// Files and S3 objects: start a new one after this many records (S3 default 100000).
    #[arg(long, value_name = "N")]
    pub rotate_records: Option<u64>,
    /// Files and S3 objects: start a new one after this many bytes, before compression (S3 default 64 MiB).
    #[arg(long, value_name = "BYTES")]
    pub rotate_bytes: Option<u64>,
    /// Gzip files (S3 objects are always gzip, named .log.gz, Content-Type application/gzip).
    #[arg(long)]
    pub gzip: bool,
    /// Write records that could not be delivered (after every retry) to this file.
    #[arg(long, value_name = "FILE")]
    pub undelivered: Option<PathBuf>,
    /// No progress bar, even on a terminal.
    #[arg(long)]
    pub no_progress: bool,
    /// OpenSearch sink: the wafwatch.toml whose transformer sections encode the documents
    /// (default: the bundled default, or presets/aws-waf.toml with --format aws-waf).
    #[arg(long, value_name = "FILE")]
    pub transform_config: Option<PathBuf>,
    /// AWS options.
    #[command(flatten)]
    pub aws: AwsArgs,
    /// OpenSearch connection (for opensearch:INDEX sinks).
    #[command(flatten)]
    pub opensearch: wafwatch_opensearch::connection::ConnectionArgs,
}

/// `replay` options.
#[derive(Debug, Clone, clap::Args)]
pub struct ReplayArgs {
    /// Files (local paths, or s3://BUCKET/KEY, or s3://BUCKET/PREFIX/ for every object under it).
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<String>,
    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Parses a humantime duration (`90m`, `1h30m`, `45s`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|_| format!("`{s}` is not a duration: write it like 90m, 1h30m, 24h or 45s"))
}

/// Parses RFC 3339 with or without seconds, or a bare date (midnight UTC).
pub fn parse_instant(s: &str) -> Result<DateTime<Utc>, String> {
    let t = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Ok(d.with_timezone(&Utc));
    }
    // 2026-01-01T00:00Z or 2026-01-01T00:00+01:00: add the seconds.
    if t.len() > 16
        && t.as_bytes().get(13) == Some(&b':')
        && !t[16..].starts_with(':')
        && let Ok(d) = DateTime::parse_from_rfc3339(&format!("{}:00{}", &t[..16], &t[16..]))
    {
        return Ok(d.with_timezone(&Utc));
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(d.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    Err(format!("`{s}` is not a time: write RFC 3339, such as 2026-01-01T00:00Z or 2026-01-01T00:00:00+01:00"))
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Options that do not make sense together.
    #[error("{0}")]
    Usage(String),
    /// A sink failed.
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// A file could not be read or written.
    #[error("{0}")]
    Io(String),
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Records generated or replayed.
    pub records: u64,
    /// One report per sink.
    pub sinks: Vec<SinkReport>,
    /// The scenarios' ground truth.
    pub labels: Vec<Label>,
    /// The run stopped because standard output was closed.
    pub stdout_closed: bool,
}

impl Outcome {
    /// Records that could not be delivered, over all sinks.
    pub fn failed(&self) -> u64 {
        self.sinks.iter().map(|s| s.failed).sum()
    }
}

fn rotation(out: &OutputArgs, spec: &SinkSpec) -> Rotation {
    let s3 = matches!(spec, SinkSpec::S3 { .. });
    Rotation {
        records: out.rotate_records.unwrap_or(if s3 { 100_000 } else { 0 }),
        bytes: out.rotate_bytes.unwrap_or(if s3 { 64 << 20 } else { 0 }),
        gzip: s3 || out.gzip,
    }
}

/// The transformer that encodes documents for an OpenSearch sink.
fn transformer(out: &OutputArgs, format: OutputFormat) -> Result<wafwatch_transformer::Transformer, RunError> {
    use wafwatch_config::expand::Expansion;
    use wafwatch_config::file::{AWS_WAF_PRESET_TOML, BUNDLED_DEFAULT_TOML};
    use wafwatch_config::transform::TransformSections;
    use wafwatch_transformer::Transformer;
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

async fn open_sinks(out: &OutputArgs, format: OutputFormat) -> Result<Vec<Sink>, RunError> {
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
async fn write_all(sinks: &mut [Sink], batch: &Batch) -> Result<bool, RunError> {
    for s in sinks.iter_mut() {
        match s.write(batch).await {
            Ok(()) => {}
            Err(SinkError::Closed) => return Ok(false),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(true)
}

async fn finish(sinks: &mut [Sink], out: &OutputArgs, outcome: &mut Outcome) -> Result<(), RunError> {
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

fn progress(total: Option<u64>, no_progress: bool) -> indicatif::ProgressBar {
    match total {
        Some(n) if !no_progress && std::io::stderr().is_terminal() => {
            let pb = indicatif::ProgressBar::new(n);
            pb.set_style(
                indicatif::ProgressStyle::with_template(
                    "{elapsed_precise} [{bar:40}] {percent}% of simulated time, {msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            pb
        }
        _ => indicatif::ProgressBar::hidden(),
    }
}

/// Runs the generate mode.
pub async fn generate(args: &GenerateArgs) -> Result<Outcome, RunError> {
    if !(args.rate.is_finite() && args.rate > 0.0) {
        return Err(RunError::Usage(format!(
            "--rate must be a positive number of requests per second, got {}",
            args.rate
        )));
    }
    if !(0.0..=1.0).contains(&args.anomaly_rate) {
        return Err(RunError::Usage(format!(
            "--anomaly-rate is a probability between 0 and 1, got {}",
            args.anomaly_rate
        )));
    }
    if args.from.is_some() && args.duration.is_none() {
        return Err(RunError::Usage(
            "--from needs --duration: how much time to backfill (for example --duration 24h)".into(),
        ));
    }
    if args.files == Some(0) {
        return Err(RunError::Usage("--files needs at least 1".into()));
    }
    let seed = args.seed.unwrap_or_else(rand::random);
    if args.seed.is_none() {
        tracing::info!(seed, "No --seed given; pass this one to repeat the run.");
    }
    let now = Utc::now().timestamp_millis();
    let (start_ms, duration_ms) = match (args.from, args.files) {
        (Some(from), _) => (from.timestamp_millis(), args.duration.map(|d| d.as_millis() as i64)),
        (None, Some(_)) => (now - now.rem_euclid(60_000), Some(60_000)),
        (None, None) => (now - now.rem_euclid(1000), args.duration.map(|d| d.as_millis() as i64)),
    };
    let mut sim = Simulation::new(SimConfig {
        start_ms,
        duration_ms,
        rate: args.rate,
        seed,
        format: args.format,
        scenarios: args.scenarios.clone(),
        anomaly_rate: args.anomaly_rate,
    });
    let mut sinks = open_sinks(&args.output, args.format).await?;
    let mut outcome = Outcome::default();
    let mut batch = Batch::default();
    let pb = progress(duration_ms.map(|d| (d as u64).div_ceil(1000)), args.output.no_progress);
    let realtime = args.from.is_none() && args.files.is_none();

    let mut open = true;
    if let Some(files) = args.files {
        // Cron one-shot: the whole minute, cut into `files` parts, one object or file each.
        while sim.next_second(&mut batch).is_some() {}
        let per = batch.len().div_ceil(files as usize).max(1);
        let mut part = Batch::default();
        for i in 0..batch.len() {
            part.push(batch.line(i), batch.timestamps[i]);
            if part.len() == per || i + 1 == batch.len() {
                open = write_all(&mut sinks, &part).await?;
                for s in sinks.iter_mut() {
                    s.rotate().await?;
                }
                part.clear();
            }
        }
    } else if realtime {
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::pin!(ctrl_c);
        loop {
            let second_end = sim.next_second_start() + 1000;
            let wait = (second_end - Utc::now().timestamp_millis()).max(0) as u64;
            tokio::select! {
                _ = &mut ctrl_c => {
                    tracing::info!("Interrupted; flushing every sink.");
                    break;
                }
                () = tokio::time::sleep(Duration::from_millis(wait)) => {}
            }
            if sim.next_second(&mut batch).is_none() {
                break;
            }
            open = write_all(&mut sinks, &batch).await?;
            pb.inc(1);
            batch.clear();
            if !open || sim.finished() {
                break;
            }
        }
    } else {
        while sim.next_second(&mut batch).is_some() {
            pb.inc(1);
            if batch.data.len() >= 4 << 20 {
                open = write_all(&mut sinks, &batch).await?;
                pb.set_message(format!("{} records", sim.generated()));
                batch.clear();
                if !open {
                    break;
                }
            }
        }
        if open {
            open = write_all(&mut sinks, &batch).await?;
        }
    }
    pb.finish_and_clear();
    outcome.records = sim.generated();
    outcome.stdout_closed = !open;
    outcome.labels = sim.labels();
    finish(&mut sinks, &args.output, &mut outcome).await?;
    if let Some(path) = &args.labels {
        let mut body = String::new();
        for l in &outcome.labels {
            body.push_str(&serde_json::to_string(l).unwrap_or_default());
            body.push('\n');
        }
        std::fs::write(path, body).map_err(|e| RunError::Io(format!("writing labels to {}: {e}", path.display())))?;
    }
    summarize(&outcome, sim.random_anomalies());
    Ok(outcome)
}

fn summarize(outcome: &Outcome, random_anomalies: u64) {
    tracing::info!(records = outcome.records, random_anomalies, "Run finished.");
    for s in &outcome.sinks {
        if s.failed > 0 {
            tracing::warn!(sink = %s.name, delivered = s.records, failed = s.failed, writes = s.writes,
                error = s.error.as_deref().unwrap_or(""), "Sink could not deliver everything.");
        } else {
            tracing::info!(sink = %s.name, delivered = s.records, bytes = s.bytes, writes = s.writes, "Sink done.");
        }
    }
    for l in &outcome.labels {
        tracing::info!(scenario = l.scenario, start = %l.start, end = %l.end, records = l.records, "Scenario.");
    }
}

/// The scenario list, one a line.
pub fn scenarios_text() -> String {
    ScenarioKind::ALL.iter().map(|k| format!("{:<20} {}\n", k.name(), k.description())).collect()
}

/// A record of Firehose's error output (`processing-failed/`, the OpenSearch-failed prefix).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct FailedRecord {
    raw_data: String,
    #[serde(default)]
    error_code: Option<String>,
    #[serde(default)]
    attempts_made: Option<u64>,
}

/// Turns the bytes of one input into records: gunzipped when gzip, Firehose error records decoded.
pub fn records_of(bytes: &[u8]) -> Result<Batch, String> {
    let plain;
    let text: &[u8] = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes).read_to_end(&mut out).map_err(|e| format!("not valid gzip: {e}"))?;
        plain = out;
        &plain
    } else {
        bytes
    };
    let mut batch = Batch::default();
    let now = Utc::now().timestamp_millis();
    for line in text.split(|&b| b == b'\n').filter(|l| !l.trim_ascii().is_empty()) {
        let record = match serde_json::from_slice::<FailedRecord>(line) {
            Ok(f) if f.error_code.is_some() || f.attempts_made.is_some() => STANDARD
                .decode(f.raw_data.trim())
                .map_err(|e| format!("a Firehose error record's rawData is not base64: {e}"))?,
            _ => line.to_vec(),
        };
        let ts = leading_timestamp(&record).unwrap_or(now);
        // A decoded record may itself hold several lines (Firehose concatenates nothing, but
        // producers may have); keep it as one record, as it was put.
        batch.push(&record, ts);
    }
    Ok(batch)
}

/// `{"timestamp":1795262283412,...`: the record's own time, for date-partitioned keys.
fn leading_timestamp(record: &[u8]) -> Option<i64> {
    let rest = record.strip_prefix(b"{\"timestamp\":")?;
    let end = rest.iter().position(|b| !b.is_ascii_digit())?;
    std::str::from_utf8(&rest[..end]).ok()?.parse().ok()
}

/// Runs `replay`.
pub async fn replay(args: &ReplayArgs) -> Result<Outcome, RunError> {
    let mut sinks = open_sinks(&args.output, OutputFormat::Flat).await?;
    let mut outcome = Outcome::default();
    let needs_s3 = args.inputs.iter().any(|i| i.starts_with("s3://"));
    let s3 = if needs_s3 {
        let conf = args.output.aws.sdk_config().await;
        Some(crate::sinks::s3_client(&args.output.aws, &conf))
    } else {
        None
    };
    let mut open = true;
    for input in &args.inputs {
        let objects: Vec<(String, Vec<u8>)> = match (input.strip_prefix("s3://"), &s3) {
            (Some(rest), Some(client)) => fetch_s3(client, rest).await?,
            _ => {
                vec![(input.clone(), std::fs::read(input).map_err(|e| RunError::Io(format!("reading {input}: {e}")))?)]
            }
        };
        for (name, bytes) in objects {
            let batch = records_of(&bytes).map_err(|e| RunError::Io(format!("{name}: {e}")))?;
            tracing::info!(input = %name, records = batch.len(), "Replaying.");
            outcome.records += batch.len() as u64;
            open = write_all(&mut sinks, &batch).await?;
            if !open {
                break;
            }
        }
        if !open {
            break;
        }
    }
    outcome.stdout_closed = !open;
    finish(&mut sinks, &args.output, &mut outcome).await?;
    summarize(&outcome, 0);
    Ok(outcome)
}

async fn fetch_s3(client: &aws_sdk_s3::Client, rest: &str) -> Result<Vec<(String, Vec<u8>)>, RunError> {
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    let get = |key: String| async move {
        let obj = client
            .get_object()
            .bucket(bucket)
            .key(&key)
            .send()
            .await
            .map_err(|e| RunError::Io(explain(&format!("S3 object s3://{bucket}/{key}"), &e)))?;
        let body = obj.body.collect().await.map_err(|e| RunError::Io(format!("reading s3://{bucket}/{key}: {e}")))?;
        Ok::<_, RunError>((format!("s3://{bucket}/{key}"), body.into_bytes().to_vec()))
    };
    if !key.is_empty() && !key.ends_with('/') {
        return Ok(vec![get(key.to_owned()).await?]);
    }
    let mut out = Vec::new();
    let mut pages = client.list_objects_v2().bucket(bucket).prefix(key).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| RunError::Io(explain(&format!("S3 bucket `{bucket}`"), &e)))?;
        for obj in page.contents() {
            if let Some(k) = obj.key() {
                out.push(get(k.to_owned()).await?);
            }
        }
    }
    Ok(out)
}

/// Runs the command line: what both `log-simulator` and `wafwatch simulate` call.
pub async fn main(cli: SimArgs) -> std::process::ExitCode {
    use std::process::ExitCode;
    let result = match &cli.command {
        Some(SimCommand::Scenarios) => {
            let text = scenarios_text();
            let mut out = std::io::stdout().lock();
            let _ = std::io::Write::write_all(&mut out, text.as_bytes());
            return ExitCode::SUCCESS;
        }
        Some(SimCommand::Replay(args)) => replay(args).await,
        None => generate(&cli.generate).await,
    };
    match result {
        Ok(o) if o.failed() > 0 => ExitCode::FAILURE,
        Ok(_) => ExitCode::SUCCESS,
        Err(RunError::Usage(e)) => {
            tracing::error!("{e}");
            ExitCode::from(2)
        }
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_with_and_without_seconds() {
        let a = parse_instant("2026-01-01T00:00Z").unwrap();
        assert_eq!(a.timestamp(), 1_767_225_600);
        assert_eq!(parse_instant("2026-01-01T00:00:00Z").unwrap(), a);
        assert_eq!(parse_instant("2026-01-01T01:00+01:00").unwrap(), a);
        assert_eq!(parse_instant("2026-01-01").unwrap(), a);
        assert!(parse_instant("yesterday").unwrap_err().contains("RFC 3339"));
    }

    #[test]
    fn firehose_error_records_are_decoded() {
        let raw = STANDARD.encode(br#"{"timestamp":1795262283412,"action":"BLOCK"}"#);
        let failed = format!(
            "{{\"attemptsMade\":4,\"arrivalTimestamp\":1795262283412,\"errorCode\":\"Lambda.FunctionError\",\"errorMessage\":\"x\",\"rawData\":\"{raw}\",\"lambdaArn\":\"arn\"}}\n"
        );
        let mixed = format!("{failed}{{\"timestamp\":5,\"plain\":true}}\n\n");
        let b = records_of(mixed.as_bytes()).unwrap();
        assert_eq!(b.len(), 2);
        assert_eq!(b.line(0), b"{\"timestamp\":1795262283412,\"action\":\"BLOCK\"}\n");
        assert_eq!(b.timestamps, vec![1_795_262_283_412, 5]);
        let gz = {
            use std::io::Write;
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(mixed.as_bytes()).unwrap();
            e.finish().unwrap()
        };
        assert_eq!(records_of(&gz).unwrap().data, b.data);
    }
}
