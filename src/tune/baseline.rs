//! The naive baseline `tune --baseline` measures, to compare the configuration with: a rolling
//! z-score over the previous hour on per-minute counts of the columns the detectors use.
//!
//! For each distinct column of a detector feature, it counts each minute the documents with the
//! column set (a minute with no document counts 0). When a minute is complete (the data has passed
//! its end), its z-score is `(count - mean) / max(std, 1)` over the previous
//! [`HISTORY_MINUTES`] minutes' counts, with the population standard deviation (divided by 60, not
//! 59); a minute with fewer minutes before it is not evaluated. Each column is one baseline
//! monitor, `zscore:COLUMN`, whose condition is `z > threshold`, with the engine's alert lifecycle:
//! an alert when the condition starts holding, none while it holds, and again once it has stopped.
//! Its evaluations' z-scores are its background, from which [`suggest`] sets the threshold for the
//! same false-alert rate as the configuration's monitors (quantile plus margin).

use std::collections::{BTreeMap, VecDeque};

use wafwatch_config::detection::{Detection, FeatureSource};
use wafwatch_engine::{Alert, Background, FeatureData, Measured};
use wafwatch_transformer::Facts;

use super::pipeline::Detects;
use super::suggest::{MARGIN, Suggestion, alerts, at_rate};

/// Minutes of history a z-score is computed over.
pub const HISTORY_MINUTES: usize = 60;

/// The least standard deviation a z-score divides by: a quiet column (a few documents an hour)
/// would otherwise make any single document a large z-score.
pub const MIN_STD: f64 = 1.0;

/// The threshold the table compares the suggestion with: the textbook three standard deviations.
pub const TEXTBOOK_THRESHOLD: f64 = 3.0;

/// The priority of the baseline's alerts (an anomaly monitor's default; only scored, never sent).
const PRIORITY: u8 = 2;

const MINUTE: i64 = 60_000;

/// One baseline monitor: a column, its history and its alert.
#[derive(Debug, Clone)]
struct ColumnMonitor {
    /// `zscore:COLUMN`.
    name: String,
    /// The column's name.
    column: String,
    /// Its index in [`Facts::columns`].
    index: usize,
    /// Fires when z is above this.
    threshold: f64,
    /// The previous minutes' counts, oldest first, at most [`HISTORY_MINUTES`].
    history: VecDeque<f64>,
    /// Whether its condition held at the last evaluation.
    active: bool,
    /// The z-score of each evaluation, when kept.
    background: Option<Vec<Measured>>,
}

/// The naive baseline: one rolling z-score monitor per column the detectors use.
#[derive(Debug, Clone)]
pub struct ZScoreBaseline {
    monitors: Vec<ColumnMonitor>,
    /// Per minute not yet evaluated (its start, epoch ms): each column's count.
    minutes: BTreeMap<i64, Vec<u64>>,
    /// The next minute to evaluate: from the first document's minute on.
    next_minute: Option<i64>,
}

/// The z-score of `count` over `history` (population standard deviation, at least [`MIN_STD`]);
/// `None` with fewer than [`HISTORY_MINUTES`] minutes of history.
pub fn z_score(history: &[f64], count: f64) -> Option<f64> {
    if history.len() < HISTORY_MINUTES {
        return None;
    }
    let n = history.len() as f64;
    let mean = history.iter().sum::<f64>() / n;
    let variance = history.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / n;
    Some((count - mean) / variance.sqrt().max(MIN_STD))
}

impl ZScoreBaseline {
    /// One monitor per distinct column of the detectors' features, in order of first use, each at
    /// [`TEXTBOOK_THRESHOLD`]. Detectors' field features have no column and are left out.
    pub fn new(detection: &Detection) -> Self {
        let mut monitors: Vec<ColumnMonitor> = Vec::new();
        let columns = detection.detectors.iter().flat_map(|d| &d.features).filter_map(|f| match &f.source {
            FeatureSource::Column { id, name } => Some((id.index(), name)),
            FeatureSource::Field { .. } => None,
        });
        for (index, column) in columns {
            if monitors.iter().all(|m| m.index != index) {
                monitors.push(ColumnMonitor {
                    name: format!("zscore:{column}"),
                    column: column.clone(),
                    index,
                    threshold: TEXTBOOK_THRESHOLD,
                    history: VecDeque::with_capacity(HISTORY_MINUTES + 1),
                    active: false,
                    background: None,
                });
            }
        }
        ZScoreBaseline { monitors, minutes: BTreeMap::new(), next_minute: None }
    }

    /// From now on, keeps each monitor's z-scores ([`Detects::backgrounds`]).
    pub fn keep_backgrounds(&mut self) {
        for m in &mut self.monitors {
            m.background = Some(Vec::new());
        }
    }

    /// The monitors' names, in order.
    pub fn names(&self) -> Vec<String> {
        self.monitors.iter().map(|m| m.name.clone()).collect()
    }

    /// The baseline with each monitor's threshold set, in order (as many as there are monitors).
    pub fn with_thresholds(&self, thresholds: &[f64]) -> Self {
        let mut tuned = self.clone();
        for (m, t) in tuned.monitors.iter_mut().zip(thresholds) {
            m.threshold = *t;
        }
        tuned
    }

    /// Evaluates every minute that ends at or before `end_ms`.
    fn evaluate(&mut self, end_ms: i64) -> Vec<Alert> {
        let mut alerts = Vec::new();
        while let Some(minute) = self.next_minute.filter(|m| m + MINUTE <= end_ms) {
            let counts = self.minutes.remove(&minute).unwrap_or_default();
            for (i, m) in self.monitors.iter_mut().enumerate() {
                let count = counts.get(i).copied().unwrap_or(0) as f64;
                alerts.extend(m.evaluate(minute, count));
            }
            self.next_minute = Some(minute + MINUTE);
        }
        alerts
    }
}

impl ColumnMonitor {
    /// Evaluates `minute`, whose count is `count`, then adds it to the history; the alert when
    /// the condition starts holding.
    fn evaluate(&mut self, minute: i64, count: f64) -> Option<Alert> {
        let z = z_score(self.history.make_contiguous(), count);
        let mean = self.history.iter().sum::<f64>() / self.history.len().max(1) as f64;
        self.history.push_back(count);
        if self.history.len() > HISTORY_MINUTES {
            self.history.pop_front();
        }
        let z = z?;
        if let Some(kept) = &mut self.background {
            kept.push(Measured { at: minute, value: z });
        }
        let fires = z > self.threshold;
        let starts = fires && !self.active;
        self.active = fires;
        starts.then(|| Alert {
            monitor_name: self.name.clone(),
            detector_name: self.name.clone(),
            entity: None,
            priority: PRIORITY,
            start_time: minute + MINUTE,
            data_start_time: minute,
            data_end_time: minute + MINUTE,
            anomaly_grade: 1.0,
            confidence: 1.0,
            feature_data: vec![FeatureData { feature_name: self.column.clone(), data: count }],
            expected_values: vec![FeatureData { feature_name: self.column.clone(), data: mean }],
            relevant_attribution: Vec::new(),
        })
    }
}

impl Detects for ZScoreBaseline {
    /// Counts the document in its minute for each column it has set; a document whose minute has
    /// been evaluated already is late and left out, as the engine's count monitors do.
    fn observe(&mut self, facts: &Facts) {
        let minute = facts.timestamp_ms - facts.timestamp_ms.rem_euclid(MINUTE);
        if *self.next_minute.get_or_insert(minute) > minute {
            return;
        }
        let n = self.monitors.len();
        let counts = self.minutes.entry(minute).or_insert_with(|| vec![0; n]);
        for (m, c) in self.monitors.iter().zip(counts.iter_mut()) {
            if facts.columns.get(m.index).copied().unwrap_or(false) {
                *c += 1;
            }
        }
    }

    /// A count minute has no window delay: it is due once time has passed its end.
    fn advance(&mut self, now_ms: i64) -> Vec<Alert> {
        self.evaluate(now_ms)
    }

    fn close(&mut self, end_ms: i64) -> Vec<Alert> {
        self.evaluate(end_ms)
    }

    fn backgrounds(&self) -> Vec<Background> {
        self.monitors
            .iter()
            .map(|m| Background { monitor: m.name.clone(), values: m.background.clone().unwrap_or_default() })
            .collect()
    }
}

/// The suggestion for the baseline monitor `name` from its `background` (z-scores) over `days`,
/// for `per_day` false alerts a day: it fires at `z > threshold`, so the threshold is the
/// quantile plus the margin (of its size, upward even when the quantile is negative), rounded up
/// to three decimals. The threshold "now" is [`TEXTBOOK_THRESHOLD`].
pub fn suggest(name: &str, background: &Background, days: f64, per_day: f64) -> Suggestion {
    let values: Vec<f64> = background.values.iter().map(|m| m.value).collect();
    let (quantile_used, at_quantile) = at_rate(&values, days, per_day);
    let suggested = ((at_quantile + MARGIN * at_quantile.abs()) * 1000.0).ceil() / 1000.0;
    Suggestion {
        name: name.to_owned(),
        threshold: TEXTBOOK_THRESHOLD,
        suggested,
        kind: "zscore",
        evaluations: values.len(),
        quantile: quantile_used,
        value_at_quantile: at_quantile,
        margin: MARGIN,
        fired_now: alerts(&background.values, |z| z > TEXTBOOK_THRESHOLD),
        fired_suggested: alerts(&background.values, |z| z > suggested),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use wafwatch_config::file::{BUNDLED_DEFAULT_TOML, Origin, parse};
    use wafwatch_log_simulator::scenario::{ScenarioKind, ScenarioSpec};
    use wafwatch_log_simulator::sim::SimConfig;
    use wafwatch_transformer::Transformer;

    use super::*;
    use crate::tune::pipeline;

    const T0: i64 = 1_767_225_600_000;

    fn bundled() -> (Detection, Transformer) {
        let config = parse(BUNDLED_DEFAULT_TOML, Origin::Bundled).unwrap().config().unwrap();
        let captures: Vec<_> = config.detection.captures.iter().map(|f| f.pointer().clone()).collect();
        (config.detection.clone(), Transformer::with_captures(config.transform.clone(), &captures).unwrap())
    }

    /// The bundled configuration's baseline, keeping its backgrounds, and the index of `B_action`.
    fn baseline() -> (ZScoreBaseline, usize) {
        let mut b = ZScoreBaseline::new(&bundled().0);
        b.keep_backgrounds();
        let index = b.monitors[0].index;
        (b, index)
    }

    /// Observes, in minute `minute` after `T0`, `set` documents with column `index` set and one
    /// without.
    fn minute(b: &mut ZScoreBaseline, index: usize, minute: i64, set: u64) {
        let mut facts = Facts { timestamp_ms: T0 + minute * MINUTE + 5, columns: vec![false; 64], ..Facts::default() };
        b.observe(&facts);
        facts.columns[index] = true;
        for _ in 0..set {
            b.observe(&facts);
        }
    }

    /// 10, 14, 10, 14, ... in minutes 0 to 59: mean 12, population standard deviation 2.
    fn planted_hour(b: &mut ZScoreBaseline, index: usize) {
        for m in 0..60 {
            minute(b, index, m, if m % 2 == 0 { 10 } else { 14 });
        }
    }

    #[test]
    fn one_monitor_per_distinct_column_of_the_detectors() {
        let names = ZScoreBaseline::new(&bundled().0).names();
        // `B_action` is in two detectors; counted once.
        assert_eq!(
            names,
            [
                "zscore:B_action",
                "zscore:B_httpstatus",
                "zscore:E_httpstatus",
                "zscore:UNK_country",
                "zscore:UNK_source",
                "zscore:uncommon_method"
            ]
        );
    }

    #[test]
    fn the_z_score_of_a_planted_spike_is_the_hand_computed_one() {
        let history: Vec<f64> = (0..60).map(|m| if m % 2 == 0 { 10.0 } else { 14.0 }).collect();
        // (30 - 12) / 2 with the population deviation; the sample one (2.017) would give 8.92.
        assert!((z_score(&history, 30.0).unwrap() - 9.0).abs() < 1e-12);
        // A constant background divides by the floor of 1, not by 0.
        assert_eq!(z_score(&[5.0; 60], 8.0), Some(3.0));
        assert_eq!(z_score(&[5.0; 59], 8.0), None, "59 minutes are not an hour");

        // The same through documents: the minute with the spike, and the other columns' zeros.
        let (mut b, index) = baseline();
        planted_hour(&mut b, index);
        minute(&mut b, index, 60, 30);
        let alerts = b.advance(T0 + 61 * MINUTE);
        let fired: Vec<(&str, i64)> = alerts.iter().map(|a| (a.monitor_name.as_str(), a.data_start_time)).collect();
        assert_eq!(fired, [("zscore:B_action", T0 + 60 * MINUTE)], "9 is above the textbook threshold of 3");
        let bg = b.backgrounds();
        assert_eq!(bg[0].values.len(), 1);
        assert_eq!(bg[0].values[0].at, T0 + 60 * MINUTE);
        assert!((bg[0].values[0].value - 9.0).abs() < 1e-12, "{:?}", bg[0].values);
        assert_eq!(bg[1].values, [Measured { at: T0 + 60 * MINUTE, value: 0.0 }], "a column never set: z = 0");
    }

    #[test]
    fn no_evaluation_before_an_hour_of_history_nor_before_the_minute_ends() {
        let (mut b, index) = baseline();
        planted_hour(&mut b, index);
        assert!(b.advance(T0 + 60 * MINUTE).is_empty());
        assert!(b.backgrounds().iter().all(|bg| bg.values.is_empty()), "minutes 0 to 59 have less than an hour before");
        minute(&mut b, index, 60, 30);
        assert!(b.close(T0 + 61 * MINUTE - 1).is_empty());
        assert!(b.backgrounds()[0].values.is_empty(), "data that stops a millisecond short leaves minute 60 open");
        // A minute with no document at all counts 0 (z = -6), and a document of an evaluated
        // minute is late: left out.
        b.close(T0 + 62 * MINUTE);
        minute(&mut b, index, 61, 1_000);
        b.close(T0 + 63 * MINUTE);
        let zs: Vec<f64> = b.backgrounds()[0].values.iter().map(|m| m.value).collect();
        assert_eq!(zs.len(), 3);
        assert!(zs[1] < -2.0 && zs[2] < 0.0, "{zs:?}");
    }

    #[test]
    fn one_alert_per_run_of_firing_minutes() {
        let (b, index) = baseline();
        let mut b = b.with_thresholds(&[2.0]);
        planted_hour(&mut b, index);
        for (m, n) in [(60, 100), (61, 100), (62, 100), (63, 12), (64, 100)] {
            minute(&mut b, index, m, n);
        }
        let alerts = b.close(T0 + 65 * MINUTE);
        let zs: Vec<f64> = b.backgrounds()[0].values.iter().map(|m| m.value).collect();
        assert!(zs[..3].iter().all(|z| *z > 2.0) && zs[3] < 2.0 && zs[4] > 2.0, "{zs:?}");
        let starts: Vec<(&str, i64)> = alerts.iter().map(|a| (a.monitor_name.as_str(), a.data_start_time)).collect();
        assert_eq!(starts, [("zscore:B_action", T0 + 60 * MINUTE), ("zscore:B_action", T0 + 64 * MINUTE)]);
        assert_eq!(alerts[0].feature_data[0].data, 100.0);
    }

    #[test]
    fn the_threshold_is_the_quantile_plus_the_margin() {
        // A day of z-scores 0.000, 0.001, ..., 1.439 (scrambled): for one alert a day, the
        // quantile leaves one above it.
        let values =
            (0..1_440).map(|i| Measured { at: i * MINUTE, value: ((i * 7) % 1_440) as f64 / 1_000.0 }).collect();
        let s = suggest("zscore:c", &Background { monitor: "zscore:c".into(), values }, 1.0, 1.0);
        assert_eq!((s.kind, s.evaluations, s.value_at_quantile), ("zscore", 1_440, 1.438));
        assert_eq!(s.suggested, 1.726);
        assert!(s.fired_suggested.is_empty());
        assert_eq!(s.fired_now.len(), 0, "z never reached 3");
    }

    /// At 5 requests a second, a block storm adds 3 blocked requests a second (180 a minute) from
    /// 2h10m: a step in `B_action`'s count the baseline detects in its first minute, where the
    /// same traffic without the storm raises nothing.
    #[test]
    fn a_planted_step_is_detected_in_the_pipeline() {
        let (detection, transformer) = bundled();
        let run = |scenarios: Vec<ScenarioSpec>| {
            let config = SimConfig {
                start_ms: T0,
                duration_ms: Some(2 * 3_600_000 + 20 * 60_000),
                rate: 5.0,
                seed: 7,
                format: crate::run::shape::record_shape(transformer.config()),
                scenarios,
                anomaly_rate: 0.0,
            };
            let mut b = ZScoreBaseline::new(&detection).with_thresholds(&[8.0; 5]);
            pipeline::simulate(&transformer, &mut b, config)
        };
        let storm = ScenarioSpec {
            kind: ScenarioKind::BlockStorm,
            offset: Duration::from_secs(130 * 60),
            duration: Duration::from_secs(600),
            intensity: 1.0,
        };
        let pass = run(vec![storm]);
        let (scores, _) = crate::run::score::score(&pass.labels, &pass.alerts, &detection, pass.span.0, 0);
        assert_eq!(scores[0].intervals_to_detect, Some(1), "{:?}", pass.alerts);
        assert!(
            pass.alerts.iter().any(|a| a.monitor_name == "zscore:B_action" && a.data_start_time == T0 + 130 * MINUTE)
        );
        let quiet = run(vec![]);
        assert!(quiet.alerts.iter().all(|a| a.data_start_time < T0 + 130 * MINUTE), "{:?}", quiet.alerts);
    }
}
