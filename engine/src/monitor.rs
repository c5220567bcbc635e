//! One monitor's state and the alerting plugin's semantics: anomaly monitors over their detector's
//! results, count monitors over a sliding window of matching documents (overall, or per group-by
//! value), new-value monitors over a sliding window of documents whose value is new, and the alert
//! lifecycle with its throttle.

use std::collections::{BTreeMap, HashMap};

use wafwatch_config::detection::{Monitor, MonitorKind, NEW_VALUES_LEARNING};
use wafwatch_transformer::Facts;

use crate::background::Measured;
use crate::due::Due;
use crate::novelty::Seen;
use crate::result::{AdResult, Alert, EntityValue, Event, FeatureData};

const MINUTE: i64 = 60_000;

/// The most new values an alert lists (the monitor's search lists as many).
pub const NEW_VALUES_LISTED: usize = 10;

/// The start of the minute holding `ms`.
fn minute_of(ms: i64) -> i64 {
    ms - ms.rem_euclid(MINUTE)
}

#[derive(Default)]
struct AlertState {
    last_notified: i64,
}

pub(crate) struct MonitorState {
    pub(crate) mon: Monitor,
    /// Active alerts by entity key ("" when not grouped).
    active: HashMap<String, AlertState>,
    /// Count monitors: matching documents per minute, per group key; new-value monitors: documents
    /// per minute, per value.
    minutes: BTreeMap<i64, HashMap<String, u64>>,
    /// New-value monitors: the values seen before the window.
    seen: Seen,
    /// Count and new-value monitors: the next minute to evaluate.
    next_minute: Option<i64>,
    /// Count monitors: the group-by field's dotted name.
    group_name: Option<String>,
    /// What the condition measured at each evaluation, when kept.
    pub(crate) background: Option<Vec<Measured>>,
}

impl MonitorState {
    pub(crate) fn new(mon: &Monitor, group_name: Option<String>) -> Self {
        MonitorState {
            mon: mon.clone(),
            active: HashMap::new(),
            minutes: BTreeMap::new(),
            seen: Seen::default(),
            next_minute: None,
            group_name,
            background: None,
        }
    }

    /// Whether this is the anomaly monitor of detector `index`.
    pub(crate) fn watches(&self, index: usize) -> bool {
        matches!(self.mon.kind, MonitorKind::Anomaly { detector, .. } if detector == index)
    }

    /// Count monitors: counts one document in its minute (and group) when it matches; new-value
    /// monitors: in its minute and value.
    pub(crate) fn observe(&mut self, facts: &Facts) {
        let minute = minute_of(facts.timestamp_ms);
        let key_from = match self.mon.kind {
            MonitorKind::Count { ref filter, group_by, .. } => {
                self.next_minute.get_or_insert(minute);
                if !filter.matches(&facts.rules, facts.severity) {
                    return;
                }
                group_by
            }
            MonitorKind::NewValues { field, .. } => {
                self.next_minute.get_or_insert(minute);
                self.seen.observe(facts.timestamp_ms);
                Some(field)
            }
            MonitorKind::Anomaly { .. } => return,
        };
        let key = match key_from {
            None => "",
            Some(g) => match facts.captured.get(g) {
                Some(Some(v)) => v.as_str(),
                // A document without the field is in no bucket.
                _ => return,
            },
        };
        let per = self.minutes.entry(minute).or_default();
        match per.get_mut(key) {
            Some(n) => *n += 1,
            None => {
                per.insert(key.to_owned(), 1);
            }
        }
    }

    /// Anomaly monitors: the monitor's query over one interval's results is the result with the
    /// highest grade, then confidence; no result at all means the condition does not hold.
    pub(crate) fn on_results(&mut self, detector: &str, results: &[AdResult], events: &mut Vec<Event>) {
        let top = results
            .iter()
            .max_by(|a, b| a.anomaly_grade.total_cmp(&b.anomaly_grade).then(a.confidence.total_cmp(&b.confidence)));
        if let (Some(kept), MonitorKind::Anomaly { min_confidence, .. }, Some(first)) =
            (&mut self.background, &self.mon.kind, results.first())
        {
            let grade = results.iter().filter(|r| r.confidence > *min_confidence).map(|r| r.anomaly_grade);
            kept.push(Measured { at: first.data_start_time, value: grade.fold(0.0, f64::max) });
        }
        match top {
            Some(top) => self.fire(detector, "", top.entity.clone(), top, events),
            None => self.active.clear(),
        }
    }

    /// Count and new-value monitors: evaluates each completed minute over the sliding window.
    pub(crate) fn count(&mut self, due: Due, events: &mut Vec<Event>) {
        let (threshold, window) = match self.mon.kind {
            MonitorKind::Count { threshold, window, .. } | MonitorKind::NewValues { threshold, window, .. } => {
                (threshold, (window.as_millis() as i64).max(MINUTE))
            }
            MonitorKind::Anomaly { .. } => return,
        };
        let label = self.label();
        let last = self.minutes.last_key_value().map(|(k, _)| *k);
        while let Some(minute) = self.next_minute {
            if !due.holds(minute, MINUTE, 0, last) {
                break;
            }
            let firing = match self.mon.kind {
                MonitorKind::NewValues { .. } => self.novel(minute, window, threshold),
                _ => self.firing(minute, window, threshold),
            };
            for (key, n, feature_data) in firing {
                let r = AdResult {
                    detector_id: label.clone(),
                    entity: self.entity(&key),
                    data_start_time: minute,
                    data_end_time: minute + MINUTE,
                    execution_end_time: minute + MINUTE,
                    feature_data,
                    feature_imputed: false,
                    anomaly_score: n as f64,
                    anomaly_grade: 1.0,
                    confidence: 1.0,
                    threshold: threshold as f64,
                    relevant_attribution: Vec::new(),
                    expected_values: Vec::new(),
                };
                let entity = r.entity.clone();
                self.fire(&label, &key, entity, &r, events);
            }
            self.slide(minute, window);
            self.next_minute = Some(minute + MINUTE);
        }
    }

    /// The alerts' source: the filter's label, or `new:FIELD`.
    fn label(&self) -> String {
        match &self.mon.kind {
            MonitorKind::Count { filter, .. } => filter.label(),
            _ => format!("new:{}", self.group_name.as_deref().unwrap_or("field")),
        }
    }

    /// A grouped count monitor's alert names its group; a new-value monitor's alert is one for all.
    fn entity(&self, key: &str) -> Option<Vec<EntityValue>> {
        match self.mon.kind {
            MonitorKind::Count { group_by: Some(_), .. } => {
                self.group_name.as_ref().map(|g| vec![EntityValue { name: g.clone(), value: key.to_owned() }])
            }
            _ => None,
        }
    }

    /// The window moves past `minute`: the minute leaving it is forgotten, or, for a new-value
    /// monitor, remembered as seen.
    fn slide(&mut self, minute: i64, window: i64) {
        let leaving = minute + MINUTE - window;
        if let MonitorKind::NewValues { history, .. } = self.mon.kind
            && let Some(per) = self.minutes.get(&leaving)
        {
            let forget_before = leaving + MINUTE - history.as_millis() as i64;
            self.seen.note(leaving, per.keys(), forget_before);
        }
        self.minutes.retain(|k, _| *k > leaving);
    }

    /// The groups at or above the threshold in the window ending with `minute`, sorted, with their
    /// counts; alerts of groups no longer there complete.
    fn firing(&mut self, minute: i64, window: i64, threshold: u64) -> Vec<(String, u64, Vec<FeatureData>)> {
        let mut totals: HashMap<&str, u64> = HashMap::new();
        for per in self.minutes.range(minute + MINUTE - window..=minute).map(|(_, p)| p) {
            for (k, c) in per {
                *totals.entry(k.as_str()).or_default() += c;
            }
        }
        if let Some(kept) = &mut self.background {
            kept.push(Measured { at: minute, value: totals.values().copied().max().unwrap_or(0) as f64 });
        }
        let mut firing: Vec<(String, u64)> =
            totals.into_iter().filter(|(_, c)| *c >= threshold).map(|(k, c)| (k.to_owned(), c)).collect();
        firing.sort();
        self.active.retain(|k, _| firing.iter().any(|(f, _)| f == k));
        let label = self.label();
        firing
            .into_iter()
            .map(|(k, n)| (k, n, vec![FeatureData { feature_name: label.clone(), data: n as f64 }]))
            .collect()
    }

    /// New-value monitors: the documents in the window ending with `minute` whose value was not
    /// seen in the history before the window, once the data reaches back past the learning
    /// period; at or above the threshold, one alert (key "") with each new value's count, most
    /// first (at most [`NEW_VALUES_LISTED`]).
    fn novel(&mut self, minute: i64, window: i64, threshold: u64) -> Vec<(String, u64, Vec<FeatureData>)> {
        let MonitorKind::NewValues { history, .. } = self.mon.kind else { return Vec::new() };
        let window_start = minute + MINUTE - window;
        if !self.seen.learned(window_start - NEW_VALUES_LEARNING.as_millis() as i64) {
            return Vec::new();
        }
        let since = window_start - history.as_millis() as i64;
        let mut new: HashMap<&str, u64> = HashMap::new();
        for per in self.minutes.range(window_start..=minute).map(|(_, p)| p) {
            for (v, c) in per.iter().filter(|(v, _)| self.seen.is_new(v, since)) {
                *new.entry(v.as_str()).or_default() += c;
            }
        }
        let total: u64 = new.values().sum();
        if let Some(kept) = &mut self.background {
            kept.push(Measured { at: minute, value: total as f64 });
        }
        if total < threshold {
            self.active.clear();
            return Vec::new();
        }
        let mut values: Vec<(&str, u64)> = new.into_iter().collect();
        values.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let listed = values.iter().take(NEW_VALUES_LISTED);
        let data = listed.map(|(v, c)| FeatureData { feature_name: (*v).to_owned(), data: *c as f64 }).collect();
        vec![(String::new(), total, data)]
    }

    /// Runs the trigger on one result for one alert key: a new alert, a throttled repeat, or (when
    /// the condition no longer holds) the alert's completion.
    fn fire(
        &mut self,
        source: &str,
        key: &str,
        entity: Option<Vec<EntityValue>>,
        r: &AdResult,
        events: &mut Vec<Event>,
    ) {
        let fires = match self.mon.kind {
            MonitorKind::Anomaly { min_grade, min_confidence, .. } => {
                r.anomaly_grade > min_grade && r.confidence > min_confidence
            }
            MonitorKind::Count { .. } | MonitorKind::NewValues { .. } => r.anomaly_grade > 0.0,
        };
        let throttle = self.mon.throttle.as_millis() as i64;
        let at = r.execution_end_time;
        if !fires {
            self.active.remove(key);
            return;
        }
        let alert = || Alert {
            monitor_name: self.mon.name.clone(),
            detector_name: source.to_owned(),
            entity,
            priority: self.mon.priority,
            start_time: at,
            data_start_time: r.data_start_time,
            data_end_time: r.data_end_time,
            anomaly_grade: r.anomaly_grade,
            confidence: r.confidence,
            feature_data: r.feature_data.clone(),
            expected_values: r.expected_values.clone(),
            relevant_attribution: r.relevant_attribution.clone(),
        };
        match self.active.get(key).map(|s| s.last_notified) {
            None => {
                let a = alert();
                self.active.insert(key.to_owned(), AlertState { last_notified: at });
                events.push(Event::Alert(a));
            }
            Some(last) if at - last >= throttle => {
                let a = alert();
                if let Some(state) = self.active.get_mut(key) {
                    state.last_notified = at;
                }
                events.push(Event::Renotify(a));
            }
            Some(_) => {}
        }
    }
}
