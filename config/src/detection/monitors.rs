//! The named checks of `[[monitor]]`: its name, throttle, channels and priority, then what it
//! watches, as an anomaly monitor (a detector) or a count monitor (a rule or a severity).

use std::collections::HashSet;
use std::time::Duration;

use super::sections::{DEFAULT_WINDOW, DetectorSection, MonitorSection, default_confidence, default_grade};
use super::{Captures, Context, DocFilter, Monitor, MonitorKind};
use crate::duration::{throttle, whole_minutes};
use crate::error::Problems;
use crate::names;

/// An anomaly monitor's priority when none is given.
const ANOMALY_PRIORITY: u8 = 2;

/// Checks every monitor and derives the validated ones.
pub(super) fn check_all(
    sections: &[MonitorSection],
    detectors: &[DetectorSection],
    ctx: &Context<'_>,
    captures: &mut Captures,
    problems: &mut Problems,
) -> Vec<Monitor> {
    let mut names = HashSet::new();
    let mut out = Vec::new();
    for (i, m) in sections.iter().enumerate() {
        let base = format!("monitor[{i}]");
        let throttle = common(m, &base, &mut names, ctx, problems);
        let kind = match (&m.detector, &m.rule, &m.severity) {
            (Some(name), None, None) => anomaly(m, name, detectors, &base, problems),
            (None, rule, severity) if rule.is_some() != severity.is_some() => count(m, &base, ctx, captures, problems),
            _ => {
                problems
                    .push(base.clone(), "a monitor watches a `detector`, a `rule` or a `severity`: give exactly one");
                None
            }
        };
        if let Some(kind) = kind {
            let priority = m.priority.unwrap_or_else(|| default_priority(&kind, ctx));
            out.push(Monitor { name: m.name.clone(), kind, throttle, channels: m.channels.clone(), priority });
        }
    }
    out
}

/// What every monitor has: a unique name, a throttle within the plugin's limits, channels that
/// exist, a priority from 1 to 5.
fn common(
    m: &MonitorSection,
    base: &str,
    seen: &mut HashSet<String>,
    ctx: &Context<'_>,
    problems: &mut Problems,
) -> Duration {
    if let Err(problem) = names::monitor_name(&m.name) {
        problems.push(format!("{base}.name"), problem);
    }
    if !seen.insert(m.name.clone()) {
        problems.push(format!("{base}.name"), format!("duplicate monitor name `{}`", m.name));
    }
    let throttle = throttle(&m.throttle).unwrap_or_else(|problem| {
        problems.push(format!("{base}.throttle"), problem);
        Duration::from_secs(600)
    });
    for (j, c) in m.channels.iter().enumerate() {
        if !ctx.channels.contains(&c.as_str()) {
            problems.push(
                format!("{base}.channels[{j}]"),
                format!("no [[channel]] with id `{c}` (they are: {})", ctx.channels.join(", ")),
            );
        }
    }
    if let Some(p) = m.priority
        && !(1..=5).contains(&p)
    {
        problems.push(format!("{base}.priority"), format!("expected 1 (highest) to 5, got {p}"));
    }
    throttle
}

/// Keys of the other kind of monitor are refused.
fn refuse(m: &MonitorSection, count_keys: bool, base: &str, problems: &mut Problems) {
    let (keys, why): (Vec<(&str, bool)>, &str) = if count_keys {
        (
            vec![
                ("threshold", m.threshold.is_some()),
                ("window", m.window.is_some()),
                ("group_by", m.group_by.is_some()),
            ],
            "applies to count monitors (rule or severity) only",
        )
    } else {
        (
            vec![("min_grade", m.min_grade.is_some()), ("min_confidence", m.min_confidence.is_some())],
            "applies to anomaly monitors (detector) only",
        )
    };
    for (key, set) in keys {
        if set {
            problems.push(format!("{base}.{key}"), why);
        }
    }
}

/// An anomaly monitor: thresholds from 0 to 1, on a detector that exists.
fn anomaly(
    m: &MonitorSection,
    name: &str,
    detectors: &[DetectorSection],
    base: &str,
    problems: &mut Problems,
) -> Option<MonitorKind> {
    refuse(m, true, base, problems);
    let min_grade = m.min_grade.unwrap_or_else(default_grade);
    let min_confidence = m.min_confidence.unwrap_or_else(default_confidence);
    for (key, v) in [("min_grade", min_grade), ("min_confidence", min_confidence)] {
        if !(0.0..=1.0).contains(&v) {
            problems.push(format!("{base}.{key}"), format!("expected a number from 0 to 1, got {v}"));
        }
    }
    match detectors.iter().position(|d| d.name == name) {
        Some(detector) => Some(MonitorKind::Anomaly { detector, min_grade, min_confidence }),
        None => {
            let known: Vec<&str> = detectors.iter().map(|d| d.name.as_str()).collect();
            problems.push(
                format!("{base}.detector"),
                format!("no detector named `{name}` (they are: {})", known.join(", ")),
            );
            None
        }
    }
}

/// A count monitor: a rule that exists (or a severity), a threshold of at least 1, a window in
/// whole minutes, and a categorical group-by field.
fn count(
    m: &MonitorSection,
    base: &str,
    ctx: &Context<'_>,
    captures: &mut Captures,
    problems: &mut Problems,
) -> Option<MonitorKind> {
    refuse(m, false, base, problems);
    let window = whole_minutes(m.window.as_deref().unwrap_or(DEFAULT_WINDOW), false).unwrap_or_else(|problem| {
        problems.push(format!("{base}.window"), problem);
        Duration::from_secs(60)
    });
    let group_by = m
        .group_by
        .as_ref()
        .and_then(|g| ctx.categorical(g, format!("{base}.group_by"), "group by it", problems))
        .map(|field| captures.index_of(&field));
    let filter = match (&m.rule, m.severity) {
        (Some(name), _) => match ctx.transform.rule(name) {
            Some(rule) => Some(DocFilter::Rule { id: rule.id, name: name.clone() }),
            None => {
                let known: Vec<&str> = ctx.transform.rules().iter().map(|r| r.name.as_str()).collect();
                problems.push(
                    format!("{base}.rule"),
                    format!("no [[rule]] named `{name}` (they are: {})", known.join(", ")),
                );
                None
            }
        },
        (None, Some(s)) => Some(DocFilter::Severity(s)),
        (None, None) => None,
    };
    match (filter, m.threshold) {
        (Some(filter), Some(threshold)) if threshold > 0 => {
            Some(MonitorKind::Count { filter, threshold, window, group_by })
        }
        (Some(_), _) => {
            problems.push(format!("{base}.threshold"), "a count monitor needs `threshold`, a count of at least 1");
            None
        }
        (None, _) => None,
    }
}

/// The priority when none is given: 2 for anomalies, the rule's (or the severity's) otherwise.
fn default_priority(kind: &MonitorKind, ctx: &Context<'_>) -> u8 {
    match kind {
        MonitorKind::Anomaly { .. } => ANOMALY_PRIORITY,
        MonitorKind::Count { filter: DocFilter::Severity(s), .. } => s.priority(),
        MonitorKind::Count { filter: DocFilter::Rule { id, .. }, .. } => {
            ctx.transform.rules().get(id.index()).map_or(3, |r| r.severity.priority())
        }
    }
}
