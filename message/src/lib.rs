//! # wafwatch-message
//!
//! What an alert says: one mustache template per monitor, used twice. The bootstrap puts the
//! template in the monitor's actions, where the alerting plugin renders it with its `ctx` (the
//! monitor, the trigger, the search results, the bucket alerts); `wafwatch run --deliver` renders
//! the very same template locally with [`render`], with a `ctx` of the same shape built from the
//! local engine's alert (`wafwatch_engine::context`), so a message reads the same wherever it
//! comes from. Each message says what was anomalous, when, how strongly (grade and confidence, or
//! the count against its threshold, and the priority), where (index and entity), and links to the
//! dashboard.
//!
//! ```
//! use serde_json::json;
//! let text = wafwatch_message::render("{{ctx.monitor.name}} fired", &json!({"ctx": {"monitor": {"name": "m"}}}));
//! assert_eq!(text, "m fired");
//! ```

mod render;

use wafwatch_config::Severity;
use wafwatch_config::detection::{Detection, Detector, DocFilter, FeatureSource, Monitor, MonitorKind};

pub use crate::render::render;

/// A monitor action's subject and body, as mustache source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// One line (SNS subjects: at most 100 ASCII characters, no line breaks).
    pub subject: String,
    /// The message.
    pub body: String,
}

/// What a template needs to know beyond the monitor.
#[derive(Debug, Clone, Copy)]
pub struct Site<'a> {
    /// The indices searched, for "where".
    pub index_pattern: &'a str,
    /// The link for "see": a dashboard URL, or the local report.
    pub link: Option<&'a str>,
    /// The transformer's rules: name, severity, description.
    pub rules: &'a [(&'a str, Severity, &'a str)],
}

/// The AD result members an anomaly monitor's search also asks for as `docvalue_fields`, in the
/// [`RESULT_TIME_FORMAT`]: the result document holds them as epoch milliseconds, and the template
/// reads the formatted copies (`ctx.results.0.hits.hits.0.fields.<name>.0`) for "When".
pub const AD_TIME_FIELDS: [&str; 2] = ["data_start_time", "data_end_time"];

/// The date format of [`AD_TIME_FIELDS`] (`2026-12-02T00:17:00.000Z`).
pub const RESULT_TIME_FORMAT: &str = "strict_date_time";

/// SNS subjects are at most 100 characters.
/// <https://docs.aws.amazon.com/sns/latest/api/API_Publish.html>
pub const MAX_SUBJECT_CHARS: usize = 100;

fn field_name(detection: &Detection, capture: usize) -> String {
    detection.captures.get(capture).map_or_else(|| "field".into(), |f| f.dotted().to_owned())
}

/// The template of a monitor's notifications.
pub fn template(monitor: &Monitor, detection: &Detection, site: &Site<'_>) -> Template {
    let link = site.link.map(|l| format!("\nSee: {l}")).unwrap_or_default();
    let mut subject = format!("[wafwatch] {} (priority {})", monitor.name, monitor.priority);
    let body = match &monitor.kind {
        MonitorKind::Anomaly { detector, min_grade, min_confidence } => {
            anomaly_body(&detection.detectors[*detector], (*min_grade, *min_confidence), site, &link)
        }
        MonitorKind::NewValues { field, threshold, window, history } => {
            let field = field_name(detection, *field);
            let (minutes, history) = (window.as_secs() / 60, wafwatch_config::duration::phrase(*history));
            // The search's terms buckets are the new values only (its bucket selector drops the
            // others), ordered by first appearance; the local context lists them most first.
            format!(
                "{{{{ctx.monitor.name}}}}: at least {threshold} documents in {minutes} minutes with a {field} not seen in the {history} before.\n\
                 New: {{{{#ctx.results.0.aggregations.values.buckets}}}}{field} {{{{key}}}} ({{{{doc_count}}}}) {{{{/ctx.results.0.aggregations.values.buckets}}}}\n\
                 How bad: priority {{{{ctx.trigger.severity}}}} of 5 (1 is highest).\n\
                 When: the {minutes} minutes up to {{{{ctx.periodEnd}}}}.\n\
                 Where: {index}.{link}\n",
                index = site.index_pattern,
            )
        }
        MonitorKind::Count { filter, threshold, window, group_by } => {
            let what = match filter {
                DocFilter::Rule { name, .. } => {
                    let (sev, desc) = site
                        .rules
                        .iter()
                        .find(|(n, _, _)| n == name)
                        .map_or((String::new(), ""), |(_, s, d)| (format!(", severity {s}"), *d));
                    format!(
                        "documents tagged by rule {name}{sev}{}",
                        if desc.is_empty() { String::new() } else { format!(" ({desc})") }
                    )
                }
                DocFilter::Severity(s) => format!("documents whose rules reach severity {s}"),
            };
            let minutes = window.as_secs() / 60;
            // The search counts `{{period_end}}||-<window>`: the window up to the end of the run's
            // period, not the period (the schedule's minute) itself.
            let when = format!("When: the {minutes} minutes up to {{{{ctx.periodEnd}}}}.");
            match group_by {
                None => format!(
                    "{{{{ctx.monitor.name}}}}: {{{{ctx.results.0.hits.total.value}}}} {what} in {minutes} minutes.\n\
                     How bad: the alert threshold is {threshold}; priority {{{{ctx.trigger.severity}}}} of 5 (1 is highest).\n\
                     {when}\n\
                     Where: {index}.{link}\n",
                    index = site.index_pattern,
                ),
                Some(g) => {
                    let field = field_name(detection, *g);
                    subject = format!("[wafwatch] {} per {field} (priority {})", monitor.name, monitor.priority);
                    format!(
                        "{{{{ctx.monitor.name}}}}: at least {threshold} {what} in {minutes} minutes from one {field}.\n\
                         {{{{#ctx.newAlerts}}}}New: {field} {{{{bucket_keys}}}}\n{{{{/ctx.newAlerts}}}}\
                         {{{{#ctx.dedupedAlerts}}}}Still: {field} {{{{bucket_keys}}}}\n{{{{/ctx.dedupedAlerts}}}}\
                         How bad: priority {{{{ctx.trigger.severity}}}} of 5 (1 is highest).\n\
                         {when}\n\
                         Where: {index}.{link}\n",
                        index = site.index_pattern,
                    )
                }
            }
        }
    };
    if subject.chars().count() > MAX_SUBJECT_CHARS {
        subject = subject.chars().take(MAX_SUBJECT_CHARS).collect();
    }
    Template { subject, body }
}

/// An anomaly monitor's message, read from the top AD result of its search: the interval found
/// anomalous (its own `data_start_time` to `data_end_time`, not the monitor's period), each
/// feature's value and what the model expected.
fn anomaly_body(det: &Detector, (min_grade, min_confidence): (f64, f64), site: &Site<'_>, link: &str) -> String {
    let watches: Vec<String> = det
        .features
        .iter()
        .map(|f| match &f.source {
            FeatureSource::Column { name, .. } => format!("{} = {} of {name}", f.name, f.aggregation.as_str()),
            FeatureSource::Field { field, .. } => {
                format!("{} = {} of {}", f.name, f.aggregation.as_str(), field.pointer())
            }
        })
        .collect();
    let hit = "ctx.results.0.hits.hits.0";
    let top = format!("{hit}._source");
    // feature_data and expected_values.0.value_list follow the detector's features in order;
    // value_list members carry a feature_id, not a name, so the two pair by position.
    let what: Vec<String> = det
        .features
        .iter()
        .enumerate()
        .map(|(i, f)| {
            format!(
                "{} = {{{{{top}.feature_data.{i}.data}}}} (expected {{{{{top}.expected_values.0.value_list.{i}.data}}}})",
                f.name
            )
        })
        .collect();
    let [start, end] = AD_TIME_FIELDS;
    format!(
        "{{{{ctx.monitor.name}}}}: the anomaly detector {name} found an anomaly.\n\
         How bad: grade {{{{ctx.results.0.aggregations.max_anomaly_grade.value}}}} (alerts above {min_grade}), \
         confidence {{{{{top}.confidence}}}} (above {min_confidence}), priority {{{{ctx.trigger.severity}}}} of 5 (1 is highest).\n\
         When: {{{{{hit}.fields.{start}.0}}}} to {{{{{hit}.fields.{end}.0}}}}, the interval found anomalous.\n\
         Where: {index}{{{{#{top}.entity}}}}, {{{{name}}}} {{{{value}}}}{{{{/{top}.entity}}}}.\n\
         What: {what}.\n\
         The detector watches {watches}{description}.{link}\n",
        name = det.name,
        index = site.index_pattern,
        what = what.join("; "),
        watches = watches.join(", "),
        description = match det.description.trim_end_matches('.') {
            "" => String::new(),
            d => format!(": {d}"),
        },
    )
}
