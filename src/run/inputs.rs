//! `wafwatch run --input`: the detectors and monitors over the user's own logs, gzip or not,
//! standard input included, and with `--follow` over a file that is still growing.

use std::io::BufRead;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use wafwatch_config::detection::Detection;
use wafwatch_engine::Engine;
use wafwatch_transformer::{Facts, RecordError, Transformer};

use super::args::RunArgs;
use super::deliver::Deliverer;
use super::error::RunError;
use super::finish::write_labels;
use super::inject::{Injected, prepare};
use super::open::open_input;
use super::outputs::Outputs;
use super::samples::{SAMPLE_HORIZON_MS, Samples};
use super::score::score;
use super::shape::Coverage;
use super::summary::{Summary, warn_late};

/// A follower closes intervals by the clock only when the data is this close to now: a follower
/// of an old file must not jump past records still to come.
const LIVE_WITHIN_MS: i64 = 15 * 60_000;

/// How long a follower waits for a file to grow.
const FOLLOW_POLL: Duration = Duration::from_millis(200);

/// The detection side of an input run: every record goes through the transformer and the engine.
struct Detect<'a> {
    transformer: &'a Transformer,
    engine: Engine,
    samples: Samples,
    outputs: Outputs<'a>,
    facts: Facts,
    doc: Vec<u8>,
    /// With --inject: the records to merge in.
    injected: Option<Injected>,
    /// Whether the input's records carry the fields the configuration reads.
    coverage: Coverage,
    records: u64,
    first_ts: i64,
    last_ts: i64,
}

impl Detect<'_> {
    /// Encodes one record and feeds it to the engine (after the injected records older than it),
    /// which evaluates whatever its time closes.
    fn record(&mut self, record: &[u8]) -> Result<Result<(), RecordError>, RunError> {
        self.doc.clear();
        let now = Utc::now().timestamp_millis();
        self.coverage.observe(record, now);
        let mut facts = std::mem::take(&mut self.facts);
        let fed = match self.transformer.transform_with_facts(record, now, &mut self.doc, &mut facts) {
            Ok(_) => self.inject_before(facts.timestamp_ms).and_then(|()| self.feed(&facts, record)).map(Ok),
            Err(e) => Ok(Err(e)),
        };
        self.facts = facts;
        fed
    }

    /// Feeds the injected records older than `ts` (epoch ms).
    fn inject_before(&mut self, ts: i64) -> Result<(), RunError> {
        let Some(mut injected) = self.injected.take() else { return Ok(()) };
        let mut facts = std::mem::take(&mut injected.facts);
        let mut result = Ok(());
        while let Some(line) = injected.before(ts) {
            self.doc.clear();
            if self.transformer.transform_with_facts(line, ts, &mut self.doc, &mut facts).is_ok() {
                result = self.feed(&facts, line);
                if result.is_err() {
                    break;
                }
            }
        }
        injected.facts = facts;
        self.injected = Some(injected);
        result
    }

    /// Adds one encoded record to the engine and the samples, and evaluates what its time closes.
    fn feed(&mut self, facts: &Facts, record: &[u8]) -> Result<(), RunError> {
        self.records += 1;
        self.engine.observe(facts);
        self.samples.offer(facts, record);
        self.first_ts = self.first_ts.min(facts.timestamp_ms);
        if facts.timestamp_ms > self.last_ts {
            self.last_ts = facts.timestamp_ms;
            let new = self.engine.advance(self.last_ts);
            if !new.is_empty() {
                self.outputs.handle(new, &self.samples)?;
                self.samples.prune(SAMPLE_HORIZON_MS);
            }
        }
        Ok(())
    }

    /// While a follower waits: close intervals by the clock when the data is live.
    fn tick(&mut self) -> Result<(), RunError> {
        let now = Utc::now().timestamp_millis();
        let live = self.last_ts > i64::MIN && now - self.last_ts < LIVE_WITHIN_MS;
        let clock = if live { now } else { self.last_ts };
        let events = self.engine.advance(clock);
        self.outputs.handle(events, &self.samples)
    }
}

/// Reads one input to its end (a follower: until Ctrl-C), returning its lines and bad lines.
fn read_input(detect: &mut Detect<'_>, path: &Path, follow: bool, stop: &AtomicBool) -> Result<(u64, u64), RunError> {
    let mut input = open_input(path)?;
    let (mut lines, mut bad) = (0u64, 0u64);
    let mut line = Vec::new();
    // What a follower has read of a line still being written.
    let mut partial: Vec<u8> = Vec::new();
    loop {
        line.clear();
        line.append(&mut partial);
        let got = input
            .read_until(b'\n', &mut line)
            .map_err(|e| RunError::Usage(format!("reading {}: {e}", path.display())))?;
        let at_end = got == 0 || !line.ends_with(b"\n");
        if at_end && follow && !stop.load(Ordering::SeqCst) {
            partial = std::mem::take(&mut line);
            std::thread::sleep(FOLLOW_POLL);
            detect.tick()?;
            continue;
        }
        // At the end, a last line without a newline still counts.
        if !line.trim_ascii().is_empty() {
            lines += 1;
            let record = line.strip_suffix(b"\n").unwrap_or(&line);
            if let Err(e) = detect.record(record)? {
                bad += 1;
                if bad <= 5 {
                    tracing::warn!(input = %path.display(), line = lines, error = %e, "Line skipped.");
                }
            }
        }
        if at_end {
            break;
        }
    }
    if lines > 0 && bad == lines {
        return Err(RunError::Usage(format!(
            "{} does not look like logs in the configured format: none of its {lines} lines could be read (the first error is logged above)",
            path.display()
        )));
    }
    Ok((lines, bad))
}

/// Ctrl-C sets the returned flag (a follower then stops and writes the report).
fn stop_on_ctrl_c() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    std::thread::spawn(move || {
        if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_io().build() {
            let _ = rt.block_on(tokio::signal::ctrl_c());
            flag.store(true, Ordering::SeqCst);
        }
    });
    stop
}

/// Runs the detectors and monitors over the user's own logs, with `--inject` merging simulated
/// scenarios into them and scoring the run against those.
pub(crate) fn run(
    args: &RunArgs,
    transformer: &Transformer,
    detection: &Detection,
    deliverer: Option<Deliverer>,
) -> Result<Summary, RunError> {
    let started = Instant::now();
    let injected = prepare(args, transformer)?;
    let stop = if args.follow { stop_on_ctrl_c() } else { Arc::new(AtomicBool::new(false)) };
    let mut detect = Detect {
        transformer,
        engine: Engine::new(detection, args.traffic.seed)?,
        samples: Samples::new(detection, args.samples, args.redacted_headers()),
        outputs: Outputs::new(args, detection, deliverer)?,
        facts: Facts::default(),
        doc: Vec::new(),
        injected,
        coverage: Coverage::new(transformer.config()),
        records: 0,
        first_ts: i64::MAX,
        last_ts: i64::MIN,
    };
    let mut bad = 0;
    for (n, path) in args.inputs.iter().enumerate() {
        let follow = args.follow && n + 1 == args.inputs.len();
        bad += read_input(&mut detect, path, follow, &stop)?.1;
    }
    detect.inject_before(i64::MAX)?;
    detect.coverage.finish();
    if args.follow {
        tracing::info!("Stopped; writing the report.");
    }
    let labels = detect.injected.as_ref().map(|i| i.labels().to_vec()).unwrap_or_default();
    let Detect { mut engine, samples, mut outputs, records, first_ts, last_ts, .. } = detect;
    // The input covers time up to its last record: an interval it stops inside of is not scored
    // (issue 12: scored, the last minute's few records raised false alerts).
    if last_ts > i64::MIN {
        outputs.handle(engine.close(last_ts + 1), &samples)?;
    }
    outputs.flush()?;
    if bad > 0 {
        tracing::warn!(bad, "Lines could not be read and were skipped.");
    }
    let span = if first_ts <= last_ts { (first_ts, last_ts + 1) } else { (0, 1) };
    let (scenarios, false_alerts_per_day) = scored(args, detection, &labels, &outputs, span)?;
    let summary = Summary {
        records,
        elapsed_s: (started.elapsed().as_secs_f64() * 100.0).round() / 100.0,
        false_alerts_per_day,
        bad_records: bad,
        firehose: None,
        deliveries: outputs.deliveries(),
        engine: warn_late(engine.stats()),
        scenarios,
    };
    let report_path = super::finish::write(args, detection, &summary, &labels, &outputs, span)?;
    tracing::info!(records, bad, alerts = outputs.alerts.len(), notifications = outputs.notifications,
        report = %report_path.display(), "Run finished.");
    super::finish::log_scores(&summary);
    Ok(summary)
}

/// With injected scenarios: the run's score against them over `span` (epoch ms), and the false
/// alerts per day (the warm-up counted from the input's start); nothing without.
fn scored(
    args: &RunArgs,
    detection: &Detection,
    labels: &[wafwatch_log_simulator::sim::Label],
    outputs: &Outputs<'_>,
    span: (i64, i64),
) -> Result<(Vec<super::score::ScenarioScore>, Option<f64>), RunError> {
    if args.injects.is_empty() {
        return Ok((Vec::new(), None));
    }
    write_labels(args, labels)?;
    let (scenarios, false_alerts) = score(labels, &outputs.alerts, detection, span.0, args.warmup.as_millis() as i64);
    let days = (span.1 - span.0) as f64 / 86_400_000.0;
    Ok((scenarios, Some(false_alerts as f64 / days.max(1.0 / 24.0))))
}
