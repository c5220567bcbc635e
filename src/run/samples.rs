//! Sample records for alerts, with sensitive headers redacted.
//!
//! While the run encodes records it keeps, per detector and interval (and per count monitor and
//! minute), and per entity or group value, the first few records that had a watched column set (or
//! that the monitor counts).
//! An alert then shows them, so the person paged sees what the anomalous traffic looked like.

use std::collections::HashMap;

use serde_json::Value;
use wafwatch_config::detection::{Detection, DocFilter, FeatureSource, MonitorKind};
use wafwatch_engine::Alert;
use wafwatch_transformer::Facts;

/// Header names redacted by default (compared ignoring case).
pub const DEFAULT_REDACT: [&str; 5] = ["authorization", "cookie", "set-cookie", "proxy-authorization", "x-api-key"];

/// What replaces a redacted value.
pub const REDACTED: &str = "[REDACTED]";

/// Replaces the values of sensitive headers: `{"name": N, "value": V}` entries of any array, and
/// members named like a sensitive header, anywhere in the record.
pub fn redact(v: &mut Value, names: &[String]) {
    let sensitive = |n: &str| names.iter().any(|s| s.eq_ignore_ascii_case(n));
    match v {
        Value::Object(map) => {
            let header_entry = map.get("name").and_then(Value::as_str).is_some_and(&sensitive);
            for (k, child) in map.iter_mut() {
                if (header_entry && k == "value") || sensitive(k) {
                    *child = Value::from(REDACTED);
                } else {
                    redact(child, names);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| redact(i, names)),
        _ => {}
    }
}

/// Samples are kept this long before the newest record, which covers any window delay.
pub const SAMPLE_HORIZON_MS: i64 = 6 * 3_600_000;

/// Most entities (or group values) sampled per detector interval or monitor minute: a bound on
/// memory when a per-entity detector sees many entities.
pub const MAX_SAMPLED_ENTITIES: usize = 1_000;

/// Raw sample records by entity key ("" when the watch has no entity).
type PerEntity = HashMap<String, Vec<Vec<u8>>>;

/// Keeps a few sample records per detector interval and per count-monitor minute, per entity.
pub struct Samples {
    per_key: HashMap<(usize, i64), PerEntity>,
    /// One per detector, then one per monitor (only count monitors sample on their own).
    watches: Vec<Watch>,
    monitor_watch: HashMap<String, usize>,
    max: usize,
    redact: Vec<String>,
    newest: i64,
    key: String,
}

struct Watch {
    interval: i64,
    what: What,
    /// Captures whose values make the entity key.
    entity: Vec<usize>,
}

enum What {
    /// Records with any of these columns set (or, with `any_field`, any record).
    Columns { columns: Vec<usize>, any_field: bool },
    /// Records a count monitor counts.
    Filter(DocFilter),
    /// Nothing (anomaly monitors sample through their detector).
    None,
}

impl Samples {
    /// Keeps up to `max` records per interval (and entity), redacting `redact` headers when shown.
    pub fn new(detection: &Detection, max: usize, redact: Vec<String>) -> Self {
        let mut watches: Vec<Watch> = detection
            .detectors
            .iter()
            .map(|d| Watch {
                interval: d.interval.as_millis() as i64,
                what: What::Columns {
                    columns: d
                        .features
                        .iter()
                        .filter_map(|f| match f.source {
                            FeatureSource::Column { id, .. } => Some(id.index()),
                            FeatureSource::Field { .. } => None,
                        })
                        .collect(),
                    any_field: d.features.iter().any(|f| matches!(f.source, FeatureSource::Field { .. })),
                },
                entity: d.category_fields.clone(),
            })
            .collect();
        let mut monitor_watch = HashMap::new();
        for m in &detection.monitors {
            let watch = match &m.kind {
                MonitorKind::Anomaly { detector, .. } => *detector,
                MonitorKind::Count { filter, group_by, .. } => {
                    watches.push(Watch {
                        interval: 60_000,
                        what: What::Filter(filter.clone()),
                        entity: group_by.iter().copied().collect(),
                    });
                    watches.len() - 1
                }
                // None: which values are new is known only when the minute is judged, and the
                // alert lists them with their counts; any record of the minute would mislead.
                MonitorKind::NewValues { .. } => {
                    watches.push(Watch { interval: 60_000, what: What::None, entity: Vec::new() });
                    watches.len() - 1
                }
            };
            monitor_watch.insert(m.name.clone(), watch);
        }
        if watches.is_empty() {
            watches.push(Watch { interval: 60_000, what: What::None, entity: Vec::new() });
        }
        Samples { per_key: HashMap::new(), watches, monitor_watch, max, redact, newest: 0, key: String::new() }
    }

    /// Offers one record.
    pub fn offer(&mut self, facts: &Facts, record: &[u8]) {
        if self.max == 0 {
            return;
        }
        self.newest = self.newest.max(facts.timestamp_ms);
        'watches: for (i, w) in self.watches.iter().enumerate() {
            let hit = match &w.what {
                What::Columns { columns, any_field } => {
                    *any_field || columns.iter().any(|c| facts.columns.get(*c).copied().unwrap_or(false))
                }
                What::Filter(f) => f.matches(&facts.rules, facts.severity),
                What::None => false,
            };
            if !hit {
                continue;
            }
            self.key.clear();
            for (j, c) in w.entity.iter().enumerate() {
                if j > 0 {
                    self.key.push('\u{1f}');
                }
                match facts.captured.get(*c) {
                    Some(Some(v)) => self.key.push_str(v),
                    // Not in any entity, so never shown with one.
                    _ => continue 'watches,
                }
            }
            let start = facts.timestamp_ms - facts.timestamp_ms.rem_euclid(w.interval);
            let per = self.per_key.entry((i, start)).or_default();
            if !per.contains_key(self.key.as_str()) && per.len() >= MAX_SAMPLED_ENTITIES {
                continue;
            }
            let v = per.entry(self.key.clone()).or_default();
            if v.len() < self.max {
                v.push(record.strip_suffix(b"\n").unwrap_or(record).to_vec());
            }
        }
    }

    /// Forgets intervals older than `keep_ms` before the newest record.
    pub fn prune(&mut self, keep_ms: i64) {
        let cutoff = self.newest - keep_ms;
        self.per_key.retain(|(_, start), _| *start >= cutoff);
    }

    /// The samples for an alert (of its monitor, interval and entity), redacted.
    pub fn for_alert(&self, alert: &Alert) -> Vec<Value> {
        let Some(&watch) = self.monitor_watch.get(&alert.monitor_name) else { return Vec::new() };
        let key = alert.entity.as_ref().map(|e| e.iter().map(|v| v.value.as_str()).collect::<Vec<_>>().join("\u{1f}"));
        self.per_key
            .get(&(watch, alert.data_start_time))
            .and_then(|per| per.get(key.as_deref().unwrap_or("")))
            .into_iter()
            .flatten()
            .map(|raw| {
                let mut v = serde_json::from_slice(raw)
                    .unwrap_or_else(|_| Value::from(String::from_utf8_lossy(raw).into_owned()));
                redact(&mut v, &self.redact);
                v
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn redacts_headers_in_both_shapes_and_sensitive_members() {
        let names: Vec<String> = DEFAULT_REDACT.iter().map(|s| s.to_string()).collect();
        let mut flat = json!({"uri": "/login", "headers": [
            {"name": "Authorization", "value": "Bearer abc"}, {"name": "User-Agent", "value": "curl"},
            {"name": "cookie", "value": "session=1"}]});
        redact(&mut flat, &names);
        assert_eq!(flat["headers"][0]["value"], REDACTED);
        assert_eq!(flat["headers"][1]["value"], "curl");
        assert_eq!(flat["headers"][2]["value"], REDACTED);
        let mut nested =
            json!({"httpRequest": {"headers": [{"name": "X-Api-Key", "value": "k"}]}, "Cookie": "c", "n": 1});
        redact(&mut nested, &names);
        assert_eq!(nested["httpRequest"]["headers"][0]["value"], REDACTED);
        assert_eq!(nested["Cookie"], REDACTED);
        assert_eq!(nested["n"], 1);
        let mut custom = json!({"headers": [{"name": "X-Secret", "value": "s"}]});
        redact(&mut custom, &["x-secret".to_owned()]);
        assert_eq!(custom["headers"][0]["value"], REDACTED);
    }
}
