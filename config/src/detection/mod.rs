//! The `[[detector]]` and `[[monitor]]` sections of `wafwatch.toml`: anomaly detectors over the
//! transformer's indicator columns, and the monitors that alert on them or on rule tags.
//!
//! The same definitions drive the local engine (`wafwatch-engine`) and the OpenSearch detectors and
//! monitors the bootstrap creates. Validation enforces the anomaly-detection and alerting plugins'
//! own limits, so a definition that works locally is one the cluster accepts. The [`sections`] are
//! what the file says; [`validate`] runs the named checks of `detectors` and `monitors` and derives
//! [`Detection`].

pub mod detectors;
mod monitors;
pub mod sections;

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use self::sections::{
    DEFAULT_HISTORY, DEFAULT_WINDOW, DetectorSection, FeatureSection, MonitorSection, SuppressSection,
};
use crate::error::{ConfigError, Problems};
use crate::index::FieldType;
use crate::pointer::Field;
use crate::severity::Severity;
use crate::transform::{ColumnId, RuleId, Transform};

/// A feature aggregation, as OpenSearch anomaly detection computes it over one interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    /// Sum of the column: how many documents had it set.
    Sum,
    /// Mean of the column: the share of documents that had it set.
    Avg,
    /// Minimum.
    Min,
    /// Maximum.
    Max,
    /// Number of documents (with the field, when a field is given).
    ValueCount,
    /// Number of distinct values of a field (exact locally; OpenSearch counts approximately above
    /// 3,000 distinct values).
    Cardinality,
}

impl Aggregation {
    /// The aggregation's name in the search DSL.
    pub fn as_str(self) -> &'static str {
        match self {
            Aggregation::Sum => "sum",
            Aggregation::Avg => "avg",
            Aggregation::Min => "min",
            Aggregation::Max => "max",
            Aggregation::ValueCount => "value_count",
            Aggregation::Cardinality => "cardinality",
        }
    }
}

/// How anomaly detection fills an interval with no data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Imputation {
    /// As zeros.
    Zero,
    /// With the previous interval's values.
    Previous,
}

/// A suppression rule's comparison of the actual with the expected value (AD's threshold types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdType {
    /// Ignore when `actual - expected <= value` (actual above expected).
    ActualOverExpectedMargin,
    /// Ignore when `expected - actual <= value`.
    ExpectedOverActualMargin,
    /// Ignore when `(actual - expected) / expected <= value`.
    ActualOverExpectedRatio,
    /// Ignore when `(expected - actual) / expected <= value`.
    ExpectedOverActualRatio,
    /// Ignore whenever actual is above expected (only drops go through).
    ActualIsOverExpected,
    /// Ignore whenever actual is below expected (only rises go through).
    ActualIsBelowExpected,
}

impl ThresholdType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ThresholdType::ActualOverExpectedMargin => "actual_over_expected_margin",
            ThresholdType::ExpectedOverActualMargin => "expected_over_actual_margin",
            ThresholdType::ActualOverExpectedRatio => "actual_over_expected_ratio",
            ThresholdType::ExpectedOverActualRatio => "expected_over_actual_ratio",
            ThresholdType::ActualIsOverExpected => "actual_is_over_expected",
            ThresholdType::ActualIsBelowExpected => "actual_is_below_expected",
        }
    }

    /// Whether the type compares against a `value` (margins and ratios do).
    pub fn takes_value(self) -> bool {
        !matches!(self, ThresholdType::ActualIsOverExpected | ThresholdType::ActualIsBelowExpected)
    }
}

/// Where a feature's values come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeatureSource {
    /// An indicator column.
    Column {
        /// The column.
        id: ColumnId,
        /// Its name (the document member).
        name: String,
    },
    /// A field, read by the transformer as a capture.
    Field {
        /// Its index in [`Detection::captures`].
        capture: usize,
        /// The field.
        field: Field,
    },
}

/// A validated feature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feature {
    /// Name.
    pub name: String,
    /// Values from.
    pub source: FeatureSource,
    /// Aggregation.
    pub aggregation: Aggregation,
}

/// A validated suppression condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Suppression {
    /// The feature's index.
    pub feature: usize,
    /// Comparison.
    pub kind: ThresholdType,
    /// Margin or ratio.
    pub value: Option<f64>,
}

/// AD's default suppression when none is configured: per feature, ignore deviations of at most 20%
/// of the expected value either way.
pub const DEFAULT_SUPPRESSION_RATIO: f64 = 0.2;

/// A validated detector.
#[derive(Debug, Clone, PartialEq)]
pub struct Detector {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Features.
    pub features: Vec<Feature>,
    /// Interval.
    pub interval: Duration,
    /// Window delay.
    pub window_delay: Duration,
    /// Shingle size.
    pub shingle_size: usize,
    /// Category fields: indices into [`Detection::captures`] (empty: single-stream).
    pub category_fields: Vec<usize>,
    /// Local cap on modelled entities.
    pub max_entities: usize,
    /// Gap filling.
    pub imputation: Option<Imputation>,
    /// Suppression rules as configured (empty: AD's default applies).
    pub suppress: Vec<Suppression>,
}

impl Detector {
    /// The suppression rules in force: the configured ones, or AD's default.
    pub fn effective_suppression(&self) -> Vec<Suppression> {
        if !self.suppress.is_empty() {
            return self.suppress.clone();
        }
        (0..self.features.len())
            .flat_map(|feature| {
                [ThresholdType::ActualOverExpectedRatio, ThresholdType::ExpectedOverActualRatio]
                    .map(|kind| Suppression { feature, kind, value: Some(DEFAULT_SUPPRESSION_RATIO) })
            })
            .collect()
    }
}

/// Which documents a count monitor counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocFilter {
    /// Documents a rule tagged.
    Rule {
        /// The rule.
        id: RuleId,
        /// The rule's name.
        name: String,
    },
    /// Documents whose severity is at least this.
    Severity(Severity),
}

impl DocFilter {
    /// Whether a document with these rules and severity is counted.
    pub fn matches(&self, rules: &[RuleId], severity: Option<Severity>) -> bool {
        match self {
            DocFilter::Rule { id, .. } => rules.contains(id),
            DocFilter::Severity(min) => severity.is_some_and(|s| s >= *min),
        }
    }

    /// How it is named in alerts: `rule:NAME` or `severity:LEVEL`.
    pub fn label(&self) -> String {
        match self {
            DocFilter::Rule { name, .. } => format!("rule:{name}"),
            DocFilter::Severity(s) => format!("severity:{s}"),
        }
    }
}

/// What a monitor watches.
#[derive(Debug, Clone, PartialEq)]
pub enum MonitorKind {
    /// An anomaly detector's results.
    Anomaly {
        /// Index into the detectors.
        detector: usize,
        /// Grade threshold.
        min_grade: f64,
        /// Confidence threshold.
        min_confidence: f64,
    },
    /// Documents matching a rule or severity, counted in a sliding window.
    Count {
        /// Which documents.
        filter: DocFilter,
        /// Alert at this many within the window.
        threshold: u64,
        /// Sliding window.
        window: Duration,
        /// Count per value of this capture (index into [`Detection::captures`]).
        group_by: Option<usize>,
    },
    /// Documents whose value of a field was not seen in the `history` before the window: a country
    /// or a TLS fingerprint never seen before.
    NewValues {
        /// The field: index into [`Detection::captures`].
        field: usize,
        /// Alert at this many documents with new values within the window.
        threshold: u64,
        /// Sliding window.
        window: Duration,
        /// How far before the window a value counts as seen.
        history: Duration,
    },
}

/// How long a new-value monitor must have seen data before its window before it judges anything
/// new: at the start of the data every value is.
pub const NEW_VALUES_LEARNING: Duration = Duration::from_secs(3600);

/// The most values a new-value monitor's search considers per minute, newest first: more than this
/// many new values in one window are counted by their first this many on OpenSearch (the local
/// engine counts them all).
pub const NEW_VALUES_SEARCHED: usize = 100;

/// A validated monitor.
#[derive(Debug, Clone, PartialEq)]
pub struct Monitor {
    /// Name.
    pub name: String,
    /// What it watches.
    pub kind: MonitorKind,
    /// Throttle.
    pub throttle: Duration,
    /// Channel ids.
    pub channels: Vec<String>,
    /// Priority 1 to 5 (the alerting trigger's severity).
    pub priority: u8,
}

/// Validated detection definitions.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Detection {
    /// Detectors.
    pub detectors: Vec<Detector>,
    /// Monitors.
    pub monitors: Vec<Monitor>,
    /// The fields the local engine needs read from each record, beyond the columns: category
    /// fields, feature fields, group-by fields, each once, in order of first use. The transformer
    /// captures them.
    pub captures: Vec<Field>,
}

impl Detection {
    /// The source name of a monitor's alerts: its detector's name, or the filter's label.
    pub fn source_of(&self, monitor: &Monitor) -> String {
        match &monitor.kind {
            MonitorKind::Anomaly { detector, .. } => {
                self.detectors.get(*detector).map(|d| d.name.clone()).unwrap_or_default()
            }
            MonitorKind::Count { filter, .. } => filter.label(),
            MonitorKind::NewValues { field, .. } => {
                format!("new:{}", self.captures.get(*field).map_or("field", |f| f.dotted()))
            }
        }
    }
}

/// What the detection sections are validated against: the other sections.
pub struct Context<'a> {
    /// The transformer's sections: its columns and rules.
    pub transform: &'a Transform,
    /// The channel ids.
    pub channels: &'a [&'a str],
    /// The mapped type of a member (JSON pointer), from `[index]`.
    pub field_type: &'a dyn Fn(&str) -> Option<FieldType>,
}

impl Context<'_> {
    /// Checks a field a detector or monitor splits or counts by: mapped as keyword or ip in `[index]`.
    fn categorical(&self, pointer: &str, key: String, what: &str, problems: &mut Problems) -> Option<Field> {
        match (self.field_type)(pointer) {
            Some(t) if t.is_categorical() => match Field::parse(pointer) {
                Ok(field) => Some(field),
                Err(problem) => {
                    problems.push(key, problem);
                    None
                }
            },
            Some(t) => {
                problems.push(key, format!("`{pointer}` is mapped as {t:?}; {what} needs a keyword or ip field"));
                None
            }
            None => {
                problems.push(
                    key,
                    format!(
                        "`{pointer}` is not mapped: add it to [index] keyword or ip (or encode it) so OpenSearch can {what}"
                    ),
                );
                None
            }
        }
    }
}

/// The fields read from each record for the engine, each once: [`Detection::captures`].
#[derive(Default)]
struct Captures(Vec<Field>);

impl Captures {
    /// The index of `field`, added when new.
    fn index_of(&mut self, field: &Field) -> usize {
        match self.0.iter().position(|c| c == field) {
            Some(i) => i,
            None => {
                self.0.push(field.clone());
                self.0.len() - 1
            }
        }
    }
}

/// Validates the detectors and monitors against the other sections.
pub fn validate(
    detectors: &[DetectorSection],
    monitors: &[MonitorSection],
    ctx: &Context<'_>,
) -> Result<Detection, ConfigError> {
    let mut problems = Problems::default();
    let mut captures = Captures::default();
    let detectors_out = detectors::check_all(detectors, ctx, &mut captures, &mut problems);
    let monitors_out = monitors::check_all(monitors, detectors, ctx, &mut captures, &mut problems);
    problems.finish(Detection { detectors: detectors_out, monitors: monitors_out, captures: captures.0 })
}

#[cfg(test)]
mod tests;
