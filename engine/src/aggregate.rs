//! One interval's documents, aggregated exactly as a detector's feature aggregations would (sum,
//! avg, min, max, value_count, cardinality over the interval on `@timestamp`).

use std::collections::{HashMap, HashSet};

use wafwatch_config::detection::{Aggregation, Detector, FeatureSource};
use wafwatch_transformer::Facts;

/// The running aggregates of one interval (of one entity).
#[derive(Debug, Clone)]
pub(crate) struct Acc {
    /// Documents seen.
    pub(crate) count: u64,
    sum: Vec<f64>,
    min: Vec<f64>,
    max: Vec<f64>,
    /// Documents having each feature's field.
    present: Vec<u64>,
    /// Distinct values, for cardinality features.
    distinct: Vec<Option<HashSet<String>>>,
}

impl Acc {
    pub(crate) fn new(det: &Detector) -> Self {
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

    /// Adds one document.
    pub(crate) fn add(&mut self, det: &Detector, facts: &Facts) {
        self.count += 1;
        for (k, f) in det.features.iter().enumerate() {
            match &f.source {
                FeatureSource::Column { id, .. } => {
                    let v = if facts.columns.get(id.index()).copied().unwrap_or(false) { 1.0 } else { 0.0 };
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
    pub(crate) fn values(&self, det: &Detector) -> Vec<f64> {
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

/// One interval's documents: one accumulator, or one per entity.
#[derive(Default)]
pub(crate) enum Bucket {
    /// No document yet.
    #[default]
    Empty,
    /// A single-stream detector's.
    Single(Acc),
    /// A per-entity detector's, by entity key.
    Entities(HashMap<String, Acc>),
}
