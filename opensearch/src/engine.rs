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

use std::collections::{BTreeMap, HashMap, HashSet};

use rcflib::trcf::basictrcf::{BasicTRCF, BasicTRCFBuilder};
use serde::Serialize;
use wafwatch_transformer::Facts;

use crate::detection::{
    Aggregation, Detection, Detector, FeatureSource, Imputation, Monitor, MonitorKind, Suppression, ThresholdType,
};

/// Trees per forest, as OpenSearch AD uses.
pub const TREES: usize = 30;
/// Samples per tree, as OpenSearch AD uses.
pub const SAMPLE_SIZE: usize = 256;

/// One feature's value in a result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeatureData {
    /// Feature name.
    pub feature_name: String,
    /// Aggregated value.
    pub data: f64,
}

/// One feature's share of an anomaly.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attribution {
    /// Feature name.
    pub feature_name: String,
    /// Share of the anomaly score, 0 to 1.
    pub data: f64,
}

/// One category field's value, as AD writes `entity`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct EntityValue {
    /// The field's name in the index (dotted).
    pub name: String,
    /// Its value.
    pub value: String,
}

/// A detector's result for one interval, shaped like an AD result document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdResult {
    /// The detector's name (the local engine has no ids).
    pub detector_id: String,
    /// The entity, for per-entity detectors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity: Option<Vec<EntityValue>>,
    /// Interval start, epoch ms.
    pub data_start_time: i64,
    /// Interval end, epoch ms.
    pub data_end_time: i64,
    /// When a live detector would have run: interval end plus window delay.
    pub execution_end_time: i64,
    /// Aggregated features.
    pub feature_data: Vec<FeatureData>,
    /// Whether the interval had no documents and its values were imputed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub feature_imputed: bool,
    /// Random Cut Forest score.
    pub anomaly_score: f64,
    /// 0 (normal) to 1.
    pub anomaly_grade: f64,
    /// How much the model trusts the result, 0 to 1.
    pub confidence: f64,
    /// Score threshold at this point.
    pub threshold: f64,
    /// Which features drove the anomaly (empty when not anomalous).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub relevant_attribution: Vec<Attribution>,
    /// What the model expected (anomalies only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expected_values: Vec<FeatureData>,
}

/// An alert (an activation of a monitor's trigger).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// The monitor.
    pub monitor_name: String,
    /// Its detector's name, or `rule:NAME` / `severity:LEVEL` for count monitors.
    pub detector_name: String,
    /// The entity or group-by value, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity: Option<Vec<EntityValue>>,
    /// Priority 1 (highest) to 5.
    pub priority: u8,
    /// When it became active (the result's execution end time), epoch ms.
    pub start_time: i64,
    /// The anomalous interval.
    pub data_start_time: i64,
    /// The anomalous interval's end.
    pub data_end_time: i64,
    /// Grade when it fired (1 for count monitors).
    pub anomaly_grade: f64,
    /// Confidence when it fired.
    pub confidence: f64,
    /// Feature values when it fired (the count, for count monitors).
    pub feature_data: Vec<FeatureData>,
    /// What the model expected.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expected_values: Vec<FeatureData>,
    /// What drove it.
    pub relevant_attribution: Vec<Attribution>,
}

/// What the engine produced while advancing.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A detector result.
    Result(AdResult),
    /// A new alert.
    Alert(Alert),
    /// A repeat notification of an active alert, after its throttle period, with the values of
    /// the result that repeated it (`start_time` is when).
    Renotify(Alert),
}

#[derive(Debug, Clone)]
struct Acc {
    count: u64,
    sum: Vec<f64>,
    min: Vec<f64>,
    max: Vec<f64>,
    /// Documents having each feature's field.
    present: Vec<u64>,
    /// Distinct values, for cardinality features.
    distinct: Vec<Option<HashSet<String>>>,
}

impl Acc {
    fn new(det: &Detector) -> Self {
        let n = det.features.len();
        Acc {
            count: 0,
            sum: vec![0.0; n],
            min: vec![f64::INFINITY; n],
            max: vec![f64::NEG_INFINITY; n],
            present: vec![0; n],
            distinct: det
                .features
                .iter()
                .map(|f| (f.aggregation == Aggregation::Cardinality).then(HashSet::new))
                .collect(),
        }
    }

    fn add(&mut self, det: &Detector, facts: &Facts) {
        self.count += 1;
        for (k, f) in det.features.iter().enumerate() {
            match &f.source {
                FeatureSource::Column { index, .. } => {
                    let v = if facts.columns.get(*index).copied().unwrap_or(false) { 1.0 } else { 0.0 };
                    self.sum[k] += v;
                    self.min[k] = self.min[k].min(v);
                    self.max[k] = self.max[k].max(v);
                    self.present[k] += 1;
                }
                FeatureSource::Field { capture, .. } => {
                    if let Some(Some(value)) = facts.captured.get(*capture) {
                        self.present[k] += 1;
                        if let Some(set) = &mut self.distinct[k]
                            && !set.contains(value.as_str())
                        {
                            set.insert(value.clone());
                        }
                    }
                }
            }
        }
    }

    /// The features' values, as the aggregations compute them (an empty interval has none).
    fn values(&self, det: &Detector) -> Vec<f64> {
        det.features
            .iter()
            .enumerate()
            .map(|(k, f)| match f.aggregation {
                Aggregation::Sum => self.sum[k],
                Aggregation::Avg => self.sum[k] / self.count.max(1) as f64,
                Aggregation::Min if self.present[k] > 0 => self.min[k],
                Aggregation::Max if self.present[k] > 0 => self.max[k],
                Aggregation::Min | Aggregation::Max => 0.0,
                Aggregation::ValueCount => self.present[k] as f64,
                Aggregation::Cardinality => self.distinct[k].as_ref().map_or(0, HashSet::len) as f64,
            })
            .collect()
    }
}

struct Model {
    forest: BasicTRCF,
    seq: u64,
    last_used: i64,
}

struct DetectorState {
    det: Detector,
    /// Field names (dotted) of the category fields.
    entity_names: Vec<String>,
    /// Interval start -> entity key -> accumulator. Single-stream detectors use the key "".
    buckets: BTreeMap<i64, Bucket>,
    models: HashMap<String, Model>,
    seed: u64,
    /// The next interval to evaluate, once data has started.
    next_start: Option<i64>,
    last_values: Option<Vec<f64>>,
    skipped_entities: u64,
    /// Documents that arrived after their interval was evaluated.
    late: u64,
    key_buf: String,
}

/// One interval's documents: one accumulator, or one per entity.
#[derive(Default)]
enum Bucket {
    #[default]
    Empty,
    Single(Acc),
    Entities(HashMap<String, Acc>),
}

#[derive(Default)]
struct AlertState {
    last_notified: i64,
}

struct MonitorState {
    mon: Monitor,
    /// Active alerts by entity key ("" when not grouped).
    active: HashMap<String, AlertState>,
    /// Count monitors: matching documents per minute, per group key.
    minutes: BTreeMap<i64, HashMap<String, u64>>,
    /// Count monitors: the next minute to evaluate.
    next_minute: Option<i64>,
    group_name: Option<String>,
}

const MINUTE: i64 = 60_000;
const KEY_SEP: char = '\u{1f}';

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the Random Cut Forest for detector `{detector}`: {reason}")]
pub struct EngineError {
    /// The detector.
    pub detector: String,
    /// Why.
    pub reason: String,
}

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

fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

fn build_forest(det: &Detector, seed: u64) -> Result<BasicTRCF, EngineError> {
    use rcflib::rcf::RCFOptionsBuilder;
    BasicTRCFBuilder::new(det.features.len(), det.shingle_size)
        .tree_capacity(SAMPLE_SIZE)
        .number_of_trees(TREES)
        .random_seed(seed)
        .build()
        .map_err(|e| EngineError { detector: det.name.clone(), reason: format!("{e:?}") })
}

fn dotted(pointer: &str) -> String {
    crate::index::dotted(pointer).unwrap_or_else(|_| pointer.trim_start_matches('/').replace('/', "."))
}

fn entity_of(names: &[String], key: &str) -> Option<Vec<EntityValue>> {
    (!names.is_empty()).then(|| {
        names
            .iter()
            .zip(key.split(KEY_SEP))
            .map(|(n, v)| EntityValue { name: n.clone(), value: v.to_owned() })
            .collect()
    })
}

/// Whether an anomaly survives the suppression rules: some feature deviates from its expected
/// value beyond every rule on that feature.
pub fn survives(rules: &[Suppression], actual: &[f64], expected: &[f64]) -> bool {
    (0..actual.len().min(expected.len())).any(|k| {
        let (a, e) = (actual[k], expected[k]);
        if a == e {
            return false;
        }
        let above = a > e;
        let margin = (a - e).abs();
        let ratio = if e == 0.0 { f64::INFINITY } else { margin / e.abs() };
        !rules.iter().filter(|r| r.feature == k).any(|r| match (r.kind, r.value) {
            (ThresholdType::ActualOverExpectedMargin, Some(v)) => above && margin <= v,
            (ThresholdType::ExpectedOverActualMargin, Some(v)) => !above && margin <= v,
            (ThresholdType::ActualOverExpectedRatio, Some(v)) => above && ratio <= v,
            (ThresholdType::ExpectedOverActualRatio, Some(v)) => !above && ratio <= v,
            (ThresholdType::ActualIsOverExpected, _) => above,
            (ThresholdType::ActualIsBelowExpected, _) => !above,
            _ => false,
        })
    })
}

impl Engine {
    /// Builds the engine; `seed` makes runs reproducible.
    pub fn new(detection: &Detection, seed: u64) -> Result<Self, EngineError> {
        let mut detectors = Vec::new();
        for (i, det) in detection.detectors.iter().enumerate() {
            let seed = seed.wrapping_add(i as u64);
            let mut models = HashMap::new();
            if det.category_fields.is_empty() {
                // Single-stream: one model, built now so a bad configuration fails at start.
                models.insert(String::new(), Model { forest: build_forest(det, seed)?, seq: 0, last_used: 0 });
            }
            detectors.push(DetectorState {
                det: det.clone(),
                entity_names: det.category_fields.iter().map(|c| dotted(&detection.captures[*c])).collect(),
                buckets: BTreeMap::new(),
                models,
                seed,
                next_start: None,
                last_values: None,
                skipped_entities: 0,
                late: 0,
                key_buf: String::new(),
            });
        }
        let monitors = detection
            .monitors
            .iter()
            .map(|m| MonitorState {
                mon: m.clone(),
                active: HashMap::new(),
                minutes: BTreeMap::new(),
                next_minute: None,
                group_name: match m.kind {
                    MonitorKind::Count { group_by: Some(g), .. } => Some(dotted(&detection.captures[g])),
                    _ => None,
                },
            })
            .collect();
        Ok(Engine { detectors, monitors })
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
        let minute = facts.timestamp_ms - facts.timestamp_ms.rem_euclid(MINUTE);
        for m in &mut self.monitors {
            if let MonitorKind::Count { ref filter, group_by, .. } = m.mon.kind {
                m.next_minute.get_or_insert(minute);
                if filter.matches(&facts.rules, facts.severity) {
                    let key = match group_by {
                        None => "",
                        Some(g) => match facts.captured.get(g) {
                            Some(Some(v)) => v.as_str(),
                            // A document without the field is in no bucket.
                            _ => continue,
                        },
                    };
                    let per = m.minutes.entry(minute).or_default();
                    match per.get_mut(key) {
                        Some(n) => *n += 1,
                        None => {
                            per.insert(key.to_owned(), 1);
                        }
                    }
                }
            }
        }
        for d in &mut self.detectors {
            let interval = d.det.interval.as_millis() as i64;
            let start = facts.timestamp_ms - facts.timestamp_ms.rem_euclid(interval);
            if d.next_start.is_some_and(|n| start < n) {
                // Too late: that interval has been evaluated, as a live detector would have.
                d.late += 1;
                continue;
            }
            d.next_start.get_or_insert(start);
            d.key_buf.clear();
            let mut missing = false;
            for (j, c) in d.det.category_fields.iter().enumerate() {
                match facts.captured.get(*c) {
                    Some(Some(v)) => {
                        if j > 0 {
                            d.key_buf.push(KEY_SEP);
                        }
                        d.key_buf.push_str(v);
                    }
                    _ => missing = true,
                }
            }
            if missing {
                continue;
            }
            let bucket = d.buckets.entry(start).or_default();
            if d.det.category_fields.is_empty() {
                if let Bucket::Empty = bucket {
                    *bucket = Bucket::Single(Acc::new(&d.det));
                }
                if let Bucket::Single(acc) = bucket {
                    acc.add(&d.det, facts);
                }
                continue;
            }
            if let Bucket::Empty = bucket {
                *bucket = Bucket::Entities(HashMap::new());
            }
            if let Bucket::Entities(per) = bucket {
                let acc = match per.get_mut(d.key_buf.as_str()) {
                    Some(acc) => acc,
                    None => per.entry(d.key_buf.clone()).or_insert_with(|| Acc::new(&d.det)),
                };
                acc.add(&d.det, facts);
            }
        }
    }

    /// Evaluates every interval whose end plus window delay is at or before `now_ms`.
    pub fn advance(&mut self, now_ms: i64) -> Vec<Event> {
        self.evaluate(Some(now_ms))
    }

    /// Evaluates every remaining interval (the end of the data).
    pub fn finish(&mut self) -> Vec<Event> {
        self.evaluate(None)
    }

    fn evaluate(&mut self, now_ms: Option<i64>) -> Vec<Event> {
        let mut events = Vec::new();
        for di in 0..self.detectors.len() {
            loop {
                let d = &mut self.detectors[di];
                let interval = d.det.interval.as_millis() as i64;
                let delay = d.det.window_delay.as_millis() as i64;
                let Some(start) = d.next_start else { break };
                let last_bucket = d.buckets.last_key_value().map(|(k, _)| *k);
                let due = match now_ms {
                    Some(now) => start + interval + delay <= now,
                    None => last_bucket.is_some_and(|l| start <= l),
                };
                if !due {
                    break;
                }
                // Skip straight to the next bucket when there is nothing to impute.
                let first_bucket = d.buckets.first_key_value().map(|(k, _)| *k);
                if d.det.imputation.is_none() && first_bucket != Some(start) {
                    match first_bucket {
                        Some(b) if b > start => {
                            d.next_start = Some(b);
                            continue;
                        }
                        _ => {
                            d.next_start = Some(start + interval);
                            continue;
                        }
                    }
                }
                let bucket = if first_bucket == Some(start) { d.buckets.pop_first().map(|(_, b)| b) } else { None };
                d.next_start = Some(start + interval);
                let results = Self::score_interval(d, start, interval, delay, bucket.unwrap_or_default());
                for m in self
                    .monitors
                    .iter_mut()
                    .filter(|m| matches!(m.mon.kind, MonitorKind::Anomaly { detector, .. } if detector == di))
                {
                    // The monitor's query: the result with the highest grade, then confidence. No
                    // result at all means the condition does not hold.
                    match results.iter().max_by(|a, b| {
                        a.anomaly_grade.total_cmp(&b.anomaly_grade).then(a.confidence.total_cmp(&b.confidence))
                    }) {
                        Some(top) => {
                            let name = self.detectors[di].det.name.clone();
                            Self::fire(m, &name, "", top.entity.clone(), top, &mut events);
                        }
                        None => m.active.clear(),
                    }
                }
                events.extend(results.into_iter().map(Event::Result));
            }
        }
        for m in &mut self.monitors {
            Self::count(m, now_ms, &mut events);
        }
        events
    }

    /// Scores one interval: one result (single-stream) or one per scored entity.
    fn score_interval(d: &mut DetectorState, start: i64, interval: i64, delay: i64, bucket: Bucket) -> Vec<AdResult> {
        if d.det.category_fields.is_empty() {
            let (values, imputed) = match bucket {
                Bucket::Single(acc) => (acc.values(&d.det), false),
                _ => match d.det.imputation {
                    Some(Imputation::Zero) => (vec![0.0; d.det.features.len()], true),
                    Some(Imputation::Previous) => match &d.last_values {
                        Some(v) => (v.clone(), true),
                        None => return Vec::new(),
                    },
                    None => return Vec::new(),
                },
            };
            d.last_values = Some(values.clone());
            return Self::score(d, "", start, interval, delay, values, imputed).into_iter().collect();
        }
        // Per entity: the busiest first, up to the cap.
        let Bucket::Entities(per) = bucket else { return Vec::new() };
        let mut entities: Vec<(String, Acc)> = per.into_iter().collect();
        entities.sort_by(|a, b| b.1.count.cmp(&a.1.count).then_with(|| a.0.cmp(&b.0)));
        let cap = d.det.max_entities;
        if entities.len() > cap {
            d.skipped_entities += (entities.len() - cap) as u64;
            entities.truncate(cap);
        }
        let mut results = Vec::with_capacity(entities.len());
        for (key, acc) in entities {
            if !d.models.contains_key(&key) {
                if d.models.len() >= cap
                    && let Some(oldest) =
                        d.models.iter().min_by_key(|(k, m)| (m.last_used, (*k).clone())).map(|(k, _)| k.clone())
                {
                    d.models.remove(&oldest);
                }
                match build_forest(&d.det, d.seed ^ fnv(&key)) {
                    Ok(forest) => {
                        d.models.insert(key.clone(), Model { forest, seq: 0, last_used: start });
                    }
                    Err(e) => {
                        tracing::warn!(detector = %d.det.name, error = %e, "Entity model not built.");
                        continue;
                    }
                }
            }
            let values = acc.values(&d.det);
            results.extend(Self::score(d, &key, start, interval, delay, values, false));
        }
        results
    }

    fn score(
        d: &mut DetectorState,
        key: &str,
        start: i64,
        interval: i64,
        delay: i64,
        values: Vec<f64>,
        imputed: bool,
    ) -> Option<AdResult> {
        let rules = d.det.effective_suppression();
        let model = d.models.get_mut(key)?;
        model.seq += 1;
        model.last_used = start;
        let point: Vec<f32> = values.iter().map(|v| *v as f32).collect();
        let names = || d.det.features.iter().map(|f| f.name.clone());
        let feature_data: Vec<FeatureData> =
            names().zip(&values).map(|(feature_name, v)| FeatureData { feature_name, data: *v }).collect();
        // rcflib leaves `data_confidence` unset; like AD's confidence, ours grows with the data the
        // model has seen: how full the forest's samples are.
        let confidence = (model.seq as f64 / SAMPLE_SIZE as f64).min(1.0);
        let (mut score, mut grade, mut threshold, mut attribution, mut expected) =
            (0.0, 0.0, 0.0, Vec::new(), Vec::new());
        match model.forest.process(&point, model.seq) {
            Ok(desc) => {
                score = f64::from(desc.score);
                threshold = f64::from(desc.threshold);
                grade = f64::from(desc.anomaly_grade);
                let n = d.det.features.len();
                if grade > 0.0
                    && let Some(last) = &desc.last_anomaly
                    && let Some(exp) = last.expected_values_list.first()
                {
                    let past: Vec<f64> = last.past_values.iter().map(|v| f64::from(*v)).collect();
                    let exp: Vec<f64> = exp.iter().map(|v| f64::from(*v)).collect();
                    if survives(&rules, &past, &exp) {
                        expected =
                            names().zip(&exp).map(|(feature_name, v)| FeatureData { feature_name, data: *v }).collect();
                    } else {
                        grade = 0.0;
                    }
                }
                if grade > 0.0
                    && let Some(div) = &desc.attribution
                {
                    // The attribution covers the whole shingle; the newest point is the last `n`.
                    let len = div.high.len();
                    let shares: Vec<f64> = (0..n)
                        .map(|k| {
                            let idx = len.saturating_sub(n) + k;
                            div.high.get(idx).copied().unwrap_or(0.0) + div.low.get(idx).copied().unwrap_or(0.0)
                        })
                        .collect();
                    let total: f64 = shares.iter().sum();
                    attribution = names()
                        .zip(shares)
                        .map(|(feature_name, s)| Attribution {
                            feature_name,
                            data: if total > 0.0 { s / total } else { 0.0 },
                        })
                        .collect();
                }
            }
            Err(e) => tracing::warn!(detector = %d.det.name, error = ?e, "Random Cut Forest refused a point."),
        }
        Some(AdResult {
            detector_id: d.det.name.clone(),
            entity: entity_of(&d.entity_names, key),
            data_start_time: start,
            data_end_time: start + interval,
            execution_end_time: start + interval + delay,
            feature_data,
            feature_imputed: imputed,
            anomaly_score: score,
            anomaly_grade: grade,
            confidence,
            threshold,
            relevant_attribution: attribution,
            expected_values: expected,
        })
    }

    /// Count monitors: evaluate each completed minute over the sliding window.
    fn count(m: &mut MonitorState, now_ms: Option<i64>, events: &mut Vec<Event>) {
        let MonitorKind::Count { threshold, window, ref filter, .. } = m.mon.kind else { return };
        let label = filter.label();
        let window = (window.as_millis() as i64).max(MINUTE);
        let last = m.minutes.last_key_value().map(|(k, _)| *k);
        while let Some(minute) = m.next_minute {
            let due = match now_ms {
                Some(now) => minute + MINUTE <= now,
                None => last.is_some_and(|l| minute <= l),
            };
            if !due {
                break;
            }
            let mut totals: HashMap<&str, u64> = HashMap::new();
            for per in m.minutes.range(minute + MINUTE - window..=minute).map(|(_, p)| p) {
                for (k, c) in per {
                    *totals.entry(k.as_str()).or_default() += c;
                }
            }
            let mut firing: Vec<(String, u64)> =
                totals.into_iter().filter(|(_, c)| *c >= threshold).map(|(k, c)| (k.to_owned(), c)).collect();
            firing.sort();
            // Alerts whose group no longer reaches the threshold complete.
            m.active.retain(|k, _| firing.iter().any(|(f, _)| f == k));
            for (key, n) in firing {
                let r = AdResult {
                    detector_id: label.clone(),
                    entity: m.group_name.as_ref().map(|g| vec![EntityValue { name: g.clone(), value: key.clone() }]),
                    data_start_time: minute,
                    data_end_time: minute + MINUTE,
                    execution_end_time: minute + MINUTE,
                    feature_data: vec![FeatureData { feature_name: label.clone(), data: n as f64 }],
                    feature_imputed: false,
                    anomaly_score: n as f64,
                    anomaly_grade: 1.0,
                    confidence: 1.0,
                    threshold: threshold as f64,
                    relevant_attribution: Vec::new(),
                    expected_values: Vec::new(),
                };
                let entity = r.entity.clone();
                Self::fire(m, &label, &key, entity, &r, events);
            }
            m.minutes.retain(|k, _| *k > minute - window);
            m.next_minute = Some(minute + MINUTE);
        }
    }

    /// Runs a trigger on one result for one alert key: a new alert, a throttled repeat, or (when the
    /// condition no longer holds) the alert's completion.
    fn fire(
        m: &mut MonitorState,
        source: &str,
        key: &str,
        entity: Option<Vec<EntityValue>>,
        r: &AdResult,
        events: &mut Vec<Event>,
    ) {
        let fires = match m.mon.kind {
            MonitorKind::Anomaly { min_grade, min_confidence, .. } => {
                r.anomaly_grade > min_grade && r.confidence > min_confidence
            }
            MonitorKind::Count { .. } => r.anomaly_grade > 0.0,
        };
        let throttle = m.mon.throttle.as_millis() as i64;
        let at = r.execution_end_time;
        if !fires {
            m.active.remove(key);
            return;
        }
        let alert = || Alert {
            monitor_name: m.mon.name.clone(),
            detector_name: source.to_owned(),
            entity,
            priority: m.mon.priority,
            start_time: at,
            data_start_time: r.data_start_time,
            data_end_time: r.data_end_time,
            anomaly_grade: r.anomaly_grade,
            confidence: r.confidence,
            feature_data: r.feature_data.clone(),
            expected_values: r.expected_values.clone(),
            relevant_attribution: r.relevant_attribution.clone(),
        };
        match m.active.get_mut(key) {
            None => {
                let a = alert();
                m.active.insert(key.to_owned(), AlertState { last_notified: at });
                events.push(Event::Alert(a));
            }
            Some(state) => {
                if at - state.last_notified >= throttle {
                    state.last_notified = at;
                    events.push(Event::Renotify(alert()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detection::{DocFilter, Feature};
    use std::time::Duration;

    fn detector(agg: Aggregation) -> Detector {
        Detector {
            name: "d".into(),
            description: String::new(),
            features: vec![Feature {
                name: "f".into(),
                source: FeatureSource::Column { index: 0, name: "c".into() },
                aggregation: agg,
            }],
            interval: Duration::from_secs(60),
            window_delay: Duration::from_secs(60),
            shingle_size: 4,
            category_fields: vec![],
            max_entities: 100,
            imputation: None,
            suppress: vec![],
        }
    }

    fn detection(agg: Aggregation, throttle_min: u64) -> Detection {
        Detection {
            detectors: vec![detector(agg)],
            monitors: vec![Monitor {
                name: "m".into(),
                kind: MonitorKind::Anomaly { detector: 0, min_grade: 0.5, min_confidence: 0.3 },
                throttle: Duration::from_secs(throttle_min * 60),
                channels: vec![],
                priority: 2,
            }],
            captures: vec![],
        }
    }

    fn doc(ts: i64, on: bool) -> Facts {
        Facts { timestamp_ms: ts, columns: vec![on], ..Facts::default() }
    }

    fn results(events: Vec<Event>) -> Vec<AdResult> {
        events.into_iter().filter_map(|e| if let Event::Result(r) = e { Some(r) } else { None }).collect()
    }

    fn alerts(events: &[Event]) -> Vec<Alert> {
        events.iter().filter_map(|e| if let Event::Alert(a) = e { Some(a.clone()) } else { None }).collect()
    }

    #[test]
    fn aggregates_by_interval_with_the_window_delay() {
        let mut e = Engine::new(&detection(Aggregation::Sum, 10), 1).unwrap();
        // Interval [0, 60s): three documents, two with the column set; [60s, 120s): one.
        for (ts, on) in [(0, true), (59_999, true), (30_000, false), (60_000, true)] {
            e.observe(&doc(ts, on));
        }
        // 60 s + 60 s delay: the first interval is not due before 120 s.
        assert!(e.advance(119_999).is_empty());
        let r = results(e.advance(120_000));
        assert_eq!((r[0].data_start_time, r[0].data_end_time, r[0].execution_end_time), (0, 60_000, 120_000));
        assert_eq!(r[0].feature_data[0].data, 2.0);
        // A late document for an interval already evaluated is not counted (AD would not see it).
        e.observe(&doc(10_000, true));
        assert_eq!(e.stats().late_documents, 1);
        let rest = results(e.finish());
        assert_eq!(rest.len(), 1);
        assert_eq!((rest[0].data_start_time, rest[0].feature_data[0].data), (60_000, 1.0));
    }

    #[test]
    fn avg_min_max_and_count_match_hand_computed_values() {
        for (agg, want) in
            [(Aggregation::Avg, 0.25), (Aggregation::Min, 0.0), (Aggregation::Max, 1.0), (Aggregation::ValueCount, 4.0)]
        {
            let mut e = Engine::new(&detection(agg, 10), 1).unwrap();
            for (ts, on) in [(1, false), (2, true), (3, false), (4, false)] {
                e.observe(&doc(ts, on));
            }
            let r = results(e.finish());
            assert_eq!(r[0].feature_data[0].data, want, "{agg:?}");
        }
    }

    fn with_capture(ts: i64, ip: Option<&str>, country: &str) -> Facts {
        Facts {
            timestamp_ms: ts,
            columns: vec![true],
            captured: vec![ip.map(str::to_owned), Some(country.to_owned())],
            ..Facts::default()
        }
    }

    #[test]
    fn per_entity_aggregation_cardinality_and_the_entity_cap() {
        let mut det = detector(Aggregation::Sum);
        det.category_fields = vec![0];
        det.max_entities = 2;
        det.features.push(Feature {
            name: "countries".into(),
            source: FeatureSource::Field { capture: 1, pointer: "/country".into() },
            aggregation: Aggregation::Cardinality,
        });
        let detection =
            Detection { detectors: vec![det], monitors: vec![], captures: vec!["/clientIp".into(), "/country".into()] };
        let mut e = Engine::new(&detection, 1).unwrap();
        // Minute 0: 10.0.0.1 three times (two countries), 10.0.0.2 twice, 10.0.0.3 once, one
        // document without an IP (in no entity).
        for (ip, c) in [
            ("10.0.0.1", "US"),
            ("10.0.0.1", "US"),
            ("10.0.0.1", "FR"),
            ("10.0.0.2", "IN"),
            ("10.0.0.2", "IN"),
            ("10.0.0.3", "US"),
        ] {
            e.observe(&with_capture(1_000, Some(ip), c));
        }
        e.observe(&with_capture(2_000, None, "US"));
        let r = results(e.advance(120_000));
        let got: Vec<(String, f64, f64)> = r
            .iter()
            .map(|r| {
                let ent = r.entity.as_ref().unwrap();
                assert_eq!(ent[0].name, "clientIp");
                (ent[0].value.clone(), r.feature_data[0].data, r.feature_data[1].data)
            })
            .collect();
        // The two busiest entities are scored; the third is skipped.
        assert_eq!(got, [("10.0.0.1".to_owned(), 3.0, 2.0), ("10.0.0.2".to_owned(), 2.0, 1.0)]);
        assert_eq!(e.stats(), EngineStats { late_documents: 0, skipped_entity_intervals: 1, entity_models: 2 });
        // Minute 1: a new busiest entity evicts the model used longest ago.
        for _ in 0..5 {
            e.observe(&with_capture(61_000, Some("10.0.0.9"), "US"));
        }
        e.observe(&with_capture(61_000, Some("10.0.0.2"), "US"));
        let r = results(e.advance(180_000));
        assert_eq!(r.len(), 2);
        assert_eq!(e.stats().entity_models, 2);
    }

    #[test]
    fn imputation_fills_empty_intervals() {
        for (imputation, want) in [
            (None, vec![1.0, 1.0]),
            (Some(Imputation::Zero), vec![1.0, 0.0, 0.0, 1.0]),
            (Some(Imputation::Previous), vec![1.0, 1.0, 1.0, 1.0]),
        ] {
            let mut d = detection(Aggregation::Sum, 10);
            d.detectors[0].imputation = imputation;
            let mut e = Engine::new(&d, 1).unwrap();
            e.observe(&doc(0, true));
            e.observe(&doc(3 * 60_000, true));
            let r = results(e.finish());
            assert_eq!(r.iter().map(|r| r.feature_data[0].data).collect::<Vec<_>>(), want, "{imputation:?}");
            assert_eq!(r.iter().filter(|r| r.feature_imputed).count(), want.len() - 2);
        }
    }

    /// A flat series with a little noise, and the same series with a spike.
    fn run(spike_at: Option<usize>, throttle_min: u64) -> (Vec<AdResult>, Vec<Alert>, usize) {
        let mut e = Engine::new(&detection(Aggregation::Sum, throttle_min), 7).unwrap();
        let mut results = Vec::new();
        let mut alerts = Vec::new();
        let mut renotify = 0;
        for i in 0..400usize {
            let mut n = 20 + (i * 7919 % 5);
            if spike_at.is_some_and(|s| i >= s && i < s + 3) {
                n = 200;
            }
            for k in 0..n {
                e.observe(&doc(i as i64 * 60_000 + k as i64, true));
            }
            for ev in e.advance((i as i64 + 1) * 60_000) {
                match ev {
                    Event::Result(r) => results.push(r),
                    Event::Alert(a) => alerts.push(a),
                    Event::Renotify(_) => renotify += 1,
                }
            }
        }
        (results, alerts, renotify)
    }

    #[test]
    fn finds_a_planted_spike_and_stays_quiet_on_a_flat_series() {
        let (_, quiet, _) = run(None, 10);
        assert!(quiet.is_empty(), "{quiet:?}");
        let (results, alerts, _) = run(Some(300), 10);
        assert!(!alerts.is_empty(), "the spike is found");
        let first = &alerts[0];
        assert!((300 * 60_000..304 * 60_000).contains(&first.data_start_time), "{first:?}");
        assert_eq!(first.relevant_attribution[0].feature_name, "f");
        assert!(first.expected_values[0].data < 40.0, "expected about 22, not the spike: {first:?}");
        assert!(results.iter().filter(|r| r.data_start_time < 300 * 60_000).all(|r| r.anomaly_grade < 0.5));
    }

    #[test]
    fn suppression_keeps_only_deviations_beyond_every_rule() {
        use ThresholdType::*;
        let default = detector(Aggregation::Avg).effective_suppression();
        assert!(!survives(&default, &[0.11], &[0.10]), "10% above: within AD's default 20%");
        assert!(!survives(&default, &[0.09], &[0.10]), "10% below");
        assert!(survives(&default, &[0.40], &[0.10]), "four times the expected share");
        assert!(survives(&default, &[0.01], &[0.0]), "anything above an expected zero");
        let rises_only = [Suppression { feature: 0, kind: ActualIsBelowExpected, value: None }];
        assert!(!survives(&rises_only, &[0.0], &[0.5]) && survives(&rises_only, &[0.9], &[0.5]));
        let margin = [Suppression { feature: 0, kind: ActualOverExpectedMargin, value: Some(5.0) }];
        assert!(!survives(&margin, &[14.0], &[10.0]) && survives(&margin, &[16.0], &[10.0]));
        // Two features: one within its rule, the other beyond: the anomaly stands.
        let two = [Suppression { feature: 0, kind: ActualOverExpectedRatio, value: Some(0.5) }];
        assert!(survives(&two, &[1.1, 9.0], &[1.0, 1.0]) && !survives(&two, &[1.1], &[1.0]));
    }

    fn count_monitor(group_by: Option<usize>) -> Detection {
        Detection {
            detectors: vec![],
            monitors: vec![Monitor {
                name: "logins".into(),
                kind: MonitorKind::Count {
                    filter: DocFilter::Rule { index: 2, name: "failed-login".into() },
                    threshold: 3,
                    window: Duration::from_secs(300),
                    group_by,
                },
                throttle: Duration::from_secs(600),
                channels: vec![],
                priority: 2,
            }],
            captures: vec!["/clientIp".into()],
        }
    }

    #[test]
    fn count_monitors_count_matching_documents_over_a_sliding_window() {
        let mut e = Engine::new(&count_monitor(None), 1).unwrap();
        let tagged = |ts: i64| Facts { timestamp_ms: ts, rules: vec![2], ..Facts::default() };
        let other = |ts: i64| Facts { timestamp_ms: ts, rules: vec![0], ..Facts::default() };
        // Two tagged in minute 0, one other rule, one tagged in minute 3: the third within five
        // minutes arrives in minute 3, so the alert is for minute 3.
        for f in [tagged(1_000), tagged(2_000), other(3_000), tagged(3 * 60_000 + 5)] {
            e.observe(&f);
        }
        let a = alerts(&e.advance(10 * 60_000));
        assert_eq!(a.len(), 1);
        assert_eq!(
            (a[0].data_start_time, a[0].detector_name.as_str(), a[0].feature_data[0].data, a[0].entity.clone()),
            (3 * 60_000, "rule:failed-login", 3.0, None)
        );
    }

    #[test]
    fn grouped_count_monitors_alert_per_value() {
        let mut e = Engine::new(&count_monitor(Some(0)), 1).unwrap();
        let from = |ts: i64, ip: &str| Facts {
            timestamp_ms: ts,
            rules: vec![2],
            captured: vec![Some(ip.into())],
            ..Facts::default()
        };
        // 10.0.0.1: three in minute 0; 10.0.0.2: two, then one more in minute 6 (the first two
        // have left the five-minute window by then); 10.0.0.3 four in minute 1.
        for f in
            [from(1, "10.0.0.1"), from(2, "10.0.0.1"), from(3, "10.0.0.1"), from(4, "10.0.0.2"), from(5, "10.0.0.2")]
        {
            e.observe(&f);
        }
        for i in 0..4 {
            e.observe(&from(60_000 + i, "10.0.0.3"));
        }
        e.observe(&from(6 * 60_000, "10.0.0.2"));
        let a = alerts(&e.advance(10 * 60_000));
        let got: Vec<(String, i64)> =
            a.iter().map(|a| (a.entity.as_ref().unwrap()[0].value.clone(), a.data_start_time / 60_000)).collect();
        assert_eq!(got, [("10.0.0.1".to_owned(), 0), ("10.0.0.3".to_owned(), 1)]);
        assert_eq!(a[0].entity.as_ref().unwrap()[0].name, "clientIp");
    }

    fn anomalous_at(execution_end_time: i64) -> AdResult {
        AdResult {
            detector_id: "d".into(),
            entity: None,
            data_start_time: execution_end_time - 120_000,
            data_end_time: execution_end_time - 60_000,
            execution_end_time,
            feature_data: vec![],
            feature_imputed: false,
            anomaly_score: 3.0,
            anomaly_grade: 0.9,
            confidence: 0.9,
            threshold: 1.0,
            relevant_attribution: vec![],
            expected_values: vec![],
        }
    }

    #[test]
    fn throttle_suppresses_repeat_notifications_while_an_alert_stays_active() {
        let e = Engine::new(&detection(Aggregation::Sum, 10), 7).unwrap();
        let mut m = MonitorState {
            mon: e.monitors[0].mon.clone(),
            active: HashMap::new(),
            minutes: BTreeMap::new(),
            next_minute: None,
            group_name: None,
        };
        let mut events = Vec::new();
        // Anomalous for 30 minutes: one alert, repeated at minutes 10 and 20 only.
        for i in 0..30 {
            Engine::fire(&mut m, "d", "", None, &anomalous_at(i * 60_000), &mut events);
        }
        assert_eq!(alerts(&events).len(), 1);
        let repeats: Vec<i64> = events
            .iter()
            .filter_map(|e| if let Event::Renotify(a) = e { Some(a.start_time / 60_000) } else { None })
            .collect();
        assert_eq!(repeats, [10, 20]);
        // Normal again, then anomalous: a new alert. A grade exactly at the threshold is not above it.
        let mut normal = anomalous_at(31 * 60_000);
        normal.anomaly_grade = 0.5;
        Engine::fire(&mut m, "d", "", None, &normal, &mut events);
        Engine::fire(&mut m, "d", "", None, &anomalous_at(32 * 60_000), &mut events);
        assert_eq!(alerts(&events).len(), 2);
    }
}
