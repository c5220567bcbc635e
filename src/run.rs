//! `wafwatch run`: the whole config on one machine, scored against ground truth.
//!
//! Simulated traffic (the simulator) is encoded record by record by the transformer's record
//! function (the code the Lambda runs), aggregated and scored by the local engine (the detectors
//! and monitors of `wafwatch.toml`, with Random Cut Forest), and the alerts are scored against the
//! simulator's labels. Generation runs on one thread and encoding and detection on another, with a
//! bounded queue between them, so memory does not grow with the duration.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use wafwatch_config::detection::Detection;
use wafwatch_engine::{AdResult, Alert, Engine, Event};
use wafwatch_log_simulator::run::{parse_duration, parse_instant};
use wafwatch_log_simulator::scenario::ScenarioSpec;
use wafwatch_log_simulator::sim::{Batch, Label, OutputFormat, SimConfig, Simulation};
use wafwatch_transformer::{Facts, Transformer};

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

/// Options of `wafwatch run`.
// The doc comments double as --help text, where `NAME[@OFFSET]` must read as written.
#[allow(rustdoc::broken_intra_doc_links)]
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
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
    /// Scenarios, NAME[@OFFSET][+DURATION][xINTENSITY], repeatable; replace the defaults (one
    /// every three hours from 3h: block-storm, error-burst, geo-anomaly, unknown-source,
    /// delete-burst, credential-stuffing, scanner).
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
    /// presets/aws-waf.toml); `-` is standard input. There is no ground truth, so nothing is scored.
    #[arg(long = "input", value_name = "FILE", num_args = 1.., conflicts_with_all = ["scenarios", "anomaly_rate", "exact_firehose"])]
    pub inputs: Vec<PathBuf>,
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

/// An alert as written to alerts.ndjson: the engine's alert and its redacted sample records.
#[derive(Debug, Clone, Serialize)]
pub struct AlertOut {
    /// The alert.
    #[serde(flatten)]
    pub alert: Alert,
    /// A few records of the anomalous interval, sensitive headers redacted.
    pub samples: Vec<serde_json::Value>,
}

fn sample_keeper(args: &RunArgs, detection: &Detection) -> crate::samples::Samples {
    let redact = if args.redact_headers.is_empty() {
        crate::samples::DEFAULT_REDACT.iter().map(|s| s.to_string()).collect()
    } else {
        args.redact_headers.clone()
    };
    crate::samples::Samples::new(detection, args.samples, redact)
}

/// Samples are kept this long before the newest record, which covers any window delay.
const SAMPLE_HORIZON_MS: i64 = 6 * 3_600_000;

/// One scenario's score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioScore {
    /// Scenario name.
    pub name: String,
    /// RFC 3339.
    pub start: String,
    /// RFC 3339.
    pub end: String,
    /// Whether an alert came in [start, end + shingle_size intervals).
    pub detected: bool,
    /// Counted from 1, the interval holding the start; null when missed.
    pub intervals_to_detect: Option<u64>,
    /// The first monitor that caught it.
    pub detected_by: Option<String>,
}

/// The run's summary, as `--summary-json` writes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Records simulated and encoded.
    pub records: u64,
    /// Wall-clock seconds.
    pub elapsed_s: f64,
    /// Alerts after warm-up outside every scenario window, per simulated day (null without ground truth).
    pub false_alerts_per_day: Option<f64>,
    /// Lines that could not be encoded.
    pub bad_records: u64,
    /// With --exact-firehose: what the Lambda handler answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firehose: Option<crate::exact::FirehoseCounts>,
    /// With --deliver: what the channels accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deliveries: Option<crate::deliver::DeliveryCounts>,
    /// Late documents and per-entity model counts.
    pub engine: wafwatch_engine::EngineStats,
    /// Per scenario.
    pub scenarios: Vec<ScenarioScore>,
}

/// Why the run failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Bad options.
    #[error("{0}")]
    Usage(String),
    /// Writing output.
    #[error("{0}")]
    Io(String),
    /// The engine.
    #[error(transparent)]
    Engine(#[from] wafwatch_engine::EngineError),
    /// `--exact-firehose`: the Lambda handler and the record function wrote different documents.
    #[error(
        "the Lambda handler and the record function disagreed on {0} records (see the errors above); this is a bug, please report it"
    )]
    Disagreement(u64),
}

fn rfc3339(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

fn io<E: std::fmt::Display>(what: &Path) -> impl FnOnce(E) -> RunError + '_ {
    move |e| RunError::Io(format!("writing {}: {e}", what.display()))
}

/// Scores alerts against labels: a scenario is detected by the first alert whose interval overlaps
/// [start, end + shingle_size intervals of the alert's detector); any other alert after the warm-up
/// is false. Returns the scores and the number of false alerts.
pub fn score(
    labels: &[Label],
    alerts: &[Alert],
    detection: &Detection,
    run_start_ms: i64,
    warmup_ms: i64,
) -> (Vec<ScenarioScore>, usize) {
    let grace = |alert: &Alert| {
        detection.detectors.iter().find(|d| d.name == alert.detector_name).map_or((60_000, 0), |d| {
            (d.interval.as_millis() as i64, d.shingle_size as i64 * d.interval.as_millis() as i64)
        })
    };
    let parse = |s: &str| DateTime::parse_from_rfc3339(s).map(|d| d.timestamp_millis()).unwrap_or(0);
    let mut scores = Vec::new();
    let mut explained = vec![false; alerts.len()];
    for l in labels {
        let (start, end) = (parse(&l.start), parse(&l.end));
        let mut first: Option<(&Alert, u64)> = None;
        for (i, a) in alerts.iter().enumerate() {
            let (interval, extra) = grace(a);
            if a.data_start_time + interval > start && a.data_start_time < end + extra {
                explained[i] = true;
                let first_interval = start - start.rem_euclid(interval);
                let n = ((a.data_start_time - first_interval) / interval + 1).max(1) as u64;
                if first.is_none_or(|(f, _)| a.data_start_time < f.data_start_time) {
                    first = Some((a, n));
                }
            }
        }
        scores.push(ScenarioScore {
            name: l.scenario.to_owned(),
            start: l.start.clone(),
            end: l.end.clone(),
            detected: first.is_some(),
            intervals_to_detect: first.map(|(_, n)| n),
            detected_by: first.map(|(a, _)| a.monitor_name.clone()),
        });
    }
    let false_alerts = alerts
        .iter()
        .zip(&explained)
        .filter(|(a, explained)| !**explained && a.data_start_time >= run_start_ms + warmup_ms)
        .count();
    (scores, false_alerts)
}

/// Opens an input: a file or `-`, gunzipped when it starts with gzip's magic bytes.
fn open_input(path: &Path) -> Result<Box<dyn std::io::BufRead>, RunError> {
    use std::io::{BufRead, BufReader, Read};
    let raw: Box<dyn Read> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(
            std::fs::File::open(path)
                .map_err(|e| RunError::Usage(format!("cannot read input {}: {e}", path.display())))?,
        )
    };
    let mut reader = BufReader::with_capacity(1 << 16, raw);
    let gzip = reader.fill_buf().map(|b| b.starts_with(&[0x1f, 0x8b])).unwrap_or(false);
    Ok(if gzip { Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(reader))) } else { Box::new(reader) })
}

/// Where the engine's events go: results.ndjson, alerts.ndjson (with samples), the report's series,
/// the log, and with `--deliver` the channels.
struct Outputs<'a> {
    detection: &'a Detection,
    results_path: PathBuf,
    alerts_path: PathBuf,
    results_out: std::io::BufWriter<std::fs::File>,
    alerts_out: std::io::BufWriter<std::fs::File>,
    series: Vec<Vec<AdResult>>,
    alerts: Vec<Alert>,
    /// Alerts and throttled repeats: what a live monitor would have sent.
    notifications: u64,
    deliverer: Option<crate::deliver::Deliverer>,
    /// Flush alerts.ndjson at each alert (--follow: someone may be watching it).
    flush_each_alert: bool,
}

impl<'a> Outputs<'a> {
    fn new(
        args: &RunArgs,
        detection: &'a Detection,
        deliverer: Option<crate::deliver::Deliverer>,
    ) -> Result<Self, RunError> {
        std::fs::create_dir_all(&args.out).map_err(io(&args.out))?;
        let results_path = args.out.join("results.ndjson");
        let alerts_path = args.out.join("alerts.ndjson");
        let results_out = std::io::BufWriter::new(std::fs::File::create(&results_path).map_err(io(&results_path))?);
        let alerts_out = std::io::BufWriter::new(std::fs::File::create(&alerts_path).map_err(io(&alerts_path))?);
        Ok(Outputs {
            detection,
            results_path,
            alerts_path,
            results_out,
            alerts_out,
            series: vec![Vec::new(); detection.detectors.len()],
            alerts: Vec::new(),
            notifications: 0,
            deliverer,
            flush_each_alert: args.follow,
        })
    }

    /// Handles the engine's events; alerts get the samples of their interval (kept by `samples`).
    fn handle(&mut self, events: Vec<Event>, samples: &crate::samples::Samples) -> Result<(), RunError> {
        for ev in events {
            match ev {
                Event::Result(r) => {
                    serde_json::to_writer(&mut self.results_out, &r).map_err(io(&self.results_path))?;
                    self.results_out.write_all(b"\n").map_err(io(&self.results_path))?;
                    if let Some(i) = self.detection.detectors.iter().position(|d| d.name == r.detector_id) {
                        crate::report::push_series(&mut self.series[i], r);
                    }
                }
                Event::Alert(a) => {
                    self.notifications += 1;
                    let entity = a
                        .entity
                        .as_ref()
                        .map(|e| e.iter().map(|v| format!("{}={}", v.name, v.value)).collect::<Vec<_>>().join(" "));
                    tracing::info!(monitor = %a.monitor_name, entity = entity.as_deref().unwrap_or("-"),
                        interval = %rfc3339(a.data_start_time), grade = format!("{:.2}", a.anomaly_grade),
                        features = %a.feature_data.iter().map(|f| format!("{}={:.3}", f.feature_name, f.data)).collect::<Vec<_>>().join(" "),
                        "Alert.");
                    if let Some(d) = &mut self.deliverer {
                        d.send(&a, false);
                    }
                    let out = AlertOut { samples: samples.for_alert(&a), alert: a };
                    serde_json::to_writer(&mut self.alerts_out, &out).map_err(io(&self.alerts_path))?;
                    self.alerts_out.write_all(b"\n").map_err(io(&self.alerts_path))?;
                    if self.flush_each_alert {
                        self.alerts_out.flush().map_err(io(&self.alerts_path))?;
                    }
                    self.alerts.push(out.alert);
                }
                Event::Renotify(a) => {
                    self.notifications += 1;
                    if let Some(d) = &mut self.deliverer {
                        d.send(&a, true);
                    }
                }
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), RunError> {
        self.results_out.flush().map_err(io(&self.results_path))?;
        self.alerts_out.flush().map_err(io(&self.alerts_path))
    }

    /// What was delivered, logged, for the summary.
    fn deliveries(&self) -> Option<crate::deliver::DeliveryCounts> {
        self.deliverer.as_ref().map(|d| {
            let total = d.total();
            for (id, c) in &d.counts {
                tracing::info!(channel = %id, sent = c.sent, failed = c.failed, skipped = c.skipped, "Deliveries.");
            }
            total
        })
    }
}

/// Runs the detectors and monitors over the user's own logs.
fn run_inputs(
    args: &RunArgs,
    transformer: &Transformer,
    detection: &Detection,
    deliverer: Option<crate::deliver::Deliverer>,
) -> Result<Summary, RunError> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let started = Instant::now();
    let mut outputs = Outputs::new(args, detection, deliverer)?;

    let stop = Arc::new(AtomicBool::new(false));
    if args.follow {
        let flag = Arc::clone(&stop);
        std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_io().build() {
                let _ = rt.block_on(tokio::signal::ctrl_c());
                flag.store(true, Ordering::SeqCst);
            }
        });
    }

    let mut engine = Engine::new(detection, args.seed)?;
    let mut samples = sample_keeper(args, detection);
    let (mut records, mut bad) = (0u64, 0u64);
    let (mut first_ts, mut last_ts) = (i64::MAX, i64::MIN);
    let mut facts = Facts::default();
    let mut doc = Vec::new();
    let mut line = Vec::new();
    for (n, path) in args.inputs.iter().enumerate() {
        let follow_this = args.follow && n + 1 == args.inputs.len();
        let mut input = open_input(path)?;
        let (mut lines, mut bad_here) = (0u64, 0u64);
        // What a follower has read of a line still being written.
        let mut partial: Vec<u8> = Vec::new();
        loop {
            line.clear();
            line.append(&mut partial);
            let got = input
                .read_until(b'\n', &mut line)
                .map_err(|e| RunError::Usage(format!("reading {}: {e}", path.display())))?;
            let complete = line.ends_with(b"\n");
            let mut last = false;
            if got == 0 || !complete {
                if follow_this && !stop.load(Ordering::SeqCst) {
                    // Wait for more; meanwhile the clock closes intervals when traffic pauses.
                    partial = std::mem::take(&mut line);
                    std::thread::sleep(Duration::from_millis(200));
                    // Close intervals by the clock only when the data is live (within 15 minutes of
                    // now): a follower of an old file must not jump past records still to come.
                    let now = Utc::now().timestamp_millis();
                    let clock = if last_ts > i64::MIN && now - last_ts < 15 * 60_000 { now } else { last_ts };
                    outputs.handle(engine.advance(clock), &samples)?;
                    continue;
                }
                // The end: a last line without a newline still counts.
                last = true;
            }
            if line.trim_ascii().is_empty() {
                if last {
                    break;
                }
                continue;
            }
            if line.trim_ascii().is_empty() {
                continue;
            }
            lines += 1;
            doc.clear();
            let record = line.strip_suffix(b"\n").unwrap_or(&line);
            match transformer.transform_with_facts(record, Utc::now().timestamp_millis(), &mut doc, &mut facts) {
                Ok(_) => {
                    records += 1;
                    engine.observe(&facts);
                    samples.offer(&facts, record);
                    first_ts = first_ts.min(facts.timestamp_ms);
                    if facts.timestamp_ms > last_ts {
                        last_ts = facts.timestamp_ms;
                        let new = engine.advance(last_ts);
                        if !new.is_empty() {
                            outputs.handle(new, &samples)?;
                            samples.prune(SAMPLE_HORIZON_MS);
                        }
                    }
                }
                Err(e) => {
                    bad_here += 1;
                    if bad_here <= 5 {
                        tracing::warn!(input = %path.display(), line = lines, error = %e, "Line skipped.");
                    }
                }
            }
            if last {
                break;
            }
        }
        if lines > 0 && bad_here == lines {
            return Err(RunError::Usage(format!(
                "{} does not look like logs in the configured format: none of its {lines} lines could be read (the first error is logged above)",
                path.display()
            )));
        }
        bad += bad_here;
    }
    if args.follow {
        tracing::info!("Stopped; writing the report.");
    }
    outputs.handle(engine.finish(), &samples)?;
    outputs.flush()?;
    if bad > 0 {
        tracing::warn!(bad, "Lines could not be read and were skipped.");
    }
    let summary = Summary {
        records,
        elapsed_s: (started.elapsed().as_secs_f64() * 100.0).round() / 100.0,
        false_alerts_per_day: None,
        bad_records: bad,
        firehose: None,
        deliveries: outputs.deliveries(),
        engine: warn_late(engine.stats()),
        scenarios: Vec::new(),
    };
    let span = if first_ts <= last_ts { (first_ts, last_ts + 1) } else { (0, 1) };
    let report_path = args.out.join("report.html");
    let report = crate::report::html(&summary, &[], &outputs.series, &outputs.alerts, detection, args, span);
    std::fs::write(&report_path, report).map_err(io(&report_path))?;
    if let Some(path) = &args.summary_json {
        std::fs::write(path, serde_json::to_string_pretty(&summary).unwrap_or_default() + "\n").map_err(io(path))?;
    }
    tracing::info!(records, bad, alerts = outputs.alerts.len(), notifications = outputs.notifications,
        report = %report_path.display(), "Run finished.");
    Ok(summary)
}

/// Says so when documents came too late to be counted: out-of-order input loses data silently
/// otherwise.
fn warn_late(stats: wafwatch_engine::EngineStats) -> wafwatch_engine::EngineStats {
    if stats.late_documents > 0 {
        tracing::warn!(
            documents = stats.late_documents,
            "Documents arrived after their interval had been evaluated (later than the detector's window delay) \
             and were not counted, as a live detector would miss them: give the inputs in time order, or raise window_delay."
        );
    }
    stats
}

/// Resolves the channels for `--deliver`; the alerts link to the report this run writes.
fn deliverer(args: &RunArgs, config: &wafwatch_config::Config) -> Result<crate::deliver::Deliverer, RunError> {
    let report = std::path::absolute(args.out.join("report.html")).unwrap_or_else(|_| args.out.join("report.html"));
    let link = format!("file://{}", report.display());
    let rules: Vec<(&str, wafwatch_config::Severity, &str)> = config
        .transform
        .resolved()
        .rule
        .iter()
        .map(|r| (r.name.as_str(), r.severity, r.description.as_deref().unwrap_or("")))
        .collect();
    let pattern = config.index.pattern();
    let site = wafwatch_message::Site { index_pattern: &pattern, link: Some(&link), rules: &rules };
    let d = crate::deliver::Deliverer::new(&config.channels, &config.detection, &site, args.aws.clone())
        .map_err(|e| RunError::Usage(e.to_string()))?;
    if d.channel_ids().is_empty() {
        return Err(RunError::Usage("--deliver: no monitor names a [[channel]]; there is nowhere to deliver".into()));
    }
    tracing::info!(channels = %d.channel_ids().join(", "), "Delivering alerts.");
    Ok(d)
}

/// Runs the config: on simulated traffic, scored against its labels, or on `--input` files.
pub fn run(args: &RunArgs, config: &wafwatch_config::Config) -> Result<Summary, RunError> {
    let detection = &config.detection;
    let captures: Vec<_> = config.detection.captures.iter().map(|f| f.pointer().clone()).collect();
    let transformer =
        &Transformer::with_captures(config.transform.clone(), &captures).map_err(|e| RunError::Usage(e.to_string()))?;
    if !args.inputs.is_empty() && detection.detectors.is_empty() && detection.monitors.is_empty() {
        return Err(RunError::Usage(
            "the configuration has no [[detector]] or [[monitor]]: there is nothing to detect with".into(),
        ));
    }
    if args.inputs.is_empty() && !(args.rate.is_finite() && args.rate > 0.0) {
        return Err(RunError::Usage(format!("--rate must be positive, got {}", args.rate)));
    }
    if args.inputs.is_empty() && detection.detectors.is_empty() {
        return Err(RunError::Usage("the configuration has no [[detector]]: there is nothing to detect with".into()));
    }
    let deliverer = if args.deliver { Some(deliverer(args, config)?) } else { None };
    if !args.inputs.is_empty() {
        return run_inputs(args, transformer, detection, deliverer);
    }
    let started = Instant::now();
    let scenarios: Vec<ScenarioSpec> = if args.scenarios.is_empty() {
        DEFAULT_SCENARIOS.iter().filter_map(|s| s.parse().ok()).collect()
    } else {
        args.scenarios.clone()
    };
    let start_ms = args.from.timestamp_millis();
    let duration_ms = args.duration.as_millis() as i64;
    let config = SimConfig {
        start_ms,
        duration_ms: Some(duration_ms),
        rate: args.rate,
        seed: args.seed,
        format: OutputFormat::Flat,
        scenarios,
        anomaly_rate: args.anomaly_rate,
    };
    let mut outputs = Outputs::new(args, detection, deliverer)?;

    // Generation on its own thread; batches of one simulated minute, at most 16 in flight.
    let (tx, rx) = mpsc::sync_channel::<(Batch, i64)>(16);
    let generator = std::thread::spawn(move || {
        let mut sim = Simulation::new(config);
        loop {
            let mut batch = Batch::default();
            for _ in 0..60 {
                if sim.next_second(&mut batch).is_none() {
                    break;
                }
            }
            let watermark = sim.next_second_start();
            let done = sim.finished();
            if tx.send((batch, watermark)).is_err() || done {
                break;
            }
        }
        (sim.labels(), sim.generated())
    });

    let total_minutes = (duration_ms / 60_000).max(1) as u64;
    let pb = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        let pb = indicatif::ProgressBar::new(total_minutes);
        pb.set_style(
            indicatif::ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {percent}% of simulated time, {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        pb
    } else {
        indicatif::ProgressBar::hidden()
    };

    let mut engine = Engine::new(detection, args.seed)?;
    let mut samples = sample_keeper(args, detection);
    let mut facts = Facts::default();
    let mut doc = Vec::new();
    let mut bad = 0u64;
    let handler_rt = if args.exact_firehose {
        Some(
            tokio::runtime::Builder::new_current_thread()
                .build()
                .map_err(|e| RunError::Io(format!("starting a runtime: {e}")))?,
        )
    } else {
        None
    };
    let mut firehose = crate::exact::FirehoseCounts::default();
    let mut firehose_seq = 0u64;
    // --exact-firehose: the record function's documents of the batch, to compare with the handler's.
    let mut docs: Vec<u8> = Vec::new();
    let mut doc_ends: Vec<Option<(usize, usize)>> = Vec::new();
    for (batch, watermark) in rx {
        docs.clear();
        doc_ends.clear();
        for (i, line) in batch.lines().enumerate() {
            doc.clear();
            match transformer.transform_with_facts(line, batch.timestamps[i], &mut doc, &mut facts) {
                Ok(_) => {
                    engine.observe(&facts);
                    samples.offer(&facts, line);
                    if handler_rt.is_some() {
                        doc_ends.push(Some((docs.len(), docs.len() + doc.len())));
                        docs.extend_from_slice(&doc);
                    }
                }
                Err(_) => {
                    bad += 1;
                    if handler_rt.is_some() {
                        doc_ends.push(None);
                    }
                }
            }
        }
        if let Some(rt) = &handler_rt {
            use crate::exact::Expected;
            let records = (0..batch.len()).map(|i| {
                let want = doc_ends[i].map_or(Expected::Other, |(a, b)| Expected::Doc(&docs[a..b]));
                (batch.line(i), batch.timestamps[i], want)
            });
            crate::exact::run_handler(rt, transformer, records, &mut firehose_seq, &mut firehose);
        }
        outputs.handle(engine.advance(watermark), &samples)?;
        samples.prune(SAMPLE_HORIZON_MS);
        pb.inc(1);
    }
    outputs.handle(engine.finish(), &samples)?;
    pb.finish_and_clear();
    outputs.flush()?;
    let (labels, records) = generator.join().map_err(|_| RunError::Io("the simulator thread failed".into()))?;
    if bad > 0 {
        tracing::warn!(records = bad, "Records failed to encode.");
    }

    let days = duration_ms as f64 / 86_400_000.0;
    let (scenarios, false_alerts) =
        score(&labels, &outputs.alerts, detection, start_ms, args.warmup.as_millis() as i64);
    let summary = Summary {
        records,
        elapsed_s: (started.elapsed().as_secs_f64() * 100.0).round() / 100.0,
        false_alerts_per_day: Some(false_alerts as f64 / days.max(1.0 / 24.0)),
        bad_records: bad,
        firehose: args.exact_firehose.then_some(firehose),
        deliveries: outputs.deliveries(),
        engine: warn_late(engine.stats()),
        scenarios,
    };
    let span = (start_ms, start_ms + duration_ms);
    let report = crate::report::html(&summary, &labels, &outputs.series, &outputs.alerts, detection, args, span);
    let report_path = args.out.join("report.html");
    std::fs::write(&report_path, report).map_err(io(&report_path))?;
    if let Some(path) = &args.summary_json {
        let text = serde_json::to_string_pretty(&summary).unwrap_or_default();
        std::fs::write(path, text + "\n").map_err(io(path))?;
    }
    tracing::info!(
        records,
        alerts = outputs.alerts.len(),
        notifications = outputs.notifications,
        false_alerts,
        elapsed_s = summary.elapsed_s,
        "Run finished."
    );
    for s in &summary.scenarios {
        match (&s.detected_by, s.intervals_to_detect) {
            (Some(by), Some(n)) => {
                tracing::info!(scenario = %s.name, start = %s.start, intervals_to_detect = n, detected_by = %by, "Detected.")
            }
            _ => tracing::warn!(scenario = %s.name, start = %s.start, "Missed."),
        }
    }
    if let Some(f) = &summary.firehose {
        tracing::info!(
            invocations = f.invocations,
            ok = f.ok,
            dropped = f.dropped,
            processing_failed = f.processing_failed,
            mismatched = f.mismatched,
            largest_response_bytes = f.largest_response_bytes,
            "Lambda handler answers."
        );
        if f.mismatched > 0 {
            return Err(RunError::Disagreement(f.mismatched));
        }
    }
    tracing::info!(report = %report_path.display(), "Report written.");
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wafwatch_config::detection::{Aggregation, Detector, Feature, FeatureSource};

    const T0: i64 = 1_767_225_600_000;
    const MIN: i64 = 60_000;

    fn alert(monitor: &str, detector: &str, minute: i64) -> Alert {
        Alert {
            monitor_name: monitor.into(),
            detector_name: detector.into(),
            entity: None,
            priority: 2,
            start_time: T0 + (minute + 2) * MIN,
            data_start_time: T0 + minute * MIN,
            data_end_time: T0 + (minute + 1) * MIN,
            anomaly_grade: 0.9,
            confidence: 1.0,
            feature_data: vec![],
            expected_values: vec![],
            relevant_attribution: vec![],
        }
    }

    fn label(name: &'static str, from_min: i64, to_min: i64) -> Label {
        Label {
            scenario: name,
            start: rfc3339(T0 + from_min * MIN),
            end: rfc3339(T0 + to_min * MIN),
            fields: &[],
            records: 1,
        }
    }

    #[test]
    fn scoring_follows_the_definitions() {
        let detection = Detection {
            detectors: vec![Detector {
                name: "d".into(),
                description: String::new(),
                features: vec![Feature {
                    name: "f".into(),
                    source: FeatureSource::Column {
                        id: wafwatch_config::transform::ColumnId::from_index(0),
                        name: "c".into(),
                    },
                    aggregation: Aggregation::Avg,
                }],
                interval: Duration::from_secs(60),
                window_delay: Duration::from_secs(60),
                shingle_size: 8,
                category_fields: vec![],
                max_entities: 100,
                imputation: None,
                suppress: vec![],
            }],
            monitors: vec![],
            captures: vec![],
        };
        let labels = [label("a", 100, 110), label("b", 200, 210), label("c", 300, 310)];
        let alerts = [
            alert("early", "d", 30), // during warm-up (60 min): not false
            alert("m1", "d", 102),   // a: third interval
            alert("m2", "d", 101),   // a: second interval, earlier, so it wins
            alert("m1", "d", 217),   // b: after the end but within shingle (8) intervals: detected late
            alert("m1", "d", 318),   // c: end + 8 intervals is 318: outside, so c is missed and this is false
            alert("m1", "d", 500),   // false
        ];
        let (scores, false_alerts) = score(&labels, &alerts, &detection, T0, 60 * MIN);
        assert_eq!(scores[0].intervals_to_detect, Some(2));
        assert_eq!(scores[0].detected_by.as_deref(), Some("m2"));
        assert_eq!((scores[1].detected, scores[1].intervals_to_detect), (true, Some(18)));
        assert_eq!(
            (scores[2].detected, scores[2].intervals_to_detect, scores[2].detected_by.clone()),
            (false, None, None)
        );
        assert_eq!(false_alerts, 2);
    }
}
