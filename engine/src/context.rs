//! An alert as the alerting plugin's message `ctx`: what a monitor's template is rendered with
//! locally, so that a local notification reads as OpenSearch's would.

use serde_json::{Value, json};
use wafwatch_config::detection::{Detection, Monitor, MonitorKind};

use crate::result::Alert;

/// Epoch milliseconds as the plugins print dates: `2026-12-02T00:17:00.000Z` (alerting's
/// `ctx.periodEnd`, and the `strict_date_time` of an AD result's dates).
fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// The top hit of an anomaly monitor's search, shaped as the real AD result document (2.19):
/// `feature_data` with a `feature_id` (the local engine has no ids: the feature's name stands in
/// for it), `expected_values` as one `{likelihood, value_list}` whose values follow
/// `feature_data`'s order, `relevant_attribution` by `feature_id`, dates in epoch milliseconds;
/// and beside `_source` the `fields` the monitor's `docvalue_fields` ask for, as dates.
fn ad_hit(alert: &Alert) -> Value {
    let expected = |name: &str| alert.expected_values.iter().find(|e| e.feature_name == name).map(|e| e.data);
    let source = json!({
        "detector_id": alert.detector_name,
        "anomaly_grade": alert.anomaly_grade,
        "confidence": alert.confidence,
        "data_start_time": alert.data_start_time,
        "data_end_time": alert.data_end_time,
        "execution_end_time": alert.start_time,
        "feature_data": alert.feature_data.iter().map(|f| json!({"feature_id": f.feature_name, "feature_name": f.feature_name, "data": f.data})).collect::<Vec<_>>(),
        "expected_values": [{"likelihood": 1.0, "value_list": alert.feature_data.iter().filter_map(|f| Some(json!({"feature_id": f.feature_name, "data": expected(&f.feature_name)?}))).collect::<Vec<_>>()}],
        "relevant_attribution": alert.relevant_attribution.iter().map(|a| json!({"feature_id": a.feature_name, "data": a.data})).collect::<Vec<_>>(),
        "entity": alert.entity.as_ref().map(|e| e.iter().map(|v| json!({"name": v.name, "value": v.value})).collect::<Vec<_>>()),
    });
    // wafwatch_message::AD_TIME_FIELDS (a test holds the two in step; the engine does not link
    // the message crate).
    json!({"_source": source, "fields": {"data_start_time": [rfc3339(alert.data_start_time)], "data_end_time": [rfc3339(alert.data_end_time)]}})
}

/// The alerting plugin's `ctx` for a local alert: what the template is rendered with locally.
/// `repeat` is true for a throttled repeat of an alert still active. The period is the monitor
/// run's: its schedule (the detector's interval, or a minute for count and new-value monitors) up to when the
/// alert started.
pub fn local_context(alert: &Alert, monitor: &Monitor, detection: &Detection, repeat: bool) -> Value {
    let period_end = alert.start_time;
    let (schedule, results, buckets) = match &monitor.kind {
        MonitorKind::Anomaly { detector, .. } => {
            let interval = detection.detectors.get(*detector).map_or(MINUTE_MS, |d| d.interval.as_millis() as i64);
            let results = json!([{"hits": {"total": {"value": 1}, "hits": [ad_hit(alert)]}, "aggregations": {"max_anomaly_grade": {"value": alert.anomaly_grade}}}]);
            (interval, results, None)
        }
        MonitorKind::Count { .. } => {
            let count = alert.feature_data.first().map_or(0.0, |f| f.data);
            let keys = alert.entity.as_ref().map(|e| e.iter().map(|v| v.value.as_str()).collect::<Vec<_>>().join(","));
            (
                MINUTE_MS,
                json!([{"hits": {"total": {"value": count as u64}, "hits": []}}]),
                keys.map(|k| json!([{"bucket_keys": k}])),
            )
        }
        MonitorKind::NewValues { .. } => {
            // The search's terms buckets left by its bucket selector: the new values, most first.
            let buckets: Vec<Value> =
                alert.feature_data.iter().map(|f| json!({"key": f.feature_name, "doc_count": f.data as u64})).collect();
            let total: u64 = alert.feature_data.iter().map(|f| f.data as u64).sum();
            (
                MINUTE_MS,
                json!([{"hits": {"total": {"value": total}, "hits": []}, "aggregations": {"learned": {"doc_count": 1}, "values": {"buckets": buckets}}}]),
                None,
            )
        }
    };
    let mut ctx = json!({
        "monitor": {"name": monitor.name, "type": "monitor", "enabled": true},
        "trigger": {"name": monitor.name, "severity": monitor.priority.to_string()},
        "periodStart": rfc3339(period_end - schedule),
        "periodEnd": rfc3339(period_end),
        "results": results,
    });
    if let Some(b) = buckets {
        ctx[if repeat { "dedupedAlerts" } else { "newAlerts" }] = b;
    }
    json!({ "ctx": ctx })
}

/// A count monitor's schedule: every minute.
const MINUTE_MS: i64 = 60_000;

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use wafwatch_config::Severity;
    use wafwatch_config::detection::{Aggregation, Detection, Detector, DocFilter, Feature, FeatureSource};
    use wafwatch_config::pointer::Field;
    use wafwatch_config::transform::{ColumnId, RuleId};
    use wafwatch_message::{Site, render, template};

    use super::*;
    use crate::result::{EntityValue, FeatureData};

    #[test]
    fn formats_utc_times() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_767_225_600_000), "2026-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_709_164_800_000 + 3_723_000), "2024-02-29T01:02:03.000Z");
    }

    fn detection() -> Detection {
        Detection {
            detectors: vec![Detector {
                name: "blocked-requests".into(),
                description: "Share of requests WAF blocked.".into(),
                features: vec![Feature {
                    name: "blocked".into(),
                    source: FeatureSource::Column { id: ColumnId::from_index(0), name: "B_action".into() },
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
                        filter: DocFilter::Rule { id: RuleId::from_index(0), name: "failed-login".into() },
                        threshold: 20,
                        window: Duration::from_secs(300),
                        group_by: Some(0),
                    },
                    throttle: Duration::from_secs(600),
                    channels: vec![],
                    priority: 2,
                },
            ],
            captures: vec![Field::parse("/clientIp").unwrap()],
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

    /// A result document the real AD plugin (2.19.4) wrote (the audit's raw/23), with the
    /// `fields` the monitor's `docvalue_fields` add (as the real alerting plugin returns them).
    const REAL_HIT: &str = r#"{"_index":".opendistro-anomaly-results-history-2026.12.02-1","_id":"M3hWNKIBRRazZonAWHaU","_source":{"detector_id":"aXhUNKIBRRazZonA43FN","relevant_attribution":[{"feature_id":"lnhWNKIBRRazZonAVXUE","data":1.0}],"confidence":0.777156586946025,"threshold":1.2417534549024112,"schema_version":7,"anomaly_score":5.448393344970758,"execution_start_time":1796174403381,"data_end_time":1796170680000,"data_start_time":1796170620000,"feature_data":[{"feature_id":"lnhWNKIBRRazZonAVXUE","feature_name":"blocked","data":0.26527871054398927}],"expected_values":[{"likelihood":1.0,"value_list":[{"feature_id":"lnhWNKIBRRazZonAVXUE","data":0.009631740860641003}]}],"execution_end_time":1796174403633,"anomaly_grade":1.0},"fields":{"data_start_time":["2026-12-02T00:17:00.000Z"],"data_end_time":["2026-12-02T00:18:00.000Z"]}}"#;

    #[test]
    fn the_local_context_renders_the_template_as_a_real_result_does() {
        assert_eq!(wafwatch_message::AD_TIME_FIELDS, ["data_start_time", "data_end_time"], "the fields ad_hit fills");
        let d = detection();
        let site = Site { index_pattern: "waf-logs-*", link: None, rules: &[] };
        let t = template(&d.monitors[0], &d, &site);
        let hit: Value = serde_json::from_str(REAL_HIT).unwrap();
        let real = json!({"ctx": {
            "monitor": {"name": "blocked-anomaly"},
            "trigger": {"name": "blocked-anomaly", "severity": "2"},
            "periodStart": "2026-12-02T00:19:38.215Z",
            "periodEnd": "2026-12-02T00:20:38.215Z",
            "results": [{"hits": {"total": {"value": 1}, "hits": [hit]}, "aggregations": {"max_anomaly_grade": {"value": 1.0}}}],
        }});
        let mut a = alert("blocked-anomaly", None);
        (a.anomaly_grade, a.confidence) = (1.0, 0.777156586946025);
        (a.data_start_time, a.data_end_time, a.start_time) = (1_796_170_620_000, 1_796_170_680_000, 1_796_170_838_215);
        a.feature_data = vec![FeatureData { feature_name: "blocked".into(), data: 0.26527871054398927 }];
        // serde_json's float parsing may differ from the literal in the last digit: take the value
        // the real document parses to.
        let expected = real.pointer("/ctx/results/0/hits/hits/0/_source/expected_values/0/value_list/0/data").unwrap();
        a.expected_values = vec![FeatureData { feature_name: "blocked".into(), data: expected.as_f64().unwrap() }];
        let from_real = render(&t.body, &real);
        assert_eq!(render(&t.body, &local_context(&a, &d.monitors[0], &d, false)), from_real);
        assert!(
            from_real.contains(
                "When: 2026-12-02T00:17:00.000Z to 2026-12-02T00:18:00.000Z, the interval found anomalous.\n"
            ) && from_real.contains("What: blocked = 0.26527871054398927 (expected 0.00963174086064100")
                && !from_real.contains("See:"),
            "{from_real}"
        );
    }

    #[test]
    fn a_local_alert_reads_what_when_how_bad_where() {
        let d = detection();
        let rules = [("failed-login", Severity::High, "A login request refused with 401 or 403.")];
        let site = Site { index_pattern: "waf-logs-*", link: Some("file:///tmp/report.html"), rules: &rules };
        let t = template(&d.monitors[0], &d, &site);
        assert_eq!(t.subject, "[wafwatch] blocked-anomaly (priority 2)");
        let text = render(&t.body, &local_context(&alert("blocked-anomaly", None), &d.monitors[0], &d, false));
        assert_eq!(
            text,
            "blocked-anomaly: the anomaly detector blocked-requests found an anomaly.\n\
             How bad: grade 0.912345 (alerts above 0.7), confidence 0.8 (above 0.6), priority 2 of 5 (1 is highest).\n\
             When: 2026-01-01T03:00:00.000Z to 2026-01-01T03:01:00.000Z, the interval found anomalous.\n\
             Where: waf-logs-*.\n\
             What: blocked = 0.41 (expected 0.012).\n\
             The detector watches blocked = avg of B_action: Share of requests WAF blocked.\n\
             See: file:///tmp/report.html\n"
        );
        let t = template(&d.monitors[1], &d, &site);
        assert_eq!(t.subject, "[wafwatch] logins-per-ip per clientIp (priority 2)");
        let mut a = alert("logins-per-ip", Some("10.0.0.3"));
        a.feature_data = vec![FeatureData { feature_name: "rule:failed-login".into(), data: 24.0 }];
        let text = render(&t.body, &local_context(&a, &d.monitors[1], &d, false));
        assert!(text.starts_with("logins-per-ip: at least 20 documents tagged by rule failed-login, severity high (A login request refused with 401 or 403.) in 5 minutes from one clientIp.\nNew: clientIp 10.0.0.3\nHow bad"), "{text}");
        let again = render(&t.body, &local_context(&a, &d.monitors[1], &d, true));
        assert!(again.contains("Still: clientIp 10.0.0.3") && !again.contains("New:"), "{again}");
    }

    /// A new-value alert reads the same locally as from the monitor's search response, in the shape
    /// the real node answers it (`tests/real_node.rs` runs that search): the terms buckets the
    /// bucket selector left, each with its count.
    #[test]
    fn a_new_value_alert_lists_the_new_values_as_the_search_does() {
        let mut d = detection();
        d.captures = vec![Field::parse("/country").unwrap()];
        d.monitors = vec![Monitor {
            name: "new-countries".into(),
            kind: MonitorKind::NewValues {
                field: 0,
                threshold: 20,
                window: Duration::from_secs(120),
                history: Duration::from_secs(86_400),
            },
            throttle: Duration::from_secs(600),
            channels: vec![],
            priority: 2,
        }];
        let site = Site { index_pattern: "waf-logs-*", link: None, rules: &[] };
        let t = template(&d.monitors[0], &d, &site);
        let mut a = alert("new-countries", None);
        a.feature_data = vec![
            FeatureData { feature_name: "CN".into(), data: 15.0 },
            FeatureData { feature_name: "RU".into(), data: 10.0 },
        ];
        let real = json!({"ctx": {
            "monitor": {"name": "new-countries"},
            "trigger": {"name": "new-countries", "severity": "2"},
            "periodStart": rfc3339(a.start_time - MINUTE_MS),
            "periodEnd": rfc3339(a.start_time),
            "results": [{"hits": {"total": {"value": 10000, "relation": "gte"}, "hits": []}, "aggregations": {
                "learned": {"doc_count": 11291},
                "values": {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0, "buckets": [
                    {"key": "CN", "doc_count": 15, "first_seen": {"value": 1.7e12}, "before": {"doc_count": 0}},
                    {"key": "RU", "doc_count": 10, "first_seen": {"value": 1.7e12}, "before": {"doc_count": 0}},
                ]},
            }}],
        }});
        let local = render(&t.body, &local_context(&a, &d.monitors[0], &d, false));
        assert_eq!(local, render(&t.body, &real));
        assert!(
            local.starts_with(
                "new-countries: at least 20 documents in 2 minutes with a country not seen in the 1 day before.\n\
                 New: country CN (15) country RU (10) \n"
            ),
            "{local}"
        );
    }
}
