//! The `[[detector]]` and `[[monitor]]` sections of `wafwatch.toml`: anomaly detectors over the
//! transformer's indicator columns, and the monitors that alert on them or on rule tags.
//!
//! The same definitions drive the local engine ([`crate::engine`]) and the OpenSearch detectors and
//! monitors the bootstrap creates. Validation enforces the anomaly-detection and alerting plugins'
//! own limits, so a definition that works locally is one the cluster accepts.

use std::collections::HashSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use wafwatch_transformer::config::{ConfigError, ConfigProblem, Severity};

use crate::index::FieldType;

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

    fn takes_value(self) -> bool {
        !matches!(self, ThresholdType::ActualIsOverExpected | ThresholdType::ActualIsBelowExpected)
    }
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
fn default_grade() -> f64 {
    0.7
}
fn default_confidence() -> f64 {
    0.6
}

/// A count monitor's window when none is given.
pub const DEFAULT_WINDOW: &str = "5m";

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

/// `[[monitor]]`: alerts when its detector's results cross the thresholds (`detector = ...`), or
/// when at least `threshold` documents tagged with a rule (`rule = ...`) or a severity
/// (`severity = ...`) arrive within `window`, overall or per value of `group_by`.
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
    /// Count monitor: alert at this many documents within `window`.
    #[serde(default)]
    pub threshold: Option<u64>,
    /// Count monitor: the sliding window, whole minutes. Default 5m.
    #[serde(default)]
    pub window: Option<String>,
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

/// Where a feature's values come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeatureSource {
    /// An indicator column.
    Column {
        /// Its index in the transformer's column order.
        index: usize,
        /// Its name (the document member).
        name: String,
    },
    /// A field, read by the transformer as a capture.
    Field {
        /// Its index in [`Detection::captures`].
        capture: usize,
        /// Its JSON pointer.
        pointer: String,
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
        /// Index into the transformer's rules.
        index: usize,
        /// The rule's name.
        name: String,
    },
    /// Documents whose severity is at least this.
    Severity(Severity),
}

impl DocFilter {
    /// Whether a document with these rules and severity is counted.
    pub fn matches(&self, rules: &[usize], severity: Option<Severity>) -> bool {
        match self {
            DocFilter::Rule { index, .. } => rules.contains(index),
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
}

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
    /// The fields (JSON pointers) the local engine needs read from each record, beyond the
    /// columns: category fields, feature fields, group-by fields. The transformer captures them.
    pub captures: Vec<String>,
}

impl Detection {
    /// The source name of a monitor's alerts: its detector's name, or the filter's label.
    pub fn source_of(&self, monitor: &Monitor) -> String {
        match &monitor.kind {
            MonitorKind::Anomaly { detector, .. } => {
                self.detectors.get(*detector).map(|d| d.name.clone()).unwrap_or_default()
            }
            MonitorKind::Count { filter, .. } => filter.label(),
        }
    }
}

/// What the detection sections are validated against: the other sections.
pub struct Context<'a> {
    /// The transformer's columns, in order.
    pub columns: &'a [&'a str],
    /// The transformer's rules (name and severity), in order.
    pub rules: &'a [(&'a str, Severity)],
    /// The channel ids.
    pub channels: &'a [&'a str],
    /// The mapped type of a member (JSON pointer), from `[index]`.
    pub field_type: &'a dyn Fn(&str) -> Option<FieldType>,
}

fn minutes(text: &str, key: &str, allow_zero: bool, problems: &mut Vec<ConfigProblem>) -> Duration {
    match humantime::parse_duration(text) {
        Ok(d) if d.as_secs() % 60 == 0 && (allow_zero || !d.is_zero()) => d,
        _ => {
            problems.push(ConfigProblem {
                key: key.to_owned(),
                problem: format!(
                    "`{text}` is not a {}whole number of minutes (write 1m, 10m, 1h)",
                    if allow_zero { "" } else { "positive " }
                ),
            });
            Duration::from_secs(60)
        }
    }
}

fn push(problems: &mut Vec<ConfigProblem>, key: String, problem: String) {
    problems.push(ConfigProblem { key, problem });
}

fn capture(captures: &mut Vec<String>, pointer: &str) -> usize {
    match captures.iter().position(|c| c == pointer) {
        Some(i) => i,
        None => {
            captures.push(pointer.to_owned());
            captures.len() - 1
        }
    }
}

/// Checks a categorical field: mapped as keyword or ip in `[index]`.
fn categorical(ctx: &Context<'_>, pointer: &str, key: String, what: &str, problems: &mut Vec<ConfigProblem>) -> bool {
    match (ctx.field_type)(pointer) {
        Some(t) if t.is_categorical() => true,
        Some(t) => {
            push(problems, key, format!("`{pointer}` is mapped as {t:?}; {what} needs a keyword or ip field"));
            false
        }
        None => {
            push(
                problems,
                key,
                format!(
                    "`{pointer}` is not mapped: add it to [index] keyword or ip (or encode it) so OpenSearch can {what}"
                ),
            );
            false
        }
    }
}

/// Validates the detectors and monitors against the other sections.
pub fn validate(
    detectors: &[DetectorSection],
    monitors: &[MonitorSection],
    ctx: &Context<'_>,
) -> Result<Detection, ConfigError> {
    let mut problems = Vec::new();
    let mut out = Detection::default();
    let mut names = HashSet::new();
    for (i, d) in detectors.iter().enumerate() {
        let base = format!("detector[{i}]");
        if d.name.is_empty()
            || d.name.len() > 64
            || !d.name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        {
            push(
                &mut problems,
                format!("{base}.name"),
                format!("`{}`: expected 1 to 64 letters, digits, `.`, `_` or `-`", d.name),
            );
        }
        if !names.insert(d.name.clone()) {
            push(&mut problems, format!("{base}.name"), format!("duplicate detector name `{}`", d.name));
        }
        if d.description.as_ref().is_some_and(|t| t.len() > 1000) {
            push(&mut problems, format!("{base}.description"), "at most 1,000 characters".into());
        }
        if d.features.is_empty() || d.features.len() > 5 {
            push(
                &mut problems,
                format!("{base}.features"),
                format!(
                    "expected 1 to 5 features (the anomaly-detection plugin's default limit), got {}",
                    d.features.len()
                ),
            );
        }
        let mut features = Vec::new();
        let mut fnames = HashSet::new();
        for (j, f) in d.features.iter().enumerate() {
            let fkey = format!("{base}.features[{j}]");
            if f.name.is_empty() || !f.name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-".contains(&b)) {
                push(
                    &mut problems,
                    format!("{fkey}.name"),
                    format!("`{}`: expected letters, digits, `_` or `-`", f.name),
                );
            }
            if !fnames.insert(f.name.clone()) {
                push(&mut problems, format!("{fkey}.name"), format!("duplicate feature name `{}`", f.name));
            }
            let source = match (&f.column, &f.field, f.aggregation) {
                (Some(_), Some(_), _) | (None, None, _) => {
                    push(&mut problems, fkey.clone(), "give exactly one of `column` or `field`".into());
                    None
                }
                (Some(_), None, Aggregation::Cardinality) => {
                    push(
                        &mut problems,
                        format!("{fkey}.aggregation"),
                        "cardinality of a 0/1 column is at most 2: count distinct values of a `field` instead".into(),
                    );
                    None
                }
                (Some(column), None, _) => match ctx.columns.iter().position(|c| c == column) {
                    Some(index) => Some(FeatureSource::Column { index, name: column.clone() }),
                    None => {
                        push(
                            &mut problems,
                            format!("{fkey}.column"),
                            format!(
                                "`{column}` is not a column of the [[encode]] sections (they are: {})",
                                ctx.columns.join(", ")
                            ),
                        );
                        None
                    }
                },
                (None, Some(field), Aggregation::Cardinality | Aggregation::ValueCount) => {
                    categorical(ctx, field, format!("{fkey}.field"), "aggregate it", &mut problems).then(|| {
                        FeatureSource::Field { capture: capture(&mut out.captures, field), pointer: field.clone() }
                    })
                }
                (None, Some(_), agg) => {
                    push(
                        &mut problems,
                        format!("{fkey}.aggregation"),
                        format!(
                            "`{}` needs a numeric `column`; a `field` takes cardinality or value_count",
                            agg.as_str()
                        ),
                    );
                    None
                }
            };
            if let Some(source) = source {
                features.push(Feature { name: f.name.clone(), source, aggregation: f.aggregation });
            }
        }
        let interval = minutes(&d.interval, &format!("{base}.interval"), false, &mut problems);
        let window_delay = minutes(&d.window_delay, &format!("{base}.window_delay"), true, &mut problems);
        if !(1..=128).contains(&d.shingle_size) {
            push(&mut problems, format!("{base}.shingle_size"), format!("expected 1 to 128, got {}", d.shingle_size));
        }
        if d.category_field.len() > 2 {
            push(
                &mut problems,
                format!("{base}.category_field"),
                format!("at most 2 category fields (the plugin's default limit), got {}", d.category_field.len()),
            );
        }
        let mut category_fields = Vec::new();
        for (j, field) in d.category_field.iter().enumerate() {
            if categorical(ctx, field, format!("{base}.category_field[{j}]"), "split detection by it", &mut problems) {
                category_fields.push(capture(&mut out.captures, field));
            }
        }
        if d.max_entities == 0 {
            push(&mut problems, format!("{base}.max_entities"), "expected at least 1".into());
        }
        let mut suppress = Vec::new();
        for (j, s) in d.suppress.iter().enumerate() {
            let skey = format!("{base}.suppress[{j}]");
            match d.features.iter().position(|f| f.name == s.feature) {
                Some(feature) => suppress.push(Suppression { feature, kind: s.kind, value: s.value }),
                None => push(&mut problems, format!("{skey}.feature"), format!("no feature named `{}`", s.feature)),
            }
            match (s.kind.takes_value(), s.value) {
                (true, Some(v)) if v > 0.0 && v.is_finite() => {}
                (true, _) => push(
                    &mut problems,
                    format!("{skey}.value"),
                    format!("`{}` needs a `value` greater than 0", s.kind.as_str()),
                ),
                (false, Some(_)) => {
                    push(&mut problems, format!("{skey}.value"), format!("`{}` takes no value", s.kind.as_str()))
                }
                (false, None) => {}
            }
        }
        out.detectors.push(Detector {
            name: d.name.clone(),
            description: d.description.clone().unwrap_or_default(),
            features,
            interval,
            window_delay,
            shingle_size: d.shingle_size,
            category_fields,
            max_entities: d.max_entities,
            imputation: d.imputation,
            suppress,
        });
    }
    let mut mnames = HashSet::new();
    for (i, m) in monitors.iter().enumerate() {
        let base = format!("monitor[{i}]");
        let mut local = Vec::new();
        if m.name.is_empty() || m.name.len() > 100 {
            local.push((format!("{base}.name"), "expected 1 to 100 characters".to_owned()));
        }
        if !mnames.insert(m.name.clone()) {
            local.push((format!("{base}.name"), format!("duplicate monitor name `{}`", m.name)));
        }
        let throttle = match humantime::parse_duration(&m.throttle) {
            Ok(d) if d.as_secs() % 60 == 0 && (60..=86_400).contains(&d.as_secs()) => d,
            _ => {
                local.push((
                    format!("{base}.throttle"),
                    format!(
                        "`{}` is not a whole number of minutes from 1m to 24h (the alerting plugin's limits)",
                        m.throttle
                    ),
                ));
                Duration::from_secs(600)
            }
        };
        for (j, c) in m.channels.iter().enumerate() {
            if !ctx.channels.contains(&c.as_str()) {
                local.push((
                    format!("{base}.channels[{j}]"),
                    format!("no [[channel]] with id `{c}` (they are: {})", ctx.channels.join(", ")),
                ));
            }
        }
        if let Some(p) = m.priority
            && !(1..=5).contains(&p)
        {
            local.push((format!("{base}.priority"), format!("expected 1 (highest) to 5, got {p}")));
        }
        let anomaly_only = [("min_grade", m.min_grade.is_some()), ("min_confidence", m.min_confidence.is_some())];
        let count_only =
            [("threshold", m.threshold.is_some()), ("window", m.window.is_some()), ("group_by", m.group_by.is_some())];
        let kind = match (&m.detector, &m.rule, &m.severity) {
            (Some(name), None, None) => {
                for (key, set) in count_only {
                    if set {
                        local.push((
                            format!("{base}.{key}"),
                            "applies to count monitors (rule or severity) only".into(),
                        ));
                    }
                }
                let min_grade = m.min_grade.unwrap_or_else(default_grade);
                let min_confidence = m.min_confidence.unwrap_or_else(default_confidence);
                for (key, v) in [("min_grade", min_grade), ("min_confidence", min_confidence)] {
                    if !(0.0..=1.0).contains(&v) {
                        local.push((format!("{base}.{key}"), format!("expected a number from 0 to 1, got {v}")));
                    }
                }
                match detectors.iter().position(|d| d.name == *name) {
                    Some(detector) => Some(MonitorKind::Anomaly { detector, min_grade, min_confidence }),
                    None => {
                        let known: Vec<&str> = detectors.iter().map(|d| d.name.as_str()).collect();
                        local.push((
                            format!("{base}.detector"),
                            format!("no detector named `{name}` (they are: {})", known.join(", ")),
                        ));
                        None
                    }
                }
            }
            (None, rule, severity) if rule.is_some() != severity.is_some() => {
                for (key, set) in anomaly_only {
                    if set {
                        local.push((format!("{base}.{key}"), "applies to anomaly monitors (detector) only".into()));
                    }
                }
                let window = minutes(
                    m.window.as_deref().unwrap_or(DEFAULT_WINDOW),
                    &format!("{base}.window"),
                    false,
                    &mut problems,
                );
                let group_by = m.group_by.as_ref().and_then(|g| {
                    categorical(ctx, g, format!("{base}.group_by"), "group by it", &mut problems)
                        .then(|| capture(&mut out.captures, g))
                });
                let filter = match (rule, severity) {
                    (Some(name), _) => match ctx.rules.iter().position(|(r, _)| r == name) {
                        Some(index) => Some(DocFilter::Rule { index, name: name.clone() }),
                        None => {
                            local.push((
                                format!("{base}.rule"),
                                format!(
                                    "no [[rule]] named `{name}` (they are: {})",
                                    ctx.rules.iter().map(|(r, _)| *r).collect::<Vec<_>>().join(", ")
                                ),
                            ));
                            None
                        }
                    },
                    (None, Some(s)) => Some(DocFilter::Severity(*s)),
                    (None, None) => None,
                };
                match (filter, m.threshold) {
                    (Some(filter), Some(threshold)) if threshold > 0 => {
                        Some(MonitorKind::Count { filter, threshold, window, group_by })
                    }
                    (Some(_), _) => {
                        local.push((
                            format!("{base}.threshold"),
                            "a count monitor needs `threshold`, a count of at least 1".into(),
                        ));
                        None
                    }
                    (None, _) => None,
                }
            }
            _ => {
                local.push((
                    base.clone(),
                    "a monitor watches a `detector`, a `rule` or a `severity`: give exactly one".into(),
                ));
                None
            }
        };
        for (key, problem) in local {
            problems.push(ConfigProblem { key, problem });
        }
        if let Some(kind) = kind {
            let priority = m.priority.unwrap_or(match &kind {
                MonitorKind::Anomaly { .. } => 2,
                MonitorKind::Count { filter: DocFilter::Severity(s), .. } => severity_priority(*s),
                MonitorKind::Count { filter: DocFilter::Rule { index, .. }, .. } => {
                    ctx.rules.get(*index).map_or(3, |(_, s)| severity_priority(*s))
                }
            });
            out.monitors.push(Monitor { name: m.name.clone(), kind, throttle, channels: m.channels.clone(), priority });
        }
    }
    if problems.is_empty() { Ok(out) } else { Err(ConfigError { origin: None, problems }) }
}

/// The alerting priority (trigger severity) of a rule severity: critical 1 ... low 4.
pub fn severity_priority(s: Severity) -> u8 {
    match s {
        Severity::Critical => 1,
        Severity::High => 2,
        Severity::Medium => 3,
        Severity::Low => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Sections {
        #[serde(default)]
        detector: Vec<DetectorSection>,
        #[serde(default)]
        monitor: Vec<MonitorSection>,
    }

    fn field_type(p: &str) -> Option<FieldType> {
        match p {
            "/clientIp" => Some(FieldType::Ip),
            "/country" => Some(FieldType::Keyword),
            "/headers" => Some(FieldType::NotIndexed),
            _ => None,
        }
    }

    fn check(text: &str) -> Result<Detection, Vec<String>> {
        let s: Sections = toml::from_str(text).unwrap();
        let ctx = Context {
            columns: &["B_action", "K_action"],
            rules: &[("failed-login", Severity::High)],
            channels: &["ops"],
            field_type: &field_type,
        };
        validate(&s.detector, &s.monitor, &ctx).map_err(|e| e.problems.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn a_valid_pair_resolves_columns_and_durations() {
        let d = check(
            "[[detector]]\nname = \"blocked\"\nfeatures = [{ name = \"b\", column = \"B_action\", aggregation = \"avg\" }]\ninterval = \"5m\"\n[[monitor]]\nname = \"m\"\ndetector = \"blocked\"\nchannels = [\"ops\"]\n",
        )
        .unwrap();
        assert_eq!(
            d.detectors[0].features,
            vec![Feature {
                name: "b".into(),
                source: FeatureSource::Column { index: 0, name: "B_action".into() },
                aggregation: Aggregation::Avg
            }]
        );
        assert_eq!(d.detectors[0].interval, Duration::from_secs(300));
        assert!(matches!(d.monitors[0].kind, MonitorKind::Anomaly { detector: 0, min_grade: 0.7, .. }));
        assert_eq!(d.monitors[0].throttle, Duration::from_secs(600));
        assert_eq!((d.monitors[0].channels.clone(), d.monitors[0].priority), (vec!["ops".to_owned()], 2));
        // AD's default suppression: both ratios at 20% per feature.
        assert_eq!(d.detectors[0].effective_suppression().len(), 2);
    }

    #[test]
    fn entities_fields_and_groups_become_captures() {
        let d = check(
            "[[detector]]\nname = \"per-ip\"\ncategory_field = [\"/clientIp\"]\nfeatures = [{ name = \"b\", column = \"B_action\", aggregation = \"sum\" }, { name = \"countries\", field = \"/country\", aggregation = \"cardinality\" }]\n\
             [[monitor]]\nname = \"logins\"\nrule = \"failed-login\"\nthreshold = 10\ngroup_by = \"/clientIp\"\n\
             [[monitor]]\nname = \"crit\"\nseverity = \"critical\"\nthreshold = 1\n",
        )
        .unwrap();
        assert_eq!(d.captures, ["/country", "/clientIp"], "each field read once, in order of first use");
        assert_eq!(d.detectors[0].category_fields, [1]);
        assert_eq!(d.detectors[0].features[1].source, FeatureSource::Field { capture: 0, pointer: "/country".into() });
        assert!(matches!(d.monitors[0].kind, MonitorKind::Count { group_by: Some(1), threshold: 10, .. }));
        let MonitorKind::Count { filter, .. } = &d.monitors[1].kind else { panic!() };
        assert_eq!(filter, &DocFilter::Severity(Severity::Critical));
        assert!(filter.matches(&[], Some(Severity::Critical)) && !filter.matches(&[0], Some(Severity::High)));
        assert_eq!(d.monitors[1].priority, 1);
    }

    #[test]
    fn every_problem_names_its_key() {
        let p = check(
            "[[detector]]\nname = \"bad name!\"\nfeatures = [{ name = \"b\", column = \"nope\", aggregation = \"sum\" }, { name = \"c\", field = \"/headers\", aggregation = \"cardinality\" }, { name = \"d\", field = \"/country\", aggregation = \"avg\" }]\ninterval = \"90s\"\nshingle_size = 0\ncategory_field = [\"/uri\"]\nsuppress = [{ feature = \"zz\", type = \"actual_over_expected_ratio\" }, { feature = \"b\", type = \"actual_is_over_expected\", value = 1.0 }]\n[[monitor]]\nname = \"m\"\ndetector = \"other\"\nmin_grade = 1.5\nthreshold = 3\nchannels = [\"pager\"]\nthrottle = \"30s\"\n",
        )
        .unwrap_err();
        let joined = p.join("\n");
        for needle in [
            "`detector[0].name`",
            "`detector[0].features[0].column`: `nope` is not a column of the [[encode]] sections (they are: B_action, K_action)",
            "`detector[0].features[1].field`: `/headers` is mapped as NotIndexed; aggregate it needs a keyword or ip field",
            "`detector[0].features[2].aggregation`: `avg` needs a numeric `column`",
            "`detector[0].interval`: `90s` is not a positive whole number of minutes",
            "`detector[0].shingle_size`: expected 1 to 128, got 0",
            "`detector[0].category_field[0]`: `/uri` is not mapped: add it to [index] keyword or ip",
            "`detector[0].suppress[0].feature`: no feature named `zz`",
            "`detector[0].suppress[0].value`: `actual_over_expected_ratio` needs a `value` greater than 0",
            "`detector[0].suppress[1].value`: `actual_is_over_expected` takes no value",
            "`monitor[0].min_grade`: expected a number from 0 to 1, got 1.5",
            "`monitor[0].threshold`: applies to count monitors (rule or severity) only",
            "`monitor[0].channels[0]`: no [[channel]] with id `pager` (they are: ops)",
            "`monitor[0].throttle`: `30s` is not a whole number of minutes from 1m to 24h",
            "`monitor[0].detector`: no detector named `other`",
        ] {
            assert!(joined.contains(needle), "missing {needle} in\n{joined}");
        }
        let joined = check(
            "[[monitor]]\nname = \"a\"\nrule = \"nope\"\nthreshold = 3\n[[monitor]]\nname = \"b\"\nrule = \"failed-login\"\nmin_grade = 0.5\n[[monitor]]\nname = \"c\"\n[[monitor]]\nname = \"d\"\nrule = \"failed-login\"\nseverity = \"high\"\nthreshold = 1\n",
        )
        .unwrap_err()
        .join("\n");
        for needle in [
            "`monitor[0].rule`: no [[rule]] named `nope` (they are: failed-login)",
            "`monitor[1].threshold`: a count monitor needs `threshold`",
            "`monitor[1].min_grade`: applies to anomaly monitors (detector) only",
            "`monitor[2]`: a monitor watches a `detector`, a `rule` or a `severity`",
            "`monitor[3]`: a monitor watches a `detector`, a `rule` or a `severity`",
        ] {
            assert!(joined.contains(needle), "missing {needle} in\n{joined}");
        }
    }
}
