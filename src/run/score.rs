//! Scoring a run against its ground truth: which scenarios were detected, after how many
//! intervals, by which monitor, and how many alerts fired outside every scenario.

use chrono::DateTime;
use serde::Serialize;
use wafwatch_config::detection::Detection;
use wafwatch_engine::Alert;
use wafwatch_log_simulator::sim::Label;

/// One scenario's score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioScore {
    /// Scenario name.
    pub name: String,
    /// RFC 3339.
    pub start: String,
    /// RFC 3339.
    pub end: String,
    /// Whether an alert came in [start, end + shingle_size intervals).
    pub detected: bool,
    /// Counted from 1, the interval holding the start; null when missed.
    pub intervals_to_detect: Option<u64>,
    /// The first monitor that caught it.
    pub detected_by: Option<String>,
}

/// Scores alerts against labels: a scenario is detected by the first alert whose interval overlaps
/// [start, end + shingle_size intervals of the alert's detector); any other alert after the warm-up
/// is false. Returns the scores and the number of false alerts.
pub fn score(
    labels: &[Label],
    alerts: &[Alert],
    detection: &Detection,
    run_start_ms: i64,
    warmup_ms: i64,
) -> (Vec<ScenarioScore>, usize) {
    let grace = |alert: &Alert| {
        detection.detectors.iter().find(|d| d.name == alert.detector_name).map_or((60_000, 0), |d| {
            (d.interval.as_millis() as i64, d.shingle_size as i64 * d.interval.as_millis() as i64)
        })
    };
    let parse = |s: &str| DateTime::parse_from_rfc3339(s).map(|d| d.timestamp_millis()).unwrap_or(0);
    let mut scores = Vec::new();
    let mut explained = vec![false; alerts.len()];
    for l in labels {
        let (start, end) = (parse(&l.start), parse(&l.end));
        let mut first: Option<(&Alert, u64)> = None;
        for (i, a) in alerts.iter().enumerate() {
            let (interval, extra) = grace(a);
            if a.data_start_time + interval > start && a.data_start_time < end + extra {
                explained[i] = true;
                let first_interval = start - start.rem_euclid(interval);
                let n = ((a.data_start_time - first_interval) / interval + 1).max(1) as u64;
                if first.is_none_or(|(f, _)| a.data_start_time < f.data_start_time) {
                    first = Some((a, n));
                }
            }
        }
        scores.push(ScenarioScore {
            name: l.scenario.to_owned(),
            start: l.start.clone(),
            end: l.end.clone(),
            detected: first.is_some(),
            intervals_to_detect: first.map(|(_, n)| n),
            detected_by: first.map(|(a, _)| a.monitor_name.clone()),
        });
    }
    let false_alerts = alerts
        .iter()
        .zip(&explained)
        .filter(|(a, explained)| !**explained && a.data_start_time >= run_start_ms + warmup_ms)
        .count();
    (scores, false_alerts)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use wafwatch_config::detection::{Aggregation, Detector, Feature, FeatureSource};

    use super::*;

    const T0: i64 = 1_767_225_600_000;
    const MIN: i64 = 60_000;

    fn alert(monitor: &str, detector: &str, minute: i64) -> Alert {
        Alert {
            monitor_name: monitor.into(),
            detector_name: detector.into(),
            entity: None,
            priority: 2,
            start_time: T0 + (minute + 2) * MIN,
            data_start_time: T0 + minute * MIN,
            data_end_time: T0 + (minute + 1) * MIN,
            anomaly_grade: 0.9,
            confidence: 1.0,
            feature_data: vec![],
            expected_values: vec![],
            relevant_attribution: vec![],
        }
    }

    fn rfc3339(ms: i64) -> String {
        DateTime::from_timestamp_millis(ms).unwrap().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }

    fn label(name: &'static str, from_min: i64, to_min: i64) -> Label {
        Label {
            scenario: name,
            start: rfc3339(T0 + from_min * MIN),
            end: rfc3339(T0 + to_min * MIN),
            fields: &[],
            records: 1,
        }
    }

    #[test]
    fn scoring_follows_the_definitions() {
        let detection = Detection {
            detectors: vec![Detector {
                name: "d".into(),
                description: String::new(),
                features: vec![Feature {
                    name: "f".into(),
                    source: FeatureSource::Column {
                        id: wafwatch_config::transform::ColumnId::from_index(0),
                        name: "c".into(),
                    },
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
            monitors: vec![],
            captures: vec![],
        };
        let labels = [label("a", 100, 110), label("b", 200, 210), label("c", 300, 310)];
        let alerts = [
            alert("early", "d", 30), // during warm-up (60 min): not false
            alert("m1", "d", 102),   // a: third interval
            alert("m2", "d", 101),   // a: second interval, earlier, so it wins
            alert("m1", "d", 217),   // b: after the end but within shingle (8) intervals: detected late
            alert("m1", "d", 318),   // c: end + 8 intervals is 318: outside, so c is missed and this is false
            alert("m1", "d", 500),   // false
        ];
        let (scores, false_alerts) = score(&labels, &alerts, &detection, T0, 60 * MIN);
        assert_eq!(scores[0].intervals_to_detect, Some(2));
        assert_eq!(scores[0].detected_by.as_deref(), Some("m2"));
        assert_eq!((scores[1].detected, scores[1].intervals_to_detect), (true, Some(18)));
        assert_eq!(
            (scores[2].detected, scores[2].intervals_to_detect, scores[2].detected_by.clone()),
            (false, None, None)
        );
        assert_eq!(false_alerts, 2);
    }
}
