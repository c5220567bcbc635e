//! Rules 13 to 15: the alerting monitors, the AD monitors' shape, and their actions.

use std::collections::HashSet;

use serde_json::{Value, json};
use wafwatch_config::names::monitor_name;

use super::check::{Check, Seen, str_at};
use crate::bootstrap::bodies::monitor::AD_RESULTS_PATTERN;

/// Alerting monitor types.
const MONITOR_TYPES: [&str; 5] =
    ["query_level_monitor", "bucket_level_monitor", "cluster_metrics_monitor", "doc_level_monitor", "ppl_monitor"];
/// Keys an alerting action may have; any other is a 500.
const ACTION_KEYS: [&str; 8] = [
    "id",
    "name",
    "destination_id",
    "subject_template",
    "message_template",
    "throttle_enabled",
    "throttle",
    "action_execution_policy",
];

/// Rules 13 and 14: a monitor's create or update.
pub(super) fn monitor(b: &Value, seen: &Seen, c: &mut Check<'_>) {
    let kind = str_at(b, "/monitor_type").unwrap_or("query_level_monitor");
    if !MONITOR_TYPES.contains(&kind) {
        c.fail(13, format!("monitor_type {kind} is not one of the five types"));
    }
    if str_at(b, "/name").is_none_or(|n| monitor_name(n).is_err()) {
        c.fail(13, "name must be 1 to 100 characters");
    }
    let inputs = b.get("inputs").and_then(Value::as_array).cloned().unwrap_or_default();
    if inputs.len() != 1 {
        c.fail(13, format!("{} inputs; a monitor has exactly 1", inputs.len()));
    }
    schedule(b, c);
    triggers(b, kind, seen, c);
    // Rule 14: an AD monitor must keep the shape both Dashboards UIs read.
    let reads_ad =
        inputs.first().and_then(|i| i.pointer("/search/indices")).and_then(Value::as_array).is_some_and(|ix| {
            ix.iter().any(|i| {
                i.as_str()
                    .is_some_and(|s| s.contains("anomaly-results") || s.starts_with("opensearch-ad-plugin-result"))
            })
        });
    if reads_ad || str_at(b, "/ui_metadata/search/searchType") == Some("ad") {
        ad_shape(b, inputs.first().unwrap_or(&Value::Null), c);
    }
}

/// Rule 13: exactly one of a period (interval > 0, a known unit) or a cron schedule.
fn schedule(b: &Value, c: &mut Check<'_>) {
    match b.get("schedule").and_then(Value::as_object) {
        Some(s) if s.len() == 1 && s.contains_key("period") => {
            let ok_unit = str_at(b, "/schedule/period/unit")
                .is_some_and(|u| ["SECONDS", "MINUTES", "HOURS", "DAYS"].contains(&u));
            let ok_interval = b.pointer("/schedule/period/interval").and_then(Value::as_i64).is_some_and(|i| i > 0);
            if !(ok_unit && ok_interval) {
                c.fail(13, "schedule.period needs interval > 0 and unit SECONDS, MINUTES, HOURS or DAYS");
            }
        }
        Some(s) if s.len() == 1 && s.contains_key("cron") => {
            if str_at(b, "/schedule/cron/expression").is_none() || str_at(b, "/schedule/cron/timezone").is_none() {
                c.fail(13, "schedule.cron needs expression and timezone");
            }
        }
        _ => c.fail(13, "schedule must have exactly one of period or cron"),
    }
}

/// Rule 13: at most 10 triggers of the monitor type's kind, uniquely named, with painless
/// conditions; rule 15 for their actions.
fn triggers(b: &Value, kind: &str, seen: &Seen, c: &mut Check<'_>) {
    let triggers = b.get("triggers").and_then(Value::as_array).cloned().unwrap_or_default();
    if triggers.len() > 10 {
        c.fail(13, format!("{} triggers; at most 10", triggers.len()));
    }
    let expected_trigger = match kind {
        "bucket_level_monitor" => "bucket_level_trigger",
        "doc_level_monitor" => "document_level_trigger",
        _ => "query_level_trigger",
    };
    let mut trigger_names = HashSet::new();
    for t in &triggers {
        let inner = t.get(expected_trigger).unwrap_or(t);
        let tname = str_at(inner, "/name").unwrap_or("");
        if tname.is_empty() || str_at(inner, "/severity").is_none() || inner.get("condition").is_none() {
            c.fail(13, "a trigger needs name, severity and condition");
        }
        if !trigger_names.insert(tname.to_owned()) {
            c.fail(13, format!("trigger name {tname} is repeated"));
        }
        if t.as_object().is_some_and(|o| o.len() == 1 && !o.contains_key(expected_trigger)) {
            c.fail(13, format!("a {kind} takes {expected_trigger}s"));
        }
        let lang = inner.pointer("/condition/script/lang").and_then(Value::as_str).unwrap_or("painless");
        if lang != "painless" {
            c.fail(13, format!("condition language {lang}; only painless is accepted"));
        }
        for a in inner.get("actions").and_then(Value::as_array).into_iter().flatten() {
            action(a, kind, seen, c);
        }
    }
}

/// Rule 14: the shape both Dashboards UIs read an AD monitor in; `input` is its one input.
fn ad_shape(b: &Value, input: &Value, c: &mut Check<'_>) {
    let indices = input.pointer("/search/indices").cloned().unwrap_or(Value::Null);
    if indices != json!([AD_RESULTS_PATTERN])
        && !indices.as_array().is_some_and(|a| {
            a.len() == 1 && a[0].as_str().is_some_and(|s| s.starts_with("opensearch-ad-plugin-result-"))
        })
    {
        c.fail(14, "an AD monitor's input indices must be exactly [\".opendistro-anomaly-results*\"]");
    }
    let filters =
        input.pointer("/search/query/query/bool/filter").and_then(Value::as_array).cloned().unwrap_or_default();
    if filters.first().and_then(|f| f.pointer("/range/execution_end_time")).is_none() {
        c.fail(14, "bool.filter[0] must be the range on execution_end_time");
    }
    if filters.get(1).and_then(|f| f.pointer("/term/detector_id/value")).is_none() {
        c.fail(14, "bool.filter[1] must be the term on detector_id (the UIs read the detector id there)");
    }
    let must_not = input.pointer("/search/query/query/bool/must_not").and_then(Value::as_array);
    if !must_not
        .is_some_and(|m| m.iter().any(|c| c.pointer("/exists/field").and_then(Value::as_str) == Some("task_id")))
    {
        c.fail(14, "bool.must_not must exclude historical results ({\"exists\": {\"field\": \"task_id\"}}), or they alert as live ones");
    }
    if input.pointer("/search/query/aggregations/max_anomaly_grade").is_none() {
        c.fail(14, "aggregations.max_anomaly_grade is missing");
    }
    if str_at(b, "/ui_metadata/search/searchType") != Some("ad") {
        c.fail(14, "ui_metadata.search.searchType must be \"ad\"");
    }
    for t in b.pointer("/ui_metadata/triggers").and_then(Value::as_object).into_iter().flat_map(|o| o.values()) {
        for key in ["anomalyGrade", "anomalyConfidence"] {
            let v = t.pointer(&format!("/adTriggerMetadata/{key}/value")).and_then(Value::as_f64);
            if v.is_some_and(|v| !(0.0..=1.0).contains(&v)) {
                c.fail(14, format!("{key} threshold must lie in [0, 1]"));
            }
        }
    }
}

/// Rule 15: one action of a trigger.
fn action(a: &Value, monitor_type: &str, seen: &Seen, c: &mut Check<'_>) {
    let Some(o) = a.as_object() else { return };
    if let Some(k) = o.keys().find(|k| !ACTION_KEYS.contains(&k.as_str())) {
        c.fail(15, format!("action key {k} is not allowed (the server answers 500)"));
    }
    for key in ["name", "destination_id", "message_template"] {
        if !o.contains_key(key) {
            c.fail(15, format!("an action needs {key}"));
        }
    }
    for key in ["message_template", "subject_template"] {
        if let Some(lang) = a.pointer(&format!("/{key}/lang")).and_then(Value::as_str)
            && lang != "mustache"
        {
            c.fail(15, format!("{key}.lang must be mustache"));
        }
    }
    if a.get("throttle_enabled").and_then(Value::as_bool) == Some(true) {
        let unit = str_at(a, "/throttle/unit");
        let value = a.pointer("/throttle/value").and_then(Value::as_i64);
        if unit != Some("MINUTES") || !value.is_some_and(|v| (1..=1440).contains(&v)) {
            c.fail(15, "throttle must be {\"value\": 1 to 1440, \"unit\": \"MINUTES\"} when throttle_enabled");
        }
        if monitor_type != "query_level_monitor"
            && a.pointer("/action_execution_policy/action_execution_scope/per_execution").is_some()
        {
            c.fail(15, "throttle is refused with the per_execution scope");
        }
    }
    if let Some(d) = str_at(a, "/destination_id")
        && !seen.channels.contains(d)
    {
        c.fail(15, format!("destination_id {d} is not a channel created earlier in this run"));
    }
}
