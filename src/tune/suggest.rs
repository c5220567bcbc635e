//! Thresholds from a background: for a target number of false alerts per day, the quantile of
//! what each monitor's condition measured that leaves that many evaluations above it, plus a
//! margin, and what the current and the suggested thresholds would have fired on.

use serde::Serialize;
use wafwatch_config::detection::{Monitor, MonitorKind};
use wafwatch_engine::{Background, Measured};

/// How far above the background's quantile a threshold is put: background the run did not see
/// (another day, another season) reaches a little higher.
pub const MARGIN: f64 = 0.2;

/// The highest grade threshold suggested: a grade cannot exceed 1.
const MAX_GRADE: f64 = 0.99;

/// One monitor's suggestion and the reasoning behind it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestion {
    /// The monitor.
    pub name: String,
    /// Its threshold now: `threshold` of a count monitor, `min_grade` of an anomaly monitor.
    pub threshold: f64,
    /// The threshold suggested.
    pub suggested: f64,
    /// `count` or `anomaly`.
    pub kind: &'static str,
    /// Evaluations measured, and per day.
    pub evaluations: usize,
    /// The quantile used: the share of evaluations that may reach the threshold.
    pub quantile: f64,
    /// The background's value at that quantile.
    pub value_at_quantile: f64,
    /// The margin added on top.
    pub margin: f64,
    /// When the current threshold would have fired on the background (epoch ms of each alert).
    pub fired_now: Vec<i64>,
    /// When the suggested threshold would have fired on it.
    pub fired_suggested: Vec<i64>,
}

/// The nearest-rank `q` quantile of `values` (0 when there are none).
pub fn quantile(values: &[f64], q: f64) -> f64 {
    let mut sorted: Vec<f64> = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len().max(1)) - 1).copied().unwrap_or(0.0)
}

/// When a condition that holds for `fires` would have raised an alert over `values`: the first
/// evaluation of every run of evaluations where it holds (an alert stays active while it holds).
pub fn alerts(values: &[Measured], fires: impl Fn(f64) -> bool) -> Vec<i64> {
    let mut out = Vec::new();
    let mut active = false;
    for m in values {
        let now = fires(m.value);
        if now && !active {
            out.push(m.at);
        }
        active = now;
    }
    out
}

/// For `per_day` false alerts a day over `days` of evaluations measuring `values`: the quantile
/// that leaves that many evaluations above it (the share that may reach a threshold), and the
/// values' nearest-rank value at it.
pub fn at_rate(values: &[f64], days: f64, per_day: f64) -> (f64, f64) {
    let per_day_evaluations = values.len() as f64 / days.max(f64::MIN_POSITIVE);
    let q = (1.0 - per_day / per_day_evaluations.max(1.0)).clamp(0.0, 1.0);
    (q, quantile(values, q))
}

/// The suggestion for `monitor` from its `background` over `days`, for `per_day` false alerts a
/// day. A count monitor fires at `count >= threshold`, so the threshold is the first whole number
/// above the quantile plus the margin; an anomaly monitor fires at `grade > min_grade`, so
/// `min_grade` is the quantile plus the margin (at most 0.99).
pub fn suggest(monitor: &Monitor, background: &Background, days: f64, per_day: f64) -> Suggestion {
    let values: Vec<f64> = background.values.iter().map(|m| m.value).collect();
    let (quantile_used, at_quantile) = at_rate(&values, days, per_day);
    let (kind, threshold, suggested) = match monitor.kind {
        MonitorKind::Count { threshold, .. } | MonitorKind::NewValues { threshold, .. } => {
            ("count", threshold as f64, ((at_quantile * (1.0 + MARGIN)).floor() + 1.0).max(1.0))
        }
        MonitorKind::Anomaly { min_grade, .. } => {
            let g = (at_quantile * (1.0 + MARGIN)).min(MAX_GRADE);
            ("anomaly", min_grade, (g * 1000.0).ceil() / 1000.0)
        }
    };
    let fires = |t: f64| move |v: f64| if kind == "count" { v >= t } else { v > t };
    Suggestion {
        name: monitor.name.clone(),
        threshold,
        suggested,
        kind,
        evaluations: values.len(),
        quantile: quantile_used,
        value_at_quantile: at_quantile,
        margin: MARGIN,
        fired_now: alerts(&background.values, fires(threshold)),
        fired_suggested: alerts(&background.values, fires(suggested)),
    }
}

/// `monitor` with its threshold set to `value` (rounded to a whole count for count monitors).
pub fn with_threshold(monitor: &Monitor, value: f64) -> Monitor {
    let mut m = monitor.clone();
    match &mut m.kind {
        MonitorKind::Count { threshold, .. } | MonitorKind::NewValues { threshold, .. } => {
            *threshold = value.round().max(1.0) as u64
        }
        MonitorKind::Anomaly { min_grade, .. } => *min_grade = value,
    }
    m
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use wafwatch_config::detection::DocFilter;
    use wafwatch_config::transform::RuleId;

    use super::*;

    fn count_monitor(threshold: u64) -> Monitor {
        Monitor {
            name: "m".into(),
            kind: MonitorKind::Count {
                filter: DocFilter::Rule { id: RuleId::from_index(0), name: "r".into() },
                threshold,
                window: Duration::from_secs(300),
                group_by: None,
            },
            throttle: Duration::from_secs(600),
            channels: vec![],
            priority: 2,
        }
    }

    /// Ten days of one value a minute, exponential with mean 40, in a scrambled order: its `q`
    /// quantile is `-40 ln(1 - q)`.
    fn exponential() -> Background {
        let n = 14_400usize;
        let values = (0..n)
            .map(|i| {
                let u = ((i * 7_919) % n) as f64 / n as f64 + 0.5 / n as f64;
                Measured { at: i as i64 * 60_000, value: -40.0 * (1.0 - u).ln() }
            })
            .collect();
        Background { monitor: "m".into(), values }
    }

    #[test]
    fn the_threshold_is_where_the_quantile_says_plus_the_margin() {
        let bg = exponential();
        for per_day in [1.0, 4.0] {
            let s = suggest(&count_monitor(10), &bg, 10.0, per_day);
            let q = 1.0 - per_day / 1_440.0;
            assert!((s.quantile - q).abs() < 1e-12);
            let theory = -40.0 * (1.0 - q).ln();
            // Within one rank of the distribution's own quantile (the tail is steep: one rank
            // of 14,400 moves it by 0.7%), and exactly the nearest rank of the sample: at most
            // `per_day` evaluations a day above it.
            assert!((s.value_at_quantile - theory).abs() / theory < 0.01, "{} vs {theory}", s.value_at_quantile);
            let above = bg.values.iter().filter(|m| m.value > s.value_at_quantile).count() as f64;
            assert!(above <= per_day * 10.0 && above + 1.0 >= per_day * 10.0, "{above}");
            assert_eq!(s.suggested, (s.value_at_quantile * 1.2).floor() + 1.0);
            // At the quantile itself, about `per_day` evaluations a day reach it; with the margin,
            // fewer alerts than that.
            assert!(s.fired_suggested.len() as f64 <= per_day * 10.0, "{}", s.fired_suggested.len());
            assert!(s.fired_now.len() > 1_000, "a threshold of 10 fires all the time on this background");
        }
    }

    #[test]
    fn quantiles_and_alert_runs_by_hand() {
        let v: Vec<f64> = (1..=1000).rev().map(f64::from).collect();
        assert_eq!(
            (quantile(&v, 0.99), quantile(&v, 1.0), quantile(&v, 0.0), quantile(&[], 0.5)),
            (990.0, 1000.0, 1.0, 0.0)
        );
        let m = |at: i64, value: f64| Measured { at, value };
        let values = [m(0, 5.0), m(1, 9.0), m(2, 9.0), m(3, 1.0), m(4, 9.0)];
        assert_eq!(alerts(&values, |v| v >= 9.0), [1, 4], "one alert per run of firing evaluations");
    }
}
