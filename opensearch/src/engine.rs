//! The local engine: the offline twin of OpenSearch anomaly detection and alerting.
//!
//! It buckets the transformer's documents into each detector's intervals exactly as the
//! detector's feature aggregations would (sum, avg, min, max, value_count over the interval
//! `[start, start + interval)` on `@timestamp`), feeds each detector's series to a thresholded Random
//! Cut Forest (`rcflib`'s `trcf`, the algorithm behind OpenSearch AD) with the detector's shingle
//! size, writes results shaped like AD result documents, and runs the monitors over them with the
//! alerting plugin's semantics. Confidence is how full the forest's samples are
//! (`min(1, intervals seen / 256)`), which, like AD's confidence, grows as the model sees data;
//! the alerting semantics are: an alert becomes active when the trigger condition first holds, stays
//! active while it holds, completes when it stops holding; notifications repeat at most once per
//! throttle period while it stays active.

use std::collections::BTreeMap;

use rcflib::trcf::basictrcf::{BasicTRCF, BasicTRCFBuilder};
use serde::Serialize;
use wafwatch_transformer::Facts;

use crate::detection::{Aggregation, Detection, Detector, Monitor, MonitorKind};

/// Trees per forest, as OpenSearch AD uses.
pub const TREES: usize = 30;
/// Samples per tree, as OpenSearch AD uses.
pub const SAMPLE_SIZE: usize = 256;

/// One feature's value in a result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeatureData {
    /// Feature name.
    pub feature_name: String,
    /// Aggregated value.
    pub data: f64,
}

/// One feature's share of an anomaly.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attribution {
    /// Feature name.
    pub feature_name: String,
    /// Share of the anomaly score, 0 to 1.
    pub data: f64,
}

/// A detector's result for one interval, shaped like an AD result document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdResult {
    /// The detector's name (the local engine has no ids).
    pub detector_id: String,
    /// Interval start, epoch ms.
    pub data_start_time: i64,
    /// Interval end, epoch ms.
    pub data_end_time: i64,
    /// When a live detector would have run: interval end plus window delay.
    pub execution_end_time: i64,
    /// Aggregated features.
    pub feature_data: Vec<FeatureData>,
    /// Random Cut Forest score.
    pub anomaly_score: f64,
    /// 0 (normal) to 1.
    pub anomaly_grade: f64,
    /// How much the model trusts the result, 0 to 1.
    pub confidence: f64,
    /// Score threshold at this point.
    pub threshold: f64,
    /// Which features drove the anomaly (empty when not anomalous).
    pub relevant_attribution: Vec<Attribution>,
}

/// An alert (an activation of a monitor's trigger).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// The monitor.
    pub monitor_name: String,
    /// Its detector.
    pub detector_name: String,
    /// When it became active (the result's execution end time), epoch ms.
    pub start_time: i64,
    /// The anomalous interval.
    pub data_start_time: i64,
    /// The anomalous interval's end.
    pub data_end_time: i64,
    /// Grade when it fired.
    pub anomaly_grade: f64,
    /// Confidence when it fired.
    pub confidence: f64,
    /// Feature values when it fired.
    pub feature_data: Vec<FeatureData>,
    /// What drove it.
    pub relevant_attribution: Vec<Attribution>,
}

/// What the engine produced while advancing.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A detector result.
    Result(AdResult),
    /// A new alert.
    Alert(Alert),
    /// A repeat notification of an active alert, after its throttle period.
    Renotify {
        /// The monitor.
        monitor: String,
        /// When.
        at: i64,
    },
}

#[derive(Debug, Clone)]
struct Acc {
    count: u64,
    sum: Vec<f64>,
    min: Vec<f64>,
    max: Vec<f64>,
}

struct DetectorState {
    det: Detector,
    forest: BasicTRCF,
    buckets: BTreeMap<i64, Acc>,
    seq: u64,
}

struct MonitorState {
    mon: Monitor,
    active: bool,
    last_notified: Option<i64>,
    /// Rule monitors: tagged documents per minute.
    minutes: BTreeMap<i64, u64>,
    /// Rule monitors: the next minute to evaluate.
    next_minute: Option<i64>,
}

const MINUTE: i64 = 60_000;

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the Random Cut Forest for detector `{detector}`: {reason}")]
pub struct EngineError {
    /// The detector.
    pub detector: String,
    /// Why.
    pub reason: String,
}

/// The local engine.
pub struct Engine {
    detectors: Vec<DetectorState>,
    monitors: Vec<MonitorState>,
}

impl Engine {
    /// Builds a forest per detector; `seed` makes runs reproducible.
    pub fn new(detection: &Detection, seed: u64) -> Result<Self, EngineError> {
        use rcflib::rcf::RCFOptionsBuilder;
        let mut detectors = Vec::new();
        for (i, det) in detection.detectors.iter().enumerate() {
            let forest = BasicTRCFBuilder::new(det.features.len(), det.shingle_size)
                .tree_capacity(SAMPLE_SIZE)
                .number_of_trees(TREES)
                .random_seed(seed.wrapping_add(i as u64))
                .build()
                .map_err(|e| EngineError { detector: det.name.clone(), reason: format!("{e:?}") })?;
            detectors.push(DetectorState { det: det.clone(), forest, buckets: BTreeMap::new(), seq: 0 });
        }
        let monitors = detection
            .monitors
            .iter()
            .map(|m| MonitorState {
                mon: m.clone(),
                active: false,
                last_notified: None,
                minutes: BTreeMap::new(),
                next_minute: None,
            })
            .collect();
        Ok(Engine { detectors, monitors })
    }

    /// Adds one document.
    pub fn observe(&mut self, facts: &Facts) {
        let minute = facts.timestamp_ms - facts.timestamp_ms.rem_euclid(MINUTE);
        for m in &mut self.monitors {
            if let MonitorKind::Rule { rule, .. } = m.mon.kind {
                m.next_minute.get_or_insert(minute);
                if facts.rules.contains(&rule) {
                    *m.minutes.entry(minute).or_default() += 1;
                }
            }
        }
        for d in &mut self.detectors {
            let interval = d.det.interval.as_millis() as i64;
            let start = facts.timestamp_ms - facts.timestamp_ms.rem_euclid(interval);
            let n = d.det.features.len();
            let acc = d.buckets.entry(start).or_insert_with(|| Acc {
                count: 0,
                sum: vec![0.0; n],
                min: vec![f64::INFINITY; n],
                max: vec![f64::NEG_INFINITY; n],
            });
            acc.count += 1;
            for (k, (_, col, _)) in d.det.features.iter().enumerate() {
                let v = if facts.columns.get(*col).copied().unwrap_or(false) { 1.0 } else { 0.0 };
                acc.sum[k] += v;
                acc.min[k] = acc.min[k].min(v);
                acc.max[k] = acc.max[k].max(v);
            }
        }
    }

    /// Evaluates every interval whose end plus window delay is at or before `now_ms`.
    pub fn advance(&mut self, now_ms: i64) -> Vec<Event> {
        self.evaluate(Some(now_ms))
    }

    /// Evaluates every remaining interval (the end of the data).
    pub fn finish(&mut self) -> Vec<Event> {
        self.evaluate(None)
    }

    fn evaluate(&mut self, now_ms: Option<i64>) -> Vec<Event> {
        let mut events = Vec::new();
        for di in 0..self.detectors.len() {
            loop {
                let d = &mut self.detectors[di];
                let interval = d.det.interval.as_millis() as i64;
                let delay = d.det.window_delay.as_millis() as i64;
                let Some((&start, _)) = d.buckets.first_key_value() else { break };
                if now_ms.is_some_and(|now| start + interval + delay > now) {
                    break;
                }
                let Some((_, acc)) = d.buckets.pop_first() else { break };
                let result = Self::score(d, start, interval, delay, &acc);
                for m in self
                    .monitors
                    .iter_mut()
                    .filter(|m| matches!(m.mon.kind, MonitorKind::Anomaly { detector, .. } if detector == di))
                {
                    Self::monitor(m, &self.detectors[di].det, &result, &mut events);
                }
                events.push(Event::Result(result));
            }
        }
        for m in &mut self.monitors {
            Self::count_rule(m, now_ms, &mut events);
        }
        events
    }

    /// Threshold monitors: evaluate each completed minute over the sliding window.
    fn count_rule(m: &mut MonitorState, now_ms: Option<i64>, events: &mut Vec<Event>) {
        let MonitorKind::Rule { threshold, window, ref rule_name, .. } = m.mon.kind else { return };
        let rule_name = rule_name.clone();
        let window = (window.as_millis() as i64).max(MINUTE);
        let last = m.minutes.last_key_value().map(|(k, _)| *k);
        while let Some(minute) = m.next_minute {
            let due = match now_ms {
                Some(now) => minute + MINUTE <= now,
                None => last.is_some_and(|l| minute <= l),
            };
            if !due {
                break;
            }
            let count: u64 = m.minutes.range(minute + MINUTE - window..=minute).map(|(_, c)| c).sum();
            let r = AdResult {
                detector_id: format!("rule:{rule_name}"),
                data_start_time: minute,
                data_end_time: minute + MINUTE,
                execution_end_time: minute + MINUTE,
                feature_data: vec![FeatureData { feature_name: rule_name.clone(), data: count as f64 }],
                anomaly_score: count as f64,
                anomaly_grade: if count >= threshold { 1.0 } else { 0.0 },
                confidence: 1.0,
                threshold: threshold as f64,
                relevant_attribution: Vec::new(),
            };
            let name = r.detector_id.clone();
            Self::fire(m, &name, &r, events);
            m.minutes.retain(|k, _| *k > minute - window);
            m.next_minute = Some(minute + MINUTE);
        }
    }

    fn score(d: &mut DetectorState, start: i64, interval: i64, delay: i64, acc: &Acc) -> AdResult {
        let values: Vec<f64> = d
            .det
            .features
            .iter()
            .enumerate()
            .map(|(k, (_, _, agg))| match agg {
                Aggregation::Sum => acc.sum[k],
                Aggregation::Avg => acc.sum[k] / acc.count.max(1) as f64,
                Aggregation::Min => acc.min[k],
                Aggregation::Max => acc.max[k],
                Aggregation::ValueCount => acc.count as f64,
            })
            .collect();
        let point: Vec<f32> = values.iter().map(|v| *v as f32).collect();
        d.seq += 1;
        let feature_data: Vec<FeatureData> = d
            .det
            .features
            .iter()
            .zip(&values)
            .map(|((name, _, _), v)| FeatureData { feature_name: name.clone(), data: *v })
            .collect();
        let (score, grade, confidence, threshold, attribution) = match d.forest.process(&point, d.seq) {
            Ok(desc) => {
                let n = d.det.features.len();
                let mut attribution = Vec::new();
                if desc.anomaly_grade > 0.0
                    && let Some(div) = &desc.attribution
                {
                    // The attribution covers the whole shingle; the newest point is the last `n`.
                    let len = div.high.len();
                    let shares: Vec<f64> = (0..n)
                        .map(|k| {
                            let idx = len.saturating_sub(n) + k;
                            div.high.get(idx).copied().unwrap_or(0.0) + div.low.get(idx).copied().unwrap_or(0.0)
                        })
                        .collect();
                    let total: f64 = shares.iter().sum();
                    attribution = d
                        .det
                        .features
                        .iter()
                        .zip(shares)
                        .map(|((name, _, _), s)| Attribution {
                            feature_name: name.clone(),
                            data: if total > 0.0 { s / total } else { 0.0 },
                        })
                        .collect();
                }
                // rcflib leaves `data_confidence` unset; like AD's confidence, ours grows with the
                // data the model has seen: how full the forest's samples are.
                let confidence = (d.seq as f64 / SAMPLE_SIZE as f64).min(1.0);
                (
                    f64::from(desc.score),
                    f64::from(desc.anomaly_grade),
                    confidence,
                    f64::from(desc.threshold),
                    attribution,
                )
            }
            Err(e) => {
                tracing::warn!(detector = %d.det.name, error = ?e, "Random Cut Forest refused a point.");
                (0.0, 0.0, 0.0, 0.0, Vec::new())
            }
        };
        AdResult {
            detector_id: d.det.name.clone(),
            data_start_time: start,
            data_end_time: start + interval,
            execution_end_time: start + interval + delay,
            feature_data,
            anomaly_score: score,
            anomaly_grade: grade,
            confidence,
            threshold,
            relevant_attribution: attribution,
        }
    }

    fn monitor(m: &mut MonitorState, det: &Detector, r: &AdResult, events: &mut Vec<Event>) {
        Self::fire(m, &det.name, r, events);
    }

    fn fire(m: &mut MonitorState, source: &str, r: &AdResult, events: &mut Vec<Event>) {
        let fires = match m.mon.kind {
            MonitorKind::Anomaly { min_grade, min_confidence, .. } => {
                r.anomaly_grade >= min_grade && r.confidence >= min_confidence && r.anomaly_grade > 0.0
            }
            MonitorKind::Rule { .. } => r.anomaly_grade > 0.0,
        };
        let throttle = m.mon.throttle.as_millis() as i64;
        let at = r.execution_end_time;
        match (fires, m.active) {
            (true, false) => {
                m.active = true;
                m.last_notified = Some(at);
                events.push(Event::Alert(Alert {
                    monitor_name: m.mon.name.clone(),
                    detector_name: source.to_owned(),
                    start_time: at,
                    data_start_time: r.data_start_time,
                    data_end_time: r.data_end_time,
                    anomaly_grade: r.anomaly_grade,
                    confidence: r.confidence,
                    feature_data: r.feature_data.clone(),
                    relevant_attribution: r.relevant_attribution.clone(),
                }));
            }
            (true, true) => {
                if m.last_notified.is_none_or(|t| at - t >= throttle) {
                    m.last_notified = Some(at);
                    events.push(Event::Renotify { monitor: m.mon.name.clone(), at });
                }
            }
            (false, _) => m.active = false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn detection(agg: Aggregation, throttle_min: u64) -> Detection {
        Detection {
            detectors: vec![Detector {
                name: "d".into(),
                features: vec![("f".into(), 0, agg)],
                interval: Duration::from_secs(60),
                window_delay: Duration::from_secs(60),
                shingle_size: 4,
            }],
            monitors: vec![Monitor {
                name: "m".into(),
                kind: MonitorKind::Anomaly { detector: 0, min_grade: 0.5, min_confidence: 0.3 },
                throttle: Duration::from_secs(throttle_min * 60),
            }],
        }
    }

    fn doc(ts: i64, on: bool) -> Facts {
        Facts { timestamp_ms: ts, columns: vec![on], ..Facts::default() }
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
        let ev = e.advance(120_000);
        let Event::Result(r) = &ev[0] else { panic!("{ev:?}") };
        assert_eq!((r.data_start_time, r.data_end_time, r.execution_end_time), (0, 60_000, 120_000));
        assert_eq!(r.feature_data[0].data, 2.0);
        let rest = e.finish();
        let Event::Result(r) = &rest[0] else { panic!() };
        assert_eq!((r.data_start_time, r.feature_data[0].data), (60_000, 1.0));
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
            let Event::Result(r) = &e.finish()[0] else { panic!() };
            assert_eq!(r.feature_data[0].data, want, "{agg:?}");
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
                    Event::Renotify { .. } => renotify += 1,
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
        assert!(results.iter().filter(|r| r.data_start_time < 300 * 60_000).all(|r| r.anomaly_grade < 0.5));
    }

    #[test]
    fn rule_monitors_count_tagged_documents_over_a_sliding_window() {
        let det = Detection {
            detectors: vec![],
            monitors: vec![Monitor {
                name: "logins".into(),
                kind: MonitorKind::Rule {
                    rule: 2,
                    rule_name: "failed-login".into(),
                    threshold: 3,
                    window: Duration::from_secs(300),
                },
                throttle: Duration::from_secs(600),
            }],
        };
        let mut e = Engine::new(&det, 1).unwrap();
        let tagged = |ts: i64| Facts { timestamp_ms: ts, columns: vec![], rules: vec![2], ..Facts::default() };
        let other = |ts: i64| Facts { timestamp_ms: ts, columns: vec![], rules: vec![0], ..Facts::default() };
        // Two tagged in minute 0, one other rule, one tagged in minute 3: the third within five
        // minutes arrives in minute 3, so the alert is for minute 3.
        for f in [tagged(1_000), tagged(2_000), other(3_000), tagged(3 * 60_000 + 5)] {
            e.observe(&f);
        }
        let mut alerts: Vec<Alert> = e
            .advance(10 * 60_000)
            .into_iter()
            .filter_map(|ev| if let Event::Alert(a) = ev { Some(a) } else { None })
            .collect();
        assert_eq!(alerts.len(), 1);
        let a = alerts.remove(0);
        assert_eq!(
            (a.data_start_time, a.detector_name.as_str(), a.feature_data[0].data),
            (3 * 60_000, "rule:failed-login", 3.0)
        );
    }

    fn anomalous_at(execution_end_time: i64) -> AdResult {
        AdResult {
            detector_id: "d".into(),
            data_start_time: execution_end_time - 120_000,
            data_end_time: execution_end_time - 60_000,
            execution_end_time,
            feature_data: vec![],
            anomaly_score: 3.0,
            anomaly_grade: 0.9,
            confidence: 0.9,
            threshold: 1.0,
            relevant_attribution: vec![],
        }
    }

    #[test]
    fn throttle_suppresses_repeat_notifications_while_an_alert_stays_active() {
        let e = Engine::new(&detection(Aggregation::Sum, 10), 7).unwrap();
        let det = e.detectors[0].det.clone();
        let mut m = MonitorState {
            mon: e.monitors[0].mon.clone(),
            active: false,
            last_notified: None,
            minutes: BTreeMap::new(),
            next_minute: None,
        };
        let mut events = Vec::new();
        // Anomalous for 30 minutes: one alert, repeated at minutes 10 and 20 only.
        for i in 0..30 {
            Engine::monitor(&mut m, &det, &anomalous_at(i * 60_000), &mut events);
        }
        assert_eq!(events.iter().filter(|e| matches!(e, Event::Alert(_))).count(), 1);
        let repeats: Vec<i64> = events
            .iter()
            .filter_map(|e| if let Event::Renotify { at, .. } = e { Some(*at / 60_000) } else { None })
            .collect();
        assert_eq!(repeats, [10, 20]);
        // Normal again, then anomalous: a new alert.
        let mut normal = anomalous_at(31 * 60_000);
        normal.anomaly_grade = 0.0;
        Engine::monitor(&mut m, &det, &normal, &mut events);
        Engine::monitor(&mut m, &det, &anomalous_at(32 * 60_000), &mut events);
        assert_eq!(events.iter().filter(|e| matches!(e, Event::Alert(_))).count(), 2);
    }
}
