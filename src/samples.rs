//! Sample records for alerts, with sensitive headers redacted.
//!
//! While the run encodes records it keeps, per detector and interval (and per threshold monitor and
//! minute), the first few records that had a watched column set (or the monitored rule matched).
//! An alert then shows them, so the person paged sees what the anomalous traffic looked like.

use std::collections::HashMap;

use serde_json::Value;
use wafwatch_opensearch::detection::{Detection, MonitorKind};
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

/// Keeps a few sample records per detector interval and per threshold-monitor minute.
pub struct Samples {
    per_key: HashMap<(usize, i64), Vec<Vec<u8>>>,
    /// Per detector: (interval ms, columns watched); then one entry per threshold monitor.
    watches: Vec<(i64, Watch)>,
    max: usize,
    redact: Vec<String>,
    newest: i64,
}

enum Watch {
    Columns(Vec<usize>),
    Rule(usize),
}

impl Samples {
    /// Keeps up to `max` records per interval, redacting `redact` headers when shown.
    pub fn new(detection: &Detection, max: usize, redact: Vec<String>) -> Self {
        let mut watches: Vec<(i64, Watch)> = detection
            .detectors
            .iter()
            .map(|d| (d.interval.as_millis() as i64, Watch::Columns(d.features.iter().map(|f| f.1).collect())))
            .collect();
        for m in &detection.monitors {
            if let MonitorKind::Rule { rule, .. } = m.kind {
                watches.push((60_000, Watch::Rule(rule)));
            }
        }
        Samples { per_key: HashMap::new(), watches, max, redact, newest: 0 }
    }

    /// Offers one record.
    pub fn offer(&mut self, facts: &Facts, record: &[u8]) {
        if self.max == 0 {
            return;
        }
        self.newest = self.newest.max(facts.timestamp_ms);
        for (i, (interval, watch)) in self.watches.iter().enumerate() {
            let hit = match watch {
                Watch::Columns(cols) => cols.iter().any(|c| facts.columns.get(*c).copied().unwrap_or(false)),
                Watch::Rule(r) => facts.rules.contains(r),
            };
            if hit {
                let start = facts.timestamp_ms - facts.timestamp_ms.rem_euclid(*interval);
                let v = self.per_key.entry((i, start)).or_default();
                if v.len() < self.max {
                    v.push(record.strip_suffix(b"\n").unwrap_or(record).to_vec());
                }
            }
        }
    }

    /// Forgets intervals older than `keep_ms` before the newest record.
    pub fn prune(&mut self, keep_ms: i64) {
        let cutoff = self.newest - keep_ms;
        self.per_key.retain(|(_, start), _| *start >= cutoff);
    }

    /// The samples for an alert from `source` (a detector name, or `rule:NAME`) on the interval
    /// starting at `start`, redacted.
    pub fn for_alert(&self, detection: &Detection, source: &str, start: i64) -> Vec<Value> {
        let index = match source.strip_prefix("rule:") {
            None => detection.detectors.iter().position(|d| d.name == source),
            Some(rule) => {
                let rules: Vec<usize> = detection
                    .monitors
                    .iter()
                    .filter_map(|m| {
                        if let MonitorKind::Rule { ref rule_name, .. } = m.kind {
                            Some(rule_name.as_str())
                        } else {
                            None
                        }
                    })
                    .enumerate()
                    .filter(|(_, n)| *n == rule)
                    .map(|(i, _)| i)
                    .collect();
                rules.first().map(|i| detection.detectors.len() + i)
            }
        };
        let Some(index) = index else { return Vec::new() };
        self.per_key
            .get(&(index, start))
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
