//! The `[[detector]]` and `[[monitor]]` sections as written: plain serde types that refuse unknown
//! keys, with their defaults named.

use serde::{Deserialize, Serialize};

use super::{Aggregation, Imputation, ThresholdType};
use crate::severity::Severity;

/// One feature of a detector: an aggregation of an indicator column or of a field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureSection {
    /// Feature name (letters, digits, `_`, `-`); also the aggregation's name.
    pub name: String,
    /// The indicator column it aggregates (`sum`, `avg`, `min`, `max`, `value_count`).
    #[serde(default)]
    pub column: Option<String>,
    /// ...or a mapped keyword or ip field, as a JSON pointer (`cardinality`, `value_count`).
    #[serde(default)]
    pub field: Option<String>,
    /// `sum`, `avg`, `min`, `max`, `value_count` or `cardinality`.
    pub aggregation: Aggregation,
}

/// One suppression condition: anomalies whose deviation on `feature` is within it are ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuppressSection {
    /// The feature.
    pub feature: String,
    /// How actual and expected compare.
    #[serde(rename = "type")]
    pub kind: ThresholdType,
    /// The margin or ratio (margin and ratio types only; greater than 0).
    #[serde(default)]
    pub value: Option<f64>,
}

fn default_interval() -> String {
    "1m".into()
}
fn default_delay() -> String {
    "1m".into()
}
fn default_shingle() -> usize {
    8
}
fn default_max_entities() -> usize {
    100
}
fn default_throttle() -> String {
    "10m".into()
}
pub(super) fn default_grade() -> f64 {
    0.7
}
pub(super) fn default_confidence() -> f64 {
    0.6
}

/// A count monitor's window when none is given.
pub const DEFAULT_WINDOW: &str = "5m";

/// A new-value monitor's history when none is given.
pub const DEFAULT_HISTORY: &str = "1d";

/// `[[detector]]`: an anomaly detector (Random Cut Forest) over aggregated columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorSection {
    /// Name: letters, digits, `.`, `_`, `-`, at most 64 characters.
    pub name: String,
    /// What it watches, for people (at most 1,000 characters).
    #[serde(default)]
    pub description: Option<String>,
    /// 1 to 5 features.
    pub features: Vec<FeatureSection>,
    /// Detection interval, whole minutes (`1m`, `10m`). Default 1m.
    #[serde(default = "default_interval")]
    pub interval: String,
    /// How long to wait for late documents before an interval is evaluated. Default 1m.
    #[serde(default = "default_delay")]
    pub window_delay: String,
    /// Consecutive intervals the forest looks at together, 1 to 128. Default 8.
    #[serde(default = "default_shingle")]
    pub shingle_size: usize,
    /// Per-entity detection: one model per value of these fields (JSON pointers of keyword or ip
    /// fields, at most 2), such as the client IP. Costs a model per entity; see `max_entities`.
    #[serde(default)]
    pub category_field: Vec<String>,
    /// Local engine only: the most entities modelled at once, busiest first. Default 100.
    #[serde(default = "default_max_entities")]
    pub max_entities: usize,
    /// How to fill intervals with no documents: `zero` or `previous`. Default: no result for them.
    #[serde(default)]
    pub imputation: Option<Imputation>,
    /// Suppression rules. Default (as AD): ignore deviations within 20% of the expected value.
    #[serde(default)]
    pub suppress: Vec<SuppressSection>,
}

/// `[[monitor]]`: alerts when its detector's results cross the thresholds (`detector = ...`), when
/// at least `threshold` documents tagged with a rule (`rule = ...`) or a severity
/// (`severity = ...`) arrive within `window`, overall or per value of `group_by`, or when at least
/// `threshold` documents within `window` carry values of a field not seen in the `history` before
/// it (`new_values = ...`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorSection {
    /// Name, at most 100 characters.
    pub name: String,
    /// The detector it watches (anomaly monitor).
    #[serde(default)]
    pub detector: Option<String>,
    /// The rule whose tagged documents it counts (count monitor).
    #[serde(default)]
    pub rule: Option<String>,
    /// ...or the least severity it counts (`critical`: documents whose rules reached critical).
    #[serde(default)]
    pub severity: Option<Severity>,
    /// ...or the keyword or ip field (JSON pointer) whose values never seen before it watches
    /// (new-value monitor): a country, a TLS fingerprint.
    #[serde(default)]
    pub new_values: Option<String>,
    /// Count and new-value monitors: alert at this many documents within `window` (a new-value
    /// monitor counts the documents whose value is new).
    #[serde(default)]
    pub threshold: Option<u64>,
    /// Count and new-value monitors: the sliding window, whole minutes. Default 5m.
    #[serde(default)]
    pub window: Option<String>,
    /// New-value monitor: how far before the window a value counts as seen, whole minutes, 2h to
    /// 30d. Default 1d.
    #[serde(default)]
    pub history: Option<String>,
    /// Count monitor: count per value of this keyword or ip field (JSON pointer), such as the client
    /// IP, and alert per value.
    #[serde(default)]
    pub group_by: Option<String>,
    /// Anomaly monitor: minimum anomaly grade, 0 to 1. Default 0.7.
    #[serde(default)]
    pub min_grade: Option<f64>,
    /// Anomaly monitor: minimum confidence, 0 to 1. Default 0.6.
    #[serde(default)]
    pub min_confidence: Option<f64>,
    /// At most one notification per this period while an alert stays active (1m to 24h). Default 10m.
    #[serde(default = "default_throttle")]
    pub throttle: String,
    /// The `[[channel]]` ids notified.
    #[serde(default)]
    pub channels: Vec<String>,
    /// The alert's priority, 1 (highest) to 5, as the alerting plugin's trigger severity. Default:
    /// from the rule's severity (critical 1, high 2, medium 3, low 4); 2 for anomaly monitors.
    #[serde(default)]
    pub priority: Option<u8>,
}
