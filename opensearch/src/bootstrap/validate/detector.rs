//! Rules 1 to 12: the anomaly detectors.

use std::collections::HashSet;

use serde_json::Value;
use wafwatch_config::detection::detectors::{MAX_CATEGORY_FIELDS, MAX_FEATURES};
use wafwatch_config::names::{description, detector_name, feature_name};

use super::check::{Check, Seen, str_at};

/// Suppression rule threshold types.
const THRESHOLD_TYPES: [&str; 6] = [
    "actual_over_expected_margin",
    "expected_over_actual_margin",
    "actual_over_expected_ratio",
    "expected_over_actual_ratio",
    "actual_is_over_expected",
    "actual_is_below_expected",
];

/// Whether `v` is `{"period": {"interval": n, "unit": "Minutes"}}` with `n` > 0 (or 0 when allowed).
fn period_ok(v: Option<&Value>, allow_zero: bool) -> bool {
    let Some(p) = v.and_then(|v| v.get("period")) else { return false };
    let interval_ok = p.get("interval").and_then(Value::as_i64).is_some_and(|i| i > 0 || (allow_zero && i == 0));
    let unit_ok = p.get("unit").and_then(Value::as_str).is_some_and(|u| {
        let u = u.to_ascii_uppercase();
        u == "MINUTES" || u == "SECONDS"
    });
    interval_ok && unit_ok
}

/// Field types by dotted name, as the templates sent earlier map them.
type FieldTypes<'a> = &'a dyn Fn(&str) -> Option<&'a str>;

/// Rules 1 to 12: a detector's create or update.
pub(super) fn detector(b: &Value, seen: &Seen, c: &mut Check<'_>) {
    let name = str_at(b, "/name").unwrap_or("");
    if detector_name(name).is_err() {
        c.fail(1, format!("detector name {name:?} must be 1 to 64 of letters, digits, ., _ and -"));
    }
    if str_at(b, "/description").is_some_and(|d| description(d).is_err()) {
        c.fail(2, "description is over 1,000 characters");
    }
    let field_type = |f: &str| seen.mappings.get(f).map(String::as_str);
    match str_at(b, "/time_field") {
        Some(t) if !t.is_empty() && matches!(field_type(t), Some("date" | "date_nanos")) => {}
        other => c.fail(3, format!("time_field {other:?} must be mapped as date in the index template")),
    }
    if b.get("indices").and_then(Value::as_array).is_none_or(Vec::is_empty) {
        c.fail(4, "indices must not be empty");
    }
    let enabled = features(b, &field_type, c);
    model(b, c);
    categories(b, &field_type, c);
    if let Some(ri) = str_at(b, "/result_index")
        && !(ri.starts_with("opensearch-ad-plugin-result-")
            && ri.len() <= 255
            && ri.bytes().all(|x| x.is_ascii_lowercase() || x.is_ascii_digit() || x == b'_' || x == b'-'))
    {
        c.fail(9, format!("result_index {ri} must start opensearch-ad-plugin-result- and hold only a-z, 0-9, _ and -"));
    }
    suppression(b, &enabled, c);
    if let Some(imp) = b.get("imputation_option") {
        match str_at(imp, "/method") {
            Some("zero" | "previous") => {}
            Some("fixed_values") => {
                let fills = imp.get("default_fill").and_then(Value::as_array).map_or(0, Vec::len);
                if fills != enabled.len() {
                    c.fail(11, "fixed_values needs one default_fill per enabled feature");
                }
            }
            other => c.fail(11, format!("imputation method {other:?} is not zero, fixed_values or previous")),
        }
    }
    for key in ["user", "last_update_time", "schema_version", "detector_type"] {
        if b.get(key).is_some() {
            c.fail(12, format!("{key} is owned by the server; do not send it"));
        }
    }
}

/// Rule 5: 1 to 5 features, each with one single-value aggregation over a mapped field. Returns
/// the names of the enabled features.
fn features(b: &Value, field_type: FieldTypes<'_>, c: &mut Check<'_>) -> Vec<String> {
    let features = b.get("feature_attributes").and_then(Value::as_array).cloned().unwrap_or_default();
    if features.is_empty() || features.len() > MAX_FEATURES {
        c.fail(5, format!("{} features; 1 to 5 are allowed", features.len()));
    }
    let (mut names, mut agg_names) = (HashSet::new(), HashSet::new());
    let mut enabled = Vec::new();
    for f in &features {
        let fname = f.get("feature_name").and_then(Value::as_str).unwrap_or("");
        if fname.trim().is_empty() || !names.insert(fname.to_owned()) {
            c.fail(5, format!("feature name {fname:?} is blank or repeated"));
        }
        match f.get("feature_enabled").and_then(Value::as_bool) {
            Some(true) => enabled.push(fname.to_owned()),
            Some(false) => {}
            None => c.fail(5, format!("feature {fname}: feature_enabled must always be sent")),
        }
        let aggs = f.get("aggregation_query").and_then(Value::as_object).cloned().unwrap_or_default();
        if aggs.len() != 1 {
            c.fail(5, format!("feature {fname}: exactly one aggregation, got {}", aggs.len()));
        }
        for (agg_name, agg) in &aggs {
            // The aggregation is named after the feature, so the feature-name rule applies.
            if feature_name(agg_name).is_err() {
                c.fail(5, format!("aggregation name {agg_name:?} must be letters, digits, _ and -"));
            }
            if !agg_names.insert(agg_name.clone()) {
                c.fail(5, format!("aggregation name {agg_name} is repeated"));
            }
            aggregation(fname, agg, field_type, c);
        }
    }
    if !features.is_empty() && enabled.is_empty() {
        c.fail(5, "at least one feature must be enabled");
    }
    enabled
}

/// Rule 5: a feature's aggregation is a single-value metric over a mapped (numeric) field.
fn aggregation(fname: &str, agg: &Value, field_type: FieldTypes<'_>, c: &mut Check<'_>) {
    let Some((kind, params)) = agg.as_object().and_then(|o| o.iter().next()) else { return };
    if !["avg", "sum", "min", "max", "value_count", "cardinality"].contains(&kind.as_str()) {
        c.fail(5, format!("feature {fname}: aggregation {kind} is not a single-value metric the plugin accepts"));
    }
    let field = params.get("field").and_then(Value::as_str).unwrap_or("");
    let numeric = matches!(
        field_type(field),
        Some("byte" | "short" | "integer" | "long" | "float" | "double" | "half_float" | "scaled_float")
    );
    if ["avg", "sum", "min", "max"].contains(&kind.as_str()) && !numeric {
        c.fail(5, format!("feature {fname}: {kind} needs a numeric field; {field} is {:?}", field_type(field)));
    }
    if field_type(field).is_none() {
        c.fail(5, format!("feature {fname}: field {field} is not mapped, so the aggregation returns no data"));
    }
}

/// Rules 6 and 7: intervals, shingle and model settings.
fn model(b: &Value, c: &mut Check<'_>) {
    if !period_ok(b.get("detection_interval"), false) {
        c.fail(6, "detection_interval must be {\"period\": {\"interval\": > 0, \"unit\": \"Minutes\"}}");
    }
    if b.get("window_delay").is_some() && !period_ok(b.get("window_delay"), true) {
        c.fail(6, "window_delay must be {\"period\": {\"interval\": >= 0, \"unit\": \"Minutes\"}}");
    }
    if let Some(s) = b.get("shingle_size").and_then(Value::as_i64)
        && !(1..=128).contains(&s)
    {
        c.fail(7, format!("shingle_size {s} is not 1 to 128"));
    }
    for (key, lo, hi) in [("suggested_seasonality", 2, 256), ("history", 1, 10_000)] {
        if let Some(v) = b.get(key).and_then(Value::as_i64)
            && !(lo..=hi).contains(&v)
        {
            c.fail(7, format!("{key} {v} is not {lo} to {hi}"));
        }
    }
    if b.get("recency_emphasis").and_then(Value::as_f64).is_some_and(|r| r <= 1.0) {
        c.fail(7, "recency_emphasis must be greater than 1");
    }
}

/// Rule 8: at most two category fields, each mapped as keyword or ip.
fn categories(b: &Value, field_type: FieldTypes<'_>, c: &mut Check<'_>) {
    let Some(cats) = b.get("category_field").and_then(Value::as_array) else { return };
    if cats.len() > MAX_CATEGORY_FIELDS {
        c.fail(8, format!("{} category fields; at most 2", cats.len()));
    }
    for cat in cats.iter().filter_map(Value::as_str) {
        if !matches!(field_type(cat), Some("keyword" | "ip")) {
            c.fail(8, format!("category field {cat} must be mapped as keyword or ip, not {:?}", field_type(cat)));
        }
    }
}

/// Rule 10: suppression rules ignore anomalies of enabled features by a known threshold type.
fn suppression(b: &Value, enabled: &[String], c: &mut Check<'_>) {
    for r in b.get("rules").and_then(Value::as_array).into_iter().flatten() {
        if str_at(r, "/action") != Some("ignore_anomaly") {
            c.fail(10, "a rule's action is ignore_anomaly");
        }
        for cond in r.get("conditions").and_then(Value::as_array).into_iter().flatten() {
            let feature = str_at(cond, "/feature_name").unwrap_or("");
            if !enabled.iter().any(|e| e == feature) {
                c.fail(10, format!("rule condition on {feature:?}, which is not an enabled feature"));
            }
            let t = str_at(cond, "/threshold_type").unwrap_or("");
            if !THRESHOLD_TYPES.contains(&t) {
                c.fail(10, format!("threshold_type {t:?} is unknown"));
            } else if t.starts_with("actual_is_") {
                if cond.get("operator").is_some() || cond.get("value").is_some() {
                    c.fail(10, format!("{t} takes no operator and no value"));
                }
            } else {
                if str_at(cond, "/operator") != Some("LTE") {
                    c.fail(10, "the only operator is LTE");
                }
                if !cond.get("value").and_then(Value::as_f64).is_some_and(|v| v > 0.0) {
                    c.fail(10, format!("{t} needs a value greater than 0"));
                }
            }
        }
    }
}

/// Rule 6: a historical analysis (`POST .../_start` with a body) covers a range, end after start.
pub(super) fn historical(b: &Value, c: &mut Check<'_>) {
    let (s, e) = (b.get("start_time").and_then(Value::as_i64), b.get("end_time").and_then(Value::as_i64));
    if !matches!((s, e), (Some(s), Some(e)) if e > s) {
        c.fail(6, "a historical analysis needs start_time and end_time in epoch milliseconds, end after start");
    }
}
