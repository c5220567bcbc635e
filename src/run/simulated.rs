//! `wafwatch run` on simulated traffic: the simulator on one thread, encoding and detection on
//! this one, a bounded queue of one-minute batches between them (so memory does not grow with the
//! duration), and, with `--exact-firehose`, the Lambda handler itself on every batch.

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Instant;

use wafwatch_config::detection::Detection;
use wafwatch_engine::Engine;
use wafwatch_log_simulator::sim::{Batch, Label, SimConfig, Simulation};
use wafwatch_transformer::{Facts, Transformer};

use super::args::RunArgs;
use super::deliver::Deliverer;
use super::error::RunError;
use super::exact::{Expected, FirehoseCounts, run_handler};
use super::outputs::Outputs;
use super::samples::{SAMPLE_HORIZON_MS, Samples};
use super::score::score;
use super::shape::{Coverage, record_shape};
use super::summary::{Summary, warn_late};

/// Batches of simulated time in flight between the simulator and the detection thread.
const QUEUE_BATCHES: usize = 16;

/// One simulated minute, and the time the data is complete up to.
type Minute = (Batch, i64);

/// What the simulator thread ends with: the labels and the number of records generated.
type Generated = JoinHandle<(Vec<Label>, u64)>;

/// Starts the simulator on its own thread, sending one simulated minute at a time.
fn spawn_generator(config: SimConfig) -> (mpsc::Receiver<Minute>, Generated) {
    let (tx, rx) = mpsc::sync_channel::<Minute>(QUEUE_BATCHES);
    let handle = std::thread::spawn(move || {
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
    (rx, handle)
}

/// A progress bar over simulated minutes, on a terminal only.
fn progress(total_minutes: u64) -> indicatif::ProgressBar {
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new(total_minutes);
    pb.set_style(
        indicatif::ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {percent}% of simulated time, {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    pb
}

/// `--exact-firehose`: the handler's runtime, the record function's documents of the batch to
/// compare with, and what the handler answered.
struct Exact {
    rt: tokio::runtime::Runtime,
    docs: Vec<u8>,
    doc_ends: Vec<Option<(usize, usize)>>,
    seq: u64,
    counts: FirehoseCounts,
}

impl Exact {
    fn new() -> Result<Self, RunError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .map_err(|e| RunError::Io(format!("starting a runtime: {e}")))?;
        Ok(Exact { rt, docs: Vec::new(), doc_ends: Vec::new(), seq: 0, counts: FirehoseCounts::default() })
    }

    /// Runs the handler over the batch and compares each answer with the record function's.
    fn check(&mut self, transformer: &Transformer, batch: &Batch) {
        let records = (0..batch.len()).map(|i| {
            let want = self.doc_ends[i].map_or(Expected::Other, |(a, b)| Expected::Doc(&self.docs[a..b]));
            (batch.line(i), batch.timestamps[i], want)
        });
        run_handler(&self.rt, transformer, records, &mut self.seq, &mut self.counts);
        self.docs.clear();
        self.doc_ends.clear();
    }
}

/// Encodes one batch and feeds it to the engine; returns the records that failed to encode.
fn encode_batch(
    transformer: &Transformer,
    batch: &Batch,
    engine: &mut Engine,
    samples: &mut Samples,
    mut exact: Option<&mut Exact>,
) -> u64 {
    let (mut facts, mut doc, mut bad) = (Facts::default(), Vec::new(), 0);
    for (i, line) in batch.lines().enumerate() {
        doc.clear();
        match transformer.transform_with_facts(line, batch.timestamps[i], &mut doc, &mut facts) {
            Ok(_) => {
                engine.observe(&facts);
                samples.offer(&facts, line);
                if let Some(x) = exact.as_deref_mut() {
                    x.doc_ends.push(Some((x.docs.len(), x.docs.len() + doc.len())));
                    x.docs.extend_from_slice(&doc);
                }
            }
            Err(_) => {
                bad += 1;
                if let Some(x) = exact.as_deref_mut() {
                    x.doc_ends.push(None);
                }
            }
        }
    }
    bad
}

/// Simulates, encodes, detects and scores the run `args` describes.
pub(crate) fn run(
    args: &RunArgs,
    transformer: &Transformer,
    detection: &Detection,
    deliverer: Option<Deliverer>,
) -> Result<Summary, RunError> {
    let started = Instant::now();
    let start_ms = args.traffic.from.timestamp_millis();
    let duration_ms = args.traffic.duration.as_millis() as i64;
    let format = record_shape(transformer.config());
    let mut coverage = Coverage::new(transformer.config());
    let (rx, generator) = spawn_generator(SimConfig {
        start_ms,
        duration_ms: Some(duration_ms),
        rate: args.traffic.rate,
        seed: args.traffic.seed,
        format,
        scenarios: args.scenarios_or_default(format),
        anomaly_rate: args.anomaly_rate,
    });
    let mut outputs = Outputs::new(args, detection, deliverer)?;
    let pb = progress((duration_ms / 60_000).max(1) as u64);
    let mut engine = Engine::new(detection, args.traffic.seed)?;
    let mut samples = Samples::new(detection, args.samples, args.redacted_headers());
    let mut exact = if args.exact_firehose { Some(Exact::new()?) } else { None };
    let mut bad = 0u64;
    for (batch, watermark) in rx {
        for (line, ts) in batch.lines().zip(&batch.timestamps) {
            if !coverage.wants_more() {
                break;
            }
            coverage.observe(line, *ts);
        }
        bad += encode_batch(transformer, &batch, &mut engine, &mut samples, exact.as_mut());
        if let Some(x) = &mut exact {
            x.check(transformer, &batch);
        }
        outputs.handle(engine.advance(watermark), &samples)?;
        samples.prune(SAMPLE_HORIZON_MS);
        pb.inc(1);
    }
    outputs.handle(engine.close(start_ms + duration_ms), &samples)?;
    coverage.finish();
    pb.finish_and_clear();
    outputs.flush()?;
    let (labels, records) = generator.join().map_err(|_| RunError::Io("the simulator thread failed".into()))?;
    super::finish::write_labels(args, &labels)?;
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
        firehose: exact.map(|x| x.counts),
        deliveries: outputs.deliveries(),
        engine: warn_late(engine.stats()),
        scenarios,
    };
    let report_path =
        super::finish::write(args, detection, &summary, &labels, &outputs, (start_ms, start_ms + duration_ms))?;
    tracing::info!(
        records,
        alerts = outputs.alerts.len(),
        notifications = outputs.notifications,
        false_alerts,
        elapsed_s = summary.elapsed_s,
        "Run finished."
    );
    super::finish::log_scores(&summary);
    if let Some(mismatched) = summary.firehose.map(|f| f.mismatched).filter(|m| *m > 0) {
        return Err(RunError::Disagreement(mismatched));
    }
    tracing::info!(report = %report_path.display(), "Report written.");
    Ok(summary)
}
