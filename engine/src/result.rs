//! What the engine writes: results shaped like AD result documents, and alerts shaped like the
//! alerting plugin's.

use serde::Serialize;

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
