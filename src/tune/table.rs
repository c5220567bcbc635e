//! What `tune` says: a table with its reasoning, and the same as JSON.

use std::fmt::Write;

use super::limit::Limit;
use super::suggest::Suggestion;

/// The first few times a threshold would have fired, readable.
fn times(fired: &[i64]) -> String {
    let mut text: Vec<String> = fired
        .iter()
        .take(3)
        .filter_map(|ms| chrono::DateTime::from_timestamp_millis(*ms))
        .map(|d| d.format("%Y-%m-%dT%H:%MZ").to_string())
        .collect();
    if fired.len() > 3 {
        text.push(format!("and {} more", fired.len() - 3));
    }
    if text.is_empty() { "never".into() } else { text.join(", ") }
}

/// The table of thresholds (with the reasoning) and detection limits.
pub fn text(suggestions: &[Suggestion], limits: &[Limit], per_day: f64) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Thresholds for {per_day} false alert(s) a day:\n");
    let _ = writeln!(out, "{:<28} {:>9} {:>10} {:>9}  why", "monitor", "threshold", "suggested", "quantile");
    for s in suggestions {
        let what = match s.kind {
            "count" => "count in the window",
            "zscore" => "z-score",
            _ => "grade",
        };
        let _ = writeln!(
            out,
            "{:<28} {:>9} {:>10} {:>9.5}  the background's {what} reached {:.3} at that quantile of {} evaluations; \
             +{:.0}% margin. Now it would fire {} time(s) ({}); suggested: {} ({})",
            s.name,
            s.threshold,
            s.suggested,
            s.quantile,
            s.value_at_quantile,
            s.evaluations,
            s.margin * 100.0,
            s.fired_now.len(),
            times(&s.fired_now),
            s.fired_suggested.len(),
            times(&s.fired_suggested),
        );
    }
    if !limits.is_empty() {
        let _ = writeln!(
            out,
            "\nDetection limits at the suggested thresholds (detected within 3 intervals in every probe):\n"
        );
        let _ = writeln!(out, "{:<22} {:>13} {:>10}  detected by", "scenario", "min_intensity", "missed at");
        for l in limits {
            let num = |v: Option<f64>| v.map_or("-".to_owned(), |v| v.to_string());
            let by = l.detected_by.as_deref().unwrap_or("not detected at intensity 1");
            let _ = writeln!(out, "{:<22} {:>13} {:>10}  {by}", l.scenario, num(l.min_intensity), num(l.missed_at));
        }
    }
    out
}

/// `--json`: `{"monitors": [...], "detection_limits": [...]}`.
pub fn json(suggestions: &[Suggestion], limits: &[Limit]) -> String {
    let value = serde_json::json!({ "monitors": suggestions, "detection_limits": limits });
    serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
}
