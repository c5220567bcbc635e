//! Alert messages: one mustache template per monitor, used twice.
//!
//! The bootstrap puts the template in the monitor's actions, where the alerting plugin renders it
//! with its `ctx` (the monitor, the trigger, the search results, the bucket alerts). `wafwatch run
//! --deliver` renders the very same template locally, with [`local_context`] building a `ctx` of
//! the same shape from the local engine's alert, so a message reads the same wherever it comes from.
//! Each message says what was anomalous, when, how strongly (grade and confidence, or the count
//! against its threshold, and the priority), where (index and entity), and links to the dashboard.

use serde_json::{Value, json};
use wafwatch_transformer::config::Severity;

use crate::detection::{Detection, DocFilter, FeatureSource, Monitor, MonitorKind};
use crate::engine::Alert;

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

/// SNS subjects are at most 100 characters.
/// <https://docs.aws.amazon.com/sns/latest/api/API_Publish.html>
pub const MAX_SUBJECT_CHARS: usize = 100;

fn field_name(detection: &Detection, capture: usize) -> String {
    detection.captures.get(capture).and_then(|p| crate::index::dotted(p).ok()).unwrap_or_else(|| "field".into())
}

/// The template of a monitor's notifications.
pub fn template(monitor: &Monitor, detection: &Detection, site: &Site<'_>) -> Template {
    let link = site.link.map(|l| format!("\nSee: {l}")).unwrap_or_default();
    let mut subject = format!("[wafwatch] {} (priority {})", monitor.name, monitor.priority);
    let body = match &monitor.kind {
        MonitorKind::Anomaly { detector, min_grade, min_confidence } => {
            let det = &detection.detectors[*detector];
            let watches: Vec<String> = det
                .features
                .iter()
                .map(|f| match &f.source {
                    FeatureSource::Column { name, .. } => format!("{} = {} of {name}", f.name, f.aggregation.as_str()),
                    FeatureSource::Field { pointer, .. } => {
                        format!("{} = {} of {pointer}", f.name, f.aggregation.as_str())
                    }
                })
                .collect();
            let top = "ctx.results.0.hits.hits.0._source";
            format!(
                "{{{{ctx.monitor.name}}}}: the anomaly detector {name} found an anomaly.\n\
                 How bad: grade {{{{ctx.results.0.aggregations.max_anomaly_grade.value}}}} (alerts above {min_grade}), \
                 confidence {{{{{top}.confidence}}}} (above {min_confidence}), priority {{{{ctx.trigger.severity}}}} of 5 (1 is highest).\n\
                 When: {{{{ctx.periodStart}}}} to {{{{ctx.periodEnd}}}} UTC.\n\
                 Where: {index}{{{{#{top}.entity}}}}, {{{{name}}}} {{{{value}}}}{{{{/{top}.entity}}}}.\n\
                 What: {{{{#{top}.feature_data}}}}{{{{feature_name}}}} = {{{{data}}}}; {{{{/{top}.feature_data}}}}\
                 expected {{{{#{top}.expected_values}}}}{{{{feature_name}}}} = {{{{data}}}}; {{{{/{top}.expected_values}}}}\n\
                 The detector watches {watches}{description}.{link}\n",
                name = det.name,
                index = site.index_pattern,
                watches = watches.join(", "),
                description = match det.description.trim_end_matches('.') {
                    "" => String::new(),
                    d => format!(": {d}"),
                },
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
            match group_by {
                None => format!(
                    "{{{{ctx.monitor.name}}}}: {{{{ctx.results.0.hits.total.value}}}} {what} in {minutes} minutes.\n\
                     How bad: the alert threshold is {threshold}; priority {{{{ctx.trigger.severity}}}} of 5 (1 is highest).\n\
                     When: {{{{ctx.periodStart}}}} to {{{{ctx.periodEnd}}}} UTC.\n\
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
                         When: {{{{ctx.periodStart}}}} to {{{{ctx.periodEnd}}}} UTC.\n\
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

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

fn round(v: f64) -> Value {
    json!((v * 10_000.0).round() / 10_000.0)
}

/// The alerting plugin's `ctx` for a local alert: what the template is rendered with locally.
/// `repeat` is true for a throttled repeat of an alert still active.
pub fn local_context(alert: &Alert, monitor: &Monitor, repeat: bool) -> Value {
    let period_end = alert.start_time;
    let (period_start, results, buckets) = match &monitor.kind {
        MonitorKind::Anomaly { .. } => {
            let source = json!({
                "anomaly_grade": round(alert.anomaly_grade),
                "confidence": round(alert.confidence),
                "data_start_time": alert.data_start_time,
                "data_end_time": alert.data_end_time,
                "feature_data": alert.feature_data.iter().map(|f| json!({"feature_name": f.feature_name, "data": round(f.data)})).collect::<Vec<_>>(),
                "expected_values": alert.expected_values.iter().map(|f| json!({"feature_name": f.feature_name, "data": round(f.data)})).collect::<Vec<_>>(),
                "entity": alert.entity.as_ref().map(|e| e.iter().map(|v| json!({"name": v.name, "value": v.value})).collect::<Vec<_>>()),
            });
            let start = alert.data_start_time;
            (
                start,
                json!([{"hits": {"total": {"value": 1}, "hits": [{"_source": source}]}, "aggregations": {"max_anomaly_grade": {"value": round(alert.anomaly_grade)}}}]),
                None,
            )
        }
        MonitorKind::Count { window, .. } => {
            let count = alert.feature_data.first().map_or(0.0, |f| f.data);
            let keys = alert.entity.as_ref().map(|e| e.iter().map(|v| v.value.as_str()).collect::<Vec<_>>().join(","));
            (
                period_end - window.as_millis() as i64,
                json!([{"hits": {"total": {"value": count as u64}, "hits": []}}]),
                keys.map(|k| json!([{"bucket_keys": k}])),
            )
        }
    };
    let mut ctx = json!({
        "monitor": {"name": monitor.name, "type": "monitor", "enabled": true},
        "trigger": {"name": monitor.name, "severity": monitor.priority.to_string()},
        "periodStart": rfc3339(period_start),
        "periodEnd": rfc3339(period_end),
        "results": results,
    });
    if let Some(b) = buckets {
        ctx[if repeat { "dedupedAlerts" } else { "newAlerts" }] = b;
    }
    json!({ "ctx": ctx })
}

/// Renders mustache `source` with `data`: `{{path}}` and `{{{path}}}` (dotted paths, numeric
/// segments index arrays, `.` is the current item), sections `{{#path}}...{{/path}}` over arrays,
/// objects and true values, and inverted sections `{{^path}}...{{/path}}`. Nothing is HTML-escaped:
/// the messages are plain text. A path that resolves to nothing renders as nothing.
pub fn render(source: &str, data: &Value) -> String {
    let mut out = String::new();
    render_into(source, &[data], &mut out);
    out
}

fn lookup<'a>(stack: &[&'a Value], path: &str) -> Option<&'a Value> {
    if path == "." {
        return stack.last().copied();
    }
    let mut parts = path.split('.');
    let first = parts.next()?;
    let mut value = stack.iter().rev().find_map(|v| step(v, first))?;
    for p in parts {
        value = step(value, p)?;
    }
    Some(value)
}

fn step<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    match v {
        Value::Object(m) => m.get(key),
        Value::Array(a) => key.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    }
}

fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::String(s)) => !s.is_empty(),
        _ => true,
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Finds the `{{/name}}` closing the section opened just before `rest`, allowing nested sections of
/// the same name. Returns (inner, after).
fn section_end<'s>(rest: &'s str, name: &str) -> Option<(&'s str, &'s str)> {
    let (open_a, open_b, close) = (format!("{{{{#{name}}}}}"), format!("{{{{^{name}}}}}"), format!("{{{{/{name}}}}}"));
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(pos) = rest[i..].find("{{") {
        let at = i + pos;
        let tail = &rest[at..];
        if tail.starts_with(&close) {
            if depth == 0 {
                return Some((&rest[..at], &rest[at + close.len()..]));
            }
            depth -= 1;
        } else if tail.starts_with(&open_a) || tail.starts_with(&open_b) {
            depth += 1;
        }
        i = at + 2;
    }
    None
}

fn render_into(mut source: &str, stack: &[&Value], out: &mut String) {
    while let Some(pos) = source.find("{{") {
        out.push_str(&source[..pos]);
        let rest = &source[pos..];
        let (tag, after) = if let Some(r) = rest.strip_prefix("{{{") {
            match r.find("}}}") {
                Some(end) => (&r[..end], &r[end + 3..]),
                None => {
                    source = rest;
                    break;
                }
            }
        } else {
            match rest[2..].find("}}") {
                Some(end) => (&rest[2..2 + end], &rest[2 + end + 2..]),
                None => {
                    source = rest;
                    break;
                }
            }
        };
        let tag = tag.trim();
        if let Some(name) = tag.strip_prefix('#').or_else(|| tag.strip_prefix('^')).map(str::trim) {
            let inverted = tag.starts_with('^');
            let Some((inner, rest_after)) = section_end(after, name) else {
                source = after;
                continue;
            };
            let value = lookup(stack, name);
            if inverted {
                if !truthy(value) {
                    render_into(inner, stack, out);
                }
            } else if truthy(value)
                && let Some(v) = value
            {
                match v {
                    Value::Array(items) => {
                        for item in items {
                            let mut inner_stack = stack.to_vec();
                            inner_stack.push(item);
                            render_into(inner, &inner_stack, out);
                        }
                    }
                    Value::Object(_) => {
                        let mut inner_stack = stack.to_vec();
                        inner_stack.push(v);
                        render_into(inner, &inner_stack, out);
                    }
                    _ => render_into(inner, stack, out),
                }
            }
            source = rest_after;
        } else if tag.starts_with('/') || tag.starts_with('!') {
            source = after;
        } else {
            if let Some(v) = lookup(stack, tag) {
                out.push_str(&text(v));
            }
            source = after;
        }
    }
    out.push_str(source);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detection::{Aggregation, Detector, Feature};
    use crate::engine::{EntityValue, FeatureData};
    use std::time::Duration;

    #[test]
    fn renders_variables_sections_and_indices() {
        let data = json!({"ctx": {"monitor": {"name": "m"}, "results": [{"hits": {"hits": [{"_source": {
            "entity": [{"name": "clientIp", "value": "10.0.0.1"}], "grade": 0.9}}]}}], "none": [], "flag": false}});
        let src = "{{ctx.monitor.name}}:{{#ctx.results.0.hits.hits.0._source.entity}} {{name}}={{value}}{{/ctx.results.0.hits.hits.0._source.entity}} g={{ctx.results.0.hits.hits.0._source.grade}}{{#ctx.none}}x{{/ctx.none}}{{^ctx.none}} empty{{/ctx.none}}{{^ctx.flag}} no{{/ctx.flag}}{{missing.path}}.";
        assert_eq!(render(src, &data), "m: clientIp=10.0.0.1 g=0.9 empty no.");
        assert_eq!(render("{{#a}}[{{.}}]{{/a}}", &json!({"a": [1, "x"]})), "[1][x]");
        assert_eq!(render("{{#o}}{{k}}{{#o}}{{k}}{{/o}}{{/o}}", &json!({"o": {"k": "v"}})), "vv");
        assert_eq!(render("unclosed {{x", &json!({})), "unclosed {{x");
    }

    #[test]
    fn formats_utc_times() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_767_225_600_000), "2026-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_709_164_800_000 + 3_723_000), "2024-02-29T01:02:03Z");
    }

    fn detection() -> Detection {
        Detection {
            detectors: vec![Detector {
                name: "blocked-requests".into(),
                description: "Share of requests WAF blocked.".into(),
                features: vec![Feature {
                    name: "blocked".into(),
                    source: FeatureSource::Column { index: 0, name: "B_action".into() },
                    aggregation: Aggregation::Avg,
                }],
                interval: Duration::from_secs(60),
                window_delay: Duration::from_secs(60),
                shingle_size: 8,
                category_fields: vec![],
                max_entities: 100,
                imputation: None,
                suppress: vec![],
            }],
            monitors: vec![
                Monitor {
                    name: "blocked-anomaly".into(),
                    kind: MonitorKind::Anomaly { detector: 0, min_grade: 0.7, min_confidence: 0.6 },
                    throttle: Duration::from_secs(600),
                    channels: vec![],
                    priority: 2,
                },
                Monitor {
                    name: "logins-per-ip".into(),
                    kind: MonitorKind::Count {
                        filter: DocFilter::Rule { index: 0, name: "failed-login".into() },
                        threshold: 20,
                        window: Duration::from_secs(300),
                        group_by: Some(0),
                    },
                    throttle: Duration::from_secs(600),
                    channels: vec![],
                    priority: 2,
                },
            ],
            captures: vec!["/clientIp".into()],
        }
    }

    fn alert(monitor: &str, entity: Option<&str>) -> Alert {
        Alert {
            monitor_name: monitor.into(),
            detector_name: "blocked-requests".into(),
            entity: entity.map(|v| vec![EntityValue { name: "clientIp".into(), value: v.into() }]),
            priority: 2,
            start_time: 1_767_236_520_000,
            data_start_time: 1_767_236_400_000,
            data_end_time: 1_767_236_460_000,
            anomaly_grade: 0.912_345,
            confidence: 0.8,
            feature_data: vec![FeatureData { feature_name: "blocked".into(), data: 0.41 }],
            expected_values: vec![FeatureData { feature_name: "blocked".into(), data: 0.012 }],
            relevant_attribution: vec![],
        }
    }

    #[test]
    fn a_local_alert_reads_what_when_how_bad_where() {
        let d = detection();
        let rules = [("failed-login", Severity::High, "A login request refused with 401 or 403.")];
        let site = Site { index_pattern: "waf-logs-*", link: Some("file:///tmp/report.html"), rules: &rules };
        let t = template(&d.monitors[0], &d, &site);
        assert_eq!(t.subject, "[wafwatch] blocked-anomaly (priority 2)");
        let text = render(&t.body, &local_context(&alert("blocked-anomaly", None), &d.monitors[0], false));
        assert_eq!(
            text,
            "blocked-anomaly: the anomaly detector blocked-requests found an anomaly.\n\
             How bad: grade 0.9123 (alerts above 0.7), confidence 0.8 (above 0.6), priority 2 of 5 (1 is highest).\n\
             When: 2026-01-01T03:00:00Z to 2026-01-01T03:02:00Z UTC.\n\
             Where: waf-logs-*.\n\
             What: blocked = 0.41; expected blocked = 0.012; \n\
             The detector watches blocked = avg of B_action: Share of requests WAF blocked.\n\
             See: file:///tmp/report.html\n"
        );
        let t = template(&d.monitors[1], &d, &site);
        assert_eq!(t.subject, "[wafwatch] logins-per-ip per clientIp (priority 2)");
        let mut a = alert("logins-per-ip", Some("10.0.0.3"));
        a.feature_data = vec![FeatureData { feature_name: "rule:failed-login".into(), data: 24.0 }];
        let text = render(&t.body, &local_context(&a, &d.monitors[1], false));
        assert!(text.starts_with("logins-per-ip: at least 20 documents tagged by rule failed-login, severity high (A login request refused with 401 or 403.) in 5 minutes from one clientIp.\nNew: clientIp 10.0.0.3\nHow bad"), "{text}");
        let again = render(&t.body, &local_context(&a, &d.monitors[1], true));
        assert!(again.contains("Still: clientIp 10.0.0.3") && !again.contains("New:"), "{again}");
    }
}
