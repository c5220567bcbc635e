//! One detector's state: its documents bucketed by interval (per entity when it has category
//! fields), the intervals that are due, imputation of empty ones, and the per-entity models with
//! their cap (busiest first, least recently used evicted).

use std::collections::{BTreeMap, HashMap};

use wafwatch_config::detection::{Detector, Imputation};
use wafwatch_config::hash::fnv1a;
use wafwatch_transformer::Facts;

use crate::aggregate::{Acc, Bucket};
use crate::due::Due;
use crate::forest::{EngineError, Model};
use crate::result::{AdResult, EntityValue, FeatureData};

/// Joins the values of several category fields into one entity key.
const KEY_SEP: char = '\u{1f}';

pub(crate) struct DetectorState {
    pub(crate) det: Detector,
    /// Field names (dotted) of the category fields.
    entity_names: Vec<String>,
    /// Interval start -> its documents.
    buckets: BTreeMap<i64, Bucket>,
    /// By entity key; single-stream detectors use the key "".
    pub(crate) models: HashMap<String, Model>,
    seed: u64,
    /// The next interval to evaluate, once data has started.
    next_start: Option<i64>,
    last_values: Option<Vec<f64>>,
    pub(crate) skipped_entities: u64,
    /// Documents that arrived after their interval was evaluated.
    pub(crate) late: u64,
    key_buf: String,
}

impl DetectorState {
    /// A detector with no data yet. A single-stream detector's model is built now, so a bad
    /// configuration fails at start.
    pub(crate) fn new(det: &Detector, entity_names: Vec<String>, seed: u64) -> Result<Self, EngineError> {
        let mut models = HashMap::new();
        if det.category_fields.is_empty() {
            models.insert(String::new(), Model::new(det, seed, 0)?);
        }
        Ok(DetectorState {
            det: det.clone(),
            entity_names,
            buckets: BTreeMap::new(),
            models,
            seed,
            next_start: None,
            last_values: None,
            skipped_entities: 0,
            late: 0,
            key_buf: String::new(),
        })
    }

    fn interval_ms(&self) -> i64 {
        self.det.interval.as_millis() as i64
    }

    /// Adds one document to its interval's bucket (a document too late for an interval already
    /// evaluated is counted, not added, as a live detector would miss it).
    pub(crate) fn observe(&mut self, facts: &Facts) {
        let interval = self.interval_ms();
        let start = facts.timestamp_ms - facts.timestamp_ms.rem_euclid(interval);
        if self.next_start.is_some_and(|n| start < n) {
            self.late += 1;
            return;
        }
        self.next_start.get_or_insert(start);
        if !self.entity_key(facts) {
            return;
        }
        let bucket = self.buckets.entry(start).or_default();
        if self.det.category_fields.is_empty() {
            if let Bucket::Empty = bucket {
                *bucket = Bucket::Single(Acc::new(&self.det));
            }
            if let Bucket::Single(acc) = bucket {
                acc.add(&self.det, facts);
            }
            return;
        }
        if let Bucket::Empty = bucket {
            *bucket = Bucket::Entities(HashMap::new());
        }
        if let Bucket::Entities(per) = bucket {
            let acc = match per.get_mut(self.key_buf.as_str()) {
                Some(acc) => acc,
                None => per.entry(self.key_buf.clone()).or_insert_with(|| Acc::new(&self.det)),
            };
            acc.add(&self.det, facts);
        }
    }

    /// Puts the document's entity key in `key_buf`; false when it lacks a category field.
    fn entity_key(&mut self, facts: &Facts) -> bool {
        self.key_buf.clear();
        for (j, c) in self.det.category_fields.iter().enumerate() {
            match facts.captured.get(*c) {
                Some(Some(v)) => {
                    if j > 0 {
                        self.key_buf.push(KEY_SEP);
                    }
                    self.key_buf.push_str(v);
                }
                _ => return false,
            }
        }
        true
    }

    /// Evaluates the next interval that is `due`, returning its results; `None` when nothing more
    /// is due.
    pub(crate) fn next_due(&mut self, due: Due) -> Option<Vec<AdResult>> {
        let interval = self.interval_ms();
        let delay = self.det.window_delay.as_millis() as i64;
        loop {
            let start = self.next_start?;
            let last_bucket = self.buckets.last_key_value().map(|(k, _)| *k);
            if !due.holds(start, interval, delay, last_bucket) {
                return None;
            }
            // Skip straight to the next bucket when there is nothing to impute.
            let first_bucket = self.buckets.first_key_value().map(|(k, _)| *k);
            if self.det.imputation.is_none() && first_bucket != Some(start) {
                self.next_start = Some(match first_bucket {
                    Some(b) if b > start => b,
                    _ => start + interval,
                });
                continue;
            }
            let bucket = if first_bucket == Some(start) { self.buckets.pop_first().map(|(_, b)| b) } else { None };
            self.next_start = Some(start + interval);
            return Some(self.score_interval(start, interval, delay, bucket.unwrap_or_default()));
        }
    }

    /// Scores one interval: one result (single-stream) or one per scored entity.
    fn score_interval(&mut self, start: i64, interval: i64, delay: i64, bucket: Bucket) -> Vec<AdResult> {
        if self.det.category_fields.is_empty() {
            let Some((values, imputed)) = self.single_values(bucket) else { return Vec::new() };
            self.last_values = Some(values.clone());
            return self.result("", start, interval, delay, values, imputed).into_iter().collect();
        }
        let Bucket::Entities(per) = bucket else { return Vec::new() };
        let entities = self.busiest(per);
        let mut results = Vec::with_capacity(entities.len());
        for (key, acc) in entities {
            if !self.models.contains_key(&key) && !self.make_room_for(&key, start) {
                continue;
            }
            let values = acc.values(&self.det);
            results.extend(self.result(&key, start, interval, delay, values, false));
        }
        results
    }

    /// A single-stream interval's values, imputed when it had no documents (none without
    /// imputation, or with `previous` before any interval).
    fn single_values(&self, bucket: Bucket) -> Option<(Vec<f64>, bool)> {
        match bucket {
            Bucket::Single(acc) => Some((acc.values(&self.det), false)),
            _ => match self.det.imputation? {
                Imputation::Zero => Some((vec![0.0; self.det.features.len()], true)),
                Imputation::Previous => self.last_values.clone().map(|v| (v, true)),
            },
        }
    }

    /// The interval's entities, busiest first, up to the cap; the rest are counted as skipped.
    fn busiest(&mut self, per: HashMap<String, Acc>) -> Vec<(String, Acc)> {
        let mut entities: Vec<(String, Acc)> = per.into_iter().collect();
        entities.sort_by(|a, b| b.1.count.cmp(&a.1.count).then_with(|| a.0.cmp(&b.0)));
        let cap = self.det.max_entities;
        if entities.len() > cap {
            self.skipped_entities += (entities.len() - cap) as u64;
            entities.truncate(cap);
        }
        entities
    }

    /// Builds a model for a new entity, evicting the one unused longest when at the cap.
    fn make_room_for(&mut self, key: &str, start: i64) -> bool {
        if self.models.len() >= self.det.max_entities
            && let Some(oldest) =
                self.models.iter().min_by_key(|(k, m)| (m.last_used, (*k).clone())).map(|(k, _)| k.clone())
        {
            self.models.remove(&oldest);
        }
        match Model::new(&self.det, self.seed ^ fnv1a(key.as_bytes()), start) {
            Ok(model) => {
                self.models.insert(key.to_owned(), model);
                true
            }
            Err(e) => {
                tracing::warn!(detector = %self.det.name, error = %e, "Entity model not built.");
                false
            }
        }
    }

    /// Scores `values` with the entity's model and writes the result.
    fn result(
        &mut self,
        key: &str,
        start: i64,
        interval: i64,
        delay: i64,
        values: Vec<f64>,
        imputed: bool,
    ) -> Option<AdResult> {
        let rules = self.det.effective_suppression();
        let scored = self.models.get_mut(key)?.score(&self.det, &rules, start, &values);
        let feature_data = self
            .det
            .features
            .iter()
            .zip(&values)
            .map(|(f, v)| FeatureData { feature_name: f.name.clone(), data: *v })
            .collect();
        Some(AdResult {
            detector_id: self.det.name.clone(),
            entity: entity_of(&self.entity_names, key),
            data_start_time: start,
            data_end_time: start + interval,
            execution_end_time: start + interval + delay,
            feature_data,
            feature_imputed: imputed,
            anomaly_score: scored.score,
            anomaly_grade: scored.grade,
            confidence: scored.confidence,
            threshold: scored.threshold,
            relevant_attribution: scored.attribution,
            expected_values: scored.expected,
        })
    }
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
