//! The named checks of `[[monitor]]`: its name, throttle, channels and priority, then what it
//! watches, as an anomaly monitor (a detector), a count monitor (a rule or a severity) or a
//! new-value monitor (a field).

use std::collections::HashSet;
use std::time::Duration;

use super::sections::{
    DEFAULT_HISTORY, DEFAULT_WINDOW, DetectorSection, MonitorSection, default_confidence, default_grade,
};
use super::{Captures, Context, DocFilter, Monitor, MonitorKind, NEW_VALUES_LEARNING};
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
        let kind = match (&m.detector, &m.rule, &m.severity, &m.new_values) {
            (Some(name), None, None, None) => anomaly(m, name, detectors, &base, problems),
            (None, rule, severity, None) if rule.is_some() != severity.is_some() => {
                count(m, &base, ctx, captures, problems)
            }
            (None, None, None, Some(field)) => new_values(m, field, &base, ctx, captures, problems),
            _ => {
                problems.push(
                    base.clone(),
                    "a monitor watches a `detector`, a `rule`, a `severity` or `new_values`: give exactly one",
                );
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

/// What a monitor watches, for the keys that belong to one kind only.
#[derive(Clone, Copy, PartialEq)]
enum Watches {
    Detector,
    Count,
    NewValues,
}

impl Watches {
    fn described(self) -> &'static str {
        match self {
            Watches::Detector => "anomaly monitors (detector)",
            Watches::Count => "count monitors (rule or severity)",
            Watches::NewValues => "new-value monitors (new_values)",
        }
    }
}

/// Keys of another kind of monitor are refused.
fn refuse(m: &MonitorSection, watches: Watches, base: &str, problems: &mut Problems) {
    use Watches::{Count, Detector, NewValues};
    let keys: [(&str, bool, &[Watches]); 6] = [
        ("threshold", m.threshold.is_some(), &[Count, NewValues]),
        ("window", m.window.is_some(), &[Count, NewValues]),
        ("group_by", m.group_by.is_some(), &[Count]),
        ("history", m.history.is_some(), &[NewValues]),
        ("min_grade", m.min_grade.is_some(), &[Detector]),
        ("min_confidence", m.min_confidence.is_some(), &[Detector]),
    ];
    for (key, set, kinds) in keys {
        if set && !kinds.contains(&watches) {
            let to: Vec<&str> = kinds.iter().map(|k| k.described()).collect();
            problems.push(format!("{base}.{key}"), format!("applies to {} only", to.join(" and ")));
        }
    }
}

/// A count or new-value monitor's window: whole minutes, 5m when not given.
fn window(m: &MonitorSection, base: &str, problems: &mut Problems) -> Duration {
    whole_minutes(m.window.as_deref().unwrap_or(DEFAULT_WINDOW), false).unwrap_or_else(|problem| {
        problems.push(format!("{base}.window"), problem);
        Duration::from_secs(60)
    })
}

/// An anomaly monitor: thresholds from 0 to 1, on a detector that exists.
fn anomaly(
    m: &MonitorSection,
    name: &str,
    detectors: &[DetectorSection],
    base: &str,
    problems: &mut Problems,
) -> Option<MonitorKind> {
    refuse(m, Watches::Detector, base, problems);
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
    refuse(m, Watches::Count, base, problems);
    let window = window(m, base, problems);
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

/// The longest history a new-value monitor may look back over: its search reads every document
/// of it each minute.
const MAX_HISTORY: Duration = Duration::from_secs(30 * 86_400);

/// A new-value monitor: a categorical field, a threshold of at least 1, a window in whole minutes,
/// and a history in whole minutes longer than the learning period and at most 30 days.
fn new_values(
    m: &MonitorSection,
    pointer: &str,
    base: &str,
    ctx: &Context<'_>,
    captures: &mut Captures,
    problems: &mut Problems,
) -> Option<MonitorKind> {
    refuse(m, Watches::NewValues, base, problems);
    let window = window(m, base, problems);
    let history = whole_minutes(m.history.as_deref().unwrap_or(DEFAULT_HISTORY), false)
        .and_then(|h| {
            if h > NEW_VALUES_LEARNING && h <= MAX_HISTORY {
                Ok(h)
            } else {
                Err(format!(
                    "expected more than {} (the monitor learns for that long) and at most 30d",
                    humantime::format_duration(NEW_VALUES_LEARNING)
                ))
            }
        })
        .map_err(|problem| problems.push(format!("{base}.history"), problem))
        .ok();
    let field = ctx.categorical(pointer, format!("{base}.new_values"), "tell its values apart", problems);
    if m.threshold.is_none_or(|t| t == 0) {
        problems.push(format!("{base}.threshold"), "a new-value monitor needs `threshold`, a count of at least 1");
    }
    let (field, history, threshold) = (field?, history?, m.threshold.filter(|t| *t > 0)?);
    Some(MonitorKind::NewValues { field: captures.index_of(&field), threshold, window, history })
}

/// The priority when none is given: 2 for anomalies and new values, the rule's (or the severity's) otherwise.
fn default_priority(kind: &MonitorKind, ctx: &Context<'_>) -> u8 {
    match kind {
        MonitorKind::Anomaly { .. } | MonitorKind::NewValues { .. } => ANOMALY_PRIORITY,
        MonitorKind::Count { filter: DocFilter::Severity(s), .. } => s.priority(),
        MonitorKind::Count { filter: DocFilter::Rule { id, .. }, .. } => {
            ctx.transform.rules().get(id.index()).map_or(3, |r| r.severity.priority())
        }
    }
}
