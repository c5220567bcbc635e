//! The `[[detector]]` and `[[monitor]]` sections of `wafwatch.toml`: anomaly detectors over the
//! transformer's indicator columns, and the monitors that alert on them.
//!
//! The same definitions drive the local engine ([`crate::engine`]) and, later, the OpenSearch
//! detectors and monitors the bootstrap creates. Validation enforces the anomaly-detection and
//! alerting plugins' own limits, so a definition that works locally is one the cluster accepts.

use std::collections::HashSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use wafwatch_transformer::config::{ConfigError, ConfigProblem};

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
    /// Number of documents.
    ValueCount,
}

/// One feature of a detector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureSection {
    /// Feature name (letters, digits, `_`, `-`).
    pub name: String,
    /// The indicator column it aggregates.
    pub column: String,
    /// `sum`, `avg`, `min`, `max` or `value_count`.
    pub aggregation: Aggregation,
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
fn default_throttle() -> String {
    "10m".into()
}
fn default_grade() -> f64 {
    0.7
}
fn default_confidence() -> f64 {
    0.6
}

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
}

fn default_window() -> String {
    "5m".into()
}

/// `[[monitor]]`: alerts when its detector's results cross the thresholds (`detector = ...`), or
/// when at least `threshold` documents tagged with a rule arrive within `window` (`rule = ...`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorSection {
    /// Name, at most 100 characters.
    pub name: String,
    /// The detector it watches (anomaly monitor).
    #[serde(default)]
    pub detector: Option<String>,
    /// The rule whose tagged documents it counts (threshold monitor).
    #[serde(default)]
    pub rule: Option<String>,
    /// Threshold monitor: alert at this many tagged documents within `window`.
    #[serde(default)]
    pub threshold: Option<u64>,
    /// Threshold monitor: the sliding window, whole minutes. Default 5m.
    #[serde(default = "default_window")]
    pub window: String,
    /// Minimum anomaly grade, 0 to 1. Default 0.7.
    #[serde(default = "default_grade")]
    pub min_grade: f64,
    /// Minimum confidence, 0 to 1. Default 0.6.
    #[serde(default = "default_confidence")]
    pub min_confidence: f64,
    /// At most one notification per this period while an alert stays active. Default 10m.
    #[serde(default = "default_throttle")]
    pub throttle: String,
}

/// A validated detector.
#[derive(Debug, Clone, PartialEq)]
pub struct Detector {
    /// Name.
    pub name: String,
    /// Features: (name, column index, aggregation).
    pub features: Vec<(String, usize, Aggregation)>,
    /// Interval.
    pub interval: Duration,
    /// Window delay.
    pub window_delay: Duration,
    /// Shingle size.
    pub shingle_size: usize,
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
    /// Documents tagged with a rule.
    Rule {
        /// Index into the transformer's rules.
        rule: usize,
        /// The rule's name.
        rule_name: String,
        /// Alert at this many within the window.
        threshold: u64,
        /// Sliding window.
        window: Duration,
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
}

/// Validated detection definitions.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Detection {
    /// Detectors.
    pub detectors: Vec<Detector>,
    /// Monitors.
    pub monitors: Vec<Monitor>,
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

/// Validates the detectors and monitors against the transformer's columns and rules.
pub fn validate(
    detectors: &[DetectorSection],
    monitors: &[MonitorSection],
    columns: &[&str],
    rules: &[&str],
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
                format!("expected 1 to 5 features, got {}", d.features.len()),
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
            match columns.iter().position(|c| *c == f.column) {
                Some(col) => features.push((f.name.clone(), col, f.aggregation)),
                None => push(
                    &mut problems,
                    format!("{fkey}.column"),
                    format!(
                        "`{}` is not a column of the [[encode]] sections (they are: {})",
                        f.column,
                        columns.join(", ")
                    ),
                ),
            }
        }
        let interval = minutes(&d.interval, &format!("{base}.interval"), false, &mut problems);
        let window_delay = minutes(&d.window_delay, &format!("{base}.window_delay"), true, &mut problems);
        if !(1..=128).contains(&d.shingle_size) {
            push(&mut problems, format!("{base}.shingle_size"), format!("expected 1 to 128, got {}", d.shingle_size));
        }
        out.detectors.push(Detector {
            name: d.name.clone(),
            features,
            interval,
            window_delay,
            shingle_size: d.shingle_size,
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
        for (key, v) in [("min_grade", m.min_grade), ("min_confidence", m.min_confidence)] {
            if !(0.0..=1.0).contains(&v) {
                local.push((format!("{base}.{key}"), format!("expected a number from 0 to 1, got {v}")));
            }
        }
        let throttle = match humantime::parse_duration(&m.throttle) {
            Ok(d) => d,
            Err(_) => {
                local.push((format!("{base}.throttle"), format!("`{}` is not a duration (write 10m)", m.throttle)));
                Duration::ZERO
            }
        };
        let kind = match (&m.detector, &m.rule) {
            (Some(name), None) => match detectors.iter().position(|d| d.name == *name) {
                Some(detector) => {
                    Some(MonitorKind::Anomaly { detector, min_grade: m.min_grade, min_confidence: m.min_confidence })
                }
                None => {
                    let known: Vec<&str> = detectors.iter().map(|d| d.name.as_str()).collect();
                    local.push((
                        format!("{base}.detector"),
                        format!("no detector named `{name}` (they are: {})", known.join(", ")),
                    ));
                    None
                }
            },
            (None, Some(name)) => {
                let window = minutes(&m.window, &format!("{base}.window"), false, &mut problems);
                match (rules.iter().position(|r| r == name), m.threshold) {
                    (Some(rule), Some(threshold)) if threshold > 0 => {
                        Some(MonitorKind::Rule { rule, rule_name: name.clone(), threshold, window })
                    }
                    (Some(_), _) => {
                        local.push((
                            format!("{base}.threshold"),
                            "a rule monitor needs `threshold`, a count of at least 1".into(),
                        ));
                        None
                    }
                    (None, _) => {
                        local.push((
                            format!("{base}.rule"),
                            format!("no [[rule]] named `{name}` (they are: {})", rules.join(", ")),
                        ));
                        None
                    }
                }
            }
            _ => {
                local
                    .push((base.clone(), "a monitor watches either a `detector` or a `rule`: give exactly one".into()));
                None
            }
        };
        for (key, problem) in local {
            problems.push(ConfigProblem { key, problem });
        }
        if let Some(kind) = kind {
            out.monitors.push(Monitor { name: m.name.clone(), kind, throttle });
        }
    }
    if problems.is_empty() { Ok(out) } else { Err(ConfigError { origin: None, problems }) }
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

    fn check(text: &str) -> Result<Detection, Vec<String>> {
        let s: Sections = toml::from_str(text).unwrap();
        validate(&s.detector, &s.monitor, &["B_action", "K_action"], &["failed-login"])
            .map_err(|e| e.problems.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn a_valid_pair_resolves_columns_and_durations() {
        let d = check(
            "[[detector]]\nname = \"blocked\"\nfeatures = [{ name = \"b\", column = \"B_action\", aggregation = \"avg\" }]\ninterval = \"5m\"\n[[monitor]]\nname = \"m\"\ndetector = \"blocked\"\n",
        )
        .unwrap();
        assert_eq!(d.detectors[0].features, vec![("b".to_owned(), 0, Aggregation::Avg)]);
        assert_eq!(d.detectors[0].interval, Duration::from_secs(300));
        assert!(matches!(d.monitors[0].kind, MonitorKind::Anomaly { detector: 0, .. }));
        assert_eq!(d.monitors[0].throttle, Duration::from_secs(600));
    }

    #[test]
    fn every_problem_names_its_key() {
        let p = check(
            "[[detector]]\nname = \"bad name!\"\nfeatures = [{ name = \"b\", column = \"nope\", aggregation = \"sum\" }]\ninterval = \"90s\"\nshingle_size = 0\n[[monitor]]\nname = \"m\"\ndetector = \"other\"\nmin_grade = 1.5\n",
        )
        .unwrap_err();
        let joined = p.join("\n");
        for needle in [
            "`detector[0].name`",
            "`detector[0].features[0].column`: `nope` is not a column of the [[encode]] sections (they are: B_action, K_action)",
            "`detector[0].interval`: `90s` is not a positive whole number of minutes",
            "`detector[0].shingle_size`: expected 1 to 128, got 0",
            "`monitor[0].min_grade`: expected a number from 0 to 1, got 1.5",
            "`monitor[0].detector`: no detector named `other`",
        ] {
            assert!(joined.contains(needle), "missing {needle} in\n{joined}");
        }
        let joined = check(
            "[[monitor]]\nname = \"a\"\nrule = \"nope\"\nthreshold = 3\n[[monitor]]\nname = \"b\"\nrule = \"failed-login\"\n[[monitor]]\nname = \"c\"\n",
        )
        .unwrap_err()
        .join("\n");
        for needle in [
            "`monitor[0].rule`: no [[rule]] named `nope` (they are: failed-login)",
            "`monitor[1].threshold`: a rule monitor needs `threshold`",
            "`monitor[2]`: a monitor watches either a `detector` or a `rule`",
        ] {
            assert!(joined.contains(needle), "missing {needle} in\n{joined}");
        }
    }
}
