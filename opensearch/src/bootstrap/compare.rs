//! Comparing the body wafwatch wants with the object the server holds: member by member, where
//! the server may add members of its own, and the differences said for people (`--dry-run`).

use serde_json::Value;

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

/// The paths where `live` differs from `desired` (for `--dry-run`).
pub fn differences(desired: &Value, live: &Value, at: &str, out: &mut Vec<String>) {
    match (desired, live) {
        (Value::Object(d), Value::Object(l)) => {
            for (k, v) in d {
                match l.get(k) {
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
        _ if subset(desired, live) => {}
        _ => {
            let short = |v: &Value| {
                let t = v.to_string();
                if t.len() > 60 {
                    format!("{}...", &t[..t.char_indices().nth(57).map_or(t.len(), |(i, _)| i)])
                } else {
                    t
                }
            };
            out.push(format!("{} {} -> {}", if at.is_empty() { "/" } else { at }, short(live), short(desired)));
        }
    }
}

/// The first few [`differences`], on one line: what a report says of an update.
pub fn diff_detail(desired: &Value, live: &Value) -> String {
    let mut d = Vec::new();
    differences(desired, live, "", &mut d);
    d.truncate(6);
    d.join("; ")
}
