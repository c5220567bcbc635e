//! Comparing the body wafwatch wants with the object the server holds: member by member, where
//! the server may add members of its own, and the differences said for people (`--dry-run`, the
//! reports of updates).
//!
//! The differences look through the server's normalisation (a range's `gte` stored as `from` with
//! `include_lower`, a scalar stored inside `{"value": ..}` or `{"order": ..}`), so they name what
//! really changed; and they name the members wafwatch owns that are live but no longer wanted
//! (a removed `category_field`, a removed webhook header), which a walk of the wanted members
//! alone never sees.

use serde_json::{Map, Value};

/// Whether every member of `desired` is in `live` with the same value (`live` may hold more: what
/// the server adds). Arrays must have the same length.
pub fn subset(desired: &Value, live: &Value) -> bool {
    match (desired, live) {
        (Value::Object(d), Value::Object(l)) => d.iter().all(|(k, v)| l.get(k).is_some_and(|lv| subset(v, lv))),
        (Value::Array(d), Value::Array(l)) => d.len() == l.len() && d.iter().zip(l).all(|(a, b)| subset(a, b)),
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        _ => desired == live,
    }
}

/// Members wafwatch owns entirely when they are there: a live member at one of these places that
/// the desired body lacks was removed from the configuration (`*` matches any one key). Elsewhere a
/// live member the desired body lacks is the server's own (a detector's `rules`, for one: AD
/// writes its default suppression rules when none are sent).
pub const OWNED: [&str; 3] = ["/category_field", "/imputation_option", "/*/header_params/*"];

/// Whether the JSON pointer `at` is one of [`OWNED`].
fn owned(at: &str) -> bool {
    OWNED.iter().any(|pattern| {
        let (p, a): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), at.split('/').collect());
        p.len() == a.len() && p.iter().zip(&a).all(|(p, a)| *p == "*" || p == a)
    })
}

/// The members of `live` wafwatch owns and `desired` lacks (removed from the configuration).
pub fn removed(desired: &Value, live: &Value) -> Vec<String> {
    let mut out = Vec::new();
    removed_at(desired, live, "", &mut out);
    out
}

fn removed_at(desired: &Value, live: &Value, at: &str, out: &mut Vec<String>) {
    let (Value::Object(d), Value::Object(l)) = (desired, live) else { return };
    for (k, lv) in l {
        let here = format!("{at}/{k}");
        match d.get(k) {
            None if owned(&here) && !lv.is_null() => out.push(format!("{here} {} removed", short(lv))),
            None => {}
            Some(dv) => removed_at(dv, lv, &here, out),
        }
    }
}

/// The live value a desired member stands for, through the server's normalisation of ranges:
/// `gte`/`gt` are stored as `from` with `include_lower`, `lte`/`lt` as `to` with `include_upper`.
fn normalised<'l>(key: &str, live: &'l Map<String, Value>) -> Option<&'l Value> {
    let (stored, flag, inclusive) = match key {
        "gte" => ("from", "include_lower", true),
        "gt" => ("from", "include_lower", false),
        "lte" => ("to", "include_upper", true),
        "lt" => ("to", "include_upper", false),
        _ => return None,
    };
    (live.get(flag).and_then(Value::as_bool) == Some(inclusive)).then(|| live.get(stored)).flatten()
}

/// Whether a desired scalar is stored wrapped: `"desc"` as `{"order": "desc"}`, a term's value as
/// `{"value": v, "boost": 1.0}`.
fn wrapped(desired: &Value, live: &Value) -> bool {
    !desired.is_object()
        && !desired.is_array()
        && ["value", "order"].iter().any(|k| live.get(k).is_some_and(|v| subset(desired, v)))
}

/// The paths where `live` differs from `desired`: members changed or missing (for `--dry-run`).
pub fn differences(desired: &Value, live: &Value, at: &str, out: &mut Vec<String>) {
    match (desired, live) {
        (Value::Object(d), Value::Object(l)) => {
            for (k, v) in d {
                match l.get(k).or_else(|| normalised(k, l)) {
                    Some(lv) => differences(v, lv, &format!("{at}/{k}"), out),
                    None => out.push(format!("{at}/{k} is missing")),
                }
            }
        }
        (Value::Array(d), Value::Array(l)) if d.len() == l.len() => {
            for (i, (a, b)) in d.iter().zip(l).enumerate() {
                differences(a, b, &format!("{at}/{i}"), out);
            }
        }
        _ if subset(desired, live) || wrapped(desired, live) => {}
        _ => out.push(format!("{} {} -> {}", if at.is_empty() { "/" } else { at }, short(live), short(desired))),
    }
}

/// A value, cut to about 60 characters.
fn short(v: &Value) -> String {
    let t = v.to_string();
    if t.len() > 60 { format!("{}...", &t[..t.char_indices().nth(57).map_or(t.len(), |(i, _)| i)]) } else { t }
}

/// The first few differences, changed and removed, on one line: what a report says of an update.
pub fn diff_detail(desired: &Value, live: &Value) -> String {
    let mut d = Vec::new();
    differences(desired, live, "", &mut d);
    d.extend(removed(desired, live));
    d.truncate(6);
    d.join("; ")
}

/// What a report says of an update of an object compared by its fingerprint (templates, policies,
/// detectors, monitors): that the fingerprint differs, which is what decided it, then the members
/// that differ from what the server holds, where they can be told apart from its normalisation.
pub fn fingerprint_detail(desired: &Value, live: &Value) -> String {
    match diff_detail(desired, live) {
        d if d.is_empty() => "fingerprint differs".into(),
        d => format!("fingerprint differs: {d}"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_servers_normalisation_is_no_difference() {
        let desired = json!({"sort": [{"anomaly_grade": "desc"}], "query": {"range": {"t": {"gte": "a", "lte": "b", "format": "x"}}}, "term": {"rules": "r"}});
        let live = json!({"sort": [{"anomaly_grade": {"order": "desc"}}], "query": {"range": {"t": {"from": "a", "to": "b", "include_lower": true, "include_upper": true, "format": "x", "boost": 1.0}}}, "term": {"rules": {"value": "r", "boost": 1.0}}});
        assert_eq!(diff_detail(&desired, &live), "");
        let strict = json!({"query": {"range": {"t": {"gt": "a"}}}});
        assert_eq!(diff_detail(&strict, &live), "/query/range/t/gt is missing", "gte is not gt");
    }

    #[test]
    fn members_removed_from_the_configuration_are_named() {
        let desired = json!({"name": "d", "webhook": {"url": "u", "header_params": {"A": "1"}}});
        let live = json!({"name": "d", "category_field": ["clientIp"], "schema_version": 0, "webhook": {"url": "u", "header_params": {"A": "1", "B": "2"}}});
        assert_eq!(
            diff_detail(&desired, &live),
            "/category_field [\"clientIp\"] removed; /webhook/header_params/B \"2\" removed",
            "schema_version is the server's own"
        );
        assert_eq!(fingerprint_detail(&json!({"a": 1}), &json!({"a": 1})), "fingerprint differs");
    }
}
