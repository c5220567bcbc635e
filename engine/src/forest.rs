//! One model: a thresholded Random Cut Forest (`rcflib`'s `trcf`, the algorithm behind OpenSearch
//! AD) with the detector's shingle size, and how a point's score becomes a grade, a confidence, an
//! attribution and the expected values.

use rcflib::trcf::basictrcf::{BasicTRCF, BasicTRCFBuilder};
use wafwatch_config::detection::{Detector, Suppression};

use crate::result::{Attribution, FeatureData};
use crate::suppress::survives;

/// Trees per forest, as OpenSearch AD uses.
pub const TREES: usize = 30;
/// Samples per tree, as OpenSearch AD uses.
pub const SAMPLE_SIZE: usize = 256;

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the Random Cut Forest for detector `{detector}`: {reason}")]
pub struct EngineError {
    /// The detector.
    pub detector: String,
    /// Why.
    pub reason: String,
}

/// A forest and what it has seen.
pub(crate) struct Model {
    forest: BasicTRCF,
    seq: u64,
    /// The start of the last interval it scored (per-entity models are evicted by it).
    pub(crate) last_used: i64,
}

/// What the model made of one point.
#[derive(Debug, Default)]
pub(crate) struct Scored {
    pub(crate) score: f64,
    pub(crate) grade: f64,
    pub(crate) threshold: f64,
    pub(crate) confidence: f64,
    pub(crate) attribution: Vec<Attribution>,
    pub(crate) expected: Vec<FeatureData>,
}

impl Model {
    /// A new model for `det`, seeded for reproducible runs.
    pub(crate) fn new(det: &Detector, seed: u64, now: i64) -> Result<Self, EngineError> {
        use rcflib::rcf::RCFOptionsBuilder;
        let forest = BasicTRCFBuilder::new(det.features.len(), det.shingle_size)
            .tree_capacity(SAMPLE_SIZE)
            .number_of_trees(TREES)
            .random_seed(seed)
            .build()
            .map_err(|e| EngineError { detector: det.name.clone(), reason: format!("{e:?}") })?;
        Ok(Model { forest, seq: 0, last_used: now })
    }

    /// Scores one interval's feature values (and learns them). An anomaly that the suppression
    /// `rules` explain away gets grade 0.
    pub(crate) fn score(&mut self, det: &Detector, rules: &[Suppression], start: i64, values: &[f64]) -> Scored {
        self.seq += 1;
        self.last_used = start;
        let point: Vec<f32> = values.iter().map(|v| *v as f32).collect();
        // rcflib leaves `data_confidence` unset; like AD's confidence, ours grows with the data the
        // model has seen: how full the forest's samples are.
        let mut out = Scored { confidence: (self.seq as f64 / SAMPLE_SIZE as f64).min(1.0), ..Scored::default() };
        let desc = match self.forest.process(&point, self.seq) {
            Ok(desc) => desc,
            Err(e) => {
                tracing::warn!(detector = %det.name, error = ?e, "Random Cut Forest refused a point.");
                return out;
            }
        };
        out.score = f64::from(desc.score);
        out.threshold = f64::from(desc.threshold);
        out.grade = f64::from(desc.anomaly_grade);
        let names = || det.features.iter().map(|f| f.name.clone());
        if out.grade > 0.0
            && let Some(last) = &desc.last_anomaly
            && let Some(exp) = last.expected_values_list.first()
        {
            let past: Vec<f64> = last.past_values.iter().map(|v| f64::from(*v)).collect();
            let exp: Vec<f64> = exp.iter().map(|v| f64::from(*v)).collect();
            if survives(rules, &past, &exp) {
                out.expected =
                    names().zip(&exp).map(|(feature_name, v)| FeatureData { feature_name, data: *v }).collect();
            } else {
                out.grade = 0.0;
            }
        }
        if out.grade > 0.0
            && let Some(div) = &desc.attribution
        {
            // The attribution covers the whole shingle; the newest point is the last `n`.
            let n = det.features.len();
            let len = div.high.len();
            let shares: Vec<f64> = (0..n)
                .map(|k| {
                    let idx = len.saturating_sub(n) + k;
                    div.high.get(idx).copied().unwrap_or(0.0) + div.low.get(idx).copied().unwrap_or(0.0)
                })
                .collect();
            let total: f64 = shares.iter().sum();
            out.attribution = names()
                .zip(shares)
                .map(|(feature_name, s)| Attribution { feature_name, data: if total > 0.0 { s / total } else { 0.0 } })
                .collect();
        }
        out
    }
}
