//! # wafwatch-engine
//!
//! The local engine: the offline twin of OpenSearch anomaly detection and alerting.
//!
//! It buckets the transformer's documents into each detector's intervals exactly as the
//! detector's feature aggregations would (sum, avg, min, max, value_count, cardinality over the
//! interval `[start, start + interval)` on `@timestamp`; per entity when the detector has category
//! fields), feeds each series to a thresholded Random Cut Forest (`rcflib`'s `trcf`, the algorithm
//! behind OpenSearch AD) with the detector's shingle size, applies the detector's suppression rules
//! (AD's default when none: deviations within 20% of the expected value are not anomalies), writes
//! results shaped like AD result documents, and runs the monitors over them with the alerting
//! plugin's semantics.
//!
//! - Confidence is how full the model's samples are (`min(1, intervals seen / 256)`), which, like
//!   AD's confidence, grows as the model sees data (`rcflib` does not compute AD's).
//! - Anomaly monitors are query-level monitors over the results: each interval they look at the
//!   result with the highest grade (any entity), and fire when its grade is above `min_grade` and
//!   its confidence above `min_confidence`.
//! - Count monitors count the documents matching a rule or severity over a sliding window each
//!   minute, overall (query-level) or per value of their group-by field (bucket-level: one alert
//!   per value).
//! - An alert becomes active when its condition first holds, stays active while it holds and
//!   completes when it stops; while active it notifies at most once per throttle period.
//! - Per-entity detectors keep at most `max_entities` models: each interval the busiest entities
//!   (most documents) are scored, models of entities not seen for longest are evicted, and the
//!   rest of that interval's entities are counted as skipped.
//!
//! Where to start: [`Engine`] takes the transformer's [`Facts`] one document at a time
//! ([`Engine::observe`]) and, as time advances ([`Engine::advance`]), returns [`Event`]s: results
//! ([`AdResult`]) and alerts ([`Alert`]). The concepts live in their own modules: [`aggregate`]
//! (the feature aggregations), [`forest`] (the model and its scoring), [`suppress`] (AD's
//! suppression rules), `detector` (intervals, imputation, entities), `monitor` (the alerting
//! semantics), [`context`] (an alert as the alerting plugin's message `ctx`), [`background`] (what
//! each monitor measured, kept on request for `wafwatch tune`).
//!
//! ```
//! use wafwatch_config::file::{parse, Origin, BUNDLED_DEFAULT_TOML};
//! use wafwatch_engine::Engine;
//! use wafwatch_transformer::{Facts, Transformer};
//!
//! let config = parse(BUNDLED_DEFAULT_TOML, Origin::Bundled).unwrap().config().unwrap();
//! let t = Transformer::new(config.transform.clone()).unwrap();
//! let mut engine = Engine::new(&config.detection, 7).unwrap();
//! let (mut out, mut facts) = (Vec::new(), Facts::default());
//! t.transform_with_facts(br#"{"timestamp":1767225600000,"action":"ALLOW"}"#, 0, &mut out, &mut facts).unwrap();
//! engine.observe(&facts);
//! assert!(engine.advance(1_767_225_600_000 + 60_000).is_empty(), "the interval is not due before its window delay");
//! assert!(engine.close(1_767_225_600_001).is_empty(), "data that stops a millisecond in does not complete it");
//! assert!(!engine.close(1_767_225_600_000 + 60_000).is_empty(), "data complete to its end evaluates it");
//! ```

pub mod aggregate;
pub mod background;
pub mod context;
mod detector;
mod due;
pub mod forest;
mod monitor;
mod novelty;
pub mod result;
pub mod suppress;

use serde::Serialize;
use wafwatch_config::detection::{Detection, MonitorKind};
use wafwatch_transformer::Facts;

pub use crate::background::{Background, Measured};
use crate::detector::DetectorState;
use crate::due::Due;
pub use crate::forest::{EngineError, SAMPLE_SIZE, TREES};
use crate::monitor::MonitorState;
pub use crate::monitor::NEW_VALUES_LISTED;
pub use crate::result::{AdResult, Alert, Attribution, EntityValue, Event, FeatureData};

/// How the engine fared, for the run's summary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EngineStats {
    /// Documents that arrived after their interval had been evaluated (late by more than the window
    /// delay), summed over detectors; a live detector would not see them either.
    pub late_documents: u64,
    /// Per-entity detectors: entity intervals not scored because of `max_entities`.
    pub skipped_entity_intervals: u64,
    /// Per-entity detectors: models alive at the end.
    pub entity_models: u64,
}

/// The local engine.
pub struct Engine {
    detectors: Vec<DetectorState>,
    monitors: Vec<MonitorState>,
}

impl Engine {
    /// Builds the engine; `seed` makes runs reproducible.
    pub fn new(detection: &Detection, seed: u64) -> Result<Self, EngineError> {
        let dotted = |capture: usize| detection.captures[capture].dotted().to_owned();
        let detectors = detection
            .detectors
            .iter()
            .enumerate()
            .map(|(i, det)| {
                let names = det.category_fields.iter().map(|c| dotted(*c)).collect();
                DetectorState::new(det, names, seed.wrapping_add(i as u64))
            })
            .collect::<Result<_, _>>()?;
        let monitors = detection
            .monitors
            .iter()
            .map(|m| {
                let group = match m.kind {
                    MonitorKind::Count { group_by: Some(g), .. } | MonitorKind::NewValues { field: g, .. } => {
                        Some(dotted(g))
                    }
                    _ => None,
                };
                MonitorState::new(m, group)
            })
            .collect();
        Ok(Engine { detectors, monitors })
    }

    /// From now on, keeps what each monitor's condition measures at every evaluation
    /// ([`Engine::backgrounds`]).
    pub fn keep_backgrounds(&mut self) {
        for m in &mut self.monitors {
            m.background = Some(Vec::new());
        }
    }

    /// What each monitor measured since [`Engine::keep_backgrounds`], in configuration order.
    pub fn backgrounds(&self) -> Vec<Background> {
        self.monitors
            .iter()
            .map(|m| Background { monitor: m.mon.name.clone(), values: m.background.clone().unwrap_or_default() })
            .collect()
    }

    /// How the engine fared so far.
    pub fn stats(&self) -> EngineStats {
        let hc = self.detectors.iter().filter(|d| !d.det.category_fields.is_empty());
        EngineStats {
            late_documents: self.detectors.iter().map(|d| d.late).sum(),
            skipped_entity_intervals: hc.clone().map(|d| d.skipped_entities).sum(),
            entity_models: hc.map(|d| d.models.len() as u64).sum(),
        }
    }

    /// Adds one document.
    pub fn observe(&mut self, facts: &Facts) {
        for m in &mut self.monitors {
            m.observe(facts);
        }
        for d in &mut self.detectors {
            d.observe(facts);
        }
    }

    /// Evaluates every interval whose end plus window delay is at or before `now_ms`.
    pub fn advance(&mut self, now_ms: i64) -> Vec<Event> {
        self.evaluate(Due::Clock(now_ms))
    }

    /// The end of the data, which is complete up to `end_ms` (exclusive): evaluates every interval
    /// (and count monitor minute) that ends at or before it, whatever the window delay, since no
    /// late document can come any more. An interval the data stops inside of is left unscored, as
    /// a live detector would not score it before it closed: scored, its few documents would look
    /// like an anomaly.
    pub fn close(&mut self, end_ms: i64) -> Vec<Event> {
        self.evaluate(Due::Complete(end_ms))
    }

    /// Evaluates every remaining interval that holds data, including one the data may stop inside
    /// of (prefer [`Engine::close`] when the end of the data is known).
    pub fn finish(&mut self) -> Vec<Event> {
        self.evaluate(Due::All)
    }

    fn evaluate(&mut self, due: Due) -> Vec<Event> {
        let mut events = Vec::new();
        for (di, d) in self.detectors.iter_mut().enumerate() {
            while let Some(results) = d.next_due(due) {
                for m in self.monitors.iter_mut().filter(|m| m.watches(di)) {
                    m.on_results(&d.det.name, &results, &mut events);
                }
                events.extend(results.into_iter().map(Event::Result));
            }
        }
        for m in &mut self.monitors {
            m.count(due, &mut events);
        }
        events
    }
}

#[cfg(test)]
mod tests;
