//! An alert as the alerting plugin's message `ctx`: what a monitor's template is rendered with
//! locally, so that a local notification reads as OpenSearch's would.

use serde_json::{Value, json};
use wafwatch_config::detection::{Monitor, MonitorKind};

use crate::result::Alert;

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
