//! The pipeline as `tune` runs it, many times over: simulated traffic or the user's inputs through
//! the record function and what detects (the engine, or the naive baseline: [`Detects`]), keeping
//! only the alerts and, when asked, the backgrounds.

use std::path::PathBuf;

use wafwatch_config::detection::Detection;
use wafwatch_engine::{Alert, Background, Engine, Event};
use wafwatch_log_simulator::sim::inject::Injection;
use wafwatch_log_simulator::sim::{Batch, Label, SimConfig, Simulation};
use wafwatch_transformer::{Facts, Transformer};

use crate::run::RunError;
use crate::run::open::for_each_line;

/// What one pass gave.
#[derive(Debug, Default)]
pub struct Pass {
    /// The alerts raised.
    pub alerts: Vec<Alert>,
    /// The monitors' backgrounds (empty unless kept).
    pub backgrounds: Vec<Background>,
    /// The simulated or injected scenarios' labels.
    pub labels: Vec<Label>,
    /// The time covered (epoch ms, end exclusive).
    pub span: (i64, i64),
}

/// What detects: the configuration's engine, or the naive baseline ([`super::baseline`]). It
/// takes the documents one at a time and, as the data's time passes, says what it alerts on.
pub trait Detects {
    /// Adds one document.
    fn observe(&mut self, facts: &Facts);
    /// Evaluates what is due by `now_ms` (as [`Engine::advance`]); the new alerts.
    fn advance(&mut self, now_ms: i64) -> Vec<Alert>;
    /// The data is complete up to `end_ms` (as [`Engine::close`]); the new alerts.
    fn close(&mut self, end_ms: i64) -> Vec<Alert>;
    /// What each monitor measured, when kept.
    fn backgrounds(&self) -> Vec<Background>;
}

/// The new alerts among `events` (not the results, nor the repeat notifications).
fn alerts(events: Vec<Event>) -> Vec<Alert> {
    events.into_iter().filter_map(|e| if let Event::Alert(a) = e { Some(a) } else { None }).collect()
}

impl Detects for Engine {
    fn observe(&mut self, facts: &Facts) {
        Engine::observe(self, facts);
    }

    fn advance(&mut self, now_ms: i64) -> Vec<Alert> {
        alerts(Engine::advance(self, now_ms))
    }

    fn close(&mut self, end_ms: i64) -> Vec<Alert> {
        alerts(Engine::close(self, end_ms))
    }

    fn backgrounds(&self) -> Vec<Background> {
        Engine::backgrounds(self)
    }
}

/// The engine for `detection`, keeping the backgrounds when `keep`.
pub fn engine(detection: &Detection, seed: u64, keep: bool) -> Result<Engine, RunError> {
    let mut engine = Engine::new(detection, seed)?;
    if keep {
        engine.keep_backgrounds();
    }
    Ok(engine)
}

/// What detects, the record function before it, and what it has raised.
struct Detect<'a> {
    transformer: &'a Transformer,
    detects: &'a mut dyn Detects,
    facts: Facts,
    doc: Vec<u8>,
    alerts: Vec<Alert>,
}

impl<'a> Detect<'a> {
    fn new(transformer: &'a Transformer, detects: &'a mut dyn Detects) -> Self {
        Detect { transformer, detects, facts: Facts::default(), doc: Vec::new(), alerts: Vec::new() }
    }

    /// Encodes and observes one record; its timestamp when it could be encoded.
    fn record(&mut self, line: &[u8], arrival_ms: i64) -> Option<i64> {
        self.doc.clear();
        self.transformer.transform_with_facts(line, arrival_ms, &mut self.doc, &mut self.facts).ok()?;
        self.detects.observe(&self.facts);
        Some(self.facts.timestamp_ms)
    }

    /// Evaluates what is due by `now_ms`, keeping the alerts.
    fn advance(&mut self, now_ms: i64) {
        let alerts = self.detects.advance(now_ms);
        self.alerts.extend(alerts);
    }

    fn end(self, span: (i64, i64), labels: Vec<Label>) -> Pass {
        let mut alerts = self.alerts;
        alerts.extend(self.detects.close(span.1));
        Pass { backgrounds: self.detects.backgrounds(), alerts, labels, span }
    }
}

/// Simulates `config` (which must be bounded) through the pipeline.
pub fn simulate(transformer: &Transformer, detects: &mut dyn Detects, config: SimConfig) -> Pass {
    let span = (config.start_ms, config.start_ms + config.duration_ms.unwrap_or(0));
    let mut detect = Detect::new(transformer, detects);
    let mut sim = Simulation::new(config);
    let mut batch = Batch::default();
    while !sim.finished() {
        batch.clear();
        for _ in 0..60 {
            sim.next_second(&mut batch);
        }
        for (i, line) in batch.lines().enumerate() {
            detect.record(line, batch.timestamps[i]);
        }
        detect.advance(sim.next_second_start());
    }
    detect.end(span, sim.labels())
}

/// Runs the user's `inputs` through the pipeline, with the `injected` records merged in time
/// order (each observed before time passes it).
pub fn inputs(
    transformer: &Transformer,
    detects: &mut dyn Detects,
    inputs: &[PathBuf],
    injected: Option<&Injection>,
) -> Result<Pass, RunError> {
    let mut detect = Detect::new(transformer, detects);
    let (mut first, mut last) = (i64::MAX, i64::MIN);
    let now = chrono::Utc::now().timestamp_millis();
    let mut next = 0;
    let mut merge = |detect: &mut Detect<'_>, until: i64| {
        let Some(inj) = injected else { return };
        while next < inj.batch.len() && inj.batch.timestamps[next] <= until {
            detect.record(inj.batch.line(next).trim_ascii_end(), now);
            next += 1;
        }
    };
    for path in inputs {
        for_each_line(path, |line| {
            if let Some(ts) = detect.record(line, now) {
                merge(&mut detect, ts);
                first = first.min(ts);
                if ts > last {
                    last = ts;
                    detect.advance(ts);
                }
            }
            Ok(())
        })?;
    }
    merge(&mut detect, i64::MAX);
    if first > last {
        return Err(RunError::Usage("no record of the inputs could be read in the configured format".into()));
    }
    let labels = injected.map(|i| i.labels.clone()).unwrap_or_default();
    Ok(detect.end((first, last + 1), labels))
}
