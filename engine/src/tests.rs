//! The engine against hand-computed aggregations, spikes, throttles, entities and imputation.

use std::time::Duration;

use wafwatch_config::detection::{
    Aggregation, Detector, DocFilter, Feature, FeatureSource, Imputation, Monitor, MonitorKind, Suppression,
    ThresholdType,
};
use wafwatch_config::pointer::Field;
use wafwatch_config::transform::{ColumnId, RuleId};

use super::*;
use crate::suppress::survives;

fn field(p: &str) -> Field {
    Field::parse(p).unwrap()
}

fn detector(agg: Aggregation) -> Detector {
    Detector {
        name: "d".into(),
        description: String::new(),
        features: vec![Feature {
            name: "f".into(),
            source: FeatureSource::Column { id: ColumnId::from_index(0), name: "c".into() },
            aggregation: agg,
        }],
        interval: Duration::from_secs(60),
        window_delay: Duration::from_secs(60),
        shingle_size: 4,
        category_fields: vec![],
        max_entities: 100,
        imputation: None,
        suppress: vec![],
    }
}

fn detection(agg: Aggregation, throttle_min: u64) -> Detection {
    Detection {
        detectors: vec![detector(agg)],
        monitors: vec![Monitor {
            name: "m".into(),
            kind: MonitorKind::Anomaly { detector: 0, min_grade: 0.5, min_confidence: 0.3 },
            throttle: Duration::from_secs(throttle_min * 60),
            channels: vec![],
            priority: 2,
        }],
        captures: vec![],
    }
}

fn doc(ts: i64, on: bool) -> Facts {
    Facts { timestamp_ms: ts, columns: vec![on], ..Facts::default() }
}

fn results(events: Vec<Event>) -> Vec<AdResult> {
    events.into_iter().filter_map(|e| if let Event::Result(r) = e { Some(r) } else { None }).collect()
}

fn alerts(events: &[Event]) -> Vec<Alert> {
    events.iter().filter_map(|e| if let Event::Alert(a) = e { Some(a.clone()) } else { None }).collect()
}

#[test]
fn aggregates_by_interval_with_the_window_delay() {
    let mut e = Engine::new(&detection(Aggregation::Sum, 10), 1).unwrap();
    // Interval [0, 60s): three documents, two with the column set; [60s, 120s): one.
    for (ts, on) in [(0, true), (59_999, true), (30_000, false), (60_000, true)] {
        e.observe(&doc(ts, on));
    }
    // 60 s + 60 s delay: the first interval is not due before 120 s.
    assert!(e.advance(119_999).is_empty());
    let r = results(e.advance(120_000));
    assert_eq!((r[0].data_start_time, r[0].data_end_time, r[0].execution_end_time), (0, 60_000, 120_000));
    assert_eq!(r[0].feature_data[0].data, 2.0);
    // A late document for an interval already evaluated is not counted (AD would not see it).
    e.observe(&doc(10_000, true));
    assert_eq!(e.stats().late_documents, 1);
    let rest = results(e.finish());
    assert_eq!(rest.len(), 1);
    assert_eq!((rest[0].data_start_time, rest[0].feature_data[0].data), (60_000, 1.0));
}

#[test]
fn avg_min_max_and_count_match_hand_computed_values() {
    for (agg, want) in
        [(Aggregation::Avg, 0.25), (Aggregation::Min, 0.0), (Aggregation::Max, 1.0), (Aggregation::ValueCount, 4.0)]
    {
        let mut e = Engine::new(&detection(agg, 10), 1).unwrap();
        for (ts, on) in [(1, false), (2, true), (3, false), (4, false)] {
            e.observe(&doc(ts, on));
        }
        let r = results(e.finish());
        assert_eq!(r[0].feature_data[0].data, want, "{agg:?}");
    }
}

fn with_capture(ts: i64, ip: Option<&str>, country: &str) -> Facts {
    Facts {
        timestamp_ms: ts,
        columns: vec![true],
        captured: vec![ip.map(str::to_owned), Some(country.to_owned())],
        ..Facts::default()
    }
}

#[test]
fn per_entity_aggregation_cardinality_and_the_entity_cap() {
    let mut det = detector(Aggregation::Sum);
    det.category_fields = vec![0];
    det.max_entities = 2;
    det.features.push(Feature {
        name: "countries".into(),
        source: FeatureSource::Field { capture: 1, field: field("/country") },
        aggregation: Aggregation::Cardinality,
    });
    let detection =
        Detection { detectors: vec![det], monitors: vec![], captures: vec![field("/clientIp"), field("/country")] };
    let mut e = Engine::new(&detection, 1).unwrap();
    // Minute 0: 10.0.0.1 three times (two countries), 10.0.0.2 twice, 10.0.0.3 once, one
    // document without an IP (in no entity).
    for (ip, c) in [
        ("10.0.0.1", "US"),
        ("10.0.0.1", "US"),
        ("10.0.0.1", "FR"),
        ("10.0.0.2", "IN"),
        ("10.0.0.2", "IN"),
        ("10.0.0.3", "US"),
    ] {
        e.observe(&with_capture(1_000, Some(ip), c));
    }
    e.observe(&with_capture(2_000, None, "US"));
    let r = results(e.advance(120_000));
    let got: Vec<(String, f64, f64)> = r
        .iter()
        .map(|r| {
            let ent = r.entity.as_ref().unwrap();
            assert_eq!(ent[0].name, "clientIp");
            (ent[0].value.clone(), r.feature_data[0].data, r.feature_data[1].data)
        })
        .collect();
    // The two busiest entities are scored; the third is skipped.
    assert_eq!(got, [("10.0.0.1".to_owned(), 3.0, 2.0), ("10.0.0.2".to_owned(), 2.0, 1.0)]);
    assert_eq!(e.stats(), EngineStats { late_documents: 0, skipped_entity_intervals: 1, entity_models: 2 });
    // Minute 1: a new busiest entity evicts the model used longest ago.
    for _ in 0..5 {
        e.observe(&with_capture(61_000, Some("10.0.0.9"), "US"));
    }
    e.observe(&with_capture(61_000, Some("10.0.0.2"), "US"));
    let r = results(e.advance(180_000));
    assert_eq!(r.len(), 2);
    assert_eq!(e.stats().entity_models, 2);
}

#[test]
fn imputation_fills_empty_intervals() {
    for (imputation, want) in [
        (None, vec![1.0, 1.0]),
        (Some(Imputation::Zero), vec![1.0, 0.0, 0.0, 1.0]),
        (Some(Imputation::Previous), vec![1.0, 1.0, 1.0, 1.0]),
    ] {
        let mut d = detection(Aggregation::Sum, 10);
        d.detectors[0].imputation = imputation;
        let mut e = Engine::new(&d, 1).unwrap();
        e.observe(&doc(0, true));
        e.observe(&doc(3 * 60_000, true));
        let r = results(e.finish());
        assert_eq!(r.iter().map(|r| r.feature_data[0].data).collect::<Vec<_>>(), want, "{imputation:?}");
        assert_eq!(r.iter().filter(|r| r.feature_imputed).count(), want.len() - 2);
    }
}

/// A flat series with a little noise, and the same series with a spike.
fn run(spike_at: Option<usize>, throttle_min: u64) -> (Vec<AdResult>, Vec<Alert>, usize) {
    let mut e = Engine::new(&detection(Aggregation::Sum, throttle_min), 7).unwrap();
    let mut results = Vec::new();
    let mut alerts = Vec::new();
    let mut renotify = 0;
    for i in 0..400usize {
        let mut n = 20 + (i * 7919 % 5);
        if spike_at.is_some_and(|s| i >= s && i < s + 3) {
            n = 200;
        }
        for k in 0..n {
            e.observe(&doc(i as i64 * 60_000 + k as i64, true));
        }
        for ev in e.advance((i as i64 + 1) * 60_000) {
            match ev {
                Event::Result(r) => results.push(r),
                Event::Alert(a) => alerts.push(a),
                Event::Renotify(_) => renotify += 1,
            }
        }
    }
    (results, alerts, renotify)
}

#[test]
fn finds_a_planted_spike_and_stays_quiet_on_a_flat_series() {
    let (_, quiet, _) = run(None, 10);
    assert!(quiet.is_empty(), "{quiet:?}");
    let (results, alerts, _) = run(Some(300), 10);
    assert!(!alerts.is_empty(), "the spike is found");
    let first = &alerts[0];
    assert!((300 * 60_000..304 * 60_000).contains(&first.data_start_time), "{first:?}");
    assert_eq!(first.relevant_attribution[0].feature_name, "f");
    assert!(first.expected_values[0].data < 40.0, "expected about 22, not the spike: {first:?}");
    assert!(results.iter().filter(|r| r.data_start_time < 300 * 60_000).all(|r| r.anomaly_grade < 0.5));
}

#[test]
fn suppression_keeps_only_deviations_beyond_every_rule() {
    use ThresholdType::*;
    let default = detector(Aggregation::Avg).effective_suppression();
    assert!(!survives(&default, &[0.11], &[0.10]), "10% above: within AD's default 20%");
    assert!(!survives(&default, &[0.09], &[0.10]), "10% below");
    assert!(survives(&default, &[0.40], &[0.10]), "four times the expected share");
    assert!(survives(&default, &[0.01], &[0.0]), "anything above an expected zero");
    let rises_only = [Suppression { feature: 0, kind: ActualIsBelowExpected, value: None }];
    assert!(!survives(&rises_only, &[0.0], &[0.5]) && survives(&rises_only, &[0.9], &[0.5]));
    let margin = [Suppression { feature: 0, kind: ActualOverExpectedMargin, value: Some(5.0) }];
    assert!(!survives(&margin, &[14.0], &[10.0]) && survives(&margin, &[16.0], &[10.0]));
    // Two features: one within its rule, the other beyond: the anomaly stands.
    let two = [Suppression { feature: 0, kind: ActualOverExpectedRatio, value: Some(0.5) }];
    assert!(survives(&two, &[1.1, 9.0], &[1.0, 1.0]) && !survives(&two, &[1.1], &[1.0]));
}

fn count_monitor(group_by: Option<usize>) -> Detection {
    Detection {
        detectors: vec![],
        monitors: vec![Monitor {
            name: "logins".into(),
            kind: MonitorKind::Count {
                filter: DocFilter::Rule { id: RuleId::from_index(2), name: "failed-login".into() },
                threshold: 3,
                window: Duration::from_secs(300),
                group_by,
            },
            throttle: Duration::from_secs(600),
            channels: vec![],
            priority: 2,
        }],
        captures: vec![field("/clientIp")],
    }
}

#[test]
fn count_monitors_count_matching_documents_over_a_sliding_window() {
    let mut e = Engine::new(&count_monitor(None), 1).unwrap();
    let tagged = |ts: i64| Facts { timestamp_ms: ts, rules: vec![RuleId::from_index(2)], ..Facts::default() };
    let other = |ts: i64| Facts { timestamp_ms: ts, rules: vec![RuleId::from_index(0)], ..Facts::default() };
    // Two tagged in minute 0, one other rule, one tagged in minute 3: the third within five
    // minutes arrives in minute 3, so the alert is for minute 3.
    for f in [tagged(1_000), tagged(2_000), other(3_000), tagged(3 * 60_000 + 5)] {
        e.observe(&f);
    }
    let a = alerts(&e.advance(10 * 60_000));
    assert_eq!(a.len(), 1);
    assert_eq!(
        (a[0].data_start_time, a[0].detector_name.as_str(), a[0].feature_data[0].data, a[0].entity.clone()),
        (3 * 60_000, "rule:failed-login", 3.0, None)
    );
}

#[test]
fn grouped_count_monitors_alert_per_value() {
    let mut e = Engine::new(&count_monitor(Some(0)), 1).unwrap();
    let from = |ts: i64, ip: &str| Facts {
        timestamp_ms: ts,
        rules: vec![RuleId::from_index(2)],
        captured: vec![Some(ip.into())],
        ..Facts::default()
    };
    // 10.0.0.1: three in minute 0; 10.0.0.2: two, then one more in minute 6 (the first two
    // have left the five-minute window by then); 10.0.0.3 four in minute 1.
    for f in [from(1, "10.0.0.1"), from(2, "10.0.0.1"), from(3, "10.0.0.1"), from(4, "10.0.0.2"), from(5, "10.0.0.2")] {
        e.observe(&f);
    }
    for i in 0..4 {
        e.observe(&from(60_000 + i, "10.0.0.3"));
    }
    e.observe(&from(6 * 60_000, "10.0.0.2"));
    let a = alerts(&e.advance(10 * 60_000));
    let got: Vec<(String, i64)> =
        a.iter().map(|a| (a.entity.as_ref().unwrap()[0].value.clone(), a.data_start_time / 60_000)).collect();
    assert_eq!(got, [("10.0.0.1".to_owned(), 0), ("10.0.0.3".to_owned(), 1)]);
    assert_eq!(a[0].entity.as_ref().unwrap()[0].name, "clientIp");
}

/// Issue 12: the end of a recorded input, which stops a few seconds into its last interval, must
/// not have that interval scored as if complete.
#[test]
fn closing_the_data_scores_only_the_intervals_it_covers_to_their_end() {
    let mut e = Engine::new(&detection(Aggregation::Avg, 10), 1).unwrap();
    for i in 0..5 {
        e.observe(&doc(i * 60_000 + 10_000, false));
    }
    // The data stops two seconds into minute 5, on a record that would be an anomaly share of 1.
    e.observe(&doc(5 * 60_000 + 2_000, true));
    let r = results(e.close(5 * 60_000 + 2_001));
    let starts: Vec<i64> = r.iter().map(|r| r.data_start_time / 60_000).collect();
    assert_eq!(starts, [0, 1, 2, 3, 4], "minutes 0 to 4 close without their window delay; minute 5 is open");
    assert!(results(e.close(5 * 60_000 + 2_001)).is_empty());
    // Data that does reach the end of minute 5 completes it.
    assert_eq!(results(e.close(6 * 60_000)).len(), 1);

    // A count monitor's minute the data stops inside of is not counted either.
    let mut e = Engine::new(&count_monitor(None), 1).unwrap();
    for k in 0..3 {
        e.observe(&Facts { timestamp_ms: 60_000 + k, rules: vec![RuleId::from_index(2)], ..Facts::default() });
    }
    assert!(alerts(&e.close(60_003)).is_empty(), "minute 1 is not over");
    assert_eq!(alerts(&e.close(120_000)).len(), 1);
}

fn anomalous_at(execution_end_time: i64) -> AdResult {
    AdResult {
        detector_id: "d".into(),
        entity: None,
        data_start_time: execution_end_time - 120_000,
        data_end_time: execution_end_time - 60_000,
        execution_end_time,
        feature_data: vec![],
        feature_imputed: false,
        anomaly_score: 3.0,
        anomaly_grade: 0.9,
        confidence: 0.9,
        threshold: 1.0,
        relevant_attribution: vec![],
        expected_values: vec![],
    }
}

#[test]
fn throttle_suppresses_repeat_notifications_while_an_alert_stays_active() {
    let mut m = crate::monitor::MonitorState::new(&detection(Aggregation::Sum, 10).monitors[0], None);
    let mut events = Vec::new();
    // Anomalous for 30 minutes: one alert, repeated at minutes 10 and 20 only.
    for i in 0..30 {
        m.on_results("d", &[anomalous_at(i * 60_000)], &mut events);
    }
    assert_eq!(alerts(&events).len(), 1);
    let repeats: Vec<i64> = events
        .iter()
        .filter_map(|e| if let Event::Renotify(a) = e { Some(a.start_time / 60_000) } else { None })
        .collect();
    assert_eq!(repeats, [10, 20]);
    // Normal again, then anomalous: a new alert. A grade exactly at the threshold is not above it.
    let mut normal = anomalous_at(31 * 60_000);
    normal.anomaly_grade = 0.5;
    m.on_results("d", &[normal], &mut events);
    m.on_results("d", &[anomalous_at(32 * 60_000)], &mut events);
    assert_eq!(alerts(&events).len(), 2);
}

fn new_values_monitor(threshold: u64, history_min: u64) -> Detection {
    Detection {
        detectors: vec![],
        monitors: vec![Monitor {
            name: "new-countries".into(),
            kind: MonitorKind::NewValues {
                field: 0,
                threshold,
                window: Duration::from_secs(120),
                history: Duration::from_secs(history_min * 60),
            },
            throttle: Duration::from_secs(600),
            channels: vec![],
            priority: 2,
        }],
        captures: vec![field("/country")],
    }
}

fn from_country(ts: i64, country: Option<&str>) -> Facts {
    Facts { timestamp_ms: ts, captured: vec![country.map(str::to_owned)], ..Facts::default() }
}

#[test]
fn new_value_monitors_count_documents_whose_value_the_history_never_saw() {
    const MIN: i64 = 60_000;
    let mut e = Engine::new(&new_values_monitor(3, 180), 1).unwrap();
    e.keep_backgrounds();
    // Two hours of US and IN every minute, one FR at minute 10 only, documents without a country.
    for m in 0..120 {
        e.observe(&from_country(m * MIN, Some("US")));
        e.observe(&from_country(m * MIN + 1, Some("IN")));
        e.observe(&from_country(m * MIN + 2, None));
    }
    e.observe(&from_country(10 * MIN + 5, Some("FR")));
    // Minute 120: two CN (new), one FR (seen 110 minutes before the window: within the history),
    // US as usual. Minute 121: two more CN, one RU (new).
    for (m, c) in [(120, "CN"), (120, "CN"), (120, "FR"), (120, "US"), (121, "CN"), (121, "CN"), (121, "RU")] {
        e.observe(&from_country(m * MIN + 7, Some(c)));
    }
    let a = alerts(&e.close(122 * MIN));
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(
        (a[0].data_start_time, a[0].detector_name.as_str(), a[0].entity.clone()),
        (121 * MIN, "new:country", None)
    );
    let listed: Vec<(&str, f64)> = a[0].feature_data.iter().map(|f| (f.feature_name.as_str(), f.data)).collect();
    assert_eq!(listed, [("CN", 4.0), ("RU", 1.0)], "most first; FR is not new");
    // Nothing is judged before the data reaches more than an hour back past the window's start
    // (every value would be new): the background starts at minute 62, whose window starts at
    // minute 61, an hour after the first document (the search's `lt` is strict).
    let bg = &e.backgrounds()[0].values;
    assert_eq!(bg.first().map(|m| m.at), Some(62 * MIN));
    assert_eq!(bg.iter().map(|m| m.value).fold(0.0, f64::max), 5.0);
    assert_eq!(bg.iter().filter(|m| m.value > 0.0).count(), 2, "minute 120 (2 CN) and 121 (4 CN and RU)");
}

#[test]
fn a_value_older_than_the_history_is_new_again() {
    const MIN: i64 = 60_000;
    // History of 90 minutes; FR seen at minute 0, then at minute 200 with steady US traffic.
    let mut e = Engine::new(&new_values_monitor(1, 90), 1).unwrap();
    e.observe(&from_country(0, Some("FR")));
    for m in 0..200 {
        e.observe(&from_country(m * MIN + 1, Some("US")));
    }
    e.observe(&from_country(200 * MIN + 2, Some("FR")));
    let a = alerts(&e.close(201 * MIN));
    assert_eq!(a.iter().map(|a| a.data_start_time / MIN).collect::<Vec<_>>(), [200]);
    // The same with FR seen at minute 150 (within 90 minutes of the window): nothing.
    let mut e = Engine::new(&new_values_monitor(1, 90), 1).unwrap();
    for m in 0..200 {
        e.observe(&from_country(m * MIN + 1, Some("US")));
    }
    e.observe(&from_country(150 * MIN + 2, Some("FR")));
    e.observe(&from_country(200 * MIN + 2, Some("FR")));
    let a = alerts(&e.close(201 * MIN));
    assert!(a.iter().all(|a| a.data_start_time / MIN == 150), "only FR's first appearance: {a:?}");
}
