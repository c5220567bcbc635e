//! The options of `wafwatch run`, and the default run they describe.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use wafwatch_log_simulator::run::{parse_duration, parse_instant};
use wafwatch_log_simulator::scenario::ScenarioSpec;
use wafwatch_log_simulator::sim::OutputFormat;

/// The fixed start of the default run.
pub const DEFAULT_FROM: &str = "2026-01-01T00:00:00Z";
/// The default scenarios: after a three-hour warm-up, one every three hours.
pub const DEFAULT_SCENARIOS: [&str; 7] = [
    "block-storm@3h+10m",
    "error-burst@6h+10m",
    "geo-anomaly@9h+10m",
    "unknown-source@12h+10m",
    "delete-burst@15h+10m",
    "credential-stuffing@18h+10m",
    "scanner@21h+10m",
];

/// The scenarios a simulated day in the AWS WAF shape adds to the seven, between them: what only
/// the firewall's own verdicts reveal.
pub const AWS_WAF_SCENARIOS: [&str; 5] = [
    "sql-injection@4h30m+10m",
    "bot-surge@7h30m+10m",
    "rate-flood@10h30m+10m",
    "atp-stuffing@13h30m+10m",
    "new-fingerprint@16h30m+10m",
];

/// The simulated traffic, as `run` simulates it and `tune` measures it.
#[derive(Debug, Clone, clap::Args)]
pub struct Traffic {
    /// Seed of the simulation and of the forests: the same seed gives the same run.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Simulated time to cover.
    #[arg(long, default_value = "24h", value_parser = parse_duration)]
    pub duration: Duration,
    /// Mean requests per second.
    #[arg(long, default_value_t = 100.0)]
    pub rate: f64,
    /// Start of the simulated time (RFC 3339).
    #[arg(long, default_value = DEFAULT_FROM, value_parser = parse_instant)]
    pub from: DateTime<Utc>,
}

/// Options of `wafwatch run`.
// The doc comments double as --help text, where `NAME[@OFFSET]` must read as written.
#[allow(rustdoc::broken_intra_doc_links)]
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// The simulated traffic.
    #[command(flatten)]
    pub traffic: Traffic,
    /// Scenarios, NAME[@OFFSET][+DURATION][xINTENSITY], repeatable; replace the defaults (one
    /// every three hours from 3h: block-storm, error-burst, geo-anomaly, unknown-source,
    /// delete-burst, credential-stuffing, scanner; when the configuration reads the AWS WAF shape,
    /// also sql-injection, bot-surge, rate-flood, atp-stuffing and new-fingerprint, from 4h30m).
    #[arg(long = "scenario", value_name = "SPEC")]
    pub scenarios: Vec<ScenarioSpec>,
    /// Probability per request of a random anomaly; none unless given.
    #[arg(long, default_value_t = 0.0)]
    pub anomaly_rate: f64,
    /// Alerts before this much simulated time are not counted as false (the models are learning).
    #[arg(long, default_value = "3h", value_parser = parse_duration)]
    pub warmup: Duration,
    /// Where to write report.html, results.ndjson and alerts.ndjson.
    #[arg(long, default_value = "wafwatch-out", value_name = "DIR")]
    pub out: PathBuf,
    /// Also write the summary as JSON here.
    #[arg(long, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,
    /// Run on your own logs instead of simulated traffic: NDJSON or text lines in the configured
    /// source format, gzip or not (real AWS WAF logs exported from S3 work with
    /// presets/aws-waf.toml); `-` is standard input. There is no ground truth, so nothing is scored
    /// unless scenarios are injected (--inject).
    #[arg(long = "input", value_name = "FILE", num_args = 1.., conflicts_with_all = ["scenarios", "anomaly_rate", "exact_firehose"])]
    pub inputs: Vec<PathBuf>,
    /// With --input: overlay a simulated scenario on your logs, NAME[@OFFSET][+DURATION][xINTENSITY]
    /// as for --scenario, repeatable. OFFSET counts from the input's first timestamp; the scenario's
    /// rate is relative to the input's mean rate; its requests copy your clients, URIs and user
    /// agents and take the shape the configuration reads (flat or AWS WAF); your own records are
    /// left as they are. The run is then scored like a simulated one (the summary's scenarios and
    /// false_alerts_per_day; --warmup counts from the input's start). The inputs are read twice,
    /// so they must be files.
    #[arg(long = "inject", value_name = "SPEC", requires = "inputs", conflicts_with = "follow")]
    pub injects: Vec<ScenarioSpec>,
    /// Write the ground truth (the simulated or injected scenarios) here: one NDJSON object per
    /// scenario, {"scenario", "start", "end", "fields", "records"}, as the simulator's --labels.
    #[arg(long, value_name = "FILE")]
    pub labels: Option<PathBuf>,
    /// With --input: after reading the inputs, keep reading the last one as it grows (like
    /// `tail -f`) and alert as records arrive; intervals also close by the clock when traffic
    /// pauses. Ctrl-C stops, writes the report and exits 0.
    #[arg(long, requires = "inputs")]
    pub follow: bool,
    /// Also wrap the records in real Firehose events (1 MiB or one minute of records each,
    /// Firehose's default processor buffer hints), call the Lambda handler itself, count its Ok,
    /// Dropped and ProcessingFailed answers, and check each document is byte for byte the one the
    /// record function wrote (exit status 1 if not). Slower: every record is transformed twice.
    #[arg(long)]
    pub exact_firehose: bool,
    /// Sample records shown with each alert (records of the anomalous interval that had a watched
    /// column set, or that the monitored rule tagged).
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub samples: usize,
    /// Send alerts (and throttled repeats) to the monitors' channels reachable from here: SNS
    /// (through the AWS SDK, with --region/--profile/--endpoint-url), Slack, Chime, Teams and
    /// webhooks. Off by default, so a machine with credentials never pages anyone by accident.
    #[arg(long)]
    pub deliver: bool,
    /// AWS access for SNS channels (with --deliver).
    #[command(flatten)]
    pub aws: wafwatch_aws::AwsArgs,
    /// Header whose value is redacted in samples, repeatable (default: authorization, cookie,
    /// set-cookie, proxy-authorization, x-api-key). Names compare ignoring case.
    #[arg(long = "redact-header", value_name = "NAME")]
    pub redact_headers: Vec<String>,
}

impl RunArgs {
    /// `--scenario`, or the defaults for records of `shape`: the seven, and in the AWS WAF shape
    /// also the five only its verdicts reveal.
    pub fn scenarios_or_default(&self, shape: OutputFormat) -> Vec<ScenarioSpec> {
        if self.scenarios.is_empty() {
            let waf: &[&str] = if shape == OutputFormat::AwsWaf { &AWS_WAF_SCENARIOS } else { &[] };
            DEFAULT_SCENARIOS.iter().chain(waf).filter_map(|s| s.parse().ok()).collect()
        } else {
            self.scenarios.clone()
        }
    }

    /// The header names whose values samples redact.
    pub fn redacted_headers(&self) -> Vec<String> {
        if self.redact_headers.is_empty() {
            super::samples::DEFAULT_REDACT.iter().map(|s| s.to_string()).collect()
        } else {
            self.redact_headers.clone()
        }
    }
}
