//! The pipeline as `tune` runs it, many times over: simulated traffic or the user's inputs through
//! the record function and the engine, keeping only the alerts and, when asked, the backgrounds.

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

/// The engine and what it has raised.
struct Detect<'a> {
    transformer: &'a Transformer,
    engine: Engine,
    facts: Facts,
    doc: Vec<u8>,
    alerts: Vec<Alert>,
}

impl<'a> Detect<'a> {
    fn new(transformer: &'a Transformer, detection: &Detection, seed: u64, keep: bool) -> Result<Self, RunError> {
        let mut engine = Engine::new(detection, seed)?;
        if keep {
            engine.keep_backgrounds();
        }
        Ok(Detect { transformer, engine, facts: Facts::default(), doc: Vec::new(), alerts: Vec::new() })
    }

    /// Encodes and observes one record; its timestamp when it could be encoded.
    fn record(&mut self, line: &[u8], arrival_ms: i64) -> Option<i64> {
        self.doc.clear();
        self.transformer.transform_with_facts(line, arrival_ms, &mut self.doc, &mut self.facts).ok()?;
        self.engine.observe(&self.facts);
        Some(self.facts.timestamp_ms)
    }

    fn keep(&mut self, events: Vec<Event>) {
        self.alerts.extend(events.into_iter().filter_map(|e| if let Event::Alert(a) = e { Some(a) } else { None }));
    }

    fn end(mut self, span: (i64, i64), labels: Vec<Label>) -> Pass {
        let events = self.engine.close(span.1);
        self.keep(events);
        Pass { backgrounds: self.engine.backgrounds(), alerts: self.alerts, labels, span }
    }
}

/// Simulates `config` (which must be bounded) through the pipeline.
pub fn simulate(
    transformer: &Transformer,
    detection: &Detection,
    config: SimConfig,
    keep: bool,
) -> Result<Pass, RunError> {
    let span = (config.start_ms, config.start_ms + config.duration_ms.unwrap_or(0));
    let mut detect = Detect::new(transformer, detection, config.seed, keep)?;
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
        let events = detect.engine.advance(sim.next_second_start());
        detect.keep(events);
    }
    Ok(detect.end(span, sim.labels()))
}

/// Runs the user's `inputs` through the pipeline, with the `injected` records merged in time
/// order (each observed before the engine's time passes it).
pub fn inputs(
    transformer: &Transformer,
    detection: &Detection,
    inputs: &[PathBuf],
    seed: u64,
    keep: bool,
    injected: Option<&Injection>,
) -> Result<Pass, RunError> {
    let mut detect = Detect::new(transformer, detection, seed, keep)?;
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
                    let events = detect.engine.advance(ts);
                    detect.keep(events);
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
