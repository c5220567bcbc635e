//! The command line: the simulator's arguments (also `wafwatch simulate`'s), and the parsers of
//! its durations and instants. Every doc comment of a field is its `--help` text.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use wafwatch_aws::AwsArgs;

use crate::scenario::ScenarioSpec;
use crate::sim::OutputFormat;
use crate::sinks::SinkSpec;

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
}
